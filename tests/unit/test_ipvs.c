/*
 * test_ipvs.c - the IPVS generic netlink messages, checked without a kernel.
 *
 * The kernel (net/netfilter/ipvs/ip_vs_ctl.c) rejects or misreads a request
 * whose attributes are missing, of the wrong width or in the wrong byte
 * order, and it answers dumps in a fixed shape.  So every request extlbd
 * builds is taken apart here attribute by attribute, exactly as the kernel
 * reads it: header flags, command and version, the service key (and nothing
 * else where the kernel wants only the key), the full service and real
 * server attributes, ports in network order, the tunnel attributes only for
 * tunnel forwarding.  Replies are built the way the kernel's
 * ip_vs_genl_fill_service() and ip_vs_genl_fill_dest() build them (the
 * _HASHED flag, stats nests, fwmark services without an address, old
 * kernels without ADDR_FAMILY) and must decode to the right model; broken
 * ones must be refused.  Encoding then decoding must give back what was
 * asked for, and the error texts an operator sees are pinned down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvs.h"
#include "model.h"
#include "reconcile.h"

#include "builders.h"

#define FAMILY 42

/* ---- model builders -------------------------------------------------- */

static struct xl_service mk_fwm(uint16_t af, uint32_t mark)
{
	return mk_fwm_sched(af, mark, "sh");
}

static struct xl_dest mk_gue(const char *addr, uint16_t port)
{
	struct xl_dest d = mk_dest(addr, port, IP_VS_CONN_F_TUNNEL, 10);

	d.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GUE;
	d.tun_port = 6080;
	d.tun_flags =
	    IP_VS_TUNNEL_ENCAP_FLAG_CSUM | IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
	return d;
}

/* ---- taking a request apart ------------------------------------------ */

struct req {
	struct nl_msg *m;
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct nlattr *svc[IPVS_SVC_ATTR_MAX + 1];
	struct nlattr *dest[IPVS_DEST_ATTR_MAX + 1];
	int nsvc, ndest; /* attributes inside each nest */
};

static int count_nested(struct nlattr *nest)
{
	struct nlattr *a;
	int rem, n = 0;

	nla_for_each_nested(a, nest, rem) n++;
	assert_int_equal(rem, 0);
	return n;
}

/* Checks the headers and parses everything; frees m in req_done(). */
static void req_open(struct req *r, struct nl_msg *m, int flags, uint8_t cmd)
{
	struct nlmsghdr *nh;
	struct genlmsghdr *g;
	struct nlattr *a;
	int rem;

	memset(r, 0, sizeof(*r));
	assert_non_null(m);
	r->m = m;
	nh = nlmsg_hdr(m);
	assert_int_equal(nh->nlmsg_type, FAMILY);
	assert_int_equal(nh->nlmsg_flags, flags);
	assert_true(nh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN);
	g = nlmsg_data(nh);
	assert_int_equal(g->cmd, cmd);
	assert_int_equal(g->version, IPVS_GENL_VERSION);

	assert_int_equal(genlmsg_parse(nh, 0, r->tb, IPVS_CMD_ATTR_MAX, NULL),
			 0);
	/* nothing at the top but the two nests */
	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), rem)
	{
		assert_true(nla_type(a) == IPVS_CMD_ATTR_SERVICE ||
			    nla_type(a) == IPVS_CMD_ATTR_DEST);
	}
	if (r->tb[IPVS_CMD_ATTR_SERVICE]) {
		assert_int_equal(nla_parse_nested(r->svc, IPVS_SVC_ATTR_MAX,
						  r->tb[IPVS_CMD_ATTR_SERVICE],
						  NULL),
				 0);
		r->nsvc = count_nested(r->tb[IPVS_CMD_ATTR_SERVICE]);
	}
	if (r->tb[IPVS_CMD_ATTR_DEST]) {
		assert_int_equal(nla_parse_nested(r->dest, IPVS_DEST_ATTR_MAX,
						  r->tb[IPVS_CMD_ATTR_DEST],
						  NULL),
				 0);
		r->ndest = count_nested(r->tb[IPVS_CMD_ATTR_DEST]);
	}
}

static void req_op(struct req *r, enum xl_op_kind k, const struct xl_service *s,
		   const struct xl_dest *d, uint8_t cmd)
{
	struct xl_op op = {.kind = k, .svc = s, .dest = d};

	req_open(r, xl_ipvs_msg_op(FAMILY, &op), NLM_F_REQUEST | NLM_F_ACK,
		 cmd);
}

static void req_done(struct req *r)
{
	nlmsg_free(r->m);
	r->m = NULL;
}

static void expect_u8(struct nlattr *a, uint8_t v)
{
	assert_non_null(a);
	assert_int_equal(nla_len(a), 1);
	assert_int_equal(nla_get_u8(a), v);
}

static void expect_u16(struct nlattr *a, uint16_t v)
{
	assert_non_null(a);
	assert_int_equal(nla_len(a), 2);
	assert_int_equal(nla_get_u16(a), v);
}

static void expect_u32(struct nlattr *a, uint32_t v)
{
	assert_non_null(a);
	assert_int_equal(nla_len(a), 4);
	assert_int_equal(nla_get_u32(a), v);
}

/* A port as the kernel reads it: nla_get_be16, big-endian bytes. */
static void expect_port(struct nlattr *a, uint16_t host)
{
	const uint8_t *b;

	assert_non_null(a);
	assert_int_equal(nla_len(a), 2);
	b = nla_data(a);
	assert_int_equal(b[0], host >> 8);
	assert_int_equal(b[1], host & 0xff);
}

/* The kernel copies sizeof(union nf_inet_addr) = 16 bytes. */
static void expect_addr(struct nlattr *a, uint16_t af, const char *text)
{
	union xl_inaddr want;
	uint16_t waf;

	assert_int_equal(xl_addr_parse(text, &waf, &want), 0);
	assert_int_equal(waf, af);
	assert_non_null(a);
	assert_int_equal(nla_len(a), 16);
	assert_memory_equal(nla_data(a), want.b, 16);
}

