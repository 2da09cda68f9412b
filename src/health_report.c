/*
 * health_report.c - what the health engine tells, as opposed to what it
 * does (health.c): each service's quorum, judged on the live weight of its
 * servers (up, weighted, not in maintenance) and logged when it is lost or
 * regained; each server's record of results (the last one with its reason,
 * counts by outcome, a duration histogram) for status and metrics; and the
 * summary of servers down, every log_down_interval.
 */
#include "health_int.h"
#include "log.h"
#include "maint.h"
#include "op.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double xl_health_buckets[XL_HEALTH_NBUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5};

/* What s adds to its service's live weight: its weight while it is up
 * and not in maintenance. */
uint64_t hc_srv_live(const struct hc_server *s)
{
	return s->up && !s->off && s->id.weight > 0 ? (uint64_t)s->id.weight
						    : 0;
}

/* Is s, server of cfg->vs[v], in the operator's maintenance? */
bool hc_srv_off(const struct xl_health *h, const struct xl_config *cfg,
		size_t v, const struct hc_server *s)
{
	return h->maint && xl_maint_has(h->maint, cfg->vs[v].name, &s->id);
}

static void quorum_log(struct xl_health *h, size_t v, bool ok)
{
	const struct xl_vs_config *vs = &h->cfg->vs[v];
	const struct hc_vs *g = h->vss[v];
	char sv[XL_LABEL_MAX], sorry[XL_ADDRSTR_MAX + 48] = "", off[48] = "";
	unsigned long long live = g->live;
	size_t noff = 0;

	for (size_t r = 0; r < g->n; r++)
		noff += g->srv[r]->off;
	if (noff)
		snprintf(off, sizeof(off), " (%zu in maintenance)", noff);
	xl_label_service(vs->name, &vs->svc, sv, sizeof(sv));
	if (ok) {
		xl_info("virtual service %s regained its quorum: live weight "
			"%llu >= %u%s",
			sv, live, vs->quorum, off);
		return;
	}
	if (vs->has_sorry) {
		char d[XL_ADDRSTR_MAX + 8];

		snprintf(sorry, sizeof(sorry),
			 ", sorry server %s takes the traffic",
			 xl_dest_format(&vs->sorry, d, sizeof(d)));
	}
	xl_warn("virtual service %s lost its quorum: live weight %llu < %u%s%s",
		sv, live, vs->quorum, off, sorry);
}

/*
 * A service whose servers are not all known yet (fresh start, initial
 * state down) has no quorum to lose: it is only reported lost once every
 * server has had its say, so a start-up is not a flood of false alarms.
 */
void hc_quorum_check(struct xl_health *h, size_t v)
{
	struct hc_vs *q = h->vss[v];

	if (q->live >= h->cfg->vs[v].quorum) {
		if (q->q == Q_LOST)
			quorum_log(h, v, true);
		q->q = Q_OK;
	} else if (q->q == Q_OK || (q->q == Q_UNKNOWN && !q->unsettled)) {
		quorum_log(h, v, false);
		q->q = Q_LOST;
	}
}

void hc_srv_record(struct hc_server *s, const struct xl_check_result *r)
{
	struct hc_record *c = &s->rec;
	size_t b = 0;

	c->checked = true;
	c->status = r->status;
	c->at = ev_time();
	c->elapsed = r->elapsed > 0 ? r->elapsed : 0;
	c->sum += c->elapsed;
	if ((unsigned)r->status < XL_ARRAY_SIZE(c->results))
		c->results[r->status]++;
	while (b < XL_HEALTH_NBUCKETS && c->elapsed > xl_health_buckets[b])
		b++;
	if (b < XL_HEALTH_NBUCKETS)
		c->buckets[b]++;
	free(c->reason);
	/* no memory for it: the status shows no words, nothing else */
	c->reason = r->status != XL_CHECK_UP && r->reason[0]
			? strndup(r->reason, sizeof(r->reason))
			: NULL;
}

#define DOWN_NAMED 10 /* servers the summary names; the rest counted */

