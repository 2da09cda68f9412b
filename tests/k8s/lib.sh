# shellcheck shell=bash
# lib.sh - what the end-to-end tests of extlb-k8s (t-once.sh, t-watch.sh)
# share: where things are, the ok/bad/skip counters and the summary line,
# the extlb-k8s binary, and checks of the written file and of a Service's
# status.  Source it with the script's arguments (BUILDDIR); the script
# then sets tmp, api, out and conf before calling k8s_test_setup.
#
# tmp, api, out and conf are the sourcing script's:
# shellcheck disable=SC2154
#
# The file and extlbd -t checks use $tmp/extlb.conf, a main file whose
# include_dir is $out, and $conf, the file extlb-k8s writes.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-${XL_BUILDDIR:-$repo/build}}"
[[ "$build" = /* ]] || build="$repo/$build"
apiserver="$repo/tests/k8s/apiserver.py"
# shellcheck disable=SC2034 # for the scripts that source this
fixtures="$repo/tests/k8s/fixtures"
extlbd="$build/extlbd"
passed=0 failed=0 skipped=0

ok() { echo "ok      $1"; passed=$((passed + 1)); }
bad() { echo "FAILED  $1"; failed=$((failed + 1)); }
skip() { echo "skipped $1"; skipped=$((skipped + 1)); }
summary() {
    if [[ $skipped -gt 0 ]]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
}

# Without the double there is nothing to test against: skipped, exit 0.
if [[ ! -f "$apiserver" ]]; then
    skip "all: no tests/k8s/apiserver.py"
    summary
    exit 0
fi

# k8s_scratch NAME: a scratch directory $tmp with the double's $api, the output $out, the
# generated $conf and extlb-k8s's $log in it, and an EXIT trap that stops extlb-k8s
# ($k8spid) and the double ($apipid) and removes it all
k8s_scratch() {
    tmp="$(mktemp -d "/tmp/$1.XXXXXX")"
    # shellcheck disable=SC2034 # the sourcing script reads them
    api="$tmp/api" out="$tmp/extlb.d" conf="$tmp/extlb.d/kubernetes.conf" log="$tmp/k8s.log"
    apipid="" k8spid=""
    trap k8s_scratch_cleanup EXIT
}
k8s_scratch_cleanup() {
    stop_pid "$k8spid"
    stop_pid "$apipid"
    rm -rf "$tmp"
}

# The output directory, the main file, and extlb-k8s in $bin: given
# ($EXTLB_K8S), built (BUILDDIR/extlb-k8s), or compiled here into $tmp.
k8s_test_setup() {
    mkdir -p "$out"
    printf 'global: { include_dir = "extlb.d"; };\n' >"$tmp/extlb.conf"
    if [[ -n "${EXTLB_K8S:-}" ]]; then
        bin="$EXTLB_K8S"
    elif [[ -x "$build/extlb-k8s" ]]; then
        bin="$build/extlb-k8s"
    else
        bin="$tmp/extlb-k8s"
        # shellcheck disable=SC2046
        if ! cc -std=gnu11 -O2 -I"$repo/include" "$repo"/src/k8s/*.c "$repo/src/curl_ev.c" \
                $(pkg-config --cflags --libs libcurl json-c yaml-0.1) -lev -lm -o "$bin"; then
            bad "build extlb-k8s from src/k8s"
            summary
            exit 1
        fi
    fi
}

# api_start [OPTIONS...]: the API server double on $api (log $tmp/api.log),
# its pid in apipid; the test ends here when it does not become ready
# shellcheck disable=SC2120 # the options are optional
api_start() {
    python3 "$apiserver" --dir "$api" "$@" >"$tmp/api.log" 2>&1 &
    # shellcheck disable=SC2034 # the sourcing script's cleanup reads it
    apipid=$!
    for _ in $(seq 100); do [[ -f "$api/ready" ]] && return 0; sleep 0.2; done
    bad "the API server double starts"; cat "$tmp/api.log"; summary; exit 1
}

# stop_pid PID: ends a background process of the test (none when empty)
stop_pid() {
    [[ -n "$1" ]] || return 0
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

ctl() { python3 "$apiserver" ctl "$api" "$@"; }
# the ingress IPs a Service's status shows, space separated
status_ips() { # NS NAME
    ctl get services "$1" "$2" | python3 -c 'import json, sys
o = json.load(sys.stdin)
print(" ".join(i.get("ip", "") for i in
      ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []))'
}
# the ingress ipModes a Service's status shows, space separated ("-": none)
status_modes() { # NS NAME
    ctl get services "$1" "$2" | python3 -c 'import json, sys
o = json.load(sys.stdin)
print(" ".join(i.get("ipMode", "-") for i in
      ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []))'
}
# "extlbd -t" on the main file whose include_dir is the output directory
extlbd_accepts() { # NAME COUNT
    if [[ ! -x "$extlbd" ]]; then skip "$1 (no $extlbd)"; return; fi
    if "$extlbd" -t -f "$tmp/extlb.conf" 2>&1 |
            grep -q "configuration is valid ($2 virtual services)"; then
        ok "$1"
    else
        bad "$1"; "$extlbd" -t -f "$tmp/extlb.conf"
    fi
}
same_file() { # NAME EXPECTED-FILE
    if diff -u "$2" "$conf"; then ok "$1"; else bad "$1"; fi
}
# the messages of the Events with REASON about Service NS/NAME, one a
# line; of type TYPE, Warning by default
events_of() { # NS NAME REASON [TYPE]
    ctl objects events | python3 -c 'import json, sys
ns, name, reason, typ = sys.argv[1:]
for e in json.load(sys.stdin)["items"]:
    o = e.get("involvedObject") or {}
    if (e.get("reason") == reason and e.get("type") == typ
            and o.get("kind") == "Service" and o.get("namespace") == ns
            and o.get("name") == name):
        print(e.get("message", ""))' "$1" "$2" "$3" "${4:-Warning}"
}
# a LoadBalancer Service: NAME PORTS-JSON [ANNOTATIONS-JSON [SPEC-EXTRA-JSON]]
lb_service() {
    python3 -c 'import json, sys
name, ports, ann, extra = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
spec = {"type": "LoadBalancer", "ports": ports}
spec.update(extra)
print(json.dumps({"kind": "Service", "apiVersion": "v1",
                  "metadata": {"name": name, "namespace": "default", "annotations": ann},
                  "spec": spec}))' "$1" "$2" "${3:-{\}}" "${4:-{\}}"
}

# kubectl_setup: Debian's kubectl (scripts/deps.sh's xl_kubectl) in $kubectl,
# or the test is skipped (exit 0) when it cannot be had.  kc then runs it
# against the double only: its kubeconfig (server https://127.0.0.1:PORT),
# its caches under $tmp.  --validate=false on apply: kubectl validates
# against the server's OpenAPI document, which the double does not serve
# (GET /openapi/v2 is 404; kubectl 1.20 asks for it in protobuf); the
# double validates what is written instead, as kube-apiserver also does,
# and refuses an invalid object with 422.
kubectl_setup() {
    # shellcheck source=scripts/deps.sh
    . "$repo/scripts/deps.sh"
    if ! kubectl="$(xl_kubectl)" || [[ ! -x "$kubectl" ]]; then
        skip "all: no kubectl (Debian's kubernetes-client)"
        summary
        exit 0
    fi
    "$kubectl" version --client --short 2>/dev/null | sed 's/^/# kubectl: /'
}
kc() { HOME="$tmp" "$kubectl" --kubeconfig "$api/kubeconfig" --cache-dir "$tmp/kube-cache" "$@"; }
# the seed example's two files, as a user writes them, into DIR: endpoint.yml
# (Endpoints ext-tcp-lb, the external IPs given, port 80) and service.yml
# (Service ext-tcp-lb, LoadBalancer, port 8000 -> 80, no selector)
seed_yaml() { # DIR IP...
    local dir="$1" ip
    shift
    {
        printf 'apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: ext-tcp-lb\nsubsets:\n  - addresses:\n'
        for ip in "$@"; do printf '      - ip: %s\n' "$ip"; done
        printf '    ports:\n      - port: 80\n'
    } >"$dir/endpoint.yml"
    printf '%s\n' 'apiVersion: v1' 'kind: Service' 'metadata:' '  name: ext-tcp-lb' 'spec:' \
        '  type: LoadBalancer' '  ports:' '    - port: 8000' '      targetPort: 80' \
        >"$dir/service.yml"
}
# the row of NAME in kubectl's table output, its columns one space apart
kc_row() { # NAME kubectl-get-ARGS...
    local name="$1"
    shift
    kc get "$@" 2>/dev/null | awk -v n="$name" '$1 == n { $1 = $1; print }'
}
# each line of TEXT after PREFIX
prefixed() { # PREFIX TEXT
    local l
    while IFS= read -r l; do printf '%s%s\n' "$1" "$l"; done <<<"$2"
}
# expect NAME WANT GOT: GOT equals WANT
expect() {
    if [[ "$3" == "$2" ]]; then ok "$1"; else bad "$1"; printf 'want: %s\ngot:  %s\n' "$2" "$3"; fi
}
# expect_match NAME REGEX GOT: GOT matches REGEX
expect_match() {
    if [[ "$3" =~ $2 ]]; then ok "$1"; else bad "$1"; printf 'want /%s/\ngot:  %s\n' "$2" "$3"; fi
}
# wait_conf [!] REGEX: waits (up to 10 s) for $conf to match REGEX (or, with
# !, to exist and not match it)
wait_conf() {
    local neg=0
    [[ "$1" == "!" ]] && { neg=1; shift; }
    for _ in $(seq 50); do
        if grep -Eq "$1" "$conf" 2>/dev/null; then
            [[ $neg -eq 0 ]] && return 0
        elif [[ $neg -eq 1 && -f "$conf" ]]; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}
