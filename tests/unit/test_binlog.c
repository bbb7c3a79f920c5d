/* The binlog decoder on hand-built bytes: tricky column types, binary JSON,
 * whole events with checksums, and malformed input. */
#include "lib/common.h"
#include "binlog/binlog.h"
#include "binlog/binlog_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "lib/banned.h"

/* Decodes one value of type/meta from bytes; returns the arena-owned
 * value through out (the arena is the caller's). */
static int value_of(struct bl_arena *a, uint8_t type, uint16_t meta, bool is_unsigned,
		    const uint8_t *p, size_t n, struct bl_value *out)
{
	struct bl_column col;
	struct bl_rd r = {p, n, 0};
	struct gw_err err = GW_ERR_INIT;
	int rc;

	memset(&col, 0, sizeof(col));
	col.type = type;
	col.meta = meta;
	col.is_unsigned = is_unsigned;
	rc = bl_decode_value(a, &r, &col, out, &err);
	if (rc == 0)
		assert_int_equal(r.off, n); /* every byte consumed, no more */
	return rc;
}

static void expect_str(uint8_t type, uint16_t meta, const uint8_t *p, size_t n, const char *want)
{
	struct bl_arena a = {NULL, 0};
	struct bl_value v;

	assert_int_equal(value_of(&a, type, meta, false, p, n, &v), 0);
	assert_non_null(v.s);
	assert_string_equal(v.s, want);
	assert_int_equal(v.len, strlen(want));
	bl_arena_release(&a);
}

static void test_decimal(void **state)
{
	/* the examples of MySQL's decimal2bin comment */
	static const uint8_t pos[] = {0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2};
	static const uint8_t neg[] = {0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d};
	static const uint8_t small_neg[] = {0x7f, 0xff, 0xf3, 0xf2, 0xb7}; /* DECIMAL(10,4) */
	static const uint8_t zero[] = {0x80, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t int_only[] = {0x80, 0x00, 0x2a}; /* DECIMAL(5,0) 42 */
	static const uint8_t frac_only[] = {0x80, 0x01};      /* DECIMAL(4,4) .0001 */
	(void)state;

	expect_str(MT_NEWDECIMAL, 14 << 8 | 4, pos, sizeof(pos), "1234567890.1234");
	expect_str(MT_NEWDECIMAL, 14 << 8 | 4, neg, sizeof(neg), "-1234567890.1234");
	expect_str(MT_NEWDECIMAL, 10 << 8 | 4, small_neg, sizeof(small_neg), "-12.3400");
	expect_str(MT_NEWDECIMAL, 10 << 8 | 4, zero, sizeof(zero), "0.0000");
	expect_str(MT_NEWDECIMAL, 5 << 8 | 0, int_only, 3, "42");
	expect_str(MT_NEWDECIMAL, 4 << 8 | 4, frac_only, 2, "0.0001");
	assert_int_equal(bl_decimal_size(65, 30), 30);
	assert_int_equal(bl_decimal_size(0, 0), 0);
	assert_int_equal(bl_decimal_size(10, 11), 0);
}

static void test_decimal_bad(void **state)
{
	/* a group holding more than 9 digits is not a decimal */
	static const uint8_t bad[] = {0xff, 0xff, 0xff, 0xff, 0xff};
	struct bl_arena a = {NULL, 0};
	struct bl_value v;
	(void)state;

	assert_int_not_equal(value_of(&a, MT_NEWDECIMAL, 9 << 8 | 0, false, bad, 4, &v), 0);
	/* invalid precision in the map */
	assert_int_not_equal(value_of(&a, MT_NEWDECIMAL, 0, false, bad, 4, &v), 0);
	bl_arena_release(&a);
}

static void test_time2(void **state)
{
	static const uint8_t neg[] = {0x60, 0x43, 0xe5};
	static const uint8_t neg_f2[] = {0x7f, 0xff, 0xfe, 0xce};
	static const uint8_t min_f6[] = {0x4b, 0x91, 0x04, 0xff, 0xff, 0xff};
	static const uint8_t zero[] = {0x80, 0x00, 0x00};
	(void)state;

	expect_str(MT_TIME2, 0, neg, sizeof(neg), "-507:48:27");
	expect_str(MT_TIME2, 2, neg_f2, sizeof(neg_f2), "-00:00:01.50");
	expect_str(MT_TIME2, 6, min_f6, sizeof(min_f6), "-838:59:59.000001");
	expect_str(MT_TIME2, 0, zero, sizeof(zero), "00:00:00");
}

static void test_datetime2_timestamp2(void **state)
{
	static const uint8_t f6[] = {0x99, 0xb2, 0xba, 0xd1, 0x05, 0x03, 0xd0, 0x90};
	static const uint8_t f3[] = {0x99, 0xb2, 0xba, 0xd1, 0x05, 0x09, 0xc4};
	static const uint8_t ts[] = {0x65, 0xe0, 0x80, 0xc5, 0x04, 0xce};
	static const uint8_t ts0[] = {0, 0, 0, 0};
	(void)state;

	expect_str(MT_DATETIME2, 6, f6, sizeof(f6), "2024-02-29 13:04:05.250000");
	expect_str(MT_DATETIME2, 3, f3, sizeof(f3), "2024-02-29 13:04:05.250");
	expect_str(MT_DATETIME2, 0, f6, 5, "2024-02-29 13:04:05");
	expect_str(MT_TIMESTAMP2, 3, ts, sizeof(ts), "2024-02-29 13:04:05.123");
	expect_str(MT_TIMESTAMP2, 0, ts0, sizeof(ts0), "0000-00-00 00:00:00");
}

static void test_old_temporal(void **state)
{
	/* DATE: day | month << 5 | year << 9 */
	uint32_t date = 29 | 2 << 5 | 2024 << 9;
	uint8_t d[3] = {(uint8_t)date, (uint8_t)(date >> 8), (uint8_t)(date >> 16)};
	/* TIME -12:34:56 as -123456 in 3 bytes */
	uint32_t t = (uint32_t)(-123456) & 0xffffff;
	uint8_t tm[3] = {(uint8_t)t, (uint8_t)(t >> 8), (uint8_t)(t >> 16)};
	uint64_t dt = 20240229130405ULL;
	uint8_t dtb[8];
	size_t i;
	(void)state;

	for (i = 0; i < 8; i++)
		dtb[i] = (uint8_t)(dt >> (8 * i));
	expect_str(MT_DATE, 0, d, 3, "2024-02-29");
	expect_str(MT_TIME, 0, tm, 3, "-12:34:56");
	expect_str(MT_DATETIME, 0, dtb, 8, "2024-02-29 13:04:05");
}

static void test_integers(void **state)
{
	static const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t i24[3] = {0x00, 0x00, 0x80};
	struct bl_arena a = {NULL, 0};
	struct bl_value v;
	(void)state;

	assert_int_equal(value_of(&a, MT_TINY, 0, false, ff, 1, &v), 0);
	assert_int_equal(v.kind, BL_INT);
	assert_int_equal(v.i, -1);
	assert_int_equal(value_of(&a, MT_TINY, 0, true, ff, 1, &v), 0);
	assert_int_equal(v.kind, BL_UINT);
	assert_int_equal(v.u, 255);
	assert_int_equal(value_of(&a, MT_INT24, 0, false, i24, 3, &v), 0);
	assert_int_equal(v.i, -8388608);
	assert_int_equal(value_of(&a, MT_INT24, 0, true, i24, 3, &v), 0);
	assert_int_equal(v.u, 8388608);
	assert_int_equal(value_of(&a, MT_LONGLONG, 0, true, ff, 8, &v), 0);
	assert_true(v.u == UINT64_MAX);
	assert_int_equal(value_of(&a, MT_LONGLONG, 0, false, ff, 8, &v), 0);
	assert_int_equal(v.i, -1);
	/* BIT(10): 1 whole byte + 2 bits */
	assert_int_equal(value_of(&a, MT_BIT, 1 << 8 | 2, false, ff, 2, &v), 0);
	assert_int_equal(v.u, 0xffff);
	/* truncated */
	assert_int_not_equal(value_of(&a, MT_LONG, 0, false, ff, 3, &v), 0);
	bl_arena_release(&a);
}

static void test_strings(void **state)
{
	uint8_t vc[2 + 300];
	static const uint8_t bin[] = {3, 0x00, 0xff, 0x41};
	struct bl_arena a = {NULL, 0};
	struct bl_value v;
	struct bl_column col;
	struct bl_rd r;
	struct gw_err err = GW_ERR_INIT;
	(void)state;

	/* VARCHAR(300): a 2-byte length */
	memset(vc, 'x', sizeof(vc));
	vc[0] = 0x2c, vc[1] = 0x01;
	assert_int_equal(value_of(&a, MT_VARCHAR, 300, false, vc, sizeof(vc), &v), 0);
	assert_int_equal(v.len, 300);
	/* CHAR(255) in utf8mb4 = 1020 bytes: STRING meta with the length's high
	 * bits folded into the real type byte */
	memset(&col, 0, sizeof(col));
	col.type = MT_STRING;
	col.meta = 0xcefc; /* 0xfe ^ ((1020 & 0x300) >> 4), 1020 & 0xff */
	col.charset = 45;
	r.p = vc, r.len = sizeof(vc), r.off = 0;
	assert_int_equal(bl_decode_value(&a, &r, &col, &v, &err), 0);
	assert_int_equal(r.off, 302);
	assert_int_equal(v.kind, BL_TEXT);
	/* charset 63 is binary */
	memset(&col, 0, sizeof(col));
	col.type = MT_VARCHAR;
	col.meta = 10;
	col.charset = 63;
	r.p = bin, r.len = sizeof(bin), r.off = 0;
	assert_int_equal(bl_decode_value(&a, &r, &col, &v, &err), 0);
	assert_int_equal(v.kind, BL_BINARY);
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.s, "\x00\xff\x41", 3);
	/* unknown charset, invalid UTF-8: binary */
	col.charset = 0;
	r.off = 0;
	assert_int_equal(bl_decode_value(&a, &r, &col, &v, &err), 0);
	assert_int_equal(v.kind, BL_BINARY);
	/* a length past the end */
	vc[0] = 0xff, vc[1] = 0xff;
	assert_int_not_equal(value_of(&a, MT_VARCHAR, 300, false, vc, 100, &v), 0);
	bl_arena_release(&a);
}

