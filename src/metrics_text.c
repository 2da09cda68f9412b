/*
 * metrics_text.c - the body of a scrape, in Prometheus's text format, a
 * piece at a time.
 *
 * At 10,000 services x 10 servers a scrape is tens of megabytes (a
 * histogram of eleven lines per server, unless metrics_servers leaves the
 * check families out), so it is never built whole: each
 * call of xl_metrics_scrape_read produces what fills the reader's buffer,
 * a family header or one service's samples of a family at a time, and the
 * loop runs between calls.  The format wants each family's samples
 * together, so the scrape goes family by family over the services; the
 * kernel's counters of a service are read once, when the first family
 * that needs them reaches it (one request for the service and one for its
 * servers), and kept in the scrape's compact arrays for the families that
 * follow.
 *
 * A reload between two calls frees the configuration the scrape walks.
 * Rather than pin it, the scrape notices (the configuration's generation
 * moved) and ends in an error: the client sees a broken response, not a
 * mixture of two configurations, and the next scrape is whole.  Reloads
 * are rare beside scrapes every few seconds.
 */
#include "metrics.h"

#include "sync.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text format -------------------------------------------------- */

static bool prom_reserve(struct xl_prom_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (XL_GROW(b->p, b->cap, b->len + more + 1, 1) < 0) {
		b->oom = true;
		return false;
	}
	return true;
}

void xl_prom_printf(struct xl_prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!prom_reserve(b, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!prom_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void xl_prom_free(struct xl_prom_buf *b)
{
	free(b->p);
	*b = (struct xl_prom_buf){0};
}

/* v with \ and newline escaped, and " too when quoted (label values; HELP
 * text is not quoted). */
static void prom_escaped(struct xl_prom_buf *b, const char *v, bool quoted)
{
	size_t n = strlen(v);

	if (!prom_reserve(b, 2 * n))
		return;
	for (; *v; v++) {
		if (*v == '\\' || (*v == '"' && quoted)) {
			b->p[b->len++] = '\\';
			b->p[b->len++] = *v;
		} else if (*v == '\n') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = 'n';
		} else {
			b->p[b->len++] = *v;
		}
	}
	b->p[b->len] = '\0';
}

void xl_prom_label_value(struct xl_prom_buf *b, const char *v)
{
	prom_escaped(b, v, true);
}

void xl_prom_family(struct xl_prom_buf *b, const char *name, const char *type,
		    const char *help)
{
	xl_prom_printf(b, "# HELP %s ", name);
	prom_escaped(b, help, false);
	xl_prom_printf(b, "\n# TYPE %s %s\n", name, type);
}

void xl_prom_histogram(struct xl_prom_buf *b, const char *name,
		       const char *labels, const double *bounds,
		       const uint64_t *counts, size_t n, uint64_t count,
		       double sum)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0;

	for (size_t i = 0; i < n; i++) {
		cum += counts[i];
		xl_prom_printf(b, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n",
			       name, labels, sep, bounds[i], cum);
	}
	xl_prom_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name,
		       labels, sep, count);
	if (labels[0]) {
		xl_prom_printf(b, "%s_sum{%s} %.9g\n", name, labels, sum);
		xl_prom_printf(b, "%s_count{%s} %" PRIu64 "\n", name, labels,
			       count);
	} else {
		xl_prom_printf(b, "%s_sum %.9g\n", name, sum);
		xl_prom_printf(b, "%s_count %" PRIu64 "\n", name, count);
	}
}

/* ---- the families ----------------------------------------------------- */

enum fam {
	F_RELOADS,
	F_LAST_RELOAD,
	F_GENERATION,
	F_OPS_APPLIED,
	F_OPS_REFUSED,
	F_RESYNC,
	F_SVC_CONNS, /* the first per-service family: reads the kernel */
	F_SVC_PACKETS,
	F_SVC_BYTES,
	F_SVC_QUORUM,
	F_SRV_UP, /* metrics_servers = "state" stops before F_SRV_DURATION */
	F_SRV_WEIGHT,
	F_SRV_EFFECTIVE,
	F_SRV_DURATION,
	F_SRV_RESULTS,
	F_END,
};

