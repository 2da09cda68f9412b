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
#include "k8s/render.h"
#include "k8s/admit.h"
#include "k8s/checkopts.h"
#include "k8s/dualstack.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
	size_t capnotices; /* of plan->notices */
	bool nomem;
};

/* Messages quote tenant text (annotations): no control characters, so
 * that none can write lines of its own into the log. */
static void one_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
	}
}

static void __attribute__((format(printf, 2, 3)))
warn(struct render *r, const char *fmt, ...)
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
	one_line(s);
	v[r->plan->nwarnings++] = s;
	r->plan->warnings = v;
}

/* A notice for the owner of s, taking msg (NULL: out of memory). */
static void notice_add(struct render *r, const struct k8s_service *s,
		       const char *reason, char *msg)
{
	struct k8s_plan *plan = r->plan;

	if (msg && plan->nnotices == r->capnotices) {
		size_t cap = r->capnotices ? 2 * r->capnotices : 8;
		struct k8s_notice *v = realloc(plan->notices, cap * sizeof(*v));

		if (!v) {
			free(msg);
			msg = NULL;
		} else {
			plan->notices = v;
			r->capnotices = cap;
		}
	}
	if (!msg) {
		r->nomem = true;
		return;
	}
	one_line(msg);
	plan->notices[plan->nnotices++] = (struct k8s_notice){s, reason, msg};
}

/* Something the owner of s should hear of, as a Warning Event (sync.c
 * tells each once), though the Service is served. */
static void __attribute__((format(printf, 4, 5)))
notify(struct render *r, const struct k8s_service *s, const char *reason,
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

static bool one_of(const char *s, const char *const *words)
{
	for (; *words; words++) {
		if (!strcmp(s, *words))
			return true;
	}
	return false;
}

/* As extlbd checks a scheduler name: 1-15 of a-z, 0-9, _. */
static bool scheduler_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < 16 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

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

	notify(b->r, b->s, "InvalidAnnotation",
	       "%s \"%s\" %s; using the default", key, value, why);
}

static void resolve_opts(struct render *r, const struct k8s_service *s,
			 struct vs_opts *v)
{
	static const char *const forwards[] = {"nat", "dr", "tun", NULL};
	const struct k8s_annotations *a = &s->ann;
	struct bad_ctx b = {r, s};

	memset(v, 0, sizeof(*v));
	v->persistence = s->affinity_timeout;
	if (a->scheduler &&
	    !(v->scheduler = scheduler_ok(a->scheduler) ? a->scheduler : NULL))
		bad_annotation(&b, "extlb.io/scheduler", a->scheduler,
			       "is not a scheduler name (1-15 of a-z, 0-9, _)");
	if (a->forward &&
	    !(v->forward = one_of(a->forward, forwards) ? a->forward : NULL))
		bad_annotation(&b, "extlb.io/forward", a->forward,
			       "is not nat, dr or tun");
	k8s_checkopts_parse(a, &v->check, bad_annotation, &b);
}

/* ---- VIPs -------------------------------------------------------------- */

/* Leaves Service s out of the file: pending, with an Event's reason. */
static void __attribute__((format(printf, 4, 5)))
pend(struct render *r, const struct k8s_service *s, const char *reason,
     const char *fmt, ...)
{
	struct k8s_pending *p = &r->plan->pending[r->plan->npending++];
	va_list ap;

	p->svc = s;
	p->reason = reason;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	one_line(p->why);
	warn(r, "Service %s/%s left out: %s", s->ns, s->name, p->why);
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
		pend(r, s, "VIPRefused", "%s \"%s\" is not an IP address", src,
		     v);
		return -1;
	}
	if (!k8s_policy_vip_ok(&r->o->policy, r->o->pools, r->o->npools, a,
			       why, sizeof(why))) {
		pend(r, s, "VIPRefused", "%s refused: %s", src, why);
		return -1;
	}
	return 1;
}

/*
 * What a Service asks for that extlbd cannot give it safely, whatever
 * the others do.  Source ranges first: extlbd does not filter sources
 * yet, and a Service that asked for a filter must not be exposed to
 * every address instead.  true when the Service was left out.
 */
