/*
 * nft_msg.c - a plan as the netlink messages of one nftables batch, built
 * with libnftnl.  No socket: nft.c sends the bytes, and tests read them
 * back with libnftnl's parsers.
 *
 * The objects are the ones nft(8) makes of the commands the plan names
 * (xl_nft_plan_text): the same key types, lengths, flags and user data on
 * the sets, the same expressions and registers in the rules (the masks of
 * allowed_sources included), so that "nft list ruleset" prints the table
 * as it prints the one nft -f makes of that text.  What nft
 * would have parsed and evaluated for each of 40,000 elements is here a
 * few bytes copied: the elements' keys come from xl_nft_elem_key.
 */
#include "nft_impl.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room kept free before each message: the largest is a chunk of
 * elements (ELEMS_PER_MSG of at most ~110 bytes) */
#define MSG_ROOM 65536
/* Elements per message: their list is one netlink attribute, whose
 * length must fit 16 bits. */
#define ELEMS_PER_MSG 256

/* the chains' priorities: raw (before conntrack), srcnat */
#define PRIO_RAW (-300)
#define PRIO_SRCNAT 100

/* nft's data types (datatype.h), 6 bits each in a concatenation's type */
enum {
	TYPE_MARK = 19,
	TYPE_IPADDR = 7,
	TYPE_IP6ADDR = 8,
	TYPE_INET_PROTOCOL = 12,
	TYPE_INET_SERVICE = 13,
	TYPE_BITS = 6,
};
/* nft's set user data (libnftnl's udata.h names the first ones) */
enum {
	UD_KEYBYTEORDER = 0,
	UD_DATABYTEORDER = 1,
	UD_KEY_TYPEOF = 3,
	UD_DATA_INTERVAL = 6,
	UD_TYPEOF_EXPR = 0,
	UD_TYPEOF_DATA = 1,
	BYTEORDER_INVALID = 0,
	BYTEORDER_HOST = 1,
	BYTEORDER_BIG = 2,
	EXPR_META = 9,
	EXPR_CONCAT = 13,
};

/* ---- the batch --------------------------------------------------------- */

/* Room for the next message at the end of b.  The room is zeroed: libmnl
 * (1.0.4) does not write the padding after an attribute, and the kernel
 * should not see what the heap held there. */
static char *room(struct nft_batch *b)
{
	size_t had = b->cap;

	if (b->oom || XL_GROW(b->buf, b->cap, b->len + MSG_ROOM, 1 << 17) < 0) {
		b->oom = true;
		return NULL;
	}
	if (b->cap > had)
		memset(b->buf + had, 0, b->cap - had);
	return b->buf + b->len;
}

static void done(struct nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

void nft_batch_init(struct nft_batch *b, const char *table, uint32_t seq)
{
	char *p;

	*b = (struct nft_batch){.table = table, .seq0 = seq, .seq = seq};
	if ((p = room(b)))
		done(b, nftnl_batch_begin(p, b->seq++));
}

int nft_batch_end(struct nft_batch *b)
{
	char *p = room(b);

	if (p && b->nw)
		((struct nlmsghdr *)(b->buf + b->last))->nlmsg_flags |=
		    NLM_F_ACK;
	if (p)
		done(b, nftnl_batch_end(p, b->seq++));
	return b->oom ? -ENOMEM : 0;
}

void nft_batch_free(struct nft_batch *b)
{
	free(b->buf);
	free(b->w);
	*b = (struct nft_batch){0};
}

const char *nft_batch_what(const struct nft_batch *b, uint32_t seq)
{
	if (seq == b->seq0)
		return "the transaction";
	if (seq <= b->seq0 || seq - b->seq0 - 1 >= b->nw)
		return NULL;
	return b->w[seq - b->seq0 - 1].text;
}

/* A message's header, its sequence number named by what; NULL when out of
 * memory. */
static struct nlmsghdr *msg(struct nft_batch *b, uint16_t type, uint16_t flags,
			    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct nlmsghdr *msg(struct nft_batch *b, uint16_t type, uint16_t flags,
			    const char *fmt, ...)
{
	char *p = room(b);
	struct nft_what *w;
	va_list ap;

	if (!p || XL_GROW(b->w, b->wcap, b->nw + 1, 64) < 0) {
		b->oom = true;
		return NULL;
	}
	w = &b->w[b->nw++];
	w->seq = b->seq;
	b->last = b->len;
	va_start(ap, fmt);
	vsnprintf(w->text, sizeof(w->text), fmt, ap);
	va_end(ap);
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags, b->seq++);
}

/* ---- tables, chains -------------------------------------------------- */

void nft_batch_table(struct nft_batch *b, bool add)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		b->oom = true;
		return;
	}
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table);
	if (add)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nlh = msg(b, add ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE,
		  add ? NLM_F_CREATE : 0, "%s table inet %s",
		  add ? "add" : "delete", b->table);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		done(b, nlh);
	}
	nftnl_table_free(t);
}

