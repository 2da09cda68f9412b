/*
 * rules.h - what extlbd takes in a virtual service and in include_dir,
 * as plain functions of names and numbers.
 *
 * extlbd's loader refuses a file that breaks one of these rules, and
 * extlb-k8s must never write such a file, since one refused entry
 * freezes every Service of the cluster.  So both call the same functions
 * rather than each keep its own copy of the rule: a rule changed here is
 * changed for both.  Nothing here needs libconfig or libnl, so that
 * extlb-k8s links it without them.  The identity of a virtual service
 * (what makes two the same) is model.c's xl_service_cmp, which is as
 * plain and which extlb-k8s links too.
 */
#ifndef EXTLB_RULES_H
#define EXTLB_RULES_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A word of the file and the value it stands for; a list of them ends
 * with a NULL name. */
struct xl_named {
	const char *name;
	int value;
};

/* The entry of t called name, or NULL. */
const struct xl_named *xl_named_find(const struct xl_named *t,
				     const char *name);

/* The forwarding methods ("nat", "dr", "tun") with their IPVS flags,
 * IP_VS_CONN_F_MASQ, _DROUTE and _TUNNEL. */
extern const struct xl_named xl_rule_forwards[];

/* Is s a scheduler name: 1 to XL_SCHED_MAX - 1 of a-z, 0-9, _?  Which
 * schedulers exist is the kernel's to say (a module may add one), so
 * the name is all that is checked. */
bool xl_rule_sched_name(const char *s);

/* May a real server of family daf serve a service of family saf with
 * forwarding fwd (IP_VS_CONN_F_*)?  IPVS mixes families only when the
 * traffic is tunnelled, and says EINVAL otherwise. */
bool xl_rule_family_ok(int saf, int daf, int fwd);

/* Must a real server with forwarding fwd listen on the service's port?
 * dr and tun do not rewrite the destination port: the packet reaches the
 * real server on the port the client sent it to. */
bool xl_rule_port_fixed(int fwd);

/* Is name one the loader reads from include_dir: *.conf, and not a
 * dotfile (a writer's temp file, renamed into place when complete)? */
bool xl_incfile_wanted(const char *name);

/* An address range: af (AF_INET, AF_INET6), the network address with
 * its host bits cleared, and the prefix length. */
struct xl_cidr {
	uint16_t af;
	uint8_t plen;
	union xl_inaddr addr;
};

/*
 * Parses "ADDRESS/PREFIX" or a bare address (a /32 or /128), as
 * allowed_sources and Kubernetes' loadBalancerSourceRanges write them.
 * Host bits set under the prefix ("10.1.2.3/8") are cleared, as the
 * Kubernetes API server's own parser does; *host_bits says they were
 * there.  Nothing but the address, one '/' and decimal digits is taken
 * (no spaces, no leading zeros, no IPv4 zone or mask form).  true, or
 * false with the reason in why.
 */
bool xl_rule_cidr(const char *s, struct xl_cidr *out, bool *host_bits,
		  char *why, size_t len);

/* Order by family, address, then the wider first; 0 when equal. */
int xl_cidr_cmp(const struct xl_cidr *a, const struct xl_cidr *b);

/* b lies inside a (both of one family; a range holds itself). */
bool xl_cidr_contains(const struct xl_cidr *a, const struct xl_cidr *b);

/* The CIDR as text ("203.0.113.0/24", "2001:db8::/32") into buf (at least
 * XL_CIDR_STRLEN bytes). */
#define XL_CIDR_STRLEN 50
void xl_cidr_format(const struct xl_cidr *c, char *buf, size_t len);

/*
 * ADDRESS:PORT, or with port_optional ADDRESS[:PORT]: "10.0.0.1:80",
 * "[2001:db8::1]:80", and when optional "10.0.0.1", "[2001:db8::1]" or
 * "2001:db8::1" (*port -1).  IPv6 with a port goes in brackets; the port
 * is decimal digits, 1-65535.  true, or false with why ("is not ...", to
 * follow the value in quotes).
 */
bool xl_rule_addr_port(const char *s, bool port_optional, uint16_t *af,
		       union xl_inaddr *a, int *port, const char **why);

/* "127.0.0.1:9475", "[::1]:9475" (port 1-65535): an address to listen on
 * (metrics_listen); true, or false with why ("is not ADDRESS:PORT ...",
 * to follow the value). */
bool xl_rule_listen(const char *s, uint16_t *af, union xl_inaddr *a,
		    uint16_t *port, const char **why);

#endif
