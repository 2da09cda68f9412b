/*
 * config_keys.c - the keys each group may hold, and typed access to them.
 *
 * The file is the operator's interface, so every key is checked for its
 * place, its type and its range: a key that matches none of its group's
 * table is reported (a typo must not silently become a default), and a
 * getter reports a value of the wrong type or out of range at its line.
 * The names an enumerated key takes live here too, so that a message can
 * list them.
 */
#include "config_impl.h"

#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* ---- typed access to keys -------------------------------------------- */

static const char *const kind_names[] = {
    [K_INT] = "an integer", [K_NUM] = "a number",  [K_BOOL] = "a boolean",
    [K_STR] = "a string",   [K_GROUP] = "a group", [K_LIST] = "a list",
};

const char *cfg_type_name(int type)
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
 * cfg_keys_read) and return 1: present and valid (*out set), 0: absent, -1:
 * present but invalid (reported, *out untouched).
 */
int cfg_typed(struct loader *ld, const config_setting_t *s, enum kind k)
{
	if (!s)
		return 0;
	if (kind_accepts(k, config_setting_type(s)))
		return 1;
	cfg_err(ld, s, "wrong type for %s: expected %s, got %s",
		config_setting_name(s), kind_names[k],
		cfg_type_name(config_setting_type(s)));
	return -1;
}

