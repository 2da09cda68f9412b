#!/usr/bin/env bash
# Issue 15's reload of one service's source ranges: N services x 10 on a VIP host
# (bench/gen-configs.sh's extlb-N-host.conf: vip_interface, snat, two allowed_sources ranges
# on every service) are loaded in a fresh test VM; then RELOADS times the middle service's
# allowed_sources gains one /32 and extlbd is sent SIGHUP. For each reload the guest
# (bench/ranges-reload-guest.sh) reports extlbd's "nftables: reload:" line (transactions,
# commands, services, elements), the time from the signal to that line, the IPVS ops the
# reload sent (expected 0) and whether nftables then holds the new range and every other
# service's ranges unchanged (`nft list set` of the table, before and after, compared).
#
# Usage: bench/ranges-reload.sh [N [RELOADS]]      (default 10000 3)
# Builds extlbd in build-bench/ (BENCH_BUILD=0: use it as it is); console log
# .vm/logs/ranges-reload-N.log; prints the guest's RANGES and BENCH lines.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-bench"
n="${1:-10000}"
reloads="${2:-3}"
data="$build/bench/data"
log="${XL_VM_DIR:-$repo/.vm}/logs/ranges-reload-$n.log"
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 2 && "$n" -le 64000 ]] || { echo "N: 2..64000" >&2; exit 2; }
[[ "${BENCH_BUILD:-1}" == 0 ]] || "$repo/scripts/build.sh" "$build"
mkdir -p "$data" "$(dirname "$log")"
"$repo/bench/gen-configs.sh" "$n" "$data" 10 >/dev/null
"$build/extlbd" -t -f "$data/extlb-$n-host.conf" >/dev/null
echo "# ranges-reload: $n x 10, $reloads reloads, host load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "extlbd at $(git -C "$repo" rev-parse --short HEAD)"
rm -f "$log"
rc=0
XL_VM_QUIET=1 "$repo/scripts/vm-run" --timeout 3600 --mem 4096 --log "$log" \
    --bin "$build/extlbd" --add "$data/extlb-$n-host.conf" --add "$repo/bench/health-lib.sh" \
    "$repo/bench/ranges-reload-guest.sh" "$n" "$reloads" || rc=$?
grep -E '^(RANGES|BENCH|# )' "$log" || true
exit "$rc"
