#!/usr/bin/env bash
# t-hostile.sh - end-to-end test of extlb-k8s against a hostile or broken
# API server (issue 13): the double's fail-list and fail-watch faults send
# LIST pages near and above the cap on one answer, continue tokens that
# never end or come back, items nested too deep or of the wrong types,
# pages whose items are not an array or that have no metadata, and watch
# events nested too deep, too wide or of the wrong types.  First with
# --once, then with one extlb-k8s in watch mode.  Each fault must be
# logged once, with what was skipped; the file must stay as it was (never
# rewritten from a partial view), and extlb-k8s must keep running and
# follow a good change after it.
#
# Usage: tests/k8s/t-hostile.sh [BUILDDIR]  (default: $XL_BUILDDIR, else
#        build; make check sets XL_BUILDDIR)
#   extlb-k8s is $EXTLB_K8S, else BUILDDIR/extlb-k8s, else compiled here.
#   Ends with "N passed, N failed[, N skipped]"; exits 1 if anything failed.
set -uo pipefail

# shellcheck source=tests/k8s/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

k8s_scratch t-hostile
k8s_test_setup

api_start --seed "$fixtures" --watch-timeout 5 --bookmark-interval 1

opts=(--kubeconfig "$api/kubeconfig" --default-class
      --vip-pool 192.0.2.100-192.0.2.110 --output "$conf")
# how many lines of the log (from line MARK on) match an extended regex
count_log() { tail -n "+$(($1 + 1))" "$log" | grep -Ec "$2"; }
# the file is byte for byte the good one, and was not written again
unchanged() { # NAME
    if cmp -s "$conf" "$tmp/good.conf" && [[ "$(stat -c '%i %Y' "$conf")" == "$stamp" ]]; then
        ok "$1"
    else
        bad "$1"; diff "$tmp/good.conf" "$conf"
    fi
}
# what LIST requests (not watches) of PATH the double answered
nlists() { # PATH
    ctl requests | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if r["method"] == "GET"
          and r["path"] == sys.argv[1] and "watch" not in r["query"]))' "$1"
}

# ---- --once: a good run, then one run per fault ----
"$bin" --once "${opts[@]}" 2>>"$log"
if [[ $? == 0 && -s "$conf" ]] && grep -q 'name = "default/ext-tcp-lb:8000"' "$conf"; then
    ok "--once: the seed gives a file"
else
    bad "--once: the seed gives a file"; cat "$log"
fi
cp "$conf" "$tmp/good.conf"
stamp="$(stat -c '%i %Y' "$conf")"
sleep 1 # a rewrite would show in the mtime's seconds
once_fault() { # NAME WANT-EXIT REGEX COUNT FAIL-LIST-ARGS...
    local name="$1" want="$2" re="$3" n="$4" mark rc got
    shift 4
    ctl clear-faults >/dev/null
    ctl fail-list "$@" >/dev/null
    mark="$(wc -l <"$log")"
    "$bin" --once "${opts[@]}" 2>>"$log"
    rc=$?
    got="$(count_log "$mark" "$re")"
    if [[ $rc == "$want" && "$got" == "$n" ]]; then
        ok "--once, $name: exit $want, logged $n time(s)"
    else
        bad "--once, $name: exit $want, logged $n time(s) (exit $rc, $got line(s))"
        tail -n "+$((mark + 1))" "$log"
    fi
    unchanged "--once, $name: the file is unchanged"
}
once_fault "a 30 MiB page (under the 32 MiB cap)" 0 'error|warning' 0 \
    mode=big mb=30 path=/api/v1/endpoints
once_fault "a 40 MiB page" 1 'endpoints.*: the answer is larger than 32 MiB' 1 \
    mode=big mb=40 path=/api/v1/endpoints
once_fault "a continue token that never ends" 1 \
    'services: more than 400 pages \(200000 objects\): a continue token that never ends' 1 \
    mode=endless path=/api/v1/services
n="$(nlists /api/v1/services)"
if [[ "$n" -ge 400 ]]; then ok "--once, never-ending continue: 400 pages asked, then no more"
else bad "--once, never-ending continue: 400 pages asked (got $n)"; fi
once_fault "a continue token that repeats" 1 \
    'endpointslices: page 2 gave its own continue token again' 1 \
    mode=repeat path=/apis/discovery.k8s.io/v1/endpointslices
once_fault "an item nested 200 deep" 0 \
    'services: items\[2\] was skipped: nested deeper than 64 levels' 1 \
    mode=deep path=/api/v1/services
once_fault "Service items of the wrong types" 0 'Service.* was skipped' 8 \
    mode=types path=/api/v1/services
once_fault "Endpoints items of the wrong types" 0 'Endpoints.* was skipped' 7 \
    mode=types path=/api/v1/endpoints
once_fault "EndpointSlice items of the wrong types" 0 'EndpointSlice.* was skipped' 7 \
    mode=types path=/apis/discovery.k8s.io/v1/endpointslices
once_fault "items not an array" 1 'endpoints: items is not an array' 1 \
    mode=items path=/api/v1/endpoints
once_fault "no list metadata" 1 'services: the answer is not a list \(no metadata\)' 1 \
    mode=nometa path=/api/v1/services
