/*
 * sync.c - reconcile the desired table with the kernel and apply the ops.
 *
 * What the kernel holds is remembered between runs: after a run whose ops
 * were all acknowledged, the kernel's owned part is exactly `want` and its
 * foreign part what the last dump showed, so the memory is rebuilt by one
 * merge of the two sorted tables.  A refused op leaves its service in a
 * state only the kernel knows: those services alone are read back (one
 * request each) and kept as pending, which is what the retry reads back and
 * reconciles again, so a refusal that lasts (a missing scheduler module)
 * costs a few requests per retry, not a dump of the whole table.
 */
#include "sync.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xl_sync {
	const struct xl_kernel_ops *ops;
	void *kh; /* the kernel ops reaches */
	struct xl_table kernel;
	bool kernel_valid;
	struct xl_table applied; /* the last `want`: what we own */
	/* services with an op the kernel refused that no run has put right
	 * since (sorted, each once) */
	struct xl_keys pending;
	/* the services of the refused ops of the run under way */
	struct xl_keys refused;
	bool refused_lost;    /* one could not be recorded (out of memory) */
	xl_sync_name_fn name; /* services' names in log lines */
	void *name_arg;
	const char *why;      /* of the runs under way, for progress */
	double progress_secs; /* between progress lines; 0: none */
};

/* ops are handed to the kernel this many at a time when a run may be long
 * enough to report progress: a clock read per chunk, not per op */
#define XL_PROGRESS_CHUNK 2048

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct xl_sync *xl_sync_new(const struct xl_kernel_ops *ops, void *kernel)
{
	struct xl_sync *s = calloc(1, sizeof(*s));

	if (s) {
		s->ops = ops;
		s->kh = kernel;
	}
	return s;
}

void xl_sync_free(struct xl_sync *s)
{
	if (!s)
		return;
	xl_table_free(&s->kernel);
	xl_table_free(&s->applied);
	xl_keys_free(&s->pending);
	xl_keys_free(&s->refused);
	free(s);
}

void xl_sync_invalidate(struct xl_sync *s)
{
	s->kernel_valid = false;
}

const struct xl_table *xl_sync_kernel(const struct xl_sync *s)
{
	return s->kernel_valid ? &s->kernel : NULL;
}

const struct xl_table *xl_sync_applied(const struct xl_sync *s)
{
	return &s->applied;
}

const struct xl_keys *xl_sync_pending(const struct xl_sync *s)
{
	return &s->pending;
}

void xl_sync_set_names(struct xl_sync *s, xl_sync_name_fn fn, void *arg)
{
	s->name = fn;
	s->name_arg = arg;
}

void xl_sync_set_progress(struct xl_sync *s, const char *why, double secs)
{
	s->why = why;
	s->progress_secs = secs;
}

/* op's log line, its service named */
static const char *op_text(const struct xl_sync *s, const struct xl_op *op,
			   char *buf, size_t len)
{
	return xl_op_label(op, s->name ? s->name(s->name_arg, op->svc) : NULL,
			   buf, len);
}

static void op_failed(const struct xl_op *op, int err, void *arg)
{
	struct xl_sync *s = arg;
	char buf[XL_LABEL_MAX + 64];

	xl_err("%s: %s", op_text(s, op, buf, sizeof(buf)),
	       s->ops->strerror(s->kh, op, err));
	if (xl_keys_push(&s->refused, op->svc) < 0)
		s->refused_lost = true;
}

/*
 * The kernel's apply, with the services of refused ops recorded.  A long
 * run (110,000 ops at start-up) says how far it is every progress_secs,
 * so that the log is not silent between "starting" and "running".
 */
