/*
 * health-listener.c - the real servers of the health-check benchmark.
 *
 * Listens on NADDR consecutive IPv4 addresses x NPORTS consecutive ports,
 * one listening socket per (address, port), all in one epoll loop.  Server k
 * (0-based) is address FIRST + k / NPORTS, port PORT + k % NPORTS; that is
 * the order of bench/health-run.sh's configurations (service i, real server
 * j: k = i * 10 + j).  An accepted connection is kept until the checker
 * closes it (end of file or reset), then closed, as a real server that
 * waits for a request would do: closing it first could reset it before the
 * checker has looked at its result.  The accept time stamps a check start
 * of server k.
 *
 * Commands, one per line on standard input (a FIFO the guest script keeps
 * open); answers go to standard output, one line each, flushed:
 *   mark          forget which servers were seen      -> "marked"
 *   seen          how many servers connected since the last mark
 *                                                     -> "seen S of N"
 *   start         begin a measurement window (clears the statistics)
 *                                                     -> "started"
 *   stop          end the window and print its statistics as one line
 *                 "STATS key=value ..." (see report())
 *   close K       close server K's listening socket; later connects to it
 *                 are refused              -> "closed K at SECONDS.MICROS"
 *                                             (CLOCK_REALTIME)
 *   quit          exit                                 -> "bye"
 *
 * Statistics of a window, from the accept times (CLOCK_MONOTONIC):
 *   accepts        connections accepted in the window
 *   servers_seen   servers with at least one accept in the window
 *   intervals      gaps between two consecutive accepts of one server
 *   late           gaps longer than EXPECT * 1.1 (EXPECT: -e, seconds)
 *   early          gaps shorter than EXPECT * 0.9
 *   gap_p50/p99/max, gap_min  in ms (percentiles to EXPECT / 10000)
 *   b10_max        most accepts in any 10 ms bucket of the window
 *                  (buckets counted from the start of the window)
 *   b10_mean       accepts per 10 ms bucket on average
 *   b10_p99        99th percentile of the per-bucket counts
 *   phase_max/phase_min  most/fewest accepts in one 10 ms slot of the
 *                  second (time modulo 1 s), summed over the window, as a
 *                  ratio to the mean slot (1.00 = perfectly even)
 *   s_max/s_min    most/fewest accepts in one whole second of the window
 *   stalls         times the listener's own loop woke more than 50 ms after
 *                  its 10 ms timeout: the guest (or the listener) did not
 *                  run; stall_max and stall_ms (longest, total) in ms.  Checks
 *                  that fall in a stall are accepted late, in a burst.
 *
 * Usage: health-listener [-e EXPECT_S] [-n COUNT] FIRST_ADDR NADDR PORT NPORTS
 *   -n  serve only the first COUNT servers (default NADDR x NPORTS)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_WINDOW_S 600  /* bucket arrays cover this much */
#define GAP_BINS 50000	  /* gap histogram: bins of EXPECT / 10000, to 5 x EXPECT */
#define CMD_TAG UINT32_MAX /* epoll data of standard input */
#define CONN_TAG 0x80000000u /* epoll data of an accepted connection: | fd */

struct server {
	int fd;
	double last;	/* last accept in the window, 0 before the first */
	unsigned seen;	/* accepts since the last "mark" */
};

static struct server *srv;
static unsigned nsrv;
static double expect = 1.0;

/* the window */
static int in_window;
static double w_start, w_end;
static unsigned long accepts, intervals, late, early;
static double gap_min, gap_max;
static unsigned gap_hist[GAP_BINS + 1];
static unsigned b10[MAX_WINDOW_S * 100];
static unsigned long phase[100];
static unsigned long per_s[MAX_WINDOW_S];
static unsigned long stalls;
static double stall_max, stall_sum;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void window_start(void)
{
	unsigned i;

	for (i = 0; i < nsrv; i++)
		srv[i].last = 0;
	accepts = intervals = late = early = 0;
	gap_min = 1e9;
	gap_max = 0;
	memset(gap_hist, 0, sizeof(gap_hist));
	memset(b10, 0, sizeof(b10));
	memset(phase, 0, sizeof(phase));
	memset(per_s, 0, sizeof(per_s));
	stalls = 0;
	stall_max = stall_sum = 0;
	w_start = mono();
	in_window = 1;
}

