/*
 * render.c - Services and endpoints into virtual services, as the text of
 * an extlb.conf include file.
 *
 * The file must always be one that extlbd accepts: one bad entry makes
 * extlbd refuse the whole file at reload, which would freeze every other
 * Service too.  So everything extlbd would reject is settled here, with a
 * warning, before a line is written: annotations with bad values fall
 * back to defaults, real servers that cannot work with the forwarding
 * method are left out, and of two Services sharing a VIP on one port only
 * the senior is kept (admit.c).  The output is sorted so that an
 * unchanged cluster gives identical bytes, which is what lets the writer
 * skip needless reloads.
 *
 * It is also where tenant input meets the operator's policy (policy.c):
 * a Service is left out whole, pending with the reason of its Event, when
 * it asks for something it may not have (a VIP, source ranges, too many
 * ports) or more than its share (admit.c's caps); endpoints at addresses
 * it may not use are left out and reported as a notice.  The order of the
 * steps matters: refusals of a Service alone, then the caps, before any
 * VIP is given (a Service over its share must not drain the pools); then
 * the VIPs, the virtual services and the port clashes between them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf, open_memstream */
#endif
#include "k8s/admit.h"
#include "render_impl.h"
#include "rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages quote tenant text (annotations): no control characters, so
 * that none can write lines of its own into the log. */
void render_one_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
	}
}

void __attribute__((format(printf, 2, 3)))
render_warn(struct render *r, const char *fmt, ...)
{
	char **v, *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	v = n < 0 ? NULL
		  : realloc(r->plan->warnings,
			    (r->plan->nwarnings + 1) * sizeof(*v));
	if (!v) {
		if (n >= 0)
			free(s);
		r->nomem = true;
		return;
	}
	render_one_line(s);
	v[r->plan->nwarnings++] = s;
	r->plan->warnings = v;
}

/* A notice for the owner of s, taking msg (NULL: out of memory). */
static void notice_add(struct render *r, const struct k8s_service *s,
		       const char *reason, char *msg)
{
	struct k8s_plan *plan = r->plan;

	if (msg &&
	    XL_GROW(plan->notices, r->capnotices, plan->nnotices + 1, 8) < 0) {
		free(msg);
		msg = NULL;
	}
	if (!msg) {
		r->nomem = true;
		return;
	}
	render_one_line(msg);
	plan->notices[plan->nnotices++] = (struct k8s_notice){s, reason, msg};
}

/* Something the owner of s should hear of, as a Warning Event (status.c
 * tells each once), though the Service is served. */
void __attribute__((format(printf, 4, 5)))
render_notify(struct render *r, const struct k8s_service *s, const char *reason,
	      const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	notice_add(r, s, reason, msg);
}

bool k8s_render_selects(const struct k8s_service *s,
			const struct k8s_render_opts *o)
{
	if (!s->load_balancer)
		return false;
	if (!s->lb_class)
		return o->default_class;
	return !strcmp(s->lb_class, o->lb_class);
}

/* ---- annotations ------------------------------------------------------- */

/* The scheduler and forwarding method are judged by extlbd's own rules
 * (rules.h), so that what extlbd would refuse never reaches the file. */

/* For an annotation checkopts.c leaves out. */
struct bad_ctx {
	struct render *r;
	const struct k8s_service *s;
};

/* An annotation left out: its owner is told, its default used.  An
 * invalid annotation does not leave the Service out: it is served as if
 * the key were absent, which is what it asked for but for that key, and
 * the Event says which key and why. */
static void bad_annotation(void *arg, const char *key, const char *value,
			   const char *why)
{
	struct bad_ctx *b = arg;

	render_notify(b->r, b->s, "InvalidAnnotation",
		      "%s \"%s\" %s; using the default", key, value, why);
}

/* Appends one source range (refused_alone judged them all). */
static int range_keep(void *arg, const char *range)
{
	struct render *r = arg;
	struct xl_cidr c;
	bool host_bits;
	char why[160];

	size_t k = r->range_first;

	if (!xl_rule_cidr(range, &c, &host_bits, why, sizeof(why)))
		return 0;
	/* extlbd refuses a range listed twice; one inside another is
	 * allowed but adds nothing: the wider one says it all */
	for (size_t i = r->range_first; i < r->nranges; i++) {
		if (xl_cidr_contains(&r->ranges[i], &c))
			return 0;
	}
	for (size_t i = r->range_first; i < r->nranges; i++) {
		if (!xl_cidr_contains(&c, &r->ranges[i]))
			r->ranges[k++] = r->ranges[i];
	}
	r->nranges = k;
	if (XL_GROW(r->ranges, r->capranges, r->nranges + 1, 16) < 0)
		return -1;
	r->ranges[r->nranges++] = c;
	return 0;
}