void hc_summary_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	xl_health_log_down(w->data, DOWN_NAMED);
}

/* The summary of servers down follows log_down_interval. */
void hc_summary_follow(struct xl_health *h)
{
	double secs = h->cfg->log_down_interval;

	if (secs == h->summary.repeat && ev_is_active(&h->summary))
		return;
	ev_timer_stop(h->loop, &h->summary);
	if (secs > 0) {
		ev_timer_set(&h->summary, secs, secs);
		ev_timer_start(h->loop, &h->summary);
	}
}

int xl_health_info(const struct xl_health *h, size_t vs, size_t rs,
		   struct xl_health_info *out)
{
	const struct hc_server *s = hc_srv_at(h, vs, rs);
	const struct hc_record *c;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -ENOENT;
	c = &s->rec;
	out->up = s->up;
	out->settled = s->settled;
	out->busy = s->busy;
	out->ok = s->ok;
	out->fail = s->fail;
	out->checked = c->checked;
	out->last_status = c->status;
	out->last_reason = c->reason ? c->reason : "";
	out->last_at = c->at;
	out->last_elapsed = c->elapsed;
	memcpy(out->results, c->results, sizeof(out->results));
	memcpy(out->buckets, c->buckets, sizeof(out->buckets));
	out->duration_sum = c->sum;
	return 0;
}

void xl_health_set_maint(struct xl_health *h, const struct xl_maint *m)
{
	h->maint = m;
}

void xl_health_maint_changed(struct xl_health *h, size_t vs)
{
	struct hc_vs *g;

	if (!h->cfg || vs >= h->nvs)
		return;
	g = h->vss[vs];
	g->live = 0;
	for (size_t r = 0; r < g->n; r++) {
		g->srv[r]->off = hc_srv_off(h, h->cfg, vs, g->srv[r]);
		g->live += hc_srv_live(g->srv[r]);
	}
	hc_vs_touch(h, vs);
}

enum xl_health_quorum xl_health_quorum(const struct xl_health *h, size_t vs)
{
	if (!h || !h->cfg || vs >= h->nvs)
		return XL_QUORUM_UNKNOWN;
	switch (h->vss[vs]->q) {
	case Q_OK:
		return XL_QUORUM_OK;
	case Q_LOST:
		return XL_QUORUM_LOST;
	default:
		return XL_QUORUM_UNKNOWN;
	}
}

void xl_health_stats(const struct xl_health *h, struct xl_health_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->servers = h->nsrv;
	for (size_t v = 0; v < h->nvs; v++)
		for (size_t r = 0; r < h->vss[v]->n; r++)
			st->up += h->vss[v]->srv[r]->up;
	st->down = st->servers - st->up;
	st->probes_started = h->started;
	st->probes_done = h->done;
	st->probe_errors = h->errors;
}

void xl_health_log_down(const struct xl_health *h, size_t cap)
{
	char who[XL_LABEL_MAX], line[4096] = "";
	size_t down = 0, named = 0, len = 0;

	for (size_t v = 0; v < h->nvs; v++)
		for (size_t r = 0; r < h->vss[v]->n; r++) {
			const struct hc_server *s = h->vss[v]->srv[r];
			const struct xl_vs_config *vs = &h->cfg->vs[v];
			int n;

			if (s->up || !s->settled || down++ >= cap)
				continue;
			n = snprintf(line + len, sizeof(line) - len, "%s%s",
				     named ? ", " : "",
				     xl_label_server(vs->name, &vs->svc, &s->id,
						     who, sizeof(who)));
			if (n > 0 && (size_t)n < sizeof(line) - len) {
				len += (size_t)n;
				named++;
			} else {
				line[len] = '\0';
				cap = named; /* full: the others are counted */
			}
		}
	if (!down)
		return;
	if (named < down)
		snprintf(line + len, sizeof(line) - len, " and %zu more",
			 down - named);
	xl_warn("health: %zu of %zu real servers down: %s", down, h->nsrv,
		line);
}
