/*
 * PARTIAL_UPDATE_ROWS (binlog_row_value_options=PARTIAL_JSON): a JSON
 * column's after image is a list of diffs against the before image, each
 * an operation (0 replace, 1 insert, 2 remove), a path ("$.a[2]") and,
 * but for remove, a binary JSON value. The before document (JSON text as
 * the decoder wrote it) is parsed into a tree, the diffs applied in
 * order, and the tree written back as compact JSON text.
 */
#include "lib/common.h"
#include "binlog/binlog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define JD_MAX_DEPTH 150

enum jd_type { JD_SCALAR, JD_OBJECT, JD_ARRAY };

struct jd_node {
	enum jd_type type;
	const char *raw; /* JD_SCALAR: the text as is */
	size_t rawlen;
	struct jd_node **kids;
	char **keys; /* JD_OBJECT: unescaped */
	size_t *keylens;
	size_t n, cap;
};

struct jd {
	struct bl_arena a;
	struct gw_err *err;
};

static int jd_fail(struct jd *j, const char *fmt, const char *arg)
{
	err_set(j->err, GW_EFATAL, fmt, arg);
	return -1;
}

static void skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
		(*i)++;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = s[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A JSON string at s[*i] (the opening quote) unescaped into the arena. */
static int parse_string(struct jd *j, const char *s, size_t len, size_t *i, char **out,
			size_t *outlen)
{
	size_t start = ++(*i), n = 0;
	char *d;

	while (*i < len && s[*i] != '"') {
		if (s[*i] == '\\')
			(*i)++;
		(*i)++;
	}
	if (*i >= len)
		return jd_fail(j, "%s", "JSON string not terminated");
	d = bl_arena_alloc(&j->a, *i - start + 1);
	if (!d)
		return jd_fail(j, "%s", "out of memory");
	for (size_t k = start; k < *i; k++) {
		uint32_t cp;

		if (s[k] != '\\') {
			d[n++] = s[k];
			continue;
		}
		k++;
		switch (s[k]) {
		case 'n': d[n++] = '\n'; break;
		case 't': d[n++] = '\t'; break;
		case 'r': d[n++] = '\r'; break;
		case 'b': d[n++] = '\b'; break;
		case 'f': d[n++] = '\f'; break;
		case 'u':
			if (k + 4 >= *i || hex4(s + k + 1, &cp) < 0)
				return jd_fail(j, "%s", "bad \\u escape");
			k += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && k + 6 < *i && s[k + 1] == '\\' &&
			    s[k + 2] == 'u') {
				uint32_t lo;

				if (hex4(s + k + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					k += 6;
				}
			}
			put_utf8(d, &n, cp);
			break;
		default: d[n++] = s[k]; break;
		}
	}
	d[n] = 0;
	(*i)++;
	*out = d;
	*outlen = n;
	return 0;
}

static int node_add(struct jd *j, struct jd_node *p, size_t at, char *key, size_t keylen,
		    struct jd_node *kid)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct jd_node **nk = bl_arena_alloc(&j->a, ncap * sizeof(*nk));
		char **nkeys = bl_arena_alloc(&j->a, ncap * sizeof(*nkeys));
		size_t *nl = bl_arena_alloc(&j->a, ncap * sizeof(*nl));

		if (!nk || !nkeys || !nl)
			return jd_fail(j, "%s", "out of memory");
		if (p->n) {
			memcpy(nk, p->kids, p->n * sizeof(*nk));
			memcpy(nkeys, p->keys, p->n * sizeof(*nkeys));
			memcpy(nl, p->keylens, p->n * sizeof(*nl));
		}
		p->kids = nk, p->keys = nkeys, p->keylens = nl, p->cap = ncap;
	}
	memmove(p->kids + at + 1, p->kids + at, (p->n - at) * sizeof(*p->kids));
	memmove(p->keys + at + 1, p->keys + at, (p->n - at) * sizeof(*p->keys));
	memmove(p->keylens + at + 1, p->keylens + at, (p->n - at) * sizeof(*p->keylens));
	p->kids[at] = kid;
	p->keys[at] = key;
	p->keylens[at] = keylen;
	p->n++;
	return 0;
}

