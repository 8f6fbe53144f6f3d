"""The bad-input table: inputs a careless or hostile user gives `bench`, each with the exit
code it must get (2 bad input, 1 an environment error) and a word its one-line message must hold.

Shared by tests/cli/test_bad_inputs.py and scripts/bad_inputs.py. Each case runs
`bench.cli.main.main` in-process in a fresh directory D (`{d}` in argv, env and file names) holding
the case's files (and symlinks and FIFOs), with $BENCH_BOARDS_FILE at D/boards.toml and
$XDG_CACHE_HOME at D/cache. `problems` lists what is wrong with an answer: not one line, a traceback
or internal error, the wrong exit code, the word missing, or any file under D changed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BadInput:
    kind: str                      # the kinds: security, traceback, limits, leniency, resources, ...
    name: str
    argv: list[str]
    code: int                      # expected exit code
    word: str = ""                 # must appear in the message (case-insensitive): the bad value or path
    files: dict = field(default_factory=dict)   # name under D -> str or bytes
    mount: str = ""                # "ro" or "full": a tmpfs at D/mnt, read-only or with no space left
    boards_file: str = "{d}/boards.toml"   # $BENCH_BOARDS_FILE
    links: dict = field(default_factory=dict)   # name under D -> symlink target ({d} allowed)
    fifos: tuple = ()              # names under D made FIFOs (nothing ever writes to them)

    @property
    def command(self) -> str:
        return "bench " + " ".join(self.argv)


# ---------------------------------------------------------------------------------------------
# Board profiles (`bench boards` reads and checks every profile)

BOOL_BAD = ['"false"', '"true"', "0", "1", '"no"', "[]", "1.0", "{}"]
BOARD_KEYS_BAD = {
    "port": ['"22"', "0", "65536", "-1", "22.0", "true", "[22]", "99999999999999999999"],
    "connect_timeout": ['"15"', "0", "-1", "nan", "inf", "true", "1e9", "[15]"],
    "host": ['["root"]', "5", "true", '"a b"', '""', '"x\\ny"'],
    "user": ['["root"]', "0", '"ro ot"', '""', "false"],
    "description": ["5", '["a"]', '"a\\u0000b"', "{a = 1}"],
    "kind": ['"a b"', "5", '"k;rm -rf"'],
    "workdir": ["5", '["/tmp"]'], "identity": ["5", "true"], "known_hosts": ["5"], "ssh_config": ["[]"],
    "exec_prefix": ["5", '["qemu-aarch64-static"]'],
    "transport": ['"telnet"', "5", '"SSH"'], "arch": ['"arm64"', "64"],
    "base": ["5", '["hikey960"]', '"nothere"', '"broken"'],
    "place": ["5", '""', '"a b"', '["p"]'],
    "tags": ['"soc=x"', "{}", '{ Soc = "x" }', '{ soc = 5 }', '{ soc = "a,b" }', '{ s = "x" }', "[1]"],
    "coordinator": ['"a b"', "5", '"h:0"', '"h:99999"', '"h:p"', '"http://h"'],
    "acquire_timeout": ['"60"', "0", "-1", "nan", "inf", "true", "1e9"],
}
CLUSTER_KEYS_BAD = {
    "max_khz": ['"1800000"', "0", "-5", "1.5e6", "true", "20000000"],
    "capacity": ['"1024"', "0", "2048", "true", "1.0"],
    "mcpu": ['"cortex-a53 -O0"', "5"], "core": ["5", '""', '"a 53"'],
    "cpus": ['"0-99999999"', '"4096"', '"3-1"', '"a-b"', '"\u0663"', '"1e3"', '"-1"', "[-1]", "[4096]",
             "[true]", '["0"]', "5", '"' + "9" * 5000 + '"', "[0.5]", '"0--3"', '"0-3-5"'],
}


def _board_case(kind, name, body, word, argv=("boards",), code=2):
    return BadInput(kind, name, list(argv), code, word, {"boards.toml": body})


def board_cases() -> list[BadInput]:
    cases = []
    for key in ("accept_new_host_key", "emulated", "probe_clusters"):
        for v in BOOL_BAD:
            cases.append(_board_case("security", f"{key} = {v}", f'[boards.broken]\nhost = "x"\n{key} = {v}\n', key))
    for v in BOOL_BAD:
        cases.append(_board_case("security", f"dotprod = {v}",
                                 f'[boards.broken]\nhost = "x"\n[[boards.broken.clusters]]\ncore = "a53"\ndotprod = {v}\n', "dotprod"))
    for key, values in BOARD_KEYS_BAD.items():
        for v in values:
            host = "" if key == "host" else 'host = "h"\n'
            cases.append(_board_case("traceback", f"{key} = {v[:30]}", f'[boards.broken]\n{host}{key} = {v}\n', key))
    for key, values in CLUSTER_KEYS_BAD.items():
        for v in values:
            kind = "resources" if v in ('"0-99999999"', '"' + "9" * 5000 + '"') else "traceback"
            core = "" if key == "core" else 'core = "a53"\n'
            cases.append(_board_case(kind, f"cluster {key} = {v[:30]}",
                                     f'[boards.broken]\nhost = "h"\n[[boards.broken.clusters]]\n{core}{key} = {v}\n',
                                     "cpu" if key == "cpus" else key))
    structure = [
        ("unknown key", '[boards.b]\nhost = "h"\ncolour = "red"\n', "colour"),
        ("unknown cluster key", '[boards.b]\nhost = "h"\n[[boards.b.clusters]]\ncore = "a53"\nspeed = 1\n', "speed"),
        ("clusters = 5", '[boards.b]\nhost = "h"\nclusters = 5\n', "clusters"),
        ("clusters = [\"a\"]", '[boards.b]\nhost = "h"\nclusters = ["a"]\n', "clusters"),
        ("cluster without core", '[boards.b]\nhost = "h"\n[[boards.b.clusters]]\ncpus = [0]\n', "core"),
        ("boards = 5", "boards = 5\n", "boards"),
        ("boards.x = 5", "[boards]\nx = 5\n", "boards.x"),
        ("groups = 5", "groups = 5\n", "groups"),
        ("empty group", "[groups]\ng = []\n", "groups.g"),
        ("group is a string", '[groups]\ng = "local"\n', "groups.g"),
        ("group of numbers", "[groups]\ng = [1]\n", "groups.g"),
        ("unknown top-level table", "[bords.x]\nhost = \"h\"\n", "bords"),
        ("unknown top-level key", "verbose = true\n", "verbose"),
        ("TOML syntax error", "[boards.b\nhost = \"h\"\n", "TOML"),
        ("duplicate key", '[boards.b]\nhost = "h"\nhost = "i"\n', "TOML"),
        ("ssh without host", '[boards.b]\ntransport = "ssh"\n', "host"),
        ("emulated without exec_prefix", '[boards.b]\ntransport = "emulated"\n', "exec_prefix"),
        ("base cycle", '[boards.a]\nbase = "b"\n[boards.b]\nbase = "a"\n', "base"),
        ("labgrid without place or tags", '[boards.b]\ntransport = "labgrid"\n', "place"),
        ("labgrid with place and tags", '[boards.b]\nplace = "p"\ntags = { soc = "x" }\n', "both"),
        ("labgrid with a host", '[boards.b]\ntransport = "labgrid"\nplace = "p"\nhost = "h"\n', "host"),
        ("a place on an ssh board", '[boards.b]\nhost = "h"\nplace = "p"\n', "place"),
        ("labgrid with a port", '[boards.b]\nplace = "p"\nport = 22\n', "port"),
    ]
    cases += [_board_case("traceback", n, body, w) for n, body, w in structure]
    encodings = [
        ("latin-1 boards file", '[boards.b]\nhost = "h"\ndescription = "caf\u00e9"\n'.encode("latin-1"), "UTF-8"),
        ("UTF-16 boards file", '[boards.b]\nhost = "h"\n'.encode("utf-16"), "UTF-8"),
        ("binary boards file", bytes(range(256)) * 4, "UTF-8"),
        ("NUL in boards file", b'[boards.b]\nhost = "h\x00"\n', "TOML"),
    ]
    cases += [_board_case("traceback", n, body, w) for n, body, w in encodings]
    # Other commands refuse the same file before doing anything.
    bad = '[boards.broken]\nhost = "x"\naccept_new_host_key = "false"\n'
    for argv in (["run", "--board", "broken", "--res", "8", "--channels", "4"], ["probe", "--board", "broken"],
                 ["verify", "--board", "broken"], ["run", "--board", "local", "--res", "8", "--channels", "4"]):
        cases.append(_board_case("security", f"{argv[0]} with a string boolean", bad, "accept_new_host_key", argv))
    cases.append(_board_case("leniency", 'user = ["root"] via bench probe',
                             '[boards.broken]\nhost = "x"\nuser = ["root"]\n', "user", ["probe", "--board", "broken"]))
    tiny = '[boards.tiny]\ntransport = "local"\n[[boards.tiny.clusters]]\ncore = "host"\ncpus = "99"\n'
    cases.append(_board_case("leniency", 'cpus = "99" on this machine', tiny, "99",
                             ["run", "--board", "tiny", "--res", "4", "--channels", "4", "--algo", "im2row", "--bits", "32"]))
    save = ["probe", "--save", "mine"]
    cases += [
        BadInput("traceback", "probe --save, boards file under a file", save, 1, "afile", {"afile": "x"},
                 boards_file="{d}/afile/boards.toml"),
        BadInput("traceback", "probe --save, boards file on a read-only filesystem", save, 1, "read-only", mount="ro",
                 boards_file="{d}/mnt/boards.toml"),
        BadInput("traceback", "probe --save, boards file on a full disk", save, 1, "no space", mount="full",
                 boards_file="{d}/mnt/boards.toml"),
        BadInput("leniency", "boards file is a directory", ["boards"], 2, "not a file", {"cfg/x": ""},
                 boards_file="{d}/cfg"),
        BadInput("limits", "probe --save with a bad name", ["probe", "--save", "a b"], 2, "a b"),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Latency tables read by `bench lut` and `bench plot`

def good_results() -> dict[str, str]:
    """latency.csv and raw.json of a small real-shaped results directory (two ok cases, one failed)."""
    import tempfile

    from bench.measure.cases import Layer, expand
    from bench.measure.protocol import CaseRecord
    from bench.measure.results import ResultsDir, row_from_case

    stats = lambda v: {"median": v, "mean": v, "min": v * 0.9, "p10": v * 0.95, "p90": v * 1.1, "mad": 0.01}
    with tempfile.TemporaryDirectory() as tmp:
        results = ResultsDir.create(Path(tmp) / "r", resume=False).open_for_writing()
        run = results.start_run({"command": "bad_input_cases"})
        for i, case in enumerate(expand([Layer(8, 8, 16, 16)], ["im2row", "f2"], ["static"], [32])):
            line = CaseRecord.from_saved({"type": "case", "status": "ok", "board": "b", "core": "a73", "cpus": [4], "threads": 1,
                    "reps": 3, "total_ms": stats(1.0 + i), "input_ms": stats(0.2), "gemm_ms": stats(0.7 + i),
                    "output_ms": stats(0.1), "error": {"sqnr_db": 30.0, "max_abs": 0.1, "rel_l2": 0.03}})
            results.add(row_from_case(line, case, run), line)
        failed = expand([Layer(4, 4, 8, 8)], ["f4"], ["static"], [8])[0]
        line = CaseRecord.from_saved({"type": "case", "status": "error", "error_kind": "runtime", "message": "boom",
                                      "board": "b", "core": "a73", "cpus": [4]})
        results.add(row_from_case(line, failed, run), line)
        results.close()
        return {n: (results.path / n).read_text() for n in ("latency.csv", "raw.jsonl")}


def csv_with(text: str, column: str, value: str, row: int = 0) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[row][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_without(text: str, column: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[c for c in rows[0] if c != column], lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


JUNK_CELLS = [
    ("total_ms", "abc"), ("total_ms", "nan"), ("total_ms", "-1"), ("total_ms", "inf"), ("total_ms", "1_0"),
    ("total_ms", ""), ("gemm_ms", "fast"), ("h", "x"), ("h", "0"), ("h", "1e3"), ("h", "99999999999"),
    ("w", "-8"), ("cin", "16.0"), ("cout", " "), ("bits", "16"), ("bits", "eight"), ("threads", "-1"),
    ("threads", "0"), ("emulated", "maybe"), ("sqnr_db", "high"), ("reps", "1.5"), ("board", ""),
    ("algo", ""), ("status", ""), ("total_p90_ms", "slow"),
]


def table_cases(results: dict[str, str]) -> list[BadInput]:
    good_csv, good_raw = results["latency.csv"], results["raw.jsonl"]
    variants: list[tuple[str, str, dict, str]] = []   # kind, name, files, word
    for column, value in JUNK_CELLS:
        variants.append(("traceback", f"{column} = {value!r}",
                         {"r/latency.csv": csv_with(good_csv, column, value), "r/raw.jsonl": good_raw}, column))
    variants += [
        ("traceback", "missing column total_ms", {"r/latency.csv": csv_without(good_csv, "total_ms")}, "total_ms"),
        ("traceback", "empty latency.csv", {"r/latency.csv": ""}, "missing columns"),
        ("traceback", "binary latency.csv", {"r/latency.csv": bytes(range(256)) * 8}, "latency.csv"),
        ("traceback", "NUL bytes in latency.csv", {"r/latency.csv": good_csv.replace("a73", "a\x0073")}, "NUL"),
        ("traceback", "latin-1 latency.csv", {"r/latency.csv": good_csv.replace("b,a73", "caf\u00e9,a73").encode("latin-1")}, "UTF-8"),
        ("traceback", "UTF-16 latency.csv", {"r/latency.csv": good_csv.encode("utf-16")}, "UTF-8"),
        ("traceback", "huge field", {"r/latency.csv": good_csv + "x" * 200_000 + "\n"}, "latency.csv"),
        ("traceback", "raw.jsonl not JSON", {"r/latency.csv": good_csv, "r/raw.jsonl": "{nope\n" + good_raw}, "raw.jsonl"),
        ("traceback", "raw.jsonl not UTF-8", {"r/latency.csv": good_csv, "r/raw.jsonl": b'{"tool": "\xff"}\n'}, "raw.jsonl"),
        ("traceback", "raw.jsonl NUL bytes", {"r/latency.csv": good_csv, "r/raw.jsonl": "\0" + good_raw}, "raw.jsonl"),
        ("traceback", "raw.jsonl deeply nested", {"r/latency.csv": good_csv, "r/raw.jsonl": "[" * 100_000 + "\n{}\n"}, "raw.jsonl"),
        ("traceback", "raw.jsonl huge integer", {"r/latency.csv": good_csv, "r/raw.jsonl": "9" * 5000 + "\n{}\n"}, "raw.jsonl"),
        ("traceback", "raw.jsonl a list", {"r/latency.csv": good_csv, "r/raw.jsonl": "[]\n{}\n"}, "raw.jsonl"),
        ("traceback", "raw.jsonl of another tool", {"r/latency.csv": good_csv, "r/raw.jsonl": '{"tool": "x"}\n{}\n'}, "raw.jsonl"),
        ("traceback", "raw.jsonl schema 1", {"r/latency.csv": good_csv,
                                             "r/raw.jsonl": good_raw.replace('"schema_version":2', '"schema_version":1')}, "schema_version"),
        ("traceback", "only failed rows", {"r/latency.csv": csv_with(csv_with(good_csv, "status", "error"), "status", "error", 1)}, "no successful"),
        ("traceback", "not a results directory", {"r/notes.txt": "hello"}, "not a winobench results directory"),
    ]
    cases = []
    for command in ("lut", "plot"):
        for kind, name, files, word in variants:
            cases.append(BadInput(kind, f"{command}: {name}", [command, "{d}/r"], 2, word, files))
        ok = {"r/latency.csv": good_csv, "r/raw.jsonl": good_raw, "afile": "x"}
        cases += [
            BadInput("traceback", f"{command}: --out is a file", [command, "{d}/r", "--out", "{d}/afile"], 2, "afile", ok),
            BadInput("traceback", f"{command}: --out under a file", [command, "{d}/r", "--out", "{d}/afile/x"], 1, "not a directory", ok),
            BadInput("traceback", f"{command}: --out under /proc", [command, "{d}/r", "--out", "/proc/winobench/x"], 1, "/proc/winobench", ok),
            BadInput("traceback", f"{command}: --out on a read-only filesystem", [command, "{d}/r", "--out", "{d}/mnt/o"], 1, "read-only", ok, "ro"),
            BadInput("traceback", f"{command}: --out on a full disk", [command, "{d}/r", "--out", "{d}/mnt"], 1, "no space", ok, "full"),
            BadInput("traceback", f"{command}: results on a read-only filesystem", [command, "{d}/mnt"], 1, "read-only", {}, "ro-results"),
            BadInput("traceback", f"{command}: latency.csv is a directory", [command, "{d}/r"], 1, "latency.csv", {"r/latency.csv/x": ""}),
            BadInput("traceback", f"{command}: missing results directory", [command, "{d}/nothere"], 2, "nothere"),
        ]
    resume = ["run", "--res", "4", "--channels", "4", "--algo", "im2row", "--bits", "32", "--resume", "--out", "{d}/r"]
    for kind, name, files, word in variants:
        if name not in ("only failed rows", "not a results directory"):  # those are resumed or started
            word = "holds no results" if name == "empty latency.csv" else word   # a 0-byte table is no table
            cases.append(BadInput(kind, f"run --resume: {name}", resume, 2, word, files))
    return cases


# ---------------------------------------------------------------------------------------------
# Command-line options

def cli_cases() -> list[BadInput]:
    run = ["run", "--res", "8", "--channels", "4"]
    rows = [
        ("argv", ["nothing"], 2, "nothing"), ("argv", ["run", "--colour"], 2, "--colour"), ("argv", [], 2, "command"),
        ("argv", ["run", "--threads", "x"], 2, "--threads"), ("argv", ["run", "--reps", "1.5"], 2, "--reps"),
        ("argv", ["lut"], 2, "results"), ("argv", ["transforms", "show", "--m", "x"], 2, "--m"),
        ("argv", ["hostbench", "--cpu", "x"], 2, "--cpu"), ("argv", ["hostbench", "--min-time-ms", "fast"], 2, "--min-time-ms"),
        ("limits", run + ["--bits", "7"], 2, "7"), ("limits", run + ["--bits", "x"], 2, "x"),
        ("limits", run + ["--algo", "f3"], 2, "f3"), ("limits", run + ["--algo", ""], 2, "algo"),
        ("limits", ["run", "--res", "0", "--channels", "4"], 2, "0"), ("limits", ["run", "--res", "99999", "--channels", "4"], 2, "99999"),
        ("limits", ["run", "--res", "8", "--channels", "-4"], 2, "-4"), ("limits", ["run", "--res", "8", "--channels", "x"], 2, "x"),
        ("limits", ["run", "--res", "8"], 2, "--channels"), ("limits", ["run", "--preset", "resnet50"], 2, "resnet50"),
        ("limits", ["run", "--preset", "quick", "--res", "8"], 2, "--preset"), ("limits", ["run", "--width", "0.75"], 2, "0.75"),
        ("limits", run + ["--threads", "0"], 2, "--threads"), ("limits", run + ["--reps", "0"], 2, "--reps"),
        ("limits", run + ["--reps", "-5"], 2, "--reps"), ("limits", run + ["--min-time-ms", "-1"], 2, "min"),
        ("limits", run + ["--resume"], 2, "--resume"), ("limits", run + ["--core", "a99"], 2, "a99"),
        ("limits", run + ["--board", "nothere"], 2, "nothere"), ("limits", run + ["--host", "bad host"], 2, "bad host"),
        ("limits", run + ["--host", "root@h:99999"], 2, "99999"), ("limits", run + ["--host", "root@h", "--board", "a", "--board", "b"], 2, "--host"),
        ("limits", run + ["--transform", "{d}/missing.json"], 2, "missing.json"),
        ("limits", ["verify", "--bits", "16"], 2, "16"), ("limits", ["verify", "--algo", "f8"], 2, "f8"),
        ("limits", ["verify", "--res", "8,x"], 2, "x"), ("limits", ["probe", "--board", "nothere"], 2, "nothere"),
        ("limits", ["probe", "--host", "@@@"], 2, "@@@"), ("limits", ["hostbench", "--bits", "16"], 2, "16"),
        ("limits", ["hostbench", "--runs", "0"], 2, "--runs"), ("limits", ["hostbench", "--runs", "100000"], 2, "--runs"),
        ("limits", ["hostbench", "--cpu", "99"], 2, "--cpu 99"), ("limits", ["hostbench", "--cpu", "-1"], 2, "--cpu -1"),
        ("limits", ["hostbench", "--cpu", "4096"], 2, "--cpu 4096"),
        ("limits", ["hostbench", "--min-time-ms", "nan"], 2, "nan"), ("limits", ["hostbench", "--min-time-ms", "inf"], 2, "inf"),
        ("limits", ["hostbench", "--min-time-ms", "1e308"], 2, "--min-time-ms"), ("limits", ["hostbench", "--min-time-ms", "-1"], 2, "-1"),
        ("limits", ["hostbench", "--json", "{d}"], 2, "--json"), ("limits", ["hostbench", "--json", "{d}/no/dir/x.json"], 2, "--json"),
        ("limits", ["hostbench", "--json", "/dev/full"], 2, "/dev/full"), ("limits", ["transforms", "show", "--r", "0"], 2, "r"),
        ("limits", ["transforms", "show", "--points", "0,1,x"], 2, "x"),
        ("work before check", run + ["--threads", "99"], 2, "--threads"),
        ("limits", run + ["--reps", "2000000000"], 2, "2000000000"),
        ("leniency", run + ["--resume", "--out", "{d}/nothere"], 2, "nothere"),
        ("limits", run + ["--scheme", "x"], 2, "x"), ("limits", run + ["--case-timeout", "-1"], 2, "-1"),
        ("limits", run + ["--case-timeout", "nan"], 2, "nan"), ("limits", run + ["--case-timeout", "inf"], 2, "inf"),
        ("limits", run + ["--board", "labgrid:"], 2, "labgrid:"), ("limits", run + ["--board", "labgrid:soc"], 2, "labgrid:soc"),
        ("limits", run + ["--board", "labgrid:Soc=x"], 2, "Soc"), ("limits", run + ["--board", "labgrid:soc=x,soc=y"], 2, "soc=y"),
        ("limits", run + ["--board", "labgrid:soc=x", "--coordinator", "a b"], 2, "a b"),
        ("limits", run + ["--board", "labgrid:soc=x", "--coordinator", "h:99999"], 2, "99999"),
        ("limits", run + ["--board", "labgrid:soc=x", "--acquire-timeout", "0"], 2, "--acquire-timeout"),
        ("limits", run + ["--board", "labgrid:soc=x", "--acquire-timeout", "nan"], 2, "nan"),
        ("leniency", run + ["--coordinator", "h"], 2, "--coordinator"),
        ("leniency", run + ["--board", "labgrid:soc=x", "--host", "root@h"], 2, "--host"),
        ("leniency", ["boards", "--coordinator", "h"], 2, "--labgrid"),
        ("limits", ["boards", "--labgrid", "--coordinator", "a b"], 2, "a b"),
    ]
    cases = [BadInput(kind, " ".join(argv) or "(no arguments)", argv, code, word) for kind, argv, code, word in rows]
    export = ["transforms", "export", "--m", "4", "--out"]
    cases += [
        BadInput("traceback", "export --out under a file", export + ["{d}/afile/t.json"], 1, "not a directory", {"afile": "x"}),
        BadInput("traceback", "export --out under /proc", export + ["/proc/winobench/t.json"], 1, "/proc/winobench"),
        BadInput("traceback", "export --out a directory", export + ["{d}/sub.json"], 2, "not a regular file", {"sub.json/x": ""}),
        BadInput("limits", "export --out with another suffix", export + ["{d}/t.csv"], 2, ".csv"),
        BadInput("traceback", "export --out on a read-only filesystem", export + ["{d}/mnt/t.json"], 1, "read-only", mount="ro"),
        BadInput("traceback", "export .json on a full disk", export + ["{d}/mnt/t.json"], 1, "no space", mount="full"),
        BadInput("traceback", "export .npz on a full disk", export + ["{d}/mnt/t.npz"], 1, "no space", mount="full"),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Names that become paths, hosts that could reach a shell, files that are not regular files,
# numbers that are not whole, and the rest of the second hostile review

HOSTILE_HOSTS = ["root@x;touch${IFS}{d}/pwned;true", "x$(touch {d}/pwned)", "x`touch {d}/pwned`", "-oProxyCommand=x",
                 "x|y", "x&y", "x y", "x\ny", "h:22:33:x", "r;oot@h", "-l@h", "[::1", "user@", "h:0"]
VM_NAMES = ["..", "../../../victim", ".", "", "a/b", ".hidden", "-x", "x" * 200, "a\nb", "~"]


def name_cases() -> list[BadInput]:
    cases = []
    for verb in ("down", "up", "prepare", "restore", "clean"):
        for name in VM_NAMES:
            cases.append(BadInput("security", f"board {verb} {name[:20]!r}", ["board", verb, name], 2,
                                  "board" if verb in ("prepare", "restore", "clean") else "name",
                                  {"victim/precious": "x", "cache/winobench/images/i/x": "image"}))
    mine = {"cache/winobench/vms/mine/precious": "x"}
    cases += [
        BadInput("security", "board down of a directory winobench did not make", ["board", "down", "mine"], 2,
                 "refusing", mine),
        BadInput("security", "board down of a symlinked VM directory", ["board", "down", "mine"], 2, "refusing",
                 {"victim/precious": "x"}, links={"cache/winobench/vms/mine": "{d}/victim"}),
        BadInput("security", "board up over a directory winobench did not make", ["board", "up", "mine"], 2,
                 "refusing", mine),
    ]
    for name in ("", "local", "hikey960", "../x", ".x", "a b", "a/b"):
        cases.append(BadInput("security", f"probe --save {name!r}", ["probe", "--save", name], 2,
                              "shipped" if name in ("local", "hikey960") else "name"))
    return cases


def host_cases() -> list[BadInput]:
    cases = []
    for host in HOSTILE_HOSTS:
        for argv in (["probe", "--host", host], ["run", "--host", host, "--res", "4", "--channels", "4"],
                     ["probe", "--board", "hikey960", "--host", host]):
            cases.append(BadInput("security", f"{argv[0]} --host {host[:30]!r}{' on a profile' if '--board' in argv else ''}",
                                  argv, 2, "--host"))
    profile_hosts = ["x;touch /tmp/p", "$(id)", "`id`", "-oProxyCommand=x", "a b", "h:22:x", "x|y", "[::1"]
    for host in profile_hosts:
        body = f'[boards.hostile]\nhost = {tomlstr(host)}\n'
        cases.append(_board_case("security", f"profile host = {host!r}", body, "host", ["probe", "--board", "hostile"]))
        cases.append(_board_case("security", f"profile host = {host!r} (bench boards)", body, "host"))
    for user in ("r;oot", "$(id)", "-oProxy", "ro ot", ".hidden", "a@b"):
        body = f'[boards.hostile]\nhost = "h"\nuser = {tomlstr(user)}\n'
        cases.append(_board_case("security", f"profile user = {user!r}", body, "user", ["probe", "--board", "hostile"]))
    cases += [
        _board_case("traceback", "host = \"h:22\" plus port", '[boards.b]\nhost = "h:22"\nport = 23\n', "port"),
        _board_case("traceback", "host = \"r@h\" plus user", '[boards.b]\nhost = "r@h"\nuser = "s"\n', "user"),
        _board_case("resources", "a 1500-deep base chain",
                    "".join(f'[boards.b{i}]\nbase = "b{i + 1}"\n' for i in range(1500)) + '[boards.b1500]\nhost = "h"\n',
                    "base"),
        _board_case("leniency", 'cpus = ""', '[boards.b]\nhost = "h"\n[[boards.b.clusters]]\ncore = "a53"\ncpus = ""\n',
                    "cpus"),
    ]
    return cases


def tomlstr(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def planted_restore_cases() -> list[BadInput]:
    copy = "cache/winobench/prepared/local.state"
    lines = ["/etc/passwd\tpwned", "/sys/devices/system/cpu/cpu0/cpufreq/../../../../../etc/x\t1",
             "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor\tperformance;id",
             "/sys/devices/system/cpu/cpu0/cpufreq/scaling_setspeed\t1"]
    return [BadInput("security", f"board restore with a planted record line {i}", ["board", "restore", "local"], 2,
                     "local.state", {copy: line + "\n"}) for i, line in enumerate(lines)]


def special_file_cases(results: dict[str, str]) -> list[BadInput]:
    """FIFOs, devices and /dev/zero where a regular file is read: refused at once, never read."""
    table = {"r/raw.jsonl": results["raw.jsonl"]}
    layers = {"r/latency.csv": results["latency.csv"], "r/raw.jsonl": results["raw.jsonl"]}
    cases = []
    for kind, fifo, link in (("FIFO", True, None), ("/dev/zero", False, "/dev/zero"), ("/dev/null", False, "/dev/null")):
        word = "FIFO" if fifo else "device"
        special = lambda name: ({"fifos": (name,)} if fifo else {"links": {name: link}})  # noqa: E731
        cases += [
            BadInput("resources", f"lut: latency.csv is {kind}", ["lut", "{d}/r"], 2, word, table, **special("r/latency.csv")),
            BadInput("resources", f"plot: raw.jsonl is {kind}", ["plot", "{d}/r"], 2, word,
                     {"r/latency.csv": results["latency.csv"]}, **special("r/raw.jsonl")),
            BadInput("resources", f"compare: raw.jsonl is {kind}", ["compare", "{d}/r", "{d}/r"], 2, word,
                     {"r/latency.csv": results["latency.csv"]}, **special("r/raw.jsonl")),
            BadInput("resources", f"network --layers is {kind}", ["network", "{d}/r", "--layers", "{d}/l.json"], 2,
                     word, layers, **special("l.json")),
            BadInput("resources", f"network --assign is {kind}", ["network", "{d}/r", "--assign", "{d}/a.json"], 2,
                     word, layers, **special("a.json")),
            BadInput("resources", f"run --transform is {kind}", ["run", "--res", "4", "--channels", "4", "--algo", "f4",
                                                                 "--transform", "{d}/t.json"], 2, "t.json", **special("t.json")),
            BadInput("resources", f"transforms show --file is {kind}", ["transforms", "show", "--file", "{d}/t.json"], 2,
                     "t.json", **special("t.json")),
            BadInput("resources", f"boards file is {kind}", ["boards"], 2, "not a file", **special("boards.toml")),
        ]
    return cases


def numbers_cases(results: dict[str, str]) -> list[BadInput]:
    """Values that are not what they must be (not whole, not numbers, too big, too deep) in network
    files, assignments and the raw records compare reads."""
    ok = {"r/latency.csv": results["latency.csv"], "r/raw.jsonl": results["raw.jsonl"]}
    net = ["network", "{d}/r", "--layers", "{d}/l.json"]
    layer = '{{"layers": [{{"name": "a", "h": {h}, "w": 8, "cin": 16, "cout": 16, "count": {count}}}]}}'
    values = [("h", "1e400", 1), ("h", "8.7", 1), ("h", '"8"', 1), ("h", "true", 1), ("h", "9" * 5000, 1),
              ("h", "-8", 1), ("h", "null", 1), ("count", "8", "2.5"), ("count", "8", "NaN"), ("count", "8", "Infinity")]
    cases = []
    for key, h, count in values:
        text = layer.format(h=h, count=count)
        cases.append(BadInput("traceback", f"--layers {key} = {str(count if key == 'count' else h)[:20]}", net, 2,
                              "l.json", {**ok, "l.json": text}))
    cases += [
        BadInput("traceback", "--layers 100k-deep nesting", net, 2, "l.json", {**ok, "l.json": "[" * 100_000}),
        BadInput("traceback", "--layers TOML h = inf", ["network", "{d}/r", "--layers", "{d}/l.toml"], 2, "h",
                 {**ok, "l.toml": '[[layers]]\nname = "a"\nh = inf\nw = 8\ncin = 16\ncout = 16\n'}),
    ]
    assign = ["network", "{d}/r", "--preset", "quick", "--assign", "{d}/a.json"]
    for name, value in (("null", "null"), ('"1.0"', '"1.0"'), ("a table", '{"x": 1}'), ("true", "true"),
                        ("-0.5", "-0.5"), ("NaN", "NaN"), ("a list", "[1]")):
        cases.append(BadInput("traceback", f"--assign probability {name}", assign, 2, "probabilit",
                              {**ok, "a.json": '{"default": {"f2-static-fp32": ' + value + "}}"}))
    cases += [
        BadInput("traceback", "--assign probabilities summing to 0.5", assign, 2, "sum",
                 {**ok, "a.json": '{"default": {"f2-static-fp32": 0.5}}'}),
        BadInput("traceback", "--assign an empty table", assign, 2, "empty", {**ok, "a.json": '{"default": {}}'}),
        BadInput("traceback", "--assign a number", assign, 2, "default", {**ok, "a.json": '{"default": 5}'}),
        BadInput("limits", "--assign ''", ["network", "{d}/r", "--assign", ""], 2, "--assign", ok),
    ]
    return cases + compare_record_cases(results)


def compare_record_cases(results: dict[str, str]) -> list[BadInput]:
    """compare on raw case records with junk samples, medians or keys: one line naming the file."""
    import json

    lines = results["raw.jsonl"].splitlines()
    n = next(i for i, l in enumerate(lines) if '"type":"case"' in l and '"status":"ok"' in l)
    junk = [("samples", ["x"]), ("samples", None), ("samples", [[1.0]]), ("samples", [-1.0]), ("samples", [float("nan")]),
            ("samples", "1,2"), ("median", None), ("median", "1.0"), ("median", float("inf"))]
    cases = []
    for field_, value in junk:
        rec = json.loads(lines[n])
        rec["total_ms"][field_] = value
        raw = "\n".join(lines[:n] + [json.dumps(rec)] + lines[n + 1:]) + "\n"
        cases.append(BadInput("traceback", f"compare: total_ms {field_} = {str(value)[:12]}", ["compare", "{d}/r", "{d}/r"],
                              2, "raw.jsonl", {"r/latency.csv": results["latency.csv"], "r/raw.jsonl": raw}))
    for key, value in (("h", 8.7), ("h", "8"), ("h", True), ("bits", 16), ("board", 5), ("cin", 0)):
        rec = json.loads(lines[n])
        rec[key] = value
        raw = "\n".join(lines[:n] + [json.dumps(rec)] + lines[n + 1:]) + "\n"
        cases.append(BadInput("leniency", f"compare: a case record with {key} = {value!r}", ["compare", "{d}/r", "{d}/r"],
                              2, key, {"r/latency.csv": results["latency.csv"], "r/raw.jsonl": raw}))
    return cases


def output_cases(results: dict[str, str]) -> list[BadInput]:
    ok = {"r/latency.csv": results["latency.csv"], "r/raw.jsonl": results["raw.jsonl"], "afile": "x"}
    cases = []
    for argv in (["lut", "{d}/r"], ["plot", "{d}/r"], ["network", "{d}/r", "--preset", "quick"],
                 ["compare", "{d}/r", "{d}/r"], ["run", "--res", "4", "--channels", "4"]):
        cases.append(BadInput("leniency", f"{argv[0]} --out ''", argv + ["--out", ""], 2, "--out", ok))
        if argv[0] in ("network", "compare"):
            cases.append(BadInput("traceback", f"{argv[0]}: --out is a file", argv + ["--out", "{d}/afile"], 2, "afile", ok))
    outside = {**ok, "elsewhere/lut.json": "precious"}
    cases += [
        BadInput("security", "lut: lut.json a symlink out of the directory", ["lut", "{d}/r"], 2, "symlink", outside,
                 links={"r/lut.json": "{d}/elsewhere/lut.json"}),
        BadInput("security", "plot: a figure a symlink out of the directory", ["plot", "{d}/r"], 2, "symlink", outside,
                 links={"r/plots/breakdown.png": "{d}/elsewhere/lut.json"}),
        BadInput("leniency", "run --width with --res", ["run", "--width", "0.5", "--res", "8", "--channels", "4"], 2, "--width"),
        BadInput("leniency", "network --width with --layers", ["network", "{d}/r", "--width", "0.5", "--layers", "{d}/l.json"],
                 2, "--width", ok),
        BadInput("leniency", "run --core ''", ["run", "--res", "4", "--channels", "4", "--core", ""], 2, "--core"),
        BadInput("leniency", "run --core 'a53,'", ["run", "--res", "4", "--channels", "4", "--core", "host,"], 2, "--core"),
        BadInput("leniency", "run --res with a non-ASCII digit", ["run", "--res", "\u0663", "--channels", "4"], 2, "resolution"),
        BadInput("leniency", "run --res 1_0", ["run", "--res", "1_0", "--channels", "4"], 2, "1_0"),
        BadInput("limits", "run --res a 5000-digit number", ["run", "--res", "9" * 5000, "--channels", "4"], 2, "resolution"),
    ]
    return cases


def second_review_cases(results: dict[str, str]) -> list[BadInput]:
    return (name_cases() + host_cases() + planted_restore_cases() + special_file_cases(results)
            + numbers_cases(results) + output_cases(results))


def all_cases() -> list[BadInput]:
    results = good_results()
    return board_cases() + table_cases(results) + cli_cases() + second_review_cases(results)


# ---------------------------------------------------------------------------------------------
# Running and judging a case

@dataclass
class Answer:
    code: int
    out: str
    err: str
    changed: list[str]


def _write_files(d: Path, files: dict, links: dict | None = None, fifos=()) -> None:
    for name, content in files.items():
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    for name, target in (links or {}).items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).symlink_to(target.replace("{d}", str(d)))
    for name in fifos:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(d / name)


def _snapshot(d: Path) -> dict[str, bytes]:
    def content(p: Path) -> bytes:
        if p.is_symlink():
            return b"<link>" + os.readlink(p).encode()
        return p.read_bytes() if p.is_file() else b"<dir>" if p.is_dir() else b"<special>"
    return {str(p.relative_to(d)): content(p) for p in sorted(d.rglob("*"))}


@contextlib.contextmanager
def _tmpfs(d: Path, how: str):
    """A real tmpfs at D/mnt (root only): read-only, read-only holding a results directory, or full."""
    mnt = d / "mnt"
    mnt.mkdir()
    opts = {"ro": "ro,size=64k", "full": "size=8k", "ro-results": "size=64k"}[how]
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "winobench-test", str(mnt)], check=True, timeout=10)
    try:
        if how == "full":
            with contextlib.suppress(OSError), open(mnt / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        if how == "ro-results":
            _write_files(mnt, good_results())
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, timeout=10)
        yield
    finally:
        subprocess.run(["umount", str(mnt)], check=True, timeout=10)


def can_mount() -> bool:
    return os.geteuid() == 0


def run_case(case: BadInput, d: Path) -> Answer:
    """Run one case in the empty directory `d` (in-process, in `d`, with its own boards file)."""
    from bench.cli.main import main

    _write_files(d, case.files, case.links, case.fifos)
    argv = [a.replace("{d}", str(d)) for a in case.argv]
    with contextlib.ExitStack() as stack:
        if case.mount:
            stack.enter_context(_tmpfs(d, case.mount))
        before = _snapshot(d)
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ["BENCH_BOARDS_FILE"] = case.boards_file.replace("{d}", str(d))
        os.environ["XDG_CACHE_HOME"] = str(d / "cache")
        os.chdir(d)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as e:   # argparse
                    code = e.code if isinstance(e.code, int) else 2
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        after = _snapshot(d)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return Answer(code, out.getvalue(), err.getvalue(), changed)


def problems(case: BadInput, answer: Answer) -> list[str]:
    """What is wrong with the answer (empty: a right one-line answer)."""
    lines = answer.err.splitlines()
    found = []
    if answer.code != case.code:
        found.append(f"exit {answer.code}, expected {case.code}")
    if len(lines) != 1:
        found.append(f"{len(lines)} lines on stderr")
    if "Traceback" in answer.err or "internal error" in answer.err:
        found.append("traceback or internal error")
    if case.word and case.word.lower() not in answer.err.lower():
        found.append(f"message does not name {case.word!r}")
    if case.code == 1 and "/" not in answer.err:
        found.append("an environment error that names no path")
    if ".tmp" in answer.err:
        found.append("the message names a temporary file")
    if answer.changed:
        found.append(f"files changed: {', '.join(answer.changed[:3])}")
    return found
