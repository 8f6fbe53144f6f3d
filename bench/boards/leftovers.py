"""Private directories a killed run left on a board (`wb-runner.*`, `wb-prepare.*` under the board's
`workdir`, default $TMPDIR or /tmp there), found by the marker each one holds
(bench.files.OWNER_MARK: the machine and process that made it).

`remove_leftovers` runs before every deployment on a board: it removes the directories whose maker
was a process of this machine that has ended (a SIGKILL'd `bench`, a dropped connection). `bench
board clean NAME` (`clean_board`) also removes those made from other machines that no process on
the board is using. Only this user's real directories with the marker are ever considered.
"""

from __future__ import annotations

import posixpath
import re
import sys

from bench.boards.transport import Transport, TransportError, TransportTimeout
from bench.files import OWNER_MARK, made_by_a_dead_process, process_identity

PREFIXES = ("wb-runner.", "wb-prepare.")
# Prints "PATH<TAB>MARKER LINE" for each marked directory of this user under the workdir, and
# whether a process on the board names the directory in its command line ("busy"/"idle").
_LIST = (
    'dir=${1:-${TMPDIR:-/tmp}}; me=$$; '
    'for d in ' + " ".join(f'"$dir"/{p}*' for p in PREFIXES) + '; do '
    f'[ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] && [ -f "$d/{OWNER_MARK}" ] && [ ! -L "$d/{OWNER_MARK}" ] || continue; '
    'use=idle; for p in /proc/[0-9]*; do [ "${p#/proc/}" = "$me" ] && continue; '
    'grep -qsF -- "$d/" "$p/cmdline" && { use=busy; break; }; done; '
    f'printf "%s\\t%s\\t%s\\n" "$d" "$use" "$(head -n 1 "$d/{OWNER_MARK}" | cut -c1-300)"; done; true'
)
_NAME = re.compile(r"wb-(runner|prepare)\.[A-Za-z0-9_]+")


def find_leftovers(t: Transport) -> list[tuple[str, bool, str]]:
    """(path, in use, maker identity) of every marked private directory under the board's workdir."""
    res = t.run(["sh", "-c", _LIST, "sh", t.board.workdir or ""], timeout=60)
    found = []
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0].startswith("/") or not _NAME.fullmatch(posixpath.basename(parts[0])):
            continue
        path = parts[0]
        if posixpath.normpath(path) != path:
            continue
        identity = parts[2][len("winobench "):] if parts[2].startswith("winobench ") else ""
        found.append((path, parts[1] == "busy", identity))
    return found


def _remove(t: Transport, paths: list[str]) -> list[str]:
    for path in paths:
        t.adopt(path)
        t.cleanup(path)
    return paths


def remove_leftovers(t: Transport) -> list[str]:
    """Remove what killed runs of this machine left on the board; never fails the caller (a
    warning names what could not be removed)."""
    try:
        dead = [p for p, busy, who in find_leftovers(t) if not busy and made_by_a_dead_process(who)]
        return _remove(t, dead)
    except (TransportError, TransportTimeout, OSError, ValueError) as e:
        print(f"bench: warning: could not look for leftovers on {t.board.name}: {e}", file=sys.stderr)
        return []


def clean_board(t: Transport) -> tuple[list[str], list[str]]:
    """`bench board clean`: remove every marked directory no live process uses (of a dead process
    of this machine, or made from another machine and idle); (removed, kept because in use)."""
    here = process_identity().split()[0]
    removed, kept = [], []
    for path, busy, who in find_leftovers(t):
        alive_here = who.split()[:1] == [here] and not made_by_a_dead_process(who)
        (kept if busy or alive_here else removed).append(path)
    return _remove(t, removed), kept
