/*
 * The phase machine of one migration (PRODUCT.md section 2), as a pure
 * function: given the spec (desired), what the controller recorded of the
 * task (struct task_record), the destination's meta stage and the result of
 * the last action, it updates the record and says what to do next. No I/O,
 * no clock, no randomness of its own: reconcile/task.c feeds it and carries
 * the decision out, and the unit tests drive it with fake actions.
 * The state diagram and the invariants are at the top of machine.c.
 */
#ifndef GODWIT_MACHINE_H
#define GODWIT_MACHINE_H

#include "lib/common.h"
#include "reconcile/stage.h"
#include "spec/spec.h"

#include <stdint.h>

enum phase {
	PH_PENDING,
	PH_PRECHECKING,
	PH_WHITELISTING,
	PH_MIGRATING_SCHEMA,
	PH_MIGRATING_FULL,
	PH_INCREMENTAL,
	PH_STOPPING,
	PH_STOPPED,
	PH_COMPLETED,
	PH_PRECHECK_FAILED,
	PH_PAUSED,
	PH_RETRYING,
	PH_FAILED,
	PH_INVALID,
	PH__COUNT
};

/* "Pending", "MigratingFull", ... as in PRODUCT.md. */
const char *phase_name(enum phase p);
/* The phase named s, or -1. */
int phase_parse(const char *s);
/* Whether `controller --once` may stop waiting on a task in phase p
 * (Incremental counts only when caught up; the caller checks that). */
bool phase_steady(enum phase p);
/* Whether p ends `--once` with exit code 1. */
bool phase_is_error(enum phase p);

/* What the machine can ask for. MA_OBSERVE only reads the meta stage. */
enum mact {
	MA_NONE,
	MA_OBSERVE,
	MA_PRECHECK,
	MA_WHITELIST_ADD,
	MA_SCHEMA_CREATE,
	MA_FULL,
	MA_VERIFY,
	MA_SCHEMA_AFTER_FULL,
	MA_INCREMENTAL,
	MA_SCHEMA_CUTOVER,
	MA_WHITELIST_REMOVE,
	MA__COUNT
};

/* "precheck", "schema-after-full", ... (the names in audit.jsonl). */
const char *mact_name(enum mact a);
/* Long actions run until done or cancelled (full copy, streaming, verify). */
bool mact_is_long(enum mact a);
/* Irreversible actions, marked in `godwit plan`. */
bool mact_irreversible(enum mact a, const struct spec *s);
/* The meta stage the controller records once action a succeeded for spec
 * s, or META_NONE. */
enum meta_stage mact_stage(enum mact a, const struct spec *s);

/*
 * What the controller remembers of a task between steps. Persisted in the
 * state directory (reconcile/task.c) so that a restarted controller goes on
 * where it was; data positions are never here, they are on the destination.
 */
struct task_record {
	enum phase phase;
	char precheck_hash[65];	  /* spec hash at which the precheck last passed */
	char whitelist_hash[65];  /* spec hash at which the whitelist was added
				     (or found not applicable) */
	char blocked_hash[65];	  /* spec hash at which the task went Failed or
				     PrecheckFailed; "" when not blocked */
	enum phase blocked_phase; /* which of the two */
	bool whitelist_added;	  /* entries are on the cloud side */
	bool verified;		  /* verify after full passed */
	bool incremental_done;	  /* the gated stop of incremental completed */
	bool incomplete;	  /* stopped by force before the copy finished */
	bool deleted;		  /* the spec was deleted and the deletion carried
				     out: nothing more to do until a spec of this
				     name appears again */
	int retries;		  /* consecutive transient failures */
	int64_t retry_since_ms;	  /* wall time of the first of them; 0: none */
	int64_t next_attempt_ms;  /* nothing starts before this wall time */
	uint64_t retries_total;
	int64_t last_success_ms; /* wall time of the last successful action */
	int64_t created_ms;	 /* wall time the controller first saw the task */
	char message[1024];	 /* last human-readable message or error */
	char warning[512];	 /* last warning of an action */
};

void task_record_init(struct task_record *r);

struct machine_in {
	const struct spec *spec; /* the spec acted on; NULL when invalid or deleted */
	bool invalid;		 /* the spec file does not load */
	const char *invalid_msg;
	bool deleted; /* the spec file is gone */
	bool stage_known;
	enum meta_stage stage;
	/* The action running in a worker right now (MA_NONE: none), the hash
	 * of the spec it was started with, and whether it has made progress
	 * since it started (resets the retry count of a long action). */
	enum mact running;
	const char *running_hash;
	bool running_healthy;
	/* The action that just ended (MA_NONE: none) and its result. */
	enum mact done;
	int result;
	const char *error;	   /* message of a failed result */
	int precheck_failed;	   /* precheck: number of failed items */
	bool precheck_whitelisted; /* precheck: it added whitelist entries */
	const char *warning;	   /* the action's warning, may be NULL */
	int64_t now_ms;		   /* wall clock */
	uint32_t jitter;	   /* a random number for the backoff */
};

struct machine_out {
	enum phase phase;
	enum mact action;      /* start this now; MA_NONE: nothing */
	bool stop_request;     /* incremental: carry out the gated stop */
	bool cancel;	       /* cancel the running action (it checkpoints) */
	bool finished;	       /* deleted and wound down: forget the task */
	int64_t wait_until_ms; /* Retrying: the next attempt, else 0 */
};

/* How often a PrecheckFailed task runs the precheck again by itself. */
#define MACHINE_RECHECK_MS (5 * 60 * 1000)

/* Backoff before retry number n (1-based): 1 s doubling up to 5 min, half
 * of it random (jitter). */
int64_t machine_backoff_ms(int n, uint32_t jitter);

/*
 * One step: takes the result of in->done (if any) into rec, then chooses
 * the next action into *out and sets rec->phase. Pure.
 */
void machine_step(struct machine_out *out, struct task_record *rec, const struct machine_in *in);

/* Whether a new spec may not be applied: data has moved (stage past
 * META_NONE) under another immutable hash. */
bool machine_spec_immutable(enum meta_stage stage, const char *meta_immutable_hash,
			    const struct spec *desired);

/*
 * The ordered actions the machine would take from here if every one
 * succeeded (for `godwit plan`), at most max of them, into out. Returns
 * the count. The stage is simulated with mact_stage(); whitelist actions
 * are left out when no endpoint is rds (they would do nothing).
 */
size_t machine_plan(enum mact *out, size_t max, const struct task_record *rec, const struct spec *s,
		    enum meta_stage stage);

#endif
