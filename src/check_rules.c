/*
 * check_rules.c - the rules of a health check's settings (check_rules.h),
 * and the names of the check types, read from the registry's list.
 */
#include "check_rules.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A day is plenty for an interval, and a timeout longer is no check. */
#define SECS_MAX 86400.0
#define COUNT_MAX 1000

const char *xl_rule_secs(double v)
{
	/* written so that NaN fails too */
	if (v > 0 && v <= SECS_MAX)
		return NULL;
	return "is out of range: must be more than 0 and at most 86400 "
	       "seconds";
}

const char *xl_rule_count(long long v)
{
	return v >= 1 && v <= COUNT_MAX ? NULL : "is out of range 1-1000";
}

const char *xl_rule_port(long long v)
{
	return v >= 1 && v <= 65535 ? NULL : "is out of range 1-65535";
}

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

const char *xl_rule_nonempty(const char *v)
{
	return *v ? NULL : "must not be empty";
}

/* These strings end up in HTTP request lines and headers, where a space or
 * CR/LF would corrupt the request. */
const char *xl_rule_token(const char *v)
{
	return *v && !has_space_or_ctl(v)
		   ? NULL
		   : "must be non-empty, without spaces or control characters";
}

const char *xl_rule_method(const char *v)
{
	if (!*v || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(v))
		return "must be an HTTP method in capitals, like GET or HEAD";
	return NULL;
}

const char *xl_rule_path(const char *v)
{
	return v[0] == '/' && !has_space_or_ctl(v)
		   ? NULL
		   : "must start with \"/\" and have no spaces or control "
		     "characters";
}

static bool three_digits(const char *s)
{
	return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	       isdigit((unsigned char)s[2]);
}

const char *xl_rule_status_code(long long v)
{
	return v >= 100 && v <= 599 ? NULL : "is out of range 100-599";
}

/* "200-299" or "404", exactly: no blanks, no signs. */
const char *xl_rule_status(const char *v, struct xl_status_range *r)
{
	size_t n = strlen(v);
	struct xl_status_range t;

	if ((n != 3 && (n != 7 || v[3] != '-')) || !three_digits(v) ||
	    (n == 7 && !three_digits(v + 4)))
		goto bad;
	t.lo = (uint16_t)atoi(v);
	t.hi = n == 7 ? (uint16_t)atoi(v + 4) : t.lo;
	if (t.lo < 100 || t.hi > 599 || t.lo > t.hi)
		goto bad;
	*r = t;
	return NULL;
bad:
	return "is not a status code or a range of codes like \"200-299\" "
	       "(100-599)";
}

#define XL_CHECK_NAME_(id, name) [XL_CHECK_##id] = #name,
static const char *const type_names[XL_CHECK_NTYPES] = {
    XL_CHECK_TYPES(XL_CHECK_NAME_)};
#undef XL_CHECK_NAME_

const char *xl_check_type_name(enum xl_check_type t)
{
	return (unsigned)t < XL_CHECK_NTYPES ? type_names[t] : "?";
}

const char *xl_rule_check_type(const char *v, enum xl_check_type *t, char *buf,
			       size_t len)
{
	size_t o;

	for (size_t i = 0; i < XL_CHECK_NTYPES; i++) {
		if (!strcmp(v, type_names[i])) {
			*t = (enum xl_check_type)i;
			return NULL;
		}
	}
	o = (size_t)snprintf(buf, len, "is not one of");
	for (size_t i = 0; i < XL_CHECK_NTYPES && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s \"%s\"",
				      i ? "," : "", type_names[i]);
	return buf;
}
