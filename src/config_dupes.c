/*
 * config_dupes.c - two virtual services with one identity, or one name.
 *
 * Duplicates are found by sorting the services, by identity and by name,
 * so that half a million real servers load in O(n log n); a reload starts
 * from the previous snapshot's orders, which services taken over already
 * follow.  In the main file a duplicate is an error; in an include_dir
 * file it is refused alone and the first one stays.  The orders are kept
 * in the snapshot for lookups (xl_config_find) and the next reload.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif

#include "config_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- duplicates ------------------------------------------------------ */

/* Services by index, in identity or name order (ties: reading order). */
static int vs_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct xl_config *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = xl_service_cmp(&c->vs[x].svc, &c->vs[y].svc);

	return r ? r : (x > y) - (x < y);
}

static int name_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct xl_config *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(c->vs[x].name, c->vs[y].name);

	return r ? r : (x > y) - (x < y);
}

/*
 * The indexes of c's services in cmp's order.  Those taken over from prev
 * (vs[i].prev, set by cfg_include_reuse) are already in order in prev's index
 * (prev_order); only the others are sorted, then the two lists are merged:
 * a reload that changed k of n services costs O(n + k log k), not
 * O(n log n).  A service whose identity (or name) is unknown (an error was
 * reported) is left out.  NULL when out of memory.
 */
static size_t *vs_order(struct loader *ld, const size_t *prev_order,
			bool by_name, size_t *count)
{
	const struct xl_config *c = ld->c, *prev = ld->prev;
	int (*cmp)(const void *, const void *, void *) =
	    by_name ? name_idx_cmp : vs_idx_cmp;
	size_t n = c->nvs ? c->nvs : 1, np = 0, nf = 0, m = 0, i = 0, j = 0;
	size_t *out = malloc(n * sizeof(*out)),
	       *fresh = malloc(n * sizeof(*fresh));
	size_t *taken = malloc(n * sizeof(*taken)), *map = NULL;

	if (!out || !fresh || !taken)
		goto oom;
	if (prev && prev_order && prev->nvs) {
		if (!(map = malloc(prev->nvs * sizeof(*map))))
			goto oom;
		for (size_t p = 0; p < prev->nvs; p++)
			map[p] = XL_VS_NONE;
		for (size_t v = 0; v < c->nvs; v++)
			if (c->vs[v].prev != XL_VS_NONE)
				map[c->vs[v].prev] = v;
		for (size_t k = 0; k < prev->nvs; k++)
			if (map[prev_order[k]] != XL_VS_NONE)
				taken[np++] = map[prev_order[k]];
	}
	for (size_t v = 0; v < c->nvs; v++)
		if ((!map || c->vs[v].prev == XL_VS_NONE) &&
		    (by_name ? c->vs[v].name != NULL : c->vs[v].svc.af != 0))
			fresh[nf++] = v;
	qsort_r(fresh, nf, sizeof(*fresh), cmp, (void *)c);
	while (i < np || j < nf)
		out[m++] = j == nf || (i < np &&
				       cmp(&taken[i], &fresh[j], (void *)c) < 0)
			       ? taken[i++]
			       : fresh[j++];
	free(map);
	free(fresh);
	free(taken);
	*count = m;
	return out;
oom:
	free(out);
	free(fresh);
	free(taken);
	cfg_oom(ld);
	return NULL;
}

/* Equal by identity (or name)?  Two taken over from prev are distinct:
 * they were there already. */
static bool vs_same(const struct xl_vs_config *vs, size_t a, size_t b,
		    bool by_name)
{
	if (vs[a].prev != XL_VS_NONE && vs[b].prev != XL_VS_NONE)
		return false;
	return by_name ? !strcmp(vs[a].name, vs[b].name)
		       : !xl_service_cmp(&vs[a].svc, &vs[b].svc);
}

/* g[v]: the group of the services equal to v, numbered along order (in
 * which equal ones are next to each other); XL_VS_NONE for a service left
 * out of it.  true when a group has more than one. */
static bool vs_groups(const struct loader *ld, const size_t *order, size_t n,
		      bool by_name, size_t *g)
{
	const struct xl_vs_config *vs = ld->c->vs;
	size_t grp = 0;
	bool dupes = false;

	for (size_t v = 0; v < ld->c->nvs; v++)
		g[v] = XL_VS_NONE;
	for (size_t k = 0; k < n; k++) {
		if (k && vs_same(vs, order[k - 1], order[k], by_name))
			dupes = true;
		else if (k)
			grp++;
		g[order[k]] = grp;
	}
	return dupes;
}

/* v repeats first: an error in the main file; in an include_dir file, v
 * is refused alone. */
