/*
 * reconcile.h - the difference between two IPVS tables as an op list.
 *
 * xl_reconcile() is pure: two sorted tables in, the minimal ordered list of
 * IPVS operations out.  It never talks to the kernel.
 */
#ifndef EXTLB_RECONCILE_H
#define EXTLB_RECONCILE_H

#include "model.h"
#include "op.h"

#include <stdbool.h>
#include <stddef.h>

struct xl_ops {
	struct xl_op *v;
	size_t n, cap;
};

struct xl_reconcile_opts {
	/* Services present in the kernel but not desired are deleted when
	 * owns_all is set, or when they were in the previous desired table
	 * (extlbd put them there); every other one is someone else's. */
	bool owns_all;
	const struct xl_table *previous; /* may be NULL */
};

/*
 * Fills ops (appending) so that applying them in order turns actual into
 * desired for every owned service.  Both tables must be sorted
 * (xl_table_sort).  Returns 0 or -ENOMEM.
 */
int xl_reconcile(const struct xl_table *desired, const struct xl_table *actual,
		 const struct xl_reconcile_opts *opts, struct xl_ops *ops);

void xl_ops_free(struct xl_ops *ops);

#endif
