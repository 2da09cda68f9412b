#!/usr/bin/env python3
"""k8s-measure.py - the measurements of the extlb-k8s benchmark (run it
through bench/k8s-run.sh, which sets its options and prints the header).

    python3 bench/k8s-measure.py --bin EXTLB_K8S --seed SEED.json --work DIR
        [--runs 3] [--changes 20] [--debounce 0.2] [--services 5000]
        [--endpoints 10] [--namespaces 5] [--no-nodelay] [--skip-once]

1. The API server double alone (a fresh one, seeded): how long it takes to
   start with the seed, and each kind's LIST as curl sees it, whole and in
   pages of 500 as extlb-k8s asks for it (with --once next on the same
   double, then 1000 status PATCHes by curl on one connection).
2. `extlb-k8s --once` on that double: with every status to PATCH, then
   again (nothing to write or PATCH).
3. --runs times, each on a fresh double and a fresh output directory:
   extlb-k8s in watch mode; start -> file written, -> all statuses
   published, -> settled; then --changes times one endpoint of one Service
   moved (one EndpointSlice applied through the control port) and the
   time until the file is rewritten, debounce excluded; peak RSS.

Times are taken from extlb-k8s's stderr, read line by line by a thread
that stamps each line with time.monotonic() as it arrives (extlb-k8s's
stderr is unbuffered and it logs without time stamps).
"""

