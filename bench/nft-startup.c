/*
 * nft-startup.c - extlbd's nftables start-up step alone: loads a
 * configuration as extlbd does and calls xl_nft_start (the table built in
 * one transaction), timed; the wall time and the CPU time of the call
 * (getrusage: sys is the kernel's handling of the batch).  Linked against
 * a build's libextlb.a, so that two builds (bench/nft-startup.sh: main
 * and a branch) are compared on the same file, each in a fresh VM.
 *
 * Usage: nft-startup [-d] CONF   (-d: extlbd's debug log on stderr, the
 *                                 commands of the transaction included)
 */
#include "config.h"
#include "log.h"
#include "nft.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct xl_errors errs = {0};
	struct xl_config *c;
	struct xl_nft *n;
	struct rusage r0, r1;
	struct timespec t0, t1;
	bool debug = argc > 2 && !strcmp(argv[1], "-d");
	const char *path = argv[argc - 1];

	if (argc < 2) {
		fprintf(stderr, "usage: nft-startup [-d] CONF\n");
		return 2;
	}
	xl_log_open("nft-startup", true, debug ? XL_LOG_DEBUG : XL_LOG_INFO);
	if (!(c = xl_config_load(path, &errs))) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	if (!(n = xl_nft_new()))
		return 1;
	getrusage(RUSAGE_SELF, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	xl_nft_start(n, c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	printf("BENCH nft-startup %s: %.3f s (user %.3f s, sys %.3f s)\n", path,
	       (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       secs(r1.ru_utime) - secs(r0.ru_utime),
	       secs(r1.ru_stime) - secs(r0.ru_stime));
	xl_nft_free(n);
	xl_config_free(c);
	xl_log_close();
	return 0;
}
