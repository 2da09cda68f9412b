/*
 * k8s/admit.h - which Services get into extlbd's file when they compete
 * for something limited: a port of a shared VIP, a namespace's share, the
 * number of virtual services extlbd takes.
 *
 * Pure.  Every decision goes by seniority, so that a newcomer can never
 * push out what is already served: first the Services whose status
 * already shows their VIP, then the older by metadata.creationTimestamp,
 * then namespace/name order.  A Service is admitted whole or not at all:
 * never some of its ports.
 */
#ifndef EXTLB_K8S_ADMIT_H
#define EXTLB_K8S_ADMIT_H

#include "k8s/addr.h"
#include "k8s/objects.h"
#include "k8s/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* extlbd's identity of a virtual service */
struct k8s_ident {
	struct k8s_addr vip;
	uint16_t port;
	enum k8s_proto proto;
};

/* In the order of extlbd's xl_service_cmp (model.c), whose identity it
 * is: equal when extlbd would refuse the two as duplicates. */
int k8s_ident_cmp(const struct k8s_ident *x, const struct k8s_ident *y);

struct k8s_admit {
	/* in */
	const struct k8s_service *svc;
	bool holder;			/* its status shows its address */
	size_t nvs;			/* virtual services it would write */
	const struct k8s_ident *idents; /* nvs of them, for the clashes */
	/* out; a refused entry is skipped by the next round too */
	const char *reason; /* NULL: admitted; else the Event's reason */
	char why[256];
};

/*
 * Refuses the Services past policy->max_per_ns in their namespace
 * (reason NamespaceLimit), then those whose virtual services would take
 * the total past policy->max_services (ServiceLimit).  0, or -1 when out
 * of memory.
 */
int k8s_admit_caps(const struct k8s_policy *p, struct k8s_admit *v, size_t n);

/*
 * Refuses each Service one of whose virtual services has the identity of
 * a more senior admitted Service's (PortConflict: two Services sharing a
 * VIP on one port and protocol).  0, or -1 when out of memory.
 */
int k8s_admit_clashes(struct k8s_admit *v, size_t n);

#endif
