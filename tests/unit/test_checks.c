/*
 * test_checks.c - cmocka tests of the check types against real listeners.
 *
 * Every server a check talks to is made here, on 127.0.0.1 or ::1 only: a
 * listening socket the loop drains (tcp), a listening socket whose accept
 * queue is full so that connect() hangs (tcp timeout), a small HTTP(S)
 * server in a thread whose answers each test chooses and which records
 * what it was asked (method, path, Host, SNI), a UDP responder in a thread,
 * and shell commands.  The TLS test CA and server certificate are made
 * with the openssl command in a temporary directory at start.  The probes
 * run on libev's default loop (script checks need it), driven until their
 * done callbacks fire, with a safety timeout so that a lost callback fails
 * a test instead of hanging it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "curl_dl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static struct ev_loop *loop;
static struct xl_checker *ck;
static char tmpdir[256];
static char ca_file[300];
static bool have_v6;

/* ---- probes and the loop ----------------------------------------------- */

struct tprobe {
	struct xl_probe p;
	struct xl_check_result r;
	int ndone;
	int restarts; /* start again from done this many times */
};

static int outstanding;

static void tp_done(struct xl_probe *p, const struct xl_check_result *r)
{
	struct tprobe *t = container_of(p, struct tprobe, p);

	t->r = *r;
	t->ndone++;
	if (getenv("XL_TEST_VERBOSE"))
		fprintf(stderr, "  %s: %d \"%s\" %.3f s\n",
			xl_check_type_name(p->cfg->type), r->status, r->reason,
			r->elapsed);
	if (t->restarts > 0) {
		t->restarts--;
		assert_int_equal(xl_probe_start(ck, p), 0);
		return;
	}
	outstanding--;
}

static void wake_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

/* Runs the loop until every started probe is done, or `secs` pass. */
static void run_until_done(double secs)
{
	ev_timer safety;
	double end;

	ev_now_update(loop);
	end = ev_now(loop) + secs;
	ev_timer_init(&safety, wake_cb, secs, 0.);
	ev_timer_start(loop, &safety);
	while (outstanding > 0 && ev_now(loop) < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &safety);
}

static void run_for(double secs)
{
	ev_timer t;
	double end;

	ev_now_update(loop);
	end = ev_now(loop) + secs;
	ev_timer_init(&t, wake_cb, secs, 0.);
	ev_timer_start(loop, &t);
	while (ev_now(loop) < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
}

static struct xl_check_config cfg_make(enum xl_check_type type, double tmo)
{
	struct xl_check_config c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.interval = 1.0;
	c.timeout = tmo;
	c.rise = c.fall = 1;
	c.connect_port = -1;
	c.method = (char *)"GET";
	c.path = (char *)"/";
	c.user = (char *)"nobody";
	c.tls_verify = true;
	return c;
}

static void dest_make(struct xl_dest *rs, int af, uint16_t port)
{
	memset(rs, 0, sizeof(*rs));
	rs->af = (uint16_t)af;
	inet_pton(af, af == AF_INET ? "127.0.0.1" : "::1", &rs->addr);
	rs->port = port;
}

static void tp_start(struct tprobe *t, const struct xl_check_config *cfg,
		     int af, uint16_t port)
{
	struct xl_dest rs;

	memset(t, 0, sizeof(*t));
	dest_make(&rs, af, port);
	xl_probe_target(&t->p, cfg, &rs);
	t->p.done = tp_done;
	assert_int_equal(xl_probe_start(ck, &t->p), 0);
	/* done never runs inside xl_probe_start() */
	assert_int_equal(t->ndone, 0);
	outstanding++;
}

/* One probe, run to its end. */
static void run_one(struct tprobe *t, const struct xl_check_config *cfg, int af,
		    uint16_t port)
{
	tp_start(t, cfg, af, port);
	run_until_done(cfg->timeout + 10);
	assert_int_equal(t->ndone, 1);
	assert_int_equal(xl_checker_running(ck), 0);
}

#define assert_result(t, st, text)                                             \
	do {                                                                   \
		if ((t)->r.status != (st) || strcmp((t)->r.reason, (text)))    \
			print_error("got %d \"%s\"\n", (t)->r.status,          \
				    (t)->r.reason);                            \
		assert_int_equal((t)->r.status, (st));                         \
		assert_string_equal((t)->r.reason, (text));                    \
	} while (0)

static void skip_without_v6(void)
{
	if (!have_v6)
		skip();
}

/* ---- sockets ----------------------------------------------------------- */

static int sock_bound(int af, int type, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(af, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
		len = sizeof(*s);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int listener(int af, int backlog, uint16_t *port)
{
	int fd = sock_bound(af, SOCK_STREAM, port);

	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

/* A port nothing listens on: bound, noted, closed. */
static uint16_t closed_port(int af, int type)
{
	uint16_t port;

	close(sock_bound(af, type, &port));
	return port;
}

/* A listener the loop accepts from and closes at once. */
struct acceptor {
	ev_io io;
	int fd;
	uint16_t port;
	int naccepted;
};

static void acceptor_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct acceptor *a = container_of(w, struct acceptor, io);
	int c;

	(void)l;
	(void)revents;
	while ((c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		a->naccepted++;
		close(c);
	}
}

static void acceptor_open(struct acceptor *a, int af)
{
	memset(a, 0, sizeof(*a));
	a->fd = listener(af, 1024, &a->port);
	fcntl(a->fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&a->io, acceptor_cb, a->fd, EV_READ);
	ev_io_start(loop, &a->io);
}

static void acceptor_close(struct acceptor *a)
{
	ev_io_stop(loop, &a->io);
	close(a->fd);
}

/*
 * A listener whose accept queue is full: with a backlog of 0 the kernel
 * queues one connection, nobody accepts it, and from then on it drops
 * every SYN, so a connect() stays in SYN_SENT until its caller gives up.
 * Fillers are connected until one of them hangs that way.
 */
struct blackhole {
	int lfd;
	uint16_t port;
	int fillers[8];
	int nfillers;
};

static void blackhole_open(struct blackhole *b, int af)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(b, 0, sizeof(*b));
	b->lfd = listener(af, 0, &b->port);
	assert_int_equal(getsockname(b->lfd, (struct sockaddr *)&ss, &len), 0);
	while (b->nfillers < (int)ARRAY_SIZE(b->fillers)) {
		int fd =
		    socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd pf = {.fd = fd, .events = POLLOUT};

		assert_true(fd >= 0);
		b->fillers[b->nfillers++] = fd;
		if (connect(fd, (struct sockaddr *)&ss, len) == 0)
			continue;
		assert_int_equal(errno, EINPROGRESS);
		if (poll(&pf, 1, 300) == 0)
			return; /* this one hangs: the queue is full */
	}
	fail_msg("could not fill the accept queue");
}

static void blackhole_close(struct blackhole *b)
{
	for (int i = 0; i < b->nfillers; i++)
		close(b->fillers[i]);
	close(b->lfd);
}

/* ---- HTTP(S) test server ----------------------------------------------- */

enum hmode { H_ANSWER, H_HANG, H_CLOSE };

struct hsrv {
	int lfd;
	uint16_t port;
	int stop[2];
	pthread_t th;
	SSL_CTX *tls;
	/* what to answer */
	enum hmode mode;
	int status;
	const char *body; /* NULL: big_len bytes of 'x' */
	size_t big_len;
	/* what the server saw (read after hsrv_stop) */
	int nreq;
	char method[16], path[128], host[128], sni[128];
	size_t sent;
	bool cut; /* the client went away before the end of the body */
};

static ssize_t hs_read(int fd, SSL *ssl, char *buf, size_t len)
{
	if (ssl) {
		int n = SSL_read(ssl, buf, (int)len);

		return n > 0 ? n : -1;
	}
	return read(fd, buf, len);
}

static bool hs_write(int fd, SSL *ssl, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = ssl ? SSL_write(ssl, buf, (int)len)
				: send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void hs_parse(struct hsrv *s, const char *req)
{
	const char *h = strcasestr(req, "\r\nHost:");

	sscanf(req, "%15s %127s", s->method, s->path);
	if (h) {
		h += 7;
		while (*h == ' ')
			h++;
		snprintf(s->host, sizeof(s->host), "%.*s",
			 (int)strcspn(h, "\r"), h);
	}
}

static void hs_body(struct hsrv *s, int fd, SSL *ssl)
{
	char chunk[16384];
	size_t left = s->big_len;

	if (s->body) {
		if (hs_write(fd, ssl, s->body, strlen(s->body)))
			s->sent += strlen(s->body);
		else
			s->cut = true;
		return;
	}
	memset(chunk, 'x', sizeof(chunk));
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		if (!hs_write(fd, ssl, chunk, n)) {
			s->cut = true;
			return;
		}
		s->sent += n;
		left -= n;
	}
}

static void hs_answer(struct hsrv *s, int fd, SSL *ssl)
{
	char head[256];
	size_t blen = s->body ? strlen(s->body) : s->big_len;

	if (s->mode == H_HANG) {
		struct pollfd pf = {.fd = s->stop[0], .events = POLLIN};

		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
		return;
	}
	if (s->mode == H_CLOSE)
		return;
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d Test\r\nContent-Length: %zu\r\n"
		 "Content-Type: text/plain\r\nConnection: close\r\n\r\n",
		 s->status, blen);
	if (!hs_write(fd, ssl, head, strlen(head)))
		return;
	if (strcmp(s->method, "HEAD"))
		hs_body(s, fd, ssl);
}

static void hs_conn(struct hsrv *s, int fd)
{
	struct timeval tv = {.tv_sec = 5};
	char req[8192];
	size_t len = 0;
	SSL *ssl = NULL;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (s->tls) {
		const char *sni;

		ssl = SSL_new(s->tls);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) <= 0)
			goto out;
		sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
		snprintf(s->sni, sizeof(s->sni), "%s", sni ? sni : "");
	}
	while (len < sizeof(req) - 1 &&
	       (n = hs_read(fd, ssl, req + len, sizeof(req) - 1 - len)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	if (!strstr(req, "\r\n\r\n"))
		goto out;
	hs_parse(s, req);
	s->nreq++;
	hs_answer(s, fd, ssl);
out:
	if (ssl)
		SSL_free(ssl);
	ERR_clear_error();
}

static void *hs_main(void *arg)
{
	struct hsrv *s = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = s->lfd, .events = POLLIN},
				       {.fd = s->stop[0], .events = POLLIN}};
		int c;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		c = accept(s->lfd, NULL, NULL);
		if (c < 0)
			continue;
		hs_conn(s, c);
		close(c);
	}
	return NULL;
}

