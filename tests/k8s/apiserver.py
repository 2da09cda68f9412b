#!/usr/bin/env python3
"""A test double of the Kubernetes API server, for the extlb-k8s client's tests.

Serves core/v1 services, endpoints and events and discovery.k8s.io/v1
endpointslices over HTTPS on 127.0.0.1 with bearer-token authentication: LIST
(with limit and continue), GET, WATCH (chunked, one JSON event per line,
history replay, 410 Gone, bookmarks, server-side timeout), POST (with
generateName), PUT, PATCH, DELETE and PATCH/PUT of services/NAME/status.
A plain-HTTP control interface on another 127.0.0.1 port lets tests change
objects and inject faults. With --state-file the objects and the
resourceVersion survive a restart, as with a kube-apiserver whose etcd is kept.

    python3 apiserver.py --dir DIR [--port 0] [--token TOKEN] [--watch-timeout SECS]
                         [--state-file FILE]
    python3 apiserver.py ctl DIR VERB [FILE...|ARG...|key=value...]

Only the Python 3.11 standard library and the openssl command are used.
See README.md next to this file.
"""

import argparse
import base64
import collections
import copy
import datetime
import http.client
import http.server
import ipaddress
import json
import os
import queue
import random
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
import kubectl_api  # noqa: E402 (after the line above)

LOOPBACK = "127.0.0.1"
# kube-apiserver's default --service-node-port-range
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767
DEFAULT_TOKEN = "extlb-test-token"
CONTROL_TIMEOUT = 60
FAULT_HUGE_MB = 80  # fail-watch mode=huge: more than a client's 64 MiB cap
FAULT_DEEP = 200    # fail-list/fail-watch mode=deep: levels of nesting
FAULT_MAPS = 20000  # fail-watch mode=maps: empty JSON objects in one event
LIST_FAULT_MODES = ("big", "endless", "repeat", "deep", "types", "items", "nometa")
WATCH_FAULT_MODES = ("http", "stream", "garbage", "huge", "deep", "maps", "types")


# --------------------------------------------------------------------------
# Resource types
# --------------------------------------------------------------------------

class Resource:
    def __init__(self, plural, kind, group, version, aliases, has_status):
        self.plural = plural
        self.kind = kind
        self.group = group
        self.version = version
        self.api_version = f"{group}/{version}" if group else version
        self.list_kind = kind + "List"
        self.aliases = aliases
        self.has_status = has_status

    @property
    def qualified(self):
        """The name used in error messages: "services", "endpointslices.discovery.k8s.io"."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def bookmark_object(self, rv, annotations=None):
        """A BOOKMARK's object: the type's zero value with only the resourceVersion
        set, encoded the way the Go server encodes it (creationTimestamp null,
        struct fields without omitempty present)."""
        meta = {"resourceVersion": str(rv), "creationTimestamp": None}
        if annotations:
            meta["annotations"] = dict(annotations)
        obj = {"kind": self.kind, "apiVersion": self.api_version, "metadata": meta}
        if self.plural == "services":
            obj["spec"] = {}
            obj["status"] = {"loadBalancer": {}}
        elif self.plural == "endpointslices":
            obj["addressType"] = ""
            obj["endpoints"] = None
            obj["ports"] = None
        elif self.plural == "events":
            obj.update(EVENT_ZERO)
        return obj


# The fields of a core/v1 Event that encoding/json always writes (struct
# fields, metav1.Time as null, strings without omitempty), with their zero value.
EVENT_ZERO = {"involvedObject": {}, "source": {}, "firstTimestamp": None,
              "lastTimestamp": None, "eventTime": None, "reportingComponent": "",
              "reportingInstance": ""}


RESOURCES = {
    "services": Resource("services", "Service", "", "v1",
                         ("service", "svc", "Service"), True),
    "endpoints": Resource("endpoints", "Endpoints", "", "v1",
                          ("endpoint", "ep", "Endpoints"), False),
    "endpointslices": Resource("endpointslices", "EndpointSlice",
                               "discovery.k8s.io", "v1",
                               ("endpointslice", "EndpointSlice"), False),
    "events": Resource("events", "Event", "", "v1",
                       ("event", "ev", "Event"), False),
}


def resource_by_name(name):
    """Resolve a plural, singular, short name or kind to a Resource."""
    if name is None:
        return None
    for res in RESOURCES.values():
        if name == res.plural or name in res.aliases or name.lower() == res.kind.lower():
            return res
    return None


# --------------------------------------------------------------------------
# Status objects (metav1.Status) as the real server writes them
# --------------------------------------------------------------------------

REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 406: "NotAcceptable", 408: "Timeout",
    409: "Conflict", 410: "Expired", 413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


def status_obj(code, message, reason=None, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
          "status": "Failure", "message": message,
          "reason": reason if reason is not None else REASONS.get(code, "")}
    if details is not None:
        st["details"] = details
    st["code"] = code
    return st


def status_gone(requested, oldest):
    return status_obj(410, f"too old resource version: {requested} ({oldest})", "Expired")


def status_too_large(requested, current):
    return status_obj(
        504, f"Timeout: Too large resource version: {requested}, current: {current}",
        "Timeout",
        {"causes": [{"reason": "ResourceVersionTooLarge",
                     "message": "Too large resource version"}],
         "retryAfterSeconds": 1})


def status_not_found(res, name):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return status_obj(404, f'{res.qualified} "{name}" not found', "NotFound", d)


def status_conflict(res, name):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return status_obj(
        409, f'Operation cannot be fulfilled on {res.qualified} "{name}": the object '
             "has been modified; please apply your changes to the latest version and try again",
        "Conflict", d)


def status_invalid(res, name, causes):
    """causes: list of (field, message) or (field, message, reason); the
    reason defaults to FieldValueInvalid."""
    msgs = ", ".join(f"{c[0]}: {c[1]}" for c in causes)
    if len(causes) > 1:
        msgs = "[" + msgs + "]"
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.kind
    d["causes"] = [{"reason": c[2] if len(c) > 2 else "FieldValueInvalid",
                    "message": c[1], "field": c[0]} for c in causes]
    return status_obj(422, f'{res.kind} "{name}" is invalid: {msgs}', "Invalid", d)


CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue "
    "token in this response to retrieve the remainder of the results. Continuing with "
    "the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may "
    "show up in the list.")


def injected_status(code):
    """The Status for an injected failure with HTTP code `code`."""
    if code == 500:
        return status_obj(500, "Internal error occurred: injected failure", "InternalError",
                          {"causes": [{"message": "injected failure"}]})
    if code == 503:
        return status_obj(503, "the server is currently unable to handle the request",
                          "ServiceUnavailable")
    if code == 429:
        return status_obj(429, "too many requests, please try again later",
                          "TooManyRequests", {"retryAfterSeconds": 1})
    if code == 504:
        return status_obj(504, "Timeout: request did not complete within requested timeout "
                               "- context deadline exceeded", "Timeout")
    if code == 403:
        return status_obj(403, 'forbidden: User "system:serviceaccount:default:extlb" '
                               "cannot perform this request (injected)", "Forbidden", {})
    if code == 401:
        return status_obj(401, "Unauthorized", "Unauthorized")
    return status_obj(code, f"injected failure (HTTP {code})", REASONS.get(code, "Unknown"))


class ApiError(Exception):
    def __init__(self, status, headers=None):
        super().__init__(status.get("message"))
        self.status = status
        self.headers = headers


# --------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SET_REQ = re.compile(r"^(\S+)\s+(in|notin)\s+\((.*)\)$")


def _split_top(s):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_label_selector(s):
    """Parse a label selector into a list of (op, key, values). Raises ValueError."""
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        p = part.strip()
        if not p:
            continue
        m = _SET_REQ.match(p)
        if m:
            key, op = m.group(1), m.group(2)
            vals = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((op, key, vals))
        elif "!=" in p:
            key, val = p.split("!=", 1)
            reqs.append(("!=", key.strip(), {val.strip()}))
        elif "==" in p:
            key, val = p.split("==", 1)
            reqs.append(("=", key.strip(), {val.strip()}))
        elif "=" in p:
            key, val = p.split("=", 1)
            reqs.append(("=", key.strip(), {val.strip()}))
        elif p.startswith("!"):
            reqs.append(("!exists", p[1:].strip(), set()))
        else:
            reqs.append(("exists", p, set()))
        if not _LABEL_KEY.match(reqs[-1][1]):
            raise ValueError(f"unable to parse requirement: invalid label key \"{reqs[-1][1]}\"")
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for op, key, vals in reqs:
        have = key in labels
        val = labels.get(key)
        if op in ("=", "in"):
            if not have or val not in vals:
                return False
        elif op in ("!=", "notin"):
            if have and val in vals:
                return False
        elif op == "exists":
            if not have:
                return False
        elif op == "!exists":
            if have:
                return False
    return True


# Field selectors the server supports, per resource, beyond metadata.name and
# metadata.namespace (as registered by the core/v1 field label conversions),
# with the path of each field in the object.
_META_FIELDS = {"metadata.name": ("metadata", "name"),
                "metadata.namespace": ("metadata", "namespace")}
_EXTRA_FIELDS = {
    "events": {
        "involvedObject.kind": ("involvedObject", "kind"),
        "involvedObject.namespace": ("involvedObject", "namespace"),
        "involvedObject.name": ("involvedObject", "name"),
        "involvedObject.uid": ("involvedObject", "uid"),
        "involvedObject.apiVersion": ("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": ("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": ("involvedObject", "fieldPath"),
        "reason": ("reason",),
        "reportingComponent": ("reportingComponent",),
        "source": ("source", "component"),
        "type": ("type",),
    },
}


def _field_value(obj, key):
    path = _META_FIELDS.get(key)
    if path is None:
        path = next((f[key] for f in _EXTRA_FIELDS.values() if key in f), None)
    cur = obj
    for p in path or ():
        cur = cur.get(p) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    return cur if isinstance(cur, str) else str(cur)


def parse_field_selector(s, res=None):
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        p = part.strip()
        if not p:
            continue
        if "!=" in p:
            key, val, op = *p.split("!=", 1), "!="
        elif "==" in p:
            key, val, op = *p.split("==", 1), "="
        elif "=" in p:
            key, val, op = *p.split("=", 1), "="
        else:
            raise ValueError(f"invalid selector: '{s}'; can't understand '{p}'")
        key = key.strip()
        if key not in _META_FIELDS and key not in _EXTRA_FIELDS.get(
                res.plural if res is not None else None, {}):
            raise ValueError(f'field label not supported: {key}')
        reqs.append((op, key, val.strip()))
    return reqs


def fields_match(reqs, obj):
    for op, key, val in reqs:
        if (_field_value(obj, key) == val) != (op == "="):
            return False
    return True


# --------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# Lists merged by key under a strategic merge patch (the ones these types have),
# by their path from the object: status conditions by type, and a Service's
# spec.ports by port (patchStrategy "merge", patchMergeKey "port" in
# k8s.io/api/core/v1).  Endpoints' subsets have no patch strategy: replaced.
_SMP_MERGE_KEYS = {"status.conditions": "type", "spec.ports": "port"}


def _smp_key(field):
    if field is None:
        return None
    if field in _SMP_MERGE_KEYS:
        return _SMP_MERGE_KEYS[field]
    return "type" if field == "conditions" or field.endswith(".conditions") else None


def strategic_merge_patch(target, patch, field=None):
    """A small strategic merge patch: a merge patch, except that the lists
    which Kubernetes merges by key (conditions by type, Service ports by port)
    are merged element by element, "$patch": "delete"/"replace" are honoured,
    "$setElementOrder/LIST" orders a merged list and other "$" directives are
    ignored.  Every other list is replaced, as for atomic lists.  field is the
    dotted path of patch from the object ("spec.ports")."""
    key = _smp_key(field)
    if isinstance(patch, list) and key is not None and isinstance(target, list):
        out = [copy.deepcopy(e) for e in target]
        for elem in patch:
            if not isinstance(elem, dict) or key not in elem:
                continue
            idx = next((i for i, e in enumerate(out)
                        if isinstance(e, dict) and e.get(key) == elem[key]), None)
            if elem.get("$patch") == "delete":
                if idx is not None:
                    out.pop(idx)
                continue
            if idx is None:
                out.append(strategic_merge_patch({}, elem, field + "[]"))
            else:
                out[idx] = strategic_merge_patch(out[idx], elem, field + "[]")
        return out
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        else:
            merged = strategic_merge_patch(result.get(k), v, f"{field}.{k}" if field else k)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
    for k, order in patch.items():
        # the order the client's list has: the elements it names first, in its order
        name = k[len("$setElementOrder/"):]
        mkey = _smp_key(f"{field}.{name}" if field else name)
        if (k.startswith("$setElementOrder/") and mkey and isinstance(order, list)
                and isinstance(result.get(name), list)):
            want = [e.get(mkey) for e in order if isinstance(e, dict)]
            rank = {v: i for i, v in enumerate(want)}
            result[name] = sorted(result[name], key=lambda e: rank.get(
                e.get(mkey) if isinstance(e, dict) else None, len(want)))
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _resolve(doc, tokens):
    for t in tokens:
        if isinstance(doc, list):
            doc = doc[int(t)]
        else:
            doc = doc[t]
    return doc


def json_patch(doc, ops):
    """RFC 6902 JSON patch."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ValueError("a JSON patch must be an array of operations")
    for op in ops:
        kind = op.get("op")
        tokens = _pointer(op.get("path", ""))
        if kind in ("add", "replace", "test"):
            value = copy.deepcopy(op.get("value"))
        elif kind in ("move", "copy"):
            from_tokens = _pointer(op["from"])
            value = copy.deepcopy(_resolve(doc, from_tokens))
            if kind == "move":
                parent = _resolve(doc, from_tokens[:-1])
                if isinstance(parent, list):
                    parent.pop(int(from_tokens[-1]))
                else:
                    del parent[from_tokens[-1]]
            kind = "add"
        elif kind != "remove":
            raise ValueError(f"unexpected kind of JSON patch operation: {kind!r}")
        if kind == "test":
            if _resolve(doc, tokens) != value:
                raise ValueError(f"testing value {op.get('path')} failed")
            continue
        if not tokens:
            if kind == "remove":
                raise ValueError("cannot remove the whole document")
            doc = value
            continue
        parent = _resolve(doc, tokens[:-1])
        last = tokens[-1]
        if isinstance(parent, list):
            if kind == "add":
                idx = len(parent) if last == "-" else int(last)
                if idx > len(parent):
                    raise ValueError(f"index out of range in {op.get('path')}")
                parent.insert(idx, value)
            elif kind == "remove":
                parent.pop(int(last))
            else:
                parent[int(last)] = value
        else:
            if kind in ("remove", "replace") and last not in parent:
                raise ValueError(f"missing value at {op.get('path')}")
            if kind == "remove":
                del parent[last]
            else:
                parent[last] = value
    return doc


