# shellcheck shell=dash
# Guest side of bench/nft-startup.sh: extlbd's nftables start-up step alone, with the
# harness /usr/sbin/nft-startup-LABEL (bench/nft-startup.c linked against one build): first
# a 2-service table (so the modules are loaded and their loading is not timed), then the
# 10,000-service host configuration, one transaction; prints the harness's BENCH lines and
# the table's sets (with their number of elements), chains and rules.
# shellcheck source=tests/vm/guest-lib.sh
. /test/guest-lib.sh

label="$1"
conf=/test/extlb-10000-host.conf
cat >/tmp/small.conf <<CONF
virtual_services = (
  { name = "a"; vip = "192.0.2.1"; port = 80; allowed_sources = [ "10.0.0.0/8" ]; snat = true; },
  { name = "b"; vip = "192.0.2.2"; port = 80; allowed_sources = [ "10.1.0.0/16" ]; }
);
CONF
"/usr/sbin/nft-startup-$label" /tmp/small.conf >/dev/null 2>&1
echo "# uptime (guest): $(cat /proc/loadavg)"
"/usr/sbin/nft-startup-$label" "$conf" 2>&1 | sed "s/^BENCH /BENCH $label /"
# the elements each set holds (after the timing: listing 40,000 takes a while)
for set in $(nft -t list table inet extlb | sed -n 's/^\s*set \([a-z0-9_]*\) {/\1/p'); do
    echo "# elements of $set: $(nft list set inet extlb "$set" | grep -o ' \. tcp \. 80' | wc -l)"
done
# the table without its elements (nft -t)
nft -t list table inet extlb 2>&1 | grep -v '^\s*$' | sed 's/^/# table: /'

