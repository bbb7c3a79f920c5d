/*
 * The table model: what every engine knows of a table, read by one loader
 * from one server's information_schema. Columns (type, nullability,
 * signedness, character set, generated or not), indexes, and the key that
 * addresses a row: the primary key, else the first unique index (by name)
 * whose columns are all NOT NULL and whole (no prefix, no expression), else
 * none. The precheck judges tables by it, the schema stage compares
 * definitions with it, the copy and verify walk tables by its key, and the
 * incremental migration applies changes by it: they cannot disagree.
 *
 * A table is loaded with a selection (struct table_sel: a column list,
 * column renames) or without (every column under its own name). Columns
 * are kept whole and in table order whatever the selection; `copied` lists
 * those that move (selected and not generated: the destination computes
 * generated columns).
 */
#ifndef GODWIT_TABLE_H
#define GODWIT_TABLE_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "spec/spec.h"

#include <mysql.h>
#include <stdint.h>

struct table_col {
	char *name;	     /* as the server it was read from names it */
	char *dest_name;     /* on the destination (renameColumns applied); NULL when
				the selection leaves the column out */
	char *data_type;     /* DATA_TYPE, lower case ("int", "varchar") */
	char *column_type;   /* COLUMN_TYPE ("int(10) unsigned", "varchar(20)") */
	char *charset;	     /* CHARACTER_SET_NAME; NULL for non-text columns */
	char *collation;     /* COLLATION_NAME; NULL for non-text columns */
	char *default_value; /* COLUMN_DEFAULT as the server shows it; NULL: none */
	char *extra;	     /* EXTRA ("auto_increment", "VIRTUAL GENERATED") */
	bool nullable;
	bool is_unsigned;
	bool generated; /* VIRTUAL or STORED: not copied, the destination computes it */
	bool integer;	/* TINYINT ... BIGINT */
	bool numeric;	/* written as bare digits (integers, DECIMAL, floats, YEAR) */
	bool text;	/* a string in a character set other than binary */
	bool is_json;
	int pos; /* position among the copied columns, -1 when not copied */
};

enum table_index_kind {
	TABLE_INDEX_PRIMARY,
	TABLE_INDEX_UNIQUE,
	TABLE_INDEX_PLAIN, /* KEY, FULLTEXT, SPATIAL */
};

struct table_index_part {
	int col;	   /* index into table.cols; -1 for an expression part */
	unsigned sub_part; /* prefix length, 0 for the whole column */
};

struct table_index {
	char *name;
	enum table_index_kind kind;
	char *type; /* INDEX_TYPE: BTREE, HASH, FULLTEXT, SPATIAL */
	struct table_index_part *parts;
	size_t nparts;
};

enum table_key_kind {
	TABLE_KEY_NONE,	   /* rows are addressed by their whole image */
	TABLE_KEY_PRIMARY, /* the primary key */
	TABLE_KEY_UNIQUE,  /* a unique index on NOT NULL columns */
};

struct table {
	char *db; /* as loaded (the source's names, or the destination's) */
	char *table;
	char *dest_db; /* where the rows go (renameTo applied) */
	char *dest_table;
	const struct table_sel *tsel; /* the selection applied; NULL: every column */
	char *engine;		      /* NULL when unknown */
	uint64_t est_rows;
	uint64_t avg_row_len;
	uint64_t bytes; /* data and indexes */

	struct table_col *cols; /* every column, in table order */
	size_t ncols;
	size_t *copied; /* indexes into cols of the copied columns, table order */
	size_t ncopied;
	struct table_index *indexes; /* PRIMARY first, then by name */
	size_t nindexes;

	/* The key that addresses a row. */
	enum table_key_kind key_kind;
	const struct table_index *key_index; /* NULL for TABLE_KEY_NONE */
	size_t *key;			     /* indexes into cols, key order */
	size_t nkey;			     /* 0 for TABLE_KEY_NONE */
	/* A key column the selection leaves out (rows cannot be addressed on
	 * the destination), or NULL. */
	const char *key_unselected;
};

