/*
 * extlbd.c - the daemon: options, lifecycle, and the one libev loop.
 *
 * Start-up reads and validates the whole configuration before anything
 * touches the kernel, then dumps what IPVS holds, adopts the services the
 * configuration names and applies only the difference.  After that the loop
 * waits for signals (SIGHUP reloads, SIGTERM/SIGINT stop) and a periodic
 * resync that compares the kernel with what we want again.  Services with
 * an op the kernel refused are retried alone, every XL_RETRY_SECS.  With
 * watch_include_dir, a change in include_dir reloads as SIGHUP does
 * (incwatch.c says when).
 */
#include "autoconf.h"

#include "check.h"
#include "config.h"
#include "drain.h"
#include "health.h"
#include "incwatch.h"
#include "ipvs.h"
#include "log.h"
#include "sync.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef HAVE_MALLOPT
#include <malloc.h>
#endif
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XL_RETRY_SECS 5.0
#define XL_OPS_LOGGED 200 /* above this many ops, each is logged at debug */
#define XL_RESYNC_SLICE 1000 /* services read back per resync step, at most */
/* a writer's create, write, close and rename come well within this, and a
 * person waits no longer for a file to apply than for systemctl reload */
#define XL_INCWATCH_SETTLE 0.5

/*
 * Reading a large configuration and building the table from it allocate a
 * few hundred thousand small blocks: libconfig's parse tree, then our model.
 * With glibc's default the heap grows 128 KiB at a time, which is thousands
 * of brk() calls and a heap too thin for transparent huge pages, so every
 * 4 KiB costs a page fault.  In the test VM that was a quarter of the time
 * from exec to the full table at 10,000 x 10.  While a configuration is read
 * and applied, the heap grows in steps of XL_HEAP_STEP (address space only:
 * pages still come when touched); afterwards glibc's default step comes back
 * and what the parse tree held is returned to the system.
 */
#define XL_HEAP_STEP (64 << 20)
#define XL_HEAP_STEP_DEFAULT (128 << 10) /* glibc's M_TOP_PAD */

static void heap_steps(bool large)
{
#if defined(HAVE_MALLOPT) && defined(M_TOP_PAD)
	mallopt(M_TOP_PAD, large ? XL_HEAP_STEP : XL_HEAP_STEP_DEFAULT);
#endif
#ifdef HAVE_MALLOC_TRIM
	if (!large)
		malloc_trim(0);
#endif
	(void)large;
}

/* The services draining servers belong to (repeats do no harm). */
static int keys_of_drains(struct xl_keys *k, const struct xl_drain *dr)
{
	for (size_t i = 0; i < dr->n; i++)
		if (xl_keys_push(k, &dr->v[i].svc) < 0)
			return -ENOMEM;
	return 0;
}

struct xl_daemon {
	struct ev_loop *loop;
	const char *conf_path;
	const char *pidfile;
	struct xl_config *cfg;
	struct xl_ipvs *ipvs;
	struct xl_sync *sync;
	struct xl_checker *checker;
	struct xl_health *health;
	struct xl_incwatch *incwatch; /* include_dir changes, when asked */
	double read_at; /* when d->cfg was read (the wall clock's seconds) */
	ev_signal sighup, sigterm, sigint;
	ev_timer resync;    /* periodic comparison with a fresh dump */
	ev_timer health_tw; /* health changes of one iteration, applied once */
	ev_timer drain_tw;  /* polls the connections of draining servers */
	ev_timer retry;     /* refused ops, or a sync that could not run */
	struct xl_drain drain;
	struct xl_table want; /* configuration + health + drains, sorted */
	size_t resync_pos;    /* next service of want a rolling resync reads */
	struct xl_keys hkeys; /* services health changed, not yet applied */
};

static bool health_up(const void *arg, size_t vs, size_t rs)
{
	return xl_health_is_up(arg, vs, rs);
}

static void log_result(const char *why, const struct xl_sync_result *r)
{
	const size_t *c = r->count;

	xl_info("%s: %zu ops applied in %.0f ms (services +%zu ~%zu -%zu, "
		"real servers +%zu ~%zu -%zu), %ld failed%s",
		why, r->nops, r->ms, c[XL_OP_ADD_SVC], c[XL_OP_EDIT_SVC],
		c[XL_OP_DEL_SVC], c[XL_OP_ADD_DEST], c[XL_OP_EDIT_DEST],
		c[XL_OP_DEL_DEST], r->failed,
		r->dumped ? " (the whole table read first)" : "");
}

