/*
 * test_reconcile.c - the diff between the wanted and the kernel's IPVS table.
 *
 * xl_reconcile() decides every write extlbd makes to the kernel, so these
 * tests pin down what an operator would check in the log after a reload:
 * nothing is written when nothing changed, each changed attribute costs
 * exactly one edit, counters and the kernel's _HASHED bit never cause
 * churn, identity changes are add-then-delete, services extlbd does not own
 * are left alone, deletes of whole services come first, and the op list
 * points at the right table.  The model.c helpers the diff relies on
 * (address parsing and formatting, lookup, deep copy) are checked here too,
 * as is the exact text of every op kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/ip_vs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "reconcile.h"

#include "builders.h"

/* ---- builders -------------------------------------------------------- */

static struct xl_service mk_fwm(uint16_t af, uint32_t mark)
{
	return mk_fwm_sched(af, mark, "rr");
}

/* Appends; the returned pointer is valid until the next tadd(). */
static struct xl_service *tadd(struct xl_table *t, struct xl_service s)
{
	struct xl_service *v = realloc(t->svcs, (t->nsvcs + 1) * sizeof(*v));

	assert_non_null(v);
	t->svcs = v;
	v[t->nsvcs] = s;
	return &v[t->nsvcs++];
}

static struct xl_dest *sadd(struct xl_service *s, struct xl_dest d)
{
	struct xl_dest *v = realloc(s->dests, (s->ndests + 1) * sizeof(*v));

	assert_non_null(v);
	s->dests = v;
	v[s->ndests] = d;
	return &v[s->ndests++];
}

/* The service with this identity in t (which must hold it), writable. */
static struct xl_service *tget(struct xl_table *t, const struct xl_service *key)
{
	const struct xl_service *s = xl_table_find(t, key);

	assert_non_null(s);
	return (struct xl_service *)s;
}

static void copy_of(struct xl_table *dst, const struct xl_table *src)
{
	assert_int_equal(xl_table_copy(dst, src), 0);
}

static void diff(const struct xl_table *want, const struct xl_table *have,
		 const struct xl_reconcile_opts *opts, struct xl_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	assert_int_equal(xl_reconcile(want, have, opts, ops), 0);
}

static bool in_table(const struct xl_table *t, const struct xl_service *s)
{
	return s >= t->svcs && s < t->svcs + t->nsvcs;
}

static bool in_service(const struct xl_service *s, const struct xl_dest *d)
{
	return d >= s->dests && d < s->dests + s->ndests;
}

/* Checks op i: kind, service pointer, dest pointer. */
static void expect_op(const struct xl_ops *ops, size_t i, enum xl_op_kind k,
		      const struct xl_service *svc, const struct xl_dest *dest)
{
	assert_true(i < ops->n);
	assert_string_equal(xl_op_name(ops->v[i].kind), xl_op_name(k));
	assert_ptr_equal(ops->v[i].svc, svc);
	assert_ptr_equal(ops->v[i].dest, dest);
}

/*
 * Two services with destinations, already sorted:
 *   TCP 192.168.10.100:8000 -> 10.20.0.5:80, 10.20.0.6:80 (nat)
 *   UDP [2001:db8::1]:53   -> [2001:db8::5]:53 (dr)
 */
static void small_table(struct xl_table *t)
{
	struct xl_service *s;

	memset(t, 0, sizeof(*t));
	s = tadd(t, mk_svc("192.168.10.100", IPPROTO_TCP, 8000));
	sadd(s, mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1));
	sadd(s, mk_dest("10.20.0.6", 80, IP_VS_CONN_F_MASQ, 1));
	s = tadd(t, mk_svc("2001:db8::1", IPPROTO_UDP, 53));
	sadd(s, mk_dest("2001:db8::5", 53, IP_VS_CONN_F_DROUTE, 3));
	xl_table_sort(t);
}

/* ---- reconcile: nothing to do ---------------------------------------- */

