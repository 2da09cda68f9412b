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
#include "client_impl.h"
#include "k8s/log.h"
#include "util.h"

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

int client_err(struct k8s_client *c, const char *fmt, ...)
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
	/* no more room than can be kept */
	if (XL_GROW_MAX(b->data, b->cap, b->len + add + 1, 64 * 1024,
			K8S_MAX_RESPONSE + 1) < 0)
		return 0;
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

	if (c->ntmp == XL_ARRAY_SIZE(c->tmpfiles) ||
	    asprintf(&path, "%s/.extlb-k8s-XXXXXX",
		     dir && *dir ? dir : "/tmp") < 0)
		return NULL;
	fd = mkstemp(path); /* mode 0600 */
	if (fd < 0 || write(fd, b->data, b->len) != (ssize_t)b->len) {
		client_err(c, "cannot write a credentials file in %s: %s",
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
		return client_err(c, "libcurl refused the TLS file %s", path);
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
		client_err(c, "cannot read the token file %s: %s",
			   kc->token_file, strerror(errno));
		return NULL;
	}
	tok = calloc(1, TOKEN_MAX + 1);
	if (!tok) {
		fclose(f);
		client_err(c, "out of memory");
		return NULL;
	}
	n = fread(tok, 1, TOKEN_MAX, f);
	fclose(f);
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' ||
		     tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		tok[--n] = 0;
	if (!n) {
		client_err(c, "the token file %s is empty", kc->token_file);
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
			client_err(c, "the bearer token contains a line break");
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
			client_err(c, "out of memory");
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
		client_err(c, "%s: HTTP %ld: %s", what, c->status,
			   json_object_get_string(msg));
	else
		client_err(c, "%s: HTTP %ld", what, c->status);
	json_object_put(j);
}

/* One request; the answer in c->resp.  0 for a 2xx answer, else -1. */
int client_request(struct k8s_client *c, const char *method, const char *path,
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
		return c->err[0] ? -1
				 : client_err(c, "%s: out of memory", what);
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
			return client_err(c, "%s: cut short by a signal", what);
		if (c->resp.too_big || rc == CURLE_FILESIZE_EXCEEDED)
			return client_err(
			    c, "%s: the answer is larger than %u MiB", what,
			    K8S_MAX_RESPONSE >> 20);
		return client_err(c, "%s: %s", what,
				  cerrbuf[0] ? cerrbuf
					     : curl_easy_strerror(rc));
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
		return client_err(c, "%s: out of memory", what);
	if (len > INT32_MAX) {
		json_tokener_free(tok);
		return client_err(c, "%s: the answer is too large", what);
	}
	if (json_over(data, len) != K8S_JSON_OK) {
		json_tokener_free(tok);
		return client_err(c, "%s: the answer is %s", what,
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
		return client_err(c, "%s: the answer is not JSON (%s)", what,
				  e != json_tokener_success
				      ? json_tokener_error_desc(e)
				      : "data after the value");
	}
	return 0;
}

/* A large answer's buffer is not kept for the next (small) request. */
void client_resp_shrink(struct k8s_client *c)
{
	if (c->resp.cap <= RESP_KEEP)
		return;
	free(c->resp.data);
	memset(&c->resp, 0, sizeof(c->resp));
}

int k8s_client_get(struct k8s_client *c, const char *path, json_object **out)
{
	char what[512];
	int r;

	*out = NULL;
	snprintf(what, sizeof(what), "GET %s", path);
	if (client_request(c, "GET", path, NULL, NULL) < 0)
		return -1;
	r = parse_json(c, what, c->resp.data, c->resp.len, out);
	client_resp_shrink(c);
	return r;
}

int k8s_client_patch(struct k8s_client *c, const char *path,
		     const char *content_type, const char *body)
{
	return client_request(c, "PATCH", path, content_type, body);
}

int k8s_client_post(struct k8s_client *c, const char *path,
		    const char *content_type, const char *body)
{
	return client_request(c, "POST", path, content_type, body);
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
		client_err(c, "out of memory");
		return NULL;
	}
	return url;
}
