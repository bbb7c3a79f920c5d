/*
 * Unit tests of the phase machine (reconcile/machine.c) with fake actions:
 * every transition, a crash at every step, backoff, plan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "reconcile/machine.h"

/* A fake world: the destination's stage and scripted action results. */
struct world {
	struct spec spec;
	struct task_record rec;
	enum meta_stage stage; /* on the "destination" */
	bool stage_known;
	int results[MA__COUNT][8]; /* scripted results, consumed in order */
	int nresults[MA__COUNT];
	int precheck_failed;
	enum mact log[64];
	int nlog;
	int64_t now;
	enum mact running; /* a long action in progress */
	char running_hash[65];
	bool deleted, invalid;
	enum mact done; /* the result not yet given to the machine */
	int result;
	enum meta_stage stage_at_step;
};

static void world_init(struct world *w, unsigned types)
{
	memset(w, 0, sizeof(*w));
	w->spec.name = "t";
	w->spec.migration_types = types;
	w->spec.retry_window_ms = 60000;
	snprintf(w->spec.hash, sizeof(w->spec.hash), "h1");
	snprintf(w->spec.immutable_hash, sizeof(w->spec.immutable_hash), "i1");
	task_record_init(&w->rec);
	w->now = 1000000;
}

static void script(struct world *w, enum mact a, int r)
{
	w->results[a][w->nresults[a]++] = r;
}

static int take(struct world *w, enum mact a)
{
	int r = 0, i;

	if (w->nresults[a]) {
		r = w->results[a][0];
		for (i = 1; i < w->nresults[a]; i++)
			w->results[a][i - 1] = w->results[a][i];
		w->nresults[a]--;
	}
	return r;
}

/*
 * Runs the machine until it asks for nothing, or a long action keeps
 * running (incremental without a stop), or max steps. Returns the last
 * output.
 */
static struct machine_out run(struct world *w, int max)
{
	struct machine_in in;
	struct machine_out out;
	int steps;

	memset(&out, 0, sizeof(out));
	for (steps = 0; steps < max; steps++) {
		memset(&in, 0, sizeof(in));
		in.spec = w->invalid || w->deleted ? (w->deleted ? &w->spec : NULL) : &w->spec;
		in.invalid = w->invalid;
		in.deleted = w->deleted;
		in.stage_known = w->stage_known;
		in.stage = w->stage;
		in.running = w->running;
		in.running_hash = w->running_hash;
		in.done = w->done;
		in.result = w->result;
		in.error = w->result ? "boom" : NULL;
		in.precheck_failed = w->done == MA_PRECHECK ? w->precheck_failed : 0;
		in.now_ms = w->now;
		in.jitter = 12345;
		machine_step(&out, &w->rec, &in);
		w->done = MA_NONE;
		w->result = 0;
		w->stage_at_step = w->stage;
		if (w->running != MA_NONE) {
			if (out.cancel) {
				w->done = w->running;
				w->result = GW_ECANCEL;
				w->running = MA_NONE;
				continue;
			}
			if (w->running == MA_INCREMENTAL && out.stop_request) {
				w->done = MA_INCREMENTAL;
				w->result = take(w, MA_INCREMENTAL);
				w->running = MA_NONE;
				if (w->result == 0 &&
				    mact_stage(MA_INCREMENTAL, &w->spec) > w->stage)
					w->stage = mact_stage(MA_INCREMENTAL, &w->spec);
				continue;
			}
			return out;
		}
		if (out.action == MA_NONE)
			return out;
		assert_true(w->nlog < 64);
		w->log[w->nlog++] = out.action;
		if (out.action == MA_OBSERVE) {
			w->stage_known = true;
			w->done = MA_OBSERVE;
			continue;
		}
		if (out.action == MA_INCREMENTAL && !out.stop_request) {
			w->running = MA_INCREMENTAL;
			snprintf(w->running_hash, sizeof(w->running_hash), "%s", w->spec.hash);
			return out;
		}
		if (out.action == MA_FULL && w->nresults[MA_FULL] && w->results[MA_FULL][0] == 99) {
			/* scripted: the copy keeps running */
			take(w, MA_FULL);
			w->running = MA_FULL;
			snprintf(w->running_hash, sizeof(w->running_hash), "%s", w->spec.hash);
			return out;
		}
		w->done = out.action;
		w->result = take(w, out.action);
		if (w->result == 0 && mact_stage(out.action, &w->spec) > w->stage)
			w->stage = mact_stage(out.action, &w->spec);
	}
	return out;
}

