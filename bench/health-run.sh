#!/usr/bin/env bash
# Health-check benchmark: extlbd and keepalived (Debian's package) checking NSVC x 10 real
# servers with TCP connects every second, each in its own freshly booted test VM
# (scripts/vm-run), plus extlbd's detection latency. The real servers are
# bench/health-listener inside the VM; the guest side is bench/health-guest.sh.
#
#   extlbd      check = { type "tcp"; interval 1.0; timeout 1.0; } (rise 2, fall 3, the rest
#               default), measured over WINDOW s once every server is up
#   keepalived  delay_loop 1, TCP_CHECK { connect_timeout 1 }, NAT, same servers and window
#   detect      extlbd with interval 1.0, timeout 0.5, fall 2 on DETECT_NSVC x 10 servers:
#               close one server's socket, time until `ipvsadm -Ln -t VIP:80` drops it,
#               TRIALS times; bound fall x interval + timeout = 2.5 s
#
# Builds extlbd in build-bench2/ and the listener in build-bench2/bench/, writes the
# configurations to build-bench2/bench/health/, prints one table. Console logs:
# .vm/logs/health-MODE.log. The report is also saved as build-bench2/bench/health-<UTC>.txt.
#
# Usage: bench/health-run.sh [MODE...]      (default: extlbd keepalived detect)
# Environment: HC_NSVC (services, default 1000), HC_WINDOW (seconds, default 30),
#   HC_DETECT_NSVC (default 1000), HC_TRIALS (default 10), HC_MEM (VM MB, default 2048),
#   HC_BUILD=0 (use build-bench2/extlbd as it is), and scripts/vm-run's XL_VM_* variables.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-bench2"
out="$build/bench"
data="$out/health"
logs="${XL_VM_DIR:-$repo/.vm}/logs"
nsvc="${HC_NSVC:-1000}"
window="${HC_WINDOW:-30}"
dnsvc="${HC_DETECT_NSVC:-1000}"
trials="${HC_TRIALS:-10}"
mem="${HC_MEM:-2048}"
reals=10

[[ $# -gt 0 ]] || set -- extlbd keepalived detect
for m in "$@"; do
    case "$m" in extlbd | keepalived | detect) ;; *) echo "health-run.sh: unknown mode $m" >&2; exit 2 ;; esac
done

# ---- build and generate ---------------------------------------------------------------------
if [[ "${HC_BUILD:-1}" != 0 ]]; then
    "$repo/scripts/build.sh" "$build"
fi
mkdir -p "$out" "$data" "$logs"
cc -O2 -g -Wall -Wextra -std=gnu11 -o "$out/health-listener" "$repo/bench/health-listener.c"

# gen KIND NSVC FILE: the configuration of one mode; real server k = i * 10 + j is
# 10.200.0.(1 + k / 100):(8000 + k % 100), as bench/health-guest.sh sets up the listener
gen() {
    awk -v kind="$1" -v n="$2" -v r="$reals" '
    function vip(i) { return sprintf("10.100.%d.%d", int(i / 250), i % 250 + 1) }
    function rip(k) { return sprintf("10.200.0.%d", 1 + int(k / 100)) }
    function rport(k) { return 8000 + k % 100 }
    BEGIN {
        if (kind == "keepalived") {
            print "! health-check benchmark: " n " x " r " (bench/health-run.sh)"
            print "global_defs {\n    router_id hc_bench\n}"
            for (i = 0; i < n; i++) {
                printf "virtual_server %s 80 {\n    delay_loop 1\n    lvs_sched wlc\n" \
                    "    lvs_method NAT\n    protocol TCP\n", vip(i)
                for (j = 0; j < r; j++) {
                    k = i * r + j
                    printf "    real_server %s %d {\n        weight 1\n" \
                        "        TCP_CHECK {\n            connect_timeout 1\n        }\n" \
                        "    }\n", rip(k), rport(k)
                }
                print "}"
            }
            exit
        }
        print "# health-check benchmark: " n " x " r " (bench/health-run.sh)"
        print "global: {"
        print "  log_level = \"info\";"
        print "  include_dir = \"hc-none.d\";  # does not exist: adds nothing"
        if (kind == "detect")
            print "  check = { type = \"tcp\"; interval = 1.0; timeout = 0.5; rise = 2; fall = 2; };"
        else
            print "  check = { type = \"tcp\"; interval = 1.0; timeout = 1.0; };"
        print "};"
        print "virtual_services = ("
        for (i = 0; i < n; i++) {
            printf "  %s{ name = \"s%d\"; vip = \"%s\"; port = 80; protocol = \"tcp\"; " \
                "scheduler = \"wlc\"; forward = \"nat\";\n    real_servers = (\n", \
                (i ? ", " : ""), i + 1, vip(i)
            for (j = 0; j < r; j++) {
                k = i * r + j
                printf "      %s{ address = \"%s\"; port = %d; weight = 1; }\n", \
                    (j ? ", " : ""), rip(k), rport(k)
            }
            print "    ); }"
        }
        print ");"
    }' >"$3"
}
gen extlbd "$nsvc" "$data/hc-extlbd.conf"
gen keepalived "$nsvc" "$data/hc-keepalived.conf"
gen detect "$dnsvc" "$data/hc-detect.conf"
"$build/extlbd" -t -f "$data/hc-extlbd.conf"
"$build/extlbd" -t -f "$data/hc-detect.conf"

