/*
 * render_vips.c - which Services of our class are served, and at which
 * VIPs: refusals of a Service alone (source ranges, too many ports, a VIP
 * the policy does not give it), then the caps of admit.c, before any VIP
 * is given, so that a Service over its share does not drain the pools;
 * then one request to the ipam per Service and family.
 */
#include "k8s/admit.h"
#include "render_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Leaves Service s out of the file: pending, with an Event's reason. */
void __attribute__((format(printf, 4, 5)))
render_pend(struct render *r, const struct k8s_service *s, const char *reason,
	    const char *fmt, ...)
{
	struct k8s_pending *p = &r->plan->pending[r->plan->npending++];
	va_list ap;

	p->svc = s;
	p->reason = reason;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	render_one_line(p->why);
	render_warn(r, "Service %s/%s left out: %s", s->ns, s->name, p->why);
}

/* The explicit VIP a Service asks for: 1 (in *a), 0 none, -1 refused
 * (the Service is then pending). */
static int wanted_vip(struct render *r, const struct k8s_service *s,
		      struct k8s_addr *a)
{
	const char *src =
	    s->ann.vip ? "annotation extlb.io/vip" : "spec.loadBalancerIP";
	const char *v = s->ann.vip ? s->ann.vip : s->lb_ip;
	char why[200];

	if (!v)
		return 0;
	/* another VIP than the one asked for would surprise more than none */
	if (k8s_addr_parse(v, a) < 0) {
		render_pend(r, s, "VIPRefused",
			    "%s \"%s\" is not an IP address", src, v);
		return -1;
	}
	if (!k8s_policy_vip_ok(&r->o->policy, r->o->pools, r->o->npools, a, why,
			       sizeof(why))) {
		render_pend(r, s, "VIPRefused", "%s refused: %s", src, why);
		return -1;
	}
	return 1;
}

int render_source_ranges(const struct k8s_service *s,
			 int (*fn)(void *arg, const char *range), void *arg)
{
	const char *a = s->ann.source_ranges;
	int ret;

	if (s->nsource_ranges) {
		for (size_t i = 0; i < s->nsource_ranges; i++) {
			ret = fn(arg, s->source_ranges[i]);
			if (ret)
				return ret;
		}
		return 0;
	}
	while (a && *a) {
		char tok[XL_CIDR_STRLEN];
		size_t n;

		a += strspn(a, " \t,");
		n = strcspn(a, ",");
		while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
			n--;
		if (n) {
			if (n >= sizeof(tok)) /* no range is that long */
				snprintf(tok, sizeof(tok), "%.20s...", a);
			else
				snprintf(tok, sizeof(tok), "%.*s", (int)n, a);
			ret = fn(arg, tok);
			if (ret)
				return ret;
		}
		a += strcspn(a, ",");
	}
	return 0;
}

/* The first source range that is not one, with the reason in why. */
struct bad_range {
	char why[160];
};

static int range_check(void *arg, const char *range)
{
	struct bad_range *b = arg;
	struct xl_cidr c;
	bool host_bits;

	return !xl_rule_cidr(range, &c, &host_bits, b->why, sizeof(b->why));
}

/*
 * What a Service asks for that extlbd cannot give it safely, whatever
 * the others do.  A source range that is not one keeps the Service out:
 * exposing it to every address instead would open what its owner meant
 * to close.  true when the Service was left out.
 */
static bool refused_alone(struct render *r, const struct k8s_service *s)
{
	size_t max = r->o->policy.max_ports;
	struct bad_range b;

	if (render_source_ranges(s, range_check, &b)) {
		render_pend(r, s, "InvalidSourceRange", "%s: %s",
			    s->nsource_ranges
				? "spec.loadBalancerSourceRanges"
				: "annotation service.beta.kubernetes.io"
				  "/load-balancer-source-ranges",
			    b.why);
		return true;
	}
	if (max && s->nports > max) {
		render_pend(r, s, "TooManyPorts",
			    "%zu ports, more than --max-ports-per-service %zu",
			    s->nports, max);
		return true;
	}
	return false;
}

/* Status shows exactly [{ip: v[0], ipMode: mode}, ...] for the n VIPs,
 * in order?  An absent ipMode is VIP, as the API defines it (servers
 * before 1.29 drop the field: a Service of theirs that wants VIP is not
 * PATCHed again and again). */
bool render_status_shows(const struct k8s_service *s, const struct k8s_addr *v,
			 size_t n, const char *mode)
{
	if (s->ningress != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *had =
		    s->ingress_mode[i] ? s->ingress_mode[i] : "VIP";
		struct k8s_addr a;

		if (k8s_addr_parse(s->ingress[i], &a) < 0 ||
		    k8s_addr_cmp(&a, &v[i]) || strcmp(had, mode))
			return false;
	}
	return true;
}

/* Does any entry of the status show the address (or, v NULL, any)? */
bool render_status_has(const struct k8s_service *s, const struct k8s_addr *v)
{
	for (size_t i = 0; i < s->ningress; i++) {
		struct k8s_addr a;

		if (k8s_addr_parse(s->ingress[i], &a) == 0 &&
		    (!v || !k8s_addr_cmp(&a, v)))
			return true;
	}
	return false;
}

