/*
 * config_reuse.c - what a reload may take over from the snapshot in force.
 *
 * An include_dir file whose stamp (device, inode, size, times) is the one
 * it had at the last load brought the same services: they are taken over,
 * shared and not parsed again.  After a reload, every service is linked to
 * its equal in the previous snapshot, so that what follows (IPVS, checks,
 * draining) can tell what is unchanged.
 */
#include "config_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- reuse of unchanged include files (xl_config_reload) -------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool status_eq(const struct xl_check_config *a,
		      const struct xl_check_config *b)
{
	if (a->nstatus != b->nstatus)
		return false;
	for (size_t i = 0; i < a->nstatus && i < XL_STATUS_MAX; i++)
		if (a->status[i].lo != b->status[i].lo ||
		    a->status[i].hi != b->status[i].hi)
			return false;
	return true;
}

/* The value of one key of the check types, in a and in b. */
static bool key_eq(const struct xl_check_key *key,
		   const struct xl_check_config *a,
		   const struct xl_check_config *b)
{
	const char *fa = (const char *)a + key->off;
	const char *fb = (const char *)b + key->off;

	switch (key->kind) {
	case XL_KEY_STR:
		return str_eq(*(char *const *)(const void *)fa,
			      *(char *const *)(const void *)fb);
	case XL_KEY_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case XL_KEY_STATUS:
		return status_eq(a, b);
	}
	return false;
}

/*
 * Every key of every type is compared, not only those of a's type: a
 * check's values are also what the levels below inherit, and a service
 * that turns a tcp check into an http one takes the path set above it.
 */
bool xl_check_equal(const struct xl_check_config *a,
		    const struct xl_check_config *b)
{
	const struct xl_check_key *const *keys;
	size_t n = xl_check_keys(&keys);

	if (a->type != b->type || a->interval != b->interval ||
	    a->timeout != b->timeout || a->fast_interval != b->fast_interval ||
	    a->down_interval != b->down_interval || a->rise != b->rise ||
	    a->fall != b->fall || a->initial_up != b->initial_up ||
	    a->has_connect_ip != b->has_connect_ip ||
	    a->connect_port != b->connect_port)
		return false;
	/* connect_ip means something only when set */
	if (a->has_connect_ip &&
	    (a->connect_af != b->connect_af ||
	     memcmp(&a->connect_ip, &b->connect_ip, sizeof(a->connect_ip))))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_eq(keys[i], a, b))
			return false;
	return true;
}

void cfg_stamp_of(const struct stat *st, struct xl_file_stamp *t)
{
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	t->size = (uint64_t)st->st_size;
	t->mtime_s = (int64_t)st->st_mtim.tv_sec;
	t->mtime_ns = (int64_t)st->st_mtim.tv_nsec;
	t->ctime_s = (int64_t)st->st_ctim.tv_sec;
	t->ctime_ns = (int64_t)st->st_ctim.tv_nsec;
}

