/*
 * test_status.c - cmocka tests of the status reply and its table: a
 * configuration loaded from text, health answered from a matrix, the
 * kernel's counters from a table in memory behind struct xl_kernel_ops,
 * maintenance flags and a drain; the reply parsed back with json-c and
 * read as extlbctl reads it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builders.h"
#include "config.h"
#include "conftext.h"
#include "status.h"

static const char conf[] =
    "virtual_services = ( {\n"
    "  name = \"web\"; vip = \"192.168.10.100\"; port = 80;\n"
    "  scheduler = \"rr\"; quorum = 2;\n"
    "  sorry_server = { address = \"10.20.0.9\"; port = 80; };\n"
    "  real_servers = ( { address = \"10.20.0.5\"; port = 80; },\n"
    "                   { address = \"10.20.0.6\"; port = 80; weight = 3; },\n"
    "                   { address = \"10.20.0.7\"; port = 80; } );\n"
    "}, {\n"
    "  name = \"dns\"; vip = \"2001:db8::53\"; port = 53; protocol = \"udp\";\n"
    "  forward = \"dr\"; check = { type = \"none\"; };\n"
    "  real_servers = ( { address = \"2001:db8::1\"; port = 53; } );\n"
    "} );\n";

#define NOW 1800000000.0 /* 2027-01-15T08:00:00Z */

static double fixed_now(void)
{
	return NOW;
}

struct fx {
	struct xl_config *cfg;
	struct xl_health_info info[2][3];
	enum xl_health_quorum q[2];
	struct xl_table kernel;
	struct xl_maint maint;
	struct xl_drain drain;
	uint64_t generation;
	struct xl_status_src src;
};

static int fx_info(const void *arg, size_t vs, size_t rs,
		   struct xl_health_info *out)
{
	const struct fx *f = arg;

	if (vs >= 2 || rs >= 3)
		return -ENOENT;
	*out = f->info[vs][rs];
	return 0;
}

static enum xl_health_quorum fx_quorum(const void *arg, size_t vs)
{
	return ((const struct fx *)arg)->q[vs];
}

static int fk_get(void *k, const struct xl_service *key, struct xl_service *out)
{
	const struct xl_service *s = xl_table_find(k, key);

	if (!s)
		return -ESRCH;
	return xl_service_copy(out, s);
}

/* The counters of destination i: conns 500 + i, 2 connections a second. */
static int fk_get_stats(void *k, const struct xl_service *key,
			struct xl_service *out, struct xl_ipvs_stats **st)
{
	int rc = fk_get(k, key, out);

	*st = NULL;
	if (rc < 0)
		return rc;
	*st = calloc(out->ndests + 1, sizeof(**st));
	assert_non_null(*st);
	for (size_t i = 0; i < out->ndests; i++)
		(*st)[i] = (struct xl_ipvs_stats){.conns = 500 + i, .cps = 2};
	return 0;
}

static const struct xl_kernel_ops fake_kernel = {
    .get_service = fk_get, .get_service_stats = fk_get_stats};

/* The index of service name in the configuration. */
static size_t vs_of(const struct xl_config *c, const char *name)
{
	return (size_t)(xl_config_find_name(c, name) - c->vs);
}

/*
 * web: .5 up (3 active), .6 down (connection refused, absent from the
 * kernel), .7 up but disabled (weight 0 in the kernel), .8 draining;
 * dns: its one server up.
 */