static bool refused_alone(struct render *r, const struct k8s_service *s)
{
	size_t max = r->o->policy.max_ports;

	if (s->nsource_ranges || (s->ann.source_ranges &&
				  s->ann.source_ranges[strspn(
				      s->ann.source_ranges, " \t,")])) {
		pend(r, s, "SourceRangesUnsupported",
		     "%s is set, but extlbd cannot restrict sources yet: the "
		     "Service is not exposed rather than exposed to every "
		     "address",
		     s->nsource_ranges ? "spec.loadBalancerSourceRanges"
				       : "annotation service.beta.kubernetes.io"
					 "/load-balancer-source-ranges");
		return true;
	}
	if (max && s->nports > max) {
		pend(r, s, "TooManyPorts",
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
static bool status_shows(const struct k8s_service *s, const struct k8s_addr *v,
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
static bool status_has(const struct k8s_service *s, const struct k8s_addr *v)
{
	for (size_t i = 0; i < s->ningress; i++) {
		struct k8s_addr a;

		if (k8s_addr_parse(s->ingress[i], &a) == 0 &&
		    (!v || !k8s_addr_cmp(&a, v)))
			return true;
	}
	return false;
}

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
	pend(r, s, "DualStackUnavailable", "%s", why);
	return -1;
}

/* Our Services, in key order, with the VIP each asks for; those refused
 * on their own account are pending already. */
static int pick_services(struct render *r, struct pick **out, size_t *n)
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
static int apply_caps(struct render *r, struct pick *picks, size_t *n)
{
	struct k8s_admit *v = calloc(*n + 1, sizeof(*v));
	size_t kept = 0;

	if (!v)
		return -1;
	for (size_t i = 0; i < *n; i++)
		v[i] = (struct k8s_admit){
		    .svc = picks[i].svc,
		    .holder = status_has(picks[i].svc, NULL),
		    /* a virtual service per port and per family */
		    .nvs = picks[i].svc->nports * picks[i].fams.n};
	if (k8s_admit_caps(&r->o->policy, v, *n) < 0) {
		free(v);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		if (v[i].reason)
			pend(r, v[i].svc, v[i].reason, "%s", v[i].why);
		else
			picks[kept++] = picks[i];
	}
	*n = kept;
	free(v);
	return 0;
}

/* One ipam request per pick and family, from reqs[picks[i].first_req];
 * keys[i] holds the key of picks[i].  reqs has room for 2 n. */
static int assign_vips(struct render *r, struct pick *picks, size_t n,
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
static void settle_vips(struct render *r, struct pick *p,
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
		pend(r, p->svc, "AllocationFailed", "%s", failed->why);
		return;
	}
	notify(r, p->svc, "DualStackUnavailable",
	       "served on %s only: no %s VIP for it: %s",
	       af_word(p->vips[0].af), af_word(failed->family), failed->why);
}

/* ---- endpoints --------------------------------------------------------- */

/* An EndpointSlice or Endpoints under the Service it belongs to. */
struct epref {
	const char *ns, *svc;
	const struct k8s_epset *set;
};

static int epref_cmp(const void *a, const void *b)
{
	const struct epref *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	if (!r)
		r = strcmp(x->svc, y->svc);
	return r ? r : strcmp(x->set->name, y->set->name);
}

/* The sets that name a Service, sorted by it; NULL when out of memory. */
static struct epref *index_sets(struct k8s_epset *const *sets, size_t n,
				size_t *nout)
{
	struct epref *v = calloc(n + 1, sizeof(*v));

	*nout = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		/* a slice without kubernetes.io/service-name serves nobody */
		if (sets[i]->service)
			v[(*nout)++] = (struct epref){
			    sets[i]->ns, sets[i]->service, sets[i]};
	}
	/* the caches keep them by "namespace/name", which is mostly this
	 * order already (always for v1 Endpoints): sort only if need be */
	for (size_t i = 1; i < *nout; i++) {
		if (epref_cmp(&v[i - 1], &v[i]) > 0) {
			qsort(v, *nout, sizeof(*v), epref_cmp);
			break;
		}
	}
	return v;
}

/* The first of the sets of Service ns/name, and how many there are. */
static size_t find_sets(const struct epref *v, size_t n, const char *ns,
			const char *name, size_t *first)
{
	size_t lo = 0, hi = n, count = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(v[mid].ns, ns);

		if (!r)
			r = strcmp(v[mid].svc, name);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo + count < n && !strcmp(v[lo + count].ns, ns) &&
	       !strcmp(v[lo + count].svc, name))
		count++;
	return count;
}

/*
 * Does backend b serve Service port p?  EndpointSlice and Endpoints ports
 * carry the name of the Service port they implement, so names match; a
 * one-port Service also takes the only port of a set whatever its name,
 * since hand-written Endpoints often leave names out.
 */
static bool port_matches(const struct k8s_service *s,
			 const struct k8s_svc_port *p,
			 const struct k8s_backend *b)
{
	if (b->proto != p->proto)
		return false;
	if (!strcmp(b->port_name, p->name))
		return true;
	return s->nports == 1 && b->sole_port;
}

static int real_cmp(const void *a, const void *b)
{
	const struct real *x = a, *y = b;
	int r = k8s_addr_cmp(&x->addr, &y->addr);

	return r ? r : (int)x->port - (int)y->port;
}

/*
 * kube-proxy's rule: a port's ready endpoints take its traffic; only when
 * it has none do its serving-and-terminating ones stand in, at their full
 * weight, so that a rolling update of every pod at once does not black
 * hole the Service.  A terminating endpoint left out while others are
 * ready is drained by extlbd as any removed real server is.  Then sorted,
 * with duplicates (one address in two slices) merged.
 */
static void reals_normalize(struct vs *v)
{
	size_t out = 0;
	bool any_ready = false;

	for (size_t i = 0; i < v->nreals; i++)
		any_ready |= v->reals[i].ready;
	for (size_t i = 0; i < v->nreals; i++) {
		if (v->reals[i].ready || !any_ready)
			v->reals[out++] = v->reals[i];
	}
	v->nreals = out;
	if (!v->nreals)
		return;
	qsort(v->reals, v->nreals, sizeof(*v->reals), real_cmp);
	out = 0;
	for (size_t i = 0; i < v->nreals; i++) {
		if (!out || real_cmp(&v->reals[out - 1], &v->reals[i]))
			v->reals[out++] = v->reals[i];
	}
	v->nreals = out;
}

static bool forward_is(const struct vs *v, const char *fwd)
{
	return v->opts.forward && !strcmp(v->opts.forward, fwd);
}

/*
 * Can backend b be a real server of v, by extlbd's rules?  A backend of
 * the other address family is skipped without a word: a dual-stack
 * Service has slices of both families, and only IPVS tunnels mix them.
 * Direct routing and tunnels cannot change the port, so a backend on
 * another port is skipped and counted, for one warning per service.
 */
static bool real_allowed(const struct vs *v, const struct k8s_backend *b,
			 size_t *wrong_port)
{
	bool tun = forward_is(v, "tun");

	if (b->addr.af != v->vip.af && (!tun || v->family_only))
		return false;
	if ((tun || forward_is(v, "dr")) && b->port != v->port) {
		(*wrong_port)++;
		return false;
	}
	return true;
}

/* Backend a noted as refused; -1 when out of memory. */
static int note_refused(struct render *r, const struct k8s_addr *a)
{
	if (r->nrefused == r->caprefused) {
		size_t cap = r->caprefused ? 2 * r->caprefused : 8;
		struct k8s_addr *n = realloc(r->refused, cap * sizeof(*n));

		if (!n)
			return -1;
		r->refused = n;
		r->caprefused = cap;
	}
	r->refused[r->nrefused++] = *a;
	return 0;
}

static int addr_sort_cmp(const void *a, const void *b)
{
	return k8s_addr_cmp(a, b);
}

/* The refused endpoints noted, in words, naming the first few; NULL when
 * there are none (or no memory: then r->nomem). */
static char *refused_text(struct render *r)
{
	size_t n = 0, shown = 0;
	char why[200], *msg = NULL;
	FILE *f;

	if (!r->nrefused)
		return NULL;
	qsort(r->refused, r->nrefused, sizeof(*r->refused), addr_sort_cmp);
	for (size_t i = 0; i < r->nrefused; i++) {
		if (!n || k8s_addr_cmp(&r->refused[n - 1], &r->refused[i]))
			r->refused[n++] = r->refused[i];
	}
	f = open_memstream(&msg, &(size_t){0});
	if (!f) {
		r->nomem = true;
		return NULL;
	}
	fprintf(f, "%zu endpoint(s) left out:", n);
	for (; shown < n && shown < 3; shown++) {
		k8s_policy_backend_ok(&r->o->policy, &r->refused[shown], why,
				      sizeof(why));
		fprintf(f, "%s %s", shown ? ";" : "", why);
	}
	if (shown < n)
		fprintf(f, "; and %zu more", n - shown);
	if (fclose(f) != 0) {
		free(msg);
		r->nomem = true;
		return NULL;
	}
	return msg;
}

/* "http (80/TCP)", or "80/TCP" for an unnamed port: how Kubernetes
 * users name a Service port. */
static void port_words(const struct k8s_svc_port *p, char *buf, size_t len)
{
	char proto[8];
	size_t i;

	for (i = 0; i + 1 < sizeof(proto) && k8s_proto_name(p->proto)[i]; i++)
		proto[i] = (char)(k8s_proto_name(p->proto)[i] - 'a' + 'A');
	proto[i] = 0;
	if (*p->name)
		snprintf(buf, len, "%s (%u/%s)", p->name, p->port, proto);
	else
		snprintf(buf, len, "%u/%s", p->port, proto);
}

/*
 * Why a port of a Service with endpoints is left without some or all of
 * them, for its owner: no endpoint port matches it (a typo in a port
 * name, a protocol the pods do not serve), or dr and tun, which cannot
 * change the port, met endpoints on another one.
 */
static void port_tell(struct render *r, const struct vs *v,
		      const struct k8s_service *s, const struct k8s_svc_port *p,
		      size_t backends, size_t matched, size_t wrong_port)
{
	char port[96];

	port_words(p, port, sizeof(port));
	if (backends && !matched)
		notify(r, s, "PortUnmatched",
		       "port %s: no endpoint port has its name and protocol, "
		       "so it has no real server",
		       port);
	if (wrong_port)
		notify(r, s, "TargetPortMismatch",
		       "port %s: %zu endpoint(s) left out: forward \"%s\" "
		       "needs the endpoints on the service port %u "
		       "(targetPort must equal port)",
		       port, wrong_port, v->opts.forward, v->port);
}

static int vs_add_reals(struct render *r, struct vs *v,
			const struct k8s_service *s,
			const struct k8s_svc_port *p, const struct epref *sets,
			size_t nsets)
{
	size_t cap = 0, wrong_port = 0, backends = 0, matched = 0;

	for (size_t i = 0; i < nsets; i++) {
		const struct k8s_epset *e = sets[i].set;

		backends += e->nbackends;
		for (size_t j = 0; j < e->nbackends; j++) {
			const struct k8s_backend *b = &e->backends[j];

			if (!port_matches(s, p, b))
				continue;
			matched++;
			if (!real_allowed(v, b, &wrong_port))
				continue;
			if (!k8s_policy_backend_ok(&r->o->policy, &b->addr,
						   NULL, 0)) {
				if (note_refused(r, &b->addr) < 0)
					return -1;
				continue;
			}
			if (v->nreals == cap) {
				struct real *n;

				cap = cap ? 2 * cap : 8;
				n = realloc(v->reals, cap * sizeof(*n));
				if (!n)
					return -1;
				v->reals = n;
			}
			v->reals[v->nreals++] =
			    (struct real){b->addr, b->port, 1, b->ready};
		}
	}
	reals_normalize(v);
	/* whether a port matches is the same for both VIPs of a Service */
	if (v->second)
		matched = backends ? 1 : 0;
	port_tell(r, v, s, p, backends, matched, wrong_port);
	return 0;
}

/* Path, status and expect set where no port's check reads them: said,
 * since the Service's owner expects them to be in use. */
static void check_unused(struct render *r, const struct k8s_service *s,
			 const struct k8s_checkopts *c)
{
	bool http = false, expects = false;

	for (size_t i = 0; i < s->nports; i++) {
		const char *type = k8s_check_type(c, &s->ports[i]);

		http |= k8s_check_http(type);
		expects |= k8s_check_expects(type);
	}
	if (c->path && !http)
		notify(r, s, "InvalidAnnotation",
		       "extlb.io/check-path is ignored: no port has an http "
		       "or https check (extlb.io/check, or appProtocol)");
	if (c->nstatus && !http)
		notify(r, s, "InvalidAnnotation",
		       "extlb.io/check-status is ignored: no port has an http "
		       "or https check (extlb.io/check, or appProtocol)");
	if (c->expect && !expects)
		notify(r, s, "InvalidAnnotation",
		       "extlb.io/check-expect is ignored: no port has an "
		       "http, https or udp check");
}

/* The VIP a Service's virtual services are written for, one of its two
 * when it is dual-stack. */
struct vs_vip {
	struct k8s_addr addr;
	const char *suffix; /* of their names: "" but for the second family */
	bool family_only, second;
};

/* One virtual service per Service port. */
static int service_vs(struct render *r, const struct k8s_service *s,
		      const struct vs_opts *opts, const struct vs_vip *vip,
		      const struct epref *sets, size_t nsets)
{
	for (size_t i = 0; i < s->nports; i++) {
		const struct k8s_svc_port *p = &s->ports[i];
		struct vs *v;
		int n;

		if (r->nvs == r->capvs) {
			size_t cap = r->capvs ? 2 * r->capvs : 16;

			v = realloc(r->vs, cap * sizeof(*v));
			if (!v)
				return -1;
			r->vs = v;
			r->capvs = cap;
		}
		v = &r->vs[r->nvs++];
		memset(v, 0, sizeof(*v));
		/* "ns/name:http", or the number of an unnamed port; then
		 * "/ipv6" for a second family (a port name has no "/") */
		n = *p->name ? asprintf(&v->name, "%s/%s:%s%s", s->ns, s->name,
					p->name, vip->suffix)
			     : asprintf(&v->name, "%s/%s:%u%s", s->ns, s->name,
					p->port, vip->suffix);
		if (n < 0) {
			v->name = NULL;
			return -1;
		}
		v->vip = vip->addr;
		v->family_only = vip->family_only;
		v->second = vip->second;
		v->port = p->port;
		v->proto = p->proto;
		v->opts = *opts;
		v->check = k8s_check_type(&opts->check, p);
		if (vs_add_reals(r, v, s, p, sets, nsets) < 0)
			return -1;
	}
	return 0;
}

static int vs_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vs *)a)->name,
		      ((const struct vs *)b)->name);
}