/*
 * After every sync: a run that could not happen, or services with a
 * refused op (xl_sync_pending), are retried XL_RETRY_SECS later.
 */
static int sync_done(struct xl_daemon *d, const char *why, bool quiet,
		     int rc, const struct xl_sync_result *r)
{
	bool retry = rc < 0 || xl_sync_pending(d->sync)->n;

	if (retry && !ev_is_active(&d->retry)) {
		ev_timer_set(&d->retry, XL_RETRY_SECS, 0.);
		ev_timer_start(d->loop, &d->retry);
	}
	if (rc < 0)
		return rc;
	if (!quiet || r->nops)
		log_result(why, r);
	return 0;
}

/* Desired = configuration + health + drains, all of it; make the kernel
 * say so.  For start-up and resync: everything is looked at. */
static int sync_full(struct xl_daemon *d, const char *why, bool quiet)
{
	struct xl_table want;
	struct xl_sync_result r;

	if (xl_desired_build(d->cfg, d->health ? health_up : NULL, d->health,
			     &want) < 0 ||
	    xl_drain_apply(&d->drain, &want) < 0) {
		xl_table_free(&want);
		xl_err("%s: out of memory", why);
		return sync_done(d, why, quiet, -ENOMEM, NULL);
	}
	xl_table_free(&d->want);
	d->want = want;
	return sync_done(d, why, quiet,
			 xl_sync_run(d->sync, &d->want, d->cfg->owns_all,
				     XL_OPS_LOGGED, &r),
			 &r);
}

/* The desired entry of configured service v, drains included. */
static int want_entry(struct xl_daemon *d, size_t v, struct xl_service *out)
{
	if (xl_desired_entry(d->cfg, v, d->health ? health_up : NULL,
			     d->health, out) < 0 ||
	    xl_drain_apply_service(&d->drain, out) < 0) {
		xl_service_free(out);
		return -ENOMEM;
	}
	return 0;
}

/* Rebuilds the entries of d->want that keys name (services of d->cfg). */
static int want_refresh(struct xl_daemon *d, const struct xl_service *keys,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct xl_service *e =
		    (struct xl_service *)xl_table_find(&d->want, &keys[i]);
		const struct xl_vs_config *vs = xl_config_find(d->cfg, &keys[i]);
		struct xl_service fresh;

		if (!e || !vs)
			continue; /* not configured (any more) */
		if (want_entry(d, (size_t)(vs - d->cfg->vs), &fresh) < 0)
			return -ENOMEM;
		xl_service_free(e);
		*e = fresh;
	}
	return 0;
}

/*
 * Only the services keys name can differ from what the kernel was last
 * brought to: rebuild the entries of the first nstale of them (the others
 * are fresh already) and reconcile them all, alone.  Anything going wrong
 * here falls back to the full run.
 */
