/*
 * checkopts.c - a Service's extlb.io/check* annotations, validated by
 * extlbd's rules, and the check type each of its ports gets.
 *
 * The rules are extlbd's own (check_rules.h, the functions its loader
 * calls): a value extlbd would refuse is refused here, with extlbd's
 * words for why.  What is added here is for the text itself: numbers are
 * taken only in plain decimal (no signs, exponents or hex), so that the
 * text copied into the include file is one libconfig reads as the same
 * number, and text longer than a health check needs is refused.  A
 * Service may not ask for a check that runs programs.
 */
#include "k8s/checkopts.h"

#include "check_rules.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A path or an expected string longer than this is no health check. */
#define TEXT_MAX 1024

/* Digits only: the number, or LLONG_MAX for too many to be any range's;
 * -1 for anything else. */
static long long plain_whole(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (!n || s[n])
		return -1;
	if (n > 18)
		return LLONG_MAX;
	return strtoll(s, NULL, 10);
}

/* Seconds as "5" or "0.25": digits, and at most 6 decimals; -1 else. */
static double plain_secs(const char *s)
{
	size_t n = strspn(s, "0123456789"), f;

	if (!n || n > 15)
		return -1;
	if (s[n] == '.') {
		f = strspn(s + n + 1, "0123456789");
		if (!f || f > 6)
			return -1;
		n += f + 1;
	}
	return s[n] ? -1 : strtod(s, NULL);
}

/* The types a Service may ask for: each can only fail a server, never run
 * anything on the load balancer. */
static bool type_for_services(enum xl_check_type t)
{
	switch (t) {
	case XL_CHECK_TCP:
	case XL_CHECK_HTTP:
	case XL_CHECK_HTTPS:
	case XL_CHECK_UDP:
	case XL_CHECK_NONE:
		return true;
	default:
		return false;
	}
}

/* NULL when the type is one a Service may have, else why not (in buf). */
static const char *type_problem(const char *s, char *buf, size_t len)
{
	enum xl_check_type t;
	const char *why = xl_rule_check_type(s, &t, buf, len);

	if (why)
		return why;
	if (t == XL_CHECK_SCRIPT)
		return "is refused: a Service may not ask for a script check, "
		       "which runs commands on the load balancer";
	if (!type_for_services(t))
		return "is refused: a Service may ask for a tcp, http, https, "
		       "udp or none check only";
	return NULL;
}

/* "200-299, 404": extlbd's entries, comma separated, blanks allowed
 * around them.  NULL when fine, else why not (perhaps in buf). */
static const char *status_parse(const char *s, struct k8s_checkopts *o,
				char *buf, size_t blen)
{
	struct k8s_status_range v[K8S_STATUS_MAX];
	size_t n = 0;
	bool list = strchr(s, ',') != NULL;

	for (;;) {
		struct xl_status_range r = {0};
		char entry[16];
		const char *why;
		size_t len;

		s += strspn(s, " ");
		len = strcspn(s, ",");
		while (len && s[len - 1] == ' ')
			len--;
		if (n == K8S_STATUS_MAX)
			return "has more than 16 entries";
		snprintf(entry, sizeof(entry), "%.*s", (int)len, s);
		why = len < sizeof(entry) ? xl_rule_status(entry, &r)
					  : xl_rule_status("", &r);
		if (why && !list)
			return why;
		if (why) {
			snprintf(buf, blen, "has an entry \"%.*s\" that %s",
				 (int)(len < 64 ? len : 64), s, why);
			return buf;
		}
		v[n].lo = r.lo;
		v[n++].hi = r.hi;
		s += strcspn(s, ",");
		if (!*s++)
			break;
	}
	memcpy(o->status, v, n * sizeof(v[0]));
	o->nstatus = n;
	return NULL;
}

/* Where annotations go to be told. */
struct teller {
	k8s_check_bad_fn bad;
	void *arg;
};

