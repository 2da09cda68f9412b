/*
 * config.h - /etc/extlb.conf parsed and validated into an immutable snapshot.
 *
 * xl_config_load() reads the main file and every *.conf of include_dir, and
 * either returns a complete snapshot or NULL with every problem it found,
 * each "file:line: message".  Nothing in a snapshot is changed after load;
 * a reload builds a new one and the old one stays in force if it fails.
 */
#ifndef EXTLB_CONFIG_H
#define EXTLB_CONFIG_H

#include "check_rules.h"
#include "kset.h"
#include "model.h"
#include "rules.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum xl_on_stop { XL_ON_STOP_KEEP, XL_ON_STOP_REMOVE };
/* When a service's VIP is on vip_interface: always, or while it has
 * quorum (live weight >= quorum). */
enum xl_announce { XL_ANNOUNCE_ALWAYS, XL_ANNOUNCE_QUORUM };

/* metrics_servers: which per-server families a scrape has */
enum xl_metrics_servers {
	XL_METRICS_SERVERS_ALL,	  /* state, weights, check results, durations */
	XL_METRICS_SERVERS_STATE, /* up and the two weights */
	XL_METRICS_SERVERS_NONE,  /* services and globals alone */
};

/*
 * One check, after inheritance (global -> service -> real server).  Which
 * fields a type reads, and how they are set, its descriptor says
 * (check_types.h).
 */
struct xl_check_config {
	enum xl_check_type type;
	double interval; /* seconds */
	double timeout;
	double fast_interval; /* while changing state; 0: interval */
	double down_interval; /* while down; 0: interval */
	uint32_t rise;
	uint32_t fall;
	bool initial_up; /* initial_state = "up" */

	bool has_connect_ip;
	uint16_t connect_af;
	union xl_inaddr connect_ip;
	int32_t connect_port; /* -1: the real server's */

	/* http, https */
	char *method; /* "GET" */
	char *path;   /* "/" */
	char *host;   /* NULL: none */
	struct xl_status_range status[XL_STATUS_MAX];
	size_t nstatus; /* 0: 200-299 */
	char *expect;	/* body substring (http) or reply substring (udp) */
	bool tls_verify;
	char *ca_file;
	char *sni;

	/* udp */
	char *send;

	/* script */
	char *command;
	char *user; /* "nobody" */
};

struct xl_vs_share;

/* What a service asks of nftables (nft.h); set by config_nft.c. */
struct xl_vs_nft {
	bool snat;	  /* masquerade (or snat_addr) what IPVS forwards */
	uint16_t snat_af; /* 0: the host's address, chosen by masquerade */
	union xl_inaddr snat_addr;
	struct xl_cidr *sources; /* allowed_sources (rules.h), sorted by
				  * xl_cidr_cmp; NULL: all */
	size_t nsources;
};

struct xl_rs_config {
	const char *file; /* one of xl_config.files */
	int line;
	/* the check it runs (xl_rs_check): its own when it sets a check
	 * group, else its service's reals_check; NULL: the service's check */
	struct xl_check_config *check;
};

struct xl_vs_config {
	char *name;
	const char *file;
	int line;

	/* svc.dests[i] is the real server described by reals[i] */
	struct xl_service svc;
	struct xl_rs_config *reals;
	/* the one copy of check that real servers without a check group of
	 * their own point to, kept in the same block as reals so that it
	 * moves with them when a reload takes the service over */
	struct xl_check_config *reals_check;

	struct xl_check_config check;
	double drain_timeout;
	bool inhibit_on_failure;
	bool has_sorry;
	struct xl_dest sorry; /* same forwarding as the service's reals */
	uint32_t quorum;
	enum xl_announce announce;
	struct xl_vs_nft nft;

	/* xl_config_reload: the index in prev of a service equal to this one
	 * in every setting, or XL_VS_NONE (new, or changed) */
	size_t prev;
	/* a service taken over from prev shares what it points to (reals,
	 * svc.dests, name, file, check strings) with it; config.c's own */
	struct xl_vs_share *share;
};

#define XL_VS_NONE ((size_t)-1)

/* Equal in every setting: a reload that changes any keeps a service from
 * being taken over whole, and restarts the checks of the servers it runs. */
bool xl_check_equal(const struct xl_check_config *a,
		    const struct xl_check_config *b);

/* The check real server i of vs runs: its own, or the service's. */
static inline const struct xl_check_config *
xl_rs_check(const struct xl_vs_config *vs, size_t i)
{
	return vs->reals[i].check ? vs->reals[i].check : &vs->check;
}

/* What stat() said of an include_dir file when it was read. */
struct xl_file_stamp {
	const char *file; /* an entry of xl_config.files */
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	bool reusable;	      /* parsed cleanly, on its own (no @include) */
	size_t vs_first, nvs; /* its services: vs[vs_first ..], contiguous */
};