static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t web, dns;
	struct xl_dest d;

	assert_non_null(f);
	f->cfg = ct_load(conf);
	web = vs_of(f->cfg, "web");
	dns = vs_of(f->cfg, "dns");
	for (size_t v = 0; v < 2; v++)
		for (size_t r = 0; r < 3; r++)
			f->info[v][r] = (struct xl_health_info){
			    .up = true,
			    .settled = true,
			    .checked = true,
			    .ok = 5,
			    .last_status = XL_CHECK_UP,
			    .last_reason = "",
			    .last_at = NOW - 2.5,
			    .last_elapsed = 0.0015,
			};
	f->info[web][1] = (struct xl_health_info){
	    .settled = true,
	    .checked = true,
	    .fail = 4,
	    .last_status = XL_CHECK_DOWN,
	    .last_reason = "connection refused",
	    .last_at = NOW - 1,
	    .last_elapsed = 0.001,
	};
	/* web: live weight .5 only (1, .7 is in maintenance) < quorum 2, as
	 * health judges it */
	f->q[web] = XL_QUORUM_LOST;
	f->q[dns] = XL_QUORUM_OK;

	/* the kernel: web with .5, .7 (weight 0) and .8 (draining) */
	assert_int_equal(
	    xl_table_copy(&f->kernel,
			  &(struct xl_table){
			      .svcs =
				  (struct xl_service[]){
				      xl_service_key(&f->cfg->vs[web].svc),
				      xl_service_key(&f->cfg->vs[dns].svc)},
			      .nsvcs = 2}),
	    0);
	for (size_t i = 0; i < 2; i++) {
		struct xl_service *s = &f->kernel.svcs[i];
		const struct xl_vs_config *vs = xl_config_find(f->cfg, s);

		s->stats.conns = 100 + i;
		s->stats.cps = 7;
		s->dests = calloc(4, sizeof(*s->dests));
		assert_non_null(s->dests);
		if (vs == &f->cfg->vs[dns]) {
			s->dests[s->ndests++] = vs->svc.dests[0];
			continue;
		}
		s->dests[s->ndests] = vs->svc.dests[0];
		s->dests[s->ndests++].active_conns = 3;
		s->dests[s->ndests] = vs->svc.dests[2];
		s->dests[s->ndests].weight = 0;
		s->dests[s->ndests++].active_conns = 2;
		d = mk_server("10.20.0.8", 80);
		d.active_conns = 1;
		s->dests[s->ndests++] = d;
		xl_service_sort_dests(s);
	}
	xl_table_sort(&f->kernel);
	d = mk_server("10.20.0.7", 80);
	assert_int_equal(xl_maint_set(&f->maint, "web", &d, true), 1);
	f->drain.v = calloc(1, sizeof(*f->drain.v));
	assert_non_null(f->drain.v);
	f->drain.n = f->drain.cap = 1;
	f->drain.v[0].svc = xl_service_key(&f->cfg->vs[web].svc);
	f->drain.v[0].dest = mk_server("10.20.0.8", 80);
	f->drain.v[0].vs_name = strdup("web");
	f->drain.v[0].since = NOW - 10;
	f->drain.v[0].deadline = NOW + 50;
	f->generation = 4;
	f->src = (struct xl_status_src){
	    .cfg = f->cfg,
	    .conf_path = "/etc/extlb.conf",
	    .generation = 4,
	    .live_generation = &f->generation,
	    .read_at = NOW - 3600,
	    .info = fx_info,
	    .quorum = fx_quorum,
	    .health = f,
	    .drain = &f->drain,
	    .maint = &f->maint,
	    .kops = &fake_kernel,
	    .kernel = &f->kernel,
	    .now = fixed_now,
	};
	return f;
}

static void fx_free(struct fx *f)
{
	xl_table_free(&f->kernel);
	xl_maint_free(&f->maint);
	xl_drain_free(&f->drain);
	xl_config_free(f->cfg);
	free(f);
}

/* The whole reply, built step by step; returns it parsed. */
static json_object *run(struct fx *f, const char *service, size_t budget,
			int *steps)
{
	char err[256];
	struct xl_status_job *j =
	    xl_status_start_src(&f->src, service, err, sizeof(err));
	const char *text;
	json_object *o;
	size_t len;
	int rc;

	assert_non_null(j);
	*steps = 0;
	while ((rc = xl_status_step(j, budget, err, sizeof(err))) == 1)
		(*steps)++;
	assert_int_equal(rc, 0);
	(*steps)++;
	text = xl_status_text(j, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_int_equal(text[len - 1], '\n');
	assert_null(memchr(text, '\n', len - 1)); /* one line */
	o = json_tokener_parse(text);
	assert_non_null(o);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "exit")),
			 xl_status_exit(j));
	xl_status_free(j);
	return o;
}

static json_object *at(json_object *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o;
	     k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(k));
		else if (!json_object_object_get_ex(o, k, &o))
			o = NULL;
	}
	if (!o)
		fail_msg("no %s in the reply", path);
	return o;
}

