/*
 * The spec loader: YAML (libyaml's document API, which keeps every node's
 * line and column) walked with the key tables of spec/keys.c into a struct
 * spec. Every problem becomes a diagnostic; the walk goes on after one, so
 * a file's errors are all reported at once, sorted by position.
 */
#include "lib/common.h"
#include "spec/spec.h"
#include "spec/keys.h"
#include "lib/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define SPEC_MAX_FILE (4u << 20)
#define SPEC_MAX_DIAGS 200
/* A message echoes what the file says; a huge value is cut short. */
#define SPEC_MAX_MSG 512
/* Aliases may share a node many times over; bound the work. */
#define SPEC_MAX_VISITS 200000
/* Mappings and lists within one another; a spec has about six. */
#define SPEC_MAX_DEPTH 64
/* Nodes directly in one list or mapping (a key and its value are two). */
#define SPEC_MAX_ITEMS 20000

struct load_ctx {
	const char *file;
	const char *data; /* the file's bytes, for positions inside a value */
	size_t len;
	struct diag_list *diags;
	yaml_document_t *doc;
	struct spec *s;
	size_t visits;
	bool too_big;
	bool oom;
};

/* --- diagnostics --- */

void diag_list_release(struct diag_list *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].msg);
	}
	free(d->items);
	d->items = NULL;
	d->n = d->cap = 0;
}

int diag_list_format(struct buf *out, const struct diag_list *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (buf_printf(out, "%s:%d:%d: %s\n", d->items[i].file, d->items[i].line,
			       d->items[i].col, d->items[i].msg) < 0)
			return GW_ENOMEM;
	return 0;
}

/*
 * Each diagnostic is one line of text: control characters of echoed
 * values (a quoted "a\nb", an escape sequence) are written as escapes,
 * and a very long message is cut.
 */
static int msg_clean(struct buf *out, const char *msg)
{
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p; p++) {
		int r;

		if (out->len >= SPEC_MAX_MSG)
			return buf_puts(out, "...");
		if (*p == '\n')
			r = buf_puts(out, "\\n");
		else if (*p == '\t')
			r = buf_puts(out, "\\t");
		else if (*p == '\r')
			r = buf_puts(out, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			r = buf_printf(out, "\\x%02x", *p);
		else
			r = buf_putc(out, (char)*p);
		if (r < 0)
			return r;
	}
	return 0;
}

static void diag_vadd(struct load_ctx *c, int line, int col, const char *fmt, va_list ap)
{
	struct buf raw = BUF_INIT;
	struct diag_list *d = c->diags;
	struct buf msg = BUF_INIT;
	struct diag *it;
	size_t pos;

	if (d->n >= SPEC_MAX_DIAGS)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct diag *items = realloc(d->items, cap * sizeof(*items));

		if (!items) {
			c->oom = true;
			return;
		}
		d->items = items;
		d->cap = cap;
	}
	if (d->n + 1 == SPEC_MAX_DIAGS) {
		buf_release(&msg);
		if (buf_puts(&msg, "too many errors; giving up") < 0) {
			c->oom = true;
			return;
		}
	} else if (buf_vprintf(&raw, fmt, ap) < 0 || msg_clean(&msg, buf_cstr(&raw)) < 0) {
		buf_release(&raw);
		buf_release(&msg);
		c->oom = true;
		return;
	}
	buf_release(&raw);
	/* Keep the list sorted by position, stable for equal positions; the
	 * cut-off notice goes last, after the errors it ends. */
	pos = d->n;
	while (d->n + 1 < SPEC_MAX_DIAGS && pos > 0 &&
	       (d->items[pos - 1].line > line ||
		(d->items[pos - 1].line == line && d->items[pos - 1].col > col)))
		pos--;
	memmove(d->items + pos + 1, d->items + pos, (d->n - pos) * sizeof(*d->items));
	it = &d->items[pos];
	it->file = strdup(c->file);
	it->line = line;
	it->col = col;
	it->msg = buf_detach(&msg, NULL);
	d->n++;
	if (!it->file)
		c->oom = true;
}