static SSL_CTX *tls_server_ctx(void)
{
	char path[300];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_non_null(ctx);
	snprintf(path, sizeof(path), "%s/srv.pem", tmpdir);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, path), 1);
	snprintf(path, sizeof(path), "%s/srv.key", tmpdir);
	assert_int_equal(
	    SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
	return ctx;
}

static struct hsrv *hsrv_start(int af, bool tls, int status, const char *body)
{
	struct hsrv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->lfd = listener(af, 128, &s->port);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	s->status = status;
	s->body = body;
	if (tls)
		s->tls = tls_server_ctx();
	assert_int_equal(pthread_create(&s->th, NULL, hs_main, s), 0);
	return s;
}

static void hsrv_stop(struct hsrv *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	close(s->stop[0]);
	close(s->stop[1]);
	close(s->lfd);
	if (s->tls)
		SSL_CTX_free(s->tls);
}

/* ---- UDP test responder ------------------------------------------------ */

enum umode { U_ECHO, U_SILENT, U_WRONG };

struct usrv {
	int fd;
	uint16_t port;
	int stop[2];
	pthread_t th;
	enum umode mode;
	int nreq;
	ssize_t last_len;
};

static void *us_main(void *arg)
{
	struct usrv *s = arg;
	char buf[2048], out[2100];

	for (;;) {
		struct pollfd pf[2] = {{.fd = s->fd, .events = POLLIN},
				       {.fd = s->stop[0], .events = POLLIN}};
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;
		int m;

		if (poll(pf, 2, -1) < 0 && errno == EINTR)
			continue;
		if (pf[1].revents)
			break;
		n = recvfrom(s->fd, buf, sizeof(buf) - 1, 0,
			     (struct sockaddr *)&from, &flen);
		if (n < 0)
			continue;
		s->nreq++;
		s->last_len = n;
		if (s->mode == U_SILENT)
			continue;
		m = snprintf(out, sizeof(out), "%s%.*s",
			     s->mode == U_ECHO ? "pong:" : "nope:", (int)n,
			     buf);
		sendto(s->fd, out, (size_t)m, 0, (struct sockaddr *)&from,
		       flen);
	}
	return NULL;
}

static struct usrv *usrv_start(int af, enum umode mode)
{
	struct usrv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->fd = sock_bound(af, SOCK_DGRAM, &s->port);
	s->mode = mode;
	s->last_len = -1;
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&s->th, NULL, us_main, s), 0);
	return s;
}

static void usrv_stop(struct usrv *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	close(s->stop[0]);
	close(s->stop[1]);
	close(s->fd);
}

/* ---- tcp --------------------------------------------------------------- */

