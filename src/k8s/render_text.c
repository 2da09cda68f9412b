/*
 * render_text.c - the virtual services as the text of an extlb.conf
 * include file.  Every string is escaped for libconfig, so that no
 * tenant's value can end a string or a line early.
 */
#include "render_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The text is built in one growing buffer with plain copies: with 50,000
 * real servers this runs after every change, and stdio's formatting was
 * most of its cost.
 */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (XL_GROW(t->p, t->cap, t->len + n + 1, 4096) < 0) {
		t->oom = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = 0;
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void put_uint(struct text *t, unsigned long v)
{
	char buf[24], *e = buf + sizeof(buf), *d = e;

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(t, d, (size_t)(e - d));
}

/* A libconfig string: quotes and backslashes escaped, control characters
 * as \xNN, so no value can end the string or the line early. */
static void put_str(struct text *t, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(t, "\"", 1);
	while (*s) {
		size_t plain = 0;

		while (s[plain] && s[plain] != '"' && s[plain] != '\\' &&
		       (unsigned char)s[plain] >= ' ' && s[plain] != 0x7f)
			plain++;
		put(t, s, plain);
		s += plain;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = {'\\', *s};

			put(t, esc, 2);
		} else {
			unsigned char c = (unsigned char)*s;
			char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			put(t, esc, 4);
		}
		s++;
	}
	put(t, "\"", 1);
}

static void put_setting(struct text *t, const char *key, const char *val)
{
	puts_(t, "    ");
	puts_(t, key);
	puts_(t, " = ");
	put_str(t, val);
	puts_(t, ";\n");
}

/* One "key = value; " of a check group (value: the text as is). */
static void put_check_key(struct text *t, const char *key, const char *val,
			  bool quote)
{
	puts_(t, key);
	puts_(t, " = ");
	if (quote)
		put_str(t, val);
	else
		puts_(t, val);
	puts_(t, "; ");
}

static void put_status(struct text *t, const struct k8s_checkopts *c)
{
	puts_(t, "status = ( ");
	for (size_t i = 0; i < c->nstatus; i++) {
		puts_(t, i ? ", \"" : "\"");
		put_uint(t, c->status[i].lo);
		if (c->status[i].hi != c->status[i].lo) {
			puts_(t, "-");
			put_uint(t, c->status[i].hi);
		}
		puts_(t, "\"");
	}
	puts_(t, " ); ");
}

/* The check group: what the port's type and the annotations set, on top
 * of extlbd's global check, which gives the rest. */
static void emit_check(struct text *t, const struct vs *v)
{
	const struct k8s_checkopts *c = &v->opts.check;
	bool http = k8s_check_http(v->check);
	char num[16];

	if (!v->check && !c->port && !c->interval && !c->timeout && !c->rise &&
	    !c->fall && !(http && (c->path || c->nstatus)) &&
	    !(c->expect && k8s_check_expects(v->check)))
		return;
	puts_(t, "    check = { ");
	if (v->check)
		put_check_key(t, "type", v->check, true);
	if (c->port) {
		snprintf(num, sizeof(num), "%u", c->port);
		put_check_key(t, "connect_port", num, false);
	}
	if (c->interval)
		put_check_key(t, "interval", c->interval, false);
	if (c->timeout)
		put_check_key(t, "timeout", c->timeout, false);
	if (c->rise) {
		snprintf(num, sizeof(num), "%u", c->rise);
		put_check_key(t, "rise", num, false);
	}
	if (c->fall) {
		snprintf(num, sizeof(num), "%u", c->fall);
		put_check_key(t, "fall", num, false);
	}
	if (c->path && http)
		put_check_key(t, "path", c->path, true);
	if (c->nstatus && http)
		put_status(t, c);
	if (c->expect && k8s_check_expects(v->check))
		put_check_key(t, "expect", c->expect, true);
	puts_(t, "};\n");
}

/* The ranges of the VIP's family: a range of the other family is for
 * the Service's other VIP, and extlbd refuses it on this one. */
static void emit_ranges(struct text *t, const struct vs *v,
			const struct xl_cidr *all)
{
	const struct xl_cidr *c;
	char buf[XL_CIDR_STRLEN];
	bool first = true;

	if (!v->opts.restricted)
		return;
	c = all + v->opts.first_range;
	puts_(t, "    allowed_sources = [ ");
	for (size_t i = 0; i < v->opts.nranges; i++) {
		if (c[i].af != v->vip.af)
			continue;
		xl_cidr_format(&c[i], buf, sizeof(buf));
		if (!first)
			puts_(t, ", ");
		put_str(t, buf);
		first = false;
	}
	puts_(t, " ];\n");
}

static void emit_vs(struct text *t, const struct vs *v,
		    const struct xl_cidr *ranges)
{
	char buf[K8S_ADDRSTR_MAX];

	puts_(t, "  {\n");
	put_setting(t, "name", v->name);
	put_setting(t, "vip", k8s_addr_str(&v->vip, buf));
	puts_(t, "    port = ");
	put_uint(t, v->port);
	puts_(t, ";\n");
	put_setting(t, "protocol", k8s_proto_name(v->proto));
	if (v->opts.scheduler)
		put_setting(t, "scheduler", v->opts.scheduler);
	if (v->opts.forward)
		put_setting(t, "forward", v->opts.forward);
	if (v->opts.persistence) {
		puts_(t, "    persistence_timeout = ");
		put_uint(t, v->opts.persistence);
		puts_(t, ";\n");
	}
	emit_ranges(t, v, ranges);
	emit_check(t, v);
	puts_(t, "    real_servers = (");
	for (size_t i = 0; i < v->nreals; i++) {
		puts_(t, i ? ",\n      { address = " : "\n      { address = ");
		put_str(t, k8s_addr_str(&v->reals[i].addr, buf));
		puts_(t, "; port = ");
		put_uint(t, v->reals[i].port);
		puts_(t, "; weight = ");
		put_uint(t, v->reals[i].weight);
		puts_(t, "; }");
	}
	puts_(t, v->nreals ? "\n    );\n" : " );\n");
	puts_(t, "  }");
}

int render_emit(struct render *r)
{
	struct text t = {0};
	size_t n = 0;

	puts_(&t,
	      "# Written by extlb-k8s from the Kubernetes API: do not edit,\n"
	      "# it is rewritten whenever the cluster changes.\n"
	      "virtual_services = (");
	for (size_t i = 0; i < r->nvs; i++) {
		if (r->vs[i].dropped)
			continue;
		puts_(&t, n++ ? ",\n" : "\n");
		emit_vs(&t, &r->vs[i], r->ranges);
	}
	puts_(&t, n ? "\n);\n" : " );\n");
	r->plan->nvs = n;
	if (t.oom) {
		free(t.p);
		return -1;
	}
	r->plan->text = t.p;
	return 0;
}
