#!/usr/bin/env python3
"""k8s-gen.py - the cluster of the extlb-k8s benchmark, as a seed for the
API server double (tests/k8s/apiserver.py --seed FILE).

    python3 bench/k8s-gen.py [--services 5000] [--endpoints 10]
        [--namespaces 5] [--no-v1-endpoints] -o FILE

Writes one JSON `List` holding, for Service i (0-based, spread round-robin
over the namespaces bench-0 ... bench-(NS-1), named svc-NNNNN):

* a Service of type LoadBalancer, spec.loadBalancerClass extlb.io/lb
  (extlb-k8s's default class), a selector, one named port
  http 80 -> targetPort http (8080), no status;
* its EndpointSlice svc-NNNNN-xxxxx (label kubernetes.io/service-name) with
  `--endpoints` ready endpoints, port http 8080, as the EndpointSlice
  controller writes them (targetRef, nodeName, zone, conditions);
* unless --no-v1-endpoints, the v1 Endpoints object that the endpoints
  controller still maintains for a Service with a selector (deprecated in
  1.33, but served and kept up to date): same addresses.

Every object carries the metadata a real LIST returns (labels, annotations,
ownerReferences, one managedFields entry), so the bytes per object are
those of a real cluster, not of a minimal test object.

Addresses: endpoint j of Service i is pod k = i * E + j at
10.42.(k // 250).(k % 250 + 1) (a k3s-style pod range; 62,500 pods fit).
Only data: nothing is ever sent to them.  The benchmark's changes use
10.44.0.0/16 (see endpoint_address(); `k8s-measure.py` calls slice()).
Cluster IPs are left to the double (10.43.0.0/16).  VIPs come from the
benchmark's --vip-pool (10.255.0.0/16).
"""

import argparse
import json
import sys
import uuid

SERVICE_UID_NS = uuid.UUID("6c1d2d0e-5c55-4a7e-9a43-8b1f0e0b7a01")
CREATED = "2026-11-20T09:00:00Z"
CHANGED = "2026-11-20T09:00:05Z"


def svc_name(i):
    return f"svc-{i:05d}"


def namespace(i, nns):
    return f"bench-{i % nns}"


def svc_uid(i):
    return str(uuid.uuid5(SERVICE_UID_NS, f"svc/{i}"))


def pod_uid(k):
    return str(uuid.uuid5(SERVICE_UID_NS, f"pod/{k}"))


def endpoint_address(k):
    """The address of pod k (k < 62,500)."""
    return f"10.42.{k // 250}.{k % 250 + 1}"


def changed_address(n):
    """The n-th address the benchmark moves an endpoint to (n < 62,500)."""
    return f"10.44.{n // 250}.{n % 250 + 1}"


def pod_name(i, k):
    return f"{svc_name(i)}-7d9f8b6c5-{k:06d}"


def service(i, nns):
    name, ns = svc_name(i), namespace(i, nns)
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": svc_uid(i),
            "resourceVersion": "1",
            "creationTimestamp": CREATED,
            "labels": {"app.kubernetes.io/name": name,
                       "app.kubernetes.io/part-of": "extlb-bench"},
            "managedFields": [{
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": "v1",
                "time": CREATED,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {},
                                                "f:app.kubernetes.io/part-of": {}}},
                    "f:spec": {"f:allocateLoadBalancerNodePorts": {},
                               "f:externalTrafficPolicy": {},
                               "f:internalTrafficPolicy": {},
                               "f:loadBalancerClass": {},
                               "f:ports": {".": {}, "k:{\"port\":80,\"protocol\":\"TCP\"}": {
                                   ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {},
                                   "f:targetPort": {}}},
                               "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}},
                },
            }],
        },
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": "extlb.io/lb",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "protocol": "TCP", "port": 80,
                       "targetPort": "http"}],
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "allocateLoadBalancerNodePorts": True,
        },
        "status": {"loadBalancer": {}},
    }


def slice_name(i):
    # the controller's generateName suffix: 5 characters, stable here
    return f"{svc_name(i)}-{i * 7919 % 100000:05d}"


def endpointslice(i, nns, nend, moved=None):
    """The slice of Service i.  moved: {j: address} replacing endpoints."""
    name, ns = svc_name(i), namespace(i, nns)
    eps = []
    for j in range(nend):
        k = i * nend + j
        addr = (moved or {}).get(j, endpoint_address(k))
        eps.append({
            "addresses": [addr],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "targetRef": {"kind": "Pod", "namespace": ns, "name": pod_name(i, k),
                          "uid": pod_uid(k)},
            "nodeName": f"node-{k % 20:02d}",
            "zone": f"zone-{'abc'[k % 3]}",
        })
    return {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": {
            "name": slice_name(i),
            "generateName": f"{name}-",
            "namespace": ns,
            "resourceVersion": "1",
            "generation": 1,
            "creationTimestamp": CREATED,
            "labels": {"app.kubernetes.io/name": name,
                       "endpointslice.kubernetes.io/managed-by":
                           "endpointslice-controller.k8s.io",
                       "kubernetes.io/service-name": name},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": CHANGED},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                 "uid": svc_uid(i), "controller": True,
                                 "blockOwnerDeletion": True}],
            "managedFields": [{
                "manager": "kube-controller-manager",
                "operation": "Update",
                "apiVersion": "discovery.k8s.io/v1",
                "time": CHANGED,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:addressType": {}, "f:endpoints": {},
                             "f:metadata": {"f:annotations": {}, "f:generateName": {},
                                            "f:labels": {}, "f:ownerReferences": {}},
                             "f:ports": {}},
            }],
        },
        "addressType": "IPv4",
        "endpoints": eps,
        "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
    }


def endpoints(i, nns, nend):
    name, ns = svc_name(i), namespace(i, nns)
    addrs = []
    for j in range(nend):
        k = i * nend + j
        addrs.append({"ip": endpoint_address(k), "nodeName": f"node-{k % 20:02d}",
                      "targetRef": {"kind": "Pod", "namespace": ns, "name": pod_name(i, k),
                                    "uid": pod_uid(k)}})
    return {
        "kind": "Endpoints",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": "1",
            "creationTimestamp": CREATED,
            "labels": {"app.kubernetes.io/name": name},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": CHANGED},
            "managedFields": [{
                "manager": "kube-controller-manager",
                "operation": "Update",
                "apiVersion": "v1",
                "time": CHANGED,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {}, "f:labels": {}},
                             "f:subsets": {}},
            }],
        },
        "subsets": [{"addresses": addrs,
                     "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}],
    }


def cluster(nsvc, nend, nns, v1_endpoints=True):
    items = []
    for i in range(nsvc):
        items.append(service(i, nns))
        items.append(endpointslice(i, nns, nend))
        if v1_endpoints:
            items.append(endpoints(i, nns, nend))
    return {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--services", type=int, default=5000)
    ap.add_argument("--endpoints", type=int, default=10, help="ready endpoints per Service")
    ap.add_argument("--namespaces", type=int, default=5)
    ap.add_argument("--no-v1-endpoints", action="store_true",
                    help="EndpointSlices only, no v1 Endpoints objects")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    if a.services * a.endpoints > 62500 or a.services < 1 or a.namespaces < 1:
        ap.error("at most 62,500 endpoints in all, at least one Service and namespace")
    doc = cluster(a.services, a.endpoints, a.namespaces, not a.no_v1_endpoints)
    out = sys.stdout if a.output == "-" else open(a.output, "w")
    json.dump(doc, out, separators=(",", ":"))
    out.write("\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
