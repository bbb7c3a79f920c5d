/*
 * The phase machine of one migration.
 *
 *                      (spec loads)
 *   Invalid <------------- any ---------------> Pending
 *                                                  | observe(): meta stage read
 *                                                  v
 *   PrecheckFailed <-- precheck fail --- Prechecking    (spec hash != precheck_hash)
 *                                                  | pass_precheck()
 *                                                  v
 *                                            Whitelisting   (add; n/a without rds)
 *                                                  |
 *                                                  v
 *                                          MigratingSchema  SCHEMA_CREATE
 *                                                  |
 *                                                  v
 *                                           MigratingFull   full copy (long), then
 *                                                  |        verify when spec.verify
 *                                                  v
 *                                          MigratingSchema  SCHEMA_AFTER_FULL
 *                                         /                \
 *                      no incremental    /                  \  incremental
 *                                       v                    v
 *       Completed <-- whitelist remove --       Incremental (long, never ends by itself)
 *                                                            | state: stopped
 *                                                            v
 *                                                         Stopping  gated stop (maxDelay,
 *                                                            |      freezeSource, drain),
 *                                                            v      SCHEMA_CUTOVER,
 *                                                         Stopped   whitelist remove
 *
 *   From any running phase:  GW_ERETRY -> Retrying (backoff) -> the same step
 *                            past retryWindow or GW_EFATAL -> Failed
 *                            state: paused -> Paused (workers cancelled)
 *                            state: stopped, force -> Stopped (copy cancelled)
 *                            spec deleted -> Stopping -> Stopped (forgotten)
 *
 * Edges are taken by: take_result() (the outcome of an action: pass/fail
 * precheck, retry, fail), decide() (everything level-triggered from spec and
 * stage), decide_running() (while a worker runs: cancel, stop request),
 * decide_deleted(), decide_stopped_force().
 *
 * Invariants:
 *  1. The meta stage on the destination is the truth for data: the machine
 *     never asks for an action whose stage is already recorded, and asks
 *     again for one whose stage is missing (a crash between the action and
 *     its record only repeats an idempotent action).
 *  2. Nothing is written before a precheck passed for the spec hash being
 *     run (state: running). A spec edit asks for a new precheck.
 *  3. A task blocked (Failed/PrecheckFailed) stays so until the spec hash
 *     changes; the edit clears the block. PrecheckFailed also runs the
 *     precheck again every MACHINE_RECHECK_MS (the servers may be fixed).
 *  4. Deleting a spec, pausing or stopping never drops destination data:
 *     the only actions then are cancel, the gated stop, the schema
 *     cutover and the whitelist removal.
 *  5. state: stopped without force lets a running copy finish; with force
 *     it cancels and marks the destination incomplete if the copy had
 *     started and not finished.
 *  6. At most one action runs per task at a time.
 */
#include "lib/common.h"
#include "reconcile/machine.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static const char *const phase_names[PH__COUNT] = {
    [PH_PENDING] = "Pending",
    [PH_PRECHECKING] = "Prechecking",
    [PH_WHITELISTING] = "Whitelisting",
    [PH_MIGRATING_SCHEMA] = "MigratingSchema",
    [PH_MIGRATING_FULL] = "MigratingFull",
    [PH_INCREMENTAL] = "Incremental",
    [PH_STOPPING] = "Stopping",
    [PH_STOPPED] = "Stopped",
    [PH_COMPLETED] = "Completed",
    [PH_PRECHECK_FAILED] = "PrecheckFailed",
    [PH_PAUSED] = "Paused",
    [PH_RETRYING] = "Retrying",
    [PH_FAILED] = "Failed",
    [PH_INVALID] = "Invalid",
};

