/*
 * stream.c - one kind's LIST, then WATCH, as transfers on the watcher's
 * curl multi handle.
 *
 * A LIST is read page by page into a fresh cache that replaces the kind's
 * only when the last page is in; a WATCH's bytes go through a json-c
 * tokener as they arrive, one event at a time.  What ends a transfer
 * decides what follows (watch.c says how): resume, LIST again, or wait a
 * backoff.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/log.h"
#include "watch_impl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN 0.5
#define ERRBODY_MAX (64 * 1024)
/* seconds a LIST page may take */
#define LIST_TIMEOUT 60L
/* a watch that ends sooner than this without an event is not "normal" */
#define WATCH_MIN_LIFE 1.0
/* without EndpointSlices served, look again this often */
#define ABSENT_RECHECK 300.0

static void stream_retry_in(struct stream *s, double delay)
{
	ev_timer_stop(s->w->loop, &s->retry);
	ev_timer_set(&s->retry, delay, 0.);
	ev_timer_start(s->w->loop, &s->retry);
}

/* After a failure: the next delay, doubled up to the cap, +-20%. */
static double next_backoff(struct stream *s)
{
	double max = s->w->o->backoff_max;

	s->backoff = s->backoff ? s->backoff * 2 : BACKOFF_MIN;
	if (s->backoff > max)
		s->backoff = max;
	return s->backoff * (0.8 + 0.4 * (double)random() / RAND_MAX);
}

static void set_rv(struct stream *s, const char *rv)
{
	char *v;

	if (!rv || !*rv || (s->rv && !strcmp(s->rv, rv)))
		return;
	v = strdup(rv);
	if (!v)
		return; /* keep the older one: at worst events come twice */
	free(s->rv);
	s->rv = v;
}

/* The transfer's resources, after it left the multi handle. */
void watch_stream_release(struct stream *s)
{
	if (s->h) {
		curl_multi_remove_handle(s->w->m.multi, s->h);
		curl_easy_cleanup(s->h);
		s->h = NULL;
	}
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	free(s->body);
	s->body = NULL;
	s->blen = 0;
	s->bcap = 0;
	s->too_big = false;
}

