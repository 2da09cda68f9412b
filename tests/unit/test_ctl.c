/*
 * test_ctl.c - the control socket's server against real sockets on a real
 * libev loop: requests and refusals, limits and timeouts, the hostile
 * clients of issue 16 (garbage, a megabyte, silence, a reader of one byte
 * at a time) and that nothing leaks over ten thousand of them.
 *
 * Clients are socketpairs handed to the server with the access the test
 * chooses (the listener's credential check is tested on its own, with a
 * real connect from a process of another uid).  Timeouts are a fraction
 * of a second here, and a reply's minimum rate 256 KiB/s; the daemon's are
 * 10 s and 30 s, and 1 MiB/s.
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <malloc.h>
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "logcap.h"

#define BIG_REPLY (1u << 20) /* several times a socket buffer */

static int reloads;
static char rbuf[1 << 16]; /* what reply_of read and has not returned */
static size_t rlen;
static int rfd = -1;

static int h_ping(struct xl_daemon *d, struct json_object *req,
		  struct json_object *reply, char *err, size_t errlen)
{
	(void)d;
	(void)req;
	(void)err;
	(void)errlen;
	json_object_object_add(reply, "pong", json_object_new_boolean(1));
	return 0;
}

static int h_reload(struct xl_daemon *d, struct json_object *req,
		    struct json_object *reply, char *err, size_t errlen)
{
	(void)d;
	(void)req;
	(void)reply;
	(void)err;
	(void)errlen;
	reloads++;
	return 0;
}

/* A failure with details: the handler's members stay in the reply. */
static int h_fail(struct xl_daemon *d, struct json_object *req,
		  struct json_object *reply, char *err, size_t errlen)
{
	struct json_object *a = json_object_new_array();

	(void)d;
	(void)req;
	json_object_array_add(a, json_object_new_string("f.conf:3: bad"));
	json_object_object_add(reply, "errors", a);
	snprintf(err, errlen, "f.conf is invalid");
	return -1;
}

static void fill(struct json_object *reply, size_t n)
{
	char *s = malloc(n);

	memset(s, 'x', n);
	json_object_object_add(reply, "data",
			       json_object_new_string_len(s, (int)n));
	free(s);
}

/* A reply far larger than a socket's buffer. */
static int h_big(struct xl_daemon *d, struct json_object *req,
		 struct json_object *reply, char *err, size_t errlen)
{
	(void)d;
	(void)req;
	(void)err;
	(void)errlen;
	fill(reply, BIG_REPLY);
	return 0;
}

/* Larger than a socket's buffer, and quick to make. */
static int h_mid(struct xl_daemon *d, struct json_object *req,
		 struct json_object *reply, char *err, size_t errlen)
{
	(void)d;
	(void)req;
	(void)err;
	(void)errlen;
	fill(reply, 512u << 10);
	return 0;
}

/* A reply built in slices: {"n":N} counts N steps, {"n":-1} fails at
 * the second step, {"n":0} cannot start. */
struct slow {
	int n, done;
	char text[64];
};
static int slow_started, slow_freed, ticks, ticks_at_step[8];

