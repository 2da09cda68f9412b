/*
 * client_impl.h - what the parts of the API client share behind
 * k8s/client.h: the handle itself, and the one request and error path
 * that both the plain requests (client.c) and the paged LISTs (list.c)
 * go through, so that a LIST page is fetched, capped and reported exactly
 * as any other answer.
 */
#ifndef EXTLB_K8S_CLIENT_IMPL_H
#define EXTLB_K8S_CLIENT_IMPL_H

#include "k8s/client.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
	bool too_big;
};

struct k8s_client {
	const struct k8s_kubeconfig *kc;
	CURL *curl;
	long timeout;
	long status;
	char err[1024];
	const volatile sig_atomic_t *abort; /* non-zero: end the request */
	/* files written for credentials libcurl cannot take from memory */
	char *tmpfiles[3];
	size_t ntmp;
	struct buf resp;
};
/* ---- client.c ---------------------------------------------------------- */

/* The error of c set from fmt; always -1, to return. */
int __attribute__((format(printf, 2, 3)))
client_err(struct k8s_client *c, const char *fmt, ...);
/* One request; the answer in c->resp.  0 for a 2xx answer, else -1. */
int client_request(struct k8s_client *c, const char *method, const char *path,
		   const char *ctype, const char *body);
/* A large answer's buffer is not kept for the next (small) request. */
void client_resp_shrink(struct k8s_client *c);

#endif
