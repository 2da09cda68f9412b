/*
 * ipvs_msg.c - IPVS generic netlink messages, with no socket: ops and
 * requests encoded into bytes, the kernel's service, destination, counter
 * and timeout attributes decoded into the model's structs.  ipvs.c sends
 * them and reads the replies.
 */
#include "ipvs.h"
#include "ipvs_impl.h"
#include "kset.h"

#include <errno.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <string.h>

/* ---- encoding -------------------------------------------------------- */

/*
 * Requests are written straight into the caller's buffer, attribute by
 * attribute, in the layout <linux/netlink.h> defines (libnl's nla_put()
 * and one nl_msg per request cost more than the kernel's own work on
 * them at 110,000 requests).  A request that does not fit sets e->full.
 */
struct enc {
	unsigned char *p;
	size_t len, cap;
	bool full;
};

/* n bytes (padded to the netlink alignment, padding zeroed) at the end */
static inline void *enc_room(struct enc *e, size_t n)
{
	size_t a = NLA_ALIGN(n);
	unsigned char *at;

	if (e->full || e->cap - e->len < a) {
		e->full = true;
		return NULL;
	}
	at = e->p + e->len;
	if (a > n)
		memset(at + n, 0, a - n);
	e->len += a;
	return at;
}

/* Returns the attribute's offset, for enc_nest_end(). */
static inline size_t enc_put(struct enc *e, uint16_t type, const void *data,
			     size_t n)
{
	size_t off = e->len;
	struct nlattr *a = enc_room(e, NLA_HDRLEN + n);

	if (a) {
		a->nla_type = type;
		a->nla_len = (uint16_t)(NLA_HDRLEN + n);
		if (n) /* a nest's header has no data (NULL) */
			memcpy((unsigned char *)a + NLA_HDRLEN, data, n);
	}
	return off;
}

static void enc_u8(struct enc *e, uint16_t type, uint8_t v)
{
	enc_put(e, type, &v, sizeof(v));
}

static void enc_u16(struct enc *e, uint16_t type, uint16_t v)
{
	enc_put(e, type, &v, sizeof(v));
}

static void enc_u32(struct enc *e, uint16_t type, uint32_t v)
{
	enc_put(e, type, &v, sizeof(v));
}

static size_t enc_nest(struct enc *e, uint16_t type)
{
	return enc_put(e, type | NLA_F_NESTED, NULL, 0);
}

static void enc_nest_end(struct enc *e, size_t off)
{
	if (!e->full)
		((struct nlattr *)(e->p + off))->nla_len =
		    (uint16_t)(e->len - off);
}

