/*
 * test_k8s_render.c - cmocka tests of k8s_render(): Services and their
 * endpoints in, the extlb.conf include file and the VIPs to publish out.
 *
 * Objects are written as the API server sends them (JSON, with ' for " to
 * keep the C readable) and go through the real parsers, so each test also
 * pins down what the parsers keep.  Outputs are compared in full: the file
 * is an interface extlbd reads, and a stray byte is a reload.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/checkopts.h"
#include "k8s/render.h"

#define MAXOBJ 16

struct fx {
	struct k8s_service *svcs[MAXOBJ];
	size_t nsvcs;
	struct k8s_epset *slices[MAXOBJ];
	size_t nslices;
	struct k8s_epset *eps[MAXOBJ];
	size_t neps;
	struct k8s_pool pools[4];
	size_t npools;
	bool default_class;
	struct k8s_policy policy;
	struct k8s_pool allow_vip[4], allow_backend[4];
	struct k8s_addr host[4];
	struct k8s_plan plan;
};

/* JSON from text with ' for ", parsed; the caller puts it. */
static json_object *json(const char *text)
{
	char *s = strdup(text);
	json_object *j;

	assert_non_null(s);
	for (char *p = s; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	j = json_tokener_parse(s);
	if (!j)
		fail_msg("bad test JSON: %s", s);
	free(s);
	return j;
}

static void add_svc(struct fx *f, const char *text)
{
	json_object *j = json(text);
	char why[256] = "";

	assert_true(f->nsvcs < MAXOBJ);
	if (k8s_service_parse(j, &f->svcs[f->nsvcs], why, sizeof(why)) < 0)
		fail_msg("service rejected: %s", why);
	f->nsvcs++;
	json_object_put(j);
}

static void add_slice(struct fx *f, const char *text)
{
	json_object *j = json(text);
	char why[256] = "";

	assert_true(f->nslices < MAXOBJ);
	if (k8s_slice_parse(j, &f->slices[f->nslices], why, sizeof(why)) < 0)
		fail_msg("slice rejected: %s", why);
	f->nslices++;
	json_object_put(j);
}

static void add_eps(struct fx *f, const char *text)
{
	json_object *j = json(text);
	char why[256] = "";

	assert_true(f->neps < MAXOBJ);
	if (k8s_endpoints_parse(j, &f->eps[f->neps], why, sizeof(why)) < 0)
		fail_msg("endpoints rejected: %s", why);
	f->neps++;
	json_object_put(j);
}

static void add_pool(struct fx *f, const char *text)
{
	char why[256];

	assert_int_equal(
	    k8s_pool_parse(text, &f->pools[f->npools], why, sizeof(why)), 0);
	f->npools++;
}

/* --allow-vip, --allow-backend, a host address */
static void allow_vip(struct fx *f, const char *text)
{
	char why[256];

	f->policy.allow_vip = f->allow_vip;
	assert_int_equal(k8s_pool_parse(text,
					&f->allow_vip[f->policy.nallow_vip++],
					why, sizeof(why)),
			 0);
}

static void allow_backend(struct fx *f, const char *text)
{
	char why[256];

	f->policy.allow_backend = f->allow_backend;
	assert_int_equal(
	    k8s_pool_parse(text, &f->allow_backend[f->policy.nallow_backend++],
			   why, sizeof(why)),
	    0);
}

static void host_addr(struct fx *f, const char *text)
{
	f->policy.host = f->host;
	assert_int_equal(k8s_addr_parse(text, &f->host[f->policy.nhost++]), 0);
}

static void render(struct fx *f)
{
	struct k8s_world w = {f->svcs,	  f->nsvcs, f->slices,
			      f->nslices, f->eps,   f->neps};
	struct k8s_render_opts o = {"extlb.io/lb", f->default_class, f->pools,
				    f->npools,	   f->policy,	     NULL};

	assert_int_equal(k8s_render(&w, &o, &f->plan), 0);
	assert_non_null(f->plan.text);
}

static void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->nsvcs; i++)
		k8s_service_free(f->svcs[i]);
	for (size_t i = 0; i < f->nslices; i++)
		k8s_epset_free(f->slices[i]);
	for (size_t i = 0; i < f->neps; i++)
		k8s_epset_free(f->eps[i]);
	k8s_plan_free(&f->plan);
}

/* Counts the annotations checkopts.c refuses. */
static void count_bad(void *arg, const char *key, const char *value,
		      const char *why)
{
	(void)key;
	(void)value;
	(void)why;
	(*(int *)arg)++;
}

/* How many times needle is in hay. */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The notices, "Reason: message" one a line, for comparing in full. */
static char *notices(const struct fx *f)
{
	static char buf[4096];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < f->plan.nnotices; i++)
		off += snprintf(
		    buf + off, sizeof(buf) - off, "%s/%s %s: %s\n",
		    f->plan.notices[i].svc->ns, f->plan.notices[i].svc->name,
		    f->plan.notices[i].reason, f->plan.notices[i].msg);
	return buf;
}

/* The warnings, one a line, for comparing in full. */
static char *warnings(const struct fx *f)
{
	static char buf[4096];
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < f->plan.nwarnings; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s\n",
				f->plan.warnings[i]);
	return buf;
}

#define HEADER                                                                 \
	"# Written by extlb-k8s from the Kubernetes API: do not edit,\n"       \
	"# it is rewritten whenever the cluster changes.\n"

/* A LoadBalancer Service of our class: NAME, then the rest of its spec
 * and any top-level members (metadata is closed by the macro). */
#define SVC(name, meta, spec, rest)                                            \
	"{'metadata':{'namespace':'default','name':'" name "'" meta "},"       \
	"'spec':{'type':'LoadBalancer','loadBalancerClass':'extlb.io/lb'" spec \
	"}" rest "}"

#define SEED_SVC                                                               \
	SVC("ext-tcp-lb", "",                                                  \
	    ",'ports':[{'port':8000,'targetPort':80,'protocol':'TCP'}]", "")

#define SEED_EPS                                                               \
	"{'metadata':{'namespace':'default','name':'ext-tcp-lb'},"             \
	"'subsets':[{'addresses':[{'ip':'192.0.2.10'}],"                       \
	"'ports':[{'port':80,'protocol':'TCP'}]}]}"

/* ---- the seed case ------------------------------------------------------ */

static void test_seed_manual_endpoints(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SEED_SVC);
	add_eps(&f, SEED_EPS);
	add_pool(&f, "192.0.2.100-192.0.2.110");
	render(&f);
	assert_string_equal(f.plan.text, HEADER
			    "virtual_services = (\n"
			    "  {\n"
			    "    name = \"default/ext-tcp-lb:8000\";\n"
			    "    vip = \"192.0.2.100\";\n"
			    "    port = 8000;\n"
			    "    protocol = \"tcp\";\n"
			    "    real_servers = (\n"
			    "      { address = \"192.0.2.10\"; port = 80; "
			    "weight = 1; }\n"
			    "    );\n"
			    "  }\n"
			    ");\n");
	assert_int_equal(f.plan.nselected, 1);
	assert_int_equal(f.plan.nvs, 1);
	assert_int_equal(f.plan.npublish, 1);
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.100");
	assert_string_equal(f.plan.publish[0].svc->name, "ext-tcp-lb");
	assert_true(f.plan.publish[0].changed);
	assert_string_equal(warnings(&f), "");
	fx_free(&f);
}

/* The VIP the status shows is kept (a restart moves nothing), and a status
 * that already shows it needs no update. */
static void test_status_vip_recovered(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("ext-tcp-lb", "",
			",'ports':[{'port':8000,'protocol':'TCP'}]",
			",'status':{'loadBalancer':{'ingress':"
			"[{'ip':'192.0.2.107','ipMode':'Proxy'}]}}"));
	add_eps(&f, SEED_EPS);
	add_pool(&f, "192.0.2.100-192.0.2.110");
	render(&f);
	assert_non_null(strstr(f.plan.text, "vip = \"192.0.2.107\";"));
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.107");
	assert_string_equal(f.plan.publish[0].ip_mode, "Proxy");
	assert_false(f.plan.publish[0].changed);
	assert_false(f.plan.publish[0].new_vip);
	fx_free(&f);
}

/* ipMode: Proxy for nat, VIP for dr and tun; an absent ipMode reads as
 * VIP (the API's default); --ip-mode overrides the forwarding method. */
static void test_ip_mode(void **state)
{
	struct fx f = {0};
	struct k8s_world w;
	struct k8s_render_opts o;

	(void)state;
	add_svc(&f, SVC("a-nat", "", ",'ports':[{'port':1}]",
			",'status':{'loadBalancer':{'ingress':"
			"[{'ip':'192.0.2.1'}]}}"));
	add_svc(&f, SVC("b-dr", ",'annotations':{'extlb.io/forward':'dr'}",
			",'ports':[{'port':1}]",
			",'status':{'loadBalancer':{'ingress':"
			"[{'ip':'192.0.2.2'}]}}"));
	add_svc(&f, SVC("c-tun", ",'annotations':{'extlb.io/forward':'tun'}",
			",'ports':[{'port':1}]",
			",'status':{'loadBalancer':{'ingress':"
			"[{'ip':'192.0.2.3','ipMode':'Proxy'}]}}"));
	add_svc(&f, SVC("d-new", "", ",'ports':[{'port':1}]", ""));
	add_pool(&f, "192.0.2.1-192.0.2.4");
	render(&f);
	assert_int_equal(f.plan.npublish, 4);
	assert_string_equal(f.plan.publish[0].ip_mode, "Proxy");
	assert_true(f.plan.publish[0].changed);
	assert_false(f.plan.publish[0].new_vip);
	assert_string_equal(f.plan.publish[1].ip_mode, "VIP");
	assert_false(f.plan.publish[1].changed);
	assert_string_equal(f.plan.publish[2].ip_mode, "VIP");
	assert_true(f.plan.publish[2].changed);
	assert_false(f.plan.publish[2].new_vip);
	assert_string_equal(f.plan.publish[3].ip_mode, "Proxy");
	assert_true(f.plan.publish[3].new_vip);
	k8s_plan_free(&f.plan);

	w = (struct k8s_world){f.svcs, f.nsvcs, NULL, 0, NULL, 0};
	o = (struct k8s_render_opts){"extlb.io/lb", false,    f.pools,
				     f.npools,	    f.policy, "VIP"};
	assert_int_equal(k8s_render(&w, &o, &f.plan), 0);
	assert_string_equal(f.plan.publish[0].ip_mode, "VIP");
	assert_false(f.plan.publish[0].changed);
	assert_string_equal(f.plan.publish[1].ip_mode, "VIP");
	fx_free(&f);
}

