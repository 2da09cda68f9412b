# shellcheck shell=dash
# With vip_interface, extlbd makes the dummy interface and keeps exactly its services' VIPs
# on it (the test adds none): a client reaches every VIP, IPv4 and IPv6; reloads that add and
# remove services leave exactly the expected addresses; announce = "quorum" takes a VIP off
# while its service has no quorum (its server down, or disabled with extlbctl) and puts it
# back after; an address deleted behind extlbd's back comes back within resync_interval; an
# address someone else added survives all of it and every stop; a restart removes a VIP that
# left the configuration while extlbd was down (extlbd knows its addresses by their protocol,
# IFA_PROTO); on_stop keep and remove; an interface of that name that is not a dummy is
# refused and IPVS is programmed all the same.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100  # web (8000) and web2 (8001): one address for two services
VIPQ=192.168.10.101 # quorum: announce = "quorum", its one backend is stopped and started
VIP6=fd00:99::100   # web6
VIP3=192.168.10.102 # added by a reload
FOREIGN=203.0.113.7 # added by the test: not extlbd's
DEV=extlb0

# the topology of xl_topology_nat without its VIP: client, backends 1-3, and backend4 alone
# behind the quorum service so that stopping its httpd takes the service's quorum
xl_client client "$XL_CLIENT_ADDR"
xl_ns_addr client "$XL_CLIENT_ADDR6"
for i in 1 2 3 4; do
    xl_backend "backend$i" "$(xl_backend_addr "$i")/24" 80
    xl_ns_addr "backend$i" "$(xl_backend_addr6 "$i")/64"
done
B1=$(xl_backend_addr 1) B2=$(xl_backend_addr 2) B3=$(xl_backend_addr 3)
B4=$(xl_backend_addr 4) B1_6=$(xl_backend_addr6 1)

# the addresses on DEV, sorted, one line (the kernel's IPv6 link-local left out)
addrs() {
    /sbin/ip -o addr show dev "${1:-$DEV}" 2>/dev/null | awk '{ print $4 }' |
        grep -v '^fe80:' | sort | tr '\n' ' ' | sed 's/ $//'
}
no_answer() { ! xl_http_get client "$1" "$2" >/dev/null 2>&1; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
wait_addrs() { # NAME EXPECTED...
    local name="$1" want
    shift
    want=$(sorted "$@")
    xl_wait_for -t 30 sh -c "[ \"\$(/sbin/ip -o addr show dev $DEV 2>/dev/null | awk '{ print \$4 }' | grep -v '^fe80:' | sort | tr '\n' ' ' | sed 's/ \$//')\" = \"$want\" ]"
    xl_assert_eq "$name" "$want" "$(addrs)"
}

head_conf() { # ON_STOP [VIP_INTERFACE]
    cat <<CONF
global: {
  vip_interface = "${2:-$DEV}";
  on_stop = "$1";
  resync_interval = 3;
  check = { type = "tcp"; interval = 0.5; timeout = 0.4; rise = 1; fall = 1; };
};
CONF
}
svc_web='{ name = "web"; vip = "'$VIP'"; port = 8000; scheduler = "rr";
    real_servers = ( { address = "'$B1'"; port = 80; }, { address = "'$B2'"; port = 80; } ); }'
svc_web2='{ name = "web2"; vip = "'$VIP'"; port = 8001;
    real_servers = ( { address = "'$B3'"; port = 80; } ); }'
svc_web6='{ name = "web6"; vip = "'$VIP6'"; port = 8000;
    real_servers = ( { address = "'$B1_6'"; port = 80; } ); }'
svc_q='{ name = "quorum"; vip = "'$VIPQ'"; port = 8000; announce = "quorum";
    real_servers = ( { address = "'$B4'"; port = 80; } ); }'
svc_web3='{ name = "web3"; vip = "'$VIP3'"; port = 8000;
    real_servers = ( { address = "'$B2'"; port = 80; } ); }'
