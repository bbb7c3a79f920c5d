/*
 * The full copy's arithmetic, pure (docs/copy.md, "Parts and chunks"):
 * how many parts a table is cut into, where an integer key's ranges end,
 * how a key tuple is kept as text, and how many rows the next chunk takes.
 * Where a key of any other type is cut (sampled boundaries) is read on the
 * source by engine/copy.c.
 */
#ifndef GODWIT_PLAN_H
#define GODWIT_PLAN_H

#include "lib/common.h"

#include <stdint.h>

#define PLAN_PART_ROWS 100000 /* estimated rows per part of a split table */
#define PLAN_PARTS_MAX 64

#define CHUNK_MIN 10
#define CHUNK_MAX 200000
#define CHUNK_FIRST 1000
#define CHUNK_FIRST_BYTES (4u << 20)
#define CHUNK_TARGET_MS 1000
#define CHUNK_MAX_BYTES (32u << 20) /* one destination transaction */

/* The parts a table of est_rows rows is cut into with `workers` workers:
 * 1 up to PLAN_PART_ROWS rows; else about one per PLAN_PART_ROWS, at least
 * one per worker, at most PLAN_PARTS_MAX. */
size_t plan_parts(uint64_t est_rows, size_t workers);

/*
 * The n - 1 cut points that split an integer key's [lo, hi] into n ranges
 * (lo, hi: the key's MIN and MAX as decimal text, any 64-bit signed or
 * unsigned value) of about equal width: part i is (cut[i-1], cut[i]], the
 * first open below, the last open above. *nparts_out is n, fewer when the
 * span has fewer values. *out gets the cuts as decimal text (caller
 * frees with util_strv_free(*out, *nparts_out - 1)); NULL for one part.
 * 0 or GW_ENOMEM.
 */
int plan_int_cuts(char ***out, size_t *nparts_out, const char *lo, const char *hi,
		  size_t n) WARN_UNUSED;

/* The rows between two sampled cut points of a table cut into nparts. */
uint64_t plan_sample_step(uint64_t est_rows, size_t nparts);

/* A key tuple as stored (copy_state.lo, hi, last_key): its n literals, one
 * a line (literals are SQL text without newlines). *out is a new string. */
int plan_key_join(char **out, char *const *lits, size_t n) WARN_UNUSED;
/* The other way: exactly n literals (missing ones empty); the caller frees
 * with util_strv_free(*out, n). */
int plan_key_split(char ***out, const char *p, size_t len, size_t n) WARN_UNUSED;

/* The rows of a table's first chunk: CHUNK_FIRST, fewer for wide rows
 * (CHUNK_FIRST_BYTES by the average row length), at least CHUNK_MIN. */
size_t plan_chunk_first(uint64_t avg_row_len);
/* The rows of the next chunk, after one of `rows` rows took ms
 * milliseconds and `bytes` bytes: about CHUNK_TARGET_MS and at most
 * CHUNK_MAX_BYTES, at most twice the last, within [CHUNK_MIN, CHUNK_MAX]. */
size_t plan_chunk_next(size_t rows, int64_t ms, uint64_t bytes);

#endif