/* The LIST being read is dropped. */
void watch_list_drop(struct stream *s)
{
	k8s_cache_clear(&s->fresh);
	free(s->list_path);
	s->list_path = NULL;
	free(s->page);
	s->page = NULL;
	free(s->list_rv);
	s->list_rv = NULL;
	s->pages = 0;
	s->backends = 0;
	s->listing = false;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static const char *object_rv(json_object *obj)
{
	json_object *md;

	if (!json_object_object_get_ex(obj, "metadata", &md))
		return NULL;
	return str_member(md, "resourceVersion");
}

/* An ERROR event's Status: 410 LISTs again, others retry.  -1 (the
 * transfer is cut: the server ends it anyway). */
static int error_event(struct stream *s, json_object *obj)
{
	json_object *code;
	const char *msg = str_member(obj, "message");
	long c = 0;

	if (obj && json_object_object_get_ex(obj, "code", &code))
		c = (long)json_object_get_int64(code);
	if (c == 410) {
		k8s_info("watch of %s: %s (410 Gone): listing again", s->what,
			 msg ? msg : "resourceVersion too old");
		s->relist = true;
	} else {
		k8s_warn("watch of %s: the server sent an error: %s (%ld)",
			 s->what, msg ? msg : "no message", c);
		s->bad = true;
	}
	return -1;
}

/* One event.  0 to read on, -1 to end the transfer. */
static int handle_event(struct stream *s, json_object *ev)
{
	json_object *obj = NULL;
	const char *type = str_member(ev, "type");
	int r;

	if (!json_object_is_type(ev, json_type_object) || !type ||
	    !json_object_object_get_ex(ev, "object", &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		if (type && !strcmp(type, "ERROR"))
			return error_event(s, NULL);
		k8s_warn("watch of %s: an event without type or object",
			 s->what);
		s->bad = true;
		return -1;
	}
	if (!strcmp(type, "ERROR"))
		return error_event(s, obj);
	if (!strcmp(type, "BOOKMARK")) {
		set_rv(s, object_rv(obj));
		k8s_debug("watch of %s: bookmark at %s", s->what,
			  s->rv ? s->rv : "?");
		return 0;
	}
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED") &&
	    strcmp(type, "DELETED")) {
		k8s_warn("watch of %s: unknown event type \"%s\" ignored",
			 s->what, type);
		return 0;
	}
	s->events++;
	r = k8s_state_event(&s->w->st, s->kind, type, obj);
	if (r < 0) {
		k8s_err("out of memory");
		s->bad = true;
		return -1;
	}
	set_rv(s, object_rv(obj));
	if (k8s_log_enabled(K8S_LOG_DEBUG)) {
		json_object *md = NULL;

		json_object_object_get_ex(obj, "metadata", &md);
		k8s_debug("watch of %s: %s %s/%s at %s%s", s->what, type,
			  str_member(md, "namespace") ?: "?",
			  str_member(md, "name") ?: "?", s->rv ? s->rv : "?",
			  r ? "" : " (no change)");
	}
	if (r > 0)
		watch_changed(s->w);
	return 0;
}

/* An event ended: ev is what the tokener gave for its last bytes.  It is
 * handed on. */
static int event_done(struct stream *s, json_object *ev)
{
	enum json_tokener_error e = json_tokener_get_error(s->tok);
	int r;

	if (e == json_tokener_continue) { /* a number ends where it stops */
		ev = json_tokener_parse_ex(s->tok, "", 1);
		e = json_tokener_get_error(s->tok);
	}
	json_tokener_reset(s->tok);
	k8s_json_scan_reset(&s->scan);
	if (e != json_tokener_success) {
		k8s_warn("watch of %s: the stream is not JSON (%s)", s->what,
			 json_tokener_error_desc(e));
		json_object_put(ev);
		s->bad = true;
		return -1;
	}
	r = handle_event(s, ev);
	json_object_put(ev);
	return r;
}

/*
 * Bytes of the watch stream: whole events handed on as they complete.
 * Each event's extent and bounds are scanned before json-c sees its
 * bytes, so that no event builds a tree larger than the bounds allow
 * (k8s/client.h): one that would is logged and ends the watch.
 */
static int feed(struct stream *s, const char *p, size_t len)
{
	while (len) {
		json_object *ev;
		size_t n;
		int end;

		if (!s->scan.started) { /* between events: skip line breaks */
			while (len && strchr(" \t\r\n", *p) && *p) {
				p++;
				len--;
			}
			if (!len)
				return 0;
		}
		end = k8s_json_scan(&s->scan, p,
				    len > INT32_MAX ? INT32_MAX : len, &n);
		if (s->scan.over != K8S_JSON_OK) {
			k8s_warn("watch of %s: an event %s", s->what,
				 k8s_json_over_text(s->scan.over));
			s->bad = true;
			return -1;
		}
		ev = json_tokener_parse_ex(s->tok, p, (int)n);
		p += n;
		len -= n;
		if (end) {
			if (event_done(s, ev) < 0)
				return -1;
		} else if (json_tokener_get_error(s->tok) !=
			   json_tokener_continue) {
			/* json-c saw an end or an error the scan did not */
			json_object_put(ev);
			k8s_warn("watch of %s: the stream is not JSON (%s)",
				 s->what,
				 json_tokener_error_desc(
				     json_tokener_get_error(s->tok)));
			s->bad = true;
			return -1;
		}
	}
	return 0;
}

/* Keeps the bytes in s->body, up to s->bmax.  false when they do not fit. */
static bool keep(struct stream *s, const char *p, size_t len)
{
	if (len > s->bmax - s->blen) {
		s->too_big = true;
		return false;
	}
	/*
	 * Doubling, not the exact size per chunk: a 32 MiB page comes in
	 * thousands of chunks, and a realloc that moves (always, under ASan)
	 * would copy the page again for each.  Never more room than a page
	 * may take, so the cap on memory stays what bmax says.
	 */
	if (XL_GROW_MAX(s->body, s->bcap, s->blen + len + 1, 4096,
			s->bmax + 1) < 0)
		return false;
	memcpy(s->body + s->blen, p, len);
	s->blen += len;
	s->body[s->blen] = 0;
	return true;
}

/* A LIST page's bytes: kept whole, parsed when the transfer is done. */
static size_t on_page_data(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;

	return keep(s, p, size * n) ? size * n : 0;
}

/* A watch's headers: the status line says it is open. */
static size_t on_watch_header(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	long code = 0;

	if (!s->open && size * n > 5 && !strncmp(p, "HTTP/", 5)) {
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			s->open = true;
			if (!s->w->synced && watch_all_listed(s->w))
				watch_first_apply(s->w);
		}
	}
	return size * n;
}

/* A watch's bytes: events, unless the answer is an error. */
static size_t on_watch_data(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;
	long code = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) { /* a Status saying why: kept for the message */
		keep(s, p, len < s->bmax - s->blen ? len : s->bmax - s->blen);
		return len;
	}
	return feed(s, p, len) < 0 ? 0 : len;
}

/* Starts a GET of path (the API's URL path and query) on the multi
 * handle.  0, or -1 (logged; the caller retries). */
