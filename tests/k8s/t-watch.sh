#!/usr/bin/env bash
# t-watch.sh - end-to-end test of extlb-k8s in watch mode (no --once)
# against the Kubernetes API server double (tests/k8s/apiserver.py).  One
# extlb-k8s runs in the background for the whole test while the cluster
# changes under it: endpoints come, go and stop being ready, ports are
# renamed, a VIP is asked for, Services are deleted, the pool runs out, a
# Service stops being a LoadBalancer; then the watches get 410 Gone (in the
# stream and over HTTP), the API server restarts, LISTs fail and hang.
# After each step the written file is compared in full, and the Services'
# status is checked.  Throughout, the file must never vanish or be empty,
# every version written must pass extlbd -t, and an unchanged cluster must
# cause no write, no reload and no status PATCH.
#
# Usage: tests/k8s/t-watch.sh [BUILDDIR]  (default: $XL_BUILDDIR, else build;
#        make check sets XL_BUILDDIR)
#   extlb-k8s is $EXTLB_K8S, else BUILDDIR/extlb-k8s, else compiled here
#   from src/k8s; extlbd is BUILDDIR/extlbd (its checks are skipped
#   without it).  Ends with "N passed, N failed[, N skipped]"; exits 1 if
#   anything failed.
set -uo pipefail

# shellcheck source=tests/k8s/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

tmp="$(mktemp -d /tmp/t-watch.XXXXXX)"
api="$tmp/api" out="$tmp/extlb.d" conf="$out/kubernetes.conf"
log="$tmp/k8s.log" reloads="$tmp/reloads"
apipid="" k8spid="" monpid=""
cleanup() {
    [[ -n "$monpid" ]] && kill "$monpid" 2>/dev/null
    stop_pid "$k8spid"
    stop_pid "$apipid"
    rm -rf "$tmp"
}
trap cleanup EXIT
k8s_test_setup
mkdir -p "$tmp/versions"
: >"$reloads"

# The double keeps its objects over a restart with --state-file; an older
# one without it still runs everything but the restart.
state_opt=()
if python3 "$apiserver" --help 2>/dev/null | grep -c -- --state-file >/dev/null; then
    state_opt=(--state-file "$api/state.json")
fi
start_api() { # [OPTIONS]
    rm -f "$api/ready"
    python3 "$apiserver" --dir "$api" --watch-timeout 5 --bookmark-interval 1 \
        "${state_opt[@]}" "$@" >>"$tmp/api.log" 2>&1 &
    apipid=$!
    for _ in $(seq 100); do [[ -f "$api/ready" ]] && return 0; sleep 0.1; done
    return 1
}
if ! start_api; then
    bad "the API server double starts"; cat "$tmp/api.log"; summary; exit 1
fi

# waits (up to 10 s) for a Service's status to show WANT
wait_status() { # NAME NS SERVICE WANT
    local ips=""
    for _ in $(seq 50); do
        ips="$(status_ips "$2" "$3")"
        [[ "$ips" == "$4" ]] && break
        sleep 0.2
    done
    if [[ "$ips" == "$4" ]]; then ok "$1"; else bad "$1 (got '$ips')"; fi
}
# waits (up to 10 s) for the file to be the text on stdin, then compares
expect_file() { # NAME
    cat >"$tmp/want.conf"
    for _ in $(seq 100); do
        cmp -s "$tmp/want.conf" "$conf" && break
        sleep 0.1
    done
    same_file "$1" "$tmp/want.conf"
}
# replaces an object by a changed copy: PYTHON edits the dict o
edit() { # RESOURCE NS NAME PYTHON
    ctl get "$1" "$2" "$3" | python3 -c 'import json, sys
o = json.load(sys.stdin)
exec(sys.argv[1])
json.dump(o, sys.stdout)' "$4" | ctl apply - >/dev/null
}
# how many logged API requests r satisfy the Python expression
nreq() { # EXPRESSION
    ctl requests | python3 -c 'import json, sys
f = eval("lambda r: " + sys.argv[1])
print(sum(1 for r in json.load(sys.stdin)["requests"] if f(r)))' "$1"
}
LIST='r["method"] == "GET" and "watch" not in r["query"]'
WATCH='r["method"] == "GET" and "watch" in r["query"]'
# waits (up to 10 s) for a request to hang at the double (a faulted request
# has no "watch" mark in the log, so ctl wait cannot tell it from a LIST)
wait_hung() { # PATH
    local n=0
    for _ in $(seq 100); do
        n="$(nreq "r.get(\"fault\") == \"hang\" and r[\"path\"] == \"$1\"")"
        [[ "$n" -gt 0 ]] && return 0
        sleep 0.1
    done
    return 1
}
# the log from line MARK on; whether a line there matches an extended regex
# (grep -c reads it all: with grep -q, pipefail would see tail's SIGPIPE);
# waits for such a line
logmark() { wc -l <"$log"; }
log_since() { tail -n "+$(($1 + 1))" "$log"; }
log_has() { log_since "$1" | grep -Ec "$2" >/dev/null; }
wait_log() { # MARK REGEX
    for _ in $(seq 100); do
        log_has "$1" "$2" && return 0
        sleep 0.1
    done
    return 1
}
# AllocationFailed Events about default/NAME
alloc_events() { # NAME
    ctl objects events | python3 -c 'import json, sys
print(sum(1 for e in json.load(sys.stdin)["items"]
          if e.get("reason") == "AllocationFailed" and e.get("type") == "Warning"
          and (e.get("involvedObject") or {}).get("kind") == "Service"
          and (e.get("involvedObject") or {}).get("namespace") == "default"
          and (e.get("involvedObject") or {}).get("name") == sys.argv[1]))' "$1"
}
# waits (up to 10 s) for COMMAND to print a number above 0; prints the last
wait_count() { # COMMAND...
    local n=0
    for _ in $(seq 50); do
        n="$("$@")"
        [[ "$n" -ge 1 ]] && break
        sleep 0.2
    done
    echo "$n"
}