static const char *s_at(json_object *o, const char *path)
{
	return json_object_get_string(at(o, path));
}

static int64_t i_at(json_object *o, const char *path)
{
	return json_object_get_int64(at(o, path));
}

static bool has(json_object *o, const char *path, const char *k)
{
	return json_object_object_get_ex(at(o, path), k, NULL);
}

/* Services come in identity order: web (IPv4) before dns (IPv6). */
static void test_reply(void **state)
{
	struct fx *f = fx_new();
	int steps;
	json_object *o = run(f, NULL, 1, &steps);

	(void)state;
	assert_int_equal(steps, 2);
	assert_true(json_object_get_boolean(at(o, "ok")));
	assert_int_equal(i_at(o, "exit"), 1); /* .6 is down */
	assert_int_equal(i_at(o, "generation"), 4);
	assert_string_equal(s_at(o, "config"), "/etc/extlb.conf");
	assert_string_equal(s_at(o, "time"), "2027-01-15T08:00:00Z");
	assert_string_equal(s_at(o, "read_at"), "2027-01-15T07:00:00Z");
	assert_int_equal(i_at(o, "summary.services"), 2);
	assert_int_equal(i_at(o, "summary.servers"), 4);
	assert_int_equal(i_at(o, "summary.up"), 3);
	assert_int_equal(i_at(o, "summary.down"), 1);
	assert_int_equal(i_at(o, "summary.maintenance"), 1);
	assert_int_equal(i_at(o, "summary.draining"), 1);
	/* web: health's quorum, as it is */
	assert_int_equal(i_at(o, "summary.quorum_lost"), 1);

	assert_string_equal(s_at(o, "services.0.name"), "web");
	assert_string_equal(s_at(o, "services.0.vip"), "192.168.10.100");
	assert_int_equal(i_at(o, "services.0.port"), 80);
	assert_string_equal(s_at(o, "services.0.protocol"), "tcp");
	assert_string_equal(s_at(o, "services.0.scheduler"), "rr");
	assert_string_equal(s_at(o, "services.0.forwarding"), "nat");
	assert_string_equal(s_at(o, "services.0.quorum"), "lost");
	assert_int_equal(i_at(o, "services.0.stats.conns"), 100);
	assert_int_equal(i_at(o, "services.0.stats.cps"), 7);

	/* .5: up, in the kernel, its connections */
	assert_string_equal(s_at(o, "services.0.servers.0.server"),
			    "10.20.0.5:80");
	assert_string_equal(s_at(o, "services.0.servers.0.health"), "up");
	assert_int_equal(i_at(o, "services.0.servers.0.effective_weight"), 1);
	assert_int_equal(i_at(o, "services.0.servers.0.active"), 3);
	/* its counters, the kernel's first destination's */
	assert_int_equal(i_at(o, "services.0.servers.0.stats.conns"), 500);
	assert_int_equal(i_at(o, "services.0.servers.0.stats.cps"), 2);
	assert_int_equal(i_at(o, "services.0.servers.0.consecutive_ok"), 5);
	assert_string_equal(s_at(o, "services.0.servers.0.check.result"),
			    "success");
	assert_string_equal(s_at(o, "services.0.servers.0.check.type"), "tcp");
	assert_string_equal(s_at(o, "services.0.servers.0.check.at"),
			    "2027-01-15T07:59:57Z");
	assert_true(json_object_get_double(
			at(o, "services.0.servers.0.check.ago")) == 2.5);
	assert_false(
	    json_object_get_boolean(at(o, "services.0.servers.0.maintenance")));

	/* .6: down with its reason, not in the kernel: no effective weight */
	assert_string_equal(s_at(o, "services.0.servers.1.health"), "down");
	assert_string_equal(s_at(o, "services.0.servers.1.check.reason"),
			    "connection refused");
	assert_string_equal(s_at(o, "services.0.servers.1.check.result"),
			    "failure");
	assert_int_equal(i_at(o, "services.0.servers.1.consecutive_fail"), 4);
	assert_int_equal(i_at(o, "services.0.servers.1.weight"), 3);
	assert_false(
	    json_object_get_boolean(at(o, "services.0.servers.1.in_kernel")));
	assert_false(has(o, "services.0.servers.1", "effective_weight"));

	/* .7: up, in maintenance, weight 1 configured, 0 in the kernel */
	assert_true(
	    json_object_get_boolean(at(o, "services.0.servers.2.maintenance")));
	assert_int_equal(i_at(o, "services.0.servers.2.weight"), 1);
	assert_int_equal(i_at(o, "services.0.servers.2.effective_weight"), 0);
	assert_int_equal(i_at(o, "services.0.servers.2.active"), 2);

	/* the drain and the sorry server */
	assert_string_equal(s_at(o, "services.0.draining.0.server"),
			    "10.20.0.8:80");
	assert_int_equal(i_at(o, "services.0.draining.0.active"), 1);
	assert_string_equal(s_at(o, "services.0.draining.0.deadline"),
			    "2027-01-15T08:00:50Z");
	assert_string_equal(s_at(o, "services.0.sorry.server"), "10.20.0.9:80");
	assert_false(
	    json_object_get_boolean(at(o, "services.0.sorry.in_kernel")));

	assert_string_equal(s_at(o, "services.1.name"), "dns");
	assert_string_equal(s_at(o, "services.1.vip"), "2001:db8::53");
	assert_string_equal(s_at(o, "services.1.family"), "inet6");
	assert_string_equal(s_at(o, "services.1.protocol"), "udp");
	assert_string_equal(s_at(o, "services.1.forwarding"), "dr");
	assert_string_equal(s_at(o, "services.1.servers.0.server"),
			    "[2001:db8::1]:53");
	assert_string_equal(s_at(o, "services.1.servers.0.check.type"), "none");
	assert_int_equal(i_at(o, "services.1.stats.conns"), 101);
	json_object_put(o);
	fx_free(f);
}

