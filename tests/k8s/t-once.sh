#!/usr/bin/env bash
# t-once.sh - end-to-end test of `extlb-k8s --once` against the Kubernetes
# API server double (tests/k8s/apiserver.py): HTTPS with its test CA, a
# bearer token, the seed fixtures loaded through its control CLI.  Checks
# the written file in full, the Service's status, that extlbd -t accepts
# the file, that an unchanged cluster writes and reloads nothing, that
# failures leave the file alone, and the trust boundary (issue 13): VIPs,
# endpoints, port clashes, caps and source ranges a tenant may not have
# are refused, with the Events read back from the double; and, in the last
# section, dual-stack Services (a VIP per family, or pending).
#
# Usage: tests/k8s/t-once.sh [BUILDDIR]  (default: $XL_BUILDDIR, else build;
#        make check sets XL_BUILDDIR)
#   extlb-k8s is $EXTLB_K8S, else BUILDDIR/extlb-k8s, else compiled here
#   from src/k8s; extlbd is BUILDDIR/extlbd (its checks are skipped
#   without it).  Ends with "N passed, N failed[, N skipped]"; exits 1 if
#   anything failed.
set -uo pipefail

# shellcheck source=tests/k8s/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

tmp="$(mktemp -d /tmp/t-once.XXXXXX)"
api="$tmp/api" out="$tmp/extlb.d" conf="$out/kubernetes.conf"
apipid=""
cleanup() {
    [[ -n "${hup_pid:-}" ]] && kill "$hup_pid" 2>/dev/null
    [[ -n "${tls_pid:-}" ]] && kill "$tls_pid" 2>/dev/null
    stop_pid "$apipid"
    rm -rf "$tmp"
}
trap cleanup EXIT
k8s_test_setup

api_start

# extlb-k8s --once with the test's defaults, then any arguments
once() {
    "$bin" --once --kubeconfig "$api/kubeconfig" \
        --vip-pool 192.0.2.100-192.0.2.110 --output "$conf" "$@" 2>>"$tmp/k8s.log"
}
header='# Written by extlb-k8s from the Kubernetes API: do not edit,
# it is rewritten whenever the cluster changes.'

# ---- the seed: ext-tcp-lb, port 8000 -> manual Endpoints 192.0.2.10:80 ----
ctl apply "$fixtures/service-ext-tcp-lb.json" "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null
cat >"$tmp/seed.conf" <<EOT
$header
virtual_services = (
  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.100";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; }
    );
  }
);
EOT
# the fixture has no spec.loadBalancerClass: it is ours with --default-class
if once --default-class; then ok "seed: exit 0"; else bad "seed: exit 0"; fi
same_file "seed: the file in full" "$tmp/seed.conf"
ips="$(status_ips default ext-tcp-lb)"
if [[ "$ips" == "192.0.2.100" ]]; then ok "seed: the status shows the VIP"
else bad "seed: the status shows the VIP (got '$ips')"; fi
extlbd_accepts "seed: extlbd -t accepts the file" 1
allocated="$(events_of default ext-tcp-lb IPAllocated Normal)"
if [[ "$allocated" == "VIP 192.0.2.100 assigned (ipMode Proxy)" ]]; then
    ok "seed: a Normal IPAllocated Event"
else
    bad "seed: a Normal IPAllocated Event (got '$allocated')"
fi
modes="$(status_modes default ext-tcp-lb)"
if [[ "$modes" == Proxy ]]; then ok "seed: ipMode Proxy for a nat Service"
else bad "seed: ipMode Proxy for a nat Service (got '$modes')"; fi

# ---- nothing changed: no write, no reload, no PATCH ----
before="$(stat -c '%i %Y.%y' "$conf")"
ctl clear-requests >/dev/null
once --default-class --reload-command "touch '$tmp/reloaded'"
after="$(stat -c '%i %Y.%y' "$conf")"
patches="$(ctl requests | grep -c '"method": "PATCH"')"
if [[ "$before" == "$after" && ! -e "$tmp/reloaded" && "$patches" == 0 ]]; then
    ok "unchanged: no write, no reload, no status PATCH"
else
    bad "unchanged: no write, no reload, no status PATCH ($before / $after, reloaded: $([[ -e $tmp/reloaded ]] && echo yes || echo no), patches: $patches)"
fi
n="$(events_of default ext-tcp-lb IPAllocated Normal | wc -l)"
if [[ "$n" == 1 ]]; then ok "unchanged: no second IPAllocated Event"
else bad "unchanged: no second IPAllocated Event (got $n)"; fi
dotfiles=("$out"/.[!.]*)
if [[ ! -e "${dotfiles[0]}" ]]; then ok "no temp file left beside the output"
else bad "no temp file left beside the output: ${dotfiles[*]}"; fi

