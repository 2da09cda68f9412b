/*
 * fuzz_ctl.c - libFuzzer target: whatever a client of the control socket
 * sends (ctl.c's line splitting, json-c's parse, the request checks, the
 * command lookup and the access rule), through a real socketpair on a
 * real libev loop.
 *
 * The first byte chooses the client's access; the rest is sent whole, then
 * the client's side of the stream is shut.  The server must answer each
 * request with one JSON object holding a boolean "ok" and then close the
 * connection; a sanitizer finding, a reply that is not such an object, or
 * a client left behind is a failure.
 */
#include "ctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int h_echo(struct xl_daemon *d, struct json_object *req,
		  struct json_object *reply, char *err, size_t errlen)
{
	struct json_object *v;

	(void)d;
	if (!json_object_object_get_ex(req, "service", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "the request has no \"service\"");
		return -1;
	}
	json_object_object_add(reply, "service", json_object_get(v));
	return 0;
}

static int h_ok(struct xl_daemon *d, struct json_object *req,
		struct json_object *reply, char *err, size_t errlen)
{
	(void)d;
	(void)req;
	(void)reply;
	(void)err;
	(void)errlen;
	return 0;
}

static const struct xl_ctl_cmd cmds[] = {
    {"status", true, h_echo, NULL},
    {"reload", false, h_ok, NULL},
};

static struct ev_loop *loop;
static struct xl_ctl *ctl;

static void check_line(const char *s, size_t n)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, s, (int)n), *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		fprintf(stderr, "not a reply: %.*s\n", (int)n, s);
		abort();
	}
	json_object_put(o);
	json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 20];
	size_t at = 1, got = 0, start = 0;
	int sv[2];

	if (!loop) {
		struct xl_ctl_limits l = {4096, 5., 5., 4};

		signal(SIGPIPE, SIG_IGN);
		loop = ev_loop_new(EVFLAG_AUTO);
		ctl = xl_ctl_new(loop, NULL, cmds, sizeof(cmds) / sizeof(*cmds));
		xl_ctl_set_limits(ctl, &l);
	}
	if (!size ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	xl_ctl_add_client(ctl, sv[1],
			  data[0] & 1 ? XL_CTL_FULL : XL_CTL_READ_ONLY);
	/* send it all, reading replies meanwhile; then the end of it */
	for (bool shut = false; xl_ctl_nclients(ctl);) {
		ssize_t n;

		if (at < size) {
			n = send(sv[0], data + at, size - at, MSG_NOSIGNAL);
			if (n > 0)
				at += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				at = size; /* closed by the server */
		} else if (!shut) {
			shutdown(sv[0], SHUT_WR);
			shut = true;
		}
		ev_run(loop, EVRUN_NOWAIT);
		n = recv(sv[0], out + got, sizeof(out) - got, 0);
		if (n > 0)
			got += (size_t)n;
		if (got == sizeof(out)) /* whole lines checked, the rest kept */
			abort();
		for (char *nl; (nl = memchr(out + start, '\n', got - start));
		     start = (size_t)(nl - out) + 1)
			check_line(out + start, (size_t)(nl - out) - start);
		memmove(out, out + start, got - start);
		got -= start;
		start = 0;
	}
	if (got) { /* a reply without its newline */
		fprintf(stderr, "a reply cut short: %.*s\n", (int)got, out);
		abort();
	}
	close(sv[0]);
	return 0;
}
