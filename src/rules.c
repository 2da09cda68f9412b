/*
 * rules.c - the rules extlbd's loader and extlb-k8s share (rules.h).
 */
#include "rules.h"
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const struct xl_named xl_rule_forwards[] = {
    {"nat", IP_VS_CONN_F_MASQ},
    {"dr", IP_VS_CONN_F_DROUTE},
    {"tun", IP_VS_CONN_F_TUNNEL},
    {NULL, 0},
};

const struct xl_named *xl_named_find(const struct xl_named *t, const char *name)
{
	for (; t->name; t++) {
		if (!strcmp(name, t->name))
			return t;
	}
	return NULL;
}

bool xl_rule_sched_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < XL_SCHED_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

bool xl_rule_family_ok(int saf, int daf, int fwd)
{
	return saf == daf || fwd == IP_VS_CONN_F_TUNNEL;
}

bool xl_rule_port_fixed(int fwd)
{
	return fwd == IP_VS_CONN_F_DROUTE || fwd == IP_VS_CONN_F_TUNNEL;
}

bool xl_incfile_wanted(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".conf");
}

/* Byte i of the netmask of a prefix of plen bits. */
static uint8_t mask_byte(unsigned int plen, size_t i)
{
	if (plen >= (i + 1) * 8)
		return 0xff;
	if (plen <= i * 8)
		return 0;
	return (uint8_t)(0xff << (8 - (plen - i * 8)));
}

static bool parse_prefix(const char *p, unsigned int max, unsigned int *out)
{
	unsigned int v = 0;
	size_t n = strspn(p, "0123456789");

	if (n == 0 || n > 3 || p[n] || (n > 1 && p[0] == '0'))
		return false;
	for (; *p; p++)
		v = v * 10 + (unsigned int)(*p - '0');
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool xl_rule_cidr(const char *s, struct xl_cidr *out, bool *host_bits,
		  char *why, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int bytes, i, prefix;

	memset(out, 0, sizeof(*out));
	*host_bits = false;
	if (n == 0 || n >= sizeof(addr)) {
		snprintf(why, len, "\"%s\" is not an address range", s);
		return false;
	}
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, out->addr.b) == 1)
		out->af = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr.b) == 1)
		out->af = AF_INET6;
	else {
		snprintf(why, len,
			 "\"%s\" is not an address range: \"%s\" is not an "
			 "IPv4 or IPv6 address",
			 s, addr);
		return false;
	}
	bytes = out->af == AF_INET ? 4 : 16;
	prefix = bytes * 8;
	if (slash && !parse_prefix(slash + 1, bytes * 8, &prefix)) {
		snprintf(why, len,
			 "\"%s\" is not an address range: the prefix length "
			 "must be 0-%u",
			 s, bytes * 8);
		return false;
	}
	out->plen = (uint8_t)prefix;
	for (i = 0; i < bytes; i++) {
		uint8_t keep = mask_byte(prefix, i);

		if (out->addr.b[i] & (uint8_t)~keep)
			*host_bits = true;
		out->addr.b[i] &= keep;
	}
	return true;
}

int xl_cidr_cmp(const struct xl_cidr *a, const struct xl_cidr *b)
{
	int c = memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));

	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	if (c)
		return c;
	return a->plen < b->plen ? -1 : a->plen > b->plen;
}

bool xl_cidr_contains(const struct xl_cidr *a, const struct xl_cidr *b)
{
	if (a->af != b->af || b->plen < a->plen)
		return false;
	for (size_t i = 0; i < sizeof(a->addr.b); i++)
		if ((b->addr.b[i] & mask_byte(a->plen, i)) != a->addr.b[i])
			return false;
	return true;
}

void xl_cidr_format(const struct xl_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->af, c->addr.b, a, sizeof(a)))
		a[0] = '\0';
	snprintf(buf, len, "%s/%u", a, c->plen);
}

/*
 * What ADDRESS:PORT and ADDRESS[:PORT] say when refused, by whether the
 * port may be left out: a listening address needs one, a real server
 * named to extlbctl or in the maintenance file may be its address alone.
 */
static const struct {
	const char *form, *addr, *port;
} addr_port_why[2] = {
    {"is not ADDRESS:PORT (\"127.0.0.1:9475\", \"[::1]:9475\")",
     "is not an IPv4 or IPv6 address (IPv6 goes in brackets: "
     "\"[::1]:9475\")",
     "has no port in 1-65535"},
    {"is not ADDRESS[:PORT] (10.0.0.1:80, [2001:db8::1]:80, or the "
     "address alone)",
     "is not an IPv4 or IPv6 address (IPv6 with a port goes in brackets: "
     "[2001:db8::1]:80)",
     "has no port in 1-65535 after the ':'"},
};

bool xl_rule_addr_port(const char *s, bool port_optional, uint16_t *af,
		       union xl_inaddr *a, int *port, const char **why)
{
	const char *h = s, *p = NULL, *colon = strrchr(s, ':');
	char host[XL_ADDRSTR_MAX];
	size_t hl;
	char *end;
	unsigned long v;

	*why = addr_port_why[port_optional].form;
	if (s[0] == '[') { /* [v6] or [v6]:port */
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return false;
		h = s + 1;
		hl = (size_t)(close - h);
		p = close[1] ? close + 2 : NULL;
	} else if (colon && !memchr(s, ':', (size_t)(colon - s))) {
		hl = (size_t)(colon - s); /* v4:port, or a name:port */
		p = colon + 1;
	} else { /* the address alone: v4, or v6 without brackets */
		hl = strlen(s);
	}
	if (!hl || hl >= sizeof(host) || (!p && !port_optional))
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (xl_addr_parse(host, af, a) < 0) {
		*why = addr_port_why[port_optional].addr;
		return false;
	}
	*port = -1;
	if (!p)
		return true;
	errno = 0;
	v = strtoul(p, &end, 10); /* digits only: no sign, no space */
	if (*p < '0' || *p > '9' || *end || errno || v < 1 || v > 65535) {
		*why = addr_port_why[port_optional].port;
		return false;
	}
	*port = (int)v;
	return true;
}

/* A listening address (metrics_listen). */
bool xl_rule_listen(const char *s, uint16_t *af, union xl_inaddr *a,
		    uint16_t *port, const char **why)
{
	int p;

	if (!xl_rule_addr_port(s, false, af, a, &p, why))
		return false;
	*port = (uint16_t)p;
	return true;
}
