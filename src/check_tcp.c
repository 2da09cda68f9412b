/*
 * check_tcp.c - the tcp check: can a connection be opened?
 *
 * A non-blocking connect() to the target, watched for writability; the
 * socket's pending error (SO_ERROR) says whether it worked.  This is the
 * check most servers get, at thousands per second on one core, so a probe
 * costs one socket, one ev_io, one timer and no allocation.  The socket is
 * closed with a reset as soon as the answer is known: a graceful close
 * would leave a TIME_WAIT socket behind for every check, and at that rate
 * they would use up the ephemeral ports towards a server.
 */
#include "check_impl.h"

#include <errno.h>
#include <sys/socket.h>

/* Its deferred result: loopback may accept at once. */
enum { TCP_E_CONNECTED = XL_E_TYPE };
static const char *const tcp_codes[] = {"connected"};

static void tcp_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, timer);

	(void)loop;
	(void)revents;
	xl_probe_finish(p, XL_CHECK_DOWN, "tcp connect timeout after %ld ms",
			xl_timeout_ms(p->cfg));
}

static void tcp_result(struct xl_probe *p, int err)
{
	char text[128];

	if (!err) {
		xl_probe_finish(p, XL_CHECK_UP, "connected");
		return;
	}
	xl_errno_text(err, text, sizeof(text));
	if (xl_errno_is_local(err))
		xl_probe_finish(p, XL_CHECK_ERROR,
				"tcp check could not run: %s", text);
	else
		xl_probe_finish(p, XL_CHECK_DOWN, "%s", text);
}

static void tcp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, io);
	int err = 0;
	socklen_t len = sizeof(err);

	(void)loop;
	(void)revents;
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	tcp_result(p, err);
}

static void tcp_start(struct xl_probe *p)
{
	static const struct linger rst = {.l_onoff = 1, .l_linger = 0};
	int err = xl_probe_connect(p, SOCK_STREAM);
	enum xl_check_status st = XL_CHECK_DOWN;

	if (p->fd < 0) {
		xl_probe_defer(p, XL_CHECK_ERROR, err);
		return;
	}
	/* best effort: without it the check still works, it only lingers */
	(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	if (err != EINPROGRESS) {
		/* loopback may answer at once; done still waits for the loop */
		if (!err)
			st = XL_CHECK_UP;
		else if (xl_errno_is_local(err))
			st = XL_CHECK_ERROR;
		xl_probe_defer(p, st, err ? err : TCP_E_CONNECTED);
		return;
	}
	ev_io_init(&p->io, tcp_io_cb, p->fd, EV_WRITE);
	ev_io_start(p->ck->loop, &p->io);
	xl_probe_arm_timeout(p, tcp_timeout_cb);
}

/* Nothing to set but the target and the timing every check has. */
const struct xl_check_ops xl_check_tcp = {
    .start = tcp_start,
    .codes = tcp_codes,
    .ncodes = XL_ARRAY_SIZE(tcp_codes),
};
