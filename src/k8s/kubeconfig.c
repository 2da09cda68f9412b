/*
 * kubeconfig.c - the API server's address and our credentials, from a
 * kubeconfig file (libyaml) or from a Pod's service account.
 *
 * A kubeconfig is read the way kubectl reads it, for the parts extlb-k8s
 * supports: $KUBECONFIG may list several files, and a name (the current
 * context, a context, a cluster, a user) is taken from the first file
 * that has it; relative paths are relative to the file they appear in.
 * Authentication plugins (exec, auth-provider) run arbitrary programs and
 * are refused with a clear message rather than half supported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/kubeconfig.h"
#include "k8s/log.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_FILES 16

struct kfile {
	char *path;
	char *dir; /* for relative paths in it */
	yaml_document_t doc;
};

struct kcfg {
	struct kfile files[MAX_FILES];
	size_t n;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
kerr(struct kcfg *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->err, k->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- YAML helpers ------------------------------------------------------ */

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE
		   ? (const char *)n->data.scalar.value
		   : NULL;
}

/* map[key], or NULL when map is not a mapping or has no such key. */
static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map,
			    const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/*
 * The entry called name in a list such as "clusters", as its inner
 * mapping ("cluster"); *file says which file had it.  NULL when no file
 * has it.
 */
static yaml_node_t *named(struct kcfg *k, const char *list, const char *name,
			  const char *inner, struct kfile **file)
{
	for (size_t i = 0; i < k->n; i++) {
		yaml_document_t *d = &k->files[i].doc;
		yaml_node_t *seq =
		    map_get(d, yaml_document_get_root_node(d), list);

		if (!seq || seq->type != YAML_SEQUENCE_NODE)
			continue;
		for (yaml_node_item_t *it = seq->data.sequence.items.start;
		     it < seq->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(d, *it);
			const char *n = scalar(map_get(d, e, "name"));

			if (n && !strcmp(n, name)) {
				*file = &k->files[i];
				return map_get(d, e, inner);
			}
		}
	}
	return NULL;
}

/* A string field of node: 1 (in *out), 0 absent, -1 not a string. */
static int field(struct kcfg *k, struct kfile *f, yaml_node_t *node,
		 const char *what, const char *key, const char **out)
{
	yaml_node_t *v = map_get(&f->doc, node, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!(*out = scalar(v)))
		return kerr(k, "%s: %s.%s: expected a string", f->path, what,
			    key);
	return 1;
}

/* A path field, made absolute against the kubeconfig's directory. */
static int path_field(struct kcfg *k, struct kfile *f, yaml_node_t *node,
		      const char *what, const char *key, char **out)
{
	const char *v;
	int r = field(k, f, node, what, key, &v);

	*out = NULL;
	if (r <= 0 || !*v)
		return r < 0 ? -1 : 0;
	if (v[0] == '/' ? asprintf(out, "%s", v) < 0
			: asprintf(out, "%s/%s", f->dir, v) < 0) {
		*out = NULL;
		return kerr(k, "out of memory");
	}
	return 1;
}

/* A *-data field, decoded from base64. */
static int data_field(struct kcfg *k, struct kfile *f, yaml_node_t *node,
		      const char *what, const char *key, struct k8s_blob *out)
{
	const char *v;
	int r = field(k, f, node, what, key, &v);

	if (r <= 0 || !*v)
		return r < 0 ? -1 : 0;
	if (k8s_base64_decode(v, out) < 0)
		return kerr(k, "%s: %s.%s: not valid base64", f->path, what,
			    key);
	return 1;
}

/* YAML 1.1 booleans, as kubectl's YAML library reads them. */
static int bool_field(struct kcfg *k, struct kfile *f, yaml_node_t *node,
		      const char *what, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
					  "YES",  "on",	  "On",	  "ON",	 NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no",
					 "No",	  "NO",	   "off",   "Off",
					 "OFF",	  NULL};
	const char *v;
	int r = field(k, f, node, what, key, &v);

	*out = false;
	if (r <= 0)
		return r;
	for (size_t i = 0; yes[i]; i++) {
		if (!strcmp(v, yes[i]))
			return *out = true, 1;
	}
	for (size_t i = 0; no[i]; i++) {
		if (!strcmp(v, no[i]))
			return 1;
	}
	return kerr(k, "%s: %s.%s: \"%s\" is not true or false", f->path, what,
		    key, v);
}

/* ---- files ------------------------------------------------------------- */