/* A base chain on hook (type NULL: a regular chain, reached by jumps). */
static void chain(struct nft_batch *b, const char *name, const char *type,
		  uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c) {
		b->oom = true;
		return;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	if (type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, "add chain inet %s %s",
		  b->table, name);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		done(b, nlh);
	}
	nftnl_chain_free(c);
}

/* ---- sets ---------------------------------------------------------------- */

/* A set's shape: its key as nft types (1 to 4 fields), its value's type
 * for a map, its flags. */
struct set_shape {
	const char *name;
	uint8_t ntypes;
	uint8_t types[4];
	uint32_t flags;
	uint32_t data_type; /* 0: a set */
	uint32_t nelems;    /* the size of a constant set */
};

static uint32_t type_len(uint8_t type)
{
	switch (type) {
	case TYPE_IPADDR:
		return 4;
	case TYPE_IP6ADDR:
		return 16;
	case TYPE_INET_PROTOCOL:
		return 1;
	case TYPE_INET_SERVICE:
		return 2;
	}
	return 4; /* mark */
}

/* The user data nft writes on a set and reads back to print it: the
 * key's byte order, and for a concatenation the (empty) description of
 * its expression; for a map, the value's byte order. */
static bool set_udata(struct nftnl_set *s, const struct set_shape *sh)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
	struct nftnl_udata *nest;
	bool concat = sh->ntypes > 1;

	if (!u)
		return false;
	nftnl_udata_put_u32(u, UD_KEYBYTEORDER,
			    concat ? BYTEORDER_INVALID : BYTEORDER_HOST);
	if (sh->data_type)
		nftnl_udata_put_u32(u, UD_DATABYTEORDER, BYTEORDER_BIG);
	if (concat || sh->nelems) {
		nest = nftnl_udata_nest_start(u, UD_KEY_TYPEOF);
		nftnl_udata_put_u32(u, UD_TYPEOF_EXPR,
				    concat ? EXPR_CONCAT : EXPR_META);
		if (concat) {
			nftnl_udata_nest_end(
			    u, nftnl_udata_nest_start(u, UD_TYPEOF_DATA));
		} else {
			struct nftnl_udata *d =
			    nftnl_udata_nest_start(u, UD_TYPEOF_DATA);

			nftnl_udata_put_u32(u, 0, NFT_META_L4PROTO);
			nftnl_udata_nest_end(u, d);
		}
		nftnl_udata_nest_end(u, nest);
	}
	if (sh->data_type)
		nftnl_udata_put_u32(u, UD_DATA_INTERVAL, 0);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
			   nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return true;
}

/* A set in b; its id (for a lookup of an anonymous one). */
static uint32_t set(struct nft_batch *b, const struct set_shape *sh)
{
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t key_type = 0, key_len = 0, id = ++b->set_id;
	struct nlmsghdr *nlh;

	if (!s) {
		b->oom = true;
		return 0;
	}
	for (size_t i = 0; i < sh->ntypes; i++) {
		uint32_t len = type_len(sh->types[i]);

		key_type = key_type << TYPE_BITS | sh->types[i];
		/* a concatenation's fields each take whole registers */
		key_len += sh->ntypes > 1 ? (len + 3u) & ~3u : len;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, sh->name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, sh->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	if (sh->data_type) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, sh->data_type);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN,
				  type_len((uint8_t)sh->data_type));
	}
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	if (sh->nelems)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, sh->nelems);
	if (!set_udata(s, sh))
		b->oom = true;
	nlh = msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, "add %s inet %s %s",
		  sh->data_type ? "map" : "set", b->table, sh->name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		done(b, nlh);
	}
	nftnl_set_free(s);
	return id;
}

