/*
 * cache.c - a sorted array of the objects of one kind, keyed by
 * "namespace/name".
 *
 * The API server lists objects in key order, so filling a cache from a LIST
 * appends at the end and costs no moves; later WATCH events touch one item
 * each.  A sorted array keeps iteration in key order for free, which the
 * renderer relies on for a deterministic output.
 */
#include "k8s/cache.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void k8s_cache_init(struct k8s_cache *c, const char *kind,
		    void (*free_obj)(void *obj))
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->free_obj = free_obj;
}

static void item_free(struct k8s_cache *c, struct k8s_cache_item *it)
{
	free(it->key);
	free(it->rv);
	if (it->obj)
		c->free_obj(it->obj);
}

void k8s_cache_clear(struct k8s_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		item_free(c, &c->items[i]);
	free(c->items);
	free(c->list_rv);
	c->items = NULL;
	c->n = c->cap = 0;
	c->list_rv = NULL;
}

/* The index of key, or where it would go (*found false). */
static size_t cache_find(const struct k8s_cache *c, const char *key,
			 bool *found)
{
	size_t lo = 0, hi = c->n;

	/* the common case when loading a LIST: after the last item */
	if (c->n && strcmp(c->items[c->n - 1].key, key) < 0) {
		*found = false;
		return c->n;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->items[mid].key, key);

		if (!r) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int cache_grow(struct k8s_cache *c)
{
	return XL_GROW(c->items, c->cap, c->n + 1, 64) < 0 ? -1 : 0;
}

int k8s_cache_put(struct k8s_cache *c, const char *key, const char *rv,
		  void *obj)
{
	struct k8s_cache_item it = {strdup(key), strdup(rv ? rv : ""), obj};
	bool found;
	size_t i;

	if (!it.key || !it.rv)
		goto fail;
	i = cache_find(c, key, &found);
	if (found) {
		item_free(c, &c->items[i]);
		c->items[i] = it;
		return 0;
	}
	if (cache_grow(c) < 0)
		goto fail;
	memmove(&c->items[i + 1], &c->items[i],
		(c->n - i) * sizeof(c->items[0]));
	c->items[i] = it;
	c->n++;
	return 0;
fail:
	item_free(c, &it);
	return -1;
}

bool k8s_cache_delete(struct k8s_cache *c, const char *key)
{
	bool found;
	size_t i = cache_find(c, key, &found);

	if (!found)
		return false;
	item_free(c, &c->items[i]);
	memmove(&c->items[i], &c->items[i + 1],
		(c->n - i - 1) * sizeof(c->items[0]));
	c->n--;
	return true;
}

void *k8s_cache_get(const struct k8s_cache *c, const char *key)
{
	bool found;
	size_t i = cache_find(c, key, &found);

	return found ? c->items[i].obj : NULL;
}

const char *k8s_cache_rv(const struct k8s_cache *c, const char *key)
{
	bool found;
	size_t i = cache_find(c, key, &found);

	return found ? c->items[i].rv : NULL;
}

int k8s_cache_set_list_rv(struct k8s_cache *c, const char *rv)
{
	char *s = strdup(rv ? rv : "");

	if (!s)
		return -1;
	free(c->list_rv);
	c->list_rv = s;
	return 0;
}