static void test_enum_set_labels(void **state)
{
	char *labels[] = {"p", "q", "r"};
	struct bl_arena a = {NULL, 0};
	struct bl_value v;
	struct bl_column col;
	struct bl_rd r;
	struct gw_err err = GW_ERR_INIT;
	static const uint8_t b5[] = {5};
	(void)state;

	memset(&col, 0, sizeof(col));
	col.type = MT_SET;
	col.meta = MT_SET << 8 | 1;
	col.labels = labels;
	col.nlabels = 3;
	r.p = b5, r.len = 1, r.off = 0;
	assert_int_equal(bl_decode_value(&a, &r, &col, &v, &err), 0);
	assert_int_equal(v.kind, BL_SET);
	assert_string_equal(v.s, "p,r");
	col.type = MT_ENUM;
	col.meta = MT_ENUM << 8 | 1;
	r.off = 0;
	assert_int_equal(bl_decode_value(&a, &r, &col, &v, &err), 0);
	assert_int_equal(v.kind, BL_ENUM);
	assert_int_equal(v.u, 5);
	assert_null(v.s); /* out of the label range */
	bl_arena_release(&a);
}

static const uint8_t jsonb_doc[] = {
    0x00, 0x02, 0x00, 0x2b, 0x00, 0x12, 0x00, 0x01, 0x00, 0x13, 0x00, 0x01, 0x00, 0x02, 0x14,
    0x00, 0x0b, 0x23, 0x00, 0x61, 0x62, 0x03, 0x00, 0x0f, 0x00, 0x05, 0x01, 0x00, 0x04, 0x01,
    0x00, 0x0c, 0x0d, 0x00, 0x01, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0xc0};

