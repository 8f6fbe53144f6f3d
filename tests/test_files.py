"""bench.files: files written whole or not at all, keeping a replaced file's mode and symlinks."""

import os
import stat

import pytest

from bench.errors import UsageError
from bench.files import output_dir, replacing


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "lut.json"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with replacing(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["lut.json"]


def test_replacing_keeps_mode_and_writes_through_a_symlink_in_the_same_directory(tmp_path):
    real = tmp_path / "boards.real.toml"
    real.write_text("a")
    real.chmod(0o600)
    link = tmp_path / "boards.toml"
    link.symlink_to(real.name)
    with replacing(link) as tmp:
        tmp.write_text("b")
    assert link.is_symlink() and real.read_text() == "b"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_never_through_a_symlink_that_leaves_the_directory(tmp_path):
    """`bench lut DIR` with DIR/lut.json a link to a file elsewhere: refused, the target untouched."""
    (tmp_path / "elsewhere").mkdir()
    target = tmp_path / "elsewhere" / "precious"
    target.write_text("precious")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "lut.json").symlink_to(target)
    with pytest.raises(UsageError, match="is a symlink to .*precious, outside .*refusing to write through it"):
        with replacing(tmp_path / "r" / "lut.json") as tmp:
            tmp.write_text("x")
    assert target.read_text() == "precious" and os.listdir(tmp_path / "r") == ["lut.json"]


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with replacing(tmp_path / "x.csv") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.csv").stat().st_mode) == 0o644


def test_never_over_a_device_or_directory(tmp_path):
    with pytest.raises(UsageError, match="not a regular file"):
        with replacing(tmp_path) as tmp:
            tmp.write_text("x")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a directory"):
        output_dir(tmp_path / "f")
    with pytest.raises(NotADirectoryError):
        output_dir(tmp_path / "f" / "sub")
