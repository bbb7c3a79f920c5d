#include "lib/common.h"
#include "cloud/cjson.h"
#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define CJSON_MAX_DEPTH 64

struct parser {
	const char *p;
	const char *end;
	const char *start;
	struct gw_err *err;
};

static int fail(struct parser *ps, const char *what)
{
	return err_set(ps->err, GW_EFATAL, "malformed JSON at byte %zu: %s",
		       (size_t)(ps->p - ps->start), what);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (i = 0; i < 4; i++) {
		char c = ps->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "bad \\u escape");
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80)
		u[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	return buf_add(b, u, n);
}

/* A string at ps->p (after the opening quote) into *out. */
static int parse_string(struct parser *ps, char **out)
{
	struct buf b = BUF_INIT;
	int r = 0;

	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p++;
		if (c < 0x20) {
			r = fail(ps, "control character in a string");
			goto out;
		}
		if (c != '\\') {
			if (buf_putc(&b, (char)c) < 0)
				goto nomem;
			continue;
		}
		if (ps->p >= ps->end) {
			r = fail(ps, "unterminated escape");
			goto out;
		}
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/': r = buf_putc(&b, (char)c); break;
		case 'b': r = buf_putc(&b, '\b'); break;
		case 'f': r = buf_putc(&b, '\f'); break;
		case 'n': r = buf_putc(&b, '\n'); break;
		case 'r': r = buf_putc(&b, '\r'); break;
		case 't': r = buf_putc(&b, '\t'); break;
		case 'u': {
			unsigned hi, lo;
			unsigned long cp;
			if ((r = hex4(ps, &hi)) < 0)
				goto out;
			cp = hi;
			if (hi >= 0xd800 && hi <= 0xdbff) {
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
					r = fail(ps, "lone surrogate");
					goto out;
				}
				ps->p += 2;
				if ((r = hex4(ps, &lo)) < 0)
					goto out;
				if (lo < 0xdc00 || lo > 0xdfff) {
					r = fail(ps, "bad surrogate pair");
					goto out;
				}
				cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) + (lo - 0xdc00);
			} else if (hi >= 0xdc00 && hi <= 0xdfff) {
				r = fail(ps, "lone surrogate");
				goto out;
			}
			r = put_utf8(&b, cp);
			break;
		}
		default: r = fail(ps, "bad escape"); goto out;
		}
		if (r < 0)
			goto nomem;
	}
	if (ps->p >= ps->end) {
		r = fail(ps, "unterminated string");
		goto out;
	}
	ps->p++;
	if (buf_putc(&b, 0) < 0)
		goto nomem;
	*out = buf_detach(&b, NULL);
	return 0;
nomem:
	r = err_set(ps->err, GW_ENOMEM, "out of memory");
out:
	buf_release(&b);
	return r;
}

static int parse_value(struct parser *ps, struct cjson **out, int depth);

static int parse_number(struct parser *ps, struct cjson *j)
{
	const char *s = ps->p;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	while (ps->p < ps->end &&
	       ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' || *ps->p == 'e' ||
		*ps->p == 'E' || *ps->p == '+' || *ps->p == '-'))
		ps->p++;
	j->type = CJ_NUM;
	if (!(j->text = strndup(s, (size_t)(ps->p - s))))
		return err_set(ps->err, GW_ENOMEM, "out of memory");
	return 0;
}

static int parse_container(struct parser *ps, struct cjson *j, int depth)
{
	bool obj = *ps->p == '{';
	char close = obj ? '}' : ']';
	struct cjson **tail = &j->child;
	int r;

	j->type = obj ? CJ_OBJ : CJ_ARR;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		struct cjson *v = NULL;

		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			ps->p++;
			if ((r = parse_string(ps, &key)) < 0)
				return r;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return fail(ps, "expected ':'");
			}
			ps->p++;
		}
		if ((r = parse_value(ps, &v, depth + 1)) < 0) {
			free(key);
			return r;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "unexpected character");
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct cjson **out, int depth)
{
	struct cjson *j;
	int r;

	*out = NULL;
	if (depth > CJSON_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	if (!(j = calloc(1, sizeof(*j))))
		return err_set(ps->err, GW_ENOMEM, "out of memory");
	switch (*ps->p) {
	case '{':
	case '[': r = parse_container(ps, j, depth); break;
	case '"':
		ps->p++;
		j->type = CJ_STR;
		r = parse_string(ps, &j->text);
		break;
	case 't':
		j->type = CJ_TRUE;
		r = literal(ps, "true");
		break;
	case 'f':
		j->type = CJ_FALSE;
		r = literal(ps, "false");
		break;
	case 'n':
		j->type = CJ_NULL;
		r = literal(ps, "null");
		break;
	default: r = parse_number(ps, j); break;
	}
	if (r < 0) {
		cjson_free(j);
		return r;
	}
	*out = j;
	return 0;
}

int cjson_parse(struct cjson **out, const char *text, size_t len, struct gw_err *err)
{
	struct parser ps = {text, text + len, text, err};
	struct cjson *j = NULL;
	int r;

	*out = NULL;
	if ((r = parse_value(&ps, &j, 0)) < 0)
		return r;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		cjson_free(j);
		return fail(&ps, "trailing characters");
	}
	*out = j;
	return 0;
}

void cjson_free(struct cjson *j)
{
	while (j) {
		struct cjson *next = j->next;
		cjson_free(j->child);
		free(j->key);
		free(j->text);
		free(j);
		j = next;
	}
}

const struct cjson *cjson_get(const struct cjson *obj, const char *key)
{
	const struct cjson *c;

	if (!obj || obj->type != CJ_OBJ)
		return NULL;
	for (c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

const struct cjson *cjson_path(const struct cjson *root, const char *path)
{
	const struct cjson *j = root;
	char name[128];

	while (j && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = 0;
		j = cjson_get(j, name);
		path += n + (dot ? 1 : 0);
	}
	return j;
}

const char *cjson_text(const struct cjson *obj, const char *key)
{
	const struct cjson *j = cjson_get(obj, key);

	return j && (j->type == CJ_STR || j->type == CJ_NUM) ? j->text : NULL;
}