static bool stamp_same(const struct xl_file_stamp *a,
		       const struct xl_file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
	       a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* Within STAMP_RACY_NS of now (or after it): it may change again unseen. */
#define STAMP_RACY_NS 100000000LL
bool cfg_stamp_recent(const struct xl_file_stamp *t)
{
	struct timespec now;
	int64_t n, m, c;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return true;
	n = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	m = t->mtime_s * 1000000000LL + t->mtime_ns;
	c = t->ctime_s * 1000000000LL + t->ctime_ns;
	return m > n - STAMP_RACY_NS || c > n - STAMP_RACY_NS;
}

void cfg_stamp_add(struct loader *ld, const struct xl_file_stamp *t)
{
	struct xl_config *c = ld->c;

	if (XL_GROW(c->stamps, ld->cap_stamps, c->nstamps + 1, 16) < 0) {
		cfg_oom(ld);
		return;
	}
	c->stamps[c->nstamps++] = *t;
}

static void vs_share(struct xl_vs_config *dst, const struct xl_vs_config *src)
{
	*dst = *src;
	dst->share->holders++;
}

/* prev's stamp of the file path, or NULL. */
static const struct xl_file_stamp *prev_stamp(struct loader *ld,
					      const char *path)
{
	const struct xl_config *prev = ld->prev;

	/* files come in name order both times: look after the last found */
	for (size_t k = 0; prev && k < prev->nstamps; k++) {
		size_t i = (ld->stamp_hint + k) % prev->nstamps;

		if (!strcmp(prev->stamps[i].file, path)) {
			ld->stamp_hint = i + 1;
			return &prev->stamps[i];
		}
	}
	return NULL;
}

/* The services prev read from the file of stamp p, taken over (shared,
 * not copied) under a stamp like t. */
static void take_over(struct loader *ld, const struct xl_file_stamp *p,
		      struct xl_file_stamp t)
{
	const struct xl_config *prev = ld->prev;

	/* the same name: the services taken over point at it */
	t.file = cfg_files_append(ld, cfg_shared_take((char *)p->file));
	if (!t.file) {
		cfg_oom(ld);
		return;
	}
	t.vs_first = ld->c->nvs;
	for (size_t i = p->vs_first; i < p->vs_first + p->nvs; i++) {
		struct xl_vs_config *vs = cfg_vs_slot(ld, false);

		if (!vs)
			return;
		vs_share(vs, &prev->vs[i]);
		vs->prev = i;
	}
	t.nvs = ld->c->nvs - t.vs_first;
	cfg_stamp_add(ld, &t);
}

/* The services prev read from the unchanged file t, taken over.  true when
 * it could be done, false to read the file instead. */
bool cfg_include_reuse(struct loader *ld, const char *path,
		       const struct xl_file_stamp *t)
{
	const struct xl_file_stamp *p;
	struct xl_file_stamp now = *t;

	if (!ld->prev || !ld->prev_inherit_same)
		return false;
	p = prev_stamp(ld, path);
	if (!p || !p->reusable || !stamp_same(p, t))
		return false;
	now.reusable = true;
	take_over(ld, p, now);
	ld->c->nreused++;
	return true;
}

/*
 * A file refused at a reload keeps what its last accepted version brought,
 * as it was: an edit gone wrong, or a write caught half-way, must not take
 * working services down.  The file is read again at the next reload.  The
 * number of services kept.
 */
size_t cfg_include_keep(struct loader *ld, const char *path)
{
	const struct xl_file_stamp *p = prev_stamp(ld, path);
	struct xl_file_stamp t = {0};
	size_t first = ld->c->nvs;

	if (!p || !p->nvs || first + p->nvs > ld->c->max_services)
		return 0;
	take_over(ld, p, t);
	return ld->c->nvs - first;
}

/* Services vs[from ..] out of the snapshot, as if never read. */
void cfg_vs_truncate(struct loader *ld, size_t from)
{
	while (ld->c->nvs > from)
		cfg_vs_free(&ld->c->vs[--ld->c->nvs]);
}

/* ---- what a reload left as it was ------------------------------------ */

static bool dest_same(const struct xl_dest *a, const struct xl_dest *b)
{
	return !xl_dest_cmp(a, b) && xl_dest_attrs_equal(a, b);
}

/* Equal in every setting, so equal in what follows from it (IPVS,
 * checks, draining, quorum, logs). */
static bool vs_equal(const struct xl_vs_config *a, const struct xl_vs_config *b)
{
	if (strcmp(a->name, b->name) || a->svc.ndests != b->svc.ndests ||
	    !xl_service_attrs_equal(&a->svc, &b->svc) ||
	    !xl_check_equal(&a->check, &b->check) ||
	    a->drain_timeout != b->drain_timeout ||
	    a->inhibit_on_failure != b->inhibit_on_failure ||
	    a->has_sorry != b->has_sorry || a->quorum != b->quorum ||
	    a->announce != b->announce || !cfg_vs_nft_equal(&a->nft, &b->nft) ||
	    (a->has_sorry && !dest_same(&a->sorry, &b->sorry)))
		return false;
	for (size_t i = 0; i < a->svc.ndests; i++)
		if (!dest_same(&a->svc.dests[i], &b->svc.dests[i]) ||
		    !xl_check_equal(xl_rs_check(a, i), xl_rs_check(b, i)))
			return false;
	return true;
}

/* Services copied from prev are known equal; the others are looked up. */
void cfg_link_prev(struct xl_config *c, const struct xl_config *prev)
{
	for (size_t i = 0; i < c->nvs; i++) {
		struct xl_vs_config *vs = &c->vs[i];
		const struct xl_vs_config *p;

		if (vs->prev == XL_VS_NONE &&
		    (p = xl_config_find(prev, &vs->svc)) && vs_equal(vs, p))
			vs->prev = (size_t)(p - prev->vs);
		c->nsame += vs->prev != XL_VS_NONE;
	}
}
