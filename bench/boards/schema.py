"""The keys a board profile may hold and the type and range of each, checked before any value is used.

One table per kind of TOML table (a board, a cluster), one checker. A value of the wrong type is
refused, never coerced: `accept_new_host_key = "false"` is a string, and a string is truthy, so
coercing it with bool() would turn the opt-in on.

Addresses are checked here too, for profiles, `--host`, saved probes and the SSH transport alike
(`parse_address`): a host is a host name or IPv4 address (letters, digits, `.`, `-`) or an IPv6
address (hex digits and `:`, bare or in brackets), a user a POSIX user name. Nothing else can reach
an ssh_config's `Match exec` line, which runs through a shell with the host name in it.
"""

from __future__ import annotations

import math
import re

from bench.boards.cpus import MAX_CPU_ID
from bench.errors import UsageError, shown

MAX_KHZ = 10_000_000     # 10 GHz
MAX_CAPACITY = 1024      # the kernel's cpu_capacity scale (1024 = the biggest core)
MAX_TIMEOUT_S = 3600.0
MAX_WAIT_S = 86400.0     # waiting for a labgrid place: up to a day

_TOKEN = re.compile(r"[^\s\x00-\x1f\x7f]+")           # no whitespace or control characters
_WORD = re.compile(r"[A-Za-z0-9_.+-]+", re.ASCII)     # core names, -mcpu values, kinds
TAG_KEY = re.compile(r"[a-z][a-z0-9_]+", re.ASCII)    # labgrid's tag keys
TAG_VALUE = re.compile(r"[^\s\x00-\x1f\x7f,=]+")      # no spaces, commas or '=' (labgrid:KEY=VALUE,...)
# A host name or IPv4 address, or an IPv6 address (at least two colons), bare or bracketed.
_IPV6 = r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]{0,60}"
HOST = re.compile(rf"[A-Za-z0-9][A-Za-z0-9.-]{{0,252}}|{_IPV6}|\[{_IPV6}\]", re.ASCII)
USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}", re.ASCII)   # POSIX portable user names
HOST_RULE = "a host name (letters, digits, . and -) or an IP address (IPv6 bare or in [])"
USER_RULE = "a user name (letters, digits, _ . -, not starting with - or .)"


def _integer(lo: int, hi: int):
    return (lambda v: type(v) is int and lo <= v <= hi), f"an integer {lo}..{hi}"


def _number(hi: float):
    ok = lambda v: type(v) in (int, float) and math.isfinite(v) and 0 < v <= hi
    return ok, f"a number of seconds, more than 0 and at most {hi:g}"


BOOLEAN = (lambda v: type(v) is bool), "true or false (unquoted)"
TEXT = (lambda v: isinstance(v, str) and not re.search(r"[\x00-\x1f\x7f]", v)), "a string without control characters"
TOKEN = (lambda v: isinstance(v, str) and bool(_TOKEN.fullmatch(v))), "a non-empty string without spaces"
ADDRESS = (lambda v: isinstance(v, str) and _address_ok(v)), f"[user@]host[:port]: {HOST_RULE}"
USER_NAME = (lambda v: isinstance(v, str) and bool(USER.fullmatch(v))), USER_RULE
WORD = (lambda v: isinstance(v, str) and bool(_WORD.fullmatch(v))), "a name of letters, digits and _.+-"
TABLES = (lambda v: isinstance(v, list) and all(isinstance(t, dict) for t in v)), "a list of [[clusters]] tables"
CPUS = ((lambda v: (isinstance(v, str) and v.strip() != "") or (isinstance(v, list) and all(type(c) is int and 0 <= c < MAX_CPU_ID for c in v))),
        f"a list of CPU numbers 0..{MAX_CPU_ID - 1} or a string like '4-7'")


def is_tags(v) -> bool:
    return isinstance(v, dict) and bool(v) and all(
        TAG_KEY.fullmatch(k) and isinstance(x, str) and TAG_VALUE.fullmatch(x) for k, x in v.items())