static int start_request(struct stream *s, const char *path, long timeout,
			 curl_write_callback on_bytes,
			 curl_write_callback on_header)
{
	struct watcher *w = s->w;
	char *url = NULL;
	int r = -1;

	s->h = curl_easy_init();
	if (!s->h ||
	    asprintf(&url, "%s%s", k8s_client_server(w->c), path) < 0) {
		url = NULL;
		k8s_err("%s: out of memory", s->what);
		goto out;
	}
	if (k8s_client_setup_handle(w->c, s->h) < 0 ||
	    !(s->hdrs = k8s_client_headers(w->c))) {
		k8s_err("%s: %s", s->what, k8s_client_error(w->c));
		goto out;
	}
	/* a LIST page has its limit (bmax); the stream as a whole none */
	curl_easy_setopt(s->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_bytes);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	if (on_header) {
		curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
	}
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, (void *)s);
	curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, s->errbuf);
	/* a server that vanished without a word ends the request too */
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(s->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(s->h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(s->h, CURLOPT_TCP_KEEPINTVL, 10L);
	s->errbuf[0] = 0;
	s->bad = false;
	s->too_big = false;
	s->blen = 0;
	s->started = ev_now(w->loop);
	if (curl_multi_add_handle(w->m.multi, s->h) != CURLM_OK) {
		k8s_err("%s: libcurl refused the request", s->what);
		goto out;
	}
	r = 0;
out:
	if (r < 0) {
		curl_easy_cleanup(s->h);
		s->h = NULL;
		curl_slist_free_all(s->hdrs);
		s->hdrs = NULL;
	}
	free(url);
	return r;
}

/* A query value escaped (malloc'ed; NULL when out of memory). */
static char *query_escape(const char *v)
{
	size_t len = 3 * strlen(v) + 4;
	char *out = malloc(len);

	if (out)
		k8s_escape(v, out, len);
	return out;
}

/* Starts the WATCH from s->rv.  0, or -1 (logged). */
static int start_watch(struct stream *s)
{
	struct watcher *w = s->w;
	char *path = k8s_kind_path(s->kind, w->o->sync.ns), *q = NULL;
	char *rv = query_escape(s->rv ? s->rv : "");
	int r = -1;

	if (!path || !rv ||
	    asprintf(&q,
		     "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%ld"
		     "&resourceVersion=%s",
		     path, w->o->watch_timeout, rv) < 0) {
		q = NULL;
		k8s_err("watch of %s: out of memory", s->what);
		goto out;
	}
	s->listing = false;
	s->open = false;
	s->events = 0;
	k8s_json_scan_reset(&s->scan);
	s->bmax = ERRBODY_MAX;
	json_tokener_reset(s->tok);
	r = start_request(s, q, w->o->watch_timeout + 60L, on_watch_data,
			  on_watch_header);
	if (r == 0)
		k8s_debug("watch of %s from resourceVersion %s", s->what,
			  s->rv);
out:
	free(rv);
	free(q);
	free(path);
	return r;
}

/* Asks for the LIST page s->page.  0, or -1 (logged). */
static int request_page(struct stream *s)
{
	s->listing = true;
	s->bmax = K8S_MAX_RESPONSE;
	return start_request(s, s->page, LIST_TIMEOUT, on_page_data, NULL);
}

/* Starts a LIST of the kind: the first page.  0, or -1 (logged). */
static int start_list(struct stream *s)
{
	watch_list_drop(s);
	s->list_path = k8s_kind_path(s->kind, s->w->o->sync.ns);
	s->page = s->list_path
		      ? k8s_client_list_url(s->w->c, s->list_path, NULL)
		      : NULL;
	if (!s->page) {
		k8s_err("LIST of %s: out of memory", s->what);
		return -1;
	}
	return request_page(s);
}

/* LIST if needed, else WATCH; on failure the retry timer runs. */
void watch_stream_start(struct stream *s)
{
	int r = s->relist || !s->listed ? start_list(s) : start_watch(s);

	if (r < 0)
		stream_retry_in(s, next_backoff(s));
}

void watch_on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	watch_stream_start(t->data);
}

/* Why a watch failed, in words. */
static void failure_text(struct stream *s, CURLcode rc, long code, char *buf,
			 size_t len)
{
	json_object *j = NULL;
	const char *msg = NULL;

	if (s->too_big) {
		snprintf(buf, len, "the answer is larger than %u MiB",
			 K8S_MAX_RESPONSE >> 20);
		return;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s->bad)) {
		snprintf(buf, len, "%s",
			 s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
		return;
	}
	if (code != 200) {
		/* a Status is small: a large error body (a LIST page's may
		 * reach the cap) is not worth a tree of many times its size */
		j = s->body && s->blen <= ERRBODY_MAX
			? json_tokener_parse(s->body)
			: NULL;
		msg = str_member(j, "message");
		snprintf(buf, len, "HTTP %ld%s%s", code, msg ? ": " : "",
			 msg ? msg : "");
		json_object_put(j);
		return;
	}
	snprintf(buf, len, "%s",
		 s->bad ? "a bad event (above)" : "the stream was cut");
}

