/*
 * nft.c - the nftables table extlbd owns, applied over netfilter netlink.
 *
 * Every change is one transaction (one batch of nft_msg.c's messages, one
 * send, its answers read back by sequence number): the whole
 * table at start (replacing, atomically, what an earlier extlbd left, so
 * that services already served see no gap), and after that only the
 * difference between the state last applied and the configuration's
 * (nft_plan.c).  A diff that fails (someone edited the table) is followed
 * by a rebuild; a rebuild that fails makes the module probe which feature
 * the kernel lacks, in a scratch table of its own, and build the table
 * without the part that needs it: the error names the feature and the
 * services that go without, the others keep what they have, and IPVS
 * serves them all regardless.  The resync looks for the table by asking
 * for an empty set it holds, which costs the same at any size, and
 * rebuilds it when it is gone (nft flush ruleset, nft delete table); then
 * asks for the ruleset's generation, and only when a commit of anyone's
 * moved it since extlbd's last change reads the rules and the sets back
 * (nft_read.c) and rebuilds the table when they are not what extlbd put
 * there (an element or a rule deleted or added by hand).
 *
 * (Through libnftables, parsing and evaluating the text of 10,000
 * services' 40,000 elements took 2.3-4.3 s of user time in the bench's
 * guest; built here, under 0.1 s.  The kernel's insertion of the ranges
 * is the rest: hash sets per prefix length, not interval sets, for that;
 * nft_plan.c and bench/README.md, "Issue 15".)
 */
#include "log.h"
#include "nft_impl.h"
#include "sysctl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define T "inet " XL_NFT_TABLE
#define PROBE_TABLE "extlb_probe"
/* answers are acks and errors without their message (NETLINK_CAP_ACK) */
#define RECV_BUF 16384

struct xl_nft {
	struct mnl_socket *nl; /* opened when first needed */
	uint32_t seq;
	int sndbuf, rcvbuf;	  /* as set by buf_fit */
	struct xl_nft_state have; /* what the table holds, as applied */
	bool table;		  /* it exists, as far as we know */
	struct xl_nft_caps caps;
	const char *lacks_src, *lacks_snat; /* the feature missing */
	char err[512];			    /* the last transaction's */
	/* after extlbd's last change: the ruleset's generation and the
	 * table's rules, to tell at a resync whether anyone changed it */
	uint32_t gen;
	bool gen_known;
	struct nft_rules_digest rules;
};

struct xl_nft *xl_nft_new(void)
{
	struct xl_nft *n = calloc(1, sizeof(*n));

	if (!n) {
		xl_err("nftables: out of memory");
		return NULL;
	}
	n->caps = (struct xl_nft_caps){.src_ok = true, .snat_ok = true};
	n->seq = (uint32_t)time(NULL);
	return n;
}

void xl_nft_free(struct xl_nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	xl_nft_state_free(&n->have);
	free(n);
}

/* The netfilter netlink socket, opened once; NULL with n->err said. */
static struct mnl_socket *sock(struct xl_nft *n)
{
	static const int on = 1;
	static const struct timeval tmo = {.tv_sec = 10};
	struct mnl_socket *nl;

	if (n->nl)
		return n->nl;
	if (!(nl = mnl_socket_open(NETLINK_NETFILTER)) ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(n->err, sizeof(n->err), "netfilter netlink socket: %s",
			 strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return NULL;
	}
	/* errors without the message they answer (which may be 30 kB of
	 * elements), and never a wait without end */
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &on,
		   sizeof(on));
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tmo,
		   sizeof(tmo));
	n->sndbuf = n->rcvbuf = 0;
	return n->nl = nl;
}

/* A socket buffer (SO_SNDBUF or SO_RCVBUF, with its FORCE twin) made to
 * hold at least len bytes. */
static void buf_fit(struct xl_nft *n, int opt, int force, int *cur, size_t len)
{
	int fd = mnl_socket_get_fd(n->nl), want;

	if (len + 65536 <= (size_t)*cur || len > (1u << 30))
		return;
	want = (int)len + 65536;
	if (setsockopt(fd, SOL_SOCKET, force, &want, sizeof(want)) &&
	    setsockopt(fd, SOL_SOCKET, opt, &want, sizeof(want)))
		return;
	*cur = want;
}

