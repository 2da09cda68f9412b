/*
 * policy.c - the address classes a tenant may not point extlbd at, and
 * the operator's allow-lists that override them.
 *
 * The classes are kept as pools parsed from their CIDRs once, so that the
 * check is the same range test the VIP pools use, and so that the pool
 * allocator can jump over a whole class (0.0.0.0/0 as a pool must not
 * walk 127.0.0.0/8 address by address).
 */
#include "k8s/policy.h"
#include "util.h"

#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const struct special {
	const char *cidr, *name;
} specials[] = {
    /* 0.0.0.0/8 is "this network": none of it is a real destination */
    {"0.0.0.0/8", "unspecified"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"224.0.0.0/4", "multicast"},
    {"255.255.255.255", "broadcast"},
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"fe80::/10", "link-local"},
    {"ff00::/8", "multicast"},
    /* ::ffff:127.0.0.1 reaches 127.0.0.1 on a dual-stack socket */
    {"::ffff:0:0/96", "IPv4-mapped"},
};

#define NSPECIALS XL_ARRAY_SIZE(specials)

static struct k8s_pool special_pools[NSPECIALS];
static bool special_parsed;

const char *k8s_addr_class(const struct k8s_addr *a, struct k8s_pool *range)
{
	if (!special_parsed) {
		char why[128];

		for (size_t i = 0; i < NSPECIALS; i++)
			k8s_pool_parse(specials[i].cidr, &special_pools[i], why,
				       sizeof(why));
		special_parsed = true;
	}
	for (size_t i = 0; i < NSPECIALS; i++) {
		if (k8s_pools_contain(&special_pools[i], 1, a)) {
			if (range)
				*range = special_pools[i];
			return specials[i].name;
		}
	}
	return NULL;
}

/* "a" or "an", as English wants before the class's name */
static const char *article(const char *cls)
{
	return strchr("aeiouAEIOU", cls[0]) ? "an" : "a";
}

static bool is_host(const struct k8s_policy *p, const struct k8s_addr *a)
{
	for (size_t i = 0; i < p->nhost; i++) {
		if (!k8s_addr_cmp(&p->host[i], a))
			return true;
	}
	return false;
}

/* Why a may not be a VIP when no --allow-vip names it; NULL: it may. */
static const char *vip_refusal(const struct k8s_policy *p,
			       const struct k8s_addr *a, struct k8s_pool *range)
{
	const char *cls = k8s_addr_class(a, range);

	if (cls)
		return cls;
	if (is_host(p, a)) {
		range->first = range->last = *a;
		return "host";
	}
	return NULL;
}

bool k8s_policy_vip_ok(const struct k8s_policy *p, const struct k8s_pool *pools,
		       size_t npools, const struct k8s_addr *a, char *why,
		       size_t len)
{
	char buf[K8S_ADDRSTR_MAX];
	struct k8s_pool range;
	const char *cls;

	if (k8s_pools_contain(p->allow_vip, p->nallow_vip, a))
		return true;
	cls = vip_refusal(p, a, &range);
	if (cls && !strcmp(cls, "host"))
		snprintf(why, len,
			 "%s is an address of the load balancer's host "
			 "(only --allow-vip can allow it)",
			 k8s_addr_str(a, buf));
	else if (cls)
		snprintf(why, len,
			 "%s is %s %s address (only --allow-vip can allow "
			 "it)",
			 k8s_addr_str(a, buf), article(cls), cls);
	else if (k8s_pools_contain(pools, npools, a))
		return true;
	else
		snprintf(why, len,
			 "%s is in no --vip-pool or --allow-vip range",
			 k8s_addr_str(a, buf));
	return false;
}

bool k8s_policy_vip_usable(const struct k8s_policy *p, const struct k8s_addr *a,
			   struct k8s_addr *last)
{
	struct k8s_pool range;

	if (k8s_pools_contain(p->allow_vip, p->nallow_vip, a) ||
	    !vip_refusal(p, a, &range))
		return true;
	*last = range.last;
	/* the run ends where an --allow-vip range starts inside it */
	for (size_t i = 0; i < p->nallow_vip; i++) {
		struct k8s_addr start = p->allow_vip[i].first;

		if (start.af == a->af && k8s_addr_cmp(&start, a) > 0 &&
		    k8s_addr_cmp(&start, last) <= 0 && k8s_addr_prev(&start))
			*last = start;
	}
	return false;
}

bool k8s_policy_backend_ok(const struct k8s_policy *p, const struct k8s_addr *a,
			   char *why, size_t len)
{
	char buf[K8S_ADDRSTR_MAX];
	const char *cls;

	if (p->nallow_backend) {
		if (k8s_pools_contain(p->allow_backend, p->nallow_backend, a))
			return true;
		snprintf(why, len, "%s is in no --allow-backend range",
			 k8s_addr_str(a, buf));
		return false;
	}
	cls = k8s_addr_class(a, NULL);
	if (!cls)
		return true;
	snprintf(why, len,
		 "%s is %s %s address (only --allow-backend can allow it)",
		 k8s_addr_str(a, buf), article(cls), cls);
	return false;
}

/* The address of one interface entry into *a: true when it has one. */
static bool ifa_addr(const struct ifaddrs *i, struct k8s_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!i->ifa_addr)
		return false;
	if (i->ifa_addr->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)i->ifa_addr;

		a->af = AF_INET;
		memcpy(a->b, &s->sin_addr, 4);
		return true;
	}
	if (i->ifa_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)i->ifa_addr;

		a->af = AF_INET6;
		memcpy(a->b, &s->sin6_addr, 16);
		return true;
	}
	return false;
}

int k8s_host_addrs(const char *vip_if, struct k8s_addr **out, size_t *n,
		   char *why, size_t len)
{
	struct ifaddrs *ifs, *i;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (getifaddrs(&ifs) < 0) {
		snprintf(why, len, "cannot list the host's addresses: %m");
		return -1;
	}
	for (i = ifs; i; i = i->ifa_next)
		count++;
	*out = calloc(count + 1, sizeof(**out));
	if (!*out) {
		freeifaddrs(ifs);
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (i = ifs; i; i = i->ifa_next) {
		if (vip_if && i->ifa_name && !strcmp(i->ifa_name, vip_if))
			continue;
		if (ifa_addr(i, &(*out)[*n]))
			(*n)++;
	}
	freeifaddrs(ifs);
	return 0;
}
