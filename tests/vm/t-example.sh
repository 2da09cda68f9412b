# shellcheck shell=dash
# The documented example (etc/extlb.conf as /etc/extlb.conf) programs exactly the expected
# table, read back with ipvsadm, and real requests from a client namespace through the NAT VIP
# reach the external endpoint in its namespace; stopping with on_stop = "keep" leaves the
# table (and the traffic) in place; starting again on it applies zero ops.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 1 >/dev/null

xl_check "extlbd -t accepts the example" extlbd -t -f /etc/extlb.conf
xl_check "extlbd starts on the example" xl_extlbd_start /etc/extlb.conf
# the endpoint is added once its first tcp check passes (initial_state "down")
xl_check "the endpoint passes its check" xl_wait_for -t 30 sh -c "ipvsadm -Ln | grep -q 10.20.0.5:80"
xl_assert_eq "the example's table" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "ops logged: the service at start-up, the server when healthy" "\
add-service \"ext-tcp-lb\" (TCP 192.168.10.100:8000): rr, timeout 0
add-server 10.20.0.5:80 of \"ext-tcp-lb\" (TCP 192.168.10.100:8000): nat, weight 1" \
    "$(grep -E 'info: (add|edit|delete)-' "$XL_EXTLBD_LOG" | sed 's/.*info: //')"
xl_assert_eq "start-up: 1 op, health: 1 op" "1 1" \
    "$(xl_log_count 'start-up: 1 ops applied') $(xl_log_count 'health: 1 ops applied')"
xl_assert_eq "4 requests through VIP:8000 reach 10.20.0.5:80" "backend1
backend1
backend1
backend1" "$(xl_requests 4 client "$VIP" 8000)"
xl_extlbd_stop TERM
xl_assert_eq "SIGTERM: exit 0" 0 "$XL_EXTLBD_STATUS"
xl_assert_eq "on_stop keep: table stays" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "traffic flows with extlbd stopped" backend1 "$(xl_requests 1 client "$VIP" 8000)"
mark=$(xl_log_lines)
xl_check "restart" xl_extlbd_start /etc/extlb.conf
xl_assert_eq "restart on a matching table: zero ops" 1 \
    "$(xl_log_since "$mark" | grep -c 'start-up: 0 ops applied')"
sleep 3
xl_assert_eq "the adopted endpoint is trusted, not removed before a check fails" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "and nothing else was written" 0 \
    "$(xl_log_since "$mark" | grep -c -E 'info: (add|edit|delete)-')"
xl_assert_eq "restart adopted the service" 1 \
    "$(xl_log_since "$mark" | grep -c 'kernel holds 1 services: 1 adopted')"
xl_extlbd_stop TERM
xl_summary
