"""What the API server double (apiserver.py) answers for the real kubectl.

kubectl finds resources through discovery (/api/v1 and each group-version's
APIResourceList: kinds, verbs, namespaced, short names), prints `get` from
the meta.k8s.io/v1 Table the server computes (the columns kube-apiserver's
printers give Services, Endpoints, EndpointSlices and Events), and relies on
the server to refuse an invalid object with a 422 Status naming the fields.
Pure functions of the stored objects: apiserver.py routes to them.
"""

import datetime
import ipaddress

# Verbs as kube-apiserver lists them for a full resource and a subresource.
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]


def _resource(name, kind, short=None, verbs=VERBS, namespaced=True):
    r = {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
         "verbs": list(verbs)}
    if short:
        r["shortNames"] = list(short)
    return r


def resource_list(group_version):
    """The APIResourceList of a group-version ("v1", "discovery.k8s.io/v1"),
    None for one the double does not serve."""
    if group_version == "v1":
        res = [_resource("endpoints", "Endpoints", ["ep"]),
               _resource("events", "Event", ["ev"]),
               _resource("services", "Service", ["svc"]),
               _resource("services/status", "Service", verbs=SUB_VERBS)]
        res[2]["categories"] = ["all"]
    elif group_version == "discovery.k8s.io/v1":
        res = [_resource("endpointslices", "EndpointSlice")]
    else:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": res}


# --------------------------------------------------------------------------
# Table output (kubectl get): kube-apiserver's printers, for these types
# --------------------------------------------------------------------------

def _col(name, desc, fmt="", typ="string", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc,
            "priority": priority}


NAME_COL = _col("Name", "Name must be unique within a namespace.", "name")
AGE_COL = _col("Age", "CreationTimestamp is a timestamp representing the server time "
                      "when this object was created.")

COLUMNS = {
    "services": [NAME_COL,
                 _col("Type", "type determines how the Service is exposed."),
                 _col("Cluster-IP", "clusterIP is the IP address of the service."),
                 _col("External-IP", "externalIPs is a list of IP addresses for which "
                                     "nodes in the cluster will also accept traffic."),
                 _col("Port(s)", "The list of ports that are exposed by this service."),
                 AGE_COL,
                 _col("Selector", "Route service traffic to pods with label keys and "
                                  "values matching this selector.", priority=1)],
    "endpoints": [NAME_COL,
                  _col("Endpoints", "Endpoints of the service"),
                  AGE_COL],
    "endpointslices": [NAME_COL,
                       _col("AddressType", "Type of address carried by this EndpointSlice."),
                       _col("Ports", "Ports advertised by this EndpointSlice."),
                       _col("Endpoints", "Endpoints represented by this EndpointSlice."),
                       AGE_COL],
    "events": [_col("Last Seen", "Time when last this event was observed."),
               _col("Type", "Type of this event (Normal, Warning)."),
               _col("Reason", "Reason is why the action was taken."),
               _col("Object", "The object that this event is about."),
               _col("Subobject", "Subobject of the object this event is about.", priority=1),
               _col("Source", "The component reporting this event.", priority=1),
               _col("Message", "A human-readable description of the status of this "
                               "operation."),
               _col("First Seen", "The first time this event was observed.", priority=1),
               _col("Count", "The number of times this event has occurred.", priority=1),
               _col("Name", "The name of the event.", priority=1)],
}


def _parse_time(s):
    if not isinstance(s, str) or not s:
        return None
    try:
        return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        d = hours // 24 % 365
        return f"{hours // 24 // 365}y" if d == 0 else f"{hours // 24 // 365}y{d}d"
    return f"{hours // 24 // 365}y"


def since(ts, now):
    t = _parse_time(ts)
    if t is None:
        return "<unknown>"
    return human_duration(int((now - t).total_seconds()))


def _service_cells(o, now):
    spec = o.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    cluster_ip = spec.get("clusterIP") or "<none>"
    if stype == "ExternalName":
        cluster_ip = "<none>"
    ingress = [i.get("ip") or i.get("hostname") or ""
               for i in ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
               if isinstance(i, dict)]
    external = [e for e in spec.get("externalIPs") or []]
    if stype == "LoadBalancer":
        ips = ingress + external
        ext = ",".join(ips) if ips else "<pending>"
    elif stype == "ExternalName":
        ext = spec.get("externalName") or "<none>"
    else:
        ext = ",".join(external) if external else "<none>"
    ports = []
    for p in spec.get("ports") or []:
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            ports.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            ports.append(f"{p.get('port')}/{proto}")
    sel = spec.get("selector") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(sel.items())) if sel else "<none>"
    return [o["metadata"]["name"], stype, cluster_ip, ext,
            ",".join(ports) if ports else "<none>",
            since(o["metadata"].get("creationTimestamp"), now), selector]


def _endpoints_cells(o, now):
    """formatEndpoints: ip:port for every port of every subset, at most 3, then
    "+ N more..."."""
    addrs = []
    for ss in o.get("subsets") or []:
        ips = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:
            addrs.extend(ips)
        for p in ports:
            addrs.extend(f"{ip}:{p.get('port')}" for ip in ips)
    text = ",".join(addrs[:3]) if addrs else "<none>"
    if len(addrs) > 3:
        text += f" + {len(addrs) - 3} more..."
    return [o["metadata"]["name"], text, since(o["metadata"].get("creationTimestamp"), now)]