# --------------------------------------------------------------------------
# Defaulting and validation (the parts a client can observe)
# --------------------------------------------------------------------------

def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Names made from metadata.generateName: the prefix (cut to 58 characters)
# and 5 characters from the alphabet of k8s.io/apimachinery/pkg/util/rand.
GENERATE_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
GENERATE_NAME_MAX_PREFIX = 63 - 5


def generate_name(prefix):
    return prefix[:GENERATE_NAME_MAX_PREFIX] + "".join(
        random.choice(GENERATE_NAME_CHARS) for _ in range(5))


def typed(res, obj):
    """The object with kind and apiVersion first, as the server encodes it."""
    out = {"kind": res.kind, "apiVersion": res.api_version}
    out.update((k, v) for k, v in obj.items() if k not in ("kind", "apiVersion"))
    return out


def _check_object(res, name, obj):
    """Refuses (422 Invalid) an object kube-apiserver's validation refuses."""
    causes = kubectl_api.validate(res.plural, obj)
    if causes:
        raise ApiError(status_invalid(res, name, causes))


def _valid_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------
# The store: objects, a global resourceVersion, bounded event history
# --------------------------------------------------------------------------

class Watcher:
    """One open watch. Events reach it through its queue, in RV order."""

    def __init__(self, state, res, namespace, lsel, fsel, allow_bookmarks, params):
        self.state = state
        self.res = res
        self.namespace = namespace
        self.lsel = lsel
        self.fsel = fsel
        self.allow_bookmarks = allow_bookmarks
        self.params = params
        self.queue = queue.Queue()
        self.id = next(state.watch_ids)
        self.opened = time.time()
        self.sent = 0
        self.last_rv = None

    def matches(self, obj):
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return labels_match(self.lsel, meta.get("labels")) and fields_match(self.fsel, obj)

    def convert(self, ev):
        """Turn a store event into what this watcher sees, as the watch cache
        does: an object leaving the selector is DELETED, entering it ADDED."""
        if ev["res"] is not self.res:
            return None
        obj, prev = ev["obj"], ev["prev"]
        if ev["type"] == "DELETED":
            return ("DELETED", obj) if self.matches(obj) else None
        cur_pass = self.matches(obj)
        old_pass = self.matches(prev)
        if cur_pass and not old_pass:
            return ("ADDED", obj)
        if cur_pass and old_pass:
            return ("MODIFIED", obj)
        if old_pass:
            gone = copy.deepcopy(prev)
            gone["metadata"]["resourceVersion"] = str(ev["rv"])
            return ("DELETED", gone)
        return None

    def describe(self):
        return {"id": self.id, "resource": self.res.plural, "namespace": self.namespace,
                "params": self.params, "allowWatchBookmarks": self.allow_bookmarks,
                "opened": self.opened, "eventsSent": self.sent, "lastResourceVersion": self.last_rv}


