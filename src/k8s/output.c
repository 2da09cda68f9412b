/*
 * output.c - writing the include file and reloading extlbd.
 *
 * extlbd may read the directory at any moment (a reload from someone
 * else, a restart), so the file is never seen half written: the new
 * content goes to a dotfile beside it, which extlbd ignores, and a rename
 * swaps it in.  The fsyncs make the swap survive a power cut with either
 * the old or the new content.  An unchanged file is not touched at all, so
 * that a quiet cluster costs extlbd no reloads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/output.h"
#include "k8s/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Does path hold exactly text?  A file that cannot be read does not. */
static bool same_content(const char *path, const char *text)
{
	size_t len = strlen(text), got = 0;
	bool same = false;
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size == len && (buf = malloc(len + 1))) {
		ssize_t n;

		while (got < len && (n = read(fd, buf + got, len - got)) > 0)
			got += (size_t)n;
		same = got == len && !memcmp(buf, text, len);
		free(buf);
	}
	close(fd);
	return same;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Makes a rename in dir durable. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* dirname and basename of path, as new strings. */
static int split_path(const char *path, char **dir, char **base)
{
	char *a = strdup(path), *b = strdup(path);

	*dir = a ? strdup(dirname(a)) : NULL;
	*base = b ? strdup(basename(b)) : NULL;
	free(a);
	free(b);
	if (*dir && *base)
		return 0;
	free(*dir);
	free(*base);
	return -1;
}

/* The new content into a dotfile beside path; its name in *tmp. */
static int write_temp(const char *dir, const char *base, const char *text,
		      char **tmp)
{
	int fd, saved;

	if (asprintf(tmp, "%s/.%s.tmpXXXXXX", dir, base) < 0) {
		*tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	fd = mkstemp(*tmp);
	if (fd < 0)
		return -1;
	/* the services are no secret, and readers of /etc/extlb.d expect the
	 * usual mode rather than mkstemp's 0600 */
	if (fchmod(fd, 0644) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(*tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {
		saved = errno;
		unlink(*tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int k8s_output_write(const char *path, const char *text)
{
	char *dir = NULL, *base = NULL, *tmp = NULL;
	int r = -1;

	if (same_content(path, text))
		return 0;
	if (split_path(path, &dir, &base) < 0) {
		k8s_err("cannot write %s: out of memory", path);
		return -1;
	}
	if (write_temp(dir, base, text, &tmp) < 0) {
		k8s_err("cannot write %s: %s/.%s.tmp*: %s%s", path, dir, base,
			strerror(errno),
			errno == ENOENT ? " (does the directory exist?)" : "");
		goto out;
	}
	if (rename(tmp, path) < 0) {
		k8s_err("cannot write %s: rename from %s: %s", path, tmp,
			strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* the file is in place; only its durability across a crash is in
	 * doubt, which is worth a warning, not a failure */
	if (sync_dir(dir) < 0)
		k8s_warn("fsync of %s: %s", dir, strerror(errno));
	r = 1;
out:
	free(dir);
	free(base);
	free(tmp);
	return r;
}

int k8s_output_reload_pidfile(const char *pidfile)
{
	char buf[32] = "", *end;
	long pid;
	FILE *f = fopen(pidfile, "r");

	if (!f) {
		k8s_err("cannot tell extlbd to reload: pidfile %s: %s "
			"(is extlbd running?)",
			pidfile, strerror(errno));
		return -1;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || pid <= 1 || pid > INT_MAX) {
		k8s_err("cannot tell extlbd to reload: pidfile %s holds no "
			"process id",
			pidfile);
		return -1;
	}
	if (kill((pid_t)pid, SIGHUP) < 0) {
		k8s_err("cannot tell extlbd to reload: SIGHUP to pid %ld (from "
			"%s): %s",
			pid, pidfile, strerror(errno));
		return -1;
	}
	k8s_info("told extlbd (pid %ld) to reload", pid);
	return 0;
}

int k8s_output_reload_command(const char *cmd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		k8s_err("cannot run the reload command: fork: %s",
			strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			k8s_err("reload command: waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		k8s_info("reload command succeeded");
		return 0;
	}
	if (WIFEXITED(status))
		k8s_err("reload command `%s` exited with status %d", cmd,
			WEXITSTATUS(status));
	else
		k8s_err("reload command `%s` was killed by signal %d", cmd,
			WTERMSIG(status));
	return -1;
}
