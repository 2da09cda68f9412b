/*
 * checkopts.c - a Service's extlb.io/check* annotations, validated by
 * extlbd's rules, and the check type each of its ports gets.
 *
 * The rules are those of config.c and extlb.conf(5): intervals and
 * timeouts more than 0 and at most 86400 seconds, rise and fall 1 to
 * 1000, a port 1 to 65535, a path from "/" without blanks or control
 * characters, at most 16 status codes or ranges within 100-599.  Numbers
 * are taken only in plain decimal (no signs, exponents or hex), so that
 * the text copied into the include file is one libconfig reads as the
 * same number.
 */
#include "k8s/checkopts.h"

#include <stdlib.h>
#include <string.h>

/* A path or an expected string longer than this is no health check. */
#define TEXT_MAX 1024

static bool one_of(const char *s, const char *const *words)
{
	for (; *words; words++) {
		if (!strcmp(s, *words))
			return true;
	}
	return false;
}

/* 1 to 9 decimal digits within [lo, hi]. */
static bool uint_ok(const char *s, unsigned long lo, unsigned long hi,
		    unsigned long *out)
{
	size_t n = strspn(s, "0123456789");

	if (!n || n > 9 || s[n])
		return false;
	*out = strtoul(s, NULL, 10);
	return *out >= lo && *out <= hi;
}

/* Seconds as "5" or "0.25": at most 5 digits, 6 decimals; (0, 86400]. */
static bool secs_ok(const char *s)
{
	size_t n = strspn(s, "0123456789"), f = 0;

	if (!n || n > 5)
		return false;
	if (s[n] == '.') {
		f = strspn(s + n + 1, "0123456789");
		if (!f || f > 6)
			return false;
		n += f + 1;
	}
	if (s[n])
		return false;
	return strtod(s, NULL) > 0 && strtod(s, NULL) <= 86400;
}

static bool blank_or_ctl(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

static bool path_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) > TEXT_MAX)
		return false;
	for (; *s; s++) {
		if (blank_or_ctl((unsigned char)*s))
			return false;
	}
	return true;
}

/* "404" or "200-299", 100-599, low first. */
static bool range_ok(const char *s, size_t n, struct k8s_status_range *r)
{
	char buf[8];
	unsigned long lo, hi;

	if (n != 3 && n != 7)
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (n == 7 && buf[3] != '-')
		return false;
	buf[3] = 0;
	if (!uint_ok(buf, 100, 599, &lo))
		return false;
	hi = lo;
	if (n == 7 && !uint_ok(buf + 4, 100, 599, &hi))
		return false;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return lo <= hi;
}

/* "200-299, 404": codes and ranges, comma separated, blanks allowed
 * around them.  NULL when fine, else why not. */
static const char *status_parse(const char *s, struct k8s_checkopts *o)
{
	static const char *const bad =
	    "must be status codes or ranges like 200-299, within 100-599, "
	    "separated by commas";
	struct k8s_status_range v[K8S_STATUS_MAX];
	size_t n = 0;

	for (;;) {
		size_t len;

		s += strspn(s, " ");
		len = strcspn(s, ", ");
		if (n == K8S_STATUS_MAX)
			return "has more than 16 entries";
		if (!range_ok(s, len, &v[n++]))
			return bad;
		s += len;
		s += strspn(s, " ");
		if (!*s)
			break;
		if (*s++ != ',')
			return bad;
	}
	memcpy(o->status, v, n * sizeof(v[0]));
	o->nstatus = n;
	return NULL;
}

/* The type, which is never script: tenant input must not run commands. */
static const char *type_problem(const char *s)
{
	static const char *const types[] = {"tcp", "http", "https",
					    "udp", "none", NULL};

	if (!strcmp(s, "script"))
		return "is refused: a Service may not ask for a script check, "
		       "which runs commands on the load balancer";
	return one_of(s, types) ? NULL : "is not tcp, http, https, udp or none";
}

/* Where annotations go to be told. */
struct teller {
	k8s_check_bad_fn bad;
	void *arg;
};

/* A count annotation within [lo, hi]: its value, or 0 (absent, or told). */
static unsigned long take_count(const struct teller *t, const char *key,
				const char *val, unsigned long hi,
				const char *why)
{
	unsigned long v;

	if (!val)
		return 0;
	if (uint_ok(val, 1, hi, &v))
		return v;
	t->bad(t->arg, key, val, why);
	return 0;
}

/* A seconds annotation: its text, or NULL (absent, or told). */
static const char *take_secs(const struct teller *t, const char *key,
			     const char *val)
{
	if (!val || secs_ok(val))
		return val;
	t->bad(t->arg, key, val,
	       "is not a number of seconds, more than 0 and at most 86400");
	return NULL;
}

static void parse_numbers(const struct k8s_annotations *a,
			  struct k8s_checkopts *o, const struct teller *t)
{
	o->port =
	    (uint16_t)take_count(t, "extlb.io/check-port", a->check_port, 65535,
				 "is not a port number, 1 to 65535");
	o->interval =
	    take_secs(t, "extlb.io/check-interval", a->check_interval);
	o->timeout = take_secs(t, "extlb.io/check-timeout", a->check_timeout);
	o->rise = (uint32_t)take_count(t, "extlb.io/check-rise", a->check_rise,
				       1000, "is not a count, 1 to 1000");
	o->fall = (uint32_t)take_count(t, "extlb.io/check-fall", a->check_fall,
				       1000, "is not a count, 1 to 1000");
}

void k8s_checkopts_parse(const struct k8s_annotations *a,
			 struct k8s_checkopts *o, k8s_check_bad_fn bad,
			 void *arg)
{
	const char *why;

	memset(o, 0, sizeof(*o));
	if (a->check && !(why = type_problem(a->check)))
		o->type = a->check;
	else if (a->check)
		bad(arg, "extlb.io/check", a->check, why);
	parse_numbers(a, o, &(struct teller){bad, arg});
	if (a->check_path && path_ok(a->check_path))
		o->path = a->check_path;
	else if (a->check_path)
		bad(arg, "extlb.io/check-path", a->check_path,
		    "must start with / and have no blanks or control "
		    "characters");
	if (a->check_status && (why = status_parse(a->check_status, o)))
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
