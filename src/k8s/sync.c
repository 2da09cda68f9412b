/*
 * sync.c - LIST the cluster into caches; render, write, reload, publish.
 *
 * The order of apply is deliberate: extlbd gets the new file before any
 * Service's status shows its VIP, so that what `kubectl get svc` shows is
 * already being served (or about to be, after extlbd's reload), and a VIP
 * is never published when the file could not be written.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/log.h"
#include "sync_impl.h"
#include "k8s/objects.h"
#include "k8s/output.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct kind {
	const char *name; /* for messages */
	const char *group, *plural;
	void (*free_obj)(void *obj);
} kinds[K8S_NKINDS] = {
    [K8S_SERVICES] = {"Service", "/api/v1", "services", k8s_service_free},
    [K8S_SLICES] = {"EndpointSlice", "/apis/discovery.k8s.io/v1",
		    "endpointslices", k8s_epset_free},
    [K8S_ENDPOINTS] = {"Endpoints", "/api/v1", "endpoints", k8s_epset_free},
};

void k8s_state_init(struct k8s_state *st)
{
	for (int k = 0; k < K8S_NKINDS; k++) {
		k8s_cache_init(&st->kinds[k], kinds[k].name, kinds[k].free_obj);
		st->backends[k] = 0;
	}
	k8s_cache_init(&st->published, "published VIP", free);
	k8s_cache_init(&st->pending, "pending Service", free);
	k8s_limiter_init(&st->limiter);
	st->async = NULL;
	st->write_result = NULL;
	st->write_result_arg = NULL;
}

void k8s_state_free(struct k8s_state *st)
{
	for (int k = 0; k < K8S_NKINDS; k++)
		k8s_cache_clear(&st->kinds[k]);
	k8s_cache_clear(&st->published);
	k8s_cache_clear(&st->pending);
	k8s_limiter_free(&st->limiter);
}

/* ---- objects into caches ----------------------------------------------- */

/* Parses one object of kind k.  0 with *out, or -1 with why. */
static int parse_object(enum k8s_kind k, json_object *j, void **out, char *why,
			size_t len)
{
	struct k8s_service *s = NULL;
	struct k8s_epset *e = NULL;
	int r;

	switch (k) {
	case K8S_SERVICES:
		r = k8s_service_parse(j, &s, why, len);
		*out = s;
		return r;
	case K8S_SLICES:
		r = k8s_slice_parse(j, &e, why, len);
		break;
	default:
		r = k8s_endpoints_parse(j, &e, why, len);
		break;
	}
	*out = e;
	return r;
}

/*
 * Backends (address and port pairs) are what the objects of a cluster
 * cost most: about 80 bytes each, and an object of many addresses and
 * many ports costs their product.  So the backends of a kind are counted
 * as objects are put, and bounded (K8S_MAX_LIST_BACKENDS): a LIST that
 * would pass the bound fails, an event that would is skipped.
 */
static size_t obj_backends(enum k8s_kind k, const void *obj)
{
	return k == K8S_SERVICES || !obj
		   ? 0
		   : ((const struct k8s_epset *)obj)->nbackends;
}

static size_t cache_backends(enum k8s_kind k, const struct k8s_cache *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += obj_backends(k, c->items[i].obj);
	return n;
}

struct loader {
	struct k8s_cache *cache;
	enum k8s_kind kind;
	size_t *backends; /* of the cache's objects */
};

/* Whether obj may replace what the cache holds under key; if so the
 * count of backends follows. */
static bool within_bounds(struct loader *l, const char *key, const void *obj)
{
	const void *old = k8s_cache_get(l->cache, key);
	size_t n = *l->backends - obj_backends(l->kind, old) +
		   obj_backends(l->kind, obj);

	if (n > K8S_MAX_LIST_BACKENDS ||
	    (!old && l->cache->n >= K8S_MAX_LIST_OBJECTS))
		return false;
	*l->backends = n;
	return true;
}

