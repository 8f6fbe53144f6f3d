"""No shell ever sees a host name: an ssh_config `Match exec` line runs through a shell with `%h`
expanded (paramiko, as OpenSSH before CVE-2023-51385's fix), so a host name holding `;`, `$()` or
backticks would run commands on this machine. `bench` refuses such a host in one line before any
ssh_config is read, from `--host` and from a profile alike. Everything happens in the test's own
HOME; the only server is a closed port."""

import os
import socket
import subprocess
import sys


def bench(*args, env):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_match_exec_never_runs_a_hostile_host_name(tmp_path):
    home, evaluated, pwned = tmp_path / "home", tmp_path / "config-was-evaluated", tmp_path / "pwned"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "config").write_text(
        f'Match exec "touch {evaluated}; test %h = x"\n  HostName 127.0.0.1\n  Port {closed_port()}\n')
    boards = tmp_path / "boards.toml"
    env = {**os.environ, "HOME": str(home), "BENCH_BOARDS_FILE": str(boards)}

    # The control: a real host name reaches the config, and its exec line runs (through a shell).
    done = bench("probe", "--host", "root@x", env=env)
    assert done.returncode == 1 and evaluated.exists(), done.stderr
    evaluated.unlink()

    hostile = [f"root@x;touch${{IFS}}{pwned};true", f"root@x$(touch {pwned})", f"root@x`touch {pwned}`",
               f"root;touch {pwned}@x", "-oProxyCommand=touch${IFS}" + str(pwned)]
    for host in hostile:
        done = bench("probe", f"--host={host}", env=env)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "bad --host" in lines[0], done.stderr
        assert not evaluated.exists() and not pwned.exists(), host

    for key, value in (("host", f"x;touch {pwned};true"), ("host", f"$(touch {pwned})"), ("user", f"r;touch {pwned}")):
        boards.write_text(f'[boards.hostile]\nhost = "{"x" if key == "user" else value}"\n'
                          + (f'user = "{value}"\n' if key == "user" else ""))
        for argv in (["probe", "--board", "hostile"], ["run", "--board", "hostile", "--res", "4", "--channels", "4"]):
            done = bench(*argv, env=env)
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1 and f"bad {key}" in lines[0], done.stderr
            assert not evaluated.exists() and not pwned.exists(), (key, value)