static void record(struct server *s, double now)
{
	double rel = now - w_start;
	long b;

	s->seen++;
	if (!in_window || rel >= MAX_WINDOW_S)
		return;
	accepts++;
	b = (long)(rel * 100);
	b10[b]++;
	per_s[b / 100]++;
	/* phase in the second of the monotonic clock: one clock for all */
	phase[(long)(now * 100) % 100]++;
	if (s->last > 0) {
		double gap = now - s->last;
		long bin = (long)(gap / expect * 10000);

		intervals++;
		if (gap > expect * 1.1)
			late++;
		if (gap < expect * 0.9)
			early++;
		if (gap < gap_min)
			gap_min = gap;
		if (gap > gap_max)
			gap_max = gap;
		gap_hist[bin > GAP_BINS ? GAP_BINS : bin]++;
	}
	s->last = now;
}

static int cmp_uns(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* the gap (ms) below which a fraction q of the gaps lie */
static double gap_quantile(double q)
{
	unsigned long want = (unsigned long)(q * (double)intervals), sum = 0;
	long i;

	for (i = 0; i <= GAP_BINS; i++) {
		sum += gap_hist[i];
		if (sum > want)
			break;
	}
	return (double)(i > GAP_BINS ? GAP_BINS : i) * expect / 10.;
}

static void report(void)
{
	double len;
	unsigned long nb, i, full_s, smax = 0, smin = (unsigned long)-1;
	unsigned long pmax = 0, pmin = (unsigned long)-1, seen = 0;
	unsigned *sorted, bmax = 0;

	w_end = mono();
	in_window = 0;
	len = w_end - w_start;
	if (len > MAX_WINDOW_S)
		len = MAX_WINDOW_S;
	nb = (unsigned long)(len * 100);
	if (nb == 0)
		nb = 1;
	sorted = malloc(nb * sizeof(*sorted));
	if (!sorted) {
		say("STATS error=nomem");
		return;
	}
	memcpy(sorted, b10, nb * sizeof(*sorted));
	qsort(sorted, nb, sizeof(*sorted), cmp_uns);
	bmax = sorted[nb - 1];
	full_s = (unsigned long)len;
	for (i = 0; i < full_s; i++) {
		if (per_s[i] > smax)
			smax = per_s[i];
		if (per_s[i] < smin)
			smin = per_s[i];
	}
	if (!full_s)
		smin = 0;
	for (i = 0; i < 100; i++) {
		if (phase[i] > pmax)
			pmax = phase[i];
		if (phase[i] < pmin)
			pmin = phase[i];
	}
	for (i = 0; i < nsrv; i++)
		seen += srv[i].last > 0;
	say("STATS window_s=%.2f accepts=%lu servers=%u servers_seen=%lu "
	    "intervals=%lu late=%lu early=%lu gap_min=%.0f gap_p50=%.0f "
	    "gap_p99=%.0f gap_max=%.0f b10_max=%u b10_mean=%.1f b10_p99=%u "
	    "phase_max=%.2f phase_min=%.2f s_max=%lu s_min=%lu stalls=%lu "
	    "stall_max=%.0f stall_ms=%.0f",
	    len, accepts, nsrv, seen, intervals, late, early,
	    intervals ? gap_min * 1000 : 0., gap_quantile(0.5),
	    gap_quantile(0.99), gap_max * 1000, bmax,
	    (double)accepts / (double)nb, sorted[(nb * 99) / 100],
	    accepts ? (double)pmax * 100 / (double)accepts : 0.,
	    accepts ? (double)pmin * 100 / (double)accepts : 0., smax, smin,
	    stalls, stall_max * 1000, stall_sum * 1000);
	free(sorted);
}

static void drain(struct server *s, int ep)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	int c;

	while ((c = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		record(s, mono());
		ev.data.u32 = CONN_TAG | (uint32_t)c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
			close(c);
	}
}

/* the checker closed its side (or sent something): close ours */
static void conn_event(int c)
{
	char buf[512];

	while (read(c, buf, sizeof(buf)) > 0)
		;
	close(c); /* also removes it from the epoll set */
}

static void command(char *line, int ep)
{
	unsigned long k;
	struct timespec ts;
	unsigned i, n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	if (!strcmp(line, "mark")) {
		for (i = 0; i < nsrv; i++)
			srv[i].seen = 0;
		say("marked");
	} else if (!strcmp(line, "seen")) {
		for (i = 0; i < nsrv; i++)
			n += srv[i].seen > 0;
		say("seen %u of %u", n, nsrv);
	} else if (!strcmp(line, "start")) {
		window_start();
		say("started");
	} else if (!strcmp(line, "stop")) {
		report();
	} else if (!strncmp(line, "close ", 6)) {
		k = strtoul(line + 6, NULL, 10);
		if (k >= nsrv || srv[k].fd < 0) {
			say("error: no server %lu", k);
			return;
		}
		epoll_ctl(ep, EPOLL_CTL_DEL, srv[k].fd, NULL);
		close(srv[k].fd);
		srv[k].fd = -1;
		clock_gettime(CLOCK_REALTIME, &ts);
		say("closed %lu at %ld.%06ld", k, (long)ts.tv_sec,
		    ts.tv_nsec / 1000);
	} else if (!strcmp(line, "quit")) {
		say("bye");
		exit(0);
	} else if (line[0]) {
		say("error: unknown command '%s'", line);
	}
}

static int listen_on(struct in_addr a, unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr = a;
	sa.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 128) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	struct rlimit rl;
	struct in_addr first;
	unsigned naddr, port, nports, i;
	char buf[4096];
	size_t have = 0;
	double last_wake;
	long count = -1;
	int ep, opt, n;

	while ((opt = getopt(argc, argv, "e:n:")) != -1) {
		if (opt == 'e')
			expect = atof(optarg);
		else if (opt == 'n')
			count = atol(optarg);
		else
			goto usage;
	}
	if (argc - optind != 4 || inet_pton(AF_INET, argv[optind], &first) != 1)
		goto usage;
	naddr = (unsigned)atoi(argv[optind + 1]);
	port = (unsigned)atoi(argv[optind + 2]);
	nports = (unsigned)atoi(argv[optind + 3]);
	if (!naddr || !nports || port + nports > 65536 || expect <= 0)
		goto usage;
	nsrv = naddr * nports;
	if (count > 0 && (unsigned long)count < nsrv)
		nsrv = (unsigned)count;

	rl.rlim_cur = rl.rlim_max = 2 * nsrv + 4096;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("setrlimit");
		return 1;
	}
	srv = calloc(nsrv, sizeof(*srv));
	ep = epoll_create1(0);
	if (!srv || ep < 0) {
		perror("start");
		return 1;
	}
	for (i = 0; i < nsrv; i++) {
		struct in_addr a = {
			.s_addr = htonl(ntohl(first.s_addr) + i / nports)};

		srv[i].fd = listen_on(a, port + i % nports);
		if (srv[i].fd < 0) {
			fprintf(stderr, "listen on %s:%u: %s\n", inet_ntoa(a),
				port + i % nports, strerror(errno));
			return 1;
		}
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, srv[i].fd, &ev) < 0) {
			perror("epoll_ctl");
			return 1;
		}
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.u32 = CMD_TAG;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) {
		perror("epoll_ctl stdin");
		return 1;
	}
	say("listening on %u servers", nsrv);

	last_wake = mono();
	for (;;) {
		double woke, late;

		n = epoll_wait(ep, evs, 256, 10);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		woke = mono();
		late = woke - last_wake - 0.010;
		last_wake = woke;
		if (in_window && late > 0.050) {
			stalls++;
			stall_sum += late;
			if (late > stall_max)
				stall_max = late;
		}
		for (int e = 0; e < n; e++) {
			uint32_t k = evs[e].data.u32;
			ssize_t r;
			char *nl;

			if (k != CMD_TAG && (k & CONN_TAG)) {
				conn_event((int)(k & ~CONN_TAG));
				continue;
			}
			if (k != CMD_TAG) {
				if (srv[k].fd >= 0)
					drain(&srv[k], ep);
				continue;
			}
			r = read(0, buf + have, sizeof(buf) - 1 - have);
			if (r == 0) {
				/* writer gone: stop watching, keep serving */
				epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
				continue;
			}
			if (r < 0)
				continue;
			have += (size_t)r;
			buf[have] = '\0';
			while ((nl = strchr(buf, '\n'))) {
				*nl = '\0';
				command(buf, ep);
				have -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, have + 1);
			}
			if (have == sizeof(buf) - 1)
				have = 0; /* a line too long: drop it */
		}
	}
usage:
	fprintf(stderr, "usage: health-listener [-e EXPECT_S] [-n COUNT] "
			"FIRST_ADDR NADDR PORT NPORTS\n");
	return 2;
}