/* One object into the cache; a bad one is skipped, with why.  1 put, 0
 * skipped, -1 out of memory, -2 past the bounds (nothing put). */
static int put_object(struct loader *l, json_object *item)
{
	char key[KEY_MAX], why[512];
	const char *rv;
	void *obj;

	if (k8s_object_key(item, key, sizeof(key), &rv, why, sizeof(why)) < 0) {
		k8s_warn("a %s was skipped: %s", l->cache->kind, why);
		return 0;
	}
	if (parse_object(l->kind, item, &obj, why, sizeof(why)) < 0) {
		k8s_warn("%s %s was skipped: %s", l->cache->kind, key, why);
		return 0;
	}
	if (!within_bounds(l, key, obj)) {
		kinds[l->kind].free_obj(obj);
		return -2;
	}
	return k8s_cache_put(l->cache, key, rv, obj) < 0 ? -1 : 1;
}

/* One item of a LIST: 0, -1 out of memory, -2 past the bounds. */
static int load_item(json_object *item, void *arg)
{
	int r = put_object(arg, item);

	return r < 0 ? r : 0;
}

void k8s_kind_cache_init(struct k8s_cache *c, enum k8s_kind k)
{
	k8s_cache_init(c, kinds[k].name, kinds[k].free_obj);
}

int k8s_kind_load_item(struct k8s_cache *c, enum k8s_kind k, json_object *item,
		       size_t *backends)
{
	struct loader l = {c, k, backends};

	return load_item(item, &l);
}

void k8s_state_replace(struct k8s_state *st, enum k8s_kind k,
		       struct k8s_cache *fresh)
{
	k8s_cache_clear(&st->kinds[k]);
	st->kinds[k] = *fresh;
	st->backends[k] = cache_backends(k, fresh);
	k8s_kind_cache_init(fresh, k);
}

char *k8s_kind_path(enum k8s_kind k, const char *ns)
{
	const struct kind *d = &kinds[k];
	char *p;
	int n =
	    ns ? asprintf(&p, "%s/namespaces/%s/%s", d->group, ns, d->plural)
	       : asprintf(&p, "%s/%s", d->group, d->plural);

	return n < 0 ? NULL : p;
}

int k8s_sync_list_kind(struct k8s_client *c, const char *ns,
		       struct k8s_state *st, enum k8s_kind k)
{
	struct k8s_cache fresh;
	size_t backends = 0;
	struct loader l = {&fresh, k, &backends};
	char *path = k8s_kind_path(k, ns), *rv = NULL;
	int r;

	if (!path) {
		k8s_err("out of memory");
		return -1;
	}
	k8s_cache_init(&fresh, kinds[k].name, kinds[k].free_obj);
	r = k8s_client_list(c, path, load_item, &l, &rv);
	if (r < 0 && k == K8S_SLICES && k8s_client_status(c) == 404) {
		k8s_warn("%s is not served (Kubernetes before 1.21?): using v1 "
			 "Endpoints only",
			 path);
		r = 1;
	} else if (r < 0) {
		k8s_err("%s", k8s_client_error(c));
	} else if (k8s_cache_set_list_rv(&fresh, rv) < 0) {
		k8s_err("out of memory");
		r = -1;
	} else {
		k8s_debug("%s: %zu %s(s) at resourceVersion %s", path, fresh.n,
			  fresh.kind, rv);
	}
	if (r >= 0) {
		k8s_cache_clear(&st->kinds[k]);
		st->kinds[k] = fresh;
		st->backends[k] = backends;
	} else {
		k8s_cache_clear(&fresh);
	}
	free(path);
	free(rv);
	return r;
}

int k8s_sync_list(struct k8s_client *c, const struct k8s_sync_opts *o,
		  struct k8s_state *st)
{
	struct k8s_state fresh;

