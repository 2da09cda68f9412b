/*
 * metrics.c - the Prometheus endpoint: GET /metrics over libmicrohttpd,
 * driven from the daemon's libev loop.
 *
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL, external
 * mode): its epoll descriptor is watched by an ev_io, and an ev_timer
 * follows MHD_get_timeout (connection timeouts, connections it still has
 * work for), each calling MHD_run.  So everything a scrape reads is read
 * on the loop, between other events, and nothing needs a lock.  The body
 * comes from a callback a block at a time (metrics_text.c); a slow client
 * only keeps its own scrape open, until the connection timeout.
 *
 * The listening socket is ours (bound here, handed to libmicrohttpd) so
 * that a failure says why in the words of errno; extlbd then goes on
 * without metrics.  A reload that changes metrics_listen rebinds.
 */
#include "metrics.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* body produced per callback: with 64 KiB, scrapes back to back cost a
 * check every 0.1 s 12-20% of its runs in the test VM, with 16 KiB none
 * (bench/metrics-run.sh) */
#define XL_METRICS_BLOCK (16 * 1024)
#define XL_METRICS_CONNS 8    /* clients at once */
#define XL_METRICS_TIMEOUT 30 /* seconds a client may be idle */

struct xl_metrics {
	struct ev_loop *loop;
	struct xl_metrics_source src;
	struct MHD_Daemon *mhd;
	char *listen; /* as the configuration says it */
	ev_io io;
	ev_timer timer;
};

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char buf[256];

	(void)arg;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	xl_debug("metrics: %s", buf);
}

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = xl_metrics_scrape_read(cls, buf, max);

	(void)pos;
	if (n < 0) {
		xl_info("metrics: a scrape ended early (the configuration was "
			"reloaded, or out of memory)");
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return n ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void body_free(void *cls)
{
	xl_metrics_scrape_free(cls);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct xl_metrics *m = cls;
	struct xl_metrics_scrape *s;
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)con_cls;
	*upload_size = 0; /* a body is not read, whatever the method */
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND,
			     "not found: the metrics are at /metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "method not allowed: GET /metrics\n");
	if (!(s = xl_metrics_scrape_new(&m->src)))
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "out of memory\n");
	r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, XL_METRICS_BLOCK, body_read, s, body_free);
	if (!r) {
		xl_metrics_scrape_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* After every MHD_run: when libmicrohttpd wants to run again. */
static void arm(struct xl_metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(m->loop, &m->timer);
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES) {
		ev_timer_set(&m->timer, (double)ms / 1e3, 0.);
		ev_timer_start(m->loop, &m->timer);
	}
}

/* Both watchers: libmicrohttpd's descriptor, and its timeout. */
static void on_event(struct ev_loop *loop, void *w, int revents)
{
	struct xl_metrics *m = ((ev_watcher *)w)->data;

	(void)loop;
	(void)revents;
	MHD_run(m->mhd);
	arm(m);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	on_event(loop, w, revents);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	on_event(loop, w, revents);
}

/* The socket of metrics_listen, bound and listening; -1 logged. */
static int listen_on(const struct xl_config *c)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;

	if (c->metrics_af == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(c->metrics_port);
		a->sin6_addr = c->metrics_addr.v6;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(c->metrics_port);
		a->sin_addr = c->metrics_addr.v4;
		len = sizeof(*a);
	}
	fd = socket(c->metrics_af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (c->metrics_af == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) <
		 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		xl_err("metrics_listen %s: %s; extlbd goes on without metrics",
		       c->metrics_listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct xl_metrics *start(struct ev_loop *loop,
				const struct xl_metrics_source *src)
{
	const struct xl_config *c = *src->cfg;
	struct xl_metrics *m = calloc(1, sizeof(*m));
	const union MHD_DaemonInfo *info;
	int fd;

	if (!m || !(m->listen = strdup(c->metrics_listen))) {
		xl_err("metrics_listen %s: out of memory", c->metrics_listen);
		free(m);
		return NULL;
	}
	m->loop = loop;
	m->src = *src;
	if ((fd = listen_on(c)) < 0)
		return m;
	m->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | (c->metrics_af == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
	    NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)XL_METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)XL_METRICS_TIMEOUT,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	info = m->mhd ? MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD)
		      : NULL;
	if (!info) {
		xl_err("metrics_listen %s: libmicrohttpd would not start; "
		       "extlbd goes on without metrics",
		       c->metrics_listen);
		if (m->mhd)
			MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		close(fd);
		return m;
	}
	ev_io_init(&m->io, on_io, info->epoll_fd, EV_READ);
	ev_init(&m->timer, on_timer);
	m->io.data = m->timer.data = m;
	ev_io_start(loop, &m->io);
	arm(m);
	xl_info("metrics: serving http://%s/metrics", c->metrics_listen);
	return m;
}

void xl_metrics_stop(struct xl_metrics *m)
{
	if (!m)
		return;
	if (m->mhd) {
		ev_io_stop(m->loop, &m->io);
		ev_timer_stop(m->loop, &m->timer);
		/* closes the listening socket it was given, and every
		 * connection (their scrapes freed by body_free) */
		MHD_stop_daemon(m->mhd);
	}
	free(m->listen);
	free(m);
}

void xl_metrics_follow(struct xl_metrics **m, struct ev_loop *loop,
		       const struct xl_metrics_source *src)
{
	const char *want = (*src->cfg)->metrics_listen;

	/* one that could not be bound is tried again */
	if (*m && (*m)->mhd && want && !strcmp((*m)->listen, want))
		return;
	if (*m && (*m)->mhd)
		xl_info("metrics: no longer serving %s", (*m)->listen);
	xl_metrics_stop(*m);
	*m = want ? start(loop, src) : NULL;
}