static void test_exit_zero_when_all_up(void **state)
{
	struct fx *f = fx_new();
	size_t web = vs_of(f->cfg, "web");
	struct xl_dest d = mk_server("10.20.0.7", 80);
	json_object *o;
	int steps;

	(void)state;
	f->info[web][1] = f->info[web][0];
	assert_int_equal(xl_maint_set(&f->maint, "web", &d, false), 1);
	f->q[web] = XL_QUORUM_OK;
	o = run(f, NULL, 100, &steps);
	assert_int_equal(i_at(o, "exit"), 0);
	assert_string_equal(s_at(o, "services.0.quorum"), "ok");
	json_object_put(o);
	/* a server whose state is not known yet makes it 1 */
	f->info[web][2].settled = false;
	o = run(f, NULL, 100, &steps);
	assert_int_equal(i_at(o, "exit"), 1);
	assert_string_equal(s_at(o, "services.0.servers.2.health"), "unknown");
	json_object_put(o);
	fx_free(f);
}

static void test_one_service_and_unknown_name(void **state)
{
	struct fx *f = fx_new();
	char err[128] = "";
	json_object *o;
	int steps;

	(void)state;
	o = run(f, "dns", 10, &steps);
	assert_int_equal(json_object_array_length(at(o, "services")), 1);
	assert_string_equal(s_at(o, "services.0.name"), "dns");
	assert_int_equal(i_at(o, "exit"), 0);
	json_object_put(o);
	assert_null(xl_status_start_src(&f->src, "nosuch", err, sizeof(err)));
	assert_string_equal(err, "no service named \"nosuch\"");
	fx_free(f);
}