static void *slow_start(struct xl_daemon *d, struct json_object *req, char *err,
			size_t errlen)
{
	struct json_object *v;
	struct slow *j;

	(void)d;
	json_object_object_get_ex(req, "n", &v);
	if (!json_object_get_int(v)) {
		snprintf(err, errlen, "nothing to do");
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->n = json_object_get_int(v);
	slow_started++;
	return j;
}

static int slow_step(void *job, char *err, size_t errlen)
{
	struct slow *j = job;

	if (j->done < 8)
		ticks_at_step[j->done] = ticks;
	if (j->n < 0 && j->done++ == 1) {
		snprintf(err, errlen, "the configuration was reloaded");
		return -1;
	}
	if (j->n < 0)
		return 1;
	if (++j->done < j->n)
		return 1;
	snprintf(j->text, sizeof(j->text), "{\"ok\":true,\"steps\":%d}\n",
		 j->done);
	return 0;
}

/* Handed over with a few bytes before it, as status's is. */
static char *slow_take(void *job, size_t *at, size_t *len)
{
	struct slow *j = job;
	char *buf = malloc(8 + sizeof(j->text));

	assert_non_null(buf);
	memset(buf, '#', 8);
	memcpy(buf + 8, j->text, sizeof(j->text));
	*at = 8;
	*len = strlen(j->text);
	return buf;
}

static void slow_free(void *job)
{
	slow_freed++;
	free(job);
}

static const struct xl_ctl_job_ops slow_ops = {slow_start, slow_step, slow_take,
					       slow_free};

static const struct xl_ctl_cmd cmds[] = {
    {"ping", true, h_ping, NULL}, {"reload", false, h_reload, NULL},
    {"fail", true, h_fail, NULL}, {"big", true, h_big, NULL},
    {"mid", true, h_mid, NULL},	  {"slow", true, NULL, &slow_ops},
};

static const struct xl_ctl_limits fast = {
    .max_request = XL_CTL_MAX_REQUEST,
    .read_timeout = 0.2,
    .write_timeout = 0.3,
    .max_clients = 8,
    .min_rate = 256u << 10, /* "mid" must be read within 2.3 s */
};

struct fx {
	struct ev_loop *loop;
	struct xl_ctl *ctl;
	char dir[64];
};

static struct fx fx;

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.ctl = xl_ctl_new(fx.loop, NULL, cmds, sizeof(cmds) / sizeof(*cmds));
	xl_ctl_set_limits(fx.ctl, &fast);
	reloads = 0;
	rlen = 0;
	rfd = -1;
	fx.dir[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xl_ctl_free(fx.ctl);
	ev_loop_destroy(fx.loop);
	if (fx.dir[0]) {
		char p[128];

		snprintf(p, sizeof(p), "%s/sub/ctl.sock", fx.dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/sub", fx.dir);
		rmdir(p);
		rmdir(fx.dir);
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The loop run for secs at most; one iteration at a time. */
static void spin(double secs)
{
	double end = now() + secs;

	while (now() < end)
		ev_run(fx.loop, EVRUN_NOWAIT), usleep(1000);
}

/* A client of the server with that access; the test's end returned,
 * non-blocking. */
static int client(enum xl_ctl_access a)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX,
				    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0, sv),
			 0);
	xl_ctl_add_client(fx.ctl, sv[1], a);
	return sv[0];
}

static void say(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL),
			 (ssize_t)strlen(s));
}

/*
 * One reply line read while the loop runs (secs at most): the parsed
 * object, or NULL at EOF or timeout (*eof tells which).
 */
static struct json_object *reply_of(int fd, double secs, bool *eof)
{
	char *buf = rbuf, *nl;
	size_t n = rfd == fd ? rlen : 0;
	double end = now() + secs;
	struct json_object *o = NULL;

	rfd = fd;
	if (eof)
		*eof = false;
	for (;;) {
		ssize_t r;

		if ((nl = memchr(buf, '\n', n))) {
			*nl = '\0';
			o = json_tokener_parse(buf);
			n -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, n);
			assert_non_null(o);
			break;
		}
		if (now() > end)
			break;
		ev_run(fx.loop, EVRUN_NOWAIT);
		r = recv(fd, buf + n, sizeof(rbuf) - n - 1, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			if (eof)
				*eof = true;
			break;
		}
		if (r > 0)
			n += (size_t)r;
		else
			usleep(500);
	}
	rlen = n;
	return o;
}

static bool ok_of(struct json_object *o)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, "ok", &v));
	return json_object_get_boolean(v);
}

static const char *error_of(struct json_object *o)
{
	struct json_object *v;

	assert_false(ok_of(o));
	assert_true(json_object_object_get_ex(o, "error", &v));
	return json_object_get_string(v);
}

/* The error of the reply to line, on a fresh client; that client kept. */
static void expect_error(int fd, const char *line, const char *want)
{
	struct json_object *r;

	say(fd, line);
	assert_non_null(r = reply_of(fd, 2., NULL));
	if (!strstr(error_of(r), want))
		fail_msg("reply to %s: \"%s\", wanted \"%s\"", line,
			 error_of(r), want);
	json_object_put(r);
}