/* AF plus either FWMARK or PROTOCOL, ADDR, PORT; returns the count. */
static int expect_svc_key(const struct req *r, const struct xl_service *s,
			  const char *addr)
{
	expect_u16(r->svc[IPVS_SVC_ATTR_AF], s->af);
	if (s->fwmark) {
		expect_u32(r->svc[IPVS_SVC_ATTR_FWMARK], s->fwmark);
		assert_null(r->svc[IPVS_SVC_ATTR_PROTOCOL]);
		assert_null(r->svc[IPVS_SVC_ATTR_ADDR]);
		assert_null(r->svc[IPVS_SVC_ATTR_PORT]);
		return 2;
	}
	assert_null(r->svc[IPVS_SVC_ATTR_FWMARK]);
	expect_u16(r->svc[IPVS_SVC_ATTR_PROTOCOL], s->protocol);
	expect_addr(r->svc[IPVS_SVC_ATTR_ADDR], s->af, addr);
	expect_port(r->svc[IPVS_SVC_ATTR_PORT], s->port);
	return 4;
}

static void expect_svc_key_only(const struct req *r, const struct xl_service *s,
				const char *addr)
{
	int n = expect_svc_key(r, s, addr);

	assert_null(r->svc[IPVS_SVC_ATTR_SCHED_NAME]);
	assert_null(r->svc[IPVS_SVC_ATTR_FLAGS]);
	assert_null(r->svc[IPVS_SVC_ATTR_TIMEOUT]);
	assert_null(r->svc[IPVS_SVC_ATTR_NETMASK]);
	assert_int_equal(r->nsvc, n);
}

static void expect_svc_full(const struct req *r, const struct xl_service *s,
			    const char *addr, const char *sched, uint32_t flags,
			    uint32_t timeout, uint32_t netmask)
{
	int n = expect_svc_key(r, s, addr);
	struct nlattr *a = r->svc[IPVS_SVC_ATTR_SCHED_NAME];
	struct ip_vs_flags fl;

	assert_non_null(a);
	assert_int_equal(nla_len(a), (int)strlen(sched) + 1);
	assert_int_equal(((const char *)nla_data(a))[nla_len(a) - 1], '\0');
	assert_string_equal(nla_data(a), sched);

	a = r->svc[IPVS_SVC_ATTR_FLAGS];
	assert_non_null(a);
	assert_int_equal(nla_len(a), sizeof(struct ip_vs_flags));
	memcpy(&fl, nla_data(a), sizeof(fl));
	assert_int_equal(fl.flags, flags);
	assert_int_equal(fl.flags & IP_VS_SVC_F_HASHED, 0);
	assert_int_equal(fl.mask, 0xffffffffU);

	expect_u32(r->svc[IPVS_SVC_ATTR_TIMEOUT], timeout);
	expect_u32(r->svc[IPVS_SVC_ATTR_NETMASK], netmask);
	assert_null(r->svc[IPVS_SVC_ATTR_PE_NAME]);
	assert_int_equal(r->nsvc, n + 4);
}

static void expect_dest_key(const struct req *r, const struct xl_dest *d,
			    const char *addr)
{
	expect_addr(r->dest[IPVS_DEST_ATTR_ADDR], d->af, addr);
	expect_port(r->dest[IPVS_DEST_ATTR_PORT], d->port);
	expect_u16(r->dest[IPVS_DEST_ATTR_ADDR_FAMILY], d->af);
}

static void expect_dest_full(const struct req *r, const struct xl_dest *d,
			     const char *addr, uint32_t fwd, uint32_t weight)
{
	expect_dest_key(r, d, addr);
	expect_u32(r->dest[IPVS_DEST_ATTR_FWD_METHOD], fwd);
	expect_u32(r->dest[IPVS_DEST_ATTR_WEIGHT], weight);
	expect_u32(r->dest[IPVS_DEST_ATTR_U_THRESH], d->u_thresh);
	expect_u32(r->dest[IPVS_DEST_ATTR_L_THRESH], d->l_thresh);
	assert_null(r->dest[IPVS_DEST_ATTR_ACTIVE_CONNS]);
	assert_null(r->dest[IPVS_DEST_ATTR_INACT_CONNS]);
	assert_null(r->dest[IPVS_DEST_ATTR_PERSIST_CONNS]);
	assert_null(r->dest[IPVS_DEST_ATTR_STATS]);
	assert_null(r->dest[IPVS_DEST_ATTR_STATS64]);
}

static void expect_no_tun(const struct req *r)
{
	assert_null(r->dest[IPVS_DEST_ATTR_TUN_TYPE]);
	assert_null(r->dest[IPVS_DEST_ATTR_TUN_PORT]);
	assert_null(r->dest[IPVS_DEST_ATTR_TUN_FLAGS]);
	assert_int_equal(r->ndest, 7);
}

/* ---- service requests ------------------------------------------------ */

static void test_add_service_v4(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct req r;

	(void)state;
	/* _HASHED is the kernel's: it must never be sent */
	s.flags =
	    IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_HASHED;
	s.timeout = 300;
	s.netmask = htonl(0xffffff00);
	req_op(&r, XL_OP_ADD_SVC, &s, NULL, IPVS_CMD_NEW_SERVICE);
	assert_null(r.tb[IPVS_CMD_ATTR_DEST]);
	expect_svc_full(&r, &s, "192.168.10.100", "wlc",
			IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET, 300,
			htonl(0xffffff00));
	/* the mask travels as it is stored: network order */
	assert_memory_equal(nla_data(r.svc[IPVS_SVC_ATTR_NETMASK]),
			    ((const uint8_t[]){255, 255, 255, 0}), 4);
	req_done(&r);
}

static void test_edit_service_v6(void **state)
{
	struct xl_service s = mk_svc("2001:db8::1", IPPROTO_UDP, 53);
	struct req r;

	(void)state;
	strcpy(s.sched, "mh");
	s.flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;
	s.netmask = 64;
	req_op(&r, XL_OP_EDIT_SVC, &s, NULL, IPVS_CMD_SET_SERVICE);
	assert_null(r.tb[IPVS_CMD_ATTR_DEST]);
	expect_svc_full(&r, &s, "2001:db8::1", "mh",
			IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 |
			    IP_VS_SVC_F_SCHED3,
			0, 64);
	req_done(&r);
}

