/*
 * incwatch.c - reloads asked for by include_dir itself (watch_include_dir).
 *
 * One inotify descriptor, opened only while a directory is to be watched,
 * read by an ev_io on the daemon's loop: no thread, no polling.  Only the
 * names the loader reads count, so the temp dotfile a careful writer
 * fills before renaming it in causes nothing until the rename.  A writer
 * rarely makes one event (create, write, close, rename), so each event
 * restarts a settle timer and the callback runs once per burst; a stream
 * that never pauses is still applied every SETTLE_MAX_TIMES settle delays.
 *
 * A watch is set after the directory was read (at start-up, after a
 * reload that named a new one), so what changed in between would be missed:
 * when a watch is set, the directory and its wanted files are compared
 * with the time the configuration in force was read, and anything newer
 * is a change.  The directory may also come and go under us: a watch that
 * cannot be set (include_dir does not exist yet) is tried again at every
 * update, which the daemon calls after each reload and resync, and a
 * directory removed or moved away makes one more reload (its files are
 * gone) and waits the same way; once it is back, it is newer than that
 * reload, and so read again.
 */
#include "incwatch.h"
#include "incfile.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETTLE_MAX_TIMES 10
/* ctime comes from a clock that ticks every few ms, behind the one the
 * read time is taken from: a change this close before the read counts as
 * after it (a reload too many, never one too few) */
#define CTIME_SLACK 0.1

/* What a loader-visible change looks like; IN_ONLYDIR: a file named as
 * include_dir is the loader's error to report, not something to watch. */
#define WATCH_MASK                                                             \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |            \
	 IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct xl_incwatch {
	struct ev_loop *loop;
	double settle;
	xl_incwatch_fn fn;
	void *arg;
	ev_io io;
	ev_timer timer;
	int fd; /* -1 while nothing is watched */
	int wd; /* -1 while dir is not watched */
	char *dir;
	int complained; /* the errno last logged for dir, so logged once */
	/* the burst the timer is waiting on */
	char first[NAME_MAX + 1];
	bool others; /* changes of other names than first came too */
	double since;
};

/* One more change: the callback runs settle seconds after the last one,
 * or SETTLE_MAX_TIMES settle delays after the first, whichever is first. */
static void burst_add(struct xl_incwatch *w, const char *what)
{
	double now = ev_now(w->loop), left;

	if (!ev_is_active(&w->timer)) {
		snprintf(w->first, sizeof(w->first), "%s", what);
		w->others = false;
		w->since = now;
	} else if (strcmp(w->first, what)) {
		w->others = true;
	}
	left = w->since + SETTLE_MAX_TIMES * w->settle - now;
	if (left > w->settle)
		left = w->settle;
	ev_timer_stop(w->loop, &w->timer);
	ev_timer_set(&w->timer, left > 0 ? left : 0, 0.);
	ev_timer_start(w->loop, &w->timer);
}

static void on_settle(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct xl_incwatch *w = t->data;
	char what[NAME_MAX + 16];

	(void)loop;
	(void)revents;
	snprintf(what, sizeof(what), "%s%s", w->first,
		 w->others ? " and others" : "");
	/* last: the callback may update the watch */
	w->fn(w->arg, what);
}

/* The directory itself went: its files with it, as far as a reload sees. */
static void dir_lost(struct xl_incwatch *w, const char *why)
{
	/* a moved directory is still watched where it went; a removed one's
	 * watch is gone already (EINVAL, harmless) */
	inotify_rm_watch(w->fd, w->wd);
	w->wd = -1;
	burst_add(w, why);
}

static void event_one(struct xl_incwatch *w, const struct inotify_event *e)
{
	if (e->mask & IN_Q_OVERFLOW) {
		burst_add(w, "events lost");
		return;
	}
	if (e->wd != w->wd || w->wd < 0)
		return; /* a watch given up: a directory include_dir was */
	if (e->mask & (IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT)) {
		dir_lost(w, "directory removed");
		return;
	}
	if (e->mask & IN_MOVE_SELF) {
		dir_lost(w, "directory moved away");
		return;
	}
	/* a directory named x.conf is not read either */
	if (!(e->mask & IN_ISDIR) && e->len && xl_incfile_wanted(e->name))
		burst_add(w, e->name);
}

/* One read per wake-up: the descriptor is level-triggered, so a flood of
 * events is read over several loop iterations and starves nothing. */