static void test_no_services_is_an_empty_list(void **state)
{
	struct fx f = {0};

	(void)state;
	render(&f);
	assert_string_equal(f.plan.text, HEADER "virtual_services = ( );\n");
	assert_int_equal(f.plan.nvs, 0);
	fx_free(&f);
}

/* No endpoints at all: the VIP stays configured, with no real server. */
static void test_service_without_endpoints(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SEED_SVC);
	add_pool(&f, "192.0.2.100/32");
	render(&f);
	assert_string_equal(f.plan.text,
			    HEADER "virtual_services = (\n"
				   "  {\n"
				   "    name = \"default/ext-tcp-lb:8000\";\n"
				   "    vip = \"192.0.2.100\";\n"
				   "    port = 8000;\n"
				   "    protocol = \"tcp\";\n"
				   "    real_servers = ( );\n"
				   "  }\n"
				   ");\n");
	fx_free(&f);
}

/* ---- selection ---------------------------------------------------------- */

static void test_selection_by_type_and_class(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SEED_SVC);
	add_svc(&f, "{'metadata':{'namespace':'default','name':'other'},"
		    "'spec':{'type':'LoadBalancer','loadBalancerClass':"
		    "'metallb','ports':[{'port':1}]}}");
	add_svc(&f, "{'metadata':{'namespace':'default','name':'noclass'},"
		    "'spec':{'type':'LoadBalancer','ports':[{'port':2}]}}");
	add_svc(&f, "{'metadata':{'namespace':'default','name':'cip'},"
		    "'spec':{'type':'ClusterIP','loadBalancerClass':"
		    "'extlb.io/lb','ports':[{'port':3}]}}");
	add_pool(&f, "192.0.2.0/24");
	render(&f);
	assert_int_equal(f.plan.nselected, 1);
	assert_non_null(strstr(f.plan.text, "default/ext-tcp-lb:8000"));
	assert_null(strstr(f.plan.text, "noclass"));
	k8s_plan_free(&f.plan);

	f.default_class = true;
	render(&f);
	assert_int_equal(f.plan.nselected, 2);
	assert_non_null(strstr(f.plan.text, "default/noclass:2"));
	assert_null(strstr(f.plan.text, "other"));
	assert_null(strstr(f.plan.text, "cip"));
	fx_free(&f);
}

/* ---- endpoints ---------------------------------------------------------- */

#define SLICE(name, svc, eps, ports)                                           \
	"{'metadata':{'namespace':'default','name':'" name "',"                \
	"'labels':{'kubernetes.io/service-name':'" svc "'}},"                  \
	"'addressType':'IPv4','endpoints':[" eps "],'ports':[" ports "]}"

#define WEB_SVC                                                                \
	SVC("web", "",                                                         \
	    ",'ports':[{'name':'http','port':80,'protocol':'TCP'}]", "")

/* The real_servers of the text, from "real_servers" to the end of line
 * of its closing parenthesis. */
static const char *reals(const struct fx *f)
{
	static char buf[2048];
	const char *s = strstr(f->plan.text, "real_servers");
	const char *e = s ? strstr(s, ");\n") : NULL;

	assert_non_null(e);
	snprintf(buf, sizeof(buf), "%.*s", (int)(e + 3 - s), s);
	return buf;
}

static void test_slices_union_and_dedup(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, WEB_SVC);
	add_slice(&f, SLICE("web-a", "web",
			    "{'addresses':['10.0.0.2']},"
			    "{'addresses':['10.0.0.1'],'conditions':"
			    "{'ready':true}}",
			    "{'name':'http','port':8080,'protocol':'TCP'}"));
	add_slice(&f, SLICE("web-b", "web",
			    "{'addresses':['10.0.0.1']},{'addresses':["
			    "'10.0.0.10']}",
			    "{'name':'http','port':8080}"));
	/* another Service's slice, and a slice with no service label */
	add_slice(&f, SLICE("db-a", "db", "{'addresses':['10.9.9.9']}",
			    "{'name':'http','port':8080}"));
	add_slice(&f, "{'metadata':{'namespace':'default','name':'x'},"
		      "'addressType':'IPv4','endpoints':[{'addresses':"
		      "['10.8.8.8']}],'ports':[{'name':'http','port':1}]}");
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(reals(&f),
			    "real_servers = (\n"
			    "      { address = \"10.0.0.1\"; port = 8080; "
			    "weight = 1; },\n"
			    "      { address = \"10.0.0.2\"; port = 8080; "
			    "weight = 1; },\n"
			    "      { address = \"10.0.0.10\"; port = 8080; "
			    "weight = 1; }\n"
			    "    );\n");
	fx_free(&f);
}

static void test_not_ready_excluded(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, WEB_SVC);
	add_slice(&f, SLICE("web-a", "web",
			    "{'addresses':['10.0.0.1'],'conditions':{'ready':"
			    "false}},"
			    "{'addresses':['10.0.0.2'],'conditions':{'ready':"
			    "false,'serving':false,'terminating':true}},"
			    "{'addresses':['10.0.0.3'],'conditions':{'ready':"
			    "false,'serving':true,'terminating':false}},"
			    "{'addresses':['10.0.0.4'],'conditions':{'ready':"
			    "null}},"
			    "{'addresses':['10.0.0.5'],'conditions':{}}",
			    "{'name':'http','port':80}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(reals(&f),
			    "real_servers = (\n"
			    "      { address = \"10.0.0.4\"; port = 80; "
			    "weight = 1; },\n"
			    "      { address = \"10.0.0.5\"; port = 80; "
			    "weight = 1; }\n"
			    "    );\n");
	fx_free(&f);
}

/* Serving and terminating endpoints are left out while the port has a
 * ready one (extlbd drains them as any removed real server), even when
 * the same address is ready in another slice. */
static void test_terminating_left_out_while_ready(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, WEB_SVC);
	add_slice(&f, SLICE("web-a", "web",
			    "{'addresses':['10.0.0.1'],'conditions':{'ready':"
			    "false,'serving':true,'terminating':true}},"
			    "{'addresses':['10.0.0.2'],'conditions':{'ready':"
			    "false,'serving':true,'terminating':true}}",
			    "{'name':'http','port':80}"));
	add_slice(&f, SLICE("web-b", "web",
			    "{'addresses':['10.0.0.2'],'conditions':{'ready':"
			    "true}}",
			    "{'name':'http','port':80}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(reals(&f),
			    "real_servers = (\n"
			    "      { address = \"10.0.0.2\"; port = 80; "
			    "weight = 1; }\n"
			    "    );\n");
	fx_free(&f);
}

/* No ready endpoint on a port: its serving-and-terminating ones take the
 * traffic at full weight (kube-proxy's rule), per port: the other port,
 * which has a ready endpoint, keeps only that one.  An absent serving
 * reads as true; not serving is never used. */
static void test_terminating_stand_in(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web", "",
			",'ports':[{'name':'http','port':80},"
			"{'name':'https','port':443}]",
			""));
	add_slice(&f, SLICE("web-a", "web",
			    "{'addresses':['10.0.0.1'],'conditions':{'ready':"
			    "false,'serving':true,'terminating':true}},"
			    "{'addresses':['10.0.0.2'],'conditions':{'ready':"
			    "false,'terminating':true}},"
			    "{'addresses':['10.0.0.3'],'conditions':{'ready':"
			    "false,'serving':false,'terminating':true}}",
			    "{'name':'http','port':8080},"
			    "{'name':'https','port':8443}"));
	add_slice(&f, SLICE("web-b", "web", "{'addresses':['10.0.0.4']}",
			    "{'name':'https','port':8443}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_non_null(strstr(f.plan.text,
			       "port = 80;\n"
			       "    protocol = \"tcp\";\n"
			       "    real_servers = (\n"
			       "      { address = \"10.0.0.1\"; port = 8080; "
			       "weight = 1; },\n"
			       "      { address = \"10.0.0.2\"; port = 8080; "
			       "weight = 1; }\n"
			       "    );\n"));
	assert_non_null(strstr(f.plan.text,
			       "port = 443;\n"
			       "    protocol = \"tcp\";\n"
			       "    real_servers = (\n"
			       "      { address = \"10.0.0.4\"; port = 8443; "
			       "weight = 1; }\n"
			       "    );\n"));
	fx_free(&f);
}

