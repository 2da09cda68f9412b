#!/usr/bin/env bash
# The peak memory of one `extlbctl -j status` (issue 16's follow-up): one fresh VM, N services
# x 10 real servers, each extlbd binary given started on that table in turn for ROUNDS
# rounds and asked for the status once (bench/ctl-status-memory-guest.sh). Prints the guest's
# BENCH lines and the host's load around the run.
# Usage: bench/ctl-status-memory.sh N ROUNDS EXTLBD...   (e.g. 10000 3 main/extlbd build/extlbd)
# XL_MMAP_THRESHOLD=BYTES: the daemons run with glibc's MALLOC_MMAP_THRESHOLD_ at that.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:?usage: ctl-status-memory.sh N ROUNDS EXTLBD...}"
rounds="${2:?usage}"
shift 2
log="$repo/.vm/logs/ctl-status-memory.log"
bins=() names=()
i=0
for b in "$@"; do
    i=$((i + 1))
    bins+=(--bin "$(realpath "$b"):/usr/sbin/extlbd-$i")
    names+=("/usr/sbin/extlbd-$i")
    echo "# extlbd-$i: $b"
done
echo "# host load before: $(uptime)"
XL_VM_QUIET=1 "$repo/scripts/vm-run" --timeout 3600 --mem 2048 --bin "$repo/build/extlbctl" \
    "${bins[@]}" --log "$log" "$repo/bench/ctl-status-memory-guest.sh" "$n" "$rounds" \
    "${XL_MMAP_THRESHOLD:-0}" "${names[@]}" >/dev/null || true
echo "# host load after: $(uptime)"
grep -E '^BENCH' "$log"
