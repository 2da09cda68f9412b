/*
 * k8s/policy.h - what tenants may ask extlb-k8s for, by the operator's
 * rules: which addresses may be VIPs, which may be backends, and how much
 * of extlbd one Service, one namespace and all of them may take.
 *
 * Everything in a Service or an Endpoints object is written by a tenant,
 * and extlbd, which acts on it, runs as root on the load balancer.  An
 * address of the host itself, loopback, link-local (169.254.169.254 is
 * the cloud's metadata service) or multicast is never what a tenant
 * should reach through a VIP, so such addresses are refused unless the
 * operator names them with --allow-vip or --allow-backend.
 *
 * Pure except for k8s_host_addrs(): the host's addresses are read once at
 * start-up and handed in, so that tests can give any.
 */
#ifndef EXTLB_K8S_POLICY_H
#define EXTLB_K8S_POLICY_H

#include "k8s/addr.h"
#include "k8s/ipam.h"

#include <stdbool.h>
#include <stddef.h>

struct k8s_policy {
	/* --allow-vip: may be VIPs, special or not */
	const struct k8s_pool *allow_vip;
	size_t nallow_vip;
	/* --allow-backend: the only backends allowed; none given: all but
	 * the special classes */
	const struct k8s_pool *allow_backend;
	size_t nallow_backend;
	/* the host's own addresses (not those of --vip-interface) */
	const struct k8s_addr *host;
	size_t nhost;
	/* caps; 0: none */
	size_t max_ports;    /* ports of one Service */
	size_t max_per_ns;   /* Services of one namespace */
	size_t max_services; /* virtual services written in all */
};

/*
 * The special class of an address ("loopback", "unspecified",
 * "multicast", "broadcast", "link-local", "IPv4-mapped"), or NULL for an
 * ordinary one.  With range, the whole block of that class.
 */
const char *k8s_addr_class(const struct k8s_addr *a, struct k8s_pool *range);

/*
 * May a be the VIP a Service names (extlb.io/vip, spec.loadBalancerIP)?
 * Yes inside an --allow-vip range; else no for a special address or one
 * of the host's; else yes inside a --vip-pool.  When not, why says so.
 */
bool k8s_policy_vip_ok(const struct k8s_policy *p, const struct k8s_pool *pools,
		       size_t npools, const struct k8s_addr *a, char *why,
		       size_t len);

/*
 * May the pool allocator give out a?  When not, *last is the end of the
 * run of addresses refused for the same reason (all of 127.0.0.0/8 up to
 * the next --allow-vip range), so that a wide pool is not walked through
 * it address by address.
 */
bool k8s_policy_vip_usable(const struct k8s_policy *p, const struct k8s_addr *a,
			   struct k8s_addr *last);

/* May a be a real server?  When not, why says so. */
bool k8s_policy_backend_ok(const struct k8s_policy *p, const struct k8s_addr *a,
			   char *why, size_t len);

/*
 * The addresses of this host's interfaces (getifaddrs), but those of the
 * interface vip_if (extlbd's VIPs: published by us, not the host's own).
 * 0 with *out malloc'ed, or -1 with why filled.
 */
int k8s_host_addrs(const char *vip_if, struct k8s_addr **out, size_t *n,
		   char *why, size_t len);

#endif
