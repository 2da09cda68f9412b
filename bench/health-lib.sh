# shellcheck shell=dash
# Helpers shared by the guest sides of the health-check and reload benchmarks
# (bench/health-guest.sh, bench/reload-guest.sh), sourced from /test/health-lib.sh.
# busybox ash.

# busybox sh runs its own `ip` applet by name
ip() { /sbin/ip "$@"; }

# now: the time of day in seconds with microseconds (gettimeofday, busybox `ts`)
now() {
    local t
    t=$(echo | ts '%.s')
    echo "${t%% *}"
}

# secs T0 T1: T1 - T0 with 3 decimals
secs() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

# alive PID: the process exists and is not a zombie
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 1
    [ "$st" != Z ]
}

# ticks PID: "UTIME STIME" of the process in clock ticks (USER_HZ = 100)
ticks() {
    local ut st
    # shellcheck disable=SC2034 # the fields before utime and stime
    read -r _ _ _ _ _ _ _ _ _ _ _ _ _ ut st _ <"/proc/$1/stat" 2>/dev/null ||
        { echo "0 0"; return; }
    echo "$ut $st"
}

# kb PID FIELD: a /proc/PID/status field in kB (VmHWM, VmRSS), 0 if unknown
kb() {
    awk -v f="$2:" '$1 == f { print $2; n = 1 } END { if (!n) print 0 }' \
        "/proc/$1/status" 2>/dev/null || echo 0
}

# ipvs_lines: lines of /proc/net/ip_vs (3 header lines, then services and real servers)
ipvs_lines() {
    wc -l </proc/net/ip_vs
}

# wait_until SECS CMD...: run CMD every 0.2 s until it succeeds; 1 after SECS
wait_until() {
    local deadline=$(($(date +%s) + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# lines_at_least FILE N: FILE has N lines or more
lines_at_least() {
    [ "$(wc -l <"$1")" -ge "$2" ]
}

# table_has N: /proc/net/ip_vs lists at least N services + real servers
table_has() {
    [ "$(ipvs_lines)" -ge $(($1 + 3)) ]
}

# log_secs LINE: the HH:MM:SS.mmm an extlbd console log line starts with, as seconds
# of the day (UTC in the guest)
log_secs() {
    echo "$1" | awk '{ split($1, t, ":"); printf "%.3f", t[1] * 3600 + t[2] * 60 + t[3] }'
}

# day_secs EPOCH: seconds of the day of an epoch time
day_secs() {
    awk -v e="$1" 'BEGIN { printf "%.3f", e - int(e / 86400) * 86400 }'
}

# host_info: one line about the guest
guest_info() {
    echo "# kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs," \
        "$(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB"
}
