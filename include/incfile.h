/*
 * incfile.h - include_dir files read as what they may be: input from
 * whoever can write the directory.
 *
 * Root extlbd reads every *.conf of include_dir, and the directory may be
 * writable by a group (extlb-k8s writes there).  So a name there is only
 * read when it is a regular file, directly or through a symlink to another
 * file of the same directory; it is opened without blocking (a FIFO named
 * x.conf must not hang the daemon) and read up to a size cap (a symlink to
 * /dev/zero, or a runaway file, must not grow it without bound).  Whether
 * the file may carry what runs programs as a chosen user (script checks)
 * is told by who can write it.
 */
#ifndef EXTLB_INCFILE_H
#define EXTLB_INCFILE_H

#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* The most an include_dir file may hold: 60,000 generated services with a
 * few real servers each take about a third of it. */
#define XL_INCFILE_MAX_BYTES (64u << 20)

/* xl_incfile_wanted(), which names it reads, is a rule extlb-k8s
 * shares: rules.h. */

/*
 * What name in the directory dir (its real path, as realpath() gives it)
 * stands for: 0 with *st the file's (a symlink's target's) status and
 * path (len bytes) the name to open, or -1 with why (len bytes) saying why
 * it is refused.
 */
int xl_incfile_stat(const char *dir, const char *name, struct stat *st,
		    char *path, size_t len, char *why, size_t whylen);

/*
 * Reads path (from xl_incfile_stat) without following a symlink, without
 * blocking, and only when it is still a regular file of at most cap bytes:
 * 0 with *text (NUL-terminated, malloc'd), *n and *st (what was read), or
 * -1 with why; -2 when out of memory.
 */
int xl_incfile_read(const char *path, size_t cap, char **text, size_t *n,
		    struct stat *st, char *why, size_t whylen);

/*
 * All of fd, up to cap bytes (cap < SIZE_MAX / 2), with a NUL after it: 0
 * with *text (malloc'd) and *n, where *n > cap says there was more; -1
 * with errno when a read failed; -2 when out of memory.  The one reader of
 * configuration files, the main file's (which only root writes, read
 * without a cap) and include_dir's (xl_incfile_read).
 */
int xl_fd_slurp(int fd, size_t cap, char **text, size_t *n);

/*
 * Only root (or the user extlbd runs as) can change a file with this
 * status: its owner is one of them and neither its group nor others may
 * write it.  When not, why says what stands in the way.
 */
bool xl_incfile_trusted(const struct stat *st, char *why, size_t whylen);

#endif