static void enc_service(struct enc *e, const struct xl_service *s, bool full)
{
	size_t nest = enc_nest(e, IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags fl = {.flags = s->flags & ~IP_VS_SVC_F_HASHED,
				 .mask = ~0U};

	enc_u16(e, IPVS_SVC_ATTR_AF, s->af);
	if (s->fwmark) {
		enc_u32(e, IPVS_SVC_ATTR_FWMARK, s->fwmark);
	} else {
		enc_u16(e, IPVS_SVC_ATTR_PROTOCOL, s->protocol);
		enc_put(e, IPVS_SVC_ATTR_ADDR, &s->addr, sizeof(s->addr));
		enc_u16(e, IPVS_SVC_ATTR_PORT, htons(s->port));
	}
	if (full) {
		enc_put(e, IPVS_SVC_ATTR_SCHED_NAME, s->sched,
			strnlen(s->sched, sizeof(s->sched) - 1) + 1);
		enc_put(e, IPVS_SVC_ATTR_FLAGS, &fl, sizeof(fl));
		enc_u32(e, IPVS_SVC_ATTR_TIMEOUT, s->timeout);
		enc_u32(e, IPVS_SVC_ATTR_NETMASK, s->netmask);
	}
	enc_nest_end(e, nest);
}

static void enc_dest(struct enc *e, const struct xl_dest *d, bool full)
{
	size_t nest = enc_nest(e, IPVS_CMD_ATTR_DEST);
	uint32_t fwd = d->fwd & IP_VS_CONN_F_FWD_MASK;

	enc_put(e, IPVS_DEST_ATTR_ADDR, &d->addr, sizeof(d->addr));
	enc_u16(e, IPVS_DEST_ATTR_PORT, htons(d->port));
	enc_u16(e, IPVS_DEST_ATTR_ADDR_FAMILY, d->af);
	if (full) {
		enc_u32(e, IPVS_DEST_ATTR_FWD_METHOD, fwd);
		enc_u32(e, IPVS_DEST_ATTR_WEIGHT, (uint32_t)d->weight);
		enc_u32(e, IPVS_DEST_ATTR_U_THRESH, d->u_thresh);
		enc_u32(e, IPVS_DEST_ATTR_L_THRESH, d->l_thresh);
	}
	if (full && fwd == IP_VS_CONN_F_TUNNEL) {
		enc_u8(e, IPVS_DEST_ATTR_TUN_TYPE, d->tun_type);
		enc_u16(e, IPVS_DEST_ATTR_TUN_PORT, htons(d->tun_port));
		enc_u16(e, IPVS_DEST_ATTR_TUN_FLAGS, d->tun_flags);
	}
	enc_nest_end(e, nest);
}

/* Starts a request; returns its offset, for enc_msg_end(). */
static size_t enc_msg(struct enc *e, int family, uint16_t flags, uint8_t cmd)
{
	size_t off = e->len;
	struct nlmsghdr *nh = enc_room(e, NLMSG_HDRLEN + GENL_HDRLEN);
	struct genlmsghdr *g;

	if (!nh)
		return off;
	memset(nh, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nh->nlmsg_type = (uint16_t)family;
	nh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = (struct genlmsghdr *)((unsigned char *)nh + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = IPVS_GENL_VERSION;
	return off;
}

static void enc_msg_end(struct enc *e, size_t off)
{
	if (!e->full)
		((struct nlmsghdr *)(e->p + off))->nlmsg_len =
		    (uint32_t)(e->len - off);
}

static void enc_op(struct enc *e, int family, uint16_t flags,
		   const struct xl_op *op)
{
	static const uint8_t cmds[] = {
	    [XL_OP_ADD_SVC] = IPVS_CMD_NEW_SERVICE,
	    [XL_OP_EDIT_SVC] = IPVS_CMD_SET_SERVICE,
	    [XL_OP_DEL_SVC] = IPVS_CMD_DEL_SERVICE,
	    [XL_OP_ADD_DEST] = IPVS_CMD_NEW_DEST,
	    [XL_OP_EDIT_DEST] = IPVS_CMD_SET_DEST,
	    [XL_OP_DEL_DEST] = IPVS_CMD_DEL_DEST,
	};
	bool full = op->kind != XL_OP_DEL_SVC && op->kind != XL_OP_DEL_DEST;
	bool svc_only = op->kind <= XL_OP_DEL_SVC;
	size_t m = enc_msg(e, family, flags, cmds[op->kind]);

	enc_service(e, op->svc, svc_only && full);
	if (!svc_only)
		enc_dest(e, op->dest, full);
	enc_msg_end(e, m);
}

size_t xl_ipvs_encode_batch(int family, const struct xl_op *ops, size_t n,
			    uint32_t seq, uint32_t port, unsigned char *buf,
			    size_t cap)
{
	struct enc e = {.p = buf, .cap = cap};

	for (size_t i = 0; i < n; i++) {
		size_t m = e.len;
		struct nlmsghdr *nh;

		/* only the last asks for an ack: see xl_ipvs_apply() */
		enc_op(&e, family, i + 1 == n ? NLM_F_ACK : 0, &ops[i]);
		if (e.full)
			return 0;
		nh = (struct nlmsghdr *)(buf + m);
		nh->nlmsg_seq = seq + (uint32_t)i;
		nh->nlmsg_pid = port;
	}
	return e.len;
}

/* A request alone, as an nl_msg (for send_one() and the unit tests). */
static struct nl_msg *to_msg(struct enc *e)
{
	return e->full ? NULL : nlmsg_convert((struct nlmsghdr *)e->p);
}

struct nl_msg *xl_ipvs_msg_op(int family, const struct xl_op *op)
{
	unsigned char buf[XL_MSG_SIZE];
	struct enc e = {.p = buf, .cap = sizeof(buf)};

	enc_op(&e, family, NLM_F_ACK, op);
	return to_msg(&e);
}

struct nl_msg *xl_ipvs_msg_dump_services(int family)
{
	unsigned char buf[XL_MSG_SIZE];
	struct enc e = {.p = buf, .cap = sizeof(buf)};

	enc_msg_end(&e, enc_msg(&e, family, NLM_F_DUMP, IPVS_CMD_GET_SERVICE));
	return to_msg(&e);
}

/* A request naming one service by its identity. */
static struct nl_msg *msg_service_key(int family, uint16_t flags, uint8_t cmd,
				      const struct xl_service *s)
{
	unsigned char buf[XL_MSG_SIZE];
	struct enc e = {.p = buf, .cap = sizeof(buf)};
	size_t m = enc_msg(&e, family, flags, cmd);

	enc_service(&e, s, false);
	enc_msg_end(&e, m);
	return to_msg(&e);
}

struct nl_msg *xl_ipvs_msg_dump_dests(int family, const struct xl_service *s)
{
	return msg_service_key(family, NLM_F_DUMP, IPVS_CMD_GET_DEST, s);
}

struct nl_msg *xl_ipvs_msg_get_service(int family, const struct xl_service *s)
{
	return msg_service_key(family, 0, IPVS_CMD_GET_SERVICE, s);
}

/* IPVS_CMD_ATTR_TIMEOUT_* in the order of enum xl_kset_timeout */
static const uint16_t timeout_attrs[XL_KT_N] = {
    [XL_KT_TCP] = IPVS_CMD_ATTR_TIMEOUT_TCP,
    [XL_KT_TCP_FIN] = IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
    [XL_KT_UDP] = IPVS_CMD_ATTR_TIMEOUT_UDP,
};

struct nl_msg *xl_ipvs_msg_get_config(int family)
{
	unsigned char buf[XL_MSG_SIZE];
	struct enc e = {.p = buf, .cap = sizeof(buf)};

	enc_msg_end(&e, enc_msg(&e, family, 0, IPVS_CMD_GET_CONFIG));
	return to_msg(&e);
}

struct nl_msg *xl_ipvs_msg_set_config(int family, const uint32_t v[XL_KT_N])
{
	unsigned char buf[XL_MSG_SIZE];
	struct enc e = {.p = buf, .cap = sizeof(buf)};
	size_t m = enc_msg(&e, family, NLM_F_ACK, IPVS_CMD_SET_CONFIG);

	/* an attribute left out is a timeout the kernel keeps */
	for (int t = 0; t < XL_KT_N; t++)
		if (v[t])
			enc_u32(&e, timeout_attrs[t], v[t]);
	enc_msg_end(&e, m);
	return to_msg(&e);
}

/* ---- decoding -------------------------------------------------------- */

static struct nla_policy svc_policy[IPVS_SVC_ATTR_MAX + 1] = {
    [IPVS_SVC_ATTR_AF] = {.type = NLA_U16},
    [IPVS_SVC_ATTR_PROTOCOL] = {.type = NLA_U16},
    [IPVS_SVC_ATTR_ADDR] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_SVC_ATTR_PORT] = {.type = NLA_U16},
    [IPVS_SVC_ATTR_FWMARK] = {.type = NLA_U32},
    [IPVS_SVC_ATTR_SCHED_NAME] = {.type = NLA_STRING},
    [IPVS_SVC_ATTR_FLAGS] = {.type = NLA_UNSPEC,
			     .minlen = sizeof(struct ip_vs_flags)},
    [IPVS_SVC_ATTR_TIMEOUT] = {.type = NLA_U32},
    [IPVS_SVC_ATTR_NETMASK] = {.type = NLA_U32},
    [IPVS_SVC_ATTR_STATS] = {.type = NLA_NESTED},
    [IPVS_SVC_ATTR_PE_NAME] = {.type = NLA_STRING},
    [IPVS_SVC_ATTR_STATS64] = {.type = NLA_NESTED},
};

static struct nla_policy dest_policy[IPVS_DEST_ATTR_MAX + 1] = {
    [IPVS_DEST_ATTR_ADDR] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_DEST_ATTR_PORT] = {.type = NLA_U16},
    [IPVS_DEST_ATTR_FWD_METHOD] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_WEIGHT] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_U_THRESH] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_L_THRESH] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_ACTIVE_CONNS] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_INACT_CONNS] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_PERSIST_CONNS] = {.type = NLA_U32},
    [IPVS_DEST_ATTR_STATS] = {.type = NLA_NESTED},
    [IPVS_DEST_ATTR_ADDR_FAMILY] = {.type = NLA_U16},
    [IPVS_DEST_ATTR_STATS64] = {.type = NLA_NESTED},
    [IPVS_DEST_ATTR_TUN_TYPE] = {.type = NLA_U8},
    [IPVS_DEST_ATTR_TUN_PORT] = {.type = NLA_U16},
    [IPVS_DEST_ATTR_TUN_FLAGS] = {.type = NLA_U16},
};

