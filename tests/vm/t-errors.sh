# shellcheck shell=dash
# Bad input changes nothing that works: an invalid file is refused whole with every error
# as file:line and the kernel untouched (at start-up and at reload); an op the kernel
# refuses (unknown scheduler) is logged with its object while the other ops apply, and is
# retried until a corrected file is loaded.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 2 >/dev/null
ipvsadm -A -t "$VIP:8000" -s wlc
ipvsadm -a -t "$VIP:8000" -r 10.20.0.5:80 -m -w 3
before=$(ipvsadm -Sn)

st=0
extlbd -t -f /test/conf/bad.conf >/tmp/t.out 2>&1 || st=$?
xl_assert_eq "-t on a bad file: exit 1" 1 "$st"
xl_assert_eq "-t prints every error with file:line" "\
/test/conf/bad.conf:2: log_level: \"verbose\" is not one of \"error\", \"warning\", \"info\", \"debug\"
/test/conf/bad.conf:5: unknown key \"wieght\" in real server (known: address, port, weight, upper_threshold, lower_threshold, check)
/test/conf/bad.conf:6: address: \"10.20.0.300\" is not an IPv4 or IPv6 address
/test/conf/bad.conf:8: address fd00:20::5 is IPv6 but the service is IPv4: IPVS mixes address families only with forward \"tun\"
/test/conf/bad.conf:8: port: 70000 is out of range 0-65535
/test/conf/bad.conf:7: duplicate virtual service TCP 192.168.10.100:8000 (first defined at /test/conf/bad.conf:4)
extlbd: /test/conf/bad.conf: 6 errors" "$(cat /tmp/t.out)"
st=0
extlbd -n -l -f /test/conf/bad.conf >/tmp/start.out 2>&1 || st=$?
xl_assert_eq "start on a bad file: exit 1" 1 "$st"
xl_assert_eq "start on a bad file: kernel untouched" "$before" "$(ipvsadm -Sn)"

# unknown scheduler: one service refused, the others applied, the failure retried. The
# refused service is in the middle of the batch and the last request succeeds: only that
# last one asks for an acknowledgement, so the errors before it must still be matched.
cat >/tmp/sched.conf <<'CONF'
global: { check = { type = "none"; }; };
virtual_services = (
  { name = "a"; vip = "192.168.10.100"; port = 8000; scheduler = "rr";
    real_servers = ( { address = "10.20.0.5"; port = 80; } ); },
  { name = "b"; vip = "192.168.10.100"; port = 8001; scheduler = "nosuch";
    real_servers = ( { address = "10.20.0.6"; port = 80; } ); },
  { name = "c"; vip = "192.168.10.100"; port = 8002; scheduler = "rr";
    real_servers = ( { address = "10.20.0.7"; port = 80; } ); }
);
CONF
xl_check "extlbd starts with an unknown scheduler in the file" xl_extlbd_start /tmp/sched.conf
xl_check "the refused op is logged with its object and meaning" grep -q \
    'error: add-service "b" (TCP 192.168.10.100:8001): nosuch, timeout 0: unknown scheduler "nosuch"' "$XL_EXTLBD_LOG"
xl_check "its real server is refused with it" grep -q \
    'error: add-server 10.20.0.6:80 of "b" (TCP 192.168.10.100:8001).*: no such virtual service' "$XL_EXTLBD_LOG"
xl_check "the start-up counts the two refused ops" grep -q \
    'start-up: 6 ops applied in [0-9]* ms (.*), 2 failed' \
    "$XL_EXTLBD_LOG"
xl_assert_eq "the other services are applied" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
TCP 192.168.10.100:8002 rr
  -> 10.20.0.7:80 Masq 1" "$(xl_ipvs_table)"
n=$(xl_log_count 'unknown scheduler "nosuch"')
xl_check "the refused op is retried (within 5 s, as resync_interval is longer)" xl_wait_for -t 60 sh -c \
    "[ \$(grep -c 'unknown scheduler \"nosuch\"' $XL_EXTLBD_LOG) -gt $n ]"
xl_check "the retry is logged" xl_wait_for -t 30 sh -c \
    "grep -q 'retry: 2 ops applied in [0-9]* ms (services +1 .*real servers +1 .*), 2 failed' $XL_EXTLBD_LOG"
# a refusal that lasts must not cost a dump of the whole table every retry: only the
# refused service is read back (logged lines say when the whole table was read)
xl_assert_eq "no retry read the whole table" 0 "$(xl_log_count 'retry: .*whole table')"
sed -i 's/"nosuch"/"sed"/' /tmp/sched.conf
xl_extlbd_reload
xl_assert_eq "after the fix and a reload all three services are there" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
TCP 192.168.10.100:8001 sed
  -> 10.20.0.6:80 Masq 1
TCP 192.168.10.100:8002 rr
  -> 10.20.0.7:80 Masq 1" "$(xl_ipvs_table)"

# reload with an invalid file: the running configuration and the kernel stay
before=$(ipvsadm -Sn)
cp /test/conf/bad.conf /tmp/sched.conf
xl_extlbd_reload
xl_assert_eq "invalid reload: error with file:line logged" 1 \
    "$(xl_log_count 'error: /tmp/sched.conf:5: unknown key "wieght"')"
xl_assert_eq "invalid reload: stays in force" 1 \
    "$(xl_log_count 'reload: /tmp/sched.conf is invalid \(6 errors\); the running configuration stays in force')"
xl_assert_eq "invalid reload: kernel untouched" "$before" "$(ipvsadm -Sn)"
xl_check "still running" kill -0 "$XL_EXTLBD_PID"

# a file truncated mid-write, emptied, replaced by a directory: nothing changes
head -c 150 /test/conf/features.conf >/tmp/sched.conf
xl_extlbd_reload
xl_check "truncated file: syntax error with file:line" grep -q 'error: /tmp/sched.conf:[0-9]*: syntax error' "$XL_EXTLBD_LOG"
: >/tmp/sched.conf
n=$(xl_log_count 'is empty; the running configuration stays in force')
kill -HUP "$XL_EXTLBD_PID"
xl_check "empty file: refused" xl_wait_for -t 30 sh -c \
    "[ \$(grep -c 'is empty; the running configuration stays in force' $XL_EXTLBD_LOG) -gt $n ]"
# 100,000 services (a generator gone wrong): refused before the kernel sees any
awk 'BEGIN { print "virtual_services = ("
    for (i = 1; i <= 100000; i++) printf "%s{ name = \"s%d\"; fwmark = %d; }\n", (i > 1 ? "," : ""), i, i
    print ");" }' >/tmp/sched.conf
xl_extlbd_reload
xl_check "100,000 services: refused, naming the first one beyond max_services" grep -q \
    'error: /tmp/sched.conf:65538: virtual service 65537: more than max_services = 65536 (100000 in all)' \
    "$XL_EXTLBD_LOG"
xl_assert_eq "100,000 services: kernel untouched" "$before" "$(ipvsadm -Sn)"
rm /tmp/sched.conf
mkdir /tmp/sched.conf
xl_extlbd_reload
xl_check "directory: refused" grep -q 'error: /tmp/sched.conf: cannot read: Is a directory' "$XL_EXTLBD_LOG"
xl_assert_eq "after all of them: kernel untouched" "$before" "$(ipvsadm -Sn)"
xl_check "still running after them" kill -0 "$XL_EXTLBD_PID"
xl_extlbd_stop TERM
xl_summary
