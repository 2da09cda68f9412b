/*
 * k8s/client.h - requests to the Kubernetes API server over HTTPS, with
 * the credentials of a kubeconfig, and JSON answers.
 *
 * Blocking (one libcurl easy handle, reused so that the TLS connection
 * is): LISTs, PATCHes and POSTs.  The watch loop (watch.c, stream.c)
 * drives its long-lived WATCH requests, and its status PATCHes and Event
 * POSTs (async.c), through a curl multi handle on the event loop
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

/*
 * What is read from the API server is bounded (it is untrusted input, and
 * json-c's tree of a document costs 30 to 260 times its bytes: 784 bytes
 * for an empty object, 64 for a number).  The bounds, and why a real
 * cluster stays inside them:
 *
 * K8S_PAGE_LIMIT  the `limit` of a LIST page: the items of one page.
 * K8S_MAX_OBJECT  the bytes of one object (a LIST item, a watch event):
 *                 etcd refuses objects over 1.5 MiB (--max-request-bytes).
 * K8S_MAX_RESPONSE  the bytes of one answer (a LIST page): 500 objects of
 *                 64 KiB, an EndpointSlice at its API maximum of 100
 *                 endpoints with managedFields being about 60 KiB, a
 *                 Service 4 to 16 KiB.
 * K8S_MAX_DEPTH   JSON nesting: Kubernetes objects nest about 15 deep
 *                 (managedFields); json-c's default is 32.
 * K8S_MAX_MAPS, K8S_MAX_NODES  JSON objects, and values (counted by their
 *                 separators), in one object: an Endpoints at the endpoints
 *                 controller's cap of 1000 addresses, with targetRefs and
 *                 managedFields, has about 8000 objects and 40000 values.
 * K8S_MAX_LIST_PAGES  pages of one LIST: K8S_MAX_LIST_OBJECTS (200000
 *                 objects of a kind, above Kubernetes' tested limits of
 *                 10000 Services and 150000 Pods) at K8S_PAGE_LIMIT a page.
 * K8S_MAX_LIST_BACKENDS  address and port pairs stored by one LIST (the
 *                 objects kept cost about 80 bytes each, so 80 MB at
 *                 most): 150000 Pods with 6 ports each.  One object has at
 *                 most K8S_MAX_OBJECT_BACKENDS (k8s/objects.h).
 *
 * So one page is parsed in at most K8S_MAX_RESPONSE of buffer plus the
 * json-c tree of one object, at most K8S_MAX_MAPS * 800 + K8S_MAX_NODES *
 * 150 bytes (32 MiB): items are parsed one at a time, never the whole page.
 * What is kept of the objects is bounded too: K8S_MAX_LIST_OBJECTS of a
 * few hundred bytes and K8S_MAX_LIST_BACKENDS of about 80, for each kind,
 * LISTed or watched (sync.c).
 */
#define K8S_PAGE_LIMIT 500
#define K8S_MAX_OBJECT_MIB 2
#define K8S_MAX_OBJECT (K8S_MAX_OBJECT_MIB << 20)
#define K8S_MAX_RESPONSE (32u << 20)
#define K8S_MAX_DEPTH 64
#define K8S_MAX_MAPS 16384
#define K8S_MAX_NODES 131072
#define K8S_MAX_LIST_OBJECTS 200000
#define K8S_MAX_LIST_PAGES (K8S_MAX_LIST_OBJECTS / K8S_PAGE_LIMIT)
#define K8S_MAX_LIST_BACKENDS 1000000

/*
 * The extent of one JSON value, and whether it keeps within the bounds
 * above, found without building anything: bytes go through
 * k8s_json_scan as they come, and only a value that ended within bounds
 * is handed to json-c.  The syntax is json-c's to check.
 */
enum k8s_json_over {
	K8S_JSON_OK,
	K8S_JSON_TOO_BIG,  /* more than K8S_MAX_OBJECT bytes */
	K8S_JSON_TOO_DEEP, /* nested deeper than K8S_MAX_DEPTH */
	K8S_JSON_TOO_MANY_MAPS,
	K8S_JSON_TOO_MANY_NODES,
};
struct k8s_json_scan {
	size_t bytes, maps, nodes;
	unsigned depth;
	bool started, in_str, esc, container;
	enum k8s_json_over over; /* the first bound passed */
};
void k8s_json_scan_reset(struct k8s_json_scan *s);
/* Scans p[0..len) of the value (it starts at p's first byte, not blank):
 * 1 when it ended (*used: the bytes of p that belong to it), 0 when more
 * is needed (*used = len).  A bound passed is noted in s->over; scanning
 * goes on to the end of the value, so that it can be skipped. */
int k8s_json_scan(struct k8s_json_scan *s, const char *p, size_t len,
		  size_t *used);
/* "nested deeper than 64 levels", for messages */
const char *k8s_json_over_text(enum k8s_json_over o);

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
 * (fn must json_object_get() what it keeps; it returns 0, -1 when out of
 * memory, -2 past K8S_MAX_LIST_BACKENDS).  *list_rv gets the list's
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
 * body parsed one item at a time, fn on each item, *list_rv updated,
 * *next the URL path and query of the next page (malloc'ed) or NULL at
 * the last.  path is the LIST's path without a query; url the page's
 * own (its continue token), page its number from 1.  An item that is
 * not within the bounds above is skipped with a warning; a page that is
 * not a list, has more than K8S_PAGE_LIMIT items, repeats its continue
 * token or is past K8S_MAX_LIST_PAGES fails.  0, or -1 (error set).
 */
int k8s_client_list_page(struct k8s_client *c, const char *path,
			 const char *url, unsigned page, const char *body,
			 size_t len, k8s_item_fn fn, void *arg, char **list_rv,
			 char **next);

/* Why the last request failed: "GET /api/v1/services: HTTP 403: ..." */
const char *k8s_client_error(const struct k8s_client *c);
/* The HTTP status of the last answer; 0 when there was none. */
long k8s_client_status(const struct k8s_client *c);

#endif