def is_host_port(v) -> bool:
    return isinstance(v, str) and "@" not in v and _address_ok(v)


TAGS = is_tags, "a table of labgrid tags, e.g. { soc = \"rk3399\" } (keys of a-z, 0-9 and _; values without spaces, ',' or '=')"
HOST_PORT = is_host_port, "HOST or HOST:PORT, e.g. \"lab.example.org:20408\""


def _choice(options):
    return (lambda v: v in options if isinstance(v, str) else False), " or ".join(repr(o) for o in options)


def board_schema(transports, arches) -> dict:
    return {
        "description": TEXT, "transport": _choice(transports), "host": ADDRESS, "port": _integer(1, 65535),
        "user": USER_NAME, "identity": TEXT, "ssh_config": TEXT, "known_hosts": TEXT,
        "accept_new_host_key": BOOLEAN, "connect_timeout": _number(MAX_TIMEOUT_S), "workdir": TEXT,
        "arch": _choice(arches), "exec_prefix": TEXT, "emulated": BOOLEAN, "kind": WORD,
        "probe_clusters": BOOLEAN, "clusters": TABLES, "base": TOKEN,
        "place": TOKEN, "tags": TAGS, "coordinator": HOST_PORT, "acquire_timeout": _number(MAX_WAIT_S),
    }


CLUSTER_SCHEMA = {
    "core": WORD, "cpus": CPUS, "max_khz": _integer(1, MAX_KHZ), "mcpu": WORD, "dotprod": BOOLEAN,
    "capacity": _integer(1, MAX_CAPACITY),
}


def check_table(data, schema: dict, where: str) -> dict:
    """`data` itself if it is a table whose keys are all in `schema` with values it accepts; else a
    UsageError naming `where`, the key, the bad value and what is accepted."""
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a table, got {shown(data)}")
    for key, value in data.items():
        if key not in schema:
            raise UsageError(f"{where}: unknown key {shown(key)}; accepted: {', '.join(sorted(schema))}")
        ok, accepted = schema[key]
        if not ok(value):
            raise UsageError(f"{where}: bad {key} = {shown(value)}; expected {accepted}")
    return data


def parse_address(spec: str, where: str = "--host") -> tuple[str | None, str, int | None]:
    """`[user@]host[:port]` (an IPv6 host bare without a port, or `[::1]:22`) -> (user, host without
    brackets, port); UsageError naming `where`, the bad part and what is accepted."""
    def bad(what: str) -> UsageError:
        return UsageError(f"bad {where} {shown(spec)}: {what}; expected [user@]host[:port], "
                          f"e.g. root@192.168.1.20:22")

    if not isinstance(spec, str):
        raise bad("not a string")
    user, _, rest = spec.rpartition("@") if "@" in spec else (None, "", spec)
    if user is not None and not USER.fullmatch(user):
        raise bad(f"user {shown(user)} is not {USER_RULE}")
    port = None
    if rest.startswith("[") and "]" in rest:
        host, _, after = rest[1:].partition("]")
        host, port = f"[{host}]", after[1:] if after.startswith(":") else (after or None)
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host = rest
    if not HOST.fullmatch(host):
        raise bad(f"host {shown(host)} is not {HOST_RULE}")
    if port is not None and not (re.fullmatch(r"[0-9]{1,5}", port) and 0 < int(port) < 65536):
        raise bad(f"port {shown(port)} is not 1..65535")
    return user, host.strip("[]"), int(port) if port is not None else None


def _address_ok(spec: str) -> bool:
    try:
        parse_address(spec)
    except UsageError:
        return False
    return True


def check_host(host, user, where: str) -> None:
    """A host (without user or port) and a user (or None) as the SSH transport gets them."""
    if not (isinstance(host, str) and HOST.fullmatch(host)):
        raise UsageError(f"{where}: bad host {shown(host)}; expected {HOST_RULE}")
    if user is not None and not (isinstance(user, str) and USER.fullmatch(user)):
        raise UsageError(f"{where}: bad user {shown(user)}; expected {USER_RULE}")
