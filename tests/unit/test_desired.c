/*
 * test_desired.c - cmocka tests of xl_desired_build(): config plus health.
 *
 * Most configurations are built in memory (services 192.168.0.1:8000+i,
 * real servers 10.0.i.(r+1):80) so that a test states exactly the weights,
 * quorum and sorry server it is about; one is loaded from a file to pin
 * down that the parser's fields mean what this function assumes.  Health
 * comes from a matrix of "down" flags the test fills.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conftext.h"
#include "desired.h"

/* ---- building configurations ------------------------------------------ */

/* down[v * nrs + r]: is real server r of service v down? */
struct health_fx {
	size_t nrs;
	bool *down;
};

static bool fx_is_up(const void *arg, size_t vs, size_t rs)
{
	const struct health_fx *f = arg;

	return !f->down[vs * f->nrs + rs];
}

static struct xl_dest mk_dest(const char *addr, uint16_t port, int32_t weight)
{
	struct xl_dest d;

	memset(&d, 0, sizeof(d));
	assert_int_equal(xl_addr_parse(addr, &d.af, &d.addr), 0);
	d.port = port;
	d.fwd = 0; /* IP_VS_CONN_F_MASQ */
	d.weight = weight;
	return d;
}

/* Service v at 192.168.0.1:8000+v with nrs servers 10.0.v.(r+1):80. */
static void mk_vs(struct xl_vs_config *vs, size_t v, size_t nrs)
{
	char name[32], addr[64];

	memset(vs, 0, sizeof(*vs));
	snprintf(name, sizeof(name), "svc%zu", v);
	vs->name = strdup(name);
	vs->svc.af = AF_INET;
	vs->svc.protocol = IPPROTO_TCP;
	inet_pton(AF_INET, "192.168.0.1", &vs->svc.addr.v4);
	vs->svc.port = (uint16_t)(8000 + v);
	strcpy(vs->svc.sched, "wlc");
	vs->svc.dests = calloc(nrs ? nrs : 1, sizeof(*vs->svc.dests));
	vs->reals = calloc(nrs ? nrs : 1, sizeof(*vs->reals));
	assert_non_null(vs->name);
	assert_non_null(vs->svc.dests);
	assert_non_null(vs->reals);
	vs->svc.ndests = nrs;
	for (size_t r = 0; r < nrs; r++) {
		snprintf(addr, sizeof(addr), "10.%zu.%zu.%zu", v >> 8, v & 255,
			 r + 1);
		vs->svc.dests[r] = mk_dest(addr, 80, 1);
	}
	vs->quorum = 1;
}

static struct xl_config *mk_cfg(size_t nvs, size_t nrs)
{
	struct xl_config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->vs = calloc(nvs ? nvs : 1, sizeof(*c->vs));
	assert_non_null(c->vs);
	c->nvs = nvs;
	for (size_t v = 0; v < nvs; v++)
		mk_vs(&c->vs[v], v, nrs);
	return c;
}

static void fx_init(struct health_fx *f, const struct xl_config *c, size_t nrs)
{
	f->nrs = nrs;
	f->down = calloc(c->nvs * nrs + 1, sizeof(*f->down));
	assert_non_null(f->down);
}

static void build(const struct xl_config *c, const struct health_fx *f,
		  struct xl_table *t)
{
	assert_int_equal(xl_desired_build(c, f ? fx_is_up : NULL, f, t), 0);
}

/* The destination of s at addr:port, or NULL. */
static const struct xl_dest *find_dest(const struct xl_service *s,
				       const char *addr, uint16_t port)
{
	struct xl_dest key = mk_dest(addr, port, 0);

	for (size_t i = 0; i < s->ndests; i++)
		if (!xl_dest_cmp(&s->dests[i], &key))
			return &s->dests[i];
	return NULL;
}

static void assert_sorted(const struct xl_table *t)
{
	for (size_t i = 0; i < t->nsvcs; i++) {
		const struct xl_service *s = &t->svcs[i];

		if (i)
			assert_true(xl_service_cmp(&t->svcs[i - 1], s) < 0);
		for (size_t j = 1; j < s->ndests; j++)
			assert_true(
			    xl_dest_cmp(&s->dests[j - 1], &s->dests[j]) < 0);
	}
}

