/*
 * health_impl.h - the health engine's seam for tests.
 *
 * The engine starts and cancels probes through a pair of function pointers
 * that default to xl_probe_start() and xl_probe_cancel().  A unit test
 * replaces them to decide every result and its timing itself, so the
 * rise/fall state machine and the scheduler are tested without a network.
 * Nothing in the daemon calls this.
 */
#ifndef EXTLB_HEALTH_IMPL_H
#define EXTLB_HEALTH_IMPL_H

#include "health.h"

struct xl_health_probe_ops {
	int (*start)(struct xl_checker *ck, struct xl_probe *p);
	void (*cancel)(struct xl_probe *p);
};

/* Before the first xl_health_configure(); NULL restores the real ones. */
void xl_health_set_probe_ops(struct xl_health *h,
			     const struct xl_health_probe_ops *ops);

/*
 * When (loop time, as ev_now) real server rs of service vs will start its
 * next probe; -1 while a probe runs or when it is never checked.  Lets a
 * test check the schedule itself, which a loaded machine cannot blur.
 */
double xl_health_next_check(const struct xl_health *h, size_t vs, size_t rs);

#endif
