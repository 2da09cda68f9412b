/*
 * events.c - the rate limit of Events, and the memory of what was told
 * seeded from the Events already posted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void k8s_limiter_init(struct k8s_limiter *l)
{
	l->all.tokens = K8S_EVENT_BURST;
	l->all.last = 0;
	l->dropped = 0;
	l->started = false;
	k8s_cache_init(&l->per, "Event bucket", free);
}

void k8s_limiter_free(struct k8s_limiter *l)
{
	k8s_cache_clear(&l->per);
}

/* The bucket refilled up to now: rate tokens a second, burst at most. */
static void refill(struct k8s_bucket *b, double now, double burst, double rate)
{
	if (now > b->last)
		b->tokens += (now - b->last) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last = now;
}

/* The Service's bucket, refilled; a new one is full.  NULL when out of
 * memory. */
static struct k8s_bucket *svc_bucket(struct k8s_limiter *l, const char *svc,
				     double now)
{
	struct k8s_bucket *b = k8s_cache_get(&l->per, svc);

	if (b) {
		refill(b, now, K8S_EVENT_SVC_BURST, 1 / K8S_EVENT_SVC_PERIOD);
		return b;
	}
	b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	b->tokens = K8S_EVENT_SVC_BURST;
	b->last = now;
	return k8s_cache_put(&l->per, svc, "", b) < 0 ? NULL : b;
}

bool k8s_limiter_allow(struct k8s_limiter *l, const char *svc, double now)
{
	struct k8s_bucket *b;

	if (!l->started) { /* the clock's origin is the first Event */
		l->all.last = now;
		l->started = true;
	}
	refill(&l->all, now, K8S_EVENT_BURST, K8S_EVENT_RATE);
	b = svc_bucket(l, svc, now);
	if (l->all.tokens < 1 || (b && b->tokens < 1)) {
		l->dropped++;
		return false;
	}
	l->all.tokens -= 1;
	if (b)
		b->tokens -= 1;
	return true;
}

unsigned long k8s_limiter_dropped(struct k8s_limiter *l, double now)
{
	unsigned long n = l->dropped;

	for (size_t i = 0; i < l->per.n;) {
		struct k8s_bucket *b = l->per.items[i].obj;

		refill(b, now, K8S_EVENT_SVC_BURST, 1 / K8S_EVENT_SVC_PERIOD);
		if (b->tokens >= K8S_EVENT_SVC_BURST)
			k8s_cache_delete(&l->per, l->per.items[i].key);
		else
			i++;
	}
	l->dropped = 0;
	return n;
}

char *k8s_event_key(const char *ns, const char *name, const char *reason,
		    const char *msg)
{
	char *key;

	if (asprintf(&key, "%s/%s\n%s: %s", ns, name, reason, msg) < 0)
		return NULL;
	return key;
}

static const char *member(json_object *o, const char *k)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

int k8s_event_seed(struct k8s_cache *told, json_object *ev)
{
	json_object *obj = NULL;
	const char *ns, *name, *kind, *reason = member(ev, "reason");
	const char *msg = member(ev, "message");
	char *key, *mark;
	int r;

	json_object_object_get_ex(ev, "involvedObject", &obj);
	kind = member(obj, "kind");
	ns = member(obj, "namespace");
	name = member(obj, "name");
	if (!kind || strcmp(kind, "Service") || !ns || !name || !reason || !msg)
		return 0;
	key = k8s_event_key(ns, name, reason, msg);
	mark = strdup("");
	if (!key || !mark) {
		free(key);
		free(mark);
		return -1;
	}
	r = k8s_cache_put(told, key, "", mark); /* owns mark from here */
	free(key);
	return r < 0 ? -1 : 0;
}