static struct nla_policy stats_policy[IPVS_STATS_ATTR_MAX + 1] = {
    [IPVS_STATS_ATTR_CONNS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_INPKTS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_OUTPKTS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_INBYTES] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_OUTBYTES] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_CPS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_INPPS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_OUTPPS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_INBPS] = {.type = NLA_UNSPEC, .minlen = 4},
    [IPVS_STATS_ATTR_OUTBPS] = {.type = NLA_UNSPEC, .minlen = 4},
};

/* A counter of either width: STATS64 has u64 values, STATS u32 (bytes
 * u64 in both). */
static uint64_t stat_value(struct nlattr *a)
{
	if (!a)
		return 0;
	return nla_len(a) >= 8 ? nla_get_u64(a) : nla_get_u32(a);
}

/* The nested counters, STATS64 preferred; left zero when absent or
 * malformed (counters are shown, never acted on). */
static void get_stats(struct nlattr *s64, struct nlattr *s32,
		      struct xl_ipvs_stats *out)
{
	struct nlattr *tb[IPVS_STATS_ATTR_MAX + 1];
	struct nlattr *nest = s64 ? s64 : s32;

	memset(out, 0, sizeof(*out));
	if (!nest ||
	    nla_parse_nested(tb, IPVS_STATS_ATTR_MAX, nest, stats_policy) < 0)
		return;
	out->conns = stat_value(tb[IPVS_STATS_ATTR_CONNS]);
	out->inpkts = stat_value(tb[IPVS_STATS_ATTR_INPKTS]);
	out->outpkts = stat_value(tb[IPVS_STATS_ATTR_OUTPKTS]);
	out->inbytes = stat_value(tb[IPVS_STATS_ATTR_INBYTES]);
	out->outbytes = stat_value(tb[IPVS_STATS_ATTR_OUTBYTES]);
	out->cps = stat_value(tb[IPVS_STATS_ATTR_CPS]);
	out->inpps = stat_value(tb[IPVS_STATS_ATTR_INPPS]);
	out->outpps = stat_value(tb[IPVS_STATS_ATTR_OUTPPS]);
	out->inbps = stat_value(tb[IPVS_STATS_ATTR_INBPS]);
	out->outbps = stat_value(tb[IPVS_STATS_ATTR_OUTBPS]);
}

