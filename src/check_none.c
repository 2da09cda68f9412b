/*
 * check_none.c - the none check: the server is taken as up, never probed.
 *
 * For what no check can tell about (a protocol nobody speaks here), or a
 * server an operator vouches for.  health.c does not probe it; a probe
 * started anyway ends UP, so that callers need no case for it.
 */
#include "check_impl.h"

enum { NONE_E_NOCHECK = XL_E_TYPE };
static const char *const none_codes[] = {"no check"};

static void none_start(struct xl_probe *p)
{
	xl_probe_defer(p, XL_CHECK_UP, NONE_E_NOCHECK);
}

const struct xl_check_ops xl_check_none = {
    .always_up = true,
    .start = none_start,
    .codes = none_codes,
    .ncodes = XL_ARRAY_SIZE(none_codes),
};
