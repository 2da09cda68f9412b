#!/usr/bin/env bash
# Health-check benchmark: extlbd and keepalived (Debian's package) checking real servers with
# TCP connects, each run in its own freshly booted test VM (scripts/vm-run), plus extlbd's
# detection latency. The real servers are bench/health-listener inside the VM; the guest
# side is bench/health-guest.sh. A run is MODE:NSVC:INTERVAL:WINDOW (NSVC x 10 real servers,
# checked every INTERVAL s, measured over WINDOW s):
#
#   extlbd      check = { type "tcp"; interval INTERVAL; timeout 1.0; initial_state "up"; }
#               (rise 2, fall 3)
#   keepalived  delay_loop INTERVAL, TCP_CHECK { connect_timeout 1 }, NAT, same servers
#   detect      extlbd with interval INTERVAL, timeout 0.5, fall 2: close one server's
#               socket, time until `ipvsadm -Ln -t VIP:80` drops it, HC_TRIALS times;
#               bound fall x interval + timeout
#   ctlidle     extlbd as in "extlbd", with a control socket and HC_EXTRA more services x 10
#               (default 9,000) that are never probed (check "none"): the table of a large
#               site, of which NSVC x 10 are checked
#   ctlbusy     the same, and through the window `extlbctl -j status` of the whole table back
#               to back, and a client that asks for it and reads one byte a second (issue 16:
#               the loop must never wait for a client): compare late/p99/max with ctlidle
#
# Default runs: 1000 x 10 every 60 s and 15 x 10 every 1 s, about 170 and 150 checks a
# second, and detection on 15 x 10. 10,000 servers every second is out of reach of the
# emulated guest: a TCP connect and accept cost its kernel about 1 ms of CPU or more, and
# 300 checks a second already keep both vCPUs busy (bench/RESULTS-health-reload.md).
#
# Builds extlbd in build-bench2/ and the listener in build-bench2/bench/, writes the
# configurations to build-bench2/bench/health/, prints one table. Console logs:
# .vm/logs/health-MODE-NSVC-INTERVAL.log. The report is also saved as
# build-bench2/bench/health-<UTC time>.txt.
#
# Usage: bench/health-run.sh [MODE:NSVC:INTERVAL:WINDOW...]
#        (default: extlbd:1000:60:130 keepalived:1000:60:130 extlbd:15:1:30
#         keepalived:15:1:30 detect:15:1:0)
# Environment: HC_TRIALS (detection trials, default 20), HC_MEM (VM MB, default 2048),
#   HC_EXTRA (ctl modes: services never probed, default 9000),
#   HC_BUILD=0 (use build-bench2/extlbd as it is), and scripts/vm-run's XL_VM_* variables.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-bench2"
out="$build/bench"
data="$out/health"
logs="${XL_VM_DIR:-$repo/.vm}/logs"
trials="${HC_TRIALS:-20}"
mem="${HC_MEM:-2048}"
reals=10
extra="${HC_EXTRA:-9000}"

[[ $# -gt 0 ]] || set -- extlbd:1000:60:130 keepalived:1000:60:130 extlbd:15:1:30 \
    keepalived:15:1:30 detect:15:1:0
for spec in "$@"; do
    IFS=: read -r m n i w <<<"$spec"
    case "$m" in extlbd | keepalived | detect | ctlidle | ctlbusy) ;; *) echo "health-run.sh: bad run $spec" >&2; exit 2 ;; esac
    [[ "$n" =~ ^[0-9]+$ && "$i" =~ ^[0-9]+$ && "$w" =~ ^[0-9]+$ && $n -ge 1 && $i -ge 1 ]] ||
        { echo "health-run.sh: bad run $spec (MODE:NSVC:INTERVAL:WINDOW)" >&2; exit 2; }
done

# ---- build and generate ---------------------------------------------------------------------
if [[ "${HC_BUILD:-1}" != 0 ]]; then
    "$repo/scripts/build.sh" "$build"
fi
mkdir -p "$out" "$data" "$logs"
cc -O2 -g -Wall -Wextra -std=gnu11 -o "$out/health-listener" "$repo/bench/health-listener.c"
cc -O2 -g -Wall -Wextra -std=gnu11 -o "$out/ctl-slow-reader" "$repo/bench/ctl-slow-reader.c"
# shellcheck disable=SC2046 # pkg-config prints several words
cc -O2 -g -Wall -Wextra -std=gnu11 $(pkg-config --cflags libnl-genl-3.0) \
    -o "$out/health-ipvs-poll" "$repo/bench/health-ipvs-poll.c" $(pkg-config --libs libnl-genl-3.0)

