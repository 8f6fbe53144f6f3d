"""Cook-Toom generator, transform files and the `bench transforms` command."""

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from bench.numerics.winograd import (BARABASZ_POINTS, Transform, cook_toom, exact_matrices, identity_error,
                            identity_holds_exactly, load_transform, parse_points, save_transform)


@pytest.mark.parametrize("m,r", [(m, 3) for m in range(2, 9)] + [(m, 5) for m in range(2, 5)])
def test_identity_holds_exactly_with_default_points(m, r):
    t = cook_toom(m, r)
    assert t.AT.shape == (m, m + r - 1) and t.G.shape == (m + r - 1, r) and t.BT.shape == (m + r - 1,) * 2
    assert identity_holds_exactly(*t.exact)
    assert identity_error(t) < 1e-12


@pytest.mark.parametrize("m", [4, 6])
def test_identity_holds_exactly_with_barabasz_points(m):
    t = cook_toom(m, 3, BARABASZ_POINTS[(m, 3)])
    assert identity_holds_exactly(*t.exact)


def test_identity_check_detects_a_wrong_matrix():
    AT, G, BT = exact_matrices(4, 3, cook_toom(4).points)
    BT[2][3] += Fraction(1, 1000)
    assert not identity_holds_exactly(AT, G, BT)


def _rows_equal_up_to_scaling(ours, published):
    for a, b in zip(ours, published):
        k = next(i for i, v in enumerate(b) if v != 0)
        scale = Fraction(a[k]) / Fraction(b[k])
        assert [Fraction(v) for v in a] == [scale * Fraction(v) for v in b]


def test_f43_matches_the_published_cook_toom_matrices_up_to_row_scaling():
    # Lavin & Gray 2016, F(4x4, 3x3).
    BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
    G = [["1/4", 0, 0], ["-1/6", "-1/6", "-1/6"], ["-1/6", "1/6", "-1/6"],
         ["1/24", "1/12", "1/6"], ["1/24", "-1/12", "1/6"], [0, 0, 1]]
    AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    ours = cook_toom(4).exact
    _rows_equal_up_to_scaling(ours[1], G)
    _rows_equal_up_to_scaling(ours[2], BT)
    # AT columns pair with G/BT rows: compare columns.
    _rows_equal_up_to_scaling(list(zip(*ours[0])), list(zip(*AT)))


def test_default_points_are_the_documented_ones():
    assert [str(p) for p in cook_toom(2).points] == ["0", "1", "-1"]
    assert [str(p) for p in cook_toom(4).points] == ["0", "1", "-1", "2", "-2"]
    assert [str(p) for p in cook_toom(6).points] == ["0", "1", "-1", "2", "-2", "1/2", "-1/2"]


@pytest.mark.parametrize("points,match", [("0,1,1,2,3", "distinct"), ("0,1,-1", "needs 5"), ("0,1,x,2,3", "'x'")])
def test_bad_points_are_refused_with_the_reason(points, match):
    with pytest.raises(ValueError, match=match):
        cook_toom(4, 3, parse_points(points))


@pytest.mark.parametrize("suffix", [".json", ".npz", ".txt"])
def test_transform_files_round_trip(tmp_path, suffix):
    t = cook_toom(6, 3, BARABASZ_POINTS[(6, 3)])
    back = load_transform(save_transform(t, tmp_path / f"f6{suffix}"))
    assert (back.m, back.r) == (6, 3)
    for name in ("AT", "G", "BT"):
        np.testing.assert_array_equal(getattr(back, name), getattr(t, name))




@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(BT=[[1, 2], [3, 4]]), "field 'BT' must be 6 x 6"),
    (lambda d: d.update(G=d["G"][:-1]), "field 'G' must be 6 x 3"),
    (lambda d: d["AT"][1].__setitem__(2, float("nan")), "field 'AT' contains NaN"),
    (lambda d: d.update(m=6), "field 'm' is 6 but the matrices imply m = 4"),
    (lambda d: d.update(r=5), "field 'r' is 5 but the matrices imply r = 3"),
    (lambda d: d.pop("G"), "missing field 'G'"),
    (lambda d: d.update(AT="abc"), "field 'AT'"),
])
def test_malformed_json_transforms_are_refused_naming_the_field(tmp_path, mutate, message):
    t = cook_toom(4)
    doc = {"m": 4, "r": 3, "AT": t.AT.tolist(), "G": t.G.tolist(), "BT": t.BT.tolist()}
    mutate(doc)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))  # json writes NaN as a bare NaN token, which loads
    with pytest.raises(ValueError, match=message):
        load_transform(path)


def test_non_json_and_inf_npz_and_short_txt_are_refused(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text("AT = [[1]]")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_transform(bad)
    t = cook_toom(2)
    np.savez(tmp_path / "t.npz", AT=t.AT, G=t.G, BT=np.full((4, 4), np.inf))
    with pytest.raises(ValueError, match="field 'BT' contains NaN or infinity"):
        load_transform(tmp_path / "t.npz")
    (tmp_path / "t.txt").write_text("2 3\n1 1 1\n")
    with pytest.raises(ValueError, match="expected 36 numbers"):
        load_transform(tmp_path / "t.txt")
    with pytest.raises(ValueError, match="cannot read"):
        load_transform(tmp_path / "missing.json")


def _bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True)


def test_cli_show_prints_exact_f43_matrices():
    out = _bench("transforms", "show", "--m", "4")
    assert out.returncode == 0, out.stderr
    assert "F(4,3) Cook-Toom, points 0, 1, -1, 2, -2 and infinity" in out.stdout
    assert "-1/6" in out.stdout and "1/24" in out.stdout
    assert "[  4   0  -5   0   1   0 ]" in out.stdout


def test_cli_export_writes_a_loadable_file(tmp_path):
    out = _bench("transforms", "export", "--m", "6", "--out", str(tmp_path / "f6.json"))
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(load_transform(tmp_path / "f6.json").BT, cook_toom(6).BT)


@pytest.mark.parametrize("args,message", [
    (["show", "--m", "4", "--points", "0,1,1,2,3"], "must be distinct"),
    (["show", "--m", "0"], "bad m 0; accepted: whole numbers from 1 to 16"),
    (["export", "--m", "4", "--out", "x.csv"], "accepted: .json, .npz, .txt"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    out = subprocess.run([sys.executable, "-m", "bench", "transforms", *args], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("m", [2, 4, 6])
def test_the_learned_stand_in_is_exact_shipped_and_takes_the_trained_lane_variant(m):
    """The `learned` operator's matrices: an exact transform (checked in rationals), the shipped file
    is exactly them, and the int8 dense kernels take 32-bit lanes with them, as with trained
    (non-dyadic) matrices, where the default Cook-Toom matrices take 16-bit ones somewhere."""
    from bench.numerics.matrix_quant import lane_variant
    from bench.numerics.winograd import learned_stand_in, learned_stand_in_path

    t = learned_stand_in(m)
    assert identity_error(t) < 1e-12
    shipped = load_transform(learned_stand_in_path(m))
    assert all(np.array_equal(getattr(shipped, k), getattr(t, k)) for k in ("AT", "G", "BT"))
    assert lane_variant(t.AT, t.BT) == "in32/32 out32/32"
    default = cook_toom(m)
    assert "16" in lane_variant(default.AT, default.BT)
    trained = Transform(m, 3, default.AT * 1.0137, default.G, default.BT * 0.9871)   # off the dyadic grid
    assert lane_variant(trained.AT, trained.BT) == "in32/32 out32/32"
