/*
 * test_nft.c - what the nftables table must hold, and the commands a
 * change produces (nft_plan.c).
 *
 * Each test loads a configuration as extlbd does, builds the state and
 * checks the exact text a transaction would carry: the table from nothing,
 * then a reload's difference, which must touch the objects of the services
 * that changed and nothing else.
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
	assert_non_null(strstr(p.text, "add table inet extlb\ndelete table "
				       "inet extlb\nadd table inet extlb\n"));
	assert_non_null(
	    strstr(p.text, "add set inet extlb owner { type mark; }\n"));
	assert_non_null(strstr(
	    p.text, "add rule inet extlb sources ip daddr . meta l4proto . th "
		    "dport @guard4 ip daddr . meta l4proto . th dport . ip "
		    "saddr != @src4 drop\n"));
	assert_non_null(strstr(
	    p.text, "add element inet extlb guard4 { 192.0.2.2 . tcp . 8000 }\n"
		    "add element inet extlb src4 { 192.0.2.2 . tcp . 8000 . "
		    "10.10.0.0/24, 192.0.2.2 . tcp . 8000 . 198.51.100.7/32 "
		    "}\n"));
	assert_non_null(strstr(
	    p.text, "add element inet extlb masq4 { 192.0.2.2 . tcp . 8000 "
		    "}\n"));
	assert_non_null(strstr(p.text, "type nat hook postrouting"));
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
	assert_string_equal(
	    p.text, "delete element inet extlb src4 { 192.0.2.1 . tcp . 80 . "
		    "10.10.0.0/24, 192.0.2.1 . tcp . 80 . 10.30.0.0/16 }\n"
		    "add element inet extlb src4 { 192.0.2.1 . tcp . 80 . "
		    "10.0.0.0/8 }\n");
	assert_int_equal(p.ncmds, 2);
	assert_int_equal(p.nsvcs, 1);
	assert_string_equal(p.named[0], "one");
	assert_int_equal(p.elem_adds, 1);
	assert_int_equal(p.elem_dels, 2);
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
	assert_non_null(strstr(p.text, "add chain inet extlb postrouting"));
	assert_non_null(strstr(
	    p.text, "delete element inet extlb src4 { 192.0.2.1 . tcp . 80 . "
		    "10.10.0.0/24 }\n"
		    "delete element inet extlb guard4 { 192.0.2.1 . tcp . 80 "
		    "}\n"
		    "add element inet extlb guard6 { 2001:db8::1 . tcp . 443 "
		    "}\n"
		    "add element inet extlb src6 { 2001:db8::1 . tcp . 443 . "
		    "2001:db8:1::/48 }\n"
		    "add element inet extlb masq6 { 2001:db8::1 . tcp . 443 "
		    "}\n"));
	/* the sources part's base was there already */
	assert_null(strstr(p.text, "add chain inet extlb sources"));
	assert_int_equal(p.nsvcs, 2);
	xl_nft_plan_free(&p);
}

/* The elements of many services go in one command per set. */
static void test_full_plan_gathers(void **st)
{
	struct xl_nft_state s;
	struct xl_nft_plan p;

	(void)st;
	state_of(
	    "virtual_services = ( " SVC("a", "192.0.2.1", 80,
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
	    p.text,
	    "add element inet extlb guard4 { 192.0.2.1 . tcp . 80, 192.0.2.2 "
	    ". tcp . 80 }\n"
	    "add element inet extlb src4 { 192.0.2.1 . tcp . 80 . "
	    "10.1.0.0/16, 192.0.2.2 . tcp . 80 . 10.2.0.0/16 }\n"
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
	assert_string_equal(p.text,
			    "delete element inet extlb masq4 { 192.0.2.1 . tcp "
			    ". 80 }\n"
			    "add element inet extlb snat4 { 192.0.2.1 . tcp . "
			    "80 : 198.51.100.1 }\n");
	xl_nft_plan_free(&p);
	/* snat turned off: its element goes, the base stays */
	diff_of(b, "virtual_services = ();", &p);
	assert_string_equal(p.text,
			    "delete element inet extlb snat4 { 192.0.2.1 . tcp "
			    ". 80 : 198.51.100.1 }\n");
	xl_nft_plan_free(&p);
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
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