/*
 * Reads the kernel's answers to the messages numbered lo..hi-1 until the
 * one of last (which asked for an ack) has come, or an error for lo when
 * lo is a batch's BEGIN (the batch refused as a whole).  0 when no error
 * came; the first error's errno (positive) with its message's number in
 * *at; -1 when no answer came (n->err says why).
 */
static int answers(struct xl_nft *n, uint32_t lo, uint32_t hi, uint32_t last,
		   uint32_t *at)
{
	char buf[RECV_BUF];
	int err = 0;

	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		int left = (int)len;

		if (len < 0) {
			snprintf(n->err, sizeof(n->err),
				 "no answer from the kernel: %s",
				 strerror(errno));
			/* an answer lost (ENOBUFS) or late: the socket
			 * starts again */
			mnl_socket_close(n->nl);
			n->nl = NULL;
			return -1;
		}
		for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < lo ||
			    h->nlmsg_seq >= hi)
				continue; /* not an answer to these */
			if (e->error && !err) {
				err = -e->error;
				*at = h->nlmsg_seq;
			}
			if (h->nlmsg_seq == last ||
			    (e->error && h->nlmsg_seq == lo))
				return err;
		}
	}
}

/* Sends b; 0, or -1 with the first error in n->err: the object it
 * concerns and its errno. */
static int talk(struct xl_nft *n, struct nft_batch *b)
{
	uint32_t at = 0;
	int rc;

	n->err[0] = '\0';
	if (nft_batch_end(b) < 0) {
		snprintf(n->err, sizeof(n->err), "out of memory");
		return -1;
	}
	n->seq = b->seq;
	if (!sock(n))
		return -1;
	/* the batch is one message; the answers at most one each */
	buf_fit(n, SO_SNDBUF, SO_SNDBUFFORCE, &n->sndbuf, b->len);
	buf_fit(n, SO_RCVBUF, SO_RCVBUFFORCE, &n->rcvbuf, b->nw * 1024);
	if (mnl_socket_sendto(n->nl, b->buf, b->len) < 0) {
		snprintf(n->err, sizeof(n->err), "send: %s", strerror(errno));
		return -1;
	}
	rc = b->nw ? answers(n, b->seq0, b->seq, b->w[b->nw - 1].seq, &at) : 0;
	if (rc > 0)
		snprintf(n->err, sizeof(n->err), "%s: %s",
			 nft_batch_what(b, at) ? nft_batch_what(b, at) : "?",
			 strerror(rc));
	return rc ? -1 : 0;
}

/* A batch of one plan or probe, for table. */
static void batch(struct xl_nft *n, struct nft_batch *b, const char *table)
{
	nft_batch_init(b, table, n->seq);
}

/* Does the owner set exist?  1 yes, 0 no (the table is gone), -1 the
 * question failed (n->err). */
static int owner_exists(struct xl_nft *n)
{
	char buf[RECV_BUF] = {0}; /* libmnl leaves the padding unwritten */
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	uint32_t seq = n->seq++, at;
	int rc;

	if (!s || !sock(n)) {
		nftnl_set_free(s);
		return -1;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET,
				    NLM_F_ACK, seq);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, XL_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, XL_NFT_MARKER);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0) {
		snprintf(n->err, sizeof(n->err), "send: %s", strerror(errno));
		return -1;
	}
	/* the set itself comes first, then the ack */
	if ((rc = answers(n, seq, seq + 1, seq, &at)) > 0)
		snprintf(n->err, sizeof(n->err), "list set " T " %s: %s",
			 XL_NFT_MARKER, strerror(rc));
	return rc == 0 ? 1 : rc == ENOENT ? 0 : -1;
}

/* The table deleted, alone in a batch; 0 or -1. */
static int delete_table(struct xl_nft *n)
{
	struct nft_batch b;
	int rc;

	batch(n, &b, XL_NFT_TABLE);
	nft_batch_table(&b, false);
	rc = talk(n, &b);
	nft_batch_free(&b);
	return rc;
}

