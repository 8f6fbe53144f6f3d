#!/usr/bin/env bash
# Makes this checkout ready to run: system packages (via apt, as root or with sudo), a virtual
# environment in .venv and the package installed into it. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tool or file -> Debian package providing it.
declare -A NEEDED=(
    [aarch64-linux-gnu-gcc]=gcc-aarch64-linux-gnu
    [qemu-aarch64]=qemu-user
    [qemu-aarch64-static]=qemu-user-static
    [/usr/include/simde/arm/neon.h]=libsimde-dev
    [/usr/sbin/sshd]=openssh-server
    [gcc]=gcc
    [make]=make
    # the emulated full-system board (`bench board up`, tests/test_vm.py)
    [qemu-system-aarch64]=qemu-system-arm
    [mmdebstrap]=mmdebstrap
    [update-binfmts]=binfmt-support
    [cpio]=cpio
    [zstd]=zstd
    [dtc]=device-tree-compiler
    [depmod]=kmod
    [llvm-mca]=llvm
    # Google Benchmark's compare.py, which the test of `bench lut --format gbench` runs
    [/usr/share/benchmark/compare.py]=libbenchmark-tools
)
missing=()
for thing in "${!NEEDED[@]}"; do
    if [[ $thing == /* ]]; then [[ -e $thing ]] || missing+=("${NEEDED[$thing]}")
    else command -v "$thing" >/dev/null 2>&1 || missing+=("${NEEDED[$thing]}"); fi
done
python_ok() { python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
python_ok || missing+=(python3 python3-venv python3-dev)

if ((${#missing[@]})); then
    pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
    if [[ $(id -u) -eq 0 ]]; then SUDO=""
    elif sudo -n true 2>/dev/null; then SUDO="sudo -n"
    else
        echo "setup: missing system packages: $pkgs" >&2
        echo "setup: not root and no password-less sudo; install them with: sudo apt-get install -y $pkgs" >&2
        exit 2
    fi
    echo "setup: installing system packages: $pkgs"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi

# The image build runs arm64 maintainer scripts under qemu-user through binfmt_misc, which is not
# mounted by default: mount it and enable qemu-aarch64 (root only; bench board up says what is missing).
binfmt=/proc/sys/fs/binfmt_misc
if [[ $(id -u) -eq 0 ]] && ! grep -qs '^enabled' "$binfmt/qemu-aarch64"; then
    [[ -e $binfmt/register ]] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || true
    update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi

# Virtual environment; reinstall the package only when pyproject.toml changed.
[[ -x .venv/bin/python ]] || python3 -m venv .venv
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -e $stamp ]]; then
    echo "setup: installing the Python package and its dependencies into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi
