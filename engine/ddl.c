/*
 * DDL text on tokens (engine/ddl.h). Every function lexes with
 * lib/sqllex and copies the bytes of the tokens it keeps; what it writes
 * itself is a keyword or a name quoted by sqllex_quote_ident.
 */
#include "lib/common.h"
#include "engine/ddl.h"
#include "lib/sqllex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

unsigned ddl_mode_flags(const char *sql_mode)
{
	unsigned flags = SQLLEX_DEFAULT;
	const char *p = sql_mode ? sql_mode : "";

	while (*p) {
		size_t n = strcspn(p, ",");
		if ((n == 11 && !strncasecmp(p, "ANSI_QUOTES", n)) ||
		    (n == 4 && !strncasecmp(p, "ANSI", n)))
			flags |= SQLLEX_ANSI_QUOTES;
		else if (n == 20 && !strncasecmp(p, "NO_BACKSLASH_ESCAPES", n))
			flags |= SQLLEX_NO_BACKSLASH_ESCAPES;
		p += n;
		if (*p == ',')
			p++;
	}
	return flags;
}

/* The name t stands for, into out[DDL_NAME_MAX + 1]; false when t is no
 * name, or one empty, too long or holding a NUL byte. */
static bool tok_name(char *out, const struct sqltok *t)
{
	struct buf b = BUF_INIT;
	bool ok = sqltok_is_name(t) && sqltok_name(&b, t) == 0 && b.len && b.len <= DDL_NAME_MAX &&
		  !memchr(buf_cstr(&b), '\0', b.len);

	if (ok)
		memcpy(out, buf_cstr(&b), b.len + 1);
	buf_release(&b);
	return ok;
}

/* Appends name quoted in place of a token: after a quoted name that ends
 * the output, a blank keeps the two apart (`a``b` would be one name). */
static int quote_name(struct buf *out, const char *name)
{
	if (out->len && out->ptr[out->len - 1] == '`' && buf_putc(out, ' ') < 0)
		return GW_ENOMEM;
	return sqllex_quote_ident(out, name);
}

/* The code token after the one lx stands before, without moving lx. */
static enum sqltok_kind peek(const struct sqllex *lx, struct sqltok *out)
{
	struct sqllex ahead = *lx;

	return sqllex_code(&ahead, out);
}

/* --- statements of the binlog ---------------------------------------- */

/* Takes the next code token when it is word w. */
static bool take(struct sqllex *lx, struct sqltok *t, const char *w)
{
	if (peek(lx, t) != SQLT_WORD || !sqltok_is(t, w))
		return false;
	(void)sqllex_code(lx, t);
	return true;
}

static void take_if_exists(struct sqllex *lx, struct sqltok *t)
{
	struct sqllex at = *lx;

	if (take(lx, t, "IF") && (take(lx, t, "NOT"), true) && take(lx, t, "EXISTS"))
		return;
	*lx = at;
}

/* [db.]name into db ("" when unqualified) and name; *start and *end its
 * bytes. */
static bool read_qualified(struct sqllex *lx, char *db, char *name, size_t *start, size_t *end)
{
	struct sqltok t, dot;

	db[0] = '\0';
	if (!tok_name(name, (sqllex_code(lx, &t), &t)))
		return false;
	*start = t.off;
	*end = t.off + t.len;
	if (peek(lx, &dot) == SQLT_PUNCT && sqltok_sym(&dot, ".")) {
		(void)sqllex_code(lx, &dot);
		memcpy(db, name, strlen(name) + 1);
		if (!tok_name(name, (sqllex_code(lx, &t), &t)))
			return false;
		*end = t.off + t.len;
	}
	return true;
}

/* After the name of ALTER TABLE: a RENAME [TO|AS] of the table itself
 * (not RENAME COLUMN, INDEX or KEY), at the statement's top level. */
static void alter_rename(struct ddl_stmt *out, struct sqllex *lx)
{
	struct sqltok t;
	int depth = 0;
	size_t s, e;

	while (sqllex_code(lx, &t) != SQLT_END) {
		if (sqltok_sym(&t, "("))
			depth++;
		else if (sqltok_sym(&t, ")"))
			depth--;
		if (depth || !sqltok_is(&t, "RENAME"))
			continue;
		if (take(lx, &t, "COLUMN") || take(lx, &t, "INDEX") || take(lx, &t, "KEY") ||
		    take(lx, &t, "CONSTRAINT"))
			continue;
		out->renames_table = true;
		if (!take(lx, &t, "TO"))
			(void)take(lx, &t, "AS");
		out->has_new_name = read_qualified(lx, out->new_db, out->new_table, &s, &e);
		return;
	}
}

/* --- transaction statements --------------------------------------------- */

/* One part of an XID (a string or hex literal) as ",X'hex'" (lowercase);
 * GW_EFATAL for another token or more than 64 bytes. */
