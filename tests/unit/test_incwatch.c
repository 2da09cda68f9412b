/*
 * test_incwatch.c - which changes of a real directory make a reload, and
 * how many: a real inotify descriptor on a temporary directory, read by a
 * libev loop of the test's own, as extlbd's loop reads it.
 *
 * Settle delays are short to keep the test quick; where a count depends on
 * timing, the writes come far faster than the delay (a loaded machine
 * would have to stall a writer for 15 times its period to split a burst).
 */
#include "incwatch.h"
#include "incfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fx {
	struct ev_loop *loop;
	struct xl_incwatch *w;
	char dir[64];
	char path[128];
	int calls;
	char what[512];
	double last_call;
	bool stop_in_callback; /* the callback turns the watch off */
	/* a writer on the loop: `left` more writes of `name`, one a period */
	ev_timer writer;
	int left;
	double last_write;
};

static struct fx fx;

static void on_change(void *arg, const char *what)
{
	struct fx *f = arg;

	f->calls++;
	snprintf(f->what, sizeof(f->what), "%s", what);
	f->last_call = ev_now(f->loop);
	if (f->stop_in_callback)
		assert_int_equal(xl_incwatch_update(f->w, NULL, 0), 0);
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop for secs: every callback of that time is counted. */
static void run_for(double secs)
{
	ev_timer t;

	ev_timer_init(&t, on_deadline, secs, 0.);
	ev_timer_start(fx.loop, &t);
	ev_run(fx.loop, 0);
	ev_timer_stop(fx.loop, &t);
}

static const char *at(const char *name)
{
	snprintf(fx.path, sizeof(fx.path), "%s/%s", fx.dir, name);
	return fx.path;
}

static void put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/xl-incwatch-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(fx.loop);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	xl_incwatch_stop(fx.w);
	ev_loop_destroy(fx.loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Now, as extlbd gives the time its configuration was read. */
static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A read after every change the test made before: none to catch up. */
#define READ_LATER (wall() + 60)

static void watch(double settle)
{
	fx.w = xl_incwatch_start(fx.loop, settle, on_change, &fx);
	assert_non_null(fx.w);
	assert_int_equal(xl_incwatch_update(fx.w, fx.dir, READ_LATER), 0);
}

static void test_wanted(void **state)
{
	(void)state;
	assert_true(xl_incfile_wanted("kubernetes.conf"));
	assert_true(xl_incfile_wanted("a.conf"));
	assert_false(xl_incfile_wanted(".conf"));
	assert_false(xl_incfile_wanted("x.conf~"));
	assert_false(xl_incfile_wanted(".kubernetes.conf.tmpAb12Cd"));
	assert_false(xl_incfile_wanted(".hidden.conf"));
	assert_false(xl_incfile_wanted("README"));
	assert_false(xl_incfile_wanted("x.conf.swp"));
}

/* extlb-k8s's way: a dotfile filled, then renamed in.  Only the rename
 * counts, and once. */
static void test_dotfile_then_rename(void **state)
{
	char tmp[128];

	(void)state;
	watch(0.05);
	put(".kubernetes.conf.tmpXYZ", "virtual_services = ( );\n");
	run_for(0.4);
	assert_int_equal(fx.calls, 0);
	snprintf(tmp, sizeof(tmp), "%s", at(".kubernetes.conf.tmpXYZ"));
	assert_int_equal(rename(tmp, at("kubernetes.conf")), 0);
	run_for(0.4);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "kubernetes.conf");
}

static void test_other_names_ignored(void **state)
{
	(void)state;
	watch(0.05);
	put("notes.txt", "x\n");
	put("a.conf~", "x\n");
	assert_int_equal(mkdir(at("sub.conf"), 0755), 0);
	assert_int_equal(unlink(at("notes.txt")), 0);
	run_for(0.4);
	assert_int_equal(fx.calls, 0);
}

/* An edit in place (close after write) and a deletion, each its reload. */
static void test_edit_and_delete(void **state)
{
	(void)state;
	put("a.conf", "virtual_services = ( );\n");
	watch(0.05);
	put("a.conf", "virtual_services = ( );\n# edited\n");
	run_for(0.4);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "a.conf");
	assert_int_equal(unlink(at("a.conf")), 0);
	run_for(0.4);
	assert_int_equal(fx.calls, 2);
	assert_string_equal(fx.what, "a.conf");
}

/* Several files in one burst: one reload, the log names the first. */
static void test_several_files(void **state)
{
	(void)state;
	watch(0.2);
	put("a.conf", "x\n");
	put("b.conf", "x\n");
	put("c.conf", "x\n");
	run_for(0.6);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "a.conf and others");
}

static void on_write(struct ev_loop *loop, ev_timer *t, int revents)
{
	char text[64];

	(void)loop;
	(void)revents;
	snprintf(text, sizeof(text), "# write %d\n", fx.left);
	put("b.conf", text);
	fx.last_write = ev_now(fx.loop);
	if (--fx.left <= 0)
		ev_timer_stop(fx.loop, t);
}

static void writer_start(int n, double period)
{
	fx.left = n;
	ev_timer_init(&fx.writer, on_write, period, period);
	ev_timer_start(fx.loop, &fx.writer);
}

/* Twenty rewrites 20 ms apart, longer in all than the 0.3 s delay: each
 * restarts it, so one reload comes, after the last. */
