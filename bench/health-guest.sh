# shellcheck shell=dash
# Guest side of the health-check benchmark (bench/health-run.sh boots a fresh test VM for
# each run).
#
# Usage (in the guest, through scripts/vm-run):
#   health-guest.sh MODE NSVC REALS INTERVAL WINDOW [TRIALS [EXTRA]]
#   MODE      extlbd      extlbd -n -l -f /test/hc-extlbd-NSVC-INTERVAL.conf, measured window
#             keepalived  keepalived -n -l -D -G -C -f /test/hc-keepalived-NSVC-INTERVAL.conf
#             detect      extlbd -n -l -f /test/hc-detect-NSVC-INTERVAL.conf: detection
#                         latency, TRIALS times
#             ctlidle     extlbd -n -l -f /test/hc-ctlidle-NSVC-INTERVAL.conf (control socket,
#                         EXTRA more services never probed), measured window
#             ctlbusy     the same, and during the window `extlbctl -j status` back to back
#                         and bench/ctl-slow-reader reading one byte a second
#   NSVC x REALS real servers checked every INTERVAL seconds; WINDOW: seconds measured
#
# The real servers are bench/health-listener: server k (k = service * REALS + real server)
# is 10.200.0.(1 + k / 100), port 8000 + k % 100, one listening socket each, on addresses of
# the dummy interface hc0 in the root namespace (the checks go over the loopback path: a
# veth to a namespace costs about twice the kernel time per connection in this emulated
# guest). IPVS keeps such local real servers as NAT ("Masq").
#
# extlbd / keepalived: start the tool (both put every real server in the kernel at start:
# extlbd's configuration says initial_state "up", keepalived has no "alpha"), wait until the
# kernel lists them all and the listener has seen a check of every one, then measure for
# WINDOW seconds: the tool's CPU (utime + stime from /proc/PID/stat; keepalived: its checker
# process, the parent separately), peak RSS (VmHWM) and the listener's statistics of the
# accept times (bench/health-listener.c). Prints "BENCH key=value ...".
#
# detect: once every server has been checked, close one server's listening socket (connects
# are refused at once) and ask the kernel for the service's real servers every 5 ms
# (bench/health-ipvs-poll: the question `ipvsadm -Ln -t VIP:80` asks, without starting a
# program each time) until that server is gone; latency = from the close to that poll. TRIALS servers, one after the
# other, spread over the table; also the time of extlbd's "... is down" line. Prints one
# "DETECT ..." line per trial and a "BENCH ..." summary.
# shellcheck source=bench/health-lib.sh
. /test/health-lib.sh

usage="usage: health-guest.sh MODE NSVC REALS INTERVAL WINDOW [TRIALS [EXTRA]]"
mode="${1:?$usage}"
nsvc="${2:?$usage}"
reals="${3:?$usage}"
interval="${4:?$usage}"
window="${5:?$usage}"
trials="${6:-10}"
extra=0
case "$mode" in ctl*) extra="${7:-0}" ;; esac
total=$((nsvc * reals))
nports=100
naddr=$(((total + nports - 1) / nports))
objects=$((nsvc + total + extra * (reals + 1)))
[ "$naddr" -le 254 ] || { echo "# at most 25400 real servers"; exit 2; }
guest_info
echo "# $mode: $nsvc services x $reals = $total real servers on $naddr addresses x" \
    "$nports ports, checked every ${interval}s"
result=ok

# ---- the real servers ---------------------------------------------------------------------
ip link add hc0 type dummy || exit 1
ip link set hc0 up
a=1
while [ "$a" -le "$naddr" ]; do
    echo "addr add 10.200.0.$a/32 dev hc0"
    a=$((a + 1))
done >/tmp/addrs.batch
ip -batch /tmp/addrs.batch || exit 1

mkfifo /tmp/lctl
health-listener -e "$interval" -n "$total" 10.200.0.1 "$naddr" 8000 "$nports" \
    </tmp/lctl >/tmp/listener.out 2>&1 &
lpid=$!
exec 3>/tmp/lctl
wait_until 60 grep -q '^listening on' /tmp/listener.out ||
    { echo "# listener failed: $(cat /tmp/listener.out)"; exit 1; }
echo "# listener: $(head -n 1 /tmp/listener.out), pid $lpid"

# lcmd CMD: send CMD to the listener and print its answer line
lcmd() {
    local n
    n=$(wc -l </tmp/listener.out)
    echo "$1" >&3
    wait_until 30 lines_at_least /tmp/listener.out $((n + 1)) ||
        { echo "# listener did not answer '$1'"; return 1; }
    sed -n "$((n + 1))p" /tmp/listener.out
}

# all_seen: the listener saw every server since the last mark
all_seen() {
    [ "$(lcmd seen)" = "seen $total of $total" ]
}

# kv LINE KEY: the value of KEY=VALUE in LINE
kv() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# pct T0 T1 SECS: (T1 - T0) ticks (1/100 s) as a percentage of one CPU over SECS
pct() {
    awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.1f", (b - a) / s }'
}

