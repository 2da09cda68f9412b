# shellcheck shell=dash
# Helpers for test scripts that run inside the IPVS test VM (scripts/vm-run copies this file to
# /test/guest-lib.sh; a guest script starts with `. /test/guest-lib.sh`). Written for busybox
# ash: POSIX sh plus `local`, no bash features.
#
# Topology. IPVS runs in the root network namespace (the "director"). Clients and backends are
# network namespaces, each with an `eth0` that is one end of a veth pair; the other end
# (`v<NAME>`) is a port of a bridge in the root namespace: clients on bridge xlc0, backends on
# bridge xlb0. Each address given to a namespace adds the gateway address of its subnet to
# the bridge (IPv4: first host of the network, 10.20.0.5/24 -> 10.20.0.1; IPv6: the address
# with its last group replaced by 1, fd00:20::5/64 -> fd00:20::1) and makes it the namespace's
# default route, so backend replies go back through the director (as IPVS NAT needs). Client
# and backends sit on different bridges so the director never redirects backends to the
# client directly. VIPs live on the dummy interface xlvip0 in the root namespace.
#
# Defaults used by xl_topology_nat (override the variables before calling):
#   client  "client"    XL_CLIENT_ADDR=10.10.0.2/24   XL_CLIENT_ADDR6=fd00:10::2/64
#   backend "backendI"  XL_BACKEND_NET.(XL_BACKEND_BASE+I)/24, XL_BACKEND_NET6(hex)/64, i.e.
#                       backend1 10.20.0.5 fd00:20::5, backend2 10.20.0.6 fd00:20::6, ...
#                       busybox httpd on port 80 answering its name ("backend1").
#
# Functions (NAME = namespace name, at most 14 characters):
#   xl_topology_nat VIP NBACKENDS [VIP6]  client + NBACKENDS dual-stack web backends + VIP(s)
#   xl_client NAME ADDR[/PLEN] [GW]       client namespace (on xlc0) with an address
#   xl_backend NAME ADDR[/PLEN] [PORT]    backend namespace (on xlb0), httpd on PORT (80)
#                                         serving its NAME; call again with an IPv6 address
#                                         (or use xl_ns_addr) to make it dual-stack
#   xl_httpd NAME [PORT] [BODY]           (another) httpd in NAME; body defaults to NAME
#   xl_udp_backend NAME PORT [REPLY]      UDP responder (socat): answers every datagram with
#                                         REPLY (default NAME), IPv4 and IPv6
#   xl_backend_vip NAME VIP [dr|ipip|gue:PORT|gre]   backend side of IPVS DR/tunnel modes
#   xl_netns NAME SEGMENT                 bare namespace whose eth0 is a port of bridge SEGMENT
#   xl_ns_addr NAME ADDR[/PLEN] [GW]      address + default route via GW for NAME
#   xl_vip ADDR                           ADDR/32 or /128 on xlvip0 in the root namespace
#   xl_in NAME CMD...                     run CMD in namespace NAME (ip netns exec)
#   xl_http_get NS ADDR PORT [PATH]       HTTP GET from namespace NS, body on stdout
#   xl_udp_get NS ADDR PORT [DATA]        send one UDP datagram from NS, reply on stdout
#   xl_backend_addr I / xl_backend_addr6 I   address of backendI made by xl_topology_nat
#   xl_wait_for [-t SECS] CMD...          run CMD until it succeeds; fail after SECS
#                                         (XL_WAIT_TIMEOUT, default 30), polling every 0.2s
#   xl_ipvs_table                         `ipvsadm -Ln` normalised: no header lines, spaces
#                                         collapsed, services sorted, destinations sorted
#                                         under their service, connection counters dropped
#   xl_ok NAME / xl_fail NAME MSG / xl_skip NAME WHY   TAP-style result lines
#   xl_check NAME CMD...                  ok if CMD succeeds, else fail
#   xl_assert_eq NAME EXPECTED ACTUAL     ok if equal, else fail showing both
#   xl_summary                            prints "1..N" and "P passed, F failed"; returns 1
#                                         if any failed or none ran
# Results are kept in files under /run/xl, so they also count when reported from subshells.
# xl_fail, xl_check and xl_assert_eq return 1 on failure: avoid `set -e` in guest scripts (or
# write `xl_assert_eq ... || true`) so that one failure does not skip the remaining checks.

