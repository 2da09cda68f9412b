/*
 * test_nft.c - what the nftables table must hold, and the commands a
 * change produces (nft_plan.c).
 *
 * Each test loads a configuration as extlbd does, builds the state and
 * checks the exact text a transaction would carry: the table from nothing,
 * then a reload's difference, which must touch the objects of the services
 * that changed and nothing else; then the bytes: the elements' keys and
 * the netlink messages of a batch (nft_msg.c), read back with libnftnl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "conftext.h"
#include "nft.h"
#include "nft_impl.h"
#include "util.h"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

static const struct xl_nft_caps all = {.src_ok = true, .snat_ok = true};

#define SVC(name, vip, port, extra)                                            \
	"{ name = \"" name "\"; vip = \"" vip "\"; port = " #port ";"          \
	" " extra " real_servers = ( { address = \"10.20.0.5\"; port = 80; "   \
	"} ); }"

static void state_of(const char *text, const struct xl_nft_caps *caps,
		     const struct xl_nft_state *prev, struct xl_nft_state *s)
{
	struct xl_config *c = ct_load(text);

	assert_int_equal(xl_nft_state_build(c, caps, prev, s), 0);
	xl_config_free(c);
}

#define SVC6(name, vip, port, extra)                                           \
	"{ name = \"" name "\"; vip = \"" vip "\"; port = " #port ";"          \
	" " extra " real_servers = ( { address = \"fd00:20::5\"; port = 80; "  \
	"} ); }"

/* The plan as nft command lines, each ended by a newline (kept until the
 * next call). */
static char text[1 << 16];
static size_t text_len;

static void text_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	assert_true(text_len + len + 1 < sizeof(text));
	memcpy(text + text_len, line, len);
	text_len += len;
	text[text_len++] = '\n';
	text[text_len] = '\0';
}

static const char *plan_text(const struct xl_nft_plan *p)
{
	text_len = 0;
	text[0] = '\0';
	assert_int_equal(xl_nft_plan_text(p, text_line, NULL), 0);
	return text;
}

/* The states of two texts, kept while the plan between them is read. */
static struct xl_nft_state sa, sb;

/* The diff from text a to text b. */
static void diff_of(const char *a, const char *b, struct xl_nft_plan *p)
{
	xl_nft_state_free(&sa);
	xl_nft_state_free(&sb);
	state_of(a, &all, NULL, &sa);
	state_of(b, &all, &sa, &sb);
	assert_int_equal(xl_nft_plan_diff(&sa, &sb, p), 0);
}

static int teardown(void **st)
{
	(void)st;
	xl_nft_state_free(&sa);
	xl_nft_state_free(&sb);
	return 0;
}

static void test_state_only_services_that_ask(void **st)
{
	struct xl_nft_state s;

	(void)st;
	state_of(
	    "virtual_services = ( " SVC("plain", "192.0.2.1", 80,
					"") ", " SVC("src", "192.0.2.2", 80,
						     "allowed_sources = "
						     "[ \"10.0.0.0/8\" "
						     "];") ", " SVC("nat",
								    "192."
								    "0.2."
								    "3",
								    80,
								    "snat "
								    "= "
								    "true"
								    ";") " );",
	    &all, NULL, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].name, "src");
	assert_int_equal(s.v[0].nsrc, 1);
	assert_false(s.v[0].snat);
	assert_string_equal(s.v[1].name, "nat");
	assert_true(s.v[1].snat);
	assert_true(s.has_src_base);
	assert_true(s.has_snat_base);
	xl_nft_state_free(&s);

	/* a kernel without masquerade: snat is left out, sources stay */
	state_of("virtual_services = ( " SVC("src", "192.0.2.2", 80,
					     "allowed_sources = [ "
					     "\"10.0.0.0/8\" ]; snat = "
					     "true;") " );",
		 &(struct xl_nft_caps){.src_ok = true}, NULL, &s);
	assert_int_equal(s.n, 1);
	assert_false(s.v[0].snat);
	assert_false(s.has_snat_base);
	xl_nft_state_free(&s);
}

