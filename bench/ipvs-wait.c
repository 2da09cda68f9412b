/*
 * ipvs-wait.c - wait until one IPVS service has all its real servers, cheaply.
 *
 * The load benchmark (bench/load.sh) must notice the moment the kernel holds
 * the whole table without slowing the tool being measured.  Listing the
 * table is far too slow for that at 110,000 objects, but every tool adds the
 * objects in the generated order, so the last one to appear is the last real
 * server of the last service.  This program keeps one generic netlink socket
 * open and asks for that service's real servers (IPVS_CMD_GET_DEST, a dump of
 * ten entries) every INTERVAL ms; once there are at least NDESTS it prints the
 * time of day ("seconds.microseconds", the clock of busybox `ts '%.s'`) and
 * exits 0.  It writes "ready" to READYFILE once the socket is open, so that
 * the caller can start the tool after the waiter's own start-up.
 *
 * Usage: ipvs-wait [-i INTERVAL_MS] [-t TIMEOUT_S] [-r READYFILE] VIP PORT NDESTS
 * Exit status: 0 found, 1 timeout, 2 error.  TCP IPv4 services only.
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	unsigned char attrs[128];
};

static size_t put_attr(unsigned char *at, uint16_t type, const void *data,
		       size_t len)
{
	struct nlattr *a = (struct nlattr *)at;

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy(at + NLA_HDRLEN, data, len);
	return NLA_ALIGN(NLA_HDRLEN + len);
}

/* GET_DEST dump request for TCP vip:port */
static void build(struct req *r, int family, uint32_t port_id,
		  struct in_addr vip, uint16_t port)
{
	unsigned char addr[16] = { 0 };
	uint16_t af = AF_INET, proto = IPPROTO_TCP, nport = htons(port);
	struct nlattr *nest = (struct nlattr *)r->attrs;
	size_t len = NLA_HDRLEN;

	memset(r, 0, sizeof(*r));
	memcpy(addr, &vip, sizeof(vip));
	len += put_attr(r->attrs + len, IPVS_SVC_ATTR_AF, &af, sizeof(af));
	len += put_attr(r->attrs + len, IPVS_SVC_ATTR_PROTOCOL, &proto,
			sizeof(proto));
	len += put_attr(r->attrs + len, IPVS_SVC_ATTR_ADDR, addr, sizeof(addr));
	len += put_attr(r->attrs + len, IPVS_SVC_ATTR_PORT, &nport,
			sizeof(nport));
	nest->nla_type = IPVS_CMD_ATTR_SERVICE;
	nest->nla_len = (uint16_t)len;
	r->nh.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + GENL_HDRLEN + len);
	r->nh.nlmsg_type = (uint16_t)family;
	r->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r->nh.nlmsg_pid = port_id;
	r->gh.cmd = IPVS_CMD_GET_DEST;
	r->gh.version = IPVS_GENL_VERSION;
}

/* Number of real servers of the service, or -errno. */
static long count_dests(int fd, struct req *r, uint32_t seq)
{
	static unsigned char rx[64 * 1024];
	long n = 0;

	r->nh.nlmsg_seq = seq;
	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t got = recv(fd, rx, sizeof(rx), 0);
		int len = (int)got;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)rx;
		     NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return n;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				/* no such service yet: none of its dests */
				return e->error == -ESRCH || !e->error
					       ? n
					       : e->error;
			}
			n++;
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: ipvs-wait [-i INTERVAL_MS] [-t TIMEOUT_S] "
			"[-r READYFILE] VIP PORT NDESTS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long interval_ms = 10, timeout_s = 3600, want, got;
	const char *ready = NULL;
	struct in_addr vip;
	struct nl_sock *sk;
	struct req r;
	struct timeval tv;
	struct timespec pause, start, now;
	uint32_t seq = (uint32_t)time(NULL);
	int family, fd, c;

	while ((c = getopt(argc, argv, "i:t:r:")) != -1) {
		switch (c) {
		case 'i': interval_ms = strtol(optarg, NULL, 10); break;
		case 't': timeout_s = strtol(optarg, NULL, 10); break;
		case 'r': ready = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 3 || inet_pton(AF_INET, argv[optind], &vip) != 1 ||
	    interval_ms < 1 || timeout_s < 1)
		usage();
	want = strtol(argv[optind + 2], NULL, 10);

	if (!(sk = nl_socket_alloc()) || genl_connect(sk) < 0) {
		fprintf(stderr, "ipvs-wait: no generic netlink socket\n");
		return 2;
	}
	if ((family = genl_ctrl_resolve(sk, IPVS_GENL_NAME)) < 0) {
		fprintf(stderr, "ipvs-wait: no IPVS family: %s\n",
			nl_geterror(family));
		return 2;
	}
	fd = nl_socket_get_fd(sk);
	build(&r, family, nl_socket_get_local_port(sk), vip,
	      (uint16_t)strtol(argv[optind + 1], NULL, 10));
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f || fputs("ready\n", f) < 0 || fclose(f) != 0) {
			perror("ipvs-wait: ready file");
			return 2;
		}
	}

	pause.tv_sec = interval_ms / 1000;
	pause.tv_nsec = (interval_ms % 1000) * 1000000L;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if ((got = count_dests(fd, &r, ++seq)) < 0) {
			fprintf(stderr, "ipvs-wait: %s\n", strerror((int)-got));
			return 2;
		}
		if (got >= want) {
			gettimeofday(&tv, NULL);
			printf("%ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_s) {
			fprintf(stderr, "ipvs-wait: %ld of %ld after %lds\n",
				got, want, timeout_s);
			return 1;
		}
		nanosleep(&pause, NULL);
	}
}
