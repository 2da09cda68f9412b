/*
 * k8s/client.h - requests to the Kubernetes API server over HTTPS, with
 * the credentials of a kubeconfig, and JSON answers.
 *
 * Blocking (one libcurl easy handle, reused so that the TLS connection
 * is): LISTs, PATCHes and POSTs.  The watch loop (watch.c) drives its
 * long-lived WATCH requests through a curl multi handle on the event loop
 * instead, with the same TLS and authentication set-up
 * (k8s_client_setup_handle, k8s_client_headers).
 */
#ifndef EXTLB_K8S_CLIENT_H
#define EXTLB_K8S_CLIENT_H

#include "k8s/kubeconfig.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>

/* The largest answer read: a LIST of a big cluster is tens of MiB. */
#define K8S_MAX_RESPONSE (64u << 20)

struct k8s_client;

/* kc must outlive the client.  NULL with err filled on failure. */
struct k8s_client *k8s_client_new(const struct k8s_kubeconfig *kc, char *err,
				  size_t len);
void k8s_client_free(struct k8s_client *c);

/* Seconds a request may take in all (default 60). */
void k8s_client_set_timeout(struct k8s_client *c, long seconds);

/* While *flag is non-zero (a signal handler sets it), requests end at
 * once with an error.  NULL: never. */
void k8s_client_set_abort(struct k8s_client *c,
			  const volatile sig_atomic_t *flag);
/* Whether that flag is set: the caller stops making requests. */
bool k8s_client_aborted(const struct k8s_client *c);

/* TLS, credentials and limits on any easy handle.  0, or -1 (error set). */
int k8s_client_setup_handle(struct k8s_client *c, CURL *h);

/* GET path ("/api/v1/services"): 0 with *out the parsed answer (the
 * caller puts it), -1 with k8s_client_error() saying why. */
int k8s_client_get(struct k8s_client *c, const char *path, json_object **out);

/* PATCH path with body of the content type.  0, or -1. */
int k8s_client_patch(struct k8s_client *c, const char *path,
		     const char *content_type, const char *body);

/* POST path with body of the content type.  0, or -1. */
int k8s_client_post(struct k8s_client *c, const char *path,
		    const char *content_type, const char *body);

/* The headers of a request (Accept, and the bearer token read afresh),
 * for a request made on another handle; the caller frees them with
 * curl_slist_free_all.  NULL with k8s_client_error() saying why. */
struct curl_slist *k8s_client_headers(struct k8s_client *c);
/* "https://host:port", without a slash at the end */
const char *k8s_client_server(const struct k8s_client *c);

/*
 * LIST path page by page (limit and continue), calling fn on each item
 * (fn must json_object_get() what it keeps).  *list_rv gets the list's
 * resourceVersion (malloc'ed), where a WATCH would start.  0, or -1 when a
 * request or fn failed.
 */
typedef int (*k8s_item_fn)(json_object *item, void *arg);
int k8s_client_list(struct k8s_client *c, const char *path, k8s_item_fn fn,
		    void *arg, char **list_rv);

/* s with everything but unreserved characters (RFC 3986) escaped as %XX,
 * into out (len >= 3 * strlen(s) + 4 holds all of it). */
void k8s_escape(const char *s, char *out, size_t len);

/* The URL path of a LIST page: path?limit=N[&continue=TOKEN] (malloc'ed;
 * NULL when out of memory). */
char *k8s_client_list_url(struct k8s_client *c, const char *path,
			  const char *cont);
/*
 * One LIST page read by other means (the watch loop's own requests):
 * body parsed, fn on each item, *list_rv updated, *next the URL path and
 * query of the next page (malloc'ed) or NULL at the last.  path is the
 * LIST's path without a query.  0, or -1 (error set).
 */
int k8s_client_list_page(struct k8s_client *c, const char *path,
			 const char *body, size_t len, k8s_item_fn fn,
			 void *arg, char **list_rv, char **next);

/* Why the last request failed: "GET /api/v1/services: HTTP 403: ..." */
const char *k8s_client_error(const struct k8s_client *c);
/* The HTTP status of the last answer; 0 when there was none. */
long k8s_client_status(const struct k8s_client *c);

#endif