import argparse
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
APISERVER = os.path.join(REPO, "tests", "k8s", "apiserver.py")
NODELAY = os.path.join(HERE, "k8s-apiserver-nodelay.py")
VIP_POOL = "10.255.0.0/16"
PAGE = 500  # extlb-k8s's LIST page size (src/k8s/client.c PAGE_SIZE)
KINDS = (("services", "/api/v1/services"),
         ("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices"),
         ("endpoints", "/api/v1/endpoints"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

_spec = importlib.util.spec_from_file_location("k8s_gen", os.path.join(HERE, "k8s-gen.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

RE_SYNC = re.compile(r"in sync: ([0-9.]+) ms after the change \(([0-9.]+) ms of debounce\), "
                     r"([0-9.]+) ms to render")
RE_WROTE = re.compile(r"info: wrote (.*): (\d+) virtual service")


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def proc_cpu(pid):
    """user + system seconds of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_status(pid, key):
    """A kB field of /proc/PID/status (VmHWM, VmRSS), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def med(v):
    return statistics.median(v) if v else float("nan")


# ---- the API server double -------------------------------------------------------

class Double:
    def __init__(self, work, name, seed, nodelay, history=None):
        self.dir = os.path.join(work, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        prog = NODELAY if nodelay else APISERVER
        self.log = open(os.path.join(work, name + ".log"), "w")
        t0 = time.monotonic()
        argv = [sys.executable, prog, "--dir", self.dir, "--seed", seed]
        if history:
            argv += ["--history", str(history)]
        self.p = subprocess.Popen(argv,
                                  stdout=self.log, stderr=subprocess.STDOUT)
        ready = os.path.join(self.dir, "ready")
        while not os.path.exists(ready):
            if self.p.poll() is not None or time.monotonic() - t0 > 120:
                raise SystemExit(f"the API server double did not start: see {self.log.name}")
            time.sleep(0.05)
        self.start_s = time.monotonic() - t0
        self.pid = self.p.pid

        def rd(n):
            with open(os.path.join(self.dir, n)) as f:
                return f.read().strip()
        self.port = int(rd("port"))
        self.cport = int(rd("control-port"))
        self.token = rd("token")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.ca = os.path.join(self.dir, "ca.crt")
        self.ctl_conn = None

    def ctl(self, method, path, body=None):
        if self.ctl_conn is None:
            self.ctl_conn = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=120)
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        try:
            self.ctl_conn.request(method, path, body=data, headers=hdrs)
            r = self.ctl_conn.getresponse()
            out = r.read()
        except (OSError, http.client.HTTPException):
            self.ctl_conn.close()
            self.ctl_conn = None
            raise
        if r.status >= 400:
            raise RuntimeError(f"control {method} {path}: {r.status} {out[:200]!r}")
        return json.loads(out) if out else None

    def stop(self):
        if self.ctl_conn:
            self.ctl_conn.close()
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()

    # ---- the double alone, seen by curl ----

    def curl(self, args):
        cmd = ["curl", "-sS", "--cacert", self.ca, "-H", f"Authorization: Bearer {self.token}",
               "-H", "Accept: application/json"] + args
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

    def list_whole(self, path):
        """(seconds after the TLS handshake, bytes) of one LIST without limit."""
        out = self.curl(["-o", "/dev/null", "-w", "%{time_appconnect} %{time_total} "
                         "%{size_download} %{http_code}",
                         f"https://127.0.0.1:{self.port}{path}"])
        conn, total, size, code = out.split()
        assert code == "200", out
        return float(total) - float(conn), int(size)

    def list_paged(self, path):
        """(seconds, pages, items) of a LIST in pages of PAGE, as extlb-k8s asks."""
        body = os.path.join(self.dir, "page.json")
        url = f"https://127.0.0.1:{self.port}{path}?limit={PAGE}"
        secs, pages, items = 0.0, 0, 0
        while True:
            out = self.curl(["-o", body, "-w", "%{time_appconnect} %{time_total} %{http_code}",
                             url])
            conn, total, code = out.split()
            assert code == "200", out
            secs += float(total) - float(conn)
            pages += 1
            with open(body) as f:
                doc = json.load(f)
            items += len(doc["items"])
            cont = doc["metadata"].get("continue")
            if not cont:
                return secs, pages, items
            url = (f"https://127.0.0.1:{self.port}{path}?limit={PAGE}&continue="
                   + cont.replace("=", "%3D").replace("+", "%2B").replace("/", "%2F"))

    def patch_statuses(self, svcs, nns):
        """Seconds per status PATCH (changing the status), curl on one connection."""
        cfg = os.path.join(self.dir, "patch.curl")
        # options apply to one transfer each: every block repeats them
        blocks = []
        for n, i in enumerate(svcs):
            ip = f"10.254.{n // 250}.{n % 250 + 1}"
            body = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}})
            blocks.append(f'url = "https://127.0.0.1:{self.port}/api/v1/namespaces/'
                          f'{gen.namespace(i, nns)}/services/{gen.svc_name(i)}/status"\n'
                          'request = "PATCH"\n'
                          f'cacert = "{self.ca}"\n'
                          f'header = "Authorization: Bearer {self.token}"\n'
                          'header = "Content-Type: application/merge-patch+json"\n'
                          f'data = {json.dumps(body)}\n'
                          'silent\nshow-error\n'
                          'output = "/dev/null"\n'
                          'write-out = "%{http_code} %{num_connects}\\n"\n')
        with open(cfg, "w") as f:
            f.write("next\n".join(blocks))
        t0 = time.monotonic()
        out = subprocess.run(["curl", "-K", cfg],
                             check=True, capture_output=True, text=True).stdout
        secs = time.monotonic() - t0
        codes = [ln.split() for ln in out.splitlines() if ln.strip()]
        ok = sum(1 for c in codes if c[0] == "200")
        conns = sum(int(c[1]) for c in codes)
        return secs / max(1, len(codes)), ok, len(codes), conns


# ---- extlb-k8s -------------------------------------------------------------------

class Client:
    """extlb-k8s with its stderr read by a thread, each line time-stamped."""

    def __init__(self, binary, double, output, extra, timefile=None):
        self.lines = []  # (seconds since start, text, client cpu, double cpu)
        self.cond = threading.Condition()
        self.double = double
        self.output = output
        self.eof = False
        # --services are spread over --namespaces: far more a namespace than
        # the default cap of --max-services-per-namespace lets in
        argv = [binary, "--kubeconfig", double.kubeconfig, "--vip-pool", VIP_POOL,
                "--max-services-per-namespace", "0", "--output", output] + extra
        self.argv = argv
        if timefile:
            # GNU time's report of its child: wait4's ru_maxrss of our own
            # child would include the Python process that forked it (exec
            # carries the old mm's high-water mark over)
            argv = ["/usr/bin/time", "-o", timefile, "-f", "%e %U %S %M"] + argv
        self.double_cpu0 = proc_cpu(double.pid)
        self.wall0 = time.time()
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.pid = self.p.pid
        self.rusage = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stderr:
            t = time.monotonic() - self.t0
            text = raw.decode(errors="replace").rstrip("\n")
            cpu = dcpu = None
            if "info: wrote" in text or "in sync:" in text:
                cpu = proc_cpu(self.pid)
                d = proc_cpu(self.double.pid)
                dcpu = None if d is None or self.double_cpu0 is None else d - self.double_cpu0
            with self.cond:
                self.lines.append((t, text, cpu, dcpu))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def now(self):
        return time.monotonic() - self.t0

    def wait_line(self, pred, start=0, timeout=120.0):
        """The index of the first line from `start` on matching pred, or None."""
        end = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i][1]):
                        return i
                    i += 1
                left = end - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(left)

    def wait_quiet(self, quiet=1.5, timeout=120.0):
        """Until no line came for `quiet` seconds (and the last is not a
        warning about a retry in flight).  The number of lines."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.cond:
                n = len(self.lines)
                last = self.lines[-1][0] if self.lines else 0.0
            if self.now() - last >= quiet:
                return n
            time.sleep(0.1)
        return len(self.lines)

    def finish(self):
        """SIGTERM (if running) and wait4: (exit status, rusage)."""
        if self.p.poll() is None and self.rusage is None:
            try:
                self.p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        return self.reap()

    def reap(self, timeout=None):
        if self.rusage is None:
            t0 = time.monotonic()
            while True:
                pid, status, ru = os.wait4(self.pid, os.WNOHANG)
                if pid:
                    break
                if timeout is not None and time.monotonic() - t0 > timeout:
                    os.kill(self.pid, signal.SIGKILL)
                    timeout = None
                time.sleep(0.01)
            self.exit_time = self.now()
            self.status = os.waitstatus_to_exitcode(status)
            self.rusage = ru
            self.p.returncode = self.status  # the Popen must not wait again
        self.reader.join(5)
        return self.status, self.rusage

    def text(self):
        with self.cond:
            return [t for _, t, _, _ in self.lines]


# ---- one watch-mode run ----------------------------------------------------------

def count_published(double, nsvc):
    objs = double.ctl("GET", "/objects/services")
    n = 0
    for o in objs["items"]:
        ing = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ing and (ing[0].get("ip") or "").startswith("10.255."):
            n += 1
    return n


def settle(c, d, quiet=1.5, timeout=180.0):
    """Until extlb-k8s is settled: 1.5 s without output, its three watches
    open at the double, and an "in sync" line after the last LIST.  The
    number of lines then."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        n = c.wait_quiet(quiet, max(1.0, end - time.monotonic()))
        watches = len(d.ctl("GET", "/state").get("watches") or [])
        with c.cond:
            lines = c.lines[:n]
            more = len(c.lines) > n
        last_sync = max((i for i, ln in enumerate(lines) if "in sync:" in ln[1]), default=-1)
        last_list = max((i for i, ln in enumerate(lines) if "info: listed" in ln[1]), default=-1)
        if watches >= len(KINDS) and last_sync > last_list and not more:
            return n
        time.sleep(0.2)
    raise RuntimeError("extlb-k8s did not settle: " + " | ".join(c.text()[-3:]))


