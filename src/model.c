/*
 * model.c - identity, comparison, formatting and ownership of xl_table.
 *
 * Identity order is what lets reconcile() walk two tables side by side in
 * one pass: services and destinations are sorted with the same comparison
 * the merge uses, so a 110,000-object table is diffed in linear time after
 * an O(n log n) sort.
 */
#include "model.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xl_addr_parse(const char *s, uint16_t *af, union xl_inaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		*af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		*af = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *xl_addr_format(uint16_t af, const union xl_inaddr *a, char *buf,
			   size_t len)
{
	if (!inet_ntop(af == AF_INET6 ? AF_INET6 : AF_INET, a, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int addr_cmp(uint16_t af, const union xl_inaddr *a,
		    const union xl_inaddr *b)
{
	return memcmp(a, b, af == AF_INET6 ? 16 : 4);
}

int xl_service_cmp(const struct xl_service *a, const struct xl_service *b)
{
	int c;

	if ((c = cmp_u32(a->af, b->af)))
		return c;
	/* fwmark services sort after address services of the same family */
	if ((c = cmp_u32(a->fwmark != 0, b->fwmark != 0)))
		return c;
	if (a->fwmark)
		return cmp_u32(a->fwmark, b->fwmark);
	if ((c = cmp_u32(a->protocol, b->protocol)))
		return c;
	if ((c = addr_cmp(a->af, &a->addr, &b->addr)))
		return c;
	return cmp_u32(a->port, b->port);
}

int xl_dest_cmp(const struct xl_dest *a, const struct xl_dest *b)
{
	int c;

	if ((c = cmp_u32(a->af, b->af)))
		return c;
	if ((c = addr_cmp(a->af, &a->addr, &b->addr)))
		return c;
	return cmp_u32(a->port, b->port);
}

bool xl_service_attrs_equal(const struct xl_service *a,
			    const struct xl_service *b)
{
	return strncmp(a->sched, b->sched, XL_SCHED_MAX) == 0 &&
	       (a->flags & ~IP_VS_SVC_F_HASHED) ==
		   (b->flags & ~IP_VS_SVC_F_HASHED) &&
	       a->timeout == b->timeout && a->netmask == b->netmask;
}

bool xl_dest_attrs_equal(const struct xl_dest *a, const struct xl_dest *b)
{
	uint32_t fwd = a->fwd & IP_VS_CONN_F_FWD_MASK;

	if (fwd != (b->fwd & IP_VS_CONN_F_FWD_MASK) || a->weight != b->weight ||
	    a->u_thresh != b->u_thresh || a->l_thresh != b->l_thresh)
		return false;
	/* the kernel keeps (and we send) tunnel settings for tunnels only */
	return fwd != IP_VS_CONN_F_TUNNEL ||
	       (a->tun_type == b->tun_type && a->tun_port == b->tun_port &&
		a->tun_flags == b->tun_flags);
}

static const char *proto_name(uint16_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	default:
		return "PROTO?";
	}
}

static const char *hostport(uint16_t af, const union xl_inaddr *a,
			    uint16_t port, char *buf, size_t len)
{
	char ab[XL_ADDRSTR_MAX];

	xl_addr_format(af, a, ab, sizeof(ab));
	if (af == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ab, port);
	else
		snprintf(buf, len, "%s:%u", ab, port);
	return buf;
}

const char *xl_service_format(const struct xl_service *s, char *buf, size_t len)
{
	char hp[XL_ADDRSTR_MAX + 8];

	if (s->fwmark) {
		snprintf(buf, len, "FWM %u (%s)", s->fwmark,
			 s->af == AF_INET6 ? "inet6" : "inet");
		return buf;
	}
	snprintf(buf, len, "%s %s", proto_name(s->protocol),
		 hostport(s->af, &s->addr, s->port, hp, sizeof(hp)));
	return buf;
}

const char *xl_dest_format(const struct xl_dest *d, char *buf, size_t len)
{
	return hostport(d->af, &d->addr, d->port, buf, len);
}

const char *xl_fwd_name(uint32_t fwd)
{
	switch (fwd & IP_VS_CONN_F_FWD_MASK) {
	case IP_VS_CONN_F_MASQ:
		return "nat";
	case IP_VS_CONN_F_DROUTE:
		return "dr";
	case IP_VS_CONN_F_TUNNEL:
		return "tun";
	case IP_VS_CONN_F_LOCALNODE:
		return "local";
	default:
		return "bypass";
	}
}

static int svc_qcmp(const void *a, const void *b)
{
	return xl_service_cmp(a, b);
}

static int dest_qcmp(const void *a, const void *b)
{
	return xl_dest_cmp(a, b);
}

void xl_service_sort_dests(struct xl_service *s)
{
	if (s->ndests > 1)
		qsort(s->dests, s->ndests, sizeof(struct xl_dest), dest_qcmp);
}

void xl_table_sort(struct xl_table *t)
{
	if (t->nsvcs > 1)
		qsort(t->svcs, t->nsvcs, sizeof(*t->svcs), svc_qcmp);
	for (size_t i = 0; i < t->nsvcs; i++)
		xl_service_sort_dests(&t->svcs[i]);
}

const struct xl_service *xl_table_find(const struct xl_table *t,
				       const struct xl_service *key)
{
	if (!t || !t->nsvcs)
		return NULL;
	return bsearch(key, t->svcs, t->nsvcs, sizeof(*t->svcs), svc_qcmp);
}

int xl_service_copy(struct xl_service *dst, const struct xl_service *src)
{
	*dst = xl_service_key(src);
	if (!src->ndests)
		return 0;
	dst->dests = malloc(src->ndests * sizeof(*dst->dests));
	if (!dst->dests)
		return -ENOMEM;
	dst->ndests = src->ndests;
	memcpy(dst->dests, src->dests, src->ndests * sizeof(*dst->dests));
	return 0;
}

int xl_table_copy(struct xl_table *dst, const struct xl_table *src)
{
	dst->nsvcs = 0;
	dst->svcs = calloc(src->nsvcs ? src->nsvcs : 1, sizeof(*dst->svcs));
	if (!dst->svcs)
		return -ENOMEM;
	for (size_t i = 0; i < src->nsvcs; i++) {
		if (xl_service_copy(&dst->svcs[i], &src->svcs[i])) {
			xl_table_free(dst);
			return -ENOMEM;
		}
		dst->nsvcs++;
	}
	return 0;
}

void xl_service_free(struct xl_service *s)
{
	free(s->dests);
	s->dests = NULL;
	s->ndests = 0;
}

void xl_table_free(struct xl_table *t)
{
	for (size_t i = 0; i < t->nsvcs; i++)
		xl_service_free(&t->svcs[i]);
	free(t->svcs);
	t->svcs = NULL;
	t->nsvcs = 0;
}

size_t xl_table_objects(const struct xl_table *t)
{
	size_t n = t->nsvcs;

	for (size_t i = 0; i < t->nsvcs; i++)
		n += t->svcs[i].ndests;
	return n;
}

int xl_keys_push(struct xl_keys *k, const struct xl_service *s)
{
	if (XL_GROW(k->v, k->cap, k->n + 1, 16) < 0)
		return -ENOMEM;
	k->v[k->n++] = xl_service_key(s);
	return 0;
}

void xl_keys_free(struct xl_keys *k)
{
	free(k->v);
	k->v = NULL;
	k->n = k->cap = 0;
}

size_t xl_keys_unique(struct xl_service *k, size_t n)
{
	size_t m = 0;

	if (n > 1)
		qsort(k, n, sizeof(*k), svc_qcmp);
	for (size_t i = 0; i < n; i++)
		if (!m || xl_service_cmp(&k[m - 1], &k[i]))
			k[m++] = k[i];
	return m;
}

/*
 * t (sorted) with the entry of every key (sorted, unique) made src's: a
 * copy (with its destinations when deep, else the identity alone) where src
 * has one, nothing where it has none.  When no key adds or removes an entry
 * the entries are replaced in place; otherwise one merge builds the new
 * array, moving the untouched entries.  On -ENOMEM t is unchanged.
 */
int xl_table_patch(struct xl_table *t, const struct xl_table *src,
		   const struct xl_service *keys, size_t n, bool deep)
{
	struct xl_service *fresh = calloc(n ? n : 1, sizeof(*fresh));
	const struct xl_service **in_t = calloc(n ? n : 1, sizeof(*in_t));
	bool *has = calloc(n ? n : 1, sizeof(*has));
	struct xl_service *v = NULL;
	size_t same_shape = 0, i = 0, j = 0, m = 0;
	int rc = -ENOMEM;

	if (!fresh || !in_t || !has)
		goto out;
	for (size_t k = 0; k < n; k++) {
		const struct xl_service *w = xl_table_find(src, &keys[k]);

		in_t[k] = xl_table_find(t, &keys[k]);
		if (!w)
			continue;
		has[k] = true;
		if (deep) {
			if (xl_service_copy(&fresh[k], w) < 0)
				goto out;
		} else {
			fresh[k] = xl_service_key(w);
		}
	}
	for (size_t k = 0; k < n; k++)
		same_shape += has[k] == (in_t[k] != NULL);
	if (same_shape == n) {
		for (size_t k = 0; k < n; k++) {
			struct xl_service *e = (struct xl_service *)in_t[k];

			if (!e)
				continue;
			xl_service_free(e);
			*e = fresh[k];
		}
		rc = 0;
		goto out;
	}
	v = malloc((t->nsvcs + n ? t->nsvcs + n : 1) * sizeof(*v));
	if (!v)
		goto out;
	while (i < t->nsvcs || j < n) {
		int c = j == n		? -1
			: i == t->nsvcs ? 1
					: xl_service_cmp(&t->svcs[i], &keys[j]);

		if (c < 0) {
			v[m++] = t->svcs[i++];
			continue;
		}
		if (c == 0)
			xl_service_free(&t->svcs[i++]);
		if (has[j])
			v[m++] = fresh[j];
		j++;
	}
	free(t->svcs);
	t->svcs = v;
	t->nsvcs = m;
	rc = 0;
out:
	if (rc)
		for (size_t k = 0; k < n; k++)
			xl_service_free(&fresh[k]);
	free(fresh);
	free(in_t);
	free(has);
	return rc;
}