static const char *const mact_names[MA__COUNT] = {
    [MA_NONE] = "none",
    [MA_OBSERVE] = "observe",
    [MA_PRECHECK] = "precheck",
    [MA_WHITELIST_ADD] = "whitelist-add",
    [MA_SCHEMA_CREATE] = "schema",
    [MA_FULL] = "full",
    [MA_VERIFY] = "verify",
    [MA_SCHEMA_AFTER_FULL] = "schema-after-full",
    [MA_INCREMENTAL] = "incremental",
    [MA_SCHEMA_CUTOVER] = "schema-cutover",
    [MA_WHITELIST_REMOVE] = "whitelist-remove",
};

const char *phase_name(enum phase p)
{
	return (unsigned)p < PH__COUNT ? phase_names[p] : "Unknown";
}

int phase_parse(const char *s)
{
	int i;

	for (i = 0; i < PH__COUNT; i++)
		if (!strcmp(phase_names[i], s))
			return i;
	return -1;
}

bool phase_steady(enum phase p)
{
	switch (p) {
	case PH_COMPLETED:
	case PH_STOPPED:
	case PH_PAUSED:
	case PH_INVALID:
	case PH_PRECHECK_FAILED:
	case PH_FAILED:
	case PH_INCREMENTAL: return true;
	default: return false;
	}
}

bool phase_is_error(enum phase p)
{
	return p == PH_INVALID || p == PH_PRECHECK_FAILED || p == PH_FAILED;
}

const char *mact_name(enum mact a)
{
	return (unsigned)a < MA__COUNT ? mact_names[a] : "unknown";
}

bool mact_is_long(enum mact a)
{
	return a == MA_FULL || a == MA_INCREMENTAL || a == MA_VERIFY;
}

static bool has(const struct spec *s, unsigned t)
{
	return (s->migration_types & t) != 0;
}

bool mact_irreversible(enum mact a, const struct spec *s)
{
	switch (a) {
	case MA_WHITELIST_REMOVE:
	case MA_SCHEMA_CUTOVER: return true;
	case MA_INCREMENTAL:
		/* the gated stop, when it freezes the source */
		return s->state == STATE_STOPPED && s->stop_freeze_source;
	default: return false;
	}
}

const char *meta_stage_name(enum meta_stage st)
{
	static const char *const names[] = {"none",	 "schema_done",	   "full_started",
					    "full_done", "post_full_done", "cutover_done"};

	return (size_t)st < ARRAY_SIZE(names) ? names[st] : "unknown";
}

enum meta_stage mact_stage(enum mact a, const struct spec *s)
{
	switch (a) {
	case MA_SCHEMA_CREATE: return META_SCHEMA_DONE;
	case MA_FULL: return META_FULL_DONE;
	case MA_SCHEMA_AFTER_FULL: return META_POST_FULL_DONE;
	case MA_SCHEMA_CUTOVER: return META_CUTOVER_DONE;
	case MA_INCREMENTAL:
		/* without schema there is no cutover step: the stop is it */
		return has(s, MT_SCHEMA) ? META_NONE : META_CUTOVER_DONE;
	default: return META_NONE;
	}
}

void task_record_init(struct task_record *r)
{
	memset(r, 0, sizeof(*r));
	r->phase = PH_PENDING;
}

int64_t machine_backoff_ms(int n, uint32_t jitter)
{
	int64_t d = 1000;
	int i;

	for (i = 1; i < n && d < 300000; i++)
		d *= 2;
	if (d > 300000)
		d = 300000;
	return d / 2 + (int64_t)(jitter % (uint32_t)(d / 2 + 1));
}

bool machine_spec_immutable(enum meta_stage stage, const char *meta_immutable_hash,
			    const struct spec *desired)
{
	return stage > META_NONE && meta_immutable_hash && meta_immutable_hash[0] &&
	       strcmp(meta_immutable_hash, desired->immutable_hash) != 0;
}

static void set_msg(struct task_record *rec, const char *fmt, const char *arg)
{
	snprintf(rec->message, sizeof(rec->message), fmt, arg ? arg : "");
}

