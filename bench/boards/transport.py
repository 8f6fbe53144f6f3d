"""One way to reach a board, four implementations: this machine (`LocalTransport`), this machine
running the aarch64 runner under qemu-user (`EmulatedTransport`), a board over SSH (`SSHTransport`,
fabric + paramiko), and a board on a labgrid place, over SSH once the place is held
(bench.boards.places.PlaceTransport).

The interface (`Transport`): `put` a file, `start` a command whose stdout lines stream back as they
are produced (`run` collects them), `get` a file, `mkdtemp` a private directory and `cleanup` it.
Commands are argument lists, never shell strings: locally they are exec'd directly, over SSH they are
joined with `shlex.quote` so that paths with spaces, quotes or `;` arrive as one argument and cannot
inject commands.

Every private directory (`mkdtemp`) holds a marker naming the process that made it
(`bench.files.OWNER_MARK`), so that one left by a killed run can be found and removed later
(bench.boards.leftovers). The SSH transport takes only hosts and users that pass
`bench.boards.schema.check_host`.

SSH host keys are verified against known_hosts (the board's `known_hosts`, else ~/.ssh/config's
UserKnownHostsFile, else ~/.ssh/known_hosts, plus /etc/ssh/ssh_known_hosts): an unknown host is
refused unless the board opts in with `accept_new_host_key` (`--accept-new-host-key`), which records
the new key; a changed key is always refused. fabric's own default would accept any key silently.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from bench.boards.schema import check_host
from bench.errors import MeasurementError, UsageError
from bench.files import OWNER_MARK, make_scratch_dir, process_identity

_STDERR_KEEP = 64 * 1024
# Exit status of a command that died of a signal whose number is not known: sshd reports the signal
# in an "exit-signal" message that paramiko does not read (it then gives -1, which looks like SIGHUP).
SIGNAL_UNKNOWN = -255
# paramiko logs connection failures (with a traceback) from its own thread; they are reported here as
# one line each, so its log stays quiet unless the user configures logging.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
KEEPALIVE_S = 5         # SSH keepalive interval, so a frozen link is noticed by the network stack
KILL_TIMEOUT_S = 10     # opening a channel or killing a remote command must not hang on a frozen link
SFTP_TIMEOUT_S = 60     # per SFTP operation


class TransportError(MeasurementError):
    """The board could not be reached or a transfer failed (exit code 1 on the CLI)."""


class ConnectError(TransportError):
    """The board's SSH server could not be reached at all (name, network or server): its address or
    the board's state is at fault, not the login."""


class HostKeyError(TransportError):
    """The board's SSH host key is unknown (and not opted in) or does not match known_hosts: the
    board cannot be reached (exit 1; a farm goes on without it)."""


class TransportTimeout(TimeoutError):
    """A command ran past its deadline; it has been killed."""


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


def _close_quietly(f) -> None:
    try:
        f.close()
    except Exception:
        pass


