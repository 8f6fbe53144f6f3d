"""wb-runner (kernels_c/RUNNER.md): the host build, and the aarch64 build for cortex-a53 under
qemu-aarch64-static -cpu cortex-a53, whose --verify output must agree with the host build's."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from bench.native import kernels

from bench.numerics import reference
from bench.native.build import build_runner
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom, learned_stand_in, save_transform

FAST = ["--min-time-ms", "0", "--min-reps", "1", "--warmup", "0"]


@pytest.fixture(scope="module")
def host_runner():
    return build_runner("host")


def run(runner, cases: str, *args, prefix=(), timeout=300):
    p = subprocess.run([*prefix, str(runner), *args], input=cases, capture_output=True, text=True,
                       timeout=timeout)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    return p, lines


def case_lines(lines):
    return [l for l in lines if l["type"] == "case"]


def test_info_and_case_lines(host_runner):
    p, lines = run(host_runner, "algo=f4 transform=static bits=32 h=8 w=9 cin=6 cout=7 reps=3 id=x1\n",
                   "--cpus", "0", "--min-time-ms", "0", "--warmup", "1")
    assert p.returncode == 0, p.stderr
    info = lines[0]
    assert info["type"] == "info" and info["runner_version"] == 1 and info["cpus"] == [0]
    assert info["threads"] == 1 and len(info["build_hash"]) == 16 and "-std=c11" in info["cflags"]
    assert info["features"]["neon"] is True and info["features"]["dotprod"] is False
    assert len(info["midr"]) == 1  # one entry per CPU, null where sysfs has none
    (case,) = case_lines(lines)
    assert case["status"] == "ok" and case["id"] == "x1" and case["line"] == 1
    assert (case["algo"], case["transform"], case["bits"], case["h"], case["w"], case["cin"],
            case["cout"]) == ("f4", "static", 32, 8, 9, 6, 7)
    assert case["reps"] == 3 and case["cpus"] == [0] and case["weight_transform_ms"] > 0
    for stage in ("total_ms", "input_ms", "gemm_ms", "output_ms"):
        s = case[stage]
        assert len(s["samples"]) == 3
        assert s["min"] <= s["p10"] <= s["median"] <= s["p90"] <= max(s["samples"])
        assert s["median"] == pytest.approx(float(np.median(s["samples"])), rel=1e-5)
        assert s["mad"] >= 0 and s["mean"] > 0
    assert case["gemm_gflops"] > 0 and len(case["checksum"]) == 16 and "error" not in case


def test_runner_data_and_output_match_the_binding(host_runner, tmp_path):
    """Same sources and flags: the runner's output bytes equal bench.native.kernels' on gaussian data
    (the `learned` operator: the dense kernel fed learned_stand_in, as the harness feeds the runner)."""
    stand_in = save_transform(learned_stand_in(4), tmp_path / "learned-f4.txt")
    cases = "".join(f"algo={a} transform={t} h=7 w=13 cin=17 cout=5{more}\n"
                    for a, t, more in [("im2row", "static", ""), ("f2", "static", ""),
                                       ("f4", "learned", f" matrices={stand_in}"), ("f6", "static", "")])
    p, lines = run(host_runner, cases, "--verify", "--seed", "11", *FAST)
    x = kernels.gaussian((1, 7, 13, 17), 11)
    w = kernels.gaussian((3, 3, 17, 5), 12)
    ref = reference.conv2d_direct(x, w)
    for case in case_lines(lines):
        y = kernels.conv2d(x, w, algo=case["algo"], transform=case["transform"] if case["algo"] != "im2row" else "static")
        assert case["checksum"] == kernels.checksum(y), case["algo"]
        expected = reference.error_metrics(y, ref)
        for key in ("sqnr_db", "max_abs", "rel_l2"):
            assert case["error"][key] == pytest.approx(expected[key], rel=1e-6)
        assert case["error"]["sqnr_db"] > 100


def test_bad_cases_give_error_lines_and_the_runner_goes_on(host_runner, tmp_path):
    nan = tmp_path / "nan.txt"  # F(4,3): 24 numbers of AT (all NaN), then 18 of G and 36 of BT
    nan.write_text("4 3\n" + "nan " * 24 + "\n" + "1 " * 54 + "\n")
    f6 = save_transform(cook_toom(6), tmp_path / "f6.txt")
    short = tmp_path / "short.txt"
    short.write_text("4 3\n1 2 3\n")
    cases = f"""# comment line, then a blank one

