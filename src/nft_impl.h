/*
 * nft_impl.h - what nft.c and nft_msg.c share: a transaction as the bytes
 * of one netlink batch, and what each of its messages is, so that an
 * error the kernel sends back by sequence number can name its object.
 */
#ifndef EXTLB_NFT_IMPL_H
#define EXTLB_NFT_IMPL_H

#include "nft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message of a batch: its sequence number and what it does. */
struct nft_what {
	uint32_t seq;
	char text[120];
};

/* A batch: BEGIN, the messages, END.  The kernel answers a message only
 * with an error, but the last one asks for its ack too: the kernel
 * handles the batch inside the send, so once that answer is read, every
 * error is. */
struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0;	    /* BEGIN's sequence number */
	uint32_t seq;	    /* the next one */
	struct nft_what *w; /* the messages between BEGIN and END */
	size_t nw, wcap;
	size_t last;	   /* offset of the last message in buf */
	uint32_t set_id;   /* the last set id given */
	const char *table; /* the table the objects go in */
	bool oom;
};

/* A batch begun with sequence number seq, for objects of table (of
 * family inet). */
void nft_batch_init(struct nft_batch *b, const char *table, uint32_t seq);
/* END appended; 0 or -ENOMEM (then the batch is unusable). */
int nft_batch_end(struct nft_batch *b);
void nft_batch_free(struct nft_batch *b);
/* What the message of sequence number seq does; NULL when none. */
const char *nft_batch_what(const struct nft_batch *b, uint32_t seq);

/* The messages of a plan into b (see struct xl_nft_plan). */
void nft_batch_plan(struct nft_batch *b, const struct xl_nft_plan *p);

/* The table created, or deleted. */
void nft_batch_table(struct nft_batch *b, bool add);

/* What a kernel feature probe builds in its scratch table. */
enum nft_probe {
	NFT_PROBE_TABLE,   /* a table (nf_tables) */
	NFT_PROBE_SOURCES, /* allowed_sources' sets, chain and rules */
	NFT_PROBE_NAT,	   /* a nat chain (nft_chain_nat) */
	NFT_PROBE_CT,	   /* a rule reading conntrack (nft_ct) */
	NFT_PROBE_MASQ,	   /* masquerade (nft_masq) */
	NFT_PROBE_SNAT,	   /* snat (nft_nat) */
};
/* The objects of one probe into b (whose table is the scratch one): the
 * table is created, filled and deleted in one batch. */
void nft_batch_probe(struct nft_batch *b, enum nft_probe what);

/* ---- nft_read.c: the table read back, for the resync's audit ---------- */

struct mnl_socket;

/* The ruleset's generation, which every commit moves; 0 or -1 (err). */
int nft_read_gen(struct mnl_socket *nl, uint32_t seq, uint32_t *gen, char *err,
		 size_t len);

/* The keys of set of table, NFT_READ_KEY bytes each (zero-padded),
 * sorted, into *keys (the caller frees it); 0 or -1 (err: a set that is
 * not there, too). */
#define NFT_READ_KEY XL_NFT_KEY_MAX
int nft_read_keys(struct mnl_socket *nl, uint32_t seq, const char *table,
		  const char *set, uint8_t **keys, size_t *n, char *err,
		  size_t len);
/* n keys sorted as nft_read_keys sorts them. */
void nft_read_keys_sort(uint8_t *keys, size_t n);

/* The rules of table, as a count and an order-free digest of each rule's
 * chain and expressions. */
struct nft_rules_digest {
	uint64_t sum;
	size_t n;
};
int nft_read_rules(struct mnl_socket *nl, uint32_t seq, const char *table,
		   struct nft_rules_digest *out, char *err, size_t len);

#endif
