/*
 * nft_plan.c - what the nftables table must hold, and the commands that
 * bring it there.  Pure: no kernel, no netlink.
 *
 * The table (family inet, so one table serves IPv4 and IPv6):
 *
 *   allowed_sources: a base chain "sources" on prerouting at priority raw
 *   (before conntrack, so a dropped packet costs no conntrack entry, and
 *   long before IPVS, which hooks input) drops a packet whose
 *   daddr . l4proto . dport is in guard4 / guard6 (the services that have
 *   ranges) and whose daddr . l4proto . dport . saddr is not in src4 /
 *   src6, interval sets of "VIP . proto . port . range".  The two rules
 *   never change; a reload that changes one service's ranges adds and
 *   deletes the elements that start with that service's key, and nothing
 *   else.  (One set and one chain per service was measured first: 10,000
 *   services took 9 to 33 s in one transaction on a 6.1-6.18 kernel, the
 *   verdict map's jumps validated one by one, and libnftables fetched the
 *   elements of every set, one netlink round trip each, before any
 *   command, "list tables" included; the two shared sets take 0.55 s.)
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

int xl_nft_state_build(const struct xl_config *c,
		       const struct xl_nft_caps *caps,
		       const struct xl_nft_state *prev,
		       struct xl_nft_state *out)
{
	*out = (struct xl_nft_state){0};
	if (prev) {
		out->has_src_base = prev->has_src_base;
		out->has_snat_base = prev->has_snat_base;
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

const char *xl_nft_set_name(enum xl_nft_set set, bool v6)
{
	static const char *const names[XL_NFT_NSETS][2] = {
	    [XL_NFT_SRC] = {"src4", "src6"},
	    [XL_NFT_GUARD] = {"guard4", "guard6"},
	    [XL_NFT_MASQ] = {"masq4", "masq6"},
	    [XL_NFT_SNAT] = {"snat4", "snat6"},
	};

	return names[set][v6];
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

				if (e->n)
					g[n++] =
					    (struct xl_nft_group){.add = add,
								  .v6 = v6,
								  .set = set,
								  .e = e};
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
 * "key . range" elements of src4 or src6.  Both lists are sorted. */
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
#define CMDS_SRC 7     /* 4 sets, a chain, 2 rules */
#define CMDS_SNAT 9    /* 2 sets, 2 maps, a chain, 4 rules */

static int plan_end(struct xl_nft_plan *p)
{
	struct xl_nft_group g[2 * XL_NFT_NSETS * 2];

	if (p->oom) {
		xl_nft_plan_free(p);
		return -ENOMEM;
	}
	p->ncmds = (p->replace ? CMDS_REPLACE : 0) +
		   (p->src_base ? CMDS_SRC : 0) +
		   (p->snat_base ? CMDS_SNAT : 0) + xl_nft_plan_groups(p, g);
	return 0;
}

int xl_nft_plan_full(const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	*p = (struct xl_nft_plan){0};
	p->replace = true;
	p->src_base = want->has_src_base;
	p->snat_base = want->has_snat_base;
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
 * The merge of have and want.  Deletions are sent first: an interval set
 * refuses a range that overlaps one it holds, so a range replaced by a
 * wider one must be gone before the wider one comes.  One transaction
 * either way: nothing is seen half done.
 */
int xl_nft_plan_diff(const struct xl_nft_state *have,
		     const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	size_t i = 0, j = 0;

	*p = (struct xl_nft_plan){0};
	p->src_base = want->has_src_base && !have->has_src_base;
	p->snat_base = want->has_snat_base && !have->has_snat_base;
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

size_t xl_nft_elem_key(const struct xl_nft_elem *e, uint8_t *key, uint8_t *end)
{
	const struct xl_cidr *r = e->range;
	size_t n = put_key(&e->svc->id, key), a;

	if (!r)
		return n;
	/* the range as its first and last address */
	a = addr_len(r->af);
	memcpy(end, key, n);
	for (size_t i = 0; i < a; i++) {
		unsigned bits = r->plen > i * 8 ? r->plen - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);

		key[n + i] = r->addr.b[i] & mask;
		end[n + i] = r->addr.b[i] | (uint8_t)~mask;
	}
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

/* "VIP . proto . port", then " . range" or " : address" */
static void put_elem(struct text *t, enum xl_nft_set set,
		     const struct xl_nft_elem *e)
{
	const struct xl_nft_svc *s = e->svc;
	char a[XL_ADDRSTR_MAX];

	put(t, "%s . %s . %u",
	    xl_addr_format(s->id.af, &s->id.addr, a, sizeof(a)),
	    proto_name(s->id.protocol), s->id.port);
	if (set == XL_NFT_SRC)
		put(t, " . %s/%u",
		    xl_addr_format(e->range->af, &e->range->addr, a, sizeof(a)),
		    e->range->plen);
	else if (set == XL_NFT_SNAT)
		put(t, " : %s",
		    xl_addr_format(s->snat_af, &s->snat_addr, a, sizeof(a)));
}

static const char *const src_base_text[] = {
    "add set " T " guard4 { type ipv4_addr . inet_proto . inet_service; }",
    "add set " T " src4 { type ipv4_addr . inet_proto . inet_service . "
    "ipv4_addr; flags interval; }",
    "add set " T " guard6 { type ipv6_addr . inet_proto . inet_service; }",
    "add set " T " src6 { type ipv6_addr . inet_proto . inet_service . "
    "ipv6_addr; flags interval; }",
    "add chain " T " sources { type filter hook prerouting priority raw; "
    "policy accept; }",
    "add rule " T " sources ip daddr . meta l4proto . th dport @guard4 ip "
    "daddr . meta l4proto . th dport . ip saddr != @src4 drop",
    "add rule " T " sources ip6 daddr . meta l4proto . th dport @guard6 ip6 "
    "daddr . meta l4proto . th dport . ip6 saddr != @src6 drop",
};

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
	struct xl_nft_group g[2 * XL_NFT_NSETS * 2];
	size_t ng = xl_nft_plan_groups(p, g);
	struct text t = {0};

	for (size_t i = 0; p->replace && i < XL_ARRAY_SIZE(replace_text); i++)
		line(arg, replace_text[i], strlen(replace_text[i]));
	for (size_t i = 0; p->src_base && i < XL_ARRAY_SIZE(src_base_text); i++)
		line(arg, src_base_text[i], strlen(src_base_text[i]));
	for (size_t i = 0; p->snat_base && i < XL_ARRAY_SIZE(snat_base_text);
	     i++)
		line(arg, snat_base_text[i], strlen(snat_base_text[i]));
	for (size_t i = 0; i < ng; i++) {
		t.len = 0;
		put(&t, "%s element " T " %s { ", g[i].add ? "add" : "delete",
		    xl_nft_set_name(g[i].set, g[i].v6));
		for (size_t k = 0; k < g[i].e->n; k++) {
			if (k)
				put(&t, ", ");
			put_elem(&t, g[i].set, &g[i].e->v[k]);
		}
		put(&t, " }");
		if (t.oom)
			break;
		line(arg, t.s, t.len);
	}
	free(t.s);
	return t.oom ? -ENOMEM : 0;
}
