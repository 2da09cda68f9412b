# shellcheck shell=dash
# Guest side of bench/metrics-run.sh (ARG: N): N services x 10 real servers (check "none", so
# the loop's own work is the scrape's) plus one service "probe" whose 10.20.0.5:80 is checked
# every 0.1 s. Measured: a whole scrape (seconds, bytes, lines); how late the probe's checks
# ran while scrapes were in flight, from their count against what 0.1 s asks; and a reload
# while a scrape is in flight, read slowly: the scrape ends early, the reload is not held up.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

N=${1:-10000}
now() { awk '{ print $1 }' /proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
xl_topology_nat 192.168.10.100 1 >/dev/null
ip link set lo up
# the N services: bench/gen-configs.sh's table (host side), as include_dir files
cat >/run/m.conf <<EOF
global: { metrics_listen = "127.0.0.1:9475"; check = { type = "none"; };
          include_dir = "/test/bulk.d"; };
virtual_services = (
  { name = "probe"; vip = "192.168.10.100"; port = 8000;
    check = { type = "tcp"; interval = 0.1; timeout = 0.05; };
    real_servers = ( { address = "10.20.0.5"; port = 80; } ); }
);
EOF
t0=$(now)
xl_extlbd_start /run/m.conf || { echo "BENCH start failed"; exit 1; }
echo "BENCH start-up $(secs "$t0" "$(now)") s"
scrape() { # one scrape, summed up: "LINES BYTES PROBE-SUCCESSES UP-SAMPLES"
    wget -q -O - http://127.0.0.1:9475/metrics | awk '
        { n++; b += length($0) + 1 }
        /^extlb_server_check_results_total\{service="probe".*result="success"/ { p = $2 }
        /^extlb_server_up\{/ { u++ }
        END { print n + 0, b + 0, p + 0, u + 0 }'
}
sleep 2
# scrapes back to back: their time and size, and the probe's checks a second meanwhile (its
# sample comes at the same point of every scrape, so two scrapes' values differ by the
# checks between their starts)
for i in 1 2 3 4; do
    t=$(now)
    r=$(scrape)
    echo "BENCH scrape $i: $(secs "$t" "$(now)") s, ${r%% *} lines, $(echo "$r" | cut -d' ' -f2) bytes"
    eval "t$i=$t p$i=$(echo "$r" | cut -d' ' -f3) u$i=$(echo "$r" | cut -d' ' -f4)"
done
# shellcheck disable=SC2154 # t1, t4, p1, p4 and u4 are set by the evals above
span=$(secs "$t1" "$t4")
# shellcheck disable=SC2154
echo "BENCH probe (checked every 0.1 s): $((p4 - p1)) checks in the $span s of 3 scrapes (0.1 s asks $(awk -v t="$span" 'BEGIN { printf "%d", t / 0.1 }'))"
# shellcheck disable=SC2154
xl_assert_eq "a whole scrape: every server's up" $((N * 10 + 1)) "$u4"
# the same, with the loop idle between two scrapes: what the emulated guest gives anyway
sleep 20
t=$(now)
r=$(scrape)
p5=$(echo "$r" | cut -d' ' -f3)
idle=$(secs "$t4" "$t")
echo "BENCH probe, idle but for one scrape: $((p5 - p4)) checks in $idle s (0.1 s asks $(awk -v t="$idle" 'BEGIN { printf "%d", t / 0.1 }'))"
# a reload while a scrape is read slowly
mark=$(xl_log_lines)
(wget -q -O - http://127.0.0.1:9475/metrics | (sleep 3; wc -c >/run/slow); echo "wget exit $?" >/run/slow.rc) &
sleep 1
t0=$(now)
xl_extlbd_reload
echo "BENCH reload during a slow scrape: $(secs "$t0" "$(now)") s"
sleep 6
xl_check "the slow scrape ended early" xl_log_since "$mark" | grep -q 'metrics: a scrape ended early'
echo "BENCH slow scrape got $(cat /run/slow) bytes; $(cat /run/slow.rc 2>/dev/null)"
xl_check "the next scrape is whole" sh -c "wget -q -O - http://127.0.0.1:9475/metrics | grep -q '^extlb_config_generation 2$'"
xl_extlbd_stop TERM
xl_summary
