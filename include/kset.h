/*
 * kset.h - the IPVS kernel settings the file sets: ipvs_timeouts (the
 * IPVS SET_CONFIG command) and ipvs_sysctls (net/ipv4/vs/ under /proc/sys).
 *
 * The configuration says which settings it wants and at what value; a key
 * it leaves out is the kernel's business.  xl_kset_apply() reads each
 * wanted setting back and writes only those that differ, so one call does
 * for start-up, for a reload and for the resync alike.  The first time it
 * changes a setting it remembers what the kernel held, and puts that back
 * when a reload removes the key from the file.
 *
 * The IPVS timeouts go through an ops table (xl_ipvs_timeout_ops in
 * production, memory in the tests); the sysctls through sysctl.h, whose
 * root a test points at a directory of its own.
 */
#ifndef EXTLB_KSET_H
#define EXTLB_KSET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The kinds a sysctl's value has, and what the file may write. */
enum xl_kset_kind {
	XL_KSET_BOOL,	 /* true/false or 0/1 */
	XL_KSET_INT,	 /* an integer in [lo, hi] */
	XL_KSET_DEFENSE, /* 0-3; the kernel itself moves 1 <-> 2 */
};

/* X(ID, name, kind, lo, hi): every net/ipv4/vs sysctl the file may set */
#define XL_KSET_SYSCTLS(X)                                                     \
	X(AM_DROPRATE, am_droprate, XL_KSET_INT, 0, INT_MAX)                   \
	X(AMEMTHRESH, amemthresh, XL_KSET_INT, 0, INT_MAX)                     \
	X(BACKUP_ONLY, backup_only, XL_KSET_BOOL, 0, 1)                        \
	X(CACHE_BYPASS, cache_bypass, XL_KSET_BOOL, 0, 1)                      \
	X(CONN_REUSE_MODE, conn_reuse_mode, XL_KSET_INT, 0, 3)                 \
	X(CONNTRACK, conntrack, XL_KSET_BOOL, 0, 1)                            \
	X(DROP_ENTRY, drop_entry, XL_KSET_DEFENSE, 0, 3)                       \
	X(DROP_PACKET, drop_packet, XL_KSET_DEFENSE, 0, 3)                     \
	X(EXPIRE_NODEST_CONN, expire_nodest_conn, XL_KSET_BOOL, 0, 1)          \
	X(EXPIRE_QUIESCENT_TEMPLATE, expire_quiescent_template, XL_KSET_BOOL,  \
	  0, 1)                                                                \
	X(IGNORE_TUNNELED, ignore_tunneled, XL_KSET_BOOL, 0, 1)                \
	X(NAT_ICMP_SEND, nat_icmp_send, XL_KSET_BOOL, 0, 1)                    \
	X(PMTU_DISC, pmtu_disc, XL_KSET_BOOL, 0, 1)                            \
	X(RUN_ESTIMATION, run_estimation, XL_KSET_BOOL, 0, 1)                  \
	X(SCHEDULE_ICMP, schedule_icmp, XL_KSET_BOOL, 0, 1)                    \
	X(SECURE_TCP, secure_tcp, XL_KSET_DEFENSE, 0, 3)                       \
	X(SLOPPY_SCTP, sloppy_sctp, XL_KSET_BOOL, 0, 1)                        \
	X(SLOPPY_TCP, sloppy_tcp, XL_KSET_BOOL, 0, 1)                          \
	X(SNAT_REROUTE, snat_reroute, XL_KSET_BOOL, 0, 1)

enum xl_kset_sysctl {
#define XL_KSET_ID(id, name, kind, lo, hi) XL_KS_##id,
	XL_KSET_SYSCTLS(XL_KSET_ID)
#undef XL_KSET_ID
	    XL_KS_N
};

struct xl_kset_sysctl_def {
	const char *name; /* the key, and the file under net/ipv4/vs/ */
	enum xl_kset_kind kind;
	long long lo, hi;
};

extern const struct xl_kset_sysctl_def xl_kset_sysctls[XL_KS_N];
/* The same names, as the loader's key table wants them. */
extern const char *const xl_kset_sysctl_names[XL_KS_N];

/* ipvs_timeouts, in the order IPVS_CMD_SET_CONFIG has them */
enum xl_kset_timeout { XL_KT_TCP, XL_KT_TCP_FIN, XL_KT_UDP, XL_KT_N };

extern const char *const xl_kset_timeout_names[XL_KT_N];

/* The kernel refuses more than INT_MAX / HZ seconds; HZ is at most 1000. */
#define XL_KSET_TIMEOUT_MAX (INT_MAX / 1000)

/* What the file asks for: part of struct xl_config. */
struct xl_kset_config {
	uint32_t timeout[XL_KT_N]; /* seconds; 0: the kernel's */
	int sysctl[XL_KS_N];
	bool has_sysctl[XL_KS_N]; /* false: the kernel's */
};

/* What a setting's kernel value is compared with: the same, or for a
 * defense mode, both "automatic" (1 and 2). */
bool xl_kset_sysctl_same(enum xl_kset_sysctl k, int want, int have);

/* The IPVS timeouts of the kernel; v[XL_KT_*] in seconds.  set writes the
 * non-zero ones and leaves the others.  0 or -errno. */
struct xl_kset_timeout_ops {
	int (*get)(void *arg, uint32_t v[XL_KT_N]);
	int (*set)(void *arg, const uint32_t v[XL_KT_N]);
};

/* The runtime side: what was applied, what the kernel held first. */
struct xl_kset {
	const struct xl_kset_timeout_ops *ops;
	void *arg;
	struct xl_kset_config applied; /* the effective wish of the last run */
	bool ran;
	/* the kernel's values before extlbd first changed them */
	bool has_orig_timeout[XL_KT_N];
	uint32_t orig_timeout[XL_KT_N];
	bool has_orig_sysctl[XL_KS_N];
	int orig_sysctl[XL_KS_N];
	/* what other modules need (SNAT: conntrack = 1); -1: nothing */
	int require[XL_KS_N];
	const char *require_who[XL_KS_N];
	bool told_require[XL_KS_N]; /* the file's conflicting value warned */
	/* a failure already logged as an error: said again at debug only,
	 * until the value asked for changes or a write succeeds */
	bool told_get;
	bool told_timeout[XL_KT_N];
	bool told_sysctl[XL_KS_N];
	int told_value[XL_KS_N];
};

void xl_kset_init(struct xl_kset *ks, const struct xl_kset_timeout_ops *ops,
		  void *arg);

/*
 * Another module needs sysctl k at value (SNAT: conntrack = 1), from the
 * next xl_kset_apply() on; value < 0 withdraws it.  Where the file leaves
 * the key out, the requirement applies; where the file says otherwise,
 * the requirement wins and a warning says so (the feature that needs it
 * would not work otherwise).
 */
void xl_kset_require(struct xl_kset *ks, enum xl_kset_sysctl k, int value,
		     const char *who);

/*
 * The kernel brought to want: every wanted setting read back and written
 * when it differs (logged "old -> new", why saying when); a key that the
 * previous run set and want leaves out gets the value the kernel held
 * before extlbd first changed it.  A setting the kernel refuses is logged
 * with its key and leaves the others alone.  Returns how many settings
 * could not be read or written.
 */
int xl_kset_apply(struct xl_kset *ks, const struct xl_kset_config *want,
		  const char *why);

/* -t: both groups as they would be applied. */
void xl_kset_print(FILE *f, const struct xl_kset_config *c);

#endif
