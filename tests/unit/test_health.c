/*
 * test_health.c - cmocka tests of the health engine: rise/fall, scheduling,
 * batching of changes, reloads and quorum logs.
 *
 * No network: the engine's probes go through the seam of health_impl.h to a
 * fake check type that records every start (server, loop time) and answers
 * from a per-server script ("UDE": up, down, error; the last letter
 * repeats), or holds the probe until the test releases it.  Time is real
 * but short (intervals of 20-500 ms); timing is asserted on the schedule
 * the engine sets (xl_health_next_check after each result), which is exact,
 * rather than on when a loaded machine gets round to firing timers.  Server
 * k of a configuration is 10.0.0.1 + k, port 80, so the fake knows which one
 * it checks from the address.  Logs go to a captured stderr that tests read
 * back.
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
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "health.h"
#include "health_impl.h"
#include "log.h"
#include "maint.h"

#define MAXSRV 64
#define MAXSTARTS 8192
#define BASE_ADDR 0x0a000001u /* 10.0.0.1 */
#define EPS 1e-4	      /* scheduled times are exact but for rounding */
#define CLOCK_SLACK 2e-3      /* ev_now against libev's monotonic timers */

#ifndef container_of
#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* One probe: when it started, when its result came, when the next is due. */
struct start {
	size_t k;
	double t, done, next;
};

static struct {
	struct ev_loop *loop;
	struct xl_health *h;
	struct xl_config *cfg[4];
	const struct xl_config *cur; /* as last configured */
	unsigned changed;
	size_t changed_vs[64], nchanged_vs; /* the last callback's services */

	/* the fake check type */
	const char *script[MAXSRV];
	size_t pos[MAXSRV];
	bool hold[MAXSRV];
	struct xl_probe *held[MAXSRV];
	size_t nheld;
	int start_err;
	size_t running, cancels;
	struct start starts[MAXSTARTS];
	size_t nstarts;

	ev_timer tick, release;
	int saved_stderr;
	FILE *cap;
} fx;

/* ---- the fake check type ---------------------------------------------- */

static size_t fake_index(const struct xl_probe *p)
{
	return (size_t)(ntohl(p->addr.v4.s_addr) - BASE_ADDR);
}

static enum xl_check_status fake_next(size_t k)
{
	const char *s = fx.script[k] ? fx.script[k] : "U";
	char c = s[fx.pos[k]];

	if (s[fx.pos[k] + 1])
		fx.pos[k]++;
	return c == 'D'	  ? XL_CHECK_DOWN
	       : c == 'E' ? XL_CHECK_ERROR
			  : XL_CHECK_UP;
}

/* The next start the engine scheduled for server k, from its place. */
static double fake_next_check(size_t k)
{
	const struct xl_config *c = fx.cur;

	for (size_t v = 0; v < c->nvs; v++)
		for (size_t r = 0; r < c->vs[v].svc.ndests; r++)
			if (ntohl(c->vs[v].svc.dests[r].addr.v4.s_addr) ==
			    BASE_ADDR + k)
				return xl_health_next_check(fx.h, v, r);
	fail_msg("server %zu is not configured", k);
	return -1;
}

static void fake_finish(struct xl_probe *p)
{
	size_t k = fake_index(p), i = fx.nstarts;
	struct xl_check_result r = {.status = fake_next(k)};

	if (r.status == XL_CHECK_DOWN)
		snprintf(r.reason, sizeof(r.reason),
			 "tcp connect timeout after 500 ms");
	else if (r.status == XL_CHECK_ERROR)
		snprintf(r.reason, sizeof(r.reason), "socket: no fds");
	fx.running--;
	p->done(p, &r);
	while (i-- > 0 && fx.starts[i].k != k)
		;
	assert_true(i < fx.nstarts);
	fx.starts[i].done = ev_now(fx.loop);
	fx.starts[i].next = fake_next_check(k);
}

static void fake_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	fake_finish(container_of(w, struct xl_probe, timer));
}

/* Like a real type: the result comes on a later loop iteration. */
static int fake_start(struct xl_checker *ck, struct xl_probe *p)
{
	size_t k = fake_index(p);

	(void)ck;
	assert_true(k < MAXSRV);
	if (fx.start_err)
		return fx.start_err;
	assert_true(fx.nstarts < MAXSTARTS);
	fx.starts[fx.nstarts++] = (struct start){k, ev_now(fx.loop), -1, -1};
	fx.running++;
	if (fx.hold[k]) {
		fx.held[fx.nheld++] = p;
		return 0;
	}
	ev_timer_init(&p->timer, fake_fire, 0., 0.);
	ev_timer_start(fx.loop, &p->timer);
	return 0;
}

static void fake_cancel(struct xl_probe *p)
{
	ev_timer_stop(fx.loop, &p->timer);
	for (size_t i = 0; i < fx.nheld; i++)
		if (fx.held[i] == p)
			fx.held[i] = fx.held[--fx.nheld];
	fx.running--;
	fx.cancels++;
}

static const struct xl_health_probe_ops fake_ops = {fake_start, fake_cancel};

/* Ends every held probe, from inside the loop, in one callback. */
static void release_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_probe *v[MAXSRV];
	size_t n = fx.nheld;

	(void)loop;
	(void)w;
	(void)revents;
	memcpy(v, fx.held, n * sizeof(*v));
	fx.nheld = 0;
	for (size_t i = 0; i < n; i++)
		fake_finish(v[i]);
}

static void release_held(void)
{
	memset(fx.hold, 0, sizeof(fx.hold));
	ev_timer_init(&fx.release, release_cb, 0., 0.);
	ev_timer_start(fx.loop, &fx.release);
}

static size_t starts_of(size_t k)
{
	size_t n = 0;

	for (size_t i = 0; i < fx.nstarts; i++)
		n += fx.starts[i].k == k;
	return n;
}