static void test_burst_one_reload(void **state)
{
	(void)state;
	watch(0.3);
	writer_start(20, 0.02);
	run_for(2.5);
	assert_int_equal(fx.left, 0);
	assert_int_equal(fx.calls, 1);
	assert_true(fx.last_call >= fx.last_write);
	assert_string_equal(fx.what, "b.conf");
	ev_timer_stop(fx.loop, &fx.writer);
}

/* A writer that never pauses is still applied, every 10 settle delays. */
static void test_stream_still_applied(void **state)
{
	(void)state;
	watch(0.05);
	writer_start(100, 0.01); /* a second at least, 20 delays */
	run_for(3.0);
	assert_int_equal(fx.left, 0);
	assert_in_range(fx.calls, 2, 20);
	ev_timer_stop(fx.loop, &fx.writer);
}

/* A directory that does not exist yet is watched once it does, and the
 * files that came with it are read by one reload. */
static void test_missing_then_created(void **state)
{
	char dir[128];
	double read_at = wall();

	(void)state;
	snprintf(dir, sizeof(dir), "%s", at("later.d"));
	fx.w = xl_incwatch_start(fx.loop, 0.05, on_change, &fx);
	assert_non_null(fx.w);
	assert_int_equal(xl_incwatch_update(fx.w, dir, read_at), -1);
	assert_int_equal(xl_incwatch_update(fx.w, dir, read_at), -1);
	assert_int_equal(mkdir(dir, 0755), 0);
	run_for(0.3);
	assert_int_equal(fx.calls, 0); /* not before an update */
	assert_int_equal(xl_incwatch_update(fx.w, dir, read_at), 0);
	run_for(0.4);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "before it was watched");
	assert_int_equal(xl_incwatch_update(fx.w, dir, read_at), 0);
	run_for(0.3);
	assert_int_equal(fx.calls, 1); /* watched already: nothing more */
}

/* The race at start-up (and after a reload that names a new directory):
 * the directory was read, then changed, then watched. */
static void test_changed_before_watched(void **state)
{
	double read_at;

	(void)state;
	put("a.conf", "x\n");
	usleep(300 * 1000); /* well before the read, even for ctime's clock */
	read_at = wall();
	fx.w = xl_incwatch_start(fx.loop, 0.05, on_change, &fx);
	assert_non_null(fx.w);
	assert_int_equal(xl_incwatch_update(fx.w, fx.dir, read_at), 0);
	run_for(0.3);
	assert_int_equal(fx.calls, 0); /* nothing since the read */

	xl_incwatch_stop(fx.w);
	read_at = wall();
	put("a.conf", "y\n"); /* in place: only the file's ctime moves */
	fx.w = xl_incwatch_start(fx.loop, 0.05, on_change, &fx);
	assert_non_null(fx.w);
	assert_int_equal(xl_incwatch_update(fx.w, fx.dir, read_at), 0);
	run_for(0.3);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "before it was watched");
}

/* Removed: one reload (its services go), then it waits for it again. */
static void test_dir_removed_and_back(void **state)
{
	char dir[128];
	double read_at;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", at("inc.d"));
	assert_int_equal(mkdir(dir, 0755), 0);
	fx.w = xl_incwatch_start(fx.loop, 0.05, on_change, &fx);
	assert_non_null(fx.w);
	assert_int_equal(xl_incwatch_update(fx.w, dir, READ_LATER), 0);
	assert_int_equal(rmdir(dir), 0);
	run_for(0.4);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "directory removed");
	read_at = wall(); /* the reload that found it gone */
	assert_int_equal(xl_incwatch_update(fx.w, dir, read_at), -1);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(xl_incwatch_update(fx.w, dir, read_at), 0);
	run_for(0.4);
	assert_int_equal(fx.calls, 2);
	assert_string_equal(fx.what, "before it was watched");
}

/* The watch follows include_dir; turned off, its descriptor is closed. */
static void test_follows_and_closes(void **state)
{
	char other[128];
	int before, after;

	(void)state;
	before = dup(0);
	assert_true(before >= 0);
	close(before);
	snprintf(other, sizeof(other), "%s", at("other.d"));
	assert_int_equal(mkdir(other, 0755), 0);
	watch(0.05);
	assert_int_equal(xl_incwatch_update(fx.w, other, READ_LATER), 0);
	put("old.conf", "x\n"); /* in the directory no longer watched */
	run_for(0.3);
	assert_int_equal(fx.calls, 0);
	put("other.d/new.conf", "x\n");
	run_for(0.3);
	assert_int_equal(fx.calls, 1);
	assert_string_equal(fx.what, "new.conf");
	assert_int_equal(xl_incwatch_update(fx.w, NULL, 0), 0);
	after = dup(0);
	close(after);
	assert_int_equal(after, before); /* no descriptor left open */
	put("other.d/new.conf", "y\n");
	run_for(0.3);
	assert_int_equal(fx.calls, 1);
}

/* The callback may turn the watch off (a reload that drops the key). */
static void test_update_from_callback(void **state)
{
	(void)state;
	watch(0.05);
	fx.stop_in_callback = true;
	put("a.conf", "x\n");
	run_for(0.3);
	assert_int_equal(fx.calls, 1);
	put("a.conf", "y\n");
	run_for(0.3);
	assert_int_equal(fx.calls, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wanted),
	    T(test_dotfile_then_rename),
	    T(test_other_names_ignored),
	    T(test_edit_and_delete),
	    T(test_several_files),
	    T(test_burst_one_reload),
	    T(test_stream_still_applied),
	    T(test_missing_then_created),
	    T(test_changed_before_watched),
	    T(test_dir_removed_and_back),
	    T(test_follows_and_closes),
	    T(test_update_from_callback),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
