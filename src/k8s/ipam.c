/*
 * ipam.c - VIP pools and the stable assignment of VIPs to Services.
 *
 * Assignment runs in three rounds over the requests in key order, so the
 * result never depends on the order the API server listed them in:
 *   1. holders: a Service keeps what its status already shows (its
 *      explicit VIP, or a pool address of its family);
 *   2. explicit VIPs (extlb.io/vip, spec.loadBalancerIP) new to their
 *      Service;
 *   3. allocation: join a Service with the same sharing key, else the
 *      lowest free address of the first pool of the right family.
 * Holders go first so that a newcomer can never take an address from a
 * Service that is already serving on it.  Rounds 1 and 3 give out only
 * addresses the policy allows (no host or special address unless
 * --allow-vip names it); the explicit VIPs of round 2 were checked by
 * the caller, which knows which annotation to blame.
 */
#include "k8s/ipam.h"
#include "k8s/policy.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* ---- pools ------------------------------------------------------------- */

static int addr_bits(int af)
{
	return af == AF_INET ? 32 : 128;
}

/* s without surrounding blanks, into buf; NULL when it does not fit. */
static char *trimmed(const char *s, size_t n, char *buf, size_t len)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= len)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = 0;
	return buf;
}

static int pool_cidr(const char *s, const char *slash, struct k8s_pool *out,
		     char *why, size_t len)
{
	char abuf[64], nbuf[K8S_ADDRSTR_MAX], *end;
	struct k8s_addr net;
	long prefix;
	int bits;

	if (!trimmed(s, slash - s, abuf, sizeof(abuf)) ||
	    k8s_addr_parse(abuf, &out->first) < 0) {
		snprintf(why, len, "\"%s\": not an IP address before \"/\"", s);
		return -1;
	}
	bits = addr_bits(out->first.af);
	prefix = strtol(slash + 1, &end, 10);
	if (end == slash + 1 || *end || prefix < 0 || prefix > bits) {
		snprintf(why, len, "\"%s\": the prefix length must be 0-%d", s,
			 bits);
		return -1;
	}
	/* the host part must be zero: 192.0.2.5/24 is a typo more often
	 * than it is a subnet */
	net = out->first;
	k8s_addr_host_bits(&net, (int)prefix, false);
	if (k8s_addr_cmp(&net, &out->first)) {
		snprintf(why, len,
			 "\"%s\": host bits are set (did you mean %s/%ld?)", s,
			 k8s_addr_str(&net, nbuf), prefix);
		return -1;
	}
	out->last = out->first;
	k8s_addr_host_bits(&out->last, (int)prefix, true);
	return 0;
}

static int pool_range(const char *s, const char *dash, struct k8s_pool *out,
		      char *why, size_t len)
{
	char a[64], b[64];

	if (!trimmed(s, dash - s, a, sizeof(a)) ||
	    !trimmed(dash + 1, strlen(dash + 1), b, sizeof(b)) ||
	    k8s_addr_parse(a, &out->first) < 0 ||
	    k8s_addr_parse(b, &out->last) < 0) {
		snprintf(why, len, "\"%s\": expected two IP addresses, A-B", s);
		return -1;
	}
	if (out->first.af != out->last.af) {
		snprintf(why, len,
			 "\"%s\": both ends must be IPv4 or both "
			 "IPv6",
			 s);
		return -1;
	}
	if (k8s_addr_cmp(&out->first, &out->last) > 0) {
		snprintf(why, len,
			 "\"%s\": the first address is above the "
			 "last",
			 s);
		return -1;
	}
	return 0;
}

int k8s_pool_parse(const char *s, struct k8s_pool *out, char *why, size_t len)
{
	const char *slash = strchr(s, '/'), *dash = strchr(s, '-');
	char abuf[64];

	memset(out, 0, sizeof(*out));
	if (slash)
		return pool_cidr(s, slash, out, why, len);
	if (dash)
		return pool_range(s, dash, out, why, len);
	if (!trimmed(s, strlen(s), abuf, sizeof(abuf)) ||
	    k8s_addr_parse(abuf, &out->first) < 0) {
		snprintf(why, len,
			 "\"%s\": expected a CIDR (192.0.2.0/24), a range "
			 "(192.0.2.10-192.0.2.20) or an address",
			 s);
		return -1;
	}
	out->last = out->first;
	return 0;
}