/* The n-th (0-based) probe of server k, or NULL. */
static const struct start *probe_of(size_t k, size_t n)
{
	for (size_t i = 0; i < fx.nstarts; i++)
		if (fx.starts[i].k == k && !n--)
			return &fx.starts[i];
	return NULL;
}

static unsigned long errors(void)
{
	struct xl_health_stats st;

	xl_health_stats(fx.h, &st);
	return st.probe_errors;
}

static size_t results(void)
{
	size_t n = 0;

	for (size_t i = 0; i < fx.nstarts; i++)
		n += fx.starts[i].done >= 0;
	return n;
}

/* ---- the loop ---------------------------------------------------------- */

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents; /* only wakes EVRUN_ONCE up, to test the condition */
}

#define RUN_UNTIL(cond, secs)                                                  \
	do {                                                                   \
		double dl_ = ev_time() + (secs);                               \
		ev_timer_start(fx.loop, &fx.tick);                             \
		while (!(cond) && ev_time() < dl_)                             \
			ev_run(fx.loop, EVRUN_ONCE);                           \
		ev_timer_stop(fx.loop, &fx.tick);                              \
		assert_true(cond);                                             \
	} while (0)

static void run_for(double secs)
{
	double dl = ev_time() + secs;

	RUN_UNTIL(ev_time() >= dl, secs + 1);
}

static void changed_cb(void *arg, const size_t *vs, size_t n)
{
	(void)arg;
	fx.changed++;
	fx.nchanged_vs = n;
	for (size_t i = 0; i < n && i < 64; i++)
		fx.changed_vs[i] = vs[i];
}

/* ---- configurations ---------------------------------------------------- */

static struct xl_check_config ck_make(double interval)
{
	struct xl_check_config c;

	memset(&c, 0, sizeof(c));
	c.type = XL_CHECK_TCP;
	c.interval = interval;
	c.timeout = interval / 2;
	c.rise = 2;
	c.fall = 3;
	c.connect_port = -1;
	return c;
}

/*
 * nvs services of nrs servers; slot v holds service order[v] (identity
 * "svcN" at 192.168.0.1:8000+N with servers k = N * nrs + r).
 */
static struct xl_config *mk_cfg(size_t nvs, size_t nrs,
				const struct xl_check_config *ck,
				const size_t *order)
{
	struct xl_config *c = calloc(1, sizeof(*c));
	char name[32];

	assert_non_null(c);
	assert_non_null(c->vs = calloc(nvs, sizeof(*c->vs)));
	c->nvs = nvs;
	for (size_t v = 0; v < nvs; v++) {
		struct xl_vs_config *vs = &c->vs[v];
		size_t o = order ? order[v] : v;

		snprintf(name, sizeof(name), "svc%zu", o);
		assert_non_null(vs->name = strdup(name));
		vs->svc.af = AF_INET;
		vs->svc.protocol = IPPROTO_TCP;
		vs->svc.addr.v4.s_addr = htonl(0xc0a80001); /* 192.168.0.1 */
		vs->svc.port = (uint16_t)(8000 + o);
		vs->quorum = 1;
		assert_non_null(vs->svc.dests =
				    calloc(nrs, sizeof(struct xl_dest)));
		assert_non_null(vs->reals = calloc(nrs, sizeof(*vs->reals)));
		vs->svc.ndests = nrs;
		for (size_t r = 0; r < nrs; r++) {
			struct xl_dest *d = &vs->svc.dests[r];

			d->af = AF_INET;
			d->addr.v4.s_addr =
			    htonl(BASE_ADDR + (uint32_t)(o * nrs + r));
			d->port = 80;
			d->weight = 1;
			/* each its own: tests change one server's */
			assert_non_null(vs->reals[r].check =
					    malloc(sizeof(*ck)));
			*vs->reals[r].check = *ck;
		}
	}
	return c;
}

/* The fixture frees it at teardown. */
static struct xl_config *keep(struct xl_config *c)
{
	for (size_t i = 0; i < 4; i++)
		if (!fx.cfg[i])
			return fx.cfg[i] = c;
	fail_msg("too many configurations");
	return NULL;
}

static void configure(struct xl_config *c)
{
	assert_int_equal(xl_health_configure(fx.h, c), 0);
	fx.cur = c;
}

static bool up(size_t vs, size_t rs)
{
	return xl_health_is_up(fx.h, vs, rs);
}

/* ---- captured logs ------------------------------------------------------ */

