"""The LUT in formats other tools read (`bench lut --format ofa|pyperf|gbench`), from build_lut rows,
the raw samples of each entry (bench.analysis.provenance.total_samples) and each table's provenance.

- `ofa`: once-for-all / ProxylessNAS YAML, one file per (board, core, threads) table, each entry
  `key: {mean, std, count}` (milliseconds; std the sample standard deviation, n - 1; count the timed
  repetitions), read the way once-for-all's latency_lookup_table.py reads its tables:
  `lut[key]["mean"]` with `key = "-".join([l_type, "input:HxWxC", "output:HxWxC", "name:value", ...])`.
  The key grammar (`ofa_key`):

      conv-input:{H}x{W}x{Cin}-output:{Ho}x{Wo}x{Cout}-kernel:{k}-stride:{s}-op:{operator key}

  that is, the LUT's layer key (bench.layers.Layer.key) and `-op:` with the operator key
  (bench.operators.op_key, e.g. `f4-static-int8`); the operator is the last field, so a key splits
  unambiguously at `-op:`. The provenance is a comment block at the top (YAML readers skip it).
- `pyperf`: a pyperf JSON suite (format 1.0): one benchmark per entry, named `benchmark_name`, one
  run holding every raw sample in seconds, the provenance as metadata; `python -m pyperf
  compare_to OLD NEW` compares two exports by name.
- `gbench`: Google Benchmark JSON: per entry its repetitions (at most GBENCH_REPETITIONS, each the
  mean of consecutive samples, `iterations` of them, in microseconds) and the mean, median and stddev aggregates
  over them as Google Benchmark computes them; the provenance in `context`. Google Benchmark's
  tools/compare.py compares two exports.
"""

from __future__ import annotations

import statistics

import numpy as np

from bench.analysis.lut import table_name
from bench.measure.results import KEY_COLUMNS

FORMATS = ("ofa", "pyperf", "gbench")
GBENCH_REPETITIONS = 100


def ofa_key(layer_key: str, op: str) -> str:
    """The once-for-all-style key of an entry: the layer key, then `-op:` and the operator key."""
    return f"{layer_key}-op:{op}"


def benchmark_name(row: dict) -> str:
    """`board/core/tN/<layer key>/<operator key>`: the name of an entry in pyperf and gbench exports."""
    return f"{table_name(row)}/{row['layer']}/{row['op']}"


def samples_of(row: dict, samples: dict) -> list[float]:
    return samples.get(tuple(row[c] for c in KEY_COLUMNS)) or []


def ofa_documents(rows: list[dict], provenance: dict) -> dict[str, str]:
    """{table name: YAML text}, one once-for-all-style table per (board, core, threads)."""
    import yaml  # a runtime dependency, imported only when writing YAML

    out: dict[str, dict] = {}
    for r in rows:
        if r.get("n_samples"):
            out.setdefault(table_name(r), {})[ofa_key(r["layer"], r["op"])] = {
                "mean": r["mean_ms"], "std": r["std_ms"], "count": r["n_samples"]}
    texts = {}
    for name, table in out.items():
        header = yaml.safe_dump({"provenance": provenance.get(name, {})}, sort_keys=False, width=1000)
        texts[name] = (f"# winobench latency lookup table {name}, once-for-all / ProxylessNAS layout:\n"
                       f"# key -> {{mean, std, count}}: milliseconds over the timed repetitions of the whole\n"
                       f"# convolution (std: sample standard deviation), count: repetitions.\n"
                       f"# key: conv-input:HxWxCIN-output:HOxWOxCOUT-kernel:K-stride:S-op:OPERATOR\n"
                       + "".join(f"# {line}\n" for line in header.splitlines())
                       + yaml.safe_dump(table, sort_keys=True, default_flow_style=False, width=1000))
    return texts


def pyperf_document(rows: list[dict], samples: dict, provenance: dict) -> dict:
    """A pyperf JSON suite (format version 1.0) of every entry with raw samples."""
    benchmarks = []
    for r in rows:
        values = [v / 1e3 for v in samples_of(r, samples)]
        if not values:
            continue
        prov = provenance.get(table_name(r), {})
        meta = {"name": benchmark_name(r), "unit": "second", "loops": 1, **_pyperf_metadata(prov)}
        benchmarks.append({"metadata": meta, "runs": [{"metadata": _clean({"date": _run_date(prov, r)}),
                                                       "values": values}]})
    return {"version": "1.0", "metadata": {"tool": "winobench"}, "benchmarks": benchmarks}