for what in 'Endpoints hostile/ip-number was skipped: subsets\[0\].addresses\[0\].ip: expected string, got int' \
            'Service hostile/port-range was skipped: spec.ports\[0\].port: 70000 is out of range' \
            'a Service was skipped: metadata: missing' \
            'EndpointSlice hostile/type-number was skipped: addressType: expected string, got int'; do
    if grep -Eq "$what" "$log"; then ok "skipped, and said why: ${what//\\/}"
    else bad "skipped, and said why: ${what//\\/}"; fi
done
ctl clear-faults >/dev/null

# ---- watch mode ----
wmark="$(wc -l <"$log")"
"$bin" "${opts[@]}" --debounce 0.1 --watch-timeout 2 -v 2>>"$log" &
k8spid=$!
if ctl wait watches=3 timeout=15 >/dev/null; then ok "watch: three watches open"
else bad "watch: three watches open"; fi
sleep 0.5
unchanged "watch: the same cluster gives the same file (not rewritten)"
# every kind LISTs again (410), one of them meets the fault
relist_fault() { # NAME REGEX COUNT KIND FAIL-LIST-ARGS...
    local name="$1" re="$2" n="$3" kind="$4" mark got
    shift 4
    ctl fail-list "$@" >/dev/null
    mark="$(wc -l <"$log")"
    ctl compact >/dev/null
    ctl expire-watches >/dev/null
    for _ in $(seq 300); do
        [[ "$(count_log "$mark" "listed [0-9]+ $kind")" -ge 1 &&
           "$(count_log "$mark" "$re")" -ge "$n" ]] && break
        sleep 0.1
    done
    ctl wait watches=3 timeout=15 >/dev/null
    sleep 0.3
    got="$(count_log "$mark" "$re")"
    if [[ "$got" == "$n" && "$(count_log "$mark" "listed [0-9]+ $kind")" -ge 1 ]]; then
        ok "watch, $name: logged $n time(s), then listed again"
    else
        bad "watch, $name: logged $n time(s), then listed again (got $got)"
        tail -n "+$((mark + 1))" "$log" | grep -v debug
    fi
    unchanged "watch, $name: the file is unchanged"
}
relist_fault "a 40 MiB page" 'LIST of endpoints failed: .*larger than 32 MiB' 1 endpoints \
    mode=big mb=40 path=/api/v1/endpoints
relist_fault "a continue token that never ends" \
    'LIST of services failed: .*more than 400 pages' 1 services \
    mode=endless path=/api/v1/services
relist_fault "a continue token that repeats" \
    'LIST of endpointslices failed: .*gave its own continue token again' 1 endpointslices \
    mode=repeat path=/apis/discovery.k8s.io/v1/endpointslices
relist_fault "an item nested 200 deep" 'items\[2\] was skipped: nested deeper' 1 services \
    mode=deep path=/api/v1/services
relist_fault "items of the wrong types" 'Endpoints.* was skipped' 7 endpoints \
    mode=types path=/api/v1/endpoints
relist_fault "items not an array" 'LIST of endpoints failed: .*items is not an array' 1 endpoints \
    mode=items path=/api/v1/endpoints
relist_fault "no list metadata" 'LIST of services failed: .*no metadata' 1 services \
    mode=nometa path=/api/v1/services

# a watch event past a bound ends that watch; one of the wrong types is
# skipped
watch_fault() { # NAME REGEX MODE
    local mark got
    mark="$(wc -l <"$log")"
    ctl fail-watch mode="$3" count=1 >/dev/null
    ctl close-watches >/dev/null
    for _ in $(seq 100); do
        [[ "$(count_log "$mark" "$2")" -ge 1 ]] && break
        sleep 0.1
    done
    ctl wait watches=3 timeout=15 >/dev/null
    sleep 0.3
    got="$(count_log "$mark" "$2")"
    if [[ "$got" == 1 ]]; then ok "watch, $1: logged once"
    else bad "watch, $1: logged once (got $got)"; tail -n "+$((mark + 1))" "$log" | grep -v debug; fi
    unchanged "watch, $1: the file is unchanged"
}
watch_fault "an event nested 200 deep" 'an event nested deeper than 64 levels' deep
watch_fault "an event of 20000 JSON objects" 'an event more than 16384 JSON objects' maps
watch_fault "an event whose object is a string" 'an event without type or object' types
n="$(grep -Ec 'was skipped: (metadata|spec|subsets|endpoints|addressType)' "$log")"
if [[ "$n" -ge 3 ]]; then ok "watch, events of the wrong types: each skipped with why"
else bad "watch, events of the wrong types: each skipped with why ($n)"; fi

# after all that, a good change is followed
if kill -0 "$k8spid" 2>/dev/null; then ok "extlb-k8s is still running"
else bad "extlb-k8s is still running"; fi
ctl get endpointslices default ext-tcp-lb-4kq7d | python3 -c 'import json, sys
o = json.load(sys.stdin)
o["endpoints"].append({"addresses": ["192.0.2.77"], "conditions": {"ready": True}})
json.dump(o, sys.stdout)' | ctl apply - >/dev/null
for _ in $(seq 100); do grep -q '192.0.2.77' "$conf" && break; sleep 0.1; done
if grep -q 'address = "192.0.2.77"' "$conf"; then ok "then a good change is in the file"
else bad "then a good change is in the file"; cat "$conf"; fi
n="$(count_log "$wmark" 'wrote .*: [0-9]* virtual service\(s\)')"
if [[ "$n" == 1 ]]; then ok "one write in watch mode: the good change's"
else bad "one write in watch mode: the good change's (got $n)"; fi

summary
[[ $failed -eq 0 ]]
