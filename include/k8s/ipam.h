/*
 * k8s/ipam.h - VIP pools and the assignment of one VIP to each Service.
 *
 * Pure: pools and requests in, one answer per request out, the same
 * whatever the order of the requests.  Assignments are stable: a Service
 * keeps the VIP its status already shows, so a restart of extlb-k8s moves
 * no traffic; new Services get the lowest free address of the first pool
 * of their family.  No address goes to two Services unless both ask to
 * share it with the same key (extlb.io/allow-shared-vip).
 */
#ifndef EXTLB_K8S_IPAM_H
#define EXTLB_K8S_IPAM_H

#include "k8s/addr.h"

#include <stdbool.h>
#include <stddef.h>

/* first..last, inclusive, of one family */
struct k8s_pool {
	struct k8s_addr first, last;
};

/*
 * "192.0.2.0/24", "2001:db8::/112", "192.0.2.10-192.0.2.20" or a single
 * address.  A CIDR gives every address in it, network and broadcast
 * addresses included (write a range to leave them out).  0, or -1 with why
 * filled.
 */
int k8s_pool_parse(const char *s, struct k8s_pool *out, char *why, size_t len);
bool k8s_pools_contain(const struct k8s_pool *pools, size_t npools,
		       const struct k8s_addr *a);

struct k8s_policy;

struct k8s_ipam_req {
	/* in */
	/* "namespace/name", unique but for the two requests of a
	 * dual-stack Service, one per family */
	const char *key;
	int family;		     /* AF_INET, AF_INET6, AF_UNSPEC: any */
	const struct k8s_addr *want; /* an explicit VIP, in a pool or not */
	const char *share;	     /* the sharing key, NULL: no sharing */
	const char *const *current;  /* the VIPs its status shows */
	size_t ncurrent;
	/* out */
	bool ok;
	struct k8s_addr vip;
	char why[160]; /* when !ok: why it has no VIP */
};

/* Fills in the out fields of every request.  No address policy refuses
 * (k8s_policy_vip_usable) is given out of a pool or kept from a status;
 * explicit VIPs (want) are the caller's to check.  0, or -1 when out of
 * memory (then no request is ok). */
int k8s_ipam_assign(const struct k8s_pool *pools, size_t npools,
		    const struct k8s_policy *policy, struct k8s_ipam_req *reqs,
		    size_t nreqs);

#endif