static void assert_log(struct world *w, const enum mact *want, int n)
{
	int i;

	for (i = 0; i < n && i < w->nlog; i++)
		if (want[i] != w->log[i])
			fail_msg("step %d: want %s, got %s", i, mact_name(want[i]),
				 mact_name(w->log[i]));
	assert_int_equal(w->nlog, n);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(phase_name(PH_MIGRATING_FULL), "MigratingFull");
	assert_string_equal(phase_name(PH_PRECHECK_FAILED), "PrecheckFailed");
	assert_int_equal(phase_parse("Retrying"), PH_RETRYING);
	assert_int_equal(phase_parse("nope"), -1);
	assert_true(phase_is_error(PH_INVALID));
	assert_false(phase_is_error(PH_STOPPED));
	assert_true(phase_steady(PH_PAUSED));
	assert_false(phase_steady(PH_MIGRATING_FULL));
}

static void test_full_incremental_path_and_gated_stop(void **state)
{
	struct world w;
	struct machine_out out;
	static const enum mact want[] = {
	    MA_OBSERVE,	    MA_PRECHECK,	  MA_WHITELIST_ADD,   MA_SCHEMA_CREATE,
	    MA_FULL,	    MA_SCHEMA_AFTER_FULL, MA_INCREMENTAL,     MA_WHITELIST_ADD,
	    MA_INCREMENTAL, MA_SCHEMA_CUTOVER,	  MA_WHITELIST_REMOVE};

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INCREMENTAL);
	assert_int_equal(w.rec.phase, PH_INCREMENTAL);
	assert_int_equal(w.stage, META_POST_FULL_DONE);
	assert_true(w.rec.whitelist_added);
	/* Still running: nothing new. */
	out = run(&w, 5);
	assert_int_equal(out.action, MA_NONE);
	assert_false(out.cancel);

	/* state: stopped (a spec edit): the running stream restarts with the
	 * new spec (whitelist entries re-applied for it), carries out the
	 * gated stop, then cutover, whitelist removal. */
	w.spec.state = STATE_STOPPED;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_int_equal(w.stage, META_CUTOVER_DONE);
	assert_non_null(strstr(w.rec.message, "cutover done"));
	assert_false(w.rec.whitelist_added);
	assert_log(&w, want, (int)(sizeof(want) / sizeof(want[0])));
	/* Stopped stays stopped, even if asked to run again. */
	w.spec.state = STATE_RUNNING;
	out = run(&w, 5);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_int_equal(out.action, MA_NONE);
}

static void test_stop_waits_while_streaming(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_FULL | MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INCREMENTAL);
	/* The stream has not reached maxDelay yet: it returns only when it
	 * did; meanwhile the machine keeps asking for the stop. */
	w.spec.state = STATE_STOPPED;
	snprintf(w.running_hash, sizeof(w.running_hash), "h1");
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h1");
	{
		struct machine_in in;

		memset(&in, 0, sizeof(in));
		in.spec = &w.spec;
		in.stage_known = true;
		in.stage = w.stage;
		in.running = MA_INCREMENTAL;
		in.running_hash = "h1";
		machine_step(&out, &w.rec, &in);
		assert_true(out.stop_request);
		assert_false(out.cancel);
		assert_int_equal(out.phase, PH_STOPPING);
	}
	/* without schema, the stop itself records cutover */
	w.running = MA_INCREMENTAL;
	out = run(&w, 20);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_int_equal(w.stage, META_CUTOVER_DONE);
}

static void test_full_only_with_verify_completes(void **state)
{
	struct world w;
	struct machine_out out;
	static const enum mact want[] = {
	    MA_OBSERVE, MA_PRECHECK, MA_WHITELIST_ADD,	   MA_SCHEMA_CREATE,
	    MA_FULL,	MA_VERIFY,   MA_SCHEMA_AFTER_FULL, MA_WHITELIST_REMOVE};

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL);
	w.spec.verify = true;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	assert_true(w.rec.verified);
	assert_log(&w, want, (int)(sizeof(want) / sizeof(want[0])));
}

