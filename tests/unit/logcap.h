/*
 * logcap.h - what xl_log writes (to stderr, in the unit tests) while a
 * test runs something: start, run it, end returns the text.  Included
 * after cmocka.h.
 */
#ifndef EXTLB_TEST_LOGCAP_H
#define EXTLB_TEST_LOGCAP_H

#include <stdio.h>
#include <unistd.h>

struct logcap {
	FILE *cap;
	int saved; /* stderr as it was */
};

static inline struct logcap logcap_start(void)
{
	struct logcap c = {tmpfile(), dup(2)};

	assert_non_null(c.cap);
	fflush(stderr);
	assert_int_equal(dup2(fileno(c.cap), 2), 2);
	return c;
}

/* stderr restored; what was written meanwhile (64 KiB at most), valid
 * until the next call. */
static inline char *logcap_end(struct logcap *c)
{
	static char buf[1 << 16];
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	rewind(c->cap);
	n = fread(buf, 1, sizeof(buf) - 1, c->cap);
	buf[n] = '\0';
	fclose(c->cap);
	return buf;
}

#endif