/* ---- rules ----------------------------------------------------------- */

/* nft's register for a field at byte off of a concatenation: a 16-byte
 * register when it starts one, else a 32-bit one (the same word). */
static uint32_t reg(size_t off)
{
	return off % 16 ? NFT_REG32_00 + (uint32_t)(off / 4)
			: NFT_REG_1 + (uint32_t)(off / 16);
}

/* An expression's 32-bit attributes (type 0 ends the list: no attribute
 * of libnftnl's expressions has that number). */
struct attr {
	uint16_t type;
	uint32_t val;
};

/* The expression name with attributes a appended to r; NULL when out of
 * memory. */
static struct nftnl_expr *expr_attrs(struct nftnl_rule *r, const char *name,
				     const struct attr *a)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		return NULL;
	for (; a && a->type; a++)
		nftnl_expr_set_u32(e, a->type, a->val);
	nftnl_rule_add_expr(r, e);
	return e;
}

#define EXPR(r, name, ...)                                                     \
	expr_attrs((r), (name), (const struct attr[]){__VA_ARGS__, {0, 0}})

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	return expr_attrs(r, name, NULL);
}

static bool meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	return EXPR(r, "meta", {NFTNL_EXPR_META_KEY, key},
		    {NFTNL_EXPR_META_DREG, dreg});
}

static bool cmp_u8(struct nftnl_rule *r, uint32_t sreg, uint8_t v)
{
	struct nftnl_expr *e = EXPR(r, "cmp", {NFTNL_EXPR_CMP_SREG, sreg},
				    {NFTNL_EXPR_CMP_OP, NFT_CMP_EQ});

	if (e)
		nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, &v, 1);
	return e;
}

static bool payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
		    uint32_t len, uint32_t dreg)
{
	return EXPR(r, "payload", {NFTNL_EXPR_PAYLOAD_DREG, dreg},
		    {NFTNL_EXPR_PAYLOAD_BASE, base},
		    {NFTNL_EXPR_PAYLOAD_OFFSET, off},
		    {NFTNL_EXPR_PAYLOAD_LEN, len});
}

/* dreg 0: a set, no value; id 0: a set that exists by name */
static bool lookup(struct nftnl_rule *r, const char *name, uint32_t id,
		   uint32_t dreg, bool inv)
{
	struct nftnl_expr *e =
	    EXPR(r, "lookup", {NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1});

	if (!e)
		return false;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
	if (id)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
	if (dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS,
				   NFT_LOOKUP_F_INV);
	return true;
}

static bool ct(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e =
	    EXPR(r, "ct", {NFTNL_EXPR_CT_DREG, dreg}, {NFTNL_EXPR_CT_KEY, key});

	if (e)
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
	return e;
}

/* nat of type snat from the address in register 1; the family of the
 * address */
static bool nat_snat(struct nftnl_rule *r, uint32_t family)
{
	return EXPR(r, "nat", {NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT},
		    {NFTNL_EXPR_NAT_FAMILY, family},
		    {NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1});
}

static struct nftnl_rule *rule_new(struct nft_batch *b, const char *chain_name)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		b->oom = true;
		return NULL;
	}
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain_name);
	return r;
}

/* r appended to its chain, or put first in it (first: "insert rule");
 * ok: all its expressions were allocated. */
static void rule_put(struct nft_batch *b, struct nftnl_rule *r, bool ok,
		     bool first, const char *what)
{
	struct nlmsghdr *nlh;

	if (!r)
		return;
	if (!ok)
		b->oom = true;
	nlh = msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | (first ? 0 : NLM_F_APPEND),
		  "%s rule inet %s %s %s", first ? "insert" : "add", b->table,
		  nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), what);
	if (nlh && !b->oom) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		done(b, nlh);
	}
	nftnl_rule_free(r);
}

static void rule_end(struct nft_batch *b, struct nftnl_rule *r, bool ok,
		     const char *what)
{
	rule_put(b, r, ok, false, what);
}

