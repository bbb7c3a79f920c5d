#include "lib/common.h"
#include "controller/status.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

/* spec_state_name() of spec/, kept local so that this builds alone. */
static const char *state_word(enum desired_state st)
{
	return st == STATE_PAUSED ? "paused" : st == STATE_STOPPED ? "stopped" : "running";
}

const char *status_result_name(int result)
{
	switch (result) {
	case 0: return "ok";
	case GW_ERETRY: return "retry";
	case GW_ECANCEL: return "cancelled";
	case GW_ENOTFOUND: return "not-applicable";
	case GW_ENOMEM: return "out-of-memory";
	default: return "fatal";
	}
}

/* Replaces path with data unless it already holds exactly that. */
static int write_if_changed(const char *dir, const char *file, const struct buf *data)
{
	struct buf cur = BUF_INIT;
	char path[4096];
	int n, r = 0;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return GW_EFATAL;
	if (util_read_file(&cur, path) == 0 && cur.len == data->len &&
	    (!cur.len || !memcmp(cur.ptr, data->ptr, cur.len)))
		goto out;
	if (util_write_file_atomic(path, data->ptr ? data->ptr : "", data->len) < 0) {
		log_warn(NULL, "cannot write %s", path);
		r = GW_EFATAL;
	}
out:
	buf_release(&cur);
	return r;
}

/* Whether an incremental stream is running (its delay is live). */
static bool incremental_live(const struct task *t)
{
	return t->worker_live && t->running == MA_INCREMENTAL && !atomic_load(&t->worker_done);
}

static bool running_copy(const struct task *t)
{
	return t->worker_live && (t->running == MA_FULL || t->running == MA_VERIFY);
}

void status_progress_line(char *out, size_t outsz, struct task *t)
{
	struct progress *p = &t->progress;
	uint64_t done = atomic_load(&p->rows_done), total = atomic_load(&p->rows_total);
	double pct = total ? 100.0 * (double)(done > total ? total : done) / (double)total : 0.0;

	if (running_copy(t) && !total) {
		/* the total is not estimated yet */
		snprintf(out, outsz, "%s %llu rows", t->running == MA_FULL ? "full" : "verify",
			 (unsigned long long)done);
	} else if (running_copy(t)) {
		snprintf(out, outsz, "%s %llu/%llu rows %.1f%%",
			 t->running == MA_FULL ? "full" : "verify", (unsigned long long)done,
			 (unsigned long long)total, pct);
	} else if (t->worker_live && t->running == MA_INCREMENTAL) {
		snprintf(out, outsz, "incremental %llu events applied",
			 (unsigned long long)atomic_load(&p->events_applied));
	} else if (t->worker_live && t->running != MA_OBSERVE) {
		snprintf(out, outsz, "%s", mact_name(t->running));
	} else if (t->full_rows_total || t->full_rows_done) {
		/* where the last copy ended (done, paused, failed) */
		done = t->full_rows_done;
		total = t->full_rows_total;
		if (t->stage_known && t->stage >= META_FULL_DONE && done > total)
			total = done;
		pct = total ? 100.0 * (double)(done > total ? total : done) / (double)total : 0.0;
		snprintf(out, outsz, "full %llu/%llu rows %.1f%%", (unsigned long long)done,
			 (unsigned long long)total, pct);
	} else {
		snprintf(out, outsz, "%s", phase_name(t->rec.phase));
	}
}

static int cond_yaml(struct buf *b, const struct condition *c)
{
	char ts[32];
	int e = 0;

	util_format_time(ts, c->last_transition);
	e |= buf_printf(b, "  - type: %s\n    status: \"%s\"\n    reason: ", c->type,
			c->status ? "True" : "False");
	e |= yaml_str(b, c->reason);
	e |= buf_puts(b, "\n    message: ");
	e |= yaml_str(b, c->message);
	e |= buf_printf(b, "\n    lastTransitionTime: \"%s\"\n", ts);
	return e;
}

