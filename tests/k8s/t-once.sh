#!/usr/bin/env bash
# t-once.sh - end-to-end test of `extlb-k8s --once` against the Kubernetes
# API server double (tests/k8s/apiserver.py): HTTPS with its test CA, a
# bearer token, the seed fixtures loaded through its control CLI.  Checks
# the written file in full, the Service's status, that extlbd -t accepts
# the file, that an unchanged cluster writes and reloads nothing, and that
# failures leave the file alone.
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
    if [[ -n "$apipid" ]]; then
        kill "$apipid" 2>/dev/null
        wait "$apipid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
k8s_test_setup

python3 "$apiserver" --dir "$api" >"$tmp/api.log" 2>&1 &
apipid=$!
for _ in $(seq 100); do [[ -f "$api/ready" ]] && break; sleep 0.2; done
if [[ ! -f "$api/ready" ]]; then
    bad "the API server double starts"; cat "$tmp/api.log"; summary; exit 1
fi

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

# ---- web: named ports, a draining and a not-ready endpoint, IPv6 slice ----
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
      { address = "198.51.100.11"; port = 8080; weight = 1; },
      { address = "198.51.100.12"; port = 8080; weight = 0; }
    );
  },
  {
    name = "shop/web:https";
    vip = "192.0.2.101";
    port = 443;
    protocol = "tcp";
    real_servers = (
      { address = "198.51.100.11"; port = 8443; weight = 1; },
      { address = "198.51.100.12"; port = 8443; weight = 0; }
    );
  }
);
EOT
once --default-class
same_file "web: named ports, drain at weight 0, not-ready left out" "$tmp/web.conf"
extlbd_accepts "web: extlbd -t accepts the file" 3
ips="$(status_ips shop web)"
if [[ "$ips" == "192.0.2.101" ]]; then ok "web: the status shows the VIP"
else bad "web: the status shows the VIP (got '$ips')"; fi

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

summary
[[ $failed -eq 0 ]]
