/*
 * check_rules.h - what makes a health check's setting valid.
 *
 * extlbd's configuration loader and extlb-k8s, which writes the
 * configuration from a Service's annotations, must accept and refuse the
 * same values: one a tenant gets past extlb-k8s that extlbd refuses would
 * take the whole include file down with it.  So each rule is written once,
 * here, as a function of the value that returns NULL when it is fine and
 * otherwise why not, a sentence to follow the value ("5000 is out of range
 * 1-1000").  Pure: no I/O, no state, no libraries, so both link it.
 */
#ifndef EXTLB_CHECK_RULES_H
#define EXTLB_CHECK_RULES_H

#include "check_types.h"

#include <stddef.h>
#include <stdint.h>

/* Status codes and ranges an http check accepts: at most XL_STATUS_MAX. */
struct xl_status_range {
	uint16_t lo, hi;
};

#define XL_STATUS_MAX 16

/* interval, timeout, fast_interval, down_interval: (0, 86400] seconds */
const char *xl_rule_secs(double v);
/* rise, fall: 1 to 1000 */
const char *xl_rule_count(long long v);
/* connect_port: 1 to 65535 */
const char *xl_rule_port(long long v);

/* Strings of the check types' keys. */
const char *xl_rule_nonempty(const char *v);
/* host, sni: they go into a request header or a URL */
const char *xl_rule_token(const char *v);
const char *xl_rule_method(const char *v);
const char *xl_rule_path(const char *v);

/* One status entry, a code "404" or a range "200-299" within 100-599; *r
 * holds it when it is fine. */
const char *xl_rule_status(const char *v, struct xl_status_range *r);
/* ... or a code written as a number */
const char *xl_rule_status_code(long long v);

/*
 * A check type's name: NULL and *t set when it names one, else why not
 * ("is not one of "tcp", "http", ..."), written in buf.
 */
const char *xl_rule_check_type(const char *v, enum xl_check_type *t, char *buf,
			       size_t len);

#endif
