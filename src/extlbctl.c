/*
 * extlbctl.c - the control client: one request to extlbd's control socket,
 * its reply printed as text (or as JSON with -j).
 *
 * The protocol is ctl.h's: one JSON object a line each way.  The exit
 * status is the reply's "exit" member when it has one (1: something is
 * down or failed), else 0 for ok and 1 for an error; 2 is a usage error
 * and 3 a socket that cannot be reached.
 */
#include "autoconf.h"

#include "ctl.h"
#include "status.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXIT_DOWN 1
#define EXIT_USAGE 2
#define EXIT_CONNECT 3
#define DEFAULT_TIMEOUT 60.

static const char *prog = "extlbctl";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: extlbctl [-s SOCKET] [-j] [-t SECONDS] COMMAND "
		"[ARGS]\n"
		"Ask a running extlbd through its control socket.\n\n"
		"Commands:\n"
		"  ping                           is extlbd there: version, "
		"pid, uptime\n"
		"  status [SERVICE]               services and real servers, "
		"their health\n"
		"  disable SERVICE ADDRESS[:PORT] a real server into "
		"maintenance (drains)\n"
		"  enable SERVICE ADDRESS[:PORT]  ... and back\n"
		"  reload                         as SIGHUP, and what it did\n"
		"  check-config                   as extlbd -t, on the file in "
		"force\n\n"
		"Options:\n"
		"  -s, --socket PATH    the control socket (default %s)\n"
		"  -j, --json           print the reply as JSON\n"
		"  -t, --timeout SECS   wait at most this long (default %.0f)\n"
		"  -h, --help           this text\n"
		"  -v, --version        print the version and exit\n\n"
		"Exit status: 0 ok, 1 something down or failed, 2 usage, 3 "
		"cannot connect.\n",
		XL_CONTROL_SOCKET_DEFAULT, DEFAULT_TIMEOUT);
}

/* ---- the request ----------------------------------------------------- */

struct command {
	const char *name;
	int min, max;	       /* operands after the name */
	const char *fields[2]; /* the request members the operands fill */
};

static const struct command commands[] = {
    {"ping", 0, 0, {NULL, NULL}},
    {"status", 0, 1, {"service", NULL}},
    {"disable", 2, 2, {"service", "server"}},
    {"enable", 2, 2, {"service", "server"}},
    {"reload", 0, 0, {NULL, NULL}},
    {"check-config", 0, 0, {NULL, NULL}},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* ---- the exchange ---------------------------------------------------- */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: %s: the path is too long for a socket\n",
			prog, path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	close(fd);
	fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, path,
		strerror(e));
	if (e == EACCES || e == EPERM)
		fprintf(stderr,
			"%s: only root and members of extlbd's control_group "
			"may use the control socket\n",
			prog);
	else
		fprintf(stderr,
			"%s: is extlbd running, and is its control_socket "
			"this path? (-s SOCKET, see extlbctl(8))\n",
			prog);
	return -1;
}

/* Waits for fd to be ready for ev until the deadline; 0, or -1 said. */
static int wait_for(int fd, short ev, double deadline, double timeout)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = ev};
		double left = deadline - mono_now();
		int n;

		if (left <= 0) {
			fprintf(stderr,
				"%s: no reply from extlbd within %g s\n", prog,
				timeout);
			return -1;
		}
		n = poll(&p, 1, (int)(left * 1000) + 1);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "%s: poll: %s\n", prog,
				strerror(errno));
			return -1;
		}
	}
}

/* The request sent and the reply's line read; NULL (said) on failure. */
static char *exchange(int fd, const char *req, double timeout)
{
	double deadline = mono_now() + timeout;
	size_t len = strlen(req), at = 0, cap = 0, n = 0;
	char *buf = NULL, *nl;

	while (at < len) {
		ssize_t w;

		if (wait_for(fd, POLLOUT, deadline, timeout) < 0)
			return NULL;
		w = send(fd, req + at, len - at, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* turned away: the reply says why */
		if (w < 0) {
			fprintf(stderr, "%s: sending the request: %s\n", prog,
				strerror(errno));
			return NULL;
		}
		at += (size_t)w;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 65536) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 131072);

			if (!p) {
				fprintf(stderr, "%s: out of memory\n", prog);
				free(buf);
				return NULL;
			}
			buf = p;
		}
		if (wait_for(fd, POLLIN, deadline, timeout) < 0)
			break;
		r = recv(fd, buf + n, cap - n - 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: reading the reply: %s\n", prog,
				strerror(errno));
			break;
		}
		if (r == 0) {
			fprintf(stderr,
				"%s: extlbd closed the connection without a "
				"whole reply\n",
				prog);
			break;
		}
		nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* ---- the reply as text ----------------------------------------------- */

static const char *str_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v)
						   : NULL;
}