static int rev_yaml(struct buf *b, const char *key, const struct spec_rev *r)
{
	int e = 0;

	e |= buf_printf(b, "%s:\n  file: ", key);
	e |= yaml_str(b, r->file ? r->file : "");
	e |=
	    buf_printf(b, "\n  sha256: \"%s\"\n  commit: \"%s\"\n  author: ", r->sha256, r->commit);
	e |= yaml_str(b, r->author ? r->author : "");
	e |= buf_putc(b, '\n');
	if (r->time) {
		char ts[32];

		util_format_time(ts, r->time);
		e |= buf_printf(b, "  time: \"%s\"\n", ts);
	}
	return e;
}

static const char *rev_id(const struct spec_rev *r)
{
	return r->commit[0] ? r->commit : r->sha256;
}

/* Per-table progress of a running copy: the first STATUS_TABLES_MAX
 * tables (biggest first), then how many more. */
#define STATUS_TABLES_MAX 50
static int tables_yaml(struct buf *b, struct progress *p)
{
	struct progress_table_view *v = calloc(STATUS_TABLES_MAX, sizeof(*v));
	int64_t now = util_now_mono_ms();
	size_t n, i;
	int e = 0;

	if (!v)
		return 0;
	n = progress_tables_get(p, v, STATUS_TABLES_MAX);
	if (n)
		e |= buf_puts(b, "  tables:\n");
	for (i = 0; i < n && i < STATUS_TABLES_MAX; i++) {
		int64_t end = v[i].finished_mono_ms ? v[i].finished_mono_ms : now;
		int64_t el = v[i].started_mono_ms ? end - v[i].started_mono_ms : 0;
		double rate = el > 0 ? (double)v[i].rows_done * 1000.0 / (double)el : 0.0;
		uint64_t total = v[i].rows_total, done = v[i].rows_done;

		e |= buf_puts(b, "    - name: ");
		e |= yaml_str(b, v[i].name);
		e |= buf_printf(
		    b,
		    "\n      state: %s\n      rowsDone: %llu\n      rowsTotal: %llu\n"
		    "      percent: %.1f\n      bytesDone: %llu\n      rowsPerSecond: %.0f\n",
		    v[i].finished_mono_ms  ? "done"
		    : v[i].started_mono_ms ? "copying"
					   : "waiting",
		    (unsigned long long)done, (unsigned long long)total,
		    total ? 100.0 * (double)(done > total ? total : done) / (double)total : 0.0,
		    (unsigned long long)v[i].bytes_done, rate);
		if (!v[i].finished_mono_ms && rate > 0 && total > done)
			e |= buf_printf(b, "      etaSeconds: %.0f\n",
					(double)(total - done) / rate);
	}
	if (n > STATUS_TABLES_MAX)
		e |= buf_printf(b, "  moreTables: %zu\n", n - STATUS_TABLES_MAX);
	free(v);
	return e;
}

