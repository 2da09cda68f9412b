/*
 * check.h - one health check of one real server, run on the libev loop.
 *
 * A probe is started, runs without ever blocking the loop (non-blocking
 * sockets, libcurl's multi-socket interface, a child process watched with
 * ev_child) and ends exactly once with a result through its done callback,
 * always called from the loop, never from inside xl_probe_start().  A probe
 * enforces its own timeout.  The health engine (health.c) decides what a
 * result means for the server's state; a check type only says what happened,
 * in words an operator can read.
 */
#ifndef EXTLB_CHECK_H
#define EXTLB_CHECK_H

#include "config.h"
#include "model.h"

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

enum xl_check_status {
	XL_CHECK_UP,
	XL_CHECK_DOWN,
	/* The check machinery failed (no memory, no file descriptors, fork
	 * failed): says nothing about the server and must not take it out. */
	XL_CHECK_ERROR,
};

struct xl_check_result {
	enum xl_check_status status;
	/* "tcp connect timeout after 500 ms", "connection refused",
	 * "http status 503, expected 200-299", "script exited with status 2" */
	char reason[192];
	double elapsed; /* seconds from start to result */
};

struct xl_probe;
typedef void (*xl_probe_done_fn)(struct xl_probe *p,
				 const struct xl_check_result *r);

/* Per-loop shared state of the check types (the curl multi handle). */
struct xl_checker;

/*
 * Script checks watch their child with ev_child, which libev supports on
 * its default loop only: on another loop they end in XL_CHECK_ERROR.
 * Cancel every probe before xl_checker_free().
 */
struct xl_checker *xl_checker_new(struct ev_loop *loop);
void xl_checker_free(struct xl_checker *ck);
/* Probes in flight (for tests and statistics). */
size_t xl_checker_running(const struct xl_checker *ck);

/*
 * One check in flight.  The owner fills cfg, target, done and data, and
 * embeds the struct in its own per-server state (recover it with
 * container_of in done).  The rest is the check types' private state.
 */
struct xl_probe {
	const struct xl_check_config *cfg;
	uint16_t af; /* the address and port actually checked: connect_ip */
	union xl_inaddr addr; /* and connect_port already applied */
	uint16_t port;
	xl_probe_done_fn done;
	void *data;

	/* private */
	struct xl_checker *ck;
	/* its type, as it was started: ends it whatever cfg says by then */
	const struct xl_check_ops *ops;
	bool running;
	int fd;
	pid_t pid;
	ev_io io;
	ev_timer timer;
	ev_child child;
	ev_tstamp started;
	void *priv; /* e.g. the curl easy handle and its buffers */
	size_t nread;
};

/*
 * Starts a check of type p->cfg->type against p->addr:p->port.  Returns 0
 * (done will be called later) or -errno when it could not even start (then
 * done is not called).  A probe of type "none" completes UP.
 */
int xl_probe_start(struct xl_checker *ck, struct xl_probe *p);
/* Stops a running probe; done is not called. Safe on an idle probe. */
void xl_probe_cancel(struct xl_probe *p);

/* The target the configuration says to check for a real server. */
void xl_probe_target(struct xl_probe *p, const struct xl_check_config *cfg,
		     const struct xl_dest *rs);

#endif
