/*
 * test_k8s_ipam.c - cmocka tests of the VIP pools and of k8s_ipam_assign():
 * parsing (IPv4, IPv6, CIDR, ranges, the mistakes people make), lowest
 * free first, stable recovery from status, exhaustion, sharing, and
 * independence from the order of the requests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "k8s/ipam.h"
#include "k8s/policy.h"

static struct k8s_pool pool(const char *s)
{
	struct k8s_pool p;
	char why[256];

	if (k8s_pool_parse(s, &p, why, sizeof(why)) < 0)
		fail_msg("pool %s: %s", s, why);
	return p;
}

static const char *str(const struct k8s_addr *a)
{
	static char buf[4][K8S_ADDRSTR_MAX];
	static int i;

	i = (i + 1) % 4;
	return k8s_addr_str(a, buf[i]);
}

static void assert_pool(const char *s, const char *first, const char *last)
{
	struct k8s_pool p = pool(s);

	assert_string_equal(str(&p.first), first);
	assert_string_equal(str(&p.last), last);
}

static void assert_pool_error(const char *s, const char *msg)
{
	struct k8s_pool p;
	char why[256] = "";

	assert_int_equal(k8s_pool_parse(s, &p, why, sizeof(why)), -1);
	assert_string_equal(why, msg);
}

static void test_pool_parse(void **state)
{
	(void)state;
	assert_pool("192.0.2.0/24", "192.0.2.0", "192.0.2.255");
	assert_pool("192.0.2.100-192.0.2.110", "192.0.2.100", "192.0.2.110");
	assert_pool(" 192.0.2.100 - 192.0.2.110 ", "192.0.2.100",
		    "192.0.2.110");
	assert_pool("192.0.2.7", "192.0.2.7", "192.0.2.7");
	assert_pool("192.0.2.7/32", "192.0.2.7", "192.0.2.7");
	assert_pool("0.0.0.0/0", "0.0.0.0", "255.255.255.255");
	assert_pool("2001:db8::/64",
		    "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff");
	assert_pool("2001:db8::/125", "2001:db8::", "2001:db8::7");
	assert_pool("2001:db8::10-2001:db8::1:0", "2001:db8::10",
		    "2001:db8::1:0");
	assert_pool("2001:DB8::1", "2001:db8::1", "2001:db8::1");
}

static void test_pool_errors(void **state)
{
	(void)state;
	assert_pool_error("192.0.2.5/24", "\"192.0.2.5/24\": host bits are "
					  "set (did you mean 192.0.2.0/24?)");
	assert_pool_error("192.0.2.0/33",
			  "\"192.0.2.0/33\": the prefix length must be 0-32");
	assert_pool_error("2001:db8::/129", "\"2001:db8::/129\": the prefix "
					    "length must be 0-128");
	assert_pool_error("192.0.2.0/", "\"192.0.2.0/\": the prefix length "
					"must be 0-32");
	assert_pool_error("192.0.2.0/2x", "\"192.0.2.0/2x\": the prefix "
					  "length must be 0-32");
	assert_pool_error("example/24",
			  "\"example/24\": not an IP address before \"/\"");
	assert_pool_error("192.0.2.9-192.0.2.1", "\"192.0.2.9-192.0.2.1\": "
						 "the first address is above "
						 "the last");
	assert_pool_error("192.0.2.1-2001:db8::1",
			  "\"192.0.2.1-2001:db8::1\": both ends must be IPv4 "
			  "or both IPv6");
	assert_pool_error("192.0.2.1-", "\"192.0.2.1-\": expected two IP "
					"addresses, A-B");
	assert_pool_error("", "\"\": expected a CIDR (192.0.2.0/24), a range "
			      "(192.0.2.10-192.0.2.20) or an address");
	assert_pool_error("lots", "\"lots\": expected a CIDR (192.0.2.0/24), "
				  "a range (192.0.2.10-192.0.2.20) or an "
				  "address");
}

static void test_pools_contain(void **state)
{
	struct k8s_pool p[2] = {pool("192.0.2.8/29"), pool("2001:db8::/126")};
	struct k8s_addr a;

	(void)state;
	k8s_addr_parse("192.0.2.8", &a);
	assert_true(k8s_pools_contain(p, 2, &a));
	k8s_addr_parse("192.0.2.15", &a);
	assert_true(k8s_pools_contain(p, 2, &a));
	k8s_addr_parse("192.0.2.16", &a);
	assert_false(k8s_pools_contain(p, 2, &a));
	k8s_addr_parse("2001:db8::3", &a);
	assert_true(k8s_pools_contain(p, 2, &a));
	k8s_addr_parse("2001:db8::4", &a);
	assert_false(k8s_pools_contain(p, 2, &a));
	/* the same bytes in the other family are another address */
	k8s_addr_parse("::", &a);
	assert_false(k8s_pools_contain(p, 1, &a));
}