/* extlbd's identity of a virtual service: vip, port, protocol. */
static int vs_ident_cmp(const struct vs *x, const struct vs *y)
{
	struct k8s_ident a = {x->vip, x->port, x->proto};
	struct k8s_ident b = {y->vip, y->port, y->proto};

	return k8s_ident_cmp(&a, &b);
}

static int vs_ptr_ident_cmp(const void *a, const void *b)
{
	const struct vs *const *x = a, *const *y = b;
	int r = vs_ident_cmp(*x, *y);

	return r ? r : strcmp((*x)->name, (*y)->name);
}

static void drop(struct render *r, struct vs *v, const struct vs *keeper)
{
	char buf[K8S_ADDRSTR_MAX];

	v->dropped = true;
	warn(r, "%s left out: %s port %u/%s is taken by %s", v->name,
	     k8s_addr_str(&v->vip, buf), v->port, k8s_proto_name(v->proto),
	     keeper->name);
}

/*
 * extlbd refuses a file in which two virtual services share an identity
 * (two Services sharing a VIP on the same port) or a name.  Keep the first
 * by name and drop the others, with a warning, rather than lose them all.
 */
static void drop_duplicates(struct render *r)
{
	struct vs **by_id = calloc(r->nvs + 1, sizeof(*by_id));
	const struct vs *keeper = NULL;

	if (!r->nvs) {
		free(by_id);
		return;
	}
	qsort(r->vs, r->nvs, sizeof(*r->vs), vs_name_cmp);
	if (!by_id) {
		r->nomem = true;
		return;
	}
	for (size_t i = 0; i < r->nvs; i++) {
		by_id[i] = &r->vs[i];
		if (i && !strcmp(r->vs[i - 1].name, r->vs[i].name))
			drop(r, &r->vs[i], &r->vs[i - 1]);
	}
	qsort(by_id, r->nvs, sizeof(*by_id), vs_ptr_ident_cmp);
	for (size_t i = 0; i < r->nvs; i++) {
		if (by_id[i]->dropped)
			continue;
		if (keeper && !vs_ident_cmp(keeper, by_id[i]))
			drop(r, by_id[i], keeper);
		else
			keeper = by_id[i];
	}
	free(by_id);
}

