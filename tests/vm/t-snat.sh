# shellcheck shell=dash
# snat: a backend whose default route does not lead back to the VIP host gets no answer to
# its clients without it, answers every request with snat = true (after a reload), and sees
# the host's address as the client; with snat_address it sees that address instead.
# extlbd sets net.ipv4.vs.conntrack itself, and on_stop = "keep" leaves the table.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
HOST=10.30.0.1  # the director's address on the backend's network
OTHER=10.30.0.9 # a second address of the director there, for snat_address
BACK=10.30.0.5

xl_client client "$XL_CLIENT_ADDR"
xl_vip "$VIP"
# the backend's default route points at a router that does not exist: without snat its
# replies to the client never reach the director
xl_netns far "$XL_SEG_BACKEND"
ip addr add "$HOST/24" dev "$XL_SEG_BACKEND"
ip addr add "$OTHER/24" dev "$XL_SEG_BACKEND"
ip -n far addr add "$BACK/24" dev eth0
ip -n far route add default via 10.30.0.254 dev eth0
www="$XL_STATE/www/far"
mkdir -p "$www/cgi-bin"
echo far >"$www/index.html"
cat >"$www/cgi-bin/addr" <<'CGI'
#!/bin/sh
# busybox httpd listens on IPv6 and writes an IPv4 client as [::ffff:a.b.c.d]
a=${REMOTE_ADDR#[}
a=${a%]}
printf 'Content-Type: text/plain\r\n\r\n%s\n' "${a#::ffff:}"
CGI
chmod 755 "$www/cgi-bin/addr"
xl_in far httpd -p 80 -h "$www" || xl_die "httpd in far failed"
xl_wait_for xl_listening far tcp 80 || xl_die "httpd in far not listening"

conf() { # conf SNAT-KEYS [MORE-SERVICES]
    cat >/tmp/t.conf <<CONF
global: { resync_interval = 2; check = { type = "tcp"; interval = 1; }; };
virtual_services = (
  { name = "far"; vip = "$VIP"; port = 8000; scheduler = "rr"; $1
    real_servers = ( { address = "$BACK"; port = 80; } ); } ${2:-}
);
CONF
}

conf "snat = false;"
xl_extlbd_start /tmp/t.conf || xl_die "extlbd did not start"
xl_wait_for -t 60 sh -c "ipvsadm -Ln | grep -q '$BACK:80'" || xl_die "no real server in IPVS"
xl_assert_eq "no nftables table while nothing asks for one" 1 \
    "$(nft list table inet extlb >/dev/null 2>&1 && echo 0 || echo 1)"
got=$(XL_HTTP_TIMEOUT=4 xl_http_get client "$VIP" 8000 /cgi-bin/addr 2>/dev/null)
xl_assert_eq "snat = false: the backend's replies are lost" "" "$got"

conf "snat = true;"
mark=$(xl_log_lines)
xl_extlbd_reload
xl_wait_for -t 30 sh -c "nft list set inet extlb masq4 | grep -q '$VIP . tcp . 8000'"
xl_check "snat = true: the service's element in masq4" \
    sh -c "nft list set inet extlb masq4 | grep -q '$VIP . tcp . 8000'"
xl_assert_eq "extlbd set net.ipv4.vs.conntrack" 1 "$(cat /proc/sys/net/ipv4/vs/conntrack)"
xl_assert_eq "and said so" 1 "$(xl_log_since "$mark" | grep -c 'reload: ipvs_sysctls.conntrack 0 -> 1')"
xl_assert_eq "one transaction, for service far" 1 \
    "$(xl_log_since "$mark" | grep -c 'nftables: reload: 1 transaction, .* 1 service .*: "far"')"
answers=$(for i in 1 2 3 4 5; do xl_http_get client "$VIP" 8000 /cgi-bin/addr || echo FAIL; done |
    sort | uniq -c | awk '{ print $1 "x" $2 }')
xl_assert_eq "every request answered; the backend sees the host's address" "5x$HOST" "$answers"

conf "snat = true; snat_address = \"$OTHER\";"
xl_extlbd_reload
xl_wait_for -t 30 sh -c "nft list map inet extlb snat4 | grep -q '$OTHER'"
xl_assert_eq "snat_address: the backend sees that address" "$OTHER" \
    "$(xl_http_get client "$VIP" 8000 /cgi-bin/addr)"

# IPv6: the same backend, on its IPv6 address, behind an IPv6 VIP
VIP6=fd00:99::100
xl_vip "$VIP6"
xl_ns_addr client "$XL_CLIENT_ADDR6"
ip -6 addr add fd00:30::1/64 dev "$XL_SEG_BACKEND" nodad
ip -n far -6 addr add fd00:30::5/64 dev eth0 nodad
ip -n far -6 route add default via fd00:30::fe dev eth0
conf "snat = true; snat_address = \"$OTHER\";" ", { name = \"far6\"; vip = \"$VIP6\"; port = 8000;
    snat = true; real_servers = ( { address = \"fd00:30::5\"; port = 80; } ); }"
xl_extlbd_reload
xl_wait_for -t 30 sh -c "nft list set inet extlb masq6 | grep -q '$VIP6 . tcp . 8000'"
xl_wait_for -t 30 sh -c "ipvsadm -Ln | grep -q 'fd00:30::5'"
xl_assert_eq "IPv6: the backend sees the host's address" fd00:30::1 \
    "$(xl_http_get client "$VIP6" 8000 /cgi-bin/addr)"

xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
xl_check "on_stop = keep: the table stays" nft list table inet extlb

# A kernel without masquerade: snat goes without it (and says so), allowed_sources stays;
# once the module is loaded, the resync builds the whole table.
nft flush ruleset
rmmod nft_masq 2>/dev/null
if [ -d /sys/module/nft_masq ]; then
    xl_skip "a kernel without masquerade" "nft_masq could not be unloaded"
else
    modprobe_was=$(cat /proc/sys/kernel/modprobe)
    echo /bin/false >/proc/sys/kernel/modprobe
    conf "snat = true; allowed_sources = [ \"10.10.0.0/24\" ];"
    mark=$(xl_log_lines)
    xl_check "extlbd starts without masquerade" xl_extlbd_start /tmp/t.conf
    xl_assert_eq "the error names the feature and the service" 1 \
        "$(xl_log_since "$mark" | grep -c 'nftables: the kernel lacks masquerade (nft_masq): snat of virtual service "far" is not in force')"
    xl_check "allowed_sources is in force all the same" \
        sh -c "nft list set inet extlb guard4 | grep -q '$VIP . tcp . 8000'"
    xl_assert_eq "no snat part in the table" 1 \
        "$(nft list set inet extlb masq4 >/dev/null 2>&1 && echo 0 || echo 1)"
    echo "$modprobe_was" >/proc/sys/kernel/modprobe
    modprobe nft_masq
    xl_wait_for -t 30 sh -c "nft list set inet extlb masq4 2>/dev/null | grep -q '$VIP . tcp . 8000'"
    xl_assert_eq "module loaded: the resync adds snat" 1 \
        "$(xl_log_since "$mark" | grep -c 'nftables: the kernel now has what was missing')"
    xl_assert_eq "and the backend is answered again" "$HOST" \
        "$(xl_http_get client "$VIP" 8000 /cgi-bin/addr)"
    xl_extlbd_stop TERM
fi
# what extlbd said of nftables, for whoever reads this log
grep -e 'nftables' -e 'sysctl' "$XL_EXTLBD_LOG" | grep -v ': | ' | sed 's/^/# /'
xl_summary