XL_STATE=${XL_STATE:-/run/xl}
XL_SEG_CLIENT=${XL_SEG_CLIENT:-xlc0}
XL_SEG_BACKEND=${XL_SEG_BACKEND:-xlb0}
XL_VIP_DEV=${XL_VIP_DEV:-xlvip0}
XL_WAIT_TIMEOUT=${XL_WAIT_TIMEOUT:-30}
XL_HTTP_TIMEOUT=${XL_HTTP_TIMEOUT:-10}
XL_CLIENT_ADDR=${XL_CLIENT_ADDR:-10.10.0.2/24}
XL_CLIENT_ADDR6=${XL_CLIENT_ADDR6:-fd00:10::2/64}
XL_BACKEND_NET=${XL_BACKEND_NET:-10.20.0}
XL_BACKEND_NET6=${XL_BACKEND_NET6:-fd00:20::}
XL_BACKEND_BASE=${XL_BACKEND_BASE:-4}

# busybox sh runs its own `ip` applet even when iproute2's is first on PATH.
ip() { /sbin/ip "$@"; }

xl_log() { echo "# $*"; }

# Setup errors end the test script (a non-zero exit fails the VM run).
xl_die() {
    echo "Bail out! $*"
    exit 1
}

xl_is_v6() {
    case "$1" in *:*) return 0 ;; *) return 1 ;; esac
}

# One-time root namespace settings.
xl_setup() {
    [ -e "$XL_STATE/setup" ] && return 0
    mkdir -p "$XL_STATE/ns" "$XL_STATE/www" /run/netns
    : >>"$XL_STATE/results"
    sysctl -q -w net.ipv4.ip_forward=1
    sysctl -q -w net.ipv6.conf.all.forwarding=1
    sysctl -q -w net.ipv6.conf.all.accept_dad=0
    sysctl -q -w net.ipv6.conf.default.accept_dad=0
    sysctl -q -w net.ipv4.conf.all.send_redirects=0
    sysctl -q -w net.ipv4.conf.default.send_redirects=0
    # Replies from direct-routing / tunnel backends have the VIP as source and come back
    # through the director, which owns the VIP: accept them instead of dropping them as
    # martians (a real router in front would do this job).
    sysctl -q -w net.ipv4.conf.all.accept_local=1
    ip link set lo up
    : >"$XL_STATE/setup"
}

