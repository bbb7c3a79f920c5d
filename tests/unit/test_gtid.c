/* Unit tests of binlog/gtid.c: MySQL GTID sets and MariaDB GTID positions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binlog/gtid.h"

#define U1 "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define U2 "8a94f357-aab4-11df-86ab-c80aa9429562"

/* Parses text and checks its canonical form. */
static void expect_canon(const char *text, const char *want)
{
	struct gtid_set s = GTID_SET_INIT;
	struct gw_err err = GW_ERR_INIT;
	struct buf b = BUF_INIT;

	assert_int_equal(gtid_set_parse(&s, text, &err), 0);
	assert_int_equal(gtid_set_format(&b, &s), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
	gtid_set_release(&s);
}

static void expect_bad(const char *text, const char *why)
{
	struct gtid_set s = GTID_SET_INIT;
	struct gw_err err = GW_ERR_INIT;

	assert_int_equal(gtid_set_parse(&s, text, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, why));
	assert_true(gtid_set_is_empty(&s));
	gtid_set_release(&s);
}

static void test_parse_format(void **state)
{
	(void)state;
	expect_canon("", "");
	expect_canon("  \n", "");
	expect_canon(U1 ":1-5", U1 ":1-5");
	/* what @@gtid_executed shows: upper case, ",\n" between uuids, and
	 * the uuids in any order: sorted */
	expect_canon("8A94F357-AAB4-11DF-86AB-C80AA9429562:1-3,\n3E11FA47-71CA-11E1-9E33-"
		     "C80AA9429562:1-5:7-9",
		     U1 ":1-5:7-9," U2 ":1-3");
	/* ranges merged: overlapping, adjacent, single numbers, out of order */
	expect_canon(U1 ":7:1-3:4-5:9-10:6", U1 ":1-7:9-10");
	expect_canon(U1 ":1-5," U1 ":3-8", U1 ":1-8");
	/* a uuid without dashes, spaces around the parts */
	expect_canon(" 3e11fa4771ca11e19e33c80aa9429562 : 1 - 2 , " U2 ":5", U1 ":1-2," U2 ":5");
	/* tagged GTIDs of MySQL 8.3+: the untagged ranges first, then the tags
	 * in order, lower case */
	expect_canon(U1 ":1-5:Zeta:4:alpha:1-3:2-6", U1 ":1-5:alpha:1-6:zeta:4");
	/* after a tag, the ranges are the tag's */
	expect_canon(U1 ":zeta:4:1-2", U1 ":zeta:1-2:4");
	expect_canon(U1 ":tag_1:1," U1 ":3", U1 ":3:tag_1:1");
	/* a uuid alone holds nothing (MySQL takes it) */
	expect_canon(U1 "," U2 ":1", U2 ":1");
	expect_canon(U1 ":9223372036854775806", U1 ":9223372036854775806");

	expect_bad("3e11fa47-71ca-11e1-9e33:1", "a uuid expected at byte 0");
	expect_bad(U1 ":0", "transaction number");
	expect_bad(U1 ":5-3", "transaction number");
	expect_bad(U1 ":9223372036854775807", "transaction number");
	expect_bad(U1 ":1-99999999999999999999", "transaction number");
	expect_bad(U1 ":1;" U2 ":1", "',' or the end expected at byte 38");
	expect_bad(U1 ":abcdefghijabcdefghijabcdefghijabc:1", "tag");
	expect_bad(U1 ":-1", "transaction number");
}

static void set_of(struct gtid_set *s, const char *text)
{
	struct gw_err err = GW_ERR_INIT;

	assert_int_equal(gtid_set_parse(s, text, &err), 0);
}

static void expect_set(const struct gtid_set *s, const char *want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(gtid_set_format(&b, s), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
}

static void test_add_union_subtract(void **state)
{
	struct gtid_set a = GTID_SET_INIT, b = GTID_SET_INIT, c = GTID_SET_INIT;
	uint8_t u1[16], u2[16];
	uint64_t i;
	(void)state;

	assert_int_equal(gtid_uuid_parse(u1, U1, 36), 0);
	assert_int_equal(gtid_uuid_parse(u2, U2, 36), 0);
	assert_int_equal(gtid_uuid_parse(u2, "x" U2, 37), -1);
	/* the applier's case: one transaction after the other */
	for (i = 1; i <= 1000; i++)
		assert_int_equal(gtid_set_add(&a, u1, "", i, i), 0);
	expect_set(&a, U1 ":1-1000");
	assert_int_equal(a.s[0].n, 1);
	/* a gap, then the gap filled */
	assert_int_equal(gtid_set_add(&a, u1, NULL, 1002, 1002), 0);
	expect_set(&a, U1 ":1-1000:1002");
	assert_int_equal(gtid_set_add(&a, u1, NULL, 1001, 1001), 0);
	expect_set(&a, U1 ":1-1002");
	/* a range bridging several */
	set_of(&b, U1 ":1-2:4-5:7-8:10");
	assert_int_equal(gtid_set_add(&b, u1, "", 3, 9), 0);
	expect_set(&b, U1 ":1-10");
	assert_int_equal(gtid_set_add(&b, u2, "t", 5, 5), 0);
	assert_int_equal(gtid_set_add(&b, u1, "", 0, 1), GW_EFATAL);
	assert_int_equal(gtid_set_add(&b, u1, "", 5, 4), GW_EFATAL);
	expect_set(&b, U1 ":1-10," U2 ":t:5");

	/* union and subtract */
	set_of(&a, U1 ":1-5:20-30," U2 ":1-3");
	set_of(&b, U1 ":3-25:40:tg:1-2");
	assert_int_equal(gtid_set_union(&a, &b), 0);
	expect_set(&a, U1 ":1-30:40:tg:1-2," U2 ":1-3");
	set_of(&c, U1 ":2:10-12:30-40:tg:1-2," U2 ":1-3");
	assert_int_equal(gtid_set_subtract(&a, &c), 0);
	expect_set(&a, U1 ":1:3-9:13-29");
	/* subtracting everything of a uuid drops it */
	set_of(&c, U1 ":1-100");
	assert_int_equal(gtid_set_subtract(&a, &c), 0);
	assert_true(gtid_set_is_empty(&a));

	/* contains, has, equal */
	set_of(&a, U1 ":1-10:20-30:tg:5," U2 ":7");
	set_of(&b, U1 ":2-9:25:tg:5");
	assert_true(gtid_set_contains(&a, &b));
	set_of(&b, U1 ":9-11");
	assert_false(gtid_set_contains(&a, &b));
	set_of(&b, U1 ":11");
	assert_false(gtid_set_contains(&a, &b));
	set_of(&b, U1 ":10," U2 ":7");
	assert_true(gtid_set_contains(&a, &b));
	set_of(&b, U1 ":other:5");
	assert_false(gtid_set_contains(&a, &b));
	gtid_set_clear(&b);
	assert_true(gtid_set_contains(&a, &b));
	assert_false(gtid_set_contains(&b, &a));
	assert_true(gtid_set_has(&a, u1, "", 20));
	assert_true(gtid_set_has(&a, u1, "tg", 5));
	assert_false(gtid_set_has(&a, u1, "", 15));
	assert_false(gtid_set_has(&a, u1, "tg", 4));
	assert_false(gtid_set_has(&a, u2, "", 8));
	assert_int_equal(gtid_set_copy(&c, &a), 0);
	assert_true(gtid_set_equal(&a, &c));
	assert_int_equal(gtid_set_add(&c, u2, "", 9, 9), 0);
	assert_false(gtid_set_equal(&a, &c));

	gtid_set_release(&a);
	gtid_set_release(&b);
	gtid_set_release(&c);
}

static void test_encode_decode(void **state)
{
	/* The encoding of 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7, byte
	 * for byte: one sid, its uuid, two ranges as [start, end). */
	static const uint8_t want[] = {
	    1,	  0,	0,    0,    0,	  0,	0,    0,    0x3e, 0x11, 0xfa, 0x47, 0x71,
	    0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62, 2,    0,
	    0,	  0,	0,    0,    0,	  0,	1,    0,    0,	  0,	0,    0,    0,
	    0,	  6,	0,    0,    0,	  0,	0,    0,    0,	  7,	0,    0,    0,
	    0,	  0,	0,    0,    8,	  0,	0,    0,    0,	  0,	0,    0};
	struct gtid_set s = GTID_SET_INIT, t = GTID_SET_INIT;
	struct gw_err err = GW_ERR_INIT;
	struct buf b = BUF_INIT;
	size_t used = 0;
	(void)state;

	set_of(&s, U1 ":1-5:7");
	assert_int_equal(gtid_set_encode(&b, &s), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.ptr, want, sizeof(want));
	assert_int_equal(gtid_set_decode(&t, (const uint8_t *)b.ptr, b.len, &used, &err), 0);
	assert_int_equal(used, b.len);
	assert_true(gtid_set_equal(&s, &t));

	/* the empty set: a count of zero */
	buf_reset(&b);
	gtid_set_clear(&s);
	assert_int_equal(gtid_set_encode(&b, &s), 0);
	assert_int_equal(b.len, 8);

	/* tagged: format 1 in the top and bottom bytes, the count between, a
	 * tag length byte (shifted) before each sid's ranges */
	buf_reset(&b);
	set_of(&s, U1 ":1-3:ab:5," U2 ":9");
	assert_int_equal(gtid_set_encode(&b, &s), 0);
	assert_int_equal((uint8_t)b.ptr[0], 1);
	assert_int_equal((uint8_t)b.ptr[1], 3);
	assert_int_equal((uint8_t)b.ptr[7], 1);
	assert_int_equal((uint8_t)b.ptr[8 + 16], 0);		       /* U1 untagged: empty tag */
	assert_int_equal((uint8_t)b.ptr[8 + 16 + 1 + 8 + 16 + 16], 4); /* "ab": 2 << 1 */
	assert_int_equal(gtid_set_decode(&t, (const uint8_t *)b.ptr, b.len, &used, &err), 0);
	assert_true(gtid_set_equal(&s, &t));
	expect_set(&t, U1 ":1-3:ab:5," U2 ":9");

	/* malformed: every truncation, a bad range */
	for (used = 0; used < b.len; used++) {
		err_clear(&err);
		assert_int_equal(gtid_set_decode(&t, (const uint8_t *)b.ptr, used, NULL, &err),
				 GW_EFATAL);
		assert_true(gtid_set_is_empty(&t));
	}
	buf_reset(&b);
	set_of(&s, U1 ":1-5");
	assert_int_equal(gtid_set_encode(&b, &s), 0);
	b.ptr[8 + 16 + 8 + 8] = 1; /* end 1: start 1, empty */
	assert_int_equal(gtid_set_decode(&t, (const uint8_t *)b.ptr, b.len, NULL, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "invalid"));

	buf_release(&b);
	gtid_set_release(&s);
	gtid_set_release(&t);
}

static void test_maria_pos(void **state)
{
	struct gtid_pos p = GTID_POS_INIT, q = GTID_POS_INIT;
	struct gw_err err = GW_ERR_INIT;
	struct buf b = BUF_INIT;
	(void)state;

	assert_int_equal(gtid_pos_parse(&p, "", &err), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(gtid_pos_parse(&p, "5-2-20, 0-1-10\n", &err), 0);
	assert_int_equal(gtid_pos_format(&b, &p), 0);
	assert_string_equal(buf_cstr(&b), "0-1-10,5-2-20");
	/* a Gtid_list: several servers of a domain, bracketed: the highest
	 * seq is the domain's last transaction */
	assert_int_equal(gtid_pos_parse(&q, "[0-1-10,0-2-14,0-3-12]", &err), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.d[0].seq, 14);
	assert_int_equal(q.d[0].server, 2);
	assert_false(gtid_pos_reached(&p, &q));
	assert_int_equal(gtid_pos_set(&p, 0, 1, 14), 0);
	assert_true(gtid_pos_reached(&p, &q));
	/* a domain the position lacks is not reached */
	assert_int_equal(gtid_pos_parse(&q, "7-1-1", &err), 0);
	assert_false(gtid_pos_reached(&p, &q));
	assert_int_equal(gtid_pos_set(&p, 7, 1, 1), 0);
	assert_true(gtid_pos_reached(&p, &q));
	buf_reset(&b);
	assert_int_equal(gtid_pos_format(&b, &p), 0);
	assert_string_equal(buf_cstr(&b), "0-1-14,5-2-20,7-1-1");
	assert_non_null(gtid_pos_find(&p, 5));
	assert_null(gtid_pos_find(&p, 6));
	assert_int_equal(gtid_pos_copy(&q, &p), 0);
	assert_int_equal(q.n, 3);

	assert_int_equal(gtid_pos_parse(&p, "0-1", &err), GW_EFATAL);
	assert_int_equal(gtid_pos_parse(&p, "0-1-x", &err), GW_EFATAL);
	assert_int_equal(gtid_pos_parse(&p, "4294967296-1-1", &err), GW_EFATAL);
	assert_int_equal(gtid_pos_parse(&p, U1 ":1", &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "domain-server-seq"));

	assert_int_equal(gtid_text_flavour(""), GTID_NONE);
	assert_int_equal(gtid_text_flavour(" "), GTID_NONE);
	assert_int_equal(gtid_text_flavour("0-1-2"), GTID_MARIADB);
	assert_int_equal(gtid_text_flavour(U1 ":1"), GTID_MYSQL);

	buf_release(&b);
	gtid_pos_release(&p);
	gtid_pos_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_format),
	    cmocka_unit_test(test_add_union_subtract),
	    cmocka_unit_test(test_encode_decode),
	    cmocka_unit_test(test_maria_pos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
