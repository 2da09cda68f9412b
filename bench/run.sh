#!/usr/bin/env bash
# Load benchmark: how long extlbd takes to fill an empty IPVS table with N services x 10 real
# servers, against the floor (bench/floor-loader.c: pre-built requests, 256 per sendmsg; floor-e:
# the same with an ack asked only of each batch's last request),
# `ipvsadm -R` and keepalived (Debian's package) loading the same table, plus extlbd's
# restart on the full table. Every (tool, N) runs in its own freshly booted test VM
# (scripts/vm-run), because IPVS gets slower after a large table has been flushed; the guest
# side is bench/load.sh. Builds extlbd in build-bench/ and the floor loader and the
# configurations (bench/gen-configs.sh) in build-bench/bench/, then prints one row per run,
# the medians per (tool, N) and the ratios. Console logs: .vm/logs/bench-TOOL-N[-RUN].log.
# The printed report is also saved as build-bench/bench/results-<UTC time>.txt, next to the
# raw "BENCH" lines it is made from (results-<UTC time>.raw; results.raw is the latest).
#
# Usage: bench/run.sh [N...]            (default: 1000 10000)
#        bench/run.sh --report [RAWFILE]   print the report of earlier runs again
#                                          (default build-bench/bench/results.raw)
# BENCH_TOOLS may add extlbd-host: extlbd on the same table with vip_interface, snat and
# allowed_sources on every service (issue 15), compared with extlbd by the time each takes
# to log "running:" (target: at most 1.3 times).
# Environment: BENCH_TOOLS (default "floor floor-e extlbd ipvsadm-restore keepalived"),
#   BENCH_REPEAT (runs of each (tool, N), default 1), BENCH_MEM (VM megabytes, default 2048),
#   BENCH_TIMEOUT (seconds per VM, default 3600), BENCH_BUILD=0 (use build-bench/extlbd as
#   it is), and scripts/vm-run's XL_VM_* variables.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-bench"
out="$build/bench"
data="$out/data"
logs="${XL_VM_DIR:-$repo/.vm}/logs"
tools="${BENCH_TOOLS:-floor floor-e extlbd ipvsadm-restore keepalived}"
repeat="${BENCH_REPEAT:-1}"
mem="${BENCH_MEM:-2048}"
vm_timeout="${BENCH_TIMEOUT:-3600}"
reals=10