static void diag_at(struct load_ctx *c, int line, int col, const char *fmt, ...) PRINTF_LIKE(4, 5);
static void diag_at(struct load_ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(c, line, col, fmt, ap);
	va_end(ap);
}

void ld_diag(struct load_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int line = n ? (int)n->start_mark.line + 1 : 1;
	int col = n ? (int)n->start_mark.column + 1 : 1;

	va_start(ap, fmt);
	diag_vadd(c, line, col, fmt, ap);
	va_end(ap);
}

/* The bytes of the value an escape of a double-quoted scalar at p stands
 * for, and *raw_len the escape's length; 0 when it is not one. */
static size_t escape_len(const char *p, const char *end, size_t *raw_len)
{
	unsigned long cp;
	char *e;
	char hex[9];
	size_t digits = p[1] == 'x' ? 2 : p[1] == 'u' ? 4 : p[1] == 'U' ? 8 : 0;

	*raw_len = 2;
	if (p + 1 >= end)
		return 0;
	if (p[1] == 'N' || p[1] == '_')
		return 2; /* U+0085, U+00A0 */
	if (p[1] == 'L' || p[1] == 'P')
		return 3; /* U+2028, U+2029 */
	if (!digits)
		return 1;
	if ((size_t)(end - p) < 2 + digits)
		return 0;
	memcpy(hex, p + 2, digits);
	hex[digits] = '\0';
	cp = strtoul(hex, &e, 16);
	*raw_len = 2 + digits;
	if (*e || digits == 2)
		return *e ? 0 : 1;
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/*
 * Line and column (1-based) of byte off of scalar n's value, when the
 * value is written on one line (plain, or quoted with its escapes); false
 * otherwise (block scalars, folded lines).
 */
static bool scalar_pos(const struct load_ctx *c, const yaml_node_t *n, size_t off, int *line,
		       int *col)
{
	const char *start, *raw, *end;
	yaml_scalar_style_t style;
	size_t v = 0, chars = 0;

	if (!c->data || !n || n->type != YAML_SCALAR_NODE || n->end_mark.index > c->len ||
	    n->start_mark.index > n->end_mark.index || n->start_mark.line != n->end_mark.line)
		return false;
	style = n->data.scalar.style;
	start = raw = c->data + n->start_mark.index;
	end = c->data + n->end_mark.index;
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		raw++;
	else if (style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	while (v < off && raw < end) {
		size_t step = 1, bytes = 1;
		if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && raw[0] == '\'' && raw + 1 < end &&
		    raw[1] == '\'')
			step = 2;
		else if (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && raw[0] == '\\' &&
			 !(bytes = escape_len(raw, end, &step)))
			return false;
		raw += step;
		v += bytes;
	}
	if (v != off)
		return false;
	for (; start < raw; start++)
		chars += ((unsigned char)*start & 0xc0) != 0x80;
	*line = (int)n->start_mark.line + 1;
	*col = (int)(n->start_mark.column + chars) + 1;
	return true;
}

void ld_diag_at(struct load_ctx *c, const yaml_node_t *n, size_t off, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	int line, col, r;

	va_start(ap, fmt);
	r = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
	} else if (scalar_pos(c, n, off, &line, &col)) {
		diag_at(c, line, col, "%s", buf_cstr(&msg));
	} else {
		ld_diag(c, n, "%s (at byte %zu of the value)", buf_cstr(&msg), off + 1);
	}
	buf_release(&msg);
}

void ld_oom(struct load_ctx *c)
{
	c->oom = true;
}

struct spec *ld_spec(struct load_ctx *c)
{
	return c->s;
}

/*
 * An unknown key is echoed only when it looks like a key name: whatever
 * else a file holds (one that is not a spec at all, read through a link)
 * stays out of logs and status messages.
 */