static void block(struct task_record *rec, const struct spec *s, enum phase p)
{
	rec->phase = p;
	rec->blocked_phase = p;
	snprintf(rec->blocked_hash, sizeof(rec->blocked_hash), "%s", s ? s->hash : "");
	rec->retries = 0;
	rec->retry_since_ms = 0;
	rec->next_attempt_ms = 0;
}

/* The edges taken by the outcome of an action. */
static void take_result(struct task_record *rec, const struct machine_in *in)
{
	const struct spec *s = in->spec;
	int r = in->result;

	if (in->warning && in->warning[0])
		snprintf(rec->warning, sizeof(rec->warning), "%s", in->warning);
	/* whatever its outcome, entries the precheck added are ours to remove */
	if (in->done == MA_PRECHECK && in->precheck_whitelisted)
		rec->whitelist_added = true;
	if (r == GW_ECANCEL)
		return;
	if (r == 0 || (r == GW_ENOTFOUND &&
		       (in->done == MA_WHITELIST_ADD || in->done == MA_WHITELIST_REMOVE))) {
		rec->retries = 0;
		rec->retry_since_ms = 0;
		rec->next_attempt_ms = 0;
		rec->last_success_ms = in->now_ms;
		switch (in->done) {
		case MA_PRECHECK:
			if (in->precheck_failed > 0) {
				block(rec, s, PH_PRECHECK_FAILED);
				rec->next_attempt_ms = in->now_ms + MACHINE_RECHECK_MS;
				snprintf(rec->message, sizeof(rec->message),
					 "precheck: %d item(s) failed: %s (see precheck.yaml)",
					 in->precheck_failed,
					 in->error && in->error[0] ? in->error : "?");
				return;
			}
			if (s)
				snprintf(rec->precheck_hash, sizeof(rec->precheck_hash), "%s",
					 s->hash);
			set_msg(rec, "precheck passed", NULL);
			break;
		case MA_WHITELIST_ADD:
			if (s)
				snprintf(rec->whitelist_hash, sizeof(rec->whitelist_hash), "%s",
					 s->hash);
			rec->whitelist_added = r == 0;
			break;
		case MA_WHITELIST_REMOVE:
			rec->whitelist_added = false;
			rec->whitelist_hash[0] = 0;
			break;
		case MA_VERIFY:
			rec->verified = true;
			set_msg(rec, "verify: source and destination are equal", NULL);
			break;
		case MA_INCREMENTAL:
			rec->incremental_done = true;
			set_msg(rec, "incremental stopped", NULL);
			break;
		case MA_FULL: set_msg(rec, "full copy done", NULL); break;
		default: break;
		}
		return;
	}
	if (r == GW_ERETRY && s) {
		if (!rec->retry_since_ms)
			rec->retry_since_ms = in->now_ms;
		rec->retries++;
		rec->retries_total++;
		if (in->now_ms - rec->retry_since_ms > s->retry_window_ms) {
			block(rec, s, PH_FAILED);
			snprintf(rec->message, sizeof(rec->message),
				 "%s: gave up after retryWindow: %s", mact_name(in->done),
				 in->error ? in->error : "");
			return;
		}
		rec->next_attempt_ms = in->now_ms + machine_backoff_ms(rec->retries, in->jitter);
		rec->phase = PH_RETRYING;
		snprintf(rec->message, sizeof(rec->message), "%s: %s (retry %d)",
			 mact_name(in->done), in->error ? in->error : "", rec->retries);
		return;
	}
	block(rec, s, in->done == MA_PRECHECK ? PH_PRECHECK_FAILED : PH_FAILED);
	if (in->done == MA_PRECHECK)
		rec->next_attempt_ms = in->now_ms + MACHINE_RECHECK_MS;
	snprintf(rec->message, sizeof(rec->message), "%s: %s", mact_name(in->done),
		 in->error ? in->error : err_code_name(r));
}

static void start(struct machine_out *out, enum mact a, enum phase p)
{
	out->action = a;
	out->phase = p;
}

/* start() from decide(), which also says what runs in the message. While
 * transient failures repeat, the phase stays Retrying. */