class Process:
    """A running command: `lines()` yields its stdout lines (without the newline) as they come;
    `wait()` gives the exit status (negative: killed by that signal, as subprocess reports it;
    SIGNAL_UNKNOWN: killed by a signal the transport cannot name);
    `stderr` is the last 64 KiB of its standard error; `pid` its process id on the board."""

    def __init__(self, stdout, stderr, waiter, killer, pid: int | None):
        self.pid = pid
        self._waiter = waiter
        self._killer = killer
        self._lines: queue.Queue = queue.Queue()
        self._err = bytearray()
        self._err_lock = threading.Lock()
        self._returncode: int | None = None
        self._out_thread = threading.Thread(target=self._pump_out, args=(stdout,), daemon=True)
        self._err_thread = threading.Thread(target=self._pump_err, args=(stderr,), daemon=True)
        self._out_thread.start()
        self._err_thread.start()

    def _pump_out(self, f):
        try:
            for raw in iter(f.readline, b""):
                self._lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        except (OSError, EOFError, socket.error):
            pass  # the other side went away; wait() reports how
        finally:
            _close_quietly(f)
            self._lines.put(None)

    def _pump_err(self, f):
        try:
            for chunk in iter(lambda: f.read(4096), b""):
                with self._err_lock:
                    self._err += chunk
                    del self._err[:-_STDERR_KEEP]
        except (OSError, EOFError, socket.error):
            pass
        finally:
            _close_quietly(f)

    @property
    def stderr(self) -> str:
        self._err_thread.join(timeout=2)
        with self._err_lock:
            return self._err.decode("utf-8", "replace")

    def next_line(self, deadline: float | None = None) -> str | None:
        """The next stdout line, or None once stdout is closed. `deadline` (a time.monotonic()
        value): past it the command is killed and TransportTimeout raised."""
        try:
            if deadline is None:
                line = self._lines.get()
            else:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.kill()
            try:
                self.wait(5)  # reap it: a killed command must not linger as a zombie
            except Exception:
                pass
            raise TransportTimeout("command ran past its deadline and was killed") from None
        if line is None:
            self._lines.put(None)  # later calls end at once too
        return line

    def lines(self, deadline: float | None = None) -> Iterator[str]:
        """Stdout lines as they arrive (see next_line for `deadline`)."""
        while (line := self.next_line(deadline)) is not None:
            yield line

    def wait(self, timeout: float | None = None) -> int:
        if self._returncode is None:
            self._returncode = self._waiter(timeout)
        return self._returncode

    def kill(self) -> None:
        if self._returncode is None:
            try:
                self._killer()
            except Exception:  # already gone, or the connection is: nothing more to kill
                pass


class Transport:
    """Base class; see the module docstring. Use as a context manager (closes the connection)."""

    def __init__(self, board):
        self.board = board
        self._made_dirs: set[str] = set()
        self.broken = ""   # why the connection is unusable (a frozen or lost link), once known

    @property
    def emulated(self) -> bool:
        return bool(self.board.emulated)

    # -- to implement
    def put(self, local: str | os.PathLike, remote: str, mode: int = 0o600) -> None:
        raise NotImplementedError

    def get(self, remote: str, local: str | os.PathLike) -> None:
        raise NotImplementedError

    def start(self, argv: Sequence[str]) -> Process:
        raise NotImplementedError

    def _make_private_dir(self, prefix: str) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # -- shared
    def run(self, argv: Sequence[str], timeout: float | None = None) -> Completed:
        """Run a command to completion; TransportTimeout (after killing it) past `timeout` seconds."""
        proc = self.start(argv)
        deadline = None if timeout is None else time.monotonic() + timeout
        out = list(proc.lines(deadline))
        rc = proc.wait(None if deadline is None else max(1.0, deadline - time.monotonic()))
        return Completed(rc, "".join(line + "\n" for line in out), proc.stderr)

    def mkdtemp(self, prefix: str = "wb-runner.") -> str:
        """Create a fresh directory only the board user can enter (mode 0700) under the board's
        `workdir` (default $TMPDIR or /tmp there); returns its absolute path."""
        path = self._make_private_dir(prefix)
        self._made_dirs.add(path)
        return path

    def adopt(self, path: str) -> None:
        """Take over a directory another connection to the same board made (cleanup after a lost
        link goes through a fresh connection)."""
        self._made_dirs.add(path)

    def fresh(self) -> "Transport":
        """A new connection to the same board (cleanup after this one broke)."""
        return open_transport(self.board)

    def kill_remote(self, pid: int) -> None:
        """SIGKILL a process on the board by its PID (bounded; it may be gone already)."""
        self.run(["kill", "-KILL", str(pid)], timeout=KILL_TIMEOUT_S)

    def cleanup(self, path: str) -> None:
        """Remove a directory made by `mkdtemp` on this transport, with everything in it. Refuses
        any other path: an `rm -rf` must never reach a path this code did not create."""
        if path not in self._made_dirs:
            raise ValueError(f"refusing to remove {path!r}: not created by this transport")
        self._remove_tree(path)
        self._made_dirs.discard(path)

    def _remove_tree(self, path: str) -> None:
        res = self.run(["rm", "-rf", "--", path], timeout=60)
        if res.returncode != 0:
            raise TransportError(f"could not remove {path} on {self.board.name}: {res.stderr.strip()[:200]}")

    def sha256(self, remote: str) -> str:
        """sha256 of a file, computed on the board (checks what landed there, not what was sent)."""
        res = self.run(["sha256sum", remote], timeout=120)
        # GNU sha256sum prefixes a backslash when it escapes the file name.
        digest = res.stdout.lstrip("\\").split(" ", 1)[0].strip()
        if res.returncode != 0 or len(digest) != 64:
            raise TransportError(f"sha256sum failed on {self.board.name}: {res.stderr.strip()[:200]}")
        return digest

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------------

