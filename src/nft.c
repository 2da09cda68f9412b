/*
 * nft.c - the nftables table extlbd owns, applied through libnftables.
 *
 * Every change is one transaction (one nft_run_cmd_from_buffer): the whole
 * table at start (replacing, atomically, what an earlier extlbd left, so
 * that services already served see no gap), and after that only the
 * difference between the state last applied and the configuration's
 * (nft_plan.c).  A diff that fails (someone edited the table) is followed
 * by a rebuild; a rebuild that fails makes the module probe which feature
 * the kernel lacks, in a scratch table of its own, and build the table
 * without the part that needs it: the error names the feature and the
 * services that go without, the others keep what they have, and IPVS
 * serves them all regardless.  The resync looks for the table by listing
 * an empty set it holds, which costs the same at any size, and rebuilds
 * it when it is gone (nft flush ruleset, nft delete table).
 */
#include "nft.h"
#include "log.h"
#include "sysctl.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T "inet " XL_NFT_TABLE
#define PROBE "inet extlb_probe"

struct xl_nft {
	struct nft_ctx *ctx;
	struct xl_nft_state have; /* what the table holds, as applied */
	bool table;		  /* it exists, as far as we know */
	struct xl_nft_caps caps;
	const char *lacks_src, *lacks_snat; /* the feature missing */
	char err[512];			    /* the last transaction's */
};

struct xl_nft *xl_nft_new(void)
{
	struct xl_nft *n = calloc(1, sizeof(*n));

	if (!n || !(n->ctx = nft_ctx_new(NFT_CTX_DEFAULT)) ||
	    nft_ctx_buffer_output(n->ctx) || nft_ctx_buffer_error(n->ctx)) {
		xl_err("nftables: out of memory");
		xl_nft_free(n);
		return NULL;
	}
	n->caps = (struct xl_nft_caps){.src_ok = true, .snat_ok = true};
	return n;
}

void xl_nft_free(struct xl_nft *n)
{
	if (!n)
		return;
	if (n->ctx)
		nft_ctx_free(n->ctx);
	xl_nft_state_free(&n->have);
	free(n);
}

/* One transaction; 0 or -1 with the first line of nft's error in n->err.
 * Output (a listing) is read to empty libnftables' buffer, and dropped. */
static int run(struct xl_nft *n, const char *text)
{
	int rc = nft_run_cmd_from_buffer(n->ctx, text);
	const char *e = nft_ctx_get_error_buffer(n->ctx);
	size_t len = e ? strcspn(e, "\n") : 0;

	nft_ctx_get_output_buffer(n->ctx);
	n->err[0] = '\0';
	if (rc && e)
		snprintf(n->err, sizeof(n->err), "%.*s", (int)len, e);
	return rc ? -1 : 0;
}

/* ---- kernel features ---------------------------------------------------- */

/* One probe: objs built in a scratch table and deleted in the same
 * transaction; true when the kernel took them. */
static bool probe(struct xl_nft *n, const char *objs)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "add table " PROBE "\n%sdelete table " PROBE "\n", objs);
	return run(n, text) == 0;
}

static void probe_features(struct xl_nft *n)
{
	static const struct {
		const char *objs, *feature;
	} snat[] = {
	    {"add chain " PROBE " p { type nat hook postrouting priority "
	     "srcnat; }\n",
	     "nat chains (nft_chain_nat)"},
	    {"add chain " PROBE " p { type nat hook postrouting priority "
	     "srcnat; }\nadd rule " PROBE " p ct original protocol tcp\n",
	     "the ct expression (nft_ct)"},
	    {"add chain " PROBE " p { type nat hook postrouting priority "
	     "srcnat; }\nadd rule " PROBE " p masquerade\n",
	     "masquerade (nft_masq)"},
	    {"add chain " PROBE " p { type nat hook postrouting priority "
	     "srcnat; }\nadd rule " PROBE " p snat ip to 192.0.2.1\n",
	     "snat (nft_nat)"},
	};

	n->lacks_src = n->lacks_snat = NULL;
	if (!probe(n, "")) {
		n->lacks_src = n->lacks_snat = "nf_tables";
	} else if (!probe(n, "add map " PROBE " m { type ipv4_addr . "
			     "inet_proto . inet_service : verdict; }\n"
			     "add chain " PROBE " c { type filter hook "
			     "prerouting priority raw; }\n"
			     "add rule " PROBE " c ip daddr . meta l4proto . "
			     "th dport vmap @m\n")) {
		n->lacks_src = "filter chains with verdict maps (nf_tables)";
	}
	for (size_t i = 0; !n->lacks_snat && i < XL_ARRAY_SIZE(snat); i++)
		if (!probe(n, snat[i].objs))
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

static void log_plan(const char *why, const struct xl_nft_plan *p)
{
	char names[256];
	size_t o = 0, shown = p->nsvcs < XL_NFT_NAMED ? p->nsvcs : XL_NFT_NAMED;

	names[0] = '\0';
	for (size_t i = 0; i < shown && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s\"%s\"",
				      i ? ", " : ": ", p->named[i]);
	xl_info("nftables: %s: 1 transaction, %zu commands, %zu service%s "
		"(%zu elements added, %zu deleted)%s%s",
		why, p->ncmds, p->nsvcs, p->nsvcs == 1 ? "" : "s", p->elem_adds,
		p->elem_dels, names, p->nsvcs > shown ? ", ..." : "");
	/* line by line: syslog takes one line a message */
	for (const char *l = p->text; *l;) {
		size_t len = strcspn(l, "\n");

		xl_debug("nftables: %s: | %.*s", why, (int)len, l);
		l += len + (l[len] == '\n');
	}
}

/* The plan sent; on success the state it leads to becomes n->have. */
static int send_plan(struct xl_nft *n, const char *why, struct xl_nft_plan *p,
		     struct xl_nft_state *want)
{
	int rc;

	if (p->ncmds == 0)
		return 0;
	rc = run(n, p->text);
	if (rc == 0) {
		log_plan(why, p);
		xl_nft_state_move(&n->have, want);
		n->table = true;
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
	if (run(n, "list set " T " " XL_NFT_MARKER "\n") == 0 &&
	    run(n, "delete table " T "\n") == 0)
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
	/* only that set is fetched: listing the table, or even its list of
	 * tables, makes libnftables fetch every set's elements */
	if (run(n, "list set " T " " XL_NFT_MARKER "\n") == 0)
		return;
	xl_warn("nftables: table %s is gone (nft flush ruleset, or deleted "
		"by hand): rebuilt",
		T);
	n->table = false;
	rebuild(n, "resync", c);
}

void xl_nft_stop(struct xl_nft *n, bool remove)
{
	if (!n || !n->table)
		return;
	if (!remove) {
		xl_info("stop: nftables table %s kept (on_stop = keep)", T);
		return;
	}
	if (run(n, "delete table " T "\n") == 0)
		xl_info("stop: nftables table %s removed (on_stop = remove)",
			T);
	else
		xl_err("stop: nftables table %s: cannot remove: %s", T, n->err);
}
