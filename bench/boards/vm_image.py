"""The emulated board's image: a Debian arm64 root file system packed as an initramfs, plus a Debian
arm64 kernel, built once per user from Debian packages.

`ensure_image()` returns the cached image, building it first when missing. The cache directory is
named after a hash of everything that goes into the image (suite, mirror, packages, the files in
`remote/vm/`), so changing any of them builds a new image and an unchanged recipe never rebuilds.
An image directory holds `Image` (kernel), `initrd.cpio.zst`, the host key whose public half is the
known_hosts entry (no trust on first use) and the client key root accepts.

Images live in `$BENCH_IMAGE_DIR` if set, else `user_cache_dir()/images` (`images_dir`); the tests
point the variable at the user's own cache so that their hermetic HOME does not rebuild the image.
Each image directory is marked as the project's own (bench.files.make_owned_dir), and only marked
ones are ever removed.

The build needs root, or mmdebstrap's unshare mode, and qemu-user registered in binfmt_misc (the
maintainer scripts of arm64 packages run under emulation); scripts/setup.sh sets that up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.errors import MeasurementError
from bench.files import OWNER_MARK, process_identity, remote_dir, remove_owned_dir, user_cache_dir

SUITE = "bookworm"
PACKAGES = ("openssh-server", "iproute2", "kmod", "procps", "tini", "mount")
BUILD_TIMEOUT_S = 1200
IMAGE_DIR_ENV = "BENCH_IMAGE_DIR"
_DEFAULT_MIRROR = "http://deb.debian.org/debian"
_BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
# Docs, man pages and translations are of no use on the board and slow the initramfs down.
_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")


@dataclass(frozen=True)
class Image:
    dir: Path

    @property
    def kernel(self) -> Path:
        return self.dir / "Image"

    @property
    def initrd(self) -> Path:
        return self.dir / "initrd.cpio.zst"

    @property
    def client_key(self) -> Path:
        return self.dir / "client_key"

    @property
    def host_pubkey(self) -> str:
        """"ssh-ed25519 AAAA..." of the image's sshd (for a known_hosts line)."""
        return " ".join((self.dir / "host_key.pub").read_text().split()[:2])

    def complete(self) -> bool:
        return all(p.is_file() for p in (self.kernel, self.initrd, self.client_key, self.dir / "host_key.pub"))


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 `URIs:` or a classic `deb` line)."""
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in path.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    sources = Path("/etc/apt/sources.list")
    if sources.is_file():
        for line in sources.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[1]:
                return parts[1]
    return _DEFAULT_MIRROR


def recipe(mirror: str | None = None) -> dict:
    """Everything that goes into the image; its hash names the cache directory."""
    vm = remote_dir() / "vm"
    return {"suite": SUITE, "mirror": mirror or debian_mirror(), "packages": list(PACKAGES),
            "excludes": list(_EXCLUDES),
            "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(vm.iterdir())}}


def images_dir() -> Path:
    """Where the images are cached: $BENCH_IMAGE_DIR, else user_cache_dir()/images."""
    return Path(os.environ.get(IMAGE_DIR_ENV) or user_cache_dir() / "images")


def image_dir(rec: dict) -> Path:
    digest = hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]
    return images_dir() / f"debian-{rec['suite']}-arm64-{digest}"


def ensure_image(log=print, mirror: str | None = None) -> tuple[Image, float | None]:
    """The cached image for the current recipe, built first if missing: (image, build seconds or
    None when it was cached). A failed build leaves nothing in the cache."""
    rec = recipe(mirror)
    image = Image(image_dir(rec))
    if image.complete():
        return image, None
    check_build_tools()
    image.dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".build-", dir=image.dir.parent) as tmp:
        out = Path(tmp) / "image"
        out.mkdir(mode=0o700)
        (out / OWNER_MARK).write_text(f"winobench {process_identity()}\n")
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"winobench-vm-{key}",
                            "-f", str(out / key)], check=True, stdout=subprocess.DEVNULL, timeout=30)
        log(f"building the emulated board's image ({SUITE} arm64 from {rec['mirror']}); a few minutes, once")
        _mmdebstrap(rec, out, image.dir.parent / "last-build.log")
        (out / "recipe.json").write_text(json.dumps(rec, indent=1) + "\n")
        if not Image(out).complete():
            raise MeasurementError(f"image build finished without a kernel or initramfs; see {image.dir.parent / 'last-build.log'}")
        remove_owned_dir(image.dir)   # an incomplete image of ours; never another directory
        out.rename(image.dir)
    return image, time.monotonic() - start


def _mmdebstrap(rec: dict, out: Path, log_path: Path) -> None:
    hook = remote_dir() / "vm" / "customize.sh"
    argv = ["mmdebstrap", "--arch=arm64", "--variant=apt", "--format=null", "-q",
            "--include=" + ",".join(rec["packages"]),
            *(f"--dpkgopt=path-exclude={p}" for p in rec["excludes"]),
            f"--customize-hook=sh {hook} \"$1\" {out}",
            rec["suite"], "/dev/null", rec["mirror"]]
    env = dict(os.environ, TMPDIR=str(out.parent))
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            rc = proc.wait(BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise MeasurementError(f"image build did not finish within {BUILD_TIMEOUT_S} s; see {log_path}") from None
        except BaseException:   # Ctrl-C, SIGTERM: mmdebstrap unmounts its chroot on SIGTERM
            _stop_group(proc)
            raise
    if rc != 0:
        tail = log_path.read_text().strip().splitlines()[-1:] or ["(no output)"]
        raise MeasurementError(f"image build failed (mmdebstrap exit {rc}): {tail[0][:300]}; see {log_path}")


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to mmdebstrap's process group (its apt, dpkg and hook children too), SIGKILL after 30 s."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def check_build_tools() -> None:
    """One line naming what is missing for a build (scripts/setup.sh installs and enables these)."""
    missing = [t for t in ("mmdebstrap", "cpio", "zstd", "depmod", "modinfo", "dpkg-deb", "ssh-keygen")
               if shutil.which(t) is None]
    if missing:
        raise MeasurementError(f"building the emulated board needs {', '.join(missing)}; run `make setup` "
                               "(Debian packages mmdebstrap cpio zstd kmod)")
    if not _BINFMT.is_file() or "enabled" not in _BINFMT.read_text():
        raise MeasurementError(f"building the emulated board needs qemu-aarch64 in binfmt_misc ({_BINFMT} "
                               "missing or disabled); as root: mount -t binfmt_misc binfmt_misc "
                               "/proc/sys/fs/binfmt_misc && update-binfmts --enable qemu-aarch64")