svc_mark='{ name = "mark"; fwmark = 5; real_servers = ( { address = "'$B3'"; port = 0; } ); }'
conf() { # FILE ON_STOP SERVICE...
    local f="$1" on_stop="$2" sep=""
    shift 2
    {
        head_conf "$on_stop"
        echo "virtual_services = ("
        for s in "$@"; do
            printf '%s  %s\n' "$sep" "$s"
            sep=","
        done
        echo ");"
    } >"$f"
}

# ---- start: the interface made, every VIP on it, real traffic ------------------------------
conf /tmp/a.conf keep "$svc_web" "$svc_web2" "$svc_web6" "$svc_q" "$svc_mark"
xl_check "no $DEV before extlbd" sh -c "! /sbin/ip link show dev $DEV 2>/dev/null"
xl_check "extlbd starts" xl_extlbd_start /tmp/a.conf
xl_check "$DEV is a dummy interface, up" sh -c \
    "/sbin/ip -d link show dev $DEV | grep -q 'dummy' && /sbin/ip link show dev $DEV | grep -q ',UP'"
wait_addrs "every VIP on $DEV once (none for fwmark)" "$VIP/32" "$VIPQ/32" "$VIP6/128"
xl_assert_eq "web answers on its VIP" "backend1 backend2" \
    "$(xl_requests 2 client "$VIP" 8000 | sort | tr '\n' ' ' | sed 's/ $//')"
xl_assert_eq "web2 answers on the same VIP" backend3 "$(xl_http_get client "$VIP" 8001)"
xl_assert_eq "web6 answers on its IPv6 VIP" backend1 "$(xl_http_get client "$VIP6" 8000)"
xl_assert_eq "the quorum service answers" backend4 "$(xl_http_get client "$VIPQ" 8000)"
ip addr add "$FOREIGN/32" dev "$DEV"

# ---- announce = "quorum" --------------------------------------------------------------------
# shellcheck disable=SC2046 # one pid a word
kill $(ip netns pids backend4) 2>/dev/null
rm -f "$XL_STATE/ns/backend4.httpd.80"
wait_addrs "quorum lost: its VIP leaves $DEV" "$VIP/32" "$VIP6/128" "$FOREIGN/32"
xl_check "the client gets no answer on it" no_answer "$VIPQ" 8000
xl_httpd backend4 80
wait_addrs "quorum regained: its VIP is back" "$VIP/32" "$VIPQ/32" "$VIP6/128" "$FOREIGN/32"
xl_assert_eq "and answers again" backend4 "$(xl_http_get client "$VIPQ" 8000)"

# a server in maintenance serves nothing: its service's quorum is lost with it, health up or not
mark=$(xl_log_lines)
xl_check "extlbctl disable the quorum service's only server" extlbctl disable quorum "$B4"
wait_addrs "its server disabled: the quorum VIP leaves $DEV" "$VIP/32" "$VIP6/128" "$FOREIGN/32"
xl_assert_eq "the log says why" 1 \
    "$(xl_log_since "$mark" | grep -c '"quorum" .* lost its quorum: live weight 0 < 1 (1 in maintenance)')"
xl_check "extlbctl enable it" extlbctl enable quorum "$B4"
wait_addrs "enabled: the quorum VIP is back" "$VIP/32" "$VIPQ/32" "$VIP6/128" "$FOREIGN/32"
xl_assert_eq "and answers again after maintenance" backend4 "$(xl_http_get client "$VIPQ" 8000)"

# ---- resync ---------------------------------------------------------------------------------
mark=$(xl_log_lines)
ip addr del "$VIP/32" dev "$DEV"
xl_check "a VIP deleted behind extlbd's back is restored within resync_interval" \
    xl_wait_for -t 8 sh -c "/sbin/ip -o addr show dev $DEV | grep -q ' $VIP/32'"
