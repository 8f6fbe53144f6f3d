"""`bench lut --format ofa|pyperf|gbench` and the provenance of every LUT (bench.analysis.exports,
bench.analysis.provenance), read back by the tools they are for: a lookup written the way
once-for-all's latency_lookup_table.py reads its YAML, pyperf's own loader and `python -m pyperf
compare_to`, and Google Benchmark's tools/compare.py (Debian's libbenchmark-tools, which `make
setup` installs; PyPI's google-benchmark wheel ships only the library).

The results directories are constructed: runner records with known samples, and the run metadata
a sweep writes (`run`, `runner` with the probed topology, `run_end`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.analysis.lut import load_lut
from bench.layers import Layer
from bench.measure.cases import expand
from bench.measure.protocol import CaseRecord
from bench.measure.results import ResultsDir, row_from_case
from tests.support import ROOT

GBENCH_COMPARE = Path("/usr/share/benchmark/compare.py")
LAYERS = [Layer(8, 8, 16, 16), Layer(16, 16, 16, 32)]
TOPOLOGY = {"cpus": [{"cpu": 4, "cur_khz": 2362000, "max_khz": 2362000, "governor": "performance"},
                     {"cpu": 5, "cur_khz": 903000, "max_khz": 2362000, "governor": "schedutil"}]}


def samples_for(i: int, scale: float, n: int = 30) -> list[float]:
    rng = np.random.default_rng(i)
    return list((1.0 + i) * scale * (1 + 0.02 * rng.standard_normal(n)))


def case_with(samples: list[float]) -> CaseRecord:
    stage = lambda v: {"median": float(np.median(v)), "mean": float(np.mean(v)), "min": min(v),  # noqa: E731
                       "p10": float(np.percentile(v, 10)), "p90": float(np.percentile(v, 90)), "mad": 0.0, "samples": v}
    return CaseRecord.from_saved({
        "type": "case", "status": "ok", "board": "hikey", "core": "a73", "cpus": [4], "threads": 1, "reps": len(samples),
        "total_ms": stage(samples), "input_ms": stage([s * 0.2 for s in samples]),
        "gemm_ms": stage([s * 0.7 for s in samples]), "output_ms": stage([s * 0.1 for s in samples])})


def results_dir(path: Path, scale: float) -> Path:
    """A results directory of one run on board hikey, core a73, CPU 4: 2 layers x 4 operators."""
    cases = expand(LAYERS, ["im2row", "f4"], ["static"], [8, 32])
    with ResultsDir.create(path, resume=False) as results:
        run = results.start_run({"command": "bench run --board hikey", "date": "2026-12-01T10:00:00+00:00",
                                 "settings": {"threads": 1, "min_reps": 30, "min_time_ms": 200.0, "warmup": 2}})
        results.add_record("runner", run, {
            "board": "hikey", "core": "a73", "threads": 1, "cpus": [4], "emulated": False, "build_hash": "abc123",
            "arch": "aarch64", "compiler": "gcc 12.2.0", "cflags": "-O3 -mcpu=cortex-a73", "features": {"neon": True},
            "deploy": {"topology": TOPOLOGY}})
        for i, case in enumerate(cases):
            rec = case_with(samples_for(i, scale))
            results.add(row_from_case(rec, case, run), rec)
        results.add_record("run_end", run, {"after": {"hikey": {"topology": TOPOLOGY}}, "warnings": []})
    return path


def bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two exports of the same cases, the second 30% slower."""
    base = tmp_path_factory.mktemp("exports")
    for name, scale in (("old", 1.0), ("new", 1.3)):
        done = bench("lut", results_dir(base / name, scale), "--format", "lut,ofa,pyperf,gbench")
        assert done.returncode == 0, done.stderr
    return base / "old", base / "new"


def ofa_query(lut, l_type, input_shape, output_shape, ks, stride, op):
    """A lookup written the way once-for-all's LatencyTable.query builds its key and reads the entry."""
    repr_shape = lambda shape: "x".join(str(_) for _ in shape)  # noqa: E731
    infos = [l_type, "input:%s" % repr_shape(input_shape), "output:%s" % repr_shape(output_shape),
             "kernel:%d" % ks, "stride:%d" % stride, "op:%s" % op]
    key = "-".join(infos)
    return lut[key]["mean"]


def test_ofa_yaml_is_read_as_once_for_all_reads_its_tables(exported):
    old, _ = exported
    with open(old / "ofa-hikey-a73-t1.yaml") as fp:
        lut = yaml.safe_load(fp)
    cases = expand(LAYERS, ["im2row", "f4"], ["static"], [8, 32])
    for i, case in enumerate(cases):
        l, want = case.layer, samples_for(i, 1.0)
        op = {("im2row", 8): "im2row-int8", ("im2row", 32): "im2row-fp32", ("f4", 8): "f4-static-int8",
              ("f4", 32): "f4-static-fp32"}[(case.algo, case.bits)]
        assert ofa_query(lut, "conv", [l.h, l.w, l.cin], [l.h, l.w, l.cout], 3, 1, op) == pytest.approx(np.mean(want))
        entry = lut[f"{l.key}-op:{op}"]
        assert entry["std"] == pytest.approx(np.std(want, ddof=1)) and entry["count"] == len(want)
    comments = [line[2:] for line in (old / "ofa-hikey-a73-t1.yaml").read_text().splitlines() if line.startswith("# ")]
    prov = yaml.safe_load("\n".join(comments[comments.index("provenance:"):]))["provenance"]   # the commented block
    assert prov["board"] == "hikey" and prov["where"] == "native" and prov["builds"][0]["compiler"] == "gcc 12.2.0"


