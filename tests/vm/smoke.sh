# shellcheck shell=dash
# Smoke test of the VM harness itself (no extlbd): builds a client and three dual-stack web
# backends with guest-lib.sh, programs IPVS with ipvsadm directly and checks real traffic:
#   - TCP rr NAT service 192.168.10.100:8000 -> backend1..3 :80; 6 requests from the client
#     must be answered twice by each backend;
#   - the same over IPv6 ([fd00:100::100]:8000 -> [fd00:20::5..7]:80);
#   - a UDP rr NAT service 192.168.10.100:5353 -> socat responders on :53;
#   - xl_ipvs_table gives the normalised, sorted table.
# Run on the host: scripts/vm-run tests/vm/smoke.sh
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
VIP6=fd00:100::100
PORT=8000

xl_log "kernel $(uname -r), $(ipvsadm --version 2>&1 | head -n 1)"
xl_topology_nat "$VIP" 3 "$VIP6"
xl_ok "topology: client, 3 backends, VIPs"

# The client reaches a backend directly through the director (routing sanity).
xl_assert_eq "client -> backend1 direct" backend1 \
    "$(xl_http_get client "$(xl_backend_addr 1)" 80)"

# rr_check LABEL VIP: program an rr NAT service on VIP:PORT and do 6 requests.
rr_check() {
    local label="$1" vip="$2" i addr out="/tmp/rr.$1" hp
    hp=$(xl_hostport "$vip" "$PORT")
    ipvsadm -A -t "$hp" -s rr
    i=1
    while [ "$i" -le 3 ]; do
        if [ "$label" = ipv6 ]; then addr=$(xl_backend_addr6 "$i"); else addr=$(xl_backend_addr "$i"); fi
        ipvsadm -a -t "$hp" -r "$(xl_hostport "$addr" 80)" -m
        i=$((i + 1))
    done
    : >"$out"
    i=1
    while [ "$i" -le 6 ]; do
        xl_http_get client "$vip" "$PORT" >>"$out" || echo "request $i failed" >>"$out"
        i=$((i + 1))
    done
    xl_log "$label answers: $(tr '\n' ' ' <"$out")"
    for b in backend1 backend2 backend3; do
        xl_assert_eq "$label rr: $b answered twice" 2 "$(grep -c "^$b\$" "$out")"
    done
}

rr_check ipv4 "$VIP"
rr_check ipv6 "$VIP6"

# UDP: socat responders on the backends, rr NAT service on the VIP.
i=1
while [ "$i" -le 3 ]; do
    xl_udp_backend "backend$i" 53
    i=$((i + 1))
done
ipvsadm -A -u "$VIP:5353" -s rr
i=1
while [ "$i" -le 3 ]; do
    ipvsadm -a -u "$VIP:5353" -r "$(xl_backend_addr "$i"):53" -m
    i=$((i + 1))
done
: >/tmp/udp.out
i=1
while [ "$i" -le 3 ]; do
    xl_udp_get client "$VIP" 5353 "req$i" >>/tmp/udp.out || echo "udp request $i failed" >>/tmp/udp.out
    i=$((i + 1))
done
xl_log "udp answers: $(tr '\n' ' ' </tmp/udp.out)"
xl_assert_eq "udp rr: three distinct backends" \
    "backend1 backend2 backend3" "$(sort /tmp/udp.out | tr '\n' ' ' | sed 's/ $//')"

ipvsadm -Ln
expected="TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1
  -> 10.20.0.7:80 Masq 1
TCP [fd00:100::100]:8000 rr
  -> [fd00:20::5]:80 Masq 1
  -> [fd00:20::6]:80 Masq 1
  -> [fd00:20::7]:80 Masq 1
UDP 192.168.10.100:5353 rr
  -> 10.20.0.5:53 Masq 1
  -> 10.20.0.6:53 Masq 1
  -> 10.20.0.7:53 Masq 1"
xl_assert_eq "xl_ipvs_table" "$expected" "$(xl_ipvs_table)"

xl_summary
