/*
 * check_script.c - the script check: does an operator's command exit 0?
 *
 * cfg->command runs under /bin/sh -c as cfg->user, with /dev/null for its
 * standard streams, none of the daemon's descriptors, signal handlers or
 * signal mask, and an environment of its own (XL_ADDRESS, XL_PORT, PATH).
 * It gets a process group of its own, so that a timeout can SIGKILL the
 * shell and everything it started in one kill().  The exit is watched with
 * ev_child, which libev implements only on its default loop: a checker that
 * runs scripts must be created with EV_DEFAULT.  libev's SIGCHLD handler
 * reaps every child, including one whose probe timed out or was cancelled,
 * so no zombie is left even though the probe no longer waits for it.
 *
 * Everything the child needs (user ids, groups, argv, environment) is
 * prepared before fork(): between fork() and execve() the child may only
 * call async-signal-safe functions: a thread of the daemon (a library's
 * helper thread) may have held a lock at the fork that the child's copy
 * would never see released.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "check_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRIPT_GROUPS_MAX 64

/* Why a script could not even start. */
enum {
	SCRIPT_E_NOUSER = XL_E_TYPE, /* cfg->user unknown */
	SCRIPT_E_NOCAPS,	     /* root without the capabilities */
	SCRIPT_E_NOLOOP,	     /* not the default loop */
	SCRIPT_E_NOCOMMAND,	     /* no command */
};

struct script_exec {
	char *argv[4];
	char *envp[4];
	char env_addr[16 + XL_ADDRSTR_MAX];
	char env_port[16];
	bool switch_user;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[SCRIPT_GROUPS_MAX];
};

/*
 * Root switches to the script's user (CAP_SETGID for its groups and gid,
 * CAP_SETUID for its uid) and kills the script's group at the timeout,
 * which belongs to another user then (CAP_KILL).  A root whose capabilities
 * were narrowed (systemd's CapabilityBoundingSet) may lack them: the names
 * of those missing from the effective set, or "" if none is.
 */
static const char *script_missing_caps(void)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {{CAP_SETGID, "CAP_SETGID"},
		    {CAP_SETUID, "CAP_SETUID"},
		    {CAP_KILL, "CAP_KILL"}};
	static char missing[48];
	struct __user_cap_header_struct h = {.version =
						 _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	size_t i;

	missing[0] = '\0';
	if (syscall(SYS_capget, &h, d) < 0)
		return missing; /* setuid() and kill() will say */
	for (i = 0; i < XL_ARRAY_SIZE(need); i++) {
		if (d[need[i].cap / 32].effective & (1u << (need[i].cap % 32)))
			continue;
		if (missing[0])
			strcat(missing, " ");
		strcat(missing, need[i].name);
	}
	return missing;
}

/* The user's ids, looked up now: the child cannot read /etc/passwd. */
static int script_user(const struct xl_check_config *cfg, struct script_exec *x)
{
	const char *name = cfg->user ? cfg->user : "nobody";
	struct passwd *pw;

	x->switch_user = false;
	/* only root can switch; anyone else runs scripts as themselves */
	if (geteuid() != 0)
		return 0;
	if (*script_missing_caps())
		return SCRIPT_E_NOCAPS;
	pw = getpwnam(name);
	if (!pw)
		return SCRIPT_E_NOUSER;
	x->uid = pw->pw_uid;
	x->gid = pw->pw_gid;
	x->ngroups = SCRIPT_GROUPS_MAX;
	if (getgrouplist(pw->pw_name, pw->pw_gid, x->groups, &x->ngroups) < 0) {
		x->groups[0] = pw->pw_gid;
		x->ngroups = 1;
	}
	x->switch_user = true;
	return 0;
}

static void script_prepare(const struct xl_probe *p, struct script_exec *x)
{
	char addr[XL_ADDRSTR_MAX];

	xl_addr_format(p->af, &p->addr, addr, sizeof(addr));
	snprintf(x->env_addr, sizeof(x->env_addr), "XL_ADDRESS=%s", addr);
	snprintf(x->env_port, sizeof(x->env_port), "XL_PORT=%u", p->port);
	x->envp[0] = x->env_addr;
	x->envp[1] = x->env_port;
	x->envp[2] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	x->envp[3] = NULL;
	x->argv[0] = (char *)"sh";
	x->argv[1] = (char *)"-c";
	x->argv[2] = p->cfg->command;
	x->argv[3] = NULL;
}