# ---- start the tool, wait until every server is in the kernel and has been checked ----------
lcmd mark >/dev/null
t0=$(now)
case "$mode" in
extlbd | detect | ctlidle | ctlbusy)
    extlbd -n -l -f "/test/hc-$mode-$nsvc-$interval.conf" -p /run/extlbd.pid 2>/tmp/tool.log &
    pid=$!
    ;;
keepalived)
    mkdir -p /etc/keepalived
    keepalived -n -l -D -G -C -f "/test/hc-keepalived-$nsvc-$interval.conf" \
        -p /run/keepalived.pid -c /run/keepalived_checkers.pid >/tmp/tool.log 2>&1 &
    pid=$!
    ;;
*)
    echo "health-guest.sh: unknown mode $mode"
    exit 2
    ;;
esac
if ! wait_until 600 table_has "$objects"; then
    echo "# the kernel lists only $(($(ipvs_lines) - 3)) of $objects objects after 600 s"
    tail -n 20 /tmp/tool.log
    exit 1
fi
echo "# all $total real servers in the kernel $(secs "$t0" "$(now)")s after the start"
deadline=$((${interval%.*} * 3 + 60))
if ! wait_until "$deadline" all_seen; then
    echo "# listener: $(lcmd seen) after ${deadline}s"
    result=fail
fi
ramp_s=$(secs "$t0" "$(now)")
echo "# every server checked at least once ${ramp_s}s after the start"
cpid=$pid
if [ "$mode" = keepalived ]; then
    cpid=$(cat /run/keepalived_checkers.pid)
    echo "# keepalived parent $pid, checker $cpid"
fi

# ---- ctlbusy: clients of the control socket during the window --------------------------------
ctl_kv=""
sock=/run/extlbd/control.sock

# status_loop: `extlbctl -j status` of the whole table, back to back, until /tmp/ctl.stop
status_loop() {
    local s rc
    while [ ! -e /tmp/ctl.stop ]; do
        s=$(now)
        rc=0
        extlbctl -s "$sock" -j -t 900 status >/tmp/status.json 2>/tmp/status.err || rc=$?
        echo "STATUS rc=$rc secs=$(secs "$s" "$(now)") bytes=$(wc -c </tmp/status.json)" \
            "services=$(grep -o '"scheduler"' /tmp/status.json | wc -l)" >>/tmp/status.log
    done
}

ctl_busy_start() {
    rm -f /tmp/ctl.stop /tmp/status.log
    : >/tmp/status.log
    status_loop &
    spid=$!
    ctl-slow-reader "$sock" "$window" >/tmp/slow.out 2>&1 &
    rpid=$!
}

