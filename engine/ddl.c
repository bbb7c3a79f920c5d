/*
 * DDL text on tokens (engine/ddl.h). Every function lexes with
 * lib/sqllex and copies the bytes of the tokens it keeps; what it writes
 * itself is a keyword or a name quoted by sqllex_quote_ident.
 */
#include "lib/common.h"
#include "engine/ddl.h"
#include "binlog/binlog.h"
#include "lib/sqllex.h"

#include <stdarg.h>
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
 * bytes. Of name.* (DELETE t.* FROM ...) the name alone. */
static bool read_qualified(struct sqllex *lx, char *db, char *name, size_t *start, size_t *end)
{
	struct sqltok t, dot;

	db[0] = '\0';
	if (!tok_name(name, (sqllex_code(lx, &t), &t)))
		return false;
	*start = t.off;
	*end = t.off + t.len;
	if (peek(lx, &dot) == SQLT_PUNCT && sqltok_sym(&dot, ".")) {
		struct sqllex ahead = *lx;

		(void)sqllex_code(&ahead, &dot);
		if (sqllex_code(&ahead, &t) == SQLT_OPERATOR && sqltok_sym(&t, "*"))
			return true;
		(void)sqllex_code(lx, &dot);
		memcpy(db, name, strlen(name) + 1);
		if (!tok_name(name, (sqllex_code(lx, &t), &t)))
			return false;
		*end = t.off + t.len;
	}
	return true;
}

/* A new entry of out->tables; NULL when short of memory. */
static struct ddl_table *table_add(struct ddl_stmt *out)
{
	struct ddl_table *v = realloc(out->tables, (out->ntables + 1) * sizeof(*v));

