/*
 * k8s/events.h - what keeps extlb-k8s's Events few: a rate limit, and the
 * memory of what was told, seeded after a restart from the Events already
 * in the cluster.
 *
 * The limit is two token buckets, as client-go's EventRecorder spam
 * filter does it: one over all Events (a burst of K8S_EVENT_BURST, then
 * K8S_EVENT_RATE a second), one per Service (a burst of
 * K8S_EVENT_SVC_BURST, then one every K8S_EVENT_SVC_PERIOD seconds).  An
 * Event past either is dropped, and counted, so that one log line can say
 * how many were.
 */
#ifndef EXTLB_K8S_EVENTS_H
#define EXTLB_K8S_EVENTS_H

#include "k8s/cache.h"

#include <json-c/json.h>
#include <stdbool.h>

#define K8S_EVENT_BURST 25.0
#define K8S_EVENT_RATE 1.0
#define K8S_EVENT_SVC_BURST 5.0
#define K8S_EVENT_SVC_PERIOD 60.0

struct k8s_bucket {
	double tokens;
	double last; /* when tokens was counted, seconds */
};

struct k8s_limiter {
	struct k8s_bucket all;
	struct k8s_cache per;  /* "namespace/name" -> struct k8s_bucket */
	unsigned long dropped; /* since k8s_limiter_dropped last asked */
	bool started;
};

void k8s_limiter_init(struct k8s_limiter *l);
void k8s_limiter_free(struct k8s_limiter *l);
/* Whether an Event about the Service (its "namespace/name") may be posted
 * at time now (seconds, monotonic); if so its tokens are taken, if not it
 * is counted as dropped.  A bucket that cannot be kept (out of memory)
 * lets the Event pass. */
bool k8s_limiter_allow(struct k8s_limiter *l, const char *svc, double now);
/* The Events dropped since the last call; the count starts again at 0.
 * The buckets of Services that are full again are forgotten meanwhile:
 * a full bucket is what a new one would be. */
unsigned long k8s_limiter_dropped(struct k8s_limiter *l, double now);

/* The key under which the memory of what was told (k8s_state.pending)
 * holds an Event: "namespace/name\nReason: message" (malloc'ed), or NULL
 * when out of memory. */
char *k8s_event_key(const char *ns, const char *name, const char *reason,
		    const char *msg);
/* An Event already in the cluster (a LIST item) into that memory, when
 * it is about a Service.  0 (put, or not about a Service), -1 out of
 * memory. */
int k8s_event_seed(struct k8s_cache *told, json_object *ev);

#endif