# gen KIND NSVC INTERVAL FILE: the configuration of one run; real server k = i * 10 + j is
# 10.200.0.(1 + k / 100):(8000 + k % 100), as bench/health-guest.sh sets up the listener
gen() {
    awk -v kind="$1" -v n="$2" -v iv="$3" -v r="$reals" -v extra="$extra" '
    function vip(i) { return sprintf("10.100.%d.%d", int(i / 250), i % 250 + 1) }
    function rip(k) { return sprintf("10.200.0.%d", 1 + int(k / 100)) }
    function rport(k) { return 8000 + k % 100 }
    BEGIN {
        if (kind == "keepalived") {
            print "! health-check benchmark: " n " x " r ", every " iv " s (bench/health-run.sh)"
            print "global_defs {\n    router_id hc_bench\n}"
            for (i = 0; i < n; i++) {
                printf "virtual_server %s 80 {\n    delay_loop %d\n    lvs_sched wlc\n" \
                    "    lvs_method NAT\n    protocol TCP\n", vip(i), iv
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
        print "# health-check benchmark: " n " x " r ", every " iv " s (bench/health-run.sh)"
        print "global: {"
        print "  log_level = \"info\";"
        print "  include_dir = \"hc-none.d\";  # does not exist: adds nothing"
        if (kind ~ /^ctl/)
            print "  control_socket = \"/run/extlbd/control.sock\";"
        if (kind == "detect")
            printf "  check = { type = \"tcp\"; interval = %.1f; timeout = 0.5; rise = 2; " \
                "fall = 2; initial_state = \"up\"; };\n", iv
        else
            printf "  check = { type = \"tcp\"; interval = %.1f; timeout = 1.0; " \
                "initial_state = \"up\"; };\n", iv
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
        # ctl modes: the rest of a large table, never probed (check "none"), so that the
        # status a client asks for is that of the whole table
        for (i = 0; kind ~ /^ctl/ && i < extra; i++) {
            printf "  , { name = \"x%d\"; vip = \"10.101.%d.%d\"; port = 80; " \
                "protocol = \"tcp\"; scheduler = \"wlc\"; forward = \"nat\";\n" \
                "    check = { type = \"none\"; };\n    real_servers = (\n", \
                i + 1, int(i / 250), i % 250 + 1
            for (j = 0; j < r; j++)
                printf "      %s{ address = \"10.201.0.%d\"; port = 80; weight = 1; }\n", \
                    (j ? ", " : ""), j + 1
            print "    ); }"
        }
        print ");"
    }' >"$4"
}

# ---- one VM per run -----------------------------------------------------------------------------
raw="$out/health.raw"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# started $started, QEMU ${XL_VM_ACCEL:-tcg} ${XL_VM_SMP:-2} vCPUs $mem MB," \
    "host $(nproc) CPUs, extlbd built from the working tree at" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" >"$raw"
failures=0
for spec in "$@"; do
    IFS=: read -r m n i w <<<"$spec"
    conf="$data/hc-$m-$n-$i.conf"
    gen "$m" "$n" "$i" "$conf"
    [[ "$m" == keepalived ]] || "$build/extlbd" -t -f "$conf"
    log="$logs/health-$m-$n-$i.log"
    echo "=== $m, $n x $reals every ${i}s, window ${w}s, log $log"
    args=(--timeout 1500 --mem "$mem" --log "$log" --bin "$out/health-listener"
        --add "$repo/bench/health-lib.sh" --add "$conf")
    [[ "$m" == keepalived ]] || args+=(--bin "$build/extlbd" --bin "$out/health-ipvs-poll")
    [[ "$m" != ctl* ]] || args+=(--bin "$build/extlbctl" --bin "$out/ctl-slow-reader")
    load_before="$(cut -d' ' -f1 /proc/loadavg)"
    rc=0
    XL_VM_QUIET=1 "$repo/scripts/vm-run" "${args[@]}" \
        "$repo/bench/health-guest.sh" "$m" "$n" "$reals" "$i" "$w" "$trials" "$extra" || rc=$?
    sed -n '/^XL-VM-BOOT/,/^XL-VM-EXIT/p' "$log" | grep -v '^\[ *[0-9.]*\]' |
        grep -v -E '^#   |^DETECT' || true
    line="$(grep '^BENCH ' "$log" | tail -n 1 || true)"
    [[ -n "$line" ]] || line="BENCH tool=$m n=$((n * reals)) interval=$i result=fail"
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
        "${XL_VM_SMP:-2} vCPUs $mem MB, host $(nproc) CPUs, guest kernel" \
        "$(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' "$raw" | head -n 1)"
    echo "tcp checks, timeout 1 s, real servers on local addresses of the guest;" \
        "CPU: utime+stime over the window in % of one vCPU (keepalived: its checker process);" \
        "us/chk: CPU per check"
    echo "late/early: gaps between two checks of one server > 1.1 / < 0.9 x interval" \
        "(listener's accept times); gap percentiles in ms; b10: checks per 10 ms bucket" \
        "(mean/p99/max); phase: busiest/idlest 10 ms slot of the second vs the mean;" \
        "stalls: listener loop woke > 50 ms late (count/longest ms): the guest did not run"
    echo
    awk '
    function kv(line, key) {
        if (match(line, " " key "=[^ ]*"))
            return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
        return "-"
    }
    /^#/ { next }
    /^BENCH/ && kv($0, "tool") != "detect" {
        if (!hdr++)
            printf "%-10s %6s %4s %7s %6s %5s %5s %6s %6s %7s %8s %6s %5s %5s %5s %5s %14s %9s %10s %-6s %s\n",
                "tool", "reals", "ivl", "chk/s", "CPU %", "usr%", "sys%", "us/chk",
                "HWM MB", "checks", "gaps", "late", "early", "p50", "p99", "max",
                "b10 mean/p99/max", "phase", "stalls", "result", "host load"
        cps = kv($0, "window_s") > 0 ? kv($0, "accepts") / kv($0, "window_s") : 0
        printf "%-10s %6s %4s %7.0f %6s %5s %5s %6.0f %6.1f %7s %8s %6s %5s %5s %5s %5s %14s %9s %10s %-6s %s\n",
            kv($0, "tool"), kv($0, "n"), kv($0, "interval"), cps, kv($0, "cpu_pct"),
            kv($0, "user_pct"), kv($0, "sys_pct"),
            (cps > 0 ? kv($0, "cpu_pct") * 1e4 / cps : 0), kv($0, "hwm_kb") / 1024,
            kv($0, "accepts"), kv($0, "intervals"), kv($0, "late"), kv($0, "early"),
            kv($0, "gap_p50"), kv($0, "gap_p99"), kv($0, "gap_max"),
            kv($0, "b10_mean") "/" kv($0, "b10_p99") "/" kv($0, "b10_max"),
            kv($0, "phase_max") "/" kv($0, "phase_min"),
            kv($0, "stalls") "/" kv($0, "stall_max"), kv($0, "result"), kv($0, "host_load")
        if (kv($0, "tool") == "ctlbusy")
            ctl = ctl sprintf("ctlbusy (%s servers checked, the whole table asked for): %s status " \
                "calls, median %s s, longest %s s, exit codes %s; slow reader: %s bytes in %s s, " \
                "end %s\n", kv($0, "n"), kv($0, "status_calls"), kv($0, "status_p50_s"),
                kv($0, "status_max_s"), kv($0, "status_rc"), kv($0, "slow_read"),
                kv($0, "slow_secs"), kv($0, "slow_end"))
        if (kv($0, "tool") == "keepalived")
            ka = ka sprintf("keepalived parent process (%s servers): CPU %s%%, VmHWM %.1f MB\n",
                kv($0, "n"), kv($0, "parent_cpu_pct"), kv($0, "parent_hwm_kb") / 1024)
    }
    /^DETECT/ { det = det sprintf("  %-20s gone from ipvsadm after %s s (extlbd logged it down after %s s; %s polls, ~%s ms each)\n",
            kv($0, "rip"), kv($0, "latency_s"), kv($0, "log_down_s"), kv($0, "polls"), kv($0, "poll_ms")) }
    /^BENCH/ && kv($0, "tool") == "detect" {
        iv = kv($0, "interval")
        dsum = dsum sprintf("detection latency, %s real servers, interval %s timeout 0.5 fall 2 " \
            "(bound fall x interval + timeout = %.1f s), %s trials: min %s, median %s, mean %s, max %s s [%s, host load %s]\n",
            kv($0, "n"), iv, 2 * iv + 0.5, kv($0, "trials"), kv($0, "min"), kv($0, "median"),
            kv($0, "mean"), kv($0, "max"), kv($0, "result"), kv($0, "host_load"))
    }
    END {
        printf "%s%s", ka, ctl
        if (dsum != "") { print ""; printf "%s%s", dsum, det }
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
