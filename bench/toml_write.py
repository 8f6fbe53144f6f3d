"""A small TOML writer for board profiles (tomllib only reads). It covers what profiles hold: tables of
strings, integers, floats, booleans, lists of those, nested tables and arrays of tables."""

from __future__ import annotations

import json
import re

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX) are valid TOML basic-string escapes.
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, dict) for x in v)


def _has_own_values(table: dict) -> bool:
    return any(v is not None and not isinstance(v, dict) and not _is_table_array(v) for v in table.values())


def _emit(table: dict, path: list[str], out: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if v is not None and not isinstance(v, dict) and not _is_table_array(v)}
    for k, v in scalars.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            sub = path + [_key(k)]
            if _has_own_values(v) or not v:  # a table of only sub-tables needs no header of its own
                out.append("")
                out.append(f"[{'.'.join(sub)}]")
            _emit(v, sub, out)
        elif _is_table_array(v):
            sub = path + [_key(k)]
            for item in v:
                out.append("")
                out.append(f"[[{'.'.join(sub)}]]")
                _emit(item, sub, out)


def dumps(doc: dict) -> str:
    """TOML text for `doc`; None values are left out (TOML has no null)."""
    out: list[str] = []
    _emit(doc, [], out)
    return "\n".join(out).lstrip("\n") + "\n"