static void tcp_up(int af)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 1.0);
	struct acceptor a;
	struct tprobe t;

	acceptor_open(&a, af);
	run_one(&t, &cfg, af, a.port);
	assert_result(&t, XL_CHECK_UP, "connected");
	assert_true(t.r.elapsed >= 0 && t.r.elapsed < 1.0);
	acceptor_close(&a);
}

static void test_tcp_up(void **state)
{
	(void)state;
	tcp_up(AF_INET);
}

static void test_tcp_up_v6(void **state)
{
	(void)state;
	skip_without_v6();
	tcp_up(AF_INET6);
}

static void test_tcp_refused(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 1.0);
	struct tprobe t;

	(void)state;
	run_one(&t, &cfg, AF_INET, closed_port(AF_INET, SOCK_STREAM));
	assert_result(&t, XL_CHECK_DOWN, "connection refused");
}

static void test_tcp_timeout(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 0.3);
	struct blackhole b;
	struct tprobe t;
	double t0;

	(void)state;
	blackhole_open(&b, AF_INET);
	t0 = ev_time();
	run_one(&t, &cfg, AF_INET, b.port);
	assert_result(&t, XL_CHECK_DOWN, "tcp connect timeout after 300 ms");
	assert_true(ev_time() - t0 >= 0.29 && ev_time() - t0 < 1.5);
	assert_true(t.r.elapsed >= 0.29 && t.r.elapsed < 1.5);
	blackhole_close(&b);
}

/* connect_ip and connect_port replace the real server's address. */
static void test_tcp_connect_target(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 1.0);
	int af = have_v6 ? AF_INET6 : AF_INET;
	struct acceptor a;
	struct tprobe t;

	(void)state;
	acceptor_open(&a, af);
	cfg.has_connect_ip = true;
	cfg.connect_af = (uint16_t)af;
	inet_pton(af, af == AF_INET ? "127.0.0.1" : "::1", &cfg.connect_ip);
	cfg.connect_port = a.port;
	/* the real server itself is a closed port */
	run_one(&t, &cfg, AF_INET, closed_port(AF_INET, SOCK_STREAM));
	assert_int_equal(t.p.af, af);
	assert_int_equal(t.p.port, a.port);
	assert_result(&t, XL_CHECK_UP, "connected");
	assert_int_equal(a.naccepted, 1);
	acceptor_close(&a);
}

static void test_probe_target(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 1.0);
	struct xl_probe p;
	struct xl_dest rs;

	(void)state;
	memset(&p, 0, sizeof(p));
	dest_make(&rs, AF_INET, 8080);
	xl_probe_target(&p, &cfg, &rs);
	assert_ptr_equal(p.cfg, &cfg);
	assert_int_equal(p.af, AF_INET);
	assert_memory_equal(&p.addr.v4, &rs.addr.v4, 4);
	assert_int_equal(p.port, 8080);

	cfg.connect_port = 0; /* 0 is a port, -1 is "the real server's" */
	xl_probe_target(&p, &cfg, &rs);
	assert_int_equal(p.port, 0);

	cfg.has_connect_ip = true;
	cfg.connect_af = AF_INET6;
	inet_pton(AF_INET6, "::1", &cfg.connect_ip);
	cfg.connect_port = 9;
	xl_probe_target(&p, &cfg, &rs);
	assert_int_equal(p.af, AF_INET6);
	assert_memory_equal(&p.addr.v6, &in6addr_loopback, 16);
	assert_int_equal(p.port, 9);
}

static void test_tcp_many(void **state)
{
	enum { N = 500 };
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 5.0);
	struct tprobe *t = calloc(N, sizeof(*t));
	struct acceptor a;
	int up = 0;

	(void)state;
	assert_non_null(t);
	acceptor_open(&a, AF_INET);
	for (int i = 0; i < N; i++)
		tp_start(&t[i], &cfg, AF_INET, a.port);
	assert_int_equal(xl_checker_running(ck), N);
	run_until_done(20);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].ndone, 1);
		up += t[i].r.status == XL_CHECK_UP;
	}
	assert_int_equal(up, N);
	assert_int_equal(xl_checker_running(ck), 0);
	acceptor_close(&a);
	free(t);
}

/* While thousands of checks time out together, the loop keeps answering. */
struct watchdog {
	ev_timer tick;	    /* every 50 ms: how late did it run? */
	ev_timer kick;	    /* raises SIGUSR1 in the middle of it all */
	ev_signal usr1;
	double last, worst; /* tick lateness, seconds */
	double raised, answered;
};

static void wd_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	struct watchdog *d = container_of(w, struct watchdog, tick);
	double now = ev_time();

	(void)l;
	(void)revents;
	if (d->last && now - d->last - 0.05 > d->worst)
		d->worst = now - d->last - 0.05;
	d->last = now;
}

static void wd_kick(struct ev_loop *l, ev_timer *w, int revents)
{
	struct watchdog *d = container_of(w, struct watchdog, kick);

	(void)l;
	(void)revents;
	d->raised = ev_time();
	raise(SIGUSR1);
}

static void wd_usr1(struct ev_loop *l, ev_signal *w, int revents)
{
	struct watchdog *d = container_of(w, struct watchdog, usr1);

	(void)l;
	(void)revents;
	d->answered = ev_time();
}