static const char *key_shown(const char *key)
{
	const char *p;

	if (strlen(key) > 64)
		return "(not shown: not a key name)";
	for (p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return "(not shown: not a key name)";
	return key;
}

/*
 * Nesting deeper than SPEC_MAX_DEPTH, or a list or mapping of more than
 * SPEC_MAX_ITEMS nodes, is refused before the document is built: libyaml's
 * work grows with the square of the depth (200,000 `[` would hold the
 * controller's loop for minutes), and so does the duplicate-key check with
 * the keys of a mapping; a spec needs a few levels and far fewer entries.
 * Events stop at the first excess, so this costs little.
 */
static bool too_big(struct load_ctx *c, const char *data, size_t len)
{
	size_t items[SPEC_MAX_DEPTH + 2];
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0;
	bool big = false, done = false;

	if (!yaml_parser_initialize(&p))
		return false; /* the load says so */
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	items[0] = 0;
	while (!done && !big) {
		bool start, end;

		if (!yaml_parser_parse(&p, &ev))
			break; /* a syntax error: the load reports it */
		start = ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT;
		end = ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT;
		if ((start || ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) &&
		    ++items[depth] > SPEC_MAX_ITEMS) {
			diag_at(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				"more than %d entries in one list or mapping", SPEC_MAX_ITEMS / 2);
			big = true;
		} else if (start && ++depth > SPEC_MAX_DEPTH) {
			diag_at(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				"nested deeper than %d levels (a spec needs a few)",
				SPEC_MAX_DEPTH);
			big = true;
		} else if (start) {
			items[depth] = 0;
		} else if (end && depth > 0) {
			depth--;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return big;
}

/* --- nodes --- */

static yaml_node_t *node_get(struct load_ctx *c, int idx)
{
	return yaml_document_get_node(c->doc, idx);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

bool ld_is_null(const yaml_node_t *n)
{
	const char *v = scalar(n);

	if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static bool is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

yaml_node_t *ld_map_key(struct load_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_get(c, p->key);
		const char *ks = scalar(k);

		if (ks && !strcmp(ks, key))
			return k;
	}
	return NULL;
}

yaml_node_t *ld_map_value(struct load_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *ks = scalar(node_get(c, p->key));

		if (ks && !strcmp(ks, key))
			return node_get(c, p->value);
	}
	return NULL;
}

bool ld_map_pair(struct load_ctx *c, yaml_node_t *map, size_t i, yaml_node_t **key_out,
		 yaml_node_t **value_out)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE ||
	    i >= (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start))
		return false;
	p = &map->data.mapping.pairs.start[i];
	*key_out = node_get(c, p->key);
	*value_out = node_get(c, p->value);
	return *key_out && *value_out;
}

yaml_node_t *ld_seq_item(struct load_ctx *c, yaml_node_t *seq, size_t i)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    i >= (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start))
		return NULL;
	return node_get(c, seq->data.sequence.items.start[i]);
}

static bool visit(struct load_ctx *c)
{
	if (c->too_big)
		return false;
	if (++c->visits > SPEC_MAX_VISITS) {
		c->too_big = true;
		diag_at(c, 1, 1, "spec too large (more than %d values, counting aliases)",
			SPEC_MAX_VISITS);
		return false;
	}
	return true;
}

/* --- did you mean --- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best;
			char ca = a[i - 1], cb = b[j - 1];

			if (ca >= 'A' && ca <= 'Z')
				ca = (char)(ca - 'A' + 'a');
			if (cb >= 'A' && cb <= 'Z')
				cb = (char)(cb - 'A' + 'a');
			best = diag + (ca != cb);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *ld_suggest(const char *word, const char *const *names, size_t n)
{
	size_t i, best = SIZE_MAX, len = strlen(word);
	size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	const char *pick = NULL;

	for (i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);

		if (d < best) {
			best = d;
			pick = names[i];
		}
	}
	return best <= limit ? pick : NULL;
}

/* --- values --- */

#define FIELD_AT(base, off) ((void *)((char *)(base) + (off)))

