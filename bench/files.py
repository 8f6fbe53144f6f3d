"""Files: where the package finds what it ships and caches what it makes, the names that become
paths, input read only from regular files of bounded size, and output written whole or not at all.

- Shipped files: a source checkout and an installed wheel behave alike: the board profiles and
  board-side scripts (`remote/`), the kernel sources (`kernels_c/`), and a per-user cache for builds
  and emulated-board images.
- Names that become paths (boards, VMs, saved profiles, results): one pattern (`NAME`,
  `check_name`) that cannot climb (no `/`, no leading `.`, not empty), checked before anything is
  built or removed. Directories the project makes for itself carry a marker file (`make_owned_dir`)
  and only a marked directory is ever removed (`remove_owned_dir`); a cache or build directory
  that is a symlink or writable by others is refused (`check_private_dir`).
- Input: regular files only (a FIFO, a device, /dev/zero is refused in one line), of bounded size
  (`read_bytes`, `read_text`) or streamed line by line with a bound per line (`read_lines`); JSON or
  TOML mapping files (layers, assignments) with one-line errors (`read_mapping`).
- Output: a directory checked before any work (`output_dir`) and files replaced in one rename
  (`replacing`), never written through a symlink that leads out of their directory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import tomllib
from pathlib import Path

from bench.errors import UsageError, shown

_SOURCE_ROOT = Path(__file__).resolve().parent.parent
# Where a wheel installs the shipped files (pyproject.toml's data-files): <prefix>/share/winobench.
_INSTALLED_ROOT = Path(sys.prefix) / "share" / "winobench"


def _shipped(name: str) -> Path:
    """A source checkout's own copy when there is one, else the installed one."""
    here = _SOURCE_ROOT / name
    return here if here.is_dir() else _INSTALLED_ROOT / name


def remote_dir() -> Path:
    """Board profiles (`boards/*.toml`) and scripts that run on a board."""
    return _shipped("remote")


def kernels_dir() -> Path:
    """The C sources, headers and runner (`kernels_c/`)."""
    return _shipped("kernels_c")


def build_dir() -> Path:
    """Where runner builds go: `kernels_c/build` in a source checkout, the per-user cache for an
    installed package (its share/ directory is not the user's to write)."""
    k = kernels_dir()
    return k / "build" if k.parent == _SOURCE_ROOT else user_cache_dir() / "build"


def user_cache_dir() -> Path:
    """Per-user cache (`$XDG_CACHE_HOME/winobench`, default `~/.cache/winobench`); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "winobench"


# ---------------------------------------------------------------------------------------------
# Names that become paths

# Board, group, VM and saved-profile names, and the parts of a default results directory's name:
# letters, digits and _.@:- (plus [] of an IPv6 address typed with --host), not starting with `.`
# or `-`, so that no name is empty, climbs (`..`, `/`) or reads as an option.
NAME = re.compile(r"[A-Za-z0-9_@:\[][A-Za-z0-9_.@:\[\]-]{0,127}", re.ASCII)
NAME_RULE = "letters, digits and _.@:- (not starting with . or -, at most 128)"


def check_name(name, what: str = "board") -> str:
    """`name` if it can be one path component of the project's own; else UsageError naming it."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UsageError(f"bad {what} name {shown(name)}; use {NAME_RULE}")
    return name


# ---------------------------------------------------------------------------------------------
# Directories the project makes for itself, and only those removed

OWNER_MARK = ".winobench-owned"   # written into every directory the project makes for itself


def process_identity(pid: int | None = None) -> str:
    """`MACHINE BOOT PID START` of a process of this machine (START: its start time in clock ticks
    since boot), so that a directory it made can later be told apart from one of a live process."""
    pid = os.getpid() if pid is None else pid
    return f"{_machine_id()} {_boot_id()} {pid} {_start_time(pid)}"


def made_by_a_dead_process(identity: str) -> bool:
    """Whether `identity` (process_identity) names a process of this machine that has ended. One of
    another machine, or an unreadable one, is never judged dead."""
    parts = identity.split()
    if len(parts) != 4 or parts[0] != _machine_id() or not parts[2].isdigit():
        return False
    if parts[1] != _boot_id():
        return True
    return _start_time(int(parts[2])) != parts[3]


