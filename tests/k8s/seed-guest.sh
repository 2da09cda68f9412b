# shellcheck shell=dash
# Guest half of t-seed-vm.sh: the external endpoint 192.0.2.10:80 of the Service
# ext-tcp-lb in its own namespace, the VIP extlb-k8s chose on the director, extlbd
# watching include_dir (watch_include_dir = true) while the file extlb-k8s wrote
# (/test/k8s-out) arrives there as extlb-k8s writes it, and a client's requests
# through VIP:8000.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
# well before extlbd reads it: a directory changed within 0.1 s of the read counts as
# changed after it (a reload "before it was watched"), which would merge with the file's
mkdir -p /etc/extlb.d
xl_client client "$XL_CLIENT_ADDR"
xl_backend endpoint 192.0.2.10/24 80
xl_vip "$VIP"
xl_check "extlbd starts, include_dir empty and watched" xl_extlbd_start /etc/extlb.conf
# a dotfile renamed in: what extlb-k8s does, with no signal to extlbd
cp /test/k8s-out/kubernetes.conf /etc/extlb.d/.kubernetes.conf.tmpSEED
mv /etc/extlb.d/.kubernetes.conf.tmpSEED /etc/extlb.d/kubernetes.conf
xl_check "extlbd accepts the generated file" extlbd -t -f /etc/extlb.conf
xl_check "extlbd applies it by itself" xl_wait_for -t 60 grep -q \
    'include_dir /etc/extlb.d changed (kubernetes.conf): reloading' "$XL_EXTLBD_LOG"
xl_check "the endpoint passes its check" xl_wait_for -t 30 sh -c "ipvsadm -Ln | grep -q 192.0.2.10:80"
ipvsadm -Ln
xl_assert_eq "IPVS: VIP:8000 -> 192.0.2.10:80" "TCP 192.168.10.100:8000 wlc
  -> 192.0.2.10:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "3 requests through VIP:8000 reach the endpoint on port 80" "endpoint
endpoint
endpoint" "$(xl_requests 3 client "$VIP" 8000)"
xl_extlbd_stop TERM
xl_summary
