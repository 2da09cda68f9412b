/*
 * config_files.c - the main file, include_dir, and what a file may hold.
 *
 * libconfig does the parsing, of text we read ourselves and pass through
 * config_text.c first.  include_dir files are read as a tenant's input:
 * only one that only root can write may run programs or @include, and one
 * that fails is refused alone (its errors go to c->refused), keeping its
 * last accepted version, so that the rest of the configuration applies.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif

#include "config_impl.h"
#include "incfile.h"
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ----------------------------------------------------------- */

static void global_include_dir(struct loader *ld, const config_setting_t *s)
{
	const char *dir = NULL, *main = ld->c->files[0], *slash;
	int n;

	if (cfg_get_str(ld, s, &dir) != 1)
		return;
	if (!*dir) {
		cfg_err(ld, s, "include_dir: must not be empty");
		return;
	}
	ld->incdir_file = cfg_setting_file(ld, s);
	ld->incdir_line = cfg_line_of(s);
	slash = strrchr(main, '/');
	/* relative to the main file, not to wherever extlbd was started */
	if (dir[0] == '/' || !slash)
		n = asprintf(&ld->c->include_dir, "%s", dir);
	else
		n = asprintf(&ld->c->include_dir, "%.*s/%s",
			     (int)(slash - main), main, dir);
	if (n < 0) {
		ld->c->include_dir = NULL;
		cfg_oom(ld);
	}
}

/*
 * The name as the kernel takes it (dev_valid_name): 1 to IFNAMSIZ - 1
 * bytes, no '/', ':' or white space, not "." or "..".  Refused here, the
 * mistake is named at its line instead of at the first rtnetlink request.
 */
static void global_vip_interface(struct loader *ld, const config_setting_t *s)
{
	const char *v = NULL;
	size_t n;

	if (cfg_get_str(ld, s, &v) != 1)
		return;
	n = strlen(v);
	if (!n || n >= IFNAMSIZ || !strcmp(v, ".") || !strcmp(v, "..") ||
	    strpbrk(v, "/: \t\n\v\f\r")) {
		cfg_err(ld, s,
			"vip_interface: \"%s\" is not an interface name (1-%d "
			"bytes, no '/', ':' or white space, not \".\" or "
			"\"..\")",
			v, IFNAMSIZ - 1);
		return;
	}
	if (!(ld->c->vip_interface = strdup(v)))
		cfg_oom(ld);
}

static void global_metrics_listen(struct loader *ld, const config_setting_t *s)
{
	struct xl_config *c = ld->c;
	const char *v = NULL, *why;

	if (cfg_get_str(ld, s, &v) != 1)
		return;
	if (!xl_rule_listen(v, &c->metrics_af, &c->metrics_addr,
			    &c->metrics_port, &why)) {
		cfg_err(ld, s, "metrics_listen: \"%s\" %s", v, why);
		return;
	}
	if (!(c->metrics_listen = strdup(v)))
		cfg_oom(ld);
}

/* An absolute path: a relative one would depend on where extlbd was
 * started, and the state must be found again after a restart. */
static void global_state_dir(struct loader *ld, const config_setting_t *s)
{
	const char *v = XL_STATE_DIR_DEFAULT;

	if (s && cfg_get_str(ld, s, &v) != 1)
		return;
	if (v[0] != '/') {
		cfg_err(ld, s, "state_dir: \"%s\" is not an absolute path", v);
		return;
	}
	if (!(ld->c->state_dir = strdup(v)))
		cfg_oom(ld);
}

