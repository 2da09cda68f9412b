/*
 * config.c - /etc/extlb.conf and its include_dir into an xl_config snapshot.
 *
 * The file is the operator's interface, so this module is strict and says
 * exactly what is wrong: every key is checked for its place, its type and
 * its range, and every problem in every file is collected as
 * "file:line: message" before the load fails as a whole, so that an operator
 * sees all of a file's mistakes at once and a reload never half-applies.
 * libconfig does the parsing; meaning is ours: defaults, checks inherited
 * field by field (global -> service -> real server), the IPVS rules the
 * kernel would otherwise reject with a bare EINVAL (address families, dr/tun
 * ports, scheduler flags, tunnel options), and duplicates, which are found by
 * sorting so that half a million real servers load in O(n log n).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif

#include "config.h"
#include "config_text.h"
#include "incfile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <linux/ip_vs.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SECS_MAX 86400.0       /* intervals and timeouts: a day is plenty */
#define LONG_SECS_MAX 31536000 /* drains and persistence: up to a year */
#define THRESH_MAX 2147483647LL

/* ---- error list ------------------------------------------------------ */

static void errors_vadd(struct xl_errors *e, const char *file, int line,
			const char *fmt, va_list ap)
{
	char msg[1024]; /* a longer message is cut, never lost */
	char *full = NULL, **msgs;
	int n;

	if (!e)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (file && line > 0)
		n = asprintf(&full, "%s:%d: %s", file, line, msg);
	else if (file)
		n = asprintf(&full, "%s: %s", file, msg);
	else
		n = asprintf(&full, "%s", msg);
	if (n < 0)
		return;
	/* the capacity doubles at each power of two: n adds cost O(n) */
	if ((e->n & (e->n - 1)) == 0) {
		msgs = realloc(e->msgs, (e->n ? 2 * e->n : 1) * sizeof(*msgs));
		if (!msgs) {
			free(full);
			return;
		}
		e->msgs = msgs;
	}
	e->msgs[e->n++] = full;
}

void xl_errors_add(struct xl_errors *e, const char *file, int line,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_vadd(e, file, line, fmt, ap);
	va_end(ap);
}

void xl_errors_free(struct xl_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}

/* ---- loader state and locations -------------------------------------- */

/* Where a check's type was set: a script check without a command is
 * reported there, once, however many real servers inherit it. */
struct origin {
	const char *file;
	int line;
	bool reported;
};

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

static char *shared_new(const char *v);
static char *shared_take(char *s);
static void shared_drop(char *s);
static void vs_free(struct xl_vs_config *vs);

/*
 * File names are shared strings: services taken over from the previous
 * snapshot keep pointing at the name it read them under (xl_config_reload),
 * so each snapshot holds a count on the names it lists.
 */
static const char *files_append(struct loader *ld, char *name)
{
	struct xl_config *c = ld->c;
	char **files;
	size_t cap;

	if (!name)
		return NULL;
	if (c->nfiles == ld->cap_files) {
		cap = ld->cap_files ? 2 * ld->cap_files : 8;
		files = realloc(c->files, cap * sizeof(*files));
		if (!files) {
			shared_drop(name);
			return NULL;
		}
		c->files = files;
		ld->cap_files = cap;
	}
	c->files[c->nfiles++] = name;
	return name;
}

static const char *files_add(struct loader *ld, const char *path)
{
	return files_append(ld, shared_new(path));
}

static void ld_oom(struct loader *ld);

/* libconfig names an @include'd file as written, and finds it relative to
 * the include directory we gave it: the main file's. */
static const char *include_path(struct loader *ld, const char *raw, char *buf,
				size_t len)
{
	int n;

	if (raw[0] == '/' || !ld->main_dir || !strcmp(ld->main_dir, "."))
		return raw;
	n = snprintf(buf, len, "%s/%s", ld->main_dir, raw);
	return n > 0 && (size_t)n < len ? buf : raw;
}

/*
 * The file a setting came from, as an entry of c->files.  Text we hand to
 * libconfig has no name (see file_read), so NULL means the file being read;
 * a name means libconfig's own @include, which we record as read too.
 */
static const char *setting_file(struct loader *ld, const config_setting_t *s)
{
	const char *raw = config_setting_source_file(s);
	const char *found = NULL, *path;
	char buf[4096];

	if (!raw)
		return ld->file;
	if (raw == ld->seen_raw)
		return ld->seen;
	path = include_path(ld, raw, buf, sizeof(buf));
	for (size_t i = 0; i < ld->c->nfiles && !found; i++)
		if (!strcmp(ld->c->files[i], path))
			found = ld->c->files[i];
	if (!found)
		found = files_add(ld, path);
	if (!found) {
		ld_oom(ld);
		return ld->file;
	}
	ld->seen_raw = raw;
	ld->seen = found;
	return found;
}

static void ld_verr(struct loader *ld, const char *file, int line,
		    const char *fmt, va_list ap)
{
	ld->nerr++;
	errors_vadd(ld->errs, file, line, fmt, ap);
}

static void __attribute__((format(printf, 4, 5)))
ld_err_at(struct loader *ld, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_verr(ld, file, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
ld_err(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = setting_file(ld, s);
	va_list ap;

	va_start(ap, fmt);
	ld_verr(ld, file, config_setting_source_line(s), fmt, ap);
	va_end(ap);
}

static void ld_oom(struct loader *ld)
{
	if (!ld->oom)
		ld_err_at(ld, ld->file, 0, "out of memory");
	ld->oom = true;
}

static int line_of(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* ---- typed access to keys -------------------------------------------- */

enum kind { K_INT, K_NUM, K_BOOL, K_STR, K_GROUP, K_LIST };

static const char *const kind_names[] = {
    [K_INT] = "an integer", [K_NUM] = "a number",  [K_BOOL] = "a boolean",
    [K_STR] = "a string",   [K_GROUP] = "a group", [K_LIST] = "a list",
};

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "an unknown type";
	}
}

static bool kind_accepts(enum kind k, int type)
{
	switch (k) {
	case K_INT:
		return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
	case K_NUM:
		return kind_accepts(K_INT, type) || type == CONFIG_TYPE_FLOAT;
	case K_BOOL:
		return type == CONFIG_TYPE_BOOL;
	case K_STR:
		return type == CONFIG_TYPE_STRING;
	case K_GROUP:
		return type == CONFIG_TYPE_GROUP;
	case K_LIST: /* (..) and [..] read the same to an operator */
		return type == CONFIG_TYPE_LIST || type == CONFIG_TYPE_ARRAY;
	}
	return false;
}

/*
 * The getters take the member itself (NULL when the key is absent, see
 * keys_read) and return 1: present and valid (*out set), 0: absent, -1:
 * present but invalid (reported, *out untouched).
 */
static int typed(struct loader *ld, const config_setting_t *s, enum kind k)
{
	if (!s)
		return 0;
	if (kind_accepts(k, config_setting_type(s)))
		return 1;
	ld_err(ld, s, "wrong type for %s: expected %s, got %s",
	       config_setting_name(s), kind_names[k],
	       type_name(config_setting_type(s)));
	return -1;
}

static int get_int(struct loader *ld, const config_setting_t *s, long long lo,
		   long long hi, long long *out)
{
	int r = typed(ld, s, K_INT);
	long long v;

	if (r <= 0)
		return r;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		ld_err(ld, s, "%s: %lld is out of range %lld-%lld",
		       config_setting_name(s), v, lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

/* Seconds, written 2 or 2.5; lo_open means "more than lo". */
static int get_secs(struct loader *ld, const config_setting_t *s, bool lo_open,
		    double lo, double hi, double *out)
{
	int r = typed(ld, s, K_NUM);
	double v;

	if (r <= 0)
		return r;
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else
		v = (double)config_setting_get_int64(s);
	if (!(lo_open ? v > lo : v >= lo) || !(v <= hi)) {
		ld_err(ld, s,
		       "%s: %.15g is out of range: must be %s %.15g and at "
		       "most %.15g seconds",
		       config_setting_name(s), v,
		       lo_open ? "more than" : "at least", lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

static int get_bool(struct loader *ld, const config_setting_t *s, bool *out)
{
	int r = typed(ld, s, K_BOOL);

	if (r == 1)
		*out = config_setting_get_bool(s);
	return r;
}

static int get_str(struct loader *ld, const config_setting_t *s,
		   const char **out)
{
	int r = typed(ld, s, K_STR);

	if (r == 1)
		*out = config_setting_get_string(s);
	return r;
}

struct named {
	const char *name;
	int value;
};

static const char *named_join(const struct named *t, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; t->name && o < len; t++)
		o += snprintf(buf + o, len - o, "%s\"%s\"", o ? ", " : "",
			      t->name);
	return buf;
}

static const char *named_name(const struct named *t, int value)
{
	for (; t->name; t++)
		if (t->value == value)
			return t->name;
	return "?";
}

static int get_enum(struct loader *ld, const config_setting_t *s,
		    const struct named *tab, int *out)
{
	const char *v = NULL;
	char buf[256];
	int r = get_str(ld, s, &v);

	if (r <= 0)
		return r;
	for (const struct named *t = tab; t->name; t++) {
		if (!strcmp(v, t->name)) {
			*out = t->value;
			return 1;
		}
	}
	ld_err(ld, s, "%s: \"%s\" is not one of %s", config_setting_name(s), v,
	       named_join(tab, buf, sizeof(buf)));
	return -1;
}

static int get_addr(struct loader *ld, const config_setting_t *s, uint16_t *af,
		    union xl_inaddr *out)
{
	const char *v = NULL;
	int r = get_str(ld, s, &v);

	if (r <= 0)
		return r;
	if (xl_addr_parse(v, af, out)) {
		ld_err(ld, s, "%s: \"%s\" is not an IPv4 or IPv6 address",
		       config_setting_name(s), v);
		return -1;
	}
	return 1;
}

/* ---- key tables ------------------------------------------------------ */

/*
 * Each kind of group has a table of its keys, indexed by an enum.
 * keys_read() walks a group's members once, puts each in the slot of its
 * key and reports the ones that match no key: a typo must not silently
 * become a default.  One walk instead of one search per key is what keeps
 * half a million real servers quick.
 */
#define KEYS_MAX 24

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
	G_NKEYS
};

static const char *const global_keys[G_NKEYS] = {
    [G_LOG_LEVEL] = "log_level",
    [G_INCLUDE_DIR] = "include_dir",
    [G_OWNS_ALL] = "owns_all",
    [G_ON_STOP] = "on_stop",
    [G_RESYNC_INTERVAL] = "resync_interval",
    [G_DRAIN_TIMEOUT] = "drain_timeout",
    [G_CHECK] = "check",
    [G_MAX_SERVICES] = "max_services",
    [G_WATCH_INCLUDE_DIR] = "watch_include_dir",
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
	VS_NKEYS
};

static const char *const vs_keys[VS_NKEYS] = {
    [VS_NAME] = "name",
    [VS_VIP] = "vip",
    [VS_PORT] = "port",
    [VS_PROTOCOL] = "protocol",
    [VS_FWMARK] = "fwmark",
    [VS_FAMILY] = "family",
    [VS_SCHEDULER] = "scheduler",
    [VS_SCHEDULER_FLAGS] = "scheduler_flags",
    [VS_FORWARD] = "forward",
    [VS_TUNNEL] = "tunnel",
    [VS_PERSISTENCE_TIMEOUT] = "persistence_timeout",
    [VS_PERSISTENCE_NETMASK] = "persistence_netmask",
    [VS_ONE_PACKET] = "one_packet",
    [VS_REAL_SERVERS] = "real_servers",
    [VS_DRAIN_TIMEOUT] = "drain_timeout",
    [VS_INHIBIT_ON_FAILURE] = "inhibit_on_failure",
    [VS_SORRY_SERVER] = "sorry_server",
    [VS_QUORUM] = "quorum",
    [VS_CHECK] = "check",
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

static const char *const rs_keys[RS_NKEYS] = {
    [RS_ADDRESS] = "address",
    [RS_PORT] = "port",
    [RS_WEIGHT] = "weight",
    [RS_UPPER_THRESHOLD] = "upper_threshold",
    [RS_LOWER_THRESHOLD] = "lower_threshold",
    [RS_CHECK] = "check",
};

enum { TUN_TYPE, TUN_PORT, TUN_CHECKSUM, TUN_NKEYS };

static const char *const tunnel_keys[TUN_NKEYS] = {
    [TUN_TYPE] = "type",
    [TUN_PORT] = "port",
    [TUN_CHECKSUM] = "checksum",
};

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
	CK_METHOD,
	CK_PATH,
	CK_HOST,
	CK_STATUS,
	CK_EXPECT,
	CK_TLS_VERIFY,
	CK_CA_FILE,
	CK_SNI,
	CK_SEND,
	CK_COMMAND,
	CK_USER,
	CK_NKEYS
};

static const char *const check_keys[CK_NKEYS] = {
    [CK_TYPE] = "type",
    [CK_INTERVAL] = "interval",
    [CK_TIMEOUT] = "timeout",
    [CK_FAST_INTERVAL] = "fast_interval",
    [CK_DOWN_INTERVAL] = "down_interval",
    [CK_RISE] = "rise",
    [CK_FALL] = "fall",
    [CK_INITIAL_STATE] = "initial_state",
    [CK_CONNECT_IP] = "connect_ip",
    [CK_CONNECT_PORT] = "connect_port",
    [CK_METHOD] = "method",
    [CK_PATH] = "path",
    [CK_HOST] = "host",
    [CK_STATUS] = "status",
    [CK_EXPECT] = "expect",
    [CK_TLS_VERIFY] = "tls_verify",
    [CK_CA_FILE] = "ca_file",
    [CK_SNI] = "sni",
    [CK_SEND] = "send",
    [CK_COMMAND] = "command",
    [CK_USER] = "user",
};

_Static_assert(VS_NKEYS <= KEYS_MAX && CK_NKEYS <= KEYS_MAX &&
		   G_NKEYS <= KEYS_MAX && RS_NKEYS <= KEYS_MAX,
	       "struct keys is too small");

static const char *names_join(const char *const *names, size_t n, char *buf,
			      size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++)
		o +=
		    snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i]);
	return buf;
}

static void keys_read(struct loader *ld, const config_setting_t *grp,
		      const char *where, const char *const *names, size_t n,
		      struct keys *k)
{
	int len = config_setting_length(grp);
	char list[512];
	size_t j;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < len; i++) {
		config_setting_t *s = config_setting_get_elem(grp, i);
		const char *name = config_setting_name(s);

		for (j = 0; j < n && (names[j][0] != name[0] ||
				      strcmp(names[j], name));
		     j++)
			;
		if (j < n)
			k->s[j] = s;
		else
			ld_err(ld, s, "unknown key \"%s\" %s (known: %s)", name,
			       where, names_join(names, n, list, sizeof(list)));
	}
}

