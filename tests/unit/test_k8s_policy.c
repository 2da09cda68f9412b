/*
 * test_k8s_policy.c - cmocka tests of the trust boundary's pieces on
 * their own: the special address classes and their edges, the VIP and
 * backend rules with and without allow-lists, the host's addresses from
 * getifaddrs, and the seniority of k8s_admit_caps / k8s_admit_clashes
 * (whatever the order the candidates come in).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "k8s/admit.h"
#include "k8s/policy.h"

static struct k8s_addr addr(const char *s)
{
	struct k8s_addr a;

	if (k8s_addr_parse(s, &a) < 0)
		fail_msg("not an address: %s", s);
	return a;
}

static struct k8s_pool pool(const char *s)
{
	struct k8s_pool p;
	char why[256];

	if (k8s_pool_parse(s, &p, why, sizeof(why)) < 0)
		fail_msg("pool %s: %s", s, why);
	return p;
}

static void assert_class(const char *a, const char *cls)
{
	struct k8s_addr x = addr(a);
	const char *got = k8s_addr_class(&x, NULL);

	if (!cls && got)
		fail_msg("%s: %s, expected none", a, got);
	if (cls && (!got || strcmp(got, cls)))
		fail_msg("%s: %s, expected %s", a, got ? got : "none", cls);
}

/* Each class and the addresses just outside it. */
static void test_classes(void **state)
{
	(void)state;
	assert_class("0.0.0.0", "unspecified");
	assert_class("0.255.255.255", "unspecified");
	assert_class("1.0.0.0", NULL);
	assert_class("126.255.255.255", NULL);
	assert_class("127.0.0.0", "loopback");
	assert_class("127.255.255.255", "loopback");
	assert_class("128.0.0.0", NULL);
	assert_class("169.253.255.255", NULL);
	assert_class("169.254.169.254", "link-local");
	assert_class("169.255.0.0", NULL);
	assert_class("223.255.255.255", NULL);
	assert_class("224.0.0.0", "multicast");
	assert_class("239.255.255.255", "multicast");
	assert_class("240.0.0.0", NULL);
	assert_class("255.255.255.254", NULL);
	assert_class("255.255.255.255", "broadcast");
	assert_class("::", "unspecified");
	assert_class("::1", "loopback");
	assert_class("::2", NULL);
	assert_class("fe80::", "link-local");
	assert_class("febf:ffff::1", "link-local");
	assert_class("fec0::", NULL);
	assert_class("ff00::", "multicast");
	assert_class("ff02::1", "multicast");
	assert_class("feff:ffff::", NULL);
	assert_class("::ffff:10.0.0.1", "IPv4-mapped");
	assert_class("2001:db8::1", NULL);
	assert_class("192.0.2.1", NULL);
}

static void assert_vip_refused(const struct k8s_policy *p,
			       const struct k8s_pool *pools, size_t npools,
			       const char *a, const char *why)
{
	struct k8s_addr x = addr(a);
	char got[256] = "";

	if (k8s_policy_vip_ok(p, pools, npools, &x, got, sizeof(got)))
		fail_msg("%s accepted as a VIP", a);
	assert_string_equal(got, why);
}

static void assert_vip_ok(const struct k8s_policy *p,
			  const struct k8s_pool *pools, size_t npools,
			  const char *a)
{
	struct k8s_addr x = addr(a);
	char why[256] = "";

	if (!k8s_policy_vip_ok(p, pools, npools, &x, why, sizeof(why)))
		fail_msg("%s refused as a VIP: %s", a, why);
}

