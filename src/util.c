/*
 * util.c - the growable arrays of util.h.
 */
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int xl_grow(void *vp, size_t *cap, size_t need, size_t size, size_t first)
{
	return xl_grow_max(vp, cap, need, size, first, SIZE_MAX);
}

int xl_grow_max(void *vp, size_t *cap, size_t need, size_t size, size_t first,
		size_t max)
{
	void **v = vp;
	size_t n = *cap ? *cap : (first ? first : 1);
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > max) {
		if (need > max)
			return -ENOMEM;
		n = max;
	}
	if (!size || n > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*v, n * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}
