/*
 * apply.c - the daemon's runs: the kernel brought to the desired table,
 * whole or for the services that can differ.
 *
 * Every change reaches the kernel here.  A reload, a health change or the
 * end of a drain rebuilds the entries it touched (desired.h) and reconciles
 * those services alone (xl_sync_run_keys); the retry and the rolling resync
 * read a few services back from the kernel first (xl_sync_check_keys).
 * Whatever cannot be done narrowly (out of memory, no memory of the
 * kernel) falls back to a full run, and after every run that left
 * something undone extlbd.c arms the retry.
 */
#include "extlbd.h"
#include "log.h"

#include <errno.h>

/* Logs the run and asks for a retry when it could not happen, or when the
 * kernel refused an op (xl_sync_pending). */
static int sync_done(struct xl_daemon *d, const char *why, bool quiet, int rc,
		     const struct xl_sync_result *r)
{
	if (rc < 0 || xl_sync_pending(d->sync)->n)
		xl_daemon_retry_later(d);
	if (rc < 0)
		return rc;
	if (d->report) { /* a control client waits for the sum */
		for (size_t i = 0; i < XL_OP_KINDS; i++)
			d->report->run.count[i] += r->count[i];
		d->report->run.nops += r->nops;
		d->report->run.failed += r->failed;
		d->report->run.ms += r->ms;
	}
	xl_metrics_count_run(&d->counters, why, r);
	if (!quiet || r->nops)
		xl_sync_log_result(why, r);
	return 0;
}

const char *xl_daemon_svc_name(void *arg, const struct xl_service *svc)
{
	const struct xl_daemon *d = arg;
	const struct xl_vs_config *vs = xl_config_find(d->cfg, svc);

	if (!vs && d->cfg_prev)
		vs = xl_config_find(d->cfg_prev, svc);
	return vs ? vs->name : NULL;
}

/* The run that follows is why's (its progress lines say so). */
static void run_as(struct xl_daemon *d, const char *why)
{
	xl_sync_set_progress(d->sync, why, d->cfg->log_progress_interval);
}

int xl_daemon_sync_full(struct xl_daemon *d, const char *why, bool quiet)
{
	struct xl_sync_result r;
	int rc;

	if (xl_desired_rebuild(&d->want) < 0) {
		xl_err("%s: out of memory", why);
		return sync_done(d, why, quiet, -ENOMEM, NULL);
	}
	run_as(d, why);
	rc = xl_sync_run(d->sync, &d->want.table, d->cfg->owns_all,
			 XL_OPS_LOGGED, &r);
	xl_vipif_sync(d->vipif, &d->want); /* after IPVS, whatever it did */
	return sync_done(d, why, quiet, rc, &r);
}

int xl_daemon_sync_keys(struct xl_daemon *d, const char *why, bool quiet,
			const struct xl_keys *k, size_t nstale)
{
	struct xl_sync_result r;
	int rc;

	if (xl_desired_refresh(&d->want, k->v, nstale) < 0)
		return xl_daemon_sync_full(d, why, quiet);
	run_as(d, why);
	rc = xl_sync_run_keys(d->sync, &d->want.table, k->v, k->n,
			      d->cfg->owns_all, XL_OPS_LOGGED, &r);
	xl_vipif_sync_keys(d->vipif, &d->want, k->v, k->n);
	return sync_done(d, why, quiet, rc, &r);
}

/* keys[0..n) read back from the kernel, then reconciled alone. */
static void check_keys(struct xl_daemon *d, const char *why,
		       const struct xl_service *keys, size_t n)
{
	struct xl_sync_result r;

	run_as(d, why);
	sync_done(d, why, true,
		  xl_sync_check_keys(d->sync, &d->want.table, keys, n,
				     d->cfg->owns_all, XL_OPS_LOGGED, &r),
		  &r);
}

