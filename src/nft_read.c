/*
 * nft_read.c - extlbd's table read back from the kernel, for the resync's
 * audit: the ruleset's generation, a set's element keys, and a digest of
 * the table's rules.
 *
 * Every successful nftables commit, anyone's, moves the generation, so an
 * unchanged one answers "nothing changed" in one round trip; only when it
 * moved are the sets and rules read.  The rules are compared with a digest
 * taken after extlbd's own last change (a rule's bytes are what extlbd
 * sent, whoever reads them); the elements with the keys the state says
 * each set holds.
 */
#include "nft_impl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_BUF 65536
#define REQ_BUF 1024 /* a request: a header and a name or two */

/* A request sent and its answers run through cb until the end; 0, or -1
 * with err. */
static int ask(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
	       void *arg, char *err, size_t len)
{
	static char buf[DUMP_BUF];
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	int rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, len, "send: %s", strerror(errno));
		return -1;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			snprintf(err, len, "no answer: %s", strerror(errno));
			return -1;
		}
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, cb, arg);
	} while (rc > MNL_CB_STOP);
	if (rc < 0) {
		snprintf(err, len, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the generation ----------------------------------------------------- */

static int gen_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_gen *g = nftnl_gen_alloc();

	if (g && nftnl_gen_nlmsg_parse(nlh, g) == 0)
		*(uint32_t *)arg = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

int nft_read_gen(struct mnl_socket *nl, uint32_t seq, uint32_t *gen, char *err,
		 size_t len)
{
	char buf[REQ_BUF] = {0}; /* libmnl leaves the padding unwritten */
	/* the ack ends the exchange after the one answer */
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
	    buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq);

	*gen = 0;
	return ask(nl, nlh, gen_cb, gen, err, len);
}

/* ---- a set's elements --------------------------------------------------- */

struct keys {
	uint8_t *v; /* n keys of NFT_READ_KEY bytes each, zero-padded */
	size_t n, cap;
	bool oom;
};

static int elem_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct keys *k = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ||
	    !(it = nftnl_set_elems_iter_create(s))) {
		nftnl_set_free(s);
		k->oom = true;
		return MNL_CB_OK;
	}
	for (e = nftnl_set_elems_iter_next(it); e;
	     e = nftnl_set_elems_iter_next(it)) {
		uint32_t klen = 0;
		const void *key =
		    nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);

		if (!key)
			continue;
		if (k->n == k->cap) {
			size_t cap = k->cap ? 2 * k->cap : 256;
			uint8_t *v = realloc(k->v, cap * NFT_READ_KEY);

			if (!v) {
				k->oom = true;
				break;
			}
			k->v = v;
			k->cap = cap;
		}
		memset(k->v + k->n * NFT_READ_KEY, 0, NFT_READ_KEY);
		memcpy(k->v + k->n * NFT_READ_KEY, key,
		       klen < NFT_READ_KEY ? klen : NFT_READ_KEY);
		k->n++;
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int key_qcmp(const void *a, const void *b)
{
	return memcmp(a, b, NFT_READ_KEY);
}

void nft_read_keys_sort(uint8_t *keys, size_t n)
{
	qsort(keys, n, NFT_READ_KEY, key_qcmp);
}

int nft_read_keys(struct mnl_socket *nl, uint32_t seq, const char *table,
		  const char *set, uint8_t **keys, size_t *n, char *err,
		  size_t len)
{
	char buf[REQ_BUF] = {0}; /* libmnl leaves the padding unwritten */
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	struct keys k = {0};

	*keys = NULL;
	*n = 0;
	if (!s) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
				    NLM_F_DUMP, seq);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (ask(nl, nlh, elem_cb, &k, err, len) < 0 || k.oom) {
		if (k.oom)
			snprintf(err, len, "out of memory");
		free(k.v);
		return -1;
	}
	nft_read_keys_sort(k.v, k.n);
	*keys = k.v;
	*n = k.n;
	return 0;
}

/* ---- the rules ---------------------------------------------------------- */

struct digest {
	uint64_t sum;
	size_t n;
};

/* FNV-1a over bytes, from h */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static int rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct digest *d = arg;
	struct nlattr *a;
	uint64_t h = 0xcbf29ce484222325ULL;

	/* the rule's chain and expressions as sent; its handle is the
	 * kernel's own, so that a rule put back the same is the same */
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		uint16_t type = mnl_attr_get_type(a);

		if (type == NFTA_RULE_CHAIN || type == NFTA_RULE_EXPRESSIONS)
			h = fnv(h, mnl_attr_get_payload(a),
				mnl_attr_get_payload_len(a));
	}
	/* a sum: the order the kernel lists rules in does not count, their
	 * number and bytes do */
	d->sum += h;
	d->n++;
	return MNL_CB_OK;
}

int nft_read_rules(struct mnl_socket *nl, uint32_t seq, const char *table,
		   struct nft_rules_digest *out, char *err, size_t len)
{
	char buf[REQ_BUF] = {0}; /* libmnl leaves the padding unwritten */
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	struct digest d = {0};

	if (!r) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET,
				    NLM_F_DUMP, seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (ask(nl, nlh, rule_cb, &d, err, len) < 0)
		return -1;
	out->sum = d.sum;
	out->n = d.n;
	return 0;
}