/* With any EndpointSlice for a Service, its Endpoints are not read. */
static void test_slices_win_over_endpoints(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SEED_SVC);
	add_eps(&f, SEED_EPS);
	add_slice(&f, SLICE("ext-tcp-lb-x", "ext-tcp-lb",
			    "{'addresses':['192.0.2.20']}", "{'port':80}"));
	add_pool(&f, "192.0.2.100");
	render(&f);
	assert_string_equal(reals(&f),
			    "real_servers = (\n"
			    "      { address = \"192.0.2.20\"; port = 80; "
			    "weight = 1; }\n"
			    "    );\n");
	fx_free(&f);
}

/* v1 Endpoints: addresses x ports per subset; notReadyAddresses take no
 * traffic. */
static void test_endpoints_subsets(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SEED_SVC);
	add_eps(&f, "{'metadata':{'namespace':'default','name':'ext-tcp-lb'},"
		    "'subsets':[{'addresses':[{'ip':'192.0.2.11'},"
		    "{'ip':'192.0.2.10'}],'notReadyAddresses':[{'ip':"
		    "'192.0.2.12'}],'ports':[{'port':80}]},"
		    "{'addresses':[{'ip':'192.0.2.13'}],'ports':[{'port':81,"
		    "'protocol':'TCP'}]}]}");
	add_pool(&f, "192.0.2.100");
	render(&f);
	/* the second subset's port has no name, like the service's, so its
	 * address serves too, on its own port */
	assert_string_equal(reals(&f),
			    "real_servers = (\n"
			    "      { address = \"192.0.2.10\"; port = 80; "
			    "weight = 1; },\n"
			    "      { address = \"192.0.2.11\"; port = 80; "
			    "weight = 1; },\n"
			    "      { address = \"192.0.2.13\"; port = 81; "
			    "weight = 1; }\n"
			    "    );\n");
	fx_free(&f);
}

/* ---- ports -------------------------------------------------------------- */

/* Two named Service ports: each takes the endpoint port of its name; a
 * one-port slice does not serve a two-port Service by elimination. */
static void test_named_ports(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("multi", "",
			",'ports':[{'name':'http','port':80},"
			"{'name':'dns','port':53,'protocol':'UDP'}]",
			""));
	add_slice(&f, SLICE("multi-a", "multi", "{'addresses':['10.0.0.1']}",
			    "{'name':'dns','port':5353,'protocol':'UDP'},"
			    "{'name':'http','port':8080,'protocol':'TCP'},"
			    "{'name':'metrics','port':9090}"));
	add_slice(&f, SLICE("multi-b", "multi", "{'addresses':['10.0.0.2']}",
			    "{'port':7777}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(f.plan.text, HEADER
			    "virtual_services = (\n"
			    "  {\n"
			    "    name = \"default/multi:dns\";\n"
			    "    vip = \"192.0.2.1\";\n"
			    "    port = 53;\n"
			    "    protocol = \"udp\";\n"
			    "    check = { type = \"none\"; };\n"
			    "    real_servers = (\n"
			    "      { address = \"10.0.0.1\"; port = 5353; "
			    "weight = 1; }\n"
			    "    );\n"
			    "  },\n"
			    "  {\n"
			    "    name = \"default/multi:http\";\n"
			    "    vip = \"192.0.2.1\";\n"
			    "    port = 80;\n"
			    "    protocol = \"tcp\";\n"
			    "    real_servers = (\n"
			    "      { address = \"10.0.0.1\"; port = 8080; "
			    "weight = 1; }\n"
			    "    );\n"
			    "  }\n"
			    ");\n");
	fx_free(&f);
}

/* A one-port Service takes the only port of a set whatever its name (hand
 * written Endpoints often name it differently); the protocol must agree. */
static void test_only_port_matches_any_name(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, WEB_SVC);
	add_slice(&f, SLICE("web-a", "web", "{'addresses':['10.0.0.1']}",
			    "{'name':'web','port':8080}"));
	add_slice(&f, SLICE("web-b", "web", "{'addresses':['10.0.0.2']}",
			    "{'port':8081,'protocol':'UDP'}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(reals(&f),
			    "real_servers = (\n"
			    "      { address = \"10.0.0.1\"; port = 8080; "
			    "weight = 1; }\n"
			    "    );\n");
	fx_free(&f);
}

static void test_sctp(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("sig", "", ",'ports':[{'port':3868,'protocol':'SCTP'}]",
			""));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_non_null(strstr(f.plan.text, "    name = \"default/sig:3868\";\n"
					    "    vip = \"192.0.2.1\";\n"
					    "    port = 3868;\n"
					    "    protocol = \"sctp\";\n"));
	fx_free(&f);
}

/* ---- affinity and annotations ------------------------------------------ */

static void test_session_affinity(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f,
		SVC("a", "",
		    ",'sessionAffinity':'ClientIP','sessionAffinityConfig':"
		    "{'clientIP':{'timeoutSeconds':600}},'ports':[{'port':1}]",
		    ""));
	add_svc(&f,
		SVC("b", "",
		    ",'sessionAffinity':'ClientIP','ports':[{'port':1}]", ""));
	add_svc(&f, SVC("c", "",
			",'sessionAffinity':'None','ports':[{'port':1}]", ""));
	add_pool(&f, "192.0.2.1-192.0.2.3");
	render(&f);
	assert_non_null(strstr(f.plan.text,
			       "\"default/a:1\";\n"
			       "    vip = \"192.0.2.1\";\n"
			       "    port = 1;\n"
			       "    protocol = \"tcp\";\n"
			       "    persistence_timeout = 600;\n"));
	assert_non_null(strstr(f.plan.text,
			       "\"default/b:1\";\n"
			       "    vip = \"192.0.2.2\";\n"
			       "    port = 1;\n"
			       "    protocol = \"tcp\";\n"
			       "    persistence_timeout = 10800;\n"));
	assert_non_null(strstr(f.plan.text, "\"default/c:1\";\n"
					    "    vip = \"192.0.2.3\";\n"
					    "    port = 1;\n"
					    "    protocol = \"tcp\";\n"
					    "    real_servers"));
	fx_free(&f);
}

static void test_annotations_valid(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web",
			",'annotations':{'extlb.io/scheduler':'mh',"
			"'extlb.io/forward':'dr','extlb.io/check':'http',"
			"'extlb.io/check-path':'/healthz','other':'x'}",
			",'ports':[{'name':'http','port':80}]", ""));
	add_slice(&f, SLICE("web-a", "web", "{'addresses':['10.0.0.1']}",
			    "{'name':'http','port':80}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(f.plan.text,
			    HEADER "virtual_services = (\n"
				   "  {\n"
				   "    name = \"default/web:http\";\n"
				   "    vip = \"192.0.2.1\";\n"
				   "    port = 80;\n"
				   "    protocol = \"tcp\";\n"
				   "    scheduler = \"mh\";\n"
				   "    forward = \"dr\";\n"
				   "    check = { type = \"http\"; path = "
				   "\"/healthz\"; };\n"
				   "    real_servers = (\n"
				   "      { address = \"10.0.0.1\"; port = 80; "
				   "weight = 1; }\n"
				   "    );\n"
				   "  }\n"
				   ");\n");
	assert_string_equal(warnings(&f), "");
	fx_free(&f);
}

static void test_annotations_invalid_fall_back(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web",
			",'annotations':{'extlb.io/scheduler':'Round Robin',"
			"'extlb.io/forward':'snat','extlb.io/check':'script',"
			"'extlb.io/check-path':'/x'}",
			",'ports':[{'name':'http','port':80}]", ""));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_string_equal(f.plan.text,
			    HEADER "virtual_services = (\n"
				   "  {\n"
				   "    name = \"default/web:http\";\n"
				   "    vip = \"192.0.2.1\";\n"
				   "    port = 80;\n"
				   "    protocol = \"tcp\";\n"
				   "    real_servers = ( );\n"
				   "  }\n"
				   ");\n");
	assert_string_equal(warnings(&f), "");
	assert_string_equal(
	    notices(&f),
	    "default/web InvalidAnnotation: extlb.io/scheduler \"Round "
	    "Robin\" is not a scheduler name (1-15 of a-z, 0-9, _); using "
	    "the default\n"
	    "default/web InvalidAnnotation: extlb.io/forward \"snat\" is not "
	    "nat, dr or tun; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check \"script\" is "
	    "refused: a Service may not ask for a script check, which runs "
	    "commands on the load balancer; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-path is ignored: "
	    "no port has an http or https check (extlb.io/check, or "
	    "appProtocol)\n");
	fx_free(&f);
}

/* The check follows the port: a UDP or SCTP port never inherits extlbd's
 * TCP check (none, or udp when annotated); appProtocol http or https
 * picks that check for a TCP port the annotation does not cover; path
 * and status go only where an http check reads them. */
static void test_check_per_port(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("a", ",'annotations':{'extlb.io/check-path':'/h'}",
			",'ports':[{'name':'web','port':80,'appProtocol':"
			"'http'},{'name':'tls','port':443,'appProtocol':"
			"'https'},{'name':'h2','port':81,'appProtocol':"
			"'kubernetes.io/h2c'},{'name':'dns','port':53,"
			"'protocol':'UDP'},{'name':'sig','port':9,"
			"'protocol':'SCTP'}]",
			""));
	add_svc(&f, SVC("b",
			",'annotations':{'extlb.io/check':'udp',"
			"'extlb.io/check-expect':'pong'}",
			",'ports':[{'name':'dns','port':53,'protocol':'UDP'},"
			"{'name':'dnstcp','port':53,'appProtocol':'http'}]",
			""));
	add_svc(&f, SVC("c", ",'annotations':{'extlb.io/check':'tcp'}",
			",'ports':[{'name':'dns','port':53,'protocol':'UDP'},"
			"{'name':'web','port':80,'appProtocol':'https'}]",
			""));
	add_pool(&f, "192.0.2.1-192.0.2.3");
	render(&f);
