/*
 * k8s/addr.h - IPv4 and IPv6 addresses as values that sort, compare and
 * count: the family and the address bytes in network order, so that "the
 * next address" is an increment and a range is two values.
 */
#ifndef EXTLB_K8S_ADDR_H
#define EXTLB_K8S_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define K8S_ADDRSTR_MAX INET6_ADDRSTRLEN

struct k8s_addr {
	int af;	       /* AF_INET or AF_INET6 */
	uint8_t b[16]; /* network order; IPv4 uses b[0..3], the rest is 0 */
};

/* 0, or -1 when s is not an IPv4 or IPv6 address. */
int k8s_addr_parse(const char *s, struct k8s_addr *a);
/* The canonical text (inet_ntop's), into buf of K8S_ADDRSTR_MAX. */
const char *k8s_addr_str(const struct k8s_addr *a, char *buf);
/* Family first (IPv4 before IPv6), then numeric order. */
int k8s_addr_cmp(const struct k8s_addr *a, const struct k8s_addr *b);
/* a + 1; false when a was the last address of its family. */
bool k8s_addr_next(struct k8s_addr *a);
/* a - 1; false when a was the first address of its family. */
bool k8s_addr_prev(struct k8s_addr *a);
/* The bits after the first prefix bits: all set (the last address of the
 * prefix) or all cleared (its first). */
void k8s_addr_host_bits(struct k8s_addr *a, int prefix, bool set);
/* "IPv4" / "IPv6", for messages */
const char *k8s_af_name(int af);

#endif
