#include "lib/common.h"
#include "engine/table.h"
#include "engine/conn.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

static bool type_in(const char *t, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(t, list[i]))
			return true;
	return false;
}

static bool is_integer_type(const char *t)
{
	static const char *const ints[] = {"tinyint", "smallint", "mediumint",
					   "int",     "integer",  "bigint"};
	return type_in(t, ints, ARRAY_SIZE(ints));
}

static bool is_numeric_type(const char *t)
{
	static const char *const nums[] = {"decimal", "numeric", "float", "double", "real", "year"};
	return is_integer_type(t) || type_in(t, nums, ARRAY_SIZE(nums));
}

/* EXTRA of a generated column: "VIRTUAL GENERATED", "STORED GENERATED"
 * (MySQL, MariaDB 10.2+), "VIRTUAL", "PERSISTENT" (MariaDB 10.1); not
 * MySQL's "DEFAULT_GENERATED" (a default expression). */
static bool is_generated(const char *extra)
{
	return extra && (strstr(extra, "VIRTUAL") || strstr(extra, "STORED GENERATED") ||
			 strstr(extra, "PERSISTENT"));
}

static void index_release(struct table_index *x)
{
	free(x->name);
	free(x->type);
	free(x->parts);
}

void table_release(struct table *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		struct table_col *c = &t->cols[i];
		free(c->name);
		free(c->dest_name);
		free(c->data_type);
		free(c->column_type);
		free(c->charset);
		free(c->collation);
		free(c->default_value);
		free(c->extra);
	}
	for (i = 0; i < t->nindexes; i++)
		index_release(&t->indexes[i]);
	free(t->cols);
	free(t->copied);
	free(t->indexes);
	free(t->key);
	free(t->db);
	free(t->table);
	free(t->dest_db);
	free(t->dest_table);
	free(t->engine);
	memset(t, 0, sizeof(*t));
}