static void test_add_service_fwmark(void **state)
{
	struct xl_service s4 = mk_fwm(AF_INET, 7);
	struct xl_service s6 = mk_fwm(AF_INET6, 0xfffffffeU);
	struct req r;

	(void)state;
	s4.flags = IP_VS_SVC_F_PERSISTENT;
	s4.timeout = 60;
	req_op(&r, XL_OP_ADD_SVC, &s4, NULL, IPVS_CMD_NEW_SERVICE);
	expect_svc_full(&r, &s4, NULL, "sh", IP_VS_SVC_F_PERSISTENT, 60,
			0xffffffffU);
	req_done(&r);

	req_op(&r, XL_OP_EDIT_SVC, &s6, NULL, IPVS_CMD_SET_SERVICE);
	expect_svc_full(&r, &s6, NULL, "sh", 0, 0, 128);
	req_done(&r);
}

static void test_delete_service_key_only(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_SCTP, 3868);
	struct xl_service f = mk_fwm(AF_INET6, 9);
	struct req r;

	(void)state;
	s.flags = IP_VS_SVC_F_PERSISTENT;
	s.timeout = 300;
	req_op(&r, XL_OP_DEL_SVC, &s, NULL, IPVS_CMD_DEL_SERVICE);
	assert_null(r.tb[IPVS_CMD_ATTR_DEST]);
	expect_svc_key_only(&r, &s, "192.168.10.100");
	req_done(&r);

	req_op(&r, XL_OP_DEL_SVC, &f, NULL, IPVS_CMD_DEL_SERVICE);
	expect_svc_key_only(&r, &f, NULL);
	req_done(&r);
}

/* ---- destination requests -------------------------------------------- */

static void test_add_dest_nat(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_dest d = mk_dest("10.20.0.5", 8080, IP_VS_CONN_F_MASQ, 3);
	struct req r;

	(void)state;
	d.u_thresh = 1000;
	d.l_thresh = 200;
	req_op(&r, XL_OP_ADD_DEST, &s, &d, IPVS_CMD_NEW_DEST);
	expect_svc_key_only(&r, &s, "192.168.10.100");
	expect_dest_full(&r, &d, "10.20.0.5", IP_VS_CONN_F_MASQ, 3);
	expect_no_tun(&r);
	req_done(&r);
}

static void test_edit_dest_dr_no_tunnel_attrs(void **state)
{
	struct xl_service s = mk_svc("2001:db8::1", IPPROTO_UDP, 53);
	struct xl_dest d = mk_gue("2001:db8::5", 53);
	struct req r;

	(void)state;
	/* tunnel settings left over on a direct-routing server */
	d.fwd = IP_VS_CONN_F_DROUTE;
	d.weight = 0;
	req_op(&r, XL_OP_EDIT_DEST, &s, &d, IPVS_CMD_SET_DEST);
	expect_svc_key_only(&r, &s, "2001:db8::1");
	expect_dest_full(&r, &d, "2001:db8::5", IP_VS_CONN_F_DROUTE, 0);
	expect_no_tun(&r);
	req_done(&r);
}

