/*
 * render_reals.c - a Service's endpoints into its virtual services and
 * their real servers, by extlbd's rules: kube-proxy's choice of ready and
 * terminating endpoints, the ports and address families the forwarding
 * method can reach, the operator's policy on backend addresses; and, at
 * the end, of the virtual services extlbd would take as duplicates, all
 * but one left out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, open_memstream */
#endif
#include "k8s/admit.h"
#include "render_impl.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int epref_cmp(const void *a, const void *b)
{
	const struct epref *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	if (!r)
		r = strcmp(x->svc, y->svc);
	return r ? r : strcmp(x->set->name, y->set->name);
}

/* The sets that name a Service, sorted by it; NULL when out of memory. */
struct epref *render_index_sets(struct k8s_epset *const *sets, size_t n,
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
size_t render_find_sets(const struct epref *v, size_t n, const char *ns,
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

/* v's forwarding method as its IPVS flag, which extlbd's rules take. */
static int vs_fwd(const struct vs *v)
{
	const struct xl_named *f = xl_named_find(
	    xl_rule_forwards, v->opts.forward ? v->opts.forward : "nat");

	return f ? f->value : 0;
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
	int fwd = vs_fwd(v);

	if (b->addr.af != v->vip.af &&
	    (v->family_only || !xl_rule_family_ok(v->vip.af, b->addr.af, fwd)))
		return false;
	if (xl_rule_port_fixed(fwd) && b->port != v->port) {
		(*wrong_port)++;
		return false;
	}
	return true;
}

/* Backend a noted as refused; -1 when out of memory. */
static int note_refused(struct render *r, const struct k8s_addr *a)
{
	if (XL_GROW(r->refused, r->caprefused, r->nrefused + 1, 8) < 0)
		return -1;
	r->refused[r->nrefused++] = *a;
	return 0;
}

static int addr_sort_cmp(const void *a, const void *b)
{
	return k8s_addr_cmp(a, b);
}

/* The refused endpoints noted, in words, naming the first few; NULL when
 * there are none (or no memory: then r->nomem). */
char *render_refused_text(struct render *r)
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
		render_notify(
		    r, s, "PortUnmatched",
		    "port %s: no endpoint port has its name and protocol, "
		    "so it has no real server",
		    port);
	if (wrong_port)
		render_notify(
		    r, s, "TargetPortMismatch",
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
			if (XL_GROW(v->reals, cap, v->nreals + 1, 8) < 0)
				return -1;
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
void render_check_unused(struct render *r, const struct k8s_service *s,
			 const struct k8s_checkopts *c)
{
	bool http = false, expects = false;

	for (size_t i = 0; i < s->nports; i++) {
		const char *type = k8s_check_type(c, &s->ports[i]);

		http |= k8s_check_http(type);
		expects |= k8s_check_expects(type);
	}
	if (c->path && !http)
		render_notify(
		    r, s, "InvalidAnnotation",
		    "extlb.io/check-path is ignored: no port has an http "
		    "or https check (extlb.io/check, or appProtocol)");
	if (c->nstatus && !http)
		render_notify(
		    r, s, "InvalidAnnotation",
		    "extlb.io/check-status is ignored: no port has an http "
		    "or https check (extlb.io/check, or appProtocol)");
	if (c->expect && !expects)
		render_notify(
		    r, s, "InvalidAnnotation",
		    "extlb.io/check-expect is ignored: no port has an "
		    "http, https or udp check");
}

/* Does the Service let some source of family af in? */
static bool family_allowed(const struct render *r, const struct vs_opts *opts,
			   int af)
{
	if (!opts->restricted)
		return true;
	for (size_t i = 0; i < opts->nranges; i++) {
		if (r->ranges[opts->first_range + i].af == af)
			return true;
	}
	return false;
}

/* One virtual service per Service port. */
int render_service_vs(struct render *r, const struct k8s_service *s,
		      const struct vs_opts *opts, const struct vs_vip *vip,
		      const struct epref *sets, size_t nsets)
{
	char buf[K8S_ADDRSTR_MAX];

	if (!family_allowed(r, opts, vip->addr.af)) {
		/* a filter that names no source of this family lets none
		 * in: not served, rather than served to every address */
		render_notify(r, s, "SourceRangesFamily",
			      "no source range is %s: the ports of VIP %s are "
			      "not served",
			      vip->addr.af == AF_INET6 ? "IPv6" : "IPv4",
			      k8s_addr_str(&vip->addr, buf));
		return 0;
	}
	for (size_t i = 0; i < s->nports; i++) {
		const struct k8s_svc_port *p = &s->ports[i];
		struct vs *v;
		int n;

		if (XL_GROW(r->vs, r->capvs, r->nvs + 1, 16) < 0)
			return -1;
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
	render_warn(r, "%s left out: %s port %u/%s is taken by %s", v->name,
		    k8s_addr_str(&v->vip, buf), v->port,
		    k8s_proto_name(v->proto), keeper->name);
}

/*
 * extlbd refuses a file in which two virtual services share an identity
 * (two Services sharing a VIP on the same port) or a name.  Keep the first
 * by name and drop the others, with a warning, rather than lose them all.
 */
void render_drop_duplicates(struct render *r)
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
