# shellcheck shell=dash
# Guest side of bench/vip-startup.sh: start-up of 10,000 services x 10 real servers, each
# service with its own VIP, to the "running:" line, with ARG = "plain" (no vip_interface) or
# "vip" (vip_interface = "extlb0": the 10,000 addresses added too); with "ip" instead, the
# same 10,000 /32 addresses added to a dummy by iproute2's `ip -batch`, the kernel's own
# cost of such an interface for comparison; with "ip-spread" the same over 10 dummies of
# 1,000 each (the kernel's cost per interface is quadratic in its addresses). One
# measurement per fresh VM.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

N=10000
now() { awk '{ print $1 }' /proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
gen() { # FILE GLOBAL-EXTRA
    awk -v n="$N" -v extra="$2" 'BEGIN {
        printf "global: { check = { type = \"none\"; }; %s };\n", extra
        print "virtual_services = ("
        for (i = 0; i < n; i++) {
            printf "  { name = \"s%d\"; vip = \"10.100.%d.%d\"; port = 80;\n", i, int(i / 250), i % 250 + 1
            printf "    real_servers = ( "
            for (j = 0; j < 10; j++)
                printf "{ address = \"10.200.%d.%d\"; port = %d; }%s", int(i / 250), i % 250 + 1, 8080 + j, j < 9 ? ", " : ""
            printf " ); }%s\n", i < n - 1 ? "," : ""
        }
        print ");"
    }' >"$1"
}

case "${1:-plain}" in
ip)
    ip link add d0 type dummy
    ip link set d0 up
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
        printf "address add 10.100.%d.%d/32 dev d0\n", int(i / 250), i % 250 + 1 }' >/tmp/batch
    t0=$(now)
    ip -batch /tmp/batch
    echo "BENCH ip -batch: $N addresses in $(secs "$t0" "$(now)") s"
    ;;
ip-spread)
    for d in 0 1 2 3 4 5 6 7 8 9; do
        ip link add "d$d" type dummy
        ip link set "d$d" up
    done
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
        printf "address add 10.100.%d.%d/32 dev d%d\n", int(i / 250), i % 250 + 1, i % 10 }' >/tmp/batch
    t0=$(now)
    ip -batch /tmp/batch
    echo "BENCH ip -batch over 10 dummies: $N addresses in $(secs "$t0" "$(now)") s," \
        "$(ip -o -4 addr show | grep -c ' d[0-9] ') on them"
    ;;
plain | vip)
    extra=
    [ "$1" = vip ] && extra='vip_interface = "extlb0";'
    gen /tmp/bench.conf "$extra"
    t0=$(now)
    xl_extlbd_start /tmp/bench.conf
    t1=$(now)
    echo "BENCH extlbd $1: running after $(secs "$t0" "$t1") s," \
        "$(ipvsadm -Ln | grep -c '^TCP') services," \
        "$(ip -o addr show dev extlb0 2>/dev/null | grep -vc fe80:) addresses"
    grep -E 'start-up: |vip_interface extlb0: [0-9]+ addresses' "$XL_EXTLBD_LOG" | sed 's/^/# /'
    xl_extlbd_stop TERM
    ;;
esac