def watch_run(a, run, seed):
    say(f"== watch run {run}: starting the double")
    d = Double(a.work, f"api-watch-{run}", seed, a.nodelay, a.history)
    outdir = os.path.join(a.work, f"out-watch-{run}")
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    out = os.path.join(outdir, "kubernetes.conf")
    r = {"run": run, "double_start": d.start_s}
    c = Client(a.bin, d, out, ["--debounce", str(a.debounce)] + (["-v"] if a.verbose else []))
    r["argv"] = c.argv
    try:
        i = c.wait_line(lambda s: "info: wrote" in s, 0, 60)
        if i is None:
            raise RuntimeError("extlb-k8s wrote no file: " + " | ".join(c.text()[-5:]))
        t, text, cpu, dcpu = c.lines[i]
        r["written"] = t
        r["written_cpu"] = cpu
        r["written_double_cpu"] = dcpu
        r["written_mtime"] = os.stat(out).st_mtime - c.wall0
        r["nvs"] = int(RE_WROTE.search(text).group(2))
        phases = {}
        for t2, s, _, _ in c.lines[:i + 1]:
            m = re.search(r"info: listed \d+ (\S+)", s)
            if m and m.group(1) not in phases:
                phases[m.group(1)] = t2
            if "Service(s) of type LoadBalancer" in s and "render" not in phases:
                phases["render"] = t2
        r["phases"] = phases
        j = c.wait_line(lambda s: "in sync:" in s, i)
        if j is None:
            raise RuntimeError("no \"in sync\" line after the first write")
        t, text, cpu, dcpu = c.lines[j]
        m = RE_SYNC.search(text)
        r["synced"] = t
        r["synced_cpu"] = cpu
        r["synced_double_cpu"] = dcpu
        r["first_apply_ms"] = float(m.group(3))
        with c.cond:
            pubs = [ln for ln in c.lines[:j] if "status shows VIP" in ln[1]]
            r["warnings_init"] = [ln[1] for ln in c.lines[:j]
                                  if ": warning:" in ln[1] or ": error:" in ln[1]]
        r["patched"] = len(pubs)
        r["last_patch"] = pubs[-1][0] if pubs else None
        r["first_patch"] = pubs[0][0] if pubs else None
        r["hwm_synced"] = proc_status(c.pid, "VmHWM")
        # the statuses come back as MODIFIED events (or a 410 and a LIST):
        # more applies follow
        n = settle(c, d)
        with c.cond:
            syncs = [ln for ln in c.lines[:n] if "in sync:" in ln[1]]
            r["settle_lines"] = [ln[1] for ln in c.lines[j + 1:n]
                                 if ": warning:" in ln[1] or ": error:" in ln[1]
                                 or "listed" in ln[1]][:20]
        r["settled"] = syncs[-1][0]
        with c.cond:
            r["relists"] = sum(1 for ln in c.lines[:n] if "listing again" in ln[1])
            r["repatched"] = sum(1 for ln in c.lines[j + 1:n] if "status shows VIP" in ln[1])
        r["applies_to_settle"] = len(syncs)
        r["published"] = count_published(d, a.services)
        r["hwm_settled"] = proc_status(c.pid, "VmHWM")
        r["rss_settled"] = proc_status(c.pid, "VmRSS")
        r["cpu_settled"] = proc_cpu(c.pid)
        # ---- one endpoint moved, --changes times ----
        changes = []
        for k in range(a.changes):
            svc = (k * 977 + run * 131 + 17) % a.services
            addr = gen.changed_address((run - 1) * a.changes + k)
            body = gen.endpointslice(svc, a.namespaces, a.endpoints, moved={0: addr})
            with c.cond:
                start = len(c.lines)
            t_apply = c.now()
            d.ctl("POST", "/apply", body)
            w = c.wait_line(lambda s: "info: wrote" in s, start, 30)
            s_i = c.wait_line(lambda s: "in sync:" in s, start, 30)
            if w is None or s_i is None:
                raise RuntimeError(f"change {k}: the file was not rewritten")
            m = RE_SYNC.search(c.lines[s_i][1])
            x, deb, y = float(m.group(1)), float(m.group(2)), float(m.group(3))
            with open(out) as f:
                present = addr + '"' in f.read()
            changes.append({"x": x, "deb": deb, "y": y,
                            "ext": (c.lines[w][0] - t_apply) * 1e3 - deb,
                            "ok": present})
            time.sleep(0.1)
        r["changes"] = changes
        r["hwm_end"] = proc_status(c.pid, "VmHWM")
        r["rss_end"] = proc_status(c.pid, "VmRSS")
        r["cpu_before_changes"] = r["cpu_settled"]
        r["cpu_end"] = proc_cpu(c.pid)
    finally:
        status, ru = c.finish()
        r["exit"] = status
        r["utime"], r["stime"] = ru.ru_utime, ru.ru_stime
        with open(os.path.join(a.work, f"extlb-k8s-watch-{run}.log"), "w") as f:
            for t, s, _, _ in c.lines:
                f.write(f"{t:9.4f} {s}\n")
        d.stop()
    return r


