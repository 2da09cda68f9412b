/*
 * sysctl.c - reading and writing kernel settings under /proc/sys.
 */
#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *sysctl_root = "/proc/sys";

void xl_sysctl_set_root(const char *root)
{
	sysctl_root = root ? root : "/proc/sys";
}

static int path_of(const char *name, char *path, size_t len)
{
	int n;

	if (!name[0] || name[0] == '/' || strstr(name, ".."))
		return -EINVAL;
	n = snprintf(path, len, "%s/%s", sysctl_root, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int xl_sysctl_read(const char *name, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd, rc;

	if (len == 0)
		return -EINVAL;
	rc = path_of(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	if ((size_t)n == len)
		return -ENAMETOOLONG;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

int xl_sysctl_write(const char *name, const char *value)
{
	char path[512];
	size_t len = strlen(value);
	ssize_t n;
	int fd, rc;

	rc = path_of(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	rc = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}
