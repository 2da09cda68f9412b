/*
 * config_vs.c - virtual services, their real servers and sorry server.
 *
 * Besides reading the keys, this is where the IPVS rules the kernel would
 * otherwise reject with a bare EINVAL are checked (address families, dr/tun
 * ports, scheduler flags, tunnel options).  A service whose identity is
 * complete joins the duplicate search (config_dupes.c); real servers are
 * checked for duplicates here, within their service.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif

#include "config_impl.h"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	int r = cfg_get_str(ld, s, &v);

	if (r == 0) {
		cfg_err(ld, x->grp, "virtual service has no name (required)");
		return;
	}
	if (r < 0)
		return;
	if (!*v || strpbrk(v, "\t\n\r")) {
		cfg_err(ld, s, "name: must be non-empty and on one line");
		return;
	}
	x->vs->name = strdup(v);
	if (!x->vs->name)
		cfg_oom(ld);
}

static void vs_vip(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	long long port;
	int proto = IPPROTO_TCP;
	int r;

	if (cfg_get_addr(ld, x->k.s[VS_VIP], &svc->af, &svc->addr) != 1)
		x->id_ok = false;
	r = cfg_get_int(ld, x->k.s[VS_PORT], 1, 65535, &port);
	if (r == 0)
		cfg_err(ld, x->grp,
			"virtual service with a vip needs a port (1-65535)");
	if (r == 1)
		svc->port = (uint16_t)port;
	else
		x->id_ok = false;
	if (cfg_get_enum(ld, x->k.s[VS_PROTOCOL], cfg_protocols, &proto) < 0)
		x->id_ok = false;
	svc->protocol = (uint16_t)proto;
	if (x->k.s[VS_FAMILY])
		cfg_err(ld, x->k.s[VS_FAMILY],
			"family is only for fwmark services: a vip service has "
			"its address's family");
}

static void vs_fwmark(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	long long mark;
	int af = AF_INET;

	if (cfg_get_int(ld, x->k.s[VS_FWMARK], 1, 4294967295LL, &mark) == 1)
		svc->fwmark = (uint32_t)mark;
	else
		x->id_ok = false;
	if (cfg_get_enum(ld, x->k.s[VS_FAMILY], cfg_families, &af) < 0)
		x->id_ok = false;
	else
		svc->af = (uint16_t)af;
	if (x->k.s[VS_PORT])
		cfg_err(ld, x->k.s[VS_PORT],
			"port is not used with fwmark: the mark selects the "
			"traffic (give ports to the real servers)");
	if (x->k.s[VS_PROTOCOL])
		cfg_err(
		    ld, x->k.s[VS_PROTOCOL],
		    "protocol is not used with fwmark: the mark selects the "
		    "traffic");
}

static void vs_identity(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *vip = x->k.s[VS_VIP];
	const config_setting_t *mark = x->k.s[VS_FWMARK];

	if (vip && mark) {
		cfg_err(ld, mark,
			"virtual service has both vip and fwmark: it is either "
			"a vip with port and protocol, or a fwmark");
		x->id_ok = false;
	} else if (!vip && !mark) {
		cfg_err(ld, x->grp,
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
		cfg_err(ld, e,
			"wrong type for scheduler_flags entry: expected a "
			"string, got %s",
			cfg_type_name(config_setting_type(e)));
		return;
	}
	s = config_setting_get_string(e);
	for (size_t i = 0; i < XL_ARRAY_SIZE(sched_flags); i++) {
		const struct sched_flag *f = &sched_flags[i];

		if (strcmp(s, f->name))
			continue;
		if (f->sched && x->sched_ok && strcmp(f->sched, svc->sched))
			cfg_err(
			    ld, e,
			    "scheduler_flags: \"%s\" needs scheduler \"%s\" "
			    "(scheduler is \"%s\")",
			    s, f->sched, svc->sched);
		else
			svc->flags |= f->flag;
		return;
	}
	cfg_err(ld, e,
		"scheduler_flags: unknown flag \"%s\" (known: sh-fallback, "
		"sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)",
		s);
}

static void vs_scheduler(struct loader *ld, struct vs_ctx *x)
{
	struct xl_service *svc = &x->vs->svc;
	const config_setting_t *flags = x->k.s[VS_SCHEDULER_FLAGS];
	const char *s = "wlc";
	int r, n;

	r = cfg_get_str(ld, x->k.s[VS_SCHEDULER], &s);
	if (r >= 0 && !xl_rule_sched_name(s)) {
		cfg_err(ld, x->k.s[VS_SCHEDULER],
			"scheduler: \"%s\" is not a scheduler name (1-%d "
			"characters of a-z, 0-9, _)",
			s, XL_SCHED_MAX - 1);
		r = -1;
	}
	x->sched_ok = r >= 0;
	/* the length was checked above, so this copy is never cut */
	snprintf(svc->sched, sizeof(svc->sched), "%s", x->sched_ok ? s : "wlc");
	if (cfg_typed(ld, flags, K_LIST) != 1)
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

	cfg_keys_read(ld, tun, "in tunnel", cfg_tunnel_keys, TUN_NKEYS, &t);
	rt = cfg_get_enum(ld, t.s[TUN_TYPE], cfg_tunnel_types, &type);
	rp = cfg_get_int(ld, t.s[TUN_PORT], 1, 65535, &port);
	rc = cfg_get_enum(ld, t.s[TUN_CHECKSUM], cfg_tunnel_csums, &csum);
	x->tmpl.tun_type = (uint8_t)type;
	x->tmpl.tun_port = (uint16_t)port;
	x->tmpl.tun_flags = (uint16_t)csum;
	/* the rules tie the keys together: judge them only when all are valid
	 */
	if (rt < 0 || rp < 0 || rc < 0)
		return;
	if (type == IP_VS_CONN_F_TUNNEL_TYPE_GUE && rp == 0)
		cfg_err(ld, tun,
			"tunnel type \"gue\" needs a port (the UDP port the "
			"real servers decapsulate GUE on)");
	if (type != IP_VS_CONN_F_TUNNEL_TYPE_GUE && rp == 1)
		cfg_err(ld, t.s[TUN_PORT],
			"tunnel port is only used with type \"gue\" (type is "
			"\"%s\")",
			cfg_named_name(cfg_tunnel_types, type));
	if (csum == IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM &&
	    type != IP_VS_CONN_F_TUNNEL_TYPE_GUE)
		cfg_err(ld, t.s[TUN_CHECKSUM],
			"tunnel checksum \"remcsum\" needs type \"gue\" (type "
			"is \"%s\")",
			cfg_named_name(cfg_tunnel_types, type));
	if (csum == IP_VS_TUNNEL_ENCAP_FLAG_CSUM &&
	    type == IP_VS_CONN_F_TUNNEL_TYPE_IPIP)
		cfg_err(
		    ld, t.s[TUN_CHECKSUM],
		    "tunnel checksum \"csum\" needs type \"gue\" or \"gre\" "
		    "(ipip carries no checksum)");
}

