/*
 * nft_plan.c - what the nftables table must hold, and the commands that
 * bring it there.  Pure: no kernel, no libnftables.
 *
 * The table (family inet, so one table serves IPv4 and IPv6):
 *
 *   allowed_sources: a base chain "sources" on prerouting at priority raw
 *   (before conntrack, so a dropped packet costs no conntrack entry, and
 *   long before IPVS, which hooks input) looks up the packet's
 *   daddr . l4proto . dport in the verdict maps svc4 / svc6.  A service with
 *   allowed_sources has an element there that jumps to a chain of its own,
 *   named after its identity, holding one rule: a source not in the set of
 *   the same name is dropped.  The rule never changes; a reload that
 *   changes a service's ranges adds and deletes elements of that one set,
 *   and no rule is ever addressed by handle.
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

/*
 * Named after the identity, which is what a reload keeps: "s4_" and the
 * dotted address for IPv4, "s6_" and the 32 hex digits for IPv6 (a colon
 * is not allowed in an nft name), then the protocol and the port.
 */
const char *xl_nft_src_name(const struct xl_service *s, char *buf, size_t len)
{
	char a[XL_ADDRSTR_MAX];
	size_t o;

	if (s->af == AF_INET6) {
		o = (size_t)snprintf(buf, len, "s6_");
		for (size_t i = 0; i < 16 && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%02x",
					      s->addr.b[i]);
	} else {
		o = (size_t)snprintf(
		    buf, len, "s4_%s",
		    xl_addr_format(AF_INET, &s->addr, a, sizeof(a)));
	}
	if (o < len)
		snprintf(buf + o, len - o, "_%s_%u", proto_name(s->protocol),
			 s->port);
	return buf;
}

