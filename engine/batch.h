/*
 * The applier's batcher: the changes of one table not yet sent to the
 * destination, inside the open destination transaction, turned into few
 * statements. Pure: the caller renders each change's SQL text (key,
 * values, unique values) from the row images, and sends the statements the
 * batcher makes through a callback; nothing here talks to a server.
 *
 * Changes of a table with a key are by that key: an upsert of a full image
 * or a delete. They are sent as few multi-row statements (one INSERT ...
 * ON DUPLICATE KEY UPDATE, one DELETE ... IN) instead of one statement per
 * row: the round trips, not the server's work, are what limits a
 * row-at-a-time applier.
 *
 * Order. Tables are independent on the destination (foreign key checks
 * are off for the applier, triggers are created only at the cutover), so
 * tables are flushed in any order; repl.c orders those linked by a
 * cascading foreign key itself (its foreign keys' section). Within a table (enum batch_mode):
 * - BATCH_NET: the table has no unique key but the one that addresses
 *   rows. The last change of a key value is its whole effect, so a later
 *   change replaces the earlier one; then all deletes are sent, then all
 *   upserts, in any order. Why that is the source's result: changes are
 *   grouped by the key's bytes, while the destination compares keys by
 *   collation ('a' = 'A' = 'a ' under a case-insensitive, pad-space one),
 *   so take one class of equal keys. The row images carry stored values,
 *   the source holds at most one row of the class at any time, and an
 *   update that changes the key's bytes is a delete of the old bytes and
 *   an upsert of the new. So if the class's last change is an upsert of
 *   value x, every other value of the class last had a delete (it left
 *   the table before x arrived); if it is a delete, every value's last
 *   change is a delete. Deletes first, then at most one upsert per class:
 *   the class ends as on the source. Rows of other classes do not
 *   interact: no other unique key.
 * - BATCH_SEGMENT: other unique keys, whose columns, like the key's, are
 *   all integers (text equal exactly when values are). Changes are merged
 *   as in net mode, in segments: a change whose row images (before and
 *   after) have a unique value that a change of another row in the
 *   segment had first sends the segment. Within a segment each unique
 *   value belongs to one row; a row can only take a value on the source
 *   after its holder gave it up, and that holder's change is then in an
 *   earlier, already sent segment (or before the segment, so already
 *   applied): deletes first, then upserts in any order, meet no conflict
 *   the source did not have.
 * - BATCH_ORDERED (every other keyed table): changes are kept in source
 *   order and each run of consecutive upserts or deletes is one
 *   statement, which the server executes row by row in that order: the
 *   same as one statement per row.
 *   NEEDSWORK: on such a table, alternating deletes and inserts make runs
 *   of one row, i.e. a statement per change; segment mode could cover
 *   string keys by comparing values as the collation does.
 * - BATCH_ROWS: the table has no key; a row is addressed by its whole
 *   before image, as native replication does. In source order: runs of
 *   inserts as one plain INSERT, each delete and update a statement of
 *   its own that must change exactly one row (LIMIT 1: of two identical
 *   rows one is changed, as on the source).
 */
#ifndef GODWIT_BATCH_H
#define GODWIT_BATCH_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/hash.h"

enum batch_mode {
	BATCH_NET,
	BATCH_SEGMENT,
	BATCH_ORDERED,
	BATCH_ROWS,
};

enum batch_kind {
	BATCH_UPSERT, /* keyed: the full image, inserted or overwriting its key */
	BATCH_DELETE, /* keyed: by key; rows mode: one row equal to the image */
	BATCH_INSERT, /* rows mode: a new row */
	BATCH_UPDATE, /* rows mode: one row equal to the before image */
};

/* The statement parts of a table, rendered once per layout by the caller. */
struct batch_shape {
	enum batch_mode mode;
	/* a one-column integer key: BATCH_NET sends its changes in key order
	 * (a destination reads each page they need once, in order, instead
	 * of again and again when its buffer pool is smaller than the table) */
	bool int_key;
	struct buf insert; /* "INSERT INTO `d`.`t` (`a`, `b`) VALUES " */
	struct buf upsert; /* " ON DUPLICATE KEY UPDATE `a` = VALUES(`a`), ..." */
	struct buf delete; /* "DELETE FROM `d`.`t` WHERE " */
	struct buf update; /* "UPDATE `d`.`t` SET " */
	struct buf key_in; /* "`id` IN (" for a one-column key, else empty */
};

