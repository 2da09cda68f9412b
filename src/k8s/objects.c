/*
 * objects.c - Services, EndpointSlices and Endpoints from the API server's
 * JSON into the plain structs of k8s/objects.h.
 *
 * The API server validates what it stores, but extlb-k8s also talks to
 * aggregated servers, proxies and test doubles, and a crash or a garbage
 * virtual service in extlbd's configuration costs far more than one
 * skipped object.  So every field read is type-checked, and any problem
 * rejects the object with the path of the field at fault.  Conditions are
 * read here: an address that must never take traffic does not leave this
 * file, and one that may only stand in (serving and terminating) is
 * marked so.
 */
#include "k8s/objects.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Room for the path of a field in a message, "subsets[3].addresses[12]" */
#define PATH_MAX_LEN 128

/* Where messages go: the caller's buffer. */
struct pctx {
	char *why;
	size_t len;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct pctx *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, p->len, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * o[key] when it has type t: 1.  0 when absent or null (Kubernetes omits
 * and nulls optional fields alike), -1 for another type.
 */
static int member(struct pctx *p, json_object *o, const char *where,
		  const char *key, json_type t, json_object **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, t))
		return fail(p, "%s%s%s: expected %s, got %s", where,
			    *where ? "." : "", key, json_type_to_name(t),
			    json_type_to_name(json_object_get_type(v)));
	*out = v;
	return 1;
}

/* As member(), but absence is an error too. */
static int required(struct pctx *p, json_object *o, const char *where,
		    const char *key, json_type t, json_object **out)
{
	int r = member(p, o, where, key, t, out);

	if (!r)
		return fail(p, "%s%s%s: missing", where, *where ? "." : "",
			    key);
	return r;
}

/* An optional string member, copied; NULL when absent.  0 or -1. */
static int opt_strdup(struct pctx *p, json_object *o, const char *where,
		      const char *key, char **out)
{
	json_object *v;
	int r = member(p, o, where, key, json_type_string, &v);

	*out = NULL;
	if (r <= 0)
		return r;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : fail(p, "out of memory");
}

/* An integer member within [min, max]; def when absent.  0 or -1. */
static int opt_int(struct pctx *p, json_object *o, const char *where,
		   const char *key, int64_t min, int64_t max, int64_t def,
		   int64_t *out)
{
	json_object *v;
	int r = member(p, o, where, key, json_type_int, &v);

	*out = def;
	if (r <= 0)
		return r;
	*out = json_object_get_int64(v);
	if (*out < min || *out > max)
		return fail(p, "%s.%s: %lld is out of range %lld-%lld", where,
			    key, (long long)*out, (long long)min,
			    (long long)max);
	return 0;
}

/* A boolean member: 1 true, 0 false, def when absent, -1 wrong type. */
static int opt_bool(struct pctx *p, json_object *o, const char *where,
		    const char *key, int def)
{
	json_object *v;
	int r = member(p, o, where, key, json_type_boolean, &v);

	if (r <= 0)
		return r < 0 ? -1 : def;
	return json_object_get_boolean(v) ? 1 : 0;
}

const char *k8s_proto_name(enum k8s_proto proto)
{
	switch (proto) {
	case K8S_UDP:
		return "udp";
	case K8S_SCTP:
		return "sctp";
	default:
		return "tcp";
	}
}

/* A port's protocol; Kubernetes defaults it to TCP. */
static int parse_proto(struct pctx *p, json_object *o, const char *where,
		       enum k8s_proto *out)
{
	json_object *v;
	const char *s;
	int r = member(p, o, where, "protocol", json_type_string, &v);

	*out = K8S_TCP;
	if (r <= 0)
		return r;
	s = json_object_get_string(v);
	if (!strcmp(s, "TCP"))
		*out = K8S_TCP;
	else if (!strcmp(s, "UDP"))
		*out = K8S_UDP;
	else if (!strcmp(s, "SCTP"))
		*out = K8S_SCTP;
	else
		return fail(p, "%s.protocol: \"%s\" is not TCP, UDP or SCTP",
			    where, s);
	return 0;
}