/* The server closed the connection (within secs). */
static void expect_closed(int fd, double secs)
{
	bool eof;

	assert_null(reply_of(fd, secs, &eof));
	assert_true(eof);
}

static void test_ping(void **state)
{
	struct json_object *r, *v;
	int fd = client(XL_CTL_FULL);

	(void)state;
	say(fd, "{\"cmd\":\"ping\"}\n");
	assert_non_null(r = reply_of(fd, 2., NULL));
	assert_true(ok_of(r));
	assert_true(json_object_object_get_ex(r, "pong", &v));
	json_object_put(r);
	/* the connection serves more requests, pipelined ones in order */
	say(fd,
	    "{\"cmd\":\"ping\"}\n\r\n{\"cmd\":\"nope\"}\n{\"cmd\":\"ping\"}\n");
	assert_non_null(r = reply_of(fd, 2., NULL));
	assert_true(ok_of(r));
	json_object_put(r);
	assert_non_null(r = reply_of(fd, 2., NULL));
	assert_non_null(strstr(error_of(r), "unknown command \"nope\""));
	assert_non_null(
	    strstr(error_of(r), "known: ping, reload, fail, big, mid, slow"));
	json_object_put(r);
	assert_non_null(r = reply_of(fd, 2., NULL));
	assert_true(ok_of(r));
	json_object_put(r);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 1);
	close(fd);
	spin(0.05);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
}

/* Bad requests get an error each, and the connection goes on. */
static void test_bad_requests(void **state)
{
	int fd = client(XL_CTL_FULL);
	char deep[400];

	(void)state;
	expect_error(fd, "hello\n", "bad JSON");
	expect_error(fd, "{\"cmd\":\"ping\"\n", "bad JSON: the request ends");
	expect_error(fd, "[1,2]\n", "a request is a JSON object");
	expect_error(fd, "\"ping\"\n", "a request is a JSON object");
	expect_error(fd, "{}\n", "no \"cmd\"");
	expect_error(fd, "{\"cmd\":7}\n", "no \"cmd\"");
	expect_error(fd, "{\"cmd\":\"ping\"} {\"cmd\":\"ping\"}\n",
		     "text after the request");
	expect_error(fd, "{\"cmd\":\"\x01\xff\"}\n", "unknown command");
	assert_int_equal(send(fd, "{\"cmd\":\"pi\0ng\"}\n", 16, 0), 16);
	{
		struct json_object *r = reply_of(fd, 2., NULL);

		assert_non_null(r);
		assert_non_null(strstr(error_of(r), "NUL byte"));
		json_object_put(r);
	}
	/* nesting beyond a request's depth */
	memset(deep, '[', 300);
	strcpy(deep + 300, "\n");
	expect_error(fd, deep, "bad JSON");
	/* a handler's failure keeps its details */
	say(fd, "{\"cmd\":\"fail\"}\n");
	{
		struct json_object *r = reply_of(fd, 2., NULL), *v;

		assert_string_equal(error_of(r), "f.conf is invalid");
		assert_true(json_object_object_get_ex(r, "errors", &v));
		assert_string_equal(
		    json_object_get_string(json_object_array_get_idx(v, 0)),
		    "f.conf:3: bad");
		json_object_put(r);
	}
	/* and after all that, still served */
	say(fd, "{\"cmd\":\"ping\"}\n");
	{
		struct json_object *r = reply_of(fd, 2., NULL);

		assert_true(ok_of(r));
		json_object_put(r);
	}
	close(fd);
}

