/*
 * config_kset.c - the global groups ipvs_timeouts and ipvs_sysctls.
 *
 * Each key is optional: one left out is a setting extlbd leaves to the
 * kernel (kset.h).  Which keys exist, and the range of each, is kset.h's
 * table, so that the loader and the daemon cannot disagree; here they are
 * read with the loader's getters, and every mistake is reported at its
 * file:line like any other key's.
 */
#include "config_impl.h"
#include "kset.h"

_Static_assert(XL_KS_N <= KEYS_MAX && XL_KT_N <= KEYS_MAX,
	       "struct keys is too small for ipvs_sysctls");

static void timeouts_parse(struct loader *ld, const config_setting_t *grp)
{
	struct xl_kset_config *ks = &ld->c->kset;
	struct keys k;
	long long v;

	cfg_keys_read(ld, grp, "in ipvs_timeouts", xl_kset_timeout_names,
		      XL_KT_N, &k);
	for (int t = 0; t < XL_KT_N; t++)
		if (cfg_get_int(ld, k.s[t], 1, XL_KSET_TIMEOUT_MAX, &v) == 1)
			ks->timeout[t] = (uint32_t)v;
}

/* A boolean, or 0/1 as it is written under /proc/sys. */
static int get_bool01(struct loader *ld, const config_setting_t *s, int *out)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		*out = config_setting_get_bool(s);
		return 1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cfg_err(ld, s,
			"wrong type for %s: expected a boolean (or 0 or 1), "
			"got %s",
			config_setting_name(s),
			cfg_type_name(config_setting_type(s)));
		return -1;
	}
	if (cfg_get_int(ld, s, 0, 1, &v) != 1)
		return -1;
	*out = (int)v;
	return 1;
}

static void sysctls_parse(struct loader *ld, const config_setting_t *grp)
{
	struct xl_kset_config *ks = &ld->c->kset;
	struct keys k;
	long long v;
	int b;

	cfg_keys_read(ld, grp, "in ipvs_sysctls", xl_kset_sysctl_names, XL_KS_N,
		      &k);
	for (int i = 0; i < XL_KS_N; i++) {
		const struct xl_kset_sysctl_def *d = &xl_kset_sysctls[i];

		if (!k.s[i])
			continue;
		if (d->kind == XL_KSET_BOOL) {
			if (get_bool01(ld, k.s[i], &b) != 1)
				continue;
			v = b;
		} else if (cfg_get_int(ld, k.s[i], d->lo, d->hi, &v) != 1) {
			continue;
		}
		ks->has_sysctl[i] = true;
		ks->sysctl[i] = (int)v;
	}
}

void cfg_kset_parse(struct loader *ld, const config_setting_t *timeouts,
		    const config_setting_t *sysctls)
{
	if (cfg_typed(ld, timeouts, K_GROUP) == 1)
		timeouts_parse(ld, timeouts);
	if (cfg_typed(ld, sysctls, K_GROUP) == 1)
		sysctls_parse(ld, sysctls);
}
