/*
 * nft.h - the nftables table extlbd owns: snat and allowed_sources.
 *
 * One table, "inet extlb", and nothing else of nftables is touched.  Its
 * content follows from the configuration alone (not from health), in two
 * steps kept apart so that the first can be tested without a kernel:
 *
 *   plan (nft_plan.c, pure): configuration -> the state the table must
 *   hold (xl_nft_state_build), and two states -> the objects and elements
 *   that turn one into the other (xl_nft_plan_diff), or that build the
 *   table from nothing (xl_nft_plan_full);
 *
 *   messages (nft_msg.c, no socket): a plan -> one netlink batch of
 *   libnftnl objects, each message named for the error it may earn;
 *
 *   apply (nft.c): each batch sent as one transaction, the state last
 *   applied remembered, the table rebuilt when it went missing (resync),
 *   the kernel features probed when a transaction fails, and the sysctls
 *   snat needs.
 */
#ifndef EXTLB_NFT_H
#define EXTLB_NFT_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XL_NFT_TABLE "extlb" /* of family inet */
/* An empty set the table is created with: the resync lists it (a cost
 * independent of the table's size) to see whether the table is there. */
#define XL_NFT_MARKER "owner"

/* What one service asks of the table (identity only in id). */
struct xl_nft_svc {
	struct xl_service id; /* af, protocol, addr, port; no dests */
	char *name;
	bool snat;
	uint16_t snat_af; /* 0: masquerade */
	union xl_inaddr snat_addr;
	struct xl_cidr *src; /* sorted; NULL: no allowed_sources */
	size_t nsrc;
};

/* Prefix lengths, 0 to 128: allowed_sources has a set and a rule for each
 * length in use (src4_24, src6_64, ...). */
#define XL_NFT_PLENS 129

/* The table's content: services sorted by identity, whether the base
 * chains of each part exist, and the prefix lengths that have their set
 * and rule (src_len[IPv6][length]); all created when first needed, then
 * kept. */
struct xl_nft_state {
	struct xl_nft_svc *v;
	size_t n;
	bool has_src_base, has_snat_base;
	bool src_len[2][XL_NFT_PLENS];
};

/* What the kernel can do, as probed (nft.c); both true until a probe says
 * otherwise.  A part the kernel cannot do is left out of the state. */
struct xl_nft_caps {
	bool src_ok;  /* nf_tables, filter chains, jumps, masks (bitwise) */
	bool snat_ok; /* nat chains, ct, masquerade, snat */
};

/* The services of c that ask for snat or allowed_sources (those that caps
 * allows), and the base objects they need, kept when prev had them (prev
 * may be NULL).  0 or -ENOMEM. */
int xl_nft_state_build(const struct xl_config *c,
		       const struct xl_nft_caps *caps,
		       const struct xl_nft_state *prev,
		       struct xl_nft_state *out);
void xl_nft_state_free(struct xl_nft_state *s);
/* Moves src into dst (dst freed first); src is left empty. */
void xl_nft_state_move(struct xl_nft_state *dst, struct xl_nft_state *src);

#define XL_NFT_NAMED 8 /* changed services named in a plan's summary */

/* The element sets of the table; each exists for IPv4 and IPv6 ("guard4",
 * "guard6", ...), and XL_NFT_SRC once for each prefix length too
 * ("src4_24"). */
enum xl_nft_set { XL_NFT_SRC, XL_NFT_GUARD, XL_NFT_MASQ, XL_NFT_SNAT };
#define XL_NFT_NSETS 4

/* One element: a service's key (its VIP . protocol . port), with one of
 * its ranges in the src sets (the set of the range's prefix length) or
 * its snat_address in the snat maps.  It points into the state it came
 * from, which must outlive it. */
struct xl_nft_elem {
	const struct xl_nft_svc *svc;
	const struct xl_cidr *range; /* XL_NFT_SRC only */
};

struct xl_nft_elems {
	struct xl_nft_elem *v;
	size_t n, cap;
};

/* The largest key: IPv6 address . protocol . port . IPv6 address, each
 * field in 32-bit words as nftables registers hold them. */
#define XL_NFT_KEY_MAX 40

/*
 * One transaction, as a list of what it creates and the elements it
 * deletes and adds; nft_msg.c turns it into netlink messages.  Elements
 * are gathered by set: deletions first (ranges before their guard), then
 * additions (the guard first); the ranges of one family are sorted by
 * prefix length, one set each.  The counts are for the log: ncmds counts
 * what nft would have taken as commands (one per object, one per set and
 * verb of elements).
 */
