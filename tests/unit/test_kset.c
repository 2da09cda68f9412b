/*
 * test_kset.c - cmocka tests of kset.h: the IPVS kernel settings kept.
 *
 * The sysctls are files of a temporary directory (xl_sysctl_set_root), so
 * what a test reads back is what xl_kset_apply() wrote; whether it wrote a
 * file at all is seen from its mtime, set to the epoch beforehand.  The
 * IPVS timeouts are an array behind a timeout_ops that counts the calls
 * and can refuse one key.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kset.h"
#include "sysctl.h"

static struct {
	char root[64];
	/* the kernel's timeouts, as the fake IPVS holds them */
	uint32_t timeout[XL_KT_N];
	int sets;	/* SET_CONFIG requests */
	int refuse;	/* refuse a set of this key (-1: none) */
	bool get_fails; /* GET_CONFIG fails */
	struct xl_kset ks;
} fx;

static int fake_get(void *arg, uint32_t v[XL_KT_N])
{
	(void)arg;
	if (fx.get_fails)
		return -EIO;
	memcpy(v, fx.timeout, sizeof(fx.timeout));
	return 0;
}

/* As the kernel: 0 leaves a timeout alone; the whole request fails when
 * one value is refused. */
static int fake_set(void *arg, const uint32_t v[XL_KT_N])
{
	(void)arg;
	fx.sets++;
	if (fx.refuse >= 0 && v[fx.refuse])
		return -EINVAL;
	for (int t = 0; t < XL_KT_N; t++)
		if (v[t])
			fx.timeout[t] = v[t];
	return 0;
}

static const struct xl_kset_timeout_ops fake_ops = {fake_get, fake_set};

static const char *vs_path(const char *name)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/net/ipv4/vs/%s", fx.root, name);
	return p;
}

/* The kernel's value of a sysctl, its file's mtime at the epoch. */
static void put(const char *name, const char *value)
{
	FILE *f = fopen(vs_path(name), "w");
	struct timespec epoch[2] = {{0, 0}, {0, 0}};

	assert_non_null(f);
	fprintf(f, "%s\n", value);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(utimensat(AT_FDCWD, vs_path(name), epoch, 0), 0);
}

static int get(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "net/ipv4/vs/%s", name);
	assert_int_equal(xl_sysctl_read(path, buf, sizeof(buf)), 0);
	return atoi(buf);
}

/* Was it written since put()? */
static bool written(const char *name)
{
	struct stat st;

	assert_int_equal(stat(vs_path(name), &st), 0);
	return st.st_mtime != 0;
}

/* The kernel's defaults, as Documentation/networking/ipvs-sysctl.rst has
 * them (run_estimation left out: a kernel without it). */
static const char *const defaults[][2] = {
    {"am_droprate", "10"},	 {"amemthresh", "1024"},
    {"backup_only", "0"},	 {"cache_bypass", "0"},
    {"conn_reuse_mode", "1"},	 {"conntrack", "0"},
    {"drop_entry", "0"},	 {"drop_packet", "0"},
    {"expire_nodest_conn", "0"}, {"expire_quiescent_template", "0"},
    {"ignore_tunneled", "0"},	 {"nat_icmp_send", "0"},
    {"pmtu_disc", "1"},		 {"schedule_icmp", "0"},
    {"secure_tcp", "0"},	 {"sloppy_sctp", "0"},
    {"sloppy_tcp", "0"},	 {"snat_reroute", "1"},
};

#define NDEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

/* fx.root's directories, deepest last */
static const char *const dirs[] = {"net", "net/ipv4", "net/ipv4/vs"};

static const char *in_root(const char *rel)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", fx.root, rel);
	return p;
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.root, sizeof(fx.root), "%s/xl-kset-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(fx.root))
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (mkdir(in_root(dirs[i]), 0755) < 0)
			return -1;
	for (size_t i = 0; i < NDEFAULTS; i++)
		put(defaults[i][0], defaults[i][1]);
	xl_sysctl_set_root(fx.root);
	fx.timeout[XL_KT_TCP] = 900;
	fx.timeout[XL_KT_TCP_FIN] = 120;
	fx.timeout[XL_KT_UDP] = 300;
	fx.refuse = -1;
	xl_kset_init(&fx.ks, &fake_ops, NULL);
	return 0;
}

/* Only what setup made is there: the code under test creates nothing. */
static int teardown(void **state)
{
	int rc = 0;

	(void)state;
	xl_sysctl_set_root(NULL);
	for (size_t i = 0; i < NDEFAULTS; i++)
		rc |= unlink(vs_path(defaults[i][0]));
	for (size_t i = 3; i-- > 0;)
		rc |= rmdir(in_root(dirs[i]));
	return rc | rmdir(fx.root);
}

