/*
 * dualstack.c - the address families of a Service's VIPs.
 *
 * Kubernetes fills spec.ipFamilies for every Service on a dual-stack
 * cluster, the cluster's primary family first, and expects the status to
 * list the load balancer's addresses in that order.  The pools are the
 * operator's: a family without a pool is one extlb-k8s cannot serve, which
 * PreferDualStack accepts quietly and RequireDualStack does not accept at
 * all (its Service stays pending, rather than get half of what it
 * requires).
 */
#include "k8s/dualstack.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

static bool has_pool(const struct k8s_pool *pools, size_t npools, int af)
{
	for (size_t i = 0; i < npools; i++) {
		if (pools[i].first.af == af)
			return true;
	}
	return false;
}

static int other_family(int af)
{
	return af == AF_INET6 ? AF_INET : AF_INET6;
}

static const char *family_word(int af)
{
	return af == AF_INET6 ? "IPv6" : "IPv4";
}

void k8s_dualstack_families(const struct k8s_service *s,
			    const struct k8s_pool *pools, size_t npools,
			    struct k8s_families *out, char *why, size_t len)
{
	int want[2];

	out->n = 0;
	out->primary = s->family;
	if (s->family_policy == K8S_SINGLE_STACK) {
		out->af[out->n++] = s->family;
		return;
	}
	/* without spec.ipFamilies (a client that is no API server), the
	 * family the pools would give a single-stack Service comes first */
	want[0] = s->family != AF_UNSPEC ? s->family
		  : npools		 ? pools[0].first.af
					 : AF_INET;
	want[1] = s->family2 != AF_UNSPEC ? s->family2 : other_family(want[0]);
	out->primary = want[0];
	for (size_t i = 0; i < 2; i++) {
		if (has_pool(pools, npools, want[i]))
			out->af[out->n++] = want[i];
	}
	if (s->family_policy == K8S_REQUIRE_DUAL_STACK && out->n < 2) {
		snprintf(why, len,
			 "ipFamilyPolicy RequireDualStack, but there is no %s "
			 "VIP pool (--vip-pool)",
			 family_word(has_pool(pools, npools, want[0])
					 ? want[1]
					 : want[0]));
		out->n = 0;
	} else if (!out->n) {
		out->af[out->n++] = want[0];
	}
}

const char *k8s_dualstack_suffix(const struct k8s_families *f, int af)
{
	if (f->primary == AF_UNSPEC || af == f->primary)
		return "";
	return af == AF_INET6 ? "/ipv6" : "/ipv4";
}
