/*
 * kset.c - the IPVS kernel settings of the file, kept in the kernel.
 *
 * A few settings, each read back before it is written: a start-up, a
 * reload and a resync are one function, and the kernel sees a write only
 * for a value that differs (a reload that changes one key writes one file,
 * a resync that finds nothing changed writes none).  Reading back costs a
 * file read per sysctl set and one IPVS_CMD_GET_CONFIG, so the resync does
 * it every round.  What the kernel held before extlbd first changed a
 * setting is remembered: a key removed from the file at reload gets it
 * back, as if extlbd had never set it.
 */
#include "kset.h"
#include "log.h"
#include "sysctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct xl_kset_sysctl_def xl_kset_sysctls[XL_KS_N] = {
#define XL_KSET_DEF(id, nm, kd, l, h)                                          \
	[XL_KS_##id] = {.name = #nm, .kind = kd, .lo = l, .hi = h},
    XL_KSET_SYSCTLS(XL_KSET_DEF)
#undef XL_KSET_DEF
};

const char *const xl_kset_sysctl_names[XL_KS_N] = {
#define XL_KSET_NAME(id, nm, kd, l, h) [XL_KS_##id] = #nm,
    XL_KSET_SYSCTLS(XL_KSET_NAME)
#undef XL_KSET_NAME
};

const char *const xl_kset_timeout_names[XL_KT_N] = {
    [XL_KT_TCP] = "tcp",
    [XL_KT_TCP_FIN] = "tcp_fin",
    [XL_KT_UDP] = "udp",
};

bool xl_kset_sysctl_same(enum xl_kset_sysctl k, int want, int have)
{
	/* modes 1 and 2 are both "automatic": the kernel switches between
	 * them as memory runs low, which is not a change to put right */
	if (xl_kset_sysctls[k].kind == XL_KSET_DEFENSE &&
	    (want == 1 || want == 2) && (have == 1 || have == 2))
		return true;
	return want == have;
}

void xl_kset_init(struct xl_kset *ks, const struct xl_kset_timeout_ops *ops,
		  void *arg)
{
	memset(ks, 0, sizeof(*ks));
	ks->ops = ops;
	ks->arg = arg;
	for (int k = 0; k < XL_KS_N; k++)
		ks->require[k] = -1;
}

void xl_kset_require(struct xl_kset *ks, enum xl_kset_sysctl k, int value,
		     const char *who)
{
	ks->require[k] = value;
	ks->require_who[k] = who;
	ks->told_require[k] = false;
}

/* ---- sysctls --------------------------------------------------------- */

