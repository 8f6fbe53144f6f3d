"""What several test folders share: the recorded trees (FIXTURES), the repository root, a real
OpenSSH server on 127.0.0.1 for the current user (`start_sshd`), with its own host key, client key
and sshd_config (nothing under /etc changes), and a real labgrid lab on 127.0.0.1 (`start_lab`: a
coordinator, exporters of NetworkServices, labgrid-client)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"   # recorded sysfs/procfs trees of real boards

SSHD = "/usr/sbin/sshd"


@dataclass
class SshServer:
    host: str
    port: int
    user: str
    dir: Path
    client_key: Path       # private key the server authorizes
    host_pubkey: str       # "ssh-ed25519 AAAA..." of the server's host key
    known_hosts: Path      # a known_hosts file holding exactly this server's key
    log: Path
    pid: int

    @property
    def known_hosts_name(self) -> str:
        return f"[{self.host}]:{self.port}"

    def profile(self, **keys) -> dict:
        """A board profile table reaching this server."""
        return {"transport": "ssh", "host": self.host, "port": self.port, "user": self.user,
                "identity": str(self.client_key), "known_hosts": str(self.known_hosts), **keys}


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "winobench-test", "-f", str(path)],
                   check=True, stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_banner(port: int, proc: subprocess.Popen, log: Path, timeout=15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd on port {port} did not answer within {timeout}s: {log.read_text()[-2000:]}")


def start_sshd(workdir: Path) -> tuple[SshServer, subprocess.Popen]:
    """Start an sshd for the current user on a free 127.0.0.1 port; nothing under /etc changes."""
    user = os.environ.get("USER") or __import__("getpass").getuser()
    _keygen(workdir / "host_key")
    _keygen(workdir / "client_key")
    auth = workdir / "authorized"
    auth.mkdir()
    shutil.copy(workdir / "client_key.pub", auth / user)
    # sshd refuses to start as root without its privilege-separation directory.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    host_pub = (workdir / "host_key.pub").read_text().split()
    last_error = None
    for _ in range(5):  # another process may grab the port between probing it and sshd binding it
        port = _free_port()
        cfg = workdir / "sshd_config"
        cfg.write_text("\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {workdir / 'host_key'}",
            f"PidFile {workdir / 'sshd.pid'}", f"AuthorizedKeysFile {auth}/%u", "StrictModes no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp", "LogLevel VERBOSE", "",
        ]))
        log = workdir / "sshd.log"
        proc = subprocess.Popen([SSHD, "-D", "-f", str(cfg), "-E", str(log)])
        try:
            _wait_for_banner(port, proc, log)
        except RuntimeError as e:
            last_error = e
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            continue
        known = workdir / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
        return SshServer("127.0.0.1", port, user, workdir, workdir / "client_key",
                         f"{host_pub[0]} {host_pub[1]}", known, log, proc.pid), proc
    raise RuntimeError(f"could not start sshd: {last_error}")


def case_record(ms=1.0, status="ok"):
    """A runner case record as the results keep it (board "b", core "a73", CPU 4): ok with
    stage medians in the ratio 0.2 / 0.7 / 0.1 of `ms`, or a runtime error."""
    from bench.measure.protocol import CaseRecord

    stats = lambda v: {"median": v, "mean": v, "min": v * 0.9, "p10": v * 0.95, "p90": v * 1.1, "mad": 0.01, "samples": [v] * 3}
    if status != "ok":
        return CaseRecord.from_saved({"type": "case", "status": "error", "error_kind": "runtime", "message": "boom",
                                      "board": "b", "core": "a73", "cpus": [4]})
    return CaseRecord.from_saved({"type": "case", "status": "ok", "board": "b", "core": "a73", "cpus": [4], "threads": 1,
                                  "reps": 3, "total_ms": stats(ms), "input_ms": stats(ms * 0.2), "gemm_ms": stats(ms * 0.7),
                                  "output_ms": stats(ms * 0.1), "error": {"sqnr_db": 30.0, "max_abs": 0.1, "rel_l2": 0.03}})


def spec(algo: str, h: int, c: int, **keys):
    """A square case h x h x c -> c for the runner (fp32, static unless `keys` say otherwise)."""
    from bench.measure.protocol import CaseSpec

    keys = {"transform": "static", "bits": 32, **keys}
    return CaseSpec(algo, keys.pop("transform"), keys.pop("bits"), h, h, c, c, **keys)


# ---------------------------------------------------------------------------------------------
# A labgrid lab on 127.0.0.1: a coordinator (it has no authentication: never bound elsewhere), exporters
# publishing NetworkServices, and labgrid-client for what a lab admin or another user types.

LABGRID_BIN = Path(sys.executable).parent   # labgrid-coordinator, -exporter, -client of this venv


def labgrid_env(address: str, **more) -> dict:
    """The environment for labgrid's programs and for `bench` talking to the lab at `address`."""
    return {**os.environ, "GRPC_ENABLE_FORK_SUPPORT": "0", "LG_COORDINATOR": address, "PYTHONUNBUFFERED": "1", **more}


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s: {log.read_text()[-2000:]}")