# xl_gateway ADDR PLEN: the gateway address used for ADDR's subnet.
xl_gateway() {
    local net
    if xl_is_v6 "$1"; then
        echo "${1%:*}:1"
    else
        net=$(ipcalc -n "$1/$2") || return 1
        net=${net#NETWORK=}
        echo "${net%.*}.$((${net##*.} + 1))"
    fi
}

# xl_segment SEG: the bridge SEG in the root namespace, created on first use.
xl_segment() {
    xl_setup
    ip link show dev "$1" >/dev/null 2>&1 && return 0
    ip link add "$1" type bridge forward_delay 0 ||
        xl_die "cannot create bridge $1"
    sysctl -q -w "net.ipv4.conf.$1.send_redirects=0"
    ip link set "$1" up
}

# xl_netns NAME SEG: namespace NAME with eth0 bridged to SEG (no-op if NAME exists).
xl_netns() {
    local name="$1" seg="$2"
    xl_setup
    [ -e "$XL_STATE/ns/$name.seg" ] && return 0
    [ ${#name} -le 14 ] || xl_die "namespace name too long (max 14): $name"
    xl_segment "$seg"
    ip netns add "$name" || xl_die "ip netns add $name failed"
    ip netns exec "$name" sysctl -q -w net.ipv6.conf.all.accept_dad=0
    ip netns exec "$name" sysctl -q -w net.ipv6.conf.default.accept_dad=0
    ip link add "v$name" type veth peer name eth0 netns "$name" ||
        xl_die "cannot create veth for $name"
    ip link set "v$name" master "$seg"
    ip link set "v$name" up
    ip -n "$name" link set lo up
    ip -n "$name" link set eth0 up
    echo "$seg" >"$XL_STATE/ns/$name.seg"
}

# xl_ns_addr NAME ADDR[/PLEN] [GW]
xl_ns_addr() {
    local name="$1" addr="${2%/*}" plen gw seg fam flags=""
    [ -e "$XL_STATE/ns/$name.seg" ] || xl_die "xl_ns_addr: no namespace $name"
    seg=$(cat "$XL_STATE/ns/$name.seg")
    if xl_is_v6 "$addr"; then
        plen=64 fam=-6 flags=nodad
    else
        plen=24 fam=-4
    fi
    case "$2" in */*) plen="${2#*/}" ;; esac
    gw="${3:-$(xl_gateway "$addr" "$plen")}"
    [ "$gw" != "$addr" ] || xl_die "xl_ns_addr: $addr is its own gateway"
    if ! ip $fam addr show dev "$seg" | grep -q " $gw/"; then
        # shellcheck disable=SC2086 # $flags is empty or one word
        ip addr add "$gw/$plen" dev "$seg" $flags ||
            xl_die "cannot add gateway $gw/$plen to $seg"
    fi
    # shellcheck disable=SC2086
    ip -n "$name" addr add "$addr/$plen" dev eth0 $flags ||
        xl_die "cannot add $addr/$plen to $name"
    ip -n "$name" $fam route replace default via "$gw" dev eth0 ||
        xl_die "cannot route $name via $gw"
}

# xl_client NAME ADDR[/PLEN] [GW]
xl_client() {
    xl_netns "$1" "$XL_SEG_CLIENT"
    xl_ns_addr "$@"
}

# xl_backend NAME ADDR[/PLEN] [PORT]
xl_backend() {
    xl_netns "$1" "$XL_SEG_BACKEND"
    xl_ns_addr "$1" "$2"
    xl_httpd "$1" "${3:-80}"
}

# xl_httpd NAME [PORT] [BODY]: busybox httpd in NAME on PORT (all addresses, v4 and v6).
xl_httpd() {
    local name="$1" port="${2:-80}" body="${3:-$1}" dir
    [ -e "$XL_STATE/ns/$name.httpd.$port" ] && return 0
    dir="$XL_STATE/www/$name-$port"
    mkdir -p "$dir"
    printf '%s\n' "$body" >"$dir/index.html"
    ip netns exec "$name" httpd -p "$port" -h "$dir" || xl_die "httpd in $name failed"
    xl_wait_for xl_listening "$name" tcp "$port" ||
        xl_die "httpd in $name not listening on $port"
    : >"$XL_STATE/ns/$name.httpd.$port"
}

# xl_udp_backend NAME PORT [REPLY]: socat answering each datagram with REPLY.
xl_udp_backend() {
    local name="$1" port="$2" reply="${3:-$1}"
    [ -e "$XL_STATE/ns/$name.udp.$port" ] && return 0
    ip netns exec "$name" socat "UDP6-RECVFROM:$port,ipv6only=0,fork" \
        "SYSTEM:echo $reply" </dev/null >/dev/null 2>"$XL_STATE/ns/$name.udp.$port.log" &
    xl_wait_for xl_listening "$name" udp "$port" ||
        xl_die "UDP responder in $name not listening on $port"
    : >"$XL_STATE/ns/$name.udp.$port"
}

# xl_listening NAME tcp|udp PORT: something in NAME listens on PORT.
xl_listening() {
    local opt=-ltn
    [ "$2" = udp ] && opt=-lun
    ip netns exec "$1" netstat $opt | grep -q "[:.]$3 "
}

# xl_vip ADDR: add ADDR as a host address on the dummy VIP interface.
xl_vip() {
    local addr="${1%/*}"
    xl_setup
    if ! ip link show dev "$XL_VIP_DEV" >/dev/null 2>&1; then
        ip link add "$XL_VIP_DEV" type dummy || xl_die "cannot create $XL_VIP_DEV"
        ip link set "$XL_VIP_DEV" up
    fi
    if xl_is_v6 "$addr"; then
        ip addr add "$addr/128" dev "$XL_VIP_DEV" nodad || xl_die "cannot add VIP $addr"
    else
        ip addr add "$addr/32" dev "$XL_VIP_DEV" || xl_die "cannot add VIP $addr"
    fi
}

# xl_backend_vip NAME VIP [dr|ipip|gue:PORT|gre]: let backend NAME accept traffic for VIP sent
# by IPVS in direct-routing (default) or tunnel mode: VIP on lo (dr, with arp_ignore=1 and
# arp_announce=2) or on the fallback tunnel device (ipip: tunl0, gue: tunl0 behind a fou
# GUE receive port, gre: gre0; IPv6 VIPs use ip6tnl0 for ipip and gue, ip6gre0 for gre).
xl_backend_vip() {
    local name="$1" vip="${2%/*}" mode="${3:-dr}" plen=32 fam=-4 flags="" dev
    if xl_is_v6 "$vip"; then
        plen=128 fam=-6 flags=nodad
    fi
    ip netns exec "$name" sysctl -q -w net.ipv4.conf.all.rp_filter=0
    case "$mode" in
        dr)
            dev=lo
            ip netns exec "$name" sysctl -q -w net.ipv4.conf.all.arp_ignore=1
            ip netns exec "$name" sysctl -q -w net.ipv4.conf.all.arp_announce=2
            ;;
        ipip | gue:*)
            dev=tunl0
            [ "$fam" = -6 ] && dev=ip6tnl0
            if [ "$mode" != ipip ]; then
                ip -n "$name" $fam fou add port "${mode#gue:}" gue ||
                    xl_die "fou (gue) port ${mode#gue:} in $name failed"
            fi
            ;;
        gre)
            dev=gre0
            [ "$fam" = -6 ] && dev=ip6gre0
            ;;
        *) xl_die "xl_backend_vip: unknown mode $mode" ;;
    esac
    ip -n "$name" link set "$dev" up || xl_die "no $dev in $name"
    ip netns exec "$name" sysctl -q -w "net.ipv4.conf.$dev.rp_filter=0" 2>/dev/null
    # shellcheck disable=SC2086 # $flags is empty or one word
    ip -n "$name" addr add "$vip/$plen" dev "$dev" $flags ||
        xl_die "cannot add $vip to $dev in $name"
}