static void store_int(void *field, size_t fsize, int64_t v)
{
	if (fsize == sizeof(int32_t)) {
		int32_t x = (int32_t)v;
		memcpy(field, &x, sizeof(x));
	} else {
		memcpy(field, &v, sizeof(v));
	}
}

static char *dup_scalar(struct load_ctx *c, const yaml_node_t *n)
{
	char *s = strndup((const char *)n->data.scalar.value, n->data.scalar.length);

	if (!s)
		ld_oom(c);
	return s;
}

/* A scalar's text, or a diagnostic "NAME must be WHAT" and NULL. */
static const char *want_scalar(struct load_ctx *c, const struct key *k, yaml_node_t *n,
			       const char *what)
{
	const char *v = scalar(n);

	if (!v) {
		ld_diag(c, n, "%s must be %s", k->name, what);
		return NULL;
	}
	if (strlen(v) != n->data.scalar.length) {
		ld_diag(c, n, "%s must not contain NUL characters", k->name);
		return NULL;
	}
	return v;
}

static void enum_list(struct buf *b, const char *const *names)
{
	size_t i;

	for (i = 0; names[i]; i++)
		if (buf_printf(b, "%s%s", i ? ", " : "", names[i]) < 0)
			return;
}

/* Parses a scalar value text (from YAML or a default) into the field. */
static bool parse_scalar(struct load_ctx *c, const struct key *k, yaml_node_t *n, const char *v,
			 bool plain, void *field)
{
	int64_t i64;
	uint64_t u64;
	size_t i;

	switch (k->type) {
	case KT_STR:
		if (!*v) {
			ld_diag(c, n, "%s must not be empty", k->name);
			return false;
		}
		if (field) {
			char *s = strdup(v);

			if (!s) {
				ld_oom(c);
				return false;
			}
			free(*(char **)field);
			*(char **)field = s;
		}
		return true;
	case KT_INT:
		if (!plain) {
			ld_diag(c, n, "%s must be an integer (got the quoted string '%s')", k->name,
				v);
			return false;
		}
		if (util_parse_int64(&i64, v, INT64_MIN, INT64_MAX) < 0) {
			ld_diag(c, n, "%s must be an integer (got '%s')", k->name, v);
			return false;
		}
		if (i64 < k->min || i64 > k->max) {
			ld_diag(c, n, "%s must be between %lld and %lld (got %lld)", k->name,
				(long long)k->min, (long long)k->max, (long long)i64);
			return false;
		}
		store_int(field, k->fsize, i64);
		return true;
	case KT_BOOL:
		if (plain && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))) {
			*(bool *)field = true;
			return true;
		}
		if (plain && (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))) {
			*(bool *)field = false;
			return true;
		}
		if (!plain)
			ld_diag(c, n, "%s must be true or false (got the quoted string '%s')",
				k->name, v);
		else
			ld_diag(c, n, "%s must be true or false (got '%s')", k->name, v);
		return false;
	case KT_DURATION:
		if (util_parse_duration(&i64, v) < 0) {
			ld_diag(c, n,
				"%s must be a duration like 500ms, 30s, 5m, 12h or 1d (got '%s')",
				k->name, v);
			return false;
		}
		*(int64_t *)field = i64;
		return true;
	case KT_SIZE:
		if (util_parse_size(&u64, v) < 0) {
			ld_diag(c, n, "%s must be a size like 1048576, 50MiB or 1GiB (got '%s')",
				k->name, v);
			return false;
		}
		*(uint64_t *)field = u64;
		return true;
	case KT_ENUM:
		for (i = 0; k->names[i]; i++) {
			if (!strcmp(v, k->names[i])) {
				store_int(field, k->fsize, (int64_t)i);
				return true;
			}
		}
		{
			struct buf b = BUF_INIT;

			enum_list(&b, k->names);
			ld_diag(c, n, "%s must be one of %s (got '%s')", k->name, buf_cstr(&b), v);
			buf_release(&b);
		}
		return false;
	default: return false;
	}
}

