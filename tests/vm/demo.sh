# shellcheck shell=dash
# The README's main job, inside the VM: the example configuration (etc/extlb.conf, copied to
# /etc/extlb.conf) served for real. The external endpoint 10.20.0.5:80 is a web server in its
# own network namespace, the VIP 192.168.10.100 sits on the director, a client namespace
# sends requests to VIP:8000; extlbd programs IPVS from the file.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_log "kernel $(uname -r); $(extlbd -v)"
xl_topology_nat "$VIP" 1 >/dev/null
xl_log "external endpoint backend1 at $(xl_backend_addr 1):80, client at $XL_CLIENT_ADDR"

extlbd -t -f /etc/extlb.conf
if ! xl_extlbd_start /etc/extlb.conf; then
    cat "$XL_EXTLBD_LOG"
    xl_fail "extlbd started" "see the log above"
    xl_summary
    exit 1
fi
echo "---- extlbd log ----"
cat "$XL_EXTLBD_LOG"
echo "---- ipvsadm -Ln ----"
ipvsadm -Ln
echo "---- 6 requests from the client to http://$VIP:8000/ ----"
i=1
: >/tmp/answers
while [ "$i" -le 6 ]; do
    a=$(xl_http_get client "$VIP" 8000 2>/dev/null || echo "FAILED")
    echo "request $i: answered by $a"
    echo "$a" >>/tmp/answers
    i=$((i + 1))
done
# The kernel adds its per-CPU counters up every 2 s: wait (5 s at most) for them.
conns() { ipvsadm -Ln --stats | awk '$1 == "TCP" { print $3 }'; }
t=0
while [ "$t" -lt 50 ] && [ "$(conns)" != 6 ]; do
    sleep 0.1
    t=$((t + 1))
done
echo "---- ipvsadm -Ln --stats ----"
ipvsadm -Ln --stats
xl_assert_eq "IPVS counted 6 connections to the VIP" 6 "$(conns)"
xl_assert_eq "6 requests through the VIP answered by the endpoint" 6 \
    "$(grep -c '^backend1$' /tmp/answers)"
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
xl_assert_eq "on_stop keep: the kernel still balances after extlbd stopped" backend1 \
    "$(xl_http_get client "$VIP" 8000 2>/dev/null || echo FAILED)"
xl_summary