/* ---- kernel features ---------------------------------------------------- */

/* One probe: objects built in a scratch table and deleted in the same
 * transaction; true when the kernel took them. */
static bool probe(struct xl_nft *n, enum nft_probe what)
{
	struct nft_batch b;
	int rc;

	batch(n, &b, PROBE_TABLE);
	nft_batch_probe(&b, what);
	rc = talk(n, &b);
	nft_batch_free(&b);
	return rc == 0;
}

static void probe_features(struct xl_nft *n)
{
	static const struct {
		enum nft_probe what;
		const char *feature;
	} snat[] = {
	    {NFT_PROBE_NAT, "nat chains (nft_chain_nat)"},
	    {NFT_PROBE_CT, "the ct expression (nft_ct)"},
	    {NFT_PROBE_MASQ, "masquerade (nft_masq)"},
	    {NFT_PROBE_SNAT, "snat (nft_nat)"},
	};

	n->lacks_src = n->lacks_snat = NULL;
	if (!probe(n, NFT_PROBE_TABLE))
		n->lacks_src = n->lacks_snat = "nf_tables";
	else if (!probe(n, NFT_PROBE_SOURCES))
		n->lacks_src = "filter chains with sets of concatenations "
			       "and masks (nf_tables)";
	for (size_t i = 0; !n->lacks_snat && i < XL_ARRAY_SIZE(snat); i++)
		if (!probe(n, snat[i].what))
			n->lacks_snat = snat[i].feature;
	n->caps.src_ok = !n->lacks_src;
	n->caps.snat_ok = !n->lacks_snat;
}

/* The services of c that go without part (snat or allowed_sources)
 * because the kernel lacks feature, named in one error. */
static void log_lacking(const struct xl_config *c, bool snat,
			const char *feature)
{
	const char *first = NULL;
	char more[48] = "";
	size_t count = 0;

	for (size_t i = 0; i < c->nvs; i++) {
		const struct xl_vs_nft *v = &c->vs[i].nft;

		if (snat ? !v->snat : !v->nsources)
			continue;
		if (!count++)
			first = c->vs[i].name;
	}
	if (!count)
		return;
	if (count > 1)
		snprintf(more, sizeof(more), " (and %zu more)", count - 1);
	xl_err("nftables: the kernel lacks %s: %s of virtual service \"%s\"%s "
	       "is not in "
	       "force (IPVS serves %s without it)",
	       feature, snat ? "snat" : "allowed_sources", first, more,
	       count > 1 ? "them" : "it");
}

/* ---- sysctls ---------------------------------------------------------- */

/* name set to "1" when it is not, and said so. */
static void sysctl_on(const char *name, const char *why)
{
	char v[32];
	int rc = xl_sysctl_read(name, v, sizeof(v));

	if (rc == 0 && !strcmp(v, "1"))
		return;
	if ((rc = xl_sysctl_write(name, "1")) < 0)
		xl_err("sysctl %s: cannot set 1 (%s): %s", name, why,
		       strerror(-rc));
	else
		xl_info("sysctl %s = 1 (was %s): %s", name, v, why);
}

/*
 * Replies to the host's address are de-masqueraded and then routed on to
 * the client, through IPVS's forward hook, which needs forwarding on.
 * vs/conntrack = 1, which nat needs too (IPVS keeps a conntrack entry for
 * what it forwards only then), is kset's: the daemon asks it for that
 * value while a service uses snat (xl_nft_snat_used), so that one module
 * decides the net/ipv4/vs settings and restores them.
 */
static void snat_sysctls(const struct xl_nft_state *s)
{
	bool v4 = false, v6 = false;

	for (size_t i = 0; i < s->n; i++) {
		v4 |= s->v[i].snat && s->v[i].id.af == AF_INET;
		v6 |= s->v[i].snat && s->v[i].id.af == AF_INET6;
	}
	if (v4)
		sysctl_on("net/ipv4/ip_forward",
			  "snat's replies are forwarded to the client");
	if (v6)
		sysctl_on("net/ipv6/conf/all/forwarding",
			  "snat's replies are forwarded to the client");
}

