/*
 * main.c - extlb-k8s: Kubernetes Services of type LoadBalancer into an
 * extlbd include file, and their VIPs into the Services' status.
 *
 * This file is the command line: options checked up front with messages
 * that say what to write instead, then either one pass of sync.c (--once)
 * or the long-running watch of watch.c.
 */
#include "k8s/client.h"
#include "k8s/ipam.h"
#include "k8s/kubeconfig.h"
#include "k8s/log.h"
#include "k8s/policy.h"
#include "k8s/sync.h"
#include "k8s/watch.h"
#include "rules.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POOLS 64
#define DEFAULT_OUTPUT "/etc/extlb.d/kubernetes.conf"
#define DEFAULT_CLASS "extlb.io/lb"
#define DEFAULT_VIP_INTERFACE "extlb0"
/* A Service with more ports than this is a mistake or an attack: a
 * hundred covers real ones (media servers publish a few dozen), and 655
 * of them would still fit under DEFAULT_MAX_SERVICES */
#define DEFAULT_MAX_PORTS 100
/* a namespace is a tenant: a hundred VIPs is a lot for one, and keeps
 * one from taking the pools or extlbd's table from the others */
#define DEFAULT_MAX_PER_NS 100
/* must stay below extlbd's max_services (65536 by default), which counts
 * the main file's services too: room is left for them */
#define DEFAULT_MAX_SERVICES 60000
#define EXTLBD_MAX_SERVICES 65536

struct options {
	const char *kubeconfig;
	const char *context;
	bool once;
	int verbose;
	struct k8s_pool pools[MAX_POOLS];
	struct k8s_pool allow_vip[MAX_POOLS], allow_backend[MAX_POOLS];
	const char *vip_interface;
	struct k8s_watch_opts watch; /* .sync: what --once uses too */
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: extlb-k8s [OPTIONS]\n"
	       "Writes the Kubernetes Services of type LoadBalancer into an "
	       "extlbd include file\nand publishes each one's VIP in its "
	       "status.\n\n"
	       "  --kubeconfig FILE     cluster and credentials (default: "
	       "$KUBECONFIG,\n"
	       "                        ~/.kube/config, or the Pod's service "
	       "account)\n"
	       "  --context NAME        kubeconfig context (default: "
	       "current-context)\n"
	       "  --namespace NS        only this namespace (default: all)\n"
	       "  --class NAME          spec.loadBalancerClass to serve "
	       "(default: " DEFAULT_CLASS ")\n"
	       "  --default-class       also serve Services without a "
	       "loadBalancerClass\n"
	       "  --vip-pool CIDR|A-B   addresses to give out (repeatable; "
	       "IPv4 and IPv6)\n"
	       "  --allow-vip CIDR|A-B  VIPs Services may name besides the "
	       "pools; the only\n"
	       "                        way to allow loopback, link-local, "
	       "multicast, ...\n"
	       "                        and the host's own addresses "
	       "(repeatable)\n"
	       "  --allow-backend CIDR|A-B  the only endpoint addresses "
	       "taken (repeatable;\n"
	       "                        default: all but loopback, "
	       "link-local, unspecified,\n"
	       "                        multicast, broadcast)\n"
	       "  --vip-interface NAME  extlbd's VIP interface: its addresses "
	       "are not the\n"
	       "                        host's (default " DEFAULT_VIP_INTERFACE
	       ")\n"
	       "  --max-ports-per-service N\n"
	       "                        a Service with more ports is left "
	       "out (default 100;\n"
	       "                        0: no limit)\n"
	       "  --max-services-per-namespace N\n"
	       "                        Services served per namespace, "
	       "oldest first\n"
	       "                        (default 100; 0: no limit)\n"
	       "  --max-services N      virtual services written in all; "
	       "keep it below\n"
	       "                        extlbd's max_services (default 60000; "
	       "0: no limit)\n"
	       "  --ip-mode vip|proxy   the ipMode of every status "
	       "(default: proxy for\n"
	       "                        nat, vip for dr and tun)\n"
	       "  --output FILE         the file to write "
	       "(default: " DEFAULT_OUTPUT ")\n"
	       "  --pidfile FILE        extlbd's pidfile: SIGHUP it after a "
	       "change\n"
	       "  --reload-command CMD  or run CMD (with /bin/sh) after a "
	       "change\n"
	       "                        (neither: only write the file, for "
	       "extlbd's\n"
	       "                        watch_include_dir = true)\n"
	       "  --debounce SECONDS    changes arriving within this delay are "
	       "written\n"
	       "                        together (default 0.2)\n"
	       "  --watch-timeout SECS  how long each watch request lasts "
	       "(default 300)\n"
	       "  --once                one pass, then exit (default: watch "
	       "until SIGTERM)\n"
	       "  -v, --verbose         debug messages\n"
	       "  -h, --help            this text\n");
}

