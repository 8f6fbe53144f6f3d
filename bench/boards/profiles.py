"""Board profiles: how to reach a board, what it is (architecture, clusters of one core type each) and
how to build for each cluster.

Where profiles come from, later ones overriding earlier ones of the same name:
  1. shipped profiles, one TOML file per board in `remote/boards/` (name = file name);
  2. the user's file: `$BENCH_BOARDS_FILE`, else `$XDG_CONFIG_HOME/bench/boards.toml`, else
     `~/.config/bench/boards.toml`, with `[boards.NAME]` tables (same keys as a shipped file, plus
     `base = "hikey960"` to start from another profile), `[groups]` (`shelf = ["a", "b"]`) and, at
     the top, `default = "NAME"`: the board used when none is named (`$BENCH_BOARD` wins over it);
  3. `--host user@addr[:port]` on the command line, alone (an ad-hoc board, probed on use) or on top
     of a profile (`--board hikey960 --host root@10.0.0.5`);
  4. `--board labgrid:TAG=VALUE[,TAG=VALUE]`: the places of a labgrid coordinator with these tags
     (`labgrid:name=PLACE` for one place), reached with this user's SSH settings (~/.ssh).

Board and group names follow `bench.files.NAME`; hosts and users are checked as addresses
(`bench.boards.schema.parse_address`: a profile's `host` may be `user@addr:port` too, but a user or
port given twice is refused).

A host may be an alias of `~/.ssh/config`: fabric resolves HostName, User, Port and IdentityFile.

Profile keys (all optional except as noted): `description`, `transport` ("local", "ssh", "emulated"
or "labgrid"; default "ssh" when `host` is set, "labgrid" when `place` or `tags` is, else "local"),
`host`, `port`, `user`, `identity`,
`ssh_config`, `known_hosts`, `accept_new_host_key`, `connect_timeout`, `workdir` (parent of the
private remote dirs; default `$TMPDIR` or /tmp on the board), `arch` ("aarch64", "x86_64"),
`exec_prefix` (command put before the runner, e.g. "qemu-aarch64-static -cpu cortex-a53"),
`emulated` (results are marked emulated), `kind` (boards of one kind share a sweep in a farm),
`probe_clusters` (take the clusters from this machine's own sysfs at load time: the `local` board),
and `[[clusters]]` tables with `core` (required), `cpus` ([4, 5] or "4-7"), `max_khz`, `mcpu`,
`dotprod`, `capacity`. A labgrid board (bench.boards.places) has `place` (a place's name) or `tags`
(a table; a farm takes every place with them), `coordinator` (HOST[:PORT]; default
`$LG_COORDINATOR`, else labgrid's 127.0.0.1:20408) and `acquire_timeout` (seconds to wait for a
busy place); its address comes from the place's NetworkService, and the SSH keys above apply to it.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench.boards import cores
from bench.boards.cpus import format_cpulist, parse_cpulist
from bench.boards.schema import CLUSTER_SCHEMA, board_schema, check_host, check_table, parse_address
from bench.boards.topology import Cluster, label, read_topology
from bench.boards.transport import TRANSPORTS
from bench.errors import UsageError, choice_error, shown
from bench.files import NAME, NAME_RULE, check_name, read_text, remote_dir, replacing

SHIPPED_DIR = remote_dir() / "boards"
USER_FILE_ENV = "BENCH_BOARDS_FILE"
DEFAULT_ENV = "BENCH_BOARD"
ARCHES = ("aarch64", "x86_64")
SELECTORS = ("big", "little", "all")

BOARD_SCHEMA = board_schema(tuple(TRANSPORTS), ARCHES)
MAX_BASE_DEPTH = 32       # profiles inheriting through `base`
_PATH_KEYS = ("identity", "ssh_config", "known_hosts")
LABGRID = "labgrid:"                 # --board labgrid:TAG=VALUE[,TAG=VALUE]
ACQUIRE_TIMEOUT_S = 120.0            # default wait for a busy labgrid place


@dataclass(frozen=True)
class Board:
    """A board profile (see the module docstring for the keys).

    `transport`: "local" (this machine), "ssh" or "emulated" (this machine running the aarch64 runner
    under `exec_prefix`, normally qemu-user). `emulated` marks results as not real latencies; it is
    true for the emulated transport and may also be set on an ssh board that runs qemu remotely.
    `clusters` are ordered little to big. `source` is the file the profile came from.
    """

    name: str
    transport: str = "local"
    host: str | None = None
    port: int | None = None
    user: str | None = None
    arch: str | None = None
    exec_prefix: str = ""
    emulated: bool = False
    clusters: tuple[Cluster, ...] = ()
    kind: str | None = None
    identity: str | None = None
    ssh_config: str | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    connect_timeout: float = 15.0
    workdir: str | None = None
    description: str = ""
    probe_clusters: bool = False
    place: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    coordinator: str | None = None
    acquire_timeout: float = ACQUIRE_TIMEOUT_S
    source: str = ""

    @property
    def exec_prefix_argv(self) -> list[str]:
        return shlex.split(self.exec_prefix)

    @property
    def address(self) -> str:
        """user@host:port as far as known (for messages); the name for local boards."""
        if self.transport == "labgrid":
            place = self.place or (self.tags[0][1] if [k for k, _ in self.tags] == ["name"] else None)
            what = f"place {place}" if place else "places with " + ",".join(f"{k}={v}" for k, v in self.tags)
            return f"labgrid {what}" + (f" at {self.coordinator}" if self.coordinator else "")
        if self.transport != "ssh":
            return self.transport
        s = self.host or "?"
        if self.user:
            s = f"{self.user}@{s}"
        if self.port:
            s = f"{s}:{self.port}"
        return s

    @property
    def matched(self) -> bool:
        """A place found by a tag match (bench.boards.places.expand): a farm goes on without it if
        it cannot be had."""
        return self.transport == "labgrid" and bool(self.place and self.tags)

    def signature(self) -> str:
        """What makes two boards interchangeable for a sweep: architecture, core types and counts."""
        parts = "+".join(f"{c.core}x{len(c.cpus)}" for c in self.clusters) or "unprobed"
        return f"{self.arch or '?'}:{parts}{':emulated' if self.emulated else ''}"

    def farm_kind(self) -> str:
        """The profile's `kind`, else the signature: boards of one kind split a sweep between them."""
        return self.kind or self.signature()

    def check_cpus(self, topology) -> None:
        """UsageError when the profile puts a core type on CPUs the board (as probed) does not have
        for it: `cpus = "99"` on a 2-CPU board is refused, never measured on another CPU."""
        for c in self.clusters:
            theirs = {cpu for p in topology.clusters if p.core == c.core for cpu in p.cpus}
            stray = sorted(set(c.cpus) - theirs)
            if stray and theirs:
                raise UsageError(f"board {self.name!r}: its profile ({self.source}) puts {c.core} on CPU(s) "
                                 f"{format_cpulist(stray)}, but the board's {c.core} CPUs are "
                                 f"{format_cpulist(theirs)}; fix `cpus` in the profile")

    def with_topology(self, topology) -> "Board":
        """This board with architecture and clusters as probed (`bench.boards.topology.Topology`), keeping the
        profile's build settings (mcpu, dotprod) for core types it names."""
        mine = {c.core: c for c in self.clusters}
        merged = []
        for c in topology.clusters:
            p = mine.get(c.core)
            if p is not None:
                c = dataclasses.replace(c, mcpu=p.mcpu or c.mcpu, dotprod=p.dotprod or c.dotprod)
            merged.append(c)
        # A board that shows itself emulated (bench.boards.topology.emulation_evidence) is, whatever its profile says.
        return dataclasses.replace(self, arch=topology.arch, clusters=tuple(merged),
                                   emulated=self.emulated or bool(getattr(topology, "emulated", False)))


