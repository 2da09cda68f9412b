# shellcheck shell=dash
# SIGHUP applies only the difference, with include_dir files appearing, changing and
# disappearing (dotfiles, as half-written files are named, never read), while a client's
# requests through an unchanged service keep succeeding; a daemon started with a relative -f
# reloads that file.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
xl_topology_nat "$VIP" 3 >/dev/null
mkdir -p /tmp/extlb.d
cat >/tmp/extlb.d/a.conf <<'CONF'
virtual_services = ( { name = "a"; vip = "192.168.10.100"; port = 8000; scheduler = "rr";
  real_servers = ( { address = "10.20.0.5"; port = 80; }, { address = "10.20.0.6"; port = 80; } ); } );
CONF
xl_check "extlbd starts" xl_extlbd_start /test/conf/reload.conf
xl_assert_eq "include_dir service applied" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 1" "$(xl_ipvs_table)"

# a client keeps requesting through service a during every reload below
(i=0; while [ $i -lt 40 ]; do xl_http_get client "$VIP" 8000 || echo FAIL; echo; i=$((i + 1)); sleep 0.2; done) >/tmp/flow.out 2>&1 &
flow=$!

cat >/tmp/extlb.d/b.conf <<'CONF'
virtual_services = ( { name = "b"; vip = "192.168.10.100"; port = 8001;
  real_servers = ( { address = "10.20.0.7"; port = 80; } ); } );
CONF
echo 'virtual_services = ( { name = "half-writ' >/tmp/extlb.d/.c.conf.tmp
echo 'not a config' >/tmp/extlb.d/notes.txt
sleep 0.3 # older than 100 ms when read: b.conf is reused by the next reload
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "new file: its service and server added, nothing else" "\
add-service \"b\" (TCP 192.168.10.100:8001): wlc, timeout 0
add-server 10.20.0.7:80 of \"b\" (TCP 192.168.10.100:8001): nat, weight 1" \
    "$(xl_log_since "$mark" | grep -E 'info: (add|edit|delete)-' | sed 's/.*info: //')"

sed -i 's/port = 80; } ); } );/port = 80; weight = 4; } ); } );/' /tmp/extlb.d/a.conf
sleep 0.3 # a file changed in the last 100 ms would be read again by the next reload
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "changed weight: one edit" \
    "edit-server 10.20.0.6:80 of \"a\" (TCP 192.168.10.100:8000): nat, weight 4" \
    "$(xl_log_since "$mark" | grep -E 'info: (add|edit|delete)-' | sed 's/.*info: //')"
xl_assert_eq "changed weight: only the changed file parsed again" 1 \
    "$(xl_log_since "$mark" | grep -c 'include_dir: 1 of 2 files unchanged, not parsed again')"
xl_assert_eq "changed weight: the other service left as it was" 1 \
    "$(xl_log_since "$mark" | grep -c 'configuration: 1 of 2 virtual services unchanged')"

mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "unchanged files: zero ops" 1 "$(xl_log_since "$mark" | grep -c 'reload: 0 ops applied')"
xl_assert_eq "unchanged files: none parsed again" 1 \
    "$(xl_log_since "$mark" | grep -c 'include_dir: 2 of 2 files unchanged, not parsed again')"
xl_assert_eq "unchanged files: every service left as it was" 1 \
    "$(xl_log_since "$mark" | grep -c 'configuration: 2 of 2 virtual services unchanged')"

rm /tmp/extlb.d/b.conf
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "file removed: its service deleted" "delete-service \"b\" (TCP 192.168.10.100:8001)" \
    "$(xl_log_since "$mark" | grep -E 'info: (add|edit|delete)-' | sed 's/.*info: //')"
xl_assert_eq "table after the reloads" "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
  -> 10.20.0.6:80 Masq 4" "$(xl_ipvs_table)"
wait "$flow"
xl_assert_eq "40 requests during the reloads, none failed" "40 0" \
    "$(grep -c '^backend' /tmp/flow.out) $(grep -c FAIL /tmp/flow.out)"
xl_extlbd_stop TERM

# Started as a daemon (no -n) with a relative -f and -p: daemon() moves to "/", and a reload
# must still read the file extlbd started with, not /rel.conf.
mkdir -p /tmp/reldir
cat >/tmp/reldir/rel.conf <<'CONF'
global: { check = { type = "none"; }; };
virtual_services = ( { name = "r"; vip = "192.168.10.100"; port = 8100;
  real_servers = ( { address = "10.20.0.5"; port = 80; } ); } );
CONF
xl_check "extlbd -f rel.conf -p rel.pid (a daemon) starts" sh -c "cd /tmp/reldir && extlbd -f rel.conf -p rel.pid"
xl_check "the relative pid file is written where it was asked" xl_wait_for -t 30 test -s /tmp/reldir/rel.pid
xl_check "and the service is there" xl_wait_for -t 30 sh -c "ipvsadm -Ln | grep -q ':8100 '"
sed -i 's/port = 8100;/port = 8101;/' /tmp/reldir/rel.conf
kill -HUP "$(cat /tmp/reldir/rel.pid)"
xl_check "a reload reads the same relative file" xl_wait_for -t 30 sh -c \
    "ipvsadm -Ln | grep -q ':8101 ' && ! ipvsadm -Ln | grep -q ':8100 '"
pid=$(cat /tmp/reldir/rel.pid)
kill -TERM "$pid"
xl_check "it stops and removes its pid file" xl_wait_for -t 30 sh -c \
    "! kill -0 $pid 2>/dev/null && [ ! -e /tmp/reldir/rel.pid ]"
xl_summary
