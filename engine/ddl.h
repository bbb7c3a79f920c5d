/*
 * DDL text read and rewritten on tokens (lib/sqllex.h), never on lines or
 * substrings: what a DDL statement of the binlog acts on (the applier), the
 * CREATE TABLE of the destination from the source's SHOW CREATE TABLE
 * (columns left out, names mapped, foreign keys apart), database renames
 * inside view, routine, trigger and event definitions, and the DEFINER and
 * option words of their headers. A rewriter copies every token it does not
 * change byte for byte, so a name holding a newline, a quote or a comment
 * marker stays one name.
 *
 * Pure: no server, no <mysql.h>; tests/unit/test_ddl.c covers it.
 */
#ifndef GODWIT_DDL_H
#define GODWIT_DDL_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "spec/spec.h"

/* The longest name in bytes: 64 characters of up to 4 bytes. */
#define DDL_NAME_MAX 256

/* The lexer's flags (enum sqllex_flags) for text written under sql_mode
 * (a server's comma-separated list; NULL or "" for none). */
unsigned ddl_mode_flags(const char *sql_mode);

/* --- statements of the binlog ---------------------------------------- */

enum ddl_verb {
	DDL_NONE,
	DDL_CREATE,
	DDL_ALTER,
	DDL_DROP,
	DDL_RENAME,
	DDL_TRUNCATE,
	/* statement-format DML (a session with binlog_format STATEMENT or
	 * MIXED): the rows it changed are not in the binlog */
	DDL_INSERT,
	DDL_REPLACE,
	DDL_UPDATE,
	DDL_DELETE,
	DDL_LOAD /* LOAD DATA / LOAD XML */
};

/* Whether verb is statement-format DML. */
bool ddl_verb_dml(enum ddl_verb verb);
/* The verb as a word: "INSERT", "DROP", ... */
const char *ddl_verb_name(enum ddl_verb verb);

/* A table a statement names. */
struct ddl_table {
	char db[DDL_NAME_MAX + 1];     /* the qualifier ("" when none) */
	char table[DDL_NAME_MAX + 1];  /* the table, view or index's table */
	size_t start, end;	       /* the bytes of [db.]table in the text */
	bool has_new_name;	       /* a rename whose new name is known: */
	char new_db[DDL_NAME_MAX + 1]; /* "" when unqualified */
	char new_table[DDL_NAME_MAX + 1];
	size_t new_end; /* the end of the new name's bytes */
};

struct ddl_stmt {
	enum ddl_verb verb;
	bool on_database;	     /* CREATE/ALTER/DROP DATABASE (SCHEMA) */
	char db[DDL_NAME_MAX + 1];   /* on_database: the database */
	size_t name_start, name_end; /* on_database: its name's bytes */
	bool renames_table;	     /* RENAME TABLE, ALTER TABLE ... RENAME [TO] */
	/* DROP TABLE/VIEW a, b and RENAME TABLE a TO b, c TO d: the tables
	 * are a list, from tables[0].start to the last one's end (new_end for
	 * a rename), separated by commas */
	bool list;
	bool unread;		  /* a name of the list (or of a DML statement's tables)
				     does not read as one: tables holds those before it */
	struct ddl_table *tables; /* owned */
	size_t ntables;
};

void ddl_stmt_release(struct ddl_stmt *d);
/*
 * Reads statement sql (lexed with flags) as the applier needs it: 1 for
 * DDL on a database or on tables, views or indexes (CREATE, ALTER, DROP,
 * RENAME, TRUNCATE) and for statement-format DML (INSERT, REPLACE,
 * UPDATE, DELETE, LOAD DATA), with *out saying which objects and where
 * their names are (release it); 0 for anything else (transactions,
 * triggers, routines, events, users, sequences, SELECT); GW_ENOMEM.
 * Every table of a list is there (DROP TABLE a, b; RENAME TABLE a TO b, c
 * TO d). Of DML, the tables it writes: INSERT/REPLACE/LOAD DATA's
 * target, and for UPDATE and DELETE every table of their table
 * references (the tables they change may be named by aliases).
 */
int ddl_parse(struct ddl_stmt *out, const char *sql, size_t len, unsigned flags) WARN_UNUSED;

enum ddl_action {
	DDL_SKIP,   /* nothing selected: not applied */
	DDL_APPLY,  /* apply sql (USE use_db first) */
	DDL_REFUSE, /* stop the task: reason says why */
};

