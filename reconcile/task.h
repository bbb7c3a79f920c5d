/*
 * One migration's runtime: the spec being acted on, the record of what was
 * done, the worker thread that runs one action at a time, and the
 * per-migration lock held on the destination. task_tick() never blocks:
 * every action, and every read of the destination, runs in the worker; the
 * loop only collects results and asks reconcile/machine.c what is next.
 *
 * Threads: the loop owns struct task; the worker reads t->job_* and
 * writes t->job_out_* and finally t->worker_done; the lock keeper owns its
 * connection and publishes t->lock_state.
 */
#ifndef GODWIT_TASK_H
#define GODWIT_TASK_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "reconcile/actions.h"
#include "reconcile/machine.h"
#include "reconcile/progress.h"

#include <pthread.h>
#include <stdatomic.h>

struct task;
struct keeper;

/* Where the spec came from (for audit lines). Strings owned by the task. */
struct spec_rev {
	char *file;
	char sha256[65];
	char commit[41];
	char *author;
	int64_t time; /* the commit's author time, unix seconds; 0 for --dir */
};

/* The outside world of a task, replaceable in tests. */
struct task_env {
	const struct actions *actions;
	const char *state_dir; /* NULL: nothing persisted */
	/* Reads the task's meta stage and immutable hash from the
	 * destination (without writing anything). */
	int (*observe)(enum meta_stage *stage_out, char hash_out[65], const struct spec *s,
		       struct gw_err *err);
	/* Records a stage on the destination (meta_stage_set). */
	int (*record_stage)(const struct spec *s, enum meta_stage st, struct gw_err *err);
	bool use_lock; /* hold GET_LOCK('godwit:NAME') on the destination */
	int64_t lock_retry_ms;
	/* Hooks, called from the loop thread; may be NULL. */
	void (*audit)(void *ctx, struct task *t, enum mact a, const char *event, int result,
		      const char *error);
	void (*phase_changed)(void *ctx, struct task *t, enum phase from, enum phase to);
	void *ctx;
};

/* The real destination access (engine/meta.h through engine/conn.h). */
int task_observe_destination(enum meta_stage *stage_out, char hash_out[65], const struct spec *s,
			     struct gw_err *err);
int task_record_destination(const struct spec *s, enum meta_stage st, struct gw_err *err);

enum lock_state { LOCK_UNKNOWN, LOCK_HELD, LOCK_OTHER, LOCK_ERROR };

#define TASK_NCOND 7
struct condition {
	const char *type; /* static */
	bool status;
	char reason[64];
	char message[512];
	int64_t last_transition; /* unix seconds */
};

struct task {
	char name[64];
	const struct task_env *env;
	struct spec *spec; /* the spec acted on (owned) */
	char *spec_bytes;  /* its file bytes, persisted as spec.yaml */
	size_t spec_len;
	struct spec *pending; /* a newer spec refused as SpecImmutable (owned) */
	char *pending_bytes;
	size_t pending_len;
	bool probing;		   /* pending waits for the stage of the previous spec */
	struct spec_rev rev;	   /* revision of the spec acted on */
	struct spec_rev attempted; /* revision of the newest spec seen */
	bool invalid;
	char invalid_msg[1024];
	bool deleted;
	int64_t missing_since_ms; /* the controller's: its file gone, not yet
				     confirmed (see controller.c) */
	bool spec_immutable;
	char immutable_msg[512];
	struct task_record rec;
	bool stage_known;
	enum meta_stage stage;
	char meta_hash[65];
	int64_t created_ms;
	uint32_t rng;

	/* worker */
	pthread_t worker;
	bool worker_live;
	atomic_int worker_done;
	volatile int cancel;
	volatile int stop_requested;
	enum mact running;
	char running_hash[65];
	int64_t running_since_ms;
	uint64_t running_mark; /* progress counters at start */
	struct spec *job_spec; /* borrowed: kept alive while the worker runs */
	struct action_io io;
	struct progress progress;
	struct precheck_summary ps;
	int job_result;
	bool job_stage_known;
	enum meta_stage job_stage;
	char job_meta_hash[65];
	struct spec **retired; /* specs replaced while a worker used them */
	size_t nretired;

	/* what the last actions reported, for status.yaml */
	struct buf precheck_report;
	struct precheck_summary last_ps;
	int64_t precheck_time;
	struct buf last_report;
	struct buf verify_report; /* the last verify's, kept past later actions */
	uint64_t full_rows_done;  /* the last full copy's counters when it ended */
	uint64_t full_rows_total;

	/* lock keeper (see task.c); NULL when env->use_lock is false */
	struct keeper *keeper;
	bool spec_saved; /* spec.yaml holds t->spec */

	struct condition conds[TASK_NCOND];
	/* With --verify-commits, set by the controller (controller/gate.c);
	 * type NULL otherwise. */
	struct condition verified;
	bool finished;
	bool draining; /* shutting down: start nothing new */
};

int task_new(struct task **out, const char *name, const struct task_env *env, int64_t now_ms);
/* A new (valid) spec for the task; takes ownership of s and copies bytes. */
void task_set_spec(struct task *t, struct spec *s, const char *bytes, size_t len,
		   const struct spec_rev *rev);
void task_set_invalid(struct task *t, const char *msg, const struct spec_rev *rev);
void task_set_deleted(struct task *t);
/* Collects a finished worker, asks the machine, starts the next action.
 * Never blocks. */
void task_tick(struct task *t, int64_t now_ms);
/* Whether this controller drives the task (holds its lock). */
bool task_owned(const struct task *t);
/* Whether this controller writes the task's status: it holds the lock,
 * or cannot reach the destination to take it (Retrying/Failed). */
bool task_reports(const struct task *t);
/* Whether the task is steady for `--once`. */
bool task_steady(const struct task *t);
/* Whether an action runs now. */
bool task_busy(const struct task *t);
/* Shutdown (SIGTERM): asks the worker to stop at a checkpoint, and
 * task_tick() starts nothing new afterwards. */
void task_cancel(struct task *t);
/* Whether task_free() would not wait on a worker. */
bool task_can_free(const struct task *t);
/* Cancels, waits for the worker, lets the lock go, frees everything. */
void task_free(struct task *t);
/* Reads STATE_DIR/tasks/NAME/record into *r (task_record_init first);
 * active phases come back as Pending (re-derived from the destination).
 * GW_ENOTFOUND when there is none. */
int task_record_load(struct task_record *r, const char *state_dir, const char *name);
/* Persists rec into STATE_DIR/tasks/NAME/record (atomically). */
int task_save_record(struct task *t);
void spec_rev_release(struct spec_rev *r);
void spec_rev_copy(struct spec_rev *dst, const struct spec_rev *src);

#endif
