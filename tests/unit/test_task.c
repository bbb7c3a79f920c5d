/*
 * Unit tests of a task's runtime (reconcile/task.c) with fake actions in
 * real worker threads: the loop never blocks, cancel, pause, gated stop,
 * retry, and the status files and audit lines it leads to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define IGNORE_LEAK(p) __lsan_ignore_object(p)
#else
#define IGNORE_LEAK(p) ((void)(p))
#endif

#include "controller/status.h"
#include "lib/util.h"
#include "reconcile/task.h"

static _Atomic int fake_stage;
static _Atomic int full_retries; /* full fails with GW_ERETRY this many times */
static _Atomic int full_started;
static _Atomic int full_slow; /* full runs until cancelled */
static _Atomic int audit_lines;
static _Atomic int phase_changes;

static int f_precheck(struct action_io *io, struct precheck_summary *out)
{
	out->passed = 3;
	return buf_puts(&io->report, "  - id: binlog_format\n    result: pass\n");
}

static int f_whitelist(struct action_io *io, int add)
{
	(void)io, (void)add;
	return GW_ENOTFOUND;
}

static int f_schema(struct action_io *io, enum schema_stage st)
{
	(void)io, (void)st;
	return 0;
}

static int f_full(struct action_io *io)
{
	int i;

	atomic_fetch_add(&full_started, 1);
	if (atomic_load(&full_retries) > 0) {
		atomic_fetch_sub(&full_retries, 1);
		return err_set(&io->err, GW_ERETRY, "connection lost (fake)");
	}
	if (fake_stage < META_FULL_STARTED)
		fake_stage = META_FULL_STARTED;
	atomic_store(&io->progress->rows_total, 1000);
	for (i = 0; i < 10 || atomic_load(&full_slow); i++) {
		if (*io->cancel)
			return GW_ECANCEL;
		if (i < 10)
			atomic_fetch_add(&io->progress->rows_done, 100);
		util_sleep_ms(10, io->cancel);
	}
	return 0;
}

static int f_incremental(struct action_io *io)
{
	progress_set_position(io->progress, "0-1-42");
	atomic_store(&io->progress->delay_seconds, 0);
	atomic_store(&io->progress->caught_up, 1);
	atomic_fetch_add(&io->progress->events_applied, 7);
	while (!*io->cancel) {
		if (*io->stop_requested)
			return 0;
		util_sleep_ms(10, io->cancel);
	}
	return GW_ECANCEL;
}

static int f_verify(struct action_io *io)
{
	(void)io;
	return 0;
}

static const struct actions fake_actions = {
    .precheck = f_precheck,
    .whitelist = f_whitelist,
    .schema = f_schema,
    .full = f_full,
    .incremental = f_incremental,
    .verify = f_verify,
};

static int f_observe(enum meta_stage *st, char hash[65], const struct spec *s, struct gw_err *err)
{
	(void)err;
	*st = (enum meta_stage)atomic_load(&fake_stage);
	snprintf(hash, 65, "%s", *st ? s->immutable_hash : "");
	return 0;
}

static int f_record(const struct spec *s, enum meta_stage st, struct gw_err *err)
{
	(void)s, (void)err;
	if ((int)st > atomic_load(&fake_stage))
		atomic_store(&fake_stage, (int)st);
	return 0;
}

static void h_audit(void *ctx, struct task *t, enum mact a, const char *event, int result,
		    const char *error)
{
	const char *dir = ctx;

	atomic_fetch_add(&audit_lines, 1);
	assert_int_equal(status_audit(dir, t, a, event, result, error), 0);
}

static void h_phase(void *ctx, struct task *t, enum phase from, enum phase to)
{
	(void)ctx, (void)t, (void)from, (void)to;
	atomic_fetch_add(&phase_changes, 1);
}

static char tmpdir[64];

static struct task_env env = {
    .actions = &fake_actions,
    .observe = f_observe,
    .record_stage = f_record,
    .audit = h_audit,
    .phase_changed = h_phase,
};

