#!/usr/bin/env bash
# The metrics endpoint at scale (issue 16): one fresh VM, 10,000 services x 10 (or N x 10),
# the guest side bench/metrics-guest.sh. Prints its BENCH lines: scrape time and size, a
# health check's count while scrapes run, a reload while a scrape is read slowly.
# Usage: bench/metrics-run.sh [BUILDDIR [N]]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build}"
n="${2:-10000}"
log="$repo/.vm/logs/metrics-bench.log"
data="$(mktemp -d /tmp/metrics-bench.XXXXXX)"
trap 'rm -rf "$data"' EXIT
"$repo/bench/gen-configs.sh" -s "$n" "$n" "$data" >/dev/null
XL_VM_QUIET=1 "$repo/scripts/vm-run" --timeout 1200 --mem 2048 \
    --bin "$build/extlbd" --log "$log" --add "$data/extlb-$n.d:/test/bulk.d" \
    "$repo/bench/metrics-guest.sh" "$n" >/dev/null || true
grep -E '^(BENCH|ok|not ok|# |[0-9]+ passed)' "$log"
