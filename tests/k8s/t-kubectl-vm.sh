#!/usr/bin/env bash
# t-kubectl-vm.sh - the seed case as its users run it (issue 17): the example's
# two files applied with the real kubectl (Debian's kubernetes-client) to the
# API server double, extlb-k8s watching it, and what `kubectl get ep`, `get
# svc`, `get events` and `delete svc` print; then the kernel half in the test
# VM, where extlbd (watch_include_dir = true) applies each file extlb-k8s
# wrote, in order, and IPVS and a client's requests to VIP:8000 are checked:
#   1. endpoint.yml (192.0.2.10:80) and service.yml applied: VIP:8000 ->
#      192.0.2.10:80, and the requests are answered by the endpoint's port 80;
#   2. endpoint.yml edited (a second IP, 192.0.2.11) and applied again: two
#      real servers, both answering;
#   3. kubectl delete svc ext-tcp-lb: the virtual service leaves the kernel.
# extlb-k8s and the double run on this host (loopback); the VM has no
# Python, so the files extlb-k8s wrote after each step are carried into it
# and renamed into include_dir there, as extlb-k8s renames them.  Every
# command and what it printed is logged with "$ " / "| " prefixes: the
# walkthrough (doc/walkthrough.md) is taken from that log.
#
# Usage: tests/k8s/t-kubectl-vm.sh BUILDDIR   Ends with "N passed, N failed".
set -uo pipefail

# shellcheck source=tests/k8s/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

k8s_scratch t-kubectl-vm
steps="$tmp/steps"
kubectl_setup
k8s_test_setup
api_start
mkdir -p "$steps"

# user COMMAND...: a command as the user types it ("kubectl" is the test's
# kc), logged with its output; the output (stdout and stderr) in $said
said=""
user() {
    local shown="$*"
    echo "\$ ${shown//$tmp\//}"
    if [[ "$1" == kubectl ]]; then
        shift
        said="$(cd "$tmp" && kc "$@" 2>&1 | grep -v '^Warning: v1 Endpoints is deprecated')"
    else
        said="$(cd "$tmp" && "$@" 2>&1)"
    fi
    [[ -z "$said" ]] || prefixed '| ' "$said"
}
# snapshot N NAME: the file extlb-k8s wrote, for the VM's step N
snapshot() {
    if [[ -f "$conf" ]]; then
        cp "$conf" "$steps/$1.conf"
        sed 's/^/# /' "$conf"
    else
        bad "$2: extlb-k8s wrote no file"
    fi
}

# ---- 1. the example ------------------------------------------------------------
seed_yaml "$tmp" 192.0.2.10
user cat endpoint.yml
user cat service.yml
user kubectl apply --validate=false -f endpoint.yml
expect_match "kubectl apply -f endpoint.yml" '^endpoints/ext-tcp-lb created$' "$said"
user kubectl get ep
expect_match "kubectl get ep shows ext-tcp-lb 192.0.2.10:80" \
    $'^NAME +ENDPOINTS +AGE\next-tcp-lb +192\\.0\\.2\\.10:80 +[0-9]+s$' "$said"
user kubectl apply --validate=false -f service.yml
expect_match "kubectl apply -f service.yml" '^service/ext-tcp-lb created$' "$said"
user kubectl get svc ext-tcp-lb
expect_match "kubectl get svc: EXTERNAL-IP <pending> before extlb-k8s runs" \
    $'^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\\(S\\) +AGE\next-tcp-lb +LoadBalancer +10\\.[0-9.]+ +<pending> +8000:3[0-9]{4}/TCP +[0-9]+s$' \
    "$said"

echo "\$ extlb-k8s --kubeconfig ~/.kube/config --default-class --vip-pool 192.168.10.100-192.168.10.110 --output /etc/extlb.d/kubernetes.conf &"
"$bin" --kubeconfig "$api/kubeconfig" --default-class --vip-pool 192.168.10.100-192.168.10.110 \
    --output "$conf" -v 2>>"$log" &
k8spid=$!
for _ in $(seq 50); do
    [[ "$(kc_row ext-tcp-lb svc)" == *" 192.168.10.100 "* ]] && break
    sleep 0.2
done
user kubectl get svc ext-tcp-lb
expect_match "kubectl get svc: the VIP under EXTERNAL-IP, PORT(S) 8000:NNNNN/TCP" \
    $'^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\\(S\\) +AGE\next-tcp-lb +LoadBalancer +10\\.[0-9.]+ +192\\.168\\.10\\.100 +8000:3[0-9]{4}/TCP +[0-9]+s$' \
    "$said"
if wait_conf '192\.0\.2\.10'; then ok "extlb-k8s writes VIP:8000 -> 192.0.2.10:80"; else bad "extlb-k8s writes VIP:8000 -> 192.0.2.10:80"; fi
snapshot 1 "the example"

# ---- 2. a second external IP, applied the same way --------------------------------
seed_yaml "$tmp" 192.0.2.10 192.0.2.11
user cat endpoint.yml
user kubectl apply --validate=false -f endpoint.yml
expect_match "kubectl apply -f endpoint.yml (a second IP)" '^endpoints/ext-tcp-lb configured$' "$said"
user kubectl get ep
expect_match "kubectl get ep shows both endpoints" \
    $'\next-tcp-lb +192\\.0\\.2\\.10:80,192\\.0\\.2\\.11:80 +[0-9]+s$' "$said"
if wait_conf '192\.0\.2\.11'; then ok "extlb-k8s writes the second endpoint"; else bad "extlb-k8s writes the second endpoint"; fi
snapshot 2 "the second IP"
user kubectl get events
expect_match "kubectl get events shows extlb-k8s's Event for service/ext-tcp-lb" \
    $'^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE\n.*Normal +IPAllocated +service/ext-tcp-lb +VIP 192\\.168\\.10\\.100 assigned' \
    "$said"

# ---- 3. delete -------------------------------------------------------------------
user kubectl delete svc ext-tcp-lb
expect_match "kubectl delete svc ext-tcp-lb" '^service "ext-tcp-lb" deleted$' "$said"
user kubectl get svc
expect_match "kubectl get svc no longer lists it" '^No resources found in default namespace\.$' "$said"
if wait_conf ! '192\.168\.10\.100'; then ok "extlb-k8s drops the virtual service"; else bad "extlb-k8s drops the virtual service"; fi
snapshot 3 "the deletion"
stop_pid "$k8spid"; k8spid=""

# ---- the kernel: extlbd in the test VM applies the three files in turn -------------
mkdir -p "$tmp/vm"
printf 'global: { include_dir = "/etc/extlb.d"; watch_include_dir = true; };\n' >"$tmp/vm/extlb.conf"
"$repo/scripts/vm-run" --timeout 900 --log "$repo/.vm/logs/t-kubectl-vm.log" \
    --bin "$build/extlbd" --add "$tmp/vm/extlb.conf:/etc/extlb.conf" \
    --add "$steps:/test/k8s-steps" "$repo/tests/k8s/kubectl-guest.sh"
rc=$?
grep -E '^(ok|not ok|#) ' "$repo/.vm/logs/t-kubectl-vm.log" | sed 's/^/vm: /'
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$repo/.vm/logs/t-kubectl-vm.log" | tail -n 1)"
p="${line%% passed*}"; f="${line#*passed, }"; f="${f%% failed}"
[[ -n "$line" ]] || { p=0; f=1; }
[[ $rc -eq 0 || $f -gt 0 ]] || f=1
passed=$((passed + p)); failed=$((failed + f))
summary
[[ $failed -eq 0 ]]
