/*
 * test_drain.c - which removed real servers drain, and for how long.
 *
 * Configurations are real files loaded by xl_config_load, as a reload sees
 * them; the kernel's connection counts come from a table the test controls.
 */
#include "config.h"
#include "desired.h"
#include "drain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "conftext.h"

#define SVC(proto, port, reals)                                              \
	"{ name = \"s" #port "\"; vip = \"192.0.2.1\"; port = " #port ";"    \
	" protocol = \"" proto "\"; drain_timeout = 30;"                       \
	" check = { type = \"none\"; }; real_servers = ( " reals " ); }"
#define RS(a) "{ address = \"" a "\"; port = 80; }"

static const char *const three =
	"virtual_services = ( " SVC("tcp", 80, RS("10.0.0.1") "," RS("10.0.0.2")
	"," RS("10.0.0.3")) "," SVC("udp", 53, RS("10.0.0.1") "," RS("10.0.0.2"))
	" );";
static const char *const fewer =
	"virtual_services = ( " SVC("tcp", 80, RS("10.0.0.1")) "," SVC("udp", 53,
	RS("10.0.0.1")) " );";

static long conns_value;
static long fixed_conns(void *arg, const struct xl_drain_entry *e)
{
	(void)arg;
	(void)e;
	return conns_value;
}

/* Two tcp servers removed drain; the udp one is deleted at once. */
static void test_removed_tcp_servers_drain(void **state)
{
	struct xl_config *a = ct_load(three), *b = ct_load(fewer);
	struct xl_drain dr = { 0 };
	struct xl_table want;

	(void)state;
	assert_int_equal(xl_drain_update(&dr, a, b, 100.0), 0);
	assert_int_equal(dr.n, 2);
	for (size_t i = 0; i < dr.n; i++) {
		assert_int_equal(dr.v[i].svc.port, 80);
		assert_int_equal(dr.v[i].dest.weight, 0);
		assert_true(dr.v[i].deadline == 130.0);
	}
	assert_int_equal(xl_desired_build(b, NULL, NULL, &want), 0);
	assert_int_equal(xl_drain_apply(&dr, &want), 0);
	/* tcp service: 10.0.0.1 at 1, .2 and .3 at 0, in order */
	const struct xl_service *s = &want.svcs[0];
	assert_int_equal(s->port, 80);
	assert_int_equal(s->ndests, 3);
	assert_int_equal(s->dests[0].weight, 1);
	assert_int_equal(s->dests[1].weight, 0);
	assert_int_equal(s->dests[2].weight, 0);
	assert_int_equal(want.svcs[1].ndests, 1); /* udp: deleted at once */
	xl_table_free(&want);
	xl_drain_free(&dr);
	xl_config_free(a);
	xl_config_free(b);
}

/* Ends when connections reach zero, or at the deadline. */
static void test_expire(void **state)
{
	struct xl_config *a = ct_load(three), *b = ct_load(fewer);
	struct xl_drain dr = { 0 };

	(void)state;
	assert_int_equal(xl_drain_update(&dr, a, b, 100.0), 0);
	conns_value = 5;
	assert_int_equal(xl_drain_expire(&dr, 110.0, fixed_conns, NULL), 0);
	assert_int_equal(dr.n, 2);
	assert_int_equal(xl_drain_expire(&dr, 130.0, fixed_conns, NULL), 2);
	assert_int_equal(dr.n, 0);
	assert_int_equal(xl_drain_update(&dr, a, b, 100.0), 0);
	conns_value = 0;
	assert_int_equal(xl_drain_expire(&dr, 101.0, fixed_conns, NULL), 2);
	xl_drain_free(&dr);
	xl_config_free(a);
	xl_config_free(b);
}

/* Configured again, or its service removed: the drain ends. */
static void test_readded_or_service_gone(void **state)
{
	struct xl_config *a = ct_load(three), *b = ct_load(fewer);
	struct xl_config *none = ct_load("virtual_services = ( );");
	struct xl_drain dr = { 0 };

	(void)state;
	assert_int_equal(xl_drain_update(&dr, a, b, 1.0), 0);
	assert_int_equal(dr.n, 2);
	assert_int_equal(xl_drain_update(&dr, b, a, 2.0), 0);
	assert_int_equal(dr.n, 0);
	assert_int_equal(xl_drain_update(&dr, a, b, 3.0), 0);
	assert_int_equal(xl_drain_update(&dr, b, none, 4.0), 0);
	assert_int_equal(dr.n, 0);
	/* a second identical reload does not drain twice */
	assert_int_equal(xl_drain_update(&dr, a, b, 5.0), 0);
	assert_int_equal(xl_drain_update(&dr, a, b, 6.0), 0);
	assert_int_equal(dr.n, 2);
	xl_drain_free(&dr);
	xl_config_free(a);
	xl_config_free(b);
	xl_config_free(none);
}

/*
 * After a reload linked to the configuration before it (xl_config_reload's
 * vs[].prev), only changed services are looked at: the unchanged one
 * starts no drain, a reload that changes nothing keeps the drains as they
 * are, and one service's entry gets its draining servers, sorted.
 */
static void test_linked_reload(void **state)
{
	static const char *const before =
		"virtual_services = ( " SVC("tcp", 80, RS("10.0.0.1") ","
		RS("10.0.0.2") "," RS("10.0.0.3")) "," SVC("tcp", 81,
		RS("10.0.0.1") "," RS("10.0.0.2")) " );";
	static const char *const after =
		"virtual_services = ( " SVC("tcp", 81, RS("10.0.0.1") ","
		RS("10.0.0.2")) "," SVC("tcp", 80, RS("10.0.0.3")) " );";
	struct xl_config *a = ct_load(before), *b = ct_reload(after, a), *c;
	struct xl_drain dr = { 0 };
	struct xl_service s;

	(void)state;
	assert_int_equal(b->nsame, 1);
	assert_int_equal(xl_drain_update(&dr, a, b, 100.0), 0);
	assert_int_equal(dr.n, 2);
	for (size_t i = 0; i < dr.n; i++)
		assert_int_equal(dr.v[i].svc.port, 80);
	c = ct_reload(after, b);
	assert_int_equal(c->nsame, 2);
	assert_int_equal(xl_drain_update(&dr, b, c, 101.0), 0);
	assert_int_equal(dr.n, 2);

	assert_int_equal(xl_desired_entry(c, 1, NULL, NULL, &s), 0);
	assert_int_equal(s.port, 80);
	assert_int_equal(xl_drain_apply_service(&dr, &s), 0);
	assert_int_equal(s.ndests, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ntohl(s.dests[i].addr.v4.s_addr), 0x0a000001 + i);
		assert_int_equal(s.dests[i].weight, i == 2 ? 1 : 0);
	}
	xl_service_free(&s);
	xl_drain_free(&dr);
	xl_config_free(a);
	xl_config_free(b);
	xl_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_removed_tcp_servers_drain),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_readded_or_service_gone),
		cmocka_unit_test(test_linked_reload),
	};

	return cmocka_run_group_tests_name("drain", tests, NULL, NULL);
}
