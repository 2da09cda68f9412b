/*
 * config_nft.c - the keys that ask for nftables: snat, snat_address and
 * allowed_sources.
 *
 * What nftables is asked to do is judged here, where the file and line are
 * known, so that the nftables module (nft.c) only ever renders values that
 * are valid: snat only for a vip service forwarded in "nat" (the only mode
 * whose replies can be turned back to the host), addresses of the VIP's
 * family, source ranges written as networks (host bits set is refused, not
 * normalised: "10.0.0.1/8" is far more often a typo for "10.0.0.1/32" than a
 * way to write "10.0.0.0/8"), and no range listed twice.  A range inside
 * another is allowed: each range is one element of its prefix length's
 * hash set (nft_plan.c), so "10.0.0.0/8" and "10.1.0.0/16" are two
 * elements that never meet.  snat_address chooses the source address of
 * forwarded traffic, so only files that only root can write may set it.
 */
#include "config_impl.h"

#include <errno.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *family_name(uint16_t af)
{
	return af == AF_INET6 ? "IPv6" : "IPv4";
}

/* Global: the default of every service (of its family, for the address). */
void cfg_global_nft(struct loader *ld, const struct keys *g)
{
	struct xl_config *c = ld->c;

	cfg_get_bool(ld, g->s[G_SNAT], &c->snat);
	if (cfg_get_addr(ld, g->s[G_SNAT_ADDRESS], &c->snat_af,
			 &c->snat_addr) != 1)
		c->snat_af = 0;
}

static int cidr_qcmp(const void *a, const void *b)
{
	return xl_cidr_cmp(a, b);
}

/* One entry of allowed_sources; true when it is valid. */
static bool source_entry(struct loader *ld, const config_setting_t *e,
			 uint16_t vaf, struct xl_cidr *out)
{
	char buf[XL_ADDRSTR_MAX], why[160];
	bool host_bits;
	const char *s;

	if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		cfg_err(ld, e,
			"wrong type for allowed_sources entry: expected a "
			"string like \"203.0.113.0/24\", got %s",
			cfg_type_name(config_setting_type(e)));
		return false;
	}
	s = config_setting_get_string(e);
	if (!xl_rule_cidr(s, out, &host_bits, why, sizeof(why))) {
		cfg_err(ld, e, "allowed_sources: %s", why);
		return false;
	}
	if (host_bits) {
		/* extlb-k8s clears them, as Kubernetes does; in the file
		 * they are more likely a typo than a wish */
		cfg_err(ld, e,
			"allowed_sources: \"%s\" has host bits set after the "
			"prefix: write the network \"%s/%u\", or the one "
			"address without a prefix",
			s,
			xl_addr_format(out->af, &out->addr, buf, sizeof(buf)),
			out->plen);
		return false;
	}
	if (vaf && out->af != vaf) {
		cfg_err(ld, e,
			"allowed_sources: \"%s\" is %s but the vip is %s: a "
			"range of the other family can never match",
			s, family_name(out->af), family_name(vaf));
		return false;
	}
	return true;
}

/* Sorted; the same range listed twice is refused (one of the two would be
 * a typo for something else). */
static void sources_sort(struct loader *ld, const config_setting_t *list,
			 struct xl_vs_nft *n)
{
	char b[XL_ADDRSTR_MAX];

	qsort(n->sources, n->nsources, sizeof(*n->sources), cidr_qcmp);
	for (size_t i = 1; i < n->nsources; i++) {
		const struct xl_cidr *p = &n->sources[i - 1],
				     *q = &n->sources[i];

		if (xl_cidr_cmp(p, q))
			continue;
		cfg_err(ld, list,
			"allowed_sources: %s/%u is listed twice: list each "
			"range once",
			xl_addr_format(q->af, &q->addr, b, sizeof(b)), q->plen);
		return;
	}
}

static void vs_sources(struct loader *ld, const config_setting_t *list,
		       struct xl_vs_config *vs)
{
	struct xl_vs_nft *n = &vs->nft;
	bool ok = true;
	int len;

