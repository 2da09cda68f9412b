/*
 * rules.c - the rules extlbd's loader and extlb-k8s share (rules.h).
 */
#include "rules.h"
#include "model.h"

#include <linux/ip_vs.h>
#include <string.h>

const struct xl_named xl_rule_forwards[] = {
    {"nat", IP_VS_CONN_F_MASQ},
    {"dr", IP_VS_CONN_F_DROUTE},
    {"tun", IP_VS_CONN_F_TUNNEL},
    {NULL, 0},
};

const struct xl_named *xl_named_find(const struct xl_named *t, const char *name)
{
	for (; t->name; t++) {
		if (!strcmp(name, t->name))
			return t;
	}
	return NULL;
}

bool xl_rule_sched_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < XL_SCHED_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

bool xl_rule_family_ok(int saf, int daf, int fwd)
{
	return saf == daf || fwd == IP_VS_CONN_F_TUNNEL;
}

bool xl_rule_port_fixed(int fwd)
{
	return fwd == IP_VS_CONN_F_DROUTE || fwd == IP_VS_CONN_F_TUNNEL;
}

bool xl_incfile_wanted(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".conf");
}
