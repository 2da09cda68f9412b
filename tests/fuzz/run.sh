#!/usr/bin/env bash
# run.sh - builds the libFuzzer target fuzz_k8s_list.c with clang
# (-fsanitize=fuzzer,address,undefined) and runs it: the bytes of each input
# as a LIST page of the API server, and as a watch stream cut in two.
# Not part of `make check` (it needs clang, and it runs until stopped or
# until -max_total_time); a crash leaves crash-* files in the corpus dir.
#
# Usage: tests/fuzz/run.sh [SECONDS] [libFuzzer options...]  (default 60 s)
#   The corpus is $FUZZ_DIR (default /tmp/extlb-fuzz), seeded with the
#   JSON fixtures of tests/k8s/fixtures wrapped as LIST pages.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${1:-60}"; shift || true
dir="${FUZZ_DIR:-/tmp/extlb-fuzz}"
command -v clang >/dev/null || { echo "run.sh: needs clang (apt-get install clang)" >&2; exit 1; }
mkdir -p "$dir/corpus"
srcs=()
for f in "$repo"/src/k8s/*.c; do [[ "$f" == */main.c ]] || srcs+=("$f"); done
# shellcheck disable=SC2046 # pkg-config's words are separate flags
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -I"$repo/include" \
    "$repo/tests/fuzz/fuzz_k8s_list.c" "${srcs[@]}" "$repo/src/curl_ev.c" \
    $(pkg-config --cflags --libs libcurl json-c yaml-0.1) -lev -lm -o "$dir/fuzz_k8s_list"
for f in "$repo"/tests/k8s/fixtures/*.json; do
    python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
print(json.dumps({"kind": "List", "metadata": {"resourceVersion": "1", "continue": "c"},
                  "items": [o, o]}))' "$f" >"$dir/corpus/$(basename "$f")"
done
"$dir/fuzz_k8s_list" -max_total_time="$secs" -max_len=65536 "$@" "$dir/corpus"
