/*
 * check_http.c - the http and https checks, on libcurl's multi-socket API.
 *
 * One curl multi handle per checker carries every http(s) probe in flight,
 * driven by the libev loop through curl_ev.c.  Nothing blocks: URLs
 * carry IP literals, or for https a host name that CURLOPT_CONNECT_TO maps
 * to the target's address, so libcurl never starts a resolver.  (Not
 * CURLOPT_RESOLVE: its entries live in the multi handle's shared DNS cache,
 * where two servers behind the same name would overwrite each other.)
 *
 * A check sees a fresh connection and a full TLS handshake every time (no
 * connection reuse, no session cache): a server that lost its certificate
 * or its listener must fail its next check.  Bodies are read only as far
 * as the verdict needs: not at all without `expect`, and at most
 * HTTP_BODY_MAX bytes with it; the transfer is then cut short, which is
 * why a write error we asked for counts as success.  Requests, their easy
 * handles and the socket watchers are kept in free lists, so a steady rate
 * of checks does not keep creating and destroying them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "check_impl.h"
#include "curl_ev.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this much of an HTTP body is kept to look for `expect`. */
#define HTTP_BODY_MAX (64 * 1024)

/* Why a request could not even start. */
enum {
	HTTP_E_URL = XL_E_TYPE, /* URL too long */
	HTTP_E_CURL,		/* libcurl refused the request */
	HTTP_E_NOCURL,		/* libcurl could not be loaded */
};

/* Idle requests kept for reuse; more than this are freed. */
#define HTTP_IDLE_MAX 128
#define HTTP_URL_MAX 2048

struct http_req {
	struct xl_http *h;
	struct xl_probe *p;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *connect_to;
	char *body; /* HTTP_BODY_MAX bytes, allocated on first need */
	size_t blen;
	bool stopped;	/* we cut the transfer short: not an error */
	bool found;	/* `expect` seen in the body */
	bool limit;	/* body longer than what we read */
	int sock_errno; /* socket() failed: our fault, not the server's */
	char errbuf[CURL_ERROR_SIZE];
	struct http_req *prev, *next; /* active list, or idle list (next) */
};

struct xl_http {
	struct xl_curl_ev m;	 /* the multi handle on the loop */
	struct http_req *active; /* for http_fini() only */
	struct http_req *idle;
	size_t nidle;
};

static void http_req_free(struct http_req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	free(r->body);
	free(r);
}

static struct http_req *http_req_get(struct xl_http *h)
{
	struct http_req *r = h->idle;

	if (r) {
		h->idle = r->next;
		h->nidle--;
	} else {
		r = calloc(1, sizeof(*r));
		if (!r)
			return NULL;
		r->easy = curl_easy_init();
		if (!r->easy) {
			free(r);
			return NULL;
		}
	}
	r->h = h;
	r->prev = NULL;
	r->next = h->active;
	if (h->active)
		h->active->prev = r;
	h->active = r;
	return r;
}

/* Off the active list, options and lists dropped, back to the idle list. */
static void http_req_put(struct xl_http *h, struct http_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->active = r->next;
	if (r->next)
		r->next->prev = r->prev;
	curl_slist_free_all(r->headers);
	curl_slist_free_all(r->connect_to);
	r->headers = r->connect_to = NULL;
	r->p = NULL;
	if (h->nidle >= HTTP_IDLE_MAX) {
		http_req_free(r);
		return;
	}
	curl_easy_reset(r->easy);
	r->next = h->idle;
	h->idle = r;
	h->nidle++;
}

/* ---- body -------------------------------------------------------------- */

static bool http_status_ok(const struct xl_check_config *cfg, long code)
{
	if (!cfg->nstatus)
		return code >= 200 && code <= 299;
	for (size_t i = 0; i < cfg->nstatus && i < XL_STATUS_MAX; i++)
		if (code >= cfg->status[i].lo && code <= cfg->status[i].hi)
			return true;
	return false;
}

