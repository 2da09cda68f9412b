/*
 * config_impl.h - what the parts of the configuration loader share behind
 * config.h.
 *
 * The file is the operator's interface, so the loader is strict and says
 * exactly what is wrong: every key is checked for its place, its type and
 * its range, and every problem in every file is collected as
 * "file:line: message" before the load fails as a whole, so that an operator
 * sees all of a file's mistakes at once and a reload never half-applies.
 * libconfig does the parsing; meaning is ours: defaults, checks inherited
 * field by field (global -> service -> real server), the IPVS rules the
 * kernel would otherwise reject with a bare EINVAL (address families, dr/tun
 * ports, scheduler flags, tunnel options), and duplicates, which are found by
 * sorting so that half a million real servers load in O(n log n).
 *
 * One struct loader goes through a load; the prototypes below, grouped by
 * the file that defines them, are the map of the module.
 */
#ifndef EXTLB_CONFIG_IMPL_H
#define EXTLB_CONFIG_IMPL_H

#include "config.h"
#include "config_text.h"
#include "rules.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SECS_MAX 86400.0       /* intervals and timeouts: a day is plenty */
#define LONG_SECS_MAX 31536000 /* drains and persistence: up to a year */
#define THRESH_MAX 2147483647LL

/* Where a check's type was set: a script check without a command is
 * reported there, once, however many real servers inherit it. */
struct origin {
	const char *file;
	int line;
	bool reported;
};

/* One load or reload, from the main file to the snapshot. */
struct loader {
	struct xl_config *c;
	struct xl_errors *errs;
	size_t nerr; /* counted here too: errs may fail to store one */
	bool oom;
	size_t cap_vs, cap_files;

	const char *file;     /* the file being read, an entry of c->files */
	const char *seen_raw; /* last libconfig file name seen (@include) */
	const char *seen;     /* ... and its entry in c->files */
	char *main_dir; /* directory of the main file, for relative paths */

	const char *incdir_file; /* where include_dir was set */
	int incdir_line;

	struct origin global_org;
	struct origin *global_eff; /* NULL: the type is the built-in default */

	/* include_dir files are read as a tenant's input: each one that fails
	 * is refused alone (its errors go to c->refused), and only one that
	 * only root can write may run programs (script checks, user) */
	bool included;
	bool trusted;
	char untrusted_why[96];
	size_t main_nvs; /* services of the main file: vs[0 .. main_nvs) */
	bool *drop;	 /* services refused as duplicates, by index */

	const struct xl_config *prev; /* xl_config_reload: what may be reused */
	bool prev_inherit_same;	      /* the global defaults are prev's */
	size_t cap_stamps;
	size_t stamp_hint; /* where to look for the next one in prev */
};

/*
 * Copies of one service share its arrays and strings (the real servers,
 * their checks, the name), with a count of the holders: taking an unchanged
 * service over costs the same whatever its size, and the last holder frees.
 */
struct xl_vs_share {
	size_t holders;
};

enum kind { K_INT, K_NUM, K_BOOL, K_STR, K_GROUP, K_LIST };

/*
 * Each kind of group has a table of its keys, indexed by an enum.
 * cfg_keys_read() walks a group's members once, puts each in the slot of its
 * key and reports the ones that match no key: a typo must not silently
 * become a default.  One walk instead of one search per key is what keeps
 * half a million real servers quick.
 */
#define KEYS_MAX 32

struct keys {
	config_setting_t *s[KEYS_MAX];
};

enum {
	G_LOG_LEVEL,
	G_INCLUDE_DIR,
	G_OWNS_ALL,
	G_ON_STOP,
	G_RESYNC_INTERVAL,
	G_DRAIN_TIMEOUT,
	G_CHECK,
	G_MAX_SERVICES,
	G_WATCH_INCLUDE_DIR,
	G_IPVS_TIMEOUTS,
	G_IPVS_SYSCTLS,
	G_VIP_INTERFACE,
	G_ANNOUNCE,
	G_SNAT,
	G_SNAT_ADDRESS,
	G_CONTROL_SOCKET,
	G_CONTROL_GROUP,
	G_METRICS_LISTEN,
	G_METRICS_SERVERS,
	G_LOG_DOWN_INTERVAL,
	G_LOG_PROGRESS_INTERVAL,
	G_STATE_DIR,
	G_NKEYS
};