static void test_read_only(void **state)
{
	int ro = client(XL_CTL_READ_ONLY), rw = client(XL_CTL_FULL);
	struct json_object *r;

	(void)state;
	expect_error(ro, "{\"cmd\":\"reload\"}\n",
		     "permission denied: reload needs root (control_group "
		     "may run: ping, fail, big, mid, slow)");
	assert_int_equal(reloads, 0);
	say(ro, "{\"cmd\":\"ping\"}\n");
	assert_non_null(r = reply_of(ro, 2., NULL));
	assert_true(ok_of(r));
	json_object_put(r);
	say(rw, "{\"cmd\":\"reload\"}\n");
	assert_non_null(r = reply_of(rw, 2., NULL));
	assert_true(ok_of(r));
	json_object_put(r);
	assert_int_equal(reloads, 1);
	close(ro);
	close(rw);
}

/* A peer without access is told so and closed; nothing is kept. */
static void test_denied(void **state)
{
	int fd = client(XL_CTL_DENIED);
	struct json_object *r;

	(void)state;
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
	assert_non_null(r = reply_of(fd, 1., NULL));
	assert_non_null(strstr(error_of(r), "permission denied"));
	json_object_put(r);
	expect_closed(fd, 1.);
	close(fd);
}

static void test_too_many(void **state)
{
	int fds[9];
	struct json_object *r;

	(void)state;
	for (int i = 0; i < 8; i++)
		fds[i] = client(XL_CTL_FULL);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 8);
	fds[8] = client(XL_CTL_FULL);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 8);
	assert_non_null(r = reply_of(fds[8], 1., NULL));
	assert_non_null(strstr(error_of(r), "too many clients"));
	json_object_put(r);
	expect_closed(fds[8], 1.);
	for (int i = 0; i < 9; i++)
		close(fds[i]);
	spin(0.05);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
}

/* A megabyte without a newline, and a line over a megabyte. */
static void test_megabyte(void **state)
{
	size_t len = XL_CTL_MAX_REQUEST + 100, at = 0;
	char *big = malloc(len);
	struct json_object *r;
	struct xl_ctl_limits roomy = fast;
	int fd, fd2;

	(void)state;
	/* sizes, not times, are tested: a megabyte may take valgrind on a
	 * busy machine longer than fast's 0.2 s to send */
	roomy.read_timeout = 30.;
	xl_ctl_set_limits(fx.ctl, &roomy);
	fd = client(XL_CTL_FULL);
	fd2 = client(XL_CTL_FULL);
	memset(big, 'a', len);
	while (at < len) {
		ssize_t n = send(fd, big + at, len - at, MSG_NOSIGNAL);

		if (n > 0)
			at += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			ev_run(fx.loop, EVRUN_NOWAIT);
		else
			break; /* closed by the server: it said enough */
	}
	assert_non_null(r = reply_of(fd, 10., NULL));
	assert_string_equal(error_of(r), "request too large");
	json_object_put(r);
	expect_closed(fd, 1.);
	close(fd);
	/* exactly at the limit, with its newline: a (bad) request, not too
	 * large; one byte more is */
	big[XL_CTL_MAX_REQUEST] = '\n';
	for (at = 0; at <= XL_CTL_MAX_REQUEST;) {
		ssize_t n = send(fd2, big + at, XL_CTL_MAX_REQUEST + 1 - at,
				 MSG_NOSIGNAL);

		if (n > 0)
			at += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			ev_run(fx.loop, EVRUN_NOWAIT);
		else
			fail_msg("send: %s", strerror(errno));
	}
	assert_non_null(r = reply_of(fd2, 10., NULL));
	assert_non_null(strstr(error_of(r), "bad JSON"));
	json_object_put(r);
	close(fd2);
	free(big);
	spin(0.05);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
}

/* Silence, half a request, and a trickle are all dropped in time. */
static void test_read_timeout(void **state)
{
	int silent = client(XL_CTL_FULL), half = client(XL_CTL_FULL),
	    trickle = client(XL_CTL_FULL);
	double t0 = now(), end;
	const char *req = "{\"cmd\":\"ping\"}";
	size_t i = 0;
	bool eof;

	(void)state;
	say(half, "{\"cmd\":");
	/* a byte every 20 ms: still not a request within the deadline */
	while (now() - t0 < 0.6 && xl_ctl_nclients(fx.ctl)) {
		if (send(trickle, req + i % strlen(req), 1, MSG_NOSIGNAL) == 1)
			i++;
		spin(0.02);
	}
	end = now();
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
	assert_true(end - t0 >= 0.19);
	assert_true(end - t0 < 0.5);
	/* dropped: no reply, the connection closed */
	assert_null(reply_of(silent, 0.1, &eof));
	assert_true(eof);
	expect_closed(half, 0.1);
	close(silent);
	close(half);
	close(trickle);
}