static const struct named log_levels[] = {
    {"error", XL_LOG_ERROR},
    {"warning", XL_LOG_WARNING},
    {"info", XL_LOG_INFO},
    {"debug", XL_LOG_DEBUG},
    {NULL, 0},
};

static const struct named on_stops[] = {
    {"keep", XL_ON_STOP_KEEP},
    {"remove", XL_ON_STOP_REMOVE},
    {NULL, 0},
};

static const struct named protocols[] = {
    {"tcp", IPPROTO_TCP},
    {"udp", IPPROTO_UDP},
    {"sctp", IPPROTO_SCTP},
    {NULL, 0},
};

static const struct named families[] = {
    {"inet", AF_INET},
    {"inet6", AF_INET6},
    {NULL, 0},
};

static const struct named forwards[] = {
    {"nat", IP_VS_CONN_F_MASQ},
    {"dr", IP_VS_CONN_F_DROUTE},
    {"tun", IP_VS_CONN_F_TUNNEL},
    {NULL, 0},
};

static const struct named tunnel_types[] = {
    {"ipip", IP_VS_CONN_F_TUNNEL_TYPE_IPIP},
    {"gue", IP_VS_CONN_F_TUNNEL_TYPE_GUE},
    {"gre", IP_VS_CONN_F_TUNNEL_TYPE_GRE},
    {NULL, 0},
};

static const struct named tunnel_csums[] = {
    {"none", IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM},
    {"csum", IP_VS_TUNNEL_ENCAP_FLAG_CSUM},
    {"remcsum", IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM},
    {NULL, 0},
};

static const struct named check_types[] = {
    {"tcp", XL_CHECK_TCP},
    {"http", XL_CHECK_HTTP},
    {"https", XL_CHECK_HTTPS},
    {"udp", XL_CHECK_UDP},
    {"script", XL_CHECK_SCRIPT},
    {"none", XL_CHECK_NONE},
    {NULL, 0},
};

static const struct named initial_states[] = {
    {"down", 0},
    {"up", 1},
    {NULL, 0},
};

/* ---- checks ---------------------------------------------------------- */

/* Every string a check owns, so that copy and free cannot miss one. */
#define CHECK_STRS(k)                                                          \
	{                                                                      \
		&(k)->method, &(k)->path, &(k)->host, &(k)->expect,            \
		    &(k)->ca_file, &(k)->sni, &(k)->send, &(k)->command,       \
		    &(k)->user                                                 \
	}

/*
 * The strings of a check are shared, with a count of their holders: every
 * real server inherits its service's check, and a reload copies unchanged
 * services from the snapshot in force, so a copy is a count taken, not a
 * string allocated (100,000 real servers would otherwise cost 300,000
 * small allocations on every load).  Only this file makes, copies and
 * frees them; readers see plain strings.
 */
struct shared_str {
	size_t holders;
	char s[];
};

static struct shared_str *shared_of(char *s)
{
	return (struct shared_str *)(void *)(s -
					     offsetof(struct shared_str, s));
}

static char *shared_new(const char *v)
{
	size_t n = strlen(v);
	struct shared_str *h = malloc(sizeof(*h) + n + 1);

	if (!h)
		return NULL;
	h->holders = 1;
	memcpy(h->s, v, n + 1);
	return h->s;
}

static char *shared_take(char *s)
{
	if (s)
		shared_of(s)->holders++;
	return s;
}

static void shared_drop(char *s)
{
	if (s && --shared_of(s)->holders == 0)
		free(shared_of(s));
}

static void check_free(struct xl_check_config *k)
{
	char **strs[] = CHECK_STRS(k);

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		shared_drop(*strs[i]);
		*strs[i] = NULL;
	}
}

/* A copy that shares src's strings: it cannot fail. */
static void check_copy(struct xl_check_config *dst,
		       const struct xl_check_config *src)
{
	char **strs[] = CHECK_STRS(dst);

	*dst = *src;
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		shared_take(*strs[i]);
}

static int check_defaults(struct xl_check_config *k)
{
	memset(k, 0, sizeof(*k));
	k->type = XL_CHECK_TCP;
	k->interval = 2.0;
	k->timeout = 1.0;
	k->rise = 2;
	k->fall = 3;
	k->connect_port = -1;
	k->tls_verify = true;
	k->method = shared_new("GET");
	k->path = shared_new("/");
	k->user = shared_new("nobody");
	if (!k->method || !k->path || !k->user) {
		check_free(k);
		return -ENOMEM;
	}
	return 0;
}

static void check_timing(struct loader *ld, const struct keys *g,
			 struct xl_check_config *k)
{
	long long v;
	int up;

	get_secs(ld, g->s[CK_INTERVAL], true, 0, SECS_MAX, &k->interval);
	get_secs(ld, g->s[CK_TIMEOUT], true, 0, SECS_MAX, &k->timeout);
	get_secs(ld, g->s[CK_FAST_INTERVAL], true, 0, SECS_MAX,
		 &k->fast_interval);
	get_secs(ld, g->s[CK_DOWN_INTERVAL], true, 0, SECS_MAX,
		 &k->down_interval);
	if (get_int(ld, g->s[CK_RISE], 1, 1000, &v) == 1)
		k->rise = (uint32_t)v;
	if (get_int(ld, g->s[CK_FALL], 1, 1000, &v) == 1)
		k->fall = (uint32_t)v;
	if (get_enum(ld, g->s[CK_INITIAL_STATE], initial_states, &up) == 1)
		k->initial_up = up;
}

static void check_target(struct loader *ld, const struct keys *g,
			 struct xl_check_config *k)
{
	union xl_inaddr a;
	uint16_t af;
	long long v;

	if (get_addr(ld, g->s[CK_CONNECT_IP], &af, &a) == 1) {
		k->has_connect_ip = true;
		k->connect_af = af;
		k->connect_ip = a;
	}
	if (get_int(ld, g->s[CK_CONNECT_PORT], 1, 65535, &v) == 1)
		k->connect_port = (int32_t)v;
}

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

enum str_rule { STR_ANY, STR_NONEMPTY, STR_TOKEN, STR_METHOD, STR_PATH };

static const struct check_str {
	int key;
	size_t off;
	enum str_rule rule;
} check_strs[] = {
    {CK_METHOD, offsetof(struct xl_check_config, method), STR_METHOD},
    {CK_PATH, offsetof(struct xl_check_config, path), STR_PATH},
    {CK_HOST, offsetof(struct xl_check_config, host), STR_TOKEN},
    {CK_EXPECT, offsetof(struct xl_check_config, expect), STR_ANY},
    {CK_CA_FILE, offsetof(struct xl_check_config, ca_file), STR_NONEMPTY},
    {CK_SNI, offsetof(struct xl_check_config, sni), STR_TOKEN},
    {CK_SEND, offsetof(struct xl_check_config, send), STR_ANY},
    {CK_COMMAND, offsetof(struct xl_check_config, command), STR_NONEMPTY},
    {CK_USER, offsetof(struct xl_check_config, user), STR_NONEMPTY},
};

/* NULL when s is fine for the rule, else why not.  These strings end up in
 * HTTP request lines and headers, where a space or CR/LF would corrupt the
 * request. */
