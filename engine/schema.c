/*
 * Schema migration: the selected objects created on the destination, with
 * the spec's renames and column selections applied.
 *
 * Stages (reconcile/actions.h):
 *   SCHEMA_CREATE      databases, tables without their foreign keys, views
 *                      (in dependency order), procedures and functions,
 *                      events (disabled), and the meta database
 *   SCHEMA_AFTER_FULL  foreign keys; for tasks without incremental also
 *                      triggers, and events enabled as on the source
 *   SCHEMA_CUTOVER     triggers and events, for incremental tasks at stop
 * so that neither foreign keys nor triggers act on migrated rows: a
 * trigger created before the copy would fire on every copied and replayed
 * row and change them a second time.
 *
 * Views, routines, triggers and events come only with whole-database
 * selections (as DTS does); table selections get tables only.
 *
 * Idempotent: every object is looked for first and created only when
 * absent (tables with IF NOT EXISTS), so a run after a crash at any point
 * converges. Definers are kept when the account exists on the
 * destination; otherwise the object is created with the migration account
 * as definer and SQL SECURITY INVOKER, and the status says so.
 */
#include "lib/common.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/schema.h"
#include "engine/table.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

struct schema_run {
	struct action_io *io;
	const struct spec *s;
	MYSQL *src;
	MYSQL *dst;
	struct buf created;
	struct buf skipped;
	struct buf definers;
	int ncreated;
};

static int oom(struct gw_err *err)
{
	return err_set(err, GW_ENOMEM, "out of memory");
}

/* Replaces every occurrence of `from` (whole string) by `to` in b. */
static int replace_all(struct buf *b, const char *from, const char *to)
{
	struct buf out = BUF_INIT;
	size_t fl = strlen(from);
	const char *p, *hit;

	if (!b->len || !fl || !strstr(b->ptr, from))
		return 0;
	for (p = b->ptr; (hit = strstr(p, from)); p = hit + fl)
		if (buf_add(&out, p, (size_t)(hit - p)) < 0 || buf_puts(&out, to) < 0) {
			buf_release(&out);
			return GW_ENOMEM;
		}
	if (buf_puts(&out, p) < 0) {
		buf_release(&out);
		return GW_ENOMEM;
	}
	buf_release(b);
	*b = out;
	return 0;
}

/* Replaces the first occurrence of `from` by `to` in b. */
static int replace_first(struct buf *b, const char *from, const char *to)
{
	struct buf out = BUF_INIT;
	const char *hit = b->len ? strstr(b->ptr, from) : NULL;

	if (!hit)
		return 0;
	if (buf_add(&out, b->ptr, (size_t)(hit - b->ptr)) < 0 || buf_puts(&out, to) < 0 ||
	    buf_puts(&out, hit + strlen(from)) < 0) {
		buf_release(&out);
		return GW_ENOMEM;
	}
	buf_release(b);
	*b = out;
	return 0;
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/*
 * After rename_databases(), the name of a renamed source database still in
 * a definition means a reference that could not be rewritten: unquoted
 * (db.t), spaced (`db` . t), or inside a string or a comment (prepared SQL).
 * A backquoted `db` not followed by a dot names something else (a table or
 * column of that name) and stays. Returns the database name, or NULL.
 */
static const char *unrewritten_db(const struct buf *ddl, const struct spec *s)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++) {
		const char *db = s->objects[i].database, *p;
		size_t n = strlen(db);
		if (!s->objects[i].rename_to || !ddl->len)
			continue;
		for (p = ddl->ptr; (p = strcasestr(p, db)); p += n) {
			bool before = p > ddl->ptr && ident_char(p[-1]);
			const char *q = p + n;
			if (before || ident_char(*q))
				continue;
			if (p > ddl->ptr && p[-1] == '`' && *q == '`') {
				for (q++; *q == ' ' || *q == '\n' || *q == '\t'; q++)
					;
				if (*q != '.')
					continue;
			}
			return db;
		}
	}
	return NULL;
}

static int quoted(struct buf *b, const char *name)
{
	buf_reset(b);
	return conn_quote_ident(b, name);
}

/* `src`. -> `dst`. for every selected database that is renamed. */
static int rename_databases(struct buf *ddl, const struct spec *s)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < s->nobjects && r == 0; i++) {
		const struct object_sel *o = &s->objects[i];
		if (!o->rename_to)
			continue;
		if (quoted(&from, o->database) < 0 || buf_putc(&from, '.') < 0 ||
		    quoted(&to, o->rename_to) < 0 || buf_putc(&to, '.') < 0)
			r = GW_ENOMEM;
		else
			r = replace_all(ddl, buf_cstr(&from), buf_cstr(&to));
	}
	buf_release(&from);
	buf_release(&to);
	return r;
}

/* A SHOW CREATE ... statement's column `col` (0-based) into out. */
static int show_create(struct buf *out, MYSQL *m, const char *sql, unsigned col, struct buf *extra,
		       unsigned extra_col, struct gw_err *err)
{
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *len;
	int r;

	buf_reset(out);
	if ((r = conn_query(&res, m, sql, "reading a definition", err)) < 0)
		return r;
	if (!(row = mysql_fetch_row(res)) || mysql_num_fields(res) <= col || !row[col]) {
		mysql_free_result(res);
		return err_set(err, GW_EFATAL, "%s: no definition returned (missing privilege?)",
			       sql);
	}
	len = mysql_fetch_lengths(res);
	r = buf_add(out, row[col], len[col]);
	if (r == 0 && extra) {
		buf_reset(extra);
		if (mysql_num_fields(res) > extra_col && row[extra_col])
			r = buf_add(extra, row[extra_col], len[extra_col]);
	}
	mysql_free_result(res);
	return r < 0 ? oom(err) : 0;
}

