/*
 * nft_plan.c - what the nftables table must hold, and the commands that
 * bring it there.  Pure: no kernel, no netlink.
 *
 * The table (family inet, so one table serves IPv4 and IPv6):
 *
 *   allowed_sources: a base chain "sources" on prerouting at priority raw
 *   (before conntrack, so a dropped packet costs no conntrack entry, and
 *   long before IPVS, which hooks input) jumps to chain "src_check4" (or
 *   6) with a packet whose daddr . l4proto . dport is in guard4 / guard6
 *   (the services that have ranges).  src_check4 holds one rule per prefix
 *   length in use, each a lookup of daddr . l4proto . dport . saddr, the
 *   source masked to that length, in a plain hash set of that length
 *   ("src4_24": elements "VIP . proto . port . network"; /32 and /128
 *   without the mask, /0 with a mask of zeros), and "return" when found;
 *   its last rule is "drop".  "return", not "accept": an allowed packet
 *   goes on through "sources" (and whatever follows there) as if the check
 *   were not there, where "accept" would end the chain early.  A rule of a
 *   new length is put first in the chain ("insert"), so that "drop" stays
 *   last without knowing its handle; the order of the others is of no
 *   matter (each only returns).  A range within another of the same
 *   service is simply an element of another set.  The kernel takes the
 *   masked register as part of the lookup key like any other: the key is
 *   the four consecutive registers, and the bitwise rewrites the fourth in
 *   place (nft makes the same expressions of the same text).
 *
 *   The guard rules and the chains never change; a length's set and rule
 *   are created by the first transaction that needs them (start-up, or
 *   the reload that first uses that length, which says so in its log
 *   line) and then kept, empty or not, until the table is rebuilt; a
 *   reload that changes one service's ranges adds and deletes that
 *   service's elements, and nothing else.
 *
 *   Measured: ranges in one interval set of concatenations per family (the
 *   kernel's pipapo backend) cost the 6.1 kernel of the test VM 7.6 s for
 *   20,000 (nft -f), against 2.7 s for as many keys in a hash set; most of
 *   the start-up of 10,000 services with two ranges each.  With a hash set
 *   per length, bench/figures/nft-hash-sets-2026-12-05.txt.  (One set and
 *   one chain per service was measured before that: 10,000 services took 9
 *   to 33 s in one transaction on a 6.1-6.18 kernel, the verdict map's
 *   jumps validated one by one, and libnftables fetched the elements of
 *   every set, one netlink round trip each, before any command.)  The
 *   price of the hash sets is a lookup per length in use for a packet to
 *   a guarded service (a few, in practice: the bench's hosts use two).
 *
 *   snat: a base chain "postrouting" of type nat.  With IPVS's conntrack
 *   on, a connection IPVS forwards keeps the client -> VIP:port tuple as
 *   its original direction, so "ct original" daddr . protocol . proto-dst
 *   names the service whatever real server IPVS picked.  Sets masq4/masq6
 *   hold the services that masquerade, maps snat4/snat6 those with a
 *   snat_address.  ("meta l4proto" comes first because nft gives
 *   ct proto-dst a type only after a protocol is known.)
 *
 * The base objects of a part are created the first time a service needs
 * them and then kept: an empty set costs nothing, and a host whose
 * configuration never asks for snat never gets a nat chain (nor needs the
 * modules behind one).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "nft.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T "inet " XL_NFT_TABLE

/* ---- the state -------------------------------------------------------- */

static void svc_free(struct xl_nft_svc *s)
{
	free(s->name);
	free(s->src);
}

void xl_nft_state_free(struct xl_nft_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		svc_free(&s->v[i]);
	free(s->v);
	*s = (struct xl_nft_state){0};
}

void xl_nft_state_move(struct xl_nft_state *dst, struct xl_nft_state *src)
{
	xl_nft_state_free(dst);
	*dst = *src;
	*src = (struct xl_nft_state){0};
}