/* Looks for `expect` in what is new, and in what could straddle chunks. */
static void http_body_add(struct http_req *r, const char *data, size_t len,
			  const char *expect)
{
	size_t elen = strlen(expect);
	size_t from = r->blen >= elen ? r->blen - elen + 1 : 0;
	size_t n = HTTP_BODY_MAX - r->blen;

	if (n > len)
		n = len;
	memcpy(r->body + r->blen, data, n);
	r->blen += n;
	if (memmem(r->body + from, r->blen - from, expect, elen))
		r->found = true;
	else if (r->blen == HTTP_BODY_MAX)
		r->limit = true;
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req *r = arg;
	const char *expect = r->p->cfg->expect;
	size_t len = size * nmemb;
	long code = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	/* no need to read what cannot change the verdict */
	if (!expect || !*expect || !http_status_ok(r->p->cfg, code))
		goto stop;
	if (!r->body) {
		r->body = malloc(HTTP_BODY_MAX);
		if (!r->body)
			goto stop;
	}
	http_body_add(r, data, len, expect);
	if (r->found || r->limit)
		goto stop;
	return len;
stop:
	r->stopped = true;
	/* any count but len aborts; len may be 0 for an empty body */
	return len ? 0 : 1;
}

/* ---- results ----------------------------------------------------------- */

static void http_format_status(const struct xl_check_config *cfg, char *buf,
			       size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (!cfg->nstatus) {
		snprintf(buf, len, "200-299");
		return;
	}
	for (size_t i = 0; i < cfg->nstatus && i < XL_STATUS_MAX; i++) {
		const struct xl_status_range *s = &cfg->status[i];
		int n = s->lo == s->hi
			    ? snprintf(buf + off, len - off, "%s%u",
				       i ? ", " : "", s->lo)
			    : snprintf(buf + off, len - off, "%s%u-%u",
				       i ? ", " : "", s->lo, s->hi);

		if (n < 0 || (size_t)n >= len - off)
			return; /* truncated: still readable */
		off += (size_t)n;
	}
}

static void http_verdict(struct http_req *r, const char *type)
{
	struct xl_probe *p = r->p;
	const char *expect = p->cfg->expect;
	long code = 0;
	char want[96];

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (!http_status_ok(p->cfg, code)) {
		http_format_status(p->cfg, want, sizeof(want));
		xl_probe_finish(p, XL_CHECK_DOWN, "%s status %ld, expected %s",
				type, code, want);
	} else if (expect && *expect && !r->found) {
		xl_probe_finish(p, XL_CHECK_DOWN,
				"%s body does not contain \"%.64s\"%s", type,
				expect, r->limit ? " in its first 64 KiB" : "");
	} else {
		xl_probe_finish(p, XL_CHECK_UP, "%s status %ld", type, code);
	}
}

/* libcurl's messages: without what the reason says already, lower case. */
static const char *http_errtext(struct http_req *r, CURLcode rc, char *buf,
				size_t len)
{
	static const char *const noise[] = {"SSL certificate problem: ",
					    "SSL: "};
	const char *s = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);

	for (size_t i = 0; i < XL_ARRAY_SIZE(noise); i++)
		if (!strncmp(s, noise[i], strlen(noise[i])))
			s += strlen(noise[i]);
	snprintf(buf, len, "%s", s);
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static void http_complete(struct http_req *r, CURLcode rc)
{
	struct xl_probe *p = r->p;
	const char *type = xl_check_type_name(p->cfg->type);
	long oserr = 0;
	char text[CURL_ERROR_SIZE];

	if (r->sock_errno) {
		xl_probe_finish(
		    p, XL_CHECK_ERROR, "%s check could not run: %s", type,
		    xl_errno_text(r->sock_errno, text, sizeof(text)));
	} else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && r->stopped)) {
		http_verdict(r, type);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		xl_probe_finish(p, XL_CHECK_DOWN, "%s timeout after %ld ms",
				type, xl_timeout_ms(p->cfg));
	} else if (rc == CURLE_COULDNT_CONNECT &&
		   curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr) ==
		       CURLE_OK &&
		   oserr) {
		xl_errno_text((int)oserr, text, sizeof(text));
		if (xl_errno_is_local((int)oserr))
			xl_probe_finish(p, XL_CHECK_ERROR,
					"%s check could not run: %s", type,
					text);
		else
			xl_probe_finish(p, XL_CHECK_DOWN, "%s", text);
	} else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
		xl_probe_finish(p, XL_CHECK_DOWN,
				"%s: certificate verify failed: %s", type,
				http_errtext(r, rc, text, sizeof(text)));
	} else if (rc == CURLE_OUT_OF_MEMORY) {
		xl_probe_finish(p, XL_CHECK_ERROR, "%s check: out of memory",
				type);
	} else {
		xl_probe_finish(p, XL_CHECK_DOWN, "%s: %s", type,
				http_errtext(r, rc, text, sizeof(text)));
	}
}

