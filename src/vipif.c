/*
 * vipif.c - which VIPs belong on vip_interface, and keeping them there.
 *
 * The configuration's services with an address (fwmark services have none)
 * are indexed by VIP once per snapshot (claims, sorted by address), so the
 * services that share a VIP are neighbours.  A VIP is wanted while one of
 * them wants it: announce = "always", or "quorum" and the live weight of
 * its servers (xl_desired_live: up, not in maintenance) at least its quorum.
 * What the engine believes is extlbd's on the interface (have, sorted) comes
 * from the last dump and every change the kernel acknowledged since.  A full
 * run dumps the interface and merges; a narrow run (health change,
 * reload) looks only at the VIPs of the services named, so its cost
 * follows the change.  Addresses without extlbd's mark are never deleted,
 * and a VIP that is already there without it is left to its owner.
 */
#include "vipif.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* above this many changes at once, each is logged at debug */
#define XL_VIP_OPS_LOGGED 200

struct claim {
	struct xl_vip vip;
	size_t v; /* index into cfg->vs */
};

struct xl_vipif {
	const struct xl_vipif_ops *ops;
	void *k;

	const struct xl_config *cfg; /* what claims were built from */
	struct claim *claims;
	size_t nclaims;

	char name[IFNAMSIZ]; /* the interface in use, "" none */
	int ifindex;	     /* 0: not had (yet) */
	struct xl_vip *have; /* extlbd's addresses on it, sorted */
	size_t nhave, cap;
	bool known;	   /* have is the kernel's (a dump since) */
	int link_err;	   /* last error logged for the interface */
	bool proto_warned; /* the kernel forgot our mark: said once */
	bool proto_seen;   /* a dump showed our mark: the kernel keeps it */
};

int xl_vip_cmp(const struct xl_vip *a, const struct xl_vip *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(&a->addr, &b->addr,
		      a->af == AF_INET6 ? sizeof(a->addr.v6)
					: sizeof(a->addr.v4));
}

const char *xl_vip_format(const struct xl_vip *a, char *buf, size_t len)
{
	char s[XL_ADDRSTR_MAX];

	snprintf(buf, len, "%s/%d",
		 xl_addr_format(a->af, &a->addr, s, sizeof(s)),
		 a->af == AF_INET6 ? 128 : 32);
	return buf;
}

static int claim_qcmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int c = xl_vip_cmp(&x->vip, &y->vip);

	return c ? c : (x->v > y->v) - (x->v < y->v);
}

static int vip_qcmp(const void *a, const void *b)
{
	return xl_vip_cmp(a, b);
}

static struct xl_vip vip_of(const struct xl_service *s)
{
	struct xl_vip a = {.af = s->af};

	if (s->af == AF_INET6)
		a.addr.v6 = s->addr.v6;
	else
		a.addr.v4 = s->addr.v4;
	return a;
}

struct xl_vipif *xl_vipif_new(const struct xl_vipif_ops *ops, void *k)
{
	struct xl_vipif *v = calloc(1, sizeof(*v));

	if (v) {
		v->ops = ops;
		v->k = k;
	}
	return v;
}

void xl_vipif_free(struct xl_vipif *v)
{
	if (!v)
		return;
	free(v->claims);
	free(v->have);
	free(v);
}

const struct xl_vip *xl_vipif_have(const struct xl_vipif *v, size_t *n)
{
	*n = v->nhave;
	return v->have;
}

/* ---- what is wanted ---------------------------------------------------- */

static int build_claims(struct xl_vipif *v, const struct xl_config *cfg)
{
	struct claim *c = malloc((cfg->nvs ? cfg->nvs : 1) * sizeof(*c));
	size_t n = 0;

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nvs; i++)
		if (!cfg->vs[i].svc.fwmark)
			c[n++] = (struct claim){vip_of(&cfg->vs[i].svc), i};
	qsort(c, n, sizeof(*c), claim_qcmp);
	free(v->claims);
	v->claims = c;
	v->nclaims = n;
	v->cfg = cfg;
	return 0;
}

/* Does service i want its VIP on the interface now? */
static bool vs_wants(const struct xl_desired *w, size_t i)
{
	const struct xl_vs_config *vs = &w->cfg->vs[i];

	return vs->announce == XL_ANNOUNCE_ALWAYS ||
	       xl_desired_live(w, i) >= vs->quorum;
}