static int page_item(json_object *item, void *arg)
{
	struct stream *s = arg;

	return k8s_kind_load_item(&s->fresh, s->kind, item, &s->backends);
}

/* The LIST is complete: it replaces the kind's cache; the watch follows. */
static void list_complete(struct stream *s, bool absent)
{
	struct watcher *w = s->w;

	if (!absent && k8s_cache_set_list_rv(&s->fresh, s->list_rv) < 0) {
		k8s_err("out of memory");
		watch_list_drop(s);
		stream_retry_in(s, next_backoff(s));
		return;
	}
	k8s_state_replace(&w->st, s->kind, &s->fresh);
	watch_list_drop(s);
	s->relist = false;
	s->listed = true;
	s->absent = absent;
	s->backoff = 0;
	free(s->rv);
	s->rv = NULL;
	set_rv(s, w->st.kinds[s->kind].list_rv);
	k8s_info("listed %zu %s", w->st.kinds[s->kind].n, s->what);
	watch_changed(w);
	if (absent) {
		s->relist = true;
		stream_retry_in(s, ABSENT_RECHECK);
	} else if (!s->rv) { /* nothing to resume from: list again later */
		k8s_warn("LIST of %s had no resourceVersion", s->what);
		s->relist = true;
		stream_retry_in(s, next_backoff(s));
	} else {
		stream_retry_in(s, 0);
	}
}

/* A LIST page ended: the next page, the end, or a retry. */
static void page_done(struct stream *s, CURLcode rc, long code)
{
	struct watcher *w = s->w;
	char why[512], *next = NULL;
	double d;

	if (rc == CURLE_OK && code == 200) {
		if (k8s_client_list_page(
			w->c, s->list_path, s->page, ++s->pages, s->body,
			s->blen, page_item, s, &s->list_rv, &next) == 0) {
			watch_stream_release(s);
			if (!next) {
				list_complete(s, false);
				return;
			}
			free(s->page);
			s->page = next;
			if (request_page(s) < 0) {
				watch_list_drop(s);
				stream_retry_in(s, next_backoff(s));
			}
			return;
		}
		snprintf(why, sizeof(why), "%s", k8s_client_error(w->c));
	} else if (rc == CURLE_OK && code == 404 && s->kind == K8S_SLICES) {
		watch_stream_release(s);
		k8s_warn("%s are not served (Kubernetes before 1.21?): using "
			 "v1 Endpoints only",
			 s->what);
		k8s_cache_clear(&s->fresh);
		list_complete(s, true);
		return;
	} else {
		failure_text(s, rc, code, why, sizeof(why));
	}
	watch_stream_release(s);
	watch_list_drop(s);
	/* a continue token that expired starts the LIST again at once */
	d = code == 410 ? 0 : next_backoff(s);
	k8s_warn("LIST of %s failed: again in %.1f s (%s)", s->what, d, why);
	stream_retry_in(s, d);
}

/* A transfer ended (xl_curl_ev's done callback). */
void watch_on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct watcher *w = arg;
	struct stream *s = NULL;
	char *priv = NULL, why[512];
	long code = 0;
	double life;

	if (k8s_async_done(&w->writes, easy, rc))
		return;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	s = (struct stream *)(void *)priv;
	if (!s || s->h != easy)
		return;
	if (s->listing) {
		page_done(s, rc, code);
		return;
	}
	life = ev_now(w->loop) - s->started;
	if (s->relist || code == 410) {
		if (code == 410)
			k8s_info("watch of %s: 410 Gone: listing again",
				 s->what);
		s->relist = true;
		watch_stream_release(s);
		s->backoff = 0;
		stream_retry_in(s, 0);
		return;
	}
	if (rc == CURLE_OK && code == 200 && !s->bad) {
		k8s_debug("watch of %s ended by the server after %.1f s, %u "
			  "event(s): resuming from %s",
			  s->what, life, s->events, s->rv);
		watch_stream_release(s);
		if (s->events || life >= WATCH_MIN_LIFE) {
			s->backoff = 0;
			stream_retry_in(s, 0);
		} else {
			stream_retry_in(s, next_backoff(s));
		}
		return;
	}
	failure_text(s, rc, code, why, sizeof(why));
	watch_stream_release(s);
	if (s->events || life >= 10 * WATCH_MIN_LIFE)
		s->backoff = 0; /* it had worked for a while */
	{
		double d = next_backoff(s);

		k8s_warn("watch of %s failed: %s; again in %.1f s from "
			 "resourceVersion %s",
			 s->what, why, d, s->rv);
		stream_retry_in(s, d);
	}
}