# ---- one VM per mode --------------------------------------------------------------------------
raw="$out/health.raw"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
: >"$raw"
failures=0
for m in "$@"; do
    log="$logs/health-$m.log"
    n="$nsvc"
    [[ "$m" != detect ]] || n="$dnsvc"
    echo "=== $m, $n x $reals, log $log"
    args=(--timeout 1500 --mem "$mem" --log "$log" --bin "$out/health-listener"
        --add "$repo/bench/health-lib.sh")
    case "$m" in
        extlbd | detect) args+=(--bin "$build/extlbd" --add "$data/hc-$m.conf") ;;
        keepalived) args+=(--add "$data/hc-keepalived.conf") ;;
    esac
    load_before="$(cut -d' ' -f1 /proc/loadavg)"
    rc=0
    XL_VM_QUIET=1 "$repo/scripts/vm-run" "${args[@]}" \
        "$repo/bench/health-guest.sh" "$m" "$n" "$reals" "$window" "$trials" || rc=$?
    sed -n '/^XL-VM-BOOT/,/^XL-VM-EXIT/p' "$log" | grep -v '^\[ *[0-9.]*\]' || true
    line="$(grep '^BENCH ' "$log" | tail -n 1 || true)"
    [[ -n "$line" ]] || line="BENCH tool=$m n=$n result=fail"
    if [[ $rc -ne 0 || "$line" != *result=ok* ]]; then
        failures=$((failures + 1))
        echo "=== $m: FAILED (vm-run exit $rc)"
    fi
    echo "$line host_load=$load_before-$(cut -d' ' -f1 /proc/loadavg)" >>"$raw"
    grep '^DETECT ' "$log" >>"$raw" || true
done

# ---- report -------------------------------------------------------------------------------------
report() {
    echo "extlb health-check benchmark, $started, QEMU ${XL_VM_ACCEL:-tcg}" \
        "${XL_VM_SMP:-2} vCPUs $mem MB, host $(nproc) CPUs," \
        "guest kernel $(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' "$raw" | head -n 1)"
    echo "tcp checks every 1 s (timeout 1 s), $nsvc x $reals real servers, window ${window} s;" \
        "CPU in % of one vCPU (utime+stime over the window), keepalived = its checker process"
    echo "late/early: gaps between two accepts of one server > 1.1 s / < 0.9 s;" \
        "b10: accepts per 10 ms bucket (mean, p99, max); phase: busiest/idlest 10 ms slot" \
        "of the second vs the mean"
    echo
    awk '
    function kv(line, key) {
        if (match(line, " " key "=[^ ]*"))
            return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
        return "-"
    }
    /^BENCH/ && kv($0, "tool") != "detect" {
        if (!hdr++)
            printf "%-10s %6s %6s %6s %6s %7s %7s %8s %6s %5s %7s %7s %7s %5s %5s %10s %10s %-6s %s\n",
                "tool", "ramp s", "CPU %", "usr %", "sys %", "HWM MB", "accepts",
                "intervls", "late", "early", "gap p50", "gap p99", "gap max",
                "b10", "b10", "b10 mean", "phase", "result", "host load"
        printf "%-10s %6s %6s %6s %6s %7.1f %7s %8s %6s %5s %7s %7s %7s %5s %5s %10s %10s %-6s %s\n",
            kv($0, "tool"), kv($0, "ramp_s"), kv($0, "cpu_pct"), kv($0, "user_pct"),
            kv($0, "sys_pct"), kv($0, "hwm_kb") / 1024, kv($0, "accepts"),
            kv($0, "intervals"), kv($0, "late"), kv($0, "early"), kv($0, "gap_p50"),
            kv($0, "gap_p99"), kv($0, "gap_max"), "p99=" kv($0, "b10_p99"),
            "max=" kv($0, "b10_max"), kv($0, "b10_mean"),
            kv($0, "phase_max") "/" kv($0, "phase_min"), kv($0, "result"), kv($0, "host_load")
        if (kv($0, "tool") == "keepalived")
            ka = sprintf("keepalived parent process: CPU %s%%, VmHWM %.1f MB", kv($0, "parent_cpu_pct"),
                kv($0, "parent_hwm_kb") / 1024)
    }
    /^DETECT/ { det = det sprintf("  %s: closed, gone from ipvsadm after %s s (extlbd logged down after %s s, %s polls of ~%s ms)\n",
            kv($0, "rip"), kv($0, "latency_s"), kv($0, "log_down_s"), kv($0, "polls"), kv($0, "poll_ms")) }
    /^BENCH/ && kv($0, "tool") == "detect" {
        dsum = sprintf("detection latency, %s real servers, interval 1.0 timeout 0.5 fall 2 " \
            "(bound fall x interval + timeout = 2.5 s), %s trials: min %s, median %s, mean %s, max %s s [%s, host load %s]",
            kv($0, "n"), kv($0, "trials"), kv($0, "min"), kv($0, "median"), kv($0, "mean"),
            kv($0, "max"), kv($0, "result"), kv($0, "host_load"))
    }
    END {
        if (ka != "") print ka
        if (dsum != "") { print ""; print dsum; printf "%s", det }
    }' "$raw"
    if [[ $failures -gt 0 ]]; then
        echo
        echo "$failures run(s) FAILED: see the logs"
    fi
}
rep="$out/health-$(date -u +%Y%m%dT%H%M%SZ).txt"
report | tee "$rep"
echo "health-run.sh: report saved as $rep"
[[ $failures -eq 0 ]]
