#!/usr/bin/env bash
# k8s-hostile-mem.sh - the peak memory of extlb-k8s --once when the API server
# sends a LIST page near (or above) extlb-k8s's cap on one answer.
#
# The API server double (tests/k8s/apiserver.py, HTTPS on 127.0.0.1 only) is
# seeded with tests/k8s/fixtures; for each size asked, its fail-list fault
# (mode=big) makes the first page of the Endpoints LIST that size: the real
# objects plus up to 500 (the page's limit) Endpoints of namespace "hostile",
# each with as many addresses as that takes, shaped as the endpoints controller
# writes them (ip, nodeName, targetRef).  extlb-k8s --once then runs under
# /usr/bin/time -v, and its "Maximum resident set size" is printed, with the
# page's size as curl received it and extlb-k8s's exit status.
#
# Usage: bench/k8s-hostile-mem.sh [MiB...]        (default: 30 60)
# Environment:
#   EXTLB_K8S   the binary (default: build/extlb-k8s; build it first with
#               scripts/build.sh build)
#   K8S_CAP_MIB that binary's cap on one answer, for the last column
#               (default: K8S_MAX_RESPONSE of this tree; 64 before issue 13)
# Prints one line per run:
#   page MiB  peak RSS MiB  exit  (RSS / cap)
# then one for extlb-k8s in watch mode, the three kinds' first pages all of
# the first size, read side by side (its VmHWM once all three are listed).
# and the host's load before the first run.  Memory: the double holds the
# page as Python objects (about 10 times the page: 600 MB for 60 MiB), and
# extlb-k8s before the bounds of issue 13 took 2.3 GB for a 60 MiB page.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/deps.sh
. "$repo/scripts/deps.sh"
xl_apt_install time python3 openssl curl

bin="${EXTLB_K8S:-$repo/build/extlb-k8s}"
[[ -x "$bin" ]] || { echo "no $bin: build it first (scripts/build.sh build)" >&2; exit 1; }
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(30 60)

tmp="$(mktemp -d /tmp/k8s-hostile-mem.XXXXXX)"
api="$tmp/api" apipid=""
cleanup() {
    if [[ -n "$apipid" ]]; then kill "$apipid" 2>/dev/null; wait "$apipid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
python3 "$repo/tests/k8s/apiserver.py" --dir "$api" --seed "$repo/tests/k8s/fixtures" \
    >"$tmp/api.log" 2>&1 &
apipid=$!
for _ in $(seq 100); do [[ -f "$api/ready" ]] && break; sleep 0.1; done
[[ -f "$api/ready" ]] || { cat "$tmp/api.log"; exit 1; }
ctl() { python3 "$repo/tests/k8s/apiserver.py" ctl "$api" "$@" >/dev/null; }

# the size of the page as a client receives it (the fault's count covers
# this GET and extlb-k8s's)
page_bytes() {
    curl -s --cacert "$api/ca.crt" -H "Authorization: Bearer $(cat "$api/token")" \
        "https://127.0.0.1:$(cat "$api/port")/api/v1/endpoints?limit=500" | wc -c
}

cap_mib="${K8S_CAP_MIB:-$(sed -n 's/^#define K8S_MAX_RESPONSE (\([0-9]*\)u << 20)$/\1/p' \
    "$repo/include/k8s/client.h")}"
echo "extlb-k8s: $bin (sha256 $(sha256sum "$bin" | cut -c1-12))"
echo "cap on one answer: ${cap_mib:-?} MiB (K8S_CAP_MIB, else include/k8s/client.h)"
echo "host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-14s %-5s %s\n' "page MiB" "peak RSS MiB" "exit" "RSS / cap"
run() { # LABEL
    local rc=0 rss
    /usr/bin/time -v -o "$tmp/time" "$bin" --once --kubeconfig "$api/kubeconfig" \
        --default-class --vip-pool 192.0.2.100-192.0.2.110 \
        --output "$tmp/out.conf" 2>"$tmp/k8s.log" || rc=$?
    rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")"
    printf '%-10s %-14s %-5s %s\n' "$1" "$((rss / 1024))" "$rc" \
        "$(awk -v r="$rss" -v c="${cap_mib:-0}" 'BEGIN { if (c > 0) printf "%.2f", r / 1024 / c; else print "?" }')"
    grep -E 'error|larger' "$tmp/k8s.log" | sed 's/^/           /' || true
}
run "no fault"
for mb in "${sizes[@]}"; do
    ctl fail-list mode=big mb="$mb" count=2 path=/api/v1/endpoints
    bytes="$(page_bytes)"
    run "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')"
done

# Watch mode: the three kinds LIST side by side, each first page the
# first size asked (Endpoints-shaped items in the Service and slice LISTs
# are skipped, one warning each, after being parsed); the peak (VmHWM) once
# all three are listed.
mb="${sizes[0]}"
for path in /api/v1/services /apis/discovery.k8s.io/v1/endpointslices /api/v1/endpoints; do
    ctl fail-list mode=big mb="$mb" count=1 path="$path"
done
"$bin" --kubeconfig "$api/kubeconfig" --default-class --vip-pool 192.0.2.100-192.0.2.110 \
    --output "$tmp/out.conf" 2>"$tmp/watch.log" &
wpid=$!
for _ in $(seq 600); do
    [[ "$(grep -c '^extlb-k8s: info: listed' "$tmp/watch.log")" -ge 3 ]] && break
    sleep 0.1
done
hwm="$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$wpid/status")"
kill "$wpid"
wait "$wpid" || true
printf '%-10s %-14s %-5s %s   (watch mode: 3 pages of about %s MiB side by side; %s)\n' \
    "3 x $mb" "$((hwm / 1024))" "-" \
    "$(awk -v r="$hwm" -v c="${cap_mib:-0}" 'BEGIN { if (c > 0) printf "%.2f", r / 1024 / c; else print "?" }')" \
    "$mb" "$(grep -c '^extlb-k8s: info: listed' "$tmp/watch.log") kinds listed"