#define CHECK_OF(vs, line)                                                     \
	assert_non_null(strstr(f.plan.text, "\"default/" vs "\";"));           \
	assert_non_null(strstr(strstr(f.plan.text, "\"default/" vs "\";"),     \
			       line "    real_servers"))
	CHECK_OF("a:web", "check = { type = \"http\"; path = \"/h\"; };\n");
	CHECK_OF("a:tls", "check = { type = \"https\"; path = \"/h\"; };\n");
	CHECK_OF("a:h2", "protocol = \"tcp\";\n");
	CHECK_OF("a:dns", "check = { type = \"none\"; };\n");
	CHECK_OF("a:sig", "check = { type = \"none\"; };\n");
	CHECK_OF("b:dns", "check = { type = \"udp\"; expect = \"pong\"; };\n");
	CHECK_OF("b:dnstcp",
		 "check = { type = \"http\"; expect = \"pong\"; };\n");
	CHECK_OF("c:dns", "check = { type = \"none\"; };\n");
	CHECK_OF("c:web", "check = { type = \"tcp\"; };\n");
#undef CHECK_OF
	assert_string_equal(notices(&f), "");
	fx_free(&f);
}

/* Every check annotation, valid: the whole group written. */
static void test_check_annotations_all(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web",
			",'annotations':{'extlb.io/check':'https',"
			"'extlb.io/check-port':'8443',"
			"'extlb.io/check-interval':'5',"
			"'extlb.io/check-timeout':'0.25',"
			"'extlb.io/check-rise':'1','extlb.io/check-fall':'10',"
			"'extlb.io/check-path':'/healthz?full=1',"
			"'extlb.io/check-status':'200-299, 404,301',"
			"'extlb.io/check-expect':'ok \\\\ \\\"x\\\"'}",
			",'ports':[{'port':443}]", ""));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_non_null(strstr(
	    f.plan.text,
	    "    check = { type = \"https\"; connect_port = 8443; "
	    "interval = 5; timeout = 0.25; rise = 1; fall = 10; "
	    "path = \"/healthz?full=1\"; status = ( \"200-299\", \"404\", "
	    "\"301\" ); expect = \"ok \\\\ \\\"x\\\"\"; };\n"));
	assert_string_equal(notices(&f), "");
	assert_string_equal(warnings(&f), "");
	fx_free(&f);
}

/* Each invalid value: an InvalidAnnotation notice naming it and why,
 * that key left at extlbd's default, the Service served. */
static void test_check_annotations_invalid(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f,
		SVC("web",
		    ",'annotations':{'extlb.io/check':'HTTP',"
		    "'extlb.io/check-port':'0',"
		    "'extlb.io/check-interval':'1e3',"
		    "'extlb.io/check-timeout':'86401',"
		    "'extlb.io/check-rise':'1001','extlb.io/check-fall':'-1',"
		    "'extlb.io/check-path':'healthz',"
		    "'extlb.io/check-status':'200-199'}",
		    ",'ports':[{'port':80,'appProtocol':'http'}]", ""));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_non_null(strstr(f.plan.text,
			       "    check = { type = \"http\"; };\n"
			       "    real_servers"));
	assert_string_equal(
	    notices(&f),
	    "default/web InvalidAnnotation: extlb.io/check \"HTTP\" is not "
	    "one of \"tcp\", \"http\", \"https\", \"udp\", \"script\", "
	    "\"none\"; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-port \"0\" is out "
	    "of range 1-65535; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-interval \"1e3\" "
	    "is not a number of seconds in plain decimal, like 5 or 0.25; "
	    "using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-timeout \"86401\" "
	    "is out of range: must be more than 0 and at most 86400 seconds; "
	    "using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-rise \"1001\" is "
	    "out of range 1-1000; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-fall \"-1\" is not "
	    "a whole number in plain decimal; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-path \"healthz\" "
	    "must start with \"/\" and have no spaces or control "
	    "characters; using the default\n"
	    "default/web InvalidAnnotation: extlb.io/check-status "
	    "\"200-199\" is not a status code or a range of codes like "
	    "\"200-299\" (100-599); using the default\n");
	fx_free(&f);
}

/* extlbd's status rules: at most 16 entries, 100-599, ranges low first;
 * blanks around entries are fine, empty entries are not. */
static void test_check_status_rules(void **state)
{
	static const struct {
		const char *in;
		size_t n; /* 0: refused */
	} cases[] = {
	    {"200", 1},
	    {" 200 , 300-399 ", 2},
	    {"100-599", 1},
	    {"1,2", 0},
	    {"600", 0},
	    {"099", 0},
	    {"200-", 0},
	    {"200,,300", 0},
	    {"", 0},
	    {"2000", 0},
	    {"200 300", 0},
	    {"200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,"
	     "215",
	     16},
	    {"200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,"
	     "215,216",
	     0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k8s_annotations a = {0};
		struct k8s_checkopts o;
		int bad = 0;

		a.check_status = (char *)cases[i].in;
		k8s_checkopts_parse(&a, &o, count_bad, &bad);
		if (o.nstatus != cases[i].n || bad != !cases[i].n)
			fail_msg("status \"%s\": %zu entries, %d refusals",
				 cases[i].in, o.nstatus, bad);
	}
}

static void keep_why(void *arg, const char *key, const char *value,
		     const char *why)
{
	(void)key;
	(void)value;
	snprintf(arg, 160, "%s", why);
}

/* The words are extlbd's own rule's; in a list, the entry is named. */
static void test_check_status_entry_why(void **state)
{
	struct k8s_annotations a = {0};
	struct k8s_checkopts o;
	char why[160] = "";

	(void)state;
	a.check_status = (char *)"200, 99";
	k8s_checkopts_parse(&a, &o, keep_why, why);
	assert_string_equal(why, "has an entry \"99\" that is not a status "
				 "code or a range of codes like \"200-299\" "
				 "(100-599)");
	assert_int_equal(o.nstatus, 0);
}

/* Direct routing cannot change the port: endpoints on another port are
 * left out (extlbd would refuse the whole file), with a warning. */
static void test_dr_needs_same_port(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web", ",'annotations':{'extlb.io/forward':'dr'}",
			",'ports':[{'name':'http','port':80}]", ""));
	add_slice(&f, SLICE("web-a", "web",
			    "{'addresses':['10.0.0.1']},{'addresses':["
			    "'10.0.0.2']}",
			    "{'name':'http','port':8080}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_non_null(strstr(f.plan.text, "real_servers = ( );"));
	assert_string_equal(warnings(&f), "");
	assert_string_equal(notices(&f),
			    "default/web TargetPortMismatch: port http "
			    "(80/TCP): 2 endpoint(s) left out: forward \"dr\" "
			    "needs the endpoints on the service port 80 "
			    "(targetPort must equal port)\n");
	fx_free(&f);
}

/* A port no endpoint port matches is written without real servers, and
 * its owner told why; a port of a Service without any endpoint is not
 * worth a word (its pods are not up yet).  FQDN slices are ignored, and
 * said to be. */
static void test_port_unmatched_and_fqdn(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web", "",
			",'ports':[{'name':'http','port':80},"
			"{'name':'dns','port':53,'protocol':'UDP'},"
			"{'port':9,'protocol':'SCTP'}]",
			""));
	add_svc(&f, SVC("empty", "", ",'ports':[{'port':80}]", ""));
	add_slice(&f, SLICE("web-a", "web", "{'addresses':['10.0.0.1']}",
			    "{'name':'http','port':8080},"
			    "{'name':'dns','port':53}"));
	add_slice(&f, "{'metadata':{'namespace':'default','name':'web-f',"
		      "'labels':{'kubernetes.io/service-name':'web'}},"
		      "'addressType':'FQDN','endpoints':[{'addresses':"
		      "['db.example']}],'ports':[{'name':'http','port':80}]}");
	add_pool(&f, "192.0.2.1-192.0.2.2");
	render(&f);
	assert_string_equal(notices(&f),
			    "default/web FQDNIgnored: EndpointSlice web-f has "
			    "addressType FQDN, which IPVS cannot use: ignored\n"
			    "default/web PortUnmatched: port dns (53/UDP): no "
			    "endpoint port has its name and protocol, so it "
			    "has no real server\n"
			    "default/web PortUnmatched: port 9/SCTP: no "
			    "endpoint port has its name and protocol, so it "
			    "has no real server\n");
	assert_string_equal(warnings(&f), "");
	fx_free(&f);
}

/* A name with a quote and a backslash cannot break out of its string
 * (names the API server validates never have them; proxies and test
 * doubles might).  Control characters are refused by the parser, since
 * extlbd takes names on one line only. */
static void test_strings_escaped(void **state)
{
	struct fx f = {0};
	json_object *j;
	struct k8s_service *s;
	char why[256];

	(void)state;
	/* namespace n\s, name a"b\c */
	add_svc(&f, "{'metadata':{'namespace':'n\\\\s','name':'a\\\"b\\\\c'},"
		    "'spec':{'type':'LoadBalancer','loadBalancerClass':"
		    "'extlb.io/lb','ports':[{'name':'p','port':1}]}}");
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_non_null(
	    strstr(f.plan.text, "    name = \"n\\\\s/a\\\"b\\\\c:p\";\n"));
	fx_free(&f);

	j = json("{'metadata':{'namespace':'n','name':'a'},'spec':{'type':"
		 "'LoadBalancer','ports':[{'name':'p\\tq','port':1}]}}");
	assert_int_equal(k8s_service_parse(j, &s, why, sizeof(why)), -1);
	assert_string_equal(why, "spec.ports[0].name: control characters");
	json_object_put(j);
}

