/*
 * config_ctl.c - the global keys of the control socket: control_socket
 * (where it listens, "" for nowhere) and control_group (the group given
 * read-only access).
 *
 * Both are read at every load; the daemon moves the socket or changes its
 * group when a reload changes them (ctl_cmds.c).  The group is looked up
 * here, so that a name the system does not know is an error at its line
 * rather than a socket nobody but root can use.
 */
#include "autoconf.h"

#include "config_impl.h"

#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static void control_socket(struct loader *ld, const config_setting_t *s)
{
	struct sockaddr_un sa;
	const char *v = NULL;
	char *dup;

	if (cfg_get_str(ld, s, &v) != 1)
		return;
	if (*v && v[0] != '/') {
		cfg_err(ld, s,
			"control_socket: \"%s\" is not an absolute path (or "
			"\"\" for no control socket)",
			v);
		return;
	}
	if (strlen(v) >= sizeof(sa.sun_path)) {
		cfg_err(ld, s,
			"control_socket: longer than a unix socket path may "
			"be (%zu bytes)",
			sizeof(sa.sun_path) - 1);
		return;
	}
	if (!(dup = strdup(v))) {
		cfg_oom(ld);
		return;
	}
	free(ld->c->control_socket);
	ld->c->control_socket = dup;
}

static void control_group(struct loader *ld, const config_setting_t *s)
{
	const char *v = NULL;
	struct group *gr;

	if (cfg_get_str(ld, s, &v) != 1 || !*v)
		return;
	if (!(gr = getgrnam(v))) {
		cfg_err(ld, s,
			"control_group: no group \"%s\" on this system "
			"(getent group %s)",
			v, v);
		return;
	}
	ld->c->control_gid = gr->gr_gid;
	if (!(ld->c->control_group = strdup(v)))
		cfg_oom(ld);
}

void cfg_global_ctl(struct loader *ld, const struct keys *g)
{
	control_socket(ld, g->s[G_CONTROL_SOCKET]);
	control_group(ld, g->s[G_CONTROL_GROUP]);
	if (ld->c->control_group && !*ld->c->control_socket)
		cfg_err(ld, g->s[G_CONTROL_GROUP],
			"control_group needs a control socket "
			"(control_socket is \"\")");
}
