/*
 * ctl.h - the control socket: a unix stream socket on the daemon's loop
 * that takes one JSON request a line and answers each with one JSON line.
 *
 * The server (ctl.c) knows nothing of what a command does: it accepts,
 * checks the peer's credentials, reads a line within a size and a time
 * limit, parses it with json-c, looks the "cmd" member up in a table of
 * struct xl_ctl_cmd and writes the reply as the socket takes it.  The
 * daemon's table (src/ctl_cmds.c) names its commands; a command is one
 * entry there.  A connection stays open for more requests until the
 * client closes it or stays silent for the read timeout.
 */
#ifndef EXTLB_CTL_H
#define EXTLB_CTL_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define XL_CONTROL_SOCKET_DEFAULT "/run/extlbd/control.sock"

struct json_object;
struct xl_daemon;
struct xl_ctl;

/*
 * One command.  The handler fills reply (an object; "ok" is the server's
 * to set) and returns 0, or returns -1 with a sentence in err: the reply
 * then says {"ok":false,"error":err} plus whatever the handler put in it
 * (the errors of a reload, for instance).  A member "exit" (an integer)
 * tells extlbctl its exit status: 1 when something is down or failed.
 */
typedef int (*xl_ctl_handler)(struct xl_daemon *d, struct json_object *req,
			      struct json_object *reply, char *err,
			      size_t errlen);

/*
 * A command whose reply grows with the table (status at 10,000 services)
 * is built over several loop iterations instead: start makes a job from
 * the request (NULL with err), step builds a slice of it (1: more to do,
 * 0: done, -1 with err: it cannot go on), take then hands the whole reply
 * over: one JSON line with its "\n" and its own "ok", at [*at, *at +
 * *len) of a malloc'ed buffer that the server sends as it is and frees
 * (a reply of tens of megabytes is never copied).  While a
 * job runs, its client's further requests wait, and so does the server's
 * look at the socket: a client that closed is found when its reply is
 * written (a half-closed one still wants it), and its job freed then, or
 * when the server stops.
 */
struct xl_ctl_job_ops {
	void *(*start)(struct xl_daemon *d, struct json_object *req, char *err,
		       size_t errlen);
	int (*step)(void *job, char *err, size_t errlen);
	char *(*take)(void *job, size_t *at, size_t *len);
	void (*free)(void *job);
};

struct xl_ctl_cmd {
	const char *name;
	bool read_only; /* control_group's members may run it */
	xl_ctl_handler handler;
	const struct xl_ctl_job_ops *job; /* instead of handler, when set */
};

/* What a peer may do: found from its credentials at accept. */
enum xl_ctl_access {
	XL_CTL_DENIED,
	XL_CTL_READ_ONLY,
	XL_CTL_FULL,
};

/* The limits a hostile client meets; tests shrink the times. */
struct xl_ctl_limits {
	size_t max_request;   /* bytes of one request line */
	double read_timeout;  /* for a whole request, from its first wait */
	double write_timeout; /* without the client taking a byte */
	size_t max_clients;   /* at once; more are told so and closed */
	/* bytes a second a reply is taken at, on average, at least: a reply
	 * of n bytes must be taken within write_timeout + n / min_rate
	 * seconds of its first write, however steadily (0: no such limit) */
	size_t min_rate;
};

#define XL_CTL_MAX_REQUEST (1 << 20)
#define XL_CTL_READ_TIMEOUT 10.
#define XL_CTL_WRITE_TIMEOUT 30.
#define XL_CTL_MAX_CLIENTS 64
#define XL_CTL_MIN_RATE (1u << 20)

/* A server without a socket yet; d is handed to every handler. */
struct xl_ctl *xl_ctl_new(struct ev_loop *loop, struct xl_daemon *d,
			  const struct xl_ctl_cmd *cmds, size_t ncmds);
/* Stops every watcher, closes every client and the socket (and removes
 * its file).  NULL is fine. */
void xl_ctl_free(struct xl_ctl *c);
void xl_ctl_set_limits(struct xl_ctl *c, const struct xl_ctl_limits *l);

/*
 * Listen at path: its directory made (0755) when missing, a stale socket
 * replaced, a live one (another extlbd) or anything that is not a socket
 * refused.  The file is root's, mode 0600, or 0660 and group gid when
 * has_group.  The socket it had before is closed once the new one
 * listens; path "" closes it.  0, or -1 with err set (the old socket
 * stays).
 */
int xl_ctl_listen(struct xl_ctl *c, const char *path, bool has_group, gid_t gid,
		  char *err, size_t errlen);
/* The path listened at, or NULL. */
const char *xl_ctl_path(const struct xl_ctl *c);

/*
 * The access of the peer of fd by SO_PEERCRED (and SO_PEERGROUPS): uid 0
 * full, a member of gid (when has_group) read-only, anyone else denied.
 */
enum xl_ctl_access xl_ctl_peer_access(int fd, bool has_group, gid_t gid);

/* A connected socket served as a client with that access (tests use a
 * socketpair; the listener calls it after the credential check).  The fd
 * is the server's from then on, also on failure.  0 or -1. */
int xl_ctl_add_client(struct xl_ctl *c, int fd, enum xl_ctl_access access);
/* Clients served now. */
size_t xl_ctl_nclients(const struct xl_ctl *c);

#endif