static void expect_json(const uint8_t *p, size_t n, const char *want)
{
	struct buf b = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;

	assert_int_equal(bl_jsonb_to_text(&b, p, n, &err), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
}

static void test_jsonb(void **state)
{
	static const uint8_t opaque_dec[] = {0x0f, 0xf6, 0x04, 0x03, 0x02, 0x89, 0x00};
	/* opaque DATETIME 2012-03-18 11:30:45: packed (ymd << 17 | hms) << 24 */
	uint64_t ym = 2012 * 13 + 3, ymd = ym << 5 | 18, hms = 11 << 12 | 30 << 6 | 45;
	uint64_t packed = (ymd << 17 | hms) << 24;
	uint8_t opaque_dt[3 + 8] = {0x0f, MT_DATETIME, 8};
	static const uint8_t lit[] = {0x04, 0x01};
	static const uint8_t str[] = {0x0c, 0x02, 'h', '"'};
	static const uint8_t i64[] = {0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t i;
	(void)state;

	expect_json(jsonb_doc, sizeof(jsonb_doc), "{\"a\":[1,true,\"x\"],\"b\":-3.5}");
	expect_json(opaque_dec, sizeof(opaque_dec), "9.00");
	for (i = 0; i < 8; i++)
		opaque_dt[3 + i] = (uint8_t)(packed >> (8 * i));
	expect_json(opaque_dt, sizeof(opaque_dt), "\"2012-03-18 11:30:45.000000\"");
	opaque_dt[1] = MT_DATE;
	expect_json(opaque_dt, sizeof(opaque_dt), "\"2012-03-18\"");
	expect_json(lit, sizeof(lit), "true");
	expect_json(str, sizeof(str), "\"h\\\"\"");
	expect_json(i64, sizeof(i64), "-1");
}

static void test_jsonb_large(void **state)
{
	/* a large array of 70000 int16 zeros: 4-byte counts, inlined values */
	size_t n = 70000, size = 8 + n * 5, i;
	uint8_t *p = calloc(1, size + 1);
	struct buf b = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;
	(void)state;

	assert_non_null(p);
	p[0] = 0x03;
	p[1] = (uint8_t)n, p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)(n >> 16);
	p[5] = (uint8_t)size, p[6] = (uint8_t)(size >> 8), p[7] = (uint8_t)(size >> 16);
	for (i = 0; i < n; i++)
		p[9 + i * 5] = 0x05;
	assert_int_equal(bl_jsonb_to_text(&b, p, size + 1, &err), 0);
	assert_int_equal(b.len, 2 + n * 2 - 1);
	assert_memory_equal(b.ptr, "[0,0,", 5);
	buf_release(&b);
	free(p);
}

static void test_jsonb_malformed(void **state)
{
	uint8_t bad[sizeof(jsonb_doc)];
	struct buf b = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;
	size_t i;
	(void)state;

	/* every truncation fails cleanly */
	for (i = 0; i < sizeof(jsonb_doc); i++) {
		buf_reset(&b);
		assert_int_not_equal(bl_jsonb_to_text(&b, jsonb_doc, i, &err), 0);
	}
	/* an offset out of range */
	memcpy(bad, jsonb_doc, sizeof(bad));
	bad[15] = 0xff;
	buf_reset(&b);
	assert_int_not_equal(bl_jsonb_to_text(&b, bad, sizeof(bad), &err), 0);
	assert_non_null(strstr(err.msg, "binary JSON malformed"));
	buf_release(&b);
}

static void test_json_diffs(void **state)
{
	/* replace $.b with "z", insert $.c = 1, remove $.a[0], insert $.a[5] = true */
	static const uint8_t diffs[] = {0x00, 3,   '$', '.', 'b', 3,	0x0c, 0x01, 'z',  0x01,
					3,    '$', '.', 'c', 3,	  0x05, 0x01, 0x00, 0x02, 6,
					'$',  '.', 'a', '[', '0', ']',	0x01, 6,    '$',  '.',
					'a',  '[', '5', ']', 2,	  0x04, 0x01};
	static const uint8_t missing[] = {0x00, 3, '$', '.', 'q', 2, 0x04, 0x00};
	const char *before = "{\"a\":[1,true,\"x\"],\"b\":-3.5}";
	struct buf b = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;
	(void)state;

	assert_int_equal(
	    bl_json_apply_diffs(&b, before, strlen(before), diffs, sizeof(diffs), &err), 0);
	assert_string_equal(buf_cstr(&b), "{\"a\":[true,\"x\",true],\"b\":\"z\",\"c\":1}");
	buf_reset(&b);
	assert_int_not_equal(
	    bl_json_apply_diffs(&b, before, strlen(before), missing, sizeof(missing), &err), 0);
	assert_non_null(strstr(err.msg, "not in the before image"));
	buf_release(&b);
}

static void expect_sql(const struct bl_value *v, uint8_t type, const char *want)
{
	struct bl_column col;
	struct buf b = BUF_INIT;

	memset(&col, 0, sizeof(col));
	col.type = type;
	assert_int_equal(binlog_value_sql(&b, v, &col), 0);
	assert_string_equal(buf_cstr(&b), want);
	buf_release(&b);
}

static void test_value_sql(void **state)
{
	struct bl_value v;
	(void)state;

	memset(&v, 0, sizeof(v));
	expect_sql(&v, MT_LONG, "NULL");
	v.kind = BL_INT, v.i = INT64_MIN;
	expect_sql(&v, MT_LONGLONG, "-9223372036854775808");
	v.kind = BL_UINT, v.u = UINT64_MAX;
	expect_sql(&v, MT_LONGLONG, "18446744073709551615");
	v.kind = BL_DOUBLE, v.d = 0.1;
	expect_sql(&v, MT_DOUBLE, "0.10000000000000001");
	v.d = (float)0.1;
	expect_sql(&v, MT_FLOAT, "0.100000001");
	v.kind = BL_DECIMAL, v.s = "-12.3400", v.len = 8;
	expect_sql(&v, MT_NEWDECIMAL, "-12.3400");
	v.kind = BL_TEMPORAL, v.s = "-507:48:27", v.len = 10;
	expect_sql(&v, MT_TIME2, "'-507:48:27'");
	v.kind = BL_TEXT, v.s = "a'\\\x00", v.len = 4;
	expect_sql(&v, MT_VARCHAR, "X'61275C00'");
	v.kind = BL_BINARY, v.s = "", v.len = 0;
	expect_sql(&v, MT_BLOB, "X''");
	v.kind = BL_JSON, v.s = "[1]", v.len = 3;
	expect_sql(&v, MT_JSON, "CONVERT(X'5B315D' USING utf8mb4)");
	v.kind = BL_ENUM, v.u = 2, v.s = "b", v.len = 1;
	expect_sql(&v, MT_ENUM, "X'62'");
	v.s = NULL;
	expect_sql(&v, MT_ENUM, "2");
	v.kind = BL_SET, v.u = 0, v.s = "", v.len = 0;
	expect_sql(&v, MT_SET, "0");
}

/* ---- whole events ---- */

struct evbuf {
	uint8_t b[4096];
	size_t n;
};

static void ev_start(struct evbuf *e, uint8_t type)
{
	memset(e, 0, sizeof(*e));
	e->b[0] = 1; /* timestamp */
	e->b[4] = type;
	e->b[5] = 7; /* server id */
	e->n = 19;
}

static void ev_add(struct evbuf *e, const void *p, size_t n)
{
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

static void ev_u(struct evbuf *e, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		e->b[e->n++] = (uint8_t)(v >> (8 * i));
}

/* Sets the size, and with crc the CRC32 footer. */
static void ev_end(struct evbuf *e, bool crc)
{
	size_t size = e->n + (crc ? 4 : 0);
	size_t i;

	for (i = 0; i < 4; i++)
		e->b[9 + i] = (uint8_t)(size >> (8 * i));
	if (crc) {
		uint32_t c = (uint32_t)crc32(0L, e->b, (uInt)e->n);

		ev_u(e, c, 4);
	}
}

static void build_fde(struct evbuf *e, const char *version, bool crc)
{
	char ver[50] = {0};
	uint8_t post[42] = {0};

	ev_start(e, BINLOG_FORMAT_DESCRIPTION_EVENT);
	ev_u(e, 4, 2);
	memcpy(ver, version, strlen(version));
	ev_add(e, ver, 50);
	ev_u(e, 0, 4);
	ev_u(e, 19, 1);
	post[BINLOG_QUERY_EVENT - 1] = 13;
	post[BINLOG_ROTATE_EVENT - 1] = 8;
	post[BINLOG_TABLE_MAP_EVENT - 1] = 8;
	post[BINLOG_WRITE_ROWS_EVENT - 1] = 10;
	post[BINLOG_UPDATE_ROWS_EVENT - 1] = 10;
	post[BINLOG_DELETE_ROWS_EVENT - 1] = 10;
	ev_add(e, post, sizeof(post));
	ev_u(e, crc ? 1 : 0, 1);
	if (!crc)
		ev_u(e, 0, 4); /* the checksum field is there, unused */
	ev_end(e, crc);
}

/* INT UNSIGNED, DECIMAL(10,4), TIME2, DATETIME2(6), VARCHAR(300), JSON */
static void build_table_map(struct evbuf *e)
{
	static const uint8_t types[] = {MT_LONG,      MT_NEWDECIMAL, MT_TIME2,
					MT_DATETIME2, MT_VARCHAR,    MT_JSON};
	static const uint8_t meta[] = {10, 4, 0, 6, 0x2c, 0x01, 4};
	static const char *names[] = {"id", "price", "t", "dt", "name", "doc"};
	size_t i, nl = 0;

	ev_start(e, BINLOG_TABLE_MAP_EVENT);
	ev_u(e, 42, 6);
	ev_u(e, 1, 2);
	ev_u(e, 1, 1);
	ev_add(e, "d", 2);
	ev_u(e, 1, 1);
	ev_add(e, "t", 2);
	ev_u(e, 6, 1);
	ev_add(e, types, sizeof(types));
	ev_u(e, sizeof(meta), 1);
	ev_add(e, meta, sizeof(meta));
	ev_u(e, 0x3e, 1); /* all but id nullable */
	/* SIGNEDNESS: id unsigned, the decimal signed */
	ev_u(e, 1, 1);
	ev_u(e, 1, 1);
	ev_u(e, 0x80, 1);
	/* COLUMN_NAME */
	for (i = 0; i < 6; i++)
		nl += 1 + strlen(names[i]);
	ev_u(e, 4, 1);
	ev_u(e, nl, 1);
	for (i = 0; i < 6; i++) {
		ev_u(e, strlen(names[i]), 1);
		ev_add(e, names[i], strlen(names[i]));
	}
	ev_end(e, true);
}

static void build_write_rows(struct evbuf *e)
{
	static const uint8_t dec[] = {0x7f, 0xff, 0xf3, 0xf2, 0xb7};
	static const uint8_t t2[] = {0x60, 0x43, 0xe5};
	static const uint8_t dt[] = {0x99, 0xb2, 0xba, 0xd1, 0x05, 0x03, 0xd0, 0x90};

	ev_start(e, BINLOG_WRITE_ROWS_EVENT);
	ev_u(e, 42, 6);
	ev_u(e, 1, 2);
	ev_u(e, 2, 2); /* no extra data */
	ev_u(e, 6, 1);
	ev_u(e, 0x3f, 1);
	/* row 1: all set */
	ev_u(e, 0, 1);
	ev_u(e, 4294967295u, 4);
	ev_add(e, dec, sizeof(dec));
	ev_add(e, t2, sizeof(t2));
	ev_add(e, dt, sizeof(dt));
	ev_u(e, 6, 2);
	ev_add(e, "h\xc3\xa9llo", 6);
	ev_u(e, sizeof(jsonb_doc), 4);
	ev_add(e, jsonb_doc, sizeof(jsonb_doc));
	/* row 2: id 7, the rest NULL */
	ev_u(e, 0x3e, 1);
	ev_u(e, 7, 4);
	ev_end(e, true);
}

static void test_events(void **state)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct evbuf e;
	struct buf out = BUF_INIT;
	(void)state;

	assert_non_null(d);
	build_fde(&e, "8.0.40", true);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_FORMAT_DESCRIPTION);
	assert_int_equal(ev.checksum_alg, 1);
	assert_string_equal(ev.server_version, "8.0.40");

	build_table_map(&e);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_TABLE_MAP);
	assert_string_equal(ev.table->db, "d");
	assert_string_equal(ev.table->cols[5].name, "doc");
	assert_true(ev.table->cols[0].is_unsigned);
	assert_false(ev.table->cols[1].is_unsigned);
	assert_true(ev.table->has_names);

	build_write_rows(&e);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_WRITE_ROWS);
	assert_int_equal(ev.nrows, 2);
	assert_int_equal(ev.rows[0].after[0].kind, BL_UINT);
	assert_true(ev.rows[0].after[0].u == 4294967295u);
	assert_int_equal(ev.rows[1].after[2].kind, BL_NULL);
	assert_int_equal(binlog_event_json(&out, &ev, "f", 100), 0);
	assert_non_null(strstr(
	    buf_cstr(&out), "\"rows\":[[4294967295,\"-12.3400\",\"-507:48:27\",\"2024-02-29 "
			    "13:04:05.250000\",\"h\xc3\xa9llo\",{\"a\":[1,true,\"x\"],\"b\":-3.5}],"
			    "[7,null,null,null,null,null]]"));
	assert_non_null(strstr(buf_cstr(&out), "\"type\":\"write_rows\""));
	assert_non_null(strstr(buf_cstr(&out), "\"database\":\"d\",\"table\":\"t\""));

	/* a flipped byte: the checksum catches it */
	e.b[30] ^= 1;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "checksum mismatch"));
	e.b[30] ^= 1;

	/* a stream without checksums although the format description has
	 * them: the caller says so */
	binlog_decoder_set_checksum(d, 0);
	e.n -= 4;
	e.b[9] = (uint8_t)e.n, e.b[10] = (uint8_t)(e.n >> 8);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.nrows, 2);
	binlog_decoder_set_checksum(d, -1);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);

	/* a row cut short (with a valid checksum): a clear error, no crash */
	build_write_rows(&e);
	e.n -= 4 + 10; /* drop the CRC and the end of row 1's JSON */
	e.b[e.n - 1] = 0;
	ev_end(&e, true);
	err_clear(&err);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "d.t row 1"));

	/* a rows event for a table id without a map */
	build_write_rows(&e);
	e.b[19] = 43;
	e.n -= 4;
	ev_end(&e, true);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "without a TABLE_MAP"));

	buf_release(&out);
	binlog_decoder_free(d);
}

