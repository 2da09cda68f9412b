# shellcheck shell=dash
# ipvs_timeouts and ipvs_sysctls from the file reach the kernel at start (ipvsadm -L
# --timeout, /proc/sys/net/ipv4/vs), are put back within resync_interval when someone
# changes them by hand (ipvsadm --set, echo > /proc/sys), follow a reload that changes one
# value, and a key removed at reload gets back the kernel's value from before extlbd set
# it. extlbd -t prints both groups; the service in the same file applies as usual.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VS=/proc/sys/net/ipv4/vs
conf=/tmp/kset.conf
timeouts() { ipvsadm -L --timeout; }
sysctl_of() { cat "$VS/$1"; }
# the kernel's own values, before extlbd
k_timeouts=$(timeouts)
k_sloppy=$(sysctl_of sloppy_tcp)
xl_log "the kernel's before extlbd: $k_timeouts; sloppy_tcp $k_sloppy; conntrack $(sysctl_of conntrack)"

write_conf() { # $1: ipvs_timeouts' keys, $2: ipvs_sysctls' keys
    cat >"$conf" <<CONF
global = {
  resync_interval = 2;
  check = { type = "none"; initial_state = "up"; };
  ipvs_timeouts = { $1 };
  ipvs_sysctls = { $2 };
};
virtual_services = (
  { name = "web"; vip = "192.168.10.100"; port = 80;
    real_servers = ( { address = "10.20.0.5"; port = 80; } ); }
);
CONF
}

write_conf "tcp = 600; tcp_fin = 30; udp = 90;" \
    "conntrack = true; expire_nodest_conn = 1; expire_quiescent_template = true;
    sloppy_tcp = 1; conn_reuse_mode = 2;"

xl_assert_eq "extlbd -t prints both groups as they would apply" \
    "ipvs_timeouts: tcp = 600, tcp_fin = 30, udp = 90
ipvs_sysctls: conn_reuse_mode = 2, conntrack = 1, expire_nodest_conn = 1, expire_quiescent_template = 1, sloppy_tcp = 1; the others as the kernel has them" \
    "$(extlbd -t -f "$conf" | grep '^ipvs_')"

xl_check "extlbd starts" xl_extlbd_start "$conf"
xl_assert_eq "ipvsadm shows the configured timeouts" \
    "Timeout (tcp tcpfin udp): 600 30 90" "$(timeouts)"
for kv in conntrack=1 expire_nodest_conn=1 expire_quiescent_template=1 sloppy_tcp=1 \
    conn_reuse_mode=2; do
    xl_assert_eq "$VS/${kv%=*} is ${kv#*=}" "${kv#*=}" "$(sysctl_of "${kv%=*}")"
done
xl_check "the service applies beside them" sh -c "ipvsadm -Ln | grep -q 10.20.0.5:80"
xl_check "each change is logged old -> new" sh -c \
    "grep -q 'start-up: ipvs_sysctls.sloppy_tcp $k_sloppy -> 1' $XL_EXTLBD_LOG &&
     grep -q 'start-up: ipvs_timeouts.tcp_fin [0-9]* -> 30' $XL_EXTLBD_LOG"

# behind extlbd's back
mark=$(xl_log_lines)
ipvsadm --set 1 2 3
echo 0 >"$VS/conntrack"
echo 0 >"$VS/expire_nodest_conn"
echo 1 >"$VS/conn_reuse_mode"
xl_check "ipvsadm --set 1 2 3 is undone within resync_interval" xl_wait_for -t 8 sh -c \
    "[ \"\$(ipvsadm -L --timeout)\" = 'Timeout (tcp tcpfin udp): 600 30 90' ]"
xl_check "echo 0 > $VS/conntrack and the others are undone" xl_wait_for -t 8 sh -c \
    "[ \$(cat $VS/conntrack)\$(cat $VS/expire_nodest_conn)\$(cat $VS/conn_reuse_mode) = 112 ]"
xl_log_since "$mark" | grep 'ipvs_' | sed 's/^/# /'
xl_assert_eq "the corrections are logged as such" "ipvs_sysctls.conn_reuse_mode 1 -> 2
ipvs_sysctls.conntrack 0 -> 1
ipvs_sysctls.expire_nodest_conn 0 -> 1
ipvs_timeouts.tcp 1 -> 600
ipvs_timeouts.tcp_fin 2 -> 30
ipvs_timeouts.udp 3 -> 90" \
    "$(xl_log_since "$mark" | grep "resync: ipvs_.* (changed behind extlbd's back)" |
        sed -e 's/.*resync: //' -e 's/ (changed.*//' | sort)"

# a reload: udp changes, tcp_fin and sloppy_tcp leave the file, the rest stays
mark=$(xl_log_lines)
write_conf "tcp = 600; udp = 120;" \
    "conntrack = true; expire_nodest_conn = 1; expire_quiescent_template = true;
    conn_reuse_mode = 2;"
xl_extlbd_reload
k_fin=$(echo "$k_timeouts" | awk '{ print $(NF - 1) }')
xl_check "the reload changes udp; tcp_fin is back to the kernel's $k_fin" xl_wait_for -t 10 sh -c \
    "[ \"\$(ipvsadm -L --timeout)\" = 'Timeout (tcp tcpfin udp): 600 $k_fin 120' ]"
xl_assert_eq "sloppy_tcp, removed, is back to the kernel's" "$k_sloppy" "$(sysctl_of sloppy_tcp)"
xl_assert_eq "conntrack stays" 1 "$(sysctl_of conntrack)"
xl_log_since "$mark" | grep 'ipvs_' | sed 's/^/# /'
xl_assert_eq "only what changed is written" "ipvs_sysctls.sloppy_tcp 1 -> $k_sloppy
ipvs_timeouts.tcp_fin 30 -> $k_fin
ipvs_timeouts.udp 90 -> 120" \
    "$(xl_log_since "$mark" | grep 'reload: ipvs_' | sed -e 's/.*reload: //' -e 's/ (no longer.*//' | sort)"

# a removed key is not kept any more: an operator's value stays
echo 1 >"$VS/sloppy_tcp"
sleep 5 # two resync rounds
xl_assert_eq "a key no longer in the file is left to the operator" 1 "$(sysctl_of sloppy_tcp)"
xl_assert_eq "no error logged" 0 "$(xl_log_count 'error')"
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
xl_summary