static void test_add_dest_tunnel_gue_mixed_family(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_dest d = mk_gue("2001:db8::9", 8000);
	struct req r;

	(void)state;
	req_op(&r, XL_OP_ADD_DEST, &s, &d, IPVS_CMD_NEW_DEST);
	expect_svc_key_only(&r, &s, "192.168.10.100");
	/* an inet6 server in an inet service says so */
	expect_dest_full(&r, &d, "2001:db8::9", IP_VS_CONN_F_TUNNEL, 10);
	expect_u16(r.dest[IPVS_DEST_ATTR_ADDR_FAMILY], AF_INET6);
	expect_u8(r.dest[IPVS_DEST_ATTR_TUN_TYPE],
		  IP_VS_CONN_F_TUNNEL_TYPE_GUE);
	expect_port(r.dest[IPVS_DEST_ATTR_TUN_PORT], 6080);
	expect_u16(r.dest[IPVS_DEST_ATTR_TUN_FLAGS],
		   IP_VS_TUNNEL_ENCAP_FLAG_CSUM |
		       IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
	assert_int_equal(r.ndest, 10);
	req_done(&r);
}

static void test_edit_dest_tunnel_ipip_fwmark(void **state)
{
	struct xl_service s = mk_fwm(AF_INET, 7);
	struct xl_dest d = mk_dest("10.20.0.5", 0, IP_VS_CONN_F_TUNNEL, 1);
	struct req r;

	(void)state;
	req_op(&r, XL_OP_EDIT_DEST, &s, &d, IPVS_CMD_SET_DEST);
	expect_svc_key_only(&r, &s, NULL);
	expect_dest_full(&r, &d, "10.20.0.5", IP_VS_CONN_F_TUNNEL, 1);
	expect_u8(r.dest[IPVS_DEST_ATTR_TUN_TYPE],
		  IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
	expect_port(r.dest[IPVS_DEST_ATTR_TUN_PORT], 0);
	expect_u16(r.dest[IPVS_DEST_ATTR_TUN_FLAGS], 0);
	assert_int_equal(r.ndest, 10);
	req_done(&r);
}

static void test_delete_dest_key_only(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_service f = mk_fwm(AF_INET6, 7);
	struct xl_dest d = mk_gue("10.20.0.5", 8080);
	struct xl_dest d6 = mk_dest("2001:db8::5", 0, IP_VS_CONN_F_DROUTE, 1);
	struct req r;

	(void)state;
	req_op(&r, XL_OP_DEL_DEST, &s, &d, IPVS_CMD_DEL_DEST);
	expect_svc_key_only(&r, &s, "192.168.10.100");
	expect_dest_key(&r, &d, "10.20.0.5");
	assert_int_equal(r.ndest, 3);
	req_done(&r);

	req_op(&r, XL_OP_DEL_DEST, &f, &d6, IPVS_CMD_DEL_DEST);
	expect_svc_key_only(&r, &f, NULL);
	expect_dest_key(&r, &d6, "2001:db8::5");
	assert_int_equal(r.ndest, 3);
	req_done(&r);
}

/* ---- dump requests --------------------------------------------------- */

static void test_dump_services_request(void **state)
{
	struct req r;
	struct genlmsghdr *g;

	(void)state;
	req_open(&r, xl_ipvs_msg_dump_services(FAMILY),
		 NLM_F_REQUEST | NLM_F_DUMP, IPVS_CMD_GET_SERVICE);
	g = nlmsg_data(nlmsg_hdr(r.m));
	assert_int_equal(genlmsg_attrlen(g, 0), 0);
	req_done(&r);
}

static void test_dump_dests_request(void **state)
{
	struct xl_service s = mk_svc("2001:db8::1", IPPROTO_TCP, 443);
	struct xl_service f = mk_fwm(AF_INET, 12);
	struct req r;

	(void)state;
	s.flags = IP_VS_SVC_F_PERSISTENT;
	req_open(&r, xl_ipvs_msg_dump_dests(FAMILY, &s),
		 NLM_F_REQUEST | NLM_F_DUMP, IPVS_CMD_GET_DEST);
	assert_null(r.tb[IPVS_CMD_ATTR_DEST]);
	expect_svc_key_only(&r, &s, "2001:db8::1");
	req_done(&r);

	req_open(&r, xl_ipvs_msg_dump_dests(FAMILY, &f),
		 NLM_F_REQUEST | NLM_F_DUMP, IPVS_CMD_GET_DEST);
	expect_svc_key_only(&r, &f, NULL);
	req_done(&r);
}

/* Reading one service back (the rolling resync): a plain request, not a
 * dump, naming the service by its identity alone. */
static void test_msg_get_service(void **state)
{
	struct xl_service s = mk_svc("192.0.2.7", IPPROTO_UDP, 53);
	struct xl_service f = mk_fwm(AF_INET6, 9);
	struct req r;

	(void)state;
	s.flags = IP_VS_SVC_F_PERSISTENT;
	req_open(&r, xl_ipvs_msg_get_service(FAMILY, &s), NLM_F_REQUEST,
		 IPVS_CMD_GET_SERVICE);
	assert_null(r.tb[IPVS_CMD_ATTR_DEST]);
	expect_svc_key_only(&r, &s, "192.0.2.7");
	req_done(&r);

	req_open(&r, xl_ipvs_msg_get_service(FAMILY, &f), NLM_F_REQUEST,
		 IPVS_CMD_GET_SERVICE);
	expect_svc_key_only(&r, &f, NULL);
	req_done(&r);
}

/* ---- timeouts (IPVS_CMD_GET_CONFIG / IPVS_CMD_SET_CONFIG) ------------- */

/* The attributes of a config request, after its headers are checked. */
static struct nlattr **config_attrs(struct nl_msg *m, int flags, uint8_t cmd,
				    struct nlattr **tb)
{
	struct nlmsghdr *nh;
	struct genlmsghdr *g;

	assert_non_null(m);
	nh = nlmsg_hdr(m);
	assert_int_equal(nh->nlmsg_type, FAMILY);
	assert_int_equal(nh->nlmsg_flags, flags);
	g = nlmsg_data(nh);
	assert_int_equal(g->cmd, cmd);
	assert_int_equal(g->version, IPVS_GENL_VERSION);
	assert_int_equal(genlmsg_parse(nh, 0, tb, IPVS_CMD_ATTR_MAX, NULL), 0);
	return tb;
}

/* A timeout left at 0 is not sent: the kernel keeps its own. */
static void test_msg_config(void **state)
{
	struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
	struct nl_msg *m;

	(void)state;
	m = xl_ipvs_msg_set_config(FAMILY, (uint32_t[]){900, 0, 300});
	config_attrs(m, NLM_F_REQUEST | NLM_F_ACK, IPVS_CMD_SET_CONFIG, tb);
	expect_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP], 900);
	assert_null(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]);
	expect_u32(tb[IPVS_CMD_ATTR_TIMEOUT_UDP], 300);
	assert_null(tb[IPVS_CMD_ATTR_SERVICE]);
	nlmsg_free(m);

	m = xl_ipvs_msg_set_config(FAMILY, (uint32_t[]){0, 7, 0});
	config_attrs(m, NLM_F_REQUEST | NLM_F_ACK, IPVS_CMD_SET_CONFIG, tb);
	assert_null(tb[IPVS_CMD_ATTR_TIMEOUT_TCP]);
	expect_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN], 7);
	assert_null(tb[IPVS_CMD_ATTR_TIMEOUT_UDP]);
	nlmsg_free(m);

	m = xl_ipvs_msg_get_config(FAMILY);
	config_attrs(m, NLM_F_REQUEST, IPVS_CMD_GET_CONFIG, tb);
	assert_int_equal(genlmsg_attrlen(nlmsg_data(nlmsg_hdr(m)), 0), 0);
	nlmsg_free(m);
}

/* ---- kernel-shaped replies ------------------------------------------- */

static void put_stats(struct nl_msg *m, int type, bool wide)
{
	struct nlattr *n = nla_nest_start(m, type);

	assert_non_null(n);
	for (int a = IPVS_STATS_ATTR_CONNS; a <= IPVS_STATS_ATTR_OUTBPS; a++) {
		bool u64 = wide || a == IPVS_STATS_ATTR_INBYTES ||
			   a == IPVS_STATS_ATTR_OUTBYTES;

		assert_int_equal(u64 ? nla_put_u64(m, a, 1000 + a)
				     : nla_put_u32(m, a, 100 + a),
				 0);
	}
	assert_int_equal(nla_nest_end(m, n), 0);
}

/*
 * IPVS_CMD_ATTR_SERVICE as ip_vs_genl_fill_service() writes it, without
 * attribute `skip` (0: all there).  kflags is the kernel's svc->flags.
 */
static struct nlattr *kernel_service(struct nl_msg *m,
				     const struct xl_service *s,
				     uint32_t kflags, const char *pe, int skip)
{
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags fl = {.flags = kflags, .mask = ~0U};

	assert_non_null(n);
	if (skip != IPVS_SVC_ATTR_AF)
		assert_int_equal(nla_put_u16(m, IPVS_SVC_ATTR_AF, s->af), 0);
	if (s->fwmark) {
		assert_int_equal(
		    nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, s->fwmark), 0);
	} else {
		if (skip != IPVS_SVC_ATTR_PROTOCOL)
			assert_int_equal(
			    nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, s->protocol),
			    0);
		if (skip != IPVS_SVC_ATTR_ADDR)
			assert_int_equal(
			    nla_put(m, IPVS_SVC_ATTR_ADDR, 16, &s->addr), 0);
		if (skip != IPVS_SVC_ATTR_PORT)
			assert_int_equal(
			    nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(s->port)),
			    0);
	}
	if (skip != IPVS_SVC_ATTR_SCHED_NAME)
		assert_int_equal(
		    nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, s->sched), 0);
	if (pe)
		assert_int_equal(nla_put_string(m, IPVS_SVC_ATTR_PE_NAME, pe),
				 0);
	if (skip == -IPVS_SVC_ATTR_FLAGS) /* too short to be the struct */
		assert_int_equal(nla_put_u32(m, IPVS_SVC_ATTR_FLAGS, kflags),
				 0);
	else if (skip != IPVS_SVC_ATTR_FLAGS)
		assert_int_equal(
		    nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(fl), &fl), 0);
	if (skip != IPVS_SVC_ATTR_TIMEOUT)
		assert_int_equal(
		    nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, s->timeout), 0);
	if (skip != IPVS_SVC_ATTR_NETMASK)
		assert_int_equal(
		    nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, s->netmask), 0);
	put_stats(m, IPVS_SVC_ATTR_STATS, false);
	put_stats(m, IPVS_SVC_ATTR_STATS64, true);
	assert_int_equal(nla_nest_end(m, n), 0);
	return n;
}