static int sync_keys(struct xl_daemon *d, const char *why, bool quiet,
		     const struct xl_keys *k, size_t nstale)
{
	struct xl_sync_result r;

	if (want_refresh(d, k->v, nstale) < 0)
		return sync_full(d, why, quiet);
	return sync_done(d, why, quiet,
			 xl_sync_run_keys(d->sync, &d->want, k->v, k->n,
					  d->cfg->owns_all, XL_OPS_LOGGED, &r),
			 &r);
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
static size_t resync_slices(const struct xl_daemon *d)
{
	if (d->cfg->owns_all || !xl_sync_kernel(d->sync))
		return 1;
	return (d->want.nsvcs + XL_RESYNC_SLICE - 1) / XL_RESYNC_SLICE;
}

/* spent: seconds the step that ends here took, so that a whole round
 * still takes resync_interval */
static void arm_resync_after(struct xl_daemon *d, double spent)
{
	size_t slices = resync_slices(d);
	double secs = d->cfg->resync_interval / (double)(slices ? slices : 1);

	if (slices > 1)
		secs = secs > spent ? secs - spent : 0.;
	ev_timer_stop(d->loop, &d->resync);
	ev_timer_set(&d->resync, secs, 0.);
	ev_timer_start(d->loop, &d->resync);
}

static void arm_resync(struct xl_daemon *d)
{
	arm_resync_after(d, 0.);
}

/* After each reload and resync: the watch follows the configuration, and
 * a directory that did not exist is watched once it does. */
static void incwatch_follow(struct xl_daemon *d)
{
	const struct xl_config *c = d->cfg;

	xl_incwatch_update(d->incwatch,
			   c->watch_include_dir ? c->include_dir : NULL,
			   d->read_at);
}

/* What a file's ctime is compared with (incwatch.c). */
static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_resync(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = container_of(w, struct xl_daemon, resync);
	size_t slices = resync_slices(d), n, pos = d->resync_pos;
	struct xl_sync_result r;

	(void)revents;
	if (slices <= 1) {
		/* compare with what the kernel really holds, not what we
		 * remember */
		xl_sync_invalidate(d->sync);
		sync_full(d, "resync", true);
		d->resync_pos = 0;
		arm_resync(d);
		incwatch_follow(d);
		return;
	}
	n = (d->want.nsvcs + slices - 1) / slices;
	if (pos >= d->want.nsvcs)
		pos = 0;
	if (n > d->want.nsvcs - pos)
		n = d->want.nsvcs - pos;
	d->resync_pos = pos + n;
	sync_done(d, "resync", true,
		  xl_sync_check_keys(d->sync, &d->want, &d->want.svcs[pos], n,
				     d->cfg->owns_all, XL_OPS_LOGGED, &r),
		  &r);
	arm_resync_after(d, ev_time() - ev_now(loop));
	incwatch_follow(d);
}

/*
 * The services whose ops the kernel refused, read back and reconciled
 * again alone: a refusal that lasts (a scheduler module that is missing)
 * costs a few requests every XL_RETRY_SECS, not a dump of the table.
 * Without a memory of the kernel (a sync that failed whole) everything is
 * looked at.
 */
static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = container_of(w, struct xl_daemon, retry);
	const struct xl_keys *p = xl_sync_pending(d->sync);
	struct xl_sync_result r;

	(void)loop;
	(void)revents;
	if (!xl_sync_kernel(d->sync) || !p->n) {
		sync_full(d, "retry", true);
		return;
	}
	sync_done(d, "retry", true,
		  xl_sync_check_keys(d->sync, &d->want, p->v, p->n,
				     d->cfg->owns_all, XL_OPS_LOGGED, &r),
		  &r);
}

static void on_health_apply(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = container_of(w, struct xl_daemon, health_tw);

	(void)loop;
	(void)revents;
	sync_keys(d, "health", true, &d->hkeys, d->hkeys.n);
	d->hkeys.n = 0;
}

/* Kept by identity: a reload may come before they are applied. */
static void on_health_changed(void *arg, const size_t *vs, size_t n)
{
	struct xl_daemon *d = arg;

	for (size_t i = 0; i < n; i++)
		if (xl_keys_push(&d->hkeys, &d->cfg->vs[vs[i]].svc) < 0) {
			/* the next resync sees to it */
			xl_err("health: out of memory");
			break;
		}
	if (!ev_is_active(&d->health_tw)) {
		ev_timer_set(&d->health_tw, 0., 0.);
		ev_timer_start(d->loop, &d->health_tw);
	}
}

/* Active connections of a draining server, as the kernel counts them. */
static long drain_conns(void *arg, const struct xl_drain_entry *e)
{
	struct xl_daemon *d = arg;
	struct xl_service s;
	long n = -1;

	if (xl_ipvs_dump_service(d->ipvs, &e->svc, &s) < 0)
		return -1;
	for (size_t i = 0; i < s.ndests; i++)
		if (!xl_dest_cmp(&s.dests[i], &e->dest))
			n = s.dests[i].active_conns;
	xl_service_free(&s);
	return n < 0 ? 0 : n; /* gone from the kernel: nothing to wait for */
}

static void on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = container_of(w, struct xl_daemon, drain_tw);

	struct xl_keys k = { 0 };

	(void)revents;
	if (keys_of_drains(&k, &d->drain) < 0) {
		xl_keys_free(&k);
		return; /* the next tick tries again */
	}
	if (xl_drain_expire(&d->drain, ev_now(loop), drain_conns, d))
		sync_keys(d, "drain", false, &k, k.n);
	xl_keys_free(&k);
	if (!d->drain.n)
		ev_timer_stop(loop, w);
}

