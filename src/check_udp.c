/*
 * check_udp.c - the udp check: does the server answer a datagram?
 *
 * UDP has no handshake, so the check sends cfg->send (possibly nothing: an
 * empty datagram) and waits for any reply, which must contain cfg->expect
 * when that is set.  The socket is connect()ed, for two reasons: the kernel
 * then drops datagrams from anyone but the target, and an ICMP port
 * unreachable coming back is reported on the socket as ECONNREFUSED, which
 * tells a closed port from a silent one without waiting for the timeout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "check_impl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Its deferred result: the port was closed before anything was sent. */
enum { UDP_E_UNREACHABLE = XL_E_TYPE };
static const char *const udp_codes[] = {"udp port unreachable"};

/* Replies are searched for `expect` in their first bytes only. */
#define UDP_REPLY_MAX 4096

static void udp_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, timer);

	(void)loop;
	(void)revents;
	xl_probe_finish(p, XL_CHECK_DOWN, "udp no reply within %ld ms",
			xl_timeout_ms(p->cfg));
}

static void udp_error(struct xl_probe *p, int err)
{
	char text[128];

	if (err == ECONNREFUSED) {
		xl_probe_finish(p, XL_CHECK_DOWN, "udp port unreachable");
		return;
	}
	xl_errno_text(err, text, sizeof(text));
	if (xl_errno_is_local(err))
		xl_probe_finish(p, XL_CHECK_ERROR,
				"udp check could not run: %s", text);
	else
		xl_probe_finish(p, XL_CHECK_DOWN, "%s", text);
}

static void udp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, io);
	const char *expect = p->cfg->expect;
	char buf[UDP_REPLY_MAX];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(p->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		udp_error(p, errno);
		return;
	}
	if (expect && *expect &&
	    !memmem(buf, (size_t)n, expect, strlen(expect)))
		xl_probe_finish(p, XL_CHECK_DOWN,
				"udp reply does not contain \"%.64s\"", expect);
	else
		xl_probe_finish(p, XL_CHECK_UP, "udp reply received");
}

static void udp_start(struct xl_probe *p)
{
	const char *payload = p->cfg->send ? p->cfg->send : "";
	int err = xl_probe_connect(p, SOCK_DGRAM);

	if (p->fd < 0) {
		xl_probe_defer(p, XL_CHECK_ERROR, err);
		return;
	}
	if (!err && send(p->fd, payload, strlen(payload), 0) < 0)
		err = errno;
	if (err) {
		if (err == ECONNREFUSED)
			xl_probe_defer(p, XL_CHECK_DOWN, UDP_E_UNREACHABLE);
		else
			xl_probe_defer(p,
				       xl_errno_is_local(err) ? XL_CHECK_ERROR
							      : XL_CHECK_DOWN,
				       err);
		return;
	}
	ev_io_init(&p->io, udp_io_cb, p->fd, EV_READ);
	ev_io_start(p->ck->loop, &p->io);
	xl_probe_arm_timeout(p, udp_timeout_cb);
}

static const struct xl_check_key udp_keys[] = {
    {.name = "send",
     .kind = XL_KEY_STR,
     .off = offsetof(struct xl_check_config, send)},
    {.name = "expect",
     .kind = XL_KEY_STR,
     .off = offsetof(struct xl_check_config, expect)},
};

const struct xl_check_ops xl_check_udp = {
    .keys = udp_keys,
    .nkeys = XL_ARRAY_SIZE(udp_keys),
    .start = udp_start,
    .codes = udp_codes,
    .ncodes = XL_ARRAY_SIZE(udp_codes),
};