struct kdest_opts {
	bool no_af;	 /* kernels before mixed-family pools */
	bool no_tun;	 /* kernels before tunnel types */
	bool no_stats64; /* kernels before 4.1 */
	int skip;
};

/* IPVS_CMD_ATTR_DEST as ip_vs_genl_fill_dest() writes it. */
static struct nlattr *kernel_dest(struct nl_msg *m, const struct xl_dest *d,
				  const struct kdest_opts *o)
{
	struct nlattr *n = nla_nest_start(m, IPVS_CMD_ATTR_DEST);

	assert_non_null(n);
	if (o->skip != IPVS_DEST_ATTR_ADDR)
		assert_int_equal(nla_put(m, IPVS_DEST_ATTR_ADDR, 16, &d->addr),
				 0);
	if (o->skip != IPVS_DEST_ATTR_PORT)
		assert_int_equal(
		    nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(d->port)), 0);
	if (o->skip != IPVS_DEST_ATTR_FWD_METHOD)
		assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD,
					     d->fwd & IP_VS_CONN_F_FWD_MASK),
				 0);
	if (o->skip != IPVS_DEST_ATTR_WEIGHT)
		assert_int_equal(
		    nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, (uint32_t)d->weight),
		    0);
	if (!o->no_tun) {
		assert_int_equal(
		    nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, d->tun_type), 0);
		assert_int_equal(
		    nla_put_u16(m, IPVS_DEST_ATTR_TUN_PORT, htons(d->tun_port)),
		    0);
		assert_int_equal(
		    nla_put_u16(m, IPVS_DEST_ATTR_TUN_FLAGS, d->tun_flags), 0);
	}
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, d->u_thresh),
			 0);
	assert_int_equal(nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, d->l_thresh),
			 0);
	assert_int_equal(
	    nla_put_u32(m, IPVS_DEST_ATTR_ACTIVE_CONNS, d->active_conns), 0);
	assert_int_equal(
	    nla_put_u32(m, IPVS_DEST_ATTR_INACT_CONNS, d->inact_conns), 0);
	assert_int_equal(
	    nla_put_u32(m, IPVS_DEST_ATTR_PERSIST_CONNS, d->persist_conns), 0);
	if (!o->no_af)
		assert_int_equal(
		    nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, d->af), 0);
	put_stats(m, IPVS_DEST_ATTR_STATS, false);
	if (!o->no_stats64)
		put_stats(m, IPVS_DEST_ATTR_STATS64, true);
	assert_int_equal(nla_nest_end(m, n), 0);
	return n;
}

static void expect_same_service(const struct xl_service *got,
				const struct xl_service *want)
{
	assert_int_equal(got->af, want->af);
	assert_int_equal(got->protocol, want->protocol);
	assert_memory_equal(got->addr.b, want->addr.b, 16);
	assert_int_equal(got->port, want->port);
	assert_int_equal(got->fwmark, want->fwmark);
	assert_string_equal(got->sched, want->sched);
	assert_int_equal(got->flags, want->flags);
	assert_int_equal(got->timeout, want->timeout);
	assert_int_equal(got->netmask, want->netmask);
	assert_null(got->dests);
	assert_int_equal(got->ndests, 0);
	assert_int_equal(xl_service_cmp(got, want), 0);
	assert_true(xl_service_attrs_equal(got, want));
}

static void expect_same_dest(const struct xl_dest *got,
			     const struct xl_dest *want, bool counters)
{
	assert_int_equal(got->af, want->af);
	assert_memory_equal(got->addr.b, want->addr.b, 16);
	assert_int_equal(got->port, want->port);
	assert_int_equal(got->fwd, want->fwd);
	assert_int_equal(got->weight, want->weight);
	assert_int_equal(got->u_thresh, want->u_thresh);
	assert_int_equal(got->l_thresh, want->l_thresh);
	assert_int_equal(got->tun_type, want->tun_type);
	assert_int_equal(got->tun_port, want->tun_port);
	assert_int_equal(got->tun_flags, want->tun_flags);
	if (counters) {
		assert_int_equal(got->active_conns, want->active_conns);
		assert_int_equal(got->inact_conns, want->inact_conns);
		assert_int_equal(got->persist_conns, want->persist_conns);
	}
	assert_int_equal(xl_dest_cmp(got, want), 0);
	assert_true(xl_dest_attrs_equal(got, want));
}

static void test_parse_service_v4(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct nl_msg *m = nlmsg_alloc();
	struct xl_service got;

	(void)state;
	s.flags = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED2;
	s.timeout = 300;
	s.netmask = htonl(0xffffff00);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(
	    xl_ipvs_parse_service(
		kernel_service(m, &s, s.flags | IP_VS_SVC_F_HASHED, NULL, 0),
		&got),
	    0);
	/* _HASHED dropped, so an unchanged service is not edited */
	expect_same_service(&got, &s);
	assert_int_equal(got.stats.conns, 1000 + IPVS_STATS_ATTR_CONNS);
	assert_int_equal(got.stats.outbytes, 1000 + IPVS_STATS_ATTR_OUTBYTES);
	nlmsg_free(m);
}