static char *logs(void)
{
	static char buf[1 << 16];
	size_t n;

	fflush(stderr);
	rewind(fx.cap);
	n = fread(buf, 1, sizeof(buf) - 1, fx.cap);
	buf[n] = 0;
	fseek(fx.cap, 0, SEEK_END);
	return buf;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/*
 * cmocka reports a failure on stderr too, that is into the capture: pass
 * on every line that is not one of the engine's logs (all with
 * XL_TEST_LOGS set in the environment).
 */
static void show_capture(void)
{
	bool all = getenv("XL_TEST_LOGS") != NULL;
	char *line = logs(), *end;

	for (; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		if (all || !strstr(line, " extlbd "))
			dprintf(fx.saved_stderr, "%.*s", (int)(end - line),
				line);
	}
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.h = xl_health_new(fx.loop, NULL, changed_cb, NULL);
	if (!fx.loop || !fx.h)
		return -1;
	xl_health_set_probe_ops(fx.h, &fake_ops);
	ev_timer_init(&fx.tick, tick_cb, 0.002, 0.002);
	fx.cap = tmpfile();
	fflush(stderr);
	fx.saved_stderr = dup(2);
	if (!fx.cap || fx.saved_stderr < 0 || dup2(fileno(fx.cap), 2) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xl_health_free(fx.h);
	for (size_t i = 0; i < 4; i++)
		xl_config_free(fx.cfg[i]);
	ev_timer_stop(fx.loop, &fx.release);
	ev_loop_destroy(fx.loop);
	show_capture();
	dup2(fx.saved_stderr, 2);
	close(fx.saved_stderr);
	fclose(fx.cap);
	return 0;
}

/* ---- rise and fall ------------------------------------------------------ */

static void test_initial_down_up_after_one_success(void **state)
{
	struct xl_check_config ck = ck_make(0.05);

	(void)state;
	ck.rise = 3;
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	assert_false(up(0, 0));
	RUN_UNTIL(up(0, 0), 1.0);
	assert_int_equal(fx.nstarts, 1);
	RUN_UNTIL(fx.changed == 1, 0.5);
	assert_non_null(strstr(logs(), "real server 10.0.0.1:80 of \"svc0\" "
				       "(TCP 192.168.0.1:8000) is up: 1 "
				       "successful check\n"));
	/* a service that never lost anything has nothing to report */
	assert_null(strstr(logs(), "quorum"));
}

static void test_initial_up_down_after_fall(void **state)
{
	struct xl_check_config ck = ck_make(0.03);

	(void)state;
	ck.initial_up = true;
	fx.script[0] = "D";
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	assert_true(up(0, 0));
	RUN_UNTIL(fx.changed == 1, 0.5); /* a new server is up */
	RUN_UNTIL(!up(0, 0), 2.0);
	assert_int_equal(fx.nstarts, 3);
	RUN_UNTIL(fx.changed == 2, 0.5);
	assert_non_null(strstr(logs(), "real server 10.0.0.1:80 of \"svc0\" "
				       "(TCP 192.168.0.1:8000) is down: tcp "
				       "connect timeout after 500 ms (3 "
				       "failures in a row)\n"));
	run_for(0.1);
	assert_int_equal(count(logs(), " is down: "), 1);
	assert_int_equal(fx.changed, 2);
}

static void test_down_needs_rise_after_failing(void **state)
{
	struct xl_check_config ck = ck_make(0.03);

	(void)state;
	ck.rise = 3;
	ck.fall = 2;
	fx.script[0] = "DDU"; /* failed from the start: no shortcut */
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(up(0, 0), 2.0);
	assert_int_equal(fx.nstarts, 5);
	assert_non_null(strstr(logs(), "is up: 3 successful checks in a "
				       "row\n"));
}

static void test_up_down_up_cycle(void **state)
{
	struct xl_check_config ck = ck_make(0.02);

	(void)state;
	ck.initial_up = true;
	ck.fall = 2;
	ck.rise = 2;
	fx.script[0] = "UDUDDUDUU"; /* runs broken, then fall, then rise */
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(!up(0, 0), 2.0);
	assert_int_equal(fx.nstarts, 5);
	RUN_UNTIL(up(0, 0), 2.0);
	assert_int_equal(fx.nstarts, 9);
}

/* What status and metrics read: the last result in words, when it came,
 * the counts by outcome and duration, kept by a reload. */
static void test_info_records_results(void **state)
{
	struct xl_check_config ck = ck_make(0.02);
	struct xl_health_info in;
	struct xl_config *a;
	uint64_t inb = 0;
	double t0 = ev_time();

	(void)state;
	ck.initial_up = true;
	ck.fall = 3;
	fx.script[0] = "UDE";
	a = mk_cfg(1, 1, &ck, NULL);
	configure(a);
	assert_int_equal(xl_health_info(fx.h, 0, 0, &in), 0);
	assert_false(in.checked);
	assert_true(in.up);
	assert_string_equal(in.last_reason, "");
	RUN_UNTIL(starts_of(0) == 3 && fx.running == 0, 2.0);
	assert_int_equal(xl_health_info(fx.h, 0, 0, &in), 0);
	assert_true(in.checked && in.up);
	assert_int_equal(in.last_status, XL_CHECK_ERROR);
	assert_string_equal(in.last_reason, "socket: no fds");
	assert_int_equal(in.results[XL_CHECK_UP], 1);
	assert_int_equal(in.results[XL_CHECK_DOWN], 1);
	assert_int_equal(in.results[XL_CHECK_ERROR], 1);
	assert_int_equal(in.ok, 0);
	assert_int_equal(in.fail, 1); /* an error counts nothing */
	for (size_t b = 0; b < XL_HEALTH_NBUCKETS; b++)
		inb += in.buckets[b];
	assert_int_equal(inb, 3);
	assert_true(in.last_at >= t0 - 0.01 && in.last_at <= ev_time());
	/* the same server in a new snapshot: its record goes on */
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	xl_config_free(a);
	assert_int_equal(xl_health_info(fx.h, 0, 0, &in), 0);
	assert_int_equal(in.results[XL_CHECK_DOWN], 1);
	assert_string_equal(in.last_reason, "socket: no fds");
	fx.script[0] = "U";
	fx.pos[0] = 0; /* the new script from its start, not past its end */
	RUN_UNTIL(starts_of(0) == 4 && fx.running == 0, 2.0);
	assert_int_equal(xl_health_info(fx.h, 0, 0, &in), 0);
	assert_int_equal(in.last_status, XL_CHECK_UP);
	assert_string_equal(in.last_reason, "");
	assert_int_equal(in.ok, 1);
	assert_int_equal(xl_health_info(fx.h, 0, 1, &in), -ENOENT);
	assert_int_equal(xl_health_info(fx.h, 1, 0, &in), -ENOENT);
}

static void test_errors_never_change_state(void **state)
{
	struct xl_check_config ck = ck_make(0.02);
	struct xl_config *c;
	struct xl_health_stats st;

	(void)state;
	c = keep(mk_cfg(2, 1, &ck, NULL));
	c->vs[0].reals[0].check->initial_up = true;
	fx.script[0] = "E";
	fx.script[1] = "E";
	configure(c);
	RUN_UNTIL(errors() >= 10, 5.0);
	assert_true(up(0, 0));
	assert_false(up(1, 0));
	run_for(0.02);
	xl_health_stats(fx.h, &st);
	assert_int_equal(st.probe_errors, st.probes_done);
	assert_int_equal(fx.changed, 1); /* the configure only */
	/* rate-limited: one warning for the lot */
	assert_int_equal(count(logs(), "could not run"), 1);
	assert_non_null(strstr(logs(), "health check of real server "
				       "10.0.0.1:80 of \"svc0\" (TCP "
				       "192.168.0.1:8000) could not run: "
				       "socket: no fds; state unchanged\n"));
}

static void test_error_does_not_break_a_run(void **state)
{
	struct xl_check_config ck = ck_make(0.02);

	(void)state;
	ck.initial_up = true;
	ck.fall = 2;
	fx.script[0] = "DEEDU";
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(!up(0, 0), 2.0);
	assert_int_equal(fx.nstarts, 4);
	assert_non_null(strstr(logs(), "(2 failures in a row)"));
}

static void test_start_failure_is_an_error(void **state)
{
	struct xl_check_config ck = ck_make(0.02);
	struct xl_config *c;
	struct xl_health_stats st;

	(void)state;
	c = keep(mk_cfg(1, 3, &ck, NULL));
	c->vs[0].reals[0].check->initial_up = true;
	fx.start_err = -EMFILE;
	configure(c);
	RUN_UNTIL(errors() >= 20, 5.0);
	assert_true(up(0, 0));
	assert_false(up(0, 1));
	xl_health_stats(fx.h, &st);
	assert_int_equal(st.probes_started, 0);
	assert_int_equal(count(logs(), "could not run"), 1);
	assert_non_null(strstr(logs(), "could not start the check: "));
}

static void test_type_none_always_up(void **state)
{
	struct xl_check_config ck = ck_make(0.02);
	struct xl_health_stats st;

	(void)state;
	ck.type = XL_CHECK_NONE;
	configure(keep(mk_cfg(1, 2, &ck, NULL)));
	assert_true(up(0, 0));
	assert_true(up(0, 1));
	run_for(0.1);
	assert_int_equal(fx.nstarts, 0);
	assert_int_equal(fx.changed, 1);
	xl_health_stats(fx.h, &st);
	assert_int_equal(st.servers, 2);
	assert_int_equal(st.up, 2);
}

/* ---- scheduling --------------------------------------------------------- */

/*
 * The engine's own schedule, not the loop's punctuality: the next start is
 * the last start plus the period, +-5%, or at once when the result came
 * after that.  A loaded machine (valgrind, parallel make) delays timers
 * but cannot make this fail.
 */
static void assert_period(const struct start *p, double period)
{
	assert_non_null(p);
	assert_true(p->done >= 0 && p->next >= 0);
	if (p->next <= p->done + EPS) {
		if (p->done >= p->t + period * 0.95 - EPS)
			return;
		fail_msg("next check at once after %.4f s, period %.3f s",
			 p->done - p->t, period);
	}
	if (p->next - p->t >= period * 0.95 - EPS &&
	    p->next - p->t <= period * 1.05 + EPS)
		return;
	fail_msg("next check %.4f s after the last, expected %.3f s +-5%%",
		 p->next - p->t, period);
}

static void test_intervals_by_state(void **state)
{
	struct xl_check_config ck = ck_make(0.2);
	static const double want[] = {0.2, 0.05, 0.05, 0.4, 0.4, 0.05, 0.2};

	(void)state;
	ck.fast_interval = 0.05;
	ck.down_interval = 0.4;
	ck.initial_up = true;
	fx.script[0] = "UDDDDUUU";
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(results() == 7, 5.0);
	for (size_t i = 0; i < 7; i++)
		assert_period(probe_of(0, i), want[i]);
	/* and the loop kept to it: never early.  next is ev_now plus the
	 * timer's remaining monotonic time, t a later ev_now: libev
	 * re-measures the offset between its wall and monotonic clocks from
	 * time to time, two system calls apart, which under valgrind can
	 * move ev_now by more than EPS.  An early start would be a period's
	 * 5 % (10 ms here) or more. */
	for (size_t i = 0; i < 6; i++)
		assert_true(probe_of(0, i + 1)->t >=
			    probe_of(0, i)->next - CLOCK_SLACK);
}

static void test_first_checks_spread(void **state)
{
	struct xl_check_config ck = ck_make(0.5);
	double t0, slot;

	(void)state;
	configure(keep(mk_cfg(1, 50, &ck, NULL)));
	t0 = ev_now(fx.loop);
	for (size_t k = 0; k < 50; k++) {
		/* server k of 50 at k/50 of the interval: 10 ms apart */
		slot = t0 + 0.5 * (double)k / 50;
		assert_true(fabs(xl_health_next_check(fx.h, 0, k) - slot) <
			    EPS);
	}
	RUN_UNTIL(starts_of(49) == 1, 5.0);
	for (size_t k = 0; k < 50; k++)
		assert_true(probe_of(k, 0)->t >=
			    t0 + 0.5 * (double)k / 50 - EPS);
}

static void test_jitter_within_five_percent(void **state)
{
	struct xl_check_config ck = ck_make(0.1);
	double gap, lo = 1, hi = 0, sum = 0;
	size_t n = 0;

	(void)state;
	configure(keep(mk_cfg(1, 10, &ck, NULL)));
	RUN_UNTIL(results() >= 100, 10.0);
	for (size_t i = 0; i < fx.nstarts; i++) {
		const struct start *p = &fx.starts[i];

		if (p->done < 0)
			continue;
		assert_period(p, 0.1);
		if (p->next <= p->done + EPS)
			continue; /* overdue on a slow machine: no jitter */
		gap = p->next - p->t;
		lo = gap < lo ? gap : lo;
		hi = gap > hi ? gap : hi;
		sum += gap;
		n++;
	}
	assert_true(n >= 50);
	/* uniform over +-5%: spread, and centred on the interval */
	assert_true(lo < 0.099);
	assert_true(hi > 0.101);
	assert_true(fabs(sum / (double)n - 0.1) < 0.005);
}

static void test_running_probe_not_started_twice(void **state)
{
	struct xl_check_config ck = ck_make(0.05);

	(void)state;
	fx.hold[0] = true;
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(fx.nheld == 1, 1.0);
	assert_true(xl_health_next_check(fx.h, 0, 0) < 0); /* none due */
	run_for(0.3);
	assert_int_equal(fx.nstarts, 1);
	release_held();
	RUN_UNTIL(fx.nstarts == 2, 2.0);
	/* overdue: the next start follows the result at once */
	assert_true(fabs(probe_of(0, 0)->next - probe_of(0, 0)->done) < EPS);
}

static void test_changed_once_for_a_batch(void **state)
{
	struct xl_check_config ck = ck_make(0.2);

	(void)state;
	for (size_t k = 0; k < 4; k++)
		fx.hold[k] = true;
	configure(keep(mk_cfg(1, 4, &ck, NULL)));
	RUN_UNTIL(fx.nheld == 4, 1.0);
	assert_int_equal(fx.changed, 0);
	release_held(); /* four results in one callback */
	RUN_UNTIL(up(0, 0) && up(0, 1) && up(0, 2) && up(0, 3), 1.0);
	run_for(0.05);
	assert_int_equal(fx.changed, 1);
	assert_int_equal(count(logs(), " is up: "), 4);
}

/* ---- reloads ------------------------------------------------------------ */

static void test_reload_unchanged_keeps_state_and_schedule(void **state)
{
	struct xl_check_config ck = ck_make(0.2);
	static const size_t rev[] = {1, 0};
	struct xl_config *a, *b;
	double next0, next1;
	size_t n;

	(void)state;
	a = mk_cfg(2, 1, &ck, NULL);
	a->vs[0].reals[0].check->initial_up = true;
	fx.script[1] = "D";
	configure(a);
	/* server 1 has failed twice (t = 0.1, 0.3); server 0 is up */
	RUN_UNTIL(starts_of(1) == 2 && fx.running == 0, 2.0);
	assert_true(up(0, 0));
	assert_false(up(1, 0));
	assert_int_equal(fx.changed, 1);

	next0 = xl_health_next_check(fx.h, 0, 0);
	next1 = xl_health_next_check(fx.h, 1, 0);
	assert_true(next0 > ev_now(fx.loop) && next1 > ev_now(fx.loop));

	b = keep(mk_cfg(2, 1, &ck, rev)); /* same servers, other order */
	b->vs[1].reals[0].check->initial_up = true;
	configure(b);
	xl_config_free(a); /* nothing may point into it any more */
	assert_false(up(0, 0));
	assert_true(up(1, 0));
	assert_false(xl_health_is_up(fx.h, 2, 0));
	assert_false(xl_health_is_up(fx.h, 0, 1));
	/* the same schedule: no re-check burst */
	assert_true(fabs(xl_health_next_check(fx.h, 1, 0) - next0) < EPS);
	assert_true(fabs(xl_health_next_check(fx.h, 0, 0) - next1) < EPS);
	n = fx.nstarts;
	run_for(0.02);
	for (size_t i = n; i < fx.nstarts; i++)
		assert_true(fx.starts[i].t >= fmin(next0, next1) - EPS);
	RUN_UNTIL(starts_of(0) == 3 && starts_of(1) == 3, 5.0);
	assert_false(up(0, 0));
	assert_true(up(1, 0));
	run_for(0.02);
	assert_int_equal(fx.changed, 1);
}

/*
 * A reload that left services unchanged (cfg->prev and vs[].prev, as
 * xl_config_reload links them) hands their servers over by position: same
 * state, same schedule, no callback; later changes name only their own
 * service, at its new index.
 */
static void test_reload_linked_takes_over_unchanged(void **state)
{
	struct xl_check_config ck = ck_make(0.2);
	static const size_t rev[] = {2, 1, 0};
	struct xl_config *a, *b;
	double next[3];

	(void)state;
	ck.initial_up = true;
	a = mk_cfg(3, 1, &ck, NULL);
	configure(a);
	RUN_UNTIL(fx.changed == 1 && fx.nstarts >= 3 && !fx.running, 2.0);
	for (size_t v = 0; v < 3; v++)
		next[v] = xl_health_next_check(fx.h, v, 0);

	b = keep(mk_cfg(3, 1, &ck, rev));
	xl_config_follow(b, a);
	b->nsame = 2;
	b->vs[0].prev = 2; /* svc2, unchanged */
	b->vs[1].prev = XL_VS_NONE;
	b->vs[1].svc.dests[0].weight = 5; /* svc1 changed */
	b->vs[2].prev = 0;		  /* svc0, unchanged */
	configure(b);
	xl_config_free(a); /* nothing may point into it any more */
	for (size_t v = 0; v < 3; v++)
		assert_true(up(v, 0));
	assert_true(fabs(xl_health_next_check(fx.h, 0, 0) - next[2]) < EPS);
	assert_true(fabs(xl_health_next_check(fx.h, 1, 0) - next[1]) < EPS);
	assert_true(fabs(xl_health_next_check(fx.h, 2, 0) - next[0]) < EPS);
	run_for(0.05);
	assert_int_equal(fx.changed, 1);

	fx.script[2] = "D"; /* svc2's server, b's service 0 */
	RUN_UNTIL(!up(0, 0), 3.0);
	run_for(0.02);
	assert_int_equal(fx.changed, 2);
	assert_int_equal(fx.nchanged_vs, 1);
	assert_int_equal(fx.changed_vs[0], 0);
	assert_true(up(1, 0) && up(2, 0));
}

/*
 * A change not yet reported when the reload comes (the report runs once
 * per loop iteration) is reported after it, under the service's new index.
 */
static void test_reload_linked_carries_pending(void **state)
{
	struct xl_check_config ck = ck_make(0.2);
	static const size_t rev[] = {2, 1, 0};
	struct xl_config *a, *b;

	(void)state;
	ck.initial_up = true;
	ck.fall = 1;
	a = mk_cfg(3, 1, &ck, NULL);
	configure(a);
	RUN_UNTIL(fx.changed == 1, 2.0);
	fx.script[2] = "D";
	RUN_UNTIL(!up(2, 0), 3.0); /* the report is still to come */
	assert_int_equal(fx.changed, 1);

	b = keep(mk_cfg(3, 1, &ck, rev));
	xl_config_follow(b, a);
	b->nsame = 3;
	for (size_t v = 0; v < 3; v++)
		b->vs[v].prev = 2 - v;
	configure(b);
	xl_config_free(a);
	run_for(0.02);
	assert_int_equal(fx.changed, 2);
	assert_int_equal(fx.nchanged_vs, 1);
	assert_int_equal(fx.changed_vs[0], 0); /* svc2, now first */
	assert_false(up(0, 0));
}

static void test_reload_changed_check_restarts(void **state)
{
	struct xl_check_config ck = ck_make(0.2);
	struct xl_config *b;

	(void)state;
	ck.initial_up = true;
	fx.script[0] = "D";
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(fx.nstarts == 1 && fx.running == 0, 1.0);
	RUN_UNTIL(fx.changed == 1, 1.0);
	assert_true(up(0, 0)); /* one failure of three */

	ck.initial_up = false; /* changed: starts over, down */
	ck.fall = 2;
	b = keep(mk_cfg(1, 1, &ck, NULL));
	fx.script[0] = "U";
	configure(b);
	assert_false(up(0, 0));
	/* a new server, the only one: checked at once */
	assert_true(fabs(xl_health_next_check(fx.h, 0, 0) - ev_now(fx.loop)) <
		    EPS);
	RUN_UNTIL(fx.changed == 2, 1.0);
	RUN_UNTIL(up(0, 0), 2.0); /* and up on its first success */
	RUN_UNTIL(fx.changed == 3, 1.0);
}

static void test_reload_restart_alone_is_no_change(void **state)
{
	struct xl_check_config ck = ck_make(0.2);

	(void)state;
	ck.initial_up = true;
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	RUN_UNTIL(fx.changed == 1, 1.0);
	ck.rise = 5; /* a new check, still up from initial_state */
	configure(keep(mk_cfg(1, 1, &ck, NULL)));
	assert_true(up(0, 0));
	run_for(0.05);
	assert_int_equal(fx.changed, 1);
}

static void test_reload_removed_servers_stop(void **state)
{
	struct xl_check_config ck = ck_make(0.1);
	struct xl_health_stats st;
	size_t n0, n1;

	(void)state;
	fx.hold[1] = true;
	configure(keep(mk_cfg(1, 2, &ck, NULL)));
	RUN_UNTIL(fx.nheld == 1, 1.0);
	configure(keep(mk_cfg(1, 1, &ck, NULL))); /* server 1 is gone */
	assert_int_equal(fx.cancels, 1);
	assert_int_equal(fx.nheld, 0);
	n1 = starts_of(1);
	n0 = starts_of(0);
	RUN_UNTIL(starts_of(0) >= n0 + 3, 5.0);
	assert_int_equal(starts_of(1), n1);
	xl_health_stats(fx.h, &st);
	assert_int_equal(st.servers, 1);
}

static void test_free_cancels_running_probes(void **state)
{
	struct xl_check_config ck = ck_make(0.05);

	(void)state;
	for (size_t k = 0; k < 3; k++)
		fx.hold[k] = true;
	configure(keep(mk_cfg(1, 3, &ck, NULL)));
	RUN_UNTIL(fx.nheld == 3, 1.0);
	xl_health_free(fx.h);
	fx.h = NULL;
	assert_int_equal(fx.cancels, 3);
	assert_int_equal(fx.running, 0);
	run_for(0.1); /* no watcher of the engine is left on the loop */
	assert_int_equal(fx.nstarts, 3);
}

/* A server the kernel held at start-up serves on until it fails `fall`. */
static void test_trust_adopted_server(void **state)
{
	struct xl_check_config ck = ck_make(0.03);
	struct xl_health_stats st;

	(void)state;
	ck.fall = 2;
	fx.script[0] = "D";
	configure(keep(mk_cfg(1, 2, &ck, NULL)));
	assert_false(up(0, 0));
	xl_health_trust(fx.h, 0, 0);
	xl_health_trust(fx.h, 0, 9); /* out of range: ignored */
	xl_health_trust(fx.h, 3, 0);
	assert_true(up(0, 0));
	assert_false(up(0, 1));
	xl_health_stats(fx.h, &st);
	assert_int_equal(st.up, 1);
	RUN_UNTIL(fx.changed == 1, 0.5);
	RUN_UNTIL(!up(0, 0), 2.0);
	assert_int_equal(starts_of(0), 2);
	assert_non_null(strstr(logs(), "(2 failures in a row)"));
}

/* 100,000 servers: a reload is a sort join, not a nested loop. */
static void test_big_reload_is_fast(void **state)
{
	struct xl_check_config ck = ck_make(60);
	struct xl_config *a = keep(mk_cfg(10000, 10, &ck, NULL));
	struct xl_config *b = keep(mk_cfg(10000, 10, &ck, NULL));
	struct xl_health_stats st;
	double t0, t1, t2;

	(void)state;
	for (size_t v = 0; v < b->nvs; v += 2) /* half of them changed */
		b->vs[v].reals[0].check->rise = 3;
	t0 = ev_time();
	configure(a);
	t1 = ev_time();
	configure(b);
	t2 = ev_time();
	print_message("100,000 servers: configure %.0f ms, reload %.0f ms\n",
		      (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	/*
	 * ~0.1 s each in a plain build; a nested loop over 100,000 x 100,000
	 * would take minutes.  The bound leaves room for valgrind on a
	 * loaded machine.
	 */
	assert_true(t1 - t0 < 10.0);
	assert_true(t2 - t1 < 10.0);
	xl_health_stats(fx.h, &st);
	assert_int_equal(st.servers, 100000);
	assert_int_equal(st.down, 100000);
}

/* ---- quorum ------------------------------------------------------------- */

static void test_quorum_lost_and_regained_once(void **state)
{
	struct xl_check_config ck = ck_make(0.05);
	struct xl_config *c;

	(void)state;
	ck.initial_up = true;
	ck.fall = 1;
	ck.rise = 1;
	c = keep(mk_cfg(1, 2, &ck, NULL));
	c->vs[0].has_sorry = true;
	c->vs[0].sorry.af = AF_INET;
	c->vs[0].sorry.addr.v4.s_addr = htonl(0x0a090909); /* 10.9.9.9 */
	c->vs[0].sorry.port = 80;
	fx.script[0] = fx.script[1] = "D";
	configure(c);
	RUN_UNTIL(!up(0, 0) && !up(0, 1), 2.0);
	run_for(0.02);
	assert_int_equal(count(logs(), "lost its quorum"), 1);
	assert_int_equal(xl_health_quorum(fx.h, 0), XL_QUORUM_LOST);
	assert_int_equal(xl_health_quorum(fx.h, 1), XL_QUORUM_UNKNOWN);
	assert_non_null(strstr(logs(), "virtual service \"svc0\" (TCP "
				       "192.168.0.1:8000) lost its quorum: "
				       "live weight 0 < 1, sorry server "
				       "10.9.9.9:80 takes the traffic\n"));
	fx.script[0] = "U";
	RUN_UNTIL(up(0, 0), 2.0);
	run_for(0.02);
	fx.script[1] = "U";
	RUN_UNTIL(up(0, 1), 2.0);
	run_for(0.02);
	assert_int_equal(count(logs(), "lost its quorum"), 1);
	assert_int_equal(count(logs(), "regained its quorum"), 1);
	assert_int_equal(xl_health_quorum(fx.h, 0), XL_QUORUM_OK);
	assert_non_null(strstr(logs(), "virtual service \"svc0\" (TCP "
				       "192.168.0.1:8000) regained its "
				       "quorum: live weight 1 >= 1\n"));
}

static void test_quorum_quiet_until_every_server_checked(void **state)
{
	struct xl_check_config ck = ck_make(0.3);

	(void)state;
	fx.script[0] = fx.script[1] = fx.script[2] = "D";
	fx.hold[2] = true; /* server 2's first check has no result yet */
	configure(keep(mk_cfg(1, 3, &ck, NULL)));
	RUN_UNTIL(results() == 2 && fx.nheld == 1, 2.0);
	run_for(0.02);
	assert_null(strstr(logs(), "quorum"));
	release_held();
	RUN_UNTIL(results() == 3, 2.0);
	run_for(0.02);
	assert_int_equal(count(logs(), "lost its quorum: live weight 0 < 1\n"),
			 1);
}

static void test_quorum_follows_weights_and_reloads(void **state)
{
	struct xl_check_config ck = ck_make(0.05);
	struct xl_config *a, *b;

	(void)state;
	ck.initial_up = true;
	a = keep(mk_cfg(1, 2, &ck, NULL));
	a->vs[0].svc.dests[0].weight = 2;
	a->vs[0].quorum = 3;
	configure(a);
	run_for(0.03);
	assert_null(strstr(logs(), "quorum")); /* 3 >= 3 */
	b = keep(mk_cfg(1, 2, &ck, NULL));     /* same servers, quorum 4 */
	b->vs[0].svc.dests[0].weight = 2;
	b->vs[0].quorum = 4;
	configure(b);
	run_for(0.03);
	assert_non_null(strstr(logs(), "lost its quorum: live weight 3 < 4\n"));
	assert_int_equal(fx.changed, 1);
}

/* A server in maintenance counts nothing towards quorum, whatever its
 * health: read at configure, and again for its service after a change. */
static void test_quorum_without_servers_in_maintenance(void **state)
{
	struct xl_check_config ck = ck_make(0.05);
	struct xl_maint m = {0};
	struct xl_config *a, *b;

	(void)state;
	ck.initial_up = true;
	a = keep(mk_cfg(1, 2, &ck, NULL));
	a->vs[0].quorum = 2;
	xl_health_set_maint(fx.h, &m);
	configure(a);
	run_for(0.03);
	assert_int_equal(xl_health_quorum(fx.h, 0), XL_QUORUM_OK);

	/* disabled: 1 < 2, logged with the reason */
	assert_int_equal(xl_maint_set(&m, "svc0", &a->vs[0].svc.dests[1], true),
			 1);
	xl_health_maint_changed(fx.h, 0);
	run_for(0.03);
	assert_int_equal(xl_health_quorum(fx.h, 0), XL_QUORUM_LOST);
	assert_non_null(strstr(logs(), "lost its quorum: live weight 1 < 2 "
				       "(1 in maintenance)\n"));
	assert_true(xl_health_is_up(fx.h, 0, 1)); /* its health is its own */

	/* a reload keeps it out (the flag is read at configure) */
	b = keep(mk_cfg(1, 2, &ck, NULL));
	b->vs[0].quorum = 2;
	configure(b);
	run_for(0.03);
	assert_int_equal(xl_health_quorum(fx.h, 0), XL_QUORUM_LOST);
	assert_null(strstr(logs(), "regained"));

	/* enabled: 2 >= 2 */
	assert_int_equal(
	    xl_maint_set(&m, "svc0", &b->vs[0].svc.dests[1], false), 1);
	xl_health_maint_changed(fx.h, 0);
	run_for(0.03);
	assert_int_equal(xl_health_quorum(fx.h, 0), XL_QUORUM_OK);
	assert_non_null(strstr(logs(), "regained its quorum: live weight 2 >= "
				       "2\n"));
	assert_int_equal(count(logs(), "lost its quorum"), 1);
	xl_health_set_maint(fx.h, NULL);
	xl_maint_free(&m);
}

/* A server down from start-up has no change of state, but why it is out
 * is logged once, at its first failure, not at every check. */
static void test_down_from_start_logged_once(void **state)
{
	struct xl_check_config ck = ck_make(0.02);

	(void)state;
	fx.script[0] = "D";
	configure(keep(mk_cfg(1, 2, &ck, NULL)));
	RUN_UNTIL(starts_of(0) >= 4, 2.0);
	assert_false(up(0, 0));
	assert_non_null(strstr(logs(), "real server 10.0.0.1:80 of \"svc0\" "
				       "(TCP 192.168.0.1:8000) is down: tcp "
				       "connect timeout after 500 ms (since "
				       "start-up)\n"));
	assert_int_equal(count(logs(), " is down: "), 1);
	/* the other server is named once: its coming up */
	assert_int_equal(count(logs(), "10.0.0.2:80 of \"svc0\""), 1);
}

/* "since start-up" belongs to the servers configured then, even when
 * their first result comes after a reload; a server the reload added is
 * down "since it was added". */
static void test_down_from_start_across_a_reload(void **state)
{
	struct xl_check_config ck = ck_make(0.05);

	(void)state;
	fx.script[0] = fx.script[2] = "D";
	fx.hold[0] = true; /* its first result comes after the reload */
	configure(keep(mk_cfg(1, 2, &ck, NULL)));
	RUN_UNTIL(fx.nheld == 1, 1.0);
	configure(keep(mk_cfg(1, 3, &ck, NULL))); /* adds 10.0.0.3 */
	release_held();
	RUN_UNTIL(count(logs(), " is down: ") == 2, 2.0);
	assert_non_null(strstr(logs(), "real server 10.0.0.1:80 of \"svc0\" "
				       "(TCP 192.168.0.1:8000) is down: tcp "
				       "connect timeout after 500 ms (since "
				       "start-up)\n"));
	assert_non_null(strstr(logs(), "real server 10.0.0.3:80 of \"svc0\" "
				       "(TCP 192.168.0.1:8000) is down: tcp "
				       "connect timeout after 500 ms (since it "
				       "was added)\n"));
}

/* The summary names the first servers down, counts the rest, and says
 * nothing while all are up; it comes every log_down_interval. */
static void test_down_summary(void **state)
{
	struct xl_check_config ck = ck_make(0.02);
	struct xl_config *c = keep(mk_cfg(2, 7, &ck, NULL));
	const char *l;

	(void)state;
	for (size_t k = 0; k < 14; k++)
		fx.script[k] = k == 3 ? "U" : "D";
	c->log_down_interval = 0.15;
	configure(c);
	xl_health_log_down(fx.h, 10);
	assert_null(strstr(logs(), "health: ")); /* none checked yet */
	RUN_UNTIL(starts_of(13) >= 1 && starts_of(0) >= 1, 2.0);
	run_for(0.03);
	xl_health_log_down(fx.h, 3);
	l = strstr(logs(), "health: 13 of 14 real servers down: ");
	assert_non_null(l);
	assert_non_null(strstr(l, "down: 10.0.0.1:80 of \"svc0\" (TCP "
				  "192.168.0.1:8000), 10.0.0.2:80 of \"svc0\" "
				  "(TCP 192.168.0.1:8000), 10.0.0.3:80 of "
				  "\"svc0\" (TCP 192.168.0.1:8000) and 10 "
				  "more\n"));
	run_for(0.4);
	assert_true(count(logs(), "health: 13 of 14") >= 3);
}

static void test_down_summary_quiet_when_all_up(void **state)
{
	struct xl_check_config ck = ck_make(0.02);
	struct xl_config *c = keep(mk_cfg(1, 3, &ck, NULL));

	(void)state;
	c->log_down_interval = 0.05;
	configure(c);
	RUN_UNTIL(up(0, 0) && up(0, 1) && up(0, 2), 1.0);
	run_for(0.2);
	assert_null(strstr(logs(), "health: "));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_initial_down_up_after_one_success),
	    T(test_initial_up_down_after_fall),
	    T(test_down_needs_rise_after_failing),
	    T(test_up_down_up_cycle),
	    T(test_info_records_results),
	    T(test_errors_never_change_state),
	    T(test_error_does_not_break_a_run),
	    T(test_start_failure_is_an_error),
	    T(test_type_none_always_up),
	    T(test_intervals_by_state),
	    T(test_first_checks_spread),
	    T(test_jitter_within_five_percent),
	    T(test_running_probe_not_started_twice),
	    T(test_changed_once_for_a_batch),
	    T(test_reload_unchanged_keeps_state_and_schedule),
	    T(test_reload_linked_takes_over_unchanged),
	    T(test_reload_linked_carries_pending),
	    T(test_reload_changed_check_restarts),
	    T(test_reload_restart_alone_is_no_change),
	    T(test_reload_removed_servers_stop),
	    T(test_free_cancels_running_probes),
	    T(test_trust_adopted_server),
	    T(test_big_reload_is_fast),
	    T(test_quorum_lost_and_regained_once),
	    T(test_quorum_quiet_until_every_server_checked),
	    T(test_quorum_follows_weights_and_reloads),
	    T(test_quorum_without_servers_in_maintenance),
	    T(test_down_from_start_logged_once),
	    T(test_down_from_start_across_a_reload),
	    T(test_down_summary),
	    T(test_down_summary_quiet_when_all_up),
	};

	xl_log_open("test_health", true, 6);
	return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
