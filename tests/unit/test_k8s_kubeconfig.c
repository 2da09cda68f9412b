/*
 * test_k8s_kubeconfig.c - cmocka tests of kubeconfig reading: contexts,
 * files and -data, relative paths, $KUBECONFIG lists, booleans, the
 * in-cluster service account, refusals with their messages, and base64.
 * Each test writes its files into a fresh temporary directory.
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
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/kubeconfig.h"

static char dir[] = "/tmp/test_k8s_kubeconfig.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* DIR/name with text; the path in a static buffer (one of four). */
static const char *put(const char *name, const char *text)
{
	static char paths[4][256];
	static int i;
	FILE *f;

	i = (i + 1) % 4;
	snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir, name);
	f = fopen(paths[i], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return paths[i];
}

#define CLUSTERS                                                               \
	"clusters:\n"                                                          \
	"- name: prod\n"                                                       \
	"  cluster:\n"                                                         \
	"    server: https://127.0.0.1:6443/\n"                                \
	"    certificate-authority: certs/ca.crt\n"                            \
	"- name: lab\n"                                                        \
	"  cluster:\n"                                                         \
	"    server: \"https://[::1]:8443\"\n"                                 \
	"    certificate-authority-data: aGVsbG8=\n"                           \
	"    insecure-skip-tls-verify: yes\n"

#define USERS                                                                  \
	"users:\n"                                                             \
	"- name: admin\n"                                                      \
	"  user:\n"                                                            \
	"    token: s3cret\n"                                                  \
	"- name: robot\n"                                                      \
	"  user:\n"                                                            \
	"    tokenFile: /run/token\n"                                          \
	"    client-certificate: robot.crt\n"                                  \
	"    client-key-data: a2V5\n"

#define CONTEXTS                                                               \
	"contexts:\n"                                                          \
	"- name: p\n"                                                          \
	"  context: {cluster: prod, user: admin, namespace: x}\n"              \
	"- name: l\n"                                                          \
	"  context:\n"                                                         \
	"    cluster: lab\n"                                                   \
	"    user: robot\n"

static void test_current_context(void **state)
{
	const char *p = put(
	    "config", "apiVersion: v1\nkind: Config\n" CLUSTERS USERS CONTEXTS
		      "current-context: p\n");
	struct k8s_kubeconfig kc;
	char err[256] = "", want[300];

	(void)state;
	assert_int_equal(k8s_kubeconfig_load(p, NULL, &kc, err, sizeof(err)),
			 0);
	assert_string_equal(kc.server, "https://127.0.0.1:6443");
	snprintf(want, sizeof(want), "%s/certs/ca.crt", dir);
	assert_string_equal(kc.ca_file, want);
	assert_int_equal(kc.ca_data.len, 0);
	assert_false(kc.insecure);
	assert_string_equal(kc.token, "s3cret");
	assert_null(kc.token_file);
	assert_null(kc.cert_file);
	snprintf(want, sizeof(want), "kubeconfig %s, context p", p);
	assert_string_equal(kc.source, want);
	k8s_kubeconfig_free(&kc);
}