static void test_type_subsets(void **state)
{
	struct world w;
	struct machine_out out;
	static const enum mact schema_only[] = {MA_OBSERVE,	      MA_PRECHECK,
						MA_WHITELIST_ADD,     MA_SCHEMA_CREATE,
						MA_SCHEMA_AFTER_FULL, MA_WHITELIST_REMOVE};
	static const enum mact inc_only[] = {MA_OBSERVE, MA_PRECHECK, MA_WHITELIST_ADD,
					     MA_INCREMENTAL};

	(void)state;
	world_init(&w, MT_SCHEMA);
	w.spec.verify = true; /* nothing to verify without full */
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	assert_log(&w, schema_only, 6);

	world_init(&w, MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INCREMENTAL);
	assert_log(&w, inc_only, 4);

	/* a failing schema step is Failed with the action named */
	world_init(&w, MT_SCHEMA | MT_FULL);
	script(&w, MA_SCHEMA_CREATE, GW_EFATAL);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_FAILED);
	assert_non_null(strstr(w.rec.message, "schema: boom"));
	assert_int_equal(w.stage, META_NONE);
}

static void test_whitelist_not_applicable(void **state)
{
	struct world w;
	struct machine_out out;
	static const enum mact want[] = {MA_OBSERVE, MA_PRECHECK, MA_WHITELIST_ADD, MA_FULL};

	(void)state;
	world_init(&w, MT_FULL);
	script(&w, MA_WHITELIST_ADD, GW_ENOTFOUND);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	assert_false(w.rec.whitelist_added);
	assert_log(&w, want, 4);
}

static void test_verify_mismatch_fails_and_edit_clears(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_FULL);
	w.spec.verify = true;
	script(&w, MA_VERIFY, GW_EFATAL);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_FAILED);
	assert_non_null(strstr(w.rec.message, "verify"));
	/* same spec: stays Failed, nothing runs */
	w.nlog = 0;
	out = run(&w, 5);
	assert_int_equal(out.phase, PH_FAILED);
	assert_int_equal(w.nlog, 0);
	/* a spec edit clears it: precheck again, then verify again */
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	assert_int_equal(w.log[0], MA_PRECHECK);
	assert_int_equal(w.log[w.nlog - 2], MA_VERIFY);
	assert_int_equal(w.log[w.nlog - 1], MA_WHITELIST_REMOVE);
}

static void test_precheck_failed(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL);
	w.precheck_failed = 2;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_PRECHECK_FAILED);
	assert_int_equal(w.stage, META_NONE); /* nothing written */
	assert_int_equal(w.nlog, 2);
	out = run(&w, 5);
	assert_int_equal(out.phase, PH_PRECHECK_FAILED);
	assert_int_equal(w.nlog, 2);
	/* saved broken (Invalid) and restored: PrecheckFailed again, not
	 * Invalid forever */
	w.invalid = true;
	out = run(&w, 5);
	assert_int_equal(out.phase, PH_INVALID);
	w.invalid = false;
	out = run(&w, 5);
	assert_int_equal(out.phase, PH_PRECHECK_FAILED);
	/* later, the servers fixed: the precheck runs again by itself */
	w.now += MACHINE_RECHECK_MS;
	w.precheck_failed = 0;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	assert_int_equal(w.log[2], MA_PRECHECK);
	/* a precheck that cannot run at all is PrecheckFailed too */
	world_init(&w, MT_FULL);
	script(&w, MA_PRECHECK, GW_EFATAL);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_PRECHECK_FAILED);
	/* fixed spec */
	w.precheck_failed = 0;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
}

