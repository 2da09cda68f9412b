/*
 * extlbd.c - the daemon: lifecycle, signals and timers.
 *
 * Start-up reads and validates the whole configuration before anything
 * touches the kernel, then dumps what IPVS holds, adopts the services the
 * configuration names and applies only the difference.  After that the loop
 * waits for signals (SIGHUP reloads, SIGTERM/SIGINT stop) and a periodic
 * resync that compares the kernel with what we want again.  Services with
 * an op the kernel refused are retried alone, every XL_RETRY_SECS.  With
 * watch_include_dir, a change in include_dir reloads as SIGHUP does
 * (incwatch.c says when).  What each of these does to the kernel is
 * apply.c's; reading the configuration and reloading it reload.c's; taking
 * the kernel over at start and leaving it at stop handover.c's.
 */
#include "autoconf.h"

#include "extlbd.h"
#include "log.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XL_RETRY_SECS 5.0
/* a writer's create, write, close and rename come well within this, and a
 * person waits no longer for a file to apply than for systemctl reload */
#define XL_INCWATCH_SETTLE 0.5

static bool health_up(const void *arg, size_t vs, size_t rs)
{
	return xl_health_is_up(arg, vs, rs);
}

void xl_daemon_retry_later(struct xl_daemon *d)
{
	if (!ev_is_active(&d->retry)) {
		ev_timer_set(&d->retry, XL_RETRY_SECS, 0.);
		ev_timer_start(d->loop, &d->retry);
	}
}

/* spent: seconds the step that ends here took, so that a whole round
 * still takes resync_interval */
static void arm_resync_after(struct xl_daemon *d, double spent)
{
	size_t slices = xl_daemon_resync_slices(d);
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
	bool whole;

	(void)revents;
	whole = xl_daemon_resync_step(d);
	arm_resync_after(d, whole ? 0. : ev_time() - ev_now(loop));
	incwatch_follow(d);
}

/* Services whose ops the kernel refused are retried alone. */
static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	xl_daemon_retry(container_of(w, struct xl_daemon, retry));
}

static void on_health_apply(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = container_of(w, struct xl_daemon, health_tw);

	(void)loop;
	(void)revents;
	xl_daemon_sync_keys(d, "health", true, &d->hkeys, d->hkeys.n);
	d->hkeys.n = 0;
}

/* Changes that come together are applied together, once. */
static void on_health_changed(void *arg, const size_t *vs, size_t n)
{
	struct xl_daemon *d = arg;

	xl_daemon_health_changed(d, vs, n);
	if (!ev_is_active(&d->health_tw)) {
		ev_timer_set(&d->health_tw, 0., 0.);
		ev_timer_start(d->loop, &d->health_tw);
	}
}

static void on_drain(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = container_of(w, struct xl_daemon, drain_tw);

	(void)revents;
	xl_daemon_drain_step(d, ev_now(loop));
	if (!d->drain.n)
		ev_timer_stop(loop, w);
}

static void reload(struct xl_daemon *d)
{
	const struct xl_config *before = d->cfg;
	double t = wall_now();

	xl_daemon_heap_steps(true);
	xl_daemon_reload(d);
	xl_daemon_heap_steps(false);
	/* a new snapshot is allocated before the old one is freed: another
	 * address means it was put in force */
	d->counters.reloads_failed += d->cfg == before;
	if (d->cfg != before) {
		d->counters.reloads_ok++;
		d->counters.generation++;
		d->counters.last_reload_ok = t;
		xl_metrics_follow(&d->metrics, d->loop, &d->msrc);
		d->read_at = t;
		xl_daemon_maint_reloaded(d);
		if (d->drain.n && !ev_is_active(&d->drain_tw))
			ev_timer_again(d->loop, &d->drain_tw);
		arm_resync(d);
		xl_daemon_ctl_follow(d);
	}
	/* also after a refused file: the directory may exist by now */
	incwatch_follow(d);
}

