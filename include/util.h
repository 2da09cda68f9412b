/*
 * util.h - the small things every module of extlbd and extlb-k8s uses:
 * array length, the struct around a member, a growable array, the log
 * levels.  One definition each, so nobody writes them again.
 */
#ifndef EXTLB_UTIL_H
#define EXTLB_UTIL_H

#include <stddef.h>

/* Elements of an array (not of a pointer). */
#define XL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The struct of `type` whose `member` ptr points to. */
#ifndef container_of
#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Syslog priorities, so they pass straight through to syslog(3). */
enum xl_log_level {
	XL_LOG_ERROR = 3,
	XL_LOG_WARNING = 4,
	XL_LOG_INFO = 6,
	XL_LOG_DEBUG = 7,
};

/*
 * Room for at least `need` elements of `size` bytes in *vp, whose capacity
 * is *cap: doubles the capacity (from `first` when empty) until it is
 * enough.  0, or -ENOMEM (also on overflow) with *vp and *cap unchanged.
 */
int xl_grow(void *vp, size_t *cap, size_t need, size_t size, size_t first);

/*
 * The same, never growing past max elements (a buffer with a limit on what
 * it may hold): the doubled capacity is cut down to max; -ENOMEM when need
 * is more than max.
 */
int xl_grow_max(void *vp, size_t *cap, size_t need, size_t size, size_t first,
		size_t max);

/* xl_grow for an array v with capacity cap: XL_GROW(a->v, a->cap, n + 1, 16) */
#define XL_GROW(v, cap, need, first)                                           \
	xl_grow(&(v), &(cap), (need), sizeof(*(v)), (first))
#define XL_GROW_MAX(v, cap, need, first, max)                                  \
	xl_grow_max(&(v), &(cap), (need), sizeof(*(v)), (first), (max))

#endif
