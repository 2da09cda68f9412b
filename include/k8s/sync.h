/*
 * k8s/sync.h - one pass of extlb-k8s: the cluster's objects into caches
 * (LIST), then the caches into extlbd's file, a reload and the Services'
 * status.
 *
 * --once runs k8s_sync_list and k8s_sync_apply one time each.  The watch
 * loop (watch.c) LISTs each kind at start and after a 410 Gone, keeps the
 * caches current from WATCH events with k8s_state_event, and calls
 * k8s_sync_apply after each burst of changes.
 */
#ifndef EXTLB_K8S_SYNC_H
#define EXTLB_K8S_SYNC_H

#include "k8s/async.h"
#include "k8s/cache.h"
#include "k8s/events.h"
#include "k8s/client.h"
#include "k8s/render.h"

struct k8s_sync_opts {
	const char *ns; /* NULL: all namespaces */
	struct k8s_render_opts render;
	const char *output;
	const char *pidfile;	/* SIGHUP extlbd after a write, or */
	const char *reload_cmd; /* run this; neither: nothing */
};

/* The three kinds extlb-k8s reads. */
enum k8s_kind { K8S_SERVICES, K8S_SLICES, K8S_ENDPOINTS, K8S_NKINDS };

/* What extlb-k8s knows of the cluster, and what it told the cluster. */
struct k8s_state {
	struct k8s_cache kinds[K8S_NKINDS]; /* k8s_service, k8s_epset */
	/* the backends of each kind's objects: K8S_MAX_LIST_BACKENDS at most,
	 * as the objects are K8S_MAX_LIST_OBJECTS (k8s/client.h) */
	size_t backends[K8S_NKINDS];
	/* Services whose status this process set: key -> the VIP (char *) */
	struct k8s_cache published;
	/* what the last pass told of each Service (pending, endpoints
	 * refused, bad annotations, ports without endpoints...), one entry
	 * per Event: "namespace/name\nReason: message" -> "" */
	struct k8s_cache pending;
	/* the rate limit of the Events posted */
	struct k8s_limiter limiter;
	/* the watch loop's writes: sent on its multi handle, their end told
	 * later; NULL (--once): blocking requests */
	struct k8s_async *async;
	/* told of the end of each status PATCH sent on async: one that failed
	 * is sent again by a pass the watch loop schedules */
	void (*write_result)(void *arg, bool ok);
	void *write_result_arg;
};

void k8s_state_init(struct k8s_state *st);
void k8s_state_free(struct k8s_state *st);

/* "/api/v1/services", "/api/v1/namespaces/NS/endpoints", ... (malloc'ed;
 * NULL when out of memory) */
char *k8s_kind_path(enum k8s_kind k, const char *ns);

/* LISTs one kind into st, replacing what was there.  0; 1 when the server
 * does not serve the kind (EndpointSlices before Kubernetes 1.21: 404),
 * the cache then empty; or -1 (logged) with st unchanged, so that a
 * failed LIST never empties what a previous one found. */
int k8s_sync_list_kind(struct k8s_client *c, const char *ns,
		       struct k8s_state *st, enum k8s_kind k);

/* For a LIST read page by page elsewhere (stream.c): a cache for kind k,
 * one item of a page into it (a bad one skipped with a warning; -1 when
 * out of memory; -2 when the backends stored by this LIST, counted in
 * *backends, pass K8S_MAX_LIST_BACKENDS), and the finished cache in place
 * of st's (fresh is left empty, ready for the next LIST). */
void k8s_kind_cache_init(struct k8s_cache *c, enum k8s_kind k);
int k8s_kind_load_item(struct k8s_cache *c, enum k8s_kind k, json_object *item,
		       size_t *backends);
void k8s_state_replace(struct k8s_state *st, enum k8s_kind k,
		       struct k8s_cache *fresh);

/* LISTs the three kinds.  0, or -1 (logged) with st unchanged. */
int k8s_sync_list(struct k8s_client *c, const struct k8s_sync_opts *o,
		  struct k8s_state *st);

/*
 * One WATCH event's object into the cache of kind k: ADDED and MODIFIED
 * put it, DELETED removes it.  1 when the cache changed, 0 when not (an
 * object that does not parse, or would take the kind past
 * K8S_MAX_LIST_OBJECTS or K8S_MAX_LIST_BACKENDS, is skipped with a warning
 * and the cached one kept), -1 when out of memory.
 */
int k8s_state_event(struct k8s_state *st, enum k8s_kind k, const char *type,
		    json_object *obj);

/* Renders st, writes the file if it changed, reloads extlbd and updates
 * the Services' status: the VIP and its ipMode published (with a Normal
 * IPAllocated Event when the VIP is new to the status), cleared where a
 * Service stopped being ours or is left out; a Warning Event, once, for
 * each pending Service and notice of the plan; Events within the rate
 * limit of st->limiter.  0, or -1 when any step failed (logged).  With
 * st->async the PATCHes and POSTs are only sent: their failures are
 * logged when they end, and a PATCH that failed is told to
 * st->write_result and forgotten, so that the next pass sends it again. */
int k8s_sync_apply(struct k8s_client *c, const struct k8s_sync_opts *o,
		   struct k8s_state *st);

/* One warning saying how many Events the rate limit dropped since the
 * last, when it dropped any. */
void k8s_sync_report_dropped(struct k8s_state *st);

/* The Events extlb-k8s posted before (source extlb-k8s), LISTed into
 * st->pending, so that a restart does not post them again for the same
 * causes.  0, or -1 (logged; nothing is seeded). */
int k8s_sync_seed_events(struct k8s_client *c, const char *ns,
			 struct k8s_state *st);

#endif