static void test_vip_rules(void **state)
{
	struct k8s_pool pools[] = {pool("0.0.0.0/0")};
	struct k8s_pool allow[] = {pool("127.0.0.53"), pool("203.0.113.0/24")};
	struct k8s_addr host[] = {addr("192.0.2.2"), addr("2001:db8::2")};
	struct k8s_policy p = {.host = host, .nhost = 2};

	(void)state;
	/* a wide pool does not name the special or the host addresses */
	assert_vip_refused(&p, pools, 1, "127.0.0.53",
			   "127.0.0.53 is a loopback address (only "
			   "--allow-vip can allow it)");
	assert_vip_refused(&p, pools, 1, "192.0.2.2",
			   "192.0.2.2 is an address of the load balancer's "
			   "host (only --allow-vip can allow it)");
	assert_vip_refused(&p, pools, 1, "2001:db8::2",
			   "2001:db8::2 is an address of the load balancer's "
			   "host (only --allow-vip can allow it)");
	assert_vip_refused(&p, pools, 1, "2001:db8::3",
			   "2001:db8::3 is in no --vip-pool or --allow-vip "
			   "range");
	assert_vip_ok(&p, pools, 1, "192.0.2.3");
	/* --allow-vip: special or not, pool or not */
	p.allow_vip = allow;
	p.nallow_vip = 2;
	assert_vip_ok(&p, NULL, 0, "127.0.0.53");
	assert_vip_ok(&p, NULL, 0, "203.0.113.9");
	assert_vip_refused(&p, NULL, 0, "127.0.0.54",
			   "127.0.0.54 is a loopback address (only "
			   "--allow-vip can allow it)");
	assert_vip_refused(&p, NULL, 0, "198.51.100.1",
			   "198.51.100.1 is in no --vip-pool or --allow-vip "
			   "range");
}

/* The run the allocator may jump: a whole block, up to an allowed
 * address inside it; a host address alone. */
static void test_vip_usable_runs(void **state)
{
	struct k8s_pool allow[] = {pool("127.1.0.0-127.1.0.3")};
	struct k8s_addr host[] = {addr("192.0.2.2")};
	struct k8s_policy p = {.host = host, .nhost = 1};
	struct k8s_addr a, last;
	char buf[K8S_ADDRSTR_MAX];

	(void)state;
	a = addr("127.0.0.1");
	assert_false(k8s_policy_vip_usable(&p, &a, &last));
	assert_string_equal(k8s_addr_str(&last, buf), "127.255.255.255");
	a = addr("192.0.2.2");
	assert_false(k8s_policy_vip_usable(&p, &a, &last));
	assert_string_equal(k8s_addr_str(&last, buf), "192.0.2.2");
	a = addr("192.0.2.3");
	assert_true(k8s_policy_vip_usable(&p, &a, &last));
	p.allow_vip = allow;
	p.nallow_vip = 1;
	a = addr("127.0.0.1");
	assert_false(k8s_policy_vip_usable(&p, &a, &last));
	assert_string_equal(k8s_addr_str(&last, buf), "127.0.255.255");
	a = addr("127.1.0.2");
	assert_true(k8s_policy_vip_usable(&p, &a, &last));
}