int k8s_object_key(json_object *j, char *key, size_t keylen, const char **rv,
		   char *why, size_t len)
{
	struct pctx p = {why, len};
	json_object *md, *ns, *name, *v;
	int n;

	*rv = "";
	if (!json_object_is_type(j, json_type_object))
		return fail(&p, "expected an object, got %s",
			    json_type_to_name(json_object_get_type(j)));
	if (required(&p, j, "", "metadata", json_type_object, &md) < 0 ||
	    required(&p, md, "metadata", "namespace", json_type_string, &ns) <
		0 ||
	    required(&p, md, "metadata", "name", json_type_string, &name) < 0)
		return -1;
	if (member(&p, md, "metadata", "resourceVersion", json_type_string,
		   &v) < 0)
		return -1;
	if (v)
		*rv = json_object_get_string(v);
	n = snprintf(key, keylen, "%s/%s", json_object_get_string(ns),
		     json_object_get_string(name));
	if (n < 0 || (size_t)n >= keylen)
		return fail(&p, "metadata: namespace and name are too long");
	if (!json_object_get_string_len(ns) ||
	    !json_object_get_string_len(name))
		return fail(&p, "metadata: empty namespace or name");
	return 0;
}

/* Names end up in extlb.conf, where extlbd takes a service name only on
 * one line; the API server never stores such names, but a proxy could. */
static bool has_ctl(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return true;
	}
	return false;
}

/* metadata.namespace and metadata.name, copied. */
static int parse_meta(struct pctx *p, json_object *j, char **ns, char **name,
		      json_object **md)
{
	json_object *v;

	if (!json_object_is_type(j, json_type_object))
		return fail(p, "expected an object");
	if (required(p, j, "", "metadata", json_type_object, md) < 0 ||
	    required(p, *md, "metadata", "namespace", json_type_string, &v) < 0)
		return -1;
	*ns = strdup(json_object_get_string(v));
	if (required(p, *md, "metadata", "name", json_type_string, &v) < 0)
		return -1;
	*name = strdup(json_object_get_string(v));
	if (!*ns || !*name)
		return fail(p, "out of memory");
	if (!**ns || !**name || has_ctl(*ns) || has_ctl(*name))
		return fail(p,
			    "metadata: namespace and name must be non-empty, "
			    "without control characters");
	return 0;
}

/* ---- Services ---------------------------------------------------------- */

void k8s_service_free(void *obj)
{
	struct k8s_service *s = obj;

	if (!s)
		return;
	free(s->ns);
	free(s->name);
	free(s->uid);
	free(s->created);
	free(s->lb_class);
	free(s->lb_ip);
	free(s->ann.vip);
	free(s->ann.share);
	free(s->ann.scheduler);
	free(s->ann.forward);
	free(s->ann.check);
	free(s->ann.check_path);
	free(s->ann.check_port);
	free(s->ann.check_interval);
	free(s->ann.check_timeout);
	free(s->ann.check_rise);
	free(s->ann.check_fall);
	free(s->ann.check_status);
	free(s->ann.check_expect);
	free(s->ann.source_ranges);
	for (size_t i = 0; i < s->nsource_ranges; i++)
		free(s->source_ranges[i]);
	free(s->source_ranges);
	for (size_t i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].app_protocol);
	}
	free(s->ports);
	for (size_t i = 0; i < s->ningress; i++) {
		free(s->ingress[i]);
		free(s->ingress_mode[i]);
	}
	free(s->ingress);
	free(s->ingress_mode);
	free(s);
}

static const struct {
	const char *key;
	size_t off;
} annotation_keys[] = {
    {"extlb.io/vip", offsetof(struct k8s_annotations, vip)},
    {"extlb.io/allow-shared-vip", offsetof(struct k8s_annotations, share)},
    {"extlb.io/scheduler", offsetof(struct k8s_annotations, scheduler)},
    {"extlb.io/forward", offsetof(struct k8s_annotations, forward)},
    {"extlb.io/check", offsetof(struct k8s_annotations, check)},
    {"extlb.io/check-path", offsetof(struct k8s_annotations, check_path)},
    {"extlb.io/check-port", offsetof(struct k8s_annotations, check_port)},
    {"extlb.io/check-interval",
     offsetof(struct k8s_annotations, check_interval)},
    {"extlb.io/check-timeout", offsetof(struct k8s_annotations, check_timeout)},
    {"extlb.io/check-rise", offsetof(struct k8s_annotations, check_rise)},
    {"extlb.io/check-fall", offsetof(struct k8s_annotations, check_fall)},
    {"extlb.io/check-status", offsetof(struct k8s_annotations, check_status)},
    {"extlb.io/check-expect", offsetof(struct k8s_annotations, check_expect)},
    {"service.beta.kubernetes.io/load-balancer-source-ranges",
     offsetof(struct k8s_annotations, source_ranges)},
};

