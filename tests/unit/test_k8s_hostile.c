/*
 * test_k8s_hostile.c - cmocka tests of what bounds the API server's
 * answers: the JSON scan (k8s_json_scan) and a LIST page read one item at
 * a time (k8s_client_list_page), fed pages a hostile or broken server
 * could send: nesting too deep, too many objects, wrong types, items that
 * are not an array, no metadata, continue tokens that never end.
 *
 * Whatever the page, the cache gets only whole, parsed objects, and a
 * page that fails leaves the caller to drop what it had put.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/cache.h"
#include "k8s/client.h"
#include "k8s/sync.h"

/* ---- the scan ---------------------------------------------------------- */

/* Scans the whole text in one piece: 1, 0 as k8s_json_scan. */
static int scan(const char *text, size_t *used, enum k8s_json_over *over)
{
	struct k8s_json_scan s;
	int r;

	k8s_json_scan_reset(&s);
	r = k8s_json_scan(&s, text, strlen(text), used);
	*over = s.over;
	return r;
}

static void test_scan_extent(void **state)
{
	enum k8s_json_over over;
	size_t n;

	(void)state;
	assert_int_equal(scan("{\"a\":[1,{\"b\":\"}]\"}]} tail", &n, &over), 1);
	assert_int_equal(n, 20);
	assert_int_equal(over, K8S_JSON_OK);
	assert_int_equal(scan("\"x\\\"y\",", &n, &over), 1);
	assert_int_equal(n, 6);
	assert_int_equal(scan("12345,", &n, &over), 1);
	assert_int_equal(n, 5);
	assert_int_equal(scan("true]", &n, &over), 1);
	assert_int_equal(n, 4);
	/* not ended: more is needed */
	assert_int_equal(scan("{\"a\":[1,2", &n, &over), 0);
	assert_int_equal(n, 9);
	assert_int_equal(scan("123", &n, &over), 0);
}

/* A value cut into pieces anywhere is scanned the same. */
static void test_scan_pieces(void **state)
{
	const char *text = "{\"k\":\"a\\\\\\\"b\",\"l\":[{},{}]}\n{";
	size_t whole = strlen(text) - 2;

	(void)state;
	for (size_t cut = 1; cut < whole; cut++) {
		struct k8s_json_scan s;
		size_t n1, n2;

		k8s_json_scan_reset(&s);
		assert_int_equal(k8s_json_scan(&s, text, cut, &n1), 0);
		assert_int_equal(n1, cut);
		assert_int_equal(
		    k8s_json_scan(&s, text + cut, strlen(text) - cut, &n2), 1);
		assert_int_equal(n1 + n2, whole);
		assert_int_equal(s.maps, 3);
	}
}

/* A text of n copies of unit inside [ ], made for the test. */
static char *repeat(const char *open, const char *unit, size_t n,
		    const char *close)
{
	size_t ul = strlen(unit),
	       len = strlen(open) + n * (ul + 1) + strlen(close) + 1;
	char *s = malloc(len), *p = s;

	assert_non_null(s);
	p += sprintf(p, "%s", open);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", unit);
	sprintf(p, "%s", close);
	return s;
}

static void test_scan_bounds(void **state)
{
	enum k8s_json_over over;
	char *s;
	size_t n;

	(void)state;
	/* the depth: 64 levels pass, 65 do not */
	s = calloc(1, 2 * (K8S_MAX_DEPTH + 1) + 1);
	memset(s, '[', K8S_MAX_DEPTH);
	memset(s + K8S_MAX_DEPTH, ']', K8S_MAX_DEPTH);
	assert_int_equal(scan(s, &n, &over), 1);
	assert_int_equal(over, K8S_JSON_OK);
	memset(s, '[', K8S_MAX_DEPTH + 1);
	memset(s + K8S_MAX_DEPTH + 1, ']', K8S_MAX_DEPTH + 1);
	assert_int_equal(scan(s, &n, &over), 1);
	assert_int_equal(over, K8S_JSON_TOO_DEEP);
	assert_int_equal(n, 2 * (K8S_MAX_DEPTH + 1));
	free(s);
	/* JSON objects: the costly part of json-c's tree */
	s = repeat("[", "{}", K8S_MAX_MAPS + 1, "]");
	assert_int_equal(scan(s, &n, &over), 1);
	assert_int_equal(over, K8S_JSON_TOO_MANY_MAPS);
	assert_int_equal(n, strlen(s));
	free(s);
	s = repeat("[", "0", K8S_MAX_NODES + 1, "]");
	assert_int_equal(scan(s, &n, &over), 1);
	assert_int_equal(over, K8S_JSON_TOO_MANY_NODES);
	free(s);
	/* bytes: a string longer than an object may be */
	s = malloc(K8S_MAX_OBJECT + 8);
	memset(s, 'x', K8S_MAX_OBJECT + 7);
	s[0] = '"';
	s[K8S_MAX_OBJECT + 6] = '"';
	s[K8S_MAX_OBJECT + 7] = 0;
	assert_int_equal(scan(s, &n, &over), 1);
	assert_int_equal(over, K8S_JSON_TOO_BIG);
	free(s);
	assert_string_equal(k8s_json_over_text(K8S_JSON_TOO_DEEP),
			    "nested deeper than 64 levels");
}

