"""Checkpoints of the Winograd-aware training code: read without torch (.pt through the restricted
unpickler, .npz, .safetensors), imported into transform, weight and network files.

The checkpoint is made here in that code's state-dict layout (`<layer>.A_t`, `.B_t`, `.G`, `.weight`
[O, I, 1, 3, 3], `.Quantize_<stage>.{min_val,max_val}`, a plain stem conv and a 1x1 shortcut);
`flex_state()` gives its arrays and tests/fixtures/checkpoints/ holds them as .npz and .safetensors
for machines without torch. With torch (the `torch` fixture installs it) a real `torch.save` of a
module with those names is read back and imported.
"""

from __future__ import annotations

import json
import pickle
import struct
import zipfile

import numpy as np
import pytest

from bench.cli.main import main
from bench.layers import load_network
from bench.numerics.checkpoint import read_state_dict
from bench.numerics.trained import NOT_WINOGRAD_ERROR, stage_size, trained_layers
from bench.numerics.winograd import cook_toom, identity_error, load_transform
from tests.support import FIXTURES

CHECKPOINTS = FIXTURES / "checkpoints"
QUANTIZERS = ("input", "input_Winograd", "weights", "weights_Winograd", "Hadamard", "output", "A", "B", "G")
# layer -> (m, cin, cout); layer3's F6 has its BT rows scaled out of order: not a Winograd transform
WINOGRAD_LAYERS = {"layer1.0.conv1": (4, 8, 8), "layer2.0.conv1": (4, 8, 16), "layer3.0.conv1": (6, 16, 16)}


def flex_state(seed: int = 0) -> dict:
    """The arrays of the tiny checkpoint, in the training code's names and shapes (float32)."""
    rng = np.random.default_rng(seed)
    state = {"conv1.weight": rng.standard_normal((8, 3, 3, 3))}
    for name, (m, cin, cout) in WINOGRAD_LAYERS.items():
        t = cook_toom(m)
        AT, G, BT = (mat + 0.01 * rng.standard_normal(mat.shape) * (mat != 0) for mat in (t.AT, t.G, t.BT))
        if m == 6:
            BT = BT * np.array([1, 2, 2, 0.5, 0.5, 3, 3, 1.0])[::-1, None]
        state.update({f"{name}.A_t": AT, f"{name}.B_t": BT, f"{name}.G": G,
                      f"{name}.weight": rng.standard_normal((cout, cin, 1, 3, 3)) * 0.2})
        for q in QUANTIZERS:
            state[f"{name}.Quantize_{q}.min_val"] = -rng.uniform(1, 3, ())
            state[f"{name}.Quantize_{q}.max_val"] = rng.uniform(1, 3, ())
    state["layer2.0.shortcut.0.weight"] = rng.standard_normal((16, 8, 1, 1))
    return {k: np.asarray(v, dtype=np.float32) for k, v in state.items()}


def write_safetensors(state: dict, path) -> None:
    header, blobs, offset = {}, [], 0
    for name, arr in state.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_the_committed_fixtures_hold_the_arrays_of_the_layout():
    want = flex_state()
    for suffix in (".npz", ".safetensors"):
        got = read_state_dict(CHECKPOINTS / f"flex_tiny{suffix}")
        assert got.keys() == want.keys()
        assert all(np.array_equal(got[k], want[k]) for k in want)


def test_layers_are_found_with_the_mapping_and_hwio_weights():
    state = flex_state()
    layers = trained_layers(state, "tiny")
    assert [l.name for l in layers] == list(WINOGRAD_LAYERS)
    l1 = layers[0]
    assert np.array_equal(l1.transform.AT, state["layer1.0.conv1.A_t"])
    assert np.array_equal(l1.transform.BT, state["layer1.0.conv1.B_t"])
    assert np.array_equal(l1.transform.G, state["layer1.0.conv1.G"])
    w = state["layer1.0.conv1.weight"]
    assert l1.weights.shape == (3, 3, 8, 8) and l1.weights[1, 2, 3, 4] == w[4, 3, 0, 1, 2]
    assert set(l1.ranges) == set(QUANTIZERS)
    assert l1.ranges["Hadamard"] == (float(state["layer1.0.conv1.Quantize_Hadamard.min_val"]),
                                     float(state["layer1.0.conv1.Quantize_Hadamard.max_val"]))
    assert [l.is_winograd for l in layers] == [True, True, False]
    assert 0 < l1.identity_error < 0.5 and layers[2].identity_error > NOT_WINOGRAD_ERROR


def test_stage_sizes_follow_the_cifar_resnet():
    assert [stage_size(n, 32) for n in ("layer1.0.conv1", "layer2.1.conv2", "layer4.0.conv1", "conv1")] == [32, 16, 4, 32]
    assert stage_size("module.layer3.0.conv1", 32) == 8