static int parse_annotations(struct pctx *p, json_object *md,
			     struct k8s_annotations *ann)
{
	json_object *a;
	int r = member(p, md, "metadata", "annotations", json_type_object, &a);

	if (r <= 0)
		return r;
	for (size_t i = 0; i < XL_ARRAY_SIZE(annotation_keys); i++) {
		char **dst = (char **)((char *)ann + annotation_keys[i].off);
		json_object *v;

		if (member(p, a, "metadata.annotations", annotation_keys[i].key,
			   json_type_string, &v) < 0)
			return -1;
		if (v && !(*dst = strdup(json_object_get_string(v))))
			return fail(p, "out of memory");
	}
	return 0;
}

static int parse_svc_port(struct pctx *p, json_object *o, const char *where,
			  struct k8s_svc_port *sp)
{
	int64_t port;

	if (!json_object_is_type(o, json_type_object))
		return fail(p, "%s: expected an object", where);
	if (opt_strdup(p, o, where, "name", &sp->name) < 0)
		return -1;
	if (!sp->name && !(sp->name = strdup("")))
		return fail(p, "out of memory");
	if (has_ctl(sp->name))
		return fail(p, "%s.name: control characters", where);
	if (opt_strdup(p, o, where, "appProtocol", &sp->app_protocol) < 0)
		return -1;
	if (opt_int(p, o, where, "port", 1, 65535, 0, &port) < 0)
		return -1;
	if (!port)
		return fail(p, "%s.port: missing", where);
	sp->port = (uint16_t)port;
	return parse_proto(p, o, where, &sp->proto);
}

static int parse_svc_ports(struct pctx *p, json_object *spec,
			   struct k8s_service *s)
{
	json_object *ports;
	int r = member(p, spec, "spec", "ports", json_type_array, &ports);
	size_t n;

	if (r <= 0)
		return r;
	n = json_object_array_length(ports);
	s->ports = calloc(n ? n : 1, sizeof(*s->ports));
	if (!s->ports)
		return fail(p, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char where[PATH_MAX_LEN / 2];

		snprintf(where, sizeof(where), "spec.ports[%zu]", i);
		s->nports++;
		if (parse_svc_port(p, json_object_array_get_idx(ports, i),
				   where, &s->ports[i]) < 0)
			return -1;
	}
	return 0;
}

/* One of spec.ipFamilies: "IPv4" or "IPv6". */
static int parse_one_family(struct pctx *p, json_object *fams, size_t i,
			    int *family)
{
	json_object *f = json_object_array_get_idx(fams, i);
	const char *s;

	if (!json_object_is_type(f, json_type_string))
		return fail(p, "spec.ipFamilies[%zu]: expected string", i);
	s = json_object_get_string(f);
	if (!strcmp(s, "IPv4"))
		*family = AF_INET;
	else if (!strcmp(s, "IPv6"))
		*family = AF_INET6;
	else
		return fail(p,
			    "spec.ipFamilies[%zu]: \"%s\" is not IPv4 or IPv6",
			    i, s);
	return 0;
}

/* spec.ipFamilies, whose order is the order of the VIPs in the status,
 * and spec.ipFamilyPolicy, which says whether there is a second one. */
static int parse_family(struct pctx *p, json_object *spec,
			struct k8s_service *s)
{
	json_object *fams, *pol;
	const char *v;

	s->family = s->family2 = AF_UNSPEC;
	s->family_policy = K8S_SINGLE_STACK;
	if (member(p, spec, "spec", "ipFamilies", json_type_array, &fams) < 0 ||
	    member(p, spec, "spec", "ipFamilyPolicy", json_type_string, &pol) <
		0)
		return -1;
	if (fams && json_object_array_length(fams) > 0 &&
	    parse_one_family(p, fams, 0, &s->family) < 0)
		return -1;
	if (fams && json_object_array_length(fams) > 1 &&
	    parse_one_family(p, fams, 1, &s->family2) < 0)
		return -1;
	if (s->family2 == s->family)
		s->family2 = AF_UNSPEC;
	v = pol ? json_object_get_string(pol) : "SingleStack";
	if (!strcmp(v, "PreferDualStack"))
		s->family_policy = K8S_PREFER_DUAL_STACK;
	else if (!strcmp(v, "RequireDualStack"))
		s->family_policy = K8S_REQUIRE_DUAL_STACK;
	else if (strcmp(v, "SingleStack"))
		return fail(p,
			    "spec.ipFamilyPolicy: \"%s\" is not SingleStack, "
			    "PreferDualStack or RequireDualStack",
			    v);
	return 0;
}