# ---- a change: rewritten, reload command run ----
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.11"}, {"ip": "192.0.2.10"}],
              "notReadyAddresses": [{"ip": "192.0.2.12"}],
              "ports": [{"port": 80, "protocol": "TCP"}]}]}
EOT
once --default-class --reload-command "touch '$tmp/reloaded'"
if [[ -e "$tmp/reloaded" ]] && grep -q '192.0.2.11' "$conf" && ! grep -q '192.0.2.12' "$conf"; then
    ok "change: file rewritten (not-ready address left out), reload command run"
else
    bad "change: file rewritten (not-ready address left out), reload command run"
fi

# ---- --pidfile: SIGHUP after a change ----
bash -c "trap 'echo hup >>\"$tmp/hup\"' HUP; while :; do sleep 0.1; done" &
hup_pid=$!
echo "$hup_pid" >"$tmp/extlbd.pid"
sleep 0.3
ctl apply "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null
once --default-class --pidfile "$tmp/extlbd.pid"
for _ in $(seq 20); do [[ -s "$tmp/hup" ]] && break; sleep 0.1; done
if [[ -s "$tmp/hup" ]]; then ok "pidfile: SIGHUP after a change"; else bad "pidfile: SIGHUP after a change"; fi
same_file "pidfile: back to the seed file" "$tmp/seed.conf"

# ---- not our class ----
cp "$conf" "$tmp/saved.conf"
once
printf '%s\nvirtual_services = ( );\n' "$header" >"$tmp/empty.conf"
same_file "no --default-class: a Service without a class is not ours" "$tmp/empty.conf"
extlbd_accepts "extlbd -t accepts the empty list" 0
once --default-class

# ---- failures change nothing ----
cp "$conf" "$tmp/saved.conf"
sed 's/token: .*/token: "wrong"/' "$api/kubeconfig" >"$tmp/wrong-token.kc"
"$bin" --once --kubeconfig "$tmp/wrong-token.kc" --default-class \
    --output "$conf" 2>"$tmp/err.log"
rc=$?
if [[ $rc == 1 ]] && cmp -s "$conf" "$tmp/saved.conf" && grep -q 'HTTP 401' "$tmp/err.log" &&
        ! grep -q 'extlb-test-token\|wrong"' "$tmp/err.log"; then
    ok "wrong token: exit 1, file untouched, token not logged"
else
    bad "wrong token: exit 1, file untouched, token not logged (exit $rc)"; cat "$tmp/err.log"
fi
ctl fail count=1 code=500 path=/apis/discovery.k8s.io/v1/endpointslices >/dev/null
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"}, "subsets": []}
EOT
once --default-class
rc=$?
if [[ $rc == 1 ]] && cmp -s "$conf" "$tmp/saved.conf"; then
    ok "a LIST that fails half way: exit 1, file untouched"
else
    bad "a LIST that fails half way: exit 1, file untouched (exit $rc)"
fi
ctl clear-faults >/dev/null
ctl apply "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null
"$bin" --once --kubeconfig "$api/kubeconfig" --default-class --output /nonexistent/dir/k.conf 2>"$tmp/err.log"
rc=$?
if [[ $rc == 1 ]] && grep -q 'does the directory exist' "$tmp/err.log"; then
    ok "missing output directory: exit 1 with a reason"
else
    bad "missing output directory: exit 1 with a reason (exit $rc)"; cat "$tmp/err.log"
fi

# ---- other kubeconfig forms ----
for kc in kubeconfig-data kubeconfig-tokenfile; do
    if "$bin" --once --kubeconfig "$api/$kc" --default-class \
            --vip-pool 192.0.2.100-192.0.2.110 --output "$conf" 2>>"$tmp/k8s.log" &&
            cmp -s "$conf" "$tmp/seed.conf"; then
        ok "$kc: same file"
    else
        bad "$kc: same file"
    fi
done
if KUBECONFIG="$api/kubeconfig" "$bin" --once --default-class \
        --vip-pool 192.0.2.100-192.0.2.110 --output "$conf" 2>>"$tmp/k8s.log"; then
    ok "\$KUBECONFIG is read"
else
    bad "\$KUBECONFIG is read"
fi