static void test_maria_events(void **state)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct buf out = BUF_INIT;
	struct evbuf e;
	(void)state;

	build_fde(&e, "10.11.6-MariaDB-log", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.checksum_alg, 0);
	/* GTID 3-7-99, standalone */
	ev_start(&e, BINLOG_MARIA_GTID_EVENT);
	ev_u(&e, 99, 8);
	ev_u(&e, 3, 4);
	ev_u(&e, 1, 1);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_GTID);
	assert_string_equal(ev.gtid, "3-7-99");
	assert_true(ev.gtid_standalone);
	/* GTID_LIST of two */
	ev_start(&e, BINLOG_MARIA_GTID_LIST_EVENT);
	ev_u(&e, 2, 4);
	ev_u(&e, 0, 4), ev_u(&e, 1, 4), ev_u(&e, 10, 8);
	ev_u(&e, 5, 4), ev_u(&e, 2, 4), ev_u(&e, 20, 8);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_string_equal(ev.gtid_set, "0-1-10,5-2-20");
	/* QUERY with status variables to skip */
	ev_start(&e, BINLOG_QUERY_EVENT);
	ev_u(&e, 1, 4), ev_u(&e, 0, 4), ev_u(&e, 2, 1), ev_u(&e, 0, 2), ev_u(&e, 5, 2);
	ev_add(&e, "\x00\x01\x02\x03\x04", 5);
	ev_add(&e, "db", 3);
	ev_add(&e, "DROP TABLE x", 12);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_QUERY);
	assert_string_equal(ev.db, "db");
	assert_string_equal(ev.sql, "DROP TABLE x");
	/* status variables longer than the event */
	e.b[19 + 11] = 200;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	/* XID */
	ev_start(&e, BINLOG_XID_EVENT);
	ev_u(&e, 123456789012ULL, 8);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_true(ev.xid == 123456789012ULL);
	/* ROTATE */
	ev_start(&e, BINLOG_ROTATE_EVENT);
	ev_u(&e, 4, 8);
	ev_add(&e, "bin.000002", 10);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_ROTATE);
	assert_string_equal(ev.rotate_file, "bin.000002");
	/* XA_PREPARE: XID 'ab','c',1 */
	ev_start(&e, BINLOG_XA_PREPARE_LOG_EVENT);
	ev_u(&e, 0, 1), ev_u(&e, 1, 4), ev_u(&e, 2, 4), ev_u(&e, 1, 4);
	ev_add(&e, "abc", 3);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_XA_PREPARE);
	assert_int_equal(ev.xa_gtrid_len, 2);
	assert_int_equal(binlog_event_json(&out, &ev, NULL, 4), 0);
	assert_non_null(strstr(buf_cstr(&out), "\"xid\":\"X'6162',X'63',1\",\"one_phase\":false"));
	/* gtrid longer than the event */
	e.b[19 + 5] = 60;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	buf_release(&out);
	binlog_decoder_free(d);
}