static void want_sysctl(struct xl_kset_config *c, enum xl_kset_sysctl k, int v)
{
	c->has_sysctl[k] = true;
	c->sysctl[k] = v;
}

/* Start-up: what differs is written, what is equal is not, what the file
 * leaves out is not even read. */
static void test_start_writes_what_differs(void **state)
{
	struct xl_kset_config c = {0};

	(void)state;
	want_sysctl(&c, XL_KS_CONNTRACK, 1);
	want_sysctl(&c, XL_KS_EXPIRE_NODEST_CONN, 1);
	want_sysctl(&c, XL_KS_PMTU_DISC, 1); /* the kernel's already */
	c.timeout[XL_KT_TCP] = 600;
	c.timeout[XL_KT_UDP] = 300; /* the kernel's already */
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "start-up"), 0);

	assert_int_equal(get("conntrack"), 1);
	assert_int_equal(get("expire_nodest_conn"), 1);
	assert_false(written("pmtu_disc"));
	assert_false(written("sloppy_tcp"));
	assert_int_equal(fx.timeout[XL_KT_TCP], 600);
	assert_int_equal(fx.timeout[XL_KT_TCP_FIN], 120);
	assert_int_equal(fx.timeout[XL_KT_UDP], 300);
	assert_int_equal(fx.sets, 1);

	/* again, nothing changed: nothing written */
	put("conntrack", "1");
	fx.sets = 0;
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "resync"), 0);
	assert_false(written("conntrack"));
	assert_int_equal(fx.sets, 0);
}

/* Changed behind extlbd's back: the next run puts it right. */
static void test_resync_restores(void **state)
{
	struct xl_kset_config c = {0};

	(void)state;
	want_sysctl(&c, XL_KS_EXPIRE_QUIESCENT_TEMPLATE, 1);
	c.timeout[XL_KT_TCP_FIN] = 30;
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "start-up"), 0);
	put("expire_quiescent_template", "0");
	fx.timeout[XL_KT_TCP] = 1; /* ipvsadm --set 1 2 3 */
	fx.timeout[XL_KT_TCP_FIN] = 2;
	fx.timeout[XL_KT_UDP] = 3;
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "resync"), 0);
	assert_int_equal(get("expire_quiescent_template"), 1);
	assert_int_equal(fx.timeout[XL_KT_TCP_FIN], 30);
	/* not ours to keep */
	assert_int_equal(fx.timeout[XL_KT_TCP], 1);
	assert_int_equal(fx.timeout[XL_KT_UDP], 3);
}

/* A reload: a changed value is written; a removed key gets back what the
 * kernel held before extlbd first changed it; a key extlbd never had to
 * change is left as it is. */
static void test_reload_changes_and_removals(void **state)
{
	struct xl_kset_config a = {0}, b = {0};

	(void)state;
	want_sysctl(&a, XL_KS_CONNTRACK, 1);
	want_sysctl(&a, XL_KS_SLOPPY_TCP, 1);
	want_sysctl(&a, XL_KS_SNAT_REROUTE, 1); /* the kernel's already */
	a.timeout[XL_KT_TCP] = 600;
	a.timeout[XL_KT_UDP] = 60;
	assert_int_equal(xl_kset_apply(&fx.ks, &a, "start-up"), 0);

	want_sysctl(&b, XL_KS_CONNTRACK, 1);
	want_sysctl(&b, XL_KS_SNAT_REROUTE, 0);
	b.timeout[XL_KT_TCP] = 700;
	put("conntrack", "1");
	put("sloppy_tcp", "1");
	fx.sets = 0;
	assert_int_equal(xl_kset_apply(&fx.ks, &b, "reload"), 0);
	assert_false(written("conntrack"));	/* unchanged */
	assert_int_equal(get("sloppy_tcp"), 0); /* removed: back to 0 */
	assert_int_equal(get("snat_reroute"), 0);
	assert_int_equal(fx.timeout[XL_KT_TCP], 700);
	assert_int_equal(fx.timeout[XL_KT_UDP], 300); /* removed: back */
	assert_int_equal(fx.sets, 2);

	/* snat_reroute removed: it was 1 before extlbd set 0 */
	assert_int_equal(
	    xl_kset_apply(&fx.ks, &(struct xl_kset_config){0}, "reload"), 0);
	assert_int_equal(get("snat_reroute"), 1);
	assert_int_equal(get("conntrack"), 0);
	assert_int_equal(fx.timeout[XL_KT_TCP], 900);

	/* never changed by extlbd (the kernel had it): removal leaves it */
	put("pmtu_disc", "1");
	memset(&a, 0, sizeof(a));
	want_sysctl(&a, XL_KS_PMTU_DISC, 1);
	assert_int_equal(xl_kset_apply(&fx.ks, &a, "reload"), 0);
	put("pmtu_disc", "0"); /* an operator's choice since */
	assert_int_equal(
	    xl_kset_apply(&fx.ks, &(struct xl_kset_config){0}, "reload"), 0);
	assert_false(written("pmtu_disc"));
}