/* ---- LIST pages --------------------------------------------------------- */

static struct k8s_kubeconfig kc = {.server = "https://127.0.0.1:1"};

static int setup(void **state)
{
	char err[256];

	*state = k8s_client_new(&kc, err, sizeof(err));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	k8s_client_free(*state);
	return 0;
}

static int load(json_object *item, void *cache)
{
	size_t backends = 0;

	return k8s_kind_load_item(cache, K8S_SERVICES, item, &backends);
}

/* A page of Services (' for ") read into a fresh cache.  The result of
 * k8s_client_list_page; *n the objects put; *next freed. */
static int page(struct k8s_client *c, const char *text, size_t *n, bool *more)
{
	struct k8s_cache cache;
	char *s = strdup(text), *rv = NULL, *next = NULL;
	int r;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		*p = *p == '\'' ? '"' : *p;
	k8s_kind_cache_init(&cache, K8S_SERVICES);
	r = k8s_client_list_page(c, "/api/v1/services", "/api/v1/services", 1,
				 s, strlen(s), load, &cache, &rv, &next);
	*n = cache.n;
	*more = next != NULL;
	k8s_cache_clear(&cache);
	free(next);
	free(rv);
	free(s);
	return r;
}

#define SVC(name)                                                              \
	"{'metadata':{'namespace':'default','name':'" name "'},"               \
	"'spec':{'type':'LoadBalancer','ports':[{'port':80}]}}"