/* The last request without its newline, then the end of the stream. */
static void test_eof_midway(void **state)
{
	int fd = client(XL_CTL_FULL);
	struct json_object *r;

	(void)state;
	say(fd, "{\"cmd\":\"ping\"}\n{\"cmd\":\"ping\"}");
	shutdown(fd, SHUT_WR);
	assert_non_null(r = reply_of(fd, 1., NULL));
	assert_true(ok_of(r));
	json_object_put(r);
	assert_non_null(r = reply_of(fd, 1., NULL));
	assert_non_null(strstr(error_of(r), "incomplete request"));
	json_object_put(r);
	expect_closed(fd, 1.);
	close(fd);
}

/*
 * A reader of one byte at a time is dropped when the write makes no
 * progress for the write timeout, and the loop serves another client
 * meanwhile as if it were not there.
 */
static void test_slow_reader(void **state)
{
	int slow = client(XL_CTL_FULL), other;
	double t0 = now(), worst = 0;
	int served = 0;
	char c;

	(void)state;
	say(slow, "{\"cmd\":\"big\"}\n");
	spin(0.01);
	t0 = now(); /* the reply is made: its write starts */
	other = client(XL_CTL_FULL);
	while (xl_ctl_nclients(fx.ctl) > 1 && now() - t0 < 10.) {
		double t = now();
		struct json_object *r;

		(void)!recv(slow, &c, 1, 0);
		say(other, "{\"cmd\":\"ping\"}\n");
		assert_non_null(r = reply_of(other, 5., NULL));
		assert_true(ok_of(r));
		json_object_put(r);
		served++;
		if (now() - t > worst)
			worst = now() - t;
		usleep(20000);
	}
	assert_int_equal(xl_ctl_nclients(fx.ctl), 1); /* other's */
	/* margins for valgrind on a loaded machine: the drop comes 0.3 s
	 * after the last progress, a ping takes milliseconds */
	assert_true(now() - t0 < 5.);
	assert_true(served >= 3);
	assert_true(worst < 0.5);
	close(slow);
	close(other);
}

static double drip_took;
static size_t drip_read;

/*
 * A reader of 2 KiB every 50 ms (40 KiB/s) whose write never stalls for
 * the write timeout (0.3 s), yet 512 KiB at 256 KiB/s must be taken within
 * 0.3 + 2 s.  The server's end has the smallest send buffer: the kernel
 * frees a unix socket's buffer a whole packet at a time (half the buffer),
 * so 2 KiB taken frees room for the write every 100 ms here; with the
 * default buffer the same is a packet every 29 s against the daemon's 30.
 */
static void drip(void)
{
	int sv[2], small = 4096;
	char buf[2048];
	double t0;
	int fd;

	assert_int_equal(socketpair(AF_UNIX,
				    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0, sv),
			 0);
	assert_int_equal(
	    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	xl_ctl_add_client(fx.ctl, sv[1], XL_CTL_READ_ONLY);
	fd = sv[0];

	drip_read = 0;
	t0 = now(); /* before the reply's first write, whatever the load */
	say(fd, "{\"cmd\":\"mid\"}\n");
	while (xl_ctl_nclients(fx.ctl) && now() - t0 < 10.) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r > 0)
			drip_read += (size_t)r;
		spin(0.05);
	}
	drip_took = now() - t0;
	close(fd);
}

/*
 * A client that takes just enough of its reply to keep the write moving is
 * dropped once its reply is overdue at the minimum rate, and the log
 * names it; one that keeps up is not (test_big_reply).
 */