static int status_yaml(struct buf *b, struct task *t, int64_t now_ms, const char *progress_line,
		       const char *position)
{
	struct progress *p = &t->progress;
	uint64_t done = atomic_load(&p->rows_done), total = atomic_load(&p->rows_total);
	int64_t delay = progress_delay(p, now_ms / 1000, incremental_live(t));
	char ts[32], detail[512];
	int e = 0;
	size_t i;

	e |= buf_puts(b, "apiVersion: godwit/v1\nkind: MigrationStatus\nname: ");
	e |= yaml_str(b, t->name);
	e |= buf_printf(b, "\nphase: %s\n", phase_name(t->rec.phase));
	util_format_time(ts, t->rec.created_ms / 1000);
	e |= buf_printf(b, "createdAt: \"%s\"\ncreatedUnix: %lld\n", ts,
			(long long)(t->rec.created_ms / 1000));
	e |= buf_printf(b, "observedGeneration: \"%s\"\n", t->spec ? t->spec->hash : "");
	e |= buf_printf(b, "lastAppliedRevision: \"%s\"\n", rev_id(&t->rev));
	e |= buf_printf(b, "lastAttemptedRevision: \"%s\"\n", rev_id(&t->attempted));
	e |= rev_yaml(b, "specRevision", &t->rev);
	if (t->spec)
		e |= buf_printf(b, "desiredState: %s\n", state_word(t->spec->state));
	e |= buf_printf(b, "stage: %s\n", t->stage_known ? meta_stage_name(t->stage) : "unknown");
	e |= buf_printf(b, "action: %s\n", t->worker_live ? mact_name(t->running) : "none");
	e |= buf_puts(b, "controller: "); /* the one driving it: --id or host:pid */
	e |= yaml_str(b, task_owned(t) && t->env->controller_id ? t->env->controller_id : "");
	/* the one writing these files (with nobody driving, the one that
	 * says why) */
	e |= buf_puts(b, "\nreportedBy: ");
	e |= yaml_str(b, t->env->controller_id ? t->env->controller_id : "");
	e |= buf_putc(b, '\n');
	e |= buf_puts(b, "message: ");
	e |= yaml_str(b, t->invalid ? t->invalid_msg : t->rec.message);
	e |= buf_putc(b, '\n');
	if (t->rec.warning[0]) {
		e |= buf_puts(b, "warning: ");
		e |= yaml_str(b, t->rec.warning);
		e |= buf_putc(b, '\n');
	} else if (t->spec && (t->spec->migration_types & MT_FULL) &&
		   !(t->spec->migration_types & MT_INCREMENTAL) &&
		   t->rec.phase == PH_MIGRATING_FULL) {
		/* from the start of the copy, not only once it is done */
		e |= buf_puts(b, "warning: ");
		e |= yaml_str(b, WARN_FULL_WITHOUT_INCREMENTAL);
		e |= buf_putc(b, '\n');
	}
	e |= buf_printf(b, "destinationIncomplete: %s\n", t->rec.incomplete ? "true" : "false");
	e |= buf_puts(b, "conditions:\n");
	for (i = 0; i < TASK_NCOND; i++)
		e |= cond_yaml(b, &t->conds[i]);
	if (t->verified.type)
		e |= cond_yaml(b, &t->verified);
	e |= buf_puts(b, "progress:\n  summary: ");
	e |= yaml_str(b, progress_line);
	e |= buf_putc(b, '\n');
	if (running_copy(t)) {
		int64_t el = util_now_mono_ms() - atomic_load(&p->started_mono_ms);
		double rate = el > 0 ? (double)done * 1000.0 / (double)el : 0.0;
		double pct =
		    total ? 100.0 * (double)(done > total ? total : done) / (double)total : 0.0;

		e |= buf_printf(
		    b,
		    "  action: %s\n  rowsDone: %llu\n  rowsTotal: %llu\n  percent: %.1f\n"
		    "  rowsPerSecond: %.0f\n",
		    mact_name(t->running), (unsigned long long)done, (unsigned long long)total, pct,
		    rate);
		if (rate > 0 && total > done)
			e |= buf_printf(b, "  etaSeconds: %.0f\n", (double)(total - done) / rate);
		e |= buf_printf(b, "  tablesDone: %llu\n  tablesTotal: %llu\n  bytesDone: %llu\n",
				(unsigned long long)atomic_load(&p->tables_done),
				(unsigned long long)atomic_load(&p->tables_total),
				(unsigned long long)atomic_load(&p->bytes_done));
		e |= tables_yaml(b, p);
	}
	e |= buf_printf(b, "  eventsApplied: %llu\n  transactionsApplied: %llu\n",
			(unsigned long long)atomic_load(&p->events_applied),
			(unsigned long long)atomic_load(&p->txns_applied));
	progress_get_detail(p, detail, sizeof(detail));
	if (detail[0]) {
		e |= buf_puts(b, "  detail: ");
		e |= yaml_str(b, detail);
		e |= buf_putc(b, '\n');
	}
	if (delay >= 0)
		e |= buf_printf(b, "delaySeconds: %lld\n", (long long)delay);
	if (position[0]) {
		e |= buf_puts(b, "position: ");
		e |= yaml_str(b, position);
		e |= buf_putc(b, '\n');
	}
	if (t->precheck_time) {
		util_format_time(ts, t->precheck_time);
		e |= buf_printf(b,
				"precheck:\n  time: \"%s\"\n  passed: %d\n  warned: %d\n"
				"  failed: %d\n  failedItems: ",
				ts, t->last_ps.passed, t->last_ps.warned, t->last_ps.failed);
		e |= yaml_str(b, t->last_ps.failed_ids);
		e |= buf_putc(b, '\n');
	}
	e |= buf_printf(b, "retries: %d\nretriesTotal: %llu\n", t->rec.retries,
			(unsigned long long)t->rec.retries_total);
	if (t->rec.next_attempt_ms > now_ms) {
		util_format_time(ts, t->rec.next_attempt_ms / 1000);
		e |= buf_printf(b, "nextAttemptTime: \"%s\"\n", ts);
	}
	if (t->rec.last_success_ms) {
		util_format_time(ts, t->rec.last_success_ms / 1000);
		e |= buf_printf(b, "lastSuccessTime: \"%s\"\n", ts);
	}
	if (t->verify_report.len) {
		/* "verify:\n  tables: N\n  equal: ...": a top-level key */
		e |= buf_add(b, t->verify_report.ptr, t->verify_report.len);
		if (t->verify_report.ptr[t->verify_report.len - 1] != '\n')
			e |= buf_putc(b, '\n');
	}
	if (t->last_report.len) {
		e |= buf_puts(b, "report:\n");
		e |= buf_add(b, t->last_report.ptr, t->last_report.len);
		if (t->last_report.ptr[t->last_report.len - 1] != '\n')
			e |= buf_putc(b, '\n');
	}
	return e;
}

