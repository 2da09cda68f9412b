/*
 * status.h - what `extlbctl status` and SIGUSR1 show: every virtual
 * service with its quorum and kernel counters, every real server with its
 * health, last check, weights, maintenance flag and connections.
 *
 * A status is built by a job, a few services per step, so that the
 * daemon's loop goes on between steps (health checks stay on schedule at
 * 10,000 services): each step reads its services' counters from the
 * kernel (one request per service) and appends their JSON text to the
 * job's buffer; nothing holds the whole reply as a tree, and the text is
 * made once, in that buffer, which the control socket then sends.  The reply is
 * one JSON object, {"ok":true,"exit":N,...,"services":[...]}, on one
 * line; xl_status_print() turns a parsed reply into the readable table
 * (it needs nothing of the daemon: extlbctl links it too).
 */
#ifndef EXTLB_STATUS_H
#define EXTLB_STATUS_H

#include "config.h"
#include "drain.h"
#include "health.h"
#include "kernel.h"
#include "maint.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;
struct xl_daemon;
struct xl_status_job;

/* Services a step builds when the caller has no better idea: about a
 * millisecond of the loop at two kernel requests per service. */
#define XL_STATUS_SLICE 32
/* ... and a step ends after this many seconds whatever its budget */
#define XL_STATUS_STEP_SECS 0.005

/* service: a name, or NULL for all; NULL with err ("no service named
 * ...").  The daemon's state (src/status_daemon.c). */
struct xl_status_job *xl_status_start(struct xl_daemon *d, const char *service,
				      char *err, size_t errlen);

/*
 * Builds the next `budget` services (fewer when XL_STATUS_STEP_SECS have
 * passed), appending their JSON text; 1 while more remain, 0 when the
 * reply is complete, -1 with err when it cannot go on (the configuration
 * was reloaded between two steps).
 */
int xl_status_step(struct xl_status_job *j, size_t budget, char *err,
		   size_t errlen);

/* After step returned 0: the whole reply followed by "\n" (and a NUL),
 * and its exit value (0: every server up and every quorum held, 1
 * otherwise). */
const char *xl_status_text(const struct xl_status_job *j, size_t *len);
/*
 * The same reply handed over instead of copied (it is tens of megabytes at
 * 10,000 services): the buffer it was built in, the caller's to free, with
 * the reply at [*at, *at + *len).  The job keeps no text after it; NULL
 * when there is none.
 */
char *xl_status_take(struct xl_status_job *j, size_t *at, size_t *len);
int xl_status_exit(const struct xl_status_job *j);
void xl_status_free(struct xl_status_job *j);

/*
 * What a status is made from, for the daemon (status_daemon.c fills it)
 * and for tests.  The health callbacks answer for cfg's indexes; kernel
 * ops may be NULL (no counters, every effective weight unknown).
 * generation is compared with *live_generation at every step: when they
 * differ, cfg is no longer the configuration in force.
 */
struct xl_status_src {
	const struct xl_config *cfg;
	const char *conf_path;
	uint64_t generation;
	const uint64_t *live_generation;
	double read_at; /* wall clock seconds cfg was read */
	int (*info)(const void *arg, size_t vs, size_t rs,
		    struct xl_health_info *out);
	enum xl_health_quorum (*quorum)(const void *arg, size_t vs);
	const void *health;
	const struct xl_drain *drain; /* NULL: none */
	const struct xl_maint *maint; /* NULL: none */
	const struct xl_kernel_ops *kops;
	void *kernel;
	double (*now)(void); /* wall clock; NULL: the real one */
};

struct xl_status_job *xl_status_start_src(const struct xl_status_src *src,
					  const char *service, char *err,
					  size_t errlen);

/*
 * Instead of keeping each service's text, hand its object to fn (the
 * SIGUSR1 dump logs it as it comes); the reply then has an empty
 * "services" list.  Set before the first step.
 */
typedef void (*xl_status_service_fn)(void *arg, struct json_object *svc);
void xl_status_set_hook(struct xl_status_job *j, xl_status_service_fn fn,
			void *arg);

/* status_text.c: the readable table of a reply: its head, then every
 * service as print_service prints it. */
void xl_status_print(FILE *f, struct json_object *reply);
void xl_status_print_head(FILE *f, struct json_object *reply);
void xl_status_print_service(FILE *f, struct json_object *svc);
/* The column titles (once, before the first service). */
void xl_status_print_titles(FILE *f);

#endif