/* ---- transactions ------------------------------------------------------- */

struct log_line {
	const char *why;
};

static void log_line(void *arg, const char *text, size_t len)
{
	const struct log_line *l = arg;

	xl_debug("nftables: %s: | %.*s", l->why, (int)len, text);
}

/* The sets of the prefix lengths p uses first ("; first use of src4_24,
 * src6_64: a set and a rule each") into buf; "" when none. */
static void log_lens(const struct xl_nft_plan *p, char *buf, size_t len)
{
	char name[XL_NFT_SETNAME_MAX];
	size_t o = 0, k = 0;

	buf[0] = '\0';
	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned l = 0; l < XL_NFT_PLENS; l++) {
			if (!p->src_len[v6][l] || o >= len)
				continue;
			if (k++ == XL_NFT_NAMED) {
				o +=
				    (size_t)snprintf(buf + o, len - o, ", ...");
				continue;
			}
			if (k > XL_NFT_NAMED)
				continue;
			o += (size_t)snprintf(
			    buf + o, len - o, "%s%s",
			    k > 1 ? ", " : "; first use of ",
			    xl_nft_set_name(XL_NFT_SRC, v6, l, name));
		}
	if (k && o < len)
		snprintf(buf + o, len - o, ": %s",
			 k > 1 ? "a set and a rule each" : "its set and rule");
}

static void log_plan(const char *why, const struct xl_nft_plan *p)
{
	char names[256], lens[256];
	size_t o = 0, shown = p->nsvcs < XL_NFT_NAMED ? p->nsvcs : XL_NFT_NAMED;
	struct log_line l = {why};

	names[0] = '\0';
	for (size_t i = 0; i < shown && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s\"%s\"",
				      i ? ", " : ": ", p->named[i]);
	log_lens(p, lens, sizeof(lens));
	xl_info("nftables: %s: 1 transaction, %zu commands, %zu service%s "
		"(%zu elements added, %zu deleted%s)%s%s",
		why, p->ncmds, p->nsvcs, p->nsvcs == 1 ? "" : "s", p->elem_adds,
		p->elem_dels, lens, names, p->nsvcs > shown ? ", ..." : "");
	/* the commands nft would have taken, line by line (syslog takes
	 * one line a message) */
	if (xl_log_enabled(XL_LOG_DEBUG) &&
	    xl_nft_plan_text(p, log_line, &l) < 0)
		xl_debug("nftables: %s: out of memory for the text", why);
}

/* What the resync's audit compares with: the generation and the rules
 * right after extlbd's change.  (A commit of someone else's between the
 * two goes unseen until the generation moves again.) */
static void note_commit(struct xl_nft *n)
{
	n->gen_known = nft_read_gen(n->nl, n->seq++, &n->gen, n->err,
				    sizeof(n->err)) == 0 &&
		       nft_read_rules(n->nl, n->seq++, XL_NFT_TABLE, &n->rules,
				      n->err, sizeof(n->err)) == 0;
}

/* The keys of group g as the kernel holds them, sorted; NULL when out of
 * memory. */
static uint8_t *expected_keys(const struct xl_nft_group *g)
{
	uint8_t *k = calloc(g->n ? g->n : 1, NFT_READ_KEY);

	for (size_t i = 0; k && i < g->n; i++)
		xl_nft_elem_key(&g->v[i], k + i * NFT_READ_KEY);
	if (k)
		nft_read_keys_sort(k, g->n);
	return k;
}

/* Does every set hold the elements n->have gives it?  1 yes, 0 no (why),
 * -1 out of memory. */
