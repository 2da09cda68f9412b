/*
 * check.c - the life of a probe, whatever its type.
 *
 * xl_probe_start() resets a probe's private state and hands it to its type,
 * found in the registry (check_types.h).  Every probe ends in
 * xl_probe_finish(), which stops all of its watchers, closes its socket,
 * has its type give back the rest (curl handle, child), and only then
 * calls done: the owner may restart the probe from done, and a cancelled
 * probe leaves nothing behind.  Results known at once (a type that checks
 * nothing, connect() refused at once, no file descriptors) are delivered
 * by a zero timer, so done never runs inside xl_probe_start(), and put in
 * words by their type.  The few helpers the types share (reason text,
 * timeouts, addresses) are here too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "check_impl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xl_checker *xl_checker_new(struct ev_loop *loop)
{
	struct xl_checker *ck = calloc(1, sizeof(*ck));

	if (!ck)
		return NULL;
	ck->loop = loop;
	ck->default_loop = ev_is_default_loop(loop);
	return ck;
}

/* Every probe must have ended or been cancelled before. */
void xl_checker_free(struct xl_checker *ck)
{
	if (!ck)
		return;
	for (size_t t = 0; t < XL_CHECK_NTYPES; t++)
		if (xl_check_ops(t)->fini)
			xl_check_ops(t)->fini(ck);
	free(ck);
}

size_t xl_checker_running(const struct xl_checker *ck)
{
	return ck->running;
}

void xl_probe_target(struct xl_probe *p, const struct xl_check_config *cfg,
		     const struct xl_dest *rs)
{
	p->cfg = cfg;
	if (cfg->has_connect_ip) {
		p->af = cfg->connect_af;
		p->addr = cfg->connect_ip;
	} else {
		p->af = rs->af;
		p->addr = rs->addr;
	}
	p->port =
	    cfg->connect_port >= 0 ? (uint16_t)cfg->connect_port : rs->port;
}

/* Stops and frees whatever a probe holds; safe to call twice. */
static void probe_release(struct xl_probe *p)
{
	struct ev_loop *loop = p->ck->loop;

	ev_io_stop(loop, &p->io);
	ev_timer_stop(loop, &p->timer);
	if (p->ops->release)
		p->ops->release(p);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

static void probe_end(struct xl_probe *p)
{
	probe_release(p);
	p->running = false;
	p->ck->running--;
}

void xl_probe_finish(struct xl_probe *p, enum xl_check_status st,
		     const char *fmt, ...)
{
	struct xl_check_result r;
	va_list ap;

	/* The reason may point into state that probe_end() releases. */
	r.status = st;
	va_start(ap, fmt);
	vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
	va_end(ap);
	r.elapsed = ev_now(p->ck->loop) - p->started;
	if (r.elapsed < 0)
		r.elapsed = 0;
	probe_end(p);
	p->done(p, &r);
}

int xl_probe_start(struct xl_checker *ck, struct xl_probe *p)
{
	const struct xl_check_ops *ops;

	if (!ck || !p || !p->cfg || !p->done)
		return -EINVAL;
	if (p->running)
		return -EBUSY;
	ops = xl_check_ops(p->cfg->type);
	if (!ops)
		return -EINVAL;

	/* The engine reuses probes: nothing of a previous run survives. */
	p->ck = ck;
	p->ops = ops;
	p->fd = -1;
	p->pid = 0;
	p->priv = NULL;
	p->nread = 0;
	ev_init(&p->io, NULL);
	ev_init(&p->timer, NULL);
	ev_init(&p->child, NULL);
	/*
	 * Timeouts count from the loop's idea of now, which is stale after a
	 * long callback (a reload parsing a big file): a probe started then
	 * would time out early and take a healthy server down.
	 */
	ev_now_update(ck->loop);
	p->started = ev_now(ck->loop);
	p->running = true;
	ck->running++;
	ops->start(p);
	return 0;
}

void xl_probe_cancel(struct xl_probe *p)
{
	if (!p || !p->running)
		return;
	probe_end(p);
}

/* ---- deferred results -------------------------------------------------- */

static void deferred_reason(const struct xl_probe *p, enum xl_check_status st,
			    int code, char *buf, size_t len)
{
	const char *type = xl_check_type_name(p->cfg->type);
	const struct xl_check_ops *ops = p->ops;
	char e[128];

	if (code >= XL_E_TYPE && ops->reason) {
		ops->reason(p, code, buf, len);
		return;
	}
	if (code >= XL_E_TYPE && (size_t)(code - XL_E_TYPE) < ops->ncodes) {
		snprintf(buf, len, "%s", ops->codes[code - XL_E_TYPE]);
		return;
	}
	xl_errno_text(code, e, sizeof(e));
	if (st == XL_CHECK_ERROR)
		snprintf(buf, len, "%s check could not run: %s", type, e);
	else
		snprintf(buf, len, "%s", e);
}

static void deferred_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, timer);
	enum xl_check_status st = (enum xl_check_status)(p->nread >> 16);
	char reason[sizeof(((struct xl_check_result *)0)->reason)];

	(void)loop;
	(void)revents;
	deferred_reason(p, st, (int)(p->nread & 0xffff), reason,
			sizeof(reason));
	xl_probe_finish(p, st, "%s", reason);
}

/*
 * The result travels in p->nread, which no type uses before it has
 * something in flight: a deferred probe needs no memory of its own.
 */
void xl_probe_defer(struct xl_probe *p, enum xl_check_status st, int code)
{
	struct ev_loop *loop = p->ck->loop;

	ev_io_stop(loop, &p->io);
	ev_timer_stop(loop, &p->timer);
	p->nread = ((size_t)st << 16) | ((unsigned)code & 0xffff);
	ev_timer_init(&p->timer, deferred_cb, 0., 0.);
	ev_timer_start(loop, &p->timer);
}

/* ---- shared helpers ---------------------------------------------------- */

long xl_timeout_ms(const struct xl_check_config *cfg)
{
	long ms = (long)(cfg->timeout * 1000.0 + 0.5);

	return ms > 0 ? ms : 1;
}

void xl_probe_arm_timeout(struct xl_probe *p,
			  void (*cb)(struct ev_loop *, ev_timer *, int))
{
	ev_timer_init(&p->timer, cb, (ev_tstamp)xl_timeout_ms(p->cfg) / 1e3,
		      0.);
	ev_timer_start(p->ck->loop, &p->timer);
}

const char *xl_errno_text(int err, char *buf, size_t len)
{
	char tmp[128];
	const char *s = strerror_r(err, tmp, sizeof(tmp));

	snprintf(buf, len, "%s", s);
	/* "Connection refused" reads oddly in the middle of a log line */
	if (len && isupper((unsigned char)buf[0]) &&
	    !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

bool xl_errno_is_local(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
	case EAGAIN:
	case EADDRNOTAVAIL: /* no ephemeral port left */
	case EADDRINUSE:
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
		return true;
	default:
		return false;
	}
}

socklen_t xl_probe_sockaddr(const struct xl_probe *p,
			    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (p->af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(p->port);
		sin->sin_addr = p->addr.v4;
		return sizeof(*sin);
	}
	if (p->af == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p->port);
		sin6->sin6_addr = p->addr.v6;
		return sizeof(*sin6);
	}
	return 0;
}

int xl_probe_connect(struct xl_probe *p, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = xl_probe_sockaddr(p, &ss);

	if (!len)
		return EAFNOSUPPORT;
	p->fd = socket(p->af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return errno;
	if (connect(p->fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	/* an interrupted non-blocking connect goes on in the background */
	return errno == EINTR ? EINPROGRESS : errno;
}
