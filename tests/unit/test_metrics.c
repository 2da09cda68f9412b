/*
 * test_metrics.c - the text of a scrape: escaping, histograms, the names
 * and types of the families, the kernel's counters per service, a scrape
 * read a few bytes at a time, a reload mid-scrape; metrics_listen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conftext.h"
#include "health.h"
#include "metrics.h"
#include "sync.h"

/* ---- the text format -------------------------------------------------- */

static void test_label_escaping(void **state)
{
	struct xl_prom_buf b = {0};

	(void)state;
	xl_prom_label_value(&b, "a\\b\"c\nd");
	assert_string_equal(b.p, "a\\\\b\\\"c\\nd");
	b.len = 0;
	xl_prom_label_value(&b, "");
	assert_int_equal(b.len, 0);
	xl_prom_free(&b);
}

/* HELP text escapes \ and newline, not quotes */
static void test_family_header(void **state)
{
	struct xl_prom_buf b = {0};

	(void)state;
	xl_prom_family(&b, "extlb_x_total", "counter", "a \"b\"\\ c\nd");
	assert_string_equal(b.p, "# HELP extlb_x_total a \"b\"\\\\ c\\nd\n"
				 "# TYPE extlb_x_total counter\n");
	xl_prom_free(&b);
}

static void test_histogram_cumulative(void **state)
{
	static const double bounds[3] = {0.001, 0.25, 2.5};
	static const uint64_t counts[3] = {2, 0, 3};
	struct xl_prom_buf b = {0};

	(void)state;
	/* 7 results: one slower than the last bound counts in +Inf only */
	xl_prom_histogram(&b, "d_seconds", "s=\"x\"", bounds, counts, 3, 6,
			  1.5);
	assert_string_equal(b.p, "d_seconds_bucket{s=\"x\",le=\"0.001\"} 2\n"
				 "d_seconds_bucket{s=\"x\",le=\"0.25\"} 2\n"
				 "d_seconds_bucket{s=\"x\",le=\"2.5\"} 5\n"
				 "d_seconds_bucket{s=\"x\",le=\"+Inf\"} 6\n"
				 "d_seconds_sum{s=\"x\"} 1.5\n"
				 "d_seconds_count{s=\"x\"} 6\n");
	b.len = 0;
	xl_prom_histogram(&b, "h", "", bounds, counts, 1, 2, 0.0005);
	assert_string_equal(b.p, "h_bucket{le=\"0.001\"} 2\n"
				 "h_bucket{le=\"+Inf\"} 2\n"
				 "h_sum 0.0005\n"
				 "h_count 2\n");
	xl_prom_free(&b);
}

/* ---- metrics_listen --------------------------------------------------- */

static void test_parse_listen(void **state)
{
	static const char *const bad[] = {
	    "127.0.0.1",     "127.0.0.1:",
	    "127.0.0.1:0",   "127.0.0.1:65536",
	    "127.0.0.1:80x", "127.0.0.1:-1",
	    "127.0.0.1:+80", ":9475",
	    "::1:9475",	     "[::1]9475",
	    "[::1",	     "localhost:9475",
	    "[]:80",	     "1.2.3.4:99999999999999999999",
	    "[::1]",	     "2001:db8::1"};
	union xl_inaddr a;
	uint16_t af, port;
	const char *why;

	(void)state;
	assert_true(xl_rule_listen("127.0.0.1:9475", &af, &a, &port, &why));
	assert_int_equal(af, AF_INET);
	assert_int_equal(port, 9475);
	assert_int_equal(a.v4.s_addr, htonl(0x7f000001));
	assert_true(xl_rule_listen("[::1]:1", &af, &a, &port, &why));
	assert_int_equal(af, AF_INET6);
	assert_int_equal(port, 1);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a.v6));
	assert_true(xl_rule_listen("0.0.0.0:65535", &af, &a, &port, &why));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (xl_rule_listen(bad[i], &af, &a, &port, &why))
			fail_msg("%s accepted", bad[i]);
		assert_non_null(why);
	}
}

static void test_config_metrics_listen(void **state)
{
	struct xl_config *c;

	(void)state;
	c = ct_load("global = { metrics_listen = \"[::1]:9475\"; };\n");
	assert_string_equal(c->metrics_listen, "[::1]:9475");
	assert_int_equal(c->metrics_af, AF_INET6);
	assert_int_equal(c->metrics_port, 9475);
	xl_config_free(c);
	c = ct_load("global = { log_level = \"info\"; };\n");
	assert_null(c->metrics_listen); /* off by default */
	xl_config_free(c);
}

/* ---- a whole scrape --------------------------------------------------- */