static int svc_from(struct xl_nft_svc *s, const struct xl_vs_config *vs,
		    bool snat, bool src)
{
	memset(s, 0, sizeof(*s));
	s->id.af = vs->svc.af;
	s->id.protocol = vs->svc.protocol;
	s->id.addr = vs->svc.addr;
	s->id.port = vs->svc.port;
	if (!(s->name = strdup(vs->name)))
		return -ENOMEM;
	if (snat) {
		s->snat = true;
		s->snat_af = vs->nft.snat_af;
		s->snat_addr = vs->nft.snat_addr;
	}
	if (src) {
		s->src = malloc(vs->nft.nsources * sizeof(*s->src));
		if (!s->src)
			return -ENOMEM;
		memcpy(s->src, vs->nft.sources,
		       vs->nft.nsources * sizeof(*s->src));
		s->nsrc = vs->nft.nsources;
	}
	return 0;
}

/* The prefix lengths of s's ranges marked in len. */
static void mark_lens(const struct xl_nft_svc *s, bool len[2][XL_NFT_PLENS])
{
	for (size_t i = 0; i < s->nsrc; i++)
		len[s->src[i].af == AF_INET6][s->src[i].plen] = true;
}

int xl_nft_state_build(const struct xl_config *c,
		       const struct xl_nft_caps *caps,
		       const struct xl_nft_state *prev,
		       struct xl_nft_state *out)
{
	*out = (struct xl_nft_state){0};
	if (prev) {
		out->has_src_base = prev->has_src_base;
		out->has_snat_base = prev->has_snat_base;
		memcpy(out->src_len, prev->src_len, sizeof(out->src_len));
	}
	for (size_t x = 0; c->by_id && x < c->nvs; x++) {
		const struct xl_vs_config *vs = &c->vs[c->by_id[x]];
		bool snat = vs->nft.snat && caps->snat_ok && !vs->svc.fwmark;
		bool src = vs->nft.nsources && caps->src_ok && !vs->svc.fwmark;

		if (!snat && !src)
			continue;
		if (!out->v && !(out->v = calloc(c->nvs, sizeof(*out->v))))
			goto oom;
		if (svc_from(&out->v[out->n++], vs, snat, src) < 0)
			goto oom;
		mark_lens(&out->v[out->n - 1], out->src_len);
		out->has_src_base |= src;
		out->has_snat_base |= snat;
	}
	return 0;
oom:
	xl_nft_state_free(out);
	return -ENOMEM;
}

/* ---- the plan -------------------------------------------------------- */

/* The order elements are sent in: deletions with the ranges before their
 * guard, additions with the guard first. */
static const enum xl_nft_set del_order[XL_NFT_NSETS] = {
    XL_NFT_SRC, XL_NFT_GUARD, XL_NFT_MASQ, XL_NFT_SNAT};
static const enum xl_nft_set add_order[XL_NFT_NSETS] = {
    XL_NFT_GUARD, XL_NFT_SRC, XL_NFT_MASQ, XL_NFT_SNAT};

const char *xl_nft_set_name(enum xl_nft_set set, bool v6, unsigned plen,
			    char *buf)
{
	static const char *const names[XL_NFT_NSETS][2] = {
	    [XL_NFT_SRC] = {"src4", "src6"},
	    [XL_NFT_GUARD] = {"guard4", "guard6"},
	    [XL_NFT_MASQ] = {"masq4", "masq6"},
	    [XL_NFT_SNAT] = {"snat4", "snat6"},
	};

	if (set == XL_NFT_SRC)
		snprintf(buf, XL_NFT_SETNAME_MAX, "%s_%u", names[set][v6],
			 plen);
	else
		snprintf(buf, XL_NFT_SETNAME_MAX, "%s", names[set][v6]);
	return buf;
}

