/*
 * watch.c - LIST, then WATCH, each kind; apply after each burst of
 * changes.  One libev loop, one thread.
 *
 * LIST pages and WATCH streams are requests on one curl multi handle
 * driven by the loop (curl_ev.c), the three kinds side by side.  A page is
 * parsed when it is complete, into a fresh cache that replaces the kind's
 * only once the last page is in (a LIST that fails half way changes
 * nothing).  A watch's bytes go through a json-c tokener as they arrive,
 * one event (one JSON object) at a time, so an event split across reads,
 * or many events in one read, is the same.  Status PATCHes and Event
 * POSTs go on the same multi handle (async.c), so that a server slow to
 * answer them holds neither the watches nor the file; a PATCH that fails
 * makes a pass follow, after a backoff, that sends it again.  At start,
 * before any pass, the Events posted by an earlier run are LISTed (one
 * blocking request), so that a restart does not post them again.
 *
 * Per kind the state is: listing (a page in flight), watching (the
 * stream in flight), or waiting (the retry timer runs).
 * What ends a watch decides what follows: the server's timeout, a clean
 * end, resumes at once from the last resourceVersion seen (events and
 * bookmarks both advance it); 410 Gone, as an HTTP status or as an ERROR
 * event, LISTs again; anything else (a refused connection, a reset, 5xx,
 * an ERROR event of another code, bytes that are not JSON) waits a
 * backoff that doubles up to a cap, then resumes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/log.h"
#include "watch_impl.h"

#include <ev.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the first file waits at most this long for the watches to open */
#define FIRST_WAIT 1.0
/* seconds a status PATCH or an Event POST may take */
#define WRITE_TIMEOUT 30L
/* Events dropped by the rate limit are reported at most this often */
#define DROPPED_REPORT 1.0

static const char *const kind_words[K8S_NKINDS] = {
    [K8S_SERVICES] = "services",
    [K8S_SLICES] = "endpointslices",
    [K8S_ENDPOINTS] = "endpoints",
};

/* ---- applying ---------------------------------------------------------- */

/*
 * SIGTERM and SIGINT: a flag the blocking requests look at (so that a
 * status PATCH to a server that hangs ends at once), and an ev_async
 * that stops the loop.  Both are safe to touch from a signal handler.
 */
static volatile sig_atomic_t stop_signal;
static struct ev_loop *stop_loop;
static ev_async stop_async;

bool watch_all_listed(const struct watcher *w)
{
	for (int k = 0; k < K8S_NKINDS; k++)
		if (!w->s[k].listed)
			return false;
	return true;
}

/* Every kind is watched (or not served): nothing of what happens from
 * now on is missed, even while a long apply keeps the loop busy. */
static bool all_watching(const struct watcher *w)
{
	for (int k = 0; k < K8S_NKINDS; k++)
		if (!w->s[k].absent &&
		    !(w->s[k].h && !w->s[k].listing && w->s[k].open))
			return false;
	return true;
}

/* The first file, once every kind is listed: at once when every watch
 * is open too (the first apply sends every status, and its events must
 * find the watches there), at most FIRST_WAIT later otherwise. */
void watch_first_apply(struct watcher *w)
{
	double delay = all_watching(w) ? 0. : FIRST_WAIT;

	if (ev_is_active(&w->debounce) && delay >= w->delay)
		return;
	ev_timer_stop(w->loop, &w->debounce);
	w->delay = delay;
	ev_timer_set(&w->debounce, delay, 0.);
	ev_timer_start(w->loop, &w->debounce);
}

/* A change: the file follows once every kind is listed, after the
 * debounce delay counted from the first change of the burst; the first
 * file as soon as it can, since the LISTs are the whole burst. */
void watch_changed(struct watcher *w)
{
	if (!w->synced && watch_all_listed(w)) {
		watch_first_apply(w);
		return;
	}
	if (ev_is_active(&w->debounce))
		return;
	/* the loop's time may be stale after a long callback: the delay
	 * counts from now */
	ev_now_update(w->loop);
	w->first_change = ev_now(w->loop);
	if (!watch_all_listed(w))
		return;
	w->delay = w->o->debounce;
	ev_timer_set(&w->debounce, w->delay, 0.);
	ev_timer_start(w->loop, &w->debounce);
}

static void on_debounce(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watcher *w = t->data;
	ev_tstamp t0;

	(void)revents;
	if (stop_signal) /* stopping: nothing more is written */
		return;
	ev_now_update(loop);
	t0 = ev_now(loop);
	w->synced = true; /* from now on, changes are coalesced */
	if (k8s_sync_apply(w->c, &w->o->sync, &w->st) == 0) {
		w->apply_backoff = 0;
		ev_now_update(loop);
		k8s_info("in sync: %.1f ms after the change (%.0f ms of "
			 "debounce), %.1f ms to render, write and publish",
			 (ev_now(loop) - w->first_change) * 1e3, w->delay * 1e3,
			 (ev_now(loop) - t0) * 1e3);
		return;
	}
	ev_now_update(loop); /* the requests took their time */
	w->apply_backoff = w->apply_backoff ? w->apply_backoff * 2 : 1.0;
	if (w->apply_backoff > w->o->backoff_max)
		w->apply_backoff = w->o->backoff_max;
	k8s_warn("not in sync with the cluster: trying again in %.1f s",
		 w->apply_backoff);
	ev_timer_set(t, w->apply_backoff, 0.);
	ev_timer_start(loop, t);
}

