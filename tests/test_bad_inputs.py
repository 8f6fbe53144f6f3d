"""The bad-input table (tests/bad_input_cases.py): every bad input gets one line on stderr, the right
exit code (2 bad input, 1 an environment error), a message naming the bad value or path, no
traceback, and no file written or changed. Read-only and full filesystems are real tmpfs mounts
(root only; skipped otherwise)."""

import pytest

from bad_input_cases import all_cases, can_mount, problems, run_case

CASES = all_cases()


def test_the_table_covers_the_issue():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 200
    assert {"security", "traceback", "limits", "leniency", "resources"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.name}" for c in CASES])
def test_bad_input_gets_one_line_and_its_exit_code(case, tmp_path):
    if case.mount and not can_mount():
        pytest.skip("mounting a tmpfs needs root")
    answer = run_case(case, tmp_path)
    assert problems(case, answer) == [], (case.command, answer.code, answer.err)