/* Accumulated "file:line: message" lines. */
struct xl_errors {
	char **msgs;
	size_t n, cap;
};

#define XL_STATE_DIR_DEFAULT "/var/lib/extlbd"

#define XL_MAX_SERVICES_DEFAULT 65536
#define XL_MAX_SERVICES_LIMIT 1000000

struct xl_config {
	enum xl_log_level log_level;
	char *include_dir;
	bool watch_include_dir; /* reload when include_dir's files change */
	bool owns_all;
	enum xl_on_stop on_stop;
	double resync_interval;
	/* the summary of servers down, progress of long runs; 0: never */
	double log_down_interval, log_progress_interval;
	double drain_timeout;
	size_t max_services; /* more is an error (a runaway generator) */
	struct xl_check_config check; /* global default */
	struct xl_kset_config kset;   /* ipvs_timeouts, ipvs_sysctls */
	char *vip_interface;	      /* NULL: VIPs are not put anywhere */
	/* where extlbd keeps what must outlive it (maintenance flags) */
	char *state_dir;	   /* XL_STATE_DIR_DEFAULT unless set */
	enum xl_announce announce; /* global default */
	/* global snat and snat_address: the services' defaults */
	bool snat;
	uint16_t snat_af;
	union xl_inaddr snat_addr;
	/* the control socket: "" none; control_group NULL: root alone */
	char *control_socket;
	char *control_group;
	gid_t control_gid;
	/* metrics_listen as written (NULL: no endpoint), and parsed */
	char *metrics_listen;
	uint16_t metrics_af, metrics_port;
	union xl_inaddr metrics_addr;
	enum xl_metrics_servers metrics_servers;

	struct xl_vs_config *vs;
	size_t nvs;
	size_t *by_id;	 /* indexes into vs, sorted by service identity */
	size_t *by_name; /* ... and by name */
	size_t nsame;	 /* services with vs[i].prev set */
	/* the configuration vs[i].prev index into: to compare with, never to
	 * read.  It cannot dangle: freeing that configuration sets it to
	 * NULL here (and a new snapshot at the same address is not it) */
	const struct xl_config *prev;
	/* config.c's own: the snapshots whose prev this one is, so that
	 * freeing it can clear theirs, linked through their next_follower */
	struct xl_config *followers, *next_follower;

	/* every file read, in order: main file first, then include_dir */
	char **files;
	size_t nfiles;

	/* the include_dir files, for xl_config_reload */
	struct xl_file_stamp *stamps;
	size_t nstamps;
	size_t nreused; /* of them, taken from the previous configuration */

	/* what was refused without failing the load: include_dir files
	 * (each error, then a line saying the file is refused) and services
	 * of include_dir files that repeat one defined before; each
	 * "file:line: message", to be logged at each load */
	struct xl_errors refused;
	size_t nrefused_files, nrefused_vs;

	/* the files' parse trees, kept until xl_config_drop_parsed() */
	struct xl_parsed *parsed;
};

void xl_errors_add(struct xl_errors *e, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void xl_errors_free(struct xl_errors *e);

/* NULL when the file (or an included one) is invalid; errs holds why. */
struct xl_config *xl_config_load(const char *path, struct xl_errors *errs);

/*
 * The same, for a reload while prev is in force: an include_dir file whose
 * inode, size, mtime and ctime are those prev read, and whose services
 * inherit the same global defaults, is not parsed again; its services are
 * copied from prev.  The main file is always read.  prev may be NULL.
 * Every service equal in all its settings to one of prev's names it
 * (vs[i].prev), so that what follows a reload can leave it alone; the
 * indexes are only meaningful while prev lives, which is while the new
 * snapshot's prev is not NULL.
 */
struct xl_config *xl_config_reload(const char *path,
				   const struct xl_config *prev,
				   struct xl_errors *errs);
void xl_config_free(struct xl_config *c);

/*
 * Sets c->prev to prev (NULL: none), so that freeing prev clears it.
 * xl_config_reload() does it; only a snapshot whose vs[i].prev were set by
 * hand (tests) needs it.
 */
void xl_config_follow(struct xl_config *c, const struct xl_config *prev);

/*
 * Frees what the files parsed to.  Nothing in c points into it: it is only
 * kept so that freeing it (an eighth of the start-up at 100,000 real servers)
 * can wait until the kernel has the new table.  xl_config_free() does it
 * too.
 */
void xl_config_drop_parsed(struct xl_config *c);

/* The service with key's identity, or NULL: O(log n). */
const struct xl_vs_config *xl_config_find(const struct xl_config *c,
					  const struct xl_service *key);

/* The service named name, or NULL: O(log n). */
const struct xl_vs_config *xl_config_find_name(const struct xl_config *c,
					       const char *name);

/* The IPVS table the configuration asks for, sorted; 0 or -ENOMEM. */
int xl_config_table(const struct xl_config *c, struct xl_table *out);

#endif