def _slice_cells(o, now):
    ports = [str(p.get("port")) for p in o.get("ports") or [] if p.get("port") is not None]
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    ep = ",".join(addrs[:3]) if addrs else "<unset>"
    if len(addrs) > 3:
        ep += f" + {len(addrs) - 3} more..."
    return [o["metadata"]["name"], o.get("addressType") or "",
            ",".join(ports) if ports else "<unset>", ep,
            since(o["metadata"].get("creationTimestamp"), now)]


def _event_cells(o, now):
    inv = o.get("involvedObject") or {}
    first = o.get("firstTimestamp") or o.get("eventTime")
    last = o.get("lastTimestamp") or (o.get("series") or {}).get("lastObservedTime") \
        or o.get("eventTime")
    count = o.get("count") or 1
    last_seen = since(last, now)
    if count > 1:
        last_seen = f"{last_seen} (x{count} over {since(first, now)})"
    src = o.get("source") or {}
    source = src.get("component") or o.get("reportingComponent") or ""
    if src.get("host"):
        source += ", " + src["host"]
    return [last_seen, o.get("type") or "", o.get("reason") or "",
            f"{(inv.get('kind') or '').lower()}/{inv.get('name') or ''}",
            inv.get("fieldPath") or "", source, o.get("message") or "",
            since(first, now), count, o["metadata"]["name"]]


CELLS = {"services": _service_cells, "endpoints": _endpoints_cells,
         "endpointslices": _slice_cells, "events": _event_cells}


def wants_table(accept):
    """True when the Accept header asks for a meta.k8s.io/v1 Table first."""
    first = (accept or "").split(",")[0]
    params = [p.strip().replace(" ", "") for p in first.split(";")[1:]]
    return "as=Table" in params and "g=meta.k8s.io" in params and "v=v1" in params


def table(plural, objects, list_meta, include_object="PartialObjectMetadata", now=None):
    """The Table of objects (a list, or one object for a GET by name)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for o in objects:
        row = {"cells": CELLS[plural](o, now)}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": COLUMNS[plural], "rows": rows}


# --------------------------------------------------------------------------
# Validation of what clients write (kube-apiserver's ValidateService and
# ValidateEndpoints, for the fields these objects carry)
# --------------------------------------------------------------------------

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
IP_HINT = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _quoted(values):
    return ", ".join(f'"{v}"' for v in values)


def _port_causes(field, p, causes):
    port = p.get("port") if isinstance(p, dict) else None
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        causes.append((field + ".port",
                       f"Invalid value: {port}: must be between 1 and 65535, inclusive"))
    proto = p.get("protocol", "TCP") if isinstance(p, dict) else None
    if proto not in PROTOCOLS:
        causes.append((field + ".protocol", f'Unsupported value: "{proto}": supported values: '
                                            + _quoted(PROTOCOLS), "FieldValueNotSupported"))


def _valid_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except (ValueError, TypeError):
        return False


def validate(plural, obj):
    """The causes ((field, message[, reason]), ...) for which kube-apiserver
    refuses obj; empty when it is valid."""
    causes = []
    if plural == "services":
        spec = obj.get("spec") or {}
        stype = spec.get("type", "ClusterIP")
        if stype not in SERVICE_TYPES:
            causes.append(("spec.type", f'Unsupported value: "{stype}": supported values: '
                                        + _quoted(SERVICE_TYPES), "FieldValueNotSupported"))
        ports = spec.get("ports") or []
        if not ports and stype != "ExternalName":
            causes.append(("spec.ports", "Required value", "FieldValueRequired"))
        for i, p in enumerate(ports):
            _port_causes(f"spec.ports[{i}]", p, causes)
            np_ = p.get("nodePort") if isinstance(p, dict) else None
            if np_ is not None and not (isinstance(np_, int) and 30000 <= np_ <= 32767):
                causes.append((f"spec.ports[{i}].nodePort",
                               f"Invalid value: {np_}: provided port is not in the valid "
                               "range. The range of valid ports is 30000-32767"))
            tp = p.get("targetPort") if isinstance(p, dict) else None
            if isinstance(tp, int) and not 1 <= tp <= 65535:
                causes.append((f"spec.ports[{i}].targetPort",
                               f"Invalid value: {tp}: must be between 1 and 65535, inclusive"))
        for i, ip in enumerate(spec.get("externalIPs") or []):
            if not _valid_ip(ip):
                causes.append((f"spec.externalIPs[{i}]", f'Invalid value: "{ip}": {IP_HINT}'))
    elif plural == "endpoints":
        for i, ss in enumerate(obj.get("subsets") or []):
            f = f"subsets[{i}]"
            for kind in ("addresses", "notReadyAddresses"):
                for j, a in enumerate(ss.get(kind) or []):
                    ip = a.get("ip") if isinstance(a, dict) else None
                    if not _valid_ip(ip):
                        causes.append((f"{f}.{kind}[{j}].ip", f'Invalid value: "{ip}": {IP_HINT}'))
            for j, p in enumerate(ss.get("ports") or []):
                _port_causes(f"{f}.ports[{j}]", p, causes)
    return causes