# ---------------------------------------------------------------------------------------------
# Reading profiles

def user_boards_file() -> Path:
    """The user's profile file (it need not exist)."""
    env = os.environ.get(USER_FILE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "bench" / "boards.toml"


def _read_toml(path: Path) -> dict:
    text = read_text(path, "boards file (TOML in UTF-8)", limit=2 ** 20)
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as e:
        raise UsageError(f"{path}: not valid TOML: {str(e)[:200] or 'nested too deeply'}") from None


def check_profile(table, where: str) -> dict:
    """A raw profile table checked against BOARD_SCHEMA and CLUSTER_SCHEMA (types and ranges), so
    nothing later coerces a wrong type: UsageError naming `where`, the key and what is accepted."""
    check_table(table, BOARD_SCHEMA, where)
    for i, cluster in enumerate(table.get("clusters", [])):
        check_table(cluster, CLUSTER_SCHEMA, f"{where} clusters[{i}]")
        if "core" not in cluster:
            raise UsageError(f"{where} clusters[{i}]: a cluster needs `core = \"a53\"` (a core name)")
        if isinstance(cluster.get("cpus"), str):
            parse_cpulist(cluster["cpus"])
    return table


def _parse_cluster(data: dict) -> Cluster:
    cpus = data.get("cpus", [])
    known = cores.core_type_by_name(data["core"])
    return Cluster(
        core=data["core"],
        cpus=parse_cpulist(cpus) if isinstance(cpus, str) else tuple(sorted(set(cpus))),
        max_khz=data.get("max_khz"),
        mcpu=data.get("mcpu", known.mcpu if known else None),
        dotprod=data.get("dotprod", False),
        capacity=data.get("capacity"),
    )


def _board_from_dict(name: str, data: dict, source: str, base_dir: Path | None) -> Board:
    """A Board from a profile table already checked by check_profile (types are right; what is
    left are the rules between keys)."""
    where = f"{source} [{name}]"
    transport = data.get("transport", "ssh" if data.get("host") else
                         "labgrid" if "place" in data or "tags" in data else "local")
    arch = data.get("arch")
    if transport == "ssh" and not data.get("host"):
        raise UsageError(f"{where}: transport 'ssh' needs `host` (an address or an ~/.ssh/config alias)")
    _check_labgrid_keys(data, transport, where)
    host, user, port = _address(data, where)
    paths = {}
    for k in _PATH_KEYS:
        if data.get(k):
            p = Path(os.path.expanduser(data[k]))
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p  # relative paths in a profile file are relative to that file
            paths[k] = str(p)
    clusters = tuple(sorted(
        (_parse_cluster(c) for c in data.get("clusters", [])), key=lambda c: (c.rank(), c.cpus)))
    emulated = data.get("emulated", transport == "emulated")
    exec_prefix = data.get("exec_prefix", "")
    if transport == "emulated" and not exec_prefix:
        raise UsageError(f"{where}: an emulated board needs exec_prefix, e.g. \"qemu-aarch64-static -cpu cortex-a53\"")
    return Board(
        name=name, transport=transport, host=host, port=port, user=user,
        arch=arch, exec_prefix=exec_prefix, emulated=emulated, clusters=clusters,
        kind=data.get("kind"), accept_new_host_key=data.get("accept_new_host_key", False),
        connect_timeout=float(data.get("connect_timeout", 15.0)), workdir=data.get("workdir"),
        description=data.get("description", ""), probe_clusters=data.get("probe_clusters", False),
        place=data.get("place"), tags=tuple(sorted(data.get("tags", {}).items())), coordinator=data.get("coordinator"),
        acquire_timeout=float(data.get("acquire_timeout", ACQUIRE_TIMEOUT_S)), source=source, **paths,
    )


def _check_labgrid_keys(data: dict, transport: str, where: str) -> None:
    """A labgrid board names a place or tags (not both, and no `host`: the place gives the address);
    other boards have none of the labgrid keys."""
    keys = [k for k in ("place", "tags", "coordinator", "acquire_timeout") if k in data]
    if transport != "labgrid":
        if keys:
            raise UsageError(f"{where}: {', '.join(keys)} go with transport = \"labgrid\", not {transport!r}")
        return
    if ("place" in data) == ("tags" in data):
        raise UsageError(f"{where}: transport 'labgrid' needs either `place` (a place's name) or `tags` "
                         f"(e.g. tags = {{ soc = \"rk3399\" }}), not {'both' if 'place' in data else 'neither'}")
    if "host" in data or "port" in data:
        raise UsageError(f"{where}: a labgrid board takes its address from its place's NetworkService; "
                         f"remove {' and '.join(f'`{k}`' for k in ('host', 'port') if k in data)}")


def labgrid_selector(spec: str) -> Board:
    """`labgrid:TAG=VALUE[,TAG=VALUE]` (from --board) as an ad-hoc labgrid board: every place with
    these tags in a farm, one of them for a command about one board (`name=PLACE`: that place)."""
    pairs = [p.partition("=") for p in spec[len(LABGRID):].split(",")]
    tags = {k: v for k, _, v in pairs}
    if not all(sep for _, sep, _ in pairs) or len(tags) != len(pairs) or not check_labgrid_tags(tags):
        raise UsageError(f"bad --board {shown(spec)}; expected labgrid:TAG=VALUE[,TAG=VALUE...] with tags of "
                         f"a-z, 0-9 and _ (e.g. labgrid:soc=rk3399, or labgrid:name=PLACE for one place)")
    return Board(name=spec, transport="labgrid", tags=tuple(sorted(tags.items())), source="--board")


def check_labgrid_tags(tags: dict) -> bool:
    return BOARD_SCHEMA["tags"][0](tags)
def _address(data: dict, where: str) -> tuple[str | None, str | None, int | None]:
    """(host, user, port) of a profile: `host` may carry the user and port, but not twice."""
    if not data.get("host"):
        return None, data.get("user"), data.get("port")
    user, host, port = parse_address(data["host"], f"host in {where}")
    for key, mine in (("user", user), ("port", port)):
        if mine is not None and data.get(key) is not None:
            raise UsageError(f"{where}: host {shown(data['host'])} gives the {key} and `{key}` gives it "
                             f"again; give it once")
    return host, user or data.get("user"), port or data.get("port")


def _raw_profiles() -> tuple[dict[str, tuple[dict, str, Path | None]], dict[str, list[str]]]:
    """name -> (raw table, source, base dir), and the groups; user entries override shipped ones."""
    raw: dict[str, tuple[dict, str, Path | None]] = {}
    for path in sorted(SHIPPED_DIR.glob("*.toml")):
        raw[path.stem] = (check_profile(_read_toml(path), str(path)), str(path), path.parent)
    groups: dict[str, list[str]] = {}
    user = user_boards_file()
    if user.exists() and not user.is_file():
        raise UsageError(f"{user}: not a file; the boards file (${USER_FILE_ENV}, else "
                         f"~/.config/bench/boards.toml) must be a TOML file or absent")
    if user.is_file():
        doc = check_table(_read_toml(user), USER_FILE_SCHEMA, str(user))
        for name, table in doc.get("boards", {}).items():
            _check_name(name, user, "board")
            raw[name] = (check_profile(table, f"{user} [boards.{name}]"), str(user), user.parent)
        for gname, members in doc.get("groups", {}).items():
            _check_name(gname, user, "group")
            if not (isinstance(members, list) and all(isinstance(m, str) for m in members) and members):
                raise UsageError(f"{user}: groups.{gname} must be a non-empty list of board names, got {shown(members)}")
            groups[gname] = members
    return raw, groups


def _check_name(name: str, path: Path, what: str) -> None:
    if not NAME.fullmatch(name):
        raise UsageError(f"{path}: bad {what} name {shown(name)}; use {NAME_RULE}")


USER_FILE_SCHEMA = {
    "default": ((lambda v: isinstance(v, str) and bool(NAME.fullmatch(v))), "a board name, e.g. \"hikey960\""),
    "boards": ((lambda v: isinstance(v, dict)), "a table of [boards.NAME] tables"),
    "groups": ((lambda v: isinstance(v, dict)), "a table of NAME = [\"board\", ...] lists"),
}


def _resolve_base(name: str, raw: dict) -> dict:
    """The profile's table with its `base` chain merged in (nearest wins); a cycle or a chain
    longer than MAX_BASE_DEPTH is refused in one line."""
    chain = [name]
    while "base" in raw[chain[-1]][0]:
        table, source, _ = raw[chain[-1]]
        base = table["base"]
        if base in chain:
            raise UsageError(f"{source}: profile {chain[-1]!r} inherits from itself through 'base'")
        if base not in raw:
            raise choice_error(f"base board for {chain[-1]!r}:", base, sorted(raw))
        if len(chain) > MAX_BASE_DEPTH:
            raise UsageError(f"{source}: profile {name!r} has a 'base' chain longer than {MAX_BASE_DEPTH}")
        chain.append(base)
    merged: dict = {}
    for i, n in enumerate(reversed(chain)):
        table = raw[n][0]
        if i:
            merged.pop("description", None)
        if "place" in table or "tags" in table or table.get("transport") == "labgrid":
            for key in ("transport", "host", "port", "user"):
                merged.pop(key, None)   # a labgrid place gives the address: `base` lends the board's build settings
        merged.update({k: v for k, v in table.items() if k != "base"})
    return merged


def _build(name: str, raw: dict) -> Board:
    _, source, base_dir = raw[name]
    board = _board_from_dict(name, _resolve_base(name, raw), source, base_dir)
    if board.probe_clusters:
        board = _with_local_topology(board)
    return board


def _with_local_topology(board: Board) -> Board:
    # The `local` board is whatever machine this is: read its sysfs now (cheap, no transport needed).
    return board.with_topology(read_topology("/"))


def list_boards() -> list[Board]:
    """Every known profile (shipped and the user's), sorted by name."""
    raw, _ = _raw_profiles()
    return [_build(n, raw) for n in sorted(raw)]


def list_groups() -> dict[str, list[str]]:
    """The user's board groups: name -> board names."""
    return _raw_profiles()[1]


def parse_ssh_host(spec: str) -> tuple[str | None, str, int | None]:
    """`user@addr[:port]` (IPv6 as `[::1]:22`) -> (user, host, port); see schema.parse_address."""
    return parse_address(spec, "--host")


def load_board(name: str | None = None, ssh_host: str | None = None) -> Board:
    """The board called `name` (None: the default board, see `default_board`), reached at `ssh_host` (`user@addr[:port]`, from --host) if given.

    `ssh_host` alone gives an ad-hoc ssh board named after it, with no clusters until probed
    (`Board.with_topology`). Raises UsageError for an unknown name, listing the known ones.
    """
    raw, _ = _raw_profiles()
    if ssh_host is not None:
        user, addr, port = parse_ssh_host(ssh_host)
        if name is None:
            return Board(name=ssh_host, transport="ssh", host=addr, user=user, port=port, source="--host")
        board = load_board(name)
        if board.transport == "labgrid":
            raise UsageError(f"--host does not go with board {name!r}: a labgrid board's address is its place's")
        transport = "ssh" if board.transport in ("local", "emulated") else board.transport
        # The profile's topology stays (e.g. hikey960 at a new address); a `local` board probed
        # here describes this machine, not the remote one, so its clusters are dropped.
        clusters = () if board.probe_clusters else board.clusters
        arch = None if board.probe_clusters else board.arch
        return dataclasses.replace(board, transport=transport, host=addr, user=user or board.user,
                                   port=port or board.port, clusters=clusters, arch=arch, probe_clusters=False,
                                   source=f"--host on {board.source}")
    if name is None:
        name, where = default_board()
        if name.startswith(LABGRID):
            return labgrid_selector(name)
        if name not in raw:
            raise UsageError(f"unknown default board {name!r} (from {where}); accepted: {', '.join(sorted(raw))}")
    if name.startswith(LABGRID) and name not in raw:
        return labgrid_selector(name)
    if name not in raw:
        raise choice_error("board", name, sorted(raw))
    return _build(name, raw)


def board_hint(board: Board) -> str:
    """For a message about this machine's cores: how to point at a board instead ("" for other boards)."""
    if board.transport != "local":
        return ""
    return (f"; {board.name!r} is this machine: to measure on a board, name it with --board NAME (see "
            f"bench boards) or make it the default: default = \"NAME\" at the top of {user_boards_file()}, "
            f"or ${DEFAULT_ENV}=NAME")


def address_setting(board: Board) -> str:
    """Which setting holds a board's address, and how to change it (for connection failures)."""
    try:
        default, where = default_board()
    except UsageError:  # a bad default entry has its own message when it is used
        default, where = None, ""
    chosen = f"{board.name!r} is the default board ({where}); " if board.name == default else ""
    if board.source.startswith("--host"):
        return f"{chosen}the address came from --host"
    if board.source.startswith(str(SHIPPED_DIR)):
        return (f"{chosen}the address {board.host!r} is the shipped profile's ({board.source}): give yours with "
                f"--host USER@ADDR, or as host = \"USER@ADDR\" under [boards.{board.name}] (with base = "
                f"\"{board.name}\") in {user_boards_file()}")
    return f"{chosen}the address is host = {board.host!r} under [boards.{board.name}] in {board.source}"


def default_board() -> tuple[str, str]:
    """(name, where it came from) of the board used when none is named: `$BENCH_BOARD`, else
    `default = "NAME"` at the top of the user's file, else `local`."""
    env = os.environ.get(DEFAULT_ENV)
    if env:
        return env, f"${DEFAULT_ENV}"
    user = user_boards_file()
    if user.is_file():
        value = _read_toml(user).get("default")
        if value is not None:
            if not isinstance(value, str) or not value:
                raise UsageError(f"{user}: bad default {value!r}; expected default = \"NAME\" (a board name)")
            return value, f"default in {user}"
    return "local", "built in"


def load_boards(names, ssh_host: str | None = None) -> list[Board]:
    """Boards for a farm: each name may be a board or a group of the user's file; duplicates dropped.
    With `ssh_host` (--host): no names gives the ad-hoc board at that address, one name that profile
    there; one address for several boards is refused."""
    names = list(names)
    if ssh_host is not None:
        if len(names) > 1:
            raise UsageError(f"--host names one board, but {len(names)} boards were given: {', '.join(names)}")
        return [load_board(names[0] if names else None, ssh_host)]
    raw, groups = _raw_profiles()
    out: list[Board] = []
    seen: set[str] = set()
    for n in names:
        members = groups.get(n, [n]) if n not in raw else [n]
        for m in members:
            if m not in seen:
                seen.add(m)
                if m not in raw and not m.startswith(LABGRID):
                    raise choice_error("board", m, sorted(raw) + sorted(groups))
                out.append(load_board(m))
    return out


# ---------------------------------------------------------------------------------------------

def check_core_arg(core_arg: str | None) -> None:
    """UsageError for an empty --core or an empty item in its list (`--core ''`, `--core a53,`)."""
    if core_arg is not None and not all(a.strip() for a in core_arg.split(",")):
        raise UsageError(f"empty core in --core {core_arg!r}; accepted: a core name, {', '.join(SELECTORS)}")


def resolve_core(board: Board, core_arg: str | None) -> list[Cluster]:
    """The clusters `core_arg` selects on `board`, little to big.

    core_arg: a core name the board has (`a53`, `a73`, `host`, ...; `a53@4-7` for one of two
    clusters of one core type, see `bench.boards.cpus.label`), `big` (the highest-capacity /
    fastest cluster), `little` (the lowest), `all` or None (every cluster), or a comma-separated list
    of these. Raises UsageError naming the bad value and what the board has.
    """
    check_core_arg(core_arg)
    if not board.clusters:
        how = f"--host {board.name}" if board.source == "--host" else f"--board {board.name}"
        raise UsageError(f"board {board.name!r} lists no clusters yet; probe it first "
                         f"(bench.boards.probe.probe_board, or: bench probe {how} --save NAME)")
    ordered = sorted(board.clusters, key=lambda c: (c.rank(), c.cpus))
    labels = {c: label(c, ordered) for c in ordered}
    names = list(dict.fromkeys(c.core for c in ordered)) + [v for v in labels.values() if "@" in v]
    picked: list[Cluster] = []
    for arg in (core_arg or "all").split(","):
        arg = arg.strip().lower()
        if arg == "all":
            sel = ordered
        elif arg == "big":
            sel = [c for c in ordered if c.rank() == ordered[-1].rank()]
        elif arg == "little":
            sel = [c for c in ordered if c.rank() == ordered[0].rank()]
        else:
            sel = [c for c in ordered if arg in (c.core, labels[c])]
            if not sel:
                has = ", ".join(c.describe() for c in ordered)
                raise UsageError(f"board {board.name!r} has no core {arg!r}; it has {has}; "
                                 f"accepted: {', '.join(names + list(SELECTORS))}{board_hint(board)}")
        picked.extend(c for c in sel if c not in picked)
    return picked


# ---------------------------------------------------------------------------------------------
# Writing the user's file (bench probe --save)

def board_to_table(board: Board) -> dict:
    """The profile table of `board` as written to the user's file."""
    t = {
        "description": board.description or None,
        "transport": board.transport,
        "host": board.host, "port": board.port, "user": board.user,
        "identity": board.identity, "ssh_config": board.ssh_config, "known_hosts": board.known_hosts,
        "accept_new_host_key": board.accept_new_host_key or None,
        "workdir": board.workdir, "arch": board.arch,
        "exec_prefix": board.exec_prefix or None, "emulated": board.emulated or None,
        "kind": board.kind,
        "place": board.place, "tags": dict(board.tags) or None, "coordinator": board.coordinator,
        "acquire_timeout": board.acquire_timeout if board.acquire_timeout != ACQUIRE_TIMEOUT_S else None,
        "clusters": [
            {"core": c.core, "cpus": list(c.cpus) or None, "max_khz": c.max_khz, "mcpu": c.mcpu,
             "dotprod": c.dotprod or None, "capacity": c.capacity}
            for c in board.clusters
        ],
    }
    if not t["clusters"]:
        del t["clusters"]
    return {k: v for k, v in t.items() if v is not None}


def check_save_name(name: str) -> str:
    """A board name `save_board` can write (what --board accepts back), not a shipped profile's
    (saving would hide it: `local` would stop describing this machine)."""
    check_name(name, "board")
    if (SHIPPED_DIR / f"{name}.toml").is_file():
        raise UsageError(f"board name {name!r} is a shipped profile ({SHIPPED_DIR / (name + '.toml')}); "
                         f"save under another name")
    return name


def save_board(board: Board, name: str | None = None, path: Path | None = None) -> Path:
    """Write `board` as `[boards.NAME]` into the user's file (replacing an entry of that name).
    tomlkit edits the file in place, so the user's comments and layout survive."""
    import tomlkit

    name = check_save_name(board.name if name is None else name)
    if board.host is not None:
        check_host(board.host, board.user, f"board {name!r}")
    path = path or user_boards_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = _user_document(path)
    if "boards" not in doc:
        doc["boards"] = tomlkit.table(is_super_table=True)
    doc["boards"][name] = without_none(board_to_table(board))
    with replacing(path) as tmp:  # the user's file is never left half-written
        tmp.write_text(tomlkit.dumps(doc))
    return path


def without_none(value):
    """TOML has no null: drop None values from nested tables and lists of tables."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def remove_board(name: str, path: Path | None = None) -> bool:
    """Remove `[boards.NAME]` from the user's file (comments and the rest survive); True if it was there."""
    import tomlkit

    path = path or user_boards_file()
    if not path.is_file():
        return False
    doc = _user_document(path)
    if name not in doc.get("boards", {}):
        return False
    del doc["boards"][name]
    with replacing(path) as tmp:
        tmp.write_text(tomlkit.dumps(doc))
    return True


def _user_document(path: Path):
    """The user's boards file as a tomlkit document (an empty one when it does not exist)."""
    import tomlkit

    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(read_text(path, "boards file (TOML in UTF-8)", limit=2 ** 20))
    except (tomlkit.exceptions.ParseError, RecursionError) as e:
        raise UsageError(f"{path}: not valid TOML ({str(e)[:200]}); fix or move it before saving a board") from None
