#!/usr/bin/env bash
# t-kubectl.sh - the real kubectl (Debian's kubernetes-client) against the
# API server double while extlb-k8s watches it (issue 17): the seed
# example's files applied with `kubectl apply -f`, what `kubectl get` (table,
# -o wide|json|yaml), `describe` and `get events` print, a re-apply of an
# edited file (a strategic merge PATCH), an unchanged one, invalid objects
# refused with 422 (and never seen by extlb-k8s), and `kubectl delete`.
# The kernel half of the same story is t-kubectl-vm.sh.
#
# Usage: tests/k8s/t-kubectl.sh [BUILDDIR]  (default: $XL_BUILDDIR, else
#        build; make check sets XL_BUILDDIR)
#   Skipped when kubectl cannot be installed.  Ends with "N passed, N failed".
set -uo pipefail

# shellcheck source=tests/k8s/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

k8s_scratch t-kubectl
kubectl_setup
k8s_test_setup
api_start

"$bin" --kubeconfig "$api/kubeconfig" --default-class --vip-pool 192.0.2.100-192.0.2.110 \
    --output "$conf" --debounce 0.1 -v 2>>"$log" &
k8spid=$!

# waits (up to 10 s) until `kc_row NAME ARGS...` matches REGEX; prints the last row
wait_row() { # REGEX NAME ARGS...
    local re="$1" row=""
    shift
    for _ in $(seq 50); do
        row="$(kc_row "$@")"
        [[ "$row" =~ $re ]] && break
        sleep 0.2
    done
    echo "$row"
}

seed_yaml "$tmp" 192.0.2.10

# ---- create, then get ----------------------------------------------------------
expect "kubectl apply -f endpoint.yml: created" "endpoints/ext-tcp-lb created" \
    "$(kc apply --validate=false -f "$tmp/endpoint.yml" 2>/dev/null)"
expect "kubectl get ep: its header" "NAME ENDPOINTS AGE" \
    "$(kc get ep 2>/dev/null | head -n 1 | tr -s ' ')"
expect_match "kubectl get ep: ext-tcp-lb 192.0.2.10:80" '^ext-tcp-lb 192\.0\.2\.10:80 [0-9]+s$' \
    "$(kc_row ext-tcp-lb ep)"
expect "kubectl apply -f service.yml: created" "service/ext-tcp-lb created" \
    "$(kc apply --validate=false -f "$tmp/service.yml" 2>/dev/null)"
expect "kubectl get svc: its header" "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE" \
    "$(kc get svc 2>/dev/null | head -n 1 | tr -s ' ')"
row="$(wait_row ' 192\.0\.2\.100 ' ext-tcp-lb svc)"
expect_match "kubectl get svc: LoadBalancer, a clusterIP, EXTERNAL-IP the VIP, 8000:NodePort/TCP" \
    '^ext-tcp-lb LoadBalancer 10\.[0-9.]+ 192\.0\.2\.100 8000:3[0-9]{4}/TCP [0-9]+s$' "$row"
np="$(sed -n 's|.* 8000:\([0-9]*\)/TCP .*|\1|p' <<<"$row")"
if [[ -n "$np" && "$np" -ge 30000 && "$np" -le 32767 ]]; then
    ok "the nodePort ($np) is in 30000-32767"
else
    bad "the nodePort ($np) is in 30000-32767"
fi
if wait_conf '192\.0\.2\.10.*80'; then ok "extlb-k8s writes the endpoint"; else bad "extlb-k8s writes the endpoint"; cat "$conf"; fi
expect_match "kubectl get svc -o wide: SELECTOR <none>" \
    '^ext-tcp-lb LoadBalancer 10\.[0-9.]+ 192\.0\.2\.100 8000:3[0-9]{4}/TCP [0-9]+s <none>$' \
    "$(kc_row ext-tcp-lb svc -o wide)"
expect "kubectl get svc -o json: type, port, targetPort, nodePort, ingress, last-applied" \
    "LoadBalancer 8000 80 $np 192.0.2.100 yes" \
    "$(kc get svc ext-tcp-lb -o json 2>/dev/null | python3 -c 'import json, sys
o = json.load(sys.stdin)
p = o["spec"]["ports"][0]
a = o["metadata"].get("annotations") or {}
print(o["spec"]["type"], p["port"], p["targetPort"], p["nodePort"],
      o["status"]["loadBalancer"]["ingress"][0]["ip"],
      "yes" if "kubectl.kubernetes.io/last-applied-configuration" in a else "no")')"