static int load_file(struct kcfg *k, const char *path)
{
	struct kfile *f = &k->files[k->n];
	yaml_parser_t p;
	char *tmp;
	FILE *fp;
	int ok;

	fp = fopen(path, "r");
	if (!fp)
		return kerr(k, "cannot open kubeconfig %s: %s", path,
			    strerror(errno));
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, fp);
	ok = yaml_parser_load(&p, &f->doc);
	if (!ok)
		kerr(k, "%s:%zu:%zu: not a valid kubeconfig: %s", path,
		     p.problem_mark.line + 1, p.problem_mark.column + 1,
		     p.problem ? p.problem : "YAML error");
	yaml_parser_delete(&p);
	fclose(fp);
	if (!ok)
		return -1;
	/* dirname() may change its argument: give it a copy */
	tmp = strdup(path);
	f->path = strdup(path);
	f->dir = tmp ? strdup(dirname(tmp)) : NULL;
	free(tmp);
	if (!f->path || !f->dir) {
		free(f->path);
		free(f->dir);
		yaml_document_delete(&f->doc);
		return kerr(k, "out of memory");
	}
	k->n++;
	return 0;
}

/*
 * Every file of a colon-separated list.  As kubectl does, names in a list
 * that do not exist are skipped; a single name must exist.
 */
static int load_files(struct kcfg *k, const char *paths)
{
	char *copy = strdup(paths), *save = NULL, *p;
	bool list = strchr(paths, ':') != NULL;
	int r = 0;

	if (!copy)
		return kerr(k, "out of memory");
	for (p = strtok_r(copy, ":", &save); p && r == 0;
	     p = strtok_r(NULL, ":", &save)) {
		if (list && access(p, F_OK) != 0)
			continue;
		if (k->n == MAX_FILES)
			r = kerr(k, "more than %d kubeconfig files", MAX_FILES);
		else
			r = load_file(k, p);
	}
	free(copy);
	if (r == 0 && !k->n)
		r = kerr(k, "none of the kubeconfig files %s exists", paths);
	return r;
}

static void kcfg_free(struct kcfg *k)
{
	for (size_t i = 0; i < k->n; i++) {
		yaml_document_delete(&k->files[i].doc);
		free(k->files[i].path);
		free(k->files[i].dir);
	}
}

/* ---- clusters, users, contexts ---------------------------------------- */

static int load_cluster(struct kcfg *k, const char *name,
			struct k8s_kubeconfig *kc)
{
	struct kfile *f = NULL;
	yaml_node_t *c = named(k, "clusters", name, "cluster", &f);
	const char *server;
	size_t n;

	if (!c)
		return kerr(k, "kubeconfig: cluster \"%s\" not found", name);
	if (field(k, f, c, "cluster", "server", &server) <= 0 || !*server)
		return k->err[0] ? -1
				 : kerr(k, "%s: cluster \"%s\" has no server",
					f->path, name);
	n = strlen(server);
	while (n && server[n - 1] == '/')
		n--;
	if (!(kc->server = strndup(server, n)))
		return kerr(k, "out of memory");
	if (path_field(k, f, c, "cluster", "certificate-authority",
		       &kc->ca_file) < 0 ||
	    data_field(k, f, c, "cluster", "certificate-authority-data",
		       &kc->ca_data) < 0 ||
	    bool_field(k, f, c, "cluster", "insecure-skip-tls-verify",
		       &kc->insecure) < 0)
		return -1;
	if (map_get(&f->doc, c, "proxy-url"))
		return kerr(k, "%s: cluster \"%s\": proxy-url is not supported",
			    f->path, name);
	return 0;
}

static int load_user(struct kcfg *k, const char *name,
		     struct k8s_kubeconfig *kc)
{
	static const char *const plugins[] = {"exec", "auth-provider",
					      "username", "password", NULL};
	struct kfile *f = NULL;
	yaml_node_t *u = named(k, "users", name, "user", &f);
	const char *token;

	if (!u)
		return kerr(k, "kubeconfig: user \"%s\" not found", name);
	for (size_t i = 0; plugins[i]; i++) {
		if (map_get(&f->doc, u, plugins[i]))
			return kerr(k,
				    "%s: user \"%s\": %s is not supported "
				    "(use a token, a tokenFile or a client "
				    "certificate)",
				    f->path, name, plugins[i]);
	}
	if (field(k, f, u, "user", "token", &token) < 0 ||
	    path_field(k, f, u, "user", "tokenFile", &kc->token_file) < 0 ||
	    path_field(k, f, u, "user", "client-certificate", &kc->cert_file) <
		0 ||
	    data_field(k, f, u, "user", "client-certificate-data",
		       &kc->cert_data) < 0 ||
	    path_field(k, f, u, "user", "client-key", &kc->key_file) < 0 ||
	    data_field(k, f, u, "user", "client-key-data", &kc->key_data) < 0)
		return -1;
	if (token && *token && !(kc->token = strdup(token)))
		return kerr(k, "out of memory");
	return 0;
}

static int load_context(struct kcfg *k, const char *context,
			struct k8s_kubeconfig *kc)
{
	struct kfile *f = NULL;
	const char *cluster, *user;
	yaml_node_t *c;

