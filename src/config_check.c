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

/* A field of k, where a key of a check type keeps its value. */
static void *key_field(const struct xl_check_config *k,
		       const struct xl_check_key *key)
{
	return (char *)k + key->off;
}

void cfg_check_free(struct xl_check_config *k)
{
	const struct xl_check_key *const *keys;
	size_t n = xl_check_keys(&keys);

	for (size_t i = 0; i < n; i++) {
		char **str = key_field(k, keys[i]);

		if (keys[i]->kind != XL_KEY_STR)
			continue;
		cfg_shared_drop(*str);
		*str = NULL;
	}
}

/* A copy that shares src's strings: it cannot fail. */
void cfg_check_copy(struct xl_check_config *dst,
		    const struct xl_check_config *src)
{
	const struct xl_check_key *const *keys;
	size_t n = xl_check_keys(&keys);

	*dst = *src;
	for (size_t i = 0; i < n; i++)
		if (keys[i]->kind == XL_KEY_STR)
			cfg_shared_take(*(char **)key_field(dst, keys[i]));
}

int cfg_check_defaults(struct xl_check_config *k)
{
	const struct xl_check_key *const *keys;
	size_t n = xl_check_keys(&keys);

	memset(k, 0, sizeof(*k));
	k->type = XL_CHECK_TCP;
	k->interval = 2.0;
	k->timeout = 1.0;
	k->rise = 2;
	k->fall = 3;
	k->connect_port = -1;
	for (size_t i = 0; i < n; i++) {
		const struct xl_check_key *key = keys[i];
		char **str = key_field(k, key);

		if (key->kind == XL_KEY_BOOL)
			*(bool *)key_field(k, key) = key->def_on;
		if (key->kind != XL_KEY_STR || !key->def)
			continue;
		if (!(*str = cfg_shared_new(key->def))) {
			cfg_check_free(k);
			return -ENOMEM;
		}
	}
	return 0;
}

static void check_timing(struct loader *ld, const struct keys *g,
			 struct xl_check_config *k)
{
	long long v;
	int up;

	cfg_get_secs_by(ld, g->s[CK_INTERVAL], xl_rule_secs, &k->interval);
	cfg_get_secs_by(ld, g->s[CK_TIMEOUT], xl_rule_secs, &k->timeout);
	cfg_get_secs_by(ld, g->s[CK_FAST_INTERVAL], xl_rule_secs,
			&k->fast_interval);
	cfg_get_secs_by(ld, g->s[CK_DOWN_INTERVAL], xl_rule_secs,
			&k->down_interval);
	if (cfg_get_int_by(ld, g->s[CK_RISE], xl_rule_count, &v) == 1)
		k->rise = (uint32_t)v;
	if (cfg_get_int_by(ld, g->s[CK_FALL], xl_rule_count, &v) == 1)
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
	if (cfg_get_int_by(ld, g->s[CK_CONNECT_PORT], xl_rule_port, &v) == 1)
		k->connect_port = (int32_t)v;
}

static void check_string(struct loader *ld, const config_setting_t *s,
			 const struct xl_check_key *key,
			 struct xl_check_config *k)
{
	char **dst = key_field(k, key);
	const char *v = NULL, *why;
	char *copy;

	if (cfg_get_str(ld, s, &v) != 1)
		return;
	if (key->rule && (why = key->rule(v))) {
		cfg_err(ld, s, "%s: \"%s\" %s", key->name, v, why);
		return;
	}
	copy = cfg_shared_new(v);
	if (!copy) {
		cfg_oom(ld);
		return;
	}
	cfg_shared_drop(*dst);
	*dst = copy;
}

static int status_elem(struct loader *ld, const config_setting_t *e,
		       struct xl_status_range *r)
{
	const char *why;
	long long v;

