/*
 * admit.c - caps and port clashes, decided by seniority.
 *
 * Each round sorts the candidates by seniority and walks them once,
 * admitting greedily: a senior Service is never refused for a junior's
 * sake, and the result does not depend on the order the API server
 * listed the Services in.  Seniority prefers the status over the age: a
 * Service that is serving keeps serving even when an older one, refused
 * until now (say, over a cap since lowered), comes back.
 */
#include "k8s/admit.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NULL (no timestamp) sorts last: an object without one is no elder */
static int created_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return (a ? 0 : 1) - (b ? 0 : 1);
	return strcmp(a, b);
}

static int seniority_cmp(const struct k8s_admit *x, const struct k8s_admit *y)
{
	int r = (int)y->holder - (int)x->holder;

	if (!r)
		r = created_cmp(x->svc->created, y->svc->created);
	if (!r)
		r = strcmp(x->svc->ns, y->svc->ns);
	return r ? r : strcmp(x->svc->name, y->svc->name);
}

static int by_seniority(const void *a, const void *b)
{
	return seniority_cmp(*(struct k8s_admit *const *)a,
			     *(struct k8s_admit *const *)b);
}

static int by_ns_then_seniority(const void *a, const void *b)
{
	const struct k8s_admit *x = *(struct k8s_admit *const *)a;
	const struct k8s_admit *y = *(struct k8s_admit *const *)b;
	int r = strcmp(x->svc->ns, y->svc->ns);

	return r ? r : seniority_cmp(x, y);
}

/* The entries not refused yet, sorted by cmp; NULL when out of memory. */
static struct k8s_admit **sorted(struct k8s_admit *v, size_t n, size_t *m,
				 int (*cmp)(const void *, const void *))
{
	struct k8s_admit **o = calloc(n + 1, sizeof(*o));

	*m = 0;
	for (size_t i = 0; o && i < n; i++) {
		if (!v[i].reason)
			o[(*m)++] = &v[i];
	}
	if (o)
		qsort(o, *m, sizeof(*o), cmp);
	return o;
}

static void refuse_ns(struct k8s_admit **o, size_t m, size_t max)
{
	size_t count = 0;

	for (size_t i = 0; i < m; i++) {
		if (i && strcmp(o[i - 1]->svc->ns, o[i]->svc->ns))
			count = 0;
		if (++count <= max)
			continue;
		o[i]->reason = "NamespaceLimit";
		snprintf(o[i]->why, sizeof(o[i]->why),
			 "namespace %s already has %zu Services served, the "
			 "most --max-services-per-namespace allows",
			 o[i]->svc->ns, max);
	}
}

static void refuse_total(struct k8s_admit **o, size_t m, size_t max)
{
	size_t total = 0;

	for (size_t i = 0; i < m; i++) {
		if (o[i]->reason)
			continue;
		if (o[i]->nvs <= max - total) {
			total += o[i]->nvs;
			continue;
		}
		o[i]->reason = "ServiceLimit";
		snprintf(o[i]->why, sizeof(o[i]->why),
			 "its %zu port(s) would take the virtual services "
			 "written past --max-services %zu (%zu in use)",
			 o[i]->nvs, max, total);
	}
}

int k8s_admit_caps(const struct k8s_policy *p, struct k8s_admit *v, size_t n)
{
	struct k8s_admit **o;
	size_t m;

	if (p->max_per_ns) {
		o = sorted(v, n, &m, by_ns_then_seniority);
		if (!o)
			return -1;
		refuse_ns(o, m, p->max_per_ns);
		free(o);
	}
	if (p->max_services) {
		o = sorted(v, n, &m, by_seniority);
		if (!o)
			return -1;
		refuse_total(o, m, p->max_services);
		free(o);
	}
	return 0;
}

/* ---- clashes ------------------------------------------------------------ */

/* One virtual service of one entry, for sorting by identity. */
struct flat {
	const struct k8s_ident *id;
	size_t entry, pos;
};

