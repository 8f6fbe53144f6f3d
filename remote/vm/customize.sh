#!/bin/sh
# mmdebstrap customize hook of the emulated board's image (bench/boards/vm_image.py runs it):
#   customize.sh ROOT OUT
# ROOT is the arm64 root file system mmdebstrap made; OUT holds the keys made beforehand
# (host_key, client_key.pub) and receives `Image` (the kernel) and `initrd.cpio.zst` (ROOT packed
# as the initramfs). The kernel package is fetched with mmdebstrap's own apt configuration, so the
# host needs no arm64 architecture in dpkg.
set -eu
ROOT=$1
OUT=$2
HERE=$(dirname "$0")
export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG"

# 1. Kernel: linux-image-arm64 depends on the versioned package (linux-image-6.1.0-NN-arm64).
pkg=$(apt-cache depends linux-image-arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-arm64\)$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "customize: cannot resolve linux-image-arm64" >&2; exit 1; }
K=$OUT/kernel
mkdir -p "$K"
(cd "$OUT" && apt-get download -q "$pkg")
dpkg-deb -x "$OUT"/"$pkg"_*.deb "$K"
rm -f "$OUT"/"$pkg"_*.deb
ver=${pkg#linux-image-}
cp "$K"/boot/vmlinuz-"$ver" "$OUT"/Image   # arm64 Debian kernels are uncompressed Images

# 2. The virtio modules /init loads, with what they depend on (modinfo reads arm64 modules here).
copy_module() {
    f=$(find "$K/lib/modules/$ver" \( -name "$1.ko*" -o -name "$(echo "$1" | tr _ -).ko*" \) | head -n1)
    [ -n "$f" ] || return 0   # built into the kernel
    rel=${f#"$K"/}
    [ -e "$ROOT/$rel" ] && return 0
    mkdir -p "$ROOT/$(dirname "$rel")"
    cp "$f" "$ROOT/$rel"
    for dep in $(modinfo -F depends "$f" | tr , ' '); do copy_module "$dep"; done
}
for m in virtio_mmio virtio_net virtio_rng; do copy_module "$m"; done
cp "$K/lib/modules/$ver/modules.order" "$K/lib/modules/$ver/modules.builtin" "$ROOT/lib/modules/$ver/" 2>/dev/null || true
depmod -b "$ROOT" "$ver"
rm -rf "$K"

# 3. sshd: our host key only, the client key authorized for root.
rm -f "$ROOT"/etc/ssh/ssh_host_*
install -m 0600 "$OUT/host_key" "$ROOT/etc/ssh/ssh_host_ed25519_key"
install -m 0644 "$OUT/host_key.pub" "$ROOT/etc/ssh/ssh_host_ed25519_key.pub"
install -m 0644 "$HERE/sshd_config" "$ROOT/etc/ssh/sshd_config"
mkdir -p -m 0700 "$ROOT/root/.ssh"
install -m 0600 "$OUT/client_key.pub" "$ROOT/root/.ssh/authorized_keys"
install -m 0755 "$HERE/init" "$ROOT/init"
echo winobench-vm > "$ROOT/etc/hostname"

# 4. The whole tree becomes the initramfs (no disk image needed).
# apt's package caches and lists are 100 MB the board never uses (nothing is installed there).
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/lib/apt/lists/*
(cd "$ROOT" && find . -xdev | cpio -o -H newc --quiet | zstd -q -10 -T0 -o "$OUT/initrd.cpio.zst")
