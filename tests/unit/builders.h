/*
 * builders.h - IPVS model values for the unit tests, built in one line.
 *
 * Included by the tests that need them (after cmocka.h): services with the
 * defaults the kernel reports for a fresh service, destinations by address.
 */
#ifndef EXTLB_TEST_BUILDERS_H
#define EXTLB_TEST_BUILDERS_H

#include "model.h"

#include <string.h>

static inline struct xl_service mk_svc(const char *addr, uint16_t proto,
				       uint16_t port)
{
	struct xl_service s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(xl_addr_parse(addr, &s.af, &s.addr), 0);
	s.protocol = proto;
	s.port = port;
	strcpy(s.sched, "wlc");
	s.netmask = s.af == AF_INET6 ? 128 : 0xffffffffU;
	return s;
}

static inline struct xl_service mk_fwm_sched(uint16_t af, uint32_t mark,
					     const char *sched)
{
	struct xl_service s;

	memset(&s, 0, sizeof(s));
	s.af = af;
	s.fwmark = mark;
	strcpy(s.sched, sched);
	s.netmask = af == AF_INET6 ? 128 : 0xffffffffU;
	return s;
}

static inline struct xl_dest mk_dest(const char *addr, uint16_t port,
				     uint32_t fwd, int32_t weight)
{
	struct xl_dest d;

	memset(&d, 0, sizeof(d));
	assert_int_equal(xl_addr_parse(addr, &d.af, &d.addr), 0);
	d.port = port;
	d.fwd = fwd;
	d.weight = weight;
	return d;
}

/* A real server by its identity alone, as maintenance flags and drains
 * name one. */
static inline struct xl_dest mk_server(const char *addr, uint16_t port)
{
	return mk_dest(addr, port, 0, 0);
}

#endif