int status_write_task(const char *state_dir, struct task *t, int64_t now_ms)
{
	struct buf b = BUF_INIT;
	char dir[4096], line[256], position[4096], ts[32], path[4200];
	int64_t delay = progress_delay(&t->progress, now_ms / 1000, incremental_live(t));
	int n, r = 0, e = 0;

	n = snprintf(dir, sizeof(dir), "%s/tasks/%s", state_dir, t->name);
	if (n < 0 || (size_t)n >= sizeof(dir) || util_mkdir_p(dir, 0755) < 0)
		return GW_EFATAL;
	status_progress_line(line, sizeof(line), t);
	progress_get_position(&t->progress, position, sizeof(position));

	if (status_yaml(&b, t, now_ms, line, position) || write_if_changed(dir, "status.yaml", &b))
		r = GW_EFATAL;
	buf_reset(&b);
	if (buf_printf(&b, "%s\n", line) || write_if_changed(dir, "progress", &b))
		r = GW_EFATAL;
	buf_reset(&b);
	if (buf_printf(&b, "%s\n", t->invalid ? t->invalid_msg : t->rec.message) ||
	    write_if_changed(dir, "message", &b))
		r = GW_EFATAL;
	if (delay >= 0) {
		buf_reset(&b);
		if (buf_printf(&b, "%lld\n", (long long)delay) ||
		    write_if_changed(dir, "delay_seconds", &b))
			r = GW_EFATAL;
	} else {
		/* not known here (the stream has not started in this process,
		 * or no controller streams it: a delay another controller, or
		 * an earlier run, measured is not today's) */
		snprintf(path, sizeof(path), "%s/delay_seconds", dir);
		if (unlink(path) < 0 && errno != ENOENT)
			r = GW_EFATAL;
	}
	if (position[0]) {
		buf_reset(&b);
		if (buf_printf(&b, "%s\n", position) || write_if_changed(dir, "position", &b))
			r = GW_EFATAL;
	}
	if (t->precheck_time) {
		buf_reset(&b);
		util_format_time(ts, t->precheck_time);
		e |= buf_printf(&b,
				"task: %s\ntime: \"%s\"\nspecHash: \"%s\"\npassed: %d\nwarned: %d\n"
				"failed: %d\nfailedItems: ",
				t->name, ts, t->spec ? t->spec->hash : "", t->last_ps.passed,
				t->last_ps.warned, t->last_ps.failed);
		e |= yaml_str(&b, t->last_ps.failed_ids);
		e |= buf_puts(&b, "\nitems:\n");
		if (t->precheck_report.len)
			e |= buf_add(&b, t->precheck_report.ptr, t->precheck_report.len);
		if (e || write_if_changed(dir, "precheck.yaml", &b))
			r = GW_EFATAL;
	}
	/* The phase last: whoever waits for a phase, then reads the message,
	 * the position or precheck.yaml, finds the ones that go with it. */
	buf_reset(&b);
	if (buf_printf(&b, "%s\n", phase_name(t->rec.phase)) || write_if_changed(dir, "phase", &b))
		r = GW_EFATAL;
	buf_release(&b);
	return r;
}

