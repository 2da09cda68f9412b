/*
 * test_vipif.c - the VIP engine against an interface made of memory.
 *
 * The fake interface (struct xl_vipif_ops) holds addresses with or
 * without extlbd's mark, answers EEXIST to a second add and EADDRNOTAVAIL
 * to a delete of what it lacks, may be missing (then it is made, marked
 * as extlbd's) or not be a dummy, and counts the dumps and requests it
 * gets.  Each test checks what `ip addr show dev extlb0` would show, and
 * that a health change costs no dump and only the requests it needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "conftext.h"
#include "desired.h"
#include "maint.h"
#include "vipif.h"

#define FK_MAX 32

struct fake {
	bool exists, dummy, made_by_us;
	bool no_proto; /* a kernel before IFA_PROTO: adds come back unmarked */
	int ifindex;
	struct xl_vip_addr a[FK_MAX];
	size_t n;
	size_t dumps, requests, links, unlinks;
};

static size_t fk_find(const struct fake *f, const struct xl_vip *v)
{
	for (size_t i = 0; i < f->n; i++)
		if (!xl_vip_cmp(&f->a[i].vip, v))
			return i;
	return SIZE_MAX;
}

static int fk_link(void *k, const char *name)
{
	struct fake *f = k;

	(void)name;
	f->links++;
	if (!f->exists) {
		f->exists = f->dummy = f->made_by_us = true;
		f->ifindex++;
	}
	return f->dummy ? f->ifindex : -EMEDIUMTYPE;
}

static int fk_dump(void *k, int ifindex, struct xl_vip_addr **out, size_t *n)
{
	struct fake *f = k;

	assert_int_equal(ifindex, f->ifindex);
	f->dumps++;
	*out = malloc((f->n + 1) * sizeof(**out));
	assert_non_null(*out);
	memcpy(*out, f->a, f->n * sizeof(**out));
	*n = f->n;
	return 0;
}

static long fk_apply(void *k, int ifindex, const struct xl_vip_op *ops,
		     size_t n, xl_vip_err_fn fn, void *arg)
{
	struct fake *f = k;
	long failed = 0;

	assert_int_equal(ifindex, f->ifindex);
	for (size_t i = 0; i < n; i++) {
		size_t at = fk_find(f, &ops[i].vip);
		int err = 0;

		f->requests++;
		if (ops[i].kind == XL_VIP_ADD && at != SIZE_MAX)
			err = EEXIST;
		else if (ops[i].kind == XL_VIP_ADD)
			f->a[f->n++] =
			    (struct xl_vip_addr){ops[i].vip, !f->no_proto};
		else if (at == SIZE_MAX)
			err = EADDRNOTAVAIL;
		else
			f->a[at] = f->a[--f->n];
		if (err) {
			failed++;
			fn(&ops[i], err, arg);
		}
	}
	return failed;
}

static int fk_unlink(void *k, const char *name)
{
	struct fake *f = k;

	(void)name;
	f->unlinks++;
	if (!f->made_by_us)
		return 0;
	f->exists = false;
	return 1;
}

static const struct xl_vipif_ops fk_ops = {
    .link = fk_link,
    .dump = fk_dump,
    .apply = fk_apply,
    .unlink = fk_unlink,
};

static struct xl_vip vip(const char *s)
{
	struct xl_vip v = {0};

	assert_int_equal(xl_addr_parse(s, &v.af, &v.addr), 0);
	return v;
}

static void fk_put(struct fake *f, const char *s, bool ours)
{
	f->a[f->n++] = (struct xl_vip_addr){vip(s), ours};
}

/* Is s on the fake, and with extlbd's mark (ours)? */
static void assert_on(const struct fake *f, const char *s, bool ours)
{
	struct xl_vip v = vip(s);
	size_t at = fk_find(f, &v);

	if (at == SIZE_MAX)
		fail_msg("%s is not on the interface", s);
	assert_int_equal(f->a[at].ours, ours);
}

static void assert_off(const struct fake *f, const char *s)
{
	struct xl_vip v = vip(s);

	if (fk_find(f, &v) != SIZE_MAX)
		fail_msg("%s is on the interface", s);
}

