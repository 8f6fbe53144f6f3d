"""`bench run --engine` against the real engines (pyproject's `engines` extra, installed from the
registries by the `engine_paths` fixture; skipped only where that fails), on the local board."""

import os
import subprocess
import sys

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