size_t xl_nft_plan_groups(const struct xl_nft_plan *p, struct xl_nft_group *g)
{
	size_t n = 0;

	for (int add = 0; add < 2; add++)
		for (int i = 0; i < XL_NFT_NSETS; i++)
			for (int v6 = 0; v6 < 2; v6++) {
				enum xl_nft_set set =
				    add ? add_order[i] : del_order[i];
				const struct xl_nft_elems *e =
				    &p->e[add][set][v6];

				/* one group per set: the ranges are
				 * sorted by prefix length, a run each */
				for (size_t k = 0, j; k < e->n; k = j) {
					uint8_t plen = set == XL_NFT_SRC
							   ? e->v[k].range->plen
							   : 0;

					for (j = k + 1;
					     j < e->n && set == XL_NFT_SRC &&
					     e->v[j].range->plen == plen;
					     j++)
						;
					if (set != XL_NFT_SRC)
						j = e->n;
					g[n++] =
					    (struct xl_nft_group){.add = add,
								  .v6 = v6,
								  .set = set,
								  .plen = plen,
								  .v = e->v + k,
								  .n = j - k};
				}
			}
	return n;
}

static void elem(struct xl_nft_plan *p, bool add, enum xl_nft_set set,
		 const struct xl_nft_svc *s, const struct xl_cidr *range)
{
	struct xl_nft_elems *e = &p->e[add][set][s->id.af == AF_INET6];

	if (p->oom || XL_GROW(e->v, e->cap, e->n + 1, 64) < 0) {
		p->oom = true;
		return;
	}
	e->v[e->n++] = (struct xl_nft_elem){.svc = s, .range = range};
	if (add)
		p->elem_adds++;
	else
		p->elem_dels++;
}

/* The snat element of s, in masq or snat. */
static void put_snat(struct xl_nft_plan *p, bool add,
		     const struct xl_nft_svc *s)
{
	elem(p, add, s->snat_af ? XL_NFT_SNAT : XL_NFT_MASQ, s, NULL);
}

/* The ranges of a that o does not hold (o may be NULL: all of them), as
 * "key . network" elements of the src set of their family and prefix
 * length.  Both lists are sorted. */
static void put_src_only(struct xl_nft_plan *p, bool add,
			 const struct xl_nft_svc *a, const struct xl_nft_svc *o)
{
	size_t j = 0;

	for (size_t i = 0; i < a->nsrc; i++) {
		const struct xl_cidr *c = &a->src[i];
		int d = -1;

		while (o && j < o->nsrc && (d = xl_cidr_cmp(c, &o->src[j])) > 0)
			j++;
		if (o && j < o->nsrc && d == 0)
			continue;
		elem(p, add, XL_NFT_SRC, a, c);
	}
}

/* The guard element of s and all its ranges. */
static void put_src_all(struct xl_nft_plan *p, bool add,
			const struct xl_nft_svc *s)
{
	elem(p, add, XL_NFT_GUARD, s, NULL);
	put_src_only(p, add, s, NULL);
}

static bool src_same(const struct xl_nft_svc *a, const struct xl_nft_svc *b)
{
	if (a->nsrc != b->nsrc)
		return false;
	for (size_t i = 0; i < a->nsrc; i++)
		if (xl_cidr_cmp(&a->src[i], &b->src[i]))
			return false;
	return true;
}

static bool snat_same(const struct xl_nft_svc *a, const struct xl_nft_svc *b)
{
	return a->snat == b->snat && a->snat_af == b->snat_af &&
	       (!a->snat_af ||
		!memcmp(&a->snat_addr, &b->snat_addr, sizeof(a->snat_addr)));
}

static void note(struct xl_nft_plan *p, const struct xl_nft_svc *s)
{
	if (p->nsvcs < XL_NFT_NAMED)
		p->named[p->nsvcs] = s->name;
	p->nsvcs++;
}

/* The changes of one service present in a (old) and b (new), either of
 * which may be NULL. */
static void put_svc(struct xl_nft_plan *p, const struct xl_nft_svc *a,
		    const struct xl_nft_svc *b)
{
	if (a && a->snat && (!b || !snat_same(a, b)))
		put_snat(p, false, a);
	if (b && b->snat && (!a || !snat_same(a, b)))
		put_snat(p, true, b);
	if (a && a->nsrc && (!b || !b->nsrc))
		put_src_all(p, false, a);
	else if (b && b->nsrc && (!a || !a->nsrc))
		put_src_all(p, true, b);
	else if (a && b && a->nsrc) {
		put_src_only(p, false, a, b);
		put_src_only(p, true, b, a);
	}
}