int cfg_get_int(struct loader *ld, const config_setting_t *s, long long lo,
		long long hi, long long *out)
{
	int r = cfg_typed(ld, s, K_INT);
	long long v;

	if (r <= 0)
		return r;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		cfg_err(ld, s, "%s: %lld is out of range %lld-%lld",
			config_setting_name(s), v, lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

/* A number, integer or not: 1, 0 (absent) or -1 (reported). */
static int get_num(struct loader *ld, const config_setting_t *s, double *v)
{
	int r = cfg_typed(ld, s, K_NUM);

	if (r == 1)
		*v = config_setting_type(s) == CONFIG_TYPE_FLOAT
			 ? config_setting_get_float(s)
			 : (double)config_setting_get_int64(s);
	return r;
}

/* Seconds, written 2 or 2.5; lo_open means "more than lo". */
int cfg_get_secs(struct loader *ld, const config_setting_t *s, bool lo_open,
		 double lo, double hi, double *out)
{
	double v;
	int r = get_num(ld, s, &v);

	if (r <= 0)
		return r;
	if (!(lo_open ? v > lo : v >= lo) || !(v <= hi)) {
		cfg_err(ld, s,
			"%s: %.15g is out of range: must be %s %.15g and at "
			"most %.15g seconds",
			config_setting_name(s), v,
			lo_open ? "more than" : "at least", lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

int cfg_get_int_by(struct loader *ld, const config_setting_t *s,
		   const char *(*rule)(long long), long long *out)
{
	int r = cfg_typed(ld, s, K_INT);
	long long v;
	const char *why;

	if (r <= 0)
		return r;
	v = config_setting_get_int64(s);
	if ((why = rule(v))) {
		cfg_err(ld, s, "%s: %lld %s", config_setting_name(s), v, why);
		return -1;
	}
	*out = v;
	return 1;
}

int cfg_get_secs_by(struct loader *ld, const config_setting_t *s,
		    const char *(*rule)(double), double *out)
{
	double v;
	int r = get_num(ld, s, &v);
	const char *why;

	if (r <= 0)
		return r;
	if ((why = rule(v))) {
		cfg_err(ld, s, "%s: %.15g %s", config_setting_name(s), v, why);
		return -1;
	}
	*out = v;
	return 1;
}

int cfg_get_bool(struct loader *ld, const config_setting_t *s, bool *out)
{
	int r = cfg_typed(ld, s, K_BOOL);

	if (r == 1)
		*out = config_setting_get_bool(s);
	return r;
}

int cfg_get_str(struct loader *ld, const config_setting_t *s, const char **out)
{
	int r = cfg_typed(ld, s, K_STR);

	if (r == 1)
		*out = config_setting_get_string(s);
	return r;
}

static const char *named_join(const struct xl_named *t, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; t->name && o < len; t++)
		o += snprintf(buf + o, len - o, "%s\"%s\"", o ? ", " : "",
			      t->name);
	return buf;
}

const char *cfg_named_name(const struct xl_named *t, int value)
{
	for (; t->name; t++)
		if (t->value == value)
			return t->name;
	return "?";
}

int cfg_get_enum(struct loader *ld, const config_setting_t *s,
		 const struct xl_named *tab, int *out)
{
	const struct xl_named *t;
	const char *v = NULL;
	char buf[256];
	int r = cfg_get_str(ld, s, &v);

	if (r <= 0)
		return r;
	if ((t = xl_named_find(tab, v))) {
		*out = t->value;
		return 1;
	}
	cfg_err(ld, s, "%s: \"%s\" is not one of %s", config_setting_name(s), v,
		named_join(tab, buf, sizeof(buf)));
	return -1;
}

int cfg_get_addr(struct loader *ld, const config_setting_t *s, uint16_t *af,
		 union xl_inaddr *out)
{
	const char *v = NULL;
	int r = cfg_get_str(ld, s, &v);

	if (r <= 0)
		return r;
	if (xl_addr_parse(v, af, out)) {
		cfg_err(ld, s, "%s: \"%s\" is not an IPv4 or IPv6 address",
			config_setting_name(s), v);
		return -1;
	}
	return 1;
}

/* ---- key tables ------------------------------------------------------ */

const char *const cfg_global_keys[G_NKEYS] = {
    [G_LOG_LEVEL] = "log_level",
    [G_INCLUDE_DIR] = "include_dir",
    [G_OWNS_ALL] = "owns_all",
    [G_ON_STOP] = "on_stop",
    [G_RESYNC_INTERVAL] = "resync_interval",
    [G_DRAIN_TIMEOUT] = "drain_timeout",
    [G_CHECK] = "check",
    [G_MAX_SERVICES] = "max_services",
    [G_WATCH_INCLUDE_DIR] = "watch_include_dir",
    [G_IPVS_TIMEOUTS] = "ipvs_timeouts",
    [G_IPVS_SYSCTLS] = "ipvs_sysctls",
    [G_VIP_INTERFACE] = "vip_interface",
    [G_METRICS_LISTEN] = "metrics_listen",
    [G_METRICS_SERVERS] = "metrics_servers",
    [G_LOG_DOWN_INTERVAL] = "log_down_interval",
    [G_LOG_PROGRESS_INTERVAL] = "log_progress_interval",
    [G_ANNOUNCE] = "announce",
    [G_SNAT] = "snat",
    [G_SNAT_ADDRESS] = "snat_address",
    [G_CONTROL_SOCKET] = "control_socket",
    [G_CONTROL_GROUP] = "control_group",
    [G_STATE_DIR] = "state_dir",
};

const char *const cfg_vs_keys[VS_NKEYS] = {
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
    [VS_ANNOUNCE] = "announce",
    [VS_SNAT] = "snat",
    [VS_SNAT_ADDRESS] = "snat_address",
    [VS_ALLOWED_SOURCES] = "allowed_sources",
};

const char *const cfg_rs_keys[RS_NKEYS] = {
    [RS_ADDRESS] = "address",
    [RS_PORT] = "port",
    [RS_WEIGHT] = "weight",
    [RS_UPPER_THRESHOLD] = "upper_threshold",
    [RS_LOWER_THRESHOLD] = "lower_threshold",
    [RS_CHECK] = "check",
};

const char *const cfg_tunnel_keys[TUN_NKEYS] = {
    [TUN_TYPE] = "type",
    [TUN_PORT] = "port",
    [TUN_CHECKSUM] = "checksum",
};

const char *const cfg_check_keys[CK_NKEYS] = {
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
};

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

void cfg_keys_read(struct loader *ld, const config_setting_t *grp,
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

		for (j = 0; j < n &&
			    (names[j][0] != name[0] || strcmp(names[j], name));
		     j++)
			;
		if (j < n)
			k->s[j] = s;
		else
			cfg_err(ld, s, "unknown key \"%s\" %s (known: %s)",
				name, where,
				names_join(names, n, list, sizeof(list)));
	}
}

const struct xl_named cfg_log_levels[] = {
    {"error", XL_LOG_ERROR},
    {"warning", XL_LOG_WARNING},
    {"info", XL_LOG_INFO},
    {"debug", XL_LOG_DEBUG},
    {NULL, 0},
};

const struct xl_named cfg_on_stops[] = {
    {"keep", XL_ON_STOP_KEEP},
    {"remove", XL_ON_STOP_REMOVE},
    {NULL, 0},
};

const struct xl_named cfg_announces[] = {
    {"always", XL_ANNOUNCE_ALWAYS},
    {"quorum", XL_ANNOUNCE_QUORUM},
    {NULL, 0},
};

const struct xl_named cfg_metrics_servers[] = {
    {"all", XL_METRICS_SERVERS_ALL},
    {"state", XL_METRICS_SERVERS_STATE},
    {"none", XL_METRICS_SERVERS_NONE},
    {NULL, 0},
};

const struct xl_named cfg_protocols[] = {
    {"tcp", IPPROTO_TCP},
    {"udp", IPPROTO_UDP},
    {"sctp", IPPROTO_SCTP},
    {NULL, 0},
};

const struct xl_named cfg_families[] = {
    {"inet", AF_INET},
    {"inet6", AF_INET6},
    {NULL, 0},
};

const struct xl_named cfg_tunnel_types[] = {
    {"ipip", IP_VS_CONN_F_TUNNEL_TYPE_IPIP},
    {"gue", IP_VS_CONN_F_TUNNEL_TYPE_GUE},
    {"gre", IP_VS_CONN_F_TUNNEL_TYPE_GRE},
    {NULL, 0},
};

const struct xl_named cfg_tunnel_csums[] = {
    {"none", IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM},
    {"csum", IP_VS_TUNNEL_ENCAP_FLAG_CSUM},
    {"remcsum", IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM},
    {NULL, 0},
};

const struct xl_named cfg_initial_states[] = {
    {"down", 0},
    {"up", 1},
    {NULL, 0},
};