#define CONF                                                                   \
	"virtual_services = (\n"                                               \
	"  { name = \"web\"; vip = \"192.168.10.100\"; port = 80;\n"           \
	"    real_servers = ( { address = \"10.0.0.1\"; weight = 3; },\n"      \
	"                     { address = \"10.0.0.2\"; weight = 5; } ); },\n" \
	"  { name = \"q\\\"b\\\\s\"; vip = \"fd00::100\"; port = 53;\n"        \
	"    protocol = \"udp\";\n"                                            \
	"    real_servers = ( { address = \"fd00::1\"; } ); }\n"               \
	");\n"

/* A kernel made of memory: "web" with its first server at weight 3 and
 * counters, the other service absent. */
static int fake_get(void *kernel, const struct xl_service *key,
		    struct xl_service *out)
{
	const struct xl_config *c = kernel;

	if (xl_service_cmp(key, &c->vs[0].svc))
		return -ESRCH;
	*out = xl_service_key(key);
	out->stats = (struct xl_ipvs_stats){.conns = 42,
					    .inpkts = 100,
					    .outpkts = 90,
					    .inbytes = 6000,
					    .outbytes = 123456789012ULL};
	out->dests = calloc(1, sizeof(*out->dests));
	assert_non_null(out->dests);
	out->dests[0] = c->vs[0].svc.dests[0];
	out->ndests = 1;
	return 0;
}

static const struct xl_kernel_ops fake_kops = {.get_service = fake_get};

struct fixture {
	struct ev_loop *loop;
	struct xl_config *cfg;
	struct xl_health *h;
	struct xl_metrics_counters counters;
	struct xl_metrics_source src;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->loop = ev_loop_new(EVFLAG_AUTO);
	f->cfg = ct_load(CONF);
	f->h = xl_health_new(f->loop, NULL, NULL, NULL);
	assert_non_null(f->h);
	assert_int_equal(xl_health_configure(f->h, f->cfg), 0);
	f->counters =
	    (struct xl_metrics_counters){.reloads_ok = 2,
					 .reloads_failed = 1,
					 .generation = 3,
					 .last_reload_ok = 1700000000.5,
					 .ops_applied = 10,
					 .ops_refused = 1,
					 .resync_corrections = 4};
	f->src = (struct xl_metrics_source){.cfg = &f->cfg,
					    .health = f->h,
					    .kops = &fake_kops,
					    .kernel = f->cfg,
					    .counters = &f->counters};
}

static void fixture_free(struct fixture *f)
{
	xl_health_free(f->h);
	xl_config_free(f->cfg);
	ev_loop_destroy(f->loop);
}

/* The whole body, read chunk bytes at a time. */
static char *scrape_all(struct fixture *f, size_t chunk)
{
	struct xl_metrics_scrape *s = xl_metrics_scrape_new(&f->src);
	char *body = NULL;
	size_t len = 0;
	ssize_t n;

	assert_non_null(s);
	do {
		body = realloc(body, len + chunk + 1);
		assert_non_null(body);
		n = xl_metrics_scrape_read(s, body + len, chunk);
		assert_true(n >= 0);
		assert_true((size_t)n <= chunk);
		len += (size_t)n;
	} while (n > 0);
	body[len] = '\0';
	xl_metrics_scrape_free(s);
	return body;
}

static void assert_line(const char *body, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(body, want))
		fail_msg("no line %s", line);
}

static void test_scrape_values(void **state)
{
	struct fixture f;
	char *body;

	(void)state;
	fixture_init(&f);
	body = scrape_all(&f, 65536);
	if (getenv("XL_METRICS_DUMP")) /* for promtool, by hand */
		ct_write(getenv("XL_METRICS_DUMP"), body);
	assert_line(body, "extlb_reloads_total{result=\"success\"} 2");
	assert_line(body, "extlb_reloads_total{result=\"failure\"} 1");
	assert_line(body, "extlb_config_generation 3");
	assert_line(body, "extlb_config_last_reload_success_timestamp_seconds "
			  "1700000000.500");
	assert_line(body, "extlb_ops_applied_total 10");
	assert_line(body, "extlb_ops_refused_total 1");
	assert_line(body, "extlb_resync_corrections_total 4");
	assert_line(body,
		    "extlb_service_connections_total{service=\"web\"} 42");
	assert_line(body, "extlb_service_packets_total{service=\"web\","
			  "direction=\"in\"} 100");
	assert_line(body, "extlb_service_bytes_total{service=\"web\","
			  "direction=\"out\"} 123456789012");
	/* a service the kernel does not hold has no counters */
	assert_null(strstr(body, "connections_total{service=\"q"));
	assert_line(body, "extlb_server_weight{service=\"web\","
			  "server=\"10.0.0.2:80\"} 5");
	assert_line(body, "extlb_server_effective_weight{service=\"web\","
			  "server=\"10.0.0.1:80\"} 3");
	assert_line(body, "extlb_server_effective_weight{service=\"web\","
			  "server=\"10.0.0.2:80\"} 0");
	/* the label value escaped; an IPv6 server in brackets */
	assert_line(body, "extlb_server_weight{service=\"q\\\"b\\\\s\","
			  "server=\"[fd00::1]:53\"} 1");
	assert_line(body, "extlb_server_check_duration_seconds_bucket{service="
			  "\"web\",server=\"10.0.0.1:80\",le=\"+Inf\"} 0");
	assert_line(body, "extlb_server_check_results_total{service=\"web\","
			  "server=\"10.0.0.1:80\",result=\"failure\"} 0");
	assert_non_null(strstr(body, "extlb_server_up{service=\"web\","
				     "server=\"10.0.0.1:80\"} "));
	free(body);
	fixture_free(&f);
}