static int xid_part(struct buf *out, const struct sqltok *t, unsigned flags, bool first)
{
	static const char hex[] = "0123456789abcdef";
	struct buf v = BUF_INIT;
	size_t i, n = 0;
	int r = 0;

	if (buf_puts(out, first ? "X'" : ",X'") < 0)
		return GW_ENOMEM;
	if (t->kind == SQLT_STRING) {
		if ((r = sqltok_string(&v, t, flags)) < 0)
			goto out;
		for (i = 0; i < v.len && r == 0; i++)
			if (buf_putc(out, hex[(unsigned char)v.ptr[i] >> 4]) < 0 ||
			    buf_putc(out, hex[(unsigned char)v.ptr[i] & 15]) < 0)
				r = GW_ENOMEM;
		n = v.len;
	} else if (t->kind == SQLT_HEX) {
		/* X'0A' or 0x0a */
		const char *p = t->p + 2, *end = t->p + t->len - (t->p[0] == '0' ? 0 : 1);

		for (; p < end && r == 0; p++, n++)
			if (buf_putc(out, (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p)) < 0)
				r = GW_ENOMEM;
		if (n % 2)
			r = GW_EFATAL;
		n /= 2;
	} else {
		r = GW_EFATAL;
	}
	if (r == 0 && (n > 64 || buf_putc(out, '\'') < 0))
		r = n > 64 ? GW_EFATAL : GW_ENOMEM;
out:
	buf_release(&v);
	return r;
}

int ddl_xa(enum ddl_xa *verb_out, struct buf *xid_out, const char *sql, size_t len, unsigned flags)
{
	struct sqllex lx;
	struct sqltok t;
	unsigned long fmt = 1;
	bool want_xid = true;
	int r;

	*verb_out = DDL_XA_NONE;
	buf_reset(xid_out);
	sqllex_init(&lx, sql, len, flags);
	sqllex_code(&lx, &t);
	if (!sqltok_is(&t, "XA"))
		return 0;
	sqllex_code(&lx, &t);
	if (sqltok_is(&t, "START") || sqltok_is(&t, "BEGIN"))
		*verb_out = DDL_XA_START;
	else if (sqltok_is(&t, "COMMIT"))
		*verb_out = DDL_XA_COMMIT;
	else if (sqltok_is(&t, "ROLLBACK"))
		*verb_out = DDL_XA_ROLLBACK;
	else {
		*verb_out = sqltok_is(&t, "END")       ? DDL_XA_END
			    : sqltok_is(&t, "PREPARE") ? DDL_XA_PREPARE
						       : DDL_XA_OTHER;
		want_xid = false;
	}
	if (!want_xid)
		return 0;
	sqllex_code(&lx, &t);
	if ((r = xid_part(xid_out, &t, flags, true)) < 0)
		return r;
	sqllex_code(&lx, &t);
	if (sqltok_sym(&t, ",")) {
		sqllex_code(&lx, &t);
		if ((r = xid_part(xid_out, &t, flags, false)) < 0)
			return r;
		sqllex_code(&lx, &t);
		if (sqltok_sym(&t, ",")) {
			char num[24];

			sqllex_code(&lx, &t);
			if (t.kind != SQLT_NUMBER || t.len >= sizeof(num) ||
			    memchr(t.p, '.', t.len) || memchr(t.p, 'e', t.len) ||
			    memchr(t.p, 'E', t.len))
				return GW_EFATAL;
			memcpy(num, t.p, t.len);
			num[t.len] = 0;
			fmt = strtoul(num, NULL, 10);
		}
	} else if (buf_puts(xid_out, ",X''") < 0) {
		return GW_ENOMEM;
	}
	return buf_printf(xid_out, ",%lu", fmt) < 0 ? GW_ENOMEM : 0;
}

bool ddl_ends_group(const char *sql, size_t len, unsigned flags)
{
	struct sqllex lx;
	struct sqltok a, b;

	sqllex_init(&lx, sql, len, flags);
	sqllex_code(&lx, &a);
	sqllex_code(&lx, &b);
	if (sqltok_is(&a, "BEGIN") || sqltok_is(&a, "SAVEPOINT"))
		return false;
	if (sqltok_is(&a, "XA"))
		return !(sqltok_is(&b, "START") || sqltok_is(&b, "BEGIN") || sqltok_is(&b, "END"));
	if ((sqltok_is(&a, "ROLLBACK") && sqltok_is(&b, "TO")) ||
	    (sqltok_is(&a, "RELEASE") && sqltok_is(&b, "SAVEPOINT")))
		return false;
	return !(sqltok_is(&a, "START") && sqltok_is(&b, "TRANSACTION"));
}

