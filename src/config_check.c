/*
 * config_check.c - health check groups, inherited field by field.
 *
 * A check group sets only what differs from the level above (global ->
 * service -> real server), so each level starts from a copy of the one
 * above and lays its own keys over it.  The strings of a check are shared
 * between the copies.  Checks that run programs (script, user) are refused
 * in files that others than root may write.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif

#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks ---------------------------------------------------------- */

/*
 * The strings of a check are shared, with a count of their holders: every
 * real server inherits its service's check, and a reload copies unchanged
 * services from the snapshot in force, so a copy is a count taken, not a
 * string allocated (100,000 real servers would otherwise cost 300,000
 * small allocations on every load).  Only the loader (config_*.c) makes,
 * copies and frees them, through cfg_shared_*; readers see plain strings.
 */
struct shared_str {
	size_t holders;
	char s[];
};

static struct shared_str *shared_of(char *s)
{
	return (struct shared_str *)(void *)(s -
					     offsetof(struct shared_str, s));
}

char *cfg_shared_new(const char *v)
{
	size_t n = strlen(v);
	struct shared_str *h = malloc(sizeof(*h) + n + 1);

	if (!h)
		return NULL;
	h->holders = 1;
	memcpy(h->s, v, n + 1);
	return h->s;
}

char *cfg_shared_take(char *s)
{
	if (s)
		shared_of(s)->holders++;
	return s;
}

void cfg_shared_drop(char *s)
{
	if (s && --shared_of(s)->holders == 0)
		free(shared_of(s));
}

void cfg_check_free(struct xl_check_config *k)
{
	char **strs[] = CHECK_STRS(k);

	for (size_t i = 0; i < XL_ARRAY_SIZE(strs); i++) {
		cfg_shared_drop(*strs[i]);
		*strs[i] = NULL;
	}
}

/* A copy that shares src's strings: it cannot fail. */
void cfg_check_copy(struct xl_check_config *dst,
		    const struct xl_check_config *src)
{
	char **strs[] = CHECK_STRS(dst);

	*dst = *src;
	for (size_t i = 0; i < XL_ARRAY_SIZE(strs); i++)
		cfg_shared_take(*strs[i]);
}

int cfg_check_defaults(struct xl_check_config *k)
{
	memset(k, 0, sizeof(*k));
	k->type = XL_CHECK_TCP;
	k->interval = 2.0;
	k->timeout = 1.0;
	k->rise = 2;
	k->fall = 3;
	k->connect_port = -1;
	k->tls_verify = true;
	k->method = cfg_shared_new("GET");
	k->path = cfg_shared_new("/");
	k->user = cfg_shared_new("nobody");
	if (!k->method || !k->path || !k->user) {
		cfg_check_free(k);
		return -ENOMEM;
	}
	return 0;
}

static void check_timing(struct loader *ld, const struct keys *g,
			 struct xl_check_config *k)
{
	long long v;
	int up;

	cfg_get_secs(ld, g->s[CK_INTERVAL], true, 0, SECS_MAX, &k->interval);
	cfg_get_secs(ld, g->s[CK_TIMEOUT], true, 0, SECS_MAX, &k->timeout);
	cfg_get_secs(ld, g->s[CK_FAST_INTERVAL], true, 0, SECS_MAX,
		     &k->fast_interval);
	cfg_get_secs(ld, g->s[CK_DOWN_INTERVAL], true, 0, SECS_MAX,
		     &k->down_interval);
	if (cfg_get_int(ld, g->s[CK_RISE], 1, 1000, &v) == 1)
		k->rise = (uint32_t)v;
	if (cfg_get_int(ld, g->s[CK_FALL], 1, 1000, &v) == 1)
		k->fall = (uint32_t)v;
	if (cfg_get_enum(ld, g->s[CK_INITIAL_STATE], cfg_initial_states, &up) ==
	    1)
		k->initial_up = up;
}

static void check_target(struct loader *ld, const struct keys *g,
			 struct xl_check_config *k)
{
	union xl_inaddr a;
	uint16_t af;
	long long v;

