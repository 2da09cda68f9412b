/*
 * status.c - what a pass says to the API server once the file is in
 * place: each served Service's status PATCHed to show its VIP, the status
 * of a Service no longer served cleared, and Events, rate limited and
 * each said once, on what its owner should hear of.  Every write goes the
 * same way, blocking (--once) or on the watch loop's multi handle.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/log.h"
#include "sync_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "/api/v1/namespaces/NS/services/NAME/status" and the like. */
static void object_path(const char *ns, const char *plural, const char *name,
			const char *sub, char *out, size_t len)
{
	char e_ns[3 * KEY_MAX], e_name[3 * KEY_MAX];

	k8s_escape(ns, e_ns, sizeof(e_ns));
	k8s_escape(name ? name : "", e_name, sizeof(e_name));
	snprintf(out, len, "/api/v1/namespaces/%s/%s%s%s%s", e_ns, plural,
		 name ? "/" : "", e_name, sub ? sub : "");
}

/*
 * A write (a status PATCH, an Event POST) and what follows its end, in
 * one place for both ways of sending it: blocking (--once), its end then
 * handled at once, or on the watch loop's multi handle (st->async), its
 * end handled when the answer comes, the loop going on meanwhile.
 */
enum write_kind { W_PUBLISH, W_CLEAR, W_EVENT };

struct write {
	enum write_kind kind;
	struct k8s_client *c;
	struct k8s_state *st;
	char key[KEY_MAX];	 /* "namespace/name" of the Service */
	char *vip, *mode;	 /* W_PUBLISH */
	const char *cleared;	 /* W_CLEAR: "not served", for the log */
	char *ev_path, *ev_body; /* W_PUBLISH: an Event to post after it */
};

/* A write about the Service ns/name; NULL (logged) when out of memory. */
static struct write *write_new(enum write_kind kind, struct k8s_client *c,
			       struct k8s_state *st, const char *ns,
			       const char *name)
{
	struct write *w = calloc(1, sizeof(*w));

	if (!w) {
		k8s_err("Service %s%s%s: out of memory", ns, name ? "/" : "",
			name ? name : "");
		return NULL;
	}
	w->kind = kind;
	w->c = c;
	w->st = st;
	/* name NULL: ns is the whole key already */
	snprintf(w->key, sizeof(w->key), "%s%s%s", ns, name ? "/" : "",
		 name ? name : "");
	return w;
}

static void write_free(struct write *w)
{
	if (!w)
		return;
	free(w->vip);
	free(w->mode);
	free(w->ev_path);
	free(w->ev_body);
	free(w);
}

static void write_end(void *arg, bool ok, bool cancelled, const char *why);

/* Sends the write's request; its end is handled by write_end, which
 * frees w (here when it could not be sent).  The same request already
 * in flight is not sent twice.  0, or -1 when it failed (blocking) or
 * could not be sent. */
static int write_send(struct write *w, const char *method, const char *path,
		      const char *ctype, const char *body)
{
	char why[512];
	int r;

	if (!w->st->async) {
		r = !strcmp(method, "POST")
			? k8s_client_post(w->c, path, ctype, body)
			: k8s_client_patch(w->c, path, ctype, body);
		write_end(w, r == 0, false, k8s_client_error(w->c));
		return r;
	}
	if (k8s_async_busy(w->st->async, method, path, body)) {
		k8s_debug("%s %s: already on its way", method, path);
		write_free(w);
		return 0;
	}
	if (k8s_async_send(w->st->async, method, path, ctype, body, write_end,
			   w, why, sizeof(why)) == 0)
		return 0;
	write_end(w, false, false, why);
	return -1;
}

/* Whether the rate limit lets one more Event about the Service go. */
static bool event_allowed(struct k8s_state *st, const char *key)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return k8s_limiter_allow(&st->limiter, key,
				 (double)ts.tv_sec + ts.tv_nsec / 1e9);
}