static void test_reload_between_steps(void **state)
{
	struct fx *f = fx_new();
	char err[128] = "";
	struct xl_status_job *j =
	    xl_status_start_src(&f->src, NULL, err, sizeof(err));

	(void)state;
	assert_int_equal(xl_status_step(j, 1, err, sizeof(err)), 1);
	f->generation++;
	assert_int_equal(xl_status_step(j, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "the configuration was reloaded; ask again");
	xl_status_free(j);
	fx_free(f);
}

/* A service not in the kernel (yet): no counters, no effective weight. */
static void test_service_not_in_kernel(void **state)
{
	struct fx *f = fx_new();
	json_object *o;
	int steps;

	(void)state;
	f->src.kops = NULL;
	o = run(f, "web", 10, &steps);
	assert_false(json_object_get_boolean(at(o, "services.0.in_kernel")));
	assert_false(has(o, "services.0", "stats"));
	assert_false(has(o, "services.0.servers.0", "effective_weight"));
	json_object_put(o);
	fx_free(f);
}

static void collect(void *arg, json_object *svc)
{
	json_object_array_add(arg, json_object_get(svc));
}

static void test_hook_takes_the_services(void **state)
{
	struct fx *f = fx_new();
	json_object *got = json_object_new_array(), *o;
	char err[128];
	struct xl_status_job *j =
	    xl_status_start_src(&f->src, NULL, err, sizeof(err));
	size_t len;

	(void)state;
	xl_status_set_hook(j, collect, got);
	while (xl_status_step(j, 1, err, sizeof(err)) == 1)
		;
	assert_int_equal(json_object_array_length(got), 2);
	o = json_tokener_parse(xl_status_text(j, &len));
	assert_int_equal(json_object_array_length(at(o, "services")), 0);
	assert_int_equal(i_at(o, "summary.servers"), 4);
	json_object_put(o);
	json_object_put(got);
	xl_status_free(j);
	fx_free(f);
}

/*
 * The reply is handed over, not copied: take gives the very buffer that
 * text pointed into, and the job keeps nothing.  The head fits the room
 * left for it even at its longest: a path json-c escapes six bytes a
 * byte, and numbers of twenty digits.
 */
static void test_take_hands_the_reply_over(void **state)
{
	struct fx *f = fx_new();
	char path[1001], err[128], *buf;
	struct xl_status_job *j;
	const char *text;
	size_t len, len2, at_;
	json_object *o;

	(void)state;
	memset(path, '\x01', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	f->src.conf_path = path;
	f->src.generation = f->generation = INT64_MAX;
	assert_non_null(
	    j = xl_status_start_src(&f->src, NULL, err, sizeof(err)));
	while (xl_status_step(j, 1, err, sizeof(err)) == 1)
		;
	assert_non_null(text = xl_status_text(j, &len));
	assert_non_null(buf = xl_status_take(j, &at_, &len2));
	assert_ptr_equal(buf + at_, text);
	assert_int_equal(len2, len);
	assert_null(xl_status_text(j, &len2));
	assert_int_equal(len2, 0);
	assert_null(xl_status_take(j, &at_, &len2));
	xl_status_free(j);
	/* the buffer outlives the job, and is the whole reply */
	assert_int_equal(strlen(buf + at_), len);
	assert_non_null(o = json_tokener_parse(buf + at_));
	assert_string_equal(s_at(o, "config"), path);
	assert_int_equal(json_object_get_int64(at(o, "generation")), INT64_MAX);
	assert_int_equal(json_object_array_length(at(o, "services")), 2);
	json_object_put(o);
	free(buf);
	fx_free(f);
}

/* The table a person reads: ipvsadm's columns, the health, the reason. */
static void test_table(void **state)
{
	struct fx *f = fx_new();
	int steps;
	json_object *o = run(f, NULL, 5, &steps);
	char *text = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&text, &n);
	static const char *const want[] = {
	    "extlbd: /etc/extlb.conf, generation 4, read 2027-01-15T07:00:00Z",
	    "2 virtual services, 4 real servers: 3 up, 1 down, 0 unknown; 1 "
	    "in maintenance, 1 draining; quorum lost 1",
	    "Prot LocalAddress:Port Scheduler",
	    "\nTCP  192.168.10.100:80 rr  \"web\"  quorum lost  100  7 0 0\n",
	    "  -> 10.20.0.5:80                  Masq    1      1      3        "
	    "  "
	    "0         up        ok, 2.5s ago (2027-01-15T07:59:57Z), 5 "
	    "successes in a row\n",
	    "  -> 10.20.0.6:80                  Masq    3      -      -        "
	    "  "
	    "-         down      connection refused, 1.0s ago "
	    "(2027-01-15T07:59:59Z), 4 failures in a row\n",
	    "  -> 10.20.0.7:80                  Masq    1      0      2        "
	    "  "
	    "0         up        MAINTENANCE (disabled); ok",
	    "  -> 10.20.0.8:80                  Masq    -      0      1        "
	    "  "
	    "0         draining  removed from the configuration, until "
	    "2027-01-15T08:00:50Z\n",
	    "  -> 10.20.0.9:80                  Masq    1      -      -        "
	    "  "
	    "-         sorry     standby\n",
	    "\nUDP  [2001:db8::53]:53 wlc  \"dns\"  quorum ok  101  7 0 0\n",
	    "  -> [2001:db8::1]:53              Route   1      1      0        "
	    "  "
	    "0         up        no check (check type \"none\")\n",
	};

	(void)state;
	assert_non_null(fp);
	xl_status_print(fp, o);
	assert_int_equal(fclose(fp), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i])) {
			fputs(text, stderr);
			fail_msg("the table lacks \"%s\"", want[i]);
		}
	free(text);
	json_object_put(o);
	fx_free(f);
}