/* The name a sample line belongs to: its metric name without the suffixes
 * of a histogram's series. */
static void family_of(const char *line, const char *type, char *out, size_t len)
{
	size_t n = strcspn(line, "{ ");

	snprintf(out, len, "%.*s", (int)n, line);
	if (!strcmp(type, "histogram"))
		for (const char *const *sfx =
			 (const char *const[]){"_bucket", "_sum", "_count",
					       NULL};
		     *sfx; sfx++) {
			size_t k = strlen(*sfx), m = strlen(out);

			if (m > k && !strcmp(out + m - k, *sfx)) {
				out[m - k] = '\0';
				break;
			}
		}
}

/*
 * Prometheus's rules: every family announced once with HELP then TYPE, its
 * samples together right after, counters named _total, durations in
 * _seconds, extlb_ before every name.  Read 7 bytes at a time, so pieces
 * are cut anywhere.
 */
static void test_scrape_families(void **state)
{
	struct fixture f;
	char *body, *whole, *save = NULL, fam[128] = "", type[32] = "";
	char seen[64][128];
	size_t nseen = 0, samples = 0;

	(void)state;
	fixture_init(&f);
	body = scrape_all(&f, 7);
	whole = scrape_all(&f, 65536);
	assert_string_equal(body, whole);
	for (char *l = strtok_r(body, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[128], t[32];

		if (sscanf(l, "# HELP %127s", name) == 1) {
			for (size_t i = 0; i < nseen; i++)
				if (!strcmp(seen[i], name))
					fail_msg("%s announced twice", name);
			assert_true(nseen < 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
			snprintf(fam, sizeof(fam), "%s", name);
			type[0] = '\0';
			assert_int_equal(strncmp(name, "extlb_", 6), 0);
			continue;
		}
		if (sscanf(l, "# TYPE %127s %31s", name, t) == 2) {
			assert_string_equal(name, fam);
			snprintf(type, sizeof(type), "%s", t);
			if (!strcmp(t, "counter"))
				assert_non_null(strstr(name, "_total"));
			else
				assert_null(strstr(name, "_total"));
			if (!strcmp(t, "histogram"))
				assert_non_null(strstr(name, "_seconds"));
			continue;
		}
		assert_true(l[0] != '#');
		assert_true(type[0] != '\0');
		family_of(l, type, name, sizeof(name));
		if (strcmp(name, fam))
			fail_msg("sample of %s under %s: %s", name, fam, l);
		samples++;
	}
	assert_true(nseen >= 15);
	assert_true(samples > 40);
	free(body);
	free(whole);
	fixture_free(&f);
}

/* metrics_servers: "state" keeps up and the weights of each server and
 * leaves out its check results and durations; "none" every per-server
 * family; the services' and the globals' stay. */
static void test_scrape_metrics_servers(void **state)
{
	static const char *const check_fams[] = {
	    "extlb_server_check_duration_seconds",
	    "extlb_server_check_results_total"};
	static const char *const state_fams[] = {
	    "extlb_server_up", "extlb_server_weight",
	    "extlb_server_effective_weight"};
	struct fixture f;
	char *all, *st, *none, h[128];

	(void)state;
	fixture_init(&f);
	all = scrape_all(&f, 65536);
	f.cfg->metrics_servers = XL_METRICS_SERVERS_STATE;
	st = scrape_all(&f, 7);
	f.cfg->metrics_servers = XL_METRICS_SERVERS_NONE;
	none = scrape_all(&f, 65536);
	for (size_t i = 0; i < 2; i++) {
		snprintf(h, sizeof(h), "# HELP %s ", check_fams[i]);
		assert_non_null(strstr(all, h));
		assert_null(strstr(st, h));
		assert_null(strstr(none, h));
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(h, sizeof(h), "# HELP %s ", state_fams[i]);
		assert_non_null(strstr(all, h));
		assert_non_null(strstr(st, h));
		assert_null(strstr(none, h));
	}
	assert_null(strstr(none, "server=\""));
	assert_line(st, "extlb_server_weight{service=\"web\","
			"server=\"10.0.0.2:80\"} 5");
	assert_line(none,
		    "extlb_service_connections_total{service=\"web\"} 42");
	assert_line(none, "extlb_config_generation 3");
	assert_true(strlen(none) < strlen(st) && strlen(st) < strlen(all));
	free(all);
	free(st);
	free(none);
	fixture_free(&f);
}

static void test_config_metrics_servers(void **state)
{
	struct xl_config *c;

	(void)state;
	c = ct_load("global = { metrics_servers = \"state\"; };\n");
	assert_int_equal(c->metrics_servers, XL_METRICS_SERVERS_STATE);
	xl_config_free(c);
	c = ct_load("global = { };\n");
	assert_int_equal(c->metrics_servers, XL_METRICS_SERVERS_ALL);
	xl_config_free(c);
}

/* A reload frees what the scrape walks: it ends in an error, whole
 * scrapes after it are fine. */
static void test_scrape_reload_midway(void **state)
{
	struct fixture f;
	struct xl_metrics_scrape *s;
	char buf[64];
	char *body;

	(void)state;
	fixture_init(&f);
	s = xl_metrics_scrape_new(&f.src);
	assert_true(xl_metrics_scrape_read(s, buf, sizeof(buf)) > 0);
	f.counters.generation++;
	assert_int_equal(xl_metrics_scrape_read(s, buf, sizeof(buf)), -1);
	xl_metrics_scrape_free(s);
	body = scrape_all(&f, 4096);
	assert_non_null(strstr(body, "extlb_config_generation 4\n"));
	free(body);
	fixture_free(&f);
}

/* No call reads more than a slice of services from the kernel, however
 * large the reader's buffer, and no call returns nothing before the end:
 * here 300 services the kernel does not hold, so no counters at all. */
static void test_scrape_reads_in_slices(void **state)
{
	struct fixture f;
	struct xl_metrics_scrape *s;
	char *text = malloc(1 << 16), *buf = malloc(1 << 20);
	size_t len = 0, calls = 0, total = 0;
	ssize_t n;

	(void)state;
	assert_non_null(text);
	assert_non_null(buf);
	len += (size_t)sprintf(text, "virtual_services = (\n");
	for (int i = 0; i < 300; i++)
		len +=
		    (size_t)sprintf(text + len,
				    "%s{ name = \"s%d\"; vip = \"10.1.0.1\"; "
				    "port = %d; real_servers = ( { address "
				    "= \"10.2.0.1\"; } ); }\n",
				    i ? "," : "", i, 1000 + i);
	sprintf(text + len, ");\n");
	fixture_init(&f);
	xl_health_free(f.h);
	xl_config_free(f.cfg);
	f.cfg = ct_load(text);
	f.h = xl_health_new(f.loop, NULL, NULL, NULL);
	assert_int_equal(xl_health_configure(f.h, f.cfg), 0);
	f.src.health = f.h;
	f.src.kernel = f.cfg; /* fake_get: only "web", which is not here */
	s = xl_metrics_scrape_new(&f.src);
	while ((n = xl_metrics_scrape_read(s, buf, 1 << 20)) > 0) {
		calls++;
		total += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_true(calls >= 3); /* 300 services, 128 a call */
	assert_true(total > 300 * 60);
	xl_metrics_scrape_free(s);
	free(text);
	free(buf);
	fixture_free(&f);
}

static void test_count_run(void **state)
{
	struct xl_metrics_counters c = {0};
	struct xl_sync_result r = {.nops = 10, .failed = 2};

	(void)state;
	xl_metrics_count_run(&c, "reload", &r);
	assert_int_equal(c.ops_applied, 8);
	assert_int_equal(c.ops_refused, 2);
	assert_int_equal(c.resync_corrections, 0);
	r = (struct xl_sync_result){.nops = 3};
	xl_metrics_count_run(&c, "resync", &r);
	assert_int_equal(c.ops_applied, 11);
	assert_int_equal(c.resync_corrections, 3);
	xl_metrics_count_run(&c, "resync", NULL); /* a run that could not */
	assert_int_equal(c.ops_applied, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_family_header),
	    cmocka_unit_test(test_histogram_cumulative),
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_config_metrics_listen),
	    cmocka_unit_test(test_config_metrics_servers),
	    cmocka_unit_test(test_scrape_metrics_servers),
	    cmocka_unit_test(test_scrape_values),
	    cmocka_unit_test(test_scrape_families),
	    cmocka_unit_test(test_scrape_reload_midway),
	    cmocka_unit_test(test_scrape_reads_in_slices),
	    cmocka_unit_test(test_count_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
