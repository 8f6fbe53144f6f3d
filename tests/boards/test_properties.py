"""Property tests (hypothesis) of the parsers of board input: CPU lists and board profiles (TOML
text). Every generated input gives a value or a one-line UsageError, never another exception."""

import json
import os

import pytest
import tomlkit
from hypothesis import event, example, given
from hypothesis import strategies as st

from bench.boards.cpus import MAX_CPU_ID, format_cpulist, parse_cpulist
from bench.boards.profiles import BOARD_SCHEMA, list_boards
from bench.boards.schema import CLUSTER_SCHEMA
from bench.errors import UsageError
from tests.properties import examples, file_with, one_line

pytestmark = pytest.mark.slow   # hundreds of generated inputs per test


# ---------------------------------------------------------------------------------------------
# CPU lists

cpu_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789-, \n\t", max_size=40),
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), max_size=6).map(
        lambda pairs: ",".join(f"{a}-{b}" if a != b else str(a) for a, b in pairs)),
)


@examples(2000)
@given(cpu_text)
@example("0-99999999")
@example("9" * 5000)
@example("\u0663")
def test_cpu_lists(text):
    try:
        cpus = parse_cpulist(text)
    except UsageError as e:
        assert one_line(e)
        return
    event("accepted")
    assert list(cpus) == sorted(set(cpus)) and all(0 <= c < MAX_CPU_ID for c in cpus)
    assert parse_cpulist(format_cpulist(cpus)) == cpus


# ---------------------------------------------------------------------------------------------
# Board profiles: TOML text -> profiles, or one line

scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=12),
                    st.sampled_from(["0-3", "4-7", "0-99999999", "a53", "ssh", "local", "emulated", "aarch64",
                                     "qemu-aarch64-static", "false", "hikey960", "local"]))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=5), scalars, max_size=3))
clusters = st.lists(st.dictionaries(st.sampled_from(sorted(CLUSTER_SCHEMA) + ["speed"]), values, max_size=6), max_size=3)
VALID_BOARD = {"host": "h", "port": 22, "user": "root", "accept_new_host_key": False, "connect_timeout": 5.0,
               "clusters": [{"core": "a53", "cpus": "0-3", "max_khz": 1800000, "dotprod": False, "capacity": 512}]}


@st.composite
def board_tables(draw):
    """A valid profile with a few keys (of the board or a cluster) given generated values."""
    table = json.loads(json.dumps(VALID_BOARD))
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            table[draw(st.sampled_from(sorted(BOARD_SCHEMA) + ["colour"]))] = draw(values)
        elif isinstance(table.get("clusters"), list) and table["clusters"] and isinstance(table["clusters"][0], dict):
            table["clusters"][0][draw(st.sampled_from(sorted(CLUSTER_SCHEMA) + ["speed"]))] = draw(values)
    return table if draw(st.integers(0, 4)) else draw(st.dictionaries(st.sampled_from(sorted(BOARD_SCHEMA)), values, max_size=6))


board_tables = board_tables()
user_files = st.fixed_dictionaries(
    {"boards": st.dictionaries(st.sampled_from(["b1", "b2", "hikey960", "local"]), board_tables, max_size=3)},
    optional={"groups": st.one_of(st.dictionaries(st.text(max_size=4), st.lists(st.sampled_from(["b1", "local", "x"]),
                                                                                 max_size=3), max_size=2), values),
              "other": values})


def _boards_from(content) -> None:
    with file_with("boards.toml", content) as path:
        saved = os.environ.get("BENCH_BOARDS_FILE")
        os.environ["BENCH_BOARDS_FILE"] = str(path)
        try:
            boards = list_boards()
        except UsageError as e:
            assert one_line(e), str(e)
            return
        finally:
            os.environ.pop("BENCH_BOARDS_FILE")
            if saved is not None:
                os.environ["BENCH_BOARDS_FILE"] = saved
    event("accepted")
    for b in boards:  # what was accepted has the right types
        assert type(b.accept_new_host_key) is bool and type(b.emulated) is bool and type(b.probe_clusters) is bool
        assert b.port is None or type(b.port) is int
        assert all(0 <= c < MAX_CPU_ID for cl in b.clusters for c in cl.cpus)
        assert all(type(cl.dotprod) is bool for cl in b.clusters)


@examples(600)
@given(user_files)
def test_board_profiles_from_generated_tables(doc):
    try:
        text = tomlkit.dumps(doc)
    except Exception:  # tomlkit cannot write it (e.g. nan in some positions): not a TOML file then
        return
    _boards_from(text)


@examples(300)
@given(st.one_of(st.text(), st.binary()))
@example(b"[boards.b]\nhost = \"caf\xe9\"\n")
def test_board_profiles_from_any_text_or_bytes(content):
    _boards_from(content)