class State:
    def __init__(self, args):
        self.cond = threading.Condition(threading.RLock())
        self.rv = args.rv_start
        self.objects = {name: {} for name in RESOURCES}
        self.history = collections.deque()
        self.compacted = args.rv_start  # events with rv <= compacted are gone
        self.watchers = set()
        self.watch_ids = iter(range(1, 1 << 62))
        self.snapshots = collections.OrderedDict()
        self.next_ip = 1
        self.next_node_port = 30000
        self.defaults = {
            "token": args.token,
            "watchTimeout": args.watch_timeout,
            "watchTimeoutMax": args.watch_timeout_max,
            "bookmarkInterval": args.bookmark_interval,
            "historySize": args.history,
            "goneMode": args.gone_mode,
            "tooLargeWait": 3.0,
            "ipModeDefault": not args.no_ipmode_default,
            "finalBookmark": True,
        }
        self.settings = dict(self.defaults)
        self.faults = []             # dicts: action fail/hang, count, code, method, path
        self.watch_faults = []       # dicts: mode http/stream, count
        self.list_faults = []        # dicts: mode, count, path, mb (fail-list)
        self.hostile_tokens = {}     # continue token -> the fail-list fault that gave it
        self.hang_release = threading.Event()
        self.requests = collections.deque(maxlen=5000)
        self.request_seq = 0
        self.stopping = threading.Event()
        self.on_token_change = None
        self.state_file = getattr(args, "state_file", None)
        self.read_only = False       # set by the final save on shutdown

    def _check_writable(self):
        """After the final save on shutdown, writes are refused (so none that
        was acknowledged is missing from the state file), as kube-apiserver
        refuses requests while it shuts down."""
        if self.read_only:
            raise ApiError(status_obj(429, "The apiserver is shutting down, please try again later.",
                                      "TooManyRequests", {"retryAfterSeconds": 1}),
                           {"Retry-After": "1"})

    # ---- helpers -------------------------------------------------------------

    def _bump(self):
        self.rv += 1
        return self.rv

    def _record(self, res, etype, obj, prev):
        ev = {"rv": int(obj["metadata"]["resourceVersion"]), "res": res,
              "type": etype, "obj": obj, "prev": prev}
        self.history.append(ev)
        while len(self.history) > max(0, int(self.settings["historySize"])):
            old = self.history.popleft()
            self.compacted = max(self.compacted, old["rv"])
        for w in list(self.watchers):
            w.queue.put(("event", ev))
        self.cond.notify_all()

    def _allocate_ip(self):
        n = self.next_ip
        self.next_ip += 1
        return f"10.43.{(n // 254) % 256}.{n % 254 + 1}"

    def _allocate_node_port(self):
        """The next nodePort no Service uses, in kube-apiserver's default
        --service-node-port-range 30000-32767 (it picks at random; here in
        order, wrapping around, so that tests can predict it)."""
        used = {p.get("nodePort") for o in self.objects["services"].values()
                for p in (o.get("spec") or {}).get("ports") or [] if isinstance(p, dict)}
        span = NODE_PORT_MAX - NODE_PORT_MIN + 1
        for i in range(span):
            port = NODE_PORT_MIN + (self.next_node_port - NODE_PORT_MIN + i) % span
            if port not in used:
                self.next_node_port = port + 1
                return port
        raise ApiError(status_obj(500, "Internal error occurred: failed to allocate a "
                                       "nodePort: range is full", "InternalError"))

    def _default(self, res, obj, old):
        """Server-side defaulting for what a client sees."""
        if res.plural == "services":
            spec = obj.setdefault("spec", {})
            ospec = (old or {}).get("spec", {})
            stype = spec.setdefault("type", "ClusterIP")
            for p in spec.get("ports") or []:
                p.setdefault("protocol", "TCP")
                if "targetPort" not in p and "port" in p:
                    p["targetPort"] = p["port"]
                if stype in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
                    old_np = next((q.get("nodePort") for q in ospec.get("ports") or []
                                   if q.get("port") == p.get("port")
                                   and q.get("protocol", "TCP") == p["protocol"]
                                   and q.get("nodePort")), None)
                    if old_np is None:
                        old_np = self._allocate_node_port()
                    p["nodePort"] = old_np
            if stype != "ExternalName":
                if "clusterIP" not in spec:
                    spec["clusterIP"] = ospec.get("clusterIP") or self._allocate_ip()
                if "clusterIPs" not in spec:
                    spec["clusterIPs"] = ospec.get("clusterIPs") or [spec["clusterIP"]]
                if spec["clusterIP"] != "None":
                    spec.setdefault("ipFamilies", ["IPv6" if ":" in spec["clusterIP"] else "IPv4"])
                    spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")
            spec.setdefault("sessionAffinity", "None")
            if stype in ("NodePort", "LoadBalancer"):
                spec.setdefault("externalTrafficPolicy", "Cluster")
            if stype == "LoadBalancer":
                spec.setdefault("allocateLoadBalancerNodePorts", True)
            st = obj.setdefault("status", {})
            st.setdefault("loadBalancer", {})
            self._default_lb_status(st)
        elif res.plural == "endpoints":
            for ss in obj.get("subsets") or []:
                for p in ss.get("ports") or []:
                    p.setdefault("protocol", "TCP")
        elif res.plural == "endpointslices":
            for p in obj.get("ports") or []:
                p.setdefault("protocol", "TCP")
            obj.setdefault("endpoints", None)
            obj.setdefault("ports", None)
        elif res.plural == "events":
            for k, v in EVENT_ZERO.items():
                if obj.get(k) is None:
                    obj[k] = copy.deepcopy(v)

    def _default_lb_status(self, status):
        if not self.settings["ipModeDefault"]:
            return
        for ing in (status.get("loadBalancer") or {}).get("ingress") or []:
            if isinstance(ing, dict) and ing.get("ip") and "ipMode" not in ing:
                ing["ipMode"] = "VIP"

    def _validate(self, res, name, obj):
        if res.plural == "events":
            self._validate_event(res, name, obj)
        else:
            self._validate_status(res, name, obj)

    @staticmethod
    def _validate_event(res, name, obj):
        """The legacy core/v1 Event validation, plus: involvedObject is required."""
        causes = []
        ns = obj["metadata"].get("namespace") or ""
        inv = obj.get("involvedObject")
        if not isinstance(inv, dict) or not inv:
            causes.append(("involvedObject", "Required value", "FieldValueRequired"))
        else:
            ins = inv.get("namespace") or ""
            mismatch = ("involvedObject.namespace",
                        f"Invalid value: {json.dumps(ins)}: does not match event.namespace")
            if not obj.get("eventTime"):
                if (ins == "" and ns not in ("", "default")) or (ins != "" and ins != ns):
                    causes.append(mismatch)
            else:
                if ins == "" and ns not in ("default", "kube-system"):
                    causes.append(mismatch)
                for f in ("reportingComponent", "reportingInstance", "action"):
                    if not obj.get(f):
                        causes.append((f, "Required value", "FieldValueRequired"))
        if causes:
            raise ApiError(status_invalid(res, name, causes))

    def _validate_status(self, res, name, obj):
        if res.plural != "services":
            return
        causes = []
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if ingress is not None and not isinstance(ingress, list):
            causes.append(("status.loadBalancer.ingress", "Invalid value: must be a list"))
            ingress = []
        for i, ing in enumerate(ingress or []):
            f = f"status.loadBalancer.ingress[{i}]"
            if not isinstance(ing, dict):
                causes.append((f, "Invalid value: must be an object"))
                continue
            ip = ing.get("ip")
            if ip is not None and (not isinstance(ip, str) or not _valid_ip(ip)):
                causes.append((f + ".ip", f'Invalid value: "{ip}": must be a valid IP address'))
            mode = ing.get("ipMode")
            if mode is not None:
                if mode not in ("VIP", "Proxy"):
                    causes.append((f + ".ipMode", f'Unsupported value: "{mode}": '
                                   'supported values: "Proxy", "VIP"'))
                elif not ip:
                    causes.append((f + ".ipMode", "Forbidden: may not be specified when `ip` is not set"))
            for j, p in enumerate(ing.get("ports") or []):
                port = p.get("port") if isinstance(p, dict) else None
                if not isinstance(port, int) or not 1 <= port <= 65535:
                    causes.append((f"{f}.ports[{j}].port",
                                   f"Invalid value: {port}: must be between 1 and 65535, inclusive"))
        if causes:
            raise ApiError(status_invalid(res, name, causes))

    # ---- mutations -------------------------------------------------------------

    def put_object(self, obj, mode="apply", res=None, check=False):
        """Create or replace an object. mode: create (fail if present), replace
        (fail if absent), apply (either). check: validate the object as
        kube-apiserver does what clients write (ctl leaves it unchecked, so that
        tests can load what no server would store). Returns (stored, created)."""
        if not isinstance(obj, dict):
            raise ApiError(status_obj(400, "object must be a JSON object"))
        res = res or resource_by_name(obj.get("kind"))
        if res is None:
            raise ApiError(status_obj(400, f"unknown or missing kind: {obj.get('kind')!r}"))
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(status_obj(400, "metadata must be a JSON object"))
        name = meta.get("name")
        gen = meta.get("generateName") if mode != "replace" else None
        if not name and not (gen and isinstance(gen, str)):
            raise ApiError(status_obj(422, f"{res.kind}.metadata.name: Required value: name is required",
                                      "Invalid"))
        ns = meta.get("namespace") or "default"
        meta["namespace"] = ns
        obj = typed(res, obj)
        meta = obj["metadata"]
        with self.cond:
            self._check_writable()
            if not name:
                # As the registry does on create: a new name from generateName.
                name = generate_name(gen)
                while (ns, name) in self.objects[res.plural]:
                    name = generate_name(gen)
                meta["name"] = name
            old = self.objects[res.plural].get((ns, name))
            if mode == "create" and old is not None:
                d = {"name": name}
                if res.group:
                    d["group"] = res.group
                d["kind"] = res.plural
                raise ApiError(status_obj(409, f'{res.qualified} "{name}" already exists',
                                          "AlreadyExists", d))
            if mode == "replace" and old is None:
                raise ApiError(status_not_found(res, name))
            self._default(res, obj, old)
            self._validate(res, name, obj)
            if check:
                _check_object(res, name, obj)
            if old is None:
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = _now()
            else:
                meta["uid"] = old["metadata"]["uid"]
                meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            meta.pop("deletionTimestamp", None)
            meta["resourceVersion"] = old["metadata"]["resourceVersion"] if old else "0"
            if old is not None and obj == old:
                return old, False
            meta["resourceVersion"] = str(self._bump())
            self.objects[res.plural][(ns, name)] = obj
            self._record(res, "MODIFIED" if old else "ADDED", obj, old)
            return obj, old is None

    def delete_object(self, res, ns, name):
        with self.cond:
            self._check_writable()
            old = self.objects[res.plural].pop((ns, name), None)
            if old is None:
                raise ApiError(status_not_found(res, name))
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self._bump())
            self._record(res, "DELETED", gone, old)
            return gone

    def update_object(self, res, ns, name, fn, subresource, check=False):
        """Apply fn(old) -> new under the lock, keeping spec or status according to
        the subresource as the real strategies do. A no-op update does not bump
        the resourceVersion nor emit an event."""
        with self.cond:
            self._check_writable()
            old = self.objects[res.plural].get((ns, name))
            if old is None:
                raise ApiError(status_not_found(res, name))
            new = fn(copy.deepcopy(old))
            if not isinstance(new, dict):
                raise ApiError(status_obj(400, "the patched object is not a JSON object"))
            want_rv = (new.get("metadata") or {}).get("resourceVersion")
            if want_rv not in (None, "") and want_rv != old["metadata"]["resourceVersion"]:
                raise ApiError(status_conflict(res, name))
            if subresource == "status":
                merged = copy.deepcopy(old)
                merged["status"] = new.get("status") if new.get("status") is not None else {}
                new = merged
            else:
                meta = new.get("metadata") or {}
                if meta.get("name", name) != name:
                    raise ApiError(status_obj(
                        400, f"the name of the object ({meta.get('name')}) does not match "
                             f"the name on the URL ({name})"))
                # metadata the server owns is kept; status is not changed by the main resource
                for k in ("uid", "creationTimestamp", "namespace", "name"):
                    meta[k] = old["metadata"][k]
                new["metadata"] = meta
                if res.has_status:
                    new["status"] = copy.deepcopy(old.get("status", {}))
            new = typed(res, new)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if subresource == "status":
                new.setdefault("status", {}).setdefault("loadBalancer", {})
                self._default_lb_status(new["status"])
            else:
                self._default(res, new, old)
                if check:
                    _check_object(res, name, new)
            self._validate(res, name, new)
            if new == old:
                return old
            new["metadata"]["resourceVersion"] = str(self._bump())
            self.objects[res.plural][(ns, name)] = new
            self._record(res, "MODIFIED", new, old)
            return new

    def reset(self):
        with self.cond:
            self.objects = {name: {} for name in RESOURCES}
            self.history.clear()
            self.compacted = self.rv
            self.snapshots.clear()
            self.faults.clear()
            self.watch_faults.clear()
            self.list_faults.clear()
            self.hostile_tokens.clear()
            self.requests.clear()
            token_changed = self.settings["token"] != self.defaults["token"]
            self.settings = dict(self.defaults)
            self.release_hangs()
            self.close_watches(abort=False)
        if token_changed and self.on_token_change:
            self.on_token_change(self.settings["token"])

    def compact(self, rv=None):
        with self.cond:
            target = self.rv if rv is None else min(int(rv), self.rv)
            while self.history and self.history[0]["rv"] <= target:
                self.history.popleft()
            self.compacted = max(self.compacted, target)
            for key in [k for k in self.snapshots if k[1] < self.compacted]:
                del self.snapshots[key]
            return self.compacted

    # ---- the state file (what etcd would keep over a restart) --------------------

    STATE_KIND = "ApiServerDoubleState"

    def dump(self):
        """What a restarted server needs: the objects, the resourceVersion and
        the allocators of cluster IPs and node ports. (uids are random UUIDs:
        nothing to keep for them.)"""
        with self.cond:
            return {"kind": self.STATE_KIND, "version": 1, "savedAt": _now(),
                    "resourceVersion": str(self.rv),
                    "nextClusterIP": self.next_ip, "nextNodePort": self.next_node_port,
                    "objects": {plural: sorted(objs.values(), key=self._key)
                                for plural, objs in self.objects.items()}}

    def save(self, path=None, final=False):
        """Write the state file atomically (a temporary file in the same
        directory, fsync, rename). final: refuse writes from now on."""
        path = path or self.state_file
        if not path:
            raise ValueError("no state file: start the server with --state-file FILE "
                             "or pass file=PATH")
        with self.cond:
            if final:
                self.read_only = True
            data = self.dump()
            write_durable(path, json.dumps(data, indent=1) + "\n")
            return {"ok": True, "file": os.path.abspath(path),
                    "resourceVersion": data["resourceVersion"],
                    "objects": {r: len(v) for r, v in data["objects"].items()}}

    def load(self, path):
        """Load a state file written by save(). The watch history starts empty
        and compacted at the saved RV, as in a restarted kube-apiserver whose
        watch cache starts from etcd's current revision."""
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict) or data.get("kind") != self.STATE_KIND:
            raise ValueError(f"{path}: not a state file of this server")
        if data.get("version") != 1:
            raise ValueError(f"{path}: unsupported state file version {data.get('version')!r}")
        rv = int(data["resourceVersion"])
        objects = {name: {} for name in RESOURCES}
        for plural, items in (data.get("objects") or {}).items():
            res = RESOURCES.get(plural)
            if res is None:
                raise ValueError(f"{path}: unknown resource {plural!r}")
            for obj in items:
                obj = typed(res, obj)
                meta = obj["metadata"]
                objects[plural][(meta["namespace"], meta["name"])] = obj
                rv = max(rv, int(meta["resourceVersion"]))
        with self.cond:
            self.objects = objects
            self.rv = rv
            self.compacted = rv
            self.history.clear()
            self.snapshots.clear()
            self.next_ip = int(data.get("nextClusterIP", self.next_ip))
            self.next_node_port = int(data.get("nextNodePort", self.next_node_port))
        return rv

    # ---- reads -----------------------------------------------------------------

    def get(self, res, ns, name):
        with self.cond:
            obj = self.objects[res.plural].get((ns, name))
            if obj is None:
                raise ApiError(status_not_found(res, name))
            return obj

    def list(self, res, ns, lsel, fsel, limit, cont):
        """Returns (list metadata, items). Items keep kind/apiVersion; the caller strips."""
        with self.cond:
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont + "=" * (-len(cont) % 4)))
                    rv, start = int(tok["rv"]), tok["start"]
                except (ValueError, KeyError, TypeError):
                    raise ApiError(status_obj(400, "continue key is not valid: illegal base64 "
                                                   "data or unknown format"))
                snap = self.snapshots.get((res.plural, rv))
                if snap is None or rv < self.compacted:
                    raise ApiError(status_obj(410, CONTINUE_TOO_OLD, "Expired"))
                self.snapshots.move_to_end((res.plural, rv))
                items = [o for o in snap if self._key(o) >= start]
            else:
                rv = self.rv
                items = sorted(self.objects[res.plural].values(), key=self._key)
                snap = items
            items = [o for o in items
                     if (ns is None or o["metadata"].get("namespace") == ns)
                     and labels_match(lsel, o["metadata"].get("labels"))
                     and fields_match(fsel, o)]
            meta = {"resourceVersion": str(rv)}
            if limit and len(items) > limit:
                page, rest = items[:limit], items[limit:]
                if not cont:
                    self.snapshots[(res.plural, rv)] = snap
                    while len(self.snapshots) > 32:
                        self.snapshots.popitem(last=False)
                tok = {"v": "meta.k8s.io/v1", "rv": rv, "start": self._key(page[-1]) + "\x00"}
                meta["continue"] = base64.b64encode(
                    json.dumps(tok, separators=(",", ":")).encode()).decode()
                if not lsel and not fsel:
                    meta["remainingItemCount"] = len(rest)
                items = page
            return meta, items

    @staticmethod
    def _key(obj):
        m = obj["metadata"]
        return f"{m.get('namespace', '')}/{m['name']}"

    def all_objects(self, res=None, ns=None):
        with self.cond:
            out = []
            for r in RESOURCES.values():
                if res is not None and r is not res:
                    continue
                out += [o for o in sorted(self.objects[r.plural].values(), key=self._key)
                        if ns is None or o["metadata"].get("namespace") == ns]
            return {"resourceVersion": str(self.rv), "items": out}

    # ---- watches ---------------------------------------------------------------

    def open_watch(self, res, ns, lsel, fsel, rv_param, allow_bm, send_initial, params):
        """Register a watcher and queue what it must replay. Raises ApiError for
        410/504, which the caller turns into HTTP or in-stream errors."""
        w = Watcher(self, res, ns, lsel, fsel, allow_bm, params)
        with self.cond:
            if rv_param in (None, "", "0"):
                start = None
            else:
                try:
                    start = int(rv_param)
                    if start < 0:
                        raise ValueError
                except ValueError:
                    raise ApiError(status_obj(400, f'invalid resource version: "{rv_param}"',
                                              "BadRequest"))
                if start < self.compacted:
                    raise ApiError(status_gone(start, self.compacted))
                if start > self.rv:
                    self.cond.wait_for(lambda: self.rv >= start or self.stopping.is_set(),
                                       timeout=float(self.settings["tooLargeWait"]))
                    if self.rv < start:
                        raise ApiError(status_too_large(start, self.rv))
                    if start < self.compacted:
                        raise ApiError(status_gone(start, self.compacted))
            if send_initial is None:
                send_initial = start is None
            if send_initial:
                for obj in sorted(self.objects[res.plural].values(), key=self._key):
                    if w.matches(obj):
                        w.queue.put(("direct", "ADDED", obj))
                if allow_bm and params.get("sendInitialEvents") is not None:
                    w.queue.put(("bookmark", self.rv, {"k8s.io/initial-events-end": "true"}))
            if start is not None and not send_initial:
                for ev in self.history:
                    if ev["rv"] > start:
                        w.queue.put(("event", ev))
            self.watchers.add(w)
            self.cond.notify_all()
        return w

    def close_watcher(self, w):
        with self.cond:
            self.watchers.discard(w)
            self.cond.notify_all()

    def bookmark(self, w=None):
        """Queue a bookmark at the current RV (after anything already queued)."""
        with self.cond:
            targets = [w] if w is not None else [x for x in self.watchers if x.allow_bookmarks]
            for x in targets:
                x.queue.put(("bookmark", self.rv, None))
            return len(targets)

    def close_watches(self, abort=False):
        with self.cond:
            n = len(self.watchers)
            for w in self.watchers:
                w.queue.put(("close", abort))
            return n

    def expire_watches(self):
        with self.cond:
            n = 0
            for w in self.watchers:
                w.queue.put(("error", status_gone(w.last_rv or self.compacted, self.compacted)))
                n += 1
            return n

    def take_watch_fault(self):
        with self.cond:
            for f in self.watch_faults:
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.watch_faults.remove(f)
                    return f
            return None

    def take_list_fault(self, path, cont):
        """The fail-list fault for a LIST of path: a continue token it gave
        keeps it (without counting), a fresh LIST takes one of its count."""
        with self.cond:
            if cont and cont in self.hostile_tokens:
                return self.hostile_tokens[cont]
            for f in self.list_faults:
                if f.get("path") and f["path"] != path:
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.list_faults.remove(f)
                f = dict(f, pages=0)
                return f
            return None

    def hostile_token(self, fault, same):
        """A continue token for the next page of a fail-list LIST."""
        with self.cond:
            if not same:
                fault["pages"] += 1
            tok = "hostile-%d-%d" % (id(fault), 0 if same else fault["pages"])
            self.hostile_tokens[tok] = fault
            while len(self.hostile_tokens) > 4096:
                self.hostile_tokens.pop(next(iter(self.hostile_tokens)))
            return tok

    # ---- faults / request log --------------------------------------------------

    def take_fault(self, method, path, is_watch):
        with self.cond:
            for f in self.faults:
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("path") and f["path"] not in path:
                    continue
                if f.get("watch") is not None and f["watch"] != is_watch:
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
            return None

    def release_hangs(self):
        ev = self.hang_release
        self.hang_release = threading.Event()
        ev.set()

    def log_request(self, entry):
        with self.cond:
            self.request_seq += 1
            entry["seq"] = self.request_seq
            self.requests.append(entry)
            self.cond.notify_all()
            return entry

    def snapshot_state(self):
        with self.cond:
            return {
                "resourceVersion": str(self.rv),
                "compactedResourceVersion": str(self.compacted),
                "historyLength": len(self.history),
                "objects": {r: len(v) for r, v in self.objects.items()},
                "watches": [w.describe() for w in sorted(self.watchers, key=lambda w: w.id)],
                "settings": dict(self.settings),
                "faults": [dict(f) for f in self.faults],
                "watchFaults": [dict(f) for f in self.watch_faults],
                "listFaults": [dict(f) for f in self.list_faults],
                "requests": self.request_seq,
                "stateFile": os.path.abspath(self.state_file) if self.state_file else None,
            }


