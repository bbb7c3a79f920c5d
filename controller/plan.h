/*
 * `godwit plan`: what the controller would do. cmd_plan.c plans the spec
 * files given (where each stands, from the state directory);
 * plan_range.c plans a range of commits (`--git-range BASE..HEAD`): what
 * merging a pull request will do. Both are read-only and deterministic (no
 * times; sorted), and print no secret (a spec holds only references).
 */
#ifndef GODWIT_PLAN_H
#define GODWIT_PLAN_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "reconcile/task.h"

/* "running", "paused", "stopped". */
const char *plan_state_word(enum desired_state st);
/* What action a does for spec s, one sentence appended to b. */
int plan_describe(struct buf *b, enum mact a, const struct spec *s);
/* "schema,full,incremental" for MT_* bits. */
const char *plan_types(char *out, size_t outsz, unsigned t);
/* The stage recorded in STATE_DIR/tasks/NAME/status.yaml; META_NONE and
 * *known false when there is none. */
enum meta_stage plan_read_stage(const char *state_dir, const char *name, bool *known);

enum plan_format { PLAN_MARKDOWN, PLAN_JSON };

/*
 * Plans what merging range ("BASE..HEAD" or "BASE...HEAD") of the git
 * repository found from the current directory does to the specs under
 * path (NULL: the whole tree): the specs it adds, changes or deletes
 * (from the merge base to HEAD), judged against those of BASE, with
 * state_dir (may be NULL) saying where each migration stands. Appends
 * the report to out. Returns 0 when the plan is clean, 1 when it holds
 * errors (invalid specs, a name used twice, a conflict, a change refused
 * as SpecImmutable); a negative code with err set when the range or the
 * repository cannot be read.
 */
int plan_range(struct buf *out, const char *range, const char *path, const char *state_dir,
	       enum plan_format fmt, struct gw_err *err);

#endif
