/*
 * ipvs.c - IPVS over generic netlink: the socket, requests and their
 * replies, dumps, pipelined writes (the messages' bytes: ipvs_msg.c).
 *
 * The kernel handles every request of one sendmsg() in turn, in the
 * sender's context, and queues a reply on our socket for each request
 * that fails and for the last one, which alone asks for an
 * acknowledgement.  So a batch of requests costs two system calls, and the
 * only limit is the receive buffer that must hold a batch's replies: it is
 * raised with SO_RCVBUFFORCE and batches are kept to XL_BATCH.
 */
#include "ipvs.h"
#include "ipvs_impl.h"
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

struct xl_ipvs {
	struct nl_sock *sk;
	int family;
	uint32_t seq;
};

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
	struct xl_ipvs_stats *st; /* NULL: counters not wanted */
	bool want;
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
	struct xl_ipvs_stats st = {0};
	struct xl_dest d;
	size_t cap = k->cap;

	if (!tb[IPVS_CMD_ATTR_DEST] ||
	    xl_ipvs_parse_dest(tb[IPVS_CMD_ATTR_DEST], s->af, &d,
			       k->want ? &st : NULL) < 0)
		return 0;
	if (XL_GROW(s->dests, k->cap, s->ndests + 1, 1) < 0 ||
	    (k->want && XL_GROW(k->st, cap, s->ndests + 1, 1) < 0))
		return -1;
	if (k->want)
		k->st[s->ndests] = st;
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

/* A destination with its counters, to sort the two together. */
struct dest_pair {
	struct xl_dest d;
	struct xl_ipvs_stats st;
};

static int pair_qcmp(const void *a, const void *b)
{
	return xl_dest_cmp(&((const struct dest_pair *)a)->d,
			   &((const struct dest_pair *)b)->d);
}

/* s->dests sorted, st (one per destination) kept in step; -ENOMEM. */
static int qsort_dests_stats(struct xl_service *s, struct xl_ipvs_stats *st)
{
	struct dest_pair *p = malloc((s->ndests ? s->ndests : 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < s->ndests; i++)
		p[i] = (struct dest_pair){s->dests[i], st[i]};
	qsort(p, s->ndests, sizeof(*p), pair_qcmp);
	for (size_t i = 0; i < s->ndests; i++) {
		s->dests[i] = p[i].d;
		st[i] = p[i].st;
	}
	free(p);
	return 0;
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
			struct xl_service *out, struct xl_ipvs_stats **stats)
{
	struct xl_table t = {0};
	struct svc_sink k = {.t = &t};
	struct dump_ctx d = {.item = svc_item, .arg = &k};
	struct nl_msg *m = xl_ipvs_msg_get_service(h->family, key);
	int rc;

	if (stats)
		*stats = NULL;
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
	rc = xl_ipvs_dump_service(h, &t.svcs[0], out, stats);
	free(t.svcs);
	return rc;
}

int xl_ipvs_dump_service(struct xl_ipvs *h, const struct xl_service *svc,
			 struct xl_service *out, struct xl_ipvs_stats **stats)
{
	struct dest_sink k = {.s = out, .want = stats != NULL};
	int rc;

	*out = xl_service_key(svc);
	rc = dump(h, xl_ipvs_msg_dump_dests(h->family, svc), dest_item, &k);
	if (rc >= 0 && !stats) {
		qsort_dests(out);
		return rc;
	}
	if (rc >= 0 && !k.st) /* no destination: an array all the same */
		k.st = calloc(1, sizeof(*k.st));
	if (rc >= 0)
		rc = k.st ? qsort_dests_stats(out, k.st) : -ENOMEM;
	if (rc < 0) {
		xl_service_free(out);
		free(k.st);
		k.st = NULL;
	}
	if (stats)
		*stats = k.st;
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

/* A request that is not a dump, its one reply handed to item. */
static int request(struct xl_ipvs *h, struct nl_msg *m,
		   int (*item)(struct nlattr **, void *), void *arg)
{
	return exchange(h, m, one_rx, item, arg);
}

int xl_ipvs_get_timeouts(struct xl_ipvs *h, uint32_t v[XL_KT_N])
{
	memset(v, 0, sizeof(uint32_t) * XL_KT_N);
	return request(h, xl_ipvs_msg_get_config(h->family), ipvs_timeouts_item,
		       v);
}

int xl_ipvs_set_timeouts(struct xl_ipvs *h, const uint32_t v[XL_KT_N])
{
	return request(h, xl_ipvs_msg_set_config(h->family, v),
		       ipvs_timeouts_item, (uint32_t[XL_KT_N]){0});
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
	return xl_ipvs_get_service(h, key, out, NULL);
}

static int kops_get_service_stats(void *h, const struct xl_service *key,
				  struct xl_service *out,
				  struct xl_ipvs_stats **stats)
{
	return xl_ipvs_get_service(h, key, out, stats);
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
    .get_service_stats = kops_get_service_stats,
    .apply = kops_apply,
    .strerror = kops_strerror,
};
