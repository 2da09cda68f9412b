/*
 * health.c - every real server's state, from its checks, on the loop.
 *
 * Each real server of the running configuration has one hc_server: a probe
 * (check.h) and a timer embedded in it, its up/down state and the runs of
 * successes and failures that rise/fall hysteresis needs.  The timer starts
 * a probe; the probe's result moves the state machine and arms the timer
 * for the next start, counted from the start of the previous check so that
 * the period is the interval whatever the check's duration, and a probe
 * that is still running is never started twice.  First checks are spread
 * over the interval and later ones jittered, so 10,000 servers never fire in
 * the same millisecond.  State changes are logged once, in words, and
 * reported to the owner in batches from an ev_prepare, naming the services
 * concerned.  Servers are grouped by virtual service (hc_vs).  A reload
 * takes the group of a service it left unchanged over whole, and joins the
 * servers of the other services to the old ones by identity with a sort, so
 * unchanged servers keep their state and schedule, and the cost follows the
 * change, not the table.  Quorum, the servers' records and the summary of
 * servers down are health_report.c's.
 */
#include "health_int.h"
#include "log.h"
#include "op.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JITTER 0.05	   /* later checks land within +-5% of their period */
#define ERROR_LOG_GAP 10.0 /* seconds between warnings of failed machinery */

/* What a configure builds before it commits. */
struct plan {
	struct hc_vs **vss; /* for the new cfg: old groups kept, or fresh */
	size_t nvs;
	size_t *dirty;
	bool linked; /* the new cfg was reloaded from h->cfg */
};

static const struct xl_health_probe_ops real_ops = {
    .start = xl_probe_start,
    .cancel = xl_probe_cancel,
};

/* ---- small helpers ---------------------------------------------------- */

/* xorshift64*: jitter needs to be spread, not secret */
static double rnd_unit(struct xl_health *h)
{
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return (double)((h->rng * 2685821657736338717ULL) >> 11) /
	       (double)(1ULL << 53);
}

static int ident_cmp(const struct xl_service *sa, const struct xl_dest *da,
		     const struct xl_service *sb, const struct xl_dest *db)
{
	int c = xl_service_cmp(sa, sb);

	return c ? c : xl_dest_cmp(da, db);
}

static int srv_qcmp(const void *a, const void *b)
{
	const struct hc_server *x = *(struct hc_server *const *)a;
	const struct hc_server *y = *(struct hc_server *const *)b;

	return ident_cmp(&x->key, &x->id, &y->key, &y->id);
}

struct srv_ident {
	const struct xl_service *svc;
	const struct xl_dest *dest;
};

static int srv_ident_cmp(const void *key, const void *elem)
{
	const struct srv_ident *k = key;
	const struct hc_server *s = *(struct hc_server *const *)elem;

	return ident_cmp(k->svc, k->dest, &s->key, &s->id);
}

/* `real server 10.20.0.5:80 of "web" (TCP 192.168.10.100:8000)` */
const char *hc_srv_label(const struct hc_server *s, char *buf, size_t len)
{
	const struct xl_vs_config *vs = &s->h->cfg->vs[s->g->v];
	char who[XL_LABEL_MAX];

	snprintf(buf, len, "real server %s",
		 xl_label_server(vs->name, &vs->svc, &s->id, who, sizeof(who)));
	return buf;
}

/* "1 failure", "3 failures in a row" */
static const char *in_a_row(char *buf, size_t len, uint32_t n, const char *what)
{
	if (n == 1)
		snprintf(buf, len, "1 %s", what);
	else
		snprintf(buf, len, "%u %ss in a row", n, what);
	return buf;
}

/* ---- batching: quorum and the owner's callback ------------------------ */

static void notify_start(struct xl_health *h)
{
	if (!ev_is_active(&h->notify))
		ev_prepare_start(h->loop, &h->notify);
}

void hc_vs_touch(struct xl_health *h, size_t v)
{
	if (!h->vss[v]->dirty) {
		h->vss[v]->dirty = true;
		h->dirty[h->ndirty++] = v;
	}
	notify_start(h);
}

