/*
 * ipvs.c - IPVS over generic netlink: encode ops, decode dumps, pipeline.
 *
 * The kernel handles every request of one sendmsg() in turn, in the
 * sender's context, and queues a reply on our socket for each request
 * that fails and for the last one, which alone asks for an
 * acknowledgement.  So a batch of requests costs two system calls, and the
 * only limit is the receive buffer that must hold a batch's replies: it is
 * raised with SO_RCVBUFFORCE and batches are kept to XL_BATCH.
 */
#include "ipvs.h"
#include "kset.h"
#include "util.h"

#include <errno.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XL_BATCH 256
#define XL_SOCKBUF (8 << 20)
#define XL_MSG_SIZE 512

struct xl_ipvs {
	struct nl_sock *sk;
	int family;
	uint32_t seq;
};

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
		       struct xl_dest *out)
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
	get_stats(tb[IPVS_DEST_ATTR_STATS64], tb[IPVS_DEST_ATTR_STATS],
		  &out->stats);
	if (tb[IPVS_DEST_ATTR_TUN_TYPE])
		out->tun_type = nla_get_u8(tb[IPVS_DEST_ATTR_TUN_TYPE]);
	if (tb[IPVS_DEST_ATTR_TUN_PORT])
		out->tun_port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]));
	if (tb[IPVS_DEST_ATTR_TUN_FLAGS])
		out->tun_flags = nla_get_u16(tb[IPVS_DEST_ATTR_TUN_FLAGS]);
	return 0;
}

/* ---- the socket ------------------------------------------------------ */

static void try_modprobe(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execlp("modprobe", "modprobe", "-q", "ip_vs", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
}

static void raise_bufs(int fd)
{
	int sz = XL_SOCKBUF;

	/* FORCE needs CAP_NET_ADMIN, which we have; fall back if not */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sz = 1;
	/* errors need not echo our whole request back */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &sz, sizeof(sz));
}

struct xl_ipvs *xl_ipvs_open(char *err, size_t errlen)
{
	struct xl_ipvs *h = calloc(1, sizeof(*h));
	int rc;

	if (!h || !(h->sk = nl_socket_alloc())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = genl_connect(h->sk)) < 0) {
		snprintf(err, errlen, "generic netlink socket: %s",
			 nl_geterror(rc));
		goto fail;
	}
	h->family = genl_ctrl_resolve(h->sk, IPVS_GENL_NAME);
	if (h->family < 0) {
		try_modprobe();
		h->family = genl_ctrl_resolve(h->sk, IPVS_GENL_NAME);
	}
	if (h->family < 0) {
		snprintf(err, errlen,
			 "the kernel has no IPVS generic netlink family "
			 "(is ip_vs loaded? modprobe ip_vs): %s",
			 nl_geterror(h->family));
		goto fail;
	}
	raise_bufs(nl_socket_get_fd(h->sk));
	h->seq = (uint32_t)time(NULL);
	return h;
fail:
	xl_ipvs_close(h);
	return NULL;
}

void xl_ipvs_close(struct xl_ipvs *h)
{
	if (!h)
		return;
	if (h->sk)
		nl_socket_free(h->sk);
	free(h);
}

int xl_ipvs_family(const struct xl_ipvs *h)
{
	return h->family;
}

/*
 * Reads one datagram and hands every message in it to fn, which returns
 * <0 on error, 1 when the caller's wait is over, 0 to go on.
 */
typedef int (*rx_fn)(struct nlmsghdr *nh, void *arg);

static int rx_once(struct xl_ipvs *h, rx_fn fn, void *arg)
{
	static unsigned char buf[256 * 1024];
	ssize_t n;
	int done = 0, rc;

	do
		n = recv(nl_socket_get_fd(h->sk), buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	int len = (int)n;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; nlmsg_ok(nh, len);
	     nh = nlmsg_next(nh, &len)) {
		if ((rc = fn(nh, arg)) < 0)
			return rc;
		done |= rc;
	}
	return done;
}

