/*
 * client.c - HTTPS requests to the API server with libcurl, answers parsed
 * with json-c.
 *
 * Everything that could leak or hang is decided here once: TLS is verified
 * unless the kubeconfig says insecure-skip-tls-verify; the bearer token is
 * sent in a header and never logged (libcurl's verbose mode, which prints
 * headers, is never switched on); a tokenFile is read again for every
 * request, because service account tokens rotate; answers are capped at
 * K8S_MAX_RESPONSE and requests at a timeout; only http and https URLs are
 * followed, and redirects are not.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "k8s/client.h"
#include "k8s/log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_MAX (64 * 1024)
/* an error's Status is parsed only up to this size: it is a message */
#define STATUS_MAX (64 * 1024)
/* above this, the answer buffer is freed after use rather than kept */
#define RESP_KEEP (1u << 20)

struct buf {
	char *data;
	size_t len, cap;
	bool too_big;
};

struct k8s_client {
	const struct k8s_kubeconfig *kc;
	CURL *curl;
	long timeout;
	long status;
	char err[1024];
	const volatile sig_atomic_t *abort; /* non-zero: end the request */
	/* files written for credentials libcurl cannot take from memory */
	char *tmpfiles[3];
	size_t ntmp;
	struct buf resp;
};

static int __attribute__((format(printf, 2, 3)))
cerr(struct k8s_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

const char *k8s_client_error(const struct k8s_client *c)
{
	return c->err;
}

long k8s_client_status(const struct k8s_client *c)
{
	return c->status;
}

void k8s_client_set_timeout(struct k8s_client *c, long seconds)
{
	c->timeout = seconds;
}

void k8s_client_set_abort(struct k8s_client *c,
			  const volatile sig_atomic_t *flag)
{
	c->abort = flag;
}

bool k8s_client_aborted(const struct k8s_client *c)
{
	return c->abort && *c->abort;
}

/* CURLOPT_XFERINFOFUNCTION: called at least once a second while waiting. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	const struct k8s_client *c = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return c->abort && *c->abort ? 1 : 0;
}

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;

	if (add > K8S_MAX_RESPONSE - b->len) {
		b->too_big = true;
		return 0; /* libcurl ends the transfer with a write error */
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		char *d;

		while (cap < b->len + add + 1)
			cap *= 2;
		if (cap > K8S_MAX_RESPONSE + 1) /* no more than can be kept */
			cap = K8S_MAX_RESPONSE + 1;
		d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

/*
 * Credentials libcurl cannot take from memory (an old libcurl, or a TLS
 * backend without blob support) go to a file only we can read, removed
 * when the client is freed.
 */
static const char *private_file(struct k8s_client *c, const struct k8s_blob *b)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (c->ntmp == sizeof(c->tmpfiles) / sizeof(c->tmpfiles[0]) ||
	    asprintf(&path, "%s/.extlb-k8s-XXXXXX",
		     dir && *dir ? dir : "/tmp") < 0)
		return NULL;
	fd = mkstemp(path); /* mode 0600 */
	if (fd < 0 || write(fd, b->data, b->len) != (ssize_t)b->len) {
		cerr(c, "cannot write a credentials file in %s: %s",
		     dir && *dir ? dir : "/tmp", strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	close(fd);
	c->tmpfiles[c->ntmp++] = path;
	return path;
}

enum pem { PEM_CA, PEM_CERT, PEM_KEY };

/* The PEM from memory, where this libcurl takes it so. */
static CURLcode set_blob(CURL *h, enum pem which, const struct k8s_blob *b)
{
#if LIBCURL_VERSION_NUM >= 0x074700 /* 7.71: certificate and key blobs */
	struct curl_blob cb = {b->data, b->len, CURL_BLOB_COPY};

	switch (which) {
	case PEM_CA:
#if LIBCURL_VERSION_NUM >= 0x074d00 /* 7.77: CA blobs */
		return curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &cb);
#else
		return CURLE_NOT_BUILT_IN;
#endif
	case PEM_CERT:
		return curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
	case PEM_KEY:
		return curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &cb);
	}
#else
	(void)h, (void)which, (void)b;
#endif
	return CURLE_NOT_BUILT_IN;
}

