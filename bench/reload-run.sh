#!/usr/bin/env bash
# Reload benchmark: with N services x 10 real servers loaded (bench/gen-configs.sh, no
# health checks), change one real server's weight in the configuration and SIGHUP the
# tool; report the time from the signal until the kernel shows the new weight, and for
# extlbd its "reload: N ops applied" (target: exactly 1). extlbd and keepalived (Debian's
# package), each (tool, N, layout) in its own freshly booted test VM (scripts/vm-run); the
# guest side is bench/reload-guest.sh, RL_RELOADS reloads per VM (weights 2, 3, 4, ...).
# Two layouts of the same table:
#   single  the whole table in one file (extlb-N.conf, keepalived-N.conf); the reload
#           rewrites that file
#   split   a main file with only the globals and include_dir = "extlb-N.d" (keepalived:
#           `include ka-N.d/*.conf`), the services in files of 100 (gen-configs.sh -s 100);
#           the reload rewrites the one file that holds the changed real server (temporary
#           name in the same directory, then renamed into place)
#
# Builds extlbd in build-bench2/, bench/ipvs-wait.c and bench/health-ipvs-poll.c in
# build-bench2/bench/, writes the configurations to build-bench2/bench/reload-data/. Console
# logs: .vm/logs/reload-TOOL-N.log (split: reload-TOOL-N-split.log). Before each VM the script
# waits for a quiet host: no process matching RL_BUSY (an extended regular expression for
# pgrep -f; default other benchmarks and test runs, see below) and a 1-minute load average
# below RL_MAX_LOAD (default 1.5), polled every 20 s for at most RL_WAIT_MAX seconds (default
# 1200); then it goes on anyway and the report says "not quiet after the wait". Raw lines:
# build-bench2/bench/reload.raw; the report is also saved as
# build-bench2/bench/reload-<UTC time>.txt.
#
# Usage: bench/reload-run.sh [TOOL:N[:LAYOUT]...]     (LAYOUT single, the default, or split)
#        (default: extlbd:1000:split extlbd:10000:split extlbd:50000:split
#         keepalived:1000:split keepalived:10000:split)
#        bench/reload-run.sh --report      print the report of build-bench2/bench/reload.raw
# Environment: RL_RELOADS (default 3), RL_MEM (VM megabytes, default 4096), RL_BUILD=0 (use
#   build-bench2/extlbd as it is), RL_BUSY, RL_MAX_LOAD, RL_WAIT_MAX (above), and
#   scripts/vm-run's XL_VM_* variables.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-bench2"
out="$build/bench"
data="$out/reload-data"
logs="${XL_VM_DIR:-$repo/.vm}/logs"
reloads="${RL_RELOADS:-3}"
mem="${RL_MEM:-4096}"
reals=10
per_file=100
busy="${RL_BUSY:-k8s-measure|t-watch\.sh|scripts/test|bench/(run|health-run|k8s-run)\.sh|vm-run}"
max_load="${RL_MAX_LOAD:-1.5}"
wait_max="${RL_WAIT_MAX:-1200}"
raw="$out/reload.raw"
report_only=0
[[ "${1:-}" == --report ]] && { report_only=1; shift; }

# parse_spec SPEC: sets t, n and layout from TOOL:N[:LAYOUT]
parse_spec() {
    local rest
    t="${1%%:*}" rest="${1#*:}"
    n="${rest%%:*}" layout=single
    [[ "$rest" == *:* ]] && layout="${rest#*:}"
    [[ "$1" == *:* && ("$t" == extlbd || "$t" == keepalived) &&
        "$n" =~ ^[0-9]+$ && $n -ge 2 && $n -le 64000 &&
        ("$layout" == single || "$layout" == split) ]]
}

