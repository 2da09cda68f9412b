/*
 * health.h - the health engine: every real server's state, from its checks.
 *
 * For each real server of a configuration snapshot the engine schedules
 * probes (check.h) on the loop, spread over the interval and jittered, and
 * applies rise/fall hysteresis to their results.  When any server changes
 * state it calls the owner's `changed` callback once per loop iteration
 * (changes that arrive together are reported together), naming the services
 * concerned; the owner then rebuilds their desired entries
 * (xl_desired_refresh) and reconciles them with the kernel
 * (xl_sync_run_keys), the same path configuration changes take.
 */
#ifndef EXTLB_HEALTH_H
#define EXTLB_HEALTH_H

#include "check.h"
#include "config.h"
#include "model.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

struct xl_health;

/*
 * vs[0..n) are the services (indexes into the configuration in force) whose
 * servers' states changed, or whose quorum may have moved: only their
 * desired entries can differ.  The array is the engine's; copy what is kept.
 */
typedef void (*xl_health_changed_fn)(void *arg, const size_t *vs, size_t n);

struct xl_health *xl_health_new(struct ev_loop *loop, struct xl_checker *ck,
				xl_health_changed_fn changed, void *arg);
void xl_health_free(struct xl_health *h);

/*
 * Starts checking cfg's real servers (cfg must outlive the engine's use of
 * it: until the next xl_health_configure, which still reads it, returns, or
 * xl_health_free).  A server whose identity (service, address, port) and
 * check settings are the same as in the previous configuration keeps its
 * state and schedule; every other one starts from its check's
 * initial_state.  When cfg was reloaded from the configuration running now
 * (cfg->prev), its unchanged services are taken over as they are, at a cost
 * that does not grow with them.  0 or -ENOMEM.
 */
int xl_health_configure(struct xl_health *h, const struct xl_config *cfg);

/*
 * Real server rs of virtual service vs is serving already (the kernel held
 * it when extlbd started): consider it up until its checks fail `fall`
 * times, whatever its initial_state.  Call after xl_health_configure.
 */
void xl_health_trust(struct xl_health *h, size_t vs, size_t rs);

/* Is real server rs of virtual service vs (indexes into cfg) up? */
bool xl_health_is_up(const struct xl_health *h, size_t vs, size_t rs);

/*
 * What status (extlbctl), the SIGUSR1 dump and metrics show of one real
 * server's checks.  Durations are counted in buckets of upper bounds
 * xl_health_buckets (seconds; a result slower than the last one counts in
 * no bucket, only in results and duration_sum).  Kept across a reload
 * while the server keeps its identity and check settings, as its state is.
 */
#define XL_HEALTH_NBUCKETS 9
extern const double xl_health_buckets[XL_HEALTH_NBUCKETS];

struct xl_health_info {
	bool up;
	bool settled;	   /* state known: trusted, checked, or never probed */
	bool checked;	   /* a check has given a result (last_* are set) */
	bool busy;	   /* a check is running now */
	uint32_t ok, fail; /* consecutive successes and failures */
	enum xl_check_status last_status;
	const char *last_reason; /* of a failure or error; "" after success;
				    valid until the next loop iteration */
	double last_at;		 /* the wall clock's seconds, at the result */
	double last_elapsed;	 /* seconds the last check took */
	uint64_t results[3];	 /* by enum xl_check_status, since start */
	uint64_t buckets[XL_HEALTH_NBUCKETS]; /* count per bucket (not
						 cumulative) */
	double duration_sum;		      /* seconds, all results */
};

/* 0, or -ENOENT when there is no such server. */
int xl_health_info(const struct xl_health *h, size_t vs, size_t rs,
		   struct xl_health_info *out);

/*
 * The operator's maintenance flags (maint.h), m the owner's: a server in
 * maintenance counts nothing towards its service's quorum, whatever its
 * health.  They are read at every configure; after a flag changes, call
 * xl_health_maint_changed for its service, whose quorum is then judged
 * (and logged) again.
 */
struct xl_maint;
void xl_health_set_maint(struct xl_health *h, const struct xl_maint *m);
void xl_health_maint_changed(struct xl_health *h, size_t vs);

/* A service's quorum as health last judged it, maintenance included. */
enum xl_health_quorum {
	XL_QUORUM_UNKNOWN, /* servers not all known yet */
	XL_QUORUM_OK,
	XL_QUORUM_LOST,
};
enum xl_health_quorum xl_health_quorum(const struct xl_health *h, size_t vs);

/*
 * One warning naming the servers that are down (checked and failing, not
 * those still unknown): the first cap by label, then "and N more"; nothing
 * when none is.  The periodic summary (down_summary_interval).
 */
void xl_health_log_down(const struct xl_health *h, size_t cap);

/* Counts for logs and benchmarks. */
struct xl_health_stats {
	size_t servers, up, down;
	unsigned long probes_started, probes_done, probe_errors;
};
void xl_health_stats(const struct xl_health *h, struct xl_health_stats *st);

#endif
