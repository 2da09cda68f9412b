/*
 * k8s/dualstack.h - which address families a Service's VIPs come from.
 *
 * Pure.  spec.ipFamilyPolicy asks for one VIP (SingleStack, the default)
 * or one per family (PreferDualStack, RequireDualStack); what the pools
 * can give decides the rest.  The first family, spec.ipFamilies[0], keeps
 * the names a single-stack Service has always had; only the virtual
 * services of the other family get a suffix, so that a Service turning
 * dual-stack renames nothing that extlbd serves already.
 */
#ifndef EXTLB_K8S_DUALSTACK_H
#define EXTLB_K8S_DUALSTACK_H

#include "k8s/ipam.h"
#include "k8s/objects.h"

#include <stddef.h>

struct k8s_families {
	int af[2];   /* in the order the status lists the VIPs */
	size_t n;    /* 1 or 2; 0: RequireDualStack cannot be met */
	int primary; /* the first family, whether or not it has a pool */
};

/*
 * The families a Service without an explicit VIP gets VIPs of:
 * SingleStack: spec.ipFamilies[0] (AF_UNSPEC when unset: any pool);
 * PreferDualStack: each of its two families that has a pool, or the
 * first when neither has (its allocation then fails as a single-stack
 * one does); RequireDualStack: both, or none (n 0, why filled) when a
 * family has no pool.  Without spec.ipFamilies the first pool's family
 * comes first.
 */
void k8s_dualstack_families(const struct k8s_service *s,
			    const struct k8s_pool *pools, size_t npools,
			    struct k8s_families *out, char *why, size_t len);

/* The suffix of the names of a family's virtual services: "" for the
 * primary family, "/ipv4" or "/ipv6" for the other. */
const char *k8s_dualstack_suffix(const struct k8s_families *f, int af);

#endif
