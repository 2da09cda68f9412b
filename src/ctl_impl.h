/*
 * ctl_impl.h - the control socket's state, shared by ctl.c (its clients)
 * and ctl_listen.c (the socket, accept and credentials).  Nothing else
 * includes it.
 */
#ifndef EXTLB_CTL_IMPL_H
#define EXTLB_CTL_IMPL_H

#include "ctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct client;

struct xl_ctl {
	struct ev_loop *loop;
	struct xl_daemon *d;
	const struct xl_ctl_cmd *cmds;
	size_t ncmds;
	struct xl_ctl_limits lim;
	int lfd;
	char *path;
	dev_t dev; /* the socket file bound, to remove that one only */
	ino_t ino;
	bool has_group;
	gid_t gid;
	ev_io lio;
	ev_timer pause; /* accepting again after EMFILE */
	struct client *clients;
	size_t nclients;
};

/* ctl_listen.c: the listening socket closed, and its file removed when
 * it is still the one bound (nothing when there is none). */
void xl_ctl_close_listener(struct xl_ctl *c);

#endif