/* A number as MySQL's net_store_length() writes it. */
static void ev_lenenc(struct evbuf *e, uint64_t v)
{
	if (v < 251) {
		ev_u(e, v, 1);
	} else if (v < 65536) {
		ev_u(e, 0xfc, 1), ev_u(e, v, 2);
	} else if (v < 16777216) {
		ev_u(e, 0xfd, 1), ev_u(e, v, 3);
	} else {
		ev_u(e, 0xfe, 1), ev_u(e, v, 8);
	}
}

static size_t lenenc_size(uint64_t v)
{
	return v < 251 ? 1 : v < 65536 ? 3 : v < 16777216 ? 4 : 9;
}

/*
 * HEARTBEAT_LOG_EVENT_V2 as MySQL 8.0.26-9.x's dump thread writes it
 * (Heartbeat codec, encode): the header's log_pos cut to 4 bytes, then
 * type 1 (OTW_HB_LOG_FILENAME_FIELD), the name's length, the name; type 2
 * (OTW_HB_LOG_POSITION_FIELD), net_length_size(position), the position
 * length-encoded; type 0 (OTW_HB_HEADER_END_MARK); the checksum.
 */
static void build_heartbeat_v2(struct evbuf *e, const char *name, uint64_t pos, bool crc)
{
	ev_start(e, BINLOG_HEARTBEAT_LOG_EVENT_V2);
	e->b[0] = 0; /* no timestamp: made up by the sender */
	for (size_t i = 0; i < 4; i++)
		e->b[13 + i] = (uint8_t)(pos >> (8 * i));
	ev_lenenc(e, 1);
	ev_lenenc(e, strlen(name));
	ev_add(e, name, strlen(name));
	ev_lenenc(e, 2);
	ev_lenenc(e, lenenc_size(pos));
	ev_lenenc(e, pos);
	ev_lenenc(e, 0);
	ev_end(e, crc);
}

static void test_heartbeat_v2(void **state)
{
	static const uint64_t positions[] = {4,
					     250,
					     251,
					     1234,
					     65535,
					     65536,
					     16777215,
					     16777216,
					     4294967295ULL,
					     4294967296ULL + 1234,
					     5000000000000ULL};
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct buf out = BUF_INIT;
	struct evbuf e;
	char longname[301];
	size_t i, cut, body;
	(void)state;

	build_fde(&e, "8.0.40", true);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	for (i = 0; i < ARRAY_SIZE(positions); i++) {
		build_heartbeat_v2(&e, "binlog.000041", positions[i], true);
		assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
		assert_int_equal(ev.kind, BK_HEARTBEAT);
		assert_string_equal(ev.rotate_file, "binlog.000041");
		assert_true(ev.rotate_pos == positions[i]);
	}
	/* the JSON line names both */
	assert_int_equal(binlog_event_json(&out, &ev, NULL, 0), 0);
	assert_non_null(
	    strstr(buf_cstr(&out), "\"log_pos\":5000000000000,\"log_file\":\"binlog.000041\""));

	/* a name of 300 bytes has a 3-byte length */
	memset(longname, 'n', 300);
	longname[300] = 0;
	build_heartbeat_v2(&e, longname, 4, true);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_string_equal(ev.rotate_file, longname);

	/* a field of a later version is skipped by its length */
	ev_start(&e, BINLOG_HEARTBEAT_LOG_EVENT_V2);
	ev_lenenc(&e, 7), ev_lenenc(&e, 3), ev_add(&e, "\x02\x01\x00", 3);
	ev_lenenc(&e, 1), ev_lenenc(&e, 3), ev_add(&e, "b.1", 3);
	ev_lenenc(&e, 2), ev_lenenc(&e, 1), ev_lenenc(&e, 99);
	ev_lenenc(&e, 0);
	ev_end(&e, true);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_string_equal(ev.rotate_file, "b.1");
	assert_int_equal(ev.rotate_pos, 99);

	/* every cut of the body inside a field is refused; a cut at a
	 * field's end (before the end mark) reads what is there */
	build_fde(&e, "8.0.40", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	build_heartbeat_v2(&e, "binlog.000041", 1234, false);
	body = e.n - 19;
	for (cut = 0; cut < body; cut++) {
		struct evbuf c = e;
		int rc;

		c.n = 19 + cut;
		ev_end(&c, false);
		rc = binlog_decode(d, c.b, c.n, &ev, &err);
		if (cut == 0 || cut == 15 || cut == 20)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, GW_EFATAL);
	}
	/* a position that does not fill its length, or overruns it */
	ev_start(&e, BINLOG_HEARTBEAT_LOG_EVENT_V2);
	ev_lenenc(&e, 2), ev_lenenc(&e, 2), ev_lenenc(&e, 7), ev_u(&e, 0, 1), ev_lenenc(&e, 0);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	ev_start(&e, BINLOG_HEARTBEAT_LOG_EVENT_V2);
	ev_lenenc(&e, 2), ev_lenenc(&e, 1), ev_lenenc(&e, 1234), ev_lenenc(&e, 0);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "HEARTBEAT_V2"));
	buf_release(&out);
	binlog_decoder_free(d);
}