static int count_of(long *out, MYSQL *m, const struct buf *q, struct gw_err *err)
{
	struct buf v = BUF_INIT;
	int r = conn_query_value(&v, NULL, m, buf_cstr(q), err);

	*out = r == 0 ? strtol(buf_cstr(&v), NULL, 10) : 0;
	buf_release(&v);
	return r;
}

static int note(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int note(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* --- comparing an existing table ------------------------------------- */

/* One column or index of a table: its name and the rest, as text. */
int schema_table_diff(struct buf *out, MYSQL *src, MYSQL *dst, const char *db, const char *table,
		      const struct table_sel *tsel, const char *ddb, const char *dtable,
		      struct gw_err *err)
{
	struct table st, dt;
	int r;

	memset(&st, 0, sizeof(st));
	memset(&dt, 0, sizeof(dt));
	buf_reset(out);
	if ((r = table_load(&st, src, db, table, tsel, ddb, dtable, err)) < 0 ||
	    (r = table_load(&dt, dst, ddb, dtable, NULL, NULL, NULL, err)) < 0) {
		if (r == GW_ENOTFOUND)
			r = err->code = GW_EFATAL;
		goto out;
	}
	if (table_diff(out, &st, &dt) < 0)
		r = oom(err);
out:
	table_release(&st);
	table_release(&dt);
	return r;
}

/* --- tables ------------------------------------------------------------ */

/* Whether a line of SHOW CREATE TABLE is a foreign key. */
static bool is_fk_line(const char *line)
{
	while (*line == ' ')
		line++;
	return !strncmp(line, "CONSTRAINT ", 11) && strstr(line, " FOREIGN KEY ");
}

/* Whether a column/key line mentions `name`. */
static bool line_mentions(const char *line, size_t n, const char *qname)
{
	size_t ql = strlen(qname), i;

	for (i = 0; i + ql <= n; i++)
		if (!memcmp(line + i, qname, ql))
			return true;
	return false;
}

/* Reports a definition left out because it uses an unselected column
 * (not the column itself: leaving it out is what the spec asks). */
static bool skipped_with_column(struct schema_run *run, const struct table *t, const char *col,
				const char *qcol, const char *line, size_t n)
{
	struct buf reason = BUF_INIT;
	bool ok = true;

	while (n && *line == ' ')
		line++, n--;
	if (n > strlen(qcol) && !strncmp(line, qcol, strlen(qcol)) && line[strlen(qcol)] == ' ')
		return true;
	if (buf_printf(&reason, "left out with unselected column %s: %.*s", col, (int)n, line) <
		0 ||
	    note(&run->skipped, "      - {object: \"%s.%s\", reason: ", t->dest_db, t->dest_table) <
		0 ||
	    yaml_str(&run->skipped, buf_cstr(&reason)) < 0 || buf_puts(&run->skipped, "}\n") < 0)
		ok = false;
	buf_release(&reason);
	return ok;
}

/*
 * The CREATE TABLE for the destination: named there, foreign keys left
 * out (fks_out gets them, one per line), unselected columns and the keys
 * that use them left out, renamed columns renamed.
 */
static int table_ddl(struct buf *out, struct buf *fks_out, struct schema_run *run,
		     const struct table *t, struct gw_err *err)
{
	struct buf src = BUF_INIT, q = BUF_INIT, qn = BUF_INIT;
	const char *p, *body;
	size_t i;
	int r;

	if (buf_puts(&q, "SHOW CREATE TABLE ") < 0 || table_name(&q, t, TABLE_SOURCE) < 0)
		return oom(err);
	if ((r = show_create(&src, run->src, buf_cstr(&q), 1, NULL, 0, err)) < 0)
		goto out;
	body = strchr(src.ptr, '(');
	if (!body) {
		r = err_set(err, GW_EFATAL, "table %s.%s: unexpected definition", t->db, t->table);
		goto out;
	}
	/* The header comes last: renames apply to the definitions only. */
	buf_reset(out);
	/* One definition per line between the parentheses. */
	p = strchr(body, '\n');
	p = p ? p + 1 : body + strlen(body);
	{
		bool first = true;
		while (*p && !(p[0] == ')' && (p == body || p[-1] == '\n'))) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			size_t m = n;
			bool keep = true;
			while (m && (p[m - 1] == ',' || p[m - 1] == '\r'))
				m--;
			if (is_fk_line(p)) {
				if (buf_add(fks_out, p, m) < 0 || buf_putc(fks_out, '\n') < 0)
					goto nomem;
				keep = false;
			} else if (t->tsel && t->tsel->columns) {
				/* a column or key naming an unselected column goes */
				struct buf qc = BUF_INIT;
				for (i = 0; i < t->ncols; i++) {
					const char *col = t->cols[i].name;
					if (t->cols[i].dest_name)
						continue;
					if (quoted(&qc, col) < 0)
						break;
					if (line_mentions(p, m, buf_cstr(&qc))) {
						keep = false;
						if (!skipped_with_column(run, t, col, buf_cstr(&qc),
									 p, m))
							r = oom(err);
						break;
					}
				}
				buf_release(&qc);
			}
			if (keep) {
				if ((!first && buf_puts(out, ",\n") < 0) || buf_add(out, p, m) < 0)
					goto nomem;
				first = false;
			}
			p = nl ? nl + 1 : p + n;
		}
		/* table options after ')' */
		if (buf_puts(out, "\n") < 0 || buf_puts(out, p) < 0)
			goto nomem;
	}
	/* column renames */
	for (i = 0; t->tsel && i < t->tsel->nrenames; i++) {
		if (quoted(&q, t->tsel->renames[i].from) < 0 ||
		    quoted(&qn, t->tsel->renames[i].to) < 0 ||
		    replace_all(out, buf_cstr(&q), buf_cstr(&qn)) < 0)
			goto nomem;
	}
	buf_reset(&q);
	if (buf_puts(&q, "CREATE TABLE IF NOT EXISTS ") < 0 || table_name(&q, t, TABLE_DEST) < 0 ||
	    buf_puts(&q, " (\n") < 0 || buf_add(&q, out->ptr, out->len) < 0)
		goto nomem;
	buf_release(out);
	*out = q;
	buf_init(&q, 0);
	r = 0;
	goto out;
nomem:
	r = oom(err);
out:
	buf_release(&src);
	buf_release(&q);
	buf_release(&qn);
	return r;
}

static int create_tables(struct schema_run *run, struct table *tables, size_t n, struct gw_err *err)
{
	struct buf ddl = BUF_INIT, fks = BUF_INIT, q = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const struct table *t = &tables[i];
		long exists = 0;
		buf_reset(&fks);
		buf_reset(&q);
		if (buf_puts(
			&q,
			"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ") <
			0 ||
		    conn_quote_string(&q, run->dst, t->dest_db, strlen(t->dest_db)) < 0 ||
		    buf_puts(&q, " AND TABLE_NAME = ") < 0 ||
		    conn_quote_string(&q, run->dst, t->dest_table, strlen(t->dest_table)) < 0) {
			r = oom(err);
			break;
		}
		if ((r = count_of(&exists, run->dst, &q, err)) < 0)
			break;
		if (exists) {
			/* An earlier run made it, or someone else did: the same
			 * definition is taken as is, another one would receive
			 * rows it cannot hold. */
			if ((r = schema_table_diff(&ddl, run->src, run->dst, t->db, t->table,
						   t->tsel, t->dest_db, t->dest_table, err)) < 0)
				break;
			if (ddl.len)
				r = err_set(err, GW_EFATAL,
					    "destination table %s.%s already exists with another "
					    "definition (%s): drop it or map the table to another "
					    "name with renameTo",
					    t->dest_db, t->dest_table, buf_cstr(&ddl));
			continue;
		}
		if ((r = table_ddl(&ddl, &fks, run, t, err)) < 0)
			break;
		if ((r = conn_exec(run->dst, buf_cstr(&ddl), err)) < 0) {
			err_prefix(err, "creating table %s.%s", t->dest_db, t->dest_table);
			break;
		}
		run->ncreated++;
		if (note(&run->created, "      - table %s.%s\n", t->dest_db, t->dest_table) < 0)
			r = oom(err);
	}
	buf_release(&ddl);
	buf_release(&fks);
	buf_release(&q);
	return r;
}

