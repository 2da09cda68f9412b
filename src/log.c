/*
 * log.c - syslog or console logging with a level filter.
 *
 * Under systemd, syslog lines reach the journal with their priority; on the
 * console (-l, or -t) they go to stderr with a timestamp so that test
 * harnesses and people reading a terminal see the same words.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

static bool to_console = true;
static int max_level = LOG_INFO;

void xl_log_open(const char *ident, bool console, int level)
{
	to_console = console;
	max_level = level;
	if (!console)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void xl_log_set_level(int level)
{
	max_level = level;
}

void xl_log_close(void)
{
	if (!to_console)
		closelog();
}

bool xl_log_enabled(int prio)
{
	return prio <= max_level;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void xl_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > max_level)
		return;
	va_start(ap, fmt);
	if (to_console) {
		struct timeval tv;
		struct tm tm;
		char ts[32];

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld extlbd %s: ", ts,
			(long)(tv.tv_usec / 1000), prio_name(prio));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}