void xl_daemon_kset_apply(struct xl_daemon *d, const char *why)
{
	if (!d->kset.ops)
		xl_kset_init(&d->kset, &xl_ipvs_timeout_ops, d->ipvs);
	/* snat's masquerade needs IPVS's conntrack entries */
	xl_kset_require(&d->kset, XL_KS_CONNTRACK,
			xl_nft_snat_used(d->cfg) ? 1 : -1, "snat");
	xl_kset_apply(&d->kset, &d->cfg->kset, why);
}

/*
 * Small tables are compared with a whole dump every resync_interval.  A
 * large one is read back in slices of at most XL_RESYNC_SLICE services,
 * spread over the interval, so that every owned service is still looked at
 * once per interval but the loop is never held up by a dump of the whole
 * table (seconds at 500,000 objects).  owns_all needs the whole table (to
 * see foreign services), and without a memory of the kernel (a socket
 * error) the next run dumps anyway.
 */
size_t xl_daemon_resync_slices(const struct xl_daemon *d)
{
	if (d->cfg->owns_all || !xl_sync_kernel(d->sync))
		return 1;
	return (d->want.table.nsvcs + XL_RESYNC_SLICE - 1) / XL_RESYNC_SLICE;
}

bool xl_daemon_resync_step(struct xl_daemon *d)
{
	const struct xl_table *t = &d->want.table;
	size_t slices = xl_daemon_resync_slices(d), n, pos = d->resync_pos;

	if (slices <= 1 || pos == 0 || pos >= t->nsvcs) { /* once a round */
		xl_daemon_kset_apply(d, "resync");
		xl_nft_resync(d->nft, d->cfg);
	}
	if (slices <= 1) {
		/* compare with what the kernel really holds, not what we
		 * remember */
		xl_sync_invalidate(d->sync);
		xl_daemon_sync_full(d, "resync", true);
		d->resync_pos = 0;
		return true;
	}
	n = (t->nsvcs + slices - 1) / slices;
	if (pos >= t->nsvcs)
		pos = 0;
	if (!pos) /* once a round: the interface's addresses, one dump */
		xl_vipif_sync(d->vipif, &d->want);
	if (n > t->nsvcs - pos)
		n = t->nsvcs - pos;
	d->resync_pos = pos + n;
	check_keys(d, "resync", &t->svcs[pos], n);
	return false;
}

/*
 * A refusal that lasts (a scheduler module that is missing) costs a few
 * requests every retry, not a dump of the table.  Without a memory of the
 * kernel (a sync that failed whole) everything is looked at.
 */
void xl_daemon_retry(struct xl_daemon *d)
{
	const struct xl_keys *p = xl_sync_pending(d->sync);

	if (!xl_sync_kernel(d->sync) || !p->n)
		xl_daemon_sync_full(d, "retry", true);
	else
		check_keys(d, "retry", p->v, p->n);
}

void xl_daemon_health_changed(struct xl_daemon *d, const size_t *vs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (xl_keys_push(&d->hkeys, &d->cfg->vs[vs[i]].svc) < 0) {
			/* the next resync sees to it */
			xl_err("health: out of memory");
			break;
		}
}

/* Active connections of a draining server, as the kernel counts them. */
static long drain_conns(void *arg, const struct xl_drain_entry *e)
{
	struct xl_daemon *d = arg;
	struct xl_service s;
	long n = -1;

	if (xl_ipvs_dump_service(d->ipvs, &e->svc, &s, NULL) < 0)
		return -1;
	for (size_t i = 0; i < s.ndests; i++)
		if (!xl_dest_cmp(&s.dests[i], &e->dest))
			n = s.dests[i].active_conns;
	xl_service_free(&s);
	return n < 0 ? 0 : n; /* gone from the kernel: nothing to wait for */
}

void xl_daemon_drain_step(struct xl_daemon *d, double now)
{
	struct xl_keys k = {0};

	/* the keys before the drains that end are forgotten */
	if (xl_desired_drain_keys(&d->want, &k) < 0) {
		xl_keys_free(&k);
		return; /* the next tick tries again */
	}
	if (xl_drain_expire(&d->drain, now, drain_conns, d))
		xl_daemon_sync_keys(d, "drain", false, &k, k.n);
	xl_keys_free(&k);
}
