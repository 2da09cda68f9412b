/*
 * test_sync.c - the desired table and the sync engine against a kernel
 * made of memory.
 *
 * The fake kernel (kernel.h) holds an xl_table, applies ops to it as IPVS
 * would (an op on a service it lacks fails with ESRCH, a second add with
 * EEXIST), refuses the ops it is told to with the errno it is told, and
 * can be changed behind the engine's back.  Each test drives the daemon's
 * path (configuration, health, drains into the desired table; then a run
 * of the sync engine) and checks what a user would see: the ops the kernel
 * was sent, in order, and the table it ends up holding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conftext.h"
#include "desired.h"
#include "drain.h"
#include "logcap.h"
#include "sync.h"

/* ---- the fake kernel --------------------------------------------------- */

struct fake {
	struct xl_table t; /* what it holds, sorted */
	char **log;	   /* every op it was sent, as xl_op_format says */
	size_t nlog, cap;
	/* refuses ops of this kind on the service at this port, when err */
	enum xl_op_kind refuse_kind;
	uint16_t refuse_port;
	int refuse_err;
};

static struct xl_service *fk_find(struct fake *f, const struct xl_service *s)
{
	return (struct xl_service *)xl_table_find(&f->t, s);
}

static struct xl_dest *fk_dest(struct xl_service *s, const struct xl_dest *d)
{
	for (size_t i = 0; i < s->ndests; i++)
		if (!xl_dest_cmp(&s->dests[i], d))
			return &s->dests[i];
	return NULL;
}

static int fk_service_op(struct fake *f, const struct xl_op *op)
{
	struct xl_service *e = fk_find(f, op->svc);
	struct xl_service key = xl_service_key(op->svc);

	switch (op->kind) {
	case XL_OP_ADD_SVC:
		if (e)
			return EEXIST;
		f->t.svcs = realloc(f->t.svcs, (f->t.nsvcs + 1) * sizeof(key));
		assert_non_null(f->t.svcs);
		f->t.svcs[f->t.nsvcs++] = key;
		xl_table_sort(&f->t);
		return 0;
	case XL_OP_EDIT_SVC:
		if (!e)
			return ESRCH;
		key.dests = e->dests;
		key.ndests = e->ndests;
		*e = key;
		return 0;
	default:
		if (!e)
			return ESRCH;
		xl_service_free(e);
		memmove(e, e + 1,
			(size_t)(f->t.svcs + f->t.nsvcs - (e + 1)) *
			    sizeof(*e));
		f->t.nsvcs--;
		return 0;
	}
}

static int fk_dest_op(struct fake *f, const struct xl_op *op)
{
	struct xl_service *e = fk_find(f, op->svc);
	struct xl_dest *d;

	if (!e)
		return ESRCH;
	d = fk_dest(e, op->dest);
	switch (op->kind) {
	case XL_OP_ADD_DEST:
		if (d)
			return EEXIST;
		e->dests = realloc(e->dests, (e->ndests + 1) * sizeof(*d));
		assert_non_null(e->dests);
		e->dests[e->ndests++] = *op->dest;
		xl_service_sort_dests(e);
		return 0;
	case XL_OP_EDIT_DEST:
		if (!d)
			return ENOENT;
		*d = *op->dest;
		return 0;
	default:
		if (!d)
			return ENOENT;
		*d = e->dests[--e->ndests];
		xl_service_sort_dests(e);
		return 0;
	}
}

static void fk_log(struct fake *f, const struct xl_op *op)
{
	char buf[256];

	assert_int_equal(XL_GROW(f->log, f->cap, f->nlog + 1, 16), 0);
	f->log[f->nlog] = strdup(xl_op_format(op, buf, sizeof(buf)));
	assert_non_null(f->log[f->nlog++]);
}

static void fk_log_clear(struct fake *f)
{
	while (f->nlog)
		free(f->log[--f->nlog]);
}

static long fk_apply(void *k, const struct xl_op *ops, size_t n,
		     xl_op_err_fn fn, void *arg)
{
	struct fake *f = k;
	long failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct xl_op *op = &ops[i];
		int err;

		fk_log(f, op);
		if (f->refuse_err && op->kind == f->refuse_kind &&
		    op->svc->port == f->refuse_port)
			err = f->refuse_err;
		else if (op->kind <= XL_OP_DEL_SVC)
			err = fk_service_op(f, op);
		else
			err = fk_dest_op(f, op);
		if (err) {
			fn(op, err, arg);
			failed++;
		}
	}
	return failed;
}