static void test_many_timeouts_loop_answers(void **state)
{
	enum { NTCP = 2000, NUDP = 500 };
	struct xl_check_config tcp = cfg_make(XL_CHECK_TCP, 1.0);
	struct xl_check_config udp = cfg_make(XL_CHECK_UDP, 1.0);
	struct tprobe *t = calloc(NTCP + NUDP, sizeof(*t));
	struct usrv *u = usrv_start(AF_INET, U_SILENT);
	struct rlimit rl, old;
	struct watchdog d = {0};
	struct blackhole b;
	double t0, slowest = 0;

	(void)state;
	assert_non_null(t);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	if (rl.rlim_cur < NTCP + NUDP + 256)
		rl.rlim_cur = rl.rlim_max < NTCP + NUDP + 256
				  ? rl.rlim_max
				  : NTCP + NUDP + 256;
	if (rl.rlim_cur < NTCP + NUDP + 64) {
		print_message("  skipped: only %lu file descriptors\n",
			      (unsigned long)rl.rlim_max);
		usrv_stop(u);
		free(u);
		free(t);
		skip();
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	udp.send = (char *)"ping";
	blackhole_open(&b, AF_INET);
	ev_timer_init(&d.tick, wd_tick, 0.05, 0.05);
	ev_timer_init(&d.kick, wd_kick, 0.5, 0.);
	ev_signal_init(&d.usr1, wd_usr1, SIGUSR1);
	ev_timer_start(loop, &d.tick);
	ev_timer_start(loop, &d.kick);
	ev_signal_start(loop, &d.usr1);
	t0 = ev_time();
	for (int i = 0; i < NTCP; i++)
		tp_start(&t[i], &tcp, AF_INET, b.port);
	for (int i = 0; i < NUDP; i++)
		tp_start(&t[NTCP + i], &udp, AF_INET, u->port);
	assert_int_equal(xl_checker_running(ck), NTCP + NUDP);
	run_until_done(20);
	ev_timer_stop(loop, &d.tick);
	ev_timer_stop(loop, &d.kick);
	ev_signal_stop(loop, &d.usr1);
	for (int i = 0; i < NTCP + NUDP; i++) {
		assert_int_equal(t[i].ndone, 1);
		assert_int_equal(t[i].r.status, XL_CHECK_DOWN);
		if (t[i].r.elapsed > slowest)
			slowest = t[i].r.elapsed;
	}
	assert_string_equal(t[0].r.reason, "tcp connect timeout after 1000 ms");
	assert_string_equal(t[NTCP].r.reason, "udp no reply within 1000 ms");
	print_message("  %d checks timed out together in %.2f s (slowest %.2f "
		      "s); SIGUSR1 answered after %.1f ms; timer late by at "
		      "most %.1f ms\n",
		      NTCP + NUDP, ev_time() - t0, slowest,
		      (d.answered - d.raised) * 1e3, d.worst * 1e3);
	/* each one on time, the signal and the timers answered meanwhile */
	assert_true(slowest < 1.5);
	assert_true(d.raised > 0 && d.answered >= d.raised);
	assert_true(d.answered - d.raised < 0.2);
	assert_true(d.worst < 0.25);
	assert_int_equal(xl_checker_running(ck), 0);
	blackhole_close(&b);
	usrv_stop(u);
	free(u);
	free(t);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/* The engine restarts a probe from its done callback. */
static void test_restart_from_done(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 1.0);
	struct acceptor a;
	struct tprobe t;
	struct xl_dest rs;

	(void)state;
	acceptor_open(&a, AF_INET);
	memset(&t, 0, sizeof(t));
	dest_make(&rs, AF_INET, a.port);
	xl_probe_target(&t.p, &cfg, &rs);
	t.p.done = tp_done;
	t.restarts = 3;
	assert_int_equal(xl_probe_start(ck, &t.p), 0);
	assert_int_equal(xl_probe_start(ck, &t.p), -EBUSY);
	outstanding++;
	run_until_done(10);
	assert_int_equal(t.ndone, 4);
	assert_result(&t, XL_CHECK_UP, "connected");
	assert_int_equal(a.naccepted, 4);
	assert_int_equal(xl_checker_running(ck), 0);
	acceptor_close(&a);
}

/*
 * libcurl is not linked: the first http probe loads it (curl_dl.h), so a
 * daemon without http checks never does.  When it cannot be loaded, the
 * probe says why and nothing reaches the server; the next probe tries
 * again.  Runs before every other http probe of this group: once loaded,
 * libcurl stays.
 */
static void test_http_no_libcurl(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s = hsrv_start(AF_INET, false, 200, "hello");
	const char *real = xl_curl_soname;
	struct tprobe t;

	(void)state;
	assert_null(dlsym(RTLD_DEFAULT, "curl_easy_init"));
	xl_curl_soname = "libextlb-test-no-such-curl.so.4";
	run_one(&t, &cfg, AF_INET, s->port);
	xl_curl_soname = real;
	assert_result(&t, XL_CHECK_ERROR,
		      "http check could not run: libcurl could not be loaded: "
		      "libextlb-test-no-such-curl.so.4: cannot open shared "
		      "object file: No such file or directory");
	run_one(&t, &cfg, AF_INET, s->port);
	hsrv_stop(s);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	assert_int_equal(s->nreq, 1);
	free(s);
}

/*
 * No file descriptor left: the machinery failed, not the server.  (The
 * checker's libcurl is loaded already, by test_http_no_libcurl.)
 */
static void test_no_fds(void **state)
{
	static const enum xl_check_type types[] = {XL_CHECK_TCP, XL_CHECK_UDP,
						   XL_CHECK_HTTP};
	struct tprobe t[ARRAY_SIZE(types)];
	struct xl_check_config cfg[ARRAY_SIZE(types)];
	struct acceptor a;
	struct rlimit old, low;
	int lowest = dup(0);

	(void)state;
	acceptor_open(&a, AF_INET);
	close(lowest);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		cfg[i] = cfg_make(types[i], 1.0);
		tp_start(&t[i], &cfg[i], AF_INET, a.port);
	}
	run_until_done(5);
	setrlimit(RLIMIT_NOFILE, &old);
	assert_result(&t[0], XL_CHECK_ERROR,
		      "tcp check could not run: too many open files");
	assert_result(&t[1], XL_CHECK_ERROR,
		      "udp check could not run: too many open files");
	assert_result(&t[2], XL_CHECK_ERROR,
		      "http check could not run: too many open files");
	acceptor_close(&a);
}

/* ---- none -------------------------------------------------------------- */

static void test_none(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_NONE, 1.0);
	struct tprobe t;

	(void)state;
	run_one(&t, &cfg, AF_INET, 1);
	assert_result(&t, XL_CHECK_UP, "no check");
}

/* ---- the registry ------------------------------------------------------ */

/* Each type can run and explain itself, is found by its name, and a key
 * that two types read is described alike by both. */
static void test_registry(void **state)
{
	const struct xl_check_key *const *all;
	size_t nall = xl_check_keys(&all);
	char buf[160];

	(void)state;
	for (int t = 0; t < XL_CHECK_NTYPES; t++) {
		const struct xl_check_ops *ops = xl_check_ops(t);
		enum xl_check_type found;

		assert_non_null(ops);
		assert_non_null(ops->start);
		assert_true(ops->reason || ops->ncodes);
		assert_null(xl_rule_check_type(xl_check_type_name(t), &found,
					       buf, sizeof(buf)));
		assert_int_equal(found, t);
		for (size_t i = 0; i < ops->nkeys; i++) {
			const struct xl_check_key *k = &ops->keys[i], *a = NULL;

			for (size_t j = 0; j < nall && !a; j++)
				if (!strcmp(all[j]->name, k->name))
					a = all[j];
			assert_non_null(a);
			assert_int_equal(a->kind, k->kind);
			assert_int_equal(a->off, k->off);
			assert_true(a->rule == k->rule);
			assert_true(a->trusted_only == k->trusted_only);
		}
	}
	assert_null(xl_check_ops(XL_CHECK_NTYPES));
	assert_string_equal(xl_check_type_name(XL_CHECK_NTYPES), "?");
	assert_string_equal(
	    xl_rule_check_type("icmp", &(enum xl_check_type){0}, buf,
			       sizeof(buf)),
	    "is not one of \"tcp\", \"http\", \"https\", \"udp\", "
	    "\"script\", \"none\"");
	/* each key once, however many types read it */
	for (size_t i = 0; i < nall; i++)
		for (size_t j = i + 1; j < nall; j++)
			assert_string_not_equal(all[i]->name, all[j]->name);
}