# ---- web: named ports, a terminating and a not-ready endpoint, IPv6 slice ----
ctl apply "$fixtures/service-web.json" "$fixtures/endpointslice-web-ipv4.json" \
    "$fixtures/endpointslice-web-ipv6.json" >/dev/null
cat >"$tmp/web.conf" <<EOT
$header
virtual_services = (
  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.100";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; }
    );
  },
  {
    name = "shop/web:http";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8080; weight = 1; }
    );
  },
  {
    name = "shop/web:https";
    vip = "192.0.2.101";
    port = 443;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8443; weight = 1; }
    );
  }
);
EOT
once --default-class
same_file "web: named ports, terminating beside a ready one and not-ready left out" "$tmp/web.conf"
extlbd_accepts "web: extlbd -t accepts the file" 3
ips="$(status_ips shop web)"
if [[ "$ips" == "192.0.2.101" ]]; then ok "web: the status shows the VIP"
else bad "web: the status shows the VIP (got '$ips')"; fi

# ---- endpoint conditions: no ready endpoint, the terminating stand in ----
# 198.51.100.11 terminating too: the two serving-and-terminating take the
# traffic at weight 1 (an absent serving reads as true); the not-serving
# .13 never does; only addresses[0] of an endpoint counts
ctl get endpointslices shop web-x7m2p | python3 -c 'import json, sys
o = json.load(sys.stdin)
o["endpoints"][0]["conditions"] = {"ready": False, "terminating": True}
o["endpoints"][1]["addresses"].append("198.51.100.99")
json.dump(o, sys.stdout)' | ctl apply - >/dev/null
once --default-class
if grep -A7 'name = "shop/web:http"' "$conf" | grep -q '"198.51.100.11"; port = 8080; weight = 1' &&
        grep -A7 'name = "shop/web:http"' "$conf" | grep -q '"198.51.100.12"; port = 8080; weight = 1' &&
        ! grep -q '198.51.100.13\|198.51.100.99' "$conf"; then
    ok "conditions: no ready endpoint, the serving-and-terminating take the traffic"
else
    bad "conditions: no ready endpoint, the serving-and-terminating take the traffic"; cat "$conf"
fi
extlbd_accepts "conditions: extlbd -t accepts the file" 3
ctl apply "$fixtures/endpointslice-web-ipv4.json" >/dev/null
once --default-class
same_file "conditions: a ready endpoint back, the terminating leave" "$tmp/web.conf"

# ---- ipMode: VIP for dr, --ip-mode overrides, an absent one reads VIP ----
"$bin" --once --kubeconfig "$api/kubeconfig" --ip-mode direct --output "$conf" 2>"$tmp/err.log"
rc=$?
if [[ $rc == 2 ]] && grep -q -- '--ip-mode "direct" is not vip or proxy' "$tmp/err.log"; then
    ok "--ip-mode direct: exit 2 with a reason"
else
    bad "--ip-mode direct: exit 2 with a reason (exit $rc)"; cat "$tmp/err.log"
fi
ctl get services shop web | python3 -c 'import json, sys
o = json.load(sys.stdin)
o["metadata"].setdefault("annotations", {})["extlb.io/forward"] = "dr"
json.dump(o, sys.stdout)' | ctl apply - >/dev/null
once --default-class
if [[ "$(status_modes shop web)" == VIP && "$(status_ips shop web)" == 192.0.2.101 ]]; then
    ok "ipMode: VIP for a dr Service"
else
    bad "ipMode: VIP for a dr Service (got '$(status_modes shop web)')"
fi
ctl clear-requests >/dev/null
once --default-class --ip-mode vip
if [[ "$(status_modes default ext-tcp-lb)" == VIP &&
        "$(ctl requests | grep -c '"method": "PATCH"')" == 1 ]]; then
    ok "--ip-mode vip: the nat Service's status PATCHed once, to VIP"
else
    bad "--ip-mode vip: the nat Service's status PATCHed once, to VIP"
fi
# a status without ipMode, on a server that does not default it: read as
# VIP, so not PATCHed again for --ip-mode vip; PATCHed for proxy
ctl set ipModeDefault=false >/dev/null
ctl get services default ext-tcp-lb | python3 -c 'import json, sys
o = json.load(sys.stdin)
o["status"]["loadBalancer"]["ingress"] = [{"ip": "192.0.2.100"}]
json.dump(o, sys.stdout)' | ctl apply - >/dev/null
ctl clear-requests >/dev/null
once --default-class --ip-mode vip
if [[ "$(status_modes default ext-tcp-lb)" == - &&
        "$(ctl requests | grep -c '"method": "PATCH"')" == 0 ]]; then
    ok "--no-ipmode-default: an absent ipMode reads as VIP, no PATCH"