void k8s_sync_report_dropped(struct k8s_state *st)
{
	struct timespec ts;
	unsigned long n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = k8s_limiter_dropped(&st->limiter,
				(double)ts.tv_sec + ts.tv_nsec / 1e9);
	if (n)
		k8s_warn("%lu Event(s) not posted: past the rate limit (%.0f "
			 "at once, then %.0f a second; %.0f per Service, then "
			 "one every %.0f s)",
			 n, K8S_EVENT_BURST, K8S_EVENT_RATE,
			 K8S_EVENT_SVC_BURST, K8S_EVENT_SVC_PERIOD);
}

/* An Event's body ready: posted, unless past the rate limit.  key is
 * the Service's "namespace/name". */
static void event_send(struct k8s_client *c, struct k8s_state *st,
		       const char *key, const char *path, const char *body)
{
	struct write *w;

	if (!event_allowed(st, key))
		return;
	w = write_new(W_EVENT, c, st, key, NULL);
	if (w)
		write_send(w, "POST", path, "application/json", body);
}

/* The published VIP forgotten when it is still the one given: the next
 * pass PATCHes it again. */
static void forget_vip(struct k8s_state *st, const char *key, const char *vip)
{
	const char *had = k8s_cache_get(&st->published, key);

	if (had && vip && !strcmp(had, vip))
		k8s_cache_delete(&st->published, key);
}

/* A PATCH ended well. */
static void write_ok(struct write *w)
{
	if (w->kind == W_PUBLISH) {
		k8s_info("Service %s: status shows %s %s (ipMode %s)", w->key,
			 strchr(w->vip, ',') ? "VIPs" : "VIP", w->vip, w->mode);
		if (w->ev_body)
			event_send(w->c, w->st, w->key, w->ev_path, w->ev_body);
	} else if (w->kind == W_CLEAR) {
		k8s_info("Service %s is %s: status cleared", w->key,
			 w->cleared);
		k8s_cache_delete(&w->st->published, w->key);
	}
}

static void write_end(void *arg, bool ok, bool cancelled, const char *why)
{
	struct write *w = arg;

	if (cancelled) {
		write_free(w);
		return;
	}
	if (ok)
		write_ok(w);
	else if (w->kind == W_EVENT)
		/* Events are best effort, as Kubernetes' own recorders treat
		 * them: logged once, not retried */
		k8s_err("Service %s: cannot post an Event: %s", w->key, why);
	else if (w->kind == W_PUBLISH)
		k8s_err("Service %s: cannot publish VIP %s: %s", w->key, w->vip,
			why);
	else
		k8s_err("Service %s: cannot clear its status: %s", w->key, why);
	if (!ok && w->kind == W_PUBLISH)
		forget_vip(w->st, w->key, w->vip);
	if (w->kind != W_EVENT && w->st->async && w->st->write_result)
		w->st->write_result(w->st->write_result_arg, ok);
	write_free(w);
}

/* A merge patch of the status: ingress = [{ip: vip, ipMode: mode}] (and
 * a second entry for vip2, a dual-stack Service's other family, unless it
 * is ""), or removed (vip NULL; a merge patch replaces a list as a whole,
 * null deletes it). */
static int patch_status(struct write *w, const struct k8s_service *s,
			const char *vip, const char *vip2, const char *mode)
{
	char path[8 * KEY_MAX], body[384];

	object_path(s->ns, "services", s->name, "/status", path, sizeof(path));
	if (vip && vip2 && *vip2)
		snprintf(body, sizeof(body),
			 "{\"status\":{\"loadBalancer\":{\"ingress\":"
			 "[{\"ip\":\"%s\",\"ipMode\":\"%s\"},"
			 "{\"ip\":\"%s\",\"ipMode\":\"%s\"}]}}}",
			 vip, mode, vip2, mode);
	else if (vip)
		snprintf(body, sizeof(body),
			 "{\"status\":{\"loadBalancer\":{\"ingress\":"
			 "[{\"ip\":\"%s\",\"ipMode\":\"%s\"}]}}}",
			 vip, mode);
	else
		snprintf(body, sizeof(body),
			 "{\"status\":{\"loadBalancer\":{\"ingress\":null}}}");
	return write_send(w, "PATCH", path, "application/merge-patch+json",
			  body);
}