header='# Written by extlb-k8s from the Kubernetes API: do not edit,
# it is rewritten whenever the cluster changes.'

# ---- extlb-k8s in watch mode, for the whole test ----
"$bin" --kubeconfig "$api/kubeconfig" --default-class \
    --vip-pool 192.0.2.100-192.0.2.102 --allow-vip 192.0.2.150 --output "$conf" --debounce 0.1 \
    --watch-timeout 2 --reload-command "echo >>'$reloads'" -v 2>"$log" &
k8spid=$!

# Every version of the file is kept (a rename gives it a new inode), and
# any moment at which it is missing or empty once written is noted.
(
    last="" n=0
    while :; do
        if [[ -s "$conf" ]]; then
            id="$(stat -c '%i %y %s' "$conf" 2>/dev/null)"
            if [[ -n "$id" && "$id" != "$last" ]]; then
                n=$((n + 1))
                cp "$conf" "$tmp/versions/$(printf %04d $n)" 2>/dev/null
                last="$id"
            fi
        elif [[ -n "$last" ]]; then
            echo "$(date +%T.%N): missing or empty" >>"$tmp/gaps"
        fi
        sleep 0.05
    done
) &
monpid=$!

# ---- 0. an empty cluster: an empty list ----
expect_file "start: an empty cluster gives an empty list" <<EOT
$header
virtual_services = ( );
EOT
if ctl wait watches=3 timeout=10 >/dev/null; then ok "start: three watches open"
else bad "start: three watches open"; fi

# ---- 1. the seed: ext-tcp-lb, port 8000 -> manual Endpoints 192.0.2.10:80 ----
ctl apply "$fixtures/service-ext-tcp-lb.json" "$fixtures/endpoints-ext-tcp-lb.json" >/dev/null
expect_file "seed: the file in full" <<EOT
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
wait_status "seed: the status shows the VIP" default ext-tcp-lb 192.0.2.100
extlbd_accepts "seed: extlbd -t accepts the file" 1
if grep -q 'in sync: .* ms after the change' "$log"; then ok "seed: 'in sync' logged"
else bad "seed: 'in sync' logged"; fi

# ---- 2. endpoints added: two more ready addresses; web's slice, all ready ----
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.12"}, {"ip": "192.0.2.11"}],
              "ports": [{"port": 80, "protocol": "TCP"}]}]}
EOT
expect_file "endpoint added: new real servers, sorted" <<EOT
$header
virtual_services = (
  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.100";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; },
      { address = "192.0.2.11"; port = 80; weight = 1; },
      { address = "192.0.2.12"; port = 80; weight = 1; }
    );
  }
);
EOT
python3 - "$fixtures/endpointslice-web-ipv4.json" >"$tmp/slice-ready.json" <<'EOT'
import json, sys
o = json.load(open(sys.argv[1]))
for e in o["endpoints"]:
    e["conditions"] = {"ready": True, "serving": True, "terminating": False}
json.dump(o, sys.stdout)
EOT
ctl apply "$fixtures/service-web.json" "$tmp/slice-ready.json" >/dev/null
expect_file "endpoint added: web from its EndpointSlice, every endpoint ready" <<EOT
$header
virtual_services = (
  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.100";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; },
      { address = "192.0.2.11"; port = 80; weight = 1; },
      { address = "192.0.2.12"; port = 80; weight = 1; }
    );
  },
  {
    name = "shop/web:http";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8080; weight = 1; },
      { address = "198.51.100.12"; port = 8080; weight = 1; },
      { address = "198.51.100.13"; port = 8080; weight = 1; }
    );
  },
  {
    name = "shop/web:https";
    vip = "192.0.2.101";
    port = 443;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8443; weight = 1; },
      { address = "198.51.100.12"; port = 8443; weight = 1; },
      { address = "198.51.100.13"; port = 8443; weight = 1; }
    );
  }
);
EOT
wait_status "endpoint added: web's status shows its VIP" shop web 192.0.2.101
extlbd_accepts "endpoint added: extlbd -t accepts the file" 3
allocated() { events_of "$1" "$2" IPAllocated Normal | grep -c "VIP $3 assigned (ipMode Proxy)"; }
n="$(wait_count allocated shop web 192.0.2.101)" m="$(allocated default ext-tcp-lb 192.0.2.100)"
if [[ "$n" == 1 && "$m" == 1 ]]; then ok "IPAllocated: one Normal Event per Service over the passes"
else bad "IPAllocated: one Normal Event per Service over the passes (web $n, ext-tcp-lb $m)"; fi