static void test_retry_backoff_then_fail(void **state)
{
	struct world w;
	struct machine_out out;
	int64_t first;

	(void)state;
	world_init(&w, MT_FULL);
	script(&w, MA_FULL, GW_ERETRY);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_RETRYING);
	assert_int_equal(w.rec.retries, 1);
	first = out.wait_until_ms;
	assert_true(first >= w.now + 500 && first <= w.now + 1000);
	/* before the time: nothing */
	out = run(&w, 5);
	assert_int_equal(out.action, MA_NONE);
	assert_int_equal(out.phase, PH_RETRYING);
	/* after: the copy again, failing again: a longer wait */
	w.now = first;
	script(&w, MA_FULL, GW_ERETRY);
	out = run(&w, 50);
	assert_int_equal(w.rec.retries, 2);
	assert_true(out.wait_until_ms - w.now >= 1000 && out.wait_until_ms - w.now <= 2000);
	/* success resets */
	w.now = out.wait_until_ms;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	assert_int_equal(w.rec.retries, 0);
	assert_int_equal(w.rec.retries_total, 2);

	/* pausing while waiting to retry: Paused at once */
	world_init(&w, MT_FULL);
	script(&w, MA_FULL, GW_ERETRY);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_RETRYING);
	w.spec.state = STATE_PAUSED;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 5);
	assert_int_equal(out.phase, PH_PAUSED);

	/* past retryWindow: Failed */
	world_init(&w, MT_FULL);
	script(&w, MA_FULL, GW_ERETRY);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_RETRYING);
	w.now += 61000;
	script(&w, MA_FULL, GW_ERETRY);
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_FAILED);
	assert_non_null(strstr(w.rec.message, "retryWindow"));
	/* a lost destination while observing retries too */
	world_init(&w, MT_FULL);
	{
		struct machine_in in;

		memset(&in, 0, sizeof(in));
		in.spec = &w.spec;
		in.done = MA_OBSERVE;
		in.result = GW_ERETRY;
		in.error = "connection refused";
		in.now_ms = w.now;
		machine_step(&out, &w.rec, &in);
		assert_int_equal(out.phase, PH_RETRYING);
		assert_int_equal(out.action, MA_NONE);
		assert_true(out.wait_until_ms > w.now);
	}
}

static void test_retrying_until_healthy(void **state)
{
	struct world w;
	struct machine_out out;
	struct machine_in in;

	(void)state;
	world_init(&w, MT_FULL);
	script(&w, MA_FULL, GW_ERETRY);
	script(&w, MA_FULL, 99); /* then it keeps running */
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_RETRYING);
	w.now = out.wait_until_ms;
	out = run(&w, 50);
	assert_int_equal(w.running, MA_FULL);
	assert_int_equal(out.phase, PH_RETRYING); /* not yet proven to work */
	memset(&in, 0, sizeof(in));
	in.spec = &w.spec;
	in.stage_known = true;
	in.stage = META_FULL_STARTED;
	in.running = MA_FULL;
	in.running_hash = w.spec.hash;
	in.now_ms = w.now;
	machine_step(&out, &w.rec, &in);
	assert_int_equal(out.phase, PH_RETRYING);
	in.running_healthy = true; /* rows are moving again */
	machine_step(&out, &w.rec, &in);
	assert_int_equal(out.phase, PH_MIGRATING_FULL);
	assert_int_equal(w.rec.retries, 0);
	assert_string_equal(w.rec.message, "full: running"); /* not the old error */
	/* An outage that only started the window (the destination could not
	 * be reached to take the lock) is forgotten once work goes on too. */
	w.rec.retry_since_ms = w.now - 1000;
	machine_step(&out, &w.rec, &in);
	assert_int_equal(w.rec.retry_since_ms, 0);
}

static void test_backoff(void **state)
{
	int n;
	int64_t prev = 0, d;

	(void)state;
	for (n = 1; n < 30; n++) {
		d = machine_backoff_ms(n, 0);
		assert_true(d >= prev);
		prev = d;
		assert_true(machine_backoff_ms(n, 0xffffffffu) <= 300000);
	}
	assert_int_equal(machine_backoff_ms(1, 0), 500);
	assert_int_equal(machine_backoff_ms(30, 0), 150000);
	assert_true(machine_backoff_ms(3, 7) != machine_backoff_ms(3, 8)); /* jitter */
}

static void test_pause_and_resume(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL);
	script(&w, MA_FULL, 99); /* the copy keeps running */
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_MIGRATING_FULL);
	assert_int_equal(w.running, MA_FULL);
	w.spec.state = STATE_PAUSED;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 50);
	assert_int_equal(w.running, MA_NONE); /* cancelled */
	assert_int_equal(out.phase, PH_PAUSED);
	assert_int_equal(out.action, MA_NONE);
	w.nlog = 0;
	w.spec.state = STATE_RUNNING;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h3");
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_COMPLETED);
	/* precheck again before resuming after a spec change; schema not again */
	assert_int_equal(w.log[0], MA_PRECHECK);
	assert_int_equal(w.log[2], MA_FULL);
}

