#!/usr/bin/env python3
"""Self-test of the Kubernetes API server double (apiserver.py).

Run:  python3 tests/k8s/test_apiserver.py
  or: python3 -m unittest discover -s tests/k8s -v
"""

import base64
import http.client
import importlib
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "apiserver.py")
FIXTURES = os.path.join(HERE, "fixtures")
TOKEN = "self-test-token"
GENERATED = set("bcdfghjklmnpqrstvwxz2456789")


def event_body(**meta):
    """An Event as extlb-k8s POSTs it."""
    m = {"generateName": "ext-tcp-lb.", "namespace": "default"}
    m.update(meta)
    return {"metadata": m,
            "involvedObject": {"kind": "Service", "namespace": "default", "name": "ext-tcp-lb",
                               "uid": "00000000-0000-0000-0000-000000000001", "apiVersion": "v1"},
            "reason": "AllocationFailed", "message": "no free VIP in pool default",
            "type": "Warning", "source": {"component": "extlb-k8s"},
            "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:00:00Z",
            "count": 1, "reportingComponent": "extlb-k8s"}


def import_here(name):
    """The module NAME of this directory, imported in process."""
    sys.path.insert(0, HERE)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(HERE)
        sys.dont_write_bytecode = dont_write


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


class StreamCut(ConnectionError):
    """The watch body ended without the terminating zero-length chunk."""


