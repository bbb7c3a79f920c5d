#include "lib/common.h"
#include "lib/json.h"
#include "lib/err.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	unsigned c = s[0];
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, cp = c & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

int json_strn(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (buf_putc(b, '"') < 0)
		return GW_ENOMEM;
	while (i < n) {
		unsigned c = p[i];
		size_t l;
		int r = 0;

		if (c == '"' || c == '\\')
			r = buf_putc(b, '\\') < 0 || buf_putc(b, (char)c) < 0 ? GW_ENOMEM : 0;
		else if (c == '\n')
			r = buf_puts(b, "\\n");
		else if (c == '\r')
			r = buf_puts(b, "\\r");
		else if (c == '\t')
			r = buf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			r = buf_printf(b, "\\u%04x", c);
		else if (c < 0x80)
			r = buf_putc(b, (char)c);
		else if ((l = utf8_len(p + i, n - i)) > 0) {
			r = buf_add(b, p + i, l);
			i += l;
			if (r < 0)
				return GW_ENOMEM;
			continue;
		} else
			r = buf_printf(b, "\\u%04x", c);
		if (r < 0)
			return GW_ENOMEM;
		i++;
	}
	return buf_putc(b, '"');
}

int json_str(struct buf *b, const char *s)
{
	return json_strn(b, s, strlen(s));
}

int base64_encode(struct buf *b, const void *data, size_t n)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i;

	if (buf_grow(b, (n + 2) / 3 * 4) < 0)
		return GW_ENOMEM;
	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = {tbl[p[i] >> 2], tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			     tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], tbl[p[i + 2] & 63]};
		if (buf_add(b, q, 4) < 0)
			return GW_ENOMEM;
	}
	if (n - i == 1) {
		char q[4] = {tbl[p[i] >> 2], tbl[(p[i] & 3) << 4], '=', '='};
		return buf_add(b, q, 4);
	}
	if (n - i == 2) {
		char q[4] = {tbl[p[i] >> 2], tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			     tbl[(p[i + 1] & 15) << 2], '='};
		return buf_add(b, q, 4);
	}
	return 0;
}

int json_base64(struct buf *b, const void *data, size_t n)
{
	if (buf_puts(b, "{\"base64\": \"") < 0 || base64_encode(b, data, n) < 0)
		return GW_ENOMEM;
	return buf_puts(b, "\"}");
}

int yaml_str(struct buf *b, const char *s)
{
	return json_str(b, s);
}
