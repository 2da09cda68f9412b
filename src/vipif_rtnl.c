/*
 * vipif_rtnl.c - the VIP engine's ops over rtnetlink (libnl-route-3).
 *
 * One NETLINK_ROUTE socket for the life of the process, opened on first
 * use (a configuration without vip_interface never opens it).  The
 * interface is looked up, made and set up with libnl's rtnl_link calls.
 * Addresses are written as ipvs.c writes services: each request built by
 * libnl (rtnl_addr_build_*_request, plus IFA_PROTO, which libnl 3.7 does
 * not know), many per sendmsg(), only the last of a batch asking for an
 * acknowledgement, the kernel's errors matched to requests by sequence
 * number; so 10,000 VIPs at start-up cost a few dozen system calls.  A
 * dump asks for one interface's addresses (NETLINK_GET_STRICT_CHK makes
 * the kernel filter by index) and parses them with nlmsg_parse, since
 * libnl's address object has no field for the protocol.
 */
#include "vipif.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

#define XL_RTNL_BATCH 256
#define XL_RTNL_MSG 256 /* one address request, with room to spare */
#define XL_RTNL_SOCKBUF (4 << 20)

struct xl_rtnl {
	struct nl_sock *sk;
};

struct xl_rtnl *xl_rtnl_new(void)
{
	return calloc(1, sizeof(struct xl_rtnl));
}

void xl_rtnl_free(struct xl_rtnl *r)
{
	if (!r)
		return;
	if (r->sk)
		nl_socket_free(r->sk);
	free(r);
}

/* libnl's error codes as errnos, for the engine's messages. */
static int to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_PERM:
		return EPERM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_OBJ_NOTFOUND:
		return ENODEV;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_INVAL:
		return EINVAL;
	case NLE_BUSY:
		return EBUSY;
	default:
		return EIO;
	}
}

static int sock(struct xl_rtnl *r)
{
	int fd, one = 1, sz = XL_RTNL_SOCKBUF, rc;

	if (r->sk)
		return 0;
	if (!(r->sk = nl_socket_alloc()))
		return -ENOMEM;
	if ((rc = nl_connect(r->sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(r->sk);
		r->sk = NULL;
		return -to_errno(rc);
	}
	/* the batches of op_apply number their requests themselves
	 * (nl_socket_use_seq) and read their own replies, which libnl's
	 * expected sequence does not follow */
	nl_socket_disable_seq_check(r->sk);
	fd = nl_socket_get_fd(r->sk);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* dumps filtered by the kernel (Linux 4.20); older ones send every
	 * address, and the parser filters */
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	return 0;
}

/* ---- the interface ------------------------------------------------------ */

static int make_dummy(struct xl_rtnl *r, const char *name)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int rc;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, name);
	if ((rc = rtnl_link_set_type(l, "dummy")) >= 0)
		rc = rtnl_link_add(r->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	return rc < 0 ? -to_errno(rc) : 0;
}

/* Up, and marked as extlbd's when made now. */
static int set_up(struct xl_rtnl *r, struct rtnl_link *l, bool mark)
{
	struct rtnl_link *chg;
	int rc;

	if ((rtnl_link_get_flags(l) & IFF_UP) && !mark)
		return 0;
	if (!(chg = rtnl_link_alloc()))
		return -ENOMEM;
	rtnl_link_set_flags(chg, IFF_UP);
	if (mark)
		rtnl_link_set_ifalias(chg, XL_VIP_IFALIAS);
	rc = rtnl_link_change(r->sk, l, chg, 0);
	rtnl_link_put(chg);
	return rc < 0 ? -to_errno(rc) : 0;
}

static int op_link(void *k, const char *name)
{
	struct xl_rtnl *r = k;
	struct rtnl_link *l = NULL;
	bool made = false;
	const char *type;
	int rc;

	if ((rc = sock(r)) < 0)
		return rc;
	rc = rtnl_link_get_kernel(r->sk, 0, name, &l);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
		if ((rc = make_dummy(r, name)) < 0)
			return rc;
		made = true;
		rc = rtnl_link_get_kernel(r->sk, 0, name, &l);
	}
	if (rc < 0)
		return -to_errno(rc);
	type = rtnl_link_get_type(l);
	if (!type || strcmp(type, "dummy"))
		rc = -EMEDIUMTYPE;
	else if ((rc = set_up(r, l, made)) == 0)
		rc = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return rc;
}

