# shellcheck shell=dash
# Guest side of bench/ranges-reload.sh: ranges-reload-guest.sh N RELOADS.
# shellcheck source=bench/health-lib.sh
. /test/health-lib.sh

n="${1:?usage: ranges-reload-guest.sh N RELOADS}"
reloads="${2:?usage: ranges-reload-guest.sh N RELOADS}"
result=ok
mid=$((n / 2))
name="s$((mid + 1))"
echo "# the changed service: $name; kernel $(uname -r)"

cp "/test/extlb-$n-host.conf" /tmp/live.conf
t0=$(now)
extlbd -n -l -f /tmp/live.conf -p /run/extlbd.pid 2>/tmp/extlbd.log &
pid=$!
i=0
until grep -q 'running:' /tmp/extlbd.log; do
    i=$((i + 1))
    if [ "$i" -ge 36000 ] || ! alive "$pid"; then
        echo "# extlbd not running"
        tail /tmp/extlbd.log
        exit 1
    fi
    sleep 0.05
done
echo "# extlbd running after $(secs "$t0" "$(now)")s"
grep -E 'nftables|vip_interface|start-up:' /tmp/extlbd.log | sed 's/^/#   /'
sets() { nft list table inet extlb 2>/dev/null | grep -v -E '^\s*$'; }
sets >/tmp/before
echo "# nftables table: $(wc -l </tmp/before) lines"

r=1
while [ "$r" -le "$reloads" ]; do
    range="198.51.100.$r/32"
    # the middle service's ranges gain one /32; the file renamed into place
    sed "/name = \"$name\";/s|allowed_sources = \[ |allowed_sources = [ \"$range\", |" \
        /tmp/live.conf >/tmp/new.conf
    cmp -s /tmp/live.conf /tmp/new.conf && { echo "# the file did not change"; exit 1; }
    mv /tmp/new.conf /tmp/live.conf
    nlog=$(wc -l </tmp/extlbd.log)
    t_hup=$(now)
    kill -HUP "$pid"
    i=0
    until tail -n "+$((nlog + 1))" /tmp/extlbd.log | grep -q 'reload: [0-9]* ops applied'; do
        i=$((i + 1))
        [ "$i" -lt 6000 ] || { echo "# reload $r: no reload line"; result=fail; break 2; }
        sleep 0.05
    done
    new=$(tail -n "+$((nlog + 1))" /tmp/extlbd.log)
    nline=$(echo "$new" | grep -m 1 'nftables: reload:')
    oline=$(echo "$new" | grep -m 1 'reload: [0-9]* ops applied')
    echo "#   $nline"
    echo "#   $oline"
    tx=$(echo "$new" | grep -c 'nftables: reload:')
    cmds=$(echo "$nline" | sed -n 's/.* \([0-9]*\) commands.*/\1/p')
    svcs=$(echo "$nline" | sed -n 's/.* \([0-9]*\) services\{0,1\} (.*/\1/p')
    added=$(echo "$nline" | sed -n 's/.*(\([0-9]*\) elements added.*/\1/p')
    deleted=$(echo "$nline" | sed -n 's/.* \([0-9]*\) deleted[;)].*/\1/p')
    named=$(echo "$nline" | sed -n 's/.*deleted[^)]*): //p' | tr -d '"') # names are quoted
    ops=$(echo "$oline" | sed -n 's/.*reload: \([0-9]*\) ops applied.*/\1/p')
    line_s=$(secs "$(day_secs "$t_hup")" "$(log_secs "$nline")")
    # the table now: the new range there, and nothing else changed
    sets >/tmp/after
    has=no
    grep -q "198\.51\.100\.$r" /tmp/after && has=yes
    # busybox diff: unified; the lines taken out and put in
    other=$(diff -U0 /tmp/before /tmp/after | grep -c '^[-+][^-+]' || true)
    cp /tmp/after /tmp/before
    echo "RANGES reload=$r transactions=$tx commands=$cmds services=$svcs added=$added" \
        "deleted=$deleted named=$named ipvs_ops=$ops signal_to_line_s=$line_s in_table=$has" \
        "table_lines_changed=$other"
    if [ "$tx" != 1 ] || [ "$svcs" != 1 ] || [ "$named" != "$name" ] || [ "$added" != 1 ] ||
        [ "$deleted" != 0 ] || [ "$ops" != 0 ] || [ "$has" != yes ]; then
        result=fail
    fi
    r=$((r + 1))
done
kill "$pid"
wait "$pid"
echo "BENCH ranges-reload n=$n reloads=$reloads result=$result"
[ "$result" = ok ]
