/*
 * addr.c - IP addresses as comparable, incrementable values.
 *
 * The address pools of a /64 hold 2^64 addresses, more than any integer
 * type here counts, so addresses stay byte strings and arithmetic is done
 * a byte at a time, as one would on paper.
 */
#include "k8s/addr.h"

#include <arpa/inet.h>
#include <string.h>

static int addr_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

int k8s_addr_parse(const char *s, struct k8s_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->af = AF_INET6;
		return 0;
	}
	return -1;
}

const char *k8s_addr_str(const struct k8s_addr *a, char *buf)
{
	if (a->af == AF_INET) { /* the common case, without inet_ntop's cost */
		char *o = buf;

		for (int i = 0; i < 4; i++) {
			unsigned v = a->b[i];

			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
			*o++ = i < 3 ? '.' : 0;
		}
		return buf;
	}
	if (!inet_ntop(a->af, a->b, buf, K8S_ADDRSTR_MAX))
		strcpy(buf, "?");
	return buf;
}

int k8s_addr_cmp(const struct k8s_addr *a, const struct k8s_addr *b)
{
	if (a->af != b->af)
		return a->af == AF_INET ? -1 : 1;
	return memcmp(a->b, b->b, addr_len(a->af));
}

bool k8s_addr_next(struct k8s_addr *a)
{
	for (int i = addr_len(a->af) - 1; i >= 0; i--) {
		if (++a->b[i])
			return true;
	}
	/* wrapped around to all zeroes: there was no next address */
	return false;
}

bool k8s_addr_prev(struct k8s_addr *a)
{
	for (int i = addr_len(a->af) - 1; i >= 0; i--) {
		if (a->b[i]--)
			return true;
	}
	return false;
}

void k8s_addr_host_bits(struct k8s_addr *a, int prefix, bool set)
{
	for (int i = prefix; i < 8 * addr_len(a->af); i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		a->b[i / 8] = set ? a->b[i / 8] | bit : a->b[i / 8] & ~bit;
	}
}

const char *k8s_af_name(int af)
{
	return af == AF_INET ? "IPv4" : af == AF_INET6 ? "IPv6" : "any";
}
