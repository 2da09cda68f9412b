/*
 * kernel.h - what the sync engine needs of a kernel that holds IPVS tables.
 *
 * sync.c reaches the kernel only through these four calls, so that it can
 * be run against a kernel made of memory: ipvs.c implements them over
 * generic netlink (xl_ipvs_kernel_ops), and tests/unit/test_sync.c with a
 * table that applies ops, refuses the ones it is told to and can be
 * changed behind the engine's back.
 */
#ifndef EXTLB_KERNEL_H
#define EXTLB_KERNEL_H

#include "model.h"
#include "op.h"

#include <stddef.h>

struct xl_kernel_ops {
	/* Every service and its destinations, sorted.  0 or -errno. */
	int (*dump)(void *kernel, struct xl_table *out);
	/* One service as the kernel holds it now (key: its identity), with
	 * its destinations, sorted.  0, -ESRCH when it has none such, or
	 * -errno. */
	int (*get_service)(void *kernel, const struct xl_service *key,
			   struct xl_service *out);
	/* As get_service, and the counters of its destinations into *stats,
	 * one per out->dests entry, in that order (the caller frees it).
	 * Optional: status alone asks. */
	int (*get_service_stats)(void *kernel, const struct xl_service *key,
				 struct xl_service *out,
				 struct xl_ipvs_stats **stats);
	/* Applies ops in order, each refused one reported to fn.  Returns how
	 * many were refused, or -errno when the kernel could not be reached
	 * (the state of what was not acknowledged is then unknown). */
	long (*apply)(void *kernel, const struct xl_op *ops, size_t n,
		      xl_op_err_fn fn, void *arg);
	/* What err (a positive errno) means for op, in words. */
	const char *(*strerror)(void *kernel, const struct xl_op *op, int err);
};

#endif
