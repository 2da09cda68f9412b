/*
 * test_k8s_objects.c - cmocka tests of the JSON parsers and the cache.
 *
 * The parsers must turn any JSON into either an object or a reason, never
 * a crash: besides the named cases, every member of realistic objects is
 * replaced in turn by a value of each JSON type, and parsed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/cache.h"
#include "k8s/objects.h"
#include "k8s/sync.h"

/* JSON from text with ' for ". */
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

enum kind { SVC, SLICE, EPS };

static int parse(enum kind k, json_object *j, char *why, size_t len)
{
	struct k8s_service *s = NULL;
	struct k8s_epset *e = NULL;
	int r;

	switch (k) {
	case SVC:
		r = k8s_service_parse(j, &s, why, len);
		break;
	case SLICE:
		r = k8s_slice_parse(j, &e, why, len);
		break;
	default:
		r = k8s_endpoints_parse(j, &e, why, len);
		break;
	}
	assert_true(r == 0 ? (s || e) : (!s && !e));
	k8s_service_free(s);
	k8s_epset_free(e);
	return r;
}

static void assert_rejected(enum kind k, const char *text, const char *msg)
{
	json_object *j = json(text);
	char why[512] = "";

	assert_int_equal(parse(k, j, why, sizeof(why)), -1);
	assert_string_equal(why, msg);
	json_object_put(j);
}

#define META "'metadata':{'namespace':'n','name':'s'}"
#define LB "'type':'LoadBalancer'"

static void test_service_rejections(void **state)
{
	(void)state;
	assert_rejected(SVC, "[]", "expected an object");
	assert_rejected(SVC, "{'spec':{}}", "metadata: missing");
	assert_rejected(SVC,
			"{'metadata':{'namespace':'n','name':7},'spec':{}}",
			"metadata.name: expected string, got int");
	assert_rejected(SVC, "{" META "}", "spec: missing");
	assert_rejected(SVC, "{" META ",'spec':{'type':5}}",
			"spec.type: expected string, got int");
	assert_rejected(SVC, "{" META ",'spec':{" LB ",'ports':{}}}",
			"spec.ports: expected array, got object");
	assert_rejected(SVC, "{" META ",'spec':{" LB ",'ports':[{'port':0}]}}",
			"spec.ports[0].port: 0 is out of range 1-65535");
	assert_rejected(SVC,
			"{" META ",'spec':{" LB ",'ports':[{'name':'a'}]}}",
			"spec.ports[0].port: missing");
	assert_rejected(SVC,
			"{" META ",'spec':{" LB ",'ports':[{'port':1,"
			"'protocol':'ICMP'}]}}",
			"spec.ports[0].protocol: \"ICMP\" is not TCP, UDP or "
			"SCTP");
	assert_rejected(SVC, "{" META ",'spec':{" LB ",'ipFamilies':['IPv5']}}",
			"spec.ipFamilies[0]: \"IPv5\" is not IPv4 or IPv6");
	assert_rejected(SVC,
			"{" META ",'spec':{" LB ",'ipFamilies':['IPv4',7]}}",
			"spec.ipFamilies[1]: expected string");
	assert_rejected(SVC,
			"{" META ",'spec':{" LB ",'ipFamilyPolicy':'Both'}}",
			"spec.ipFamilyPolicy: \"Both\" is not SingleStack, "
			"PreferDualStack or RequireDualStack");
	assert_rejected(SVC,
			"{" META ",'spec':{" LB ",'sessionAffinity':"
			"'ClientIP','sessionAffinityConfig':{'clientIP':"
			"{'timeoutSeconds':86401}}}}",
			"spec.sessionAffinityConfig.clientIP.timeoutSeconds: "
			"86401 is out of range 1-86400");
	assert_rejected(SVC,
			"{'metadata':{'namespace':'n','name':'s',"
			"'annotations':{'extlb.io/vip':1}},'spec':{" LB "}}",
			"metadata.annotations.extlb.io/vip: expected string, "
			"got int");
	assert_rejected(SVC,
			"{" META ",'spec':{" LB "},'status':{"
			"'loadBalancer':{'ingress':['1.2.3.4']}}}",
			"status.loadBalancer.ingress[0]: expected an object");
}

/* Other Services are kept by name only: their oddities are not ours. */
static void test_other_services_not_examined(void **state)
{
	json_object *j = json("{" META ",'spec':{'type':'ClusterIP','ports':"
			      "'junk','ipFamilies':7}}");
	struct k8s_service *s;
	char why[256] = "";

	(void)state;
	assert_int_equal(k8s_service_parse(j, &s, why, sizeof(why)), 0);
	assert_false(s->load_balancer);
	assert_int_equal(s->nports, 0);
	k8s_service_free(s);
	json_object_put(j);
}

