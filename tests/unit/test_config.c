/*
 * test_config.c - cmocka tests of xl_config_load() and friends.
 *
 * Every fixture is written to a fresh directory under mkdtemp() and loaded
 * from there, so the "file:line:" of each expected error is exactly what an
 * operator would see.  The error cases are one table, run as one cmocka test
 * each: a new validation rule gets a new row, and its message is pinned down
 * to the text, since the messages are part of the interface.
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
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conftext.h"
#include "incfile.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture ----------------------------------------------------------- */

static struct {
	char dir[256];
	struct xl_errors errs;
	struct xl_config *c;
} fx;

static int fx_setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "%s/xl-config-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(fx.dir) ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int fx_teardown(void **state)
{
	(void)state;
	xl_config_free(fx.c);
	xl_errors_free(&fx.errs);
	fx.c = NULL;
	return nftw(fx.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* a few paths may be in use at once: hand them out from a ring */
static char fx_paths[4][PATH_MAX];
static unsigned fx_next;

static const char *fx_path(const char *name)
{
	char *p = fx_paths[fx_next++ % ARRAY_SIZE(fx_paths)];

	assert_true(snprintf(p, PATH_MAX, "%s/%s", fx.dir, name) < PATH_MAX);
	return p;
}

static void fx_mkdir(const char *name)
{
	assert_int_equal(mkdir(fx_path(name), 0755), 0);
}

static const char *fx_write(const char *name, const char *text)
{
	return ct_write(fx_path(name), text);
}

static void fx_print_errors(void)
{
	ct_print_errors(&fx.errs);
}

static struct xl_config *fx_load_path(const char *path)
{
	xl_config_free(fx.c);
	xl_errors_free(&fx.errs);
	fx.c = xl_config_load(path, &fx.errs);
	return fx.c;
}

/* Load text as DIR/extlb.conf; it must be valid. */
static struct xl_config *fx_ok(const char *text)
{
	struct xl_config *c = fx_load_path(fx_write("extlb.conf", text));

	if (!c)
		fx_print_errors();
	assert_non_null(c);
	assert_int_equal(fx.errs.n, 0);
	return c;
}

/* Load text as DIR/extlb.conf; it must load, with something refused. */
static struct xl_config *fx_ok_refused(const char *text)
{
	struct xl_config *c = fx_load_path(fx_write("extlb.conf", text));

	if (!c)
		fx_print_errors();
	assert_non_null(c);
	assert_true(c->refused.n > 0);
	return c;
}

/* Load text as DIR/extlb.conf; it must be refused. */
static void fx_bad(const char *text)
{
	assert_null(fx_load_path(fx_write("extlb.conf", text)));
	assert_true(fx.errs.n > 0);
}

/* Some error must start with "DIR/file:line: msg". */
static void fx_expect(const char *file, int line, const char *msg)
{
	char want[PATH_MAX + 512];

	if (line > 0)
		snprintf(want, sizeof(want), "%s/%s:%d: %s", fx.dir, file, line,
			 msg);
	else
		snprintf(want, sizeof(want), "%s/%s: %s", fx.dir, file, msg);
	for (size_t i = 0; i < fx.errs.n; i++)
		if (!strncmp(fx.errs.msgs[i], want, strlen(want)))
			return;
	print_message("expected: %s\n", want);
	fx_print_errors();
	fail_msg("error not reported");
}

/* Some refusal (a loaded snapshot's c->refused) must start with
 * "DIR/file:line: msg" (line 0: "DIR/file: msg"). */
static void fx_expect_refused(const char *file, int line, const char *msg)
{
	char want[PATH_MAX + 512];

	assert_non_null(fx.c);
	if (line > 0)
		snprintf(want, sizeof(want), "%s/%s:%d: %s", fx.dir, file, line,
			 msg);
	else
		snprintf(want, sizeof(want), "%s/%s: %s", fx.dir, file, msg);
	for (size_t i = 0; i < fx.c->refused.n; i++)
		if (!strncmp(fx.c->refused.msgs[i], want, strlen(want)))
			return;
	print_message("expected refusal: %s\n", want);
	for (size_t i = 0; i < fx.c->refused.n; i++)
		print_message("  refused: %s\n", fx.c->refused.msgs[i]);
	fail_msg("refusal not reported");
}

static const struct xl_vs_config *vs_named(const struct xl_config *c,
					   const char *name)
{
	for (size_t i = 0; i < c->nvs; i++)
		if (!strcmp(c->vs[i].name, name))
			return &c->vs[i];
	fail_msg("no service %s", name);
	return NULL;
}

static void assert_addr(uint16_t af, const union xl_inaddr *a, const char *want)
{
	char buf[XL_ADDRSTR_MAX];

	assert_string_equal(xl_addr_format(af, a, buf, sizeof(buf)), want);
}

static void assert_svc(const struct xl_service *s, const char *want)
{
	char buf[128];

	assert_string_equal(xl_service_format(s, buf, sizeof(buf)), want);
}

static void assert_dest(const struct xl_dest *d, const char *want)
{
	char buf[128];

	assert_string_equal(xl_dest_format(d, buf, sizeof(buf)), want);
}

/*
 * Lines 1-3 open a file with one service named "web"; its body starts on
 * line 4.  VIP and RS1 are one line each.
 */
#define VS_OPEN "virtual_services = (\n{\n  name = \"web\";\n"
#define VS_CLOSE "}\n);\n"
#define VIP "  vip = \"192.168.10.100\"; port = 8000;\n"
#define RS1 "  real_servers = ( { address = \"10.1.0.1\"; } );\n"

/* ---- the documented example ------------------------------------------- */

static void test_example_loads(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;

	(void)state;
	c = fx_load_path(SRCDIR "/etc/extlb.conf");
	if (!c)
		fx_print_errors();
	assert_non_null(c);
	assert_string_equal(c->include_dir, "/etc/extlb.d");
	assert_string_equal(c->files[0], SRCDIR "/etc/extlb.conf");
	assert_int_equal(c->log_level, XL_LOG_INFO);
	assert_int_equal(c->check.type, XL_CHECK_TCP);
	assert_int_equal(c->nvs, 1);
	vs = &c->vs[0];
	assert_string_equal(vs->name, "ext-tcp-lb");
	assert_svc(&vs->svc, "TCP 192.168.10.100:8000");
	assert_string_equal(vs->svc.sched, "rr");
	assert_int_equal(vs->svc.ndests, 1);
	assert_dest(&vs->svc.dests[0], "10.20.0.5:80");
	assert_int_equal(vs->svc.dests[0].fwd, IP_VS_CONN_F_MASQ);
	assert_int_equal(vs->svc.dests[0].weight, 1);
	assert_int_equal(xl_rs_check(vs, 0)->type, XL_CHECK_TCP);
}

/* ---- defaults and inheritance ----------------------------------------- */

static void assert_default_check(const struct xl_check_config *k)
{
	assert_int_equal(k->type, XL_CHECK_TCP);
	assert_true(k->interval == 2.0);
	assert_true(k->timeout == 1.0);
	assert_int_equal(k->rise, 2);
	assert_int_equal(k->fall, 3);
	assert_false(k->initial_up);
	assert_false(k->has_connect_ip);
	assert_int_equal(k->connect_port, -1);
	assert_string_equal(k->method, "GET");
	assert_string_equal(k->path, "/");
	assert_null(k->host);
	assert_int_equal(k->nstatus, 0);
	assert_null(k->expect);
	assert_true(k->tls_verify);
	assert_null(k->ca_file);
	assert_null(k->sni);
	assert_null(k->send);
	assert_null(k->command);
	assert_string_equal(k->user, "nobody");
}

static void test_defaults(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;
	const struct xl_dest *d;

	(void)state;
	c = fx_ok(VS_OPEN VIP RS1 VS_CLOSE);
	assert_int_equal(c->log_level, XL_LOG_INFO);
	assert_null(c->include_dir);
	assert_false(c->owns_all);
	assert_false(c->watch_include_dir);
	assert_int_equal(c->on_stop, XL_ON_STOP_KEEP);
	assert_null(c->vip_interface);
	assert_string_equal(c->control_socket, "/run/extlbd/control.sock");
	assert_null(c->control_group);
	assert_int_equal(c->announce, XL_ANNOUNCE_ALWAYS);
	assert_true(c->resync_interval == 30);
	assert_true(c->drain_timeout == 60);
	assert_default_check(&c->check);
	assert_int_equal(c->nfiles, 1);
	assert_string_equal(c->files[0], fx_path("extlb.conf"));

	vs = &c->vs[0];
	assert_ptr_equal(vs->file, c->files[0]);
	assert_int_equal(vs->line, 2);
	assert_int_equal(vs->svc.protocol, IPPROTO_TCP);
	assert_string_equal(vs->svc.sched, "wlc");
	assert_int_equal(vs->svc.flags, 0);
	assert_int_equal(vs->svc.timeout, 0);
	assert_int_equal(vs->svc.netmask, 0xffffffffu);
	assert_true(vs->drain_timeout == 60);
	assert_false(vs->inhibit_on_failure);
	assert_false(vs->has_sorry);
	assert_int_equal(vs->quorum, 1);
	assert_default_check(&vs->check);

	d = &vs->svc.dests[0];
	assert_int_equal(d->af, AF_INET);
	assert_int_equal(d->port, 8000); /* the service's */
	assert_int_equal(d->weight, 1);
	assert_int_equal(d->fwd, IP_VS_CONN_F_MASQ);
	assert_int_equal(d->u_thresh, 0);
	assert_int_equal(d->l_thresh, 0);
	assert_int_equal(vs->reals[0].line, 5);
	assert_default_check(xl_rs_check(vs, 0));
}

static void test_global_values(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok("global = {\n"
		  "  log_level = \"debug\";\n"
		  "  owns_all = true;\n"
		  "  on_stop = \"remove\";\n"
		  "  resync_interval = 2.5;\n"
		  "  drain_timeout = 0;\n"
		  "};\n"
		  "virtual_services = (\n"
		  "  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; },\n"
		  "  { name = \"b\"; vip = \"10.0.0.2\"; port = 80;\n"
		  "    drain_timeout = 7.5; inhibit_on_failure = true;\n"
		  "    quorum = 0; }\n"
		  ");\n");
	assert_int_equal(c->log_level, XL_LOG_DEBUG);
	assert_true(c->owns_all);
	assert_int_equal(c->on_stop, XL_ON_STOP_REMOVE);
	assert_true(c->resync_interval == 2.5);
	assert_true(c->drain_timeout == 0);
	assert_true(vs_named(c, "a")->drain_timeout == 0); /* inherited */
	assert_true(vs_named(c, "b")->drain_timeout == 7.5);
	assert_true(vs_named(c, "b")->inhibit_on_failure);
	assert_int_equal(vs_named(c, "b")->quorum, 0);
	assert_int_equal(vs_named(c, "a")->quorum, 1);
}

/* ipvs_timeouts and ipvs_sysctls: what is set, and only that. */
static void test_kernel_settings(void **state)
{
	const struct xl_kset_config *k;

	(void)state;
	k = &fx_ok("global = {\n"
		   "  ipvs_timeouts = { tcp = 900; udp = 2147483; };\n"
		   "  ipvs_sysctls = {\n"
		   "    conntrack = true; expire_nodest_conn = 1;\n"
		   "    expire_quiescent_template = false; pmtu_disc = 0;\n"
		   "    conn_reuse_mode = 3; secure_tcp = 0;\n"
		   "    amemthresh = 4096;\n"
		   "  };\n"
		   "};\n")
		->kset;
	assert_int_equal(k->timeout[XL_KT_TCP], 900);
	assert_int_equal(k->timeout[XL_KT_TCP_FIN], 0); /* the kernel's */
	assert_int_equal(k->timeout[XL_KT_UDP], 2147483);
	for (int i = 0; i < XL_KS_N; i++) {
		static const int set[XL_KS_N] = {
		    [XL_KS_CONNTRACK] = 1,
		    [XL_KS_EXPIRE_NODEST_CONN] = 1,
		    [XL_KS_EXPIRE_QUIESCENT_TEMPLATE] = 1,
		    [XL_KS_PMTU_DISC] = 1,
		    [XL_KS_CONN_REUSE_MODE] = 1,
		    [XL_KS_SECURE_TCP] = 1,
		    [XL_KS_AMEMTHRESH] = 1,
		};

		assert_int_equal(k->has_sysctl[i], set[i]);
	}
	assert_int_equal(k->sysctl[XL_KS_CONNTRACK], 1);
	assert_int_equal(k->sysctl[XL_KS_EXPIRE_NODEST_CONN], 1);
	assert_int_equal(k->sysctl[XL_KS_EXPIRE_QUIESCENT_TEMPLATE], 0);
	assert_int_equal(k->sysctl[XL_KS_PMTU_DISC], 0);
	assert_int_equal(k->sysctl[XL_KS_CONN_REUSE_MODE], 3);
	assert_int_equal(k->sysctl[XL_KS_SECURE_TCP], 0);
	assert_int_equal(k->sysctl[XL_KS_AMEMTHRESH], 4096);

	/* none: nothing of the kernel's is touched */
	k = &fx_ok("global = { ipvs_timeouts = { }; };\n")->kset;
	for (int t = 0; t < XL_KT_N; t++)
		assert_int_equal(k->timeout[t], 0);
	for (int i = 0; i < XL_KS_N; i++)
		assert_false(k->has_sysctl[i]);
}

/* control_socket and control_group as given; "" is no socket. */
static void test_control_keys(void **state)
{
	struct xl_config *c;

	(void)state;
	c = ct_load("global = { control_socket = \"/run/x/ctl.sock\"; "
		    "control_group = \"root\"; };\n");
	assert_string_equal(c->control_socket, "/run/x/ctl.sock");
	assert_string_equal(c->control_group, "root");
	assert_int_equal(c->control_gid, 0);
	xl_config_free(c);
	c = ct_load("global = { control_socket = \"\"; };\n");
	assert_string_equal(c->control_socket, "");
	assert_null(c->control_group);
	xl_config_free(c);
}

/* vip_interface names the interface as given; announce is inherited by
 * the services that do not set it, and a change of it is a change of the
 * service at reload. */
static void test_vip_interface_announce(void **state)
{
	const char *text =
	    "global = { vip_interface = \"extlb-0.v_1\"; announce = "
	    "\"quorum\"; };\n"
	    "virtual_services = (\n"
	    "  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; },\n"
	    "  { name = \"b\"; vip = \"10.0.0.2\"; port = 80;\n"
	    "    announce = \"always\"; }\n"
	    ");\n";
	struct xl_config *c, *d, *e;

	(void)state;
	c = ct_load(text);
	assert_string_equal(c->vip_interface, "extlb-0.v_1");
	assert_int_equal(c->announce, XL_ANNOUNCE_QUORUM);
	assert_int_equal(vs_named(c, "a")->announce, XL_ANNOUNCE_QUORUM);
	assert_int_equal(vs_named(c, "b")->announce, XL_ANNOUNCE_ALWAYS);
	/* the same text again: both unchanged */
	d = ct_reload(text, c);
	assert_int_equal(d->nsame, 2);
	/* the global default gone: a inherits "always" now, so it changed */
	e = ct_reload("virtual_services = (\n"
		      "  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; },\n"
		      "  { name = \"b\"; vip = \"10.0.0.2\"; port = 80;\n"
		      "    announce = \"always\"; }\n"
		      ");\n",
		      d);
	assert_null(e->vip_interface);
	assert_int_equal(e->announce, XL_ANNOUNCE_ALWAYS);
	assert_int_equal(vs_named(e, "a")->announce, XL_ANNOUNCE_ALWAYS);
	assert_int_equal(vs_named(e, "a")->prev, XL_VS_NONE);
	assert_int_not_equal(vs_named(e, "b")->prev, XL_VS_NONE);
	xl_config_free(e);
	xl_config_free(d);
	xl_config_free(c);
}

static void assert_global_http(const struct xl_check_config *k)
{
	assert_int_equal(k->type, XL_CHECK_HTTP);
	assert_string_equal(k->path, "/g");
	assert_true(k->interval == 5);
	assert_int_equal(k->rise, 4);
	assert_int_equal(k->nstatus, 2);
	assert_int_equal(k->status[0].lo, 200);
	assert_int_equal(k->status[0].hi, 204);
	assert_int_equal(k->status[1].lo, 302);
	assert_int_equal(k->status[1].hi, 302);
}

static void test_check_inheritance(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;
	const struct xl_check_config *k;

	(void)state;
	c = fx_ok(
	    "global = {\n"
	    "  check = { type = \"http\"; path = \"/g\"; interval = 5;\n"
	    "            status = ( \"200-204\", 302 ); rise = 4; };\n"
	    "};\n"
	    "virtual_services = (\n"
	    "  { name = \"web\"; vip = \"10.0.0.1\"; port = 80;\n"
	    "    check = { interval = 1.5; host = \"app.example\"; };\n"
	    "    real_servers = (\n"
	    "      { address = \"10.1.0.1\"; check = { path = \"/r\"; }; },\n"
	    "      { address = \"10.1.0.2\"; },\n"
	    "      { address = \"10.1.0.3\"; check = { type = \"tcp\"; }; }\n"
	    "    ); },\n"
	    "  { name = \"other\"; vip = \"10.0.0.2\"; port = 80; }\n"
	    ");\n");
	assert_global_http(&c->check);

	vs = vs_named(c, "web");
	/* the service check set only interval and host: type stays http */
	assert_int_equal(vs->check.type, XL_CHECK_HTTP);
	assert_true(vs->check.interval == 1.5);
	assert_string_equal(vs->check.host, "app.example");
	assert_string_equal(vs->check.path, "/g");
	assert_int_equal(vs->check.nstatus, 2);
	assert_int_equal(vs->check.rise, 4);

	k = xl_rs_check(vs, 0);
	assert_int_equal(k->type, XL_CHECK_HTTP);
	assert_string_equal(k->path, "/r");
	assert_string_equal(k->host, "app.example");
	assert_true(k->interval == 1.5);

	k = xl_rs_check(vs, 1);
	assert_string_equal(k->path, "/g");
	assert_true(k->interval == 1.5);

	k = xl_rs_check(vs, 2);
	assert_int_equal(k->type, XL_CHECK_TCP);
	assert_true(k->interval == 1.5);
	assert_int_equal(k->rise, 4);

	/* a server without a check of its own runs the service's, which
	 * is one copy for all such servers, not one each */
	assert_ptr_equal(xl_rs_check(vs, 1), vs->reals_check);
	assert_ptr_not_equal(xl_rs_check(vs, 0), vs->reals_check);

	/* a service without a check takes the global one whole */
	k = &vs_named(c, "other")->check;
	assert_int_equal(k->type, XL_CHECK_HTTP);
	assert_true(k->interval == 5);
	/* strings inherited unchanged are shared with the level above (the
	 * snapshot frees each once: the sanitizer and valgrind runs say so) */
	assert_string_equal(k->path, c->check.path);
	assert_ptr_equal(k->path, c->check.path);
}

/* Read after the parse trees are freed (xl_config_drop_parsed(), which
 * extlbd does once the kernel has the table): nothing may point into them,
 * which the sanitizer build checks. */
/*
 * What a reload compares: every setting of a check counts (a change takes
 * the service out of the reuse and restarts the servers' checks), whatever
 * the strings' addresses; connect_ip only when it is set.
 */
static void test_check_equal(void **state)
{
	static char get[] = "GET", get2[] = "GET", head[] = "HEAD";
	static char slash[] = "/", hz[] = "/hz";
	struct xl_check_config a = {
	    .type = XL_CHECK_HTTP, .interval = 2, .timeout = 1, .rise = 2,
	    .fall = 3, .connect_port = -1, .tls_verify = true,
	    .method = get, .path = slash, .nstatus = 1,
	    .status = {{200, 204}}};
	struct xl_check_config b;

	(void)state;
#define DIFFERS(change)                                                        \
	do {                                                                   \
		b = a;                                                         \
		change;                                                        \
		assert_false(xl_check_equal(&a, &b));                          \
		assert_false(xl_check_equal(&b, &a));                          \
	} while (0)
	b = a;
	b.method = get2;
	assert_true(xl_check_equal(&a, &b));
	b.connect_ip.v4.s_addr = htonl(0x0a000001); /* not set: not used */
	assert_true(xl_check_equal(&a, &b));
	DIFFERS(b.type = XL_CHECK_HTTPS);
	DIFFERS(b.interval = 3);
	DIFFERS(b.timeout = 0.5);
	DIFFERS(b.fast_interval = 1);
	DIFFERS(b.down_interval = 10);
	DIFFERS(b.rise = 1);
	DIFFERS(b.fall = 5);
	DIFFERS(b.initial_up = true);
	DIFFERS(b.tls_verify = false);
	DIFFERS(b.nstatus = 0);
	DIFFERS(b.status[0].hi = 299);
	DIFFERS(b.connect_port = 8080);
	DIFFERS(b.has_connect_ip = true);
	a.has_connect_ip = true;
	a.connect_af = AF_INET;
	DIFFERS(b.connect_ip.v4.s_addr = htonl(0x0a000001));
	DIFFERS(b.connect_af = AF_INET6);
	DIFFERS(b.method = head);
	DIFFERS(b.path = hz);
	DIFFERS(b.host = hz);
	DIFFERS(b.expect = hz);
	DIFFERS(b.ca_file = hz);
	DIFFERS(b.sni = hz);
	DIFFERS(b.send = hz);
	DIFFERS(b.command = hz);
	DIFFERS(b.user = hz);
#undef DIFFERS
}

static void test_check_keys(void **state)
{
	struct xl_config *c;
	const struct xl_check_config *k;

	(void)state;
	c = fx_ok(
	    VS_OPEN VIP
	    "  check = {\n"
	    "    type = \"https\"; timeout = 0.25; rise = 1; fall = 1000;\n"
	    "    fast_interval = 0.5; down_interval = 10;\n"
	    "    initial_state = \"up\";\n"
	    "    connect_ip = \"2001:db8::9\"; connect_port = 8443;\n"
	    "    method = \"HEAD\"; path = \"/healthz?full=1\";\n"
	    "    host = \"app.example\"; status = [ 200, 204 ];\n"
	    "    expect = \"OK\"; tls_verify = false; ca_file = \"/ca.pem\";\n"
	    "    sni = \"sni.example\"; send = \"\"; user = \"probe\";\n"
	    "    command = \"/bin/true\";\n"
	    "  };\n" VS_CLOSE);
	assert_non_null(c->parsed);
	xl_config_drop_parsed(c);
	assert_null(c->parsed);
	xl_config_drop_parsed(c); /* twice is harmless */
	k = &c->vs[0].check;
	assert_int_equal(k->type, XL_CHECK_HTTPS);
	assert_true(k->timeout == 0.25);
	assert_true(k->fast_interval == 0.5);
	assert_true(k->down_interval == 10.0);
	assert_int_equal(k->rise, 1);
	assert_int_equal(k->fall, 1000);
	assert_true(k->initial_up);
	assert_true(k->has_connect_ip);
	assert_int_equal(k->connect_af, AF_INET6);
	assert_addr(k->connect_af, &k->connect_ip, "2001:db8::9");
	assert_int_equal(k->connect_port, 8443);
	assert_string_equal(k->method, "HEAD");
	assert_string_equal(k->path, "/healthz?full=1");
	assert_string_equal(k->host, "app.example");
	assert_int_equal(k->nstatus, 2);
	assert_int_equal(k->status[1].lo, 204);
	assert_string_equal(k->expect, "OK");
	assert_false(k->tls_verify);
	assert_string_equal(k->ca_file, "/ca.pem");
	assert_string_equal(k->sni, "sni.example");
	assert_string_equal(k->send, "");
	assert_string_equal(k->user, "probe");
	assert_string_equal(k->command, "/bin/true");
}

/* script type in one check, command in the one that inherits it */
static void test_check_script_inherited(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok("global = { check = { type = \"script\"; }; };\n" VS_OPEN VIP
		  "  real_servers = ( { address = \"10.1.0.1\";\n"
		  "    check = { command = \"/bin/check 10.1.0.1\"; }; } );\n"
		  "  check = { type = \"none\"; };\n" VS_CLOSE);
	assert_int_equal(c->vs[0].check.type, XL_CHECK_NONE);
	assert_int_equal(xl_rs_check(&c->vs[0], 0)->type, XL_CHECK_NONE);
	c = fx_ok("global = { check = { type = \"script\"; }; };\n" VS_OPEN VIP
		  "  real_servers = ( { address = \"10.1.0.1\";\n"
		  "    check = { command = \"/bin/check\"; }; } );\n" VS_CLOSE);
	assert_int_equal(xl_rs_check(&c->vs[0], 0)->type, XL_CHECK_SCRIPT);
	assert_string_equal(xl_rs_check(&c->vs[0], 0)->command, "/bin/check");
}

/* ---- services ---------------------------------------------------------- */

static void test_ipv6_service(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;

	(void)state;
	c = fx_ok(
	    VS_OPEN
	    "  vip = \"2001:db8::1\"; port = 443;\n"
	    "  real_servers = (\n"
	    "    { address = \"2001:db8:1::5\"; port = 8443; } );\n"
	    "  sorry_server = { address = \"2001:db8:1::99\"; };\n" VS_CLOSE);
	vs = &c->vs[0];
	assert_int_equal(vs->svc.af, AF_INET6);
	assert_svc(&vs->svc, "TCP [2001:db8::1]:443");
	assert_int_equal(vs->svc.netmask, 128);
	assert_dest(&vs->svc.dests[0], "[2001:db8:1::5]:8443");
	assert_int_equal(vs->svc.dests[0].af, AF_INET6);
	assert_true(vs->has_sorry);
	assert_dest(&vs->sorry, "[2001:db8:1::99]:443");
}

static void test_udp_one_packet(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok(VS_OPEN
		  "  vip = \"192.168.10.53\"; port = 53; protocol = \"udp\";\n"
		  "  one_packet = true;\n" RS1 VS_CLOSE);
	assert_svc(&c->vs[0].svc, "UDP 192.168.10.53:53");
	assert_int_equal(c->vs[0].svc.flags, IP_VS_SVC_F_ONEPACKET);
	c = fx_ok(VS_OPEN
		  "  vip = \"192.168.10.53\"; port = 53; protocol = \"udp\";\n"
		  "  one_packet = false;\n" VS_CLOSE);
	assert_int_equal(c->vs[0].svc.flags, 0);
}

static void test_snat_and_sources(void **state)
{
	const struct xl_vs_config *vs;
	char buf[XL_ADDRSTR_MAX];

	(void)state;
	fx_ok("global = { snat = true; snat_address = \"10.9.0.1\"; };\n"
	      "virtual_services = (\n"
	      "  { name = \"nat\"; vip = \"10.0.0.1\"; port = 80;\n"
	      "    allowed_sources = [ \"203.0.113.0/24\", \"10.1.0.0/16\",\n"
	      "                        \"198.51.100.7\" ]; },\n"
	      "  { name = \"dr\"; vip = \"10.0.0.2\"; port = 80; forward = \"dr\"; },\n"
	      "  { name = \"six\"; vip = \"2001:db8::1\"; port = 80;\n"
	      "    allowed_sources = [ \"2001:db8:1::/48\", \"2001:db8::5\" ]; },\n"
	      "  { name = \"off\"; vip = \"10.0.0.3\"; port = 80; snat = false; },\n"
	      "  { name = \"own\"; vip = \"10.0.0.4\"; port = 80;\n"
	      "    snat_address = \"10.9.0.2\"; },\n"
	      "  { name = \"mark\"; fwmark = 3; }\n"
	      ");\n");
	/* the global default, and its address for services of its family */
	vs = vs_named(fx.c, "nat");
	assert_true(vs->nft.snat);
	assert_int_equal(vs->nft.snat_af, AF_INET);
	assert_string_equal(xl_addr_format(AF_INET, &vs->nft.snat_addr, buf,
					   sizeof(buf)),
			    "10.9.0.1");
	/* sorted, a bare address one host wide */
	assert_int_equal(vs->nft.nsources, 3);
	assert_string_equal(xl_addr_format(AF_INET, &vs->nft.sources[0].addr,
					   buf, sizeof(buf)),
			    "10.1.0.0");
	assert_int_equal(vs->nft.sources[0].plen, 16);
	assert_int_equal(vs->nft.sources[1].plen, 32);
	assert_int_equal(vs->nft.sources[2].plen, 24);
	/* inherited only where it can work */
	assert_false(vs_named(fx.c, "dr")->nft.snat);
	assert_false(vs_named(fx.c, "mark")->nft.snat);
	assert_false(vs_named(fx.c, "off")->nft.snat);
	/* IPv6: masquerade (the global address is IPv4), /128 for one host */
	vs = vs_named(fx.c, "six");
	assert_true(vs->nft.snat);
	assert_int_equal(vs->nft.snat_af, 0);
	assert_int_equal(vs->nft.sources[0].plen, 128);
	assert_int_equal(vs->nft.sources[1].plen, 48);
	vs = vs_named(fx.c, "own");
	assert_string_equal(xl_addr_format(AF_INET, &vs->nft.snat_addr, buf,
					   sizeof(buf)),
			    "10.9.0.2");
	/* none of it by default */
	fx_ok(VS_OPEN VIP RS1 VS_CLOSE);
	assert_false(fx.c->vs[0].nft.snat);
	assert_int_equal(fx.c->vs[0].nft.nsources, 0);
	/* a range inside another, and every address: each is kept */
	fx_ok(VS_OPEN VIP "  allowed_sources = [ \"10.1.0.0/16\", "
			  "\"10.0.0.0/8\", \"0.0.0.0/0\" ];\n" RS1 VS_CLOSE);
	vs = &fx.c->vs[0];
	assert_int_equal(vs->nft.nsources, 3);
	assert_int_equal(vs->nft.sources[0].plen, 0);
	assert_int_equal(vs->nft.sources[1].plen, 8);
	assert_int_equal(vs->nft.sources[2].plen, 16);
}

/* A reload that changes a service's ranges or snat changes the service. */
static void test_snat_sources_reload(void **state)
{
	struct xl_config *a, *b;

	(void)state;
	a = ct_load(VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/8\" ];\n" VS_CLOSE);
	b = ct_reload(VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/8\" ];\n" VS_CLOSE, a);
	assert_int_equal(b->vs[0].prev, 0);
	xl_config_free(b);
	b = ct_reload(VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/9\" ];\n" VS_CLOSE, a);
	assert_int_equal(b->vs[0].prev, XL_VS_NONE);
	xl_config_free(b);
	b = ct_reload(VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/8\" ];\n"
			  "  snat = true;\n" VS_CLOSE, a);
	assert_int_equal(b->vs[0].prev, XL_VS_NONE);
	xl_config_free(b);
	xl_config_free(a);
}

static void test_sctp(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok(VS_OPEN "  vip = \"192.168.10.7\"; port = 3868;\n"
			  "  protocol = \"sctp\";\n" RS1 VS_CLOSE);
	assert_svc(&c->vs[0].svc, "SCTP 192.168.10.7:3868");
	assert_int_equal(c->vs[0].svc.protocol, IPPROTO_SCTP);
}

static void test_fwmark(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;

	(void)state;
	c = fx_ok(
	    "virtual_services = (\n"
	    "  { name = \"m4\"; fwmark = 7; one_packet = true;\n"
	    "    real_servers = ( { address = \"10.1.0.1\"; },\n"
	    "      { address = \"10.1.0.2\"; port = 8080; } ); },\n"
	    "  { name = \"m6\"; fwmark = 4294967295; family = \"inet6\";\n"
	    "    real_servers = ( { address = \"2001:db8::5\"; } ); },\n"
	    "  { name = \"mhex\"; fwmark = 0xfffffffe; }\n"
	    ");\n");
	vs = vs_named(c, "m4");
	assert_svc(&vs->svc, "FWM 7 (inet)");
	assert_int_equal(vs->svc.af, AF_INET);
	assert_int_equal(vs->svc.protocol, 0);
	assert_int_equal(vs->svc.flags, IP_VS_SVC_F_ONEPACKET);
	assert_int_equal(vs->svc.dests[0].port, 0);
	assert_int_equal(vs->svc.dests[1].port, 8080); /* nat may remap */
	vs = vs_named(c, "m6");
	assert_svc(&vs->svc, "FWM 4294967295 (inet6)");
	assert_int_equal(vs->svc.netmask, 128);
	assert_int_equal(vs->svc.dests[0].af, AF_INET6);
	assert_int_equal(vs_named(c, "mhex")->svc.fwmark, 0xfffffffeu);
}

static void test_forward_dr(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;

	(void)state;
	c = fx_ok(
	    VS_OPEN VIP
	    "  forward = \"dr\";\n"
	    "  real_servers = ( { address = \"10.1.0.1\"; },\n"
	    "                   { address = \"10.1.0.2\"; port = 8000; } );\n"
	    "  sorry_server = { address = \"10.1.0.99\"; };\n" VS_CLOSE);
	vs = &c->vs[0];
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(vs->svc.dests[i].fwd, IP_VS_CONN_F_DROUTE);
		assert_int_equal(vs->svc.dests[i].port, 8000);
	}
	assert_int_equal(vs->sorry.fwd, IP_VS_CONN_F_DROUTE);
	assert_int_equal(vs->sorry.port, 8000);
}

static void test_forward_tun(void **state)
{
	const struct xl_config *c;
	const struct xl_dest *d;

	(void)state;
	/* ipip by default; another family is fine when tunnelled */
	c = fx_ok(
	    VS_OPEN VIP
	    "  forward = \"tun\";\n"
	    "  real_servers = ( { address = \"2001:db8::5\"; } );\n" VS_CLOSE);
	d = &c->vs[0].svc.dests[0];
	assert_int_equal(d->fwd, IP_VS_CONN_F_TUNNEL);
	assert_int_equal(d->af, AF_INET6);
	assert_int_equal(d->port, 8000);
	assert_int_equal(d->tun_type, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
	assert_int_equal(d->tun_port, 0);
	assert_int_equal(d->tun_flags, IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);

	c = fx_ok(VS_OPEN VIP
		  "  forward = \"tun\";\n"
		  "  tunnel = { type = \"gue\"; port = 6080;\n"
		  "             checksum = \"remcsum\"; };\n"
		  "  real_servers = ( { address = \"10.1.0.1\"; },\n"
		  "                   { address = \"10.1.0.2\"; } );\n"
		  "  sorry_server = { address = \"10.1.0.99\";\n"
		  "                   port = 8000; };\n" VS_CLOSE);
	for (size_t i = 0; i < 2; i++) {
		d = &c->vs[0].svc.dests[i];
		assert_int_equal(d->tun_type, IP_VS_CONN_F_TUNNEL_TYPE_GUE);
		assert_int_equal(d->tun_port, 6080);
		assert_int_equal(d->tun_flags, IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
	}
	assert_int_equal(c->vs[0].sorry.tun_port, 6080);

	c = fx_ok(VS_OPEN VIP
		  "  forward = \"tun\";\n"
		  "  tunnel = { type = \"gre\"; checksum = \"csum\"; };\n" RS1
		      VS_CLOSE);
	d = &c->vs[0].svc.dests[0];
	assert_int_equal(d->tun_type, IP_VS_CONN_F_TUNNEL_TYPE_GRE);
	assert_int_equal(d->tun_flags, IP_VS_TUNNEL_ENCAP_FLAG_CSUM);

	c = fx_ok(VS_OPEN VIP
		  "  forward = \"tun\";\n"
		  "  tunnel = { type = \"gue\"; port = 5555;\n"
		  "             checksum = \"csum\"; };\n" RS1 VS_CLOSE);
	d = &c->vs[0].svc.dests[0];
	assert_int_equal(d->tun_flags, IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
}

static void test_persistence(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok(
	    "virtual_services = (\n"
	    "  { name = \"mask\"; vip = \"10.0.0.1\"; port = 80;\n"
	    "    persistence_timeout = 300;\n"
	    "    persistence_netmask = \"255.255.255.0\"; },\n"
	    "  { name = \"prefix\"; vip = \"10.0.0.2\"; port = 80;\n"
	    "    persistence_timeout = 31536000; persistence_netmask = 24; },\n"
	    "  { name = \"zero\"; vip = \"10.0.0.3\"; port = 80;\n"
	    "    persistence_timeout = 1; persistence_netmask = 0; },\n"
	    "  { name = \"v6\"; vip = \"2001:db8::1\"; port = 80;\n"
	    "    persistence_timeout = 60; persistence_netmask = 64; },\n"
	    "  { name = \"v6def\"; vip = \"2001:db8::2\"; port = 80;\n"
	    "    persistence_timeout = 60; },\n"
	    "  { name = \"off\"; vip = \"10.0.0.4\"; port = 80;\n"
	    "    persistence_timeout = 0; }\n"
	    ");\n");
	assert_int_equal(vs_named(c, "mask")->svc.flags,
			 IP_VS_SVC_F_PERSISTENT);
	assert_int_equal(vs_named(c, "mask")->svc.timeout, 300);
	assert_int_equal(vs_named(c, "mask")->svc.netmask, htonl(0xffffff00));
	assert_int_equal(vs_named(c, "prefix")->svc.netmask, htonl(0xffffff00));
	assert_int_equal(vs_named(c, "prefix")->svc.timeout, 31536000);
	assert_int_equal(vs_named(c, "zero")->svc.netmask, 0);
	assert_int_equal(vs_named(c, "v6")->svc.netmask, 64);
	assert_int_equal(vs_named(c, "v6def")->svc.netmask, 128);
	assert_int_equal(vs_named(c, "off")->svc.flags, 0);
	assert_int_equal(vs_named(c, "off")->svc.timeout, 0);
	assert_int_equal(vs_named(c, "off")->svc.netmask, 0xffffffffu);
}

static void test_scheduler_flags(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok(
	    "virtual_services = (\n"
	    "  { name = \"sh\"; vip = \"10.0.0.1\"; port = 80;\n"
	    "    scheduler = \"sh\";\n"
	    "    scheduler_flags = [ \"sh-fallback\", \"sh-port\" ]; },\n"
	    "  { name = \"mh\"; vip = \"10.0.0.2\"; port = 80;\n"
	    "    scheduler = \"mh\"; scheduler_flags = ( \"mh-port\" ); },\n"
	    "  { name = \"mhf\"; vip = \"10.0.0.3\"; port = 80;\n"
	    "    scheduler = \"mh\";\n"
	    "    scheduler_flags = [ \"mh-fallback\" ]; },\n"
	    "  { name = \"any\"; vip = \"10.0.0.4\"; port = 80;\n"
	    "    scheduler = \"my_sched2\";\n"
	    "    scheduler_flags = [ \"flag-1\", \"flag-2\", \"flag-3\" ]; },\n"
	    "  { name = \"none\"; vip = \"10.0.0.5\"; port = 80;\n"
	    "    scheduler_flags = []; }\n"
	    ");\n");
	assert_int_equal(vs_named(c, "sh")->svc.flags,
			 IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2);
	assert_int_equal(vs_named(c, "mh")->svc.flags, IP_VS_SVC_F_SCHED2);
	assert_int_equal(vs_named(c, "mhf")->svc.flags, IP_VS_SVC_F_SCHED1);
	assert_string_equal(vs_named(c, "any")->svc.sched, "my_sched2");
	assert_int_equal(vs_named(c, "any")->svc.flags, IP_VS_SVC_F_SCHED1 |
							    IP_VS_SVC_F_SCHED2 |
							    IP_VS_SVC_F_SCHED3);
	assert_int_equal(vs_named(c, "none")->svc.flags, 0);
}

static void test_thresholds_weight(void **state)
{
	const struct xl_config *c;
	const struct xl_dest *d;

	(void)state;
	c = fx_ok(VS_OPEN VIP
		  "  real_servers = (\n"
		  "    { address = \"10.1.0.1\"; weight = 0;\n"
		  "      upper_threshold = 100; lower_threshold = 50; },\n"
		  "    { address = \"10.1.0.2\"; weight = 65535;\n"
		  "      upper_threshold = 2147483647;\n"
		  "      lower_threshold = 2147483647; },\n"
		  "    { address = \"10.1.0.3\"; upper_threshold = 10; }\n"
		  "  );\n" VS_CLOSE);
	d = c->vs[0].svc.dests;
	assert_int_equal(d[0].weight, 0);
	assert_int_equal(d[0].u_thresh, 100);
	assert_int_equal(d[0].l_thresh, 50);
	assert_int_equal(d[1].weight, 65535);
	assert_int_equal(d[1].u_thresh, 2147483647u);
	assert_int_equal(d[1].l_thresh, 2147483647u);
	assert_int_equal(d[2].u_thresh, 10);
	assert_int_equal(d[2].l_thresh, 0);
}

static void test_sorry_server(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;

	(void)state;
	c = fx_ok(VS_OPEN VIP RS1
		  "  sorry_server = { address = \"10.1.0.99\";\n"
		  "                   port = 8080; };\n" VS_CLOSE);
	vs = &c->vs[0];
	assert_true(vs->has_sorry);
	assert_dest(&vs->sorry, "10.1.0.99:8080");
	assert_int_equal(vs->sorry.fwd, IP_VS_CONN_F_MASQ);
	assert_int_equal(vs->sorry.weight, 1);
}

static void test_empty_and_no_reals(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok("");
	assert_int_equal(c->nvs, 0);
	c = fx_ok("virtual_services = ();\n");
	assert_int_equal(c->nvs, 0);
	c = fx_ok(VS_OPEN VIP "  real_servers = ();\n" VS_CLOSE);
	assert_int_equal(c->vs[0].svc.ndests, 0);
	assert_null(c->vs[0].reals);
}

/* Digits in comments, strings and names are not numbers to widen. */
static void test_lexer_corners(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok(
	    "# fwmark = 99999999999999;\n"
	    "// 12345678901234\n"
	    "/* 4294967296\n"
	    "   0xfffffffff */\n"
	    "virtual_services = (\n"
	    "  { name = \"svc 12345678901 \\\"q\\\" 0x123456789\";\n"
	    "    fwmark = 2147483648; scheduler = \"sh\";\n"
	    "    scheduler_flags = [ \"flag-1\" ];\n"
	    "    check = { interval = 1.5e0; timeout = .5; rise = +2; };\n"
	    "  }\n"
	    ");\n");
	assert_string_equal(c->vs[0].name, "svc 12345678901 \"q\" 0x123456789");
	assert_int_equal(c->vs[0].svc.fwmark, 2147483648u);
	assert_true(c->vs[0].check.interval == 1.5);
	assert_true(c->vs[0].check.timeout == 0.5);
	assert_int_equal(c->vs[0].check.rise, 2);
}

/* ---- include_dir ------------------------------------------------------- */

#define INC_MAIN                                                               \
	"global = { include_dir = \"extlb.d\"; };\n"                           \
	"virtual_services = (\n"                                               \
	"  { name = \"main\"; vip = \"10.0.0.1\"; port = 80; }\n"              \
	");\n"

static void test_include_dir(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *vs;

	(void)state;
	fx_mkdir("extlb.d");
	fx_mkdir("extlb.d/sub.conf"); /* a directory: not a file to read */
	fx_write("extlb.d/20-b.conf",
		 "virtual_services = (\n"
		 "  { name = \"b\"; vip = \"10.0.0.3\"; port = 80;\n"
		 "    real_servers = ( { address = \"10.1.0.3\"; } ); }\n"
		 ");\n");
	fx_write("extlb.d/10-a.conf",
		 "# written by extlb-k8s\n"
		 "virtual_services = (\n"
		 "  { name = \"a\"; vip = \"10.0.0.2\"; port = 80; }\n"
		 ");\n");
	fx_write("extlb.d/.10-a.conf.swp", "not libconfig at all {{{\n");
	fx_write("extlb.d/.hidden.conf", "not libconfig at all {{{\n");
	fx_write("extlb.d/README", "not libconfig at all {{{\n");
	fx_write("extlb.d/30-c.conf.bak", "not libconfig at all {{{\n");
	c = fx_ok(INC_MAIN);
	assert_string_equal(c->include_dir, fx_path("extlb.d"));
	assert_int_equal(c->nfiles, 3);
	assert_string_equal(c->files[0], fx_path("extlb.conf"));
	assert_string_equal(c->files[1], fx_path("extlb.d/10-a.conf"));
	assert_string_equal(c->files[2], fx_path("extlb.d/20-b.conf"));
	assert_int_equal(c->nvs, 3);
	assert_string_equal(c->vs[0].name, "main");
	assert_string_equal(c->vs[1].name, "a");
	assert_string_equal(c->vs[2].name, "b");
	vs = &c->vs[2];
	assert_ptr_equal(vs->file, c->files[2]);
	assert_int_equal(vs->line, 2);
	assert_ptr_equal(vs->reals[0].file, c->files[2]);
	assert_int_equal(vs->reals[0].line, 3);
	assert_ptr_equal(c->vs[1].file, c->files[1]);
	assert_int_equal(c->vs[1].line, 3);
}

/* A reload with the configuration in force: reload(path) with fx.c as
 * prev; prev is freed after, as extlbd does. */
static struct xl_config *fx_reload(void)
{
	struct xl_config *c;

	/* a file written within the last 100 ms is read again whatever its
	 * stamp says (see stamp_recent in config.c): let them age */
	usleep(150 * 1000);

	xl_errors_free(&fx.errs);
	c = xl_config_reload(fx_path("extlb.conf"), fx.c, &fx.errs);
	if (!c)
		fx_print_errors();
	assert_non_null(c);
	xl_config_free(fx.c);
	fx.c = c;
	return c;
}

/* What extlbd and drain.c do with prev: compare it with the snapshot
 * they hold.  It reads through prev as well, so that a prev left pointing
 * at a freed snapshot is a heap-use-after-free under ASan, not a silent
 * false match. */
static bool follows(const struct xl_config *c, const struct xl_config *old)
{
	return c->prev && c->prev->nvs == old->nvs && c->prev == old;
}

/* Freeing a snapshot clears prev in every one that follows it, whatever
 * the order they are freed in, and however many follow it. */
static void test_prev_cleared_on_free(void **state)
{
	const char *text = VS_OPEN VIP VS_CLOSE;
	struct xl_config *a, *b, *c, *d;
	struct xl_errors errs = {0};

	(void)state;
	fx_write("extlb.conf", text);
	a = xl_config_load(fx_path("extlb.conf"), &errs);
	assert_non_null(a);
	b = xl_config_reload(fx_path("extlb.conf"), a, &errs);
	c = xl_config_reload(fx_path("extlb.conf"), a, &errs);
	d = xl_config_reload(fx_path("extlb.conf"), b, &errs);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_true(follows(b, a));
	assert_true(follows(c, a));
	assert_true(follows(d, b));

	/* a follower freed first leaves its prev's list */
	xl_config_free(c);
	/* the snapshot in force freed after a reload, as extlbd does */
	xl_config_free(a);
	assert_null(b->prev);
	assert_false(follows(b, a));
	/* the next one, allocated perhaps where a was, is not a */
	a = xl_config_load(fx_path("extlb.conf"), &errs);
	assert_non_null(a);
	assert_false(follows(b, a));
	/* a chain: d follows b, which no longer follows anything */
	assert_true(follows(d, b));
	xl_config_free(b);
	assert_null(d->prev);
	xl_config_free(d);
	xl_config_free(a);
	xl_errors_free(&errs);
}

/* The file replaced as editors and extlb-k8s do: a new inode. */
static void fx_replace(const char *name, const char *text)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%s.new", name);
	fx_write(tmp, text);
	assert_int_equal(rename(fx_path(tmp), fx_path(name)), 0);
}

#define INC_A                                                                  \
	"virtual_services = (\n"                                               \
	"  { name = \"a\"; vip = \"10.0.0.2\"; port = 80; scheduler = \"sh\";\n" \
	"    check = { type = \"http\"; path = \"/a\"; };\n"                    \
	"    real_servers = ( { address = \"10.1.0.2\"; weight = 3; },\n"      \
	"      { address = \"10.1.0.3\"; check = { type = \"none\"; }; } ); }\n" \
	");\n"
#define INC_B(w)                                                               \
	"virtual_services = (\n"                                               \
	"  { name = \"b\"; vip = \"10.0.0.3\"; port = 80;\n"                    \
	"    real_servers = ( { address = \"10.1.0.4\"; weight = " w "; } ); }\n" \
	");\n"

#define LINK_VS(name, ip, w, extra)                                            \
	"  { name = \"" name "\"; vip = \"" ip "\"; port = 80; " extra         \
	"    real_servers = ( { address = \"10.1.0.9\"; weight = " w "; } ); }"

/*
 * A reload names, for each service, the one of the previous snapshot it
 * equals in every setting: whatever file or order it comes in, and never
 * one that changed in any way (a weight, a check, the name).
 */
static void test_reload_links_unchanged(void **state)
{
	struct xl_config *old, *n;
	struct xl_errors errs = {0};
	const struct xl_vs_config *v;
	static const char *const absent = "10.0.0.99";
	struct xl_service key;

	(void)state;
	old = fx_ok("virtual_services = (\n" LINK_VS("a", "10.0.0.1", "1", "")
		    ",\n" LINK_VS("b", "10.0.0.2", "1", "")
		    ",\n" LINK_VS("c", "10.0.0.3", "1", "")
		    ",\n" LINK_VS("d", "10.0.0.4", "1", "")
		    ",\n" LINK_VS("e", "10.0.0.5", "1", "") ");\n");
	fx.c = NULL; /* ours now */
	fx_write("extlb.conf",
		 "virtual_services = (\n" LINK_VS("e2", "10.0.0.5", "1", "")
		 ",\n" LINK_VS("f", "10.0.0.6", "1", "")
		 ",\n" LINK_VS("d", "10.0.0.4", "1", "")
		 ",\n" LINK_VS("c", "10.0.0.3", "1",
				 "check = { type = \"http\"; };")
		 ",\n" LINK_VS("b", "10.0.0.2", "2", "")
		 ",\n" LINK_VS("a", "10.0.0.1", "1", "") ");\n");
	n = xl_config_reload(fx_path("extlb.conf"), old, &errs);
	assert_non_null(n);
	assert_ptr_equal(n->prev, old);
	assert_int_equal(n->nvs, 6);
	assert_int_equal(n->nsame, 2);
	/* a and d unchanged, wherever they moved */
	assert_int_equal(vs_named(n, "a")->prev, 0);
	assert_int_equal(vs_named(n, "d")->prev, 3);
	/* weight, check, name changed; f is new */
	assert_int_equal(vs_named(n, "b")->prev, XL_VS_NONE);
	assert_int_equal(vs_named(n, "c")->prev, XL_VS_NONE);
	assert_int_equal(vs_named(n, "e2")->prev, XL_VS_NONE);
	assert_int_equal(vs_named(n, "f")->prev, XL_VS_NONE);
	/* found by identity, in O(log n), and the index is sorted */
	for (size_t i = 0; i < n->nvs; i++) {
		v = xl_config_find(n, &n->vs[i].svc);
		assert_ptr_equal(v, &n->vs[i]);
		if (i)
			assert_true(xl_service_cmp(&n->vs[n->by_id[i - 1]].svc,
						   &n->vs[n->by_id[i]].svc) <
				    0);
	}
	key = n->vs[0].svc;
	assert_int_equal(xl_addr_parse(absent, &key.af, &key.addr), 0);
	assert_null(xl_config_find(n, &key));
	/* a first load has nothing to link to */
	assert_null(old->prev);
	for (size_t i = 0; i < old->nvs; i++)
		assert_int_equal(old->vs[i].prev, XL_VS_NONE);
	xl_config_free(old);
	xl_config_free(n);
	xl_errors_free(&errs);
}

/* Unchanged include files are not parsed again on reload, and what is
 * copied from the previous snapshot equals what a parse gives. */
static void test_include_reuse(void **state)
{
	const struct xl_config *c;
	const struct xl_vs_config *a;
	struct xl_config *fresh;
	struct xl_errors errs = {0};
	struct xl_table t1, t2;

	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/a.conf", INC_A);
	fx_write("extlb.d/b.conf", INC_B("1"));
	usleep(150 * 1000);
	c = fx_ok(INC_MAIN);
	assert_int_equal(c->nstamps, 2);
	assert_int_equal(c->nreused, 0);
	/* just written: read again, whatever the stamps say */
	fx_write("extlb.d/b.conf", INC_B("1"));
	xl_errors_free(&fx.errs);
	{
		struct xl_config *n = xl_config_reload(fx_path("extlb.conf"),
						       fx.c, &fx.errs);

		assert_non_null(n);
		assert_int_equal(n->nreused, 1);
		xl_config_free(fx.c);
		fx.c = n;
	}
	/* read once more, now that it has aged, and so reusable next time */
	c = fx_reload();
	assert_int_equal(c->nreused, 1);

	/* nothing changed: both reused, the same services, pointing into
	 * the new snapshot (the old one is freed by now) */
	c = fx_reload();
	assert_int_equal(c->nreused, 2);
	assert_int_equal(c->nvs, 3);
	a = vs_named(c, "a");
	assert_ptr_equal(a->file, c->files[1]);
	assert_ptr_equal(a->reals[1].file, c->files[1]);
	assert_int_equal(a->line, 2);
	assert_int_equal(a->reals[1].line, 5);
	assert_string_equal(a->svc.sched, "sh");
	assert_int_equal(a->svc.ndests, 2);
	assert_int_equal(a->svc.dests[0].weight, 3);
	assert_int_equal(a->check.type, XL_CHECK_HTTP);
	assert_string_equal(a->check.path, "/a");
	assert_string_equal(xl_rs_check(a, 0)->path, "/a");
	assert_int_equal(xl_rs_check(a, 1)->type, XL_CHECK_NONE);
	/* ... and equal to a fresh parse */
	fresh = xl_config_load(fx_path("extlb.conf"), &errs);
	assert_non_null(fresh);
	assert_int_equal(xl_config_table(c, &t1), 0);
	assert_int_equal(xl_config_table(fresh, &t2), 0);
	assert_int_equal(t1.nsvcs, t2.nsvcs);
	for (size_t i = 0; i < t1.nsvcs; i++) {
		assert_int_equal(xl_service_cmp(&t1.svcs[i], &t2.svcs[i]), 0);
		assert_true(xl_service_attrs_equal(&t1.svcs[i], &t2.svcs[i]));
		assert_int_equal(t1.svcs[i].ndests, t2.svcs[i].ndests);
		for (size_t j = 0; j < t1.svcs[i].ndests; j++)
			assert_true(xl_dest_attrs_equal(&t1.svcs[i].dests[j],
							&t2.svcs[i].dests[j]));
	}
	xl_table_free(&t1);
	xl_table_free(&t2);
	xl_config_free(fresh);

	/* one file replaced: that one is read, the other reused */
	fx_replace("extlb.d/b.conf", INC_B("7"));
	c = fx_reload();
	assert_int_equal(c->nreused, 1);
	assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 7);
	assert_string_equal(vs_named(c, "a")->check.path, "/a");

	/* edited in place, same size: the new mtime/ctime gives it away */
	fx_write("extlb.d/b.conf", INC_B("8"));
	c = fx_reload();
	assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 8);

	/* the global defaults the services inherit changed: all read */
	fx_write("extlb.conf",
		 "global = { include_dir = \"extlb.d\"; drain_timeout = 5; };\n"
		 "virtual_services = ( );\n");
	c = fx_reload();
	assert_int_equal(c->nreused, 0);
	assert_true(vs_named(c, "b")->drain_timeout == 5);

	/* a file gone, a file with an error: that file is refused alone,
	 * at each reload until it is fixed, and b is still reused */
	assert_int_equal(unlink(fx_path("extlb.d/a.conf")), 0);
	fx_write("extlb.d/c.conf", "virtual_services = ( { name = 1; } );\n");
	for (int i = 0; i < 2; i++) {
		c = fx_reload();
		assert_int_equal(c->nvs, 1);
		assert_int_equal(c->nrefused_files, 1);
		fx_expect_refused("extlb.d/c.conf", 1,
				  "wrong type for name: expected a string");
		fx_expect_refused("extlb.d/c.conf", 0, "refused (2 errors)");
	}
	assert_int_equal(c->nreused, 1);
	assert_int_equal(unlink(fx_path("extlb.d/c.conf")), 0);
	c = fx_reload();
	assert_int_equal(c->nvs, 1);
	assert_int_equal(c->nreused, 1);
	assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 8);

	/* a file that @includes another is read every time */
	fx_write("inc.part", "{ name = \"p\"; fwmark = 9; }\n");
	fx_write("extlb.d/p.conf", "virtual_services = (\n@include \"inc.part\"\n);\n");
	c = fx_reload();
	fx_write("inc.part", "{ name = \"p\"; fwmark = 10; }\n");
	c = fx_reload();
	assert_int_equal(c->nreused, 1); /* b only */
	assert_int_equal(vs_named(c, "p")->svc.fwmark, 10);

	/* a new file repeating a service, or a name, of one taken over:
	 * found as in a full parse, the first definition named, and those
	 * two refused alone (the third service of the file stands) */
	fx_write("extlb.d/z.conf",
		 "virtual_services = (\n"
		 "  { name = \"b\"; vip = \"10.0.0.9\"; port = 80; },\n"
		 "  { name = \"z\"; vip = \"10.0.0.3\"; port = 80; },\n"
		 "  { name = \"y\"; vip = \"10.0.0.4\"; port = 80; }\n);\n");
	for (int i = 0; i < 2; i++) {
		c = fx_reload();
		assert_int_equal(fx.errs.n, 0);
		assert_int_equal(c->nrefused_vs, 2);
		assert_int_equal(c->refused.n, 2);
		fx_expect_refused("extlb.d/z.conf", 2,
				  "duplicate virtual service name \"b\" (first "
				  "defined at");
		fx_expect_refused("extlb.d/z.conf", 3,
				  "duplicate virtual service TCP 10.0.0.3:80 "
				  "(first defined at");
		assert_int_equal(c->nvs, 3);
		assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 8);
		assert_int_equal(vs_named(c, "y")->line, 4);
		/* lookups follow the services that stayed */
		assert_ptr_equal(xl_config_find(c, &vs_named(c, "y")->svc),
				 vs_named(c, "y"));
	}
	assert_int_equal(unlink(fx_path("extlb.d/z.conf")), 0);
	c = fx_reload();
	assert_int_equal(c->nreused, 1);
	assert_int_equal(c->refused.n, 0);
}

