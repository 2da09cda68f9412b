/*
 * list.c - LISTs read a page at a time, and each page an item at a time.
 *
 * A LIST of a large cluster is tens of megabytes: the page is walked
 * rather than parsed whole, each item scanned for its bounds (json_scan.c)
 * and only then parsed, handed to the caller and freed, so that memory
 * stays that of one item.  The continue token is followed page by page,
 * and a token that never ends fails the LIST.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "client_impl.h"
#include "k8s/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page being read, one value at a time. */
struct walk {
	struct k8s_client *c;
	const char *what; /* "GET /api/v1/services", for messages */
	const char *b;
	size_t len, pos;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void walk_blank(struct walk *w)
{
	while (w->pos < w->len && is_blank(w->b[w->pos]))
		w->pos++;
}

/* Whether the next byte past blanks is ch; if so it is taken. */
static bool walk_take(struct walk *w, char ch)
{
	walk_blank(w);
	if (w->pos < w->len && w->b[w->pos] == ch) {
		w->pos++;
		return true;
	}
	return false;
}

static int walk_broken(struct walk *w, const char *why)
{
	return client_err(w->c, "%s: the answer is not JSON (%s at byte %zu)",
			  w->what, why, w->pos);
}

/* Exactly n bytes as one JSON value: 0 with *out (NULL for null), -1
 * with *e, -2 out of memory. */
static int parse_exact(const char *p, size_t n, json_object **out,
		       enum json_tokener_error *e)
{
	json_tokener *tok = json_tokener_new_ex(K8S_MAX_DEPTH);

	*out = NULL;
	if (!tok)
		return -2;
	*out = json_tokener_parse_ex(tok, p, (int)n);
	*e = json_tokener_get_error(tok);
	if (*e == json_tokener_continue) { /* a number: it ends here */
		*out = json_tokener_parse_ex(tok, "", 1);
		*e = json_tokener_get_error(tok);
	} else if (*e == json_tokener_success &&
		   json_tokener_get_parse_end(tok) != n) {
		*e = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (*e == json_tokener_success)
		return 0;
	json_object_put(*out);
	*out = NULL;
	return -1;
}

/*
 * The value at the walk's position: its extent scanned first, then, only
 * when it keeps within the bounds, parsed.  1 with *out (NULL for null),
 * 0 when it is past a bound (*over says which; it is stepped over), -1
 * when the page is not JSON (error set).
 */
static int walk_value(struct walk *w, json_object **out,
		      enum k8s_json_over *over)
{
	struct k8s_json_scan s;
	enum json_tokener_error e;
	size_t n;
	int r;

