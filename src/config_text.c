/*
 * config_text.c - a configuration file's text made safe for libconfig 1.5.
 *
 * libconfig 1.5 reads a decimal integer with atoi() and can lose a string
 * literal; both are worked around here, on the text alone, before libconfig
 * parses it (config_text.h).  No line break is added or removed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include "config_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Is the decimal or hex literal in[0..len) outside 32 bits? */
static bool literal_is_wide(const char *in, size_t len, bool hex)
{
	char buf[40];
	long long v;

	if (len >= sizeof(buf))
		return true;
	memcpy(buf, in, len);
	buf[len] = '\0';
	errno = 0;
	if (hex)
		return strtoull(buf, NULL, 16) > 0x7fffffffULL || errno;
	v = strtoll(buf, NULL, 10);
	return errno || v > 2147483647LL || v < -2147483648LL;
}

/* The end of the number that starts at in[i]; *wide when it is an integer
 * that needs the L suffix. */
static size_t number_end(const char *in, size_t len, size_t i, bool *wide)
{
	size_t j = i;
	bool flt = false;

	if (in[j] == '+' || in[j] == '-')
		j++;
	if (in[j] == '0' && j + 1 < len && (in[j + 1] | 0x20) == 'x') {
		j += 2;
		while (j < len && isxdigit((unsigned char)in[j]))
			j++;
		*wide = (j == len || in[j] != 'L') &&
			literal_is_wide(in + i, j - i, true);
		return j;
	}
	while (j < len && isdigit((unsigned char)in[j]))
		j++;
	if (j < len && in[j] == '.') {
		flt = true;
		while (++j < len && isdigit((unsigned char)in[j]))
			;
	}
	if (j < len && (in[j] | 0x20) == 'e') {
		flt = true;
		if (++j < len && (in[j] == '+' || in[j] == '-'))
			j++;
		while (j < len && isdigit((unsigned char)in[j]))
			j++;
	}
	*wide = !flt && (j == len || in[j] != 'L') &&
		literal_is_wide(in + i, j - i, false);
	return j;
}

/* The end of the token that starts at in[i], skipping what can hold digits
 * that are not numbers: comments, strings and names such as "flag-1". */
static size_t token_end(const char *in, size_t len, size_t i, bool *wide)
{
	const char *p;

	*wide = false;
	if (in[i] == '#' || (in[i] == '/' && i + 1 < len && in[i + 1] == '/')) {
		p = memchr(in + i, '\n', len - i);
		return p ? (size_t)(p - in) : len;
	}
	if (in[i] == '/' && i + 1 < len && in[i + 1] == '*') {
		p = memmem(in + i + 2, len - i - 2, "*/", 2);
		return p ? (size_t)(p - in) + 2 : len;
	}
	if (in[i] == '"') {
		while (++i < len && in[i] != '"')
			if (in[i] == '\\')
				i++;
		return i < len ? i + 1 : len;
	}
	if (isalpha((unsigned char)in[i]) || in[i] == '*') {
		while (++i < len &&
		       (isalnum((unsigned char)in[i]) || in[i] == '-' ||
			in[i] == '_' || in[i] == '*'))
			;
		return i;
	}
	if (isdigit((unsigned char)in[i]) ||
	    ((in[i] == '+' || in[i] == '-' || in[i] == '.') && i + 1 < len &&
	     isdigit((unsigned char)in[i + 1])))
		return number_end(in, len, i, wide);
	return i + 1;
}

/*
 * libconfig 1.5 reads a decimal integer with atoi(): fwmark 4294967295
 * becomes -1 and port 4294967376 silently becomes 80.  Give every integer
 * literal that does not fit in 32 bits the "L" suffix, so libconfig reads
 * it as 64 bits and our range checks see the value the operator wrote.
 * Lines are untouched, so every line number stays exact.
 */
char *cfg_text_widen(const char *in, size_t len)
{
	/* an L follows at least 10 characters, so len / 8 is room enough */
	char *out = malloc(len + len / 8 + 2);
	size_t i = 0, o = 0, end;
	bool wide;

	if (!out)
		return NULL;
	while (i < len) {
		end = token_end(in, len, i, &wide);
		memcpy(out + o, in + i, end - i);
		o += end - i;
		if (wide)
			out[o++] = 'L';
		i = end;
	}
	out[o] = '\0';
	return out;
}

/* A literal beyond 32 bits has 10 decimal or 8 hex digits in a row: most
 * files have none, and then need no second pass. */
bool cfg_text_may_be_wide(const char *in, size_t len)
{
	/* Every run of 8 ending before i is ruled out.  A run of 8 ending at
	 * i..i+7 holds in[i]; when in[i] is a digit but in[i-k] is not, the
	 * runs ending at i..i-k+7 hold in[i-k]: skip them all. */
	for (size_t i = 7, k; i < len; i += 8 - k) {
		for (k = 0; k < 8 && isxdigit((unsigned char)in[i - k]); k++)
			;
		if (k == 8)
			return true;
	}
	return false;
}

static size_t count_lines(const char *from, const char *to)
{
	size_t n = 0;

	for (const char *p = from; (p = memchr(p, '\n', (size_t)(to - p))); p++)
		n++;
	return n;
}

/*
 * libconfig 1.5 loses a string literal that stands where the grammar
 * wants something else (x = 1 "..."): a file that anyone who may write
 * include_dir can make, read again at each reload, would grow the daemon
 * by that string each time.  So strings are bounded before libconfig
 * sees them, and one left open (its loss too) never reaches it.
 */
enum cfg_text_fault cfg_text_strings(const char *text, int *line)
{
	const char *p = text, *q = NULL;

	while (*(p += strcspn(p, "\"#/"))) {
		if (*p == '"') {
			for (q = p + 1; *q && *q != '"'; q++)
				if (*q == '\\' && q[1])
					q++;
			if (!*q || q - p - 1 > CFG_STRING_MAX)
				break;
			p = q + 1;
		} else if (*p == '#' || p[1] == '/') {
			p += strcspn(p, "\n");
		} else if (p[1] == '*') {
			q = strstr(p + 2, "*/");
			p = q ? q + 2 : p + strlen(p);
		} else {
			p++;
		}
	}
	if (!*p)
		return CFG_TEXT_OK;
	*line = 1 + (int)count_lines(text, p);
	return *q ? CFG_TEXT_STRING_LONG : CFG_TEXT_STRING_OPEN;
}