/* Same services and destinations with the same attributes. */
static void assert_same_table(const struct xl_table *a,
			      const struct xl_table *b)
{
	assert_int_equal(a->nsvcs, b->nsvcs);
	for (size_t i = 0; i < a->nsvcs; i++) {
		assert_int_equal(xl_service_cmp(&a->svcs[i], &b->svcs[i]), 0);
		assert_true(xl_service_attrs_equal(&a->svcs[i], &b->svcs[i]));
		assert_int_equal(a->svcs[i].ndests, b->svcs[i].ndests);
		for (size_t j = 0; j < a->svcs[i].ndests; j++) {
			const struct xl_dest *x = &a->svcs[i].dests[j];
			const struct xl_dest *y = &b->svcs[i].dests[j];

			assert_int_equal(xl_dest_cmp(x, y), 0);
			assert_true(xl_dest_attrs_equal(x, y));
		}
	}
}

static void fx_free(struct xl_config *c, struct health_fx *f,
		    struct xl_table *t)
{
	xl_table_free(t);
	xl_config_free(c);
	if (f)
		free(f->down);
}

/* ---- tests ------------------------------------------------------------ */

static void test_all_up_is_the_config(void **state)
{
	struct xl_config *c = mk_cfg(3, 4);
	struct health_fx f;
	struct xl_table got, want;

	(void)state;
	fx_init(&f, c, 4);
	build(c, &f, &got);
	assert_int_equal(xl_config_table(c, &want), 0);
	assert_same_table(&got, &want);
	xl_table_free(&want);
	fx_free(c, &f, &got);
}

static void test_null_is_up_means_all_up(void **state)
{
	struct xl_config *c = mk_cfg(2, 3);
	struct xl_table got, want;

	(void)state;
	c->vs[1].has_sorry = true; /* quorum is met: no sorry server */
	c->vs[1].sorry = mk_dest("10.9.9.9", 80, 1);
	build(c, NULL, &got);
	assert_int_equal(xl_config_table(c, &want), 0);
	assert_same_table(&got, &want);
	xl_table_free(&want);
	fx_free(c, NULL, &got);
}

static void test_down_server_removed(void **state)
{
	struct xl_config *c = mk_cfg(2, 3);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 3);
	f.down[1 * 3 + 1] = true; /* svc1's 10.0.1.2 */
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 3);
	assert_int_equal(t.svcs[1].ndests, 2);
	assert_null(find_dest(&t.svcs[1], "10.0.1.2", 80));
	assert_non_null(find_dest(&t.svcs[1], "10.0.1.1", 80));
	assert_non_null(find_dest(&t.svcs[1], "10.0.1.3", 80));
	fx_free(c, &f, &t);
}

static void test_inhibit_keeps_down_server_at_weight_zero(void **state)
{
	struct xl_config *c = mk_cfg(1, 3);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 3);
	c->vs[0].inhibit_on_failure = true;
	c->vs[0].svc.dests[0].weight = 5;
	c->vs[0].svc.dests[2].weight = 7;
	f.down[2] = true;
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 3);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.1", 80)->weight, 5);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.2", 80)->weight, 1);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.3", 80)->weight, 0);
	/* the configuration itself is untouched */
	assert_int_equal(c->vs[0].svc.dests[2].weight, 7);
	fx_free(c, &f, &t);
}

static void test_sorry_server_when_all_down(void **state)
{
	struct xl_config *c = mk_cfg(1, 2);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 2);
	c->vs[0].has_sorry = true;
	c->vs[0].sorry = mk_dest("10.9.9.9", 8080, 1);
	f.down[0] = f.down[1] = true;
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 1);
	assert_non_null(find_dest(&t.svcs[0], "10.9.9.9", 8080));
	xl_table_free(&t);

	f.down[1] = false; /* one back: quorum 1 met, sorry server gone */
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 1);
	assert_non_null(find_dest(&t.svcs[0], "10.0.0.2", 80));
	assert_null(find_dest(&t.svcs[0], "10.9.9.9", 8080));
	fx_free(c, &f, &t);
}