ctl_busy_stop() {
    local calls p50 max rcs
    touch /tmp/ctl.stop
    wait "$spid"
    wait "$rpid"
    calls=$(wc -l </tmp/status.log)
    sed 's/^/#   /' /tmp/status.log | tail -n 5
    p50=$(sed -n 's/.* secs=\([^ ]*\).*/\1/p' /tmp/status.log | sort -n |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')
    max=$(sed -n 's/.* secs=\([^ ]*\).*/\1/p' /tmp/status.log | sort -n | tail -n 1)
    rcs=$(sed -n 's/^STATUS rc=\([0-9]*\).*/\1/p' /tmp/status.log | sort -u | tr '\n' ,)
    echo "# status calls: $calls, median ${p50}s, longest ${max}s, exit codes ${rcs%,};" \
        "the last listed $(tail -n 1 /tmp/status.log | sed 's/.*services=//') services;" \
        "slow reader: $(cat /tmp/slow.out)"
    [ "$calls" -ge 1 ] || result=fail
    [ "$(tail -n 1 /tmp/status.log | sed 's/.*services=//')" = $((nsvc + extra)) ] || result=fail
    ctl_kv="status_calls=$calls status_p50_s=$p50 status_max_s=$max status_rc=${rcs%,}"
    ctl_kv="$ctl_kv slow_$(sed 's/^SLOW //; s/ / slow_/g' /tmp/slow.out)"
}

# ---- measured window ------------------------------------------------------------------------
if [ "$mode" != detect ]; then
    downs='is down|failed|Removing'
    downs0=$(grep -c -E "$downs" /tmp/tool.log)
    # shellcheck disable=SC2046 # two numbers each
    set -- $(ticks "$cpid") $(ticks "$pid") $(ticks "$lpid")
    c_u0=$1 c_s0=$2 p0=$(($3 + $4)) l0=$(($5 + $6))
    lcmd start >/dev/null
    w0=$(now)
    if [ "$mode" = ctlbusy ]; then
        ctl_busy_start
    fi
    sleep "$window"
    stats=$(lcmd stop)
    w1=$(now)
    if [ "$mode" = ctlbusy ]; then
        ctl_busy_stop
    fi
    # shellcheck disable=SC2046
    set -- $(ticks "$cpid") $(ticks "$pid") $(ticks "$lpid")
    c_u1=$1 c_s1=$2 p1=$(($3 + $4)) l1=$(($5 + $6))
    downs1=$(grep -c -E "$downs" /tmp/tool.log)
    len=$(secs "$w0" "$w1")
    echo "# listener: $stats"
    user_pct=$(pct "$c_u0" "$c_u1" "$len")
    sys_pct=$(pct "$c_s0" "$c_s1" "$len")
    cpu_pct=$(pct $((c_u0 + c_s0)) $((c_u1 + c_s1)) "$len")
    hwm_kb=$(kb "$cpid" VmHWM)
    rss_kb=$(kb "$cpid" VmRSS)
    extra=""
    if [ "$mode" = keepalived ]; then
        extra="parent_cpu_pct=$(pct "$p0" "$p1" "$len") parent_hwm_kb=$(kb "$pid" VmHWM)"
    fi
    echo "# $mode CPU over ${len}s: user $user_pct%, sys $sys_pct% of one vCPU;" \
        "VmHWM $hwm_kb kB, VmRSS $rss_kb kB; $((downs1 - downs0)) failure lines in its log"
    echo "# listener CPU: $(pct "$l0" "$l1" "$len")%; load average $(cat /proc/loadavg)"
    [ "$(kv "$stats" servers_seen)" = "$total" ] || result=fail
    [ $((downs1 - downs0)) -eq 0 ] || result=fail
    alive "$pid" || result=fail
    echo "# tool log (first 3 and last 5 of $(wc -l </tmp/tool.log) lines):"
    head -n 3 /tmp/tool.log | sed 's/^/#   /'
    tail -n 5 /tmp/tool.log | sed 's/^/#   /'
    echo "BENCH tool=$mode n=$total interval=$interval ramp_s=$ramp_s window_s=$len" \
        "cpu_pct=$cpu_pct user_pct=$user_pct sys_pct=$sys_pct hwm_kb=$hwm_kb rss_kb=$rss_kb" \
        "$extra listener_pct=$(pct "$l0" "$l1" "$len") downs=$((downs1 - downs0))" \
        "${stats#STATS } $ctl_kv result=$result kernel=$(uname -r)"
    kill "$pid"
    wait "$pid"
    echo quit >&3
    [ "$result" = ok ]
    exit
fi

# ---- detection latency ----------------------------------------------------------------------
# gone VIP RIP: `ipvsadm -Ln -t VIP:80` answers and does not list RIP
gone() {
    local out
    out=$(ipvsadm -Ln -t "$1:80") || return 1
    case "$out" in *" $2 "*) return 1 ;; esac
    return 0
}

lat_all=""
trial=1
step=$((total / trials))
while [ "$trial" -le "$trials" ]; do
    k=$(((trial - 1) * step + (trial * 37) % step))
    i=$((k / reals))
    vip="10.100.$((i / 250)).$((i % 250 + 1))"
    rip="10.200.0.$((1 + k / nports)):$((8000 + k % nports))"
    if gone "$vip" "$rip"; then
        echo "# trial $trial: $rip of $vip is not listed before the close"
        result=fail
        trial=$((trial + 1))
        continue
    fi
    rm -f /tmp/poll.ready
    health-ipvs-poll -i 5 -t 60 -r /tmp/poll.ready "$vip" 80 "${rip%:*}" "${rip#*:}" gone \
        >/tmp/poll.out 2>&1 &
    ppid=$!
    wait_until 10 test -e /tmp/poll.ready
    ans=$(lcmd "close $k")
    tc=${ans##* at }
    wait "$ppid" || { echo "# poller: $(cat /tmp/poll.out)"; result=fail; }
    read -r tg polls _ </tmp/poll.out
    lat=$(secs "$tc" "$tg")
    logline=$(grep -m 1 "$rip.* is down" /tmp/tool.log)
    if [ -n "$logline" ]; then
        log_lat=$(secs "$(day_secs "$tc")" "$(log_secs "$logline")")
    else
        log_lat=-
        result=fail
    fi
    poll_ms=$(awk -v l="$lat" -v p="$polls" 'BEGIN { printf "%.1f", p ? l * 1000 / p : 0 }')
    echo "DETECT trial=$trial server=$k rip=$rip vip=$vip latency_s=$lat" \
        "log_down_s=$log_lat polls=$polls poll_ms=$poll_ms"
    echo "#   ${logline#* }"
    lat_all="$lat_all $lat"
    trial=$((trial + 1))
    # the next close at another phase of the servers' schedule
    sleep "0.$((trial * 37 % 10))"
done
summary=$(echo "$lat_all" | tr ' ' '\n' | grep . | sort -n | awk '
    { v[NR] = $1; s += $1 }
    END { printf "min=%.3f median=%.3f mean=%.3f max=%.3f", v[1],
          NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, s / NR, v[NR] }')
alive "$pid" || result=fail
echo "# load average $(cat /proc/loadavg)"
echo "BENCH tool=detect n=$total interval=$interval trials=$trials $summary result=$result" \
    "kernel=$(uname -r)"
kill "$pid"
wait "$pid"
echo quit >&3
[ "$result" = ok ]
