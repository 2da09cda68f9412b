/*
 * maint.c - the maintenance flags, in memory and in their state file.
 *
 * The flags are few (what operators took out by hand), so they are a
 * sorted array searched by bisection; the desired table asks for every
 * server it builds, and an empty array answers without a comparison.
 * The state file is JSON, {"version":1,"disabled":[{"service":"web",
 * "server":"10.0.0.1:80"}, ...]}, because extlbctl already speaks JSON
 * and an operator can read it; it is written atomically so that a crash
 * leaves the old file or the new one, never half of one.
 */
#include "maint.h"

#include "incfile.h"
#include "rules.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int entry_cmp(const char *svc, uint16_t af, const union xl_inaddr *a,
		     uint16_t port, const struct xl_maint_entry *e)
{
	int c = strcmp(svc, e->service);

	if (c)
		return c;
	if (af != e->af)
		return af < e->af ? -1 : 1;
	if ((c = memcmp(a, &e->addr, sizeof(*a))))
		return c;
	return port == e->port ? 0 : port < e->port ? -1 : 1;
}

/* The index of the entry, or where it would go (*found false). */
static size_t find(const struct xl_maint *m, const char *svc, uint16_t af,
		   const union xl_inaddr *a, uint16_t port, bool *found)
{
	size_t lo = 0, hi = m->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp(svc, af, a, port, &m->v[mid]);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

bool xl_maint_has(const struct xl_maint *m, const char *service,
		  const struct xl_dest *d)
{
	bool found;

	if (!m || !m->n || !service)
		return false;
	find(m, service, d->af, &d->addr, d->port, &found);
	return found;
}

static int set_addr(struct xl_maint *m, const char *service, uint16_t af,
		    const union xl_inaddr *a, uint16_t port, bool on)
{
	bool found;
	size_t i = find(m, service, af, a, port, &found);
	struct xl_maint_entry e = {.af = af, .addr = *a, .port = port};

	if (found == on)
		return 0;
	if (!on) {
		free(m->v[i].service);
		memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
		m->n--;
		return 1;
	}
	if (XL_GROW(m->v, m->cap, m->n + 1, 8) < 0 ||
	    !(e.service = strdup(service)))
		return -ENOMEM;
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = e;
	m->n++;
	return 1;
}

int xl_maint_set(struct xl_maint *m, const char *service,
		 const struct xl_dest *d, bool on)
{
	return set_addr(m, service, d->af, &d->addr, d->port, on);
}

void xl_maint_free(struct xl_maint *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].service);
	free(m->v);
	*m = (struct xl_maint){0};
}

int xl_maint_path(const struct xl_config *c, char *buf, size_t len)
{
	const char *dir =
	    c && c->state_dir ? c->state_dir : XL_STATE_DIR_DEFAULT;
	int n = snprintf(buf, len, "%s/%s", dir, XL_MAINT_FILE);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int xl_maint_parse_server(const char *s, uint16_t *af, union xl_inaddr *addr,
			  int *port, char *err, size_t errlen)
{
	const char *why;

	if (xl_rule_addr_port(s, true, af, addr, port, &why))
		return 0;
	snprintf(err, errlen, "\"%s\" %s", s, why);
	return -1;
}

/* ---- the state file ------------------------------------------------- */

/* The directory of path, refused unless only root can change it. */
static int dir_trusted(const char *path, char *err, size_t errlen)
{
	char dir[4096], why[96];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!dir[0])
		strcpy(dir, "/");
	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!xl_incfile_trusted(&st, why, sizeof(why))) {
		snprintf(err, errlen,
			 "state_dir %s is %s: maintenance flags are neither "
			 "read nor written there",
			 dir, why);
		return -1;
	}
	return 0;
}

/* One entry of the file: 0, or -1 with why. */
static int load_entry(struct xl_maint *m, json_object *o, char *why,
		      size_t whylen)
{
	json_object *svc, *srv;
	uint16_t af;
	union xl_inaddr a;
	int port;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "service", &svc) ||
	    !json_object_object_get_ex(o, "server", &srv) ||
	    !json_object_is_type(svc, json_type_string) ||
	    !json_object_is_type(srv, json_type_string) ||
	    !json_object_get_string_len(svc)) {
		snprintf(why, whylen,
			 "not {\"service\": NAME, \"server\": ADDRESS:PORT}");
		return -1;
	}
	if (xl_maint_parse_server(json_object_get_string(srv), &af, &a, &port,
				  why, whylen) < 0)
		return -1;
	if (port < 0) {
		snprintf(why, whylen, "server \"%s\" has no port",
			 json_object_get_string(srv));
		return -1;
	}
	if (set_addr(m, json_object_get_string(svc), af, &a, (uint16_t)port,
		     true) < 0) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

