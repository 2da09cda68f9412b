# shellcheck shell=dash
# extlbctl status at 10,000 services x 10 real servers completes, and while it is being built
# the daemon's loop keeps answering: extlbctl ping, sent again and again meanwhile, comes back
# in a small part of the time the status takes (a status built in one go would hold every
# ping until it is done). Figures (emulated guest: only the ratio means anything) are printed.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

NVS=${NVS:-10000}
conf=/tmp/big.conf
xl_conf_big "$NVS" "$conf"

XL_WAIT_TIMEOUT=600
xl_check "extlbd starts with $NVS services x 10" xl_extlbd_start "$conf"
xl_wait_for -t 600 sh -c "grep -q 'running:' $XL_EXTLBD_LOG"

centis() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
t0=$(centis)
# the request through socat: the time is the daemon's, not extlbctl's formatting
echo '{"cmd":"status"}' | socat -t 600 - UNIX-CONNECT:/run/extlbd/control.sock >/tmp/status.json &
st=$!
pings=0 worst=0
while kill -0 "$st" 2>/dev/null; do
    a=$(centis)
    extlbctl -t 600 ping >/dev/null || break
    b=$(centis)
    pings=$((pings + 1))
    [ $((b - a)) -gt "$worst" ] && worst=$((b - a))
done
wait "$st"
rc=$?
t1=$(centis)
took=$((t1 - t0))
echo "# status of $NVS services: $took cs; $pings pings meanwhile, the slowest $worst cs"
xl_assert_eq "the status request completes" 0 "$rc"
xl_check "the reply is whole and all is up" grep -q '^{"ok":true,"exit":0,' /tmp/status.json
xl_assert_eq "every service in the reply" "$NVS" "$(grep -o '"name":"s' /tmp/status.json | wc -l)"
xl_assert_eq "every server in it, in the kernel at weight 1" "$((NVS * 10))" \
    "$(grep -o '"in_kernel":true,"effective_weight":1,' /tmp/status.json | wc -l)"
xl_check "pings were answered while the status was built" [ "$pings" -ge 3 ]
xl_check "no ping waited a quarter of the status's time" [ $((worst * 4)) -lt "$took" ]
xl_extlbd_stop TERM
xl_summary
