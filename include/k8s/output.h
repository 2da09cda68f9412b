/*
 * k8s/output.h - the rendered file onto disk, atomically and only when it
 * changed, and extlbd told to read it.
 */
#ifndef EXTLB_K8S_OUTPUT_H
#define EXTLB_K8S_OUTPUT_H

/*
 * Replaces path with text unless it already holds exactly that: a temp
 * file ".NAME.tmpXXXXXX" in the same directory (extlbd skips dotfiles),
 * fsync, rename, fsync of the directory.  1 written, 0 unchanged, -1 error
 * (logged; path is untouched).
 */
int k8s_output_write(const char *path, const char *text);

/* SIGHUP to the pid in pidfile.  0, or -1 (logged). */
int k8s_output_reload_pidfile(const char *pidfile);

/* /bin/sh -c cmd, waited for.  0 when it exits 0, else -1 (logged). */
int k8s_output_reload_command(const char *cmd);

#endif