/* Loads table db.name as server m has it, applying tsel (NULL: every
 * column under its own name). dest_db and dest_table name the destination
 * (NULL: the same names). A table that does not exist is GW_ENOTFOUND
 * ("table DB.NAME: not found"), which the caller turns into what that
 * means to it (never returned from an action as is). t is released first
 * and owned by the caller (table_release). */
int table_load(struct table *t, MYSQL *m, const char *db, const char *name,
	       const struct table_sel *tsel, const char *dest_db, const char *dest_table,
	       struct gw_err *err);
void table_release(struct table *t);

enum table_missing {
	TABLE_MISSING_FAILS,   /* a table the spec names but the source lacks: error */
	TABLE_MISSING_SKIPPED, /* left out (the precheck reports it itself) */
};

/* Every base table the spec selects on the source, biggest first, in a
 * few queries per database. *out is owned by the caller
 * (table_list_free). */
int table_list(struct table **out, size_t *nout, MYSQL *src, const struct spec *s,
	       enum table_missing missing, struct gw_err *err);
void table_list_free(struct table *t, size_t n);

/* Chooses the addressing key from t's columns (their pos and dest_name
 * set) and indexes (PRIMARY first, then by name); t->key has room for
 * ncols entries. Called by the loaders; exposed for tests that build a
 * table by hand. */
void table_choose_key(struct table *t);

/* --- SQL text over the model ---------------------------------------- */

enum table_side {
	TABLE_SOURCE, /* names as loaded */
	TABLE_DEST,   /* destination names */
};

/* The column of the key's k-th part. */
static inline const struct table_col *table_key_col(const struct table *t, size_t k)
{
	return &t->cols[t->key[k]];
}

/* Appends the literal for a value as the text protocol returned it
 * (val NULL: SQL NULL). Strings go as hex with their character set and
 * collation, so comparisons and inserts mean the same bytes. */
int table_literal(struct buf *b, const struct table_col *c, const char *val,
		  size_t len) WARN_UNUSED;
/* "`a`, `b`" of the copied columns, with one side's names. */
int table_column_list(struct buf *b, const struct table *t, enum table_side side) WARN_UNUSED;
/* The copied columns as a SELECT reads them without loss, source names:
 * "`a`, (`f` * 1E0), `b`". A FLOAT is read as the double it is: the text
 * protocol writes a FLOAT with 6 digits (16777217 as 16777200), a double
 * with all it needs. */
int table_select_list(struct buf *b, const struct table *t) WARN_UNUSED;
/* One column as such a SELECT reads it (c's name on that side). */
int table_select_col(struct buf *b, const struct table_col *c, const char *name) WARN_UNUSED;
/* `db`.`table` on one side. */
int table_name(struct buf *b, const struct table *t, enum table_side side) WARN_UNUSED;
/* "key > last" for keyset pagination by the whole key tuple:
 * (k1 > v1 OR (k1 = v1 AND k2 > v2) ...), with the nkey literals of
 * `last` (SQL text, as table_literal writes them) and one side's names. */
int table_key_after(struct buf *b, const struct table *t, enum table_side side,
		    char *const *last) WARN_UNUSED;
/* "`k1`, `k2`" for ORDER BY, with one side's names. */
int table_key_list(struct buf *b, const struct table *t, enum table_side side) WARN_UNUSED;

/*
 * Compares the definition source table src (as its selection keeps and
 * renames it) would get on the destination with destination table dst
 * (loaded without a selection): columns in order (name, type,
 * nullability, default, extra, collation), then indexes by name
 * (uniqueness, kind, columns, prefixes); an index that uses a column the
 * selection leaves out is not expected. out is reset, then gets the first
 * difference in words ("" when equal).
 */
int table_diff(struct buf *out, const struct table *src, const struct table *dst) WARN_UNUSED;

#endif