else
    bad "--no-ipmode-default: an absent ipMode reads as VIP, no PATCH"
fi
once --default-class --ip-mode proxy
if [[ "$(status_modes default ext-tcp-lb)" == Proxy ]]; then ok "--ip-mode proxy: PATCHed to Proxy"
else bad "--ip-mode proxy: PATCHed to Proxy (got '$(status_modes default ext-tcp-lb)')"; fi
ctl set ipModeDefault=true >/dev/null
ctl apply "$fixtures/service-web.json" >/dev/null
once --default-class
ctl clear-requests >/dev/null
once --default-class
if [[ "$(status_modes shop web)" == Proxy &&
        "$(ctl requests | grep -c '"method": "PATCH"')" == 0 ]]; then
    ok "ipMode: back to nat, Proxy; a status already right is not PATCHed"
else
    bad "ipMode: back to nat, Proxy; a status already right is not PATCHed"
fi

# ---- VIPs are stable: a wider pool moves nobody ----
"$bin" --once --kubeconfig "$api/kubeconfig" --default-class \
    --vip-pool 192.0.2.1-192.0.2.200 --output "$conf" 2>>"$tmp/k8s.log"
same_file "VIPs recovered from status when the pool changes" "$tmp/web.conf"

# ---- --namespace ----
"$bin" --once --kubeconfig "$api/kubeconfig" --default-class --namespace shop \
    --vip-pool 192.0.2.100-192.0.2.110 --output "$out/shop.conf" 2>>"$tmp/k8s.log"
if grep -q 'shop/web:http' "$out/shop.conf" && ! grep -q 'ext-tcp-lb' "$out/shop.conf"; then
    ok "--namespace shop: only that namespace"
else
    bad "--namespace shop: only that namespace"
fi
rm -f "$out/shop.conf"

# ---- the trust boundary (issue 13): what a tenant may not ask for ----
# whether the file names a Service, or an address
in_file() { grep -q -- "$1" "$conf"; }
# CHECK-NAME NS NAME REASON PATTERN: one Event or more, its message matching
event_says() {
    local msgs
    msgs="$(events_of "$2" "$3" "$4")"
    if [[ -n "$msgs" ]] && grep -q -- "$5" <<<"$msgs"; then ok "$1"
    else bad "$1 (Events: '$msgs')"; fi
}
# CHECK-NAME NS NAME: the status shows no address
no_ingress() {
    local ips
    ips="$(status_ips "$2" "$3")"
    if [[ -z "$ips" ]]; then ok "$1"; else bad "$1 (got '$ips')"; fi
}
# An explicit VIP on loopback, port 22: pending, an Event, not in the file
lb_service ssh-steal '[{"port": 22}]' '{"extlb.io/vip": "127.0.0.1"}' | ctl apply - >/dev/null
# a link-local endpoint (the cloud's metadata service) beside a good one
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "169.254.169.254"}],
              "ports": [{"port": 80, "protocol": "TCP"}]}]}
EOT
# source ranges: enforced by extlbd (allowed_sources); one that is not a range
lb_service ranged '[{"port": 443}]' '{}' '{"loadBalancerSourceRanges": ["10.1.0.0/8", "198.51.100.7"]}' |
    ctl apply - >/dev/null
lb_service badrange '[{"port": 444}]' \
    '{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, 10.0.0.0/33"}' |
    ctl apply - >/dev/null
# more ports than --max-ports-per-service 2
lb_service wide '[{"name": "a", "port": 1}, {"name": "b", "port": 2}, {"name": "c", "port": 3}]' |
    ctl apply - >/dev/null
# the holder of a shared VIP's port 53/udp, served first
lb_service z-dns '[{"port": 53, "protocol": "UDP"}]' '{"extlb.io/allow-shared-vip": "dns"}' |
    ctl apply - >/dev/null
once --default-class --max-ports-per-service 2
z_vip="$(status_ips default z-dns)"
# a newcomer on the same key and port, first by name
lb_service a-dns '[{"port": 53, "protocol": "UDP"}]' '{"extlb.io/allow-shared-vip": "dns"}' |
    ctl apply - >/dev/null
once --default-class --max-ports-per-service 2
no_ingress "VIP 127.0.0.1: the Service stays pending" default ssh-steal
event_says "VIP 127.0.0.1: a VIPRefused Event says why" default ssh-steal VIPRefused \
    '127.0.0.1 is a loopback address (only --allow-vip can allow it)'
