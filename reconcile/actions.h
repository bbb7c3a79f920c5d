/*
 * The actions the phase machine drives, as one small interface so that the
 * machine can be tested with fake actions and the real ones (engine/,
 * cloud/) plugged in.
 *
 * Every action is idempotent: it reads actual state (the destination's
 * godwit_meta, information_schema, the cloud API) before it writes, so
 * running it again after a crash at any point converges.
 *
 * Return values: 0 done; GW_ERETRY transient failure (the controller
 * retries with backoff within retryWindow); GW_EFATAL permanent failure
 * (phase Failed, io->err.msg says why); GW_ECANCEL the controller asked the
 * action to stop (*io->cancel) and it checkpointed.
 */
#ifndef GODWIT_ACTIONS_H
#define GODWIT_ACTIONS_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "reconcile/progress.h"
#include "spec/spec.h"

struct action_io {
	const struct spec *spec;
	const char *task;      /* spec->name, for log lines */
	const char *state_dir; /* may be NULL (CLI commands) */
	volatile int *cancel;  /* non-zero: stop now at a checkpoint; never NULL */
	/* incremental only: non-zero when the spec asks for state: stopped.
	 * The action then carries out the gated stop (spec->stop_*) and
	 * returns 0 once stopped. */
	volatile int *stop_requested;
	struct progress *progress; /* never NULL */
	/* The destination connection that holds the migration's lock
	 * (GET_LOCK 'godwit:NAME') for this controller, 0 without a lock (CLI
	 * commands). Data transactions commit only while it still holds it
	 * (meta_fence()): a controller that lost the lock writes nothing. */
	unsigned long lock_holder;
	struct gw_err err;
	/* Output of the action for status.yaml, as YAML lines indented by
	 * two spaces, e.g. precheck items, skipped objects, verify result. */
	struct buf report;
	/* Set by the action: a human-readable warning for the status
	 * (e.g. "writes during the copy may be missed"). */
	char warning[512];
};

/* The full copy's warning when no incremental migration follows it (the
 * status shows it from the start of the copy). */
#define WARN_FULL_WITHOUT_INCREMENTAL                                                 \
	"no incremental migration: writes to the source during the full copy may be " \
	"missed"

enum schema_stage {
	SCHEMA_CREATE,	   /* databases, tables (no FKs), views, routines,
			      events (disabled) and the meta database */
	SCHEMA_AFTER_FULL, /* FKs; for tasks without incremental also
			      triggers and events enabled */
	SCHEMA_CUTOVER	   /* incremental tasks at stop: triggers, events */
};

/* Precheck result counts; items are written into io->report. */
struct precheck_summary {
	int passed;
	int warned;
	int failed;
	char failed_ids[512]; /* comma-separated ids of failed items */
	/* rds endpoints: the precheck put whitelist.cidrs into the whitelist
	 * groups so as to connect at all; they are removed when the
	 * migration ends, like those of the whitelist action */
	bool whitelist_added;
};

struct actions {
	int (*precheck)(struct action_io *io, struct precheck_summary *out);
	/* add != 0: add the whitelist entries; 0: remove them. Returns
	 * GW_ENOTFOUND when not applicable (no rds endpoint). */
	int (*whitelist)(struct action_io *io, int add);
	int (*schema)(struct action_io *io, enum schema_stage stage);
	/* Records the hand-off binlog position, then copies (resumably). */
	int (*full)(struct action_io *io);
	/* Streams from the recorded position until cancel (GW_ECANCEL) or a
	 * completed gated stop (0). */
	int (*incremental)(struct action_io *io);
	/* 0 equal, GW_EFATAL with the differences in io->report when not. */
	int (*verify)(struct action_io *io);
};

/* The real actions (engine/ and cloud/). */
extern const struct actions engine_actions;

#endif
