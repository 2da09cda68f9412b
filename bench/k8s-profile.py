#!/usr/bin/env python3
"""k8s-profile.py - where extlb-k8s's CPU time goes in the k8s benchmark, by perf.

    python3 bench/k8s-profile.py [--bin build/extlb-k8s] [--changes 40] [--keep]

Same cluster as bench/k8s-run.sh (bench/k8s-gen.py's defaults), same API server
double (bench/k8s-apiserver-nodelay.py).  Two recordings, `perf record -F 999
--call-graph dwarf` (perf slows the process down: only the shares mean something):

1. `extlb-k8s --once` from exec to exit, on a fresh double (so with every status to
   PATCH): the samples under the LIST (k8s_sync_list) and under the apply
   (k8s_sync_apply), each split into categories;
2. extlb-k8s in watch mode, settled, perf attached while --changes endpoints move
   one at a time: the samples under the debounce callback (on_debounce: render,
   write, publish), split into categories.

A sample goes to the first category that one of its frames (leaf first) belongs to.
Needs perf (Debian: linux-perf) and the binary's debug information (-g).
"""

import argparse
import collections
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("k8s_measure", os.path.join(HERE, "k8s-measure.py"))
m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m)
gen = m.gen

LIST_CATS = [
    ("malloc/free of the json-c trees (incl. malloc_consolidate)",
     {"malloc_consolidate", "json_object_put", "_int_free", "lh_table_free", "array_list_free"}),
    ("json-c parse into a tree (json_tokener_parse_ex)", {"json_tokener_parse_ex"}),
    ("tree -> extlb-k8s objects (put_object, k8s_*_parse)", {"put_object"}),
    ("HTTP + TLS (libcurl, OpenSSL, kernel)", {"curl_easy_perform"}),
]
APPLY_CATS = [
    ("status PATCHes (patch_status)", {"patch_status"}),
    ("VIP assignment (k8s_ipam_assign)", {"k8s_ipam_assign"}),
    ("render: text (emit, fprintf)", {"emit"}),
    ("render: the rest (k8s_render)", {"k8s_render"}),
    ("write the file (k8s_output_write)", {"k8s_output_write"}),
]
CHANGE_CATS = [
    ("render: text, fprintf into a memstream (emit)", {"emit"}),
    ("render: virtual services and real servers (render_service)", {"render_service"}),
    ("render: VIP assignment + keys (assign_vips)", {"assign_vips"}),
    ("render: index and sort the endpoint sets (index_sets)", {"index_sets"}),
    ("render: duplicates, frees, other", {"k8s_render"}),
    ("write: compare, temp file, fsync, rename (k8s_output_write)", {"k8s_output_write"}),
    ("publish bookkeeping (remember, forget_gone, clear_unselected)",
     {"remember", "forget_gone", "clear_unselected", "k8s_cache_delete", "publish"}),
]
# inside emit: how much is address formatting
SUB = [("  of which inet_ntop (k8s_addr_str)", "emit", "k8s_addr_str")]


def stacks(data):
    out = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym"],
                         capture_output=True, text=True, check=True).stdout
    samples, cur = [], []
    for line in out.splitlines():
        if not line.strip():
            if cur:
                samples.append(cur)
                cur = []
            continue
        parts = line.split(None, 1)
        sym = parts[1].split("+")[0] if len(parts) > 1 else "?"
        cur.append(sym.replace(" (inlined)", "").strip())
    if cur:
        samples.append(cur)
    return samples


def categorize(samples, root, cats, subs=()):
    under = [s[:s.index(root) + 1] for s in samples if root in s]
    cnt = collections.Counter()
    for s in under:
        name = "other"
        for f in s:
            hit = [n for n, funcs in cats if f in funcs]
            if hit:
                name = hit[0]
                break
        cnt[name] += 1
    n = max(1, len(under))
    rows = [(k, 100 * v / n) for k, v in cnt.most_common()]
    for label, outer, inner in subs:
        k = sum(1 for s in under if outer in s and inner in s[:s.index(outer)])
        rows.append((label, 100 * k / n))
    return len(under), rows


def show(title, total, nunder, rows):
    print(f"{title}: {nunder} of {total} samples ({100 * nunder / max(1, total):.0f}%)")
    for name, pct in rows:
        print(f"  {pct:5.1f}%  {name}")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(m.REPO, "build", "extlb-k8s"))
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if not shutil.which("perf"):
        raise SystemExit("k8s-profile.py: perf is needed (apt-get install linux-perf)")
    work = tempfile.mkdtemp(prefix="k8s-profile.")
    try:
        seed = os.path.join(work, "seed.json")
        with open(seed, "w") as f:
            import json
            json.dump(gen.cluster(5000, 10, 5), f, separators=(",", ":"))
        # ---- 1. --once ----
        d = m.Double(work, "api-once", seed, True)
        out = os.path.join(work, "once.conf")
        data1 = os.path.join(work, "perf-once.data")
        try:
            subprocess.run(["perf", "record", "-q", "-F", "999", "--call-graph", "dwarf,32768",
                            "-o", data1, "--", a.bin, "--kubeconfig", d.kubeconfig,
                            "--vip-pool", m.VIP_POOL, "--output", out, "--once"],
                           stderr=open(os.path.join(work, "once.log"), "w"), check=True)
        finally:
            d.stop()
        s1 = stacks(data1)
        n, rows = categorize(s1, "main", [("LIST (k8s_sync_list)", {"k8s_sync_list"}),
                                          ("apply (k8s_sync_apply)", {"k8s_sync_apply"})])
        show("extlb-k8s --once, from exec to exit", len(s1), n, rows)
        n, rows = categorize(s1, "k8s_sync_list", LIST_CATS)
        show("  the LIST of the three kinds (k8s_sync_list)", len(s1), n, rows)
        n, rows = categorize(s1, "k8s_sync_apply", APPLY_CATS)
        show("  the apply (k8s_sync_apply)", len(s1), n, rows)
        # ---- 2. changes in watch mode ----
        d = m.Double(work, "api-watch", seed, True)
        out = os.path.join(work, "watch.conf")
        c = m.Client(a.bin, d, out, ["--debounce", "0.2"])
        data2 = os.path.join(work, "perf-change.data")
        try:
            if c.wait_line(lambda s: "in sync:" in s) is None:
                raise SystemExit("extlb-k8s did not sync")
            c.wait_quiet()
            perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", "--call-graph",
                                     "dwarf,32768", "-o", data2, "-p", str(c.pid)])
            time.sleep(1.0)
            ys = []
            for k in range(a.changes):
                svc = (k * 977 + 5) % 5000
                body = gen.endpointslice(svc, 5, 10, moved={0: gen.changed_address(k)})
                with c.cond:
                    start = len(c.lines)
                d.ctl("POST", "/apply", body)
                i = c.wait_line(lambda s: "in sync:" in s, start, 30)
                if i is not None:
                    ys.append(float(m.RE_SYNC.search(c.lines[i][1]).group(3)))
                time.sleep(0.05)
            perf.send_signal(signal.SIGINT)
            perf.wait()
        finally:
            c.finish()
            d.stop()
        s2 = stacks(data2)
        n, rows = categorize(s2, "on_debounce", CHANGE_CATS, SUB)
        show(f"watch mode, {a.changes} changes of one endpoint (Y under perf: median "
             f"{m.med(ys):.1f} ms): samples under on_debounce", len(s2), n, rows)
    finally:
        if a.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