void table_list_free(struct table *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		table_release(&t[i]);
	free(t);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int oom(struct gw_err *err)
{
	return err_set(err, GW_ENOMEM, "out of memory");
}

/* --- the key --------------------------------------------------------- */

/* Whether index x can address rows: unique, every part a whole column
 * that is NOT NULL (a NULL never equals itself, and keyset pagination
 * never reaches NULL rows). */
static bool index_addresses_rows(const struct table *t, const struct table_index *x)
{
	size_t i;

	if (x->kind == TABLE_INDEX_PLAIN || !x->nparts)
		return false;
	for (i = 0; i < x->nparts; i++)
		if (x->parts[i].col < 0 || x->parts[i].sub_part ||
		    t->cols[x->parts[i].col].nullable)
			return false;
	return true;
}

void table_choose_key(struct table *t)
{
	size_t i, k;

	t->key_kind = TABLE_KEY_NONE;
	t->key_index = NULL;
	t->nkey = 0;
	t->key_unselected = NULL;
	for (i = 0; i < t->nindexes && !t->key_index; i++)
		if (index_addresses_rows(t, &t->indexes[i]))
			t->key_index = &t->indexes[i];
	if (!t->key_index)
		return;
	t->key_kind =
	    t->key_index->kind == TABLE_INDEX_PRIMARY ? TABLE_KEY_PRIMARY : TABLE_KEY_UNIQUE;
	for (k = 0; k < t->key_index->nparts; k++) {
		size_t c = (size_t)t->key_index->parts[k].col;
		t->key[t->nkey++] = c;
		if (!t->cols[c].dest_name && !t->key_unselected)
			t->key_unselected = t->cols[c].name;
	}
}

static int cmp_index(const void *a, const void *b)
{
	const struct table_index *x = a, *y = b;

	if ((x->kind == TABLE_INDEX_PRIMARY) != (y->kind == TABLE_INDEX_PRIMARY))
		return x->kind == TABLE_INDEX_PRIMARY ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* --- loading --------------------------------------------------------- */

/* " WHERE TABLE_SCHEMA = 'db' [AND TABLE_NAME = 'name']" */
static int where_schema(struct buf *q, MYSQL *m, const char *db, const char *name)
{
	if (buf_puts(q, " WHERE TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(q, m, db, strlen(db)) < 0)
		return GW_ENOMEM;
	if (name && (buf_puts(q, " AND TABLE_NAME = ") < 0 ||
		     conn_quote_string(q, m, name, strlen(name)) < 0))
		return GW_ENOMEM;
	return 0;
}

/* The table of v[0..n) named `name` (loaded tables of one database); the
 * rows come grouped by table, so the last one found is tried first. */
static struct table *find(struct table *v, size_t n, size_t *hint, const char *name)
{
	size_t i;

	if (*hint < n && !strcmp(v[*hint].table, name))
		return &v[*hint];
	for (i = 0; i < n; i++)
		if (!strcmp(v[i].table, name)) {
			*hint = i;
			return &v[i];
		}
	return NULL;
}

static int add_column(struct table *t, const MYSQL_ROW row)
{
	struct table_col *c, *v = realloc(t->cols, (t->ncols + 1) * sizeof(*v));

	if (!v)
		return GW_ENOMEM;
	t->cols = v;
	c = &v[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->pos = -1;
	/* 1 COLUMN_NAME, 2 DATA_TYPE, 3 COLUMN_TYPE, 4 IS_NULLABLE,
	 * 5 CHARACTER_SET_NAME, 6 COLLATION_NAME, 7 COLUMN_DEFAULT, 8 EXTRA */
	c->name = strdup(row[1] ? row[1] : "");
	c->data_type = strdup(row[2] ? row[2] : "");
	c->column_type = strdup(row[3] ? row[3] : "");
	c->charset = dup_or_null(row[5]);
	c->collation = dup_or_null(row[6]);
	c->default_value = dup_or_null(row[7]);
	c->extra = strdup(row[8] ? row[8] : "");
	if (!c->name || !c->data_type || !c->column_type || !c->extra || (row[5] && !c->charset) ||
	    (row[6] && !c->collation) || (row[7] && !c->default_value))
		return GW_ENOMEM;
	if (spec_column_selected(t->tsel, c->name) &&
	    !(c->dest_name = strdup(spec_dest_column(t->tsel, c->name))))
		return GW_ENOMEM;
	c->nullable = row[4] && !strcmp(row[4], "YES");
	c->is_unsigned = strstr(c->column_type, "unsigned") != NULL;
	c->generated = is_generated(c->extra);
	c->integer = is_integer_type(c->data_type);
	c->numeric = is_numeric_type(c->data_type);
	c->text = c->charset && strcmp(c->charset, "binary");
	c->is_json = !strcmp(c->data_type, "json");
	return 0;
}

static int add_index_part(struct table *t, const MYSQL_ROW row)
{
	struct table_index *x = t->nindexes ? &t->indexes[t->nindexes - 1] : NULL;
	struct table_index_part *p;
	size_t i;

	/* 1 INDEX_NAME, 2 NON_UNIQUE, 3 COLUMN_NAME, 4 SUB_PART, 5 INDEX_TYPE */
	if (!x || strcmp(x->name, row[1] ? row[1] : "")) {
		if (!(x = realloc(t->indexes, (t->nindexes + 1) * sizeof(*x))))
			return GW_ENOMEM;
		t->indexes = x;
		x = &x[t->nindexes++];
		memset(x, 0, sizeof(*x));
		x->name = strdup(row[1] ? row[1] : "");
		x->type = strdup(row[5] ? row[5] : "");
		if (!x->name || !x->type)
			return GW_ENOMEM;
		x->kind = !strcmp(x->name, "PRIMARY")	   ? TABLE_INDEX_PRIMARY
			  : row[2] && !strcmp(row[2], "0") ? TABLE_INDEX_UNIQUE
							   : TABLE_INDEX_PLAIN;
	}
	if (!(p = realloc(x->parts, (x->nparts + 1) * sizeof(*p))))
		return GW_ENOMEM;
	x->parts = p;
	p = &p[x->nparts++];
	p->col = -1;
	p->sub_part = row[4] ? (unsigned)strtoul(row[4], NULL, 10) : 0;
	for (i = 0; row[3] && i < t->ncols; i++)
		if (!strcasecmp(t->cols[i].name, row[3])) {
			p->col = (int)i;
			break;
		}
	return 0;
}

/* What the columns and indexes imply: copied columns, sorted indexes,
 * the key. */
static int finish(struct table *t)
{
	size_t i;

	if (!(t->copied = calloc(t->ncols ? t->ncols : 1, sizeof(*t->copied))) ||
	    !(t->key = calloc(t->ncols ? t->ncols : 1, sizeof(*t->key))))
		return GW_ENOMEM;
	for (i = 0; i < t->ncols; i++)
		if (t->cols[i].dest_name && !t->cols[i].generated) {
			t->cols[i].pos = (int)t->ncopied;
			t->copied[t->ncopied++] = i;
		}
	qsort(t->indexes, t->nindexes, sizeof(*t->indexes), cmp_index);
	table_choose_key(t);
	return 0;
}

/*
 * Columns and indexes of tables v[0..n), all of database db (name: of the
 * one table, or NULL for every table of the database), in two queries:
 * information_schema is read with plain filters, never a correlated
 * subquery (which opens the tables once per row, and costs far more).
 */
static int load_details(struct table *v, size_t n, MYSQL *m, const char *db, const char *name,
			struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t hint = 0, i;
	struct table *t;
	int r;

	if (buf_puts(&q, "SELECT TABLE_NAME, COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE,"
			 " IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_DEFAULT, EXTRA"
			 " FROM information_schema.COLUMNS") < 0 ||
	    where_schema(&q, m, db, name) < 0 ||
	    buf_puts(&q, " ORDER BY TABLE_NAME, ORDINAL_POSITION") < 0) {
		r = oom(err);
		goto out;
	}
	if ((r = conn_query(&res, m, buf_cstr(&q), "reading the columns", err)) < 0)
		goto out;
	while ((row = mysql_fetch_row(res)))
		if (row[0] && (t = find(v, n, &hint, row[0])) && add_column(t, row) < 0) {
			r = oom(err);
			goto out;
		}
	mysql_free_result(res);
	res = NULL;
	buf_reset(&q);
	if (buf_puts(&q, "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART,"
			 " INDEX_TYPE FROM information_schema.STATISTICS") < 0 ||
	    where_schema(&q, m, db, name) < 0 ||
	    buf_puts(&q, " ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX") < 0) {
		r = oom(err);
		goto out;
	}
	if ((r = conn_query(&res, m, buf_cstr(&q), "reading the indexes", err)) < 0)
		goto out;
	while ((row = mysql_fetch_row(res)))
		if (row[0] && (t = find(v, n, &hint, row[0])) && add_index_part(t, row) < 0) {
			r = oom(err);
			goto out;
		}
	for (i = 0; i < n; i++)
		if (finish(&v[i]) < 0) {
			r = oom(err);
			goto out;
		}
	r = 0;
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

static int set_names(struct table *t, const char *db, const char *name,
		     const struct table_sel *tsel, const char *dest_db, const char *dest_table)
{
	t->tsel = tsel;
	t->db = strdup(db);
	t->table = strdup(name);
	t->dest_db = strdup(dest_db ? dest_db : db);
	t->dest_table = strdup(dest_table ? dest_table : name);
	return t->db && t->table && t->dest_db && t->dest_table ? 0 : GW_ENOMEM;
}

/* 1 ENGINE, 2 TABLE_ROWS, 3 AVG_ROW_LENGTH, 4 DATA_LENGTH + INDEX_LENGTH */
static int set_stats(struct table *t, const MYSQL_ROW row)
{
	if (row[1] && !(t->engine = strdup(row[1])))
		return GW_ENOMEM;
	t->est_rows = row[2] ? strtoull(row[2], NULL, 10) : 0;
	t->avg_row_len = row[3] ? strtoull(row[3], NULL, 10) : 0;
	t->bytes = row[4] ? strtoull(row[4], NULL, 10) : 0;
	return 0;
}

#define TABLES_COLUMNS                                           \
	"SELECT TABLE_NAME, ENGINE, TABLE_ROWS, AVG_ROW_LENGTH," \
	" IFNULL(DATA_LENGTH, 0) + IFNULL(INDEX_LENGTH, 0) FROM information_schema.TABLES"

int table_load(struct table *t, MYSQL *m, const char *db, const char *name,
	       const struct table_sel *tsel, const char *dest_db, const char *dest_table,
	       struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r;

	table_release(t);
	if (set_names(t, db, name, tsel, dest_db, dest_table) < 0 ||
	    buf_puts(&q, TABLES_COLUMNS) < 0 || where_schema(&q, m, db, name) < 0) {
		r = oom(err);
		goto out;
	}
	if ((r = conn_query(&res, m, buf_cstr(&q), "reading the table", err)) < 0)
		goto out;
	if (!(row = mysql_fetch_row(res))) {
		r = err_set(err, GW_ENOTFOUND, "table %s.%s: not found", db, name);
		goto out;
	}
	if (set_stats(t, row) < 0) {
		r = oom(err);
		goto out;
	}
	r = load_details(t, 1, m, db, name, err);
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	if (r < 0)
		table_release(t);
	return r;
}

/* Whether object o selects table (spec_table_selected asks the first object
 * of a database; here each object answers for itself). */
static bool object_selects(const struct object_sel *o, const char *table,
			   const struct table_sel **tsel_out)
{
	size_t i;

	*tsel_out = NULL;
	for (i = 0; i < o->nexclude; i++)
		if (util_glob_match(o->exclude_tables[i], table))
			return false;
	if (!o->tables)
		return true;
	for (i = 0; i < o->ntables; i++)
		if (!strcmp(o->tables[i].name, table)) {
			*tsel_out = &o->tables[i];
			return true;
		}
	return false;
}

static int cmp_size(const void *a, const void *b)
{
	const struct table *x = a, *y = b;
	uint64_t sx = x->est_rows * (x->avg_row_len ? x->avg_row_len : 1);
	uint64_t sy = y->est_rows * (y->avg_row_len ? y->avg_row_len : 1);
	int c;

	if (sx != sy)
		return sx < sy ? 1 : -1;
	c = strcmp(x->db, y->db);
	return c ? c : strcmp(x->table, y->table);
}

/* The selected base tables of object o into *list (appended). */
static int list_object(struct table **list, size_t *n, MYSQL *src, const struct object_sel *o,
		       enum table_missing missing, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t first = *n, j, k;
	int r;

	if (buf_puts(&q, TABLES_COLUMNS) < 0 || where_schema(&q, src, o->database, NULL) < 0 ||
	    buf_puts(&q, " AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME") < 0) {
		r = oom(err);
		goto out;
	}
	if ((r = conn_query(&res, src, buf_cstr(&q), "reading the source's tables", err)) < 0)
		goto out;
	while ((row = mysql_fetch_row(res))) {
		const struct table_sel *tsel = NULL;
		struct table *t;

		if (!row[0] || !object_selects(o, row[0], &tsel))
			continue;
		if (!(t = realloc(*list, (*n + 1) * sizeof(*t)))) {
			r = oom(err);
			goto out;
		}
		*list = t;
		t = &t[(*n)++];
		memset(t, 0, sizeof(*t));
		if (set_names(t, o->database, row[0], tsel, spec_dest_database(o),
			      spec_dest_table(tsel, row[0])) < 0 ||
		    set_stats(t, row) < 0) {
			r = oom(err);
			goto out;
		}
	}
	/* Tables named in the spec but absent are the precheck's to report;
	 * elsewhere they are an error, never skipped silently. */
	for (j = 0; missing == TABLE_MISSING_FAILS && j < o->ntables; j++) {
		for (k = first; k < *n; k++)
			if (!strcmp((*list)[k].table, o->tables[j].name))
				break;
		if (k == *n) {
			r = err_set(err, GW_EFATAL, "table %s.%s: not found on the source",
				    o->database, o->tables[j].name);
			goto out;
		}
	}
	if (*n > first)
		r = load_details(*list + first, *n - first, src, o->database,
				 o->ntables == 1 ? o->tables[0].name : NULL, err);
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

int table_list(struct table **out, size_t *nout, MYSQL *src, const struct spec *s,
	       enum table_missing missing, struct gw_err *err)
{
	struct table *list = NULL;
	size_t n = 0, i;
	int r = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < s->nobjects && r == 0; i++)
		r = list_object(&list, &n, src, &s->objects[i], missing, err);
	if (r < 0) {
		table_list_free(list, n);
		return r;
	}
	qsort(list, n, sizeof(*list), cmp_size);
	*out = list;
	*nout = n;
	return 0;
}

/* --- SQL text -------------------------------------------------------- */

int table_literal(struct buf *b, const struct table_col *c, const char *val, size_t len)
{
	if (!val)
		return buf_puts(b, "NULL");
	if (c->numeric)
		return buf_add(b, val, len);
	if (c->is_json) {
		if (buf_puts(b, "CONVERT(") < 0 || conn_quote_string(b, NULL, val, len) < 0)
			return GW_ENOMEM;
		return buf_printf(b, " USING %s)", c->text ? c->charset : "utf8mb4");
	}
	if (c->text && len) {
		if (buf_printf(b, "_%s ", c->charset) < 0 ||
		    conn_quote_string(b, NULL, val, len) < 0)
			return GW_ENOMEM;
		return c->collation ? buf_printf(b, " COLLATE %s", c->collation) : 0;
	}
	return conn_quote_string(b, NULL, val, len);
}

static const char *side_name(const struct table_col *c, enum table_side side)
{
	return side == TABLE_DEST && c->dest_name ? c->dest_name : c->name;
}

int table_column_list(struct buf *b, const struct table *t, enum table_side side)
{
	size_t i;

	for (i = 0; i < t->ncopied; i++)
		if ((i && buf_puts(b, ", ") < 0) ||
		    conn_quote_ident(b, side_name(&t->cols[t->copied[i]], side)) < 0)
			return GW_ENOMEM;
	return 0;
}

int table_select_col(struct buf *b, const struct table_col *c, const char *name)
{
	if (strcmp(c->data_type, "float"))
		return conn_quote_ident(b, name);
	if (buf_putc(b, '(') < 0 || conn_quote_ident(b, name) < 0)
		return GW_ENOMEM;
	return buf_puts(b, " * 1E0)");
}

int table_select_list(struct buf *b, const struct table *t)
{
	size_t i;

	for (i = 0; i < t->ncopied; i++) {
		const struct table_col *c = &t->cols[t->copied[i]];
		if ((i && buf_puts(b, ", ") < 0) || table_select_col(b, c, c->name) < 0)
			return GW_ENOMEM;
	}
	return 0;
}

int table_name(struct buf *b, const struct table *t, enum table_side side)
{
	if (conn_quote_ident(b, side == TABLE_DEST ? t->dest_db : t->db) < 0 ||
	    buf_putc(b, '.') < 0)
		return GW_ENOMEM;
	return conn_quote_ident(b, side == TABLE_DEST ? t->dest_table : t->table);
}

int table_key_after(struct buf *b, const struct table *t, enum table_side side, char *const *last)
{
	size_t i, j;

	if (buf_putc(b, '(') < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->nkey; i++) {
		if ((i && buf_puts(b, " OR ") < 0) || buf_putc(b, '(') < 0)
			return GW_ENOMEM;
		for (j = 0; j < i; j++)
			if (conn_quote_ident(b, side_name(table_key_col(t, j), side)) < 0 ||
			    buf_printf(b, " = %s AND ", last[j]) < 0)
				return GW_ENOMEM;
		if (conn_quote_ident(b, side_name(table_key_col(t, i), side)) < 0 ||
		    buf_printf(b, " > %s)", last[i]) < 0)
			return GW_ENOMEM;
	}
	return buf_putc(b, ')');
}

int table_key_list(struct buf *b, const struct table *t, enum table_side side)
{
	size_t i;

	for (i = 0; i < t->nkey; i++)
		if ((i && buf_puts(b, ", ") < 0) ||
		    conn_quote_ident(b, side_name(table_key_col(t, i), side)) < 0)
			return GW_ENOMEM;
	return 0;
}

/* --- comparing definitions ------------------------------------------- */

/* "int(11) NOT NULL DEFAULT 0 auto_increment COLLATE x" */
static int col_desc(struct buf *b, const struct table_col *c)
{
	buf_reset(b);
	if (buf_puts(b, c->column_type) < 0 || (!c->nullable && buf_puts(b, " NOT NULL") < 0) ||
	    (c->default_value && buf_printf(b, " DEFAULT %s", c->default_value) < 0) ||
	    (c->extra[0] && buf_printf(b, " %s", c->extra) < 0) ||
	    (c->collation && buf_printf(b, " COLLATE %s", c->collation) < 0))
		return GW_ENOMEM;
	return 0;
}

/* "UNIQUE BTREE (`a`, `b`(10))" with one side's names; *kept false when
 * the index uses a column the selection leaves out. */
static int index_desc(struct buf *b, bool *kept, const struct table *t, const struct table_index *x,
		      enum table_side side)
{
	size_t i;

	buf_reset(b);
	*kept = true;
	if (buf_printf(b, "%s%s (", x->kind == TABLE_INDEX_PLAIN ? "" : "UNIQUE ", x->type) < 0)
		return GW_ENOMEM;
	for (i = 0; i < x->nparts; i++) {
		const struct table_col *c = x->parts[i].col >= 0 ? &t->cols[x->parts[i].col] : NULL;
		if (c && side == TABLE_DEST && !c->dest_name)
			*kept = false;
		if ((i && buf_puts(b, ", ") < 0) ||
		    conn_quote_ident(b, c ? side_name(c, side) : "") < 0 ||
		    (x->parts[i].sub_part && buf_printf(b, "(%u)", x->parts[i].sub_part) < 0))
			return GW_ENOMEM;
	}
	return buf_putc(b, ')');
}

/* An index keeps its name on the destination, but one named like a
 * renamed column is renamed with it (the schema stage rewrites every such
 * identifier). */
static const char *index_dest_name(const struct table *t, const struct table_index *x)
{
	return spec_dest_column(t->tsel, x->name);
}

static const struct table_index *index_named(const struct table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nindexes; i++)
		if (!strcmp(t->indexes[i].name, name))
			return &t->indexes[i];
	return NULL;
}

static int diff_columns(struct buf *out, const struct table *src, const struct table *dst)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t i = 0, j = 0, n = 0;
	int r = 0;

	for (;; i++, j++, n++) {
		while (i < src->ncols && !src->cols[i].dest_name)
			i++;
		if (i >= src->ncols && j >= dst->ncols)
			break;
		if (j >= dst->ncols) {
			r = buf_printf(out, "column `%s` is missing on the destination",
				       src->cols[i].dest_name);
			break;
		}
		if (i >= src->ncols) {
			r = buf_printf(out,
				       "the destination has column `%s`, which the source table "
				       "(as selected) has not",
				       dst->cols[j].name);
			break;
		}
		if (strcmp(src->cols[i].dest_name, dst->cols[j].name)) {
			r = buf_printf(out,
				       "column %zu is `%s` on the source, `%s` on the destination",
				       n + 1, src->cols[i].dest_name, dst->cols[j].name);
			break;
		}
		if (col_desc(&a, &src->cols[i]) < 0 || col_desc(&b, &dst->cols[j]) < 0) {
			r = GW_ENOMEM;
			break;
		}
		if (strcmp(buf_cstr(&a), buf_cstr(&b))) {
			r = buf_printf(out,
				       "column `%s` is %s on the source, %s on the destination",
				       src->cols[i].dest_name, buf_cstr(&a), buf_cstr(&b));
			break;
		}
	}
	buf_release(&a);
	buf_release(&b);
	return r;
}

static int diff_indexes(struct buf *out, const struct table *src, const struct table *dst)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t i;
	bool kept, unused;
	int r = 0;

	for (i = 0; i < src->nindexes && !out->len && r == 0; i++) {
		const struct table_index *x = &src->indexes[i], *y;
		const char *name = index_dest_name(src, x);
		if ((r = index_desc(&a, &kept, src, x, TABLE_DEST)) < 0 || !kept)
			continue;
		if (!(y = index_named(dst, name))) {
			r = buf_printf(out, "index `%s` is missing on the destination", name);
		} else if ((r = index_desc(&b, &unused, dst, y, TABLE_SOURCE)) == 0 &&
			   strcmp(buf_cstr(&a), buf_cstr(&b))) {
			r = buf_printf(out, "index `%s` is %s on the source, %s on the destination",
				       name, buf_cstr(&a), buf_cstr(&b));
		}
	}
	for (i = 0; i < dst->nindexes && !out->len && r == 0; i++) {
		const struct table_index *y = &dst->indexes[i];
		size_t k;
		for (k = 0; k < src->nindexes; k++) {
			if (strcmp(index_dest_name(src, &src->indexes[k]), y->name))
				continue;
			if ((r = index_desc(&a, &kept, src, &src->indexes[k], TABLE_DEST)) < 0 ||
			    kept)
				break;
		}
		if (r == 0 && (k == src->nindexes || !kept))
			r = buf_printf(out,
				       "the destination has index `%s`, which the source table "
				       "(as selected) has not",
				       y->name);
	}
	buf_release(&a);
	buf_release(&b);
	return r;
}

int table_diff(struct buf *out, const struct table *src, const struct table *dst)
{
	buf_reset(out);
	if (diff_columns(out, src, dst) < 0)
		return GW_ENOMEM;
	if (!out->len && diff_indexes(out, src, dst) < 0)
		return GW_ENOMEM;
	return 0;
}
