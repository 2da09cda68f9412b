# shellcheck shell=dash
# Guest side of the load benchmark (bench/run.sh boots a fresh test VM for each run):
# fills an empty IPVS with N services x R real servers using one TOOL and times it.
#
# Usage (in the guest, through scripts/vm-run): load.sh TOOL N [R]
#   TOOL  floor            /usr/sbin/floor-loader N (pre-built requests, batches of 256)
#         floor-e          the same with -e: only the last request of a batch asks for an
#                          ack (errors are answered anyway), as extlbd does
#         extlbd           extlbd -n -l -f /test/extlb-N.conf, then a restart on the full table
#         extlbd-host      the same with /test/extlb-N-host.conf: vip_interface, snat and
#                          allowed_sources on every service (issue 15); checks that the
#                          interface holds the N VIPs and that one nftables transaction put
#                          every service's snat element and ranges in place
#         ipvsadm-restore  ipvsadm -R </test/ipvsadm-N.rules
#         keepalived       keepalived -n -l -D -G -f /test/keepalived-N.conf
#   R     real servers per service (default 10)
#
# Every tool is timed the same way: from just before the tool is started until the kernel
# shows every object. /usr/sbin/ipvs-wait (bench/ipvs-wait.c, started and ready before the
# tool) asks the kernel every 10 ms for the real servers of the last service: every tool adds
# the objects in the generated order, so its last real server is the last object to appear.
# That is then confirmed by counting every line of /proc/net/ip_vs (3 header lines, then one
# per service and one per real server). Counting the whole table at each poll is not
# possible: reading /proc/net/ip_vs takes seconds at 110,000 objects in the emulated guest
# (count_s in the results; its seq_file walks the services from the start again at every
# 4 kB read), and `ipvsadm -Ln` is as slow and holds the IPVS mutex the writers need.
# Clock: busybox `ts '%.s'` and ipvs-wait both print gettimeofday(). Afterwards the whole
# table is checked against /test/ipvsadm-N.rules (`ipvsadm -Sn` and the rules, both sorted,
# must be equal).
# Peak RSS: VmHWM of /proc/PID/status for the daemons (keepalived: its parent and its
# checker child, added up), busybox `time -f %M` for ipvsadm, the floor loader's own VmHWM.
# CPU time (user, sys) likewise: /proc/PID/stat, `time`, getrusage(). The kernel's work on a
# request is done in the sender's system call, so it counts as the sender's sys time.
# extlbd only: its log (phases from its time stamps), then SIGTERM (on_stop = "keep" leaves
# the table) and a restart on the full table: seconds until it logs "running:" and the write
# ops it logged ("N ops applied" lines added up; expected 0).
# Results: one line "BENCH key=value ..." that bench/run.sh collects from the console.

tool="${1:?usage: load.sh TOOL N [R]}"
n="${2:?usage: load.sh TOOL N [R]}"
reals="${3:-10}"
objects=$((n * (reals + 1)))
deadline_s=1800
poll_s=0.02

now() {
    local t
    t=$(echo | ts '%.s')
    echo "${t%% *}"
}

# secs T0 T1: T1 - T0 in seconds with 2 decimals
secs() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# alive PID: the process exists and is not a zombie
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 1
    [ "$st" != Z ]
}

# hwm PID: VmHWM in kB (0 if unknown)
hwm() {
    awk '/^VmHWM:/ { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null ||
        echo 0
}

# cpu PID: "USER SYS" CPU seconds the process has used so far (/proc/PID/stat, 100 Hz)
cpu() {
    local ut st
    # shellcheck disable=SC2034 # fields before utime and stime
    read -r _ _ _ _ _ _ _ _ _ _ _ _ _ ut st _ <"/proc/$1/stat" 2>/dev/null || { echo "0 0"; return; }
    awk -v u="$ut" -v s="$st" 'BEGIN { printf "%.2f %.2f", u / 100, s / 100 }'
}

ipvs_lines() {
    wc -l </proc/net/ip_vs
}

# The last service of the generated order; every tool adds a service, then its real
# servers, services in address order, so its last real server is the last object to appear.
last_vip="10.100.$(((n - 1) / 250)).$(((n - 1) % 250 + 1))"