/* spec.sessionAffinity: ClientIP means persistence, for its timeout
 * (Kubernetes' default, 3 hours, when the config leaves it out). */
static int parse_affinity(struct pctx *p, json_object *spec,
			  struct k8s_service *s)
{
	json_object *aff, *cfg, *cip;
	int64_t t;

	if (member(p, spec, "spec", "sessionAffinity", json_type_string, &aff) <
	    0)
		return -1;
	if (!aff || strcmp(json_object_get_string(aff), "ClientIP"))
		return 0;
	if (member(p, spec, "spec", "sessionAffinityConfig", json_type_object,
		   &cfg) < 0)
		return -1;
	cip = NULL;
	if (cfg && member(p, cfg, "spec.sessionAffinityConfig", "clientIP",
			  json_type_object, &cip) < 0)
		return -1;
	t = 10800;
	if (cip && opt_int(p, cip, "spec.sessionAffinityConfig.clientIP",
			   "timeoutSeconds", 1, 86400, 10800, &t) < 0)
		return -1;
	s->affinity_timeout = (uint32_t)t;
	return 0;
}

/* status.loadBalancer.ingress[].ip: the VIP already published, if any. */
static int parse_ingress(struct pctx *p, json_object *j, struct k8s_service *s)
{
	json_object *st, *lb, *ing;
	size_t n;

	if (member(p, j, "", "status", json_type_object, &st) < 0)
		return -1;
	lb = ing = NULL;
	if (st &&
	    member(p, st, "status", "loadBalancer", json_type_object, &lb) < 0)
		return -1;
	if (lb && member(p, lb, "status.loadBalancer", "ingress",
			 json_type_array, &ing) < 0)
		return -1;
	n = ing ? json_object_array_length(ing) : 0;
	if (!n)
		return 0;
	s->ingress = calloc(n, sizeof(*s->ingress));
	s->ingress_mode = calloc(n, sizeof(*s->ingress_mode));
	if (!s->ingress || !s->ingress_mode)
		return fail(p, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(ing, i);
		char where[PATH_MAX_LEN / 2];

		snprintf(where, sizeof(where),
			 "status.loadBalancer.ingress[%zu]", i);
		if (!json_object_is_type(e, json_type_object))
			return fail(p, "%s: expected an object", where);
		s->ningress++;
		if (opt_strdup(p, e, where, "ip", &s->ingress[i]) < 0 ||
		    opt_strdup(p, e, where, "ipMode", &s->ingress_mode[i]) < 0)
			return -1;
		if (!s->ingress[i] && !(s->ingress[i] = strdup("")))
			return fail(p, "out of memory");
	}
	return 0;
}

/* spec.loadBalancerSourceRanges: strings, kept as written; render judges
 * them (a bad one keeps the Service out, with an Event that names it). */
static int parse_source_ranges(struct pctx *p, json_object *spec,
			       struct k8s_service *s)
{
	json_object *ranges;
	size_t n;
	int r = member(p, spec, "spec", "loadBalancerSourceRanges",
		       json_type_array, &ranges);

	if (r <= 0)
		return r;
	n = json_object_array_length(ranges);
	if (n > K8S_MAX_SOURCE_RANGES)
		return fail(p,
			    "spec.loadBalancerSourceRanges: %zu entries, more "
			    "than %d",
			    n, K8S_MAX_SOURCE_RANGES);
	if (n == 0)
		return 0;
	s->source_ranges = calloc(n, sizeof(*s->source_ranges));
	if (!s->source_ranges)
		return fail(p, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(ranges, i);

		if (!json_object_is_type(e, json_type_string))
			return fail(p,
				    "spec.loadBalancerSourceRanges[%zu]: "
				    "expected string",
				    i);
		s->source_ranges[i] = strdup(json_object_get_string(e));
		if (!s->source_ranges[i])
			return fail(p, "out of memory");
		s->nsource_ranges = i + 1;
	}
	return 0;
}