bool ddl_parse(struct ddl_stmt *out, const char *sql, size_t len, unsigned flags)
{
	static const char *const verbs[] = {"CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"};
	static const char *const others[] = {"TRIGGER", "PROCEDURE",  "FUNCTION", "EVENT",
					     "USER",	"ROLE",	      "SEQUENCE", "SERVER",
					     "PACKAGE", "TABLESPACE", "LOGFILE",  "SPATIAL_REF"};
	struct sqllex lx;
	struct sqltok t;
	size_t i;

	memset(out, 0, sizeof(*out));
	sqllex_init(&lx, sql, len, flags);
	if (sqllex_code(&lx, &t) != SQLT_WORD)
		return false;
	for (i = 0; i < ARRAY_SIZE(verbs) && !sqltok_is(&t, verbs[i]); i++)
		;
	if (i == ARRAY_SIZE(verbs))
		return false;
	out->verb = (enum ddl_verb)(DDL_CREATE + i);
	if (take(&lx, &t, "OR"))
		(void)take(&lx, &t, "REPLACE");
	(void)take(&lx, &t, "TEMPORARY");
	(void)take(&lx, &t, "ONLINE");
	(void)take(&lx, &t, "IGNORE");
	if (take(&lx, &t, "DATABASE") || take(&lx, &t, "SCHEMA")) {
		take_if_exists(&lx, &t);
		out->on_database = true;
		if (!tok_name(out->db, (sqllex_code(&lx, &t), &t)))
			return false;
		out->name_start = t.off;
		out->name_end = t.off + t.len;
		return true;
	}
	if (out->verb == DDL_TRUNCATE) {
		(void)take(&lx, &t, "TABLE");
	} else {
		/* ALGORITHM=..., DEFINER=..., SQL SECURITY ... before VIEW */
		for (;;) {
			if (sqllex_code(&lx, &t) == SQLT_END)
				return false;
			if (sqltok_is(&t, "TABLE") || sqltok_is(&t, "VIEW"))
				break;
			if (sqltok_is(&t, "INDEX")) {
				/* INDEX [IF NOT EXISTS] name ON table */
				char idx[DDL_NAME_MAX + 1];
				take_if_exists(&lx, &t);
				if (!tok_name(idx, (sqllex_code(&lx, &t), &t)) ||
				    !take(&lx, &t, "ON"))
					return false;
				break;
			}
			for (i = 0; i < ARRAY_SIZE(others) && !sqltok_is(&t, others[i]); i++)
				;
			if (i < ARRAY_SIZE(others))
				return false;
		}
	}
	take_if_exists(&lx, &t);
	if (!read_qualified(&lx, out->db, out->table, &out->name_start, &out->name_end))
		return false;
	if (out->verb == DDL_RENAME) {
		out->renames_table = true;
		out->has_new_name =
		    take(&lx, &t, "TO") && read_qualified(&lx, out->new_db, out->new_table, &i, &i);
	} else if (out->verb == DDL_ALTER) {
		alter_rename(out, &lx);
	}
	return true;
}

/* Whether name token t (lexer lx just past it) is the database of a
 * qualified name: followed by '.' and a name or '*'. */
static bool qualifier(const struct sqllex *lx)
{
	struct sqllex ahead = *lx;
	struct sqltok dot, next;

	return sqllex_code(&ahead, &dot) == SQLT_PUNCT && sqltok_sym(&dot, ".") &&
	       (sqltok_is_name((sqllex_code(&ahead, &next), &next)) || sqltok_sym(&next, "*"));
}

int ddl_map_databases(struct buf *out, const char *sql, size_t len, unsigned flags,
		      const struct spec *s)
{
	struct sqllex lx;
	struct sqltok t;
	bool after_dot = false;

	sqllex_init(&lx, sql, len, flags);
	while (sqllex_next(&lx, &t) != SQLT_END) {
		char name[DDL_NAME_MAX + 1];
		const struct object_sel *o;
		bool dot = sqltok_sym(&t, ".");
		if (sqltok_is_name(&t) && !after_dot && qualifier(&lx) && tok_name(name, &t) &&
		    (o = spec_find_database(s, name)) && o->rename_to) {
			if (quote_name(out, o->rename_to) < 0)
				return GW_ENOMEM;
		} else if (buf_add(out, t.p, t.len) < 0) {
			return GW_ENOMEM;
		}
		if (t.kind != SQLT_SPACE && t.kind != SQLT_COMMENT && t.kind != SQLT_VOPEN &&
		    t.kind != SQLT_VCLOSE)
			after_dot = dot;
	}
	return 0;
}

static bool name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/* Whether text has word w (in any case) not inside a longer name. */
static bool has_word(const struct buf *text, const char *w)
{
	size_t n = strlen(w), i;

	for (i = 0; n && i + n <= text->len; i++)
		if (!strncasecmp(text->ptr + i, w, n) &&
		    (i == 0 || !name_byte((unsigned char)text->ptr[i - 1])) &&
		    (i + n == text->len || !name_byte((unsigned char)text->ptr[i + n])))
			return true;
	return false;
}

const char *ddl_db_in_strings(const char *sql, size_t len, unsigned flags, const struct spec *s)
{
	struct buf v = BUF_INIT;
	struct sqllex lx;
	struct sqltok t;
	const char *hit = NULL;
	size_t i;

	sqllex_init(&lx, sql, len, flags);
	while (!hit && sqllex_next(&lx, &t) != SQLT_END) {
		bool nomem;
		if (t.kind != SQLT_STRING)
			continue;
		buf_reset(&v);
		nomem = sqltok_string(&v, &t, flags) < 0;
		/* (short of memory, the first renamed database is named) */
		for (i = 0; i < s->nobjects && !hit; i++)
			if (s->objects[i].rename_to &&
			    (nomem || has_word(&v, s->objects[i].database)))
				hit = s->objects[i].database;
	}
	buf_release(&v);
	return hit;
}

