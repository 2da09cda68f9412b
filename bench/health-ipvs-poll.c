/*
 * health-ipvs-poll.c - wait until one real server of one IPVS service is gone
 * from the kernel, or shows a given weight, and say when.
 *
 * The same question as `ipvsadm -Ln -t VIP:PORT` (IPVS_CMD_GET_DEST for one
 * service), asked every INTERVAL ms over one generic netlink socket: in the
 * emulated test guest, starting ipvsadm costs about 0.2 s, far too coarse
 * for timing a detection or a reload.  Used by bench/health-guest.sh
 * (detection latency: "gone") and bench/reload-guest.sh (reload: "weight").
 *
 * Once the socket is open it creates READYFILE (if given).  With -s PID it
 * then sends SIGHUP to PID itself, so that the time is taken right at the
 * signal.  When the condition holds it prints "END POLLS START": END the
 * time it was seen, START the time of the SIGHUP (or of the first poll),
 * both gettimeofday() (the clock of busybox `ts '%.s'`), POLLS the
 * questions asked; and exits 0.
 *
 * Usage: health-ipvs-poll [-i INTERVAL_MS] [-t TIMEOUT_S] [-r READYFILE]
 *                         [-s PID] VIP PORT RIP RPORT gone|weight W
 * Exit status: 0 seen, 1 timeout, 2 error.  TCP IPv4 services only.
 */
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct want {
	struct in_addr rip;
	uint16_t rport;		/* network order */
	int weight;		/* -1: wait until gone */
	int present;		/* this poll: the server is listed */
	long cur_weight;	/* its weight, if listed */
};

static int on_dest(struct nl_msg *msg, void *arg)
{
	struct want *w = arg;
	struct nlattr *top[IPVS_CMD_ATTR_MAX + 1];
	struct nlattr *d[IPVS_DEST_ATTR_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, top, IPVS_CMD_ATTR_MAX, NULL) < 0 ||
	    !top[IPVS_CMD_ATTR_DEST] ||
	    nla_parse_nested(d, IPVS_DEST_ATTR_MAX, top[IPVS_CMD_ATTR_DEST],
			     NULL) < 0)
		return NL_SKIP;
	if (!d[IPVS_DEST_ATTR_ADDR] || !d[IPVS_DEST_ATTR_PORT] ||
	    nla_len(d[IPVS_DEST_ATTR_ADDR]) < 4)
		return NL_SKIP;
	if (memcmp(nla_data(d[IPVS_DEST_ATTR_ADDR]), &w->rip, 4) != 0 ||
	    nla_get_u16(d[IPVS_DEST_ATTR_PORT]) != w->rport)
		return NL_SKIP;
	w->present = 1;
	w->cur_weight = d[IPVS_DEST_ATTR_WEIGHT]
				? (long)nla_get_u32(d[IPVS_DEST_ATTR_WEIGHT])
				: -1;
	return NL_OK;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct nl_sock *sk;
	struct in_addr vip;
	struct want w = {.weight = -1};
	unsigned char addr[16] = {0};
	const char *ready = NULL;
	double interval_ms = 5, timeout_s = 600, deadline;
	unsigned long polls = 0;
	struct timeval start;
	int fam, opt, vport, rport;
	long hup = 0;

	while ((opt = getopt(argc, argv, "i:t:r:s:")) != -1) {
		switch (opt) {
		case 'i': interval_ms = atof(optarg); break;
		case 't': timeout_s = atof(optarg); break;
		case 'r': ready = optarg; break;
		case 's': hup = atol(optarg); break;
		default: goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 5 || inet_pton(AF_INET, argv[0], &vip) != 1 ||
	    inet_pton(AF_INET, argv[2], &w.rip) != 1)
		goto usage;
	vport = atoi(argv[1]);
	rport = atoi(argv[3]);
	if (vport < 1 || vport > 65535 || rport < 1 || rport > 65535)
		goto usage;
	w.rport = htons((uint16_t)rport);
	if (!strcmp(argv[4], "weight") && argc == 6)
		w.weight = atoi(argv[5]);
	else if (strcmp(argv[4], "gone") || argc != 5)
		goto usage;
	memcpy(addr, &vip, 4);

	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk) < 0 ||
	    (fam = genl_ctrl_resolve(sk, IPVS_GENL_NAME)) < 0) {
		fprintf(stderr, "health-ipvs-poll: no IPVS generic netlink\n");
		return 2;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_dest, &w);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fputs("ready\n", f);
			fclose(f);
		}
	}
	gettimeofday(&start, NULL);
	if (hup > 0 && kill((pid_t)hup, SIGHUP) < 0) {
		perror("health-ipvs-poll: kill");
		return 2;
	}
	deadline = now_mono() + timeout_s;
	for (;;) {
		struct nl_msg *msg = nlmsg_alloc();
		struct nlattr *svc;
		int err;

		if (!msg)
			return 2;
		genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0, NLM_F_DUMP,
			    IPVS_CMD_GET_DEST, IPVS_GENL_VERSION);
		svc = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
		nla_put_u16(msg, IPVS_SVC_ATTR_AF, AF_INET);
		nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
		nla_put(msg, IPVS_SVC_ATTR_ADDR, sizeof(addr), addr);
		nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons((uint16_t)vport));
		nla_nest_end(msg, svc);
		w.present = 0;
		err = nl_send_auto(sk, msg);
		nlmsg_free(msg);
		if (err >= 0)
			err = nl_recvmsgs_default(sk);
		polls++;
		/* a missing service (error) does not count as "gone" */
		if (err >= 0 && (w.weight < 0 ? !w.present
					      : w.present && w.cur_weight == w.weight)) {
			struct timeval tv;

			gettimeofday(&tv, NULL);
			printf("%ld.%06ld %lu %ld.%06ld\n", (long)tv.tv_sec,
			       (long)tv.tv_usec, polls, (long)start.tv_sec,
			       (long)start.tv_usec);
			return 0;
		}
		if (now_mono() > deadline) {
			fprintf(stderr, "health-ipvs-poll: timeout after %lu polls\n",
				polls);
			return 1;
		}
		usleep((useconds_t)(interval_ms * 1000));
	}
usage:
	fprintf(stderr, "usage: health-ipvs-poll [-i INTERVAL_MS] [-t TIMEOUT_S] "
			"[-r READYFILE] [-s PID] VIP PORT RIP RPORT gone|weight W\n");
	return 2;
}
