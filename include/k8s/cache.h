/*
 * k8s/cache.h - the objects of one kind as last read from the API server,
 * keyed by "namespace/name", each with its resourceVersion.
 *
 * A LIST fills a cache (k8s_cache_clear, then k8s_cache_put per item, then
 * k8s_cache_set_list_rv); a WATCH keeps it current with k8s_cache_put for
 * ADDED and MODIFIED and k8s_cache_delete for DELETED, starting from
 * list_rv.  The cache owns the parsed objects and frees them with the
 * function given at init; it never looks inside them.
 */
#ifndef EXTLB_K8S_CACHE_H
#define EXTLB_K8S_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct k8s_cache_item {
	char *key; /* "namespace/name" */
	char *rv;  /* metadata.resourceVersion, "" when the object had none */
	void *obj;
};

struct k8s_cache {
	const char *kind; /* "Service", for messages */
	void (*free_obj)(void *obj);
	struct k8s_cache_item *items; /* sorted by key (strcmp) */
	size_t n, cap;
	char *
	    list_rv; /* the last LIST's resourceVersion: where a WATCH starts */
};

void k8s_cache_init(struct k8s_cache *c, const char *kind,
		    void (*free_obj)(void *obj));
/* Frees every object and the list resourceVersion; c stays usable. */
void k8s_cache_clear(struct k8s_cache *c);

/* Adds or replaces the object under key; the cache owns obj from here on,
 * even on failure (it is freed then).  0, or -1 when out of memory. */
int k8s_cache_put(struct k8s_cache *c, const char *key, const char *rv,
		  void *obj);
/* true when key was there. */
bool k8s_cache_delete(struct k8s_cache *c, const char *key);
void *k8s_cache_get(const struct k8s_cache *c, const char *key);
const char *k8s_cache_rv(const struct k8s_cache *c, const char *key);
int k8s_cache_set_list_rv(struct k8s_cache *c, const char *rv);

#endif
