/*
 * k8s/render.h - from Services and their endpoints to the text of an
 * extlb.conf include file, and to the VIPs to publish in their status.
 *
 * Pure: the objects and the options in, a plan out; nothing here reads the
 * network, the disk or the clock, and the same input gives the same bytes.
 * What the operator should hear about (a Service left out, two virtual
 * services on one address) is returned as warnings, not logged, so that
 * the caller decides where they go and tests can read them; what a
 * Service's owner should hear about (why it is pending, which of its
 * endpoints were refused, an annotation with a bad value, a port without
 * endpoints) comes as pending entries and notices, with the reason of a
 * Kubernetes Event.
 */
#ifndef EXTLB_K8S_RENDER_H
#define EXTLB_K8S_RENDER_H

#include "k8s/addr.h"
#include "k8s/ipam.h"
#include "k8s/objects.h"
#include "k8s/policy.h"

#include <stdbool.h>
#include <stddef.h>

struct k8s_world {
	struct k8s_service *const *svcs;
	size_t nsvcs;
	struct k8s_epset *const *slices; /* EndpointSlices */
	size_t nslices;
	struct k8s_epset *const *endpoints; /* v1 Endpoints */
	size_t nendpoints;
};

struct k8s_render_opts {
	const char *lb_class; /* spec.loadBalancerClass to take */
	bool default_class;   /* also take Services without one */
	const struct k8s_pool *pools;
	size_t npools;
	struct k8s_policy policy; /* all zero: no allow-lists, no caps */
	/* status.loadBalancer.ingress[].ipMode: "VIP" or "Proxy" for every
	 * Service (--ip-mode); NULL: by forwarding method, Proxy for nat,
	 * VIP for dr and tun */
	const char *ip_mode;
};

/* A Service that has a VIP, and whether its status needs to show it. */
struct k8s_publish {
	const struct k8s_service *svc; /* points into the world */
	char vip[K8S_ADDRSTR_MAX];
	/* a dual-stack Service's second VIP, of its second family (listed
	 * after vip in its status); "" for a single-stack one */
	char vip2[K8S_ADDRSTR_MAX];
	const char *ip_mode; /* "VIP" or "Proxy" */
	/* status.loadBalancer.ingress is not [{ip: vip, ipMode: ip_mode}]
	 * (and {ip: vip2, ipMode: ip_mode} after it) */
	bool changed;
	bool new_vip; /* and does not show vip (or vip2) at all */
};

/*
 * A Service of ours left out of the file, with the reason of its Event
 * (AllocationFailed, VIPRefused, PortConflict, ...) and why in words.
 * Its status must show no address.
 */
struct k8s_pending {
	const struct k8s_service *svc; /* points into the world */
	const char *reason;
	char why[256];
};

/* Something to tell the owner of a Service that is served all the same:
 * BackendRefused, InvalidAnnotation, PortUnmatched, TargetPortMismatch,
 * FQDNIgnored. */
struct k8s_notice {
	const struct k8s_service *svc; /* points into the world */
	const char *reason;
	char *msg;
};

struct k8s_plan {
	char *text; /* the include file: "virtual_services = ( ... );" */
	struct k8s_publish *publish;
	size_t npublish;
	struct k8s_pending *pending;
	size_t npending;
	struct k8s_notice *notices;
	size_t nnotices;
	char **warnings;
	size_t nwarnings;
	size_t nselected; /* Services of our class */
	size_t nvs;	  /* virtual services written */
};

/* 0, or -1 when out of memory (plan is then empty). */
int k8s_render(const struct k8s_world *w, const struct k8s_render_opts *o,
	       struct k8s_plan *plan);
void k8s_plan_free(struct k8s_plan *plan);

/* Whether the Service is one of ours: LoadBalancer, and of our class. */
bool k8s_render_selects(const struct k8s_service *s,
			const struct k8s_render_opts *o);

#endif
