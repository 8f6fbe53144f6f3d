"""Winograd-aware trained networks: the layers of a checkpoint of the public training code of
Fernandez-Marques et al. (MLSys 2020, `Conv2d_winograd` with learned "flex" transforms), turned
into this project's transform files, weight files and a network file (bench.layers).

A Winograd layer `<p>` of that code holds `<p>.A_t` (m x a), `<p>.B_t` (a x a), `<p>.G` (a x r) and
`<p>.weight` (O, I, 1, 3, 3), and with quantization `<p>.Quantize_<stage>.{min_val,max_val}`.
The mapping to this project is AT = A_t, G = G, BT = B_t (no transposes) and weights (O, I, 1, 3, 3)
-> HWIO. That code pads a size that is not a multiple of m symmetrically before tiling, so its
transforms are written with `"tile_origin": "symmetric"` (bench.numerics.reference.tile_offset).

Layer sizes are not in a checkpoint: they follow the training code's CIFAR ResNet, where stage
`layerN` runs at the input size halved N - 1 times (a maxpool starts every later stage).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.files import read_bytes, replacing
from bench.layers import Layer, Network, save_network
from bench.numerics.winograd import Transform, identity_error, transform_from_arrays

# Identity error (max abs deviation of sum_j AT[i,j] G[j,k] BT[j,l] from [l == i + k]) above which a
# transform is not a Winograd transform: learned ones drift by a few hundredths; the training code's
# own F(6,3) sits near 212.
NOT_WINOGRAD_ERROR = 1.0
QUANTIZERS = ("input", "input_Winograd", "weights", "weights_Winograd", "Hadamard", "output", "A", "B", "G")
SOURCE = "Conv2d_winograd of the Winograd-aware training code (MLSys 2020)"


@dataclass
class TrainedLayer:
    """One Winograd layer of a checkpoint: its transform, HWIO weights and trained ranges."""

    name: str
    transform: Transform
    weights: np.ndarray                            # HWIO (3, 3, I, O), float32
    ranges: dict = field(default_factory=dict)     # quantizer stage -> (min, max)

    @property
    def identity_error(self) -> float:
        return identity_error(self.transform)

    @property
    def is_winograd(self) -> bool:
        return self.identity_error <= NOT_WINOGRAD_ERROR


def hwio(weight: np.ndarray, where: str) -> np.ndarray:
    """(O, I, 1, k, k) or (O, I, k, k) -> (k, k, I, O) float32."""
    w = np.asarray(weight)
    if w.ndim == 5 and w.shape[2] == 1:
        w = w[:, :, 0]
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise ValueError(f"{where}: weight of shape {tuple(weight.shape)}; expected (O, I, 1, k, k) or (O, I, k, k)")
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0), dtype=np.float32)


def trained_layers(state: dict, source: str) -> list[TrainedLayer]:
    """Every Winograd layer of a state dict (in its order); ValueError naming the first bad one."""
    out = []
    for key in state:
        if not key.endswith(".A_t"):
            continue
        p = key[: -len(".A_t")]
        missing = [f"{p}.{n}" for n in ("B_t", "G", "weight") if f"{p}.{n}" not in state]
        if missing:
            raise ValueError(f"{source}: Winograd layer {p!r} lacks {', '.join(missing)}")
        t = transform_from_arrays({"AT": state[key], "G": state[f"{p}.G"], "BT": state[f"{p}.B_t"]}, f"{source}: {p}")
        w = hwio(state[f"{p}.weight"], f"{source}: {p}")
        if w.shape[0] != t.r:
            raise ValueError(f"{source}: {p}: weight of kernel {w.shape[0]} but G of {t.r} taps")
        ranges = {q: (float(np.asarray(state[f"{p}.Quantize_{q}.min_val"]).min()),
                      float(np.asarray(state[f"{p}.Quantize_{q}.max_val"]).max()))
                  for q in QUANTIZERS if f"{p}.Quantize_{q}.min_val" in state and f"{p}.Quantize_{q}.max_val" in state}
        out.append(TrainedLayer(p, t, w, ranges))
    return out


MAX_WEIGHT_BYTES = 1 << 30   # a weight file holds one layer: refuse anything larger unread


def load_weights(path) -> tuple[np.ndarray, dict]:
    """(HWIO float32 weights, trained ranges {stage: (min, max)}) of a weight file as the import
    writes it (`weights` and `range_<stage>` arrays in an .npz); ValueError naming the file."""
    data = read_bytes(path, "weight file", MAX_WEIGHT_BYTES)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a weight file (.npz with 'weights' and 'range_<stage>' arrays): {e}") from None
    w = arrays.get("weights")
    if w is None or w.ndim != 4 or w.dtype.kind != "f" or not np.all(np.isfinite(w)):
        raise ValueError(f"{path}: no finite float 'weights' array of 4 dimensions (HWIO); arrays: {', '.join(arrays)}")
    ranges = {}
    for key, r in arrays.items():
        if key.startswith("range_"):
            if r.shape != (2,) or r.dtype.kind not in "fiu" or not np.all(np.isfinite(r)) or r[0] > r[1]:
                raise ValueError(f"{path}: {key} must be a finite (min, max) pair, got {r.tolist()}")
            ranges[key[len("range_"):]] = (float(r[0]), float(r[1]))
    return np.ascontiguousarray(w, dtype=np.float32), ranges


def stage_size(name: str, input_size: int) -> int:
    """The input size of a layer of the training code's CIFAR ResNet: `layerN.*` runs at the input
    size halved N - 1 times, everything else at the input size."""
    m = re.match(r"(?:.*\.)?layer(\d+)\.", name)
    return max(1, input_size >> (int(m.group(1)) - 1)) if m else input_size


def other_convs(state: dict, winograd: set, input_size: int) -> list[dict]:
    """The network's convolutions that are not Winograd layers, as not_measured {op, macs}."""
    out = []
    for key, w in state.items():
        p = key[: -len(".weight")]
        if key.endswith(".weight") and p not in winograd and np.ndim(w) == 4:
            o, i, kh, kw = np.shape(w)
            s = stage_size(p, input_size)
            out.append({"op": f"{p} conv {kh}x{kw}", "macs": int(s * s * o * i * kh * kw)})
    return out


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def transform_document(layer: TrainedLayer, checkpoint: Path, digest: str) -> dict:
    t = layer.transform
    return {"m": t.m, "r": t.r, "AT": t.AT.tolist(), "G": t.G.tolist(), "BT": t.BT.tolist(),
            "tile_origin": "symmetric",
            "provenance": {"source": SOURCE, "checkpoint": checkpoint.name, "checkpoint_sha256": digest,
                           "layer": layer.name, "identity_error": layer.identity_error,
                           "winograd": layer.is_winograd},
            "ranges": {q: list(r) for q, r in layer.ranges.items()}}


