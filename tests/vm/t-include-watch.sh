# shellcheck shell=dash
# watch_include_dir: a file written into include_dir as extlb-k8s writes it (a dotfile, then a
# rename) is applied with no signal; an edit and a deletion too; a burst of 20 rewrites makes
# few reloads; dotfiles (a temp file, a hidden *.conf) are never read; a removed directory takes its services and
# is watched again once it is back; with the key false nothing happens until SIGHUP. Last, the
# daemon's life with the watch under valgrind: no error, no leak, no inotify descriptor left.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
D=/tmp/watch.d
CONF=/tmp/watch.conf
# well before extlbd reads it: a directory changed within 0.1 s of the read counts as changed
# after it (a reload "before it was watched"), which would merge with the first file's
mkdir -p "$D"
xl_topology_nat "$VIP" 3 >/dev/null

# main CONF [true|false]: resync every 2 s, so a directory created late is seen soon
main() {
    printf 'global: { include_dir = "%s"; watch_include_dir = %s; resync_interval = 2;\n  check = { type = "none"; }; };\n' \
        "$D" "$1" >"$CONF"
}

# svc NAME PORT [WEIGHT]: one service on VIP:PORT, backend2's weight WEIGHT (1)
svc() {
    printf 'virtual_services = ( { name = "%s"; vip = "%s"; port = %s; scheduler = "rr";\n  real_servers = ( { address = "10.20.0.5"; port = 80; },\n    { address = "10.20.0.6"; port = 80; weight = %s; } ); } );\n' \
        "$1" "$VIP" "$2" "${3:-1}"
}

# put NAME TEXT: as extlb-k8s writes, a dotfile filled and then renamed in
put() {
    printf '%s\n' "$2" >"$D/.$1.tmpXXXX" && mv "$D/.$1.tmpXXXX" "$D/$1"
}

# has PORT / hasnt PORT, for xl_wait_for (a new sh: no functions there)
has() { echo "ipvsadm -Ln | grep -q '$VIP:$1 '"; }
hasnt() { echo "! ipvsadm -Ln | grep -q '$VIP:$1 '"; }
changed() { xl_log_count "include_dir $D changed \\($1"; }

main true
xl_check "extlbd starts with watch_include_dir = true" xl_extlbd_start "$CONF"
xl_assert_eq "the directory is watched" 1 "$(xl_log_count "include_dir $D: watched")"

put web.conf "$(svc web 8000)"
xl_check "a new file is applied without a signal" xl_wait_for -t 60 sh -c "$(has 8000)"
xl_assert_eq "its table" "TCP $VIP:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "the log names the file" 1 "$(changed web.conf)"
a=$(xl_http_get client "$VIP" 8000)
case "$a" in backend1 | backend2) a=backend ;; esac
xl_assert_eq "traffic through it reaches backend1 or backend2" backend "$a"

put web.conf "$(svc web 8000 3)"
xl_check "an edit is applied" xl_wait_for -t 60 sh -c \
    "ipvsadm -Ln | grep -Eq '10\\.20\\.0\\.6:80 +Masq +3 '"

mark=$(xl_log_lines)
i=1
while [ "$i" -le 20 ]; do
    put web.conf "$(svc web 8000 $((i + 10)))"
    i=$((i + 1))
done
xl_check "20 quick rewrites: the last one applied" xl_wait_for -t 60 sh -c \
    "ipvsadm -Ln | grep -Eq '10\\.20\\.0\\.6:80 +Masq +30 '"
n=$(xl_log_since "$mark" | grep -c "include_dir $D changed")
xl_log "20 rewrites: $n reload(s)"
xl_check "20 quick rewrites: few reloads ($n, at most 5)" sh -c "[ $n -ge 1 ] && [ $n -le 5 ]"

# dotfiles first (a writer's temp file; a hidden *.conf): once the later file is applied,
# their events were handled too
printf '%s\n' "$(svc half 8002)" >"$D/.half.conf.tmpXXXX"
printf '%s\n' "$(svc half 8002)" >"$D/.half.conf"
put marker.conf "$(svc marker 8003)"
xl_check "a file written after a temp dotfile is applied" xl_wait_for -t 60 sh -c "$(has 8003)"
xl_check "dotfiles alone are not read" sh -c "$(hasnt 8002)"
xl_assert_eq "dotfiles made no reload" 0 "$(changed .half)"
rm -f "$D/.half.conf.tmpXXXX" "$D/.half.conf"

rm "$D/web.conf"
xl_check "a deleted file's service is removed" xl_wait_for -t 60 sh -c "$(hasnt 8000)"
xl_check "the other file's service stays" sh -c "$(has 8003)"

rm -rf "$D"
xl_check "a removed directory's services are removed" xl_wait_for -t 60 sh -c "$(hasnt 8003)"
xl_extlbd_reload
xl_extlbd_reload
xl_assert_eq "the missing directory is logged once" 1 \
    "$(xl_log_count "include_dir $D does not exist")"
mark=$(xl_log_lines)
mkdir "$D"
put back.conf "$(svc back 8004)"
xl_check "the directory back: watched again at a resync, its file applied" \
    xl_wait_for -t 60 sh -c "$(has 8004)"
xl_assert_eq "  ... as a change made before the watch" 1 \
    "$(xl_log_since "$mark" | grep -c "include_dir $D changed (before it was watched")"

main false
xl_extlbd_reload
xl_assert_eq "watch_include_dir = false: the watch is dropped" 1 \
    "$(xl_log_count "include_dir $D: no longer watched")"
mark=$(xl_log_lines)
put off.conf "$(svc off 8005)"
# a negative needs a window: 3 s is 6 settle delays, and the watched runs above took under 1
sleep 3
xl_check "with the key false a new file is not applied" sh -c "$(hasnt 8005)"
xl_assert_eq "  ... nor logged" 0 "$(xl_log_since "$mark" | grep -c 'changed (')"
xl_extlbd_reload
xl_check "  ... until SIGHUP" sh -c "$(has 8005)"
xl_assert_eq "SIGHUPs: only the 4 this test sent" 4 "$(xl_log_count 'SIGHUP: reloading')"
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
# what the daemon said, for whoever reads the console
grep -E 'include_dir .*(watch|exist|changed)|SIGHUP' "$XL_EXTLBD_LOG" | sed 's/^/# /'

if [ ! -x /usr/bin/valgrind.bin ]; then
    xl_skip "under valgrind" "valgrind is not in the VM image"
    xl_summary
    exit 0
fi
main true
vg=/tmp/extlbd-vg.log
VALGRIND_LIB=/usr/libexec/valgrind valgrind.bin -q --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --track-fds=yes extlbd -n -l -f "$CONF" >"$vg" 2>&1 &
pid=$!
xl_check "under valgrind: starts" xl_wait_for -t 300 grep -q 'running:' "$vg"
put vg.conf "$(svc vg 8006)"
xl_check "under valgrind: a change applied" xl_wait_for -t 120 sh -c "$(has 8006)"
kill -TERM "$pid"
st=0
wait "$pid" || st=$?
xl_assert_eq "under valgrind: no errors, no leaks (exit 0)" 0 "$st"
xl_assert_eq "under valgrind: no inotify descriptor open at exit" 0 \
    "$(grep -c 'inotify_init' "$vg")"
grep -E '==[0-9]+==' "$vg" | head -n 40
xl_summary
