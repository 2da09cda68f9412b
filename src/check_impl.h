/*
 * check_impl.h - what the check types (check_*.c) share behind check.h.
 *
 * check.c owns the life of a probe: it starts the right type, arms the
 * timeout, and ends the probe through xl_probe_finish(), which releases
 * whatever the type left behind (socket, child, curl handle) before it calls
 * the owner's done callback, so the owner may start the probe again from
 * inside done.  A type's start function never fails: a failure that happens
 * before anything is in flight becomes a result delivered on the next loop
 * iteration (xl_probe_defer), since done must never run inside
 * xl_probe_start().
 */
#ifndef EXTLB_CHECK_IMPL_H
#define EXTLB_CHECK_IMPL_H

#include "check.h"
#include "util.h"

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>


/* At most this much of an HTTP body is kept to look for `expect`. */
#define XL_HTTP_BODY_MAX (64 * 1024)

struct xl_http;

struct xl_checker {
	struct ev_loop *loop;
	size_t running;
	/* libev delivers child exits only on the default loop */
	bool default_loop;
	struct xl_http *http; /* check_http.c: the curl multi handle, or NULL
			       * before the first http probe */
};

/*
 * Codes a deferred result can carry besides errno values; errno values stay
 * below 4096 on Linux.
 */
enum {
	XL_E_OK = 0,	     /* tcp: connected at once */
	XL_E_NOCHECK = 4096, /* type none */
	XL_E_NOUSER,	     /* script: cfg->user unknown */
	XL_E_NOCAPS,	     /* script: root without the capabilities */
	XL_E_NOLOOP,	     /* script: not the default loop */
	XL_E_NOCOMMAND,	     /* script: no command */
	XL_E_URL,	     /* http: URL too long */
	XL_E_CURL,	     /* http: libcurl refused the request */
	XL_E_NOCURL,	     /* http: libcurl could not be loaded */
	XL_E_UNREACHABLE,    /* udp: ICMP port unreachable */
};

/* Each type's start: sets up its watchers, or defers a result. */
void xl_tcp_start(struct xl_probe *p);
void xl_udp_start(struct xl_probe *p);
void xl_script_start(struct xl_probe *p);
void xl_http_start(struct xl_probe *p);

/* Type state that check.c cannot free alone (both idempotent). */
void xl_script_release(struct xl_probe *p);
void xl_http_release(struct xl_probe *p);

/* The curl multi handle of a checker, made by its first http probe. */
void xl_http_fini(struct xl_checker *ck);
/* The capabilities root lacks to run a script as its user (XL_E_NOCAPS),
 * space-separated; "" if none. */
const char *xl_script_missing_caps(void);
/* Why the last attempt to load libcurl failed (XL_E_NOCURL). */
const char *xl_http_nocurl_why(void);

/* Ends a running probe: releases it, then calls done with this result. */
void xl_probe_finish(struct xl_probe *p, enum xl_check_status st,
		     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a probe on the next loop iteration; code is an errno or XL_E_*. */
void xl_probe_defer(struct xl_probe *p, enum xl_check_status st, int code);
/* Starts p->timer for cfg->timeout with cb. */
void xl_probe_arm_timeout(struct xl_probe *p,
			  void (*cb)(struct ev_loop *, ev_timer *, int));

/* cfg->timeout in whole milliseconds, at least 1. */
long xl_timeout_ms(const struct xl_check_config *cfg);
/* "connection refused": strerror in lower case, as reasons read. */
const char *xl_errno_text(int err, char *buf, size_t len);
/* Errors of this host (no fds, no memory, no ports), not of the server. */
bool xl_errno_is_local(int err);
/* Fills ss with p->addr:p->port; returns its length, 0 for a bad af. */
socklen_t xl_probe_sockaddr(const struct xl_probe *p,
			    struct sockaddr_storage *ss);
/*
 * Opens a non-blocking, close-on-exec socket of `type` in p->fd and
 * connects it to the target: 0, EINPROGRESS, or the errno of socket() (then
 * p->fd is -1) or of connect().
 */
int xl_probe_connect(struct xl_probe *p, int type);

#endif
