/*
 * k8s/log.h - extlb-k8s's messages: one line each on stderr, with a level
 * word, filtered by the verbosity.  Under systemd the journal adds the time
 * and the unit; in a terminal and in tests people read the same words.
 */
#ifndef EXTLB_K8S_LOG_H
#define EXTLB_K8S_LOG_H

#include "util.h"

#include <stdbool.h>

enum k8s_log_level {
	K8S_LOG_ERROR = XL_LOG_ERROR, /* syslog priorities, as extlbd's */
	K8S_LOG_WARNING = XL_LOG_WARNING,
	K8S_LOG_INFO = XL_LOG_INFO,
	K8S_LOG_DEBUG = XL_LOG_DEBUG,
};

void k8s_log_set_level(enum k8s_log_level level);
/* Whether a message of this level would be written. */
bool k8s_log_enabled(enum k8s_log_level prio);
void k8s_log(enum k8s_log_level prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define k8s_err(...) k8s_log(K8S_LOG_ERROR, __VA_ARGS__)
#define k8s_warn(...) k8s_log(K8S_LOG_WARNING, __VA_ARGS__)
#define k8s_info(...) k8s_log(K8S_LOG_INFO, __VA_ARGS__)
#define k8s_debug(...) k8s_log(K8S_LOG_DEBUG, __VA_ARGS__)

#endif