def _machine_id() -> str:
    """The machine id with the host name (containers made from one image share the id, rarely the
    name): which machine's process table can tell whether a maker is still running."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            text = Path(path).read_text().strip()
            if re.fullmatch(r"[0-9a-f]{32}", text):
                return f"{text}-{host}"
    return f"host-{host}"


def _boot_id() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or "-"
    return "-"


def _start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (after the command name, which may hold spaces), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return "gone"


def make_owned_dir(path: Path, mode: int = 0o700) -> Path:
    """Create `path` (not existing; its parent must) and mark it as the project's own."""
    path = Path(path)
    path.mkdir(mode=mode)
    try:
        (path / OWNER_MARK).write_text(f"winobench {process_identity()}\n")
    except BaseException:
        path.rmdir()
        raise
    return path


def make_scratch_dir(prefix: str, parent=None) -> Path:
    """A new private directory (mode 0700) `PREFIX<random>` under `parent` (default $TMPDIR),
    marked with this process's identity so that a later run can remove it once this process is
    gone (`remove_dead_scratch`), e.g. after a SIGKILL."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        (path / OWNER_MARK).write_text(f"winobench {process_identity()}\n")
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def remove_dead_scratch(prefix: str, parent=None) -> list[Path]:
    """Remove the scratch directories `PREFIX*` under `parent` (default $TMPDIR) made by processes
    of this machine that have ended; returns them. Another user's, an unmarked or a live process's
    directory is left alone."""
    removed = []
    for path in Path(parent or tempfile.gettempdir()).glob(f"{glob_escape(prefix)}*"):
        if is_owned_dir(path) and made_by_a_dead_process(owner_identity(path)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def is_owned_dir(path: Path) -> bool:
    """A real directory (not a symlink) of this user holding the project's marker file."""
    try:
        st, mark = os.lstat(path), os.lstat(Path(path) / OWNER_MARK)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and stat.S_ISREG(mark.st_mode) and st.st_uid == os.geteuid()
            and mark.st_uid == os.geteuid())


def owner_identity(path: Path) -> str:
    """The process_identity recorded in an owned directory's marker ("" when unreadable)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = (Path(path) / OWNER_MARK).read_text(errors="strict")
        return text.split(" ", 1)[1].strip() if text.startswith("winobench ") else ""
    return ""


def remove_owned_dir(path: Path) -> bool:
    """Remove `path` with everything in it if it is a directory the project made (is_owned_dir);
    False when it does not exist; UsageError naming it when it is not the project's to remove."""
    path = Path(path)
    if not os.path.lexists(path):
        return False
    refuse_unowned(path)
    shutil.rmtree(path)   # never follows a symlink inside the tree
    return True


def refuse_unowned(path: Path) -> None:
    """UsageError naming `path` when something is there that the project did not make."""
    if os.path.lexists(path) and not is_owned_dir(path):
        raise UsageError(f"refusing to touch {path}: not a directory winobench made "
                         f"(a symlink, a file, another user's, or no {OWNER_MARK} in it)")


def check_private_dir(path: Path, what: str) -> Path:
    """`path` if it is a real directory owned by this user (or root) that nobody else can write to;
    else OSError naming it (exit 1): code found there is executed or pushed to boards."""
    st = os.lstat(path)
    why = ("is a symlink" if stat.S_ISLNK(st.st_mode) else "is not a directory" if not stat.S_ISDIR(st.st_mode)
           else f"is owned by uid {st.st_uid}" if st.st_uid not in (os.geteuid(), 0)
           else f"is writable by others (mode {stat.S_IMODE(st.st_mode):o}; chmod go-w it)" if st.st_mode & 0o022
           else "")
    if why:
        raise OSError(errno.EPERM, f"{what} {why}; refusing to use it", str(path))
    return path


# ---------------------------------------------------------------------------------------------
# Input: regular files of bounded size

MAX_INPUT_BYTES = 64 * 2 ** 20   # a boards, layers, assignment, LUT or transform file
MAX_LINE_BYTES = 64 * 2 ** 20    # one line of a results file (a case record with every sample)


@contextlib.contextmanager
def open_regular(path, what: str, limit: int | None = MAX_INPUT_BYTES):
    """`path` opened for binary reading if it is a regular file of at most `limit` bytes. A FIFO
    or a device is refused (UsageError, before anything blocks on it), a directory is
    IsADirectoryError; other OSErrors (missing, no permission) go to the caller."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or \
                stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
            raise UsageError(f"{path} is {kind}, not a regular file; the {what} must be one")
        if limit is not None and st.st_size > limit:
            raise UsageError(f"{path} is {st.st_size} bytes; the {what} may be at most {limit}")
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_bytes(path, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (see open_regular)."""
    with open_regular(path, what, limit) as f:
        data = f.read(limit + 1)
    if len(data) > limit:   # it grew while being read
        raise UsageError(f"{path} is more than {limit} bytes; the {what} may be at most {limit}")
    return data


