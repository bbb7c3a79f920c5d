/*
 * Decoded values as SQL literals, for appliers that build statements.
 */
#include "lib/common.h"
#include "binlog/binlog_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/banned.h"

static int put_hex(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *w;
	size_t i;

	/* Written in place: this is the applier's inner loop for every
	 * string value. */
	if (n > (SIZE_MAX - 3) / 2 || buf_grow(out, 3 + 2 * n) < 0)
		return GW_ENOMEM;
	w = out->ptr + out->len;
	*w++ = 'X';
	*w++ = '\'';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		*w++ = hex[c >> 4];
		*w++ = hex[c & 15];
	}
	*w++ = '\'';
	*w = '\0';
	out->len = (size_t)(w - out->ptr);
	return 0;
}

/* An integer in decimal, without printf's format parsing. */
static int put_uint(struct buf *out, bool neg, uint64_t u)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		*--p = '-';
	return buf_add(out, p, (size_t)(e - p));
}

int binlog_value_sql(struct buf *out, const struct bl_value *v, const struct bl_column *col)
{
	switch (v->kind) {
	case BL_NULL: return buf_puts(out, "NULL");
	case BL_INT:
		return put_uint(out, v->i < 0,
				v->i < 0 ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i);
	case BL_UINT: return put_uint(out, false, v->u);
	case BL_DOUBLE:
		if (!isfinite(v->d))
			return buf_puts(out, "NULL");
		return buf_printf(out, "%.*g", col && col->type == MT_FLOAT ? 9 : 17, v->d);
	case BL_DECIMAL: return buf_add(out, v->s, v->len);
	case BL_TEMPORAL:
		if (buf_putc(out, '\'') < 0 || buf_add(out, v->s, v->len) < 0)
			return GW_ENOMEM;
		return buf_putc(out, '\'');
	case BL_TEXT:
	case BL_BINARY: return put_hex(out, v->s, v->len);
	case BL_JSON:
		if (buf_puts(out, "CONVERT(") < 0 || put_hex(out, v->s, v->len) < 0)
			return GW_ENOMEM;
		return buf_puts(out, " USING utf8mb4)");
	case BL_ENUM:
	case BL_SET:
		if (v->s && v->u != 0) /* 0 is ENUM's error value '' */
			return put_hex(out, v->s, v->len);
		return buf_printf(out, "%llu", (unsigned long long)v->u);
	}
	return buf_puts(out, "NULL");
}
