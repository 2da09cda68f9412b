# shellcheck shell=dash
# The control socket and extlbctl, as an operator uses them: ping, reload after an edit (the
# ops), after a broken edit (file:line, exit 1, the kernel's table unchanged), check-config as
# extlbd -t, the socket's mode and owner, who may do what (root, a member of control_group,
# anyone else), the socket moved by a reload, and 200 hostile clients survived.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
SOCK=/run/extlbd/control.sock
CONF=/tmp/ctl.conf
SETPRIV=/usr/libexec/setpriv
xl_topology_nat "$VIP" 3 >/dev/null
# the operators' group, read-only access; uid 1000 is nobody in particular
echo 'extlbops:x:1001:' >>/etc/group
echo 'ops:x:1000:1000::/tmp:/bin/sh' >>/etc/passwd

conf() { # conf [EXTRA-GLOBAL-LINE [EXTRA-SERVER-LINE]]
    cat >"$CONF" <<CONF
global = { control_group = "extlbops"; check = { type = "none"; }; $1 };
virtual_services = ( { name = "web"; vip = "$VIP"; port = 8000; scheduler = "rr";
  real_servers = (
    { address = "10.20.0.5"; port = 80; } $2
  ); } );
CONF
}
# text without the time a run took (it varies)
no_ms() { sed -E 's/ in [0-9]+ ms/ in N ms/'; }

conf
# under the systemd unit's capability bounding set: giving the socket to control_group is a
# chown that takes CAP_CHOWN
# shellcheck disable=SC2018,SC2019 # capability names are ASCII; busybox tr has no classes
caps=$(sed -n 's/^CapabilityBoundingSet=//p' /test/extlbd.service.in | tr ' ' '\n' |
    sed 's/^CAP_/+/' | tr 'A-Z' 'a-z' | tr '\n' ',')
XL_EXTLBD_WRAP="$SETPRIV --bounding-set -all,${caps%,} --"
xl_check "extlbd starts (the unit's capability bounding set)" xl_extlbd_start "$CONF"

# ---- the socket ---------------------------------------------------------------------------
xl_check "the control socket is a socket" test -S "$SOCK"
xl_assert_eq "socket: mode 0660, owner root, group extlbops" "660 0 1001" \
    "$(stat -c '%a %u %g' "$SOCK")"
xl_assert_eq "socket directory: 0755, root's" "755 0" "$(stat -c '%a %u' /run/extlbd)"

# ---- ping ---------------------------------------------------------------------------------
out=$(extlbctl ping); rc=$?
xl_assert_eq "ping: exit 0" 0 "$rc"
xl_assert_eq "ping: the daemon's version, pid and file" \
    "extlbd 0.1.0 running: pid $XL_EXTLBD_PID, 1 virtual services from $CONF" \
    "$(echo "$out" | sed -E 's/, up [0-9]+d [0-9:]+//')"
xl_assert_eq "ping -j: JSON with the pid" "\"pid\": $XL_EXTLBD_PID" \
    "$(extlbctl -j ping | grep -o "\"pid\": *[0-9]*" | sed 's/: */: /')"
out=$(extlbctl -s /run/nowhere.sock ping 2>&1); rc=$?
xl_assert_eq "no socket: exit 3" 3 "$rc"
xl_assert_eq "no socket: the path, the errno and a hint" "\
extlbctl: cannot connect to /run/nowhere.sock: No such file or directory
extlbctl: is extlbd running, and is its control_socket this path? (-s SOCKET, see extlbctl(8))" "$out"

# ---- reload -------------------------------------------------------------------------------
conf "" ', { address = "10.20.0.6"; port = 80; weight = 2; }'
out=$(extlbctl reload); rc=$?
xl_assert_eq "reload after an edit: exit 0" 0 "$rc"
xl_assert_eq "reload after an edit: the ops applied" \
    "reload: $CONF in force: 1 ops applied in N ms (services +0 ~0 -0, real servers +1 ~0 -0), 0 failed" \
    "$(echo "$out" | no_ms)"
table="TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 2"
xl_assert_eq "reload after an edit: the kernel has it" "$table" "$(xl_ipvs_table)"
out=$(extlbctl -j reload); rc=$?
xl_assert_eq "reload unchanged -j: exit 0, zero ops" "0 \"ops\": 0" \
    "$rc $(echo "$out" | grep -o '"ops": *[0-9]*' | sed 's/: */: /')"

cp "$CONF" /tmp/good.conf
sed -i 's/scheduler = "rr";/scheduler = "rr"; weigth = 3;/' "$CONF"
out=$(extlbctl reload 2>&1); rc=$?
xl_assert_eq "broken edit: exit 1" 1 "$rc"
xl_assert_eq "broken edit: the error at file:line, then the outcome" "\
$CONF:2: unknown key \"weigth\"
extlbctl: reload: $CONF is invalid (1 error); the running configuration stays in force" \
    "$(echo "$out" | sed 's/ in virtual service (known: .*//')"
xl_assert_eq "broken edit: the kernel's table unchanged" "$table" "$(xl_ipvs_table)"

