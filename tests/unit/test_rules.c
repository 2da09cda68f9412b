/*
 * test_rules.c - the rules extlbd's loader and extlb-k8s share (rules.h):
 * each judged at its edges, since both programs now rely on the one copy.
 */
#include "model.h"
#include "rules.h"

#include <linux/ip_vs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

static void test_sched_name(void **state)
{
	(void)state;
	assert_true(xl_rule_sched_name("wlc"));
	assert_true(xl_rule_sched_name("my_sched2"));
	assert_true(xl_rule_sched_name("abcdefghijklmno"));   /* 15 */
	assert_false(xl_rule_sched_name("abcdefghijklmnop")); /* 16 */
	assert_false(xl_rule_sched_name(""));
	assert_false(xl_rule_sched_name("WLC"));
	assert_false(xl_rule_sched_name("w-lc"));
}

static void test_forwards(void **state)
{
	const struct xl_named *f;

	(void)state;
	f = xl_named_find(xl_rule_forwards, "nat");
	assert_non_null(f);
	assert_int_equal(f->value, IP_VS_CONN_F_MASQ);
	f = xl_named_find(xl_rule_forwards, "dr");
	assert_non_null(f);
	assert_int_equal(f->value, IP_VS_CONN_F_DROUTE);
	f = xl_named_find(xl_rule_forwards, "tun");
	assert_non_null(f);
	assert_int_equal(f->value, IP_VS_CONN_F_TUNNEL);
	assert_null(xl_named_find(xl_rule_forwards, "NAT"));
	assert_null(xl_named_find(xl_rule_forwards, ""));
}

static void test_family_and_port(void **state)
{
	(void)state;
	assert_true(xl_rule_family_ok(AF_INET, AF_INET, IP_VS_CONN_F_MASQ));
	assert_false(xl_rule_family_ok(AF_INET, AF_INET6, IP_VS_CONN_F_MASQ));
	assert_false(xl_rule_family_ok(AF_INET6, AF_INET, IP_VS_CONN_F_DROUTE));
	assert_true(xl_rule_family_ok(AF_INET, AF_INET6, IP_VS_CONN_F_TUNNEL));
	assert_false(xl_rule_port_fixed(IP_VS_CONN_F_MASQ));
	assert_true(xl_rule_port_fixed(IP_VS_CONN_F_DROUTE));
	assert_true(xl_rule_port_fixed(IP_VS_CONN_F_TUNNEL));
}

static void test_incfile_wanted(void **state)
{
	(void)state;
	assert_true(xl_incfile_wanted("k8s.conf"));
	assert_true(xl_incfile_wanted("a.conf"));
	assert_false(xl_incfile_wanted(".conf"));
	assert_false(xl_incfile_wanted(".k8s.conf"));
	assert_false(xl_incfile_wanted("k8s.conf~"));
	assert_false(xl_incfile_wanted("k8s.cfg"));
	assert_false(xl_incfile_wanted(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sched_name),
	    cmocka_unit_test(test_forwards),
	    cmocka_unit_test(test_family_and_port),
	    cmocka_unit_test(test_incfile_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