/* ---- text -------------------------------------------------------------- */

/*
 * The text is built in one growing buffer with plain copies: with 50,000
 * real servers this runs after every change, and stdio's formatting was
 * most of its cost.
 */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->p, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void put_uint(struct text *t, unsigned long v)
{
	char buf[24], *e = buf + sizeof(buf), *d = e;

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(t, d, (size_t)(e - d));
}

/* A libconfig string: quotes and backslashes escaped, control characters
 * as \xNN, so no value can end the string or the line early. */
static void put_str(struct text *t, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(t, "\"", 1);
	while (*s) {
		size_t plain = 0;

		while (s[plain] && s[plain] != '"' && s[plain] != '\\' &&
		       (unsigned char)s[plain] >= ' ' && s[plain] != 0x7f)
			plain++;
		put(t, s, plain);
		s += plain;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = {'\\', *s};

			put(t, esc, 2);
		} else {
			unsigned char c = (unsigned char)*s;
			char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			put(t, esc, 4);
		}
		s++;
	}
	put(t, "\"", 1);
}

static void put_setting(struct text *t, const char *key, const char *val)
{
	puts_(t, "    ");
	puts_(t, key);
	puts_(t, " = ");
	put_str(t, val);
	puts_(t, ";\n");
}

/* One "key = value; " of a check group (value: the text as is). */
static void put_check_key(struct text *t, const char *key, const char *val,
			  bool quote)
{
	puts_(t, key);
	puts_(t, " = ");
	if (quote)
		put_str(t, val);
	else
		puts_(t, val);
	puts_(t, "; ");
}

