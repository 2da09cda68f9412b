/*
 * k8s/sync.h - one pass of extlb-k8s: the cluster's objects into caches
 * (LIST), then the caches into extlbd's file, a reload and the Services'
 * status.
 *
 * --once runs k8s_sync_list and k8s_sync_apply one time each.  The watch
 * loop will run k8s_sync_list at start and after a 410 Gone, keep the
 * caches current from WATCH events, and call k8s_sync_apply after each
 * burst of changes.
 */
#ifndef EXTLB_K8S_SYNC_H
#define EXTLB_K8S_SYNC_H

#include "k8s/cache.h"
#include "k8s/client.h"
#include "k8s/render.h"

struct k8s_sync_opts {
	const char *ns; /* NULL: all namespaces */
	struct k8s_render_opts render;
	const char *output;
	const char *pidfile;	/* SIGHUP extlbd after a write, or */
	const char *reload_cmd; /* run this; neither: nothing */
};

/* What extlb-k8s knows of the cluster. */
struct k8s_state {
	struct k8s_cache svcs;	    /* struct k8s_service */
	struct k8s_cache slices;    /* struct k8s_epset, EndpointSlices */
	struct k8s_cache endpoints; /* struct k8s_epset, Endpoints */
};

void k8s_state_init(struct k8s_state *st);
void k8s_state_free(struct k8s_state *st);

/* LISTs the three kinds.  0; or -1 (logged) with st unchanged, so that a
 * failed LIST never empties what a previous one found. */
int k8s_sync_list(struct k8s_client *c, const struct k8s_sync_opts *o,
		  struct k8s_state *st);

/* Renders st, writes the file if it changed, reloads extlbd and updates
 * the Services' status.  0, or -1 when any step failed (logged). */
int k8s_sync_apply(struct k8s_client *c, const struct k8s_sync_opts *o,
		   const struct k8s_state *st);

#endif