	if (cfg_get_addr(ld, g->s[CK_CONNECT_IP], &af, &a) == 1) {
		k->has_connect_ip = true;
		k->connect_af = af;
		k->connect_ip = a;
	}
	if (cfg_get_int(ld, g->s[CK_CONNECT_PORT], 1, 65535, &v) == 1)
		k->connect_port = (int32_t)v;
}

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

enum str_rule { STR_ANY, STR_NONEMPTY, STR_TOKEN, STR_METHOD, STR_PATH };

static const struct check_str {
	int key;
	size_t off;
	enum str_rule rule;
} check_strs[] = {
    {CK_METHOD, offsetof(struct xl_check_config, method), STR_METHOD},
    {CK_PATH, offsetof(struct xl_check_config, path), STR_PATH},
    {CK_HOST, offsetof(struct xl_check_config, host), STR_TOKEN},
    {CK_EXPECT, offsetof(struct xl_check_config, expect), STR_ANY},
    {CK_CA_FILE, offsetof(struct xl_check_config, ca_file), STR_NONEMPTY},
    {CK_SNI, offsetof(struct xl_check_config, sni), STR_TOKEN},
    {CK_SEND, offsetof(struct xl_check_config, send), STR_ANY},
    {CK_COMMAND, offsetof(struct xl_check_config, command), STR_NONEMPTY},
    {CK_USER, offsetof(struct xl_check_config, user), STR_NONEMPTY},
};

/* NULL when s is fine for the rule, else why not.  These strings end up in
 * HTTP request lines and headers, where a space or CR/LF would corrupt the
 * request. */
static const char *str_problem(enum str_rule rule, const char *s)
{
	switch (rule) {
	case STR_ANY:
		return NULL;
	case STR_NONEMPTY:
		return *s ? NULL : "must not be empty";
	case STR_TOKEN:
		return *s && !has_space_or_ctl(s)
			   ? NULL
			   : "must be non-empty, without spaces or control "
			     "characters";
	case STR_METHOD:
		if (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(s))
			return "must be an HTTP method in capitals, like GET "
			       "or HEAD";
		return NULL;
	case STR_PATH:
		return s[0] == '/' && !has_space_or_ctl(s)
			   ? NULL
			   : "must start with \"/\" and have no spaces or "
			     "control characters";
	}
	return NULL;
}

static void check_strings(struct loader *ld, const struct keys *g,
			  struct xl_check_config *k)
{
	for (size_t i = 0; i < XL_ARRAY_SIZE(check_strs); i++) {
		const struct check_str *cs = &check_strs[i];
		const config_setting_t *s = g->s[cs->key];
		char **dst = (char **)((char *)k + cs->off);
		const char *v = NULL, *why;
		char *copy;

		if (cfg_get_str(ld, s, &v) != 1)
			continue;
		why = str_problem(cs->rule, v);
		if (why) {
			cfg_err(ld, s, "%s: \"%s\" %s", cfg_check_keys[cs->key],
				v, why);
			continue;
		}
		copy = cfg_shared_new(v);
		if (!copy) {
			cfg_oom(ld);
			continue;
		}
		cfg_shared_drop(*dst);
		*dst = copy;
	}
}

static bool three_digits(const char *s)
{
	return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	       isdigit((unsigned char)s[2]);
}

/* "200-299" or "404", exactly; 0 when it is neither. */
static int status_range(const char *s, struct xl_status_range *r)
{
	size_t n = strlen(s);

	if ((n != 3 && (n != 7 || s[3] != '-')) || !three_digits(s) ||
	    (n == 7 && !three_digits(s + 4)))
		return 0;
	r->lo = (uint16_t)atoi(s);
	r->hi = n == 7 ? (uint16_t)atoi(s + 4) : r->lo;
	return r->lo >= 100 && r->hi <= 599 && r->lo <= r->hi;
}

static int status_elem(struct loader *ld, const config_setting_t *e,
		       struct xl_status_range *r)
{
	long long v;