static void test_stop_during_copy_lets_it_finish(void **state)
{
	struct world w;
	struct machine_out out;
	struct machine_in in;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	script(&w, MA_FULL, 99);
	out = run(&w, 50);
	assert_int_equal(w.running, MA_FULL);
	w.spec.state = STATE_STOPPED;
	memset(&in, 0, sizeof(in));
	in.spec = &w.spec;
	in.stage_known = true;
	in.stage = META_FULL_STARTED;
	in.running = MA_FULL;
	in.running_hash = w.spec.hash; /* same spec (the edit restarted it) */
	machine_step(&out, &w.rec, &in);
	assert_false(out.cancel);
	assert_int_equal(out.phase, PH_MIGRATING_FULL);
	assert_non_null(strstr(w.rec.message, "finishes first"));
	/* the copy finishes: after-full, then the gated stop */
	w.running = MA_NONE;
	w.stage = META_FULL_DONE;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_false(w.rec.incomplete);
	assert_int_equal(w.stage, META_CUTOVER_DONE);
}

static void test_force_stop_during_copy(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	script(&w, MA_FULL, 99);
	out = run(&w, 50);
	assert_int_equal(w.running, MA_FULL);
	w.stage = META_FULL_STARTED;
	w.spec.state = STATE_STOPPED;
	w.spec.stop_force = true;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 50);
	assert_int_equal(w.running, MA_NONE);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_true(w.rec.incomplete);
	assert_false(w.rec.whitelist_added);
	assert_non_null(strstr(w.rec.message, "incomplete"));
	assert_int_equal(w.stage, META_FULL_STARTED); /* nothing dropped or faked */
	/* running again: the copy resumes and completes the destination */
	w.spec.state = STATE_RUNNING;
	w.spec.stop_force = false;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h3");
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INCREMENTAL);
	assert_false(w.rec.incomplete);
	assert_int_equal(w.stage, META_POST_FULL_DONE);
}

static void test_stop_before_anything(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL);
	w.spec.state = STATE_STOPPED;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_int_equal(w.nlog, 1); /* observe only */

	/* the schema was created, the copy not started: it is not started */
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	w.stage = META_SCHEMA_DONE;
	w.spec.state = STATE_STOPPED;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_int_equal(w.nlog, 1);
	assert_non_null(strstr(w.rec.message, "schema only"));
}

static void test_deleted_while_streaming(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(w.running, MA_INCREMENTAL);
	w.deleted = true;
	w.nlog = 0;
	out = run(&w, 50);
	assert_true(out.finished);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_int_equal(w.running, MA_NONE);
	assert_int_equal(w.nlog, 1);
	assert_int_equal(w.log[0], MA_WHITELIST_REMOVE);
	assert_int_equal(w.stage, META_POST_FULL_DONE); /* no cutover, nothing dropped */
	assert_non_null(strstr(w.rec.message, "kept"));
	assert_true(w.rec.deleted); /* carried out: not taken up again */
}

static void test_invalid(void **state)
{
	struct world w;
	struct machine_out out;

	(void)state;
	world_init(&w, MT_FULL | MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(w.running, MA_INCREMENTAL);
	w.invalid = true;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INVALID);
	assert_int_equal(w.running, MA_NONE);
	w.invalid = false;
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INCREMENTAL);
}

static void test_spec_immutable(void **state)
{
	struct spec s;

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(s.immutable_hash, sizeof(s.immutable_hash), "new");
	assert_false(machine_spec_immutable(META_NONE, "old", &s));
	assert_true(machine_spec_immutable(META_SCHEMA_DONE, "old", &s));
	assert_true(machine_spec_immutable(META_FULL_STARTED, "old", &s));
	assert_false(machine_spec_immutable(META_FULL_STARTED, "new", &s));
	assert_false(machine_spec_immutable(META_FULL_STARTED, "", &s));
}

