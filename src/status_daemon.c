/*
 * status_daemon.c - the daemon's status: the job's source filled from the
 * daemon's state, and the SIGUSR1 dump to the log.
 *
 * The dump is the control socket's status, built by the same job a slice
 * at a time from a zero timer, so that checks and reloads go on while a
 * large table is written out; each service's lines are logged as soon as
 * it is built, at info level, one log line per table line.  A reload
 * during a dump ends it (its indexes belong to the old configuration),
 * and the log says so.
 */
#include "extlbd.h"
#include "log.h"
#include "status.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xl_status_dump {
	ev_timer tw;
	struct xl_daemon *d;
	struct xl_status_job *job;
	char why[16];
	size_t nlines;
};

static int health_info(const void *arg, size_t vs, size_t rs,
		       struct xl_health_info *out)
{
	return xl_health_info(arg, vs, rs, out);
}

static enum xl_health_quorum health_quorum(const void *arg, size_t vs)
{
	return xl_health_quorum(arg, vs);
}

struct xl_status_job *xl_status_start(struct xl_daemon *d, const char *service,
				      char *err, size_t errlen)
{
	struct xl_status_src src = {
	    .cfg = d->cfg,
	    .conf_path = d->conf_path,
	    .generation = d->counters.generation,
	    .live_generation = &d->counters.generation,
	    .read_at = d->read_at,
	    .info = health_info,
	    .quorum = health_quorum,
	    .health = d->health,
	    .drain = &d->drain,
	    .maint = &d->maint,
	    .kops = d->ipvs ? &xl_ipvs_kernel_ops : NULL,
	    .kernel = d->ipvs,
	};

	return xl_status_start_src(&src, service, err, errlen);
}

/* Every line of what print wrote, logged on its own. */
static void log_lines(struct xl_status_dump *u, char *text)
{
	for (char *line = text, *nl; line && *line; line = nl) {
		if ((nl = strchr(line, '\n')))
			*nl++ = '\0';
		xl_info("status: %s", line);
		u->nlines++;
	}
}

static void log_service(void *arg, json_object *svc)
{
	struct xl_status_dump *u = arg;
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f)
		return;
	xl_status_print_service(f, svc);
	if (fclose(f) == 0)
		log_lines(u, text);
	free(text);
}

static void log_titles(struct xl_status_dump *u)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f)
		return;
	xl_status_print_titles(f);
	if (fclose(f) == 0)
		log_lines(u, text);
	free(text);
}

static void log_head(struct xl_status_dump *u)
{
	size_t n = 0;
	const char *reply = xl_status_text(u->job, &n);
	json_object *o = reply ? json_tokener_parse(reply) : NULL;
	char *text = NULL;
	FILE *f = open_memstream(&text, &n);

	if (f && o)
		xl_status_print_head(f, o);
	if (f && fclose(f) == 0)
		log_lines(u, text);
	free(text);
	json_object_put(o);
}

static void dump_end(struct xl_status_dump *u)
{
	struct xl_daemon *d = u->d;

	ev_timer_stop(d->loop, &u->tw);
	xl_status_free(u->job);
	free(u);
	d->dump = NULL;
}

static void on_dump(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_status_dump *u = container_of(w, struct xl_status_dump, tw);
	char err[160];
	int rc;

	(void)loop;
	(void)revents;
	rc = xl_status_step(u->job, XL_STATUS_SLICE, err, sizeof(err));
	if (rc > 0)
		return; /* the timer fires again on the next iteration */
	if (rc < 0) {
		xl_warn("%s: status dump ended early: %s", u->why, err);
	} else {
		log_head(u);
		xl_info("%s: status dump done (%zu lines, exit %d)", u->why,
			u->nlines, xl_status_exit(u->job));
	}
	dump_end(u);
}

void xl_daemon_dump(struct xl_daemon *d, const char *why)
{
	struct xl_status_dump *u;
	char err[160];

	if (d->dump) {
		xl_info("%s: a status dump (%s) is under way already; not "
			"starting another",
			why, d->dump->why);
		return;
	}
	if (!(u = calloc(1, sizeof(*u))) ||
	    !(u->job = xl_status_start(d, NULL, err, sizeof(err)))) {
		xl_err("%s: status dump: out of memory", why);
		free(u);
		return;
	}
	u->d = d;
	snprintf(u->why, sizeof(u->why), "%s", why);
	xl_status_set_hook(u->job, log_service, u);
	xl_info("%s: writing the status of %zu virtual services to the log%s",
		why, d->cfg->nvs,
		strcmp(why, "SIGUSR2") ? ""
				       : " (SIGUSR2 does what SIGUSR1 does)");
	log_titles(u);
	ev_timer_init(&u->tw, on_dump, 0., 0.001);
	ev_timer_start(d->loop, &u->tw);
	d->dump = u;
}

void xl_daemon_dump_stop(struct xl_daemon *d)
{
	if (d->dump)
		dump_end(d->dump);
}

static void on_habit(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct xl_daemon *d = w->data;

	(void)loop;
	(void)revents;
	xl_daemon_dump(d, w->signum == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
}

void xl_daemon_habit_signals(struct xl_daemon *d)
{
	ev_signal_init(&d->sigusr1, on_habit, SIGUSR1);
	ev_signal_init(&d->sigusr2, on_habit, SIGUSR2);
	d->sigusr1.data = d->sigusr2.data = d;
	ev_signal_start(d->loop, &d->sigusr1);
	ev_signal_start(d->loop, &d->sigusr2);
	signal(SIGPIPE, SIG_IGN);
}