static void walk_strlist(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start), i;
	char **items = cnt ? calloc(cnt, sizeof(*items)) : NULL;
	size_t got = 0;

	if (cnt && !items) {
		ld_oom(c);
		return;
	}
	for (i = 0; i < cnt; i++) {
		yaml_node_t *it = ld_seq_item(c, n, i);
		const char *v;

		if (!visit(c))
			break;
		if (!(v = scalar(it)) || ld_is_null(it)) {
			ld_diag(c, it, "items of %s must be strings", k->name);
			continue;
		}
		if (!*v || strlen(v) != it->data.scalar.length) {
			ld_diag(c, it, "items of %s must not be empty", k->name);
			continue;
		}
		if (!(items[got] = dup_scalar(c, it)))
			break;
		got++;
	}
	*(char ***)FIELD_AT(base, k->off) = items;
	*(size_t *)FIELD_AT(base, k->count_off) = got;
}

/* The pairs of a KT_STRMAP share struct label's layout. */
static void walk_strmap(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), i, j;
	struct label *items = cnt ? calloc(cnt, sizeof(*items)) : NULL;
	size_t got = 0;

	if (cnt && !items) {
		ld_oom(c);
		return;
	}
	for (i = 0; i < cnt; i++) {
		yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		yaml_node_t *kn = node_get(c, p->key), *vn = node_get(c, p->value);
		const char *ks = scalar(kn), *vs = scalar(vn);
		bool dup = false;

		if (!visit(c))
			break;
		if (!ks || ld_is_null(kn) || !*ks || strlen(ks) != kn->data.scalar.length) {
			ld_diag(c, kn, "keys of %s must be non-empty strings", k->name);
			continue;
		}
		if (!vs || ld_is_null(vn) || !*vs || strlen(vs) != vn->data.scalar.length) {
			ld_diag(c, vn, "values of %s must be non-empty strings", k->name);
			continue;
		}
		for (j = 0; j < i && !dup; j++) {
			yaml_node_t *prev = node_get(c, n->data.mapping.pairs.start[j].key);

			if (scalar(prev) && !strcmp(scalar(prev), ks)) {
				ld_diag(c, kn, "duplicate key '%s' (first at line %d)", ks,
					(int)prev->start_mark.line + 1);
				dup = true;
			}
		}
		if (dup)
			continue;
		items[got].key = dup_scalar(c, kn);
		items[got].value = dup_scalar(c, vn);
		if (!items[got].key || !items[got].value) {
			free(items[got].key);
			free(items[got].value);
			break;
		}
		got++;
	}
	*(struct label **)FIELD_AT(base, k->off) = items;
	*(size_t *)FIELD_AT(base, k->count_off) = got;
}

static void walk_maplist(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start), i;
	char *items = cnt ? calloc(cnt, k->elem_size) : NULL;

	if (cnt && !items) {
		ld_oom(c);
		return;
	}
	/* Stored first: the count covers zeroed elements, so spec_free frees
	 * whatever a failed element holds. */
	*(void **)FIELD_AT(base, k->off) = items;
	*(size_t *)FIELD_AT(base, k->count_off) = cnt;
	for (i = 0; i < cnt; i++) {
		yaml_node_t *it = ld_seq_item(c, n, i);

		if (!visit(c))
			break;
		if (it->type != YAML_MAPPING_NODE) {
			ld_diag(c, it, "items of %s must be mappings", k->name);
			continue;
		}
		ld_walk_map(c, k->sub, it, items + i * k->elem_size);
	}
}

static void apply_default(struct load_ctx *c, const struct key *k, void *base)
{
	if (k->type == KT_MAP) {
		ld_walk_map(c, k->sub, NULL, FIELD_AT(base, k->off));
		return;
	}
	if (k->def && k->off != KEY_NO_FIELD)
		(void)parse_scalar(c, k, NULL, k->def, true, FIELD_AT(base, k->off));
}

