/*
 * sysctl.h - reading and writing kernel settings under /proc/sys.
 *
 * Names are written with slashes, as under /proc/sys
 * ("net/ipv4/vs/conntrack").  The root is a parameter so that tests can
 * point it at a directory of their own.
 */
#ifndef EXTLB_SYSCTL_H
#define EXTLB_SYSCTL_H

#include <stddef.h>

/* NULL: "/proc/sys". */
void xl_sysctl_set_root(const char *root);

/*
 * The value of name, without its trailing newline, in buf (len bytes,
 * NUL-terminated).  0, or a negative errno (-ENOENT: no such setting, as
 * when the module that owns it is not loaded; -ENAMETOOLONG: the value
 * does not fit).
 */
int xl_sysctl_read(const char *name, char *buf, size_t len);

/* Writes value to name.  0, or a negative errno (-EINVAL: the kernel
 * refused the value). */
int xl_sysctl_write(const char *name, const char *value);

#endif
