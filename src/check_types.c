/*
 * check_types.c - the table of check types, made from the registry's list
 * (check_types.h), and the keys they read.
 */
#include "check_types.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define XL_CHECK_EXTERN_(id, name)                                             \
	extern const struct xl_check_ops xl_check_##name;
XL_CHECK_TYPES(XL_CHECK_EXTERN_)
#undef XL_CHECK_EXTERN_

#define XL_CHECK_ENTRY_(id, name) [XL_CHECK_##id] = &xl_check_##name,
static const struct xl_check_ops *const types[XL_CHECK_NTYPES] = {
    XL_CHECK_TYPES(XL_CHECK_ENTRY_)};
#undef XL_CHECK_ENTRY_

const struct xl_check_ops *xl_check_ops(enum xl_check_type t)
{
	return (unsigned)t < XL_CHECK_NTYPES ? types[t] : NULL;
}

/* More than the types have today; a type that needs more raises it. */
#define KEYS_ALL_MAX 32

size_t xl_check_keys(const struct xl_check_key *const **keys)
{
	/*
	 * Made once, on first use: every check copied or freed walks it, so
	 * a configuration of 100,000 real servers must not pay for the
	 * search for keys that two types share each time.
	 */
	static const struct xl_check_key *all[KEYS_ALL_MAX];
	static size_t n;
	static bool made;

	for (size_t t = 0; !made && t < XL_CHECK_NTYPES; t++) {
		for (size_t i = 0; i < types[t]->nkeys; i++) {
			const struct xl_check_key *k = &types[t]->keys[i];
			size_t j;

			for (j = 0; j < n && strcmp(all[j]->name, k->name); j++)
				;
			if (j < n)
				continue;
			/* a programming error, caught by any test */
			if (n == KEYS_ALL_MAX)
				abort();
			all[n++] = k;
		}
	}
	made = true;
	*keys = all;
	return n;
}