void status_reporter(char *out, size_t outsz, const char *state_dir, const char *name)
{
	struct buf b = BUF_INIT;
	char path[4096];
	const char *p, *e;

	out[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/tasks/%s/status.yaml", state_dir, name) >=
		sizeof(path) ||
	    util_read_file(&b, path) < 0 || !(p = strstr(buf_cstr(&b), "\nreportedBy: \"")))
		goto out;
	/* the value as yaml_str() wrote it: an id holds no quote or backslash */
	p += strlen("\nreportedBy: \"");
	if ((e = strchr(p, '"')))
		snprintf(out, outsz, "%.*s", (int)(e - p), p);
out:
	buf_release(&b);
}

static int audit_rev_json(struct buf *b, const struct spec_rev *r)
{
	int e = 0;

	e |= buf_puts(b, "\"revision\":{\"file\":");
	e |= json_str(b, r->file ? r->file : "");
	e |=
	    buf_printf(b, ",\"sha256\":\"%s\",\"commit\":\"%s\",\"author\":", r->sha256, r->commit);
	if (r->author)
		e |= json_str(b, r->author);
	else
		e |= buf_puts(b, "null");
	if (r->time) {
		char ts[32];

		util_format_time(ts, r->time);
		e |= buf_printf(b, ",\"commitTime\":\"%s\"", ts);
	}
	e |= buf_putc(b, '}');
	return e;
}

static int audit_append(const char *state_dir, const struct task *t, struct buf *b)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/audit.jsonl", state_dir);

	if (n < 0 || (size_t)n >= sizeof(path) || util_append_fsync(path, b->ptr, b->len) < 0) {
		log_warn(t->name, "cannot append to %s/audit.jsonl", state_dir);
		return GW_EFATAL;
	}
	return 0;
}

int status_audit(const char *state_dir, const struct task *t, enum mact a, const char *event,
		 int result, const char *error)
{
	struct buf b = BUF_INIT;
	char ts[32];
	int e = 0, r;

	util_format_time(ts, util_now_ms() / 1000);
	e |= buf_printf(&b, "{\"time\":\"%s\",\"task\":", ts);
	e |= json_str(&b, t->name);
	e |= buf_printf(&b, ",\"action\":\"%s\",\"event\":\"%s\",\"result\":\"%s\"", mact_name(a),
			event, !strcmp(event, "start") ? "started" : status_result_name(result));
	if (error && error[0] && result != GW_ENOTFOUND) {
		e |= buf_puts(&b, ",\"error\":");
		e |= json_str(&b, error);
	}
	e |= buf_printf(&b, ",\"phase\":\"%s\",\"specHash\":\"%s\",", phase_name(t->rec.phase),
			t->spec ? t->spec->hash : "");
	e |= audit_rev_json(&b, &t->rev);
	e |= buf_puts(&b, "}\n");
	r = e ? GW_ENOMEM : audit_append(state_dir, t, &b);
	buf_release(&b);
	return r;
}

