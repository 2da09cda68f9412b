/*
 * test_util.c - the growable arrays of util.h.
 */
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow_from_empty),
	    cmocka_unit_test(test_grow_overflow_refused),
	    cmocka_unit_test(test_grow_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