# ---- 3. not ready: left out; serving and terminating: out while one is ready ----
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.12"}],
              "notReadyAddresses": [{"ip": "192.0.2.11"}],
              "ports": [{"port": 80, "protocol": "TCP"}]}]}
EOT
# the fixture itself: .12 serving and terminating, .13 not serving
ctl apply "$fixtures/endpointslice-web-ipv4.json" >/dev/null
expect_file "not ready: left out; terminating: out beside a ready one" <<EOT
$header
virtual_services = (
  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.100";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; },
      { address = "192.0.2.12"; port = 80; weight = 1; }
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
extlbd_accepts "not ready: extlbd -t accepts the file" 3

# ---- 4. endpoints removed ----
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.10"}],
              "notReadyAddresses": [{"ip": "192.0.2.11"}],
              "ports": [{"port": 80, "protocol": "TCP"}]}]}
EOT
edit endpointslices shop web-x7m2p \
    'o["endpoints"] = [e for e in o["endpoints"] if e["addresses"] != ["198.51.100.12"]]'
web_https='  {
    name = "shop/web:https";
    vip = "192.0.2.101";
    port = 443;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8443; weight = 1; }
    );
  }'
expect_file "endpoint removed: its real servers leave" <<EOT
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
$web_https
);
EOT

# ---- 5. ports renamed ----
# The Service port and the slice port renamed together: the same real
# servers under the new name.
ctl get services shop web | python3 -c 'import json, sys
o = json.load(sys.stdin)
o["spec"]["ports"][0]["name"] = "web"
o["spec"]["ports"][0]["targetPort"] = "web"
print(json.dumps(o))' >"$tmp/web-renamed.json"
ctl get endpointslices shop web-x7m2p | python3 -c 'import json, sys
o = json.load(sys.stdin)
for p in o["ports"]:
    if p["name"] == "http":
        p["name"] = "web"
print(json.dumps(o))' >"$tmp/slice-renamed.json"
ctl apply "$tmp/web-renamed.json" "$tmp/slice-renamed.json" >/dev/null
expect_file "port renamed with its slice port: same real servers, new name" <<EOT
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
$web_https,
  {
    name = "shop/web:web";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8080; weight = 1; }
    );
  }
);
EOT
# Only the Service port renamed: of a two-port Service, no slice port
# matches it, so it has no real servers (and is still a valid file); a
# PortUnmatched Event says so.  Beside it, an FQDN slice, ignored with an
# Event of its own: two Events for one Service, each once.
ctl apply - >/dev/null <<'EOT'
{"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
 "metadata": {"name": "web-fqdn", "namespace": "shop",
              "labels": {"kubernetes.io/service-name": "web"}},
 "addressType": "FQDN", "endpoints": [{"addresses": ["db.example"]}],
 "ports": [{"name": "https", "port": 8443, "protocol": "TCP"}]}
EOT
edit services shop web 'o["spec"]["ports"][0]["name"] = "www"'
expect_file "port renamed alone: no slice port matches, no real servers" <<EOT
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
$web_https,
  {
    name = "shop/web:www";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  }
);
EOT
extlbd_accepts "port renamed alone: extlbd -t accepts the file" 3
unmatched() { events_of shop web PortUnmatched | grep -c 'port www (80/TCP): no endpoint port has its name'; }
fqdn() { events_of shop web FQDNIgnored | grep -c 'EndpointSlice web-fqdn has addressType FQDN'; }
n="$(wait_count unmatched)" m="$(wait_count fqdn)"
if [[ "$n" == 1 && "$m" == 1 ]]; then ok "port renamed alone: a PortUnmatched and an FQDNIgnored Event"
else bad "port renamed alone: a PortUnmatched and an FQDNIgnored Event ($n, $m)"; fi
# A one-port Service takes the only port of its Endpoints whatever its name.
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "ext-tcp-lb", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.13"}, {"ip": "192.0.2.10"}],
              "ports": [{"name": "metrics", "port": 80, "protocol": "TCP"}]}]}
EOT
ext_150='  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.150";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; },
      { address = "192.0.2.13"; port = 80; weight = 1; }
    );
  }'
expect_file "one-port Service: the only Endpoints port serves, whatever its name" <<EOT
$header
virtual_services = (
  {
    name = "default/ext-tcp-lb:8000";
    vip = "192.0.2.100";
    port = 8000;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.10"; port = 80; weight = 1; },
      { address = "192.0.2.13"; port = 80; weight = 1; }
    );
  },
