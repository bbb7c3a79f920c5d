/*
 * MySQL's binary JSON (the JSON column in row images) to JSON text, and
 * the partial JSON updates of PARTIAL_UPDATE_ROWS applied to a document.
 * Format: a type byte, then the value; objects and arrays carry element
 * counts and offsets relative to their own start, in 2-byte (small) or
 * 4-byte (large) fields.
 */
#include "lib/common.h"
#include "binlog/binlog_int.h"
#include "lib/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

enum {
	JB_SMALL_OBJECT = 0,
	JB_LARGE_OBJECT = 1,
	JB_SMALL_ARRAY = 2,
	JB_LARGE_ARRAY = 3,
	JB_LITERAL = 4,
	JB_INT16 = 5,
	JB_UINT16 = 6,
	JB_INT32 = 7,
	JB_UINT32 = 8,
	JB_INT64 = 9,
	JB_UINT64 = 10,
	JB_DOUBLE = 11,
	JB_STRING = 12,
	JB_OPAQUE = 15,
};

#define JB_MAX_DEPTH 150

const char *bl_format_time_packed(struct bl_arena *a, int64_t packed, unsigned fsp);

struct jb {
	struct buf *out;
	struct gw_err *err;
};

static int jb_bad(struct jb *j, const char *why)
{
	err_set(j->err, GW_EFATAL, "binary JSON malformed: %s", why);
	return -1;
}

static int jb_oom(struct jb *j)
{
	err_set(j->err, GW_ENOMEM, "out of memory decoding JSON");
	return -1;
}

/* Variable-length length: 7 bits a byte, low first, at most 5 bytes. */
static int jb_varlen(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < 5; i++) {
		if (*off >= len)
			return -1;
		v |= (uint64_t)(p[*off] & 0x7f) << (7 * i);
		if ((p[(*off)++] & 0x80) == 0) {
			*out = v;
			return v > UINT32_MAX ? -1 : 0;
		}
	}
	return -1;
}

/* Shortest text that reads back as the same double. */
int bl_put_double(struct buf *out, double d);
int bl_put_double(struct buf *out, double d)
{
	char t[40];
	int prec;

	if (!isfinite(d))
		return buf_puts(out, "null");
	for (prec = 15; prec <= 17; prec++) {
		snprintf(t, sizeof(t), "%.*g", prec, d);
		if (strtod(t, NULL) == d)
			break;
	}
	return buf_puts(out, t);
}

static int jb_value(struct jb *j, uint8_t type, const uint8_t *p, size_t len, int depth);

/* A value entry: inlined (small types) or an offset into the container. */
static int jb_entry(struct jb *j, const uint8_t *base, size_t size, const uint8_t *e, bool large,
		    int depth)
{
	uint8_t t = e[0];
	uint64_t off;

	switch (t) {
	case JB_LITERAL:
	case JB_INT16:
	case JB_UINT16: return jb_value(j, t, e + 1, 2, depth);
	case JB_INT32:
	case JB_UINT32:
		if (large)
			return jb_value(j, t, e + 1, 4, depth);
		break;
	default: break;
	}
	off = bl_le(e + 1, large ? 4 : 2);
	if (off >= size)
		return jb_bad(j, "value offset out of range");
	return jb_value(j, t, base + off, size - (size_t)off, depth);
}

static int jb_container(struct jb *j, const uint8_t *p, size_t len, bool large, bool object,
			int depth)
{
	size_t w = large ? 4 : 2, i, hdr, entry = 1 + w;
	uint64_t count, size;

	if (depth > JB_MAX_DEPTH)
		return jb_bad(j, "nested too deep");
	if (len < 2 * w)
		return jb_bad(j, "container header truncated");
	count = bl_le(p, w);
	size = bl_le(p + w, w);
	if (size > len || size < 2 * w)
		return jb_bad(j, "container size out of range");
	hdr = 2 * w;
	if (count > size || hdr + count * ((object ? w + 2 : 0) + entry) > size)
		return jb_bad(j, "container entries out of range");
	if (buf_putc(j->out, object ? '{' : '[') < 0)
		return jb_oom(j);
	for (i = 0; i < count; i++) {
		const uint8_t *ve;

		if (i && buf_putc(j->out, ',') < 0)
			return jb_oom(j);
		if (object) {
			const uint8_t *ke = p + hdr + i * (w + 2);
			uint64_t koff = bl_le(ke, w), klen = bl_le(ke + w, 2);

			if (koff > size || klen > size - koff)
				return jb_bad(j, "key out of range");
			if (json_strn(j->out, (const char *)p + koff, (size_t)klen) < 0 ||
			    buf_putc(j->out, ':') < 0)
				return jb_oom(j);
			ve = p + hdr + count * (w + 2) + i * entry;
		} else {
			ve = p + hdr + i * entry;
		}
		if (jb_entry(j, p, (size_t)size, ve, large, depth + 1) < 0)
			return -1;
	}
	if (buf_putc(j->out, object ? '}' : ']') < 0)
		return jb_oom(j);
	return 0;
}

