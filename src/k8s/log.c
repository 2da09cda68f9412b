/*
 * log.c - extlb-k8s's messages on stderr, with a level filter.
 *
 * extlbd's log.c names extlbd in every console line and writes to syslog as
 * a daemon; extlb-k8s is a client that systemd runs with stderr already
 * going to the journal, so it keeps its own, smaller logger rather than
 * reaching into extlbd's.
 */
#include "k8s/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static enum k8s_log_level max_level = K8S_LOG_INFO;

void k8s_log_set_level(enum k8s_log_level level)
{
	max_level = level;
}

bool k8s_log_enabled(enum k8s_log_level prio)
{
	return prio <= max_level;
}

static const char *level_name(enum k8s_log_level prio)
{
	switch (prio) {
	case K8S_LOG_ERROR:
		return "error";
	case K8S_LOG_WARNING:
		return "warning";
	case K8S_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void k8s_log(enum k8s_log_level prio, const char *fmt, ...)
{
	va_list ap;

	if (prio > max_level)
		return;
	/* one fprintf per part, but stderr is unbuffered and we are the only
	 * thread, so lines never interleave */
	fprintf(stderr, "extlb-k8s: %s: ", level_name(prio));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
