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

/*
 * The destination's user-level locks, as the lock keeper takes and watches
 * them on a connection of its own. Implemented over the MySQL client by
 * engine/lock.c (engine_lock_ops): reconcile itself includes no server
 * library. A connection starts with struct lock_conn (its operations).
 */
struct lock_conn;
struct lock_ops {
	/* Opens a connection to ep for task; *out is closed with close. */
	int (*open)(struct lock_conn **out, const struct endpoint *ep, const char *task,
		    struct gw_err *err);
	/* The value of SELECT fn('lock'), "NULL" for SQL NULL; fn is GET_LOCK
	 * (taken without waiting), IS_USED_LOCK, IS_FREE_LOCK or RELEASE_LOCK. */
	int (*call)(char *out, size_t outsz, struct lock_conn *c, const char *fn, const char *lock,
		    struct gw_err *err);
	/* The connection's id on the server (what IS_USED_LOCK returns). */
	unsigned long (*id)(struct lock_conn *c);
	/* Who holds lock, as far as the server shows it ("connection 42 from
	 * 10.0.0.3:51234"), or "" when it cannot tell. */
	void (*holder)(char *out, size_t outsz, struct lock_conn *c, const char *lock);
	void (*close)(struct lock_conn *c);
};
struct lock_conn {
	const struct lock_ops *ops;
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
	bool use_lock;		     /* hold GET_LOCK('godwit:NAME') on the destination */
	const struct lock_ops *lock; /* how (needed with use_lock) */
	int64_t lock_retry_ms;
	/* Tasks take their lock only once admitted (task_admit); until then
	 * they only watch whether it is free. false: every task takes it. */
	bool admission;
	const char *controller_id; /* "host:pid" or --id, in status.yaml */
	/* Hooks, called from the loop thread; may be NULL. */
	void (*audit)(void *ctx, struct task *t, enum mact a, const char *event, int result,
		      const char *error);
	void (*phase_changed)(void *ctx, struct task *t, enum phase from, enum phase to);
	/* Called from a worker or lock thread when the loop has something to
	 * pick up (an action ended, the lock was taken or lost): the loop
	 * steps at once instead of at its next tick. Any thread may call it;
	 * never after task_free() returned. May be NULL. */
	void (*wake)(void *ctx);
	/* The deletion of the task's spec was carried out here (the task is
	 * Stopped, "spec deleted"): for the audit line. Loop thread; may be
	 * NULL. */
	void (*deleted)(void *ctx, struct task *t);
	/* Whether the controller named id runs (with this one on the state
	 * directory): a record it wrote is its, while it does. NULL: none
	 * other does. */
	bool (*controller_alive)(void *ctx, const char *id);
	void *ctx;
};

/* (The real ones: meta_observe_task(), meta_record_task() and
 * engine_lock_ops of engine/.) */

/* LOCK_FREE: nobody holds the lock, and this controller does not take it
 * (the task is not admitted: --max-migrations). */
enum lock_state { LOCK_UNKNOWN, LOCK_HELD, LOCK_OTHER, LOCK_ERROR, LOCK_FREE };

#define TASK_NCOND 8
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
	bool conflict;		  /* writes objects another spec writes: nothing
				     runs (task_set_conflict) */
	char conflict_msg[512];
	int64_t declared_s;   /* the controller's: when the spec was declared
				 (see controller.c); 0 not known yet */
	bool admitted;	      /* may take its lock (see task_env.admission) */
	char parked_hash[65]; /* converged under this spec hash: the lock let go
				 for another migration (task_park) */
	bool dormant;	      /* restored from the state directory, no spec
				 names it: nothing runs unless it is
				 deleted (task_restore) */
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
	bool spec_saved;  /* spec.yaml holds t->spec */
	bool rec_dirty;	  /* the record's revision changed, not yet saved */
	bool held_before; /* the lock was held at the last tick */
	bool adopt;	  /* taken: read the record its last driver left */

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
/* A migration of the state directory that no spec names now: loads the
 * spec it last acted on (spec.yaml) and its revision from the record, so
 * that its deletion can be carried out like one seen live. GW_ENOTFOUND
 * when the state directory has no record of it, or its deletion was
 * carried out already. */
int task_restore(struct task *t);
/* A migration recorded on a destination whose spec the source's history
 * shows deleted, unknown to this controller: s (owned) is a spec naming
 * that destination under the migration's name (the lock, the stage), rev
 * the deleting commit. The task is deleted at once; s is not persisted. */
void task_set_orphan(struct task *t, struct spec *s, const struct spec_rev *rev);
void task_set_deleted(struct task *t);
/* msg non-NULL: the spec writes destination objects another (earlier
 * declared) spec writes; the task is refused: a running action is
 * cancelled, nothing starts, condition Conflict says msg. NULL: the
 * conflict is gone, the task goes on. */
void task_set_conflict(struct task *t, const char *msg);
/* With env->admission: whether the task may take its lock now. A task
 * let go releases its lock (no action runs: the caller lets go only of an
 * idle task) and goes back to watching it. */
void task_admit(struct task *t, bool yes);
/* Whether the task has converged under its current spec (Completed, or
 * Stopped by its spec) and sits idle: its lock can go to another
 * migration. task_park() lets it go and remembers the spec hash: the task
 * wants a slot again only when the spec changes. */
bool task_parkable(const struct task *t);
void task_park(struct task *t);
/* Whether the task wants one of the controller's --max-migrations slots:
 * a valid spec, not refused, not parked, not driven elsewhere. */
bool task_wants_slot(const struct task *t);
/* The lock's state as the keeper sees it (LOCK_UNKNOWN without one). */
enum lock_state task_lock_state(const struct task *t);
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
/* Persists rec into STATE_DIR/tasks/NAME/record (atomically). The record
 * is its driver's: a controller sharing the state directory that does not
 * hold the lock leaves one another running controller wrote alone. */
int task_save_record(struct task *t);
void spec_rev_release(struct spec_rev *r);
void spec_rev_copy(struct spec_rev *dst, const struct spec_rev *src);

#endif