static int rx_until(struct xl_ipvs *h, rx_fn fn, void *arg)
{
	int rc;

	while ((rc = rx_once(h, fn, arg)) == 0)
		;
	return rc < 0 ? rc : 0;
}

static int send_one(struct xl_ipvs *h, struct nl_msg *m, uint32_t *seq)
{
	struct nlmsghdr *nh = nlmsg_hdr(m);
	int rc;

	nh->nlmsg_seq = *seq = ++h->seq;
	nh->nlmsg_pid = nl_socket_get_local_port(h->sk);
	rc = nl_sendto(h->sk, nh, nh->nlmsg_len);
	nlmsg_free(m);
	return rc < 0 ? -EIO : 0;
}

/* ---- dumps ----------------------------------------------------------- */

struct dump_ctx {
	uint32_t seq;
	int err;
	int (*item)(struct nlattr **attrs, void *arg);
	void *arg;
};

static int dump_rx(struct nlmsghdr *nh, void *arg)
{
	struct dump_ctx *d = arg;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];

	if (nh->nlmsg_seq != d->seq)
		return 0;
	if (nh->nlmsg_type == NLMSG_DONE)
		return 1;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = nlmsg_data(nh);

		d->err = e->error; /* already negative */
		return 1;
	}
	if (genlmsg_parse(nh, 0, tb, IPVS_CMD_ATTR_MAX, NULL) < 0)
		return -EINVAL;
	return d->item(tb, d->arg) < 0 ? -ENOMEM : 0;
}

/* What a dump fills, with the room its array has so far. */
struct svc_sink {
	struct xl_table *t;
	size_t cap;
};

struct dest_sink {
	struct xl_service *s;
	size_t cap;
};

static int svc_item(struct nlattr **tb, void *arg)
{
	struct svc_sink *k = arg;
	struct xl_table *t = k->t;
	struct xl_service s;

	if (!tb[IPVS_CMD_ATTR_SERVICE] ||
	    xl_ipvs_parse_service(tb[IPVS_CMD_ATTR_SERVICE], &s) < 0)
		return 0; /* not ours to judge: skip what we cannot read */
	if (XL_GROW(t->svcs, k->cap, t->nsvcs + 1, 1) < 0)
		return -1;
	t->svcs[t->nsvcs++] = s;
	return 0;
}

static int dest_item(struct nlattr **tb, void *arg)
{
	struct dest_sink *k = arg;
	struct xl_service *s = k->s;
	struct xl_dest d;

	if (!tb[IPVS_CMD_ATTR_DEST] ||
	    xl_ipvs_parse_dest(tb[IPVS_CMD_ATTR_DEST], s->af, &d) < 0)
		return 0;
	if (XL_GROW(s->dests, k->cap, s->ndests + 1, 1) < 0)
		return -1;
	s->dests[s->ndests++] = d;
	return 0;
}

/* m sent, its replies handed to item through rx (a dump's, or one's). */
static int exchange(struct xl_ipvs *h, struct nl_msg *m, rx_fn rx,
		    int (*item)(struct nlattr **, void *), void *arg)
{
	struct dump_ctx d = {.item = item, .arg = arg};
	int rc;

	if (!m)
		return -ENOMEM;
	if ((rc = send_one(h, m, &d.seq)) < 0)
		return rc;
	if ((rc = rx_until(h, rx, &d)) < 0)
		return rc;
	return d.err;
}

static int dump(struct xl_ipvs *h, struct nl_msg *m,
		int (*item)(struct nlattr **, void *), void *arg)
{
	return exchange(h, m, dump_rx, item, arg);
}

static void qsort_dests(struct xl_service *s)
{
	struct xl_table one = {.svcs = s, .nsvcs = 1};

	xl_table_sort(&one);
}