/* ---- VIPs --------------------------------------------------------------- */

/* extlb.io/vip wins over spec.loadBalancerIP; outside the pools, an
 * --allow-vip range lets them in. */
static void test_explicit_vips(void **state)
{
	struct fx f = {0};

	(void)state;
	allow_vip(&f, "198.51.100.0/24");
	add_svc(&f, SVC("a", ",'annotations':{'extlb.io/vip':'198.51.100.7'}",
			",'loadBalancerIP':'198.51.100.8','ports':[{'port':1}]",
			""));
	add_svc(&f, SVC("b", "",
			",'loadBalancerIP':'198.51.100.9','ports':[{'port':1}]",
			""));
	add_svc(&f, SVC("c", ",'annotations':{'extlb.io/vip':'bogus'}",
			",'ports':[{'port':1}]", ""));
	add_svc(&f,
		SVC("d", "", ",'loadBalancerIP':'','ports':[{'port':1}]", ""));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_int_equal(f.plan.npublish, 3);
	assert_string_equal(f.plan.publish[0].vip, "198.51.100.7");
	assert_string_equal(f.plan.publish[1].vip, "198.51.100.9");
	assert_string_equal(f.plan.publish[2].svc->name, "d");
	assert_string_equal(f.plan.publish[2].vip, "192.0.2.1");
	assert_string_equal(warnings(&f),
			    "Service default/c left out: annotation "
			    "extlb.io/vip \"bogus\" is not an IP address\n");
	assert_int_equal(f.plan.npending, 1);
	assert_string_equal(f.plan.pending[0].reason, "VIPRefused");
	fx_free(&f);
}

/* spec.ipFamilies[0] picks the pool; v4 endpoints of a v6 VIP are left
 * out (only tunnels mix families). */
static void test_ipv6_service(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web", "",
			",'ipFamilies':['IPv6'],'ports':[{'name':'http',"
			"'port':80}]",
			""));
	add_slice(&f, SLICE("web-4", "web", "{'addresses':['10.0.0.1']}",
			    "{'name':'http','port':80}"));
	add_slice(&f, "{'metadata':{'namespace':'default','name':'web-6',"
		      "'labels':{'kubernetes.io/service-name':'web'}},"
		      "'addressType':'IPv6','endpoints':[{'addresses':"
		      "['2001:db8:1:0::0:5']}],'ports':[{'name':'http',"
		      "'port':80}]}");
	add_pool(&f, "192.0.2.0/30");
	add_pool(&f, "2001:db8::/64");
	render(&f);
	assert_string_equal(f.plan.text, HEADER
			    "virtual_services = (\n"
			    "  {\n"
			    "    name = \"default/web:http\";\n"
			    "    vip = \"2001:db8::\";\n"
			    "    port = 80;\n"
			    "    protocol = \"tcp\";\n"
			    "    real_servers = (\n"
			    "      { address = \"2001:db8:1::5\"; port = "
			    "80; weight = 1; }\n"
			    "    );\n"
			    "  }\n"
			    ");\n");
	fx_free(&f);
}

/* Two Services with one sharing key share a VIP; on one port, the second
 * by name (neither holds it, neither is older) is left out whole, pending,
 * rather than break extlbd's file. */
static void test_shared_vip(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("dns-tcp",
			",'annotations':{'extlb.io/allow-shared-vip':'dns'}",
			",'ports':[{'port':53,'protocol':'TCP'}]", ""));
	add_svc(&f, SVC("dns-udp",
			",'annotations':{'extlb.io/allow-shared-vip':'dns'}",
			",'ports':[{'port':53,'protocol':'UDP'}]", ""));
	add_svc(&f, SVC("dns-zudp",
			",'annotations':{'extlb.io/allow-shared-vip':'dns'}",
			",'ports':[{'port':53,'protocol':'UDP'}]", ""));
	add_svc(&f, SVC("web", "", ",'ports':[{'port':80}]", ""));
	add_pool(&f, "192.0.2.1-192.0.2.9");
	render(&f);
	assert_int_equal(f.plan.npublish, 3);
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.1");
	assert_string_equal(f.plan.publish[1].vip, "192.0.2.1");
	assert_string_equal(f.plan.publish[2].vip, "192.0.2.2");
	assert_string_equal(f.plan.publish[2].svc->name, "web");
	assert_int_equal(f.plan.nvs, 3);
	assert_null(strstr(f.plan.text, "dns-zudp"));
	assert_string_equal(warnings(&f),
			    "Service default/dns-zudp left out: 192.0.2.1 port "
			    "53/udp is served by default/dns-udp already (a "
			    "shared VIP shares its address, not its ports)\n");
	assert_int_equal(f.plan.npending, 1);
	assert_string_equal(f.plan.pending[0].reason, "PortConflict");
	fx_free(&f);
}

static void test_pool_exhausted(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("a", "", ",'ports':[{'port':1}]", ""));
	add_svc(&f, SVC("b", "", ",'ports':[{'port':1}]", ""));
	add_svc(&f, SVC("c", "", ",'ports':[{'port':1}]", ""));
	add_pool(&f, "192.0.2.0/31");
	render(&f);
	assert_int_equal(f.plan.nselected, 3);
	assert_int_equal(f.plan.npublish, 2);
	assert_int_equal(f.plan.nvs, 2);
	assert_null(strstr(f.plan.text, "default/c"));
	assert_string_equal(warnings(&f),
			    "Service default/c left out: no free address left "
			    "in the VIP pools\n");
	/* the one pending, for its Event */
	assert_int_equal(f.plan.npending, 1);
	assert_string_equal(f.plan.pending[0].svc->name, "c");
	assert_string_equal(f.plan.pending[0].why,
			    "no free address left in the VIP pools");
	fx_free(&f);
}

/* The same objects in another order give the same bytes. */
static void test_output_independent_of_order(void **state)
{
	struct fx f = {0}, g = {0};

	(void)state;
	add_svc(&f, SVC("b", "", ",'ports':[{'port':2}]", ""));
	add_svc(&f, SVC("a", "", ",'ports':[{'port':1}]", ""));
	add_slice(
	    &f, SLICE("a-2", "a", "{'addresses':['10.0.0.2']}", "{'port':1}"));
	add_slice(
	    &f, SLICE("a-1", "a", "{'addresses':['10.0.0.1']}", "{'port':1}"));
	add_pool(&f, "192.0.2.0/24");
	add_svc(&g, SVC("a", "", ",'ports':[{'port':1}]", ""));
	add_svc(&g, SVC("b", "", ",'ports':[{'port':2}]", ""));
	add_slice(
	    &g, SLICE("a-1", "a", "{'addresses':['10.0.0.1']}", "{'port':1}"));
	add_slice(
	    &g, SLICE("a-2", "a", "{'addresses':['10.0.0.2']}", "{'port':1}"));
	add_pool(&g, "192.0.2.0/24");
	render(&f);
	render(&g);
	assert_string_equal(f.plan.text, g.plan.text);
	assert_non_null(strstr(f.plan.text, "\"default/a:1\";\n"
					    "    vip = \"192.0.2.0\";\n"));
	fx_free(&f);
	fx_free(&g);
}

/* ---- the trust boundary ------------------------------------------------- */

/* What the pending Service NAME's reason and message are. */
static void assert_pending(const struct fx *f, const char *name,
			   const char *reason, const char *why)
{
	for (size_t i = 0; i < f->plan.npending; i++) {
		if (strcmp(f->plan.pending[i].svc->name, name))
			continue;
		assert_string_equal(f->plan.pending[i].reason, reason);
		assert_string_equal(f->plan.pending[i].why, why);
		return;
	}
	fail_msg("%s is not pending", name);
}

#define VIP_SVC(name, vip)                                                     \
	SVC(name, ",'annotations':{'extlb.io/vip':'" vip "'}",                 \
	    ",'ports':[{'port':22}]", "")

/* Explicit VIPs of the special classes and of the host are refused, even
 * inside a pool as wide as 0.0.0.0/0: only --allow-vip names them. */
static void test_vip_refused_classes(void **state)
{
	static const char *const cases[][2] = {
	    {"lo", "127.0.0.1 is a loopback address"},
	    {"zero", "0.0.0.0 is an unspecified address"},
	    {"meta", "169.254.169.254 is a link-local address"},
	    {"lo6", "::1 is a loopback address"},
	    {"mcast", "224.0.0.1 is a multicast address"},
	    {"bcast", "255.255.255.255 is a broadcast address"},
	    {"ll6", "fe80::1 is a link-local address"},
	    {"mcast6", "ff02::1 is a multicast address"},
	    {"zero6", ":: is an unspecified address"},
	    {"mapped", "::ffff:127.0.0.1 is an IPv4-mapped address"},
	    {"host", "192.0.2.2 is an address of the load balancer's host"},
	};
	struct fx f = {0};
	char why[256];

	(void)state;
	add_svc(&f, VIP_SVC("lo", "127.0.0.1"));
	add_svc(&f, VIP_SVC("zero", "0.0.0.0"));
	add_svc(&f, VIP_SVC("meta", "169.254.169.254"));
	add_svc(&f, VIP_SVC("lo6", "::1"));
	add_svc(&f, VIP_SVC("mcast", "224.0.0.1"));
	add_svc(&f, VIP_SVC("bcast", "255.255.255.255"));
	add_svc(&f, VIP_SVC("ll6", "fe80::1"));
	add_svc(&f, VIP_SVC("mcast6", "ff02::1"));
	add_svc(&f, VIP_SVC("zero6", "::"));
	add_svc(&f, VIP_SVC("mapped", "::ffff:127.0.0.1"));
	add_svc(&f, VIP_SVC("host", "192.0.2.2"));
	add_pool(&f, "0.0.0.0/0");
	add_pool(&f, "::/0");
	host_addr(&f, "192.0.2.2");
	render(&f);
	assert_int_equal(f.plan.nselected, 11);
	assert_int_equal(f.plan.npublish, 0);
	assert_int_equal(f.plan.nvs, 0);
	assert_string_equal(f.plan.text, HEADER "virtual_services = ( );\n");
	assert_int_equal(f.plan.npending, 11);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(why, sizeof(why),
			 "annotation extlb.io/vip refused: %s (only "
			 "--allow-vip can allow it)",
			 cases[i][1]);
		assert_pending(&f, cases[i][0], "VIPRefused", why);
	}
	fx_free(&f);
}

