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
#include "k8s/sync.h"
#include "k8s/log.h"
#include "k8s/objects.h"
#include "k8s/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 320

void k8s_state_init(struct k8s_state *st)
{
	k8s_cache_init(&st->svcs, "Service", k8s_service_free);
	k8s_cache_init(&st->slices, "EndpointSlice", k8s_epset_free);
	k8s_cache_init(&st->endpoints, "Endpoints", k8s_epset_free);
}

void k8s_state_free(struct k8s_state *st)
{
	k8s_cache_clear(&st->svcs);
	k8s_cache_clear(&st->slices);
	k8s_cache_clear(&st->endpoints);
}

/* ---- LIST -------------------------------------------------------------- */

typedef int (*parse_fn)(json_object *j, void **out, char *why, size_t len);

static int parse_service(json_object *j, void **out, char *why, size_t len)
{
	struct k8s_service *s;
	int r = k8s_service_parse(j, &s, why, len);

	*out = s;
	return r;
}

static int parse_slice(json_object *j, void **out, char *why, size_t len)
{
	struct k8s_epset *e;
	int r = k8s_slice_parse(j, &e, why, len);

	*out = e;
	return r;
}

static int parse_endpoints(json_object *j, void **out, char *why, size_t len)
{
	struct k8s_epset *e;
	int r = k8s_endpoints_parse(j, &e, why, len);

	*out = e;
	return r;
}

struct loader {
	struct k8s_cache *cache;
	parse_fn parse;
};

/* One item of a LIST into the cache; a bad one is skipped, with why. */
static int load_item(json_object *item, void *arg)
{
	struct loader *l = arg;
	char key[KEY_MAX], why[512];
	const char *rv;
	void *obj;

	if (k8s_object_key(item, key, sizeof(key), &rv, why, sizeof(why)) < 0) {
		k8s_warn("a %s was skipped: %s", l->cache->kind, why);
		return 0;
	}
	if (l->parse(item, &obj, why, sizeof(why)) < 0) {
		k8s_warn("%s %s was skipped: %s", l->cache->kind, key, why);
		return 0;
	}
	return k8s_cache_put(l->cache, key, rv, obj);
}

/* "/api/v1/services" or "/api/v1/namespaces/NS/services" */
static char *list_path(const char *group, const char *ns, const char *plural)
{
	char *p;
	int n = ns ? asprintf(&p, "%s/namespaces/%s/%s", group, ns, plural)
		   : asprintf(&p, "%s/%s", group, plural);

	return n < 0 ? NULL : p;
}

/* LISTs one kind into a cache.  *absent (when not NULL) is set instead of
 * failing when the server does not serve the kind at all (404). */
static int list_kind(struct k8s_client *c, const char *ns, const char *group,
		     const char *plural, struct loader *l, bool *absent)
{
	char *path = list_path(group, ns, plural), *rv = NULL;
	int r;

	if (!path) {
		k8s_err("out of memory");
		return -1;
	}
	r = k8s_client_list(c, path, load_item, l, &rv);
	if (r < 0 && absent && k8s_client_status(c) == 404) {
		*absent = true;
		k8s_warn("%s is not served (Kubernetes before 1.21?): using v1 "
			 "Endpoints only",
			 path);
		r = 0;
	} else if (r < 0) {
		k8s_err("%s", k8s_client_error(c));
	} else if (k8s_cache_set_list_rv(l->cache, rv) < 0) {
		k8s_err("out of memory");
		r = -1;
	} else {
		k8s_debug("%s: %zu %s(s) at resourceVersion %s", path,
			  l->cache->n, l->cache->kind, rv);
	}
	free(path);
	free(rv);
	return r;
}

int k8s_sync_list(struct k8s_client *c, const struct k8s_sync_opts *o,
		  struct k8s_state *st)
{
	struct k8s_state fresh;
	struct loader svcs, slices, eps;
	bool no_slices = false;

	k8s_state_init(&fresh);
	svcs = (struct loader){&fresh.svcs, parse_service};
	slices = (struct loader){&fresh.slices, parse_slice};
	eps = (struct loader){&fresh.endpoints, parse_endpoints};
	if (list_kind(c, o->ns, "/api/v1", "services", &svcs, NULL) < 0 ||
	    list_kind(c, o->ns, "/apis/discovery.k8s.io/v1", "endpointslices",
		      &slices, &no_slices) < 0 ||
	    list_kind(c, o->ns, "/api/v1", "endpoints", &eps, NULL) < 0) {
		k8s_state_free(&fresh);
		return -1;
	}
	k8s_state_free(st);
	*st = fresh;
	return 0;
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

/* A path segment with everything but unreserved characters escaped. */
static void escape_segment(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = 0;
}

/* status.loadBalancer.ingress = [{ip: VIP}], as a merge patch (which
 * replaces the list as a whole). */
static int publish(struct k8s_client *c, const struct k8s_publish *p)
{
	char ns[3 * KEY_MAX], name[3 * KEY_MAX], path[8 * KEY_MAX];
	json_object *root = json_object_new_object();
	json_object *status = json_object_new_object();
	json_object *lb = json_object_new_object();
	json_object *ingress = json_object_new_array();
	json_object *entry = json_object_new_object();
	int r = -1;

	if (!root || !status || !lb || !ingress || !entry) {
		k8s_err("out of memory");
		goto out;
	}
	json_object_object_add(entry, "ip", json_object_new_string(p->vip));
	json_object_array_add(ingress, entry);
	json_object_object_add(lb, "ingress", ingress);
	json_object_object_add(status, "loadBalancer", lb);
	json_object_object_add(root, "status", status);
	entry = ingress = lb = status = NULL; /* root owns them now */
	escape_segment(p->svc->ns, ns, sizeof(ns));
	escape_segment(p->svc->name, name, sizeof(name));
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/%s/status",
		 ns, name);
	r = k8s_client_patch(
	    c, path, "application/merge-patch+json",
	    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	if (r < 0)
		k8s_err("Service %s/%s: cannot publish VIP %s: %s", p->svc->ns,
			p->svc->name, p->vip, k8s_client_error(c));
	else
		k8s_info("Service %s/%s: status shows VIP %s", p->svc->ns,
			 p->svc->name, p->vip);
out:
	json_object_put(entry);
	json_object_put(ingress);
	json_object_put(lb);
	json_object_put(status);
	json_object_put(root);
	return r;
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
		k8s_info("no --pidfile or --reload-command: extlbd reads %s "
			 "at its next reload",
			 o->output);
	return w;
}

int k8s_sync_apply(struct k8s_client *c, const struct k8s_sync_opts *o,
		   const struct k8s_state *st)
{
	void **svcs = cache_objects(&st->svcs);
	void **slices = cache_objects(&st->slices);
	void **eps = cache_objects(&st->endpoints);
	struct k8s_world w = {
	    (struct k8s_service *const *)svcs, st->svcs.n,
	    (struct k8s_epset *const *)slices, st->slices.n,
	    (struct k8s_epset *const *)eps,    st->endpoints.n,
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
	/* a VIP is published only once the file that serves it is in place */
	if (write_and_reload(o, &plan, &reload_failed) >= 0) {
		ret = reload_failed ? -1 : 0;
		for (size_t i = 0; i < plan.npublish; i++) {
			if (plan.publish[i].changed &&
			    publish(c, &plan.publish[i]) < 0)
				ret = -1;
		}
	}
	k8s_plan_free(&plan);
out:
	free(svcs);
	free(slices);
	free(eps);
	return ret;
}