static void on_events(struct ev_loop *loop, ev_io *io, int revents)
{
	struct xl_incwatch *w = io->data;
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t n = read(w->fd, buf, sizeof(buf));

	(void)loop;
	(void)revents;
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			xl_err("include_dir %s: reading its changes: %s",
			       w->dir, strerror(errno));
			burst_add(w, "events lost");
		}
		return;
	}
	for (char *p = buf; p < buf + n; p += sizeof(*e) + e->len) {
		e = (const struct inotify_event *)p;
		event_one(w, e);
	}
}

struct xl_incwatch *xl_incwatch_start(struct ev_loop *loop, double settle,
				      xl_incwatch_fn fn, void *arg)
{
	struct xl_incwatch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->loop = loop;
	w->settle = settle;
	w->fn = fn;
	w->arg = arg;
	w->fd = -1;
	w->wd = -1;
	ev_init(&w->timer, on_settle);
	w->timer.data = w;
	return w;
}

/* Closing the descriptor drops its watch; its queued events go with it. */
static void watch_close(struct xl_incwatch *w)
{
	ev_timer_stop(w->loop, &w->timer);
	if (w->fd >= 0) {
		ev_io_stop(w->loop, &w->io);
		close(w->fd);
		if (w->wd >= 0)
			xl_info("include_dir %s: no longer watched", w->dir);
	}
	w->fd = -1;
	w->wd = -1;
	free(w->dir);
	w->dir = NULL;
	w->complained = 0;
}

/* A failure to set the watch, logged once per cause (errno). */
static void watch_failed(struct xl_incwatch *w, int err, const char *what)
{
	if (err == w->complained)
		return;
	w->complained = err;
	if (err == ENOENT)
		xl_info("include_dir %s does not exist: it is watched once it "
			"does (tried again at each reload and resync)",
			w->dir);
	else
		xl_err("include_dir %s: cannot watch it for changes: %s: %s%s; "
		       "tried again at each reload and resync",
		       w->dir, what, strerror(err),
		       err == ENOSPC || err == EMFILE
			   ? " (see fs.inotify.max_user_watches and "
			     "max_user_instances)"
			   : "");
}

static int watch_open(struct xl_incwatch *w)
{
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		watch_failed(w, errno, "inotify_init1");
		return -1;
	}
	ev_io_init(&w->io, on_events, w->fd, EV_READ);
	w->io.data = w;
	ev_io_start(w->loop, &w->io);
	return 0;
}

static bool newer(const struct stat *st, double t)
{
	return st->st_ctim.tv_sec + st->st_ctim.tv_nsec / 1e9 >=
	       t - CTIME_SLACK;
}

/* Did dir or a file the loader reads there change at read_at or later?
 * (An entry created, renamed or removed changes the directory; a file
 * written or renamed in changes its own ctime.)  When in doubt, yes. */
static bool changed_since(const char *dir, double read_at)
{
	struct dirent *de;
	struct stat st;
	bool changed;
	DIR *d = opendir(dir);

	if (!d)
		return true;
	changed = fstat(dirfd(d), &st) < 0 || newer(&st, read_at);
	while (!changed && (de = readdir(d)))
		if (xl_incfile_wanted(de->d_name))
			changed = fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
				  newer(&st, read_at);
	closedir(d);
	return changed;
}

static int watch_add(struct xl_incwatch *w, double read_at)
{
	int wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK);

	if (wd < 0) {
		watch_failed(w, errno, "inotify_add_watch");
		return -1;
	}
	w->wd = wd;
	w->complained = 0;
	xl_info("include_dir %s: watched, a change of its *.conf files "
		"reloads",
		w->dir);
	/* after the watch: a change from now on is an event anyway */
	if (changed_since(w->dir, read_at))
		burst_add(w, "before it was watched");
	return 0;
}

/* A new directory to watch: the old one's watch, and a burst pending for
 * it, go (the reload that named the new one has read what they were for). */
static int dir_set(struct xl_incwatch *w, const char *dir)
{
	char *copy = strdup(dir);

	if (!copy) {
		xl_err("include_dir %s: cannot watch it: out of memory", dir);
		return -1;
	}
	watch_close(w);
	w->dir = copy;
	return 0;
}

int xl_incwatch_update(struct xl_incwatch *w, const char *dir, double read_at)
{
	if (!dir) {
		watch_close(w);
		return 0;
	}
	if (w->dir && !strcmp(w->dir, dir)) {
		if (w->wd >= 0)
			return 0;
	} else if (dir_set(w, dir) < 0) {
		return -1;
	}
	if (w->fd < 0 && watch_open(w) < 0)
		return -1;
	return watch_add(w, read_at);
}

void xl_incwatch_stop(struct xl_incwatch *w)
{
	if (!w)
		return;
	watch_close(w);
	free(w);
}
