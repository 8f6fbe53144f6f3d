"""Transform input from users: every bad file, point list or size gets a
one-line ValueError (the CLI: exit 2), checked before any large allocation; hypothesis properties of
the points and transform-file parsers."""

import io
import json
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.numerics.winograd import (MAX_M, MAX_POINT, MAX_POINT_DENOMINATOR, cook_toom, load_transform, parse_points,
                            save_transform)

PROPERTY = settings(max_examples=400, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def one_line_value_error(fn):
    """Call fn; return the value, or the message of a one-line ValueError (anything else fails)."""
    try:
        return fn()
    except ValueError as e:
        assert str(e) and "\n" not in str(e), repr(e)
        return str(e)


def _doc(**changes):
    t = cook_toom(4)
    doc = {"m": 4, "r": 3, "AT": t.AT.tolist(), "G": t.G.tolist(), "BT": t.BT.tolist()}
    doc.update(changes)
    return doc


def _write_json_text(tmp_path, text, name="t.json"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,message", [
    ('{"m": 4, "AT": [[1' + "0" * 5000 + "]]}", "not valid JSON"),                        # past the digit limit
    (json.dumps(_doc(AT=[[10 ** 400] * 6] * 4)), "field 'AT' is not a numeric matrix"),     # overflows float64
    (json.dumps(_doc(m=10 ** 300)), "field 'm' is 1000000"),
    ("[" * 200000 + "]" * 200000, "not valid JSON (nested too deeply)"),
    (json.dumps(_doc(G=np.full((6, 3), 1e39).tolist())), "overflow float32"),
    (json.dumps(_doc(BT=np.full((6, 6), 1e-30).tolist())), "rounds to all-zero integers for int8"),
    (json.dumps(_doc(BT=(cook_toom(4).BT * np.array([[1e-9]] + [[1.0]] * 5)).tolist())),
     "field 'BT' row 0 rounds to all-zero integers"),
    (json.dumps(_doc(AT=[[1.0] * 40] * 39)), "at most 23 x 23"),
])
def test_bad_json_transforms_are_refused_in_one_line(tmp_path, text, message):
    got = one_line_value_error(lambda: load_transform(_write_json_text(tmp_path, text)))
    assert isinstance(got, str) and message in got, got


def test_non_utf8_and_oversized_files_are_refused(tmp_path):
    (tmp_path / "latin.json").write_bytes(b'{"m": "\xe9"}')
    assert "not UTF-8" in one_line_value_error(lambda: load_transform(tmp_path / "latin.json"))
    (tmp_path / "big.txt").write_text("4 3 " + "1 " * 600000)
    assert "at most 1048576" in one_line_value_error(lambda: load_transform(tmp_path / "big.txt"))


def test_devices_and_fifos_are_refused_without_reading(tmp_path):
    import os

    (tmp_path / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.txt")
    for name in ("zero.json", "pipe.txt"):
        assert "not a regular file" in one_line_value_error(lambda: load_transform(tmp_path / name))


def _npz_with_header(path, shape, descr="<f8"):
    """An .npz whose AT member claims `shape` in its header but holds almost no data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AT.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\0" * 4096)


def test_npz_sizes_are_checked_from_the_headers_before_loading(tmp_path):
    _npz_with_header(tmp_path / "huge.npz", (9998, 10000))
    start = time.monotonic()
    got = one_line_value_error(lambda: load_transform(tmp_path / "huge.npz"))
    assert "shape (9998, 10000)" in got and "at most 529" in got and time.monotonic() - start < 2
    _npz_with_header(tmp_path / "obj.npz", (2, 2), descr="|O")
    assert "accepted: numbers" in one_line_value_error(lambda: load_transform(tmp_path / "obj.npz"))


def test_truncated_and_garbage_npz_are_refused(tmp_path):
    good = save_transform(cook_toom(4), tmp_path / "good.npz").read_bytes()
    for name, data in (("trunc.npz", good[: len(good) // 2]), ("garbage.npz", bytes(range(256)) * 8),
                       ("empty.npz", b"")):
        (tmp_path / name).write_bytes(data)
        got = one_line_value_error(lambda: load_transform(tmp_path / name))
        assert isinstance(got, str) and name in got, got


@pytest.mark.parametrize("args,message", [
    (["show", "--m", "4", "--points", "1e400,1,2,3,4"], "bad interpolation point '1e400'"),
    (["show", "--m", "4", "--points", "0,1,-1,2,99999999999"], "|point| <= 64"),
    (["show", "--m", "4", "--points", "0,1,-1,2,1/0"], "division by zero"),
    (["show", "--m", "4", "--points", ""], "bad interpolation point ''"),
    (["show", "--m", "100"], f"bad m 100; accepted: whole numbers from 1 to {MAX_M}"),
    (["show", "--m", "4", "--r", "1000"], "bad r 1000"),
    (["show", "--m", "4", "--points", ",".join(["1"] * 5000)], "too many interpolation points"),
    (["show", "--file", "missing.json"], "missing.json: cannot read"),
])
def test_cli_refuses_bad_points_and_sizes_at_once(tmp_path, args, message):
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bench", "transforms", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and time.monotonic() - start < 30


# ---- properties (hypothesis; slow: hundreds of generated inputs each) -------------------------------

@pytest.mark.slow
@PROPERTY
@given(st.text(max_size=200))
def test_parse_points_gives_points_or_one_line_error_for_any_text(text):
    got = one_line_value_error(lambda: parse_points(text))
    if not isinstance(got, str):
        assert all(abs(p) <= MAX_POINT and p.denominator <= MAX_POINT_DENOMINATOR for p in got)


@pytest.mark.slow
@PROPERTY
@given(st.lists(st.fractions(min_value=-MAX_POINT, max_value=MAX_POINT, max_denominator=MAX_POINT_DENOMINATOR),
                min_size=1, max_size=20))
def test_parse_points_reads_back_every_bounded_fraction(points):
    assert parse_points(",".join(map(str, points))) == tuple(points)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=3), inner, max_size=6),
                     max_leaves=60)
_fields = st.fixed_dictionaries({}, optional={
    "m": _json | st.integers(0, 8), "r": _json | st.integers(0, 5),
    "AT": _json | st.lists(st.lists(st.floats(), min_size=6, max_size=6), min_size=4, max_size=4),
    "G": _json | st.lists(st.lists(st.floats(), min_size=3, max_size=3), min_size=6, max_size=6),
    "BT": _json | st.lists(st.lists(st.floats(), min_size=6, max_size=6), min_size=6, max_size=6)})


@pytest.mark.slow
@PROPERTY
@given(doc=st.one_of(_json, _fields))
def test_any_json_document_gives_a_transform_or_one_line_error(tmp_path, doc):
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    one_line_value_error(lambda: load_transform(path))


@pytest.mark.slow
@PROPERTY
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".json", ".npz", ".txt"]))
def test_any_bytes_give_a_transform_or_one_line_error(tmp_path, data, suffix):
    path = tmp_path / f"h{suffix}"
    path.write_bytes(data)
    one_line_value_error(lambda: load_transform(path))


@pytest.mark.slow
@PROPERTY
@given(cut=st.integers(0, 4000), flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=4))
def test_damaged_npz_gives_a_transform_or_one_line_error(tmp_path, cut, flips):
    good = bytearray(save_transform(cook_toom(4), tmp_path / "good.npz").read_bytes())
    for pos, x in flips:
        good[pos % len(good)] ^= x
    path = tmp_path / "bad.npz"
    path.write_bytes(bytes(good[: max(cut, 1)]) if cut < len(good) else bytes(good))
    one_line_value_error(lambda: load_transform(path))