/* --- CREATE TABLE ------------------------------------------------------ */

void ddl_defs_release(struct ddl_defs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static bool is_code(enum sqltok_kind k)
{
	return k != SQLT_SPACE && k != SQLT_COMMENT && k != SQLT_VOPEN && k != SQLT_VCLOSE;
}

/* Kind and name of the definition text[off, off + len). */
static int def_classify(struct ddl_def *d, const char *text, struct gw_err *err)
{
	static const struct {
		const char *word;
		enum ddl_def_kind kind;
	} starts[] = {{"PRIMARY", DDL_DEF_PRIMARY},   {"UNIQUE", DDL_DEF_UNIQUE},
		      {"KEY", DDL_DEF_INDEX},	      {"INDEX", DDL_DEF_INDEX},
		      {"FULLTEXT", DDL_DEF_FULLTEXT}, {"SPATIAL", DDL_DEF_SPATIAL},
		      {"FOREIGN", DDL_DEF_FOREIGN},   {"CHECK", DDL_DEF_CHECK},
		      {"PERIOD", DDL_DEF_OTHER},      {"VECTOR", DDL_DEF_OTHER}};
	struct sqllex lx;
	struct sqltok t;
	struct buf name = BUF_INIT;
	bool constraint = false;
	size_t i;
	int r = 0;

	sqllex_init(&lx, text + d->off, d->len, 0);
	if (sqllex_code(&lx, &t) == SQLT_QIDENT) {
		d->kind = DDL_DEF_COLUMN;
		r = sqltok_name(&name, &t);
		goto out;
	}
	if (sqltok_is(&t, "CONSTRAINT")) {
		constraint = true;
		if (sqltok_is_name((sqllex_code(&lx, &t), &t)) && !sqltok_is(&t, "FOREIGN") &&
		    !sqltok_is(&t, "CHECK") && !sqltok_is(&t, "PRIMARY") &&
		    !sqltok_is(&t, "UNIQUE")) {
			if ((r = sqltok_name(&name, &t)) < 0)
				goto out;
			(void)sqllex_code(&lx, &t);
		}
	}
	for (i = 0; i < ARRAY_SIZE(starts) && !sqltok_is(&t, starts[i].word); i++)
		;
	if (i == ARRAY_SIZE(starts)) {
		d->kind = constraint ? DDL_DEF_OTHER : DDL_DEF_COLUMN;
		if (!constraint)
			r = sqltok_name(&name, &t); /* an unquoted column name */
		goto out;
	}
	d->kind = starts[i].kind;
	if (constraint || d->kind == DDL_DEF_PRIMARY || d->kind == DDL_DEF_CHECK ||
	    d->kind == DDL_DEF_OTHER)
		goto out;
	/* KEY [name] (...): the name before the first parenthesis */
	while (sqllex_code(&lx, &t) != SQLT_END && !sqltok_sym(&t, "(")) {
		if (t.kind == SQLT_QIDENT ||
		    (t.kind == SQLT_WORD && !sqltok_is(&t, "KEY") && !sqltok_is(&t, "INDEX"))) {
			r = sqltok_name(&name, &t);
			break;
		}
	}
out:
	if (r == GW_EFATAL)
		r = err_set(err, GW_EFATAL, "a definition does not start with a name or keyword");
	else if (r < 0)
		r = err_set(err, GW_ENOMEM, "out of memory");
	else if (name.len && memchr(name.ptr, '\0', name.len))
		r = err_set(err, GW_EFATAL, "a name holds a NUL byte");
	else if (name.len && !(d->name = buf_detach(&name, NULL)))
		r = err_set(err, GW_ENOMEM, "out of memory");
	buf_release(&name);
	return r;
}

static int defs_add(struct ddl_defs *out, const char *text, size_t off, size_t end,
		    struct gw_err *err)
{
	struct ddl_def *v;

	if (end <= off)
		return err_set(err, GW_EFATAL, "an empty definition at byte %zu", off);
	if (!(v = realloc(out->v, (out->n + 1) * sizeof(*v))))
		return err_set(err, GW_ENOMEM, "out of memory");
	out->v = v;
	v = &v[out->n++];
	memset(v, 0, sizeof(*v));
	v->off = off;
	v->len = end - off;
	return def_classify(v, text, err);
}

/*
 * Splits lx's tokens into definitions at top-level commas (and, with
 * lines, line breaks) until the ')' that closes depth 1 (or the end, when
 * closing is false). *end_out: the offset after that ')'.
 */
static int split_defs(struct ddl_defs *out, size_t *end_out, struct sqllex *lx, bool closing,
		      bool lines, struct gw_err *err)
{
	struct sqltok t;
	size_t start = SIZE_MAX, last = 0;
	int depth = 0, vdepth = 0, r;

	for (;;) {
		enum sqltok_kind k = sqllex_next(lx, &t);
		bool sep = depth == 0 && (sqltok_sym(&t, ",") ||
					  (lines && k == SQLT_SPACE && memchr(t.p, '\n', t.len)));
		bool close = closing && depth == 0 && sqltok_sym(&t, ")");
		if (k == SQLT_ERROR)
			return err_set(err, GW_EFATAL,
				       "an unterminated string, name or comment at byte %zu",
				       t.off);
		if (sqltok_sym(&t, ";"))
			return err_set(err, GW_EFATAL, "a ';' at byte %zu", t.off);
		if (k == SQLT_END && closing)
			return err_set(err, GW_EFATAL, "the definitions are not closed");
		if (k == SQLT_END || sep || close) {
			if (vdepth)
				return err_set(err, GW_EFATAL,
					       "a versioned comment across definitions at byte %zu",
					       t.off);
			if (start != SIZE_MAX && (r = defs_add(out, lx->s, start, last, err)) < 0)
				return r;
			if (start == SIZE_MAX && sqltok_sym(&t, ","))
				return err_set(err, GW_EFATAL, "an empty definition at byte %zu",
					       t.off);
			start = SIZE_MAX;
			if (k == SQLT_END || close) {
				*end_out = t.off + t.len;
				return 0;
			}
			continue;
		}
		if (k == SQLT_SPACE)
			continue;
		if (sqltok_sym(&t, "("))
			depth++;
		else if (sqltok_sym(&t, ")") && --depth < 0)
			return err_set(err, GW_EFATAL, "an unbalanced ')' at byte %zu", t.off);
		else if (k == SQLT_VOPEN)
			vdepth++;
		else if (k == SQLT_VCLOSE)
			vdepth--;
		if (start == SIZE_MAX)
			start = t.off;
		last = t.off + t.len;
	}
}

int ddl_table_defs(struct ddl_defs *out, const char *sql, size_t len, struct gw_err *err)
{
	struct sqllex lx;
	struct sqltok t;
	char db[DDL_NAME_MAX + 1], table[DDL_NAME_MAX + 1];
	size_t a, b;
	int r;

	memset(out, 0, sizeof(*out));
	sqllex_init(&lx, sql, len, 0);
	if (!sqltok_is((sqllex_code(&lx, &t), &t), "CREATE"))
		return err_set(err, GW_EFATAL, "not a CREATE TABLE statement");
	(void)take(&lx, &t, "TEMPORARY");
	if (!take(&lx, &t, "TABLE"))
		return err_set(err, GW_EFATAL, "not a CREATE TABLE statement");
	take_if_exists(&lx, &t);
	if (!read_qualified(&lx, db, table, &a, &b) || !sqltok_sym((sqllex_code(&lx, &t), &t), "("))
		return err_set(err, GW_EFATAL, "no table name and '(' after CREATE TABLE");
	if ((r = split_defs(out, &out->tail, &lx, true, false, err)) < 0)
		ddl_defs_release(out);
	return r;
}

int ddl_defs_split(struct ddl_defs *out, const char *text, size_t len, struct gw_err *err)
{
	struct sqllex lx;
	size_t end;
	int r;

	memset(out, 0, sizeof(*out));
	sqllex_init(&lx, text, len, 0);
	if ((r = split_defs(out, &end, &lx, false, true, err)) < 0)
		ddl_defs_release(out);
	out->tail = len;
	return r;
}

void ddl_create_release(struct ddl_create *c)
{
	size_t i;

	buf_release(&c->sql);
	for (i = 0; i < c->nfks; i++) {
		free(c->fks[i].name);
		free(c->fks[i].sql);
	}
	for (i = 0; i < c->nskips; i++) {
		free(c->skips[i].column);
		free(c->skips[i].def);
	}
	free(c->fks);
	free(c->skips);
	memset(c, 0, sizeof(*c));
}

/* What rewriting one definition needs. */
struct rewrite {
	const struct spec *s;
	const char *db;
	const struct table_sel *tsel;
	char bad[DDL_NAME_MAX + 1]; /* the first unselected column used */
};

/* Appends column reference t (a name) under its destination name, noting
 * it in rw->bad when it is not selected (tsel: the table it belongs to;
 * check: whether selection matters). */
static int column_ref(struct buf *out, struct rewrite *rw, const struct sqltok *t,
		      const struct table_sel *tsel, bool check)
{
	char name[DDL_NAME_MAX + 1];

	if (!tok_name(name, t))
		return buf_add(out, t->p, t->len) < 0 ? GW_ENOMEM : 0;
	if (check && !rw->bad[0] && !spec_column_selected(tsel, name))
		memcpy(rw->bad, name, sizeof(name));
	return quote_name(out, spec_dest_column(tsel, name)) < 0 ? GW_ENOMEM : 0;
}

/* REFERENCES [db.]t: the referenced table under its destination name. */
static int fk_target(struct buf *out, struct rewrite *rw, const char *qdb, const char *qtable,
		     const struct table_sel **rtsel)
{
	const char *rdb = qdb[0] ? qdb : rw->db;
	const struct object_sel *o = spec_find_database(rw->s, rdb);

	*rtsel = NULL;
	(void)spec_table_selected(rw->s, rdb, qtable, rtsel);
	if (sqllex_quote_ident(out, o ? spec_dest_database(o) : rdb) < 0 ||
	    buf_putc(out, '.') < 0 || sqllex_quote_ident(out, spec_dest_table(*rtsel, qtable)) < 0)
		return GW_ENOMEM;
	return 0;
}

/* Appends qualifier t (the db of db.x) under the destination's name. */
static int db_ref(struct buf *out, const struct rewrite *rw, const struct sqltok *t)
{
	char name[DDL_NAME_MAX + 1];
	const struct object_sel *o;

	if (tok_name(name, t) && (o = spec_find_database(rw->s, name)))
		return quote_name(out, spec_dest_database(o)) < 0 ? GW_ENOMEM : 0;
	return buf_add(out, t->p, t->len) < 0 ? GW_ENOMEM : 0;
}

/*
 * Appends definition d of text with destination names: for a column its
 * name and every name after it (generated expressions, defaults, CHECKs);
 * for a key its name and the names in its column list; for a foreign key
 * its columns, the referenced table and its columns; for the rest the
 * names inside parentheses. A qualified name (a sequence in a default)
 * gets its database mapped. rw->bad gets the first unselected column used.
 */
static int rewrite_def(struct buf *out, struct rewrite *rw, const struct ddl_def *d,
		       const char *text)
{
	enum { LOCAL, REFNAME, REFCOLS, REST } fk = LOCAL;
	const struct table_sel *rtsel = NULL;
	char qdb[DDL_NAME_MAX + 1] = "", qtable[DDL_NAME_MAX + 1] = "";
	struct sqllex lx;
	struct sqltok t;
	bool first = true, after_dot = false, group_done = false;
	bool key = d->kind == DDL_DEF_PRIMARY || d->kind == DDL_DEF_UNIQUE ||
		   d->kind == DDL_DEF_INDEX || d->kind == DDL_DEF_FULLTEXT ||
		   d->kind == DDL_DEF_SPATIAL;
	int depth = 0, r = 0;

	rw->bad[0] = '\0';
	sqllex_init(&lx, text + d->off, d->len, 0);
	while (r == 0 && sqllex_next(&lx, &t) != SQLT_END) {
		bool code = is_code(t.kind);
		bool name = t.kind == SQLT_QIDENT ||
			    (first && d->kind == DDL_DEF_COLUMN && t.kind == SQLT_WORD);
		if (sqltok_sym(&t, "(")) {
			depth++;
		} else if (sqltok_sym(&t, ")") && --depth == 0) {
			group_done = true;
			if (fk == REFCOLS)
				fk = REST;
		}
		if (fk == REFNAME && code) {
			/* [db.]table up to its column list */
			if (sqltok_sym(&t, ".")) {
				memcpy(qdb, qtable, sizeof(qtable));
				continue;
			}
			if (!sqltok_sym(&t, "(")) {
				if (!tok_name(qtable, &t))
					return GW_EFATAL;
				continue;
			}
			if (buf_putc(out, ' ') < 0 || fk_target(out, rw, qdb, qtable, &rtsel) < 0 ||
			    buf_putc(out, ' ') < 0)
				return GW_ENOMEM;
			fk = REFCOLS;
		} else if (fk == REFNAME) {
			continue; /* blanks and comments inside the name */
		} else if (d->kind == DDL_DEF_FOREIGN && fk == LOCAL && depth == 0 &&
			   sqltok_is(&t, "REFERENCES")) {
			fk = REFNAME;
		}
		if (name && after_dot) {
			r = buf_add(out, t.p, t.len) < 0 ? GW_ENOMEM : 0;
		} else if (name && qualifier(&lx)) {
			r = db_ref(out, rw, &t);
		} else if (name && d->kind == DDL_DEF_COLUMN) {
			/* the column itself, then the columns it uses */
			r = column_ref(out, rw, &t, rw->tsel, !first);
		} else if (name && key && !group_done) {
			/* a key named like a renamed column is renamed with it */
			r = column_ref(out, rw, &t, rw->tsel, depth > 0);
		} else if (name && !key && depth > 0 && fk != REST) {
			r = fk == REFCOLS ? column_ref(out, rw, &t, rtsel, false)
					  : column_ref(out, rw, &t, rw->tsel, true);
		} else if (buf_add(out, t.p, t.len) < 0) {
			r = GW_ENOMEM;
		}
		if (code) {
			first = false;
			after_dot = sqltok_sym(&t, ".");
		}
	}
	if (r == 0 && (fk == REFNAME || depth))
		r = GW_EFATAL;
	return r;
}

/* The partitioning clause of tail: the names in the expression or column
 * list after each PARTITION BY / SUBPARTITION BY under their destination
 * names; a name that is not selected is an error. The rest as it is. */
static int rewrite_tail(struct buf *out, struct rewrite *rw, const char *tail, size_t len,
			struct gw_err *err)
{
	struct sqllex lx;
	struct sqltok t;
	bool by = false, partition = false;
	int depth = 0, group = -1;

	rw->bad[0] = '\0';
	sqllex_init(&lx, tail, len, 0);
	while (sqllex_next(&lx, &t) != SQLT_END) {
		if (t.kind == SQLT_ERROR || sqltok_sym(&t, ";") || sqltok_is(&t, "SELECT") ||
		    sqltok_is(&t, "LIKE"))
			return err_set(err, GW_EFATAL, "unexpected table options (%.*s)",
				       (int)(t.len < 40 ? t.len : 40), t.p);
		if (sqltok_sym(&t, "(")) {
			if (by && group < 0)
				group = depth;
			depth++;
		} else if (sqltok_sym(&t, ")")) {
			if (--depth < 0)
				return err_set(err, GW_EFATAL, "unexpected table options (a ')')");
			if (depth == group)
				group = -1, by = false;
		}
		if (is_code(t.kind) && !sqltok_sym(&t, "(") && !sqltok_sym(&t, ")")) {
			if (sqltok_is(&t, "PARTITION") || sqltok_is(&t, "SUBPARTITION"))
				partition = true;
			else if (partition && sqltok_is(&t, "BY"))
				by = true;
			partition = partition &&
				    (sqltok_is(&t, "PARTITION") || sqltok_is(&t, "SUBPARTITION"));
		}
		if (group >= 0 && t.kind == SQLT_QIDENT) {
			if (column_ref(out, rw, &t, rw->tsel, true) < 0)
				return err_set(err, GW_ENOMEM, "out of memory");
			if (rw->bad[0])
				return err_set(err, GW_EFATAL,
					       "it is partitioned by column %s, which is not "
					       "selected: add it to columns",
					       rw->bad);
		} else if (buf_add(out, t.p, t.len) < 0) {
			return err_set(err, GW_ENOMEM, "out of memory");
		}
	}
	if (depth)
		return err_set(err, GW_EFATAL, "unexpected table options (a '(' not closed)");
	return 0;
}

static char *span_dup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

int ddl_create_table(struct ddl_create *out, const char *show, size_t len, const struct spec *s,
		     const char *db, const char *table, const struct table_sel *tsel,
		     const char *dest_db, const char *dest_table, struct gw_err *err)
{
	struct ddl_defs defs = {NULL, 0, 0};
	struct rewrite rw = {s, db, tsel, ""};
	struct buf one = BUF_INIT;
	size_t i, kept = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ddl_table_defs(&defs, show, len, err)) < 0)
		goto fail;
	if (buf_puts(&out->sql, "CREATE TABLE IF NOT EXISTS ") < 0 ||
	    sqllex_quote_ident(&out->sql, dest_db) < 0 || buf_putc(&out->sql, '.') < 0 ||
	    sqllex_quote_ident(&out->sql, dest_table) < 0 || buf_puts(&out->sql, " (\n") < 0)
		goto nomem;
	for (i = 0; i < defs.n; i++) {
		const struct ddl_def *d = &defs.v[i];
		if (d->kind == DDL_DEF_COLUMN && d->name && !spec_column_selected(tsel, d->name))
			continue; /* left out, as the spec asks */
		buf_reset(&one);
		if ((r = rewrite_def(&one, &rw, d, show)) == GW_ENOMEM)
			goto nomem;
		if (r < 0) {
			r = err_set(err, GW_EFATAL, "a definition does not read as expected: %.*s",
				    (int)(d->len < 200 ? d->len : 200), show + d->off);
			goto fail;
		}
		if (rw.bad[0]) {
			struct ddl_skip *v = realloc(out->skips, (out->nskips + 1) * sizeof(*v));
			if (!v)
				goto nomem;
			out->skips = v;
			v = &v[out->nskips];
			v->column = strdup(rw.bad);
			v->def = span_dup(show + d->off, d->len);
			out->nskips++;
			if (!v->column || !v->def)
				goto nomem;
		} else if (d->kind == DDL_DEF_FOREIGN) {
			struct ddl_fk *v = realloc(out->fks, (out->nfks + 1) * sizeof(*v));
			if (!v)
				goto nomem;
			out->fks = v;
			v = &v[out->nfks];
			v->name = strdup(d->name ? d->name : "");
			v->sql = buf_detach(&one, NULL);
			out->nfks++;
			if (!v->name)
				goto nomem;
		} else {
			if ((kept++ && buf_puts(&out->sql, ",\n") < 0) ||
			    buf_puts(&out->sql, "  ") < 0 ||
			    buf_add(&out->sql, one.ptr, one.len) < 0)
				goto nomem;
		}
	}
	if (!kept) {
		r = err_set(err, GW_EFATAL, "no column is selected");
		goto fail;
	}
	if (buf_puts(&out->sql, "\n)") < 0)
		goto nomem;
	if ((r = rewrite_tail(&out->sql, &rw, show + defs.tail, len - defs.tail, err)) < 0)
		goto fail;
	ddl_defs_release(&defs);
	buf_release(&one);
	return 0;