	switch (config_setting_type(e)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(e);
		if (v >= 100 && v <= 599) {
			r->lo = r->hi = (uint16_t)v;
			return 0;
		}
		cfg_err(ld, e, "status: %lld is out of range 100-599", v);
		return -1;
	case CONFIG_TYPE_STRING:
		if (status_range(config_setting_get_string(e), r))
			return 0;
		cfg_err(ld, e,
			"status: \"%s\" is not a status code or a range of "
			"codes like \"200-299\" (100-599)",
			config_setting_get_string(e));
		return -1;
	default:
		cfg_err(ld, e,
			"wrong type for status entry: expected an integer or a "
			"string like \"200-299\", got %s",
			cfg_type_name(config_setting_type(e)));
		return -1;
	}
}

static void check_status(struct loader *ld, const config_setting_t *list,
			 struct xl_check_config *k)
{
	struct xl_status_range st[XL_STATUS_MAX];
	int n, bad = 0;

	if (cfg_typed(ld, list, K_LIST) != 1)
		return;
	n = config_setting_length(list);
	if (n > XL_STATUS_MAX) {
		cfg_err(ld, list, "status: %d entries, at most %d are allowed",
			n, XL_STATUS_MAX);
		return;
	}
	for (int i = 0; i < n; i++)
		bad |=
		    status_elem(ld, config_setting_get_elem(list, i), &st[i]);
	if (bad)
		return;
	memcpy(k->status, st, (size_t)n * sizeof(st[0]));
	k->nstatus = (size_t)n;
}

/* What runs a program as a chosen user comes only from files that only
 * root can write: anyone who may write include_dir could run anything as
 * root otherwise. */
void cfg_untrusted_err(struct loader *ld, const config_setting_t *s,
		       const char *what)
{
	cfg_err(ld, s,
		"%s: accepted only from files that only root can write, and "
		"this file is %s",
		what, ld->untrusted_why);
}

static void check_untrusted(struct loader *ld, const struct keys *g)
{
	const char *type = NULL;

	if (ld->trusted)
		return;
	if (g->s[CK_TYPE] &&
	    (type = config_setting_get_string(g->s[CK_TYPE])) &&
	    !strcmp(type, "script"))
		cfg_untrusted_err(ld, g->s[CK_TYPE], "check type \"script\"");
	if (g->s[CK_COMMAND])
		cfg_untrusted_err(ld, g->s[CK_COMMAND], "command");
	if (g->s[CK_USER])
		cfg_untrusted_err(ld, g->s[CK_USER], "user");
}

/*
 * Lay a check group over k, which holds what the level above decided: a key
 * that is absent keeps the inherited value.  A group that sets type becomes
 * the origin that a missing script command is reported at.
 */
void cfg_check_apply(struct loader *ld, const config_setting_t *grp,
		     struct xl_check_config *k, struct origin *org,
		     struct origin **eff)
{
	struct keys g;
	bool b;
	int t;

	if (cfg_typed(ld, grp, K_GROUP) != 1)
		return;
	cfg_keys_read(ld, grp, "in check", cfg_check_keys, CK_NKEYS, &g);
	check_untrusted(ld, &g);
	if (cfg_get_enum(ld, g.s[CK_TYPE], cfg_check_types, &t) == 1) {
		k->type = t;
		org->file = cfg_setting_file(ld, grp);
		org->line = cfg_line_of(grp);
		org->reported = false;
		*eff = org;
	}
	check_timing(ld, &g, k);
	check_target(ld, &g, k);
	check_strings(ld, &g, k);
	check_status(ld, g.s[CK_STATUS], k);
	if (cfg_get_bool(ld, g.s[CK_TLS_VERIFY], &b) == 1)
		k->tls_verify = b;
}

/* Called on every check that is actually used (a real server's, or the
 * service's when it has none yet). */
void cfg_check_script(struct loader *ld, const struct xl_check_config *k,
		      struct origin *eff)
{
	if (k->type != XL_CHECK_SCRIPT || k->command || !eff || eff->reported)
		return;
	eff->reported = true;
	cfg_err_at(ld, eff->file, eff->line,
		   "check type \"script\" needs a command (set command in this "
		   "check or in one that inherits it)");
}