class LocalTransport(Transport):
    """This machine: files are copied, commands exec'd without a shell."""

    def put(self, local, remote, mode=0o600):
        shutil.copyfile(local, remote)
        os.chmod(remote, mode)

    def get(self, remote, local):
        shutil.copyfile(remote, local)

    def start(self, argv):
        try:
            # Own session: kill() takes the whole process group (e.g. qemu and anything it forks).
            p = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise TransportError(f"cannot start {argv[0]!r}: {e.strerror}") from None

        def waiter(timeout):
            try:
                return p.wait(timeout)
            except subprocess.TimeoutExpired:
                raise TransportTimeout(f"{argv[0]} did not exit in time") from None

        def killer():
            os.killpg(p.pid, signal.SIGKILL)

        return Process(p.stdout, p.stderr, waiter, killer, p.pid)

    def _make_private_dir(self, prefix):
        base = os.path.expanduser(self.board.workdir) if self.board.workdir else None
        return str(make_scratch_dir(prefix, base))  # mode 0700, marked

    def _remove_tree(self, path):
        shutil.rmtree(path)


class EmulatedTransport(LocalTransport):
    """This machine running foreign binaries through the board's exec_prefix (qemu-user). The files
    and processes are local; what differs is that results are emulated and the topology is qemu's."""

    def __init__(self, board):
        super().__init__(board)
        prog = board.exec_prefix_argv[0] if board.exec_prefix_argv else None
        if not prog or not shutil.which(prog):
            raise UsageError(f"board {board.name!r}: exec_prefix program {prog!r} not found on this machine "
                             f"(qemu-aarch64-static comes with the qemu-user-static package)")


# ---------------------------------------------------------------------------------------------

