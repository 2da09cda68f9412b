# shellcheck shell=dash
# Guest side of the reload benchmark (bench/reload-run.sh boots a fresh test VM for each
# tool and size).
#
# Usage (in the guest, through scripts/vm-run): reload-guest.sh TOOL N [RELOADS]
#   TOOL  extlbd      extlbd -n -l -f /tmp/live.conf (a copy of /test/extlb-N.conf)
#         keepalived  keepalived -n -l -D -G -C -f /tmp/live.conf (of /test/keepalived-N.conf)
#   N services x 10 real servers, as bench/gen-configs.sh writes them (no health checks).
#
# Loads the table, waits until the kernel holds all of it (bench/ipvs-wait on the last
# service) and the tool has settled, then RELOADS times (default 3): writes the configuration
# again with one real server's weight changed (the first real server of the middle service;
# weights 2, 3, 4, ...; the file is prepared and renamed into place before the signal), sends
# SIGHUP and times until the kernel shows the new weight: bench/health-ipvs-poll sends the
# signal itself and then asks for that one service's real servers every 5 ms (the question
# of `ipvsadm -Ln -t VIP:80`, without starting ipvsadm each time). For extlbd also the
# "reload: N ops applied in X ms" line. Afterwards the table is counted again (still
# complete). Prints one "RELOAD ..." line per reload and "BENCH ..." at the end.
# shellcheck source=bench/health-lib.sh
. /test/health-lib.sh

tool="${1:?usage: reload-guest.sh TOOL N [RELOADS]}"
n="${2:?usage: reload-guest.sh TOOL N [RELOADS]}"
reloads="${3:-3}"
reals=10
objects=$((n * (reals + 1)))
guest_info
echo "# $tool: $n services x $reals real servers = $objects objects"
result=ok

vip_of() { echo "10.100.$(($1 / 250)).$(($1 % 250 + 1))"; }
# real server K (= service * 10 + j) of bench/gen-configs.sh
rip_of() {
    local a=$(($1 / 250))
    echo "10.$((200 + a / 250)).$((a % 250)).$(($1 % 250 + 1))"
}
last_vip=$(vip_of $((n - 1)))
mid=$((n / 2))
vip=$(vip_of "$mid")
rip=$(rip_of $((mid * reals)))
rip_re=$(echo "$rip" | sed 's/\./\\./g')
echo "# the changed real server: $rip:8080 of $vip:80"

case "$tool" in
extlbd) src="/test/extlb-$n.conf" ;;
keepalived) src="/test/keepalived-$n.conf" ;;
*) echo "reload-guest.sh: unknown tool $tool"; exit 2 ;;
esac
cp "$src" /tmp/live.conf

# ---- load ---------------------------------------------------------------------------------------
rm -f /tmp/wait.ready
ipvs-wait -i 20 -t 1800 -r /tmp/wait.ready "$last_vip" 80 "$reals" >/tmp/wait.out 2>&1 &
waiter=$!
wait_until 30 test -e /tmp/wait.ready || { echo "# ipvs-wait: $(cat /tmp/wait.out)"; exit 1; }
t0=$(now)
if [ "$tool" = extlbd ]; then
    extlbd -n -l -f /tmp/live.conf -p /run/extlbd.pid 2>/tmp/tool.log &
    pid=$!
    cpids=$pid
else
    mkdir -p /etc/keepalived
    keepalived -n -l -D -G -C -f /tmp/live.conf -p /run/keepalived.pid \
        -c /run/keepalived_checkers.pid >/tmp/tool.log 2>&1 &
    pid=$!
fi
wait "$waiter" || { echo "# the table did not fill: $(cat /tmp/wait.out)"; tail /tmp/tool.log; exit 1; }
load_s=$(secs "$t0" "$(cat /tmp/wait.out)")
if [ "$tool" = extlbd ]; then
    wait_until 600 grep -q 'running:' /tmp/tool.log || { echo "# extlbd not running"; exit 1; }
else
    cpids="$pid $(cat /run/keepalived_checkers.pid)"