# ---- report -------------------------------------------------------------------------------
# print_report RAWFILE REPEAT FAILURES: the table of every run, the medians and the ratios
print_report() {
    local raw="$1" repeat="$2" failures="$3" kernel
    kernel="$(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' "$raw" | head -n 1)"
    echo "extlb load benchmark, $(sed -n 's/^# started //p' "$raw" | head -n 1)," \
        "guest kernel ${kernel:-?}, $reals real servers per service"
    echo "load: from starting the tool until the kernel shows every object (10 ms polls of the" \
        "last service by bench/ipvs-wait, then confirmed by counting /proc/net/ip_vs)"
    echo "own: floor, floor-e = the send phase; extlbd = its \"start-up: N ops applied in X ms\""
    echo "user s, sys s: CPU time of the tool (keepalived: parent + checker; extlbd: until" \
        "\"running:\"); the kernel work on the requests counts as sys"
    echo "RSS: peak (VmHWM; keepalived: parent + checker); rst: extlbd restarted on the full" \
        "table (s until \"running:\", write ops, its own ms, peak RSS)"
    echo "host load: 1-minute load average of the host before-after the VM (2 CPUs)"
    echo
    awk -v repeat="$repeat" '
    /^#/ { next }
    function kv(line, key,    m) {
        if (match(line, " " key "=[^ ]*")) {
            m = substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
            return m
        }
        return "-"
    }
    function mb(kb) { return kb ~ /^[0-9]+$/ ? sprintf("%.1f", kb / 1024) : "-" }
    function median(list,    a, k, i, j, t) {
        k = split(list, a, " ")
        for (i = 2; i <= k; i++)
            for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    function minimum(list,    a, k, i, m) {
        k = split(list, a, " ")
        m = a[1]
        for (i = 2; i <= k; i++) if (a[i] + 0 < m + 0) m = a[i]
        return m
    }
    function ratio(a, b) { return (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
    # stat(KEY, ARR): "median (min)" of ARR[KEY], or "-"
    function stat(k, arr) {
        if (!(k in arr)) return "-"
        return median(arr[k]) (repeat > 1 ? " (" minimum(arr[k]) ")" : "")
    }
    # rat(A, B, ARR_A, ARR_B): "median ratio (min ratio)" of ARR_A[A] / ARR_B[B]
    function rat(ka, kb, xa, xb) {
        if (!(ka in xa) || !(kb in xb)) return "-"
        return ratio(median(xa[ka]), median(xb[kb])) \
            (repeat > 1 ? " (" ratio(minimum(xa[ka]), minimum(xb[kb])) ")" : "")
    }
    {
        t = kv($0, "tool"); n = kv($0, "n"); r = kv($0, "run"); key = n SUBSEP t
        if (!(n in nseen)) { nseen[n] = 1; norder[++nn] = n }
        rows[++nrows] = sprintf("%6s %-15s %3s %7s %7s %6s %6s %6s %7s %7s %7s %6s %-5s %-6s %s",
            n, t, r, kv($0, "load_s"), kv($0, "internal_ms"), kv($0, "user_s"),
            kv($0, "sys_s"), mb(kv($0, "rss_kb")),
            kv($0, "restart_s"), kv($0, "restart_ops"), kv($0, "restart_ms"),
            mb(kv($0, "restart_rss_kb")), kv($0, "table_ok"), kv($0, "result"),
            kv($0, "host_load"))
        if (kv($0, "result") == "ok") {
            load[key] = load[key] " " kv($0, "load_s")
            byrun[key, r] = kv($0, "load_s")
            rss[key] = rss[key] " " kv($0, "rss_kb") / 1024
            if (t == "floor" || t == "floor-e") {
                send[key] = send[key] " " kv($0, "internal_ms") / 1000
                sendrun[key, r] = kv($0, "internal_ms") / 1000
            }
            if (kv($0, "run_s") != "-" && kv($0, "run_s") != "")
                running[key] = running[key] " " kv($0, "run_s")
            if (kv($0, "restart_s") != "-") {
                rst[key] = rst[key] " " kv($0, "restart_s")
                rops[key] = rops[key] " " kv($0, "restart_ops")
            }
        }
        if (r + 0 > maxrun) maxrun = r + 0
    }
    END {
        printf "%6s %-15s %3s %7s %7s %6s %6s %6s %7s %7s %7s %6s %-5s %-6s %s\n", "N", "tool",
            "run", "load s", "own ms", "user s", "sys s", "RSS MB", "rst s", "rst ops", "rst ms", "rstRSS",
            "table", "result", "host load"
        for (i = 1; i <= nrows; i++) print rows[i]
        for (i = 1; i <= nn; i++) {
            n = norder[i]
            f = n SUBSEP "floor"; fe = n SUBSEP "floor-e"; x = n SUBSEP "extlbd"
            ipv = n SUBSEP "ipvsadm-restore"; ka = n SUBSEP "keepalived"
            print ""
            printf "N=%s x 10 (%s objects), seconds%s:\n", n, n * 11,
                (repeat > 1 ? ", median (minimum) of " repeat " runs" : "")
            printf "  floor send phase %s, floor load %s, extlbd load %s, ipvsadm -R %s," \
                " keepalived %s\n", stat(f, send), stat(f, load), stat(x, load), stat(ipv, load),
                stat(ka, load)
            per = ""
            for (r = 1; r <= maxrun; r++)
                if ((x, r) in byrun && (f, r) in sendrun)
                    per = per " " ratio(byrun[x, r], sendrun[f, r])
            printf "  extlbd load / floor send phase: %s%s (target: at most 2)\n",
                rat(x, f, load, send), (per != "" && repeat > 1 ? "; run by run:" per : "")
            if (fe in send) {
                per = ""
                for (r = 1; r <= maxrun; r++)
                    if ((x, r) in byrun && (fe, r) in sendrun)
                        per = per " " ratio(byrun[x, r], sendrun[fe, r])
                printf "  floor-e send phase %s; extlbd load / floor-e send phase: %s%s\n",
                    stat(fe, send), rat(x, fe, load, send),
                    (per != "" && repeat > 1 ? "; run by run:" per : "")
            }
            printf "  extlbd load / floor load %s, keepalived / extlbd %s, ipvsadm -R / extlbd %s\n",
                rat(x, f, load, load), rat(ka, x, load, load), rat(ipv, x, load, load)
            xh = n SUBSEP "extlbd-host"
            if (xh in running)
                printf "  until \"running:\": extlbd %s, extlbd-host %s; extlbd-host / extlbd:" \
                    " %s (target: at most 1.3)\n", stat(x, running), stat(xh, running),
                    rat(xh, x, running, running)
            if (x in rst)
                printf "  extlbd restart on the full table: %s s, write ops %s\n", stat(x, rst),
                    median(rops[x])
            printf "  peak RSS MB (median): floor %s, extlbd %s, ipvsadm -R %s, keepalived %s\n",
                (f in rss) ? sprintf("%.1f", median(rss[f])) : "-",
                (x in rss) ? sprintf("%.1f", median(rss[x])) : "-",
                (ipv in rss) ? sprintf("%.1f", median(rss[ipv])) : "-",
                (ka in rss) ? sprintf("%.1f", median(rss[ka])) : "-"
        }
    }' "$raw"
    if [[ $failures -gt 0 ]]; then
        echo
        echo "$failures run(s) FAILED: see the logs above"
    fi
}

if [[ "${1:-}" == --report ]]; then
    raw="${2:-$out/results.raw}"
    print_report "$raw" "$(sed -n 's/.* run=\([0-9]*\).*/\1/p' "$raw" | sort -n | tail -n 1)" \
        "$(grep -v '^#' "$raw" | grep -c -v ' result=ok' || true)"
    exit 0
fi
if [[ $# -eq 0 ]]; then
    set -- 1000 10000
fi
for n in "$@"; do
    [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 64000 ]] ||
        { echo "run.sh: N must be 1..64000, not '$n'" >&2; exit 2; }
done
for t in $tools; do
    case "$t" in
        floor | floor-e | extlbd | extlbd-host | ipvsadm-restore | keepalived) ;;
        *) echo "run.sh: unknown tool '$t' in BENCH_TOOLS" >&2; exit 2 ;;
    esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: BENCH_REPEAT must be >= 1" >&2; exit 2; }

# ---- build and generate -------------------------------------------------------------------
with_extlbd=0
[[ " $tools " == *" extlbd "* || " $tools " == *" extlbd-host "* ]] && with_extlbd=1
if [[ $with_extlbd -eq 1 && "${BENCH_BUILD:-1}" != 0 ]]; then
    "$repo/scripts/build.sh" "$build"
fi
mkdir -p "$out" "$data" "$logs"
# shellcheck disable=SC2046 # pkg-config prints several words
for prog in floor-loader ipvs-wait; do
    cc -O2 -g -Wall -Wextra -std=gnu11 $(pkg-config --cflags libnl-genl-3.0) \
        -o "$out/$prog" "$repo/bench/$prog.c" $(pkg-config --libs libnl-genl-3.0)
done
for n in "$@"; do
    "$repo/bench/gen-configs.sh" "$n" "$data" "$reals"
    if [[ $with_extlbd -eq 1 ]]; then
        "$build/extlbd" -t -f "$data/extlb-$n.conf"
        [[ " $tools " != *" extlbd-host "* ]] || "$build/extlbd" -t -f "$data/extlb-$n-host.conf"
    fi
done

# ---- one VM per run -----------------------------------------------------------------------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$out/results-$stamp.raw"
ln -sf "results-$stamp.raw" "$out/results.raw"
xl_sum="-"
[[ $with_extlbd -eq 1 ]] && xl_sum="$(sha256sum "$build/extlbd" | cut -c1-12)"
echo "# started $(date -u '+%Y-%m-%d %H:%M UTC'), QEMU ${XL_VM_ACCEL:-tcg}" \
    "${XL_VM_SMP:-2} vCPUs $mem MB, host $(nproc) CPUs, extlbd built from the working tree" \
    "at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "(binary sha256 $xl_sum)" >"$results"
failures=0
for n in "$@"; do
    for ((run = 1; run <= repeat; run++)); do
        for t in $tools; do
            name="bench-$t-$n"
            [[ "$repeat" -eq 1 ]] || name="$name-$run"
            log="$logs/$name.log"
            echo "=== $t, $n x $reals (run $run of $repeat), log $log"
            args=(--timeout "$vm_timeout" --mem "$mem" --log "$log"
                --add "$data/ipvsadm-$n.rules" --bin "$out/ipvs-wait")
            case "$t" in
                floor | floor-e) args+=(--bin "$out/floor-loader") ;;
                extlbd) args+=(--bin "$build/extlbd" --add "$data/extlb-$n.conf") ;;
                extlbd-host) args+=(--bin "$build/extlbd" --add "$data/extlb-$n-host.conf") ;;
                keepalived) args+=(--add "$data/keepalived-$n.conf") ;;
            esac
            # a VM that fails before writing its log must not be read as the last
            # run's result: that log is from an earlier run
            rm -f "$log"
            rc=0
            load_before="$(cut -d' ' -f1 /proc/loadavg)"
            XL_VM_QUIET=1 "$repo/scripts/vm-run" "${args[@]}" \
                "$repo/bench/load.sh" "$t" "$n" "$reals" || rc=$?
            # the guest's own lines, without the kernel's and the boot firmware's
            sed -n '/XL-VM-BOOT/,/XL-VM-EXIT/p' "$log" | grep -v '^\[ *[0-9.]*\]' || true
            line="$(grep -o 'BENCH tool=.*' "$log" | tail -n 1 || true)"
            if [[ -z "$line" ]]; then
                line="BENCH tool=$t n=$n result=fail"
            fi
            if [[ $rc -ne 0 ]] || [[ "$line" != *result=ok* ]]; then
                failures=$((failures + 1))
                echo "=== $t, $n: FAILED (vm-run exit $rc)"
            fi
            echo "$line run=$run host_load=$load_before-$(cut -d' ' -f1 /proc/loadavg)" \
                >>"$results"
        done
    done
done

report="$out/results-$stamp.txt"
print_report "$results" "$repeat" "$failures" | tee "$report"
echo "run.sh: report saved as $report"
[[ $failures -eq 0 ]]