static void walk_value(struct load_ctx *c, const struct key *k, yaml_node_t *n, void *base)
{
	void *field = k->off == KEY_NO_FIELD ? NULL : FIELD_AT(base, k->off);
	const char *v;
	char *tmp = NULL;
	bool ok = true;

	switch (k->type) {
	case KT_STR:
		if (!(v = want_scalar(c, k, n, "a string")))
			return;
		if (!field) /* checked only: parse into a temporary */
			field = &tmp;
		ok = parse_scalar(c, k, n, v, is_plain(n), field);
		break;
	case KT_INT:
	case KT_BOOL:
	case KT_DURATION:
	case KT_SIZE:
	case KT_ENUM:
		if (k->type == KT_ENUM && n->type != YAML_SCALAR_NODE) {
			struct buf b = BUF_INIT;

			enum_list(&b, k->names);
			ld_diag(c, n, "%s must be one of %s", k->name, buf_cstr(&b));
			buf_release(&b);
			return;
		}
		if (!(v = want_scalar(c, k, n,
				      k->type == KT_INT	   ? "an integer"
				      : k->type == KT_BOOL ? "true or false"
							   : "a string")))
			return;
		ok = parse_scalar(c, k, n, v, is_plain(n), field);
		break;
	case KT_MAP:
		if (n->type != YAML_MAPPING_NODE) {
			ld_diag(c, n, "%s must be a mapping", k->name);
			ld_walk_map(c, k->sub, NULL, field);
			return;
		}
		ld_walk_map(c, k->sub, n, field);
		break;
	case KT_STRLIST:
	case KT_MAPLIST:
		if (n->type != YAML_SEQUENCE_NODE) {
			ld_diag(c, n, "%s must be a list", k->name);
			return;
		}
		if (k->type == KT_STRLIST)
			walk_strlist(c, k, n, base);
		else
			walk_maplist(c, k, n, base);
		break;
	case KT_STRMAP:
		if (n->type != YAML_MAPPING_NODE) {
			ld_diag(c, n, "%s must be a mapping", k->name);
			return;
		}
		walk_strmap(c, k, n, base);
		break;
	case KT_CUSTOM: k->parse(c, k, n, base); return;
	}
	if (ok && k->check)
		k->check(c, k, n, base);
	free(tmp);
}

void ld_walk_map(struct load_ctx *c, const struct keytab *tab, yaml_node_t *map, void *base)
{
	const char *names[32];
	size_t i;

	for (i = 0; i < tab->n && i < ARRAY_SIZE(names); i++)
		names[i] = tab->keys[i].name;
	if (map) {
		yaml_node_pair_t *p, *q;

		for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = node_get(c, p->key);
			const char *ks = scalar(kn), *hint;

			if (!visit(c))
				return;
			if (!ks) {
				ld_diag(c, kn, "keys must be strings");
				continue;
			}
			for (q = map->data.mapping.pairs.start; q < p; q++) {
				const char *qs = scalar(node_get(c, q->key));
				if (qs && !strcmp(qs, ks))
					break;
			}
			if (q < p) {
				yaml_node_t *first = node_get(c, q->key);
				ld_diag(c, kn, "duplicate key '%s' (first at line %d)",
					key_shown(ks), (int)first->start_mark.line + 1);
				continue;
			}
			for (i = 0; i < tab->n; i++)
				if (!strcmp(tab->keys[i].name, ks))
					break;
			if (i < tab->n)
				continue;
			hint = ld_suggest(ks, names,
					  tab->n < ARRAY_SIZE(names) ? tab->n : ARRAY_SIZE(names));
			if (hint)
				ld_diag(c, kn, "unknown key '%s' (did you mean '%s'?)",
					key_shown(ks), hint);
			else
				ld_diag(c, kn, "unknown key '%s'", key_shown(ks));
		}
	}
	for (i = 0; i < tab->n; i++) {
		const struct key *k = &tab->keys[i];
		yaml_node_t *v = ld_map_value(c, map, k->name);

		if (c->too_big)
			return;
		if (v && ld_is_null(v) && k->type != KT_CUSTOM) {
			if (k->required)
				ld_diag(c, v, "%s must have a value", k->name);
			v = NULL;
		} else if (!v && map && k->required) {
			ld_diag(c, map, "missing required key '%s'", k->name);
		}
		if (v)
			walk_value(c, k, v, base);
		else
			apply_default(c, k, base);
	}
	if (tab->check)
		tab->check(c, map, base);
}