@dataclass
class Lab:
    """A running labgrid coordinator (`address`) and the exporters started for it."""

    address: str
    dir: Path
    coordinator: subprocess.Popen
    exporters: list

    def client(self, *args, user: str | None = None, timeout=60) -> subprocess.CompletedProcess:
        """`labgrid-client -x ADDRESS ARGS` (as another user with `user`), checked."""
        env = labgrid_env(self.address, **({"LG_USERNAME": user} if user else {}))
        res = subprocess.run([str(LABGRID_BIN / "labgrid-client"), "-x", self.address, *map(str, args)],
                             capture_output=True, text=True, timeout=timeout, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"labgrid-client {' '.join(map(str, args))}: {res.stderr.strip()}")
        return res

    def export(self, name: str, services: dict) -> None:
        """An exporter `name` publishing one NetworkService per group: {group: (port, username)} on 127.0.0.1."""
        yaml = "".join(f"{group}:\n  NetworkService:\n    address: 127.0.0.1\n    port: {port}\n    username: {user}\n"
                       for group, (port, user) in services.items())
        (self.dir / f"{name}.yaml").write_text(yaml)
        log = self.dir / f"{name}.log"
        with open(log, "w") as f:
            proc = subprocess.Popen([str(LABGRID_BIN / "labgrid-exporter"), "-c", self.address, "-n", name,
                                     "--hostname", "127.0.0.1", str(self.dir / f"{name}.yaml")],
                                    stdout=f, stderr=subprocess.STDOUT, env=labgrid_env(self.address))
        self.exporters.append(proc)
        deadline = time.monotonic() + 30
        while f"{name}/" not in self.client("resources").stdout:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"exporter {name} did not come up: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def add_place(self, name: str, match: str, **tags) -> str:
        """A place matching `match` (EXPORTER/GROUP/*), with tags, as a lab admin makes it."""
        self.client("-p", name, "create")
        self.client("-p", name, "add-match", match)
        if tags:
            self.client("-p", name, "set-tags", *(f"{k}={v}" for k, v in tags.items()))
        return name

    def cancel_reservations(self) -> int:
        """Cancel every reservation (a killed client's are left behind); how many there were."""
        tokens = re.findall(r"^Reservation '(\w+)':", self.client("reservations").stdout, re.M)
        for token in tokens:
            self.client("cancel-reservation", token)
        return len(tokens)

    def states(self) -> dict[str, tuple]:
        """place -> (state, holder) as the coordinator says now (bench's own reading of it)."""
        from bench.boards.places import list_places
        return {n: (p.state, p.holder or p.reserved_for) for n, p in list_places(self.address).items()}

    def stop(self) -> None:
        """Stop the exporters and the coordinator, each by its own PID."""
        for proc in [*self.exporters, self.coordinator]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def start_lab(workdir: Path) -> Lab:
    """A labgrid coordinator on a free 127.0.0.1 port (its state files in `workdir`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(5):   # another process may take the port between probing it and binding it
        port = _free_port()
        log = workdir / "coordinator.log"
        with open(log, "w") as f:
            proc = subprocess.Popen([str(LABGRID_BIN / "labgrid-coordinator"), "-l", f"127.0.0.1:{port}"], cwd=workdir,
                                    stdout=f, stderr=subprocess.STDOUT, env=labgrid_env(f"127.0.0.1:{port}"))
        try:
            _wait_for_port(port, proc, log)
            return Lab(f"127.0.0.1:{port}", workdir, proc, [])
        except RuntimeError:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    raise RuntimeError(f"could not start labgrid-coordinator: {log.read_text()[-2000:]}")


def optional_extra(requirement: str, timeout: float = 600) -> "Path | None":
    """A directory holding `requirement` (e.g. "torch==2.13.0") and what it needs, installed once
    from the package registries into the project's own virtual environment folder
    (`<sys.prefix>/extras/`), to be appended to sys.path; None when it cannot be installed (no
    registry, no wheel for this machine). Optional extras are never needed for the suite to pass:
    tests that need one skip without it, and run against the real thing when it installs."""

    target = Path(sys.prefix) / "extras" / requirement.replace("=", "-").replace("<", "-").replace(">", "-")
    done = target / ".installed"
    if not done.exists():
        subprocess.run(["rm", "-rf", "--", str(target)], check=False)
        try:
            result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                     "--target", str(target), requirement], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if result.returncode != 0:
            return None
        done.write_text(requirement + "\n")
    return target