/* ---- http -------------------------------------------------------------- */

static void http_run(struct tprobe *t, const struct xl_check_config *cfg,
		     struct hsrv *s, int af)
{
	run_one(t, cfg, af, s->port);
	hsrv_stop(s);
}

static void test_http_200(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s = hsrv_start(AF_INET, false, 200, "hello");
	char host[64];
	struct tprobe t;

	(void)state;
	cfg.path = (char *)"/healthz?full=1";
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	assert_int_equal(s->nreq, 1);
	assert_string_equal(s->method, "GET");
	assert_string_equal(s->path, "/healthz?full=1");
	snprintf(host, sizeof(host), "127.0.0.1:%u", s->port);
	assert_string_equal(s->host, host);
	free(s);
}

static void test_http_v6(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s;
	char host[64];
	struct tprobe t;

	(void)state;
	skip_without_v6();
	s = hsrv_start(AF_INET6, false, 204, "");
	http_run(&t, &cfg, s, AF_INET6);
	assert_result(&t, XL_CHECK_UP, "http status 204");
	snprintf(host, sizeof(host), "[::1]:%u", s->port);
	assert_string_equal(s->host, host);
	free(s);
}

static void test_http_503(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s = hsrv_start(AF_INET, false, 503, "busy");
	struct tprobe t;

	(void)state;
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_DOWN, "http status 503, expected 200-299");
	free(s);
}

static void test_http_status_list(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	cfg.status[0] = (struct xl_status_range){301, 302};
	cfg.status[1] = (struct xl_status_range){404, 404};
	cfg.nstatus = 2;
	s = hsrv_start(AF_INET, false, 404, "gone");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 404");
	free(s);

	/* a redirect is an answer, not a place to go */
	s = hsrv_start(AF_INET, false, 302, "");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 302");
	assert_int_equal(s->nreq, 1);
	free(s);

	s = hsrv_start(AF_INET, false, 200, "fine");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_DOWN,
		      "http status 200, expected 301-302, 404");
	free(s);
}

static void test_http_expect(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	cfg.expect = (char *)"OK";
	s = hsrv_start(AF_INET, false, 200, "status: OK\n");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	free(s);

	s = hsrv_start(AF_INET, false, 200, "status: failing\n");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_DOWN, "http body does not contain \"OK\"");
	free(s);

	/* the status is judged before the body */
	s = hsrv_start(AF_INET, false, 500, "OK");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_DOWN, "http status 500, expected 200-299");
	free(s);
}

static char *body_with(size_t len, size_t at, const char *needle)
{
	char *b = malloc(len + 1);

	assert_non_null(b);
	memset(b, 'x', len);
	b[len] = '\0';
	if (needle)
		memcpy(b + at, needle, strlen(needle));
	return b;
}

/* Bodies arrive in pieces; the needle may straddle two of them. */
static void test_http_expect_deep(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 3.0);
	char *body = body_with(60000, 16383, "NEEDLE");
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	cfg.expect = (char *)"NEEDLE";
	s = hsrv_start(AF_INET, false, 200, body);
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	free(s);
	free(body);

	body = body_with(200000, 100000, "NEEDLE");
	s = hsrv_start(AF_INET, false, 200, body);
	http_run(&t, &cfg, s, AF_INET);
	assert_result(
	    &t, XL_CHECK_DOWN,
	    "http body does not contain \"NEEDLE\" in its first 64 KiB");
	free(s);
	free(body);
}

static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 64 MiB body is not read, let alone kept. */
static void test_http_huge_body(void **state)
{
	const size_t big = 64u << 20;
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 5.0);
	long rss0 = max_rss_kib();
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	s = hsrv_start(AF_INET, false, 200, NULL);
	s->big_len = big;
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	assert_true(s->cut);
	assert_true(s->sent < big / 2);
	free(s);

	cfg.expect = (char *)"never there";
	s = hsrv_start(AF_INET, false, 200, NULL);
	s->big_len = big;
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_DOWN,
		      "http body does not contain \"never there\" in its "
		      "first 64 KiB");
	assert_true(s->cut);
	assert_true(s->sent < big / 2);
	free(s);
	assert_true(max_rss_kib() - rss0 < 16 * 1024);
}

static void test_http_head_and_method(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	cfg.method = (char *)"HEAD";
	s = hsrv_start(AF_INET, false, 200, "a body HEAD must not wait for");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	assert_string_equal(s->method, "HEAD");
	assert_true(t.r.elapsed < 1.0);
	free(s);

	cfg.method = (char *)"OPTIONS";
	s = hsrv_start(AF_INET, false, 200, "");
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	assert_string_equal(s->method, "OPTIONS");
	free(s);
}

static void test_http_host(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s = hsrv_start(AF_INET, false, 200, "");
	struct tprobe t;

	(void)state;
	cfg.host = (char *)"www.example.test";
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "http status 200");
	assert_string_equal(s->host, "www.example.test");
	free(s);
}

static void test_http_timeout(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 0.3);
	struct hsrv *s = hsrv_start(AF_INET, false, 200, "");
	struct tprobe t;

	(void)state;
	s->mode = H_HANG;
	run_one(&t, &cfg, AF_INET, s->port);
	assert_result(&t, XL_CHECK_DOWN, "http timeout after 300 ms");
	assert_true(t.r.elapsed >= 0.29 && t.r.elapsed < 1.5);
	hsrv_stop(s);
	free(s);
}

static void test_http_refused_and_empty(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 2.0);
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	run_one(&t, &cfg, AF_INET, closed_port(AF_INET, SOCK_STREAM));
	assert_result(&t, XL_CHECK_DOWN, "connection refused");

	s = hsrv_start(AF_INET, false, 200, "");
	s->mode = H_CLOSE;
	http_run(&t, &cfg, s, AF_INET);
	assert_int_equal(t.r.status, XL_CHECK_DOWN);
	assert_string_equal(t.r.reason, "http: empty reply from server");
	free(s);
}