static const struct {
	const char *name, *type, *help;
} fams[F_END] = {
    [F_RELOADS] = {"extlb_reloads_total", "counter",
		   "Configuration reloads (SIGHUP, include_dir changes), by "
		   "result: success put the file in force, failure left the "
		   "running configuration in force."},
    [F_LAST_RELOAD] = {"extlb_config_last_reload_success_timestamp_seconds",
		       "gauge",
		       "When the configuration in force was read (start-up or "
		       "the last successful reload), in seconds since the "
		       "epoch."},
    [F_GENERATION] = {"extlb_config_generation", "gauge",
		      "The configuration in force: 1 at start-up, one more at "
		      "every successful reload."},
    [F_OPS_APPLIED] = {"extlb_ops_applied_total", "counter",
		       "IPVS operations the kernel acknowledged."},
    [F_OPS_REFUSED] = {"extlb_ops_refused_total", "counter",
		       "IPVS operations the kernel refused (each is logged and "
		       "retried)."},
    [F_RESYNC] = {"extlb_resync_corrections_total", "counter",
		  "IPVS operations a resync applied because the kernel no "
		  "longer held what extlbd had set."},
    [F_SVC_CONNS] = {"extlb_service_connections_total", "counter",
		     "Connections the kernel scheduled to the virtual service "
		     "since it was added."},
    [F_SVC_PACKETS] = {"extlb_service_packets_total", "counter",
		       "Packets of the virtual service since it was added, by "
		       "direction (in: from clients, out: to clients)."},
    [F_SVC_BYTES] = {"extlb_service_bytes_total", "counter",
		     "Bytes of the virtual service since it was added, by "
		     "direction (in: from clients, out: to clients)."},
    [F_SVC_QUORUM] = {"extlb_service_quorum", "gauge",
		      "1 while the live weight of the service's servers meets "
		      "its quorum, 0 when lost (absent while servers are still "
		      "unknown)."},
    [F_SRV_UP] = {"extlb_server_up", "gauge",
		  "1 when the real server passes its health checks, 0 when "
		  "it is down."},
    [F_SRV_WEIGHT] = {"extlb_server_weight", "gauge",
		      "The real server's weight in the configuration."},
    [F_SRV_EFFECTIVE] = {"extlb_server_effective_weight", "gauge",
			 "The real server's weight in the kernel now (0 when "
			 "it is not there: down, draining, or refused)."},
    [F_SRV_DURATION] = {"extlb_server_check_duration_seconds", "histogram",
			"How long the real server's health checks took."},
    [F_SRV_RESULTS] = {"extlb_server_check_results_total", "counter",
		       "Results of the real server's health checks, by "
		       "result (error: the check itself could not run)."},
};

/* services read from the kernel per call of the reader, at most */
#define XL_SCRAPE_READS 128

/* The kernel's view of one service, as the scrape keeps it. */
enum { K_UNREAD, K_ABSENT, K_READ };

struct xl_metrics_scrape {
	struct xl_metrics_source src;
	const struct xl_config *cfg; /* in force when the scrape began */
	uint64_t gen;
	enum fam fam;
	bool header_done;
	size_t i; /* next service of a per-service family */
	struct xl_prom_buf out, lab;
	size_t off;	/* of out, already handed to the reader */
	unsigned reads; /* kernel reads in this call of the reader */
	/* the kernel's counters, by service; effective weights by server
	 * (first[i] + rs) */
	unsigned char *kstate;
	struct xl_ipvs_stats *kstats;
	int32_t *eff;
	size_t *first;
};

struct xl_metrics_scrape *
xl_metrics_scrape_new(const struct xl_metrics_source *src)
{
	struct xl_metrics_scrape *s = calloc(1, sizeof(*s));
	const struct xl_config *c = *src->cfg;
	size_t nsrv = 0, n = c->nvs ? c->nvs : 1;

	if (!s)
		return NULL;
	s->src = *src;
	s->cfg = c;
	s->gen = src->counters->generation;
	s->kstate = calloc(n, 1);
	s->kstats = calloc(n, sizeof(*s->kstats));
	s->first = calloc(n, sizeof(*s->first));
	if (s->first)
		for (size_t i = 0; i < c->nvs; i++) {
			s->first[i] = nsrv;
			nsrv += c->vs[i].svc.ndests;
		}
	s->eff = calloc(nsrv ? nsrv : 1, sizeof(*s->eff));
	if (!s->kstate || !s->kstats || !s->first || !s->eff) {
		xl_metrics_scrape_free(s);
		return NULL;
	}
	return s;
}

void xl_metrics_scrape_free(struct xl_metrics_scrape *s)
{
	if (!s)
		return;
	xl_prom_free(&s->out);
	xl_prom_free(&s->lab);
	free(s->kstate);
	free(s->kstats);
	free(s->eff);
	free(s->first);
	free(s);
}

