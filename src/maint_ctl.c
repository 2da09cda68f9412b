/*
 * maint_ctl.c - disable and enable: the control commands that put a real
 * server in maintenance and take it out, and the flags' life in the
 * daemon (read at start-up, checked against every new configuration).
 *
 * A change is written to the state file first, then made: a flag the
 * file would not keep is refused, since the operator was promised that
 * it outlives a restart.  It then reaches the kernel the way a health
 * change does, through the desired entry of that one service
 * (xl_daemon_sync_keys), so a disable costs the same at 10 services or
 * at 100,000.
 */
#include "extlbd.h"
#include "log.h"
#include "op.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

void xl_daemon_maint_load(struct xl_daemon *d)
{
	char path[4096], err[512];

	if (xl_maint_path(d->cfg, path, sizeof(path)) < 0) {
		xl_err("state_dir: path too long: no server is in maintenance");
		return;
	}
	if (xl_maint_load(&d->maint, path, err, sizeof(err)) < 0)
		xl_err("maintenance: %s", err);
	if (d->maint.bad_file)
		xl_err("maintenance: %s is left as it is until the next "
		       "disable or enable, which keeps it as %s.bad",
		       path, path);
	if (d->maint.n)
		xl_info("maintenance: %zu real server%s disabled (%s)",
			d->maint.n, d->maint.n == 1 ? "" : "s", path);
	xl_daemon_maint_reloaded(d);
}

static void log_unknown(void *arg, const struct xl_maint_entry *e)
{
	struct xl_dest x = {.af = e->af, .addr = e->addr, .port = e->port};
	char b[XL_ADDRSTR_MAX + 8];

	(void)arg;
	xl_warn("maintenance: real server %s of \"%s\" is disabled but not "
		"in the configuration; the flag is kept for when it returns",
		xl_dest_format(&x, b, sizeof(b)), e->service);
}

void xl_daemon_maint_reloaded(struct xl_daemon *d)
{
	xl_maint_unknown(&d->maint, d->cfg, log_unknown, NULL);
}

/* The member k of req as a string, or NULL with err. */
static const char *req_str(struct json_object *req, const char *k, char *err,
			   size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, k, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "\"%s\" (a string) is missing", k);
		return NULL;
	}
	return json_object_get_string(v);
}

/* The configured real server req names: its index in vs, or -1. */
static long find_server(const struct xl_vs_config *vs, const char *s, char *err,
			size_t errlen)
{
	char b[XL_ADDRSTR_MAX + 8], list[256] = "";
	union xl_inaddr a;
	uint16_t af;
	int port;
	long hit = -1;
	size_t n = 0, o = 0;

	if (xl_maint_parse_server(s, &af, &a, &port, err, errlen) < 0)
		return -1;
	for (size_t r = 0; r < vs->svc.ndests; r++) {
		const struct xl_dest *d = &vs->svc.dests[r];

		if (d->af != af || memcmp(&d->addr, &a, sizeof(a)) ||
		    (port >= 0 && d->port != port))
			continue;
		hit = (long)r;
		if (o < sizeof(list))
			o += (size_t)snprintf(list + o, sizeof(list) - o,
					      "%s%s", n ? ", " : "",
					      xl_dest_format(d, b, sizeof(b)));
		n++;
	}
	if (!n)
		snprintf(err, errlen, "service \"%s\" has no real server %s",
			 vs->name, s);
	else if (n > 1)
		snprintf(err, errlen,
			 "%s is more than one real server of \"%s\" (%s): "
			 "give the port",
			 s, vs->name, list);
	return n == 1 ? hit : -1;
}

/* Active connections of d in the kernel now, or -1. */
static long active_conns(struct xl_daemon *d, const struct xl_vs_config *vs,
			 const struct xl_dest *x)
{
	struct xl_service s;
	long n = -1;

	if (!d->ipvs || xl_ipvs_dump_service(d->ipvs, &vs->svc, &s, NULL) < 0)
		return -1;
	for (size_t i = 0; i < s.ndests; i++)
		if (!xl_dest_cmp(&s.dests[i], x))
			n = s.dests[i].active_conns;
	xl_service_free(&s);
	return n;
}