static int up_info(const void *arg, size_t vs, size_t rs,
		   struct xl_health_info *out)
{
	(void)arg;
	(void)vs;
	(void)rs;
	*out = (struct xl_health_info){.up = true, .settled = true};
	return 0;
}

/* This thread's CPU time: what a step costs, whatever else the machine
 * runs meanwhile. */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * 10,000 services of 10 servers: no step of XL_STATUS_SLICE services
 * holds the loop long (the kernel's own time is not in it: the VM test
 * has it), and the reply is whole.  A step is timed by the CPU it uses,
 * so other work on a shared host does not count; the bound is loose
 * (sanitizers); what it catches is a step that grows with the table.
 */
static void test_large_table_in_slices(void **state)
{
	size_t nvs = 10000, cap = nvs * 700 + 64, o = 0;
	char *text = malloc(cap), err[128];
	struct xl_config *c;
	struct xl_status_src src = {.info = up_info, .now = fixed_now};
	struct xl_status_job *j;
	double worst = 0, total = 0, t;
	size_t steps = 0, len;
	json_object *reply;
	int rc;

	(void)state;
	assert_non_null(text);
	o += (size_t)snprintf(text + o, cap - o, "virtual_services = (\n");
	for (size_t v = 0; v < nvs; v++) {
		o += (size_t)snprintf(
		    text + o, cap - o,
		    "%s{ name = \"s%zu\"; vip = \"10.%zu.%zu.1\"; "
		    "port = 80; real_servers = (",
		    v ? "," : "", v, v >> 8, v & 255);
		for (int r = 0; r < 10; r++)
			o += (size_t)snprintf(
			    text + o, cap - o,
			    "%s{ address = \"172.16.%zu.%d\"; port = 80; }",
			    r ? "," : "", v & 255, r + 1);
		o += (size_t)snprintf(text + o, cap - o, "); }\n");
	}
	snprintf(text + o, cap - o, ");\n");
	c = ct_load(text);
	free(text);
	src.cfg = c;
	j = xl_status_start_src(&src, NULL, err, sizeof(err));
	assert_non_null(j);
	do {
		t = cpu_now();
		rc = xl_status_step(j, XL_STATUS_SLICE, err, sizeof(err));
		t = cpu_now() - t;
		worst = t > worst ? t : worst;
		total += t;
		steps++;
	} while (rc == 1);
	assert_int_equal(rc, 0);
	print_message("status: %zu steps, %.2f ms each, the longest %.2f ms\n",
		      steps, total / (double)steps * 1e3, worst * 1e3);
	assert_true(steps >= (nvs + XL_STATUS_SLICE - 1) / XL_STATUS_SLICE);
	assert_true(worst < 0.2);
	reply = json_tokener_parse(xl_status_text(j, &len));
	assert_non_null(reply);
	assert_int_equal(i_at(reply, "summary.servers"), 100000);
	assert_int_equal(json_object_array_length(at(reply, "services")), nvs);
	json_object_put(reply);
	xl_status_free(j);
	xl_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply),
	    cmocka_unit_test(test_exit_zero_when_all_up),
	    cmocka_unit_test(test_one_service_and_unknown_name),
	    cmocka_unit_test(test_reload_between_steps),
	    cmocka_unit_test(test_service_not_in_kernel),
	    cmocka_unit_test(test_hook_takes_the_services),
	    cmocka_unit_test(test_take_hands_the_reply_over),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_large_table_in_slices),
	};

	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
