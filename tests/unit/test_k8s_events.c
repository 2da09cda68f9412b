/*
 * test_k8s_events.c - cmocka tests of what keeps Events few: the token
 * buckets of the rate limit (overall and per Service, their refill, the
 * count of what was dropped, the buckets forgotten once full), and the
 * memory of what was told seeded from Events already in the cluster.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/events.h"

/* The burst over all Services: 25 pass at once, the 26th does not. */
static void test_overall_burst(void **state)
{
	struct k8s_limiter l;
	char svc[32];
	int passed = 0;

	(void)state;
	k8s_limiter_init(&l);
	for (int i = 0; i < 40; i++) {
		snprintf(svc, sizeof(svc), "default/s%d", i);
		passed += k8s_limiter_allow(&l, svc, 100.0);
	}
	assert_int_equal(passed, (int)K8S_EVENT_BURST);
	assert_int_equal(k8s_limiter_dropped(&l, 100.0), 40 - passed);
	/* the count starts again */
	assert_int_equal(k8s_limiter_dropped(&l, 100.0), 0);
	k8s_limiter_free(&l);
}

/* Past the burst, one a second: 10 s later, 10 more. */
static void test_overall_refill(void **state)
{
	struct k8s_limiter l;
	char svc[32];
	int passed = 0;

	(void)state;
	k8s_limiter_init(&l);
	for (int i = 0; i < 25; i++) {
		snprintf(svc, sizeof(svc), "default/a%d", i);
		assert_true(k8s_limiter_allow(&l, svc, 5.0));
	}
	for (int i = 0; i < 20; i++) {
		snprintf(svc, sizeof(svc), "default/b%d", i);
		passed += k8s_limiter_allow(&l, svc, 15.0);
	}
	assert_int_equal(passed, 10);
	/* a long quiet fills the bucket to its burst, not beyond */
	passed = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(svc, sizeof(svc), "default/c%d", i);
		passed += k8s_limiter_allow(&l, svc, 10000.0);
	}
	assert_int_equal(passed, (int)K8S_EVENT_BURST);
	k8s_limiter_free(&l);
}

/* One Service: its own burst, then one a period; others unaffected. */
static void test_per_service(void **state)
{
	struct k8s_limiter l;
	int passed = 0;

	(void)state;
	k8s_limiter_init(&l);
	for (int i = 0; i < 10; i++)
		passed += k8s_limiter_allow(&l, "default/noisy", 1.0);
	assert_int_equal(passed, (int)K8S_EVENT_SVC_BURST);
	assert_true(k8s_limiter_allow(&l, "default/quiet", 1.0));
	assert_false(k8s_limiter_allow(&l, "default/noisy",
				       1.0 + K8S_EVENT_SVC_PERIOD / 2));
	assert_true(
	    k8s_limiter_allow(&l, "default/noisy", 1.0 + K8S_EVENT_SVC_PERIOD));
	assert_int_equal(k8s_limiter_dropped(&l, 2.0 + K8S_EVENT_SVC_PERIOD),
			 6);
	k8s_limiter_free(&l);
}

/* A Service's bucket that is full again is forgotten; one that is not,
 * kept (its debt must not be forgiven). */
static void test_buckets_forgotten(void **state)
{
	struct k8s_limiter l;

	(void)state;
	k8s_limiter_init(&l);
	for (int i = 0; i < 5; i++)
		assert_true(k8s_limiter_allow(&l, "default/a", 0.0));
	assert_true(k8s_limiter_allow(&l, "default/b", 0.0));
	assert_int_equal(l.per.n, 2);
	/* b is full again after one period, a is not */
	k8s_limiter_dropped(&l, K8S_EVENT_SVC_PERIOD);
	assert_int_equal(l.per.n, 1);
	assert_non_null(k8s_cache_get(&l.per, "default/a"));
	k8s_limiter_dropped(&l, 5 * K8S_EVENT_SVC_PERIOD);
	assert_int_equal(l.per.n, 0);
	k8s_limiter_free(&l);
}

static void test_event_key(void **state)
{
	char *k = k8s_event_key("ns", "web", "VIPRefused", "no");

	(void)state;
	assert_string_equal(k, "ns/web\nVIPRefused: no");
	free(k);
}

static json_object *event(const char *kind, const char *ns, const char *name,
			  const char *reason, const char *msg)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"involvedObject\":{\"kind\":\"%s\",\"namespace\":\"%s\","
		 "\"name\":\"%s\"},\"reason\":\"%s\",\"message\":\"%s\","
		 "\"source\":{\"component\":\"extlb-k8s\"}}",
		 kind, ns, name, reason, msg);
	return json_tokener_parse(text);
}

/* Events about Services go into the memory under the key tell() uses;
 * the same cause twice is one entry; others are left out. */
static void test_seed(void **state)
{
	struct k8s_cache told;
	json_object *e[] = {
	    event("Service", "default", "meta", "VIPRefused", "refused: x"),
	    event("Service", "default", "meta", "VIPRefused", "refused: x"),
	    event("Service", "prod", "web", "IPAllocated", "VIP 1 assigned"),
	    event("Pod", "default", "meta", "VIPRefused", "refused: x"),
	    json_tokener_parse("{\"reason\":\"X\",\"message\":\"y\"}"),
	    json_tokener_parse("[1,2]"),
	};

	(void)state;
	k8s_cache_init(&told, "pending Service", free);
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		assert_non_null(e[i]);
		assert_int_equal(k8s_event_seed(&told, e[i]), 0);
		json_object_put(e[i]);
	}
	assert_int_equal(told.n, 2);
	assert_non_null(
	    k8s_cache_get(&told, "default/meta\nVIPRefused: refused: x"));
	assert_non_null(
	    k8s_cache_get(&told, "prod/web\nIPAllocated: VIP 1 assigned"));
	k8s_cache_clear(&told);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overall_burst),
	    cmocka_unit_test(test_overall_refill),
	    cmocka_unit_test(test_per_service),
	    cmocka_unit_test(test_buckets_forgotten),
	    cmocka_unit_test(test_event_key),
	    cmocka_unit_test(test_seed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