/* Service i as the kernel holds it, read once. */
static void kernel_read(struct xl_metrics_scrape *s, size_t i)
{
	const struct xl_service *want = &s->cfg->vs[i].svc;
	struct xl_service k;

	if (s->kstate[i] != K_UNREAD)
		return;
	s->kstate[i] = K_ABSENT;
	s->reads++;
	if (!s->src.kops ||
	    s->src.kops->get_service(s->src.kernel, want, &k) < 0)
		return;
	s->kstate[i] = K_READ;
	s->kstats[i] = k.stats;
	/* both sorted by identity?  The configuration's servers are in file
	 * order: look each up (a few per service) */
	for (size_t r = 0; r < want->ndests; r++)
		for (size_t j = 0; j < k.ndests; j++)
			if (!xl_dest_cmp(&want->dests[r], &k.dests[j])) {
				s->eff[s->first[i] + r] = k.dests[j].weight;
				break;
			}
	xl_service_free(&k);
}

/* `service="web"` into s->lab */
static const char *svc_labels(struct xl_metrics_scrape *s, size_t i)
{
	s->lab.len = 0;
	xl_prom_printf(&s->lab, "service=\"");
	xl_prom_label_value(&s->lab, s->cfg->vs[i].name);
	xl_prom_printf(&s->lab, "\"");
	return s->lab.oom ? "" : s->lab.p;
}

/* `service="web",server="10.20.0.5:80"` into s->lab */
static const char *srv_labels(struct xl_metrics_scrape *s, size_t i, size_t r)
{
	char d[XL_ADDRSTR_MAX + 8];

	svc_labels(s, i);
	xl_prom_printf(&s->lab, ",server=\"");
	xl_prom_label_value(
	    &s->lab, xl_dest_format(&s->cfg->vs[i].svc.dests[r], d, sizeof(d)));
	xl_prom_printf(&s->lab, "\"");
	return s->lab.oom ? "" : s->lab.p;
}

static void global_sample(struct xl_metrics_scrape *s)
{
	const struct xl_metrics_counters *c = s->src.counters;
	struct xl_prom_buf *b = &s->out;
	const char *name = fams[s->fam].name;

	switch (s->fam) {
	case F_RELOADS:
		xl_prom_printf(b, "%s{result=\"success\"} %" PRIu64 "\n", name,
			       c->reloads_ok);
		xl_prom_printf(b, "%s{result=\"failure\"} %" PRIu64 "\n", name,
			       c->reloads_failed);
		break;
	case F_LAST_RELOAD:
		xl_prom_printf(b, "%s %.3f\n", name, c->last_reload_ok);
		break;
	case F_GENERATION:
		xl_prom_printf(b, "%s %" PRIu64 "\n", name, c->generation);
		break;
	case F_OPS_APPLIED:
		xl_prom_printf(b, "%s %" PRIu64 "\n", name, c->ops_applied);
		break;
	case F_OPS_REFUSED:
		xl_prom_printf(b, "%s %" PRIu64 "\n", name, c->ops_refused);
		break;
	case F_RESYNC:
		xl_prom_printf(b, "%s %" PRIu64 "\n", name,
			       c->resync_corrections);
		break;
	default:
		break;
	}
}

static void in_out(struct xl_prom_buf *b, const char *name, const char *lab,
		   uint64_t in, uint64_t out)
{
	xl_prom_printf(b, "%s{%s,direction=\"in\"} %" PRIu64 "\n", name, lab,
		       in);
	xl_prom_printf(b, "%s{%s,direction=\"out\"} %" PRIu64 "\n", name, lab,
		       out);
}

static const char *const result_names[3] = {"success", "failure", "error"};

static void server_samples(struct xl_metrics_scrape *s, size_t i, size_t r)
{
	struct xl_prom_buf *b = &s->out;
	const char *name = fams[s->fam].name, *lab = srv_labels(s, i, r);
	struct xl_health_info h;

	switch (s->fam) {
	case F_SRV_WEIGHT:
		xl_prom_printf(b, "%s{%s} %d\n", name, lab,
			       s->cfg->vs[i].svc.dests[r].weight);
		return;
	case F_SRV_EFFECTIVE:
		xl_prom_printf(b, "%s{%s} %d\n", name, lab,
			       s->eff[s->first[i] + r]);
		return;
	default:
		break;
	}
	if (xl_health_info(s->src.health, i, r, &h) < 0)
		return;
	switch (s->fam) {
	case F_SRV_UP:
		xl_prom_printf(b, "%s{%s} %d\n", name, lab, h.up ? 1 : 0);
		break;
	case F_SRV_DURATION:
		xl_prom_histogram(b, name, lab, xl_health_buckets, h.buckets,
				  XL_HEALTH_NBUCKETS,
				  h.results[0] + h.results[1] + h.results[2],
				  h.duration_sum);
		break;
	case F_SRV_RESULTS:
		for (size_t k = 0; k < XL_ARRAY_SIZE(result_names); k++)
			xl_prom_printf(b, "%s{%s,result=\"%s\"} %" PRIu64 "\n",
				       name, lab, result_names[k],
				       h.results[k]);
		break;
	default:
		break;
	}
}