/* A QUERY event (or EXECUTE_LOAD_QUERY with its 13 more bytes of post
 * header) with status variables sv. */
static void build_query(struct evbuf *e, uint8_t type, const void *sv, size_t svlen, const char *db,
			const char *sql)
{
	ev_start(e, type);
	ev_u(e, 1, 4), ev_u(e, 0, 4), ev_u(e, strlen(db), 1), ev_u(e, 0, 2), ev_u(e, svlen, 2);
	if (type == BINLOG_EXECUTE_LOAD_QUERY_EVENT)
		ev_u(e, 7, 4), ev_u(e, 17, 4), ev_u(e, 23, 4), ev_u(e, 0, 1);
	ev_add(e, sv, svlen);
	ev_add(e, db, strlen(db) + 1);
	ev_add(e, sql, strlen(sql));
	ev_end(e, false);
}

/* The session's sql_mode of QUERY events, as MySQL 8.0 and MariaDB write
 * the status variables (Q_FLAGS2_CODE, Q_SQL_MODE_CODE, then catalog,
 * charset, ...), and a statement-format LOAD DATA. */
static void test_query_sql_mode(void **state)
{
	/* flags2 0; sql_mode ANSI_QUOTES|NO_BACKSLASH_ESCAPES|8.0's default;
	 * catalog "std"; charset 255 255 255 */
	static const uint8_t mysql8[] = {0x00, 0,    0,	   0, 0,    0x01, 0x24, 0x00, 0xb0,
					 0x45, 0,    0,	   0, 0,    0x06, 3,	's',  't',
					 'd',  0x04, 0xff, 0, 0xff, 0,	  0xff, 0};
	/* MySQL 5.0's Q_CATALOG_CODE (length, name, NUL) before the mode */
	static const uint8_t old[] = {0x02, 3, 'd', 'e', 'f', 0, 0x01, 4, 0, 0, 0, 0, 0, 0, 0};
	/* a code not known first: the mode is not looked for further */
	static const uint8_t unknown[] = {0x7f, 0x01, 4, 0, 0, 0, 0, 0, 0, 0};
	/* the mode cut short */
	static const uint8_t cut[] = {0x00, 0, 0, 0, 0, 0x01, 4, 0, 0};
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct evbuf e;
	(void)state;

	build_fde(&e, "8.0.40", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	build_query(&e, BINLOG_QUERY_EVENT, mysql8, sizeof(mysql8), "db",
		    "CREATE TABLE \"t\" (\"a\" INT)");
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_QUERY);
	assert_true(ev.has_sql_mode);
	assert_true(ev.sql_mode == 0x45b00024ULL);
	assert_true(ev.sql_mode & BINLOG_SQL_MODE_ANSI_QUOTES);
	assert_true(ev.sql_mode & BINLOG_SQL_MODE_NO_BACKSLASH_ESCAPES);
	assert_string_equal(ev.sql, "CREATE TABLE \"t\" (\"a\" INT)");
	build_query(&e, BINLOG_QUERY_EVENT, old, sizeof(old), "db", "DROP TABLE t");
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_true(ev.has_sql_mode && ev.sql_mode == 4);
	build_query(&e, BINLOG_QUERY_EVENT, unknown, sizeof(unknown), "db", "DROP TABLE t");
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_false(ev.has_sql_mode);
	build_query(&e, BINLOG_QUERY_EVENT, cut, sizeof(cut), "db", "DROP TABLE t");
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_false(ev.has_sql_mode);
	/* EXECUTE_LOAD_QUERY: file id, the file name's offsets in the text,
	 * duplicates handling after the QUERY post header */
	build_query(&e, BINLOG_EXECUTE_LOAD_QUERY_EVENT, mysql8, sizeof(mysql8), "sbtest",
		    "LOAD DATA INFILE '/tmp/SQL_LOAD-1-2-3.data' INTO TABLE `t`");
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_QUERY);
	assert_string_equal(ev.db, "sbtest");
	assert_string_equal(ev.sql, "LOAD DATA INFILE '/tmp/SQL_LOAD-1-2-3.data' INTO TABLE `t`");
	assert_true(ev.has_sql_mode);
	binlog_decoder_free(d);
}

/* A MySQL 8 uncompressed payload. */
static void test_mysql8_events(void **state)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct evbuf e, x;
	bool have;
	(void)state;

	build_fde(&e, "8.0.40", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	/* TRANSACTION_PAYLOAD, compression NONE (255), holding one XID */
	ev_start(&x, BINLOG_XID_EVENT);
	ev_u(&x, 77, 8);
	ev_end(&x, false);
	ev_start(&e, BINLOG_TRANSACTION_PAYLOAD_EVENT);
	ev_u(&e, 1, 1), ev_u(&e, 1, 1), ev_u(&e, x.n, 1);		     /* size */
	ev_u(&e, 2, 1), ev_u(&e, 3, 1), ev_u(&e, 0xfc, 1), ev_u(&e, 255, 2); /* type NONE */
	ev_u(&e, 3, 1), ev_u(&e, 1, 1), ev_u(&e, x.n, 1);		     /* uncompressed size */
	ev_u(&e, 0, 1);
	ev_add(&e, x.b, x.n);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_PAYLOAD);
	assert_int_equal(binlog_decode_inner(d, &ev, &have, &err), 0);
	assert_true(have);
	assert_int_equal(ev.kind, BK_XID);
	assert_int_equal(ev.xid, 77);
	assert_int_equal(ev.next_pos, 0);
	assert_int_equal(binlog_decode_inner(d, &ev, &have, &err), 0);
	assert_false(have);
	/* a zstd payload that is not zstd */
	e.b[19 + 6] = 0;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "TRANSACTION_PAYLOAD"));
	binlog_decoder_free(d);
}