/* One PEM (CA, client certificate, client key): from its file, or its
 * -data in memory, or failing that through a private file. */
static int set_pem(struct k8s_client *c, CURL *h, enum pem which,
		   const char *file, const struct k8s_blob *blob)
{
	static const CURLoption file_opt[] = {CURLOPT_CAINFO, CURLOPT_SSLCERT,
					      CURLOPT_SSLKEY};
	const char *path = file;

	if (blob->len) {
		if (set_blob(h, which, blob) == CURLE_OK)
			return 0;
		path = private_file(c, blob);
		if (!path)
			return -1;
	}
	if (path && curl_easy_setopt(h, file_opt[which], path) != CURLE_OK)
		return cerr(c, "libcurl refused the TLS file %s", path);
	return 0;
}

int k8s_client_setup_handle(struct k8s_client *c, CURL *h)
{
	const struct k8s_kubeconfig *kc = c->kc;

	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, kc->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, kc->insecure ? 0L : 2L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "extlb-k8s");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)K8S_MAX_RESPONSE);
	if (set_pem(c, h, PEM_CA, kc->ca_file, &kc->ca_data) < 0 ||
	    set_pem(c, h, PEM_CERT, kc->cert_file, &kc->cert_data) < 0 ||
	    set_pem(c, h, PEM_KEY, kc->key_file, &kc->key_data) < 0)
		return -1;
	return 0;
}

struct k8s_client *k8s_client_new(const struct k8s_kubeconfig *kc, char *err,
				  size_t len)
{
	struct k8s_client *c = calloc(1, sizeof(*c));

	if (!c || !(c->curl = curl_easy_init())) {
		snprintf(err, len, "cannot start libcurl");
		free(c);
		return NULL;
	}
	c->kc = kc;
	c->timeout = 60;
	if (strncmp(kc->server, "https://", 8) &&
	    strncmp(kc->server, "http://", 7)) {
		snprintf(err, len,
			 "server %s: only https:// (or http://) URLs "
			 "are supported",
			 kc->server);
		k8s_client_free(c);
		return NULL;
	}
	if (k8s_client_setup_handle(c, c->curl) < 0) {
		snprintf(err, len, "%s", c->err);
		k8s_client_free(c);
		return NULL;
	}
	if (!strncmp(kc->server, "http://", 7) && (kc->token || kc->token_file))
		k8s_warn("%s is plain http: the bearer token is sent "
			 "unencrypted",
			 kc->server);
	return c;
}

void k8s_client_free(struct k8s_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ntmp; i++) {
		unlink(c->tmpfiles[i]);
		free(c->tmpfiles[i]);
	}
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->resp.data);
	free(c);
}

/* The bearer token: from the kubeconfig, or read again from its file. */
static char *read_token(struct k8s_client *c)
{
	const struct k8s_kubeconfig *kc = c->kc;
	char *tok;
	size_t n;
	FILE *f;

	if (kc->token || !kc->token_file)
		return kc->token ? strdup(kc->token) : NULL;
	f = fopen(kc->token_file, "r");
	if (!f) {
		cerr(c, "cannot read the token file %s: %s", kc->token_file,
		     strerror(errno));
		return NULL;
	}
	tok = calloc(1, TOKEN_MAX + 1);
	if (!tok) {
		fclose(f);
		cerr(c, "out of memory");
		return NULL;
	}
	n = fread(tok, 1, TOKEN_MAX, f);
	fclose(f);
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' ||
		     tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		tok[--n] = 0;
	if (!n) {
		cerr(c, "the token file %s is empty", kc->token_file);
		free(tok);
		return NULL;
	}
	return tok;
}

static bool append(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);

	if (!n)
		return false;
	*h = n;
	return true;
}