static void test_parse_service_v6_with_pe(void **state)
{
	struct xl_service s = mk_svc("2001:db8::1", IPPROTO_UDP, 5060);
	struct nl_msg *m = nlmsg_alloc();
	struct xl_service got;

	(void)state;
	strcpy(s.sched, "wrr");
	s.netmask = 64;
	s.flags = IP_VS_SVC_F_PERSISTENT;
	s.timeout = 1;
	assert_int_equal(
	    xl_ipvs_parse_service(
		kernel_service(m, &s,
			       IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED,
			       "sip", 0),
		&got),
	    0);
	expect_same_service(&got, &s);
	nlmsg_free(m);
}

static void test_parse_service_fwmark(void **state)
{
	struct xl_service s4 = mk_fwm(AF_INET, 7);
	struct xl_service s6 = mk_fwm(AF_INET6, 0x80000001U);
	struct nl_msg *m = nlmsg_alloc();
	struct xl_service got;

	(void)state;
	/* no PROTOCOL, ADDR or PORT in the reply */
	assert_int_equal(
	    xl_ipvs_parse_service(
		kernel_service(m, &s4, IP_VS_SVC_F_HASHED, NULL, 0), &got),
	    0);
	expect_same_service(&got, &s4);
	assert_int_equal(got.protocol, 0);
	assert_int_equal(got.port, 0);
	assert_int_equal(got.flags, 0);
	assert_int_equal(
	    xl_ipvs_parse_service(
		kernel_service(m, &s6, IP_VS_SVC_F_HASHED, NULL, 0), &got),
	    0);
	expect_same_service(&got, &s6);
	nlmsg_free(m);
}

static void test_parse_service_missing_attrs(void **state)
{
	static const int required[] = {
	    IPVS_SVC_ATTR_AF,	      IPVS_SVC_ATTR_PROTOCOL,
	    IPVS_SVC_ATTR_ADDR,	      IPVS_SVC_ATTR_PORT,
	    IPVS_SVC_ATTR_SCHED_NAME, IPVS_SVC_ATTR_FLAGS,
	    IPVS_SVC_ATTR_TIMEOUT,    IPVS_SVC_ATTR_NETMASK,
	    -IPVS_SVC_ATTR_FLAGS,
	};
	struct xl_service s = mk_svc("10.0.0.1", IPPROTO_TCP, 80);
	struct xl_service f = mk_fwm(AF_INET, 3);
	struct xl_service got;

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct nl_msg *m = nlmsg_alloc();
		int rc = xl_ipvs_parse_service(
		    kernel_service(m, &s, 0, NULL, required[i]), &got);

		if (rc != -EINVAL)
			print_error("without attribute %d\n", required[i]);
		assert_int_equal(rc, -EINVAL);
		nlmsg_free(m);
	}
	/* a fwmark service still needs its af */
	{
		struct nl_msg *m = nlmsg_alloc();

		assert_int_equal(
		    xl_ipvs_parse_service(
			kernel_service(m, &f, 0, NULL, IPVS_SVC_ATTR_AF), &got),
		    -EINVAL);
		nlmsg_free(m);
	}
}

static void test_parse_dest_full(void **state)
{
	struct xl_dest d = mk_gue("2001:db8::9", 8000);
	struct kdest_opts o = {0};
	struct nl_msg *m = nlmsg_alloc();
	struct xl_ipvs_stats st;
	struct xl_dest got;

	(void)state;
	d.u_thresh = 5000;
	d.l_thresh = 4000;
	d.weight = 65535;
	d.active_conns = 123456;
	d.inact_conns = 7;
	d.persist_conns = 42;
	memset(&got, 0xa5, sizeof(got));
	/* an inet6 server in an inet service: ADDR_FAMILY wins */
	assert_int_equal(
	    xl_ipvs_parse_dest(kernel_dest(m, &d, &o), AF_INET, &got, &st), 0);
	expect_same_dest(&got, &d, true);
	/* put_stats: 1000 + the attribute in STATS64, which wins */
	assert_int_equal(st.conns, 1000 + IPVS_STATS_ATTR_CONNS);
	assert_int_equal(st.inbytes, 1000 + IPVS_STATS_ATTR_INBYTES);
	assert_int_equal(st.outbps, 1000 + IPVS_STATS_ATTR_OUTBPS);
	nlmsg_free(m);
}

/* Before STATS64, counters are 32 bits wide except the byte totals. */
static void test_parse_dest_stats32(void **state)
{
	struct xl_dest d = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1);
	struct kdest_opts o = {.no_stats64 = true};
	struct nl_msg *m = nlmsg_alloc();
	struct xl_ipvs_stats st;
	struct xl_dest got;

	(void)state;
	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(
	    xl_ipvs_parse_dest(kernel_dest(m, &d, &o), AF_INET, &got, &st), 0);
	assert_int_equal(st.conns, 100 + IPVS_STATS_ATTR_CONNS);
	assert_int_equal(st.inpkts, 100 + IPVS_STATS_ATTR_INPKTS);
	assert_int_equal(st.inbytes, 1000 + IPVS_STATS_ATTR_INBYTES);
	assert_int_equal(st.outbytes, 1000 + IPVS_STATS_ATTR_OUTBYTES);
	assert_int_equal(st.outbps, 100 + IPVS_STATS_ATTR_OUTBPS);
	nlmsg_free(m);
}

static void test_parse_dest_old_kernel(void **state)
{
	struct xl_dest d4 = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_DROUTE, 2);
	struct xl_dest d6 = mk_dest("2001:db8::5", 80, IP_VS_CONN_F_MASQ, 0);
	struct kdest_opts o = {.no_af = true, .no_tun = true};
	struct nl_msg *m = nlmsg_alloc();
	struct xl_dest got;

	(void)state;
	d4.active_conns = 3;
	memset(&got, 0xa5, sizeof(got));
	/* no ADDR_FAMILY: the service's family */
	assert_int_equal(
	    xl_ipvs_parse_dest(kernel_dest(m, &d4, &o), AF_INET, &got, NULL),
	    0);
	expect_same_dest(&got, &d4, true);
	assert_int_equal(
	    xl_ipvs_parse_dest(kernel_dest(m, &d6, &o), AF_INET6, &got, NULL),
	    0);
	expect_same_dest(&got, &d6, true);
	nlmsg_free(m);
}