def test_every_lut_carries_its_provenance_and_mean_std_count(exported):
    old, _ = exported
    lut = load_lut(old / "lut.json")
    p = lut.provenance
    assert (p["board"], p["core"], p["threads"], p["cpus"], p["where"]) == ("hikey", "a73", 1, ["4"], "native")
    assert p["date"] == "2026-12-01T10:00:00+00:00" and p["runs"][0]["settings"]["min_reps"] == 30
    assert p["builds"] == [{"build_hash": "abc123", "arch": "aarch64", "compiler": "gcc 12.2.0",
                            "cflags": "-O3 -mcpu=cortex-a73"}]
    assert {(c["when"], c["cpu"], c["cur_khz"], c["governor"]) for c in p["cpu_state"]} == {
        ("before", 4, 2362000, "performance"), ("after", 4, 2362000, "performance")}
    entry = lut.entry(LAYERS[0].key, "im2row-int8")
    assert entry["mean_ms"] == pytest.approx(np.mean(samples_for(0, 1.0))) and entry["n_samples"] == 30
    assert json.loads((old / "lut.json").read_text())["schema_version"] == 2
    assert {"mean_ms", "std_ms", "n_samples", "cpus", "run"} <= set((old / "lut.csv").read_text().splitlines()[0].split(","))
    assert load_lut(old / "lut.csv").entry(LAYERS[0].key, "im2row-int8")["n_samples"] == 30


def test_a_version_1_lut_still_loads(tmp_path):
    doc = {"schema_version": 1, "tool": "winobench", "unit": "ms", "tables": {"b/a73/t1": {LAYERS[0].key: {
        "f4-static-int8": {"median_ms": 0.5, "p90_ms": 0.6, "input_ms": 0.1, "gemm_ms": 0.3, "output_ms": 0.1,
                           "sqnr_db": 30.0, "max_abs": None, "rel_l2": None}}}}}
    (tmp_path / "lut.json").write_text(json.dumps(doc))
    lut = load_lut(tmp_path / "lut.json")
    assert lut.latency(LAYERS[0].key, "f4-static-int8") == 0.5 and lut.provenance == {}
    header = "board,core,threads,layer,op,median_ms,p90_ms,input_ms,gemm_ms,output_ms,sqnr_db,max_abs,rel_l2\n"
    (tmp_path / "lut.csv").write_text(header + f"b,a73,1,{LAYERS[0].key},f4-static-int8,0.5,0.6,0.1,0.3,0.1,30,,\n")
    assert load_lut(tmp_path / "lut.csv").entry(LAYERS[0].key, "f4-static-int8")["mean_ms"] is None


def test_pyperf_reads_the_export_and_compares_two(exported):
    pyperf = pytest.importorskip("pyperf", reason="pyperf is in the test extras (pip install -e '.[test]')")
    old, new = exported
    suite = pyperf.BenchmarkSuite.load(str(old / "lut.pyperf.json"))
    bench0 = suite.get_benchmark(f"hikey/a73/t1/{LAYERS[0].key}/im2row-int8")
    assert bench0.get_values() == pytest.approx([v / 1e3 for v in samples_for(0, 1.0)])
    meta = bench0.get_metadata()
    assert meta["hostname"] == "hikey" and meta["winobench_build"] == "abc123" and meta["cpu_affinity"] == "4"
    assert meta["cpu_config"] == "4=governor:performance"
    done = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", old / "lut.pyperf.json",
                           new / "lut.pyperf.json", "--table"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1.30x slower" in done.stdout and f"{LAYERS[1].key}/f4-static-fp32" in done.stdout, done.stdout


def test_google_benchmark_compare_reads_the_export_and_compares_two(exported):
    if not GBENCH_COMPARE.exists():
        pytest.skip(f"{GBENCH_COMPARE} is absent (Debian package libbenchmark-tools; `make setup` installs it)")
    old, new = exported
    doc = json.loads((old / "lut.gbench.json").read_text())
    assert doc["context"]["host_name"] == "hikey" and doc["context"]["mhz_per_cpu"] == 2362
    name = f"hikey/a73/t1/{LAYERS[0].key}/im2row-int8"
    reps = [b for b in doc["benchmarks"] if b["name"] == name and b["run_type"] == "iteration"]
    mean = next(b for b in doc["benchmarks"] if b["name"] == name + "_mean")
    assert len(reps) == 30 and mean["real_time"] == pytest.approx(1e3 * np.mean(samples_for(0, 1.0)))
    done = subprocess.run([sys.executable, str(GBENCH_COMPARE), "-a", "benchmarks", old / "lut.gbench.json",
                           new / "lut.gbench.json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.lstrip("\x1b[0123456789;m").startswith(name + "_mean")]
    assert rows and "+0.3000" in rows[0], done.stdout
    assert "U Test" in done.stdout


def test_export_refusals_are_one_line(tmp_path):
    only_csv = results_dir(tmp_path / "r", 1.0)
    (only_csv / "raw.jsonl").unlink()
    for args, message in ((["--format", "lut,ofa"], "has no raw samples (raw.jsonl)"),
                          (["--format", "yaml"], "unknown --format 'yaml'; accepted: lut, ofa, pyperf, gbench")):
        done = bench("lut", only_csv, *args)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not list(only_csv.glob("ofa-*")) and not (only_csv / "lut.json").exists()