static void test_http_many(void **state)
{
	enum { N = 50 };
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 10.0);
	struct hsrv *s = hsrv_start(AF_INET, false, 200, "OK");
	struct tprobe *t = calloc(N, sizeof(*t));

	(void)state;
	assert_non_null(t);
	cfg.expect = (char *)"OK";
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++)
			tp_start(&t[i], &cfg, AF_INET, s->port);
		run_until_done(20);
		for (int i = 0; i < N; i++) {
			assert_int_equal(t[i].ndone, 1);
			assert_result(&t[i], XL_CHECK_UP, "http status 200");
		}
	}
	hsrv_stop(s);
	assert_int_equal(s->nreq, 2 * N);
	assert_int_equal(xl_checker_running(ck), 0);
	free(s);
	free(t);
}

/* ---- https ------------------------------------------------------------- */

static void test_https_ca_file(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTPS, 3.0);
	struct hsrv *s = hsrv_start(AF_INET, true, 200, "OK");
	struct tprobe t;

	(void)state;
	cfg.ca_file = ca_file;
	cfg.expect = (char *)"OK";
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "https status 200");
	/* an IP literal in the URL: checked against the IP SAN, no SNI */
	assert_string_equal(s->sni, "");
	free(s);
}

static void test_https_v6(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTPS, 3.0);
	struct hsrv *s;
	struct tprobe t;

	(void)state;
	skip_without_v6();
	s = hsrv_start(AF_INET6, true, 200, "OK");
	cfg.ca_file = ca_file;
	cfg.host = (char *)"localhost";
	http_run(&t, &cfg, s, AF_INET6);
	assert_result(&t, XL_CHECK_UP, "https status 200");
	assert_string_equal(s->sni, "localhost");
	free(s);
}

static void test_https_system_store(void **state)
{
	/* loading the system store is slow under valgrind */
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTPS, 20.0);
	struct hsrv *s = hsrv_start(AF_INET, true, 200, "OK");
	const char *prefix = "https: certificate verify failed: ";
	struct tprobe t;

	(void)state;
	cfg.host = (char *)"localhost";
	for (int i = 0; i < 3; i++) {
		run_one(&t, &cfg, AF_INET, s->port);
		assert_int_equal(t.r.status, XL_CHECK_DOWN);
		if (strncmp(t.r.reason, prefix, strlen(prefix)))
			fail_msg("reason \"%s\"", t.r.reason);
	}
	hsrv_stop(s);
	assert_int_equal(s->nreq, 0);
	free(s);
}

static void test_https_no_verify(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTPS, 3.0);
	struct hsrv *s = hsrv_start(AF_INET, true, 200, "OK");
	struct tprobe t;

	(void)state;
	cfg.tls_verify = false;
	cfg.host = (char *)"not-the-name.test";
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "https status 200");
	assert_string_equal(s->sni, "not-the-name.test");
	free(s);
}

/* sni names the certificate; host is the Host header; target is the IP. */
static void test_https_sni(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTPS, 3.0);
	struct hsrv *s = hsrv_start(AF_INET, true, 200, "OK");
	const char *prefix = "https: certificate verify failed: ";
	struct tprobe t;

	(void)state;
	cfg.ca_file = ca_file;
	cfg.host = (char *)"www.example.test";
	cfg.sni = (char *)"localhost";
	http_run(&t, &cfg, s, AF_INET);
	assert_result(&t, XL_CHECK_UP, "https status 200");
	assert_string_equal(s->sni, "localhost");
	assert_string_equal(s->host, "www.example.test");
	free(s);

	/* the certificate does not name www.example.test */
	cfg.sni = NULL;
	s = hsrv_start(AF_INET, true, 200, "OK");
	http_run(&t, &cfg, s, AF_INET);
	assert_int_equal(t.r.status, XL_CHECK_DOWN);
	if (strncmp(t.r.reason, prefix, strlen(prefix)) ||
	    !strstr(t.r.reason, "www.example.test"))
		fail_msg("reason \"%s\"", t.r.reason);
	assert_string_equal(s->sni, "www.example.test");
	free(s);
}

/* ---- udp --------------------------------------------------------------- */

static void udp_echo(int af)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_UDP, 1.0);
	struct usrv *s = usrv_start(af, U_ECHO);
	struct tprobe t;

	cfg.send = (char *)"ping";
	cfg.expect = (char *)"pong:ping";
	run_one(&t, &cfg, af, s->port);
	assert_result(&t, XL_CHECK_UP, "udp reply received");
	usrv_stop(s);
	assert_int_equal(s->nreq, 1);
	assert_int_equal(s->last_len, 4);
	free(s);
}

static void test_udp_up(void **state)
{
	(void)state;
	udp_echo(AF_INET);
}

static void test_udp_up_v6(void **state)
{
	(void)state;
	skip_without_v6();
	udp_echo(AF_INET6);
}

static void test_udp_empty_payload(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_UDP, 1.0);
	struct usrv *s = usrv_start(AF_INET, U_ECHO);
	struct tprobe t;

	(void)state;
	run_one(&t, &cfg, AF_INET, s->port);
	assert_result(&t, XL_CHECK_UP, "udp reply received");
	usrv_stop(s);
	assert_int_equal(s->last_len, 0);
	free(s);
}

static void test_udp_unreachable(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_UDP, 1.0);
	struct tprobe t;

	(void)state;
	cfg.send = (char *)"ping";
	run_one(&t, &cfg, AF_INET, closed_port(AF_INET, SOCK_DGRAM));
	assert_result(&t, XL_CHECK_DOWN, "udp port unreachable");
	assert_true(t.r.elapsed < 0.5);
}

static void test_udp_no_reply(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_UDP, 0.3);
	struct usrv *s = usrv_start(AF_INET, U_SILENT);
	struct tprobe t;

	(void)state;
	cfg.send = (char *)"ping";
	run_one(&t, &cfg, AF_INET, s->port);
	assert_result(&t, XL_CHECK_DOWN, "udp no reply within 300 ms");
	assert_true(t.r.elapsed >= 0.29);
	usrv_stop(s);
	assert_int_equal(s->nreq, 1);
	free(s);
}

static void test_udp_expect_mismatch(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_UDP, 1.0);
	struct usrv *s = usrv_start(AF_INET, U_WRONG);
	struct tprobe t;

	(void)state;
	cfg.send = (char *)"ping";
	cfg.expect = (char *)"pong";
	run_one(&t, &cfg, AF_INET, s->port);
	assert_result(&t, XL_CHECK_DOWN, "udp reply does not contain \"pong\"");
	usrv_stop(s);
	free(s);
}

/* ---- script ------------------------------------------------------------ */