static void node_del(struct jd_node *p, size_t at)
{
	memmove(p->kids + at, p->kids + at + 1, (p->n - at - 1) * sizeof(*p->kids));
	memmove(p->keys + at, p->keys + at + 1, (p->n - at - 1) * sizeof(*p->keys));
	memmove(p->keylens + at, p->keylens + at + 1, (p->n - at - 1) * sizeof(*p->keylens));
	p->n--;
}

static int parse_value(struct jd *j, const char *s, size_t len, size_t *i, int depth,
		       struct jd_node **out)
{
	struct jd_node *nd;

	if (depth > JD_MAX_DEPTH)
		return jd_fail(j, "%s", "JSON nested too deep");
	skip_ws(s, len, i);
	if (*i >= len)
		return jd_fail(j, "%s", "JSON text truncated");
	nd = bl_arena_alloc(&j->a, sizeof(*nd));
	if (!nd)
		return jd_fail(j, "%s", "out of memory");
	if (s[*i] == '{' || s[*i] == '[') {
		bool obj = s[*i] == '{';

		nd->type = obj ? JD_OBJECT : JD_ARRAY;
		(*i)++;
		skip_ws(s, len, i);
		if (*i < len && s[*i] == (obj ? '}' : ']')) {
			(*i)++;
			*out = nd;
			return 0;
		}
		for (;;) {
			char *key = NULL;
			size_t keylen = 0;
			struct jd_node *kid;

			skip_ws(s, len, i);
			if (obj) {
				if (*i >= len || s[*i] != '"' ||
				    parse_string(j, s, len, i, &key, &keylen) < 0)
					return jd_fail(j, "%s", "JSON object key expected");
				skip_ws(s, len, i);
				if (*i >= len || s[*i] != ':')
					return jd_fail(j, "%s", "JSON ':' expected");
				(*i)++;
			}
			if (parse_value(j, s, len, i, depth + 1, &kid) < 0 ||
			    node_add(j, nd, nd->n, key, keylen, kid) < 0)
				return -1;
			skip_ws(s, len, i);
			if (*i < len && s[*i] == ',') {
				(*i)++;
				continue;
			}
			if (*i < len && s[*i] == (obj ? '}' : ']')) {
				(*i)++;
				break;
			}
			return jd_fail(j, "%s", "JSON ',' expected");
		}
		*out = nd;
		return 0;
	}
	nd->type = JD_SCALAR;
	nd->raw = s + *i;
	if (s[*i] == '"') {
		(*i)++;
		while (*i < len && s[*i] != '"') {
			if (s[*i] == '\\')
				(*i)++;
			(*i)++;
		}
		if (*i >= len)
			return jd_fail(j, "%s", "JSON string not terminated");
		(*i)++;
	} else {
		while (*i < len && s[*i] != ',' && s[*i] != '}' && s[*i] != ']' && s[*i] != ' ')
			(*i)++;
	}
	nd->rawlen = (size_t)(s + *i - nd->raw);
	if (nd->rawlen == 0)
		return jd_fail(j, "%s", "JSON value expected");
	*out = nd;
	return 0;
}

static int write_node(struct buf *b, const struct jd_node *nd);

static int write_key(struct buf *b, const char *k, size_t n)
{
	size_t i;

	if (buf_putc(b, '"') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		int r;

		if (c == '"' || c == '\\')
			r = buf_putc(b, '\\') < 0 || buf_putc(b, (char)c) < 0 ? -1 : 0;
		else if (c < 0x20)
			r = buf_printf(b, "\\u%04x", c);
		else
			r = buf_putc(b, (char)c);
		if (r < 0)
			return -1;
	}
	return buf_putc(b, '"');
}

