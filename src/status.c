/*
 * status.c - the status reply, built a few services at a time.
 *
 * Each service is built as a small json-c tree (its servers, its kernel
 * counters), serialized and freed at once: the reply grows as text, and
 * the largest tree alive is one service's.  The head (exit value,
 * counts) is known only at the end, so it is written last, before the
 * services' text: room for it is left at the front of the buffer the
 * services are appended to, and the head is written into it at the end,
 * so that the reply is made in that one buffer, never copied, and can be
 * handed over whole to whoever sends it.  Between two steps the configuration
 * may be reloaded: every step first checks the generation it started from,
 * since the indexes it walks belong to that configuration alone.
 */
#include "status.h"

#include "check_types.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xl_status_job {
	struct xl_status_src src;
	size_t next, end; /* positions in cfg->by_id */
	size_t only;	  /* the one service asked for, or XL_VS_NONE */
	char *buf;	  /* room for the head, then "svc,svc,..." */
	size_t len, cap;
	size_t room;		    /* bytes of buf before the services' text */
	size_t reply_at, reply_len; /* the reply in buf, once finished */
	bool done;
	xl_status_service_fn hook;
	void *hook_arg;
	struct {
		size_t services, servers, up, down, unknown, maint, draining,
		    quorum_lost, quorum_unknown;
	} n;
	double now;
	/* the kernel's counters of the destinations of the service being
	 * made, one per entry of its kernel view, or NULL */
	struct xl_ipvs_stats *kst;
};

static double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_object *iso_time(double t)
{
	char b[32];
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&s, &tm) ||
	    !strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return json_object_new_string(b);
}

/* Seconds to the millisecond: enough for a person, short in JSON. */
static json_object *secs(double s)
{
	return json_object_new_double((double)(int64_t)(s * 1000.) / 1000.);
}

static void add(json_object *o, const char *k, json_object *v)
{
	if (v)
		json_object_object_add(o, k, v);
}

static json_object *stats_obj(const struct xl_ipvs_stats *s)
{
	json_object *o = json_object_new_object();

	add(o, "conns", json_object_new_uint64(s->conns));
	add(o, "inpkts", json_object_new_uint64(s->inpkts));
	add(o, "outpkts", json_object_new_uint64(s->outpkts));
	add(o, "inbytes", json_object_new_uint64(s->inbytes));
	add(o, "outbytes", json_object_new_uint64(s->outbytes));
	add(o, "cps", json_object_new_uint64(s->cps));
	add(o, "inpps", json_object_new_uint64(s->inpps));
	add(o, "outpps", json_object_new_uint64(s->outpps));
	add(o, "inbps", json_object_new_uint64(s->inbps));
	add(o, "outbps", json_object_new_uint64(s->outbps));
	return o;
}