xl_in() {
    local name="$1"
    shift
    ip netns exec "$name" "$@"
}

# xl_hostport ADDR PORT: ADDR:PORT, with brackets for IPv6.
xl_hostport() {
    if xl_is_v6 "$1"; then echo "[$1]:$2"; else echo "$1:$2"; fi
}

# xl_http_get NS ADDR PORT [PATH]
xl_http_get() {
    ip netns exec "$1" timeout "$XL_HTTP_TIMEOUT" \
        wget -q -O - "http://$(xl_hostport "$2" "$3")${4:-/}"
}

# xl_udp_get NS ADDR PORT [DATA]
xl_udp_get() {
    local fam=UDP4
    xl_is_v6 "$2" && fam=UDP6
    printf '%s\n' "${4:-ping}" |
        ip netns exec "$1" timeout "$XL_HTTP_TIMEOUT" socat -T 3 - "$fam:$(xl_hostport "$2" "$3")"
}

xl_backend_addr() {
    echo "$XL_BACKEND_NET.$((XL_BACKEND_BASE + $1))"
}

xl_backend_addr6() {
    echo "$XL_BACKEND_NET6$(printf '%x' $((XL_BACKEND_BASE + $1)))"
}

# xl_topology_nat VIP NBACKENDS [VIP6]
xl_topology_nat() {
    local vip="$1" n="$2" vip6="${3:-}" i=1
    xl_client client "$XL_CLIENT_ADDR"
    xl_ns_addr client "$XL_CLIENT_ADDR6"
    while [ "$i" -le "$n" ]; do
        xl_backend "backend$i" "$(xl_backend_addr "$i")/24" 80
        xl_ns_addr "backend$i" "$(xl_backend_addr6 "$i")/64"
        i=$((i + 1))
    done
    xl_vip "$vip"
    [ -z "$vip6" ] || xl_vip "$vip6"
}

# xl_wait_for [-t SECS] CMD...
xl_wait_for() {
    local secs="$XL_WAIT_TIMEOUT" deadline
    if [ "$1" = -t ]; then
        secs="$2"
        shift 2
    fi
    deadline=$(($(date +%s) + secs))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "# xl_wait_for: gave up after ${secs}s: $*"
            return 1
        fi
        sleep 0.2
    done
}

# xl_ipvs_table: `ipvsadm -Ln`, normalised for comparison.
xl_ipvs_table() {
    ipvsadm -Ln | awk '
        /^IP Virtual Server version/ || /^Prot LocalAddress:Port/ { next }
        /^ *-> RemoteAddress:Port/ { next }
        /^ *-> / { print svc "|1|-> " $2 " " $3 " " $4; next }
        { $1 = $1; svc = $0; print svc "|0|" }' |
        sort -t '|' -k1,1 -k2,2 -k3,3 |
        awk -F '|' '$2 == 0 { print $1; next } { print "  " $3 }'
}

# ---- results ----------------------------------------------------------------------------

xl_result() {
    xl_setup
    echo "$1" >>"$XL_STATE/results"
    wc -l <"$XL_STATE/results" | tr -d ' '
}

xl_ok() {
    echo "ok $(xl_result pass) - $1"
}

