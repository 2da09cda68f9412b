# shellcheck shell=dash
# Health checks on a real kernel with real traffic: three backends behind a VIP checked
# every second (timeout 0.5 s, fall 2, rise 2). Stopping one backend's server takes it out
# of IPVS (weight 0 with inhibit_on_failure) within fall x interval + timeout plus a loose
# margin for the emulated VM, while requests keep being answered by the others; starting
# it again brings it back after rise checks. With all three down the sorry server takes
# the traffic, and leaves when one returns. Every change is logged once, with its reason.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
BOUND=2.5   # fall x interval + timeout
MARGIN=3.5  # scheduling and polling in an emulated guest
xl_topology_nat "$VIP" 4 >/dev/null

now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
within() { awk -v t="$1" -v m="$(awk -v b="$BOUND" -v m="$MARGIN" 'BEGIN { print b + m }')" 'BEGIN { exit !(t <= m) }'; }
stop_backend() { # kill the web server of one backend namespace only
    for p in $(ip netns pids "$1"); do kill "$p"; done
    rm -f "$XL_STATE/ns/$1.httpd.80"
}
dests() { # the real servers of VIP:PORT with their weights, one line each
    ipvsadm -Ln -t "$VIP:$1" | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2, $4 }'
}
all3="10.20.0.5:80 1
10.20.0.6:80 1
10.20.0.7:80 1"

xl_check "extlbd starts" xl_extlbd_start /test/conf/health.conf
xl_check "the three servers pass their first checks and are added" \
    xl_wait_for -t 30 sh -c "[ \"\$(ipvsadm -Ln -t $VIP:8000 | grep -c Masq)\" = 3 ] && [ \"\$(ipvsadm -Ln -t $VIP:8002 | grep -c Masq)\" = 3 ]"
xl_assert_eq "tcp: all three" "$all3" "$(dests 8000)"
xl_assert_eq "http: all three" "$all3" "$(dests 8002)"

t0=$(now)
stop_backend backend2
xl_wait_for -t 30 sh -c "! ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.6:80"
t=$(elapsed "$t0")
xl_log "backend2 stopped: removed from IPVS after $t s (bound $BOUND s)"
xl_check "removed within the bound + margin ($t s)" within "$t"
xl_assert_eq "tcp service: backend2 gone" "10.20.0.5:80 1
10.20.0.7:80 1" "$(dests 8000)"
xl_check "inhibit_on_failure: backend2 at weight 0" \
    xl_wait_for -t 10 sh -c "ipvsadm -Ln -t $VIP:8001 | grep -q '10.20.0.6:80 *Masq *0 '"
xl_check "http service: backend2 gone" xl_wait_for -t 10 sh -c "! ipvsadm -Ln -t $VIP:8002 | grep -q 10.20.0.6:80"
xl_assert_eq "10 requests after the removal: all answered, none by backend2" "10 0" \
    "$(xl_requests 10 client "$VIP" 8000 | awk '/^backend[13]$/ { ok++ } /backend2|FAIL/ { bad++ } END { print ok + 0, bad + 0 }')"
xl_assert_eq "the change is logged once, with its reason" 1 \
    "$(xl_log_count 'real server 10.20.0.6:80 of "web" \(TCP 192.168.10.100:8000\) is down: .*connection refused')"

t0=$(now)
xl_httpd backend2 80
xl_wait_for -t 30 sh -c "ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.6:80"
t=$(elapsed "$t0")
xl_log "backend2 restarted: back in IPVS after $t s (rise 2 x interval 1 s)"
xl_assert_eq "back after rise checks with its weight" "$all3" "$(dests 8000)"
xl_check "inhibit service: weight restored" \
    xl_wait_for -t 10 sh -c "ipvsadm -Ln -t $VIP:8001 | grep -q '10.20.0.6:80 *Masq *1 '"
xl_assert_eq "return logged once" 1 \
    "$(xl_log_count 'real server 10.20.0.6:80 of "web" \(TCP 192.168.10.100:8000\) is up: 2 successful checks in a row')"

stop_backend backend1; stop_backend backend2; stop_backend backend3
xl_check "all three down: the sorry server takes over" xl_wait_for -t 30 sh -c \
    "[ \"\$(ipvsadm -Ln -t $VIP:8000 | awk '\$1 == \"->\" && \$2 ~ /^[0-9]/ { print \$2 }')\" = 10.20.0.8:80 ]"
xl_assert_eq "requests answered by the sorry server" "backend4
backend4" "$(xl_requests 2 client "$VIP" 8000)"
xl_check "quorum loss logged" xl_wait_for -t 5 grep -q '"web" .* lost its quorum' "$XL_EXTLBD_LOG"
xl_httpd backend3 80
xl_check "one returns: the sorry server leaves" xl_wait_for -t 30 sh -c \
    "[ \"\$(ipvsadm -Ln -t $VIP:8000 | awk '\$1 == \"->\" && \$2 ~ /^[0-9]/ { print \$2 }')\" = 10.20.0.7:80 ]"
xl_check "quorum regained logged" grep -q '"web" .* regained its quorum' "$XL_EXTLBD_LOG"
xl_assert_eq "answered by backend3 again" "backend3" "$(xl_requests 1 client "$VIP" 8000)"

# a reload keeps health state: the two down servers stay down, the up one up
# (first let backend3 finish coming back in the other two services too)
xl_check "backend3 back in every service" xl_wait_for -t 30 sh -c \
    "ipvsadm -Ln -t $VIP:8001 | grep -q '10.20.0.7:80 *Masq *1 ' && ipvsadm -Ln -t $VIP:8002 | grep -q 10.20.0.7:80"
sleep 1
before=$(ipvsadm -Sn)
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "reload with health state carried over: 0 ops" 1 \
    "$(xl_log_since "$mark" | grep -c 'reload: 0 ops applied')"
xl_assert_eq "no server changed state on the reload" 0 \
    "$(xl_log_since "$mark" | grep -c -E 'is (up|down):')"
xl_assert_eq "table unchanged by the reload" "$before" "$(ipvsadm -Sn)"
xl_extlbd_stop TERM
xl_assert_eq "stop: exit 0" 0 "$XL_EXTLBD_STATUS"
grep -E 'is (up|down)|quorum|health:' "$XL_EXTLBD_LOG" | sed 's/^/# /'
xl_summary