static void global_parse(struct loader *ld, const config_setting_t *grp)
{
	struct xl_config *c = ld->c;
	struct keys g;
	long long n;
	int v;

	cfg_keys_read(ld, grp, "in global", cfg_global_keys, G_NKEYS, &g);
	if (cfg_get_enum(ld, g.s[G_LOG_LEVEL], cfg_log_levels, &v) == 1)
		c->log_level = v;
	if (cfg_get_enum(ld, g.s[G_ON_STOP], cfg_on_stops, &v) == 1)
		c->on_stop = v;
	cfg_get_bool(ld, g.s[G_OWNS_ALL], &c->owns_all);
	cfg_get_secs(ld, g.s[G_RESYNC_INTERVAL], true, 0, SECS_MAX,
		     &c->resync_interval);
	cfg_get_secs(ld, g.s[G_DRAIN_TIMEOUT], false, 0, LONG_SECS_MAX,
		     &c->drain_timeout);
	if (cfg_get_int(ld, g.s[G_MAX_SERVICES], 1, XL_MAX_SERVICES_LIMIT,
			&n) == 1)
		c->max_services = (size_t)n;
	global_include_dir(ld, g.s[G_INCLUDE_DIR]);
	cfg_get_bool(ld, g.s[G_WATCH_INCLUDE_DIR], &c->watch_include_dir);
	global_vip_interface(ld, g.s[G_VIP_INTERFACE]);
	global_metrics_listen(ld, g.s[G_METRICS_LISTEN]);
	if (cfg_get_enum(ld, g.s[G_METRICS_SERVERS], cfg_metrics_servers, &v) ==
	    1)
		c->metrics_servers = v;
	cfg_get_secs(ld, g.s[G_LOG_DOWN_INTERVAL], false, 0, SECS_MAX,
		     &c->log_down_interval);
	cfg_get_secs(ld, g.s[G_LOG_PROGRESS_INTERVAL], false, 0, SECS_MAX,
		     &c->log_progress_interval);
	global_state_dir(ld, g.s[G_STATE_DIR]);
	if (cfg_get_enum(ld, g.s[G_ANNOUNCE], cfg_announces, &v) == 1)
		c->announce = v;
	cfg_global_nft(ld, &g);
	cfg_global_ctl(ld, &g);
	/* a watch with nothing to watch is a mistake worth naming */
	if (c->watch_include_dir && !g.s[G_INCLUDE_DIR])
		cfg_err(ld, g.s[G_WATCH_INCLUDE_DIR],
			"watch_include_dir = true needs include_dir (the "
			"directory to watch)");
	cfg_kset_parse(ld, g.s[G_IPVS_TIMEOUTS], g.s[G_IPVS_SYSCTLS]);
	if (g.s[G_CHECK])
		cfg_check_apply(ld, g.s[G_CHECK], &c->check, &ld->global_org,
				&ld->global_eff);
}

static void root_parse(struct loader *ld, const config_setting_t *root,
		       bool included)
{
	config_setting_t *g = NULL, *list = NULL;
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, i);
		const char *name = config_setting_name(s);

		if (!strcmp(name, "virtual_services"))
			list = s;
		else if (!strcmp(name, "global") && !included)
			g = s;
		else if (!strcmp(name, "global"))
			cfg_err(
			    ld, s,
			    "global is only allowed in the main file %s: an "
			    "included file holds only virtual_services",
			    ld->c->files[0]);
		else
			cfg_err(ld, s,
				"unknown key \"%s\" at top level (known: %s)",
				name,
				included ? "virtual_services"
					 : "global, virtual_services");
	}
	/* global first: the services inherit from it */
	if (cfg_typed(ld, g, K_GROUP) == 1)
		global_parse(ld, g);
	if (cfg_typed(ld, list, K_LIST) == 1)
		cfg_vs_list(ld, list);
}

/* raw (len bytes, taken) as libconfig may read it; NULL when out of
 * memory. */
static char *text_of(struct loader *ld, char *raw, size_t len)
{
	char *text;

	if (!cfg_text_may_be_wide(raw, len))
		return raw;
	text = cfg_text_widen(raw, len);
	free(raw);
	if (!text)
		cfg_oom(ld);
	return text;
}

