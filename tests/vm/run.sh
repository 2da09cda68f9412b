#!/usr/bin/env bash
# Runs every tests/vm/t-*.sh (or the ones named) in its own freshly booted test VM with the
# extlbd binary of BUILDDIR, the example config as /etc/extlb.conf and tests/vm/conf as
# /test/conf. Prints each VM's console, then one line per test and a closing
# "N passed, N failed" line counting the checks of every VM; exits non-zero if any failed.
#
# Usage: tests/vm/run.sh BUILDDIR [tests/vm/t-NAME.sh | t-NAME ...]
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:?usage: tests/vm/run.sh BUILDDIR [TEST...]}" && pwd)"
shift
if [[ $# -eq 0 ]]; then
    set -- "$repo"/tests/vm/t-*.sh
fi
# a bare name (t-reload, t-reload.sh) is one of tests/vm's
tests=()
for t in "$@"; do
    if [[ "$t" != */* && ! -e "$t" ]]; then
        t="$repo/tests/vm/${t%.sh}.sh"
    fi
    [[ -f "$t" ]] || { echo "run.sh: no test $t" >&2; exit 2; }
    tests+=("$t")
done
set -- "${tests[@]}"

# memcheck for t-valgrind.sh (Debian's /usr/bin/valgrind is a wrapper around valgrind.bin)
valgrind=()
if [[ -x /usr/bin/valgrind.bin ]]; then
    valgrind=(--bin /usr/bin/valgrind.bin:/usr/bin/valgrind.bin)
    for f in memcheck-amd64-linux vgpreload_core-amd64-linux.so \
        vgpreload_memcheck-amd64-linux.so default.supp; do
        valgrind+=(--add "/usr/libexec/valgrind/$f:/usr/libexec/valgrind/$f")
    done
    # memcheck must find ld.so's strlen: its symbols come from libc6-dbg, by build id
    id="$(readelf -n /lib64/ld-linux-x86-64.so.2 | awk '/Build ID/ { print $3 }')"
    dbg="/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug"
    if [[ -n "$id" && -f "$dbg" ]]; then
        valgrind+=(--add "$dbg:$dbg")
    else
        valgrind=() # t-valgrind.sh reports itself skipped
    fi
fi

passed=0 failed=0 results=()
for t in "$@"; do
    name="$(basename "$t" .sh)"
    log="$repo/.vm/logs/$name.log"
    echo "=== VM test $name"
    "$repo/scripts/vm-run" --timeout 900 --log "$log" \
        --bin "$build/extlbd" \
        --bin "$build/extlbctl" \
        --add "$repo/etc/extlb.conf:/etc/extlb.conf" \
        --add "$repo/tests/vm/conf:/test/conf" \
        --add "$repo/systemd/extlbd.service.in:/test/extlbd.service.in" \
        --bin /usr/bin/setpriv:/usr/libexec/setpriv \
        "${valgrind[@]}" "$t"
    rc=$?
    # the guest's own closing line counts its checks
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
    p="${line%% passed*}"; f="${line#*passed, }"; f="${f%% failed}"
    [[ -n "$line" ]] || { p=0; f=1; }
    if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
    # a test's host half, tests/vm/t-NAME.host LOG: checks with tools the guest lacks
    # (promtool) on what the guest printed; its closing line counts as the guest's does
    if [[ -f "${t%.sh}.host" ]]; then
        hout="$(bash "${t%.sh}.host" "$log")"
        printf '%s\n' "$hout" | tee -a "$log"
        hline="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$hout" | tail -n 1)"
        hp="${hline%% passed*}"; hf="${hline#*passed, }"; hf="${hf%% failed}"
        [[ -n "$hline" ]] || { hp=0; hf=1; }
        p=$((p + hp)); f=$((f + hf)); line="$line; host: ${hline:-no summary}"
    fi
    passed=$((passed + p)); failed=$((failed + f))
    results+=("$(printf '%-22s %s (exit %d)' "$name" "${line:-no summary}" "$rc")")
done
echo "=== VM tests"
printf '%s\n' "${results[@]}"
echo "vm: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