/* A setting the kernel refuses or lacks is named; the others apply. */
static void test_refusals_alone(void **state)
{
	struct xl_kset_config c = {0};

	(void)state;
	want_sysctl(&c, XL_KS_RUN_ESTIMATION, 0); /* no such file */
	want_sysctl(&c, XL_KS_CONNTRACK, 1);
	c.timeout[XL_KT_TCP] = 10;
	c.timeout[XL_KT_TCP_FIN] = 20;
	c.timeout[XL_KT_UDP] = 30;
	fx.refuse = XL_KT_TCP_FIN;
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "start-up"), 2);
	assert_int_equal(get("conntrack"), 1);
	assert_int_equal(fx.timeout[XL_KT_TCP], 10);
	assert_int_equal(fx.timeout[XL_KT_TCP_FIN], 120);
	assert_int_equal(fx.timeout[XL_KT_UDP], 30);

	/* the IPVS config cannot be read: the sysctls still apply */
	fx.get_fails = true;
	put("conntrack", "0");
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "resync"), XL_KT_N + 1);
	assert_int_equal(get("conntrack"), 1);
}

/* drop_entry, drop_packet, secure_tcp: 1 and 2 are both "automatic", and
 * the kernel moves between them itself. */
static void test_defense_modes(void **state)
{
	struct xl_kset_config c = {0};

	(void)state;
	want_sysctl(&c, XL_KS_DROP_ENTRY, 1);
	want_sysctl(&c, XL_KS_SECURE_TCP, 3);
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "start-up"), 0);
	assert_int_equal(get("drop_entry"), 1);
	assert_int_equal(get("secure_tcp"), 3);
	put("drop_entry", "2"); /* memory ran low */
	put("secure_tcp", "2");
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "resync"), 0);
	assert_false(written("drop_entry"));
	assert_int_equal(get("secure_tcp"), 3);
	assert_true(xl_kset_sysctl_same(XL_KS_DROP_PACKET, 2, 1));
	assert_false(xl_kset_sysctl_same(XL_KS_DROP_PACKET, 0, 1));
	assert_false(xl_kset_sysctl_same(XL_KS_CONN_REUSE_MODE, 2, 1));
}

/* SNAT needs conntrack = 1: where the file is silent, and over the
 * file's 0; withdrawn, the kernel's first value comes back. */
static void test_require(void **state)
{
	struct xl_kset_config c = {0};

	(void)state;
	xl_kset_require(&fx.ks, XL_KS_CONNTRACK, 1, "snat");
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "start-up"), 0);
	assert_int_equal(get("conntrack"), 1);
	want_sysctl(&c, XL_KS_CONNTRACK, 0);
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "reload"), 0);
	assert_int_equal(get("conntrack"), 1);
	xl_kset_require(&fx.ks, XL_KS_CONNTRACK, -1, NULL);
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "reload"), 0);
	assert_int_equal(get("conntrack"), 0); /* now the file's */
	c.has_sysctl[XL_KS_CONNTRACK] = false;
	put("conntrack", "1");
	assert_int_equal(xl_kset_apply(&fx.ks, &c, "reload"), 0);
	assert_int_equal(get("conntrack"), 0); /* the kernel's first */
}

/* -t prints what would be applied. */
static void test_print(void **state)
{
	struct xl_kset_config c = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	xl_kset_print(f, &c);
	c.timeout[XL_KT_TCP_FIN] = 30;
	want_sysctl(&c, XL_KS_CONNTRACK, 1);
	want_sysctl(&c, XL_KS_EXPIRE_NODEST_CONN, 0);
	xl_kset_print(f, &c);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(
	    buf, "ipvs_timeouts: none set, the kernel's stay\n"
		 "ipvs_sysctls: none set, the kernel's stay\n"
		 "ipvs_timeouts: tcp_fin = 30; the others as the kernel has "
		 "them\n"
		 "ipvs_sysctls: conntrack = 1, expire_nodest_conn = 0; the "
		 "others as the kernel has them\n");
	free(buf);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_start_writes_what_differs),
	    T(test_resync_restores),
	    T(test_reload_changes_and_removals),
	    T(test_refusals_alone),
	    T(test_defense_modes),
	    T(test_require),
	    T(test_print),
	};

	return cmocka_run_group_tests_name("kset", tests, NULL, NULL);
}