enum {
	VS_NAME,
	VS_VIP,
	VS_PORT,
	VS_PROTOCOL,
	VS_FWMARK,
	VS_FAMILY,
	VS_SCHEDULER,
	VS_SCHEDULER_FLAGS,
	VS_FORWARD,
	VS_TUNNEL,
	VS_PERSISTENCE_TIMEOUT,
	VS_PERSISTENCE_NETMASK,
	VS_ONE_PACKET,
	VS_REAL_SERVERS,
	VS_DRAIN_TIMEOUT,
	VS_INHIBIT_ON_FAILURE,
	VS_SORRY_SERVER,
	VS_QUORUM,
	VS_CHECK,
	VS_ANNOUNCE,
	VS_SNAT,
	VS_SNAT_ADDRESS,
	VS_ALLOWED_SOURCES,
	VS_NKEYS
};

/* A sorry server's keys are the first RS_NDEST of a real server's. */
enum {
	RS_ADDRESS,
	RS_PORT,
	RS_NDEST,
	RS_WEIGHT = RS_NDEST,
	RS_UPPER_THRESHOLD,
	RS_LOWER_THRESHOLD,
	RS_CHECK,
	RS_NKEYS
};

enum { TUN_TYPE, TUN_PORT, TUN_CHECKSUM, TUN_NKEYS };

/* The keys every check has; a check group's slots after CK_NKEYS hold the
 * check types' keys, in the order xl_check_keys() gives them. */
enum {
	CK_TYPE,
	CK_INTERVAL,
	CK_TIMEOUT,
	CK_FAST_INTERVAL,
	CK_DOWN_INTERVAL,
	CK_RISE,
	CK_FALL,
	CK_INITIAL_STATE,
	CK_CONNECT_IP,
	CK_CONNECT_PORT,
	CK_NKEYS
};

_Static_assert(VS_NKEYS <= KEYS_MAX && CK_NKEYS <= KEYS_MAX &&
		   G_NKEYS <= KEYS_MAX && RS_NKEYS <= KEYS_MAX,
	       "struct keys is too small");

/* config.c: errors, where a setting is, the list of files read */
const char *cfg_files_append(struct loader *ld, char *name);
const char *cfg_files_add(struct loader *ld, const char *path);
const char *cfg_include_path(struct loader *ld, const char *raw, char *buf,
			     size_t len);