expect "kubectl get ep -o yaml: the address" "  - ip: 192.0.2.10" \
    "$(kc get ep ext-tcp-lb -o yaml 2>/dev/null | grep -- '- ip:')"
desc="$(kc describe svc ext-tcp-lb 2>/dev/null)"
expect_match "kubectl describe svc: LoadBalancer Ingress, Endpoints, extlb-k8s's Event" \
    'LoadBalancer Ingress: +192\.0\.2\.100.*Endpoints: +192\.0\.2\.10:80.*Normal +IPAllocated' \
    "$(tr '\n' ' ' <<<"$desc")"
prefixed '# ' "$desc"

# ---- events ------------------------------------------------------------------------
ev="$(kc get events 2>/dev/null)"
prefixed '# ' "$ev"
expect "kubectl get events: its header" "LAST SEEN TYPE REASON OBJECT MESSAGE" \
    "$(head -n 1 <<<"$ev" | tr -s ' ')"
expect_match "kubectl get events: extlb-k8s's IPAllocated for service/ext-tcp-lb" \
    'Normal +IPAllocated +service/ext-tcp-lb +.*192\.0\.2\.100' "$ev"

# ---- an edited endpoint list, re-applied: GET + strategic merge PATCH ------------
seed_yaml "$tmp" 192.0.2.10 192.0.2.11
expect "kubectl apply -f endpoint.yml (a second IP): configured" "endpoints/ext-tcp-lb configured" \
    "$(kc apply --validate=false -f "$tmp/endpoint.yml" 2>/dev/null)"
expect_match "kubectl get ep: both endpoints" '^ext-tcp-lb 192\.0\.2\.10:80,192\.0\.2\.11:80 [0-9]+s$' \
    "$(kc_row ext-tcp-lb ep)"
if wait_conf '192\.0\.2\.11'; then ok "extlb-k8s writes the second endpoint"; else bad "extlb-k8s writes the second endpoint"; cat "$conf"; fi
if ctl requests | python3 -c 'import json, sys
r = [e for e in json.load(sys.stdin)["requests"] if e["method"] == "PATCH" and e["path"].endswith("/endpoints/ext-tcp-lb")]
sys.exit(0 if r and r[-1]["contentType"] == "application/strategic-merge-patch+json" and r[-1]["status"] == 200 else 1)'; then
    ok "the re-apply was a strategic merge PATCH"
else
    bad "the re-apply was a strategic merge PATCH"
fi
# The same file again.  An Endpoints' subsets are an atomic list and the live
# one has the defaulted "protocol: TCP" the file lacks, so kubectl sends the
# whole list again and says "configured", as against kube-apiserver; the
# server finds nothing changed: the resourceVersion stays.
rv="$(kc get ep ext-tcp-lb -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null)"
kc apply --validate=false -f "$tmp/endpoint.yml" >/dev/null 2>&1
expect "kubectl apply -f endpoint.yml again: the resourceVersion stays ($rv)" "$rv" \
    "$(kc get ep ext-tcp-lb -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null)"
expect "kubectl apply -f service.yml again: unchanged" \
    "service/ext-tcp-lb unchanged" "$(kc apply --validate=false -f "$tmp/service.yml" 2>/dev/null)"
# a port renumbered: the patch deletes port 8000 by its merge key and adds 8001
sed -i 's/port: 8000/port: 8001/' "$tmp/service.yml"
expect "kubectl apply -f service.yml (port 8001): configured" "service/ext-tcp-lb configured" \
    "$(kc apply --validate=false -f "$tmp/service.yml" 2>/dev/null)"
expect_match "kubectl get svc: 8001 alone, a nodePort, the VIP kept" \
    '^ext-tcp-lb LoadBalancer 10\.[0-9.]+ 192\.0\.2\.100 8001:3[0-9]{4}/TCP [0-9]+s$' \
    "$(kc_row ext-tcp-lb svc)"
if wait_conf ':8001|8001;|port = 8001'; then ok "extlb-k8s writes port 8001"; else bad "extlb-k8s writes port 8001"; cat "$conf"; fi
sed -i 's/port: 8001/port: 8000/' "$tmp/service.yml"
kc apply --validate=false -f "$tmp/service.yml" >/dev/null 2>&1

