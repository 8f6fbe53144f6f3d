"""Bookkeeping cost per case: the time `ResultsDir.add` takes to record case 10 and case
1,000 of one sweep, with runner lines as large as the defaults give (about 500 samples per stage).
Not a test: timings on a shared machine are noisy. Prints the medians over a window of cases
around each and their ratio.

    .venv/bin/python scripts/bookkeeping_benchmark.py [--cases 1000] [--samples 500]
"""

import argparse
import statistics
import tempfile
import time

from bench.measure.cases import Layer, expand
from bench.measure.protocol import CaseRecord
from bench.measure.results import ResultsDir, row_from_case


def runner_line(n_samples: int) -> CaseRecord:
    stage = lambda v: {"median": v, "mean": v, "min": v, "p10": v, "p90": v, "mad": 0.0,
                       "samples": [v + i * 1e-6 for i in range(n_samples)]}
    return CaseRecord.from_saved({"type": "case", "status": "ok", "board": "b", "core": "a73", "cpus": [4], "threads": 1,
            "reps": n_samples, "total_ms": stage(1.0), "input_ms": stage(0.2), "gemm_ms": stage(0.7),
            "output_ms": stage(0.1), "error": {"sqnr_db": 30.0, "max_abs": 0.1, "rel_l2": 0.03}})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--samples", type=int, default=500)
    args = p.parse_args()
    layers = [Layer(8 + i, 8, 16, 16) for i in range(args.cases)]
    cases = expand(layers, ["im2row"], ["static"], [32])[:args.cases]
    times = []
    with tempfile.TemporaryDirectory() as tmp, ResultsDir.create(f"{tmp}/r", resume=False) as results:
        run = results.start_run({"command": "bookkeeping benchmark"})
        for case in cases:
            line = runner_line(args.samples)
            t0 = time.perf_counter()
            results.add(row_from_case(line, case, run), line)
            times.append(time.perf_counter() - t0)
        size = sum(f.stat().st_size for f in results.path.iterdir())
    early = statistics.median(times[5:15])
    late = statistics.median(times[-10:])
    print(f"case 10: {early * 1e3:.2f} ms, case {args.cases}: {late * 1e3:.2f} ms, ratio {late / early:.2f}; "
          f"{args.samples} samples per stage, {size / 1e6:.1f} MB written in all")


if __name__ == "__main__":
    main()
