/*
 * desired.c - the table the kernel should hold: configuration plus health.
 *
 * xl_desired_build() is the one place where "is this real server up?" turns
 * into IPVS destinations: servers that are down are left out (or kept at
 * weight 0 when their service inhibits on failure, so established
 * connections survive), and a service whose live weight falls below its
 * quorum gets its sorry server.  It is a pure function of the configuration
 * and the answers of is_up, so it is easy to test.  A whole table costs
 * O(n log n); after a health change or a reload the daemon rebuilds only the
 * entries of the services concerned (xl_desired_entry).
 */
#include "health.h"

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

/*
 * Fills out with vs's service and the destinations health lets through.
 * Room for one more than the configured servers is reserved so that the
 * sorry server never needs a realloc.
 */
static int desired_service(const struct xl_config *cfg, size_t v,
			   xl_is_up_fn is_up, const void *arg,
			   struct xl_service *out)
{
	const struct xl_vs_config *vs = &cfg->vs[v];
	uint64_t live = 0;
	bool up;

	*out = xl_service_key(&vs->svc);
	out->dests = malloc((vs->svc.ndests + 1) * sizeof(*out->dests));
	if (!out->dests)
		return -ENOMEM;
	for (size_t r = 0; r < vs->svc.ndests; r++) {
		up = !is_up || is_up(arg, v, r);
		if (!up && !vs->inhibit_on_failure)
			continue;
		out->dests[out->ndests] = vs->svc.dests[r];
		if (!up)
			out->dests[out->ndests].weight = 0;
		else if (vs->svc.dests[r].weight > 0)
			live += (uint64_t)vs->svc.dests[r].weight;
		out->ndests++;
	}
	/*
	 * IPVS holds one destination per identity: when the sorry server is
	 * also a configured real server that is still listed, that entry
	 * stands (up, or inhibited because its own check says it is down).
	 */
	if (vs->has_sorry && live < vs->quorum && !has_dest(out, &vs->sorry))
		out->dests[out->ndests++] = vs->sorry;
	return 0;
}

int xl_desired_entry(const struct xl_config *cfg, size_t v, xl_is_up_fn is_up,
		     const void *arg, struct xl_service *out)
{
	if (desired_service(cfg, v, is_up, arg, out))
		return -ENOMEM;
	xl_service_sort_dests(out);
	return 0;
}

int xl_desired_build(const struct xl_config *cfg, xl_is_up_fn is_up,
		     const void *arg, struct xl_table *out)
{
	out->nsvcs = 0;
	out->svcs = calloc(cfg->nvs ? cfg->nvs : 1, sizeof(*out->svcs));
	if (!out->svcs)
		return -ENOMEM;
	for (size_t v = 0; v < cfg->nvs; v++) {
		if (desired_service(cfg, v, is_up, arg, &out->svcs[v])) {
			xl_table_free(out);
			return -ENOMEM;
		}
		out->nsvcs++;
	}
	xl_table_sort(out);
	return 0;
}