/* A MINIMAL map (no optional metadata) completed from the schema. */
static void test_describe_table(void **state)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct evbuf e, w;
	char *names[] = {"big"};
	bool uns[] = {true};
	(void)state;

	build_fde(&e, "8.0.40", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	ev_start(&e, BINLOG_TABLE_MAP_EVENT);
	ev_u(&e, 9, 6), ev_u(&e, 1, 2);
	ev_u(&e, 1, 1), ev_add(&e, "d", 2), ev_u(&e, 2, 1), ev_add(&e, "t2", 3);
	ev_u(&e, 1, 1), ev_u(&e, MT_LONG, 1), ev_u(&e, 0, 1), ev_u(&e, 0, 1);
	ev_end(&e, false);
	ev_start(&w, BINLOG_WRITE_ROWS_EVENT);
	ev_u(&w, 9, 6), ev_u(&w, 1, 2), ev_u(&w, 2, 2), ev_u(&w, 1, 1), ev_u(&w, 1, 1);
	ev_u(&w, 0, 1), ev_u(&w, 0xffffffff, 4);
	ev_end(&w, false);

	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_null(ev.table->cols[0].name);
	assert_false(ev.table->has_names);
	assert_int_equal(binlog_decode(d, w.b, w.n, &ev, &err), 0);
	assert_int_equal(ev.rows[0].after[0].kind, BL_INT);
	assert_int_equal(ev.rows[0].after[0].i, -1);

	assert_int_equal(binlog_decoder_describe_table(d, "d", "t2", names, uns, 2, &err),
			 GW_EFATAL);
	assert_int_equal(binlog_decoder_describe_table(d, "d", "nope", names, uns, 1, &err),
			 GW_ENOTFOUND);
	assert_int_equal(binlog_decoder_describe_table(d, "d", "t2", names, uns, 1, &err), 0);
	assert_int_equal(binlog_decode(d, w.b, w.n, &ev, &err), 0);
	assert_int_equal(ev.rows[0].after[0].kind, BL_UINT);
	assert_true(ev.rows[0].after[0].u == 0xffffffffu);
	assert_string_equal(ev.table->cols[0].name, "big");
	assert_true(ev.table->has_names);
	/* the next transaction maps the table again: the description stays */
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_string_equal(ev.table->cols[0].name, "big");
	assert_int_equal(binlog_decode(d, w.b, w.n, &ev, &err), 0);
	assert_int_equal(ev.rows[0].after[0].kind, BL_UINT);
	/* a map with other types (after an ALTER) does not inherit it */
	e.b[19 + 8 + 3 + 4 + 1] = MT_LONGLONG; /* the column type */
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_null(ev.table->cols[0].name);
	assert_false(ev.table->cols[0].signedness_known);
	binlog_decoder_free(d);
}

/* Bytes a MariaDB 10.11 server wrote for a table made with
 * mysql56_temporal_format=OFF: (id INT, tm TIME(3), t0 TIME, dt
 * DATETIME(6), d0 DATETIME, ts TIMESTAMP(2), t00 TIMESTAMP). */
