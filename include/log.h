/*
 * log.h - one place where extlbd's messages go: syslog (so the journal)
 * or the console, filtered by log_level.
 */
#ifndef EXTLB_LOG_H
#define EXTLB_LOG_H

#include "util.h"

#include <stdbool.h>

void xl_log_open(const char *ident, bool console, int level);
void xl_log_set_level(int level);
void xl_log_close(void);
/* Would a message of this priority be written?  (Skip costly formatting.) */
bool xl_log_enabled(int prio);
void xl_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define xl_err(...) xl_log(XL_LOG_ERROR, __VA_ARGS__)
#define xl_warn(...) xl_log(XL_LOG_WARNING, __VA_ARGS__)
#define xl_info(...) xl_log(XL_LOG_INFO, __VA_ARGS__)
#define xl_debug(...) xl_log(XL_LOG_DEBUG, __VA_ARGS__)

#endif