static int op_unlink(void *k, const char *name)
{
	struct xl_rtnl *r = k;
	struct rtnl_link *l = NULL;
	const char *alias;
	int rc;

	if ((rc = sock(r)) < 0)
		return rc;
	if ((rc = rtnl_link_get_kernel(r->sk, 0, name, &l)) < 0)
		return rc == -NLE_OBJ_NOTFOUND ? 0 : -to_errno(rc);
	alias = rtnl_link_get_ifalias(l);
	if (alias && !strcmp(alias, XL_VIP_IFALIAS))
		rc = rtnl_link_delete(r->sk, l) < 0 ? -EIO : 1;
	rtnl_link_put(l);
	return rc;
}

/* ---- dump --------------------------------------------------------------- */

struct dump_ctx {
	int ifindex;
	struct xl_vip_addr *v;
	size_t n, cap;
	int err;
};

static struct nla_policy addr_policy[IFA_MAX + 1] = {
    [IFA_ADDRESS] = {.minlen = 4},
    [IFA_LOCAL] = {.minlen = 4},
    [IFA_PROTO] = {.type = NLA_U8},
};

static int dump_item(struct nl_msg *m, void *arg)
{
	struct dump_ctx *d = arg;
	struct nlmsghdr *nh = nlmsg_hdr(m);
	struct ifaddrmsg *ifa = nlmsg_data(nh);
	struct nlattr *tb[IFA_MAX + 1], *a;
	struct xl_vip_addr x = {0};
	size_t len;

	if (nh->nlmsg_type != RTM_NEWADDR ||
	    nlmsg_parse(nh, sizeof(*ifa), tb, IFA_MAX, addr_policy) < 0 ||
	    (int)ifa->ifa_index != d->ifindex)
		return NL_OK;
	if (ifa->ifa_family == AF_INET6 && ifa->ifa_scope == RT_SCOPE_LINK)
		return NL_OK; /* the kernel's link-local address */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	len = ifa->ifa_family == AF_INET6 ? 16 : 4;
	if (!a || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
	    (size_t)nla_len(a) < len)
		return NL_OK;
	x.vip.af = ifa->ifa_family;
	memcpy(&x.vip.addr, nla_data(a), len);
	x.ours = tb[IFA_PROTO] && nla_get_u8(tb[IFA_PROTO]) == XL_VIP_PROTO;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct xl_vip_addr *p = realloc(d->v, cap * sizeof(*p));

		if (!p) {
			d->err = -ENOMEM;
			return NL_STOP;
		}
		d->v = p;
		d->cap = cap;
	}
	d->v[d->n++] = x;
	return NL_OK;
}

static int op_dump(void *k, int ifindex, struct xl_vip_addr **out, size_t *n)
{
	struct xl_rtnl *r = k;
	struct ifaddrmsg req = {.ifa_family = AF_UNSPEC,
				.ifa_index = (unsigned)ifindex};
	struct dump_ctx d = {.ifindex = ifindex};
	struct nl_cb *cb;
	int rc;

	if ((rc = sock(r)) < 0)
		return rc;
	if (!(cb = nl_cb_clone(nl_socket_get_cb(r->sk))))
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_item, &d);
	rc = nl_send_simple(r->sk, RTM_GETADDR, NLM_F_DUMP, &req, sizeof(req));
	if (rc >= 0)
		rc = nl_recvmsgs(r->sk, cb);
	nl_cb_put(cb);
	if (rc < 0 || d.err < 0) {
		free(d.v);
		return d.err < 0 ? d.err : -to_errno(rc);
	}
	*out = d.v;
	*n = d.n;
	return 0;
}

/* ---- pipelined writes --------------------------------------------------- */

