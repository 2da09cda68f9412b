#!/usr/bin/env bash
# Fetch and unpack the Debian cloud kernel used by the IPVS test VM (see scripts/vm-run).
# The host kernel has no IPVS, so tests boot the kernel package that
# `linux-image-cloud-amd64` depends on under QEMU. This script resolves that dependency with
# apt-cache, downloads the .deb with `apt-get download`, unpacks it with `dpkg -x` into
# ${XL_VM_DIR:-<repo>/.vm}/kernel/<package>_<version>/root and runs `depmod -b` on it so that
# modprobe in the guest resolves module dependencies. It is idempotent: a finished unpack is
# marked with a stamp file and reused. XL_VM_KERNEL_PKG overrides the package name.
# Output: the absolute path of vmlinuz on stdout (progress goes to stderr).
#
# Usage: scripts/vm-kernel.sh
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$script_dir/.." && pwd)"
# shellcheck source=scripts/deps.sh
. "$script_dir/deps.sh"

vm_dir="${XL_VM_DIR:-$repo_dir/.vm}"
meta_pkg="linux-image-cloud-amd64"

xl_apt_install kmod

# Resolve the versioned kernel package the meta package depends on.
resolve_kernel_pkg() {
    apt-cache depends "$meta_pkg" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

kpkg="${XL_VM_KERNEL_PKG:-}"
if [[ -z "$kpkg" ]]; then
    kpkg="$(resolve_kernel_pkg)"
    if [[ -z "$kpkg" ]]; then
        xl_apt_update
        kpkg="$(resolve_kernel_pkg)"
    fi
fi
if [[ -z "$kpkg" ]]; then
    echo "vm-kernel: cannot resolve the dependency of $meta_pkg" >&2
    exit 1
fi
kver_pkg="$(apt-cache policy "$kpkg" | sed -n 's/^ *Candidate: //p')"
if [[ -z "$kver_pkg" || "$kver_pkg" == "(none)" ]]; then
    echo "vm-kernel: no installable version of $kpkg" >&2
    exit 1
fi

dest="$vm_dir/kernel/${kpkg}_${kver_pkg}"
stamp="$dest/.unpacked"

find_vmlinuz() {
    local f
    for f in "$dest"/root/boot/vmlinuz-*; do
        if [[ -f "$f" ]]; then
            echo "$f"
            return 0
        fi
    done
    return 1
}

if [[ -f "$stamp" ]] && vmlinuz="$(find_vmlinuz)"; then
    echo "$vmlinuz"
    exit 0
fi

echo "vm-kernel: fetching $kpkg $kver_pkg" >&2
rm -rf "$dest"
mkdir -p "$dest"
dl="$(mktemp -d "$vm_dir/kernel/dl.XXXXXX")"
trap 'rm -rf "$dl"' EXIT
# apt drops privileges to _apt for downloads; let it write into the directory.
chmod 0755 "$dl"
if id _apt >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]]; then
    chown _apt "$dl"
fi
(cd "$dl" && apt-get -q download "$kpkg=$kver_pkg" >&2)
deb=("$dl"/*.deb)
if [[ ! -f "${deb[0]}" ]]; then
    echo "vm-kernel: apt-get download produced no .deb" >&2
    exit 1
fi
dpkg -x "${deb[0]}" "$dest/root"

vmlinuz="$(find_vmlinuz)" || {
    echo "vm-kernel: no boot/vmlinuz-* in ${deb[0]}" >&2
    exit 1
}
kver="${vmlinuz##*/vmlinuz-}"
if [[ ! -d "$dest/root/lib/modules/$kver" ]]; then
    echo "vm-kernel: no lib/modules/$kver in ${deb[0]}" >&2
    exit 1
fi
depmod -b "$dest/root" "$kver"
touch "$stamp"
echo "vm-kernel: unpacked kernel $kver in $dest/root" >&2
echo "$vmlinuz"
