/*
 * ctl.c - the control socket's clients: one JSON request a line, one JSON
 * reply a line, on the daemon's loop (the socket, accept and credentials
 * are ctl_listen.c's).
 *
 * Every client is a peer that may be hostile or merely slow, and the loop
 * also runs the health checks: nothing here ever waits.  A client has a
 * read buffer capped at the request size limit, one timer (the deadline of
 * the request it is expected to send, or of the write that must progress),
 * and an output buffer written as the socket takes it.  A reply must keep
 * moving (the write timeout runs from the last byte taken, as nginx's
 * send_timeout does) and must also be taken whole within the write timeout
 * plus a second per min_rate bytes: a client that takes a little now and
 * then, just often enough, would otherwise hold one of the few slots, and
 * its reply's memory, for ever.  While a reply is
 * being written the client's requests are not read (it cannot make the
 * daemon queue replies it does not read).  A connection serves requests
 * until the client closes it or stays silent for the read timeout.
 */
#include "autoconf.h"

#include "ctl.h"
#include "ctl_impl.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define JSON_DEPTH 16	 /* a request is a flat object; deeper is hostile */
#define READ_CHUNK 65536 /* bytes read at once */
#define KEEP_BUF 65536	 /* buffers above this are freed when idle */
#define PER_ITERATION 16 /* requests of one client per loop iteration */

struct client {
	struct xl_ctl *ctl;
	struct client *prev, *next;
	int fd;
	enum xl_ctl_access access;
	uid_t uid;
	pid_t pid;
	ev_io rio, wio;
	ev_timer timer;
	char *in;
	size_t inlen, incap;
	size_t scanned; /* of in, bytes known to hold no newline */
	char *out;
	size_t outlen, outpos;
	double wstart;	/* when the reply in out was first written, or 0 */
	size_t wsize;	/* its bytes then */
	bool wdeadline; /* the timer is the reply's deadline, not a stall's */
	bool eof;	/* the client sent all it will */
	bool closing;	/* close once out is written */
	void *job;	/* a reply being built in slices, and its ops */
	const struct xl_ctl_job_ops *jops;
	ev_timer jtw; /* the job's next slice, on the next iteration */
};

struct xl_ctl *xl_ctl_new(struct ev_loop *loop, struct xl_daemon *d,
			  const struct xl_ctl_cmd *cmds, size_t ncmds)
{
	struct xl_ctl *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->d = d;
	c->cmds = cmds;
	c->ncmds = ncmds;
	c->lim = (struct xl_ctl_limits){XL_CTL_MAX_REQUEST, XL_CTL_READ_TIMEOUT,
					XL_CTL_WRITE_TIMEOUT,
					XL_CTL_MAX_CLIENTS, XL_CTL_MIN_RATE};
	c->lfd = -1;
	return c;
}

void xl_ctl_set_limits(struct xl_ctl *c, const struct xl_ctl_limits *l)
{
	c->lim = *l;
}

size_t xl_ctl_nclients(const struct xl_ctl *c)
{
	return c->nclients;
}

const char *xl_ctl_path(const struct xl_ctl *c)
{
	return c->lfd >= 0 ? c->path : NULL;
}

/* ---- clients --------------------------------------------------------- */

static void client_close(struct client *cl)
{
	struct xl_ctl *c = cl->ctl;

	ev_io_stop(c->loop, &cl->rio);
	ev_io_stop(c->loop, &cl->wio);
	ev_timer_stop(c->loop, &cl->timer);
	ev_timer_stop(c->loop, &cl->jtw);
	if (cl->job)
		cl->jops->free(cl->job);
	close(cl->fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->nclients--;
	free(cl->in);
	free(cl->out);
	free(cl);
}

static void arm(struct client *cl, double secs)
{
	ev_timer_stop(cl->ctl->loop, &cl->timer);
	ev_timer_set(&cl->timer, secs, 0.);
	ev_timer_start(cl->ctl->loop, &cl->timer);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *cl = container_of(w, struct client, timer);

	(void)revents;
	if (cl->outlen && cl->wdeadline)
		xl_warn("control: client of uid %ld (pid %ld) dropped: it "
			"took %zu of its %zu-byte reply in %.1f s, slower than "
			"%zu bytes a second",
			(long)cl->uid, (long)cl->pid,
			cl->wsize - (cl->outlen - cl->outpos), cl->wsize,
			ev_now(loop) - cl->wstart, cl->ctl->lim.min_rate);
	else
		xl_debug("control: client (pid %ld) dropped: %s", (long)cl->pid,
			 cl->outlen ? "it does not read its reply"
				    : "no complete request in time");
	client_close(cl);
}

/* The reply's text (one line) queued; false when out of memory. */
static bool queue(struct client *cl, const char *s, size_t n)
{
	size_t need = cl->outlen + n + 1;
	char *p;

	if (need < n || !(p = realloc(cl->out, need)))
		return false;
	memcpy(p + cl->outlen, s, n);
	p[cl->outlen + n] = '\n';
	cl->out = p;
	cl->outlen = need;
	return true;
}

static bool queue_json(struct client *cl, struct json_object *o)
{
	size_t n;
	const char *s = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	return s && queue(cl, s, n);
}

/* An error reply; the connection closes after it when closing. */
static void reply_error(struct client *cl, const char *msg, bool closing)
{
	struct json_object *o = json_object_new_object();

	if (o) {
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "error", json_object_new_string(msg));
	}
	if (!o || !queue_json(cl, o))
		closing = true; /* no memory for a reply: none is sent */
	json_object_put(o);
	cl->closing |= closing;
}