static void notify_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct xl_health *h = container_of(w, struct xl_health, notify);
	size_t n = h->ndirty;

	(void)revents;
	ev_prepare_stop(loop, w);
	for (size_t i = 0; i < n; i++) {
		h->vss[h->dirty[i]]->dirty = false;
		hc_quorum_check(h, h->dirty[i]);
	}
	h->ndirty = 0;
	if (h->pending) {
		h->pending = false;
		/* last: it may reconfigure us (h->dirty stays valid until
		 * then, and nothing touches it before) */
		if (h->changed)
			h->changed(h->arg, h->dirty, n);
	}
}

/* ---- the state machine ------------------------------------------------ */

static void srv_set_state(struct hc_server *s, bool up, const char *why)
{
	struct xl_health *h = s->h;
	struct hc_vs *q = s->g;
	char who[XL_LABEL_MAX + 16];

	q->live -= hc_srv_live(s);
	s->up = up;
	q->live += hc_srv_live(s);
	hc_srv_label(s, who, sizeof(who));
	if (up)
		xl_info("%s is up: %s", who, why);
	else
		xl_warn("%s is down: %s", who, why);
	h->pending = true;
	hc_vs_touch(h, q->v);
}

static void srv_settle(struct hc_server *s)
{
	if (s->settled)
		return;
	s->settled = true;
	s->g->unsettled--;
	hc_vs_touch(s->h, s->g->v);
}

/*
 * A server that has never failed comes up on its first success, so that a
 * fresh start is not delayed by rise x interval; once it has failed, it
 * must prove itself rise times in a row.
 */
static void srv_success(struct hc_server *s)
{
	uint32_t rise = s->cfg->rise ? s->cfg->rise : 1;
	char why[64];

	if (s->ok < UINT32_MAX)
		s->ok++;
	s->fail = 0;
	srv_settle(s);
	if (!s->up && (s->ok >= rise || !s->failed))
		srv_set_state(
		    s, true,
		    in_a_row(why, sizeof(why), s->ok, "successful check"));
}

static void srv_never_up(struct hc_server *s, const struct xl_check_result *r)
{
	char who[XL_LABEL_MAX + 16];

	xl_warn("%s is down: %s (since %s)", hc_srv_label(s, who, sizeof(who)),
		r->reason[0] ? r->reason : "check failed",
		s->from_start ? "start-up" : "it was added");
}

static void srv_failure(struct hc_server *s, const struct xl_check_result *r)
{
	uint32_t fall = s->cfg->fall ? s->cfg->fall : 1;
	char why[sizeof(r->reason) + 64], n[48];

	if (s->fail < UINT32_MAX)
		s->fail++;
	s->ok = 0;
	srv_settle(s);
	if (!s->up) {
		/* never up since it was configured: it has no change of
		 * state to log, but the reason it is out is news, once */
		if (!s->failed)
			srv_never_up(s, r);
		s->failed = true;
		return;
	}
	if (s->fail < fall)
		return;
	s->failed = true;
	snprintf(why, sizeof(why), "%s (%s)",
		 r->reason[0] ? r->reason : "check failed",
		 in_a_row(n, sizeof(n), s->fail, "failure"));
	srv_set_state(s, false, why);
}

/*
 * The machinery failed (no fd, no memory, fork): nothing is learned about
 * the server, so no counter moves.  When it fails, it usually fails for
 * many servers at once: one warning per ERROR_LOG_GAP says so.
 */
static void srv_error(struct hc_server *s, const struct xl_check_result *r)
{
	struct xl_health *h = s->h;
	ev_tstamp now = ev_now(h->loop);
	char who[XL_LABEL_MAX + 16], more[64] = "";

	h->errors++;
	if (h->err_logged && now - h->err_last < ERROR_LOG_GAP) {
		h->err_quiet++;
		return;
	}
	if (h->err_quiet)
		snprintf(more, sizeof(more), " (and %lu more errors)",
			 h->err_quiet);
	xl_warn("health check of %s could not run: %s; state unchanged%s",
		hc_srv_label(s, who, sizeof(who)),
		r->reason[0] ? r->reason : "unknown error", more);
	h->err_logged = true;
	h->err_last = now;
	h->err_quiet = 0;
}

static void srv_apply(struct hc_server *s, const struct xl_check_result *r)
{
	hc_srv_record(s, r);
	switch (r->status) {
	case XL_CHECK_UP:
		srv_success(s);
		break;
	case XL_CHECK_DOWN:
		srv_failure(s, r);
		break;
	default:
		srv_error(s, r);
		break;
	}
}

