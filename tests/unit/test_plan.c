/* Unit tests of the full copy's arithmetic (engine/plan.c): parts, integer
 * range cuts, stored key tuples, chunk sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/plan.h"
#include "lib/util.h"

static void test_parts(void **state)
{
	(void)state;
	assert_int_equal(plan_parts(0, 4), 1);
	assert_int_equal(plan_parts(PLAN_PART_ROWS, 4), 1);
	/* just above: at least one part per worker */
	assert_int_equal(plan_parts(PLAN_PART_ROWS + 1, 4), 4);
	assert_int_equal(plan_parts(PLAN_PART_ROWS + 1, 1), 2);
	assert_int_equal(plan_parts(1000000, 2), 11);
	assert_int_equal(plan_parts(UINT64_C(1) << 40, 2), PLAN_PARTS_MAX);
	assert_int_equal(plan_sample_step(1000000, 4), 250000);
	assert_int_equal(plan_sample_step(3, 4), 1); /* never 0: LIMIT -1 */
}

/* The cuts of [lo, hi] into n, as one string "c1 c2 ...". */
static void cuts(char *out, size_t outsz, size_t *nparts, const char *lo, const char *hi, size_t n)
{
	char **c;
	size_t i;

	assert_int_equal(plan_int_cuts(&c, nparts, lo, hi, n), 0);
	out[0] = '\0';
	for (i = 0; i + 1 < *nparts; i++) {
		strncat(out, c[i], outsz - strlen(out) - 2);
		if (i + 2 < *nparts)
			strncat(out, " ", outsz - strlen(out) - 1);
	}
	util_strv_free(c, *nparts ? *nparts - 1 : 0);
}

static void test_int_cuts(void **state)
{
	char s[512];
	size_t n;

	(void)state;
	/* (0, 25], (25, 50], (50, 75], (75, 100] of 1..100 */
	cuts(s, sizeof(s), &n, "1", "100", 4);
	assert_int_equal(n, 4);
	assert_string_equal(s, "25 50 75");
	/* a span narrower than the parts wanted: one value a part */
	cuts(s, sizeof(s), &n, "-1", "1", 8);
	assert_int_equal(n, 3);
	assert_string_equal(s, "-1 0");
	cuts(s, sizeof(s), &n, "7", "7", 8);
	assert_int_equal(n, 1);
	/* the whole BIGINT range, signed and unsigned: no overflow */
	cuts(s, sizeof(s), &n, "-9223372036854775808", "9223372036854775807", 2);
	assert_int_equal(n, 2);
	assert_string_equal(s, "-1");
	cuts(s, sizeof(s), &n, "0", "18446744073709551615", 4);
	assert_int_equal(n, 4);
	assert_string_equal(s, "4611686018427387903 9223372036854775807 13835058055282163711");
}

static void test_key_text(void **state)
{
	char *lits[3] = {"_utf8mb4 0x61 COLLATE utf8mb4_bin", "''", "-5"}, *joined, **back;

	(void)state;
	assert_int_equal(plan_key_join(&joined, lits, 3), 0);
	assert_string_equal(joined, "_utf8mb4 0x61 COLLATE utf8mb4_bin\n''\n-5");
	assert_int_equal(plan_key_split(&back, joined, strlen(joined), 3), 0);
	assert_string_equal(back[0], lits[0]);
	assert_string_equal(back[1], "''");
	assert_string_equal(back[2], "-5");
	util_strv_free(back, 3);
	/* a tuple stored short (an older plan) gives empty literals, no crash */
	assert_int_equal(plan_key_split(&back, "7", 1, 2), 0);
	assert_string_equal(back[0], "7");
	assert_string_equal(back[1], "");
	util_strv_free(back, 2);
	free(joined);
}

static void test_chunks(void **state)
{
	(void)state;
	assert_int_equal(plan_chunk_first(0), CHUNK_FIRST);
	assert_int_equal(plan_chunk_first(200), CHUNK_FIRST);
	/* 16 KiB rows: 4 MiB worth */
	assert_int_equal(plan_chunk_first(16384), 256);
	assert_int_equal(plan_chunk_first(10u << 20), CHUNK_MIN);
	/* fast: doubles at most */
	assert_int_equal(plan_chunk_next(1000, 10, 100000), 2000);
	assert_int_equal(plan_chunk_next(1000, 0, 100000), 2000);
	/* slow: to about a second */
	assert_int_equal(plan_chunk_next(1000, 4000, 100000), 250);
	/* big rows: within CHUNK_MAX_BYTES */
	assert_int_equal(plan_chunk_next(1000, 100, (uint64_t)CHUNK_MAX_BYTES * 4), 250);
	/* the bounds */
	assert_int_equal(plan_chunk_next(10, 100000, 100), CHUNK_MIN);
	assert_int_equal(plan_chunk_next(CHUNK_MAX, 1, 100), CHUNK_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parts),
	    cmocka_unit_test(test_int_cuts),
	    cmocka_unit_test(test_key_text),
	    cmocka_unit_test(test_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