def decode(data: bytes, path, what: str) -> str:
    """UTF-8 text, or UsageError naming the file, the byte and its offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
                         f"the {what} must be UTF-8") from None


def read_text(path, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes."""
    return decode(read_bytes(path, what, limit), path, what)


def read_lines(path, what: str, max_line: int = MAX_LINE_BYTES):
    """(number, text) of each whole line of a regular file of any size, streamed: memory is bounded
    by `max_line` whatever the file holds. A last line without its newline (torn by a crash) is
    left out; a line that is not UTF-8, holds a NUL or is longer than `max_line` is UsageError."""
    with open_regular(path, what, limit=None) as f:
        n, offset = 0, 0
        while True:
            raw = f.readline(max_line + 1)
            if not raw.endswith(b"\n"):
                if len(raw) > max_line:
                    raise UsageError(f"{path} line {n + 1} is longer than {max_line} bytes; not a {what}")
                _check_torn_tail(raw, path, what, offset)
                return   # end of file, or a torn last line
            n += 1
            text = decode_line(raw[:-1], path, what, n, offset)
            offset += len(raw)
            yield n, text


def _check_torn_tail(raw: bytes, path, what: str, offset: int) -> None:
    """A last line without its newline is dropped as torn, but it must still be UTF-8 up to a
    character cut off at the end (the file is text, however it was cut)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data":
            raise UsageError(f"{path} is not UTF-8 text (byte {raw[e.start]:#04x} at offset "
                             f"{offset + e.start}); not a {what}") from None


def decode_line(raw: bytes, path, what: str, n: int, offset: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text (byte {raw[e.start]:#04x} at offset {offset + e.start}, "
                         f"line {n}); not a {what}") from None
    if "\0" in text:
        raise UsageError(f"{path}: binary content (a NUL byte at offset {offset + text.index(chr(0))}); not a {what}")
    return text


def read_mapping(path: Path, what: str) -> dict:
    """A JSON file, or TOML for a `.toml` path, holding a table at the top (a layers or assignment
    file); UsageError naming the file and what is wrong with it."""
    try:
        text = read_text(path, f"{what} file")
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        raise UsageError(f"cannot read the {what} file {path}: {e.strerror}") from None
    kind = "TOML" if path.suffix == ".toml" else "JSON"
    try:
        doc = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (ValueError, RecursionError) as e:   # syntax, a number past the digit limit, deep nesting
        raise UsageError(f"{path} is not a valid {kind} {what} file ({str(e)[:120] or type(e).__name__})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a {what} file holds a table/object at the top")
    return doc


# ---------------------------------------------------------------------------------------------
# Output

def check_output_dir(path, flag: str = "--out") -> None:
    """Before any work: an empty path, or one where a file is, is bad input (exit 2)."""
    if path is not None and str(path) == "":
        raise UsageError(f"empty {flag}; give a directory")
    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise UsageError(f"{flag} {path} is a file, not a directory")


def output_dir(path, flag: str = "--out") -> Path:
    """`path` as a directory, created if missing; an empty path or an existing file there is bad
    input (exit 2), while a path the machine cannot create (under a file, read-only, /proc) raises
    its OSError (exit 1)."""
    check_output_dir(path, flag)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_target(path: Path) -> Path:
    """The file a write to `path` replaces: `path`, or the target of a symlink that stays in the
    same directory (a link leading elsewhere is refused: writing must not leave the directory)."""
    if not path.is_symlink():
        return path
    target = path.resolve()
    if target.parent != path.parent.resolve():
        raise UsageError(f"{path} is a symlink to {target}, outside {path.parent}; "
                         f"refusing to write through it (remove the link)")
    return target


def _umask() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("Umask:"))
        return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


@contextlib.contextmanager
def replacing(path: Path, mode: int | None = None):
    """A new temporary path beside `path` to write to: on success it replaces `path` in one rename,
    on any error it is removed, so `path` is never half-written. The file gets `mode` if given, else
    a replaced file keeps its mode and a new one follows the user's umask; a symlink is written
    through only when its target is in the same directory."""
    path = _write_target(Path(path))
    if path.exists() and not path.is_file():  # never rename over a directory, device or FIFO
        raise UsageError(f"{path} exists and is not a regular file")
    try:  # same suffix: writers go by it (numpy, matplotlib); created new, never an existing file
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from e
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is None:
            mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        if e.filename is None or str(e.filename) == str(tmp):  # name the file being written, not the temporary one
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