/* ---- scheduling ------------------------------------------------------- */

/*
 * In transition (up but failing, down but succeeding) a server is checked
 * at fast_interval so that it is decided sooner; stably down, at
 * down_interval, so dead servers cost less.
 */
static double srv_period(const struct hc_server *s)
{
	const struct xl_check_config *c = s->cfg;

	if (s->up ? s->fail > 0 : s->ok > 0)
		return c->fast_interval > 0 ? c->fast_interval : c->interval;
	if (!s->up && s->failed)
		return c->down_interval > 0 ? c->down_interval : c->interval;
	return c->interval;
}

/* From the last start, so a check's duration does not stretch the period. */
static void srv_schedule(struct hc_server *s)
{
	struct ev_loop *loop = s->h->loop;
	double period = srv_period(s) * (1 + JITTER * (2 * rnd_unit(s->h) - 1));
	double delay = s->started + period - ev_now(loop);

	ev_timer_stop(loop, &s->timer);
	ev_timer_set(&s->timer, delay > 0 ? delay : 0, 0);
	ev_timer_start(loop, &s->timer);
}

static void srv_done(struct xl_probe *p, const struct xl_check_result *r)
{
	struct hc_server *s = container_of(p, struct hc_server, probe);

	s->busy = false;
	s->h->done++;
	srv_apply(s, r);
	srv_schedule(s);
}

/*
 * The timer is armed only while no probe runs (srv_done re-arms it), so a
 * probe outliving its period delays the next start instead of doubling up.
 */
static void srv_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hc_server *s = container_of(w, struct hc_server, timer);
	struct xl_health *h = s->h;
	struct xl_check_result r = {.status = XL_CHECK_ERROR};
	int err;

	(void)revents;
	if (s->busy)
		return;
	s->started = ev_now(loop);
	err = h->ops.start(h->ck, &s->probe);
	if (!err) {
		h->started++;
		s->busy = true;
		return;
	}
	snprintf(r.reason, sizeof(r.reason), "could not start the check: %s",
		 strerror(err < 0 ? -err : err));
	srv_error(s, &r);
	srv_schedule(s);
}

static void srv_stop(struct xl_health *h, struct hc_server *s)
{
	if (s->busy)
		h->ops.cancel(&s->probe);
	s->busy = false;
	ev_timer_stop(h->loop, &s->timer);
}

/* ---- life cycle ------------------------------------------------------- */

struct xl_health *xl_health_new(struct ev_loop *loop, struct xl_checker *ck,
				xl_health_changed_fn changed, void *arg)
{
	struct xl_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->loop = loop;
	h->ck = ck;
	h->changed = changed;
	h->arg = arg;
	h->ops = real_ops;
	h->rng = ((uint64_t)(ev_time() * 1e6) ^ (uintptr_t)h) | 1;
	ev_prepare_init(&h->notify, notify_cb);
	ev_init(&h->summary, hc_summary_cb);
	h->summary.data = h;
	return h;
}

void xl_health_set_probe_ops(struct xl_health *h,
			     const struct xl_health_probe_ops *ops)
{
	h->ops = ops ? *ops : real_ops;
}

static void group_free(struct hc_vs *g)
{
	if (g)
		free(g->srv);
	free(g);
}

void xl_health_free(struct xl_health *h)
{
	if (!h)
		return;
	for (size_t v = 0; v < h->nvs; v++) {
		for (size_t r = 0; r < h->vss[v]->n; r++) {
			srv_stop(h, h->vss[v]->srv[r]);
			free(h->vss[v]->srv[r]->rec.reason);
			free(h->vss[v]->srv[r]);
		}
		group_free(h->vss[v]);
	}
	ev_prepare_stop(h->loop, &h->notify);
	ev_timer_stop(h->loop, &h->summary);
	free(h->vss);
	free(h->dirty);
	free(h);
}

/* ---- configure: join the running servers to the new configuration ------ */

static bool group_fresh(const struct plan *pl, size_t v)
{
	return !pl->vss[v]->kept;
}

