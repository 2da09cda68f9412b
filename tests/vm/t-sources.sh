# shellcheck shell=dash
# allowed_sources: a client inside a service's ranges gets answers, one outside none; a
# reload that widens the range lets it in with one nftables transaction that touches that
# service's elements alone; `nft flush ruleset` is put right within resync_interval; and on a
# kernel without nftables extlbd names the missing feature while IPVS keeps serving.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
IN=10.10.0.2  # client: inside every range
OUT=10.10.0.3 # client2: outside until the reload widens "web"
xl_topology_nat "$VIP" 1 >/dev/null
xl_client client2 "$OUT/24"

conf() { # conf WEB-RANGES
    cat >/tmp/t.conf <<CONF
global: { log_level = "debug"; resync_interval = 2;
          check = { type = "tcp"; interval = 1; }; };
virtual_services = (
  { name = "web"; vip = "$VIP"; port = 8000; allowed_sources = [ $1 ];
    real_servers = ( { address = "10.20.0.5"; port = 80; } ); },
  { name = "other"; vip = "$VIP"; port = 8001; allowed_sources = [ "$IN" ];
    real_servers = ( { address = "10.20.0.5"; port = 80; } ); },
  { name = "plain"; vip = "$VIP"; port = 8002;
    real_servers = ( { address = "10.20.0.5"; port = 80; } ); }
);
CONF
}

# get NS PORT: the answer, or FAIL within a few seconds
get() {
    XL_HTTP_TIMEOUT=4 xl_http_get "$1" "$VIP" "$2" 2>/dev/null || echo FAIL
}

conf "\"$IN/32\""
xl_extlbd_start /tmp/t.conf || xl_die "extlbd did not start"
xl_wait_for -t 60 sh -c "[ \$(ipvsadm -Ln | grep -c '10.20.0.5:80') -eq 3 ]" ||
    xl_die "real servers not in IPVS"
xl_assert_eq "inside the range: answered" backend1 "$(get client 8000)"
xl_assert_eq "outside the range: dropped" FAIL "$(get client2 8000)"
xl_assert_eq "a service without ranges answers everyone" backend1 "$(get client2 8002)"

# the ranges of one service, as nft lists them
ranges() {
    nft list set inet extlb src4 | grep -o "$VIP . tcp . $1 . [0-9./]*" | sort
}

other_before=$(ranges 8001)
xl_assert_eq "other's range in the set" "$VIP . tcp . 8001 . $IN" "$other_before"
conf "\"10.10.0.0/24\""
mark=$(xl_log_lines)
xl_extlbd_reload
xl_wait_for -t 30 sh -c "nft list set inet extlb src4 | grep -q '8000 . 10.10.0.0/24'"
xl_assert_eq "widened: the outside client gets in" backend1 "$(get client2 8000)"
xl_assert_eq "the reload: one transaction, one service" 1 \
    "$(xl_log_since "$mark" | grep -c 'nftables: reload: 1 transaction, 2 commands, 1 service (1 elements added, 1 deleted): "web"')"
xl_assert_eq "its commands are web's elements" 2 \
    "$(xl_log_since "$mark" | grep 'nftables: reload: | ' | grep -c "element inet extlb src4 { $VIP . tcp . 8000 . ")"
xl_assert_eq "and nothing else" 0 \
    "$(xl_log_since "$mark" | grep 'nftables: reload: | ' | grep -vc "$VIP . tcp . 8000 . ")"
xl_assert_eq "other's ranges unchanged" "$other_before" "$(ranges 8001)"
xl_assert_eq "other still refuses the outside client" FAIL "$(get client2 8001)"

mark=$(xl_log_lines)
nft flush ruleset
xl_assert_eq "flushed: the outside client reaches other" backend1 "$(get client2 8001)"
xl_wait_for -t 30 sh -c "nft list set inet extlb src4 >/dev/null 2>&1"
xl_assert_eq "resync rebuilt the table" "$other_before" "$(ranges 8001)"
xl_assert_eq "and logged it" 1 "$(xl_log_since "$mark" | grep -c 'table inet extlb is gone')"
xl_assert_eq "restored: other refuses the outside client again" FAIL "$(get client2 8001)"
xl_assert_eq "restored: web lets it in" backend1 "$(get client2 8000)"

xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"

# A kernel without nftables: the table and the modules gone, and none can be loaded.
nft flush ruleset
for m in nft_masq nft_chain_nat nft_nat nft_ct nf_tables; do rmmod "$m" 2>/dev/null; done
if [ -d /sys/module/nf_tables ]; then
    xl_skip "a kernel without nftables" "nf_tables could not be unloaded"
else
    modprobe_was=$(cat /proc/sys/kernel/modprobe)
    echo /bin/false >/proc/sys/kernel/modprobe
    mark=$(xl_log_lines)
    xl_check "extlbd starts without nftables" xl_extlbd_start /tmp/t.conf
    xl_assert_eq "the error names the feature and the services" 1 \
        "$(xl_log_since "$mark" | grep -c 'nftables: the kernel lacks nf_tables: allowed_sources of virtual service "web" (and 1 more) is not in force')"
    xl_wait_for -t 60 sh -c "[ \$(ipvsadm -Ln | grep -c '10.20.0.5:80') -eq 3 ]"
    xl_assert_eq "IPVS serves the service without ranges" backend1 "$(get client2 8002)"
    xl_assert_eq "and the others, unfiltered" backend1 "$(get client2 8001)"
    xl_extlbd_stop TERM
    xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
    echo "$modprobe_was" >/proc/sys/kernel/modprobe
fi
# what extlbd said of nftables, for whoever reads this log
grep -e 'nftables' -e 'sysctl' "$XL_EXTLBD_LOG" | grep -v ': | ' | sed 's/^/# /'
xl_summary