struct ddl_plan {
	enum ddl_action action;
	struct buf sql;	   /* DDL_APPLY: the statement with the destination's names */
	struct buf use_db; /* DDL_APPLY: the destination database to use */
	struct buf reason; /* DDL_REFUSE: why, naming the object and quoting sql */
	struct buf what;   /* DDL_APPLY: the source's objects, for messages */
	/* DDL_APPLY: whether the statement renames a table (a missing table
	 * then means it was applied already) */
	bool renames;
};

void ddl_plan_release(struct ddl_plan *p);
/*
 * What the applier does with statement d (read by ddl_parse from sql,
 * lexed with flags) that a session whose database was session_db ("" or
 * NULL for none) ran on the source, for spec s. A table named without a
 * database belongs to session_db, and so does a rename's unqualified new
 * name.
 * - Applied, each selected table under its destination name (qualified,
 *   quoted), database qualifiers elsewhere mapped: DDL on tables of a
 *   whole selected database; on a listed table whose columns are all
 *   copied under their own names; DROP and TRUNCATE of any selected
 *   table. Of a list, the selected tables only (nothing selected: DDL_SKIP).
 * - Refused: DDL on a selected database but CREATE (which is skipped: the
 *   destination has it); ALTER, RENAME or CREATE INDEX on a table whose
 *   columns the spec selects or renames; a RENAME of a listed table; a
 *   RENAME into the selection from outside it, or out of it; statement-
 *   format DML on a selected table (its rows are not in the binlog); a
 *   list with a name that does not read.
 * GW_ENOMEM; else 0.
 */
int ddl_plan(struct ddl_plan *out, const struct ddl_stmt *d, const char *sql, size_t len,
	     unsigned flags, const char *session_db, const struct spec *s) WARN_UNUSED;

/* The lexer's flags for the sql_mode bits of a QUERY event
 * (BINLOG_SQL_MODE_ANSI_QUOTES, BINLOG_SQL_MODE_NO_BACKSLASH_ESCAPES). */
unsigned ddl_mode_bits_flags(uint64_t sql_mode);

/* --- transaction statements of the binlog ------------------------------ */

enum ddl_xa {
	DDL_XA_NONE,
	DDL_XA_START,
	DDL_XA_END,
	DDL_XA_PREPARE,
	DDL_XA_COMMIT,
	DDL_XA_ROLLBACK,
	DDL_XA_OTHER
};

/*
 * Reads an XA statement: its verb (DDL_XA_NONE when sql is not one) and,
 * for START/BEGIN, COMMIT and ROLLBACK, its XID's canonical text into
 * xid_out (reset first): X'gtrid',X'bqual',formatID in lowercase hex, the
 * form binlog_xid_text() gives a MariaDB XA GTID, whether the statement
 * names the parts as strings or hex ('g','b',3 or X'67',X'62',3). Returns
 * 0, GW_EFATAL when the XID is not one (a part longer than 64 bytes, a
 * format that is not a number), GW_ENOMEM.
 */
int ddl_xa(enum ddl_xa *verb_out, struct buf *xid_out, const char *sql, size_t len,
	   unsigned flags) WARN_UNUSED;

/* Whether a QUERY event's statement ends its transaction's binlog group:
 * false for BEGIN, START TRANSACTION, SAVEPOINT, ROLLBACK TO, RELEASE
 * SAVEPOINT and XA START/BEGIN/END (inside a group); true for COMMIT, DDL,
 * XA PREPARE/COMMIT/ROLLBACK and the rest. */
bool ddl_ends_group(const char *sql, size_t len, unsigned flags);

/*
 * Appends sql (lexed with flags) with every database qualifier (the db of
 * db.t, db.t.c, `db` . `t`) that names a selected database with renameTo
 * written as the destination's name; everything else is copied as it is:
 * strings, comments, names after a '.', variables. The content of
 * versioned comments is code and is mapped. NEEDSWORK: a table alias named
 * like a renamed database (app.col meaning alias app) is mapped too.
 */
int ddl_map_databases(struct buf *out, const char *sql, size_t len, unsigned flags,
		      const struct spec *s) WARN_UNUSED;

/* The first selected database with renameTo that a string literal of sql
 * names (as a word, in any case), or NULL: a body that builds statements
 * at run time may name it where no rewriter can see a name. */
const char *ddl_db_in_strings(const char *sql, size_t len, unsigned flags, const struct spec *s);

/* --- CREATE TABLE ------------------------------------------------------ */