/* Outside every range: refused; --allow-vip names a special address. */
static void test_vip_allow_list(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, VIP_SVC("lo", "127.0.0.1"));
	add_svc(&f, SVC("out", "",
			",'loadBalancerIP':'203.0.113.5','ports':[{'port':1}]",
			""));
	add_svc(&f, VIP_SVC("host", "192.0.2.2"));
	add_pool(&f, "192.0.2.100-192.0.2.110");
	allow_vip(&f, "127.0.0.1");
	allow_vip(&f, "192.0.2.0/24");
	host_addr(&f, "192.0.2.2");
	render(&f);
	assert_int_equal(f.plan.npublish, 2);
	assert_string_equal(f.plan.publish[0].vip, "127.0.0.1");
	assert_string_equal(f.plan.publish[1].svc->name, "host");
	assert_string_equal(f.plan.publish[1].vip, "192.0.2.2");
	assert_pending(&f, "out", "VIPRefused",
		       "spec.loadBalancerIP refused: 203.0.113.5 is in no "
		       "--vip-pool or --allow-vip range");
	fx_free(&f);
}

/* A pending Service whose status showed another VIP is pending still,
 * and its status is for sync.c to clear: the plan does not publish it. */
static void test_vip_refused_after_serving(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("a", ",'annotations':{'extlb.io/vip':'127.0.0.1'}",
			",'ports':[{'port':22}]",
			",'status':{'loadBalancer':{'ingress':[{'ip':"
			"'192.0.2.100'}]}}"));
	add_pool(&f, "192.0.2.100-192.0.2.110");
	render(&f);
	assert_int_equal(f.plan.npublish, 0);
	assert_int_equal(f.plan.npending, 1);
	assert_int_equal(f.plan.pending[0].svc->ningress, 1);
	assert_string_equal(f.plan.pending[0].reason, "VIPRefused");
	fx_free(&f);
}

/* Endpoints of the special classes are left out, the Service served, and
 * a notice names them; --allow-backend narrows what is taken. */
static void test_backend_refused(void **state)
{
	struct fx f = {0}, g = {0};

	(void)state;
	add_svc(&f, WEB_SVC);
	add_slice(&f, SLICE("web-1", "web",
			    "{'addresses':['10.0.0.1']},"
			    "{'addresses':['169.254.169.254']},"
			    "{'addresses':['127.0.0.1']}",
			    "{'name':'http','port':80}"));
	add_pool(&f, "192.0.2.1");
	render(&f);
	assert_int_equal(f.plan.npublish, 1);
	assert_non_null(strstr(f.plan.text, "10.0.0.1"));
	assert_null(strstr(f.plan.text, "169.254"));
	assert_null(strstr(f.plan.text, "127.0.0.1"));
	assert_int_equal(f.plan.nnotices, 1);
	assert_string_equal(f.plan.notices[0].reason, "BackendRefused");
	assert_string_equal(
	    f.plan.notices[0].msg,
	    "2 endpoint(s) left out: 127.0.0.1 is a loopback address (only "
	    "--allow-backend can allow it); 169.254.169.254 is a link-local "
	    "address (only --allow-backend can allow it)");
	fx_free(&f);

	add_svc(&g, WEB_SVC);
	add_slice(&g, SLICE("web-1", "web",
			    "{'addresses':['10.0.0.1']},"
			    "{'addresses':['198.51.100.1']},"
			    "{'addresses':['127.0.0.1']}",
			    "{'name':'http','port':80}"));
	add_pool(&g, "192.0.2.1");
	allow_backend(&g, "10.0.0.0/8");
	allow_backend(&g, "127.0.0.1");
	render(&g);
	assert_non_null(strstr(g.plan.text, "10.0.0.1"));
	assert_non_null(strstr(g.plan.text, "127.0.0.1"));
	assert_null(strstr(g.plan.text, "198.51.100.1"));
	assert_int_equal(g.plan.nnotices, 1);
	assert_string_equal(g.plan.notices[0].msg,
			    "1 endpoint(s) left out: 198.51.100.1 is in no "
			    "--allow-backend range");
	fx_free(&g);
}

#define SHARED(name, meta, port, rest)                                         \
	SVC(name, ",'annotations':{'extlb.io/allow-shared-vip':'k'}" meta,     \
	    ",'ports':[{'port':" port "}]", rest)
#define SHOWS(ip) ",'status':{'loadBalancer':{'ingress':[{'ip':'" ip "'}]}}"

/* A port clash on a shared VIP: the Service whose status shows the VIP
 * keeps the port, even against an older or first-named newcomer; between
 * two newcomers the older wins.  The loser is out whole. */
static void test_port_clash_keeps_holder(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SHARED("a-new",
			   ",'creationTimestamp':"
			   "'2020-01-01T00:00:00Z'",
			   "80},{'name':'x','port':81", ""));
	add_svc(&f, SHARED("z-holder",
			   ",'creationTimestamp':"
			   "'2026-01-01T00:00:00Z'",
			   "80", SHOWS("192.0.2.1")));
	add_svc(&f, SHARED("b-young",
			   ",'creationTimestamp':"
			   "'2026-06-01T00:00:00Z'",
			   "443", ""));
	add_svc(&f, SHARED("c-old",
			   ",'creationTimestamp':"
			   "'2025-06-01T00:00:00Z'",
			   "443", ""));
	add_pool(&f, "192.0.2.1-192.0.2.9");
	render(&f);
	assert_int_equal(f.plan.npublish, 2);
	assert_string_equal(f.plan.publish[0].svc->name, "z-holder");
	assert_string_equal(f.plan.publish[1].svc->name, "c-old");
	assert_null(strstr(f.plan.text, "a-new"));
	assert_pending(&f, "a-new", "PortConflict",
		       "192.0.2.1 port 80/tcp is served by default/z-holder "
		       "already (a shared VIP shares its address, not its "
		       "ports)");
	assert_pending(&f, "b-young", "PortConflict",
		       "192.0.2.1 port 443/tcp is served by default/c-old "
		       "already (a shared VIP shares its address, not its "
		       "ports)");
	fx_free(&f);
}

/* More ports than --max-ports-per-service: the Service is out whole. */
static void test_cap_ports(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("many", "",
			",'ports':[{'name':'a','port':1},{'name':'b',"
			"'port':2},{'name':'c','port':3}]",
			""));
	add_svc(&f, SVC("two", "",
			",'ports':[{'name':'a','port':1},{'name':'b',"
			"'port':2}]",
			""));
	add_pool(&f, "192.0.2.1-192.0.2.9");
	f.policy.max_ports = 2;
	render(&f);
	assert_int_equal(f.plan.nvs, 2);
	assert_null(strstr(f.plan.text, "many"));
	assert_pending(&f, "many", "TooManyPorts",
		       "3 ports, more than --max-ports-per-service 2");
	/* it took no address: "two" has the first */
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.1");
	fx_free(&f);
}

#define AGED(name, ns, when, rest)                                             \
	"{'metadata':{'namespace':'" ns "','name':'" name "',"                 \
	"'creationTimestamp':'" when "'},'spec':{'type':'LoadBalancer',"       \
	"'loadBalancerClass':'extlb.io/lb','ports':[{'name':'a','port':1},"    \
	"{'name':'b','port':2}]}" rest "}"

/* --max-services-per-namespace: the holder first, then the oldest; the
 * newest is pending and takes no pool address; another namespace has a
 * share of its own. */
static void test_cap_namespace(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, AGED("a", "t", "2026-03-01T00:00:00Z", ""));
	add_svc(&f, AGED("b", "t", "2026-01-01T00:00:00Z", ""));
	add_svc(&f, AGED("c", "t", "2026-05-01T00:00:00Z", SHOWS("192.0.2.9")));
	add_svc(&f, AGED("d", "u", "2026-09-01T00:00:00Z", ""));
	add_pool(&f, "192.0.2.1-192.0.2.9");
	f.policy.max_per_ns = 2;
	render(&f);
	assert_int_equal(f.plan.npublish, 3);
	assert_pending(&f, "a", "NamespaceLimit",
		       "namespace t already has 2 Services served, the most "
		       "--max-services-per-namespace allows");
	assert_string_equal(f.plan.publish[0].svc->name, "b");
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.1");
	assert_string_equal(f.plan.publish[1].svc->name, "c");
	assert_string_equal(f.plan.publish[1].vip, "192.0.2.9");
	assert_string_equal(f.plan.publish[2].svc->name, "d");
	assert_string_equal(f.plan.publish[2].vip, "192.0.2.2");
	fx_free(&f);
}

/* --max-services: virtual services in all; a Service that does not fit
 * is out whole, a smaller junior may still fit. */