	k8s_state_init(&fresh);
	for (int k = 0; k < K8S_NKINDS; k++) {
		if (k8s_sync_list_kind(c, o->ns, &fresh, k) < 0) {
			k8s_state_free(&fresh);
			return -1;
		}
	}
	for (int k = 0; k < K8S_NKINDS; k++) {
		k8s_cache_clear(&st->kinds[k]);
		st->kinds[k] = fresh.kinds[k];
		st->backends[k] = fresh.backends[k];
	}
	k8s_cache_clear(&fresh.published);
	k8s_cache_clear(&fresh.pending);
	k8s_limiter_free(&fresh.limiter);
	return 0;
}

int k8s_state_event(struct k8s_state *st, enum k8s_kind k, const char *type,
		    json_object *obj)
{
	struct loader l = {&st->kinds[k], k, &st->backends[k]};
	char key[KEY_MAX], why[512];
	const char *rv;
	int r;

	if (strcmp(type, "DELETED")) {
		r = put_object(&l, obj);
		if (r != -2)
			return r;
		k8s_object_key(obj, key, sizeof(key), &rv, why, sizeof(why));
		k8s_warn("%s %s was skipped: past the bounds of a kind (%d "
			 "objects, %d backends)",
			 kinds[k].name, key, K8S_MAX_LIST_OBJECTS,
			 K8S_MAX_LIST_BACKENDS);
		return 0;
	}
	if (k8s_object_key(obj, key, sizeof(key), &rv, why, sizeof(why)) < 0) {
		k8s_warn("a deleted %s was skipped: %s", kinds[k].name, why);
		return 0;
	}
	st->backends[k] -= obj_backends(k, k8s_cache_get(l.cache, key));
	return k8s_cache_delete(l.cache, key) ? 1 : 0;
}

/* ---- apply ------------------------------------------------------------- */

/* The objects of a cache as an array, for the renderer. */
static void **cache_objects(const struct k8s_cache *c)
{
	void **v = calloc(c->n + 1, sizeof(*v));

	for (size_t i = 0; v && i < c->n; i++)
		v[i] = c->items[i].obj;
	return v;
}

/* The VIPs this process published for Services that are gone are
 * forgotten (what it told is rebuilt at every pass).  Both caches are
 * sorted by key: one walk through the two. */
static void forget_gone(struct k8s_state *st)
{
	const struct k8s_cache *svcs = &st->kinds[K8S_SERVICES];
	struct k8s_cache *mem = &st->published;
	size_t j = 0;

	for (size_t i = 0; i < mem->n;) {
		const char *key = mem->items[i].key;
		int c = 1;

		while (j < svcs->n && (c = strcmp(svcs->items[j].key, key)) < 0)
			j++;
		if (j < svcs->n && c == 0)
			i++;
		else
			k8s_cache_delete(mem, key);
	}
}

/* The file into place, and extlbd told when it changed.  The result of
 * k8s_output_write (1, 0, -1), or -1 when the reload failed. */
static int write_and_reload(const struct k8s_sync_opts *o,
			    const struct k8s_plan *plan, bool *reload_failed)
{
	int w = k8s_output_write(o->output, plan->text);

	*reload_failed = false;
	if (w == 0) {
		k8s_debug("%s is up to date", o->output);
		return 0;
	}
	if (w < 0)
		return -1;
	k8s_info("wrote %s: %zu virtual service(s)", o->output, plan->nvs);
	if (o->pidfile)
		*reload_failed = k8s_output_reload_pidfile(o->pidfile) < 0;
	else if (o->reload_cmd)
		*reload_failed = k8s_output_reload_command(o->reload_cmd) < 0;
	else
		k8s_info("wrote %s: extlbd applies it at its next reload "
			 "(with watch_include_dir = true, at once)",
			 o->output);
	return w;
}

