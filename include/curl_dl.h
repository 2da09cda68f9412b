/*
 * curl_dl.h - libcurl for extlbd, loaded when the first http(s) check runs
 * rather than when extlbd starts.
 *
 * libcurl brings some thirty shared libraries with it (TLS, HTTP/2, LDAP,
 * SSH, Kerberos ...); loading them and running their constructors was most
 * of what extlbd's start cost before it read its configuration, and a
 * configuration without http checks never uses them.  extlbd's objects are
 * built with XL_CURL_DLOPEN (Makefile.am): this header then routes the
 * libcurl calls of check_http.c and curl_ev.c through a table of function
 * pointers that xl_curl_load() fills from dlopen(XL_LIBCURL_SONAME).
 * extlb-k8s, which always needs libcurl, builds curl_ev.c without it and
 * links libcurl as usual.
 */
#ifndef EXTLB_CURL_DL_H
#define EXTLB_CURL_DL_H

#include <curl/curl.h>
#include <stddef.h>

struct xl_curl_api {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *m);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption o, ...);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
	CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev,
					 int *running);
	CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *p);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *e);
	void (*easy_reset)(CURL *e);
	CURLcode (*easy_setopt)(CURL *e, CURLoption o, ...);
	CURLcode (*easy_getinfo)(CURL *e, CURLINFO i, ...);
	const char *(*easy_strerror)(CURLcode c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

extern struct xl_curl_api xl_curl_api;

/* The library xl_curl_load() opens; tests point it elsewhere. */
extern const char *xl_curl_soname;

/*
 * 0 when libcurl is loaded (it stays loaded), else -1 with the reason in
 * err.  A failure is not remembered: a later call tries again, so a
 * libcurl installed meanwhile is found without a restart.
 */
int xl_curl_load(char *err, size_t len);

#ifdef XL_CURL_DLOPEN
/* without the type-checking macros of curl/typecheck-gcc.h */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init xl_curl_api.global_init
#define curl_global_cleanup xl_curl_api.global_cleanup
#define curl_multi_init xl_curl_api.multi_init
#define curl_multi_cleanup xl_curl_api.multi_cleanup
#define curl_multi_setopt xl_curl_api.multi_setopt
#define curl_multi_add_handle xl_curl_api.multi_add_handle
#define curl_multi_remove_handle xl_curl_api.multi_remove_handle
#define curl_multi_socket_action xl_curl_api.multi_socket_action
#define curl_multi_assign xl_curl_api.multi_assign
#define curl_multi_info_read xl_curl_api.multi_info_read
#define curl_easy_init xl_curl_api.easy_init
#define curl_easy_cleanup xl_curl_api.easy_cleanup
#define curl_easy_reset xl_curl_api.easy_reset
#define curl_easy_setopt xl_curl_api.easy_setopt
#define curl_easy_getinfo xl_curl_api.easy_getinfo
#define curl_easy_strerror xl_curl_api.easy_strerror
#define curl_slist_append xl_curl_api.slist_append
#define curl_slist_free_all xl_curl_api.slist_free_all
#endif

#endif