def fingerprint(key) -> str:
    """OpenSSH-style SHA256 fingerprint of a paramiko key."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def connect_failure(e: BaseException, host: str, port: int, waited: float, timeout: float) -> str:
    """What failed when opening an SSH connection, in plain words: the name (DNS), the connection
    (refused, no answer) or the server (not SSH)."""
    errors = getattr(e, "errors", None)
    causes = list(errors.values()) if isinstance(errors, dict) and errors else [e]
    dns = next((c for c in causes if isinstance(c, socket.gaierror)), None)
    if dns is not None:
        return f"the host name {host!r} does not resolve (DNS: {dns.strerror or dns}); check the name or use an address"
    if all(isinstance(c, ConnectionRefusedError) for c in causes):
        return (f"connection refused: nothing listens on port {port} of {host} (the board is still booting, "
                f"its SSH server is off, or the port is another)")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return (f"no answer within {waited:.0f} s (connect_timeout {timeout:g} s): the board is off, on another "
                f"network, or a firewall drops the connection")
    if not isinstance(e, OSError):  # paramiko's SSHException or EOFError: TCP connected, SSH did not start
        if waited >= timeout - 0.5:
            return (f"port {port} of {host} took the connection but no SSH server answered within {waited:.0f} s "
                    f"(connect_timeout {timeout:g} s): another service on that port, or an overloaded board")
        return f"port {port} of {host} took the connection but did not answer as an SSH server (another service on that port?)"
    if isinstance(e, ConnectionResetError):
        return f"the connection to port {port} of {host} was reset before SSH started"
    return _reason(e)


def _reason(e: Exception) -> str:
    """Why a connection failed, in words: paramiko folds per-address socket errors into one
    NoValidConnectionsError whose text starts with "[Errno None]"."""
    per_address = getattr(e, "errors", None)
    if isinstance(per_address, dict) and per_address:
        return "; ".join(sorted({(x.strerror or str(x)).lower() for x in per_address.values()}))
    return str(e)


def _ssh_policies():
    import paramiko

    class RejectUnknown(paramiko.MissingHostKeyPolicy):
        def __init__(self, known_hosts: str, board: str):
            self.known_hosts, self.board = known_hosts, board

        def missing_host_key(self, client, hostname, key):
            raise HostKeyError(
                f"board {self.board}: host key of {hostname} is not in {self.known_hosts} (the server offers "
                f"{key.get_name()} {fingerprint(key)}); check that fingerprint on the board "
                f"(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and accept it once with "
                f"--accept-new-host-key (or accept_new_host_key = true in the profile)")

    class AcceptNewAndRecord(paramiko.MissingHostKeyPolicy):
        """OpenSSH's StrictHostKeyChecking=accept-new: a host never seen is recorded; paramiko only
        calls this for hosts with no key at all, so a changed key still fails."""

        def __init__(self, known_hosts: str, board: str):
            self.known_hosts = known_hosts

        def missing_host_key(self, client, hostname, key):
            client.get_host_keys().add(hostname, key.get_name(), key)
            path = Path(self.known_hosts)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            old = path.read_text() if path.exists() else ""
            with open(path, "a") as f:
                os.chmod(path, 0o600)
                f.write(("" if not old or old.endswith("\n") else "\n")
                        + f"{hostname} {key.get_name()} {key.get_base64()}\n")
            print(f"bench: recorded new host key of {hostname} ({key.get_name()} {fingerprint(key)}) "
                  f"in {path}", file=sys.stderr)

    return RejectUnknown, AcceptNewAndRecord


class SSHTransport(Transport):
    """A board over SSH. fabric resolves the host through ~/.ssh/config (or the board's `ssh_config`):
    an alias gets its HostName, User, Port and IdentityFile. Files go by SFTP."""

    def __init__(self, board):
        super().__init__(board)
        import fabric
        import paramiko

        check_host(board.host, board.user, f"board {board.name!r}")  # before any ssh_config is read
        for key in ("ssh_config", "known_hosts", "identity"):   # a FIFO or a device would hang the reader
            path = getattr(board, key)
            if path and os.path.exists(path) and not os.path.isfile(path):
                raise UsageError(f"board {board.name!r}: {key} {path} is not a regular file")
        self._paramiko = paramiko
        config = fabric.Config(runtime_ssh_path=board.ssh_config) if board.ssh_config else fabric.Config()
        # banner/auth timeouts: a host that accepts TCP but never speaks SSH (a tarpit) fails in
        # connect_timeout seconds, not paramiko's own defaults.
        connect_kwargs = {"banner_timeout": board.connect_timeout, "auth_timeout": board.connect_timeout}
        if board.identity:
            connect_kwargs["key_filename"] = [board.identity]
        try:
            conn = fabric.Connection(board.host, user=board.user, port=board.port, config=config,
                                     connect_timeout=int(board.connect_timeout), connect_kwargs=connect_kwargs)
        except FileNotFoundError as e:
            raise UsageError(f"board {board.name!r}: ssh_config {e.filename!r} does not exist") from None
        self.conn = conn
        self.known_hosts = self._known_hosts_file(conn)
        client = conn.client
        if os.path.exists(self.known_hosts):
            client.load_host_keys(self.known_hosts)
        if not board.known_hosts and os.path.exists("/etc/ssh/ssh_known_hosts"):
            client.load_system_host_keys("/etc/ssh/ssh_known_hosts")
        reject, accept_new = _ssh_policies()
        client.set_missing_host_key_policy(
            (accept_new if board.accept_new_host_key else reject)(self.known_hosts, board.name))
        self._connect()
        self._sftp = None

    def _known_hosts_file(self, conn) -> str:
        if self.board.known_hosts:
            return self.board.known_hosts
        from_config = conn.ssh_config.get("userknownhostsfile")
        if from_config:
            first = from_config.split()[0] if isinstance(from_config, str) else from_config[0]
            return os.path.expanduser(first)
        return os.path.expanduser("~/.ssh/known_hosts")

    def _connect(self):
        p = self._paramiko
        where = f"{self.conn.user}@{self.conn.host}:{self.conn.port}"
        t0 = time.monotonic()
        try:
            self.conn.open()
            self.conn.client.get_transport().set_keepalive(KEEPALIVE_S)
        except HostKeyError:
            raise
        except p.BadHostKeyException as e:
            port = self.conn.port
            name = self.conn.host if port == 22 else f"[{self.conn.host}]:{port}"
            raise HostKeyError(
                f"board {self.board.name}: host key mismatch for {name}: {self.known_hosts} has {e.expected_key.get_name()} "
                f"{fingerprint(e.expected_key)} but the server offers {e.key.get_name()} {fingerprint(e.key)}; "
                f"refusing to connect (reinstalled board, or someone in the middle). If the board was "
                f"reinstalled, remove the old entry: ssh-keygen -R '{name}' -f {self.known_hosts}") from None
        except p.AuthenticationException as e:
            raise TransportError(f"board {self.board.name}: authentication to {where} failed ({e}); "
                                 f"key files tried: {self._key_files()}") from None
        except (OSError, p.SSHException, EOFError) as e:
            why = connect_failure(e, self.conn.host, self.conn.port, time.monotonic() - t0, self.board.connect_timeout)
            raise ConnectError(f"board {self.board.name}: cannot connect to {where}: {why}") from None

    def _key_files(self) -> str:
        """The private key files an authentication could have used (for the error message)."""
        named = [self.board.identity] if self.board.identity else []
        cfg = self.conn.ssh_config.get("identityfile") or []
        named += [os.path.expanduser(f) for f in ([cfg] if isinstance(cfg, str) else cfg)]
        defaults = [os.path.expanduser(f"~/.ssh/id_{k}") for k in ("rsa", "ecdsa", "ed25519", "dsa")]
        tried = list(dict.fromkeys(named + [f for f in defaults if os.path.exists(f)]))
        agent = "plus ssh-agent" if os.environ.get("SSH_AUTH_SOCK") else "no ssh-agent"
        return (", ".join(tried) if tried else "none found (no identity, no IdentityFile, no ~/.ssh/id_*)") + f"; {agent}"

    @property
    def sftp(self):
        if self._sftp is None:
            try:
                self._sftp = self.conn.client.open_sftp()
                self._sftp.get_channel().settimeout(SFTP_TIMEOUT_S)  # a frozen link fails, not hangs
            except self._paramiko.SSHException as e:
                raise TransportError(f"SFTP unavailable on {self.board.name}: {e}") from None
        return self._sftp

    def put(self, local, remote, mode=0o600):
        if self.broken:
            raise TransportError(f"connection to {self.board.name} lost: {self.broken}")
        try:
            self.sftp.put(os.fspath(local), remote)
            self.sftp.chmod(remote, mode)
        except (OSError, self._paramiko.SSHException) as e:
            raise TransportError(f"upload of {local} to {self.board.name}:{remote} failed: {e}") from None

    def get(self, remote, local):
        try:
            self.sftp.get(remote, os.fspath(local))
        except (OSError, self._paramiko.SSHException) as e:
            raise TransportError(f"download of {self.board.name}:{remote} failed: {e}") from None

    # The board's login shell runs the command line; `sh -c` starts the argv, reports its PID on
    # stderr (so that a kill can reach it on a separate channel), waits for it and exits with its
    # status (128 + N when signal N killed it: sshd's exit-signal message is not read by paramiko).
    # The marker lets anything a login script prints on stderr be skipped; stdout is the command's.
    _PID_MARK = "@@wb-pid@@"
    _SCRIPT = f'"$@" </dev/null & p=$!; echo "{_PID_MARK} $p" >&2; wait $p'

    def start(self, argv):
        if self.broken:
            raise TransportError(f"connection to {self.board.name} lost: {self.broken}")
        cmd = shlex.join(["sh", "-c", self._SCRIPT, "sh", *argv])
        try:
            chan = self.conn.client.get_transport().open_session(timeout=KILL_TIMEOUT_S)
            chan.exec_command(cmd)
        except (OSError, self._paramiko.SSHException, AttributeError) as e:
            raise TransportError(f"cannot run a command on {self.board.name}: {e}") from None
        out = chan.makefile("rb", -1)
        err = chan.makefile_stderr("rb", -1)
        pid = None
        for raw in iter(err.readline, b""):
            line = raw.decode("utf-8", "replace")
            if line.startswith(self._PID_MARK):
                pid = int(line.split()[1])
                break

        def waiter(timeout):
            if timeout is not None and not chan.status_event.wait(timeout):
                raise TransportTimeout("remote command did not exit in time")
            status = chan.recv_exit_status()
            if status == -1:
                return SIGNAL_UNKNOWN
            return -(status - 128) if 128 < status < 128 + 65 else status

        def killer():
            try:
                if pid is not None and not self.broken:  # a separate channel, bounded: the link may be frozen
                    try:
                        c = self.conn.client.get_transport().open_session(timeout=KILL_TIMEOUT_S)
                    except (OSError, self._paramiko.SSHException, EOFError, AttributeError) as e:
                        self.broken = f"no channel in {KILL_TIMEOUT_S} s ({e or type(e).__name__})"
                        raise
                    c.exec_command(shlex.join(["kill", "-KILL", str(pid)]))
                    c.status_event.wait(KILL_TIMEOUT_S)
                    chan.status_event.wait(3)  # let the killed command's exit status arrive
            finally:
                chan.close()

        return Process(out, err, waiter, killer, pid)

    def _make_private_dir(self, prefix):
        # umask 077 + mktemp -d: created 0700 in one step (no window where it is readable by others).
        script = (f'umask 077 && d=$(mktemp -d "${{1:-${{TMPDIR:-/tmp}}}}/$2XXXXXXXX") && '
                  f'printf "winobench %s\\n" "$3" > "$d/{OWNER_MARK}" && echo "$d"')
        res = self.run(["sh", "-c", script, "sh", self.board.workdir or "", prefix, process_identity()], timeout=60)
        path = res.stdout.rstrip("\n")
        if res.returncode != 0 or not path.startswith("/") or "\n" in path:
            raise TransportError(f"mktemp -d failed on {self.board.name}: {res.stderr.strip()[:200]}")
        return path

    def close(self):
        try:
            if self._sftp is not None:
                self._sftp.close()
        finally:
            self.conn.close()


def _place_transport(board) -> Transport:
    from bench.boards.places import PlaceTransport   # labgrid (an optional extra) only when a board uses it
    return PlaceTransport(board)


# The implementation of each profile `transport` value.
TRANSPORTS = {"local": LocalTransport, "ssh": SSHTransport, "emulated": EmulatedTransport, "labgrid": _place_transport}


def open_transport(board) -> Transport:
    """The transport for `board` (a `bench.boards.profiles.Board`), connected; use it as a context manager.

    Raises HostKeyError (a UsageError) for host-key problems and TransportError when the board
    cannot be reached."""
    return TRANSPORTS[board.transport](board)
