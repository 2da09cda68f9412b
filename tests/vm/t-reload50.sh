# shellcheck shell=dash
# 50 reloads in a row, alternating two files that add and remove services and real servers,
# while a client keeps sending requests through a service both files leave unchanged: no
# request fails, and after every reload ipvsadm shows exactly the table of the file loaded.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 3 >/dev/null
steady='{ name = "steady"; vip = "192.168.10.100"; port = 8000; scheduler = "rr";
    real_servers = ( { address = "10.20.0.5"; port = 80; }, { address = "10.20.0.6"; port = 80; } ); }'
head='global: { drain_timeout = 0; check = { type = "none"; }; };'
cat >/tmp/a.conf <<CONF
$head
virtual_services = ( $steady,
  { name = "x1"; vip = "192.168.10.100"; port = 8001;
    real_servers = ( { address = "10.20.0.5"; port = 80; }, { address = "10.20.0.6"; port = 80; } ); },
  { name = "x2"; vip = "192.168.10.100"; port = 8002; protocol = "udp";
    real_servers = ( { address = "10.20.0.7"; port = 53; } ); } );
CONF
cat >/tmp/b.conf <<CONF
$head
virtual_services = ( $steady,
  { name = "x1"; vip = "192.168.10.100"; port = 8001; scheduler = "sh";
    real_servers = ( { address = "10.20.0.5"; port = 80; weight = 2; } ); },
  { name = "x3"; vip = "192.168.10.100"; port = 8003; persistence_timeout = 60;
    real_servers = ( { address = "10.20.0.6"; port = 80; }, { address = "10.20.0.7"; port = 80; } ); } );
CONF
table_a="TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1
TCP 192.168.10.100:8001 wlc
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1
UDP 192.168.10.100:8002 wlc
  -> 10.20.0.7:53 Masq 1"
table_b="TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1
TCP 192.168.10.100:8001 sh
  -> 10.20.0.5:80 Masq 2
TCP 192.168.10.100:8003 wlc persistent 60
  -> 10.20.0.6:80 Masq 1
  -> 10.20.0.7:80 Masq 1"

cp /tmp/a.conf /tmp/extlb.conf
xl_check "extlbd starts" xl_extlbd_start /tmp/extlb.conf
xl_assert_eq "table A" "$table_a" "$(xl_ipvs_table)"
mark=$(xl_log_lines)

: >/tmp/flow.out
(while [ ! -e /tmp/flow.stop ]; do xl_http_get client "$VIP" 8000 || echo FAIL; echo; done) >>/tmp/flow.out 2>&1 &
flow=$!

bad=0 i=1
while [ "$i" -le 50 ]; do
    if [ $((i % 2)) = 1 ]; then f=b; want="$table_b"; else f=a; want="$table_a"; fi
    cp "/tmp/$f.conf" /tmp/extlb.conf.new
    mv /tmp/extlb.conf.new /tmp/extlb.conf
    xl_extlbd_reload
    got=$(xl_ipvs_table)
    if [ "$got" != "$want" ]; then
        bad=$((bad + 1))
        echo "# reload $i ($f): table differs:"
        echo "$got" | sed 's/^/#   /'
    fi
    i=$((i + 1))
done
touch /tmp/flow.stop
wait "$flow"
xl_assert_eq "50 reloads: the table matched the file after each" 0 "$bad"
ok=$(grep -c '^backend' /tmp/flow.out)
xl_log "$ok requests during the reloads"
xl_check "requests flowed during the reloads ($ok)" [ "$ok" -ge 20 ]
xl_assert_eq "no request failed" 0 "$(grep -c FAIL /tmp/flow.out)"
xl_assert_eq "50 reload summaries logged, none failed" "50 0" \
    "$(xl_log_count 'reload: [0-9]+ ops applied') $(xl_log_count 'reload: .* [1-9][0-9]* failed')"
xl_assert_eq "the unchanged service was never written by a reload" 0 \
    "$(xl_log_since "$mark" | grep -c -E '(add|edit|delete)-[a-z]+ TCP 192.168.10.100:8000')"
xl_extlbd_stop TERM
xl_summary