# start_waiter: ipvs-wait in the background, polling the last service every 10 ms until it
# has its R real servers; returns once the waiter's socket is open.
start_waiter() {
    rm -f /tmp/wait.ready /tmp/wait.out
    ipvs-wait -i 10 -t "$deadline_s" -r /tmp/wait.ready "$last_vip" 80 "$reals" \
        >/tmp/wait.out 2>&1 &
    waiter=$!
    while [ ! -e /tmp/wait.ready ]; do
        alive "$waiter" || { echo "# ipvs-wait failed: $(cat /tmp/wait.out)"; exit 1; }
        sleep 0.02
    done
}

# wait_full PID: wait for the waiter; t1 is the time it saw the last object. Then count every
# object in /proc/net/ip_vs to confirm (count_s: how long that takes). If the count is short
# (a tool that adds out of order), count again until complete and take that time instead.
# Fails if PID is gone for 5 s with the table incomplete, or after the deadline.
wait_full() {
    local pid="$1" lines c0 gone=0
    while alive "$waiter"; do
        if ! alive "$pid"; then
            gone=$((gone + 1))
            if [ "$gone" -ge 10 ]; then
                kill "$waiter"
                echo "# $tool exited with $(($(ipvs_lines) - base)) of $objects objects"
                return 1
            fi
        fi
        sleep 0.5
    done
    if ! wait "$waiter"; then
        echo "# ipvs-wait: $(cat /tmp/wait.out)"
        return 1
    fi
    t1=$(cat /tmp/wait.out)
    c0=$(now)
    lines=$(ipvs_lines)
    count_s=$(secs "$c0" "$(now)")
    [ "$lines" -ge "$target" ] && return 0
    echo "# last service complete but only $((lines - base)) of $objects objects in the" \
        "table: counting until complete"
    while [ "$(ipvs_lines)" -lt "$target" ]; do
        if ! alive "$pid" && [ "$(ipvs_lines)" -lt "$target" ]; then
            echo "# $tool exited with an incomplete table"
            return 1
        fi
    done
    t1=$(now)
}

# wait_log FILE PATTERN PID: until FILE has a line matching PATTERN (grep -E), or PID exits
wait_log() {
    while ! grep -q -E "$2" "$1" 2>/dev/null; do
        alive "$3" || return 1
        sleep "$poll_s"
    done
}

# log_secs LINE: the extlbd log line's HH:MM:SS.mmm as seconds of the day
log_secs() {
    echo "$1" | awk '{ split($1, t, ":"); printf "%.3f", t[1] * 3600 + t[2] * 60 + t[3] }'
}

# day_secs EPOCH: seconds of the day (UTC, as extlbd's log in the guest)
day_secs() {
    awk -v e="$1" 'BEGIN { printf "%.3f", e - int(e / 86400) * 86400 }'
}

# extlbd_phases LOG T0: where extlbd's start-up time went, from its log time stamps
extlbd_phases() {
    local t0 l_start l_kern l_sync l_run
    t0=$(day_secs "$2")
    l_start=$(log_secs "$(grep -m1 'extlbd .* starting with' "$1")")
    l_kern=$(log_secs "$(grep -m1 'kernel holds' "$1")")
    l_sync=$(log_secs "$(grep -m1 'start-up:' "$1")")
    l_run=$(log_secs "$(grep -m1 'running:' "$1")")
    awk -v t0="$t0" -v a="$l_start" -v b="$l_kern" -v c="$l_sync" -v d="$l_run" 'BEGIN {
        printf "# extlbd phases: exec->config loaded %.2fs, ->first dump done %.2fs, " \
            "->sync done (dump+reconcile+apply) %.2fs, ->running %.2fs\n",
            a - t0, b - a, c - b, d - c }'
}

# ops_of LOG: the write ops of every "...: N ops applied in X ms" line of LOG, added up
# (start-up, and any later pass such as health); ms_of LOG: X of the "start-up:" line
ops_of() {
    sed -n 's/.*: \([0-9]*\) ops applied in.*/\1/p' "$1" | awk '{ n += $1 } END { print n + 0 }'
}
ms_of() {
    sed -n 's/.*start-up: [0-9]* ops applied in \([0-9]*\) ms.*/\1/p' "$1" | head -n 1
}