static void test_full_plan(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;

	(void)st;
	state_of(
	    "virtual_services = ( " SVC(
		"web", "192.0.2.2", 8000,
		"allowed_sources = [ \"10.10.0.0/24\", \"198.51.100.7\" ]; "
		"snat = true;") " );",
	    &all, NULL, &s);
	assert_int_equal(xl_nft_plan_full(&s, &p), 0);
	/* the old table replaced in the same transaction */
	assert_non_null(strstr(plan_text(&p),
			       "add table inet extlb\ndelete table "
			       "inet extlb\nadd table inet extlb\n"));
	assert_non_null(
	    strstr(plan_text(&p), "add set inet extlb owner { type mark; }\n"));
	/* the base: the guard sets, the chains the guards jump to, each
	 * ending in drop */
	assert_non_null(strstr(
	    plan_text(&p),
	    "add chain inet extlb src_check4\n"
	    "add rule inet extlb src_check4 drop\n"
	    "add chain inet extlb src_check6\n"
	    "add rule inet extlb src_check6 drop\n"
	    "add chain inet extlb sources { type filter hook prerouting "
	    "priority raw; policy accept; }\n"
	    "add rule inet extlb sources ip daddr . meta l4proto . th dport "
	    "@guard4 jump src_check4\n"
	    "add rule inet extlb sources ip6 daddr . meta l4proto . th dport "
	    "@guard6 jump src_check6\n"));
	/* a set and a rule for each prefix length in use, before the drop;
	 * a /32 needs no mask */
	assert_non_null(strstr(
	    plan_text(&p),
	    "add set inet extlb src4_24 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr & 255.255.255.0 @src4_24 return\n"
	    "add set inet extlb src4_32 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr @src4_32 return\n"));
	assert_non_null(
	    strstr(plan_text(&p),
		   "add element inet extlb guard4 { 192.0.2.2 . tcp . 8000 }\n"
		   "add element inet extlb src4_24 { 192.0.2.2 . tcp . 8000 . "
		   "10.10.0.0 }\n"
		   "add element inet extlb src4_32 { 192.0.2.2 . tcp . 8000 . "
		   "198.51.100.7 }\n"));
	assert_null(strstr(plan_text(&p), "src6_"));
	assert_int_equal(p.nsrc_len, 2);
	/* 4 to replace the table, 9 of the base, 2 lengths of 2, 9 of snat,
	 * 4 groups of elements */
	assert_int_equal(p.ncmds, 4 + 9 + 2 * 2 + 9 + 4);
	assert_non_null(
	    strstr(plan_text(&p),
		   "add element inet extlb masq4 { 192.0.2.2 . tcp . 8000 "
		   "}\n"));
	assert_non_null(strstr(plan_text(&p), "type nat hook postrouting"));
	assert_int_equal(p.nsvcs, 1);
	assert_string_equal(p.named[0], "web");
	/* two ranges, the guard element, the masq element */
	assert_int_equal(p.elem_adds, 4);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

/* A reload that widens one service's range touches its set alone. */
static void test_diff_one_set(void **st)
{
	const char *a = "virtual_services = ( " SVC(
	    "one", "192.0.2.1", 80,
	    "allowed_sources = [ \"10.10.0.0/24\", "
	    "\"10.30.0.0/16\" ];") ", " SVC("two",
					    "192.0."
					    "2.2",
					    80,
					    "allowe"
					    "d_"
					    "source"
					    "s = [ "
					    "\"10."
					    "10.0."
					    "0/"
					    "24\" "
					    "];") " );";
	const char *b = "virtual_services = ( " SVC(
	    "one", "192.0.2.1", 80,
	    "allowed_sources = [ \"10.0.0.0/8\" ];") ", " SVC("two",
							      "192.0.2.2", 80,
							      "allowed_sources "
							      "= [ "
							      "\"10.10.0.0/"
							      "24\" ];") " );";
	struct xl_nft_plan p;

	(void)st;
	diff_of(a, b, &p);
	/* /8 is new: its set and rule come first; each range leaves the set
	 * of its own length */
	assert_string_equal(
	    plan_text(&p),
	    "add set inet extlb src4_8 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr & 255.0.0.0 @src4_8 return\n"
	    "delete element inet extlb src4_16 { 192.0.2.1 . tcp . 80 . "
	    "10.30.0.0 }\n"
	    "delete element inet extlb src4_24 { 192.0.2.1 . tcp . 80 . "
	    "10.10.0.0 }\n"
	    "add element inet extlb src4_8 { 192.0.2.1 . tcp . 80 . "
	    "10.0.0.0 }\n");
	assert_int_equal(p.ncmds, 5);
	assert_int_equal(p.nsrc_len, 1);
	assert_true(p.src_len[0][8]);
	assert_int_equal(p.nsvcs, 1);
	assert_string_equal(p.named[0], "one");
	assert_int_equal(p.elem_adds, 1);
	assert_int_equal(p.elem_dels, 2);
	/* /16 is no longer used, and kept: the next reload may use it */
	assert_true(sb.src_len[0][16]);
	assert_true(sb.src_len[0][24]);
	xl_nft_plan_free(&p);

	/* and back: the elements alone, every length has its set */
	xl_nft_state_free(&sa);
	sa = sb;
	sb = (struct xl_nft_state){0};
	state_of(a, &all, &sa, &sb);
	assert_int_equal(xl_nft_plan_diff(&sa, &sb, &p), 0);
	assert_string_equal(
	    plan_text(&p),
	    "delete element inet extlb src4_8 { 192.0.2.1 . tcp . 80 . "
	    "10.0.0.0 }\n"
	    "add element inet extlb src4_16 { 192.0.2.1 . tcp . 80 . "
	    "10.30.0.0 }\n"
	    "add element inet extlb src4_24 { 192.0.2.1 . tcp . 80 . "
	    "10.10.0.0 }\n");
	assert_int_equal(p.ncmds, 3);
	assert_int_equal(p.nsrc_len, 0);
	xl_nft_plan_free(&p);

	/* the same configuration: nothing to send */
	diff_of(a, a, &p);
	assert_int_equal(p.ncmds, 0);
	assert_int_equal(p.nsvcs, 0);
	xl_nft_plan_free(&p);
}

static void test_diff_add_remove(void **st)
{
	const char *a = "virtual_services = ( " SVC(
	    "one", "192.0.2.1", 80,
	    "allowed_sources = [ \"10.10.0.0/24\" ];") " );";
	const char *b = "virtual_services = ( " SVC(
	    "one", "192.0.2.1", 80, "") ", " SVC6("six", "2001:db8::1", 443,
						  "snat = "
						  "true; "
						  "allowed_"
						  "sources = "
						  "[ "
						  "\"2001:db8:"
						  "1::/48\" "
						  "];") " );";
	struct xl_nft_plan p;

	(void)st;
	diff_of(a, b, &p);
	/* deletions first; the nat part's base comes with its first user */
	assert_non_null(
	    strstr(plan_text(&p), "add chain inet extlb postrouting"));
	assert_non_null(
	    strstr(plan_text(&p),
		   "delete element inet extlb src4_24 { 192.0.2.1 . tcp . 80 . "
		   "10.10.0.0 }\n"
		   "delete element inet extlb guard4 { 192.0.2.1 . tcp . 80 "
		   "}\n"
		   "add element inet extlb guard6 { 2001:db8::1 . tcp . 443 "
		   "}\n"
		   "add element inet extlb src6_48 { 2001:db8::1 . tcp . 443 . "
		   "2001:db8:1:: }\n"
		   "add element inet extlb masq6 { 2001:db8::1 . tcp . 443 "
		   "}\n"));
	/* the sources part's base was there already; /48 was not */
	assert_null(strstr(plan_text(&p), "add chain inet extlb sources"));
	assert_non_null(strstr(
	    plan_text(&p),
	    "add set inet extlb src6_48 { type ipv6_addr . inet_proto . "
	    "inet_service . ipv6_addr; }\n"
	    "insert rule inet extlb src_check6 ip6 daddr . meta l4proto . th "
	    "dport . ip6 saddr & ffff:ffff:ffff:: @src6_48 return\n"));
	/* src4_24 lost its last element and stays */
	assert_null(strstr(plan_text(&p), "delete set"));
	assert_true(sb.src_len[0][24]);
	assert_int_equal(p.nsvcs, 2);
	xl_nft_plan_free(&p);
}

/* The elements of many services go in one command per set. */
static void test_full_plan_gathers(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;

	(void)st;
	state_of("virtual_services = ( " SVC(
		     "a", "192.0.2.1", 80,
		     "snat = true; allowed_sources = [ "
		     "\"10.1.0.0/16\" ];") ", " SVC("b",
						    "192.0."
						    "2.2",
						    80,
						    "snat = "
						    "true; "
						    "allowed"
						    "_source"
						    "s = [ "
						    "\"10.2."
						    "0.0/"
						    "16\" "
						    "];") " "
							  ")"
							  ";",
		 &all, NULL, &s);
	assert_int_equal(xl_nft_plan_full(&s, &p), 0);
	assert_non_null(strstr(
	    plan_text(&p),
	    "add element inet extlb guard4 { 192.0.2.1 . tcp . 80, 192.0.2.2 "
	    ". tcp . 80 }\n"
	    "add element inet extlb src4_16 { 192.0.2.1 . tcp . 80 . "
	    "10.1.0.0, 192.0.2.2 . tcp . 80 . 10.2.0.0 }\n"
	    "add element inet extlb masq4 { 192.0.2.1 . tcp . 80, 192.0.2.2 . "
	    "tcp . 80 }\n"));
	assert_int_equal(p.elem_adds, 6);
	assert_int_equal(p.nsvcs, 2);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

static void test_diff_snat_address(void **st)
{
	const char *a = "virtual_services = ( " SVC("n", "192.0.2.1", 80,
						    "snat = true;") " );";
	const char *b = "virtual_services = ( " SVC(
	    "n", "192.0.2.1", 80,
	    "snat = true; snat_address = \"198.51.100.1\";") " );";
	struct xl_nft_plan p;

	(void)st;
	diff_of(a, b, &p);
	assert_string_equal(plan_text(&p),
			    "delete element inet extlb masq4 { 192.0.2.1 . tcp "
			    ". 80 }\n"
			    "add element inet extlb snat4 { 192.0.2.1 . tcp . "
			    "80 : 198.51.100.1 }\n");
	xl_nft_plan_free(&p);
	/* snat turned off: its element goes, the base stays */
	diff_of(b, "virtual_services = ();", &p);
	assert_string_equal(plan_text(&p),
			    "delete element inet extlb snat4 { 192.0.2.1 . tcp "
			    ". 80 : 198.51.100.1 }\n");
	xl_nft_plan_free(&p);
}

/*
 * Every prefix length in use has its set and rule: /0 (every address of
 * the family), nested ranges (two elements of two sets), /32 and /128
 * without a mask.
 */
static void test_prefix_lengths(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;

	(void)st;
	state_of(
	    "virtual_services = ( " SVC(
		"a", "192.0.2.1", 80,
		"allowed_sources = [ \"10.1.0.0/16\", \"10.0.0.0/8\", "
		"\"198.51.100.7\" ];") ", " SVC("any", "192.0.2.2", 80,
						"allowed_sources = [ "
						"\"0.0.0.0/0\" "
						"];") ", " SVC6("six",
								"2001:db8:"
								":1",
								443,
								"allowed_"
								"sources "
								"= [ "
								"\"::/0\", "
								"\"2001:"
								"db8::5\" "
								"];") " );",
	    &all, NULL, &s);
	assert_true(s.src_len[0][0] && s.src_len[0][8] && s.src_len[0][16] &&
		    s.src_len[0][32] && s.src_len[1][0] && s.src_len[1][128]);
	assert_int_equal(xl_nft_plan_full(&s, &p), 0);
	assert_int_equal(p.nsrc_len, 6);
	assert_non_null(strstr(
	    plan_text(&p),
	    "add set inet extlb src4_0 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr & 0.0.0.0 @src4_0 return\n"
	    "add set inet extlb src4_8 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr & 255.0.0.0 @src4_8 return\n"
	    "add set inet extlb src4_16 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr & 255.255.0.0 @src4_16 return\n"
	    "add set inet extlb src4_32 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr @src4_32 return\n"
	    "add set inet extlb src6_0 { type ipv6_addr . inet_proto . "
	    "inet_service . ipv6_addr; }\n"
	    "insert rule inet extlb src_check6 ip6 daddr . meta l4proto . th "
	    "dport . ip6 saddr & :: @src6_0 return\n"
	    "add set inet extlb src6_128 { type ipv6_addr . inet_proto . "
	    "inet_service . ipv6_addr; }\n"
	    "insert rule inet extlb src_check6 ip6 daddr . meta l4proto . th "
	    "dport . ip6 saddr @src6_128 return\n"));
	/* one command per set, the services in order within each */
	assert_non_null(strstr(
	    plan_text(&p),
	    "add element inet extlb guard4 { 192.0.2.1 . tcp . 80, 192.0.2.2 . "
	    "tcp . 80 }\n"
	    "add element inet extlb guard6 { 2001:db8::1 . tcp . 443 }\n"
	    "add element inet extlb src4_0 { 192.0.2.2 . tcp . 80 . 0.0.0.0 }\n"
	    "add element inet extlb src4_8 { 192.0.2.1 . tcp . 80 . 10.0.0.0 "
	    "}\n"
	    "add element inet extlb src4_16 { 192.0.2.1 . tcp . 80 . 10.1.0.0 "
	    "}\n"
	    "add element inet extlb src4_32 { 192.0.2.1 . tcp . 80 . "
	    "198.51.100.7 }\n"
	    "add element inet extlb src6_0 { 2001:db8::1 . tcp . 443 . :: }\n"
	    "add element inet extlb src6_128 { 2001:db8::1 . tcp . 443 . "
	    "2001:db8::5 }\n"));
	/* 13 of the table and base, 6 lengths of 2, 8 groups */
	assert_int_equal(p.ncmds, 4 + 9 + 6 * 2 + 8);
	assert_int_equal(p.elem_adds, 9);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

/* Services removed and ranges narrowed: their elements leave the sets of
 * their lengths, and every set and rule stays; a length used first by a
 * reload gets its set and rule in that reload's transaction alone. */
static void test_diff_lengths_kept(void **st)
{
	const char *
	    a = "virtual_services = ( " SVC("a", "192.0.2.1", 80,
					    "allowed_sources = [ "
					    "\"10.0.0.0/8\", \"10.1.0.0/16\" "
					    "];") ", " SVC("b", "192.0.2.2", 80,
							   "allowed_sources = "
							   "[ \"10.2.0.0/16\" "
							   "];") " );";
	const char *b = "virtual_services = ( " SVC(
	    "b", "192.0.2.2", 80,
	    "allowed_sources = [ \"10.2.3.0/24\" ];") " );";
	struct xl_nft_plan p;

	(void)st;
	diff_of(a, b, &p);
	assert_string_equal(
	    plan_text(&p),
	    "add set inet extlb src4_24 { type ipv4_addr . inet_proto . "
	    "inet_service . ipv4_addr; }\n"
	    "insert rule inet extlb src_check4 ip daddr . meta l4proto . th "
	    "dport . ip saddr & 255.255.255.0 @src4_24 return\n"
	    "delete element inet extlb src4_8 { 192.0.2.1 . tcp . 80 . "
	    "10.0.0.0 }\n"
	    "delete element inet extlb src4_16 { 192.0.2.1 . tcp . 80 . "
	    "10.1.0.0, 192.0.2.2 . tcp . 80 . 10.2.0.0 }\n"
	    "delete element inet extlb guard4 { 192.0.2.1 . tcp . 80 }\n"
	    "add element inet extlb src4_24 { 192.0.2.2 . tcp . 80 . "
	    "10.2.3.0 }\n");
	assert_int_equal(p.nsvcs, 2);
	assert_int_equal(p.elem_dels, 4);
	assert_int_equal(p.elem_adds, 1);
	assert_true(sb.src_len[0][8] && sb.src_len[0][16] && sb.src_len[0][24]);
	xl_nft_plan_free(&p);

	/* every service gone: elements only, the base and lengths stay */
	diff_of(a, "virtual_services = ();", &p);
	assert_null(strstr(plan_text(&p), "add "));
	assert_null(strstr(plan_text(&p), "insert "));
	assert_int_equal(p.ncmds, 3);
	assert_true(sb.has_src_base && sb.src_len[0][8] && sb.src_len[0][16]);
	xl_nft_plan_free(&p);
}

/* ---- the bytes: element keys (nft_plan.c) and messages (nft_msg.c) ---- */

static void hex(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%02x",
				      i && !(i % 4) ? " " : "", b[i]);
}

/* The key of each element as the kernel holds it: the bytes nft put in
 * its messages for the same elements (nft --debug=mnl, nft 1.0.6). */
static void test_elem_keys(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;
	uint8_t key[XL_NFT_KEY_MAX], data[16];
	char k[128];
	const struct xl_nft_elems *src4, *src6, *snat6;
	size_t n;

	(void)st;
	state_of("virtual_services = ( " SVC(
		     "web", "192.0.2.2", 8000,
		     "allowed_sources = [ \"10.10.0.0/24\", "
		     "\"198.51.100.7\" ];") ", " SVC6("six", "2001:db8::1", 443,
						      "protocol = \"udp\"; "
						      "snat = true; "
						      "snat_address = "
						      "\"2001:db8::99\"; "
						      "allowed_sources = [ "
						      "\"2001:db8:1::/48\" "
						      "];") " );",
		 &all, NULL, &s);
	assert_int_equal(xl_nft_plan_full(&s, &p), 0);
	src4 = &p.e[1][XL_NFT_SRC][0];
	src6 = &p.e[1][XL_NFT_SRC][1];
	snat6 = &p.e[1][XL_NFT_SNAT][1];
	assert_int_equal(src4->n, 2);

	/* VIP . tcp . 8000 . network: each field in 32-bit words */
	n = xl_nft_elem_key(&src4->v[0], key);
	assert_int_equal(n, 16);
	hex(k, sizeof(k), key, n);
	assert_string_equal(k, "c0000202 06000000 1f400000 0a0a0000");
	/* a bare address: the address */
	n = xl_nft_elem_key(&src4->v[1], key);
	hex(k, sizeof(k), key, n);
	assert_string_equal(k, "c0000202 06000000 1f400000 c6336407");
	/* the guard: the key alone */
	n = xl_nft_elem_key(&p.e[1][XL_NFT_GUARD][0].v[0], key);
	hex(k, sizeof(k), key, n);
	assert_string_equal(k, "c0000202 06000000 1f400000");

	n = xl_nft_elem_key(&src6->v[0], key);
	assert_int_equal(n, 40);
	hex(k, sizeof(k), key, n);
	assert_string_equal(k, "20010db8 00000000 00000000 00000001 11000000 "
			       "01bb0000 20010db8 00010000 00000000 00000000");
	n = xl_nft_elem_data(&snat6->v[0], data);
	hex(k, sizeof(k), data, n);
	assert_string_equal(k, "20010db8 00000000 00000000 00000099");
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

/* The messages of a batch, read back with libnftnl's parsers. */
struct parsed {
	char rules[16][1024]; /* each rule's expressions as libnftnl prints */
	char rule_chain[16][32];
	bool rule_append[16]; /* NLM_F_APPEND: "add rule", not "insert" */
	size_t nrules;
	struct nftnl_set *sets[16];
	size_t nsets;
	size_t elem_msgs, elems;
	const struct nlattr *last_elems; /* of the last element message */
	uint16_t types[512];		 /* every message's type */
	size_t nmsgs;
};

static void parse_batch(const struct nft_batch *b, struct parsed *out)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)b->buf;
	int left = (int)b->len;

	memset(out, 0, sizeof(*out));
	for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
		uint16_t type = NFNL_MSG_TYPE(h->nlmsg_type);

		assert_true(out->nmsgs < XL_ARRAY_SIZE(out->types));
		out->types[out->nmsgs++] = h->nlmsg_type;
		if (h->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
		    h->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		/* the last message alone asks for an ack (errors come
		 * unasked) */
		assert_int_equal(!!(h->nlmsg_flags & NLM_F_ACK),
				 (const char *)h + NLMSG_ALIGN(h->nlmsg_len) ==
				     b->buf + b->len - NLMSG_HDRLEN -
					 sizeof(struct nfgenmsg));
		if (type == NFT_MSG_NEWRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();
			struct nftnl_expr_iter *it;
			struct nftnl_expr *x;
			char *t;
			size_t o = 0;

			assert_true(out->nrules < XL_ARRAY_SIZE(out->rules));
			t = out->rules[out->nrules];
			out->rule_append[out->nrules] =
			    h->nlmsg_flags & NLM_F_APPEND;
			assert_int_equal(nftnl_rule_nlmsg_parse(h, r), 0);
			snprintf(out->rule_chain[out->nrules++],
				 sizeof(out->rule_chain[0]), "%s",
				 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			it = nftnl_expr_iter_create(r);
			while ((x = nftnl_expr_iter_next(it))) {
				o += (size_t)snprintf(
				    t + o, 1024 - o, "[ %s ",
				    nftnl_expr_get_str(x, NFTNL_EXPR_NAME));
				o += (size_t)nftnl_expr_snprintf(
				    t + o, 1024 - o, x, NFTNL_OUTPUT_DEFAULT,
				    0);
				o += (size_t)snprintf(t + o, 1024 - o, "]\n");
			}
			nftnl_expr_iter_destroy(it);
			nftnl_rule_free(r);
		} else if (type == NFT_MSG_NEWSET) {
			struct nftnl_set *s = nftnl_set_alloc();

			assert_int_equal(nftnl_set_nlmsg_parse(h, s), 0);
			out->sets[out->nsets++] = s;
		} else if (type == NFT_MSG_NEWSETELEM ||
			   type == NFT_MSG_DELSETELEM) {
			/* by hand: libnftnl numbers the elements it sends
			 * 1, 2, 3... (the kernel reads them in order) and
			 * its parser takes only the kernel's NFTA_LIST_ELEM */
			const struct nlattr *a, *list = NULL;

			mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) if (
			    mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			    list = a;
			assert_non_null(list);
			mnl_attr_for_each_nested(a, list) out->elems++;
			out->elem_msgs++;
			out->last_elems = list;
		}
	}
	assert_int_equal(left, 0);
}

static void parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->nsets; i++)
		nftnl_set_free(p->sets[i]);
}