static const char *str_problem(enum str_rule rule, const char *s)
{
	switch (rule) {
	case STR_ANY:
		return NULL;
	case STR_NONEMPTY:
		return *s ? NULL : "must not be empty";
	case STR_TOKEN:
		return *s && !has_space_or_ctl(s)
			   ? NULL
			   : "must be non-empty, without spaces or control "
			     "characters";
	case STR_METHOD:
		if (!*s || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(s))
			return "must be an HTTP method in capitals, like GET "
			       "or HEAD";
		return NULL;
	case STR_PATH:
		return s[0] == '/' && !has_space_or_ctl(s)
			   ? NULL
			   : "must start with \"/\" and have no spaces or "
			     "control characters";
	}
	return NULL;
}

static void check_strings(struct loader *ld, const struct keys *g,
			  struct xl_check_config *k)
{
	for (size_t i = 0; i < ARRAY_SIZE(check_strs); i++) {
		const struct check_str *cs = &check_strs[i];
		const config_setting_t *s = g->s[cs->key];
		char **dst = (char **)((char *)k + cs->off);
		const char *v = NULL, *why;
		char *copy;

		if (get_str(ld, s, &v) != 1)
			continue;
		why = str_problem(cs->rule, v);
		if (why) {
			ld_err(ld, s, "%s: \"%s\" %s", check_keys[cs->key], v,
			       why);
			continue;
		}
		copy = shared_new(v);
		if (!copy) {
			ld_oom(ld);
			continue;
		}
		shared_drop(*dst);
		*dst = copy;
	}
}

static bool three_digits(const char *s)
{
	return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	       isdigit((unsigned char)s[2]);
}

/* "200-299" or "404", exactly; 0 when it is neither. */
static int status_range(const char *s, struct xl_status_range *r)
{
	size_t n = strlen(s);

	if ((n != 3 && (n != 7 || s[3] != '-')) || !three_digits(s) ||
	    (n == 7 && !three_digits(s + 4)))
		return 0;
	r->lo = (uint16_t)atoi(s);
	r->hi = n == 7 ? (uint16_t)atoi(s + 4) : r->lo;
	return r->lo >= 100 && r->hi <= 599 && r->lo <= r->hi;
}

static int status_elem(struct loader *ld, const config_setting_t *e,
		       struct xl_status_range *r)
{
	long long v;

	switch (config_setting_type(e)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(e);
		if (v >= 100 && v <= 599) {
			r->lo = r->hi = (uint16_t)v;
			return 0;
		}
		ld_err(ld, e, "status: %lld is out of range 100-599", v);
		return -1;
	case CONFIG_TYPE_STRING:
		if (status_range(config_setting_get_string(e), r))
			return 0;
		ld_err(ld, e,
		       "status: \"%s\" is not a status code or a range of "
		       "codes like \"200-299\" (100-599)",
		       config_setting_get_string(e));
		return -1;
	default:
		ld_err(ld, e,
		       "wrong type for status entry: expected an integer or a "
		       "string like \"200-299\", got %s",
		       type_name(config_setting_type(e)));
		return -1;
	}
}

static void check_status(struct loader *ld, const config_setting_t *list,
			 struct xl_check_config *k)
{
	struct xl_status_range st[XL_STATUS_MAX];
	int n, bad = 0;

	if (typed(ld, list, K_LIST) != 1)
		return;
	n = config_setting_length(list);
	if (n > XL_STATUS_MAX) {
		ld_err(ld, list, "status: %d entries, at most %d are allowed",
		       n, XL_STATUS_MAX);
		return;
	}
	for (int i = 0; i < n; i++)
		bad |=
		    status_elem(ld, config_setting_get_elem(list, i), &st[i]);
	if (bad)
		return;
	memcpy(k->status, st, (size_t)n * sizeof(st[0]));
	k->nstatus = (size_t)n;
}

/* What runs a program as a chosen user comes only from files that only
 * root can write: anyone who may write include_dir could run anything as
 * root otherwise. */
static void untrusted_err(struct loader *ld, const config_setting_t *s,
			  const char *what)
{
	ld_err(ld, s,
	       "%s: accepted only from files that only root can write, and "
	       "this file is %s",
	       what, ld->untrusted_why);
}

static void check_untrusted(struct loader *ld, const struct keys *g)
{
	const char *type = NULL;

	if (ld->trusted)
		return;
	if (g->s[CK_TYPE] && (type = config_setting_get_string(g->s[CK_TYPE])) &&
	    !strcmp(type, "script"))
		untrusted_err(ld, g->s[CK_TYPE], "check type \"script\"");
	if (g->s[CK_COMMAND])
		untrusted_err(ld, g->s[CK_COMMAND], "command");
	if (g->s[CK_USER])
		untrusted_err(ld, g->s[CK_USER], "user");
}

/*
 * Lay a check group over k, which holds what the level above decided: a key
 * that is absent keeps the inherited value.  A group that sets type becomes
 * the origin that a missing script command is reported at.
 */
static void check_apply(struct loader *ld, const config_setting_t *grp,
			struct xl_check_config *k, struct origin *org,
			struct origin **eff)
{
	struct keys g;
	bool b;
	int t;

	if (typed(ld, grp, K_GROUP) != 1)
		return;
	keys_read(ld, grp, "in check", check_keys, CK_NKEYS, &g);
	check_untrusted(ld, &g);
	if (get_enum(ld, g.s[CK_TYPE], check_types, &t) == 1) {
		k->type = t;
		org->file = setting_file(ld, grp);
		org->line = line_of(grp);
		org->reported = false;
		*eff = org;
	}
	check_timing(ld, &g, k);
	check_target(ld, &g, k);
	check_strings(ld, &g, k);
	check_status(ld, g.s[CK_STATUS], k);
	if (get_bool(ld, g.s[CK_TLS_VERIFY], &b) == 1)
		k->tls_verify = b;
}

/* Called on every check that is actually used (a real server's, or the
 * service's when it has none yet). */
static void check_script(struct loader *ld, const struct xl_check_config *k,
			 struct origin *eff)
{
	if (k->type != XL_CHECK_SCRIPT || k->command || !eff || eff->reported)
		return;
	eff->reported = true;
	ld_err_at(ld, eff->file, eff->line,
		  "check type \"script\" needs a command (set command in this "
		  "check or in one that inherits it)");
}

/* ---- virtual services ------------------------------------------------ */

struct vs_ctx {
	struct xl_vs_config *vs;
	const config_setting_t *grp;
	struct keys k;
	bool id_ok; /* identity complete: join the duplicate search */
	bool sched_ok;
	bool fwd_ok;
	struct xl_dest tmpl; /* the forwarding every destination gets */
	struct origin org;   /* this service's check type, if it sets one */
	struct origin *eff;
};

static const char *family_name(uint16_t af)
{
	return af == AF_INET6 ? "IPv6" : "IPv4";
}

static void vs_name(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *s = x->k.s[VS_NAME];
	const char *v = NULL;
	int r = get_str(ld, s, &v);

	if (r == 0) {
		ld_err(ld, x->grp, "virtual service has no name (required)");
		return;
	}
	if (r < 0)
		return;
	if (!*v || strpbrk(v, "\t\n\r")) {
		ld_err(ld, s, "name: must be non-empty and on one line");
		return;
	}
	x->vs->name = strdup(v);
	if (!x->vs->name)
		ld_oom(ld);
}

static void vs_vip(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	long long port;
	int proto = IPPROTO_TCP;
	int r;

	if (get_addr(ld, x->k.s[VS_VIP], &svc->af, &svc->addr) != 1)
		x->id_ok = false;
	r = get_int(ld, x->k.s[VS_PORT], 1, 65535, &port);
	if (r == 0)
		ld_err(ld, x->grp,
		       "virtual service with a vip needs a port (1-65535)");
	if (r == 1)
		svc->port = (uint16_t)port;
	else
		x->id_ok = false;
	if (get_enum(ld, x->k.s[VS_PROTOCOL], protocols, &proto) < 0)
		x->id_ok = false;
	svc->protocol = (uint16_t)proto;
	if (x->k.s[VS_FAMILY])
		ld_err(ld, x->k.s[VS_FAMILY],
		       "family is only for fwmark services: a vip service has "
		       "its address's family");
}

static void vs_fwmark(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	long long mark;
	int af = AF_INET;

	if (get_int(ld, x->k.s[VS_FWMARK], 1, 4294967295LL, &mark) == 1)
		svc->fwmark = (uint32_t)mark;
	else
		x->id_ok = false;
	if (get_enum(ld, x->k.s[VS_FAMILY], families, &af) < 0)
		x->id_ok = false;
	else
		svc->af = (uint16_t)af;
	if (x->k.s[VS_PORT])
		ld_err(ld, x->k.s[VS_PORT],
		       "port is not used with fwmark: the mark selects the "
		       "traffic (give ports to the real servers)");
	if (x->k.s[VS_PROTOCOL])
		ld_err(ld, x->k.s[VS_PROTOCOL],
		       "protocol is not used with fwmark: the mark selects the "
		       "traffic");
}

static void vs_identity(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *vip = x->k.s[VS_VIP];
	const config_setting_t *mark = x->k.s[VS_FWMARK];

	if (vip && mark) {
		ld_err(ld, mark,
		       "virtual service has both vip and fwmark: it is either "
		       "a vip with port and protocol, or a fwmark");
		x->id_ok = false;
	} else if (!vip && !mark) {
		ld_err(ld, x->grp,
		       "virtual service needs either a vip (with port and "
		       "protocol) or a fwmark");
		x->id_ok = false;
	} else if (vip) {
		vs_vip(ld, x);
	} else {
		vs_fwmark(ld, x);
	}
}

static const struct sched_flag {
	const char *name;
	const char *sched; /* NULL: any scheduler */
	uint32_t flag;
} sched_flags[] = {
    {"sh-fallback", "sh", IP_VS_SVC_F_SCHED1},
    {"sh-port", "sh", IP_VS_SVC_F_SCHED2},
    {"mh-fallback", "mh", IP_VS_SVC_F_SCHED1},
    {"mh-port", "mh", IP_VS_SVC_F_SCHED2},
    {"flag-1", NULL, IP_VS_SVC_F_SCHED1},
    {"flag-2", NULL, IP_VS_SVC_F_SCHED2},
    {"flag-3", NULL, IP_VS_SVC_F_SCHED3},
};

static void vs_sched_flag(struct loader *ld, struct vs_ctx *x,
			  const config_setting_t *e)
{
	struct xl_service *svc = &x->vs->svc;
	const char *s;

	if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		ld_err(ld, e,
		       "wrong type for scheduler_flags entry: expected a "
		       "string, got %s",
		       type_name(config_setting_type(e)));
		return;
	}
	s = config_setting_get_string(e);
	for (size_t i = 0; i < ARRAY_SIZE(sched_flags); i++) {
		const struct sched_flag *f = &sched_flags[i];

		if (strcmp(s, f->name))
			continue;
		if (f->sched && x->sched_ok && strcmp(f->sched, svc->sched))
			ld_err(ld, e,
			       "scheduler_flags: \"%s\" needs scheduler \"%s\" "
			       "(scheduler is \"%s\")",
			       s, f->sched, svc->sched);
		else
			svc->flags |= f->flag;
		return;
	}
	ld_err(ld, e,
	       "scheduler_flags: unknown flag \"%s\" (known: sh-fallback, "
	       "sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)",
	       s);
}

