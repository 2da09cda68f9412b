/*
 * drain.h - real servers removed from the configuration, finishing their
 * connections at weight 0 before they are deleted.
 *
 * A reload that drops a real server from a service that stays does not
 * delete it at once: it is kept in IPVS at weight 0, so established
 * connections finish while new ones go elsewhere, and deleted when its
 * active connections reach zero or the service's drain_timeout passes.
 * UDP services have no connections to finish: their servers go at once.
 */
#ifndef EXTLB_DRAIN_H
#define EXTLB_DRAIN_H

#include "config.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>

struct xl_drain_entry {
	struct xl_service svc; /* identity only: no dests */
	struct xl_dest dest;   /* weight 0 */
	char *vs_name;
	double since, deadline;
};

struct xl_drain {
	struct xl_drain_entry *v;
	size_t n, cap;
};

/*
 * After a reload from `old` to `cfg` (at time now): servers of old that cfg
 * lacks, in services cfg keeps, start draining; draining servers that cfg
 * lists again, or whose service cfg lacks, stop.  0 or -ENOMEM.
 */
int xl_drain_update(struct xl_drain *dr, const struct xl_config *old,
		    const struct xl_config *cfg, double now);

/* The same for one service of a desired table: 0 or -ENOMEM. */
int xl_drain_apply_service(const struct xl_drain *dr, struct xl_service *s);

/* Adds every draining server to `want` (sorted) at weight 0. */
int xl_drain_apply(const struct xl_drain *dr, struct xl_table *want);

/*
 * Ends the drains that are over: deadline passed, or conns(arg, entry)
 * says no active connection is left (it returns the count, or -1 when it
 * cannot tell).  Returns how many ended.
 */
typedef long (*xl_drain_conns_fn)(void *arg, const struct xl_drain_entry *e);
size_t xl_drain_expire(struct xl_drain *dr, double now, xl_drain_conns_fn conns,
		       void *arg);

void xl_drain_free(struct xl_drain *dr);

#endif
