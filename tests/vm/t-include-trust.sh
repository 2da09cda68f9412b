# shellcheck shell=dash
# include_dir files are a tenant's input: a file that repeats the main file's service, one
# that asks for a root script check without being root's alone, a FIFO and a symlink to
# /dev/zero are each refused alone (logged with file:line, at every reload), the static
# service keeps its traffic, the rest applies, and extlbd -t says the same. A file that
# breaks later keeps its last accepted version in force.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

VIP=192.168.10.100
CONF=/tmp/extlb.conf
xl_topology_nat "$VIP" 3 >/dev/null
cp /test/conf/include-trust.conf "$CONF"
mkdir -p /tmp/extlb.d
cat >/tmp/extlb.d/10-tenant.conf <<'CONF'
virtual_services = (
  { name = "steal"; vip = "192.168.10.100"; port = 8000; scheduler = "rr";
    real_servers = ( { address = "10.20.0.6"; port = 80; } ); },
  { name = "tenant"; vip = "192.168.10.100"; port = 8001;
    real_servers = ( { address = "10.20.0.7"; port = 80; } ); }
);
CONF
cat >/tmp/extlb.d/20-script.conf <<'CONF'
virtual_services = (
  { name = "script"; vip = "192.168.10.100"; port = 8002;
    check = { type = "script"; command = "true"; user = "root"; };
    real_servers = ( { address = "10.20.0.7"; port = 80; } ); }
);
CONF
chmod 664 /tmp/extlb.d/20-script.conf
mkfifo /tmp/extlb.d/30-fifo.conf
ln -s /dev/zero /tmp/extlb.d/40-zero.conf

out=$(extlbd -t -f "$CONF" 2>&1); rc=$?
echo "$out"
xl_assert_eq "extlbd -t: valid, exit 0" 0 "$rc"
xl_assert_eq "extlbd -t: counts what it refused" 1 \
    "$(echo "$out" | grep -c '3 include_dir files and 1 virtual service refused')"

xl_check "extlbd starts (no hang on the FIFO)" xl_extlbd_start "$CONF"
xl_assert_eq "static service kept, the tenant's other service applied, nothing else" \
    "TCP 192.168.10.100:8000 rr
  -> 10.20.0.5:80 Masq 1
TCP 192.168.10.100:8001 wlc
  -> 10.20.0.7:80 Masq 1" "$(xl_ipvs_table)"
xl_assert_eq "VIP:8000 still reaches the static backend" "backend1 backend1 backend1 backend1" \
    "$(xl_requests 4 client "$VIP" 8000 | tr '\n' ' ' | sed 's/ $//')"
refusals() { # LOG-TEXT: one line per kind of refusal seen
    echo "$1" | grep -c -e '10-tenant.conf:2: duplicate virtual service TCP 192.168.10.100:8000 (first defined at /tmp/extlb.conf:5): refused' \
        -e '20-script.conf:3: check type "script": accepted only from files that only root can write, and this file is writable by its group (mode 0664)' \
        -e '20-script.conf: refused (3 errors)' \
        -e '30-fifo.conf: a FIFO, not a regular file: not read' \
        -e '40-zero.conf: a symlink to /dev/zero, outside include_dir'
}
xl_assert_eq "start: each refusal logged with file:line" 5 "$(refusals "$(cat "$XL_EXTLBD_LOG")")"

mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "reload: refused again, and logged again" 5 "$(refusals "$(xl_log_since "$mark")")"
xl_assert_eq "reload: nothing changed in the kernel" 1 "$(xl_log_since "$mark" | grep -c 'reload: 0 ops applied')"

# root takes the script file over: it is accepted
chmod 644 /tmp/extlb.d/20-script.conf
rm /tmp/extlb.d/30-fifo.conf /tmp/extlb.d/40-zero.conf
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "fixed file: its service added" "add-service \"script\" (TCP 192.168.10.100:8002): wlc, timeout 0" \
    "$(xl_log_since "$mark" | grep -E 'info: add-service' | sed 's/.*info: //')"
xl_assert_eq "fixed file: only the stolen port is still refused" 1 \
    "$(xl_log_since "$mark" | grep -c 'include_dir: 0 files and 1 virtual service refused')"

# a typo in the tenant's file: its last accepted version stays in force
sed -i 's/port = 8001;/port = 8001; wieght = 2;/' /tmp/extlb.d/10-tenant.conf
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "typo: the file's last accepted version stays in force" 1 \
    "$(xl_log_since "$mark" | grep -c '10-tenant.conf: refused (1 error): its last accepted version stays in force (1 virtual service)')"
xl_assert_eq "typo: nothing changed in the kernel" 1 "$(xl_log_since "$mark" | grep -c 'reload: 0 ops applied')"
xl_assert_eq "typo: VIP:8001 still answers" "backend3" "$(xl_http_get client "$VIP" 8001)"

# an error in the main file still refuses the whole configuration
sed -i 's/resync_interval = 600;/resync_interval = 600; bogus = 1;/' "$CONF"
mark=$(xl_log_lines)
xl_extlbd_reload
xl_assert_eq "main file error: the reload is refused whole" 1 \
    "$(xl_log_since "$mark" | grep -c "reload: $CONF is invalid (1 errors)")"
xl_assert_eq "main file error: the kernel keeps every service" 3 \
    "$(xl_ipvs_table | grep -c '^TCP')"
xl_extlbd_stop TERM
xl_summary