static char fam(uint16_t af)
{
	return af == AF_INET6 ? '6' : '4';
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

static void put(struct xl_nft_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct xl_nft_plan *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(p->text ? p->text + p->len : NULL,
			      p->text ? p->cap - p->len : 0, fmt, ap);
		va_end(ap);
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

static void put_src_base(struct xl_nft_plan *p)
{
	put(p,
	    "add map " T " svc4 { type ipv4_addr . inet_proto . inet_service "
	    ": verdict; }\n"
	    "add map " T " svc6 { type ipv6_addr . inet_proto . inet_service "
	    ": verdict; }\n"
	    "add chain " T " sources { type filter hook prerouting priority "
	    "raw; policy accept; }\n"
	    "add rule " T " sources ip daddr . meta l4proto . th dport vmap "
	    "@svc4\n"
	    "add rule " T " sources ip6 daddr . meta l4proto . th dport vmap "
	    "@svc6\n");
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

static void put_cidrs(struct xl_nft_plan *p, const struct xl_cidr *v, size_t n)
{
	char a[XL_ADDRSTR_MAX];

	for (size_t i = 0; i < n; i++)
		put(p, "%s%s/%u", i ? ", " : "",
		    xl_addr_format(v[i].af, &v[i].addr, a, sizeof(a)),
		    v[i].plen);
}

/* The snat element of s: "add"/"delete" in masq or snat. */
static void put_snat(struct xl_nft_plan *p, const char *verb,
		     const struct xl_nft_svc *s)
{
	char k[XL_ADDRSTR_MAX + 32], a[XL_ADDRSTR_MAX];

	key_text(&s->id, k, sizeof(k));
	if (s->snat_af)
		put(p, "%s element " T " snat%c { %s : %s }\n", verb,
		    fam(s->id.af), k,
		    xl_addr_format(s->snat_af, &s->snat_addr, a, sizeof(a)));
	else
		put(p, "%s element " T " masq%c { %s }\n", verb, fam(s->id.af),
		    k);
	if (verb[0] == 'a')
		p->elem_adds++;
	else
		p->elem_dels++;
}

/* The set, chain, rule and map element of s's allowed_sources. */
static void put_src_add(struct xl_nft_plan *p, const struct xl_nft_svc *s)
{
	char n[128], k[XL_ADDRSTR_MAX + 32];

	xl_nft_src_name(&s->id, n, sizeof(n));
	put(p,
	    "add set " T " %s { type ipv%c_addr; flags interval; }\n"
	    "add element " T " %s { ",
	    n, fam(s->id.af), n);
	put_cidrs(p, s->src, s->nsrc);
	put(p,
	    " }\nadd chain " T " %s\n"
	    "add rule " T " %s ip%s saddr != @%s drop\n"
	    "add element " T " svc%c { %s : jump %s }\n",
	    n, n, s->id.af == AF_INET6 ? "6" : "", n, fam(s->id.af),
	    key_text(&s->id, k, sizeof(k)), n);
	p->elem_adds += s->nsrc + 1;
}

static void put_src_del(struct xl_nft_plan *p, const struct xl_nft_svc *s)
{
	char n[128], k[XL_ADDRSTR_MAX + 32];

	xl_nft_src_name(&s->id, n, sizeof(n));
	put(p,
	    "delete element " T " svc%c { %s : jump %s }\n"
	    "flush chain " T " %s\n"
	    "delete chain " T " %s\n"
	    "delete set " T " %s\n",
	    fam(s->id.af), key_text(&s->id, k, sizeof(k)), n, n, n, n);
	p->elem_dels += s->nsrc + 1;
}

/*
 * The elements of one set that are in a and not in b, as one command
 * (verb "add" or "delete"); how many.  Both lists are sorted.
 */
static size_t put_src_only(struct xl_nft_plan *p, const char *verb,
			   const struct xl_nft_svc *a,
			   const struct xl_nft_svc *b)
{
	char n[128], s[XL_ADDRSTR_MAX];
	size_t j = 0, k = 0;

	xl_nft_src_name(&a->id, n, sizeof(n));
	for (size_t i = 0; i < a->nsrc; i++) {
		int c = -1;

		while (j < b->nsrc &&
		       (c = xl_cidr_cmp(&a->src[i], &b->src[j])) > 0)
			j++;
		if (j < b->nsrc && c == 0)
			continue;
		if (!k++)
			put(p, "%s element " T " %s { ", verb, n);
		else
			put(p, ", ");
		put(p, "%s/%u",
		    xl_addr_format(a->src[i].af, &a->src[i].addr, s, sizeof(s)),
		    a->src[i].plen);
	}
	if (k)
		put(p, " }\n");
	return k;
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

/* Deletions (first pass) or additions of one service present in a (old)
 * and b (new), either of which may be NULL. */
static void put_svc(struct xl_nft_plan *p, const struct xl_nft_svc *a,
		    const struct xl_nft_svc *b, bool adds)
{
	if (!adds) {
		if (a && a->snat && (!b || !snat_same(a, b)))
			put_snat(p, "delete", a);
		if (a && a->nsrc && (!b || !b->nsrc))
			put_src_del(p, a);
		else if (a && a->nsrc)
			p->elem_dels += put_src_only(p, "delete", a, b);
	} else {
		if (b && b->snat && (!a || !snat_same(a, b)))
			put_snat(p, "add", b);
		if (b && b->nsrc && (!a || !a->nsrc))
			put_src_add(p, b);
		else if (b && b->nsrc)
			p->elem_adds += put_src_only(p, "add", b, a);
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
	*p = (struct xl_nft_plan){0};
	/* "add" first so that "delete" finds a table, whatever was there */
	put(p, "add table " T "\ndelete table " T "\nadd table " T "\n");
	if (want->has_src_base)
		put_src_base(p);
	if (want->has_snat_base)
		put_snat_base(p);
	for (size_t i = 0; i < want->n; i++) {
		put_svc(p, NULL, &want->v[i], true);
		note(p, &want->v[i]);
	}
	return plan_end(p);
}

static int svc_cmp(const struct xl_nft_svc *a, const struct xl_nft_svc *b)
{
	return xl_service_cmp(&a->id, &b->id);
}

/* One pass of the merge of have and want: deletions or additions. */
static void diff_pass(const struct xl_nft_state *have,
		      const struct xl_nft_state *want, struct xl_nft_plan *p,
		      bool adds)
{
	size_t i = 0, j = 0;

	while (i < have->n || j < want->n) {
		int c = i == have->n   ? 1
			: j == want->n ? -1
				       : svc_cmp(&have->v[i], &want->v[j]);

		const struct xl_nft_svc *a = c <= 0 ? &have->v[i++] : NULL;
		const struct xl_nft_svc *b = c >= 0 ? &want->v[j++] : NULL;

		if (a && b && snat_same(a, b) && src_same(a, b))
			continue;
		put_svc(p, a, b, adds);
		if (!adds)
			note(p, b ? b : a);
	}
}

/*
 * Deletions go first: an interval set refuses a range that overlaps one it
 * holds, so a range replaced by a wider one must be gone before the wider
 * one comes.  One transaction either way: nothing is seen half done.
 */
int xl_nft_plan_diff(const struct xl_nft_state *have,
		     const struct xl_nft_state *want, struct xl_nft_plan *p)
{
	*p = (struct xl_nft_plan){0};
	if (want->has_src_base && !have->has_src_base)
		put_src_base(p);
	if (want->has_snat_base && !have->has_snat_base)
		put_snat_base(p);
	diff_pass(have, want, p, false);
	diff_pass(have, want, p, true);
	return plan_end(p);
}

void xl_nft_plan_free(struct xl_nft_plan *p)
{
	free(p->text);
	*p = (struct xl_nft_plan){0};
}