int k8s_sync_apply(struct k8s_client *c, const struct k8s_sync_opts *o,
		   struct k8s_state *st)
{
	const struct k8s_cache *ks = st->kinds;
	void **svcs = cache_objects(&ks[K8S_SERVICES]);
	void **slices = cache_objects(&ks[K8S_SLICES]);
	void **eps = cache_objects(&ks[K8S_ENDPOINTS]);
	struct k8s_world w = {
	    (struct k8s_service *const *)svcs, ks[K8S_SERVICES].n,
	    (struct k8s_epset *const *)slices, ks[K8S_SLICES].n,
	    (struct k8s_epset *const *)eps,    ks[K8S_ENDPOINTS].n,
	};
	struct k8s_plan plan;
	bool reload_failed;
	int ret = -1;

	if (!svcs || !slices || !eps || k8s_render(&w, &o->render, &plan) < 0) {
		k8s_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < plan.nwarnings; i++)
		k8s_warn("%s", plan.warnings[i]);
	k8s_info("%zu Service(s) of type LoadBalancer and class %s%s, %zu "
		 "with a VIP",
		 plan.nselected, o->render.lb_class,
		 o->render.default_class ? " (or none)" : "", plan.npublish);
	forget_gone(st);
	/* a VIP is published only once the file that serves it is in place */
	if (write_and_reload(o, &plan, &reload_failed) >= 0) {
		ret = reload_failed ? -1 : 0;
		for (size_t i = 0; i < plan.npublish; i++) {
			char key[KEY_MAX], vips[2 * K8S_ADDRSTR_MAX];
			const struct k8s_service *s = plan.publish[i].svc;
			const char *rv;

			if (k8s_client_aborted(c)) {
				ret = -1;
				goto stopped;
			}
			snprintf(key, sizeof(key), "%s/%s", s->ns, s->name);
			sync_published_vips(&plan.publish[i], vips,
					    sizeof(vips));
			rv = k8s_cache_rv(&st->kinds[K8S_SERVICES], key);
			/* our PATCH of this very version is on its way back
			 * as an event: not again (a newer version that lacks
			 * the VIP, somebody else's write, is PATCHed again) */
			if (plan.publish[i].changed &&
			    !sync_patched_already(st, key, vips, rv) &&
			    sync_publish(c, st, &plan.publish[i]) < 0)
				ret = -1;
			else if (sync_remember(st, key, vips, rv ? rv : "") < 0)
				ret = -1;
		}
		if (sync_tell_all(c, st, &plan) < 0)
			ret = -1;
		if (sync_clear_pending(c, st, &plan) < 0)
			ret = -1;
		if (sync_clear_unselected(c, o, st) < 0)
			ret = -1;
		k8s_sync_report_dropped(st);
	}
stopped:
	k8s_plan_free(&plan);
out:
	free(svcs);
	free(slices);
	free(eps);
	return ret;
}

static int seed_item(json_object *item, void *arg)
{
	return k8s_event_seed(arg, item);
}

int k8s_sync_seed_events(struct k8s_client *c, const char *ns,
			 struct k8s_state *st)
{
	struct k8s_cache seen;
	char *path = NULL, *rv = NULL, e_ns[3 * KEY_MAX];
	int r;

	if (ns)
		k8s_escape(ns, e_ns, sizeof(e_ns));
	if ((ns ? asprintf(&path,
			   "/api/v1/namespaces/%s/events"
			   "?fieldSelector=source%%3Dextlb-k8s",
			   e_ns)
		: asprintf(
		      &path,
		      "/api/v1/events?fieldSelector=source%%3Dextlb-k8s")) <
	    0) {
		k8s_err("out of memory");
		return -1;
	}
	k8s_cache_init(&seen, "pending Service", free);
	r = k8s_client_list(c, path, seed_item, &seen, &rv);
	if (r < 0) {
		k8s_warn("cannot read the Events posted before (%s): the "
			 "first pass may post some again",
			 k8s_client_error(c));
		k8s_cache_clear(&seen);
	} else {
		k8s_info("%zu Event(s) posted before about Services: not "
			 "posted again for the same causes",
			 seen.n);
		k8s_cache_clear(&st->pending);
		st->pending = seen;
	}
	free(path);
	free(rv);
	return r;
}
