/*
 * k8s/kubeconfig.h - where the API server is and how to prove who we are:
 * from a kubeconfig file (as kubectl reads it) or, inside a Pod, from the
 * service account Kubernetes mounts.
 *
 * Credentials stay in memory and in the files they came from; nothing here
 * logs them.  Paths in a kubeconfig are made absolute against the file's
 * directory, as kubectl does.
 */
#ifndef EXTLB_K8S_KUBECONFIG_H
#define EXTLB_K8S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes that came from a *-data field (base64 decoded). */
struct k8s_blob {
	unsigned char *data;
	size_t len;
};

struct k8s_kubeconfig {
	char *source;  /* "kubeconfig FILE, context NAME" or "in-cluster" */
	char *server;  /* "https://host:port", no trailing slash */
	bool insecure; /* insecure-skip-tls-verify */
	char *ca_file;
	struct k8s_blob ca_data;
	char *token; /* a bearer token; NULL when token_file or none */
	char *token_file;
	char *cert_file;
	struct k8s_blob cert_data;
	char *key_file;
	struct k8s_blob key_data;
};

#define K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * Loads the context (NULL: current-context) of a kubeconfig.  paths is
 * one file or a colon-separated list as in $KUBECONFIG: each name is
 * looked up in the files in order, the first file that has it wins.
 * 0, or -1 with err filled.
 */
int k8s_kubeconfig_load(const char *paths, const char *context,
			struct k8s_kubeconfig *kc, char *err, size_t len);

/* The Pod's service account: KUBERNETES_SERVICE_HOST/_PORT and the token
 * and CA under sa_dir.  0, or -1 with err filled. */
int k8s_kubeconfig_in_cluster(const char *sa_dir, struct k8s_kubeconfig *kc,
			      char *err, size_t len);

/*
 * What extlb-k8s uses: --kubeconfig (path, may be NULL), else $KUBECONFIG,
 * else ~/.kube/config when it exists, else the in-cluster service account.
 */
int k8s_kubeconfig_resolve(const char *path, const char *context,
			   struct k8s_kubeconfig *kc, char *err, size_t len);

void k8s_kubeconfig_free(struct k8s_kubeconfig *kc);

/* RFC 4648 base64 (blanks and newlines ignored).  0, or -1 on bad input. */
int k8s_base64_decode(const char *in, struct k8s_blob *out);

#endif