/* More services than max_services: refused, naming the first one too many. */
static void test_max_services(void **state)
{
	const struct xl_config *c;

	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/a.conf",
		 "virtual_services = (\n"
		 "  { name = \"a\"; vip = \"10.0.0.2\"; port = 80; },\n"
		 "  { name = \"b\"; vip = \"10.0.0.3\"; port = 80; }\n"
		 ");\n");
	/* an include_dir file that would go over is refused alone */
	fx_write("extlb.d/0.conf",
		 "virtual_services = (\n"
		 "  { name = \"z\"; vip = \"10.0.0.9\"; port = 80; }\n"
		 ");\n");
	c = fx_ok_refused("global = { include_dir = \"extlb.d\"; "
			  "max_services = 2; };\n"
			  "virtual_services = (\n"
			  "  { name = \"main\"; vip = \"10.0.0.1\"; port = 80; }\n"
			  ");\n");
	assert_int_equal(c->nvs, 2);
	assert_string_equal(c->vs[1].name, "z");
	fx_expect_refused("extlb.d/a.conf", 0,
			  "its 2 virtual services would make 4 in all, more "
			  "than max_services = 2");
	assert_int_equal(unlink(fx_path("extlb.d/0.conf")), 0);
	/* the main file alone: it fails whole */
	fx_bad("global = { include_dir = \"extlb.d\"; max_services = 2; };\n"
	       "virtual_services = (\n"
	       "  { name = \"m1\"; vip = \"10.0.0.1\"; port = 80; },\n"
	       "  { name = \"m2\"; vip = \"10.0.0.1\"; port = 81; },\n"
	       "  { name = \"m3\"; vip = \"10.0.0.1\"; port = 82; }\n"
	       ");\n");
	fx_expect("extlb.conf", 5,
		  "virtual service 3: more than max_services = 2 (3 in all)");
	c = fx_ok("global = { include_dir = \"extlb.d\"; max_services = 3; };\n"
		  "virtual_services = (\n"
		  "  { name = \"main\"; vip = \"10.0.0.1\"; port = 80; }\n"
		  ");\n");
	assert_int_equal(c->nvs, 3);
	assert_int_equal(c->max_services, 3);
	c = fx_ok("virtual_services = ( );\n");
	assert_int_equal(c->max_services, 65536);
	fx_bad("global = { max_services = 0; };\n");
	fx_expect("extlb.conf", 1, "max_services: 0 is out of range");
}