static void vs_scheduler(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	const config_setting_t *flags = x->k.s[VS_SCHEDULER_FLAGS];
	const char *s = "wlc";
	size_t len;
	int r, n;

	r = get_str(ld, x->k.s[VS_SCHEDULER], &s);
	len = strlen(s);
	if (r >= 0 &&
	    (!len || len >= XL_SCHED_MAX ||
	     strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)) {
		ld_err(ld, x->k.s[VS_SCHEDULER],
		       "scheduler: \"%s\" is not a scheduler name (1-%d "
		       "characters of a-z, 0-9, _)",
		       s, XL_SCHED_MAX - 1);
		r = -1;
	}
	x->sched_ok = r >= 0;
	/* the length was checked above, so this copy is never cut */
	snprintf(svc->sched, sizeof(svc->sched), "%s", x->sched_ok ? s : "wlc");
	if (typed(ld, flags, K_LIST) != 1)
		return;
	n = config_setting_length(flags);
	for (int i = 0; i < n; i++)
		vs_sched_flag(ld, x, config_setting_get_elem(flags, i));
}

static void vs_tunnel(struct loader *ld, struct vs_ctx *x,
		      const config_setting_t *tun)
{
	int type = IP_VS_CONN_F_TUNNEL_TYPE_IPIP;
	int csum = IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM;
	long long port = 0;
	struct keys t;
	int rt, rp, rc;

	keys_read(ld, tun, "in tunnel", tunnel_keys, TUN_NKEYS, &t);
	rt = get_enum(ld, t.s[TUN_TYPE], tunnel_types, &type);
	rp = get_int(ld, t.s[TUN_PORT], 1, 65535, &port);
	rc = get_enum(ld, t.s[TUN_CHECKSUM], tunnel_csums, &csum);
	x->tmpl.tun_type = (uint8_t)type;
	x->tmpl.tun_port = (uint16_t)port;
	x->tmpl.tun_flags = (uint16_t)csum;
	/* the rules tie the keys together: judge them only when all are valid
	 */
	if (rt < 0 || rp < 0 || rc < 0)
		return;
	if (type == IP_VS_CONN_F_TUNNEL_TYPE_GUE && rp == 0)
		ld_err(ld, tun,
		       "tunnel type \"gue\" needs a port (the UDP port the "
		       "real servers decapsulate GUE on)");
	if (type != IP_VS_CONN_F_TUNNEL_TYPE_GUE && rp == 1)
		ld_err(ld, t.s[TUN_PORT],
		       "tunnel port is only used with type \"gue\" (type is "
		       "\"%s\")",
		       named_name(tunnel_types, type));
	if (csum == IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM &&
	    type != IP_VS_CONN_F_TUNNEL_TYPE_GUE)
		ld_err(ld, t.s[TUN_CHECKSUM],
		       "tunnel checksum \"remcsum\" needs type \"gue\" (type "
		       "is \"%s\")",
		       named_name(tunnel_types, type));
	if (csum == IP_VS_TUNNEL_ENCAP_FLAG_CSUM &&
	    type == IP_VS_CONN_F_TUNNEL_TYPE_IPIP)
		ld_err(ld, t.s[TUN_CHECKSUM],
		       "tunnel checksum \"csum\" needs type \"gue\" or \"gre\" "
		       "(ipip carries no checksum)");
}

static void vs_forward(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *tun = x->k.s[VS_TUNNEL];
	int fwd = IP_VS_CONN_F_MASQ;

	x->fwd_ok = get_enum(ld, x->k.s[VS_FORWARD], forwards, &fwd) >= 0;
	x->tmpl.fwd = (uint32_t)fwd;
	if (typed(ld, tun, K_GROUP) != 1)
		return;
	if (x->fwd_ok && fwd != IP_VS_CONN_F_TUNNEL) {
		ld_err(ld, tun,
		       "tunnel is only used with forward \"tun\" (forward is "
		       "\"%s\")",
		       xl_fwd_name((uint32_t)fwd));
		return;
	}
	vs_tunnel(ld, x, tun);
}

/* v4: a dotted contiguous mask or a prefix length; v6: a prefix length. */
static void vs_netmask(struct loader *ld, const config_setting_t *s,
		       struct xl_service *svc)
{
	int type = config_setting_type(s);
	bool v6 = svc->af == AF_INET6;
	long long p;
	struct in_addr a;
	uint32_t inv;
	bool ok;

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
		p = config_setting_get_int64(s);
		if (p < (v6 ? 1 : 0) || p > (v6 ? 128 : 32))
			ld_err(ld, s,
			       "persistence_netmask: %lld is out of range "
			       "%d-%d (an %s prefix length)",
			       p, v6 ? 1 : 0, v6 ? 128 : 32,
			       family_name(svc->af));
		else if (v6)
			svc->netmask = (uint32_t)p;
		else
			svc->netmask = htonl(p ? 0xffffffffu << (32 - p) : 0);
	} else if (type == CONFIG_TYPE_STRING && !v6) {
		ok = inet_pton(AF_INET, config_setting_get_string(s), &a) == 1;
		/* contiguous: the host part, plus one, is a power of two */
		inv = ok ? ~ntohl(a.s_addr) : 0;
		if (!ok || (inv & (inv + 1)))
			ld_err(ld, s,
			       "persistence_netmask: \"%s\" is not a "
			       "contiguous IPv4 netmask like \"255.255.255.0\"",
			       config_setting_get_string(s));
		else
			svc->netmask = a.s_addr;
	} else if (type == CONFIG_TYPE_STRING) {
		ld_err(ld, s,
		       "persistence_netmask: an IPv6 service takes a prefix "
		       "length 1-128, not \"%s\"",
		       config_setting_get_string(s));
	} else {
		ld_err(ld, s,
		       "wrong type for persistence_netmask: expected a string "
		       "or an integer, got %s",
		       type_name(type));
	}
}

static void vs_persistence(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	const config_setting_t *mask = x->k.s[VS_PERSISTENCE_NETMASK];
	long long t = 0;
	int r;

	/* IPVS stores a netmask even without persistence; say so explicitly
	 * so a dump of the kernel compares equal */
	svc->netmask = svc->af == AF_INET6 ? 128 : 0xffffffffu;
	r = get_int(ld, x->k.s[VS_PERSISTENCE_TIMEOUT], 0, LONG_SECS_MAX, &t);
	if (r == 1 && t > 0) {
		svc->flags |= IP_VS_SVC_F_PERSISTENT;
		svc->timeout = (uint32_t)t;
	}
	if (!mask || r < 0)
		return;
	if (t == 0)
		ld_err(ld, mask,
		       "persistence_netmask needs persistence_timeout > 0");
	else if (svc->af)
		vs_netmask(ld, mask, svc);
}

static void vs_options(struct loader *ld, struct vs_ctx *x)
{
	struct xl_vs_config *vs = x->vs;
	struct xl_service *svc = &vs->svc;
	bool one = false;
	long long q;

	if (get_bool(ld, x->k.s[VS_ONE_PACKET], &one) == 1 && one) {
		if (svc->fwmark || svc->protocol == IPPROTO_UDP)
			svc->flags |= IP_VS_SVC_F_ONEPACKET;
		else if (x->id_ok)
			ld_err(ld, x->k.s[VS_ONE_PACKET],
			       "one_packet is only for udp or fwmark services "
			       "(protocol is \"%s\")",
			       named_name(protocols, svc->protocol));
	}
	vs->drain_timeout = ld->c->drain_timeout;
	get_secs(ld, x->k.s[VS_DRAIN_TIMEOUT], false, 0, LONG_SECS_MAX,
		 &vs->drain_timeout);
	get_bool(ld, x->k.s[VS_INHIBIT_ON_FAILURE], &vs->inhibit_on_failure);
	vs->quorum = 1;
	if (get_int(ld, x->k.s[VS_QUORUM], 0, 4294967295LL, &q) == 1)
		vs->quorum = (uint32_t)q;
}

static void vs_check(struct loader *ld, struct vs_ctx *x)
{
	check_copy(&x->vs->check, &ld->c->check);
	x->eff = ld->global_eff;
	if (x->k.s[VS_CHECK])
		check_apply(ld, x->k.s[VS_CHECK], &x->vs->check, &x->org,
			    &x->eff);
	/* a script check set in the main file's global group runs for the
	 * addresses this file names: not from a file others can write */
	if (!ld->trusted && x->eff == ld->global_eff &&
	    x->vs->check.type == XL_CHECK_SCRIPT)
		untrusted_err(ld, x->grp,
			      "a script check (inherited from global)");
}

/* ---- real servers and the sorry server ------------------------------- */

/* A destination of another family than its service: the kernel takes it
 * only when the traffic is tunnelled, and says EINVAL otherwise. */
static void dest_family(struct loader *ld, const struct vs_ctx *x,
			const config_setting_t *addr, const struct xl_dest *d)
{
	uint16_t saf = x->vs->svc.af;
	char buf[XL_ADDRSTR_MAX];

	if (!saf || d->af == saf || !x->fwd_ok ||
	    x->tmpl.fwd == IP_VS_CONN_F_TUNNEL)
		return;
	ld_err(ld, addr,
	       "address %s is %s but the service is %s: IPVS mixes address "
	       "families only with forward \"tun\"",
	       xl_addr_format(d->af, &d->addr, buf, sizeof(buf)),
	       family_name(d->af), family_name(saf));
}

/* dr and tun do not rewrite the destination port: the packet reaches the
 * real server on the port the client sent it to. */
static void dest_port(struct loader *ld, const struct vs_ctx *x,
		      const config_setting_t *s, struct xl_dest *d)
{
	const struct xl_service *svc = &x->vs->svc;
	uint16_t want = svc->fwmark ? 0 : svc->port;
	long long port;
	int r;

	d->port = want;
	r = get_int(ld, s, 0, 65535, &port);
	if (r < 0)
		d->af = 0; /* its real port is unknown: no duplicate search */
	if (r != 1)
		return;
	d->port = (uint16_t)port;
	if (!x->id_ok || !x->fwd_ok || x->tmpl.fwd == IP_VS_CONN_F_MASQ ||
	    port == want)
		return;
	if (svc->fwmark)
		ld_err(ld, s,
		       "port %lld: with forward \"%s\" IPVS forwards traffic "
		       "to the port the client used, so a fwmark service's "
		       "real servers have port 0 (or none)",
		       port, xl_fwd_name(x->tmpl.fwd));
	else
		ld_err(ld, s,
		       "port %lld differs from the service port %u: with "
		       "forward \"%s\" IPVS forwards traffic to the service "
		       "port (omit port or set %u)",
		       port, want, xl_fwd_name(x->tmpl.fwd), want);
}

/* The address and port of a real or sorry server: k holds RS_ADDRESS and
 * RS_PORT. */
static void dest_endpoint(struct loader *ld, const struct vs_ctx *x,
			  const config_setting_t *grp, const struct keys *k,
			  struct xl_dest *d, const char *what)
{
	int r;