static const struct nftnl_set *find_set(const struct parsed *p,
					const char *name)
{
	for (size_t i = 0; i < p->nsets; i++)
		if (!strcmp(nftnl_set_get_str(p->sets[i], NFTNL_SET_NAME),
			    name))
			return p->sets[i];
	fail_msg("no set %s", name);
	return NULL;
}

/*
 * The objects of a full plan are those nft makes of its commands: the
 * rules' expressions and registers as "nft --debug=netlink" printed them
 * (nft 1.0.6, for the text of xl_nft_plan_text), the sets' key types,
 * lengths, flags, concatenation fields and user data as nft sent them
 * (nft --debug=mnl).
 */
static void test_batch_objects(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;
	struct nft_batch b;
	struct parsed *m = calloc(1, sizeof(*m));
	const struct nftnl_set *set;
	const void *ud;
	uint32_t len;
	char k[128];

	(void)st;
	state_of("virtual_services = ( " SVC(
		     "web", "192.0.2.2", 8000,
		     "snat = true; allowed_sources = [ \"10.10.0.0/24\" "
		     "];") " );",
		 &all, NULL, &s);
	assert_int_equal(xl_nft_plan_full(&s, &p), 0);
	nft_batch_init(&b, XL_NFT_TABLE, 100);
	nft_batch_plan(&b, &p);
	assert_int_equal(nft_batch_end(&b), 0);
	parse_batch(&b, m);

	/* begin; add, delete, add table; ...; end */
	assert_int_equal(m->types[0], NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(m->types[1],
			 NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE);
	assert_int_equal(m->types[2],
			 NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE);
	assert_int_equal(m->types[3],
			 NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE);
	assert_int_equal(m->types[m->nmsgs - 1], NFNL_MSG_BATCH_END);

	/* the drops, the jumps, the /24 rule, 4 of snat */
	assert_int_equal(m->nrules, 9);
	assert_string_equal(m->rule_chain[0], "src_check4");
	assert_string_equal(m->rules[0], "[ immediate reg 0 drop ]\n");
	assert_string_equal(m->rule_chain[1], "src_check6");
	assert_string_equal(m->rule_chain[2], "sources");
	assert_string_equal(
	    m->rules[2],
	    "[ meta load nfproto => reg 1 ]\n"
	    "[ cmp eq reg 1 0x00000002 ]\n"
	    "[ payload load 4b @ network header + 16 => reg 1 ]\n"
	    "[ meta load l4proto => reg 9 ]\n"
	    "[ payload load 2b @ transport header + 2 => reg 10 ]\n"
	    "[ lookup reg 1 set guard4 ]\n"
	    "[ immediate reg 0 jump -> src_check4 ]\n");
	assert_string_equal(
	    m->rules[3],
	    "[ meta load nfproto => reg 1 ]\n"
	    "[ cmp eq reg 1 0x0000000a ]\n"
	    "[ payload load 16b @ network header + 24 => reg 1 ]\n"
	    "[ meta load l4proto => reg 2 ]\n"
	    "[ payload load 2b @ transport header + 2 => reg 13 ]\n"
	    "[ lookup reg 1 set guard6 ]\n"
	    "[ immediate reg 0 jump -> src_check6 ]\n");
	/* the source masked in place in its register (11: the fourth
	 * 32-bit word of the key), then the lookup of the four registers */
	assert_string_equal(m->rule_chain[4], "src_check4");
	assert_string_equal(
	    m->rules[4],
	    "[ meta load nfproto => reg 1 ]\n"
	    "[ cmp eq reg 1 0x00000002 ]\n"
	    "[ payload load 4b @ network header + 16 => reg 1 ]\n"
	    "[ meta load l4proto => reg 9 ]\n"
	    "[ payload load 2b @ transport header + 2 => reg 10 ]\n"
	    "[ payload load 4b @ network header + 12 => reg 11 ]\n"
	    "[ bitwise reg 11 = ( reg 11 & 0x00ffffff ) ^ 0x00000000 ]\n"
	    "[ lookup reg 1 set src4_24 ]\n"
	    "[ immediate reg 0 return ]\n");
	/* appended, but for the length's rule: first, before the drop */
	for (size_t i = 0; i < m->nrules; i++)
		assert_int_equal(m->rule_append[i], i != 4);
	assert_string_equal(m->rules[5],
			    "[ meta load l4proto => reg 1 ]\n"
			    "[ lookup reg 1 set __set%d ]\n"
			    "[ ct load dst_ip => reg 1 , dir original ]\n"
			    "[ ct load protocol => reg 9 , dir original ]\n"
			    "[ ct load proto_dst => reg 10 , dir original ]\n"
			    "[ lookup reg 1 set masq4 ]\n"
			    "[ masq ]\n");
	assert_string_equal(m->rules[8],
			    "[ meta load l4proto => reg 1 ]\n"
			    "[ lookup reg 1 set __set%d ]\n"
			    "[ ct load dst_ip6 => reg 1 , dir original ]\n"
			    "[ ct load protocol => reg 2 , dir original ]\n"
			    "[ ct load proto_dst => reg 13 , dir original ]\n"
			    "[ lookup reg 1 set snat6 dreg 1 ]\n"
			    "[ nat snat ip6 addr_min reg 1 ]\n");

	/* src4_24: ipv4_addr . inet_proto . inet_service . ipv4_addr, a
	 * plain hash set (no flags, no field lengths), nft's user data */
	set = find_set(m, "src4_24");
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_FLAGS), 0);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE), 0x1cc347);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN), 16);
	assert_false(nftnl_set_is_set(set, NFTNL_SET_DESC_CONCAT));
	ud = nftnl_set_get_data(set, NFTNL_SET_USERDATA, &len);
	hex(k, sizeof(k), ud, len);
	assert_string_equal(k, "00040000 00000308 00040d00 00000100");
	assert_null(strstr(plan_text(&p), "src6_"));
	for (size_t i = 0; i < m->nsets; i++)
		assert_null(strstr(
		    nftnl_set_get_str(m->sets[i], NFTNL_SET_NAME), "src6"));

	set = find_set(m, "guard4");
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_FLAGS), 0);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE), 0x730d);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN), 12);

	set = find_set(m, "snat4");
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_FLAGS), NFT_SET_MAP);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_DATA_TYPE), 7);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN), 4);
	ud = nftnl_set_get_data(set, NFTNL_SET_USERDATA, &len);
	hex(k, sizeof(k), ud, len);
	assert_string_equal(k, "00040000 00000104 02000000 03080004 0d000000 "
			       "01000604 00000000");

	set = find_set(m, XL_NFT_MARKER);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE), 19);
	assert_int_equal(nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN), 4);

	/* the guard, the range, the masq element; 4 rules' { tcp, udp,
	 * sctp } */
	assert_int_equal(m->elems, 3 + 4 * 3);
	/* the last message: masq4's element, its key as the kernel takes
	 * it (NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE }) */
	{
		const struct nlattr *el = mnl_attr_get_payload(m->last_elems);
		const struct nlattr *key = mnl_attr_get_payload(el);
		const struct nlattr *val = mnl_attr_get_payload(key);

		assert_int_equal(mnl_attr_get_type(key), NFTA_SET_ELEM_KEY);
		assert_int_equal(mnl_attr_get_type(val), NFTA_DATA_VALUE);
		hex(k, sizeof(k), mnl_attr_get_payload(val),
		    mnl_attr_get_payload_len(val));
		assert_string_equal(k, "c0000202 06000000 1f400000");
	}
	parsed_free(m);
	free(m);
	nft_batch_free(&b);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

