#!/usr/bin/env bash
# Writes the same IPVS table, N TCP services x R NAT real servers, in three forms for the
# load benchmark (bench/run.sh):
#   OUTDIR/extlb-N.conf        extlbd configuration (health checks off: type "none")
#   OUTDIR/extlb-N-host.conf   the same with vip_interface, snat and allowed_sources on every
#                              service (issue 15's VIP host; bench/run.sh tool extlbd-host)
#   OUTDIR/ipvsadm-N.rules     input for `ipvsadm -R`
#   OUTDIR/keepalived-N.conf   keepalived configuration (no checkers, so every real server
#                              is added at start-up and stays)
# The addresses follow the scheme of bench/floor-loader.c (keep the two equal):
#   service i (0-based): TCP 10.100.(i/250).(i%250+1):80, scheduler wlc
#   real server j of it: k = i*R + j, a = k/250, 10.(200+a/250).(a%250).(k%250+1):8080,
#                        NAT, weight 1
# They are only data inside the test VM; no packet is ever sent to them.
#
# With -s K, the same table is also written split into files of K services each, as an
# operator who keeps one file per group of services would (bench/reload-run.sh, layout
# "split"); the three files above are written as without -s:
#   OUTDIR/extlb-N-split.conf    only the global group of extlb-N.conf, with
#                                include_dir = "extlb-N.d" (relative to the main file)
#   OUTDIR/extlb-N.d/000.conf    virtual_services of services 0 .. K-1, 001.conf the next
#                                K, ... (ceil(N/K) files, names of at least 3 digits)
#   OUTDIR/keepalived-N-split.conf  global_defs and `include ka-N.d/*.conf`
#   OUTDIR/ka-N.d/000.conf ...   the same virtual_server blocks, split the same way
# Each service is written exactly as in the single files.
#
# Usage: bench/gen-configs.sh [-s K] N OUTDIR [R]      (R defaults to 10; N at most 64000)
set -euo pipefail