static void put_status(struct text *t, const struct k8s_checkopts *c)
{
	puts_(t, "status = ( ");
	for (size_t i = 0; i < c->nstatus; i++) {
		puts_(t, i ? ", \"" : "\"");
		put_uint(t, c->status[i].lo);
		if (c->status[i].hi != c->status[i].lo) {
			puts_(t, "-");
			put_uint(t, c->status[i].hi);
		}
		puts_(t, "\"");
	}
	puts_(t, " ); ");
}

/* The check group: what the port's type and the annotations set, on top
 * of extlbd's global check, which gives the rest. */
static void emit_check(struct text *t, const struct vs *v)
{
	const struct k8s_checkopts *c = &v->opts.check;
	bool http = k8s_check_http(v->check);
	char num[16];

	if (!v->check && !c->port && !c->interval && !c->timeout && !c->rise &&
	    !c->fall && !(http && (c->path || c->nstatus)) &&
	    !(c->expect && k8s_check_expects(v->check)))
		return;
	puts_(t, "    check = { ");
	if (v->check)
		put_check_key(t, "type", v->check, true);
	if (c->port) {
		snprintf(num, sizeof(num), "%u", c->port);
		put_check_key(t, "connect_port", num, false);
	}
	if (c->interval)
		put_check_key(t, "interval", c->interval, false);
	if (c->timeout)
		put_check_key(t, "timeout", c->timeout, false);
	if (c->rise) {
		snprintf(num, sizeof(num), "%u", c->rise);
		put_check_key(t, "rise", num, false);
	}
	if (c->fall) {
		snprintf(num, sizeof(num), "%u", c->fall);
		put_check_key(t, "fall", num, false);
	}
	if (c->path && http)
		put_check_key(t, "path", c->path, true);
	if (c->nstatus && http)
		put_status(t, c);
	if (c->expect && k8s_check_expects(v->check))
		put_check_key(t, "expect", c->expect, true);
	puts_(t, "};\n");
}

