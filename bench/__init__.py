"""winobench: latency and error of im2row and Winograd convolution on Arm big.LITTLE boards.

The package follows the data, each subpackage importing only those below it (pyproject.toml,
[tool.importlinter]; tests/test_imports.py):

    cli        the `bench` command line: one module per subcommand
    analysis   what results directories say: LUT, latency model, networks, comparisons, plots
    measure    a sweep: cases, targets, deployment, farms, results, trust warnings, error figures
    boards     where a case can run: profiles, probing, transports, preparation, emulated boards
    native     the C kernels: build, the host library, the static kernel model
    numerics   Winograd transforms, numpy references, integer matrices, transform search
    layers, operators, files, errors   the vocabulary every part shares

bench.lut, bench.kernels, bench.winograd, bench.reference, bench.build and bench.results are the
public paths the README promises; they re-export from the subpackages.
"""

__version__ = "0.1.0"
