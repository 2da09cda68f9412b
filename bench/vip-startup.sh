#!/usr/bin/env bash
# Start-up of 10,000 services x 10 with and without vip_interface (and iproute2 adding the
# same 10,000 addresses, for the kernel's share), each measurement in a fresh VM, ROUNDS
# rounds (default 3). Prints the guest's BENCH lines. Figures: bench/figures/vip-startup-*.
#
# Usage: bench/vip-startup.sh [BUILDDIR [ROUNDS]]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$repo/build}"
rounds="${2:-3}"
for ((r = 1; r <= rounds; r++)); do
    for what in plain vip ip; do
        XL_VM_QUIET=1 "$repo/scripts/vm-run" --timeout 900 --mem 2048 \
            --bin "$build/extlbd" --log "$repo/.vm/logs/vip-startup-$what.log" \
            "$repo/bench/vip-startup-guest.sh" "$what" >/dev/null || true
        grep -E '^(BENCH|# )' "$repo/.vm/logs/vip-startup-$what.log" | sed "s/^/round $r: /"
    done
done