/* ---- assignment --------------------------------------------------------- */

#define REQ(k)                                                                 \
	{                                                                      \
		.key = (k), .family = AF_UNSPEC                                \
	}

static void assign(const struct k8s_pool *p, size_t np, struct k8s_ipam_req *r,
		   size_t n)
{
	assert_int_equal(k8s_ipam_assign(p, np, NULL, r, n), 0);
}

static void assign_policy(const struct k8s_pool *p, size_t np,
			  const struct k8s_policy *pol, struct k8s_ipam_req *r,
			  size_t n)
{
	assert_int_equal(k8s_ipam_assign(p, np, pol, r, n), 0);
}

static void assert_vip(const struct k8s_ipam_req *r, const char *vip)
{
	if (!r->ok)
		fail_msg("%s has no VIP: %s", r->key, r->why);
	assert_string_equal(str(&r->vip), vip);
}

/* Lowest free first, in the order of the keys, whatever the input order. */
static void test_allocation_in_key_order(void **state)
{
	struct k8s_pool p = pool("192.0.2.100-192.0.2.110");
	struct k8s_ipam_req r[3] = {REQ("ns/c"), REQ("ns/a"), REQ("ns/b")};

	(void)state;
	assign(&p, 1, r, 3);
	assert_vip(&r[1], "192.0.2.100");
	assert_vip(&r[2], "192.0.2.101");
	assert_vip(&r[0], "192.0.2.102");
}

/* A status VIP in a pool is kept even when a lower address is free, and
 * newcomers go around it; a restart moves nothing. */
static void test_stable_recovery(void **state)
{
	struct k8s_pool p = pool("192.0.2.100-192.0.2.110");
	const char *held_b[] = {"192.0.2.100"}, *held_c[] = {"192.0.2.105"};
	struct k8s_ipam_req r[3] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c")};

	(void)state;
	r[1].current = held_b;
	r[1].ncurrent = 1;
	r[2].current = held_c;
	r[2].ncurrent = 1;
	assign(&p, 1, r, 3);
	assert_vip(&r[0], "192.0.2.101");
	assert_vip(&r[1], "192.0.2.100");
	assert_vip(&r[2], "192.0.2.105");
}

/* Status addresses outside the pools, of the wrong family, unparsable or
 * already another's are not recovered: the Service gets a new one. */
static void test_recovery_only_from_pools(void **state)
{
	struct k8s_pool p[2] = {pool("192.0.2.100-192.0.2.110"),
				pool("2001:db8::/120")};
	const char *outside[] = {"198.51.100.1"}, *v6[] = {"2001:db8::7"};
	const char *junk[] = {"", "not-an-ip"}, *dup[] = {"192.0.2.100"};
	struct k8s_ipam_req r[5] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c"),
				    REQ("ns/d"), REQ("ns/e")};

	(void)state;
	r[0].current = outside, r[0].ncurrent = 1;
	r[1].current = v6, r[1].ncurrent = 1, r[1].family = AF_INET;
	r[2].current = junk, r[2].ncurrent = 2;
	r[3].current = dup, r[3].ncurrent = 1;
	r[4].current = dup, r[4].ncurrent = 1;
	assign(p, 2, r, 5);
	assert_vip(&r[3], "192.0.2.100"); /* first by key keeps it */
	assert_vip(&r[0], "192.0.2.101");
	assert_vip(&r[1], "192.0.2.102");
	assert_vip(&r[2], "192.0.2.103");
	assert_vip(&r[4], "192.0.2.104");
}