	*d = x->tmpl;
	r = get_addr(ld, k->s[RS_ADDRESS], &d->af, &d->addr);
	if (r == 0)
		ld_err(ld, grp, "%s has no address (required)", what);
	if (r == 1)
		dest_family(ld, x, k->s[RS_ADDRESS], d);
	else
		d->af = 0; /* keep it out of the duplicate search */
	dest_port(ld, x, k->s[RS_PORT], d);
}

static void rs_thresholds(struct loader *ld, const struct keys *k,
			  struct xl_dest *d)
{
	const config_setting_t *lower = k->s[RS_LOWER_THRESHOLD];
	long long up = 0, low = 0;
	int ru, rl;

	ru = get_int(ld, k->s[RS_UPPER_THRESHOLD], 0, THRESH_MAX, &up);
	rl = get_int(ld, lower, 0, THRESH_MAX, &low);
	d->u_thresh = (uint32_t)up;
	d->l_thresh = (uint32_t)low;
	if (rl != 1 || ru < 0 || low == 0)
		return;
	if (up == 0)
		ld_err(ld, lower,
		       "lower_threshold needs an upper_threshold above 0 (the "
		       "server is paused above upper and resumes below lower)");
	else if (low > up)
		ld_err(ld, lower,
		       "lower_threshold %lld is above upper_threshold %lld",
		       low, up);
}

static void rs_parse(struct loader *ld, struct vs_ctx *x,
		     const config_setting_t *grp, size_t i)
{
	struct xl_rs_config *r = &x->vs->reals[i];
	struct xl_dest *d = &x->vs->svc.dests[i];
	struct origin org = {0}, *eff = x->eff;
	struct keys k;
	long long w;

	r->file = setting_file(ld, grp);
	r->line = line_of(grp);
	keys_read(ld, grp, "in real server", rs_keys, RS_NKEYS, &k);
	dest_endpoint(ld, x, grp, &k, d, "real server");
	d->weight = 1;
	if (get_int(ld, k.s[RS_WEIGHT], 0, 65535, &w) == 1)
		d->weight = (int32_t)w;
	rs_thresholds(ld, &k, d);
	r->check = x->vs->reals_check;
	if (k.s[RS_CHECK]) {
		r->check = malloc(sizeof(*r->check));
		if (!r->check) {
			ld_oom(ld);
			return;
		}
		check_copy(r->check, &x->vs->check);
		check_apply(ld, k.s[RS_CHECK], r->check, &org, &eff);
	}
	check_script(ld, r->check, eff);
}

static int dest_ptr_cmp(const void *a, const void *b)
{
	const struct xl_dest *x = *(const struct xl_dest *const *)a;
	const struct xl_dest *y = *(const struct xl_dest *const *)b;
	int c = xl_dest_cmp(x, y);

	/* among equals, keep file order so the first one is named first */
	return c ? c : (x > y) - (x < y);
}

/* Sorting, not comparing all pairs: reloads stay fast at any size. */
static void rs_dupes(struct loader *ld, const struct xl_vs_config *vs)
{
	const struct xl_dest *small[32], **v = small;
	const struct xl_rs_config *a, *b;
	char buf[XL_ADDRSTR_MAX + 8];
	size_t n = 0, first = 0;

	if (vs->svc.ndests > ARRAY_SIZE(small))
		v = malloc(vs->svc.ndests * sizeof(*v));
	if (!v) {
		ld_oom(ld);
		return;
	}
	for (size_t i = 0; i < vs->svc.ndests; i++)
		if (vs->svc.dests[i].af)
			v[n++] = &vs->svc.dests[i];
	qsort(v, n, sizeof(*v), dest_ptr_cmp);
	for (size_t i = 1; i < n; i++) {
		if (xl_dest_cmp(v[first], v[i])) {
			first = i;
			continue;
		}
		a = &vs->reals[v[first] - vs->svc.dests];
		b = &vs->reals[v[i] - vs->svc.dests];
		ld_err_at(ld, b->file, b->line,
			  "duplicate real server %s (first defined at %s:%d)",
			  xl_dest_format(v[i], buf, sizeof(buf)), a->file,
			  a->line);
	}
	if (v != small)
		free(v);
}

static void vs_reals(struct loader *ld, struct vs_ctx *x)
{
	struct xl_vs_config *vs = x->vs;
	const config_setting_t *list = x->k.s[VS_REAL_SERVERS];
	config_setting_t *e;
	int n = 0;

	if (typed(ld, list, K_LIST) == 1)
		n = config_setting_length(list);
	if (n == 0) {
		/* the check real servers will get when they are added */
		check_script(ld, &vs->check, x->eff);
		return;
	}
	vs->reals = calloc(1, (size_t)n * sizeof(*vs->reals) +
				  sizeof(struct xl_check_config));
	vs->svc.dests = calloc((size_t)n, sizeof(*vs->svc.dests));
	if (!vs->reals || !vs->svc.dests) {
		free(vs->reals);
		vs->reals = NULL;
		ld_oom(ld);
		return;
	}
	vs->svc.ndests = (size_t)n;
	/* most real servers run the service's check: one copy for them all */
	vs->reals_check = (struct xl_check_config *)(vs->reals + n);
	check_copy(vs->reals_check, &vs->check);
	for (int i = 0; i < n; i++) {
		e = config_setting_get_elem(list, i);
		if (config_setting_type(e) == CONFIG_TYPE_GROUP)
			rs_parse(ld, x, e, (size_t)i);
		else
			ld_err(ld, e,
			       "real_servers: entry %d is %s, expected a group "
			       "{ address = ...; }",
			       i + 1, type_name(config_setting_type(e)));
	}
	rs_dupes(ld, vs);
}

static void vs_sorry(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *grp = x->k.s[VS_SORRY_SERVER];
	struct keys k;

	if (typed(ld, grp, K_GROUP) != 1)
		return;
	keys_read(ld, grp, "in sorry_server", rs_keys, RS_NDEST, &k);
	dest_endpoint(ld, x, grp, &k, &x->vs->sorry, "sorry_server");
	x->vs->sorry.weight = 1;
	x->vs->has_sorry = true;
}

/* A new zeroed entry at the end of c->vs; NULL (oom noted) on failure. */
/* A zeroed service at the end; own: with a share of its own (not taken
 * over from prev). */
static struct xl_vs_config *vs_slot(struct loader *ld, bool own)
{
	struct xl_config *c = ld->c;
	struct xl_vs_config *vs;
	size_t cap;

	if (c->nvs == ld->cap_vs) {
		cap = ld->cap_vs ? 2 * ld->cap_vs : 16;
		vs = realloc(c->vs, cap * sizeof(*vs));
		if (!vs) {
			ld_oom(ld);
			return NULL;
		}
		c->vs = vs;
		ld->cap_vs = cap;
	}
	vs = &c->vs[c->nvs++];
	memset(vs, 0, sizeof(*vs));
	vs->prev = XL_VS_NONE;
	if (!own)
		return vs;
	if (!(vs->share = calloc(1, sizeof(*vs->share)))) {
		c->nvs--;
		ld_oom(ld);
		return NULL;
	}
	vs->share->holders = 1;
	return vs;
}

static struct xl_vs_config *vs_append(struct loader *ld,
				      const config_setting_t *grp)
{
	struct xl_vs_config *vs = vs_slot(ld, true);

	if (!vs)
		return NULL;
	vs->file = setting_file(ld, grp);
	vs->line = line_of(grp);
	return vs;
}

static void vs_parse(struct loader *ld, const config_setting_t *grp)
{
	struct vs_ctx x = {.grp = grp, .id_ok = true};

	x.vs = vs_append(ld, grp);
	if (!x.vs)
		return;
	keys_read(ld, grp, "in virtual service", vs_keys, VS_NKEYS, &x.k);
	vs_name(ld, &x);
	vs_identity(ld, &x);
	vs_scheduler(ld, &x);
	vs_forward(ld, &x);
	vs_persistence(ld, &x);
	vs_options(ld, &x);
	vs_check(ld, &x);
	vs_reals(ld, &x);
	vs_sorry(ld, &x);
	if (!x.id_ok)
		x.vs->svc.af = 0; /* keep it out of the duplicate search */
}

static void vs_list(struct loader *ld, const config_setting_t *list)
{
	int n = config_setting_length(list);

	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(list, i);

		if (config_setting_type(e) == CONFIG_TYPE_GROUP)
			vs_parse(ld, e);
		else
			ld_err(ld, e,
			       "virtual_services: entry %d is %s, expected a "
			       "group { name = ...; }",
			       i + 1, type_name(config_setting_type(e)));
	}
}

/* Services by index, in identity or name order (ties: reading order). */
static int vs_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct xl_config *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = xl_service_cmp(&c->vs[x].svc, &c->vs[y].svc);

	return r ? r : (x > y) - (x < y);
}

static int name_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct xl_config *c = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(c->vs[x].name, c->vs[y].name);

	return r ? r : (x > y) - (x < y);
}

/*
 * The indexes of c's services in cmp's order.  Those taken over from prev
 * (vs[i].prev, set by include_reuse) are already in order in prev's index
 * (prev_order); only the others are sorted, then the two lists are merged:
 * a reload that changed k of n services costs O(n + k log k), not
 * O(n log n).  A service whose identity (or name) is unknown (an error was
 * reported) is left out.  NULL when out of memory.
 */
static size_t *vs_order(struct loader *ld, const size_t *prev_order,
			bool by_name, size_t *count)
{
	const struct xl_config *c = ld->c, *prev = ld->prev;
	int (*cmp)(const void *, const void *, void *) =
	    by_name ? name_idx_cmp : vs_idx_cmp;
	size_t n = c->nvs ? c->nvs : 1, np = 0, nf = 0, m = 0, i = 0, j = 0;
	size_t *out = malloc(n * sizeof(*out)), *fresh = malloc(n * sizeof(*fresh));
	size_t *taken = malloc(n * sizeof(*taken)), *map = NULL;

	if (!out || !fresh || !taken)
		goto oom;
	if (prev && prev_order && prev->nvs) {
		if (!(map = malloc(prev->nvs * sizeof(*map))))
			goto oom;
		for (size_t p = 0; p < prev->nvs; p++)
			map[p] = XL_VS_NONE;
		for (size_t v = 0; v < c->nvs; v++)
			if (c->vs[v].prev != XL_VS_NONE)
				map[c->vs[v].prev] = v;
		for (size_t k = 0; k < prev->nvs; k++)
			if (map[prev_order[k]] != XL_VS_NONE)
				taken[np++] = map[prev_order[k]];
	}
	for (size_t v = 0; v < c->nvs; v++)
		if ((!map || c->vs[v].prev == XL_VS_NONE) &&
		    (by_name ? c->vs[v].name != NULL : c->vs[v].svc.af != 0))
			fresh[nf++] = v;
	qsort_r(fresh, nf, sizeof(*fresh), cmp, (void *)c);
	while (i < np || j < nf)
		out[m++] = j == nf || (i < np && cmp(&taken[i], &fresh[j],
						     (void *)c) < 0)
			       ? taken[i++]
			       : fresh[j++];
	free(map);
	free(fresh);
	free(taken);
	*count = m;
	return out;
oom:
	free(out);
	free(fresh);
	free(taken);
	ld_oom(ld);
	return NULL;
}

