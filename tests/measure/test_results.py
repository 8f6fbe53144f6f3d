"""The results directory (bench.measure.results) on constructed runner records. (The end-to-end
tests through the real runner are in tests/e2e/test_run.py.)"""

import json
import os
import stat

import pytest

from bench.errors import UsageError
from bench.layers import Layer
from bench.measure.cases import expand
from bench.measure.results import COLUMNS, CONTRACT_COLUMNS, ResultsDir, load_peaks, load_samples, row_from_case
from tests.support import case_record


def _write(path, cases, statuses, run_meta=None):
    results = ResultsDir.create(path, resume=path.exists())
    with results:
        run = results.start_run(run_meta or {"command": "test", "settings": {"threads": 1, "min_reps": 3}})
        for case, status in zip(cases, statuses):
            results.add(row_from_case(case_record(status=status), case, run), case_record(status=status))
    return results


def test_results_persist_after_every_case_and_resume(tmp_path):
    cases = expand([Layer(8, 8, 16, 16, 2, "l1"), Layer(4, 4, 8, 8)], ["im2row", "f2"], ["static"], [8])
    _write(tmp_path / "r", cases[:2], ["ok", "error"])
    # What is on disk now is a complete table (as after a Ctrl-C).
    df = ResultsDir.load(tmp_path / "r").dataframe()
    assert list(df.columns) == COLUMNS and COLUMNS[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert df["status"].tolist() == ["ok", "error"] and df["cpus"].tolist() == ["4", "4"]
    assert df.loc[0, "total_ms"] == 1.0 and df.loc[0, "sqnr_db"] == 30.0 and df.loc[0, "count"] == 2
    assert df["scheme"].tolist() == ["none", "tensor"]
    with pytest.raises(UsageError, match="already holds results; pass --resume"):
        ResultsDir.create(tmp_path / "r", resume=False)
    again = ResultsDir.create(tmp_path / "r", resume=True)
    key = lambda c: ("b", "a73", 1, c.engine, c.bits, c.algo, c.transform, c.scheme, c.requant, c.layer.h, c.layer.w,
                     c.layer.cin, c.layer.cout, 3, 1, 1)
    assert again.measured_keys() == {key(cases[0])}  # the failed case is measured again
    _write(tmp_path / "r", cases[1:2], ["ok"])
    df = ResultsDir.load(tmp_path / "r").dataframe()
    assert len(df) == 2 and (df["status"] == "ok").all() and df["run"].tolist() == [0, 1]
    records = [json.loads(l) for l in (tmp_path / "r" / "raw.jsonl").read_text().splitlines()]
    assert records[0]["schema_version"] == 2 and [r["type"] for r in records].count("run") == 2
    assert [r["type"] for r in records].count("case") == 3
    samples = load_samples(tmp_path / "r")
    assert len(samples) == 2 * 4 and set(samples["stage"]) == {"total_ms", "input_ms", "gemm_ms", "output_ms"}
    assert samples[samples["stage"] == "total_ms"]["samples"].tolist() == [[1.0] * 3] * 2


def test_results_follow_the_umask_and_append_only(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row", "f2"], ["static"], [8])
    old = os.umask(0o022)
    try:
        _write(tmp_path / "r", cases[:1], ["ok"])
        size = (tmp_path / "r" / "latency.csv").stat().st_size
        _write(tmp_path / "r", cases[1:], ["ok"])
    finally:
        os.umask(old)
    for name in ("latency.csv", "raw.jsonl"):
        assert stat.S_IMODE((tmp_path / "r" / name).stat().st_mode) == 0o644
    text = (tmp_path / "r" / "latency.csv").read_text()
    assert text.count("board,core") == 1 and len(text) > size   # one header, rows appended


def test_a_torn_last_line_is_dropped_and_cut_off(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row", "f2"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok", "ok"])
    csv_path, raw_path = tmp_path / "r" / "latency.csv", tmp_path / "r" / "raw.jsonl"
    text = csv_path.read_text()
    csv_path.write_text(text[:-25])                              # the last row torn mid-write
    raw_path.write_text(raw_path.read_text()[:-40])              # and its raw record
    loaded = ResultsDir.create(tmp_path / "r", resume=True)
    assert len(loaded.rows) == 1 and len(loaded.measured_keys()) == 1   # measured again on resume
    with loaded:
        assert csv_path.read_text().endswith("\n") and raw_path.read_text().endswith("\n")
    assert len(ResultsDir.load(tmp_path / "r").dataframe()) == 1


def test_a_second_writer_is_refused(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok"])
    first = ResultsDir.create(tmp_path / "r", resume=True)
    with first:
        second = ResultsDir.create(tmp_path / "r", resume=True)
        with pytest.raises(UsageError, match="being written by another bench run"):
            second.open_for_writing()
    with ResultsDir.create(tmp_path / "r", resume=True):
        pass   # released on exit


def test_resume_refuses_other_settings_and_missing_dirs(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok"])
    now = {"threads": 1, "min_reps": 5}
    with pytest.raises(UsageError, match="min_reps 3 \\(now 5\\).*--mix-settings"):
        ResultsDir.create(tmp_path / "r", resume=True, settings=now)
    assert ResultsDir.create(tmp_path / "r", resume=True, settings=now, mix_settings=True).rows
    with pytest.raises(UsageError, match="holds no results"):
        ResultsDir.create(tmp_path / "misspelt", resume=True)
    assert not (tmp_path / "misspelt").exists()


def test_load_peaks_gives_every_field(tmp_path):
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        run = results.start_run({"command": "test"})
        results.add_record("peak", run, {"board": "b", "core": "a73", "cpus": [4], "threads": 1,
                                         "f32_gflops": 18.5, "i8_gops": 30.0, "bw_gbs": 7.5})
        results.add(row_from_case(case_record(), _one(), run), case_record())
    peaks = load_peaks(tmp_path / "r")
    assert peaks.loc[0, ["board", "core", "f32_gflops", "i8_gops", "bw_gbs"]].tolist() == ["b", "a73", 18.5, 30.0, 7.5]


def _one():
    return expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8])[0]


@pytest.mark.parametrize("content,name,message", [
    ("a,b\n1,2\n", "latency.csv", "missing columns"),
    ('{"tool": "other"}\n', "raw.jsonl", "not a winobench results file"),
    ('not json\n{}\n', "raw.jsonl", "line 1 is not JSON"),
    (b"\xff\xfe", "latency.csv", "not UTF-8"),
])
def test_foreign_results_are_refused(tmp_path, content, name, message):
    (tmp_path / "latency.csv").write_text(",".join(CONTRACT_COLUMNS) + "\n")
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    else:
        (tmp_path / name).write_text(content)
    with pytest.raises(UsageError, match=message):
        ResultsDir.load(tmp_path)
    with pytest.raises(UsageError, match="not a winobench results directory"):
        ResultsDir.load(tmp_path / "empty")


def test_rows_from_before_the_requant_column_read_as_the_fp32_form(tmp_path):
    """A results table written before int8 took the int requantization: its int8 rows ran the fp32
    form, its fp32 rows have none."""
    header = ",".join(CONTRACT_COLUMNS + ["scheme"])
    rows = ["b,a53,0,8,f4,static,8,8,16,16,0.1,0.2,0.1,0.4,ok,tensor",
            "b,a53,0,32,f4,static,8,8,16,16,0.1,0.2,0.1,0.4,ok,none"]
    (tmp_path / "latency.csv").write_text("\n".join([header, *rows]) + "\n")
    df = ResultsDir.load(tmp_path).dataframe()
    assert list(df["requant"]) == ["fp32", "none"]


def _big_record(n_samples: int, ms: float = 1.0):
    """A runner case record with `n_samples` samples per stage (as a tiny layer at the defaults gives)."""
    from bench.measure.protocol import CaseRecord

    stats = lambda v: {"median": v, "mean": v, "min": v * 0.9, "p10": v * 0.95, "p90": v * 1.1, "mad": 0.01,  # noqa: E731
                       "samples": [v + i * 1e-9 for i in range(n_samples)]}
    return CaseRecord.from_saved({"type": "case", "status": "ok", "board": "b", "core": "a73", "cpus": [4], "threads": 1,
                                  "reps": n_samples, "total_ms": stats(ms), "input_ms": stats(ms * 0.2),
                                  "gemm_ms": stats(ms * 0.7), "output_ms": stats(ms * 0.1)})


def test_stored_samples_are_a_uniform_subset_with_the_exact_statistics(tmp_path):
    from bench.measure.results import MAX_SAMPLES, capped_samples

    rec = _big_record(100_000)
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        run = results.start_run({"command": "test"})
        results.add(row_from_case(rec, _one(), run), rec)
    case = [json.loads(l) for l in (tmp_path / "r" / "raw.jsonl").read_text().splitlines()][-1]
    assert case["samples_capped"] == MAX_SAMPLES and case["reps"] == 100_000
    kept = {s: case[f"{s}_ms"]["samples"] for s in ("total", "input", "gemm", "output")}
    assert all(len(v) == MAX_SAMPLES for v in kept.values())
    index = [round((v - 1.0) * 1e9) for v in kept["total"]]     # which repetitions: spread over all of them
    assert index == sorted(index) and index[0] < 1000 and index[-1] > 99_000
    assert [round((v - 0.2) * 1e9) for v in kept["input"]] == index   # the same repetitions in every stage
    assert case["total_ms"]["median"] == 1.0                          # the runner's statistics, over all
    small = _big_record(10).to_json()
    assert capped_samples(small) == small
    samples = load_samples(tmp_path / "r", "total_ms")
    assert samples.loc[0, "median"] == 1.0 and samples.loc[0, "reps"] == 100_000 and len(samples.loc[0, "samples"]) == MAX_SAMPLES


def test_reading_results_holds_one_record_at_a_time(tmp_path):
    """lut, compare and --resume read a results directory record by record: with 40 cases of 20,000
    samples per stage each (as a file written before samples were capped), reading takes a few
    MB of memory at its peak, not the whole file."""
    import tracemalloc

    from bench.measure import results as results_module

    cases = expand([Layer(4 + i, 4, 8, 8) for i in range(40)], ["im2row"], ["static"], [32])
    old = results_module.MAX_SAMPLES
    results_module.MAX_SAMPLES = 10 ** 9   # written as an earlier version wrote: every sample
    try:
        with ResultsDir.create(tmp_path / "r", resume=False) as results:
            run = results.start_run({"command": "test"})
            for case in cases:
                rec = _big_record(20_000)
                results.add(row_from_case(rec, case, run), rec)
    finally:
        results_module.MAX_SAMPLES = old
    size = (tmp_path / "r" / "raw.jsonl").stat().st_size
    tracemalloc.start()
    try:
        loaded = ResultsDir.create(tmp_path / "r", resume=True, settings={"threads": 1})
        samples = load_samples(tmp_path / "r", "total_ms")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(loaded.measured_keys()) == 40 and len(samples) == 40
    assert all(len(s) == old for s in samples["samples"])          # capped on reading too
    assert size > 40e6 and peak < size / 4, (size, peak)


def test_the_lock_comes_first_and_a_failed_start_leaves_nothing(tmp_path):
    """The lock before anything is read: a second writer is refused while the first has only the
    lock; releasing removes the lock file and the directory the lock created, if still empty."""
    from bench.measure.results import ResultsLock

    out = tmp_path / "new" / "r"
    with ResultsLock(out):
        assert (out / ".lock").exists()
        with pytest.raises(UsageError, match="being written by another bench run"):
            ResultsLock(out).acquire()
    assert not (tmp_path / "new").exists()   # a start that wrote nothing leaves nothing
    _write(tmp_path / "r", expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8]), ["ok"])
    assert sorted(os.listdir(tmp_path / "r")) == ["latency.csv", "raw.jsonl"]   # no stale lock
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "latency.csv").write_text("")                        # what a failed start once left
    assert ResultsDir.create(tmp_path / "empty", resume=False).rows == []      # no table: started afresh