int status_audit_deletion(const char *state_dir, const struct task *t)
{
	struct buf b = BUF_INIT;
	char ts[32];
	int e = 0, r;

	util_format_time(ts, util_now_ms() / 1000);
	e |= buf_printf(&b, "{\"time\":\"%s\",\"task\":", ts);
	e |= json_str(&b, t->name);
	e |= buf_printf(&b,
			",\"action\":\"delete\",\"event\":\"end\",\"result\":\"ok\","
			"\"phase\":\"%s\",\"specHash\":\"%s\",",
			phase_name(t->rec.phase), t->spec ? t->spec->hash : "");
	e |= audit_rev_json(&b, t->attempted.file ? &t->attempted : &t->rev);
	e |= buf_puts(&b, "}\n");
	r = e ? GW_ENOMEM : audit_append(state_dir, t, &b);
	buf_release(&b);
	return r;
}

static int label(struct buf *b, const char *metric, const char *name)
{
	int e = buf_printf(b, "%s{migration=", metric);

	e |= json_str(b, name);
	e |= buf_puts(b, "}");
	return e;
}

/* The running full copy's counters, else where the last one ended (the
 * progress counters then belong to the action running now). */
static uint64_t copy_rows(struct task *t, bool total)
{
	if ((t->worker_live && t->running == MA_FULL) ||
	    (!t->full_rows_total && !t->full_rows_done))
		return total ? atomic_load(&t->progress.rows_total)
			     : atomic_load(&t->progress.rows_done);
	return total ? t->full_rows_total : t->full_rows_done;
}

int status_write_metrics(const char *state_dir, struct task *const *tasks, size_t n)
{
	struct buf b = BUF_INIT;
	int r;

	if (status_metrics(&b, tasks, n) < 0) {
		buf_release(&b);
		return GW_ENOMEM;
	}
	r = write_if_changed(state_dir, "metrics.prom", &b);
	buf_release(&b);
	return r;
}

int status_metrics(struct buf *out, struct task *const *tasks, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;
	int p, e = 0;

	e |= buf_puts(&b, "# HELP godwit_phase Current phase of each migration (1 = current).\n"
			  "# TYPE godwit_phase gauge\n");
	for (i = 0; i < n; i++)
		for (p = 0; p < PH__COUNT; p++) {
			e |= buf_puts(&b, "godwit_phase{migration=");
			e |= json_str(&b, tasks[i]->name);
			e |= buf_printf(&b, ",phase=\"%s\"} %d\n", phase_name((enum phase)p),
					tasks[i]->rec.phase == (enum phase)p);
		}
#define METRIC(mname, help, type, expr)                                                        \
	do {                                                                                   \
		e |= buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", mname, help, mname, type); \
		for (i = 0; i < n; i++) {                                                      \
			struct task *t = tasks[i];                                             \
			e |= label(&b, mname, t->name);                                        \
			e |= buf_printf(&b, " %lld\n", (long long)(expr));                     \
		}                                                                              \
	} while (0)
	METRIC("godwit_rows_copied", "Rows copied by the current or last full copy.", "gauge",
	       copy_rows(t, false));
	METRIC("godwit_rows_total", "Estimated rows of the current or last full copy.", "gauge",
	       copy_rows(t, true));
	METRIC("godwit_events_applied", "Row changes applied by incremental since it started.",
	       "gauge", atomic_load(&t->progress.events_applied));
	METRIC("godwit_delay_seconds", "Incremental delay behind the source (-1: unknown).",
	       "gauge", progress_delay(&t->progress, util_now_ms() / 1000, incremental_live(t)));
	METRIC("godwit_retries_total", "Transient failures retried.", "counter",
	       t->rec.retries_total);
	METRIC("godwit_last_success_timestamp_seconds", "Unix time of the last successful action.",
	       "gauge", t->rec.last_success_ms / 1000);
#undef METRIC
	if (!e)
		e |= buf_add(out, b.ptr ? b.ptr : "", b.len);
	buf_release(&b);
	return e ? GW_ENOMEM : 0;
}