/* A verdict: code, and the chain of a jump. */
static bool verdict(struct nftnl_rule *r, int code, const char *to)
{
	struct nftnl_expr *e =
	    EXPR(r, "immediate", {NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT},
		 {NFTNL_EXPR_IMM_VERDICT, (uint32_t)code});

	if (e && to)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, to);
	return e;
}

/* meta nfproto ipv4 (or ipv6), which nft puts before "ip daddr" in a
 * table of family inet */
static bool nfproto(struct nftnl_rule *r, bool v6)
{
	return meta(r, NFT_META_NFPROTO, NFT_REG_1) &&
	       cmp_u8(r, NFT_REG_1, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
}

/* daddr . l4proto . dport (. saddr & mask), the key of guard and of the
 * src sets: the addresses from the network header, the protocol from
 * meta, the port from the transport header; the source address masked in
 * its own register to prefix length plen (none when it is the whole
 * address). */
static bool load_key(struct nftnl_rule *r, bool v6, bool with_saddr,
		     unsigned plen)
{
	uint32_t a = v6 ? 16 : 4;
	uint8_t mask[16], zero[16] = {0};
	struct nftnl_expr *e;
	bool ok =
	    payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, a, reg(0)) &&
	    meta(r, NFT_META_L4PROTO, reg(a)) &&
	    payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg(a + 4));

	if (!with_saddr || !ok)
		return ok;
	if (!payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, a, reg(a + 8)))
		return false;
	if (plen >= a * 8)
		return true;
	xl_nft_prefix_mask(v6 ? AF_INET6 : AF_INET, plen, mask);
	e = EXPR(r, "bitwise", {NFTNL_EXPR_BITWISE_SREG, reg(a + 8)},
		 {NFTNL_EXPR_BITWISE_DREG, reg(a + 8)},
		 {NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL},
		 {NFTNL_EXPR_BITWISE_LEN, a});
	if (e) {
		nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, a);
		nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, zero, a);
	}
	return e;
}

static const char *check_chain(bool v6)
{
	return v6 ? "src_check6" : "src_check4";
}

/* ip daddr . meta l4proto . th dport @guard4 jump src_check4 */
static void sources_rule(struct nft_batch *b, bool v6)
{
	struct nftnl_rule *r = rule_new(b, "sources");
	char name[XL_NFT_SETNAME_MAX];
	bool ok;

	if (!r)
		return;
	ok = nfproto(r, v6) && load_key(r, v6, false, 0) &&
	     lookup(r, xl_nft_set_name(XL_NFT_GUARD, v6, 0, name), 0, 0,
		    false) &&
	     verdict(r, NFT_JUMP, check_chain(v6));
	rule_end(b, r, ok, v6 ? "(IPv6)" : "(IPv4)");
}

/* src_check4's last rule: drop */
static void check_drop(struct nft_batch *b, bool v6)
{
	struct nftnl_rule *r = rule_new(b, check_chain(v6));

	if (r)
		rule_end(b, r, verdict(r, NF_DROP, NULL), "(drop)");
}

static void elems_msg(struct nft_batch *b, bool add, const char *name,
		      uint32_t id, struct nftnl_set *s, size_t n,
		      const char *first);

/* meta l4proto { tcp, udp, sctp }: an anonymous constant set of its own
 * for each rule, as nft makes it. */
static bool l4proto_any(struct nft_batch *b, struct nftnl_rule *r)
{
	static const struct set_shape anon = {
	    .name = "__set%d",
	    .ntypes = 1,
	    .types = {TYPE_INET_PROTOCOL},
	    .flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT,
	    .nelems = 3,
	};
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP,
					 IPPROTO_SCTP};
	uint32_t id = set(b, &anon);
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return false;
	for (size_t i = 0; i < XL_ARRAY_SIZE(protos); i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();

		if (!e) {
			nftnl_set_free(s);
			return false;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &protos[i], 1);
		nftnl_set_elem_add(s, e);
	}
	elems_msg(b, true, anon.name, id, s, XL_ARRAY_SIZE(protos), NULL);
	nftnl_set_free(s);
	return meta(r, NFT_META_L4PROTO, NFT_REG_1) &&
	       lookup(r, anon.name, id, 0, false);
}

