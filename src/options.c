/*
 * options.c - extlbd's command line, its usage text, and the pid file.
 *
 * Apart from extlbd.c so that the daemon's lifecycle reads on one screen
 * or two; nothing here knows the daemon's state.
 */
#include "autoconf.h"

#include "extlbd.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xl_daemon_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		xl_err("pidfile %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: extlbd [OPTION]...\n"
		"Program the kernel's IPVS tables from a configuration file "
		"and keep them so.\n\n"
		"  -f, --config-file FILE  configuration (default %s)\n"
		"  -n, --foreground        do not fork\n"
		"  -l, --log-console       log to stderr instead of syslog\n"
		"  -t, --check-config      check the configuration and exit "
		"(0 valid, 1 not)\n"
		"  -p, --pid-file FILE     write the process id to FILE\n"
		"  -v, --version           print the version and exit\n"
		"  -h, --help              this text\n\n"
		"Signals: HUP reloads the configuration; USR1 (or USR2) "
		"writes the status\nto the log; TERM and INT stop.\n",
		XL_DEFAULT_CONF);
}

/* *path made absolute in buf when it is relative; 0, or -1 said. */
static int absolute(const char **path, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (!*path || (*path)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "extlbd: %s: the working directory: %s\n",
			*path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, len, "%s/%s", cwd, *path);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "extlbd: %s/%s: path too long\n", cwd, *path);
		return -1;
	}
	*path = buf;
	return 0;
}

int xl_daemon_options(int argc, char **argv, struct xl_options *o)
{
	static const struct option lo[] = {
	    {"config-file", required_argument, NULL, 'f'},
	    {"foreground", no_argument, NULL, 'n'},
	    {"log-console", no_argument, NULL, 'l'},
	    {"check-config", no_argument, NULL, 't'},
	    {"pid-file", required_argument, NULL, 'p'},
	    {"version", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:nltp:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->conf = optarg;
			break;
		case 'n':
			o->foreground = true;
			break;
		case 'l':
			o->console = true;
			break;
		case 't':
			o->check = true;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'v':
			printf("extlbd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "extlbd: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->check) /* errors name the file as it was given */
		return 0;
	if (absolute(&o->conf, o->conf_buf, sizeof(o->conf_buf)) < 0 ||
	    absolute(&o->pidfile, o->pid_buf, sizeof(o->pid_buf)) < 0)
		return -1;
	return 0;
}