static void resolve_opts(struct render *r, const struct k8s_service *s,
			 struct vs_opts *v)
{
	const struct k8s_annotations *a = &s->ann;
	struct bad_ctx b = {r, s};

	memset(v, 0, sizeof(*v));
	v->persistence = s->affinity_timeout;
	if (a->scheduler &&
	    !(v->scheduler =
		  xl_rule_sched_name(a->scheduler) ? a->scheduler : NULL))
		bad_annotation(&b, "extlb.io/scheduler", a->scheduler,
			       "is not a scheduler name (1-15 of a-z, 0-9, _)");
	if (a->forward &&
	    !(v->forward = xl_named_find(xl_rule_forwards, a->forward)
			       ? a->forward
			       : NULL))
		bad_annotation(&b, "extlb.io/forward", a->forward,
			       "is not nat, dr or tun");
	k8s_checkopts_parse(a, &v->check, bad_annotation, &b);
	v->first_range = r->range_first = r->nranges;
	if (render_source_ranges(s, range_keep, r) < 0)
		r->nomem = true;
	v->nranges = r->nranges - v->first_range;
	v->restricted = v->nranges > 0;
}

/* ---- the plan ---------------------------------------------------------- */

void k8s_plan_free(struct k8s_plan *plan)
{
	free(plan->text);
	free(plan->publish);
	free(plan->pending);
	for (size_t i = 0; i < plan->nnotices; i++)
		free(plan->notices[i].msg);
	free(plan->notices);
	for (size_t i = 0; i < plan->nwarnings; i++)
		free(plan->warnings[i]);
	free(plan->warnings);
	memset(plan, 0, sizeof(*plan));
}

static void render_free(struct render *r)
{
	for (size_t i = 0; i < r->nvs; i++) {
		free(r->vs[i].name);
		free(r->vs[i].reals);
	}
	free(r->vs);
	free(r->refused);
	free(r->ranges);
}

/* The virtual services of each of the Service's VIPs, on sets. */
static int service_vips(struct render *r, const struct pick *p,
			const struct vs_opts *opts, const struct epref *sets,
			size_t nsets)
{
	for (size_t k = 0; k < p->nvips; k++) {
		struct vs_vip v = {
		    p->vips[k],
		    k8s_dualstack_suffix(&p->fams, p->vips[k].af),
		    p->nvips > 1,
		    k > 0,
		};

		if (render_service_vs(r, p->svc, opts, &v, sets, nsets) < 0)
			return -1;
	}
	return 0;
}

/* The virtual services of the Service that got p->vips, into r->vs; the
 * pick notes where they are and which endpoints were refused. */
static int render_service(struct render *r, struct pick *p,
			  const struct epref *slices, size_t nslices,
			  const struct epref *eps, size_t neps)
{
	const struct k8s_service *s = p->svc;
	struct vs_opts opts;
	size_t first, n;
	int ret;

	p->first_vs = r->nvs;
	r->nrefused = 0;
	resolve_opts(r, s, &opts);
	render_check_unused(r, s, &opts.check);
	p->forward = opts.forward;
	/* EndpointSlices are the truth; a Service without any (an old
	 * cluster, or slice mirroring switched off) falls back to Endpoints */
	n = render_find_sets(slices, nslices, s->ns, s->name, &first);
	for (size_t i = first; i < first + n; i++) {
		if (slices[i].set->fqdn)
			render_notify(
			    r, s, "FQDNIgnored",
			    "EndpointSlice %s has addressType FQDN, which "
			    "IPVS cannot use: ignored",
			    slices[i].set->name);
	}
	if (n) {
		ret = service_vips(r, p, &opts, slices + first, n);
	} else {
		n = render_find_sets(eps, neps, s->ns, s->name, &first);
		ret = service_vips(r, p, &opts, eps + first, n);
	}
	p->nvs = r->nvs - p->first_vs;
	p->refused = render_refused_text(r);
	return ret;
}

/* Does the status show any of the pick's VIPs? */
static bool holds_any(const struct pick *p)
{
	for (size_t k = 0; k < p->nvips; k++) {
		if (render_status_has(p->svc, &p->vips[k]))
			return true;
	}
	return false;
}

/* Of the Services that share a VIP, those whose ports clash with a more
 * senior one's are left out whole (nvips cleared), both families of a
 * dual-stack one with it.  -1: no memory. */