/* A namespace is a DNS label: 1-63 of a-z, 0-9, '-', alphanumeric ends. */
static bool namespace_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 63 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	       s[0] != '-' && s[n - 1] != '-';
}

/* One --vip-pool, --allow-vip or --allow-backend into v[*n]: all three
 * take the same ranges.  0, or -1 (said). */
static int add_range(const char *opt, struct k8s_pool *v, size_t *n,
		     const char *arg)
{
	char why[256];

	if (*n == MAX_POOLS) {
		fprintf(stderr, "extlb-k8s: more than %d %s\n", MAX_POOLS, opt);
		return -1;
	}
	if (k8s_pool_parse(arg, &v[*n], why, sizeof(why)) < 0) {
		fprintf(stderr, "extlb-k8s: %s %s\n", opt, why);
		return -1;
	}
	(*n)++;
	return 0;
}

/* A count from 0 to max.  0, or -1 (said). */
static int count(const char *opt, const char *arg, unsigned long max,
		 size_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v > max) {
		fprintf(stderr,
			"extlb-k8s: %s \"%s\": expected a number from 0 to "
			"%lu\n",
			opt, arg, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* A number of seconds within [min, max].  0, or -1 (said). */
static int seconds(const char *opt, const char *arg, double min, double max,
		   double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min || v > max) {
		fprintf(stderr,
			"extlb-k8s: %s \"%s\": expected seconds from %g "
			"to %g\n",
			opt, arg, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Takes one option.  0, 1 (exit 0: --help), -1 (exit 2). */
static int set_option(struct options *o, int opt, const char *arg)
{
	struct k8s_render_opts *render = &o->watch.sync.render;
	struct k8s_policy *policy = &render->policy;

	switch (opt) {
	case 'k':
		o->kubeconfig = arg;
		return 0;
	case 'c':
		o->context = arg;
		return 0;
	case 'n':
		o->watch.sync.ns = arg;
		return 0;
	case 'C':
		o->watch.sync.render.lb_class = arg;
		return 0;
	case 'D':
		o->watch.sync.render.default_class = true;
		return 0;
	case 'p':
		return add_range("--vip-pool", o->pools, &render->npools, arg);
	case 'a':
		return add_range("--allow-vip", o->allow_vip,
				 &policy->nallow_vip, arg);
	case 'b':
		return add_range("--allow-backend", o->allow_backend,
				 &policy->nallow_backend, arg);
	case 'I':
		o->vip_interface = arg;
		return 0;
	case 'm':
		return count("--max-ports-per-service", arg, 65535,
			     &policy->max_ports);
	case 'N':
		return count("--max-services-per-namespace", arg, 1000000,
			     &policy->max_per_ns);
	case 'M':
		return count("--max-services", arg, 10000000,
			     &policy->max_services);
	case 'o':
		o->watch.sync.output = arg;
		return 0;
	case 'P':
		o->watch.sync.pidfile = arg;
		return 0;
	case 'R':
		o->watch.sync.reload_cmd = arg;
		return 0;
	case '1':
		o->once = true;
		return 0;
	case 'd':
		return seconds("--debounce", arg, 0, 60, &o->watch.debounce);
	case 'T': {
		double t;

		if (seconds("--watch-timeout", arg, 1, 3600, &t) < 0)
			return -1;
		o->watch.watch_timeout = (long)t;
		return 0;
	}
	case 'i':
		if (!strcmp(arg, "vip") || !strcmp(arg, "proxy")) {
			render->ip_mode = arg[0] == 'v' ? "VIP" : "Proxy";
			return 0;
		}
		fprintf(stderr,
			"extlb-k8s: --ip-mode \"%s\" is not vip or proxy\n",
			arg);
		return -1;
	case 'v':
		o->verbose++;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	default:
		usage(stderr);
		return -1;
	}
}

/* What the options say together.  0, or -1 (said). */
static int check_options(const struct options *o)
{
	const char *base = strrchr(o->watch.sync.output, '/');

	base = base ? base + 1 : o->watch.sync.output;
	if (o->watch.sync.ns && !namespace_ok(o->watch.sync.ns)) {
		fprintf(stderr,
			"extlb-k8s: --namespace \"%s\" is not a "
			"namespace name (a-z, 0-9, -)\n",
			o->watch.sync.ns);
		return -1;
	}
	if (!*o->watch.sync.render.lb_class) {
		fprintf(stderr, "extlb-k8s: --class must not be empty\n");
		return -1;
	}
	if (o->watch.sync.pidfile && o->watch.sync.reload_cmd) {
		fprintf(stderr, "extlb-k8s: give --pidfile or "
				"--reload-command, not both\n");
		return -1;
	}
	/* extlbd's rule for the names it reads (rules.h) */
	if (!xl_incfile_wanted(base)) {
		fprintf(stderr,
			"extlb-k8s: --output %s: extlbd reads only "
			"files named *.conf, not starting with a dot\n",
			o->watch.sync.output);
		return -1;
	}
	return 0;
}

/* 0 to go on, 1 to exit 0 (--help), -1 to exit 2. */
static int parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"context", required_argument, NULL, 'c'},
	    {"namespace", required_argument, NULL, 'n'},
	    {"class", required_argument, NULL, 'C'},
	    {"default-class", no_argument, NULL, 'D'},
	    {"vip-pool", required_argument, NULL, 'p'},
	    {"allow-vip", required_argument, NULL, 'a'},
	    {"allow-backend", required_argument, NULL, 'b'},
	    {"vip-interface", required_argument, NULL, 'I'},
	    {"max-ports-per-service", required_argument, NULL, 'm'},
	    {"max-services-per-namespace", required_argument, NULL, 'N'},
	    {"max-services", required_argument, NULL, 'M'},
	    {"output", required_argument, NULL, 'o'},
	    {"pidfile", required_argument, NULL, 'P'},
	    {"reload-command", required_argument, NULL, 'R'},
	    {"once", no_argument, NULL, '1'},
	    {"debounce", required_argument, NULL, 'd'},
	    {"watch-timeout", required_argument, NULL, 'T'},
	    {"ip-mode", required_argument, NULL, 'i'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt, r;

	memset(o, 0, sizeof(*o));
	o->watch.sync.render.lb_class = DEFAULT_CLASS;
	o->watch.sync.render.pools = o->pools;
	o->watch.sync.render.policy = (struct k8s_policy){
	    .allow_vip = o->allow_vip,
	    .allow_backend = o->allow_backend,
	    .max_ports = DEFAULT_MAX_PORTS,
	    .max_per_ns = DEFAULT_MAX_PER_NS,
	    .max_services = DEFAULT_MAX_SERVICES,
	};
	o->vip_interface = DEFAULT_VIP_INTERFACE;
	o->watch.sync.output = DEFAULT_OUTPUT;
	o->watch.debounce = 0.2;
	o->watch.watch_timeout = 300;
	o->watch.backoff_max = 30;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		r = set_option(o, opt, optarg);
		if (r)
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, "extlb-k8s: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return -1;
	}
	return check_options(o);
}

/* Connects and runs one pass, or watches.  The exit status. */
static int run(const struct options *o)
{
	struct k8s_kubeconfig kc;
	struct k8s_client *c;
	struct k8s_state st;
	char err[1024];
	int r = 1;

	if (k8s_kubeconfig_resolve(o->kubeconfig, o->context, &kc, err,
				   sizeof(err)) < 0) {
		k8s_err("%s", err);
		return 1;
	}
	k8s_info("API server %s (%s)", kc.server, kc.source);
	/* the mode the unit runs: worth a word at start, as nothing else
	 * says how the file reaches extlbd */
	if (!o->watch.sync.pidfile && !o->watch.sync.reload_cmd)
		k8s_info("writing %s only: extlbd applies it by itself with "
			 "watch_include_dir = true, else at its next reload",
			 o->watch.sync.output);
	c = k8s_client_new(&kc, err, sizeof(err));
	if (!c) {
		k8s_err("%s", err);
		k8s_kubeconfig_free(&kc);
		return 1;
	}
	if (o->once) {
		k8s_state_init(&st);
		if (k8s_sync_list(c, &o->watch.sync, &st) == 0 &&
		    k8s_sync_apply(c, &o->watch.sync, &st) == 0)
			r = 0;
		k8s_state_free(&st);
	} else {
		/* a request may not outlast a burst of changes by much */
		k8s_client_set_timeout(c, 30);
		r = k8s_watch_run(c, &o->watch);
	}
	k8s_client_free(c);
	k8s_kubeconfig_free(&kc);
	return r;
}

/*
 * The host's own addresses, which no Service may take as its VIP: read
 * once, at start-up (an address added later is not seen until a
 * restart).  Those of --vip-interface are extlbd's VIPs, which we
 * published ourselves.  0, or -1 (logged).
 */
static int read_host_addrs(struct options *o, struct k8s_addr **host)
{
	struct k8s_policy *p = &o->watch.sync.render.policy;
	char why[256], buf[K8S_ADDRSTR_MAX];

	if (k8s_host_addrs(o->vip_interface, host, &p->nhost, why,
			   sizeof(why)) < 0) {
		k8s_err("%s", why);
		return -1;
	}
	p->host = *host;
	for (size_t i = 0; i < p->nhost; i++)
		k8s_debug("host address %s: refused as a VIP unless "
			  "--allow-vip names it",
			  k8s_addr_str(&p->host[i], buf));
	return 0;
}

/* --max-services exists to keep extlbd from refusing the whole file:
 * say so when it is set where it cannot. */
static void check_max_services(const struct k8s_policy *p)
{
	if (!p->max_services || p->max_services >= EXTLBD_MAX_SERVICES)
		k8s_warn("--max-services %zu is not below extlbd's default "
			 "max_services (%d): unless extlbd's is raised above "
			 "it, extlbd may refuse the whole file",
			 p->max_services, EXTLBD_MAX_SERVICES);
}

int main(int argc, char **argv)
{
	struct options o;
	struct k8s_addr *host = NULL;
	int r = parse_options(&o, argc, argv);

	if (r)
		return r > 0 ? 0 : 2;
	k8s_log_set_level(o.verbose ? K8S_LOG_DEBUG : K8S_LOG_INFO);
	check_max_services(&o.watch.sync.render.policy);
	if (read_host_addrs(&o, &host) < 0)
		return 1;
	/* a peer that closes a TLS connection must not kill us */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		k8s_err("cannot initialise libcurl");
		free(host);
		return 1;
	}
	r = run(&o);
	curl_global_cleanup();
	free(host);
	return r;
}