check_table() {
    ipvsadm -Sn | sort >/tmp/got.rules
    sort "/test/ipvsadm-$n.rules" >/tmp/want.rules
    if cmp -s /tmp/want.rules /tmp/got.rules; then
        table_ok=yes
    else
        table_ok=no
        echo "# the table differs from /test/ipvsadm-$n.rules (-: expected, +: ipvsadm -Sn):"
        diff /tmp/want.rules /tmp/got.rules | head -n 10 | sed 's/^/#   /'
    fi
}

base=$(ipvs_lines)
target=$((base + objects))
if [ "$base" -ne 3 ]; then
    echo "# /proc/net/ip_vs has $base lines before the start: the table is not empty"
    head -n 10 /proc/net/ip_vs
    exit 1
fi
echo "# $tool: $n services x $reals real servers = $objects objects, kernel $(uname -r)," \
    "$(grep -c ^processor /proc/cpuinfo) vCPUs, $(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB"

t1='' count_s=- user_s=- sys_s=-
result=ok load_s=- rss_kb=- rss_detail=- internal_ms=- restart_s=- restart_ops=- restart_ms=-
restart_rss_kb=- table_ok=-
case "$tool" in
floor | floor-e)
    start_waiter
    t0=$(now)
    # shellcheck disable=SC2046 # no flag or -e
    floor-loader $([ "$tool" = floor-e ] && printf '%s' -e) -r "$reals" "$n" >/tmp/floor.out 2>&1 &
    pid=$!
    wait_full "$pid" || result=fail
    wait "$pid" || result=fail
    cat /tmp/floor.out
    internal_ms=$(sed -n 's/.*send phase \([0-9]*\) ms.*/\1/p' /tmp/floor.out)
    rss_kb=$(sed -n 's/.*peak RSS \([0-9]*\) kB.*/\1/p' /tmp/floor.out)
    # shellcheck disable=SC2046 # two numbers
    set -- $(sed -n 's/.*cpu user \([0-9]*\) ms sys \([0-9]*\) ms.*/\1 \2/p' /tmp/floor.out)
    user_s=$(awk -v ms="${1:-0}" 'BEGIN { printf "%.2f", ms / 1000 }')
    sys_s=$(awk -v ms="${2:-0}" 'BEGIN { printf "%.2f", ms / 1000 }')
    ;;
ipvsadm-restore)
    start_waiter
    t0=$(now)
    time -o /tmp/time.out -f '%M %e %U %S' ipvsadm -R <"/test/ipvsadm-$n.rules" &
    pid=$!
    wait_full "$pid" || result=fail
    wait "$pid" || result=fail
    read -r rss_kb ipvsadm_s user_s sys_s </tmp/time.out
    echo "# ipvsadm -R exited after ${ipvsadm_s}s (busybox time), peak RSS $rss_kb kB"
    ;;