/* Equal by identity (or name)?  Two taken over from prev are distinct:
 * they were there already. */
static bool vs_same(const struct xl_vs_config *vs, size_t a, size_t b,
		    bool by_name)
{
	if (vs[a].prev != XL_VS_NONE && vs[b].prev != XL_VS_NONE)
		return false;
	return by_name ? !strcmp(vs[a].name, vs[b].name)
		       : !xl_service_cmp(&vs[a].svc, &vs[b].svc);
}

/* g[v]: the group of the services equal to v, numbered along order (in
 * which equal ones are next to each other); XL_VS_NONE for a service left
 * out of it.  true when a group has more than one. */
static bool vs_groups(const struct loader *ld, const size_t *order, size_t n,
		      bool by_name, size_t *g)
{
	const struct xl_vs_config *vs = ld->c->vs;
	size_t grp = 0;
	bool dupes = false;

	for (size_t v = 0; v < ld->c->nvs; v++)
		g[v] = XL_VS_NONE;
	for (size_t k = 0; k < n; k++) {
		if (k && vs_same(vs, order[k - 1], order[k], by_name))
			dupes = true;
		else if (k)
			grp++;
		g[order[k]] = grp;
	}
	return dupes;
}

/* v repeats first: an error in the main file; in an include_dir file, v
 * is refused alone. */
static void vs_dupe_report(struct loader *ld, size_t v, size_t first,
			   bool by_name)
{
	const struct xl_vs_config *a = &ld->c->vs[first], *b = &ld->c->vs[v];
	struct xl_errors *errs = ld->errs;
	bool refuse = v >= ld->main_nvs;
	const char *tail = refuse ? ": refused, the first one stays" : "";
	char buf[XL_ADDRSTR_MAX + 32];

	if (refuse)
		ld->errs = &ld->c->refused;
	if (by_name)
		ld_err_at(ld, b->file, b->line,
			  "duplicate virtual service name \"%s\" (first "
			  "defined at %s:%d)%s",
			  b->name, a->file, a->line, tail);
	else
		ld_err_at(ld, b->file, b->line,
			  "duplicate virtual service %s (first defined at "
			  "%s:%d)%s",
			  xl_service_format(&b->svc, buf, sizeof(buf)), a->file,
			  a->line, tail);
	if (!refuse)
		return;
	ld->errs = errs;
	ld->nerr--;
	if (!ld->drop[v])
		ld->c->nrefused_vs++;
	ld->drop[v] = true;
}

/*
 * In reading order, each service takes its identity and its name unless
 * one before it holds either: the main file wins, then the include_dir
 * files in name order.  One refused holds nothing, so a later service
 * equal only to it stands.
 */
static void vs_dupes_resolve(struct loader *ld, const size_t *gid,
			     const size_t *gname)
{
	size_t n = ld->c->nvs, *hid = malloc(n * sizeof(*hid));
	size_t *hname = malloc(n * sizeof(*hname));

	ld->drop = calloc(n, sizeof(*ld->drop));
	if (!hid || !hname || !ld->drop) {
		ld_oom(ld);
		goto out;
	}
	for (size_t v = 0; v < n; v++)
		hid[v] = hname[v] = XL_VS_NONE;
	for (size_t v = 0; v < n; v++) {
		size_t *hi = gid[v] != XL_VS_NONE ? &hid[gid[v]] : NULL;
		size_t *hn = gname[v] != XL_VS_NONE ? &hname[gname[v]] : NULL;

		if (hi && *hi != XL_VS_NONE)
			vs_dupe_report(ld, v, *hi, false);
		if (hn && *hn != XL_VS_NONE)
			vs_dupe_report(ld, v, *hn, true);
		if (ld->drop[v])
			continue;
		if (hi && *hi == XL_VS_NONE)
			*hi = v;
		if (hn && *hn == XL_VS_NONE)
			*hn = v;
	}
out:
	free(hid);
	free(hname);
}

/* The refused duplicates out of the snapshot.  Their files' stamps
 * follow, and those files are read again at the next reload, so that the
 * refusal is reported again until it is fixed. */
static void vs_drop_refused(struct loader *ld)
{
	struct xl_config *c = ld->c;
	size_t *kept = malloc((c->nvs + 1) * sizeof(*kept)), w = 0;

	if (!kept) {
		ld_oom(ld);
		return;
	}
	for (size_t v = 0; v < c->nvs; v++) {
		kept[v] = w;
		if (ld->drop[v])
			vs_free(&c->vs[v]);
		else
			c->vs[w++] = c->vs[v];
	}
	kept[c->nvs] = w;
	for (size_t i = 0; i < c->nstamps; i++) {
		struct xl_file_stamp *t = &c->stamps[i];
		size_t nvs = kept[t->vs_first + t->nvs] - kept[t->vs_first];

		t->reusable = t->reusable && nvs == t->nvs;
		t->vs_first = kept[t->vs_first];
		t->nvs = nvs;
	}
	c->nvs = w;
	free(kept);
}

/* Duplicates reported (or refused); the orders kept for lookups and the
 * next reload. */
static void vs_dupes(struct loader *ld)
{
	struct xl_config *c = ld->c;
	const size_t *pid = ld->prev ? ld->prev->by_id : NULL;
	const size_t *pname = ld->prev ? ld->prev->by_name : NULL;
	size_t nid = 0, nname = 0, n = c->nvs ? c->nvs : 1;
	size_t *id = vs_order(ld, pid, false, &nid);
	size_t *name = vs_order(ld, pname, true, &nname);
	size_t *gid = malloc(n * sizeof(*gid)), *gname = malloc(n * sizeof(*gname));

	if (!gid || !gname)
		ld_oom(ld);
	else if (id && name && (vs_groups(ld, id, nid, false, gid) |
				vs_groups(ld, name, nname, true, gname)))
		vs_dupes_resolve(ld, gid, gname);
	free(gid);
	free(gname);
	if (c->nrefused_vs && !ld->nerr && !ld->oom) {
		vs_drop_refused(ld);
		free(id);
		free(name);
		id = vs_order(ld, pid, false, &nid);
		name = vs_order(ld, pname, true, &nname);
	}
	if (ld->nerr || ld->oom || !id || !name || nid != c->nvs ||
	    nname != c->nvs) {
		free(id);
		free(name);
		return;
	}
	c->by_id = id;
	c->by_name = name;
}

/* ---- files ----------------------------------------------------------- */

static void global_include_dir(struct loader *ld, const config_setting_t *s)
{
	const char *dir = NULL, *main = ld->c->files[0], *slash;
	int n;

	if (get_str(ld, s, &dir) != 1)
		return;
	if (!*dir) {
		ld_err(ld, s, "include_dir: must not be empty");
		return;
	}
	ld->incdir_file = setting_file(ld, s);
	ld->incdir_line = line_of(s);
	slash = strrchr(main, '/');
	/* relative to the main file, not to wherever extlbd was started */
	if (dir[0] == '/' || !slash)
		n = asprintf(&ld->c->include_dir, "%s", dir);
	else
		n = asprintf(&ld->c->include_dir, "%.*s/%s",
			     (int)(slash - main), main, dir);
	if (n < 0) {
		ld->c->include_dir = NULL;
		ld_oom(ld);
	}
}

static void global_parse(struct loader *ld, const config_setting_t *grp)
{
	struct xl_config *c = ld->c;
	struct keys g;
	long long n;
	int v;

	keys_read(ld, grp, "in global", global_keys, G_NKEYS, &g);
	if (get_enum(ld, g.s[G_LOG_LEVEL], log_levels, &v) == 1)
		c->log_level = v;
	if (get_enum(ld, g.s[G_ON_STOP], on_stops, &v) == 1)
		c->on_stop = v;
	get_bool(ld, g.s[G_OWNS_ALL], &c->owns_all);
	get_secs(ld, g.s[G_RESYNC_INTERVAL], true, 0, SECS_MAX,
		 &c->resync_interval);
	get_secs(ld, g.s[G_DRAIN_TIMEOUT], false, 0, LONG_SECS_MAX,
		 &c->drain_timeout);
	if (get_int(ld, g.s[G_MAX_SERVICES], 1, XL_MAX_SERVICES_LIMIT, &n) ==
	    1)
		c->max_services = (size_t)n;
	global_include_dir(ld, g.s[G_INCLUDE_DIR]);
	get_bool(ld, g.s[G_WATCH_INCLUDE_DIR], &c->watch_include_dir);
	/* a watch with nothing to watch is a mistake worth naming */
	if (c->watch_include_dir && !g.s[G_INCLUDE_DIR])
		ld_err(ld, g.s[G_WATCH_INCLUDE_DIR],
		       "watch_include_dir = true needs include_dir (the "
		       "directory to watch)");
	if (g.s[G_CHECK])
		check_apply(ld, g.s[G_CHECK], &c->check, &ld->global_org,
			    &ld->global_eff);
}

static void root_parse(struct loader *ld, const config_setting_t *root,
		       bool included)
{
	config_setting_t *g = NULL, *list = NULL;
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, i);
		const char *name = config_setting_name(s);

		if (!strcmp(name, "virtual_services"))
			list = s;
		else if (!strcmp(name, "global") && !included)
			g = s;
		else if (!strcmp(name, "global"))
			ld_err(ld, s,
			       "global is only allowed in the main file %s: an "
			       "included file holds only virtual_services",
			       ld->c->files[0]);
		else
			ld_err(ld, s,
			       "unknown key \"%s\" at top level (known: %s)",
			       name,
			       included ? "virtual_services"
					: "global, virtual_services");
	}
	/* global first: the services inherit from it */
	if (typed(ld, g, K_GROUP) == 1)
		global_parse(ld, g);
	if (typed(ld, list, K_LIST) == 1)
		vs_list(ld, list);
}

/* All of f, with a NUL after it; NULL when out of memory. */
static char *stream_slurp(FILE *f, size_t *len)
{
	char *buf = NULL, *p;
	size_t cap = 0, got;

	*len = 0;
	do {
		if (*len == cap) {
			cap = cap ? 2 * cap : 65536;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + *len, 1, cap - *len, f);
		*len += got;
	} while (got);
	buf[*len] = '\0'; /* a short read always leaves room */
	return buf;
}

/* raw (len bytes, taken) as libconfig may read it; NULL when out of
 * memory. */
static char *text_of(struct loader *ld, char *raw, size_t len)
{
	char *text;

	if (!cfg_text_may_be_wide(raw, len))
		return raw;
	text = cfg_text_widen(raw, len);
	free(raw);
	if (!text)
		ld_oom(ld);
	return text;
}

