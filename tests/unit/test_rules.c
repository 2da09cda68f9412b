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
#include <stdio.h>
#include <string.h>
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

/* The CIDR back as text after parsing, or "refused: " and the reason. */
static const char *cidr(const char *s, bool *host_bits)
{
	static char out[200];
	struct xl_cidr c;
	char why[160];

	if (!xl_rule_cidr(s, &c, host_bits, why, sizeof(why))) {
		snprintf(out, sizeof(out), "refused: %s", why);
		return out;
	}
	xl_cidr_format(&c, out, sizeof(out));
	return out;
}

static void test_cidr(void **state)
{
	bool hb;

	(void)state;
	assert_string_equal(cidr("203.0.113.0/24", &hb), "203.0.113.0/24");
	assert_false(hb);
	assert_string_equal(cidr("10.1.2.3/8", &hb), "10.0.0.0/8");
	assert_true(hb);
	assert_string_equal(cidr("10.1.2.3", &hb), "10.1.2.3/32");
	assert_false(hb);
	assert_string_equal(cidr("0.0.0.0/0", &hb), "0.0.0.0/0");
	assert_string_equal(cidr("2001:db8::/32", &hb), "2001:db8::/32");
	assert_false(hb);
	assert_string_equal(cidr("2001:db8:1:2::7/126", &hb),
			    "2001:db8:1:2::4/126");
	assert_true(hb);
	assert_string_equal(cidr("10.0.0.1/31", &hb), "10.0.0.0/31");
	assert_string_equal(cidr("::/0", &hb), "::/0");
	assert_string_equal(cidr("2001:db8::1", &hb), "2001:db8::1/128");

	assert_string_equal(cidr("10.0.0.0/33", &hb),
			    "refused: \"10.0.0.0/33\" is not an address range: "
			    "the prefix length must be 0-32");
	assert_string_equal(cidr("2001:db8::/129", &hb),
			    "refused: \"2001:db8::/129\" is not an address "
			    "range: the prefix length must be 0-128");
	assert_string_equal(
	    cidr("10.0.0.300/24", &hb),
	    "refused: \"10.0.0.300/24\" is not an address range: "
	    "\"10.0.0.300\" is not an IPv4 or IPv6 address");
	assert_string_equal(cidr("", &hb),
			    "refused: \"\" is not an address range");
	assert_true(!strncmp(cidr("10.0.0.0/", &hb), "refused", 7));
	assert_true(!strncmp(cidr("10.0.0.0/08", &hb), "refused", 7));
	assert_true(!strncmp(cidr("10.0.0.0/8 ", &hb), "refused", 7));
	assert_true(!strncmp(cidr(" 10.0.0.0/8", &hb), "refused", 7));
	assert_true(!strncmp(cidr("10.0.0.0/-1", &hb), "refused", 7));
	assert_true(!strncmp(cidr("10.0.0.0/8/8", &hb), "refused", 7));
	assert_true(!strncmp(cidr("/8", &hb), "refused", 7));
	assert_true(!strncmp(cidr("fe80::1%eth0/64", &hb), "refused", 7));
	assert_true(!strncmp(cidr("10.0.0.0/255.0.0.0", &hb), "refused", 7));
}

static struct xl_cidr net(const char *s)
{
	struct xl_cidr c;
	char why[160];
	bool hb;

	assert_true(xl_rule_cidr(s, &c, &hb, why, sizeof(why)));
	return c;
}

static void test_cidr_contains_and_order(void **state)
{
	struct xl_cidr a = net("10.0.0.0/8"), b = net("10.1.0.0/16"),
		       c = net("11.0.0.0/8"), h = net("10.200.1.1"),
		       v6 = net("::/0"), all4 = net("0.0.0.0/0");

	(void)state;
	assert_true(xl_cidr_contains(&a, &b));
	assert_true(xl_cidr_contains(&a, &h));
	assert_true(xl_cidr_contains(&a, &a));
	assert_false(xl_cidr_contains(&b, &a));
	assert_false(xl_cidr_contains(&a, &c));
	assert_false(xl_cidr_contains(&b, &h));
	assert_true(xl_cidr_contains(&all4, &c));
	assert_false(xl_cidr_contains(&v6, &a)); /* families never mix */
	assert_true(xl_cidr_cmp(&a, &b) < 0);
	assert_true(xl_cidr_cmp(&b, &c) < 0);
	assert_int_equal(xl_cidr_cmp(&a, &a), 0);
	assert_true(xl_cidr_cmp(&all4, &a) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sched_name),
	    cmocka_unit_test(test_forwards),
	    cmocka_unit_test(test_family_and_port),
	    cmocka_unit_test(test_incfile_wanted),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_cidr_contains_and_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
