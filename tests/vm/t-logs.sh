# shellcheck shell=dash
# Logs that tell: a server down from start-up is logged once with its reason, not at every
# check; the periodic summary (log_down_interval) names the servers still down; a large
# start-up (2,000 services x 10 beside "web") logs its progress (log_progress_interval);
# and one grep for a server's label finds its whole history: down from start-up, summary,
# up, added, removed from the file, drained, deleted.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
N=2000
xl_topology_nat "$VIP" 3 >/dev/null
for p in $(ip netns pids backend3); do kill "$p"; done # down from start-up
rm -f "$XL_STATE/ns/backend3.httpd.80"

conf() { # conf "SERVERS OF web"
    awk -v n="$N" -v vip="$VIP" -v web="$1" 'BEGIN {
        print "global: {"
        print "  log_down_interval = 2; log_progress_interval = 0.01;"
        print "  check = { type = \"none\"; };"
        print "};"
        print "virtual_services = ("
        print "  { name = \"web\"; vip = \"" vip "\"; port = 8000; scheduler = \"rr\";"
        print "    check = { type = \"tcp\"; interval = 0.5; timeout = 0.3; rise = 1; fall = 1; };"
        print "    real_servers = ( " web " ); },"
        for (i = 0; i < n; i++) {
            printf "  { name = \"bulk%d\"; vip = \"10.100.%d.%d\"; port = 80;\n", i, int(i / 250), i % 250 + 1
            printf "    real_servers = ("
            for (r = 1; r <= 10; r++)
                printf "%s { address = \"10.201.%d.%d\"; port = %d; }", (r > 1 ? "," : ""), int(i / 250), i % 250 + 1, 8000 + r
            printf " ); }%s\n", (i < n - 1 ? "," : "")
        }
        print ");"
    }' >/run/logs.conf
}
three='{ address = "10.20.0.5"; port = 80; }, { address = "10.20.0.6"; port = 80; }, { address = "10.20.0.7"; port = 80; }'
two='{ address = "10.20.0.5"; port = 80; }, { address = "10.20.0.6"; port = 80; }'
label='10.20.0.7:80 of "web" (TCP 192.168.10.100:8000)'

conf "$three"
xl_check "extlbd starts with 2,001 services" xl_extlbd_start /run/logs.conf
xl_check "start-up progress logged" \
    [ "$(xl_log_count 'info: start-up: [0-9]+ of 22[0-9]{3} ops sent \([0-9.]+ s\)$')" -ge 1 ]
xl_log "$(grep -E 'ops sent|ops applied' "$XL_EXTLBD_LOG" | head -n 5)"
xl_check "the two live servers of web are added" xl_wait_for -t 30 sh -c \
    "[ \"\$(ipvsadm -Ln -t $VIP:8000 | grep -c Masq)\" = 2 ]"
sleep 3 # six more checks of the down server
xl_assert_eq "down from start-up: logged once, with its reason" 1 \
    "$(xl_log_count "warning: real server 10\\.20\\.0\\.7:80 of \"web\" \\(TCP 192\\.168\\.10\\.100:8000\\) is down: .*connection refused \\(since start-up\\)$")"
xl_assert_eq "and no other line says it is down" 1 "$(xl_log_count '10.20.0.7:80 of "web" .* is down')"
xl_check "the summary names it" xl_wait_for -t 10 sh -c \
    "[ \$(grep -c 'warning: health: 1 of 20003 real servers down: 10.20.0.7:80 of \"web\" (TCP 192.168.10.100:8000)\$' $XL_EXTLBD_LOG) -ge 2 ]"

xl_httpd backend3 80
xl_check "it comes up" xl_wait_for -t 20 sh -c "ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.7:80"
mark=$(xl_log_lines)
sleep 4.5 # two summaries' time: none while all are up
xl_assert_eq "no summary while every server is up" 0 \
    "$(xl_log_since "$mark" | grep -c 'health: .* real servers down')"

conf "$two"
xl_check "reload without it" xl_extlbd_reload
xl_check "it drains and is deleted" xl_wait_for -t 30 sh -c "! ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.7:80"
sleep 1

history=$(grep -F "$label" "$XL_EXTLBD_LOG" | sed 's/^[0-9:.]* extlbd //')
xl_log "grep -F '$label':"
echo "$history" | sed 's/^/#   /'
has() { echo "$history" | grep -q -E -e "$1"; }
xl_check "history: down since start-up" has 'is down: .* \(since start-up\)'
xl_check "history: the summary" has 'health: 1 of 20003 real servers down'
xl_check "history: up" has 'is up: 1 successful check'
xl_check "history: added to IPVS" has 'add-server 10\.20\.0\.7:80 of "web" \(TCP 192\.168\.10\.100:8000\): nat, weight 1$'
xl_check "history: removed from the file, draining" has 'removed from the configuration: draining at weight 0'
xl_check "history: at weight 0" has 'edit-server 10\.20\.0\.7:80 of "web" \(TCP 192\.168\.10\.100:8000\): nat, weight 0$'
xl_check "history: drained" has 'drained after [0-9]+ s: deleted'
xl_check "history: deleted from IPVS" has 'delete-server 10\.20\.0\.7:80 of "web" \(TCP 192\.168\.10\.100:8000\)$'
xl_check "grep '\"web\"' finds the service's lines too" \
    [ "$(grep -c '"web"' "$XL_EXTLBD_LOG")" -gt "$(echo "$history" | wc -l)" ]

xl_extlbd_stop TERM
xl_assert_eq "extlbd stopped cleanly" 0 "$XL_EXTLBD_STATUS"
xl_summary