/* Undoes plan_match: fresh groups and new servers go, marks too. */
static void plan_rollback(struct xl_health *h, struct plan *pl)
{
	for (size_t v = 0; pl->vss && v < pl->nvs; v++) {
		struct hc_vs *g = pl->vss[v];

		if (!g || g->kept)
			continue;
		for (size_t r = 0; r < g->n; r++)
			if (g->srv[r] && !g->srv[r]->h)
				free(g->srv[r]);
		group_free(g);
	}
	for (size_t p = 0; p < h->nvs; p++) {
		struct hc_vs *g = h->vss[p];

		g->kept = false;
		for (size_t r = 0; r < g->n; r++)
			g->srv[r]->matched = g->srv[r]->replaced = false;
	}
	free(pl->vss);
	free(pl->dirty);
	memset(pl, 0, sizeof(*pl));
}

/*
 * The groups of services the new configuration took over unchanged from
 * the running one (cfg->prev is h->cfg, vs[v].prev set) are kept whole.
 */
static int plan_alloc(struct xl_health *h, const struct xl_config *cfg,
		      struct plan *pl)
{
	size_t nv = cfg->nvs ? cfg->nvs : 1, n;

	memset(pl, 0, sizeof(*pl));
	pl->nvs = cfg->nvs;
	pl->vss = calloc(nv, sizeof(*pl->vss));
	pl->dirty = malloc(nv * sizeof(*pl->dirty));
	if (!pl->vss || !pl->dirty)
		return -ENOMEM;
	pl->linked = h->cfg && cfg->prev == h->cfg;
	for (size_t v = 0; v < cfg->nvs; v++) {
		size_t p = cfg->vs[v].prev;

		if (pl->linked && p != XL_VS_NONE) {
			pl->vss[v] = h->vss[p];
			pl->vss[v]->kept = true;
			continue;
		}
		pl->vss[v] = calloc(1, sizeof(*pl->vss[v]));
		if (!pl->vss[v])
			return -ENOMEM;
		n = cfg->vs[v].svc.ndests;
		pl->vss[v]->srv = calloc(n ? n : 1, sizeof(*pl->vss[v]->srv));
		if (!pl->vss[v]->srv)
			return -ENOMEM; /* n stays 0: the rollback has no slots
					 */
		pl->vss[v]->n = n;
	}
	return 0;
}

/* A running server with real server r's identity, not yet claimed. */
static struct hc_server *plan_find(struct hc_server **sorted, size_t n,
				   const struct xl_vs_config *vs, size_t r)
{
	struct srv_ident k = {&vs->svc, &vs->svc.dests[r]};
	struct hc_server **found;

	if (!n)
		return NULL;
	found = bsearch(&k, sorted, n, sizeof(*sorted), srv_ident_cmp);
	if (!found || (*found)->matched || (*found)->replaced)
		return NULL;
	return *found;
}

/* Slot r of g gets old if its check is unchanged, else a zeroed new one. */
static int plan_slot(struct hc_vs *g, size_t r, struct hc_server *old,
		     const struct xl_check_config *check)
{
	if (old && xl_check_equal(old->cfg, check)) {
		old->matched = true;
		g->srv[r] = old;
		/* services are unique: every kept server of g was in one old
		 * group, whose quorum state g takes over */
		if (g->q == Q_UNKNOWN)
			g->q = old->g->q;
		return 0;
	}
	g->srv[r] = calloc(1, sizeof(*g->srv[r]));
	if (!g->srv[r])
		return -ENOMEM;
	if (old) {
		/* so that a restart alone does not count as a change */
		old->replaced = true;
		g->srv[r]->has_prev = true;
		g->srv[r]->prev_up = old->up;
		g->srv[r]->from_start = old->from_start;
	}
	return 0;
}

/*
 * A sort join of the servers of the groups not kept, O(k log k) in them:
 * every slot of a fresh group gets a running server or a new one to
 * initialise.  Nothing running changes yet, so an allocation failure
 * leaves the engine as it was.
 */
static int plan_match(struct xl_health *h, const struct xl_config *cfg,
		      struct plan *pl)
{
	struct hc_server **sorted = NULL;
	size_t n = 0;
	int err = 0;

