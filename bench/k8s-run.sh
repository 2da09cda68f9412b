#!/usr/bin/env bash
# k8s-run.sh - extlb-k8s benchmark: 5,000 LoadBalancer Services x 10 endpoints served
# by the API server double (tests/k8s/apiserver.py, on 127.0.0.1 only).
#
# Measures, against the issue's targets (initial sync < 2 s, one change < 50 ms with
# the debounce excluded, peak RSS < 100 MiB):
#   - the double alone: its start with the seed, each kind's LIST as curl sees it
#     (whole, and in pages of 500 like extlb-k8s), one status PATCH;
#   - extlb-k8s --once on it: with every status to PATCH, then with nothing to do;
#   - K8S_BENCH_RUNS times, each on a fresh double: extlb-k8s in watch mode, exec ->
#     file written, -> every status PATCHed, -> settled; then K8S_BENCH_CHANGES times
#     one endpoint of one Service moved (its EndpointSlice applied through the double's
#     control port) -> file rewritten; peak RSS (VmHWM).
# The seed is made by bench/k8s-gen.py, the measuring by bench/k8s-measure.py, the
# double runs through bench/k8s-apiserver-nodelay.py (TCP_NODELAY, as kube-apiserver;
# see that file). Takes about 3 minutes.
#
# Usage: bench/k8s-run.sh
# Environment:
#   EXTLB_K8S            the binary (default: build/extlb-k8s; build it first:
#                        cd build && make -j8)
#   K8S_BENCH_RUNS       watch-mode runs (default 3)
#   K8S_BENCH_CHANGES    endpoint changes per run (default 20)
#   K8S_BENCH_SERVICES   Services (default 5000), K8S_BENCH_ENDPOINTS per Service (10),
#   K8S_BENCH_NAMESPACES (5)
#   K8S_BENCH_V1_ENDPOINTS=0   EndpointSlices only, no v1 Endpoints objects
#   K8S_BENCH_DEBOUNCE   extlb-k8s --debounce (default 0.2)
#   K8S_BENCH_NODELAY=0  run the double as it is (every small answer then takes ~44 ms)
#   K8S_BENCH_HISTORY    the double's --history (default: its own, 1000 events)
#   K8S_BENCH_ONCE=0     skip the double-alone and --once part
#   K8S_BENCH_KEEP=1     keep the work directory (logs of every extlb-k8s run)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${EXTLB_K8S:-$repo/build/extlb-k8s}"
runs="${K8S_BENCH_RUNS:-3}"
changes="${K8S_BENCH_CHANGES:-20}"
services="${K8S_BENCH_SERVICES:-5000}"
endpoints="${K8S_BENCH_ENDPOINTS:-10}"
namespaces="${K8S_BENCH_NAMESPACES:-5}"
debounce="${K8S_BENCH_DEBOUNCE:-0.2}"

if [[ ! -x "$bin" ]]; then
    echo "k8s-run.sh: no $bin: build it (cd build && make -j8) or set EXTLB_K8S" >&2
    exit 2
fi
for tool in python3 curl openssl /usr/bin/time; do
    if ! command -v "$tool" >/dev/null; then
        echo "k8s-run.sh: $tool is needed" >&2
        exit 2
    fi
done

work="$(mktemp -d /tmp/k8s-bench.XXXXXX)"
# shellcheck disable=SC2317 # run by the trap below
cleanup() {
    if [[ "${K8S_BENCH_KEEP:-0}" == 1 ]]; then
        echo "k8s-run.sh: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# a copy: a rebuild during the run must not change the binary under test
cp "$bin" "$work/extlb-k8s"
sha="$(sha256sum "$bin" | cut -c1-12)"

gen=(--services "$services" --endpoints "$endpoints" --namespaces "$namespaces")
[[ "${K8S_BENCH_V1_ENDPOINTS:-1}" == 0 ]] && gen+=(--no-v1-endpoints)
python3 "$repo/bench/k8s-gen.py" "${gen[@]}" -o "$work/seed.json"

measure=(--bin "$work/extlb-k8s" --seed "$work/seed.json" --work "$work" --runs "$runs"
    --changes "$changes" --debounce "$debounce" --services "$services"
    --endpoints "$endpoints" --namespaces "$namespaces" --json "$work/results.json")
[[ "${K8S_BENCH_NODELAY:-1}" == 0 ]] && measure+=(--no-nodelay)
[[ "${K8S_BENCH_ONCE:-1}" == 0 ]] && measure+=(--skip-once)
[[ -n "${K8S_BENCH_HISTORY:-}" ]] && measure+=(--history "$K8S_BENCH_HISTORY")

commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
dirty=""
if [[ -n "$(git -C "$repo" status --porcelain -- src include 2>/dev/null)" ]]; then
    dirty=" + uncommitted changes in src/ include/"
fi
settings=""
for v in EXTLB_K8S K8S_BENCH_RUNS K8S_BENCH_CHANGES K8S_BENCH_SERVICES K8S_BENCH_ENDPOINTS \
        K8S_BENCH_NAMESPACES K8S_BENCH_V1_ENDPOINTS K8S_BENCH_DEBOUNCE K8S_BENCH_NODELAY \
        K8S_BENCH_HISTORY K8S_BENCH_ONCE; do
    [[ -n "${!v:-}" ]] && settings+="$v=${!v} "
done
# the host's speed of the moment (a shared VM varies): one CPU-bound Python loop
speed() { python3 -c 'import time; t = time.perf_counter(); sum(range(20000000)); print("%.2f" % (time.perf_counter() - t))'; }
speed_before="$(speed)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
start="$(date -u '+%Y-%m-%d %H:%M UTC')"

status=0
python3 "$repo/bench/k8s-measure.py" "${measure[@]}" >"$work/report.txt" || status=$?

seed_mb="$(du -m "$work/seed.json" | cut -f1)"
v1="with"
[[ "${K8S_BENCH_V1_ENDPOINTS:-1}" == 0 ]] && v1="without"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "extlb-k8s benchmark, $start, host $(nproc) CPUs ($(uname -r)), load average" \
    "$load_before before, $load_after after; speed check (python3 sum(range(2e7)), s):" \
    "$speed_before before, $(speed) after"
echo "extlb-k8s: $bin (sha256 $sha); the working tree is at $commit$dirty; $(python3 --version), $(curl --version | head -n 1 | cut -d' ' -f1-2)"
echo "cluster: $services LoadBalancer Services x $endpoints ready endpoints in $namespaces" \
    "namespaces, one EndpointSlice each, $v1 v1 Endpoints; seed ${seed_mb} MB (bench/k8s-gen.py)"
echo "reproduce: ${settings}bench/k8s-run.sh"
echo
cat "$work/report.txt"
exit "$status"