usage() {
    sed -n 's/^# Usage: //p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

per=0
if [[ $# -ge 1 && "$1" == -s ]]; then
    [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || usage
    per="$2"
    shift 2
fi
[[ $# -ge 2 && $# -le 3 ]] || usage
n="$1" out="$2" reals="${3:-10}"
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 64000 ]] || usage
[[ "$reals" =~ ^[0-9]+$ && "$reals" -ge 1 && "$reals" -le 1000 ]] || usage
mkdir -p "$out"

awk -v n="$n" -v r="$reals" \
    -v xl="$out/extlb-$n.conf" -v ipv="$out/ipvsadm-$n.rules" -v ka="$out/keepalived-$n.conf" '
function vip(i) { return sprintf("10.100.%d.%d", int(i / 250), i % 250 + 1) }
function rip(k,    a) { a = int(k / 250); return sprintf("10.%d.%d.%d", 200 + int(a / 250), a % 250, k % 250 + 1) }
BEGIN {
    print "# extlbd: " n " services x " r " real servers (bench/gen-configs.sh)" > xl
    print "global: {" > xl
    print "  log_level = \"info\";" > xl
    print "  include_dir = \"extlb-bench.d\";  # does not exist: adds nothing" > xl
    print "  check = { type = \"none\"; };" > xl
    print "};" > xl
    print "virtual_services = (" > xl

    print "! keepalived: " n " services x " r " real servers (bench/gen-configs.sh)" > ka
    print "global_defs {" > ka
    print "    router_id extlb_bench" > ka
    print "}" > ka

    for (i = 0; i < n; i++) {
        v = vip(i)
        printf "  %s{ name = \"s%d\"; vip = \"%s\"; port = 80; protocol = \"tcp\"; " \
            "scheduler = \"wlc\"; forward = \"nat\";\n    real_servers = (\n", \
            (i ? ", " : ""), i + 1, v > xl
        printf "-A -t %s:80 -s wlc\n", v > ipv
        printf "virtual_server %s 80 {\n    lvs_sched wlc\n    lvs_method NAT\n" \
            "    protocol TCP\n", v > ka
        for (j = 0; j < r; j++) {
            k = i * r + j
            a = rip(k)
            printf "      %s{ address = \"%s\"; port = 8080; weight = 1; }\n", \
                (j ? ", " : ""), a > xl
            printf "-a -t %s:80 -r %s:8080 -m -w 1\n", v, a > ipv
            printf "    real_server %s 8080 {\n        weight 1\n    }\n", a > ka
        }
        print "    ); }" > xl
        print "}" > ka
    }
    print ");" > xl
}'
# the same table on a VIP host (issue 15): the VIPs on a dummy interface, every service's
# traffic source-NATed and limited to two source ranges of its own (a /24 they share and a
# /32 each), so the nftables sets are as many as the services
awk '
/^  check = / { print; print "  vip_interface = \"extlb0\";"; print "  snat = true;"; next }
/name = "s[0-9]+"/ {
    i = $0; sub(/.*name = "s/, "", i); sub(/".*/, "", i); i = i - 1
    sub(/forward = "nat";/, sprintf("forward = \"nat\"; allowed_sources = [ \"203.0.113.0/24\", " \
        "\"172.16.%d.%d/32\" ];", int(i / 250), i % 250 + 1))
}
{ print }' "$out/extlb-$n.conf" >"$out/extlb-$n-host.conf"
echo "gen-configs: $n x $reals in $out: extlb-$n.conf extlb-$n-host.conf ipvsadm-$n.rules" \
    "keepalived-$n.conf"

[[ "$per" -gt 0 ]] || exit 0

# ---- split layout (-s K) --------------------------------------------------------------------------
xd="$out/extlb-$n.d" kd="$out/ka-$n.d"
rm -rf "$xd" "$kd"
mkdir -p "$xd" "$kd"
awk -v n="$n" -v r="$reals" -v per="$per" -v xd="$xd" -v kd="$kd" \
    -v xl="$out/extlb-$n-split.conf" -v ka="$out/keepalived-$n-split.conf" '
function vip(i) { return sprintf("10.100.%d.%d", int(i / 250), i % 250 + 1) }
function rip(k,    a) { a = int(k / 250); return sprintf("10.%d.%d.%d", 200 + int(a / 250), a % 250, k % 250 + 1) }
BEGIN {
    print "# extlbd: " n " services x " r " real servers in extlb-" n ".d/, " per \
        " services a file (bench/gen-configs.sh -s " per ")" > xl
    print "global: {" > xl
    print "  log_level = \"info\";" > xl
    print "  include_dir = \"extlb-" n ".d\";" > xl
    print "  check = { type = \"none\"; };" > xl
    print "};" > xl
    close(xl)

    print "! keepalived: " n " services x " r " real servers in ka-" n ".d/, " per \
        " services a file (bench/gen-configs.sh -s " per ")" > ka
    print "global_defs {" > ka
    print "    router_id extlb_bench" > ka
    print "}" > ka
    print "include ka-" n ".d/*.conf" > ka
    close(ka)

    nfiles = int((n + per - 1) / per)
    for (f = 0; f < nfiles; f++) {
        xf = sprintf("%s/%03d.conf", xd, f)
        kf = sprintf("%s/%03d.conf", kd, f)
        last = (f + 1) * per < n ? (f + 1) * per - 1 : n - 1
        print "# services " f * per " .. " last " (bench/gen-configs.sh -s " per ")" > xf
        print "virtual_services = (" > xf
        print "! services " f * per " .. " last " (bench/gen-configs.sh -s " per ")" > kf
        for (i = f * per; i < n && i < (f + 1) * per; i++) {
            v = vip(i)
            printf "  %s{ name = \"s%d\"; vip = \"%s\"; port = 80; protocol = \"tcp\"; " \
                "scheduler = \"wlc\"; forward = \"nat\";\n    real_servers = (\n", \
                (i > f * per ? ", " : ""), i + 1, v > xf
            printf "virtual_server %s 80 {\n    lvs_sched wlc\n    lvs_method NAT\n" \
                "    protocol TCP\n", v > kf
            for (j = 0; j < r; j++) {
                a = rip(i * r + j)
                printf "      %s{ address = \"%s\"; port = 8080; weight = 1; }\n", \
                    (j ? ", " : ""), a > xf
                printf "    real_server %s 8080 {\n        weight 1\n    }\n", a > kf
            }
            print "    ); }" > xf
            print "}" > kf
        }
        print ");" > xf
        close(xf)
        close(kf)
    }
}'
echo "gen-configs: split, $per services a file: extlb-$n-split.conf extlb-$n.d/" \
    "keepalived-$n-split.conf ka-$n.d/ ($(find "$xd" -name '*.conf' | wc -l) files each)"
