/*
 * test_maint.c - cmocka tests of the maintenance flags: what they do to
 * the desired table (through a reload too), the state file's round trip,
 * and every file the daemon must refuse to read or write.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builders.h"
#include "config.h"
#include "conftext.h"
#include "desired.h"
#include "maint.h"

static const char conf[] =
    "virtual_services = ( {\n"
    "  name = \"web\"; vip = \"192.168.10.100\"; port = 80;\n"
    "  quorum = 2;\n"
    "  sorry_server = { address = \"10.20.0.9\"; port = 80; };\n"
    "  real_servers = ( { address = \"10.20.0.5\"; port = 80; },\n"
    "                   { address = \"10.20.0.6\"; port = 80; },\n"
    "                   { address = \"10.20.0.6\"; port = 81; },\n"
    "                   { address = \"10.20.0.8\"; port = 80; } );\n"
    "}, {\n"
    "  name = \"api\"; vip = \"192.168.10.101\"; port = 80;\n"
    "  real_servers = ( { address = \"10.20.0.5\"; port = 80; } );\n"
    "} );\n";

static const struct xl_dest *find(const struct xl_table *t, const char *vip,
				  const char *a, uint16_t port)
{
	struct xl_dest want = mk_server(a, port);

	for (size_t s = 0; s < t->nsvcs; s++) {
		char b[64];

		if (strcmp(xl_addr_format(t->svcs[s].af, &t->svcs[s].addr, b,
					  sizeof(b)),
			   vip))
			continue;
		for (size_t i = 0; i < t->svcs[s].ndests; i++)
			if (!xl_dest_cmp(&t->svcs[s].dests[i], &want))
				return &t->svcs[s].dests[i];
	}
	return NULL;
}

/* A fresh directory of mode 0700 under TMPDIR. */
static char *tmpdir(void)
{
	char *d;

	assert_true(asprintf(&d, "%s/xl-maint-XXXXXX",
			     getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") > 0);
	assert_non_null(mkdtemp(d));
	return d;
}

static void rmtree(char *d)
{
	char *cmd;

	assert_true(asprintf(&cmd, "rm -rf '%s'", d) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

static char *join(const char *d, const char *f)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", d, f) > 0);
	return p;
}

static void test_set_is_idempotent_and_sorted(void **state)
{
	struct xl_maint m = {0};
	struct xl_dest a = mk_server("10.0.0.2", 80),
		       b = mk_server("10.0.0.1", 80);

	(void)state;
	assert_int_equal(xl_maint_set(&m, "web", &a, true), 1);
	assert_int_equal(xl_maint_set(&m, "web", &a, true), 0);
	assert_int_equal(xl_maint_set(&m, "web", &b, true), 1);
	assert_int_equal(xl_maint_set(&m, "api", &a, true), 1);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.v[0].service, "api");
	assert_true(xl_maint_has(&m, "web", &a));
	assert_true(xl_maint_has(&m, "web", &b));
	assert_false(xl_maint_has(&m, "api", &b));
	assert_int_equal(xl_maint_set(&m, "web", &a, false), 1);
	assert_int_equal(xl_maint_set(&m, "web", &a, false), 0);
	assert_false(xl_maint_has(&m, "web", &a));
	assert_false(xl_maint_has(NULL, "web", &a));
	xl_maint_free(&m);
}

static void test_parse_server(void **state)
{
	uint16_t af;
	union xl_inaddr a;
	int port;
	char err[256];

	(void)state;
	assert_int_equal(
	    xl_maint_parse_server("10.0.0.1:80", &af, &a, &port, err, 256), 0);
	assert_int_equal(af, AF_INET);
	assert_int_equal(port, 80);
	assert_int_equal(
	    xl_maint_parse_server("10.0.0.1", &af, &a, &port, err, 256), 0);
	assert_int_equal(port, -1);
	assert_int_equal(xl_maint_parse_server("[2001:db8::1]:443", &af, &a,
					       &port, err, 256),
			 0);
	assert_int_equal(af, AF_INET6);
	assert_int_equal(port, 443);
	assert_int_equal(
	    xl_maint_parse_server("2001:db8::1", &af, &a, &port, err, 256), 0);
	assert_int_equal(port, -1);
	assert_int_equal(
	    xl_maint_parse_server("[2001:db8::1]", &af, &a, &port, err, 256),
	    0);
	/* each refusal says what is wrong: the form, the address, the port */
	static const struct {
		const char *in, *err;
	} bad[] = {
	    {"10.0.0.1:0",
	     "\"10.0.0.1:0\" has no port in 1-65535 after the ':'"},
	    {"10.0.0.1:65536", "has no port in 1-65535 after the ':'"},
	    {"10.0.0.1:", "has no port in 1-65535 after the ':'"},
	    {"10.0.0.1:8x", "has no port in 1-65535 after the ':'"},
	    {"10.0.0.1:+80", "has no port in 1-65535 after the ':'"},
	    {"10.0.0.1: 80", "has no port in 1-65535 after the ':'"},
	    {"web:80", "\"web:80\" is not an IPv4 or IPv6 address (IPv6 "
		       "with a port goes in brackets: [2001:db8::1]:80)"},
	    {"10.0.0.300", "is not an IPv4 or IPv6 address"},
	    {"[2001:db8::1", "\"[2001:db8::1\" is not ADDRESS[:PORT] "
			     "(10.0.0.1:80, [2001:db8::1]:80, or the "
			     "address alone)"},
	    {"[10.0.0.1]x", "is not ADDRESS[:PORT]"},
	    {"[]:80", "is not ADDRESS[:PORT]"},
	    {"", "is not ADDRESS[:PORT]"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(xl_maint_parse_server(bad[i].in, &af, &a,
						       &port, err, sizeof(err)),
				 -1);
		if (!strstr(err, bad[i].err))
			fail_msg("%s: \"%s\", not \"%s\"", bad[i].in, err,
				 bad[i].err);
	}
}

/* A disabled server stays at weight 0 (up or down), counts for no quorum,
 * and its flag follows the service through a reload. */
static void test_desired_with_maintenance(void **state)
{
	struct xl_config *c = ct_load(conf), *c2;
	struct xl_maint m = {0};
	struct xl_desired d = {.cfg = c, .maint = &m};
	struct xl_dest x = mk_server("10.20.0.5", 80);
	struct xl_keys k = {0};
	const struct xl_dest *got;

	(void)state;
	assert_int_equal(xl_desired_rebuild(&d), 0);
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.5", 80)->weight, 1);
	assert_null(find(&d.table, "192.168.10.100", "10.20.0.9", 80));

	/* disable: the keys path, the way maint_ctl.c takes it */
	assert_int_equal(xl_maint_set(&m, "web", &x, true), 1);
	assert_int_equal(xl_keys_push(&k, &c->vs[0].svc), 0);
	assert_int_equal(xl_desired_refresh(&d, k.v, k.n), 0);
	got = find(&d.table, "192.168.10.100", "10.20.0.5", 80);
	assert_non_null(got);
	assert_int_equal(got->weight, 0);
	/* the other service's server with the same address is untouched */
	assert_int_equal(
	    find(&d.table, "192.168.10.101", "10.20.0.5", 80)->weight, 1);
	/* live weight 3 still meets quorum 2: no sorry server */
	assert_null(find(&d.table, "192.168.10.100", "10.20.0.9", 80));
	x = mk_server("10.20.0.6", 80);
	assert_int_equal(xl_maint_set(&m, "web", &x, true), 1);
	x = mk_server("10.20.0.8", 80);
	assert_int_equal(xl_maint_set(&m, "web", &x, true), 1);
	assert_int_equal(xl_desired_refresh(&d, k.v, k.n), 0);
	/* live weight 1 < 2: the servers in maintenance count for nothing */
	assert_non_null(find(&d.table, "192.168.10.100", "10.20.0.9", 80));

	/* a reload that changes the service (a new server) keeps the flags */
	c2 = ct_reload(
	    "virtual_services = ( {\n"
	    "  name = \"web\"; vip = \"192.168.10.100\"; port = 80;\n"
	    "  quorum = 2;\n"
	    "  sorry_server = { address = \"10.20.0.9\"; port = 80; };\n"
	    "  real_servers = ( { address = \"10.20.0.5\"; port = 80; },\n"
	    "                   { address = \"10.20.0.6\"; port = 80; },\n"
	    "                   { address = \"10.20.0.7\"; port = 80; },\n"
	    "                   { address = \"10.20.0.8\"; port = 80; } );\n"
	    "} );\n",
	    c);
	k.n = 0;
	assert_int_equal(xl_desired_reload(&d, c2, &k), 0);
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.5", 80)->weight, 0);
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.7", 80)->weight, 1);
	/* enable: weight back */
	x = mk_server("10.20.0.5", 80);
	assert_int_equal(xl_maint_set(&m, "web", &x, false), 1);
	k.n = 0;
	assert_int_equal(xl_keys_push(&k, &c2->vs[0].svc), 0);
	assert_int_equal(xl_desired_refresh(&d, k.v, k.n), 0);
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.5", 80)->weight, 1);
	/* a whole rebuild agrees */
	assert_int_equal(xl_desired_rebuild(&d), 0);
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.6", 80)->weight, 0);
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.5", 80)->weight, 1);
	xl_keys_free(&k);
	xl_desired_free(&d);
	xl_maint_free(&m);
	xl_config_free(c);
	xl_config_free(c2);
}

/* A server down and disabled is still at weight 0, not absent. */
static bool all_down(const void *arg, size_t vs, size_t rs)
{
	(void)arg;
	(void)vs;
	(void)rs;
	return false;
}

static void test_down_and_disabled_stays_visible(void **state)
{
	struct xl_config *c = ct_load(conf);
	struct xl_maint m = {0};
	struct xl_desired d = {.cfg = c, .maint = &m, .is_up = all_down};
	struct xl_dest x = mk_server("10.20.0.6", 81);

	(void)state;
	assert_int_equal(xl_maint_set(&m, "web", &x, true), 1);
	assert_int_equal(xl_desired_rebuild(&d), 0);
	assert_null(find(&d.table, "192.168.10.100", "10.20.0.5", 80));
	assert_int_equal(
	    find(&d.table, "192.168.10.100", "10.20.0.6", 81)->weight, 0);
	xl_desired_free(&d);
	xl_maint_free(&m);
	xl_config_free(c);
}

static void test_state_file_round_trip(void **state)
{
	char *dir = tmpdir(), *sub = join(dir, "var/lib/state"),
	     *path = join(sub, XL_MAINT_FILE), err[512];
	struct xl_maint m = {0}, back = {0};
	struct xl_dest a = mk_server("10.20.0.5", 80),
		       b = mk_server("2001:db8::5", 443);
	struct stat st;

	(void)state;
	assert_int_equal(xl_maint_set(&m, "web", &a, true), 1);
	assert_int_equal(xl_maint_set(&m, "gone", &b, true), 1);
	/* the directory is made, 0700, and its missing parents */
	assert_int_equal(xl_maint_save(&m, path, err, sizeof(err)), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(xl_maint_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.n, 2);
	assert_true(xl_maint_has(&back, "web", &a));
	assert_true(xl_maint_has(&back, "gone", &b));
	assert_false(back.bad_file);
	/* no temporary file is left behind */
	char *tmp = join(sub, XL_MAINT_FILE ".tmp");
	assert_int_equal(access(tmp, F_OK), -1);
	free(tmp);
	/* a missing file: no flags, no error */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(xl_maint_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.n, 0);
	xl_maint_free(&m);
	xl_maint_free(&back);
	free(path);
	free(sub);
	rmtree(dir);
}

/* The flag that names no configured server is kept and reported. */
static void count(void *arg, const struct xl_maint_entry *e)
{
	(void)e;
	(*(int *)arg)++;
}

static void test_unknown_entries(void **state)
{
	struct xl_config *c = ct_load(conf);
	struct xl_maint m = {0};
	struct xl_dest a = mk_server("10.20.0.5", 80),
		       z = mk_server("10.99.0.1", 80);
	int n = 0;

	(void)state;
	assert_int_equal(xl_maint_set(&m, "web", &a, true), 1);
	assert_int_equal(xl_maint_set(&m, "web", &z, true), 1);
	assert_int_equal(xl_maint_set(&m, "nosuch", &a, true), 1);
	assert_int_equal(xl_maint_unknown(&m, c, count, &n), 2);
	assert_int_equal(n, 2);
	assert_int_equal(m.n, 3);
	xl_maint_free(&m);
	xl_config_free(c);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static const char good[] = "{\"version\":1,\"disabled\":[{\"service\":\"web\","
			   "\"server\":\"10.20.0.5:80\"}]}\n";

static void expect_refused(const char *path, const char *what)
{
	struct xl_maint m = {0};
	char err[512] = "";

	assert_int_equal(xl_maint_load(&m, path, err, sizeof(err)), -1);
	assert_int_equal(m.n, 0);
	if (!strstr(err, what) || !strstr(err, "/"))
		fail_msg("error \"%s\" does not say \"%s\"", err, what);
	xl_maint_free(&m);
}

static void test_refusals(void **state)
{
	char *dir = tmpdir(), *path = join(dir, XL_MAINT_FILE), err[512];
	struct xl_maint m = {0};

	(void)state;
	/* writable by others, by the group, owned by someone else */
	write_file(path, good, 0602);
	expect_refused(path, "writable by others");
	write_file(path, good, 0620);
	expect_refused(path, "writable by its group");
	write_file(path, good, 0600);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 1000, 1000), 0);
		expect_refused(path, "owned by uid 1000");
		assert_int_equal(chown(path, 0, 0), 0);
	}
	/* a symbolic link is not followed */
	char *link = join(dir, "link.json");
	assert_int_equal(symlink(path, link), 0);
	expect_refused(link, "link.json");
	free(link);
	/* the directory someone else's, or writable by others: neither
	 * read nor written */
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 1000, 1000), 0);
		expect_refused(path, "owned by uid 1000, not root");
		assert_int_equal(xl_maint_save(&m, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "owned by uid 1000"));
		assert_int_equal(chown(dir, 0, 0), 0);
	}
	assert_int_equal(chmod(dir, 0777), 0);
	expect_refused(path, "writable by others");
	assert_int_equal(xl_maint_save(&m, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by others"));
	assert_int_equal(chmod(dir, 0700), 0);
	/* and the good file reads */
	assert_int_equal(xl_maint_load(&m, path, err, sizeof(err)), 0);
	assert_int_equal(m.n, 1);
	xl_maint_free(&m);
	free(path);
	rmtree(dir);
}

/* A corrupt file: no flag from it, left alone until the next write, which
 * keeps it as .bad. */
static void test_corrupt_file(void **state)
{
	static const char *const cases[][2] = {
	    {"{\"version\":1,\"disabled\":[", "not JSON"},
	    {"{\"version\":1,\"disabled\":[]} x", "text after the object"},
	    {"[1,2]", "no \"disabled\" list"},
	    {"{\"disabled\":{}}", "no \"disabled\" list"},
	    {"{\"disabled\":[{\"service\":\"web\"}]}", "entry ignored"},
	};
	char *dir = tmpdir(), *path = join(dir, XL_MAINT_FILE),
	     *bad = join(dir, XL_MAINT_FILE ".bad"), err[512];
	struct xl_maint m = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(path, cases[i][0], 0600);
		err[0] = '\0';
		assert_int_equal(xl_maint_load(&m, path, err, sizeof(err)), -1);
		if (!strstr(err, cases[i][1]) || !strstr(err, path))
			fail_msg("case %zu: \"%s\"", i, err);
		assert_true(m.bad_file);
		assert_int_equal(m.n, 0);
	}
	/* one bad entry among good ones: the good ones are kept */
	write_file(
	    path,
	    "{\"disabled\":[{\"service\":\"web\",\"server\":\"10.0.0.1:80\"},"
	    "{\"service\":\"web\",\"server\":\"10.0.0.300:80\"},"
	    "{\"service\":\"web\",\"server\":\"10.0.0.2\"},"
	    "{\"service\":\"api\",\"server\":\"[2001:db8::1]:80\"}]}",
	    0600);
	assert_int_equal(xl_maint_load(&m, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 entries ignored, the first (number 2)"));
	assert_non_null(strstr(err, "10.0.0.300:80"));
	assert_int_equal(m.n, 2);
	assert_true(m.bad_file);
	/* loading left the file alone */
	assert_int_equal(access(bad, F_OK), -1);
	/* the next write keeps it as .bad */
	assert_int_equal(xl_maint_save(&m, path, err, sizeof(err)), 0);
	assert_int_equal(access(bad, F_OK), 0);
	assert_false(m.bad_file);
	assert_int_equal(xl_maint_load(&m, path, err, sizeof(err)), 0);
	assert_int_equal(m.n, 2);
	xl_maint_free(&m);
	free(path);
	free(bad);
	rmtree(dir);
}

static void test_state_dir_key(void **state)
{
	struct xl_config *c =
	    ct_load("global = { state_dir = \"/srv/extlb\"; };\n"
		    "virtual_services = ();\n");
	char p[256];
	struct xl_errors errs = {0};
	char *dir = tmpdir(), *f = join(dir, "x.conf");

	(void)state;
	assert_int_equal(xl_maint_path(c, p, sizeof(p)), 0);
	assert_string_equal(p, "/srv/extlb/maintenance.json");
	xl_config_free(c);
	c = ct_load("virtual_services = ();\n");
	assert_int_equal(xl_maint_path(c, p, sizeof(p)), 0);
	assert_string_equal(p, "/var/lib/extlbd/maintenance.json");
	xl_config_free(c);
	ct_write(f, "global = {\n  state_dir = \"var/lib\";\n};\n"
		    "virtual_services = ();\n");
	assert_null(xl_config_load(f, &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], ":2: state_dir: \"var/lib\" is "
					     "not an absolute path"));
	xl_errors_free(&errs);
	free(f);
	rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_is_idempotent_and_sorted),
	    cmocka_unit_test(test_parse_server),
	    cmocka_unit_test(test_desired_with_maintenance),
	    cmocka_unit_test(test_down_and_disabled_stays_visible),
	    cmocka_unit_test(test_state_file_round_trip),
	    cmocka_unit_test(test_unknown_entries),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_corrupt_file),
	    cmocka_unit_test(test_state_dir_key),
	};

	return cmocka_run_group_tests_name("maint", tests, NULL, NULL);
}
