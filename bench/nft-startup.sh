#!/usr/bin/env bash
# A/B of extlbd's nftables start-up step alone on the 10,000-service VIP-host configuration
# (bench/gen-configs.sh's extlb-10000-host.conf: snat and two allowed_sources ranges on every
# service): bench/nft-startup.c linked against the libextlb.a of two source trees, each
# built in TREE/build (scripts/build.sh build), run alternately in fresh VMs, ROUNDS rounds
# (default 3); one VM at a time. Prints the guest's BENCH lines, the host's load around each
# VM (uptime) and the medians. Figures: bench/figures/nft-hash-sets-*.
#
# Usage: bench/nft-startup.sh TREE_A TREE_B [ROUNDS]   (labels: the trees' basenames)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/build-bench/nft-startup"
rounds="${3:-3}"
mkdir -p "$out"
[[ -f "$out/extlb-10000-host.conf" ]] || "$repo/bench/gen-configs.sh" 10000 "$out" >/dev/null
labels=()
for tree in "$1" "$2"; do
    label="$(basename "$tree")"
    labels+=("$label")
    # shellcheck disable=SC2046
    cc -O2 -g -Wall -Wextra -std=gnu11 -I"$tree/include" -I"$tree/build" \
        -o "$out/nft-startup-$label" "$repo/bench/nft-startup.c" "$tree/build/libextlb.a" \
        $(pkg-config --libs libnftnl libmnl libnl-genl-3.0 libnl-route-3.0 libconfig) \
        -lcurl -ljson-c -lev -lmicrohttpd -lm
done
raw="$out/results.txt"
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
    for label in "${labels[@]}"; do
        while [[ "$(pgrep -c qemu || true)" -gt 0 ]]; do sleep 10; done
        before="$(uptime)"
        XL_VM_QUIET=1 "$repo/scripts/vm-run" --timeout 900 --mem 2048 \
            --bin "$out/nft-startup-$label" --add "$out/extlb-10000-host.conf" \
            --log "$repo/.vm/logs/nft-startup-$label.log" \
            "$repo/bench/nft-startup-guest.sh" "$label" >/dev/null || true
        {
            grep -E '^(BENCH|# )' "$repo/.vm/logs/nft-startup-$label.log" | sed "s/^/round $r: /"
            echo "round $r: # host load before: ${before##*average: }, after: $(uptime | sed 's/.*average: //')"
        } | tee -a "$raw"
    done
done
for label in "${labels[@]}"; do
    grep "BENCH $label nft-startup" "$raw" | sed 's/.*: \([0-9.]*\) s (user \([0-9.]*\) s, sys \([0-9.]*\) s).*/\1 \2 \3/' |
        sort -n | awk -v l="$label" '{ w[NR] = $1; u[NR] = $2; s[NR] = $3 }
            END { m = int((NR + 1) / 2); printf "median %s: %s s (runs: %d; sorted by wall:", l, w[m], NR
                  for (i = 1; i <= NR; i++) printf " %s/%s/%s", w[i], u[i], s[i]; print " wall/user/sys)" }'
done
