/*
 * fuzz_k8s_list.c - libFuzzer target for what extlb-k8s reads from the API
 * server: the bytes as one LIST page (k8s_client_list_page), each item
 * through the three object parsers into caches, what is cached through the
 * renderer (annotations, source ranges, endpoints into the include file's
 * text), and the same bytes as a
 * watch stream cut in two at a point the input chooses (k8s_json_scan).
 *
 * What it checks: no crash, no leak, no read out of bounds (AddressSanitizer
 * and LeakSanitizer), and that a value scanned in two pieces has the same
 * extent and bounds as scanned whole.  Build and run: tests/fuzz/run.sh.
 */
#include "k8s/cache.h"
#include "k8s/client.h"
#include "k8s/log.h"
#include "k8s/render.h"
#include "k8s/sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct k8s_client *client(void)
{
	static struct k8s_kubeconfig kc = {.server = "https://127.0.0.1:1"};
	static struct k8s_client *c;
	char err[256];

	if (!c)
		c = k8s_client_new(&kc, err, sizeof(err));
	if (!c)
		abort();
	return c;
}

/* Each item into the cache of every kind: three parsers per item. */
static int load(json_object *item, void *arg)
{
	struct k8s_cache *caches = arg;
	size_t backends = 0;

	for (int k = 0; k < K8S_NKINDS; k++)
		if (k8s_kind_load_item(&caches[k], k, item, &backends) < 0)
			return -1;
	return 0;
}

/* The caches' objects through the renderer, as a pass of extlb-k8s. */
static void render(const struct k8s_cache *caches)
{
	static struct k8s_pool pools[2];
	static size_t npools;
	struct k8s_render_opts o = {.default_class = true};
	void **v[K8S_NKINDS];
	struct k8s_plan plan;
	char why[128];

	if (!npools &&
	    (k8s_pool_parse("192.0.2.0/24", &pools[0], why, sizeof(why)) < 0 ||
	     k8s_pool_parse("2001:db8::/120", &pools[1], why, sizeof(why)) < 0))
		abort();
	npools = 2;
	o.pools = pools;
	o.npools = npools;
	for (int k = 0; k < K8S_NKINDS; k++) {
		v[k] = calloc(caches[k].n + 1, sizeof(*v[k]));
		for (size_t i = 0; v[k] && i < caches[k].n; i++)
			v[k][i] = caches[k].items[i].obj;
	}
	if (v[K8S_SERVICES] && v[K8S_SLICES] && v[K8S_ENDPOINTS]) {
		struct k8s_world w = {
		    (struct k8s_service *const *)v[K8S_SERVICES],
		    caches[K8S_SERVICES].n,
		    (struct k8s_epset *const *)v[K8S_SLICES],
		    caches[K8S_SLICES].n,
		    (struct k8s_epset *const *)v[K8S_ENDPOINTS],
		    caches[K8S_ENDPOINTS].n,
		};

		if (k8s_render(&w, &o, &plan) == 0)
			k8s_plan_free(&plan);
	}
	for (int k = 0; k < K8S_NKINDS; k++)
		free(v[k]);
}

static void fuzz_page(const char *p, size_t n)
{
	struct k8s_cache caches[K8S_NKINDS];
	char *rv = NULL, *next = NULL;

	for (int k = 0; k < K8S_NKINDS; k++)
		k8s_kind_cache_init(&caches[k], k);
	k8s_client_list_page(client(), "/api/v1/services",
			     "/api/v1/services?limit=500&continue=x", 2, p, n,
			     load, caches, &rv, &next);
	render(caches);
	for (int k = 0; k < K8S_NKINDS; k++)
		k8s_cache_clear(&caches[k]);
	free(rv);
	free(next);
}

/* The scan cut at any point gives what it gives whole. */
static void fuzz_scan(const char *p, size_t n, size_t cut)
{
	struct k8s_json_scan whole, parts;
	size_t used, u1, u2 = 0;
	int r, r1, r2 = 0;

	if (!n)
		return;
	k8s_json_scan_reset(&whole);
	r = k8s_json_scan(&whole, p, n, &used);
	k8s_json_scan_reset(&parts);
	cut %= n;
	if (!cut)
		cut = 1;
	r1 = k8s_json_scan(&parts, p, cut, &u1);
	if (!r1)
		r2 = k8s_json_scan(&parts, p + cut, n - cut, &u2);
	if ((r1 || r2) != r || (r1 ? u1 : u1 + u2) != used ||
	    (parts.over == K8S_JSON_OK) != (whole.over == K8S_JSON_OK))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut = size ? data[0] * 257u : 0;

	k8s_log_set_level(K8S_LOG_ERROR);
	fuzz_page((const char *)data, size);
	fuzz_scan((const char *)data, size, cut);
	return 0;
}