enum ddl_def_kind {
	DDL_DEF_COLUMN,
	DDL_DEF_PRIMARY,
	DDL_DEF_UNIQUE,
	DDL_DEF_INDEX, /* KEY, INDEX */
	DDL_DEF_FULLTEXT,
	DDL_DEF_SPATIAL,
	DDL_DEF_FOREIGN,
	DDL_DEF_CHECK,
	DDL_DEF_OTHER /* PERIOD FOR ..., and what a later server adds */
};

struct ddl_def {
	enum ddl_def_kind kind;
	size_t off, len; /* its text, without the blanks around it */
	char *name;	 /* the column's, key's or constraint's name (owned);
			    NULL for one without (PRIMARY KEY) */
};

struct ddl_defs {
	struct ddl_def *v;
	size_t n;
	size_t tail; /* ddl_table_defs: the offset after the closing ')' */
};

void ddl_defs_release(struct ddl_defs *d);
/*
 * The definitions between the parentheses of CREATE TABLE statement sql
 * (as SHOW CREATE TABLE prints it), in order. Fails (err says where) on
 * what does not read as one CREATE TABLE: no parenthesis, an unterminated
 * string or name, a ';', a name holding a NUL byte.
 */
int ddl_table_defs(struct ddl_defs *out, const char *sql, size_t len, struct gw_err *err);
/* The same for definitions alone, separated by commas or line breaks
 * (outside names and strings), as the full copy keeps deferred indexes. */
int ddl_defs_split(struct ddl_defs *out, const char *text, size_t len, struct gw_err *err);

struct ddl_fk {
	char *name; /* the constraint's name */
	char *sql;  /* "CONSTRAINT ... FOREIGN KEY (...) REFERENCES `db`.`t` (...) ..."
		       with destination names, for ALTER TABLE ... ADD */
};

struct ddl_skip {
	char *column; /* the unselected column it uses */
	char *def;    /* the definition left out, as the source has it */
};

struct ddl_create {
	struct buf sql; /* CREATE TABLE IF NOT EXISTS `ddb`.`dt` (...) options */
	struct ddl_fk *fks;
	size_t nfks;
	struct ddl_skip *skips;
	size_t nskips;
};

void ddl_create_release(struct ddl_create *c);
/*
 * The destination's CREATE TABLE for table db.table of spec s (tsel its
 * selection, NULL for a whole database) from the source's SHOW CREATE
 * TABLE text show: named dest_db.dest_table; columns outside `columns:`
 * left out, and with them every definition that uses one (a key, a
 * generated column, a CHECK, a foreign key: each in skips); renamed
 * columns renamed wherever they are used (and a key named like one); the
 * foreign keys apart, in fks, their referenced table under its
 * destination name. Fails, with err naming the table, when the text does
 * not read as one CREATE TABLE or the table is partitioned by a column
 * that is not selected.
 */
int ddl_create_table(struct ddl_create *out, const char *show, size_t len, const struct spec *s,
		     const char *db, const char *table, const struct table_sel *tsel,
		     const char *dest_db, const char *dest_table, struct gw_err *err);

/* --- headers of views, routines, triggers, events ------------------ */

struct ddl_definer {
	size_t off, len; /* DEFINER = user@host in the text */
	struct buf user;
	struct buf host;
};

void ddl_definer_release(struct ddl_definer *d);
/*
 * Finds DEFINER = user@host in the header of CREATE VIEW, PROCEDURE,
 * FUNCTION, TRIGGER or EVENT statement sql (before the object's keyword):
 * *found_out says whether there is one, *out its place and the decoded
 * user and host. GW_ENOMEM.
 */
int ddl_find_definer(bool *found_out, struct ddl_definer *out, const char *sql, size_t len,
		     unsigned flags) WARN_UNUSED;
/*
 * Whether the header of CREATE statement sql, up to its first code word
 * stop (VIEW, DO, ...), has the words of phrase in a row ("SQL SECURITY
 * DEFINER", "PRESERVE ENABLE"); *off_out and *len_out then hold the last
 * word's place.
 */
bool ddl_header_word(size_t *off_out, size_t *len_out, const char *sql, size_t len, unsigned flags,
		     const char *phrase, const char *stop);
/* Replaces b's bytes [off, off + len) with text. */
int ddl_splice(struct buf *b, size_t off, size_t len, const char *text) WARN_UNUSED;
/* "CREATE DATABASE IF NOT EXISTS `dest`" and the options of SHOW CREATE
 * DATABASE text sql (character set, collation, comment). */
int ddl_create_database(struct buf *out, const char *sql, size_t len, const char *dest,
			struct gw_err *err);

#endif