static struct spec *mkspec(const char *hash, unsigned types, enum desired_state st)
{
	struct spec *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->name = strdup("t1");
	s->file = strdup("t1.yaml");
	s->migration_types = types;
	s->state = st;
	s->parallelism = 4;
	s->retry_window_ms = 60000;
	snprintf(s->hash, sizeof(s->hash), "%s", hash);
	snprintf(s->immutable_hash, sizeof(s->immutable_hash), "imm");
	/* spec_free() frees it once the spec module's real one is in; the
	 * placeholder leaves it (not a leak of the code under test) */
	IGNORE_LEAK(s);
	return s;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/godwit-test-task.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	env.state_dir = tmpdir;
	env.ctx = tmpdir;
	fake_stage = META_NONE;
	full_retries = 0;
	full_started = 0;
	full_slow = 0;
	audit_lines = 0;
	phase_changes = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Ticks until the task reaches phase p (and is idle unless busy_ok), at
 * most ms; every tick must return at once. */
static bool tick_until(struct task *t, enum phase p, bool busy_ok, int ms)
{
	int64_t end = util_now_mono_ms() + ms, t0;

	while (util_now_mono_ms() < end) {
		t0 = util_now_mono_ms();
		task_tick(t, util_now_ms());
		assert_true(util_now_mono_ms() - t0 < 1000); /* never waits on an action */
		assert_int_equal(status_write_task(tmpdir, t, util_now_ms()), 0);
		if (t->rec.phase == p && (busy_ok || !task_busy(t)))
			return true;
		usleep(5000);
	}
	return false;
}

static void read_file(char *out, size_t outsz, const char *file)
{
	struct buf b = BUF_INIT;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	out[0] = 0;
	if (util_read_file(&b, path) == 0)
		snprintf(out, outsz, "%s", buf_cstr(&b));
	buf_release(&b);
}

static void test_full_incremental_then_stop(void **state)
{
	struct task *t;
	struct spec_rev rev = {NULL, "abc", "", NULL, 0};
	char buf[8192];

	(void)state;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL | MT_INCREMENTAL, STATE_RUNNING), "x", 1,
		      &rev);
	assert_true(tick_until(t, PH_INCREMENTAL, true, 5000));
	assert_true(tick_until(t, PH_INCREMENTAL, true, 200) || true);
	while (!task_steady(t))
		tick_until(t, PH_INCREMENTAL, true, 50);
	assert_int_equal(atomic_load(&fake_stage), META_POST_FULL_DONE);
	assert_int_equal(status_write_task(tmpdir, t, util_now_ms()), 0);
	read_file(buf, sizeof(buf), "tasks/t1/phase");
	assert_string_equal(buf, "Incremental\n");
	read_file(buf, sizeof(buf), "tasks/t1/position");
	assert_string_equal(buf, "0-1-42\n");
	read_file(buf, sizeof(buf), "tasks/t1/delay_seconds");
	assert_string_equal(buf, "0\n");
	read_file(buf, sizeof(buf), "tasks/t1/precheck.yaml");
	assert_non_null(strstr(buf, "passed: 3"));
	assert_non_null(strstr(buf, "binlog_format"));
	read_file(buf, sizeof(buf), "tasks/t1/status.yaml");
	assert_non_null(strstr(buf, "phase: Incremental"));
	assert_non_null(strstr(buf, "observedGeneration: \"h1\""));
	assert_non_null(strstr(buf, "type: SpecImmutable"));
	read_file(buf, sizeof(buf), "audit.jsonl");
	assert_non_null(strstr(buf, "\"action\":\"full\",\"event\":\"end\",\"result\":\"ok\""));
	assert_non_null(strstr(buf, "\"sha256\":\"abc\""));

	/* the gated stop */
	task_set_spec(t, mkspec("h2", MT_SCHEMA | MT_FULL | MT_INCREMENTAL, STATE_STOPPED), "y", 1,
		      &rev);
	assert_true(tick_until(t, PH_STOPPED, false, 5000));
	assert_int_equal(atomic_load(&fake_stage), META_CUTOVER_DONE);
	assert_true(task_steady(t));
	read_file(buf, sizeof(buf), "tasks/t1/record");
	assert_non_null(strstr(buf, "phase=Stopped"));
	task_free(t);
}

