"""Production engines (ncnn, ONNX Runtime, LiteRT) measured on a board by the engine runner
(remote/engine_runner.py), deployed like the C runner (bench.measure.deploy: a private directory,
every file's sha256 checked there, the runner killed and the directory removed on every exit path)
and speaking the same records, so its rows are ordinary rows.

Where its Python comes from:
- this machine (`local` boards): this interpreter, with the directories where the engines are
  installed here (`pip install 'winobench[engines]'`, or a project's `.venv/extras`) passed as `--path`;
- a board reached over SSH or labgrid: the board's `python3` (with numpy) runs it; the engines'
  wheels for the board's Python version and machine (probed) are downloaded here from the package
  registry once (kept in the per-user cache), pushed into the deployment's directory, checked,
  unpacked there with Python's own zipfile module (no pip and no network needed on the board) and
  removed with the directory;
- an emulated qemu-user board runs no Python: its engine cases are `unsupported` rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from bench.boards.transport import Transport, TransportError, TransportTimeout
from bench.files import remote_dir, user_cache_dir
from bench.measure.deploy import Deployment, Job, StreamOptions, failed_all, stream
from bench.measure.protocol import ErrorKind, Record
from bench.measure.targets import Target
from bench.operators import ENGINE_DISTRIBUTIONS

ENGINE_RUNNER = "engine_runner.py"
# The versions pushed to boards: the same as pyproject.toml's `engines` extra.
REQUIREMENTS = {"ncnn": "ncnn==1.0.20261020", "onnxruntime": "onnxruntime==1.32.0",
                "litert": "ai-edge-litert==1.4.0", "flatbuffers": "flatbuffers==25.12.19",
                "numpy": "numpy==2.4.6"}   # numpy: pushed only to a board whose python3 has none
NEEDS = {"litert": ("flatbuffers",)}   # pure-Python wheels an engine runner path imports besides numpy
MODULES = {"ncnn": "ncnn", "onnxruntime": "onnxruntime", "litert": "ai_edge_litert", "flatbuffers": "flatbuffers",
           "numpy": "numpy"}
PLATFORMS = {"aarch64": ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64"),
             "x86_64": ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")}
PROBE = ("import json, platform, sys\ntry:\n    import numpy; v = numpy.__version__\nexcept ImportError:\n    v = None\n"
         "print(json.dumps([sys.version_info[0], sys.version_info[1], platform.machine(), v]))")
PROBE_TIMEOUT_S = 60
DOWNLOAD_TIMEOUT_S = 600
UNPACK_TIMEOUT_S = 600
# Python and the engines load before the first case: seconds on a board, minutes under full-system emulation
STARTUP_S = {False: 120.0, True: 900.0}
INSTALL_HINT = "install python3 there (Debian: apt-get install python3 python3-numpy)"


class EngineUnavailable(Exception):
    """The board cannot run the engines (no python3, no numpy, no wheel for it): one line saying what to install."""


def engine_runner_script() -> Path:
    return remote_dir() / ENGINE_RUNNER


def packages_for(engines) -> list[str]:
    """The distributions (keys of REQUIREMENTS) the engines need on a board."""
    out = [e for e in engines if e in ENGINE_DISTRIBUTIONS]
    return list(dict.fromkeys(out + [n for e in out for n in NEEDS.get(e, ())]))


def local_paths(engines) -> list[str]:
    """The directories of this machine's sys.path holding the engines' modules (found where they are)."""
    paths = []
    for name in packages_for(engines):
        try:
            spec = importlib.util.find_spec(MODULES[name])
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            paths.append(str(Path(spec.origin).resolve().parent.parent))
    return list(dict.fromkeys(paths))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def probe_python(transport: Transport, board_name: str) -> tuple[str, str, bool]:
    """(python version "3.11", machine, whether it has numpy) of the board's python3;
    EngineUnavailable without python3."""
    try:
        res = transport.run(["python3", "-c", PROBE], timeout=PROBE_TIMEOUT_S)
    except TransportError:
        res = None
    if res is None or res.returncode != 0:
        raise EngineUnavailable(f"board {board_name!r} has no python3 for the engine runner; {INSTALL_HINT}")
    try:
        major, minor, machine, numpy = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise EngineUnavailable(f"board {board_name!r}: python3 answered {res.stdout.strip()[:80]!r}") from None
    return f"{major}.{minor}", machine, numpy is not None


def download_wheel(name: str, python: str, machine: str) -> Path:
    """The wheel of REQUIREMENTS[name] for (python, machine), downloaded once into the per-user cache."""
    if machine not in PLATFORMS:
        raise EngineUnavailable(f"no engine wheels for machine {machine!r}; accepted: {', '.join(PLATFORMS)}")
    cache = user_cache_dir() / "wheels" / f"cp{python.replace('.', '')}-{machine}"
    dist, version = REQUIREMENTS[name].split("==")
    stem = f"{dist.replace('-', '_')}-{version}-"
    found = sorted(cache.glob(f"{stem}*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
            "--only-binary=:all:", "--python-version", python, *(a for p in PLATFORMS[machine] for a in ("--platform", p)),
            "-d", str(cache), REQUIREMENTS[name]]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise EngineUnavailable(f"downloading {REQUIREMENTS[name]} took over {DOWNLOAD_TIMEOUT_S} s") from None
    found = sorted(cache.glob(f"{stem}*.whl"))
    if res.returncode != 0 or not found:
        why = (res.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
        raise EngineUnavailable(f"no {REQUIREMENTS[name]} wheel for Python {python} on {machine}: {why}")
    return found[0]


class EngineDeployment(Deployment):
    """The engine runner in a private directory on the board (see the module docstring); `wheels`
    says what was pushed and how long download and push took."""

    runner_name = "wb-engine-runner.py"

    def __init__(self, transport: Transport, board, engines):
        script = engine_runner_script()
        super().__init__(transport, board, script, digest=sha256_file(script))
        self.engines = list(engines)
        self.on_this_machine = board.transport == "local"
        self.python = sys.executable if self.on_this_machine else "python3"
        self.paths = local_paths(self.engines) if self.on_this_machine else []
        self.wheels: dict | None = None

    def after_push(self) -> None:
        if self.on_this_machine:
            return
        python, machine, has_numpy = probe_python(self.transport, self.board.name)
        start = time.monotonic()
        names = packages_for(self.engines) + ([] if has_numpy else ["numpy"])
        local = [download_wheel(n, python, machine) for n in names]
        downloaded = time.monotonic()
        site = f"{self.dir}/site"
        for wheel in local:
            there = f"{self.dir}/{wheel.name}"
            self.push_checked(wheel, there, sha256_file(wheel))
            res = self.transport.run([self.python, "-m", "zipfile", "-e", there, site], timeout=UNPACK_TIMEOUT_S)
            if res.returncode != 0:
                raise TransportError(f"could not unpack {wheel.name} on {self.board.name}: {res.stderr.strip()[-200:]}")
        self.paths = [site]
        self.wheels = {"python": python, "machine": machine, "download_s": round(downloaded - start, 3),
                       "push_s": round(time.monotonic() - downloaded, 3),
                       "files": [{"name": w.name, "bytes": w.stat().st_size, "sha256": sha256_file(w)} for w in local]}

    def command(self, args) -> list[str]:
        return [self.python, self.runner, *args, *(a for p in self.paths for a in ("--path", p))]


def deploy_engines_and_stream(target: Target, jobs: list[Job], opts: StreamOptions, on_deploy=None) -> Iterator[Record]:
    """The engine cases of one target: deploy the engine runner, stream, clean up (as
    bench.measure.deploy.deploy_and_stream does for the C runner)."""
    where = target.where()
    if target.board.transport == "emulated":
        yield from failed_all(jobs, ErrorKind.UNSUPPORTED, f"board {target.board.name!r} emulates aarch64 binaries "
                              f"with qemu-user and runs no Python; measure engines on a full-system board "
                              f"(bench board up) or a real one", where)
        return
    engines = sorted({j.spec.engine for j in jobs})
    try:
        dep = EngineDeployment(target.reached.transport, target.board, engines).open()
    except EngineUnavailable as e:
        yield from failed_all(jobs, ErrorKind.UNSUPPORTED, str(e), where)
        return
    except (TransportError, TransportTimeout, OSError) as e:
        yield from failed_all(jobs, ErrorKind.PUSH, str(e), where)
        return
    with dep:
        if on_deploy:
            on_deploy(dep)
        opts = dataclasses.replace(opts, startup_s=STARTUP_S[target.emulated])
        yield from stream(dep, target, [(j, j.spec.runner_line()) for j in jobs], opts)
    if on_deploy:
        on_deploy(None)