static int fk_dump(void *k, struct xl_table *out)
{
	return xl_table_copy(out, &((struct fake *)k)->t);
}

static int fk_get_service(void *k, const struct xl_service *key,
			  struct xl_service *out)
{
	struct xl_service *e = fk_find(k, key);

	return e ? xl_service_copy(out, e) : -ESRCH;
}

static const char *fk_strerror(void *k, const struct xl_op *op, int err)
{
	(void)k;
	(void)op;
	return strerror(err);
}

static const struct xl_kernel_ops fake_ops = {
    .dump = fk_dump,
    .get_service = fk_get_service,
    .apply = fk_apply,
    .strerror = fk_strerror,
};

/* ---- the daemon's path, without the daemon ------------------------------ */

struct world {
	struct fake k;
	struct xl_sync *sync;
	struct xl_config *cfg;
	struct xl_drain drain;
	struct xl_desired want;
	/* the one server health says is down: service port, server index */
	uint16_t down_port;
	size_t down_rs;
};

static bool w_is_up(const void *arg, size_t vs, size_t rs)
{
	const struct world *w = arg;

	return !(w->down_port && w->cfg->vs[vs].svc.port == w->down_port &&
		 rs == w->down_rs);
}

/* Start-up: the configuration loaded, the whole table applied. */
static struct world *w_start(const char *text)
{
	struct world *w = calloc(1, sizeof(*w));
	struct xl_sync_result r;

	assert_non_null(w);
	w->sync = xl_sync_new(&fake_ops, &w->k);
	assert_non_null(w->sync);
	w->cfg = ct_load(text);
	w->want = (struct xl_desired){
	    .cfg = w->cfg, .is_up = w_is_up, .up_arg = w, .drain = &w->drain};
	assert_int_equal(xl_desired_rebuild(&w->want), 0);
	assert_int_equal(xl_sync_run(w->sync, &w->want.table, false, 0, &r), 0);
	assert_int_equal(r.failed, 0);
	fk_log_clear(&w->k);
	return w;
}

static void w_free(struct world *w)
{
	fk_log_clear(&w->k);
	free(w->k.log);
	xl_table_free(&w->k.t);
	xl_desired_free(&w->want);
	xl_drain_free(&w->drain);
	xl_sync_free(w->sync);
	xl_config_free(w->cfg);
	free(w);
}

/* The services k names reconciled alone, as extlbd does after a change. */
static void w_run_keys(struct world *w, const struct xl_keys *k)
{
	struct xl_sync_result r;

	assert_int_equal(
	    xl_sync_run_keys(w->sync, &w->want.table, k->v, k->n, false, 0, &r),
	    0);
}

/* A reload to text at time now, as reload.c makes it. */
static void w_reload(struct world *w, const char *text, double now)
{
	struct xl_config *cfg = ct_reload(text, w->cfg);
	struct xl_keys k = {0};

	assert_int_equal(xl_desired_drain_keys(&w->want, &k), 0);
	assert_int_equal(xl_drain_update(&w->drain, w->cfg, cfg, now), 0);
	xl_config_free(w->cfg);
	w->cfg = cfg;
	assert_int_equal(xl_desired_reload(&w->want, cfg, &k), 0);
	w_run_keys(w, &k);
	xl_keys_free(&k);
}

/* Health says server rs of the service at port is down (port 0: none). */
static void w_health(struct world *w, uint16_t port, size_t rs)
{
	const struct xl_service *changed = NULL;
	struct xl_keys k = {0};

	for (size_t v = 0; v < w->cfg->nvs; v++)
		if (w->cfg->vs[v].svc.port == (port ? port : w->down_port))
			changed = &w->cfg->vs[v].svc;
	assert_non_null(changed);
	w->down_port = port;
	w->down_rs = rs;
	assert_int_equal(xl_keys_push(&k, changed), 0);
	assert_int_equal(xl_desired_refresh(&w->want, k.v, k.n), 0);
	w_run_keys(w, &k);
	xl_keys_free(&k);
}

