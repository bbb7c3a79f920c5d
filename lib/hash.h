/*
 * The one string hash: FNV-1a over bytes, and an open-addressing index
 * that maps strings to entry numbers. The strings stay where the caller
 * keeps them (an arena, an array); the index holds entry number + 1 per
 * slot (0: empty) and asks the caller for an entry's bytes through
 * key_of, so one index serves any layout and stores 4 bytes a slot.
 */
#ifndef GODWIT_HASH_H
#define GODWIT_HASH_H

#include "lib/common.h"

#include <stdint.h>

uint32_t hash_bytes(const void *s, size_t len);

/* The bytes of entry `entry` of the caller's collection. */
typedef void (*hash_key_fn)(const void *ctx, uint32_t entry, const char **s, size_t *len);

struct hash_index {
	uint32_t *slot;
	size_t cap; /* a power of two, or 0 */
};

/* Makes room for one more entry beyond the n already indexed, keeping the
 * index at most half full: grows and re-inserts entries 0..n-1 (read
 * through key_of) when needed. 0 or GW_ENOMEM (the index unchanged). */
int hash_index_fit(struct hash_index *h, size_t n, hash_key_fn key_of, const void *ctx) WARN_UNUSED;
/* The slot for s: holding entry + 1 of an entry with the same bytes, or 0
 * (the free slot where such an entry goes: store entry + 1 there). The
 * index must have had hash_index_fit() called for the entry to add. */
uint32_t *hash_index_find(const struct hash_index *h, const char *s, size_t len, hash_key_fn key_of,
			  const void *ctx);
/* Empties the index, keeping its memory. */
void hash_index_clear(struct hash_index *h);
void hash_index_release(struct hash_index *h);

#endif