def test_import_writes_transforms_weights_and_a_network_file(tmp_path, capsys):
    out = tmp_path / "imp"
    assert main(["transforms", "import", str(CHECKPOINTS / "flex_tiny.safetensors"), "--out", str(out), "--weights"]) == 0
    text = capsys.readouterr().out
    assert "layer3.0.conv1" in text and "NOT a Winograd transform" in text and "--accept-inexact" in text
    net = load_network(out / "network.json")
    assert net.name == "flex_tiny"
    assert [(l.name, l.h, l.cin, l.cout, l.count) for l in net.layers] == [
        ("layer1.0.conv1", 32, 8, 8, 1), ("layer2.0.conv1", 16, 8, 16, 1), ("layer3.0.conv1", 8, 16, 16, 1)]
    assert {d["op"] for d in net.not_measured} == {"conv1 conv 3x3", "layer2.0.shortcut.0 conv 1x1"}
    state = flex_state()
    t = load_transform(net.layers[1].transform)
    assert np.array_equal(t.AT, state["layer2.0.conv1.A_t"].astype(np.float64))
    doc = json.loads(open(net.layers[1].transform).read())
    assert doc["tile_origin"] == "symmetric" and doc["provenance"]["layer"] == "layer2.0.conv1"
    assert len(doc["provenance"]["checkpoint_sha256"]) == 64
    assert doc["provenance"]["identity_error"] == pytest.approx(identity_error(t))
    with np.load(net.layers[1].weights) as z:
        assert z["weights"].shape == (3, 3, 8, 16)
        assert z["range_output"].tolist() == list(json.loads(open(net.layers[1].transform).read())["ranges"]["output"])


def test_a_checkpoint_without_winograd_layers_or_of_another_type_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "plain.npz", **{"conv.weight": np.zeros((2, 2, 3, 3), np.float32)})
    assert main(["transforms", "import", str(tmp_path / "plain.npz"), "--out", str(tmp_path / "o")]) == 2
    assert "no Winograd layer" in capsys.readouterr().err
    (tmp_path / "x.ckpt").write_bytes(b"")
    assert main(["transforms", "import", str(tmp_path / "x.ckpt"), "--out", str(tmp_path / "o")]) == 2
    assert "unknown checkpoint type '.ckpt'; accepted: .pt, .pth, .npz, .safetensors" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _pt_with_pickle(path, payload: bytes) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")


class _Shell:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED",))


def test_a_pt_naming_any_other_class_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _pt_with_pickle(tmp_path / "evil.pt", pickle.dumps({"x": _Shell()}, protocol=2))
    with pytest.raises(ValueError, match=r"refusing to build (posix|os)\.system"):
        read_state_dict(tmp_path / "evil.pt")
    assert not (tmp_path / "PWNED").exists()
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a zip-format PyTorch checkpoint"):
        read_state_dict(tmp_path / "old.pt")


def test_a_real_torch_checkpoint_is_read_and_imported_like_its_arrays(torch, tmp_path):
    """torch.save of a module with the training code's parameter and buffer names (parameters,
    buffers, a non-contiguous tensor) reads back bit-exact, without torch in the reader."""
    state = flex_state()
    module = torch.nn.Module()
    for key, arr in state.items():
        *parents, leaf = key.split(".")
        owner = module
        for p in parents:
            if not hasattr(owner, p):
                owner.add_module(p, torch.nn.Module())
            owner = getattr(owner, p)
        tensor = torch.from_numpy(arr.copy())
        if leaf in ("min_val", "max_val"):
            owner.register_buffer(leaf, tensor)
        else:
            owner.register_parameter(leaf, torch.nn.Parameter(tensor))
    sd = module.state_dict()
    sd["layer1.0.conv1.G"] = torch.from_numpy(state["layer1.0.conv1.G"].T.copy()).t()   # strided view
    torch.save(sd, tmp_path / "tiny.pt")
    got = read_state_dict(tmp_path / "tiny.pt")
    assert got.keys() == state.keys()
    assert all(np.array_equal(got[k], state[k]) for k in state)
    assert main(["transforms", "import", str(tmp_path / "tiny.pt"), "--out", str(tmp_path / "imp")]) == 0
    assert len(load_network(tmp_path / "imp" / "network.json").layers) == 3


def test_a_zip_that_unpacks_past_the_limit_is_refused_unread(tmp_path, monkeypatch):
    from bench.numerics import checkpoint

    monkeypatch.setattr(checkpoint, "MAX_CHECKPOINT_BYTES", 1000)
    with zipfile.ZipFile(tmp_path / "big.pt", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * 5000)
    with pytest.raises(ValueError, match="unpack to 5000 bytes; accepted: at most 1000"):
        read_state_dict(tmp_path / "big.pt")