static void vs_dupe_report(struct loader *ld, size_t v, size_t first,
			   bool by_name)
{
	const struct xl_vs_config *a = &ld->c->vs[first], *b = &ld->c->vs[v];
	struct xl_errors *errs = ld->errs;
	bool refuse = v >= ld->main_nvs;
	const char *tail = refuse ? ": refused, the first one stays" : "";
	char buf[XL_ADDRSTR_MAX + 32];

	if (refuse)
		ld->errs = &ld->c->refused;
	if (by_name)
		cfg_err_at(ld, b->file, b->line,
			   "duplicate virtual service name \"%s\" (first "
			   "defined at %s:%d)%s",
			   b->name, a->file, a->line, tail);
	else
		cfg_err_at(ld, b->file, b->line,
			   "duplicate virtual service %s (first defined at "
			   "%s:%d)%s",
			   xl_service_format(&b->svc, buf, sizeof(buf)),
			   a->file, a->line, tail);
	if (!refuse)
		return;
	ld->errs = errs;
	ld->nerr--;
	if (!ld->drop[v])
		ld->c->nrefused_vs++;
	ld->drop[v] = true;
}

/*
 * In reading order, each service takes its identity and its name unless
 * one before it holds either: the main file wins, then the include_dir
 * files in name order.  One refused holds nothing, so a later service
 * equal only to it stands.
 */
static void vs_dupes_resolve(struct loader *ld, const size_t *gid,
			     const size_t *gname)
{
	size_t n = ld->c->nvs, *hid = malloc(n * sizeof(*hid));
	size_t *hname = malloc(n * sizeof(*hname));

	ld->drop = calloc(n, sizeof(*ld->drop));
	if (!hid || !hname || !ld->drop) {
		cfg_oom(ld);
		goto out;
	}
	for (size_t v = 0; v < n; v++)
		hid[v] = hname[v] = XL_VS_NONE;
	for (size_t v = 0; v < n; v++) {
		size_t *hi = gid[v] != XL_VS_NONE ? &hid[gid[v]] : NULL;
		size_t *hn = gname[v] != XL_VS_NONE ? &hname[gname[v]] : NULL;

		if (hi && *hi != XL_VS_NONE)
			vs_dupe_report(ld, v, *hi, false);
		if (hn && *hn != XL_VS_NONE)
			vs_dupe_report(ld, v, *hn, true);
		if (ld->drop[v])
			continue;
		if (hi && *hi == XL_VS_NONE)
			*hi = v;
		if (hn && *hn == XL_VS_NONE)
			*hn = v;
	}
out:
	free(hid);
	free(hname);
}

/* The refused duplicates out of the snapshot.  Their files' stamps
 * follow, and those files are read again at the next reload, so that the
 * refusal is reported again until it is fixed. */
static void vs_drop_refused(struct loader *ld)
{
	struct xl_config *c = ld->c;
	size_t *kept = malloc((c->nvs + 1) * sizeof(*kept)), w = 0;

	if (!kept) {
		cfg_oom(ld);
		return;
	}
	for (size_t v = 0; v < c->nvs; v++) {
		kept[v] = w;
		if (ld->drop[v])
			cfg_vs_free(&c->vs[v]);
		else
			c->vs[w++] = c->vs[v];
	}
	kept[c->nvs] = w;
	for (size_t i = 0; i < c->nstamps; i++) {
		struct xl_file_stamp *t = &c->stamps[i];
		size_t nvs = kept[t->vs_first + t->nvs] - kept[t->vs_first];

		t->reusable = t->reusable && nvs == t->nvs;
		t->vs_first = kept[t->vs_first];
		t->nvs = nvs;
	}
	c->nvs = w;
	free(kept);
}

/* Duplicates reported (or refused); the orders kept for lookups and the
 * next reload. */
void cfg_vs_dupes(struct loader *ld)
{
	struct xl_config *c = ld->c;
	const size_t *pid = ld->prev ? ld->prev->by_id : NULL;
	const size_t *pname = ld->prev ? ld->prev->by_name : NULL;
	size_t nid = 0, nname = 0, n = c->nvs ? c->nvs : 1;
	size_t *id = vs_order(ld, pid, false, &nid);
	size_t *name = vs_order(ld, pname, true, &nname);
	size_t *gid = malloc(n * sizeof(*gid)),
	       *gname = malloc(n * sizeof(*gname));

	if (!gid || !gname)
		cfg_oom(ld);
	else if (id && name &&
		 (vs_groups(ld, id, nid, false, gid) |
		  vs_groups(ld, name, nname, true, gname)))
		vs_dupes_resolve(ld, gid, gname);
	free(gid);
	free(gname);
	if (c->nrefused_vs && !ld->nerr && !ld->oom) {
		vs_drop_refused(ld);
		free(id);
		free(name);
		id = vs_order(ld, pid, false, &nid);
		name = vs_order(ld, pname, true, &nname);
	}
	if (ld->nerr || ld->oom || !id || !name || nid != c->nvs ||
	    nname != c->nvs) {
		free(id);
		free(name);
		return;
	}
	c->by_id = id;
	c->by_name = name;
}
