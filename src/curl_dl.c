/*
 * curl_dl.c - loads libcurl the first time extlbd needs it (curl_dl.h).
 */
#include "autoconf.h"
#include "util.h"

#include "curl_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct xl_curl_api xl_curl_api;
const char *xl_curl_soname = XL_LIBCURL_SONAME;

static void *curl_lib; /* the handle once every symbol was found */

int xl_curl_load(char *err, size_t len)
{
	/* one line, which clang-format would spread over four */
	/* clang-format off */
#define SYM(field, sym) {sym, offsetof(struct xl_curl_api, field)}
	/* clang-format on */
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
	    SYM(global_init, "curl_global_init"),
	    SYM(global_cleanup, "curl_global_cleanup"),
	    SYM(multi_init, "curl_multi_init"),
	    SYM(multi_cleanup, "curl_multi_cleanup"),
	    SYM(multi_setopt, "curl_multi_setopt"),
	    SYM(multi_add_handle, "curl_multi_add_handle"),
	    SYM(multi_remove_handle, "curl_multi_remove_handle"),
	    SYM(multi_socket_action, "curl_multi_socket_action"),
	    SYM(multi_assign, "curl_multi_assign"),
	    SYM(multi_info_read, "curl_multi_info_read"),
	    SYM(easy_init, "curl_easy_init"),
	    SYM(easy_cleanup, "curl_easy_cleanup"),
	    SYM(easy_reset, "curl_easy_reset"),
	    SYM(easy_setopt, "curl_easy_setopt"),
	    SYM(easy_getinfo, "curl_easy_getinfo"),
	    SYM(easy_strerror, "curl_easy_strerror"),
	    SYM(slist_append, "curl_slist_append"),
	    SYM(slist_free_all, "curl_slist_free_all"),
	};
#undef SYM
	struct xl_curl_api api;
	void *lib, *f;

	if (curl_lib)
		return 0;
	lib = dlopen(xl_curl_soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, len, "%s", dlerror());
		return -1;
	}
	for (size_t i = 0; i < XL_ARRAY_SIZE(syms); i++) {
		f = dlsym(lib, syms[i].name);
		if (!f) {
			snprintf(err, len, "%s has no %s", xl_curl_soname,
				 syms[i].name);
			dlclose(lib);
			return -1;
		}
		memcpy((char *)&api + syms[i].off, &f, sizeof(f));
	}
	xl_curl_api = api;
	curl_lib = lib;
	return 0;
}
