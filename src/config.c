/*
 * config.c - /etc/extlb.conf and its include_dir into an xl_config snapshot.
 *
 * The entry points of the module (load, reload, find, table, free) and
 * what every part of the loader reports through: the error list and the
 * location of a setting.  Every problem in every file is collected as
 * "file:line: message" before the load fails as a whole, so that an
 * operator sees all of a file's mistakes at once and a reload never
 * half-applies.  The parts are mapped in config_impl.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif

#include "config_impl.h"
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error list ------------------------------------------------------ */

static void errors_vadd(struct xl_errors *e, const char *file, int line,
			const char *fmt, va_list ap)
{
	char msg[1024]; /* a longer message is cut, never lost */
	char *full = NULL;
	int n;

	if (!e)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (file && line > 0)
		n = asprintf(&full, "%s:%d: %s", file, line, msg);
	else if (file)
		n = asprintf(&full, "%s: %s", file, msg);
	else
		n = asprintf(&full, "%s", msg);
	if (n < 0)
		return;
	if (XL_GROW(e->msgs, e->cap, e->n + 1, 8) < 0) {
		free(full);
		return;
	}
	e->msgs[e->n++] = full;
}

void xl_errors_add(struct xl_errors *e, const char *file, int line,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_vadd(e, file, line, fmt, ap);
	va_end(ap);
}

void xl_errors_free(struct xl_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = e->cap = 0;
}

/* ---- loader state and locations -------------------------------------- */

/*
 * File names are shared strings: services taken over from the previous
 * snapshot keep pointing at the name it read them under (xl_config_reload),
 * so each snapshot holds a count on the names it lists.
 */
const char *cfg_files_append(struct loader *ld, char *name)
{
	struct xl_config *c = ld->c;

	if (!name)
		return NULL;
	if (XL_GROW(c->files, ld->cap_files, c->nfiles + 1, 8) < 0) {
		cfg_shared_drop(name);
		return NULL;
	}
	c->files[c->nfiles++] = name;
	return name;
}

const char *cfg_files_add(struct loader *ld, const char *path)
{
	return cfg_files_append(ld, cfg_shared_new(path));
}

/* libconfig names an @include'd file as written, and finds it relative to
 * the include directory we gave it: the main file's. */
const char *cfg_include_path(struct loader *ld, const char *raw, char *buf,
			     size_t len)
{
	int n;

	if (raw[0] == '/' || !ld->main_dir || !strcmp(ld->main_dir, "."))
		return raw;
	n = snprintf(buf, len, "%s/%s", ld->main_dir, raw);
	return n > 0 && (size_t)n < len ? buf : raw;
}

/*
 * The file a setting came from, as an entry of c->files.  Text we hand to
 * libconfig has no name (see file_read), so NULL means the file being read;
 * a name means libconfig's own @include, which we record as read too.
 */
const char *cfg_setting_file(struct loader *ld, const config_setting_t *s)
{
	const char *raw = config_setting_source_file(s);
	const char *found = NULL, *path;
	char buf[4096];

	if (!raw)
		return ld->file;
	if (raw == ld->seen_raw)
		return ld->seen;
	path = cfg_include_path(ld, raw, buf, sizeof(buf));
	for (size_t i = 0; i < ld->c->nfiles && !found; i++)
		if (!strcmp(ld->c->files[i], path))
			found = ld->c->files[i];
	if (!found)
		found = cfg_files_add(ld, path);
	if (!found) {
		cfg_oom(ld);
		return ld->file;
	}
	ld->seen_raw = raw;
	ld->seen = found;
	return found;
}

static void ld_verr(struct loader *ld, const char *file, int line,
		    const char *fmt, va_list ap)
{
	ld->nerr++;
	errors_vadd(ld->errs, file, line, fmt, ap);
}

void cfg_err_at(struct loader *ld, const char *file, int line, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_verr(ld, file, line, fmt, ap);
	va_end(ap);
}

void cfg_err(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = cfg_setting_file(ld, s);
	va_list ap;

	va_start(ap, fmt);
	ld_verr(ld, file, config_setting_source_line(s), fmt, ap);
	va_end(ap);
}

void cfg_oom(struct loader *ld)
{
	if (!ld->oom)
		cfg_err_at(ld, ld->file, 0, "out of memory");
	ld->oom = true;
}

