# shellcheck shell=dash
# What an operator sees and steers in a running extlbd: the status (extlbctl status, and
# SIGUSR1 in the log) matches ipvsadm -Ln and the health of each server, a server whose
# port refuses is down with that reason; extlbctl disable drains a server at weight 0 (its
# connection finishes, new ones go elsewhere) and enable restores it; the flag survives a
# reload and a restart (state file), an untrusted or corrupt state file is refused with its
# name; SIGUSR1, SIGUSR2 and SIGPIPE leave the daemon running.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 3 >/dev/null
state=/var/lib/extlbd
conf=/tmp/maint.conf
cat >"$conf" <<CONF
global: { check = { type = "tcp"; interval = 1; timeout = 1; rise = 1; fall = 1; }; };
virtual_services = (
  { name = "web"; vip = "$VIP"; port = 8000; scheduler = "rr";
    real_servers = ( { address = "10.20.0.5"; port = 80; },
                     { address = "10.20.0.6"; port = 80; weight = 2; },
                     { address = "10.20.0.7"; port = 81; } ); },
  { name = "dns"; vip = "$VIP"; port = 5353; protocol = "udp";
    check = { type = "none"; };
    real_servers = ( { address = "10.20.0.5"; port = 53; } ); }
);
CONF
weights() { ipvsadm -Ln -t "$VIP:8000" | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2, $4 }'; }
held() { # a request whose headers end only after SECS: the connection stays open
    ip netns exec client sh -c "(printf 'GET / HTTP/1.0\r\n'; sleep $1; printf '\r\n') | nc $VIP 8000" >"$2" 2>&1
}
# the status dump of one signal, as the log holds it, in /tmp/dump.txt
dump() { # dump SIGNAL
    local mark
    mark=$(xl_log_lines)
    kill "-$1" "$XL_EXTLBD_PID"
    xl_wait_for -t 30 sh -c "tail -n +$((mark + 1)) $XL_EXTLBD_LOG | grep -q 'status dump done'"
    xl_log_since "$mark" | sed -n 's/.*status: //p' >/tmp/dump.txt
    sed 's/^/# dump: /' /tmp/dump.txt
}
dumped() { grep -E -q "$1" /tmp/dump.txt; }
has_ctl=false
command -v extlbctl >/dev/null 2>&1 && has_ctl=true

rm -rf "$state"
xl_check "extlbd starts" xl_extlbd_start "$conf"
xl_wait_for -t 30 sh -c "[ \"\$(ipvsadm -Ln -t $VIP:8000 | grep -c -- '->  *10')\" = 2 ]"

# ---- SIGUSR1: the status in the log, and the daemon lives -------------------------------
# (a server down from start-up changes no state: the dump is where it shows)
tries=0
while dump USR1 >/dev/null && ! dumped '10.20.0.7:81 .* down ' && [ $tries -lt 30 ]; do
    tries=$((tries + 1))
    sleep 1
done
sed 's/^/# dump: /' /tmp/dump.txt
xl_check "SIGUSR1: the dump names the service like ipvsadm" dumped "^TCP  $VIP:8000 rr  \"web\""
xl_check "SIGUSR1: 10.20.0.5:80 up at weight 1 in the kernel" \
    dumped '^  -> 10.20.0.5:80 +Masq +1 +1 .* up '
xl_check "SIGUSR1: 10.20.0.6:80 up, configured and effective weight 2" \
    dumped '^  -> 10.20.0.6:80 +Masq +2 +2 .* up '
xl_check "SIGUSR1: 10.20.0.7:81 down, not in the kernel, with its reason" \
    dumped '^  -> 10.20.0.7:81 +Masq +1 +- +- +- +down +connection refused, '
xl_check "SIGUSR1: the UDP service is there" dumped "^UDP  $VIP:5353 wlc  \"dns\"  quorum ok"
xl_check "SIGUSR1: counts" dumped '2 virtual services, 4 real servers: 3 up, 1 down, 0 unknown'
xl_check "extlbd lives after SIGUSR1" kill -0 "$XL_EXTLBD_PID"
dump USR2
xl_check "SIGUSR2 is taken as SIGUSR1, and says so" grep -q \
    'SIGUSR2: writing the status of 2 virtual services to the log (SIGUSR2 does what SIGUSR1 does)' \
    "$XL_EXTLBD_LOG"
xl_check "SIGUSR2: the dump has the table" dumped '10.20.0.7:81'
kill -PIPE "$XL_EXTLBD_PID"
sleep 1
xl_check "extlbd lives after SIGPIPE" kill -0 "$XL_EXTLBD_PID"

