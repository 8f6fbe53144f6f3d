"""Warnings about how far a sweep's numbers can be trusted, from its raw metadata (pyperf / Google
Benchmark lessons, plus what they do not do on Arm: thermal zones and throttling).

- unstable cases: (p90 - p10) / median of the total above UNSTABLE_SPREAD;
- frequency scaling: a governor other than `performance` on a measured CPU, or a current frequency
  below the maximum before or after the sweep (DVFS or thermal throttling);
- heat: any thermal zone above HOT_C after the sweep, or a rise of more than RISE_C during it.
"""

from __future__ import annotations

from bench.operators import operator_label

UNSTABLE_SPREAD = 0.10
HOT_C = 70.0
RISE_C = 10.0


def _zones(topology: dict) -> dict[str, float]:
    return {f"{z['zone']} ({z.get('type') or '?'})": z["millicelsius"] / 1000.0
            for z in topology.get("thermal", []) if z.get("millicelsius") is not None}


def frequency_warnings(topology: dict, cpus, when: str) -> list[str]:
    out = []
    for cpu in topology.get("cpus", []):
        if cpu["cpu"] not in cpus:
            continue
        gov, cur, top = cpu.get("governor"), cpu.get("cur_khz"), cpu.get("max_khz")
        if gov and gov != "performance":
            out.append(f"cpu{cpu['cpu']} governor is {gov!r} {when}: frequency scaling can move latencies; "
                       f"set it to 'performance' for stable figures")
        if cur and top and cur < top:
            out.append(f"cpu{cpu['cpu']} ran at {cur / 1000:.0f} of {top / 1000:.0f} MHz {when} "
                       f"(DVFS or thermal throttling)")
    return out


def thermal_warnings(before: dict, after: dict, board: str) -> list[str]:
    out = []
    t0, t1 = _zones(before), _zones(after)
    for zone, temp in t1.items():
        if temp > HOT_C:
            out.append(f"{board}: thermal zone {zone} at {temp:.1f} C after the sweep (throttling likely above ~{HOT_C:.0f} C)")
        if zone in t0 and temp - t0[zone] > RISE_C:
            out.append(f"{board}: thermal zone {zone} rose {temp - t0[zone]:.1f} C during the sweep "
                       f"({t0[zone]:.1f} -> {temp:.1f} C); consider a cool-down between cases")
    return out


def unstable_warnings(df) -> list[str]:
    ok = df[(df["status"] == "ok") & (df["total_ms"] > 0)]
    spread = (ok["total_p90_ms"] - ok["total_p10_ms"]) / ok["total_ms"]
    bad = ok[spread > UNSTABLE_SPREAD]
    if bad.empty:
        return []
    worst = bad.loc[spread[bad.index].idxmax()]
    return [f"{len(bad)} of {len(ok)} cases vary by more than {UNSTABLE_SPREAD:.0%} between p10 and p90 "
            f"(worst: {operator_label(worst['algo'], worst['transform'], worst.get('engine'))} {worst['bits']}-bit "
            f"{worst['h']}x{worst['w']}x{worst['cin']}->{worst['cout']} on {worst['board']}/{worst['core']}, "
            f"{spread[worst.name]:.0%}); the machine was busy or its clock moved"]


def run_warnings(run: dict) -> list[str]:
    """Frequency and thermal warnings of one run (its metadata, as `bench.measure.sweep` keeps it) (runner info lines hold the state
    before, `after` the state after)."""
    out = []
    for info in run.get("runners", []):
        board, cpus = info.get("board", "?"), set(info.get("cpus", []))
        before = info.get("deploy", {}).get("topology", {})
        after = run.get("after", {}).get(board, {}).get("topology", {})
        out += [f"{board}: {w}" for w in frequency_warnings(before, cpus, "before the sweep")]
        out += [f"{board}: {w}" for w in frequency_warnings(after, cpus, "after the sweep")]
        out += thermal_warnings(before, after, board)
    return list(dict.fromkeys(out))


def profile_mismatches(board, topology) -> list[str]:
    """Where a board's profile disagrees with what the probe read from it (core types, CPU lists,
    maximum frequencies): each a warning for the screen and the run's metadata."""
    out = []
    probed = {c.core: c for c in topology.clusters}
    for c in board.clusters:
        p = probed.get(c.core)
        if p is None:
            out.append(f"{board.name}: the profile's {c.core} cluster is not on the board (it has "
                       f"{', '.join(probed) or 'no clusters'})")
            continue
        if c.cpus and tuple(c.cpus) != tuple(p.cpus):
            out.append(f"{board.name}: profile {c.core} cpus {','.join(map(str, c.cpus))}, "
                       f"board {','.join(map(str, p.cpus))}")
        if c.max_khz and p.max_khz and c.max_khz != p.max_khz:
            out.append(f"{board.name}: profile {c.core} max {c.max_khz // 1000} MHz, board {p.max_khz // 1000} MHz")
        if c.max_khz and not p.max_khz:
            out.append(f"{board.name}: profile {c.core} max {c.max_khz // 1000} MHz, board has no cpufreq")
    return out