/* What the published cache holds of a Service: its VIP, or its two
 * joined by ",". */
void sync_published_vips(const struct k8s_publish *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", p->vip, *p->vip2 ? "," : "", p->vip2);
}

/* Remembers that the Service's status shows our VIP, or will once the
 * PATCH sent while the cache held the Service at resourceVersion rv comes
 * back as an event.  0 or -1. */
int sync_remember(struct k8s_state *st, const char *key, const char *vip,
		  const char *rv)
{
	const char *had = k8s_cache_get(&st->published, key);
	const char *had_rv = k8s_cache_rv(&st->published, key);
	char *v;

	if (had && !strcmp(had, vip) && !strcmp(had_rv, rv))
		return 0;
	v = strdup(vip);
	if (!v || k8s_cache_put(&st->published, key, rv, v) < 0) {
		k8s_err("out of memory");
		return -1;
	}
	return 0;
}

/* Whether vip was PATCHed into the Service when the cache held it at rv. */
bool sync_patched_already(const struct k8s_state *st, const char *key,
			  const char *vip, const char *rv)
{
	const char *had = k8s_cache_get(&st->published, key);
	const char *had_rv = k8s_cache_rv(&st->published, key);

	return had && rv && *rv && !strcmp(had, vip) && !strcmp(had_rv, rv);
}