/* Health made of a table: down[v][r]. */
static bool down[8][4];

static bool is_up(const void *arg, size_t vs, size_t rs)
{
	(void)arg;
	return !down[vs][rs];
}

static struct xl_desired want_of(const struct xl_config *c)
{
	return (struct xl_desired){.cfg = c, .is_up = is_up};
}

static const struct xl_service *svc(const struct xl_config *c, const char *name)
{
	for (size_t i = 0; i < c->nvs; i++)
		if (!strcmp(c->vs[i].name, name))
			return &c->vs[i].svc;
	fail_msg("no service %s", name);
	return NULL;
}

#define RS2                                                                    \
	"real_servers = ( { address = \"10.2.0.1\"; port = 80; },"             \
	" { address = \"10.2.0.2\"; port = 80; } );"

/* web and tls share one VIP, dns is IPv6, mark has none; quiet has
 * announce = "quorum" and a quorum of 2. */
static const char *const conf1 =
    "global = { vip_interface = \"extlb0\"; };\n"
    "virtual_services = (\n"
    "  { name = \"web\"; vip = \"10.0.0.1\"; port = 80; " RS2 " },\n"
    "  { name = \"tls\"; vip = \"10.0.0.1\"; port = 443; " RS2 " },\n"
    "  { name = \"dns\"; vip = \"2001:db8::1\"; port = 53; protocol = "
    "\"udp\"; real_servers = ( { address = \"fd00::5\"; port = 53; } ); "
    "},\n"
    "  { name = \"mark\"; fwmark = 7; real_servers = ( { address = "
    "\"10.2.0.1\"; port = 0; } ); },\n"
    "  { name = \"quiet\"; vip = \"10.0.0.2\"; port = 80; announce = "
    "\"quorum\"; quorum = 2; " RS2 " }\n"
    ");\n";

struct fx {
	struct fake f;
	struct xl_vipif *v;
	struct xl_config *c;
	struct xl_desired w;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	memset(down, 0, sizeof(down));
	x->v = xl_vipif_new(&fk_ops, &x->f);
	assert_non_null(x->v);
	x->c = ct_load(conf1);
	x->w = want_of(x->c);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	xl_vipif_free(x->v);
	xl_config_free(x->c);
	free(x);
	return 0;
}

/* A fresh start makes the dummy and puts each VIP on it once, marked. */
static void test_start_fresh(void **state)
{
	struct fx *x = *state;

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	assert_true(x->f.exists && x->f.made_by_us);
	assert_int_equal(x->f.n, 3);
	assert_on(&x->f, "10.0.0.1", true);
	assert_on(&x->f, "2001:db8::1", true);
	assert_on(&x->f, "10.0.0.2", true);
	assert_int_equal(x->f.requests, 3);
	/* a second run changes nothing */
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	assert_int_equal(x->f.requests, 3);
}

/* A restart: what is extlbd's and no longer configured goes, what is
 * someone else's stays, even when it is a configured VIP. */
static void test_restart_adopts(void **state)
{
	struct fx *x = *state;

	x->f.exists = x->f.dummy = true;
	x->f.ifindex = 5;
	fk_put(&x->f, "10.0.0.9", true);    /* ours, left the config */
	fk_put(&x->f, "192.0.2.9", false);  /* foreign */
	fk_put(&x->f, "10.0.0.1", false);   /* foreign, and a VIP */
	fk_put(&x->f, "2001:db8::1", true); /* ours, still wanted */
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	assert_off(&x->f, "10.0.0.9");
	assert_on(&x->f, "192.0.2.9", false);
	assert_on(&x->f, "10.0.0.1", false);
	assert_on(&x->f, "2001:db8::1", true);
	assert_on(&x->f, "10.0.0.2", true);
	assert_int_equal(x->f.requests, 2); /* del 10.0.0.9, add 10.0.0.2 */
	assert_int_equal(x->f.dumps, 1);
}

/* announce = "quorum": the VIP follows the service's quorum, through
 * narrow runs that dump nothing and send one request each. */