static long apply(struct xl_sync *s, const struct xl_ops *ops)
{
	double t0 = now_ms(), last = t0;
	long failed = 0, rc;

	s->refused.n = 0;
	s->refused_lost = false;
	if (!s->progress_secs || ops->n <= XL_PROGRESS_CHUNK)
		return s->ops->apply(s->kh, ops->v, ops->n, op_failed, s);
	for (size_t i = 0; i < ops->n; i += XL_PROGRESS_CHUNK) {
		size_t n = ops->n - i < XL_PROGRESS_CHUNK ? ops->n - i
							  : XL_PROGRESS_CHUNK;
		double t;

		if ((rc = s->ops->apply(s->kh, ops->v + i, n, op_failed, s)) <
		    0)
			return rc;
		failed += rc;
		t = now_ms();
		if (i + n < ops->n && t - last >= s->progress_secs * 1e3) {
			xl_info("%s: %zu of %zu ops sent (%.1f s)",
				s->why ? s->why : "sync", i + n, ops->n,
				(t - t0) / 1e3);
			last = t;
		}
	}
	return failed;
}

/*
 * What the kernel holds of the services keys name (sorted, each once), read
 * one request each, made the memory of them.  0, or -errno (the memory is
 * then as it was).
 */
static int read_back(struct xl_sync *s, const struct xl_service *keys, size_t n)
{
	struct xl_table seen = {0};
	int rc = 0;

	seen.svcs = calloc(n ? n : 1, sizeof(*seen.svcs));
	if (!seen.svcs)
		return -ENOMEM;
	/* in key order, so sorted */
	for (size_t i = 0; i < n && !rc; i++) {
		rc = s->ops->get_service(s->kh, &keys[i],
					 &seen.svcs[seen.nsvcs]);
		if (!rc)
			seen.nsvcs++;
		else if (rc == -ESRCH)
			rc = 0; /* not there (any more) */
	}
	if (rc < 0)
		xl_err("reading the IPVS table: %s", strerror(-rc));
	else if (xl_table_patch(&s->kernel, &seen, keys, n, true) < 0)
		rc = -ENOMEM;
	xl_table_free(&seen);
	return rc;
}

/*
 * After a run whose memory was brought to `want` for the services it
 * covered (keys, sorted; NULL: all of them): those with a refused op are
 * read back, and pending becomes what it held outside the run plus them.
 * 0, or -errno: the caller drops the memory, and the next run dumps.
 */
