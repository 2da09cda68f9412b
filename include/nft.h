/*
 * nft.h - the nftables table extlbd owns: snat and allowed_sources.
 *
 * One table, "inet extlb", and nothing else of nftables is touched.  Its
 * content follows from the configuration alone (not from health), in two
 * steps kept apart so that the first can be tested without a kernel:
 *
 *   plan (nft_plan.c, pure): configuration -> the state the table must
 *   hold (xl_nft_state_build), and two states -> the nft commands that
 *   turn one into the other (xl_nft_plan_diff), or that build the table
 *   from nothing (xl_nft_plan_full);
 *
 *   apply (nft.c): each plan sent as one libnftables transaction, the
 *   state last applied remembered, the table rebuilt when it went missing
 *   (resync), the kernel features probed when a transaction fails, and the
 *   sysctls snat needs.
 */
#ifndef EXTLB_NFT_H
#define EXTLB_NFT_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

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

/* The table's content: services sorted by identity, and whether the base
 * chains of each part exist (created when first needed, then kept). */
struct xl_nft_state {
	struct xl_nft_svc *v;
	size_t n;
	bool has_src_base, has_snat_base;
};

/* What the kernel can do, as probed (nft.c); both true until a probe says
 * otherwise.  A part the kernel cannot do is left out of the state. */
struct xl_nft_caps {
	bool src_ok;  /* nf_tables, filter chains, verdict maps */
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

/* One transaction's text, and what it changes, for the log. */
struct xl_nft_plan {
	char *text;
	size_t len, cap;
	size_t ncmds;			 /* lines of text */
	size_t nsvcs;			 /* services whose objects change */
	size_t elem_adds, elem_dels;	 /* set and map elements */
	const char *named[XL_NFT_NAMED]; /* the first nsvcs of them */
	bool oom;
};

/* The table replaced whole by want, in one transaction that also deletes
 * whatever a table of that name held. */
int xl_nft_plan_full(const struct xl_nft_state *want, struct xl_nft_plan *p);
/* The commands that turn have into want; 0 commands when equal. */
int xl_nft_plan_diff(const struct xl_nft_state *have,
		     const struct xl_nft_state *want, struct xl_nft_plan *p);
void xl_nft_plan_free(struct xl_nft_plan *p);

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
