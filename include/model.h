/*
 * model.h - the one shape in which extlbd holds an IPVS table.
 *
 * The table extlbd wants (built from the configuration and, later, health)
 * and the table the kernel holds (read back by a dump) are both an
 * xl_table: services sorted by identity, each with its destinations sorted
 * by identity.  reconcile() compares two such values; nothing here talks to
 * the kernel or knows about the configuration file.
 */
#ifndef EXTLB_MODEL_H
#define EXTLB_MODEL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XL_SCHED_MAX 16 /* IP_VS_SCHEDNAME_MAXLEN, with the NUL */
#define XL_ADDRSTR_MAX 64

union xl_inaddr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t b[16];
};

/* A real server as IPVS knows it.  Identity: af, addr, port. */
/*
 * The kernel's counters of a service or a server (IPVS_*_ATTR_STATS64, or
 * the 32-bit STATS of kernels before 4.1): totals since the object was
 * added, and rates the kernel estimates over the last seconds (per
 * second).  Read from the kernel only; never compared.
 */
struct xl_ipvs_stats {
	uint64_t conns, inpkts, outpkts, inbytes, outbytes;
	uint64_t cps, inpps, outpps, inbps, outbps;
};

struct xl_dest {
	uint16_t af;
	union xl_inaddr addr;
	uint16_t port; /* host order */

	uint32_t fwd; /* IP_VS_CONN_F_MASQ, _DROUTE, _TUNNEL */
	int32_t weight;
	uint32_t u_thresh;
	uint32_t l_thresh;
	uint8_t tun_type;  /* IP_VS_CONN_F_TUNNEL_TYPE_* (tunnel only) */
	uint16_t tun_port; /* host order, gue only */
	uint16_t tun_flags;

	/* Read from the kernel only; never compared.  (Its counters are not
	 * here: a table holds 100,000 of these several times over, and only
	 * status reads them, through get_service_stats, kernel.h.) */
	uint32_t active_conns;
	uint32_t inact_conns;
	uint32_t persist_conns;
};

/*
 * A virtual service as IPVS knows it.  Identity: af with either fwmark
 * (when non-zero) or protocol, addr and port.
 */
struct xl_service {
	uint16_t af;
	uint16_t protocol; /* IPPROTO_TCP, _UDP, _SCTP; 0 for fwmark */
	union xl_inaddr addr;
	uint16_t port; /* host order */
	uint32_t fwmark;

	char sched[XL_SCHED_MAX];
	uint32_t flags;	  /* IP_VS_SVC_F_*, without _HASHED */
	uint32_t timeout; /* persistence, seconds */
	uint32_t netmask; /* v4: mask in network order; v6: prefix length */

	struct xl_ipvs_stats stats; /* read from the kernel only */

	struct xl_dest *dests;
	size_t ndests;
};

struct xl_table {
	struct xl_service *svcs;
	size_t nsvcs;
};

/* Addresses */
int xl_addr_parse(const char *s, uint16_t *af, union xl_inaddr *out);
const char *xl_addr_format(uint16_t af, const union xl_inaddr *a, char *buf,
			   size_t len);

/* Identity order (0 when the same object) */
int xl_service_cmp(const struct xl_service *a, const struct xl_service *b);
int xl_dest_cmp(const struct xl_dest *a, const struct xl_dest *b);

/* Same identity, do the attributes IPVS stores differ? */
bool xl_service_attrs_equal(const struct xl_service *a,
			    const struct xl_service *b);
bool xl_dest_attrs_equal(const struct xl_dest *a, const struct xl_dest *b);

/* "TCP 192.168.10.100:8000", "UDP [2001:db8::1]:53", "FWM 7 (inet6)" */
const char *xl_service_format(const struct xl_service *s, char *buf,
			      size_t len);
/* "10.20.0.5:80", "[2001:db8::5]:80" */
const char *xl_dest_format(const struct xl_dest *d, char *buf, size_t len);
const char *xl_fwd_name(uint32_t fwd);

/* Tables */
void xl_service_sort_dests(struct xl_service *s);
void xl_table_sort(struct xl_table *t);
const struct xl_service *xl_table_find(const struct xl_table *t,
				       const struct xl_service *key);
int xl_table_copy(struct xl_table *dst, const struct xl_table *src);
int xl_service_copy(struct xl_service *dst, const struct xl_service *src);
void xl_service_free(struct xl_service *s);
void xl_table_free(struct xl_table *t);
size_t xl_table_objects(const struct xl_table *t);

/*
 * Keys.  A service with no destinations stands for its identity: it
 * compares, sorts and is found like any entry of a table, so keys need no
 * type, comparison or search of their own, and its attributes come along
 * for log lines at no cost.
 */

/* s as a key: its identity and attributes, without its destinations. */
static inline struct xl_service xl_service_key(const struct xl_service *s)
{
	struct xl_service k = *s;

	k.dests = NULL;
	k.ndests = 0;
	return k;
}

/* Keys collected as they come (any order, repeats allowed). */
struct xl_keys {
	struct xl_service *v;
	size_t n, cap;
};

/* Appends s's key: 0 or -ENOMEM (k unchanged). */
int xl_keys_push(struct xl_keys *k, const struct xl_service *s);
void xl_keys_free(struct xl_keys *k);

/* Sorts keys (identities) and drops repeats; returns how many are left. */
size_t xl_keys_unique(struct xl_service *keys, size_t n);

/*
 * t (sorted) with the entry of every key (sorted, unique) made src's: a
 * copy (with its destinations when deep, else the identity alone) where src
 * has one, none where it has none.  0, or -ENOMEM with t unchanged.
 */
int xl_table_patch(struct xl_table *t, const struct xl_table *src,
		   const struct xl_service *keys, size_t n, bool deep);

#endif