/* In the child: async-signal-safe calls only, then exec or _exit. */
static void __attribute__((noreturn)) script_child(const struct script_exec *x)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int fd, sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	if (close_range(3, ~0U, 0) < 0)
		for (fd = 3; fd < 1024; fd++)
			close(fd);
	if (x->switch_user && (setgroups((size_t)x->ngroups, x->groups) < 0 ||
			       setgid(x->gid) < 0 || setuid(x->uid) < 0))
		_exit(126);
	if (chdir("/") < 0)
		_exit(126);
	execve("/bin/sh", x->argv, x->envp);
	_exit(127);
}

static void script_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, child);
	int status = w->rstatus;

	(void)revents;
	/* reaped: stopping now keeps release from killing the group */
	ev_child_stop(loop, w);
	if (WIFEXITED(status))
		xl_probe_finish(
		    p, WEXITSTATUS(status) ? XL_CHECK_DOWN : XL_CHECK_UP,
		    "script exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		xl_probe_finish(p, XL_CHECK_DOWN, "script killed by signal %d",
				WTERMSIG(status));
	else
		xl_probe_finish(p, XL_CHECK_DOWN, "script ended, status %#x",
				(unsigned)status);
}

static void script_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xl_probe *p = container_of(w, struct xl_probe, timer);

	(void)loop;
	(void)revents;
	/* exited in the same loop iteration: the exit status wins */
	if (ev_is_pending(&p->child))
		return;
	/* xl_probe_finish() kills the process group on its way out */
	xl_probe_finish(p, XL_CHECK_DOWN, "script timeout after %ld ms",
			xl_timeout_ms(p->cfg));
}

static void script_start(struct xl_probe *p)
{
	struct script_exec x;
	pid_t pid;
	int rc;

	if (!p->ck->default_loop) {
		xl_probe_defer(p, XL_CHECK_ERROR, SCRIPT_E_NOLOOP);
		return;
	}
	if (!p->cfg->command || !*p->cfg->command) {
		xl_probe_defer(p, XL_CHECK_ERROR, SCRIPT_E_NOCOMMAND);
		return;
	}
	if ((rc = script_user(p->cfg, &x)) != 0) {
		xl_probe_defer(p, XL_CHECK_ERROR, rc);
		return;
	}
	script_prepare(p, &x);
	pid = fork();
	if (pid < 0) {
		xl_probe_defer(p, XL_CHECK_ERROR, errno);
		return;
	}
	if (pid == 0)
		script_child(&x);
	/* the child does it too; whichever runs first, a kill finds the group
	 */
	(void)setpgid(pid, pid);
	p->pid = pid;
	ev_child_init(&p->child, script_exit_cb, pid, 0);
	ev_child_start(p->ck->loop, &p->child);
	xl_probe_arm_timeout(p, script_timeout_cb);
}

static void script_release(struct xl_probe *p)
{
	if (!ev_is_active(&p->child))
		return;
	/* not reaped yet, so the group id cannot have been reused */
	(void)kill(-p->pid, SIGKILL);
	ev_child_stop(p->ck->loop, &p->child);
}

static void script_reason(const struct xl_probe *p, int code, char *buf,
			  size_t len)
{
	const char *user = p->cfg->user;

	switch (code) {
	case SCRIPT_E_NOUSER:
		snprintf(buf, len, "unknown user \"%.64s\"", user ? user : "");
		break;
	case SCRIPT_E_NOCAPS:
		snprintf(buf, len,
			 "extlbd runs as root without %s, needed to run the "
			 "script as user \"%.64s\"",
			 script_missing_caps(), user ? user : "nobody");
		break;
	case SCRIPT_E_NOLOOP:
		snprintf(buf, len, "script checks need libev's default loop");
		break;
	default:
		snprintf(buf, len, "script check without a command");
	}
}

static const char *script_incomplete(const struct xl_check_config *k)
{
	return k->command ? NULL
			  : "needs a command (set command in this check or "
			    "in one that inherits it)";
}

static const struct xl_check_key script_keys[] = {
    {.name = "command",
     .kind = XL_KEY_STR,
     .off = offsetof(struct xl_check_config, command),
     .rule = xl_rule_nonempty,
     .trusted_only = true},
    {.name = "user",
     .kind = XL_KEY_STR,
     .off = offsetof(struct xl_check_config, user),
     .rule = xl_rule_nonempty,
     .def = "nobody",
     .trusted_only = true},
};

const struct xl_check_ops xl_check_script = {
    .keys = script_keys,
    .nkeys = XL_ARRAY_SIZE(script_keys),
    .runs_programs = true,
    .incomplete = script_incomplete,
    .start = script_start,
    .release = script_release,
    .reason = script_reason,
};