static void test_empty_tables_no_ops(void **state)
{
	struct xl_table a = {0}, b = {0};
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_ops ops;

	(void)state;
	diff(&a, &b, NULL, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
	diff(&a, &b, &all, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
}

static void test_identical_tables_no_ops(void **state)
{
	struct xl_table want, have;
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_service *f;
	struct xl_ops ops;

	(void)state;
	small_table(&want);
	f = tadd(&want, mk_fwm(AF_INET, 7));
	f->flags = IP_VS_SVC_F_PERSISTENT;
	f->timeout = 300;
	sadd(f, mk_dest("10.20.0.9", 0, IP_VS_CONN_F_DROUTE, 0));
	xl_table_sort(&want);
	copy_of(&have, &want);

	diff(&want, &have, &all, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

static void test_ops_are_appended(void **state)
{
	struct xl_table want, have = {0};
	struct xl_ops ops;

	(void)state;
	small_table(&want);
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 5);
	assert_int_equal(xl_reconcile(&want, &have, NULL, &ops), 0);
	assert_int_equal(ops.n, 10);
	expect_op(&ops, 5, XL_OP_ADD_SVC, &want.svcs[0], NULL);
	xl_ops_free(&ops);
	assert_null(ops.v);
	assert_int_equal(ops.n, 0);
	xl_table_free(&want);
}

/* ---- new services ---------------------------------------------------- */

static void test_new_service_added_with_its_dests(void **state)
{
	struct xl_table want, have = {0};
	struct xl_ops ops;

	(void)state;
	small_table(&want);
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 5);
	for (size_t k = 0, i = 0; k < want.nsvcs; k++) {
		const struct xl_service *s = &want.svcs[k];

		expect_op(&ops, i++, XL_OP_ADD_SVC, s, NULL);
		for (size_t d = 0; d < s->ndests; d++)
			expect_op(&ops, i++, XL_OP_ADD_DEST, s, &s->dests[d]);
	}
	xl_ops_free(&ops);
	xl_table_free(&want);
}

static void test_new_service_among_existing(void **state)
{
	struct xl_table want, have;
	struct xl_service *s, key;
	struct xl_ops ops;

	(void)state;
	small_table(&have);
	copy_of(&want, &have);
	s = tadd(&want, mk_svc("192.168.10.101", IPPROTO_TCP, 443));
	sadd(s, mk_dest("10.20.0.7", 443, IP_VS_CONN_F_MASQ, 2));
	xl_table_sort(&want);
	key = mk_svc("192.168.10.101", IPPROTO_TCP, 443);
	s = tget(&want, &key);

	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 2);
	expect_op(&ops, 0, XL_OP_ADD_SVC, s, NULL);
	expect_op(&ops, 1, XL_OP_ADD_DEST, s, &s->dests[0]);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- service attributes ---------------------------------------------- */

enum svc_change {
	SC_SCHED,
	SC_PERSISTENT,
	SC_ONEPACKET,
	SC_SCHED1,
	SC_SCHED2,
	SC_SCHED3,
	SC_TIMEOUT,
	SC_NETMASK,
	SC_COUNT
};

static void change_service(struct xl_service *s, enum svc_change c)
{
	switch (c) {
	case SC_SCHED:
		strcpy(s->sched, "sh");
		break;
	case SC_PERSISTENT:
		s->flags ^= IP_VS_SVC_F_PERSISTENT;
		break;
	case SC_ONEPACKET:
		s->flags ^= IP_VS_SVC_F_ONEPACKET;
		break;
	case SC_SCHED1:
		s->flags ^= IP_VS_SVC_F_SCHED1;
		break;
	case SC_SCHED2:
		s->flags ^= IP_VS_SVC_F_SCHED2;
		break;
	case SC_SCHED3:
		s->flags ^= IP_VS_SVC_F_SCHED3;
		break;
	case SC_TIMEOUT:
		s->timeout += 60;
		break;
	case SC_NETMASK:
		s->netmask = s->af == AF_INET6 ? 64 : htonl(0xffffff00);
		break;
	default:
		fail();
	}
}

static void test_each_service_attr_one_edit(void **state)
{
	(void)state;
	for (int c = 0; c < SC_COUNT; c++) {
		for (int which = 0; which < 2; which++) {
			struct xl_table want, have;
			struct xl_ops ops;
			const struct xl_service *s;

			small_table(&want);
			copy_of(&have, &want);
			s = &want.svcs[which];
			change_service(&have.svcs[which], (enum svc_change)c);

			diff(&want, &have, NULL, &ops);
			if (ops.n != 1)
				print_error("change %d on service %d\n", c,
					    which);
			assert_int_equal(ops.n, 1);
			expect_op(&ops, 0, XL_OP_EDIT_SVC, s, NULL);
			xl_ops_free(&ops);
			xl_table_free(&want);
			xl_table_free(&have);
		}
	}
}

static void test_hashed_flag_alone_no_edit(void **state)
{
	struct xl_table want, have;
	struct xl_ops ops;

	(void)state;
	small_table(&want);
	want.svcs[0].flags = IP_VS_SVC_F_PERSISTENT;
	copy_of(&have, &want);
	/* the kernel reports every service it holds as hashed */
	for (size_t i = 0; i < have.nsvcs; i++)
		have.svcs[i].flags |= IP_VS_SVC_F_HASHED;
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);

	/* but a real flag change next to it is still seen */
	have.svcs[0].flags = IP_VS_SVC_F_HASHED;
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 1);
	expect_op(&ops, 0, XL_OP_EDIT_SVC, &want.svcs[0], NULL);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

static void test_service_edit_then_dest_ops(void **state)
{
	struct xl_table want, have;
	struct xl_ops ops;
	struct xl_service *w;

	(void)state;
	small_table(&want);
	copy_of(&have, &want);
	w = &want.svcs[0];
	strcpy(w->sched, "lc");
	w->dests[0].weight = 5;
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 2);
	expect_op(&ops, 0, XL_OP_EDIT_SVC, w, NULL);
	expect_op(&ops, 1, XL_OP_EDIT_DEST, w, &w->dests[0]);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- destination attributes ------------------------------------------ */

enum dest_change {
	DC_FWD,
	DC_WEIGHT,
	DC_U_THRESH,
	DC_L_THRESH,
	DC_TUN_TYPE,
	DC_TUN_PORT,
	DC_TUN_FLAGS,
	DC_COUNT
};

static void change_dest(struct xl_dest *d, enum dest_change c)
{
	switch (c) {
	case DC_FWD:
		d->fwd = IP_VS_CONN_F_DROUTE;
		break;
	case DC_WEIGHT:
		d->weight = 0;
		break;
	case DC_U_THRESH:
		d->u_thresh = 1000;
		break;
	case DC_L_THRESH:
		d->l_thresh = 10;
		break;
	case DC_TUN_TYPE:
		d->tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GRE;
		break;
	case DC_TUN_PORT:
		d->tun_port = 6081;
		break;
	case DC_TUN_FLAGS:
		d->tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
		break;
	default:
		fail();
	}
}

/* One service, one tunnel (GUE) destination between two others. */
static void tunnel_table(struct xl_table *t)
{
	struct xl_service *s;
	struct xl_dest *d;

	memset(t, 0, sizeof(*t));
	s = tadd(t, mk_svc("192.168.10.100", IPPROTO_TCP, 8000));
	sadd(s, mk_dest("10.20.0.1", 8000, IP_VS_CONN_F_TUNNEL, 1));
	d = sadd(s, mk_dest("10.20.0.2", 8000, IP_VS_CONN_F_TUNNEL, 1));
	d->tun_type = IP_VS_CONN_F_TUNNEL_TYPE_GUE;
	d->tun_port = 6080;
	d->tun_flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
	sadd(s, mk_dest("10.20.0.3", 8000, IP_VS_CONN_F_TUNNEL, 1));
	xl_table_sort(t);
}

static void test_each_dest_attr_one_edit(void **state)
{
	(void)state;
	for (int c = 0; c < DC_COUNT; c++) {
		struct xl_table want, have;
		struct xl_ops ops;
		const struct xl_service *w;

		tunnel_table(&want);
		copy_of(&have, &want);
		w = &want.svcs[0];
		change_dest(&have.svcs[0].dests[1], (enum dest_change)c);

		diff(&want, &have, NULL, &ops);
		if (ops.n != 1)
			print_error("dest change %d\n", c);
		assert_int_equal(ops.n, 1);
		expect_op(&ops, 0, XL_OP_EDIT_DEST, w, &w->dests[1]);
		xl_ops_free(&ops);
		xl_table_free(&want);
		xl_table_free(&have);
	}
}

static void test_conn_counters_alone_no_edit(void **state)
{
	struct xl_table want, have;
	struct xl_ops ops;

	(void)state;
	tunnel_table(&want);
	copy_of(&have, &want);
	for (size_t i = 0; i < have.svcs[0].ndests; i++) {
		have.svcs[0].dests[i].active_conns = 1000 + (uint32_t)i;
		have.svcs[0].dests[i].inact_conns = 20;
		have.svcs[0].dests[i].persist_conns = 3;
	}
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- destination identity -------------------------------------------- */

static void test_dest_identity_change_add_then_delete(void **state)
{
	(void)state;
	/* 0: address, 1: port, 2: family (same leading bytes) */
	for (int c = 0; c < 3; c++) {
		struct xl_table want, have;
		struct xl_ops ops;
		struct xl_dest *old;
		const struct xl_service *w, *h;

		small_table(&want);
		copy_of(&have, &want);
		old = &have.svcs[0].dests[1]; /* 10.20.0.6:80 */
		if (c == 0) {
			want.svcs[0].dests[1].addr.v4.s_addr =
			    htonl(0x0a140007);
		} else if (c == 1) {
			want.svcs[0].dests[1].port = 8080;
		} else {
			want.svcs[0].dests[1].af = AF_INET6;
			/* 10.20.0.6 followed by zeros, read as inet6 */
			assert_int_equal(
			    memcmp(&want.svcs[0].dests[1].addr, &old->addr, 16),
			    0);
		}
		xl_table_sort(&want);
		w = &want.svcs[0];
		h = &have.svcs[0];

		diff(&want, &have, NULL, &ops);
		if (ops.n != 2)
			print_error("identity change %d\n", c);
		assert_int_equal(ops.n, 2);
		assert_int_equal(ops.v[0].kind, XL_OP_ADD_DEST);
		assert_ptr_equal(ops.v[0].svc, w);
		assert_true(in_service(w, ops.v[0].dest));
		assert_int_not_equal(xl_dest_cmp(ops.v[0].dest, old), 0);
		expect_op(&ops, 1, XL_OP_DEL_DEST, h, old);
		xl_ops_free(&ops);
		xl_table_free(&want);
		xl_table_free(&have);
	}
}

static void test_dest_adds_and_edits_before_deletes(void **state)
{
	struct xl_table want = {0}, have = {0};
	struct xl_service *w, *h;
	struct xl_ops ops;
	size_t nadd = 0, nedit = 0, ndel = 0, last_write = 0, first_del = ~0UL;

	(void)state;
	/* have: .1 .3 .5 .7; want: .2 .3(edited) .4 .6 .8; .1 .5 .7 go */
	h = tadd(&have, mk_svc("192.168.10.100", IPPROTO_TCP, 80));
	w = tadd(&want, *h);
	for (int i = 1; i <= 8; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.20.0.%d", i);
		if (i % 2 == 1 || i == 3)
			sadd(h, mk_dest(a, 80, IP_VS_CONN_F_MASQ, 1));
		if (i % 2 == 0 || i == 3)
			sadd(w,
			     mk_dest(a, 80, IP_VS_CONN_F_MASQ, i == 3 ? 7 : 1));
	}
	xl_table_sort(&want);
	xl_table_sort(&have);

	diff(&want, &have, NULL, &ops);
	for (size_t i = 0; i < ops.n; i++) {
		assert_ptr_equal(ops.v[i].svc, ops.v[i].kind == XL_OP_DEL_DEST
						   ? &have.svcs[0]
						   : &want.svcs[0]);
		assert_true(in_service(ops.v[i].svc, ops.v[i].dest));
		switch (ops.v[i].kind) {
		case XL_OP_ADD_DEST:
			nadd++;
			last_write = i;
			break;
		case XL_OP_EDIT_DEST:
			nedit++;
			last_write = i;
			assert_int_equal(ops.v[i].dest->weight, 7);
			break;
		case XL_OP_DEL_DEST:
			ndel++;
			if (first_del == ~0UL)
				first_del = i;
			break;
		default:
			fail_msg("unexpected op %s", xl_op_name(ops.v[i].kind));
		}
	}
	assert_int_equal(nadd, 4);
	assert_int_equal(nedit, 1);
	assert_int_equal(ndel, 3);
	assert_true(last_write < first_del);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

static void test_whole_pool_replaced(void **state)
{
	struct xl_table want = {0}, have = {0};
	struct xl_service *w, *h;
	struct xl_ops ops;

	(void)state;
	h = tadd(&have, mk_svc("192.168.10.100", IPPROTO_TCP, 80));
	w = tadd(&want, *h);
	sadd(h, mk_dest("10.20.0.1", 80, IP_VS_CONN_F_MASQ, 1));
	sadd(h, mk_dest("10.20.0.2", 80, IP_VS_CONN_F_MASQ, 1));
	sadd(w, mk_dest("10.30.0.1", 80, IP_VS_CONN_F_MASQ, 1));
	sadd(w, mk_dest("10.30.0.2", 80, IP_VS_CONN_F_MASQ, 1));

	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 4);
	expect_op(&ops, 0, XL_OP_ADD_DEST, w, &w->dests[0]);
	expect_op(&ops, 1, XL_OP_ADD_DEST, w, &w->dests[1]);
	expect_op(&ops, 2, XL_OP_DEL_DEST, h, &h->dests[0]);
	expect_op(&ops, 3, XL_OP_DEL_DEST, h, &h->dests[1]);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- service identity ------------------------------------------------ */

static void test_service_identity_fields(void **state)
{
	(void)state;
	/* 0 af, 1 protocol, 2 addr, 3 port, 4 fwmark instead of addr */
	for (int c = 0; c < 5; c++) {
		struct xl_table want = {0}, have = {0};
		struct xl_reconcile_opts all = {.owns_all = true};
		struct xl_service *w, *h;
		struct xl_ops ops;

		h = tadd(&have, mk_svc("10.0.0.1", IPPROTO_TCP, 80));
		sadd(h, mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1));
		w = tadd(&want, xl_service_key(h));
		sadd(w, h->dests[0]);
		switch (c) {
		case 0:
			w->af = AF_INET6; /* same bytes, other family */
			break;
		case 1:
			w->protocol = IPPROTO_UDP;
			break;
		case 2:
			w->addr.v4.s_addr = htonl(0x0a000002);
			break;
		case 3:
			w->port = 81;
			break;
		case 4:
			w->fwmark = 80;
			break;
		}
		assert_int_not_equal(xl_service_cmp(w, h), 0);
		assert_null(xl_table_find(&have, w));

		/* someone else's: only ours is added */
		diff(&want, &have, NULL, &ops);
		if (ops.n != 2)
			print_error("service identity change %d\n", c);
		assert_int_equal(ops.n, 2);
		expect_op(&ops, 0, XL_OP_ADD_SVC, w, NULL);
		expect_op(&ops, 1, XL_OP_ADD_DEST, w, &w->dests[0]);
		xl_ops_free(&ops);

		/* ours: the old one goes first */
		diff(&want, &have, &all, &ops);
		assert_int_equal(ops.n, 3);
		expect_op(&ops, 0, XL_OP_DEL_SVC, h, NULL);
		expect_op(&ops, 1, XL_OP_ADD_SVC, w, NULL);
		expect_op(&ops, 2, XL_OP_ADD_DEST, w, &w->dests[0]);
		xl_ops_free(&ops);
		xl_table_free(&want);
		xl_table_free(&have);
	}
}

static void test_fwmark_identity_ignores_addr(void **state)
{
	struct xl_table want = {0}, have = {0};
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_service *h;
	struct xl_ops ops;

	(void)state;
	tadd(&want, mk_fwm(AF_INET, 7));
	h = tadd(&have, mk_fwm(AF_INET, 7));
	/* the kernel keeps protocol TCP for fwmark services */
	h->protocol = IPPROTO_TCP;
	h->port = 1;
	h->addr.v4.s_addr = htonl(0x0a000001);
	assert_int_equal(xl_service_cmp(&want.svcs[0], h), 0);
	diff(&want, &have, &all, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);

	/* same mark, other family: two services */
	want.svcs[0].af = AF_INET6;
	diff(&want, &have, &all, &ops);
	assert_int_equal(ops.n, 2);
	expect_op(&ops, 0, XL_OP_DEL_SVC, &have.svcs[0], NULL);
	expect_op(&ops, 1, XL_OP_ADD_SVC, &want.svcs[0], NULL);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- ownership ------------------------------------------------------- */

static void test_foreign_services_left_alone(void **state)
{
	struct xl_table want = {0}, have, prev = {0};
	struct xl_reconcile_opts none = {0};
	struct xl_reconcile_opts other = {.previous = &prev};
	struct xl_ops ops;

	(void)state;
	small_table(&have);
	tadd(&prev, mk_svc("192.168.99.1", IPPROTO_TCP, 80));

	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
	diff(&want, &have, &none, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
	diff(&want, &have, &other, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);
	xl_table_free(&have);
	xl_table_free(&prev);
}

static void test_owns_all_deletes_foreign(void **state)
{
	struct xl_table want = {0}, have;
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_ops ops;

	(void)state;
	small_table(&have);
	diff(&want, &have, &all, &ops);
	/* one delete per service: the kernel drops their dests with them */
	assert_int_equal(ops.n, 2);
	expect_op(&ops, 0, XL_OP_DEL_SVC, &have.svcs[0], NULL);
	expect_op(&ops, 1, XL_OP_DEL_SVC, &have.svcs[1], NULL);
	xl_ops_free(&ops);
	xl_table_free(&have);
}

static void test_previous_services_deleted(void **state)
{
	struct xl_table want = {0}, have, prev = {0};
	struct xl_reconcile_opts opts = {.previous = &prev};
	struct xl_ops ops;

	(void)state;
	small_table(&have);
	/* extlbd put the UDP one there last time; the TCP one is foreign */
	tadd(&prev, mk_svc("2001:db8::1", IPPROTO_UDP, 53));
	diff(&want, &have, &opts, &ops);
	assert_int_equal(ops.n, 1);
	expect_op(&ops, 0, XL_OP_DEL_SVC, &have.svcs[1], NULL);
	assert_int_equal(have.svcs[1].protocol, IPPROTO_UDP);
	xl_ops_free(&ops);
	xl_table_free(&have);
	xl_table_free(&prev);
}

static void test_previous_and_desired_not_deleted(void **state)
{
	struct xl_table want, have, prev;
	struct xl_reconcile_opts opts = {.previous = &prev};
	struct xl_ops ops;

	(void)state;
	small_table(&want);
	copy_of(&have, &want);
	copy_of(&prev, &want);
	diff(&want, &have, &opts, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);

	/* still wanted but changed: edited in place, never deleted */
	want.svcs[1].timeout = 120;
	want.svcs[1].flags = IP_VS_SVC_F_PERSISTENT;
	diff(&want, &have, &opts, &ops);
	assert_int_equal(ops.n, 1);
	expect_op(&ops, 0, XL_OP_EDIT_SVC, &want.svcs[1], NULL);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
	xl_table_free(&prev);
}

static void test_service_deletes_come_first(void **state)
{
	struct xl_table want = {0}, have = {0};
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_service *s;
	struct xl_ops ops;
	size_t ndel = 0;

	(void)state;
	/* wanted services sort before the unwanted ones */
	s = tadd(&want, mk_svc("10.0.0.1", IPPROTO_TCP, 80));
	sadd(s, mk_dest("10.20.0.1", 80, IP_VS_CONN_F_MASQ, 1));
	s = tadd(&want, mk_svc("10.0.0.2", IPPROTO_TCP, 80));
	sadd(s, mk_dest("10.20.0.1", 80, IP_VS_CONN_F_MASQ, 1));
	s = tadd(&have, mk_svc("10.0.0.2", IPPROTO_TCP, 80));
	sadd(s, mk_dest("10.20.0.2", 80, IP_VS_CONN_F_MASQ, 1));
	tadd(&have, mk_svc("10.0.0.9", IPPROTO_TCP, 80));
	tadd(&have, mk_fwm(AF_INET, 1));
	tadd(&have, mk_svc("2001:db8::9", IPPROTO_TCP, 80));
	xl_table_sort(&want);
	xl_table_sort(&have);

	diff(&want, &have, &all, &ops);
	assert_int_equal(ops.n, 3 + 2 + 2);
	for (size_t i = 0; i < ops.n; i++) {
		if (ops.v[i].kind != XL_OP_DEL_SVC)
			continue;
		assert_int_equal(i, ndel);
		assert_true(in_table(&have, ops.v[i].svc));
		assert_null(ops.v[i].dest);
		ndel++;
	}
	assert_int_equal(ndel, 3);
	expect_op(&ops, 3, XL_OP_ADD_SVC, &want.svcs[0], NULL);
	expect_op(&ops, 4, XL_OP_ADD_DEST, &want.svcs[0],
		  &want.svcs[0].dests[0]);
	expect_op(&ops, 5, XL_OP_ADD_DEST, &want.svcs[1],
		  &want.svcs[1].dests[0]);
	expect_op(&ops, 6, XL_OP_DEL_DEST, &have.svcs[0],
		  &have.svcs[0].dests[0]);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- mixed families -------------------------------------------------- */

static void test_mixed_v4_v6(void **state)
{
	struct xl_table want = {0}, have = {0};
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_service *s, k6, k4, kf6, knew;
	const struct xl_service *w6, *h6, *h4, *wf6, *wnew;
	struct xl_ops ops;

	(void)state;
	k6 = mk_svc("2001:db8::1", IPPROTO_TCP, 80);
	k4 = mk_svc("10.0.0.1", IPPROTO_TCP, 80);
	kf6 = mk_fwm(AF_INET6, 3);
	knew = mk_svc("10.0.0.2", IPPROTO_UDP, 53);

	/* have: an inet6 service that also tunnels to an inet real server,
	 * the same the other way round, and fwmark 3 in both families */
	s = tadd(&have, k6);
	sadd(s, mk_dest("2001:db8::5", 80, IP_VS_CONN_F_MASQ, 1));
	sadd(s, mk_dest("10.20.0.5", 80, IP_VS_CONN_F_TUNNEL, 1));
	s = tadd(&have, k4);
	sadd(s, mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1));
	sadd(s, mk_dest("2001:db8::5", 80, IP_VS_CONN_F_TUNNEL, 1));
	tadd(&have, kf6);
	tadd(&have, mk_fwm(AF_INET, 3));

	/* want: the inet6 service without its inet real server, no inet
	 * TCP service, another scheduler on inet6 fwmark 3, a new inet one */
	s = tadd(&want, kf6);
	strcpy(s->sched, "sh");
	s = tadd(&want, k6);
	sadd(s, mk_dest("2001:db8::5", 80, IP_VS_CONN_F_MASQ, 1));
	tadd(&want, mk_fwm(AF_INET, 3));
	s = tadd(&want, knew);
	sadd(s, mk_dest("10.20.0.9", 53, IP_VS_CONN_F_DROUTE, 1));
	xl_table_sort(&want);
	xl_table_sort(&have);

	w6 = xl_table_find(&want, &k6);
	h6 = xl_table_find(&have, &k6);
	h4 = xl_table_find(&have, &k4);
	wf6 = xl_table_find(&want, &kf6);
	wnew = xl_table_find(&want, &knew);
	assert_non_null(w6);
	assert_non_null(h6);
	assert_non_null(h4);
	assert_non_null(wf6);
	assert_non_null(wnew);
	assert_null(xl_table_find(&want, &k4));

	diff(&want, &have, &all, &ops);
	/* inet sorts before inet6; address services before fwmark ones */
	assert_int_equal(ops.n, 5);
	expect_op(&ops, 0, XL_OP_DEL_SVC, h4, NULL);
	expect_op(&ops, 1, XL_OP_ADD_SVC, wnew, NULL);
	expect_op(&ops, 2, XL_OP_ADD_DEST, wnew, &wnew->dests[0]);
	assert_int_equal(ops.v[3].kind, XL_OP_DEL_DEST);
	assert_ptr_equal(ops.v[3].svc, h6);
	assert_true(in_service(h6, ops.v[3].dest));
	assert_int_equal(ops.v[3].dest->af, AF_INET);
	assert_int_equal(ops.v[3].dest->addr.v4.s_addr, htonl(0x0a140005));
	expect_op(&ops, 4, XL_OP_EDIT_SVC, wf6, NULL);
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- a large table --------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void shuffle(void *base, size_t n, size_t size)
{
	unsigned char tmp[sizeof(struct xl_service) > sizeof(struct xl_dest)
			      ? sizeof(struct xl_service)
			      : sizeof(struct xl_dest)];
	unsigned char *b = base;

	for (size_t i = n; i > 1; i--) {
		size_t j = rng() % i;

		memcpy(tmp, b + (i - 1) * size, size);
		memmove(b + (i - 1) * size, b + j * size, size);
		memcpy(b + j * size, tmp, size);
	}
}

static void shuffle_table(struct xl_table *t)
{
	shuffle(t->svcs, t->nsvcs, sizeof(*t->svcs));
	for (size_t i = 0; i < t->nsvcs; i++)
		shuffle(t->svcs[i].dests, t->svcs[i].ndests,
			sizeof(struct xl_dest));
}

#define BIG_SVCS 2000
#define BIG_DESTS 10

static void test_large_table_three_changes(void **state)
{
	struct xl_table want = {0}, have;
	struct xl_reconcile_opts all = {.owns_all = true};
	struct xl_service ka, kb, kc, *s;
	struct xl_dest gone;
	struct xl_ops ops;

	(void)state;
	for (uint32_t i = 0; i < BIG_SVCS; i++) {
		struct xl_service sv;

		if (i % 4 == 3) {
			char a[64];

			snprintf(a, sizeof(a), "2001:db8::%x", i);
			sv = mk_svc(a, IPPROTO_TCP, 443);
		} else {
			sv =
			    mk_svc("0.0.0.0", i % 2 ? IPPROTO_UDP : IPPROTO_TCP,
				   (uint16_t)(80 + i % 3));
			sv.addr.v4.s_addr = htonl(0x0a000000 + i);
		}
		s = tadd(&want, sv);
		for (uint32_t k = 0; k < BIG_DESTS; k++) {
			struct xl_dest d =
			    mk_dest("0.0.0.0", 8080, IP_VS_CONN_F_MASQ, 1);

			d.addr.v4.s_addr =
			    htonl(0xac100000 + i * BIG_DESTS + k);
			sadd(s, d);
		}
	}
	assert_int_equal(xl_table_objects(&want), BIG_SVCS * (1 + BIG_DESTS));
	shuffle_table(&want);
	copy_of(&have, &want);
	shuffle_table(&have);
	xl_table_sort(&want);
	xl_table_sort(&have);
	for (size_t i = 1; i < want.nsvcs; i++)
		assert_true(xl_service_cmp(&want.svcs[i - 1], &want.svcs[i]) <
			    0);

	diff(&want, &have, &all, &ops);
	assert_int_equal(ops.n, 0);
	xl_ops_free(&ops);

	/* 1: the scheduler of UDP 10.0.0.17:82, 2: a weight in
	 * TCP 10.0.4.210:81, 3: a real server dropped from [2001:db8::7cf] */
	ka = mk_svc("10.0.0.17", IPPROTO_UDP, 82);
	kb = mk_svc("10.0.4.210", IPPROTO_TCP, 81);
	kc = mk_svc("2001:db8::7cf", IPPROTO_TCP, 443);
	s = tget(&want, &ka);
	strcpy(s->sched, "rr");
	s = tget(&want, &kb);
	s->dests[3].weight = 50;
	gone = tget(&have, &kc)->dests[0];
	s = tget(&want, &kc);
	assert_int_equal(xl_dest_cmp(&s->dests[0], &gone), 0);
	memmove(&s->dests[0], &s->dests[1], 9 * sizeof(*s->dests));
	s->ndests = 9;

	diff(&want, &have, &all, &ops);
	/* in table order: TCP before UDP, inet before inet6 */
	assert_int_equal(ops.n, 3);
	s = tget(&want, &kb);
	expect_op(&ops, 0, XL_OP_EDIT_DEST, s, &s->dests[3]);
	assert_int_equal(ops.v[0].dest->weight, 50);
	expect_op(&ops, 1, XL_OP_EDIT_SVC, xl_table_find(&want, &ka), NULL);
	assert_string_equal(ops.v[1].svc->sched, "rr");
	s = tget(&have, &kc);
	expect_op(&ops, 2, XL_OP_DEL_DEST, s, &s->dests[0]);
	assert_int_equal(ops.v[2].dest->addr.v4.s_addr,
			 htonl(0xac100000 + 0x7cf * BIG_DESTS));
	xl_ops_free(&ops);
	xl_table_free(&want);
	xl_table_free(&have);
}

/* ---- op text --------------------------------------------------------- */

static void expect_text(const struct xl_op *op, const char *text)
{
	char buf[256];

	assert_string_equal(xl_op_format(op, buf, sizeof(buf)), text);
}

static void test_op_format_every_kind(void **state)
{
	struct xl_service tcp = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_service udp6 = mk_svc("2001:db8::1", IPPROTO_UDP, 53);
	struct xl_service sctp6 = mk_svc("2001:db8::1", IPPROTO_SCTP, 3868);
	struct xl_service fwm6 = mk_fwm(AF_INET6, 7);
	struct xl_service fwm4 = mk_fwm(AF_INET, 7);
	struct xl_dest nat = mk_dest("10.20.0.5", 80, IP_VS_CONN_F_MASQ, 1);
	struct xl_dest dr = mk_dest("10.20.0.6", 0, IP_VS_CONN_F_DROUTE, 0);
	struct xl_dest tun6 =
	    mk_dest("2001:db8::9", 8000, IP_VS_CONN_F_TUNNEL, 100);
	struct xl_dest v6 = mk_dest("2001:db8::5", 3868, IP_VS_CONN_F_MASQ, 2);

	(void)state;
	udp6.flags = IP_VS_SVC_F_PERSISTENT;
	udp6.timeout = 300;
	strcpy(udp6.sched, "sh");

	expect_text(&(struct xl_op){XL_OP_ADD_SVC, &tcp, NULL},
		    "add-service TCP 192.168.10.100:8000 (wlc, timeout 0)");
	expect_text(&(struct xl_op){XL_OP_EDIT_SVC, &udp6, NULL},
		    "edit-service UDP [2001:db8::1]:53 "
		    "(sh, persistent, timeout 300)");
	expect_text(&(struct xl_op){XL_OP_DEL_SVC, &fwm6, NULL},
		    "delete-service FWM 7 (inet6)");
	expect_text(&(struct xl_op){XL_OP_DEL_SVC, &sctp6, NULL},
		    "delete-service SCTP [2001:db8::1]:3868");
	expect_text(&(struct xl_op){XL_OP_ADD_DEST, &tcp, &nat},
		    "add-server TCP 192.168.10.100:8000 -> 10.20.0.5:80 "
		    "(nat, weight 1)");
	expect_text(&(struct xl_op){XL_OP_ADD_DEST, &tcp, &tun6},
		    "add-server TCP 192.168.10.100:8000 -> [2001:db8::9]:8000 "
		    "(tun, weight 100)");
	expect_text(&(struct xl_op){XL_OP_EDIT_DEST, &fwm4, &dr},
		    "edit-server FWM 7 (inet) -> 10.20.0.6:0 (dr, weight 0)");
	expect_text(&(struct xl_op){XL_OP_DEL_DEST, &sctp6, &v6},
		    "delete-server SCTP [2001:db8::1]:3868 -> "
		    "[2001:db8::5]:3868");
}

static void test_op_format_from_reconcile(void **state)
{
	struct xl_table want, have = {0};
	struct xl_ops ops;
	char buf[128];

	(void)state;
	small_table(&want);
	diff(&want, &have, NULL, &ops);
	assert_int_equal(ops.n, 5);
	assert_string_equal(xl_op_format(&ops.v[1], buf, sizeof(buf)),
			    "add-server TCP 192.168.10.100:8000 -> "
			    "10.20.0.5:80 (nat, weight 1)");
	assert_string_equal(xl_op_format(&ops.v[4], buf, sizeof(buf)),
			    "add-server UDP [2001:db8::1]:53 -> "
			    "[2001:db8::5]:53 (dr, weight 3)");
	/* a short buffer is cut, never overrun */
	memset(buf, 'x', sizeof(buf));
	xl_op_format(&ops.v[1], buf, 12);
	assert_string_equal(buf, "add-server ");
	assert_int_equal(buf[12], 'x');
	xl_ops_free(&ops);
	xl_table_free(&want);
}

/* ---- model helpers --------------------------------------------------- */

static void test_addr_parse_format(void **state)
{
	union xl_inaddr a;
	uint16_t af = 0;
	char buf[XL_ADDRSTR_MAX];
	static const uint8_t zero[12];
	static const char *const bad[] = {
	    "",	     "10.0.0.256",   "10.0.0",	 "hello", "10.0.0.1:80",
	    "[::1]", "2001:db8:::1", " 10.0.0.1"};

	(void)state;
	memset(&a, 0xab, sizeof(a));
	assert_int_equal(xl_addr_parse("10.20.0.5", &af, &a), 0);
	assert_int_equal(af, AF_INET);
	assert_int_equal(a.v4.s_addr, htonl(0x0a140005));
	/* the rest is zero, so identity and the 16-byte netlink copy agree */
	assert_memory_equal(a.b + 4, zero, 12);
	assert_string_equal(xl_addr_format(af, &a, buf, sizeof(buf)),
			    "10.20.0.5");

	assert_int_equal(xl_addr_parse("2001:DB8:0:0::5", &af, &a), 0);
	assert_int_equal(af, AF_INET6);
	assert_int_equal(a.b[0], 0x20);
	assert_int_equal(a.b[1], 0x01);
	assert_int_equal(a.b[15], 0x05);
	assert_string_equal(xl_addr_format(af, &a, buf, sizeof(buf)),
			    "2001:db8::5");

	assert_int_equal(xl_addr_parse("::ffff:10.0.0.1", &af, &a), 0);
	assert_int_equal(af, AF_INET6);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (xl_addr_parse(bad[i], &af, &a) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
}

static void test_service_and_dest_format(void **state)
{
	struct xl_service s = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	struct xl_service s6 = mk_svc("2001:db8::1", IPPROTO_UDP, 53);
	struct xl_service f4 = mk_fwm(AF_INET, 7);
	struct xl_service f6 = mk_fwm(AF_INET6, 4000000000U);
	struct xl_dest d6 = mk_dest("2001:db8::5", 80, IP_VS_CONN_F_MASQ, 1);
	char buf[128];

	(void)state;
	assert_string_equal(xl_service_format(&s, buf, sizeof(buf)),
			    "TCP 192.168.10.100:8000");
	assert_string_equal(xl_service_format(&s6, buf, sizeof(buf)),
			    "UDP [2001:db8::1]:53");
	assert_string_equal(xl_service_format(&f4, buf, sizeof(buf)),
			    "FWM 7 (inet)");
	assert_string_equal(xl_service_format(&f6, buf, sizeof(buf)),
			    "FWM 4000000000 (inet6)");
	assert_string_equal(xl_dest_format(&d6, buf, sizeof(buf)),
			    "[2001:db8::5]:80");
	s.port = 65535;
	assert_string_equal(xl_service_format(&s, buf, sizeof(buf)),
			    "TCP 192.168.10.100:65535");
	assert_string_equal(xl_fwd_name(IP_VS_CONN_F_MASQ), "nat");
	assert_string_equal(xl_fwd_name(IP_VS_CONN_F_DROUTE), "dr");
	assert_string_equal(xl_fwd_name(IP_VS_CONN_F_TUNNEL), "tun");
}

static void test_table_find(void **state)
{
	struct xl_table t, empty = {0};
	struct xl_service key;

	(void)state;
	small_table(&t);
	tadd(&t, mk_fwm(AF_INET, 7));
	xl_table_sort(&t);

	key = mk_svc("2001:db8::1", IPPROTO_UDP, 53);
	strcpy(key.sched, "other"); /* attributes are not identity */
	key.timeout = 99;
	/* inet before inet6, fwmark after the address services */
	assert_ptr_equal(xl_table_find(&t, &key), &t.svcs[2]);
	key = mk_svc("192.168.10.100", IPPROTO_TCP, 8000);
	assert_ptr_equal(xl_table_find(&t, &key), &t.svcs[0]);
	assert_int_equal(xl_table_find(&t, &key)->ndests, 2);
	key = mk_fwm(AF_INET, 7);
	assert_ptr_equal(xl_table_find(&t, &key), &t.svcs[1]);

	key = mk_svc("192.168.10.100", IPPROTO_UDP, 8000);
	assert_null(xl_table_find(&t, &key));
	key = mk_svc("192.168.10.100", IPPROTO_TCP, 8001);
	assert_null(xl_table_find(&t, &key));
	key = mk_fwm(AF_INET6, 7);
	assert_null(xl_table_find(&t, &key));
	assert_null(xl_table_find(&empty, &key));
	assert_null(xl_table_find(NULL, &key));
	xl_table_free(&t);
}

static void test_table_copy_is_deep(void **state)
{
	struct xl_table t, c, e = {0}, ec;

	(void)state;
	small_table(&t);
	copy_of(&c, &t);
	assert_int_equal(c.nsvcs, t.nsvcs);
	assert_int_equal(xl_table_objects(&c), 5);
	for (size_t i = 0; i < t.nsvcs; i++) {
		assert_ptr_not_equal(c.svcs[i].dests, t.svcs[i].dests);
		assert_int_equal(c.svcs[i].ndests, t.svcs[i].ndests);
		assert_int_equal(xl_service_cmp(&c.svcs[i], &t.svcs[i]), 0);
		assert_true(xl_service_attrs_equal(&c.svcs[i], &t.svcs[i]));
		assert_memory_equal(c.svcs[i].dests, t.svcs[i].dests,
				    t.svcs[i].ndests * sizeof(struct xl_dest));
	}
	c.svcs[0].dests[0].weight = 42;
	assert_int_equal(t.svcs[0].dests[0].weight, 1);
	xl_table_free(&t);
	assert_null(t.svcs);
	assert_int_equal(t.nsvcs, 0);
	/* the copy outlives its source */
	assert_int_equal(c.svcs[1].dests[0].port, 53);
	xl_table_free(&c);
	xl_table_free(&c); /* freeing twice is harmless */

	copy_of(&ec, &e);
	assert_int_equal(ec.nsvcs, 0);
	xl_table_free(&ec);
}

/* ---- xl_table_patch: the kernel's memory after a run over a few keys --- */

#define PATCH_N 40

static struct xl_service patch_svc(size_t i, size_t ndests, int32_t weight)
{
	char ip[32];
	struct xl_service s;

	snprintf(ip, sizeof(ip), "10.0.%zu.%zu", i / 200, i % 200 + 1);
	s = mk_svc(ip, IPPROTO_TCP, 80);
	s.ndests = ndests;
	s.dests = ndests ? calloc(ndests, sizeof(*s.dests)) : NULL;
	for (size_t j = 0; j < ndests; j++) {
		snprintf(ip, sizeof(ip), "10.9.%zu.%zu", i, j + 1);
		s.dests[j] = mk_dest(ip, 80, 0, weight);
	}
	return s;
}

/* t holds service i when bit i of mask is set; weights tell t and src
 * apart */
static void patch_table(struct xl_table *t, uint64_t mask, int32_t weight)
{
	t->svcs = calloc(PATCH_N, sizeof(*t->svcs));
	t->nsvcs = 0;
	for (size_t i = 0; i < PATCH_N; i++)
		if (mask >> i & 1)
			t->svcs[t->nsvcs++] = patch_svc(i, i % 3 + 1, weight);
	xl_table_sort(t);
}

/*
 * Every key's entry becomes src's (or goes), every other entry stays t's,
 * the result stays sorted: for random tables and key sets, deep and not,
 * in place (no entry added or removed) and by merge.
 */
static void test_table_patch(void **state)
{
	uint64_t rng = 88172645463325252ULL;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct xl_table t, orig, src;
		struct xl_service keys[PATCH_N + 4];
		uint64_t tm, sm, km;
		size_t nk = 0;
		bool deep = round & 1;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		tm = rng & ((1ULL << PATCH_N) - 1);
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		/* a quarter of the rounds: src and t hold the same services */
		sm = round % 4 == 0 ? tm : rng & ((1ULL << PATCH_N) - 1);
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		km = rng & ((1ULL << PATCH_N) - 1);
		patch_table(&t, tm, 1);
		patch_table(&orig, tm, 1);
		patch_table(&src, sm, 7);
		for (size_t i = PATCH_N; i-- > 0;) /* unsorted, one repeat */
			if (km >> i & 1)
				keys[nk++] = patch_svc(i, 0, 0);
		if (nk)
			keys[nk] = keys[0], nk++;
		nk = xl_keys_unique(keys, nk);
		assert_int_equal(nk, (size_t)__builtin_popcountll(km));

		assert_int_equal(xl_table_patch(&t, &src, keys, nk, deep), 0);
		for (size_t i = 1; i < t.nsvcs; i++)
			assert_true(xl_service_cmp(&t.svcs[i - 1], &t.svcs[i]) <
				    0);
		for (size_t i = 0; i < PATCH_N; i++) {
			struct xl_service k = patch_svc(i, 0, 0);
			const struct xl_service *got = xl_table_find(&t, &k);
			bool keyed = km >> i & 1;
			const struct xl_table *from = keyed ? &src : &orig;
			const struct xl_service *want = xl_table_find(from, &k);

			if (!want) {
				assert_null(got);
				continue;
			}
			assert_non_null(got);
			if (keyed && !deep) {
				assert_int_equal(got->ndests, 0);
				continue;
			}
			assert_int_equal(got->ndests, want->ndests);
			for (size_t j = 0; j < got->ndests; j++)
				assert_int_equal(got->dests[j].weight,
						 want->dests[j].weight);
			if (keyed)
				assert_ptr_not_equal(got->dests, want->dests);
		}
		xl_table_free(&t);
		xl_table_free(&orig);
		xl_table_free(&src);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_tables_no_ops),
	    cmocka_unit_test(test_identical_tables_no_ops),
	    cmocka_unit_test(test_ops_are_appended),
	    cmocka_unit_test(test_new_service_added_with_its_dests),
	    cmocka_unit_test(test_new_service_among_existing),
	    cmocka_unit_test(test_each_service_attr_one_edit),
	    cmocka_unit_test(test_hashed_flag_alone_no_edit),
	    cmocka_unit_test(test_service_edit_then_dest_ops),
	    cmocka_unit_test(test_each_dest_attr_one_edit),
	    cmocka_unit_test(test_conn_counters_alone_no_edit),
	    cmocka_unit_test(test_dest_identity_change_add_then_delete),
	    cmocka_unit_test(test_dest_adds_and_edits_before_deletes),
	    cmocka_unit_test(test_whole_pool_replaced),
	    cmocka_unit_test(test_service_identity_fields),
	    cmocka_unit_test(test_fwmark_identity_ignores_addr),
	    cmocka_unit_test(test_foreign_services_left_alone),
	    cmocka_unit_test(test_owns_all_deletes_foreign),
	    cmocka_unit_test(test_previous_services_deleted),
	    cmocka_unit_test(test_previous_and_desired_not_deleted),
	    cmocka_unit_test(test_service_deletes_come_first),
	    cmocka_unit_test(test_mixed_v4_v6),
	    cmocka_unit_test(test_large_table_three_changes),
	    cmocka_unit_test(test_op_format_every_kind),
	    cmocka_unit_test(test_op_format_from_reconcile),
	    cmocka_unit_test(test_addr_parse_format),
	    cmocka_unit_test(test_service_and_dest_format),
	    cmocka_unit_test(test_table_find),
	    cmocka_unit_test(test_table_copy_is_deep),
	    cmocka_unit_test(test_table_patch),
	};

	return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