# ---- the double alone and --once -------------------------------------------------

def once_runs(a, seed):
    say("== the double alone, and --once")
    d = Double(a.work, "api-once", seed, a.nodelay, a.history)
    res = {"double_start": d.start_s, "lists": {}}
    try:
        for name, path in KINDS:
            whole, size = d.list_whole(path)
            paged, pages, items = d.list_paged(path)
            res["lists"][name] = {"whole": whole, "bytes": size, "paged": paged,
                                  "pages": pages, "items": items}
        outdir = os.path.join(a.work, "out-once")
        shutil.rmtree(outdir, ignore_errors=True)
        os.makedirs(outdir)
        out = os.path.join(outdir, "kubernetes.conf")
        for label in ("first", "again"):
            tf = os.path.join(a.work, f"time-once-{label}")
            c = Client(a.bin, d, out, ["--once"], timefile=tf)
            status, ru = c.reap(timeout=300)
            lines = c.lines
            with open(tf) as f:
                elapsed, utime, stime, maxrss = f.read().split()[-4:]
            wrote = [t for t, s, _, _ in lines if "info: wrote" in s]
            listed = [t for t, s, _, _ in lines if "info: listed" in s or "Service(s) of type" in s]
            res[label] = {
                "exit": status, "total": c.exit_time,
                "written": wrote[0] if wrote else None,
                "render": listed[-1] if listed else None,
                "patched": sum(1 for _, s, _, _ in lines if "status shows VIP" in s),
                "maxrss": int(maxrss), "utime": float(utime), "stime": float(stime),
                "argv": c.argv,
                "errors": [s for _, s, _, _ in lines if ": error:" in s][:5],
            }
            with open(os.path.join(a.work, f"extlb-k8s-once-{label}.log"), "w") as f:
                for t, s, _, _ in lines:
                    f.write(f"{t:9.4f} {s}\n")
        res["published"] = count_published(d, a.services)
        # the double's own cost of a status PATCH (now: statuses set; these change them)
        per, ok, n, conns = d.patch_statuses(range(min(1000, a.services)), a.namespaces)
        res["patch"] = {"per": per, "ok": ok, "n": n, "conns": conns}
    finally:
        d.stop()
    return res


