/*
 * ctl_listen.c - the control socket itself: made (its directories, a stale
 * socket file cleared, the mode and group set), accepted from in bursts
 * with a pause when out of descriptors, and each peer's access read from
 * its credentials (SO_PEERCRED, SO_PEERGROUPS) before ctl.c serves it.
 */
#include "autoconf.h"

#include "ctl.h"
#include "ctl_impl.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ACCEPT_BURST 64 /* accepts per wake-up, so the loop goes on */
#define ACCEPT_PAUSE 1. /* seconds without accepting when out of fds */

/* ---- credentials ----------------------------------------------------- */

static bool peer_in_group(int fd, uid_t uid, gid_t pgid, gid_t gid)
{
	gid_t groups[NGROUPS_MAX + 1];
	socklen_t len = sizeof(groups);
	struct passwd *pw;
	struct group *gr;

	if (pgid == gid)
		return true;
	/* the peer process's own supplementary groups, as at connect */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == gid)
				return true;
		return false;
	}
	/* kernels before 4.13: the group's member list names the user */
	if (!(gr = getgrgid(gid)) || !(pw = getpwuid(uid)))
		return false;
	for (char **m = gr->gr_mem; *m; m++)
		if (!strcmp(*m, pw->pw_name))
			return true;
	return false;
}

enum xl_ctl_access xl_ctl_peer_access(int fd, bool has_group, gid_t gid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return XL_CTL_DENIED;
	if (cr.uid == 0)
		return XL_CTL_FULL;
	if (has_group && peer_in_group(fd, cr.uid, cr.gid, gid))
		return XL_CTL_READ_ONLY;
	return XL_CTL_DENIED;
}

/* ---- the listening socket -------------------------------------------- */

static void on_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_ctl *c = container_of(w, struct xl_ctl, pause);

	(void)revents;
	if (c->lfd >= 0)
		ev_io_start(loop, &c->lio);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xl_ctl *c = container_of(w, struct xl_ctl, lio);

	(void)revents;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd =
		    accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* the connection waits in the backlog; the
				 * loop would only spin on it meanwhile */
				xl_warn("control: accept: %s; pausing %.0f s",
					strerror(errno), ACCEPT_PAUSE);
				ev_io_stop(loop, &c->lio);
				ev_timer_set(&c->pause, ACCEPT_PAUSE, 0.);
				ev_timer_start(loop, &c->pause);
			}
			return;
		}
		enum xl_ctl_access a =
		    xl_ctl_peer_access(fd, c->has_group, c->gid);

		if (a == XL_CTL_DENIED)
			xl_warn("control: a peer without access refused");
		xl_ctl_add_client(c, fd, a);
	}
}

void xl_ctl_close_listener(struct xl_ctl *c)
{
	struct stat st;

	if (c->lfd < 0)
		return;
	ev_io_stop(c->loop, &c->lio);
	ev_timer_stop(c->loop, &c->pause);
	close(c->lfd);
	c->lfd = -1;
	/* ours only: another extlbd may have taken the path since */
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	c->path = NULL;
}

/* The directories of path made, 0755, where missing. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
	char *p = strdup(path), *s;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		/* 0755 whatever the umask: clients must reach the socket */
		if (mkdir(p, 0755) == 0)
			(void)chmod(p, 0755);
		else if (errno != EEXIST) {
			snprintf(err, errlen,
				 "control_socket: directory %s: %s", p,
				 strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

/* Something at path: a stale socket removed; a live one, or not a
 * socket, refused. */
static int clear_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "control_socket: %s exists and is not a socket; "
			 "not replaced",
			 path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) < 0) {
		snprintf(err, errlen, "control_socket: socket: %s",
			 strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0 || errno == EAGAIN) {
		snprintf(err, errlen,
			 "control_socket: %s is in use (another extlbd "
			 "running?)",
			 path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "control_socket: removing stale %s: %s",
			 path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Owner root (when we are root), then the mode. */
static int set_mode(const char *path, bool has_group, gid_t gid, char *err,
		    size_t errlen)
{
	uid_t uid = geteuid() == 0 ? 0 : (uid_t)-1;

	if (chown(path, uid, has_group ? gid : getegid()) < 0 ||
	    chmod(path, has_group ? 0660 : 0600) < 0) {
		snprintf(err, errlen, "control_socket: %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int xl_ctl_listen(struct xl_ctl *c, const char *path, bool has_group, gid_t gid,
		  char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	char *dup;
	int fd;

	if (!path || !*path) {
		xl_ctl_close_listener(c);
		return 0;
	}
	if (c->lfd >= 0 && !strcmp(path, c->path)) {
		if (set_mode(path, has_group, gid, err, errlen) < 0)
			return -1;
		c->has_group = has_group;
		c->gid = gid;
		return 0;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			 "control_socket: %s is longer than a unix socket "
			 "path may be (%zu bytes)",
			 path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (make_dirs(path, err, errlen) < 0 ||
	    clear_path(&sa, err, errlen) < 0)
		return -1;
	if (!(dup = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0)) < 0) {
		snprintf(err, errlen, "control_socket: socket: %s",
			 strerror(errno));
		free(dup);
		return -1;
	}
	old = umask(0177); /* 0600 from the start, never wider */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "control_socket: bind %s: %s", path,
			 strerror(errno));
		umask(old);
		goto fail;
	}
	umask(old);
	if (lstat(path, &st) < 0 ||
	    set_mode(path, has_group, gid, err, errlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		if (!err[0])
			snprintf(err, errlen, "control_socket: %s: %s", path,
				 strerror(errno));
		unlink(path);
		goto fail;
	}
	xl_ctl_close_listener(c);
	c->lfd = fd;
	c->path = dup;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->has_group = has_group;
	c->gid = gid;
	ev_io_init(&c->lio, on_accept, fd, EV_READ);
	ev_init(&c->pause, on_pause);
	ev_io_start(c->loop, &c->lio);
	return 0;
fail:
	close(fd);
	free(dup);
	return -1;
}