# --------------------------------------------------------------------------
# The API server (HTTPS)
# --------------------------------------------------------------------------

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}
FLOWSCHEMA_UID = str(uuid.uuid4())
PRIORITYLEVEL_UID = str(uuid.uuid4())
ENDPOINTS_WARNING = '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"'


def _bool_param(q, name):
    v = q.get(name)
    if v is None:
        return None
    if v in _TRUE:
        return True
    if v in _FALSE or v == "":
        return False
    raise ApiError(status_obj(400, f'invalid boolean value for {name}: "{v}"'))


def _json(obj):
    return json.dumps(obj, separators=(",", ":"))


def strip_type(obj):
    o = dict(obj)
    o.pop("kind", None)
    o.pop("apiVersion", None)
    return o


def deep_value(depth):
    """JSON text nested depth levels deep (built as text: Python's json would
    hit its recursion limit first)."""
    return '{"a":' * (depth - 1) + "[]" + "}" * (depth - 1)


def wrong_type_items(res):
    """Objects of res's LIST with wrong types where extlb-k8s reads them, each
    to be skipped with one log line: not an object, metadata of the wrong type
    or missing, an array where a string belongs, and fields of the kind."""
    md = {"namespace": "hostile", "name": "wrong-types"}
    out = ["a string item", {"metadata": "not an object"}, {"spec": {}},
           {"metadata": {"namespace": "hostile", "name": ["an", "array"]}}]
    if res.plural == "services":
        out += [dict(metadata=dict(md, name="spec-string"), spec="LoadBalancer"),
                dict(metadata=dict(md, name="port-range"),
                     spec={"type": "LoadBalancer", "ports": [{"port": 70000}]}),
                dict(metadata=dict(md, name="port-huge"),
                     spec={"type": "LoadBalancer",
                           "ports": [{"port": 123456789012345678901234567890}]}),
                dict(metadata=dict(md, name="ports-object"),
                     spec={"type": "LoadBalancer", "ports": {"port": 80}})]
    elif res.plural == "endpoints":
        out += [dict(metadata=dict(md, name="subsets-object"), subsets={"addresses": []}),
                dict(metadata=dict(md, name="ip-number"),
                     subsets=[{"addresses": [{"ip": 3221225985}], "ports": [{"port": 80}]}]),
                dict(metadata=dict(md, name="port-range"),
                     subsets=[{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": -1}]}])]
    else:
        out += [dict(metadata=dict(md, name="endpoints-string"), addressType="IPv4",
                     endpoints="192.0.2.1"),
                dict(metadata=dict(md, name="type-number"), addressType=4, endpoints=[]),
                dict(metadata=dict(md, name="ready-string"), addressType="IPv4",
                     ports=[{"port": 80}],
                     endpoints=[{"addresses": ["192.0.2.1"], "conditions": {"ready": "yes"}}])]
    return out


def hostile_events(res, mode):
    """The watch events of fail-watch mode deep, maps or types, as text."""
    md = '{"namespace":"hostile","name":"%s"}'
    if mode == "deep":
        return ['{"type":"ADDED","object":{"metadata":%s,"spec":%s}}'
                % (md % "deep", deep_value(FAULT_DEEP))]
    if mode == "maps":
        return ['{"type":"ADDED","object":{"metadata":%s,"x":[%s]}}'
                % (md % "maps", ",".join(["{}"] * FAULT_MAPS))]
    return ['{"type":"ADDED","object":"not an object"}'] + [
        _json({"type": "MODIFIED", "object": o})
        for o in wrong_type_items(res) if isinstance(o, dict)]


def filler_items(n, size):
    """n Endpoints objects in namespace hostile, of about size bytes each, with
    addresses shaped as the endpoints controller writes them."""
    per = max(1, size // 120)
    out = []
    for i in range(n):
        addrs = [{"ip": "10.%d.%d.%d" % (i % 250, j // 250 % 250, j % 250 + 1),
                  "nodeName": "node-%d" % (j % 100),
                  "targetRef": {"kind": "Pod", "namespace": "hostile",
                                "name": "filler-%d-%d" % (i, j)}} for j in range(per)]
        out.append({"metadata": {"namespace": "hostile", "name": "filler-%05d" % i,
                                 "resourceVersion": "1"},
                    "subsets": [{"addresses": addrs, "ports": [{"port": 8080}]}]})
    return out


def hostile_list(state, res, ns, fault, cont, limit):
    """The text of a LIST page as a fail-list fault makes it (see README)."""
    mode = fault["mode"]
    if cont:  # a page after the first: no more objects
        meta, items = {"resourceVersion": str(state.rv)}, []
    else:
        meta, items = state.list(res, ns, [], [], 0, None)
    body = {"kind": res.list_kind, "apiVersion": res.api_version,
            "metadata": dict(meta), "items": [strip_type(o) for o in items]}
    extra = None
    if mode in ("endless", "repeat"):
        body["metadata"]["continue"] = state.hostile_token(fault, mode == "repeat")
    elif mode == "deep":
        extra = ('{"metadata":{"namespace":"hostile","name":"deep"},"spec":%s}'
                 % deep_value(int(fault.get("depth", FAULT_DEEP))))
    elif mode == "types":
        body["items"] += wrong_type_items(res)
    elif mode == "items":
        body["items"] = {"kind": "not an array"}
    elif mode == "nometa":
        del body["metadata"]
    elif mode == "big":
        target = int(float(fault.get("mb", 30)) * (1 << 20))
        room = max(1, (limit or 500) - len(body["items"]))
        base = len(_json(body))
        body["items"] += filler_items(room, max(0, target - base) // room)
    text = _json(body)
    if extra is not None:
        text = text[:text.rindex("]")] + ("," if body["items"] else "") + extra + "]}"
    return text


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-double"
    timeout = 300  # an idle keep-alive connection is dropped after this

    # ---- plumbing --------------------------------------------------------------

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("apiserver: %s - %s\n" % (self.address_string(), fmt % args))

    def send_response(self, code, message=None):
        # As kube-apiserver: no Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _common_headers(self):
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", FLOWSCHEMA_UID)
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", PRIORITYLEVEL_UID)
        if getattr(self, "_warning", None):
            self.send_header("Warning", self._warning)

    def send_json(self, code, obj, extra=None):
        self.send_raw_json(code, (_json(obj) + "\n").encode(), extra)

    def send_raw_json(self, code, body, extra=None):
        self.send_response(code)
        self._common_headers()
        self.send_header("Content-Type", "application/json")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._entry["status"] = code

    def send_text(self, code, text):
        body = text.encode()
        self.send_response(code)
        self._common_headers()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._entry["status"] = code

    def send_status(self, st, extra=None):
        self.send_json(st["code"], st, extra)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(1024)
        n = int(self.headers.get("Content-Length") or 0)
        if n > 3 * 1024 * 1024:
            raise ApiError(status_obj(413, "request entity too large", "RequestEntityTooLarge"))
        return self.rfile.read(n) if n else b""

    def read_json(self):
        raw = self._raw
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ApiError(status_obj(400, f"the body of the request could not be decoded: {e}"))

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # ---- request entry -----------------------------------------------------------

    def dispatch(self):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        self.q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        self.url_path = url.path
        self._warning = None
        self._entry = {"status": None}
        try:
            # Read any body first so that an early answer leaves the keep-alive
            # connection in sync.
            self._raw = self.read_body()
        except ApiError as e:
            self.close_connection = True
            self.send_status(e.status)
            return
        except (ValueError, OSError):
            self.close_connection = True
            return
        self._entry = state.log_request({
            "time": time.time(), "method": self.command, "path": url.path, "query": self.q,
            "contentType": self.headers.get("Content-Type"),
            "userAgent": self.headers.get("User-Agent"),
            "accept": self.headers.get("Accept"), "status": None, "body": None})
        try:
            if not self.authorized():
                self.send_status(status_obj(401, "Unauthorized", "Unauthorized"))
                return
            is_watch = (self.q.get("watch") in _TRUE or
                        url.path.startswith(("/api/v1/watch/", "/apis/discovery.k8s.io/v1/watch/")))
            fault = state.take_fault(self.command, self.path, is_watch)
            if fault is not None:
                self._entry["fault"] = fault["action"]
                if fault["action"] == "hang":
                    self.hang(fault)
                    return
                code = int(fault.get("code", 500))
                extra = {"Retry-After": "1"} if code in (429, 503) else None
                self.send_status(injected_status(code), extra)
                return
            self.route()
        except ApiError as e:
            self.send_status(e.status, e.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True
        except Exception as e:  # keep serving: a bug here must not kill the server
            sys.stderr.write(f"apiserver: internal error on {self.command} {self.path}: {e!r}\n")
            try:
                self.send_status(status_obj(500, f"Internal error occurred: {e}", "InternalError"))
            except OSError:
                self.close_connection = True

    def authorized(self):
        auth = self.headers.get("Authorization")
        token = self.server.state.settings["token"]
        if auth is None:
            # Anonymous requests may read the public endpoints, as with RBAC defaults.
            return self.url_path in ("/healthz", "/livez", "/readyz", "/version")
        scheme, _, cred = auth.partition(" ")
        return scheme.lower() == "bearer" and cred.strip() == token

    def hang(self, fault):
        """Hold the request without answering until released, stopped, or the
        fault's seconds run out; then drop the connection."""
        state = self.server.state
        ev = state.hang_release
        secs = fault.get("seconds")
        deadline = None if secs is None else time.monotonic() + float(secs)
        while not ev.is_set() and not state.stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            ev.wait(0.2)
        self._entry["status"] = "dropped"
        self.close_connection = True
        self.abort = True

    # ---- routing -----------------------------------------------------------------

    def route(self):
        path = self.url_path
        if path in ("/healthz", "/livez", "/readyz"):
            self.send_text(200, "ok")
            return
        if path == "/version":
            self.send_json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0",
                                 "gitCommit": "0" * 40, "gitTreeState": "clean",
                                 "buildDate": "2025-04-23T00:00:00Z", "goVersion": "go1.24.2",
                                 "compiler": "gc", "platform": "linux/amd64"})
            return
        if path in ("/apis", "/apis/"):
            gv = {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": "discovery.k8s.io", "versions": [gv], "preferredVersion": gv}]})
            return
        if path in ("/api", "/api/"):
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                 "serverAddressByClientCIDRs": [
                                     {"clientCIDR": "0.0.0.0/0",
                                      "serverAddress": f"{LOOPBACK}:{self.server.server_address[1]}"}]})
            return
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif parts[:3] == ["apis", "discovery.k8s.io", "v1"]:
            group, rest = "discovery.k8s.io", parts[3:]
        else:
            raise ApiError(status_obj(404, "the server could not find the requested resource",
                                      "NotFound", {}))
        if not rest:
            # the group-version's resources, as kubectl discovers them
            self.send_json(200, kubectl_api.resource_list(
                f"{group}/v1" if group else "v1"))
            return
        legacy_watch = False
        if rest and rest[0] == "watch":
            legacy_watch, rest = True, rest[1:]
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        res = RESOURCES.get(rest[0]) if rest else None
        if res is None or res.group != group or len(rest) > 3:
            raise ApiError(status_obj(404, "the server could not find the requested resource",
                                      "NotFound", {}))
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and not (sub == "status" and res.has_status):
            raise ApiError(status_obj(404, "the server could not find the requested resource",
                                      "NotFound", {}))
        if name is not None and ns is None:
            raise ApiError(status_obj(404, "the server could not find the requested resource",
                                      "NotFound", {}))
        if res.plural == "endpoints":
            self._warning = ENDPOINTS_WARNING
        m = self.command
        watch = legacy_watch or _bool_param(self.q, "watch")
        if name is None:
            if m in ("GET", "HEAD"):
                if watch:
                    self.do_watch(res, ns, None)
                else:
                    self.do_list(res, ns)
            elif m == "POST" and ns is not None:
                self.do_create(res, ns)
            else:
                self.method_not_allowed()
        else:
            if m in ("GET", "HEAD"):
                if watch:
                    self.do_watch(res, ns, name)
                elif self.as_table(res):
                    obj = self.server.state.get(res, ns, name)
                    self.send_json(200, kubectl_api.table(
                        res.plural, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                        self.q.get("includeObject") or "PartialObjectMetadata"))
                else:
                    self.send_json(200, self.server.state.get(res, ns, name))
            elif m == "PATCH":
                self.do_patch(res, ns, name, sub)
            elif m == "PUT":
                self.do_put(res, ns, name, sub)
            elif m == "DELETE" and sub is None:
                gone = self.server.state.delete_object(res, ns, name)
                details = {"name": name}
                if res.group:
                    details["group"] = res.group
                details["kind"] = res.plural
                details["uid"] = gone["metadata"]["uid"]
                self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                     "status": "Success", "details": details})
            else:
                self.method_not_allowed()

    def as_table(self, res):
        """kubectl get asks for a Table (Accept: application/json;as=Table;
        v=v1;g=meta.k8s.io, ...): the server's columns for the type."""
        return kubectl_api.wants_table(self.headers.get("Accept")) and res.plural in kubectl_api.CELLS

    def method_not_allowed(self):
        self.send_status(status_obj(405, "the server does not allow this method on the "
                                         "requested resource", "MethodNotAllowed", {}))

    # ---- verbs -------------------------------------------------------------------

    def _selectors(self, res=None):
        try:
            lsel = parse_label_selector(self.q.get("labelSelector", ""))
            fsel = parse_field_selector(self.q.get("fieldSelector", ""), res)
        except ValueError as e:
            raise ApiError(status_obj(400, str(e)))
        return lsel, fsel

    def do_list(self, res, ns):
        lsel, fsel = self._selectors(res)
        try:
            limit = int(self.q.get("limit") or 0)
        except ValueError:
            raise ApiError(status_obj(400, f"invalid limit: {self.q.get('limit')}"))
        fault = self.server.state.take_list_fault(self.url_path, self.q.get("continue"))
        if fault is not None:
            self._entry["fault"] = "list-" + fault["mode"]
            text = hostile_list(self.server.state, res, ns, fault,
                                self.q.get("continue"), max(0, limit))
            self.send_raw_json(200, text.encode())
            return
        meta, items = self.server.state.list(res, ns, lsel, fsel, max(0, limit),
                                             self.q.get("continue") or None)
        if self.as_table(res):
            self.send_json(200, kubectl_api.table(
                res.plural, items, meta, self.q.get("includeObject") or "PartialObjectMetadata"))
            return
        self.send_json(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                             "metadata": meta, "items": [strip_type(o) for o in items]})

    def do_create(self, res, ns):
        obj = self.read_json()
        if not isinstance(obj, dict):
            raise ApiError(status_obj(400, "the body must be a JSON object"))
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(status_obj(400, "metadata must be a JSON object"))
        if (meta.get("namespace") or ns) != ns:
            raise ApiError(status_obj(400, "the namespace of the provided object does not match "
                                           "the namespace sent on the request"))
        meta["namespace"] = ns
        self._entry["body"] = obj
        stored, _ = self.server.state.put_object(obj, "create", res, check=True)
        self.send_json(201, stored)

    def do_put(self, res, ns, name, sub):
        body = self.read_json()
        if not isinstance(body, dict):
            raise ApiError(status_obj(400, "the body must be a JSON object"))
        meta = body.get("metadata") or {}
        if meta.get("name", name) != name:
            raise ApiError(status_obj(400, f"the name of the object ({meta.get('name')}) does "
                                           f"not match the name on the URL ({name})"))
        if meta.get("namespace", ns) != ns:
            raise ApiError(status_obj(400, "the namespace of the provided object does not match "
                                           "the namespace sent on the request"))
        self._entry["body"] = body
        stored = self.server.state.update_object(res, ns, name, lambda old: body, sub,
                                                 check=True)
        self.send_json(200, stored)

    def do_patch(self, res, ns, name, sub):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self.read_json()
        self._entry["body"] = body
        if ctype == "application/merge-patch+json":
            fn = lambda old: merge_patch(old, body)  # noqa: E731
        elif ctype == "application/strategic-merge-patch+json":
            fn = lambda old: strategic_merge_patch(old, body)  # noqa: E731
        elif ctype == "application/json-patch+json":
            def fn(old):
                try:
                    return json_patch(old, body)
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    raise ApiError(status_obj(422, f"the server rejected our request due to an "
                                                   f"error in our request: {e}", "Invalid"))
        else:
            raise ApiError(status_obj(
                415, "the body of the request was in an unknown format - accepted media types "
                     "include: application/json-patch+json, application/merge-patch+json, "
                     "application/apply-patch+yaml", "UnsupportedMediaType"))
        if ctype != "application/json-patch+json" and not isinstance(body, dict):
            raise ApiError(status_obj(400, "the patch must be a JSON object"))
        stored = self.server.state.update_object(res, ns, name, fn, sub, check=True)
        self.send_json(200, stored)

    # ---- watch -------------------------------------------------------------------

    def _peer_gone(self):
        """True when the client has closed the connection (as the Go server
        notices through the request context), without waiting for a write to fail."""
        sock = self.connection
        try:
            if sock.pending() == 0 and not select.select([sock], [], [], 0)[0]:
                return False
            sock.settimeout(0.05)
            try:
                data = sock.recv(1)
            finally:
                sock.settimeout(self.timeout)
            if data:
                self.close_connection = True  # a client must not send during a watch
            return data == b""
        except (ssl.SSLWantReadError, socket.timeout):
            return False
        except (OSError, ValueError):
            return True

    def _write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _start_stream(self):
        self.send_response(200)
        self._common_headers()
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._entry["status"] = 200

    def do_watch(self, res, ns, name):
        state = self.server.state
        lsel, fsel = self._selectors(res)
        if name is not None:
            fsel = fsel + [("=", "metadata.name", name)]
        allow_bm = bool(_bool_param(self.q, "allowWatchBookmarks"))
        send_initial = _bool_param(self.q, "sendInitialEvents")
        try:
            tmo = self.q.get("timeoutSeconds")
            timeout = float(tmo) if tmo not in (None, "") else 0.0
            if timeout <= 0:  # unset or 0: the server's own choice
                timeout = float(state.settings["watchTimeout"])
                top = float(state.settings["watchTimeoutMax"])
                if top > timeout:  # kube-apiserver: random in [min-request-timeout, 2x]
                    timeout = random.uniform(timeout, top)
        except ValueError:
            raise ApiError(status_obj(400, f"invalid timeoutSeconds: {self.q.get('timeoutSeconds')}"))
        rv_param = self.q.get("resourceVersion")
        self._entry["watch"] = True
        mode = state.settings["goneMode"]

        forced = state.take_watch_fault()
        if forced is not None:
            st = status_gone(rv_param or 0, state.compacted)
            self._entry["fault"] = "watch-" + forced["mode"]
            if forced["mode"] == "http":
                self.send_status(st)
            elif forced["mode"] == "garbage":
                # a broken proxy or server: half an event, then bytes that are not JSON
                self._start_stream()
                self._write_chunk(b'{"type":"ADDED","object":{"metadata":')
                self._write_chunk(b'\x00\xffnot json at all]]\n')
                self._write_chunk(b"")
            elif forced["mode"] in ("deep", "maps", "types"):
                # a hostile server: an event nested too deep, one of too many
                # objects, or events with the wrong types; then the end
                self._start_stream()
                for line in hostile_events(res, forced["mode"]):
                    self._write_chunk(line.encode() + b"\n")
                self._write_chunk(b"")
            elif forced["mode"] == "huge":
                # one event far larger than any Kubernetes object (etcd caps them
                # at 1.5 MiB): FAULT_HUGE_MB MiB of annotation, streamed in chunks
                self._start_stream()
                self._write_chunk(b'{"type":"MODIFIED","object":{"kind":"Service",'
                                  b'"metadata":{"name":"huge","namespace":"default",'
                                  b'"annotations":{"x":"')
                block = b"x" * (1 << 20)
                try:
                    for _ in range(FAULT_HUGE_MB):
                        self._write_chunk(block)
                    self._write_chunk(b'"}},"spec":{}}}\n')
                    self._write_chunk(b"")
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    self.close_connection = True
            else:
                self._start_stream()
                self._write_chunk((_json({"type": "ERROR", "object": st}) + "\n").encode())
                self._write_chunk(b"")
            return
        try:
            w = state.open_watch(res, ns, lsel, fsel, rv_param, allow_bm, send_initial, dict(self.q))
        except ApiError as e:
            if e.status["code"] in (410, 504) and mode == "stream":
                self._start_stream()
                self._write_chunk((_json({"type": "ERROR", "object": e.status}) + "\n").encode())
                self._write_chunk(b"")
                return
            raise
        try:
            self._start_stream()
            self._stream(w, timeout)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True
        finally:
            state.close_watcher(w)

    def _stream(self, w, timeout):
        state = self.server.state
        now = time.monotonic()
        deadline = now + max(0.0, timeout)
        interval = float(state.settings["bookmarkInterval"])
        next_bm = now + interval if (w.allow_bookmarks and interval > 0) else None
        final_bm = (deadline - 1.0) if (w.allow_bookmarks and timeout > 2
                                        and state.settings["finalBookmark"]) else None
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            wake = min(deadline, now + 0.5)  # look for a vanished peer twice a second
            if next_bm is not None:
                wake = min(wake, next_bm)
            if final_bm is not None:
                wake = min(wake, final_bm)
            try:
                item = w.queue.get(timeout=max(0.0, wake - now))
            except queue.Empty:
                if self._peer_gone():
                    self.close_connection = True
                    return
                now = time.monotonic()
                if final_bm is not None and now >= final_bm:
                    final_bm = None
                    state.bookmark(w)
                elif next_bm is not None and now >= next_bm:
                    next_bm = now + float(state.settings["bookmarkInterval"])
                    state.bookmark(w)
                continue
            kind = item[0]
            if kind == "close":
                if item[1]:
                    self.abort = True
                    self.close_connection = True
                    return
                break
            if kind == "error":
                self._write_chunk((_json({"type": "ERROR", "object": item[1]}) + "\n").encode())
                break
            if kind == "bookmark":
                if not w.allow_bookmarks and item[2] is None:
                    continue
                etype, obj = "BOOKMARK", w.res.bookmark_object(item[1], item[2])
            elif kind == "direct":
                etype, obj = item[1], item[2]
            else:
                conv = w.convert(item[1])
                if conv is None:
                    continue
                etype, obj = conv
            line = (_json({"type": etype, "object": obj}) + "\n").encode()
            self._write_chunk(line)
            w.sent += 1
            w.last_rv = obj["metadata"].get("resourceVersion")
        self._write_chunk(b"")


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, state, ssl_ctx, verbose):
        self.state = state
        self.ssl_ctx = ssl_ctx
        self.verbose = verbose
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # client that never completes it cannot stall the accept loop.
        request.settimeout(10)
        # small answers go out at once, as from kube-apiserver (Go sets
        # TCP_NODELAY on every connection); without it each waits ~40 ms
        # for the client's delayed ACK
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write(f"apiserver: TLS handshake with {client_address} failed: {e}\n")
            return
        tls.settimeout(None)
        handler = None
        try:
            handler = self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                if handler is not None and getattr(handler, "abort", False):
                    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    tls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tls.close()

    def shutdown_request(self, request):
        try:
            request.close()
        except OSError:
            pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------
# The control interface (plain HTTP on 127.0.0.1)
# --------------------------------------------------------------------------

def _items_of(body):
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and (body.get("kind") == "List" or
                                   (body.get("kind") or "").endswith("List")) and "items" in body:
        kind = body.get("kind", "")[:-4] if body.get("kind") != "List" else None
        items = []
        for it in body["items"]:
            if kind and "kind" not in it:
                it = dict(it, kind=kind)
            items.append(it)
        return items
    return [body]


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("control: %s\n" % (fmt % args))

    def reply(self, code, obj):
        body = (json.dumps(obj, indent=1) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw.strip():
            return {}
        return json.loads(raw)

    def do_GET(self):
        self.handle_verb("GET")

    def do_POST(self):
        self.handle_verb("POST")

    def handle_verb(self, method):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        verb = parts[0] if parts else ""
        try:
            body = self.body() if method == "POST" else {}
            if isinstance(body, dict):
                args = dict(q, **body)
            else:
                args = dict(q)
            code, out = self.run(st, verb, parts[1:], args, body)
        except ApiError as e:
            code, out = e.status["code"], e.status
        except (ValueError, KeyError, TypeError) as e:
            code, out = 400, {"error": f"{type(e).__name__}: {e}"}
        self.reply(code, out)

    def run(self, st, verb, rest, a, body):
        if verb == "healthz":
            return 200, {"ok": True}
        if verb in ("objects", "get"):
            if verb == "get" or len(rest) == 3:
                res = resource_by_name(rest[0] if rest else a.get("resource") or a.get("kind"))
                ns = rest[1] if len(rest) == 3 else a.get("namespace", "default")
                name = rest[2] if len(rest) == 3 else a.get("name")
                if res is None or not name:
                    return 400, {"error": "need resource, namespace and name"}
                return 200, st.get(res, ns, name)
            res_name = rest[0] if rest else a.get("resource") or a.get("kind")
            res = resource_by_name(res_name) if res_name else None
            if res_name and res is None:
                return 400, {"error": f"unknown resource {res_name!r}"}
            return 200, st.all_objects(res, a.get("namespace"))
        if verb in ("apply", "create", "replace"):
            out = [st.put_object(o, verb)[0] for o in _items_of(body)]
            return 200, {"resourceVersion": str(st.rv), "items": out}
        if verb == "delete":
            targets = _items_of(body) if body else [{}]
            out = []
            for t in targets:
                res = resource_by_name(t.get("resource") or t.get("kind") or a.get("resource"))
                meta = t.get("metadata") or {}
                ns = meta.get("namespace") or t.get("namespace") or a.get("namespace") or "default"
                name = meta.get("name") or t.get("name") or a.get("name")
                if res is None or not name:
                    return 400, {"error": "delete needs kind/resource and name"}
                out.append(st.delete_object(res, ns, name))
            return 200, {"resourceVersion": str(st.rv), "items": out}
        if verb == "compact":
            rv = a.get("resourceVersion", a.get("rv"))
            return 200, {"compactedResourceVersion": str(st.compact(rv))}
        if verb == "fail-list":
            mode = a.get("mode")
            if mode not in LIST_FAULT_MODES:
                return 400, {"error": "mode must be one of " + ", ".join(LIST_FAULT_MODES)}
            f = {"mode": mode, "count": int(a.get("count", 1))}
            for k in ("path", "mb", "depth"):
                if a.get(k) is not None:
                    f[k] = a[k]
            with st.cond:
                st.list_faults.append(f)
            return 200, {"ok": True, "fault": f}
        if verb == "fail-watch":
            mode = a.get("mode", "stream")
            if mode not in WATCH_FAULT_MODES:
                return 400, {"error": "mode must be one of " + ", ".join(WATCH_FAULT_MODES)}
            with st.cond:
                st.watch_faults.append({"mode": mode, "count": int(a.get("count", 1))})
            return 200, {"ok": True}
        if verb == "expire-watches":
            return 200, {"watches": st.expire_watches()}
        if verb == "bookmark":
            return 200, {"watches": st.bookmark(), "resourceVersion": str(st.rv)}
        if verb == "close-watches":
            abort = a.get("abort") in (True, "1", "true", 1)
            return 200, {"watches": st.close_watches(abort)}
        if verb in ("fail", "hang"):
            f = {"action": verb, "count": int(a.get("count", 1))}
            if verb == "fail":
                f["code"] = int(a.get("code", 500))
            if a.get("seconds") is not None:
                f["seconds"] = float(a["seconds"])
            for k in ("method", "path"):
                if a.get(k):
                    f[k] = str(a[k])
            if a.get("watch") is not None:
                f["watch"] = a["watch"] in (True, "1", "true", 1)
            with st.cond:
                st.faults.append(f)
            return 200, {"ok": True, "fault": f}
        if verb == "release":
            st.release_hangs()
            return 200, {"ok": True}
        if verb == "clear-faults":
            with st.cond:
                st.faults.clear()
                st.watch_faults.clear()
                st.list_faults.clear()
            st.release_hangs()
            return 200, {"ok": True}
        if verb == "set":
            changed = {}
            with st.cond:
                for k, v in a.items():
                    if k not in st.settings:
                        return 400, {"error": f"unknown setting {k!r}",
                                     "settings": sorted(st.settings)}
                    cur = st.settings[k]
                    if isinstance(cur, str):
                        v = str(v)
                    elif isinstance(cur, bool):
                        v = v in (True, 1, "1", "true", "True")
                    elif isinstance(cur, (int, float)) and not isinstance(v, (int, float)):
                        v = float(v) if "." in str(v) else int(v)
                    if k == "goneMode" and v not in ("http", "stream"):
                        return 400, {"error": "goneMode must be http or stream"}
                    st.settings[k] = v
                    changed[k] = v
                if "historySize" in changed:
                    while len(st.history) > int(st.settings["historySize"]):
                        st.compacted = max(st.compacted, st.history.popleft()["rv"])
            if "token" in changed and st.on_token_change:
                st.on_token_change(changed["token"])
            return 200, {"settings": dict(st.settings)}
        if verb == "state":
            return 200, st.snapshot_state()
        if verb == "requests":
            since = int(a.get("since", 0))
            with st.cond:
                return 200, {"requests": [r for r in st.requests if r["seq"] > since]}
        if verb == "clear-requests":
            with st.cond:
                st.requests.clear()
            return 200, {"ok": True}
        if verb == "wait":
            return self.wait(st, a)
        if verb == "reset":
            st.reset()
            return 200, {"resourceVersion": str(st.rv)}
        if verb == "save":
            try:
                return 200, st.save(a.get("file"))
            except OSError as e:
                return 500, {"error": f"cannot write the state file: {e}"}
        if verb == "stop":
            threading.Thread(target=self.server.stop_all, daemon=True).start()
            return 200, {"ok": True}
        return 404, {"error": f"unknown control verb {verb!r}"}

    def wait(self, st, a):
        """Block until at least `watches` watches are open (optionally of one
        resource), or until `count` logged requests match method/path/watch."""
        timeout = float(a.get("timeout", 10))
        res = resource_by_name(a.get("resource")) if a.get("resource") else None

        def cond():
            if a.get("watches") is not None or a.get("maxWatches") is not None:
                n = sum(1 for w in st.watchers if res is None or w.res is res)
                if a.get("maxWatches") is not None:
                    return n <= int(a["maxWatches"])
                return n >= int(a["watches"])
            n = 0
            for r in st.requests:
                if a.get("since") is not None and r["seq"] <= int(a["since"]):
                    continue
                if a.get("method") and r["method"] != str(a["method"]).upper():
                    continue
                if a.get("path") and str(a["path"]) not in r["path"]:
                    continue
                if a.get("watch") is not None and bool(r.get("watch")) != (a["watch"] in (True, 1, "1", "true")):
                    continue
                if a.get("status") is not None and str(r.get("status")) != str(a["status"]):
                    continue
                n += 1
            return n >= int(a.get("count", 1))

        with st.cond:
            ok = st.cond.wait_for(cond, timeout=timeout)
        return (200 if ok else 408), {"ok": bool(ok)}


class ControlServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, stop_all, verbose):
        self.state = state
        self.stop_all = stop_all
        self.verbose = verbose
        super().__init__(addr, ControlHandler)


# --------------------------------------------------------------------------
# Certificates and files in DIR
# --------------------------------------------------------------------------

def _run_openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"apiserver: openssl {' '.join(args)} failed:\n{r.stderr}")