if ! in_file ssh-steal && ! in_file '"127.0.0.1"'; then ok "VIP 127.0.0.1: not in the file"
else bad "VIP 127.0.0.1: not in the file"; fi
if in_file '"192.0.2.10"' && ! in_file 169.254; then ok "endpoint 169.254.169.254: left out, the other kept"
else bad "endpoint 169.254.169.254: left out, the other kept"; fi
event_says "endpoint 169.254.169.254: a BackendRefused Event names it" default ext-tcp-lb \
    BackendRefused '169.254.169.254 is a link-local address'
if grep -q 'ext-tcp-lb (BackendRefused): 1 endpoint(s) left out: 169.254.169.254' "$tmp/k8s.log"
then ok "endpoint 169.254.169.254: logged"; else bad "endpoint 169.254.169.254: logged"; fi
if [[ -n "$(status_ips default ranged)" ]] &&
        grep -A4 'default/ranged:443' "$conf" |
        grep -q 'allowed_sources = \[ "10.0.0.0/8", "198.51.100.7/32" \];'; then
    ok "source ranges: served, with allowed_sources"
else
    bad "source ranges: served, with allowed_sources"
fi
no_ingress "source ranges: one that is not a range keeps the Service pending" default badrange
event_says "source ranges: an InvalidSourceRange Event names it" default badrange \
    InvalidSourceRange '"10.0.0.0/33" is not an address range'
if ! in_file default/badrange; then ok "source ranges: the refused Service is not in the file"
else bad "source ranges: the refused Service is not in the file"; fi
no_ingress "--max-ports-per-service 2: a 3-port Service stays pending" default wide
event_says "--max-ports-per-service 2: a TooManyPorts Event" default wide TooManyPorts \
    '3 ports, more than --max-ports-per-service 2'
if ! in_file default/wide; then ok "--max-ports-per-service 2: none of its ports written"
else bad "--max-ports-per-service 2: none of its ports written"; fi
if [[ -n "$z_vip" && "$(status_ips default z-dns)" == "$z_vip" ]] &&
        in_file 'default/z-dns:53' && ! in_file 'default/a-dns'; then
    ok "port clash on a shared VIP: the holder keeps port 53/udp"
else
    bad "port clash on a shared VIP: the holder keeps port 53/udp (z-dns: '$z_vip')"
fi
no_ingress "port clash: the newcomer stays pending" default a-dns
event_says "port clash: a PortConflict Event names the holder" default a-dns PortConflict \
    "$z_vip port 53/udp is served by default/z-dns already"
extlbd_accepts "trust boundary: extlbd -t accepts the file" 5
# A served Service whose VIP becomes refused: its status is cleared.
edit_ann() { # NAME VIP
    ctl get services default "$1" | python3 -c 'import json, sys
o = json.load(sys.stdin)
o["metadata"].setdefault("annotations", {})["extlb.io/vip"] = sys.argv[1]
json.dump(o, sys.stdout)' "$2" | ctl apply - >/dev/null
}
edit_ann z-dns 224.0.0.251
once --default-class --max-ports-per-service 2
no_ingress "VIP turned multicast: the served status is cleared" default z-dns
event_says "VIP turned multicast: a VIPRefused Event" default z-dns VIPRefused \
    '224.0.0.251 is a multicast address'
# now the newcomer may have the port
if [[ -n "$(status_ips default a-dns)" ]] && in_file 'default/a-dns:53'; then
    ok "the holder gone: the newcomer gets the port"
else
    bad "the holder gone: the newcomer gets the port"
fi
# --allow-vip names the address: served on it
"$bin" --once --kubeconfig "$api/kubeconfig" --default-class --max-ports-per-service 2 \
    --vip-pool 192.0.2.100-192.0.2.110 --allow-vip 127.0.0.1 --output "$conf" 2>>"$tmp/k8s.log"
if [[ "$(status_ips default ssh-steal)" == 127.0.0.1 ]] && in_file 'default/ssh-steal:22'; then
    ok "--allow-vip 127.0.0.1: the operator's choice is served"
else
    bad "--allow-vip 127.0.0.1: the operator's choice is served"
fi
# An address of this host (not on extlbd's VIP interface) as an explicit
# VIP: refused, even inside --vip-pool; the same address on the interface
# named by --vip-interface is one of extlbd's VIPs, not the host's.
read -r hostif hostaddr < <(ip -o -4 addr show scope global 2>/dev/null |
    awk '{ sub("/.*", "", $4); print $2, $4; exit }')