/* The flags of text; 0, or -1 with err (the entries read are kept). */
static int load_text(struct xl_maint *m, const char *path, const char *text,
		     size_t n, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	json_object *root = NULL, *list;
	char why[160], later[160];
	size_t bad = 0, first = 0;
	int rc = -1;

	if (!tok) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	root = json_tokener_parse_ex(tok, text, (int)n);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)n) {
		/* trailing white space is fine, anything else is not */
		size_t at = root ? (size_t)tok->char_offset : n;

		while (root && at < n && strchr(" \t\r\n", text[at]))
			at++;
		if (!root || at < n) {
			enum json_tokener_error e = json_tokener_get_error(tok);

			snprintf(err, errlen, "%s: not JSON (%s)", path,
				 root ? "text after the object"
				 : e == json_tokener_continue
				     ? "it ends too early"
				     : json_tokener_error_desc(e));
			goto out;
		}
	}
	if (!json_object_object_get_ex(root, "disabled", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "%s: no \"disabled\" list", path);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++)
		/* the first error is the one told: later ones go to later */
		if (load_entry(m, json_object_array_get_idx(list, i),
			       bad ? later : why,
			       bad ? sizeof(later) : sizeof(why)) < 0 &&
		    !bad++)
			first = i;
	if (bad) {
		snprintf(err, errlen,
			 "%s: %zu entr%s ignored, the first (number %zu): %s",
			 path, bad, bad == 1 ? "y" : "ies", first + 1, why);
		goto out;
	}
	rc = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

int xl_maint_load(struct xl_maint *m, const char *path, char *err,
		  size_t errlen)
{
	char why[160], *text = NULL;
	struct stat st;
	size_t n;
	int rc;

	xl_maint_free(m);
	if (dir_trusted(path, err, errlen) < 0)
		return -1;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	rc = xl_incfile_read(path, XL_MAINT_MAX_FILE, &text, &n, &st, why,
			     sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == -2 ? "out of memory" : why);
		return -1;
	}
	if (!xl_incfile_trusted(&st, why, sizeof(why))) {
		snprintf(err, errlen,
			 "%s is %s: not read, no server is in maintenance",
			 path, why);
		free(text);
		return -1;
	}
	rc = load_text(m, path, text, n, err, errlen);
	free(text);
	if (rc < 0)
		m->bad_file = true;
	return rc;
}

static json_object *to_json(const struct xl_maint *m)
{
	json_object *root = json_object_new_object(),
		    *list = json_object_new_array();
	char b[XL_ADDRSTR_MAX + 8];

	if (!root || !list)
		goto fail;
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "disabled", list);
	for (size_t i = 0; i < m->n; i++) {
		struct xl_dest d = {.af = m->v[i].af,
				    .addr = m->v[i].addr,
				    .port = m->v[i].port};
		json_object *e = json_object_new_object();

		if (!e || json_object_array_add(list, e) < 0) {
			json_object_put(e);
			json_object_put(root);
			return NULL;
		}
		json_object_object_add(e, "service",
				       json_object_new_string(m->v[i].service));
		json_object_object_add(
		    e, "server",
		    json_object_new_string(xl_dest_format(&d, b, sizeof(b))));
	}
	return root;
fail:
	json_object_put(root);
	json_object_put(list);
	return NULL;
}

/* The directory of path, made when missing (0700; its missing parents
 * 0755, as a fresh system may lack /var/lib): its fd, or -1 with err. */
static int open_dir(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash && slash != path ? path : "/");
	for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "state_dir: %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "state_dir %s: %s", dir, strerror(errno));
	return fd;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int xl_maint_save(struct xl_maint *m, const char *path, char *err,
		  size_t errlen)
{
	char tmp[4200] = "", bad[4200];
	json_object *root = NULL;
	const char *text;
	int fd = -1, dfd, rc = -1;

	err[0] = '\0';
	if ((dfd = open_dir(path, err, errlen)) < 0)
		return -1;
	if (dir_trusted(path, err, errlen) < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	if (!(root = to_json(m)) ||
	    !(text = json_object_to_json_string_ext(
		  root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 ||
	    write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) ||
	    fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* what could not be read is kept for whoever wants to know why */
	if (m->bad_file && rename(path, bad) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot keep it as %s: %s", path, bad,
			 strerror(errno));
		goto out;
	}
	if (rename(tmp, path) < 0 || fsync(dfd) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	m->bad_file = false;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && *tmp)
		unlink(tmp);
	json_object_put(root);
	close(dfd);
	return rc;
}

size_t xl_maint_unknown(const struct xl_maint *m, const struct xl_config *c,
			xl_maint_entry_fn fn, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct xl_vs_config *vs =
		    xl_config_find_name(c, m->v[i].service);
		struct xl_dest d = {.af = m->v[i].af,
				    .addr = m->v[i].addr,
				    .port = m->v[i].port};
		bool known = false;

		for (size_t r = 0; vs && r < vs->svc.ndests && !known; r++)
			known = !xl_dest_cmp(&vs->svc.dests[r], &d);
		if (!known) {
			n++;
			if (fn)
				fn(arg, &m->v[i]);
		}
	}
	return n;
}