static int write_node(struct buf *b, const struct jd_node *nd)
{
	size_t i;

	if (nd->type == JD_SCALAR)
		return buf_add(b, nd->raw, nd->rawlen);
	if (buf_putc(b, nd->type == JD_OBJECT ? '{' : '[') < 0)
		return -1;
	for (i = 0; i < nd->n; i++) {
		if (i && buf_putc(b, ',') < 0)
			return -1;
		if (nd->type == JD_OBJECT &&
		    (write_key(b, nd->keys[i], nd->keylens[i]) < 0 || buf_putc(b, ':') < 0))
			return -1;
		if (write_node(b, nd->kids[i]) < 0)
			return -1;
	}
	return buf_putc(b, nd->type == JD_OBJECT ? '}' : ']');
}

/* One leg of a path: a member name or an array index. */
struct jd_leg {
	bool is_key;
	char *key;
	size_t keylen;
	uint64_t index;
	bool last; /* [last] */
};

static int parse_path(struct jd *j, const char *p, size_t n, struct jd_leg **legs_out,
		      size_t *nlegs_out)
{
	struct jd_leg *legs = bl_arena_alloc(&j->a, (n + 1) * sizeof(*legs));
	size_t i = 0, nl = 0;

	if (!legs)
		return jd_fail(j, "%s", "out of memory");
	if (n < 1 || p[0] != '$')
		return jd_fail(j, "%s", "JSON path does not start with $");
	i = 1;
	while (i < n) {
		struct jd_leg *l = &legs[nl++];

		if (p[i] == '.') {
			i++;
			l->is_key = true;
			if (i < n && p[i] == '"') {
				if (parse_string(j, p, n, &i, &l->key, &l->keylen) < 0)
					return -1;
			} else {
				size_t s = i;

				while (i < n && p[i] != '.' && p[i] != '[')
					i++;
				l->key = bl_arena_strndup(&j->a, p + s, i - s);
				l->keylen = i - s;
				if (!l->key || l->keylen == 0)
					return jd_fail(j, "%s", "empty member name in JSON path");
			}
		} else if (p[i] == '[') {
			i++;
			if (n - i >= 4 && memcmp(p + i, "last", 4) == 0) {
				l->last = true;
				i += 4;
			} else {
				if (i >= n || p[i] < '0' || p[i] > '9')
					return jd_fail(j, "%s", "bad array index in JSON path");
				while (i < n && p[i] >= '0' && p[i] <= '9') {
					if (l->index > 100000000)
						return jd_fail(j, "%s", "array index too large");
					l->index = l->index * 10 + (uint64_t)(p[i] - '0');
					i++;
				}
			}
			if (i >= n || p[i] != ']')
				return jd_fail(j, "%s", "']' expected in JSON path");
			i++;
		} else {
			return jd_fail(j, "%s", "unsupported JSON path");
		}
	}
	*legs_out = legs;
	*nlegs_out = nl;
	return 0;
}

static bool find_key(const struct jd_node *o, const char *k, size_t kl, size_t *at)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->keylens[i] == kl && memcmp(o->keys[i], k, kl) == 0) {
			*at = i;
			return true;
		}
	return false;
}

/* MySQL keeps object members sorted by key length, then bytes. */
static size_t key_slot(const struct jd_node *o, const char *k, size_t kl)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		if (o->keylens[i] > kl || (o->keylens[i] == kl && memcmp(o->keys[i], k, kl) > 0))
			return i;
	}
	return o->n;
}