/* libconfig's own @include works too; errors name the included file. */
static void test_libconfig_include(void **state)
{
	const struct xl_config *c;

	(void)state;
	fx_write("svc.inc", "{ name = \"inc\"; fwmark = 2; }\n");
	c = fx_ok("virtual_services = (\n"
		  "@include \"svc.inc\"\n"
		  ");\n");
	assert_int_equal(c->nvs, 1);
	assert_int_equal(c->nfiles, 2);
	assert_string_equal(c->files[1], fx_path("svc.inc"));
	assert_ptr_equal(c->vs[0].file, c->files[1]);
	assert_int_equal(c->vs[0].line, 1);

	fx_write("svc.inc", "\n{ name = \"inc\"; fwmark = 0; }\n");
	fx_bad("virtual_services = (\n"
	       "@include \"svc.inc\"\n"
	       ");\n");
	fx_expect("svc.inc", 2, "fwmark: 0 is out of range 1-4294967295");
}

static void test_include_dir_missing(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok(INC_MAIN);
	assert_int_equal(c->nvs, 1);
	assert_int_equal(c->nfiles, 1);
	assert_string_equal(c->include_dir, fx_path("extlb.d"));
}

static void test_include_dir_watched(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok("global = { include_dir = \"extlb.d\"; "
		  "watch_include_dir = true; };\n");
	assert_true(c->watch_include_dir);
	assert_string_equal(c->include_dir, fx_path("extlb.d"));
	c = fx_ok("global = { watch_include_dir = false; };\n");
	assert_false(c->watch_include_dir);
}