/* A whole-number annotation extlbd's rule accepts: its value, or 0
 * (absent, or told). */
static unsigned long take_whole(const struct teller *t, const char *key,
				const char *val, const char *(*rule)(long long))
{
	long long v;
	const char *why;

	if (!val)
		return 0;
	v = plain_whole(val);
	why = v < 0 ? "is not a whole number in plain decimal" : rule(v);
	if (!why)
		return (unsigned long)v;
	t->bad(t->arg, key, val, why);
	return 0;
}

/* A seconds annotation: its text, or NULL (absent, or told). */
static const char *take_secs(const struct teller *t, const char *key,
			     const char *val)
{
	double v;
	const char *why;

	if (!val)
		return NULL;
	v = plain_secs(val);
	why = v < 0 ? "is not a number of seconds in plain decimal, like 5 "
		      "or 0.25"
		    : xl_rule_secs(v);
	if (!why)
		return val;
	t->bad(t->arg, key, val, why);
	return NULL;
}

static void parse_numbers(const struct k8s_annotations *a,
			  struct k8s_checkopts *o, const struct teller *t)
{
	o->port = (uint16_t)take_whole(t, "extlb.io/check-port", a->check_port,
				       xl_rule_port);
	o->interval =
	    take_secs(t, "extlb.io/check-interval", a->check_interval);
	o->timeout = take_secs(t, "extlb.io/check-timeout", a->check_timeout);
	o->rise = (uint32_t)take_whole(t, "extlb.io/check-rise", a->check_rise,
				       xl_rule_count);
	o->fall = (uint32_t)take_whole(t, "extlb.io/check-fall", a->check_fall,
				       xl_rule_count);
}

void k8s_checkopts_parse(const struct k8s_annotations *a,
			 struct k8s_checkopts *o, k8s_check_bad_fn bad,
			 void *arg)
{
	char buf[160];
	const char *why;

	memset(o, 0, sizeof(*o));
	if (a->check) {
		why = type_problem(a->check, buf, sizeof(buf));
		if (why)
			bad(arg, "extlb.io/check", a->check, why);
		else
			o->type = a->check;
	}
	parse_numbers(a, o, &(struct teller){bad, arg});
	if (a->check_path && strlen(a->check_path) > TEXT_MAX)
		bad(arg, "extlb.io/check-path", a->check_path,
		    "is longer than 1024 bytes");
	else if (a->check_path && (why = xl_rule_path(a->check_path)))
		bad(arg, "extlb.io/check-path", a->check_path, why);
	else
		o->path = a->check_path;
	if (a->check_status &&
	    (why = status_parse(a->check_status, o, buf, sizeof(buf))))
		bad(arg, "extlb.io/check-status", a->check_status, why);
	if (a->check_expect && strlen(a->check_expect) <= TEXT_MAX)
		o->expect = a->check_expect;
	else if (a->check_expect)
		bad(arg, "extlb.io/check-expect", a->check_expect,
		    "is longer than 1024 bytes");
}

bool k8s_check_http(const char *type)
{
	return type && (!strcmp(type, "http") || !strcmp(type, "https"));
}

bool k8s_check_expects(const char *type)
{
	return k8s_check_http(type) || (type && !strcmp(type, "udp"));
}

/* Whether a check of this type can tell whether a port of proto works. */
static bool type_fits(const char *type, enum k8s_proto proto)
{
	if (!strcmp(type, "none"))
		return true;
	if (!strcmp(type, "udp"))
		return proto == K8S_UDP;
	return proto == K8S_TCP;
}

const char *k8s_check_type(const struct k8s_checkopts *o,
			   const struct k8s_svc_port *p)
{
	if (o->type && type_fits(o->type, p->proto))
		return o->type;
	if (p->proto != K8S_TCP)
		return "none";
	if (p->app_protocol && (!strcmp(p->app_protocol, "http") ||
				!strcmp(p->app_protocol, "https")))
		return p->app_protocol;
	return NULL;
}