/* --- foreign keys ------------------------------------------------------ */

static int create_fks(struct schema_run *run, struct table *tables, size_t n, struct gw_err *err)
{
	struct buf ddl = BUF_INIT, fks = BUF_INIT, q = BUF_INIT, stmt = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		const struct table *t = &tables[i];
		const char *line;
		buf_reset(&fks);
		if ((r = table_ddl(&ddl, &fks, run, t, err)) < 0)
			break;
		for (line = fks.ptr; line && *line && r == 0;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			char name[256] = "";
			const char *bt = strchr(line, '`'), *bt2 = bt ? strchr(bt + 1, '`') : NULL;
			long exists = 0;
			if (bt && bt2 && (size_t)(bt2 - bt - 1) < sizeof(name))
				memcpy(name, bt + 1, (size_t)(bt2 - bt - 1));
			buf_reset(&q);
			if (buf_puts(&q,
				     "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS "
				     "WHERE CONSTRAINT_TYPE = 'FOREIGN KEY' AND TABLE_SCHEMA = ") <
				0 ||
			    conn_quote_string(&q, run->dst, t->dest_db, strlen(t->dest_db)) < 0 ||
			    buf_puts(&q, " AND TABLE_NAME = ") < 0 ||
			    conn_quote_string(&q, run->dst, t->dest_table, strlen(t->dest_table)) <
				0 ||
			    buf_puts(&q, " AND CONSTRAINT_NAME = ") < 0 ||
			    conn_quote_string(&q, run->dst, name, strlen(name)) < 0) {
				r = oom(err);
				break;
			}
			if ((r = count_of(&exists, run->dst, &q, err)) < 0)
				break;
			if (!exists) {
				buf_reset(&stmt);
				if (buf_puts(&stmt, "ALTER TABLE ") < 0 ||
				    table_name(&stmt, t, TABLE_DEST) < 0 ||
				    buf_puts(&stmt, " ADD ") < 0 || buf_add(&stmt, line, len) < 0 ||
				    rename_databases(&stmt, run->s) < 0) {
					r = oom(err);
					break;
				}
				if ((r = conn_exec(run->dst, buf_cstr(&stmt), err)) < 0) {
					/* A key to a table outside the selection. */
					log_warn(run->s->name,
						 "foreign key %s on %s.%s skipped: %s", name,
						 t->dest_db, t->dest_table, err->msg);
					if (note(&run->skipped,
						 "      - {object: \"%s.%s foreign key %s\", "
						 "reason: ",
						 t->dest_db, t->dest_table, name) < 0 ||
					    yaml_str(&run->skipped, err->msg) < 0 ||
					    buf_puts(&run->skipped, "}\n") < 0)
						r = oom(err);
					else
						r = 0;
				} else {
					run->ncreated++;
					(void)note(&run->created, "      - foreign key %s.%s %s\n",
						   t->dest_db, t->dest_table, name);
				}
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	buf_release(&ddl);
	buf_release(&fks);
	buf_release(&q);
	buf_release(&stmt);
	return r;
}

/* --- definers ---------------------------------------------------------- */

/*
 * DEFINER=`u`@`h` kept when that account exists on the destination, else
 * replaced by CURRENT_USER with SQL SECURITY INVOKER (where the object
 * kind takes it).
 */
static int fix_definer(bool *replaced_out, struct buf *ddl, struct schema_run *run,
		       const char *what, bool security_clause, struct gw_err *err)
{
	const char *d = strstr(buf_cstr(ddl), "DEFINER=`");
	char user[256], host[256];
	const char *a, *b;
	struct buf q = BUF_INIT, from = BUF_INIT;
	long exists = 0;
	int r;

	*replaced_out = false;
	if (!d)
		return 0;
	a = d + 9;
	b = strchr(a, '`');
	if (!b || b[1] != '@' || b[2] != '`' || (size_t)(b - a) >= sizeof(user))
		return 0;
	memcpy(user, a, (size_t)(b - a));
	user[b - a] = '\0';
	a = b + 3;
	b = strchr(a, '`');
	if (!b || (size_t)(b - a) >= sizeof(host))
		return 0;
	memcpy(host, a, (size_t)(b - a));
	host[b - a] = '\0';
	if (buf_puts(&q, "SELECT COUNT(*) FROM mysql.user WHERE User = ") < 0 ||
	    conn_quote_string(&q, run->dst, user, strlen(user)) < 0 ||
	    buf_puts(&q, " AND Host = ") < 0 ||
	    conn_quote_string(&q, run->dst, host, strlen(host)) < 0)
		return oom(err);
	r = count_of(&exists, run->dst, &q, err);
	buf_release(&q);
	if (r < 0) {
		/* mysql.user unreadable: keep the definer, the server decides. */
		err_clear(err);
		return 0;
	}
	if (exists)
		return 0;
	if (buf_add(&from, d, (size_t)(b + 1 - d)) < 0)
		return oom(err);
	*replaced_out = true;
	r = replace_all(ddl, buf_cstr(&from), "DEFINER=CURRENT_USER");
	/* Views print their SQL SECURITY; routines without it get an ALTER
	 * after the CREATE (create_stored). Triggers and events have none:
	 * they run as their definer, now the migration account. */
	if (r == 0 && security_clause)
		r = replace_first(ddl, "SQL SECURITY DEFINER", "SQL SECURITY INVOKER");
	if (r == 0)
		r = note(&run->definers,
			 "      - {object: \"%s\", definer: \"%s@%s\", now: \"%s\"}\n", what, user,
			 host,
			 security_clause ? "the migration account, SQL SECURITY INVOKER"
					 : "the migration account (runs with its privileges)");
	buf_release(&from);
	return r < 0 ? oom(err) : 0;
}

/* --- views, routines, triggers, events --------------------------------- */

static int use_db(MYSQL *m, const char *db, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	int r;

	if (buf_puts(&q, "USE ") < 0 || conn_quote_ident(&q, db) < 0)
		return oom(err);
	r = conn_exec(m, buf_cstr(&q), err);
	buf_release(&q);
	return r;
}

/* Names of objects of a kind in a database, from information_schema. */
static int list_names(char ***out, size_t *n, MYSQL *m, const char *sql_prefix, const char *db,
		      const char *suffix, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	char **names;
	int r;

	*out = NULL;
	*n = 0;
	if (buf_puts(&q, sql_prefix) < 0 || conn_quote_string(&q, m, db, strlen(db)) < 0 ||
	    buf_puts(&q, suffix) < 0)
		return oom(err);
	r = conn_query(&res, m, buf_cstr(&q), "listing objects", err);
	buf_release(&q);
	if (r < 0)
		return r;
	names = calloc((size_t)mysql_num_rows(res) + 1, sizeof(*names));
	if (!names) {
		mysql_free_result(res);
		return oom(err);
	}
	while ((row = mysql_fetch_row(res)))
		if (!(names[(*n)++] = strdup(row[0] ? row[0] : ""))) {
			mysql_free_result(res);
			return oom(err);
		}
	mysql_free_result(res);
	*out = names;
	return 0;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int exists_on_dst(long *out, struct schema_run *run, const char *table, const char *col,
			 const char *db, const char *name, const char *extra, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	int r;

	if (buf_printf(&q, "SELECT COUNT(*) FROM information_schema.%s WHERE %s = ", table, col) <
		0 ||
	    conn_quote_string(&q, run->dst, db, strlen(db)) < 0 ||
	    buf_printf(&q, " AND %s = ", extra) < 0 ||
	    conn_quote_string(&q, run->dst, name, strlen(name)) < 0)
		return oom(err);
	r = count_of(out, run->dst, &q, err);
	buf_release(&q);
	return r;
}

/* information_schema table and columns of an object kind. */
static void kind_columns(const char *kind, const char **tbl, const char **scol, const char **ncol,
			 const char **dcol, const char **type)
{
	*type = NULL;
	if (!strcmp(kind, "VIEW"))
		*tbl = "VIEWS", *scol = "TABLE_SCHEMA", *ncol = "TABLE_NAME",
		*dcol = "VIEW_DEFINITION";
	else if (!strcmp(kind, "TRIGGER"))
		*tbl = "TRIGGERS", *scol = "TRIGGER_SCHEMA", *ncol = "TRIGGER_NAME",
		*dcol = "ACTION_STATEMENT";
	else if (!strcmp(kind, "EVENT"))
		*tbl = "EVENTS", *scol = "EVENT_SCHEMA", *ncol = "EVENT_NAME",
		*dcol = "EVENT_DEFINITION";
	else
		*tbl = "ROUTINES", *scol = "ROUTINE_SCHEMA", *ncol = "ROUTINE_NAME",
		*dcol = "ROUTINE_DEFINITION", *type = kind;
}

int schema_object_same(bool *out, MYSQL *src, MYSQL *dst, const struct spec *s, const char *kind,
		       const char *srcdb, const char *dest, const char *name, struct gw_err *err)
{
	const char *tbl, *scol, *ncol, *dcol, *type;
	struct buf q = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	int r = 0;

	*out = false;
	kind_columns(kind, &tbl, &scol, &ncol, &dcol, &type);
	for (int side = 0; side < 2; side++) {
		MYSQL *m = side ? dst : src;
		const char *db = side ? dest : srcdb;
		buf_reset(&q);
		if (buf_printf(&q, "SELECT %s FROM information_schema.%s WHERE %s = ", dcol, tbl,
			       scol) < 0 ||
		    conn_quote_string(&q, m, db, strlen(db)) < 0 ||
		    buf_printf(&q, " AND %s = ", ncol) < 0 ||
		    conn_quote_string(&q, m, name, strlen(name)) < 0 ||
		    (type && buf_printf(&q, " AND ROUTINE_TYPE = '%s'", type) < 0)) {
			r = oom(err);
			goto out;
		}
		if ((r = conn_query_value(side ? &b : &a, NULL, m, buf_cstr(&q), err)) < 0)
			goto out;
	}
	if (rename_databases(&a, s) < 0) {
		r = oom(err);
		goto out;
	}
	*out = !strcmp(buf_cstr(&a), buf_cstr(&b));
out:
	buf_release(&q);
	buf_release(&a);
	buf_release(&b);
	return r;
}

/*
 * An object that already exists on the destination is taken as is only
 * when its definition is the source's (database renames applied): a
 * crashed earlier run made it, or it is identical anyway. Another one of
 * that name is an error naming it, never silently kept. kind: VIEW,
 * PROCEDURE, FUNCTION, TRIGGER or EVENT.
 */
static int check_existing(struct schema_run *run, const char *kind, const char *srcdb,
			  const char *dest, const char *name, struct gw_err *err)
{
	bool same;
	int r = schema_object_same(&same, run->src, run->dst, run->s, kind, srcdb, dest, name, err);

	if (r == 0 && !same)
		r = err_set(err, GW_EFATAL,
			    "%s %s.%s already exists on the destination with another definition: "
			    "drop it (the migration creates it) or leave the database out",
			    kind, dest, name);
	return r;
}

static int create_views(struct schema_run *run, const struct object_sel *o, struct gw_err *err)
{
	const char *dest = spec_dest_database(o);
	struct buf q = BUF_INIT, ddl = BUF_INIT, what = BUF_INIT;
	char **names = NULL, *done;
	size_t n = 0, i, left, pass;
	bool replaced;
	const char *bad;
	size_t noted;
	int r;

	if ((r = list_names(&names, &n, run->src,
			    "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ",
			    o->database, " ORDER BY TABLE_NAME", err)) < 0)
		return r;
	if (!(done = calloc(n + 1, 1))) {
		free_names(names, n);
		return oom(err);
	}
	if ((r = use_db(run->dst, dest, err)) < 0)
		goto out;
	/* Dependency order: create what can be created, again, until a pass
	 * makes no progress. */
	for (pass = 0, left = n; left && pass <= n; pass++) {
		size_t before = left;
		for (i = 0; i < n; i++) {
			long exists = 0;
			if (done[i])
				continue;
			if ((r = exists_on_dst(&exists, run, "VIEWS", "TABLE_SCHEMA", dest,
					       names[i], "TABLE_NAME", err)) < 0)
				goto out;
			if (exists) {
				if ((r = check_existing(run, "VIEW", o->database, dest, names[i],
							err)) < 0)
					goto out;
				done[i] = 1, left--;
				continue;
			}
			buf_reset(&q);
			if (buf_puts(&q, "SHOW CREATE VIEW ") < 0 ||
			    conn_quote_ident(&q, o->database) < 0 || buf_putc(&q, '.') < 0 ||
			    conn_quote_ident(&q, names[i]) < 0) {
				r = oom(err);
				goto out;
			}
			if ((r = show_create(&ddl, run->src, buf_cstr(&q), 1, NULL, 0, err)) < 0)
				goto out;
			buf_reset(&what);
			if (buf_printf(&what, "view %s.%s", dest, names[i]) < 0 ||
			    rename_databases(&ddl, run->s) < 0) {
				r = oom(err);
				goto out;
			}
			if ((bad = unrewritten_db(&ddl, run->s))) {
				done[i] = 2, left--;
				if (note(
					&run->skipped,
					"      - {object: \"%s\", reason: \"its definition names "
					"database %s in a form that cannot be rewritten to the new "
					"name safely: create it by hand\"}\n",
					buf_cstr(&what), bad) < 0) {
					r = oom(err);
					goto out;
				}
				continue;
			}
			noted = run->definers.len;
			if ((r = fix_definer(&replaced, &ddl, run, buf_cstr(&what), true, err)) < 0)
				goto out;
			if (mysql_real_query(run->dst, ddl.ptr, ddl.len) == 0) {
				done[i] = 1, left--;
				run->ncreated++;
				(void)note(&run->created, "      - %s\n", buf_cstr(&what));
				continue;
			}
			/* 1146: a view it reads is not there yet (a later pass) */
			if (mysql_errno(run->dst) != 1146) {
				r = conn_error(err, run->dst, buf_cstr(&what));
				goto out;
			}
			buf_truncate(&run->definers, noted); /* noted once, when created */
		}
		if (left == before)
			break;
	}
	for (i = 0; i < n; i++)
		if (!done[i])
			(void)note(
			    &run->skipped,
			    "      - {object: \"view %s.%s\", reason: \"reads an object that "
			    "is not migrated\"}\n",
			    dest, names[i]);
	r = 0;
out:
	free(done);
	free_names(names, n);
	buf_release(&q);
	buf_release(&ddl);
	buf_release(&what);
	return r;
}

/*
 * Creates one routine/trigger/event from SHOW CREATE output, with the
 * sql_mode it was created under, unless it exists (exists). A routine
 * whose definer was replaced gets SQL SECURITY INVOKER by an ALTER, run
 * again on an existing one: a crash between the two statements leaves
 * nothing half-done. Events are created disabled (create_events enables
 * them at their stage).
 */
static int create_stored(struct schema_run *run, const char *kind, const char *srcdb,
			 const char *dest, const char *name, unsigned ddl_col, unsigned mode_col,
			 bool exists, struct gw_err *err)
{
	struct buf q = BUF_INIT, ddl = BUF_INIT, mode = BUF_INIT, what = BUF_INIT;
	bool routine = !strcmp(kind, "PROCEDURE") || !strcmp(kind, "FUNCTION");
	bool replaced = false;
	const char *bad;
	int r;

	if (buf_printf(&q, "SHOW CREATE %s ", kind) < 0 || conn_quote_ident(&q, srcdb) < 0 ||
	    buf_putc(&q, '.') < 0 || conn_quote_ident(&q, name) < 0 ||
	    buf_printf(&what, "%s %s.%s", kind, dest, name) < 0) {
		r = oom(err);
		goto out;
	}
	if ((r = show_create(&ddl, run->src, buf_cstr(&q), ddl_col, &mode, mode_col, err)) < 0)
		goto out;
	if (rename_databases(&ddl, run->s) < 0) {
		r = oom(err);
		goto out;
	}
	if (exists && (r = check_existing(run, kind, srcdb, dest, name, err)) < 0)
		goto out;
	if (!exists && (bad = unrewritten_db(&ddl, run->s))) {
		r = note(
			&run->skipped,
			"      - {object: \"%s\", reason: \"its body names database %s in a form "
			"that cannot be rewritten to the new name safely (unquoted, or in a string "
			"or comment): create it by hand\"}\n",
			buf_cstr(&what), bad) < 0
			? oom(err)
			: 0;
		goto out;
	}
	if ((r = fix_definer(&replaced, &ddl, run, buf_cstr(&what), routine, err)) < 0)
		goto out;
	if (!strcmp(kind, "EVENT") &&
	    (replace_first(&ddl, " PRESERVE ENABLE", " PRESERVE DISABLE") < 0)) {
		r = oom(err);
		goto out;
	}
	if (!exists) {
		if ((r = use_db(run->dst, dest, err)) < 0)
			goto out;
		buf_reset(&q);
		if (buf_puts(&q, "SET SESSION sql_mode = ") < 0 ||
		    conn_quote_string(&q, run->dst, mode.ptr ? mode.ptr : "", mode.len) < 0) {
			r = oom(err);
			goto out;
		}
		if ((r = conn_exec(run->dst, buf_cstr(&q), err)) < 0)
			goto out;
		if (mysql_real_query(run->dst, ddl.ptr, ddl.len))
			r = conn_error(err, run->dst, buf_cstr(&what));
		else {
			run->ncreated++;
			(void)note(&run->created, "      - %s\n", buf_cstr(&what));
		}
		(void)conn_exec(run->dst,
				"SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,"
				"NO_ENGINE_SUBSTITUTION'",
				err);
		if (r < 0)
			goto out;
	}
	if (routine && replaced) {
		buf_reset(&q);
		if (buf_printf(&q, "ALTER %s ", kind) < 0 || conn_quote_ident(&q, dest) < 0 ||
		    buf_putc(&q, '.') < 0 || conn_quote_ident(&q, name) < 0 ||
		    buf_puts(&q, " SQL SECURITY INVOKER") < 0) {
			r = oom(err);
			goto out;
		}
		if ((r = conn_exec(run->dst, buf_cstr(&q), err)) < 0)
			err_prefix(err, "%s", buf_cstr(&what));
	}
out:
	buf_release(&q);
	buf_release(&ddl);
	buf_release(&mode);
	buf_release(&what);
	return r;
}

static int create_routines(struct schema_run *run, const struct object_sel *o, struct gw_err *err)
{
	static const char *kinds[] = {"PROCEDURE", "FUNCTION"};
	const char *dest = spec_dest_database(o);
	size_t k, i, n;
	int r = 0;

	for (k = 0; k < ARRAY_SIZE(kinds) && r == 0; k++) {
		char **names = NULL;
		struct buf suffix = BUF_INIT;
		if (buf_printf(&suffix, " AND ROUTINE_TYPE = '%s' ORDER BY ROUTINE_NAME",
			       kinds[k]) < 0)
			return oom(err);
		r = list_names(&names, &n, run->src,
			       "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE "
			       "ROUTINE_SCHEMA = ",
			       o->database, buf_cstr(&suffix), err);
		buf_release(&suffix);
		for (i = 0; r == 0 && i < n; i++) {
			long exists = 0;
			struct buf extra = BUF_INIT;
			if (buf_printf(&extra, "ROUTINE_TYPE = '%s' AND ROUTINE_NAME", kinds[k]) <
			    0)
				r = oom(err);
			else if ((r = exists_on_dst(&exists, run, "ROUTINES", "ROUTINE_SCHEMA",
						    dest, names[i], buf_cstr(&extra), err)) == 0)
				/* SHOW CREATE PROCEDURE: name, sql_mode, Create Procedure */
				r = create_stored(run, kinds[k], o->database, dest, names[i], 2, 1,
						  exists, err);
			buf_release(&extra);
		}
		free_names(names, n);
	}
	return r;
}

static int create_triggers(struct schema_run *run, const struct object_sel *o, struct gw_err *err)
{
	const char *dest = spec_dest_database(o);
	char **names = NULL;
	size_t i, n;
	int r;

	if ((r = list_names(&names, &n, run->src,
			    "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE "
			    "TRIGGER_SCHEMA = ",
			    o->database, " ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER", err)) < 0)
		return r;
	for (i = 0; r == 0 && i < n; i++) {
		long exists = 0;
		if ((r = exists_on_dst(&exists, run, "TRIGGERS", "TRIGGER_SCHEMA", dest, names[i],
				       "TRIGGER_NAME", err)) == 0)
			/* SHOW CREATE TRIGGER: name, sql_mode, SQL Original Statement */
			r = exists
				? check_existing(run, "TRIGGER", o->database, dest, names[i], err)
				: create_stored(run, "TRIGGER", o->database, dest, names[i], 2, 1,
						false, err);
	}
	free_names(names, n);
	return r;
}

/* "ALTER DEFINER = 'u'@'h'" with the definer event db.name has on the
 * destination, into q (reset first). */
static int event_definer(struct buf *q, struct schema_run *run, const char *db, const char *name,
			 struct gw_err *err)
{
	struct buf sql = BUF_INIT, v = BUF_INIT;
	const char *at;
	int r;

	buf_reset(q);
	if (buf_puts(&sql, "SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ") <
		0 ||
	    conn_quote_string(&sql, run->dst, db, strlen(db)) < 0 ||
	    buf_puts(&sql, " AND EVENT_NAME = ") < 0 ||
	    conn_quote_string(&sql, run->dst, name, strlen(name)) < 0) {
		r = oom(err);
		goto out;
	}
	if ((r = conn_query_value(&v, NULL, run->dst, buf_cstr(&sql), err)) < 0)
		goto out;
	at = strrchr(buf_cstr(&v), '@');
	if (buf_puts(q, "ALTER") < 0 ||
	    (at &&
	     (buf_puts(q, " DEFINER = ") < 0 ||
	      conn_quote_string(q, run->dst, v.ptr, (size_t)(at - v.ptr)) < 0 ||
	      buf_putc(q, '@') < 0 || conn_quote_string(q, run->dst, at + 1, strlen(at + 1)) < 0)))
		r = oom(err);
out:
	buf_release(&sql);
	buf_release(&v);
	return r;
}

enum event_status {
	EVENTS_DISABLED,     /* created disabled: none runs before the cutover */
	EVENTS_AS_ON_SOURCE, /* those enabled on the source enabled */
};

static int create_events(struct schema_run *run, const struct object_sel *o,
			 enum event_status status, struct gw_err *err)
{
	bool enable = status == EVENTS_AS_ON_SOURCE;
	const char *dest = spec_dest_database(o);
	char **names = NULL;
	size_t i, n;
	int r;

	if ((r = list_names(
		 &names, &n, run->src,
		 "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ",
		 o->database,
		 enable ? " AND STATUS = 'ENABLED' ORDER BY EVENT_NAME" : " ORDER BY EVENT_NAME",
		 err)) < 0)
		return r;
	for (i = 0; r == 0 && i < n; i++) {
		long exists = 0;
		struct buf q = BUF_INIT;
		if ((r = exists_on_dst(&exists, run, "EVENTS", "EVENT_SCHEMA", dest, names[i],
				       "EVENT_NAME", err)) < 0)
			break;
		/* SHOW CREATE EVENT: name, sql_mode, time_zone, Create Event */
		if (!exists && !enable) {
			if ((r = create_stored(run, "EVENT", o->database, dest, names[i], 3, 1,
					       false, err)) < 0 ||
			    (r = exists_on_dst(&exists, run, "EVENTS", "EVENT_SCHEMA", dest,
					       names[i], "EVENT_NAME", err)) < 0)
				break;
			if (!exists)
				continue; /* skipped, reported */
		}
		if (exists && !enable &&
		    (r = check_existing(run, "EVENT", o->database, dest, names[i], err)) < 0)
			break;
		/* ALTER EVENT without DEFINER makes the current account the
		 * definer: name the one the event has. */
		if (exists && (r = event_definer(&q, run, dest, names[i], err)) < 0)
			break;
		if (buf_puts(&q, " EVENT ") < 0 || conn_quote_ident(&q, dest) < 0 ||
		    buf_putc(&q, '.') < 0 || conn_quote_ident(&q, names[i]) < 0 ||
		    buf_puts(&q, enable ? " ENABLE" : " DISABLE") < 0)
			r = oom(err);
		else if (exists)
			r = conn_exec(run->dst, buf_cstr(&q), err);
		buf_release(&q);
	}
	free_names(names, n);
	return r;
}

static int create_database(struct schema_run *run, const struct object_sel *o, struct gw_err *err)
{
	struct buf q = BUF_INIT, ddl = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	int r;

	if (buf_puts(&q, "SHOW CREATE DATABASE ") < 0 || conn_quote_ident(&q, o->database) < 0)
		return oom(err);
	if ((r = show_create(&ddl, run->src, buf_cstr(&q), 1, NULL, 0, err)) < 0) {
		err_prefix(err, "database %s", o->database);
		goto out;
	}
	if (quoted(&from, o->database) < 0 || quoted(&to, spec_dest_database(o)) < 0 ||
	    replace_all(&ddl, buf_cstr(&from), buf_cstr(&to)) < 0 ||
	    replace_all(&ddl, "CREATE DATABASE ", "CREATE DATABASE IF NOT EXISTS ") < 0) {
		r = oom(err);
		goto out;
	}
	if (!strstr(ddl.ptr, "IF NOT EXISTS IF NOT EXISTS"))
		r = conn_exec(run->dst, buf_cstr(&ddl), err);
	else
		r = conn_execf(run->dst, err, "CREATE DATABASE IF NOT EXISTS %s", buf_cstr(&to));
out:
	buf_release(&q);
	buf_release(&ddl);
	buf_release(&from);
	buf_release(&to);
	return r;
}

/* "object" names of the report lines in b, comma-separated, into out. */
static void objects_of(struct buf *out, const struct buf *b)
{
	const char *p = b->len ? b->ptr : "", *e;

	while ((p = strstr(p, "{object: \"")) && (e = strchr(p + 10, '"'))) {
		if (buf_printf(out, "%s%.*s", out->len ? ", " : "", (int)(e - p - 10), p + 10) < 0)
			return;
		p = e;
	}
}

/* The warning kept in the status after later actions replace the report:
 * which objects were skipped and which got the migration account as
 * definer (cut to fit). */
static void schema_warning(char *out, size_t outsz, const struct schema_run *run)
{
	struct buf w = BUF_INIT, names = BUF_INIT;

	if (!run->skipped.len && !run->definers.len)
		return;
	objects_of(&names, &run->skipped);
	if (names.len &&
	    buf_printf(&w, "some objects were not migrated (%s)", buf_cstr(&names)) < 0)
		goto out;
	buf_reset(&names);
	objects_of(&names, &run->definers);
	if (names.len && buf_printf(&w, "%sdefiner replaced by the migration account for %s",
				    w.len ? "; " : "", buf_cstr(&names)) < 0)
		goto out;
	if (buf_puts(&w, ": see the schema report") < 0)
		goto out;
	(void)snprintf(out, outsz, "%s", buf_cstr(&w));
	if (w.len >= outsz && outsz > 4)
		memcpy(out + outsz - 4, "...", 4);
out:
	buf_release(&w);
	buf_release(&names);
}

int engine_schema(struct action_io *io, enum schema_stage stage)
{
	struct schema_run run;
	struct table *tables = NULL;
	size_t n = 0, i;
	bool incremental = io->spec->migration_types & MT_INCREMENTAL;
	int r;

	memset(&run, 0, sizeof(run));
	run.io = io;
	run.s = io->spec;
	if ((r = conn_open(&run.src, &io->spec->source, "source", CONN_DEFAULT, io->task,
			   &io->err)) < 0 ||
	    (r = conn_open(&run.dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task,
			   &io->err)) < 0)
		goto out;
	/* Definitions travel as text in the metadata's character set. */
	if ((r = conn_exec(run.src, "SET NAMES utf8mb4", &io->err)) < 0 ||
	    (r = conn_exec(run.dst, "SET NAMES utf8mb4", &io->err)) < 0 ||
	    (r = conn_exec(run.dst, "SET SESSION foreign_key_checks = 0", &io->err)) < 0)
		goto out;
	if ((r = table_list(&tables, &n, run.src, io->spec, TABLE_MISSING_FAILS, &io->err)) < 0)
		goto out;
	switch (stage) {
	case SCHEMA_CREATE:
		if ((r = meta_ensure(run.dst, meta_database_of(io->spec), &io->err)) < 0)
			goto out;
		for (i = 0; i < io->spec->nobjects; i++)
			if ((r = create_database(&run, &io->spec->objects[i], &io->err)) < 0)
				goto out;
		if ((r = create_tables(&run, tables, n, &io->err)) < 0)
			goto out;
		for (i = 0; i < io->spec->nobjects; i++) {
			const struct object_sel *o = &io->spec->objects[i];
			if (!spec_whole_database(o))
				continue;
			if ((r = create_views(&run, o, &io->err)) < 0 ||
			    (r = create_routines(&run, o, &io->err)) < 0 ||
			    (r = create_events(&run, o, EVENTS_DISABLED, &io->err)) < 0)
				goto out;
		}
		break;
	case SCHEMA_AFTER_FULL:
	case SCHEMA_CUTOVER:
		if (stage == SCHEMA_AFTER_FULL && (r = create_fks(&run, tables, n, &io->err)) < 0)
			goto out;
		if ((stage == SCHEMA_AFTER_FULL) == incremental)
			break; /* triggers and events at the other stage */
		for (i = 0; i < io->spec->nobjects; i++) {
			const struct object_sel *o = &io->spec->objects[i];
			if (!spec_whole_database(o))
				continue;
			if ((r = create_triggers(&run, o, &io->err)) < 0 ||
			    (r = create_events(&run, o, EVENTS_AS_ON_SOURCE, &io->err)) < 0)
				goto out;
		}
		break;
	}
	if (buf_printf(&io->report, "schema:\n  stage: %s\n  created: %d\n",
		       stage == SCHEMA_CREATE	    ? "create"
		       : stage == SCHEMA_AFTER_FULL ? "after-full"
						    : "cutover",
		       run.ncreated) < 0 ||
	    (run.created.len && (buf_puts(&io->report, "  objects:\n") < 0 ||
				 buf_add(&io->report, run.created.ptr, run.created.len) < 0)) ||
	    (run.skipped.len && (buf_puts(&io->report, "  skipped:\n") < 0 ||
				 buf_add(&io->report, run.skipped.ptr, run.skipped.len) < 0)) ||
	    (run.definers.len && (buf_puts(&io->report, "  definers:\n") < 0 ||
				  buf_add(&io->report, run.definers.ptr, run.definers.len) < 0))) {
		r = oom(&io->err);
		goto out;
	}
	schema_warning(io->warning, sizeof(io->warning), &run);
	r = 0;
out:
	table_list_free(tables, n);
	buf_release(&run.created);
	buf_release(&run.skipped);
	buf_release(&run.definers);
	if (run.src)
		mysql_close(run.src);
	if (run.dst)
		mysql_close(run.dst);
	return r;
}
