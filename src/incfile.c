/*
 * incfile.c - opening and reading include_dir files as untrusted input.
 *
 * The checks are made twice on purpose: once on the name (lstat, and the
 * symlink's target), so that a file left unchanged since the last reload
 * can be taken over without opening it, and once more on what was opened
 * (fstat), since the name may have been swapped in between.  Opening
 * never blocks and never follows a last symlink: by then the path is the
 * target itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "incfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* A regular file of at most cap bytes; why says otherwise. */
static int regular_capped(const struct stat *st, size_t cap, char *why,
			  size_t len)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, len, "%s, not a regular file: not read",
			 kind_of(st->st_mode));
		return -1;
	}
	if ((unsigned long long)st->st_size > cap) {
		snprintf(
		    why, len,
		    "%lld bytes, more than the %zu an include_dir file may "
		    "hold: not read",
		    (long long)st->st_size, cap);
		return -1;
	}
	return 0;
}

/* The target of the symlink dir/name, when it is a file of dir itself. */
static int link_target(const char *dir, const char *name, char *path,
		       size_t len, char *why, size_t whylen)
{
	char link[PATH_MAX], *real, *slash;
	int ok;

	if (snprintf(link, sizeof(link), "%s/%s", dir, name) >=
	    (int)sizeof(link)) {
		snprintf(why, whylen, "name too long");
		return -1;
	}
	real = realpath(link, NULL);
	if (!real) {
		snprintf(why, whylen, "symlink: %s", strerror(errno));
		return -1;
	}
	slash = strrchr(real, '/');
	ok = slash && (size_t)(slash - real) == strlen(dir) &&
	     !strncmp(real, dir, strlen(dir)) && strlen(real) < len;
	if (ok)
		snprintf(path, len, "%s", real);
	else
		snprintf(why, whylen,
			 "a symlink to %s, outside include_dir %s: not read",
			 real, dir);
	free(real);
	return ok ? 0 : -1;
}

int xl_incfile_stat(const char *dir, const char *name, struct stat *st,
		    char *path, size_t len, char *why, size_t whylen)
{
	if (snprintf(path, len, "%s/%s", dir, name) >= (int)len) {
		snprintf(why, whylen, "name too long");
		return -1;
	}
	if (lstat(path, st)) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(st->st_mode)) {
		if (link_target(dir, name, path, len, why, whylen))
			return -1;
		if (lstat(path, st)) {
			snprintf(why, whylen, "cannot read: %s",
				 strerror(errno));
			return -1;
		}
	}
	return regular_capped(st, XL_INCFILE_MAX_BYTES, why, whylen);
}

/* Up to cap + 1 bytes of fd: one more than allowed tells it grew. */
int xl_fd_slurp(int fd, size_t cap, char **text, size_t *n)
{
	size_t have = 0, room = cap < 65536 ? cap + 1 : 65536;
	struct stat st;
	char *buf, *p;
	ssize_t got;

	/*
	 * A regular file says how large it is: room for all of it (and one
	 * byte more, to see it grow) at once, rather than a buffer doubled
	 * and moved a dozen times for a large table.
	 */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size >= room)
		room = (uint64_t)st.st_size < cap ? (size_t)st.st_size + 1
						  : cap + 1;
	buf = malloc(room + 1);
	if (!buf)
		return -2;
	for (;;) {
		if (have == room && room <= cap) {
			room = room * 2 > cap + 1 ? cap + 1 : room * 2;
			if (!(p = realloc(buf, room + 1))) {
				free(buf);
				return -2;
			}
			buf = p;
		}
		if (have == room)
			break;
		got = read(fd, buf + have, room - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return -1;
		}
		if (got == 0)
			break;
		have += (size_t)got;
	}
	buf[have] = '\0';
	*text = buf;
	*n = have;
	return 0;
}

int xl_incfile_read(const char *path, size_t cap, char **text, size_t *n,
		    struct stat *st, char *why, size_t whylen)
{
	int fd, rc, err;

	*text = NULL;
	fd = open(path,
		  O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st)) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (regular_capped(st, cap, why, whylen)) {
		close(fd);
		return -1;
	}
	rc = xl_fd_slurp(fd, cap, text, n);
	err = errno;
	close(fd);
	if (rc == -1)
		snprintf(why, whylen, "cannot read: %s", strerror(err));
	if (rc == 0 && *n > cap) {
		snprintf(why, whylen,
			 "grew past the %zu bytes an include_dir file may "
			 "hold while it was read: not read",
			 cap);
		free(*text);
		*text = NULL;
		rc = -1;
	}
	return rc;
}

bool xl_incfile_trusted(const struct stat *st, char *why, size_t whylen)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(why, whylen, "owned by uid %u, not root",
			 (unsigned)st->st_uid);
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "writable by %s (mode %04o)",
			 st->st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st->st_mode & 07777));
		return false;
	}
	return true;
}