[[ $# -gt 0 || $report_only == 1 ]] ||
    set -- extlbd:1000:split extlbd:10000:split extlbd:50000:split keepalived:1000:split \
        keepalived:10000:split
for spec in "$@"; do
    parse_spec "$spec" || { echo "reload-run.sh: bad run '$spec' (TOOL:N[:LAYOUT], TOOL" \
        "extlbd or keepalived, LAYOUT single or split)" >&2; exit 2; }
done

# wait_quiet: until no other benchmark or test runs and the load is low, or wait_max
# seconds; prints what it waited for
wait_quiet() {
    local start=$SECONDS others load
    while :; do
        others="$(pgrep -f -a -- "$busy" | grep -v -e " pgrep " || true)"
        load="$(cut -d' ' -f1 /proc/loadavg)"
        if [[ -z "$others" ]] && awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l < m) }'; then
            echo "=== host quiet after $((SECONDS - start)) s (load $load)"
            return 0
        fi
        if ((SECONDS - start >= wait_max)); then
            echo "=== host still busy after $((SECONDS - start)) s, going on: load $load," \
                "$(echo "$others" | grep -c . || true) other process(es)" \
                "$(echo "$others" | head -n 3 | cut -c1-80 | tr '\n' ';')"
            busy_note=" quiet=no"
            return 0
        fi
        sleep 20
    done
}

# ---- build and generate -------------------------------------------------------------------------
if [[ $report_only == 1 ]]; then
    :
elif [[ "${RL_BUILD:-1}" != 0 ]]; then
    "$repo/scripts/build.sh" "$build"
fi
failures=0
if [[ $report_only == 0 ]]; then
mkdir -p "$out" "$data" "$logs"
# shellcheck disable=SC2046 # pkg-config prints several words
for src in ipvs-wait health-ipvs-poll; do
    cc -O2 -g -Wall -Wextra -std=gnu11 $(pkg-config --cflags libnl-genl-3.0) \
        -o "$out/$src" "$repo/bench/$src.c" $(pkg-config --libs libnl-genl-3.0)
done

started="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# started $started, QEMU ${XL_VM_ACCEL:-tcg} ${XL_VM_SMP:-2} vCPUs $mem MB," \
    "host $(nproc) CPUs, extlbd built from the working tree at" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "(binary sha256 $(sha256sum "$build/extlbd" | cut -c1-12))" >"$raw"
for spec in "$@"; do
    parse_spec "$spec"
    if [[ $layout == single && ! -f "$data/extlb-$n.conf" ]]; then
        "$repo/bench/gen-configs.sh" "$n" "$data" "$reals"
        rm -f "$data/ipvsadm-$n.rules" # not used here
        "$build/extlbd" -t -f "$data/extlb-$n.conf"
    elif [[ $layout == split && ! -f "$data/extlb-$n-split.conf" ]]; then
        "$repo/bench/gen-configs.sh" -s "$per_file" "$n" "$data" "$reals"
        rm -f "$data/ipvsadm-$n.rules"
        "$build/extlbd" -t -f "$data/extlb-$n-split.conf"
    fi
    sfx="" && [[ $layout == single ]] || sfx="-$layout"
    log="$logs/reload-$t-$n$sfx.log"
    echo "=== $t, $n x $reals, layout $layout, log $log"
    args=(--timeout 3000 --mem "$mem" --log "$log" --add "$repo/bench/health-lib.sh"
        --bin "$out/ipvs-wait" --bin "$out/health-ipvs-poll")
    case "$t:$layout" in
        extlbd:single) args+=(--bin "$build/extlbd" --add "$data/extlb-$n.conf") ;;
        keepalived:single) args+=(--add "$data/keepalived-$n.conf") ;;
        extlbd:split)
            args+=(--bin "$build/extlbd" --add "$data/extlb-$n-split.conf"
                --add "$data/extlb-$n.d") ;;
        keepalived:split)
            args+=(--add "$data/keepalived-$n-split.conf" --add "$data/ka-$n.d") ;;
    esac
    busy_note=""
    wait_quiet
    # a VM that fails before writing its log must not be read as the last
    # run's result: that log is from an earlier run
    rm -f "$log"
    load_before="$(cut -d' ' -f1 /proc/loadavg)"
    rc=0
    XL_VM_QUIET=1 "$repo/scripts/vm-run" "${args[@]}" \
        "$repo/bench/reload-guest.sh" "$t" "$n" "$reloads" "$layout" || rc=$?
    sed -n '/^XL-VM-BOOT/,/^XL-VM-EXIT/p' "$log" | grep -v '^\[ *[0-9.]*\]' |
        grep -v -E '^(Keepalived|Keepalived_healthcheckers)\[' || true
    line="$(grep '^BENCH ' "$log" | tail -n 1 || true)"
    [[ -n "$line" ]] || line="BENCH tool=$t n=$n layout=$layout result=fail"
    if [[ $rc -ne 0 || "$line" != *result=ok* ]]; then
        failures=$((failures + 1))
        echo "=== $t, $n, $layout: FAILED (vm-run exit $rc)"
    fi
    grep '^RELOAD ' "$log" >>"$raw" || true
    echo "$line host_load=$load_before-$(cut -d' ' -f1 /proc/loadavg)$busy_note" >>"$raw"