static int audit_sets(struct xl_nft *n, char *why, size_t len)
{
	struct xl_nft_group g[XL_NFT_GROUPS_MAX];
	char name[XL_NFT_SETNAME_MAX], err[128];
	struct xl_nft_plan p;
	int rc = 1;
	size_t ng;

	if (xl_nft_plan_full(&n->have, &p) < 0)
		return -1;
	ng = xl_nft_plan_groups(&p, g);
	for (size_t i = 0; rc == 1 && i < ng; i++) {
		uint8_t *want, *got = NULL;
		size_t ngot = 0;

		xl_nft_set_name(g[i].set, g[i].v6, g[i].plen, name);
		if (!(want = expected_keys(&g[i]))) {
			rc = -1;
		} else if (nft_read_keys(n->nl, n->seq++, XL_NFT_TABLE, name,
					 &got, &ngot, err, sizeof(err)) < 0) {
			snprintf(why, len, "set %s: %s", name, err);
			rc = 0;
		} else if (ngot != g[i].n ||
			   memcmp(want, got, ngot * NFT_READ_KEY)) {
			snprintf(why, len,
				 "set %s holds %zu elements, not the %zu "
				 "extlbd put there",
				 name, ngot, g[i].n);
			rc = 0;
		}
		free(want);
		free(got);
	}
	xl_nft_plan_free(&p);
	return rc;
}

/* Is the table as extlbd left it?  Nothing committed anywhere since is a
 * yes at the cost of one question; otherwise its rules and sets are read
 * back.  1 yes, 0 no (why), -1 it could not be told (n->err). */
static int audit(struct xl_nft *n, char *why, size_t len)
{
	struct nft_rules_digest d;
	uint32_t gen;
	int rc;

	if (nft_read_gen(n->nl, n->seq++, &gen, n->err, sizeof(n->err)) < 0)
		return -1;
	if (n->gen_known && gen == n->gen)
		return 1;
	if (nft_read_rules(n->nl, n->seq++, XL_NFT_TABLE, &d, n->err,
			   sizeof(n->err)) < 0)
		return -1;
	if (!n->gen_known) {
		n->rules = d; /* the first look: nothing to compare with */
	} else if (d.n != n->rules.n || d.sum != n->rules.sum) {
		snprintf(why, len, "%zu rules, not the %zu extlbd put there",
			 d.n, n->rules.n);
		return 0;
	}
	if ((rc = audit_sets(n, why, len)) < 0) {
		snprintf(n->err, sizeof(n->err), "out of memory");
		return -1;
	}
	if (rc == 1) { /* someone else's commit: ours is as it was */
		n->gen = gen;
		n->gen_known = true;
	}
	return rc;
}

/* The plan sent as one batch; on success the state it leads to becomes
 * n->have. */
static int send_plan(struct xl_nft *n, const char *why, struct xl_nft_plan *p,
		     struct xl_nft_state *want)
{
	struct nft_batch b;
	int rc;

	if (p->ncmds == 0)
		return 0;
	batch(n, &b, XL_NFT_TABLE);
	nft_batch_plan(&b, p);
	rc = talk(n, &b);
	nft_batch_free(&b);
	if (rc == 0) {
		log_plan(why, p);
		xl_nft_state_move(&n->have, want);
		n->table = true;
		note_commit(n);
	}
	return rc;
}

/* The table built whole from c; 0 or -1. */
static int rebuild(struct xl_nft *n, const char *why, const struct xl_config *c)
{
	struct xl_nft_state want;
	struct xl_nft_plan p;
	int rc = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (xl_nft_state_build(c, &n->caps, NULL, &want) < 0 ||
		    xl_nft_plan_full(&want, &p) < 0) {
			xl_err("nftables: %s: out of memory", why);
			xl_nft_state_free(&want);
			return -1;
		}
		snat_sysctls(&want);
		rc = send_plan(n, why, &p, &want);
		xl_nft_plan_free(&p);
		xl_nft_state_free(&want);
		if (rc == 0 || attempt)
			break;
		xl_warn("nftables: %s: the kernel refused the table: %s", why,
			n->err);
		/* the first failure: which feature is missing, then the
		 * table again without what needs it */
		probe_features(n);
		if (n->lacks_src)
			log_lacking(c, false, n->lacks_src);
		if (n->lacks_snat)
			log_lacking(c, true, n->lacks_snat);
		if (n->caps.src_ok && n->caps.snat_ok)
			break; /* nothing to leave out: it was something else */
	}
	if (rc < 0)
		xl_err("nftables: %s: table %s not applied (%s); what the "
		       "kernel held stays as it was",
		       why, T, n->err);
	return rc;
}