/* The commands of the base objects, as nft would count them. */
#define CMDS_REPLACE 4 /* add, delete, add table; the owner set */
#define CMDS_SRC 9     /* 2 sets, 3 chains, 4 rules */
#define CMDS_SRC_LEN 2 /* a prefix length's set and rule */
#define CMDS_SNAT 9    /* 2 sets, 2 maps, a chain, 4 rules */

/* The order of the src elements of one verb and family: by prefix length
 * (one set each), and within one length as they were put (the order of
 * the services, then of their ranges: both pointers into sorted arrays of
 * one state). */
static int src_elem_cmp(const void *x, const void *y)
{
	const struct xl_nft_elem *a = x, *b = y;

	if (a->range->plen != b->range->plen)
		return a->range->plen < b->range->plen ? -1 : 1;
	if (a->svc != b->svc)
		return a->svc < b->svc ? -1 : 1;
	return a->range < b->range ? -1 : a->range > b->range;
}

static int plan_end(struct xl_nft_plan *p)
{
	struct xl_nft_group g[XL_NFT_GROUPS_MAX];

	if (p->oom) {
		xl_nft_plan_free(p);
		return -ENOMEM;
	}
	for (int add = 0; add < 2; add++)
		for (int v6 = 0; v6 < 2; v6++) {
			struct xl_nft_elems *e = &p->e[add][XL_NFT_SRC][v6];

			if (e->n > 1)
				qsort(e->v, e->n, sizeof(*e->v), src_elem_cmp);
		}
	p->ncmds = (p->replace ? CMDS_REPLACE : 0) +
		   (p->src_base ? CMDS_SRC : 0) + p->nsrc_len * CMDS_SRC_LEN +
		   (p->snat_base ? CMDS_SNAT : 0) + xl_nft_plan_groups(p, g);
	return 0;
}

/* The prefix lengths want has and have (NULL: nothing) has not: their set
 * and rule are created by p. */
static void plan_lens(struct xl_nft_plan *p, const struct xl_nft_state *have,
		      const struct xl_nft_state *want)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (int l = 0; l < XL_NFT_PLENS; l++)
			if (want->src_len[v6][l] &&
			    !(have && have->src_len[v6][l])) {
				p->src_len[v6][l] = true;
				p->nsrc_len++;
			}
}

int xl_nft_plan_full(const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	*p = (struct xl_nft_plan){0};
	p->replace = true;
	p->src_base = want->has_src_base;
	p->snat_base = want->has_snat_base;
	plan_lens(p, NULL, want);
	for (size_t i = 0; i < want->n; i++) {
		put_svc(p, NULL, &want->v[i]);
		note(p, &want->v[i]);
	}
	return plan_end(p);
}

static int svc_cmp(const struct xl_nft_svc *a, const struct xl_nft_svc *b)
{
	return xl_service_cmp(&a->id, &b->id);
}

/*
 * The merge of have and want: the elements of the services that changed,
 * and the set and rule of a prefix length used for the first time.  One
 * transaction: nothing is seen half done.
 */
int xl_nft_plan_diff(const struct xl_nft_state *have,
		     const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	size_t i = 0, j = 0;

	*p = (struct xl_nft_plan){0};
	p->src_base = want->has_src_base && !have->has_src_base;
	p->snat_base = want->has_snat_base && !have->has_snat_base;
	plan_lens(p, have, want);
	while (i < have->n || j < want->n) {
		int c = i == have->n   ? 1
			: j == want->n ? -1
				       : svc_cmp(&have->v[i], &want->v[j]);
		const struct xl_nft_svc *a = c <= 0 ? &have->v[i++] : NULL;
		const struct xl_nft_svc *b = c >= 0 ? &want->v[j++] : NULL;

		if (a && b && snat_same(a, b) && src_same(a, b))
			continue;
		put_svc(p, a, b);
		note(p, b ? b : a);
	}
	return plan_end(p);
}

void xl_nft_plan_free(struct xl_nft_plan *p)
{
	for (int add = 0; add < 2; add++)
		for (int s = 0; s < XL_NFT_NSETS; s++)
			for (int v6 = 0; v6 < 2; v6++)
				free(p->e[add][s][v6].v);
	*p = (struct xl_nft_plan){0};
}

