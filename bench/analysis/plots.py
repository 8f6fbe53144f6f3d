"""Figures from a latency table (bench.measure.results), through seaborn; each written as PNG and SVG.

- breakdown: stacked bars of input transform / GEMM / output transform per layer and operator, one
  panel row per (bit width, core).
- speedup: heatmap of the best Winograd variant's speedup over im2row of the same bit width, across
  resolution x channels, one panel per (bit width, core).
- error: latency versus SQNR per layer (needs the error columns).
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
from bench.files import output_dir, replacing  # noqa: E402
from bench.operators import precision_name, product_precision, requant_suffix, scheme_suffix, transform_name  # noqa: E402

sns.set_theme(style="whitegrid")

STAGES = {"input_ms": "input transform", "gemm_ms": "GEMM", "output_ms": "output transform"}
MAX_BREAKDOWN_LAYERS = 12


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["status"] == "ok"].copy()
    df["precision"] = df["bits"].map(precision_name)
    schemes = df["scheme"] if "scheme" in df else pd.Series("none", index=df.index)
    requants = df["requant"] if "requant" in df else pd.Series("none", index=df.index)
    # tap and wide are other kernels of the same operator: named apart (tensor keeps the plain name),
    # and so is the non-default fp32 requantization
    df["operator"] = [" ".join(x for x in (a if a == "im2row" else f"{a} {transform_name(t)}", scheme_suffix(s),
                                           requant_suffix(r)) if x)
                      for a, t, s, r in zip(df["algo"], df["transform"], schemes, requants)]
    # wide keeps int8 in and out but multiplies int16 by int16: named as the int16 GEMM it is
    df["quantization"] = [p if s == "none" else f"{p} {s}" + (f" ({g} GEMM)" if g != p else "")
                          for p, s, g in zip(df["precision"], schemes,
                                             (product_precision(b, s) for b, s in zip(df["bits"], schemes)))]
    df["layer_label"] = [f"{h}x{w} {ci}->{co}" for h, w, ci, co in zip(df["h"], df["w"], df["cin"], df["cout"])]
    df["panel"] = df["precision"] + " on " + df["core"] + np.where(df["emulated"].astype(bool), " (emulated)", "")
    return df.sort_values(["h", "cin", "cout", "algo", "transform"])


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
    df = _prepare(df)
    layers = list(dict.fromkeys(df["layer_label"]))
    if len(layers) > MAX_BREAKDOWN_LAYERS:  # keep a readable figure: evenly spaced layers
        layers = [layers[i] for i in np.linspace(0, len(layers) - 1, MAX_BREAKDOWN_LAYERS).round().astype(int)]
    panels = sorted(df["panel"].unique())
    operators = list(dict.fromkeys(df.sort_values(["algo", "transform"])["operator"]))
    colors = sns.color_palette("deep", len(STAGES))
    fig, axes = plt.subplots(len(panels), len(layers), figsize=(2.6 * len(layers) + 1.2, 3.0 * len(panels) + 0.8),
                             squeeze=False)
    for (i, panel), (j, layer) in itertools.product(enumerate(panels), enumerate(layers)):
        ax = axes[i][j]
        sub = df[(df["panel"] == panel) & (df["layer_label"] == layer)].set_index("operator").reindex(operators)
        bottom = np.zeros(len(operators))
        for color, (column, stage) in zip(colors, STAGES.items()):
            values = sub[column].to_numpy(dtype=float)
            ax.bar(operators, np.nan_to_num(values), bottom=bottom, color=color, label=stage, width=0.75)
            bottom += np.nan_to_num(values)
        ax.set_title(layer if i == 0 else "", fontsize=10)
        ax.set_ylabel(f"{panel}\nmedian ms" if j == 0 else "")
        ax.tick_params(axis="x", labelrotation=90, labelsize=8)
        ax.tick_params(axis="y", labelsize=8)
        if i < len(panels) - 1:
            ax.set_xticklabels([])
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(STAGES), bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle("Latency per stage (median of repetitions); columns are layers H x W Cin->Cout", y=1.04)
    fig.tight_layout()
    return _save(fig, out, "breakdown")


def speedup(df: pd.DataFrame, out: Path) -> list[Path]:
    df = _prepare(df)
    base = df[df["algo"] == "im2row"].set_index(["panel", "h", "w", "cin", "cout"])["total_ms"]
    wino = df[df["algo"] != "im2row"].groupby(["panel", "h", "w", "cin", "cout"])["total_ms"].min()
    ratio = (base / wino).dropna().rename("speedup").reset_index()
    if ratio.empty:
        return []
    ratio["resolution"] = [f"{h}x{w}" for h, w in zip(ratio["h"], ratio["w"])]
    ratio["channels"] = [str(ci) if ci == co else f"{ci}->{co}" for ci, co in zip(ratio["cin"], ratio["cout"])]
    panels = sorted(ratio["panel"].unique())
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    vmax = max(2.0, float(ratio["speedup"].max()))
    for ax, panel in zip(axes[0], panels):
        sub = ratio[ratio["panel"] == panel]
        table = sub.pivot_table(index="resolution", columns="channels", values="speedup")
        table = table.reindex(sorted(table.index, key=lambda s: int(s.split("x")[0])))
        table = table[sorted(table.columns, key=lambda s: int(s.split("->")[0]))]
        sns.heatmap(table, ax=ax, annot=True, fmt=".2f", cmap="RdBu", center=1.0, vmin=0, vmax=vmax,
                    cbar_kws={"label": "x faster than im2row"})
        ax.grid(False)
        ax.set_title(f"best Winograd vs im2row, {panel}")
        ax.set_xlabel("channels (Cin -> Cout)")
        ax.set_ylabel("resolution (H x W)")
    return _save(fig, out, "speedup")


def error(df: pd.DataFrame, out: Path) -> list[Path]:
    df = _prepare(df)
    if "sqnr_db" not in df or df["sqnr_db"].isna().all():
        return []
    df = df[np.isfinite(df["sqnr_db"].astype(float))]
    grid = sns.relplot(data=df, x="total_ms", y="sqnr_db", hue="operator", style="quantization",
                       col="layer_label", col_wrap=min(4, df["layer_label"].nunique()), s=70,
                       facet_kws={"sharex": False, "sharey": False}, height=3.2)
    grid.set_axis_labels("median latency (ms)", "SQNR vs float64 direct (dB)")
    grid.set_titles("{col_name}")
    grid.figure.suptitle("Latency versus error (up and left is better)", y=1.02)
    return _save(grid.figure, out, "error")


def all_plots(df: pd.DataFrame, out) -> list[Path]:
    out = output_dir(out)
    return breakdown(df, out) + speedup(df, out) + error(df, out)


def compare_plot(cmp: pd.DataFrame, out: Path, min_change: float) -> list[Path]:
    """`bench compare`: the change of each case's median against its old latency, coloured by the
    verdict; the band is +-min_change (inside it nothing counts as changed)."""
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
                ax.bar(sub["assignment"], sub[column], bottom=bottom, color=color, label=stage)
                bottom += sub[column].to_numpy(dtype=float)
        ax.set_ylim(0, 1.12 * float(sub["total_ms"].max()))
        for x, (top, speed) in enumerate(zip(sub["total_ms"], sub["speedup"])):
            if np.isfinite(speed):
                ax.annotate(f"{speed:.2f}x", (x, top), ha="center", va="bottom", fontsize=8)
        ax.set_title(name)
        ax.set_ylabel("network latency (ms)")
        ax.tick_params(axis="x", labelrotation=90, labelsize=8)
    axes[0][0].legend(frameon=False, fontsize=8)
    fig.suptitle("Whole network: stage sums (count x median); labels: speedup over im2row fp32", y=1.02)
    fig.tight_layout()
    return _save(fig, Path(out), "network")


def _roofline_points(df: pd.DataFrame) -> pd.DataFrame:
    """One point per (case, stage) with operations: arithmetic intensity (ops/byte, bench.analysis.workload)
    and the rate the stage achieved (GOP/s)."""
    points = []
    for r in df.itertuples():
        work = stage_work(r.algo, r.bits, (r.h, r.w, r.cin, r.cout), r.transform)
        for stage, (ops, nbytes) in work.items():
            ms = getattr(r, f"{stage}_ms")
            if ops > 0 and ms and ms > 0:
                points.append({"board": r.board, "core": r.core, "precision": r.precision, "stage": STAGES[f"{stage}_ms"],
                               "algo": r.algo, "intensity": ops / nbytes, "gops": ops / (ms * 1e6)})
    return pd.DataFrame(points)


def roofline(df: pd.DataFrame, peaks: pd.DataFrame, out: Path) -> list[Path]:
    """Each stage of each case on its core's roofline: attainable = min(peak, intensity x bandwidth),
    with the runner's peak line (fp32 FMA rate or int8 MAC rate, streaming bandwidth); one panel per
    (board, core, precision). Stages without operations (im2row's patch packing) have no point."""
    points = _roofline_points(_prepare(df))
    if "bw_gbs" not in peaks:   # no peak line recorded (a run stopped before it, a table written by hand)
        return []
    peaks = peaks.dropna(subset=["bw_gbs"]).groupby(["board", "core"])[["f32_gflops", "i8_gops", "bw_gbs"]].median()
    if points.empty or peaks.empty:
        return []
    panels = [k for k in points.groupby(["board", "core", "precision"]).groups if k[:2] in peaks.index]
    if not panels:
        return []
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.6), squeeze=False)
    for ax, (board, core, precision) in zip(axes[0], panels):
        peak = peaks.loc[(board, core)]
        roof = peak["i8_gops" if precision == "int8" else "f32_gflops"]
        sub = points[(points["board"] == board) & (points["core"] == core) & (points["precision"] == precision)]
        x = np.logspace(np.log10(min(sub["intensity"].min(), 0.05)), np.log10(max(sub["intensity"].max(), 100) * 2), 200)
        ax.plot(x, np.minimum(roof, x * peak["bw_gbs"]), color="0.2", lw=1.5, label="roof")
        ax.annotate(f"peak {roof:.1f} GOP/s, {peak['bw_gbs']:.1f} GB/s", (x[-1], roof), ha="right", va="bottom", fontsize=8)
        sns.scatterplot(data=sub, x="intensity", y="gops", hue="stage", style="algo", ax=ax, s=28, alpha=0.8,
                        hue_order=list(STAGES.values()))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("arithmetic intensity (operations per byte)")
        ax.set_ylabel("achieved GOP/s (fp32: GFLOP/s)")
        ax.set_title(f"{precision} on {board}/{core}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, Path(out), "roofline")