def write_import(layers: list[TrainedLayer], state: dict, checkpoint: Path, out: Path, input_size: int,
                 with_weights: bool) -> Path:
    """transforms/<layer>.json (+ weights/<layer>.npz) and network.json in `out`; returns the
    network file's path. Every file is written whole or not at all."""
    from bench.numerics.checkpoint import MAX_CHECKPOINT_BYTES

    digest = file_digest(read_bytes(checkpoint, "checkpoint", MAX_CHECKPOINT_BYTES))
    rows = []
    for l in layers:
        tpath = out / "transforms" / f"{l.name}.json"
        tpath.parent.mkdir(parents=True, exist_ok=True)
        with replacing(tpath) as tmp:
            tmp.write_text(json.dumps(transform_document(l, checkpoint, digest), indent=1) + "\n")
        wpath = None
        if with_weights:
            wpath = out / "weights" / f"{l.name}.npz"
            wpath.parent.mkdir(parents=True, exist_ok=True)
            with replacing(wpath) as tmp, open(tmp, "wb") as f:
                np.savez(f, weights=l.weights, **{f"range_{q}": np.array(r) for q, r in l.ranges.items()})
        s = stage_size(l.name, input_size)
        rows.append(Layer(s, s, l.weights.shape[2], l.weights.shape[3], 1, l.name, transform=str(tpath),
                          weights=str(wpath) if wpath else None))
    extra = other_convs(state, {l.name for l in layers}, input_size)
    return save_network(Network(checkpoint.stem, tuple(rows), tuple(extra)), out / "network.json")