static void test_service_fields(void **state)
{
	json_object *j =
	    json("{'metadata':{'namespace':'n','name':'s','annotations':{"
		 "'extlb.io/vip':'192.0.2.1','extlb.io/allow-shared-vip':'k',"
		 "'unrelated':{'deep':1}}},'spec':{" LB ",'loadBalancerClass':"
		 "'c','loadBalancerIP':'','ipFamilies':['IPv6','IPv4'],"
		 "'sessionAffinity':'ClientIP','ports':[{'port':53,'protocol':"
		 "'UDP','name':'dns'}]},'status':{'loadBalancer':{'ingress':[{"
		 "'ip':'192.0.2.1','ipMode':'Proxy'},{'hostname':'lb.example'}]"
		 "}}}");
	struct k8s_service *s;
	char why[256] = "";

	(void)state;
	assert_int_equal(k8s_service_parse(j, &s, why, sizeof(why)), 0);
	assert_true(s->load_balancer);
	assert_string_equal(s->lb_class, "c");
	assert_null(s->lb_ip);
	assert_int_equal(s->family, AF_INET6);
	assert_int_equal(s->family2, AF_INET);
	assert_int_equal(s->family_policy, K8S_SINGLE_STACK);
	assert_int_equal(s->affinity_timeout, 10800);
	assert_string_equal(s->ann.vip, "192.0.2.1");
	assert_string_equal(s->ann.share, "k");
	assert_null(s->ann.scheduler);
	assert_int_equal(s->nports, 1);
	assert_string_equal(s->ports[0].name, "dns");
	assert_int_equal(s->ports[0].proto, K8S_UDP);
	assert_int_equal(s->ningress, 2);
	assert_string_equal(s->ingress[0], "192.0.2.1");
	assert_string_equal(s->ingress[1], "");
	assert_string_equal(s->ingress_mode[0], "Proxy");
	assert_null(s->ingress_mode[1]);
	k8s_service_free(s);
	json_object_put(j);
}

#define SMETA                                                                  \
	"'metadata':{'namespace':'n','name':'s-1','labels':{"                  \
	"'kubernetes.io/service-name':'s'}}"

static void test_slice_rejections(void **state)
{
	(void)state;
	assert_rejected(SLICE, "{" SMETA "}", "addressType: missing");
	assert_rejected(SLICE, "{" SMETA ",'addressType':'IPX'}",
			"addressType: \"IPX\" is not IPv4, IPv6 or FQDN");
	assert_rejected(SLICE,
			"{" SMETA ",'addressType':'IPv4','endpoints':"
			"[{}]}",
			"endpoints[0].addresses: missing");
	assert_rejected(SLICE,
			"{" SMETA ",'addressType':'IPv4','endpoints':"
			"[{'addresses':['2001:db8::1']}]}",
			"endpoints[0].addresses[0]: not an IPv4 address");
	assert_rejected(SLICE,
			"{" SMETA ",'addressType':'IPv4','endpoints':"
			"[{'addresses':['10.0.0.1'],'conditions':{"
			"'ready':'yes'}}]}",
			"endpoints[0].conditions.ready: expected boolean, got "
			"string");
	assert_rejected(SLICE,
			"{" SMETA ",'addressType':'IPv4','ports':[{"
			"'port':'80'}]}",
			"ports[0].port: expected int, got string");
	assert_rejected(SLICE,
			"{'metadata':{'namespace':'n','name':'x',"
			"'labels':{'kubernetes.io/service-name':1}},"
			"'addressType':'IPv4'}",
			"metadata.labels.kubernetes.io/service-name: expected "
			"string, got int");
}

