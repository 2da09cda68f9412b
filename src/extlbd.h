/*
 * extlbd.h - the daemon's state, shared by the files of the daemon alone.
 *
 * extlbd.c owns the options, the lifecycle, the signals and the timers;
 * apply.c the runs that bring the kernel to the desired table; reload.c
 * reads the configuration (at start and at every reload) and puts a new
 * one in force; handover.c takes over what the kernel holds at start and
 * leaves it at stop; ctl_cmds.c answers the control socket's commands.
 */
#ifndef EXTLB_EXTLBD_H
#define EXTLB_EXTLBD_H

#include "check.h"
#include "config.h"
#include "ctl.h"
#include "desired.h"
#include "drain.h"
#include "health.h"
#include "incwatch.h"
#include "ipvs.h"
#include "kset.h"
#include "metrics.h"
#include "maint.h"
#include "nft.h"
#include "sync.h"
#include "vipif.h"

#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What one reload did, for the control client that asked for it. */
struct xl_reload_report {
	bool applied;		   /* the new configuration is in force */
	struct xl_errors errors;   /* why not: "file:line: message" each */
	struct xl_errors refused;  /* include_dir refusals (applied anyway) */
	struct xl_sync_result run; /* the kernel runs that followed, summed */
};

#define XL_OPS_LOGGED 200    /* above this many ops, each is logged at debug */
#define XL_RESYNC_SLICE 1000 /* services read back per resync step, at most */

struct xl_daemon {
	struct ev_loop *loop;
	const char *conf_path;
	const char *pidfile;
	struct xl_config *cfg;
	struct xl_ipvs *ipvs;
	struct xl_sync *sync;
	struct xl_nft *nft; /* snat and allowed_sources (nftables) */
	struct xl_checker *checker;
	struct xl_health *health;
	struct xl_incwatch *incwatch; /* include_dir changes, when asked */
	struct xl_rtnl *rtnl;	      /* rtnetlink, opened on first use */
	struct xl_vipif *vipif;	      /* the VIPs on vip_interface */
	double read_at; /* when d->cfg was read (the wall clock's seconds) */
	ev_signal sighup, sigterm, sigint;
	ev_timer resync;    /* periodic comparison with a fresh dump */
	ev_timer health_tw; /* health changes of one iteration, applied once */
	ev_timer drain_tw;  /* polls the connections of draining servers */
	ev_timer retry;	    /* refused ops, or a sync that could not run */
	struct xl_drain drain;
	struct xl_desired want; /* configuration + health + drains */
	size_t resync_pos;    /* next service of want a rolling resync reads */
	struct xl_keys hkeys; /* services health changed, not yet applied */
	struct xl_kset kset;  /* ipvs_timeouts, ipvs_sysctls in the kernel */
	struct xl_ctl *ctl;   /* the control socket (ctl_cmds.c) */
	struct xl_reload_report *report; /* set while a control reload runs */
	struct xl_metrics *metrics;	 /* metrics_listen, when set */
	/* during a reload's run: the snapshot it replaces, whose names the
	 * log lines of what it removes still use */
	const struct xl_config *cfg_prev;
	struct xl_metrics_counters counters; /* what metrics count */
	struct xl_metrics_source msrc;	     /* what a scrape reads */
	struct xl_maint maint; /* servers disabled by the operator */
	ev_signal sigusr1, sigusr2;
	struct xl_status_dump *dump; /* a SIGUSR1 dump under way */
};

/* options.c: the command line. */
struct xl_options {
	const char *conf;    /* absolute after xl_daemon_options, but for -t */
	const char *pidfile; /* NULL, or absolute */
	bool foreground, console, check;
	char conf_buf[PATH_MAX], pid_buf[PATH_MAX];
};
/* 0, or -1 after the usage (or why) on stderr; -v and -h print and exit.
 * Relative paths are made absolute against the working directory, which
 * daemon() leaves for "/": a reload reads the file extlbd started with
 * (-t alone keeps them as given, for its messages). */
int xl_daemon_options(int argc, char **argv, struct xl_options *o);
/* options.c: the process id written to path; 0 or -1 (logged). */
int xl_daemon_pidfile(const char *path);