static int resolve_clashes(struct render *r, struct pick *picks, size_t n)
{
	struct k8s_admit *v = calloc(n + 1, sizeof(*v));
	struct k8s_ident *ids = calloc(r->nvs + 1, sizeof(*ids));
	int ret = -1;

	if (!v || !ids)
		goto out;
	for (size_t i = 0; i < r->nvs; i++)
		ids[i] = (struct k8s_ident){r->vs[i].vip, r->vs[i].port,
					    r->vs[i].proto};
	for (size_t i = 0; i < n; i++)
		v[i] = (struct k8s_admit){
		    .svc = picks[i].svc,
		    .holder = holds_any(&picks[i]),
		    .nvs = picks[i].nvs,
		    .idents = ids + picks[i].first_vs,
		    .reason = picks[i].nvips ? NULL : "AllocationFailed"};
	if (k8s_admit_clashes(v, n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!picks[i].nvips || !v[i].reason)
			continue;
		picks[i].nvips = 0;
		render_pend(r, v[i].svc, v[i].reason, "%s", v[i].why);
		for (size_t j = 0; j < picks[i].nvs; j++)
			r->vs[picks[i].first_vs + j].dropped = true;
	}
	ret = 0;
out:
	free(v);
	free(ids);
	return ret;
}

/*
 * The ipMode a Service's status shows.  With NAT the packets reach the
 * backend from the director, not addressed to the VIP, and kube-proxy
 * must not capture VIP traffic on the nodes: Proxy.  Direct routing and
 * tunnels deliver packets still addressed to the VIP: VIP.
 */
static const char *ip_mode(const struct render *r, const struct pick *p)
{
	if (r->o->ip_mode)
		return r->o->ip_mode;
	return p->forward && strcmp(p->forward, "nat") ? "VIP" : "Proxy";
}

/* The status to publish, and what to tell, of each Service served. */
static void publish_served(struct render *r, struct pick *picks, size_t n)
{
	struct k8s_plan *plan = r->plan;

	for (size_t i = 0; i < n; i++) {
		const struct pick *p = &picks[i];
		struct k8s_publish *pub;

		if (!p->nvips)
			continue;
		pub = &plan->publish[plan->npublish++];
		pub->svc = p->svc;
		k8s_addr_str(&p->vips[0], pub->vip);
		if (p->nvips > 1)
			k8s_addr_str(&p->vips[1], pub->vip2);
		pub->ip_mode = ip_mode(r, p);
		pub->changed = !render_status_shows(p->svc, p->vips, p->nvips,
						    pub->ip_mode);
		for (size_t k = 0; k < p->nvips; k++)
			pub->new_vip |= !render_status_has(p->svc, &p->vips[k]);
		if (!picks[i].refused)
			continue;
		notice_add(r, picks[i].svc, "BackendRefused", picks[i].refused);
		picks[i].refused = NULL; /* the plan's now */
	}
}

/* Our Services' VIPs and virtual services: those refused are pending,
 * the others in plan->publish and r->vs.  -1 when out of memory. */
static int render_services(struct render *r, const struct epref *slices,
			   size_t nslices, const struct epref *eps, size_t neps)
{
	struct k8s_plan *plan = r->plan;
	struct pick *picks = NULL;
	struct k8s_ipam_req *reqs = NULL;
	char(*keys)[KEY_MAX] = NULL;
	size_t n = 0;
	int ret = -1;

	if (render_pick_services(r, &picks, &n) < 0 ||
	    render_apply_caps(r, picks, &n) < 0)
		goto out;
	reqs = calloc(2 * n + 1, sizeof(*reqs));
	keys = calloc(n + 1, sizeof(*keys));
	plan->publish = calloc(n + 1, sizeof(*plan->publish));
	if (!reqs || !keys || !plan->publish ||
	    render_assign_vips(r, picks, n, reqs, keys) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		render_settle_vips(r, &picks[i], reqs);
		if (picks[i].nvips && render_service(r, &picks[i], slices,
						     nslices, eps, neps) < 0)
			goto out;
	}
	if (resolve_clashes(r, picks, n) < 0)
		goto out;
	publish_served(r, picks, n);
	ret = 0;
out:
	for (size_t i = 0; picks && i < n; i++)
		free(picks[i].refused);
	free(picks);
	free(reqs);
	free(keys);
	return ret;
}

int k8s_render(const struct k8s_world *w, const struct k8s_render_opts *o,
	       struct k8s_plan *plan)
{
	struct render r = {.w = w, .o = o, .plan = plan};
	struct epref *slices, *eps;
	size_t nslices, neps;
	int ret = -1;

	memset(plan, 0, sizeof(*plan));
	slices = render_index_sets(w->slices, w->nslices, &nslices);
	eps = render_index_sets(w->endpoints, w->nendpoints, &neps);
	/* each Service of ours is pending at most once */
	plan->pending = calloc(w->nsvcs + 1, sizeof(*plan->pending));
	if (!slices || !eps || !plan->pending ||
	    render_services(&r, slices, nslices, eps, neps) < 0)
		goto out;
	render_drop_duplicates(&r);
	if (!r.nomem && render_emit(&r) == 0)
		ret = 0;
out:
	render_free(&r);
	free(slices);
	free(eps);
	if (ret < 0)
		k8s_plan_free(plan);
	return ret;
}