# ---- check-config -------------------------------------------------------------------------
out=$(extlbctl check-config 2>&1); rc=$?
xl_assert_eq "check-config, broken file: exit 1" 1 "$rc"
xl_assert_eq "check-config, broken file: the error at file:line" 1 \
    "$(echo "$out" | grep -c "^$CONF:2: unknown key \"weigth\"")"
cp /tmp/good.conf "$CONF"
out=$(extlbctl check-config); rc=$?
xl_assert_eq "check-config: exit 0, as extlbd -t prints" "0
$(extlbd -t -f "$CONF")" "$rc
$out"

# ---- who may do what ----------------------------------------------------------------------
out=$($SETPRIV --reuid=1000 --regid=1000 --clear-groups extlbctl ping 2>&1); rc=$?
xl_assert_eq "a user outside the group: cannot connect (exit 3)" 3 "$rc"
xl_assert_eq "a user outside the group: told why" 1 \
    "$(echo "$out" | grep -c "cannot connect to $SOCK: Permission denied")"
out=$($SETPRIV --reuid=1000 --regid=1000 --groups=1001 extlbctl ping); rc=$?
xl_assert_eq "a member of control_group: ping answered" "0 1" \
    "$rc $(echo "$out" | grep -c "running: pid $XL_EXTLBD_PID")"
out=$($SETPRIV --reuid=1000 --regid=1000 --groups=1001 extlbctl reload 2>&1); rc=$?
xl_assert_eq "a member of control_group: reload refused" "1
extlbctl: reload: permission denied: reload needs root (control_group may run: ping, status)" \
    "$rc
$out"
xl_assert_eq "a member of control_group: the refusal logged" 1 \
    "$(xl_log_count 'control: reload refused to uid 1000')"
# past the file's mode (made wider by hand), the credential check still says no
chmod 0666 "$SOCK"
out=$($SETPRIV --reuid=1000 --regid=1000 --clear-groups extlbctl reload 2>&1); rc=$?
chmod 0660 "$SOCK"
xl_assert_eq "a peer neither root nor in the group: refused by its credentials" "1
extlbctl: reload: permission denied: only root and members of control_group may use the control socket" \
    "$rc
$out"

# ---- the socket follows the configuration -------------------------------------------------
conf 'control_socket = "/run/extlbd/other.sock";' ', { address = "10.20.0.6"; port = 80; weight = 2; }'
out=$(extlbctl reload); rc=$?
xl_assert_eq "control_socket changed: the reload answers on the old socket" 0 "$rc"
xl_check "control_socket changed: the old path is gone" test ! -e "$SOCK"
xl_assert_eq "control_socket changed: the new one is 0660 root:extlbops" "660 0 1001" \
    "$(stat -c '%a %u %g' /run/extlbd/other.sock)"
cp /tmp/good.conf "$CONF"
out=$(extlbctl -s /run/extlbd/other.sock reload); rc=$?
xl_check "control_socket back: the default path again" test -S "$SOCK"
xl_check "control_socket back: the other path gone" test ! -e /run/extlbd/other.sock

# ---- hostile clients ----------------------------------------------------------------------
# shellcheck disable=SC2012 # descriptors are numbers
fds_before=$(ls /proc/"$XL_EXTLBD_PID"/fd | wc -l)
head -c 1100000 /dev/zero | tr '\0' a >/tmp/huge
i=0
while [ $i -lt 200 ]; do
    case $((i % 3)) in
        0) printf 'garbage \001\002\n' | socat -t 2 - UNIX-CONNECT:"$SOCK" >/dev/null 2>&1 & ;;
        1) socat -t 2 - UNIX-CONNECT:"$SOCK" </tmp/huge >/dev/null 2>&1 & ;;
        2) sleep 12 | socat -t 1 - UNIX-CONNECT:"$SOCK" >/dev/null 2>&1 & ;;
    esac
    i=$((i + 1))
done
wait_clients() { ! pidof socat >/dev/null; }
xl_check "hostile clients: all dropped or answered within 30 s" xl_wait_for -t 30 wait_clients
xl_check "hostile clients: extlbd lives" kill -0 "$XL_EXTLBD_PID"
out=$(extlbctl ping 2>&1); rc=$?
xl_assert_eq "hostile clients: ping answered after them" "0 1" \
    "$rc $(echo "$out" | grep -c "running: pid $XL_EXTLBD_PID")" || echo "$out" | sed 's/^/# /' 
# (a probe in flight holds a socket for a moment: the count is looked at until it settles)
xl_check "hostile clients: no descriptor left behind" xl_wait_for -t 10 \
    sh -c "[ \$(ls /proc/$XL_EXTLBD_PID/fd | wc -l) -le $fds_before ]" ||
    { ls -l /proc/"$XL_EXTLBD_PID"/fd; grep -c control: "$XL_EXTLBD_LOG"; grep control: "$XL_EXTLBD_LOG" | tail -n 20; } | sed 's/^/# /' 
xl_assert_eq "hostile clients: the table as it was" "$table" "$(xl_ipvs_table)"

xl_extlbd_stop TERM
xl_assert_eq "stop: exit 0" 0 "$XL_EXTLBD_STATUS"
xl_check "stop: the socket removed" test ! -e "$SOCK"
xl_summary