static bool state_empty(const struct xl_nft_state *s)
{
	return !s->n && !s->has_src_base && !s->has_snat_base;
}

bool xl_nft_snat_used(const struct xl_config *c)
{
	for (size_t i = 0; i < c->nvs; i++)
		if (c->vs[i].nft.snat)
			return true;
	return false;
}

/* Does anything of c ask for nftables? */
static bool config_needs(const struct xl_config *c)
{
	for (size_t i = 0; i < c->nvs; i++)
		if (c->vs[i].nft.snat || c->vs[i].nft.nsources)
			return true;
	return false;
}

void xl_nft_start(struct xl_nft *n, const struct xl_config *c)
{
	if (!n)
		return;
	if (config_needs(c)) {
		rebuild(n, "start-up", c);
		return;
	}
	/* nothing asks for it: without nf_tables loaded there can be no
	 * table, and a host that never uses nftables is left so */
	if (access("/sys/module/nf_tables", F_OK))
		return;
	if (owner_exists(n) == 1 && delete_table(n) == 0)
		xl_info("nftables: table %s removed: no service asks for snat "
			"or allowed_sources",
			T);
}

void xl_nft_reload(struct xl_nft *n, const struct xl_config *c)
{
	struct xl_nft_state want;
	struct xl_nft_plan p;
	int rc;

	if (!n)
		return;
	if (!n->table) {
		if (config_needs(c))
			rebuild(n, "reload", c);
		return;
	}
	if (xl_nft_state_build(c, &n->caps, &n->have, &want) < 0 ||
	    xl_nft_plan_diff(&n->have, &want, &p) < 0) {
		xl_nft_state_free(&want);
		xl_err("nftables: reload: out of memory");
		return;
	}
	snat_sysctls(&want);
	rc = send_plan(n, "reload", &p, &want);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&want);
	if (rc < 0) {
		/* the table is not what we left: someone changed it */
		xl_warn("nftables: reload: the kernel refused the change (%s): "
			"the table is rebuilt",
			n->err);
		rebuild(n, "reload", c);
	}
}

void xl_nft_resync(struct xl_nft *n, const struct xl_config *c)
{
	char why[320];
	bool had_caps;

	if (!n)
		return;
	had_caps = n->caps.src_ok && n->caps.snat_ok;
	if (!had_caps) {
		/* a module loaded since, or the kernel's modprobe fixed */
		probe_features(n);
		if (n->caps.src_ok && n->caps.snat_ok) {
			xl_info("nftables: the kernel now has what was "
				"missing: the table is rebuilt");
			rebuild(n, "resync", c);
			return;
		}
	}
	if (!n->table) {
		if (config_needs(c) && had_caps)
			rebuild(n, "resync", c);
		return;
	}
	if (state_empty(&n->have))
		return;
	/* only that set is asked for, without its (no) elements: the
	 * same cost at any size of the table */
	if (owner_exists(n) != 1) {
		xl_warn("nftables: table %s is gone (nft flush ruleset, or "
			"deleted by hand): rebuilt",
			T);
		n->table = false;
		rebuild(n, "resync", c);
		return;
	}
	switch (audit(n, why, sizeof(why))) {
	case 1:
		return;
	case 0:
		xl_warn("nftables: table %s was changed behind extlbd's back "
			"(%s): rebuilt",
			T, why);
		rebuild(n, "resync", c);
		return;
	default:
		xl_warn("nftables: resync: table %s could not be read back: "
			"%s",
			T, n->err);
	}
}

void xl_nft_stop(struct xl_nft *n, bool remove)
{
	if (!n || !n->table)
		return;
	if (!remove) {
		xl_info("stop: nftables table %s kept (on_stop = keep)", T);
		return;
	}
	if (delete_table(n) == 0)
		xl_info("stop: nftables table %s removed (on_stop = remove)",
			T);
	else
		xl_err("stop: nftables table %s: cannot remove: %s", T, n->err);
}
