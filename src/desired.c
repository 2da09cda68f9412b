/*
 * desired.c - the table the kernel should hold: configuration, health and
 * drains, and the patching that keeps it so entry by entry.
 *
 * xl_desired_build() is the one place where "is this real server up?" turns
 * into IPVS destinations: servers that are down are left out (or kept at
 * weight 0 when their service inhibits on failure, so established
 * connections survive), and a service whose live weight falls below its
 * quorum gets its sorry server.  It is a pure function of the configuration
 * and the answers of is_up, so it is easy to test.  A whole table costs
 * O(n log n); after a health change, a drain's end or a reload only the
 * entries of the services concerned are rebuilt (entry()), and a reload
 * moves the entries of the services it left unchanged, so that its cost
 * follows the change and not the table.
 */
#include "desired.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Does s already hold a destination with d's identity? */
static bool has_dest(const struct xl_service *s, const struct xl_dest *d)
{
	for (size_t i = 0; i < s->ndests; i++)
		if (!xl_dest_cmp(&s->dests[i], d))
			return true;
	return false;
}

/* The weight of cfg->vs[v]'s servers that serve: up, weighted and not in
 * maintenance.  Quorum is judged on it. */
static uint64_t live_weight(const struct xl_config *cfg, size_t v,
			    xl_is_up_fn is_up, const void *arg,
			    const struct xl_maint *maint)
{
	const struct xl_vs_config *vs = &cfg->vs[v];
	uint64_t live = 0;

	for (size_t r = 0; r < vs->svc.ndests; r++)
		if (vs->svc.dests[r].weight > 0 &&
		    (!is_up || is_up(arg, v, r)) &&
		    !xl_maint_has(maint, vs->name, &vs->svc.dests[r]))
			live += (uint64_t)vs->svc.dests[r].weight;
	return live;
}

uint64_t xl_desired_live(const struct xl_desired *d, size_t v)
{
	return live_weight(d->cfg, v, d->is_up, d->up_arg, d->maint);
}

/*
 * Fills out with vs's service and the destinations health lets through.
 * Room for one more than the configured servers is reserved so that the
 * sorry server never needs a realloc.  A server in maintenance stays at
 * weight 0 whatever its health says: the operator sees it there, its
 * connections finish, and enabling it is a weight change, not an add.
 */
static int desired_service(const struct xl_config *cfg, size_t v,
			   xl_is_up_fn is_up, const void *arg,
			   const struct xl_maint *maint, struct xl_service *out)
{
	const struct xl_vs_config *vs = &cfg->vs[v];
	bool up, off;

	*out = xl_service_key(&vs->svc);
	out->dests = malloc((vs->svc.ndests + 1) * sizeof(*out->dests));
	if (!out->dests)
		return -ENOMEM;
	for (size_t r = 0; r < vs->svc.ndests; r++) {
		up = !is_up || is_up(arg, v, r);
		off = xl_maint_has(maint, vs->name, &vs->svc.dests[r]);
		if (!up && !vs->inhibit_on_failure && !off)
			continue;
		out->dests[out->ndests] = vs->svc.dests[r];
		if (!up || off)
			out->dests[out->ndests].weight = 0;
		out->ndests++;
	}
	/*
	 * IPVS holds one destination per identity: when the sorry server is
	 * also a configured real server that is still listed, that entry
	 * stands (up, or inhibited because its own check says it is down).
	 */
	if (vs->has_sorry && !has_dest(out, &vs->sorry) &&
	    live_weight(cfg, v, is_up, arg, maint) < vs->quorum)
		out->dests[out->ndests++] = vs->sorry;
	return 0;
}

static int desired_entry(const struct xl_config *cfg, size_t v,
			 xl_is_up_fn is_up, const void *arg,
			 const struct xl_maint *maint, struct xl_service *out)
{
	if (desired_service(cfg, v, is_up, arg, maint, out))
		return -ENOMEM;
	xl_service_sort_dests(out);
	return 0;
}

int xl_desired_entry(const struct xl_config *cfg, size_t v, xl_is_up_fn is_up,
		     const void *arg, struct xl_service *out)
{
	return desired_entry(cfg, v, is_up, arg, NULL, out);
}

static int desired_build(const struct xl_config *cfg, xl_is_up_fn is_up,
			 const void *arg, const struct xl_maint *maint,
			 struct xl_table *out)
{
	out->nsvcs = 0;
	out->svcs = calloc(cfg->nvs ? cfg->nvs : 1, sizeof(*out->svcs));
	if (!out->svcs)
		return -ENOMEM;
	for (size_t v = 0; v < cfg->nvs; v++) {
		if (desired_service(cfg, v, is_up, arg, maint, &out->svcs[v])) {
			xl_table_free(out);
			return -ENOMEM;
		}
		out->nsvcs++;
	}
	xl_table_sort(out);
	return 0;
}