int cfg_line_of(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* ---- the snapshot ---------------------------------------------------- */

static int config_defaults(struct xl_config *c)
{
	c->log_level = XL_LOG_INFO;
	c->on_stop = XL_ON_STOP_KEEP;
	c->owns_all = false;
	c->resync_interval = 30;
	c->log_down_interval = 300;
	c->log_progress_interval = 5;
	c->max_services = XL_MAX_SERVICES_DEFAULT;
	c->drain_timeout = 60;
	if (!(c->control_socket = strdup(XL_CONTROL_SOCKET_DEFAULT)))
		return -1;
	return cfg_check_defaults(&c->check);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Bisection of the services in `order` (by_id or by_name), which cmp
 * sorts as it compares key with a service. */
static const struct xl_vs_config *
bisect(const struct xl_config *c, const size_t *order,
       int (*cmp)(const void *key, const struct xl_vs_config *vs),
       const void *key)
{
	size_t lo = 0, hi = c && order ? c->nvs : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xl_vs_config *vs = &c->vs[order[mid]];
		int r = cmp(key, vs);

		if (!r)
			return vs;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int id_cmp(const void *key, const struct xl_vs_config *vs)
{
	return xl_service_cmp(key, &vs->svc);
}

static int name_cmp(const void *key, const struct xl_vs_config *vs)
{
	return strcmp(key, vs->name);
}

const struct xl_vs_config *xl_config_find(const struct xl_config *c,
					  const struct xl_service *key)
{
	return bisect(c, c->by_id, id_cmp, key);
}

const struct xl_vs_config *xl_config_find_name(const struct xl_config *c,
					       const char *name)
{
	return bisect(c, c ? c->by_name : NULL, name_cmp, name);
}

/* c off its prev's list of followers, and its prev cleared. */
static void unfollow_prev(struct xl_config *c)
{
	struct xl_config **pp;

	if (!c->prev)
		return;
	pp = &((struct xl_config *)c->prev)->followers;
	while (*pp != c)
		pp = &(*pp)->next_follower;
	*pp = c->next_follower;
	c->next_follower = NULL;
	c->prev = NULL;
}

/*
 * c->prev = prev, with c put on prev's list of followers so that freeing
 * prev clears it: a pointer to a freed snapshot is never left to compare
 * with, and a later snapshot allocated at the same address is never taken
 * for it.  The list is bookkeeping beside a snapshot's content, which
 * stays as it was loaded: that is why prev may be written through here.
 */
void xl_config_follow(struct xl_config *c, const struct xl_config *prev)
{
	struct xl_config *p = (struct xl_config *)prev;

	unfollow_prev(c);
	if (!p)
		return;
	c->prev = prev;
	c->next_follower = p->followers;
	p->followers = c;
}

/* Off its prev's list, and every follower's prev cleared. */
static void unfollow(struct xl_config *c)
{
	unfollow_prev(c);
	while (c->followers) {
		struct xl_config *f = c->followers;

		c->followers = f->next_follower;
		f->prev = NULL;
		f->next_follower = NULL;
	}
}

struct xl_config *xl_config_reload(const char *path,
				   const struct xl_config *prev,
				   struct xl_errors *errs)
{
	struct loader ld = {.errs = errs, .prev = prev, .trusted = true};
	struct xl_config *c = calloc(1, sizeof(*c));

	ld.c = c;
	if (!c || config_defaults(c) || !(ld.main_dir = dir_of(path))) {
		xl_errors_add(errs, path, 0, "out of memory");
		goto fail;
	}
	/* a runaway main file is stopped here, before the kernel sees any of
	 * it: the configuration in force stays (include_dir files that would
	 * go over are refused alone: include_cap) */
	if (cfg_file_load(&ld, path, NULL, NULL) == 0 &&
	    c->nvs > c->max_services && !ld.oom)
		cfg_err_at(&ld, c->vs[c->max_services].file,
			   c->vs[c->max_services].line,
			   "virtual service %zu: more than max_services = %zu "
			   "(%zu in all); raise global max_services if that "
			   "many are meant",
			   c->max_services + 1, c->max_services, c->nvs);
	ld.main_nvs = c->nvs;
	if (!ld.nerr) {
		/* what included services inherit: the global check,
		 * drain_timeout and announce (its type's origin only names
		 * lines) */
		ld.prev_inherit_same =
		    prev && xl_check_equal(&prev->check, &c->check) &&
		    prev->drain_timeout == c->drain_timeout &&
		    prev->announce == c->announce && prev->snat == c->snat &&
		    prev->snat_af == c->snat_af &&
		    !memcmp(&prev->snat_addr, &c->snat_addr,
			    sizeof(c->snat_addr));
		cfg_include_dir_load(&ld);
	}
	cfg_vs_dupes(&ld);
	free(ld.drop);
	if (ld.nerr || ld.oom)
		goto fail;
	if (prev) {
		cfg_link_prev(c, prev);
		xl_config_follow(c, prev);
	}
	free(ld.main_dir);
	return c;
fail:
	free(ld.main_dir);
	xl_config_free(c);
	return NULL;
}

struct xl_config *xl_config_load(const char *path, struct xl_errors *errs)
{
	return xl_config_reload(path, NULL, errs);
}

void cfg_vs_free(struct xl_vs_config *vs)
{
	if (vs->share && --vs->share->holders)
		return; /* another snapshot still holds it */
	free(vs->share);
	if (vs->reals)
		for (size_t i = 0; i < vs->svc.ndests; i++)
			if (vs->reals[i].check &&
			    vs->reals[i].check != vs->reals_check) {
				cfg_check_free(vs->reals[i].check);
				free(vs->reals[i].check);
			}
	if (vs->reals_check)
		cfg_check_free(vs->reals_check);
	free(vs->reals);
	free(vs->name);
	free(vs->nft.sources);
	cfg_check_free(&vs->check);
	xl_service_free(&vs->svc);
}

void xl_config_free(struct xl_config *c)
{
	if (!c)
		return;
	unfollow(c);
	xl_config_drop_parsed(c);
	for (size_t i = 0; i < c->nvs; i++)
		cfg_vs_free(&c->vs[i]);
	free(c->vs);
	free(c->by_id);
	free(c->by_name);
	cfg_check_free(&c->check);
	free(c->include_dir);
	free(c->vip_interface);
	free(c->control_socket);
	free(c->control_group);
	free(c->metrics_listen);
	free(c->state_dir);
	for (size_t i = 0; i < c->nfiles; i++)
		cfg_shared_drop(c->files[i]);
	free(c->files);
	free(c->stamps);
	xl_errors_free(&c->refused);
	free(c);
}

int xl_config_table(const struct xl_config *c, struct xl_table *out)
{
	out->nsvcs = 0;
	out->svcs = calloc(c->nvs ? c->nvs : 1, sizeof(*out->svcs));
	if (!out->svcs)
		return -ENOMEM;
	for (size_t i = 0; i < c->nvs; i++) {
		if (xl_service_copy(&out->svcs[i], &c->vs[i].svc))
			goto fail;
		out->nsvcs++;
	}
	xl_table_sort(out);
	return 0;
fail:
	xl_table_free(out);
	return -ENOMEM;
}