static void test_named_context(void **state)
{
	const char *p =
	    put("config", CLUSTERS USERS CONTEXTS "current-context: p\n");
	struct k8s_kubeconfig kc;
	char err[256] = "", want[300];

	(void)state;
	assert_int_equal(k8s_kubeconfig_load(p, "l", &kc, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://[::1]:8443");
	assert_null(kc.ca_file);
	assert_int_equal(kc.ca_data.len, 5);
	assert_memory_equal(kc.ca_data.data, "hello", 5);
	assert_true(kc.insecure);
	assert_null(kc.token);
	assert_string_equal(kc.token_file, "/run/token");
	snprintf(want, sizeof(want), "%s/robot.crt", dir);
	assert_string_equal(kc.cert_file, want);
	assert_int_equal(kc.key_data.len, 3);
	assert_memory_equal(kc.key_data.data, "key", 3);
	k8s_kubeconfig_free(&kc);
}

/* $KUBECONFIG: the first file with a name wins; missing files are skipped. */
static void test_file_list(void **state)
{
	const char *a = put("a", "current-context: l\n" CONTEXTS);
	const char *b = put("b", CLUSTERS USERS "current-context: p\n");
	struct k8s_kubeconfig kc;
	char list[800], err[256] = "";

	(void)state;
	snprintf(list, sizeof(list), "%s/missing:%s:%s", dir, a, b);
	assert_int_equal(k8s_kubeconfig_load(list, NULL, &kc, err, sizeof(err)),
			 0);
	assert_string_equal(kc.server, "https://[::1]:8443");
	k8s_kubeconfig_free(&kc);
}

static void assert_load_error(const char *text, const char *context,
			      const char *msg)
{
	const char *p = put("bad", text);
	struct k8s_kubeconfig kc;
	char err[512] = "", want[600];

	assert_int_equal(k8s_kubeconfig_load(p, context, &kc, err, sizeof(err)),
			 -1);
	/* a leading "%s" in msg stands for the file's path */
	if (!strncmp(msg, "%s", 2))
		snprintf(want, sizeof(want), "%s%s", p, msg + 2);
	else
		snprintf(want, sizeof(want), "%s", msg);
	assert_string_equal(err, want);
	assert_null(kc.server);
}

static void test_errors(void **state)
{
	struct k8s_kubeconfig kc;
	char err[512] = "";

	(void)state;
	assert_int_equal(
	    k8s_kubeconfig_load("/nonexistent/kc", NULL, &kc, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "cannot open kubeconfig /nonexistent/kc: No "
				 "such file or directory");
	assert_load_error(CLUSTERS USERS CONTEXTS, NULL,
			  "kubeconfig: no current-context (give --context "
			  "NAME)");
	assert_load_error(CLUSTERS USERS CONTEXTS, "zz",
			  "kubeconfig: context \"zz\" not found");
	assert_load_error(USERS CONTEXTS, "p",
			  "kubeconfig: cluster \"prod\" not found");
	assert_load_error(CLUSTERS CONTEXTS, "p",
			  "kubeconfig: user \"admin\" not found");
	assert_load_error("clusters:\n- name: c\n  cluster: {}\n"
			  "contexts:\n- name: x\n  context: {cluster: c}\n",
			  "x", "%s: cluster \"c\" has no server");
	assert_load_error(CLUSTERS CONTEXTS
			  "users:\n- name: admin\n  user:\n    exec:\n"
			  "      command: aws\n",
			  "p",
			  "%s: user \"admin\": exec is not supported (use a "
			  "token, a tokenFile or a client certificate)");
	assert_load_error(CLUSTERS CONTEXTS
			  "users:\n- name: admin\n  user:\n    token: [1]\n",
			  "p", "%s: user.token: expected a string");
	assert_load_error(
	    "clusters:\n- name: prod\n  cluster:\n    server: "
	    "https://h\n    insecure-skip-tls-verify: maybe\n" USERS CONTEXTS,
	    "p",
	    "%s: cluster.insecure-skip-tls-verify: \"maybe\" is "
	    "not true or false");
	assert_load_error(
	    "clusters:\n- name: prod\n  cluster:\n    server: "
	    "https://h\n    certificate-authority-data: a*b\n" USERS CONTEXTS,
	    "p",
	    "%s: cluster.certificate-authority-data: not "
	    "valid base64");
	assert_load_error("clusters: [\n", NULL,
			  "%s:2:1: not a valid kubeconfig: did not find "
			  "expected node content");
}

static void test_in_cluster(void **state)
{
	struct k8s_kubeconfig kc;
	char err[512] = "", want[300];

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(k8s_kubeconfig_in_cluster(dir, &kc, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "not in a cluster: KUBERNETES_SERVICE_HOST "
				 "and KUBERNETES_SERVICE_PORT are not set");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	unlink(put("token", "x"));
	assert_int_equal(k8s_kubeconfig_in_cluster(dir, &kc, err, sizeof(err)),
			 -1);
	snprintf(want, sizeof(want),
		 "in-cluster: cannot read %s/token: No such file or directory",
		 dir);
	assert_string_equal(err, want);
	put("token", "abc\n");
	assert_int_equal(k8s_kubeconfig_in_cluster(dir, &kc, err, sizeof(err)),
			 0);
	assert_string_equal(kc.server, "https://[fd00::1]:443");
	snprintf(want, sizeof(want), "%s/token", dir);
	assert_string_equal(kc.token_file, want);
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	assert_string_equal(kc.ca_file, want);
	k8s_kubeconfig_free(&kc);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

/* --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then in-cluster. */
static void test_resolve_order(void **state)
{
	const char *a =
	    put("a", CLUSTERS USERS CONTEXTS "current-context: p\n");
	struct k8s_kubeconfig kc;
	char err[512] = "", home[300];

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBECONFIG", a, 1);
	assert_int_equal(
	    k8s_kubeconfig_resolve(NULL, "l", &kc, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://[::1]:8443");
	k8s_kubeconfig_free(&kc);
	assert_int_equal(
	    k8s_kubeconfig_resolve("/nonexistent", NULL, &kc, err, sizeof(err)),
	    -1);
	unsetenv("KUBECONFIG");
	snprintf(home, sizeof(home), "%s/home", dir);
	setenv("HOME", home, 1);
	assert_int_equal(
	    k8s_kubeconfig_resolve(NULL, NULL, &kc, err, sizeof(err)), -1);
	assert_string_equal(err, "no kubeconfig: give --kubeconfig FILE, set "
				 "KUBECONFIG, or create ~/.kube/config (or run "
				 "in a Pod)");
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(strcat(home, "/.kube"), 0700), 0);
	put("home/.kube/config",
	    CLUSTERS USERS CONTEXTS "current-context: p\n");
	assert_int_equal(
	    k8s_kubeconfig_resolve(NULL, NULL, &kc, err, sizeof(err)), 0);
	assert_string_equal(kc.server, "https://127.0.0.1:6443");
	k8s_kubeconfig_free(&kc);
}

static void assert_b64(const char *in, const char *out)
{
	struct k8s_blob b = {0};

	assert_int_equal(k8s_base64_decode(in, &b), 0);
	assert_int_equal(b.len, strlen(out));
	assert_memory_equal(b.data, out, b.len);
	free(b.data);
}

static void test_base64(void **state)
{
	struct k8s_blob b = {0};

	(void)state;
	assert_b64("", "");
	assert_b64("Zg==", "f");
	assert_b64("Zm8=", "fo");
	assert_b64("Zm9v", "foo");
	assert_b64("Zm9v\nYmFy\n", "foobar");
	assert_b64("Zm9vYg", "foob"); /* padding left out */
	assert_int_equal(k8s_base64_decode("Zm9v!", &b), -1);
	assert_int_equal(k8s_base64_decode("Zg==Zg==", &b), -1);
	assert_int_equal(k8s_base64_decode("Z", &b), -1);
	assert_int_equal(k8s_base64_decode("Zh==", &b), -1); /* stray bits */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_current_context),
	    cmocka_unit_test(test_named_context),
	    cmocka_unit_test(test_file_list),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_in_cluster),
	    cmocka_unit_test(test_resolve_order),
	    cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests_name("k8s_kubeconfig", tests, setup,
					   teardown);
}