algo=f9 h=4 w=4 cin=2 cout=2
algo=f4 h=0 w=4 cin=2 cout=2
algo=f4 h=4 w=4 cin=9000 cout=2
algo=f4 h=4 w=4 cin=2
algo=f4 h=four w=4 cin=2 cout=2
algo=f4 h=4 w=4 cin=2 cout=2 colour=red
algo=f4 transform=sparse h=4 w=4 cin=2 cout=2
algo=f4 transform=learned h=4 w=4 cin=2 cout=2 matrices={tmp_path}/missing.txt
algo=f4 transform=learned h=4 w=4 cin=2 cout=2 matrices={short}
algo=f4 transform=learned h=4 w=4 cin=2 cout=2 matrices={f6}
algo=f4 transform=learned h=4 w=4 cin=2 cout=2 matrices={nan}
algo=f4 transform=static h=4 w=4 cin=2 cout=2 matrices={f6}
algo=f4 bits=16 h=4 w=4 cin=2 cout=2
algo=f2 h=4 w=4 cin=2 cout=2 id=last   # still measured
"""
    p, lines = run(host_runner, cases, *FAST)
    assert p.returncode == 0, p.stderr
    got = [(c["line"], c["status"], c.get("error_kind")) for c in case_lines(lines)]
    assert got == [(3, "error", "bad_case"), (4, "error", "bad_case"), (5, "error", "bad_case"),
                   (6, "error", "bad_case"), (7, "error", "bad_case"), (8, "error", "bad_case"),
                   (9, "error", "bad_case"), (10, "error", "bad_matrices"),
                   (11, "error", "bad_matrices"), (12, "error", "bad_matrices"),
                   (13, "error", "bad_matrices"), (14, "error", "bad_case"), (15, "error", "bad_case"),
                   (16, "ok", None)]
    messages = [c["message"] for c in case_lines(lines)[:-1]]
    assert "unknown algo 'f9'" in messages[0] and "missing.txt" in messages[7]
    assert "m=6" in messages[9] and "NaN" in messages[10]
    assert all("\n" not in m for m in messages)


def test_learned_matrices_file(host_runner, tmp_path):
    path = save_transform(cook_toom(4, points=BARABASZ_POINTS[4, 3]), tmp_path / "b4.txt")
    p, lines = run(host_runner, f"algo=f4 transform=learned h=9 w=10 cin=8 cout=8 matrices={path}\n",
                   "--verify", *FAST)
    (case,) = case_lines(lines)
    assert case["status"] == "ok" and case["matrices"] == str(path)
    assert case["error"]["sqnr_db"] > 110


def test_threads_pin_and_agree(host_runner):
    cases = "algo=f4 h=16 w=16 cin=16 cout=16\nalgo=im2row h=16 w=16 cin=16 cout=16\n"
    _, one = run(host_runner, cases, "--cpus", "0", *FAST)
    p, two = run(host_runner, cases, "--cpus", "0,1", "--threads", "2", *FAST)
    assert p.returncode == 0, p.stderr
    assert two[0]["threads"] == 2 and two[0]["cpus"] == [0, 1]
    assert [c["checksum"] for c in case_lines(one)] == [c["checksum"] for c in case_lines(two)]
    assert case_lines(two)[0]["cpus"] == [0, 1]


@pytest.mark.parametrize("args,message", [
    (["--cpus", "1000"], "cannot pin"),
    (["--cpus", "0,x"], "bad CPU list"),
    (["--cpus", ""], "bad CPU list"),
    (["--cpus", "0", "--threads", "2"], "--threads 2 needs at least"),
    (["--min-reps", "0"], "bad value for --min-reps"),
    (["--frobnicate", "1"], "unknown option"),
    (["--cases", "/no/such/cases"], "cannot read cases file"),
])
def test_bad_command_lines_exit_2(host_runner, args, message):
    p, lines = run(host_runner, "algo=f4 h=4 w=4 cin=2 cout=2\n", *args)
    assert p.returncode == 2 and message in p.stderr and lines == []


def test_min_time_and_reps(host_runner, tmp_path):
    cases = tmp_path / "cases.txt"
    cases.write_text("algo=f2 h=4 w=4 cin=4 cout=4\nalgo=f2 h=4 w=4 cin=4 cout=4 reps=7\n")
    p, lines = run(host_runner, "", "--cases", str(cases), "--min-time-ms", "20", "--min-reps", "2",
                   "--warmup", "0")
    first, second = case_lines(lines)
    assert sum(first["total_ms"]["samples"]) >= 19.99 and first["reps"] > 2  # time-bound
    p, lines = run(host_runner, "", "--cases", str(cases), "--min-time-ms", "0", "--min-reps", "2")
    first, second = case_lines(lines)
    assert (first["reps"], second["reps"]) == (2, 7)


def test_peak_line(host_runner):
    p, lines = run(host_runner, "", "--peak")
    assert [l["type"] for l in lines] == ["info", "peak"]
    assert lines[1]["f32_gflops"] > 1 and "i8_gops" in lines[1]


QEMU = shutil.which("qemu-aarch64-static")
CROSS = shutil.which("aarch64-linux-gnu-gcc")


@pytest.mark.skipif(not (QEMU and CROSS), reason="needs qemu-user-static and gcc-aarch64-linux-gnu (make setup)")
@pytest.mark.slow   # the aarch64 build under qemu
def test_aarch64_a53_build_under_qemu_agrees_with_host(host_runner, tmp_path):
    """Static cortex-a53 binary under an A53 CPU model (SIGILL on v8.2 instructions): every
    algo x transform gives the host build's bytes (checksum) and error figures; 101x90x5x3 runs
    fused, block by block of tiles (wb_wino_block_tiles), on one thread and on two."""
    a53 = build_runner("aarch64", "cortex-a53")
    learned = save_transform(cook_toom(6, points=BARABASZ_POINTS[6, 3]), tmp_path / "b6.txt")
    cases = "".join(f"algo={a} transform={t} h={h} w={w} cin={ci} cout={co}\n"
                    for a, t in [("im2row", "static"), ("f2", "static"), ("f2", "learned"),
                                 ("f4", "static"), ("f4", "learned"), ("f6", "static"), ("f6", "learned")]
                    for h, w, ci, co in [(7, 13, 17, 5), (1, 1, 3, 5), (9, 8, 16, 24)])
    cases += f"algo=f6 transform=learned h=7 w=13 cin=3 cout=5 matrices={learned}\n"
    cases += "algo=f7 h=1 w=1 cin=1 cout=1\n"
    fused = "".join(f"algo={a} transform={t} h=101 w=90 cin=5 cout=3\n"
                    for a, t in [("f2", "learned"), ("f4", "static"), ("f6", "static")])
    for threads in ("1", "2"):
        p_arm, arm = run(a53, fused, "--verify", "--threads", threads, "--cpus", "0,1", *FAST,
                         prefix=(QEMU, "-cpu", "cortex-a53"), timeout=600)
        _, host = run(host_runner, fused, "--verify", *FAST)
        assert [c["checksum"] for c in case_lines(arm)] == [c["checksum"] for c in case_lines(host)], threads
        assert all(c["error"]["sqnr_db"] > 100 for c in case_lines(arm))
    p_arm, arm = run(a53, cases, "--verify", *FAST, prefix=(QEMU, "-cpu", "cortex-a53"), timeout=600)
    assert p_arm.returncode == 0, p_arm.stderr
    _, host = run(host_runner, cases, "--verify", *FAST)
    assert arm[0]["arch"] == "aarch64" and "-mcpu=cortex-a53" in arm[0]["cflags"]
    arm_cases, host_cases = case_lines(arm), case_lines(host)
    assert len(arm_cases) == len(host_cases) == 23
    for a, h in zip(arm_cases, host_cases):
        assert a["status"] == h["status"], (a, h)
        if a["status"] != "ok":
            assert a["error_kind"] == h["error_kind"] == "bad_case"
            continue
        assert a["checksum"] == h["checksum"], (a["algo"], a["transform"], a["h"], a["w"])
        for key in ("sqnr_db", "max_abs", "rel_l2"):
            assert a["error"][key] == pytest.approx(h["error"][key], rel=1e-9)
        assert a["error"]["sqnr_db"] > 100