static void test_backend_rules(void **state)
{
	struct k8s_pool allow[] = {pool("10.0.0.0/8"), pool("127.0.0.1")};
	struct k8s_policy p = {0};
	struct k8s_addr a;
	char why[256];

	(void)state;
	a = addr("169.254.169.254");
	assert_false(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	assert_string_equal(why, "169.254.169.254 is a link-local address "
				 "(only --allow-backend can allow it)");
	a = addr("::1");
	assert_false(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	a = addr("0.0.0.0");
	assert_false(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	a = addr("239.1.1.1");
	assert_false(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	a = addr("198.51.100.1");
	assert_true(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	/* the host's addresses are no concern of the default backend rule */
	a = addr("192.0.2.2");
	assert_true(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	p.allow_backend = allow;
	p.nallow_backend = 2;
	a = addr("127.0.0.1");
	assert_true(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	a = addr("10.1.2.3");
	assert_true(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	a = addr("198.51.100.1");
	assert_false(k8s_policy_backend_ok(&p, &a, why, sizeof(why)));
	assert_string_equal(why, "198.51.100.1 is in no --allow-backend range");
}

/* The host's addresses: loopback is one; leaving "lo" out as if it
 * were the VIP interface drops 127.0.0.1. */
static void test_host_addrs(void **state)
{
	struct k8s_addr *v, lo = addr("127.0.0.1");
	size_t n;
	char why[256];
	bool found = false;

	(void)state;
	assert_int_equal(k8s_host_addrs("extlb0", &v, &n, why, sizeof(why)), 0);
	for (size_t i = 0; i < n; i++)
		found |= !k8s_addr_cmp(&v[i], &lo);
	assert_true(found);
	free(v);
	assert_int_equal(k8s_host_addrs("lo", &v, &n, why, sizeof(why)), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(k8s_addr_cmp(&v[i], &lo) != 0);
	free(v);
}

/* ---- admission ---------------------------------------------------------- */

static struct k8s_service *svc(const char *ns, const char *name,
			       const char *created)
{
	struct k8s_service *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->ns = (char *)ns;
	s->name = (char *)name;
	s->created = (char *)created;
	return s;
}

/* Caps in every order of the input: the same Services refused. */
static void test_caps_order_independent(void **state)
{
	struct k8s_service *s[4] = {
	    svc("t", "new", "2026-09-01T00:00:00Z"),
	    svc("t", "old", "2026-01-01T00:00:00Z"),
	    svc("t", "held", "2026-12-01T00:00:00Z"),
	    svc("t", "undated", NULL),
	};
	struct k8s_policy p = {.max_per_ns = 2};
	static const int orders[][4] = {
	    {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}};

	(void)state;
	for (size_t o = 0; o < 4; o++) {
		struct k8s_admit v[4];

		for (int i = 0; i < 4; i++)
			v[i] = (struct k8s_admit){.svc = s[orders[o][i]],
						  .holder = orders[o][i] == 2,
						  .nvs = 1};
		assert_int_equal(k8s_admit_caps(&p, v, 4), 0);
		for (int i = 0; i < 4; i++) {
			int k = orders[o][i];

			/* held, then old; new and undated refused */
			if (k == 1 || k == 2)
				assert_null(v[i].reason);
			else
				assert_string_equal(v[i].reason,
						    "NamespaceLimit");
		}
	}
	for (int i = 0; i < 4; i++)
		free(s[i]);
}

/* Clashes: the holder of a port keeps it; a refused Service claims none
 * of its other ports, so a junior may have them. */
static void test_clashes(void **state)
{
	struct k8s_service *s[3] = {svc("t", "a", "2026-01-01T00:00:00Z"),
				    svc("t", "b", "2026-02-01T00:00:00Z"),
				    svc("t", "c", "2026-03-01T00:00:00Z")};
	struct k8s_ident ia[2] = {{addr("192.0.2.1"), 80, K8S_TCP},
				  {addr("192.0.2.1"), 443, K8S_TCP}};
	struct k8s_ident ib[1] = {{addr("192.0.2.1"), 80, K8S_TCP}};
	struct k8s_ident ic[2] = {{addr("192.0.2.1"), 443, K8S_TCP},
				  {addr("192.0.2.1"), 80, K8S_UDP}};
	struct k8s_admit v[3] = {
	    {.svc = s[0], .nvs = 2, .idents = ia},
	    {.svc = s[1], .holder = true, .nvs = 1, .idents = ib},
	    {.svc = s[2], .nvs = 2, .idents = ic},
	};

	(void)state;
	assert_int_equal(k8s_admit_clashes(v, 3), 0);
	assert_string_equal(v[0].reason, "PortConflict");
	assert_string_equal(v[0].why,
			    "192.0.2.1 port 80/tcp is served by t/b already (a "
			    "shared VIP shares its address, not its ports)");
	assert_null(v[1].reason);
	assert_null(v[2].reason);
	for (int i = 0; i < 3; i++)
		free(s[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_vip_rules),
	    cmocka_unit_test(test_vip_usable_runs),
	    cmocka_unit_test(test_backend_rules),
	    cmocka_unit_test(test_host_addrs),
	    cmocka_unit_test(test_caps_order_independent),
	    cmocka_unit_test(test_clashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