static const struct xl_ctl_cmd *lookup(const struct xl_ctl *c, const char *name)
{
	for (size_t i = 0; i < c->ncmds; i++)
		if (!strcmp(c->cmds[i].name, name))
			return &c->cmds[i];
	return NULL;
}

/* "ping, status, ..." of the commands access allows (all: any). */
static void list_cmds(const struct xl_ctl *c, bool read_only, char *buf,
		      size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->ncmds && at < len; i++) {
		int n;

		if (read_only && !c->cmds[i].read_only)
			continue;
		n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
			     c->cmds[i].name);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

/* The request parsed: a JSON object with a string "cmd", or NULL with
 * err set. */
static struct json_object *parse(const char *line, size_t n, char *err,
				 size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *req;
	enum json_tokener_error je;
	size_t end;

	if (memchr(line, '\0', n)) {
		snprintf(err, errlen, "bad JSON: a NUL byte in the request");
		return NULL;
	}
	if (!(tok = json_tokener_new_ex(JSON_DEPTH))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	req = json_tokener_parse_ex(tok, line, (int)n);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (je == json_tokener_continue) {
		snprintf(err, errlen, "bad JSON: the request ends early");
		goto fail;
	}
	if (je != json_tokener_success) {
		snprintf(err, errlen, "bad JSON: %s",
			 json_tokener_error_desc(je));
		goto fail;
	}
	for (; end < n; end++)
		if (!strchr(" \t\r", line[end])) {
			snprintf(err, errlen,
				 "bad JSON: text after the request object");
			goto fail;
		}
	if (!json_object_is_type(req, json_type_object)) {
		snprintf(err, errlen,
			 "a request is a JSON object, such as "
			 "{\"cmd\":\"ping\"}");
		goto fail;
	}
	return req;
fail:
	json_object_put(req);
	return NULL;
}

static void process(struct client *cl);

/* A slice of the client's job; its reply queued once it is done. */
static void on_job(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *cl = container_of(w, struct client, jtw);
	char err[1024] = "", *buf;
	size_t at = 0, n = 0;
	int rc;

	(void)revents;
	if ((rc = cl->jops->step(cl->job, err, sizeof(err))) > 0)
		return;
	ev_timer_stop(loop, w);
	buf = rc ? NULL : cl->jops->take(cl->job, &at, &n);
	if (rc || !buf || !n) {
		free(buf);
		reply_error(cl, err[0] ? err : "failed", false);
	} else {
		/* the job's buffer becomes the output, which was empty (a job
		 * starts only once the reply before is written) */
		free(cl->out);
		cl->out = buf;
		cl->outpos = at;
		cl->outlen = at + n;
	}
	cl->jops->free(cl->job);
	cl->job = NULL;
	process(cl);
}

static void start_job(struct client *cl, const struct xl_ctl_job_ops *ops,
		      struct json_object *req)
{
	char err[1024] = "";

	if (!(cl->job = ops->start(cl->ctl->d, req, err, sizeof(err)))) {
		reply_error(cl, err[0] ? err : "failed", false);
		return;
	}
	cl->jops = ops;
	/* a short repeat: other watchers run between two slices */
	ev_timer_init(&cl->jtw, on_job, 0., 0.001);
	ev_timer_start(cl->ctl->loop, &cl->jtw);
}

/* The reply to one request line queued. */
static void handle(struct client *cl, const char *line, size_t n)
{
	struct xl_ctl *c = cl->ctl;
	struct json_object *req, *reply, *v;
	const struct xl_ctl_cmd *cmd;
	char err[1024] = "", known[512];
	const char *name;

	if (!(req = parse(line, n, err, sizeof(err)))) {
		reply_error(cl, err, false);
		return;
	}
	if (!json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		list_cmds(c, false, known, sizeof(known));
		snprintf(err, sizeof(err),
			 "the request has no \"cmd\" (a string: %s)", known);
		reply_error(cl, err, false);
		json_object_put(req);
		return;
	}
	name = json_object_get_string(v);
	if (!(cmd = lookup(c, name))) {
		list_cmds(c, false, known, sizeof(known));
		snprintf(err, sizeof(err),
			 "unknown command \"%.64s\" (known: %s)", name, known);
		reply_error(cl, err, false);
		json_object_put(req);
		return;
	}
	if (!cmd->read_only && cl->access != XL_CTL_FULL) {
		list_cmds(c, true, known, sizeof(known));
		snprintf(err, sizeof(err),
			 "permission denied: %s needs root (control_group "
			 "may run: %s)",
			 cmd->name, known);
		xl_warn("control: %s refused to uid %ld (pid %ld): read-only "
			"access",
			cmd->name, (long)cl->uid, (long)cl->pid);
		reply_error(cl, err, false);
		json_object_put(req);
		return;
	}
	if (!cmd->read_only)
		xl_info("control: %s by uid %ld (pid %ld)", cmd->name,
			(long)cl->uid, (long)cl->pid);
	if (cmd->job) {
		start_job(cl, cmd->job, req);
		json_object_put(req);
		return;
	}
	if (!(reply = json_object_new_object())) {
		reply_error(cl, "out of memory", false);
		json_object_put(req);
		return;
	}
	if (cmd->handler(c->d, req, reply, err, sizeof(err)) < 0) {
		json_object_object_add(reply, "ok", json_object_new_boolean(0));
		json_object_object_add(
		    reply, "error",
		    json_object_new_string(err[0] ? err : "failed"));
	} else {
		json_object_object_add(reply, "ok", json_object_new_boolean(1));
	}
	if (!queue_json(cl, reply))
		reply_error(cl, "out of memory", false);
	json_object_put(reply);
	json_object_put(req);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r", s[i]))
			return false;
	return true;
}

/*
 * As much of the reply written as the socket takes: 1 when all of it was
 * (the next request's deadline then starts), 0 when the rest waits for
 * the socket, -1 when the client is gone (closed and freed).
 */
static int flush(struct client *cl)
{
	struct xl_ctl *c = cl->ctl;
	size_t before = cl->outpos;
	bool writing = ev_is_active(&cl->wio);

	if (!cl->wstart) { /* a new reply: its deadline starts */
		cl->wstart = ev_now(c->loop);
		cl->wsize = cl->outlen - cl->outpos;
	}
	while (cl->outpos < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outpos,
				 cl->outlen - cl->outpos, MSG_NOSIGNAL);

		if (n > 0) {
			cl->outpos += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		client_close(cl); /* the client went away */
		return -1;
	}
	if (cl->outpos < cl->outlen) {
		/* no request is read while a reply waits */
		ev_io_stop(c->loop, &cl->rio);
		ev_io_start(c->loop, &cl->wio);
		/* the write's deadline: from the last byte taken, and never
		 * after the whole reply's */
		if (!writing || cl->outpos != before) {
			double left = c->lim.write_timeout;

			if (c->lim.min_rate) {
				double all =
				    c->lim.write_timeout +
				    (double)cl->wsize / (double)c->lim.min_rate;

				left = cl->wstart + all - ev_now(c->loop);
			}
			cl->wdeadline = left < c->lim.write_timeout;
			arm(cl, cl->wdeadline ? (left > 0 ? left : 0)
					      : c->lim.write_timeout);
		}
		return 0;
	}
	cl->wstart = 0;
	cl->wdeadline = false;
	ev_io_stop(c->loop, &cl->wio);
	if (cl->outlen > KEEP_BUF) {
		free(cl->out);
		cl->out = NULL;
	}
	cl->outlen = cl->outpos = 0;
	arm(cl, c->lim.read_timeout);
	return 1;
}

/* The line the buffer starts with, or NULL with the client told why
 * there is none when it will never come. */
static char *next_line(struct client *cl, size_t *n)
{
	/* a request sent a byte at a time is scanned once, not once a byte */
	char *nl = cl->inlen > cl->scanned ? memchr(cl->in + cl->scanned, '\n',
						    cl->inlen - cl->scanned)
					   : NULL;

	cl->scanned = nl ? 0 : cl->inlen;
	if (nl && (size_t)(nl - cl->in) <= cl->ctl->lim.max_request) {
		*n = (size_t)(nl - cl->in);
		return nl;
	}
	if (nl || cl->inlen > cl->ctl->lim.max_request)
		reply_error(cl, "request too large", true);
	else if (cl->eof && !blank(cl->in, cl->inlen))
		reply_error(cl, "incomplete request (no newline at its end)",
			    true);
	else if (cl->eof)
		cl->closing = true;
	return NULL;
}

/*
 * The requests read so far handled, one at a time: the next only once the
 * reply to the one before is written.  Then the watchers follow the
 * state: reading (with the request's deadline), writing (with the
 * write's) or closing.  A client that sent many requests at once is served
 * a few per loop iteration (the write watcher brings it back), so that
 * the loop goes on meanwhile.
 */
static void process(struct client *cl)
{
	struct xl_ctl *c = cl->ctl;

	for (int served = 0;; served++) {
		char *nl;
		size_t n;

		if (cl->job) { /* on_job comes back when the reply is made */
			ev_io_stop(c->loop, &cl->rio);
			ev_io_stop(c->loop, &cl->wio);
			ev_timer_stop(c->loop, &cl->timer);
			return;
		}
		if (cl->outlen) {
			int r = flush(cl);

			if (r <= 0)
				return;
		}
		if (cl->closing) {
			client_close(cl);
			return;
		}
		if (served == PER_ITERATION) {
			ev_io_stop(c->loop, &cl->rio);
			ev_io_start(c->loop, &cl->wio);
			return;
		}
		if (!(nl = next_line(cl, &n))) {
			if (cl->outlen || cl->closing)
				continue;
			break;
		}
		if (!blank(cl->in, n))
			handle(cl, cl->in, n);
		cl->inlen -= n + 1;
		memmove(cl->in, nl + 1, cl->inlen);
	}
	if (cl->incap > KEEP_BUF && cl->inlen < KEEP_BUF) {
		char *p = realloc(cl->in, KEEP_BUF);

		if (p) {
			cl->in = p;
			cl->incap = KEEP_BUF;
		}
	}
	ev_io_stop(c->loop, &cl->wio);
	if (!cl->eof)
		ev_io_start(c->loop, &cl->rio);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	process(container_of(w, struct client, wio));
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *cl = container_of(w, struct client, rio);
	size_t cap = cl->ctl->lim.max_request + 1, want;
	ssize_t n;

	(void)loop;
	(void)revents;
	/* never more than one byte beyond the limit: that says enough */
	if (cl->inlen >= cap) {
		process(cl);
		return;
	}
	want = cap - cl->inlen < READ_CHUNK ? cap - cl->inlen : READ_CHUNK;
	if (cl->incap - cl->inlen < want) {
		size_t ncap = cl->incap ? cl->incap * 2 : 4096;
		char *p;

		while (ncap - cl->inlen < want)
			ncap *= 2;
		if (ncap > cap)
			ncap = cap;
		if (!(p = realloc(cl->in, ncap))) {
			client_close(cl);
			return;
		}
		cl->in = p;
		cl->incap = ncap;
		if (cl->incap - cl->inlen < want)
			want = cl->incap - cl->inlen;
	}
	n = recv(cl->fd, cl->in + cl->inlen, want, 0);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		client_close(cl);
		return;
	}
	if (n == 0) {
		cl->eof = true;
		ev_io_stop(cl->ctl->loop, &cl->rio);
	}
	cl->inlen += (size_t)n;
	process(cl);
}