static int jb_opaque(struct jb *j, const uint8_t *p, size_t len)
{
	uint8_t ft;
	size_t off = 1;
	uint64_t n;
	const uint8_t *d;
	struct bl_arena a = {NULL, 0};
	int rc = 0;

	if (len < 1)
		return jb_bad(j, "opaque value truncated");
	ft = p[0];
	if (jb_varlen(p, len, &off, &n) < 0 || n > len - off)
		return jb_bad(j, "opaque value truncated");
	d = p + off;
	switch (ft) {
	case MT_NEWDECIMAL:
		if (n < 2 || bl_decimal_size(d[0], d[1]) == 0 ||
		    bl_decimal_format(j->out, d + 2, (size_t)n - 2, d[0], d[1]) < 0)
			return jb_bad(j, "opaque DECIMAL malformed");
		return 0;
	case MT_DATE:
	case MT_DATETIME:
	case MT_TIMESTAMP:
	case MT_DATETIME2:
	case MT_TIMESTAMP2: {
		int64_t packed;
		uint64_t v, ip, ymd, ym, hms;
		uint32_t us;
		char t[64];

		if (n < 8)
			return jb_bad(j, "opaque DATETIME truncated");
		packed = (int64_t)bl_le(d, 8);
		v = packed < 0 ? (uint64_t)0 - (uint64_t)packed : (uint64_t)packed;
		ip = v >> 24;
		us = (uint32_t)(v % 16777216);
		ymd = ip >> 17;
		ym = ymd >> 5;
		hms = ip % (1 << 17);
		if (ft == MT_DATE)
			snprintf(t, sizeof(t), "%04u-%02u-%02u", (unsigned)(ym / 13),
				 (unsigned)(ym % 13), (unsigned)(ymd % 32));
		else
			snprintf(t, sizeof(t), "%04u-%02u-%02u %02u:%02u:%02u.%06u",
				 (unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd % 32),
				 (unsigned)(hms >> 12), (unsigned)((hms >> 6) % 64),
				 (unsigned)(hms % 64), us % 1000000);
		return json_str(j->out, t) < 0 ? jb_oom(j) : 0;
	}
	case MT_TIME:
	case MT_TIME2: {
		const char *s;

		if (n < 8)
			return jb_bad(j, "opaque TIME truncated");
		s = bl_format_time_packed(&a, (int64_t)bl_le(d, 8), 6);
		if (!s || json_str(j->out, s) < 0)
			rc = jb_oom(j);
		bl_arena_release(&a);
		return rc;
	}
	default:
		if (buf_printf(j->out, "\"base64:type%u:", ft) < 0 ||
		    base64_encode(j->out, d, (size_t)n) < 0 || buf_putc(j->out, '"') < 0)
			return jb_oom(j);
		return 0;
	}
}

static int jb_value(struct jb *j, uint8_t type, const uint8_t *p, size_t len, int depth)
{
	int rc;

	switch (type) {
	case JB_SMALL_OBJECT:
	case JB_LARGE_OBJECT: return jb_container(j, p, len, type == JB_LARGE_OBJECT, true, depth);
	case JB_SMALL_ARRAY:
	case JB_LARGE_ARRAY: return jb_container(j, p, len, type == JB_LARGE_ARRAY, false, depth);
	case JB_LITERAL:
		if (len < 1)
			return jb_bad(j, "literal truncated");
		if (p[0] > 2)
			return jb_bad(j, "unknown literal");
		rc = buf_puts(j->out, p[0] == 0 ? "null" : p[0] == 1 ? "true" : "false");
		break;
	case JB_INT16:
		if (len < 2)
			return jb_bad(j, "int16 truncated");
		rc = buf_printf(j->out, "%d", (int)(int16_t)bl_le(p, 2));
		break;
	case JB_UINT16:
		if (len < 2)
			return jb_bad(j, "uint16 truncated");
		rc = buf_printf(j->out, "%u", (unsigned)bl_le(p, 2));
		break;
	case JB_INT32:
		if (len < 4)
			return jb_bad(j, "int32 truncated");
		rc = buf_printf(j->out, "%ld", (long)(int32_t)bl_le(p, 4));
		break;
	case JB_UINT32:
		if (len < 4)
			return jb_bad(j, "uint32 truncated");
		rc = buf_printf(j->out, "%lu", (unsigned long)bl_le(p, 4));
		break;
	case JB_INT64:
		if (len < 8)
			return jb_bad(j, "int64 truncated");
		rc = buf_printf(j->out, "%lld", (long long)bl_le(p, 8));
		break;
	case JB_UINT64:
		if (len < 8)
			return jb_bad(j, "uint64 truncated");
		rc = buf_printf(j->out, "%llu", (unsigned long long)bl_le(p, 8));
		break;
	case JB_DOUBLE: {
		double d;
		uint64_t u;

		if (len < 8)
			return jb_bad(j, "double truncated");
		u = bl_le(p, 8);
		memcpy(&d, &u, 8);
		rc = bl_put_double(j->out, d);
		break;
	}
	case JB_STRING: {
		size_t off = 0;
		uint64_t n;

		if (jb_varlen(p, len, &off, &n) < 0 || n > len - off)
			return jb_bad(j, "string truncated");
		rc = json_strn(j->out, (const char *)p + off, (size_t)n);
		break;
	}
	case JB_OPAQUE: return jb_opaque(j, p, len);
	default: return jb_bad(j, "unknown value type");
	}
	return rc < 0 ? jb_oom(j) : 0;
}

int bl_jsonb_to_text(struct buf *out, const uint8_t *p, size_t len, struct gw_err *err)
{
	struct jb j = {out, err};

	if (len < 1)
		return jb_bad(&j, "empty document");
	return jb_value(&j, p[0], p + 1, len - 1, 0);
}
