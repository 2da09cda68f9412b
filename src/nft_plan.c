/*
 * nft_plan.c - what the nftables table must hold, and the commands that
 * bring it there.  Pure: no kernel, no libnftables.
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

/* ---- names and values ------------------------------------------------- */

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

/* "VIP . proto . port" */
static const char *key_text(const struct xl_service *s, char *buf, size_t len)
{
	char a[XL_ADDRSTR_MAX];

	snprintf(buf, len, "%s . %s . %u",
		 xl_addr_format(s->af, &s->addr, a, sizeof(a)),
		 proto_name(s->protocol), s->port);
	return buf;
}

/* ---- the text of a plan ----------------------------------------------- */

static void vput(struct xl_nft_plan *p, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void put(struct xl_nft_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void vput(struct xl_nft_plan *p, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (p->oom)
		return;
	for (;;) {
		va_copy(aq, ap);
		n = vsnprintf(p->text ? p->text + p->len : NULL,
			      p->text ? p->cap - p->len : 0, fmt, aq);
		va_end(aq);
		if (n < 0) {
			p->oom = true;
			return;
		}
		if (p->text && p->len + (size_t)n < p->cap)
			break;
		if (XL_GROW(p->text, p->cap, p->len + (size_t)n + 1, 4096) <
		    0) {
			p->oom = true;
			return;
		}
	}
	p->len += (size_t)n;
	for (const char *c = p->text + p->len - n; *c; c++)
		p->ncmds += *c == '\n';
}

static void put(struct xl_nft_plan *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(p, fmt, ap);
	va_end(ap);
}

/*
 * Elements are gathered by set and sent as one command per set and verb:
 * libnftables evaluates a command at a time, and 10,000 services' elements
 * in one command each took 0.55 s against 0.32 s gathered (host, 6.18).
 */
enum { E_SRC, E_GUARD, E_MASQ, E_SNAT, E_N };
static const char *const elem_sets[E_N] = {"src", "guard", "masq", "snat"};

struct builder {
	struct xl_nft_plan *p;
	struct xl_nft_plan e[2][E_N][2]; /* [add][set][IPv6] */
};

static void elem(struct builder *b, bool add, int set, uint16_t af,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void elem(struct builder *b, bool add, int set, uint16_t af,
		 const char *fmt, ...)
{
	struct xl_nft_plan *g = &b->e[add][set][af == AF_INET6];
	va_list ap;

	if (g->len)
		put(g, ", ");
	va_start(ap, fmt);
	vput(g, fmt, ap);
	va_end(ap);
	if (add)
		b->p->elem_adds++;
	else
		b->p->elem_dels++;
}

/* The gathered elements into the plan: deletions first (ranges before
 * their guard), then additions (the guard first); the builder freed. */
static void builder_end(struct builder *b)
{
	static const int del_order[] = {E_SRC, E_GUARD, E_MASQ, E_SNAT};
	static const int add_order[] = {E_GUARD, E_SRC, E_MASQ, E_SNAT};

	for (int add = 0; add < 2; add++)
		for (int i = 0; i < E_N; i++)
			for (int v6 = 0; v6 < 2; v6++) {
				int set = add ? add_order[i] : del_order[i];
				struct xl_nft_plan *g = &b->e[add][set][v6];

				b->p->oom |= g->oom;
				if (g->len)
					put(b->p,
					    "%s element " T " %s%c { %s }\n",
					    add ? "add" : "delete",
					    elem_sets[set], v6 ? '6' : '4',
					    g->text);
				free(g->text);
			}
}

static void put_src_base(struct xl_nft_plan *p)
{
	for (int v6 = 0; v6 < 2; v6++) {
		char f = v6 ? '6' : '4';

		put(p,
		    "add set " T " guard%c { type ipv%c_addr . inet_proto . "
		    "inet_service; }\n"
		    "add set " T " src%c { type ipv%c_addr . inet_proto . "
		    "inet_service . ipv%c_addr; flags interval; }\n",
		    f, f, f, f, f);
	}
	put(p, "add chain " T " sources { type filter hook prerouting "
	       "priority raw; policy accept; }\n");
	for (int v6 = 0; v6 < 2; v6++) {
		char f = v6 ? '6' : '4';
		const char *ip = v6 ? "ip6" : "ip";

		put(p,
		    "add rule " T " sources %s daddr . meta l4proto . th dport "
		    "@guard%c %s daddr . meta l4proto . th dport . %s saddr "
		    "!= @src%c drop\n",
		    ip, f, ip, ip, f);
	}
}

static void put_snat_base(struct xl_nft_plan *p)
{
	/* the protocol first: it gives ct proto-dst its type */
	static const char rule[] =
	    "add rule " T " postrouting meta l4proto { tcp, udp, sctp } ";
	static const char key[] = "ct original ip%s daddr . ct original "
				  "protocol . ct original proto-dst";

	put(p,
	    "add set " T " masq4 { type ipv4_addr . inet_proto . inet_service; "
	    "}\n"
	    "add set " T " masq6 { type ipv6_addr . inet_proto . inet_service; "
	    "}\n"
	    "add map " T " snat4 { type ipv4_addr . inet_proto . inet_service "
	    ": ipv4_addr; }\n"
	    "add map " T " snat6 { type ipv6_addr . inet_proto . inet_service "
	    ": ipv6_addr; }\n"
	    "add chain " T " postrouting { type nat hook postrouting priority "
	    "srcnat; policy accept; }\n");
	for (int v6 = 0; v6 < 2; v6++) {
		const char *six = v6 ? "6" : "";

		put(p, "%s", rule);
		put(p, key, six);
		put(p, " @masq%c masquerade\n", v6 ? '6' : '4');
		put(p, "%ssnat ip%s to ", rule, six);
		put(p, key, six);
		put(p, " map @snat%c\n", v6 ? '6' : '4');
	}
}

/* The snat element of s, in masq or snat. */
static void put_snat(struct builder *b, bool add, const struct xl_nft_svc *s)
{
	char k[XL_ADDRSTR_MAX + 32], a[XL_ADDRSTR_MAX];

	key_text(&s->id, k, sizeof(k));
	if (s->snat_af)
		elem(b, add, E_SNAT, s->id.af, "%s : %s", k,
		     xl_addr_format(s->snat_af, &s->snat_addr, a, sizeof(a)));
	else
		elem(b, add, E_MASQ, s->id.af, "%s", k);
}

/* The ranges of a that b does not hold (b may be NULL: all of them), as
 * "key . range" elements of src4 or src6.  Both lists are sorted. */
static void put_src_only(struct builder *b, bool add,
			 const struct xl_nft_svc *a, const struct xl_nft_svc *o)
{
	char k[XL_ADDRSTR_MAX + 32], r[XL_ADDRSTR_MAX];
	size_t j = 0;

	key_text(&a->id, k, sizeof(k));
	for (size_t i = 0; i < a->nsrc; i++) {
		const struct xl_cidr *c = &a->src[i];
		int d = -1;

		while (o && j < o->nsrc && (d = xl_cidr_cmp(c, &o->src[j])) > 0)
			j++;
		if (o && j < o->nsrc && d == 0)
			continue;
		elem(b, add, E_SRC, a->id.af, "%s . %s/%u", k,
		     xl_addr_format(c->af, &c->addr, r, sizeof(r)), c->plen);
	}
}

/* The guard element of s and all its ranges. */
static void put_src_all(struct builder *b, bool add, const struct xl_nft_svc *s)
{
	char k[XL_ADDRSTR_MAX + 32];

	elem(b, add, E_GUARD, s->id.af, "%s", key_text(&s->id, k, sizeof(k)));
	put_src_only(b, add, s, NULL);
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
static void put_svc(struct builder *bl, const struct xl_nft_svc *a,
		    const struct xl_nft_svc *b)
{
	if (a && a->snat && (!b || !snat_same(a, b)))
		put_snat(bl, false, a);
	if (b && b->snat && (!a || !snat_same(a, b)))
		put_snat(bl, true, b);
	if (a && a->nsrc && (!b || !b->nsrc))
		put_src_all(bl, false, a);
	else if (b && b->nsrc && (!a || !a->nsrc))
		put_src_all(bl, true, b);
	else if (a && b && a->nsrc) {
		put_src_only(bl, false, a, b);
		put_src_only(bl, true, b, a);
	}
}

static int plan_end(struct xl_nft_plan *p)
{
	if (p->oom)
		return -ENOMEM;
	return 0;
}

int xl_nft_plan_full(const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	struct builder b = {.p = p};

	*p = (struct xl_nft_plan){0};
	/* "add" first so that "delete" finds a table, whatever was there */
	put(p, "add table " T "\ndelete table " T "\nadd table " T "\n"
	       "add set " T " " XL_NFT_MARKER " { type mark; }\n");
	if (want->has_src_base)
		put_src_base(p);
	if (want->has_snat_base)
		put_snat_base(p);
	for (size_t i = 0; i < want->n; i++) {
		put_svc(&b, NULL, &want->v[i]);
		note(p, &want->v[i]);
	}
	builder_end(&b);
	return plan_end(p);
}

static int svc_cmp(const struct xl_nft_svc *a, const struct xl_nft_svc *b)
{
	return xl_service_cmp(&a->id, &b->id);
}

/*
 * The merge of have and want.  Deletions are sent first (builder_end): an
 * interval set refuses a range that overlaps one it holds, so a range
 * replaced by a wider one must be gone before the wider one comes.  One
 * transaction either way: nothing is seen half done.
 */
int xl_nft_plan_diff(const struct xl_nft_state *have,
		     const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	struct builder bl = {.p = p};
	size_t i = 0, j = 0;

	*p = (struct xl_nft_plan){0};
	if (want->has_src_base && !have->has_src_base)
		put_src_base(p);
	if (want->has_snat_base && !have->has_snat_base)
		put_snat_base(p);
	while (i < have->n || j < want->n) {
		int c = i == have->n   ? 1
			: j == want->n ? -1
				       : svc_cmp(&have->v[i], &want->v[j]);
		const struct xl_nft_svc *a = c <= 0 ? &have->v[i++] : NULL;
		const struct xl_nft_svc *b = c >= 0 ? &want->v[j++] : NULL;

		if (a && b && snat_same(a, b) && src_same(a, b))
			continue;
		put_svc(&bl, a, b);
		note(p, b ? b : a);
	}
	builder_end(&bl);
	return plan_end(p);
}

void xl_nft_plan_free(struct xl_nft_plan *p)
{
	free(p->text);
	*p = (struct xl_nft_plan){0};
}
