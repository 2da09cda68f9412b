/*
 * ctl-slow-reader - a control socket client that asks for the whole status
 * and then reads its reply one byte a second, as a stuck or hostile client
 * would (bench/health-guest.sh, mode ctlbusy; issue 16).
 *
 *   ctl-slow-reader SOCKET SECONDS
 *
 * Prints one line: "SLOW read=BYTES secs=S end=eof|reset|time" where end says
 * whether extlbd closed the connection (eof, reset) or SECONDS passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char req[] = "{\"cmd\":\"status\"}\n";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *end = "time";
	double t0, limit;
	long got = 0;
	int fd, rcv = 1;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: ctl-slow-reader SOCKET SECONDS\n");
		return 2;
	}
	limit = atof(argv[2]);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	/* the smallest receive buffer: the reply waits in extlbd */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		perror("ctl-slow-reader");
		return 1;
	}
	t0 = mono();
	while (mono() - t0 < limit) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n == 0) {
			end = "eof";
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			end = "reset";
			break;
		}
		got++;
		sleep(1);
	}
	printf("SLOW read=%ld secs=%.1f end=%s\n", got, mono() - t0, end);
	close(fd);
	return 0;
}