	for (size_t i = 0; !context && i < k->n; i++) {
		yaml_document_t *d = &k->files[i].doc;
		const char *cur = scalar(map_get(
		    d, yaml_document_get_root_node(d), "current-context"));

		if (cur && *cur)
			context = cur;
	}
	if (!context)
		return kerr(k, "kubeconfig: no current-context (give "
			       "--context NAME)");
	c = named(k, "contexts", context, "context", &f);
	if (!c)
		return kerr(k, "kubeconfig: context \"%s\" not found", context);
	if (field(k, f, c, "context", "cluster", &cluster) <= 0)
		return k->err[0] ? -1
				 : kerr(k, "%s: context \"%s\" has no cluster",
					f->path, context);
	if (field(k, f, c, "context", "user", &user) < 0)
		return -1;
	if (asprintf(&kc->source, "kubeconfig %s, context %s", f->path,
		     context) < 0) {
		kc->source = NULL;
		return kerr(k, "out of memory");
	}
	if (load_cluster(k, cluster, kc) < 0)
		return -1;
	return user && *user ? load_user(k, user, kc) : 0;
}

int k8s_kubeconfig_load(const char *paths, const char *context,
			struct k8s_kubeconfig *kc, char *err, size_t len)
{
	struct kcfg k = {.err = err, .errlen = len};
	int r;

	memset(kc, 0, sizeof(*kc));
	err[0] = 0;
	r = load_files(&k, paths);
	if (r == 0)
		r = load_context(&k, context, kc);
	kcfg_free(&k);
	if (r < 0)
		k8s_kubeconfig_free(kc);
	return r;
}

int k8s_kubeconfig_in_cluster(const char *sa_dir, struct k8s_kubeconfig *kc,
			      char *err, size_t len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	int n;

	memset(kc, 0, sizeof(*kc));
	if (!host || !*host || !port || !*port) {
		snprintf(err, len,
			 "not in a cluster: KUBERNETES_SERVICE_HOST "
			 "and KUBERNETES_SERVICE_PORT are not set");
		return -1;
	}
	/* an IPv6 service address needs brackets in a URL */
	n = asprintf(&kc->server,
		     strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
		     host, port);
	if (n < 0 || asprintf(&kc->ca_file, "%s/ca.crt", sa_dir) < 0 ||
	    asprintf(&kc->token_file, "%s/token", sa_dir) < 0 ||
	    !(kc->source = strdup("in-cluster service account"))) {
		snprintf(err, len, "out of memory");
		k8s_kubeconfig_free(kc);
		return -1;
	}
	if (access(kc->token_file, R_OK) != 0) {
		snprintf(err, len, "in-cluster: cannot read %s: %s",
			 kc->token_file, strerror(errno));
		k8s_kubeconfig_free(kc);
		return -1;
	}
	return 0;
}

int k8s_kubeconfig_resolve(const char *path, const char *context,
			   struct k8s_kubeconfig *kc, char *err, size_t len)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char *def = NULL;
	int r;

	if (path)
		return k8s_kubeconfig_load(path, context, kc, err, len);
	if (env && *env)
		return k8s_kubeconfig_load(env, context, kc, err, len);
	if (home && asprintf(&def, "%s/.kube/config", home) < 0)
		def = NULL;
	if (def && access(def, F_OK) == 0) {
		r = k8s_kubeconfig_load(def, context, kc, err, len);
		free(def);
		return r;
	}
	free(def);
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return k8s_kubeconfig_in_cluster(K8S_SA_DIR, kc, err, len);
	snprintf(err, len,
		 "no kubeconfig: give --kubeconfig FILE, set "
		 "KUBECONFIG, or create ~/.kube/config (or run in a Pod)");
	memset(kc, 0, sizeof(*kc));
	return -1;
}

static void blob_free(struct k8s_blob *b)
{
	if (b->data)
		memset(b->data, 0, b->len); /* keys and certificates */
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void k8s_kubeconfig_free(struct k8s_kubeconfig *kc)
{
	free(kc->source);
	free(kc->server);
	free(kc->ca_file);
	blob_free(&kc->ca_data);
	if (kc->token)
		memset(kc->token, 0, strlen(kc->token));
	free(kc->token);
	free(kc->token_file);
	free(kc->cert_file);
	blob_free(&kc->cert_data);
	free(kc->key_file);
	blob_free(&kc->key_data);
	memset(kc, 0, sizeof(*kc));
}

/* ---- base64 ------------------------------------------------------------ */

static int b64_value(char c)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int k8s_base64_decode(const char *in, struct k8s_blob *out)
{
	size_t n = strlen(in), len = 0, pad = 0;
	unsigned char *buf = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	if (!buf)
		return -1;
	for (; *in; in++) {
		int v;

		if (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t')
			continue;
		if (*in == '=') {
			pad++;
			continue;
		}
		v = b64_value(*in);
		if (v < 0 || pad)
			goto fail; /* nothing but padding after padding */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (unsigned char)(acc >> bits);
		}
	}
	/* leftover bits must be zero padding of a 2- or 3-character tail */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) || pad > 2)
		goto fail;
	out->data = buf;
	out->len = len;
	return 0;
fail:
	free(buf);
	return -1;
}
