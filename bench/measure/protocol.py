"""The runner protocol (kernels_c/RUNNER.md), defined once for the host side.

- `CaseSpec`: what one case measures, with the local path of its transform file; `runner_line()`
  gives the text the runner reads for it, once the deployment knows where that file is on the board.
- `InfoRecord`, `CaseRecord`, `PeakRecord`: the runner's output lines as typed values
  (`parse_record` turns one JSON line into one of them, or None for a line that is not JSON), with
  the board context (`Where`) the pipeline adds; `to_json` gives the raw record the results keep.
- `ErrorKind`: every way a case can fail, whether the runner or the harness says so.
- `Repetition`: how often each case runs; `case_deadline_s`: how long it may take.
- The limits the runner accepts, and the fp32 tolerance of `bench verify`.

tests/measure/test_protocol.py checks the C side's names and limits against these.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from bench.operators import NO_REQUANT, OUR_ENGINE, TILE_ORIGINS, default_requant, requant_suffix, scheme_suffix

# Limits of the runner (kernels_c/runner/wb_runner.c); the CLI checks them before anything runs.
MAX_RUNNER_CPUS = 256      # CPUs in --cpus, so also threads
MAX_REPS = 100_000         # the runner's --max-reps default caps the repetitions of a case
MAX_WARMUP = 100_000
MAX_MIN_TIME_MS = 600_000  # 10 minutes per case: more is a typo (the runner itself takes any double)

# fp32 kernels are correct when their relative L2 error against a double-precision direct
# convolution stays under the rounding a correct kernel can accumulate (kernels_c/README.md): eps
# times the random walk over the 9 Cin products of each output, times what the transform makes of
# each product's rounding (bench.numerics.winograd.fp32_amplification: 1 for im2row), and at least
# FP32_GROWTH (the GEMM's blocked accumulation, the im2row floor).
FP32_GROWTH = 64
EPS32 = 2.0 ** -23


def fp32_tolerance(cin: int, amplification: float = 1.0) -> float:
    return max(FP32_GROWTH, amplification) * EPS32 * math.sqrt(9 * cin)


class ErrorKind(str, enum.Enum):
    """Why a case has no measurement (the `error_kind` column)."""

    CONNECT = "connect"            # the board could not be reached or probed
    BUILD = "build"                # the runner did not build
    PUSH = "push"                  # remote directory, upload or digest check failed
    RUNTIME = "runtime"            # the runner failed the case or exited without reporting it
    CRASH = "crash"                # the runner died of a signal on this case
    TIMEOUT = "timeout"            # the case ran past its deadline (runner killed)
    BAD_CASE = "bad_case"          # the runner refused the case line
    BAD_MATRICES = "bad_matrices"  # a transform (matrices) file is missing or unreadable
    UNSUPPORTED = "unsupported"    # the build or core lacks what the case needs (e.g. SDOT)
    WRONG_RESULT = "wrong_result"  # verify: the output is wrong

    def __str__(self) -> str:
        return self.value


# The kinds the runner itself prints (the others are the harness's).
RUNNER_ERROR_KINDS = (ErrorKind.BAD_CASE, ErrorKind.BAD_MATRICES, ErrorKind.UNSUPPORTED, ErrorKind.RUNTIME)


@dataclass(frozen=True)
class CaseSpec:
    """One case as the runner measures it. `matrices`: the local transform file of a `learned` case
    fed one (.txt, .json or .npz; the deployment pushes it, converted to the runner's text format);
    `reps`: the case's own minimum repetitions, if any; `engine`: who runs it (this project's C
    runner, or remote/engine_runner.py for a production engine, `algo` then the engine's variant);
    `requant`: the int8 requantization form (bench.operators.REQUANTS; "none" for fp32 and for an
    engine's case; "": the default of the bits)."""

    algo: str
    transform: str      # "static" or "learned" (im2row: "static", ignored)
    bits: int
    h: int
    w: int
    cin: int
    cout: int
    scheme: str = "none"
    id: str = ""
    matrices: Path | None = None
    reps: int | None = None
    origin: str = TILE_ORIGINS[0]   # where the Winograd tile grid starts (bench.operators.TILE_ORIGINS)
    engine: str = OUR_ENGINE
    k: int = 3
    stride: int = 1
    pad: int = 1
    requant: str = ""

    @property
    def on_engine(self) -> bool:
        """Whether a production engine runs the case (the engine runner), not this project's kernels."""
        return self.engine != OUR_ENGINE

    def runner_line(self, matrices_on_board: str = "") -> str:
        """The runner input line; `scheme=` and `requant=` only for the values the runner must be
        told about (not its defaults), `matrices=` the path of the transform file on the board."""
        what = f"engine={self.engine} algo={self.algo}" if self.on_engine else \
            f"algo={self.algo} transform={self.transform}"
        line = f"{what} bits={self.bits} h={self.h} w={self.w} cin={self.cin} cout={self.cout}"
        if (self.k, self.stride, self.pad) != (3, 1, 1):
            line += f" k={self.k} stride={self.stride} pad={self.pad}"
        if scheme_suffix(self.scheme):
            line += f" scheme={self.scheme}"
        if self.origin != TILE_ORIGINS[0]:
            line += f" origin={self.origin}"
        if requant_suffix(self.requant) and not self.on_engine:
            line += f" requant={self.requant}"
        if self.reps is not None:
            line += f" reps={self.reps}"
        if self.id:
            line += f" id={self.id}"
        if matrices_on_board:
            line += f" matrices={matrices_on_board}"
        return line

    def fields(self) -> dict:
        """The case's keys as a raw record names them (no local path; the filter when not 3x3/1/1,
        which readers take as the default; the requantization form always)."""
        keys = ("id", "algo", "transform", "bits", "h", "w", "cin", "cout", "scheme", "reps")
        out = {k: getattr(self, k) for k in keys if getattr(self, k) not in (None, "")}
        if (self.k, self.stride, self.pad) != (3, 1, 1):
            out.update(k=self.k, stride=self.stride, pad=self.pad)
        if self.on_engine:
            return {**out, "engine": self.engine, "requant": NO_REQUANT}
        return {**out, "requant": self.requant or default_requant(self.bits)}


@dataclass(frozen=True)
class Stats:
    """One stage's timing over the repetitions, in ms."""

    median: float
    mean: float | None = None
    min: float | None = None
    p10: float | None = None
    p90: float | None = None
    mad: float | None = None
    samples: tuple[float, ...] = ()

    @classmethod
    def from_json(cls, d: dict) -> "Stats":
        return cls(**{f.name: d.get(f.name) for f in fields(cls) if f.name != "samples"},
                   samples=tuple(d.get("samples") or ()))


STAGES = ("total", "input", "gemm", "output")


@dataclass(frozen=True)
class Where:
    """The board context of a record: which board, core type and CPUs it ran on; `fidelity` is where
    the build ran (bench.measure.fidelity: native, emulated or host-simde) and `cpu_flag` the build's
    -mcpu (or the host's -march)."""

    board: str
    core: str
    cpus: tuple[int, ...]
    threads: int
    emulated: bool
    fidelity: str = ""
    cpu_flag: str = ""

    @classmethod
    def from_json(cls, d: dict) -> "Where":
        return cls(str(d.get("board", "")), str(d.get("core", "")), tuple(d.get("cpus") or ()),
                   int(d.get("threads", 1)), bool(d.get("emulated", False)), str(d.get("where") or ""),
                   str(d.get("cpu_flag") or ""))

    def to_json(self) -> dict:
        out = {"board": self.board, "core": self.core, "cpus": list(self.cpus), "threads": self.threads,
               "emulated": self.emulated}
        if self.fidelity:
            out.update(where=self.fidelity, cpu_flag=self.cpu_flag)
        return out


@dataclass
class CaseRecord:
    """A runner `case` line, or the harness's error for a case (`failed`). `line` is the case's
    1-based position in the caller's list of CaseSpecs (the pipeline sets it: the runner numbers the
    lines of the cases file it was started on); `raw` the runner's JSON as received (or the error's
    fields), which `to_json` returns with the typed values that the pipeline sets (line, error,
    where) on top."""

    line: int
    id: str | None
    status: str
    error_kind: str | None = None
    message: str = ""
    reps: int | None = None
    cpus: tuple[int, ...] = ()
    stages: dict[str, Stats] = field(default_factory=dict)
    weight_transform_ms: float | None = None
    gemm_gflops: float | None = None
    checksum: str | None = None
    error: dict | None = None
    where: Where | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_json(cls, d: dict) -> "CaseRecord":
        stages = {s: Stats.from_json(d[f"{s}_ms"]) for s in STAGES if isinstance(d.get(f"{s}_ms"), dict)}
        return cls(line=d.get("line"), id=None if d.get("id") is None else str(d["id"]),
                   status=d.get("status", "error"), error_kind=d.get("error_kind"), message=d.get("message", ""),
                   reps=d.get("reps"), cpus=tuple(d.get("cpus") or ()), stages=stages,
                   weight_transform_ms=d.get("weight_transform_ms"), gemm_gflops=d.get("gemm_gflops"),
                   checksum=d.get("checksum"), error=d.get("error"), raw=d)

    @classmethod
    def from_saved(cls, d: dict) -> "CaseRecord":
        """A case record as the results keep it (the runner's line with its board context)."""
        rec = cls.from_json(d)
        rec.where = Where.from_json(d)
        return rec

    @classmethod
    def failed(cls, line: int, spec: CaseSpec, kind: ErrorKind | str, message: str,
               where: Where | None = None) -> "CaseRecord":
        """The error record of a case the harness could not measure (`line`: its 1-based position
        in the caller's list); the raw record keeps the case's keys."""
        kind, message = ErrorKind(kind).value, " ".join(str(message).split())[:500]
        raw = {"type": "case", "line": line, **spec.fields(), "status": "error", "error_kind": kind, "message": message}
        return cls(line=line, id=spec.id or None, status="error", error_kind=kind, message=message, where=where, raw=raw)

    def to_json(self) -> dict:
        out = dict(self.raw) if self.line is None else {**self.raw, "line": self.line}
        if self.error is not None:
            out["error"] = self.error
        return {**out, **(self.where.to_json() if self.where else {})}


@dataclass
class DeployInfo:
    """Where and how a runner was deployed (the `deploy` field of a runner record)."""

    remote_dir: str | None
    pid: int | None
    sha256: str
    argv: list[str]
    binary: str
    transport: str
    address: str | None
    topology: dict


@dataclass
class InfoRecord:
    """The runner's first line: what build runs where (`raw`, as the runner printed it)."""

    raw: dict
    where: Where | None = None
    deploy: DeployInfo | None = None

    @property
    def cpus(self) -> tuple[int, ...]:
        return tuple(self.raw.get("cpus") or ())

    def describe(self) -> str:
        """The build in one line: hash, architecture, compiler, flags (engines: their versions)."""
        r = self.raw
        if r.get("runner") == "wb-engine-runner":
            engines = ", ".join(f"{k} {v or 'not installed'}" for k, v in (r.get("engines") or {}).items())
            return f"wb-engine-runner (python {r.get('python')}, numpy {r.get('numpy')}; {engines})"
        return f"wb-runner {r.get('build_hash')} ({r.get('arch')}, {r.get('compiler')}, {r.get('cflags')})"

    def to_json(self) -> dict:
        out = dict(self.raw)
        if self.where:
            out.update(board=self.where.board, core=self.where.core, emulated=self.where.emulated)
            if self.where.fidelity:
                out.update(where=self.where.fidelity, cpu_flag=self.where.cpu_flag)
        if self.deploy:
            out["deploy"] = dataclasses.asdict(self.deploy)
        return out


@dataclass
class PeakRecord:
    """The runner's `--peak` line: f32_gflops, i8_gops and whatever else it measures (e.g. bw_gbs)."""

    cpu: int | None
    values: dict
    where: Where | None = None

    @classmethod
    def from_json(cls, d: dict) -> "PeakRecord":
        return cls(cpu=d.get("cpu"), values={k: v for k, v in d.items() if k not in ("type", "cpu")})

    def to_json(self) -> dict:
        cpu = {} if self.cpu is None else {"cpu": self.cpu}
        return {"type": "peak", **cpu, **self.values, **(self.where.to_json() if self.where else {})}


@dataclass
class Diagnostic:
    """A runner stdout line that is not a record (kept for the user, never persisted as a result)."""

    text: str
    where: Where | None = None

    def to_json(self) -> dict:
        return {"type": "diagnostic", "text": self.text, **(self.where.to_json() if self.where else {})}


Record = InfoRecord | CaseRecord | PeakRecord


def parse_record(text: str) -> Record | None:
    """One runner stdout line -> a typed record; None for a line that is not a known JSON record."""
    try:
        d = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, a number too long, nesting too deep
        return None
    if not isinstance(d, dict):
        return None
    kind = d.get("type")
    try:
        if kind == "case" and isinstance(d.get("line"), int):
            return CaseRecord.from_json(d)
        if kind == "info":
            return InfoRecord(d)
        if kind == "peak":
            return PeakRecord.from_json(d)
    except (TypeError, ValueError, AttributeError):  # fields of the wrong shape: not a record we know
        return None
    return None


@dataclass(frozen=True)
class Repetition:
    """How often each case runs (the runner's repetition rules, kernels_c/RUNNER.md)."""

    min_reps: int = 10
    min_time_ms: float = 200
    warmup: int = 2

    def __post_init__(self):
        for name, low, high in (("min_reps", 1, MAX_REPS), ("warmup", 0, MAX_WARMUP),
                                ("min_time_ms", 0, MAX_MIN_TIME_MS)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and low <= v <= high):   # NaN fails both comparisons
                raise ValueError(f"bad {name} {v!r}; accepted: {low} to {high}")

    def runner_args(self) -> list[str]:
        return ["--min-reps", str(self.min_reps), "--min-time-ms", f"{self.min_time_ms:g}",
                "--warmup", str(self.warmup)]


# Per-case deadline: generous, from the case's work and the repetition settings. 2e7 MAC/s is far
# below any core's rate (qemu-user on a slow host included), so only a hung case ever reaches it.
SLOW_MACS_PER_S = 2e7
DEADLINE_SLACK_S = 30.0


def case_deadline_s(spec: CaseSpec, reps: Repetition, verify: bool = False) -> float:
    """Seconds a case may take before it counts as hung (`bench run --case-timeout` overrides)."""
    macs = float(spec.k * spec.k) * spec.h * spec.w * spec.cin * spec.cout / spec.stride ** 2
    runs = reps.warmup + max(spec.reps or 0, reps.min_reps) + 1 + (1 if verify else 0)   # + calibration or the check
    return DEADLINE_SLACK_S + 10 * reps.min_time_ms / 1000 + runs * macs / SLOW_MACS_PER_S
