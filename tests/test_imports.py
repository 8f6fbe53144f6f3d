"""The direction of imports inside bench/ (pyproject.toml, [tool.importlinter]), checked by
import-linter on the package as it is, and on a copy with one deliberate upward import, which the
contract must refuse."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

LINT = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT, cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_import_contracts():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and "0 broken" in done.stdout


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    shutil.copytree(ROOT / "bench", tmp_path / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    numerics = tmp_path / "bench" / "numerics" / "winograd.py"
    numerics.write_text(numerics.read_text() + "\nimport bench.measure.sweep  # deliberately upward\n")
    done = lint(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout and "bench.numerics.winograd -> bench.measure.sweep" in done.stdout
