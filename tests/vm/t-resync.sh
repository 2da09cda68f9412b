# shellcheck shell=dash
# A large table is read back in steps spread over resync_interval (not in one dump that
# holds the loop up): changes made behind extlbd's back anywhere in 2,500 services
# (ipvsadm -C, an edited scheduler, an edited weight, a deleted server) are still undone
# within about one resync_interval, with the corrections logged, and a foreign service is
# left alone.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

N=2500
conf=/tmp/resync.conf
awk -v n="$N" 'BEGIN {
    print "global: { resync_interval = 4; check = { type = \"none\"; }; };"
    print "virtual_services = ("
    for (i = 0; i < n; i++) {
        printf "  { name = \"s%d\"; vip = \"10.100.%d.%d\"; port = 80; scheduler = \"wlc\";\n", i, int(i / 250), i % 250 + 1
        printf "    real_servers = ( { address = \"10.200.%d.%d\"; port = 8080; },\n", int(i / 250), i % 250 + 1
        printf "      { address = \"10.201.%d.%d\"; port = 8080; } ); }%s\n", int(i / 250), i % 250 + 1, i < n - 1 ? "," : ""
    }
    print ");"
}' >"$conf"

services() { ipvsadm -Ln | grep -c '^TCP'; }
table() { ipvsadm -Sn | sort; }

xl_check "extlbd starts with $N services" xl_extlbd_start "$conf"
xl_assert_eq "all services loaded" "$N" "$(services)"
xl_assert_eq "read back in steps" 1 \
    "$(xl_log_count 'resync: the table is read back in 3 steps of up to 1000 services over each resync_interval \(4 s\)')"
table >/tmp/expected

secs() { echo "$1" | awk -F: '{ printf "%.3f", $1 * 3600 + $2 * 60 + $3 }'; }
mark=$(xl_log_lines)
t0=$(secs "$(date +%T)") # whole seconds: the check below allows for that
ipvsadm -C
xl_check "ipvsadm -C: every service restored" xl_wait_for -t 30 sh -c "[ \$(ipvsadm -Ln | grep -c '^TCP') = $N ]"
xl_log_since "$mark" | grep -E 'resync:|error' | sed 's/^/# /'
last=$(xl_log_since "$mark" | grep 'resync: .* ops applied' | tail -n 1 | awk '{ print $1 }')
took=$(awk -v a="$t0" -v b="$(secs "$last")" 'BEGIN { printf "%.1f", b - a }')
echo "# restored $took s after ipvsadm -C (by extlbd's log; resync_interval 4 s)"
# every service is read back within one interval; +1 s for the whole-second start time.
# A step that reads while ipvsadm -C is still deleting may see a service that is gone a
# moment later, and have its ops refused: those services are retried alone 5 s later
# (+2 s more)
xl_check "restored within resync_interval (or one retry)" awk -v t="$took" 'BEGIN { exit !(t <= 7.0) }'
xl_check "restored table equals the configured one" sh -c "ipvsadm -Sn | sort | cmp -s - /tmp/expected"

mark=$(xl_log_lines)
ipvsadm -E -t 10.100.9.250:80 -s rr
ipvsadm -e -t 10.100.0.1:80 -r 10.200.0.1:8080 -m -w 7
ipvsadm -d -t 10.100.5.1:80 -r 10.201.5.1:8080
ipvsadm -A -t 10.99.0.1:80 -s rr
xl_check "edited scheduler, weight and deleted server restored" xl_wait_for -t 20 sh -c \
    "ipvsadm -Sn | grep -v 10.99.0.1 | sort | cmp -s - /tmp/expected"
xl_assert_eq "the corrections are logged" "add-server 10.201.5.1:8080 of \"s1250\" (TCP 10.100.5.1:80): nat, weight 1
edit-server 10.200.0.1:8080 of \"s0\" (TCP 10.100.0.1:80): nat, weight 1
edit-service \"s2499\" (TCP 10.100.9.250:80): wlc, timeout 0" \
    "$(xl_log_since "$mark" | grep -E 'info: (add|edit|delete)-' | sed 's/.*info: //' | sort)"
sleep 5 # a whole resync_interval more
xl_check "a foreign service is left alone" sh -c "ipvsadm -Ln | grep -q 10.99.0.1:80"
xl_extlbd_stop TERM
xl_summary