static void script_run(struct tprobe *t, const char *cmd, const char *user,
		       double tmo)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_SCRIPT, tmo);

	cfg.command = (char *)cmd;
	cfg.user = (char *)user;
	run_one(t, &cfg, AF_INET, 8080);
}

/* Gone for good: reaped, not a zombie waiting for us. */
static bool reaped(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Dead: gone, or a zombie of someone else (reparented to init). */
static bool dead(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	char *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	buf[0] = '\0';
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	paren = strrchr(buf, ')');
	return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static void test_script_exit(void **state)
{
	struct tprobe t;

	(void)state;
	script_run(&t, "exit 0", "nobody", 5.0);
	assert_result(&t, XL_CHECK_UP, "script exited with status 0");
	run_for(0.05);
	assert_true(reaped(t.p.pid));
	script_run(&t, "exit 3", "nobody", 5.0);
	assert_result(&t, XL_CHECK_DOWN, "script exited with status 3");
	script_run(&t, "kill -9 $$", "nobody", 5.0);
	assert_result(&t, XL_CHECK_DOWN, "script killed by signal 9");
}

static void test_script_environment(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_SCRIPT, 5.0);
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	char cmd[512];
	struct tprobe t;

	(void)state;
	assert_true(leak >= 3);
	snprintf(cmd, sizeof(cmd),
		 "[ \"$XL_ADDRESS\" = 127.0.0.1 ] && [ \"$XL_PORT\" = 8080 ] "
		 "&& [ \"$PATH\" = /usr/sbin:/usr/bin:/sbin:/bin ] "
		 "&& [ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] "
		 "&& [ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] "
		 "&& [ ! -e /proc/$$/fd/%d ] && [ \"$(pwd)\" = / ] "
		 "&& [ \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ ]",
		 leak);
	script_run(&t, cmd, "root", 5.0);
	assert_result(&t, XL_CHECK_UP, "script exited with status 0");

	cfg.command = (char *)"[ \"$XL_ADDRESS\" = ::1 ] && [ $XL_PORT = 53 ]";
	run_one(&t, &cfg, AF_INET6, 53);
	assert_result(&t, XL_CHECK_UP, "script exited with status 0");
	close(leak);
}

static void test_script_user(void **state)
{
	struct tprobe t;
	char cmd[64];

	(void)state;
	if (geteuid() != 0) {
		/* not root: no switch, the script runs as we do */
		snprintf(cmd, sizeof(cmd), "[ $(id -u) = %d ]", (int)geteuid());
		script_run(&t, cmd, "nobody", 5.0);
		assert_result(&t, XL_CHECK_UP, "script exited with status 0");
		return;
	}
	script_run(&t, "[ $(id -u) = 65534 ] && [ $(id -g) = 65534 ]", "nobody",
		   5.0);
	assert_result(&t, XL_CHECK_UP, "script exited with status 0");
	script_run(&t, "exit 0", "no-such-user-xl", 5.0);
	assert_result(&t, XL_CHECK_ERROR, "unknown user \"no-such-user-xl\"");
}

/* Sets the effective capabilities to the permitted ones less drop. */
static void caps_drop(int drop)
{
	struct __user_cap_header_struct h = {
	    .version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (drop >= 0)
		d[drop / 32].effective &= ~(1u << (drop % 32));
	assert_int_equal(syscall(SYS_capset, &h, d), 0);
}

/*
 * Root narrowed by systemd's CapabilityBoundingSet may be unable to switch
 * to the script's user or kill its group: the check says which capability
 * is missing, does not run the script, and is an error of the machinery
 * (the server's state is left alone), not a failed server.
 */
static void test_script_without_caps(void **state)
{
	static const struct {
		int cap;
		const char *name;
	} caps[] = {{CAP_SETUID, "CAP_SETUID"},
		    {CAP_SETGID, "CAP_SETGID"},
		    {CAP_KILL, "CAP_KILL"}};
	char cmd[400], ran[300], want[192];
	struct tprobe t;
	size_t i;

	(void)state;
	if (geteuid() != 0) {
		print_message("  skipped: not root, scripts run as we are\n");
		return;
	}
	snprintf(ran, sizeof(ran), "%s/script-ran", tmpdir);
	snprintf(cmd, sizeof(cmd), "touch %s", ran);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		caps_drop(caps[i].cap);
		script_run(&t, cmd, "root", 5.0);
		caps_drop(-1);
		snprintf(want, sizeof(want),
			 "extlbd runs as root without %s, needed to run the "
			 "script as user \"root\"",
			 caps[i].name);
		assert_result(&t, XL_CHECK_ERROR, want);
		assert_int_equal(access(ran, F_OK), -1);
	}
	/* all three back: the script runs */
	script_run(&t, cmd, "root", 5.0);
	assert_result(&t, XL_CHECK_UP, "script exited with status 0");
	assert_int_equal(access(ran, F_OK), 0);
	unlink(ran);
}

/* The whole process group dies at the timeout, and nothing is a zombie. */
static void test_script_timeout(void **state)
{
	char cmd[400], pidfile[300];
	struct tprobe t;
	pid_t bg = 0;
	FILE *f;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/bg.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; wait", pidfile);
	script_run(&t, cmd, "root", 0.5);
	assert_result(&t, XL_CHECK_DOWN, "script timeout after 500 ms");
	assert_true(t.r.elapsed >= 0.49 && t.r.elapsed < 2.0);
	run_for(0.3);
	assert_true(reaped(t.p.pid));
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &bg), 1);
	fclose(f);
	assert_true(bg > 0);
	assert_true(dead(bg));
}

/* Script checks need libev's default loop: an error, not a crash. */
static void test_script_other_loop(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_SCRIPT, 1.0);
	struct ev_loop *l2 = ev_loop_new(EVFLAG_AUTO);
	struct xl_checker *ck2 = xl_checker_new(l2);
	struct tprobe t;
	struct xl_dest rs;

	(void)state;
	assert_non_null(ck2);
	memset(&t, 0, sizeof(t));
	cfg.command = (char *)"exit 0";
	dest_make(&rs, AF_INET, 1);
	xl_probe_target(&t.p, &cfg, &rs);
	t.p.done = tp_done;
	assert_int_equal(xl_probe_start(ck2, &t.p), 0);
	outstanding++;
	while (outstanding)
		ev_run(l2, EVRUN_ONCE);
	assert_result(&t, XL_CHECK_ERROR,
		      "script checks need libev's default loop");
	xl_checker_free(ck2);
	ev_loop_destroy(l2);
}

/* ---- cancel ------------------------------------------------------------ */

