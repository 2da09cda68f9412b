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
 * xl_probe_start().  check.c names no type: it reaches each through its
 * descriptor (check_types.h).
 */
#ifndef EXTLB_CHECK_IMPL_H
#define EXTLB_CHECK_IMPL_H

#include "check.h"
#include "check_types.h"
#include "util.h"

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

struct xl_checker {
	struct ev_loop *loop;
	size_t running;
	/* libev delivers child exits only on the default loop */
	bool default_loop;
	/* what a type keeps per checker (check_http.c: the curl multi
	 * handle), in its slot, freed by its fini; NULL until first needed */
	void *type_state[XL_CHECK_NTYPES];
};

/*
 * A deferred result carries an errno value (below 4096 on Linux) or a code
 * of the probe's type, from XL_E_TYPE up, which that type's reason() puts
 * in words.  Types number their codes independently: the probe's type
 * says whose a code is.
 */
#define XL_E_TYPE 4096

/* Ends a running probe: releases it, then calls done with this result. */
void xl_probe_finish(struct xl_probe *p, enum xl_check_status st,
		     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Ends a probe on the next loop iteration; code is an errno or the
 * type's own, from XL_E_TYPE. */
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