static void get_addr(struct nlattr *a, union xl_inaddr *out)
{
	int n = nla_len(a);

	memset(out, 0, sizeof(*out));
	memcpy(out, nla_data(a), n > 16 ? 16 : (size_t)n);
}

int xl_ipvs_parse_service(struct nlattr *nest, struct xl_service *out)
{
	struct nlattr *tb[IPVS_SVC_ATTR_MAX + 1];
	struct ip_vs_flags fl;

	memset(out, 0, sizeof(*out));
	if (nla_parse_nested(tb, IPVS_SVC_ATTR_MAX, nest, svc_policy) < 0 ||
	    !tb[IPVS_SVC_ATTR_AF] || !tb[IPVS_SVC_ATTR_SCHED_NAME] ||
	    !tb[IPVS_SVC_ATTR_FLAGS] || !tb[IPVS_SVC_ATTR_TIMEOUT] ||
	    !tb[IPVS_SVC_ATTR_NETMASK])
		return -EINVAL;
	out->af = nla_get_u16(tb[IPVS_SVC_ATTR_AF]);
	if (tb[IPVS_SVC_ATTR_FWMARK]) {
		out->fwmark = nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]);
	} else {
		if (!tb[IPVS_SVC_ATTR_PROTOCOL] || !tb[IPVS_SVC_ATTR_ADDR] ||
		    !tb[IPVS_SVC_ATTR_PORT])
			return -EINVAL;
		out->protocol = nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
		get_addr(tb[IPVS_SVC_ATTR_ADDR], &out->addr);
		out->port = ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT]));
	}
	nla_strlcpy(out->sched, tb[IPVS_SVC_ATTR_SCHED_NAME],
		    sizeof(out->sched));
	memcpy(&fl, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), sizeof(fl));
	out->flags = fl.flags & ~IP_VS_SVC_F_HASHED;
	out->timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
	out->netmask = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
	get_stats(tb[IPVS_SVC_ATTR_STATS64], tb[IPVS_SVC_ATTR_STATS],
		  &out->stats);
	return 0;
}