static const struct xl_dest *kernel_dest(const struct xl_service *k,
					 const struct xl_dest *d)
{
	size_t lo = 0, hi = k ? k->ndests : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = xl_dest_cmp(d, &k->dests[mid]);

		if (!c)
			return &k->dests[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* What the kernel holds of d: effective weight, connections, counters. */
static void kernel_fields(const struct xl_status_job *j, json_object *o,
			  const struct xl_service *k, const struct xl_dest *d)
{
	const struct xl_dest *kd = kernel_dest(k, d);

	add(o, "in_kernel", json_object_new_boolean(kd != NULL));
	if (!kd)
		return;
	add(o, "effective_weight", json_object_new_int(kd->weight));
	add(o, "active", json_object_new_int64(kd->active_conns));
	add(o, "inactive", json_object_new_int64(kd->inact_conns));
	add(o, "persistent", json_object_new_int64(kd->persist_conns));
	if (j->kst)
		add(o, "stats", stats_obj(&j->kst[kd - k->dests]));
}

static json_object *server_id(json_object *o, const struct xl_dest *d)
{
	char b[XL_ADDRSTR_MAX + 8], a[XL_ADDRSTR_MAX];

	add(o, "server",
	    json_object_new_string(xl_dest_format(d, b, sizeof(b))));
	add(o, "address",
	    json_object_new_string(
		xl_addr_format(d->af, &d->addr, a, sizeof(a))));
	add(o, "port", json_object_new_int(d->port));
	add(o, "forwarding", json_object_new_string(xl_fwd_name(d->fwd)));
	return o;
}

static const char *const result_words[] = {
    [XL_CHECK_UP] = "success",
    [XL_CHECK_DOWN] = "failure",
    [XL_CHECK_ERROR] = "error",
};

static json_object *check_obj(const struct xl_status_job *j,
			      const struct xl_check_config *ck,
			      const struct xl_health_info *hi)
{
	json_object *o = json_object_new_object();

	add(o, "type", json_object_new_string(xl_check_type_name(ck->type)));
	add(o, "running", json_object_new_boolean(hi->busy));
	if (!hi->checked)
		return o;
	add(o, "result",
	    json_object_new_string(hi->last_status < XL_ARRAY_SIZE(result_words)
				       ? result_words[hi->last_status]
				       : "?"));
	add(o, "reason",
	    json_object_new_string(hi->last_reason ? hi->last_reason : ""));
	add(o, "at", iso_time(hi->last_at));
	add(o, "ago", secs(j->now - hi->last_at));
	add(o, "duration", secs(hi->last_elapsed));
	return o;
}

/* One configured real server. */
static json_object *server_obj(struct xl_status_job *j, size_t v, size_t r,
			       const struct xl_service *k)
{
	const struct xl_vs_config *vs = &j->src.cfg->vs[v];
	const struct xl_dest *d = &vs->svc.dests[r];
	json_object *o = server_id(json_object_new_object(), d);
	struct xl_health_info hi = {0};
	bool known = j->src.info &&
		     j->src.info(j->src.health, v, r, &hi) == 0 && hi.settled;
	bool off = xl_maint_has(j->src.maint, vs->name, d);
	const char *state = !known ? "unknown" : hi.up ? "up" : "down";

	j->n.servers++;
	if (!known)
		j->n.unknown++;
	else if (hi.up)
		j->n.up++;
	else
		j->n.down++;
	j->n.maint += off;
	add(o, "health", json_object_new_string(state));
	add(o, "maintenance", json_object_new_boolean(off));
	add(o, "weight", json_object_new_int(d->weight));
	kernel_fields(j, o, k, d);
	add(o, "consecutive_ok", json_object_new_int64(hi.ok));
	add(o, "consecutive_fail", json_object_new_int64(hi.fail));
	add(o, "check", check_obj(j, xl_rs_check(vs, r), &hi));
	return o;
}

static json_object *draining(struct xl_status_job *j, size_t v,
			     const struct xl_service *k)
{
	const struct xl_drain *dr = j->src.drain;
	const struct xl_vs_config *vs = &j->src.cfg->vs[v];
	json_object *list = NULL;

	for (size_t i = 0; dr && i < dr->n; i++) {
		const struct xl_drain_entry *e = &dr->v[i];
		json_object *o;

		if (xl_service_cmp(&e->svc, &vs->svc))
			continue;
		if (!list)
			list = json_object_new_array();
		o = server_id(json_object_new_object(), &e->dest);
		add(o, "since", iso_time(e->since));
		add(o, "deadline", iso_time(e->deadline));
		kernel_fields(j, o, k, &e->dest);
		json_object_array_add(list, o);
		j->n.draining++;
	}
	return list;
}

static const char *quorum_word(struct xl_status_job *j, size_t v)
{
	enum xl_health_quorum q =
	    j->src.quorum ? j->src.quorum(j->src.health, v) : XL_QUORUM_UNKNOWN;

	if (q == XL_QUORUM_LOST)
		j->n.quorum_lost++;
	else if (q == XL_QUORUM_UNKNOWN)
		j->n.quorum_unknown++;
	return q == XL_QUORUM_OK     ? "ok"
	       : q == XL_QUORUM_LOST ? "lost"
				     : "unknown";
}

static void service_id(json_object *o, const struct xl_service *s)
{
	char a[XL_ADDRSTR_MAX];

	add(o, "family",
	    json_object_new_string(s->af == AF_INET6 ? "inet6" : "inet"));
	if (s->fwmark) {
		add(o, "fwmark", json_object_new_int64(s->fwmark));
	} else {
		add(o, "protocol",
		    json_object_new_string(s->protocol == IPPROTO_UDP ? "udp"
					   : s->protocol == IPPROTO_SCTP
					       ? "sctp"
					       : "tcp"));
		add(o, "vip",
		    json_object_new_string(
			xl_addr_format(s->af, &s->addr, a, sizeof(a))));
		add(o, "port", json_object_new_int(s->port));
	}
	add(o, "scheduler", json_object_new_string(s->sched));
	if (s->timeout)
		add(o, "persistence", json_object_new_int64(s->timeout));
}

static json_object *service_obj(struct xl_status_job *j, size_t v)
{
	const struct xl_vs_config *vs = &j->src.cfg->vs[v];
	json_object *o = json_object_new_object(), *list, *dl;
	struct xl_service ks = {0}, *k = NULL;
	int rc = -ENOSYS;

	if (j->src.kops && j->src.kops->get_service_stats)
		rc = j->src.kops->get_service_stats(j->src.kernel, &vs->svc,
						    &ks, &j->kst);
	else if (j->src.kops)
		rc = j->src.kops->get_service(j->src.kernel, &vs->svc, &ks);
	if (!rc)
		k = &ks;
	add(o, "name", json_object_new_string(vs->name));
	service_id(o, &vs->svc);
	if (vs->svc.ndests || vs->has_sorry)
		add(o, "forwarding",
		    json_object_new_string(
			xl_fwd_name(vs->svc.ndests ? vs->svc.dests[0].fwd
						   : vs->sorry.fwd)));
	add(o, "in_kernel", json_object_new_boolean(k != NULL));
	if (rc && rc != -ESRCH && rc != -ENOSYS)
		add(o, "kernel_error", json_object_new_string(strerror(-rc)));
	if (k)
		add(o, "stats", stats_obj(&k->stats));
	list = json_object_new_array();
	for (size_t r = 0; r < vs->svc.ndests; r++)
		json_object_array_add(list, server_obj(j, v, r, k));
	add(o, "quorum", json_object_new_string(quorum_word(j, v)));
	if (vs->quorum)
		add(o, "quorum_weight", json_object_new_int64(vs->quorum));
	add(o, "servers", list);
	if (vs->has_sorry) {
		json_object *s =
		    server_id(json_object_new_object(), &vs->sorry);

		add(s, "weight", json_object_new_int(vs->sorry.weight));
		kernel_fields(j, s, k, &vs->sorry);
		add(o, "sorry", s);
	}
	if ((dl = draining(j, v, k)))
		add(o, "draining", dl);
	j->n.services++;
	xl_service_free(&ks);
	free(j->kst);
	j->kst = NULL;
	return o;
}

struct xl_status_job *xl_status_start_src(const struct xl_status_src *src,
					  const char *service, char *err,
					  size_t errlen)
{
	struct xl_status_job *j;
	const struct xl_vs_config *vs = NULL;

	if (service && !(vs = xl_config_find_name(src->cfg, service))) {
		snprintf(err, errlen, "no service named \"%s\"", service);
		return NULL;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->src = *src;
	j->now = src->now ? src->now() : real_now();
	j->only = vs ? (size_t)(vs - src->cfg->vs) : XL_VS_NONE;
	j->end = vs ? 1 : src->cfg->by_id ? src->cfg->nvs : 0;
	/* the head's room: its fixed text with 20-digit numbers is under 400
	 * bytes, and json-c writes a byte of the path as 6 at most (\u00XX) */
	j->room = 512 + 6 * (src->conf_path ? strlen(src->conf_path) : 0);
	j->len = j->room;
	if (XL_GROW(j->buf, j->cap, j->len + 1, 65536) < 0) {
		snprintf(err, errlen, "out of memory");
		free(j);
		return NULL;
	}
	return j;
}

void xl_status_set_hook(struct xl_status_job *j, xl_status_service_fn fn,
			void *arg)
{
	j->hook = fn;
	j->hook_arg = arg;
}

static int append(struct xl_status_job *j, const char *s, size_t n)
{
	if (XL_GROW(j->buf, j->cap, j->len + n + 1, 65536) < 0)
		return -ENOMEM;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
	return 0;
}

/* One service's text appended (or handed to the hook). */
static int build_one(struct xl_status_job *j, size_t v)
{
	json_object *o = service_obj(j, v);
	const char *text;
	size_t n;
	int rc = 0;

	if (j->hook) {
		j->hook(j->hook_arg, o);
	} else if (!(text = json_object_to_json_string_length(
			 o, JSON_C_TO_STRING_PLAIN, &n)) ||
		   (j->len > j->room && append(j, ",", 1) < 0) ||
		   append(j, text, n) < 0) {
		rc = -ENOMEM;
	}
	json_object_put(o);
	return rc;
}

static int exit_value(const struct xl_status_job *j)
{
	return j->n.down || j->n.unknown || j->n.quorum_lost ||
		       j->n.quorum_unknown
		   ? 1
		   : 0;
}

static json_object *summary(const struct xl_status_job *j)
{
	json_object *o = json_object_new_object();

	add(o, "services", json_object_new_int64((int64_t)j->n.services));
	add(o, "servers", json_object_new_int64((int64_t)j->n.servers));
	add(o, "up", json_object_new_int64((int64_t)j->n.up));
	add(o, "down", json_object_new_int64((int64_t)j->n.down));
	add(o, "unknown", json_object_new_int64((int64_t)j->n.unknown));
	add(o, "maintenance", json_object_new_int64((int64_t)j->n.maint));
	add(o, "draining", json_object_new_int64((int64_t)j->n.draining));
	add(o, "quorum_lost", json_object_new_int64((int64_t)j->n.quorum_lost));
	add(o, "quorum_unknown",
	    json_object_new_int64((int64_t)j->n.quorum_unknown));
	return o;
}

/* The head written into the room before the services' text, and the end
 * after it: the reply, in place. */
static int finish(struct xl_status_job *j, char *err, size_t errlen)
{
	static const char mid[] = ",\"services\":[", end[] = "]}\n";
	json_object *h = json_object_new_object();
	const char *text;
	size_t n;
	int rc = -1;

	add(h, "ok", json_object_new_boolean(1));
	add(h, "exit", json_object_new_int(exit_value(j)));
	add(h, "generation", json_object_new_int64((int64_t)j->src.generation));
	if (j->src.conf_path)
		add(h, "config", json_object_new_string(j->src.conf_path));
	add(h, "read_at", iso_time(j->src.read_at));
	add(h, "time", iso_time(j->now));
	add(h, "summary", summary(j));
	text = json_object_to_json_string_length(h, JSON_C_TO_STRING_PLAIN, &n);
	if (!text || n < 2 || append(j, end, sizeof(end) - 1) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the head without its closing brace, then the list's opening */
	if (n - 1 + sizeof(mid) - 1 > j->room) {
		snprintf(err, errlen,
			 "the status head outgrew its room (%zu "
			 "bytes)",
			 n);
		goto out;
	}
	j->reply_at = j->room - (n - 1) - (sizeof(mid) - 1);
	memcpy(j->buf + j->reply_at, text, n - 1);
	memcpy(j->buf + j->reply_at + n - 1, mid, sizeof(mid) - 1);
	j->reply_len = j->len - j->reply_at;
	j->done = true;
	rc = 0;
out:
	json_object_put(h);
	return rc;
}

int xl_status_step(struct xl_status_job *j, size_t budget, char *err,
		   size_t errlen)
{
	if (j->done)
		return 0;
	if (j->src.live_generation &&
	    *j->src.live_generation != j->src.generation) {
		snprintf(err, errlen,
			 "the configuration was reloaded; ask again");
		return -1;
	}
	for (double t0 = mono_now(); budget && j->next < j->end; budget--) {
		size_t v = j->only != XL_VS_NONE ? j->only
						 : j->src.cfg->by_id[j->next];

		if (build_one(j, v) < 0)
			goto oom;
		/* a slow kernel (or machine) shortens the step, not the
		 * checks' schedule */
		if (++j->next < j->end && mono_now() - t0 > XL_STATUS_STEP_SECS)
			return 1;
	}
	if (j->next < j->end)
		return 1;
	return finish(j, err, errlen);
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

const char *xl_status_text(const struct xl_status_job *j, size_t *len)
{
	*len = j->done && j->buf ? j->reply_len : 0;
	return *len ? j->buf + j->reply_at : NULL;
}

char *xl_status_take(struct xl_status_job *j, size_t *at, size_t *len)
{
	char *buf = j->buf;

	if (!xl_status_text(j, len))
		return NULL;
	*at = j->reply_at;
	j->buf = NULL;
	j->len = j->cap = 0;
	return buf;
}

int xl_status_exit(const struct xl_status_job *j)
{
	return exit_value(j);
}

void xl_status_free(struct xl_status_job *j)
{
	if (!j)
		return;
	free(j->buf);
	free(j);
}