int xl_ipvs_dump(struct xl_ipvs *h, struct xl_table *out)
{
	struct svc_sink k = {.t = out};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dump(h, xl_ipvs_msg_dump_services(h->family), svc_item, &k);
	for (size_t i = 0; i < out->nsvcs && !rc; i++) {
		struct dest_sink dk = {.s = &out->svcs[i]};

		rc = dump(h, xl_ipvs_msg_dump_dests(h->family, &out->svcs[i]),
			  dest_item, &dk);
	}
	/* a service deleted between the two dumps is simply empty */
	if (rc == -ESRCH)
		rc = 0;
	if (rc) {
		xl_table_free(out);
		return rc;
	}
	xl_table_sort(out);
	return 0;
}

/* The one reply to a request that is not a dump (or its error). */
static int one_rx(struct nlmsghdr *nh, void *arg)
{
	struct dump_ctx *d = arg;
	int rc = dump_rx(nh, arg);

	return rc == 0 && nh->nlmsg_seq == d->seq ? 1 : rc;
}

int xl_ipvs_get_service(struct xl_ipvs *h, const struct xl_service *key,
			struct xl_service *out)
{
	struct xl_table t = {0};
	struct svc_sink k = {.t = &t};
	struct dump_ctx d = {.item = svc_item, .arg = &k};
	struct nl_msg *m = xl_ipvs_msg_get_service(h->family, key);
	int rc;

	if (!m)
		return -ENOMEM;
	if ((rc = send_one(h, m, &d.seq)) < 0 ||
	    (rc = rx_until(h, one_rx, &d)) < 0 || (rc = d.err) < 0) {
		xl_table_free(&t);
		return rc;
	}
	if (!t.nsvcs)
		return -ESRCH;
	for (size_t i = 1; i < t.nsvcs; i++)
		xl_service_free(&t.svcs[i]);
	rc = xl_ipvs_dump_service(h, &t.svcs[0], out);
	free(t.svcs);
	return rc;
}

int xl_ipvs_dump_service(struct xl_ipvs *h, const struct xl_service *svc,
			 struct xl_service *out)
{
	struct dest_sink k = {.s = out};
	int rc;

	*out = xl_service_key(svc);
	rc = dump(h, xl_ipvs_msg_dump_dests(h->family, svc), dest_item, &k);
	if (rc < 0)
		xl_service_free(out);
	else
		qsort_dests(out);
	return rc;
}

/* ---- pipelined writes ------------------------------------------------ */

struct apply_ctx {
	const struct xl_op *ops;
	uint32_t first_seq;
	size_t n;
	long failed;
	xl_op_err_fn fn;
	void *arg;
};

/*
 * Only the last request of a batch asks for an acknowledgement.  The kernel
 * handles a batch's requests in order and answers every one that fails,
 * asked or not, so errors arrive before that last reply, which ends the
 * batch.  A success costs the kernel no reply and us no recv().
 */
static int apply_rx(struct nlmsghdr *nh, void *arg)
{
	struct apply_ctx *a = arg;
	struct nlmsgerr *e;
	uint32_t idx = nh->nlmsg_seq - a->first_seq;

	if (nh->nlmsg_type != NLMSG_ERROR || idx >= a->n)
		return 0; /* stale reply to an earlier, abandoned batch */
	e = nlmsg_data(nh);
	if (e->error) {
		a->failed++;
		if (a->fn)
			a->fn(&a->ops[idx], -e->error, a->arg);
	}
	return idx == a->n - 1;
}

static long apply_batch(struct xl_ipvs *h, struct apply_ctx *a,
			unsigned char *buf, size_t cap)
{
	size_t len;

	a->first_seq = h->seq + 1;
	len = xl_ipvs_encode_batch(h->family, a->ops, a->n, a->first_seq,
				   nl_socket_get_local_port(h->sk), buf, cap);
	h->seq += (uint32_t)a->n;
	if (!len)
		return -E2BIG;
	if (nl_sendto(h->sk, buf, len) < 0)
		return -EIO;
	return rx_until(h, apply_rx, a);
}