static void emit_vs(struct text *t, const struct vs *v)
{
	char buf[K8S_ADDRSTR_MAX];

	puts_(t, "  {\n");
	put_setting(t, "name", v->name);
	put_setting(t, "vip", k8s_addr_str(&v->vip, buf));
	puts_(t, "    port = ");
	put_uint(t, v->port);
	puts_(t, ";\n");
	put_setting(t, "protocol", k8s_proto_name(v->proto));
	if (v->opts.scheduler)
		put_setting(t, "scheduler", v->opts.scheduler);
	if (v->opts.forward)
		put_setting(t, "forward", v->opts.forward);
	if (v->opts.persistence) {
		puts_(t, "    persistence_timeout = ");
		put_uint(t, v->opts.persistence);
		puts_(t, ";\n");
	}
	emit_check(t, v);
	puts_(t, "    real_servers = (");
	for (size_t i = 0; i < v->nreals; i++) {
		puts_(t, i ? ",\n      { address = " : "\n      { address = ");
		put_str(t, k8s_addr_str(&v->reals[i].addr, buf));
		puts_(t, "; port = ");
		put_uint(t, v->reals[i].port);
		puts_(t, "; weight = ");
		put_uint(t, v->reals[i].weight);
		puts_(t, "; }");
	}
	puts_(t, v->nreals ? "\n    );\n" : " );\n");
	puts_(t, "  }");
}

