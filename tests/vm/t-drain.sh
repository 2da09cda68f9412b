# shellcheck shell=dash
# Reloads and drift without losing a connection: a real server removed from the file drains
# at weight 0 while its established connection finishes, and is deleted when it has no
# active connection left, or when drain_timeout passes; a removed UDP server goes at once.
# Changes made behind extlbd's back (ipvsadm -C, -d, an edited weight) are undone within
# resync_interval, with the corrections logged.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 3 >/dev/null
conf=/tmp/drain.conf
write_conf() { # write_conf TCP_SERVERS UDP_SERVERS DRAIN_TIMEOUT
    cat >"$conf" <<CONF
global: { resync_interval = 3; drain_timeout = $3; check = { type = "none"; }; };
virtual_services = (
  { name = "web"; vip = "$VIP"; port = 8000; scheduler = "rr";
    real_servers = ( $1 ); },
  { name = "dns"; vip = "$VIP"; port = 5353; protocol = "udp";
    real_servers = ( $2 ); }
);
CONF
}
rs() { echo "{ address = \"10.20.0.$1\"; port = ${2:-80}; }"; }
held() { # a request whose headers end only after SECS: the connection stays open
    ip netns exec client sh -c "(printf 'GET / HTTP/1.0\r\n'; sleep $1; printf '\r\n') | nc $VIP 8000" >"$2" 2>&1
}
weights() { ipvsadm -Ln -t "$VIP:8000" | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2, $4, $5 }'; }

write_conf "$(rs 5)" "$(rs 5 53), $(rs 6 53)" 30
xl_check "extlbd starts" xl_extlbd_start "$conf"
held 8 /tmp/held1.out &
h1=$!
xl_check "the held connection is established on 10.20.0.5" xl_wait_for -t 10 sh -c \
    "ipvsadm -Ln -t $VIP:8000 | grep -q '10.20.0.5:80 .* 1 *[0-9]* *$'"

write_conf "$(rs 6)" "$(rs 6 53)" 30
xl_extlbd_reload
xl_assert_eq "removed server drains at weight 0 with its connection; the new one takes traffic" \
    "10.20.0.5:80 0 1
10.20.0.6:80 1 0" "$(weights)"
xl_assert_eq "removed UDP server deleted at once" "10.20.0.6:53" \
    "$(ipvsadm -Ln -u $VIP:5353 | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2 }')"
xl_assert_eq "new requests go to the remaining server" "backend2
backend2" "$(xl_requests 2 client "$VIP" 8000)"
wait "$h1"
xl_check "the held connection completed through the drain" grep -q '^backend1' /tmp/held1.out
xl_check "drained server deleted once its connection ended" xl_wait_for -t 15 sh -c \
    "! ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.5:80"
xl_check "drain end logged" grep -q 'real server 10.20.0.5:80 of "web" (.*) drained after' "$XL_EXTLBD_LOG"

# drain_timeout: the connection outlives it; the server is deleted anyway
write_conf "$(rs 6), $(rs 7)" "$(rs 6 53)" 3
xl_extlbd_reload
held 12 /tmp/held2.out &
h2=$!
xl_wait_for -t 10 sh -c "ipvsadm -Ln -t $VIP:8000 | grep -q ' 1 *[0-9]* *$'"
victim=$(ipvsadm -Ln -t "$VIP:8000" | awk '$1 == "->" && $5 == 1 { print $2 }')
vn=${victim%:80}
vn=${vn##*.}
kn=$((13 - vn)) # the other of 6 and 7
keep=10.20.0.$kn:80
write_conf "$(rs "$kn")" "$(rs 6 53)" 3
xl_extlbd_reload
xl_check "drain_timeout passed: deleted with its connection still open" xl_wait_for -t 15 sh -c \
    "! ipvsadm -Ln -t $VIP:8000 | grep -q $victim"
xl_check "timeout logged" grep -q "real server $victim of \"web\" (.*): drain_timeout passed with 1 active" "$XL_EXTLBD_LOG"
kill "$h2" 2>/dev/null
wait "$h2" 2>/dev/null

# drift: the table is changed behind extlbd's back
expected=$(xl_ipvs_table)
ipvsadm -C
xl_check "ipvsadm -C: table restored within resync_interval" xl_wait_for -t 20 sh -c \
    "[ \"\$(ipvsadm -Ln | grep -c -- '->  *10')\" = 2 ]"
xl_assert_eq "restored table equals the configured one" "$expected" "$(xl_ipvs_table)"
ipvsadm -e -t "$VIP:8000" -r "$keep" -m -w 9
ipvsadm -d -u "$VIP:5353" -r 10.20.0.6:53
xl_check "edited weight and deleted server restored" xl_wait_for -t 20 sh -c \
    "[ \"\$(ipvsadm -Ln | grep -c ' Masq  *1 ')\" = 2 ]"
xl_check "the corrections are logged" grep -q 'resync: 2 ops applied' "$XL_EXTLBD_LOG"
xl_extlbd_stop TERM
xl_summary
