# shellcheck shell=dash
# Guest side of bench/ctl-status-memory.sh (ARGS: N ROUNDS MMAP BINARY...): N services x 10
# real servers (check "none"); for each round, each binary in turn is started on that table
# and asked for `extlbctl -j status` once. The peak RSS that one status costs: the peak is
# reset (clear_refs 5) once the daemon has settled, so VmHWM after the reply is the status's
# peak, not start-up's (hwm_start_kb); VmRSS before it is what the daemon holds anyway.
# MMAP other than 0: glibc's MALLOC_MMAP_THRESHOLD_, so that every large block is a mapping
# of its own, not heap that start-up freed and left resident.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

N=$1 ROUNDS=$2 MMAP=$3
shift 3
[ "$MMAP" = 0 ] || XL_EXTLBD_WRAP="env MALLOC_MMAP_THRESHOLD_=$MMAP"
conf=/tmp/big.conf
xl_conf_big "$N" "$conf"
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$XL_EXTLBD_PID/status"; }
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for bin in "$@"; do
        ln -sf "$bin" /usr/sbin/extlbd
        xl_extlbd_start "$conf" || true
        xl_wait_for -t 900 sh -c "grep -q 'running:' $XL_EXTLBD_LOG" || { echo "BENCH $bin did not start"; exit 1; }
        sleep 3
        hwm_start=$(kb VmHWM)
        echo 5 >"/proc/$XL_EXTLBD_PID/clear_refs"
        rss0=$(kb VmRSS) hwm0=$(kb VmHWM)
        extlbctl -t 900 -j status >/tmp/status.json
        rc=$?
        echo "BENCH round=$round bin=$bin mmap_threshold=$MMAP n=$N status_rc=$rc bytes=$(wc -c </tmp/status.json) hwm_start_kb=$hwm_start rss_before_kb=$rss0 hwm_reset_kb=$hwm0 hwm_after_kb=$(kb VmHWM) rss_after_kb=$(kb VmRSS) peak_growth_kb=$(($(kb VmHWM) - rss0))"
        xl_extlbd_stop TERM
        : >"$XL_EXTLBD_LOG"
    done
    round=$((round + 1))
done