/* Frees a string that held a secret, clearing it first. */
static void wipe(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

/* The request's headers; NULL (error set) on failure. */
static struct curl_slist *headers(struct k8s_client *c, const char *ctype)
{
	struct curl_slist *h = NULL;
	char *tok = NULL, *auth = NULL, *type = NULL;
	bool ok = true;

	if (c->kc->token || c->kc->token_file) {
		tok = read_token(c);
		/* a line break would end the header and start another */
		if (tok && strpbrk(tok, "\r\n")) {
			cerr(c, "the bearer token contains a line break");
			ok = false;
		} else {
			ok = tok && asprintf(&auth, "Authorization: Bearer %s",
					     tok) >= 0;
		}
		if (!ok)
			auth = NULL;
	}
	if (ok && ctype && asprintf(&type, "Content-Type: %s", ctype) < 0) {
		type = NULL;
		ok = false;
	}
	ok = ok && append(&h, "Accept: application/json") &&
	     (!auth || append(&h, auth)) && (!type || append(&h, type));
	if (!ok) {
		curl_slist_free_all(h);
		h = NULL;
		if (!c->err[0])
			cerr(c, "out of memory");
	}
	wipe(tok);
	wipe(auth);
	free(type);
	return h;
}

/* "HTTP 403: services is forbidden: ...", from the Status the API server
 * sends with an error, when it sent one. */
static void status_error(struct k8s_client *c, const char *what)
{
	json_object *j = c->resp.data && c->resp.len <= STATUS_MAX
			     ? json_tokener_parse(c->resp.data)
			     : NULL;
	json_object *msg;

	if (j && json_object_object_get_ex(j, "message", &msg) &&
	    json_object_is_type(msg, json_type_string))
		cerr(c, "%s: HTTP %ld: %s", what, c->status,
		     json_object_get_string(msg));
	else
		cerr(c, "%s: HTTP %ld", what, c->status);
	json_object_put(j);
}

/* One request; the answer in c->resp.  0 for a 2xx answer, else -1. */
static int request(struct k8s_client *c, const char *method, const char *path,
		   const char *ctype, const char *body)
{
	char what[512], cerrbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	struct curl_slist *h;
	CURLcode rc;

	snprintf(what, sizeof(what), "%s %s", method, path);
	c->err[0] = 0;
	c->status = 0;
	c->resp.len = 0;
	c->resp.too_big = false;
	if (c->resp.data)
		c->resp.data[0] = 0;
	h = headers(c, ctype);
	if (!h || asprintf(&url, "%s%s", c->kc->server, path) < 0) {
		curl_slist_free_all(h);
		return c->err[0] ? -1 : cerr(c, "%s: out of memory", what);
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, cerrbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->resp);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, c->abort ? 0L : 1L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(body));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	/* nothing of this request may outlive it in the handle */
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(h);
	k8s_debug("%s %s: %ld, %zu bytes", method, url, c->status, c->resp.len);
	free(url);
	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			return cerr(c, "%s: cut short by a signal", what);
		if (c->resp.too_big || rc == CURLE_FILESIZE_EXCEEDED)
			return cerr(c, "%s: the answer is larger than %u MiB",
				    what, K8S_MAX_RESPONSE >> 20);
		return cerr(c, "%s: %s", what,
			    cerrbuf[0] ? cerrbuf : curl_easy_strerror(rc));
	}
	if (c->status < 200 || c->status > 299) {
		status_error(c, what);
		return -1;
	}
	return 0;
}

/* Whether one object's text keeps within the bounds (k8s/client.h). */
static enum k8s_json_over json_over(const char *data, size_t len)
{
	struct k8s_json_scan s;
	size_t n;

	while (len && strchr(" \t\r\n", *data) && *data) {
		data++;
		len--;
	}
	k8s_json_scan_reset(&s);
	k8s_json_scan(&s, data, len, &n);
	return s.over;
}