static uint32_t get_u32_or(struct nlattr *a, uint32_t dflt)
{
	return a ? nla_get_u32(a) : dflt;
}

int xl_ipvs_parse_dest(struct nlattr *nest, uint16_t svc_af,
		       struct xl_dest *out, struct xl_ipvs_stats *stats)
{
	struct nlattr *tb[IPVS_DEST_ATTR_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (nla_parse_nested(tb, IPVS_DEST_ATTR_MAX, nest, dest_policy) < 0 ||
	    !tb[IPVS_DEST_ATTR_ADDR] || !tb[IPVS_DEST_ATTR_PORT] ||
	    !tb[IPVS_DEST_ATTR_FWD_METHOD] || !tb[IPVS_DEST_ATTR_WEIGHT])
		return -EINVAL;
	/* kernels before mixed-family pools do not say: the service's */
	out->af = tb[IPVS_DEST_ATTR_ADDR_FAMILY]
		      ? nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY])
		      : svc_af;
	get_addr(tb[IPVS_DEST_ATTR_ADDR], &out->addr);
	out->port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]));
	out->fwd =
	    nla_get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
	out->weight = (int32_t)nla_get_u32(tb[IPVS_DEST_ATTR_WEIGHT]);
	out->u_thresh = get_u32_or(tb[IPVS_DEST_ATTR_U_THRESH], 0);
	out->l_thresh = get_u32_or(tb[IPVS_DEST_ATTR_L_THRESH], 0);
	out->active_conns = get_u32_or(tb[IPVS_DEST_ATTR_ACTIVE_CONNS], 0);
	out->inact_conns = get_u32_or(tb[IPVS_DEST_ATTR_INACT_CONNS], 0);
	out->persist_conns = get_u32_or(tb[IPVS_DEST_ATTR_PERSIST_CONNS], 0);
	if (stats)
		get_stats(tb[IPVS_DEST_ATTR_STATS64], tb[IPVS_DEST_ATTR_STATS],
			  stats);
	if (tb[IPVS_DEST_ATTR_TUN_TYPE])
		out->tun_type = nla_get_u8(tb[IPVS_DEST_ATTR_TUN_TYPE]);
	if (tb[IPVS_DEST_ATTR_TUN_PORT])
		out->tun_port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]));
	if (tb[IPVS_DEST_ATTR_TUN_FLAGS])
		out->tun_flags = nla_get_u16(tb[IPVS_DEST_ATTR_TUN_FLAGS]);
	return 0;
}

/* ---- timeouts (IPVS_CMD_GET_CONFIG's reply) ---------------------------- */

int ipvs_timeouts_item(struct nlattr **tb, void *arg)
{
	uint32_t *v = arg;

	for (int t = 0; t < XL_KT_N; t++)
		if (tb[timeout_attrs[t]])
			v[t] = nla_get_u32(tb[timeout_attrs[t]]);
	return 0;
}