static void test_page_good(void **state)
{
	size_t n;
	bool more;

	assert_int_equal(
	    page(*state,
		 "{'kind':'ServiceList','metadata':{'resourceVersion'"
		 ":'7','continue':'abc'},'items':[" SVC("a") "," SVC("b") "]}",
		 &n, &more),
	    0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(
	    page(*state, " {'items':null,'metadata':{}} \n", &n, &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);
}

/* Items past a bound, or of the wrong type, are skipped; the rest kept. */
static void test_page_items_skipped(void **state)
{
	char *deep = calloc(1, 1024), *wide;
	size_t n;
	bool more;

	strcpy(deep, "{'metadata':{},'items':[" SVC("a") ",{'x':");
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	for (int i = 0; i < 100; i++)
		strcat(deep, "]");
	strcat(deep, "}," SVC("b") "]}");
	assert_int_equal(page(*state, deep, &n, &more), 0);
	assert_int_equal(n, 2);
	free(deep);
	wide = repeat("{'metadata':{},'items':[" SVC("a") ",{'x':[", "{}",
		      K8S_MAX_MAPS, "]}]}");
	assert_int_equal(page(*state, wide, &n, &more), 0);
	assert_int_equal(n, 1);
	free(wide);
	assert_int_equal(
	    page(*state,
		 "{'metadata':{},'items':['a string',7,null,[],{'metadata':"
		 "'x'},{'spec':{}},{'metadata':{'namespace':'n','name':["
		 "'a']}},{'metadata':{'namespace':'n','name':'s'},'spec':"
		 "'LoadBalancer'},{'metadata':{'namespace':'n','name':'p'},"
		 "'spec':{'type':'LoadBalancer','ports':[{'port':"
		 "123456789012345678901234567890}]}}," SVC("ok") "]}",
		 &n, &more),
	    0);
	assert_int_equal(n, 1);
}

/* Pages that are not lists fail whole. */
static void test_page_fails(void **state)
{
	static const char *const bad[] = {
	    "{'metadata':{},'items':{'a':1}}",
	    "{'metadata':{},'items':'x'}",
	    "{'items':[]}",
	    "{'metadata':'x','items':[]}",
	    "{'metadata':{},'items':[]",
	    "{'metadata':{},'items':[" SVC("a") "}",
	    "{'metadata':{},'items':[]} {}",
	    "[1,2]",
	    "<html>",
	    "",
	    "{'metadata':{},'items':[],'items':[]}",
	    "{'metadata':{},'items':[{'a':1]]}",
	};
	size_t n;
	bool more;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (page(*state, bad[i], &n, &more) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_false(more);
	}
}

/* More items than the limit asked for: a server that does not page. */
static void test_page_too_many_items(void **state)
{
	char *s = repeat("{'metadata':{},'items':[", SVC("a"),
			 K8S_PAGE_LIMIT + 1, "]}");
	size_t n;
	bool more;

	assert_int_equal(page(*state, s, &n, &more), -1);
	assert_non_null(
	    strstr(k8s_client_error(*state), "more than 500 items"));
	free(s);
}

/* A continue token that comes back, or pages that never end. */
static void test_page_continue(void **state)
{
	const char *text = "{\"metadata\":{\"continue\":\"t\"},\"items\":[]}";
	char *url = k8s_client_list_url(*state, "/api/v1/services", "t");
	char *rv = NULL, *next = NULL;

	assert_int_equal(k8s_client_list_page(*state, "/api/v1/services", url,
					      2, text, strlen(text), NULL, NULL,
					      &rv, &next),
			 -1);
	assert_null(next);
	assert_non_null(
	    strstr(k8s_client_error(*state), "its own continue token"));
	assert_int_equal(
	    k8s_client_list_page(*state, "/api/v1/services",
				 "/api/v1/services?x", K8S_MAX_LIST_PAGES, text,
				 strlen(text), NULL, NULL, &rv, &next),
	    -1);
	assert_non_null(
	    strstr(k8s_client_error(*state), "more than 400 pages"));
	assert_int_equal(
	    k8s_client_list_page(*state, "/api/v1/services",
				 "/api/v1/services?x", K8S_MAX_LIST_PAGES - 1,
				 text, strlen(text), NULL, NULL, &rv, &next),
	    0);
	assert_non_null(next);
	free(next);
	free(rv);
	free(url);
}

/* An Endpoints object of naddr addresses and nport ports (' for "). */
static char *endpoints(const char *name, size_t naddr, size_t nport)
{
	char *addrs = repeat("", "{'ip':'192.0.2.1'}", naddr, "");
	char *ports = repeat("", "{'port':80}", nport, "");
	char *s = malloc(strlen(addrs) + strlen(ports) + 256);

	assert_non_null(s);
	sprintf(s,
		"{'metadata':{'namespace':'n','name':'%s'},'subsets':[{"
		"'addresses':[%s],'ports':[%s]}]}",
		name, addrs, ports);
	free(addrs);
	free(ports);
	for (char *p = s; *p; p++)
		*p = *p == '\'' ? '"' : *p;
	return s;
}

/* Addresses times ports: bounded in one object, and in one LIST. */
static void test_backends_bounded(void **state)
{
	struct k8s_cache cache;
	size_t backends = 0, i;
	char *s;
	json_object *j;

	(void)state;
	k8s_kind_cache_init(&cache, K8S_ENDPOINTS);
	s = endpoints("too-many", 1001, 100);
	j = json_tokener_parse(s);
	assert_int_equal(
	    k8s_kind_load_item(&cache, K8S_ENDPOINTS, j, &backends), 0);
	assert_int_equal(cache.n, 0); /* skipped */
	json_object_put(j);
	free(s);
	for (i = 0; i * K8S_MAX_OBJECT_BACKENDS <= K8S_MAX_LIST_BACKENDS; i++) {
		char name[32];
		int r;

		snprintf(name, sizeof(name), "e%zu", i);
		s = endpoints(name, 1000, 100);
		j = json_tokener_parse(s);
		r = k8s_kind_load_item(&cache, K8S_ENDPOINTS, j, &backends);
		json_object_put(j);
		free(s);
		if (r) {
			assert_int_equal(r, -2);
			break;
		}
	}
	/* the object past the bound is not put */
	assert_int_equal(i, K8S_MAX_LIST_BACKENDS / K8S_MAX_OBJECT_BACKENDS);
	assert_int_equal(cache.n, i);
	assert_int_equal(backends, K8S_MAX_LIST_BACKENDS);
	k8s_cache_clear(&cache);
}

/* A watch event that would pass the bound is skipped, the old kept. */
static void event(struct k8s_state *st, const char *type, size_t nports,
		  int want)
{
	char *s = endpoints("ev", 1, nports);
	json_object *j = json_tokener_parse(s);

	assert_int_equal(k8s_state_event(st, K8S_ENDPOINTS, type, j), want);
	json_object_put(j);
	free(s);
}

static void test_events_bounded(void **state)
{
	struct k8s_state st;
	size_t base = K8S_MAX_LIST_BACKENDS - 8;

	(void)state;
	k8s_state_init(&st);
	st.backends[K8S_ENDPOINTS] = base; /* as if listed */
	event(&st, "ADDED", 5, 1);
	assert_int_equal(st.backends[K8S_ENDPOINTS], base + 5);
	event(&st, "MODIFIED", 9, 0); /* base + 9: past the bound */
	assert_int_equal(st.backends[K8S_ENDPOINTS], base + 5);
	assert_int_equal(st.kinds[K8S_ENDPOINTS].n, 1);
	event(&st, "MODIFIED", 8, 1); /* base + 8: the bound itself */
	assert_int_equal(st.backends[K8S_ENDPOINTS], base + 8);
	event(&st, "DELETED", 8, 1);
	assert_int_equal(st.backends[K8S_ENDPOINTS], base);
	assert_int_equal(st.kinds[K8S_ENDPOINTS].n, 0);
	k8s_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_extent),
	    cmocka_unit_test(test_scan_pieces),
	    cmocka_unit_test(test_scan_bounds),
	    cmocka_unit_test_setup_teardown(test_page_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_page_items_skipped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_page_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_page_too_many_items, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_page_continue, setup,
					    teardown),
	    cmocka_unit_test(test_backends_bounded),
	    cmocka_unit_test(test_events_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