	for (size_t p = 0; p < h->nvs; p++)
		n += h->vss[p]->kept ? 0 : h->vss[p]->n;
	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		n = 0;
		for (size_t p = 0; p < h->nvs; p++)
			for (size_t r = 0; !h->vss[p]->kept && r < h->vss[p]->n;
			     r++)
				sorted[n++] = h->vss[p]->srv[r];
		qsort(sorted, n, sizeof(*sorted), srv_qcmp);
	}
	for (size_t v = 0; v < cfg->nvs && !err; v++) {
		const struct xl_vs_config *vs = &cfg->vs[v];

		if (!group_fresh(pl, v))
			continue;
		for (size_t r = 0; r < vs->svc.ndests && !err; r++)
			err = plan_slot(pl->vss[v], r,
					plan_find(sorted, n, vs, r),
					xl_rs_check(vs, r));
	}
	free(sorted);
	return err;
}

/* Points a server at its (possibly moved) place in the new configuration. */
static void srv_place(struct hc_server *s, const struct xl_config *cfg,
		      struct hc_vs *g, size_t r)
{
	s->g = g;
	s->rs = r;
	s->cfg = xl_rs_check(&cfg->vs[g->v], r);
	/* equal by value to the old one, which is about to be freed */
	s->probe.cfg = s->cfg;
	s->id.weight = cfg->vs[g->v].svc.dests[r].weight;
}

static void srv_init(struct xl_health *h, struct hc_server *s,
		     const struct xl_config *cfg, struct hc_vs *g, size_t r)
{
	const struct xl_service *svc = &cfg->vs[g->v].svc;
	const struct xl_check_config *c = xl_rs_check(&cfg->vs[g->v], r);

	s->h = h;
	if (!s->has_prev)
		s->from_start = !h->configures;
	s->key = xl_service_key(svc);
	s->id = svc->dests[r];
	srv_place(s, cfg, g, r);
	/* a type never probed ("none") is always up; initial_state "up" is
	 * trusted until it fails */
	s->up = xl_check_ops(c->type)->always_up || c->initial_up;
	s->settled = s->up;
	s->probe.done = srv_done;
	s->probe.data = s;
	xl_probe_target(&s->probe, c, &svc->dests[r]);
	ev_timer_init(&s->timer, srv_timer_cb, 0., 0.);
}

/*
 * The old groups not kept go, with their servers that the new
 * configuration has no place for: true when one of those was up and no new
 * server carries its identity on.
 */
static bool commit_removed(struct xl_health *h)
{
	bool changed = false;

	for (size_t p = 0; p < h->nvs; p++) {
		struct hc_vs *g = h->vss[p];

		if (g->kept)
			continue;
		for (size_t r = 0; r < g->n; r++) {
			struct hc_server *s = g->srv[r];

			if (s->matched)
				continue;
			changed |= s->up && !s->replaced;
			srv_stop(h, s);
			free(s->rec.reason);
			free(s);
		}
		group_free(g);
		h->vss[p] = NULL;
	}
	return changed;
}

static size_t count_fresh(const struct xl_config *cfg, const struct plan *pl)
{
	size_t n = 0;

	for (size_t v = 0; v < cfg->nvs; v++)
		for (size_t r = 0; group_fresh(pl, v) && r < pl->vss[v]->n; r++)
			n += !pl->vss[v]->srv[r]->h &&
			     !xl_check_ops(xl_rs_check(&cfg->vs[v], r)->type)
				  ->always_up;
	return n;
}

/*
 * Server i of n fresh ones first starts at interval * i / n, so that a
 * start or a big reload does not check everything at once.
 */
static void srv_first(struct xl_health *h, struct hc_server *s, size_t i,
		      size_t n)
{
	ev_timer_set(&s->timer, s->cfg->interval * (double)i / (double)n, 0.);
	ev_timer_start(h->loop, &s->timer);
}

/* A kept server's timer and probe run on; only its place moves. */
static void srv_keep(struct hc_server *s, const struct xl_config *cfg,
		     struct hc_vs *g, size_t r)
{
	s->matched = false;
	srv_place(s, cfg, g, r);
}

/*
 * A group kept whole: its index moves; its servers move only when the
 * configuration holds its real servers at a new place (a file parsed
 * again rather than taken over).
 */
static void commit_kept(struct xl_health *h, const struct xl_config *cfg,
			struct hc_vs *g, size_t v)
{
	const struct xl_vs_config *was = &h->cfg->vs[g->v];

