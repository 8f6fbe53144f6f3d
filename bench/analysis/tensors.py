"""Operator probabilities as arrays, for search code: numpy arrays, or torch tensors when the caller
passes torch tensors. torch is an optional extra and is never imported here: a tensor can only be
a torch tensor when the caller has imported torch already (`sys.modules`).

Probabilities have the operators on the last axis: [O] for one layer, [L, O] for L layers,
[B, L, O] for a batch. Each row is renormalised (E = sum_j p_j F_j / sum_j p_j), so a float16 or
bfloat16 softmax whose sum is off by a rounding error still gives the right expectation; under a
softmax the renormalisation changes no gradient with respect to the logits. Rows are checked
(finite, non-negative, summing to 1 within `tolerance(dtype)`) when the values are on the host
(numpy, or torch on the CPU); on an accelerator the check would wait for the device on every call,
so there it is left out. Sums run in float32 at least: latencies of a few milliseconds keep their
digits when the probabilities are 16-bit.
"""

from __future__ import annotations

import sys

import numpy as np


def torch_of(x):
    """The torch module when `x` is a torch tensor, else None (torch is never imported here)."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(x, torch.Tensor) else None


def is_array(x) -> bool:
    """A numpy array or a torch tensor (the tensor form of the LUT), not a dict or a number."""
    return isinstance(x, np.ndarray) or torch_of(x) is not None


def compute_dtype(x):
    """The dtype sums run in for probabilities `x`: its own for float32/float64 (and wider), float32
    for 16-bit floats and float64 for integers and booleans (a one-hot choice)."""
    torch = torch_of(x)
    if torch is not None:
        if not x.dtype.is_floating_point:
            return torch.float64
        return torch.promote_types(x.dtype, torch.float32)
    dtype = np.asarray(x).dtype
    if not np.issubdtype(dtype, np.floating):
        return np.dtype(np.float64)
    return np.promote_types(dtype, np.float32)


def tolerance(dtype) -> float:
    """How far a row's sum may be from 1: a few rounding steps of the probabilities' own dtype
    (1e-6 for float32 and float64, about 0.008 for float16, 0.06 for bfloat16)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        eps = torch.finfo(dtype).eps if dtype.is_floating_point else 0.0
    else:
        dtype = np.dtype(dtype)
        eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else 0.0
    return max(1e-6, 8 * eps)


def matrix_like(matrix: np.ndarray, like):
    """A float64 numpy matrix as the caller wants it: numpy (`like` None or a numpy array: float64,
    or the array's dtype when wider than float32), a torch tensor on `like`'s device in the dtype its
    sums run in (`compute_dtype`), or a CPU tensor of torch's default dtype for `like="torch"`."""
    if like is None:
        return matrix
    if isinstance(like, str):
        if like != "torch":
            raise ValueError(f"bad like {like!r}; accepted: None (numpy), 'torch', a numpy array or a torch tensor")
        import torch  # asked for by name: the optional extra must be installed

        return torch.as_tensor(matrix, dtype=torch.get_default_dtype())
    torch = torch_of(like)
    if torch is not None:
        return torch.as_tensor(matrix, dtype=compute_dtype(like), device=like.device)
    return matrix.astype(compute_dtype(like), copy=False)


def check_rows(p, where: str) -> None:
    """ValueError when a row of probabilities (last axis) is negative, not finite or does not sum to 1
    within the dtype's tolerance; nothing is read back from an accelerator (no check there). One
    reduction each for the smallest value and the worst sum (NaN fails both comparisons)."""
    torch = torch_of(p)
    if torch is not None:
        if p.device.type != "cpu":
            return
        values = p.detach().to(compute_dtype(p))
        sums = values.sum(-1)
        if values.numel() == 0 or bool((values.min() >= 0) & ((sums - 1).abs().max() <= tolerance(p.dtype))):
            return
    else:
        values = np.asarray(p, dtype=compute_dtype(p))
        sums = values.sum(-1)
        if values.size == 0 or bool(values.min() >= 0 and np.abs(sums - 1).max() <= tolerance(np.asarray(p).dtype)):
            return
    low, high = float(sums.min()), float(sums.max())
    span = f"{low:.6g}" if low == high else f"{low:.6g} to {high:.6g}"
    raise ValueError(f"operator probabilities {where} must be finite, non-negative and sum to 1 over the operators "
                     f"(last axis; within {tolerance(p.dtype):.2g} for {_dtype_name(p)}), got sums {span}")


def _dtype_name(p) -> str:
    return str(p.dtype).replace("torch.", "")


def expectation(p, stack):
    """sum_o p[..., l, o] stack[l, o, s] / sum_o p[..., l, o] -> [..., L, S]: the expected value of
    each of S matrices per layer, in the dtype of `stack` (from `matrix_like`), differentiable.
    A batched matmul: one call, where einsum's parsing would cost more than the arithmetic."""
    if torch_of(p) is not None:
        q = p.to(stack.dtype)
        return (q.unsqueeze(-2) @ stack).squeeze(-2) / q.sum(-1, keepdim=True)
    q = np.asarray(p).astype(stack.dtype, copy=False)
    return (q[..., None, :] @ stack)[..., 0, :] / q.sum(-1)[..., None]


def weighted_sum(per_layer, counts):
    """sum_l counts[l] per_layer[..., l, s] -> [..., S]; `counts` a [L] vector like `per_layer`."""
    if torch_of(per_layer) is not None:
        return per_layer.transpose(-1, -2) @ counts
    return np.swapaxes(per_layer, -1, -2) @ counts


def unstack(x) -> list:
    """The last axis of `x` as a list of arrays (one call for torch)."""
    if torch_of(x) is not None:
        return list(x.unbind(-1))
    return list(np.moveaxis(x, -1, 0))