static void test_include_dir_absolute(void **state)
{
	char text[PATH_MAX + 128];
	const struct xl_config *c;

	(void)state;
	fx_mkdir("abs.d");
	fx_write("abs.d/x.conf",
		 "virtual_services = ( { name = \"x\"; fwmark = 1; } );\n");
	snprintf(text, sizeof(text), "global = { include_dir = \"%s\"; };\n",
		 fx_path("abs.d"));
	c = fx_ok(text);
	assert_int_equal(c->nvs, 1);
	assert_string_equal(c->files[1], fx_path("abs.d/x.conf"));
}

/* ---- tables and helpers ----------------------------------------------- */

static void test_config_table(void **state)
{
	const struct xl_config *c;
	struct xl_table t;

	(void)state;
	c = fx_ok("virtual_services = (\n"
		  "  { name = \"z\"; vip = \"10.0.0.9\"; port = 80;\n"
		  "    real_servers = ( { address = \"10.1.0.9\"; },\n"
		  "                     { address = \"10.1.0.1\"; } ); },\n"
		  "  { name = \"y\"; fwmark = 3; },\n"
		  "  { name = \"x\"; vip = \"10.0.0.1\"; port = 80; }\n"
		  ");\n");
	assert_int_equal(xl_config_table(c, &t), 0);
	assert_int_equal(t.nsvcs, 3);
	assert_svc(&t.svcs[0], "TCP 10.0.0.1:80");
	assert_svc(&t.svcs[1], "TCP 10.0.0.9:80");
	assert_svc(&t.svcs[2], "FWM 3 (inet)");
	assert_int_equal(t.svcs[1].ndests, 2);
	assert_dest(&t.svcs[1].dests[0], "10.1.0.1:80");
	assert_dest(&t.svcs[1].dests[1], "10.1.0.9:80");
	assert_ptr_not_equal(t.svcs[1].dests, c->vs[0].svc.dests);
	/* the snapshot keeps its own order: dests[i] is reals[i] */
	assert_dest(&c->vs[0].svc.dests[0], "10.1.0.9:80");
	assert_int_equal(xl_table_objects(&t), 5);
	xl_table_free(&t);

	c = fx_ok("");
	assert_int_equal(xl_config_table(c, &t), 0);
	assert_int_equal(t.nsvcs, 0);
	xl_table_free(&t);
}