/* The spec fields that only matter for a LoadBalancer Service. */
static int parse_lb_spec(struct pctx *p, json_object *spec,
			 struct k8s_service *s)
{
	if (opt_strdup(p, spec, "spec", "loadBalancerClass", &s->lb_class) <
		0 ||
	    opt_strdup(p, spec, "spec", "loadBalancerIP", &s->lb_ip) < 0)
		return -1;
	if (s->lb_ip && !*s->lb_ip) {
		/* the API server leaves "" where it was never set */
		free(s->lb_ip);
		s->lb_ip = NULL;
	}
	if (parse_source_ranges(p, spec, s) < 0 ||
	    parse_family(p, spec, s) < 0 || parse_affinity(p, spec, s) < 0 ||
	    parse_svc_ports(p, spec, s) < 0)
		return -1;
	return 0;
}

int k8s_service_parse(json_object *j, struct k8s_service **out, char *why,
		      size_t len)
{
	struct pctx p = {why, len};
	struct k8s_service *s = calloc(1, sizeof(*s));
	json_object *md, *spec, *type;

	*out = NULL;
	if (!s)
		return fail(&p, "out of memory");
	if (parse_meta(&p, j, &s->ns, &s->name, &md) < 0 ||
	    required(&p, j, "", "spec", json_type_object, &spec) < 0 ||
	    member(&p, spec, "spec", "type", json_type_string, &type) < 0)
		goto fail;
	s->load_balancer =
	    type && !strcmp(json_object_get_string(type), "LoadBalancer");
	if (opt_strdup(&p, md, "metadata", "uid", &s->uid) < 0 ||
	    opt_strdup(&p, md, "metadata", "creationTimestamp", &s->created) <
		0)
		goto fail;
	/* the other Services are of no interest: keep their names only, so
	 * that their oddities never fill the log; and their status, which
	 * may still show a VIP of ours when they stopped being
	 * LoadBalancers (a status that does not parse is then ignored) */
	if (s->load_balancer && (parse_lb_spec(&p, spec, s) < 0 ||
				 parse_annotations(&p, md, &s->ann) < 0 ||
				 parse_ingress(&p, j, s) < 0))
		goto fail;
	if (!s->load_balancer && parse_ingress(&p, j, s) < 0) {
		for (size_t i = 0; i < s->ningress; i++) {
			free(s->ingress[i]);
			free(s->ingress_mode[i]);
		}
		free(s->ingress);
		free(s->ingress_mode);
		s->ingress = NULL;
		s->ingress_mode = NULL;
		s->ningress = 0;
	}
	*out = s;
	return 0;
fail:
	k8s_service_free(s);
	return -1;
}

/* ---- EndpointSlices and Endpoints -------------------------------------- */

void k8s_epset_free(void *obj)
{
	struct k8s_epset *e = obj;

	if (!e)
		return;
	free(e->ns);
	free(e->name);
	free(e->service);
	for (size_t i = 0; i < e->nbackends; i++)
		free(e->backends[i].port_name);
	free(e->backends);
	free(e);
}

/* A port of a slice or an Endpoints subset, before it meets addresses. */
struct ep_port {
	const char *name;
	uint16_t port;
	enum k8s_proto proto;
};

static int parse_ep_ports(struct pctx *p, json_object *o, const char *where,
			  struct ep_port **out, size_t *n)
{
	json_object *ports;
	char at[PATH_MAX_LEN];
	int r = member(p, o, where, "ports", json_type_array, &ports);

	*out = NULL;
	*n = 0;
	if (r <= 0)
		return r;
	*out = calloc(json_object_array_length(ports) + 1, sizeof(**out));
	if (!*out)
		return fail(p, "out of memory");
	for (size_t i = 0; i < json_object_array_length(ports); i++) {
		json_object *e = json_object_array_get_idx(ports, i), *v;
		int64_t port;

		snprintf(at, sizeof(at), "%s%sports[%zu]", where,
			 *where ? "." : "", i);
		if (!json_object_is_type(e, json_type_object))
			return fail(p, "%s: expected an object", at);
		if (member(p, e, at, "name", json_type_string, &v) < 0 ||
		    opt_int(p, e, at, "port", 1, 65535, 0, &port) < 0 ||
		    parse_proto(p, e, at, &(*out)[*n].proto) < 0)
			return -1;
		/* a slice port without a number means "all ports": it cannot
		 * be mapped to a virtual service's port, so it is left out */
		if (!port)
			continue;
		(*out)[*n].name = v ? json_object_get_string(v) : "";
		(*out)[*n].port = (uint16_t)port;
		(*n)++;
	}
	return 0;
}