static void test_exhaustion(void **state)
{
	struct k8s_pool p = pool("192.0.2.254/31");
	struct k8s_ipam_req r[3] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c")};
	struct k8s_ipam_req v6 = REQ("ns/v6");

	(void)state;
	assign(&p, 1, r, 3);
	assert_vip(&r[0], "192.0.2.254");
	assert_vip(&r[1], "192.0.2.255");
	assert_false(r[2].ok);
	assert_string_equal(r[2].why, "no free address left in the VIP pools");
	v6.family = AF_INET6;
	assign(&p, 1, &v6, 1);
	assert_false(v6.ok);
	assert_string_equal(v6.why, "no IPv6 VIP pool (--vip-pool)");
}

/* The last address of the whole family must not wrap around to 0. */
static void test_end_of_address_space(void **state)
{
	struct k8s_pool p = pool("255.255.255.255");
	struct k8s_ipam_req r[2] = {REQ("ns/a"), REQ("ns/b")};

	(void)state;
	assign(&p, 1, r, 2);
	assert_vip(&r[0], "255.255.255.255");
	assert_false(r[1].ok);
}

/* Several pools: the first of the family with room, in the given order;
 * the family comes from the Service, or from the first pool. */
static void test_pools_and_families(void **state)
{
	struct k8s_pool p[3] = {pool("2001:db8::/64"), pool("192.0.2.1"),
				pool("192.0.2.50-192.0.2.51")};
	struct k8s_ipam_req r[5] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c"),
				    REQ("ns/d"), REQ("ns/e")};

	(void)state;
	r[0].family = AF_INET;
	r[1].family = AF_INET;
	r[2].family = AF_INET6;
	r[3].family = AF_INET;
	assign(p, 3, r, 5);
	assert_vip(&r[0], "192.0.2.1");
	assert_vip(&r[1], "192.0.2.50");
	assert_vip(&r[2], "2001:db8::");
	assert_vip(&r[3], "192.0.2.51");
	assert_vip(&r[4], "2001:db8::1");
}

/* A dual-stack Service asks once per family under one key: each request
 * keeps the address of its family from the status (a restart moves
 * neither), whatever order the requests come in. */
static void test_dual_stack_per_family(void **state)
{
	struct k8s_pool p[2] = {pool("192.0.2.100-192.0.2.110"),
				pool("2001:db8::/120")};
	const char *held[] = {"2001:db8::7", "192.0.2.105"};
	struct k8s_ipam_req r[3] = {REQ("ns/a"), REQ("ns/a"), REQ("ns/b")};

	(void)state;
	r[0].family = AF_INET6;
	r[1].family = AF_INET;
	r[0].current = r[1].current = held;
	r[0].ncurrent = r[1].ncurrent = 2;
	r[2].family = AF_INET6;
	assign(p, 2, r, 3);
	assert_vip(&r[0], "2001:db8::7");
	assert_vip(&r[1], "192.0.2.105");
	assert_vip(&r[2], "2001:db8::");
	/* new: the lowest of each family */
	r[0].ncurrent = r[1].ncurrent = 0;
	assign(p, 2, r, 3);
	assert_vip(&r[0], "2001:db8::");
	assert_vip(&r[1], "192.0.2.100");
	assert_vip(&r[2], "2001:db8::1");
}

