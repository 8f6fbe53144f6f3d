"""Board profiles: shipped profiles, the user's file, --host, core selection and saving."""

import dataclasses
import subprocess
import sys

import pytest

from bench.boards.cpus import format_cpulist, parse_cpulist
from bench.boards.profiles import (list_boards, list_groups, load_board, load_boards, parse_ssh_host, resolve_core,
                                   save_board, user_boards_file)
from bench.boards.topology import Cluster, label, read_topology
from bench.cli.main import main
from bench.errors import UsageError
from tests.support import FIXTURES


def test_cpulists_round_trip():
    assert parse_cpulist("0-3,6\n") == (0, 1, 2, 3, 6)
    assert parse_cpulist("0 1 2 3") == (0, 1, 2, 3)       # cpufreq related_cpus style
    assert format_cpulist((4, 5, 6, 7, 0, 2)) == "0,2,4-7"
    with pytest.raises(UsageError, match="'3-1'"):
        parse_cpulist("3-1")


def test_hikey960_profile_matches_the_hi3660_device_tree():
    b = load_board("hikey960")
    assert (b.transport, b.arch, b.emulated) == ("ssh", "aarch64", False)
    a53, a73 = b.clusters                           # little first
    assert (a53.core, a53.cpus, a53.max_khz, a53.mcpu) == ("a53", (0, 1, 2, 3), 1844000, "cortex-a53")
    assert (a73.core, a73.cpus, a73.max_khz, a73.mcpu) == ("a73", (4, 5, 6, 7), 2362000, "cortex-a73")
    assert not a53.dotprod and not a73.dotprod      # ARMv8.0: no SDOT
    assert a73.cflags == ["-mcpu=cortex-a73"]


def test_local_board_is_this_machine():
    b = load_board()                                # no name: local
    assert b.name == "local" and b.transport == "local"
    topo = read_topology("/")
    assert b.arch == topo.arch
    assert [(c.core, c.cpus) for c in b.clusters] == [(c.core, c.cpus) for c in topo.clusters]


def test_emulated_board_profile():
    b = load_board("qemu-a53")
    assert b.transport == "emulated" and b.emulated
    assert b.exec_prefix_argv == ["qemu-aarch64-static", "-cpu", "cortex-a53"]
    assert [c.core for c in b.clusters] == ["a53"]


def test_resolve_core_on_hikey():
    b = load_board("hikey960")
    names = lambda sel: [c.core for c in resolve_core(b, sel)]
    assert names("a73") == ["a73"]
    assert names("big") == ["a73"]
    assert names("little") == ["a53"]
    assert names("all") == names(None) == ["a53", "a73"]
    assert names("a73,a53,big") == ["a73", "a53"]


def test_two_clusters_of_one_core_type_get_labels_of_their_own():
    # a phone-style board: two A53 clusters at different frequencies (the two-cluster VM of
    # tests/test_vm.py measures rows for both through `--core all`)
    b = dataclasses.replace(load_board("hikey960"), clusters=(
        Cluster("a53", (0, 1, 2, 3), 1100000, capacity=462), Cluster("a53", (4, 5, 6, 7), 1800000, capacity=1024)))
    labels = lambda sel: [label(c, b.clusters) for c in resolve_core(b, sel)]
    assert labels("all") == ["a53@0-3", "a53@4-7"] and labels("a53") == labels("all")
    assert labels("big") == labels("a53@4-7") == ["a53@4-7"] and labels("little") == ["a53@0-3"]
    assert [label(c, load_board("hikey960").clusters) for c in load_board("hikey960").clusters] == ["a53", "a73"]
    with pytest.raises(UsageError, match=r"no core 'a53@0-4'; .*accepted: a53, a53@0-3, a53@4-7, big"):
        resolve_core(b, "a53@0-4")


@pytest.mark.parametrize("bad", ["a72", "host", "A7"])
def test_resolve_core_refuses_what_the_board_lacks(bad):
    with pytest.raises(UsageError) as e:
        resolve_core(load_board("hikey960"), bad)
    msg = str(e.value)
    assert repr(bad.lower()) in msg and "a53" in msg and "a73" in msg and "big" in msg
    assert "\n" not in msg


