#!/usr/bin/env python3
"""Run the bad-input table (tests/cli/bad_input_cases.py) and print, per input, its kind, the command,
the exit code and the first line of the answer, then a summary by kind. Exit 0 when every answer is
one line with the expected exit code and nothing was written, else 1.

    .venv/bin/python scripts/bad_inputs.py [--markdown] [--only WORD]

Read-only and full filesystems are tmpfs mounts: as root only (other cases still run).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "cli"))

from bad_input_cases import all_cases, can_mount, problems, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--only", help="only cases whose command or name holds this text")
    args = ap.parse_args()
    cases = [c for c in all_cases() if not args.only or args.only in c.name or args.only in c.command]
    tally: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    if args.markdown:
        print("| kind | input | command | exit | first line of the answer |\n|---|---|---|---|---|")
    for case in cases:
        if case.mount and not can_mount():
            tally[case.kind]["skipped (needs root)"] += 1
            continue
        with tempfile.TemporaryDirectory() as d:
            answer = run_case(case, Path(d))
        wrong = problems(case, answer)
        tally[case.kind]["right" if not wrong else "WRONG"] += 1
        first = (answer.err.splitlines() or [""])[0].replace(d, "D")
        command = case.command.replace("{d}", "D")
        mark = "" if not wrong else f"  <-- {'; '.join(wrong)}"
        if args.markdown:
            cell = lambda s: s.replace("|", "\\|")[:160]
            print(f"| {case.kind} | {cell(case.name)} | `{cell(command)}` | {answer.code} | {cell(first)}{mark} |")
        else:
            print(f"[{case.kind}] {case.name}\n    $ {command}\n    exit {answer.code}: {first[:200]}{mark}")
    total = collections.Counter()
    print("\nsummary:")
    for kind, counts in sorted(tally.items()):
        total.update(counts)
        print(f"  {kind:<10} " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
    print(f"  {'all':<10} " + ", ".join(f"{n} {what}" for what, n in sorted(total.items())))
    return 1 if total["WRONG"] else 0


if __name__ == "__main__":
    sys.exit(main())
