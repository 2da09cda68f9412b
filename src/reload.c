/*
 * reload.c - reading the configuration: at start-up, and every reload.
 *
 * A reload reads the file again as a reload of the snapshot in force
 * (include_dir files that did not change are not parsed again, services
 * that did not change are taken over), and puts the new snapshot in force
 * only when the whole of it is valid: the health engine carries the state
 * of unchanged servers over, removed servers start draining, the desired
 * table moves the entries of unchanged services and rebuilds the others,
 * and the kernel is brought to it for the services that changed alone.
 * Anything that cannot be done that narrowly falls back to a full run.
 * While a configuration is read and applied the heap grows in large steps
 * (xl_daemon_heap_steps), at start-up as at reload.
 */
#include "autoconf.h"

#include "extlbd.h"
#include "log.h"

#ifdef HAVE_MALLOPT
#include <malloc.h>
#endif
#include <stdio.h>
#include <sys/stat.h>

/*
 * Reading a large configuration and building the table from it allocate a
 * few hundred thousand small blocks: libconfig's parse tree, then our model.
 * With glibc's default the heap grows 128 KiB at a time, which is thousands
 * of brk() calls and a heap too thin for transparent huge pages, so every
 * 4 KiB costs a page fault.  In the test VM that was a quarter of the time
 * from exec to the full table at 10,000 x 10.  While a configuration is read
 * and applied, the heap grows in steps of XL_HEAP_STEP (address space only:
 * pages still come when touched); afterwards glibc's default step comes back
 * and what the parse tree held is returned to the system.
 */
#define XL_HEAP_STEP (64 << 20)
#define XL_HEAP_STEP_DEFAULT (128 << 10) /* glibc's M_TOP_PAD */

void xl_daemon_heap_steps(bool large)
{
#if defined(HAVE_MALLOPT) && defined(M_TOP_PAD)
	mallopt(M_TOP_PAD, large ? XL_HEAP_STEP : XL_HEAP_STEP_DEFAULT);
#endif
#ifdef HAVE_MALLOC_TRIM
	if (!large)
		malloc_trim(0);
#endif
	(void)large;
}

struct xl_config *xl_daemon_load(const char *path)
{
	struct xl_errors errs = {0};
	struct xl_config *cfg = xl_config_load(path, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (!cfg)
		fprintf(stderr, "extlbd: %s: %zu error%s\n", path, errs.n,
			errs.n == 1 ? "" : "s");
	xl_errors_free(&errs);
	return cfg;
}

/*
 * Refused include_dir files do not make the file invalid: the daemon would
 * apply the rest, and a reload checked first with -t must not be held up
 * by a tenant's file.
 */
void xl_daemon_print_check(FILE *out, FILE *err, const char *path,
			   const struct xl_config *c)
{
	for (size_t i = 0; i < c->refused.n; i++)
		fprintf(err, "%s\n", c->refused.msgs[i]);
	fprintf(out, "%s: configuration is valid (%zu virtual services)\n",
		path, c->nvs);
	if (c->refused.n)
		fprintf(out,
			"%s: %zu include_dir file%s and %zu virtual service%s "
			"refused (see above); the rest applies\n",
			path, c->nrefused_files,
			c->nrefused_files == 1 ? "" : "s", c->nrefused_vs,
			c->nrefused_vs == 1 ? "" : "s");
	xl_kset_print(out, &c->kset);
}

static void log_errors(const struct xl_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		xl_err("%s", e->msgs[i]);
}

/* What include_dir brought and was refused: said at every load, as it
 * stays refused until someone fixes it. */
void xl_daemon_log_refused(const struct xl_config *c)
{
	for (size_t i = 0; i < c->refused.n; i++)
		xl_warn("%s", c->refused.msgs[i]);
	if (c->refused.n)
		xl_warn("include_dir: %zu file%s and %zu virtual service%s "
			"refused; the rest of the configuration applies",
			c->nrefused_files, c->nrefused_files == 1 ? "" : "s",
			c->nrefused_vs, c->nrefused_vs == 1 ? "" : "s");
}

/*
 * An empty main file at reload is far more likely a write in progress (or
 * an editor's truncation) than a wish to delete every service: refuse it.
 */
static bool empty_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

/* The file read again as a reload of d->cfg; NULL when it stays. */
static struct xl_config *read_again(struct xl_daemon *d)
{
	struct xl_errors errs = {0};
	struct xl_config *cfg;

	if (empty_file(d->conf_path)) {
		if (d->report)
			xl_errors_add(&d->report->errors, d->conf_path, 0,
				      "the file is empty; the running "
				      "configuration stays in force");
		xl_err("reload: %s is empty; the running configuration stays "
		       "in force (to remove every service, say so with an "
		       "empty virtual_services list)",
		       d->conf_path);
		return NULL;
	}
	cfg = xl_config_reload(d->conf_path, d->cfg, &errs);
	if (!cfg) {
		log_errors(&errs);
		xl_err("reload: %s is invalid (%zu errors); the running "
		       "configuration stays in force",
		       d->conf_path, errs.n);
		if (d->report) { /* the control client's, as logged */
			struct xl_errors t = d->report->errors;

			d->report->errors = errs;
			errs = t;
		}
		xl_errors_free(&errs);
		return NULL;
	}
	xl_daemon_log_refused(cfg);
	for (size_t i = 0; d->report && i < cfg->refused.n; i++)
		xl_errors_add(&d->report->refused, NULL, 0, "%s",
			      cfg->refused.msgs[i]);
	if (cfg->nstamps)
		xl_info("include_dir: %zu of %zu files unchanged, not parsed "
			"again",
			cfg->nreused, cfg->nstamps);
	xl_info("configuration: %zu of %zu virtual services unchanged",
		cfg->nsame, cfg->nvs);
	return cfg;
}

void xl_daemon_reload(struct xl_daemon *d)
{
	struct xl_config *cfg, *old;
	struct xl_keys k = {0};

	if (!(cfg = read_again(d)))
		return;
	/* health state carries over for servers whose identity and check
	 * are unchanged; the old snapshot is freed only after that */
	if (xl_health_configure(d->health, cfg) < 0) {
		xl_err("reload: out of memory; the running configuration "
		       "stays in force");
		if (d->report)
			xl_errors_add(&d->report->errors, d->conf_path, 0,
				      "out of memory; the running "
				      "configuration stays in force");
		xl_health_configure(d->health, d->cfg);
		xl_config_free(cfg);
		return;
	}
	/* the services of the drains before the reload: a drain it ends
	 * must leave their entries too */
	if (xl_desired_drain_keys(&d->want, &k) < 0 ||
	    xl_drain_update(&d->drain, d->cfg, cfg, ev_now(d->loop)) < 0)
		xl_err("reload: out of memory: removed servers are deleted "
		       "without draining");
	xl_log_set_level(cfg->log_level);
	old = d->cfg;
	d->cfg = cfg;
	if (d->report)
		d->report->applied = true;
	d->cfg_prev = old;
	xl_daemon_kset_apply(d, "reload");
	xl_nft_reload(d->nft, cfg); /* only its difference, one transaction */
	if (xl_desired_reload(&d->want, cfg, &k) < 0)
		xl_daemon_sync_full(d, "reload", false);
	else
		xl_daemon_sync_keys(d, "reload", false, &k, 0);
	xl_keys_free(&k);
	d->cfg_prev = NULL;
	/* nothing points into it any more; freed after the kernel has the
	 * change, which so comes sooner (so is the new files' parse) */
	xl_config_free(old);
	xl_config_drop_parsed(d->cfg);
}
