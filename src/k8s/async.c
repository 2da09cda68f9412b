/*
 * async.c - PATCHes and POSTs on the watch loop's curl multi handle.
 *
 * A request owns its easy handle, its headers (the bearer token read
 * afresh, as for every request), its body (libcurl does not copy
 * POSTFIELDS) and the first bytes of the answer, enough for the message
 * of an error's Status.  The requests in flight are a list, so that a
 * finished transfer is told from a watch's and everything left is
 * cancelled at the stop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/async.h"
#include "k8s/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 4096

struct k8s_async_req {
	struct k8s_async_req *next;
	CURL *h;
	struct curl_slist *hdrs;
	char *method, *path, *body;
	char answer[ANSWER_MAX];
	size_t alen;
	k8s_async_fn fn;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

void k8s_async_init(struct k8s_async *a, struct k8s_client *c, CURLM *multi,
		    long timeout)
{
	a->c = c;
	a->multi = multi;
	a->timeout = timeout;
	a->reqs = NULL;
	a->n = 0;
}

static void req_free(struct k8s_async_req *r)
{
	if (r->h)
		curl_easy_cleanup(r->h);
	curl_slist_free_all(r->hdrs);
	free(r->method);
	free(r->path);
	free(r->body);
	free(r);
}

/* Unlinks r from the requests in flight and takes it off the multi. */
static void req_unlink(struct k8s_async *a, struct k8s_async_req *r)
{
	for (struct k8s_async_req **p = &a->reqs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			a->n--;
			break;
		}
	}
	curl_multi_remove_handle(a->multi, r->h);
}

void k8s_async_fini(struct k8s_async *a)
{
	while (a->reqs) {
		struct k8s_async_req *r = a->reqs;

		req_unlink(a, r);
		r->fn(r->arg, false, true, NULL);
		req_free(r);
	}
}

/* The answer's first bytes, for the error message; the rest skipped. */
static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
	struct k8s_async_req *r = arg;
	size_t len = size * n, room = sizeof(r->answer) - 1 - r->alen;

	if (len < room)
		room = len;
	memcpy(r->answer + r->alen, p, room);
	r->alen += room;
	r->answer[r->alen] = 0;
	return len;
}

/* The handle set up for r: TLS, credentials, the request, the timeout. */
static int req_setup(struct k8s_async *a, struct k8s_async_req *r,
		     const char *ctype, char *why, size_t len)
{
	char *url = NULL, *type = NULL;
	struct curl_slist *h;
	int ret = -1;

	if (k8s_client_setup_handle(a->c, r->h) < 0 ||
	    !(r->hdrs = k8s_client_headers(a->c))) {
		snprintf(why, len, "%s", k8s_client_error(a->c));
		return -1;
	}
	if (asprintf(&url, "%s%s", k8s_client_server(a->c), r->path) < 0 ||
	    asprintf(&type, "Content-Type: %s", ctype) < 0 ||
	    !(h = curl_slist_append(r->hdrs, type))) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	r->hdrs = h;
	curl_easy_setopt(r->h, CURLOPT_URL, url);
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->h, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_PRIVATE, (void *)r);
	curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->h, CURLOPT_TIMEOUT, a->timeout);
	ret = 0;
out:
	free(url);
	free(type);
	return ret;
}

int k8s_async_send(struct k8s_async *a, const char *method, const char *path,
		   const char *ctype, const char *body, k8s_async_fn fn,
		   void *arg, char *why, size_t len)
{
	struct k8s_async_req *r = calloc(1, sizeof(*r));

	if (!r || !(r->h = curl_easy_init()) || !(r->method = strdup(method)) ||
	    !(r->path = strdup(path)) || !(r->body = strdup(body))) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	if (req_setup(a, r, ctype, why, len) < 0)
		goto fail;
	if (curl_multi_add_handle(a->multi, r->h) != CURLM_OK) {
		snprintf(why, len, "libcurl refused the request");
		goto fail;
	}
	r->fn = fn;
	r->arg = arg;
	r->next = a->reqs;
	a->reqs = r;
	a->n++;
	k8s_debug("%s %s: sent", method, path);
	return 0;
fail:
	if (r)
		req_free(r);
	return -1;
}

bool k8s_async_busy(const struct k8s_async *a, const char *method,
		    const char *path, const char *body)
{
	for (const struct k8s_async_req *r = a->reqs; r; r = r->next)
		if (!strcmp(r->method, method) && !strcmp(r->path, path) &&
		    !strcmp(r->body, body))
			return true;
	return false;
}

/* Why r failed: libcurl's word, or the HTTP status and the Status's
 * message.  Empty when it did not. */
static void req_why(const struct k8s_async_req *r, CURLcode rc, long code,
		    char *why, size_t len)
{
	json_object *j, *msg;

	why[0] = 0;
	if (rc != CURLE_OK) {
		snprintf(why, len, "%s %s: %s", r->method, r->path,
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		return;
	}
	if (code >= 200 && code <= 299)
		return;
	j = json_tokener_parse(r->answer);
	if (j && json_object_object_get_ex(j, "message", &msg) &&
	    json_object_is_type(msg, json_type_string))
		snprintf(why, len, "%s %s: HTTP %ld: %s", r->method, r->path,
			 code, json_object_get_string(msg));
	else
		snprintf(why, len, "%s %s: HTTP %ld", r->method, r->path, code);
	json_object_put(j);
}

bool k8s_async_done(struct k8s_async *a, CURL *easy, CURLcode rc)
{
	struct k8s_async_req *r;
	char why[1024];
	long code = 0;

	for (r = a->reqs; r && r->h != easy; r = r->next)
		;
	if (!r)
		return false;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	req_why(r, rc, code, why, sizeof(why));
	k8s_debug("%s %s: %ld", r->method, r->path, code);
	req_unlink(a, r);
	r->fn(r->arg, !why[0], false, why);
	req_free(r);
	return true;
}