/*
 * A crash at every step: the controller dies after action k, either
 * before or after the action's stage was recorded on the destination and
 * before its record was saved. The restarted controller (record from the
 * last save, phase re-derived, stage read again) must converge to the same
 * end, and never run an action whose stage was already recorded.
 */
static void test_crash_at_every_step(void **state)
{
	unsigned types[] = {MT_SCHEMA | MT_FULL, MT_SCHEMA | MT_FULL | MT_INCREMENTAL, MT_FULL};
	size_t ti;
	int k, variant;

	(void)state;
	for (ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++)
		for (k = 1; k < 10; k++)
			for (variant = 0; variant < 2; variant++) {
				struct world w;
				struct machine_out out;
				enum meta_stage st_before;
				int i;

				world_init(&w, types[ti]);
				w.spec.verify = true;
				/* k machine steps; the k-th action ran but its
				 * result never reached the (saved) record */
				for (i = 0; i < k && w.running == MA_NONE; i++)
					out = run(&w, 1);
				(void)out;
				w.done = MA_NONE;
				w.result = 0;
				if (variant == 0)
					w.stage = w.stage_at_step;
				if (!phase_steady(w.rec.phase) || w.rec.phase == PH_INCREMENTAL)
					w.rec.phase = PH_PENDING;
				w.stage_known = false;
				w.running = MA_NONE;
				w.nlog = 0;
				st_before = w.stage;
				out = run(&w, 60);
				if (types[ti] & MT_INCREMENTAL)
					assert_int_equal(w.rec.phase, PH_INCREMENTAL);
				else
					assert_int_equal(w.rec.phase, PH_COMPLETED);
				for (i = 0; i < w.nlog; i++) {
					enum meta_stage ms = mact_stage(w.log[i], &w.spec);

					if (ms != META_NONE && ms <= st_before)
						fail_msg("k=%d: %s repeated after its stage", k,
							 mact_name(w.log[i]));
				}
				/* whitelist never left behind on a completed task */
				if (!(types[ti] & MT_INCREMENTAL))
					assert_false(w.rec.whitelist_added);
			}
}

/* Every retry n waits between half and all of min(1 s * 2^(n-1), 5 min),
 * whatever the jitter, and the jitter spreads over that whole range. */
static void test_backoff_jitter_bounds(void **state)
{
	static const uint32_t jit[] = {0, 1, 499, 500, 501, 12345, 0x7fffffffu, 0xffffffffu};
	int n;
	size_t j;

	(void)state;
	for (n = 1; n <= 40; n++) {
		int64_t d = n >= 10 ? 300000 : 1000LL << (n - 1);
		int64_t lo = -1, hi = -1;

		if (d > 300000)
			d = 300000;
		for (j = 0; j < sizeof(jit) / sizeof(jit[0]); j++) {
			int64_t b = machine_backoff_ms(n, jit[j]);

			if (b < d / 2 || b > d)
				fail_msg("retry %d, jitter %u: %lld ms outside [%lld, %lld]", n,
					 jit[j], (long long)b, (long long)(d / 2), (long long)d);
		}
		for (j = 0; j < 2000; j++) {
			int64_t b = machine_backoff_ms(n, (uint32_t)(j * 2654435761u));

			lo = lo < 0 || b < lo ? b : lo;
			hi = b > hi ? b : hi;
		}
		/* the random half is used, not a sliver of it */
		assert_true(hi - lo >= d / 4);
	}
}

/* Paused while streaming: the stream is cancelled (it checkpoints), the
 * copy is not redone on resume; deleted during a copy: cancelled like a
 * forced stop, the destination marked incomplete, nothing dropped. */