/* A transfer ended (xl_curl_ev's done callback). */
static void http_done(CURL *easy, CURLcode rc, void *arg)
{
	char *priv = NULL;
	struct http_req *r;

	(void)arg;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	r = (struct http_req *)(void *)priv;
	if (r && r->p)
		http_complete(r, rc);
}

/* Why libcurl could not be loaded, the last time it was tried. */
static char nocurl_why[256];

/* http and https share one multi handle, in http's slot. */
static struct xl_http **http_of(struct xl_checker *ck)
{
	return (struct xl_http **)&ck->type_state[XL_CHECK_HTTP];
}

/*
 * The multi handle is made when the first http(s) probe starts, and
 * libcurl loaded then (curl_dl.h): a configuration without http checks
 * never loads it.  0, or the code the probe ends with.
 */
static int http_ready(struct xl_checker *ck)
{
	struct xl_http *h;

	if (*http_of(ck))
		return 0;
	if (xl_curl_load(nocurl_why, sizeof(nocurl_why)) < 0)
		return HTTP_E_NOCURL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h || xl_curl_ev_init(&h->m, ck->loop, http_done, h) < 0) {
		free(h);
		curl_global_cleanup();
		return ENOMEM;
	}
	/* each probe on a connection of its own, never multiplexed */
	curl_multi_setopt(h->m.multi, CURLMOPT_PIPELINING,
			  (long)CURLPIPE_NOTHING);
	*http_of(ck) = h;
	return 0;
}

static void http_fini(struct xl_checker *ck)
{
	struct xl_http *h = *http_of(ck);

	if (!h)
		return;
	/* probes still in flight are dropped (the owner should cancel them) */
	while (h->active) {
		struct xl_probe *p = h->active->p;

		xl_probe_cancel(p);
	}
	while (h->idle) {
		struct http_req *r = h->idle;

		h->idle = r->next;
		http_req_free(r);
	}
	xl_curl_ev_fini(&h->m);
	free(h);
	*http_of(ck) = NULL;
	curl_global_cleanup();
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: libcurl does not say when socket() itself
 * failed (no fds left), which must not count against the server.
 */
static curl_socket_t http_open_socket(void *arg, curlsocktype purpose,
				      struct curl_sockaddr *a)
{
	struct http_req *r = arg;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	(void)purpose;
	if (fd < 0) {
		r->sock_errno = errno;
		return CURL_SOCKET_BAD;
	}
	return fd;
}

/* ---- requests ---------------------------------------------------------- */

/* URL, and the lists it needs; 0, ENOMEM or HTTP_E_URL. */
static int http_setup_url(struct http_req *r, char *url, size_t len)
{
	const struct xl_probe *p = r->p;
	const struct xl_check_config *cfg = p->cfg;
	bool tls = cfg->type == XL_CHECK_HTTPS;
	/* https names the server in the URL: that is what SNI and the
	 * certificate check use; the connection still goes to the target */
	const char *name = tls ? (cfg->sni ? cfg->sni : cfg->host) : NULL;
	const char *path = cfg->path && *cfg->path ? cfg->path : "/";
	char addr[XL_ADDRSTR_MAX], lit[XL_ADDRSTR_MAX + 2], line[320];
	int n;

	xl_addr_format(p->af, &p->addr, addr, sizeof(addr));
	snprintf(lit, sizeof(lit), p->af == AF_INET6 ? "[%s]" : "%s", addr);
	n = snprintf(url, len, "%s://%s:%u%s%s", tls ? "https" : "http",
		     name ? name : lit, p->port, *path == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= len)
		return HTTP_E_URL;
	if (name) {
		snprintf(line, sizeof(line), "::%s:%u", lit, p->port);
		r->connect_to = curl_slist_append(NULL, line);
		if (!r->connect_to)
			return ENOMEM;
	}
	if (cfg->host) {
		n = snprintf(line, sizeof(line), "Host: %s", cfg->host);
		if (n < 0 || (size_t)n >= sizeof(line))
			return HTTP_E_URL;
		r->headers = curl_slist_append(NULL, line);
		if (!r->headers)
			return ENOMEM;
	}
	return 0;
}

static void http_setup_tls(CURL *e, const struct xl_check_config *cfg)
{
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->tls_verify ? 2L : 0L);
	if (cfg->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
	/* a resumed session would skip the certificate we mean to check */
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87 */
	/* parsing the system store costs tens of ms: the multi handle keeps
	 * it, but for minutes rather than libcurl's day, so that a changed
	 * CA file is noticed without a restart */
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 300L);
#endif
}

