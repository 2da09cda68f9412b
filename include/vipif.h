/*
 * vipif.h - the VIPs of the services on a dummy interface (vip_interface).
 *
 * The host accepts a VIP's traffic only while the address is on one of its
 * interfaces.  The engine keeps exactly the VIPs its services want on the
 * interface vip_interface names: a VIP shared by several services (ports,
 * protocols) is one address, fwmark services have none, and with announce
 * = "quorum" a VIP is there only while one of its services has quorum, so
 * that a routing daemon announcing the interface's addresses withdraws it.
 * Addresses extlbd did not add are never touched: extlbd marks its own
 * with the address protocol XL_VIP_PROTO (IFA_PROTO, Linux 6.1), which
 * the kernel keeps and reports, so a restart still knows them.
 *
 * Like sync.c over kernel.h, the engine reaches the kernel only through
 * struct xl_vipif_ops, so that what it decides is tested against an
 * interface made of memory (tests/unit/test_vipif.c); vipif_rtnl.c
 * implements the ops over rtnetlink (libnl-route-3).
 */
#ifndef EXTLB_VIPIF_H
#define EXTLB_VIPIF_H

#include "desired.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The address protocol extlbd's addresses carry ("proto 120" in the
 * iproute2 versions that show it). */
#define XL_VIP_PROTO 120
/* The alias of an interface extlbd created (ip link shows it). */
#define XL_VIP_IFALIAS "extlbd vip_interface"

struct xl_vip {
	uint16_t af;
	union xl_inaddr addr;
};

/* An address of the interface as a dump reads it. */
struct xl_vip_addr {
	struct xl_vip vip;
	bool ours; /* carries XL_VIP_PROTO */
};

enum xl_vip_op_kind { XL_VIP_ADD, XL_VIP_DEL };

struct xl_vip_op {
	enum xl_vip_op_kind kind;
	struct xl_vip vip;
};

typedef void (*xl_vip_err_fn)(const struct xl_vip_op *op, int err, void *arg);

struct xl_vipif_ops {
	/* The interface called name, created as a dummy (and marked with
	 * XL_VIP_IFALIAS) when there is none, and set up.  Its index (> 0);
	 * -EMEDIUMTYPE when an interface of that name is not a dummy (it is
	 * left as it is); -errno. */
	int (*link)(void *k, const char *name);
	/* The addresses of interface ifindex (IPv6 link-local ones left
	 * out), in any order, in a malloc'd array.  0 or -errno. */
	int (*dump)(void *k, int ifindex, struct xl_vip_addr **out, size_t *n);
	/* Adds (/32, /128 without DAD, marked XL_VIP_PROTO) and deletes, in
	 * order, each refusal reported to fn.  How many were refused, or
	 * -errno when the kernel could not be reached. */
	long (*apply)(void *k, int ifindex, const struct xl_vip_op *ops,
		      size_t n, xl_vip_err_fn fn, void *arg);
	/* Deletes the interface if it carries XL_VIP_IFALIAS.  1 deleted, 0
	 * not extlbd's, -errno. */
	int (*unlink)(void *k, const char *name);
};

struct xl_vipif;

struct xl_vipif *xl_vipif_new(const struct xl_vipif_ops *ops, void *k);
void xl_vipif_free(struct xl_vipif *v);

/*
 * The interface brought to what want (its configuration, health) asks
 * for: the interface looked up (made if needed), its addresses read back
 * (one dump) and the difference applied.  Start-up, resync.  A change of
 * vip_interface first takes extlbd's addresses off the interface named
 * before.  0, or -1 when the interface could not be had or read (logged;
 * IPVS is not concerned).
 */
int xl_vipif_sync(struct xl_vipif *v, const struct xl_desired *want);

/*
 * The same for the VIPs of the services keys name alone (identities of
 * services added, changed, removed, or whose health changed), against
 * what the engine remembers of the interface: a health change or a reload
 * costs the VIPs it touches.  Falls back to xl_vipif_sync when there is
 * no memory or vip_interface changed.
 */
int xl_vipif_sync_keys(struct xl_vipif *v, const struct xl_desired *want,
		       const struct xl_service *keys, size_t n);

/*
 * At stop: with remove, extlbd's addresses leave the interface, and the
 * interface goes too when extlbd created it and nothing else is on it.
 * Without, everything stays (on_stop = "keep").
 */
void xl_vipif_release(struct xl_vipif *v, bool remove);

/* The addresses the engine believes are extlbd's on the interface now
 * (sorted), for tests and logs. */
const struct xl_vip *xl_vipif_have(const struct xl_vipif *v, size_t *n);

/* Identity order of addresses: family, then bytes. */
int xl_vip_cmp(const struct xl_vip *a, const struct xl_vip *b);

/* "192.168.10.100/32", "2001:db8::1/128" */
const char *xl_vip_format(const struct xl_vip *a, char *buf, size_t len);

/* rtnetlink (vipif_rtnl.c): the socket is opened on first use. */
struct xl_rtnl;
struct xl_rtnl *xl_rtnl_new(void);
void xl_rtnl_free(struct xl_rtnl *r);
extern const struct xl_vipif_ops xl_rtnl_vipif_ops;

#endif