$web_https,
  {
    name = "shop/web:www";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  }
);
EOT

sleep 0.3
n="$(unmatched)" m="$(fqdn)"
if [[ "$n" == 1 && "$m" == 1 ]]; then ok "port renamed alone: another pass, no second Event"
else bad "port renamed alone: another pass, no second Event ($n, $m)"; fi
ctl delete endpointslices shop web-fqdn >/dev/null
# ---- 6. the VIP annotation: another address, outside the pool ----
edit services default ext-tcp-lb \
    'o["metadata"].setdefault("annotations", {})["extlb.io/vip"] = "192.0.2.150"'
expect_file "VIP annotation: the file uses the address asked for" <<EOT
$header
virtual_services = (
$ext_150,
$web_https,
  {
    name = "shop/web:www";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  }
);
EOT
wait_status "VIP annotation: the status follows" default ext-tcp-lb 192.0.2.150

# ---- 7. a Service deleted (and its slice, as the garbage collector would) ----
ctl delete services shop web >/dev/null
ctl delete endpointslices shop web-x7m2p >/dev/null
expect_file "Service deleted: its virtual services leave the file" <<EOT
$header
virtual_services = (
$ext_150
);
EOT
extlbd_accepts "Service deleted: extlbd -t accepts the file" 1

# ---- 8. the pool (3 addresses) runs out: 4 Services want one ----
python3 - >"$tmp/pool.json" <<'EOT'
import json
print(json.dumps({"kind": "List", "apiVersion": "v1", "items": [
    {"kind": "Service", "apiVersion": "v1",
     "metadata": {"name": "pool-" + x, "namespace": "default"},
     "spec": {"type": "LoadBalancer",
              "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    for x in "abcd"]}))
EOT
ctl apply "$tmp/pool.json" >/dev/null
pool_c='  {
    name = "default/pool-c:80";
    vip = "192.0.2.102";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  }'
expect_file "pool exhausted: the fourth Service is left out" <<EOT
$header
virtual_services = (
$ext_150,
  {
    name = "default/pool-a:80";
    vip = "192.0.2.100";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  },
  {
    name = "default/pool-b:80";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  },
$pool_c
);
EOT
extlbd_accepts "pool exhausted: extlbd -t accepts the file" 4
wait_status "pool exhausted: pool-c's status shows its VIP" default pool-c 192.0.2.102
ips="$(status_ips default pool-d)"
if [[ -z "$ips" ]]; then ok "pool exhausted: pool-d's status stays empty"
else bad "pool exhausted: pool-d's status stays empty (got '$ips')"; fi
if ctl objects events >/dev/null 2>&1; then
    n="$(wait_count alloc_events pool-d)"
    if [[ "$n" == 1 ]]; then ok "pool exhausted: one AllocationFailed Event names pool-d"
    else bad "pool exhausted: one AllocationFailed Event names pool-d (got $n)"; fi
else
    skip "pool exhausted: AllocationFailed Event (the double serves no events)"
fi
# an unrelated change: the file changes, no second Event
ctl apply - >/dev/null <<'EOT'
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "pool-a", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "192.0.2.20"}],
              "ports": [{"port": 8080, "protocol": "TCP"}]}]}
EOT
expect_file "pool exhausted: an unrelated change is written" <<EOT
$header
virtual_services = (
$ext_150,
  {
    name = "default/pool-a:80";
    vip = "192.0.2.100";
    port = 80;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.20"; port = 8080; weight = 1; }
    );
  },
  {
    name = "default/pool-b:80";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  },
$pool_c
);
EOT
if ctl objects events >/dev/null 2>&1; then
    sleep 0.3
    n="$(alloc_events pool-d)"
    if [[ "$n" == 1 ]]; then ok "pool exhausted: no second Event after an unrelated change"
    else bad "pool exhausted: no second Event after an unrelated change (got $n)"; fi
else
    skip "pool exhausted: no second Event (the double serves no events)"
fi
# a VIP freed: the pending Service gets it
ctl delete services default pool-b >/dev/null
pool_d='  {
    name = "default/pool-d:80";
    vip = "192.0.2.101";
    port = 80;
    protocol = "tcp";
    real_servers = ( );
  }'
expect_file "pool exhausted: a deleted Service's VIP goes to the pending one" <<EOT
$header
virtual_services = (
$ext_150,
  {
    name = "default/pool-a:80";
    vip = "192.0.2.100";
    port = 80;
    protocol = "tcp";
    real_servers = (
      { address = "192.0.2.20"; port = 8080; weight = 1; }
    );
  },
$pool_c,
$pool_d
);
EOT
wait_status "pool exhausted: pool-d's status shows the freed VIP" default pool-d 192.0.2.101