/* A JSON text as one value, with nothing after it. */
static int parse_json(struct k8s_client *c, const char *what, const char *data,
		      size_t len, json_object **out)
{
	struct json_tokener *tok = json_tokener_new_ex(K8S_MAX_DEPTH);
	enum json_tokener_error e;
	size_t end;

	*out = NULL;
	if (!tok)
		return cerr(c, "%s: out of memory", what);
	if (len > INT32_MAX) {
		json_tokener_free(tok);
		return cerr(c, "%s: the answer is too large", what);
	}
	if (json_over(data, len) != K8S_JSON_OK) {
		json_tokener_free(tok);
		return cerr(c, "%s: the answer is %s", what,
			    k8s_json_over_text(json_over(data, len)));
	}
	*out = json_tokener_parse_ex(tok, data ? data : "", (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", data[end]))
		end++;
	if (!*out || e != json_tokener_success || end != len) {
		json_object_put(*out);
		*out = NULL;
		return cerr(c, "%s: the answer is not JSON (%s)", what,
			    e != json_tokener_success
				? json_tokener_error_desc(e)
				: "data after the value");
	}
	return 0;
}

static void resp_shrink(struct k8s_client *c);

int k8s_client_get(struct k8s_client *c, const char *path, json_object **out)
{
	char what[512];
	int r;

	*out = NULL;
	snprintf(what, sizeof(what), "GET %s", path);
	if (request(c, "GET", path, NULL, NULL) < 0)
		return -1;
	r = parse_json(c, what, c->resp.data, c->resp.len, out);
	resp_shrink(c);
	return r;
}

int k8s_client_patch(struct k8s_client *c, const char *path,
		     const char *content_type, const char *body)
{
	return request(c, "PATCH", path, content_type, body);
}

int k8s_client_post(struct k8s_client *c, const char *path,
		    const char *content_type, const char *body)
{
	return request(c, "POST", path, content_type, body);
}

struct curl_slist *k8s_client_headers(struct k8s_client *c)
{
	c->err[0] = 0;
	return headers(c, NULL);
}

const char *k8s_client_server(const struct k8s_client *c)
{
	return c->kc->server;
}

void k8s_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = 0;
}

char *k8s_client_list_url(struct k8s_client *c, const char *path,
			  const char *cont)
{
	char *esc = cont ? curl_easy_escape(c->curl, cont, 0) : NULL, *url;
	/* a path may bring its own query (a fieldSelector) */
	char sep = strchr(path, '?') ? '&' : '?';
	int n = esc ? asprintf(&url, "%s%climit=%d&continue=%s", path, sep,
			       K8S_PAGE_LIMIT, esc)
		    : asprintf(&url, "%s%climit=%d", path, sep, K8S_PAGE_LIMIT);

	curl_free(esc);
	if (n < 0 || (cont && !esc)) {
		if (n >= 0)
			free(url);
		cerr(c, "out of memory");
		return NULL;
	}
	return url;
}

/* ---- bounded JSON ------------------------------------------------------ */

#define STR_(x) #x
#define STR(x) STR_(x)

void k8s_json_scan_reset(struct k8s_json_scan *s)
{
	memset(s, 0, sizeof(*s));
}

const char *k8s_json_over_text(enum k8s_json_over o)
{
	switch (o) {
	case K8S_JSON_TOO_BIG:
		return "larger than " STR(K8S_MAX_OBJECT_MIB) " MiB";
	case K8S_JSON_TOO_DEEP:
		return "nested deeper than " STR(K8S_MAX_DEPTH) " levels";
	case K8S_JSON_TOO_MANY_MAPS:
		return "more than " STR(K8S_MAX_MAPS) " JSON objects";
	case K8S_JSON_TOO_MANY_NODES:
		return "more than " STR(K8S_MAX_NODES) " JSON values";
	default:
		return "within bounds";
	}
}

static void scan_over(struct k8s_json_scan *s, enum k8s_json_over o)
{
	if (s->over == K8S_JSON_OK)
		s->over = o;
}

/* A byte outside strings, in a container.  true when the value ended. */
static bool scan_structure(struct k8s_json_scan *s, char ch)
{
	switch (ch) {
	case '"':
		s->in_str = true;
		return false;
	case '{':
	case '[':
		if (ch == '{' && ++s->maps > K8S_MAX_MAPS)
			scan_over(s, K8S_JSON_TOO_MANY_MAPS);
		if (++s->depth > K8S_MAX_DEPTH)
			scan_over(s, K8S_JSON_TOO_DEEP);
		/* a container is a value too */
		/* fall through */
	case ',':
	case ':':
		if (++s->nodes > K8S_MAX_NODES)
			scan_over(s, K8S_JSON_TOO_MANY_NODES);
		return false;
	case '}':
	case ']':
		return s->depth && --s->depth == 0;
	default:
		return false;
	}
}

/*
 * The bytes of a string end at an unescaped quote; a container where its
 * depth comes back to 0; any other value (a number, true, null) at the
 * first byte that cannot be in it, which is not its own.
 */
int k8s_json_scan(struct k8s_json_scan *s, const char *p, size_t len,
		  size_t *used)
{
	bool done = false;
	size_t i = 0;

	if (!s->started && len) {
		s->started = true;
		s->container = *p == '{' || *p == '[';
		if (!s->container) {
			s->in_str = *p == '"';
			s->nodes = 1;
			i = 1;
		}
	}
	for (; i < len && !done; i++) {
		char ch = p[i];

		if (s->in_str) {
			if (s->esc) {
				s->esc = false;
			} else if (ch == '\\') {
				s->esc = true;
			} else if (ch == '"') {
				s->in_str = false;
				done = !s->container;
			}
		} else if (!s->container) {
			if (strchr(",]}: \t\r\n", ch)) {
				done = true;
				break; /* that byte is not the value's */
			}
		} else {
			done = scan_structure(s, ch);
		}
	}
	s->bytes += i;
	if (s->bytes > K8S_MAX_OBJECT)
		scan_over(s, K8S_JSON_TOO_BIG);
	*used = i;
	return done ? 1 : 0;
}

/* ---- LIST pages -------------------------------------------------------- */

/* A page being read, one value at a time. */
struct walk {
	struct k8s_client *c;
	const char *what; /* "GET /api/v1/services", for messages */
	const char *b;
	size_t len, pos;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void walk_blank(struct walk *w)
{
	while (w->pos < w->len && is_blank(w->b[w->pos]))
		w->pos++;
}

/* Whether the next byte past blanks is ch; if so it is taken. */
static bool walk_take(struct walk *w, char ch)
{
	walk_blank(w);
	if (w->pos < w->len && w->b[w->pos] == ch) {
		w->pos++;
		return true;
	}
	return false;
}

static int walk_broken(struct walk *w, const char *why)
{
	return cerr(w->c, "%s: the answer is not JSON (%s at byte %zu)",
		    w->what, why, w->pos);
}

/* Exactly n bytes as one JSON value: 0 with *out (NULL for null), -1
 * with *e, -2 out of memory. */
static int parse_exact(const char *p, size_t n, json_object **out,
		       enum json_tokener_error *e)
{
	json_tokener *tok = json_tokener_new_ex(K8S_MAX_DEPTH);

	*out = NULL;
	if (!tok)
		return -2;
	*out = json_tokener_parse_ex(tok, p, (int)n);
	*e = json_tokener_get_error(tok);
	if (*e == json_tokener_continue) { /* a number: it ends here */
		*out = json_tokener_parse_ex(tok, "", 1);
		*e = json_tokener_get_error(tok);
	} else if (*e == json_tokener_success &&
		   json_tokener_get_parse_end(tok) != n) {
		*e = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (*e == json_tokener_success)
		return 0;
	json_object_put(*out);
	*out = NULL;
	return -1;
}

/*
 * The value at the walk's position: its extent scanned first, then, only
 * when it keeps within the bounds, parsed.  1 with *out (NULL for null),
 * 0 when it is past a bound (*over says which; it is stepped over), -1
 * when the page is not JSON (error set).
 */
static int walk_value(struct walk *w, json_object **out,
		      enum k8s_json_over *over)
{
	struct k8s_json_scan s;
	enum json_tokener_error e;
	size_t n;
	int r;

	*out = NULL;
	walk_blank(w);
	k8s_json_scan_reset(&s);
	if (w->pos >= w->len ||
	    !k8s_json_scan(&s, w->b + w->pos, w->len - w->pos, &n) || !n)
		return walk_broken(w, "it ends within a value");
	*over = s.over;
	r = s.over == K8S_JSON_OK ? parse_exact(w->b + w->pos, n, out, &e) : 0;
	if (r == -2)
		return cerr(w->c, "%s: out of memory", w->what);
	if (r < 0)
		return walk_broken(w, json_tokener_error_desc(e));
	w->pos += n;
	return s.over == K8S_JSON_OK ? 1 : 0;
}

/* items: each one parsed, handed to fn and freed before the next. */
static int walk_items(struct walk *w, k8s_item_fn fn, void *arg)
{
	enum k8s_json_over over;
	json_object *item;
	size_t i = 0;
	int r;

	if (!walk_take(w, '[')) {
		r = walk_value(w, &item, &over);
		if (r == 1 && !item)
			return 0; /* null: no items */
		json_object_put(item);
		return r < 0 ? -1
			     : cerr(w->c, "%s: items is not an array", w->what);
	}
	if (walk_take(w, ']'))
		return 0;
	do {
		if (i == K8S_PAGE_LIMIT)
			return cerr(w->c,
				    "%s: more than %d items in a page (its "
				    "limit)",
				    w->what, K8S_PAGE_LIMIT);
		r = walk_value(w, &item, &over);
		if (r < 0)
			return -1;
		if (r == 0) {
			k8s_warn("%s: items[%zu] was skipped: %s", w->what, i,
				 k8s_json_over_text(over));
		} else {
			r = fn(item, arg);
			json_object_put(item);
			if (r == -2)
				return cerr(w->c,
					    "%s: more than %d backends "
					    "(address and port pairs) in one LIST",
					    w->what, K8S_MAX_LIST_BACKENDS);
			if (r < 0)
				return cerr(w->c,
					    "%s: the items could not be stored",
					    w->what);
		}
		i++;
	} while (walk_take(w, ','));
	return walk_take(w, ']') ? 0 : walk_broken(w, "items do not end");
}

/* A key of the page's object ("items"), up to its colon. */
static int walk_key(struct walk *w, const char **key, size_t *klen)
{
	struct k8s_json_scan s;
	size_t n;

	if (!walk_take(w, '"'))
		return walk_broken(w, "no key");
	w->pos--;
	k8s_json_scan_reset(&s);
	if (!k8s_json_scan(&s, w->b + w->pos, w->len - w->pos, &n) ||
	    s.over != K8S_JSON_OK)
		return walk_broken(w, "a key does not end");
	*key = w->b + w->pos + 1;
	*klen = n - 2;
	w->pos += n;
	return walk_take(w, ':') ? 0 : walk_broken(w, "no colon");
}

static bool key_is(const char *key, size_t klen, const char *want)
{
	return klen == strlen(want) && !memcmp(key, want, klen);
}

/* One member of the page's object: items through fn, metadata kept in
 * *md, anything else (kind, apiVersion) parsed and dropped. */
static int walk_member(struct walk *w, k8s_item_fn fn, void *arg,
		       json_object **md, bool *items)
{
	enum k8s_json_over over;
	const char *key = NULL;
	json_object *v;
	size_t klen = 0;
	int r;

	if (walk_key(w, &key, &klen) < 0)
		return -1;
	if (key_is(key, klen, "items")) {
		if (*items)
			return cerr(w->c, "%s: items twice", w->what);
		*items = true;
		return walk_items(w, fn, arg);
	}
	r = walk_value(w, &v, &over);
	if (r < 0)
		return -1;
	if (!key_is(key, klen, "metadata")) {
		json_object_put(v);
		return 0;
	}
	if (r == 0 || *md) {
		json_object_put(v);
		return cerr(w->c, "%s: the list's metadata is %s", w->what,
			    r == 0 ? k8s_json_over_text(over) : "there twice");
	}
	*md = v;
	return 0;
}

/* The page: {"kind": ..., "metadata": {...}, "items": [...]}. */
static int walk_page(struct walk *w, k8s_item_fn fn, void *arg,
		     json_object **md)
{
	bool items = false;

	*md = NULL;
	if (!walk_take(w, '{'))
		return w->pos < w->len && w->b[w->pos] &&
			       strchr("[\"-0123456789tfn", w->b[w->pos])
			   ? cerr(w->c,
				  "%s: the answer is not a list (a JSON "
				  "value, not an object)",
				  w->what)
			   : walk_broken(w, "no object");
	if (!walk_take(w, '}')) {
		do {
			if (walk_member(w, fn, arg, md, &items) < 0)
				return -1;
		} while (walk_take(w, ','));
		if (!walk_take(w, '}'))
			return walk_broken(w, "the list does not end");
	}
	walk_blank(w);
	return w->pos == w->len ? 0 : walk_broken(w, "data after the value");
}

/* The list's metadata: its resourceVersion and the continue token. */
static int list_meta(struct k8s_client *c, const char *path, json_object *md,
		     char **list_rv, const char **cont)
{
	json_object *v;

	*cont = NULL;
	if (!json_object_is_type(md, json_type_object))
		return cerr(c, "GET %s: the answer is not a list (no metadata)",
			    path);
	if (json_object_object_get_ex(md, "resourceVersion", &v) &&
	    json_object_is_type(v, json_type_string)) {
		free(*list_rv);
		if (!(*list_rv = strdup(json_object_get_string(v))))
			return cerr(c, "out of memory");
	}
	if (json_object_object_get_ex(md, "continue", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v))
		*cont = json_object_get_string(v);
	return 0;
}

/* The URL of the page after page number `page` (at url), unless the
 * token comes back unchanged or the pages never end. */
static int next_page(struct k8s_client *c, const char *path, const char *url,
		     unsigned page, const char *cont, char **next)
{
	if (page >= K8S_MAX_LIST_PAGES)
		return cerr(c,
			    "GET %s: more than %d pages (%d objects): a "
			    "continue token that never ends",
			    path, K8S_MAX_LIST_PAGES, K8S_MAX_LIST_OBJECTS);
	if (!(*next = k8s_client_list_url(c, path, cont)))
		return -1;
	if (url && !strcmp(*next, url)) {
		free(*next);
		*next = NULL;
		return cerr(c,
			    "GET %s: page %u gave its own continue token "
			    "again",
			    path, page);
	}
	return 0;
}

int k8s_client_list_page(struct k8s_client *c, const char *path,
			 const char *url, unsigned page, const char *body,
			 size_t len, k8s_item_fn fn, void *arg, char **list_rv,
			 char **next)
{
	char what[512];
	struct walk w = {c, what, body ? body : "", body ? len : 0, 0};
	json_object *md = NULL;
	const char *cont = NULL;
	int r;

	*next = NULL;
	snprintf(what, sizeof(what), "GET %s", path);
	if (len > K8S_MAX_RESPONSE)
		return cerr(c, "%s: the answer is larger than %u MiB", what,
			    K8S_MAX_RESPONSE >> 20);
	r = walk_page(&w, fn, arg, &md);
	if (r == 0)
		r = list_meta(c, path, md, list_rv, &cont);
	if (r == 0 && cont)
		r = next_page(c, path, url, page, cont, next);
	json_object_put(md);
	return r;
}

/* A large answer's buffer is not kept for the next (small) request. */
static void resp_shrink(struct k8s_client *c)
{
	if (c->resp.cap <= RESP_KEEP)
		return;
	free(c->resp.data);
	memset(&c->resp, 0, sizeof(c->resp));
}

int k8s_client_list(struct k8s_client *c, const char *path, k8s_item_fn fn,
		    void *arg, char **list_rv)
{
	char *url = NULL, *next = NULL;
	unsigned page = 0;
	int r;

	*list_rv = NULL;
	if (!(url = k8s_client_list_url(c, path, NULL)))
		return -1;
	/* a continue token that expires between pages fails the LIST: the
	 * caller starts again rather than mix two versions of the cluster */
	do {
		r = request(c, "GET", url, NULL, NULL);
		if (r == 0)
			r = k8s_client_list_page(c, path, url, ++page,
						 c->resp.data, c->resp.len, fn,
						 arg, list_rv, &next);
		free(url);
		url = next;
	} while (r == 0 && url);
	free(url);
	resp_shrink(c);
	if (r < 0) {
		free(*list_rv);
		*list_rv = NULL;
	}
	return r;
}