# ---- extlbctl status: the same as ipvsadm and the health -----------------------------------
if $has_ctl; then
    extlbctl status >/tmp/status.txt
    rc=$?
    sed 's/^/# status: /' /tmp/status.txt
    xl_assert_eq "extlbctl status exits 1: a server is down" 1 "$rc"
    xl_check "extlbctl status: 10.20.0.7:81 down with its reason" \
        grep -E -q '^  -> 10.20.0.7:81 .* down +connection refused' /tmp/status.txt
    # each server's connection counter, as the kernel's: 4 requests, and the kernel's
    # counters are summed every 2 s
    xl_requests 4 client "$VIP" 8000 >/dev/null
    sleep 3
    extlbctl -j status >/tmp/status.json
    xl_assert_eq "status -j: each server's connections counted, as ipvsadm --stats says" \
        "$(ipvsadm -Ln --stats -t "$VIP:8000" | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2, $3 }' | sort)" \
        "$(awk -F'"' '/"name": / { srv = "" } /"server": / { srv = $4 }
            srv ~ /:80$/ && /"conns": / { gsub(/[^0-9]/, "", $3); print srv, $3 }' /tmp/status.json |
            sort)"
    # every server the kernel holds, with its weight, as status -j says
    kernel=$(ipvsadm -Ln | awk '$1 == "->" && $2 ~ /^[0-9]/ { print $2, $4 }' | sort)
    json=$(awk -F'"' '/"name": / { srv = "" } /"server": / { srv = $4 }
        /"effective_weight": / { gsub(/[^0-9]/, "", $3); print srv, $3 }' /tmp/status.json | sort)
    xl_assert_eq "status -j effective weights are ipvsadm -Ln's" "$kernel" "$json"
    xl_assert_eq "status -j: the down server is down, not in the kernel" "health down
in_kernel false" "$(awk -F'"' '/"name": / { srv = "" } /"server": / { srv = $4 }
        srv == "10.20.0.7:81" && /"health": / { print "health", $4 }
        srv == "10.20.0.7:81" && /"in_kernel": / { gsub(/[^a-z]/, "", $3); print "in_kernel", $3 }' \
        /tmp/status.json)"
    extlbctl status dns >/dev/null
    xl_assert_eq "extlbctl status dns exits 0: all up there" 0 "$?"
else
    xl_skip "extlbctl status" "extlbctl is not in this build"
fi

# ---- disable / enable ---------------------------------------------------------------------
if $has_ctl; then
    held 8 /tmp/held.out &
    h=$!
    xl_wait_for -t 10 sh -c "ipvsadm -Ln -t $VIP:8000 | grep -q ' 1 *[0-9]* *$'"
    busy=$(ipvsadm -Ln -t "$VIP:8000" | awk '$1 == "->" && $5 == 1 { print $2 }')
    other=10.20.0.5:80
    [ "$busy" = "$other" ] && other=10.20.0.6:80
    msg=$(extlbctl disable web "$busy")
    xl_assert_eq "disable says what it did" \
        "disable: $busy of web: disabled, draining 1 connection" "$msg"
    xl_assert_eq "disabled: weight 0 in the kernel, still listed" \
        "$busy 0" "$(weights | grep "^$busy ")"
    name=backend1
    [ "$other" = 10.20.0.6:80 ] && name=backend2
    xl_assert_eq "new connections go to the other server" "$name
$name
$name" "$(xl_requests 3 client "$VIP" 8000)"
    wait "$h"
    xl_check "the held connection finished through the drain" grep -q '^backend' /tmp/held.out
    xl_assert_eq "disabling again succeeds and says so" "disable: $busy of web: disabled already" \
        "$(extlbctl disable web "$busy")"
    xl_check "the state file holds the flag, mode 0600" sh -c \
        "grep -q '\"server\": \"$busy\"' $state/maintenance.json && [ \"\$(stat -c %a $state/maintenance.json)\" = 600 ]"
    xl_check "status shows the maintenance flag" sh -c \
        "extlbctl status web | grep -E -q '^  -> $busy .*MAINTENANCE'"
    xl_extlbd_reload
    xl_assert_eq "the flag survives a reload" "$busy 0" "$(weights | grep "^$busy ")"
    xl_extlbd_stop TERM
    xl_check "extlbd restarts" xl_extlbd_start "$conf"
    xl_check "the flag survives a restart" xl_wait_for -t 30 sh -c \
        "ipvsadm -Ln -t $VIP:8000 | grep -E -q '$busy +Masq +0 '"
    xl_check "unknown server refused" sh -c "! extlbctl disable web 10.20.0.99:80"
    xl_check "an address no server has is refused, saying so" sh -c \
        "extlbctl disable web 10.20.0.77 2>&1 | grep -q 'has no real server'"
    msg=$(extlbctl enable web "$busy")
    xl_check "enable restores the weight" xl_wait_for -t 10 sh -c \
        "ipvsadm -Ln -t $VIP:8000 | grep -E -q '$busy +Masq +[12] '"
    xl_check "enable says so" sh -c "echo '$msg' | grep -q '$busy of web: enabled'"
else
    xl_skip "extlbctl disable/enable" "extlbctl is not in this build"
fi

# ---- the state file across restarts, written by hand ---------------------------------------
xl_extlbd_stop TERM
mkdir -p "$state"
chmod 700 "$state"
printf '{"version":1,"disabled":[{"service":"web","server":"10.20.0.5:80"},{"service":"web","server":"10.20.0.9:80"}]}\n' \
    >"$state/maintenance.json"
chmod 600 "$state/maintenance.json"
xl_check "extlbd starts with a state file" xl_extlbd_start "$conf"
xl_check "the state file's server starts at weight 0" xl_wait_for -t 30 sh -c \
    "ipvsadm -Ln -t $VIP:8000 | grep -E -q '10.20.0.5:80 +Masq +0 '"
xl_check "a flag of a server not configured is listed" grep -q \
    'real server 10.20.0.9:80 of "web" is disabled but not in the configuration' "$XL_EXTLBD_LOG"
dump USR1
xl_check "SIGUSR1 shows the flag" dumped '^  -> 10.20.0.5:80 +Masq +1 +0 .*MAINTENANCE'
xl_extlbd_reload
xl_assert_eq "the flag survives a reload" "10.20.0.5:80 0" "$(weights | grep '^10.20.0.5:80 ')"
xl_extlbd_stop TERM

chmod 666 "$state/maintenance.json"
xl_check "extlbd starts with a state file others may write" xl_extlbd_start "$conf"
xl_check "that file is refused, naming it" grep -q \
    "maintenance: $state/maintenance.json is writable by others (mode 0666): not read" "$XL_EXTLBD_LOG"
xl_check "so the server serves" xl_wait_for -t 30 sh -c \
    "ipvsadm -Ln -t $VIP:8000 | grep -E -q '10.20.0.5:80 +Masq +1 '"
xl_extlbd_stop TERM

chmod 600 "$state/maintenance.json"
echo '{"disabled":[' >"$state/maintenance.json"
xl_check "extlbd starts with a corrupt state file" xl_extlbd_start "$conf"
xl_check "the corrupt file is named" grep -q \
    "maintenance: $state/maintenance.json: not JSON" "$XL_EXTLBD_LOG"
xl_check "and left as it was" grep -q '^{"disabled":\[$' "$state/maintenance.json"
xl_extlbd_stop TERM

# ---- a dump of 2,000 services takes many loop iterations: a second signal is refused ---------
big=/tmp/big.conf
{
    echo 'global: { check = { type = "none"; }; state_dir = "/tmp/state"; };'
    echo 'virtual_services = ('
    i=0
    while [ $i -lt 2000 ]; do
        [ $i -gt 0 ] && echo ','
        echo "{ name = \"s$i\"; vip = \"192.168.$((i / 250 + 20)).$((i % 250 + 1))\"; port = 80;"
        echo "  real_servers = ( { address = \"10.20.0.5\"; port = 80; } ); }"
        i=$((i + 1))
    done
    echo ');'
} >"$big"
xl_check "extlbd starts with 2,000 services" xl_extlbd_start "$big"
mark=$(xl_log_lines)
kill -USR1 "$XL_EXTLBD_PID"
# the second once the first has begun (two at once may be one signal)
until tail -n +$((mark + 1)) "$XL_EXTLBD_LOG" | grep -q 'writing the status'; do :; done
kill -USR1 "$XL_EXTLBD_PID"
xl_check "the dump of 2,000 services ends" xl_wait_for -t 60 sh -c \
    "tail -n +$((mark + 1)) $XL_EXTLBD_LOG | grep -q 'status dump done'"
xl_check "a second SIGUSR1 during a dump is told so and starts nothing" sh -c \
    "tail -n +$((mark + 1)) $XL_EXTLBD_LOG | grep -q 'SIGUSR1: a status dump (SIGUSR1) is under way already; not starting another'"
xl_assert_eq "one dump, every service in it" "1 2000" \
    "$(xl_log_since "$mark" | grep -c 'status dump done') $(xl_log_since "$mark" | grep -c 'status: TCP ')"
xl_extlbd_stop TERM
xl_assert_eq "extlbd stops cleanly" 0 "$XL_EXTLBD_STATUS"
xl_summary