if [[ -z "${hostaddr:-}" ]]; then
    skip "a host address as VIP (no global IPv4 address here)"
else
    lb_service mine '[{"port": 22}]' "{\"extlb.io/vip\": \"$hostaddr\"}" | ctl apply - >/dev/null
    "$bin" --once --kubeconfig "$api/kubeconfig" --default-class --vip-pool "$hostaddr" \
        --output "$conf" 2>>"$tmp/k8s.log"
    if [[ -z "$(status_ips default mine)" ]] && ! in_file default/mine; then
        ok "host address $hostaddr as VIP: refused, even inside --vip-pool"
    else
        bad "host address $hostaddr as VIP: refused, even inside --vip-pool"
    fi
    event_says "host address as VIP: a VIPRefused Event" default mine VIPRefused \
        "$hostaddr is an address of the load balancer's host"
    "$bin" --once --kubeconfig "$api/kubeconfig" --default-class --vip-pool "$hostaddr" \
        --vip-interface "$hostif" --output "$conf" 2>>"$tmp/k8s.log"
    if [[ "$(status_ips default mine)" == "$hostaddr" ]] && in_file default/mine; then
        ok "--vip-interface $hostif: its address is a VIP, not the host's"
    else
        bad "--vip-interface $hostif: its address is a VIP, not the host's"
    fi
    ctl delete services default mine >/dev/null
fi
for s in ssh-steal ranged badrange wide z-dns a-dns; do ctl delete services default "$s" >/dev/null; done
ctl apply "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null
# The caps: a newcomer cannot push out a Service that is served.
lb_service newer '[{"port": 9000}]' | ctl apply - >/dev/null
once --default-class --max-services-per-namespace 1
no_ingress "--max-services-per-namespace 1: a newcomer in default stays pending" default newer
event_says "--max-services-per-namespace 1: a NamespaceLimit Event" default newer NamespaceLimit \
    'namespace default already has 1 Services served'
if [[ "$(status_ips default ext-tcp-lb)" == 192.0.2.100 ]] && in_file 'default/ext-tcp-lb:8000' &&
        ! in_file default/newer; then
    ok "--max-services-per-namespace 1: the Service served before keeps its place"
else
    bad "--max-services-per-namespace 1: the Service served before keeps its place"
fi
once --default-class --max-services 3
no_ingress "--max-services 3: a fourth virtual service stays out" default newer
event_says "--max-services 3: a ServiceLimit Event" default newer ServiceLimit \
    'past --max-services 3 (3 in use)'
extlbd_accepts "--max-services 3: extlbd -t accepts the 3 served" 3
once --default-class
if [[ -n "$(status_ips default newer)" ]] && in_file 'default/newer:9000'; then
    ok "default caps: the newcomer is served"
else
    bad "default caps: the newcomer is served"
fi
ctl delete services default newer >/dev/null

# ---- the check follows the port; the check annotations, validated ----
lb_service checked '[{"name": "web", "port": 8080, "appProtocol": "https"},
                     {"name": "dns", "port": 5353, "protocol": "UDP"}]' \
    '{"extlb.io/check-interval": "5", "extlb.io/check-timeout": "0.5",
      "extlb.io/check-rise": "1", "extlb.io/check-fall": "4",
      "extlb.io/check-port": "8443", "extlb.io/check-path": "/ready",
      "extlb.io/check-status": "200-299, 301",
      "extlb.io/check-expect": "ok \"q\" \\ \u0001",
      "extlb.io/check": "script"}' | ctl apply - >/dev/null
once --default-class
if grep -A5 'name = "default/checked:web"' "$conf" | grep -qF \
        'check = { type = "https"; connect_port = 8443; interval = 5; timeout = 0.5; rise = 1; fall = 4; path = "/ready"; status = ( "200-299", "301" ); expect = "ok \"q\" \\ \x01"; };'
then ok "checks: appProtocol https and every check annotation written"
else bad "checks: appProtocol https and every check annotation written"; grep -A6 checked "$conf"; fi
if grep -A5 'name = "default/checked:dns"' "$conf" | grep -qF \
        'check = { type = "none"; connect_port = 8443; interval = 5; timeout = 0.5; rise = 1; fall = 4; };'
then ok "checks: the UDP port does not inherit a TCP check"
else bad "checks: the UDP port does not inherit a TCP check"; fi
event_says "checks: extlb.io/check script refused by an InvalidAnnotation Event" default checked \
    InvalidAnnotation 'extlb.io/check "script" is refused: a Service may not ask for a script check'
