"""The package is whole when installed: a non-editable `pip install .` into a fresh venv gives a
working `bench run`, building from the installed kernel sources into the per-user cache.

The fresh venv borrows the dependencies (numpy, pandas, ...) of the project's own venv through a
.pth file, so the test needs no network; the package itself is built and installed as a wheel."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pandas as pd
import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow


def test_non_editable_install_runs_a_sweep(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", "build", ".git", "tables", "__pycache__",
                                                             ".pytest_cache", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "dev-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", str(src)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(src)   # nothing may come from the source tree any more
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([venv / "bin" / "bench", "run", "--res", "4", "--channels", "4", "--algo", "im2row,f2",
                           "--bits", "32", "--reps", "2", "--min-time-ms", "1", "--out", "r"],
                          capture_output=True, text=True, cwd=work, env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    df = pd.read_csv(work / "r" / "latency.csv")
    assert len(df) == 3 and (df["status"] == "ok").all() and df["sqnr_db"].notna().all()
    assert list((tmp_path / "cache" / "winobench" / "build").iterdir())   # built into the user's cache