static void test_pause_streaming_and_delete_copying(void **state)
{
	struct world w;
	struct machine_out out;
	int i;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(w.running, MA_INCREMENTAL);
	assert_int_equal(out.phase, PH_INCREMENTAL);
	w.spec.state = STATE_PAUSED;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	out = run(&w, 50);
	assert_int_equal(w.running, MA_NONE);
	assert_int_equal(out.phase, PH_PAUSED);
	assert_int_equal(w.stage, META_POST_FULL_DONE); /* no cutover on pause */
	w.nlog = 0;
	w.spec.state = STATE_RUNNING;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h3");
	out = run(&w, 50);
	assert_int_equal(out.phase, PH_INCREMENTAL);
	assert_int_equal(w.running, MA_INCREMENTAL);
	for (i = 0; i < w.nlog; i++)
		if (w.log[i] == MA_FULL || w.log[i] == MA_SCHEMA_CREATE)
			fail_msg("resume after pause ran %s again", mact_name(w.log[i]));

	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	script(&w, MA_FULL, 99); /* the copy keeps running */
	out = run(&w, 50);
	assert_int_equal(w.running, MA_FULL);
	w.stage = META_FULL_STARTED;
	w.deleted = true;
	w.nlog = 0;
	out = run(&w, 50);
	assert_int_equal(w.running, MA_NONE);
	assert_true(out.finished);
	assert_int_equal(out.phase, PH_STOPPED);
	assert_true(w.rec.incomplete);
	assert_int_equal(w.stage, META_FULL_STARTED);
	for (i = 0; i < w.nlog; i++)
		assert_true(w.log[i] == MA_WHITELIST_REMOVE || w.log[i] == MA_OBSERVE);
}

/* A transient failure at every step of the path (observe excepted) goes to
 * Retrying and, after the wait, back to the same step and on to the end;
 * a permanent one at every step is Failed (PrecheckFailed for the
 * precheck) and runs nothing more until the spec changes. */
static void test_failure_at_every_step(void **state)
{
	static const enum mact steps[] = {MA_PRECHECK, MA_SCHEMA_CREATE, MA_FULL, MA_VERIFY,
					  MA_SCHEMA_AFTER_FULL};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct world w;
		struct machine_out out;
		int n;

		world_init(&w, MT_SCHEMA | MT_FULL);
		w.spec.verify = true;
		script(&w, steps[i], GW_ERETRY);
		out = run(&w, 50);
		assert_int_equal(out.phase, PH_RETRYING);
		assert_int_equal(w.log[w.nlog - 1], steps[i]);
		n = w.nlog;
		w.now = out.wait_until_ms;
		out = run(&w, 50);
		assert_int_equal(out.phase, PH_COMPLETED);
		assert_int_equal(w.log[n], steps[i]); /* the same step again */

		world_init(&w, MT_SCHEMA | MT_FULL);
		w.spec.verify = true;
		script(&w, steps[i], GW_EFATAL);
		out = run(&w, 50);
		assert_int_equal(out.phase,
				 steps[i] == MA_PRECHECK ? PH_PRECHECK_FAILED : PH_FAILED);
		assert_non_null(strstr(w.rec.message, "boom"));
		n = w.nlog;
		w.now += 1000;
		out = run(&w, 50);
		assert_int_equal(w.nlog, n); /* blocked: nothing runs */
		snprintf(w.spec.hash, sizeof(w.spec.hash), "edited");
		out = run(&w, 50);
		assert_int_equal(out.phase, PH_COMPLETED);
		assert_int_equal(w.log[n], MA_PRECHECK); /* the edit runs the precheck */
	}
}

/* A crash at every step of the gated stop (the stream stopped, the schema
 * cutover, the whitelist removal): the restarted controller ends Stopped
 * with the cutover recorded, and never repeats an action whose stage was
 * recorded. */
static void test_crash_during_stop(void **state)
{
	int k, variant;

	(void)state;
	for (k = 1; k < 6; k++)
		for (variant = 0; variant < 2; variant++) {
			struct world w;
			struct machine_out out;
			enum meta_stage st_before;
			int i;

			world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
			out = run(&w, 50);
			assert_int_equal(w.running, MA_INCREMENTAL);
			w.spec.state = STATE_STOPPED;
			snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
			w.nlog = 0;
			for (i = 0; i < k && out.phase != PH_STOPPED; i++)
				out = run(&w, 1);
			w.done = MA_NONE;
			w.result = 0;
			if (variant == 0)
				w.stage = w.stage_at_step;
			if (!phase_steady(w.rec.phase))
				w.rec.phase = PH_PENDING;
			w.stage_known = false;
			w.running = MA_NONE;
			w.nlog = 0;
			st_before = w.stage;
			out = run(&w, 60);
			assert_int_equal(w.rec.phase, PH_STOPPED);
			assert_int_equal(w.stage, META_CUTOVER_DONE);
			assert_false(w.rec.whitelist_added);
			for (i = 0; i < w.nlog; i++) {
				enum meta_stage ms = mact_stage(w.log[i], &w.spec);

				if (ms != META_NONE && ms <= st_before)
					fail_msg("k=%d: %s repeated after its stage", k,
						 mact_name(w.log[i]));
				if (w.log[i] == MA_FULL || w.log[i] == MA_SCHEMA_CREATE)
					fail_msg("k=%d: %s during a stop", k, mact_name(w.log[i]));
			}
		}
}

