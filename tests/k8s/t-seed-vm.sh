#!/usr/bin/env bash
# t-seed-vm.sh - the Kubernetes seed case end to end, on a real IPVS kernel:
# the Service ext-tcp-lb (LoadBalancer, no selector, port 8000 -> 80) and its
# manual Endpoints (192.0.2.10:80) are loaded into the API server double;
# extlb-k8s --once writes the include file and the Service's status, with no
# --pidfile, as the unit runs it; extlbd in the test VM runs with
# watch_include_dir = true and applies the file when it is renamed into
# include_dir, with no signal, and a client's requests to VIP:8000 are
# answered by the web server at 192.0.2.10:80 in its own network namespace.
#
# Usage: tests/k8s/t-seed-vm.sh BUILDDIR   Ends with "N passed, N failed".
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:?usage: t-seed-vm.sh BUILDDIR}" && pwd)"
apiserver="$repo/tests/k8s/apiserver.py"
fixtures="$repo/tests/k8s/fixtures"
tmp="$(mktemp -d /tmp/t-seed-vm.XXXXXX)"
api="$tmp/api"
passed=0 failed=0
ok() { echo "ok      $1"; passed=$((passed + 1)); }
bad() { echo "FAILED  $1"; failed=$((failed + 1)); }
apipid=""
cleanup() {
    [[ -n "$apipid" ]] && kill "$apipid" 2>/dev/null && wait "$apipid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
ctl() { python3 "$apiserver" ctl "$api" "$@"; }

mkdir -p "$tmp/extlb.d"
python3 "$apiserver" --dir "$api" >"$tmp/api.log" 2>&1 &
apipid=$!
for _ in $(seq 100); do [[ -f "$api/ready" ]] && break; sleep 0.2; done
[[ -f "$api/ready" ]] || { cat "$tmp/api.log"; bad "API server double starts"; echo "$passed passed, $failed failed"; exit 1; }
ctl apply "$fixtures/service-ext-tcp-lb.json" "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null

if "$build/extlb-k8s" --once --kubeconfig "$api/kubeconfig" --default-class \
        --vip-pool 192.168.10.100-192.168.10.110 \
        --output "$tmp/extlb.d/kubernetes.conf"; then
    ok "extlb-k8s --once"
else
    bad "extlb-k8s --once"
fi
cat "$tmp/extlb.d/kubernetes.conf"
ip="$(ctl get services default ext-tcp-lb | python3 -c 'import json, sys
o = json.load(sys.stdin)
print(" ".join(i.get("ip", "") for i in ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []))')"
if [[ "$ip" == 192.168.10.100 ]]; then
    ok "the Service's status shows EXTERNAL-IP 192.168.10.100"
else
    bad "the Service's status shows EXTERNAL-IP 192.168.10.100 (got '$ip')"
fi
printf 'global: { include_dir = "/etc/extlb.d"; watch_include_dir = true; };\n' >"$tmp/extlb.conf"

"$repo/scripts/vm-run" --timeout 600 --log "$repo/.vm/logs/t-seed-vm.log" \
    --bin "$build/extlbd" --add "$tmp/extlb.conf:/etc/extlb.conf" \
    --add "$tmp/extlb.d:/test/k8s-out" "$repo/tests/k8s/seed-guest.sh"
rc=$?
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$repo/.vm/logs/t-seed-vm.log" | tail -n 1)"
p="${line%% passed*}"; f="${line#*passed, }"; f="${f%% failed}"
[[ -n "$line" ]] || { p=0; f=1; }
[[ $rc -eq 0 || $f -gt 0 ]] || f=1
passed=$((passed + p)); failed=$((failed + f))
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