if ! grep -q script "$conf"; then ok "checks: no script check in the file"
else bad "checks: no script check in the file"; fi
extlbd_accepts "checks: extlbd -t accepts the check groups" 5
ctl delete services default checked >/dev/null
# --allow-backend: only web's network; ext-tcp-lb's endpoint is left out
once --default-class --allow-backend 198.51.100.0/24
if in_file '"198.51.100.11"' && ! in_file '"192.0.2.10"' && in_file 'default/ext-tcp-lb:8000'; then
    ok "--allow-backend 198.51.100.0/24: 192.0.2.10 left out, the Service still served"
else
    bad "--allow-backend 198.51.100.0/24: 192.0.2.10 left out, the Service still served"
fi
event_says "--allow-backend: a BackendRefused Event names the address" default ext-tcp-lb \
    BackendRefused '192.0.2.10 is in no --allow-backend range'
once --default-class

# ---- client certificates, from files and from -data ----
# The double authenticates by token only; openssl s_server, which demands a
# client certificate, shows whether the handshake passes (its answer is
# HTML, so "not JSON" means the certificate was sent and accepted).
tls="$tmp/tls"
mkdir -p "$tls"
(
    cd "$tls" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout ca.key -out ca.crt -subj /CN=t-once-ca -days 1
    for n in srv cli; do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout $n.key -out $n.csr -subj /CN=$n
    done
    printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
    openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out srv.crt -days 1 -extfile srv.ext
    openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out cli.crt -days 1
) >"$tmp/tls.log" 2>&1
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
openssl s_server -accept "127.0.0.1:$port" -cert "$tls/srv.crt" -key "$tls/srv.key" \
    -CAfile "$tls/ca.crt" -Verify 1 -verify_return_error -www >>"$tmp/tls.log" 2>&1 &
tls_pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
kubeconfig_tls() { # CLUSTER-LINE USER-LINE
    printf 'clusters:\n- name: c\n  cluster:\n    server: "https://127.0.0.1:%s"\n    %s\n' "$port" "$1"
    printf 'users:\n- name: u\n  user:\n    %s\n' "$2"
    printf 'contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n'
}
kubeconfig_tls "certificate-authority: ca.crt" \
    "{client-certificate: cli.crt, client-key: cli.key}" >"$tls/kc-file"
kubeconfig_tls "certificate-authority-data: $(base64 -w0 "$tls/ca.crt")" \
    "{client-certificate-data: $(base64 -w0 "$tls/cli.crt"), client-key-data: $(base64 -w0 "$tls/cli.key")}" \
    >"$tls/kc-data"
kubeconfig_tls "certificate-authority: ca.crt" "{}" >"$tls/kc-none"
for kc in kc-file kc-data; do
    "$bin" --once --kubeconfig "$tls/$kc" --output "$tls/x.conf" 2>"$tmp/err.log"
    if grep -q 'the answer is not JSON' "$tmp/err.log"; then
        ok "client certificate ($kc): accepted by a server that requires one"
    else
        bad "client certificate ($kc): accepted by a server that requires one"; cat "$tmp/err.log"
    fi
done
"$bin" --once --kubeconfig "$tls/kc-none" --output "$tls/x.conf" 2>"$tmp/err.log"
if grep -q 'certificate required' "$tmp/err.log"; then ok "no client certificate: refused"
else bad "no client certificate: refused"; cat "$tmp/err.log"; fi
kill "$tls_pid" 2>/dev/null
wait "$tls_pid" 2>/dev/null

# ---- dual-stack (issue 13): a VIP per family, or pending ----
# Kept apart from the rest: its Services come and go within this section.
pool6=(--vip-pool 2001:db8:100::10-2001:db8:100::20)
dual_slice() { # NAME SERVICE ADDRESS-TYPE ADDRESS
    printf '{"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
 "metadata": {"name": "%s", "namespace": "default",
              "labels": {"kubernetes.io/service-name": "%s"}},
 "addressType": "%s",
 "endpoints": [{"addresses": ["%s"], "conditions": {"ready": true}}],
 "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}\n' "$@"
}
# the real servers of the virtual service NAME in the file, one a line
reals_of() {
    awk -v n="    name = \"$1\";" '$0 == n { on = 1; next }
        on && /^  }/ { exit } on && /address =/ { print $4 }' "$conf" | tr -d '";'
}
lb_service dual '[{"name": "http", "port": 8080}]' '{}' \
    '{"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4", "IPv6"]}' | ctl apply - >/dev/null