# ---- 8b. a VIP the policy refuses: pending, one Event for all the passes ----
mark="$(logmark)"
lb_service meta '[{"port": 80}]' '{"extlb.io/vip": "169.254.169.254"}' | ctl apply - >/dev/null
meta_refused() { events_of default meta VIPRefused | grep -c '169.254.169.254 is a link-local address'; }
n="$(wait_count meta_refused)"
if [[ "$n" == 1 ]]; then ok "refused VIP: one VIPRefused Event"
else bad "refused VIP: one VIPRefused Event (got $n)"; fi
if wait_log "$mark" 'warning: Service default/meta is pending \(VIPRefused\): annotation extlb.io/vip refused: 169.254.169.254'; then
    ok "refused VIP: logged as pending, with the reason"
else
    bad "refused VIP: logged as pending, with the reason"; log_since "$mark"
fi
if [[ -z "$(status_ips default meta)" ]] && ! grep -q 'default/meta' "$conf"; then
    ok "refused VIP: no status, not in the file"
else
    bad "refused VIP: no status, not in the file"
fi
# passes for other reasons: the file changes, the Event is not posted again
edit endpoints default pool-a 'o["subsets"][0]["addresses"].append({"ip": "192.0.2.25"})'
for _ in $(seq 50); do grep -q 192.0.2.25 "$conf" && break; sleep 0.1; done
edit endpoints default pool-a 'o["subsets"][0]["addresses"].pop()'
for _ in $(seq 50); do grep -q 192.0.2.25 "$conf" || break; sleep 0.1; done
sleep 0.3
n="$(events_of default meta VIPRefused | wc -l)"
m="$(log_since "$mark" | grep -c 'Service default/meta is pending')"
if [[ "$n" == 1 && "$m" == 1 ]]; then ok "refused VIP: two more passes, no second Event or log line"
else bad "refused VIP: two more passes, no second Event or log line ($n Events, $m lines)"; fi
ctl delete services default meta >/dev/null

# ---- 9. LoadBalancer -> ClusterIP (the status kept by the update) ----
ctl clear-requests >/dev/null
edit services default pool-a 'o["spec"]["type"] = "ClusterIP"
for p in o["spec"]["ports"]:
    p.pop("nodePort", None)
o["spec"].pop("allocateLoadBalancerNodePorts", None)
o["spec"].pop("externalTrafficPolicy", None)'
expect_file "type ClusterIP: the Service leaves the file" <<EOT
$header
virtual_services = (
$ext_150,
$pool_c,
$pool_d
);
EOT
wait_status "type ClusterIP: its status is cleared" default pool-a ""
n="$(nreq 'r["method"] == "PATCH" and r["path"].endswith("/services/pool-a/status")')"
if [[ "$n" == 1 ]]; then ok "type ClusterIP: cleared by one status PATCH"
else bad "type ClusterIP: cleared by one status PATCH (got $n)"; fi

# ---- 13 (so far). the server's watch timeouts are not failures ----
n="$(grep -c 'ended by the server' "$log")"
if [[ "$n" -ge 3 ]] && ! grep -Eq 'failed|watch of .*(error|cut|not JSON)' "$log"; then
    ok "normal watch timeouts ($n so far): nothing logged as a failure"
else
    bad "normal watch timeouts ($n so far): nothing logged as a failure"
    grep -E 'failed|watch of .*(error|cut|not JSON)' "$log"
fi

# From here on the file is ext-tcp-lb, pool-c and pool-d; pool-c's port and
# its one endpoint change.
pool_c_port=80 pool_c_ip=""
final_conf() {
    cat <<EOT
$header
virtual_services = (
$ext_150,
  {
    name = "default/pool-c:$pool_c_port";
    vip = "192.0.2.102";
    port = $pool_c_port;
    protocol = "tcp";
    real_servers = (
      { address = "$pool_c_ip"; port = 8080; weight = 1; }
    );
  },
$pool_d
);
EOT
}
pool_c_eps() { # ADDRESS: pool-c's Endpoints become that one address
    pool_c_ip="$1"
    ctl apply - >/dev/null <<EOT
{"kind": "Endpoints", "apiVersion": "v1",
 "metadata": {"name": "pool-c", "namespace": "default"},
 "subsets": [{"addresses": [{"ip": "$1"}],
              "ports": [{"port": 8080, "protocol": "TCP"}]}]}
EOT
}

# ---- 10a. 410 in the stream (ERROR event), a change before the re-LIST ----
# The re-LIST of endpoints hangs while pool-c gets an endpoint; then that
# LIST is cut and the next one must bring the change.
ctl clear-requests >/dev/null
mark="$(logmark)"
ctl hang count=1 seconds=8 method=GET watch=false path=/api/v1/endpoints >/dev/null
ctl compact >/dev/null
ctl expire-watches >/dev/null
if wait_hung /api/v1/endpoints; then ok "410 in the stream: endpoints LIST again (held)"
else bad "410 in the stream: endpoints LIST again (held)"; fi
pool_c_eps 192.0.2.21
ctl release >/dev/null
expect_file "410 in the stream: a change made before the re-LIST is in the file" < <(final_conf)
n=0
for _ in $(seq 50); do
    n="$(log_since "$mark" | grep -Ec 'watch of .*: too old resource version.* \(410 Gone\): listing again')"
    [[ "$n" -ge 3 ]] && break
    sleep 0.1