static void vs_forward(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *tun = x->k.s[VS_TUNNEL];
	int fwd = IP_VS_CONN_F_MASQ;

	x->fwd_ok =
	    cfg_get_enum(ld, x->k.s[VS_FORWARD], xl_rule_forwards, &fwd) >= 0;
	x->tmpl.fwd = (uint32_t)fwd;
	if (cfg_typed(ld, tun, K_GROUP) != 1)
		return;
	if (x->fwd_ok && fwd != IP_VS_CONN_F_TUNNEL) {
		cfg_err(ld, tun,
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
			cfg_err(ld, s,
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
			cfg_err(
			    ld, s,
			    "persistence_netmask: \"%s\" is not a "
			    "contiguous IPv4 netmask like \"255.255.255.0\"",
			    config_setting_get_string(s));
		else
			svc->netmask = a.s_addr;
	} else if (type == CONFIG_TYPE_STRING) {
		cfg_err(ld, s,
			"persistence_netmask: an IPv6 service takes a prefix "
			"length 1-128, not \"%s\"",
			config_setting_get_string(s));
	} else {
		cfg_err(ld, s,
			"wrong type for persistence_netmask: expected a string "
			"or an integer, got %s",
			cfg_type_name(type));
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
	r = cfg_get_int(ld, x->k.s[VS_PERSISTENCE_TIMEOUT], 0, LONG_SECS_MAX,
			&t);
	if (r == 1 && t > 0) {
		svc->flags |= IP_VS_SVC_F_PERSISTENT;
		svc->timeout = (uint32_t)t;
	}
	if (!mask || r < 0)
		return;
	if (t == 0)
		cfg_err(ld, mask,
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
	int a;

	if (cfg_get_bool(ld, x->k.s[VS_ONE_PACKET], &one) == 1 && one) {
		if (svc->fwmark || svc->protocol == IPPROTO_UDP)
			svc->flags |= IP_VS_SVC_F_ONEPACKET;
		else if (x->id_ok)
			cfg_err(ld, x->k.s[VS_ONE_PACKET],
				"one_packet is only for udp or fwmark services "
				"(protocol is \"%s\")",
				cfg_named_name(cfg_protocols, svc->protocol));
	}
	vs->drain_timeout = ld->c->drain_timeout;
	cfg_get_secs(ld, x->k.s[VS_DRAIN_TIMEOUT], false, 0, LONG_SECS_MAX,
		     &vs->drain_timeout);
	cfg_get_bool(ld, x->k.s[VS_INHIBIT_ON_FAILURE],
		     &vs->inhibit_on_failure);
	vs->quorum = 1;
	if (cfg_get_int(ld, x->k.s[VS_QUORUM], 0, 4294967295LL, &q) == 1)
		vs->quorum = (uint32_t)q;
	vs->announce = ld->c->announce;
	if (cfg_get_enum(ld, x->k.s[VS_ANNOUNCE], cfg_announces, &a) == 1)
		vs->announce = a;
}

static void vs_check(struct loader *ld, struct vs_ctx *x)
{
	cfg_check_copy(&x->vs->check, &ld->c->check);
	x->eff = ld->global_eff;
	if (x->k.s[VS_CHECK])
		cfg_check_apply(ld, x->k.s[VS_CHECK], &x->vs->check, &x->org,
				&x->eff);
	/* a check that runs programs (script) set in the main file's global
	 * group runs for the addresses this file names: not from a file
	 * others can write */
	if (!ld->trusted && x->eff == ld->global_eff &&
	    xl_check_ops(x->vs->check.type)->runs_programs) {
		char what[64];

		snprintf(what, sizeof(what),
			 "a %s check (inherited from global)",
			 xl_check_type_name(x->vs->check.type));
		cfg_untrusted_err(ld, x->grp, what);
	}
}

/* ---- real servers and the sorry server ------------------------------- */

/* A destination of another family than its service: the kernel takes it
 * only when the traffic is tunnelled, and says EINVAL otherwise. */
static void dest_family(struct loader *ld, const struct vs_ctx *x,
			const config_setting_t *addr, const struct xl_dest *d)
{
	uint16_t saf = x->vs->svc.af;
	char buf[XL_ADDRSTR_MAX];

	if (!saf || !x->fwd_ok ||
	    xl_rule_family_ok(saf, d->af, (int)x->tmpl.fwd))
		return;
	cfg_err(ld, addr,
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
	r = cfg_get_int(ld, s, 0, 65535, &port);
	if (r < 0)
		d->af = 0; /* its real port is unknown: no duplicate search */
	if (r != 1)
		return;
	d->port = (uint16_t)port;
	if (!x->id_ok || !x->fwd_ok || !xl_rule_port_fixed((int)x->tmpl.fwd) ||
	    port == want)
		return;
	if (svc->fwmark)
		cfg_err(ld, s,
			"port %lld: with forward \"%s\" IPVS forwards traffic "
			"to the port the client used, so a fwmark service's "
			"real servers have port 0 (or none)",
			port, xl_fwd_name(x->tmpl.fwd));
	else
		cfg_err(ld, s,
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
	r = cfg_get_addr(ld, k->s[RS_ADDRESS], &d->af, &d->addr);
	if (r == 0)
		cfg_err(ld, grp, "%s has no address (required)", what);
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

	ru = cfg_get_int(ld, k->s[RS_UPPER_THRESHOLD], 0, THRESH_MAX, &up);
	rl = cfg_get_int(ld, lower, 0, THRESH_MAX, &low);
	d->u_thresh = (uint32_t)up;
	d->l_thresh = (uint32_t)low;
	if (rl != 1 || ru < 0 || low == 0)
		return;
	if (up == 0)
		cfg_err(
		    ld, lower,
		    "lower_threshold needs an upper_threshold above 0 (the "
		    "server is paused above upper and resumes below lower)");
	else if (low > up)
		cfg_err(ld, lower,
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

	r->file = cfg_setting_file(ld, grp);
	r->line = cfg_line_of(grp);
	cfg_keys_read(ld, grp, "in real server", cfg_rs_keys, RS_NKEYS, &k);
	dest_endpoint(ld, x, grp, &k, d, "real server");
	d->weight = 1;
	if (cfg_get_int(ld, k.s[RS_WEIGHT], 0, 65535, &w) == 1)
		d->weight = (int32_t)w;
	rs_thresholds(ld, &k, d);
	r->check = x->vs->reals_check;
	if (k.s[RS_CHECK]) {
		r->check = malloc(sizeof(*r->check));
		if (!r->check) {
			cfg_oom(ld);
			return;
		}
		cfg_check_copy(r->check, &x->vs->check);
		cfg_check_apply(ld, k.s[RS_CHECK], r->check, &org, &eff);
	}
	cfg_check_complete(ld, r->check, eff);
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

	if (vs->svc.ndests > XL_ARRAY_SIZE(small))
		v = malloc(vs->svc.ndests * sizeof(*v));
	if (!v) {
		cfg_oom(ld);
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
		cfg_err_at(ld, b->file, b->line,
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

	if (cfg_typed(ld, list, K_LIST) == 1)
		n = config_setting_length(list);
	if (n == 0) {
		/* the check real servers will get when they are added */
		cfg_check_complete(ld, &vs->check, x->eff);
		return;
	}
	vs->reals = calloc(1, (size_t)n * sizeof(*vs->reals) +
				  sizeof(struct xl_check_config));
	vs->svc.dests = calloc((size_t)n, sizeof(*vs->svc.dests));
	if (!vs->reals || !vs->svc.dests) {
		free(vs->reals);
		vs->reals = NULL;
		cfg_oom(ld);
		return;
	}
	vs->svc.ndests = (size_t)n;
	/* most real servers run the service's check: one copy for them all */
	vs->reals_check = (struct xl_check_config *)(vs->reals + n);
	cfg_check_copy(vs->reals_check, &vs->check);
	for (int i = 0; i < n; i++) {
		e = config_setting_get_elem(list, i);
		if (config_setting_type(e) == CONFIG_TYPE_GROUP)
			rs_parse(ld, x, e, (size_t)i);
		else
			cfg_err(
			    ld, e,
			    "real_servers: entry %d is %s, expected a group "
			    "{ address = ...; }",
			    i + 1, cfg_type_name(config_setting_type(e)));
	}
	rs_dupes(ld, vs);
}

static void vs_sorry(struct loader *ld, struct vs_ctx *x)
{
	const config_setting_t *grp = x->k.s[VS_SORRY_SERVER];
	struct keys k;

	if (cfg_typed(ld, grp, K_GROUP) != 1)
		return;
	cfg_keys_read(ld, grp, "in sorry_server", cfg_rs_keys, RS_NDEST, &k);
	dest_endpoint(ld, x, grp, &k, &x->vs->sorry, "sorry_server");
	x->vs->sorry.weight = 1;
	x->vs->has_sorry = true;
}

/* A zeroed service at the end of c->vs, NULL (oom noted) on failure; own:
 * with a share of its own (not taken over from prev). */
struct xl_vs_config *cfg_vs_slot(struct loader *ld, bool own)
{
	struct xl_config *c = ld->c;
	struct xl_vs_config *vs;

	if (XL_GROW(c->vs, ld->cap_vs, c->nvs + 1, 16) < 0) {
		cfg_oom(ld);
		return NULL;
	}
	vs = &c->vs[c->nvs++];
	memset(vs, 0, sizeof(*vs));
	vs->prev = XL_VS_NONE;
	if (!own)
		return vs;
	if (!(vs->share = calloc(1, sizeof(*vs->share)))) {
		c->nvs--;
		cfg_oom(ld);
		return NULL;
	}
	vs->share->holders = 1;
	return vs;
}

static struct xl_vs_config *vs_append(struct loader *ld,
				      const config_setting_t *grp)
{
	struct xl_vs_config *vs = cfg_vs_slot(ld, true);

	if (!vs)
		return NULL;
	vs->file = cfg_setting_file(ld, grp);
	vs->line = cfg_line_of(grp);
	return vs;
}

static void vs_parse(struct loader *ld, const config_setting_t *grp)
{
	struct vs_ctx x = {.grp = grp, .id_ok = true};

	x.vs = vs_append(ld, grp);
	if (!x.vs)
		return;
	cfg_keys_read(ld, grp, "in virtual service", cfg_vs_keys, VS_NKEYS,
		      &x.k);
	vs_name(ld, &x);
	vs_identity(ld, &x);
	vs_scheduler(ld, &x);
	vs_forward(ld, &x);
	vs_persistence(ld, &x);
	vs_options(ld, &x);
	vs_check(ld, &x);
	vs_reals(ld, &x);
	vs_sorry(ld, &x);
	cfg_vs_nft(ld, &x.k, x.vs, x.id_ok, x.fwd_ok ? (int)x.tmpl.fwd : -1);
	if (!x.id_ok)
		x.vs->svc.af = 0; /* keep it out of the duplicate search */
}

void cfg_vs_list(struct loader *ld, const config_setting_t *list)
{
	int n = config_setting_length(list);

	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(list, i);

		if (config_setting_type(e) == CONFIG_TYPE_GROUP)
			vs_parse(ld, e);
		else
			cfg_err(ld, e,
				"virtual_services: entry %d is %s, expected a "
				"group { name = ...; }",
				i + 1, cfg_type_name(config_setting_type(e)));
	}
}