/* The edit to state: stopped while streaming: from then on the phase is
 * Stopping until Stopped, never back to Whitelisting or Incremental (the
 * stream restarts with the new spec and the whitelist is refreshed). */
static void test_stop_edit_phases(void **state)
{
	struct world w;
	struct machine_out out;
	int i;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	out = run(&w, 50);
	assert_int_equal(w.running, MA_INCREMENTAL);
	w.spec.state = STATE_STOPPED;
	snprintf(w.spec.hash, sizeof(w.spec.hash), "h2");
	for (i = 0; i < 20 && out.phase != PH_STOPPED; i++) {
		out = run(&w, 1);
		if (out.phase != PH_STOPPING && out.phase != PH_STOPPED)
			fail_msg("step %d after the stop edit: phase %s", i, phase_name(out.phase));
	}
	assert_int_equal(out.phase, PH_STOPPED);
}

static void test_plan(void **state)
{
	struct world w;
	enum mact plan[32];
	size_t n;

	(void)state;
	world_init(&w, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	n = machine_plan(plan, 32, &w.rec, &w.spec, META_NONE);
	assert_int_equal(n, 5); /* no rds: no whitelist step */
	assert_int_equal(plan[0], MA_PRECHECK);
	assert_int_equal(plan[2], MA_FULL);
	assert_int_equal(plan[4], MA_INCREMENTAL);
	w.spec.destination.is_rds = true;
	n = machine_plan(plan, 32, &w.rec, &w.spec, META_NONE);
	assert_int_equal(n, 6);
	assert_int_equal(plan[1], MA_WHITELIST_ADD);
	/* from a state: full done, stop requested with freeze */
	w.spec.state = STATE_STOPPED;
	w.spec.stop_freeze_source = true;
	snprintf(w.rec.whitelist_hash, sizeof(w.rec.whitelist_hash), "h1");
	w.rec.whitelist_added = true;
	n = machine_plan(plan, 32, &w.rec, &w.spec, META_FULL_DONE);
	assert_int_equal(n, 4);
	assert_int_equal(plan[0], MA_SCHEMA_AFTER_FULL);
	assert_int_equal(plan[1], MA_INCREMENTAL);
	assert_true(mact_irreversible(plan[1], &w.spec));
	assert_int_equal(plan[2], MA_SCHEMA_CUTOVER);
	assert_int_equal(plan[3], MA_WHITELIST_REMOVE);
	assert_true(mact_irreversible(plan[3], &w.spec));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_full_incremental_path_and_gated_stop),
	    cmocka_unit_test(test_stop_waits_while_streaming),
	    cmocka_unit_test(test_full_only_with_verify_completes),
	    cmocka_unit_test(test_type_subsets),
	    cmocka_unit_test(test_whitelist_not_applicable),
	    cmocka_unit_test(test_verify_mismatch_fails_and_edit_clears),
	    cmocka_unit_test(test_precheck_failed),
	    cmocka_unit_test(test_retry_backoff_then_fail),
	    cmocka_unit_test(test_retrying_until_healthy),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_backoff_jitter_bounds),
	    cmocka_unit_test(test_pause_streaming_and_delete_copying),
	    cmocka_unit_test(test_failure_at_every_step),
	    cmocka_unit_test(test_crash_during_stop),
	    cmocka_unit_test(test_stop_edit_phases),
	    cmocka_unit_test(test_pause_and_resume),
	    cmocka_unit_test(test_stop_during_copy_lets_it_finish),
	    cmocka_unit_test(test_force_stop_during_copy),
	    cmocka_unit_test(test_stop_before_anything),
	    cmocka_unit_test(test_deleted_while_streaming),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_spec_immutable),
	    cmocka_unit_test(test_crash_at_every_step),
	    cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
