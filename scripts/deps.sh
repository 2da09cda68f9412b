# shellcheck shell=bash
# Sourced helper shared by the scripts under scripts/: installs Debian packages on demand.
# `xl_apt_install PKG...` asks dpkg-query which of the packages are not installed yet and
# installs only those with apt-get (non-interactive, quiet). It runs `apt-get update` once
# per process, and only when the package lists are missing or an install attempt fails on
# stale lists. Needs root (or passwordless sudo) when something is missing.
#
# Usage:  . "$(dirname "$0")/deps.sh";  xl_apt_install busybox-static ipvsadm

# Guard against double sourcing.
if [[ -n "${XL_DEPS_SH_LOADED:-}" ]]; then
    return 0
fi
XL_DEPS_SH_LOADED=1
XL_APT_UPDATED=0

# Run a command as root: directly when we are root, via sudo otherwise.
xl_as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    else
        sudo -n "$@"
    fi
}

# True when package $1 is installed (status "install ok installed").
xl_pkg_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]]
}

# Run `apt-get update` at most once per process.
xl_apt_update() {
    if [[ "$XL_APT_UPDATED" -eq 0 ]]; then
        echo "deps: apt-get update" >&2
        xl_as_root env DEBIAN_FRONTEND=noninteractive apt-get -qq update >&2
        XL_APT_UPDATED=1
    fi
}

# xl_apt_install PKG... : install the packages that are not installed yet.
xl_apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! xl_pkg_installed "$pkg"; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    echo "deps: installing ${missing[*]}" >&2
    # No package lists at all: update first.
    if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
        xl_apt_update
    fi
    if ! xl_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -qq -y -o Dpkg::Use-Pty=0 --no-install-recommends install "${missing[@]}" >&2; then
        # Lists may be stale (404 on an old version): refresh once and retry.
        if [[ "$XL_APT_UPDATED" -eq 1 ]]; then
            return 1
        fi
        xl_apt_update
        xl_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -qq -y -o Dpkg::Use-Pty=0 --no-install-recommends install "${missing[@]}" >&2
    fi
}

# xl_kubectl: prints the path of Debian's kubectl (package kubernetes-client, 1.20 in
# bookworm), installing it when missing.  Where another package already owns
# /usr/bin/kubectl (the Google Cloud SDK's "kubectl" package, a different client), dpkg
# refuses to install kubernetes-client over it: the package is then fetched with apt-get
# download and unpacked under ${XL_CACHE_DIR:-$HOME/.cache/extlb}, not installed.
xl_kubectl() {
    local cache="${XL_CACHE_DIR:-$HOME/.cache/extlb}/kubernetes-client" deb
    if xl_pkg_installed kubernetes-client; then
        echo /usr/bin/kubectl
        return 0
    fi
    if ! dpkg-query -S /usr/bin/kubectl >/dev/null 2>&1 && xl_apt_install kubernetes-client; then
        echo /usr/bin/kubectl
        return 0
    fi
    if [[ ! -x "$cache/usr/bin/kubectl" ]]; then
        mkdir -p "$cache" || return 1
        if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
            xl_apt_update
        fi
        (cd "$cache" && rm -f kubernetes-client_*.deb &&
            { apt-get -qq download kubernetes-client >&2 ||
              { xl_apt_update && apt-get -qq download kubernetes-client >&2; }; }) || return 1
        deb="$(compgen -G "$cache/kubernetes-client_*.deb" | head -n 1)"
        dpkg-deb -x "$deb" "$cache" && rm -f "$deb" || return 1
    fi
    echo "$cache/usr/bin/kubectl"
}