static void test_quorum(void **state)
{
	struct fx *x = *state;
	const struct xl_service *quiet = svc(x->c, "quiet");
	size_t q = (size_t)(xl_config_find(x->c, quiet) - x->c->vs);

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	assert_on(&x->f, "10.0.0.2", true);
	down[q][1] = true; /* live weight 1 < quorum 2 */
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, quiet, 1), 0);
	assert_off(&x->f, "10.0.0.2");
	assert_int_equal(x->f.dumps, 1);
	assert_int_equal(x->f.requests, 4);
	/* nothing changed: nothing sent */
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, quiet, 1), 0);
	assert_int_equal(x->f.requests, 4);
	down[q][1] = false;
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, quiet, 1), 0);
	assert_on(&x->f, "10.0.0.2", true);
	assert_int_equal(x->f.requests, 5);
	assert_int_equal(x->f.dumps, 1);
	/* an always service is not concerned by its servers */
	down[0][0] = down[0][1] = down[1][0] = down[1][1] = true;
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, svc(x->c, "web"), 1),
			 0);
	assert_on(&x->f, "10.0.0.1", true);
}

/* A server in maintenance serves nothing: with it, "quorum" loses the VIP
 * although the server's health is up; enabling it brings the VIP back. */
static void test_quorum_maintenance(void **state)
{
	struct fx *x = *state;
	const struct xl_service *quiet = svc(x->c, "quiet");
	struct xl_maint m = {0};

	x->w.maint = &m;
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	assert_on(&x->f, "10.0.0.2", true);
	assert_int_equal(xl_maint_set(&m, "quiet", &quiet->dests[0], true), 1);
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, quiet, 1), 0);
	assert_off(&x->f, "10.0.0.2");
	assert_on(&x->f, "10.0.0.1", true); /* web and tls: always */
	assert_int_equal(xl_maint_set(&m, "quiet", &quiet->dests[0], false), 1);
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, quiet, 1), 0);
	assert_on(&x->f, "10.0.0.2", true);
	xl_maint_free(&m);
}

/* conf1 reloaded with web alone: the others' VIPs must go */
static struct xl_config *web_only(void)
{
	return ct_load("global = { vip_interface = \"extlb0\"; };\n"
		       "virtual_services = ( { name = \"web\"; vip = "
		       "\"10.0.0.1\"; port = 80; " RS2 " } );\n");
}

/* A kernel that forgets the mark (before Linux 6.1): what extlbd added in
 * this run is still its own at the next dump, so a reload that drops a
 * service deletes its VIP; a foreign address is still left alone. */
static void test_kernel_without_ifa_proto(void **state)
{
	struct fx *x = *state;
	struct xl_config *c2;
	struct xl_desired w2;

	x->f.no_proto = true;
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	fk_put(&x->f, "192.0.2.9", false); /* foreign */
	assert_on(&x->f, "10.0.0.2", false);
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0); /* a resync */
	c2 = web_only();
	w2 = want_of(c2);
	assert_int_equal(xl_vipif_sync(x->v, &w2), 0);
	assert_on(&x->f, "10.0.0.1", false);
	assert_off(&x->f, "10.0.0.2");
	assert_off(&x->f, "2001:db8::1");
	assert_on(&x->f, "192.0.2.9", false);
	xl_vipif_release(x->v, true);
	assert_off(&x->f, "10.0.0.1");
	assert_on(&x->f, "192.0.2.9", false);
	xl_config_free(c2);
}

/* On a kernel that keeps the mark, an address put back unmarked by
 * someone else in place of extlbd's is theirs from then on. */
static void test_unmarked_copy_is_foreign(void **state)
{
	struct fx *x = *state;
	struct xl_vip a = vip("10.0.0.2");
	struct xl_config *c2;
	struct xl_desired w2;

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	x->f.a[fk_find(&x->f, &a)].ours = false;
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	c2 = web_only();
	w2 = want_of(c2);
	assert_int_equal(xl_vipif_sync(x->v, &w2), 0);
	assert_on(&x->f, "10.0.0.2", false);
	assert_off(&x->f, "2001:db8::1");
	xl_config_free(c2);
}

