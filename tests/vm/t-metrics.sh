# shellcheck shell=dash
# The Prometheus endpoint (metrics_listen) on a real kernel with real traffic: two web
# backends up and one down from start-up behind a VIP; requests through the VIP; the scrape's
# counters of the service equal `ipvsadm -Ln --stats --exact`, the down server is 0 in
# extlb_server_up and its effective weight, other paths are 404 and other methods 405. A
# reload that changes metrics_listen rebinds (IPv6 too); a port in use is an error in the
# log and extlbd goes on. The scrape is printed between "scrape:" markers for the host half
# (t-metrics.host), which validates it with promtool.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 3 >/dev/null
for p in $(ip netns pids backend3); do kill "$p"; done # down from start-up
ip link set lo up

conf() { # conf LISTEN [METRICS_SERVERS]
    cat >/run/metrics.conf <<EOF
global: {
  metrics_listen = "$1";
  metrics_servers = "${2:-all}";
  check = { type = "tcp"; interval = 1.0; timeout = 0.5; rise = 1; fall = 1; };
};
virtual_services = (
  { name = "web"; vip = "$VIP"; port = 8000; scheduler = "rr";
    real_servers = ( { address = "10.20.0.5"; port = 80; weight = 2; },
                     { address = "10.20.0.6"; port = 80; weight = 3; },
                     { address = "10.20.0.7"; port = 80; } ); },
  { name = "idle \"quoted\""; vip = "$VIP"; port = 8001; protocol = "udp";
    real_servers = ( { address = "10.20.0.5"; port = 53; } );
    check = { type = "none"; }; }
);
EOF
}
scrape() { # scrape URL: the body on stdout
    timeout 20 wget -q -O - "$1"
}
value() { # value NAME{LABELS}: the sample's value in /run/scrape
    awk -v k="$1" 'index($0, k " ") == 1 { print $NF }' /run/scrape
}

conf 127.0.0.1:9475
xl_check "extlbd starts" xl_extlbd_start /run/metrics.conf
xl_check "the two live servers are added" xl_wait_for -t 30 sh -c \
    "[ \"\$(ipvsadm -Ln -t $VIP:8000 | grep -c Masq)\" = 2 ]"
xl_check "the endpoint is logged" grep -q 'metrics: serving http://127.0.0.1:9475/metrics' \
    "$XL_EXTLBD_LOG"

xl_assert_eq "30 requests through the VIP" 30 \
    "$(xl_requests 30 client "$VIP" 8000 | grep -c '^backend[12]$')"
# the kernel sums its per-CPU counters every 2 s (the estimator): wait for the 30, then one
# more round so that nothing moves between the scrape and ipvsadm
xl_check "the kernel counts 30 connections" xl_wait_for -t 10 sh -c \
    "ipvsadm -Ln --stats --exact -t $VIP:8000 | awk '\$1 == \"TCP\" { exit \$3 != 30 }'"
sleep 2.5
scrape http://127.0.0.1:9475/metrics >/run/scrape
xl_check "scraped" [ -s /run/scrape ]
stats=$(ipvsadm -Ln --stats --exact -t "$VIP:8000" | awk '$1 == "TCP" { print $3, $4, $5, $6, $7 }')
xl_log "ipvsadm --stats: conns inpkts outpkts inbytes outbytes = $stats"
got="$(value 'extlb_service_connections_total{service="web"}') \
$(value 'extlb_service_packets_total{service="web",direction="in"}') \
$(value 'extlb_service_packets_total{service="web",direction="out"}') \
$(value 'extlb_service_bytes_total{service="web",direction="in"}') \
$(value 'extlb_service_bytes_total{service="web",direction="out"}')"
xl_assert_eq "the service's counters are the kernel's" "$stats" "$got"
xl_assert_eq "30 connections" 30 "$(value 'extlb_service_connections_total{service="web"}')"
xl_assert_eq "server up" "1 1 0" \
    "$(value 'extlb_server_up{service="web",server="10.20.0.5:80"}') \
$(value 'extlb_server_up{service="web",server="10.20.0.6:80"}') \
$(value 'extlb_server_up{service="web",server="10.20.0.7:80"}')"
xl_assert_eq "configured weights" "2 3 1" \
    "$(value 'extlb_server_weight{service="web",server="10.20.0.5:80"}') \
$(value 'extlb_server_weight{service="web",server="10.20.0.6:80"}') \
$(value 'extlb_server_weight{service="web",server="10.20.0.7:80"}')"
xl_assert_eq "effective weights: the down server has none" "2 3 0" \
    "$(value 'extlb_server_effective_weight{service="web",server="10.20.0.5:80"}') \
$(value 'extlb_server_effective_weight{service="web",server="10.20.0.6:80"}') \
$(value 'extlb_server_effective_weight{service="web",server="10.20.0.7:80"}')"
ok_checks=$(value 'extlb_server_check_results_total{service="web",server="10.20.0.5:80",result="success"}')
xl_check "checks counted ($ok_checks successes)" [ "${ok_checks:-0}" -ge 1 ]
xl_check "failures of the down server counted" \
    [ "$(value 'extlb_server_check_results_total{service="web",server="10.20.0.7:80",result="failure"}')" -ge 1 ]