	*out = NULL;
	walk_blank(w);
	k8s_json_scan_reset(&s);
	if (w->pos >= w->len ||
	    !k8s_json_scan(&s, w->b + w->pos, w->len - w->pos, &n) || !n)
		return walk_broken(w, "it ends within a value");
	*over = s.over;
	r = s.over == K8S_JSON_OK ? parse_exact(w->b + w->pos, n, out, &e) : 0;
	if (r == -2)
		return client_err(w->c, "%s: out of memory", w->what);
	if (r < 0)
		return walk_broken(w, json_tokener_error_desc(e));
	w->pos += n;
	return s.over == K8S_JSON_OK ? 1 : 0;
}

/* items: each one parsed, handed to fn and freed before the next. */
static int walk_items(struct walk *w, k8s_item_fn fn, void *arg)
{
	enum k8s_json_over over;
	json_object *item;
	size_t i = 0;
	int r;

	if (!walk_take(w, '[')) {
		r = walk_value(w, &item, &over);
		if (r == 1 && !item)
			return 0; /* null: no items */
		json_object_put(item);
		return r < 0 ? -1
			     : client_err(w->c, "%s: items is not an array",
					  w->what);
	}
	if (walk_take(w, ']'))
		return 0;
	do {
		if (i == K8S_PAGE_LIMIT)
			return client_err(
			    w->c,
			    "%s: more than %d items in a page (its "
			    "limit)",
			    w->what, K8S_PAGE_LIMIT);
		r = walk_value(w, &item, &over);
		if (r < 0)
			return -1;
		if (r == 0) {
			k8s_warn("%s: items[%zu] was skipped: %s", w->what, i,
				 k8s_json_over_text(over));
		} else {
			r = fn(item, arg);
			json_object_put(item);
			if (r == -2)
				return client_err(
				    w->c,
				    "%s: more than %d backends "
				    "(address and port pairs) in one LIST",
				    w->what, K8S_MAX_LIST_BACKENDS);
			if (r < 0)
				return client_err(
				    w->c, "%s: the items could not be stored",
				    w->what);
		}
		i++;
	} while (walk_take(w, ','));
	return walk_take(w, ']') ? 0 : walk_broken(w, "items do not end");
}

/* A key of the page's object ("items"), up to its colon. */
static int walk_key(struct walk *w, const char **key, size_t *klen)
{
	struct k8s_json_scan s;
	size_t n;

	if (!walk_take(w, '"'))
		return walk_broken(w, "no key");
	w->pos--;
	k8s_json_scan_reset(&s);
	if (!k8s_json_scan(&s, w->b + w->pos, w->len - w->pos, &n) ||
	    s.over != K8S_JSON_OK)
		return walk_broken(w, "a key does not end");
	*key = w->b + w->pos + 1;
	*klen = n - 2;
	w->pos += n;
	return walk_take(w, ':') ? 0 : walk_broken(w, "no colon");
}

static bool key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && !memcmp(key, want, klen);
}

/* One member of the page's object: items through fn, metadata kept in
 * *md, anything else (kind, apiVersion) parsed and dropped. */
static int walk_member(struct walk *w, k8s_item_fn fn, void *arg,
		       json_object **md, bool *items)
{
	enum k8s_json_over over;
	const char *key = NULL;
	json_object *v;
	size_t klen = 0;
	int r;

	if (walk_key(w, &key, &klen) < 0)
		return -1;
	if (key_is(key, klen, "items")) {
		if (*items)
			return client_err(w->c, "%s: items twice", w->what);
		*items = true;
		return walk_items(w, fn, arg);
	}
	r = walk_value(w, &v, &over);
	if (r < 0)
		return -1;
	if (!key_is(key, klen, "metadata")) {
		json_object_put(v);
		return 0;
	}
	if (r == 0 || *md) {
		json_object_put(v);
		return client_err(
		    w->c, "%s: the list's metadata is %s", w->what,
		    r == 0 ? k8s_json_over_text(over) : "there twice");
	}
	*md = v;
	return 0;
}

/* The page: {"kind": ..., "metadata": {...}, "items": [...]}. */
static int walk_page(struct walk *w, k8s_item_fn fn, void *arg,
		     json_object **md)
{
	bool items = false;

	*md = NULL;
	if (!walk_take(w, '{'))
		return w->pos < w->len && w->b[w->pos] &&
			       strchr("[\"-0123456789tfn", w->b[w->pos])
			   ? client_err(w->c,
					"%s: the answer is not a list (a JSON "
					"value, not an object)",
					w->what)
			   : walk_broken(w, "no object");
	if (!walk_take(w, '}')) {
		do {
			if (walk_member(w, fn, arg, md, &items) < 0)
				return -1;
		} while (walk_take(w, ','));
		if (!walk_take(w, '}'))
			return walk_broken(w, "the list does not end");
	}
	walk_blank(w);
	return w->pos == w->len ? 0 : walk_broken(w, "data after the value");
}

/* The list's metadata: its resourceVersion and the continue token. */
static int list_meta(struct k8s_client *c, const char *path, json_object *md,
		     char **list_rv, const char **cont)
{
	json_object *v;

	*cont = NULL;
	if (!json_object_is_type(md, json_type_object))
		return client_err(
		    c, "GET %s: the answer is not a list (no metadata)", path);
	if (json_object_object_get_ex(md, "resourceVersion", &v) &&
	    json_object_is_type(v, json_type_string)) {
		free(*list_rv);
		if (!(*list_rv = strdup(json_object_get_string(v))))
			return client_err(c, "out of memory");
	}
	if (json_object_object_get_ex(md, "continue", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v))
		*cont = json_object_get_string(v);
	return 0;
}

/* The URL of the page after page number `page` (at url), unless the
 * token comes back unchanged or the pages never end. */
static int next_page(struct k8s_client *c, const char *path, const char *url,
		     unsigned page, const char *cont, char **next)
{
	if (page >= K8S_MAX_LIST_PAGES)
		return client_err(c,
				  "GET %s: more than %d pages (%d objects): a "
				  "continue token that never ends",
				  path, K8S_MAX_LIST_PAGES,
				  K8S_MAX_LIST_OBJECTS);
	if (!(*next = k8s_client_list_url(c, path, cont)))
		return -1;
	if (url && !strcmp(*next, url)) {
		free(*next);
		*next = NULL;
		return client_err(c,
				  "GET %s: page %u gave its own continue token "
				  "again",
				  path, page);
	}
	return 0;
}

int k8s_client_list_page(struct k8s_client *c, const char *path,
			 const char *url, unsigned page, const char *body,
			 size_t len, k8s_item_fn fn, void *arg, char **list_rv,
			 char **next)
{
	char what[512];
	struct walk w = {c, what, body ? body : "", body ? len : 0, 0};
	json_object *md = NULL;
	const char *cont = NULL;
	int r;

	*next = NULL;
	snprintf(what, sizeof(what), "GET %s", path);
	if (len > K8S_MAX_RESPONSE)
		return client_err(c, "%s: the answer is larger than %u MiB",
				  what, K8S_MAX_RESPONSE >> 20);
	r = walk_page(&w, fn, arg, &md);
	if (r == 0)
		r = list_meta(c, path, md, list_rv, &cont);
	if (r == 0 && cont)
		r = next_page(c, path, url, page, cont, next);
	json_object_put(md);
	return r;
}

int k8s_client_list(struct k8s_client *c, const char *path, k8s_item_fn fn,
		    void *arg, char **list_rv)
{
	char *url = NULL, *next = NULL;
	unsigned page = 0;
	int r;

	*list_rv = NULL;
	if (!(url = k8s_client_list_url(c, path, NULL)))
		return -1;
	/* a continue token that expires between pages fails the LIST: the
	 * caller starts again rather than mix two versions of the cluster */
	do {
		r = client_request(c, "GET", url, NULL, NULL);
		if (r == 0)
			r = k8s_client_list_page(c, path, url, ++page,
						 c->resp.data, c->resp.len, fn,
						 arg, list_rv, &next);
		free(url);
		url = next;
	} while (r == 0 && url);
	free(url);
	client_resp_shrink(c);
	if (r < 0) {
		free(*list_rv);
		*list_rv = NULL;
	}
	return r;
}