/* A VIP stays while one service still claims it; removed with the last. */
static void test_reload(void **state)
{
	struct fx *x = *state;
	struct xl_config *c2;
	struct xl_desired w2;
	const struct xl_service keys[] = {*svc(x->c, "tls"), *svc(x->c, "dns")};

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	fk_put(&x->f, "192.0.2.9", false);
	c2 = ct_reload("global = { vip_interface = \"extlb0\"; };\n"
		       "virtual_services = (\n"
		       "  { name = \"web\"; vip = \"10.0.0.1\"; port = 80; " RS2
		       " },\n"
		       "  { name = \"quiet\"; vip = \"10.0.0.2\"; port = 80; "
		       "announce = \"quorum\"; quorum = 2; " RS2 " }\n"
		       ");\n",
		       x->c);
	w2 = want_of(c2);
	assert_int_equal(xl_vipif_sync_keys(x->v, &w2, keys, 2), 0);
	assert_on(&x->f, "10.0.0.1", true);
	assert_off(&x->f, "2001:db8::1");
	assert_on(&x->f, "192.0.2.9", false);
	assert_int_equal(x->f.requests, 4);
	assert_int_equal(x->f.dumps, 1);
	xl_config_free(c2);
}

/* Deleted behind extlbd's back: the next full run (resync) puts it
 * back, one dump. */
static void test_resync_restores(void **state)
{
	struct fx *x = *state;
	struct xl_vip gone = vip("10.0.0.1");

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	x->f.a[fk_find(&x->f, &gone)] = x->f.a[--x->f.n];
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	assert_on(&x->f, "10.0.0.1", true);
	assert_int_equal(x->f.dumps, 2);
}

/* An interface of that name that is not a dummy is not touched. */
static void test_not_a_dummy(void **state)
{
	struct fx *x = *state;

	x->f.exists = true;
	x->f.ifindex = 3;
	fk_put(&x->f, "192.0.2.9", false);
	assert_int_equal(xl_vipif_sync(x->v, &x->w), -1);
	assert_int_equal(xl_vipif_sync_keys(x->v, &x->w, svc(x->c, "web"), 1),
			 -1);
	assert_int_equal(x->f.requests, 0);
	assert_int_equal(x->f.dumps, 0);
	assert_int_equal(x->f.n, 1);
	xl_vipif_release(x->v, true);
	assert_int_equal(x->f.n, 1);
	assert_int_equal(x->f.unlinks, 0);
}

/* on_stop: keep leaves all; remove takes extlbd's addresses, and the
 * interface only when extlbd made it and nothing else is on it. */
static void test_stop(void **state)
{
	struct fx *x = *state;

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	xl_vipif_release(x->v, false);
	assert_int_equal(x->f.n, 3);
	fk_put(&x->f, "192.0.2.9", false);
	xl_vipif_release(x->v, true);
	assert_int_equal(x->f.n, 1);
	assert_on(&x->f, "192.0.2.9", false);
	assert_true(x->f.exists); /* something else is on it */
	assert_int_equal(x->f.unlinks, 0);
	/* without the foreign address it goes */
	x->f.n = 0;
	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	xl_vipif_release(x->v, true);
	assert_int_equal(x->f.n, 0);
	assert_false(x->f.exists);
}

/* vip_interface removed at reload: extlbd's addresses leave. */
static void test_interface_unset(void **state)
{
	struct fx *x = *state;
	struct xl_config *c2;
	struct xl_desired w2;

	assert_int_equal(xl_vipif_sync(x->v, &x->w), 0);
	fk_put(&x->f, "192.0.2.9", false);
	c2 = ct_reload("virtual_services = ();\n", x->c);
	w2 = want_of(c2);
	assert_int_equal(xl_vipif_sync_keys(x->v, &w2, NULL, 0), 0);
	assert_int_equal(x->f.n, 1);
	assert_on(&x->f, "192.0.2.9", false);
	xl_config_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_start_fresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_adopts, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quorum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quorum_maintenance, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_kernel_without_ifa_proto,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unmarked_copy_is_foreign,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resync_restores, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_dummy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interface_unset, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