static void test_slice_fields(void **state)
{
	json_object *j =
	    json("{" SMETA ",'addressType':'IPv4','endpoints':[{'addresses':"
		 "['10.0.0.1']},{'addresses':['10.0.0.2'],'conditions':{"
		 "'ready':false,'serving':true,'terminating':true}},"
		 "{'addresses':['10.0.0.3'],'conditions':{'ready':false}}],"
		 "'ports':[{'name':'a','port':80},{'name':'all'},"
		 "{'port':81,'protocol':'SCTP'}]}");
	struct k8s_epset *e;
	char why[256] = "";

	(void)state;
	assert_int_equal(k8s_slice_parse(j, &e, why, sizeof(why)), 0);
	assert_string_equal(e->service, "s");
	/* two addresses that may take traffic, two ports with a number */
	assert_int_equal(e->nbackends, 4);
	assert_string_equal(e->backends[0].port_name, "a");
	assert_int_equal(e->backends[0].port, 80);
	assert_true(e->backends[0].ready);
	assert_false(e->backends[0].sole_port);
	assert_string_equal(e->backends[1].port_name, "");
	assert_int_equal(e->backends[1].proto, K8S_SCTP);
	assert_false(e->backends[3].ready);
	k8s_epset_free(e);
	json_object_put(j);

	/* FQDN slices have nothing IPVS can use */
	j = json("{" SMETA ",'addressType':'FQDN','endpoints':[{'addresses':"
		 "['db.example']}],'ports':[{'port':5432}]}");
	assert_int_equal(k8s_slice_parse(j, &e, why, sizeof(why)), 0);
	assert_int_equal(e->nbackends, 0);
	assert_true(e->fqdn);
	k8s_epset_free(e);
	json_object_put(j);
}

/* kube-proxy's reading of the conditions: an absent serving is true, an
 * absent terminating false; only addresses[0] counts (the others are not
 * even checked, as kube-proxy never reads them). */
static void test_slice_conditions(void **state)
{
	json_object *j =
	    json("{" SMETA ",'addressType':'IPv4','endpoints':["
		 "{'addresses':['10.0.0.1','10.0.0.9','not-an-ip']},"
		 "{'addresses':['10.0.0.2'],'conditions':{'ready':false,"
		 "'terminating':true}},"
		 "{'addresses':['10.0.0.3'],'conditions':{'ready':false,"
		 "'serving':false,'terminating':true}},"
		 "{'addresses':['10.0.0.4'],'conditions':{'ready':false,"
		 "'serving':true}},"
		 "{'addresses':['10.0.0.5'],'conditions':{'serving':false}}],"
		 "'ports':[{'port':80}]}");
	struct k8s_epset *e;
	char why[256] = "";
	char a[K8S_ADDRSTR_MAX];

	(void)state;
	assert_int_equal(k8s_slice_parse(j, &e, why, sizeof(why)), 0);
	assert_false(e->fqdn);
	assert_int_equal(e->nbackends, 3);
	assert_string_equal(k8s_addr_str(&e->backends[0].addr, a), "10.0.0.1");
	assert_true(e->backends[0].ready);
	/* serving absent, terminating: a stand-in */
	assert_string_equal(k8s_addr_str(&e->backends[1].addr, a), "10.0.0.2");
	assert_false(e->backends[1].ready);
	/* ready absent reads as ready, whatever serving says */
	assert_string_equal(k8s_addr_str(&e->backends[2].addr, a), "10.0.0.5");
	assert_true(e->backends[2].ready);
	k8s_epset_free(e);
	json_object_put(j);
}

static void test_endpoints_rejections(void **state)
{
	(void)state;
	assert_rejected(EPS, "{" META ",'subsets':{}}",
			"subsets: expected array, got object");
	assert_rejected(EPS, "{" META ",'subsets':[{'addresses':[{}]}]}",
			"subsets[0].addresses[0].ip: missing");
	assert_rejected(EPS,
			"{" META ",'subsets':[{'addresses':[{'ip':"
			"'10.0.0.300'}]}]}",
			"subsets[0].addresses[0].ip: \"10.0.0.300\" is not an "
			"IP address");
	assert_rejected(EPS, "{" META ",'subsets':[7]}",
			"subsets[0]: expected an object");
}

static void test_object_key(void **state)
{
	json_object *j = json("{'metadata':{'namespace':'n','name':'s',"
			      "'resourceVersion':'42'}}");
	char key[64], why[128];
	const char *rv;

	(void)state;
	assert_int_equal(
	    k8s_object_key(j, key, sizeof(key), &rv, why, sizeof(why)), 0);
	assert_string_equal(key, "n/s");
	assert_string_equal(rv, "42");
	json_object_put(j);
	j = json("{'metadata':{'name':'s'}}");
	assert_int_equal(
	    k8s_object_key(j, key, sizeof(key), &rv, why, sizeof(why)), -1);
	assert_string_equal(why, "metadata.namespace: missing");
	json_object_put(j);
}

/* ---- every member, every type ------------------------------------------- */

static size_t mutations;

static void try_parse(enum kind k, json_object *root)
{
	char why[512];

	parse(k, root, why, sizeof(why));
	mutations++;
}

static json_object *replacement(int i)
{
	switch (i) {
	case 0:
		return NULL;
	case 1:
		return json_object_new_int(-1);
	case 2:
		return json_object_new_string("\x01x");
	case 3:
		return json_object_new_array();
	case 4:
		return json_object_new_object();
	default:
		return json_object_new_boolean(1);
	}
}