static void cancel_after(struct tprobe *t, const struct xl_check_config *cfg,
			 int af, uint16_t port, double after)
{
	tp_start(t, cfg, af, port);
	if (after > 0)
		run_for(after);
	assert_int_equal(t->ndone, 0);
	assert_int_equal(xl_checker_running(ck), 1);
	xl_probe_cancel(&t->p);
	xl_probe_cancel(&t->p); /* twice is harmless */
	outstanding--;
	assert_int_equal(xl_checker_running(ck), 0);
	run_for(0.1);
	assert_int_equal(t->ndone, 0);
}

static void test_cancel_tcp_udp_none(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_TCP, 5.0);
	struct blackhole b;
	struct usrv *u = usrv_start(AF_INET, U_SILENT);
	struct tprobe t;

	(void)state;
	blackhole_open(&b, AF_INET);
	cancel_after(&t, &cfg, AF_INET, b.port, 0.1);
	/* refused at once: the deferred result must not fire either */
	cancel_after(&t, &cfg, AF_INET, closed_port(AF_INET, SOCK_STREAM), 0);
	blackhole_close(&b);

	cfg.type = XL_CHECK_UDP;
	cancel_after(&t, &cfg, AF_INET, u->port, 0.1);
	usrv_stop(u);
	free(u);

	cfg.type = XL_CHECK_NONE;
	cancel_after(&t, &cfg, AF_INET, 1, 0);
	xl_probe_cancel(&t.p); /* idle */
}

static void test_cancel_http(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_HTTP, 5.0);
	struct hsrv *s = hsrv_start(AF_INET, false, 200, "");
	struct tprobe t;

	(void)state;
	s->mode = H_HANG;
	cancel_after(&t, &cfg, AF_INET, s->port, 0.2);
	cancel_after(&t, &cfg, AF_INET, s->port, 0);
	hsrv_stop(s);
	assert_true(s->nreq >= 1);
	free(s);

	cfg.type = XL_CHECK_HTTPS;
	cfg.ca_file = ca_file;
	s = hsrv_start(AF_INET, true, 200, "");
	s->mode = H_HANG;
	cancel_after(&t, &cfg, AF_INET, s->port, 0.3);
	hsrv_stop(s);
	free(s);
}

static void test_cancel_script(void **state)
{
	struct xl_check_config cfg = cfg_make(XL_CHECK_SCRIPT, 5.0);
	struct tprobe t;
	pid_t pid;

	(void)state;
	cfg.command = (char *)"sleep 30";
	cancel_after(&t, &cfg, AF_INET, 1, 0.1);
	pid = t.p.pid;
	assert_true(pid > 0);
	run_for(0.2);
	assert_true(reaped(pid));
}

/* ---- fixture ----------------------------------------------------------- */

static int make_certs(void)
{
	static const char script[] =
	    "cd '%s' && "
	    "printf '[req]\\ndistinguished_name=dn\\nprompt=no\\n"
	    "x509_extensions=ext\\n[dn]\\nCN=extlb test CA\\n[ext]\\n"
	    "basicConstraints=critical,CA:TRUE\\n"
	    "keyUsage=critical,keyCertSign,cRLSign\\n"
	    "subjectKeyIdentifier=hash\\n' > ca.cnf && "
	    "printf '[req]\\ndistinguished_name=dn\\nprompt=no\\n"
	    "[dn]\\nCN=localhost\\n' > srv.cnf && "
	    "printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n"
	    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\\n' > ext.cnf && "
	    "openssl req -x509 -config ca.cnf -newkey ec "
	    "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
	    "-out ca.pem -days 2 && "
	    "openssl req -new -config srv.cnf -newkey ec "
	    "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key "
	    "-out srv.csr && "
	    "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out srv.pem -days 2 -extfile ext.cnf";
	char cmd[sizeof(script) + 300];

	snprintf(cmd, sizeof(cmd), script, tmpdir);
	strcat(cmd, " >/dev/null 2>&1");
	return system(cmd) == 0 ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static bool v6_usable(void)
{
	uint16_t port;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 s = {.sin6_family = AF_INET6,
				 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&s, sizeof(s)) == 0;

	(void)port;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "%s/xl-checks-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", tmpdir);
	/* before the loop exists: system() reaps its own children */
	if (make_certs()) {
		fprintf(stderr, "openssl could not make test certificates\n");
		return -1;
	}
	have_v6 = v6_usable();
	loop = ev_default_loop(0);
	ck = xl_checker_new(loop);
	return ck ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	xl_checker_free(ck);
	ev_loop_destroy(loop);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_target),
	    cmocka_unit_test(test_tcp_up),
	    cmocka_unit_test(test_tcp_up_v6),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_tcp_timeout),
	    cmocka_unit_test(test_tcp_connect_target),
	    cmocka_unit_test(test_tcp_many),
	    cmocka_unit_test(test_many_timeouts_loop_answers),
	    cmocka_unit_test(test_restart_from_done),
	    cmocka_unit_test(test_http_no_libcurl),
	    cmocka_unit_test(test_no_fds),
	    cmocka_unit_test(test_none),
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_http_200),
	    cmocka_unit_test(test_http_v6),
	    cmocka_unit_test(test_http_503),
	    cmocka_unit_test(test_http_status_list),
	    cmocka_unit_test(test_http_expect),
	    cmocka_unit_test(test_http_expect_deep),
	    cmocka_unit_test(test_http_huge_body),
	    cmocka_unit_test(test_http_head_and_method),
	    cmocka_unit_test(test_http_host),
	    cmocka_unit_test(test_http_timeout),
	    cmocka_unit_test(test_http_refused_and_empty),
	    cmocka_unit_test(test_http_many),
	    cmocka_unit_test(test_https_ca_file),
	    cmocka_unit_test(test_https_v6),
	    cmocka_unit_test(test_https_system_store),
	    cmocka_unit_test(test_https_no_verify),
	    cmocka_unit_test(test_https_sni),
	    cmocka_unit_test(test_udp_up),
	    cmocka_unit_test(test_udp_up_v6),
	    cmocka_unit_test(test_udp_empty_payload),
	    cmocka_unit_test(test_udp_unreachable),
	    cmocka_unit_test(test_udp_no_reply),
	    cmocka_unit_test(test_udp_expect_mismatch),
	    cmocka_unit_test(test_script_exit),
	    cmocka_unit_test(test_script_environment),
	    cmocka_unit_test(test_script_user),
	    cmocka_unit_test(test_script_without_caps),
	    cmocka_unit_test(test_script_timeout),
	    cmocka_unit_test(test_script_other_loop),
	    cmocka_unit_test(test_cancel_tcp_udp_none),
	    cmocka_unit_test(test_cancel_http),
	    cmocka_unit_test(test_cancel_script),
	};

	return cmocka_run_group_tests_name("checks", tests, group_setup,
					   group_teardown);
}