static void test_pause_cancels_copy(void **state)
{
	struct task *t;
	struct spec_rev rev = {NULL, "abc", "", NULL, 0};
	char buf[4096];
	int64_t t0;

	(void)state;
	full_slow = 1;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_MIGRATING_FULL, true, 5000));
	while (atomic_load(&t->progress.rows_done) < 1000)
		tick_until(t, PH_MIGRATING_FULL, true, 20);
	assert_int_equal(status_write_task(tmpdir, t, util_now_ms()), 0);
	read_file(buf, sizeof(buf), "tasks/t1/progress");
	assert_string_equal(buf, "full 1000/1000 rows 100.0%\n");
	t0 = util_now_mono_ms();
	task_set_spec(t, mkspec("h2", MT_FULL, STATE_PAUSED), "y", 1, &rev);
	assert_true(tick_until(t, PH_PAUSED, false, 3000));
	assert_true(util_now_mono_ms() - t0 < 2000);
	assert_false(task_busy(t));
	assert_true(task_steady(t));
	/* resume: the copy runs again (with a new precheck) and finishes */
	full_slow = 0;
	task_set_spec(t, mkspec("h3", MT_FULL, STATE_RUNNING), "z", 1, &rev);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	assert_int_equal(atomic_load(&full_started), 2);
	task_free(t);
}

static void test_retry_then_success(void **state)
{
	struct task *t;
	struct spec_rev rev = {NULL, "abc", "", NULL, 0};
	char buf[8192];

	(void)state;
	full_retries = 1;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_RETRYING, true, 5000));
	assert_int_equal(status_write_task(tmpdir, t, util_now_ms()), 0);
	read_file(buf, sizeof(buf), "tasks/t1/message");
	assert_non_null(strstr(buf, "connection lost (fake)"));
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	assert_int_equal(atomic_load(&full_started), 2);
	assert_int_equal(t->rec.retries_total, 1);
	assert_int_equal(status_write_metrics(tmpdir, &t, 1), 0);
	read_file(buf, sizeof(buf), "metrics.prom");
	assert_non_null(strstr(buf, "godwit_retries_total{migration=\"t1\"} 1"));
	assert_non_null(strstr(buf, "godwit_phase{migration=\"t1\",phase=\"Completed\"} 1"));
	task_free(t);
}

static void test_restart_resumes_from_record_and_stage(void **state)
{
	struct task *t;
	struct spec_rev rev = {NULL, "abc", "", NULL, 0};

	(void)state;
	full_slow = 1;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_MIGRATING_FULL, true, 5000));
	/* SIGTERM: cancel, the worker checkpoints, nothing new starts */
	task_cancel(t);
	assert_true(tick_until(t, PH_MIGRATING_FULL, false, 3000));
	assert_false(task_busy(t));
	task_free(t);
	/* a new controller: precheck is not repeated for the same spec, the
	 * schema (recorded) is not either; the copy resumes */
	full_slow = 0;
	full_started = 0;
	audit_lines = 0;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	assert_int_equal(t->rec.phase, PH_PENDING);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	assert_int_equal(atomic_load(&full_started), 1);
	assert_int_equal(atomic_load(&audit_lines), 4); /* full, schema-after-full */
	task_free(t);
}

/* A conflict refuses the task: nothing runs, condition Conflict says why;
 * once it is gone the migration goes on. */
static void test_conflict_holds(void **state)
{
	struct task *t;
	struct spec_rev rev = {NULL, "abc", "", NULL, 0};
	int i;

	(void)state;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	task_set_conflict(t, "conflict with t0 (t0.yaml, declared first): both write db");
	for (i = 0; i < 20; i++) {
		task_tick(t, util_now_ms());
		assert_false(task_busy(t));
		usleep(2000);
	}
	assert_int_equal(atomic_load(&audit_lines), 0);
	assert_int_equal(t->rec.phase, PH_PENDING);
	assert_true(task_steady(t));
	assert_true(t->conds[7].status);
	assert_string_equal(t->conds[7].type, "Conflict");
	assert_non_null(strstr(t->conds[7].message, "conflict with t0"));
	assert_non_null(strstr(t->rec.message, "refused: conflict with t0"));
	task_set_conflict(t, NULL);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	assert_false(t->conds[7].status);
	task_free(t);
}

