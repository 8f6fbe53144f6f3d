"""Trust warnings from a sweep's metadata, on the recorded HiKey 960 sysfs tree (tests/fixtures)."""

import shutil

import pandas as pd

from tests.support import FIXTURES
from bench.measure.health import run_warnings, unstable_warnings
from bench.boards.topology import read_topology

HIKEY = FIXTURES / "hikey960"


def _run(tmp_path, cpus, temp_after=None, cur_after=None):
    before = read_topology(HIKEY).to_dict()
    after_root = tmp_path / "after"
    shutil.copytree(HIKEY, after_root, symlinks=True)
    if temp_after is not None:
        (after_root / "sys/class/thermal/thermal_zone0/temp").write_text(f"{temp_after}\n")
    if cur_after is not None:
        for cpu in cpus:
            (after_root / f"sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq").write_text(f"{cur_after}\n")
    after = read_topology(after_root).to_dict()
    return {"runners": [{"board": "hk", "cpus": cpus, "deploy": {"topology": before}}],
            "after": {"hk": {"topology": after}}}


def test_governor_dvfs_and_heat_are_reported_for_the_measured_cpus(tmp_path):
    # The recorded board runs schedutil at 1421 of 2362 MHz on the A73s and 43 C in zone 0.
    warnings = run_warnings(_run(tmp_path, [4], temp_after=86000, cur_after=2362000))
    text = "\n".join(warnings)
    assert "hk: cpu4 governor is 'schedutil' before the sweep" in text
    assert "hk: cpu4 ran at 1421 of 2362 MHz before the sweep" in text
    assert "after the sweep (DVFS" not in text            # back at full speed afterwards
    assert "thermal_zone0 (cls0) at 86.0 C after the sweep" in text
    assert "rose 43.0 C during the sweep (43.0 -> 86.0 C)" in text
    assert "cpu5" not in text and "cpu0" not in text      # only the CPUs measured on


def test_a_cool_performance_board_gives_no_warning(tmp_path):
    run = _run(tmp_path, [4], temp_after=45000)
    for topo in (run["runners"][0]["deploy"]["topology"], run["after"]["hk"]["topology"]):
        for cpu in topo["cpus"]:
            cpu.update(governor="performance", cur_khz=cpu["max_khz"])
    assert run_warnings(run) == []


def test_unstable_cases_are_counted_with_the_worst():
    df = pd.DataFrame({"status": ["ok", "ok", "error"], "total_ms": [1.0, 2.0, None],
                       "total_p10_ms": [0.99, 1.5, None], "total_p90_ms": [1.01, 2.5, None],
                       "algo": ["f2", "f4", "f6"], "transform": ["static"] * 3, "bits": [8, 8, 8],
                       "h": [8] * 3, "w": [8] * 3, "cin": [4] * 3, "cout": [4] * 3, "board": ["b"] * 3,
                       "core": ["a53"] * 3})
    (w,) = unstable_warnings(df)
    assert w.startswith("1 of 2 cases vary by more than 10%") and "f4 static 8-bit" in w and "50%" in w
    assert unstable_warnings(df.iloc[:1]) == []


def test_a_profile_that_disagrees_with_the_probe_is_warned_about():
    """The shipped HiKey 960 profile against a HiKey 960's sysfs (the fixture tree): no warning;
    against a Raspberry Pi 4's: the missing clusters are named. A changed frequency is named too."""
    import dataclasses

    from bench.boards.profiles import load_board
    from bench.measure.health import profile_mismatches
    from bench.boards.topology import read_topology

    fixtures = FIXTURES
    hikey = load_board("hikey960")
    assert profile_mismatches(hikey, read_topology(fixtures / "hikey960")) == []
    on_pi = profile_mismatches(hikey, read_topology(fixtures / "rpi4"))
    assert any("profile's a73 cluster is not on the board" in w for w in on_pi) and all(w.startswith("hikey960:") for w in on_pi)
    faster = dataclasses.replace(hikey, clusters=(dataclasses.replace(hikey.clusters[1], max_khz=2600000),))
    (w,) = profile_mismatches(faster, read_topology(fixtures / "hikey960"))
    assert "a73 max 2600 MHz, board 2362 MHz" in w
