/*
 * maint.h - maintenance flags: real servers an operator took out of
 * service (extlbctl disable) until they are enabled again.
 *
 * A flag names a server by its service's name and its address and port,
 * the way an operator names it, so that it survives reloads (a service
 * whose VIP changes keeps its flags) and restarts: the flags are kept in
 * a state file, STATE_DIR/maintenance.json, written atomically.  The
 * desired table (desired.h) reads them: a server in maintenance stays in
 * the kernel at weight 0, so its connections finish and new ones go
 * elsewhere, and does not count towards its service's quorum.
 *
 * The state file is root's: one that others (or its group) could write,
 * or that someone else owns, is refused as include_dir files are
 * (xl_incfile_trusted), and so is a directory that is not root's alone.
 */
#ifndef EXTLB_MAINT_H
#define EXTLB_MAINT_H

#include "config.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XL_MAINT_FILE "maintenance.json"
#define XL_MAINT_MAX_FILE (64u << 20) /* bytes: a million flags fit */

struct xl_maint_entry {
	char *service;
	uint16_t af;
	union xl_inaddr addr;
	uint16_t port;
};

struct xl_maint {
	struct xl_maint_entry *v; /* sorted: service, then address, port */
	size_t n, cap;
	/* the file read at start-up could not be used whole: it is kept as
	 * FILE.bad when the flags are next written */
	bool bad_file;
};

/* Is d (a real server of service `service`) in maintenance? O(log n). */
bool xl_maint_has(const struct xl_maint *m, const char *service,
		  const struct xl_dest *d);

/* Sets (on) or clears the flag: 1 when that changed it, 0 when it was so
 * already, -ENOMEM. */
int xl_maint_set(struct xl_maint *m, const char *service,
		 const struct xl_dest *d, bool on);

/* STATE_DIR/maintenance.json for c (state_dir, or its default) in buf;
 * -1 when it does not fit. */
int xl_maint_path(const struct xl_config *c, char *buf, size_t len);

/*
 * The flags of the file at path, replacing m's.  A missing file is no
 * flag and no error.  0, or -1 with a sentence naming the file in err:
 * an untrusted file or directory (m left empty), a file that is not JSON
 * of the expected shape (m empty, bad_file set), or entries that are not
 * valid (the others are kept, bad_file set).
 */
int xl_maint_load(struct xl_maint *m, const char *path, char *err,
		  size_t errlen);

/*
 * m written to path: a temporary file beside it (mode 0600), fsync,
 * rename over path, fsync of the directory, which is made (0700) when
 * missing.  A file refused at load (bad_file) is first renamed to
 * path.bad.  0, or -1 with a sentence in err (the file is as it was).
 */
int xl_maint_save(struct xl_maint *m, const char *path, char *err,
		  size_t errlen);

/*
 * "10.0.0.1", "10.0.0.1:80", "2001:db8::1", "[2001:db8::1]:80": the
 * address and the port (-1 when none was given).  0, or -1 with err.
 */
int xl_maint_parse_server(const char *s, uint16_t *af, union xl_inaddr *addr,
			  int *port, char *err, size_t errlen);

/* Calls fn for every flag that names no real server of c (kept: the
 * server may come back). */
typedef void (*xl_maint_entry_fn)(void *arg, const struct xl_maint_entry *e);
size_t xl_maint_unknown(const struct xl_maint *m, const struct xl_config *c,
			xl_maint_entry_fn fn, void *arg);

void xl_maint_free(struct xl_maint *m);

/*
 * maint_ctl.c (extlbd): the control commands.  req {"cmd":"disable",
 * "service":"web","server":"10.0.0.1:80"} (the port may be left out when
 * the address is one server's alone); 0 with reply filled ("message",
 * "service", "server", "maintenance", "changed", "active"), or -1 with
 * err.  Doing what is done already succeeds and says so.
 */
struct json_object;
struct xl_daemon;
int xl_ctl_disable(struct xl_daemon *d, struct json_object *req,
		   struct json_object *reply, char *err, size_t errlen);
int xl_ctl_enable(struct xl_daemon *d, struct json_object *req,
		  struct json_object *reply, char *err, size_t errlen);

#endif