static void log_errors(const struct xl_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		xl_err("%s", e->msgs[i]);
}

/* What include_dir brought and was refused: said at every load, as it
 * stays refused until someone fixes it. */
static void log_refused(const struct xl_config *c)
{
	for (size_t i = 0; i < c->refused.n; i++)
		xl_warn("%s", c->refused.msgs[i]);
	if (c->refused.n)
		xl_warn("include_dir: %zu file%s and %zu virtual service%s "
			"refused; the rest of the configuration applies",
			c->nrefused_files, c->nrefused_files == 1 ? "" : "s",
			c->nrefused_vs, c->nrefused_vs == 1 ? "" : "s");
}

/*
 * An empty main file at reload is far more likely a write in progress (or
 * an editor's truncation) than a wish to delete every service: refuse it.
 */
static bool empty_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

/*
 * d->want for the configuration just put in force, from the one before: a
 * service the reload left unchanged (vs->prev) keeps its entry, which is
 * moved, not rebuilt; the others are built and named in k, with the
 * services that went.  One pass over the two sorted lists.
 */
static int want_reload(struct xl_daemon *d, struct xl_keys *k)
{
	const struct xl_config *c = d->cfg;
	struct xl_table *old = &d->want, nw = { 0 };
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
		} else if (want_entry(d, v, &nw.svcs[x]) < 0 ||
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
	nw = (struct xl_table){ 0 };
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

static void reload_apply(struct xl_daemon *d)
{
	struct xl_errors errs = { 0 };
	struct xl_config *cfg, *old;
	struct xl_keys k = { 0 };
	size_t ndrain;
	int rc;

	if (empty_file(d->conf_path)) {
		xl_err("reload: %s is empty; the running configuration stays "
		       "in force (to remove every service, say so with an "
		       "empty virtual_services list)",
		       d->conf_path);
		return;
	}
	cfg = xl_config_reload(d->conf_path, d->cfg, &errs);
	if (!cfg) {
		log_errors(&errs);
		xl_err("reload: %s is invalid (%zu errors); the running "
		       "configuration stays in force",
		       d->conf_path, errs.n);
		xl_errors_free(&errs);
		return;
	}
	log_refused(cfg);
	if (cfg->nstamps)
		xl_info("include_dir: %zu of %zu files unchanged, not parsed "
			"again",
			cfg->nreused, cfg->nstamps);
	xl_info("configuration: %zu of %zu virtual services unchanged",
		cfg->nsame, cfg->nvs);
	/* health state carries over for servers whose identity and check
	 * are unchanged; the old snapshot is freed only after that */
	if (xl_health_configure(d->health, cfg) < 0) {
		xl_err("reload: out of memory; the running configuration "
		       "stays in force");
		xl_health_configure(d->health, d->cfg);
		xl_config_free(cfg);
		return;
	}
	if (keys_of_drains(&k, &d->drain) < 0 ||
	    xl_drain_update(&d->drain, d->cfg, cfg, ev_now(d->loop)) < 0)
		xl_err("reload: out of memory: removed servers are deleted "
		       "without draining");
	xl_log_set_level(cfg->log_level);
	old = d->cfg;
	d->cfg = cfg;
	/* the drains' services first: want_reload builds the entries of the
	 * changed services only, and keeps the others as they were */
	rc = keys_of_drains(&k, &d->drain);
	ndrain = k.n;
	if (rc < 0 || want_reload(d, &k) < 0)
		sync_full(d, "reload", false);
	else
		sync_keys(d, "reload", false, &k, ndrain);
	xl_keys_free(&k);
	/* nothing points into it any more; freed after the kernel has the
	 * change, which so comes sooner (so is the new files' parse) */
	xl_config_free(old);
	xl_config_drop_parsed(d->cfg);
	if (d->drain.n && !ev_is_active(&d->drain_tw))
		ev_timer_again(d->loop, &d->drain_tw);
	arm_resync(d);
}

static void reload(struct xl_daemon *d)
{
	const struct xl_config *before = d->cfg;
	double t = wall_now();

	heap_steps(true);
	reload_apply(d);
	heap_steps(false);
	/* a new snapshot is allocated before the old one is freed: another
	 * address means it was put in force */
	if (d->cfg != before)
		d->read_at = t;
	/* also after a refused file: the directory may exist by now */
	incwatch_follow(d);
}

/* A change in include_dir is a reload, as SIGHUP makes one. */
static void on_include_changed(void *arg, const char *what)
{
	struct xl_daemon *d = arg;

	xl_info("include_dir %s changed (%s): reloading", d->cfg->include_dir,
		what);
	reload(d);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct xl_daemon *d = w->data;

	(void)revents;
	if (w->signum == SIGHUP) {
		xl_info("SIGHUP: reloading %s", d->conf_path);
		reload(d);
		return;
	}
	xl_info("%s: stopping", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

static void log_adoption(const struct xl_daemon *d, const struct xl_table *k)
{
	char buf[XL_ADDRSTR_MAX + 32];
	size_t adopted = 0;

	for (size_t i = 0; i < d->cfg->nvs; i++) {
		const struct xl_vs_config *vs = &d->cfg->vs[i];

		if (!xl_table_find(k, &vs->svc))
			continue;
		adopted++;
		xl_debug("adopting %s (%s) from the kernel",
			 xl_service_format(&vs->svc, buf, sizeof(buf)),
			 vs->name);
	}
	xl_info("kernel holds %zu services: %zu adopted, %zu not in the "
		"configuration (%s)",
		k->nsvcs, adopted, k->nsvcs - adopted,
		d->cfg->owns_all ? "owns_all: will be deleted" : "left alone");
}

/*
 * A real server the kernel already holds for us was serving before this
 * start (a restart, an upgrade): it keeps serving until a check fails,
 * whatever its initial_state says for a fresh start.
 */
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

static int start(struct xl_daemon *d)
{
	const struct xl_table *k;
	struct xl_sync_result r;
	char err[256];

	if (!(d->ipvs = xl_ipvs_open(err, sizeof(err)))) {
		xl_err("%s", err);
		return -1;
	}
	if (!(d->sync = xl_sync_new(&xl_ipvs_kernel_ops, d->ipvs)) ||
	    !(d->incwatch = xl_incwatch_start(d->loop, XL_INCWATCH_SETTLE,
					      on_include_changed, d)) ||
	    !(d->checker = xl_checker_new(d->loop)) ||
	    !(d->health =
		  xl_health_new(d->loop, d->checker, on_health_changed, d))) {
		xl_err("start-up: out of memory");
		return -1;
	}
	/* read the kernel first: an empty desired table and owns_all off
	 * make this run a pure dump */
	if (xl_sync_run(d->sync, &(struct xl_table){ 0 }, false, 0, &r) < 0)
		return -1;
	k = xl_sync_kernel(d->sync);
	log_adoption(d, k);
	if (xl_health_configure(d->health, d->cfg) < 0)
		return -1;
	trust_adopted(d, k);
	return sync_full(d, "start-up", false) < 0 ? -1 : 0;
}

static void stop(struct xl_daemon *d)
{
	struct xl_sync_result r;

	if (!d->sync)
		return;
	if (d->cfg->on_stop == XL_ON_STOP_REMOVE) {
		/* an empty table with owns_all off deletes what we applied,
		 * and nothing of anyone else's */
		if (xl_sync_run(d->sync, &(struct xl_table){ 0 }, false,
				XL_OPS_LOGGED, &r) == 0)
			log_result("stop (on_stop = remove)", &r);
	} else {
		xl_info("stop: IPVS keeps balancing (on_stop = keep)");
	}
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		xl_err("pidfile %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: extlbd [OPTION]...\n"
		"Program the kernel's IPVS tables from a configuration file "
		"and keep them so.\n\n"
		"  -f, --config-file FILE  configuration (default %s)\n"
		"  -n, --foreground        do not fork\n"
		"  -l, --log-console       log to stderr instead of syslog\n"
		"  -t, --check-config      check the configuration and exit "
		"(0 valid, 1 not)\n"
		"  -p, --pid-file FILE     write the process id to FILE\n"
		"  -v, --version           print the version and exit\n"
		"  -h, --help              this text\n\n"
		"Signals: HUP reloads the configuration; TERM and INT stop.\n",
		XL_DEFAULT_CONF);
}

struct options {
	const char *conf;
	const char *pidfile;
	bool foreground, console, check;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option lo[] = {
		{ "config-file", required_argument, NULL, 'f' },
		{ "foreground", no_argument, NULL, 'n' },
		{ "log-console", no_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:nltp:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o->conf = optarg; break;
		case 'n': o->foreground = true; break;
		case 'l': o->console = true; break;
		case 't': o->check = true; break;
		case 'p': o->pidfile = optarg; break;
		case 'v': printf("extlbd %s\n", PACKAGE_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "extlbd: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

/* Prints every error; returns the snapshot or NULL. */
static struct xl_config *load_or_report(const char *path)
{
	struct xl_errors errs = { 0 };
	struct xl_config *cfg = xl_config_load(path, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (!cfg)
		fprintf(stderr, "extlbd: %s: %zu error%s\n", path, errs.n,
			errs.n == 1 ? "" : "s");
	xl_errors_free(&errs);
	return cfg;
}

static void watch_signal(struct xl_daemon *d, ev_signal *w, int sig)
{
	ev_signal_init(w, on_signal, sig);
	w->data = d;
	ev_signal_start(d->loop, w);
}

static int run(struct xl_daemon *d)
{
	d->loop = ev_default_loop(EVFLAG_AUTO);
	watch_signal(d, &d->sighup, SIGHUP);
	watch_signal(d, &d->sigterm, SIGTERM);
	watch_signal(d, &d->sigint, SIGINT);
	ev_init(&d->resync, on_resync);
	ev_init(&d->health_tw, on_health_apply);
	ev_init(&d->drain_tw, on_drain);
	ev_init(&d->retry, on_retry);
	d->drain_tw.repeat = 1.;
	if (start(d) < 0)
		return -1;
	xl_config_drop_parsed(d->cfg); /* not before the kernel has the table */
	heap_steps(false);
	arm_resync(d);
	incwatch_follow(d);
	if (resync_slices(d) > 1)
		xl_info("resync: the table is read back in %zu steps of up to "
			"%d services over each resync_interval (%.0f s)",
			resync_slices(d), XL_RESYNC_SLICE,
			d->cfg->resync_interval);
	xl_info("running: %zu virtual services", d->cfg->nvs);
	ev_run(d->loop, 0);
	stop(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .conf = XL_DEFAULT_CONF };
	struct xl_daemon d = { 0 };
	int rc = 1;

	if (parse_args(argc, argv, &o) < 0)
		return 1;
	d.conf_path = o.conf;
	d.pidfile = o.pidfile;
	heap_steps(true);
	d.read_at = wall_now();
	if (!(d.cfg = load_or_report(o.conf)))
		return 1;
	if (o.check) {
		/* refused include_dir files do not make the file invalid: the
		 * daemon would apply the rest, and a reload checked first
		 * with -t must not be held up by a tenant's file */
		for (size_t i = 0; i < d.cfg->refused.n; i++)
			fprintf(stderr, "%s\n", d.cfg->refused.msgs[i]);
		printf("%s: configuration is valid (%zu virtual services)\n",
		       o.conf, d.cfg->nvs);
		if (d.cfg->refused.n)
			printf("%s: %zu include_dir file%s and %zu virtual "
			       "service%s refused (see above); the rest "
			       "applies\n",
			       o.conf, d.cfg->nrefused_files,
			       d.cfg->nrefused_files == 1 ? "" : "s",
			       d.cfg->nrefused_vs,
			       d.cfg->nrefused_vs == 1 ? "" : "s");
		xl_config_free(d.cfg);
		return 0;
	}
	xl_log_open("extlbd", o.console, d.cfg->log_level);
	log_refused(d.cfg);
	if (!o.foreground && daemon(0, 0) < 0) {
		xl_err("daemon: %s", strerror(errno));
		goto out;
	}
	if (d.pidfile && write_pidfile(d.pidfile) < 0)
		goto out;
	xl_info("extlbd %s starting with %s", PACKAGE_VERSION, o.conf);
	rc = run(&d) < 0 ? 1 : 0;
	if (d.pidfile)
		unlink(d.pidfile);
out:
	xl_incwatch_stop(d.incwatch);
	xl_drain_free(&d.drain);
	xl_table_free(&d.want);
	xl_keys_free(&d.hkeys);
	xl_health_free(d.health);
	xl_checker_free(d.checker);
	xl_sync_free(d.sync);
	xl_ipvs_close(d.ipvs);
	if (d.loop)
		ev_loop_destroy(d.loop);
	xl_config_free(d.cfg);
	xl_info("extlbd stopped");
	xl_log_close();
	return rc;
}