/* ---- the bytes of an element ------------------------------------------ */

static size_t addr_len(uint16_t af)
{
	return af == AF_INET6 ? 16 : 4;
}

/* VIP . protocol . port: each field from the start of a 32-bit word, the
 * protocol one byte, the port in network order, as the registers hold
 * them when the rules load daddr, meta l4proto and th dport. */
static size_t put_key(const struct xl_service *s, uint8_t *k)
{
	size_t a = addr_len(s->af);

	memset(k, 0, a + 8);
	memcpy(k, s->addr.b, a);
	k[a] = (uint8_t)s->protocol;
	k[a + 4] = (uint8_t)(s->port >> 8);
	k[a + 5] = (uint8_t)s->port;
	return a + 8;
}

void xl_nft_prefix_mask(uint16_t af, unsigned plen, uint8_t *mask)
{
	for (size_t i = 0; i < addr_len(af); i++) {
		unsigned bits = plen > i * 8 ? plen - (unsigned)i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
	}
}

size_t xl_nft_elem_key(const struct xl_nft_elem *e, uint8_t *key)
{
	const struct xl_cidr *r = e->range;
	size_t n = put_key(&e->svc->id, key), a;
	uint8_t mask[16];

	if (!r)
		return n;
	/* the network: what the rule's mask leaves of a source inside it
	 * (the configuration holds ranges without host bits already) */
	a = addr_len(r->af);
	xl_nft_prefix_mask(r->af, r->plen, mask);
	for (size_t i = 0; i < a; i++)
		key[n + i] = r->addr.b[i] & mask[i];
	return n + a;
}

size_t xl_nft_elem_data(const struct xl_nft_elem *e, uint8_t *data)
{
	size_t a = addr_len(e->svc->snat_af);

	memcpy(data, e->svc->snat_addr.b, a);
	return a;
}

/* ---- the plan as text ------------------------------------------------- */

struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (t->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL,
			      t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			t->oom = true;
		else if (t->s && t->len + (size_t)n < t->cap)
			break;
		else if (XL_GROW(t->s, t->cap, t->len + (size_t)n + 1, 256) < 0)
			t->oom = true;
	}
	t->len += (size_t)n;
}

static const char *proto_name(uint16_t p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return "0";
}

/* "VIP . proto . port", then " . network" or " : address" */
static void put_elem(struct text *t, enum xl_nft_set set,
		     const struct xl_nft_elem *e)
{
	const struct xl_nft_svc *s = e->svc;
	char a[XL_ADDRSTR_MAX];

	put(t, "%s . %s . %u",
	    xl_addr_format(s->id.af, &s->id.addr, a, sizeof(a)),
	    proto_name(s->id.protocol), s->id.port);
	if (set == XL_NFT_SRC)
		put(t, " . %s",
		    xl_addr_format(e->range->af, &e->range->addr, a,
				   sizeof(a)));
	else if (set == XL_NFT_SNAT)
		put(t, " : %s",
		    xl_addr_format(s->snat_af, &s->snat_addr, a, sizeof(a)));
}

static const char *const src_base_text[] = {
    "add set " T " guard4 { type ipv4_addr . inet_proto . inet_service; }",
    "add set " T " guard6 { type ipv6_addr . inet_proto . inet_service; }",
    "add chain " T " src_check4",
    "add rule " T " src_check4 drop",
    "add chain " T " src_check6",
    "add rule " T " src_check6 drop",
    "add chain " T " sources { type filter hook prerouting priority raw; "
    "policy accept; }",
    "add rule " T " sources ip daddr . meta l4proto . th dport @guard4 "
    "jump src_check4",
    "add rule " T " sources ip6 daddr . meta l4proto . th dport @guard6 "
    "jump src_check6",
};

