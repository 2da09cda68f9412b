/*
 * sync.h - keeps the kernel's IPVS table equal to a desired table.
 *
 * The engine remembers what the kernel holds (its last dump, brought up to
 * date with every op the kernel acknowledged), so a reload or a health
 * change costs a reconcile against memory and the ops it yields, not a dump
 * of a 100,000-object table.  The services of refused ops are read back
 * from the kernel (one request each) and kept as pending until a run puts
 * them right; a socket error forgets the memory and the next run dumps
 * again, and so does xl_sync_invalidate().
 */
#ifndef EXTLB_SYNC_H
#define EXTLB_SYNC_H

#include "kernel.h"
#include "model.h"
#include "reconcile.h"

#include <stdbool.h>
#include <stddef.h>

struct xl_sync;

struct xl_sync_result {
	size_t count[XL_OP_KINDS]; /* ops by kind */
	size_t nops;
	long failed;
	bool dumped;
	double ms;
};

/* A sync engine for the kernel that ops reaches through `kernel` (ipvs.h:
 * xl_ipvs_kernel_ops with an xl_ipvs handle). */
struct xl_sync *xl_sync_new(const struct xl_kernel_ops *ops, void *kernel);
void xl_sync_free(struct xl_sync *s);

/*
 * Brings the kernel to `want` (sorted).  Services extlbd applied before
 * (the previous `want`) and missing from this one are deleted; services it
 * never applied are left alone unless owns_all.  Each op is logged (at info
 * when at most log_ops_max ops, else at debug) and refused ops as errors.
 * Returns 0 (see res->failed) or -errno when the kernel could not be read or
 * written at all.
 */
int xl_sync_run(struct xl_sync *s, const struct xl_table *want, bool owns_all,
		size_t log_ops_max, struct xl_sync_result *res);

/*
 * The same, for the services keys name (identities; any order, repeats
 * allowed) when only they can differ between `want` and the kernel: a
 * health change, a reload that changed a few services.  Costs O(k log n)
 * for k keys, plus one pass moving the entries when one is added or
 * removed.  Without a valid memory of the kernel it is a full run.
 */
int xl_sync_run_keys(struct xl_sync *s, const struct xl_table *want,
		     const struct xl_service *keys, size_t nkeys, bool owns_all,
		     size_t log_ops_max, struct xl_sync_result *res);

/*
 * The same after reading those services back from the kernel (one request
 * each, with its destinations): what someone changed behind our back is
 * found and put right, at a cost that follows the keys, not the table.
 */
int xl_sync_check_keys(struct xl_sync *s, const struct xl_table *want,
		       const struct xl_service *keys, size_t nkeys,
		       bool owns_all, size_t log_ops_max,
		       struct xl_sync_result *res);

/* The name of the service svc names (or NULL: not configured), for the
 * log lines of its ops. */
typedef const char *(*xl_sync_name_fn)(void *arg, const struct xl_service *svc);
void xl_sync_set_names(struct xl_sync *s, xl_sync_name_fn fn, void *arg);
/* The runs that follow are why's: one of many ops logs "why: N of M ops
 * sent" every secs (0: never). */
void xl_sync_set_progress(struct xl_sync *s, const char *why, double secs);

/* One line at info: the ops of a run by kind, failures, time taken. */
void xl_sync_log_result(const char *why, const struct xl_sync_result *r);

/* Forget what the kernel holds: the next run starts with a dump. */
void xl_sync_invalidate(struct xl_sync *s);
/* The kernel as last known (valid after a run); NULL if unknown. */
const struct xl_table *xl_sync_kernel(const struct xl_sync *s);
/* The services the last run applied: what extlbd owns (identities only). */
const struct xl_table *xl_sync_applied(const struct xl_sync *s);
/*
 * The services with an op the kernel refused that no run has put right
 * since (keys, sorted, each once): what a retry hands to
 * xl_sync_check_keys().  Valid until the next run.
 */
const struct xl_keys *xl_sync_pending(const struct xl_sync *s);

#endif
