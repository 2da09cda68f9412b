/*
 * test_config_text.c - cmocka tests of config_text.c, the text workarounds
 * for libconfig 1.5: integer literals beyond 32 bits widened with L, and
 * string literals bounded and closed, each without a loader or a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config_text.h"

static char *widen(const char *in)
{
	char *out = cfg_text_widen(in, strlen(in));

	assert_non_null(out);
	return out;
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_wide_literals_widened(void **state)
{
	const char *in = "fwmark = 4294967295;\n"
			 "port = 0x1FFFFFFFF;\n"
			 "neg = -2147483649;\n";
	char *out = widen(in);

	(void)state;
	assert_true(cfg_text_may_be_wide(in, strlen(in)));
	assert_string_equal(out, "fwmark = 4294967295L;\n"
				 "port = 0x1FFFFFFFFL;\n"
				 "neg = -2147483649L;\n");
	free(out);
}

static void test_narrow_literals_kept(void **state)
{
	const char *in = "a = 2147483647; b = -2147483648; c = 0x7fffffff;\n"
			 "d = 4294967295L; e = 12345678901.5; f = 1e12;\n"
			 "name = \"flag-12345678901\";\n";
	char *out = widen(in);

	(void)state;
	assert_string_equal(out, in);
	assert_false(cfg_text_may_be_wide("x = 1234567; y = 89;", 20));
	free(out);
}

static void test_lines_unchanged(void **state)
{
	const char *in = "# 99999999999 in a comment\n"
			 "/* 99999999999\n   spans lines */ a = 99999999999;\n"
			 "// 99999999999\n"
			 "b = \"99999999999\";\n"
			 "c = 99999999999;\n";
	char *out = widen(in);

	(void)state;
	assert_int_equal(lines(out), lines(in));
	assert_string_equal(out, "# 99999999999 in a comment\n"
				 "/* 99999999999\n   spans lines */ a = "
				 "99999999999L;\n"
				 "// 99999999999\n"
				 "b = \"99999999999\";\n"
				 "c = 99999999999L;\n");
	free(out);
}

static void test_strings_in_comments_ignored(void **state)
{
	int line = 0;

	(void)state;
	assert_int_equal(cfg_text_strings("# a \" never closed\n"
					  "// nor \" here\n"
					  "/* nor \" \n here */\n"
					  "a = \"closed \\\" too\";\n",
					  &line),
			 CFG_TEXT_OK);
}

static void test_unclosed_string_at_its_line(void **state)
{
	int line = 0;

	(void)state;
	assert_int_equal(cfg_text_strings("a = 1;\n"
					  "b = \"x\";\n"
					  "c = \"never closed;\n"
					  "d = 2;\n",
					  &line),
			 CFG_TEXT_STRING_OPEN);
	assert_int_equal(line, 3);
}

/* a = "<n bytes>"; on line 2 */
static enum cfg_text_fault string_of(size_t n, int *line)
{
	char *text = malloc(n + 16);
	enum cfg_text_fault r;

	assert_non_null(text);
	memcpy(text, "x = 1;\na = \"", 12);
	memset(text + 12, 'y', n);
	strcpy(text + 12 + n, "\";\n");
	r = cfg_text_strings(text, line);
	free(text);
	return r;
}

static void test_string_bound(void **state)
{
	int line = 0;

	(void)state;
	assert_int_equal(string_of(CFG_STRING_MAX, &line), CFG_TEXT_OK);
	assert_int_equal(CFG_STRING_MAX, 4096);
	assert_int_equal(string_of(CFG_STRING_MAX + 1, &line),
			 CFG_TEXT_STRING_LONG);
	assert_int_equal(line, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wide_literals_widened),
	    cmocka_unit_test(test_narrow_literals_kept),
	    cmocka_unit_test(test_lines_unchanged),
	    cmocka_unit_test(test_strings_in_comments_ignored),
	    cmocka_unit_test(test_unclosed_string_at_its_line),
	    cmocka_unit_test(test_string_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
