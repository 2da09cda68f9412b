/*
 * drain.c - which removed real servers still finish their connections.
 *
 * Old and new configurations are matched through the new snapshot's index
 * by identity (xl_config_find), and only for the services a reload changed
 * or removed: a service the new snapshot took over unchanged (vs[i].prev)
 * cannot have lost a server.
 */
#include "drain.h"

#include "log.h"
#include "op.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool has_dest(const struct xl_service *s, const struct xl_dest *d)
{
	for (size_t i = 0; i < s->ndests; i++)
		if (!xl_dest_cmp(&s->dests[i], d))
			return true;
	return false;
}

static int push(struct xl_drain *dr, const struct xl_vs_config *vs,
		const struct xl_dest *d, double now)
{
	struct xl_drain_entry *e;

	if (XL_GROW(dr->v, dr->cap, dr->n + 1, 16) < 0)
		return -ENOMEM;
	e = &dr->v[dr->n];
	memset(e, 0, sizeof(*e));
	e->svc = xl_service_key(&vs->svc);
	e->dest = *d;
	e->dest.weight = 0;
	if (!(e->vs_name = strdup(vs->name)))
		return -ENOMEM;
	e->since = now;
	e->deadline = now + vs->drain_timeout;
	dr->n++;
	return 0;
}

static bool draining(const struct xl_drain *dr, const struct xl_service *s,
		     const struct xl_dest *d)
{
	for (size_t i = 0; i < dr->n; i++)
		if (!xl_service_cmp(&dr->v[i].svc, s) &&
		    !xl_dest_cmp(&dr->v[i].dest, d))
			return true;
	return false;
}

static void drop(struct xl_drain *dr, size_t i)
{
	free(dr->v[i].vs_name);
	dr->v[i] = dr->v[--dr->n];
}

/* Drains that the new configuration ends: the server or its service. */
static void forget_readded(struct xl_drain *dr, const struct xl_config *cfg)
{
	char b[XL_LABEL_MAX];

	for (size_t i = dr->n; i-- > 0;) {
		const struct xl_drain_entry *e = &dr->v[i];
		const struct xl_vs_config *vs = xl_config_find(cfg, &e->svc);

		if (vs && !has_dest(&vs->svc, &e->dest))
			continue;
		if (vs)
			xl_info("real server %s is configured again: drain "
				"ended",
				xl_label_server(e->vs_name, &e->svc, &e->dest,
						b, sizeof(b)));
		drop(dr, i);
	}
}

static int start_drains(struct xl_drain *dr, const struct xl_vs_config *ovs,
			const struct xl_vs_config *nvs, double now)
{
	char b[XL_LABEL_MAX];
	int rc;

	for (size_t j = 0; j < ovs->svc.ndests; j++) {
		const struct xl_dest *d = &ovs->svc.dests[j];

		if (has_dest(&nvs->svc, d) || draining(dr, &nvs->svc, d))
			continue;
		if (nvs->svc.protocol == IPPROTO_UDP || nvs->drain_timeout <= 0)
			continue; /* nothing to finish: deleted now */
		if ((rc = push(dr, nvs, d, now)) < 0)
			return rc;
		xl_info("real server %s removed from the configuration: "
			"draining at weight 0 for up to %.0f s",
			xl_label_server(nvs->name, &nvs->svc, d, b, sizeof(b)),
			nvs->drain_timeout);
	}
	return 0;
}

int xl_drain_update(struct xl_drain *dr, const struct xl_config *old,
		    const struct xl_config *cfg, double now)
{
	bool *kept = NULL;
	int rc = 0;

	if (old && cfg->prev == old && cfg->nsame) {
		kept = calloc(old->nvs ? old->nvs : 1, sizeof(*kept));
		if (!kept)
			return -ENOMEM;
		for (size_t v = 0; v < cfg->nvs; v++)
			if (cfg->vs[v].prev != XL_VS_NONE)
				kept[cfg->vs[v].prev] = true;
	}
	forget_readded(dr, cfg);
	for (size_t i = 0; old && i < old->nvs && !rc; i++) {
		const struct xl_vs_config *nvs;

		if (kept && kept[i])
			continue;
		if ((nvs = xl_config_find(cfg, &old->vs[i].svc)))
			rc = start_drains(dr, &old->vs[i], nvs, now);
	}
	free(kept);
	return rc;
}

/* Appends s's draining servers to it at weight 0 (its dests sorted). */
int xl_drain_apply_service(const struct xl_drain *dr, struct xl_service *s)
{
	bool added = false;

	for (size_t i = 0; i < dr->n; i++) {
		struct xl_dest *v;

		if (xl_service_cmp(&dr->v[i].svc, s) ||
		    has_dest(s, &dr->v[i].dest))
			continue;
		v = realloc(s->dests, (s->ndests + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->dests = v;
		s->dests[s->ndests++] = dr->v[i].dest;
		added = true;
	}
	if (added)
		xl_service_sort_dests(s);
	return 0;
}

int xl_drain_apply(const struct xl_drain *dr, struct xl_table *want)
{
	for (size_t i = 0; i < dr->n; i++) {
		const struct xl_service *s = xl_table_find(want, &dr->v[i].svc);

		/* the service's other draining servers come along (once) */
		if (s && xl_drain_apply_service(dr, (struct xl_service *)s) < 0)
			return -ENOMEM;
	}
	return 0;
}

size_t xl_drain_expire(struct xl_drain *dr, double now, xl_drain_conns_fn conns,
		       void *arg)
{
	char b[XL_LABEL_MAX];
	size_t ended = 0;

	for (size_t i = dr->n; i-- > 0;) {
		struct xl_drain_entry *e = &dr->v[i];
		long n = conns ? conns(arg, e) : -1;

		xl_label_server(e->vs_name, &e->svc, &e->dest, b, sizeof(b));
		if (n == 0) {
			xl_info("real server %s drained after %.0f s: deleted",
				b, now - e->since);
		} else if (now >= e->deadline) {
			xl_info("real server %s: drain_timeout passed with %ld "
				"active connections: deleted",
				b, n < 0 ? 0 : n);
		} else {
			continue;
		}
		drop(dr, i);
		ended++;
	}
	return ended;
}

void xl_drain_free(struct xl_drain *dr)
{
	while (dr->n)
		drop(dr, dr->n - 1);
	free(dr->v);
	dr->v = NULL;
	dr->cap = 0;
}