const char *cfg_setting_file(struct loader *ld, const config_setting_t *s);
/* "file:line: message" in the error list; ld->nerr counts it */
void cfg_err_at(struct loader *ld, const char *file, int line, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
void cfg_err(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_oom(struct loader *ld);
int cfg_line_of(const config_setting_t *s);
void cfg_vs_free(struct xl_vs_config *vs);

/* config_keys.c: the getters return 1: present and valid (*out set),
 * 0: absent (s is NULL), -1: present but invalid (reported) */
const char *cfg_type_name(int type);
int cfg_typed(struct loader *ld, const config_setting_t *s, enum kind k);
int cfg_get_int(struct loader *ld, const config_setting_t *s, long long lo,
		long long hi, long long *out);
int cfg_get_secs(struct loader *ld, const config_setting_t *s, bool lo_open,
		 double lo, double hi, double *out);
/* The same, with the range a rule of check_rules.h says */
int cfg_get_int_by(struct loader *ld, const config_setting_t *s,
		   const char *(*rule)(long long), long long *out);
int cfg_get_secs_by(struct loader *ld, const config_setting_t *s,
		    const char *(*rule)(double), double *out);
int cfg_get_bool(struct loader *ld, const config_setting_t *s, bool *out);
int cfg_get_str(struct loader *ld, const config_setting_t *s, const char **out);
const char *cfg_named_name(const struct xl_named *t, int value);
int cfg_get_enum(struct loader *ld, const config_setting_t *s,
		 const struct xl_named *tab, int *out);
int cfg_get_addr(struct loader *ld, const config_setting_t *s, uint16_t *af,
		 union xl_inaddr *out);
extern const char *const cfg_global_keys[G_NKEYS];
extern const char *const cfg_vs_keys[VS_NKEYS];
extern const char *const cfg_rs_keys[RS_NKEYS];
extern const char *const cfg_tunnel_keys[TUN_NKEYS];
extern const char *const cfg_check_keys[CK_NKEYS];
void cfg_keys_read(struct loader *ld, const config_setting_t *grp,
		   const char *where, const char *const *names, size_t n,
		   struct keys *k);
extern const struct xl_named cfg_log_levels[];
extern const struct xl_named cfg_on_stops[];
extern const struct xl_named cfg_announces[];
extern const struct xl_named cfg_metrics_servers[];
extern const struct xl_named cfg_protocols[];
extern const struct xl_named cfg_families[];
extern const struct xl_named cfg_tunnel_types[];
extern const struct xl_named cfg_tunnel_csums[];
extern const struct xl_named cfg_initial_states[];

/* config_check.c: shared strings and check groups */
char *cfg_shared_new(const char *v);
char *cfg_shared_take(char *s);
void cfg_shared_drop(char *s);
void cfg_check_free(struct xl_check_config *k);
void cfg_check_copy(struct xl_check_config *dst,
		    const struct xl_check_config *src);
int cfg_check_defaults(struct xl_check_config *k);
void cfg_untrusted_err(struct loader *ld, const config_setting_t *s,
		       const char *what);
void cfg_check_apply(struct loader *ld, const config_setting_t *grp,
		     struct xl_check_config *k, struct origin *org,
		     struct origin **eff);
void cfg_check_complete(struct loader *ld, const struct xl_check_config *k,
			struct origin *eff);

/* config_vs.c: services, real servers, sorry servers */
struct xl_vs_config *cfg_vs_slot(struct loader *ld, bool own);
void cfg_vs_list(struct loader *ld, const config_setting_t *list);

/* config_nft.c: snat, snat_address, allowed_sources */
void cfg_global_nft(struct loader *ld, const struct keys *g);
/* config_ctl.c: control_socket and control_group */
void cfg_global_ctl(struct loader *ld, const struct keys *g);
void cfg_vs_nft(struct loader *ld, const struct keys *k,
		struct xl_vs_config *vs, bool id_ok, int fwd);
bool cfg_vs_nft_equal(const struct xl_vs_nft *a, const struct xl_vs_nft *b);

/* config_dupes.c */
void cfg_vs_dupes(struct loader *ld);

/* config_files.c: a file read and parsed; include_dir */
int cfg_file_load(struct loader *ld, const char *path, char *text, bool *alone);
void cfg_include_dir_load(struct loader *ld);

/* config_kset.c: the groups ipvs_timeouts and ipvs_sysctls (either NULL) */
void cfg_kset_parse(struct loader *ld, const config_setting_t *timeouts,
		    const config_setting_t *sysctls);

/* config_reuse.c: stamps, and services taken over from prev */
void cfg_stamp_of(const struct stat *st, struct xl_file_stamp *t);
bool cfg_stamp_recent(const struct xl_file_stamp *t);
void cfg_stamp_add(struct loader *ld, const struct xl_file_stamp *t);
bool cfg_include_reuse(struct loader *ld, const char *path,
		       const struct xl_file_stamp *t);
size_t cfg_include_keep(struct loader *ld, const char *path);
void cfg_vs_truncate(struct loader *ld, size_t from);
void cfg_link_prev(struct xl_config *c, const struct xl_config *prev);

/* config_text.c: see config_text.h */

#endif
