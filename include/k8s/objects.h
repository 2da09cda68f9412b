/*
 * k8s/objects.h - the parts of Services, EndpointSlices and Endpoints that
 * extlb-k8s uses, as plain structs parsed from the API server's JSON.
 *
 * Parsing checks every field it reads: a missing required field or a wrong
 * type rejects the whole object with a reason naming the field, so that
 * nothing downstream ever sees half an object.  EndpointSlices and v1
 * Endpoints both become a k8s_epset: the addresses that may take traffic,
 * with their ports, each marked ready or only serving-and-terminating.
 */
#ifndef EXTLB_K8S_OBJECTS_H
#define EXTLB_K8S_OBJECTS_H

#include "k8s/addr.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum k8s_proto { K8S_TCP, K8S_UDP, K8S_SCTP };

/* "tcp", "udp", "sctp": extlb.conf's words */
const char *k8s_proto_name(enum k8s_proto p);

struct k8s_svc_port {
	char *name; /* "" when unnamed */
	uint16_t port;
	enum k8s_proto proto;
	char *app_protocol; /* appProtocol; NULL when absent */
};

/* The extlb.io/ annotations extlb-k8s reads; NULL when absent. */
struct k8s_annotations {
	char *vip;	  /* extlb.io/vip */
	char *share;	  /* extlb.io/allow-shared-vip */
	char *scheduler;  /* extlb.io/scheduler */
	char *forward;	  /* extlb.io/forward */
	char *check;	  /* extlb.io/check */
	char *check_path; /* extlb.io/check-path */
	/* extlb.io/check-port, -interval, -timeout, -rise, -fall, -status,
	 * -expect (checkopts.c validates them) */
	char *check_port, *check_interval, *check_timeout;
	char *check_rise, *check_fall, *check_status, *check_expect;
	/* service.beta.kubernetes.io/load-balancer-source-ranges */
	char *source_ranges;
};

/* spec.ipFamilyPolicy; absent is SingleStack, as the API server
 * defaults it */
enum k8s_family_policy {
	K8S_SINGLE_STACK,
	K8S_PREFER_DUAL_STACK,
	K8S_REQUIRE_DUAL_STACK,
};

struct k8s_service {
	char *ns, *name;
	char *uid;	    /* metadata.uid; NULL when absent */
	char *created;	    /* metadata.creationTimestamp; NULL when absent */
	bool load_balancer; /* spec.type == "LoadBalancer" */
	char *lb_class;	    /* spec.loadBalancerClass; NULL when unset */
	char *lb_ip;	    /* spec.loadBalancerIP; NULL when unset */
	int family;	    /* spec.ipFamilies[0]; AF_UNSPEC when unset */
	int family2;	    /* spec.ipFamilies[1]; AF_UNSPEC when unset */
	enum k8s_family_policy family_policy;
	/* spec.loadBalancerSourceRanges, as written (judged by render) */
	char **source_ranges;
	size_t nsource_ranges;
	/* spec.sessionAffinity ClientIP: its timeout; 0 without affinity */
	uint32_t affinity_timeout;
	struct k8s_annotations ann;
	struct k8s_svc_port *ports;
	size_t nports;
	/* status.loadBalancer.ingress[].ip, "" for an entry without an ip
	 * (read for every Service, kept only when it parsed) */
	char **ingress;
	size_t ningress;
	/* their ipMode ("VIP", "Proxy"), NULL where absent */
	char **ingress_mode;
};

/* One address and port that may take the service's traffic. */
struct k8s_backend {
	struct k8s_addr addr;
	uint16_t port;
	enum k8s_proto proto;
	char *port_name; /* "" when unnamed */
	/* the only port of its slice or subset: it serves a one-port Service
	 * whatever the port names say, as kube-proxy does */
	bool sole_port;
	/* ready; false: serving and terminating, which takes traffic only
	 * when its port has no ready endpoint (kube-proxy's rule) */
	bool ready;
};

/* The backends (address and port pairs) of one object, at most: the
 * EndpointSlice API's maxima, 1000 endpoints of 100 ports.  An object
 * of more is skipped. */
#define K8S_MAX_OBJECT_BACKENDS 100000
/* spec.loadBalancerSourceRanges: a longer list makes the Service invalid */
#define K8S_MAX_SOURCE_RANGES 1000

/* An EndpointSlice or a v1 Endpoints object, reduced to its backends. */
struct k8s_epset {
	char *ns, *name;
	char *service; /* the Service it belongs to; NULL: none */
	bool fqdn;     /* an EndpointSlice of addressType FQDN: no backends */
	struct k8s_backend *backends;
	size_t nbackends;
};

/* 0 with *out set, or -1 with why filled ("spec.ports[1].port: ..."). */
int k8s_service_parse(json_object *j, struct k8s_service **out, char *why,
		      size_t len);
int k8s_slice_parse(json_object *j, struct k8s_epset **out, char *why,
		    size_t len);
int k8s_endpoints_parse(json_object *j, struct k8s_epset **out, char *why,
			size_t len);

/* void * so that they serve as a k8s_cache's free function */
void k8s_service_free(void *svc);
void k8s_epset_free(void *set);

/*
 * metadata.namespace + "/" + metadata.name and metadata.resourceVersion of
 * any object, for the cache.  0, or -1 with why filled.
 */
int k8s_object_key(json_object *j, char *key, size_t keylen, const char **rv,
		   char *why, size_t len);

#endif