long xl_ipvs_apply(struct xl_ipvs *h, const struct xl_op *ops, size_t n,
		   xl_op_err_fn fn, void *arg)
{
	size_t cap = XL_BATCH * XL_MSG_SIZE;
	unsigned char *buf = malloc(cap);
	long failed = 0, rc = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i += XL_BATCH) {
		struct apply_ctx a = {.ops = ops + i, .fn = fn, .arg = arg};

		a.n = n - i < XL_BATCH ? n - i : XL_BATCH;
		rc = apply_batch(h, &a, buf, cap);
		failed += a.failed;
	}
	free(buf);
	return rc < 0 ? rc : failed;
}

const char *xl_ipvs_strerror(const struct xl_op *op, int err)
{
	static char buf[96];
	bool svc_op = op->kind <= XL_OP_DEL_SVC;

	switch (err) {
	case ENOENT:
		if (svc_op) {
			snprintf(
			    buf, sizeof(buf),
			    "unknown scheduler \"%s\" (no ip_vs_%s module?)",
			    op->svc->sched, op->svc->sched);
			return buf;
		}
		return "no such real server in the service";
	case ESRCH:
		return "no such virtual service";
	case EEXIST:
		return svc_op ? "virtual service already exists"
			      : "real server already in the service";
	case ERANGE:
		return "weight or thresholds out of range";
	case EINVAL:
		return svc_op ? "invalid virtual service"
			      : "invalid real server (mixed address families "
				"need tunnel forwarding)";
	default:
		return strerror(err);
	}
}

/* ---- timeouts (IPVS_CMD_GET_CONFIG, IPVS_CMD_SET_CONFIG) --------------- */

static int timeouts_item(struct nlattr **tb, void *arg)
{
	uint32_t *v = arg;

	for (int t = 0; t < XL_KT_N; t++)
		if (tb[timeout_attrs[t]])
			v[t] = nla_get_u32(tb[timeout_attrs[t]]);
	return 0;
}

/* A request that is not a dump, its one reply handed to item. */
static int request(struct xl_ipvs *h, struct nl_msg *m,
		   int (*item)(struct nlattr **, void *), void *arg)
{
	return exchange(h, m, one_rx, item, arg);
}

int xl_ipvs_get_timeouts(struct xl_ipvs *h, uint32_t v[XL_KT_N])
{
	memset(v, 0, sizeof(uint32_t) * XL_KT_N);
	return request(h, xl_ipvs_msg_get_config(h->family), timeouts_item, v);
}

int xl_ipvs_set_timeouts(struct xl_ipvs *h, const uint32_t v[XL_KT_N])
{
	return request(h, xl_ipvs_msg_set_config(h->family, v), timeouts_item,
		       (uint32_t[XL_KT_N]){0});
}

static int tops_get(void *h, uint32_t v[XL_KT_N])
{
	return xl_ipvs_get_timeouts(h, v);
}

static int tops_set(void *h, const uint32_t v[XL_KT_N])
{
	return xl_ipvs_set_timeouts(h, v);
}

const struct xl_kset_timeout_ops xl_ipvs_timeout_ops = {
    .get = tops_get,
    .set = tops_set,
};

/* ---- the sync engine's view (kernel.h) -------------------------------- */

static int kops_dump(void *h, struct xl_table *out)
{
	return xl_ipvs_dump(h, out);
}

static int kops_get_service(void *h, const struct xl_service *key,
			    struct xl_service *out)
{
	return xl_ipvs_get_service(h, key, out);
}

static long kops_apply(void *h, const struct xl_op *ops, size_t n,
		       xl_op_err_fn fn, void *arg)
{
	return xl_ipvs_apply(h, ops, n, fn, arg);
}

static const char *kops_strerror(void *h, const struct xl_op *op, int err)
{
	(void)h;
	return xl_ipvs_strerror(op, err);
}

const struct xl_kernel_ops xl_ipvs_kernel_ops = {
    .dump = kops_dump,
    .get_service = kops_get_service,
    .apply = kops_apply,
    .strerror = kops_strerror,
};