done
# each of the 3 watches lists again (a watch that happened to reconnect
# between the compaction and the expiry gets its 410 too: a 4th is fine)
k=0
for kind in services endpointslices endpoints; do
    log_since "$mark" | grep -Eq "watch of $kind: too old resource version.* \(410 Gone\): listing again" &&
        k=$((k + 1))
done
if [[ "$k" == 3 ]]; then ok "410 in the stream: 'listing again' logged for the 3 watches"
else bad "410 in the stream: 'listing again' logged for the 3 watches (got $n lines, $k kinds)"; log_since "$mark"; fi
for p in /api/v1/services /apis/discovery.k8s.io/v1/endpointslices /api/v1/endpoints; do
    if ctl wait method=GET watch=false status=200 path="$p" timeout=5 >/dev/null; then
        ok "410 in the stream: a new LIST of $p"
    else
        bad "410 in the stream: a new LIST of $p"
    fi
done
extlbd_accepts "410 in the stream: extlbd -t accepts the file" 3

# ---- 10b. 410 over HTTP on resume, after a change missed while away ----
ctl set goneMode=http >/dev/null
ctl clear-requests >/dev/null
mark="$(logmark)"
ctl hang count=1 seconds=8 watch=true path=/api/v1/endpoints >/dev/null
ctl close-watches >/dev/null
wait_hung /api/v1/endpoints
pool_c_eps 192.0.2.22
ctl compact >/dev/null
ctl release >/dev/null
expect_file "410 over HTTP: a change missed while away is in the file" < <(final_conf)
if log_has "$mark" 'watch of endpoints: 410 Gone: listing again'; then
    ok "410 over HTTP: 'listing again' logged"
else
    bad "410 over HTTP: 'listing again' logged"; log_since "$mark"
fi
n="$(nreq "$WATCH and r[\"path\"] == \"/api/v1/endpoints\" and r[\"status\"] == 410")"
m="$(nreq "$LIST and r[\"path\"] == \"/api/v1/endpoints\" and r[\"status\"] == 200")"
if [[ "$n" -ge 1 && "$m" -ge 1 ]]; then ok "410 over HTTP: the watch got 410, then a new LIST"
else bad "410 over HTTP: the watch got 410, then a new LIST ($n watch 410, $m LIST)"; fi
ctl set goneMode=stream >/dev/null