/* Replaces each member under node by each replacement, in turn. */
static void mutate(enum kind k, json_object *root, json_object *node)
{
	if (json_object_is_type(node, json_type_object)) {
		json_object_object_foreach(node, key, val)
		{
			json_object *orig = json_object_get(val);

			for (int i = 0; i < 6; i++) {
				json_object_object_add(node, key,
						       replacement(i));
				try_parse(k, root);
			}
			json_object_object_add(node, key, orig);
			mutate(k, root, orig);
		}
	} else if (json_object_is_type(node, json_type_array)) {
		for (size_t n = 0; n < json_object_array_length(node); n++) {
			json_object *orig =
			    json_object_get(json_object_array_get_idx(node, n));

			for (int i = 0; i < 6; i++) {
				json_object_array_put_idx(node, n,
							  replacement(i));
				try_parse(k, root);
			}
			json_object_array_put_idx(node, n, orig);
			mutate(k, root, orig);
		}
	}
}

static void test_every_member_every_type(void **state)
{
	static const struct {
		enum kind k;
		const char *text;
	} docs[] = {
	    {SVC, "{'metadata':{'namespace':'n','name':'s','annotations':{"
		  "'extlb.io/vip':'192.0.2.1'}},'spec':{" LB ",'loadBalancer"
		  "Class':'c','loadBalancerIP':'192.0.2.2','ipFamilies':["
		  "'IPv4'],'sessionAffinity':'ClientIP','sessionAffinity"
		  "Config':{'clientIP':{'timeoutSeconds':5}},'ports':[{'name'"
		  ":'a','port':1,'protocol':'TCP'}]},'status':{'loadBalancer'"
		  ":{'ingress':[{'ip':'192.0.2.1'}]}}}"},
	    {SLICE, "{" SMETA ",'addressType':'IPv4','endpoints':[{'addresses'"
		    ":['10.0.0.1'],'conditions':{'ready':false,'serving':true,"
		    "'terminating':true}}],'ports':[{'name':'a','port':1,"
		    "'protocol':'UDP'}]}"},
	    {EPS, "{" META ",'subsets':[{'addresses':[{'ip':'10.0.0.1'}],"
		  "'notReadyAddresses':[{'ip':'10.0.0.2'}],'ports':[{'name':"
		  "'a','port':1,'protocol':'TCP'}]}]}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_object *j = json(docs[i].text);

		try_parse(docs[i].k, j);
		mutate(docs[i].k, j, j);
		json_object_put(j);
	}
	assert_true(mutations > 300);
}

/* ---- cache -------------------------------------------------------------- */

static int freed;

static void count_free(void *obj)
{
	freed++;
	free(obj);
}

static void test_cache(void **state)
{
	struct k8s_cache c;

	(void)state;
	k8s_cache_init(&c, "Thing", count_free);
	assert_int_equal(k8s_cache_put(&c, "b/x", "2", strdup("bx")), 0);
	assert_int_equal(k8s_cache_put(&c, "a/y", "1", strdup("ay")), 0);
	assert_int_equal(k8s_cache_put(&c, "c/z", NULL, strdup("cz")), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.items[0].key, "a/y");
	assert_string_equal(c.items[2].key, "c/z");
	assert_string_equal(k8s_cache_rv(&c, "c/z"), "");
	/* a MODIFIED replaces and frees the old object */
	assert_int_equal(k8s_cache_put(&c, "b/x", "5", strdup("bx2")), 0);
	assert_int_equal(freed, 1);
	assert_string_equal(k8s_cache_get(&c, "b/x"), "bx2");
	assert_string_equal(k8s_cache_rv(&c, "b/x"), "5");
	assert_true(k8s_cache_delete(&c, "a/y"));
	assert_false(k8s_cache_delete(&c, "a/y"));
	assert_null(k8s_cache_get(&c, "a/y"));
	assert_int_equal(c.n, 2);
	assert_int_equal(k8s_cache_set_list_rv(&c, "99"), 0);
	assert_string_equal(c.list_rv, "99");
	k8s_cache_clear(&c);
	assert_int_equal(freed, 4);
	assert_int_equal(c.n, 0);
	assert_null(c.list_rv);
}

/* WATCH events into the state, as stream.c hands them on. */
static void test_state_events(void **state)
{
	struct k8s_state st;
	const struct k8s_service *s;
	json_object *j;

	(void)state;
	k8s_state_init(&st);
	j = json("{'metadata': {'namespace': 'default', 'name': 'db', "
		 "'uid': 'u-1', 'resourceVersion': '7'}, 'spec': {'type': "
		 "'LoadBalancer', 'ports': [{'port': 5432}]}}");
	assert_int_equal(k8s_state_event(&st, K8S_SERVICES, "ADDED", j), 1);
	json_object_put(j);
	s = k8s_cache_get(&st.kinds[K8S_SERVICES], "default/db");
	assert_non_null(s);
	assert_string_equal(s->uid, "u-1");
	assert_int_equal(s->ports[0].port, 5432);
	assert_string_equal(k8s_cache_rv(&st.kinds[K8S_SERVICES], "default/db"),
			    "7");

	/* a MODIFIED that does not parse keeps the last good object */
	j = json("{'metadata': {'namespace': 'default', 'name': 'db', "
		 "'resourceVersion': '8'}, 'spec': {'type': 'LoadBalancer', "
		 "'ports': 'many'}}");
	assert_int_equal(k8s_state_event(&st, K8S_SERVICES, "MODIFIED", j), 0);
	json_object_put(j);
	s = k8s_cache_get(&st.kinds[K8S_SERVICES], "default/db");
	assert_int_equal(s->ports[0].port, 5432);
	assert_string_equal(k8s_cache_rv(&st.kinds[K8S_SERVICES], "default/db"),
			    "7");

	/* a ClusterIP Service keeps the VIP its status still shows, and one
	 * with a status that does not parse is still a Service */
	j = json("{'metadata': {'namespace': 'default', 'name': 'db', "
		 "'resourceVersion': '9'}, 'spec': {'type': 'ClusterIP'}, "
		 "'status': {'loadBalancer': {'ingress': [{'ip': "
		 "'192.0.2.100'}]}}}");
	assert_int_equal(k8s_state_event(&st, K8S_SERVICES, "MODIFIED", j), 1);
	json_object_put(j);
	s = k8s_cache_get(&st.kinds[K8S_SERVICES], "default/db");
	assert_false(s->load_balancer);
	assert_int_equal(s->ningress, 1);
	assert_string_equal(s->ingress[0], "192.0.2.100");
	j = json("{'metadata': {'namespace': 'default', 'name': 'db', "
		 "'resourceVersion': '10'}, 'spec': {'type': 'ClusterIP'}, "
		 "'status': {'loadBalancer': {'ingress': 3}}}");
	assert_int_equal(k8s_state_event(&st, K8S_SERVICES, "MODIFIED", j), 1);
	json_object_put(j);
	s = k8s_cache_get(&st.kinds[K8S_SERVICES], "default/db");
	assert_int_equal(s->ningress, 0);

	/* endpoints go to their own cache; DELETED removes, once */
	j = json("{'metadata': {'namespace': 'default', 'name': 'db', "
		 "'resourceVersion': '11'}, 'subsets': [{'addresses': "
		 "[{'ip': '192.0.2.10'}], 'ports': [{'port': 5432}]}]}");
	assert_int_equal(k8s_state_event(&st, K8S_ENDPOINTS, "ADDED", j), 1);
	assert_int_equal(st.kinds[K8S_ENDPOINTS].n, 1);
	assert_int_equal(st.kinds[K8S_SERVICES].n, 1);
	assert_int_equal(k8s_state_event(&st, K8S_ENDPOINTS, "DELETED", j), 1);
	assert_int_equal(k8s_state_event(&st, K8S_ENDPOINTS, "DELETED", j), 0);
	assert_int_equal(st.kinds[K8S_ENDPOINTS].n, 0);
	json_object_put(j);
	/* an event whose object has no name changes nothing */
	j = json("{'metadata': {'namespace': 'default'}}");
	assert_int_equal(k8s_state_event(&st, K8S_SERVICES, "DELETED", j), 0);
	assert_int_equal(k8s_state_event(&st, K8S_SERVICES, "ADDED", j), 0);
	json_object_put(j);
	assert_int_equal(st.kinds[K8S_SERVICES].n, 1);
	k8s_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_service_rejections),
	    cmocka_unit_test(test_other_services_not_examined),
	    cmocka_unit_test(test_service_fields),
	    cmocka_unit_test(test_slice_rejections),
	    cmocka_unit_test(test_slice_fields),
	    cmocka_unit_test(test_slice_conditions),
	    cmocka_unit_test(test_endpoints_rejections),
	    cmocka_unit_test(test_object_key),
	    cmocka_unit_test(test_every_member_every_type),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_state_events),
	};

	return cmocka_run_group_tests_name("k8s_objects", tests, NULL, NULL);
}