done
fi
[[ -f "$raw" ]] || { echo "reload-run.sh: no $raw" >&2; exit 1; }

# ---- report -------------------------------------------------------------------------------------
report() {
    echo "extlb reload benchmark, $(sed -n '1s/^# started \(.* UTC\),.*/\1/p' "$raw"), QEMU ${XL_VM_ACCEL:-tcg} ${XL_VM_SMP:-2} vCPUs" \
        "$mem MB, host $(nproc) CPUs, guest kernel" \
        "$(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' "$raw" | head -n 1)"
    sed -n '1s/.*\(extlbd built.*\)/\1/p' "$raw"
    echo "one real server's weight changed in the file that holds it (layout single: the" \
        "whole table in one file; split: include files of $per_file services), then SIGHUP;"
    echo "visible: from the signal until the kernel shows the new weight (5 ms polls of that" \
        "service); ops / own ms: extlbd's \"reload: N ops applied in X ms\";"
    echo "unch: extlbd's \"include_dir: K of M files unchanged, not parsed again\" as" \
        "K/M; cfg s: its \"configuration: K of M virtual services unchanged\" (logged as" \
        "soon as the configuration is read, next to the include_dir line), log s: the ops" \
        "line, both from the signal;"
    echo "CPU s: the tool's CPU over the reload (keepalived: parent + checker);" \
        "host load: 1-minute load average before-after the VM (2 CPUs)"
    echo
    awk '
    function kv(line, key) {
        if (match(line, " " key "=[^ ]*"))
            return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
        return "-"
    }
    /^#/ { next }
    function lay(line) { return kv(line, "layout") == "-" ? "single" : kv(line, "layout") }
    /^RELOAD/ {
        if (!hdr++)
            printf "%-10s %6s %-6s %5s %3s %9s %5s %7s %7s %6s %7s %6s\n", "tool", "N", "layout",
                "files", "#", "visible s", "ops", "own ms", "unch", "cfg s", "log s", "CPU s"
        printf "%-10s %6s %-6s %5s %3s %9s %5s %7s %7s %6s %7s %6s\n", kv($0, "tool"), kv($0, "n"),
            lay($0), kv($0, "files"), kv($0, "reload"), kv($0, "visible_s"), kv($0, "ops"),
            kv($0, "own_ms"), kv($0, "unchanged"), kv($0, "cfg_line_s"), kv($0, "log_line_s"),
            kv($0, "cpu_s")
    }
    /^BENCH/ {
        sum = sum sprintf("%-10s N=%-6s %-6s load %6s s, reload visible after %s s (median of %s)," \
            " peak RSS %.1f MB, %s, host load %s%s\n", kv($0, "tool"), kv($0, "n"), lay($0),
            kv($0, "load_s"), kv($0, "visible_med_s"), kv($0, "reloads"), kv($0, "hwm_kb") / 1024,
            kv($0, "result"), kv($0, "host_load"),
            kv($0, "quiet") == "no" ? " (not quiet after the wait)" : "")
        med[kv($0, "tool") " " lay($0) " " kv($0, "n")] = kv($0, "visible_med_s")
    }
    END {
        print ""
        printf "%s", sum
        for (k in med) {
            split(k, f, " ")
            if (f[1] != "keepalived" || (("extlbd " f[2] " " f[3]) in med) == 0)
                continue
            x = med["extlbd " f[2] " " f[3]]
            if (x > 0 && med[k] > 0)
                printf "keepalived / extlbd, %s, N=%s: %.1fx (medians %s s / %s s)\n",
                    f[2], f[3], med[k] / x, med[k], x
        }
    }' "$raw"
    if [[ $failures -gt 0 ]]; then
        echo
        echo "$failures run(s) FAILED: see the logs"
    fi
}
rep="$out/reload-$(date -u +%Y%m%dT%H%M%SZ).txt"
report | tee "$rep"
echo "reload-run.sh: report saved as $rep"
[[ $failures -eq 0 ]]
