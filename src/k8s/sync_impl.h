/*
 * sync_impl.h - what the parts of a pass share behind k8s/sync.h: the
 * pass itself (sync.c: LIST, render, write, reload, in that order) and
 * what it says to the API server after the file is in place (status.c:
 * status PATCHes and Events), so that the order of apply stays in one
 * function while the writes keep their own file.
 */
#ifndef EXTLB_K8S_SYNC_IMPL_H
#define EXTLB_K8S_SYNC_IMPL_H

#include "k8s/sync.h"

#include <stdbool.h>
#include <stddef.h>

/* "namespace/name": 63 + 1 + 253 characters at most, and a NUL */
#define KEY_MAX 320

/* ---- status.c ---------------------------------------------------------- */

/* What the published cache holds of a Service: its VIP, or its two
 * joined by ",". */
void sync_published_vips(const struct k8s_publish *p, char *buf, size_t len);
/* Remembers that the Service's status shows our VIP (see status.c). */
int sync_remember(struct k8s_state *st, const char *key, const char *vip,
		  const char *rv);
/* Whether vip was PATCHed into the Service when the cache held it at rv. */
bool sync_patched_already(const struct k8s_state *st, const char *key,
			  const char *vip, const char *rv);
/* The status PATCHed to show the VIP, with a Normal Event when new. */
int sync_publish(struct k8s_client *c, struct k8s_state *st,
		 const struct k8s_publish *p);
/* Every pending Service and notice of the plan told, once. */
int sync_tell_all(struct k8s_client *c, struct k8s_state *st,
		  const struct k8s_plan *plan);
/* The status of each pending Service cleared. */
int sync_clear_pending(struct k8s_client *c, struct k8s_state *st,
		       const struct k8s_plan *plan);
/* The status of each Service that stopped being ours cleared. */
int sync_clear_unselected(struct k8s_client *c, const struct k8s_sync_opts *o,
			  struct k8s_state *st);

#endif