xl_assert_eq "the histogram's +Inf bucket counts every check" "$ok_checks" \
    "$(value 'extlb_server_check_duration_seconds_count{service="web",server="10.20.0.5:80"}')"
xl_assert_eq "quorum" 1 "$(value 'extlb_service_quorum{service="web"}')"
xl_check "a label value escaped" grep -q '^extlb_server_up{service="idle \\"quoted\\"",server="10.20.0.5:53"} 1$' /run/scrape
xl_assert_eq "configuration generation" 1 "$(value extlb_config_generation)"
xl_check "ops applied counted" [ "$(value extlb_ops_applied_total)" -ge 5 ]

echo "=== scrape begin"
sed 's/^/scrape: /' /run/scrape
echo "=== scrape end"

xl_check "another path: 404" sh -c \
    "wget -q -O - http://127.0.0.1:9475/ 2>&1 | grep -q '404'"
xl_check "another method: 405" sh -c \
    "wget -q -O - --post-data=x http://127.0.0.1:9475/metrics 2>&1 | grep -q '405'"

# a reload that changes metrics_listen rebinds
conf "[::1]:9476"
xl_check "reload" xl_extlbd_reload
xl_check "the new address serves" xl_wait_for -t 10 sh -c \
    "timeout 20 wget -q -O - 'http://[::1]:9476/metrics' | grep -q '^extlb_config_generation 2$'"
xl_check "the old one is closed" sh -c "! timeout 20 wget -q -O - http://127.0.0.1:9475/metrics"
xl_assert_eq "reloads counted" 1 \
    "$(scrape 'http://[::1]:9476/metrics' | awk '$1 == "extlb_reloads_total{result=\"success\"}" { print $2 }')"

# a port in use: said in the log, extlbd goes on
socat TCP-LISTEN:9477,bind=127.0.0.1,reuseaddr - >/dev/null 2>&1 </dev/null &
holder=$!
sleep 0.5
conf 127.0.0.1:9477
xl_check "reload to a port in use" xl_extlbd_reload
xl_check "the bind failure is logged" xl_wait_for -t 10 grep -q \
    'error: metrics_listen 127.0.0.1:9477: Address already in use; extlbd goes on without metrics' \
    "$XL_EXTLBD_LOG"
xl_check "extlbd still runs" kill -0 "$XL_EXTLBD_PID"
xl_assert_eq "and still serves the VIP" backend1 "$(xl_requests 2 client "$VIP" 8000 | sort | head -n 1)"
kill "$holder" 2>/dev/null
xl_check "a reload binds it once it is free" xl_extlbd_reload
xl_check "served again" xl_wait_for -t 10 sh -c \
    "timeout 20 wget -q -O - http://127.0.0.1:9477/metrics | grep -q '^extlb_config_generation 4$'"

# metrics_servers: fewer per-server families for large tables
conf 127.0.0.1:9477 state
xl_check "reload to metrics_servers = state" xl_extlbd_reload
scrape http://127.0.0.1:9477/metrics >/run/scrape
xl_assert_eq "state: each server's up and weights, no check families" "3 3 3 0 0" \
    "$(for f in up weight effective_weight check_duration_seconds_count check_results_total; do
        grep -c "^extlb_server_$f{service=\"web\"" /run/scrape; done | tr '\n' ' ' | sed 's/ $//')"
conf 127.0.0.1:9477 none
xl_check "reload to metrics_servers = none" xl_extlbd_reload
scrape http://127.0.0.1:9477/metrics >/run/scrape
xl_assert_eq "none: no server family, the services' stay" "0 1" \
    "$(grep -c '^extlb_server_' /run/scrape) $(grep -c '^extlb_service_connections_total{service="web"}' /run/scrape)"

xl_extlbd_stop TERM
xl_assert_eq "extlbd stopped cleanly" 0 "$XL_EXTLBD_STATUS"
xl_summary