static void test_slow_steady_reader(void **state)
{
	struct logcap cap = logcap_start();
	const char *log;

	(void)state;
	drip();
	log = logcap_end(&cap);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
	/* not before the deadline; margins for valgrind after it */
	if (drip_took < 2.25 || drip_took > 6.)
		fail_msg("dropped after %.2f s, wanted 2.3 s", drip_took);
	assert_true(drip_read < (512u << 10));
	if (!strstr(log, "dropped: it took") ||
	    !strstr(log, "-byte reply in ") ||
	    !strstr(log, "slower than 262144 bytes a second"))
		fail_msg("the log: %s", log);
	{
		char want[64];

		snprintf(want, sizeof(want), "client of uid %ld (pid %ld)",
			 (long)geteuid(), (long)getpid());
		if (!strstr(log, want))
			fail_msg("no \"%s\" in the log: %s", want, log);
	}
}

/* A reader that keeps up gets the whole big reply, however large (the
 * minimum rate gives it 4.3 s here), and is served on. */
static void test_big_reply(void **state)
{
	int fd = client(XL_CTL_FULL);
	char *buf = malloc(BIG_REPLY + 64);
	size_t n = 0;
	double end = now() + 20.;

	(void)state;
	say(fd, "{\"cmd\":\"big\"}\n");
	while (now() < end && (!n || buf[n - 1] != '\n')) {
		ssize_t r;

		ev_run(fx.loop, EVRUN_NOWAIT);
		r = recv(fd, buf + n, BIG_REPLY + 63 - n, 0);
		if (r > 0)
			n += (size_t)r;
	}
	if (n <= BIG_REPLY)
		fail_msg("%zu bytes: %.200s", n, buf);
	assert_int_equal(buf[n - 1], '\n');
	/* and served on */
	assert_int_equal(xl_ctl_nclients(fx.ctl), 1);
	{
		struct json_object *r;

		say(fd, "{\"cmd\":\"ping\"}\n");
		assert_non_null(r = reply_of(fd, 2., NULL));
		assert_true(ok_of(r));
		json_object_put(r);
	}
	close(fd);
	free(buf);
}

static size_t fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static size_t heap_used(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	return mallinfo2().uordblks;
#else
	return 0;
#endif
}

/*
 * 10,000 hostile clients, fifty at a time: garbage, too large, silent,
 * half a request then gone, a big reply never read, denied.  After them
 * the server holds no client, and the process as many descriptors and
 * as much heap as after the first batch.
 */