/* A line said to a client turned away at once, without a reply buffer:
 * a fresh socket's buffer takes it whole. */
static void turn_away(int fd, const char *msg)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":\"%s\"}\n",
			 msg);

	if (n > 0 && (size_t)n < sizeof(buf) &&
	    send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		xl_debug("control: %s", strerror(errno));
	close(fd);
}

int xl_ctl_add_client(struct xl_ctl *c, int fd, enum xl_ctl_access access)
{
	struct client *cl;
	struct ucred cr = {.pid = 0, .uid = (uid_t)-1};
	socklen_t len = sizeof(cr);

	if (access == XL_CTL_DENIED) {
		turn_away(fd, "permission denied: only root and members of "
			      "control_group may use the control socket");
		return -1;
	}
	if (c->nclients >= c->lim.max_clients) {
		turn_away(fd, "too many clients; try again");
		return -1;
	}
	if (!(cl = calloc(1, sizeof(*cl)))) {
		close(fd);
		return -1;
	}
	(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
	cl->ctl = c;
	cl->fd = fd;
	cl->access = access;
	cl->uid = cr.uid;
	cl->pid = cr.pid;
	ev_io_init(&cl->rio, on_read, fd, EV_READ);
	ev_io_init(&cl->wio, on_write, fd, EV_WRITE);
	ev_init(&cl->timer, on_timeout);
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->nclients++;
	arm(cl, c->lim.read_timeout);
	ev_io_start(c->loop, &cl->rio);
	return 0;
}

void xl_ctl_free(struct xl_ctl *c)
{
	if (!c)
		return;
	xl_ctl_close_listener(c);
	while (c->clients)
		client_close(c->clients);
	free(c);
}