/* Holes left by deleted Services are filled, lowest first. */
static void test_fills_holes(void **state)
{
	struct k8s_pool p = pool("192.0.2.0/29");
	const char *h1[] = {"192.0.2.0"}, *h2[] = {"192.0.2.1"};
	const char *h3[] = {"192.0.2.3"}, *h4[] = {"192.0.2.4"};
	struct k8s_ipam_req r[6] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c"),
				    REQ("ns/d"), REQ("ns/e"), REQ("ns/f")};

	(void)state;
	r[0].current = h1, r[0].ncurrent = 1;
	r[1].current = h2, r[1].ncurrent = 1;
	r[2].current = h3, r[2].ncurrent = 1;
	r[3].current = h4, r[3].ncurrent = 1;
	assign(&p, 1, r, 6);
	assert_vip(&r[4], "192.0.2.2");
	assert_vip(&r[5], "192.0.2.5");
}

/* One address, two Services: only when both carry the same sharing key. */
static void test_sharing(void **state)
{
	struct k8s_pool p = pool("192.0.2.1-192.0.2.9");
	struct k8s_ipam_req r[5] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c"),
				    REQ("ns/d"), REQ("ns/e")};

	(void)state;
	r[0].share = "dns";
	r[1].share = "dns";
	r[2].share = "other";
	r[3].share = NULL;
	r[4].share = "dns";
	r[4].family = AF_INET6; /* no pool: sharing does not cross families */
	assign(&p, 1, r, 5);
	assert_vip(&r[0], "192.0.2.1");
	assert_vip(&r[1], "192.0.2.1");
	assert_vip(&r[2], "192.0.2.2");
	assert_vip(&r[3], "192.0.2.3");
	assert_false(r[4].ok);
}

/* Explicit VIPs: taken where they are (in a pool or not); two Services
 * asking for one address without a common key: the holder keeps it. */
static void test_explicit(void **state)
{
	struct k8s_pool p = pool("192.0.2.1-192.0.2.9");
	struct k8s_addr want1, want2, want3;
	const char *held[] = {"198.51.100.5"};
	struct k8s_ipam_req r[4] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c"),
				    REQ("ns/d")};

	(void)state;
	k8s_addr_parse("198.51.100.5", &want1);
	k8s_addr_parse("192.0.2.1", &want2);
	k8s_addr_parse("198.51.100.6", &want3);
	r[0].want = &want1; /* a newcomer... */
	r[1].want = &want1; /* ...and the holder of the same address */
	r[1].current = held;
	r[1].ncurrent = 1;
	r[2].want = &want2; /* a pool address: allocation goes around it */
	r[3].want = &want3;
	assign(&p, 1, r, 4);
	assert_false(r[0].ok);
	assert_string_equal(r[0].why, "198.51.100.5 is used by ns/b (both "
				      "need the annotation "
				      "extlb.io/allow-shared-vip with one "
				      "value to share it)");
	assert_vip(&r[1], "198.51.100.5");
	assert_vip(&r[2], "192.0.2.1");
	assert_vip(&r[3], "198.51.100.6");
}

/* A newcomer's explicit VIP never takes a pool address that another
 * Service's status already shows. */
static void test_explicit_does_not_steal(void **state)
{
	struct k8s_pool p = pool("192.0.2.1-192.0.2.9");
	const char *held[] = {"192.0.2.1"};
	struct k8s_addr want;
	struct k8s_ipam_req r[2] = {REQ("ns/a"), REQ("ns/z")};

	(void)state;
	k8s_addr_parse("192.0.2.1", &want);
	r[0].want = &want;
	r[1].current = held;
	r[1].ncurrent = 1;
	assign(&p, 1, r, 2);
	assert_false(r[0].ok);
	assert_vip(&r[1], "192.0.2.1");
}

/* A large IPv6 pool is not walked address by address. */
static void test_large_v6_pool(void **state)
{
	struct k8s_pool p = pool("2001:db8::/32");
	struct k8s_ipam_req r[1000];
	char keys[1000][16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "ns/s%04d", i);
		r[i] = (struct k8s_ipam_req)REQ(keys[i]);
	}
	assign(&p, 1, r, 1000);
	assert_vip(&r[0], "2001:db8::");
	assert_vip(&r[999], "2001:db8::3e7");
}

/* ---- the policy --------------------------------------------------------- */