nomem:
	r = err_set(err, GW_ENOMEM, "out of memory");
fail:
	err_prefix(err, "table %s.%s", db, table);
	ddl_defs_release(&defs);
	ddl_create_release(out);
	buf_release(&one);
	return r;
}

/* --- headers ------------------------------------------------------------ */

void ddl_definer_release(struct ddl_definer *d)
{
	buf_release(&d->user);
	buf_release(&d->host);
}

/* The name or string t stands for, appended to out. */
static int account_part(struct buf *out, const struct sqltok *t, unsigned flags)
{
	if (t->kind == SQLT_STRING)
		return sqltok_string(out, t, flags);
	return sqltok_name(out, t);
}

static bool header_end(const struct sqltok *t)
{
	static const char *const kinds[] = {"VIEW", "PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (sqltok_is(t, kinds[i]))
			return true;
	return t->kind == SQLT_END;
}

int ddl_find_definer(bool *found_out, struct ddl_definer *out, const char *sql, size_t len,
		     unsigned flags)
{
	struct sqllex lx;
	struct sqltok t, u;
	int r;

	*found_out = false;
	memset(out, 0, sizeof(*out));
	sqllex_init(&lx, sql, len, flags);
	while (!header_end((sqllex_code(&lx, &t), &t))) {
		if (!sqltok_is(&t, "DEFINER") || !sqltok_sym((sqllex_code(&lx, &u), &u), "="))
			continue;
		out->off = t.off;
		if (sqllex_code(&lx, &t) == SQLT_WORD && sqltok_is(&t, "CURRENT_USER"))
			return 0; /* nothing to look up */
		if ((r = account_part(&out->user, &t, flags)) == GW_ENOMEM)
			return r;
		if (r < 0)
			return 0;
		out->len = t.off + t.len - out->off;
		/* @host: '@' right after the user, then a name or string */
		if (sqllex_next(&lx, &u) != SQLT_PUNCT || !sqltok_sym(&u, "@"))
			return 0;
		if ((r = account_part(&out->host, (sqllex_next(&lx, &t), &t), flags)) < 0)
			return r == GW_ENOMEM ? r : 0;
		out->len = t.off + t.len - out->off;
		*found_out = true;
		return 0;
	}
	return 0;
}

bool ddl_header_word(size_t *off_out, size_t *len_out, const char *sql, size_t len, unsigned flags,
		     const char *phrase, const char *stop)
{
	struct sqllex lx;
	struct sqltok t;
	const char *want = phrase;

	sqllex_init(&lx, sql, len, flags);
	while (sqllex_code(&lx, &t) != SQLT_END && !sqltok_is(&t, stop)) {
		size_t n = strcspn(want, " ");
		if (t.kind == SQLT_WORD && t.len == n && !strncasecmp(t.p, want, n)) {
			want += n;
			if (!*want) {
				*off_out = t.off;
				*len_out = t.len;
				return true;
			}
			want++;
		} else {
			want = phrase;
			if (t.kind == SQLT_WORD && t.len == strcspn(want, " ") &&
			    !strncasecmp(t.p, want, t.len))
				want += t.len + (want[t.len] == ' ');
		}
	}
	return false;
}

int ddl_splice(struct buf *b, size_t off, size_t len, const char *text)
{
	struct buf out = BUF_INIT;

	if (off + len > b->len)
		return GW_EFATAL;
	if (buf_add(&out, b->ptr, off) < 0 || buf_puts(&out, text) < 0 ||
	    buf_add(&out, b->ptr + off + len, b->len - off - len) < 0) {
		buf_release(&out);
		return GW_ENOMEM;
	}
	buf_release(b);
	*b = out;
	return 0;
}

int ddl_create_database(struct buf *out, const char *sql, size_t len, const char *dest,
			struct gw_err *err)
{
	struct sqllex lx;
	struct sqltok t;
	size_t rest;

	sqllex_init(&lx, sql, len, 0);
	if (!sqltok_is((sqllex_code(&lx, &t), &t), "CREATE") ||
	    (!take(&lx, &t, "DATABASE") && !take(&lx, &t, "SCHEMA")) ||
	    (take_if_exists(&lx, &t), !sqltok_is_name((sqllex_code(&lx, &t), &t))))
		return err_set(err, GW_EFATAL, "not a CREATE DATABASE statement");
	rest = t.off + t.len;
	while (sqllex_next(&lx, &t) != SQLT_END)
		if (t.kind == SQLT_ERROR || sqltok_sym(&t, ";"))
			return err_set(err, GW_EFATAL, "unexpected database options");
	if (buf_puts(out, "CREATE DATABASE IF NOT EXISTS ") < 0 ||
	    sqllex_quote_ident(out, dest) < 0 || buf_add(out, sql + rest, len - rest) < 0)
		return err_set(err, GW_ENOMEM, "out of memory");
	return 0;
}