static void service_samples(struct xl_metrics_scrape *s, size_t i)
{
	struct xl_prom_buf *b = &s->out;
	const char *name = fams[s->fam].name;
	const struct xl_ipvs_stats *k = &s->kstats[i];
	enum xl_health_quorum q;

	kernel_read(s, i);
	switch (s->fam) {
	case F_SVC_CONNS:
		if (s->kstate[i] == K_READ)
			xl_prom_printf(b, "%s{%s} %" PRIu64 "\n", name,
				       svc_labels(s, i), k->conns);
		return;
	case F_SVC_PACKETS:
		if (s->kstate[i] == K_READ)
			in_out(b, name, svc_labels(s, i), k->inpkts,
			       k->outpkts);
		return;
	case F_SVC_BYTES:
		if (s->kstate[i] == K_READ)
			in_out(b, name, svc_labels(s, i), k->inbytes,
			       k->outbytes);
		return;
	case F_SVC_QUORUM:
		q = xl_health_quorum(s->src.health, i);
		if (q != XL_QUORUM_UNKNOWN)
			xl_prom_printf(b, "%s{%s} %d\n", name, svc_labels(s, i),
				       q == XL_QUORUM_OK ? 1 : 0);
		return;
	default:
		break;
	}
	for (size_t r = 0; r < s->cfg->vs[i].svc.ndests; r++)
		server_samples(s, i, r);
}

/* Does metrics_servers let family f into the scrape? */
static bool fam_on(const struct xl_metrics_scrape *s, enum fam f)
{
	switch (s->cfg->metrics_servers) {
	case XL_METRICS_SERVERS_NONE:
		return f < F_SRV_UP;
	case XL_METRICS_SERVERS_STATE:
		return f < F_SRV_DURATION;
	default:
		return true;
	}
}

/* The next piece of the body into s->out. */
static void step(struct xl_metrics_scrape *s)
{
	if (!s->header_done && !fam_on(s, s->fam)) {
		s->fam++;
		return;
	}
	if (!s->header_done) {
		xl_prom_family(&s->out, fams[s->fam].name, fams[s->fam].type,
			       fams[s->fam].help);
		s->header_done = true;
		s->i = 0;
		return;
	}
	if (s->fam < F_SVC_CONNS)
		global_sample(s);
	else if (s->i < s->cfg->nvs)
		service_samples(s, s->i++);
	if (s->fam < F_SVC_CONNS || s->i >= s->cfg->nvs) {
		s->fam++;
		s->header_done = false;
	}
}

ssize_t xl_metrics_scrape_read(struct xl_metrics_scrape *s, char *buf,
			       size_t max)
{
	size_t n;

	if (*s->src.cfg != s->cfg || s->src.counters->generation != s->gen)
		return -1; /* reloaded mid-scrape */
	if (s->off) {
		memmove(s->out.p, s->out.p + s->off, s->out.len - s->off);
		s->out.len -= s->off;
		s->off = 0;
	}
	/* a block of the first kernel family is hundreds of services, each
	 * two requests: fewer bytes per call keep the loop's turns short
	 * (but never none before the end, which would end the body) */
	s->reads = 0;
	while (
	    s->fam < F_END && !s->out.oom && !s->lab.oom &&
	    (!s->out.len || (s->out.len < max && s->reads < XL_SCRAPE_READS)))
		step(s);
	if (s->out.oom || s->lab.oom)
		return -1;
	n = s->out.len < max ? s->out.len : max;
	if (n)
		memcpy(buf, s->out.p, n);
	s->off = n;
	return (ssize_t)n;
}

void xl_metrics_count_run(struct xl_metrics_counters *c, const char *why,
			  const struct xl_sync_result *r)
{
	uint64_t ok;

	if (!r || r->failed < 0)
		return;
	ok = r->nops >= (size_t)r->failed ? r->nops - (size_t)r->failed : 0;
	c->ops_applied += ok;
	c->ops_refused += (uint64_t)r->failed;
	if (!strcmp(why, "resync"))
		c->resync_corrections += ok;
}