/* extlbd.c: the retry timer armed, if it is not yet. */
void xl_daemon_retry_later(struct xl_daemon *d);
/* extlbd.c: a reload as SIGHUP makes it, what it did kept in rep. */
void xl_daemon_reload_report(struct xl_daemon *d, struct xl_reload_report *rep);

/* ctl_cmds.c: the control socket opened as d->cfg says (0, or -1 logged),
 * moved after a reload that changed it, closed at stop. */
int xl_daemon_ctl_open(struct xl_daemon *d);
void xl_daemon_ctl_follow(struct xl_daemon *d);
void xl_daemon_ctl_close(struct xl_daemon *d);

/* apply.c: the name of the service svc names, for log lines (sync.h's
 * xl_sync_name_fn; arg: the daemon). */
const char *xl_daemon_svc_name(void *arg, const struct xl_service *svc);
/* apply.c: the desired table rebuilt whole and the kernel brought to it
 * (start-up, resync, and whenever a narrower run cannot be made). */
int xl_daemon_sync_full(struct xl_daemon *d, const char *why, bool quiet);
/* apply.c: only the services k names can differ from what the kernel was
 * last brought to: the entries of the first nstale are rebuilt, then those
 * services alone reconciled.  Falls back to the full run. */
int xl_daemon_sync_keys(struct xl_daemon *d, const char *why, bool quiet,
			const struct xl_keys *k, size_t nstale);
/* apply.c: how many steps a resync round takes (1: a whole dump). */
size_t xl_daemon_resync_slices(const struct xl_daemon *d);
/* apply.c: one resync step; true when it compared the whole table. */
bool xl_daemon_resync_step(struct xl_daemon *d);
/* apply.c: ipvs_timeouts and ipvs_sysctls read back and put right (after
 * d->ipvs is open: the settings exist once ip_vs is loaded). */
void xl_daemon_kset_apply(struct xl_daemon *d, const char *why);
/* apply.c: the services of refused ops read back and put right. */
void xl_daemon_retry(struct xl_daemon *d);
/* apply.c: the services of health changes kept (by key: a reload may come
 * before they are applied) for the next xl_daemon_sync_keys. */
void xl_daemon_health_changed(struct xl_daemon *d, const size_t *vs, size_t n);
/* apply.c: the drains that are over end, and their servers go. */
void xl_daemon_drain_step(struct xl_daemon *d, double now);

/* reload.c: the heap grows in large steps while a configuration is read
 * and applied (large), in glibc's own afterwards. */
void xl_daemon_heap_steps(bool large);
/* reload.c: the configuration read for start-up, every error printed on
 * stderr; NULL when it is invalid. */
struct xl_config *xl_daemon_load(const char *path);
/* reload.c: -t: what a check of the configuration prints (the refused
 * on err, the rest on out); the control socket's check-config too. */
void xl_daemon_print_check(FILE *out, FILE *err, const char *path,
			   const struct xl_config *c);
/* reload.c: include_dir files refused, logged as warnings. */
void xl_daemon_log_refused(const struct xl_config *c);
/* reload.c: d->conf_path read again and, when valid, put in force. */
void xl_daemon_reload(struct xl_daemon *d);

/* handover.c: what the kernel holds read first, the configuration's
 * services adopted from it, then the whole desired table applied.  0 or
 * -1. */
int xl_daemon_adopt(struct xl_daemon *d);
/* handover.c: at stop, what on_stop says is left in the kernel. */
void xl_daemon_release(struct xl_daemon *d);

/* maint_ctl.c: the maintenance flags read from the state file (start-up)
 * and, at start and after a reload, the flags that name no configured
 * server listed. */
void xl_daemon_maint_load(struct xl_daemon *d);
void xl_daemon_maint_reloaded(struct xl_daemon *d);

/* status_daemon.c: the status written to the log a few services per
 * loop iteration (SIGUSR1, SIGUSR2); why names the signal. */
void xl_daemon_dump(struct xl_daemon *d, const char *why);
/* status_daemon.c: the signals keepalived's users send by habit: SIGUSR1
 * and SIGUSR2 dump the status; SIGPIPE is ignored (a client gone is an
 * error on its socket, not the end of the daemon). */
void xl_daemon_habit_signals(struct xl_daemon *d);
void xl_daemon_dump_stop(struct xl_daemon *d);

#endif