static int http_setup(struct http_req *r)
{
	const struct xl_check_config *cfg = r->p->cfg;
	const char *method = cfg->method ? cfg->method : "GET";
	long ms = xl_timeout_ms(cfg);
	char url[HTTP_URL_MAX];
	CURL *e = r->easy;
	int err = http_setup_url(r, url, sizeof(url));

	if (err)
		return err;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
		return HTTP_E_CURL;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, (void *)r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "extlb-check");
	if (r->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	if (r->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, r->connect_to);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (cfg->type == XL_CHECK_HTTPS)
		http_setup_tls(e, cfg);
	return 0;
}

static void http_start(struct xl_probe *p)
{
	struct xl_http *h;
	struct http_req *r;
	int err = http_ready(p->ck);

	if (err) {
		xl_probe_defer(p, XL_CHECK_ERROR, err);
		return;
	}
	h = *http_of(p->ck);
	r = http_req_get(h);
	if (!r) {
		xl_probe_defer(p, XL_CHECK_ERROR, ENOMEM);
		return;
	}
	r->p = p;
	r->blen = 0;
	r->stopped = r->found = r->limit = false;
	r->sock_errno = 0;
	r->errbuf[0] = '\0';
	err = http_setup(r);
	if (!err && curl_multi_add_handle(h->m.multi, r->easy) != CURLM_OK)
		err = HTTP_E_CURL;
	if (err) {
		http_req_put(h, r);
		xl_probe_defer(p, XL_CHECK_ERROR, err);
		return;
	}
	p->priv = r;
}

static void http_release(struct xl_probe *p)
{
	struct http_req *r = p->priv;

	if (!r)
		return;
	p->priv = NULL;
	curl_multi_remove_handle(r->h->m.multi, r->easy);
	http_req_put(r->h, r);
}

static void http_reason(const struct xl_probe *p, int code, char *buf,
			size_t len)
{
	const char *type = xl_check_type_name(p->cfg->type);

	switch (code) {
	case HTTP_E_URL:
		snprintf(buf, len, "%s url too long", type);
		break;
	case HTTP_E_CURL:
		snprintf(buf, len, "%s: libcurl refused the request", type);
		break;
	default:
		snprintf(buf, len,
			 "%s check could not run: libcurl could not be "
			 "loaded: %s",
			 type, nocurl_why);
	}
}

/* https reads all of http's keys, and the TLS ones after them. */
#define HTTP_STR(key, field, check, dflt)                                      \
	{                                                                      \
		.name = key, .kind = XL_KEY_STR,                               \
		.off = offsetof(struct xl_check_config, field), .rule = check, \
		.def = dflt                                                    \
	}
static const struct xl_check_key http_keys[] = {
    HTTP_STR("method", method, xl_rule_method, "GET"),
    HTTP_STR("path", path, xl_rule_path, "/"),
    HTTP_STR("host", host, xl_rule_token, NULL),
    {.name = "status",
     .kind = XL_KEY_STATUS,
     .off = offsetof(struct xl_check_config, status)},
    HTTP_STR("expect", expect, NULL, NULL),
    /* https only, from here */
    {.name = "tls_verify",
     .kind = XL_KEY_BOOL,
     .off = offsetof(struct xl_check_config, tls_verify),
     .def_on = true},
    HTTP_STR("ca_file", ca_file, xl_rule_nonempty, NULL),
    HTTP_STR("sni", sni, xl_rule_token, NULL),
};
#undef HTTP_STR
#define HTTP_NKEYS 5

const struct xl_check_ops xl_check_http = {
    .keys = http_keys,
    .nkeys = HTTP_NKEYS,
    .start = http_start,
    .release = http_release,
    .fini = http_fini,
    .reason = http_reason,
};

const struct xl_check_ops xl_check_https = {
    .keys = http_keys,
    .nkeys = XL_ARRAY_SIZE(http_keys),
    .start = http_start,
    .release = http_release,
    .fini = http_fini,
    .reason = http_reason,
};