static void test_check_type_name(void **state)
{
	(void)state;
	assert_string_equal(xl_check_type_name(XL_CHECK_TCP), "tcp");
	assert_string_equal(xl_check_type_name(XL_CHECK_HTTP), "http");
	assert_string_equal(xl_check_type_name(XL_CHECK_HTTPS), "https");
	assert_string_equal(xl_check_type_name(XL_CHECK_UDP), "udp");
	assert_string_equal(xl_check_type_name(XL_CHECK_SCRIPT), "script");
	assert_string_equal(xl_check_type_name(XL_CHECK_NONE), "none");
}

static void test_errors_list(void **state)
{
	struct xl_errors e = {0};
	char want[32];

	(void)state;
	xl_errors_add(&e, "a.conf", 3, "bad %s", "thing");
	xl_errors_add(&e, "a.conf", 0, "cannot read");
	xl_errors_add(&e, NULL, 0, "out of memory");
	for (int i = 0; i < 200; i++)
		xl_errors_add(&e, "b.conf", i + 1, "n%d", i);
	assert_int_equal(e.n, 203);
	assert_string_equal(e.msgs[0], "a.conf:3: bad thing");
	assert_string_equal(e.msgs[1], "a.conf: cannot read");
	assert_string_equal(e.msgs[2], "out of memory");
	snprintf(want, sizeof(want), "b.conf:200: n199");
	assert_string_equal(e.msgs[202], want);
	xl_errors_free(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.msgs);
	xl_errors_free(&e);
}

/* Every problem of a file is reported by one load, not just the first. */
static void test_all_errors_reported(void **state)
{
	(void)state;
	fx_bad("global = { log_level = \"loud\"; };\n"
	       "virtual_services = (\n"
	       "  { name = \"a\"; vip = \"10.0.0.1\"; port = 70000; },\n"
	       "  { name = \"b\"; vip = \"10.0.0.2\"; port = 80;\n"
	       "    real_servers = ( { address = \"10.1.0.1\"; wieght = 2; },\n"
	       "                     { address = \"10.1.0.300\"; } ); },\n"
	       "  { name = \"b\"; vip = \"10.0.0.2\"; port = 80; }\n"
	       ");\n");
	fx_expect("extlb.conf", 1, "log_level: \"loud\" is not one of");
	fx_expect("extlb.conf", 3, "port: 70000 is out of range 1-65535");
	fx_expect("extlb.conf", 5, "unknown key \"wieght\" in real server");
	fx_expect("extlb.conf", 6,
		  "address: \"10.1.0.300\" is not an IPv4 or IPv6 address");
	fx_expect("extlb.conf", 7, "duplicate virtual service TCP 10.0.0.2:80");
	fx_expect("extlb.conf", 7, "duplicate virtual service name \"b\"");
	assert_int_equal(fx.errs.n, 6);
}

/* A script check without a command is reported once, where type was set. */
static void test_script_reported_once(void **state)
{
	(void)state;
	fx_bad("global = {\n"
	       "  check = { type = \"script\"; };\n"
	       "};\n"
	       "virtual_services = (\n"
	       "  { name = \"a\"; vip = \"10.0.0.1\"; port = 80;\n"
	       "    real_servers = ( { address = \"10.1.0.1\"; },\n"
	       "                     { address = \"10.1.0.2\"; } ); },\n"
	       "  { name = \"b\"; vip = \"10.0.0.2\"; port = 80; }\n"
	       ");\n");
	fx_expect("extlb.conf", 2, "check type \"script\" needs a command");
	assert_int_equal(fx.errs.n, 1);
}

static void test_missing_file(void **state)
{
	(void)state;
	assert_null(fx_load_path(fx_path("nope.conf")));
	fx_expect("nope.conf", 0, "cannot read: No such file or directory");
}

/*
 * The main file is root's: read through a symlink (configuration managers
 * link it into place) and whatever its size, unlike an include_dir file;
 * a directory in its place is an error at that path.
 */
static void test_main_file_read(void **state)
{
	const char *real = fx_write("real.conf",
				    "virtual_services = (\n"
				    "  { name = \"a\"; vip = \"10.0.0.1\"; "
				    "port = 80; }\n"
				    ");\n");
	const char *link = fx_path("extlb.conf");
	struct xl_config *c;

	(void)state;
	assert_int_equal(symlink(real, link), 0);
	c = fx_load_path(link);
	if (!c)
		fx_print_errors();
	assert_non_null(c);
	assert_int_equal(c->nvs, 1);
	assert_string_equal(c->vs[0].name, "a");

	fx_mkdir("dir.conf");
	assert_null(fx_load_path(fx_path("dir.conf")));
	fx_expect("dir.conf", 0, "cannot read: Is a directory");
}

/* ---- every validation error, with its exact message ------------------- */

struct err_case {
	const char *name;
	const char *conf; /* DIR/extlb.conf */
	const char *incl; /* DIR/extlb.d/50-more.conf, when set */
	const char *file; /* where the error is: NULL means extlb.conf */
	int line;
	const char *msg; /* the error must start with this */
};

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X4096 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 \
	X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 \
	X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 \
	X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64
#define X4097 X4096 "x"

#define INC_HEAD "global = { include_dir = \"extlb.d\"; };\n"
#define INC_FILE "extlb.d/50-more.conf"