dual_slice dual-4 dual IPv4 198.51.100.21 | ctl apply - >/dev/null
dual_slice dual-6 dual IPv6 2001:db8:200::21 | ctl apply - >/dev/null
once --default-class "${pool6[@]}"
read -r ip4 ip6 rest <<<"$(status_ips default dual)"
if [[ "$ip4" == 192.0.2.* && "$ip6" == 2001:db8:100::10 && -z "$rest" ]]; then
    ok "dual-stack: PreferDualStack gets an IPv4 and an IPv6 VIP, in ipFamilies order"
else
    bad "dual-stack: PreferDualStack gets an IPv4 and an IPv6 VIP (got '$ip4 $ip6 $rest')"
fi
if [[ "$(status_modes default dual)" == "Proxy Proxy" ]]; then
    ok "dual-stack: both status entries have ipMode Proxy"
else
    bad "dual-stack: both status entries have ipMode Proxy (got '$(status_modes default dual)')"
fi
if grep -A1 'name = "default/dual:http";' "$conf" | grep -qF "vip = \"$ip4\";" &&
        [[ "$(reals_of default/dual:http)" == 198.51.100.21 ]] &&
        grep -A1 'name = "default/dual:http/ipv6";' "$conf" | grep -qF 'vip = "2001:db8:100::10";' &&
        [[ "$(reals_of default/dual:http/ipv6)" == 2001:db8:200::21 ]]; then
    ok "dual-stack: a virtual service per family, each with its family's endpoint"
else
    bad "dual-stack: a virtual service per family, each with its family's endpoint"
    grep -A8 'default/dual' "$conf"
fi
extlbd_accepts "dual-stack: extlbd -t accepts the file" "$(grep -c '^    name = ' "$conf")"
allocated="$(events_of default dual IPAllocated Normal)"
if [[ "$allocated" == "VIPs $ip4 and 2001:db8:100::10 assigned (ipMode Proxy)" ]]; then
    ok "dual-stack: one IPAllocated Event names both VIPs"
else
    bad "dual-stack: one IPAllocated Event names both VIPs (got '$allocated')"
fi
ctl clear-requests >/dev/null
once --default-class "${pool6[@]}"
if [[ "$(status_ips default dual)" == "$ip4 2001:db8:100::10" &&
        "$(ctl requests | grep -c '"method": "PATCH"')" == 0 ]]; then
    ok "dual-stack: a second run keeps both VIPs and PATCHes nothing"
else
    bad "dual-stack: a second run keeps both VIPs and PATCHes nothing"
fi
# RequireDualStack with an IPv4 pool only: pending, its Event, no address;
# PreferDualStack falls back to IPv4 without a word
lb_service req '[{"name": "http", "port": 8081}]' '{}' \
    '{"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]}' | ctl apply - >/dev/null
once --default-class
no_ingress "dual-stack: RequireDualStack without an IPv6 pool has no address" default req
event_says "dual-stack: RequireDualStack without an IPv6 pool: a DualStackUnavailable Event" \
    default req DualStackUnavailable 'RequireDualStack, but there is no IPv6 VIP pool'
if ! in_file 'default/req:' && [[ "$(status_ips default dual)" == "$ip4" ]] &&
        in_file 'name = "default/dual:http";' && ! in_file 'default/dual:http/ipv6'; then
    ok "dual-stack: without an IPv6 pool, PreferDualStack keeps its IPv4 VIP only"
else
    bad "dual-stack: without an IPv6 pool, PreferDualStack keeps its IPv4 VIP only"
fi
if [[ -z "$(events_of default dual DualStackUnavailable)" ]]; then
    ok "dual-stack: PreferDualStack without an IPv6 pool gets no Warning"
else
    bad "dual-stack: PreferDualStack without an IPv6 pool gets no Warning"
fi
once --default-class "${pool6[@]}"
read -r ip4 ip6 rest <<<"$(status_ips default req)"
if [[ "$ip4" == 192.0.2.* && "$ip6" == 2001:db8:100::* && -z "$rest" ]]; then
    ok "dual-stack: RequireDualStack is served once there is an IPv6 pool"
else
    bad "dual-stack: RequireDualStack is served once there is an IPv6 pool (got '$ip4 $ip6 $rest')"
fi
extlbd_accepts "dual-stack: extlbd -t accepts both dual-stack Services" "$(grep -c '^    name = ' "$conf")"
for s in dual req; do ctl delete services default "$s" >/dev/null; done
for s in dual-4 dual-6; do ctl delete endpointslices default "$s" >/dev/null; done
once --default-class

summary
[[ $failed -eq 0 ]]