/* op's request, as libnl builds it, with extlbd's mark. */
static struct nl_msg *op_msg(int ifindex, const struct xl_vip_op *op)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	int plen = op->vip.af == AF_INET6 ? 128 : 32;
	struct nl_addr *local =
	    nl_addr_build(op->vip.af, &op->vip.addr, (size_t)plen / 8);
	struct nl_msg *m = NULL;
	int rc = -1;

	if (a && local) {
		nl_addr_set_prefixlen(local, plen);
		rtnl_addr_set_ifindex(a, ifindex);
		rtnl_addr_set_family(a, op->vip.af);
		rtnl_addr_set_local(a, local);
		rtnl_addr_set_prefixlen(a, plen);
		if (op->vip.af == AF_INET6)
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		rc = op->kind == XL_VIP_ADD
			 ? rtnl_addr_build_add_request(a, NLM_F_EXCL, &m)
			 : rtnl_addr_build_delete_request(a, 0, &m);
	}
	if (rc >= 0 && op->kind == XL_VIP_ADD &&
	    nla_put_u8(m, IFA_PROTO, XL_VIP_PROTO) < 0)
		rc = -1;
	if (rc < 0 && m) {
		nlmsg_free(m);
		m = NULL;
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	return m;
}

struct batch {
	const struct xl_vip_op *ops;
	size_t n;
	uint32_t first_seq;
	long failed;
	xl_vip_err_fn fn;
	void *arg;
};

/* Replies until the acknowledgement of the batch's last request. */
static int batch_rx(struct xl_rtnl *r, struct batch *b)
{
	static unsigned char buf[64 * 1024];

	for (;;) {
		ssize_t got;
		int len;

		do
			got =
			    recv(nl_socket_get_fd(r->sk), buf, sizeof(buf), 0);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return -errno;
		len = (int)got;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		     nlmsg_ok(nh, len); nh = nlmsg_next(nh, &len)) {
			uint32_t idx = nh->nlmsg_seq - b->first_seq;
			struct nlmsgerr *e;

			if (nh->nlmsg_type != NLMSG_ERROR || idx >= b->n)
				continue; /* not an answer to this batch */
			e = nlmsg_data(nh);
			if (e->error) {
				b->failed++;
				b->fn(&b->ops[idx], -e->error, b->arg);
			}
			if (idx == b->n - 1)
				return 0;
		}
	}
}

static int send_batch(struct xl_rtnl *r, int ifindex, struct batch *b,
		      unsigned char *buf)
{
	size_t len = 0;

	b->first_seq = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct nl_msg *m = op_msg(ifindex, &b->ops[i]);
		struct nlmsghdr *nh;

		if (!m)
			return -ENOMEM;
		nh = nlmsg_hdr(m);
		if (nh->nlmsg_len > XL_RTNL_MSG) {
			nlmsg_free(m);
			return -E2BIG;
		}
		nh->nlmsg_flags |= NLM_F_REQUEST;
		if (i + 1 == b->n)
			nh->nlmsg_flags |= NLM_F_ACK;
		nh->nlmsg_seq = nl_socket_use_seq(r->sk);
		nh->nlmsg_pid = nl_socket_get_local_port(r->sk);
		if (!i)
			b->first_seq = nh->nlmsg_seq;
		memcpy(buf + len, nh, nh->nlmsg_len);
		len += NLMSG_ALIGN(nh->nlmsg_len);
		nlmsg_free(m);
	}
	if (nl_sendto(r->sk, buf, len) < 0)
		return -EIO;
	return batch_rx(r, b);
}

static long op_apply(void *k, int ifindex, const struct xl_vip_op *ops,
		     size_t n, xl_vip_err_fn fn, void *arg)
{
	struct xl_rtnl *r = k;
	unsigned char *buf;
	long failed = 0;
	int rc;

	if ((rc = sock(r)) < 0)
		return rc;
	if (!(buf = malloc(XL_RTNL_BATCH * XL_RTNL_MSG)))
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i += XL_RTNL_BATCH) {
		struct batch b = {.ops = ops + i, .fn = fn, .arg = arg};

		b.n = n - i < XL_RTNL_BATCH ? n - i : XL_RTNL_BATCH;
		rc = send_batch(r, ifindex, &b, buf);
		failed += b.failed;
	}
	free(buf);
	return rc < 0 ? rc : failed;
}

const struct xl_vipif_ops xl_rtnl_vipif_ops = {
    .link = op_link,
    .dump = op_dump,
    .apply = op_apply,
    .unlink = op_unlink,
};