void xl_daemon_reload_report(struct xl_daemon *d, struct xl_reload_report *rep)
{
	d->report = rep;
	reload(d);
	d->report = NULL;
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

static int start(struct xl_daemon *d)
{
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
	xl_sync_set_names(d->sync, xl_daemon_svc_name, d);
	xl_health_set_maint(d->health, &d->maint);
	d->msrc = (struct xl_metrics_source){.cfg = &d->cfg,
					     .health = d->health,
					     .kops = &xl_ipvs_kernel_ops,
					     .kernel = d->ipvs,
					     .counters = &d->counters};
	d->want = (struct xl_desired){.cfg = d->cfg,
				      .is_up = health_up,
				      .up_arg = d->health,
				      .drain = &d->drain,
				      .maint = &d->maint};
	xl_daemon_maint_load(d); /* before the first table is built */
	xl_daemon_kset_apply(d, "start-up"); /* before the first packet */
	return xl_daemon_adopt(d);
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
	xl_daemon_habit_signals(d);
	ev_init(&d->resync, on_resync);
	ev_init(&d->health_tw, on_health_apply);
	ev_init(&d->drain_tw, on_drain);
	ev_init(&d->retry, on_retry);
	d->drain_tw.repeat = 1.;
	if (xl_daemon_ctl_open(d) < 0 || start(d) < 0)
		return -1;
	xl_config_drop_parsed(d->cfg); /* not before the kernel has the table */
	xl_daemon_heap_steps(false);
	arm_resync(d);
	incwatch_follow(d);
	d->counters.last_reload_ok = d->read_at;
	xl_metrics_follow(&d->metrics, d->loop, &d->msrc);
	if (xl_daemon_resync_slices(d) > 1)
		xl_info("resync: the table is read back in %zu steps of up to "
			"%d services over each resync_interval (%.0f s)",
			xl_daemon_resync_slices(d), XL_RESYNC_SLICE,
			d->cfg->resync_interval);
	xl_info("running: %zu virtual services", d->cfg->nvs);
	ev_run(d->loop, 0);
	xl_daemon_release(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct xl_options o = {.conf = XL_DEFAULT_CONF};
	struct xl_daemon d = {.counters.generation = 1};
	int rc = 1;

	if (xl_daemon_options(argc, argv, &o) < 0)
		return 1;
	d.conf_path = o.conf;
	d.pidfile = o.pidfile;
	xl_daemon_heap_steps(true);
	d.read_at = wall_now();
	if (!(d.cfg = xl_daemon_load(o.conf)))
		return 1;
	if (o.check) {
		xl_daemon_print_check(stdout, stderr, o.conf, d.cfg);
		xl_config_free(d.cfg);
		return 0;
	}
	xl_log_open("extlbd", o.console, d.cfg->log_level);
	xl_daemon_log_refused(d.cfg);
	if (!o.foreground && daemon(0, 0) < 0) {
		xl_err("daemon: %s", strerror(errno));
		goto out;
	}
	if (d.pidfile && xl_daemon_pidfile(d.pidfile) < 0)
		goto out;
	xl_info("extlbd %s starting with %s", PACKAGE_VERSION, o.conf);
	rc = run(&d) < 0 ? 1 : 0;
	if (d.pidfile)
		unlink(d.pidfile);
out:
	xl_daemon_ctl_close(&d);
	xl_metrics_stop(d.metrics);
	xl_daemon_dump_stop(&d);
	xl_maint_free(&d.maint);
	xl_incwatch_stop(d.incwatch);
	xl_drain_free(&d.drain);
	xl_desired_free(&d.want);
	xl_keys_free(&d.hkeys);
	xl_health_free(d.health);
	xl_checker_free(d.checker);
	xl_sync_free(d.sync);
	xl_ipvs_close(d.ipvs);
	xl_vipif_free(d.vipif);
	xl_rtnl_free(d.rtnl);
	if (d.loop)
		ev_loop_destroy(d.loop);
	xl_config_free(d.cfg);
	xl_info("extlbd stopped");
	xl_log_close();
	return rc;
}