static void test_maria_old_temporal(void **state)
{
	static const uint8_t types[] = {MT_LONG,     MT_TIME,	   MT_TIME,	MT_DATETIME,
					MT_DATETIME, MT_TIMESTAMP, MT_TIMESTAMP};
	static const uint8_t row[] = {0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x7f,
				      0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0xb1, 0x54, 0x78, 0xeb,
				      0x59, 0x0a, 0x80, 0x01, 0x02, 0x7a, 0xbd, 0xdb, 0xbb, 0x6b,
				      0xd0, 0xa5, 0xe0, 0xaa, 0x8b, 0x68, 0x12, 0x00, 0x00, 0x65,
				      0x92, 0x00, 0x80, 0x0c, 0x81, 0x00, 0x92, 0x65};
	static const uint8_t fsp[] = {0, 3, 0, 6, 0, 2, 0};
	static const char *want[] = {"-12:34:56.789",
				     "-838:59:59",
				     "2024-02-29 13:04:05.250000",
				     "2024-02-29 13:04:05",
				     "2024-01-01 00:00:00.12",
				     "2024-01-01 00:00:01"};
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct evbuf e, w;
	size_t i;
	(void)state;

	build_fde(&e, "10.11.6-MariaDB", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	ev_start(&e, BINLOG_TABLE_MAP_EVENT);
	ev_u(&e, 0x12, 6), ev_u(&e, 1, 2);
	ev_u(&e, 1, 1), ev_add(&e, "d", 2), ev_u(&e, 1, 1), ev_add(&e, "o", 2);
	ev_u(&e, 7, 1), ev_add(&e, types, sizeof(types)), ev_u(&e, 0, 1), ev_u(&e, 0x7e, 1);
	ev_end(&e, false);
	ev_start(&w, BINLOG_WRITE_ROWS_EVENT_V1);
	ev_add(&w, row, sizeof(row));
	ev_end(&w, false);

	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	/* without the schema: the sizes are unknown, the row fails */
	assert_int_equal(binlog_decode(d, w.b, w.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "old-format TIME/DATETIME/TIMESTAMP"));
	assert_int_equal(binlog_decoder_describe_temporal(d, "d", "o", fsp, 7, &err), 0);
	assert_int_equal(binlog_decode(d, w.b, w.n, &ev, &err), 0);
	assert_int_equal(ev.nrows, 1);
	assert_int_equal(ev.rows[0].after[0].i, 1);
	for (i = 0; i < 6; i++)
		assert_string_equal(ev.rows[0].after[i + 1].s, want[i]);
	/* mapped again by the next transaction: still described */
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(binlog_decode(d, w.b, w.n, &ev, &err), 0);
	assert_string_equal(ev.rows[0].after[1].s, want[0]);
	binlog_decoder_free(d);
}

/* INCIDENT, MariaDB XA GTIDs, a longer common header, a 5.1 table map,
 * MySQL GTIDs' uuid and tag. */
static void test_stop_events(void **state)
{
	static const uint8_t uuid[16] = {0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1,
					 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62};
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct buf out = BUF_INIT;
	struct evbuf e;
	size_t i;
	(void)state;

	build_fde(&e, "8.0.40", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	/* INCIDENT 1 (LOST_EVENTS) with its message */
	ev_start(&e, BINLOG_INCIDENT_EVENT);
	ev_u(&e, 1, 2);
	ev_u(&e, 11, 1);
	ev_add(&e, "lost events", 11);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_INCIDENT);
	assert_int_equal(ev.incident, 1);
	assert_int_equal(ev.sql_len, 11);
	assert_string_equal(ev.sql, "lost events");
	assert_int_equal(binlog_event_json(&out, &ev, NULL, 4), 0);
	assert_non_null(strstr(buf_cstr(&out), "\"type\":\"incident\""));
	assert_non_null(strstr(
	    buf_cstr(&out), "\"incident\":1,\"incident_name\":\"LOST_EVENTS\",\"message\":\"lost "
			    "events\""));
	/* a message longer than the event */
	e.b[21] = 200;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	/* without a message */
	ev_start(&e, BINLOG_INCIDENT_EVENT);
	ev_u(&e, 1, 2);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.sql_len, 0);

	/* MySQL GTID: uuid and gno; ANONYMOUS_GTID: none */
	ev_start(&e, BINLOG_GTID_EVENT);
	ev_u(&e, 1, 1);
	ev_add(&e, uuid, 16);
	ev_u(&e, 42, 8);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_true(ev.gtid_mysql);
	assert_false(ev.gtid_anonymous);
	assert_memory_equal(ev.gtid_uuid, uuid, 16);
	assert_string_equal(ev.gtid_tag, "");
	assert_string_equal(ev.gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:42");
	e.b[19 + 17] = 0; /* gno 0 is no GTID */
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	e.b[4] = BINLOG_ANONYMOUS_GTID_EVENT;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_true(ev.gtid_anonymous);
	assert_false(ev.gtid_mysql);

	/* TABLE_MAP of MySQL 5.1: no metadata, no null bitmap */
	ev_start(&e, BINLOG_TABLE_MAP_EVENT);
	ev_u(&e, 9, 6);
	ev_u(&e, 1, 2);
	ev_u(&e, 1, 1);
	ev_add(&e, "d", 2);
	ev_u(&e, 2, 1);
	ev_add(&e, "t5", 3);
	ev_u(&e, 2, 1);
	ev_u(&e, MT_LONG, 1);
	ev_u(&e, MT_TINY, 1);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_TABLE_MAP);
	assert_int_equal(ev.table->ncols, 2);
	assert_int_equal(ev.table->cols[0].type, MT_LONG);
	assert_true(ev.table->cols[1].nullable);
	/* its rows decode */
	ev_start(&e, BINLOG_WRITE_ROWS_EVENT);
	ev_u(&e, 9, 6);
	ev_u(&e, 1, 2);
	ev_u(&e, 2, 2);
	ev_u(&e, 2, 1);
	ev_u(&e, 3, 1);
	ev_u(&e, 0, 1);
	ev_u(&e, 77, 4);
	ev_u(&e, 5, 1);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.nrows, 1);
	assert_int_equal(ev.rows[0].after[0].i, 77);
	assert_int_equal(ev.rows[0].after[1].i, 5);

	/* names of the pre-5.0 load events */
	ev_start(&e, 9);
	ev_u(&e, 1, 4);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	buf_reset(&out);
	assert_int_equal(binlog_event_json(&out, &ev, NULL, 4), 0);
	assert_non_null(strstr(buf_cstr(&out), "\"type\":\"append_block\""));
	binlog_decoder_free(d);

	/* MariaDB GTIDs of an XA transaction: prepare (with a commit id) and
	 * complete, their XIDs checked against the event's bytes */
	d = binlog_decoder_new();
	build_fde(&e, "10.11.6-MariaDB-log", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	ev_start(&e, BINLOG_MARIA_GTID_EVENT);
	ev_u(&e, 5, 8), ev_u(&e, 0, 4), ev_u(&e, 64 | 2, 1), ev_u(&e, 99, 8);
	ev_u(&e, 7, 4), ev_u(&e, 2, 1), ev_u(&e, 2, 1);
	ev_add(&e, "x2bq", 4);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.gtid_xa, BL_XA_PREPARED);
	assert_int_equal(ev.xa_format_id, 7);
	buf_reset(&out);
	assert_int_equal(binlog_xid_text(&out, &ev), 0);
	assert_string_equal(buf_cstr(&out), "X'7832',X'6271',7");
	/* every cut is an error, never a read past the end */
	for (i = 19 + 13; i < e.n; i++) {
		struct evbuf c = e;
		c.n = i;
		ev_end(&c, false);
		err_clear(&err);
		assert_int_equal(binlog_decode(d, c.b, c.n, &ev, &err), GW_EFATAL);
	}
	/* lengths beyond what XA allows */
	e.b[19 + 13 + 8 + 4] = 65;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "XID lengths 65 and 2"));
	e.b[19 + 13 + 8 + 4] = 0;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	ev_start(&e, BINLOG_MARIA_GTID_EVENT);
	ev_u(&e, 6, 8), ev_u(&e, 0, 4), ev_u(&e, 128 | 1, 1);
	ev_u(&e, 1, 4), ev_u(&e, 1, 1), ev_u(&e, 0, 1), ev_add(&e, "a", 1);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.gtid_xa, BL_XA_COMPLETED);
	buf_reset(&out);
	assert_int_equal(binlog_event_json(&out, &ev, NULL, 4), 0);
	assert_non_null(strstr(buf_cstr(&out), "\"xa\":\"complete\",\"xid\":\"X'61',X'',1\""));
	binlog_decoder_free(d);

	/* a format description declaring a 21-byte common header: the two
	 * extra bytes of every event are skipped */
	d = binlog_decoder_new();
	build_fde(&e, "5.0.99-future", false);
	e.b[19 + 2 + 50 + 4] = 21;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	ev_start(&e, BINLOG_XID_EVENT);
	ev_u(&e, 0xabab, 2); /* the extra header bytes */
	ev_u(&e, 31337, 8);
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	assert_int_equal(ev.kind, BK_XID);
	assert_int_equal(ev.xid, 31337);
	e.n = 20;
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	/* shorter than v4's is refused */
	build_fde(&e, "5.0.99-future", false);
	e.b[19 + 2 + 50 + 4] = 13;
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "shorter than v4"));

	buf_release(&out);
	binlog_decoder_free(d);
}

static void test_garbage(void **state)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct evbuf e;
	uint8_t g[512];
	size_t i, k;
	uint32_t x = 12345;
	(void)state;

	build_fde(&e, "8.0.40", false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	build_table_map(&e);
	e.n -= 4;
	ev_end(&e, false);
	assert_int_equal(binlog_decode(d, e.b, e.n, &ev, &err), 0);
	/* random bodies behind valid headers of every type: errors or
	 * events, never a crash (the sanitizer build checks the reads) */
	for (k = 0; k < 2000; k++) {
		size_t n = 19 + (k % 200);

		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			g[i] = (uint8_t)(x >> 16);
		}
		g[4] = (uint8_t)(k % 256);
		if (g[4] == BINLOG_FORMAT_DESCRIPTION_EVENT)
			continue;
		g[9] = (uint8_t)n, g[10] = 0, g[11] = 0, g[12] = 0;
		if (k % 3 == 0) {
			g[19] = 42; /* the mapped table id */
			memset(g + 20, 0, 5);
		}
		(void)binlog_decode(d, g, n, &ev, &err);
	}
	binlog_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decimal),	    cmocka_unit_test(test_decimal_bad),
	    cmocka_unit_test(test_time2),	    cmocka_unit_test(test_datetime2_timestamp2),
	    cmocka_unit_test(test_old_temporal),    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_strings),	    cmocka_unit_test(test_enum_set_labels),
	    cmocka_unit_test(test_jsonb),	    cmocka_unit_test(test_jsonb_large),
	    cmocka_unit_test(test_jsonb_malformed), cmocka_unit_test(test_json_diffs),
	    cmocka_unit_test(test_value_sql),	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_maria_events),    cmocka_unit_test(test_mysql8_events),
	    cmocka_unit_test(test_heartbeat_v2),    cmocka_unit_test(test_query_sql_mode),
	    cmocka_unit_test(test_describe_table),  cmocka_unit_test(test_maria_old_temporal),
	    cmocka_unit_test(test_stop_events),	    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