	g->kept = false;
	g->carry = g->dirty;
	g->dirty = false;
	g->v = v;
	if (cfg->vs[v].reals == was->reals)
		return;
	for (size_t r = 0; r < g->n; r++)
		srv_place(g->srv[r], cfg, g, r);
}

/* True when the new servers change the set of up identities. */
static bool commit_servers(struct xl_health *h, const struct xl_config *cfg,
			   struct plan *pl)
{
	size_t nfresh = count_fresh(cfg, pl), i = 0;
	bool changed = false;

	for (size_t v = 0; v < cfg->nvs; v++) {
		struct hc_vs *g = pl->vss[v];

		if (!group_fresh(pl, v)) {
			commit_kept(h, cfg, g, v);
			continue;
		}
		g->v = v;
		for (size_t r = 0; r < g->n; r++) {
			struct hc_server *s = g->srv[r];

			if (s->h) {
				srv_keep(s, cfg, g, r);
			} else {
				srv_init(h, s, cfg, g, r);
				changed |=
				    s->has_prev ? s->up != s->prev_up : s->up;
				if (!xl_check_ops(s->cfg->type)->always_up)
					srv_first(h, s, i++, nfresh);
			}
			s->off = hc_srv_off(h, cfg, v, s);
			g->live += hc_srv_live(s);
			g->unsettled += !s->settled;
		}
	}
	return changed;
}

int xl_health_configure(struct xl_health *h, const struct xl_config *cfg)
{
	struct hc_vs **old = h->vss;
	size_t nsrv = 0;
	struct plan pl;
	bool changed;

	/* parsing a big file may have taken a while: spread from now */
	ev_now_update(h->loop);
	if (plan_alloc(h, cfg, &pl) || plan_match(h, cfg, &pl)) {
		plan_rollback(h, &pl);
		return -ENOMEM;
	}
	changed = commit_removed(h);
	changed |= commit_servers(h, cfg, &pl);
	free(old);
	free(h->dirty);
	h->vss = pl.vss;
	h->nvs = cfg->nvs;
	h->dirty = pl.dirty;
	h->ndirty = 0;
	h->cfg = cfg;
	h->configures++;
	hc_summary_follow(h);
	/* quorum may move with any change of a service: weights, quorum,
	 * servers; a kept service carries its pending changes over */
	for (size_t v = 0; v < cfg->nvs; v++) {
		struct hc_vs *g = h->vss[v];

		nsrv += g->n;
		if (!pl.linked || cfg->vs[v].prev == XL_VS_NONE || g->carry) {
			g->carry = false;
			hc_vs_touch(h, v);
		}
	}
	h->nsrv = nsrv;
	h->pending |= changed;
	notify_start(h);
	return 0;
}

/* ---- by position ------------------------------------------------------ */

struct hc_server *hc_srv_at(const struct xl_health *h, size_t vs, size_t rs)
{
	if (!h || !h->cfg || vs >= h->nvs || rs >= h->vss[vs]->n)
		return NULL;
	return h->vss[vs]->srv[rs];
}

/*
 * The kernel held this server when extlbd started, so it was serving: it
 * gets the treatment of initial_state "up", trusted until `fall` failures
 * in a row, and no start-up delay for its clients.
 */
void xl_health_trust(struct xl_health *h, size_t vs, size_t rs)
{
	struct hc_server *s = hc_srv_at(h, vs, rs);
	char who[XL_LABEL_MAX + 16];

	if (!s)
		return;
	srv_settle(s);
	if (s->up)
		return;
	s->up = true;
	s->failed = false;
	s->ok = s->fail = 0;
	h->vss[vs]->live += hc_srv_live(s);
	xl_debug("%s is up: the kernel already holds it",
		 hc_srv_label(s, who, sizeof(who)));
	h->pending = true;
	hc_vs_touch(h, vs);
}

double xl_health_next_check(const struct xl_health *h, size_t vs, size_t rs)
{
	struct hc_server *s = hc_srv_at(h, vs, rs);

	if (!s || !ev_is_active(&s->timer))
		return -1;
	return ev_now(h->loop) + ev_timer_remaining(h->loop, &s->timer);
}

bool xl_health_is_up(const struct xl_health *h, size_t vs, size_t rs)
{
	const struct hc_server *s = hc_srv_at(h, vs, rs);

	return s && s->up;
}
