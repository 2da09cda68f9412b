/*
 * test_util.c - the growable arrays of util.h, and sysctl.h's reads and
 * writes (against a directory standing in for /proc/sys).
 */
#include "sysctl.h"
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void test_grow_from_empty(void **state)
{
	int *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(XL_GROW(v, cap, 1, 4), 0);
	assert_non_null(v);
	assert_int_equal(cap, 4);
	/* enough room already: nothing moves */
	int *before = v;
	assert_int_equal(XL_GROW(v, cap, 4, 4), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 4);
	/* doubles until it holds what is asked */
	assert_int_equal(XL_GROW(v, cap, 33, 4), 0);
	assert_int_equal(cap, 64);
	for (int i = 0; i < 33; i++)
		v[i] = i; /* every element is writable (ASan checks) */
	free(v);
}

static void test_grow_overflow_refused(void **state)
{
	char *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(xl_grow(&v, &cap, SIZE_MAX, 2, 8), -ENOMEM);
	assert_null(v);
	assert_int_equal(cap, 0);
	assert_int_equal(XL_GROW(v, cap, 10, 0), 0);
	assert_int_equal(cap, 16); /* first 0 counts as 1, then doubles */
	assert_int_equal(xl_grow(&v, &cap, SIZE_MAX / 2 + 2, 1, 0), -ENOMEM);
	assert_int_equal(cap, 16);
	free(v);
}

/* A buffer with a limit: doubling stops at the limit, and a need past it
 * is refused with the buffer as it was. */
static void test_grow_max(void **state)
{
	char *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(XL_GROW_MAX(v, cap, 10, 4096, 100000), 0);
	assert_int_equal(cap, 4096);
	assert_int_equal(XL_GROW_MAX(v, cap, 70000, 4096, 100000), 0);
	assert_int_equal(cap, 100000); /* 131072 cut down to the limit */
	v[99999] = 1;		       /* every byte up to it is there (ASan) */
	assert_int_equal(XL_GROW_MAX(v, cap, 100001, 4096, 100000), -ENOMEM);
	assert_int_equal(cap, 100000);
	free(v);
}

static void test_sysctl_read_write(void **state)
{
	char root[] = "/tmp/xl-sysctl-XXXXXX";
	char path[128], buf[16];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/net", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/net/conntrack", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0\n", f);
	fclose(f);
	xl_sysctl_set_root(root);

	assert_int_equal(xl_sysctl_read("net/conntrack", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0");
	assert_int_equal(xl_sysctl_write("net/conntrack", "1"), 0);
	assert_int_equal(xl_sysctl_read("net/conntrack", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
	/* a setting whose module is not loaded, and names that leave the root
	 */
	assert_int_equal(xl_sysctl_read("net/absent", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(xl_sysctl_write("net/absent", "1"), -ENOENT);
	assert_int_equal(xl_sysctl_write("../etc/passwd", "1"), -EINVAL);
	assert_int_equal(xl_sysctl_read("/etc/passwd", buf, sizeof(buf)),
			 -EINVAL);
	/* a value longer than the buffer is refused, not cut */
	assert_int_equal(xl_sysctl_write("net/conntrack", "123456789012345678"),
			 0);
	assert_int_equal(xl_sysctl_read("net/conntrack", buf, sizeof(buf)),
			 -ENAMETOOLONG);
	/* a shorter value replaces a longer one whole, as /proc does */
	assert_int_equal(xl_sysctl_write("net/conntrack", "2"), 0);
	assert_int_equal(xl_sysctl_read("net/conntrack", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2");

	xl_sysctl_set_root(NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/net", root);
	rmdir(path);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_from_empty),
	    cmocka_unit_test(test_grow_overflow_refused),
	    cmocka_unit_test(test_grow_max),
	    cmocka_unit_test(test_sysctl_read_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
