/*
 * curl_ev.h - a libcurl multi handle driven by a libev loop.
 *
 * libcurl says which sockets to watch (one ev_io each) and when to call
 * it back (one ev_timer); the loop calls curl_multi_socket_action() and
 * every finished transfer is handed to the done callback, with its easy
 * handle (still in the multi handle: the callback removes it, or not) and
 * its result.  Used by extlbd's http checks and by extlb-k8s's watches.
 */
#ifndef EXTLB_CURL_EV_H
#define EXTLB_CURL_EV_H

#include <curl/curl.h>
#include <ev.h>
#ifdef XL_CURL_DLOPEN
#include "curl_dl.h" /* extlbd: libcurl loaded when first needed */
#endif

struct xl_curl_ev_sock;

typedef void (*xl_curl_done_fn)(CURL *easy, CURLcode result, void *arg);

struct xl_curl_ev {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	xl_curl_done_fn done;
	void *arg;
	struct xl_curl_ev_sock *idle_socks; /* watchers kept for reuse */
};

/* 0, or -1 when libcurl could not make a multi handle. */
int xl_curl_ev_init(struct xl_curl_ev *m, struct ev_loop *loop,
		    xl_curl_done_fn done, void *arg);
/* The transfers still in the multi handle must have been removed. */
void xl_curl_ev_fini(struct xl_curl_ev *m);

#endif
