"""Figures from a latency table (bench.measure.results), through seaborn; each written as PNG and SVG.

A panel is one (precision, board, core, threads): nothing from two boards, cores or thread counts is
averaged, and each panel and footer says where it was measured (bench.measure.fidelity).

- breakdown: stacked bars of input transform / GEMM / output transform per layer and operator, one
  panel row per panel, every layer (paged), p10-p90 whiskers on the total.
- speedup: heatmap of the fastest usable Winograd operator's speedup over im2row of the same
  precision, across resolution x channels, the winner named in each cell.
- error: latency (with its p10-p90) versus SQNR per layer (needs the error columns).
- engines: when production engines were measured, per layer the fastest usable operator of each
  engine beside this project's fastest, side by side.
- roofline, network, compare: below.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.analysis.workload import stage_work  # noqa: E402
from bench.measure.fidelity import CAVEATS, where_of  # noqa: E402
from bench.measure.fidelity import label as fidelity_label  # noqa: E402
from bench.files import output_dir, replacing  # noqa: E402
from bench.operators import (OUR_ENGINE, precision_name, product_precision, requant_suffix, scheme_suffix,  # noqa: E402
                             transform_name)

sns.set_theme(style="whitegrid")

STAGES = {"input_ms": "input transform", "gemm_ms": "GEMM", "output_ms": "output transform"}
BREAKDOWN_PAGE = 8   # layers per breakdown file; every layer is drawn, on as many files as it takes


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["status"] == "ok"].copy()
    df["precision"] = df["bits"].map(precision_name)
    schemes = df["scheme"] if "scheme" in df else pd.Series("none", index=df.index)
    requants = df["requant"] if "requant" in df else pd.Series("none", index=df.index)
    digests = df["transform_digest"] if "transform_digest" in df else pd.Series(None, index=df.index)
    engines = df["engine"] if "engine" in df else pd.Series(OUR_ENGINE, index=df.index)
    df["operator"] = [_operator_name(a, t, s, r, d if isinstance(d, str) else None, e)
                      for a, t, s, r, d, e in zip(df["algo"], df["transform"], schemes, requants, digests, engines)]
    df["engine"] = engines
    # wide keeps int8 in and out but multiplies int16 by int16: named as the int16 GEMM it is
    df["quantization"] = [p if s == "none" else f"{p} {s}" + (f" ({g} GEMM)" if g != p else "")
                          for p, s, g in zip(df["precision"], schemes,
                                             (product_precision(b, s) for b, s in zip(df["bits"], schemes)))]
    df["layer_label"] = [f"{h}x{w} {ci}->{co}" + filter_suffix(k, s, p)
                         for h, w, ci, co, k, s, p in zip(df["h"], df["w"], df["cin"], df["cout"], df["k"], df["stride"], df["pad"])]
    df["where"] = [where_of(r) for r in df.to_dict("records")]
    df["where_label"] = [fidelity_label(w, c, f) for w, c, f in zip(df["where"], df["core"], df["cpu_flag"])]
    # one panel per precision and (board, core, threads): nothing from two boards or thread counts averaged
    df["panel"] = [f"{p} on {b}/{c} t{t}\n{w}" for p, b, c, t, w in
                   zip(df["precision"], df["board"], df["core"], df["threads"], df["where_label"])]
    return df.sort_values(["h", "cin", "cout", "k", "stride", "algo", "transform"])


def _operator_name(algo, transform, scheme, requant, digest, engine) -> str:
    """How a plot names an operator: tap and wide are other kernels of the same operator, named apart
    (tensor keeps the plain name), and so is the non-default fp32 requantization; an engine's by its
    variant."""
    if engine != OUR_ENGINE:
        return f"{engine} {algo}"
    base = algo if algo == "im2row" else f"{algo} {transform_name(transform, digest)}"
    return " ".join(x for x in (base, scheme_suffix(scheme), requant_suffix(requant)) if x)


def filter_suffix(k, stride, pad) -> str:
    """'' for a 3x3 stride-1 padding-1 layer, else ' k7s2p3': how labels tell filters apart."""
    return "" if (k, stride, pad) == (3, 1, 1) else f" k{k}s{stride}p{pad}"


def _footer(fig, df: pd.DataFrame, more: list[str] = ()) -> None:
    """Where the figures were measured, and what host or emulated ones mean, under the figure."""
    wheres = sorted(set(df["where"]))
    lines = [*more, "measured: " + "; ".join(sorted(set(df["where_label"])))]
    lines += [CAVEATS[w] for w in wheres if w in CAVEATS]
    fig.text(0.0, -0.01, "\n".join(lines), ha="left", va="top", fontsize=8, color="0.25", wrap=True)


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        path = out / f"{stem}.{ext}"
        with replacing(path) as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", dpi=110)
        paths.append(path)
    plt.close(fig)
    return paths


def breakdown(df: pd.DataFrame, out: Path) -> list[Path]:
    """Every layer, BREAKDOWN_PAGE layers per file (breakdown.png, breakdown-2.png, ...), each page
    saying which layers of how many it holds; the whisker on each bar is the p10-p90 range of the
    total over the repetitions."""
    df = _prepare(df)
    layers = list(dict.fromkeys(df["layer_label"]))
    pages = [layers[i:i + BREAKDOWN_PAGE] for i in range(0, len(layers), BREAKDOWN_PAGE)]
    paths = []
    for n, page in enumerate(pages, start=1):
        first = n * BREAKDOWN_PAGE - BREAKDOWN_PAGE + 1
        what = f"layers {first}-{first + len(page) - 1} of {len(layers)}" if len(pages) > 1 else f"all {len(layers)} layers"
        paths += _breakdown_page(df, page, out, "breakdown" if n == 1 else f"breakdown-{n}", what)
    return paths


def _breakdown_page(df: pd.DataFrame, layers: list, out: Path, stem: str, what: str) -> list[Path]:
    panels = sorted(df["panel"].unique())
    operators = list(dict.fromkeys(df.sort_values(["algo", "transform"])["operator"]))
    colors = sns.color_palette("deep", len(STAGES))
    fig, axes = plt.subplots(len(panels), len(layers), figsize=(2.6 * len(layers) + 1.2, 3.2 * len(panels) + 0.8),
                             squeeze=False)
    for (i, panel), (j, layer) in itertools.product(enumerate(panels), enumerate(layers)):
        ax = axes[i][j]
        sub = df[(df["panel"] == panel) & (df["layer_label"] == layer)].set_index("operator").reindex(operators)
        bottom = np.zeros(len(operators))
        for color, (column, stage) in zip(colors, STAGES.items()):
            values = sub[column].to_numpy(dtype=float)
            ax.bar(operators, np.nan_to_num(values), bottom=bottom, color=color, label=stage, width=0.75)
            bottom += np.nan_to_num(values)
        whole = np.where(sub["engine"].fillna(OUR_ENGINE).to_numpy() != OUR_ENGINE, sub["total_ms"].to_numpy(dtype=float), np.nan)
        if not np.isnan(whole).all():   # a production engine exposes no stages: its total, in one colour
            ax.bar(operators, np.nan_to_num(whole), color="0.6", label="total (engine, no stages)", width=0.75)
        total, p10, p90 = (sub[c].to_numpy(dtype=float) for c in ("total_ms", "total_p10_ms", "total_p90_ms"))
        spread = np.isfinite(p10) & np.isfinite(p90)
        ax.errorbar(np.arange(len(operators))[spread], total[spread],
                    yerr=[np.clip(total - p10, 0, None)[spread], np.clip(p90 - total, 0, None)[spread]],
                    fmt="none", ecolor="0.15", elinewidth=0.8, capsize=2, label="p10-p90 of total")
        ax.set_title(layer if i == 0 else "", fontsize=10)
        ax.set_ylabel(f"{panel}\nmedian ms" if j == 0 else "", fontsize=8)
        ax.tick_params(axis="x", labelrotation=90, labelsize=8)
        ax.tick_params(axis="y", labelsize=8)
        if i < len(panels) - 1:
            ax.set_xticklabels([])
    handles, labels = [], []
    for ax in axes.flat:   # every label once, whichever panel drew it
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle(f"Latency per stage (median of repetitions), {what}; columns are layers H x W Cin->Cout", y=1.04)
    fig.tight_layout()
    _footer(fig, df)
    return _save(fig, out, stem)


# Operators whose SQNR against float64 is below this are left out of the speedup heatmap (and named
# under it): int8 F4/F6 under the per-tensor scheme sit at -13 to -18 dB, a useless output, and
# 20 dB is about where a layer's int8 error stops being small against its signal (im2row int8 gives
# 35 dB, F2 about 28; tap F6 about 12 falls below).
DEFAULT_MIN_SQNR_DB = 20.0


def speedup(df: pd.DataFrame, out: Path, min_sqnr: float = DEFAULT_MIN_SQNR_DB) -> list[Path]:
    """Per panel (precision on board/core/threads), layer by layer: the fastest Winograd operator
    whose SQNR is at least `min_sqnr` (unknown SQNR: kept) against im2row of the same precision;
    each cell names the winner."""
    df = _prepare(df)
    df = df[(df["k"] == 3) & (df["stride"] == 1) & (df["pad"] == 1)]   # where Winograd applies
    usable = ~(df["sqnr_db"].astype(float) < min_sqnr)   # an unknown SQNR (no error figures) is kept
    dropped = df[~usable & (df["algo"] != "im2row")]
    left_out = sorted(set(dropped["operator"] + " " + dropped["precision"]))
    keys = ["panel", "h", "w", "cin", "cout"]
    ours = df["engine"] == OUR_ENGINE   # production engines are compared in the tables, not here
    base = df[(df["algo"] == "im2row") & ours].set_index(keys)["total_ms"]
    wino = df[(df["algo"] != "im2row") & usable & ours]
    if wino.empty or base.empty:
        return []
    best = wino.loc[wino.groupby(keys)["total_ms"].idxmin()].set_index(keys)
    ratio = pd.DataFrame({"speedup": base / best["total_ms"], "winner": best["operator"]}).dropna(subset=["speedup"]).reset_index()
    if ratio.empty:
        return []
    ratio["resolution"] = [f"{h}x{w}" for h, w in zip(ratio["h"], ratio["w"])]
    ratio["channels"] = [str(ci) if ci == co else f"{ci}->{co}" for ci, co in zip(ratio["cin"], ratio["cout"])]
    panels = sorted(ratio["panel"].unique())
    fig, axes = plt.subplots(1, len(panels), figsize=(6.0 * len(panels), 5.0), squeeze=False)
    vmax = max(2.0, float(ratio["speedup"].max()))
    for ax, panel in zip(axes[0], panels):
        sub = ratio[ratio["panel"] == panel]
        order = lambda t: t.reindex(sorted(t.index, key=lambda s: int(s.split("x")[0])))[
            sorted(t.columns, key=lambda s: int(s.split("->")[0]))]  # noqa: E731
        table = order(sub.pivot(index="resolution", columns="channels", values="speedup"))
        names = order(sub.pivot(index="resolution", columns="channels", values="winner"))
        labels = np.array([[f"{v:.2f}\n{w}" if isinstance(w, str) else "" for v, w in zip(vr, wr)]
                           for vr, wr in zip(table.to_numpy(), names.to_numpy())])
        sns.heatmap(table, ax=ax, annot=labels, fmt="", annot_kws={"fontsize": 7}, cmap="RdBu", center=1.0, vmin=0,
                    vmax=vmax, cbar_kws={"label": "x faster than im2row"})
        ax.grid(False)
        ax.set_title(f"fastest Winograd vs im2row, {panel}", fontsize=10)
        ax.set_xlabel("channels (Cin -> Cout)")
        ax.set_ylabel("resolution (H x W)")
    fig.tight_layout()
    _footer(fig, df, [f"operators with SQNR below {min_sqnr:g} dB left out (bench plot --min-sqnr): "
                      + (", ".join(left_out) if left_out else "none")])
    return _save(fig, out, "speedup")


def engines(df: pd.DataFrame, out: Path, min_sqnr: float = DEFAULT_MIN_SQNR_DB) -> list[Path]:
    """Per panel, layer by layer: the latency of each engine's fastest operator whose SQNR is at
    least `min_sqnr` (winobench: its kernels; unknown SQNR: kept), side by side, with p10-p90
    whiskers; nothing when the table holds no production engine."""
    df = _prepare(df)
    if (df["engine"] == OUR_ENGINE).all():
        return []
    usable = df[~(df["sqnr_db"].astype(float) < min_sqnr)]
    best = usable.loc[usable.groupby(["panel", "layer_label", "engine"])["total_ms"].idxmin()]
    panels = sorted(best["panel"].unique())
    width = max(6.0, 1.4 * best["layer_label"].nunique() + 3.0)
    colours = dict(zip(sorted(best["engine"].unique()), sns.color_palette()))   # one colour per engine throughout
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, 4.0 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        sub = best[best["panel"] == panel]
        layers, names = list(dict.fromkeys(sub["layer_label"])), sorted(sub["engine"].unique())
        step = 0.8 / len(names)
        for j, name in enumerate(names):
            rows = sub[sub["engine"] == name].set_index("layer_label").reindex(layers)
            x = np.arange(len(layers)) - 0.4 + step * (j + 0.5)
            ax.bar(x, rows["total_ms"], width=step, label=name, color=colours[name])
            for xi, ms, op in zip(x, rows["total_ms"], rows["operator"]):
                if isinstance(op, str):   # the operator that gave this engine's best, on its bar
                    ax.annotate(op, (xi, ms), ha="center", va="top", fontsize=6, rotation=90, color="white")
        ax.set_xticks(np.arange(len(layers)), layers)
        ax.legend(fontsize=8)
        ax.set_title(f"fastest operator of each engine (SQNR >= {min_sqnr:g} dB), {panel}", fontsize=10)
        ax.set_xlabel("layer (H x W Cin->Cout)")
        ax.set_ylabel("ms (median)")
    fig.tight_layout()
    _footer(fig, df)
    return _save(fig, out, "engines")


def error(df: pd.DataFrame, out: Path) -> list[Path]:
    df = _prepare(df)
    if "sqnr_db" not in df or df["sqnr_db"].isna().all():
        return []
    df = df[np.isfinite(df["sqnr_db"].astype(float))]
    # one marker per (precision, board, core, threads) panel: nothing from two of them merged
    grid = sns.relplot(data=df, x="total_ms", y="sqnr_db", hue="operator", style="panel",
                       col="layer_label", col_wrap=min(4, df["layer_label"].nunique()), s=70,
                       facet_kws={"sharex": False, "sharey": False}, height=3.2)
    grid.map_dataframe(_latency_spread)
    grid.set_axis_labels("median latency (ms)", "SQNR vs float64 direct (dB)")
    grid.set_titles("{col_name}")
    grid.figure.suptitle("Latency versus error (up and left is better); whiskers: p10-p90 of the latency", y=1.02)
    _footer(grid.figure, df)
    return _save(grid.figure, out, "error")


def _latency_spread(data: pd.DataFrame, **kwargs) -> None:
    """p10-p90 of the total latency as horizontal whiskers (one facet of the error plot)."""
    p10, p90 = data["total_p10_ms"].astype(float), data["total_p90_ms"].astype(float)
    ok = np.isfinite(p10) & np.isfinite(p90)
    x = data["total_ms"].astype(float)
    plt.gca().errorbar(x[ok], data["sqnr_db"].astype(float)[ok], xerr=[np.clip(x - p10, 0, None)[ok], np.clip(p90 - x, 0, None)[ok]],
                       fmt="none", ecolor="0.4", elinewidth=0.7, zorder=0)


def all_plots(df: pd.DataFrame, out, min_sqnr: float = DEFAULT_MIN_SQNR_DB) -> list[Path]:
    out = output_dir(out)
    return breakdown(df, out) + speedup(df, out, min_sqnr) + engines(df, out, min_sqnr) + error(df, out)


def compare_plot(cmp: pd.DataFrame, out: Path, min_change: float, note: list[str] = ()) -> list[Path]:
    """`bench compare`: the change of each case's median against its old latency, coloured by the
    verdict; the band is +-min_change (inside it nothing counts as changed); `note`: lines under it
    (where each side was measured)."""
    df = cmp.copy()
    df["change %"] = 100 * df["change"]
    df["verdict"] = np.select([df["changed"] & (df["change"] > 0), df["changed"]], ["slower", "faster"], "unchanged")
    df["precision"] = df["bits"].map(precision_name)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    ax.axhspan(-100 * min_change, 100 * min_change, color="0.9", zorder=0)
    sns.scatterplot(data=df, x="old_ms", y="change %", hue="verdict", style="precision", ax=ax, s=40,
                    hue_order=["unchanged", "faster", "slower"], palette=["0.5", "tab:green", "tab:red"])
    ax.set_xscale("log")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("old median latency (ms, log scale)")
    ax.set_ylabel("change of the median (%)")
    ax.set_title(f"{int(df['changed'].sum())} of {len(df)} cases changed (U test and |change| >= {100 * min_change:g}%)")
    fig.text(0.0, -0.02, "\n".join(note), ha="left", va="top", fontsize=8, color="0.25")
    return _save(fig, Path(out), "compare")


def network_plot(table: pd.DataFrame, out: Path) -> list[Path]:
    """`bench network`: stacked stage sums of the whole network per assignment, one panel per
    (board, core, threads) table; the label on each bar is its speedup over im2row fp32."""
    tables = list(dict.fromkeys(table["table"]))
    fig, axes = plt.subplots(1, len(tables), figsize=(0.6 * len(table) / len(tables) + 3.5, 4.2) if len(tables) == 1
                             else (5.0 * len(tables), 4.2), squeeze=False)
    colors = sns.color_palette("deep", len(STAGES))
    for ax, name in zip(axes[0], tables):
        sub = table[table["table"] == name]
        bottom = np.zeros(len(sub))
        parts = [*zip(colors, STAGES.items()), ("0.75", ("predicted_ms", "predicted layers"))]
        for color, (column, stage) in parts:
            if sub[column].any():
                ax.bar(sub["assignment"], sub[column].fillna(0), bottom=bottom, color=color, label=stage)
                bottom += np.nan_to_num(sub[column].to_numpy(dtype=float))
        whole = np.where(sub["input_ms"].isna(), sub["total_ms"], np.nan)   # engines: no stage breakdown
        if not np.isnan(whole).all():
            ax.bar(sub["assignment"], np.nan_to_num(whole), color="0.6", label="total (engine, no stages)")
        ax.set_ylim(0, 1.12 * float(sub["total_ms"].max()))
        for x, (top, speed) in enumerate(zip(sub["total_ms"], sub["speedup"])):
            if np.isfinite(speed):
                ax.annotate(f"{speed:.2f}x", (x, top), ha="center", va="bottom", fontsize=8)
        words = " + ".join(fidelity_label(w, name.split("/")[1]) for w in str(sub["where"].iloc[0]).split("+")) \
            if "where" in sub else ""
        ax.set_title(f"{name}\n{words}", fontsize=10)
        ax.set_ylabel("network latency (ms)")
        ax.tick_params(axis="x", labelrotation=90, labelsize=8)
    axes[0][0].legend(frameon=False, fontsize=8)
    fig.suptitle("Whole network: stage sums (count x median); labels: speedup over im2row fp32", y=1.02)
    fig.tight_layout()
    wheres = {w for v in table.get("where", []) for w in str(v).split("+")}
    if wheres & set(CAVEATS):
        fig.text(0.0, -0.01, "\n".join(CAVEATS[w] for w in sorted(wheres) if w in CAVEATS), ha="left", va="top",
                 fontsize=8, color="0.25", wrap=True)
    return _save(fig, Path(out), "network")


def _roofline_points(df: pd.DataFrame) -> pd.DataFrame:
    """One point per (case, stage) with operations: arithmetic intensity (ops/byte, bench.analysis.workload)
    and the rate the stage achieved (GOP/s)."""
    points = []
    for r in df[df["engine"] == OUR_ENGINE].itertuples():   # engines expose no stages
        work = stage_work(r.algo, r.bits, (r.h, r.w, r.cin, r.cout, r.k, r.stride, r.pad), r.transform)
        for stage, (ops, nbytes) in work.items():
            ms = getattr(r, f"{stage}_ms")
            if ops > 0 and ms and ms > 0:
                points.append({"board": r.board, "core": r.core, "threads": r.threads, "precision": r.precision,
                               "stage": STAGES[f"{stage}_ms"],
                               "where": r.where, "where_label": r.where_label,
                               "algo": r.algo, "intensity": ops / nbytes, "gops": ops / (ms * 1e6)})
    return pd.DataFrame(points)


def roofline(df: pd.DataFrame, peaks: pd.DataFrame, out: Path, warnings: list | None = None) -> list[Path]:
    """Each stage of each case on its core's roofline, one panel per (board, core, threads, precision).
    Two roofs: the runner's peak probe (dashed: its FMA or int8 MAC loop and streaming bandwidth),
    and the roof that holds every point (solid: the probe's, raised to the best rate and bandwidth
    any stage achieved), so no point sits above the roof drawn. A point above the probe's roof is
    named in `warnings` and on the panel: the probe does not run the GEMMs' instruction mix there
    (SIMDe's emulation of it on a host, for one) or the data sat in cache. Stages without
    operations (im2row's patch packing) have no point."""
    points = _roofline_points(_prepare(df))
    if "bw_gbs" not in peaks:   # no peak line recorded (a run stopped before it, a table written by hand)
        return []
    peaks = peaks.assign(threads=peaks["threads"].fillna(1).astype(int))
    peaks = peaks.dropna(subset=["bw_gbs"]).groupby(["board", "core", "threads"])[["f32_gflops", "i8_gops", "bw_gbs"]].median()
    if points.empty or peaks.empty:
        return []
    panels = [k for k in points.groupby(["board", "core", "threads", "precision"]).groups if k[:3] in peaks.index]
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        board, core, threads, precision = panel
        sub = points[(points["board"] == board) & (points["core"] == core) & (points["threads"] == threads)
                     & (points["precision"] == precision)]
        note = _roofline_panel(ax, sub, peaks.loc[panel[:3]], panel)
        if note and warnings is not None:
            warnings.append(note)
    fig.tight_layout()
    _footer(fig, points)
    return _save(fig, Path(out), "roofline")


def _roofline_panel(ax, sub: pd.DataFrame, peak, panel: tuple) -> str | None:
    """One roofline panel; returns the warning for points above the probe's roof, if any."""
    board, core, threads, precision = panel
    probe, bw = float(peak["i8_gops" if precision == "int8" else "f32_gflops"]), float(peak["bw_gbs"])
    roof, roof_bw = max(probe, float(sub["gops"].max())), max(bw, float((sub["gops"] / sub["intensity"]).max()))
    x = np.logspace(np.log10(min(sub["intensity"].min(), 0.05)), np.log10(max(sub["intensity"].max(), 100) * 2), 200)
    ax.plot(x, np.minimum(roof, x * roof_bw), color="0.2", lw=1.5, label="roof: best achieved")
    ax.plot(x, np.minimum(probe, x * bw), color="tab:red", lw=1.0, ls="--", label="roof: peak probe")
    ax.annotate(f"best {roof:.1f} GOP/s, {roof_bw:.1f} GB/s\nprobe {probe:.1f} GOP/s, {bw:.1f} GB/s", (x[-1], roof),
                ha="right", va="bottom", fontsize=7)
    sns.scatterplot(data=sub, x="intensity", y="gops", hue="stage", style="algo", ax=ax, s=28, alpha=0.8,
                    hue_order=list(STAGES.values()))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (operations per byte)")
    ax.set_ylabel("achieved GOP/s (fp32: GFLOP/s)")
    ax.set_title(f"{precision} on {board}/{core} t{threads}\n{'; '.join(sorted(set(sub['where_label'])))}", fontsize=10)
    ax.legend(fontsize=7)
    above = sub[sub["gops"] > np.minimum(probe, sub["intensity"] * bw) * 1.02]
    if above.empty:
        return None
    ax.text(0.02, 0.02, f"{len(above)} of {len(sub)} points above the probe's roof", transform=ax.transAxes,
            fontsize=8, color="tab:red")
    return (f"roofline {precision} on {board}/{core} t{threads}: {len(above)} of {len(sub)} points lie above the peak "
            f"probe's roof (up to {above['gops'].max():.1f} GOP/s against {probe:.1f}); the probe does not run the "
            f"GEMMs' instruction mix there (or data sat in cache): the solid roof is the best rate achieved")