/* A status PATCH ended (status.c): after a failure, a pass sends it again
 * after a backoff that doubles up to the cap, as a failed apply does. */
static void on_write_result(void *arg, bool ok)
{
	struct watcher *w = arg;

	if (!ev_is_active(&w->dropped))
		ev_timer_start(w->loop, &w->dropped);
	if (ok) {
		w->write_backoff = 0;
		return;
	}
	w->write_backoff = w->write_backoff ? w->write_backoff * 2 : 1.0;
	if (w->write_backoff > w->o->backoff_max)
		w->write_backoff = w->o->backoff_max;
	if (stop_signal || ev_is_active(&w->debounce) || !w->synced)
		return;
	k8s_warn("a status was not written: trying again in %.1f s",
		 w->write_backoff);
	ev_now_update(w->loop);
	w->first_change = ev_now(w->loop);
	w->delay = w->write_backoff;
	ev_timer_set(&w->debounce, w->write_backoff, 0.);
	ev_timer_start(w->loop, &w->debounce);
}

static void on_dropped(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watcher *w = t->data;

	(void)loop;
	(void)revents;
	k8s_sync_report_dropped(&w->st);
}

/* ---- the loop ---------------------------------------------------------- */

static void on_stop_signal(int sig)
{
	stop_signal = sig;
	ev_async_send(stop_loop, &stop_async);
}

static void on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)a;
	(void)revents;
	k8s_info("signal %d: stopping", (int)stop_signal);
	ev_break(loop, EVBREAK_ALL);
}

static void stop_signals(struct watcher *w, bool on)
{
	struct sigaction sa = {0};

	sa.sa_handler = on ? on_stop_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (on) {
		stop_loop = w->loop;
		ev_async_init(&stop_async, on_stop);
		ev_async_start(w->loop, &stop_async);
		k8s_client_set_abort(w->c, &stop_signal);
	} else {
		ev_async_stop(w->loop, &stop_async);
		k8s_client_set_abort(w->c, NULL);
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void watcher_free(struct watcher *w)
{
	for (int k = 0; k < K8S_NKINDS; k++) {
		struct stream *s = &w->s[k];

		ev_timer_stop(w->loop, &s->retry);
		watch_stream_release(s);
		watch_list_drop(s);
		if (s->tok)
			json_tokener_free(s->tok);
		free(s->rv);
	}
	ev_timer_stop(w->loop, &w->debounce);
	ev_timer_stop(w->loop, &w->dropped);
	stop_signals(w, false);
	k8s_async_fini(&w->writes);
	xl_curl_ev_fini(&w->m);
	k8s_state_free(&w->st);
}

int k8s_watch_run(struct k8s_client *c, const struct k8s_watch_opts *o)
{
	struct watcher w = {0};
	int ret = 1;

	w.loop = ev_default_loop(EVFLAG_AUTO);
	w.c = c;
	w.o = o;
	k8s_state_init(&w.st);
	if (!w.loop || xl_curl_ev_init(&w.m, w.loop, watch_on_done, &w) < 0) {
		k8s_err("cannot start the event loop or libcurl");
		k8s_state_free(&w.st);
		return 1;
	}
	ev_timer_init(&w.debounce, on_debounce, 0., 0.);
	w.debounce.data = &w;
	ev_timer_init(&w.dropped, on_dropped, DROPPED_REPORT, 0.);
	w.dropped.data = &w;
	k8s_async_init(&w.writes, c, w.m.multi, WRITE_TIMEOUT);
	w.st.async = &w.writes;
	w.st.write_result = on_write_result;
	w.st.write_result_arg = &w;
	stop_signals(&w, true);
	k8s_sync_seed_events(c, o->sync.ns, &w.st);
	for (int k = 0; k < K8S_NKINDS; k++) {
		struct stream *s = &w.s[k];

		s->w = &w;
		s->kind = k;
		s->what = kind_words[k];
		s->tok = json_tokener_new_ex(K8S_MAX_DEPTH);
		k8s_kind_cache_init(&s->fresh, k);
		ev_timer_init(&s->retry, watch_on_retry, 0., 0.);
		s->retry.data = s;
		if (!s->tok) {
			k8s_err("out of memory");
			goto out;
		}
	}
	for (int k = 0; k < K8S_NKINDS; k++)
		watch_stream_start(&w.s[k]);
	ev_run(w.loop, 0);
	ret = 0;
out:
	watcher_free(&w);
	return ret;
}
