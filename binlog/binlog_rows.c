/*
 * Row images: column values from the bytes of WRITE/UPDATE/DELETE_ROWS
 * (v1, v2, MariaDB compressed, MySQL PARTIAL_UPDATE_ROWS) by the types and
 * metadata of the table map.
 */
#include "lib/common.h"
#include "binlog/binlog_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

uint64_t bl_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

uint64_t bl_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int rd_uint(struct bl_rd *r, size_t n, uint64_t *out)
{
	if (rd_left(r) < n)
		return -1;
	*out = bl_le(r->p + r->off, n);
	r->off += n;
	return 0;
}

int rd_lenenc(struct bl_rd *r, uint64_t *out)
{
	uint8_t c;

	if (rd_left(r) < 1)
		return -1;
	c = r->p[r->off++];
	if (c < 0xfb) {
		*out = c;
		return 0;
	}
	if (c == 0xfc)
		return rd_uint(r, 2, out);
	if (c == 0xfd)
		return rd_uint(r, 3, out);
	if (c == 0xfe)
		return rd_uint(r, 8, out);
	return -1;
}

int rd_bytes(struct bl_rd *r, size_t n, const uint8_t **out)
{
	if (rd_left(r) < n)
		return -1;
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

bool bl_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, k;
		uint32_t cp;

		if (c < 0x80) {
			/* ASCII runs eight bytes at a time: most text is. */
			uint64_t w;
			i++;
			while (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return false;
		if (n - i <= need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += need + 1;
	}
	return true;
}

static const uint8_t dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

size_t bl_decimal_size(unsigned precision, unsigned scale)
{
	unsigned intg, frac;

	if (precision == 0 || precision > 65 || scale > precision || scale > 38)
		return 0;
	intg = precision - scale;
	frac = scale;
	return (intg / 9) * 4 + dig2bytes[intg % 9] + (frac / 9) * 4 + dig2bytes[frac % 9];
}

int bl_decimal_format(struct buf *out, const uint8_t *p, size_t len, unsigned precision,
		      unsigned scale)
{
	static const uint32_t pow10[10] = {1,	   10,	    100,      1000,	 10000,
					   100000, 1000000, 10000000, 100000000, 1000000000};
	uint8_t b[64];
	char digits[160];
	size_t size = bl_decimal_size(precision, scale), pos = 0, nd = 0, start, i;
	unsigned intg, intg0, intg0x, frac0, frac0x, g;
	bool neg, zero = true;
	uint8_t mask;

	if (size == 0 || size > len || size > sizeof(b))
		return -1;
	memcpy(b, p, size);
	neg = (b[0] & 0x80) == 0;
	b[0] ^= 0x80;
	mask = neg ? 0xff : 0;
	for (i = 0; i < size; i++)
		b[i] ^= mask;
	intg = precision - scale;
	intg0 = intg / 9, intg0x = intg % 9;
	frac0 = scale / 9, frac0x = scale % 9;

	/* integer part, as zero-padded digit groups */
	if (intg0x) {
		uint32_t v = (uint32_t)bl_be(b, dig2bytes[intg0x]);

		if (v >= pow10[intg0x])
			return -1;
		nd += (size_t)snprintf(digits + nd, sizeof(digits) - nd, "%0*u", (int)intg0x, v);
		pos += dig2bytes[intg0x];
	}
	for (g = 0; g < intg0; g++) {
		uint32_t v = (uint32_t)bl_be(b + pos, 4);

		if (v >= pow10[9])
			return -1;
		nd += (size_t)snprintf(digits + nd, sizeof(digits) - nd, "%09u", v);
		pos += 4;
	}
	start = 0;
	while (start + 1 < nd && digits[start] == '0')
		start++;
	if (nd == 0) {
		digits[0] = '0';
		nd = 1;
	}
	for (i = start; i < nd; i++)
		if (digits[i] != '0')
			zero = false;
	{
		char fracd[80];
		size_t nf = 0;

		for (g = 0; g < frac0; g++) {
			uint32_t v = (uint32_t)bl_be(b + pos, 4);

			if (v >= pow10[9])
				return -1;
			nf += (size_t)snprintf(fracd + nf, sizeof(fracd) - nf, "%09u", v);
			pos += 4;
		}
		if (frac0x) {
			uint32_t v = (uint32_t)bl_be(b + pos, dig2bytes[frac0x]);

			if (v >= pow10[frac0x])
				return -1;
			nf += (size_t)snprintf(fracd + nf, sizeof(fracd) - nf, "%0*u", (int)frac0x,
					       v);
		}
		for (i = 0; i < nf; i++)
			if (fracd[i] != '0')
				zero = false;
		if (neg && !zero && buf_putc(out, '-') < 0)
			return GW_ENOMEM;
		if (buf_add(out, digits + start, nd - start) < 0)
			return GW_ENOMEM;
		if (nf > 0 && (buf_putc(out, '.') < 0 || buf_add(out, fracd, nf) < 0))
			return GW_ENOMEM;
	}
	return 0;
}

/* Fractional seconds: (fsp + 1) / 2 big-endian bytes to microseconds. */
static uint32_t frac_usec(const uint8_t *p, unsigned fsp)
{
	switch ((fsp + 1) / 2) {
	case 1: return (uint32_t)p[0] * 10000;
	case 2: return (uint32_t)bl_be(p, 2) * 100;
	case 3: return (uint32_t)bl_be(p, 3);
	default: return 0;
	}
}

/* ".250" for fsp 3: the first fsp digits of the microseconds. */
static int put_frac(char *s, size_t n, uint32_t usec, unsigned fsp)
{
	char d[8];

	if (fsp == 0)
		return 0;
	if (fsp > 6)
		fsp = 6;
	snprintf(d, sizeof(d), "%06u", usec % 1000000);
	return snprintf(s, n, ".%.*s", (int)fsp, d);
}

static const char *fmt_datetime(struct bl_arena *a, unsigned year, unsigned mon, unsigned day,
				unsigned h, unsigned m, unsigned s, uint32_t usec, unsigned fsp)
{
	char t[64];
	int n = snprintf(t, sizeof(t), "%04u-%02u-%02u %02u:%02u:%02u", year, mon, day, h, m, s);

	if (n > 0 && (size_t)n < sizeof(t))
		put_frac(t + n, sizeof(t) - (size_t)n, usec, fsp);
	return bl_arena_strndup(a, t, strlen(t));
}

static const char *fmt_timestamp(struct bl_arena *a, uint64_t secs, uint32_t usec, unsigned fsp)
{
	struct tm tm;
	time_t t = (time_t)secs;

	if (secs == 0)
		return fmt_datetime(a, 0, 0, 0, 0, 0, 0, usec, fsp);
	if (!gmtime_r(&t, &tm))
		return NULL;
	return fmt_datetime(a, (unsigned)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
			    (unsigned)tm.tm_mday, (unsigned)tm.tm_hour, (unsigned)tm.tm_min,
			    (unsigned)tm.tm_sec, usec, fsp);
}

static const char *fmt_time(struct bl_arena *a, bool neg, uint64_t h, unsigned m, unsigned s,
			    uint32_t usec, unsigned fsp)
{
	char t[64];
	int n = snprintf(t, sizeof(t), "%s%02llu:%02u:%02u", neg ? "-" : "", (unsigned long long)h,
			 m, s);

	if (n > 0 && (size_t)n < sizeof(t))
		put_frac(t + n, sizeof(t) - (size_t)n, usec, fsp);
	return bl_arena_strndup(a, t, strlen(t));
}

/* TIME2: 3 bytes biased integer part and fsp bytes, as a signed packed
 * value of (hms << 24) + microseconds. */
static int64_t time2_packed(const uint8_t *p, unsigned fsp)
{
	int64_t intpart = (int64_t)bl_be(p, 3) - 0x800000, frac;

	switch (fsp) {
	case 1:
	case 2:
		frac = p[3];
		if (intpart < 0 && frac) {
			intpart++;
			frac -= 0x100;
		}
		return intpart * 16777216 + frac * 10000;
	case 3:
	case 4:
		frac = (int64_t)bl_be(p + 3, 2);
		if (intpart < 0 && frac) {
			intpart++;
			frac -= 0x10000;
		}
		return intpart * 16777216 + frac * 100;
	case 5:
	case 6: return (int64_t)bl_be(p, 6) - 0x800000000000LL;
	default: return intpart * 16777216;
	}
}

const char *bl_format_time_packed(struct bl_arena *a, int64_t packed, unsigned fsp);
const char *bl_format_time_packed(struct bl_arena *a, int64_t packed, unsigned fsp)
{
	bool neg = packed < 0;
	uint64_t v = neg ? (uint64_t)0 - (uint64_t)packed : (uint64_t)packed;
	uint64_t hms = v >> 24;

	return fmt_time(a, neg, (hms >> 12) % 1024, (unsigned)((hms >> 6) % 64),
			(unsigned)(hms % 64), (uint32_t)(v % 16777216), fsp);
}

/* The charset decides text or binary; when the map does not say (MINIMAL
 * metadata, MySQL 5.x), valid UTF-8 is shown as text. */
static void set_string(struct bl_value *v, const struct bl_column *col, const uint8_t *p, size_t n,
		       const char *copy)
{
	v->s = copy;
	v->len = n;
	v->charset = col->charset;
	if (col->charset == 63)
		v->kind = BL_BINARY;
	else if (col->charset != 0)
		v->kind = BL_TEXT;
	else
		v->kind = bl_utf8_valid(p, n) ? BL_TEXT : BL_BINARY;
}

static unsigned string_maxlen(uint16_t meta)
{
	unsigned b0 = meta >> 8, b1 = meta & 0xff;

	if ((b0 & 0x30) != 0x30)
		return b1 | (((b0 & 0x30) ^ 0x30) << 4);
	return b1;
}

static const char *labels_of_set(struct bl_arena *a, const struct bl_column *col, uint64_t mask)
{
	size_t i, n = 0;
	char *s;

	for (i = 0; i < col->nlabels && i < 64; i++)
		if (mask & ((uint64_t)1 << i))
			n += strlen(col->labels[i]) + 1;
	s = bl_arena_alloc(a, n + 1);
	if (!s)
		return NULL;
	n = 0;
	for (i = 0; i < col->nlabels && i < 64; i++) {
		if (mask & ((uint64_t)1 << i)) {
			size_t l = strlen(col->labels[i]);

			if (n)
				s[n++] = ',';
			memcpy(s + n, col->labels[i], l);
			n += l;
		}
	}
	s[n] = 0;
	return s;
}

/*
 * MariaDB 5.3-10.0 TIME/DATETIME/TIMESTAMP with fractional seconds (fsp
 * from binlog_decoder_describe_temporal()): big-endian, the value in units
 * of 10^-fsp seconds; TIMESTAMP as seconds then the fraction.
 */
static int maria_hires(struct bl_arena *a, struct bl_rd *r, const struct bl_column *col,
		       struct bl_value *v, struct gw_err *err)
{
	static const uint8_t time_bytes[7] = {3, 4, 4, 5, 5, 5, 6};
	static const uint8_t datetime_bytes[7] = {5, 6, 6, 7, 7, 7, 8};
	static const uint8_t frac_bytes[7] = {0, 1, 1, 2, 2, 3, 3};
	static const uint32_t scale[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
	unsigned fsp = col->meta & 0xff;
	const uint8_t *p;
	uint64_t x;

	if (fsp < 1 || fsp > 6) {
		err_set(err, GW_EFATAL, "old-format temporal with %u fractional digits", fsp);
		return -1;
	}
	v->kind = BL_TEMPORAL;
	if (col->type == MT_TIMESTAMP) {
		if (rd_bytes(r, 4 + frac_bytes[fsp], &p) < 0)
			goto short_;
		v->s = fmt_timestamp(a, bl_be(p, 4),
				     (uint32_t)(bl_be(p + 4, frac_bytes[fsp]) * scale[fsp]), fsp);
	} else if (col->type == MT_DATETIME) {
		uint64_t us, s, mi, h, dd, mo;

		if (rd_bytes(r, datetime_bytes[fsp], &p) < 0)
			goto short_;
		x = bl_be(p, datetime_bytes[fsp]) * scale[fsp];
		us = x % 1000000, x /= 1000000;
		s = x % 60, x /= 60;
		mi = x % 60, x /= 60;
		h = x % 24, x /= 24;
		dd = x % 32, x /= 32;
		mo = x % 13, x /= 13;
		v->s = fmt_datetime(a, (unsigned)x, (unsigned)mo, (unsigned)dd, (unsigned)h,
				    (unsigned)mi, (unsigned)s, (uint32_t)us, fsp);
	} else {
		int64_t t, zero = (int64_t)3020400 * 1000000 / scale[fsp];
		bool neg;
		uint64_t secs;

		if (rd_bytes(r, time_bytes[fsp], &p) < 0)
			goto short_;
		t = ((int64_t)bl_be(p, time_bytes[fsp]) - zero) * scale[fsp];
		neg = t < 0;
		x = neg ? (uint64_t)(-t) : (uint64_t)t;
		secs = x / 1000000;
		v->s = fmt_time(a, neg, secs / 3600, (unsigned)(secs / 60 % 60),
				(unsigned)(secs % 60), (uint32_t)(x % 1000000), fsp);
	}
	if (!v->s) {
		err_set(err, GW_ENOMEM, "out of memory decoding a row");
		return -1;
	}
	v->len = strlen(v->s);
	return 0;
short_:
	err_set(err, GW_EFATAL, "old-format temporal value truncated (type %u)", col->type);
	return -1;
}

#define SHORT(what)                                                                       \
	do {                                                                              \
		err_set(err, GW_EFATAL, "%s value truncated (type %u)", what, col->type); \
		return -1;                                                                \
	} while (0)

int bl_decode_value(struct bl_arena *a, struct bl_rd *r, const struct bl_column *col,
		    struct bl_value *v, struct gw_err *err)
{
	const uint8_t *p;
	uint64_t u;
	size_t n;
	unsigned fsp = col->meta & 0xff;

	memset(v, 0, sizeof(*v));
	switch (col->type) {
	case MT_TINY:
	case MT_SHORT:
	case MT_INT24:
	case MT_LONG:
	case MT_LONGLONG: {
		static const uint8_t width[] = {[MT_TINY] = 1,
						[MT_SHORT] = 2,
						[MT_INT24] = 3,
						[MT_LONG] = 4,
						[MT_LONGLONG] = 8};
		unsigned w = width[col->type];

		if (rd_uint(r, w, &u) < 0)
			SHORT("integer");
		if (col->is_unsigned) {
			v->kind = BL_UINT;
			v->u = u;
		} else {
			v->kind = BL_INT;
			if (w < 8 && (u >> (w * 8 - 1)) & 1)
				u |= ~(uint64_t)0 << (w * 8);
			v->i = (int64_t)u;
		}
		return 0;
	}
	case MT_YEAR:
		if (rd_uint(r, 1, &u) < 0)
			SHORT("YEAR");
		v->kind = BL_INT;
		v->i = u ? 1900 + (int64_t)u : 0;
		return 0;
	case MT_FLOAT: {
		float f;
		uint32_t w;

		if (rd_uint(r, 4, &u) < 0)
			SHORT("FLOAT");
		w = (uint32_t)u;
		memcpy(&f, &w, 4);
		v->kind = BL_DOUBLE;
		v->d = f;
		return 0;
	}
	case MT_DOUBLE:
		if (rd_uint(r, 8, &u) < 0)
			SHORT("DOUBLE");
		v->kind = BL_DOUBLE;
		memcpy(&v->d, &u, 8);
		return 0;
	case MT_NEWDECIMAL: {
		unsigned prec = col->meta >> 8, scale = col->meta & 0xff;
		struct buf b = BUF_INIT;

		n = bl_decimal_size(prec, scale);
		if (n == 0) {
			err_set(err, GW_EFATAL, "DECIMAL(%u,%u): invalid precision/scale", prec,
				scale);
			return -1;
		}
		if (rd_bytes(r, n, &p) < 0)
			SHORT("DECIMAL");
		if (bl_decimal_format(&b, p, n, prec, scale) < 0) {
			buf_release(&b);
			err_set(err, GW_EFATAL, "DECIMAL(%u,%u): malformed digits", prec, scale);
			return -1;
		}
		v->kind = BL_DECIMAL;
		v->s = bl_arena_strndup(a, buf_cstr(&b), b.len);
		v->len = b.len;
		buf_release(&b);
		break;
	}
	case MT_BIT: {
		unsigned bits = col->meta & 0xff, bytes = col->meta >> 8;

		n = bytes + (bits ? 1 : 0);
		if (n > 8) {
			err_set(err, GW_EFATAL, "BIT column of %zu bytes", n);
			return -1;
		}
		if (rd_bytes(r, n, &p) < 0)
			SHORT("BIT");
		v->kind = BL_UINT;
		v->u = bl_be(p, n);
		return 0;
	}
	case MT_ENUM:
	case MT_SET:
		n = col->meta & 0xff;
		if (n == 0 || n > 8 || (col->type == MT_ENUM && n > 2)) {
			err_set(err, GW_EFATAL, "%s column with pack length %zu",
				col->type == MT_ENUM ? "ENUM" : "SET", n);
			return -1;
		}
		if (rd_uint(r, n, &u) < 0)
			SHORT("ENUM/SET");
		v->u = u;
		if (col->type == MT_ENUM) {
			v->kind = BL_ENUM;
			if (col->labels && u >= 1 && u <= col->nlabels)
				v->s = col->labels[u - 1];
			else if (col->labels && u == 0)
				v->s = "";
		} else {
			v->kind = BL_SET;
			if (col->labels)
				v->s = labels_of_set(a, col, u);
		}
		if (v->s)
			v->len = strlen(v->s);
		return 0;
	case MT_DATE:
	case MT_NEWDATE: {
		char t[32];

		if (rd_uint(r, 3, &u) < 0)
			SHORT("DATE");
		snprintf(t, sizeof(t), "%04u-%02u-%02u", (unsigned)(u >> 9),
			 (unsigned)((u >> 5) & 15), (unsigned)(u & 31));
		v->kind = BL_TEMPORAL;
		v->s = bl_arena_strndup(a, t, strlen(t));
		break;
	}
	case MT_TIME: {
		int64_t t;
		uint64_t x;
		bool neg;

		if (fsp > 0)
			return maria_hires(a, r, col, v, err);
		if (rd_uint(r, 3, &u) < 0)
			SHORT("TIME");
		t = (u & 0x800000) ? (int64_t)(u | ~(uint64_t)0xffffff) : (int64_t)u;
		neg = t < 0;
		x = neg ? (uint64_t)(-t) : (uint64_t)t;
		v->kind = BL_TEMPORAL;
		v->s = fmt_time(a, neg, x / 10000, (unsigned)(x / 100 % 100), (unsigned)(x % 100),
				0, 0);
		break;
	}
	case MT_DATETIME:
		if (fsp > 0)
			return maria_hires(a, r, col, v, err);
		if (rd_uint(r, 8, &u) < 0)
			SHORT("DATETIME");
		v->kind = BL_TEMPORAL;
		v->s =
		    fmt_datetime(a, (unsigned)(u / 10000000000ULL), (unsigned)(u / 100000000 % 100),
				 (unsigned)(u / 1000000 % 100), (unsigned)(u / 10000 % 100),
				 (unsigned)(u / 100 % 100), (unsigned)(u % 100), 0, 0);
		break;
	case MT_TIMESTAMP:
		if (fsp > 0)
			return maria_hires(a, r, col, v, err);
		if (rd_uint(r, 4, &u) < 0)
			SHORT("TIMESTAMP");
		v->kind = BL_TEMPORAL;
		v->s = fmt_timestamp(a, u, 0, 0);
		break;
	case MT_TIMESTAMP2:
		if (fsp > 6 || rd_bytes(r, 4 + (fsp + 1) / 2, &p) < 0)
			SHORT("TIMESTAMP2");
		v->kind = BL_TEMPORAL;
		v->s = fmt_timestamp(a, bl_be(p, 4), frac_usec(p + 4, fsp), fsp);
		break;
	case MT_DATETIME2: {
		int64_t ip;
		uint64_t ymd, hms, ym;

		if (fsp > 6 || rd_bytes(r, 5 + (fsp + 1) / 2, &p) < 0)
			SHORT("DATETIME2");
		ip = (int64_t)bl_be(p, 5) - 0x8000000000LL;
		if (ip < 0)
			ip = -ip;
		ymd = (uint64_t)ip >> 17;
		hms = (uint64_t)ip % (1 << 17);
		ym = ymd >> 5;
		v->kind = BL_TEMPORAL;
		v->s =
		    fmt_datetime(a, (unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd % 32),
				 (unsigned)(hms >> 12), (unsigned)((hms >> 6) % 64),
				 (unsigned)(hms % 64), frac_usec(p + 5, fsp), fsp);
		break;
	}
	case MT_TIME2:
		if (fsp > 6 || rd_bytes(r, 3 + (fsp + 1) / 2, &p) < 0)
			SHORT("TIME2");
		v->kind = BL_TEMPORAL;
		v->s = bl_format_time_packed(a, time2_packed(p, fsp), fsp);
		break;
	case MT_VARCHAR:
	case MT_VAR_STRING:
	case MT_STRING: {
		unsigned maxlen = col->type == MT_STRING ? string_maxlen(col->meta) : col->meta;

		if (rd_uint(r, maxlen > 255 ? 2 : 1, &u) < 0 || rd_bytes(r, (size_t)u, &p) < 0)
			SHORT("string");
		if (col->type == MT_STRING && col->charset == 63 && u < maxlen) {
			/* BINARY(n): the server strips the trailing zero bytes
			 * it pads with; the value has all n */
			char *s = bl_arena_alloc(a, maxlen + 1);

			if (s)
				memcpy(s, p, (size_t)u);
			set_string(v, col, p, (size_t)u, s);
			v->len = maxlen;
			break;
		}
		set_string(v, col, p, (size_t)u, bl_arena_strndup(a, p, (size_t)u));
		break;
	}
	case MT_BLOB:
	case MT_TINY_BLOB:
	case MT_MEDIUM_BLOB:
	case MT_LONG_BLOB:
	case MT_GEOMETRY:
	case MT_JSON:
	case MT_VECTOR:
		n = col->meta & 0xff;
		if (n < 1 || n > 4) {
			err_set(err, GW_EFATAL, "type %u with %zu length bytes", col->type, n);
			return -1;
		}
		if (rd_uint(r, n, &u) < 0 || rd_bytes(r, (size_t)u, &p) < 0)
			SHORT("BLOB/TEXT/JSON");
		if (col->type == MT_JSON) {
			struct buf b = BUF_INIT;

			if (u == 0) {
				v->s = "null";
				v->len = 4;
				v->kind = BL_JSON;
				return 0;
			}
			if (bl_jsonb_to_text(&b, p, (size_t)u, err) < 0) {
				buf_release(&b);
				return -1;
			}
			v->kind = BL_JSON;
			v->s = bl_arena_strndup(a, buf_cstr(&b), b.len);
			v->len = b.len;
			buf_release(&b);
			break;
		}
		if (col->type == MT_GEOMETRY || col->type == MT_VECTOR) {
			v->kind = BL_BINARY;
			v->s = bl_arena_strndup(a, p, (size_t)u);
			v->len = (size_t)u;
			break;
		}
		set_string(v, col, p, (size_t)u, bl_arena_strndup(a, p, (size_t)u));
		break;
	case MT_NULL: v->kind = BL_NULL; return 0;
	default:
		err_set(err, GW_EFATAL, "column type %u cannot be decoded from a row image",
			col->type);
		return -1;
	}
	if (!v->s) {
		err_set(err, GW_ENOMEM, "out of memory decoding a row");
		return -1;
	}
	if (v->kind == BL_DECIMAL || v->kind == BL_TEMPORAL)
		v->len = strlen(v->s);
	return 0;
}

static bool bit_set(const uint8_t *bm, size_t i)
{
	return (bm[i / 8] >> (i % 8)) & 1;
}

/* One row image: null bitmap over the present columns, then the values. */
static int decode_image(struct binlog_decoder *d, struct bl_rd *r, const struct bl_table *t,
			const uint8_t *present_bm, bool partial_after,
			const struct bl_value *before, struct bl_value **vals_out,
			bool **present_out, struct gw_err *err)
{
	struct bl_value *vals = bl_arena_alloc(&d->arena, sizeof(*vals) * (t->ncols + 1));
	bool *present = bl_arena_alloc(&d->arena, sizeof(*present) * (t->ncols + 1));
	const uint8_t *nulls, *partial_bm = NULL;
	size_t npresent = 0, i, k = 0, njson = 0, ji = 0;
	uint64_t options = 0;

	if (!vals || !present)
		return err_set(err, GW_ENOMEM, "out of memory decoding a row");
	for (i = 0; i < t->ncols; i++) {
		present[i] = bit_set(present_bm, i);
		npresent += present[i];
		if (t->cols[i].type == MT_JSON)
			njson++;
	}
	if (partial_after) {
		if (rd_lenenc(r, &options) < 0)
			return err_set(err, GW_EFATAL, "partial update: value options truncated");
		if ((options & 1) && rd_bytes(r, (njson + 7) / 8, &partial_bm) < 0)
			return err_set(err, GW_EFATAL, "partial update: JSON bitmap truncated");
	}
	if (rd_bytes(r, (npresent + 7) / 8, &nulls) < 0)
		return err_set(err, GW_EFATAL, "row image truncated in the null bitmap");
	for (i = 0; i < t->ncols; i++) {
		bool is_json = t->cols[i].type == MT_JSON;
		bool partial = partial_bm && is_json && bit_set(partial_bm, ji);

		if (is_json)
			ji++;
		if (!present[i])
			continue;
		if (bit_set(nulls, k++)) {
			vals[i].kind = BL_NULL;
			continue;
		}
		if (partial) {
			uint64_t n;
			const uint8_t *p;
			struct buf b = BUF_INIT;

			if (rd_uint(r, t->cols[i].meta & 0xff, &n) < 0 || rd_bytes(r, n, &p) < 0)
				return err_set(err, GW_EFATAL,
					       "partial JSON update of column %zu truncated",
					       i + 1);
			if (!before || before[i].kind != BL_JSON)
				return err_set(err, GW_EFATAL,
					       "partial JSON update of column %zu: the before "
					       "image lacks the document, so the after image "
					       "cannot be rebuilt (use binlog_row_image=FULL or "
					       "binlog_row_value_options='')",
					       i + 1);
			if (bl_json_apply_diffs(&b, before[i].s, before[i].len, p, n, err) < 0) {
				buf_release(&b);
				err_prefix(err, "partial JSON update of column %zu", i + 1);
				return -1;
			}
			vals[i].kind = BL_JSON;
			vals[i].len = b.len;
			vals[i].s = bl_arena_strndup(&d->arena, buf_cstr(&b), b.len);
			buf_release(&b);
			if (!vals[i].s)
				return err_set(err, GW_ENOMEM, "out of memory decoding a row");
			continue;
		}
		if (bl_decode_value(&d->arena, r, &t->cols[i], &vals[i], err) < 0) {
			err_prefix(err, "column %zu%s%s%s", i + 1, t->cols[i].name ? " (" : "",
				   t->cols[i].name ? t->cols[i].name : "",
				   t->cols[i].name ? ")" : "");
			return -1;
		}
	}
	*vals_out = vals;
	*present_out = present;
	return 0;
}

static bool has_old_temporal(const struct bl_table *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (t->cols[i].type == MT_TIME || t->cols[i].type == MT_DATETIME ||
		    t->cols[i].type == MT_TIMESTAMP)
			return true;
	return false;
}

int bl_decode_rows(struct binlog_decoder *d, const uint8_t *body, size_t len, uint8_t type,
		   struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {body, len, 0};
	size_t phl = bl_post_header_len(d, type, 10), nrows = 0;
	uint64_t id, flags, width, extra;
	const uint8_t *before_bm, *after_bm = NULL;
	struct bl_table *t;
	bool v2 = type >= BINLOG_WRITE_ROWS_EVENT && type <= BINLOG_DELETE_ROWS_EVENT;
	bool is_update = false, is_write = false,
	     partial = type == BINLOG_PARTIAL_UPDATE_ROWS_EVENT;
	bool compressed = type >= BINLOG_MARIA_WRITE_ROWS_COMPRESSED_EVENT_V1 &&
			  type <= BINLOG_MARIA_DELETE_ROWS_COMPRESSED_V1;

	if (partial || type >= BINLOG_MARIA_WRITE_ROWS_COMPRESSED_V1)
		v2 = true;
	switch (type) {
	case BINLOG_WRITE_ROWS_EVENT_V1:
	case BINLOG_WRITE_ROWS_EVENT:
	case BINLOG_MARIA_WRITE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_WRITE_ROWS_COMPRESSED_V1:
		is_write = true;
		out->kind = BK_WRITE_ROWS;
		break;
	case BINLOG_UPDATE_ROWS_EVENT_V1:
	case BINLOG_UPDATE_ROWS_EVENT:
	case BINLOG_PARTIAL_UPDATE_ROWS_EVENT:
	case BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_V1:
		is_update = true;
		out->kind = BK_UPDATE_ROWS;
		break;
	default: out->kind = BK_DELETE_ROWS; break;
	}
	if (rd_uint(&r, phl == 6 ? 4 : 6, &id) < 0 || rd_uint(&r, 2, &flags) < 0)
		return err_set(err, GW_EFATAL, "rows event: post-header truncated");
	if (v2) {
		if (rd_uint(&r, 2, &extra) < 0 || extra < 2 || rd_left(&r) < extra - 2)
			return err_set(err, GW_EFATAL, "rows event: extra data truncated");
		r.off += extra - 2;
	}
	t = bl_find_table(d, id);
	if (!t)
		return err_set(err, GW_EFATAL,
			       "rows event for table id %llu without a TABLE_MAP before it",
			       (unsigned long long)id);
	out->table = t;
	if (rd_lenenc(&r, &width) < 0)
		return err_set(err, GW_EFATAL, "rows event: column count truncated");
	if (width != t->ncols)
		return err_set(err, GW_EFATAL,
			       "rows event for %s.%s has %llu columns, its table map %zu", t->db,
			       t->table, (unsigned long long)width, t->ncols);
	if (rd_bytes(&r, (width + 7) / 8, &before_bm) < 0 ||
	    (is_update && rd_bytes(&r, (width + 7) / 8, &after_bm) < 0))
		return err_set(err, GW_EFATAL, "rows event: column bitmaps truncated");
	if (compressed) {
		const uint8_t *u;
		size_t ulen;

		if (bl_maria_uncompress(&d->arena, r.p + r.off, rd_left(&r), &u, &ulen, err) < 0) {
			err_prefix(err, "compressed rows event");
			return -1;
		}
		r.p = u;
		r.len = ulen;
		r.off = 0;
	}
	while (rd_left(&r) > 0) {
		struct bl_row row;
		size_t start = r.off;

		memset(&row, 0, sizeof(row));
		if (nrows == d->cap_rows) {
			size_t ncap = d->cap_rows ? d->cap_rows * 2 : 64;
			struct bl_row *nr = realloc(d->rows, ncap * sizeof(*nr));

			if (!nr)
				return err_set(err, GW_ENOMEM, "out of memory decoding rows");
			d->rows = nr;
			d->cap_rows = ncap;
		}
		if (is_write) {
			if (decode_image(d, &r, t, before_bm, false, NULL, &row.after,
					 &row.after_present, err) < 0)
				goto bad;
		} else {
			if (decode_image(d, &r, t, before_bm, false, NULL, &row.before,
					 &row.before_present, err) < 0)
				goto bad;
			if (is_update && decode_image(d, &r, t, after_bm, partial, row.before,
						      &row.after, &row.after_present, err) < 0)
				goto bad;
		}
		d->rows[nrows++] = row;
		if (r.off == start) {
			err_set(err, GW_EFATAL, "row image of zero bytes");
			goto bad;
		}
		/* wide tables with tiny (MINIMAL) images expand the most;
		 * big values only take about their own size */
		if (d->arena.total > BL_MAX_ROWS_MEMORY + 4 * (len + r.len)) {
			err_set(err, GW_EFATAL, "rows event expands to more than %zu MiB decoded",
				BL_MAX_ROWS_MEMORY >> 20);
			goto bad;
		}
	}
	out->rows = d->rows;
	out->nrows = nrows;
	return 0;
bad:
	err_prefix(err, "%s.%s row %zu", t->db, t->table, nrows + 1);
	if (d->mariadb && has_old_temporal(t)) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n,
			 " (the table has old-format TIME/DATETIME/TIMESTAMP columns: with "
			 "fractional seconds, from mysql56_temporal_format=OFF, their size is "
			 "not in the binlog; ALTER TABLE ... FORCE converts them)");
	}
	return err->code ? err->code : GW_EFATAL;
}
