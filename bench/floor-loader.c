/*
 * floor-loader.c - the cheapest way to fill IPVS: the benchmark's floor.
 *
 * Builds every IPVS_CMD_NEW_SERVICE / IPVS_CMD_NEW_DEST request for N
 * services x R real servers in one buffer first (the same table that
 * bench/gen-configs.sh writes as configurations: see "address scheme"
 * below), then sends them on one generic netlink socket, BATCH requests
 * per sendmsg(), each request asking for an acknowledgement, and reads the
 * acknowledgements back by sequence number before the next batch.  Only the
 * send phase is timed: what is left is the kernel's own cost of adding the
 * objects plus two system calls per batch and one recv() per ack.
 *
 * With -e (errors only), only the last request of a batch asks for an
 * acknowledgement: the kernel handles a batch's requests in order and
 * reports a failed request whether or not it asked, so that last ack ends
 * the batch and every error before it has arrived.  This saves the kernel
 * one reply and us one recv() per request.
 *
 * Usage: floor-loader [-e] [-b BATCH] [-r REALS] N
 * Prints one line, "floor: ...", and exits 0 if the kernel accepted every
 * request, 1 if it refused some (the first few are printed), 2 on other
 * errors.  libnl-genl-3 is used only to resolve the "IPVS" family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SOCKBUF (8 << 20)
#define MAX_ERRORS_SHOWN 5

/*
 * Address scheme, shared with bench/gen-configs.sh (keep them equal):
 *   service i (0-based): TCP 10.100.(i/250).(i%250+1):80, wlc, no persistence
 *   its real server j:   k = i*R + j, a = k/250,
 *                        10.(200+a/250).(a%250).(k%250+1):8080, NAT, weight 1
 */
#define SVC_PORT 80
#define RS_PORT 8080
#define SCHED "wlc"
#define MAX_SERVICES 64000

static uint32_t vip_of(unsigned long i)
{
	return htonl((10u << 24) | (100u << 16) | ((uint32_t)(i / 250) << 8) |
		     (uint32_t)(i % 250 + 1));
}

static uint32_t rip_of(unsigned long k)
{
	unsigned long a = k / 250;

	return htonl((10u << 24) | ((uint32_t)(200 + a / 250) << 16) |
		     ((uint32_t)(a % 250) << 8) | (uint32_t)(k % 250 + 1));
}

/* ---- a growing buffer of netlink messages ---------------------------- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void *buf_room(struct buf *b, size_t n)
{
	void *at;

	n = NLMSG_ALIGN(n);
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1 << 20;

		while (cap < b->len + n)
			cap *= 2;
		if (!(b->p = realloc(b->p, cap))) {
			perror("floor-loader: realloc");
			exit(2);
		}
		b->cap = cap;
	}
	at = b->p + b->len;
	memset(at, 0, n);
	b->len += n;
	return at;
}

/* Appends one attribute; returns its offset (for nests). */
static size_t put_attr(struct buf *b, uint16_t type, const void *data,
		       size_t len)
{
	size_t off = b->len;
	struct nlattr *a = buf_room(b, NLA_HDRLEN + len);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
	return off;
}

static void put_u16(struct buf *b, uint16_t type, uint16_t v)
{
	put_attr(b, type, &v, sizeof(v));
}

static void put_u32(struct buf *b, uint16_t type, uint32_t v)
{
	put_attr(b, type, &v, sizeof(v));
}

static size_t nest_start(struct buf *b, uint16_t type)
{
	return put_attr(b, type, NULL, 0);
}

static void nest_end(struct buf *b, size_t off)
{
	struct nlattr *a = (struct nlattr *)(b->p + off);

	a->nla_len = (uint16_t)(b->len - off);
}

static int errors_only;

static size_t msg_start(struct buf *b, int family, uint8_t cmd, uint32_t seq,
			uint32_t port)
{
	size_t off = b->len;
	struct nlmsghdr *nh = buf_room(b, NLMSG_HDRLEN + GENL_HDRLEN);
	struct genlmsghdr *gh = (struct genlmsghdr *)((unsigned char *)nh +
						       NLMSG_HDRLEN);

	nh->nlmsg_type = (uint16_t)family;
	nh->nlmsg_flags = NLM_F_REQUEST | (errors_only ? 0 : NLM_F_ACK);
	nh->nlmsg_seq = seq;
	nh->nlmsg_pid = port;
	gh->cmd = cmd;
	gh->version = IPVS_GENL_VERSION;
	return off;
}