bool k8s_pools_contain(const struct k8s_pool *pools, size_t npools,
		       const struct k8s_addr *a)
{
	for (size_t i = 0; i < npools; i++) {
		if (pools[i].first.af == a->af &&
		    k8s_addr_cmp(&pools[i].first, a) <= 0 &&
		    k8s_addr_cmp(a, &pools[i].last) <= 0)
			return true;
	}
	return false;
}

/* ---- assignment -------------------------------------------------------- */

/* An address given out, to its first owner (and maybe others sharing). */
struct claim {
	struct k8s_addr addr;
	const char *share; /* NULL: not shareable */
	const char *owner; /* the first Service's key, for messages */
};

struct ipam {
	const struct k8s_pool *pools;
	size_t npools;
	const struct k8s_policy *policy;
	struct claim *v; /* in the order given out */
	size_t n, cap;
	/* an open-addressing index of v by address: 1 + the index, 0 empty;
	 * a power of two, at most half full (Services come in key order,
	 * their addresses in any: a sorted array would move half of itself
	 * on each of them) */
	size_t *slot;
	size_t nslots;
	/* per pool, in round 3: below this every address is claimed (round
	 * 3 only adds claims), so the search for a free one starts there */
	struct k8s_addr *from;
};

static size_t addr_hash(const struct k8s_addr *a)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)a->af;

	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

/* The index in v of the claim of addr, or -1. */
static long claim_find(const struct ipam *m, const struct k8s_addr *a)
{
	size_t mask = m->nslots - 1;

	if (!m->nslots)
		return -1;
	for (size_t i = addr_hash(a) & mask; m->slot[i]; i = (i + 1) & mask) {
		if (!k8s_addr_cmp(&m->v[m->slot[i] - 1].addr, a))
			return (long)(m->slot[i] - 1);
	}
	return -1;
}

static void slot_put(struct ipam *m, size_t idx)
{
	size_t mask = m->nslots - 1, i = addr_hash(&m->v[idx].addr) & mask;

	while (m->slot[i])
		i = (i + 1) & mask;
	m->slot[i] = idx + 1;
}

/* Room for one more claim.  0, or -1 when out of memory. */
static int claim_room(struct ipam *m)
{
	if (XL_GROW(m->v, m->cap, m->n + 1, 64) < 0)
		return -1;
	if (2 * (m->n + 1) > m->nslots) {
		size_t n = m->nslots ? 2 * m->nslots : 128;
		size_t *slot = calloc(n, sizeof(*slot));

		if (!slot)
			return -1;
		free(m->slot);
		m->slot = slot;
		m->nslots = n;
		for (size_t i = 0; i < m->n; i++)
			slot_put(m, i);
	}
	return 0;
}

/* Gives a to r: 1 done, 0 held by another (r->why says by whom), -1 ENOMEM */
static int claim(struct ipam *m, struct k8s_ipam_req *r,
		 const struct k8s_addr *a)
{
	long i = claim_find(m, a);
	char buf[K8S_ADDRSTR_MAX];

	if (i >= 0) {
		const struct claim *c = &m->v[i];

		if (!c->share || !r->share || strcmp(c->share, r->share)) {
			snprintf(r->why, sizeof(r->why),
				 "%s is used by %s (both need the annotation "
				 "extlb.io/allow-shared-vip with one value "
				 "to share it)",
				 k8s_addr_str(a, buf), c->owner);
			return 0;
		}
	} else {
		if (claim_room(m) < 0)
			return -1;
		m->v[m->n] = (struct claim){*a, r->share, r->key};
		slot_put(m, m->n);
		m->n++;
	}
	r->ok = true;
	r->vip = *a;
	r->why[0] = 0;
	return 1;
}

static bool family_fits(const struct k8s_ipam_req *r, const struct k8s_addr *a)
{
	return r->family == AF_UNSPEC || r->family == a->af;
}

/* May the pools give out a?  When not, *last: the end of the run of
 * addresses refused with it. */
static bool usable(const struct ipam *m, const struct k8s_addr *a,
		   struct k8s_addr *last)
{
	struct k8s_addr end;

	return !m->policy ||
	       k8s_policy_vip_usable(m->policy, a, last ? last : &end);
}

/* Round 1: keep what the status shows, if it is still the Service's to
 * keep (its explicit VIP, or a pool address of its family). */
