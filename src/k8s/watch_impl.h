/*
 * watch_impl.h - what the parts of the watch loop share behind
 * k8s/watch.h: the watcher, which owns the loop, the state and the
 * debounce (watch.c), and its streams, one LIST-then-WATCH per kind
 * (stream.c).  A stream tells the watcher of a change; the watcher starts
 * and frees the streams.
 */
#ifndef EXTLB_K8S_WATCH_IMPL_H
#define EXTLB_K8S_WATCH_IMPL_H

#include "curl_ev.h"
#include "k8s/watch.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

struct watcher;

struct stream {
	struct watcher *w;
	enum k8s_kind kind;
	const char *what; /* "services", for messages */
	bool listed;	  /* the cache holds a LIST (or the kind is absent) */
	bool absent;	  /* the server does not serve the kind */
	bool relist;	  /* the next start LISTs */
	bool listing;	  /* the transfer in flight is a LIST page */
	bool bad;	  /* this transfer sent what is not a watch event */
	bool open;	  /* the watch in flight was answered (headers in) */
	char *rv;	  /* where the next WATCH starts */
	CURL *h;	  /* the transfer in flight, or NULL */
	struct curl_slist *hdrs;
	json_tokener *tok;
	struct k8s_json_scan scan; /* the event being read, and its bounds */
	/* a LIST page, or a watch's answer when it is not 200 */
	char *body;
	size_t blen, bmax, bcap; /* bcap: what body holds room for */
	bool too_big;
	struct k8s_cache fresh; /* the LIST being read */
	char *list_path;	/* its path, "/api/v1/services" */
	char *page;	 /* the URL path and query of the page in flight */
	unsigned pages;	 /* of the LIST being read, so far */
	size_t backends; /* stored by the LIST being read, so far */
	char *list_rv;
	unsigned events; /* events (not bookmarks) in this watch */
	ev_tstamp started;
	double backoff; /* the last retry delay; 0 after a success */
	ev_timer retry;
	char errbuf[CURL_ERROR_SIZE];
};

struct watcher {
	struct ev_loop *loop;
	struct k8s_client *c;
	const struct k8s_watch_opts *o;
	struct k8s_state st;
	struct xl_curl_ev m;
	struct k8s_async writes; /* status PATCHes and Event POSTs */
	struct stream s[K8S_NKINDS];
	ev_timer debounce;
	ev_timer dropped; /* the report of the Events dropped */
	double apply_backoff;
	double write_backoff;	/* after a failed PATCH; 0 after a success */
	ev_tstamp first_change; /* of the burst being coalesced */
	bool synced;		/* the first file was rendered */
	double delay;		/* the debounce of the burst being coalesced */
};

/* ---- watch.c ----------------------------------------------------------- */

/* Every kind has a LIST in the cache (or is not served). */
bool watch_all_listed(const struct watcher *w);
/* The first file, once every kind is listed (see watch.c). */
void watch_first_apply(struct watcher *w);
/* A change: the file follows after the debounce. */
void watch_changed(struct watcher *w);

/* ---- stream.c ---------------------------------------------------------- */

/* The transfer's resources, after it left the multi handle. */
void watch_stream_release(struct stream *s);
/* The LIST being read is dropped. */
void watch_list_drop(struct stream *s);
/* A LIST, or a WATCH from the last resourceVersion seen. */
void watch_stream_start(struct stream *s);
/* The stream's retry timer: it starts again. */
void watch_on_retry(struct ev_loop *loop, ev_timer *t, int revents);
/* A transfer ended (xl_curl_ev's done callback). */
void watch_on_done(CURL *easy, CURLcode rc, void *arg);

#endif