static int sysctl_path(enum xl_kset_sysctl k, char *buf, size_t len)
{
	int n = snprintf(buf, len, "net/ipv4/vs/%s", xl_kset_sysctls[k].name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int sysctl_get(enum xl_kset_sysctl k, int *out)
{
	char path[64], buf[32], *end;
	long v;
	int rc;

	if ((rc = sysctl_path(k, path, sizeof(path))) < 0 ||
	    (rc = xl_sysctl_read(path, buf, sizeof(buf))) < 0)
		return rc;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || *end || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int sysctl_put(enum xl_kset_sysctl k, int v)
{
	char path[64], buf[16];
	int rc;

	if ((rc = sysctl_path(k, path, sizeof(path))) < 0)
		return rc;
	snprintf(buf, sizeof(buf), "%d", v);
	return xl_sysctl_write(path, buf);
}

/* A failure is an error once, then debug until something changes. */
static void sysctl_failed(struct xl_kset *ks, enum xl_kset_sysctl k, int v,
			  const char *why, const char *what, int err)
{
	const char *name = xl_kset_sysctls[k].name;

	if (ks->told_sysctl[k] && ks->told_value[k] == v) {
		xl_debug("%s: ipvs_sysctls.%s: %s: %s", why, name, what,
			 strerror(-err));
		return;
	}
	ks->told_sysctl[k] = true;
	ks->told_value[k] = v;
	if (err == -ENOENT)
		xl_err("%s: ipvs_sysctls.%s: this kernel has no "
		       "net/ipv4/vs/%s (is ip_vs loaded? too old a kernel?)",
		       why, name, name);
	else
		xl_err("%s: ipvs_sysctls.%s: %s: %s", why, name, what,
		       strerror(-err));
}

/* The wish of the file, with what other modules require. */
static void effective(struct xl_kset *ks, const struct xl_kset_config *want,
		      struct xl_kset_config *eff)
{
	*eff = *want;
	for (int k = 0; k < XL_KS_N; k++) {
		if (ks->require[k] < 0)
			continue;
		if (eff->has_sysctl[k] &&
		    !xl_kset_sysctl_same(k, ks->require[k], eff->sysctl[k]) &&
		    !ks->told_require[k]) {
			xl_warn(
			    "ipvs_sysctls.%s = %d in the file, but %s needs "
			    "%d: %d applies",
			    xl_kset_sysctls[k].name, eff->sysctl[k],
			    ks->require_who[k], ks->require[k], ks->require[k]);
			ks->told_require[k] = true;
		}
		eff->has_sysctl[k] = true;
		eff->sysctl[k] = ks->require[k];
	}
}

/* A key the last run set and eff leaves out: the kernel's first value. */
static int sysctl_restore(struct xl_kset *ks, enum xl_kset_sysctl k,
			  const char *why)
{
	int cur, rc, orig = ks->orig_sysctl[k];

	ks->has_orig_sysctl[k] = false;
	ks->told_sysctl[k] = false;
	if ((rc = sysctl_get(k, &cur)) < 0 || xl_kset_sysctl_same(k, orig, cur))
		return rc < 0 && rc != -ENOENT ? 1 : 0;
	if ((rc = sysctl_put(k, orig)) < 0) {
		sysctl_failed(ks, k, orig, why, "restoring", rc);
		return 1;
	}
	xl_info("%s: ipvs_sysctls.%s %d -> %d (no longer in the file: the "
		"value before extlbd set it)",
		why, xl_kset_sysctls[k].name, cur, orig);
	return 0;
}

static int sysctl_keep(struct xl_kset *ks, enum xl_kset_sysctl k, int v,
		       const char *why)
{
	const char *name = xl_kset_sysctls[k].name;
	bool drift = ks->ran && ks->applied.has_sysctl[k] &&
		     ks->applied.sysctl[k] == v && !ks->told_sysctl[k];
	int cur, rc;

	if ((rc = sysctl_get(k, &cur)) < 0) {
		sysctl_failed(ks, k, v, why, "cannot read", rc);
		return 1;
	}
	if (xl_kset_sysctl_same(k, v, cur)) {
		ks->told_sysctl[k] = false;
		return 0;
	}
	if (!ks->has_orig_sysctl[k]) {
		ks->has_orig_sysctl[k] = true;
		ks->orig_sysctl[k] = cur;
	}
	if ((rc = sysctl_put(k, v)) < 0) {
		char what[64];

		snprintf(what, sizeof(what), "the kernel refused %d", v);
		sysctl_failed(ks, k, v, why, what, rc);
		return 1;
	}
	ks->told_sysctl[k] = false;
	if (drift)
		xl_warn("%s: ipvs_sysctls.%s %d -> %d (changed behind "
			"extlbd's back)",
			why, name, cur, v);
	else
		xl_info("%s: ipvs_sysctls.%s %d -> %d", why, name, cur, v);
	return 0;
}

static int sysctls_apply(struct xl_kset *ks, const struct xl_kset_config *eff,
			 const char *why)
{
	int failed = 0;

	for (int k = 0; k < XL_KS_N; k++)
		if (ks->ran && ks->applied.has_sysctl[k] &&
		    !eff->has_sysctl[k] && ks->has_orig_sysctl[k])
			failed += sysctl_restore(ks, k, why);
	for (int k = 0; k < XL_KS_N; k++)
		if (eff->has_sysctl[k])
			failed += sysctl_keep(ks, k, eff->sysctl[k], why);
	return failed;
}

/* ---- IPVS timeouts --------------------------------------------------- */

static void timeout_failed(struct xl_kset *ks, enum xl_kset_timeout t,
			   uint32_t v, const char *why, int err)
{
	if (ks->told_timeout[t]) {
		xl_debug("%s: ipvs_timeouts.%s = %u: %s", why,
			 xl_kset_timeout_names[t], v, strerror(-err));
		return;
	}
	ks->told_timeout[t] = true;
	xl_err("%s: ipvs_timeouts.%s: the kernel refused %u seconds: %s", why,
	       xl_kset_timeout_names[t], v, strerror(-err));
}

/* One SET_CONFIG per value, so that a refusal names its key. */
static int timeout_put(struct xl_kset *ks, enum xl_kset_timeout t, uint32_t v)
{
	uint32_t one[XL_KT_N] = {0};

	one[t] = v;
	return ks->ops->set(ks->arg, one);
}

static int timeouts_apply(struct xl_kset *ks, const struct xl_kset_config *eff,
			  const char *why)
{
	uint32_t cur[XL_KT_N];
	int failed = 0, rc;
	bool any = false;

	for (int t = 0; t < XL_KT_N; t++)
		any |= eff->timeout[t] || (ks->ran && ks->applied.timeout[t]);
	if (!any || !ks->ops)
		return 0;
	if ((rc = ks->ops->get(ks->arg, cur)) < 0) {
		if (!ks->told_get)
			xl_err("%s: ipvs_timeouts: cannot read the kernel's "
			       "(IPVS_CMD_GET_CONFIG): %s",
			       why, strerror(-rc));
		ks->told_get = true;
		return XL_KT_N;
	}
	ks->told_get = false;
	for (int t = 0; t < XL_KT_N; t++) {
		uint32_t v = eff->timeout[t];
		bool drift = ks->ran && ks->applied.timeout[t] == v;
		const char *name = xl_kset_timeout_names[t];

		if (!v && ks->ran && ks->applied.timeout[t] &&
		    ks->has_orig_timeout[t]) {
			/* removed from the file: what the kernel had */
			v = ks->orig_timeout[t];
			ks->has_orig_timeout[t] = false;
			drift = false;
		}
		if (!v || v == cur[t]) {
			ks->told_timeout[t] = false;
			continue;
		}
		if (eff->timeout[t] && !ks->has_orig_timeout[t]) {
			ks->has_orig_timeout[t] = true;
			ks->orig_timeout[t] = cur[t];
		}
		if ((rc = timeout_put(ks, t, v)) < 0) {
			timeout_failed(ks, t, v, why, rc);
			failed++;
			continue;
		}
		ks->told_timeout[t] = false;
		if (!eff->timeout[t])
			xl_info("%s: ipvs_timeouts.%s %u -> %u (no longer in "
				"the file: the value before extlbd set it)",
				why, name, cur[t], v);
		else if (drift)
			xl_warn("%s: ipvs_timeouts.%s %u -> %u (changed behind "
				"extlbd's back)",
				why, name, cur[t], v);
		else
			xl_info("%s: ipvs_timeouts.%s %u -> %u", why, name,
				cur[t], v);
	}
	return failed;
}

int xl_kset_apply(struct xl_kset *ks, const struct xl_kset_config *want,
		  const char *why)
{
	struct xl_kset_config eff;
	int failed;

	effective(ks, want, &eff);
	failed = timeouts_apply(ks, &eff, why) + sysctls_apply(ks, &eff, why);
	ks->applied = eff;
	ks->ran = true;
	return failed;
}

/* ---- -t ------------------------------------------------------------- */

void xl_kset_print(FILE *f, const struct xl_kset_config *c)
{
	int n = 0;

	fprintf(f, "ipvs_timeouts:");
	for (int t = 0; t < XL_KT_N; t++)
		if (c->timeout[t])
			fprintf(f, "%s %s = %u", n++ ? "," : "",
				xl_kset_timeout_names[t], c->timeout[t]);
	fprintf(f, "%s\n",
		n == XL_KT_N ? ""
		: n	     ? "; the others as the kernel has them"
			     : " none set, the kernel's stay");
	n = 0;
	fprintf(f, "ipvs_sysctls:");
	for (int k = 0; k < XL_KS_N; k++)
		if (c->has_sysctl[k])
			fprintf(f, "%s %s = %d", n++ ? "," : "",
				xl_kset_sysctls[k].name, c->sysctl[k]);
	fprintf(f, "%s\n",
		n == XL_KS_N ? ""
		: n	     ? "; the others as the kernel has them"
			     : " none set, the kernel's stay");
}