def make_certs(d):
    """CA and server certificate (127.0.0.1, ::1, localhost and the in-cluster
    names). Existing ones are kept so that a restarted server stays trusted."""
    names = ("ca.crt", "ca.key", "server.crt", "server.key")
    if all(os.path.exists(os.path.join(d, n)) for n in names):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run_openssl(["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
                  "-subj", "/CN=extlb-test-ca", "-sha256",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    _run_openssl(["req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
                  "-subj", "/CN=kube-apiserver"], d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,"
                "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                "DNS:kubernetes.default.svc.cluster.local\n")
    serial = "0x" + os.urandom(8).hex()
    _run_openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-set_serial", serial, "-days", "825", "-sha256", "-extfile", "server.ext",
                  "-out", "server.crt"], d)
    for n in ("server.csr", "server.ext"):
        os.unlink(os.path.join(d, n))
    os.chmod(os.path.join(d, "ca.key"), 0o600)
    os.chmod(os.path.join(d, "server.key"), 0o600)


def write_durable(path, text):
    """Write path atomically and durably: a temporary file in the same
    directory, fsync, rename over path, fsync of the directory."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_atomic(path, text, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _yq(s):
    """A YAML scalar: JSON strings are valid YAML double-quoted scalars."""
    return json.dumps(s)


def kubeconfig(server, ca_line, user_line):
    return ("apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: extlb-test\n"
            "  cluster:\n"
            f"    server: {_yq(server)}\n"
            f"    {ca_line}\n"
            "contexts:\n"
            "- name: extlb-test\n"
            "  context:\n"
            "    cluster: extlb-test\n"
            "    user: extlb-test\n"
            "    namespace: default\n"
            "current-context: extlb-test\n"
            "users:\n"
            "- name: extlb-test\n"
            "  user:\n"
            f"    {user_line}\n"
            "preferences: {}\n")


def write_client_files(d, port, token):
    ca = os.path.join(d, "ca.crt")
    server = f"https://{LOOPBACK}:{port}"
    with open(ca, "rb") as f:
        ca_data = base64.b64encode(f.read()).decode()
    write_atomic(os.path.join(d, "token"), token, 0o600)
    sa = os.path.join(d, "serviceaccount")
    os.makedirs(sa, exist_ok=True)
    write_atomic(os.path.join(sa, "token"), token, 0o600)
    with open(ca) as f:
        write_atomic(os.path.join(sa, "ca.crt"), f.read())
    write_atomic(os.path.join(sa, "namespace"), "default")
    write_atomic(os.path.join(d, "kubeconfig"),
                 kubeconfig(server, f"certificate-authority: {_yq(ca)}", f"token: {_yq(token)}"), 0o600)
    write_atomic(os.path.join(d, "kubeconfig-data"),
                 kubeconfig(server, f"certificate-authority-data: {ca_data}",
                            f"token: {_yq(token)}"), 0o600)
    write_atomic(os.path.join(d, "kubeconfig-tokenfile"),
                 kubeconfig(server, f"certificate-authority: {_yq(ca)}",
                            f"tokenFile: {_yq(os.path.join(d, 'token'))}"), 0o600)
    write_atomic(os.path.join(d, "env"),
                 f"KUBERNETES_SERVICE_HOST={LOOPBACK}\nKUBERNETES_SERVICE_PORT={port}\n")


def load_seeds(state, paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p) if n.endswith(".json"))
        else:
            files.append(p)
    for fn in files:
        with open(fn) as f:
            for obj in _items_of(json.load(f)):
                if resource_by_name(obj.get("kind")) is None:
                    continue  # Status examples, patch bodies
                state.put_object(obj, "apply")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def serve(argv):
    ap = argparse.ArgumentParser(prog="apiserver.py", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="directory for certificates, kubeconfig, port files")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--control-port", type=int, default=0, help="control HTTP port (0: pick)")
    ap.add_argument("--token", default=DEFAULT_TOKEN, help="accepted bearer token")
    ap.add_argument("--watch-timeout", type=float, default=30.0,
                    help="server-side watch timeout when the client sends no timeoutSeconds")
    ap.add_argument("--watch-timeout-max", type=float, default=0.0,
                    help="if above --watch-timeout, the timeout is random in [--watch-timeout, this]")
    ap.add_argument("--bookmark-interval", type=float, default=10.0,
                    help="seconds between periodic BOOKMARKs (0: none)")
    ap.add_argument("--history", type=int, default=1000, help="events kept for watch replay")
    ap.add_argument("--gone-mode", choices=("stream", "http"), default="stream",
                    help="how a too-old watch resourceVersion is refused")
    ap.add_argument("--rv-start", type=int, default=1000, help="initial resourceVersion")
    ap.add_argument("--no-ipmode-default", action="store_true",
                    help="do not default status.loadBalancer.ingress[].ipMode to VIP")
    ap.add_argument("--seed", action="append", default=[],
                    help="JSON file (object or List) or directory of them, loaded at start "
                         "(not when the state file was loaded)")
    ap.add_argument("--state-file", metavar="FILE",
                    help="keep the objects and the resourceVersion over restarts: loaded at "
                         "start if it exists, written on stop and by 'ctl DIR save'")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)

    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    for n in ("ready", "port", "control-port"):
        try:
            os.unlink(os.path.join(d, n))
        except FileNotFoundError:
            pass
    make_certs(d)

    if args.state_file:
        args.state_file = os.path.abspath(args.state_file)
    state = State(args)
    if args.state_file and os.path.exists(args.state_file):
        try:
            rv = state.load(args.state_file)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"apiserver: cannot load the state file {args.state_file}: {e}")
        if args.verbose:
            sys.stderr.write(f"apiserver: loaded {args.state_file} at resourceVersion {rv}"
                             + (", --seed ignored\n" if args.seed else "\n"))
    else:
        load_seeds(state, args.seed)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    ctx.set_alpn_protocols(["http/1.1"])
    api = TLSServer((LOOPBACK, args.port), ApiHandler, state, ctx, args.verbose)
    port = api.server_address[1]

    stop_evt = threading.Event()

    def stop_all():
        if stop_evt.is_set():
            return
        state.stopping.set()
        state.release_hangs()
        state.close_watches(abort=False)
        with state.cond:
            state.cond.notify_all()
        stop_evt.set()

    ctl = ControlServer((LOOPBACK, args.control_port), state, stop_all, args.verbose)

    state.on_token_change = lambda tok: write_client_files(d, port, tok)
    write_client_files(d, port, args.token)
    write_atomic(os.path.join(d, "pid"), f"{os.getpid()}\n")
    write_atomic(os.path.join(d, "port"), f"{port}\n")
    write_atomic(os.path.join(d, "control-port"), f"{ctl.server_address[1]}\n")

    for srv in (api, ctl):
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *a: stop_all())
    signal.signal(signal.SIGINT, lambda *a: stop_all())
    write_atomic(os.path.join(d, "ready"), f"https://{LOOPBACK}:{port}\n")
    if args.verbose:
        sys.stderr.write(f"apiserver: serving https://{LOOPBACK}:{port}, control "
                         f"http://{LOOPBACK}:{ctl.server_address[1]}\n")
    while not stop_evt.wait(0.5):
        pass
    time.sleep(0.2)  # let streams write their last chunk
    rc = 0
    if args.state_file:
        try:
            state.save(final=True)
        except OSError as e:
            sys.stderr.write(f"apiserver: cannot write the state file {args.state_file}: {e}\n")
            rc = 1
    try:
        os.unlink(os.path.join(d, "ready"))
    except FileNotFoundError:
        pass
    api.shutdown()
    ctl.shutdown()
    api.server_close()
    ctl.server_close()
    return rc


# --------------------------------------------------------------------------
# ctl: the command-line client of the control interface
# --------------------------------------------------------------------------

CTL_USAGE = """usage: apiserver.py ctl DIR VERB [ARGS]

  state | requests [since=N] | objects [RESOURCE] [namespace=NS]
  get RESOURCE NAMESPACE NAME
  apply|create|replace FILE...    (JSON object, List, or array; '-' = stdin)
  delete FILE... | delete RESOURCE NAMESPACE NAME
  compact [resourceVersion=N]     fail-watch [mode=stream|http|garbage|huge|deep|maps|types] [count=N]
  fail-list mode=big|endless|repeat|deep|types|items|nometa [count=N] [path=PATH] [mb=N] [depth=N]
  expire-watches | bookmark | close-watches [abort=true]
  fail [count=N] [code=500] [method=M] [path=SUBSTR] [watch=true|false]
  hang [count=N] [seconds=S] [method=M] [path=SUBSTR] | release | clear-faults
  set KEY=VALUE...   (token, watchTimeout, watchTimeoutMax, bookmarkInterval,
                      historySize, goneMode, tooLargeWait, ipModeDefault, finalBookmark)
  wait watches=N|maxWatches=N [resource=R] [timeout=S]
  wait [method=M] [path=SUBSTR] [watch=B] [status=CODE] [count=N] [since=SEQ] [timeout=S]
  save [file=PATH]                (write the --state-file now, or PATH)
  reset | clear-requests | stop | healthz

RESOURCE: services (svc), endpoints (ep), endpointslices, events (ev)
"""

GET_VERBS = {"state", "requests", "objects", "get", "healthz"}


def _value(s):
    try:
        return json.loads(s)
    except ValueError:
        return s


def ctl_main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(CTL_USAGE)
        return 2
    d, verb, rest = argv[0], argv[1], argv[2:]
    with open(os.path.join(d, "control-port")) as f:
        port = int(f.read().strip())
    kv = {}
    pos = []
    for r in rest:
        if "=" in r and not os.path.exists(r):
            k, v = r.split("=", 1)
            kv[k] = _value(v)
        else:
            pos.append(r)
    path = "/" + verb
    body = None
    if verb in ("apply", "create", "replace") or (verb == "delete" and pos and
                                                   (pos[0] == "-" or os.path.exists(pos[0]))):
        items = []
        for p in pos:
            data = json.load(sys.stdin) if p == "-" else json.load(open(p))
            items += _items_of(data)
        body = {"kind": "List", "items": items}
    elif verb in ("get", "delete") and len(pos) == 3:
        if verb == "get":
            path = "/objects/" + "/".join(urllib.parse.quote(p, safe="") for p in pos)
        else:
            body = {"resource": pos[0], "namespace": pos[1], "name": pos[2]}
    elif verb == "objects" and pos:
        path = "/objects/" + urllib.parse.quote(pos[0], safe="")
    elif pos:
        sys.stderr.write(f"ctl: unexpected arguments {pos}\n" + CTL_USAGE)
        return 2
    method = "GET" if verb in GET_VERBS else "POST"
    if method == "GET" and kv:
        path += "?" + urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v)
                                              for k, v in kv.items()})
    elif method == "POST" and body is None:
        body = kv
    timeout = CONTROL_TIMEOUT
    if verb == "wait":
        timeout = float(kv.get("timeout", 10)) + 10
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    conn.request(method, path, body=payload, headers=headers)
    resp = conn.getresponse()
    out = resp.read().decode()
    sys.stdout.write(out)
    return 0 if resp.status < 400 else 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ctl":
        return ctl_main(sys.argv[2:])
    return serve(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