static char *file_read(struct loader *ld, const char *path)
{
	FILE *f = fopen(path, "r");
	char *raw;
	size_t len;
	int err;

	if (!f) {
		ld_err_at(ld, path, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	raw = stream_slurp(f, &len);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (!raw || err) {
		if (raw)
			ld_err_at(ld, path, 0, "cannot read: %s",
				  strerror(err));
		else
			ld_oom(ld);
		free(raw);
		return NULL;
	}
	return text_of(ld, raw, len);
}

/* A parse tree waiting for xl_config_drop_parsed() */
struct xl_parsed {
	struct xl_parsed *next;
	config_t cf;
};

void xl_config_drop_parsed(struct xl_config *c)
{
	struct xl_parsed *p;

	while (c && (p = c->parsed)) {
		c->parsed = p->next;
		config_destroy(&p->cf);
		free(p);
	}
}
/* A string literal libconfig must not see (config_text.h), reported at its
 * line.  0, or -1 with the error noted. */
static int strings_check(struct loader *ld, const char *path,
			 const char *text)
{
	int line = 0;

	switch (cfg_text_strings(text, &line)) {
	case CFG_TEXT_OK:
		return 0;
	case CFG_TEXT_STRING_LONG:
		ld_err_at(ld, path, line,
			  "a string of more than %d bytes starts here",
			  CFG_STRING_MAX);
		break;
	case CFG_TEXT_STRING_OPEN:
		ld_err_at(ld, path, line,
			  "a string starts here and is never closed with \"");
		break;
	}
	return -1;
}

/* Does a line of text start with libconfig's @include directive? */
static bool has_include(const char *text)
{
	for (const char *p = strstr(text, "@include"); p;
	     p = strstr(p + 1, "@include")) {
		const char *b = p;

		while (b > text && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b == text || b[-1] == '\n' || b[-1] == '\r')
			return true;
	}
	return false;
}

/*
 * Parses one file: text (taken), or path read when text is NULL.  0, or
 * -1 (errors noted).  *alone, when given, tells whether the file's text
 * stands alone: no @include.
 */
static int file_load(struct loader *ld, const char *path, char *text,
		     bool *alone)
{
	struct xl_parsed *p = calloc(1, sizeof(*p));
	char buf[4096];
	const char *ef;
	bool standalone;
	int ret = -1;

	if (!p) {
		free(text);
		ld_oom(ld);
		return -1;
	}
	config_init(&p->cf);
	ld->file = files_add(ld, path);
	ld->seen_raw = NULL;
	if (!ld->file) {
		ld_oom(ld);
		goto out;
	}
	if (!text)
		text = file_read(ld, path);
	if (!text)
		goto out;
	standalone = !has_include(text);
	if (alone)
		*alone = standalone;
	/* @include reads any path, FIFOs and devices too: only for files
	 * that only root can write */
	if (!ld->trusted && !standalone) {
		ld_err_at(ld, path, 0,
			  "@include: accepted only in files that only root "
			  "can write, and this file is %s",
			  ld->untrusted_why);
		goto out;
	}
	if (strings_check(ld, path, text))
		goto out;
	if (ld->main_dir)
		config_set_include_dir(&p->cf, ld->main_dir);
	if (!config_read_string(&p->cf, text)) {
		ef = config_error_file(&p->cf);
		ef = ef ? include_path(ld, ef, buf, sizeof(buf)) : path;
		ld_err_at(ld, ef, config_error_line(&p->cf), "%s",
			  config_error_text(&p->cf));
		goto out;
	}
	root_parse(ld, config_root_setting(&p->cf), ld->included);
	ret = 0;
out:
	free(text);
	if (ret == 0) { /* freed later: xl_config_drop_parsed() */
		p->next = ld->c->parsed;
		ld->c->parsed = p;
	} else {
		config_destroy(&p->cf);
		free(p);
	}
	return ret;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names to read from dir, sorted; NULL with *n 0 when there are none. */
static char **include_names(struct loader *ld, DIR *d, size_t *n)
{
	char **names = NULL, **p;
	struct dirent *de;
	size_t cap = 0;

	*n = 0;
	while ((errno = 0, de = readdir(d))) {
		if (!xl_incfile_wanted(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(p = realloc(names, cap * sizeof(*p))))
				goto fail;
			names = p;
		}
		if (!(names[*n] = strdup(de->d_name)))
			goto fail;
		(*n)++;
	}
	if (errno)
		ld_err_at(ld, ld->incdir_file, ld->incdir_line,
			  "include_dir: cannot list %s: %s", ld->c->include_dir,
			  strerror(errno));
	if (*n)
		qsort(names, *n, sizeof(*names), str_ptr_cmp);
	return names;
fail:
	ld_oom(ld);
	return names;
}

/* ---- reuse of unchanged include files (xl_config_reload) -------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool xl_check_equal(const struct xl_check_config *a,
		    const struct xl_check_config *b)
{
	char *const *sa[] = CHECK_STRS(a);
	char *const *sb[] = CHECK_STRS(b);

	if (a->type != b->type || a->interval != b->interval ||
	    a->timeout != b->timeout || a->fast_interval != b->fast_interval ||
	    a->down_interval != b->down_interval || a->rise != b->rise ||
	    a->fall != b->fall || a->initial_up != b->initial_up ||
	    a->tls_verify != b->tls_verify || a->nstatus != b->nstatus ||
	    a->has_connect_ip != b->has_connect_ip ||
	    a->connect_port != b->connect_port)
		return false;
	/* connect_ip means something only when set */
	if (a->has_connect_ip &&
	    (a->connect_af != b->connect_af ||
	     memcmp(&a->connect_ip, &b->connect_ip, sizeof(a->connect_ip))))
		return false;
	for (size_t i = 0; i < a->nstatus && i < XL_STATUS_MAX; i++)
		if (a->status[i].lo != b->status[i].lo ||
		    a->status[i].hi != b->status[i].hi)
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(sa); i++)
		if (!str_eq(*sa[i], *sb[i]))
			return false;
	return true;
}

static void stamp_of(const struct stat *st, struct xl_file_stamp *t)
{
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	t->size = (uint64_t)st->st_size;
	t->mtime_s = (int64_t)st->st_mtim.tv_sec;
	t->mtime_ns = (int64_t)st->st_mtim.tv_nsec;
	t->ctime_s = (int64_t)st->st_ctim.tv_sec;
	t->ctime_ns = (int64_t)st->st_ctim.tv_nsec;
}

static bool stamp_same(const struct xl_file_stamp *a,
		       const struct xl_file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
	       a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* Within STAMP_RACY_NS of now (or after it): it may change again unseen. */
#define STAMP_RACY_NS 100000000LL
static bool stamp_recent(const struct xl_file_stamp *t)
{
	struct timespec now;
	int64_t n, m, c;

	if (clock_gettime(CLOCK_REALTIME, &now))
		return true;
	n = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	m = t->mtime_s * 1000000000LL + t->mtime_ns;
	c = t->ctime_s * 1000000000LL + t->ctime_ns;
	return m > n - STAMP_RACY_NS || c > n - STAMP_RACY_NS;
}

static void stamp_add(struct loader *ld, const struct xl_file_stamp *t)
{
	struct xl_config *c = ld->c;
	struct xl_file_stamp *v;

	if (c->nstamps == ld->cap_stamps) {
		size_t cap = ld->cap_stamps ? 2 * ld->cap_stamps : 16;

		v = realloc(c->stamps, cap * sizeof(*v));
		if (!v) {
			ld_oom(ld);
			return;
		}
		c->stamps = v;
		ld->cap_stamps = cap;
	}
	c->stamps[c->nstamps++] = *t;
}

static void vs_share(struct xl_vs_config *dst, const struct xl_vs_config *src)
{
	*dst = *src;
	dst->share->holders++;
}

/* prev's stamp of the file path, or NULL. */
static const struct xl_file_stamp *prev_stamp(struct loader *ld,
					      const char *path)
{
	const struct xl_config *prev = ld->prev;

	/* files come in name order both times: look after the last found */
	for (size_t k = 0; prev && k < prev->nstamps; k++) {
		size_t i = (ld->stamp_hint + k) % prev->nstamps;

		if (!strcmp(prev->stamps[i].file, path)) {
			ld->stamp_hint = i + 1;
			return &prev->stamps[i];
		}
	}
	return NULL;
}

/* The services prev read from the file of stamp p, taken over (shared,
 * not copied) under a stamp like t. */
static void take_over(struct loader *ld, const struct xl_file_stamp *p,
		      struct xl_file_stamp t)
{
	const struct xl_config *prev = ld->prev;

	/* the same name: the services taken over point at it */
	t.file = files_append(ld, shared_take((char *)p->file));
	if (!t.file) {
		ld_oom(ld);
		return;
	}
	t.vs_first = ld->c->nvs;
	for (size_t i = p->vs_first; i < p->vs_first + p->nvs; i++) {
		struct xl_vs_config *vs = vs_slot(ld, false);

		if (!vs)
			return;
		vs_share(vs, &prev->vs[i]);
		vs->prev = i;
	}
	t.nvs = ld->c->nvs - t.vs_first;
	stamp_add(ld, &t);
}

/* The services prev read from the unchanged file t, taken over.  true when
 * it could be done, false to read the file instead. */
static bool include_reuse(struct loader *ld, const char *path,
			  const struct xl_file_stamp *t)
{
	const struct xl_file_stamp *p;
	struct xl_file_stamp now = *t;

	if (!ld->prev || !ld->prev_inherit_same)
		return false;
	p = prev_stamp(ld, path);
	if (!p || !p->reusable || !stamp_same(p, t))
		return false;
	now.reusable = true;
	take_over(ld, p, now);
	ld->c->nreused++;
	return true;
}

/*
 * A file refused at a reload keeps what its last accepted version brought,
 * as it was: an edit gone wrong, or a write caught half-way, must not take
 * working services down.  The file is read again at the next reload.  The
 * number of services kept.
 */
static size_t include_keep(struct loader *ld, const char *path)
{
	const struct xl_file_stamp *p = prev_stamp(ld, path);
	struct xl_file_stamp t = {0};
	size_t first = ld->c->nvs;

	if (!p || !p->nvs || first + p->nvs > ld->c->max_services)
		return 0;
	take_over(ld, p, t);
	return ld->c->nvs - first;
}

/* Services vs[from ..] out of the snapshot, as if never read. */
static void vs_truncate(struct loader *ld, size_t from)
{
	while (ld->c->nvs > from)
		vs_free(&ld->c->vs[--ld->c->nvs]);
}

/* The line that closes a file's refusal, once its errors are listed. */
static void include_refused(struct loader *ld, const char *path, size_t nerr)
{
	size_t kept = include_keep(ld, path);

	ld->c->nrefused_files++;
	if (kept)
		xl_errors_add(&ld->c->refused, path, 0,
			      "refused (%zu error%s): its last accepted version "
			      "stays in force (%zu virtual service%s) until it "
			      "is fixed; the rest of the configuration applies",
			      nerr, nerr == 1 ? "" : "s", kept,
			      kept == 1 ? "" : "s");
	else
		xl_errors_add(&ld->c->refused, path, 0,
			      "refused (%zu error%s): none of its virtual "
			      "services is applied; the rest of the "
			      "configuration is",
			      nerr, nerr == 1 ? "" : "s");
}

/* An include_dir file that cannot be read at all. */
static void include_refuse(struct loader *ld, const char *path,
			   const char *why)
{
	xl_errors_add(&ld->c->refused, path, 0, "%s", why);
	include_refused(ld, path, 1);
}

/* Reads path (open_path, as xl_incfile_stat found it) and parses it; its
 * trust comes from what was opened. */
static void include_read(struct loader *ld, const char *path,
			 const char *open_path, struct xl_file_stamp *t,
			 bool *alone)
{
	char why[256], *raw, *text;
	struct stat st;
	size_t len;
	int rc;

	rc = xl_incfile_read(open_path, XL_INCFILE_MAX_BYTES, &raw, &len, &st,
			     why, sizeof(why));
	if (rc == -2)
		ld_oom(ld);
	if (rc < 0) {
		if (rc == -1)
			ld_err_at(ld, path, 0, "%s", why);
		return;
	}
	stamp_of(&st, t);
	ld->trusted = xl_incfile_trusted(&st, ld->untrusted_why,
					 sizeof(ld->untrusted_why));
	text = text_of(ld, raw, len);
	if (text)
		file_load(ld, path, text, alone);
}

/* More services than max_services with this file's: it is refused, not
 * the configuration (a generator's runaway file must not stop the rest). */
static void include_cap(struct loader *ld, const char *path, size_t first)
{
	const struct xl_config *c = ld->c;

	if (c->nvs <= c->max_services)
		return;
	ld_err_at(ld, path, 0,
		  "its %zu virtual services would make %zu in all, more "
		  "than max_services = %zu",
		  c->nvs - first, c->nvs, c->max_services);
}

/*
 * One include_dir file: reused from prev, or read.  Its errors are
 * collected in c->refused; a file with any is refused alone: its services
 * are dropped, the rest of the configuration stands, and it is read again
 * (so reported again) at each reload until it is fixed.
 */
static void include_file(struct loader *ld, const char *path,
			 const char *open_path, const struct stat *st)
{
	struct xl_file_stamp t = {0};
	struct xl_errors *errs = ld->errs;
	size_t nerr = ld->nerr, nfiles = ld->c->nfiles, first = ld->c->nvs;
	size_t nstamps = ld->c->nstamps;
	bool alone = false, reported = ld->global_org.reported;

	stamp_of(st, &t);
	ld->errs = &ld->c->refused;
	if (!include_reuse(ld, path, &t)) {
		include_read(ld, path, open_path, &t, &alone);
		if (nfiles < ld->c->nfiles) {
			t.vs_first = first;
			t.file = ld->c->files[nfiles];
			t.nvs = ld->c->nvs - first;
			/* a file that pulls in others is read each time; so
			 * is one changed just now: file times come from a
			 * clock that ticks every few ms, and a second write of
			 * the same size within one tick would leave the stamp
			 * as it was */
			t.reusable = alone && !stamp_recent(&t);
			stamp_add(ld, &t);
		}
	}
	include_cap(ld, path, first);
	ld->errs = errs;
	if (ld->oom) /* fails the load: say so where the failure is read */
		xl_errors_add(errs, path, 0, "out of memory");
	if (ld->nerr == nerr || ld->oom)
		return;
	ld->global_org.reported = reported;
	vs_truncate(ld, first);
	ld->c->nstamps = nstamps;
	include_refused(ld, path, ld->nerr - nerr);
	ld->nerr = nerr;
}

/* Others may write the directory: any of them could put a file there. */
static bool include_dir_open_to_all(struct loader *ld, const char *real)
{
	struct stat st;

	if (stat(real, &st) || !(st.st_mode & S_IWOTH))
		return false;
	xl_errors_add(&ld->c->refused, ld->incdir_file, ld->incdir_line,
		      "include_dir %s is writable by others (mode %04o): none "
		      "of its files is read (chmod o-w %s)",
		      ld->c->include_dir, (unsigned)(st.st_mode & 07777),
		      ld->c->include_dir);
	ld->c->nrefused_files++;
	return true;
}

static void include_dir_load(struct loader *ld)
{
	const char *dir = ld->c->include_dir;
	char **names = NULL, *path, *real, open_path[PATH_MAX], why[256];
	struct stat st;
	size_t n = 0;
	DIR *d;

	if (!dir)
		return;
	d = opendir(dir);
	real = d ? realpath(dir, NULL) : NULL;
	if (!d || !real) {
		/* no directory, no extra services: a fresh install has none */
		if (errno != ENOENT)
			ld_err_at(ld, ld->incdir_file, ld->incdir_line,
				  "include_dir: cannot open %s: %s", dir,
				  strerror(errno));
		if (d)
			closedir(d);
		return;
	}
	if (!include_dir_open_to_all(ld, real))
		names = include_names(ld, d, &n);
	closedir(d);
	ld->included = true;
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			ld_oom(ld);
			break;
		}
		memset(&st, 0, sizeof(st));
		/* a directory called x.conf is not a file to read */
		if (!xl_incfile_stat(real, names[i], &st, open_path,
				     sizeof(open_path), why, sizeof(why)))
			include_file(ld, path, open_path, &st);
		else if (!S_ISDIR(st.st_mode))
			include_refuse(ld, path, why);
		free(path);
	}
	ld->included = false;
	ld->trusted = true;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(real);
}