/* ct original daddr . ct original protocol . ct original proto-dst */
static bool load_ct_key(struct nftnl_rule *r, bool v6)
{
	uint32_t a = v6 ? 16 : 4;

	return ct(r, v6 ? NFT_CT_DST_IP6 : NFT_CT_DST_IP, reg(0)) &&
	       ct(r, NFT_CT_PROTOCOL, reg(a)) &&
	       ct(r, NFT_CT_PROTO_DST, reg(a + 4));
}

/* meta l4proto { tcp, udp, sctp } <ct key> @masq4 masquerade, and
 * meta l4proto { tcp, udp, sctp } snat ip to <ct key> map @snat4 */
static void snat_rule(struct nft_batch *b, bool v6, bool map)
{
	struct nftnl_rule *r = rule_new(b, "postrouting");
	char name[XL_NFT_SETNAME_MAX];
	bool ok;

	if (!r)
		return;
	ok = l4proto_any(b, r) && load_ct_key(r, v6);
	if (map)
		ok = ok &&
		     lookup(r, xl_nft_set_name(XL_NFT_SNAT, v6, 0, name), 0,
			    NFT_REG_1, false) &&
		     nat_snat(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	else
		ok = ok &&
		     lookup(r, xl_nft_set_name(XL_NFT_MASQ, v6, 0, name), 0, 0,
			    false) &&
		     expr(r, "masq");
	rule_end(b, r, ok,
		 map ? (v6 ? "(snat6)" : "(snat4)")
		     : (v6 ? "(masq6)" : "(masq4)"));
}

/* ---- the base objects ------------------------------------------------ */

static struct set_shape key_shape(enum xl_nft_set which, bool v6, unsigned plen,
				  char *name)
{
	uint8_t a = v6 ? TYPE_IP6ADDR : TYPE_IPADDR;
	struct set_shape sh = {
	    .name = xl_nft_set_name(which, v6, plen, name),
	    .ntypes = 3,
	    .types = {a, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE, a},
	};

	if (which == XL_NFT_SRC) {
		sh.ntypes = 4;
	} else if (which == XL_NFT_SNAT) {
		sh.flags = NFT_SET_MAP;
		sh.data_type = a;
	}
	return sh;
}

static void src_base(struct nft_batch *b)
{
	char name[XL_NFT_SETNAME_MAX];

	for (int v6 = 0; v6 < 2; v6++) {
		struct set_shape g = key_shape(XL_NFT_GUARD, v6, 0, name);

		set(b, &g);
	}
	/* the chains the jumps go to first, each with its last rule */
	for (int v6 = 0; v6 < 2; v6++) {
		chain(b, check_chain(v6), NULL, 0, 0);
		check_drop(b, v6);
	}
	chain(b, "sources", "filter", NF_INET_PRE_ROUTING, PRIO_RAW);
	sources_rule(b, false);
	sources_rule(b, true);
}

/* The set of prefix length plen and its rule, put first in src_check4
 * (or 6), before the drop:
 *   ip daddr . meta l4proto . th dport . ip saddr & MASK @src4_24 return */
static void src_len(struct nft_batch *b, bool v6, unsigned plen)
{
	char name[XL_NFT_SETNAME_MAX], what[32];
	struct set_shape sh = key_shape(XL_NFT_SRC, v6, plen, name);
	struct nftnl_rule *r;
	bool ok;

	set(b, &sh);
	if (!(r = rule_new(b, check_chain(v6))))
		return;
	ok = nfproto(r, v6) && load_key(r, v6, true, plen) &&
	     lookup(r, name, 0, 0, false) && verdict(r, NFT_RETURN, NULL);
	snprintf(what, sizeof(what), "(%s)", name);
	rule_put(b, r, ok, true, what);
}

static void snat_base(struct nft_batch *b)
{
	static const enum xl_nft_set order[] = {XL_NFT_MASQ, XL_NFT_SNAT};

	for (size_t i = 0; i < XL_ARRAY_SIZE(order); i++)
		for (int v6 = 0; v6 < 2; v6++) {
			char name[XL_NFT_SETNAME_MAX];
			struct set_shape sh = key_shape(order[i], v6, 0, name);

			set(b, &sh);
		}
	chain(b, "postrouting", "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT);
	for (int v6 = 0; v6 < 2; v6++) {
		snat_rule(b, v6, false);
		snat_rule(b, v6, true);
	}
}

/* ---- elements -------------------------------------------------------- */

static void elems_msg(struct nft_batch *b, bool add, const char *name,
		      uint32_t id, struct nftnl_set *s, size_t n,
		      const char *first)
{
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	if (id)
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nlh = msg(
	    b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
	    add ? NLM_F_CREATE : 0,
	    "%s element inet %s %s (%zu element%s, the first of service %s)",
	    add ? "add" : "delete", b->table, name, n, n == 1 ? "" : "s",
	    first ? first : "-");
	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		done(b, nlh);
	}
}

static void group(struct nft_batch *b, const struct xl_nft_group *g)
{
	char name[XL_NFT_SETNAME_MAX];

	xl_nft_set_name(g->set, g->v6, g->plen, name);
	for (size_t i = 0; i < g->n && !b->oom; i += ELEMS_PER_MSG) {
		size_t n = g->n - i < ELEMS_PER_MSG ? g->n - i : ELEMS_PER_MSG;
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s) {
			b->oom = true;
			return;
		}
		for (size_t k = i; k < i + n; k++) {
			const struct xl_nft_elem *x = &g->v[k];
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();
			uint8_t key[XL_NFT_KEY_MAX];
			uint8_t data[16];

			if (!e) {
				b->oom = true;
				break;
			}
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key,
					   (uint32_t)xl_nft_elem_key(x, key));
			if (g->set == XL_NFT_SNAT && g->add)
				nftnl_set_elem_set(
				    e, NFTNL_SET_ELEM_DATA, data,
				    (uint32_t)xl_nft_elem_data(x, data));
			nftnl_set_elem_add(s, e);
		}
		if (!b->oom)
			elems_msg(b, g->add, name, 0, s, n, g->v[i].svc->name);
		nftnl_set_free(s);
	}
}

