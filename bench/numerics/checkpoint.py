"""State dicts of trained networks as numpy arrays, read without torch: `read_state_dict(path)` for a
PyTorch `.pt`/`.pth` (torch.save's zip format), `.npz` and `.safetensors`.

A `.pt` file is a zip holding a pickle (`*/data.pkl`) and one raw little-endian byte file per
storage (`*/data/<key>`). Unpickling runs whatever class the pickle names, so a plain
`pickle.load` of a stranger's checkpoint can run arbitrary code. `_TensorUnpickler` builds only
what a state dict is made of: ordered dicts, tensors (typed storages rebuilt from the raw bytes
with their offset, size and strides) and parameters; any other class refuses the file. Only
arrays come back; nothing of torch is imported.
"""

from __future__ import annotations

import collections
import io
import json
import math
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

MAX_CHECKPOINT_BYTES = 4 << 30    # refuse anything larger unread
MAX_ARRAYS = 100_000

# torch storage classes -> numpy dtypes (the dtypes a state dict of a conv net holds)
_STORAGES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8",
             "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1",
             "BoolStorage": "?"}
_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                       "I8": "i1", "U8": "u1", "BOOL": "?"}


class _Storage:
    """A storage named by the pickle: its dtype and the zip member holding its bytes."""

    def __init__(self, dtype: str, data: bytes):
        self.array = np.frombuffer(data, dtype=np.dtype(dtype))


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    """torch._utils._rebuild_tensor_v2: a view of the storage, checked to stay inside it, copied."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor without a storage")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size + stride) or offset < 0:
        raise pickle.UnpicklingError(f"a tensor of size {size} and strides {stride}")
    flat = storage.array
    if math.prod(size) == 0:
        return np.zeros(size, dtype=flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise pickle.UnpicklingError(f"a tensor of size {size} past the end of its storage ({flat.size})")
    view = np.lib.stride_tricks.as_strided(flat[offset:], size, tuple(s * flat.itemsize for s in stride),
                                           writeable=False)
    return np.array(view)


def _rebuild_parameter(data, *_ignored):
    return data


class _TensorUnpickler(pickle.Unpickler):
    """Builds ordered dicts, tensors and parameters only (module docstring)."""

    _ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
                ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
                ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
                ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter}

    def __init__(self, data: bytes, zf: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(data))
        self.zf, self.prefix = zf, prefix

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGES:
            return name
        raise pickle.UnpicklingError(f"refusing to build {module}.{name} (only tensors and dicts are read)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage" and pid[1] in _STORAGES):
            raise pickle.UnpicklingError(f"unknown persistent object {str(pid)[:60]}")
        try:
            data = self.zf.read(f"{self.prefix}data/{pid[2]}")
        except KeyError:
            raise pickle.UnpicklingError(f"storage {pid[2]!r} missing from the archive") from None
        return _Storage(_STORAGES[pid[1]], data)


def _read_pt(path: Path, data: bytes) -> dict:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(f"{path}: not a zip-format PyTorch checkpoint (saved by torch older than 1.6, or not "
                         f"a checkpoint); re-save it with torch.save(model.state_dict(), path)")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        _check_unpacked_size(zf, path)
        pickles = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{path}: expected one */data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][: -len("data.pkl")]
        order = prefix + "byteorder"
        if order in zf.namelist() and zf.read(order).strip() != b"little":
            raise ValueError(f"{path}: a big-endian checkpoint; accepted: little-endian")
        try:
            obj = _TensorUnpickler(zf.read(pickles[0]), zf, prefix).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
            raise ValueError(f"{path}: {str(e)[:200]}") from None
    for key in ("state_dict", "model_state_dict", "model"):   # {"state_dict": ..., "epoch": ...} as often saved
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: holds a {type(obj).__name__}, not a state dict of tensors")
    return {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, np.ndarray)}


def _check_unpacked_size(zf: zipfile.ZipFile, path: Path) -> None:
    """A zip whose members unpack past MAX_CHECKPOINT_BYTES (a zip bomb) is refused unread."""
    size = sum(i.file_size for i in zf.infolist())
    if size > MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{path}: its arrays unpack to {size} bytes; accepted: at most {MAX_CHECKPOINT_BYTES}")


def _read_npz(path: Path, data: bytes) -> dict:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_unpacked_size(zf, path)
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({str(e)[:120]})") from None


def _read_safetensors(path: Path, data: bytes) -> dict:
    """The safetensors layout: an 8-byte little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets}}, then the bytes."""
    try:
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8: 8 + n].decode("utf-8"))
        body = memoryview(data)[8 + n:]
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = (int(v) for v in info["data_offsets"])
            shape = tuple(int(s) for s in info["shape"])
            dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
            if not 0 <= begin <= end <= len(body) or end - begin != math.prod(shape) * dtype.itemsize:
                raise ValueError(f"tensor {name!r} has offsets {begin}..{end} that do not fit its shape")
            out[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).copy()
        return out
    except (struct.error, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{path}: not a readable .safetensors file ({type(e).__name__}: {str(e)[:80]})") from None
    except ValueError as e:
        raise ValueError(f"{path}: not a readable .safetensors file ({str(e)[:120]})") from None


CHECKPOINT_READERS = {".pt": _read_pt, ".pth": _read_pt, ".npz": _read_npz, ".safetensors": _read_safetensors}


def read_state_dict(path) -> dict[str, np.ndarray]:
    """{name: array} of a checkpoint (.pt/.pth, .npz, .safetensors); ValueError naming the file and
    the problem (OSError from reading passes through)."""
    from bench.files import read_bytes

    path = Path(path)
    reader = CHECKPOINT_READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path}: unknown checkpoint type {path.suffix!r}; accepted: {', '.join(CHECKPOINT_READERS)}")
    arrays = reader(path, read_bytes(path, "checkpoint", MAX_CHECKPOINT_BYTES))
    if len(arrays) > MAX_ARRAYS:
        raise ValueError(f"{path}: {len(arrays)} arrays; accepted: at most {MAX_ARRAYS}")
    return arrays
