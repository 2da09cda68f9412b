/*
 * incwatch.h - include_dir watched with inotify, on the daemon's libev loop.
 *
 * With watch_include_dir, extlbd reloads by itself when a file the loader
 * reads appears, changes, is renamed in or out, or goes, so that a writer
 * such as extlb-k8s needs no power over extlbd (no signal, no capability).
 * The module only says when: events for wanted names (re)start a settle
 * timer, and when it fires the callback runs once for the whole burst.
 * What a reload is stays with the caller.
 */
#ifndef EXTLB_INCWATCH_H
#define EXTLB_INCWATCH_H

#include <ev.h>
#include <stdbool.h>

struct xl_incwatch;

/*
 * Called when the settle delay has passed after the last event of a
 * burst.  what names the change for the log: the first file name (with
 * " and others" when other names changed too), or "events lost" (the
 * kernel's queue overflowed), "directory removed", "directory moved away",
 * "before it was watched".  The callback may call xl_incwatch_update(),
 * not _stop().
 */
typedef void (*xl_incwatch_fn)(void *arg, const char *what);

/* Nothing is watched until xl_incwatch_update() names a directory.  NULL
 * when out of memory. */
struct xl_incwatch *xl_incwatch_start(struct ev_loop *loop, double settle,
				      xl_incwatch_fn fn, void *arg);

/*
 * Watch dir from now on (NULL: nothing, and the inotify descriptor is
 * closed).  Cheap when dir is already watched: call it after every reload
 * and resync, so that the watch follows include_dir and a directory that
 * did not exist (logged once) is watched once it does.  read_at is when
 * the configuration in force began to read dir (CLOCK_REALTIME seconds):
 * when a watch is set, a change of dir or of its wanted files since then
 * came before the watch could see it, and is a change like the others
 * (at start-up, after a reload that named a new directory, when a missing
 * one appears).  0 when dir is watched (or NULL), -1 when it cannot be
 * (logged once per cause).
 */
int xl_incwatch_update(struct xl_incwatch *w, const char *dir, double read_at);

/* Stops and frees everything; NULL is fine. */
void xl_incwatch_stop(struct xl_incwatch *w);

#endif
