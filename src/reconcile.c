/*
 * reconcile.c - turn "what the kernel holds" into "what we want" with the
 * fewest IPVS operations.
 *
 * Both tables are sorted by identity, so one merge pass over the services,
 * and for each common service one merge pass over its destinations, finds
 * every difference in linear time.  Order matters to traffic, not to
 * correctness: unwanted services go first; within a service new and changed
 * real servers are written before old ones are deleted, so a service whose
 * whole pool is replaced never has an empty pool between two ops.
 */
#include "reconcile.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>

static int push(struct xl_ops *ops, enum xl_op_kind k,
		const struct xl_service *s, const struct xl_dest *d)
{
	if (XL_GROW(ops->v, ops->cap, ops->n + 1, 64) < 0)
		return -ENOMEM;
	ops->v[ops->n++] = (struct xl_op){.kind = k, .svc = s, .dest = d};
	return 0;
}

static bool owned(const struct xl_service *s,
		  const struct xl_reconcile_opts *opts)
{
	if (opts && opts->owns_all)
		return true;
	return opts && xl_table_find(opts->previous, s) != NULL;
}

/* Destinations of one service present on both sides. */
static int diff_dests(const struct xl_service *want,
		      const struct xl_service *have, struct xl_ops *ops)
{
	size_t i = 0, j = 0;
	int rc = 0;

	/* adds and edits first, deletes in a second pass */
	while (i < want->ndests && !rc) {
		const struct xl_dest *w = &want->dests[i];
		int c = j < have->ndests ? xl_dest_cmp(w, &have->dests[j]) : -1;

		if (c < 0) {
			rc = push(ops, XL_OP_ADD_DEST, want, w);
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (!xl_dest_attrs_equal(w, &have->dests[j]))
				rc = push(ops, XL_OP_EDIT_DEST, want, w);
			i++;
			j++;
		}
	}
	for (i = 0, j = 0; j < have->ndests && !rc;) {
		const struct xl_dest *h = &have->dests[j];
		int c = i < want->ndests ? xl_dest_cmp(&want->dests[i], h) : 1;

		if (c > 0) {
			rc = push(ops, XL_OP_DEL_DEST, have, h);
			j++;
		} else if (c < 0) {
			i++;
		} else {
			i++;
			j++;
		}
	}
	return rc;
}

static int add_service(const struct xl_service *s, struct xl_ops *ops)
{
	int rc = push(ops, XL_OP_ADD_SVC, s, NULL);

	for (size_t i = 0; i < s->ndests && !rc; i++)
		rc = push(ops, XL_OP_ADD_DEST, s, &s->dests[i]);
	return rc;
}

int xl_reconcile(const struct xl_table *desired, const struct xl_table *actual,
		 const struct xl_reconcile_opts *opts, struct xl_ops *ops)
{
	size_t i, j;
	int rc = 0;

	for (j = 0; j < actual->nsvcs && !rc; j++) {
		const struct xl_service *h = &actual->svcs[j];

		if (!xl_table_find(desired, h) && owned(h, opts))
			rc = push(ops, XL_OP_DEL_SVC, h, NULL);
	}
	for (i = 0, j = 0; i < desired->nsvcs && !rc;) {
		const struct xl_service *w = &desired->svcs[i];
		int c = j < actual->nsvcs ? xl_service_cmp(w, &actual->svcs[j])
					  : -1;

		if (c > 0) {
			j++;
			continue;
		}
		if (c < 0) {
			rc = add_service(w, ops);
		} else {
			const struct xl_service *h = &actual->svcs[j++];

			if (!xl_service_attrs_equal(w, h))
				rc = push(ops, XL_OP_EDIT_SVC, w, NULL);
			if (!rc)
				rc = diff_dests(w, h, ops);
		}
		i++;
	}
	return rc;
}

void xl_ops_free(struct xl_ops *ops)
{
	free(ops->v);
	ops->v = NULL;
	ops->n = ops->cap = 0;
}