class Watch:
    """A watch over a raw TLS socket, with the chunked framing parsed here so
    that a clean end (the zero-length chunk) is told apart from a cut stream.
    next() returns an event, or None at the clean end of the stream."""

    def __init__(self, t, path, timeout=5.0, token=TOKEN):
        raw = socket.create_connection(("127.0.0.1", t.port), timeout=timeout)
        self.sock = t.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{t.port}\r\n"
               f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n")
        self.sock.sendall(req.encode())
        self.f = self.sock.makefile("rb")
        status_line = self.f.readline().decode()
        self.status = int(status_line.split()[1])
        self.headers = {}
        while (line := self.f.readline().decode()) not in ("\r\n", "\n", ""):
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunks = 0
        self.buf = b""
        self.ended = False
        self.body = None
        if "content-length" in self.headers:
            self.body = json.loads(self.f.read(int(self.headers["content-length"])))
            self.ended = True

    def _chunk(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise StreamCut("connection closed inside the chunked body")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            if self.f.readline() != b"\r\n":
                raise StreamCut("no CRLF after the last chunk")
            return None
        data = self.f.read(size)
        if len(data) != size or self.f.read(2) != b"\r\n":
            raise StreamCut("short chunk")
        self.chunks += 1
        return data

    def next(self):
        while b"\n" not in self.buf:
            if self.ended:
                return None
            data = self._chunk()
            if data is None:
                self.ended = True
                if self.buf:
                    raise AssertionError(f"partial line at end of stream: {self.buf!r}")
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def until(self, pred, limit=50):
        for _ in range(limit):
            ev = self.next()
            if ev is None:
                raise AssertionError("stream ended while waiting for an event")
            if pred(ev):
                return ev
        raise AssertionError("event not seen")

    def close(self, reset=False):
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.f.close()
        self.sock.close()


class ApiServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="k8s-double-")
        cls.proc = subprocess.Popen(
            [sys.executable, SERVER, "--dir", cls.dir, "--token", TOKEN,
             "--watch-timeout", "30", "--bookmark-interval", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(cls.dir, "ready")):
            if cls.proc.poll() is not None or time.time() > deadline:
                out, err = cls.proc.communicate(timeout=5)
                raise RuntimeError(f"server did not start: {err.decode()}")
            time.sleep(0.05)
        cls.port = int(read(os.path.join(cls.dir, "port")))
        cls.cport = int(read(os.path.join(cls.dir, "control-port")))
        cls.ctx = ssl.create_default_context(cafile=os.path.join(cls.dir, "ca.crt"))

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ctl("stop")
        except OSError:
            pass
        try:
            cls.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.proc.stdout.close()
        cls.proc.stderr.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.ctl("reset")
        self.ctl("apply", {"kind": "List", "items": [
            fixture("service-ext-tcp-lb.json"), fixture("endpoints-ext-tcp-lb.json"),
            fixture("service-web.json"), fixture("endpointslice-web-ipv4.json"),
            fixture("endpointslice-web-ipv6.json"),
            fixture("endpointslice-ext-tcp-lb-mirrored.json")]})

    # ---- helpers -------------------------------------------------------------

    @classmethod
    def ctl(cls, verb, body=None, method=None, query=None):
        conn = http.client.HTTPConnection("127.0.0.1", cls.cport, timeout=30)
        path = "/" + verb + ("?" + urllib.parse.urlencode(query) if query else "")
        method = method or ("GET" if verb.split("/")[0] in ("state", "requests", "objects")
                            else "POST")
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        out = json.loads(resp.read() or b"null")
        conn.close()
        return resp.status, out

    def https(self, timeout=5.0):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout)

    def api(self, method, path, body=None, ctype=None, token=TOKEN, timeout=5.0):
        conn = self.https(timeout)
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = ctype or "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return resp, (json.loads(raw) if raw else None)

    def list_rv(self, path="/api/v1/services"):
        resp, body = self.api("GET", path)
        self.assertEqual(resp.status, 200)
        return body["metadata"]["resourceVersion"]

    def assertStatus(self, body, code, reason):
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["code"], code)
        self.assertEqual(body["reason"], reason)
        self.assertIsInstance(body["message"], str)

    # ---- files and auth ----------------------------------------------------------

    def test_files_in_dir(self):
        for n in ("ca.crt", "server.crt", "server.key", "kubeconfig", "kubeconfig-data",
                  "port", "control-port", "ready", "token"):
            self.assertTrue(os.path.exists(os.path.join(self.dir, n)), n)
        kc = read(os.path.join(self.dir, "kubeconfig"))
        self.assertIn(f'server: "https://127.0.0.1:{self.port}"', kc)
        self.assertIn(f'certificate-authority: "{os.path.join(self.dir, "ca.crt")}"', kc)
        self.assertIn(f'token: "{TOKEN}"', kc)
        self.assertIn("current-context: extlb-test", kc)
        kd = read(os.path.join(self.dir, "kubeconfig-data"))
        line = next(ln for ln in kd.splitlines() if "certificate-authority-data:" in ln)
        data = base64.b64decode(line.split(":", 1)[1].strip())
        self.assertEqual(data, read(os.path.join(self.dir, "ca.crt"), "rb"))
        # The certificate is valid for localhost too.
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=5)
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_unauthorized(self):
        for tok in (None, "wrong"):
            resp, body = self.api("GET", "/api/v1/services", token=tok)
            self.assertEqual(resp.status, 401)
            self.assertEqual(resp.getheader("Content-Type"), "application/json")
            self.assertStatus(body, 401, "Unauthorized")
        resp, _ = self.api("GET", "/api/v1/services?watch=1", token=None)
        self.assertEqual(resp.status, 401)

    def test_token_rotation(self):
        self.ctl("set", {"token": "rotated"})
        try:
            self.assertEqual(self.api("GET", "/api/v1/services")[0].status, 401)
            self.assertEqual(self.api("GET", "/api/v1/services", token="rotated")[0].status, 200)
            self.assertEqual(read(os.path.join(self.dir, "token")), "rotated")
        finally:
            self.ctl("set", {"token": TOKEN})

    # ---- list / get -------------------------------------------------------------

    def test_list_services(self):
        resp, body = self.api("GET", "/api/v1/services")
        self.assertEqual(resp.status, 200)
        self.assertEqual(body["kind"], "ServiceList")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertIsInstance(body["metadata"]["resourceVersion"], str)
        names = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]]
        self.assertEqual(names, [("default", "ext-tcp-lb"), ("shop", "web")])
        for item in body["items"]:
            self.assertNotIn("kind", item)
            self.assertNotIn("apiVersion", item)
            self.assertIsInstance(item["metadata"]["resourceVersion"], str)
            self.assertTrue(item["metadata"]["uid"])
        svc = body["items"][0]
        self.assertEqual(svc["spec"]["ports"], [{"protocol": "TCP", "port": 8000,
                                                 "targetPort": 80, "nodePort": 30355}])
        self.assertEqual(svc["spec"]["type"], "LoadBalancer")
        self.assertNotIn("selector", svc["spec"])
        self.assertEqual(svc["status"], {"loadBalancer": {}})

        resp, body = self.api("GET", "/api/v1/namespaces/shop/services")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["web"])
        resp, body = self.api("GET", "/api/v1/namespaces/nowhere/services")
        self.assertEqual((resp.status, body["items"]), (200, []))

    def test_get_and_not_found(self):
        resp, body = self.api("GET", "/api/v1/namespaces/default/services/ext-tcp-lb")
        self.assertEqual(resp.status, 200)
        self.assertEqual((body["kind"], body["apiVersion"]), ("Service", "v1"))
        resp, body = self.api("GET", "/api/v1/namespaces/default/services/nope")
        self.assertEqual(resp.status, 404)
        self.assertStatus(body, 404, "NotFound")
        self.assertEqual(body["message"], 'services "nope" not found')
        self.assertEqual(body["details"], {"name": "nope", "kind": "services"})
        resp, body = self.api("GET", "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/x")
        self.assertEqual(body["message"], 'endpointslices.discovery.k8s.io "x" not found')
        resp, body = self.api("GET", "/api/v1/pods")
        self.assertEqual(resp.status, 404)

    def test_list_endpoints_and_slices(self):
        resp, body = self.api("GET", "/api/v1/namespaces/default/endpoints")
        self.assertEqual(body["kind"], "EndpointsList")
        self.assertIn("deprecated", resp.getheader("Warning"))
        self.assertEqual(body["items"][0]["subsets"], [
            {"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80, "protocol": "TCP"}]}])
        resp, body = self.api("GET", "/apis/discovery.k8s.io/v1/endpointslices"
                                     "?labelSelector=kubernetes.io%2Fservice-name%3Dweb")
        self.assertEqual(body["kind"], "EndpointSliceList")
        self.assertEqual(body["apiVersion"], "discovery.k8s.io/v1")
        self.assertEqual(sorted(i["addressType"] for i in body["items"]), ["IPv4", "IPv6"])
        v4 = next(i for i in body["items"] if i["addressType"] == "IPv4")
        conds = [e["conditions"] for e in v4["endpoints"]]
        self.assertIn({"ready": False, "serving": True, "terminating": True}, conds)
        self.assertEqual({p["name"] for p in v4["ports"]}, {"http", "https"})
        # Set-based and negative selectors.
        q = urllib.parse.quote("kubernetes.io/service-name in (ext-tcp-lb),!nope")
        _, body = self.api("GET", f"/apis/discovery.k8s.io/v1/endpointslices?labelSelector={q}")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["ext-tcp-lb-4kq7d"])
        resp, body = self.api("GET", "/api/v1/services?fieldSelector=spec.foo%3Dx")
        self.assertEqual(resp.status, 400)
        self.assertStatus(body, 400, "BadRequest")

    def test_pagination(self):
        resp, page1 = self.api("GET", "/apis/discovery.k8s.io/v1/endpointslices?limit=2")
        self.assertEqual(len(page1["items"]), 2)
        self.assertEqual(page1["metadata"]["remainingItemCount"], 1)
        tok = page1["metadata"]["continue"]
        # A change between pages does not show: the list is consistent at its RV.
        self.ctl("delete", {"kind": "EndpointSlice", "namespace": "shop", "name": "web-x7m2p"})
        resp, page2 = self.api("GET", "/apis/discovery.k8s.io/v1/endpointslices?limit=2&continue="
                               + urllib.parse.quote(tok))
        self.assertEqual(resp.status, 200)
        self.assertNotIn("continue", page2["metadata"])
        self.assertEqual(page2["metadata"]["resourceVersion"], page1["metadata"]["resourceVersion"])
        names = [i["metadata"]["name"] for i in page1["items"] + page2["items"]]
        self.assertEqual(names, ["ext-tcp-lb-4kq7d", "web-q9z4c", "web-x7m2p"])
        # After compaction the token has expired.
        self.ctl("compact")
        resp, body = self.api("GET", "/apis/discovery.k8s.io/v1/endpointslices?limit=2&continue="
                              + urllib.parse.quote(tok))
        self.assertEqual(resp.status, 410)
        self.assertStatus(body, 410, "Expired")

    # ---- watch -----------------------------------------------------------------

    def test_watch_events(self):
        rv = self.list_rv()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.assertEqual(w.status, 200)
            self.assertEqual(w.headers["transfer-encoding"], "chunked")
            self.assertEqual(w.headers["content-type"], "application/json")
            self.assertNotIn("content-length", w.headers)
            self.assertEqual(self.ctl("wait", {"watches": 1})[0], 200)

            svc = fixture("service-ext-tcp-lb.json")
            svc["metadata"]["labels"] = {"tier": "edge"}
            self.ctl("apply", svc)
            ev = w.next()
            self.assertEqual(ev["type"], "MODIFIED")
            self.assertEqual(ev["object"]["kind"], "Service")
            self.assertEqual(ev["object"]["apiVersion"], "v1")
            self.assertEqual(ev["object"]["metadata"]["labels"], {"tier": "edge"})
            self.assertGreater(int(ev["object"]["metadata"]["resourceVersion"]), int(rv))

            new = {"kind": "Service", "apiVersion": "v1",
                   "metadata": {"name": "new-lb", "namespace": "default"},
                   "spec": {"type": "LoadBalancer", "ports": [{"port": 53, "protocol": "UDP"}]}}
            self.ctl("apply", new)
            ev = w.next()
            self.assertEqual(ev["type"], "ADDED")
            self.assertEqual(ev["object"]["metadata"]["name"], "new-lb")
            spec = ev["object"]["spec"]
            self.assertTrue(spec["clusterIP"].startswith("10.43."))
            self.assertEqual(spec["ports"][0]["targetPort"], 53)
            self.assertGreaterEqual(spec["ports"][0]["nodePort"], 30000)
            added_rv = int(ev["object"]["metadata"]["resourceVersion"])

            # Endpoints changes do not reach a services watch.
            self.ctl("delete", {"kind": "Endpoints", "namespace": "default", "name": "ext-tcp-lb"})
            self.ctl("delete", {"kind": "Service", "namespace": "default", "name": "new-lb"})
            ev = w.next()
            self.assertEqual(ev["type"], "DELETED")
            self.assertEqual(ev["object"]["metadata"]["name"], "new-lb")
            self.assertGreater(int(ev["object"]["metadata"]["resourceVersion"]), added_rv + 1)
        finally:
            w.close()

    def test_watch_replay_and_initial_state(self):
        rv = self.list_rv()
        patch = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.200"}]}}}
        self.api("PATCH", "/api/v1/namespaces/default/services/ext-tcp-lb/status", patch,
                 "application/merge-patch+json")
        self.ctl("delete", {"kind": "Service", "namespace": "shop", "name": "web"})
        w = Watch(self, f"/api/v1/services?watch=true&resourceVersion={rv}&timeoutSeconds=1")
        try:
            evs = []
            while (ev := w.next()) is not None:
                evs.append(ev)
            self.assertEqual([e["type"] for e in evs], ["MODIFIED", "DELETED"])
        finally:
            w.close()
        # No resourceVersion: the current state as ADDED events first.
        w = Watch(self, "/api/v1/namespaces/default/services?watch=1&timeoutSeconds=1")
        try:
            evs = []
            while (ev := w.next()) is not None:
                evs.append(ev)
            self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                             [("ADDED", "ext-tcp-lb")])
        finally:
            w.close()

    def test_watch_label_selector_transitions(self):
        sel = urllib.parse.quote("kubernetes.io/service-name=web")
        rv = self.list_rv("/apis/discovery.k8s.io/v1/endpointslices")
        w = Watch(self, f"/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices?watch=1"
                        f"&labelSelector={sel}&resourceVersion={rv}")
        try:
            es = fixture("endpointslice-web-ipv4.json")
            es["metadata"]["labels"]["kubernetes.io/service-name"] = "other"
            self.ctl("apply", es)  # leaves the selector: DELETED
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("DELETED", "web-x7m2p"))
            es["metadata"]["labels"]["kubernetes.io/service-name"] = "web"
            self.ctl("apply", es)  # back in: ADDED
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "web-x7m2p"))
        finally:
            w.close()

    def test_bookmarks(self):
        rv = self.list_rv("/apis/discovery.k8s.io/v1/endpointslices")
        w = Watch(self, f"/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion={rv}"
                        f"&allowWatchBookmarks=true")
        plain = Watch(self, f"/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion={rv}"
                            f"&timeoutSeconds=2")
        try:
            self.ctl("wait", {"watches": 2})
            code, out = self.ctl("bookmark")
            self.assertEqual(out["watches"], 1)
            ev = w.next()
            self.assertEqual(ev, {"type": "BOOKMARK", "object": {
                "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                "metadata": {"resourceVersion": rv, "creationTimestamp": None},
                "addressType": "", "endpoints": None, "ports": None}})
            # Periodic bookmarks.
            self.ctl("set", {"bookmarkInterval": 0.3})
            w2 = Watch(self, "/api/v1/services?watch=1&allowWatchBookmarks=1&resourceVersion=" + rv)
            try:
                ev = w2.next()
                self.assertEqual(ev["type"], "BOOKMARK")
                self.assertEqual(ev["object"]["kind"], "Service")
                self.assertEqual(ev["object"]["status"], {"loadBalancer": {}})
            finally:
                w2.close()
            # The watch without allowWatchBookmarks saw none.
            self.assertIsNone(plain.next())
        finally:
            w.close()
            plain.close()

    def test_gone_in_stream(self):
        rv = self.list_rv()
        self.ctl("apply", dict(fixture("service-web.json"), metadata={
            "name": "web", "namespace": "shop", "labels": {"x": "y"}}))
        code, out = self.ctl("compact")
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.assertEqual(w.status, 200)
            ev = w.next()
            self.assertEqual(ev["type"], "ERROR")
            self.assertEqual(ev["object"], {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"too old resource version: {rv} ({out['compactedResourceVersion']})",
                "reason": "Expired", "code": 410})
            self.assertIsNone(w.next())  # the stream ends after the error
        finally:
            w.close()

    def test_gone_http(self):
        rv = self.list_rv()
        self.ctl("apply", dict(fixture("service-web.json"), metadata={
            "name": "web", "namespace": "shop", "labels": {"x": "y"}}))
        self.ctl("compact")
        self.ctl("set", {"goneMode": "http"})
        resp, body = self.api("GET", f"/api/v1/services?watch=1&resourceVersion={rv}")
        self.assertEqual(resp.status, 410)
        self.assertStatus(body, 410, "Expired")
        self.assertTrue(body["message"].startswith(f"too old resource version: {rv} ("))

    def test_gone_history_window(self):
        rv = self.list_rv()
        self.ctl("set", {"historySize": 2})
        for i in range(3):
            self.ctl("apply", {"kind": "Service", "metadata": {"name": f"s{i}"},
                               "spec": {"ports": [{"port": 80}]}})
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.assertEqual(w.next()["object"]["code"], 410)
        finally:
            w.close()

    def test_forced_gone(self):
        rv = self.list_rv()
        self.ctl("fail-watch", {"mode": "http"})
        resp, body = self.api("GET", f"/api/v1/services?watch=1&resourceVersion={rv}")
        self.assertEqual(resp.status, 410)
        self.assertStatus(body, 410, "Expired")
        self.ctl("fail-watch", {"mode": "stream"})
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.assertEqual(w.status, 200)
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["code"]), ("ERROR", 410))
            self.assertIsNone(w.next())
        finally:
            w.close()
        # Only the next watch was affected.
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}&timeoutSeconds=1")
        try:
            self.assertIsNone(w.next())
        finally:
            w.close()

    # ---- fail-list and the hostile watch modes -------------------------------

    def test_fail_list_continue(self):
        # endless: a new token every page, the same fault behind each
        self.assertEqual(self.ctl("fail-list", {"mode": "endless",
                                                "path": "/api/v1/services"})[0], 200)
        resp, page = self.api("GET", "/api/v1/services?limit=500")
        self.assertEqual(len(page["items"]), 2)
        seen = set()
        for _ in range(3):
            tok = page["metadata"]["continue"]
            self.assertNotIn(tok, seen)
            seen.add(tok)
            resp, page = self.api("GET", "/api/v1/services?limit=500&continue="
                                  + urllib.parse.quote(tok))
            self.assertEqual((resp.status, page["items"]), (200, []))
        # count=1 is spent: the next LIST is a real one
        resp, page = self.api("GET", "/api/v1/services?limit=500")
        self.assertNotIn("continue", page["metadata"])
        # repeat: the same token again and again; other paths untouched
        self.ctl("fail-list", {"mode": "repeat", "path": "/api/v1/services"})
        resp, page = self.api("GET", "/api/v1/endpoints")
        self.assertNotIn("continue", page["metadata"])
        resp, page = self.api("GET", "/api/v1/services?limit=500")
        tok = page["metadata"]["continue"]
        resp, page = self.api("GET", "/api/v1/services?limit=500&continue="
                              + urllib.parse.quote(tok))
        self.assertEqual(page["metadata"]["continue"], tok)
        st = self.ctl("state")[1]
        self.assertEqual(st["listFaults"], [])
        self.assertEqual(self.ctl("fail-list", {"mode": "nope"})[0], 400)

    def test_fail_list_shapes(self):
        self.ctl("fail-list", {"mode": "deep", "depth": 100})
        resp, page = self.api("GET", "/api/v1/services")
        self.assertEqual(page["items"][-1]["metadata"]["name"], "deep")
        self.assertEqual(len(page["items"]), 3)
        self.ctl("fail-list", {"mode": "types"})
        resp, page = self.api("GET", "/api/v1/endpoints")
        self.assertEqual(page["items"][0]["metadata"]["name"], "ext-tcp-lb")
        self.assertEqual(page["items"][1], "a string item")
        self.assertGreaterEqual(len(page["items"]), 8)
        self.ctl("fail-list", {"mode": "items"})
        resp, page = self.api("GET", "/api/v1/endpoints")
        self.assertIsInstance(page["items"], dict)
        self.ctl("fail-list", {"mode": "nometa"})
        resp, page = self.api("GET", "/api/v1/endpoints")
        self.assertNotIn("metadata", page)
        self.ctl("fail-list", {"mode": "big", "mb": 2})
        conn = self.https(30)
        conn.request("GET", "/api/v1/endpoints?limit=500",
                     headers={"Authorization": f"Bearer {TOKEN}"})
        raw = conn.getresponse().read()
        conn.close()
        page = json.loads(raw)
        self.assertLessEqual(len(page["items"]), 500)
        self.assertLess(abs(len(raw) - (2 << 20)), 256 << 10)
        self.assertEqual(self.ctl("requests")[1]["requests"][-1]["fault"], "list-big")

    def test_hostile_watch_modes(self):
        rv = self.list_rv()
        for mode in ("deep", "maps", "types"):
            self.ctl("fail-watch", {"mode": mode})
            w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
            try:
                evs = []
                while (ev := w.next()) is not None:
                    evs.append(ev)
            finally:
                w.close()
            if mode == "types":
                self.assertEqual(evs[0]["object"], "not an object")
                self.assertGreaterEqual(len(evs), 6)
            else:
                self.assertEqual(len(evs), 1)
                self.assertEqual(evs[0]["object"]["metadata"]["name"], mode)

    def test_expire_open_watch(self):
        rv = self.list_rv()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.ctl("wait", {"watches": 1})
            self.assertEqual(self.ctl("expire-watches")[1]["watches"], 1)
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["reason"]), ("ERROR", "Expired"))
            self.assertIsNone(w.next())
        finally:
            w.close()

    def test_too_large_resource_version(self):
        self.ctl("set", {"tooLargeWait": 0.2})
        rv = int(self.list_rv())
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv + 100}")
        try:
            ev = w.next()
            self.assertEqual(ev["type"], "ERROR")
            self.assertEqual((ev["object"]["code"], ev["object"]["reason"]), (504, "Timeout"))
        finally:
            w.close()

    def test_server_side_timeout(self):
        t0 = time.monotonic()
        w = Watch(self, "/api/v1/services?watch=1&resourceVersion=" + self.list_rv()
                  + "&timeoutSeconds=1")
        try:
            self.assertIsNone(w.next())  # clean end of the chunked body
            self.assertLess(time.monotonic() - t0, 4)
        finally:
            w.close()
        self.ctl("set", {"watchTimeout": 1})
        t0 = time.monotonic()
        w = Watch(self, "/api/v1/services?watch=1&resourceVersion=" + self.list_rv())
        try:
            self.assertIsNone(w.next())
            self.assertLess(time.monotonic() - t0, 4)
        finally:
            w.close()

    def test_final_bookmark_before_timeout(self):
        rv = self.list_rv()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}"
                        "&allowWatchBookmarks=true&timeoutSeconds=3")
        try:
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["resourceVersion"]),
                             ("BOOKMARK", rv))
            self.assertIsNone(w.next())
        finally:
            w.close()

    def test_close_watches(self):
        rv = self.list_rv()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.ctl("wait", {"watches": 1})
            self.ctl("close-watches")
            self.assertIsNone(w.next())
        finally:
            w.close()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            self.ctl("wait", {"watches": 1})
            self.ctl("close-watches", {"abort": True})
            with self.assertRaises(StreamCut):
                w.next()
        finally:
            w.close()

    def test_disconnect_mid_stream_and_concurrency(self):
        rv = self.list_rv()
        watches = [Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}") for _ in range(3)]
        self.ctl("wait", {"watches": 3})
        # Drop one connection abruptly (RST) while events are flowing.
        watches[0].close(reset=True)
        for i in range(20):
            self.ctl("apply", {"kind": "Service", "metadata": {"name": f"burst{i}"},
                               "spec": {"ports": [{"port": 80}]}})
        # Open watches do not block ordinary requests.
        resp, body = self.api("GET", "/api/v1/services")
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(body["items"]), 22)
        for w in watches[1:]:
            names = [w.next()["object"]["metadata"]["name"] for _ in range(20)]
            self.assertEqual(names, [f"burst{i}" for i in range(20)])
            w.close()
        # A client that connects and never speaks TLS does not stall the server.
        idle = socket.create_connection(("127.0.0.1", self.port))
        try:
            self.assertEqual(self.api("GET", "/api/v1/services")[0].status, 200)
        finally:
            idle.close()
        # The server notices closed watch connections even when idle.
        self.assertEqual(self.ctl("wait", {"maxWatches": 0})[0], 200)
        self.assertEqual(self.ctl("state")[1]["watches"], [])

    # ---- status updates --------------------------------------------------------

    def test_patch_status(self):
        path = "/api/v1/namespaces/default/services/ext-tcp-lb/status"
        before = self.api("GET", "/api/v1/namespaces/default/services/ext-tcp-lb")[1]
        rv = self.list_rv()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            patch = fixture("patch-status-ext-tcp-lb.json")
            patch["spec"] = {"type": "ClusterIP"}  # ignored on /status
            resp, body = self.api("PATCH", path, patch, "application/merge-patch+json")
            self.assertEqual(resp.status, 200)
            self.assertEqual(body["kind"], "Service")
            self.assertEqual(body["status"]["loadBalancer"]["ingress"],
                             [{"ip": "203.0.113.7", "ipMode": "VIP"}])
            self.assertEqual(body["spec"], before["spec"])
            new_rv = body["metadata"]["resourceVersion"]
            self.assertGreater(int(new_rv), int(rv))
            ev = w.next()
            self.assertEqual(ev["type"], "MODIFIED")
            self.assertEqual(ev["object"]["metadata"]["resourceVersion"], new_rv)
            # The control interface sees what the client wrote.
            code, obj = self.ctl("objects/services/default/ext-tcp-lb")
            self.assertEqual(obj["status"]["loadBalancer"]["ingress"][0]["ip"], "203.0.113.7")
            # The same patch again changes nothing: no new RV, no event.
            resp, body = self.api("PATCH", path, patch, "application/merge-patch+json")
            self.assertEqual(body["metadata"]["resourceVersion"], new_rv)
            # Strategic merge patch: null removes a field, conditions merge by type.
            resp, body = self.api("PATCH", path, {"status": {"loadBalancer": {"ingress": None},
                                                             "conditions": [{"type": "A", "status": "True"}]}},
                                  "application/strategic-merge-patch+json")
            self.assertEqual(resp.status, 200)
            self.assertEqual(body["status"], {"loadBalancer": {},
                                              "conditions": [{"type": "A", "status": "True"}]})
            self.assertEqual(w.next()["type"], "MODIFIED")
            resp, body = self.api("PATCH", path, {"status": {"conditions": [{"type": "B", "status": "False"}]}},
                                  "application/strategic-merge-patch+json")
            self.assertEqual([c["type"] for c in body["status"]["conditions"]], ["A", "B"])
            self.assertEqual(w.next()["type"], "MODIFIED")
            # JSON patch.
            resp, body = self.api("PATCH", path, [{"op": "add", "path": "/status/loadBalancer/ingress",
                                                   "value": [{"hostname": "lb.example"}]}],
                                  "application/json-patch+json")
            self.assertEqual(body["status"]["loadBalancer"]["ingress"], [{"hostname": "lb.example"}])
        finally:
            w.close()
        # Optimistic concurrency, invalid values, unknown media type.
        resp, body = self.api("PATCH", path, {"metadata": {"resourceVersion": "1"},
                                              "status": {"loadBalancer": {}}},
                              "application/merge-patch+json")
        self.assertEqual(resp.status, 409)
        self.assertStatus(body, 409, "Conflict")
        resp, body = self.api("PATCH", path, {"status": {"loadBalancer": {"ingress": [{"ip": "bad"}]}}},
                              "application/merge-patch+json")
        self.assertEqual(resp.status, 422)
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["details"]["causes"][0]["field"], "status.loadBalancer.ingress[0].ip")
        resp, body = self.api("PATCH", path, {"status": {}}, "application/json")
        self.assertEqual(resp.status, 415)
        self.assertStatus(body, 415, "UnsupportedMediaType")
        resp, body = self.api("PATCH", "/api/v1/namespaces/default/services/nope/status",
                              {"status": {}}, "application/merge-patch+json")
        self.assertEqual(resp.status, 404)
        # Endpoints have no status subresource.
        resp, _ = self.api("PATCH", "/api/v1/namespaces/default/endpoints/ext-tcp-lb/status",
                           {}, "application/merge-patch+json")
        self.assertEqual(resp.status, 404)

    def test_put_status(self):
        path = "/api/v1/namespaces/default/services/ext-tcp-lb"
        obj = self.api("GET", path)[1]
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": "2001:db8::7", "ipMode": "Proxy"}]}}
        resp, body = self.api("PUT", path + "/status", obj)
        self.assertEqual(resp.status, 200)
        self.assertEqual(body["status"]["loadBalancer"]["ingress"][0],
                         {"ip": "2001:db8::7", "ipMode": "Proxy"})
        resp, body = self.api("PUT", path + "/status", obj)  # stale resourceVersion
        self.assertEqual(resp.status, 409)

    # ---- events -----------------------------------------------------------------

    def test_events_create_with_generate_name(self):
        rv = self.list_rv("/api/v1/events")
        w = Watch(self, f"/api/v1/events?watch=1&resourceVersion={rv}")
        nsw = Watch(self, f"/api/v1/namespaces/default/events?watch=1&resourceVersion={rv}")
        try:
            self.ctl("wait", {"watches": 2, "resource": "events"})
            path = "/api/v1/namespaces/default/events"
            resp, ev = self.api("POST", path, event_body())
            self.assertEqual(resp.status, 201)
            self.assertEqual((ev["kind"], ev["apiVersion"]), ("Event", "v1"))
            name = ev["metadata"]["name"]
            self.assertTrue(name.startswith("ext-tcp-lb."), name)
            self.assertEqual(len(name), len("ext-tcp-lb.") + 5)
            self.assertLessEqual(set(name[-5:]), GENERATED)
            self.assertEqual(ev["metadata"]["generateName"], "ext-tcp-lb.")
            self.assertEqual(ev["metadata"]["namespace"], "default")
            self.assertTrue(ev["metadata"]["uid"])
            self.assertTrue(ev["metadata"]["creationTimestamp"])
            self.assertGreater(int(ev["metadata"]["resourceVersion"]), int(rv))
            self.assertEqual((ev["reason"], ev["type"], ev["count"]), ("AllocationFailed", "Warning", 1))
            # Fields Go always encodes.
            self.assertIsNone(ev["eventTime"])
            self.assertEqual(ev["reportingInstance"], "")
            for x in (w, nsw):
                e = x.next()
                self.assertEqual((e["type"], e["object"]["kind"], e["object"]["metadata"]["name"]),
                                 ("ADDED", "Event", name))
            # A second POST gets another name.
            resp, ev2 = self.api("POST", path, event_body())
            self.assertEqual(resp.status, 201)
            self.assertNotEqual(ev2["metadata"]["name"], name)
            self.assertEqual(w.next()["object"]["metadata"]["name"], ev2["metadata"]["name"])
            # GET, LIST, field selectors.
            resp, got = self.api("GET", f"{path}/{name}")
            self.assertEqual((resp.status, got), (200, ev))
            resp, lst = self.api("GET", "/api/v1/events")
            self.assertEqual((lst["kind"], lst["apiVersion"]), ("EventList", "v1"))
            self.assertEqual(sorted(i["metadata"]["name"] for i in lst["items"]),
                             sorted([name, ev2["metadata"]["name"]]))
            self.assertNotIn("kind", lst["items"][0])
            q = urllib.parse.quote(f"involvedObject.name=ext-tcp-lb,involvedObject.kind=Service,"
                                   f"metadata.name={name},type=Warning,source=extlb-k8s")
            resp, lst = self.api("GET", f"/api/v1/events?fieldSelector={q}")
            self.assertEqual([i["metadata"]["name"] for i in lst["items"]], [name])
            resp, lst = self.api("GET", "/api/v1/namespaces/shop/events")
            self.assertEqual((resp.status, lst["items"]), (200, []))
            resp, body = self.api("GET", "/api/v1/services?fieldSelector=type%3DWarning")
            self.assertEqual(resp.status, 400)
            # PATCH bumps count and lastTimestamp (as client-go's recorder does).
            resp, body = self.api("PATCH", f"{path}/{name}",
                                  {"count": 2, "lastTimestamp": "2025-01-01T00:05:00Z"},
                                  "application/strategic-merge-patch+json")
            self.assertEqual(resp.status, 200)
            self.assertEqual((body["count"], body["lastTimestamp"]), (2, "2025-01-01T00:05:00Z"))
            self.assertEqual(body["metadata"]["uid"], ev["metadata"]["uid"])
            self.assertGreater(int(body["metadata"]["resourceVersion"]),
                               int(ev2["metadata"]["resourceVersion"]))
            e = w.next()
            self.assertEqual((e["type"], e["object"]["count"]), ("MODIFIED", 2))
            resp, body = self.api("PATCH", f"{path}/{name}", {"count": 3},
                                  "application/merge-patch+json")
            self.assertEqual(body["count"], 3)
            self.assertEqual(w.next()["type"], "MODIFIED")
            # PUT with a stale resourceVersion: 409. With the current one: 200.
            stale = dict(ev, message="stale")
            resp, body = self.api("PUT", f"{path}/{name}", stale)
            self.assertEqual(resp.status, 409)
            cur = self.api("GET", f"{path}/{name}")[1]
            resp, body = self.api("PUT", f"{path}/{name}", dict(cur, message="replaced"))
            self.assertEqual((resp.status, body["message"]), (200, "replaced"))
            self.assertEqual(w.next()["object"]["message"], "replaced")
            # DELETE.
            resp, body = self.api("DELETE", f"{path}/{name}")
            self.assertEqual((resp.status, body["status"]), (200, "Success"))
            self.assertEqual(body["details"], {"name": name, "kind": "events",
                                               "uid": ev["metadata"]["uid"]})
            e = w.next()
            self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("DELETED", name))
            resp, body = self.api("GET", f"{path}/{name}")
            self.assertEqual(resp.status, 404)
            self.assertEqual(body["message"], f'events "{name}" not found')
        finally:
            w.close()
            nsw.close()

    def test_events_errors(self):
        path = "/api/v1/namespaces/default/events"
        # The namespace in the body must match the URL's.
        resp, body = self.api("POST", "/api/v1/namespaces/shop/events", event_body())
        self.assertEqual(resp.status, 400)
        self.assertStatus(body, 400, "BadRequest")
        self.assertIn("does not match the namespace sent on the request", body["message"])
        # No involvedObject: 422 with a cause for the field.
        ev = event_body()
        del ev["involvedObject"]
        resp, body = self.api("POST", path, ev)
        self.assertEqual(resp.status, 422)
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["details"]["kind"], "Event")
        self.assertEqual([c["field"] for c in body["details"]["causes"]], ["involvedObject"])
        self.assertEqual(body["details"]["causes"][0]["reason"], "FieldValueRequired")
        # involvedObject.namespace must be the Event's.
        ev = event_body(namespace="shop")
        resp, body = self.api("POST", "/api/v1/namespaces/shop/events", ev)
        self.assertEqual(resp.status, 422)
        self.assertEqual(body["details"]["causes"][0]["field"], "involvedObject.namespace")
        # Neither name nor generateName.
        ev = event_body()
        del ev["metadata"]["generateName"]
        self.assertEqual(self.api("POST", path, ev)[0].status, 422)
        # A fixed name, twice: 409 AlreadyExists. No namespace in the body: the URL's.
        ev = event_body(name="fixed")
        del ev["metadata"]["namespace"]
        resp, body = self.api("POST", path, ev)
        self.assertEqual((resp.status, body["metadata"]["name"]), (201, "fixed"))
        self.assertNotIn("uid", ev["metadata"])
        resp, body = self.api("POST", path, ev)
        self.assertEqual(resp.status, 409)
        self.assertStatus(body, 409, "AlreadyExists")
        # POST on the all-namespaces path, and a status subresource that does not exist.
        self.assertEqual(self.api("POST", "/api/v1/events", event_body())[0].status, 405)
        resp, _ = self.api("PATCH", f"{path}/fixed/status", {}, "application/merge-patch+json")
        self.assertEqual(resp.status, 404)

    def test_events_bookmark_and_ctl(self):
        rv = self.list_rv("/api/v1/events")
        w = Watch(self, f"/api/v1/events?watch=1&resourceVersion={rv}&allowWatchBookmarks=true")
        try:
            self.ctl("wait", {"watches": 1})
            self.ctl("bookmark")
            self.assertEqual(w.next(), {"type": "BOOKMARK", "object": {
                "kind": "Event", "apiVersion": "v1",
                "metadata": {"resourceVersion": rv, "creationTimestamp": None},
                "involvedObject": {}, "source": {}, "firstTimestamp": None,
                "lastTimestamp": None, "eventTime": None, "reportingComponent": "",
                "reportingInstance": ""}})
        finally:
            w.close()
        resp, ev = self.api("POST", "/api/v1/namespaces/default/events", event_body())
        name = ev["metadata"]["name"]

        def cli(*args):
            return subprocess.run([sys.executable, SERVER, "ctl", self.dir, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        r = cli("objects", "events")
        self.assertEqual(r.returncode, 0, r.stderr)
        items = json.loads(r.stdout)["items"]
        self.assertEqual([(i["kind"], i["metadata"]["name"]) for i in items], [("Event", name)])
        for alias in ("events", "event", "ev", "Event"):
            r = cli("get", alias, "default", name)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["reason"], "AllocationFailed")
        # ctl create with generateName, and an EventList.
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"kind": "EventList", "apiVersion": "v1", "items": [event_body()]}, f)
        try:
            r = cli("create", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        made = json.loads(r.stdout)["items"][0]
        self.assertEqual(made["kind"], "Event")
        self.assertTrue(made["metadata"]["name"].startswith("ext-tcp-lb."))
        self.assertEqual(self.ctl("state")[1]["objects"]["events"], 2)
        r = cli("delete", "ev", "default", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(cli("get", "events", "default", name).returncode, 1)
        # The request log holds the POSTed body.
        reqs = self.ctl("requests")[1]["requests"]
        post = [r for r in reqs if r["method"] == "POST" and r["path"].endswith("/events")][-1]
        self.assertEqual(post["body"]["reason"], "AllocationFailed")

    # ---- fault injection ---------------------------------------------------------

    def test_fail_injection(self):
        self.ctl("fail", {"count": 2, "code": 500})
        for _ in range(2):
            resp, body = self.api("GET", "/api/v1/services")
            self.assertEqual(resp.status, 500)
            self.assertStatus(body, 500, "InternalError")
        self.assertEqual(self.api("GET", "/api/v1/services")[0].status, 200)
        # Restricted to watches, with another code.
        self.ctl("fail", {"code": 429, "watch": True})
        self.assertEqual(self.api("GET", "/api/v1/services")[0].status, 200)
        resp, body = self.api("GET", "/api/v1/services?watch=1")
        self.assertEqual(resp.status, 429)
        self.assertEqual(resp.getheader("Retry-After"), "1")
        self.assertStatus(body, 429, "TooManyRequests")

    def test_hang_injection(self):
        self.ctl("hang", {"count": 1, "path": "/api/v1/endpoints"})
        result = {}

        def hung():
            try:
                result["resp"] = self.api("GET", "/api/v1/endpoints", timeout=10)
            except Exception as e:  # the connection is dropped on release
                result["error"] = e

        t = threading.Thread(target=hung)
        t.start()
        self.ctl("wait", {"path": "/api/v1/endpoints"})
        time.sleep(0.3)
        self.assertTrue(t.is_alive())  # still hanging
        self.assertEqual(self.api("GET", "/api/v1/services")[0].status, 200)  # others are served
        self.ctl("release")
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertIn("error", result)
        self.assertEqual(self.api("GET", "/api/v1/endpoints")[0].status, 200)

    def test_request_log(self):
        self.ctl("clear-requests")
        self.api("GET", "/api/v1/services?limit=5")
        code, out = self.ctl("requests")
        r = out["requests"][-1]
        self.assertEqual((r["method"], r["path"], r["query"], r["status"]),
                         ("GET", "/api/v1/services", {"limit": "5"}, 200))

    def test_ctl_cli(self):
        def cli(*args):
            return subprocess.run([sys.executable, SERVER, "ctl", self.dir, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        r = cli("get", "services", "default", "ext-tcp-lb")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["metadata"]["name"], "ext-tcp-lb")
        r = cli("delete", "endpoints", "default", "ext-tcp-lb")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = cli("get", "endpoints", "default", "ext-tcp-lb")
        self.assertEqual(r.returncode, 1)
        r = cli("apply", os.path.join(FIXTURES, "endpoints-ext-tcp-lb.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["items"][0]["kind"], "Endpoints")
        r = cli("set", "watchTimeout=7")
        self.assertEqual(json.loads(r.stdout)["settings"]["watchTimeout"], 7)
        r = cli("objects", "endpointslices", "namespace=shop")
        self.assertEqual(len(json.loads(r.stdout)["items"]), 2)
        r = cli("state")
        self.assertEqual(r.returncode, 0)
        self.assertIn("resourceVersion", json.loads(r.stdout))


    # ---- what kubectl needs (kubectl_api.py) -----------------------------------------

    def test_discovery(self):
        resp, body = self.api("GET", "/api/v1")
        self.assertEqual(resp.status, 200)
        self.assertEqual((body["kind"], body["groupVersion"]), ("APIResourceList", "v1"))
        by_name = {r["name"]: r for r in body["resources"]}
        self.assertEqual(by_name["services"]["shortNames"], ["svc"])
        self.assertEqual(by_name["endpoints"]["shortNames"], ["ep"])
        self.assertEqual(by_name["events"]["shortNames"], ["ev"])
        self.assertEqual(by_name["services"]["kind"], "Service")
        self.assertTrue(by_name["services"]["namespaced"])
        self.assertIn("patch", by_name["services"]["verbs"])
        self.assertEqual(by_name["services/status"]["verbs"], ["get", "patch", "update"])
        resp, body = self.api("GET", "/apis/discovery.k8s.io/v1")
        self.assertEqual([r["kind"] for r in body["resources"]], ["EndpointSlice"])
        resp, body = self.api("GET", "/apis/apps/v1")
        self.assertStatus(body, 404, "NotFound")

    def table(self, path, accept="application/json;as=Table;v=v1;g=meta.k8s.io,"
                                 "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"):
        conn = self.https()
        conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}", "Accept": accept})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 200)
        return body

    def test_table_output(self):
        self.api("PATCH", "/api/v1/namespaces/default/services/ext-tcp-lb/status",
                 {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.100"}]}}},
                 "application/merge-patch+json")
        t = self.table("/api/v1/namespaces/default/services")
        self.assertEqual(t["kind"], "Table")
        self.assertEqual([c["name"] for c in t["columnDefinitions"]],
                         ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"])
        rows = {r["cells"][0]: r for r in t["rows"]}
        cells = rows["ext-tcp-lb"]["cells"]
        svc = self.api("GET", "/api/v1/namespaces/default/services/ext-tcp-lb")[1]
        np = svc["spec"]["ports"][0]["nodePort"]
        self.assertEqual(cells[1:5], ["LoadBalancer", svc["spec"]["clusterIP"], "192.0.2.100",
                                      f"8000:{np}/TCP"])
        self.assertEqual(rows["ext-tcp-lb"]["object"]["kind"], "PartialObjectMetadata")
        self.assertEqual(rows["ext-tcp-lb"]["object"]["metadata"]["uid"], svc["metadata"]["uid"])
        # one object by name; and a plain JSON Accept still gets the object
        t = self.table("/api/v1/namespaces/default/endpoints/ext-tcp-lb")
        self.assertEqual([c["name"] for c in t["columnDefinitions"]], ["Name", "Endpoints", "Age"])
        self.assertEqual(t["rows"][0]["cells"][:2], ["ext-tcp-lb", "192.0.2.10:80"])
        self.assertEqual(self.table("/api/v1/namespaces/default/endpoints/ext-tcp-lb",
                                    "application/json")["kind"], "Endpoints")
        self.api("POST", "/api/v1/namespaces/default/events", event_body())
        t = self.table("/api/v1/namespaces/default/events")
        self.assertEqual([c["name"] for c in t["columnDefinitions"] if c["priority"] == 0],
                         ["Last Seen", "Type", "Reason", "Object", "Message"])
        self.assertEqual(t["rows"][0]["cells"][1:4], ["Warning", "AllocationFailed",
                                                      "service/ext-tcp-lb"])

    def test_table_cells(self):
        kubectl_api = import_here("kubectl_api")
        self.assertEqual([kubectl_api.human_duration(s) for s in (-5, 0, 119, 150, 600, 7200,
                                                                   3 * 86400 + 3600)],
                         ["<invalid>", "0s", "119s", "2m30s", "10m", "120m", "3d1h"])
        ep = {"metadata": {"name": "e"}, "subsets": [
            {"addresses": [{"ip": f"192.0.2.{i}"} for i in (1, 2)],
             "ports": [{"port": 80}, {"port": 443}]}]}
        self.assertEqual(kubectl_api.table("endpoints", [ep], {})["rows"][0]["cells"][1],
                         "192.0.2.1:80,192.0.2.2:80,192.0.2.1:443 + 1 more...")
        ep["subsets"] = []
        self.assertEqual(kubectl_api.table("endpoints", [ep], {})["rows"][0]["cells"][1], "<none>")
        svc = {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1",
                                                   "ports": [{"port": 53, "protocol": "UDP",
                                                              "nodePort": 30053}]}}
        self.assertEqual(kubectl_api.table("services", [svc], {})["rows"][0]["cells"][3:5],
                         ["<pending>", "53:30053/UDP"])

    def test_apply_patch_service_ports(self):
        """kubectl apply's strategic merge PATCH of a Service: ports merge by
        port, "$patch": "delete" removes one, $setElementOrder orders them, the
        nodePort of a kept port stays."""
        path = "/api/v1/namespaces/default/services/ext-tcp-lb"
        svc = self.api("GET", path)[1]
        np = svc["spec"]["ports"][0]["nodePort"]
        resp, body = self.api("PATCH", path, {"spec": {
            "$setElementOrder/ports": [{"port": 9000}, {"port": 8000}],
            "ports": [{"port": 9000, "targetPort": 90}]}},
            "application/strategic-merge-patch+json")
        self.assertEqual(resp.status, 200)
        self.assertEqual([p["port"] for p in body["spec"]["ports"]], [9000, 8000])
        self.assertEqual(body["spec"]["ports"][1]["nodePort"], np)
        self.assertTrue(30000 <= body["spec"]["ports"][0]["nodePort"] <= 32767)
        self.assertNotEqual(body["spec"]["ports"][0]["nodePort"], np)
        resp, body = self.api("PATCH", path, {"spec": {"ports": [{"$patch": "delete", "port": 8000}]}},
                              "application/strategic-merge-patch+json")
        self.assertEqual([p["port"] for p in body["spec"]["ports"]], [9000])
        # Endpoints' subsets have no merge key: replaced whole
        resp, body = self.api("PATCH", "/api/v1/namespaces/default/endpoints/ext-tcp-lb",
                              {"subsets": [{"addresses": [{"ip": "192.0.2.11"}],
                                            "ports": [{"port": 80}]}]},
                              "application/strategic-merge-patch+json")
        self.assertEqual(body["subsets"], [{"addresses": [{"ip": "192.0.2.11"}],
                                            "ports": [{"port": 80, "protocol": "TCP"}]}])

    def test_invalid_objects_refused(self):
        rv = self.list_rv()
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={rv}")
        try:
            resp, body = self.api("POST", "/api/v1/namespaces/default/services", {
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
                "spec": {"type": "LoadBalancr", "ports": [{"port": 0}]}})
            self.assertEqual(resp.status, 422)
            self.assertStatus(body, 422, "Invalid")
            self.assertEqual(body["details"]["kind"], "Service")
            self.assertEqual([(c["field"], c["reason"]) for c in body["details"]["causes"]],
                             [("spec.type", "FieldValueNotSupported"),
                              ("spec.ports[0].port", "FieldValueInvalid"),
                              # defaulted to the port, as kube-apiserver does first
                              ("spec.ports[0].targetPort", "FieldValueInvalid")])
            self.assertTrue(body["message"].startswith('Service "bad" is invalid: [spec.type: '
                                                       'Unsupported value: "LoadBalancr"'))
            resp, body = self.api("POST", "/api/v1/namespaces/default/services", {
                "metadata": {"name": "bad"},
                "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}})
            self.assertEqual(body["details"]["causes"][0]["field"], "spec.ports[0].nodePort")
            resp, body = self.api("PATCH", "/api/v1/namespaces/default/services/ext-tcp-lb",
                                  {"spec": {"type": "Bogus"}}, "application/merge-patch+json")
            self.assertStatus(body, 422, "Invalid")
            resp, body = self.api("POST", "/api/v1/namespaces/default/endpoints", {
                "metadata": {"name": "bad"},
                "subsets": [{"addresses": [{"ip": "192.0.2.300"}], "ports": [{"port": 80}]}]})
            self.assertStatus(body, 422, "Invalid")
            self.assertEqual(body["details"]["causes"], [{
                "reason": "FieldValueInvalid", "field": "subsets[0].addresses[0].ip",
                "message": 'Invalid value: "192.0.2.300": must be a valid IP address, '
                           '(e.g. 10.9.8.7 or 2001:db8::ffff)'}])
            # nothing stored, no resourceVersion spent, nothing watched
            self.assertEqual(self.list_rv(), rv)
            self.assertEqual(self.api("GET", "/api/v1/namespaces/default/services/bad")[0].status, 404)
            self.assertEqual(self.api("GET", "/api/v1/namespaces/default/endpoints/bad")[0].status, 404)
            self.api("PATCH", "/api/v1/namespaces/default/services/ext-tcp-lb",
                     {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json")
            self.assertEqual(w.next()["object"]["metadata"]["labels"], {"a": "b"})
        finally:
            w.close()


class RestartTest(unittest.TestCase):
    """A server restarted on the same DIR and port keeps its certificates."""

    def test_restart_same_port_same_ca(self):
        d = tempfile.mkdtemp(prefix="k8s-double-")
        try:
            def start(port):
                p = subprocess.Popen([sys.executable, SERVER, "--dir", d, "--port", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                deadline = time.time() + 20
                while not os.path.exists(os.path.join(d, "ready")):
                    self.assertIsNone(p.poll())
                    self.assertLess(time.time(), deadline)
                    time.sleep(0.05)
                return p, int(read(os.path.join(d, "port")))

            p, port = start(0)
            ca = read(os.path.join(d, "ca.crt"))
            subprocess.run([sys.executable, SERVER, "ctl", d, "stop"], stdout=subprocess.DEVNULL)
            self.assertEqual(p.wait(10), 0)
            self.assertFalse(os.path.exists(os.path.join(d, "ready")))
            p, port2 = start(port)
            self.assertEqual(port2, port)
            self.assertEqual(read(os.path.join(d, "ca.crt")), ca)
            p.send_signal(15)
            self.assertEqual(p.wait(10), 0)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class StateFileTest(unittest.TestCase):
    """--state-file: a restart keeps the objects and the resourceVersion, as a
    kube-apiserver whose etcd survives; the watch history starts empty."""

    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="k8s-double-")
        self.sf = os.path.join(self.d, "state", "cluster.json")
        os.makedirs(os.path.dirname(self.sf))
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.d, ignore_errors=True)

    def start(self, port, *extra):
        try:
            os.unlink(os.path.join(self.d, "ready"))
        except FileNotFoundError:
            pass
        p = subprocess.Popen([sys.executable, SERVER, "--dir", self.d, "--port", str(port),
                              "--token", TOKEN, "--state-file", self.sf, *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(p)
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(self.d, "ready")):
            if p.poll() is not None:
                self.fail("server exited: " + p.stderr.read().decode())
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        self.port = int(read(os.path.join(self.d, "port")))
        self.cport = int(read(os.path.join(self.d, "control-port")))
        return p

    def stop(self, p, how="ctl"):
        if how == "ctl":
            self.ctl("stop")
        else:
            p.send_signal(how)
        self.assertEqual(p.wait(10), 0)
        p.stderr.close()

    def ctl(self, verb, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=30)
        method = "GET" if verb in ("state", "requests", "objects") else "POST"
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, "/" + verb, body=data,
                     headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        out = json.loads(resp.read() or b"null")
        conn.close()
        return resp.status, out

    https = ApiServerTest.https
    api = ApiServerTest.api
    list_rv = ApiServerTest.list_rv

    def items(self, path):
        resp, body = self.api("GET", path)
        self.assertEqual(resp.status, 200)
        return body["metadata"]["resourceVersion"], body["items"]

    def test_restart_keeps_state(self):
        # First run: no state file yet, so the seeds are loaded.
        p = self.start(0, "--seed", FIXTURES)
        port = self.port
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.d, "ca.crt"))
        old_kubeconfig = read(os.path.join(self.d, "kubeconfig-data"))
        old_rv = self.list_rv()
        resp, ev = self.api("POST", "/api/v1/namespaces/default/events", event_body())
        self.assertEqual(resp.status, 201)
        self.ctl("apply", {"kind": "Service", "metadata": {"name": "before-restart"},
                           "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
        resp, svc = self.api("PATCH", "/api/v1/namespaces/default/services/ext-tcp-lb/status",
                             fixture("patch-status-ext-tcp-lb.json"), "application/merge-patch+json")
        self.assertEqual(resp.status, 200)
        before = {path: self.items(path) for path in (
            "/api/v1/services", "/api/v1/endpoints", "/api/v1/events",
            "/apis/discovery.k8s.io/v1/endpointslices")}
        saved_rv = before["/api/v1/services"][0]
        self.assertGreater(int(saved_rv), int(old_rv))
        self.assertFalse(os.path.exists(self.sf))
        self.stop(p, "ctl")
        self.assertTrue(os.path.exists(self.sf))
        self.assertEqual(os.listdir(os.path.dirname(self.sf)), ["cluster.json"])  # no temp left

        # Second run, same DIR, port and state file. --seed is ignored: the
        # status written above is not reverted by the fixture.
        p = self.start(port, "--seed", FIXTURES)
        self.assertEqual(self.port, port)
        # The CA is reused: the old kubeconfig's CA still verifies the server.
        line = next(ln for ln in old_kubeconfig.splitlines() if "certificate-authority-data:" in ln)
        self.ctx = ssl.create_default_context(
            cadata=base64.b64decode(line.split(":", 1)[1].strip()).decode())
        for path, (rv, items) in before.items():
            self.assertEqual(self.items(path), (saved_rv, items), path)
        lb = next(s for s in before["/api/v1/services"][1] if s["metadata"]["name"] == "ext-tcp-lb")
        self.assertEqual(lb["status"]["loadBalancer"]["ingress"][0]["ip"], "203.0.113.7")
        st = self.ctl("state")[1]
        self.assertEqual((st["resourceVersion"], st["compactedResourceVersion"], st["historyLength"]),
                         (saved_rv, saved_rv, 0))
        self.assertEqual(st["stateFile"], self.sf)
        # A watch from before the restart gets 410 (in the stream, the default gone mode)...
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={old_rv}")
        try:
            e = w.next()
            self.assertEqual((e["type"], e["object"]["code"], e["object"]["reason"]),
                             ("ERROR", 410, "Expired"))
            self.assertEqual(e["object"]["message"],
                             f"too old resource version: {old_rv} ({saved_rv})")
            self.assertIsNone(w.next())
        finally:
            w.close()
        # ...or over HTTP with goneMode=http.
        self.ctl("set", {"goneMode": "http"})
        self.assertEqual(self.api("GET", f"/api/v1/services?watch=1&resourceVersion={old_rv}")[0].status,
                         410)
        self.ctl("set", {"goneMode": "stream"})
        # A watch from the saved RV gets only what is new; new RVs are higher.
        w = Watch(self, f"/api/v1/services?watch=1&resourceVersion={saved_rv}&timeoutSeconds=2")
        try:
            self.ctl("wait", {"watches": 1})
            resp, new = self.api("POST", "/api/v1/namespaces/default/services",
                                 {"metadata": {"name": "after-restart"},
                                  "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
            self.assertEqual(resp.status, 201)
            self.assertGreater(int(new["metadata"]["resourceVersion"]), int(saved_rv))
            # The allocators continue too: no clusterIP or nodePort is handed out twice.
            old_svcs = before["/api/v1/services"][1]
            self.assertNotIn(new["spec"]["clusterIP"], [s["spec"]["clusterIP"] for s in old_svcs])
            self.assertNotIn(new["spec"]["ports"][0]["nodePort"],
                             [q.get("nodePort") for s in old_svcs for q in s["spec"]["ports"]])
            e = w.next()
            self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "after-restart"))
            self.assertIsNone(w.next())
        finally:
            w.close()
        name = ev["metadata"]["name"]
        resp, bumped = self.api("PATCH", f"/api/v1/namespaces/default/events/{name}", {"count": 2},
                                "application/strategic-merge-patch+json")
        self.assertEqual((resp.status, bumped["count"]), (200, 2))
        self.assertEqual(bumped["metadata"]["uid"], ev["metadata"]["uid"])
        # ctl save writes the file now; a later write is lost on a crash.
        r = subprocess.run([sys.executable, SERVER, "ctl", self.d, "save"],
                           stdout=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0)
        out = json.loads(r.stdout)
        save_rv = bumped["metadata"]["resourceVersion"]
        self.assertEqual((out["file"], out["resourceVersion"]), (self.sf, save_rv))
        with open(self.sf) as f:
            self.assertEqual(json.load(f)["resourceVersion"], save_rv)
        self.ctl("apply", {"kind": "Service", "metadata": {"name": "lost"},
                           "spec": {"ports": [{"port": 81}]}})
        p.kill()
        p.wait()
        p.stderr.close()

        # Third run, after the crash: the state of the last save.
        p = self.start(port)
        rv, items = self.items("/api/v1/services")
        self.assertEqual(rv, save_rv)
        self.assertEqual([i["metadata"]["name"] for i in items],
                         ["after-restart", "before-restart", "ext-tcp-lb", "web"])
        self.assertEqual(self.api("GET", f"/api/v1/namespaces/default/events/{name}")[1]["count"], 2)
        # SIGTERM saves too.
        self.ctl("delete", {"kind": "Service", "namespace": "default", "name": "after-restart"})
        last_rv = self.list_rv()
        self.stop(p, 15)
        with open(self.sf) as f:
            data = json.load(f)
        self.assertEqual(data["resourceVersion"], last_rv)
        self.assertEqual(len(data["objects"]["services"]), 3)

    def test_writes_refused_after_final_save(self):
        # In process: after the save on shutdown, writes get 429 (none is lost).
        apiserver = import_here("apiserver")
        args = apiserver.argparse.Namespace(
            rv_start=1000, token=TOKEN, watch_timeout=30, watch_timeout_max=0,
            bookmark_interval=0, history=1000, gone_mode="stream", no_ipmode_default=False,
            state_file=self.sf)
        st = apiserver.State(args)
        st.put_object(fixture("service-ext-tcp-lb.json"))
        self.assertEqual(st.save(final=True)["resourceVersion"], "1001")
        with self.assertRaises(apiserver.ApiError) as cm:
            st.put_object(fixture("service-web.json"))
        self.assertEqual(cm.exception.status["code"], 429)
        self.assertEqual(cm.exception.headers, {"Retry-After": "1"})
        st2 = apiserver.State(args)
        self.assertEqual(st2.load(self.sf), 1001)
        self.assertEqual(list(st2.objects["services"]), [("default", "ext-tcp-lb")])

    def test_save_without_state_file(self):
        self.sf = ""
        p = subprocess.Popen([sys.executable, SERVER, "--dir", self.d, "--token", TOKEN],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(self.d, "ready")):
            self.assertIsNone(p.poll())
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        self.cport = int(read(os.path.join(self.d, "control-port")))
        code, out = self.ctl("save")
        self.assertEqual(code, 400)
        target = os.path.join(self.d, "elsewhere.json")
        code, out = self.ctl("save", {"file": target})
        self.assertEqual(code, 200)
        with open(target) as f:
            self.assertEqual(json.load(f)["kind"], "ApiServerDoubleState")
        self.ctl("stop")
        self.assertEqual(p.wait(10), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
