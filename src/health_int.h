/*
 * health_int.h - the health engine's state, shared by its two files:
 * health.c (the state machine, the scheduler, configure) and
 * health_report.c (what the engine tells: quorum judged and logged, each
 * server's record for status and metrics, the summary of servers down).
 * Nothing outside those two includes it.
 */
#ifndef EXTLB_HEALTH_INT_H
#define EXTLB_HEALTH_INT_H

#include "health.h"
#include "health_impl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quorum_state { Q_UNKNOWN, Q_OK, Q_LOST };

/* The record of a server's results, for status and metrics: the reason of
 * the last failure only while it is the last result (NULL otherwise), so
 * that the up servers, most of them, cost no string. */
struct hc_record {
	char *reason;
	double at, elapsed, sum;
	uint64_t results[3];
	uint64_t buckets[XL_HEALTH_NBUCKETS];
	enum xl_check_status status;
	bool checked;
};

struct hc_vs;

struct hc_server {
	struct xl_probe probe;
	ev_timer timer; /* the next probe start */
	struct xl_health *h;
	struct hc_vs *g;		   /* its service */
	const struct xl_check_config *cfg; /* in h->cfg */
	size_t rs;			   /* its index in the service */
	struct xl_service key;		   /* identity only, no dests */
	struct xl_dest id;		   /* identity and weight */
	ev_tstamp started;		   /* of the last probe */
	uint32_t ok, fail;		   /* consecutive results */
	struct hc_record rec;
	bool up;
	bool off;     /* in maintenance: counts nothing towards quorum */
	bool failed;  /* has been down because of failures: needs rise */
	bool settled; /* state known: trusted, or checked at least once */
	bool
	    from_start; /* configured at start-up (or replacing one that was) */
	bool busy;	/* a probe is running */
	/* during a configure: */
	bool matched;  /* old server kept as it is */
	bool replaced; /* old server whose identity goes on with a new check */
	bool has_prev; /* new server replacing one, which was up if prev_up */
	bool prev_up;
};

/*
 * Per virtual service: its servers, and what quorum logging needs.  A
 * reload that leaves the service unchanged moves the whole group.
 */
struct hc_vs {
	size_t v; /* index into h->cfg->vs */
	struct hc_server **srv;
	size_t n;
	uint64_t live;	  /* sum of the weights of up servers not off */
	size_t unsettled; /* servers whose state is not known yet */
	enum quorum_state q;
	bool dirty; /* in h->dirty, to be looked at */
	/* during a configure: */
	bool kept;  /* old group taken over whole */
	bool carry; /* ... that was dirty: touched again after */
};

struct xl_health {
	struct ev_loop *loop;
	struct xl_checker *ck;
	xl_health_changed_fn changed;
	void *arg;
	struct xl_health_probe_ops ops;

	const struct xl_config *cfg;
	const struct xl_maint *maint; /* the owner's; NULL: none */
	struct hc_vs **vss;	      /* cfg->nvs groups, in cfg order */
	size_t nvs, nsrv;
	size_t *dirty; /* vs indexes whose quorum may have moved */
	size_t ndirty;

	ev_prepare notify; /* runs once after an iteration with changes */
	bool pending;	   /* owner's changed() is due */

	uint64_t rng;
	unsigned long started, done, errors;
	unsigned configures; /* 1 until the first reload */
	ev_timer summary;    /* servers down, every log_down_interval */
	bool err_logged;
	ev_tstamp err_last;
	unsigned long err_quiet;
};

/* ---- health.c ---------------------------------------------------------- */

/* `real server 10.20.0.5:80 of "web" (TCP 192.168.10.100:8000)` */
const char *hc_srv_label(const struct hc_server *s, char *buf, size_t len);
/* v's quorum is looked at, and the owner told, after this loop iteration */
void hc_vs_touch(struct xl_health *h, size_t v);
/* server rs of service vs, or NULL */
struct hc_server *hc_srv_at(const struct xl_health *h, size_t vs, size_t rs);

/* ---- health_report.c --------------------------------------------------- */

/* What s adds to its service's live weight: its weight while it is up and
 * not in maintenance. */
uint64_t hc_srv_live(const struct hc_server *s);
/* Is s, server of cfg->vs[v], in the operator's maintenance? */
bool hc_srv_off(const struct xl_health *h, const struct xl_config *cfg,
		size_t v, const struct hc_server *s);
/* Judges v's quorum again and logs a change. */
void hc_quorum_check(struct xl_health *h, size_t v);
/* Adds a result to s's record. */
void hc_srv_record(struct hc_server *s, const struct xl_check_result *r);
/* The summary of servers down: its timer's callback, and following
 * log_down_interval after a configure. */
void hc_summary_cb(struct ev_loop *loop, ev_timer *w, int revents);
void hc_summary_follow(struct xl_health *h);

#endif