/* IPv6's masks: the source in registers 14-17, masked in place, as nft
 * 1.0.6 made the rules of the same text (nft --debug=netlink); /128 with
 * no mask, /0 with an empty one. */
static void test_batch_masks6(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;
	struct nft_batch b;
	struct parsed *m = calloc(1, sizeof(*m));
	static const char load6[] =
	    "[ meta load nfproto => reg 1 ]\n"
	    "[ cmp eq reg 1 0x0000000a ]\n"
	    "[ payload load 16b @ network header + 24 => reg 1 ]\n"
	    "[ meta load l4proto => reg 2 ]\n"
	    "[ payload load 2b @ transport header + 2 => reg 13 ]\n"
	    "[ payload load 16b @ network header + 8 => reg 14 ]\n";
	char want[1024];

	(void)st;
	state_of("virtual_services = ( " SVC6("six", "2001:db8::1", 443,
					      "allowed_sources = [ \"::/0\", "
					      "\"2001:db8:1::/48\", "
					      "\"2001:db8::5\" ];") " );",
		 &all, NULL, &s);
	xl_nft_state_free(&sa);
	assert_int_equal(xl_nft_plan_diff(&sa, &s, &p), 0);
	nft_batch_init(&b, XL_NFT_TABLE, 1);
	nft_batch_plan(&b, &p);
	assert_int_equal(nft_batch_end(&b), 0);
	parse_batch(&b, m);
	assert_int_equal(m->nrules, 4 + 3);
	snprintf(want, sizeof(want),
		 "%s[ bitwise reg 14 = ( reg 14 & 0x00000000 0x00000000 "
		 "0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 "
		 "0x00000000 ]\n[ lookup reg 1 set src6_0 ]\n"
		 "[ immediate reg 0 return ]\n",
		 load6);
	assert_string_equal(m->rules[4], want);
	snprintf(want, sizeof(want),
		 "%s[ bitwise reg 14 = ( reg 14 & 0xffffffff 0x0000ffff "
		 "0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 "
		 "0x00000000 ]\n[ lookup reg 1 set src6_48 ]\n"
		 "[ immediate reg 0 return ]\n",
		 load6);
	assert_string_equal(m->rules[5], want);
	snprintf(want, sizeof(want),
		 "%s[ lookup reg 1 set src6_128 ]\n"
		 "[ immediate reg 0 return ]\n",
		 load6);
	assert_string_equal(m->rules[6], want);
	assert_int_equal(m->elems, 1 + 3);
	parsed_free(m);
	free(m);
	nft_batch_free(&b);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

/* 600 services' guard elements: three messages (one attribute holds a
 * message's elements, and its length has 16 bits), each named for the
 * error it may earn. */
static void test_batch_chunks(void **st)
{
	static char conf[600 * 200 + 64];
	struct xl_nft_state s;
	struct xl_nft_plan p;
	struct nft_batch b;
	struct parsed *m = calloc(1, sizeof(*m));
	size_t o;

	(void)st;
	o = (size_t)snprintf(conf, sizeof(conf), "virtual_services = ( ");
	for (int i = 0; i < 600; i++)
		o += (size_t)snprintf(
		    conf + o, sizeof(conf) - o,
		    "%s{ name = \"s%d\"; vip = \"10.1.%d.%d\"; port = 80; "
		    "allowed_sources = [ \"2.0.0.0/8\" ]; real_servers = ( { "
		    "address = \"10.2.0.1\"; port = 80; } ); }",
		    i ? ", " : "", i, i / 250, i % 250 + 1);
	snprintf(conf + o, sizeof(conf) - o, " );");
	state_of(conf, &all, NULL, &s);
	xl_nft_state_free(&sa);
	assert_int_equal(xl_nft_plan_diff(&sa, &s, &p), 0);
	nft_batch_init(&b, XL_NFT_TABLE, 1000);
	nft_batch_plan(&b, &p);
	assert_int_equal(nft_batch_end(&b), 0);
	parse_batch(&b, m);
	/* 3 guard4 and 3 src4_8 element messages */
	assert_int_equal(m->elem_msgs, 6);
	assert_int_equal(m->elems, 1200);
	assert_int_equal(b.nw, m->nmsgs - 2);
	assert_string_equal(nft_batch_what(&b, 1000), "the transaction");
	assert_string_equal(nft_batch_what(&b, b.w[b.nw - 1].seq),
			    "add element inet extlb src4_8 (88 elements, the "
			    "first of service s512)");
	assert_null(nft_batch_what(&b, b.seq));
	parsed_free(m);
	free(m);
	nft_batch_free(&b);
	xl_nft_plan_free(&p);
	xl_nft_state_free(&s);
}

/* A probe builds its objects in the scratch table and deletes it in the
 * same batch; the sources probe's rules include masks of both families,
 * the snat probe's rule is an address and a snat. */
static void test_batch_probe(void **st)
{
	static const struct {
		enum nft_probe what;
		size_t rules, sets;
	} probes[] = {
	    {NFT_PROBE_TABLE, 0, 0}, {NFT_PROBE_SOURCES, 6, 4},
	    {NFT_PROBE_NAT, 0, 0},   {NFT_PROBE_CT, 1, 0},
	    {NFT_PROBE_MASQ, 1, 0},  {NFT_PROBE_SNAT, 1, 0},
	};
	struct parsed *m = calloc(1, sizeof(*m));

	(void)st;
	for (size_t i = 0; i < XL_ARRAY_SIZE(probes); i++) {
		struct nft_batch b;

		nft_batch_init(&b, "extlb_probe", 1);
		nft_batch_probe(&b, probes[i].what);
		assert_int_equal(nft_batch_end(&b), 0);
		parse_batch(&b, m);
		assert_int_equal(m->types[1],
				 NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE);
		assert_int_equal(m->types[m->nmsgs - 2],
				 NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE);
		assert_int_equal(m->nrules, probes[i].rules);
		assert_int_equal(m->nsets, probes[i].sets);
		for (size_t k = 0; k < m->nsets; k++)
			assert_string_equal(
			    nftnl_set_get_str(m->sets[k], NFTNL_SET_TABLE),
			    "extlb_probe");
		assert_string_equal(nft_batch_what(&b, b.w[0].seq),
				    "add table inet extlb_probe");
		if (probes[i].what == NFT_PROBE_SOURCES) {
			assert_non_null(
			    strstr(m->rules[4], "[ bitwise reg 11"));
			assert_non_null(
			    strstr(m->rules[5], "[ bitwise reg 14"));
		}
		if (probes[i].what == NFT_PROBE_SNAT)
			assert_string_equal(m->rules[0],
					    "[ immediate reg 1 0x010200c0 ]\n"
					    "[ nat snat ip addr_min reg 1 ]\n");
		parsed_free(m);
		nft_batch_free(&b);
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_only_services_that_ask),
	    cmocka_unit_test(test_full_plan),
	    cmocka_unit_test(test_full_plan_gathers),
	    cmocka_unit_test(test_diff_one_set),
	    cmocka_unit_test(test_diff_add_remove),
	    cmocka_unit_test(test_diff_snat_address),
	    cmocka_unit_test(test_prefix_lengths),
	    cmocka_unit_test(test_diff_lengths_kept),
	    cmocka_unit_test(test_elem_keys),
	    cmocka_unit_test(test_batch_objects),
	    cmocka_unit_test(test_batch_masks6),
	    cmocka_unit_test(test_batch_chunks),
	    cmocka_unit_test(test_batch_probe),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