/* Adds addr with each port to e. */
static int add_backends(struct pctx *p, struct k8s_epset *e,
			const struct k8s_addr *addr,
			const struct ep_port *ports, size_t nports, bool ready)
{
	struct k8s_backend *v;

	/* a product of addresses and ports: bounded, or a small object of
	 * many of each would cost gigabytes */
	if (nports > K8S_MAX_OBJECT_BACKENDS - e->nbackends)
		return fail(p, "more than %d address and port pairs",
			    K8S_MAX_OBJECT_BACKENDS);
	v = realloc(e->backends, (e->nbackends + nports + 1) * sizeof(*v));
	if (!v)
		return fail(p, "out of memory");
	e->backends = v;
	for (size_t i = 0; i < nports; i++) {
		struct k8s_backend *b = &e->backends[e->nbackends];

		memset(b, 0, sizeof(*b));
		b->addr = *addr;
		b->port = ports[i].port;
		b->proto = ports[i].proto;
		b->sole_port = nports == 1;
		b->ready = ready;
		b->port_name = strdup(ports[i].name);
		if (!b->port_name)
			return fail(p, "out of memory");
		e->nbackends++;
	}
	return 0;
}

/*
 * What an endpoint's conditions make of it, as kube-proxy reads them:
 * 1 ready (an absent "ready" means ready), 0 serving and terminating (a
 * fallback, used only when a port has no ready endpoint), -1 no traffic,
 * -2 a condition of the wrong type.  An absent "serving" reads as true,
 * as kube-proxy reads it: servers from before the condition existed never
 * set it, and their terminating endpoints were still serving.
 */
static int slice_condition(struct pctx *p, json_object *ep, const char *where)
{
	json_object *cond;
	char at[PATH_MAX_LEN];
	int ready, serving, terminating;

	if (member(p, ep, where, "conditions", json_type_object, &cond) < 0)
		return -2;
	if (!cond)
		return 1;
	snprintf(at, sizeof(at), "%s.conditions", where);
	ready = opt_bool(p, cond, at, "ready", 1);
	serving = ready < 0 ? -1 : opt_bool(p, cond, at, "serving", 1);
	terminating =
	    serving < 0 ? -1 : opt_bool(p, cond, at, "terminating", 0);
	if (terminating < 0)
		return -2;
	if (ready)
		return 1;
	return serving && terminating ? 0 : -1;
}

/*
 * One entry of a slice's endpoints, if it may take traffic.  Only its
 * first address counts: the API says the others are fungible copies that
 * consumers must not rely on, and kube-proxy reads only addresses[0].
 */
static int slice_endpoint(struct pctx *p, struct k8s_epset *e, json_object *ep,
			  const char *where, int af,
			  const struct ep_port *ports, size_t nports)
{
	json_object *addrs, *a;
	struct k8s_addr addr;
	int cond;

	if (!json_object_is_type(ep, json_type_object))
		return fail(p, "%s: expected an object", where);
	cond = slice_condition(p, ep, where);
	if (cond == -2)
		return -1;
	if (required(p, ep, where, "addresses", json_type_array, &addrs) < 0)
		return -1;
	if (cond < 0 || !json_object_array_length(addrs))
		return 0;
	a = json_object_array_get_idx(addrs, 0);
	if (!json_object_is_type(a, json_type_string) ||
	    k8s_addr_parse(json_object_get_string(a), &addr) < 0 ||
	    addr.af != af)
		return fail(p, "%s.addresses[0]: not an %s address", where,
			    k8s_af_name(af));
	return add_backends(p, e, &addr, ports, nports, cond == 1);
}

/* addressType: IPv4 or IPv6; FQDN slices (AF_UNSPEC) carry no address
 * IPVS could use. */
static int slice_family(struct pctx *p, json_object *j, int *af)
{
	json_object *t;
	const char *s;

	if (required(p, j, "", "addressType", json_type_string, &t) < 0)
		return -1;
	s = json_object_get_string(t);
	if (!strcmp(s, "IPv4"))
		*af = AF_INET;
	else if (!strcmp(s, "IPv6"))
		*af = AF_INET6;
	else if (!strcmp(s, "FQDN"))
		*af = AF_UNSPEC;
	else
		return fail(p, "addressType: \"%s\" is not IPv4, IPv6 or FQDN",
			    s);
	return 0;
}

