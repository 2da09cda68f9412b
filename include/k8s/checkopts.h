/*
 * k8s/checkopts.h - the health check of a Service's ports, from its
 * extlb.io/check* annotations and each port's protocol and appProtocol.
 *
 * The annotations are tenant input that ends up in a root daemon's
 * configuration, and one value extlbd rejects would make it refuse the
 * whole include file, every other Service with it.  So each is checked
 * here by the rules extlbd applies, the same functions (check_rules.h),
 * and one that fails them is reported and left out: that key keeps its
 * default.
 * A script check is never taken from a Service: it would run commands on
 * the load balancer.
 *
 * Pure: no I/O; what is wrong is said through the caller's function.
 */
#ifndef EXTLB_K8S_CHECKOPTS_H
#define EXTLB_K8S_CHECKOPTS_H

#include "check_rules.h"
#include "k8s/objects.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* extlbd's limit on status entries */
#define K8S_STATUS_MAX XL_STATUS_MAX

struct k8s_status_range {
	uint16_t lo, hi;
};

/* A Service's check annotations, once validated; NULL or 0 where absent
 * or invalid (extlbd's default then).  Strings point into the Service. */
struct k8s_checkopts {
	const char *type;		/* tcp http https udp none */
	uint16_t port;			/* connect_port */
	const char *interval, *timeout; /* as written: "2", "0.5" */
	uint32_t rise, fall;
	const char *path;
	struct k8s_status_range status[K8S_STATUS_MAX];
	size_t nstatus;
	const char *expect;
};

/* Told of each annotation left out: its key, its value and why. */
typedef void (*k8s_check_bad_fn)(void *arg, const char *key, const char *value,
				 const char *why);

/* The annotations of a into o; each invalid one told to bad. */
void k8s_checkopts_parse(const struct k8s_annotations *a,
			 struct k8s_checkopts *o, k8s_check_bad_fn bad,
			 void *arg);

/*
 * The check type of port p: the annotation's when it can check p's
 * protocol (tcp, http and https a TCP port, udp a UDP port, none any);
 * else for a TCP port its appProtocol "http" or "https"; else NULL
 * (extlbd's default) for a TCP port and "none" for the others, which
 * must not inherit a TCP check they would always fail.
 */
const char *k8s_check_type(const struct k8s_checkopts *o,
			   const struct k8s_svc_port *p);

/* Whether a key applies to a check of this type: path and status to
 * http and https, expect to those and udp (NULL type: not known). */
bool k8s_check_http(const char *type);
bool k8s_check_expects(const char *type);

#endif