/* The pools never give out a host address or a special one, unless
 * --allow-vip names it; a status that shows one does not keep it. */
static void test_pool_skips_refused(void **state)
{
	struct k8s_pool p = pool("192.0.2.1-192.0.2.4");
	struct k8s_addr host[2];
	struct k8s_policy pol = {.host = host, .nhost = 2};
	const char *held[] = {"192.0.2.4"};
	struct k8s_ipam_req r[3] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c")};

	(void)state;
	k8s_addr_parse("192.0.2.1", &host[0]);
	k8s_addr_parse("192.0.2.4", &host[1]);
	r[2].current = held;
	r[2].ncurrent = 1;
	assign_policy(&p, 1, &pol, r, 3);
	assert_vip(&r[0], "192.0.2.2");
	assert_vip(&r[1], "192.0.2.3");
	assert_false(r[2].ok);
	assert_string_equal(r[2].why, "no free address left in the VIP pools");

	/* --allow-vip names one host address: given out, and kept */
	{
		struct k8s_pool allow = pool("192.0.2.4");

		pol.allow_vip = &allow;
		pol.nallow_vip = 1;
		assign_policy(&p, 1, &pol, r, 3);
		assert_vip(&r[0], "192.0.2.2");
		assert_vip(&r[1], "192.0.2.3");
		assert_vip(&r[2], "192.0.2.4");
	}
}

/* A pool across special blocks jumps over them at once (a walk through
 * 224.0.0.0/4 would take seconds), and stops at an --allow-vip inside. */
static void test_pool_jumps_special_blocks(void **state)
{
	struct k8s_pool p = pool("126.255.255.255-255.255.255.255");
	struct k8s_pool allow = pool("127.0.0.9");
	struct k8s_policy pol = {0};
	struct k8s_ipam_req r[4] = {REQ("ns/a"), REQ("ns/b"), REQ("ns/c"),
				    REQ("ns/d")};
	struct k8s_pool p2 = pool("223.255.255.255-255.255.255.255");

	(void)state;
	assign_policy(&p, 1, &pol, r, 2);
	assert_vip(&r[0], "126.255.255.255");
	assert_vip(&r[1], "128.0.0.0");
	pol.allow_vip = &allow;
	pol.nallow_vip = 1;
	assign_policy(&p, 1, &pol, r, 3);
	assert_vip(&r[1], "127.0.0.9");
	assert_vip(&r[2], "128.0.0.0");
	/* past multicast: 240.0.0.0/4 is not refused, broadcast is */
	pol.nallow_vip = 0;
	assign_policy(&p2, 1, &pol, r, 2);
	assert_vip(&r[0], "223.255.255.255");
	assert_vip(&r[1], "240.0.0.0");
	{
		struct k8s_pool last = pool("255.255.255.254-255.255.255.255");

		assign_policy(&last, 1, &pol, r, 2);
		assert_vip(&r[0], "255.255.255.254");
		assert_false(r[1].ok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool_parse),
	    cmocka_unit_test(test_pool_errors),
	    cmocka_unit_test(test_pools_contain),
	    cmocka_unit_test(test_allocation_in_key_order),
	    cmocka_unit_test(test_stable_recovery),
	    cmocka_unit_test(test_recovery_only_from_pools),
	    cmocka_unit_test(test_exhaustion),
	    cmocka_unit_test(test_end_of_address_space),
	    cmocka_unit_test(test_pools_and_families),
	    cmocka_unit_test(test_dual_stack_per_family),
	    cmocka_unit_test(test_fills_holes),
	    cmocka_unit_test(test_sharing),
	    cmocka_unit_test(test_explicit),
	    cmocka_unit_test(test_explicit_does_not_steal),
	    cmocka_unit_test(test_large_v6_pool),
	    cmocka_unit_test(test_pool_skips_refused),
	    cmocka_unit_test(test_pool_jumps_special_blocks),
	};

	return cmocka_run_group_tests_name("k8s_ipam", tests, NULL, NULL);
}