static int apply_one(struct jd *j, struct jd_node **root, unsigned op, const char *path,
		     size_t pathlen, struct jd_node *val)
{
	struct jd_leg *legs;
	size_t nl, k, at;
	struct jd_node *cur;
	const struct jd_leg *last;
	char pbuf[256];

	snprintf(pbuf, sizeof(pbuf), "%.*s", (int)(pathlen > 200 ? 200 : pathlen), path);
	if (parse_path(j, path, pathlen, &legs, &nl) < 0)
		return -1;
	if (nl == 0) {
		if (op == 2 || !val)
			return jd_fail(j, "cannot remove the whole document (%s)", pbuf);
		*root = val;
		return 0;
	}
	cur = *root;
	for (k = 0; k + 1 < nl; k++) {
		const struct jd_leg *l = &legs[k];

		if (l->is_key) {
			if (cur->type != JD_OBJECT || !find_key(cur, l->key, l->keylen, &at))
				return jd_fail(j, "path %s not in the before image", pbuf);
		} else {
			if (cur->type != JD_ARRAY || cur->n == 0)
				return jd_fail(j, "path %s not in the before image", pbuf);
			at = l->last ? cur->n - 1 : (size_t)l->index;
			if (at >= cur->n)
				return jd_fail(j, "path %s not in the before image", pbuf);
		}
		cur = cur->kids[at];
	}
	last = &legs[nl - 1];
	if (last->is_key) {
		bool found;

		if (cur->type != JD_OBJECT)
			return jd_fail(j, "path %s: not an object in the before image", pbuf);
		found = find_key(cur, last->key, last->keylen, &at);
		if (op == 0) {
			if (!found)
				return jd_fail(j, "path %s not in the before image", pbuf);
			cur->kids[at] = val;
		} else if (op == 1) {
			if (found)
				cur->kids[at] = val;
			else if (node_add(j, cur, key_slot(cur, last->key, last->keylen), last->key,
					  last->keylen, val) < 0)
				return -1;
		} else {
			if (!found)
				return jd_fail(j, "path %s not in the before image", pbuf);
			node_del(cur, at);
		}
		return 0;
	}
	if (cur->type != JD_ARRAY)
		return jd_fail(j, "path %s: not an array in the before image", pbuf);
	at = last->last ? (cur->n ? cur->n - 1 : 0) : (size_t)last->index;
	if (op == 1) {
		if (at > cur->n)
			at = cur->n;
		return node_add(j, cur, at, NULL, 0, val);
	}
	if (at >= cur->n)
		return jd_fail(j, "path %s not in the before image", pbuf);
	if (op == 0)
		cur->kids[at] = val;
	else
		node_del(cur, at);
	return 0;
}

int bl_json_apply_diffs(struct buf *out, const char *before, size_t before_len, const uint8_t *p,
			size_t len, struct gw_err *err)
{
	struct jd j = {{NULL, 0}, err};
	struct bl_rd r = {p, len, 0};
	struct jd_node *root = NULL;
	size_t i = 0;
	int rc = -1;

	if (parse_value(&j, before, before_len, &i, 0, &root) < 0)
		goto out;
	while (rd_left(&r) > 0) {
		uint64_t op, plen, vlen;
		const uint8_t *path, *v;
		struct jd_node *val = NULL;

		if (rd_uint(&r, 1, &op) < 0 || op > 2 || rd_lenenc(&r, &plen) < 0 ||
		    rd_bytes(&r, (size_t)plen, &path) < 0) {
			err_set(err, GW_EFATAL, "JSON diff malformed");
			goto out;
		}
		if (op != 2) {
			struct buf vb = BUF_INIT;
			char *text;
			size_t k = 0;

			if (rd_lenenc(&r, &vlen) < 0 || rd_bytes(&r, (size_t)vlen, &v) < 0) {
				err_set(err, GW_EFATAL, "JSON diff value truncated");
				goto out;
			}
			if (bl_jsonb_to_text(&vb, v, (size_t)vlen, err) < 0) {
				buf_release(&vb);
				goto out;
			}
			text = bl_arena_strndup(&j.a, buf_cstr(&vb), vb.len);
			k = vb.len;
			buf_release(&vb);
			if (!text) {
				err_set(err, GW_ENOMEM, "out of memory");
				goto out;
			}
			vlen = k;
			k = 0;
			if (parse_value(&j, text, (size_t)vlen, &k, 0, &val) < 0)
				goto out;
		}
		if (apply_one(&j, &root, (unsigned)op, (const char *)path, (size_t)plen, val) < 0)
			goto out;
	}
	if (write_node(out, root) < 0) {
		err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	bl_arena_release(&j.a);
	return rc;
}