void nft_batch_plan(struct nft_batch *b, const struct xl_nft_plan *p)
{
	struct xl_nft_group g[XL_NFT_GROUPS_MAX];
	size_t ng = xl_nft_plan_groups(p, g);

	if (p->replace) {
		static const struct set_shape owner = {
		    .name = XL_NFT_MARKER,
		    .ntypes = 1,
		    .types = {TYPE_MARK},
		};

		/* "add" first so that "delete" finds a table, whatever was
		 * there */
		nft_batch_table(b, true);
		nft_batch_table(b, false);
		nft_batch_table(b, true);
		set(b, &owner);
	}
	if (p->src_base)
		src_base(b);
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned l = 0; l < XL_NFT_PLENS; l++)
			if (p->src_len[v6][l])
				src_len(b, v6, l);
	if (p->snat_base)
		snat_base(b);
	for (size_t i = 0; i < ng; i++)
		group(b, &g[i]);
}

/* ---- kernel feature probes ------------------------------------------- */

void nft_batch_probe(struct nft_batch *b, enum nft_probe what)
{
	struct nftnl_rule *r = NULL;
	struct nftnl_expr *e;
	bool ok = true;

	nft_batch_table(b, true);
	if (what == NFT_PROBE_SOURCES) {
		/* the base, and a rule that masks the source */
		src_base(b);
		src_len(b, false, 24);
		src_len(b, true, 64);
	}
	if (what >= NFT_PROBE_NAT)
		chain(b, "p", "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT);
	if (what > NFT_PROBE_NAT)
		r = rule_new(b, "p");
	if (r && what == NFT_PROBE_CT) {
		ok = ct(r, NFT_CT_PROTOCOL, NFT_REG_1) &&
		     cmp_u8(r, NFT_REG_1, IPPROTO_TCP);
	} else if (r && what == NFT_PROBE_MASQ) {
		ok = expr(r, "masq");
	} else if (r && what == NFT_PROBE_SNAT) {
		static const uint8_t addr[4] = {192, 0, 2, 1};

		e = EXPR(r, "immediate", {NFTNL_EXPR_IMM_DREG, NFT_REG_1});
		if (e)
			nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, addr,
					    sizeof(addr));
		ok = e && nat_snat(r, NFPROTO_IPV4);
	}
	rule_end(b, r, ok, "(probe)");
	nft_batch_table(b, false);
}