static int settle(struct xl_sync *s, const struct xl_service *keys,
		  size_t nkeys)
{
	const struct xl_table covered = {.svcs = (struct xl_service *)keys,
					 .nsvcs = nkeys};
	struct xl_keys next = {0};
	size_t n;

	if (s->refused_lost)
		return -ENOMEM;
	n = xl_keys_unique(s->refused.v, s->refused.n);
	s->refused.n = 0;
	if (!n && (!s->pending.n || !keys)) {
		s->pending.n = 0;
		return 0;
	}
	if (XL_GROW(next.v, next.cap, s->pending.n + n, 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; keys && i < s->pending.n; i++)
		if (!xl_table_find(&covered, &s->pending.v[i]))
			next.v[next.n++] = s->pending.v[i];
	memcpy(next.v + next.n, s->refused.v, n * sizeof(*next.v));
	next.n = xl_keys_unique(next.v, next.n + n);
	xl_keys_free(&s->pending);
	s->pending = next;
	return n ? read_back(s, s->refused.v, n) : 0;
}

/*
 * The kernel after every op of a run succeeded: `want`, plus the services
 * it held that `want` lacks and the run did not delete (someone else's).
 */
static int remember(struct xl_sync *s, const struct xl_table *want,
		    bool owns_all)
{
	struct xl_table next = {0};
	size_t i = 0, j = 0, n = want->nsvcs + s->kernel.nsvcs;
	const struct xl_table *k = &s->kernel;

	next.svcs = calloc(n ? n : 1, sizeof(*next.svcs));
	if (!next.svcs)
		return -ENOMEM;
	while (i < want->nsvcs || j < k->nsvcs) {
		const struct xl_service *src;
		int c = i == want->nsvcs ? 1
			: j == k->nsvcs
			    ? -1
			    : xl_service_cmp(&want->svcs[i], &k->svcs[j]);

		if (c <= 0) {
			src = &want->svcs[i++];
			j += c == 0;
		} else {
			src = &k->svcs[j++];
			if (owns_all || xl_table_find(&s->applied, src))
				continue; /* deleted by this run */
		}
		if (xl_service_copy(&next.svcs[next.nsvcs], src) < 0) {
			xl_table_free(&next);
			return -ENOMEM;
		}
		next.nsvcs++;
	}
	xl_table_free(&s->kernel);
	s->kernel = next;
	return 0;
}

/* Only the identities are needed to know what we own. */
static int keep_applied(struct xl_sync *s, const struct xl_table *want)
{
	struct xl_service *v =
	    calloc(want->nsvcs ? want->nsvcs : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < want->nsvcs; i++)
		v[i] = xl_service_key(&want->svcs[i]);
	xl_table_free(&s->applied);
	s->applied.svcs = v;
	s->applied.nsvcs = want->nsvcs;
	return 0;
}

static void log_ops(const struct xl_sync *s, const struct xl_ops *ops,
		    size_t log_ops_max, struct xl_sync_result *res)
{
	int prio = ops->n <= log_ops_max ? XL_LOG_INFO : XL_LOG_DEBUG;
	char buf[XL_LABEL_MAX + 64];

	bool on = xl_log_enabled(prio);

	for (size_t i = 0; i < ops->n; i++) {
		res->count[ops->v[i].kind]++;
		/* 110,000 ops at start-up: format only what is written */
		if (on)
			xl_log(prio, "%s",
			       op_text(s, &ops->v[i], buf, sizeof(buf)));
	}
	res->nops = ops->n;
}

static int ensure_kernel(struct xl_sync *s, struct xl_sync_result *res)
{
	int rc;

	if (s->kernel_valid)
		return 0;
	xl_table_free(&s->kernel);
	if ((rc = s->ops->dump(s->kh, &s->kernel)) < 0) {
		xl_err("reading the IPVS table: %s", strerror(-rc));
		return rc;
	}
	s->kernel_valid = true;
	res->dumped = true;
	return 0;
}

/* ---- runs limited to a few services ----------------------------------- */

/* The identities of keys, sorted, each once (*n of them); NULL: ENOMEM. */
static struct xl_service *keys_sorted(const struct xl_service *keys,
				      size_t nkeys, size_t *n)
{
	struct xl_service *k = malloc((nkeys ? nkeys : 1) * sizeof(*k));

	if (!k)
		return NULL;
	for (size_t i = 0; i < nkeys; i++)
		k[i] = xl_service_key(&keys[i]);
	*n = xl_keys_unique(k, nkeys);
	return k;
}

/* The entries of t that keys name, shallow (sorted as the keys). */
static int pick(const struct xl_table *t, const struct xl_service *keys,
		size_t n, struct xl_table *out)
{
	out->nsvcs = 0;
	out->svcs = malloc((n ? n : 1) * sizeof(*out->svcs));
	if (!out->svcs)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const struct xl_service *e = xl_table_find(t, &keys[k]);

		if (e)
			out->svcs[out->nsvcs++] = *e;
	}
	return 0;
}

