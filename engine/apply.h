/*
 * The incremental migration's destination side: groups of whole source
 * transactions, rendered as statements by engine/repl.c (the builder),
 * run on APPLY_CONNS connections of their own while the builder reads and
 * renders the next ones, and committed in source order, each with its
 * position.
 *
 * Why: the builder's work (reading the stream, decoding, rendering SQL)
 * and the destination's then overlap, and the destination runs a group
 * while the next one already runs (its server's threads on both cores,
 * one connection's page reads under another's work).
 *
 * What makes the single-connection applier right stays true:
 * - a group is whole source transactions, applied in one destination
 *   transaction that also writes their position (godwit_meta), so each
 *   committed state is the source's at a transaction boundary and a
 *   restart resumes right after the last committed group;
 * - groups commit in source order: group s commits once group s-1 has
 *   (its worker waits for it). The committed positions are a growing
 *   prefix of the stream, and no one sees a later group's changes
 *   without an earlier group's.
 * Group s goes to connection (s-1) % APPLY_CONNS and starts once that
 * connection committed group s - APPLY_CONNS, so at most the
 * APPLY_CONNS - 1 groups before it may be uncommitted while it runs. Its
 * statements come in two parts, split by repl.c:
 * - APPLY_AFTER: the changes of keys one of those groups changes too, and
 *   every change of a table whose changes are not independent by key
 *   (another unique key, no key, a key not all integers, a FULLTEXT or
 *   SPATIAL index: repl.c, by_key) that one of them changes. They run
 *   once group s-1 (hence every earlier one) has committed, so they are
 *   applied after those groups' changes, as on the source;
 * - APPLY_FREE: the others. No uncommitted group changes their rows, so
 *   they commute with those groups' changes (rows of different keys of a
 *   table whose rows do not interact: the batcher's argument, batch.h);
 *   they run at once.
 * Locks: the connections run READ COMMITTED (no gap locks; they only
 * write, by key), with foreign key checks off (a group that changes
 * tables linked by a cascading foreign key, whose parent's changes run
 * with checks on, is not handed over: repl.c applies it alone, its
 * foreign keys' section), so a free statement locks
 * only rows no uncommitted group touches: an earlier group never waits
 * for a later one, and an after part starts once the groups before have
 * committed. Should a wait happen anyway (a destination that locks more
 * than its rows: a trigger writing a shared row, a server locking more
 * than this expects), the later group gives its changes up (rolls back)
 * when the group before it has not committed APPLY_YIELD_MS after it got
 * there, and applies them again once that group committed: never a
 * deadlock, at worst work done twice; a deadlock the server sees (both
 * waiting for its locks) rolls one of them back, which applies its group
 * again once the group before it committed (APPLY_RETRIES times at most).
 * Any other error stops the applier: what
 * is not committed is rolled back, and the stream resumes from the
 * committed position (tests/integration/repl_overlap.sh, the kill -9
 * tests).
 * A destination that logs statements (binlog_format=STATEMENT) refuses
 * READ COMMITTED writes to InnoDB: there one connection applies, the
 * builder still working ahead of it.
 *
 * Memory: the group being built and at most APPLY_CONNS groups handed
 * over, each of at most about APPLY_GROUP_BYTES of statements (repl.c
 * applies a bigger one itself, after the others committed).
 */
#ifndef GODWIT_APPLY_H
#define GODWIT_APPLY_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "reconcile/actions.h"

#include <mysql.h>

#define APPLY_CONNS 2
#define APPLY_GROUP_BYTES ((size_t)8 << 20)
#define APPLY_YIELD_MS 2000
#define APPLY_RETRIES 3

enum apply_part {
	APPLY_FREE,  /* runs at once */
	APPLY_AFTER, /* runs once the previous group committed */
};

struct applier;

/* Opens the connections (`conns`, APPLY_CONNS at most; one when the
 * destination logs statements) and starts their threads. *out is owned by
 * the caller (applier_free). */
int applier_start(struct applier **out, struct action_io *io, unsigned conns,
		  struct gw_err *err) WARN_UNUSED;
/* Runs one statement of a group on m: a statement with expect_one must
 * change exactly one row, else the tables differ. Errors are prefixed
 * with `what` (its table). */
int apply_stmt(MYSQL *m, const char *what, const char *sql, size_t len, bool expect_one,
	       struct gw_err *err) WARN_UNUSED;
/* How many connections apply: with one, every statement may go to
 * APPLY_FREE (nothing runs beside it). */
unsigned applier_conns(const struct applier *a);

/* The group being built. A statement with expect_one must change exactly
 * one row (else the tables differ); `what` names its table in messages. */
int applier_add(struct applier *a, enum apply_part part, const char *what, const char *sql,
		size_t len, bool expect_one) WARN_UNUSED;
/* Bytes of statements in the group being built. */
size_t applier_pending_bytes(const struct applier *a);
/* Calls fn for each statement of the group being built (free part first)
 * and forgets them: the builder runs the group itself. Stops at fn's
 * first error. */
int applier_take(struct applier *a,
		 int (*fn)(void *ctx, const char *what, const char *sql, size_t len,
			   bool expect_one),
		 void *ctx) WARN_UNUSED;
/* Forgets the group being built. */
void applier_discard(struct applier *a);

/* Hands the group being built over, with the statement that records its
 * position (pos_sql), the position as text and its counters for the
 * progress. Waits while every connection is busy. An applier's failure,
 * or cancel, is returned (its message in err). */
int applier_seal(struct applier *a, const struct buf *pos_sql, const char *pos_text,
		 uint64_t events, uint64_t txns, int64_t last_event_ts,
		 struct gw_err *err) WARN_UNUSED;
/* Whether a group handed over now would start at once (a connection is
 * free). */
bool applier_ready(struct applier *a);
/* Waits until every group handed over is committed; an applier's
 * failure is returned. */
int applier_drain(struct applier *a, struct gw_err *err) WARN_UNUSED;
/* An applier's failure (its message in err), else 0; does not wait. */
int applier_check(struct applier *a, struct gw_err *err) WARN_UNUSED;
/* Whether every group handed over is committed (and none failed). */
bool applier_idle(struct applier *a);
/* Stops the threads (a group they run to its end may still commit; one
 * waiting for its turn is rolled back) and frees; returns whether a
 * connection's guard shut it down (a cancel that did not reach a
 * checkpoint in time, conn_guard). */
bool applier_free(struct applier *a);

#endif