static int slice_service(struct pctx *p, json_object *md, struct k8s_epset *e)
{
	json_object *labels;

	if (member(p, md, "metadata", "labels", json_type_object, &labels) < 0)
		return -1;
	if (!labels)
		return 0;
	return opt_strdup(p, labels, "metadata.labels",
			  "kubernetes.io/service-name", &e->service);
}

int k8s_slice_parse(json_object *j, struct k8s_epset **out, char *why,
		    size_t len)
{
	struct pctx p = {why, len};
	struct k8s_epset *e = calloc(1, sizeof(*e));
	struct ep_port *ports = NULL;
	json_object *md, *eps;
	size_t nports;
	int af = AF_UNSPEC;

	*out = NULL;
	if (!e)
		return fail(&p, "out of memory");
	if (parse_meta(&p, j, &e->ns, &e->name, &md) < 0 ||
	    slice_service(&p, md, e) < 0 || slice_family(&p, j, &af) < 0 ||
	    parse_ep_ports(&p, j, "", &ports, &nports) < 0 ||
	    member(&p, j, "", "endpoints", json_type_array, &eps) < 0)
		goto fail;
	e->fqdn = af == AF_UNSPEC;
	for (size_t i = 0;
	     eps && af != AF_UNSPEC && i < json_object_array_length(eps); i++) {
		char where[PATH_MAX_LEN / 2];

		snprintf(where, sizeof(where), "endpoints[%zu]", i);
		if (slice_endpoint(&p, e, json_object_array_get_idx(eps, i),
				   where, af, ports, nports) < 0)
			goto fail;
	}
	free(ports);
	*out = e;
	return 0;
fail:
	free(ports);
	k8s_epset_free(e);
	return -1;
}

/* subsets[i].addresses: every one ready.  notReadyAddresses are not read:
 * they take no traffic. */
static int endpoints_subset(struct pctx *p, struct k8s_epset *e,
			    json_object *sub, const char *where)
{
	struct ep_port *ports = NULL;
	json_object *addrs;
	size_t nports;
	char at[PATH_MAX_LEN];
	int r = -1;

	if (!json_object_is_type(sub, json_type_object))
		return fail(p, "%s: expected an object", where);
	if (parse_ep_ports(p, sub, where, &ports, &nports) < 0 ||
	    member(p, sub, where, "addresses", json_type_array, &addrs) < 0)
		goto out;
	for (size_t i = 0; addrs && i < json_object_array_length(addrs); i++) {
		json_object *a = json_object_array_get_idx(addrs, i), *ip;
		struct k8s_addr addr;

		snprintf(at, sizeof(at), "%s.addresses[%zu]", where, i);
		if (!json_object_is_type(a, json_type_object)) {
			fail(p, "%s: expected an object", at);
			goto out;
		}
		if (required(p, a, at, "ip", json_type_string, &ip) < 0)
			goto out;
		if (k8s_addr_parse(json_object_get_string(ip), &addr) < 0) {
			fail(p, "%s.ip: \"%s\" is not an IP address", at,
			     json_object_get_string(ip));
			goto out;
		}
		if (add_backends(p, e, &addr, ports, nports, true) < 0)
			goto out;
	}
	r = 0;
out:
	free(ports);
	return r;
}

int k8s_endpoints_parse(json_object *j, struct k8s_epset **out, char *why,
			size_t len)
{
	struct pctx p = {why, len};
	struct k8s_epset *e = calloc(1, sizeof(*e));
	json_object *md, *subs;

	*out = NULL;
	if (!e)
		return fail(&p, "out of memory");
	if (parse_meta(&p, j, &e->ns, &e->name, &md) < 0 ||
	    member(&p, j, "", "subsets", json_type_array, &subs) < 0)
		goto fail;
	/* an Endpoints object always belongs to the Service of its name */
	if (!(e->service = strdup(e->name))) {
		fail(&p, "out of memory");
		goto fail;
	}
	for (size_t i = 0; subs && i < json_object_array_length(subs); i++) {
		char where[PATH_MAX_LEN / 2];

		snprintf(where, sizeof(where), "subsets[%zu]", i);
		if (endpoints_subset(&p, e, json_object_array_get_idx(subs, i),
				     where) < 0)
			goto fail;
	}
	*out = e;
	return 0;
fail:
	k8s_epset_free(e);
	return -1;
}