static void msg_end(struct buf *b, size_t off)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(b->p + off);

	nh->nlmsg_len = (uint32_t)(b->len - off);
}

/* The service key, plus its settings when full (NEW_SERVICE). */
static void put_service(struct buf *b, unsigned long i, int full)
{
	size_t nest = nest_start(b, IPVS_CMD_ATTR_SERVICE);
	unsigned char addr[16] = { 0 };
	uint32_t vip = vip_of(i);

	memcpy(addr, &vip, sizeof(vip));
	put_u16(b, IPVS_SVC_ATTR_AF, AF_INET);
	put_u16(b, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	put_attr(b, IPVS_SVC_ATTR_ADDR, addr, sizeof(addr));
	put_u16(b, IPVS_SVC_ATTR_PORT, htons(SVC_PORT));
	if (full) {
		struct ip_vs_flags fl = { .flags = 0, .mask = ~0U };

		put_attr(b, IPVS_SVC_ATTR_SCHED_NAME, SCHED, sizeof(SCHED));
		put_attr(b, IPVS_SVC_ATTR_FLAGS, &fl, sizeof(fl));
		put_u32(b, IPVS_SVC_ATTR_TIMEOUT, 0);
		put_u32(b, IPVS_SVC_ATTR_NETMASK, 0xffffffffu);
	}
	nest_end(b, nest);
}

static void put_dest(struct buf *b, unsigned long k)
{
	size_t nest = nest_start(b, IPVS_CMD_ATTR_DEST);
	unsigned char addr[16] = { 0 };
	uint32_t rip = rip_of(k);

	memcpy(addr, &rip, sizeof(rip));
	put_attr(b, IPVS_DEST_ATTR_ADDR, addr, sizeof(addr));
	put_u16(b, IPVS_DEST_ATTR_PORT, htons(RS_PORT));
	put_u32(b, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
	put_u32(b, IPVS_DEST_ATTR_WEIGHT, 1);
	put_u32(b, IPVS_DEST_ATTR_U_THRESH, 0);
	put_u32(b, IPVS_DEST_ATTR_L_THRESH, 0);
	put_u16(b, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
	nest_end(b, nest);
}

/* ---- helpers --------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

/* VmHWM of this process in kB, or -1. */
static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void describe(unsigned long idx, unsigned long reals, char *out,
		     size_t len)
{
	unsigned long i = idx / (reals + 1), j = idx % (reals + 1);
	struct in_addr v = { vip_of(i) }, r;
	char vs[INET_ADDRSTRLEN], rs[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &v, vs, sizeof(vs));
	if (j == 0) {
		snprintf(out, len, "new-service TCP %s:%d", vs, SVC_PORT);
		return;
	}
	r.s_addr = rip_of(i * reals + j - 1);
	inet_ntop(AF_INET, &r, rs, sizeof(rs));
	snprintf(out, len, "new-dest TCP %s:%d -> %s:%d", vs, SVC_PORT, rs,
		 RS_PORT);
}

static void usage(void)
{
	fprintf(stderr, "usage: floor-loader [-e] [-b BATCH] [-r REALS] N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long n, reals = 10, batch = 256, nmsgs, acked, failed = 0;
	struct buf b = { 0 };
	size_t *off;
	struct nl_sock *sk;
	int family, fd, c, one = 1, sz = SOCKBUF;
	uint32_t port, seq0;
	double t0, t1, t2;
	struct rusage ru;
	static unsigned char rx[64 * 1024];

	while ((c = getopt(argc, argv, "eb:r:")) != -1) {
		switch (c) {
		case 'e': errors_only = 1; break;
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'r': reals = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	n = strtoul(argv[optind], NULL, 10);
	if (n < 1 || n > MAX_SERVICES || batch < 1 || batch > 4096 ||
	    reals > 1000)
		usage();
	nmsgs = n * (reals + 1);

	/* the socket and the family */
	if (!(sk = nl_socket_alloc()) || genl_connect(sk) < 0) {
		fprintf(stderr, "floor-loader: no generic netlink socket\n");
		return 2;
	}
	if ((family = genl_ctrl_resolve(sk, IPVS_GENL_NAME)) < 0) {
		fprintf(stderr, "floor-loader: no IPVS family: %s\n",
			nl_geterror(family));
		return 2;
	}
	fd = nl_socket_get_fd(sk);
	port = nl_socket_get_local_port(sk);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		perror("floor-loader: SO_RCVBUFFORCE/SO_SNDBUFFORCE");
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	/* every request, in configuration order: a service, then its reals */
	t0 = now_ms();
	if (!(off = malloc((nmsgs + 1) * sizeof(*off)))) {
		perror("floor-loader: malloc");
		return 2;
	}
	seq0 = (uint32_t)time(NULL);
	for (unsigned long i = 0, m = 0; i < n; i++) {
		size_t msg;

		off[m] = b.len;
		msg = msg_start(&b, family, IPVS_CMD_NEW_SERVICE,
				seq0 + (uint32_t)m, port);
		put_service(&b, i, 1);
		msg_end(&b, msg);
		m++;
		for (unsigned long j = 0; j < reals; j++, m++) {
			off[m] = b.len;
			msg = msg_start(&b, family, IPVS_CMD_NEW_DEST,
					seq0 + (uint32_t)m, port);
			put_service(&b, i, 0);
			put_dest(&b, i * reals + j);
			msg_end(&b, msg);
		}
	}
	off[nmsgs] = b.len;
	for (unsigned long last = batch; errors_only; last += batch) {
		if (last > nmsgs)
			last = nmsgs;
		((struct nlmsghdr *)(b.p + off[last - 1]))->nlmsg_flags |=
		    NLM_F_ACK;
		if (last == nmsgs)
			break;
	}
	t1 = now_ms();

	/* the timed part: send a batch, collect its acks, next batch */
	acked = 0;
	for (unsigned long first = 0; first < nmsgs; first += batch) {
		unsigned long last = first + batch < nmsgs ? first + batch
							    : nmsgs;
		struct iovec iov = { b.p + off[first], off[last] - off[first] };
		struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
		struct msghdr mh = { .msg_name = &kernel,
				     .msg_namelen = sizeof(kernel),
				     .msg_iov = &iov,
				     .msg_iovlen = 1 };

		if (sendmsg(fd, &mh, 0) < 0) {
			perror("floor-loader: sendmsg");
			return 2;
		}
		while (acked < last) {
			ssize_t got = recv(fd, rx, sizeof(rx), 0);
			int len = (int)got;

			if (got < 0) {
				if (errno == EINTR)
					continue;
				/* ENOBUFS: acks were dropped, we would hang */
				perror("floor-loader: recv");
				return 2;
			}
			for (struct nlmsghdr *nh = (struct nlmsghdr *)rx;
			     NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
				unsigned long idx = nh->nlmsg_seq - seq0;
				struct nlmsgerr *e = NLMSG_DATA(nh);
				char what[128];

				if (nh->nlmsg_type != NLMSG_ERROR ||
				    idx < first || idx >= last)
					continue;
				if (!errors_only)
					acked++;
				else if (idx == last - 1)
					acked = last; /* the batch is done */
				if (!e->error)
					continue;
				if (++failed <= MAX_ERRORS_SHOWN) {
					describe(idx, reals, what,
						 sizeof(what));
					fprintf(stderr,
						"floor-loader: %s: %s\n", what,
						strerror(-e->error));
				}
			}
		}
	}
	t2 = now_ms();

	getrusage(RUSAGE_SELF, &ru);
	printf("floor: %lu services x %lu reals = %lu requests, batch %lu%s: "
	       "send phase %.0f ms, build %.0f ms, %lu failed, "
	       "peak RSS %ld kB, cpu user %.0f ms sys %.0f ms\n",
	       n, reals, nmsgs, batch, errors_only ? " (acks: errors only)" : "",
	       t2 - t1, t1 - t0, failed,
	       peak_rss_kb(), tv_ms(&ru.ru_utime), tv_ms(&ru.ru_stime));
	nl_socket_free(sk);
	free(off);
	free(b.p);
	return failed ? 1 : 0;
}