# ---- the report ------------------------------------------------------------------

def mib(kb):
    return kb / 1024 if kb is not None else float("nan")


def verdict(ok):
    return "met" if ok else "MISSED"


def report(a, once, runs):
    p = print
    T_INIT, T_CHANGE, T_RSS = 2.0, 50.0, 100.0
    dbl = "with TCP_NODELAY (bench/k8s-apiserver-nodelay.py)" if a.nodelay else "as it is"
    if once:
        p(f"API server double alone (python3 tests/k8s/apiserver.py {dbl}):")
        p(f"  start with the seed: {once['double_start']:.2f} s")
        p(f"  LIST as curl sees it, after the TLS handshake: whole, and in pages of {PAGE} as "
          "extlb-k8s asks (sum of the pages)")
        tot_w = tot_p = 0.0
        for name, _ in KINDS:
            ls = once["lists"][name]
            tot_w += ls["whole"]
            tot_p += ls["paged"]
            p(f"    {name:15s} {ls['items']:6d} items {ls['bytes'] / 1e6:5.1f} MB   "
              f"whole {ls['whole'] * 1e3:6.0f} ms   {ls['pages']:2d} pages {ls['paged'] * 1e3:6.0f} ms")
        p(f"    {'the three':15s} {'':25s}   whole {tot_w * 1e3:6.0f} ms   {'':8s} "
          f"{tot_p * 1e3:6.0f} ms")
        pt = once["patch"]
        p(f"  status PATCH, curl on {pt['conns']} connection(s): {pt['per'] * 1e3:.2f} ms each "
          f"({pt['ok']} of {pt['n']} answered 200) -> {pt['per'] * a.services:.1f} s for "
          f"{a.services}")
        p()
        p("extlb-k8s --once on that double (s from exec; CPU and peak RSS by /usr/bin/time):")
        for label, what in (("first", "every status to PATCH"), ("again", "nothing changed")):
            o = once[label]
            wr = f"{o['written']:.2f}" if o["written"] is not None else "- (unchanged)"
            p(f"  {label:5s} ({what}): rendered {o['render']:.2f}, file written {wr}, "
              f"exit {o['exit']} at {o['total']:.2f}, {o['patched']} PATCHes; "
              f"CPU {o['utime']:.2f} user + {o['stime']:.2f} sys; peak RSS {mib(o['maxrss']):.1f} MiB")
            for e in o["errors"]:
                p(f"        {e}")
        p(f"  statuses showing a VIP of {VIP_POOL} afterwards: {once['published']}/{a.services}")
        p()
    if not runs:
        return
    p(f"extlb-k8s watch mode (--debounce {a.debounce}), {len(runs)} run(s), each on a fresh "
      "double and output directory; s from exec:")
    p("  listed: the last \"listed\" line; written: the \"wrote\" line (file mtime);"
      " cpu / dbl: CPU s of extlb-k8s / of the double by then")
    p("  published: the first \"in sync\" line (status PATCHes done); PATCHes: \"status shows"
      " VIP\" lines before it; settled: the last \"in sync\" (then 1.5 s of quiet, 3 watches open);")
    p("  applies: \"in sync\" lines until then; again: status PATCHes after the first \"in sync\""
      " until settled; relists: 410s that made it LIST again")
    p("  change (one endpoint moved, ms): X-D = \"in sync\" X minus the debounce; Y = render,"
      " write and publish; ext = POST /apply at the double -> \"wrote\" line, minus the debounce")
    p("  RSS: VmHWM at the end (MiB); cpu s: user+sys of the whole run")
    p()
    p(f"  {'run':>3} {'listed':>6} {'written':>15} {'cpu':>5} {'dbl':>5} {'published':>9} "
      f"{'PATCHes':>7} {'settled':>7} {'applies':>7} {'again':>5} {'relists':>7} {'X-D med/max':>11} "
      f"{'Y med/max':>11} {'ext med/max':>11} {'RSS':>5} {'cpu s':>5}")
    for r in runs:
        ch = r["changes"]
        xd = [c["x"] - c["deb"] for c in ch]
        ys = [c["y"] for c in ch]
        ext = [c["ext"] for c in ch]
        listed = max(r["phases"].get(k, 0) for k, _ in KINDS)
        p(f"  {r['run']:>3} {listed:6.2f} {r['written']:6.2f} ({r['written_mtime']:6.2f})"
          f" {r['written_cpu']:5.2f} {r['written_double_cpu']:5.2f} {r['synced']:9.2f}"
          f" {r['patched']:>7} {r['settled']:7.2f} {r['applies_to_settle']:>7} {r['repatched']:>5}"
          f" {r['relists']:>7}"
          f" {med(xd):5.1f}/{max(xd):5.1f} {med(ys):5.1f}/{max(ys):5.1f}"
          f" {med(ext):5.1f}/{max(ext):5.1f} {mib(r['hwm_end']):5.1f}"
          f" {r['utime'] + r['stime']:5.2f}")
    p()
    p("  initial sync, median s from exec: " + ", ".join(
        f"listed {k} {med([r['phases'].get(k, float('nan')) for r in runs]):.2f}"
        for k, _ in KINDS) + f", rendered {med([r['phases'].get('render', float('nan')) for r in runs]):.2f}"
        f", written {med([r['written'] for r in runs]):.2f}")
    p("  status PATCHes, median: first at {:.2f} s, last at {:.2f} s, {:.2f} ms each; statuses"
      " showing a VIP at the end: {}".format(
          med([r["first_patch"] for r in runs if r["first_patch"] is not None]),
          med([r["last_patch"] for r in runs if r["last_patch"] is not None]),
          med([(r["last_patch"] - r["first_patch"]) / max(1, r["patched"] - 1) * 1e3
               for r in runs if r["last_patch"] is not None]),
          " ".join(f"{r['published']}/{a.services}" for r in runs)))
    p("  VmHWM (MiB) after the first sync / settled / after the changes: "
      + "; ".join(f"{mib(r['hwm_synced']):.1f} / {mib(r['hwm_settled']):.1f} / "
                  f"{mib(r['hwm_end']):.1f}" for r in runs))
    p("  VmRSS (MiB) settled / after the changes: "
      + "; ".join(f"{mib(r['rss_settled']):.1f} / {mib(r['rss_end']):.1f}" for r in runs))
    p("  CPU s of extlb-k8s until settled / during the changes / in all: "
      + "; ".join(f"{r['cpu_settled']:.2f} / {r['cpu_end'] - r['cpu_before_changes']:.2f} / "
                  f"{r['utime'] + r['stime']:.2f}" for r in runs))
    bad = [(r["run"], k) for r in runs for k, c in enumerate(r["changes"]) if not c["ok"]]
    p(f"  every moved address is in the rewritten file: {'yes' if not bad else 'NO ' + str(bad)}")
    for r in runs:
        notes = r["warnings_init"][:5] + [s for s in r["settle_lines"]
                                           if "warning" in s or "error" in s][:10]
        if notes:
            p(f"  run {r['run']}: warnings/errors while syncing:")
            for n in notes:
                p(f"      {n[:150]}")
    p()
    w = med([r["written"] for r in runs])
    pub = med([r["synced"] for r in runs])
    settled = med([r["settled"] for r in runs])
    allxd = [c["x"] - c["deb"] for r in runs for c in r["changes"]]
    ally = [c["y"] for r in runs for c in r["changes"]]
    allext = [c["ext"] for r in runs for c in r["changes"]]
    rss = med([mib(r["hwm_end"]) for r in runs])
    p(f"Summary: {a.services} Services x {a.endpoints} endpoints; initial sync and RSS: median of "
      f"{len(runs)} runs (worst); change: median of all {len(allxd)} changes (worst)")
    p(f"  {'measure':52s} {'median':>8} {'worst':>8} {'target':>8}  verdict")
    rows = [
        ("initial sync: exec -> file written (s)", w, max(r["written"] for r in runs),
         f"< {T_INIT:g}", verdict(w < T_INIT)),
        ("  exec -> every status PATCHed (s)", pub, max(r["synced"] for r in runs), "", ""),
        ("  exec -> settled (s)", settled, max(r["settled"] for r in runs), "", ""),
        ("one change: event -> file rewritten, X-D (ms)", med(allxd), max(allxd),
         f"< {T_CHANGE:g}", verdict(med(allxd) < T_CHANGE)),
        ("  render, write and publish, Y (ms)", med(ally), max(ally), "", ""),
        ("  POST /apply -> \"wrote\" line, minus debounce (ms)", med(allext), max(allext), "", ""),
        ("peak RSS, VmHWM (MiB)", rss, max(mib(r["hwm_end"]) for r in runs),
         f"< {T_RSS:g}", verdict(rss < T_RSS)),
    ]
    for name, m_, worst, target, v in rows:
        p(f"  {name:52s} {m_:8.2f} {worst:8.2f} {target:>8}  {v}")
    p()
    p("extlb-k8s command lines (DIR: the double's directory, OUT: the output directory):")
    for argv in ([runs[0]["argv"]] + ([once["first"]["argv"]] if once else [])):
        line = " ".join(["extlb-k8s"] + argv[1:])
        line = re.sub(r"\S*/api-[a-z]+(-\d+)?/", "DIR/", line)
        line = re.sub(r"\S*/out-[a-z]+(-\d+)?/", "OUT/", line)
        p("  " + line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--debounce", type=float, default=0.2)
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--endpoints", type=int, default=10)
    ap.add_argument("--namespaces", type=int, default=5)
    ap.add_argument("--no-nodelay", dest="nodelay", action="store_false")
    ap.add_argument("--skip-once", action="store_true")
    ap.add_argument("--history", type=int, help="the double's --history (default: its own, 1000)")
    ap.add_argument("-v", "--verbose", action="store_true", help="extlb-k8s -v")
    ap.add_argument("--json", help="also write the raw results here")
    a = ap.parse_args()
    once = None if a.skip_once else once_runs(a, a.seed)
    runs, failed = [], None
    for run in range(1, a.runs + 1):
        try:
            runs.append(watch_run(a, run, a.seed))
        except (RuntimeError, OSError) as e:
            # the same failure would come again: no more runs
            failed = (run, str(e))
            break
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"once": once, "runs": runs, "failed": failed}, f, indent=1, default=str)
    report(a, once, runs)
    if failed:
        print(f"watch run {failed[0]} FAILED (no further runs): {failed[1][:1500]}")
        print(f"  (its log: extlb-k8s-watch-{failed[0]}.log in the work directory, K8S_BENCH_KEEP=1)")
        sys.exit(1)


if __name__ == "__main__":
    main()