# ---- invalid objects: 422 Invalid, nothing stored, nothing watched ---------------
rv_before="$(ctl state | python3 -c 'import json, sys; print(json.load(sys.stdin)["resourceVersion"])' 2>/dev/null)"
sed 's/name: ext-tcp-lb/name: bad-type/; s/type: LoadBalancer/type: LoadBalancr/' \
    "$tmp/service.yml" >"$tmp/bad-type.yml"
msg="$(kc apply --validate=false -f "$tmp/bad-type.yml" 2>&1)"; rc=$?
prefixed '# ' "\$ kubectl apply -f bad-type.yml"$'\n'"$msg"
expect "kubectl apply of a Service of type LoadBalancr: refused, the field named" \
    '1 The Service "bad-type" is invalid: spec.type: Unsupported value: "LoadBalancr": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' \
    "$rc $msg"
sed 's/name: ext-tcp-lb/name: bad-ip/; s/192\.0\.2\.11/192.0.2.311/' "$tmp/endpoint.yml" >"$tmp/bad-ip.yml"
msg="$(kc apply --validate=false -f "$tmp/bad-ip.yml" 2>&1 | grep -v '^Warning: ')"
rc=${PIPESTATUS[0]}
prefixed '# ' "\$ kubectl apply -f bad-ip.yml"$'\n'"$msg"
expect "kubectl apply of an Endpoints with IP 192.0.2.311: refused, the field named" \
    '1 The Endpoints "bad-ip" is invalid: subsets[0].addresses[1].ip: Invalid value: "192.0.2.311": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' \
    "$rc $msg"
# the same mistake in an edit of the live object: its PATCH is refused, the object kept
sed 's/192\.0\.2\.11/192.0.2.311/' "$tmp/endpoint.yml" >"$tmp/bad-edit.yml"
msg="$(kc apply --validate=false -f "$tmp/bad-edit.yml" 2>&1)"; rc=$?
expect_match "kubectl apply of an edit with IP 192.0.2.311: refused" \
    '^1 .*The Endpoints "ext-tcp-lb" is invalid: subsets\[0\]\.addresses\[1\]\.ip: Invalid value: "192\.0\.2\.311"' \
    "$rc $(tr '\n' ' ' <<<"$msg")"
expect_match "kubectl get ep: ext-tcp-lb unchanged" '^ext-tcp-lb 192\.0\.2\.10:80,192\.0\.2\.11:80 ' \
    "$(kc_row ext-tcp-lb ep)"
if ctl requests | python3 -c 'import json, sys
r = [e for e in json.load(sys.stdin)["requests"] if e["status"] == 422]
sys.exit(0 if len(r) == 3 and {e["method"] for e in r} == {"POST", "PATCH"} else 1)'; then
    ok "the double answered 422 to the two POSTs and the PATCH"
else
    bad "the double answered 422 to the two POSTs and the PATCH"
fi
expect "the double stored neither bad-type nor bad-ip, nor changed a resourceVersion" \
    "0 0 ${rv_before:-unknown}" \
    "$(ctl objects services | grep -c bad-type) $(ctl objects endpoints | grep -c bad-ip) $(ctl state | python3 -c 'import json, sys; print(json.load(sys.stdin)["resourceVersion"])')"
sleep 0.5
if grep -Eq 'bad-type|bad-ip|192\.0\.2\.311' "$log" "$conf"; then
    bad "extlb-k8s (watching) never sees them"; grep -E 'bad-type|bad-ip|311' "$log" "$conf"
else
    ok "extlb-k8s (watching) never sees them"
fi

# ---- delete ----------------------------------------------------------------------
expect "kubectl delete svc ext-tcp-lb" 'service "ext-tcp-lb" deleted' \
    "$(kc delete svc ext-tcp-lb 2>/dev/null)"
expect "kubectl get svc: none left" "No resources found in default namespace." \
    "$(kc get svc 2>&1 >/dev/null)$(kc get svc 2>/dev/null)"
if wait_conf ! '192\.0\.2\.100'; then ok "extlb-k8s drops the virtual service"; else bad "extlb-k8s drops the virtual service"; cat "$conf"; fi
expect_match "kubectl get ep: the Endpoints stays (no selector: the user owns it)" \
    '^ext-tcp-lb 192\.0\.2\.10:80,192\.0\.2\.11:80 ' "$(kc_row ext-tcp-lb ep)"

summary
[[ $failed -eq 0 ]]