/* --- whole files --- */

static void free_strs(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void endpoint_release(struct endpoint *e)
{
	free(e->host);
	free(e->user);
	free(e->password.name);
	free(e->tls_ca);
	free(e->tls_server_key);
	free(e->rds.region);
	free(e->rds.instance_id);
	free(e->rds.account_id);
	free(e->rds.role_name);
	free(e->meta_database);
}

void spec_free(struct spec *s)
{
	size_t i, j;

	if (!s)
		return;
	free(s->file);
	free(s->name);
	for (i = 0; i < s->nlabels; i++) {
		free(s->labels[i].key);
		free(s->labels[i].value);
	}
	free(s->labels);
	endpoint_release(&s->source);
	endpoint_release(&s->destination);
	for (i = 0; i < s->nobjects; i++) {
		struct object_sel *o = &s->objects[i];

		free(o->database);
		free(o->rename_to);
		free_strs(o->exclude_tables, o->nexclude);
		for (j = 0; j < o->ntables; j++) {
			struct table_sel *t = &o->tables[j];
			size_t r;

			free(t->name);
			free(t->rename_to);
			free_strs(t->columns, t->ncolumns);
			for (r = 0; r < t->nrenames; r++) {
				free(t->renames[r].from);
				free(t->renames[r].to);
			}
			free(t->renames);
			free(t->where);
		}
		free(o->tables);
	}
	free(s->objects);
	free_strs(s->whitelist_cidrs, s->nwhitelist);
	free(s);
}

/* Length-prefixed, so no two different specs serialise alike. */
static int canon_str(struct buf *b, const char *tag, const char *v)
{
	if (!v)
		return buf_printf(b, "%s=-\n", tag);
	return buf_printf(b, "%s=%zu:%s\n", tag, strlen(v), v);
}

static int canon_endpoint(struct buf *b, const char *tag, const struct endpoint *e)
{
	if (buf_printf(b, "%s.rds=%d\n%s.port=%u\n", tag, e->is_rds, tag, e->port) < 0 ||
	    canon_str(b, "host", e->host) < 0 || canon_str(b, "region", e->rds.region) < 0 ||
	    canon_str(b, "instance", e->rds.instance_id) < 0 ||
	    canon_str(b, "account", e->rds.account_id) < 0 ||
	    canon_str(b, "meta", e->meta_database) < 0)
		return GW_ENOMEM;
	return 0;
}

static int canon_spec(struct buf *b, const struct spec *s)
{
	size_t i, j, r;

	if (canon_endpoint(b, "source", &s->source) < 0 ||
	    canon_endpoint(b, "destination", &s->destination) < 0 ||
	    buf_printf(b, "types=%u\nobjects=%zu\n", s->migration_types, s->nobjects) < 0)
		return GW_ENOMEM;
	for (i = 0; i < s->nobjects; i++) {
		const struct object_sel *o = &s->objects[i];

		if (canon_str(b, "database", o->database) < 0 ||
		    canon_str(b, "renameTo", o->rename_to) < 0 ||
		    buf_printf(b, "exclude=%zu\n", o->nexclude) < 0)
			return GW_ENOMEM;
		for (j = 0; j < o->nexclude; j++)
			if (canon_str(b, "x", o->exclude_tables[j]) < 0)
				return GW_ENOMEM;
		if (buf_printf(b, "tables=%zu\n", o->ntables) < 0)
			return GW_ENOMEM;
		for (j = 0; j < o->ntables; j++) {
			const struct table_sel *t = &o->tables[j];

			if (canon_str(b, "table", t->name) < 0 ||
			    canon_str(b, "renameTo", t->rename_to) < 0 ||
			    canon_str(b, "where", t->where) < 0 ||
			    buf_printf(b, "columns=%zu\n", t->ncolumns) < 0)
				return GW_ENOMEM;
			for (r = 0; r < t->ncolumns; r++)
				if (canon_str(b, "c", t->columns[r]) < 0)
					return GW_ENOMEM;
			if (buf_printf(b, "renames=%zu\n", t->nrenames) < 0)
				return GW_ENOMEM;
			for (r = 0; r < t->nrenames; r++)
				if (canon_str(b, "from", t->renames[r].from) < 0 ||
				    canon_str(b, "to", t->renames[r].to) < 0)
					return GW_ENOMEM;
		}
	}
	return 0;
}

static void yaml_problem(struct load_ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_READER_ERROR) {
		diag_at(c, 1, 1, "invalid YAML: %s at byte %zu", problem, p->problem_offset);
		return;
	}
	if (p->context)
		diag_at(c, (int)m.line + 1, (int)m.column + 1, "invalid YAML: %s %s at line %d",
			problem, p->context, (int)p->context_mark.line + 1);
	else
		diag_at(c, (int)m.line + 1, (int)m.column + 1, "invalid YAML: %s", problem);
}

