#!/usr/bin/env bash
# Builds each tests/fuzz/fuzz_*.c with clang's libFuzzer, ASan and UBSan, and runs it for
# SECONDS (default 30) from its seed corpus tests/fuzz/corpus/NAME/ (copied: new inputs go
# to a scratch directory, not into the repository). Exits non-zero when a target finds a
# crash, a leak or a broken invariant; the input that did is kept under build/fuzz/.
#
# Usage: tests/fuzz/run.sh [SECONDS [fuzz_NAME...]]
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/deps.sh
. "$repo/scripts/deps.sh"
xl_apt_install clang libclang-rt-14-dev libconfig-dev pkg-config libcurl4-openssl-dev \
    libjson-c-dev libyaml-dev libev-dev python3 >/dev/null || exit 1

secs="${1:-30}"; shift || true
out="$repo/build/fuzz"
mkdir -p "$out"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for f in "$repo"/tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

# what each target links, beside itself
# checkopts.c validates annotations with extlbd's own rules (check_rules.c)
k8s_srcs="src/curl_ev.c src/model.c src/rules.c src/util.c src/check_rules.c"
for f in "$repo"/src/k8s/*.c; do
    [[ "$f" == */main.c ]] || k8s_srcs+=" src/k8s/${f##*/}"
done
# the loader finds check types and their keys in the registry, which
# brings every check type with it, http's libcurl glue (loaded as extlbd
# does) included
config_srcs="src/incfile.c src/model.c src/rules.c src/util.c src/curl_ev.c src/curl_dl.c"
# the loader judges ipvs_sysctls and ipvs_timeouts by kset.c's tables
config_srcs+=" src/kset.c src/sysctl.c src/log.c"
for f in "$repo"/src/config*.c "$repo"/src/check*.c; do config_srcs+=" src/${f##*/}"; done
declare -A sources=(
    [fuzz_include]="$config_srcs"
    [fuzz_k8s_list]="$k8s_srcs"
    [fuzz_ctl]="src/ctl.c src/ctl_listen.c src/log.c src/util.c"
)
declare -A libs=(
    [fuzz_include]="-I$out -DXL_CURL_DLOPEN -DCURL_DISABLE_TYPECHECK $(pkg-config --cflags --libs libconfig libcurl) -lev -ldl -lm"
    [fuzz_k8s_list]="$(pkg-config --cflags --libs libcurl json-c yaml-0.1) -lev -lm"
    [fuzz_ctl]="-I$out -D_GNU_SOURCE $(pkg-config --cflags --libs json-c) -lev -lm"
)

# seed CORPUS-DIR NAME: the corpus/NAME files; for k8s_list, the API fixtures as LIST pages
seed() {
    cp "$repo/tests/fuzz/corpus/$2"/* "$1"/ 2>/dev/null || true
    [[ "$2" == k8s_list ]] || return 0
    for f in "$repo"/tests/k8s/fixtures/*.json; do
        python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
print(json.dumps({"kind": "List", "metadata": {"resourceVersion": "1", "continue": "c"},
                  "items": [o, o]}))' "$f" >"$1/$(basename "$f")"
    done
}

# curl_dl.c reads the libcurl to load from configure's header
printf '#define XL_LIBCURL_SONAME "libcurl.so.4"\n' >"$out/autoconf.h"

passed=0 failed=0
for t in "${targets[@]}"; do
    name="${t#fuzz_}"
    src=()
    for s in ${sources[$t]}; do src+=("$repo/$s"); done
    echo "=== fuzz: $t (${secs} s)"
    # shellcheck disable=SC2086 # libs holds several flags: split on purpose
    if ! clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -I"$repo/include" \
            "$repo/tests/fuzz/$t.c" "${src[@]}" ${libs[$t]} \
            -o "$out/$t"; then
        echo "fuzz: $t does not build"; failed=$((failed + 1)); continue
    fi
    corpus="$(mktemp -d)"
    seed "$corpus" "$name"
    if (cd "$out" && LSAN_OPTIONS="suppressions=$repo/tests/fuzz/lsan.supp" "./$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 "$corpus" >"$out/$t.log" 2>&1); then
        passed=$((passed + 1))
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$out/$t.log"
        echo "fuzz: $t ok"
    else
        failed=$((failed + 1))
        tail -n 40 "$out/$t.log"
        echo "fuzz: $t FAILED (the input is in $out)"
    fi
    rm -rf "$corpus"
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