/* ---- the snapshot ---------------------------------------------------- */

static int config_defaults(struct xl_config *c)
{
	c->log_level = XL_LOG_INFO;
	c->on_stop = XL_ON_STOP_KEEP;
	c->owns_all = false;
	c->resync_interval = 30;
	c->max_services = XL_MAX_SERVICES_DEFAULT;
	c->drain_timeout = 60;
	return check_defaults(&c->check);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* ---- what a reload left as it was ------------------------------------ */

static bool dest_same(const struct xl_dest *a, const struct xl_dest *b)
{
	return !xl_dest_cmp(a, b) && xl_dest_attrs_equal(a, b);
}

/* Equal in every setting, so equal in what follows from it (IPVS,
 * checks, draining, quorum, logs). */
static bool vs_equal(const struct xl_vs_config *a, const struct xl_vs_config *b)
{
	if (strcmp(a->name, b->name) || a->svc.ndests != b->svc.ndests ||
	    !xl_service_attrs_equal(&a->svc, &b->svc) ||
	    !xl_check_equal(&a->check, &b->check) ||
	    a->drain_timeout != b->drain_timeout ||
	    a->inhibit_on_failure != b->inhibit_on_failure ||
	    a->has_sorry != b->has_sorry || a->quorum != b->quorum ||
	    (a->has_sorry && !dest_same(&a->sorry, &b->sorry)))
		return false;
	for (size_t i = 0; i < a->svc.ndests; i++)
		if (!dest_same(&a->svc.dests[i], &b->svc.dests[i]) ||
		    !xl_check_equal(xl_rs_check(a, i), xl_rs_check(b, i)))
			return false;
	return true;
}

const struct xl_vs_config *xl_config_find(const struct xl_config *c,
					  const struct xl_service *key)
{
	size_t lo = 0, hi = c->by_id ? c->nvs : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xl_vs_config *vs = &c->vs[c->by_id[mid]];
		int r = xl_service_cmp(key, &vs->svc);

		if (!r)
			return vs;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Services copied from prev are known equal; the others are looked up. */
static void link_prev(struct xl_config *c, const struct xl_config *prev)
{
	for (size_t i = 0; i < c->nvs; i++) {
		struct xl_vs_config *vs = &c->vs[i];
		const struct xl_vs_config *p;

		if (vs->prev == XL_VS_NONE &&
		    (p = xl_config_find(prev, &vs->svc)) && vs_equal(vs, p))
			vs->prev = (size_t)(p - prev->vs);
		c->nsame += vs->prev != XL_VS_NONE;
	}
}

struct xl_config *xl_config_reload(const char *path,
				   const struct xl_config *prev,
				   struct xl_errors *errs)
{
	struct loader ld = {.errs = errs, .prev = prev, .trusted = true};
	struct xl_config *c = calloc(1, sizeof(*c));

	ld.c = c;
	if (!c || config_defaults(c) || !(ld.main_dir = dir_of(path))) {
		xl_errors_add(errs, path, 0, "out of memory");
		goto fail;
	}
	/* a runaway main file is stopped here, before the kernel sees any of
	 * it: the configuration in force stays (include_dir files that would
	 * go over are refused alone: include_cap) */
	if (file_load(&ld, path, NULL, NULL) == 0 &&
	    c->nvs > c->max_services && !ld.oom)
		ld_err_at(&ld, c->vs[c->max_services].file,
			  c->vs[c->max_services].line,
			  "virtual service %zu: more than max_services = %zu "
			  "(%zu in all); raise global max_services if that "
			  "many are meant",
			  c->max_services + 1, c->max_services, c->nvs);
	ld.main_nvs = c->nvs;
	if (!ld.nerr) {
		/* what included services inherit: the global check and
		 * drain_timeout (its type's origin only names lines) */
		ld.prev_inherit_same = prev &&
				       xl_check_equal(&prev->check, &c->check) &&
				       prev->drain_timeout == c->drain_timeout;
		include_dir_load(&ld);
	}
	vs_dupes(&ld);
	free(ld.drop);
	if (ld.nerr || ld.oom)
		goto fail;
	if (prev) {
		link_prev(c, prev);
		c->prev = prev;
	}
	free(ld.main_dir);
	return c;
fail:
	free(ld.main_dir);
	xl_config_free(c);
	return NULL;
}

struct xl_config *xl_config_load(const char *path, struct xl_errors *errs)
{
	return xl_config_reload(path, NULL, errs);
}

static void vs_free(struct xl_vs_config *vs)
{
	if (vs->share && --vs->share->holders)
		return; /* another snapshot still holds it */
	free(vs->share);
	if (vs->reals)
		for (size_t i = 0; i < vs->svc.ndests; i++)
			if (vs->reals[i].check &&
			    vs->reals[i].check != vs->reals_check) {
				check_free(vs->reals[i].check);
				free(vs->reals[i].check);
			}
	if (vs->reals_check)
		check_free(vs->reals_check);
	free(vs->reals);
	free(vs->name);
	check_free(&vs->check);
	xl_service_free(&vs->svc);
}

void xl_config_free(struct xl_config *c)
{
	if (!c)
		return;
	xl_config_drop_parsed(c);
	for (size_t i = 0; i < c->nvs; i++)
		vs_free(&c->vs[i]);
	free(c->vs);
	free(c->by_id);
	free(c->by_name);
	check_free(&c->check);
	free(c->include_dir);
	for (size_t i = 0; i < c->nfiles; i++)
		shared_drop(c->files[i]);
	free(c->files);
	free(c->stamps);
	xl_errors_free(&c->refused);
	free(c);
}

int xl_config_table(const struct xl_config *c, struct xl_table *out)
{
	out->nsvcs = 0;
	out->svcs = calloc(c->nvs ? c->nvs : 1, sizeof(*out->svcs));
	if (!out->svcs)
		return -ENOMEM;
	for (size_t i = 0; i < c->nvs; i++) {
		if (xl_service_copy(&out->svcs[i], &c->vs[i].svc))
			goto fail;
		out->nsvcs++;
	}
	xl_table_sort(out);
	return 0;
fail:
	xl_table_free(out);
	return -ENOMEM;
}

const char *xl_check_type_name(enum xl_check_type t)
{
	return named_name(check_types, (int)t);
}
