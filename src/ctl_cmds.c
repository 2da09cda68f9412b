/*
 * ctl_cmds.c - the daemon's control commands, and the control socket's
 * place in its lifecycle.
 *
 * A command is one entry of cmds[] below: its name, whether members of
 * control_group may run it (it changes nothing and costs little), and its
 * handler (include/ctl.h says what a handler does).  The server (ctl.c)
 * does the rest: credentials, limits, JSON in and out.
 */
#include "autoconf.h"

#include "extlbd.h"
#include "log.h"
#include "op.h"
#include "status.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double started; /* CLOCK_MONOTONIC seconds at xl_daemon_ctl_open */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_lines(struct json_object *o, const char *k,
		      const struct xl_errors *e)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < e->n; i++)
		json_object_array_add(a, json_object_new_string(e->msgs[i]));
	json_object_object_add(o, k, a);
}

/* The lines of a memory stream's text as a JSON array. */
static void add_text(struct json_object *o, const char *k, const char *text)
{
	struct json_object *a = json_object_new_array();

	for (const char *s = text; s && *s;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		json_object_array_add(a, json_object_new_string_len(s, (int)n));
		s += n + (nl != NULL);
	}
	json_object_object_add(o, k, a);
}

static int cmd_ping(struct xl_daemon *d, struct json_object *req,
		    struct json_object *reply, char *err, size_t errlen)
{
	(void)req;
	(void)err;
	(void)errlen;
	add_str(reply, "version", PACKAGE_VERSION);
	add_int(reply, "pid", (int64_t)getpid());
	json_object_object_add(reply, "uptime",
			       json_object_new_double(mono_now() - started));
	add_str(reply, "config_file", d->conf_path);
	json_object_object_add(reply, "config_read_at",
			       json_object_new_double(d->read_at));
	add_int(reply, "virtual_services", (int64_t)d->cfg->nvs);
	add_int(reply, "generation", (int64_t)d->counters.generation);
	return 0;
}

static int cmd_reload(struct xl_daemon *d, struct json_object *req,
		      struct json_object *reply, char *err, size_t errlen)
{
	struct xl_reload_report rep = {0};
	const struct xl_sync_result *r = &rep.run;
	struct json_object *counts;
	char line[256];
	int rc = 0;

	(void)req; /* ctl.c logged who asked */
	xl_daemon_reload_report(d, &rep);
	add_str(reply, "file", d->conf_path);
	json_object_object_add(reply, "applied",
			       json_object_new_boolean(rep.applied));
	add_lines(reply, "refused", &rep.refused);
	if (!rep.applied) {
		add_lines(reply, "errors", &rep.errors);
		snprintf(err, errlen,
			 "%s is invalid (%zu error%s); the running "
			 "configuration stays in force",
			 d->conf_path, rep.errors.n,
			 rep.errors.n == 1 ? "" : "s");
		rc = -1;
		goto out;
	}
	counts = json_object_new_object();
	for (int k = 0; k < XL_OP_KINDS; k++)
		add_int(counts, xl_op_name((enum xl_op_kind)k),
			(int64_t)r->count[k]);
	json_object_object_add(reply, "counts", counts);
	add_int(reply, "ops", (int64_t)r->nops);
	add_int(reply, "failed", r->failed);
	/* the words of the log's line (xl_sync_log_result) */
	snprintf(line, sizeof(line),
		 "%zu ops applied in %.0f ms (services +%zu ~%zu -%zu, real "
		 "servers +%zu ~%zu -%zu), %ld failed",
		 r->nops, r->ms, r->count[XL_OP_ADD_SVC],
		 r->count[XL_OP_EDIT_SVC], r->count[XL_OP_DEL_SVC],
		 r->count[XL_OP_ADD_DEST], r->count[XL_OP_EDIT_DEST],
		 r->count[XL_OP_DEL_DEST], r->failed);
	add_str(reply, "summary", line);
	/* ops the kernel refused are retried; the reload did not do all */
	add_int(reply, "exit", r->failed ? 1 : 0);
out:
	xl_errors_free(&rep.errors);
	xl_errors_free(&rep.refused);
	return rc;
}