xl_assert_eq "the restoration is logged" 1 \
    "$(xl_log_since "$mark" | grep -c "vip_interface $DEV: added $VIP/32")"

# ---- reloads --------------------------------------------------------------------------------
conf /tmp/a.conf keep "$svc_web" "$svc_q" "$svc_web3" "$svc_mark"
xl_extlbd_reload
wait_addrs "reload: web2 gone (its VIP stays for web), web6 gone, web3 added" \
    "$VIP/32" "$VIPQ/32" "$VIP3/32" "$FOREIGN/32"
xl_assert_eq "web3 answers on its new VIP" backend2 "$(xl_http_get client "$VIP3" 8000)"
xl_assert_eq "web still answers" backend1 "$(xl_requests 2 client "$VIP" 8000 | sort | head -n 1)"
conf /tmp/a.conf keep "$svc_q" "$svc_web3"
xl_extlbd_reload
wait_addrs "reload: web gone, and its VIP with it" "$VIPQ/32" "$VIP3/32" "$FOREIGN/32"
conf /tmp/a.conf keep "$svc_web" "$svc_q" "$svc_web3"
xl_extlbd_reload
wait_addrs "reload: web back" "$VIP/32" "$VIPQ/32" "$VIP3/32" "$FOREIGN/32"

# ---- on_stop = "keep", and a restart ---------------------------------------------------------
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
xl_assert_eq "on_stop = keep: every address stays" \
    "$(sorted "$VIP/32" "$VIPQ/32" "$VIP3/32" "$FOREIGN/32")" "$(addrs)"
xl_assert_eq "traffic goes on" backend2 "$(xl_http_get client "$VIP3" 8000)"
# quorum left the configuration while extlbd was down
conf /tmp/a.conf remove "$svc_web" "$svc_web3"
xl_check "extlbd starts again" xl_extlbd_start /tmp/a.conf
wait_addrs "restart: the VIP that left the configuration goes, the foreign one stays" \
    "$VIP/32" "$VIP3/32" "$FOREIGN/32"

# ---- on_stop = "remove" ---------------------------------------------------------------------
xl_extlbd_stop TERM
xl_assert_eq "on_stop = remove: only the foreign address stays" "$FOREIGN/32" "$(addrs)"
xl_check "the interface stays while something else is on it" /sbin/ip link show dev "$DEV"
ip addr del "$FOREIGN/32" dev "$DEV"
xl_check "extlbd starts on the interface it made before" xl_extlbd_start /tmp/a.conf
wait_addrs "its VIPs are back" "$VIP/32" "$VIP3/32"
xl_extlbd_stop TERM
xl_check "on_stop = remove: the interface extlbd made goes when nothing else is on it" \
    sh -c "! /sbin/ip link show dev $DEV 2>/dev/null"

# ---- an interface of that name that is not a dummy ----------------------------------------
ip link add xlveth0 type veth peer name xlveth1
ip addr add 198.51.100.1/24 dev xlveth0
{
    head_conf keep xlveth0
    echo "virtual_services = ( $svc_web );"
} >/tmp/b.conf
mark=$(xl_log_lines)
xl_check "extlbd starts with a veth as vip_interface" xl_extlbd_start /tmp/b.conf
xl_check "the veth is refused, named in the log" sh -c \
    "tail -n +$((mark + 1)) $XL_EXTLBD_LOG | grep -q 'vip_interface \"xlveth0\": an interface of that name exists and is not a dummy'"
xl_check "IPVS services are programmed all the same" xl_wait_for -t 20 sh -c \
    "ipvsadm -Ln | grep -q 'TCP  $VIP:8000'"
xl_assert_eq "the veth's addresses are untouched" "198.51.100.1/24" "$(addrs xlveth0)"
xl_check "the veth is still a veth" sh -c "/sbin/ip -d link show dev xlveth0 | grep -q veth"
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
grep -E 'vip_interface|error' "$XL_EXTLBD_LOG" | sed 's/^/# /'
xl_summary
