"""The bad-input table (tests/bad_input_cases.py): every bad input gets one line on stderr, the right
exit code (2 bad input, 1 an environment error), a message naming the bad value or path, no
traceback, and no file written or changed. Read-only and full filesystems are real tmpfs mounts
(root only; skipped otherwise)."""

import os

import pytest

from tests.cli.bad_input_cases import all_cases, can_mount, good_results, problems, run_case

CASES = all_cases()


def test_the_table_covers_the_issue():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 200
    assert {"security", "traceback", "limits", "leniency", "resources", "work before check"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.name}" for c in CASES])
def test_bad_input_gets_one_line_and_its_exit_code(case, tmp_path):
    if case.mount and not can_mount():
        pytest.skip("mounting a tmpfs needs root")
    answer = run_case(case, tmp_path)
    assert problems(case, answer) == [], (case.command, answer.code, answer.err)


def test_debug_shows_the_traceback_of_an_environment_error(tmp_path, capsys):
    from bench.cli.main import main

    results = good_results()
    (tmp_path / "r").mkdir()
    for name, text in results.items():
        (tmp_path / "r" / name).write_text(text)
    (tmp_path / "afile").write_text("x")
    assert main(["lut", str(tmp_path / "r"), "--out", str(tmp_path / "afile" / "x")]) == 1
    assert capsys.readouterr().err == f"bench: error: {tmp_path / 'afile' / 'x'}: Not a directory\n"
    with pytest.raises(NotADirectoryError):
        main(["--debug", "lut", str(tmp_path / "r"), "--out", str(tmp_path / "afile" / "x")])


def test_a_table_with_only_the_contract_columns_gives_a_lut_and_plots(tmp_path, capsys):
    import csv
    import io

    from bench.cli.main import main
    from bench.analysis.lut import load_lut
    from bench.measure.results import CONTRACT_COLUMNS

    rows = list(csv.DictReader(io.StringIO(good_results()["latency.csv"])))
    (tmp_path / "r").mkdir()
    with open(tmp_path / "r" / "latency.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CONTRACT_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    assert main(["lut", str(tmp_path / "r")]) == 0
    from_json, from_csv = load_lut(tmp_path / "r" / "lut.json"), load_lut(tmp_path / "r" / "lut.csv")
    assert from_json.name == from_csv.name == "b/a73/t1"    # threads 1 when the table has no threads column
    assert from_json.layers == from_csv.layers
    assert from_json.latency((8, 8, 16, 16), "f2-static-fp32") == 2.0
    assert from_json.entry((8, 8, 16, 16), "f2-static-fp32")["p90_ms"] is None   # no p90 column: null, not NaN
    assert main(["plot", str(tmp_path / "r")]) == 0
    assert {p.name for p in (tmp_path / "r" / "plots").iterdir()} == {
        "breakdown.png", "breakdown.svg", "speedup.png", "speedup.svg"}


@pytest.mark.slow
def test_hostbench_json_on_a_full_disk_keeps_the_results(tmp_path, capsys):
    """A real measurement (host runner), then --json to a real full tmpfs: exit 1, one line naming
    the file the results went to instead, and that file holds every run."""
    if not can_mount():
        pytest.skip("mounting a tmpfs needs root")
    import json
    import re

    from tests.cli.bad_input_cases import _tmpfs
    from bench.cli.main import main

    with _tmpfs(tmp_path, "full"):
        code = main(["hostbench", "--bits", "32", "--runs", "1", "--min-time-ms", "0",
                     "--json", str(tmp_path / "mnt" / "runs.json")])
        assert not (tmp_path / "mnt" / "runs.json").exists()
        assert [p.name for p in (tmp_path / "mnt").iterdir()] == ["filler"]   # no temporary file left
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err
    spare = re.search(r"the results are in (\S+)$", err.strip()).group(1)
    runs = json.loads(open(spare).read())
    assert len(runs) == 1 and sum(l["type"] == "case" for l in runs[0]) == 28
    os.unlink(spare)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    """`bench boards | head -0`: no message, exit 141 like a process killed by SIGPIPE."""
    import subprocess
    import sys

    env = {**os.environ, "BENCH_BOARDS_FILE": str(tmp_path / "none.toml")}
    p = subprocess.Popen([sys.executable, "-m", "bench", "boards"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    p.stdout.close()   # before bench has printed anything
    _, err = p.communicate(timeout=60)
    assert (p.returncode, err) == (141, b"")


def test_results_without_a_peak_line_plot_without_a_roofline(tmp_path, capsys):
    """raw.jsonl holding no `peak` record (a run stopped before it): the figures, no roofline."""
    from bench.cli.main import main

    (tmp_path / "r").mkdir()
    for name, text in good_results().items():
        (tmp_path / "r" / name).write_text(text)
    assert main(["plot", str(tmp_path / "r")]) == 0
    assert {p.stem for p in (tmp_path / "r" / "plots").iterdir()} == {"breakdown", "speedup", "error"}
