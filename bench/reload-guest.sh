# shellcheck shell=dash
# Guest side of the reload benchmark (bench/reload-run.sh boots a fresh test VM for each
# tool and size).
#
# Usage (in the guest, through scripts/vm-run): reload-guest.sh TOOL N [RELOADS [LAYOUT]]
#   TOOL  extlbd      extlbd -n -l -f /tmp/live.conf
#         keepalived  keepalived -n -l -D -G -C -f /tmp/live.conf
#   N services x 10 real servers, as bench/gen-configs.sh writes them (no health checks).
#   LAYOUT single (default): /tmp/live.conf is a copy of /test/extlb-N.conf (or
#                 /test/keepalived-N.conf), the whole table in one file;
#          split: /tmp/live.conf is a copy of /test/extlb-N-split.conf (global group and
#                 include_dir = "extlb-N.d") with /test/extlb-N.d/ copied to /tmp/extlb-N.d/
#                 (keepalived: keepalived-N-split.conf, `include ka-N.d/*.conf`, and
#                 /tmp/ka-N.d/), the services in files of 100 (bench/gen-configs.sh -s 100).
#
# Loads the table, waits until the kernel holds all of it (bench/ipvs-wait on the last
# service) and the tool has settled, then RELOADS times (default 3): writes the file that
# holds the changed real server again with its weight changed (the first real server of the
# middle service; weights 2, 3, 4, ...): the whole configuration file (single), or only the
# one include file of the 100 services around it (split); the new version is written under a
# temporary name in the same directory and renamed into place before the signal, as an
# operator's tool would. Then sends SIGHUP and times until the kernel shows the new weight:
# bench/health-ipvs-poll sends the signal itself and then asks for that one service's real
# servers every 5 ms (the question of `ipvsadm -Ln -t VIP:80`, without starting ipvsadm each
# time). For extlbd also its "reload: N ops applied in X ms" line, its "configuration: K of
# M virtual services unchanged" (logged once the configuration is read: cfg_line_s) and,
# when it has include_dir files, its "include_dir: K of M files unchanged, not parsed again".
# Afterwards the table is counted again (still complete). Prints one "RELOAD ..." line per
# reload and "BENCH ..." at the end.
# shellcheck source=bench/health-lib.sh
. /test/health-lib.sh

tool="${1:?usage: reload-guest.sh TOOL N [RELOADS [LAYOUT]]}"
n="${2:?usage: reload-guest.sh TOOL N [RELOADS [LAYOUT]]}"
reloads="${3:-3}"
layout="${4:-single}"
reals=10
objects=$((n * (reals + 1)))
guest_info
echo "# $tool: $n services x $reals real servers = $objects objects, layout $layout"
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

# src: the pristine file that holds the changed real server (each reload edits a fresh copy
# of it); live: where the tool reads it; new: the temporary name in the same directory
case "$tool:$layout" in
extlbd:single) main="/test/extlb-$n.conf" ;;
keepalived:single) main="/test/keepalived-$n.conf" ;;
extlbd:split) main="/test/extlb-$n-split.conf" dir="extlb-$n.d" key="address = \"$rip\";" ;;
keepalived:split) main="/test/keepalived-$n-split.conf" dir="ka-$n.d" key="real_server $rip 8080 {" ;;
*) echo "reload-guest.sh: unknown tool or layout $tool $layout"; exit 2 ;;
esac
cp "$main" /tmp/live.conf
if [ "$layout" = single ]; then
    src="$main" live=/tmp/live.conf new=/tmp/new.conf
    files=1
else
    cp -r "/test/$dir" "/tmp/$dir"
    src=$(grep -l -F "$key" "/test/$dir"/*.conf)
    if [ -z "$src" ] || [ "$(echo "$src" | wc -l)" -ne 1 ]; then
        echo "# no single file of /test/$dir holds $rip: '$src'"
        exit 1
    fi
    live="/tmp/$dir/${src##*/}" new="/tmp/$dir/.${src##*/}.new"
    files=$(find "/tmp/$dir" -name '[!.]*.conf' -type f | wc -l)
    echo "# $files files in /tmp/$dir; the changed one: $live ($(wc -c <"$live") bytes," \
        "$(wc -c "/tmp/$dir"/*.conf | tail -n 1 | awk '{ print $1 }') in all)"
    # every file older than extlbd's 100 ms "written just now" window at its first read
    sleep 1
fi

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
            "$src" >"$new"
    else
        sed "/real_server $rip_re 8080 {/{n;s/weight 1/weight $w/}" "$src" >"$new"
    fi
    changed=$(cmp -l "$src" "$new" 2>/dev/null | wc -l)
    [ "$changed" -ge 1 ] || { echo "# the weight was not changed in the file"; result=fail; }
    mv "$new" "$live"
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
    ops=- own_ms=- line_s=- unchanged=- cfg_s=-
    if [ "$tool" = extlbd ]; then
        wait_until 600 sh -c "tail -n +$((nlog + 1)) /tmp/tool.log |
            grep -q 'reload: [0-9]* ops applied'" || result=fail
        line=$(tail -n "+$((nlog + 1))" /tmp/tool.log | grep -m 1 'reload: [0-9]* ops applied')
        uline=$(tail -n "+$((nlog + 1))" /tmp/tool.log | grep -m 1 'files unchanged, not parsed')
        # logged once the configuration is read, in both layouts
        cline=$(tail -n "+$((nlog + 1))" /tmp/tool.log | grep -m 1 'virtual services unchanged')
        [ -z "$uline" ] || echo "#   $uline"
        [ -z "$cline" ] || echo "#   $cline"
        echo "#   $line"
        ops=$(echo "$line" | sed -n 's/.*reload: \([0-9]*\) ops applied.*/\1/p')
        own_ms=$(echo "$line" | sed -n 's/.*ops applied in \([0-9]*\) ms.*/\1/p')
        line_s=$(secs "$(day_secs "$t_hup")" "$(log_secs "$line")")
        [ "$ops" = 1 ] || result=fail
        if [ -n "$uline" ]; then
            # K of M: K files reused, M read in all
            unchanged=$(echo "$uline" |
                sed -n 's/.* \([0-9]*\) of \([0-9]*\) [a-z_ ]*files unchanged.*/\1\/\2/p')
        fi
        # when the configuration was ready
        [ -z "$cline" ] || cfg_s=$(secs "$(day_secs "$t_hup")" "$(log_secs "$cline")")
    else
        # keepalived: let its reload finish (the checker process logs and goes quiet)
        sleep 2
        tail -n "+$((nlog + 1))" /tmp/tool.log | grep -i -E 'reload|weight' | head -n 5 |
            sed 's/^/#   /'
    fi
    sleep 1
    # shellcheck disable=SC2086
    cpu_s=$(awk -v a="$c0" -v b="$(cpu_of $cpids)" 'BEGIN { printf "%.2f", (b - a) / 100 }')
    echo "RELOAD tool=$tool n=$n layout=$layout files=$files reload=$r weight=$w" \
        "visible_s=$visible_s polls=$polls ops=$ops own_ms=$own_ms unchanged=$unchanged" \
        "cfg_line_s=$cfg_s log_line_s=$line_s cpu_s=$cpu_s"
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
echo "BENCH tool=$tool n=$n layout=$layout files=$files objects=$objects load_s=$load_s reloads=$reloads visible_med_s=$med" \
    "hwm_kb=$hwm result=$result kernel=$(uname -r)"
kill "$pid"
wait "$pid"
[ "$result" = ok ]
