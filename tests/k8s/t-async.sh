#!/usr/bin/env bash
# t-async.sh - end-to-end test of extlb-k8s's writes in watch mode
# (issue 13) against the Kubernetes API server double: status PATCHes
# and Event POSTs go on the watch loop's multi handle, so that a server
# that hangs either delays neither the watches nor the file; a PATCH that
# failed is sent again; a restart posts no Event again for the same
# causes; Events are rate-limited (a burst of 25, then 1 a second).
#
# Usage: tests/k8s/t-async.sh [BUILDDIR]  (default: $XL_BUILDDIR, else
#        build; make check sets XL_BUILDDIR)
#   extlb-k8s is $EXTLB_K8S, else BUILDDIR/extlb-k8s, else compiled here.
#   Ends with "N passed, N failed"; exits 1 if anything failed.
set -uo pipefail

# shellcheck source=tests/k8s/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

k8s_scratch t-async
k8s_test_setup

api_start

start_k8s() {
    "$bin" --kubeconfig "$api/kubeconfig" --default-class \
        --vip-pool 192.0.2.100-192.0.2.199 --output "$conf" --debounce 0.1 \
        --watch-timeout 5 -v 2>>"$log" &
    k8spid=$!
}
stop_k8s() {
    kill -TERM "$k8spid"
    wait "$k8spid"
    k8spid=""
}
# waits (up to 10 s) for the file to contain a line matching REGEX
wait_file() { # REGEX
    for _ in $(seq 100); do
        grep -Eq "$1" "$conf" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# waits (up to 10 s) for a Service's status to show WANT
wait_status() { # NAME SERVICE WANT
    local ips=""
    for _ in $(seq 50); do
        ips="$(status_ips default "$2")"
        [[ "$ips" == "$3" ]] && break
        sleep 0.2
    done
    if [[ "$ips" == "$3" ]]; then ok "$1"; else bad "$1 (got '$ips')"; fi
}
# the Events posted by extlb-k8s
nevents() {
    ctl objects events | python3 -c 'import json, sys
print(sum(1 for e in json.load(sys.stdin)["items"]
          if (e.get("source") or {}).get("component") == "extlb-k8s"))'
}
# whether a request to the path hangs at the double
hung() { # PATH
    ctl requests | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"]
          if r.get("fault") == "hang" and r["path"] == sys.argv[1]))' "$1"
}
# Endpoints NAME with the addresses, port 80
endpoints() { # NAME IP...
    python3 -c 'import json, sys
print(json.dumps({"kind": "Endpoints", "apiVersion": "v1",
                  "metadata": {"name": sys.argv[1], "namespace": "default"},
                  "subsets": [{"addresses": [{"ip": a} for a in sys.argv[2:]],
                               "ports": [{"port": 80, "protocol": "TCP"}]}]}))' "$@"
}

# waits (up to 10 s) for a request to the path to hang at the double
wait_hung() { # NAME PATH
    for _ in $(seq 100); do
        if [[ "$(hung "$2")" -ge 1 ]]; then ok "$1"; return; fi
        sleep 0.1
    done
    bad "$1"
}
# ext-tcp-lb's Endpoints set to the addresses: the last must be in the
# file within 2 s, whatever writes hang
prompt_change() { # NAME IP...
    local t0 t last="${!#}"
    t0=$(date +%s.%N)
    endpoints ext-tcp-lb "${@:2}" | ctl apply - >/dev/null
    if ! wait_file "address = \"$last\""; then
        bad "$1: an Endpoints change is in the file"; tail -20 "$log"
        return
    fi
    t=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
    if python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 2)" "$t"; then
        ok "$1: an Endpoints change is in the file at once (${t} s)"
    else
        bad "$1: an Endpoints change is in the file at once (${t} s)"
    fi
}

start_k8s
ctl apply "$fixtures/service-ext-tcp-lb.json" "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null
if wait_file 'address = "192.0.2.10"'; then ok "start: the seed is written"
else bad "start: the seed is written"; fi
wait_status "start: the seed's status shows its VIP" ext-tcp-lb 192.0.2.100

# ---- 1. status PATCHes hang: the watches and the file go on ----
ctl hang count=10 method=PATCH >/dev/null
lb_service hung '[{"port": 80}]' | ctl apply - >/dev/null
endpoints hung 192.0.2.20 | ctl apply - >/dev/null
wait_hung "hung PATCH: the new Service's status PATCH hangs" \
    /api/v1/namespaces/default/services/hung/status
