"""`bench run --engine` against the real engines (pyproject's `engines` extra, installed from the
registries by the `engine_paths` fixture; skipped only where that fails), on the local board."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from bench.measure.results import CSV_DTYPES
from bench.operators import ENGINE_VARIANTS


def test_every_engine_variant_is_an_ordinary_row_with_its_sqnr_and_version(engine_paths, tmp_path):
    out = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(engine_paths), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--engine", "winobench,ncnn,onnxruntime,litert",
                           "--res", "7", "--channels", "16", "--algo", "f4", "--transform", "static",
                           "--reps", "2", "--min-time-ms", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr + done.stdout
    df = pd.read_csv(out / "latency.csv", dtype=CSV_DTYPES, keep_default_na=False, na_values=[""])
    engines = df[df["engine"] != "winobench"]
    expected = {(e, v, b) for e, per in ENGINE_VARIANTS.items() for b, vs in per.items() for v in vs}
    assert set(zip(engines["engine"], engines["algo"], engines["bits"])) == expected
    assert (engines["status"] == "ok").all() and (engines["total_ms"] > 0).all()
    assert engines[["input_ms", "gemm_ms", "output_ms"]].isna().all().all()
    assert engines["engine_version"].str.len().gt(0).all()
    fp32, int8 = engines[engines["bits"] == 32], engines[engines["bits"] == 8]
    assert (fp32["sqnr_db"] > 80).all(), fp32[["engine", "algo", "sqnr_db"]]
    assert (int8["sqnr_db"] > 25).all(), int8[["engine", "algo", "sqnr_db"]]
    ours = df[df["engine"] == "winobench"]
    assert len(ours) == 2 and ours["gemm_ms"].notna().all()
    assert "wb-engine-runner" in (out / "raw.jsonl").read_text()


def test_engines_over_ssh_get_their_wheels_pushed_checked_and_removed(ssh_board, engine_paths, tmp_path):
    """A real sshd on this machine as the board: its python3 is probed, the wheels for it are
    downloaded into the (test's own) cache, pushed, checked, unpacked and removed with the run's
    directory; numpy goes along when that python3 has none."""
    out = tmp_path / "results"
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--board", ssh_board.name, "--engine", "ncnn,litert",
                           "--bits", "8", "--res", "6", "--channels", "8", "--reps", "2", "--min-time-ms", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr + done.stdout
    df = pd.read_csv(out / "latency.csv", dtype=CSV_DTYPES, keep_default_na=False, na_values=[""])
    assert len(df) == 3 and (df["status"] == "ok").all() and (df["sqnr_db"] > 25).all()
    runner = next(json.loads(l) for l in (out / "raw.jsonl").read_text().splitlines() if '"wb-engine-runner"' in l)
    wheels = runner["wheels"]
    names = " ".join(f["name"] for f in wheels["files"])
    assert "ncnn-1.0.20261020" in names and "ai_edge_litert-1.4.0" in names and "flatbuffers" in names
    assert wheels["download_s"] >= 0 and wheels["push_s"] >= 0 and all(len(f["sha256"]) == 64 for f in wheels["files"])
    assert not os.path.exists(runner["deploy"]["remote_dir"])   # the board is this machine: gone with the run
    print(f"\nwheels for {wheels['machine']} Python {runner['python']} (numpy {runner['numpy']}): download {wheels['download_s']:.1f} s, push "
          f"{wheels['push_s']:.1f} s ({sum(f['bytes'] for f in wheels['files']) / 1e6:.1f} MB, {len(wheels['files'])} files)")


def _engine_runners(workdir: Path) -> list[int]:
    """PIDs of live engine runners deployed under `workdir` (the python running wb-engine-runner.py there)."""
    pids = []
    for p in Path("/proc").iterdir():
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0") if p.name.isdigit() else []
            state = (p / "stat").read_text().rsplit(") ", 1)[1][0] if argv else "X"
        except OSError:
            continue
        if state not in "ZX" and any(a.startswith(str(workdir).encode()) and a.endswith(b"/wb-engine-runner.py")
                                     for a in argv):
            pids.append(int(p.name))
    return pids


def test_ctrl_c_during_an_engine_case_leaves_nothing_on_the_board(boards_file, sshd_server, engine_paths, tmp_path):
    work = tmp_path / "board-work"
    work.mkdir()
    name = boards_file.add("enginework", sshd_server, workdir=str(work))
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", "--board", name, "--engine", "ncnn", "--bits", "32",
                             "--res", "16", "--channels", "16", "--min-time-ms", "60000", "--out", str(tmp_path / "r")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not _engine_runners(work):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    while _engine_runners(work) or os.listdir(work):
        assert time.monotonic() - t0 < 15, (os.listdir(work), err)
        time.sleep(0.1)
    print(f"\nCtrl-C of bench during an engine case: runner killed and directory (wheels included) removed "
          f"{time.monotonic() - t0:.1f} s after")
