/*
 * render_impl.h - what the parts of the renderer share behind
 * k8s/render.h.  One struct render goes through a k8s_render() call:
 * render.c holds its messages, the annotations and the plan (the order of
 * the steps, see there); render_vips.c picks the Services and gives them
 * VIPs; render_reals.c turns their endpoints into virtual services and
 * real servers, and drops what extlbd would refuse as a duplicate;
 * render_text.c writes the include file's text.
 */
#ifndef EXTLB_K8S_RENDER_IMPL_H
#define EXTLB_K8S_RENDER_IMPL_H

#include "k8s/checkopts.h"
#include "k8s/dualstack.h"
#include "k8s/ipam.h"
#include "k8s/render.h"
#include "rules.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "namespace/name": 63 + 1 + 253 characters at most, and a NUL */
#define KEY_MAX 320

/* A real server of one virtual service. */
struct real {
	struct k8s_addr addr;
	uint16_t port;
	uint32_t weight;
	bool ready; /* false: serving and terminating, a stand-in */
};

/* What the annotations and the affinity ask for, once validated. */
struct vs_opts {
	const char *scheduler; /* NULL: extlbd's default */
	const char *forward;   /* NULL: "nat" */
	struct k8s_checkopts check;
	uint32_t persistence; /* seconds, 0 off */
	/* the Service's source ranges: render.ranges[first_range ..
	 * + nranges), both families; restricted: it asked for some */
	size_t first_range, nranges;
	bool restricted;
};

struct vs {
	char *name;
	struct k8s_addr vip;
	uint16_t port;
	enum k8s_proto proto;
	struct vs_opts opts;
	const char *check; /* its check type; NULL: extlbd's default */
	struct real *reals;
	size_t nreals;
	bool dropped; /* its identity or name is another's */
	/* one of the two VIPs of a dual-stack Service: only endpoints of
	 * its own family, even with tun, which could mix them */
	bool family_only;
	bool second; /* of the second VIP: the first told about its ports */
};

/* Everything one k8s_render() call builds. */
struct render {
	const struct k8s_world *w;
	const struct k8s_render_opts *o;
	struct k8s_plan *plan;
	struct vs *vs;
	size_t nvs, capvs;
	/* the endpoints of the Service at hand that the policy refused */
	struct k8s_addr *refused;
	size_t nrefused, caprefused;
	/* the source ranges of every Service served, by vs_opts */
	struct xl_cidr *ranges;
	size_t nranges, capranges;
	size_t range_first; /* of the Service at hand */
	size_t capnotices;  /* of plan->notices */
	bool nomem;
};

/* A Service of our class on its way to a VIP, or one per family. */
struct pick {
	const struct k8s_service *svc;
	struct k8s_addr want; /* valid when has_want */
	bool has_want;
	struct k8s_families fams; /* the families it asks VIPs of */
	size_t first_req;	  /* its fams.n requests to the ipam */
	struct k8s_addr vips[2];  /* what it got, in the status's order */
	size_t nvips;		  /* 0: pending */
	size_t first_vs, nvs;	  /* its virtual services in render.vs */
	char *refused;		  /* its endpoints refused, in words */
	const char *forward;	  /* its forwarding method; NULL: nat */
};

/* An EndpointSlice or Endpoints under the Service it belongs to. */
struct epref {
	const char *ns, *svc;
	const struct k8s_epset *set;
};

/* The VIP a Service's virtual services are written for, one of its two
 * when it is dual-stack. */
struct vs_vip {
	struct k8s_addr addr;
	const char *suffix; /* of their names: "" but for the second family */
	bool family_only, second;
};

/* ---- render.c ---------------------------------------------------------- */

/* Control characters of tenant text made '?', for messages. */
void render_one_line(char *s);
/* A warning for the log (plan->warnings). */
void __attribute__((format(printf, 2, 3)))
render_warn(struct render *r, const char *fmt, ...);
/* A Warning Event for the owner of s, though the Service is served. */
void __attribute__((format(printf, 4, 5)))
render_notify(struct render *r, const struct k8s_service *s, const char *reason,
	      const char *fmt, ...);

/* ---- render_vips.c ----------------------------------------------------- */

/* Leaves Service s out of the file: pending, with an Event's reason. */
void __attribute__((format(printf, 4, 5)))
render_pend(struct render *r, const struct k8s_service *s, const char *reason,
	    const char *fmt, ...);
/* Calls fn on each of the Service's source ranges as written: those of
 * spec.loadBalancerSourceRanges, or when it is empty those of the
 * service.beta.kubernetes.io/load-balancer-source-ranges annotation
 * (comma-separated, spaces around entries ignored), as Kubernetes reads
 * them.  Stops at fn's first non-zero result and returns it; 0. */
int render_source_ranges(const struct k8s_service *s,
			 int (*fn)(void *arg, const char *range), void *arg);

/* Status shows exactly the n VIPs v, in order, with ipMode mode? */
bool render_status_shows(const struct k8s_service *s, const struct k8s_addr *v,
			 size_t n, const char *mode);
/* Does any entry of the status show the address (or, v NULL, any)? */
bool render_status_has(const struct k8s_service *s, const struct k8s_addr *v);
/* Our Services, in key order, with the VIP each asks for. */
int render_pick_services(struct render *r, struct pick **out, size_t *n);
/* The picks the caps leave.  -1 when out of memory. */
int render_apply_caps(struct render *r, struct pick *picks, size_t *n);
/* One ipam request per pick and family. */
int render_assign_vips(struct render *r, struct pick *picks, size_t n,
		       struct k8s_ipam_req *reqs, char (*keys)[KEY_MAX]);
/* What a pick got of its requests, into p->vips. */
void render_settle_vips(struct render *r, struct pick *p,
			const struct k8s_ipam_req *reqs);

/* ---- render_reals.c ---------------------------------------------------- */

/* The sets that name a Service, sorted by it; NULL when out of memory. */
struct epref *render_index_sets(struct k8s_epset *const *sets, size_t n,
				size_t *nout);
/* The first of the sets of Service ns/name, and how many there are. */
size_t render_find_sets(const struct epref *v, size_t n, const char *ns,
			const char *name, size_t *first);
/* The refused endpoints noted, in words; NULL when there are none. */
char *render_refused_text(struct render *r);
/* Check annotations no port's check reads, told to the owner. */
void render_check_unused(struct render *r, const struct k8s_service *s,
			 const struct k8s_checkopts *c);
/* One virtual service per Service port, into r->vs. */
int render_service_vs(struct render *r, const struct k8s_service *s,
		      const struct vs_opts *opts, const struct vs_vip *vip,
		      const struct epref *sets, size_t nsets);
/* Of virtual services sharing an identity or a name, all but one dropped. */
void render_drop_duplicates(struct render *r);

/* ---- render_text.c ----------------------------------------------------- */

/* The include file's text into r->plan.  -1 when out of memory. */
int render_emit(struct render *r);

#endif