	if (!v)
		return NULL;
	out->tables = v;
	v = &v[out->ntables++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* [db.]table at lx into a new entry of out->tables (*t_out): 1, 0 when
 * no name reads there (nothing added), GW_ENOMEM. */
static int read_table(struct ddl_table **t_out, struct ddl_stmt *out, struct sqllex *lx)
{
	struct ddl_table t, *v;

	memset(&t, 0, sizeof(t));
	if (!read_qualified(lx, t.db, t.table, &t.start, &t.end))
		return 0;
	if (!(v = table_add(out)))
		return GW_ENOMEM;
	*v = t;
	*t_out = v;
	return 1;
}

/* TO [db.]name after a table of RENAME TABLE. */
static bool read_new_name(struct ddl_table *t, struct sqllex *lx)
{
	struct sqltok tok;
	size_t start;

	t->has_new_name = take(lx, &tok, "TO") &&
			  read_qualified(lx, t->new_db, t->new_table, &start, &t->new_end);
	return t->has_new_name;
}

/* After the name of ALTER TABLE: a RENAME [TO|AS] of the table itself
 * (not RENAME COLUMN, INDEX or KEY), at the statement's top level. */
static void alter_rename(struct ddl_stmt *out, struct sqllex *lx)
{
	struct ddl_table *t = &out->tables[0];
	struct sqltok tok;
	int depth = 0;
	size_t start;

	while (sqllex_code(lx, &tok) != SQLT_END) {
		if (sqltok_sym(&tok, "("))
			depth++;
		else if (sqltok_sym(&tok, ")"))
			depth--;
		if (depth || !sqltok_is(&tok, "RENAME"))
			continue;
		if (take(lx, &tok, "COLUMN") || take(lx, &tok, "INDEX") || take(lx, &tok, "KEY") ||
		    take(lx, &tok, "CONSTRAINT"))
			continue;
		out->renames_table = true;
		if (!take(lx, &tok, "TO"))
			(void)take(lx, &tok, "AS");
		t->has_new_name = read_qualified(lx, t->new_db, t->new_table, &start, &t->new_end);
		out->unread = !t->has_new_name;
		return;
	}
}

static bool word_of(const struct sqltok *t, const char *const *words)
{
	size_t i;

	for (i = 0; words[i]; i++)
		if (sqltok_is(t, words[i]))
			return true;
	return false;
}

/* Past the ')' that closes a '(' just read. */
static void skip_group(struct sqllex *lx)
{
	struct sqltok t;
	int depth = 1;

	while (depth && sqllex_code(lx, &t) != SQLT_END)
		if (sqltok_sym(&t, "("))
			depth++;
		else if (sqltok_sym(&t, ")"))
			depth--;
}

/*
 * Table references (t1 JOIN t2 ON ..., (t3, t4), t5 AS x) up to a word of
 * stops at their own level, or the end: every table they name joins
 * out->tables. Expressions, derived tables and index hints in parentheses
 * are skipped whole, so a table a subquery only reads is not taken.
 */
static int table_refs(struct ddl_stmt *out, struct sqllex *lx, const char *const *stops)
{
	static const char *const derived[] = {"SELECT", "WITH", "VALUES", "TABLE", NULL};
	struct sqltok t, next;
	struct ddl_table *v;
	bool want = true, after_for = false;
	int depth = 0, r;

	for (;;) {
		struct sqllex at = *lx;
		bool was_for = after_for;

		if (sqllex_code(lx, &t) == SQLT_END)
			return 0;
		after_for = sqltok_is(&t, "FOR");
		if (!depth && word_of(&t, stops)) {
			*lx = at;
			return 0;
		}
		if (sqltok_sym(&t, "(")) {
			if (want && !(peek(lx, &next) == SQLT_WORD && word_of(&next, derived))) {
				depth++; /* a group of tables */
				continue;
			}
			skip_group(lx);
		} else if (sqltok_sym(&t, ")")) {
			depth -= depth > 0;
		} else if (sqltok_sym(&t, ",") ||
			   ((sqltok_is(&t, "JOIN") || sqltok_is(&t, "STRAIGHT_JOIN")) &&
			    !was_for)) {
			want = true; /* (FORCE INDEX FOR JOIN (i) is a hint) */
			continue;
		} else if (want && sqltok_is(&t, "LATERAL")) {
			continue;
		} else if (want && sqltok_is_name(&t)) {
			*lx = at;
			if ((r = read_table(&v, out, lx)) < 0)
				return r;
			if (r == 0)
				out->unread = true;
		}
		want = false;
	}
}

/* INSERT, REPLACE, UPDATE, DELETE, LOAD DATA (t: the first word, after a
 * WITH clause). */
static int parse_dml(struct ddl_stmt *out, struct sqllex *lx, struct sqltok *t)
{
	static const char *const update_stops[] = {"SET", NULL};
	static const char *const from_stops[] = {"USING", "WHERE",     "ORDER",
						 "LIMIT", "RETURNING", NULL};
	static const char *const using_stops[] = {"WHERE", "ORDER", "LIMIT", "RETURNING", NULL};
	static const char *const mods[] = {"LOW_PRIORITY", "DELAYED",	 "HIGH_PRIORITY", "QUICK",
					   "IGNORE",	   "CONCURRENT", "LOCAL",	  NULL};
	struct ddl_table *v;
	struct sqltok tok;
	int r = 0;

	if (sqltok_is(t, "INSERT") || sqltok_is(t, "REPLACE")) {
		out->verb = sqltok_is(t, "INSERT") ? DDL_INSERT : DDL_REPLACE;
		while (peek(lx, &tok) == SQLT_WORD && word_of(&tok, mods))
			(void)sqllex_code(lx, &tok);
		(void)take(lx, &tok, "INTO");
		r = read_table(&v, out, lx);
	} else if (sqltok_is(t, "LOAD")) {
		if (!take(lx, &tok, "DATA") && !take(lx, &tok, "XML"))
			return 0; /* LOAD INDEX INTO CACHE */
		out->verb = DDL_LOAD;
		while (sqllex_code(lx, &tok) != SQLT_END && !sqltok_is(&tok, "INTO"))
			;
		(void)take(lx, &tok, "TABLE");
		r = read_table(&v, out, lx);
	} else if (sqltok_is(t, "UPDATE")) {
		out->verb = DDL_UPDATE;
		while (peek(lx, &tok) == SQLT_WORD && word_of(&tok, mods))
			(void)sqllex_code(lx, &tok);
		return table_refs(out, lx, update_stops) < 0 ? GW_ENOMEM : 1;
	} else if (sqltok_is(t, "DELETE")) {
		out->verb = DDL_DELETE;
		while (peek(lx, &tok) == SQLT_WORD && word_of(&tok, mods))
			(void)sqllex_code(lx, &tok);
		if (!take(lx, &tok, "FROM")) {
			/* DELETE t1, t2 FROM refs: the targets are in the refs */
			while (sqllex_code(lx, &tok) != SQLT_END && !sqltok_is(&tok, "FROM"))
				;
			return table_refs(out, lx, using_stops) < 0 ? GW_ENOMEM : 1;
		}
		if (table_refs(out, lx, from_stops) < 0 ||
		    (take(lx, &tok, "USING") && table_refs(out, lx, using_stops) < 0))
			return GW_ENOMEM;
		return 1;
	} else {
		return 0;
	}
	if (r < 0)
		return GW_ENOMEM;
	out->unread = r == 0;
	return 1;
}

bool ddl_verb_dml(enum ddl_verb verb)
{
	return verb >= DDL_INSERT && verb <= DDL_LOAD;
}

const char *ddl_verb_name(enum ddl_verb verb)
{
	static const char *const names[] = {"",	      "CREATE",	  "ALTER",    "DROP",
					    "RENAME", "TRUNCATE", "INSERT",   "REPLACE",
					    "UPDATE", "DELETE",	  "LOAD DATA"};

	return (size_t)verb < ARRAY_SIZE(names) ? names[verb] : "";
}

void ddl_stmt_release(struct ddl_stmt *d)
{
	free(d->tables);
	d->tables = NULL;
	d->ntables = 0;
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

int ddl_parse(struct ddl_stmt *out, const char *sql, size_t len, unsigned flags)
{
	static const char *const verbs[] = {"CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"};
	static const char *const others[] = {"TRIGGER", "PROCEDURE",  "FUNCTION", "EVENT",
					     "USER",	"ROLE",	      "SEQUENCE", "SERVER",
					     "PACKAGE", "TABLESPACE", "LOGFILE",  "SPATIAL_REF"};
	static const char *const dml[] = {"INSERT", "REPLACE", "UPDATE", "DELETE", "LOAD", NULL};
	struct ddl_table *v;
	struct sqllex lx;
	struct sqltok t;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	sqllex_init(&lx, sql, len, flags);
	if (sqllex_code(&lx, &t) != SQLT_WORD)
		return 0;
	if (sqltok_is(&t, "SET") && take(&lx, &t, "STATEMENT")) {
		/* MariaDB's SET STATEMENT var = value, ... FOR statement */
		while (sqllex_code(&lx, &t) != SQLT_END && !sqltok_is(&t, "FOR"))
			if (sqltok_sym(&t, "("))
				skip_group(&lx);
		if (sqllex_code(&lx, &t) != SQLT_WORD)
			return 0;
	}
	if (sqltok_is(&t, "WITH")) {
		/* WITH cte AS (...), ... UPDATE/DELETE: the statement after it */
		while (sqllex_code(&lx, &t) != SQLT_END && !word_of(&t, dml) &&
		       !sqltok_is(&t, "SELECT") && !sqltok_is(&t, "TABLE"))
			if (sqltok_sym(&t, "("))
				skip_group(&lx);
	}
	if (word_of(&t, dml)) {
		if ((r = parse_dml(out, &lx, &t)) <= 0)
			ddl_stmt_release(out);
		return r;
	}
	for (i = 0; i < ARRAY_SIZE(verbs) && !sqltok_is(&t, verbs[i]); i++)
		;
	if (i == ARRAY_SIZE(verbs))
		return 0;
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
			return 0;
		out->name_start = t.off;
		out->name_end = t.off + t.len;
		return 1;
	}
	if (out->verb == DDL_TRUNCATE) {
		(void)take(&lx, &t, "TABLE");
	} else {
		/* ALGORITHM=..., DEFINER=..., SQL SECURITY ... before VIEW */
		for (;;) {
			if (sqllex_code(&lx, &t) == SQLT_END)
				return 0;
			if (sqltok_is(&t, "TABLE") || sqltok_is(&t, "TABLES") ||
			    sqltok_is(&t, "VIEW")) {
				out->list = out->verb == DDL_DROP || out->verb == DDL_RENAME;
				break;
			}
			if (sqltok_is(&t, "INDEX")) {
				/* INDEX [IF NOT EXISTS] name ON table */
				char idx[DDL_NAME_MAX + 1];
				take_if_exists(&lx, &t);
				if (!tok_name(idx, (sqllex_code(&lx, &t), &t)) ||
				    !take(&lx, &t, "ON"))
					return 0;
				break;
			}
			for (i = 0; i < ARRAY_SIZE(others) && !sqltok_is(&t, others[i]); i++)
				;
			if (i < ARRAY_SIZE(others))
				return 0;
		}
	}
	take_if_exists(&lx, &t);
	do {
		if ((r = read_table(&v, out, &lx)) <= 0) {
			if (r == 0 && out->ntables) {
				out->unread = true; /* of a list: the names before it stay */
				break;
			}
			ddl_stmt_release(out);
			return r;
		}
		if (out->verb == DDL_RENAME) {
			out->renames_table = true;
			if (!read_new_name(v, &lx)) {
				out->unread = true;
				break;
			}
		}
	} while (out->list && peek(&lx, &t) == SQLT_PUNCT && sqltok_sym(&t, ",") &&
		 (sqllex_code(&lx, &t), true));
	if (out->verb == DDL_ALTER)
		alter_rename(out, &lx);
	return 1;
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

/* --- what the applier does with a statement ------------------------- */

unsigned ddl_mode_bits_flags(uint64_t sql_mode)
{
	return (sql_mode & BINLOG_SQL_MODE_ANSI_QUOTES ? SQLLEX_ANSI_QUOTES : 0) |
	       (sql_mode & BINLOG_SQL_MODE_NO_BACKSLASH_ESCAPES ? SQLLEX_NO_BACKSLASH_ESCAPES : 0);
}

void ddl_plan_release(struct ddl_plan *p)
{
	buf_release(&p->sql);
	buf_release(&p->use_db);
	buf_release(&p->reason);
	buf_release(&p->what);
}

/* The plan refuses the statement: the reason, then the statement's
 * beginning in parentheses. */
static int refuse(struct ddl_plan *p, const char *sql, size_t len, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static int refuse(struct ddl_plan *p, const char *sql, size_t len, const char *fmt, ...)
{
	va_list ap;
	int r;

	p->action = DDL_REFUSE;
	buf_reset(&p->reason);
	va_start(ap, fmt);
	r = buf_vprintf(&p->reason, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_printf(&p->reason, " (%.*s)", (int)(len < 200 ? len : 200), sql) < 0)
		return GW_ENOMEM;
	return 0;
}

/* `db`.`table` under the destination's names of source db.table. */
static int dest_name(struct buf *out, const struct spec *s, const char *db, const char *table)
{
	const struct object_sel *o = spec_find_database(s, db);
	const struct table_sel *tsel = NULL;

	(void)spec_table_selected(s, db, table, &tsel);
	if (quote_name(out, o ? spec_dest_database(o) : db) < 0 || buf_putc(out, '.') < 0 ||
	    sqllex_quote_ident(out, spec_dest_table(tsel, table)) < 0)
		return GW_ENOMEM;
	return 0;
}

/* Whether the statement's list may name a selected table: the session's
 * database or one of the names' is selected. */
static bool may_touch(const struct ddl_stmt *d, const char *sdb, const struct spec *s)
{
	size_t i;

	if (spec_find_database(s, sdb))
		return true;
	for (i = 0; i < d->ntables; i++)
		if (spec_find_database(s, d->tables[i].db) ||
		    spec_find_database(s, d->tables[i].new_db))
			return true;
	return false;
}

/* Why table t of DDL d cannot be applied, into p (refused); *keep_out
 * whether it is selected and applied. */
static int plan_table(bool *keep_out, struct ddl_plan *p, const struct ddl_stmt *d,
		      const struct ddl_table *t, const char *sdb, const char *sql, size_t len,
		      const struct spec *s)
{
	const char *db = t->db[0] ? t->db : sdb;
	const char *ndb = t->new_db[0] ? t->new_db : sdb;
	const struct table_sel *tsel = NULL;
	bool sel = spec_table_selected(s, db, t->table, &tsel);
	bool nsel =
	    d->renames_table && t->has_new_name && spec_table_selected(s, ndb, t->new_table, NULL);

	*keep_out = false;
	if (!sel) {
		if (nsel)
			return refuse(
			    p, sql, len,
			    "RENAME of %s.%s to the selected name %s.%s cannot be applied "
			    "safely: the destination never had its rows",
			    db, t->table, ndb, t->new_table);
		return 0;
	}
	if (d->renames_table && !spec_whole_database(spec_find_database(s, db)))
		return refuse(p, sql, len,
			      "RENAME of %s.%s cannot be applied safely: the table is listed in "
			      "the spec, which maps its name, not the new one",
			      db, t->table);
	if (d->renames_table && t->has_new_name && !nsel)
		return refuse(p, sql, len,
			      "RENAME of %s.%s to %s.%s cannot be applied safely: the new name is "
			      "not selected, so the table would leave the migration with its "
			      "rows on the destination",
			      db, t->table, ndb, t->new_table);
	if (tsel && (tsel->ncolumns || tsel->nrenames) && d->verb != DDL_DROP &&
	    d->verb != DDL_TRUNCATE)
		return refuse(p, sql, len,
			      "DDL on %s.%s cannot be applied safely: the spec selects or renames "
			      "its columns, so the destination's columns are not the source's",
			      db, t->table);
	*keep_out = true;
	return 0;
}

int ddl_plan(struct ddl_plan *out, const struct ddl_stmt *d, const char *sql, size_t len,
	     unsigned flags, const char *session_db, const struct spec *s)
{
	const char *sdb = session_db ? session_db : "";
	const struct ddl_table *last;
	const struct object_sel *o;
	bool *keep = NULL;
	size_t i, kept = 0, tail;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->action = DDL_SKIP;
	if (d->on_database) {
		if (!spec_find_database(s, d->db) || d->verb == DDL_CREATE)
			return 0; /* (a selected one exists on the destination) */
		if (d->verb == DDL_DROP)
			return refuse(out, sql, len,
				      "the source dropped database %s: refusing to drop it on the "
				      "destination (stop the migration and decide)",
				      d->db);
		return refuse(out, sql, len, "DDL on database %s cannot be applied safely", d->db);
	}
	if (ddl_verb_dml(d->verb)) {
		for (i = 0; i < d->ntables; i++) {
			const char *db = d->tables[i].db[0] ? d->tables[i].db : sdb;
			if (spec_table_selected(s, db, d->tables[i].table, NULL))
				return refuse(
				    out, sql, len,
				    "a statement-based %s on %s.%s cannot be applied: the rows it "
				    "changed are not in the binlog (the writing session had "
				    "binlog_format STATEMENT or MIXED); set binlog_format=ROW on "
				    "the "
				    "source, globally and for every session, then start a new full "
				    "migration",
				    ddl_verb_name(d->verb), db, d->tables[i].table);
		}
		if (d->unread && may_touch(d, sdb, s))
			return refuse(
			    out, sql, len,
			    "a statement-based %s names a table that cannot be read, maybe "
			    "a selected one: its rows are not in the binlog; set "
			    "binlog_format=ROW on the source, then start a new full migration",
			    ddl_verb_name(d->verb));
		return 0;
	}
	if (!d->ntables)
		return 0;
	if (d->unread && may_touch(d, sdb, s))
		return refuse(out, sql, len,
			      "%s: a table name of the statement cannot be read, so what it does "
			      "to the selected tables is not known",
			      ddl_verb_name(d->verb));
	if (!(keep = calloc(d->ntables, sizeof(*keep))))
		return GW_ENOMEM;
	for (i = 0; i < d->ntables; i++) {
		if ((r = plan_table(&keep[i], out, d, &d->tables[i], sdb, sql, len, s)) < 0 ||
		    out->action == DDL_REFUSE)
			goto out;
		kept += keep[i];
	}
	if (!kept)
		goto out;
	/* the statement with the selected tables under their destination
	 * names; of a list, the others left out */
	last = &d->tables[d->ntables - 1];
	tail = d->verb == DDL_RENAME && last->has_new_name ? last->new_end : last->end;
	if ((r = ddl_map_databases(&out->sql, sql, d->tables[0].start, flags, s)) < 0)
		goto out;
	for (i = 0, kept = 0; i < d->ntables; i++) {
		const struct ddl_table *t = &d->tables[i];
		const char *db = t->db[0] ? t->db : sdb;
		if (!keep[i])
			continue;
		if ((kept && buf_puts(&out->sql, ", ") < 0) ||
		    (kept && buf_puts(&out->what, ", ") < 0) ||
		    dest_name(&out->sql, s, db, t->table) < 0 ||
		    buf_printf(&out->what, "%s.%s", db, t->table) < 0)
			goto nomem;
		if (d->verb == DDL_RENAME &&
		    (buf_puts(&out->sql, " TO ") < 0 ||
		     dest_name(&out->sql, s, t->new_db[0] ? t->new_db : sdb, t->new_table) < 0))
			goto nomem;
		kept++;
	}
	if ((r = ddl_map_databases(&out->sql, sql + tail, len - tail, flags, s)) < 0)
		goto out;
	/* unqualified names in the rest of it (a view's body, LIKE, a
	 * foreign key's table) are the session database's */
	o = spec_find_database(s, sdb);
	if (!o) {
		const struct ddl_table *t = &d->tables[0];
		for (i = 0; !keep[i]; i++)
			t = &d->tables[i + 1];
		o = spec_find_database(s, t->db[0] ? t->db : sdb);
	}
	if (!o || buf_puts(&out->use_db, spec_dest_database(o)) < 0)
		goto nomem;
	out->renames = d->renames_table;
	out->action = DDL_APPLY;
	goto out;
nomem:
	r = GW_ENOMEM;
out:
	free(keep);
	return r;
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
