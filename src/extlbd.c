/*
 * extlbd.c - the daemon: options, lifecycle, and the one libev loop.
 *
 * Start-up reads and validates the whole configuration before anything
 * touches the kernel, then dumps what IPVS holds, adopts the services the
 * configuration names and applies only the difference.  After that the loop
 * waits for signals (SIGHUP reloads, SIGTERM/SIGINT stop) and a periodic
 * resync that compares the kernel with what we want again, which is also
 * how ops that failed are retried.
 */
#include "autoconf.h"

#include "config.h"
#include "ipvs.h"
#include "log.h"
#include "reconcile.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XL_RETRY_SECS 5.0
#define XL_OPS_LOGGED 200 /* above this many ops, each is logged at debug */

struct xl_daemon {
	struct ev_loop *loop;
	const char *conf_path;
	const char *pidfile;
	struct xl_config *cfg;
	struct xl_table desired;
	struct xl_ipvs *ipvs;
	ev_signal sighup, sigterm, sigint;
	ev_timer resync;
	long failed; /* ops the kernel refused in the last sync */
};

struct sync_stats {
	size_t count[XL_OP_DEL_DEST + 1];
	long failed;
	bool verbose;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void op_failed(const struct xl_op *op, int err, void *arg)
{
	char buf[256];

	(void)arg;
	xl_err("%s: %s", xl_op_format(op, buf, sizeof(buf)),
	       xl_ipvs_strerror(op, err));
}

static void log_ops(const struct xl_ops *ops, struct sync_stats *st)
{
	char buf[256];

	for (size_t i = 0; i < ops->n; i++) {
		st->count[ops->v[i].kind]++;
		xl_log(st->verbose ? 6 : 7, "%s",
		       xl_op_format(&ops->v[i], buf, sizeof(buf)));
	}
}

static void log_summary(const char *why, const struct sync_stats *st,
			size_t nops, double ms)
{
	const size_t *c = st->count;

	xl_info("%s: %zu ops applied in %.0f ms (services +%zu ~%zu -%zu, "
		"real servers +%zu ~%zu -%zu), %ld failed",
		why, nops, ms, c[XL_OP_ADD_SVC], c[XL_OP_EDIT_SVC],
		c[XL_OP_DEL_SVC], c[XL_OP_ADD_DEST], c[XL_OP_EDIT_DEST],
		c[XL_OP_DEL_DEST], st->failed);
}

/*
 * Brings the kernel to `want`.  `previous` names services we put there
 * earlier, which may be deleted; others are only touched with owns_all.
 */
static int sync_kernel(struct xl_daemon *d, const struct xl_table *want,
		       const struct xl_table *previous, const char *why)
{
	struct xl_reconcile_opts opts = { .owns_all = d->cfg->owns_all,
					  .previous = previous };
	struct xl_table actual;
	struct xl_ops ops = { 0 };
	struct sync_stats st = { 0 };
	double t0 = now_ms();
	int rc;

	if ((rc = xl_ipvs_dump(d->ipvs, &actual)) < 0) {
		xl_err("%s: reading the IPVS table: %s", why, strerror(-rc));
		return rc;
	}
	if ((rc = xl_reconcile(want, &actual, &opts, &ops)) < 0)
		goto out;
	st.verbose = ops.n <= XL_OPS_LOGGED;
	log_ops(&ops, &st);
	st.failed = xl_ipvs_apply(d->ipvs, ops.v, ops.n, op_failed, d);
	if (st.failed < 0) {
		rc = (int)st.failed;
		xl_err("%s: netlink: %s", why, strerror(-rc));
		goto out;
	}
	d->failed = st.failed;
	if (ops.n || strcmp(why, "resync"))
		log_summary(why, &st, ops.n, now_ms() - t0);
out:
	xl_ops_free(&ops);
	xl_table_free(&actual);
	return rc;
}

static void arm_resync(struct xl_daemon *d)
{
	double secs = d->cfg->resync_interval;

	if (d->failed && secs > XL_RETRY_SECS)
		secs = XL_RETRY_SECS; /* retry refused ops sooner */
	ev_timer_stop(d->loop, &d->resync);
	ev_timer_set(&d->resync, secs, 0.);
	ev_timer_start(d->loop, &d->resync);
}

static void on_resync(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_daemon *d = (struct xl_daemon *)((char *)w -
		offsetof(struct xl_daemon, resync));

	(void)loop;
	(void)revents;
	sync_kernel(d, &d->desired, &d->desired, "resync");
	arm_resync(d);
}

static void log_errors(const struct xl_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		xl_err("%s", e->msgs[i]);
}

static void reload(struct xl_daemon *d)
{
	struct xl_errors errs = { 0 };
	struct xl_config *cfg = xl_config_load(d->conf_path, &errs);
	struct xl_table want;

	if (!cfg) {
		log_errors(&errs);
		xl_err("reload: %s is invalid (%zu errors); the running "
		       "configuration stays in force",
		       d->conf_path, errs.n);
		xl_errors_free(&errs);
		return;
	}
	if (xl_config_table(cfg, &want) < 0) {
		xl_err("reload: out of memory");
		xl_config_free(cfg);
		return;
	}
	xl_log_set_level(cfg->log_level);
	xl_config_free(d->cfg);
	d->cfg = cfg;
	sync_kernel(d, &want, &d->desired, "reload");
	xl_table_free(&d->desired);
	d->desired = want;
	arm_resync(d);
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
	size_t adopted = 0, foreign = 0;

	for (size_t i = 0; i < d->cfg->nvs; i++) {
		const struct xl_vs_config *vs = &d->cfg->vs[i];

		if (!xl_table_find(k, &vs->svc))
			continue;
		adopted++;
		xl_debug("adopting %s (%s) from the kernel",
			 xl_service_format(&vs->svc, buf, sizeof(buf)),
			 vs->name);
	}
	for (size_t i = 0; i < k->nsvcs; i++)
		foreign += !xl_table_find(&d->desired, &k->svcs[i]);
	xl_info("kernel holds %zu services: %zu adopted, %zu not in the "
		"configuration (%s)",
		k->nsvcs, adopted, foreign,
		d->cfg->owns_all ? "owns_all: will be deleted" : "left alone");
}

static int start(struct xl_daemon *d)
{
	struct xl_table k;
	char err[256];
	int rc;

	if (!(d->ipvs = xl_ipvs_open(err, sizeof(err)))) {
		xl_err("%s", err);
		return -1;
	}
	if (xl_config_table(d->cfg, &d->desired) < 0)
		return -1;
	if ((rc = xl_ipvs_dump(d->ipvs, &k)) < 0) {
		xl_err("reading the IPVS table: %s", strerror(-rc));
		return -1;
	}
	log_adoption(d, &k);
	xl_table_free(&k);
	return sync_kernel(d, &d->desired, NULL, "start-up") < 0 ? -1 : 0;
}

static void stop(struct xl_daemon *d)
{
	struct xl_table none = { 0 };

	if (d->ipvs && d->cfg->on_stop == XL_ON_STOP_REMOVE) {
		/* owns_all would delete foreign services too: not on stop */
		d->cfg->owns_all = false;
		sync_kernel(d, &none, &d->desired, "stop (on_stop = remove)");
	} else if (d->ipvs) {
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
	if (start(d) < 0)
		return -1;
	arm_resync(d);
	xl_info("running: %zu virtual services, %zu objects",
		d->desired.nsvcs, xl_table_objects(&d->desired));
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
	if (!(d.cfg = load_or_report(o.conf)))
		return 1;
	if (o.check) {
		printf("%s: configuration is valid (%zu virtual services)\n",
		       o.conf, d.cfg->nvs);
		xl_config_free(d.cfg);
		return 0;
	}
	xl_log_open("extlbd", o.console, d.cfg->log_level);
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
	if (d.loop)
		ev_loop_destroy(d.loop);
	xl_ipvs_close(d.ipvs);
	xl_table_free(&d.desired);
	xl_config_free(d.cfg);
	xl_info("extlbd stopped");
	xl_log_close();
	return rc;
}
