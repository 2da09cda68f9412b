/*
 * conftext.h - configurations built from text in the unit tests.
 *
 * The loader reads files, so a test's configuration text is written to a
 * file and loaded as extlbd would load it: one way for every test, so that
 * a change in how configurations are read is met in one place.  Included
 * after cmocka.h.
 */
#ifndef EXTLB_TEST_CONFTEXT_H
#define EXTLB_TEST_CONFTEXT_H

#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* text as the whole of the file path; path returned. */
static inline const char *ct_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

static inline void ct_print_errors(const struct xl_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		print_message("  error: %s\n", errs->msgs[i]);
}

/* text loaded from a file of its own, as a reload after prev (or a first
 * load when prev is NULL); it must load. */
static inline struct xl_config *ct_reload(const char *text,
					  const struct xl_config *prev)
{
	char path[PATH_MAX];
	struct xl_errors errs = {0};
	struct xl_config *c;
	int fd;

	snprintf(path, sizeof(path), "%s/xl-conf-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	c = xl_config_reload(ct_write(path, text), prev, &errs);
	unlink(path);
	ct_print_errors(&errs);
	xl_errors_free(&errs);
	assert_non_null(c);
	return c;
}

static inline struct xl_config *ct_load(const char *text)
{
	return ct_reload(text, NULL);
}

#endif