/* A migration of the state directory whose spec is gone: restored
 * dormant (nothing runs), deleted like a live one, and not restored again. */
static void test_restore_then_delete(void **state)
{
	struct task *t;
	struct spec_rev rev = {"t1.yaml", "abc", "", NULL, 0};
	int i;

	(void)state;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	task_free(t);
	audit_lines = 0;

	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	assert_int_equal(task_restore(t), 0);
	assert_true(t->dormant);
	assert_string_equal(t->rev.file, "t1.yaml"); /* from the record */
	for (i = 0; i < 10; i++)
		task_tick(t, util_now_ms());
	assert_int_equal(atomic_load(&audit_lines), 0);
	task_set_deleted(t);
	assert_true(tick_until(t, PH_STOPPED, false, 5000));
	assert_true(t->finished);
	assert_true(t->rec.deleted);
	assert_non_null(strstr(t->rec.message, "spec deleted"));
	task_free(t);

	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	assert_int_equal(task_restore(t), GW_ENOTFOUND);
	task_free(t);
}

/* A spec fixed while no controller ran: the Invalid of the record is a
 * previous run's, and `--once` must not take it for the answer. */
static void test_fixed_spec_is_not_steady_before_seen(void **state)
{
	struct task *t;
	struct spec_rev rev = {"t1.yaml", "abc", "", NULL, 0};

	(void)state;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	task_set_invalid(t, "t1.yaml:6:3: unknown key 'sorce'", &rev);
	assert_true(tick_until(t, PH_INVALID, false, 5000));
	assert_true(task_steady(t));
	task_free(t);

	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	assert_int_equal(t->rec.phase, PH_INVALID);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_false(task_steady(t));
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	assert_true(task_steady(t));
	task_free(t);
}

/* Failed stands for the spec it failed with, not for one edited since. */
static void test_failed_stands_for_its_spec(void **state)
{
	struct task *t;
	struct spec_rev rev = {"t1.yaml", "abc", "", NULL, 0};
	char rec[512];

	(void)state;
	snprintf(rec, sizeof(rec), "%s/tasks/t1", tmpdir);
	assert_int_equal(util_mkdir_p(rec, 0755), 0);
	snprintf(rec, sizeof(rec), "%s/tasks/t1/record", tmpdir);
	assert_int_equal(util_write_file_atomic(rec,
						"phase=Failed\nblocked_hash=h1\n"
						"blocked_phase=Failed\nmessage=boom\n",
						strlen("phase=Failed\nblocked_hash=h1\n"
						       "blocked_phase=Failed\nmessage=boom\n")),
			 0);
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(task_steady(t)); /* waits for an edit */
	task_free(t);
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h2", MT_FULL, STATE_RUNNING), "y", 1, &rev);
	assert_false(task_steady(t)); /* edited: to be tried again */
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	task_free(t);
}

static _Atomic int deletions;

static void h_deleted(void *ctx, struct task *t)
{
	(void)ctx, (void)t;
	atomic_fetch_add(&deletions, 1);
}

/* The deletion is reported once, when carried out. */
static void test_deletion_reported_once(void **state)
{
	struct task *t;
	struct spec_rev rev = {"t1.yaml", "abc", "", NULL, 0};
	int i;

	(void)state;
	deletions = 0;
	env.deleted = h_deleted;
	assert_int_equal(task_new(&t, "t1", &env, util_now_ms()), 0);
	task_set_spec(t, mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING), "x", 1, &rev);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	task_set_deleted(t);
	assert_int_equal(atomic_load(&deletions), 0);
	assert_true(tick_until(t, PH_STOPPED, false, 5000));
	for (i = 0; i < 5; i++)
		task_tick(t, util_now_ms());
	assert_int_equal(atomic_load(&deletions), 1);
	env.deleted = NULL;
	task_free(t);
}