static void print_lines(FILE *f, struct json_object *o, const char *k)
{
	struct json_object *a;

	if (!json_object_object_get_ex(o, k, &a) ||
	    !json_object_is_type(a, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		fprintf(
		    f, "%s\n",
		    json_object_get_string(json_object_array_get_idx(a, i)));
}

static void print_ping(struct json_object *r)
{
	struct json_object *v;
	long up = 0, vs = -1;

	if (json_object_object_get_ex(r, "uptime", &v))
		up = (long)json_object_get_double(v);
	if (json_object_object_get_ex(r, "virtual_services", &v))
		vs = (long)json_object_get_int64(v);
	printf("extlbd %s running: pid %s, up %ldd %02ld:%02ld:%02ld, %ld "
	       "virtual services from %s\n",
	       str_of(r, "version") ?: "?", str_of(r, "pid") ?: "?", up / 86400,
	       up / 3600 % 24, up / 60 % 60, up % 60, vs,
	       str_of(r, "config_file") ?: "?");
}

static void print_text(const char *cmd, struct json_object *r, bool ok)
{
	const char *err = str_of(r, "error");

	if (!ok) {
		/* the loader's lines first, as extlbd -t prints them */
		print_lines(stderr, r, "errors");
		fprintf(stderr, "%s: %s: %s\n", prog, cmd, err ?: "failed");
		return;
	}
	if (!strcmp(cmd, "ping")) {
		print_ping(r);
	} else if (!strcmp(cmd, "reload")) {
		print_lines(stderr, r, "refused");
		printf("reload: %s in force: %s\n", str_of(r, "file") ?: "?",
		       str_of(r, "summary") ?: "done");
	} else if (!strcmp(cmd, "check-config")) {
		print_lines(stderr, r, "warnings");
		print_lines(stdout, r, "output");
	} else if (!strcmp(cmd, "status")) {
		xl_status_print(stdout, r);
	} else {
		printf("%s: %s\n", cmd, str_of(r, "message") ?: "done");
	}
}

/* ---- main ------------------------------------------------------------ */

static int parse_timeout(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = XL_CONTROL_SOCKET_DEFAULT, *line;
	struct json_object *req, *reply, *v;
	const struct command *cmd;
	double timeout = DEFAULT_TIMEOUT;
	bool json = false, ok;
	int c, fd, nargs, rc;
	char *text;

	while ((c = getopt_long(argc, argv, "+s:jt:hv", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			if (parse_timeout(optarg, &timeout) < 0) {
				fprintf(stderr,
					"%s: -t %s: not a number of seconds "
					"(above 0, at most 86400)\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("extlbctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!(cmd = find_command(argv[optind]))) {
		fprintf(stderr,
			"%s: unknown command '%s' (ping, status, disable, "
			"enable, reload, check-config)\n",
			prog, argv[optind]);
		return EXIT_USAGE;
	}
	nargs = argc - optind - 1;
	if (nargs < cmd->min || nargs > cmd->max) {
		fprintf(stderr, "%s: %s takes %s\n", prog, cmd->name,
			cmd->max == 0	       ? "no arguments"
			: cmd->min == cmd->max ? "SERVICE ADDRESS[:PORT]"
					       : "at most a SERVICE");
		return EXIT_USAGE;
	}
	if (!(req = json_object_new_object()))
		return EXIT_DOWN;
	json_object_object_add(req, "cmd", json_object_new_string(cmd->name));
	for (int i = 0; i < nargs; i++)
		json_object_object_add(
		    req, cmd->fields[i],
		    json_object_new_string(argv[optind + 1 + i]));
	/* one line: the plain form escapes every newline */
	if (asprintf(&text, "%s\n",
		     json_object_to_json_string_ext(
			 req, JSON_C_TO_STRING_PLAIN |
				  JSON_C_TO_STRING_NOSLASHESCAPE)) < 0) {
		json_object_put(req);
		return EXIT_DOWN;
	}
	json_object_put(req);
	if ((fd = connect_to(path)) < 0) {
		free(text);
		return EXIT_CONNECT;
	}
	line = exchange(fd, text, timeout);
	close(fd);
	free(text);
	if (!line)
		return EXIT_DOWN;
	reply = json_tokener_parse(line);
	if (!reply || !json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "ok", &v)) {
		fprintf(stderr, "%s: the reply is not extlbd's: %.200s\n", prog,
			line);
		json_object_put(reply);
		free((char *)line);
		return EXIT_DOWN;
	}
	free((char *)line);
	ok = json_object_get_boolean(v);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(
				   reply, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(cmd->name, reply, ok);
	if (json_object_object_get_ex(reply, "exit", &v) &&
	    json_object_is_type(v, json_type_int))
		rc = json_object_get_int(v);
	else
		rc = ok ? 0 : EXIT_DOWN;
	if (!ok && rc == 0)
		rc = EXIT_DOWN;
	json_object_put(reply);
	return rc;
}
