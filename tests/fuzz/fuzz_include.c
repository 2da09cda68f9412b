/*
 * fuzz_include.c - libFuzzer target: an include_dir file, as whoever may
 * write that directory could make it.
 *
 * The input becomes DIR/extlb.d/x.conf beside a fixed main file with one
 * static service.  The first byte picks the file's mode (0644: a file only
 * root can write; 0664: one its group may write), the rest is the text.
 * Besides the sanitizers' findings, the target checks what the trust
 * boundary promises: whatever the file says, the configuration loads, the
 * main file's service is there as written, and a file that is not root's
 * alone never brings a script check.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], main_path[128], inc_path[128];

static const char main_text[] =
	"global = { include_dir = \"extlb.d\";\n"
	"  check = { type = \"none\"; }; };\n"
	"virtual_services = (\n"
	"  { name = \"static\"; vip = \"192.0.2.1\"; port = 80;\n"
	"    real_servers = ( { address = \"198.51.100.1\"; } ); }\n"
	");\n";

static void write_file(const char *path, const void *data, size_t n,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n))
		abort();
	if (fchmod(fd, mode) || close(fd))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char sub[96];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/xl-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/extlb.d", dir);
	snprintf(main_path, sizeof(main_path), "%s/extlb.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/x.conf", sub);
	if (mkdir(sub, 0755))
		abort();
	write_file(main_path, main_text, sizeof(main_text) - 1, 0644);
	return 0;
}

static void check(const struct xl_config *c, bool trusted)
{
	const struct xl_vs_config *s = NULL;

	if (!c)
		abort(); /* an include file must never fail the whole load */
	for (size_t i = 0; i < c->nvs; i++) {
		if (!strcmp(c->vs[i].name, "static"))
			s = &c->vs[i];
		else if (!trusted && c->vs[i].check.type == XL_CHECK_SCRIPT)
			abort();
		for (size_t j = 0; !trusted && j < c->vs[i].svc.ndests; j++)
			if (xl_rs_check(&c->vs[i], j)->type == XL_CHECK_SCRIPT)
				abort();
	}
	if (!s || s->svc.ndests != 1 || strcmp(s->file, main_path))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xl_errors errs = {0};
	struct xl_config *c;
	bool trusted = !size || !(data[0] & 1);

	/* root's own @include may name any file, /dev/zero too: not a
	 * finding */
	if (trusted && memmem(data, size, "@include", 8))
		return 0;
	write_file(inc_path, size ? data + 1 : data, size ? size - 1 : 0,
		   trusted ? 0644 : 0664);
	c = xl_config_load(main_path, &errs);
	check(c, trusted);
	xl_config_free(c);
	xl_errors_free(&errs);
	return 0;
}