static void test_no_sorry_server_no_quorum_table(void **state)
{
	struct xl_config *c = mk_cfg(1, 2);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 2);
	f.down[0] = f.down[1] = true;
	build(c, &f, &t);
	/* the service stays, empty: it is still ours */
	assert_int_equal(t.nsvcs, 1);
	assert_int_equal(t.svcs[0].ndests, 0);
	fx_free(c, &f, &t);
}

/* Weights 1, 2, 3 against quorum 3. */
static size_t quorum3(struct xl_config *c, struct health_fx *f, bool d0,
		      bool d1, bool d2, struct xl_table *t)
{
	f->down[0] = d0;
	f->down[1] = d1;
	f->down[2] = d2;
	xl_table_free(t);
	build(c, f, t);
	return t->svcs[0].ndests;
}

static void test_quorum_counts_weights(void **state)
{
	struct xl_config *c = mk_cfg(1, 3);
	struct health_fx f;
	struct xl_table t = {0};
	const char *sorry = "10.9.9.9";

	(void)state;
	fx_init(&f, c, 3);
	for (int r = 0; r < 3; r++)
		c->vs[0].svc.dests[r].weight = r + 1;
	c->vs[0].quorum = 3;
	c->vs[0].has_sorry = true;
	c->vs[0].sorry = mk_dest(sorry, 80, 1);

	assert_int_equal(quorum3(c, &f, false, false, false, &t), 3);
	assert_int_equal(quorum3(c, &f, false, false, true, &t), 2); /* 3 */
	assert_null(find_dest(&t.svcs[0], sorry, 80));
	assert_int_equal(quorum3(c, &f, true, true, false, &t), 1); /* 3 */
	assert_null(find_dest(&t.svcs[0], sorry, 80));
	assert_int_equal(quorum3(c, &f, false, true, true, &t), 2); /* 1 */
	assert_non_null(find_dest(&t.svcs[0], sorry, 80));
	assert_int_equal(quorum3(c, &f, true, false, true, &t), 2); /* 2 */
	assert_non_null(find_dest(&t.svcs[0], sorry, 80));

	/* inhibited: the down ones stay at 0 and do not count */
	c->vs[0].inhibit_on_failure = true;
	assert_int_equal(quorum3(c, &f, true, false, true, &t), 4);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.1", 80)->weight, 0);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.3", 80)->weight, 0);
	assert_non_null(find_dest(&t.svcs[0], sorry, 80));
	fx_free(c, &f, &t);
}

static void test_quorum_zero_never_needs_sorry(void **state)
{
	struct xl_config *c = mk_cfg(1, 1);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 1);
	c->vs[0].quorum = 0;
	c->vs[0].has_sorry = true;
	c->vs[0].sorry = mk_dest("10.9.9.9", 80, 1);
	f.down[0] = true;
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 0);
	fx_free(c, &f, &t);
}

static void test_sorry_server_not_duplicated(void **state)
{
	struct xl_config *c = mk_cfg(1, 2);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 2);
	c->vs[0].quorum = 5; /* never met: the sorry server is always due */
	c->vs[0].has_sorry = true;
	c->vs[0].sorry = mk_dest("10.0.0.2", 80, 1); /* also a real server */

	build(c, &f, &t); /* up, listed once */
	assert_int_equal(t.svcs[0].ndests, 2);
	xl_table_free(&t);

	c->vs[0].inhibit_on_failure = true; /* down and inhibited: once, at 0 */
	f.down[1] = true;
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 2);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.2", 80)->weight, 0);
	xl_table_free(&t);

	c->vs[0].inhibit_on_failure = false; /* down and removed: sorry */
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 2);
	assert_int_equal(find_dest(&t.svcs[0], "10.0.0.2", 80)->weight, 1);
	assert_sorted(&t);
	fx_free(c, &f, &t);
}

