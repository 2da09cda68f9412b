#!/usr/bin/env bash
# Builds extlb out of tree: installs the build dependencies, runs autoreconf
# when the generated files are missing or older than their sources, then
# configure (once per build directory) and make.
#
# Usage: scripts/build.sh [BUILDDIR [CONFIGURE-ARGS...]]   (default: build)
# Sourced (as scripts/test and scripts/demo do), it defines xl_build and sets no shell options.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/deps.sh
. "$repo/scripts/deps.sh"

xl_build_deps() {
    xl_apt_install build-essential autoconf automake pkg-config \
        libnl-3-dev libnl-genl-3-dev libconfig-dev libev-dev libcmocka-dev \
        libcurl4-openssl-dev libssl-dev openssl libjson-c-dev libyaml-dev python3 \
        libnl-route-3-dev libnftnl-dev libmnl-dev \
        libmicrohttpd-dev
}

xl_build() {
    local dir="$1"; shift
    xl_build_deps || return 1
    if [[ ! -x "$repo/configure" || "$repo/configure.ac" -nt "$repo/configure" ||
          "$repo/Makefile.am" -nt "$repo/Makefile.in" ]]; then
        (cd "$repo" && autoreconf -fi) || return 1
    fi
    mkdir -p "$dir" || return 1
    if [[ ! -f "$dir/Makefile" || "$repo/configure" -nt "$dir/config.status" ]]; then
        (cd "$dir" && "$repo/configure" -q --prefix=/usr --sysconfdir=/etc "$@") || return 1
    fi
    make -C "$dir" -s -j"$(nproc)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    d="${1:-build}"; shift || true
    [[ "$d" = /* ]] || d="$repo/$d"
    xl_build "$d" "$@"
fi
