# shellcheck shell=dash
# The daemon's whole life under valgrind's memcheck on a real IPVS kernel: start-up (dump,
# reconcile, apply), a reload, a resync, a reload with an invalid file, and SIGTERM. Any
# memory error or leak makes valgrind exit 99.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

if [ ! -x /usr/bin/valgrind.bin ]; then
    xl_skip "valgrind" "valgrind is not in the VM image"
    xl_summary
    exit 0
fi
xl_topology_nat 192.168.10.100 1 >/dev/null
cp /test/conf/features.conf /tmp/vg.conf
sed -i 's/^global: {/global: { resync_interval = 2;/' /tmp/vg.conf
: >"$XL_EXTLBD_LOG"
VALGRIND_LIB=/usr/libexec/valgrind valgrind.bin -q --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    extlbd -n -l -f /tmp/vg.conf >>"$XL_EXTLBD_LOG" 2>&1 &
XL_EXTLBD_PID=$!
xl_check "extlbd starts under valgrind" xl_wait_for -t 300 grep -q 'running:' "$XL_EXTLBD_LOG"
sed -i 's/weight = 3;/weight = 4;/' /tmp/vg.conf
xl_extlbd_reload
xl_assert_eq "reload under valgrind: one edit" 1 "$(xl_log_count 'reload: 1 ops applied')"
ipvsadm -D -t 192.168.10.101:80
xl_check "resync restores a deleted service" xl_wait_for -t 120 sh -c \
    "ipvsadm -Ln | grep -q '192.168.10.101:80'"
echo 'virtual_services = ( { nme = "x"; } );' >/tmp/vg.conf
xl_extlbd_reload
xl_extlbd_stop TERM
xl_assert_eq "valgrind: no errors, no leaks (exit 0)" 0 "$XL_EXTLBD_STATUS"
grep -E '==[0-9]+==' "$XL_EXTLBD_LOG" | head -n 40
xl_summary