static void start_msg(struct machine_out *out, struct task_record *rec, enum mact a, enum phase p)
{
	start(out, a, rec->retries ? PH_RETRYING : p);
	if (!rec->retries)
		snprintf(rec->message, sizeof(rec->message), "%s: running", mact_name(a));
}

/* The phase of a task while action a runs. */
static enum phase phase_of(enum mact a, const struct spec *s, enum phase cur)
{
	switch (a) {
	case MA_PRECHECK: return PH_PRECHECKING;
	case MA_WHITELIST_ADD:
		/* the edit that asks for the stop also refreshes the whitelist:
		 * the migration is stopping, not going back */
		return s->state == STATE_STOPPED ? PH_STOPPING : PH_WHITELISTING;
	case MA_SCHEMA_CREATE:
	case MA_SCHEMA_AFTER_FULL: return PH_MIGRATING_SCHEMA;
	case MA_FULL:
	case MA_VERIFY: return PH_MIGRATING_FULL;
	case MA_INCREMENTAL: return s->state == STATE_STOPPED ? PH_STOPPING : PH_INCREMENTAL;
	case MA_SCHEMA_CUTOVER:
	case MA_WHITELIST_REMOVE: return PH_STOPPING;
	default: return cur;
	}
}

static void decide_deleted(struct machine_out *out, struct task_record *rec,
			   const struct machine_in *in)
{
	if (in->running != MA_NONE) {
		out->cancel = true;
		out->phase = PH_STOPPING;
		return;
	}
	if (rec->whitelist_added && in->spec) {
		start(out, MA_WHITELIST_REMOVE, PH_STOPPING);
		return;
	}
	out->phase = PH_STOPPED;
	out->finished = true;
	rec->deleted = true;
	if (in->stage_known && in->stage >= META_FULL_STARTED && in->stage < META_FULL_DONE)
		rec->incomplete = true;
	set_msg(rec, "%s",
		rec->incomplete ? "spec deleted: stopped; the destination is incomplete "
				  "(the full copy had not finished); data kept"
				: "spec deleted: stopped; destination data kept");
}

static void decide_stopped_force(struct machine_out *out, struct task_record *rec,
				 const struct machine_in *in)
{
	const struct spec *s = in->spec;

	if (rec->whitelist_added) {
		start(out, MA_WHITELIST_REMOVE, PH_STOPPING);
		return;
	}
	out->phase = PH_STOPPED;
	rec->incomplete =
	    has(s, MT_FULL) && in->stage >= META_FULL_STARTED && in->stage < META_FULL_DONE;
	set_msg(rec, "%s",
		rec->incomplete ? "stopped by force: the destination is incomplete (the "
				  "full copy had not finished)"
				: "stopped by force");
}

/* While a worker runs: only cancels and stop requests. */
static void decide_running(struct machine_out *out, struct task_record *rec,
			   const struct machine_in *in)
{
	const struct spec *s = in->spec;
	enum mact a = in->running;
	bool changed = in->running_hash && strcmp(in->running_hash, s->hash) != 0;

	if (in->running_healthy && (rec->retries || rec->retry_since_ms)) {
		/* back to work: the error of the last attempt is history, and
		 * the next outage has a retryWindow of its own (an unreachable
		 * destination starts the window without counting a retry) */
		if (rec->retries)
			snprintf(rec->message, sizeof(rec->message), "%s: running", mact_name(a));
		rec->retries = 0;
		rec->retry_since_ms = 0;
	}
	out->phase = rec->retries ? PH_RETRYING : phase_of(a, s, rec->phase);
	if (s->state == STATE_PAUSED) {
		out->cancel = true;
		out->phase = PH_PAUSED;
		return;
	}
	if (s->state == STATE_STOPPED && s->stop_force && mact_is_long(a)) {
		out->cancel = true;
		out->phase = PH_STOPPING;
		return;
	}
	/* A long action restarts with the new spec (it resumes from its
	 * checkpoint); a short one finishes and the next step sees it. */
	if (changed && mact_is_long(a)) {
		out->cancel = true;
		return;
	}
	if (a == MA_INCREMENTAL && s->state == STATE_STOPPED) {
		out->stop_request = true;
		out->phase = PH_STOPPING;
	}
	if (a == MA_FULL && s->state == STATE_STOPPED)
		set_msg(rec, "stop requested: the full copy finishes first", NULL);
}