/* The first claim of a, or where it would be. */
static size_t claims_first(const struct xl_vipif *v, const struct xl_vip *a)
{
	size_t lo = 0, hi = v->nclaims;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (xl_vip_cmp(&v->claims[mid].vip, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool claimed(const struct xl_vipif *v, const struct xl_vip *a)
{
	size_t i = claims_first(v, a);

	return i < v->nclaims && !xl_vip_cmp(&v->claims[i].vip, a);
}

/* Is a wanted: does one of the services claiming it want it? */
static bool vip_wanted(const struct xl_vipif *v, const struct xl_desired *w,
		       const struct xl_vip *a)
{
	for (size_t i = claims_first(v, a);
	     i < v->nclaims && !xl_vip_cmp(&v->claims[i].vip, a); i++)
		if (vs_wants(w, v->claims[i].v))
			return true;
	return false;
}

/* ---- what extlbd has on the interface ----------------------------------- */

static size_t have_pos(const struct xl_vipif *v, const struct xl_vip *a,
		       bool *found)
{
	size_t lo = 0, hi = v->nhave;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = xl_vip_cmp(&v->have[mid], a);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void have_set(struct xl_vipif *v, const struct xl_vip *a, bool on)
{
	bool found;
	size_t at = have_pos(v, a, &found);

	if (on && !found) {
		if (XL_GROW(v->have, v->cap, v->nhave + 1, 1) < 0) {
			v->known = false; /* the next run dumps */
			return;
		}
		memmove(&v->have[at + 1], &v->have[at],
			(v->nhave - at) * sizeof(*v->have));
		v->have[at] = *a;
		v->nhave++;
	} else if (!on && found) {
		memmove(&v->have[at], &v->have[at + 1],
			(v->nhave - at - 1) * sizeof(*v->have));
		v->nhave--;
	}
}

/* ---- applying ------------------------------------------------------------ */

struct run {
	struct xl_vipif *v;
	bool *refused; /* by op */
	const struct xl_vip_op *ops;
};

static void op_refused(const struct xl_vip_op *op, int err, void *arg)
{
	struct run *r = arg;
	char a[XL_ADDRSTR_MAX + 8];

	r->refused[op - r->ops] = true;
	if (err == ENODEV) /* the interface went: the next run makes it */
		r->v->known = false;
	xl_vip_format(&op->vip, a, sizeof(a));
	if (op->kind == XL_VIP_ADD && err == EEXIST)
		xl_info("vip_interface %s: %s is there already, not added by "
			"extlbd: left to its owner",
			r->v->name, a);
	else if (op->kind == XL_VIP_DEL && err == EADDRNOTAVAIL)
		xl_info("vip_interface %s: %s was gone already", r->v->name, a);
	else
		xl_err("vip_interface %s: %s %s: %s", r->v->name,
		       op->kind == XL_VIP_ADD ? "adding" : "deleting", a,
		       strerror(err));
}

/* ops applied, logged, and what the kernel took remembered. */
static int apply(struct xl_vipif *v, const struct xl_vip_op *ops, size_t n)
{
	struct run r = {.v = v, .ops = ops};
	char a[XL_ADDRSTR_MAX + 8];
	size_t count[2] = {0, 0}; /* deleted, added */
	long rc;

	if (!n)
		return 0;
	if (!(r.refused = calloc(n, sizeof(*r.refused)))) {
		v->known = false;
		return -ENOMEM;
	}
	rc = v->ops->apply(v->k, v->ifindex, ops, n, op_refused, &r);
	if (rc < 0) {
		xl_err("vip_interface %s: %s", v->name, strerror((int)-rc));
		v->known = false; /* what was taken is unknown: dump next */
		free(r.refused);
		return (int)rc;
	}
	for (size_t i = 0; i < n; i++) {
		bool add = ops[i].kind == XL_VIP_ADD;

		/* a delete that found nothing leaves nothing either */
		if (!r.refused[i] || !add)
			have_set(v, &ops[i].vip, add && !r.refused[i]);
		if (r.refused[i])
			continue;
		count[add]++;
		xl_log(n > XL_VIP_OPS_LOGGED ? XL_LOG_DEBUG : XL_LOG_INFO,
		       "vip_interface %s: %s %s", v->name,
		       add ? "added" : "deleted",
		       xl_vip_format(&ops[i].vip, a, sizeof(a)));
	}
	if (n > XL_VIP_OPS_LOGGED)
		xl_info("vip_interface %s: %zu addresses added, %zu deleted, "
			"%ld refused",
			v->name, count[1], count[0], rc);
	free(r.refused);
	return 0;
}

/* ---- the interface ----------------------------------------------------- */

static void link_error(struct xl_vipif *v, int err)
{
	if (err == v->link_err)
		return; /* said already: the resync tries again quietly */
	v->link_err = err;
	if (err == EMEDIUMTYPE)
		xl_err("vip_interface \"%s\": an interface of that name "
		       "exists and is not a dummy: it is not taken over, and "
		       "no VIP is put on it (IPVS services are programmed "
		       "all the same)",
		       v->name);
	else
		xl_err("vip_interface \"%s\": %s: no VIP is put on it (IPVS "
		       "services are programmed all the same)",
		       v->name, strerror(err));
}

/* extlbd's addresses off the interface, and the interface gone when
 * extlbd made it and nothing else is on it. */
/* Notes whether the kernel keeps our mark: one of ours came back with it. */
static void saw(struct xl_vipif *v, const struct xl_vip_addr *a, size_t n)
{
	for (size_t i = 0; i < n && !v->proto_seen; i++)
		v->proto_seen = a[i].ours;
}

/* Is a extlbd's?  Marked so (IFA_PROTO), or, on a kernel before Linux
 * 6.1 that returns every address unmarked (no mark seen yet), added and
 * acknowledged in this run. */
static bool is_mine(const struct xl_vipif *v, const struct xl_vip_addr *a)
{
	bool had = false;

	if (a->ours)
		return true;
	if (v->known && !v->proto_seen)
		have_pos(v, &a->vip, &had);
	return had;
}

static void take_down(struct xl_vipif *v, bool unlink)
{
	struct xl_vip_addr *addrs = NULL;
	struct xl_vip_op *ops;
	size_t n = 0, nops = 0, foreign = 0;
	int rc;

	if (!v->name[0] || v->ifindex <= 0)
		return;
	if ((rc = v->ops->dump(v->k, v->ifindex, &addrs, &n)) < 0) {
		xl_err("vip_interface %s: reading its addresses: %s", v->name,
		       strerror(-rc));
		return;
	}
	saw(v, addrs, n);
	ops = malloc((n ? n : 1) * sizeof(*ops));
	for (size_t i = 0; ops && i < n; i++) {
		if (is_mine(v, &addrs[i]))
			ops[nops++] =
			    (struct xl_vip_op){XL_VIP_DEL, addrs[i].vip};
		else
			foreign++;
	}
	free(addrs);
	if (!ops || apply(v, ops, nops) < 0) {
		free(ops);
		return;
	}
	free(ops);
	if (unlink && !foreign) {
		rc = v->ops->unlink(v->k, v->name);
		if (rc > 0)
			xl_info("vip_interface %s: deleted (extlbd made it)",
				v->name);
		else if (rc < 0)
			xl_err("vip_interface %s: deleting it: %s", v->name,
			       strerror(-rc));
	}
	v->nhave = 0;
	v->known = false;
}

/* Follows the configuration: claims for a new snapshot, and a new or no
 * interface.  true when only a full run will do. */
static bool follow(struct xl_vipif *v, const struct xl_desired *w)
{
	const char *name = w->cfg->vip_interface ? w->cfg->vip_interface : "";
	bool full = false;

	if (strcmp(name, v->name)) {
		if (v->name[0])
			xl_info("vip_interface %s: no longer in use, extlbd's "
				"addresses leave it",
				v->name);
		take_down(v, true);
		snprintf(v->name, sizeof(v->name), "%s", name);
		v->ifindex = 0;
		v->link_err = 0;
		v->nhave = 0;
		v->known = false;
		v->cfg = NULL; /* claims are built again for it */
		full = true;
	}
	if (!v->name[0])
		return false;
	if (v->cfg != w->cfg && build_claims(v, w->cfg) < 0) {
		v->cfg = NULL; /* built again next time */
		xl_err("vip_interface %s: out of memory", v->name);
		return true;
	}
	return full || !v->known;
}

/* The dump of the interface: extlbd's addresses into have (sorted), the
 * others into foreign (sorted). */
static int read_back(struct xl_vipif *v, struct xl_vip **foreign,
		     size_t *nforeign)
{
	struct xl_vip_addr *addrs = NULL;
	struct xl_vip *mine, *fr;
	size_t n = 0, nm = 0, nf = 0;
	int rc = v->ops->dump(v->k, v->ifindex, &addrs, &n);

	if (rc < 0) {
		xl_err("vip_interface %s: reading its addresses: %s", v->name,
		       strerror(-rc));
		return rc;
	}
	mine = malloc((n ? n : 1) * sizeof(*mine));
	fr = malloc((n ? n : 1) * sizeof(*fr));
	if (!mine || !fr) {
		free(mine);
		free(fr);
		free(addrs);
		return -ENOMEM;
	}
	saw(v, addrs, n);
	for (size_t i = 0; i < n; i++) {
		if (!is_mine(v, &addrs[i])) {
			fr[nf++] = addrs[i].vip;
			continue;
		}
		mine[nm++] = addrs[i].vip;
		if (!addrs[i].ours && !v->proto_warned) {
			v->proto_warned = true;
			xl_warn(
			    "vip_interface %s: the kernel does not keep the "
			    "protocol of addresses (IFA_PROTO, Linux 6.1): "
			    "extlbd knows the addresses it added while it "
			    "runs, but after a restart it takes those "
			    "already there for someone else's and never "
			    "deletes them",
			    v->name);
		}
	}
	free(addrs);
	qsort(mine, nm, sizeof(*mine), vip_qcmp);
	qsort(fr, nf, sizeof(*fr), vip_qcmp);
	free(v->have);
	v->have = mine;
	v->nhave = nm;
	v->cap = n ? n : 1;
	*foreign = fr;
	*nforeign = nf;
	return 0;
}

static bool in_sorted(const struct xl_vip *t, size_t n, const struct xl_vip *a)
{
	return bsearch(a, t, n, sizeof(*t), vip_qcmp) != NULL;
}

/* The op that brings a to what is wanted, if any. */
static bool op_for(const struct xl_vipif *v, const struct xl_desired *w,
		   const struct xl_vip *a, struct xl_vip_op *op)
{
	bool want = vip_wanted(v, w, a), have;

	have_pos(v, a, &have);
	if (want == have)
		return false;
	*op = (struct xl_vip_op){want ? XL_VIP_ADD : XL_VIP_DEL, *a};
	return true;
}

int xl_vipif_sync(struct xl_vipif *v, const struct xl_desired *want)
{
	struct xl_vip *foreign = NULL;
	struct xl_vip_op *ops;
	size_t nforeign = 0, nops = 0;
	int rc;

	if (!v)
		return 0;
	follow(v, want);
	if (!v->name[0] || !v->cfg)
		return 0;
	if ((rc = v->ops->link(v->k, v->name)) < 0) {
		link_error(v, -rc);
		v->ifindex = 0;
		v->known = false;
		return -1;
	}
	v->ifindex = rc;
	v->link_err = 0;
	if (read_back(v, &foreign, &nforeign) < 0) {
		v->known = false;
		return -1;
	}
	v->known = true;
	ops = malloc((v->nclaims + v->nhave + 1) * sizeof(*ops));
	if (!ops) {
		free(foreign);
		v->known = false;
		return -1;
	}
	/* every VIP claimed (once: claims are sorted by VIP), then every
	 * address of ours that nothing claims any more */
	for (size_t i = 0; i < v->nclaims; i++) {
		const struct xl_vip *a = &v->claims[i].vip;

		if (i && !xl_vip_cmp(&v->claims[i - 1].vip, a))
			continue;
		if (in_sorted(foreign, nforeign, a))
			continue; /* someone else's address: theirs */
		nops += op_for(v, want, a, &ops[nops]);
	}
	for (size_t i = 0; i < v->nhave; i++)
		if (!claimed(v, &v->have[i]))
			ops[nops++] =
			    (struct xl_vip_op){XL_VIP_DEL, v->have[i]};
	free(foreign);
	rc = apply(v, ops, nops);
	free(ops);
	return rc < 0 ? -1 : 0;
}

int xl_vipif_sync_keys(struct xl_vipif *v, const struct xl_desired *want,
		       const struct xl_service *keys, size_t n)
{
	struct xl_vip *vips;
	struct xl_vip_op *ops;
	size_t nv = 0, nops = 0;
	int rc;

	if (!v)
		return 0;
	if (follow(v, want))
		return xl_vipif_sync(v, want);
	if (!v->name[0] || !n)
		return 0;
	vips = malloc(n * sizeof(*vips));
	ops = malloc(n * sizeof(*ops));
	if (!vips || !ops) {
		free(vips);
		free(ops);
		return xl_vipif_sync(v, want);
	}
	for (size_t i = 0; i < n; i++)
		if (!keys[i].fwmark)
			vips[nv++] = vip_of(&keys[i]);
	qsort(vips, nv, sizeof(*vips), vip_qcmp);
	for (size_t i = 0; i < nv; i++)
		if (!i || xl_vip_cmp(&vips[i - 1], &vips[i]))
			nops += op_for(v, want, &vips[i], &ops[nops]);
	rc = apply(v, ops, nops);
	free(vips);
	free(ops);
	return rc < 0 ? -1 : 0;
}

void xl_vipif_release(struct xl_vipif *v, bool remove)
{
	if (!v || !v->name[0])
		return;
	if (!remove) {
		xl_info("stop: the VIPs stay on %s (on_stop = keep)", v->name);
		return;
	}
	/* never had (not a dummy, say): nothing of ours is on it */
	if (v->ifindex > 0)
		take_down(v, true);
}