# ---- 11. the API server restarts (its objects kept) ----
if [[ ${#state_opt[@]} -eq 0 ]]; then
    skip "API server restart (the double has no --state-file)"
else
    port="$(cat "$api/port")"
    cp "$conf" "$tmp/before-restart.conf"
    mark="$(logmark)"
    ctl stop >/dev/null
    wait "$apipid"
    apipid=""
    if wait_log "$mark" 'watch of (services|endpointslices|endpoints) failed: .*; again in [0-9.]+ s'; then
        ok "restart: the lost watches are logged, with the retry delay"
    else
        bad "restart: the lost watches are logged, with the retry delay"; log_since "$mark"
    fi
    # while it is away: a change, as etcd would keep it (a new revision)
    python3 - "$api/state.json" <<'EOT'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
rv = str(int(s["resourceVersion"]) + 1)
s["resourceVersion"] = rv
for o in s["objects"]["endpoints"]:
    if o["metadata"]["namespace"] == "default" and o["metadata"]["name"] == "pool-c":
        o["subsets"][0]["addresses"] = [{"ip": "192.0.2.23"}]
        o["metadata"]["resourceVersion"] = rv
json.dump(s, open(p, "w"))
EOT
    pool_c_ip=192.0.2.23
    sleep 1
    if cmp -s "$conf" "$tmp/before-restart.conf"; then ok "restart: the file is kept while the server is away"
    else bad "restart: the file is kept while the server is away"; fi
    if start_api --port "$port"; then ok "restart: the double is back on port $port"
    else bad "restart: the double is back on port $port"; cat "$tmp/api.log"; fi
    expect_file "restart: a change made while away is in the file" < <(final_conf)
    if log_has "$mark" '\(410 Gone\): listing again'; then
        ok "restart: resuming from a resourceVersion before the restart LISTs again"
    else
        bad "restart: resuming from a resourceVersion before the restart LISTs again"
        log_since "$mark" | grep -v bookmark
    fi
    if ctl wait watches=3 timeout=15 >/dev/null; then ok "restart: three watches open again"
    else bad "restart: three watches open again"; fi
    pool_c_eps 192.0.2.24
    expect_file "restart: the watches follow changes again" < <(final_conf)
fi

# ---- 12. LISTs that fail (500) and hang: the file is kept, then follows ----
# whether the log after line MARK shows a write between the first line that
# matches FROM and the next that matches TO (awk reads the file itself: a
# pipe it left early would fail under pipefail)
written_between() { # MARK FROM TO
    awk -v m="$1" -v from="$2" -v to="$3" '
        NR <= m { next }
        !on && $0 ~ from { on = 1; next }
        on && $0 ~ to { exit }
        on && /: info: wrote / { w = 1; exit }
        END { exit !w }' "$log"
}
ctl clear-requests >/dev/null
mark="$(logmark)"
ctl fail count=3 code=500 method=GET watch=false path=/api/v1/services >/dev/null
ctl compact >/dev/null
ctl expire-watches >/dev/null
# changed while the LISTs fail: no watch of services is open to tell
ctl wait method=GET path=/api/v1/services status=500 count=1 timeout=10 >/dev/null
edit services default pool-c 'o["spec"]["ports"][0]["port"] = 81'
pool_c_port=81
expect_file "LIST 500: after the retries, the change is in the file" < <(final_conf)
if ! written_between "$mark" 'LIST of services failed' 'listed [0-9]+ services'; then
    ok "LIST 500: the file is kept while the LISTs fail"
else
    bad "LIST 500: the file is kept while the LISTs fail"; log_since "$mark" | grep -v debug
fi
n="$(log_since "$mark" | grep -c 'LIST of services failed: again in [0-9.]* s')"
if [[ "$n" == 3 ]]; then ok "LIST 500: each failure logged with its retry delay"
else bad "LIST 500: each failure logged with its retry delay (got $n)"; fi
# a LIST that hangs (the whole loop waits for it) until the double drops it
cp "$conf" "$tmp/saved.conf"
ctl clear-requests >/dev/null
ctl hang count=1 seconds=10 method=GET watch=false path=/api/v1/services >/dev/null
ctl compact >/dev/null
ctl expire-watches >/dev/null
if wait_hung /api/v1/services; then ok "LIST hangs: the re-LIST of services is held"
else bad "LIST hangs: the re-LIST of services is held"; fi
edit services default pool-c 'o["spec"]["ports"][0]["port"] = 80'
pool_c_port=80
if cmp -s "$conf" "$tmp/saved.conf"; then ok "LIST hangs: the file is kept meanwhile"
else bad "LIST hangs: the file is kept meanwhile"; fi
ctl release >/dev/null
expect_file "LIST hangs: once dropped, the next LIST brings the change" < <(final_conf)
n="$(nreq "$LIST and r[\"path\"] == \"/api/v1/services\" and r[\"status\"] == \"dropped\"")"
m="$(nreq "$LIST and r[\"path\"] == \"/api/v1/services\" and r[\"status\"] == 200")"
if [[ "$n" == 1 && "$m" -ge 1 ]]; then ok "LIST hangs: dropped by the double, then LISTed again"
else bad "LIST hangs: dropped by the double, then LISTed again ($n dropped, $m answered)"; fi
extlbd_accepts "after the failures: extlbd -t accepts the file" 3

# ---- 12a. a LIST of many pages (extlb-k8s asks for 500 objects a page) ----
python3 -c 'import json
print(json.dumps({"kind": "List", "apiVersion": "v1", "items": [
    {"kind": "Endpoints", "apiVersion": "v1",
     "metadata": {"name": "bulk-%d" % i, "namespace": "bulk"},
     "subsets": [{"addresses": [{"ip": "198.51.100.%d" % (i % 250 + 1)}],
                  "ports": [{"port": 80}]}]} for i in range(1100)]}))' >"$tmp/bulk.json"
ctl apply "$tmp/bulk.json" >/dev/null
cp "$conf" "$tmp/saved.conf"
ctl clear-requests >/dev/null
mark="$(logmark)"
ctl compact >/dev/null
ctl expire-watches >/dev/null
nep=$(ctl objects endpoints | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))')
if wait_log "$mark" "listed $nep endpoints"; then ok "a LIST of $nep Endpoints in 3 pages: all listed"
else bad "a LIST of $nep Endpoints in 3 pages: all listed"; log_since "$mark" | grep -v debug; fi
n="$(nreq "$LIST and r[\"path\"] == \"/api/v1/endpoints\" and \"continue\" in r[\"query\"] and r[\"status\"] == 200")"
if [[ "$n" == 2 ]]; then ok "a LIST of many pages: pages 2 and 3 asked with the continue token"
else bad "a LIST of many pages: pages 2 and 3 asked with the continue token (got $n)"; fi
sleep 0.5
if cmp -s "$conf" "$tmp/saved.conf"; then ok "a LIST of many pages: the file is the same"
else bad "a LIST of many pages: the file is the same"; diff "$tmp/saved.conf" "$conf"; fi
ctl delete "$tmp/bulk.json" >/dev/null

# ---- 12b. a watch that sends bytes that are not JSON, one an 80 MiB event ----
cp "$conf" "$tmp/saved.conf"
mark="$(logmark)"
ctl fail-watch mode=garbage count=1 >/dev/null
ctl fail-watch mode=huge count=1 >/dev/null
ctl close-watches >/dev/null # each resumes: the first two resumes get the faults
if wait_log "$mark" 'the stream is not JSON'; then ok "garbage in a watch: logged"
else bad "garbage in a watch: logged"; fi
if wait_log "$mark" 'an event larger than [0-9]+ MiB'; then ok "an 80 MiB event: cut at the bound, logged"
else bad "an 80 MiB event: cut at the bound, logged"; fi
if cmp -s "$conf" "$tmp/saved.conf" && ! written_between "$mark" 'close-watches|not JSON' 'larger than'; then
    ok "bad watch streams: the file is kept"
else
    bad "bad watch streams: the file is kept"
fi
ctl wait watches=3 timeout=15 >/dev/null
edit services default pool-c 'o["spec"]["ports"][0]["port"] = 82'
pool_c_port=82
expect_file "bad watch streams: the watches resume and follow the next change" < <(final_conf)
edit services default pool-c 'o["spec"]["ports"][0]["port"] = 80'
pool_c_port=80
expect_file "and the one after" < <(final_conf)

# ---- 13, 14. an unchanged cluster over a few watch timeouts ----
sleep 0.5
before="$(stat -c '%i %y' "$conf")"
nreloads="$(wc -l <"$reloads")"
ctl clear-requests >/dev/null
mark="$(logmark)"
sleep 5
after="$(stat -c '%i %y' "$conf")"
if [[ "$before" == "$after" && "$(wc -l <"$reloads")" == "$nreloads" ]]; then
    ok "unchanged: no write, no reload command"
else
    bad "unchanged: no write, no reload command ($before / $after, reloads $nreloads / $(wc -l <"$reloads"))"
fi
n="$(nreq 'r["method"] in ("PATCH", "PUT", "POST")')"
m="$(nreq "$LIST")"
w="$(nreq "$WATCH")"
if [[ "$n" == 0 && "$m" == 0 && "$w" -ge 6 ]]; then
    ok "unchanged: $w watches resumed, no LIST, no PATCH, no POST"
else
    bad "unchanged: watches resumed, no LIST, no PATCH, no POST ($w watches, $m LISTs, $n writes)"
fi
n="$(log_since "$mark" | grep -c 'ended by the server')"
if [[ "$n" -ge 6 ]] && ! log_has "$mark" 'warning|error|failed'; then
    ok "normal watch timeouts ($n): no warning, error or failure logged"
else
    bad "normal watch timeouts ($n): no warning, error or failure logged"; log_since "$mark" | grep -v debug
fi
if ctl objects events >/dev/null 2>&1; then
    n="$(alloc_events pool-d)"
    if [[ "$n" == 1 ]]; then ok "the AllocationFailed Event was posted once in all"
    else bad "the AllocationFailed Event was posted once in all (got $n)"; fi
fi

# ---- 15. SIGTERM ----
kill -TERM "$k8spid"
for _ in $(seq 20); do kill -0 "$k8spid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$k8spid" 2>/dev/null; then
    bad "SIGTERM: stops within 2 s"
else
    wait "$k8spid"
    rc=$?
    if [[ $rc == 0 ]]; then ok "SIGTERM: exit 0 within 2 s"; else bad "SIGTERM: exit 0 within 2 s (exit $rc)"; fi
fi
k8spid=""
sleep 0.2
kill "$monpid" 2>/dev/null
wait "$monpid" 2>/dev/null
monpid=""

# ---- all along ----
if [[ -s "$conf" ]]; then ok "the file stays after the stop"; else bad "the file stays after the stop"; fi
if [[ ! -s "$tmp/gaps" ]]; then ok "the file was never missing or empty"
else bad "the file was never missing or empty"; head "$tmp/gaps"; fi
dotfiles=("$out"/.[!.]*)
if [[ ! -e "${dotfiles[0]}" ]]; then ok "no temp file left beside the output"
else bad "no temp file left beside the output: ${dotfiles[*]}"; fi
if [[ -x "$extlbd" ]]; then
    mkdir -p "$tmp/check/extlb.d"
    printf 'global: { include_dir = "extlb.d"; };\n' >"$tmp/check/extlb.conf"
    nv=0 nbad=0
    for v in "$tmp"/versions/*; do
        nv=$((nv + 1))
        cp "$v" "$tmp/check/extlb.d/kubernetes.conf"
        count="$(grep -c '^    name = ' "$v")"
        if ! "$extlbd" -t -f "$tmp/check/extlb.conf" 2>&1 |
                grep -q "configuration is valid ($count virtual services)"; then
            nbad=$((nbad + 1))
            echo "not accepted: $v"; cat "$v"
        fi
    done
    if [[ $nv -ge 15 && $nbad == 0 ]]; then ok "extlbd -t accepts every version written ($nv seen)"
    else bad "extlbd -t accepts every version written ($nv seen, $nbad refused)"; fi
else
    skip "extlbd -t on every version (no $extlbd)"
fi
n="$(grep -c 'wrote .*: [0-9]* virtual service(s)' "$log")"
m="$(wc -l <"$reloads")"
if [[ "$n" -ge 15 && "$n" == "$m" ]]; then ok "one reload command per write ($n)"
else bad "one reload command per write ($n writes, $m reloads)"; fi

summary
[[ $failed -eq 0 ]]
