/*
 * k8s/watch.h - extlb-k8s's long-running mode: the list-then-watch
 * protocol of the API server, on a libev loop.
 *
 * Each kind (Services, EndpointSlices, Endpoints) is LISTed, then WATCHed
 * from the list's resourceVersion with bookmarks; a watch that ends is
 * resumed from the last version seen; a 410 Gone (HTTP status or ERROR
 * event) LISTs that kind again; failures retry with capped exponential
 * backoff.  Changes are coalesced for a short delay, then k8s_sync_apply
 * writes the file, reloads extlbd and updates the Services' status.
 */
#ifndef EXTLB_K8S_WATCH_H
#define EXTLB_K8S_WATCH_H

#include "k8s/client.h"
#include "k8s/sync.h"

struct k8s_watch_opts {
	struct k8s_sync_opts sync;
	double debounce;    /* seconds from a change to the file written */
	long watch_timeout; /* timeoutSeconds asked of the server */
	double backoff_max; /* seconds, the cap of the retry delay */
};

/* Runs until SIGTERM or SIGINT.  The exit status: 0. */
int k8s_watch_run(struct k8s_client *c, const struct k8s_watch_opts *o);

#endif