static int emit(struct render *r)
{
	struct text t = {0};
	size_t n = 0;

	puts_(&t, "# Written by extlb-k8s from the Kubernetes API: do not edit,\n"
		  "# it is rewritten whenever the cluster changes.\n"
		  "virtual_services = (");
	for (size_t i = 0; i < r->nvs; i++) {
		if (r->vs[i].dropped)
			continue;
		puts_(&t, n++ ? ",\n" : "\n");
		emit_vs(&t, &r->vs[i]);
	}
	puts_(&t, n ? "\n);\n" : " );\n");
	r->plan->nvs = n;
	if (t.oom) {
		free(t.p);
		return -1;
	}
	r->plan->text = t.p;
	return 0;
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

		if (service_vs(r, p->svc, opts, &v, sets, nsets) < 0)
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
	check_unused(r, s, &opts.check);
	p->forward = opts.forward;
	/* EndpointSlices are the truth; a Service without any (an old
	 * cluster, or slice mirroring switched off) falls back to Endpoints */
	n = find_sets(slices, nslices, s->ns, s->name, &first);
	for (size_t i = first; i < first + n; i++) {
		if (slices[i].set->fqdn)
			notify(r, s, "FQDNIgnored",
			       "EndpointSlice %s has addressType FQDN, which "
			       "IPVS cannot use: ignored",
			       slices[i].set->name);
	}
	if (n) {
		ret = service_vips(r, p, &opts, slices + first, n);
	} else {
		n = find_sets(eps, neps, s->ns, s->name, &first);
		ret = service_vips(r, p, &opts, eps + first, n);
	}
	p->nvs = r->nvs - p->first_vs;
	p->refused = refused_text(r);
	return ret;
}

/* Does the status show any of the pick's VIPs? */
static bool holds_any(const struct pick *p)
{
	for (size_t k = 0; k < p->nvips; k++) {
		if (status_has(p->svc, &p->vips[k]))
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
		pend(r, v[i].svc, v[i].reason, "%s", v[i].why);
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
		pub->changed =
		    !status_shows(p->svc, p->vips, p->nvips, pub->ip_mode);
		for (size_t k = 0; k < p->nvips; k++)
			pub->new_vip |= !status_has(p->svc, &p->vips[k]);
		if (!picks[i].refused)
			continue;
		notice_add(r, picks[i].svc, "BackendRefused", picks[i].refused);
		picks[i].refused = NULL; /* the plan's now */
	}
}

/* Our Services' VIPs and virtual services: those refused are pending,
 * the others in plan->publish and r->vs.  -1 when out of memory. */
static int render_services(struct render *r, const struct epref *slices,
			   size_t nslices, const struct epref *eps,
			   size_t neps)
{
	struct k8s_plan *plan = r->plan;
	struct pick *picks = NULL;
	struct k8s_ipam_req *reqs = NULL;
	char(*keys)[KEY_MAX] = NULL;
	size_t n = 0;
	int ret = -1;

	if (pick_services(r, &picks, &n) < 0 || apply_caps(r, picks, &n) < 0)
		goto out;
	reqs = calloc(2 * n + 1, sizeof(*reqs));
	keys = calloc(n + 1, sizeof(*keys));
	plan->publish = calloc(n + 1, sizeof(*plan->publish));
	if (!reqs || !keys || !plan->publish ||
	    assign_vips(r, picks, n, reqs, keys) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		settle_vips(r, &picks[i], reqs);
		if (picks[i].nvips &&
		    render_service(r, &picks[i], slices, nslices, eps, neps) <
			0)
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
	slices = index_sets(w->slices, w->nslices, &nslices);
	eps = index_sets(w->endpoints, w->nendpoints, &neps);
	/* each Service of ours is pending at most once */
	plan->pending = calloc(w->nsvcs + 1, sizeof(*plan->pending));
	if (!slices || !eps || !plan->pending ||
	    render_services(&r, slices, nslices, eps, neps) < 0)
		goto out;
	drop_duplicates(&r);
	if (!r.nomem && emit(&r) == 0)
		ret = 0;
out:
	render_free(&r);
	free(slices);
	free(eps);
	if (ret < 0)
		k8s_plan_free(plan);
	return ret;
}