/* The families a Service gets VIPs of; -1 when it is pending for want of
 * one.  An explicit VIP is one address, so it makes the Service
 * single-stack, of that address's family, whatever its policy. */
static int pick_families(struct render *r, const struct k8s_service *s,
			 bool has_want, struct pick *p)
{
	char why[200];

	if (has_want) {
		p->fams = (struct k8s_families){{p->want.af, 0}, 1, p->want.af};
		return 0;
	}
	k8s_dualstack_families(s, r->o->pools, r->o->npools, &p->fams, why,
			       sizeof(why));
	if (p->fams.n)
		return 0;
	render_pend(r, s, "DualStackUnavailable", "%s", why);
	return -1;
}

/* Our Services, in key order, with the VIP each asks for; those refused
 * on their own account are pending already. */
int render_pick_services(struct render *r, struct pick **out, size_t *n)
{
	const struct k8s_world *w = r->w;

	*n = 0;
	*out = calloc(w->nsvcs + 1, sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < w->nsvcs; i++) {
		struct pick *p = &(*out)[*n];
		int wr;

		if (!k8s_render_selects(w->svcs[i], r->o))
			continue;
		r->plan->nselected++;
		if (refused_alone(r, w->svcs[i]))
			continue;
		wr = wanted_vip(r, w->svcs[i], &p->want);
		if (wr < 0 || pick_families(r, w->svcs[i], wr > 0, p) < 0)
			continue;
		p->svc = w->svcs[i];
		p->has_want = wr > 0;
		(*n)++;
	}
	return 0;
}

/* The picks the caps leave, before they take a VIP (a Service over its
 * namespace's share must not use up the pools).  -1 when out of memory. */
int render_apply_caps(struct render *r, struct pick *picks, size_t *n)
{
	struct k8s_admit *v = calloc(*n + 1, sizeof(*v));
	size_t kept = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < *n; i++)
		v[i] = (struct k8s_admit){
		    .svc = picks[i].svc,
		    .holder = render_status_has(picks[i].svc, NULL),
		    /* a virtual service per port and per family */
		    .nvs = picks[i].svc->nports * picks[i].fams.n};
	if (k8s_admit_caps(&r->o->policy, v, *n) < 0) {
		free(v);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		if (v[i].reason)
			render_pend(r, v[i].svc, v[i].reason, "%s", v[i].why);
		else
			picks[kept++] = picks[i];
	}
	*n = kept;
	free(v);
	return 0;
}

/* One ipam request per pick and family, from reqs[picks[i].first_req];
 * keys[i] holds the key of picks[i].  reqs has room for 2 n. */
int render_assign_vips(struct render *r, struct pick *picks, size_t n,
		       struct k8s_ipam_req *reqs, char (*keys)[KEY_MAX])
{
	size_t nreqs = 0;

	for (size_t i = 0; i < n; i++) {
		const struct k8s_service *s = picks[i].svc;

		snprintf(keys[i], sizeof(keys[i]), "%s/%s", s->ns, s->name);
		picks[i].first_req = nreqs;
		for (size_t f = 0; f < picks[i].fams.n; f++)
			reqs[nreqs++] = (struct k8s_ipam_req){
			    .key = keys[i],
			    .family = picks[i].has_want ? s->family
							: picks[i].fams.af[f],
			    .want = picks[i].has_want ? &picks[i].want : NULL,
			    .share = s->ann.share,
			    .current = (const char *const *)s->ingress,
			    .ncurrent = s->ningress,
			};
	}
	return k8s_ipam_assign(r->o->pools, r->o->npools, &r->o->policy, reqs,
			       nreqs);
}

static const char *af_word(int af)
{
	return af == AF_INET6 ? "IPv6" : "IPv4";
}

/*
 * What a pick got of its requests, into p->vips.  A Service that got
 * none, or RequireDualStack that got one, is pending: AllocationFailed,
 * why its first failed request failed.  PreferDualStack served by one
 * family for want of a free address of the other (a pool it has) is
 * told, since it has asked for both and a pool exists.
 */
void render_settle_vips(struct render *r, struct pick *p,
			const struct k8s_ipam_req *reqs)
{
	const struct k8s_ipam_req *failed = NULL;

	p->nvips = 0;
	for (size_t f = 0; f < p->fams.n; f++) {
		const struct k8s_ipam_req *q = &reqs[p->first_req + f];

		if (q->ok)
			p->vips[p->nvips++] = q->vip;
		else if (!failed)
			failed = q;
	}
	if (!failed)
		return;
	if (!p->nvips || p->svc->family_policy == K8S_REQUIRE_DUAL_STACK) {
		p->nvips = 0;
		render_pend(r, p->svc, "AllocationFailed", "%s", failed->why);
		return;
	}
	render_notify(r, p->svc, "DualStackUnavailable",
		      "served on %s only: no %s VIP for it: %s",
		      af_word(p->vips[0].af), af_word(failed->family),
		      failed->why);
}