static void reply_add(struct json_object *reply, const char *k,
		      struct json_object *v)
{
	if (v)
		json_object_object_add(reply, k, v);
}

static int set_flag(struct xl_daemon *d, struct json_object *req,
		    struct json_object *reply, bool on, char *err,
		    size_t errlen)
{
	const char *svc = req_str(req, "service", err, errlen), *srv;
	const struct xl_vs_config *vs;
	char path[4096], b[XL_ADDRSTR_MAX + 8], msg[512], lbl[XL_LABEL_MAX];
	struct xl_keys k = {0};
	const struct xl_dest *x;
	long r, conns;
	int rc;

	if (!svc || !(srv = req_str(req, "server", err, errlen)))
		return -1;
	if (!(vs = xl_config_find_name(d->cfg, svc))) {
		snprintf(err, errlen, "no service named \"%s\"", svc);
		return -1;
	}
	if ((r = find_server(vs, srv, err, errlen)) < 0)
		return -1;
	x = &vs->svc.dests[r];
	xl_dest_format(x, b, sizeof(b));
	if ((rc = xl_maint_set(&d->maint, vs->name, x, on)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "%s of %s: %s already", b, vs->name,
			 on ? "disabled" : "enabled");
		goto done;
	}
	if (xl_maint_path(d->cfg, path, sizeof(path)) < 0 ||
	    xl_maint_save(&d->maint, path, err, errlen) < 0) {
		xl_maint_set(&d->maint, vs->name, x, !on);
		if (!*err)
			snprintf(err, errlen, "state_dir: path too long");
		xl_err("maintenance: real server %s not %s: %s",
		       xl_label_server(vs->name, &vs->svc, x, lbl, sizeof(lbl)),
		       on ? "disabled" : "enabled", err);
		return -1;
	}
	xl_health_maint_changed(d->health, (size_t)(vs - d->cfg->vs));
	if (xl_keys_push(&k, &vs->svc) < 0)
		xl_daemon_sync_full(d, on ? "disable" : "enable", false);
	else
		xl_daemon_sync_keys(d, on ? "disable" : "enable", false, &k,
				    k.n);
	xl_keys_free(&k);
	conns = active_conns(d, vs, x);
	if (on)
		snprintf(msg, sizeof(msg),
			 "%s of %s: disabled, draining %ld connection%s", b,
			 vs->name, conns < 0 ? 0 : conns,
			 conns == 1 ? "" : "s");
	else
		snprintf(msg, sizeof(msg), "%s of %s: enabled, weight %d", b,
			 vs->name, x->weight);
	xl_info("maintenance: real server %s %s",
		xl_label_server(vs->name, &vs->svc, x, lbl, sizeof(lbl)),
		on ? "disabled" : "enabled");
	reply_add(reply, "active",
		  json_object_new_int64(conns < 0 ? 0 : conns));
done:
	reply_add(reply, "service", json_object_new_string(vs->name));
	reply_add(reply, "server", json_object_new_string(b));
	reply_add(reply, "maintenance", json_object_new_boolean(on));
	reply_add(reply, "changed", json_object_new_boolean(rc > 0));
	reply_add(reply, "message", json_object_new_string(msg));
	return 0;
}

int xl_ctl_disable(struct xl_daemon *d, struct json_object *req,
		   struct json_object *reply, char *err, size_t errlen)
{
	return set_flag(d, req, reply, true, err, errlen);
}

int xl_ctl_enable(struct xl_daemon *d, struct json_object *req,
		  struct json_object *reply, char *err, size_t errlen)
{
	return set_flag(d, req, reply, false, err, errlen);
}