static void test_ten_thousand(void **state)
{
	static const struct xl_ctl_limits quick = {
	    .max_request = 4096,
	    .read_timeout = 0.01,
	    .write_timeout = 0.01,
	    .max_clients = 64,
	};
	char huge[5000];
	size_t fds0 = 0, heap0 = 0;
	int total = 0;

	(void)state;
	xl_ctl_set_limits(fx.ctl, &quick);
	memset(huge, 'z', sizeof(huge));
	for (int batch = 0; total < 10000; batch++) {
		int fd[50];

		for (int i = 0; i < 50; i++, total++) {
			int kind = total % 6;

			fd[i] = client(kind == 5 ? XL_CTL_DENIED
						 : XL_CTL_READ_ONLY);
			if (kind == 0)
				say(fd[i], "garbage \x01\x02\n");
			else if (kind == 1)
				(void)!send(fd[i], huge, sizeof(huge),
					    MSG_NOSIGNAL);
			else if (kind == 3)
				say(fd[i], "{\"cmd\":\"pi");
			else if (kind == 4)
				say(fd[i], "{\"cmd\":\"mid\"}\n");
			if (kind == 3) {
				close(fd[i]);
				fd[i] = -1;
			}
		}
		for (double end = now() + 2.;
		     xl_ctl_nclients(fx.ctl) && now() < end;)
			ev_run(fx.loop, EVRUN_NOWAIT), usleep(200);
		assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
		for (int i = 0; i < 50; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		if (batch == 0) {
			fds0 = fds_open();
			heap0 = heap_used();
		}
	}
	assert_int_equal(fds_open(), fds0);
	/* the heap as after the first batch, give or take allocator noise */
	assert_true(heap_used() <= heap0 + 65536);
}

/* ---- the listening socket -------------------------------------------- */

static void make_dir(void)
{
	strcpy(fx.dir, "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	chmod(fx.dir, 0755);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void test_listen(void **state)
{
	char path[128], err[256] = "";
	struct json_object *r;
	struct stat st;
	int fd;

	(void)state;
	make_dir();
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", fx.dir);
	assert_int_equal(
	    xl_ctl_listen(fx.ctl, path, false, 0, err, sizeof(err)), 0);
	/* the directory made 0755, the socket 0600 and ours */
	snprintf(err, sizeof(err), "%s/sub", fx.dir);
	assert_int_equal(stat(err, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	/* a real connection: the credential check lets root (us) in */
	assert_true((fd = connect_to(path)) >= 0);
	say(fd, "{\"cmd\":\"reload\"}\n");
	assert_non_null(r = reply_of(fd, 2., NULL));
	assert_true(geteuid() == 0 ? ok_of(r) : !ok_of(r));
	json_object_put(r);
	close(fd);
	/* the group: 0660 and that group */
	assert_int_equal(
	    xl_ctl_listen(fx.ctl, path, true, getegid(), err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, getegid());
	/* a second server refuses a live socket, and leaves it alone */
	{
		struct xl_ctl *two = xl_ctl_new(fx.loop, NULL, cmds, 1);

		err[0] = '\0';
		assert_int_equal(
		    xl_ctl_listen(two, path, false, 0, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "is in use"));
		xl_ctl_free(two);
		assert_int_equal(lstat(path, &st), 0);
	}
	/* "" closes it and removes the file */
	assert_int_equal(xl_ctl_listen(fx.ctl, "", false, 0, err, sizeof(err)),
			 0);
	assert_int_equal(lstat(path, &st), -1);
	assert_null(xl_ctl_path(fx.ctl));
}

static void test_listen_refusals(void **state)
{
	char path[128], err[256] = "";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	(void)state;
	make_dir();
	snprintf(path, sizeof(path), "%s/sub", fx.dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", fx.dir);
	/* a file that is not a socket is never replaced */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_int_equal(
	    xl_ctl_listen(fx.ctl, path, false, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
	/* a stale socket (nobody listens) is */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(
	    xl_ctl_listen(fx.ctl, path, false, 0, err, sizeof(err)), 0);
	assert_true((fd = connect_to(path)) >= 0);
	close(fd);
	/* too long for sun_path */
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp));
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(
		    xl_ctl_listen(fx.ctl, longp, false, 0, err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "longer than"));
	}
	/* the socket that listened before stays */
	assert_string_equal(xl_ctl_path(fx.ctl), path);
}

/*
 * The credential check with real peers of another uid: a process that
 * drops to uid 1000 (primary group, or supplementary group, the control
 * group's; or neither) and connects.
 */
static enum xl_ctl_access access_of(const char *path, gid_t gid, gid_t primary,
				    gid_t supp, bool has_group)
{
	int lfd, cfd, afd, p[2], q[2], st;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	enum xl_ctl_access a;
	pid_t pid;
	char c;

	/* non-blocking: a child that could not connect fails the test */
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	chmod(path, 0666);
	assert_int_equal(listen(lfd, 4), 0);
	/* p: the child has connected; q: the parent has looked */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	if ((pid = fork()) == 0) {
		gid_t g = supp;

		close(p[0]);
		close(q[1]);
		if (setgroups(supp ? 1 : 0, &g) < 0 || setgid(primary) < 0 ||
		    setuid(1000) < 0)
			_exit(2);
		cfd = connect_to(path);
		(void)!write(p[1], "x", 1);
		(void)!read(q[0], &c, 1);
		_exit(cfd >= 0 ? 0 : 3);
	}
	close(p[1]);
	close(q[0]);
	if (read(p[0], &c, 1) != 1) {
		waitpid(pid, &st, 0);
		fail_msg("the child of uid 1000 failed: exit %d",
			 WEXITSTATUS(st));
	}
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	a = xl_ctl_peer_access(afd, has_group, gid);
	(void)!write(q[1], "y", 1);
	waitpid(pid, &st, 0); /* (its status: memcheck's, under valgrind) */
	close(afd);
	close(lfd);
	close(p[0]);
	close(q[1]);
	unlink(path);
	return a;
}

static void test_peer_credentials(void **state)
{
	char path[128];

	(void)state;
	if (geteuid() != 0)
		skip();
	make_dir();
	snprintf(path, sizeof(path), "%s/peer.sock", fx.dir);
	/* root is let in, group or not */
	{
		int sv[2];

		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		assert_int_equal(xl_ctl_peer_access(sv[0], false, 0),
				 XL_CTL_FULL);
		close(sv[0]);
		close(sv[1]);
	}
	assert_int_equal(access_of(path, 4242, 4242, 0, true),
			 XL_CTL_READ_ONLY);
	assert_int_equal(access_of(path, 4242, 100, 4242, true),
			 XL_CTL_READ_ONLY);
	assert_int_equal(access_of(path, 4242, 100, 4243, true), XL_CTL_DENIED);
	/* without control_group, only root */
	assert_int_equal(access_of(path, 4242, 4242, 4242, false),
			 XL_CTL_DENIED);
}

/* An always readable pipe: its watcher runs in every loop iteration, after
 * the timers of that iteration (libev invokes what it queued last first),
 * so whatever the machine's speed it runs once between two slices that
 * come in two iterations, and never between two of one iteration. */
static void on_tick(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	ticks++;
}

/* A reply in slices: the loop runs other watchers between them, the
 * client's next request waits for it, a failure is an error reply, and a
 * client gone ends the job. */
static void test_job(void **state)
{
	int fd = client(XL_CTL_READ_ONLY);
	struct json_object *r, *v;
	ev_io tick;
	int p[2];

	(void)state;
	ticks = slow_started = slow_freed = 0;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	ev_io_init(&tick, on_tick, p[0], EV_READ);
	ev_io_start(fx.loop, &tick);
	say(fd, "{\"cmd\":\"slow\",\"n\":5}\n{\"cmd\":\"ping\"}\n");
	assert_non_null(r = reply_of(fd, 5., NULL));
	assert_true(ok_of(r));
	assert_true(json_object_object_get_ex(r, "steps", &v));
	assert_int_equal(json_object_get_int(v), 5);
	json_object_put(r);
	for (int i = 1; i < 5; i++)
		if (ticks_at_step[i] <= ticks_at_step[i - 1])
			fail_msg(
			    "no other watcher ran between slices %d and %d",
			    i - 1, i);
	ev_io_stop(fx.loop, &tick); /* the loop may sleep again */
	close(p[0]);
	close(p[1]);
	assert_non_null(r = reply_of(fd, 2., NULL));
	assert_true(json_object_object_get_ex(r, "pong", &v));
	json_object_put(r);
	expect_error(fd, "{\"cmd\":\"slow\",\"n\":0}\n", "nothing to do");
	expect_error(fd, "{\"cmd\":\"slow\",\"n\":-1}\n",
		     "the configuration was reloaded");
	assert_int_equal(slow_freed, slow_started);
	/* gone while its reply is being built: a half-closed client still
	 * waits for it, so the job ends, then the write finds it gone */
	say(fd, "{\"cmd\":\"slow\",\"n\":20}\n");
	spin(0.005);
	assert_int_equal(slow_started, 3);
	close(fd);
	spin(0.5);
	assert_int_equal(xl_ctl_nclients(fx.ctl), 0);
	assert_int_equal(slow_freed, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_megabyte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eof_midway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_steady_reader, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_big_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ten_thousand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_refusals, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_peer_credentials, setup,
					    teardown),
	};

	if (getenv("XL_TEST_FILTER")) /* one test: XL_TEST_FILTER=test_ping */
		cmocka_set_test_filter(getenv("XL_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