struct xl_nft_plan {
	bool replace;  /* the table replaced whole, "owner" set */
	bool src_base; /* sets guard, chains sources and src_check, rules */
	/* the prefix lengths whose set and rule this plan creates */
	bool src_len[2][XL_NFT_PLENS]; /* [IPv6][length] */
	size_t nsrc_len;	       /* how many */
	bool snat_base; /* sets masq, maps snat, chain postrouting */
	struct xl_nft_elems e[2][XL_NFT_NSETS][2]; /* [add][set][IPv6] */
	size_t ncmds;				   /* as nft commands */
	size_t nsvcs;			 /* services whose objects change */
	size_t elem_adds, elem_dels;	 /* set and map elements */
	const char *named[XL_NFT_NAMED]; /* the first nsvcs of them */
	bool oom;
};

/* The table replaced whole by want, in one transaction that also deletes
 * whatever a table of that name held. */
int xl_nft_plan_full(const struct xl_nft_state *want, struct xl_nft_plan *p);
/* The changes that turn have into want; 0 commands when equal.  The plan
 * points into both states. */
int xl_nft_plan_diff(const struct xl_nft_state *have,
		     const struct xl_nft_state *want, struct xl_nft_plan *p);
void xl_nft_plan_free(struct xl_nft_plan *p);

/* A plan's groups of elements in the order they are sent: the elements
 * of one set and verb. */
struct xl_nft_group {
	bool add, v6;
	enum xl_nft_set set;
	uint8_t plen; /* XL_NFT_SRC: the prefix length of the set */
	const struct xl_nft_elem *v;
	size_t n;
};
/* The most groups a plan can have: per verb, a set of each kind and
 * family, and a src set of every prefix length of each family. */
#define XL_NFT_GROUPS_MAX (2 * (2 * (XL_NFT_NSETS - 1) + 33 + XL_NFT_PLENS))
/* The non-empty groups of p into g (room for XL_NFT_GROUPS_MAX); their
 * number. */
size_t xl_nft_plan_groups(const struct xl_nft_plan *p, struct xl_nft_group *g);

/* The longest name of a set, with its NUL ("src6_128") */
#define XL_NFT_SETNAME_MAX 16
/* "guard6", "masq4", ...; "src4_24" for XL_NFT_SRC (of prefix length
 * plen), into buf (XL_NFT_SETNAME_MAX bytes), which is returned. */
const char *xl_nft_set_name(enum xl_nft_set set, bool v6, unsigned plen,
			    char *buf);

/* The key of e as the kernel holds it (network order, each field padded
 * to 32 bits; a range as its network address); the key's length. */
size_t xl_nft_elem_key(const struct xl_nft_elem *e, uint8_t *key);
/* The mask of prefix length plen for an address of family af (4 or 16
 * bytes into mask). */
void xl_nft_prefix_mask(uint16_t af, unsigned plen, uint8_t *mask);
/* The snat map's value of e (the address); its length. */
size_t xl_nft_elem_data(const struct xl_nft_elem *e, uint8_t *data);

/* The plan as nft commands, one line at a time (without its newline),
 * for the debug log and the tests. */
int xl_nft_plan_text(const struct xl_nft_plan *p,
		     void (*line)(void *arg, const char *text, size_t len),
		     void *arg);

/* ---- apply (nft.c) ---------------------------------------------------- */

struct xl_nft;

/* NULL when out of memory (logged). */
struct xl_nft *xl_nft_new(void);
void xl_nft_free(struct xl_nft *n);
/*
 * At start: the table built from c in one transaction that replaces what
 * an earlier extlbd left (atomically: traffic of services already served
 * is not interrupted).  When nothing in c needs nftables, a table left
 * behind is removed and nothing else is done.
 */
void xl_nft_start(struct xl_nft *n, const struct xl_config *c);
/* After a reload: only the difference, in one transaction. */
void xl_nft_reload(struct xl_nft *n, const struct xl_config *c);
/* Resync: the table read back cheaply; rebuilt if it went missing, and
 * features the kernel lacked probed again. */
void xl_nft_resync(struct xl_nft *n, const struct xl_config *c);
/* Does a service of c use snat?  Then the daemon asks kset for
 * net/ipv4/vs/conntrack = 1 (xl_kset_require). */
bool xl_nft_snat_used(const struct xl_config *c);

/* At stop: remove the table (on_stop = "remove") or leave it. */
void xl_nft_stop(struct xl_nft *n, bool remove);

#endif
