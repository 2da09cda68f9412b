/*
 * metrics.h - the Prometheus endpoint (metrics_listen) and the text of a
 * scrape.
 *
 * metrics_text.c is pure on its inputs: the body of a scrape, produced a
 * piece at a time (a family header, or one service's samples of a family),
 * from the configuration in force, the health engine, the kernel's
 * counters (read one service at a time through struct xl_kernel_ops) and
 * the daemon's counters.  metrics.c serves it with libmicrohttpd on the
 * daemon's libev loop: no thread of its own, so nothing here is locked.
 */
#ifndef EXTLB_METRICS_H
#define EXTLB_METRICS_H

#include "config.h"
#include "health.h"
#include "kernel.h"
#include "model.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct xl_sync_result;

/* What the daemon counts for metrics; it owns the one copy. */
struct xl_metrics_counters {
	uint64_t reloads_ok, reloads_failed;
	double
	    last_reload_ok;  /* wall clock seconds of the last load in force */
	uint64_t generation; /* 1 at start-up, +1 per reload put in force */
	uint64_t ops_applied, ops_refused;
	uint64_t resync_corrections; /* ops a resync or retry had to apply */
};

/* A run's ops counted: applied (acknowledged) and refused; a resync's or a
 * retry's are corrections as well (the kernel differed from what it should
 * hold). */
void xl_metrics_count_run(struct xl_metrics_counters *c, const char *why,
			  const struct xl_sync_result *r);

/* What a scrape reads.  cfg and counters are the daemon's own variables:
 * followed across reloads. */
struct xl_metrics_source {
	struct xl_config *const *cfg;
	const struct xl_health *health;
	const struct xl_kernel_ops *kops;
	void *kernel;
	const struct xl_metrics_counters *counters;
};

/* ---- the text of a scrape (metrics_text.c) ------------------------------ */

/* A growing buffer; oom set (and text dropped) when it could not grow. */
struct xl_prom_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void xl_prom_printf(struct xl_prom_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void xl_prom_free(struct xl_prom_buf *b);
/* A label value with \, " and newline escaped, appended. */
void xl_prom_label_value(struct xl_prom_buf *b, const char *v);
/* "# HELP name help\n# TYPE name type\n" (help escaped) */
void xl_prom_family(struct xl_prom_buf *b, const char *name, const char *type,
		    const char *help);
/*
 * A histogram's samples: name_bucket{labels,le="B"} for every bound of
 * bounds[0..n) with counts made cumulative (counts[i] holds the results
 * of bucket i alone), le="+Inf" with count, name_sum and name_count.
 * labels: `a="x",b="y"` (already escaped) or "".
 */
void xl_prom_histogram(struct xl_prom_buf *b, const char *name,
		       const char *labels, const double *bounds,
		       const uint64_t *counts, size_t n, uint64_t count,
		       double sum);

/*
 * One scrape.  xl_metrics_scrape_read fills buf with up to max bytes of
 * the body: returns how many, 0 at its end, -1 when it cannot go on
 * (out of memory, or the configuration was reloaded mid-scrape: the
 * scrape ends in an error rather than mixing two configurations).
 */
struct xl_metrics_scrape;
struct xl_metrics_scrape *
xl_metrics_scrape_new(const struct xl_metrics_source *src);
ssize_t xl_metrics_scrape_read(struct xl_metrics_scrape *s, char *buf,
			       size_t max);
void xl_metrics_scrape_free(struct xl_metrics_scrape *s);

/* (why: "is not ADDRESS:PORT ...", to follow the value) */

/* ---- the endpoint (metrics.c) ------------------------------------------ */

struct xl_metrics;
/* Follows cfg's metrics_listen: started, rebound when it changed, stopped
 * when it is gone.  A socket that cannot be bound is logged, and extlbd
 * goes on without metrics.  *m NULL at first. */
void xl_metrics_follow(struct xl_metrics **m, struct ev_loop *loop,
		       const struct xl_metrics_source *src);
void xl_metrics_stop(struct xl_metrics *m);

#endif
