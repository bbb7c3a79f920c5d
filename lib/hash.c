#include "lib/common.h"
#include "lib/hash.h"
#include "lib/err.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

uint32_t hash_bytes(const void *s, size_t len)
{
	const unsigned char *p = s;
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

int hash_index_fit(struct hash_index *h, size_t n, hash_key_fn key_of, const void *ctx)
{
	size_t ncap, i, mask;
	uint32_t *slot;

	if (h->slot && 2 * (n + 1) <= h->cap)
		return 0;
	ncap = h->cap ? 2 * h->cap : 64;
	while (ncap < 2 * (n + 1))
		ncap *= 2;
	if (!(slot = calloc(ncap, sizeof(*slot))))
		return GW_ENOMEM;
	mask = ncap - 1;
	for (i = 0; i < n; i++) {
		const char *s;
		size_t len, j;
		key_of(ctx, (uint32_t)i, &s, &len);
		for (j = hash_bytes(s, len) & mask; slot[j]; j = (j + 1) & mask)
			;
		slot[j] = (uint32_t)(i + 1);
	}
	free(h->slot);
	h->slot = slot;
	h->cap = ncap;
	return 0;
}

uint32_t *hash_index_find(const struct hash_index *h, const char *s, size_t len, hash_key_fn key_of,
			  const void *ctx)
{
	size_t mask = h->cap - 1, i = hash_bytes(s, len) & mask;

	for (; h->slot[i]; i = (i + 1) & mask) {
		const char *k;
		size_t klen;
		key_of(ctx, h->slot[i] - 1, &k, &klen);
		if (klen == len && !memcmp(k, s, len))
			break;
	}
	return &h->slot[i];
}

void hash_index_clear(struct hash_index *h)
{
	if (h->slot)
		memset(h->slot, 0, h->cap * sizeof(*h->slot));
}

void hash_index_release(struct hash_index *h)
{
	free(h->slot);
	h->slot = NULL;
	h->cap = 0;
}