static void test_output_sorted(void **state)
{
	struct xl_config *c = mk_cfg(4, 3);
	struct health_fx f;
	struct xl_table t;
	struct xl_vs_config tmp;

	(void)state;
	fx_init(&f, c, 3);
	/* services and servers in reverse order, a sorry server first */
	tmp = c->vs[0];
	c->vs[0] = c->vs[3];
	c->vs[3] = tmp;
	for (size_t v = 0; v < c->nvs; v++) {
		struct xl_dest d = c->vs[v].svc.dests[0];

		c->vs[v].svc.dests[0] = c->vs[v].svc.dests[2];
		c->vs[v].svc.dests[2] = d;
	}
	c->vs[2].has_sorry = true;
	c->vs[2].sorry = mk_dest("10.0.0.0", 1, 1);
	f.down[2 * 3 + 0] = f.down[2 * 3 + 1] = f.down[2 * 3 + 2] = true;
	f.down[1 * 3 + 1] = true;
	build(c, &f, &t);
	assert_int_equal(t.nsvcs, 4);
	assert_sorted(&t);
	assert_int_equal(t.svcs[0].port, 8000);
	assert_int_equal(t.svcs[3].port, 8003);
	fx_free(c, &f, &t);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10,000 services x 10 servers, every other one down, sorry servers. */
static void test_big_table_is_fast(void **state)
{
	const size_t nvs = 10000, nrs = 10;
	struct xl_config *c = mk_cfg(nvs, nrs);
	struct health_fx f;
	struct xl_table t;
	double t0;

	(void)state;
	fx_init(&f, c, nrs);
	for (size_t v = 0; v < nvs; v++) {
		c->vs[v].has_sorry = true;
		c->vs[v].sorry = mk_dest("10.255.255.1", 80, 1);
		c->vs[v].quorum = v % 2 ? 6 : 1; /* odd ones: 5 < 6 */
		for (size_t r = 0; r < nrs; r++)
			f.down[v * nrs + r] = r % 2;
	}
	t0 = now_s();
	build(c, &f, &t);
	t0 = now_s() - t0;
	print_message("desired table of %zu x %zu built in %.1f ms\n", nvs, nrs,
		      t0 * 1e3);
	assert_true(t0 < 1.0);
	assert_int_equal(t.nsvcs, nvs);
	assert_int_equal(xl_table_objects(&t), nvs + nvs * 5 + nvs / 2);
	assert_sorted(&t);
	fx_free(c, &f, &t);
}

/* The parser's inhibit_on_failure, sorry_server and quorum, end to end. */
static void test_from_config_file(void **state)
{
	static const char text[] =
	    "virtual_services = ( {\n"
	    "  name = \"web\"; vip = \"192.168.10.100\"; port = 8000;\n"
	    "  quorum = 2; inhibit_on_failure = true;\n"
	    "  sorry_server = { address = \"10.20.0.9\"; port = 80; };\n"
	    "  real_servers = ( { address = \"10.20.0.5\"; port = 80; },\n"
	    "                   { address = \"10.20.0.6\"; port = 80; } );\n"
	    "} );\n";
	struct xl_config *c = ct_load(text);
	struct health_fx f;
	struct xl_table t;

	(void)state;
	fx_init(&f, c, 2);
	f.down[1] = true; /* live weight 1 < quorum 2 */
	build(c, &f, &t);
	assert_int_equal(t.svcs[0].ndests, 3);
	assert_int_equal(find_dest(&t.svcs[0], "10.20.0.5", 80)->weight, 1);
	assert_int_equal(find_dest(&t.svcs[0], "10.20.0.6", 80)->weight, 0);
	assert_int_equal(find_dest(&t.svcs[0], "10.20.0.9", 80)->weight, 1);
	assert_int_equal(find_dest(&t.svcs[0], "10.20.0.9", 80)->fwd,
			 c->vs[0].svc.dests[0].fwd);
	fx_free(c, &f, &t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_up_is_the_config),
	    cmocka_unit_test(test_null_is_up_means_all_up),
	    cmocka_unit_test(test_down_server_removed),
	    cmocka_unit_test(test_inhibit_keeps_down_server_at_weight_zero),
	    cmocka_unit_test(test_sorry_server_when_all_down),
	    cmocka_unit_test(test_no_sorry_server_no_quorum_table),
	    cmocka_unit_test(test_quorum_counts_weights),
	    cmocka_unit_test(test_quorum_zero_never_needs_sorry),
	    cmocka_unit_test(test_sorry_server_not_duplicated),
	    cmocka_unit_test(test_output_sorted),
	    cmocka_unit_test(test_big_table_is_fast),
	    cmocka_unit_test(test_from_config_file),
	};

	return cmocka_run_group_tests_name("desired", tests, NULL, NULL);
}