xl_fail() {
    echo "not ok $(xl_result fail) - $1"
    [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'
    return 1
}

xl_skip() {
    echo "ok $(xl_result skip) - $1 # SKIP ${2:-}"
}

xl_check() {
    local name="$1"
    shift
    if "$@"; then
        xl_ok "$name"
    else
        xl_fail "$name" "command failed: $*"
    fi
}

xl_assert_eq() {
    if [ "$2" = "$3" ]; then
        xl_ok "$1"
    else
        xl_fail "$1" "expected: $2
got:      $3"
    fi
}

xl_summary() {
    local pass fail total
    xl_setup
    pass=$(grep -c -e '^pass$' -e '^skip$' "$XL_STATE/results" || true)
    fail=$(grep -c '^fail$' "$XL_STATE/results" || true)
    total=$((pass + fail))
    echo "1..$total"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && [ "$total" -gt 0 ]
}

# ---- extlbd -----------------------------------------------------------------------------
# xl_extlbd_start CONF [EXTRA-ARGS...]  start extlbd in the foreground logging to the
#                                     console into $XL_EXTLBD_LOG; wait until it reports
#                                     "running:" (return 0) or exits (return 1); with
#                                     XL_EXTLBD_WRAP set ("setpriv ... --"), under that command
# xl_extlbd_stop [SIGNAL]             send SIGNAL (TERM) and wait; its exit status is left in
#                                     XL_EXTLBD_STATUS (call it in the current shell, not $(...))
# xl_extlbd_reload                    SIGHUP, wait for the reload's summary or error line
# xl_log_count PATTERN                lines of the log matching PATTERN (grep -E)
# xl_log_since MARK                   the log from line MARK on
XL_EXTLBD_LOG=/tmp/extlbd.log
XL_EXTLBD_PID=
XL_EXTLBD_WRAP=${XL_EXTLBD_WRAP:-}

xl_log_count() {
    grep -c -E -e "$1" "$XL_EXTLBD_LOG" 2>/dev/null || true
}

xl_log_lines() {
    wc -l <"$XL_EXTLBD_LOG" | tr -d ' '
}

xl_log_since() {
    tail -n "+$(($1 + 1))" "$XL_EXTLBD_LOG"
}

xl_extlbd_start() {
    local conf="$1" before
    shift
    touch "$XL_EXTLBD_LOG"
    before=$(xl_log_count 'running:|extlbd stopped')
    # XL_EXTLBD_WRAP: a command that execs the rest (setpriv ... --), or empty
    $XL_EXTLBD_WRAP extlbd -n -l -f "$conf" -p /run/extlbd.pid "$@" >>"$XL_EXTLBD_LOG" 2>&1 &
    XL_EXTLBD_PID=$!
    xl_wait_for -t 60 sh -c "[ \$(grep -c -E 'running:|extlbd stopped' $XL_EXTLBD_LOG) -gt $before ] || ! kill -0 $XL_EXTLBD_PID"
    kill -0 "$XL_EXTLBD_PID" 2>/dev/null && [ "$(xl_log_count 'running:')" -gt 0 ]
}

# shellcheck disable=SC2034 # XL_EXTLBD_STATUS is read by the tests that source this
xl_extlbd_stop() {
    local sig="${1:-TERM}"
    XL_EXTLBD_STATUS=0
    [ -n "$XL_EXTLBD_PID" ] || return 0
    kill "-$sig" "$XL_EXTLBD_PID" 2>/dev/null || true
    wait "$XL_EXTLBD_PID" || XL_EXTLBD_STATUS=$?
    XL_EXTLBD_PID=
}

xl_extlbd_reload() {
    local before
    before=$(xl_log_count 'reload: ')
    kill -HUP "$XL_EXTLBD_PID"
    xl_wait_for -t 60 sh -c "[ \$(grep -c -E 'reload: ' $XL_EXTLBD_LOG) -gt $before ]"
}

# xl_requests N NS VIP PORT: N HTTP requests, the answers one per line ("FAIL" for errors)
xl_requests() {
    local n="$1" i=0
    while [ "$i" -lt "$n" ]; do
        xl_http_get "$2" "$3" "$4" 2>/dev/null || echo FAIL
        i=$((i + 1))
    done
}

# xl_conf_big N FILE: a configuration of N services x 10 real servers, check "none"
# (t-status-big's table, and bench/ctl-status-memory-guest.sh's)
xl_conf_big() {
    awk -v n="$1" 'BEGIN {
        print "global: { check = { type = \"none\"; }; resync_interval = 3600; };"
        print "virtual_services = ("
        for (v = 0; v < n; v++) {
            printf "%s{ name = \"s%d\"; vip = \"10.%d.%d.1\"; port = 80; real_servers = (", v ? "," : "", v, int(v / 250) + 1, v % 250
            for (r = 0; r < 10; r++)
                printf "%s{ address = \"172.16.%d.%d\"; port = 80; }", r ? "," : "", v % 250, r + 1
            print "); }"
        }
        print ");"
    }' >"$2"
}