static void test_cap_total(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, AGED("a", "t", "2026-03-01T00:00:00Z", ""));
	add_svc(&f, AGED("z", "t", "2026-05-01T00:00:00Z", SHOWS("192.0.2.9")));
	add_svc(&f, SVC("small", ",'creationTimestamp':'2026-12-01T00:00:00Z'",
			",'ports':[{'port':1}]", ""));
	add_pool(&f, "192.0.2.1-192.0.2.9");
	f.policy.max_services = 3;
	render(&f);
	assert_int_equal(f.plan.nvs, 3);
	assert_null(strstr(f.plan.text, "\"t/a:"));
	assert_pending(&f, "a", "ServiceLimit",
		       "its 2 port(s) would take the virtual services written "
		       "past --max-services 3 (2 in use)");
	assert_string_equal(f.plan.publish[0].svc->name, "z");
	assert_string_equal(f.plan.publish[1].svc->name, "small");
	fx_free(&f);
}

/* A refusal quotes the tenant's text without its line breaks, so that
 * no annotation writes lines of its own into the log. */
static void test_refusal_text_one_line(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, VIP_SVC("nl", "1.2.3.4\\nextlb-k8s: info: forged"));
	render(&f);
	assert_pending(&f, "nl", "VIPRefused",
		       "annotation extlb.io/vip \"1.2.3.4?extlb-k8s: info: "
		       "forged\" is not an IP address");
	assert_null(strchr(f.plan.warnings[0], '\n'));
	fx_free(&f);
}

/* Source ranges become allowed_sources, normalised as extlbd reads them
 * (a range inside another, or twice, is written once: the wider);
 * the annotation counts only where the spec's list is empty, as in
 * Kubernetes; a range that is not one keeps the Service out rather than
 * exposed to every address. */
static void test_source_ranges(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("a-spec", "",
			",'loadBalancerSourceRanges':['10.1.0.0/16',"
			"'192.168.7.0/24','10.1.0.0/8','10.2.3.4',"
			"'192.168.7.0/24'],'ports':[{'port':1}]",
			""));
	add_svc(&f, SVC("b-ann",
			",'annotations':{'service.beta.kubernetes.io/"
			"load-balancer-source-ranges':' 172.16.0.0/12 ,,"
			"203.0.113.9'}",
			",'ports':[{'port':2}]", ""));
	add_svc(&f,
		SVC("c-empty", "",
		    ",'loadBalancerSourceRanges':[],'ports':[{'port':3}]", ""));
	add_svc(&f, SVC("d-bad", "",
			",'loadBalancerSourceRanges':['10.0.0.0/8',"
			"'10.0.0.0/33'],'ports':[{'port':4}]",
			""));
	add_svc(&f, SVC("e-badann",
			",'annotations':{'service.beta.kubernetes.io/"
			"load-balancer-source-ranges':'10.0.0.0/8,nowhere'}",
			",'ports':[{'port':5}]", ""));
	add_pool(&f, "192.0.2.1-192.0.2.9");
	render(&f);
	assert_int_equal(f.plan.npublish, 3);
	assert_non_null(strstr(f.plan.text,
			       "    name = \"default/a-spec:1\";\n"
			       "    vip = \"192.0.2.1\";\n"
			       "    port = 1;\n"
			       "    protocol = \"tcp\";\n"
			       "    allowed_sources = [ \"192.168.7.0/24\", "
			       "\"10.0.0.0/8\" ];\n"));
	assert_non_null(strstr(f.plan.text,
			       "    protocol = \"tcp\";\n"
			       "    allowed_sources = [ \"172.16.0.0/12\", "
			       "\"203.0.113.9/32\" ];\n"));
	assert_non_null(strstr(f.plan.text, "default/c-empty:3"));
	assert_int_equal(count(f.plan.text, "allowed_sources"), 2);
	assert_pending(&f, "d-bad", "InvalidSourceRange",
		       "spec.loadBalancerSourceRanges: \"10.0.0.0/33\" is not "
		       "an address range: the prefix length must be 0-32");
	assert_pending(&f, "e-badann", "InvalidSourceRange",
		       "annotation service.beta.kubernetes.io/"
		       "load-balancer-source-ranges: \"nowhere\" is not an "
		       "address range: \"nowhere\" is not an IPv4 or IPv6 "
		       "address");
	assert_null(strstr(f.plan.text, "d-bad"));
	assert_null(strstr(f.plan.text, "e-badann"));
	fx_free(&f);
}

/* ---- dual-stack ------------------------------------------------------- */

#define SLICE6(name, svc, eps, ports)                                          \
	"{'metadata':{'namespace':'default','name':'" name "',"                \
	"'labels':{'kubernetes.io/service-name':'" svc "'}},"                  \
	"'addressType':'IPv6','endpoints':[" eps "],'ports':[" ports "]}"

#define DUAL_SVC(policy, families, rest)                                       \
	SVC("web", "",                                                         \
	    ",'ipFamilyPolicy':'" policy "','ipFamilies':[" families "],"      \
	    "'ports':[{'name':'http','port':80}]",                             \
	    rest)

/* Both slices of a dual-stack Service, and both pools. */
static void dual_world(struct fx *f)
{
	add_slice(f, SLICE("web-4", "web", "{'addresses':['10.0.0.1']}",
			   "{'name':'http','port':80}"));
	add_slice(f, SLICE6("web-6", "web", "{'addresses':['2001:db8:1::5']}",
			    "{'name':'http','port':80}"));
	add_pool(f, "192.0.2.0/30");
	add_pool(f, "2001:db8::/64");
}

/* PreferDualStack with a pool of each family: a VIP of each, in the order
 * of spec.ipFamilies, each with its own family's endpoints; only the
 * second family's names get a suffix. */
static void test_dual_prefer_both(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, DUAL_SVC("PreferDualStack", "'IPv6','IPv4'", ""));
	dual_world(&f);
	render(&f);
	assert_string_equal(f.plan.text, HEADER
			    "virtual_services = (\n"
			    "  {\n"
			    "    name = \"default/web:http\";\n"
			    "    vip = \"2001:db8::\";\n"
			    "    port = 80;\n"
			    "    protocol = \"tcp\";\n"
			    "    real_servers = (\n"
			    "      { address = \"2001:db8:1::5\"; port = "
			    "80; weight = 1; }\n"
			    "    );\n"
			    "  },\n"
			    "  {\n"
			    "    name = \"default/web:http/ipv4\";\n"
			    "    vip = \"192.0.2.0\";\n"
			    "    port = 80;\n"
			    "    protocol = \"tcp\";\n"
			    "    real_servers = (\n"
			    "      { address = \"10.0.0.1\"; port = "
			    "80; weight = 1; }\n"
			    "    );\n"
			    "  }\n"
			    ");\n");
	assert_int_equal(f.plan.npublish, 1);
	assert_string_equal(f.plan.publish[0].vip, "2001:db8::");
	assert_string_equal(f.plan.publish[0].vip2, "192.0.2.0");
	assert_string_equal(f.plan.publish[0].ip_mode, "Proxy");
	assert_true(f.plan.publish[0].changed);
	assert_true(f.plan.publish[0].new_vip);
	assert_int_equal(f.plan.npending, 0);
	assert_string_equal(notices(&f), "");
	fx_free(&f);
}

/* Each VIP of a dual-stack Service gets the ranges of its family; a
 * family the ranges do not name lets no source in, so its VIP's ports are
 * not served (and the owner is told), rather than served to everyone. */
static void test_dual_source_ranges(void **state)
{
	struct fx f = {0}, g = {0};

	(void)state;
	add_svc(&f, SVC("web", "",
			",'ipFamilyPolicy':'PreferDualStack','ipFamilies':"
			"['IPv6','IPv4'],'loadBalancerSourceRanges':"
			"['2001:db8:7::/48','10.0.0.0/8'],"
			"'ports':[{'name':'http','port':80}]",
			""));
	dual_world(&f);
	render(&f);
	assert_non_null(strstr(
	    f.plan.text, "    vip = \"2001:db8::\";\n"
			 "    port = 80;\n"
			 "    protocol = \"tcp\";\n"
			 "    allowed_sources = [ \"2001:db8:7::/48\" ];\n"));
	assert_non_null(strstr(f.plan.text,
			       "    vip = \"192.0.2.0\";\n"
			       "    port = 80;\n"
			       "    protocol = \"tcp\";\n"
			       "    allowed_sources = [ \"10.0.0.0/8\" ];\n"));
	fx_free(&f);

	add_svc(&g, SVC("web", "",
			",'ipFamilyPolicy':'PreferDualStack','ipFamilies':"
			"['IPv6','IPv4'],'loadBalancerSourceRanges':"
			"['10.0.0.0/8'],'ports':[{'name':'http','port':80}]",
			""));
	dual_world(&g);
	render(&g);
	assert_null(strstr(g.plan.text, "2001:db8::"));
	assert_non_null(strstr(g.plan.text,
			       "    vip = \"192.0.2.0\";\n"
			       "    port = 80;\n"
			       "    protocol = \"tcp\";\n"
			       "    allowed_sources = [ \"10.0.0.0/8\" ];\n"));
	assert_string_equal(
	    notices(&g), "default/web SourceRangesFamily: no source range is "
			 "IPv6: the ports of VIP 2001:db8:: are not served\n");
	fx_free(&g);
}

/* A restart: both VIPs the status shows are kept, in its order, and need
 * no PATCH; a family without endpoints keeps its virtual service, with no
 * real server, as a single-stack Service without endpoints does. */