static int round_holders(struct ipam *m, struct k8s_ipam_req *r)
{
	for (size_t i = 0; i < r->ncurrent; i++) {
		struct k8s_addr a;
		int c;

		if (k8s_addr_parse(r->current[i], &a) < 0)
			continue;
		if (r->want ? k8s_addr_cmp(&a, r->want) != 0
			    : !family_fits(r, &a) ||
				  !k8s_pools_contain(m->pools, m->npools, &a) ||
				  !usable(m, &a, NULL))
			continue;
		c = claim(m, r, &a);
		if (c)
			return c;
	}
	return 0;
}

/* The lowest address of pool p that nobody holds and the policy allows.
 * Refused addresses are passed a run at a time. */
static bool pool_first_free(const struct ipam *m, size_t pool,
			    struct k8s_addr *out)
{
	const struct k8s_pool *p = &m->pools[pool];
	struct k8s_addr cand = m->from ? m->from[pool] : p->first, last;
	bool free_found = false;

	for (;;) {
		last = cand;
		if (claim_find(m, &cand) < 0 && usable(m, &cand, &last)) {
			free_found = true;
			break;
		}
		if (k8s_addr_cmp(&last, &p->last) >= 0)
			break;
		cand = last;
		k8s_addr_next(&cand);
	}
	if (m->from)
		m->from[pool] = cand;
	*out = cand;
	return free_found;
}

/* Round 3: an address for a Service that has none yet. */
static int round_allocate(struct ipam *m, struct k8s_ipam_req *r)
{
	struct k8s_addr a;
	bool any_pool = false;

	for (size_t i = 0; r->share && i < m->n; i++) {
		if (m->v[i].share && !strcmp(m->v[i].share, r->share) &&
		    family_fits(r, &m->v[i].addr))
			return claim(m, r, &m->v[i].addr);
	}
	for (size_t i = 0; i < m->npools; i++) {
		if (!family_fits(r, &m->pools[i].first))
			continue;
		any_pool = true;
		if (pool_first_free(m, i, &a))
			return claim(m, r, &a);
	}
	if (any_pool)
		snprintf(r->why, sizeof(r->why),
			 "no free address left in the %sVIP pools",
			 r->family == AF_INET	 ? "IPv4 "
			 : r->family == AF_INET6 ? "IPv6 "
						 : "");
	else
		snprintf(r->why, sizeof(r->why), "no %sVIP pool (--vip-pool)",
			 r->family == AF_INET	 ? "IPv4 "
			 : r->family == AF_INET6 ? "IPv6 "
						 : "");
	return 0;
}

/* A dual-stack Service asks once per family, under one key: the family
 * breaks the tie, so that qsort's instability cannot change a result. */
static int key_order(const void *a, const void *b)
{
	const struct k8s_ipam_req *const *x = a, *const *y = b;
	int r = strcmp((*x)->key, (*y)->key);

	return r ? r : (*x)->family - (*y)->family;
}

int k8s_ipam_assign(const struct k8s_pool *pools, size_t npools,
		    const struct k8s_policy *policy, struct k8s_ipam_req *reqs,
		    size_t nreqs)
{
	struct ipam m = {.pools = pools, .npools = npools, .policy = policy};
	struct k8s_ipam_req **order = calloc(nreqs + 1, sizeof(*order));
	int r = 0;

	for (size_t i = 0; i < nreqs; i++) {
		reqs[i].ok = false;
		reqs[i].why[0] = 0;
		if (order)
			order[i] = &reqs[i];
	}
	if (!order)
		return -1;
	qsort(order, nreqs, sizeof(*order), key_order);
	for (size_t i = 0; r >= 0 && i < nreqs; i++)
		r = round_holders(&m, order[i]);
	for (size_t i = 0; r >= 0 && i < nreqs; i++) {
		if (!order[i]->ok && order[i]->want)
			r = claim(&m, order[i], order[i]->want);
	}
	m.from = calloc(npools + 1, sizeof(*m.from));
	for (size_t i = 0; m.from && i < npools; i++)
		m.from[i] = pools[i].first;
	for (size_t i = 0; r >= 0 && i < nreqs; i++) {
		if (!order[i]->ok && !order[i]->want)
			r = round_allocate(&m, order[i]);
	}
	free(m.from);
	free(order);
	free(m.v);
	free(m.slot);
	if (r < 0) {
		for (size_t i = 0; i < nreqs; i++)
			reqs[i].ok = false;
		return -1;
	}
	return 0;
}
