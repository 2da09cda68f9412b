# shellcheck shell=dash
# Guest half of t-kubectl-vm.sh: the external endpoints 192.0.2.10:80 and
# 192.0.2.11:80 of the Service ext-tcp-lb, each in its own namespace, the VIP
# extlb-k8s chose, and extlbd watching include_dir while the three files
# extlb-k8s wrote on the host (/test/k8s-steps/N.conf: after kubectl apply of
# the example, after the edited endpoint list, after kubectl delete) are
# renamed there in turn, as extlb-k8s renames them.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
RELOADED='include_dir /etc/extlb.d changed \(kubernetes.conf\): reloading'
mkdir -p /etc/extlb.d
xl_client client "$XL_CLIENT_ADDR"
xl_backend endpoint1 192.0.2.10/24 80
xl_backend endpoint2 192.0.2.11/24 80
xl_vip "$VIP"
xl_check "extlbd starts, include_dir empty and watched" xl_extlbd_start /etc/extlb.conf

# step N: the file extlb-k8s wrote after step N, renamed into include_dir; waits
# for extlbd's reload of it
step() {
    local before
    before=$(xl_log_count "$RELOADED")
    cp "/test/k8s-steps/$1.conf" /etc/extlb.d/.kubernetes.conf.tmpSTEP
    mv /etc/extlb.d/.kubernetes.conf.tmpSTEP /etc/extlb.d/kubernetes.conf
    xl_check "step $1: extlbd accepts the file" extlbd -t -f /etc/extlb.conf
    xl_check "step $1: extlbd applies it by itself" xl_wait_for -t 60 sh -c \
        "[ \$(grep -c -E '$RELOADED' $XL_EXTLBD_LOG) -gt $before ]"
}

step 1
xl_check "the endpoint passes its check" \
    xl_wait_for -t 30 sh -c "ipvsadm -Ln | grep -q 192.0.2.10:80"
ipvsadm -Ln
xl_assert_eq "IPVS: VIP:8000 -> 192.0.2.10:80" "TCP 192.168.10.100:8000 wlc
  -> 192.0.2.10:80 Masq 1" "$(xl_ipvs_table)"
answers="$(xl_requests 3 client "$VIP" 8000)"
xl_log "the client's 3 requests to $VIP:8000 answered by: $(echo "$answers" | tr '\n' ' ')"
xl_assert_eq "3 requests through VIP:8000 reach the endpoint on port 80" "endpoint1
endpoint1
endpoint1" "$answers"

step 2
xl_check "the second endpoint passes its check" \
    xl_wait_for -t 30 sh -c "ipvsadm -Ln | grep -q 192.0.2.11:80"
ipvsadm -Ln
xl_assert_eq "IPVS: VIP:8000 -> two real servers" "TCP 192.168.10.100:8000 wlc
  -> 192.0.2.10:80 Masq 1
  -> 192.0.2.11:80 Masq 1" "$(xl_ipvs_table)"
# wlc: 192.0.2.10 still holds the 3 connections of step 1 (InActConn), so the
# first ones go to 192.0.2.11, then they alternate
answers="$(xl_requests 8 client "$VIP" 8000)"
xl_log "the client's 8 requests to $VIP:8000 answered by: $(echo "$answers" | tr '\n' ' ')"
xl_assert_eq "8 requests through VIP:8000 reach both endpoints" "endpoint1
endpoint2" "$(echo "$answers" | sort -u)"

step 3
xl_check "the virtual service leaves the kernel" \
    xl_wait_for -t 30 sh -c "! ipvsadm -Ln | grep -q '$VIP:8000'"
ipvsadm -Ln
xl_assert_eq "IPVS: no virtual service left" "" "$(xl_ipvs_table)"
xl_extlbd_stop TERM
xl_summary
