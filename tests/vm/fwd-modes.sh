# shellcheck shell=dash
# Harness self-test of the IPVS forwarding methods (no extlbd): for IPv4 and IPv6, one
# service per method, each with one backend prepared by xl_backend_vip, and one HTTP request
# from the client that must be answered by that backend:
#   direct routing (-g), IPIP tunnel (-i), GUE tunnel (-i --tun-type gue --tun-port 6080),
#   GRE tunnel (-i --tun-type gre).
# Run on the host: scripts/vm-run tests/vm/fwd-modes.sh
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
VIP6=fd00:100::100

xl_topology_nat "$VIP" 4 "$VIP6"

# check LABEL VIP PORT BACKEND_INDEX MODE IPVSADM_FORWARD_OPTIONS...
check() {
    local label="$1" vip="$2" port="$3" n="$4" mode="$5" addr hp
    shift 5
    if xl_is_v6 "$vip"; then addr=$(xl_backend_addr6 "$n"); else addr=$(xl_backend_addr "$n"); fi
    hp=$(xl_hostport "$vip" "$port")
    # In DR and tunnel modes the backend port must equal the service port.
    xl_httpd "backend$n" "$port" "$label"
    xl_backend_vip "backend$n" "$vip" "$mode"
    ipvsadm -A -t "$hp" -s rr
    ipvsadm -a -t "$hp" -r "$(xl_hostport "$addr" "$port")" "$@"
    xl_assert_eq "$label" "$label" "$(xl_http_get client "$vip" "$port")"
}

check ipv4-dr "$VIP" 9001 1 dr -g
check ipv4-ipip "$VIP" 9002 2 ipip -i
check ipv4-gue "$VIP" 9003 3 gue:6080 -i --tun-type gue --tun-port 6080
check ipv4-gre "$VIP" 9004 4 gre -i --tun-type gre
check ipv6-dr "$VIP6" 9011 1 dr -g
check ipv6-ipip "$VIP6" 9012 2 ipip -i
check ipv6-gue "$VIP6" 9013 3 gue:6080 -i --tun-type gue --tun-port 6080
check ipv6-gre "$VIP6" 9014 4 gre -i --tun-type gre

xl_ipvs_table
xl_summary