def test_appends_go_through_a_raw_descriptor_and_are_cut_back_on_failure(tmp_path, monkeypatch):
    """A write that fails part-way (a full disk) is cut back to the last whole line."""
    from bench.measure import results as results_module

    path = tmp_path / "raw.jsonl"
    path.write_text('{"a":1}\n')
    real_write = os.write
    calls = []

    def half_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results_module.os, "write", half_then_full)
    with pytest.raises(OSError, match="No space left") as e:
        results_module._append(path, '{"b":"' + "x" * 1000 + '"}\n')
    assert e.value.filename == str(path) and path.read_text() == '{"a":1}\n' and len(calls) == 2


def test_filters_are_columns_and_keys_and_older_tables_read_as_3x3_stride_1(tmp_path):
    s1, s2 = Layer(16, 16, 8, 8, name="s1"), Layer(16, 16, 8, 8, name="s2", stride=2)
    cases = expand([s1, s2], ["im2row"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok", "ok"])
    df = ResultsDir.load(tmp_path / "r").dataframe()
    assert df[["k", "stride", "pad"]].values.tolist() == [[3, 1, 1], [3, 2, 1]]   # two rows, not one
    assert len(ResultsDir.load(tmp_path / "r").measured_keys()) == 2
    # A table written before the filter columns: only the columns of then; its rows read as 3x3/1/1,
    # and the first write after it rewrites the table under today's columns, rows kept.
    old_columns = [c for c in COLUMNS if c not in ("k", "stride", "pad")]
    csv_path = tmp_path / "r" / "latency.csv"
    lines = [l.split(",") for l in csv_path.read_text().splitlines()]
    keep = [i for i, c in enumerate(lines[0]) if c in old_columns]
    csv_path.write_text("".join(",".join(l[i] for i in keep) + "\n" for l in lines[:2]))
    old = ResultsDir.load(tmp_path / "r").dataframe()
    assert old[["k", "stride", "pad"]].values.tolist() == [[3, 1, 1]]
    _write(tmp_path / "r", cases[1:], ["ok"])
    assert csv_path.read_text().splitlines()[0].split(",") == COLUMNS
    df = ResultsDir.load(tmp_path / "r").dataframe()
    assert df[["k", "stride", "pad"]].values.tolist() == [[3, 1, 1], [3, 2, 1]]
    samples = load_samples(tmp_path / "r", "total_ms")   # raw records of old runners had no filter keys
    assert sorted(samples["stride"].tolist()) == [1, 2]