/* The set and the rule of prefix length plen, as nft commands. */
static void src_len_text(struct text *t, bool v6, unsigned plen,
			 void (*line)(void *arg, const char *text, size_t len),
			 void *arg)
{
	const char *ip = v6 ? "ip6" : "ip";
	const char *type = v6 ? "ipv6_addr" : "ipv4_addr";
	uint16_t af = v6 ? AF_INET6 : AF_INET;
	char name[XL_NFT_SETNAME_MAX], m[XL_ADDRSTR_MAX];
	union xl_inaddr mask = {0};

	xl_nft_set_name(XL_NFT_SRC, v6, plen, name);
	t->len = 0;
	put(t, "add set " T " %s { type %s . inet_proto . inet_service . %s; }",
	    name, type, type);
	if (!t->oom)
		line(arg, t->s, t->len);
	xl_nft_prefix_mask(af, plen, mask.b);
	t->len = 0;
	put(t,
	    "insert rule " T " src_check%c %s daddr . meta l4proto . th dport "
	    ". %s saddr",
	    v6 ? '6' : '4', ip, ip);
	if (plen < addr_len(af) * 8)
		put(t, " & %s", xl_addr_format(af, &mask, m, sizeof(m)));
	put(t, " @%s return", name);
	if (!t->oom)
		line(arg, t->s, t->len);
}

#define SNAT_RULE "add rule " T " postrouting meta l4proto { tcp, udp, sctp } "
#define CT_KEY(ip)                                                             \
	"ct original " ip " daddr . ct original protocol . ct original "       \
	"proto-dst"

static const char *const snat_base_text[] = {
    "add set " T " masq4 { type ipv4_addr . inet_proto . inet_service; }",
    "add set " T " masq6 { type ipv6_addr . inet_proto . inet_service; }",
    "add map " T " snat4 { type ipv4_addr . inet_proto . inet_service : "
    "ipv4_addr; }",
    "add map " T " snat6 { type ipv6_addr . inet_proto . inet_service : "
    "ipv6_addr; }",
    "add chain " T " postrouting { type nat hook postrouting priority "
    "srcnat; policy accept; }",
    SNAT_RULE CT_KEY("ip") " @masq4 masquerade",
    SNAT_RULE "snat ip to " CT_KEY("ip") " map @snat4",
    SNAT_RULE CT_KEY("ip6") " @masq6 masquerade",
    SNAT_RULE "snat ip6 to " CT_KEY("ip6") " map @snat6",
};

static const char *const replace_text[] = {
    "add table " T,
    "delete table " T,
    "add table " T,
    "add set " T " " XL_NFT_MARKER " { type mark; }",
};

int xl_nft_plan_text(const struct xl_nft_plan *p,
		     void (*line)(void *arg, const char *text, size_t len),
		     void *arg)
{
	struct xl_nft_group g[XL_NFT_GROUPS_MAX];
	size_t ng = xl_nft_plan_groups(p, g);
	struct text t = {0};
	char name[XL_NFT_SETNAME_MAX];

	for (size_t i = 0; p->replace && i < XL_ARRAY_SIZE(replace_text); i++)
		line(arg, replace_text[i], strlen(replace_text[i]));
	for (size_t i = 0; p->src_base && i < XL_ARRAY_SIZE(src_base_text); i++)
		line(arg, src_base_text[i], strlen(src_base_text[i]));
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned l = 0; l < XL_NFT_PLENS; l++)
			if (p->src_len[v6][l])
				src_len_text(&t, v6, l, line, arg);
	for (size_t i = 0; p->snat_base && i < XL_ARRAY_SIZE(snat_base_text);
	     i++)
		line(arg, snat_base_text[i], strlen(snat_base_text[i]));
	for (size_t i = 0; i < ng && !t.oom; i++) {
		t.len = 0;
		put(&t, "%s element " T " %s { ", g[i].add ? "add" : "delete",
		    xl_nft_set_name(g[i].set, g[i].v6, g[i].plen, name));
		for (size_t k = 0; k < g[i].n; k++) {
			if (k)
				put(&t, ", ");
			put_elem(&t, g[i].set, &g[i].v[k]);
		}
		put(&t, " }");
		if (t.oom)
			break;
		line(arg, t.s, t.len);
	}
	free(t.s);
	return t.oom ? -ENOMEM : 0;
}