/* The ops the kernel was sent since the last call are exactly these. */
static void expect_ops(struct world *w, const char *const *want, size_t n)
{
	for (size_t i = 0; i < w->k.nlog; i++)
		print_message("  sent: %s\n", w->k.log[i]);
	assert_int_equal(w->k.nlog, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(w->k.log[i], want[i]);
	fk_log_clear(&w->k);
}

#define EXPECT_OPS(w, ...)                                                     \
	do {                                                                   \
		static const char *const ops_[] = {__VA_ARGS__};               \
		expect_ops(w, ops_, XL_ARRAY_SIZE(ops_));                      \
	} while (0)

static void expect_no_ops(struct world *w)
{
	expect_ops(w, NULL, 0);
}

/* The kernel holds the desired table, plus foreign services (ours own
 * none of them). */
static void expect_kernel_holds_desired(struct world *w, size_t foreign)
{
	const struct xl_table *want = &w->want.table;

	assert_int_equal(w->k.t.nsvcs, want->nsvcs + foreign);
	for (size_t i = 0; i < want->nsvcs; i++) {
		const struct xl_service *d = &want->svcs[i];
		const struct xl_service *h = xl_table_find(&w->k.t, d);

		assert_non_null(h);
		assert_true(xl_service_attrs_equal(d, h));
		assert_int_equal(h->ndests, d->ndests);
		for (size_t j = 0; j < d->ndests; j++) {
			assert_int_equal(
			    xl_dest_cmp(&h->dests[j], &d->dests[j]), 0);
			assert_true(
			    xl_dest_attrs_equal(&h->dests[j], &d->dests[j]));
		}
	}
}

/* ---- configurations ----------------------------------------------------- */

#define SVC(port, extra, reals)                                                \
	"{ name = \"s" #port "\"; vip = \"192.0.2.1\"; port = " #port ";"      \
	" protocol = \"tcp\"; drain_timeout = 30; " extra                      \
	" check = { type = \"none\"; }; real_servers = ( " reals " ); }"
#define RS(a) "{ address = \"" a "\"; port = 80; }"
#define RSW(a, w) "{ address = \"" a "\"; port = 80; weight = " #w "; }"
#define CONF(...) "virtual_services = ( " __VA_ARGS__ " );"

#define S80 SVC(80, "", RS("10.0.0.1") "," RS("10.0.0.2"))
#define S81 SVC(81, "", RS("10.0.0.1"))
#define S81_W3 SVC(81, "", RSW("10.0.0.1", 3))
#define S82 SVC(82, "", RS("10.0.0.1"))
#define S83 SVC(83, "", RS("10.0.0.1"))

/* ---- tests -------------------------------------------------------------- */

/* A reload sends ops for the services it changed, and none for the rest. */
static void test_reload_touches_changed_services_only(void **state)
{
	static const char *const before = CONF(S80 "," S81 "," S82);
	static const char *const after = CONF(S80 "," S81_W3 "," S83);
	struct world *w = w_start(before);

	(void)state;
	w_reload(w, after, 10.0);
	EXPECT_OPS(
	    w, "delete-service TCP 192.0.2.1:82",
	    "edit-server TCP 192.0.2.1:81 -> 10.0.0.1:80 (nat, weight 3)",
	    "add-service TCP 192.0.2.1:83 (wlc, timeout 0)",
	    "add-server TCP 192.0.2.1:83 -> 10.0.0.1:80 (nat, weight 1)");
	expect_kernel_holds_desired(w, 0);
	/* the same file again changes nothing */
	w_reload(w, after, 20.0);
	expect_no_ops(w);
	w_free(w);
}

/* A server going down is deleted, or set to weight 0 when its service
 * inhibits on failure; coming back, it is added again. */
static void test_health_change_sends_its_server_only(void **state)
{
	struct world *w =
	    w_start(CONF(S80 "," SVC(81, "inhibit_on_failure = true;",
				     RS("10.0.0.1") "," RS("10.0.0.2"))));

	(void)state;
	w_health(w, 80, 1);
	EXPECT_OPS(w, "delete-server TCP 192.0.2.1:80 -> 10.0.0.2:80");
	expect_kernel_holds_desired(w, 0);
	w_health(w, 0, 0);
	EXPECT_OPS(
	    w, "add-server TCP 192.0.2.1:80 -> 10.0.0.2:80 (nat, weight 1)");
	w_health(w, 81, 0);
	EXPECT_OPS(
	    w, "edit-server TCP 192.0.2.1:81 -> 10.0.0.1:80 (nat, weight 0)");
	expect_kernel_holds_desired(w, 0);
	w_free(w);
}

static long no_conns(void *arg, const struct xl_drain_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

/* A removed server drains at weight 0 and is deleted when it is over. */
static void test_drain_then_delete(void **state)
{
	struct world *w = w_start(CONF(S80 "," S81));
	struct xl_keys k = {0};

	(void)state;
	w_reload(w, CONF(SVC(80, "", RS("10.0.0.1")) "," S81), 10.0);
	EXPECT_OPS(
	    w, "edit-server TCP 192.0.2.1:80 -> 10.0.0.2:80 (nat, weight 0)");
	expect_kernel_holds_desired(w, 0);
	/* as extlbd's drain timer: the keys first, then the drains end */
	assert_int_equal(xl_desired_drain_keys(&w->want, &k), 0);
	assert_int_equal(xl_drain_expire(&w->drain, 11.0, no_conns, NULL), 1);
	assert_int_equal(xl_desired_refresh(&w->want, k.v, k.n), 0);
	w_run_keys(w, &k);
	xl_keys_free(&k);
	EXPECT_OPS(w, "delete-server TCP 192.0.2.1:80 -> 10.0.0.2:80");
	expect_kernel_holds_desired(w, 0);
	w_free(w);
}

/* An op the kernel refuses leaves its service pending; a retry once the
 * kernel accepts it puts the service right and empties pending. */
static void test_refused_op_is_retried(void **state)
{
	struct world *w = w_start(CONF(S80));
	struct xl_sync_result r;
	const struct xl_keys *p;

	(void)state;
	w->k.refuse_kind = XL_OP_ADD_SVC;
	w->k.refuse_port = 81;
	w->k.refuse_err = ENOENT; /* as for a scheduler without a module */
	w_reload(w, CONF(S80 "," S81), 10.0);
	EXPECT_OPS(
	    w, "add-service TCP 192.0.2.1:81 (wlc, timeout 0)",
	    "add-server TCP 192.0.2.1:81 -> 10.0.0.1:80 (nat, weight 1)");
	p = xl_sync_pending(w->sync);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->v[0].port, 81);
	assert_int_equal(w->k.t.nsvcs, 1);

	/* still refused: the retry tries again and it stays pending */
	assert_int_equal(xl_sync_check_keys(w->sync, &w->want.table, p->v, p->n,
					    false, 0, &r),
			 0);
	assert_int_equal(r.failed, 2);
	fk_log_clear(&w->k);
	assert_int_equal(xl_sync_pending(w->sync)->n, 1);

	w->k.refuse_err = 0;
	p = xl_sync_pending(w->sync);
	assert_int_equal(xl_sync_check_keys(w->sync, &w->want.table, p->v, p->n,
					    false, 0, &r),
			 0);
	assert_int_equal(r.failed, 0);
	EXPECT_OPS(
	    w, "add-service TCP 192.0.2.1:81 (wlc, timeout 0)",
	    "add-server TCP 192.0.2.1:81 -> 10.0.0.1:80 (nat, weight 1)");
	assert_int_equal(xl_sync_pending(w->sync)->n, 0);
	expect_kernel_holds_desired(w, 0);
	w_free(w);
}

/* Changes made behind extlbd's back, as another tool would make them. */
static void tamper(struct world *w)
{
	struct xl_service foreign = w->k.t.svcs[0];
	struct xl_op del = {XL_OP_DEL_SVC, &w->k.t.svcs[1], NULL};
	struct xl_dest d = w->k.t.svcs[0].dests[0];
	struct xl_op edit = {XL_OP_EDIT_DEST, &w->k.t.svcs[0], &d};
	struct xl_op add = {XL_OP_ADD_SVC, &foreign, NULL};

	d.weight = 7;
	assert_int_equal(fk_dest_op(&w->k, &edit), 0);
	assert_int_equal(fk_service_op(&w->k, &del), 0);
	foreign = xl_service_key(&foreign);
	foreign.port = 99;
	assert_int_equal(fk_service_op(&w->k, &add), 0);
}

/* A resync finds what changed behind extlbd's back and puts it right; a
 * service it never applied is left alone. */
static void test_resync_puts_right_what_changed(void **state)
{
	struct world *w = w_start(CONF(S80 "," S81));
	struct xl_sync_result r;

	(void)state;
	tamper(w);
	/* from memory, nothing can be seen to differ */
	assert_int_equal(xl_sync_run(w->sync, &w->want.table, false, 0, &r), 0);
	expect_no_ops(w);
	xl_sync_invalidate(w->sync);
	assert_int_equal(xl_sync_run(w->sync, &w->want.table, false, 0, &r), 0);
	assert_true(r.dumped);
	EXPECT_OPS(
	    w, "edit-server TCP 192.0.2.1:80 -> 10.0.0.1:80 (nat, weight 1)",
	    "add-service TCP 192.0.2.1:81 (wlc, timeout 0)",
	    "add-server TCP 192.0.2.1:81 -> 10.0.0.1:80 (nat, weight 1)");
	expect_kernel_holds_desired(w, 1);
	w_free(w);
}

/* A rolling resync step reads its slice back and puts that right alone. */
static void test_resync_slice_reads_back_its_services(void **state)
{
	struct world *w = w_start(CONF(S80 "," S81));
	struct xl_sync_result r;

	(void)state;
	tamper(w);
	assert_int_equal(xl_sync_check_keys(w->sync, &w->want.table,
					    &w->want.table.svcs[0], 1, false, 0,
					    &r),
			 0);
	assert_false(r.dumped);
	EXPECT_OPS(
	    w, "edit-server TCP 192.0.2.1:80 -> 10.0.0.1:80 (nat, weight 1)");
	assert_int_equal(xl_sync_check_keys(w->sync, &w->want.table,
					    &w->want.table.svcs[1], 1, false, 0,
					    &r),
			 0);
	EXPECT_OPS(
	    w, "add-service TCP 192.0.2.1:81 (wlc, timeout 0)",
	    "add-server TCP 192.0.2.1:81 -> 10.0.0.1:80 (nat, weight 1)");
	expect_kernel_holds_desired(w, 1);
	w_free(w);
}

/* ---- log lines: names and progress ------------------------------------- */

static const char *w_name(void *arg, const struct xl_service *svc)
{
	const struct xl_vs_config *vs = xl_config_find(arg, svc);

	return vs ? vs->name : NULL;
}

/* What xl_log writes to stderr while fn(w) runs. */
static char *captured(struct world *w, void (*fn)(struct world *))
{
	struct logcap cap = logcap_start();

	fn(w);
	return logcap_end(&cap);
}

static void run_full(struct world *w)
{
	struct xl_sync_result r;

	xl_sync_invalidate(w->sync);
	xl_table_free(&w->k.t); /* an empty kernel: everything is added */
	assert_int_equal(xl_sync_run(w->sync, &w->want.table, false, 10, &r),
			 0);
}

/* A long run says how far it is (here after every chunk), never at its
 * end (the summary line says that); a refused op names its service. */
static void test_progress_and_names(void **state)
{
	char *text = malloc(1 << 20), *log;
	size_t len = 0;
	struct world *w;

	(void)state;
	assert_non_null(text);
	len += (size_t)sprintf(text + len, "global = { check = { type = "
					   "\"none\"; }; };\n"
					   "virtual_services = (\n");
	for (int i = 0; i < 500; i++)
		len += (size_t)sprintf(
		    text + len,
		    "%s{ name = \"s%d\"; vip = \"192.0.2.1\"; port = %d;\n"
		    "  real_servers = ( { address = \"10.0.0.1\"; }, "
		    "{ address = \"10.0.0.2\"; }, { address = \"10.0.0.3\"; }, "
		    "{ address = \"10.0.0.4\"; }, { address = \"10.0.0.5\"; } "
		    "); }\n",
		    i ? "," : "", i, 1000 + i);
	sprintf(text + len, ");\n");
	w = w_start(text);
	free(text);
	xl_sync_set_names(w->sync, w_name, w->cfg);
	xl_sync_set_progress(w->sync, "start-up", 1e-9);
	w->k.refuse_kind = XL_OP_ADD_DEST;
	w->k.refuse_port = 1007;
	w->k.refuse_err = ESRCH;
	log = captured(w, run_full);
	assert_non_null(strstr(log, "start-up: 2048 of 3000 ops sent ("));
	assert_null(strstr(log, "3000 of 3000"));
	assert_non_null(strstr(log, "add-server 10.0.0.1:1007 of \"s7\" (TCP "
				    "192.0.2.1:1007): nat, weight 1: "));
	/* no progress when it is off */
	xl_sync_set_progress(w->sync, "start-up", 0);
	log = captured(w, run_full);
	assert_null(strstr(log, "ops sent"));
	w_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reload_touches_changed_services_only),
	    cmocka_unit_test(test_health_change_sends_its_server_only),
	    cmocka_unit_test(test_drain_then_delete),
	    cmocka_unit_test(test_refused_op_is_retried),
	    cmocka_unit_test(test_progress_and_names),
	    cmocka_unit_test(test_resync_puts_right_what_changed),
	    cmocka_unit_test(test_resync_slice_reads_back_its_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