/* The time now as the API server writes it: "2026-11-26T08:15:05Z". */
static void rfc3339_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An Event on the Service, as `kubectl describe svc` shows it: type
 * "Warning", or "Normal" for news that needs no action.  Its path and
 * body (malloc'ed), or -1 when out of memory. */
static int event_body(const struct k8s_service *s, const char *type,
		      const char *reason, const char *msg, char **out_path,
		      char **out_body)
{
	char path[8 * KEY_MAX], now[32], *prefix = NULL;
	json_object *ev = json_object_new_object();
	json_object *md = json_object_new_object();
	json_object *obj = json_object_new_object();
	json_object *src = json_object_new_object();
	int r = -1;

	*out_path = *out_body = NULL;
	rfc3339_now(now, sizeof(now));
	if (!ev || !md || !obj || !src ||
	    asprintf(&prefix, "%s.", s->name) < 0) {
		prefix = NULL;
		json_object_put(md);
		json_object_put(obj);
		json_object_put(src);
		goto out;
	}
	json_object_object_add(md, "generateName",
			       json_object_new_string(prefix));
	json_object_object_add(md, "namespace", json_object_new_string(s->ns));
	json_object_object_add(ev, "metadata", md);
	json_object_object_add(obj, "kind", json_object_new_string("Service"));
	json_object_object_add(obj, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(obj, "namespace", json_object_new_string(s->ns));
	json_object_object_add(obj, "name", json_object_new_string(s->name));
	if (s->uid)
		json_object_object_add(obj, "uid",
				       json_object_new_string(s->uid));
	json_object_object_add(ev, "involvedObject", obj);
	json_object_object_add(ev, "reason", json_object_new_string(reason));
	json_object_object_add(ev, "message", json_object_new_string(msg));
	json_object_object_add(ev, "type", json_object_new_string(type));
	json_object_object_add(src, "component",
			       json_object_new_string("extlb-k8s"));
	json_object_object_add(ev, "source", src);
	json_object_object_add(ev, "reportingComponent",
			       json_object_new_string("extlb-k8s"));
	json_object_object_add(ev, "firstTimestamp",
			       json_object_new_string(now));
	json_object_object_add(ev, "lastTimestamp",
			       json_object_new_string(now));
	json_object_object_add(ev, "count", json_object_new_int(1));
	object_path(s->ns, "events", NULL, NULL, path, sizeof(path));
	*out_path = strdup(path);
	*out_body =
	    strdup(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
	if (*out_path && *out_body)
		r = 0;
out:
	if (r < 0) {
		free(*out_path);
		free(*out_body);
		*out_path = *out_body = NULL;
	}
	free(prefix);
	json_object_put(ev);
	return r;
}

/* An Event on the Service posted, within the rate limit. */
static void post_event(struct k8s_client *c, struct k8s_state *st,
		       const struct k8s_service *s, const char *type,
		       const char *reason, const char *msg)
{
	char key[KEY_MAX], *path = NULL, *body = NULL;

	snprintf(key, sizeof(key), "%s/%s", s->ns, s->name);
	if (event_body(s, type, reason, msg, &path, &body) < 0)
		k8s_err("Service %s: cannot post an Event: out of memory", key);
	else
		event_send(c, st, key, path, body);
	free(path);
	free(body);
}

/* The status PATCHed to show the VIP; a Service that did not show it
 * before gets a Normal Event, once: the next pass finds it in the status
 * (or, in the watch loop, knows its PATCH is on its way back). */
int sync_publish(struct k8s_client *c, struct k8s_state *st,
		 const struct k8s_publish *p)
{
	struct write *w = write_new(W_PUBLISH, c, st, p->svc->ns, p->svc->name);
	char msg[192], vips[2 * K8S_ADDRSTR_MAX + 16];

	if (!w)
		return -1;
	snprintf(vips, sizeof(vips), "%s %s%s%s", *p->vip2 ? "VIPs" : "VIP",
		 p->vip, *p->vip2 ? " and " : "", p->vip2);
	/* w->vip is what the published cache holds: forget_vip() compares */
	sync_published_vips(p, msg, sizeof(msg));
	if (!(w->vip = strdup(msg)) || !(w->mode = strdup(p->ip_mode))) {
		k8s_err("out of memory");
		write_free(w);
		return -1;
	}
	if (p->new_vip) {
		snprintf(msg, sizeof(msg), "%s assigned (ipMode %s)", vips,
			 p->ip_mode);
		/* posted once the PATCH went through (write_ok) */
		if (event_body(p->svc, "Normal", "IPAllocated", msg,
			       &w->ev_path, &w->ev_body) < 0)
			k8s_err("Service %s: cannot post an Event: out of "
				"memory",
				w->key);
	}
	return patch_status(w, p->svc, p->vip, p->vip2, p->ip_mode);
}

/*
 * One Warning Event (and one log line) per Service, reason and message:
 * told holds what the last pass said, fresh collects what this one says,
 * each under "namespace/name", a newline, "Reason: message".  Said again
 * only when it was not said in the pass before, so that a Service left
 * pending, or with a bad annotation, does not get an Event at every pass,
 * while a Service with several things wrong hears of each.  -1 only when
 * out of memory.
 */
static int tell(struct k8s_client *c, struct k8s_state *st,
		struct k8s_cache *fresh, const struct k8s_service *s,
		const char *reason, const char *msg, bool pending)
{
	const struct k8s_cache *told = &st->pending;
	char *key = k8s_event_key(s->ns, s->name, reason, msg);
	char *mark = strdup("");

	if (!key || !mark) {
		free(key);
		free(mark);
		k8s_err("out of memory");
		return -1;
	}
	if (!k8s_cache_get(told, key) && !k8s_cache_get(fresh, key)) {
		if (pending)
			k8s_warn("Service %s/%s is pending (%s): %s", s->ns,
				 s->name, reason, msg);
		else
			k8s_warn("Service %s/%s (%s): %s", s->ns, s->name,
				 reason, msg);
		/* Events are best effort, as Kubernetes' own recorders treat
		 * them: one that cannot be posted (no RBAC for events, a 500)
		 * is logged once, not retried, and does not hold back the
		 * rest */
		post_event(c, st, s, "Warning", reason, msg);
	}
	/* the cache owns mark from here, even on failure */
	if (k8s_cache_put(fresh, key, "", mark) < 0) {
		free(key);
		k8s_err("out of memory");
		return -1;
	}
	free(key);
	return 0;
}

/* Every pending Service and notice of the plan told, once; st->pending
 * becomes what was told this pass. */
int sync_tell_all(struct k8s_client *c, struct k8s_state *st,
		  const struct k8s_plan *plan)
{
	struct k8s_cache fresh;
	int ret = 0;

	k8s_cache_init(&fresh, "pending Service", free);
	for (size_t i = 0; ret == 0 && i < plan->npending; i++)
		ret = tell(c, st, &fresh, plan->pending[i].svc,
			   plan->pending[i].reason, plan->pending[i].why, true);
	for (size_t i = 0; ret == 0 && i < plan->nnotices; i++)
		ret =
		    tell(c, st, &fresh, plan->notices[i].svc,
			 plan->notices[i].reason, plan->notices[i].msg, false);
	if (ret < 0) {
		k8s_cache_clear(&fresh);
		return -1;
	}
	k8s_cache_clear(&st->pending);
	st->pending = fresh;
	return 0;
}

/*
 * A pending Service is not in the file: an address its status still
 * shows (it was served before its VIP was refused, or it lost a clash
 * while the status said otherwise) no longer serves it, so it goes.
 */
int sync_clear_pending(struct k8s_client *c, struct k8s_state *st,
		       const struct k8s_plan *plan)
{
	int ret = 0;

	for (size_t i = 0; i < plan->npending; i++) {
		const struct k8s_service *s = plan->pending[i].svc;
		struct write *w;

		if (!s->ningress)
			continue;
		/* logged, and forgotten in st->published, by write_ok */
		w = write_new(W_CLEAR, c, st, s->ns, s->name);
		if (w)
			w->cleared = "not served";
		if (!w || patch_status(w, s, NULL, NULL, NULL) < 0)
			ret = -1;
	}
	return ret;
}

/* Whether every address of the Service's status is in our pools. */
static bool ingress_in_pools(const struct k8s_service *s,
			     const struct k8s_render_opts *o)
{
	for (size_t i = 0; i < s->ningress; i++) {
		struct k8s_addr a;

		if (k8s_addr_parse(s->ingress[i], &a) < 0 ||
		    !k8s_pools_contain(o->pools, o->npools, &a))
			return false;
	}
	return s->ningress > 0;
}

/* Whether the Service's status shows an address of vips, what
 * sync_published_vips() wrote. */
static bool ingress_has(const struct k8s_service *s, const char *vips)
{
	for (size_t i = 0; vips && i < s->ningress; i++) {
		size_t n = strlen(s->ingress[i]);
		const char *at = vips;

		while (n && (at = strstr(at, s->ingress[i]))) {
			if ((at == vips || at[-1] == ',') &&
			    (!at[n] || at[n] == ','))
				return true;
			at += n;
		}
	}
	return false;
}

/*
 * A Service that stopped being ours (no longer a LoadBalancer, or of
 * another class) while its status still shows the VIP we gave it: the
 * status is cleared, so that `kubectl get svc` does not show an address
 * that no longer serves it.  "Ours" is what this process published, or,
 * after a restart, a non-LoadBalancer whose status holds only addresses
 * of our pools.  Another class's status is never touched otherwise.
 */
int sync_clear_unselected(struct k8s_client *c, const struct k8s_sync_opts *o,
			  struct k8s_state *st)
{
	const struct k8s_cache *svcs = &st->kinds[K8S_SERVICES];
	int ret = 0;

	for (size_t i = 0; i < svcs->n; i++) {
		const struct k8s_service *s = svcs->items[i].obj;
		const char *mine =
		    k8s_cache_get(&st->published, svcs->items[i].key);
		struct write *w;

		if (k8s_render_selects(s, &o->render) || !s->ningress ||
		    !(ingress_has(s, mine) ||
		      (!s->load_balancer && ingress_in_pools(s, &o->render))))
			continue;
		w = write_new(W_CLEAR, c, st, s->ns, s->name);
		if (w)
			w->cleared = "no longer served";
		if (!w || patch_status(w, s, NULL, NULL, NULL) < 0)
			ret = -1;
	}
	return ret;
}