static void test_dual_recovered(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, DUAL_SVC("RequireDualStack", "'IPv4','IPv6'",
			     ",'status':{'loadBalancer':{'ingress':["
			     "{'ip':'192.0.2.3','ipMode':'Proxy'},"
			     "{'ip':'2001:db8::9','ipMode':'Proxy'}]}}"));
	add_slice(&f, SLICE("web-4", "web", "{'addresses':['10.0.0.1']}",
			    "{'name':'http','port':80}"));
	add_pool(&f, "192.0.2.0/30");
	add_pool(&f, "2001:db8::/64");
	render(&f);
	assert_int_equal(f.plan.npublish, 1);
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.3");
	assert_string_equal(f.plan.publish[0].vip2, "2001:db8::9");
	assert_false(f.plan.publish[0].changed);
	assert_false(f.plan.publish[0].new_vip);
	assert_int_equal(f.plan.nvs, 2);
	assert_non_null(strstr(f.plan.text,
			       "    name = \"default/web:http/ipv6\";\n"
			       "    vip = \"2001:db8::9\";\n"
			       "    port = 80;\n"
			       "    protocol = \"tcp\";\n"
			       "    real_servers = ( );\n"));
	assert_string_equal(notices(&f), "");
	fx_free(&f);
}

/* PreferDualStack with a pool of one family only: that family's VIP, no
 * suffix when it is the first, and no complaint. */
static void test_dual_prefer_one_pool(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, DUAL_SVC("PreferDualStack", "'IPv4','IPv6'", ""));
	add_slice(&f, SLICE("web-4", "web", "{'addresses':['10.0.0.1']}",
			    "{'name':'http','port':80}"));
	add_slice(&f, SLICE6("web-6", "web", "{'addresses':['2001:db8:1::5']}",
			     "{'name':'http','port':80}"));
	add_pool(&f, "192.0.2.0/30");
	render(&f);
	assert_int_equal(f.plan.npublish, 1);
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.0");
	assert_string_equal(f.plan.publish[0].vip2, "");
	assert_int_equal(f.plan.nvs, 1);
	assert_non_null(strstr(f.plan.text, "name = \"default/web:http\";"));
	assert_null(strstr(f.plan.text, "2001:db8"));
	assert_int_equal(f.plan.npending, 0);
	assert_string_equal(notices(&f), "");
	assert_string_equal(warnings(&f), "");
	fx_free(&f);
}

/* RequireDualStack without an IPv6 pool: pending, no address at all; a
 * PreferDualStack one whose second pool is full is served on the first
 * and told why. */
static void test_dual_require_pending(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, DUAL_SVC("RequireDualStack", "'IPv4','IPv6'", ""));
	add_pool(&f, "192.0.2.0/30");
	render(&f);
	assert_int_equal(f.plan.npublish, 0);
	assert_int_equal(f.plan.nvs, 0);
	assert_int_equal(f.plan.npending, 1);
	assert_string_equal(f.plan.pending[0].reason, "DualStackUnavailable");
	assert_string_equal(f.plan.pending[0].why,
			    "ipFamilyPolicy RequireDualStack, but there is no "
			    "IPv6 VIP pool (--vip-pool)");
	fx_free(&f);

	memset(&f, 0, sizeof(f));
	add_svc(&f, SVC("a-full", "",
			",'ipFamilies':['IPv6'],'ports':[{'port':1}]", ""));
	add_svc(&f, DUAL_SVC("PreferDualStack", "'IPv4','IPv6'", ""));
	add_pool(&f, "192.0.2.0/30");
	add_pool(&f, "2001:db8::1");
	render(&f);
	assert_int_equal(f.plan.npublish, 2);
	assert_string_equal(f.plan.publish[1].vip, "192.0.2.0");
	assert_string_equal(f.plan.publish[1].vip2, "");
	assert_string_equal(notices(&f),
			    "default/web DualStackUnavailable: served on IPv4 "
			    "only: no IPv6 VIP for it: no free address left "
			    "in the IPv6 VIP pools\n");
	fx_free(&f);
}

/* --max-services counts a dual-stack Service's ports once per family:
 * it caps the virtual services extlbd is given. */
static void test_dual_cap_counts_families(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, DUAL_SVC("PreferDualStack", "'IPv4','IPv6'", ""));
	dual_world(&f);
	f.policy.max_services = 1;
	render(&f);
	assert_int_equal(f.plan.npending, 1);
	assert_string_equal(f.plan.pending[0].reason, "ServiceLimit");
	fx_free(&f);
}

/* An explicit VIP makes the Service single-stack, of its family. */
static void test_dual_explicit_vip(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web", ",'annotations':{'extlb.io/vip':'192.0.2.2'}",
			",'ipFamilyPolicy':'RequireDualStack','ipFamilies':"
			"['IPv4','IPv6'],'ports':[{'name':'http','port':80}]",
			""));
	dual_world(&f);
	render(&f);
	assert_int_equal(f.plan.npublish, 1);
	assert_string_equal(f.plan.publish[0].vip, "192.0.2.2");
	assert_string_equal(f.plan.publish[0].vip2, "");
	assert_int_equal(f.plan.nvs, 1);
	fx_free(&f);
}

/* Hand-written Endpoints may mix families: each address goes behind the
 * VIP of its own family, even with tun, which could mix them. */
static void test_dual_endpoints_split(void **state)
{
	struct fx f = {0};

	(void)state;
	add_svc(&f, SVC("web", ",'annotations':{'extlb.io/forward':'tun'}",
			",'ipFamilyPolicy':'PreferDualStack','ipFamilies':"
			"['IPv4','IPv6'],'ports':[{'name':'http','port':80}]",
			""));
	add_eps(&f, "{'metadata':{'namespace':'default','name':'web'},"
		    "'subsets':[{'addresses':[{'ip':'10.0.0.1'},"
		    "{'ip':'2001:db8:1::5'}],'ports':[{'name':'http',"
		    "'port':80}]}]}");
	add_pool(&f, "192.0.2.0/30");
	add_pool(&f, "2001:db8::/64");
	render(&f);
	assert_int_equal(f.plan.nvs, 2);
	assert_non_null(strstr(f.plan.text,
			       "    vip = \"192.0.2.0\";\n"
			       "    port = 80;\n"
			       "    protocol = \"tcp\";\n"
			       "    forward = \"tun\";\n"
			       "    real_servers = (\n"
			       "      { address = \"10.0.0.1\"; port = 80; "
			       "weight = 1; }\n"
			       "    );\n"));
	assert_non_null(strstr(
	    f.plan.text, "    vip = \"2001:db8::\";\n"
			 "    port = 80;\n"
			 "    protocol = \"tcp\";\n"
			 "    forward = \"tun\";\n"
			 "    real_servers = (\n"
			 "      { address = \"2001:db8:1::5\"; port = 80; "
			 "weight = 1; }\n"
			 "    );\n"));
	assert_string_equal(notices(&f), "");
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed_manual_endpoints),
	    cmocka_unit_test(test_status_vip_recovered),
	    cmocka_unit_test(test_ip_mode),
	    cmocka_unit_test(test_no_services_is_an_empty_list),
	    cmocka_unit_test(test_service_without_endpoints),
	    cmocka_unit_test(test_selection_by_type_and_class),
	    cmocka_unit_test(test_slices_union_and_dedup),
	    cmocka_unit_test(test_not_ready_excluded),
	    cmocka_unit_test(test_terminating_left_out_while_ready),
	    cmocka_unit_test(test_terminating_stand_in),
	    cmocka_unit_test(test_slices_win_over_endpoints),
	    cmocka_unit_test(test_endpoints_subsets),
	    cmocka_unit_test(test_named_ports),
	    cmocka_unit_test(test_only_port_matches_any_name),
	    cmocka_unit_test(test_sctp),
	    cmocka_unit_test(test_session_affinity),
	    cmocka_unit_test(test_annotations_valid),
	    cmocka_unit_test(test_annotations_invalid_fall_back),
	    cmocka_unit_test(test_check_per_port),
	    cmocka_unit_test(test_check_annotations_all),
	    cmocka_unit_test(test_check_annotations_invalid),
	    cmocka_unit_test(test_check_status_rules),
	    cmocka_unit_test(test_check_status_entry_why),
	    cmocka_unit_test(test_dr_needs_same_port),
	    cmocka_unit_test(test_port_unmatched_and_fqdn),
	    cmocka_unit_test(test_strings_escaped),
	    cmocka_unit_test(test_explicit_vips),
	    cmocka_unit_test(test_ipv6_service),
	    cmocka_unit_test(test_shared_vip),
	    cmocka_unit_test(test_pool_exhausted),
	    cmocka_unit_test(test_output_independent_of_order),
	    cmocka_unit_test(test_vip_refused_classes),
	    cmocka_unit_test(test_vip_allow_list),
	    cmocka_unit_test(test_vip_refused_after_serving),
	    cmocka_unit_test(test_backend_refused),
	    cmocka_unit_test(test_port_clash_keeps_holder),
	    cmocka_unit_test(test_cap_ports),
	    cmocka_unit_test(test_cap_namespace),
	    cmocka_unit_test(test_cap_total),
	    cmocka_unit_test(test_source_ranges),
	    cmocka_unit_test(test_refusal_text_one_line),
	    cmocka_unit_test(test_dual_prefer_both),
	    cmocka_unit_test(test_dual_source_ranges),
	    cmocka_unit_test(test_dual_recovered),
	    cmocka_unit_test(test_dual_prefer_one_pool),
	    cmocka_unit_test(test_dual_require_pending),
	    cmocka_unit_test(test_dual_cap_counts_families),
	    cmocka_unit_test(test_dual_explicit_vip),
	    cmocka_unit_test(test_dual_endpoints_split),
	};

	return cmocka_run_group_tests_name("k8s_render", tests, NULL, NULL);
}