int xl_desired_build(const struct xl_config *cfg, xl_is_up_fn is_up,
		     const void *arg, struct xl_table *out)
{
	return desired_build(cfg, is_up, arg, NULL, out);
}

/*
 * The entry of d->cfg->vs[v] with every input applied: health and
 * maintenance, then the drains.  Every path that makes an entry goes
 * through this or xl_desired_rebuild.
 */
static int entry(const struct xl_desired *d, size_t v, struct xl_service *out)
{
	if (desired_entry(d->cfg, v, d->is_up, d->up_arg, d->maint, out) < 0 ||
	    (d->drain && xl_drain_apply_service(d->drain, out) < 0)) {
		xl_service_free(out);
		return -ENOMEM;
	}
	return 0;
}

int xl_desired_rebuild(struct xl_desired *d)
{
	struct xl_table t;

	if (desired_build(d->cfg, d->is_up, d->up_arg, d->maint, &t) < 0)
		return -ENOMEM;
	if (d->drain && xl_drain_apply(d->drain, &t) < 0) {
		xl_table_free(&t);
		return -ENOMEM;
	}
	xl_table_free(&d->table);
	d->table = t;
	return 0;
}

int xl_desired_refresh(struct xl_desired *d, const struct xl_service *keys,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct xl_service *e =
		    (struct xl_service *)xl_table_find(&d->table, &keys[i]);
		const struct xl_vs_config *vs =
		    xl_config_find(d->cfg, &keys[i]);
		struct xl_service fresh;

		if (!e || !vs)
			continue; /* not configured (any more) */
		if (entry(d, (size_t)(vs - d->cfg->vs), &fresh) < 0)
			return -ENOMEM;
		xl_service_free(e);
		*e = fresh;
	}
	return 0;
}

int xl_desired_drain_keys(const struct xl_desired *d, struct xl_keys *k)
{
	for (size_t i = 0; d->drain && i < d->drain->n; i++)
		if (xl_keys_push(k, &d->drain->v[i].svc) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * The entries for d->cfg from the table of the configuration before it:
 * the configuration's services in identity order (by_id) and the old table
 * are walked side by side; an unchanged service (vs->prev) takes its old
 * entry over, every other one is built and its key pushed, and so are the
 * keys of the old entries nothing took over, which are freed once the new
 * table stands.
 */
static int move_entries(struct xl_desired *d, struct xl_keys *k)
{
	const struct xl_config *c = d->cfg;
	struct xl_table *old = &d->table, nw = {0};
	bool *moved = calloc(old->nsvcs ? old->nsvcs : 1, sizeof(*moved));
	bool *built = calloc(c->nvs ? c->nvs : 1, sizeof(*built));
	size_t j = 0;
	int rc = -ENOMEM;

	nw.svcs = calloc(c->nvs ? c->nvs : 1, sizeof(*nw.svcs));
	if (!moved || !built || !nw.svcs || !c->by_id)
		goto out;
	for (size_t x = 0; x < c->nvs; x++) {
		size_t v = c->by_id[x];
		const struct xl_service *key = &c->vs[v].svc;
		int cmp = 1;

		while (j < old->nsvcs &&
		       (cmp = xl_service_cmp(&old->svcs[j], key)) < 0)
			j++;
		if (j < old->nsvcs && !cmp && c->vs[v].prev != XL_VS_NONE) {
			nw.svcs[x] = old->svcs[j];
			moved[j++] = true;
		} else if (entry(d, v, &nw.svcs[x]) < 0 ||
			   xl_keys_push(k, key) < 0) {
			built[x] = true;
			goto out;
		} else {
			built[x] = true;
		}
		nw.nsvcs++;
	}
	for (j = 0; j < old->nsvcs; j++)
		if (!moved[j] && xl_keys_push(k, &old->svcs[j]) < 0)
			goto out;
	/* committed: what was not moved goes */
	for (j = 0; j < old->nsvcs; j++)
		if (!moved[j])
			xl_service_free(&old->svcs[j]);
	free(old->svcs);
	*old = nw;
	nw = (struct xl_table){0};
	rc = 0;
out:
	for (size_t x = 0; nw.svcs && built && x < c->nvs; x++)
		if (built[x])
			xl_service_free(&nw.svcs[x]);
	free(nw.svcs);
	free(moved);
	free(built);
	return rc;
}

int xl_desired_reload(struct xl_desired *d, const struct xl_config *cfg,
		      struct xl_keys *k)
{
	size_t nstale;

	d->cfg = cfg;
	/* the drains' services first: the move below builds the entries of
	 * the changed services only, and keeps the others as they were */
	if (xl_desired_drain_keys(d, k) < 0)
		return -ENOMEM;
	nstale = k->n;
	if (move_entries(d, k) < 0)
		return -ENOMEM;
	return xl_desired_refresh(d, k->v, nstale);
}

void xl_desired_free(struct xl_desired *d)
{
	xl_table_free(&d->table);
}