static void decide(struct machine_out *out, struct task_record *rec, const struct machine_in *in)
{
	const struct spec *s = in->spec;
	enum meta_stage st = in->stage;
	bool stopping = s->state == STATE_STOPPED;
	bool schema_done = !has(s, MT_SCHEMA) || st >= META_SCHEMA_DONE;
	bool full_done = !has(s, MT_FULL) || st >= META_FULL_DONE;
	bool verify_done = !has(s, MT_FULL) || !s->verify || rec->verified;
	bool post_done = !has(s, MT_SCHEMA) || st >= META_POST_FULL_DONE;
	bool all_done;

	if (has(s, MT_INCREMENTAL))
		all_done = st >= META_CUTOVER_DONE;
	else
		all_done = schema_done && full_done && verify_done && post_done;

	if (all_done) {
		if (rec->whitelist_added) {
			start_msg(out, rec, MA_WHITELIST_REMOVE, PH_STOPPING);
			return;
		}
		rec->incomplete = false;
		out->phase = has(s, MT_INCREMENTAL) ? PH_STOPPED : PH_COMPLETED;
		if (rec->phase != out->phase)
			set_msg(rec, "%s",
				!has(s, MT_INCREMENTAL) ? "completed: every object copied"
				: has(s, MT_SCHEMA)
				    ? "stopped; cutover done: destination triggers created and "
				      "events enabled"
				    : "stopped (no schema migration: destination triggers and "
				      "events left as they are)");
		return;
	}
	if (s->state == STATE_PAUSED) {
		out->phase = PH_PAUSED;
		set_msg(rec, "paused", NULL);
		return;
	}
	if (stopping && s->stop_force) {
		decide_stopped_force(out, rec, in);
		return;
	}
	if (rec->next_attempt_ms > in->now_ms) {
		out->phase = PH_RETRYING;
		out->wait_until_ms = rec->next_attempt_ms;
		return;
	}
	if (stopping && (st == META_NONE || (has(s, MT_FULL) && st < META_FULL_STARTED))) {
		/* no data moved: nothing to finish or drain, and a copy that
		 * has not started is not started now */
		if (rec->whitelist_added) {
			start_msg(out, rec, MA_WHITELIST_REMOVE, PH_STOPPING);
			return;
		}
		out->phase = PH_STOPPED;
		set_msg(rec, "%s",
			st == META_NONE
			    ? "stopped before any data moved"
			    : "stopped before the full copy started: the destination has "
			      "the schema only");
		return;
	}
	if (!stopping)
		rec->incomplete = false; /* resumed: the copy goes on */
	if (!stopping && strcmp(rec->precheck_hash, s->hash) != 0) {
		start_msg(out, rec, MA_PRECHECK, PH_PRECHECKING);
		return;
	}
	if (strcmp(rec->whitelist_hash, s->hash) != 0) {
		start_msg(out, rec, MA_WHITELIST_ADD, phase_of(MA_WHITELIST_ADD, s, rec->phase));
		return;
	}
	if (!schema_done) {
		start_msg(out, rec, MA_SCHEMA_CREATE, PH_MIGRATING_SCHEMA);
		return;
	}
	if (!full_done) {
		start_msg(out, rec, MA_FULL, PH_MIGRATING_FULL);
		return;
	}
	if (!verify_done) {
		start_msg(out, rec, MA_VERIFY, PH_MIGRATING_FULL);
		return;
	}
	if (!post_done) {
		start_msg(out, rec, MA_SCHEMA_AFTER_FULL, PH_MIGRATING_SCHEMA);
		return;
	}
	/* incremental, not cut over yet */
	if (!stopping)
		rec->incremental_done = false;
	if (rec->incremental_done && has(s, MT_SCHEMA)) {
		start_msg(out, rec, MA_SCHEMA_CUTOVER, PH_STOPPING);
		return;
	}
	start_msg(out, rec, MA_INCREMENTAL, stopping ? PH_STOPPING : PH_INCREMENTAL);
	out->stop_request = stopping;
}