static void test_parse_dest_missing_attrs(void **state)
{
	static const int required[] = {
	    IPVS_DEST_ATTR_ADDR,
	    IPVS_DEST_ATTR_PORT,
	    IPVS_DEST_ATTR_FWD_METHOD,
	    IPVS_DEST_ATTR_WEIGHT,
	};
	struct xl_dest d = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1);
	struct xl_dest got;

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct kdest_opts o = {.skip = required[i]};
		struct nl_msg *m = nlmsg_alloc();
		int rc = xl_ipvs_parse_dest(kernel_dest(m, &d, &o), AF_INET,
					    &got, NULL);

		if (rc != -EINVAL)
			print_error("without attribute %d\n", required[i]);
		assert_int_equal(rc, -EINVAL);
		nlmsg_free(m);
	}
}

/* ---- encode, then decode --------------------------------------------- */

static void roundtrip_service(const struct xl_service *s)
{
	static const enum xl_op_kind kinds[] = {XL_OP_ADD_SVC, XL_OP_EDIT_SVC};

	for (size_t k = 0; k < 2; k++) {
		struct xl_op op = {.kind = kinds[k], .svc = s};
		struct nl_msg *m = xl_ipvs_msg_op(FAMILY, &op);
		struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
		struct xl_service got;

		assert_non_null(m);
		assert_int_equal(
		    genlmsg_parse(nlmsg_hdr(m), 0, tb, IPVS_CMD_ATTR_MAX, NULL),
		    0);
		assert_int_equal(
		    xl_ipvs_parse_service(tb[IPVS_CMD_ATTR_SERVICE], &got), 0);
		expect_same_service(&got, s);
		nlmsg_free(m);
	}
}

static void roundtrip_dest(const struct xl_service *s, const struct xl_dest *d)
{
	static const enum xl_op_kind kinds[] = {XL_OP_ADD_DEST,
						XL_OP_EDIT_DEST};

	for (size_t k = 0; k < 2; k++) {
		struct xl_op op = {.kind = kinds[k], .svc = s, .dest = d};
		struct nl_msg *m = xl_ipvs_msg_op(FAMILY, &op);
		struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
		struct xl_dest got;

		assert_non_null(m);
		assert_int_equal(
		    genlmsg_parse(nlmsg_hdr(m), 0, tb, IPVS_CMD_ATTR_MAX, NULL),
		    0);
		assert_int_equal(xl_ipvs_parse_dest(tb[IPVS_CMD_ATTR_DEST],
						    s->af, &got, NULL),
				 0);
		expect_same_dest(&got, d, false);
		nlmsg_free(m);
	}
}

static void test_roundtrip(void **state)
{
	struct xl_service v4 = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_service v6 = mk_svc("2001:db8::1", IPPROTO_UDP, 53);
	struct xl_service sctp = mk_svc("10.0.0.1", IPPROTO_SCTP, 3868);
	struct xl_service f4 = mk_fwm(AF_INET, 7);
	struct xl_service f6 = mk_fwm(AF_INET6, 0xffffffffU);
	struct xl_dest nat = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1);
	struct xl_dest dr6 = mk_dest("2001:db8::5", 53, IP_VS_CONN_F_DROUTE, 0);
	struct xl_dest ipip = mk_dest("10.20.0.6", 0, IP_VS_CONN_F_TUNNEL, 7);
	struct xl_dest gue = mk_gue("10.20.0.7", 8000);
	struct xl_dest gue6 = mk_gue("2001:db8::7", 8000);
	struct xl_dest gre = mk_dest("2001:db8::8", 0, IP_VS_CONN_F_TUNNEL, 3);

	(void)state;
	v4.flags = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET;
	v4.timeout = 900;
	v4.netmask = htonl(0xffff0000);
	v6.flags = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED3;
	v6.netmask = 48;
	strcpy(v6.sched, "mh");
	strcpy(sctp.sched,
	       "abcdefghijklmno"); /* the longest the kernel takes */
	f4.flags = IP_VS_SVC_F_PERSISTENT;
	f4.timeout = 1;
	nat.u_thresh = 100;
	nat.l_thresh = 50;
	dr6.weight = 0x7fffffff;
	gue6.tun_flags = 0;
	gre.tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GRE;
	gre.tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;

	roundtrip_service(&v4);
	roundtrip_service(&v6);
	roundtrip_service(&sctp);
	roundtrip_service(&f4);
	roundtrip_service(&f6);
	roundtrip_dest(&v4, &nat);
	roundtrip_dest(&v6, &dr6);
	roundtrip_dest(&f4, &ipip);
	roundtrip_dest(&v4, &gue);
	roundtrip_dest(&v4, &gue6); /* mixed family */
	roundtrip_dest(&f6, &gre);
	roundtrip_dest(&f6, &gue);
}

/*
 * What the kernel keeps for a non-tunnel server is what extlbd reads back
 * next time; it must compare equal to what was asked for, or every resync
 * edits the server again.  The request carries no tunnel attributes for
 * nat/dr, so the kernel stores (and dumps) zeros for them.
 */
static void test_non_tunnel_dest_converges(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	static const uint32_t fwds[] = {IP_VS_CONN_F_MASQ, IP_VS_CONN_F_DROUTE};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct xl_dest d = mk_gue("10.20.0.5", 80);
		struct xl_op op = {XL_OP_ADD_DEST, &s, &d};
		struct nl_msg *m;
		struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1];
		struct xl_dest kept;

		d.fwd = fwds[i];
		m = xl_ipvs_msg_op(FAMILY, &op);
		assert_non_null(m);
		assert_int_equal(
		    genlmsg_parse(nlmsg_hdr(m), 0, tb, IPVS_CMD_ATTR_MAX, NULL),
		    0);
		assert_int_equal(xl_ipvs_parse_dest(tb[IPVS_CMD_ATTR_DEST],
						    s.af, &kept, NULL),
				 0);
		nlmsg_free(m);
		assert_int_equal(kept.tun_type, 0);
		assert_int_equal(kept.tun_port, 0);
		if (!xl_dest_attrs_equal(&d, &kept))
			fail_msg(
			    "%s server with tunnel settings: the kernel's "
			    "copy never compares equal (edit every resync)",
			    xl_fwd_name(d.fwd));
	}
}

/* ---- batches --------------------------------------------------------- */

