# shellcheck shell=dash
# Every feature of tests/vm/conf/features.conf reaches the kernel as configured, read back
# with ipvsadm (the real peer, not extlbd's own dump): IPv6, UDP, one-packet scheduling,
# SCTP, thresholds, fwmark services (IPv4 and IPv6), scheduler flags, each forwarding
# method (nat, dr, tun with ipip/gue/gre and checksum flags, a mixed-family tunnel pool),
# persistence with a v4 netmask and a v6 prefix. Real traffic goes through the IPv6 NAT,
# UDP, direct-routing and tunnel services.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

xl_topology_nat 192.168.10.100 3 fd00:100::100 >/dev/null
for v in 192.168.10.101 192.168.10.102 192.168.10.103 192.168.10.104 192.168.10.105 \
    192.168.10.106 fd00:100::105; do
    xl_vip "$v"
done
i=1
while [ "$i" -le 3 ]; do
    xl_udp_backend "backend$i" 53
    i=$((i + 1))
done
xl_backend_vip backend1 192.168.10.101 dr
xl_backend_vip backend2 192.168.10.101 dr
xl_backend_vip backend1 192.168.10.102 ipip
xl_backend_vip backend2 192.168.10.103 gue:6080

xl_check "extlbd starts" xl_extlbd_start /test/conf/features.conf
xl_assert_eq "start-up applied 33 ops, none failed" 1 \
    "$(xl_log_count 'start-up: 33 ops applied .*services \+13 .*real servers \+20 .*0 failed')"

# ipvsadm -S prints every attribute the kernel holds in ipvsadm's own syntax
xl_assert_eq "ipvsadm -Sn shows every configured attribute" "\
-A --sctp-service 192.168.10.100:3868 -s wlc
-A -f 7 -s wrr
-A -f 8 -6 -s sh -b sh-fallback,sh-port
-A -t 192.168.10.101:80 -s lc
-A -t 192.168.10.102:80 -s wlc
-A -t 192.168.10.103:80 -s wlc
-A -t 192.168.10.104:80 -s wlc
-A -t 192.168.10.105:443 -s wlc -p 300 -M 255.255.255.0
-A -t 192.168.10.106:80 -s mh -b mh-port
-A -t [fd00:100::100]:8000 -s rr
-A -t [fd00:100::105]:443 -s wlc -p 600 -M 64
-A -u 192.168.10.100:514 -s wlc -o
-A -u 192.168.10.100:5353 -s rr
-a --sctp-service 192.168.10.100:3868 -r 10.20.0.5:3868 -m -w 3
-a -f 7 -r 10.20.0.5:0 -m -w 2
-a -f 7 -r 10.20.0.6:8080 -m -w 1
-a -f 8 -6 -r [fd00:20::5]:0 -m -w 1
-a -t 192.168.10.101:80 -r 10.20.0.5:80 -g -w 1
-a -t 192.168.10.101:80 -r 10.20.0.6:80 -g -w 1
-a -t 192.168.10.102:80 -r 10.20.0.5:80 -i -w 1 --tun-type ipip
-a -t 192.168.10.103:80 -r 10.20.0.6:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 192.168.10.104:80 -r 10.20.0.7:80 -i -w 1 --tun-type gre --tun-csum
-a -t 192.168.10.104:80 -r [fd00:20::7]:80 -i -w 1 --tun-type gre --tun-csum
-a -t 192.168.10.105:443 -r 10.20.0.5:443 -m -w 1
-a -t 192.168.10.106:80 -r 10.20.0.5:80 -m -w 1
-a -t [fd00:100::100]:8000 -r [fd00:20::5]:80 -m -w 1
-a -t [fd00:100::100]:8000 -r [fd00:20::6]:80 -m -w 1
-a -t [fd00:100::100]:8000 -r [fd00:20::7]:80 -m -w 1
-a -t [fd00:100::105]:443 -r [fd00:20::5]:443 -m -w 1
-a -u 192.168.10.100:514 -r 10.20.0.5:514 -m -w 1
-a -u 192.168.10.100:5353 -r 10.20.0.5:53 -m -w 1
-a -u 192.168.10.100:5353 -r 10.20.0.6:53 -m -w 1
-a -u 192.168.10.100:5353 -r 10.20.0.7:53 -m -w 1" "$(ipvsadm -Sn | LC_ALL=C sort)"
xl_assert_eq "SCTP real server thresholds" "100 50" \
    "$(ipvsadm -Ln --thresholds --sctp-service 192.168.10.100:3868 | awk '$1 == "->" && $3 ~ /^[0-9]/ { print $3, $4 }')"

xl_assert_eq "IPv6 NAT rr: each backend twice in 6 requests" "2 2 2" \
    "$(xl_requests 6 client fd00:100::100 8000 | sort | uniq -c | awk '{ printf "%s%s", s, $1; s = " " }')"
: >/tmp/udp
for q in a b c; do xl_udp_get client 192.168.10.100 5353 "$q" >>/tmp/udp 2>/dev/null || echo FAIL >>/tmp/udp; done
xl_assert_eq "UDP rr: three datagrams, three backends" "backend1 backend2 backend3" \
    "$(sort /tmp/udp | tr '\n' ' ' | sed 's/ $//')"
xl_assert_eq "direct routing: both real servers answer" "backend1 backend2" \
    "$(xl_requests 4 client 192.168.10.101 80 | sort -u | tr '\n' ' ' | sed 's/ $//')"
xl_assert_eq "ipip tunnel" backend1 "$(xl_requests 1 client 192.168.10.102 80)"
xl_assert_eq "gue tunnel" backend2 "$(xl_requests 1 client 192.168.10.103 80)"

xl_extlbd_stop TERM
xl_assert_eq "stop: exit 0" 0 "$XL_EXTLBD_STATUS"
xl_summary