void machine_step(struct machine_out *out, struct task_record *rec, const struct machine_in *in)
{
	memset(out, 0, sizeof(*out));
	if (in->done != MA_NONE && in->done != MA_OBSERVE)
		take_result(rec, in);
	else if (in->done == MA_OBSERVE && in->result < 0 && in->result != GW_ECANCEL)
		take_result(rec, in);
	out->phase = rec->phase;

	if (in->deleted) {
		decide_deleted(out, rec, in);
		goto out;
	}
	if (in->invalid || !in->spec) {
		out->cancel = in->running != MA_NONE;
		out->phase = PH_INVALID;
		set_msg(rec, "%s", in->invalid_msg ? in->invalid_msg : "invalid spec");
		goto out;
	}
	if (rec->blocked_hash[0]) {
		/* the servers may have been fixed: PrecheckFailed runs the
		 * precheck again now and then */
		bool recheck = rec->blocked_phase == PH_PRECHECK_FAILED && rec->next_attempt_ms &&
			       in->now_ms >= rec->next_attempt_ms;

		if (!strcmp(rec->blocked_hash, in->spec->hash) && !recheck) {
			/* (the phase may have been Invalid in between) */
			out->phase = rec->blocked_phase == PH_PRECHECK_FAILED ? PH_PRECHECK_FAILED
									      : PH_FAILED;
			out->cancel = in->running != MA_NONE;
			goto out;
		}
		/* a spec edit clears Failed / PrecheckFailed */
		rec->blocked_hash[0] = 0;
		rec->retries = 0;
		rec->retry_since_ms = 0;
		rec->next_attempt_ms = 0;
		rec->phase = PH_PENDING;
		out->phase = PH_PENDING;
	}
	if (in->running != MA_NONE) {
		decide_running(out, rec, in);
		goto out;
	}
	if (!in->stage_known) {
		if (rec->next_attempt_ms > in->now_ms) {
			out->phase = PH_RETRYING;
			out->wait_until_ms = rec->next_attempt_ms;
			goto out;
		}
		out->action = MA_OBSERVE;
		goto out;
	}
	decide(out, rec, in);
out:
	rec->phase = out->phase;
}

size_t machine_plan(enum mact *out, size_t max, const struct task_record *rec_in,
		    const struct spec *s, enum meta_stage stage)
{
	struct task_record rec = *rec_in;
	struct machine_in in;
	struct machine_out mo;
	size_t n = 0;
	int guard;
	bool rds = s->source.is_rds || s->destination.is_rds;

	memset(&in, 0, sizeof(in));
	in.spec = s;
	in.stage_known = true;
	in.stage = stage;
	rec.next_attempt_ms = 0;
	for (guard = 0; guard < 32 && n < max; guard++) {
		machine_step(&mo, &rec, &in);
		if (mo.action == MA_NONE)
			break;
		/* without rds endpoints the whitelist action does nothing */
		if (rds || (mo.action != MA_WHITELIST_ADD && mo.action != MA_WHITELIST_REMOVE))
			out[n++] = mo.action;
		/* Incremental never ends by itself unless asked to stop. */
		if (mo.action == MA_INCREMENTAL && !mo.stop_request)
			break;
		in.done = mo.action;
		in.result = !rds && mo.action == MA_WHITELIST_ADD ? GW_ENOTFOUND : 0;
		in.precheck_failed = 0;
		if (mact_stage(mo.action, s) > in.stage)
			in.stage = mact_stage(mo.action, s);
	}
	return n;
}