	if (cfg_typed(ld, list, K_LIST) != 1)
		return;
	if (vs->svc.fwmark) {
		cfg_err(ld, list,
			"allowed_sources is only for vip services: a fwmark "
			"service's traffic is chosen by the rules that set the "
			"mark, filter it there");
		return;
	}
	len = config_setting_length(list);
	if (len == 0) {
		cfg_err(ld, list,
			"allowed_sources is empty, which would drop every "
			"client: leave it out to allow all");
		return;
	}
	n->sources = calloc((size_t)len, sizeof(*n->sources));
	if (!n->sources) {
		cfg_oom(ld);
		return;
	}
	for (int i = 0; i < len; i++)
		ok &= source_entry(ld, config_setting_get_elem(list, i),
				   vs->svc.af, &n->sources[n->nsources++]);
	if (ok)
		sources_sort(ld, list, n);
}

/* snat_address of the service, or the global one of the same family. */
static void vs_snat_address(struct loader *ld, const config_setting_t *s,
			    struct xl_vs_config *vs)
{
	struct xl_vs_nft *n = &vs->nft;
	const struct xl_config *c = ld->c;
	char buf[XL_ADDRSTR_MAX];

	if (s && !ld->trusted) {
		cfg_untrusted_err(ld, s, "snat_address");
		return;
	}
	if (cfg_get_addr(ld, s, &n->snat_af, &n->snat_addr) != 1) {
		n->snat_af = 0;
		if (c->snat_af && c->snat_af == vs->svc.af) {
			n->snat_af = c->snat_af;
			n->snat_addr = c->snat_addr;
		}
		return;
	}
	if (!n->snat)
		cfg_err(ld, s, "snat_address is used only with snat = true");
	else if (vs->svc.af && n->snat_af != vs->svc.af)
		cfg_err(
		    ld, s,
		    "snat_address %s is %s but the service is %s: "
		    "forwarded traffic keeps its family",
		    xl_addr_format(n->snat_af, &n->snat_addr, buf, sizeof(buf)),
		    family_name(n->snat_af), family_name(vs->svc.af));
}

/*
 * A service's own snat = true is refused where it cannot work; the global
 * default applies only where it can (vip services forwarded in "nat"), so
 * that one line in global does not make every dr service an error.
 */
void cfg_vs_nft(struct loader *ld, const struct keys *k,
		struct xl_vs_config *vs, bool id_ok, int fwd)
{
	const config_setting_t *s = k->s[VS_SNAT];
	struct xl_vs_nft *n = &vs->nft;
	bool can = !vs->svc.fwmark && fwd == IP_VS_CONN_F_MASQ;
	int r = cfg_get_bool(ld, s, &n->snat);

	if (r == 0)
		n->snat = ld->c->snat && can;
	if (r == 1 && n->snat && id_ok && vs->svc.fwmark)
		cfg_err(ld, s,
			"snat is only for vip services: a fwmark service's "
			"traffic is chosen by the rules that set the mark, "
			"masquerade it there");
	else if (r == 1 && n->snat && fwd >= 0 && fwd != IP_VS_CONN_F_MASQ)
		cfg_err(ld, s,
			"snat needs forward = \"nat\" (forward is \"%s\"): "
			"with dr and tun the real servers answer the client "
			"directly",
			xl_fwd_name((uint32_t)fwd));
	vs_snat_address(ld, k->s[VS_SNAT_ADDRESS], vs);
	vs_sources(ld, k->s[VS_ALLOWED_SOURCES], vs);
}

bool cfg_vs_nft_equal(const struct xl_vs_nft *a, const struct xl_vs_nft *b)
{
	if (a->snat != b->snat || a->snat_af != b->snat_af ||
	    a->nsources != b->nsources)
		return false;
	if (a->snat_af &&
	    memcmp(&a->snat_addr, &b->snat_addr, sizeof(a->snat_addr)))
		return false;
	for (size_t i = 0; i < a->nsources; i++)
		if (xl_cidr_cmp(&a->sources[i], &b->sources[i]))
			return false;
	return true;
}