/*
 * A batch is the ops' requests back to back, numbered from the first
 * sequence number, addressed from our port; each is the request
 * xl_ipvs_msg_op() builds for the op, but only the last asks for an
 * acknowledgement: the kernel answers failed requests anyway, and that last
 * reply tells the batch is done.  Were the flag left on every request, the
 * kernel would queue 256 replies per batch; left off the last, the daemon
 * would wait forever for a batch that succeeded.
 */
static void test_batch(void **state)
{
	struct xl_service v4 = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_service f6 = mk_fwm(AF_INET6, 9);
	struct xl_dest nat = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1);
	struct xl_dest gue = mk_gue("2001:db8::7", 8000);
	const struct xl_op ops[] = {
	    {XL_OP_ADD_SVC, &v4, NULL},	  {XL_OP_ADD_DEST, &v4, &nat},
	    {XL_OP_EDIT_DEST, &f6, &gue}, {XL_OP_DEL_DEST, &v4, &nat},
	    {XL_OP_EDIT_SVC, &f6, NULL},  {XL_OP_DEL_SVC, &v4, NULL},
	};
	const size_t n = sizeof(ops) / sizeof(ops[0]);
	unsigned char buf[4096];
	size_t len, i = 0;
	int rem;
	struct nlmsghdr *nh;

	(void)state;
	len =
	    xl_ipvs_encode_batch(FAMILY, ops, n, 1000, 4242, buf, sizeof(buf));
	assert_true(len > 0 && len <= sizeof(buf));
	rem = (int)len;
	for (nh = (struct nlmsghdr *)buf; nlmsg_ok(nh, rem);
	     nh = nlmsg_next(nh, &rem), i++) {
		struct nl_msg *alone;
		struct nlmsghdr *ah;

		assert_true(i < n);
		assert_int_equal(nh->nlmsg_seq, 1000 + i);
		assert_int_equal(nh->nlmsg_pid, 4242);
		assert_int_equal(nh->nlmsg_flags,
				 i + 1 == n ? NLM_F_REQUEST | NLM_F_ACK
					    : NLM_F_REQUEST);
		alone = xl_ipvs_msg_op(FAMILY, &ops[i]);
		assert_non_null(alone);
		ah = nlmsg_hdr(alone);
		assert_int_equal(nh->nlmsg_len, ah->nlmsg_len);
		assert_int_equal(nh->nlmsg_type, ah->nlmsg_type);
		assert_memory_equal(nlmsg_data(nh), nlmsg_data(ah),
				    nh->nlmsg_len - NLMSG_HDRLEN);
		nlmsg_free(alone);
	}
	assert_int_equal(i, n);
	assert_int_equal(rem, 0);

	/* a buffer too small for the batch: nothing is half sent */
	assert_int_equal(
	    xl_ipvs_encode_batch(FAMILY, ops, n, 1000, 4242, buf, len - 1), 0);
	assert_int_equal(
	    xl_ipvs_encode_batch(FAMILY, ops, n, 1000, 4242, buf, 0), 0);
}

/* ---- error texts ----------------------------------------------------- */

static void test_strerror(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_dest d = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1);
	struct xl_op add_svc = {XL_OP_ADD_SVC, &s, NULL};
	struct xl_op edit_svc = {XL_OP_EDIT_SVC, &s, NULL};
	struct xl_op del_svc = {XL_OP_DEL_SVC, &s, NULL};
	struct xl_op add_dest = {XL_OP_ADD_DEST, &s, &d};
	struct xl_op edit_dest = {XL_OP_EDIT_DEST, &s, &d};
	struct xl_op del_dest = {XL_OP_DEL_DEST, &s, &d};
	const char *t;

	(void)state;
	strcpy(s.sched, "foo");
	t = xl_ipvs_strerror(&add_svc, ENOENT);
	assert_non_null(t);
	assert_true(strncmp(t, "unknown scheduler \"foo\"", 23) == 0);
	assert_non_null(strstr(t, "ip_vs_foo"));
	t = xl_ipvs_strerror(&edit_svc, ENOENT);
	assert_true(strncmp(t, "unknown scheduler \"foo\"", 23) == 0);

	assert_string_equal(xl_ipvs_strerror(&edit_dest, ENOENT),
			    "no such real server in the service");
	assert_string_equal(xl_ipvs_strerror(&del_dest, ENOENT),
			    "no such real server in the service");

	assert_string_equal(xl_ipvs_strerror(&edit_svc, ESRCH),
			    "no such virtual service");
	assert_string_equal(xl_ipvs_strerror(&del_svc, ESRCH),
			    "no such virtual service");
	assert_string_equal(xl_ipvs_strerror(&add_dest, ESRCH),
			    "no such virtual service");

	assert_string_equal(xl_ipvs_strerror(&add_svc, EEXIST),
			    "virtual service already exists");
	assert_string_equal(xl_ipvs_strerror(&add_dest, EEXIST),
			    "real server already in the service");

	assert_string_equal(xl_ipvs_strerror(&add_dest, ERANGE),
			    "weight or thresholds out of range");
	assert_string_equal(xl_ipvs_strerror(&add_svc, EPERM), strerror(EPERM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_service_v4),
	    cmocka_unit_test(test_edit_service_v6),
	    cmocka_unit_test(test_add_service_fwmark),
	    cmocka_unit_test(test_delete_service_key_only),
	    cmocka_unit_test(test_add_dest_nat),
	    cmocka_unit_test(test_edit_dest_dr_no_tunnel_attrs),
	    cmocka_unit_test(test_add_dest_tunnel_gue_mixed_family),
	    cmocka_unit_test(test_edit_dest_tunnel_ipip_fwmark),
	    cmocka_unit_test(test_delete_dest_key_only),
	    cmocka_unit_test(test_dump_services_request),
	    cmocka_unit_test(test_dump_dests_request),
	    cmocka_unit_test(test_msg_get_service),
	    cmocka_unit_test(test_msg_config),
	    cmocka_unit_test(test_parse_service_v4),
	    cmocka_unit_test(test_parse_service_v6_with_pe),
	    cmocka_unit_test(test_parse_service_fwmark),
	    cmocka_unit_test(test_parse_service_missing_attrs),
	    cmocka_unit_test(test_parse_dest_full),
	    cmocka_unit_test(test_parse_dest_stats32),
	    cmocka_unit_test(test_parse_dest_old_kernel),
	    cmocka_unit_test(test_parse_dest_missing_attrs),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_non_tunnel_dest_converges),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests_name("ipvs", tests, NULL, NULL);
}
