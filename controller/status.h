/*
 * What the controller leaves to read (PRODUCT.md section 4): per task
 * status.yaml, phase, progress, delay_seconds, position, message and
 * precheck.yaml under STATE_DIR/tasks/NAME/, plus STATE_DIR/audit.jsonl and
 * STATE_DIR/metrics.prom. Every file is replaced atomically; the audit log
 * is appended with fsync. Nothing here ever holds a secret: specs carry only
 * references to them.
 */
#ifndef GODWIT_STATUS_H
#define GODWIT_STATUS_H

#include "lib/common.h"
#include "reconcile/task.h"

/* Writes every file of the task (only those whose content changed). */
int status_write_task(const char *state_dir, struct task *t, int64_t now_ms);
/* The controller that last wrote the task's status.yaml (its
 * reportedBy), "" when none. */
void status_reporter(char *out, size_t outsz, const char *state_dir, const char *name);
/* One audit line: event is "start" or "end" (result then says how). */
int status_audit(const char *state_dir, const struct task *t, enum mact a, const char *event,
		 int result, const char *error);
/* The audit line of a deleted spec: action "delete", the revision that
 * removed it (t->attempted: with --git the deleting commit and author). */
int status_audit_deletion(const char *state_dir, const struct task *t);
/* The Prometheus text file for every task. */
int status_write_metrics(const char *state_dir, struct task *const *tasks, size_t n);
/* The same text, appended to out (for the HTTP endpoint). */
int status_metrics(struct buf *out, struct task *const *tasks, size_t n);
/* The progress line, e.g. "full 1234567/2000000 rows 61.7%". */
void status_progress_line(char *out, size_t outsz, struct task *t);
/* "ok", "retry", "fatal", "cancelled", ... for an action result. */
const char *status_result_name(int result);

#endif