/* The main file: root's, so read as it is, symlink or not, of any size. */
static char *file_read(struct loader *ld, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC), rc, err;
	char *raw;
	size_t len;

	if (fd < 0) {
		cfg_err_at(ld, path, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	rc = xl_fd_slurp(fd, SIZE_MAX / 4, &raw, &len);
	err = errno;
	close(fd);
	if (rc == -2) {
		cfg_oom(ld);
		return NULL;
	}
	if (rc < 0) {
		cfg_err_at(ld, path, 0, "cannot read: %s", strerror(err));
		return NULL;
	}
	return text_of(ld, raw, len);
}

/* A parse tree waiting for xl_config_drop_parsed() */
struct xl_parsed {
	struct xl_parsed *next;
	config_t cf;
};

void xl_config_drop_parsed(struct xl_config *c)
{
	struct xl_parsed *p;

	while (c && (p = c->parsed)) {
		c->parsed = p->next;
		config_destroy(&p->cf);
		free(p);
	}
}
/* A string literal libconfig must not see (config_text.h), reported at its
 * line.  0, or -1 with the error noted. */
static int strings_check(struct loader *ld, const char *path, const char *text)
{
	int line = 0;

	switch (cfg_text_strings(text, &line)) {
	case CFG_TEXT_OK:
		return 0;
	case CFG_TEXT_STRING_LONG:
		cfg_err_at(ld, path, line,
			   "a string of more than %d bytes starts here",
			   CFG_STRING_MAX);
		break;
	case CFG_TEXT_STRING_OPEN:
		cfg_err_at(ld, path, line,
			   "a string starts here and is never closed with \"");
		break;
	}
	return -1;
}

/* Does a line of text start with libconfig's @include directive? */
static bool has_include(const char *text)
{
	for (const char *p = strstr(text, "@include"); p;
	     p = strstr(p + 1, "@include")) {
		const char *b = p;

		while (b > text && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b == text || b[-1] == '\n' || b[-1] == '\r')
			return true;
	}
	return false;
}

/*
 * Parses one file: text (taken), or path read when text is NULL.  0, or
 * -1 (errors noted).  *alone, when given, tells whether the file's text
 * stands alone: no @include.
 */
int cfg_file_load(struct loader *ld, const char *path, char *text, bool *alone)
{
	struct xl_parsed *p = calloc(1, sizeof(*p));
	char buf[4096];
	const char *ef;
	bool standalone;
	int ret = -1;

	if (!p) {
		free(text);
		cfg_oom(ld);
		return -1;
	}
	config_init(&p->cf);
	ld->file = cfg_files_add(ld, path);
	ld->seen_raw = NULL;
	if (!ld->file) {
		cfg_oom(ld);
		goto out;
	}
	if (!text)
		text = file_read(ld, path);
	if (!text)
		goto out;
	standalone = !has_include(text);
	if (alone)
		*alone = standalone;
	/* @include reads any path, FIFOs and devices too: only for files
	 * that only root can write */
	if (!ld->trusted && !standalone) {
		cfg_err_at(ld, path, 0,
			   "@include: accepted only in files that only root "
			   "can write, and this file is %s",
			   ld->untrusted_why);
		goto out;
	}
	if (strings_check(ld, path, text))
		goto out;
	if (ld->main_dir)
		config_set_include_dir(&p->cf, ld->main_dir);
	if (!config_read_string(&p->cf, text)) {
		ef = config_error_file(&p->cf);
		ef = ef ? cfg_include_path(ld, ef, buf, sizeof(buf)) : path;
		cfg_err_at(ld, ef, config_error_line(&p->cf), "%s",
			   config_error_text(&p->cf));
		goto out;
	}
	root_parse(ld, config_root_setting(&p->cf), ld->included);
	ret = 0;
out:
	free(text);
	if (ret == 0) { /* freed later: xl_config_drop_parsed() */
		p->next = ld->c->parsed;
		ld->c->parsed = p;
	} else {
		config_destroy(&p->cf);
		free(p);
	}
	return ret;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names to read from dir, sorted; NULL with *n 0 when there are none. */
static char **include_names(struct loader *ld, DIR *d, size_t *n)
{
	char **names = NULL;
	struct dirent *de;
	size_t cap = 0;

	*n = 0;
	while ((errno = 0, de = readdir(d))) {
		if (!xl_incfile_wanted(de->d_name))
			continue;
		if (XL_GROW(names, cap, *n + 1, 16) < 0)
			goto fail;
		if (!(names[*n] = strdup(de->d_name)))
			goto fail;
		(*n)++;
	}
	if (errno)
		cfg_err_at(ld, ld->incdir_file, ld->incdir_line,
			   "include_dir: cannot list %s: %s",
			   ld->c->include_dir, strerror(errno));
	if (*n)
		qsort(names, *n, sizeof(*names), str_ptr_cmp);
	return names;
fail:
	cfg_oom(ld);
	return names;
}

/* ---- include_dir: trust and refusal, file by file ------------------- */

/* The line that closes a file's refusal, once its errors are listed. */
static void include_refused(struct loader *ld, const char *path, size_t nerr)
{
	size_t kept = cfg_include_keep(ld, path);

	ld->c->nrefused_files++;
	if (kept)
		xl_errors_add(
		    &ld->c->refused, path, 0,
		    "refused (%zu error%s): its last accepted version "
		    "stays in force (%zu virtual service%s) until it "
		    "is fixed; the rest of the configuration applies",
		    nerr, nerr == 1 ? "" : "s", kept, kept == 1 ? "" : "s");
	else
		xl_errors_add(&ld->c->refused, path, 0,
			      "refused (%zu error%s): none of its virtual "
			      "services is applied; the rest of the "
			      "configuration is",
			      nerr, nerr == 1 ? "" : "s");
}

/* An include_dir file that cannot be read at all. */
static void include_refuse(struct loader *ld, const char *path, const char *why)
{
	xl_errors_add(&ld->c->refused, path, 0, "%s", why);
	include_refused(ld, path, 1);
}

/* Reads path (open_path, as xl_incfile_stat found it) and parses it; its
 * trust comes from what was opened. */
static void include_read(struct loader *ld, const char *path,
			 const char *open_path, struct xl_file_stamp *t,
			 bool *alone)
{
	char why[256], *raw, *text;
	struct stat st;
	size_t len;
	int rc;

	rc = xl_incfile_read(open_path, XL_INCFILE_MAX_BYTES, &raw, &len, &st,
			     why, sizeof(why));
	if (rc == -2)
		cfg_oom(ld);
	if (rc < 0) {
		if (rc == -1)
			cfg_err_at(ld, path, 0, "%s", why);
		return;
	}
	cfg_stamp_of(&st, t);
	ld->trusted = xl_incfile_trusted(&st, ld->untrusted_why,
					 sizeof(ld->untrusted_why));
	text = text_of(ld, raw, len);
	if (text)
		cfg_file_load(ld, path, text, alone);
}

/* More services than max_services with this file's: it is refused, not
 * the configuration (a generator's runaway file must not stop the rest). */
static void include_cap(struct loader *ld, const char *path, size_t first)
{
	const struct xl_config *c = ld->c;

	if (c->nvs <= c->max_services)
		return;
	cfg_err_at(ld, path, 0,
		   "its %zu virtual services would make %zu in all, more "
		   "than max_services = %zu",
		   c->nvs - first, c->nvs, c->max_services);
}

/*
 * One include_dir file: reused from prev, or read.  Its errors are
 * collected in c->refused; a file with any is refused alone: its services
 * are dropped, the rest of the configuration stands, and it is read again
 * (so reported again) at each reload until it is fixed.
 */
static void include_file(struct loader *ld, const char *path,
			 const char *open_path, const struct stat *st)
{
	struct xl_file_stamp t = {0};
	struct xl_errors *errs = ld->errs;
	size_t nerr = ld->nerr, nfiles = ld->c->nfiles, first = ld->c->nvs;
	size_t nstamps = ld->c->nstamps;
	bool alone = false, reported = ld->global_org.reported;

	cfg_stamp_of(st, &t);
	ld->errs = &ld->c->refused;
	if (!cfg_include_reuse(ld, path, &t)) {
		include_read(ld, path, open_path, &t, &alone);
		if (nfiles < ld->c->nfiles) {
			t.vs_first = first;
			t.file = ld->c->files[nfiles];
			t.nvs = ld->c->nvs - first;
			/* a file that pulls in others is read each time; so
			 * is one changed just now: file times come from a
			 * clock that ticks every few ms, and a second write of
			 * the same size within one tick would leave the stamp
			 * as it was */
			t.reusable = alone && !cfg_stamp_recent(&t);
			cfg_stamp_add(ld, &t);
		}
	}
	include_cap(ld, path, first);
	ld->errs = errs;
	if (ld->oom) /* fails the load: say so where the failure is read */
		xl_errors_add(errs, path, 0, "out of memory");
	if (ld->nerr == nerr || ld->oom)
		return;
	ld->global_org.reported = reported;
	cfg_vs_truncate(ld, first);
	ld->c->nstamps = nstamps;
	include_refused(ld, path, ld->nerr - nerr);
	ld->nerr = nerr;
}

/* Others may write the directory: any of them could put a file there. */
static bool include_dir_open_to_all(struct loader *ld, const char *real)
{
	struct stat st;

	if (stat(real, &st) || !(st.st_mode & S_IWOTH))
		return false;
	xl_errors_add(&ld->c->refused, ld->incdir_file, ld->incdir_line,
		      "include_dir %s is writable by others (mode %04o): none "
		      "of its files is read (chmod o-w %s)",
		      ld->c->include_dir, (unsigned)(st.st_mode & 07777),
		      ld->c->include_dir);
	ld->c->nrefused_files++;
	return true;
}

void cfg_include_dir_load(struct loader *ld)
{
	const char *dir = ld->c->include_dir;
	char **names = NULL, *path, *real, open_path[PATH_MAX], why[256];
	struct stat st;
	size_t n = 0;
	DIR *d;

	if (!dir)
		return;
	d = opendir(dir);
	real = d ? realpath(dir, NULL) : NULL;
	if (!d || !real) {
		/* no directory, no extra services: a fresh install has none */
		if (errno != ENOENT)
			cfg_err_at(ld, ld->incdir_file, ld->incdir_line,
				   "include_dir: cannot open %s: %s", dir,
				   strerror(errno));
		if (d)
			closedir(d);
		return;
	}
	if (!include_dir_open_to_all(ld, real))
		names = include_names(ld, d, &n);
	closedir(d);
	ld->included = true;
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			cfg_oom(ld);
			break;
		}
		memset(&st, 0, sizeof(st));
		/* a directory called x.conf is not a file to read */
		if (!xl_incfile_stat(real, names[i], &st, open_path,
				     sizeof(open_path), why, sizeof(why)))
			include_file(ld, path, open_path, &st);
		else if (!S_ISDIR(st.st_mode))
			include_refuse(ld, path, why);
		free(path);
	}
	ld->included = false;
	ld->trusted = true;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(real);
}
