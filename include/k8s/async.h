/*
 * k8s/async.h - short writes to the API server (status PATCHes, Event
 * POSTs) as transfers on the watch loop's curl multi handle, so that a
 * server slow to answer them never holds the loop: the watches, the
 * file and the reloads go on meanwhile.  Each has a timeout; its end is
 * told to a callback on the loop.
 */
#ifndef EXTLB_K8S_ASYNC_H
#define EXTLB_K8S_ASYNC_H

#include "k8s/client.h"

#include <curl/curl.h>
#include <stdbool.h>

/* The end of a request: ok (a 2xx answer) or not, with why ("PATCH
 * /api/...: HTTP 500: ..."); or cancelled (extlb-k8s stops: why is NULL,
 * ok false).  The callback owns arg and frees it in every case. */
typedef void (*k8s_async_fn)(void *arg, bool ok, bool cancelled,
			     const char *why);

struct k8s_async_req;

struct k8s_async {
	struct k8s_client *c;
	CURLM *multi;
	long timeout;		    /* seconds a request may take */
	struct k8s_async_req *reqs; /* in flight */
	size_t n;
};

void k8s_async_init(struct k8s_async *a, struct k8s_client *c, CURLM *multi,
		    long timeout);
/* Every request still in flight is cancelled (its callback told). */
void k8s_async_fini(struct k8s_async *a);

/* Starts METHOD path with body (copied) of the content type.  0, or -1
 * (the callback was not called: the caller keeps arg) with why. */
int k8s_async_send(struct k8s_async *a, const char *method, const char *path,
		   const char *ctype, const char *body, k8s_async_fn fn,
		   void *arg, char *why, size_t len);
/* Whether the same request (method, path and body) is in flight. */
bool k8s_async_busy(const struct k8s_async *a, const char *method,
		    const char *path, const char *body);
/* A transfer of the multi handle ended: if it is one of these requests,
 * its callback is told and true returned. */
bool k8s_async_done(struct k8s_async *a, CURL *easy, CURLcode rc);

#endif