prompt_change "hung PATCH" 192.0.2.10 192.0.2.11
if [[ "$(hung /api/v1/namespaces/default/services/hung/status)" == 1 ]]; then
    ok "hung PATCH: not sent twice while on its way"
else bad "hung PATCH: not sent twice while on its way"; fi
ctl release >/dev/null
ctl clear-faults >/dev/null
wait_status "hung PATCH: after the release, the status is PATCHed again" hung 192.0.2.101
if grep -q 'Service default/hung: cannot publish VIP 192.0.2.101' "$log"; then
    ok "hung PATCH: its failure is logged"
else bad "hung PATCH: its failure is logged"; fi

# ---- 1b. Event POSTs hang: the file goes on ----
ctl hang count=10 method=POST path=/events >/dev/null
lb_service quiet '[{"port": 80}]' '{"extlb.io/vip": "169.254.169.254"}' | ctl apply - >/dev/null
wait_hung "hung POST: the Warning Event's POST hangs" \
    /api/v1/namespaces/default/events
prompt_change "hung POST" 192.0.2.10 192.0.2.11 192.0.2.12
ctl release >/dev/null
ctl clear-faults >/dev/null
for _ in $(seq 50); do
    grep -q 'Service default/quiet: cannot post an Event' "$log" && break
    sleep 0.2
done
if grep -q 'Service default/quiet: cannot post an Event' "$log"; then
    ok "hung POST: its failure is logged"
else bad "hung POST: its failure is logged"; fi
# its Event was never posted: gone, so that the restart below has it not
ctl delete services default quiet >/dev/null

# ---- 2. a restart posts no Event again for the same causes ----
lb_service refused '[{"port": 80}]' '{"extlb.io/vip": "169.254.169.254"}' | ctl apply - >/dev/null
for _ in $(seq 50); do
    [[ "$(ctl objects events | grep -c VIPRefused)" -ge 1 ]] && break
    sleep 0.2
done
sleep 1
before="$(nevents)"
if [[ "$before" -ge 2 ]]; then ok "restart: Events were posted before ($before)"
else bad "restart: Events were posted before ($before)"; fi
stop_k8s
mark="$(wc -l <"$log")"
start_k8s
for _ in $(seq 100); do
    tail -n "+$((mark + 1))" "$log" | grep -q 'in sync' && break
    sleep 0.1
done
sleep 2
after="$(nevents)"
if [[ "$after" == "$before" ]]; then ok "restart: no Event posted again ($after)"
else bad "restart: no Event posted again (before $before, after $after)"; fi
if tail -n "+$((mark + 1))" "$log" | grep -q 'Event(s) posted before about Services'; then
    ok "restart: the Events posted before were read"
else bad "restart: the Events posted before were read"; fi

# ---- 3. the rate limit: 60 new Services, at most 25 Events at once ----
python3 -c 'import json
print(json.dumps({"kind": "List", "items": [
    {"kind": "Service", "apiVersion": "v1",
     "metadata": {"name": "many-%02d" % i, "namespace": "default"},
     "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    for i in range(60)]}))' >"$tmp/many.json"
before="$(nevents)"
t0=$(date +%s)
ctl apply "$tmp/many.json" >/dev/null
for _ in $(seq 100); do
    [[ "$(status_ips default many-59)" != "" ]] && break
    sleep 0.1
done
sleep 1
n=$(($(nevents) - before))
t=$(($(date +%s) - t0 + 1))
if [[ "$n" -ge 25 && "$n" -le $((25 + t)) ]]; then
    ok "rate limit: $n Events for 60 Services in ${t} s (25 + 1 a second)"
else bad "rate limit: $n Events for 60 Services in ${t} s (at most $((25 + t)))"; fi
if grep -Eq '[0-9]+ Event\(s\) not posted: past the rate limit' "$log"; then
    ok "rate limit: the Events dropped are counted in the log"
else bad "rate limit: the Events dropped are counted in the log"; fi
n="$(grep -c 'not posted: past the rate limit' "$log")"
if [[ "$n" -le $((t + 2)) ]]; then ok "rate limit: one log line for many dropped ($n lines)"
else bad "rate limit: one log line for many dropped ($n lines)"; fi

stop_k8s
summary
[[ $failed -eq 0 ]]
