#include "lib/common.h"
#include "engine/plan.h"
#include "lib/err.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

size_t plan_parts(uint64_t est_rows, size_t workers)
{
	size_t n;

	if (est_rows <= PLAN_PART_ROWS)
		return 1;
	n = (size_t)(est_rows / PLAN_PART_ROWS) + 1;
	if (n < workers)
		n = workers;
	return n > PLAN_PARTS_MAX ? PLAN_PARTS_MAX : n;
}

static __int128 parse_i128(const char *s)
{
	bool neg = *s == '-';
	__int128 v = 0;

	if (neg || *s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return neg ? -v : v;
}

static char *format_i128(__int128 v)
{
	char tmp[48], *p = tmp + sizeof(tmp) - 1;
	bool neg = v < 0;
	unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;

	*p = '\0';
	do {
		*--p = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (neg)
		*--p = '-';
	return strdup(p);
}

int plan_int_cuts(char ***out, size_t *nparts_out, const char *lo_text, const char *hi_text,
		  size_t n)
{
	__int128 lo = parse_i128(lo_text), hi = parse_i128(hi_text), span = hi - lo + 1;
	char **cuts;
	size_t i;

	*out = NULL;
	*nparts_out = 1;
	if (span < 2 || n < 2)
		return 0;
	if ((__int128)n > span)
		n = (size_t)span;
	if (!(cuts = calloc(n - 1, sizeof(*cuts))))
		return GW_ENOMEM;
	/* (span * i fits: span <= 2^64, i < PLAN_PARTS_MAX) */
	for (i = 1; i < n; i++)
		if (!(cuts[i - 1] = format_i128(lo - 1 + span * (__int128)i / (__int128)n))) {
			util_strv_free(cuts, i - 1);
			return GW_ENOMEM;
		}
	*out = cuts;
	*nparts_out = n;
	return 0;
}

uint64_t plan_sample_step(uint64_t est_rows, size_t nparts)
{
	uint64_t step = nparts ? est_rows / nparts : est_rows;

	return step ? step : 1;
}

int plan_key_join(char **out, char *const *lits, size_t n)
{
	size_t len = 0, i;
	char *s, *p;

	*out = NULL;
	for (i = 0; i < n; i++)
		len += strlen(lits[i]) + 1;
	if (!(s = malloc(len ? len : 1)))
		return GW_ENOMEM;
	p = s;
	for (i = 0; i < n; i++) {
		size_t l = strlen(lits[i]);
		memcpy(p, lits[i], l);
		p += l;
		*p++ = i + 1 < n ? '\n' : '\0';
	}
	if (!n)
		*s = '\0';
	*out = s;
	return 0;
}

int plan_key_split(char ***out, const char *p, size_t len, size_t n)
{
	const char *end = p + len;
	char **k;
	size_t i;

	*out = NULL;
	if (!(k = calloc(n ? n : 1, sizeof(*k))))
		return GW_ENOMEM;
	for (i = 0; i < n; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t m = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (!(k[i] = strndup(p, m))) {
			util_strv_free(k, n);
			return GW_ENOMEM;
		}
		p = nl ? nl + 1 : end;
	}
	*out = k;
	return 0;
}

size_t plan_chunk_first(uint64_t avg_row_len)
{
	uint64_t by_bytes;

	if (!avg_row_len)
		return CHUNK_FIRST;
	by_bytes = CHUNK_FIRST_BYTES / avg_row_len;
	if (by_bytes >= CHUNK_FIRST)
		return CHUNK_FIRST;
	return by_bytes < CHUNK_MIN ? CHUNK_MIN : (size_t)by_bytes;
}

size_t plan_chunk_next(size_t rows, int64_t ms, uint64_t bytes)
{
	size_t by_time =
	    ms > 0 ? (size_t)((uint64_t)rows * CHUNK_TARGET_MS / (uint64_t)ms) : rows * 2;
	size_t by_bytes = bytes ? (size_t)((uint64_t)rows * CHUNK_MAX_BYTES / bytes) : CHUNK_MAX;
	size_t want = by_time < by_bytes ? by_time : by_bytes;

	if (want > rows * 2)
		want = rows * 2;
	return want < CHUNK_MIN ? CHUNK_MIN : want > CHUNK_MAX ? CHUNK_MAX : want;
}