	switch (config_setting_type(e)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(e);
		if (!(why = xl_rule_status_code(v))) {
			r->lo = r->hi = (uint16_t)v;
			return 0;
		}
		cfg_err(ld, e, "status: %lld %s", v, why);
		return -1;
	case CONFIG_TYPE_STRING:
		why = xl_rule_status(config_setting_get_string(e), r);
		if (!why)
			return 0;
		cfg_err(ld, e, "status: \"%s\" %s",
			config_setting_get_string(e), why);
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

/* The keys of the check types, each by its kind. */
static void check_type_keys(struct loader *ld, const struct keys *g,
			    struct xl_check_config *k)
{
	const struct xl_check_key *const *keys;
	size_t n = xl_check_keys(&keys);
	bool b;

	for (size_t i = 0; i < n; i++) {
		const config_setting_t *s = g->s[CK_NKEYS + i];

		switch (keys[i]->kind) {
		case XL_KEY_STR:
			check_string(ld, s, keys[i], k);
			break;
		case XL_KEY_BOOL:
			if (cfg_get_bool(ld, s, &b) == 1)
				*(bool *)key_field(k, keys[i]) = b;
			break;
		case XL_KEY_STATUS:
			check_status(ld, s, k);
			break;
		}
	}
}

/* The names a check group may hold: every check's, then the types'. */
static const char *const *check_key_names(size_t *n)
{
	static const char *names[KEYS_MAX];
	static size_t nnames;
	const struct xl_check_key *const *keys;
	size_t nk;

	if (!nnames) {
		nk = xl_check_keys(&keys);
		/* struct keys must have a slot for each: KEYS_MAX is small */
		if (CK_NKEYS + nk > KEYS_MAX)
			abort();
		for (size_t i = 0; i < CK_NKEYS; i++)
			names[nnames++] = cfg_check_keys[i];
		for (size_t i = 0; i < nk; i++)
			names[nnames++] = keys[i]->name;
	}
	*n = nnames;
	return names;
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
	const struct xl_check_key *const *keys;
	size_t n = xl_check_keys(&keys);
	const char *name = NULL;
	enum xl_check_type t;
	char why[160], what[64];

	if (ld->trusted)
		return;
	if (g->s[CK_TYPE] &&
	    (name = config_setting_get_string(g->s[CK_TYPE])) &&
	    !xl_rule_check_type(name, &t, why, sizeof(why)) &&
	    xl_check_ops(t)->runs_programs) {
		snprintf(what, sizeof(what), "check type \"%s\"", name);
		cfg_untrusted_err(ld, g->s[CK_TYPE], what);
	}
	for (size_t i = 0; i < n; i++)
		if (keys[i]->trusted_only && g->s[CK_NKEYS + i])
			cfg_untrusted_err(ld, g->s[CK_NKEYS + i],
					  keys[i]->name);
}

/*
 * Lay a check group over k, which holds what the level above decided: a key
 * that is absent keeps the inherited value.  A group that sets type becomes
 * the origin that an incomplete check (a script without a command) is
 * reported at.
 */
void cfg_check_apply(struct loader *ld, const config_setting_t *grp,
		     struct xl_check_config *k, struct origin *org,
		     struct origin **eff)
{
	struct keys g;
	const char *const *names;
	size_t nnames;
	const char *v = NULL, *why;
	enum xl_check_type t;
	char buf[160];

	if (cfg_typed(ld, grp, K_GROUP) != 1)
		return;
	names = check_key_names(&nnames);
	cfg_keys_read(ld, grp, "in check", names, nnames, &g);
	check_untrusted(ld, &g);
	if (cfg_get_str(ld, g.s[CK_TYPE], &v) == 1) {
		why = xl_rule_check_type(v, &t, buf, sizeof(buf));
		if (why) {
			cfg_err(ld, g.s[CK_TYPE], "type: \"%s\" %s", v, why);
		} else {
			k->type = t;
			org->file = cfg_setting_file(ld, grp);
			org->line = cfg_line_of(grp);
			org->reported = false;
			*eff = org;
		}
	}
	check_timing(ld, &g, k);
	check_target(ld, &g, k);
	check_type_keys(ld, &g, k);
}

/* Called on every check that is actually used (a real server's, or the
 * service's when it has none yet). */
void cfg_check_complete(struct loader *ld, const struct xl_check_config *k,
			struct origin *eff)
{
	const struct xl_check_ops *ops = xl_check_ops(k->type);
	const char *why;

	if (!ops->incomplete || !eff || eff->reported ||
	    !(why = ops->incomplete(k)))
		return;
	eff->reported = true;
	cfg_err_at(ld, eff->file, eff->line, "check type \"%s\" %s",
		   xl_check_type_name(k->type), why);
}
