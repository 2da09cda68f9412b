/*
 * handover.c - what the kernel holds when extlbd starts and stops.
 *
 * A restart or an upgrade must not disturb traffic: the kernel's table is
 * read before anything is written, the services the configuration names
 * are adopted as they are (only their differences become ops), and a real
 * server the kernel holds at a weight above zero is trusted to be up until
 * its checks say otherwise, whatever its initial_state says for a fresh
 * start.  Services the configuration does not name are someone else's
 * unless owns_all.  At stop IPVS keeps balancing, unless on_stop says to
 * remove what extlbd applied; so do the VIPs on vip_interface (vipif.h).
 */
#include "extlbd.h"
#include "log.h"

static void log_adoption(const struct xl_daemon *d, const struct xl_table *k)
{
	char buf[XL_LABEL_MAX];
	size_t adopted = 0;

	for (size_t i = 0; i < d->cfg->nvs; i++) {
		const struct xl_vs_config *vs = &d->cfg->vs[i];

		if (!xl_table_find(k, &vs->svc))
			continue;
		adopted++;
		xl_debug(
		    "adopting virtual service %s from the kernel",
		    xl_label_service(vs->name, &vs->svc, buf, sizeof(buf)));
	}
	xl_info("kernel holds %zu services: %zu adopted, %zu not in the "
		"configuration (%s)",
		k->nsvcs, adopted, k->nsvcs - adopted,
		d->cfg->owns_all ? "owns_all: will be deleted" : "left alone");
}

/* A real server the kernel already holds for us was serving before this
 * start: it keeps serving until a check fails. */
static void trust_adopted(struct xl_daemon *d, const struct xl_table *k)
{
	for (size_t i = 0; i < d->cfg->nvs; i++) {
		const struct xl_vs_config *vs = &d->cfg->vs[i];
		const struct xl_service *ks = xl_table_find(k, &vs->svc);

		for (size_t j = 0; ks && j < vs->svc.ndests; j++)
			for (size_t m = 0; m < ks->ndests; m++)
				if (!xl_dest_cmp(&ks->dests[m],
						 &vs->svc.dests[j]) &&
				    ks->dests[m].weight > 0)
					xl_health_trust(d->health, i, j);
	}
}

int xl_daemon_adopt(struct xl_daemon *d)
{
	const struct xl_table *k;
	struct xl_sync_result r;

	if (!(d->rtnl = xl_rtnl_new()) ||
	    !(d->vipif = xl_vipif_new(&xl_rtnl_vipif_ops, d->rtnl))) {
		xl_err("start-up: out of memory");
		return -1;
	}
	/* read the kernel first: an empty desired table and owns_all off
	 * make this run a pure dump */
	if (xl_sync_run(d->sync, &(struct xl_table){0}, false, 0, &r) < 0)
		return -1;
	k = xl_sync_kernel(d->sync);
	log_adoption(d, k);
	if (xl_health_configure(d->health, d->cfg) < 0)
		return -1;
	trust_adopted(d, k);
	/* before IPVS: a service is never served to sources it refuses */
	if (!(d->nft = xl_nft_new()))
		return -1;
	xl_nft_start(d->nft, d->cfg);
	return xl_daemon_sync_full(d, "start-up", false) < 0 ? -1 : 0;
}

void xl_daemon_release(struct xl_daemon *d)
{
	struct xl_sync_result r;

	if (!d->sync)
		return;
	xl_vipif_release(d->vipif, d->cfg->on_stop == XL_ON_STOP_REMOVE);
	xl_nft_stop(d->nft, d->cfg->on_stop == XL_ON_STOP_REMOVE);
	xl_nft_free(d->nft);
	d->nft = NULL;
	if (d->cfg->on_stop == XL_ON_STOP_REMOVE) {
		/* an empty table with owns_all off deletes what we applied,
		 * and nothing of anyone else's */
		if (xl_sync_run(d->sync, &(struct xl_table){0}, false,
				XL_OPS_LOGGED, &r) == 0)
			xl_sync_log_result("stop (on_stop = remove)", &r);
	} else {
		xl_info("stop: IPVS keeps balancing (on_stop = keep)");
	}
}