int xl_sync_run_keys(struct xl_sync *s, const struct xl_table *want,
		     const struct xl_service *keys, size_t nkeys, bool owns_all,
		     size_t log_ops_max, struct xl_sync_result *res)
{
	struct xl_reconcile_opts opts = {.owns_all = owns_all,
					 .previous = &s->applied};
	struct xl_table sub_want = {0}, sub_kernel = {0};
	struct xl_service *k = NULL;
	struct xl_ops ops = {0};
	double t0 = now_ms();
	size_t n;
	int rc = -ENOMEM;

	if (!s->kernel_valid)
		return xl_sync_run(s, want, owns_all, log_ops_max, res);
	memset(res, 0, sizeof(*res));
	if (!(k = keys_sorted(keys, nkeys, &n)))
		goto out;
	if (pick(want, k, n, &sub_want) < 0 ||
	    pick(&s->kernel, k, n, &sub_kernel) < 0 ||
	    xl_reconcile(&sub_want, &sub_kernel, &opts, &ops) < 0)
		goto out;
	log_ops(s, &ops, log_ops_max, res);
	res->failed = apply(s, &ops);
	rc = 0;
	if (res->failed < 0) {
		rc = (int)res->failed;
		xl_err("netlink: %s", strerror(-rc));
		s->kernel_valid = false;
	} else if (xl_table_patch(&s->kernel, want, k, n, true) < 0 ||
		   settle(s, k, n) < 0) {
		s->kernel_valid = false; /* the next run dumps */
	}
	/* what we own follows want even when an op failed, as in full runs */
	if (!rc && xl_table_patch(&s->applied, want, k, n, false) < 0)
		rc = keep_applied(s, want);
out:
	if (rc == -ENOMEM)
		xl_err("sync: out of memory");
	free(k);
	free(sub_want.svcs);
	free(sub_kernel.svcs);
	xl_ops_free(&ops);
	res->ms = now_ms() - t0;
	return rc;
}

int xl_sync_check_keys(struct xl_sync *s, const struct xl_table *want,
		       const struct xl_service *keys, size_t nkeys,
		       bool owns_all, size_t log_ops_max,
		       struct xl_sync_result *res)
{
	struct xl_service *k;
	size_t n;
	int rc;

	if (!s->kernel_valid)
		return xl_sync_run(s, want, owns_all, log_ops_max, res);
	if (!(k = keys_sorted(keys, nkeys, &n)))
		return -ENOMEM;
	rc = read_back(s, k, n);
	if (rc < 0)
		s->kernel_valid = false; /* the run below dumps everything */
	if (rc == -ENOMEM || rc >= 0)
		rc =
		    xl_sync_run_keys(s, want, k, n, owns_all, log_ops_max, res);
	free(k);
	return rc;
}

int xl_sync_run(struct xl_sync *s, const struct xl_table *want, bool owns_all,
		size_t log_ops_max, struct xl_sync_result *res)
{
	struct xl_reconcile_opts opts = {.owns_all = owns_all,
					 .previous = &s->applied};
	struct xl_ops ops = {0};
	double t0 = now_ms();
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = ensure_kernel(s, res)) < 0)
		return rc;
	if ((rc = xl_reconcile(want, &s->kernel, &opts, &ops)) < 0)
		goto out;
	log_ops(s, &ops, log_ops_max, res);
	res->failed = apply(s, &ops);
	if (res->failed < 0) {
		rc = (int)res->failed;
		xl_err("netlink: %s", strerror(-rc));
		s->kernel_valid = false;
		goto out;
	}
	if ((rc = remember(s, want, owns_all)) < 0 || settle(s, NULL, 0) < 0)
		s->kernel_valid = false; /* the next run dumps */
	if (!rc)
		rc = keep_applied(s, want);
out:
	xl_ops_free(&ops);
	res->ms = now_ms() - t0;
	return rc;
}

void xl_sync_log_result(const char *why, const struct xl_sync_result *r)
{
	const size_t *c = r->count;

	xl_info("%s: %zu ops applied in %.0f ms (services +%zu ~%zu -%zu, "
		"real servers +%zu ~%zu -%zu), %ld failed%s",
		why, r->nops, r->ms, c[XL_OP_ADD_SVC], c[XL_OP_EDIT_SVC],
		c[XL_OP_DEL_SVC], c[XL_OP_ADD_DEST], c[XL_OP_EDIT_DEST],
		c[XL_OP_DEL_DEST], r->failed,
		r->dumped ? " (the whole table read first)" : "");
}