int spec_load_buffer(struct spec **out, const char *path, const char *data, size_t len,
		     struct diag_list *diags)
{
	struct load_ctx c;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	struct spec *s = NULL;
	struct buf canon = BUF_INIT;
	size_t before = diags->n;
	bool have_doc = false, parser_ok = false;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.file = path;
	c.data = data;
	c.len = len;
	c.diags = diags;
	c.doc = &doc;
	if (!(s = calloc(1, sizeof(*s))) || !(s->file = strdup(path))) {
		c.oom = true;
		goto out;
	}
	c.s = s;
	if (!yaml_parser_initialize(&parser)) {
		c.oom = true;
		goto out;
	}
	parser_ok = true;
	if (too_big(&c, data, len))
		goto out;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_problem(&c, &parser);
		goto out;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		diag_at(&c, 1, 1, "empty spec: expected apiVersion, kind, metadata and spec");
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_problem(&c, &parser);
	} else {
		yaml_node_t *r2 = yaml_document_get_root_node(&extra);

		if (r2)
			diag_at(&c, (int)extra.start_mark.line + 1,
				(int)extra.start_mark.column + 1,
				"one spec per file: a second YAML document starts here");
		yaml_document_delete(&extra);
	}
	if (root->type != YAML_MAPPING_NODE) {
		ld_diag(&c, root,
			"a spec must be a mapping with apiVersion, kind, metadata and spec");
		goto out;
	}
	ld_walk_map(&c, &spec_root_keys, root, s);
	util_sha256_hex(s->hash, data, len);
	if (!c.oom && diags->n == before) {
		if (canon_spec(&canon, s) < 0)
			c.oom = true;
		else
			util_sha256_hex(s->immutable_hash, canon.ptr, canon.len);
	}
out:
	if (c.oom)
		diag_at(&c, 1, 1, "out of memory while loading the spec");
	if (have_doc)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	buf_release(&canon);
	if (c.oom || diags->n != before) {
		spec_free(s);
		return GW_EFATAL;
	}
	*out = s;
	return 0;
}

int spec_load_file(struct spec **out, const char *path, struct diag_list *diags)
{
	struct buf data = BUF_INIT;
	struct load_ctx c;
	int r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.file = path;
	c.diags = diags;
	buf_init(&data, SPEC_MAX_FILE);
	r = util_read_file(&data, path);
	if (r == -ENOMEM) {
		diag_at(&c, 1, 1, "file is larger than %u MiB", SPEC_MAX_FILE >> 20);
		buf_release(&data);
		return GW_EFATAL;
	}
	if (r < 0) {
		diag_at(&c, 1, 1, "cannot read: %s", strerror(-r));
		buf_release(&data);
		return GW_EFATAL;
	}
	r = spec_load_buffer(out, path, data.ptr ? data.ptr : "", data.len, diags);
	buf_release(&data);
	return r;
}
