# shellcheck shell=dash
# extlbd as systemd/extlbd.service runs it, read from the unit file (the VM has no systemd):
# - its CapabilityBoundingSet, applied with setpriv. Script checks must still run as their
#   user (nobody), follow the server's state, and be killed at their timeout.
# - its ExecReload= commands, run in order until one fails, as `systemctl reload` does: a
#   file that does not pass fails the reload with file:line and never reaches the daemon;
#   a good one is applied.
# - then the bounding set the unit had before CAP_SETUID, CAP_SETGID and CAP_KILL were
#   added: the check must say which capabilities are missing instead of failing servers.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
UNIT=/test/extlbd.service.in
SETPRIV=/usr/libexec/setpriv # util-linux's, which tests/vm/run.sh adds (busybox's is too small)
xl_topology_nat "$VIP" 3 >/dev/null

# setpriv's --bounding-set argument for a CapabilityBoundingSet= line's names
bounding() {
    local b=-all c
    for c in $1; do
        # capability names are ASCII; busybox tr has no classes
        # shellcheck disable=SC2018,SC2019
        b="$b,+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"
    done
    echo "$b"
}
caps="$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")"
xl_log "the unit's CapabilityBoundingSet: $caps"
dests() { # the real servers of VIP:PORT, one line each
    ipvsadm -Ln -t "$VIP:$1" | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2 }'
}
sleepers() { # live "sleep 300" processes: the hanging script checks
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' <"$f" 2>/dev/null
        echo
    done | grep -c '^sleep 300 $'
}
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# systemctl_reload: the unit's ExecReload= lines in order, stopping at the first failure
systemctl_reload() {
    local cmd
    sed -n 's/^ExecReload=//p' "$UNIT" | sed -e 's|@sbindir@|/usr/sbin|g' \
        -e 's|@sysconfdir@|/etc|g' -e "s|\$MAINPID|$XL_EXTLBD_PID|g" >/tmp/reload-cmds
    while read -r cmd; do
        echo "# ExecReload: $cmd"
        $cmd || return 1
    done </tmp/reload-cmds
}

mkdir -p /run/xl-up
touch /run/xl-up/10.20.0.5
cp /test/conf/unit.conf /etc/extlb.conf
XL_EXTLBD_WRAP="$SETPRIV --bounding-set $(bounding "$caps") --"
xl_check "extlbd starts with the unit's bounding set" xl_extlbd_start /etc/extlb.conf ||
    cat "$XL_EXTLBD_LOG"
bnd="$(status_field "$XL_EXTLBD_PID" CapBnd)"
xl_log "extlbd CapBnd $bnd CapEff $(status_field "$XL_EXTLBD_PID" CapEff)"
narrowed() { [ -n "$bnd" ] && [ "$bnd" != "$(status_field 1 CapBnd)" ]; }
xl_check "extlbd runs narrowed (CapBnd $bnd is not every capability)" narrowed
xl_assert_eq "its effective capabilities are the bounding set" "$bnd" \
    "$(status_field "$XL_EXTLBD_PID" CapEff)"
xl_check "the script passes for 10.20.0.5 (as nobody) and it is added" \
    xl_wait_for -t 20 sh -c "ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.5:80"
xl_assert_eq "10.20.0.6 fails its script and is not added" "10.20.0.5:80" "$(dests 8000)"
touch /run/xl-up/10.20.0.6
rm /run/xl-up/10.20.0.5
xl_check "the scripts follow: 10.20.0.6 comes in, 10.20.0.5 goes" \
    xl_wait_for -t 20 sh -c "[ \"\$(ipvsadm -Ln -t $VIP:8000 | grep -c Masq)\" = 1 ] && ipvsadm -Ln -t $VIP:8000 | grep -q 10.20.0.6:80"
# "hangs" starts one every second and must kill it 0.5 s later: never more than 2 alive
most=0 i=0
while [ "$i" -lt 30 ]; do
    n="$(sleepers)"
    [ "$n" -gt "$most" ] && most=$n
    sleep 0.2
    i=$((i + 1))
done
xl_log "hanging scripts alive at once over 6 s, at most: $most"
xl_check "the hanging script was run" [ "$most" -ge 1 ]
xl_check "a hanging script is killed at its timeout ($most alive at most, not more than 2)" \
    [ "$most" -le 2 ]
xl_check "no check lacked a capability" sh -c "! grep -q 'could not run' $XL_EXTLBD_LOG"

# systemctl reload with a file that does not pass, then with a good one
reloads() { xl_log_count 'SIGHUP: reloading'; }
before="$(reloads)"
table="$(ipvsadm -Sn)"
sed 's/scheduler = "rr"; *$/scheduler = 7;/' /test/conf/unit.conf >/etc/extlb.conf
line="$(grep -n 'scheduler = 7;' /etc/extlb.conf | head -n 1 | cut -d: -f1)"
systemctl_reload >/tmp/reload.out 2>&1
rc=$?
cat /tmp/reload.out
xl_check "a bad file fails the reload" [ "$rc" -ne 0 ]
xl_check "and says where (/etc/extlb.conf:$line)" grep -q "/etc/extlb.conf:$line" /tmp/reload.out
xl_check "the bad file never reached the daemon" [ "$(reloads)" = "$before" ]
xl_assert_eq "the table is as it was" "$table" "$(ipvsadm -Sn)"
sed 's/address = "10.20.0.6"; port = 80;/address = "10.20.0.6"; port = 80; weight = 3;/' \
    /test/conf/unit.conf >/etc/extlb.conf
xl_check "a good file reloads" systemctl_reload
weight3() { ipvsadm -Ln -t "$VIP:8000" | grep -q '10.20.0.6:80 *Masq *3 '; }
xl_check "and is applied: 10.20.0.6 at weight 3" xl_wait_for -t 20 weight3
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
no_sleepers() { [ "$(sleepers)" = 0 ]; }
xl_wait_for -t 10 no_sleepers
xl_assert_eq "no script outlives extlbd" 0 "$(sleepers)"

# the bounding set the unit had before: no SETUID, SETGID, KILL
ipvsadm -C
: >"$XL_EXTLBD_LOG"
XL_EXTLBD_WRAP="$SETPRIV --bounding-set -all,+net_admin,+sys_module --"
xl_check "extlbd starts without CAP_SETUID, CAP_SETGID, CAP_KILL" \
    xl_extlbd_start /etc/extlb.conf || cat "$XL_EXTLBD_LOG"
xl_check "the check says which capabilities are missing" \
    xl_wait_for -t 20 grep -q 'could not run: extlbd runs as root without CAP_SETGID CAP_SETUID CAP_KILL, needed to run the script as user "nobody"; state unchanged' "$XL_EXTLBD_LOG"
xl_assert_eq "no script ran" 0 "$(sleepers)"
xl_assert_eq "and no server was added on a check that could not run" "" "$(dests 8000)"
xl_extlbd_stop TERM
grep -E 'could not run|script|up:|down:' "$XL_EXTLBD_LOG" | head -n 5
xl_summary
