#!/usr/bin/env python3
"""Self-test of the Kubernetes API server double (apiserver.py).

Run:  python3 tests/k8s/test_apiserver.py
  or: python3 -m unittest discover -s tests/k8s -v
"""

import base64
import http.client
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