def test_resolve_core_on_this_machine():
    b = load_board("local")
    if b.arch == "x86_64":
        assert [c.core for c in resolve_core(b, "host")] == ["host"]
    with pytest.raises(UsageError, match="has no core 'a73'"):
        resolve_core(b, "a73")


def test_unknown_board_lists_known_ones():
    with pytest.raises(UsageError, match=r"unknown board 'nope'; accepted: .*hikey960.*qemu-a53"):
        load_board("nope")


@pytest.mark.parametrize("spec,expected", [
    ("root@10.0.0.5", ("root", "10.0.0.5", None)),
    ("linaro@hikey:2222", ("linaro", "hikey", 2222)),
    ("myalias", (None, "myalias", None)),
    ("me@[fe80::1]:22", ("me", "fe80::1", 22)),
])
def test_parse_ssh_host(spec, expected):
    assert parse_ssh_host(spec) == expected


@pytest.mark.parametrize("spec", ["root@", "a@b@c", "host:port", "h:70000", "two words"])
def test_parse_ssh_host_refuses_garbage(spec):
    with pytest.raises(UsageError, match="--host"):
        parse_ssh_host(spec)


def test_host_alone_and_on_a_profile():
    adhoc = load_board(ssh_host="root@10.1.2.3:2200")
    assert (adhoc.transport, adhoc.user, adhoc.host, adhoc.port, adhoc.clusters) == ("ssh", "root", "10.1.2.3", 2200, ())
    with pytest.raises(UsageError, match="probe it first"):
        resolve_core(adhoc, "big")
    hk = load_board("hikey960", "linaro@192.168.1.9")
    assert (hk.host, hk.user, hk.port) == ("192.168.1.9", "linaro", None)
    assert [c.core for c in hk.clusters] == ["a53", "a73"]  # the profile's topology stays


def test_user_file_overrides_inherits_and_groups(boards_file):
    boards_file.add("hikey-desk", None, base="hikey960", host="10.0.0.7", user="root")
    boards_file.add("hikey-shelf", None, base="hikey960", host="10.0.0.8", user="root")
    boards_file.add("rpi4", None, host="pi.lan", arch="aarch64",
                    clusters=[{"core": "a72", "cpus": "0-3", "max_khz": 1800000}])
    boards_file.group("shelf", ["hikey-desk", "hikey-shelf"])
    desk = load_board("hikey-desk")
    assert desk.host == "10.0.0.7" and desk.kind == "hikey960"
    assert [c.cpus for c in desk.clusters] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    assert load_board("rpi4").clusters[0].max_khz == 1800000      # user entry wins over shipped
    assert load_board("rpi4").clusters[0].mcpu == "cortex-a72"    # default -mcpu from the core name
    assert list_groups() == {"shelf": ["hikey-desk", "hikey-shelf"]}
    assert [b.name for b in load_boards(["shelf", "hikey-desk", "local"])] == ["hikey-desk", "hikey-shelf", "local"]
    assert {"hikey-desk", "hikey960", "local", "qemu-a53"} <= {b.name for b in list_boards()}
    with pytest.raises(UsageError, match="unknown board 'nothere'"):
        load_boards(["nothere"])
    assert [(b.name, b.host) for b in load_boards([], "root@10.9.9.9")] == [("root@10.9.9.9", "10.9.9.9")]
    assert [(b.name, b.host) for b in load_boards(["hikey-desk"], "10.9.9.9")] == [("hikey-desk", "10.9.9.9")]
    with pytest.raises(UsageError, match="--host names one board"):
        load_boards(["shelf", "local"], "10.9.9.9")


