/*
 * Decoded values as SQL literals, for appliers that build statements.
 */
#include "lib/common.h"
#include "engine/binlog_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/banned.h"

static int put_hex(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (buf_grow(out, 3 + 2 * n) < 0 || buf_puts(out, "X'") < 0)
		return GW_ENOMEM;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char two[2] = {hex[c >> 4], hex[c & 15]};

		if (buf_add(out, two, 2) < 0)
			return GW_ENOMEM;
	}
	return buf_putc(out, '\'');
}

int binlog_value_sql(struct buf *out, const struct bl_value *v, const struct bl_column *col)
{
	switch (v->kind) {
	case BL_NULL: return buf_puts(out, "NULL");
	case BL_INT: return buf_printf(out, "%lld", (long long)v->i);
	case BL_UINT: return buf_printf(out, "%llu", (unsigned long long)v->u);
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