keepalived)
    mkdir -p /etc/keepalived
    start_waiter
    t0=$(now)
    keepalived -n -l -D -G -f "/test/keepalived-$n.conf" -p /run/keepalived.pid \
        -c /run/keepalived_checkers.pid >/tmp/keepalived.log 2>&1 &
    pid=$!
    wait_full "$pid" || result=fail
    sleep 1 # let it settle before reading its memory
    cpid=$(cat /run/keepalived_checkers.pid 2>/dev/null || echo 0)
    p_rss=$(hwm "$pid")
    c_rss=$(hwm "$cpid")
    rss_kb=$((p_rss + c_rss))
    rss_detail="parent:${p_rss},checker:${c_rss}"
    # shellcheck disable=SC2046 # two numbers each
    set -- $(cpu "$pid") $(cpu "$cpid")
    user_s=$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2f", a + b }')
    sys_s=$(awk -v a="$2" -v b="$4" 'BEGIN { printf "%.2f", a + b }')
    echo "# keepalived CPU s (user sys): parent $1 $2, checker $3 $4"
    echo "# keepalived processes:"
    for p in /proc/[0-9]*; do
        case "$(cat "$p/comm" 2>/dev/null)" in
            keepalived*) echo "#   pid ${p#/proc/} VmHWM $(hwm "${p#/proc/}") kB" ;;
        esac
    done
    echo "# keepalived log (first and last lines):"
    head -n 15 /tmp/keepalived.log | sed 's/^/#   /'
    echo "#   ..."
    tail -n 5 /tmp/keepalived.log | sed 's/^/#   /'
    ;;
extlbd | extlbd-host)
    conf="/test/extlb-$n.conf"
    [ "$tool" = extlbd-host ] && conf="/test/extlb-$n-host.conf"
    start_waiter
    t0=$(now)
    extlbd -n -l -f "$conf" -p /run/extlbd.pid 2>/tmp/extlbd.log &
    pid=$!
    wait_full "$pid" || result=fail
    if wait_log /tmp/extlbd.log 'running:' "$pid"; then
        t_run=$(now)
        # from extlbd's own time stamp: this script notices the line only after
        # wait_full's count of /proc/net/ip_vs (seconds at 110,000 objects)
        run_s=$(secs "$(day_secs "$t0")" "$(log_secs "$(grep -m1 'running:' /tmp/extlbd.log)")")
        echo "# extlbd logged \"running:\" ${run_s}s after its start ($(secs "$t0" "$t_run")s" \
            "until this script saw it)"
    else
        result=fail
    fi
    sleep 1 # let it log whatever follows "running:" before reading its log
    rss_kb=$(hwm "$pid")
    # shellcheck disable=SC2046 # two numbers
    set -- $(cpu "$pid")
    user_s=$1 sys_s=$2
    echo "# extlbd CPU s when running (user sys): $user_s $sys_s"
    echo "# extlbd log:"
    sed 's/^/#   /' /tmp/extlbd.log
    extlbd_phases /tmp/extlbd.log "$t0"
    internal_ms=$(ms_of /tmp/extlbd.log)
    [ "$(ops_of /tmp/extlbd.log)" = "$objects" ] || { echo "# expected $objects ops at start-up"; result=fail; }
    if [ "$tool" = extlbd-host ]; then
        vips=$(/sbin/ip -o addr show dev extlb0 | grep -c ' inet ')
        # the ranges live in hash sets shared by the services, one per prefix length
        # (nft_plan.c), so count what extlbd's one start-up transaction says it put there
        nft_ok=$(grep -c "nftables: start-up: 1 transaction, .* $n services ($((n * 4)) elements added" \
            /tmp/extlbd.log)
        echo "# VIP host: $vips addresses on extlb0; nftables start-up line for $n services: $nft_ok"
        [ "$vips" = "$n" ] || { echo "# expected $n addresses on extlb0"; result=fail; }
        [ "$nft_ok" = 1 ] || { echo "# expected one nftables start-up transaction"; result=fail; }
    fi

    # Restart on the full table: SIGTERM (on_stop = keep leaves the table), start again.
    kill -TERM "$pid"
    wait "$pid" || { echo "# extlbd exited with $? on SIGTERM"; result=fail; }
    [ "$(ipvs_lines)" -eq "$target" ] || { echo "# table changed on stop"; result=fail; }
    r0=$(now)
    extlbd -n -l -f "$conf" -p /run/extlbd.pid 2>/tmp/extlbd2.log &
    pid=$!
    if wait_log /tmp/extlbd2.log 'running:' "$pid"; then
        r1=$(now)
        restart_s=$(secs "$r0" "$r1")
    else
        result=fail
    fi
    sleep 1
    restart_rss_kb=$(hwm "$pid")
    echo "# extlbd restart CPU s when running (user sys): $(cpu "$pid")"
    echo "# extlbd restart log:"
    sed 's/^/#   /' /tmp/extlbd2.log
    extlbd_phases /tmp/extlbd2.log "$r0"
    restart_ops=$(ops_of /tmp/extlbd2.log)
    restart_ms=$(ms_of /tmp/extlbd2.log)
    [ "$restart_ops" = 0 ] || { echo "# restart wrote $restart_ops ops, expected 0"; result=fail; }
    kill -TERM "$pid"
    wait "$pid"
    ;;
*)
    echo "load.sh: unknown tool $tool"
    exit 2
    ;;
esac
[ -n "${t1:-}" ] && load_s=$(secs "$t0" "$t1")
check_table
[ "$table_ok" = yes ] || result=fail
echo "BENCH tool=$tool n=$n reals=$reals objects=$objects load_s=$load_s run_s=${run_s:--}" \
    "internal_ms=$internal_ms rss_kb=$rss_kb rss_detail=$rss_detail restart_s=$restart_s" \
    "restart_ops=$restart_ops restart_ms=$restart_ms restart_rss_kb=$restart_rss_kb" \
    "user_s=$user_s sys_s=$sys_s count_s=$count_s table_ok=$table_ok result=$result kernel=$(uname -r)"
[ "$result" = ok ]