/* As extlbd -t on the file in force: the same lines, each in its list. */
static int cmd_check_config(struct xl_daemon *d, struct json_object *req,
			    struct json_object *reply, char *err, size_t errlen)
{
	struct xl_errors errs = {0};
	struct xl_config *c;
	char *out = NULL, *warn = NULL;
	size_t nout = 0, nwarn = 0;
	FILE *fo, *fw;

	(void)req;
	add_str(reply, "file", d->conf_path);
	if (!(c = xl_config_load(d->conf_path, &errs))) {
		add_lines(reply, "errors", &errs);
		snprintf(err, errlen, "%s: %zu error%s", d->conf_path, errs.n,
			 errs.n == 1 ? "" : "s");
		xl_errors_free(&errs);
		return -1;
	}
	fo = open_memstream(&out, &nout);
	fw = open_memstream(&warn, &nwarn);
	if (fo && fw)
		xl_daemon_print_check(fo, fw, d->conf_path, c);
	if (fo)
		fclose(fo);
	if (fw)
		fclose(fw);
	add_text(reply, "warnings", warn);
	add_text(reply, "output", out);
	add_int(reply, "virtual_services", (int64_t)c->nvs);
	free(out);
	free(warn);
	xl_config_free(c);
	xl_errors_free(&errs);
	return 0;
}

/* status [SERVICE]: built by status.c's job, XL_STATUS_SLICE services
 * per loop iteration, so that checks keep their schedule meanwhile. */
static void *status_start(struct xl_daemon *d, struct json_object *req,
			  char *err, size_t errlen)
{
	struct json_object *v = NULL;

	if (json_object_object_get_ex(req, "service", &v) &&
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "\"service\" must be a string");
		return NULL;
	}
	return xl_status_start(d, v ? json_object_get_string(v) : NULL, err,
			       errlen);
}

static int status_step(void *job, char *err, size_t errlen)
{
	return xl_status_step(job, XL_STATUS_SLICE, err, errlen);
}

static char *status_take(void *job, size_t *at, size_t *len)
{
	return xl_status_take(job, at, len);
}

static void status_free(void *job)
{
	xl_status_free(job);
}

static const struct xl_ctl_job_ops status_job = {
    status_start,
    status_step,
    status_take,
    status_free,
};

/* The commands: one entry each.  read_only: control_group may run it. */
static const struct xl_ctl_cmd cmds[] = {
    {"ping", true, cmd_ping, NULL},
    {"status", true, NULL, &status_job},
    {"disable", false, xl_ctl_disable, NULL},
    {"enable", false, xl_ctl_enable, NULL},
    {"reload", false, cmd_reload, NULL},
    /* parsing the whole file is a reload's cost: root's to ask for */
    {"check-config", false, cmd_check_config, NULL},
};

static int listen_as_configured(struct xl_daemon *d, bool say)
{
	const struct xl_config *c = d->cfg;
	char err[512] = "";

	if (xl_ctl_listen(d->ctl, c->control_socket, c->control_group != NULL,
			  c->control_gid, err, sizeof(err)) < 0) {
		xl_err("%s", err);
		return -1;
	}
	if (!say)
		return 0;
	if (*c->control_socket && c->control_group)
		xl_info("control socket %s: root, and group %s read-only",
			c->control_socket, c->control_group);
	else if (*c->control_socket)
		xl_info("control socket %s: root only", c->control_socket);
	return 0;
}

int xl_daemon_ctl_open(struct xl_daemon *d)
{
	started = mono_now();
	if (!(d->ctl = xl_ctl_new(d->loop, d, cmds, XL_ARRAY_SIZE(cmds)))) {
		xl_err("control socket: out of memory");
		return -1;
	}
	return listen_as_configured(d, true);
}

void xl_daemon_ctl_follow(struct xl_daemon *d)
{
	const char *now;
	char *was;

	if (!d->ctl)
		return;
	now = xl_ctl_path(d->ctl);
	if (!now && !*d->cfg->control_socket)
		return;
	/* the same path: only its group and mode are set again */
	was = now ? strdup(now) : NULL;
	if (listen_as_configured(
		d, !was || strcmp(was, d->cfg->control_socket)) < 0)
		xl_err("control socket: %s stays", was ? was : "none");
	free(was);
}

void xl_daemon_ctl_close(struct xl_daemon *d)
{
	xl_ctl_free(d->ctl);
	d->ctl = NULL;
}
