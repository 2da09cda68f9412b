#!/usr/bin/env bash
# Reload benchmark: with N services x 10 real servers loaded (bench/gen-configs.sh, no
# health checks), change one real server's weight in the configuration file and SIGHUP the
# tool; report the time from the signal until the kernel shows the new weight, and for
# extlbd its "reload: N ops applied" (target: exactly 1). extlbd and keepalived (Debian's
# package), each (tool, N) in its own freshly booted test VM (scripts/vm-run); the guest side
# is bench/reload-guest.sh, RL_RELOADS reloads per VM (weights 2, 3, 4, ...).
#
# Builds extlbd in build-bench2/, bench/ipvs-wait.c and bench/health-ipvs-poll.c in
# build-bench2/bench/, writes the configurations to build-bench2/bench/reload-data/. Console
# logs: .vm/logs/reload-TOOL-N.log. The report is also saved as
# build-bench2/bench/reload-<UTC time>.txt.
#
# Usage: bench/reload-run.sh [TOOL:N...]
#        (default: extlbd:1000 extlbd:10000 extlbd:50000 keepalived:1000 keepalived:10000)
# Environment: RL_RELOADS (default 3), RL_MEM (VM megabytes, default 4096), RL_BUILD=0 (use
#   build-bench2/extlbd as it is), and scripts/vm-run's XL_VM_* variables.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-bench2"
out="$build/bench"
data="$out/reload-data"
logs="${XL_VM_DIR:-$repo/.vm}/logs"
reloads="${RL_RELOADS:-3}"
mem="${RL_MEM:-4096}"
reals=10

[[ $# -gt 0 ]] || set -- extlbd:1000 extlbd:10000 extlbd:50000 keepalived:1000 keepalived:10000
for spec in "$@"; do
    t="${spec%%:*}" n="${spec#*:}"
    [[ "$t" == extlbd || "$t" == keepalived ]] && [[ "$n" =~ ^[0-9]+$ && $n -ge 2 && $n -le 64000 ]] ||
        { echo "reload-run.sh: bad run '$spec' (TOOL:N, TOOL extlbd or keepalived)" >&2; exit 2; }
done

# ---- build and generate -------------------------------------------------------------------------
if [[ "${RL_BUILD:-1}" != 0 ]]; then
    "$repo/scripts/build.sh" "$build"
fi
mkdir -p "$out" "$data" "$logs"
# shellcheck disable=SC2046 # pkg-config prints several words
for src in ipvs-wait health-ipvs-poll; do
    cc -O2 -g -Wall -Wextra -std=gnu11 $(pkg-config --cflags libnl-genl-3.0) \
        -o "$out/$src" "$repo/bench/$src.c" $(pkg-config --libs libnl-genl-3.0)
done

raw="$out/reload.raw"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# started $started, QEMU ${XL_VM_ACCEL:-tcg} ${XL_VM_SMP:-2} vCPUs $mem MB," \
    "host $(nproc) CPUs, extlbd built from the working tree at" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" >"$raw"
failures=0
for spec in "$@"; do
    t="${spec%%:*}" n="${spec#*:}"
    if [[ ! -f "$data/extlb-$n.conf" ]]; then
        "$repo/bench/gen-configs.sh" "$n" "$data" "$reals"
        rm -f "$data/ipvsadm-$n.rules" # not used here
        "$build/extlbd" -t -f "$data/extlb-$n.conf"
    fi
    log="$logs/reload-$t-$n.log"
    echo "=== $t, $n x $reals, log $log"
    args=(--timeout 3000 --mem "$mem" --log "$log" --add "$repo/bench/health-lib.sh"
        --bin "$out/ipvs-wait" --bin "$out/health-ipvs-poll")
    case "$t" in
        extlbd) args+=(--bin "$build/extlbd" --add "$data/extlb-$n.conf") ;;
        keepalived) args+=(--add "$data/keepalived-$n.conf") ;;
    esac
    load_before="$(cut -d' ' -f1 /proc/loadavg)"
    rc=0
    XL_VM_QUIET=1 "$repo/scripts/vm-run" "${args[@]}" \
        "$repo/bench/reload-guest.sh" "$t" "$n" "$reloads" || rc=$?
    sed -n '/^XL-VM-BOOT/,/^XL-VM-EXIT/p' "$log" | grep -v '^\[ *[0-9.]*\]' |
        grep -v -E '^(Keepalived|Keepalived_healthcheckers)\[' || true
    line="$(grep '^BENCH ' "$log" | tail -n 1 || true)"
    [[ -n "$line" ]] || line="BENCH tool=$t n=$n result=fail"
    if [[ $rc -ne 0 || "$line" != *result=ok* ]]; then
        failures=$((failures + 1))
        echo "=== $t, $n: FAILED (vm-run exit $rc)"
    fi
    grep '^RELOAD ' "$log" >>"$raw" || true
    echo "$line host_load=$load_before-$(cut -d' ' -f1 /proc/loadavg)" >>"$raw"
done

# ---- report -------------------------------------------------------------------------------------
report() {
    echo "extlb reload benchmark, $started, QEMU ${XL_VM_ACCEL:-tcg} ${XL_VM_SMP:-2} vCPUs" \
        "$mem MB, host $(nproc) CPUs, guest kernel" \
        "$(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' "$raw" | head -n 1)"
    echo "one real server's weight changed in the file, then SIGHUP; visible: from the signal" \
        "until the kernel shows the new weight (5 ms polls of that service);"
    echo "ops / own ms: extlbd's \"reload: N ops applied in X ms\"; log s: that line, from the" \
        "signal; CPU s: the tool's CPU over the reload (keepalived: parent + checker)"
    echo
    awk '
    function kv(line, key) {
        if (match(line, " " key "=[^ ]*"))
            return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
        return "-"
    }
    /^#/ { next }
    /^RELOAD/ {
        if (!hdr++)
            printf "%-10s %6s %7s %3s %9s %5s %7s %7s %6s\n", "tool", "N", "objects", "#",
                "visible s", "ops", "own ms", "log s", "CPU s"
        printf "%-10s %6s %7s %3s %9s %5s %7s %7s %6s\n", kv($0, "tool"), kv($0, "n"),
            kv($0, "n") * 11, kv($0, "reload"), kv($0, "visible_s"), kv($0, "ops"),
            kv($0, "own_ms"), kv($0, "log_line_s"), kv($0, "cpu_s")
    }
    /^BENCH/ {
        sum = sum sprintf("%-10s N=%-6s load %6s s, reload visible after %s s (median of %s)," \
            " peak RSS %.1f MB, %s, host load %s\n", kv($0, "tool"), kv($0, "n"),
            kv($0, "load_s"), kv($0, "visible_med_s"), kv($0, "reloads"), kv($0, "hwm_kb") / 1024,
            kv($0, "result"), kv($0, "host_load"))
    }
    END { print ""; printf "%s", sum }' "$raw"
    if [[ $failures -gt 0 ]]; then
        echo
        echo "$failures run(s) FAILED: see the logs"
    fi
}
rep="$out/reload-$(date -u +%Y%m%dT%H%M%SZ).txt"
report | tee "$rep"
echo "reload-run.sh: report saved as $rep"
[[ $failures -eq 0 ]]
