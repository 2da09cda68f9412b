# shellcheck shell=dash
# Start-up never flushes: a table pre-filled with ipvsadm is adopted and corrected with the
# minimal ops (each op logged), a foreign service survives (until owns_all = true says the
# table is extlbd's), established traffic keeps flowing, a restart on a matching table
# applies nothing, and on_stop = "remove" deletes only extlbd's services.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 3 >/dev/null
xl_vip 192.168.10.200

# what someone (or an earlier extlbd) left: wrong scheduler, wrong weight, a server the
# config does not list, one it lists missing; and a service that is not ours at all
ipvsadm -A -t "$VIP:8000" -s wlc
ipvsadm -a -t "$VIP:8000" -r 10.20.0.5:80 -m -w 5
ipvsadm -a -t "$VIP:8000" -r 10.20.0.7:80 -m -w 1
ipvsadm -A -t 192.168.10.200:9000 -s rr
ipvsadm -a -t 192.168.10.200:9000 -r 10.20.0.7:80 -m -w 1

xl_check "extlbd starts on the pre-filled table" xl_extlbd_start /test/conf/adopt.conf
xl_assert_eq "exactly the minimal ops ran, in order" "\
edit-service \"ext-tcp-lb\" (TCP 192.168.10.100:8000): rr, timeout 0
edit-server 10.20.0.5:80 of \"ext-tcp-lb\" (TCP 192.168.10.100:8000): nat, weight 1
add-server 10.20.0.6:80 of \"ext-tcp-lb\" (TCP 192.168.10.100:8000): nat, weight 1
delete-server 10.20.0.7:80 of \"ext-tcp-lb\" (TCP 192.168.10.100:8000)" \
    "$(grep -E 'info: (add|edit|delete)-' "$XL_EXTLBD_LOG" | sed 's/.*info: //')"
xl_assert_eq "summary: 4 ops" 1 "$(xl_log_count 'start-up: 4 ops applied .*0 failed')"
xl_assert_eq "adoption logged" 1 \
    "$(xl_log_count 'kernel holds 2 services: 1 adopted, 1 not in the configuration \(left alone\)')"
xl_assert_eq "table: ours corrected, the foreign one intact" "\
TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1
TCP 192.168.10.200:9000 rr
  -> 10.20.0.7:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "rr over the corrected pool: each twice in 4" "backend1
backend1
backend2
backend2" "$(xl_requests 4 client "$VIP" 8000 | sort)"
xl_assert_eq "foreign service still serves" backend3 "$(xl_requests 1 client 192.168.10.200 9000)"

# A client connection held open across a restart of extlbd (kill -9: no goodbye at all).
ip netns exec client sh -c "(echo 'GET / HTTP/1.0'; sleep 6; echo) | nc $VIP 8000 >/tmp/held.out 2>&1" &
held=$!
sleep 1
xl_extlbd_stop KILL
mark=$(xl_log_lines)
xl_check "restart after kill -9" xl_extlbd_start /test/conf/adopt.conf
xl_assert_eq "restart on a matching table: 0 ops" 1 \
    "$(xl_log_since "$mark" | grep -c 'start-up: 0 ops applied')"
wait "$held"
xl_check "a connection held across kill -9 and restart completes" grep -q '^backend' /tmp/held.out
xl_extlbd_stop TERM

mark=$(xl_log_lines)
xl_check "start with owns_all = true" xl_extlbd_start /test/conf/adopt-owns-all.conf
xl_assert_eq "owns_all: the foreign service is deleted, nothing else" \
    "delete-service TCP 192.168.10.200:9000" \
    "$(xl_log_since "$mark" | grep -E 'info: (add|edit|delete)-' | sed 's/.*info: //')"
xl_extlbd_stop TERM

ipvsadm -A -t 192.168.10.200:9000 -s rr
xl_check "start with on_stop = remove" xl_extlbd_start /test/conf/remove-on-stop.conf
xl_extlbd_stop TERM
xl_assert_eq "on_stop remove: exit 0" 0 "$XL_EXTLBD_STATUS"
xl_assert_eq "on_stop remove: ours deleted, the foreign one kept" \
    "TCP 192.168.10.200:9000 rr" "$(xl_ipvs_table)"
xl_summary