def _run_date(prov: dict, row: dict):
    return next((run.get("date") for run in prov.get("runs") or [] if run.get("run") == row.get("run")), None)


def _pyperf_metadata(prov: dict) -> dict:
    """Provenance as pyperf metadata (its own names where one fits: hostname, cpu_affinity, cpu_freq,
    cpu_config), each value a number or a one-line string."""
    build = (prov.get("builds") or [{}])[-1]
    settings = ((prov.get("runs") or [{}])[-1]).get("settings") or {}
    before = [c for c in prov.get("cpu_state") or [] if c.get("when") == "before"]
    return _clean({
        "hostname": prov.get("board"), "cpu_affinity": ",".join(prov.get("cpus") or []),
        "cpu_freq": ", ".join(f"{c['cpu']}={c['cur_khz'] // 1000} MHz" for c in before if c.get("cur_khz")),
        "cpu_config": ", ".join(f"{c['cpu']}=governor:{c['governor']}" for c in before if c.get("governor")),
        "winobench_core": prov.get("core"), "winobench_threads": prov.get("threads"),
        "winobench_where": prov.get("where"), "winobench_build": build.get("build_hash"),
        "winobench_compiler": build.get("compiler"), "winobench_cflags": build.get("cflags"),
        **{f"winobench_{k}": settings.get(k) for k in ("min_reps", "min_time_ms", "warmup")},
    })


def _clean(meta: dict) -> dict:
    """Metadata pyperf accepts: numbers and non-empty one-line strings; nothing else."""
    out = {}
    for k, v in meta.items():
        if isinstance(v, str):
            v = " ".join(v.split())
        if isinstance(v, (int, float, str)) and not isinstance(v, bool) and v != "":
            out[k] = v
    return out


def gbench_document(rows: list[dict], samples: dict, provenance: dict) -> dict:
    """Google Benchmark JSON (the layout of its --benchmark_format=json, times in microseconds)."""
    benchmarks = []
    for family, r in enumerate(r for r in rows if samples_of(r, samples)):
        benchmarks += _gbench_entries(r, samples_of(r, samples), family)
    return {"context": _gbench_context(provenance), "benchmarks": benchmarks}


def _gbench_context(provenance: dict) -> dict:
    boards = sorted({p.get("board") for p in provenance.values() if p.get("board")})
    dates = [p["date"] for p in provenance.values() if p.get("date")]
    khz = [c["max_khz"] for p in provenance.values() for c in p.get("cpu_state") or [] if c.get("max_khz")]
    governors = {c["governor"] for p in provenance.values() for c in p.get("cpu_state") or [] if c.get("governor")}
    return {"date": max(dates) if dates else None, "host_name": "+".join(boards), "executable": "wb-runner",
            "num_cpus": max((len(p.get("cpus") or []) for p in provenance.values()), default=0),
            "mhz_per_cpu": max(khz) // 1000 if khz else 0, "cpu_scaling_enabled": bool(governors - {"performance"}),
            "caches": [], "load_avg": [], "library_build_type": "release", "json_schema_version": 1,
            "winobench_provenance": provenance}


def _gbench_entries(row: dict, values: list[float], family: int) -> list[dict]:
    """The repetitions of one entry, then its mean, median and stddev aggregates."""
    chunks = np.array_split(np.asarray(values, dtype=float), min(len(values), GBENCH_REPETITIONS))
    name, n = benchmark_name(row), len(chunks)
    base = {"family_index": family, "per_family_instance_index": 0, "run_name": name, "repetitions": n,
            "threads": row["threads"], "time_unit": "us"}
    out = [{"name": name, **base, "run_type": "iteration", "repetition_index": i, "iterations": len(c),
            "real_time": 1e3 * float(c.mean()), "cpu_time": 1e3 * float(c.mean())} for i, c in enumerate(chunks)]
    means = [1e3 * float(c.mean()) for c in chunks]
    stddev = statistics.stdev(means) if n > 1 else 0.0
    for agg, value in (("mean", statistics.fmean(means)), ("median", statistics.median(means)), ("stddev", stddev)):
        out.append({"name": f"{name}_{agg}", **base, "run_type": "aggregate", "aggregate_name": agg,
                    "aggregate_unit": "time", "iterations": n, "real_time": value, "cpu_time": value})
    return out