/* One row per case; the messages are kept whole, to be grepped. */
/* clang-format off */
static const struct err_case err_cases[] = {
	/* syntax and top level */
	{ "syntax error", "virtual_services = (\n{ name = ;\n}\n);\n", NULL,
	  NULL, 2, "syntax error" },
	{ "string never closed", "virtual_services = (\n  { name = \"a # not a comment\n    fwmark = 1; }\n);\n",
	  NULL, NULL, 2, "a string starts here and is never closed with \"" },
	{ "string never closed, after an escaped quote", "# \"in a comment\"\n/* \" */ virtual_services = (\n  { name = \"a\\\"; fwmark = 1; }\n);\n",
	  NULL, NULL, 3, "a string starts here and is never closed with \"" },
	{ "string too long", "virtual_services = (\n  { name = \"a\"; fwmark = 1;\n    check = { type = \"udp\"; send = \"" X4097 "\"; }; }\n);\n",
	  NULL, NULL, 3, "a string of more than 4096 bytes starts here" },
	{ "duplicate key", VS_OPEN VIP "  name = \"again\";\n" VS_CLOSE, NULL,
	  NULL, 5, "duplicate setting name" },
	{ "unknown top-level key", "\nglobl = { };\n", NULL, NULL, 2,
	  "unknown key \"globl\" at top level (known: global, virtual_services)" },
	{ "global not a group", "global = 5;\n", NULL, NULL, 1,
	  "wrong type for global: expected a group, got an integer" },
	{ "virtual_services not a list", "virtual_services = { };\n", NULL,
	  NULL, 1,
	  "wrong type for virtual_services: expected a list, got a group" },
	{ "service not a group", "virtual_services = (\n  5\n);\n", NULL,
	  NULL, 2,
	  "virtual_services: entry 1 is an integer, expected a group" },

	/* global */
	{ "unknown key in global", "global = {\n  loglevel = \"info\";\n};\n",
	  NULL, NULL, 2,
	  "unknown key \"loglevel\" in global (known: log_level, include_dir, owns_all, on_stop, resync_interval, drain_timeout, check, max_services, watch_include_dir, ipvs_timeouts, ipvs_sysctls, vip_interface, announce, snat, snat_address, control_socket, control_group, metrics_listen, metrics_servers, log_down_interval, log_progress_interval, state_dir)" },
	{ "bad log_level", "global = { log_level = \"verbose\"; };\n", NULL,
	  NULL, 1,
	  "log_level: \"verbose\" is not one of \"error\", \"warning\", \"info\", \"debug\"" },
	{ "bad on_stop", "global = {\n on_stop = \"flush\"; };\n", NULL, NULL,
	  2, "on_stop: \"flush\" is not one of \"keep\", \"remove\"" },
	{ "control_socket relative", "global = {\n control_socket = \"run/x.sock\"; };\n",
	  NULL, NULL, 2,
	  "control_socket: \"run/x.sock\" is not an absolute path (or \"\" for no control socket)" },
	{ "control_socket too long", "global = {\n control_socket = \"/" X64 X64 "\"; };\n",
	  NULL, NULL, 2,
	  "control_socket: longer than a unix socket path may be (107 bytes)" },
	{ "control_group unknown", "global = {\n\n control_group = \"no-such-group-xl\"; };\n",
	  NULL, NULL, 3,
	  "control_group: no group \"no-such-group-xl\" on this system (getent group no-such-group-xl)" },
	{ "control_group without a socket", "global = {\n control_socket = \"\";\n control_group = \"root\"; };\n",
	  NULL, NULL, 3,
	  "control_group needs a control socket (control_socket is \"\")" },
	{ "vip_interface too long", "global = {\n vip_interface = \"extlb0123456789x\"; };\n",
	  NULL, NULL, 2,
	  "vip_interface: \"extlb0123456789x\" is not an interface name (1-15 bytes, no '/', ':' or white space, not \".\" or \"..\")" },
	{ "vip_interface empty", "global = { vip_interface = \"\"; };\n", NULL,
	  NULL, 1, "vip_interface: \"\" is not an interface name" },
	{ "vip_interface with a slash", "global = { vip_interface = \"a/b\"; };\n",
	  NULL, NULL, 1, "vip_interface: \"a/b\" is not an interface name" },
	{ "vip_interface with a colon", "global = { vip_interface = \"eth0:1\"; };\n",
	  NULL, NULL, 1, "vip_interface: \"eth0:1\" is not an interface name" },
	{ "vip_interface with a space", "global = { vip_interface = \"ext lb\"; };\n",
	  NULL, NULL, 1, "vip_interface: \"ext lb\" is not an interface name" },
	{ "vip_interface dot", "global = { vip_interface = \".\"; };\n", NULL,
	  NULL, 1, "vip_interface: \".\" is not an interface name" },
	{ "metrics_listen without a port", "global = {\n metrics_listen = \"127.0.0.1\"; };\n",
	  NULL, NULL, 2,
	  "metrics_listen: \"127.0.0.1\" is not ADDRESS:PORT (\"127.0.0.1:9475\", \"[::1]:9475\")" },
	{ "metrics_listen port 0", "global = { metrics_listen = \"127.0.0.1:0\"; };\n",
	  NULL, NULL, 1, "metrics_listen: \"127.0.0.1:0\" has no port in 1-65535" },
	{ "metrics_listen port too big", "global = { metrics_listen = \"[::1]:65536\"; };\n",
	  NULL, NULL, 1, "metrics_listen: \"[::1]:65536\" has no port in 1-65535" },
	{ "metrics_listen a host name", "global = { metrics_listen = \"localhost:9475\"; };\n",
	  NULL, NULL, 1, "metrics_listen: \"localhost:9475\" is not an IPv4 or IPv6 address" },
	{ "metrics_listen IPv6 without brackets", "global = { metrics_listen = \"::1:9475\"; };\n",
	  NULL, NULL, 1, "metrics_listen: \"::1:9475\" is not ADDRESS:PORT" },
	{ "metrics_listen not a string", "global = { metrics_listen = 9475; };\n",
	  NULL, NULL, 1, "wrong type for metrics_listen" },
	{ "metrics_servers unknown", "global = {\n metrics_servers = \"some\"; };\n",
	  NULL, NULL, 2, "metrics_servers: \"some\" is not one of \"all\", \"state\", \"none\"" },
	{ "vip_interface dot dot", "global = { vip_interface = \"..\"; };\n",
	  NULL, NULL, 1, "vip_interface: \"..\" is not an interface name" },
	{ "vip_interface not a string", "global = { vip_interface = 0; };\n",
	  NULL, NULL, 1,
	  "wrong type for vip_interface: expected a string, got an integer" },
	{ "bad global announce", "global = {\n\n announce = \"bgp\"; };\n", NULL,
	  NULL, 3, "announce: \"bgp\" is not one of \"always\", \"quorum\"" },
	{ "bad service announce", "virtual_services = (\n  { name = \"a\"; fwmark = 1;\n    announce = \"never\"; }\n);\n",
	  NULL, NULL, 3, "announce: \"never\" is not one of \"always\", \"quorum\"" },
	{ "owns_all not a bool", "global = { owns_all = \"yes\"; };\n", NULL,
	  NULL, 1, "wrong type for owns_all: expected a boolean, got a string" },
	{ "resync_interval 0", "global = { resync_interval = 0; };\n", NULL,
	  NULL, 1,
	  "resync_interval: 0 is out of range: must be more than 0 and at most 86400 seconds" },
	{ "drain_timeout negative", "global = { drain_timeout = -1; };\n",
	  NULL, NULL, 1,
	  "drain_timeout: -1 is out of range: must be at least 0 and at most 31536000 seconds" },
	{ "ipvs_timeouts not a group", "global = {\n  ipvs_timeouts = 900; };\n",
	  NULL, NULL, 2,
	  "wrong type for ipvs_timeouts: expected a group, got an integer" },
	{ "unknown key in ipvs_timeouts", "global = { ipvs_timeouts = {\n  tcp = 900;\n  tcpfin = 30; }; };\n",
	  NULL, NULL, 3,
	  "unknown key \"tcpfin\" in ipvs_timeouts (known: tcp, tcp_fin, udp)" },
	{ "ipvs_timeouts tcp 0", "global = { ipvs_timeouts = {\n  tcp = 0; }; };\n",
	  NULL, NULL, 2, "tcp: 0 is out of range 1-2147483" },
	{ "ipvs_timeouts udp too large", "global = { ipvs_timeouts = {\n\n  udp = 2147484; }; };\n",
	  NULL, NULL, 3, "udp: 2147484 is out of range 1-2147483" },
	{ "ipvs_timeouts not whole seconds", "global = { ipvs_timeouts = {\n  tcp_fin = 1.5; }; };\n",
	  NULL, NULL, 2,
	  "wrong type for tcp_fin: expected an integer, got a floating-point number" },
	{ "ipvs_sysctls not a group", "global = { ipvs_sysctls = ( 1 ); };\n",
	  NULL, NULL, 1,
	  "wrong type for ipvs_sysctls: expected a group, got a list" },
	{ "unknown key in ipvs_sysctls", "global = { ipvs_sysctls = {\n  conntrack = true;\n  nodest_conn = 1; }; };\n",
	  NULL, NULL, 3,
	  "unknown key \"nodest_conn\" in ipvs_sysctls (known: am_droprate, amemthresh, backup_only, cache_bypass, conn_reuse_mode, conntrack, drop_entry, drop_packet, expire_nodest_conn, expire_quiescent_template, ignore_tunneled, nat_icmp_send, pmtu_disc, run_estimation, schedule_icmp, secure_tcp, sloppy_sctp, sloppy_tcp, snat_reroute)" },
	{ "ipvs_sysctls bool out of range", "global = { ipvs_sysctls = {\n  conntrack = 2; }; };\n",
	  NULL, NULL, 2, "conntrack: 2 is out of range 0-1" },
	{ "ipvs_sysctls bool a string", "global = { ipvs_sysctls = {\n  expire_nodest_conn = \"yes\"; }; };\n",
	  NULL, NULL, 2,
	  "wrong type for expire_nodest_conn: expected a boolean (or 0 or 1), got a string" },
	{ "ipvs_sysctls conn_reuse_mode 4", "global = { ipvs_sysctls = {\n  conn_reuse_mode = 4; }; };\n",
	  NULL, NULL, 2, "conn_reuse_mode: 4 is out of range 0-3" },
	{ "ipvs_sysctls secure_tcp negative", "global = { ipvs_sysctls = {\n  secure_tcp = -1; }; };\n",
	  NULL, NULL, 2, "secure_tcp: -1 is out of range 0-3" },
	{ "ipvs_sysctls amemthresh a bool", "global = { ipvs_sysctls = {\n  amemthresh = true; }; };\n",
	  NULL, NULL, 2,
	  "wrong type for amemthresh: expected an integer, got a boolean" },
	{ "ipvs_sysctls amemthresh too large", "global = { ipvs_sysctls = {\n  amemthresh = 2147483648; }; };\n",
	  NULL, NULL, 2, "amemthresh: 2147483648 is out of range 0-2147483647" },
	{ "include_dir not a string", "global = { include_dir = 5; };\n", NULL,
	  NULL, 1, "wrong type for include_dir: expected a string, got an integer" },
	{ "include_dir empty", "global = { include_dir = \"\"; };\n", NULL,
	  NULL, 1, "include_dir: must not be empty" },
	{ "watch_include_dir not a bool",
	  "global = { include_dir = \"d\"; watch_include_dir = 1; };\n", NULL,
	  NULL, 1,
	  "wrong type for watch_include_dir: expected a boolean, got an integer" },
	{ "watch_include_dir without include_dir",
	  "global = {\n  watch_include_dir = true;\n};\n", NULL, NULL, 2,
	  "watch_include_dir = true needs include_dir (the directory to watch)" },
	{ "check not a group", "global = { check = \"tcp\"; };\n", NULL, NULL,
	  1, "wrong type for check: expected a group, got a string" },

	/* virtual service */
	{ "unknown key in service", VS_OPEN VIP "  schedular = \"rr\";\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "unknown key \"schedular\" in virtual service (known: name, vip, port, protocol, fwmark, family, scheduler, scheduler_flags, forward, tunnel, persistence_timeout, persistence_netmask, one_packet, real_servers, drain_timeout, inhibit_on_failure, sorry_server, quorum, check, announce, snat, snat_address, allowed_sources)" },
	{ "no name", "virtual_services = (\n{\n" VIP "}\n);\n", NULL, NULL, 2,
	  "virtual service has no name (required)" },
	{ "empty name", "virtual_services = (\n{ name = \"\";\n" VIP "}\n);\n",
	  NULL, NULL, 2, "name: must be non-empty and on one line" },
	{ "name not a string",
	  "virtual_services = (\n{ name = 5;\n" VIP "}\n);\n", NULL, NULL, 2,
	  "wrong type for name: expected a string, got an integer" },
	{ "bad vip", VS_OPEN "  vip = \"192.168.10.300\";\n  port = 80;\n" VS_CLOSE,
	  NULL, NULL, 4,
	  "vip: \"192.168.10.300\" is not an IPv4 or IPv6 address" },
	{ "vip without port", VS_OPEN "  vip = \"192.168.10.100\";\n" VS_CLOSE,
	  NULL, NULL, 2,
	  "virtual service with a vip needs a port (1-65535)" },
	{ "port out of range", VS_OPEN "  vip = \"192.168.10.100\";\n  port = 70000;\n" VS_CLOSE,
	  NULL, NULL, 5, "port: 70000 is out of range 1-65535" },
	{ "port 0", VS_OPEN "  vip = \"192.168.10.100\";\n  port = 0;\n" VS_CLOSE,
	  NULL, NULL, 5, "port: 0 is out of range 1-65535" },
	{ "port beyond 32 bits", VS_OPEN "  vip = \"192.168.10.100\";\n  port = 4294967376;\n" VS_CLOSE,
	  NULL, NULL, 5, "port: 4294967376 is out of range 1-65535" },
	{ "port float", VS_OPEN "  vip = \"192.168.10.100\";\n  port = 80.0;\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for port: expected an integer, got a floating-point number" },
	{ "bad protocol", VS_OPEN VIP "  protocol = \"icmp\";\n" VS_CLOSE, NULL,
	  NULL, 5,
	  "protocol: \"icmp\" is not one of \"tcp\", \"udp\", \"sctp\"" },
	{ "vip and fwmark", VS_OPEN VIP "  fwmark = 3;\n" VS_CLOSE, NULL, NULL,
	  5, "virtual service has both vip and fwmark" },
	{ "neither vip nor fwmark", VS_OPEN "  scheduler = \"rr\";\n" VS_CLOSE,
	  NULL, NULL, 2,
	  "virtual service needs either a vip (with port and protocol) or a fwmark" },
	{ "family with vip", VS_OPEN VIP "  family = \"inet\";\n" VS_CLOSE, NULL,
	  NULL, 5, "family is only for fwmark services" },
	{ "fwmark 0", VS_OPEN "  fwmark = 0;\n" VS_CLOSE, NULL, NULL, 4,
	  "fwmark: 0 is out of range 1-4294967295" },
	{ "fwmark beyond 32 bits", VS_OPEN "  fwmark = 4294967296;\n" VS_CLOSE,
	  NULL, NULL, 4, "fwmark: 4294967296 is out of range 1-4294967295" },
	{ "fwmark hex beyond 32 bits", VS_OPEN "  fwmark = 0x100000000;\n" VS_CLOSE,
	  NULL, NULL, 4, "fwmark: 4294967296 is out of range 1-4294967295" },
	{ "bad family", VS_OPEN "  fwmark = 1;\n  family = \"inet4\";\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "family: \"inet4\" is not one of \"inet\", \"inet6\"" },
	{ "port with fwmark", VS_OPEN "  fwmark = 1;\n  port = 80;\n" VS_CLOSE,
	  NULL, NULL, 5, "port is not used with fwmark" },
	{ "protocol with fwmark", VS_OPEN "  fwmark = 1;\n  protocol = \"udp\";\n" VS_CLOSE,
	  NULL, NULL, 5, "protocol is not used with fwmark" },
	{ "bad scheduler name", VS_OPEN VIP "  scheduler = \"Round Robin\";\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "scheduler: \"Round Robin\" is not a scheduler name (1-15 characters of a-z, 0-9, _)" },
	{ "scheduler too long", VS_OPEN VIP "  scheduler = \"abcdefghijklmnop\";\n" VS_CLOSE,
	  NULL, NULL, 5, "scheduler: \"abcdefghijklmnop\" is not a scheduler name" },
	{ "scheduler empty", VS_OPEN VIP "  scheduler = \"\";\n" VS_CLOSE, NULL,
	  NULL, 5, "scheduler: \"\" is not a scheduler name" },
	{ "sh flag on rr", VS_OPEN VIP "  scheduler = \"rr\";\n  scheduler_flags = [\n    \"sh-port\" ];\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "scheduler_flags: \"sh-port\" needs scheduler \"sh\" (scheduler is \"rr\")" },
	{ "mh flag on default", VS_OPEN VIP "  scheduler_flags = [ \"mh-fallback\" ];\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "scheduler_flags: \"mh-fallback\" needs scheduler \"mh\" (scheduler is \"wlc\")" },
	{ "sh flag on mh", VS_OPEN VIP "  scheduler = \"mh\"; scheduler_flags = [ \"sh-fallback\" ];\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "scheduler_flags: \"sh-fallback\" needs scheduler \"sh\" (scheduler is \"mh\")" },
	{ "unknown scheduler flag", VS_OPEN VIP "  scheduler_flags = [ \"flag-4\" ];\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "scheduler_flags: unknown flag \"flag-4\" (known: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)" },
	{ "scheduler flag not a string", VS_OPEN VIP "  scheduler_flags = [ 1 ];\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for scheduler_flags entry: expected a string, got an integer" },
	{ "scheduler_flags a string", VS_OPEN VIP "  scheduler_flags = \"sh-port\";\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for scheduler_flags: expected a list, got a string" },
	{ "bad forward", VS_OPEN VIP "  forward = \"masq\";\n" VS_CLOSE, NULL,
	  NULL, 5, "forward: \"masq\" is not one of \"nat\", \"dr\", \"tun\"" },
	{ "one_packet on tcp", VS_OPEN VIP "  one_packet = true;\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "one_packet is only for udp or fwmark services (protocol is \"tcp\")" },
	{ "one_packet on sctp", VS_OPEN VIP "  protocol = \"sctp\";\n  one_packet = true;\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "one_packet is only for udp or fwmark services (protocol is \"sctp\")" },
	{ "persistence_timeout too long", VS_OPEN VIP "  persistence_timeout = 31536001;\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "persistence_timeout: 31536001 is out of range 0-31536000" },
	{ "netmask without persistence", VS_OPEN VIP "  persistence_netmask = 24;\n" VS_CLOSE,
	  NULL, NULL, 5, "persistence_netmask needs persistence_timeout > 0" },
	{ "netmask with persistence 0", VS_OPEN VIP "  persistence_timeout = 0;\n  persistence_netmask = 24;\n" VS_CLOSE,
	  NULL, NULL, 6, "persistence_netmask needs persistence_timeout > 0" },
	{ "netmask not contiguous", VS_OPEN VIP "  persistence_timeout = 60;\n  persistence_netmask = \"255.0.255.0\";\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "persistence_netmask: \"255.0.255.0\" is not a contiguous IPv4 netmask like \"255.255.255.0\"" },
	{ "netmask not an address", VS_OPEN VIP "  persistence_timeout = 60;\n  persistence_netmask = \"/24\";\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "persistence_netmask: \"/24\" is not a contiguous IPv4 netmask" },
	{ "v4 prefix 33", VS_OPEN VIP "  persistence_timeout = 60;\n  persistence_netmask = 33;\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "persistence_netmask: 33 is out of range 0-32 (an IPv4 prefix length)" },
	{ "v6 prefix 0", VS_OPEN "  vip = \"2001:db8::1\"; port = 80;\n  persistence_timeout = 60;\n  persistence_netmask = 0;\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "persistence_netmask: 0 is out of range 1-128 (an IPv6 prefix length)" },
	{ "v6 prefix 129", VS_OPEN "  vip = \"2001:db8::1\"; port = 80;\n  persistence_timeout = 60;\n  persistence_netmask = 129;\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "persistence_netmask: 129 is out of range 1-128" },
	{ "v6 netmask string", VS_OPEN "  fwmark = 9; family = \"inet6\";\n  persistence_timeout = 60;\n  persistence_netmask = \"ffff:ffff::\";\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "persistence_netmask: an IPv6 service takes a prefix length 1-128, not \"ffff:ffff::\"" },
	{ "netmask a bool", VS_OPEN VIP "  persistence_timeout = 60;\n  persistence_netmask = true;\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "wrong type for persistence_netmask: expected a string or an integer, got a boolean" },
	{ "quorum negative", VS_OPEN VIP "  quorum = -1;\n" VS_CLOSE, NULL, NULL,
	  5, "quorum: -1 is out of range 0-4294967295" },
	{ "inhibit not a bool", VS_OPEN VIP "  inhibit_on_failure = 1;\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for inhibit_on_failure: expected a boolean, got an integer" },
	{ "real_servers a group", VS_OPEN VIP "  real_servers = { address = \"10.1.0.1\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for real_servers: expected a list, got a group" },
	{ "real server not a group", VS_OPEN VIP "  real_servers = (\n    \"10.1.0.1\" );\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "real_servers: entry 1 is a string, expected a group" },

	/* tunnel */
	{ "tunnel without tun", VS_OPEN VIP "  forward = \"dr\";\n  tunnel = { type = \"gue\"; port = 6080; };\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "tunnel is only used with forward \"tun\" (forward is \"dr\")" },
	{ "tunnel with default nat", VS_OPEN VIP "  tunnel = { type = \"ipip\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "tunnel is only used with forward \"tun\" (forward is \"nat\")" },
	{ "unknown key in tunnel", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = {\n    kind = \"gue\"; };\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "unknown key \"kind\" in tunnel (known: type, port, checksum)" },
	{ "bad tunnel type", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = { type = \"vxlan\"; };\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "type: \"vxlan\" is not one of \"ipip\", \"gue\", \"gre\"" },
	{ "gue without port", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = { type = \"gue\"; };\n" VS_CLOSE,
	  NULL, NULL, 6, "tunnel type \"gue\" needs a port" },
	{ "port with ipip", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = {\n    port = 6080; };\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "tunnel port is only used with type \"gue\" (type is \"ipip\")" },
	{ "port with gre", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = { type = \"gre\";\n    port = 6080; };\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "tunnel port is only used with type \"gue\" (type is \"gre\")" },
	{ "gue port 0", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = { type = \"gue\";\n    port = 0; };\n" VS_CLOSE,
	  NULL, NULL, 7, "port: 0 is out of range 1-65535" },
	{ "remcsum with gre", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = { type = \"gre\";\n    checksum = \"remcsum\"; };\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "tunnel checksum \"remcsum\" needs type \"gue\" (type is \"gre\")" },
	{ "csum with ipip", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = {\n    checksum = \"csum\"; };\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "tunnel checksum \"csum\" needs type \"gue\" or \"gre\"" },
	{ "bad checksum", VS_OPEN VIP "  forward = \"tun\";\n  tunnel = { checksum = \"crc\"; };\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "checksum: \"crc\" is not one of \"none\", \"csum\", \"remcsum\"" },

	/* real servers */
	{ "unknown key in real server", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\";\n      wieght = 2; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "unknown key \"wieght\" in real server (known: address, port, weight, upper_threshold, lower_threshold, check)" },
	{ "real server without address", VS_OPEN VIP "  real_servers = (\n    { port = 80; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6, "real server has no address (required)" },
	{ "bad real address", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0\"; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6, "address: \"10.1.0\" is not an IPv4 or IPv6 address" },
	{ "weight a string", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\";\n      weight = \"1\"; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "wrong type for weight: expected an integer, got a string" },
	{ "weight out of range", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\"; weight = 65536; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6, "weight: 65536 is out of range 0-65535" },
	{ "real port out of range", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\"; port = -1; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6, "port: -1 is out of range 0-65535" },
	{ "upper_threshold too big", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\"; upper_threshold = 2147483648; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "upper_threshold: 2147483648 is out of range 0-2147483647" },
	{ "lower above upper", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\"; upper_threshold = 10;\n      lower_threshold = 20; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "lower_threshold 20 is above upper_threshold 10" },
	{ "lower without upper", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\";\n      lower_threshold = 20; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "lower_threshold needs an upper_threshold above 0" },
	{ "duplicate real server", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\"; },\n    { address = \"10.1.0.2\"; },\n    { address = \"10.1.0.1\"; port = 8000; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 8,
	  "duplicate real server 10.1.0.1:8000 (first defined at " },
	{ "v6 real server on v4 nat", VS_OPEN VIP "  real_servers = (\n    { address = \"2001:db8::5\"; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "address 2001:db8::5 is IPv6 but the service is IPv4: IPVS mixes address families only with forward \"tun\"" },
	{ "v4 real server on v6 dr", VS_OPEN "  vip = \"2001:db8::1\"; port = 80; forward = \"dr\";\n  real_servers = (\n    { address = \"10.1.0.1\"; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "address 10.1.0.1 is IPv4 but the service is IPv6: IPVS mixes address families only with forward \"tun\"" },
	{ "v6 real server on v4 fwmark", VS_OPEN "  fwmark = 5;\n  real_servers = ( { address = \"2001:db8::5\"; } );\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "address 2001:db8::5 is IPv6 but the service is IPv4" },
	{ "dr port mismatch", VS_OPEN VIP "  forward = \"dr\";\n  real_servers = (\n    { address = \"10.1.0.1\"; port = 80; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "port 80 differs from the service port 8000: with forward \"dr\" IPVS forwards traffic to the service port (omit port or set 8000)" },
	{ "tun port mismatch", VS_OPEN VIP "  forward = \"tun\";\n  real_servers = (\n    { address = \"10.1.0.1\"; port = 80; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7,
	  "port 80 differs from the service port 8000: with forward \"tun\"" },
	{ "dr fwmark port", VS_OPEN "  fwmark = 5; forward = \"dr\";\n  real_servers = (\n    { address = \"10.1.0.1\"; port = 80; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "port 80: with forward \"dr\" IPVS forwards traffic to the port the client used" },

	/* snat, snat_address, allowed_sources */
	{ "snat on dr", VS_OPEN VIP "  forward = \"dr\";\n  snat = true;\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "snat needs forward = \"nat\" (forward is \"dr\")" },
	{ "snat on fwmark", VS_OPEN "  fwmark = 5;\n  snat = true;\n" VS_CLOSE,
	  NULL, NULL, 5, "snat is only for vip services" },
	{ "snat not a bool", VS_OPEN VIP "  snat = 1;\n" VS_CLOSE,
	  NULL, NULL, 5, "wrong type for snat: expected a boolean, got an integer" },
	{ "snat_address without snat", VS_OPEN VIP "  snat_address = \"10.9.0.1\";\n" VS_CLOSE,
	  NULL, NULL, 5, "snat_address is used only with snat = true" },
	{ "snat_address of the wrong family", VS_OPEN VIP "  snat = true;\n  snat_address = \"2001:db8::9\";\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "snat_address 2001:db8::9 is IPv6 but the service is IPv4" },
	{ "snat_address not an address", VS_OPEN VIP "  snat = true; snat_address = \"host\";\n" VS_CLOSE,
	  NULL, NULL, 5, "snat_address: \"host\" is not an IPv4 or IPv6 address" },
	{ "global snat_address not an address", "global = {\n  snat_address = \"10.0.0\"; };\n",
	  NULL, NULL, 2, "snat_address: \"10.0.0\" is not an IPv4 or IPv6 address" },
	{ "allowed_sources malformed", VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/8\",\n    \"10.0.0/8\" ];\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "allowed_sources: \"10.0.0/8\" is not an address range: \"10.0.0\" is not an IPv4 or IPv6 address" },
	{ "allowed_sources prefix too long", VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/33\" ];\n" VS_CLOSE,
	  NULL, NULL, 5, "allowed_sources: \"10.0.0.0/33\" is not an address range: the prefix length must be 0-32" },
	{ "allowed_sources no prefix", VS_OPEN VIP "  allowed_sources = [ \"10.0.0.0/\" ];\n" VS_CLOSE,
	  NULL, NULL, 5, "allowed_sources: \"10.0.0.0/\" is not an address range: the prefix length must be 0-32" },
	{ "allowed_sources host bits", VS_OPEN VIP "  allowed_sources = [ \"10.1.2.3/8\" ];\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "allowed_sources: \"10.1.2.3/8\" has host bits set after the prefix: write the network \"10.0.0.0/8\", or the one address without a prefix" },
	{ "allowed_sources v6 host bits", "virtual_services = (\n{ name = \"six\"; vip = \"2001:db8::1\"; port = 80;\n  allowed_sources = [ \"2001:db8::1/32\" ]; }\n);\n",
	  NULL, NULL, 3,
	  "allowed_sources: \"2001:db8::1/32\" has host bits set after the prefix: write the network \"2001:db8::/32\"" },
	{ "allowed_sources other family", VS_OPEN VIP "  allowed_sources = [ \"2001:db8::/32\" ];\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "allowed_sources: \"2001:db8::/32\" is IPv6 but the vip is IPv4: a range of the other family can never match" },
	{ "allowed_sources twice", VS_OPEN VIP "  allowed_sources = [ \"10.0.0.1\", \"10.0.0.1/32\" ];\n" VS_CLOSE,
	  NULL, NULL, 5, "allowed_sources: 10.0.0.1/32 is listed twice: list each range once" },
	{ "allowed_sources empty", VS_OPEN VIP "  allowed_sources = [ ];\n" VS_CLOSE,
	  NULL, NULL, 5, "allowed_sources is empty, which would drop every client" },
	{ "allowed_sources not strings", VS_OPEN VIP "  allowed_sources = ( 5 );\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for allowed_sources entry: expected a string like \"203.0.113.0/24\", got an integer" },
	{ "allowed_sources on fwmark", VS_OPEN "  fwmark = 5;\n  allowed_sources = [ \"10.0.0.0/8\" ];\n" VS_CLOSE,
	  NULL, NULL, 5, "allowed_sources is only for vip services" },

	/* sorry server */
	{ "unknown key in sorry_server", VS_OPEN VIP "  sorry_server = {\n    address = \"10.1.0.99\"; weight = 1; };\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "unknown key \"weight\" in sorry_server (known: address, port)" },
	{ "sorry_server without address", VS_OPEN VIP "  sorry_server = { port = 80; };\n" VS_CLOSE,
	  NULL, NULL, 5, "sorry_server has no address (required)" },
	{ "sorry_server wrong family", VS_OPEN VIP "  sorry_server = {\n    address = \"::1\"; };\n" VS_CLOSE,
	  NULL, NULL, 6, "address ::1 is IPv6 but the service is IPv4" },
	{ "sorry_server dr port", VS_OPEN VIP "  forward = \"dr\";\n  sorry_server = { address = \"10.1.0.99\";\n    port = 80; };\n" VS_CLOSE,
	  NULL, NULL, 7, "port 80 differs from the service port 8000" },

	/* checks */
	{ "unknown key in check", VS_OPEN VIP "  check = {\n    intervall = 2; };\n" VS_CLOSE,
	  NULL, NULL, 6,
	  "unknown key \"intervall\" in check (known: type, interval, timeout, fast_interval, down_interval, rise, fall, initial_state, connect_ip, connect_port, method, path, host, status, expect, tls_verify, ca_file, sni, send, command, user)" },
	{ "unknown key in real server check", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\"; check = {\n      tipe = \"tcp\"; }; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7, "unknown key \"tipe\" in check" },
	{ "unknown key in global check", "global = { check = {\n  kind = \"tcp\"; }; };\n",
	  NULL, NULL, 2, "unknown key \"kind\" in check" },
	{ "bad check type", "global = { check = {\n  type = \"icmp\"; }; };\n",
	  NULL, NULL, 2,
	  "type: \"icmp\" is not one of \"tcp\", \"http\", \"https\", \"udp\", \"script\", \"none\"" },
	{ "interval 0", VS_OPEN VIP "  check = { interval = 0; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "interval: 0 is out of range: must be more than 0 and at most 86400 seconds" },
	{ "interval a string", VS_OPEN VIP "  check = { interval = \"2s\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for interval: expected a number, got a string" },
	{ "timeout negative", VS_OPEN VIP "  check = { timeout = -0.5; };\n" VS_CLOSE,
	  NULL, NULL, 5, "timeout: -0.5 is out of range" },
	{ "rise 0", VS_OPEN VIP "  check = { rise = 0; };\n" VS_CLOSE, NULL,
	  NULL, 5, "rise: 0 is out of range 1-1000" },
	{ "fall 1001", VS_OPEN VIP "  check = { fall = 1001; };\n" VS_CLOSE,
	  NULL, NULL, 5, "fall: 1001 is out of range 1-1000" },
	{ "bad initial_state", VS_OPEN VIP "  check = { initial_state = \"on\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "initial_state: \"on\" is not one of \"down\", \"up\"" },
	{ "bad connect_ip", VS_OPEN VIP "  check = { connect_ip = \"localhost\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "connect_ip: \"localhost\" is not an IPv4 or IPv6 address" },
	{ "connect_port 0", VS_OPEN VIP "  check = { connect_port = 0; };\n" VS_CLOSE,
	  NULL, NULL, 5, "connect_port: 0 is out of range 1-65535" },
	{ "path without slash", VS_OPEN VIP "  check = { path = \"healthz\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "path: \"healthz\" must start with \"/\" and have no spaces or control characters" },
	{ "method lower case", VS_OPEN VIP "  check = { method = \"get\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "method: \"get\" must be an HTTP method in capitals, like GET or HEAD" },
	{ "host with space", VS_OPEN VIP "  check = { host = \"a b\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "host: \"a b\" must be non-empty, without spaces or control characters" },
	{ "empty user", VS_OPEN VIP "  check = { user = \"\"; };\n" VS_CLOSE,
	  NULL, NULL, 5, "user: \"\" must not be empty" },
	{ "tls_verify not a bool", VS_OPEN VIP "  check = { tls_verify = \"no\"; };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for tls_verify: expected a boolean, got a string" },
	{ "status code 600", VS_OPEN VIP "  check = { status = [ 200,\n    600 ]; };\n" VS_CLOSE,
	  NULL, NULL, 6, "status: 600 is out of range 100-599" },
	{ "status bad range", VS_OPEN VIP "  check = { status = ( \"2xx\" ); };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "status: \"2xx\" is not a status code or a range of codes like \"200-299\" (100-599)" },
	{ "status reversed range", VS_OPEN VIP "  check = { status = ( \"299-200\" ); };\n" VS_CLOSE,
	  NULL, NULL, 5, "status: \"299-200\" is not a status code or a range" },
	{ "status with a space", VS_OPEN VIP "  check = { status = ( \"200- 299\" ); };\n" VS_CLOSE,
	  NULL, NULL, 5, "status: \"200- 299\" is not a status code or a range" },
	{ "status with a sign", VS_OPEN VIP "  check = { status = ( \"+200\" ); };\n" VS_CLOSE,
	  NULL, NULL, 5, "status: \"+200\" is not a status code or a range" },
	{ "status entry a float", VS_OPEN VIP "  check = { status = ( 2.0 ); };\n" VS_CLOSE,
	  NULL, NULL, 5,
	  "wrong type for status entry: expected an integer or a string like \"200-299\", got a floating-point number" },
	{ "status too long", VS_OPEN VIP "  check = {\n    status = [ 200, 201, 202, 203, 204, 205, 206, 207, 208, 209,\n               210, 211, 212, 213, 214, 215, 216 ]; };\n" VS_CLOSE,
	  NULL, NULL, 6, "status: 17 entries, at most 16 are allowed" },
	{ "script without command", VS_OPEN VIP "  check = {\n    type = \"script\"; };\n  real_servers = ( { address = \"10.1.0.1\"; } );\n" VS_CLOSE,
	  NULL, NULL, 5, "check type \"script\" needs a command" },
	{ "script without command, no reals", VS_OPEN VIP "  check = { type = \"script\"; };\n" VS_CLOSE,
	  NULL, NULL, 5, "check type \"script\" needs a command" },
	{ "script in a real server", VS_OPEN VIP "  real_servers = (\n    { address = \"10.1.0.1\";\n      check = { type = \"script\"; }; }\n  );\n" VS_CLOSE,
	  NULL, NULL, 7, "check type \"script\" needs a command" },

	/* duplicates and included files */
	{ "duplicate service", "virtual_services = (\n  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; },\n  { name = \"b\"; vip = \"10.0.0.1\"; port = 80; }\n);\n",
	  NULL, NULL, 3,
	  "duplicate virtual service TCP 10.0.0.1:80 (first defined at " },
	{ "duplicate fwmark service", "virtual_services = (\n  { name = \"a\"; fwmark = 3; },\n  { name = \"b\"; fwmark = 3; family = \"inet\"; }\n);\n",
	  NULL, NULL, 3, "duplicate virtual service FWM 3 (inet)" },
	{ "duplicate name", "virtual_services = (\n  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; },\n  { name = \"a\"; vip = \"10.0.0.1\"; port = 81; }\n);\n",
	  NULL, NULL, 3, "duplicate virtual service name \"a\" (first defined at " },
	{ "duplicate service across files", INC_HEAD "virtual_services = (\n  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; }\n);\n",
	  "\n\nvirtual_services = ( { name = \"b\"; vip = \"10.0.0.1\";\n  port = 80; protocol = \"tcp\"; } );\n",
	  INC_FILE, 3,
	  "duplicate virtual service TCP 10.0.0.1:80 (first defined at " },
	{ "duplicate name across files", INC_HEAD "virtual_services = (\n  { name = \"a\"; vip = \"10.0.0.1\"; port = 80; }\n);\n",
	  "virtual_services = (\n  { name = \"a\"; fwmark = 1; }\n);\n",
	  INC_FILE, 2, "duplicate virtual service name \"a\" (first defined at " },
	{ "global in an included file", INC_HEAD,
	  "\nglobal = { log_level = \"debug\"; };\n", INC_FILE, 2,
	  "global is only allowed in the main file " },
	{ "unknown key in an included file", INC_HEAD,
	  "services = ();\n", INC_FILE, 1,
	  "unknown key \"services\" at top level (known: virtual_services)" },
	{ "syntax error in an included file", INC_HEAD,
	  "virtual_services = (\n  { name = ; fwmark = 1; }\n);\n",
	  INC_FILE, 2, "syntax error" },
	{ "string never closed in an included file", INC_HEAD,
	  "virtual_services = (\n  { name = \"a; fwmark = 1; }\n);\n",
	  INC_FILE, 2, "a string starts here and is never closed with \"" },
	{ "error in an included file", INC_HEAD,
	  "virtual_services = (\n  { name = \"a\"; fwmark = 1;\n    quorum = \"x\"; }\n);\n",
	  INC_FILE, 3, "wrong type for quorum: expected an integer, got a string" },
};
/* clang-format on */

static void test_error_case(void **state)
{
	const struct err_case *e = *state;
	const char *main;

	if (e->incl) {
		fx_mkdir("extlb.d");
		fx_write(INC_FILE, e->incl);
	}
	main = fx_write("extlb.conf", e->conf);
	if (!e->file) {
		assert_null(fx_load_path(main));
		fx_expect("extlb.conf", e->line, e->msg);
		return;
	}
	/* an include_dir file is refused alone: the main file's services
	 * stand, none of the refused one's is there */
	assert_non_null(fx_load_path(main));
	fx_expect_refused(e->file, e->line, e->msg);
	for (size_t i = 0; i < fx.c->nvs; i++)
		assert_string_equal(fx.c->vs[i].file, fx_path("extlb.conf"));
}

/* Cross-file duplicates name the first definition by file and line. */
static void test_duplicate_names_both_places(void **state)
{
	char want[PATH_MAX + 64];

	(void)state;
	fx_mkdir("extlb.d");
	fx_write(INC_FILE,
		 "virtual_services = (\n"
		 "  { name = \"x\"; vip = \"10.0.0.1\"; port = 80; }\n"
		 ");\n");
	fx_ok_refused(INC_HEAD "virtual_services = (\n"
		      "  { name = \"x\"; vip = \"10.0.0.1\"; port = 80; }\n"
		      ");\n");
	snprintf(want, sizeof(want),
		 "duplicate virtual service TCP 10.0.0.1:80 (first defined at "
		 "%s:3): refused, the first one stays",
		 fx_path("extlb.conf"));
	fx_expect_refused(INC_FILE, 2, want);
	snprintf(want, sizeof(want),
		 "duplicate virtual service name \"x\" (first defined at "
		 "%s:3): refused, the first one stays",
		 fx_path("extlb.conf"));
	fx_expect_refused(INC_FILE, 2, want);
	assert_int_equal(fx.c->nvs, 1);
	assert_int_equal(fx.c->nrefused_vs, 1);
	fx_bad(
	    INC_HEAD
	    "virtual_services = (\n"
	    "  { name = \"x\"; vip = \"10.0.0.1\"; port = 80;\n"
	    "    real_servers = ( { address = \"10.1.0.1\"; },\n"
	    "                     { address = \"10.1.0.1\"; port = 80; } ); }\n"
	    ");\n");
	snprintf(want, sizeof(want),
		 "duplicate real server 10.1.0.1:80 (first defined at %s:4)",
		 fx_path("extlb.conf"));
	fx_expect("extlb.conf", 5, want);
}

/* The longest string a file may hold is accepted whole. */
static void test_string_max(void **state)
{
	const struct xl_config *c;

	(void)state;
	c = fx_ok("virtual_services = (\n  { name = \"a\"; fwmark = 1;\n"
		  "    check = { type = \"udp\"; send = \"" X4096 "\"; }; }\n"
		  ");\n");
	assert_int_equal(strlen(c->vs[0].check.send), 4096);
}

static void test_include_dir_not_a_dir(void **state)
{
	(void)state;
	fx_write("extlb.d", "a file\n");
	fx_bad("\n" INC_HEAD);
	fx_expect("extlb.conf", 2, "include_dir: cannot open ");
}

/* ---- include_dir files as a tenant's input ------------------------------ */

#define INC_GOOD                                                               \
	"virtual_services = (\n"                                               \
	"  { name = \"good\"; vip = \"10.0.0.5\"; port = 80; }\n"              \
	");\n"

/* The main file's service and good.conf's are there; nothing else. */
static void assert_main_and_good(void)
{
	assert_non_null(fx.c);
	assert_int_equal(fx.c->nvs, 2);
	assert_string_equal(fx.c->vs[0].name, "main");
	assert_string_equal(fx.c->vs[1].name, "good");
}

/* A FIFO, a device, a symlink out of the directory: never opened for
 * reading (a FIFO would hang the loader, /dev/zero grow it without bound),
 * each refused alone with what it is. */
static void test_include_not_regular(void **state)
{
	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf", INC_GOOD);
	assert_int_equal(mkfifo(fx_path("extlb.d/fifo.conf"), 0644), 0);
	assert_int_equal(symlink("/dev/zero", fx_path("extlb.d/zero.conf")), 0);
	fx_write("outside.txt", INC_A);
	assert_int_equal(symlink("../outside.txt", fx_path("extlb.d/out.conf")),
			 0);
	fx_ok_refused(INC_MAIN);
	assert_main_and_good();
	assert_int_equal(fx.c->nrefused_files, 3);
	fx_expect_refused("extlb.d/fifo.conf", 0,
			  "a FIFO, not a regular file: not read");
	fx_expect_refused("extlb.d/zero.conf", 0, "a symlink to /dev/zero, "
						   "outside include_dir ");
	fx_expect_refused("extlb.d/out.conf", 0, "a symlink to ");
}

/* A symlink to another file of the directory is read (a common way to
 * enable a service); a dangling one is refused alone. */
static void test_include_symlink_inside(void **state)
{
	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf.off", INC_GOOD);
	assert_int_equal(symlink("good.conf.off", fx_path("extlb.d/good.conf")),
			 0);
	assert_int_equal(symlink("gone", fx_path("extlb.d/gone.conf")), 0);
	fx_ok_refused(INC_MAIN);
	assert_main_and_good();
	fx_expect_refused("extlb.d/gone.conf", 0, "symlink: ");
}

/* A file larger than the cap is not read at all. */
static void test_include_size_cap(void **state)
{
	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf", INC_GOOD);
	fx_write("extlb.d/huge.conf", "# sparse\n");
	assert_int_equal(truncate(fx_path("extlb.d/huge.conf"),
				  (off_t)XL_INCFILE_MAX_BYTES + 1),
			 0);
	fx_ok_refused(INC_MAIN);
	assert_main_and_good();
	fx_expect_refused("extlb.d/huge.conf", 0, "67108865 bytes, more than ");
}

#define INC_SCRIPT(extra)                                                      \
	"virtual_services = (\n"                                               \
	"  { name = \"s\"; vip = \"10.0.0.6\"; port = 80;\n"                   \
	"    check = { " extra " };\n"                                         \
	"    real_servers = ( { address = \"10.1.0.6\"; } ); }\n"              \
	");\n"

/* What runs a program as a chosen user comes only from files that only
 * root can write: group- or world-writable ones are refused alone. */
static void test_include_script_trust(void **state)
{
	static const char *const bodies[] = {
	    INC_SCRIPT("type = \"script\"; command = \"true\";"),
	    INC_SCRIPT("type = \"tcp\"; user = \"root\";"),
	    INC_SCRIPT("command = \"id\";"),
	};

	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf", INC_GOOD);
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		fx_write("extlb.d/s.conf", bodies[i]);
		assert_int_equal(chmod(fx_path("extlb.d/s.conf"), 0664), 0);
		fx_ok_refused(INC_MAIN);
		assert_main_and_good();
		fx_expect_refused("extlb.d/s.conf", 3, "");
		fx_expect_refused("extlb.d/s.conf", 0, "refused (");
	}
	assert_non_null(strstr(fx.c->refused.msgs[0],
			       "command: accepted only from files that only "
			       "root can write, and this file is writable by "
			       "its group (mode 0664)"));
	/* the same file, writable by its owner only: accepted */
	fx_write("extlb.d/s.conf", bodies[0]);
	assert_int_equal(chmod(fx_path("extlb.d/s.conf"), 0644), 0);
	fx_ok(INC_MAIN);
	assert_int_equal(vs_named(fx.c, "s")->check.type, XL_CHECK_SCRIPT);
	/* a script check the main file's global group sets, inherited by a
	 * service of a file others may write: refused too */
	fx_write("extlb.d/s.conf", INC_SCRIPT("interval = 3;"));
	assert_int_equal(chmod(fx_path("extlb.d/s.conf"), 0666), 0);
	fx_ok_refused("global = { include_dir = \"extlb.d\";\n"
		      "  check = { type = \"script\"; command = \"true\"; }; };\n"
		      "virtual_services = ( );\n");
	fx_expect_refused("extlb.d/s.conf", 2,
			  "a script check (inherited from global): accepted "
			  "only from files that only root can write, and this "
			  "file is writable by others (mode 0666)");
	assert_int_equal(fx.c->nvs, 1);
	assert_string_equal(fx.c->vs[0].name, "good");
}

/* snat_address chooses the source of forwarded traffic: only from files
 * that only root can write; snat and allowed_sources from any. */
static void test_include_snat_trust(void **state)
{
	const struct xl_vs_config *vs;

	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf", INC_GOOD);
	fx_write("extlb.d/n.conf",
		 "virtual_services = (\n"
		 "  { name = \"n\"; vip = \"10.0.0.7\"; port = 80; snat = true;\n"
		 "    snat_address = \"10.9.0.1\"; } );\n");
	assert_int_equal(chmod(fx_path("extlb.d/n.conf"), 0664), 0);
	fx_ok_refused(INC_MAIN);
	assert_main_and_good();
	fx_expect_refused("extlb.d/n.conf", 3,
			  "snat_address: accepted only from files that only "
			  "root can write, and this file is writable by its "
			  "group (mode 0664)");
	fx_write("extlb.d/n.conf",
		 "virtual_services = (\n"
		 "  { name = \"n\"; vip = \"10.0.0.7\"; port = 80; snat = true;\n"
		 "    allowed_sources = [ \"10.8.0.0/16\" ]; } );\n");
	assert_int_equal(chmod(fx_path("extlb.d/n.conf"), 0664), 0);
	fx_ok(INC_MAIN);
	vs = vs_named(fx.c, "n");
	assert_true(vs->nft.snat);
	assert_int_equal(vs->nft.snat_af, 0);
	assert_int_equal(vs->nft.nsources, 1);
}

/* @include reads any path (a FIFO, a device): only in trusted files. */
static void test_include_directive_trust(void **state)
{
	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf", INC_GOOD);
	fx_write("part.inc", "{ name = \"p\"; fwmark = 9; }\n");
	fx_write("extlb.d/p.conf",
		 "virtual_services = (\n  @include \"part.inc\"\n);\n");
	assert_int_equal(chmod(fx_path("extlb.d/p.conf"), 0620), 0);
	fx_ok_refused(INC_MAIN);
	assert_main_and_good();
	fx_expect_refused("extlb.d/p.conf", 0,
			  "@include: accepted only in files that only root "
			  "can write");
	assert_int_equal(chmod(fx_path("extlb.d/p.conf"), 0600), 0);
	fx_ok(INC_MAIN);
	assert_int_equal(vs_named(fx.c, "p")->svc.fwmark, 9);
}

/* A directory anyone may write to: none of its files is read, the main
 * file's services stand. */
static void test_include_dir_world_writable(void **state)
{
	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/good.conf", INC_GOOD);
	assert_int_equal(chmod(fx_path("extlb.d"), 01777), 0);
	fx_ok_refused("\n" INC_MAIN);
	assert_int_equal(fx.c->nvs, 1);
	fx_expect_refused("extlb.conf", 2, "include_dir ");
	assert_non_null(strstr(fx.c->refused.msgs[0],
			       "is writable by others (mode 1777): none of "
			       "its files is read"));
	assert_int_equal(chmod(fx_path("extlb.d"), 0775), 0);
	fx_ok("\n" INC_MAIN);
	assert_int_equal(fx.c->nvs, 2);
}

/*
 * Collisions: the main file wins, then file order; the later service is
 * refused alone (the rest of its file applies), and one refused holds
 * nothing: a later service equal only to it stands.
 */
static void test_include_collisions(void **state)
{
	(void)state;
	fx_mkdir("extlb.d");
	/* takes main's VIP:port, and the name "n" */
	fx_write("extlb.d/a.conf",
		 "virtual_services = (\n"
		 "  { name = \"n\"; vip = \"10.0.0.1\"; port = 80; },\n"
		 "  { name = \"a\"; vip = \"10.0.0.7\"; port = 80; }\n"
		 ");\n");
	/* its name is the refused one's: it stands */
	fx_write("extlb.d/b.conf",
		 "virtual_services = (\n"
		 "  { name = \"n\"; vip = \"10.0.0.8\"; port = 80; },\n"
		 "  { name = \"a2\"; vip = \"10.0.0.7\"; port = 80; }\n"
		 ");\n");
	fx_ok_refused(INC_MAIN);
	assert_int_equal(fx.c->nvs, 3);
	assert_string_equal(fx.c->vs[0].name, "main");
	assert_string_equal(fx.c->vs[1].name, "a");
	assert_string_equal(fx.c->vs[2].name, "n");
	assert_string_equal(fx.c->vs[2].file, fx_path("extlb.d/b.conf"));
	assert_int_equal(fx.c->nrefused_vs, 2);
	assert_int_equal(fx.c->nrefused_files, 0);
	fx_expect_refused("extlb.d/a.conf", 2,
			  "duplicate virtual service TCP 10.0.0.1:80 (first "
			  "defined at ");
	fx_expect_refused("extlb.d/b.conf", 3,
			  "duplicate virtual service TCP 10.0.0.7:80 (first "
			  "defined at ");
}

/*
 * A file refused at a reload keeps its last accepted version in force (a
 * typo, a write caught half-way, must not take its services down), again
 * at each reload, until it is fixed; at a fresh start there is none.
 */
static void test_include_refused_keeps(void **state)
{
	struct xl_config *c;

	(void)state;
	fx_mkdir("extlb.d");
	fx_write("extlb.d/b.conf", INC_B("5"));
	fx_write("extlb.d/good.conf", INC_GOOD);
	c = fx_ok(INC_MAIN);
	assert_int_equal(c->nvs, 3);
	fx_replace("extlb.d/b.conf", "virtual_services = ( { name = \"b\";\n"
				     "  vip = \"10.0.0.3\"; port = 80; wieght = 2; } );\n");
	for (int i = 0; i < 2; i++) {
		c = fx_reload();
		assert_int_equal(c->nvs, 3);
		assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 5);
		assert_int_not_equal(vs_named(c, "b")->prev, XL_VS_NONE);
		fx_expect_refused("extlb.d/b.conf", 2, "unknown key \"wieght\"");
		fx_expect_refused("extlb.d/b.conf", 0,
				  "refused (1 error): its last accepted version "
				  "stays in force (1 virtual service) until it is "
				  "fixed");
	}
	/* replaced by a FIFO: the same */
	assert_int_equal(unlink(fx_path("extlb.d/b.conf")), 0);
	assert_int_equal(mkfifo(fx_path("extlb.d/b.conf"), 0644), 0);
	c = fx_reload();
	assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 5);
	fx_expect_refused("extlb.d/b.conf", 0, "a FIFO");
	/* fixed: the new version applies */
	assert_int_equal(unlink(fx_path("extlb.d/b.conf")), 0);
	fx_write("extlb.d/b.conf", INC_B("6"));
	c = fx_reload();
	assert_int_equal(c->refused.n, 0);
	assert_int_equal(vs_named(c, "b")->svc.dests[0].weight, 6);
	/* broken again, then a fresh start: nothing of it to keep */
	fx_replace("extlb.d/b.conf", "virtual_services = ( { name = 1; } );\n");
	fx_ok_refused(INC_MAIN);
	assert_int_equal(fx.c->nvs, 2);
	fx_expect_refused("extlb.d/b.conf", 0,
			  "refused (2 errors): none of its virtual services is "
			  "applied");
}

/* ---- main -------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    T(test_example_loads),
	    T(test_defaults),
	    T(test_global_values),
	    T(test_kernel_settings),
	    T(test_vip_interface_announce),
	    T(test_control_keys),
	    T(test_check_inheritance),
	    T(test_check_equal),
	    T(test_check_keys),
	    T(test_check_script_inherited),
	    T(test_ipv6_service),
	    T(test_udp_one_packet),
	    T(test_snat_and_sources),
	    T(test_snat_sources_reload),
	    T(test_sctp),
	    T(test_fwmark),
	    T(test_forward_dr),
	    T(test_forward_tun),
	    T(test_persistence),
	    T(test_scheduler_flags),
	    T(test_thresholds_weight),
	    T(test_sorry_server),
	    T(test_empty_and_no_reals),
	    T(test_lexer_corners),
	    T(test_include_dir),
	    T(test_include_dir_missing),
	    T(test_include_dir_watched),
	    T(test_include_reuse),
	    T(test_reload_links_unchanged),
	    T(test_max_services),
	    T(test_libconfig_include),
	    T(test_include_dir_absolute),
	    T(test_include_dir_not_a_dir),
	    T(test_string_max),
	    T(test_include_refused_keeps),
	    T(test_include_snat_trust),
	    T(test_include_not_regular),
	    T(test_include_symlink_inside),
	    T(test_include_size_cap),
	    T(test_include_script_trust),
	    T(test_include_directive_trust),
	    T(test_include_dir_world_writable),
	    T(test_include_collisions),
	    T(test_config_table),
	    T(test_check_type_name),
	    T(test_prev_cleared_on_free),
	    T(test_errors_list),
	    T(test_all_errors_reported),
	    T(test_script_reported_once),
	    T(test_missing_file),
	    T(test_main_file_read),
	    T(test_duplicate_names_both_places),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(err_cases)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate_setup_teardown(
		    test_error_case, fx_setup, fx_teardown,
		    (void *)&err_cases[i]);

		t.name = err_cases[i].name;
		tests[n++] = t;
	}
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