/* The service extlbd would make of id, as far as its identity goes. */
static struct xl_service ident_service(const struct k8s_ident *id)
{
	static const uint16_t protos[] = {
	    [K8S_TCP] = IPPROTO_TCP,
	    [K8S_UDP] = IPPROTO_UDP,
	    [K8S_SCTP] = IPPROTO_SCTP,
	};
	struct xl_service s = {
	    .af = (uint16_t)id->vip.af,
	    .protocol = protos[id->proto],
	    .port = id->port,
	};

	memcpy(s.addr.b, id->vip.b, sizeof(s.addr.b));
	return s;
}

/* Two virtual services are the same when extlbd takes them for the
 * same: its own comparison decides, so that the two never disagree. */
int k8s_ident_cmp(const struct k8s_ident *x, const struct k8s_ident *y)
{
	struct xl_service a = ident_service(x), b = ident_service(y);

	return xl_service_cmp(&a, &b);
}

static int flat_cmp(const void *a, const void *b)
{
	return k8s_ident_cmp(((const struct flat *)a)->id,
			     ((const struct flat *)b)->id);
}

/* Every identity's group: group[pos of a virtual service] is the same
 * number for the same identity.  *first[entry] is its first pos. */
static size_t *identity_groups(const struct k8s_admit *v, size_t n,
			       size_t *first, size_t *total)
{
	struct flat *f;
	size_t *group, k = 0, g = 0;

	*total = 0;
	for (size_t i = 0; i < n; i++) {
		first[i] = *total;
		*total += v[i].reason ? 0 : v[i].nvs;
	}
	f = calloc(*total + 1, sizeof(*f));
	group = calloc(*total + 1, sizeof(*group));
	if (!f || !group) {
		free(f);
		free(group);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; !v[i].reason && j < v[i].nvs; j++, k++)
			f[k] = (struct flat){&v[i].idents[j], i, k};
	}
	qsort(f, *total, sizeof(*f), flat_cmp);
	for (size_t i = 0; i < *total; i++) {
		if (i && k8s_ident_cmp(f[i - 1].id, f[i].id))
			g++;
		group[f[i].pos] = g;
	}
	free(f);
	return group;
}

/* The entry that holds a group e's virtual services share, or NULL. */
static const struct k8s_admit *clash(const struct k8s_admit *e,
				     const size_t *group, size_t first,
				     struct k8s_admit *const *owner,
				     const struct k8s_ident **where)
{
	for (size_t j = 0; j < e->nvs; j++) {
		const struct k8s_admit *o = owner[group[first + j]];

		if (o && o != e) {
			*where = &e->idents[j];
			return o;
		}
	}
	return NULL;
}

static void refuse_clash(struct k8s_admit *e, const struct k8s_admit *holder,
			 const struct k8s_ident *id)
{
	char buf[K8S_ADDRSTR_MAX];

	e->reason = "PortConflict";
	snprintf(e->why, sizeof(e->why),
		 "%s port %u/%s is served by %s/%s already (a shared VIP "
		 "shares its address, not its ports)",
		 k8s_addr_str(&id->vip, buf), id->port,
		 k8s_proto_name(id->proto), holder->svc->ns, holder->svc->name);
}

int k8s_admit_clashes(struct k8s_admit *v, size_t n)
{
	size_t *first = calloc(n + 1, sizeof(*first)), total, m;
	size_t *group = first ? identity_groups(v, n, first, &total) : NULL;
	struct k8s_admit **owner =
	    group ? calloc(total + 1, sizeof(*owner)) : NULL;
	struct k8s_admit **o = owner ? sorted(v, n, &m, by_seniority) : NULL;
	int r = o ? 0 : -1;

	for (size_t i = 0; o && i < m; i++) {
		size_t e = (size_t)(o[i] - v);
		const struct k8s_ident *id = NULL;
		const struct k8s_admit *h =
		    clash(o[i], group, first[e], owner, &id);

		if (h) {
			refuse_clash(o[i], h, id);
			continue;
		}
		for (size_t j = 0; j < o[i]->nvs; j++)
			owner[group[first[e] + j]] = o[i];
	}
	free(o);
	free(owner);
	free(group);
	free(first);
	return r;
}