def test_user_file_location(monkeypatch, tmp_path):
    monkeypatch.delenv("BENCH_BOARDS_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_boards_file() == tmp_path / "xdg" / "bench" / "boards.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_boards_file() == tmp_path / ".config" / "bench" / "boards.toml"


@pytest.mark.parametrize("table,needle", [
    ({"host": "x", "colour": "red"}, "unknown key 'colour'"),
    ({"transport": "telnet"}, "bad transport = 'telnet'; expected 'local' or 'ssh'"),
    ({"host": "x", "clusters": [{"core": "a53", "cpus": "4-x"}]}, "bad CPU list '4-x'"),
    ({"host": "x", "clusters": [{"cpus": [0]}]}, "needs `core"),
    ({"host": "x", "port": 0}, "bad port = 0; expected an integer 1..65535"),
    ({"transport": "emulated"}, "needs exec_prefix"),
])
def test_bad_profiles_are_refused_clearly(boards_file, table, needle):
    boards_file.add("broken", None, **table)
    with pytest.raises(UsageError, match=needle.replace("(", r"\(")):
        load_board("broken")


def test_save_appends_then_replaces(tmp_path):
    path = tmp_path / "boards.toml"
    path.write_text("# my boards\n[boards.other]\nhost = \"o\"\n")
    b = load_board("hikey960", "root@10.0.0.9:2222")
    save_board(b, "hk", path)
    text = path.read_text()
    assert text.startswith("# my boards\n") and "[boards.hk]" in text   # appending keeps comments
    import tomllib
    doc = tomllib.loads(text)
    assert doc["boards"]["hk"]["port"] == 2222
    assert doc["boards"]["hk"]["clusters"][1] == {"core": "a73", "cpus": [4, 5, 6, 7], "max_khz": 2362000,
                                                  "mcpu": "cortex-a73", "capacity": 1024}
    save_board(dataclasses.replace(b, host="10.0.0.10"), "hk", path)
    text = path.read_text()
    doc = tomllib.loads(text)
    assert doc["boards"]["hk"]["host"] == "10.0.0.10" and doc["boards"]["other"] == {"host": "o"}
    assert text.startswith("# my boards\n") and text.count("[boards.hk]") == 1  # replacing keeps them too


def test_cli_boards_lists_profiles_and_groups(boards_file, capsys):
    boards_file.add("desk", None, base="hikey960", host="10.0.0.7")
    boards_file.group("g", ["desk", "local"])
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "hikey960" in out and "a73 (cpus 4-7 @ 2362 MHz)" in out
    assert "desk" in out and str(boards_file.path) in out
    assert "group g: desk, local" in out


def test_cli_bad_board_exits_2_with_one_line():
    r = subprocess.run([sys.executable, "-m", "bench", "probe", "--board", "nope"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "unknown board 'nope'; accepted:" in r.stderr


def test_profile_cpus_must_be_the_boards(boards_file):
    """cpus = "99" on a board without CPU 99 is refused, never measured on another CPU."""

    topo = read_topology(str(FIXTURES / "hikey960"))
    load_board("hikey960").check_cpus(topo)                    # the shipped profile matches the board
    boards_file.add("wrong", None, base="hikey960", clusters=[{"core": "a53", "cpus": "0-3,99"},
                                                             {"core": "a73", "cpus": "4-7"}])
    with pytest.raises(UsageError, match=r"puts a53 on CPU\(s\) 99, but the board's a53 CPUs are 0-3"):
        load_board("wrong").check_cpus(topo)


@pytest.mark.parametrize("spec, parsed", [
    ("root@192.168.1.20:22", ("root", "192.168.1.20", 22)), ("hikey-b", (None, "hikey-b", None)),
    ("linaro@h.example.org", ("linaro", "h.example.org", None)), ("[::1]:2222", (None, "::1", 2222)),
    ("fe80::1", (None, "fe80::1", None)), ("root@[::1]", ("root", "::1", None)),
])
def test_addresses_that_are_addresses(spec, parsed):
    from bench.boards.schema import parse_address
    assert parse_address(spec) == parsed


@pytest.mark.parametrize("spec", ["x;id", "x$(id)", "x`id`", "-oProxyCommand=id", "x y", "x|y", "x&y", "x\ny", "h:22:x",
                                  "r;oot@h", "-l@h", "@h", "h:", "h:99999", "[::1", "user@", "", "a@b@h", "x'y", 'x"y'])
def test_anything_else_is_refused_in_one_line(spec):
    from bench.boards.schema import parse_address
    with pytest.raises(UsageError, match="bad --host") as e:
        parse_address(spec)
    assert "\n" not in str(e.value).replace(repr(spec)[1:-1], "")


def test_a_profile_host_may_carry_user_and_port_once(boards_file):
    boards_file.add("both", host="linaro@10.0.0.5:2222")
    b = load_board("both")
    assert (b.host, b.user, b.port) == ("10.0.0.5", "linaro", 2222)
    boards_file.add("twice", host="h:22", port=23)
    with pytest.raises(UsageError, match=r"gives the port and `port` gives it again"):
        load_board("twice")
