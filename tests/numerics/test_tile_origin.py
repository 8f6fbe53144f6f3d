"""The numpy reference with the `symmetric` tile origin computes what the Winograd-aware training
code's layer computes, for imported (learned, inexact) transforms on sizes that are not a multiple
of m: checked against an independent torch formulation of that code's convention (pad 1, then pad
both sides by round(round((1 - frac(W / m)) m) / 2), unfold a x a tiles at stride m, B_t d B_t^T,
G g G^T, the sum over input channels, A_t M A_t^T, untile, crop)."""

import numpy as np
import pytest

from bench.numerics import reference as R
from bench.numerics.checkpoint import read_state_dict
from bench.numerics.trained import trained_layers
from bench.numerics.winograd import Transform, cook_toom
from tests.support import FIXTURES


def training_code_forward(torch, x_nchw, weight, A_t, B_t, G, m):
    """The training code's convention, written here with torch ops (float64)."""
    F = torch.nn.functional
    x = F.pad(x_nchw, (1, 1, 1, 1))
    W = x_nchw.shape[3]
    tiles = W / m
    p = 0
    if not tiles.is_integer():
        p = round(round((1.0 - (tiles - int(tiles))) * m) / 2)
        x = F.pad(x, (p, p, p, p))
    a = m + 2
    d = x.unfold(2, a, m).unfold(3, a, m)                      # N, C, th, tw, a, a
    V = B_t @ d @ B_t.T
    U = G @ weight[:, :, 0] @ G.T                             # O, I, a, a
    M = torch.einsum("ncyxij,ocij->noyxij", V, U)
    Y = A_t @ M @ A_t.T                                        # N, O, th, tw, m, m
    n, o, th, tw = Y.shape[:4]
    Y = Y.permute(0, 1, 2, 4, 3, 5).reshape(n, o, th * m, tw * m)
    return Y[:, :, p:p + W, p:p + W] if p else Y


def perturbed(m: int) -> Transform:
    t, rng = cook_toom(m), np.random.default_rng(m)
    return Transform(m, 3, t.AT + 0.03 * rng.standard_normal(t.AT.shape) * (t.AT != 0), t.G, t.BT)


CASES = [(10, 4), (16, 6), (32, 6), (16, 4), (8, 6)]


@pytest.mark.parametrize("size,m", CASES)
def test_the_symmetric_origin_is_the_training_codes_tiling(torch, size, m):
    imported = {l.transform.m: l for l in trained_layers(read_state_dict(FIXTURES / "checkpoints" / "flex_tiny.npz"), "t")}
    transforms = [perturbed(m), imported[m].transform]      # F6 there: not a Winograd transform at all
    rng = np.random.default_rng(size)
    x = rng.standard_normal((1, size, size, 4))
    w = rng.standard_normal((3, 3, 4, 3))
    for t in transforms:
        want = training_code_forward(torch, torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                                     torch.from_numpy(w.transpose(3, 2, 0, 1)[:, :, None].copy()),
                                     *(torch.from_numpy(np.ascontiguousarray(a)) for a in (t.AT, t.BT, t.G)), m)
        want = want.numpy().transpose(0, 2, 3, 1)
        got = R.conv2d_winograd(x, w, t, "symmetric")
        assert R.error_metrics(got, want)["rel_l2"] < 1e-12
        if size % m:   # the top-left grid is another computation for an inexact transform
            assert R.error_metrics(R.conv2d_winograd(x, w, t, "top-left"), want)["rel_l2"] > 1e-3


def test_tile_offsets():
    assert [R.tile_offset(s, 4, "symmetric") for s in (10, 16, 32, 8, 4, 7)] == [1, 0, 0, 0, 0, 0]
    assert [R.tile_offset(s, 6, "symmetric") for s in (16, 32, 8, 4, 6)] == [1, 2, 2, 1, 0]
    assert R.tile_offset(10, 4) == 0
    with pytest.raises(ValueError, match="unknown tile origin 'centre'; accepted: top-left, symmetric"):
        R.tile_offset(10, 4, "centre")
