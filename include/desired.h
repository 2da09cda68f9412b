/*
 * desired.h - the table the kernel should hold, and its patching.
 *
 * Configuration, health and drains meet here and nowhere else: the desired
 * table is the configuration in force with the servers that are down left
 * out (or at weight 0), sorry servers added where quorum is lost, and the
 * servers that are draining kept at weight 0.  Built whole at start-up and
 * resync; after that each change rebuilds only the entries it can touch
 * and names them, by key, for the sync engine (sync.h) to reconcile alone:
 * a reload the services it changed, a health change or the end of a drain
 * the services concerned.
 */
#ifndef EXTLB_DESIRED_H
#define EXTLB_DESIRED_H

#include "config.h"
#include "drain.h"
#include "maint.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * The table the kernel should hold: the configuration with health applied.
 * A server that is down is left out, or kept at weight 0 when its service
 * has inhibit_on_failure.  When the live weight of a service falls below its
 * quorum, its sorry server (if any) is added.  is_up may be NULL (every
 * server up, as before the health engine runs).  Sorted; 0 or -ENOMEM.
 */
typedef bool (*xl_is_up_fn)(const void *arg, size_t vs, size_t rs);
int xl_desired_build(const struct xl_config *cfg, xl_is_up_fn is_up,
		     const void *arg, struct xl_table *out);

/* The entry of cfg->vs[v] alone, as xl_desired_build would make it. */
int xl_desired_entry(const struct xl_config *cfg, size_t v, xl_is_up_fn is_up,
		     const void *arg, struct xl_service *out);

/*
 * The desired table with what it is made from.  The caller owns cfg, the
 * health engine behind is_up and the drains, and sets these fields; the
 * table is this module's.  The operator's maintenance flags are one more
 * input: a server in maintenance is kept at weight 0 (up or down) and does
 * not count towards its service's quorum.
 */
struct xl_desired {
	const struct xl_config *cfg; /* the configuration in force */
	xl_is_up_fn is_up;	     /* NULL: every server up */
	const void *up_arg;
	const struct xl_drain *drain; /* NULL: none */
	const struct xl_maint *maint; /* NULL: none */
	struct xl_table table;	      /* sorted */
};

/* The weight of d->cfg->vs[v]'s servers that serve now (up, weighted, not
 * in maintenance): what its quorum is judged on. */
uint64_t xl_desired_live(const struct xl_desired *d, size_t v);

/* The whole table built again.  0, or -ENOMEM with the table as it was. */
int xl_desired_rebuild(struct xl_desired *d);

/*
 * Rebuilds the entries keys[0..n) name (services of d->cfg; others are
 * passed over): after a health change or a drain's end.  O(n log N).
 * 0, or -ENOMEM: then only xl_desired_rebuild makes the table whole again.
 */
int xl_desired_refresh(struct xl_desired *d, const struct xl_service *keys,
		       size_t n);

/*
 * The table for cfg, reloaded from d->cfg (cfg->prev), which d follows
 * from now on whatever the outcome.  The entry of a service the reload left
 * unchanged is moved, not rebuilt; the others are built.  Appended to k:
 * the keys of the services being drained now, of the services the reload
 * changed, added or removed.  The entries of the drains' services and of
 * the keys k held on entry (the drains' before the reload) are rebuilt.
 * One pass over the two sorted tables.  0, or -ENOMEM: the table is then
 * not cfg's until xl_desired_rebuild.
 */
int xl_desired_reload(struct xl_desired *d, const struct xl_config *cfg,
		      struct xl_keys *k);

/* Appends the keys of the services that have draining servers (repeats
 * do no harm).  0 or -ENOMEM. */
int xl_desired_drain_keys(const struct xl_desired *d, struct xl_keys *k);

void xl_desired_free(struct xl_desired *d);

#endif
