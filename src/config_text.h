/*
 * config_text.h - a configuration file's text made safe for libconfig 1.5.
 *
 * Two of libconfig's readings are worked around on the text before it sees
 * it, without a loader or a file: integer literals beyond 32 bits get the L
 * suffix (cfg_text_widen), and string literals must be closed and bounded
 * (cfg_text_strings).  Neither changes a line break, so every line number
 * libconfig reports stays the operator's.
 */
#ifndef EXTLB_CONFIG_TEXT_H
#define EXTLB_CONFIG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The longest string literal a file may hold: the longest value a key
 * takes (a command, an expected reply) is far shorter. */
#define CFG_STRING_MAX 4096

/* false when in[0..len) surely holds no literal beyond 32 bits. */
bool cfg_text_may_be_wide(const char *in, size_t len);

/* A copy of in[0..len), NUL-terminated, with each integer literal beyond
 * 32 bits suffixed with L; NULL when out of memory. */
char *cfg_text_widen(const char *in, size_t len);

enum cfg_text_fault {
	CFG_TEXT_OK,
	CFG_TEXT_STRING_LONG, /* a string of more than CFG_STRING_MAX bytes */
	CFG_TEXT_STRING_OPEN, /* a string never closed */
};

/* The first string literal of text (outside comments) that libconfig
 * must not see, and in *line (from 1) the line it starts on. */
enum cfg_text_fault cfg_text_strings(const char *text, int *line);

#endif
