/*
 * curl_ev.c - libcurl's multi-socket interface on a libev loop.
 *
 * The socket callback keeps one ev_io per socket libcurl uses, found again
 * through curl_multi_assign(); the timer callback arms one ev_timer.  When
 * either fires, curl_multi_socket_action() runs and the finished transfers
 * are collected with curl_multi_info_read().  ev_io watchers of closed
 * sockets go to a free list, so a steady stream of short transfers does
 * not allocate one per connection.
 */
#include "curl_ev.h"

#include <stddef.h>
#include <stdlib.h>

struct xl_curl_ev_sock {
	ev_io io;
	struct xl_curl_ev *m;
	struct xl_curl_ev_sock *next; /* free list */
};

/* Done transfers; the done callback may add or remove handles meanwhile. */
static void collect(struct xl_curl_ev *m)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->multi, &left))) {
		if (msg->msg == CURLMSG_DONE)
			m->done(msg->easy_handle, msg->data.result, m->arg);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xl_curl_ev_sock *s =
	    (struct xl_curl_ev_sock *)(void *)((char *)w -
					       offsetof(struct xl_curl_ev_sock,
							io));
	struct xl_curl_ev *m = s->m; /* s may be gone after socket_action */
	int action = 0, running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(m->multi, w->fd, action, &running);
	collect(m);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_curl_ev *m =
	    (struct xl_curl_ev *)(void *)((char *)w -
					  offsetof(struct xl_curl_ev, timer));
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(m);
}

/* CURLMOPT_TIMERFUNCTION: curl may not be called back from in here. */
static int curl_timer(CURLM *multi, long ms, void *arg)
{
	struct xl_curl_ev *m = arg;

	(void)multi;
	ev_timer_stop(m->loop, &m->timer);
	if (ms >= 0) {
		ev_timer_set(&m->timer, (ev_tstamp)ms / 1e3, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION */
static int curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
		       void *sockp)
{
	struct xl_curl_ev *m = arg;
	struct xl_curl_ev_sock *s = sockp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(m->loop, &s->io);
			curl_multi_assign(m->multi, fd, NULL);
			s->next = m->idle_socks;
			m->idle_socks = s;
		}
		return 0;
	}
	if (!s) {
		s = m->idle_socks;
		if (s)
			m->idle_socks = s->next;
		else if (!(s = malloc(sizeof(*s))))
			return -1;
		s->m = m;
		ev_init(&s->io, on_io);
		curl_multi_assign(m->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_stop(m->loop, &s->io);
	ev_io_set(&s->io, fd, events);
	ev_io_start(m->loop, &s->io);
	return 0;
}

int xl_curl_ev_init(struct xl_curl_ev *m, struct ev_loop *loop,
		    xl_curl_done_fn done, void *arg)
{
	m->loop = loop;
	m->done = done;
	m->arg = arg;
	m->idle_socks = NULL;
	m->multi = curl_multi_init();
	if (!m->multi)
		return -1;
	ev_init(&m->timer, on_timer);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, curl_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, curl_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	return 0;
}

void xl_curl_ev_fini(struct xl_curl_ev *m)
{
	struct xl_curl_ev_sock *s;

	if (!m->multi)
		return;
	curl_multi_cleanup(m->multi);
	m->multi = NULL;
	while ((s = m->idle_socks)) {
		m->idle_socks = s->next;
		free(s);
	}
	ev_timer_stop(m->loop, &m->timer);
}