/* --- a lock held through fake lock operations --- */

static _Atomic int lock_opens;
static _Atomic int lock_fail_once;
static char lock_seen_key[128];

struct fake_lock_conn {
	struct lock_conn base;
};

static const struct lock_ops fake_lock_ops;

static int fl_open(struct lock_conn **out, const struct endpoint *ep, const char *task,
		   struct gw_err *err)
{
	struct fake_lock_conn *c = calloc(1, sizeof(*c));

	(void)task, (void)err;
	assert_non_null(c);
	c->base.ops = &fake_lock_ops;
	/* what the keeper connects with: its own copy of the endpoint */
	snprintf(lock_seen_key, sizeof(lock_seen_key), "%s",
		 ep->tls_server_key ? ep->tls_server_key : "");
	atomic_fetch_add(&lock_opens, 1);
	*out = &c->base;
	return 0;
}

static int fl_call(char *out, size_t outsz, struct lock_conn *c, const char *fn, const char *lock,
		   struct gw_err *err)
{
	(void)c, (void)lock;
	if (!strcmp(fn, "IS_USED_LOCK") && atomic_exchange(&lock_fail_once, 0))
		return err_set(err, GW_ERETRY, "connection lost (fake)");
	snprintf(out, outsz, "%s", !strcmp(fn, "IS_USED_LOCK") ? "7" : "1");
	return 0;
}

static unsigned long fl_id(struct lock_conn *c)
{
	(void)c;
	return 7;
}

static void fl_holder(char *out, size_t outsz, struct lock_conn *c, const char *lock)
{
	(void)c, (void)lock;
	snprintf(out, outsz, "%s", "");
}

static void fl_close(struct lock_conn *c)
{
	free(c);
}

static const struct lock_ops fake_lock_ops = {fl_open, fl_call, fl_id, fl_holder, fl_close};

/* The lock keeper outlives the spec it started with (a spec edited but
 * for source, destination, objects and types keeps it): what it connects
 * with must be its own, not the freed spec's (the sanitizer build sees a
 * use after free otherwise). */
static void test_keeper_endpoint_outlives_spec(void **state)
{
	struct task_env lenv = env;
	struct task *t;
	struct spec *s;
	struct spec_rev rev = {"t1.yaml", "abc", "", NULL, 0};
	int64_t end;

	(void)state;
	lenv.use_lock = true;
	lenv.lock = &fake_lock_ops;
	lenv.lock_retry_ms = 50;
	lock_opens = 0;
	lock_fail_once = 0;
	assert_int_equal(task_new(&t, "t1", &lenv, util_now_ms()), 0);
	s = mkspec("h1", MT_SCHEMA | MT_FULL, STATE_RUNNING);
	s->destination.tls_server_key = strdup("/keys/server.pem");
	task_set_spec(t, s, "x", 1, &rev);
	assert_true(tick_until(t, PH_COMPLETED, false, 5000));
	assert_int_equal(atomic_load(&lock_opens), 1);
	assert_string_equal(lock_seen_key, "/keys/server.pem");
	/* a setting edited: the spec replaced (and freed), the keeper kept */
	s = mkspec("h2", MT_SCHEMA | MT_FULL, STATE_RUNNING);
	s->destination.tls_server_key = strdup("/keys/other.pem");
	task_set_spec(t, s, "y", 1, &rev);
	task_tick(t, util_now_ms());
	/* its connection lost: it connects again, with its own endpoint */
	atomic_store(&lock_fail_once, 1);
	end = util_now_mono_ms() + 5000;
	while (atomic_load(&lock_opens) < 2 && util_now_mono_ms() < end) {
		task_tick(t, util_now_ms());
		usleep(5000);
	}
	assert_int_equal(atomic_load(&lock_opens), 2);
	assert_string_equal(lock_seen_key, "/keys/server.pem");
	task_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_full_incremental_then_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_cancels_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_then_success, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conflict_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_then_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fixed_spec_is_not_steady_before_seen, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_failed_stands_for_its_spec, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deletion_reported_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keeper_endpoint_outlives_spec, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_resumes_from_record_and_stage, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