void batch_shape_release(struct batch_shape *sh);

struct batch_text {
	const char *s;
	size_t len;
};

/* One change, as SQL text. */
struct batch_change {
	enum batch_kind kind;
	/* keyed: the key, "7" for a one-column key (listed in key_in),
	 * "(`a` = 1 AND `b` = 2)" otherwise; rows mode (DELETE, UPDATE): the
	 * row's condition "`a` <=> 1 AND `b` <=> NULL" */
	struct batch_text key;
	/* UPSERT, INSERT: "(v1,v2)"; UPDATE: "`a` = 1, `b` = 2" */
	struct batch_text values;
	/* segment mode: the unique values of the change's images ("u:v1,v2"
	 * for unique key u; none for a key with a NULL) */
	const struct batch_text *uniq;
	size_t nuniq;
};

enum batch_expect {
	BATCH_EXPECT_ANY, /* any number of rows changed */
	BATCH_EXPECT_ONE, /* exactly one row found: else the tables differ */
};

/* Sends one statement; 0 or a negative GW_E* code (the caller's error). */
typedef int (*batch_send_fn)(void *ctx, const struct buf *sql, enum batch_expect expect);

/*
 * Memory: after a flush a batch keeps only small allocations
 * (BATCH_KEEP_*), so many tables touched once do not each hold the size
 * of their largest batch. A flush sends statements of at most
 * BATCH_STMT_BYTES.
 */
#define BATCH_STMT_BYTES ((size_t)4 << 20) /* well below max_allowed_packet */
#define BATCH_KEEP_BYTES ((size_t)16 << 10)
#define BATCH_KEEP_OPS 512

struct batch_op {
	size_t koff, klen; /* key text in arena */
	size_t voff, vlen; /* values text in arena */
	enum batch_kind kind;
};

struct batch_seen {
	size_t off, vlen, klen; /* a unique value's text at off, the key text after it */
};

struct batch {
	bool sorted; /* ops in key order (batch_send): no batch_add() until cleared */
	struct buf arena;
	struct batch_op *ops;
	size_t nops, cap;
	struct hash_index by_key; /* merged modes: ops by key text */
	struct buf seen;	  /* segment mode: unique values of the segment */
	struct batch_seen *sents;
	size_t nsents, scap;
	struct hash_index by_value; /* seen entries by value text */
};

/* Adds a change (sending the pending ones first when segment mode needs
 * it). scratch is the caller's buffer for statements. */
int batch_add(struct batch *b, const struct batch_shape *sh, const struct batch_change *c,
	      struct buf *scratch, batch_send_fn send, void *ctx) WARN_UNUSED;
/* Sends every pending change, then forgets them (also on failure). In
 * BATCH_NET with an int_key shape, in key order. */
int batch_flush(struct batch *b, const struct batch_shape *sh, struct buf *scratch,
		batch_send_fn send, void *ctx) WARN_UNUSED;
/* Whether a pending change, by its key text, is one to send. */
typedef bool (*batch_pick_fn)(void *ctx, const char *key, size_t len);
/* Sends the pending changes that pick selects, keeping them all (the
 * caller sends the others, then batch_clear(); the batch takes no change
 * until then). BATCH_NET only: there a
 * key's one change is its whole effect and rows of different keys do not
 * interact, so the parts of any partition of the keys, each sent as
 * batch_flush() sends, in any order, have the effect of one
 * batch_flush(). */
int batch_send(struct batch *b, const struct batch_shape *sh, struct buf *scratch,
	       batch_pick_fn pick, void *pctx, batch_send_fn send, void *ctx) WARN_UNUSED;
/* The key text of pending change i (i < batch_count()). */
static inline void batch_key(const struct batch *b, size_t i, const char **s, size_t *len)
{
	*s = b->arena.ptr + b->ops[i].koff;
	*len = b->ops[i].klen;
}
/* Forgets the pending changes (their transaction was rolled back). */
void batch_clear(struct batch *b);
void batch_release(struct batch *b);
/* Pending changes, and the bytes of text they hold. */
static inline size_t batch_count(const struct batch *b)
{
	return b->nops;
}
static inline size_t batch_bytes(const struct batch *b)
{
	return b->arena.len + b->seen.len;
}

#endif
