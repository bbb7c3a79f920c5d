#include "lib/common.h"
#include "engine/tableinfo.h"
#include "engine/conn.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

static const char *numeric_types[] = {"tinyint", "smallint", "mediumint", "int",
				      "integer", "bigint",   "decimal",	  "numeric",
				      "float",	 "double",   "real",	  "year"};

static bool is_numeric(const char *t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(numeric_types); i++)
		if (!strcmp(t, numeric_types[i]))
			return true;
	return false;
}

static void free_table(struct table_info *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].dest_name);
		free(t->cols[i].data_type);
		free(t->cols[i].charset);
		free(t->cols[i].collation);
	}
	free(t->cols);
	free(t->key);
	free(t->db);
	free(t->table);
	free(t->dest_db);
	free(t->dest_table);
}

void tableinfo_free_list(struct table_info *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free_table(&t[i]);
	free(t);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int query(MYSQL_RES **res, MYSQL *m, const struct buf *q, struct gw_err *err)
{
	if (mysql_real_query(m, q->ptr, q->len))
		return conn_error(err, m, "reading the source's tables");
	if (!(*res = mysql_store_result(m)))
		return conn_error(err, m, "reading the source's tables");
	return 0;
}

/* Columns and key of one table. */
static int load_table(struct table_info *t, MYSQL *src, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r = GW_ENOMEM;
	size_t n;

	if (buf_puts(&q,
		     "SELECT COLUMN_NAME, LOWER(DATA_TYPE), CHARACTER_SET_NAME, COLLATION_NAME,"
		     " IS_GENERATED FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(&q, src, t->db, strlen(t->db)) < 0 ||
	    buf_puts(&q, " AND TABLE_NAME = ") < 0 ||
	    conn_quote_string(&q, src, t->table, strlen(t->table)) < 0 ||
	    buf_puts(&q, " ORDER BY ORDINAL_POSITION") < 0)
		goto oom;
	if ((r = query(&res, src, &q, err)) < 0)
		goto out;
	n = (size_t)mysql_num_rows(res);
	if (!(t->cols = calloc(n ? n : 1, sizeof(*t->cols))))
		goto oom;
	while ((row = mysql_fetch_row(res))) {
		struct col_info *c = &t->cols[t->ncols];
		if (row[4] && strcmp(row[4], "NEVER"))
			continue; /* generated: the destination computes it */
		if (!spec_column_selected(t->tsel, row[0]))
			continue;
		c->name = strdup(row[0]);
		c->dest_name = strdup(spec_dest_column(t->tsel, row[0]));
		c->data_type = strdup(row[1]);
		c->charset = row[2] && strcmp(row[2], "binary") ? strdup(row[2]) : NULL;
		c->collation = row[2] && strcmp(row[2], "binary") ? dup_or_null(row[3]) : NULL;
		if (!c->name || !c->dest_name || !c->data_type)
			goto oom;
		c->numeric = is_numeric(c->data_type);
		c->is_json = !strcmp(c->data_type, "json");
		t->ncols++;
	}
	mysql_free_result(res);
	res = NULL;
	if (t->ncols == 0) {
		r = err_set(err, GW_EFATAL, "table %s.%s: no column to copy", t->db, t->table);
		goto out;
	}

	/* The key: the primary key, else the first unique index whose
	 * columns are all NOT NULL. */
	buf_reset(&q);
	if (buf_puts(&q, "SELECT s.INDEX_NAME, s.COLUMN_NAME FROM information_schema.STATISTICS s"
			 " JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA"
			 " AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME"
			 " WHERE s.TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(&q, src, t->db, strlen(t->db)) < 0 ||
	    buf_puts(&q, " AND s.TABLE_NAME = ") < 0 ||
	    conn_quote_string(&q, src, t->table, strlen(t->table)) < 0 ||
	    buf_puts(&q, " AND s.NON_UNIQUE = 0 AND s.SUB_PART IS NULL AND s.INDEX_NAME NOT IN"
			 " (SELECT s2.INDEX_NAME FROM information_schema.STATISTICS s2"
			 "  JOIN information_schema.COLUMNS c2 ON c2.TABLE_SCHEMA = s2.TABLE_SCHEMA"
			 "  AND c2.TABLE_NAME = s2.TABLE_NAME AND c2.COLUMN_NAME = s2.COLUMN_NAME"
			 "  WHERE s2.TABLE_SCHEMA = s.TABLE_SCHEMA AND s2.TABLE_NAME = s.TABLE_NAME"
			 "  AND (c2.IS_NULLABLE = 'YES' OR s2.SUB_PART IS NOT NULL))"
			 " ORDER BY s.INDEX_NAME <> 'PRIMARY', s.INDEX_NAME, s.SEQ_IN_INDEX") < 0)
		goto oom;
	if ((r = query(&res, src, &q, err)) < 0)
		goto out;
	{
		char first[256] = "";
		if (!(t->key = calloc(t->ncols, sizeof(*t->key))))
			goto oom;
		while ((row = mysql_fetch_row(res))) {
			size_t i;
			if (!first[0])
				(void)snprintf(first, sizeof(first), "%s", row[0]);
			if (strcmp(first, row[0]))
				break;
			for (i = 0; i < t->ncols; i++)
				if (!strcmp(t->cols[i].name, row[1]))
					break;
			if (i == t->ncols) {
				/* A key column that is not copied: the key is unusable
				 * (precheck reports the column list). */
				t->nkey = 0;
				break;
			}
			t->key[t->nkey++] = i;
		}
	}
	r = 0;
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
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
	const struct table_info *x = a, *y = b;
	uint64_t sx = x->est_rows * (x->avg_row_len ? x->avg_row_len : 1);
	uint64_t sy = y->est_rows * (y->avg_row_len ? y->avg_row_len : 1);

	return sx < sy ? 1 : sx > sy ? -1 : strcmp(x->table, y->table);
}

int tableinfo_list(struct table_info **out, size_t *nout, MYSQL *src, const struct spec *s,
		   struct gw_err *err)
{
	struct table_info *list = NULL;
	size_t n = 0, i, j;
	int r = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < s->nobjects && r == 0; i++) {
		const struct object_sel *o = &s->objects[i];
		struct buf q = BUF_INIT;
		MYSQL_RES *res = NULL;
		MYSQL_ROW row;

		if (buf_puts(&q,
			     "SELECT TABLE_NAME, IFNULL(TABLE_ROWS, 0), IFNULL(AVG_ROW_LENGTH, 0)"
			     " FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'"
			     " AND TABLE_SCHEMA = ") < 0 ||
		    conn_quote_string(&q, src, o->database, strlen(o->database)) < 0 ||
		    buf_puts(&q, " ORDER BY TABLE_NAME") < 0) {
			buf_release(&q);
			r = err_set(err, GW_ENOMEM, "out of memory");
			break;
		}
		r = query(&res, src, &q, err);
		buf_release(&q);
		if (r < 0)
			break;
		while ((row = mysql_fetch_row(res))) {
			const struct table_sel *tsel = NULL;
			struct table_info *t;

			if (!object_selects(o, row[0], &tsel))
				continue;
			t = realloc(list, (n + 1) * sizeof(*list));
			if (!t) {
				r = err_set(err, GW_ENOMEM, "out of memory");
				break;
			}
			list = t;
			t = &list[n];
			memset(t, 0, sizeof(*t));
			n++;
			t->tsel = tsel;
			t->db = strdup(o->database);
			t->table = strdup(row[0]);
			t->dest_db = strdup(spec_dest_database(o));
			t->dest_table = strdup(spec_dest_table(tsel, row[0]));
			t->est_rows = strtoull(row[1], NULL, 10);
			t->avg_row_len = strtoull(row[2], NULL, 10);
			if (!t->db || !t->table || !t->dest_db || !t->dest_table) {
				r = err_set(err, GW_ENOMEM, "out of memory");
				break;
			}
		}
		mysql_free_result(res);
		/* Tables named in the spec but absent are precheck's to report;
		 * here they are an error, never skipped silently. */
		for (j = 0; r == 0 && j < o->ntables; j++) {
			size_t k;
			for (k = 0; k < n; k++)
				if (!strcmp(list[k].db, o->database) &&
				    !strcmp(list[k].table, o->tables[j].name))
					break;
			if (k == n)
				r = err_set(err, GW_EFATAL, "table %s.%s: not found on the source",
					    o->database, o->tables[j].name);
		}
	}
	for (i = 0; r == 0 && i < n; i++)
		r = load_table(&list[i], src, err);
	if (r < 0) {
		tableinfo_free_list(list, n);
		return r;
	}
	qsort(list, n, sizeof(*list), cmp_size);
	*out = list;
	*nout = n;
	return 0;
}

int tableinfo_literal(struct buf *b, const struct col_info *c, const char *val, size_t len)
{
	if (!val)
		return buf_puts(b, "NULL");
	if (c->numeric)
		return buf_add(b, val, len);
	if (c->is_json) {
		if (buf_puts(b, "CONVERT(") < 0 || conn_quote_string(b, NULL, val, len) < 0)
			return GW_ENOMEM;
		return buf_printf(b, " USING %s)", c->charset ? c->charset : "utf8mb4");
	}
	if (c->charset && len) {
		if (buf_printf(b, "_%s ", c->charset) < 0 ||
		    conn_quote_string(b, NULL, val, len) < 0)
			return GW_ENOMEM;
		return c->collation ? buf_printf(b, " COLLATE %s", c->collation) : 0;
	}
	return conn_quote_string(b, NULL, val, len);
}

int tableinfo_column_list(struct buf *b, const struct table_info *t, bool dest)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if ((i && buf_puts(b, ", ") < 0) ||
		    conn_quote_ident(b, dest ? t->cols[i].dest_name : t->cols[i].name) < 0)
			return GW_ENOMEM;
	return 0;
}

int tableinfo_name(struct buf *b, const struct table_info *t, bool dest)
{
	if (conn_quote_ident(b, dest ? t->dest_db : t->db) < 0 || buf_putc(b, '.') < 0)
		return GW_ENOMEM;
	return conn_quote_ident(b, dest ? t->dest_table : t->table);
}

int tableinfo_key_after(struct buf *b, const struct table_info *t, char *const *last)
{
	size_t i, j;

	if (buf_putc(b, '(') < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->nkey; i++) {
		if (i && buf_puts(b, " OR ") < 0)
			return GW_ENOMEM;
		if (buf_putc(b, '(') < 0)
			return GW_ENOMEM;
		for (j = 0; j < i; j++)
			if (conn_quote_ident(b, t->cols[t->key[j]].name) < 0 ||
			    buf_printf(b, " = %s AND ", last[j]) < 0)
				return GW_ENOMEM;
		if (conn_quote_ident(b, t->cols[t->key[i]].name) < 0 ||
		    buf_printf(b, " > %s)", last[i]) < 0)
			return GW_ENOMEM;
	}
	return buf_putc(b, ')');
}

int tableinfo_key_list(struct buf *b, const struct table_info *t)
{
	size_t i;

	for (i = 0; i < t->nkey; i++)
		if ((i && buf_puts(b, ", ") < 0) ||
		    conn_quote_ident(b, t->cols[t->key[i]].name) < 0)
			return GW_ENOMEM;
	return 0;
}
