/*
 * The tables a spec selects on the source, as the engines need them: the
 * copied columns (selection and renames applied, generated columns left
 * out), the key used to walk the table in order, and how to write each
 * value back as an SQL literal without loss.
 */
#ifndef GODWIT_TABLEINFO_H
#define GODWIT_TABLEINFO_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "spec/spec.h"

#include <mysql.h>
#include <stdint.h>

struct col_info {
	char *name;	 /* on the source */
	char *dest_name; /* on the destination (renameColumns applied) */
	char *data_type; /* information_schema DATA_TYPE, lower case */
	char *charset;	 /* NULL for non-text columns and binary strings */
	char *collation;
	bool numeric; /* written as bare digits */
	bool is_json;
};

struct table_info {
	char *db;
	char *table;
	char *dest_db;
	char *dest_table;
	const struct table_sel *tsel; /* NULL: whole-database selection */
	struct col_info *cols;	      /* copied columns, in table order */
	size_t ncols;
	size_t *key; /* indexes into cols of the key, in key order */
	size_t nkey; /* 0: the table has no usable key */
	uint64_t est_rows;
	uint64_t avg_row_len;
};

/* Every selected base table of the spec, biggest first. */
int tableinfo_list(struct table_info **out, size_t *nout, MYSQL *src, const struct spec *s,
		   struct gw_err *err);
void tableinfo_free_list(struct table_info *t, size_t n);

/* Appends the literal for a value as the text protocol returned it
 * (val NULL: SQL NULL). Strings go as hex with their character set and
 * collation, so comparisons and inserts mean the same bytes. */
int tableinfo_literal(struct buf *b, const struct col_info *c, const char *val,
		      size_t len) WARN_UNUSED;
/* "`a`, `b`" of source (dest=false) or destination names. */
int tableinfo_column_list(struct buf *b, const struct table_info *t, bool dest) WARN_UNUSED;
/* `db`.`table` on the source or the destination. */
int tableinfo_name(struct buf *b, const struct table_info *t, bool dest) WARN_UNUSED;
/* "key > last" for keyset pagination: (k1 > v1 OR (k1 = v1 AND k2 > v2)...)
 * with the literals in `last` (nkey literals, already SQL). */
int tableinfo_key_after(struct buf *b, const struct table_info *t, char *const *last) WARN_UNUSED;
/* "`k1`, `k2`" for ORDER BY. */
int tableinfo_key_list(struct buf *b, const struct table_info *t) WARN_UNUSED;

#endif