fi
echo "# table loaded in ${load_s}s (last service complete)"
lines=$(ipvs_lines)
[ "$lines" -eq $((objects + 3)) ] || { echo "# /proc/net/ip_vs: $((lines - 3)) objects"; result=fail; }
sleep 3

# cpu_of PIDS: utime + stime ticks of the processes, added up
cpu_of() {
    local p t=0
    for p in "$@"; do
        # shellcheck disable=SC2046 # two numbers
        set -- $(ticks "$p")
        t=$((t + $1 + $2))
    done
    echo "$t"
}

# ---- reloads --------------------------------------------------------------------------------------
r=1
all=""
while [ "$r" -le "$reloads" ]; do
    w=$((r + 1))
    if [ "$tool" = extlbd ]; then
        sed "s/address = \"$rip_re\"; port = 8080; weight = 1;/address = \"$rip\"; port = 8080; weight = $w;/" \
            "$src" >/tmp/new.conf
    else
        sed "/real_server $rip_re 8080 {/{n;s/weight 1/weight $w/}" "$src" >/tmp/new.conf
    fi
    changed=$(cmp -l "$src" /tmp/new.conf 2>/dev/null | wc -l)
    [ "$changed" -ge 1 ] || { echo "# the weight was not changed in the file"; result=fail; }
    mv /tmp/new.conf /tmp/live.conf
    nlog=$(wc -l </tmp/tool.log)
    # shellcheck disable=SC2086 # pids
    c0=$(cpu_of $cpids)
    rm -f /tmp/poll.ready
    if ! health-ipvs-poll -i 5 -t 900 -s "$pid" "$vip" 80 "$rip" 8080 weight "$w" \
        >/tmp/poll.out 2>&1; then
        echo "# reload $r: $(cat /tmp/poll.out)"
        result=fail
        break
    fi
    read -r t_end polls t_hup </tmp/poll.out
    visible_s=$(secs "$t_hup" "$t_end")
    ops=- own_ms=- line_s=-
    if [ "$tool" = extlbd ]; then
        wait_until 600 sh -c "tail -n +$((nlog + 1)) /tmp/tool.log | grep -q 'reload: '" ||
            result=fail
        line=$(tail -n "+$((nlog + 1))" /tmp/tool.log | grep -m 1 'reload: ')
        echo "#   $line"
        ops=$(echo "$line" | sed -n 's/.*reload: \([0-9]*\) ops applied.*/\1/p')
        own_ms=$(echo "$line" | sed -n 's/.*ops applied in \([0-9]*\) ms.*/\1/p')
        line_s=$(secs "$(day_secs "$t_hup")" "$(log_secs "$line")")
        [ "$ops" = 1 ] || result=fail
    else
        # keepalived: let its reload finish (the checker process logs and goes quiet)
        sleep 2
        tail -n "+$((nlog + 1))" /tmp/tool.log | grep -i -E 'reload|weight' | head -n 5 |
            sed 's/^/#   /'
    fi
    sleep 1
    # shellcheck disable=SC2086
    cpu_s=$(awk -v a="$c0" -v b="$(cpu_of $cpids)" 'BEGIN { printf "%.2f", (b - a) / 100 }')
    echo "RELOAD tool=$tool n=$n reload=$r weight=$w visible_s=$visible_s polls=$polls" \
        "ops=$ops own_ms=$own_ms log_line_s=$line_s cpu_s=$cpu_s"
    all="$all $visible_s"
    r=$((r + 1))
done

lines=$(ipvs_lines)
[ "$lines" -eq $((objects + 3)) ] || { echo "# after: $((lines - 3)) objects"; result=fail; }
hwm=0
for p in $cpids; do hwm=$((hwm + $(kb "$p" VmHWM))); done
alive "$pid" || result=fail
med=$(echo "$all" | tr ' ' '\n' | grep . | sort -n |
    awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "# tool log, last 3 lines:"
tail -n 3 /tmp/tool.log | sed 's/^/#   /'
echo "BENCH tool=$tool n=$n objects=$objects load_s=$load_s reloads=$reloads visible_med_s=$med" \
    "hwm_kb=$hwm result=$result kernel=$(uname -r)"
kill "$pid"
wait "$pid"
[ "$result" = ok ]
