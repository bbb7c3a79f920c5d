/*
 * The incremental migration: the source's binlog, read as a replica reads
 * it, applied to the destination until the task is stopped.
 *
 * Position. godwit_meta.binlog_position holds the source position the
 * destination has applied up to (the full copy records the first one before
 * it reads a row). It is advanced in the same destination transaction as
 * the rows it covers, so after a crash the stream resumes exactly there:
 * nothing lost, nothing applied twice (and if anything were, applying is
 * idempotent). The position is kept in the source's form (kind in
 * binlog_position): MariaDB GTIDs (a domain-server-seq per domain); a MySQL
 * GTID set, the transactions executed (a GTID event is added when its
 * transaction ends), resumed on any server with that history (a
 * switch-over); or file:pos of one MySQL server (gtid_mode not ON), with
 * its server_uuid. engine/stream.c asks the source for the binlog from it.
 *
 * XA transactions are applied at their XA COMMIT (see the XA section);
 * an INCIDENT event (the source's binlog misses changes) stops the task.
 *
 * Apply. Rows of selected tables are written by key: a written row is an
 * upsert of the full image, an updated row an upsert of the after image
 * (a changed key deletes the old key first), a deleted row a delete by key.
 * Consecutive source transactions are grouped into one destination
 * transaction (up to GROUP_ROWS row changes or GROUP_MS, and committed as
 * soon as the stream goes quiet) for speed; inside it the changes of each
 * table are sent as multi-row statements (struct pend says when changes
 * are merged by key and when their order is kept). One connection applies
 * everything: a second one could not commit its rows atomically with the
 * position, and the batching leaves the destination server, not the round
 * trips, as the limit (bench/incremental).
 * Filters: a row whose after image passes the table's `where` is upserted,
 * one that does not is deleted by key (a row leaving the filter leaves the
 * destination; a row entering it arrives); the filter is evaluated by the
 * destination server on the image's values.
 *
 * Schema by position: column names come from the table map when the source
 * logs them (binlog_row_metadata=FULL), else from the source's
 * information_schema, loaded when a table is first seen and again after
 * every DDL on it in the stream.
 *
 * DDL on selected objects is applied with the database and table renames;
 * DDL that cannot be applied safely (see apply_query) stops the task with
 * the reason.
 */
#include "lib/common.h"
#include "binlog/binlog.h"
#include "binlog/gtid.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/stream.h"
#include "lib/log.h"
#include "lib/util.h"

#include <ctype.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define GROUP_ROWS 5000
#define GROUP_MS 200
#define FREEZE_WAIT_S "10"

/*
 * The changes of one table not yet sent to the destination, inside the
 * open destination transaction. Every change is by primary key: an upsert
 * of a full image or a delete. They are sent as few multi-row statements
 * (one INSERT ... ON DUPLICATE KEY UPDATE, one DELETE ... IN) instead of
 * one statement per row: the round trips, not the server's work, are what
 * limits a row-at-a-time applier.
 *
 * Order. Tables are independent on the destination (foreign key checks
 * are off for the applier, triggers are created only at the cutover), so
 * tables are flushed in any order. Within a table:
 * - net mode (table.net): the table has no unique key but the primary
 *   key. The last change of a key value is its whole effect, so a later
 *   change replaces the earlier one; then all deletes are sent, then all
 *   upserts, in any order. Why that is the source's result: changes are
 *   grouped by the key's bytes, while the destination compares keys by
 *   collation ('a' = 'A' = 'a ' under a case-insensitive, pad-space one),
 *   so take one class of equal keys. The row images carry stored values,
 *   the source holds at most one row of the class at any time, and an
 *   update that changes the key's bytes is a delete of the old bytes and
 *   an upsert of the new. So if the class's last change is an upsert of
 *   value x, every other value of the class last had a delete (it left
 *   the table before x arrived); if it is a delete, every value's last
 *   change is a delete. Deletes first, then at most one upsert per class:
 *   the class ends as on the source. Rows of other classes do not
 *   interact: no other unique key.
 * - segment mode (table.seg): other unique keys, whose columns, like the
 *   primary key's, are all integers (text equal exactly when values are).
 *   Changes are merged as in net mode, in segments: a change whose row
 *   images (before and after) have a unique value that a change of another
 *   row in the segment had first sends the segment (seg_admit). Within a
 *   segment each unique value belongs to one row; a row can only take a
 *   value on the source after its holder gave it up, and that holder's
 *   change is then in an earlier, already sent segment (or before the
 *   segment, so already applied): deletes first, then upserts in any
 *   order, meet no conflict the source did not have.
 * - ordered mode (every other table): changes are kept in source order and
 *   each run of consecutive upserts or deletes is one statement, which the
 *   server executes row by row in that order: the same as one statement
 *   per row.
 *   NEEDSWORK: on such a table, alternating deletes and inserts make runs
 *   of one row, i.e. a statement per change; segment mode could cover
 *   string keys by comparing values as the collation does.
 */
struct pend_op {
	size_t koff, klen; /* key text in arena: "7" or "(`a` = 1 AND `b` = 2)" */
	size_t voff, vlen; /* upsert: "(v1,v2,...)" in arena */
	bool del;
};

/* Segment mode: a value of a unique key seen in the segment, and the
 * primary key of the row it was seen in (texts in struct pend.seen). */
struct seen_ent {
	size_t off, vlen, klen; /* value text at off, key text after it */
};

struct pend {
	struct buf arena;
	struct pend_op *ops;
	size_t nops, cap;
	uint32_t *hash; /* net mode: op index + 1 by key text, 0 empty */
	size_t hcap;
	struct buf seen; /* segment mode: unique values of the segment */
	struct seen_ent *sents;
	size_t nsents, scap;
	uint32_t *shash; /* seen entry index + 1 by value text */
	size_t shcap;
};

/* A selected table as the applier knows it. */
struct rtable {
	char *db;
	char *table;
	char *dest_db;
	char *dest_table;
	const struct table_sel *tsel;
	size_t ncols;
	char **names;	   /* source column names, table order */
	char **dest_names; /* NULL for a column not written */
	bool *is_unsigned;
	size_t *key; /* indexes of the key columns */
	size_t nkey;
	bool loaded;
	bool net; /* changes may be merged by key (see struct pend) */
	/* segment mode: the destination's other unique keys, as column
	 * indexes: key u is ucols[uoff[u] .. uoff[u + 1]) */
	bool seg;
	size_t *ucols, *uoff;
	size_t nuniq;
	struct pend pend;
};

/* The GTID of the source transaction being read, added to the position
 * when the transaction ends. */
struct pend_gtid {
	bool mysql;	/* uuid:tag:seq; else MariaDB domain-server-seq */
	bool anonymous; /* MySQL with gtid_mode OFF: no GTID */
	uint8_t uuid[16];
	char tag[33];
	uint32_t domain, server;
	uint64_t seq;
};

struct repl {
	struct action_io *io;
	const struct spec *s;
	const char *metadb;
	MYSQL *src; /* SQL connection to the source */
	MYSQL *dst;
	bool src_mariadb;
	struct binlog_decoder *dec;
	struct rtable *tables;
	size_t ntables;
	/* positions: kind says which of them resumes the stream */
	enum binlog_pos_kind kind;
	struct gtid_pos mpos; /* POS_MARIADB */
	struct gtid_set mset; /* POS_MYSQL_GTID: the executed set */
	struct pend_gtid pending;
	bool have_pending;
	char file[256];
	uint64_t pos;
	char source_uuid[64]; /* MySQL: the server the position was read from */
	/* XA: the changes of an XA transaction's prepare group are kept in
	 * godwit_meta.xa_pending until its XA COMMIT (see xa_*) */
	bool xa_capture;
	struct buf xa_xid; /* X'..',X'..',N of the transaction captured */
	unsigned xa_seq;
	/* the destination transaction */
	bool in_txn;
	size_t txn_rows;
	int64_t txn_started_ms;
	int64_t last_event_ts;
	uint64_t events_in_group;
	uint64_t txns_in_group;
	size_t pend_bytes; /* pending SQL text of all tables */
	struct buf kscratch, vscratch;
	/* the gated stop */
	bool stopping;
	struct gtid_pos final_mpos;
	struct gtid_set final_mset;
	char final_file[256];
	uint64_t final_pos;
	struct buf sql;
};

/* --- positions ------------------------------------------------------- */

/* The transaction read ends: its GTID joins the position. */
static int gtid_done(struct repl *r, struct gw_err *err)
{
	const struct pend_gtid *g = &r->pending;
	int rc = 0;

	if (!r->have_pending)
		return 0;
	r->have_pending = false;
	if (g->anonymous)
		return 0;
	if (g->mysql && r->kind == POS_MYSQL_GTID)
		rc = gtid_set_add(&r->mset, g->uuid, g->tag, g->seq, g->seq);
	else if (!g->mysql && r->kind == POS_MARIADB)
		rc = gtid_pos_set(&r->mpos, g->domain, g->server, g->seq);
	if (rc == GW_ENOMEM)
		return err_set(err, rc, "out of memory");
	if (rc < 0)
		return err_set(err, GW_EFATAL, "GTID %s of the source is not valid",
			       g->mysql ? "(MySQL)" : "(MariaDB)");
	return 0;
}

/* Whether the applied state has reached the final one. */
static bool reached_final(const struct repl *r)
{
	int c;

	if (r->kind == POS_MYSQL_GTID)
		return gtid_set_contains(&r->mset, &r->final_mset);
	if (r->kind == POS_MARIADB && r->final_mpos.n)
		return gtid_pos_reached(&r->mpos, &r->final_mpos);
	if (!r->final_file[0])
		return true;
	c = strcmp(r->file, r->final_file);
	return c > 0 || (c == 0 && r->pos >= r->final_pos);
}

static int position_now(struct binlog_pos *out, const struct repl *r, struct gw_err *err)
{
	struct buf g = BUF_INIT;
	int rc = 0;

	out->kind = r->kind;
	if (r->kind == POS_MYSQL_GTID)
		rc = gtid_set_format(&g, &r->mset);
	else if (r->kind == POS_MARIADB)
		rc = gtid_pos_format(&g, &r->mpos);
	if (rc < 0) {
		buf_release(&g);
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	if (g.len >= sizeof(out->gtid)) {
		buf_release(&g);
		return err_set(err, GW_EFATAL,
			       "the GTID position is longer than %zu bytes, what godwit_meta keeps",
			       sizeof(out->gtid) - 1);
	}
	memcpy(out->gtid, buf_cstr(&g), g.len + 1);
	(void)snprintf(out->file, sizeof(out->file), "%s", r->file);
	out->pos = r->pos;
	out->source_ts = r->last_event_ts;
	(void)snprintf(out->source_uuid, sizeof(out->source_uuid), "%s", r->source_uuid);
	out->halted[0] = '\0';
	buf_release(&g);
	return 0;
}

/* The stored position (text) into the applier's state of its kind. */
static int position_load(struct repl *r, const struct binlog_pos *pos, struct gw_err *err)
{
	enum binlog_pos_kind k = pos->kind;
	int rc;

	if (k == POS_UNKNOWN) /* a row of an older godwit: its text says */
		k = gtid_text_flavour(pos->gtid) == GTID_MYSQL ? POS_MYSQL_GTID
		    : r->src_mariadb			       ? POS_MARIADB
							       : POS_FILE;
	if (r->src_mariadb != (k == POS_MARIADB))
		return err_set(err, GW_EFATAL,
			       "the recorded position (%s, '%.100s') is of a %s source, but the "
			       "source is %s now: a new full migration is needed",
			       meta_pos_kind_name(k), pos->gtid[0] ? pos->gtid : pos->file,
			       k == POS_MARIADB ? "MariaDB" : "MySQL",
			       r->src_mariadb ? "MariaDB" : "MySQL");
	r->kind = k;
	if (k == POS_MYSQL_GTID)
		rc = gtid_set_parse(&r->mset, pos->gtid, err);
	else if (k == POS_MARIADB)
		rc = gtid_pos_parse(&r->mpos, pos->gtid, err);
	else
		rc = 0;
	if (rc < 0) {
		err_prefix(err, "the recorded position");
		return rc;
	}
	(void)snprintf(r->file, sizeof(r->file), "%s", pos->file);
	r->pos = pos->pos;
	r->last_event_ts = pos->source_ts;
	(void)snprintf(r->source_uuid, sizeof(r->source_uuid), "%s", pos->source_uuid);
	return 0;
}

/* --- tables ---------------------------------------------------------- */

static void rtable_unload(struct rtable *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		free(t->names[i]);
		if (t->dest_names)
			free(t->dest_names[i]);
	}
	free(t->names);
	free(t->dest_names);
	free(t->is_unsigned);
	free(t->key);
	free(t->ucols);
	free(t->uoff);
	t->names = t->dest_names = NULL;
	t->is_unsigned = NULL;
	t->key = t->ucols = t->uoff = NULL;
	t->ncols = t->nkey = t->nuniq = 0;
	t->loaded = t->net = t->seg = false;
}

static struct rtable *rtable_find(struct repl *r, const char *db, const char *table, bool add)
{
	const struct table_sel *tsel = NULL;
	const struct object_sel *o;
	struct rtable *t;
	size_t i;

	for (i = 0; i < r->ntables; i++)
		if (!strcmp(r->tables[i].db, db) && !strcmp(r->tables[i].table, table))
			return &r->tables[i];
	if (!add || !spec_table_selected(r->s, db, table, &tsel))
		return NULL;
	o = spec_find_database(r->s, db);
	if (!(t = realloc(r->tables, (r->ntables + 1) * sizeof(*t))))
		return NULL;
	r->tables = t;
	t = &t[r->ntables];
	memset(t, 0, sizeof(*t));
	t->db = strdup(db);
	t->table = strdup(table);
	t->dest_db = strdup(spec_dest_database(o));
	t->dest_table = strdup(spec_dest_table(tsel, table));
	t->tsel = tsel;
	if (!t->db || !t->table || !t->dest_db || !t->dest_table) {
		free(t->db), free(t->table), free(t->dest_db), free(t->dest_table);
		return NULL;
	}
	r->ntables++;
	return t;
}

/* Appends " WHERE TABLE_SCHEMA = 'db' AND TABLE_NAME = 'table'". */
static int where_table(struct buf *q, MYSQL *m, const char *db, const char *table)
{
	if (buf_puts(q, " WHERE TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(q, m, db, strlen(db)) < 0 || buf_puts(q, " AND TABLE_NAME = ") < 0 ||
	    conn_quote_string(q, m, table, strlen(table)) < 0)
		return GW_ENOMEM;
	return 0;
}

/* Whether db.table has a unique key other than the primary key (a table
 * not there has none). */
static int other_unique_key(bool *out, MYSQL *m, const char *db, const char *table,
			    struct gw_err *err)
{
	struct buf q = BUF_INIT, v = BUF_INIT;
	bool found;
	int rc;

	*out = true;
	if (buf_puts(&q, "SELECT 1 FROM information_schema.STATISTICS") < 0 ||
	    where_table(&q, m, db, table) < 0 ||
	    buf_puts(&q, " AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY' LIMIT 1") < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = conn_query_value(&v, &found, m, buf_cstr(&q), err)) < 0)
		goto out;
	*out = found;
out:
	buf_release(&q);
	buf_release(&v);
	return rc;
}

/*
 * Segment mode's keys: the unique keys other than the primary key, of the
 * destination's table and of the source's (one that only one side has
 * still orders the changes: a key added on either side later, outside the
 * stream, is then covered too), as column indexes. *ok false when one has
 * a column that is not an integer (whose text is not the value's
 * identity) or not among the table's columns.
 */
static int rtable_load_unique(bool *ok, struct repl *r, struct rtable *t, const bool *is_int,
			      struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t n, i, nc = 0, side, cap = 0;
	int rc = 0;

	*ok = false;
	for (side = 0; side < 2; side++) {
		MYSQL *m = side ? r->src : r->dst;
		char *const *names = side ? t->names : t->dest_names;
		char prev[256] = "";
		size_t *nu, *no;

		buf_reset(&q);
		if (buf_puts(&q,
			     "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS") <
			0 ||
		    where_table(&q, m, side ? t->db : t->dest_db, side ? t->table : t->dest_table) <
			0 ||
		    buf_puts(&q, " AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'"
				 " ORDER BY INDEX_NAME, SEQ_IN_INDEX") < 0) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		if (res)
			mysql_free_result(res);
		if (mysql_real_query(m, q.ptr, q.len) || !(res = mysql_store_result(m))) {
			rc = conn_error(err, m, "reading the unique keys");
			goto out;
		}
		n = (size_t)mysql_num_rows(res);
		cap += n;
		if (!(nu = realloc(t->ucols, (cap + 1) * sizeof(*nu)))) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		t->ucols = nu;
		if (!(no = realloc(t->uoff, (cap + 2) * sizeof(*no)))) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		t->uoff = no;
		while ((row = mysql_fetch_row(res)) && nc < cap) {
			if (!row[0] || !row[1])
				goto out;
			if (strcmp(prev, row[0])) {
				(void)snprintf(prev, sizeof(prev), "%s", row[0]);
				t->uoff[t->nuniq++] = nc;
			}
			for (i = 0; i < t->ncols; i++)
				if (names[i] && !strcmp(names[i], row[1]))
					break;
			if (i == t->ncols || !is_int[i])
				goto out;
			t->ucols[nc++] = i;
		}
		t->uoff[t->nuniq] = nc;
	}
	*ok = true;
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return rc;
}

/*
 * Column names, signedness, generated columns and the key of a table, for
 * the layout of the binlog position being applied. The destination's
 * table has had every DDL up to that position applied (DDL is replicated in
 * stream order, its position committed after it), so for tables copied
 * whole its columns are the source's columns at this position: that is the
 * schema history, kept where the data is. Tables with a column selection or
 * column renames refuse DDL that changes columns, so the source's current
 * columns are theirs. NEEDSWORK: without binlog_row_metadata=FULL, rows of
 * such a table logged before an ALTER of it (a backlog) are decoded with the
 * layout after it; with FULL the decoder refuses the mismatch.
 */
static int rtable_load(struct repl *r, struct rtable *t, struct gw_err *err)
{
	bool from_dest = !t->tsel || (!t->tsel->ncolumns && !t->tsel->nrenames);
	MYSQL *m = from_dest ? r->dst : r->src;
	const char *db = from_dest ? t->dest_db : t->db;
	const char *table = from_dest ? t->dest_table : t->table;
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	bool *is_int = NULL;
	size_t n, i;
	int rc = GW_ENOMEM;

	rtable_unload(t);
	/* Plain queries on information_schema: a correlated subquery there
	 * opens the table once per column, and costs far more. */
	if (buf_puts(&q, "SELECT COLUMN_NAME, COLUMN_TYPE LIKE '%unsigned%', IS_GENERATED,"
			 " DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint')"
			 " FROM information_schema.COLUMNS") < 0 ||
	    where_table(&q, m, db, table) < 0 || buf_puts(&q, " ORDER BY ORDINAL_POSITION") < 0)
		goto oom;
	if (mysql_real_query(m, q.ptr, q.len) || !(res = mysql_store_result(m))) {
		rc = conn_error(err, m, "reading the columns");
		goto out;
	}
	n = (size_t)mysql_num_rows(res);
	if (n == 0) {
		rc = err_set(err, GW_EFATAL, "table %s.%s: not found on the %s (%s.%s)", t->db,
			     t->table, from_dest ? "destination" : "source", db, table);
		goto out;
	}
	t->names = calloc(n, sizeof(*t->names));
	t->dest_names = calloc(n, sizeof(*t->dest_names));
	t->is_unsigned = calloc(n, sizeof(*t->is_unsigned));
	t->key = calloc(n, sizeof(*t->key));
	is_int = calloc(n, sizeof(*is_int));
	if (!t->names || !t->dest_names || !t->is_unsigned || !t->key || !is_int)
		goto oom;
	for (i = 0; i < n && (row = mysql_fetch_row(res)); i++) {
		t->names[i] = strdup(row[0]);
		if (!t->names[i])
			goto oom;
		t->is_unsigned[i] = row[1] && row[1][0] == '1';
		if ((!row[2] || !strcmp(row[2], "NEVER")) &&
		    spec_column_selected(t->tsel, row[0]) &&
		    !(t->dest_names[i] = strdup(spec_dest_column(t->tsel, row[0]))))
			goto oom;
		is_int[i] = row[3] && row[3][0] == '1';
		t->ncols++;
	}
	mysql_free_result(res);
	res = NULL;
	/* the primary key's columns in key order */
	buf_reset(&q);
	if (buf_puts(&q, "SELECT COLUMN_NAME FROM information_schema.STATISTICS") < 0 ||
	    where_table(&q, m, db, table) < 0 ||
	    buf_puts(&q, " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX") < 0)
		goto oom;
	if (mysql_real_query(m, q.ptr, q.len) || !(res = mysql_store_result(m))) {
		rc = conn_error(err, m, "reading the primary key");
		goto out;
	}
	while ((row = mysql_fetch_row(res)) && t->nkey < t->ncols)
		for (i = 0; i < t->ncols; i++)
			if (row[0] && !strcmp(row[0], t->names[i])) {
				t->key[t->nkey++] = i;
				break;
			}
	t->net = t->nkey > 0;
	if (t->nkey == 0) {
		rc = err_set(err, GW_EFATAL,
			     "table %s.%s has no primary key: changes cannot be applied by key "
			     "(precheck refuses such tables for incremental migration)",
			     t->db, t->table);
		goto out;
	}
	for (i = 0; i < t->nkey; i++)
		if (!t->dest_names[t->key[i]]) {
			rc = err_set(err, GW_EFATAL, "table %s.%s: key column %s is not selected",
				     t->db, t->table, t->names[t->key[i]]);
			goto out;
		}
	if (t->net) {
		/* Another unique key on either side makes the order of
		 * changes to distinct primary keys matter. */
		bool u1 = true, u2 = true;
		if ((rc = other_unique_key(&u1, r->dst, t->dest_db, t->dest_table, err)) < 0 ||
		    (rc = other_unique_key(&u2, r->src, t->db, t->table, err)) < 0)
			goto out;
		t->net = !u1 && !u2;
	}
	if (!t->net) {
		bool ok = true;
		for (i = 0; i < t->nkey; i++)
			if (!is_int[t->key[i]])
				ok = false;
		if (ok && (rc = rtable_load_unique(&ok, r, t, is_int, err)) < 0)
			goto out;
		t->seg = ok;
	}
	if ((rc = binlog_decoder_describe_table(r->dec, t->db, t->table, t->names, t->is_unsigned,
						t->ncols, err)) < 0)
		goto out;
	t->loaded = true;
	rc = 0;
	goto out;
oom:
	rc = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (res)
		mysql_free_result(res);
	free(is_int);
	buf_release(&q);
	return rc;
}

/* --- applying -------------------------------------------------------- */

static int pend_flush_all(struct repl *r, struct gw_err *err);
static int pend_flush(struct repl *r, struct rtable *t, struct gw_err *err);
static void pend_drop_all(struct repl *r);
static void pend_release(struct pend *p);

static int dst_exec(struct repl *r, const struct buf *q, struct gw_err *err)
{
	if (mysql_real_query(r->dst, q->ptr, q->len))
		return conn_error(err, r->dst, "applying a change");
	return 0;
}

/* The statements of an XA transaction's prepare group wait in
 * godwit_meta.xa_pending for its XA COMMIT (see the XA section). */
static int xa_store(struct repl *r, unsigned seq, const char *sql, size_t len)
{
	struct buf q = BUF_INIT;
	int rc = 1;

	if (buf_puts(&q, "INSERT INTO ") == 0 && conn_quote_ident(&q, r->metadb) == 0 &&
	    buf_puts(&q, ".xa_pending (task, xid, seq, stmt) VALUES (") == 0 &&
	    conn_quote_string(&q, r->dst, r->s->name, strlen(r->s->name)) == 0 &&
	    buf_putc(&q, ',') == 0 &&
	    conn_quote_string(&q, r->dst, r->xa_xid.ptr, r->xa_xid.len) == 0 &&
	    buf_printf(&q, ",%u,", seq) == 0 && conn_quote_string(&q, r->dst, sql, len) == 0 &&
	    buf_putc(&q, ')') == 0)
		rc = mysql_real_query(r->dst, q.ptr, q.len);
	buf_release(&q);
	return rc;
}

/* Runs a statement that applies changes, or keeps it for the XA COMMIT
 * while an XA transaction's prepare group is read. Non-zero on failure,
 * as mysql_real_query(). */
static int dst_apply(struct repl *r, const char *sql, size_t len)
{
	if (r->xa_capture)
		return xa_store(r, r->xa_seq++, sql, len);
	return mysql_real_query(r->dst, sql, len);
}

static int txn_begin(struct repl *r, struct gw_err *err)
{
	int rc;

	if (r->in_txn)
		return 0;
	if ((rc = conn_exec(r->dst, "START TRANSACTION", err)) < 0)
		return rc;
	r->in_txn = true;
	r->txn_rows = 0;
	r->txn_started_ms = util_now_mono_ms();
	r->events_in_group = 0;
	r->txns_in_group = 0;
	return 0;
}

/* Writes the position and commits the open destination transaction. */
static int txn_commit(struct repl *r, struct gw_err *err)
{
	struct binlog_pos pos;
	struct buf q = BUF_INIT;
	char text[4400];
	int rc;

	if (!r->in_txn)
		return 0;
	if ((rc = pend_flush_all(r, err)) < 0) {
		pend_drop_all(r);
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return rc;
	}
	if ((rc = position_now(&pos, r, err)) < 0 ||
	    (meta_position_sql(&q, r->dst, r->metadb, r->s->name, &pos) < 0 &&
	     (rc = err_set(err, GW_ENOMEM, "out of memory")) < 0)) {
		buf_release(&q);
		pend_drop_all(r);
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return rc;
	}
	rc = dst_exec(r, &q, err);
	buf_release(&q);
	if (rc == 0)
		rc = meta_fence(r->dst, r->s->name, r->io->lock_holder, err);
	if (rc == 0)
		rc = conn_exec(r->dst, "COMMIT", err);
	if (rc < 0) {
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return rc;
	}
	r->in_txn = false;
	atomic_fetch_add(&r->io->progress->events_applied, r->events_in_group);
	atomic_fetch_add(&r->io->progress->txns_applied, r->txns_in_group);
	atomic_store(&r->io->progress->last_event_unix, r->last_event_ts);
	meta_position_format(text, sizeof(text), &pos);
	progress_set_position(r->io->progress, text);
	return 0;
}

static int dest_name(struct buf *q, const struct rtable *t)
{
	if (conn_quote_ident(q, t->dest_db) < 0 || buf_putc(q, '.') < 0 ||
	    conn_quote_ident(q, t->dest_table) < 0)
		return GW_ENOMEM;
	return 0;
}

/* Whether an image passes the table's filter, asked of the destination.
 * NEEDSWORK: one round trip per row of a filtered table; the images of a
 * batch could be evaluated in one query. */
static int filter_passes(bool *out, struct repl *r, const struct rtable *t,
			 const struct bl_value *img, const struct bl_table *map, struct gw_err *err)
{
	struct buf q = BUF_INIT, v = BUF_INIT;
	bool found;
	size_t c;
	int rc;

	*out = true;
	if (!t->tsel || !t->tsel->where)
		return 0;
	if (buf_puts(&q, "SELECT 1 FROM (SELECT ") < 0)
		goto oom;
	for (c = 0; c < t->ncols; c++)
		if ((c && buf_puts(&q, ", ") < 0) ||
		    binlog_value_sql(&q, &img[c], &map->cols[c]) < 0 || buf_puts(&q, " AS ") < 0 ||
		    conn_quote_ident(&q, t->names[c]) < 0)
			goto oom;
	if (buf_printf(&q, ") AS godwit_row WHERE (%s)", t->tsel->where) < 0)
		goto oom;
	rc = conn_query_value(&v, &found, r->dst, buf_cstr(&q), err);
	if (rc == 0)
		*out = found;
	else
		err_prefix(err, "evaluating the filter of %s.%s", t->db, t->table);
	buf_release(&q);
	buf_release(&v);
	return rc;
oom:
	buf_release(&q);
	buf_release(&v);
	return err_set(err, GW_ENOMEM, "out of memory");
}

static int upsert_head(struct buf *q, const struct rtable *t)
{
	size_t c;
	bool first = true;

	if (buf_puts(q, "INSERT INTO ") < 0 || dest_name(q, t) < 0 || buf_puts(q, " (") < 0)
		return GW_ENOMEM;
	for (c = 0; c < t->ncols; c++) {
		if (!t->dest_names[c])
			continue;
		if ((!first && buf_puts(q, ", ") < 0) || conn_quote_ident(q, t->dest_names[c]) < 0)
			return GW_ENOMEM;
		first = false;
	}
	return buf_puts(q, ") VALUES ");
}

static int upsert_row(struct buf *q, const struct rtable *t, const struct bl_value *img,
		      const struct bl_table *map)
{
	size_t c;
	bool first = true;

	if (buf_putc(q, '(') < 0)
		return GW_ENOMEM;
	for (c = 0; c < t->ncols; c++) {
		if (!t->dest_names[c])
			continue;
		if ((!first && buf_putc(q, ',') < 0) ||
		    binlog_value_sql(q, &img[c], &map->cols[c]) < 0)
			return GW_ENOMEM;
		first = false;
	}
	return buf_putc(q, ')');
}

static int upsert_tail(struct buf *q, const struct rtable *t)
{
	size_t c;
	bool first = true;

	if (buf_puts(q, " ON DUPLICATE KEY UPDATE ") < 0)
		return GW_ENOMEM;
	for (c = 0; c < t->ncols; c++) {
		if (!t->dest_names[c])
			continue;
		if ((!first && buf_puts(q, ", ") < 0) ||
		    conn_quote_ident(q, t->dest_names[c]) < 0 || buf_puts(q, " = VALUES(") < 0 ||
		    conn_quote_ident(q, t->dest_names[c]) < 0 || buf_putc(q, ')') < 0)
			return GW_ENOMEM;
		first = false;
	}
	return 0;
}

/*
 * Ends the group when the stream ends: what was applied up to the last
 * whole source transaction is committed; a source transaction read only in
 * part is not (the group is rolled back, and read again from the committed
 * position next time), so no half transaction is ever visible.
 */
static int txn_close(struct repl *r, struct gw_err *err)
{
	r->xa_capture = false;
	if (r->in_txn && r->have_pending) {
		pend_drop_all(r);
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return 0;
	}
	return txn_commit(r, err);
}

/* The key of an image as the text a DELETE lists: the value alone for a
 * one-column key (for `k` IN (...)), a parenthesised condition otherwise
 * (for ... OR ...). */
static int key_text(struct buf *q, const struct rtable *t, const struct bl_value *img,
		    const struct bl_table *map)
{
	size_t k;

	if (t->nkey == 1 && img[t->key[0]].kind != BL_NULL)
		return binlog_value_sql(q, &img[t->key[0]], &map->cols[t->key[0]]);
	if (buf_putc(q, '(') < 0)
		return GW_ENOMEM;
	for (k = 0; k < t->nkey; k++) {
		size_t c = t->key[k];
		const struct bl_value *v = &img[c];
		if ((k && buf_puts(q, " AND ") < 0) || conn_quote_ident(q, t->dest_names[c]) < 0)
			return GW_ENOMEM;
		if (v->kind == BL_NULL) {
			if (buf_puts(q, " IS NULL") < 0)
				return GW_ENOMEM;
		} else if (buf_puts(q, " = ") < 0 || binlog_value_sql(q, v, &map->cols[c]) < 0) {
			return GW_ENOMEM;
		}
	}
	return buf_putc(q, ')');
}

static bool key_changed(const struct rtable *t, const struct bl_row *row)
{
	size_t k;

	for (k = 0; k < t->nkey; k++) {
		const struct bl_value *a = &row->before[t->key[k]], *b = &row->after[t->key[k]];
		if (a->kind != b->kind || a->i != b->i || a->u != b->u ||
		    memcmp(&a->d, &b->d, sizeof(a->d)) || a->len != b->len ||
		    (a->len && memcmp(a->s, b->s, a->len)))
			return true;
	}
	return false;
}

/* --- pending changes (struct pend) ----------------------------------- */

/*
 * Memory: the pending text of all tables together stays under PEND_BYTES
 * (then every table is flushed, inside the open transaction), so a source
 * transaction of any size streams through. After a flush a table keeps
 * only small allocations (PEND_KEEP_*), so many tables touched once do
 * not each hold the size of their largest batch.
 */
#define PEND_BYTES ((size_t)8 << 20)
#define PEND_OPS 20000			   /* per table */
#define STMT_BYTES ((size_t)4 << 20)	   /* one statement, well below max_allowed_packet */
#define PEND_KEEP_BYTES ((size_t)16 << 10) /* arena kept across flushes */
#define PEND_KEEP_OPS 512		   /* ops and hash slots kept */

static void pend_clear(struct pend *p)
{
	p->nops = 0;
	p->nsents = 0;
	if (p->arena.cap > PEND_KEEP_BYTES || p->cap > PEND_KEEP_OPS ||
	    p->hcap > 2 * PEND_KEEP_OPS || p->seen.cap > PEND_KEEP_BYTES ||
	    p->scap > PEND_KEEP_OPS || p->shcap > 2 * PEND_KEEP_OPS) {
		pend_release(p);
		return;
	}
	buf_reset(&p->arena);
	buf_reset(&p->seen);
	if (p->hash)
		memset(p->hash, 0, p->hcap * sizeof(*p->hash));
	if (p->shash)
		memset(p->shash, 0, p->shcap * sizeof(*p->shash));
}

static void pend_release(struct pend *p)
{
	buf_release(&p->arena);
	buf_release(&p->seen);
	free(p->ops);
	free(p->hash);
	free(p->sents);
	free(p->shash);
	memset(p, 0, sizeof(*p));
}

static uint32_t pend_hash_of(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Keeps the hash at most half full: doubles it and re-inserts the ops. */
static int pend_hash_fit(struct pend *p)
{
	size_t ncap, i, mask;
	uint32_t *h;

	if (p->hash && 2 * (p->nops + 1) <= p->hcap)
		return 0;
	ncap = p->hcap ? 2 * p->hcap : 64;
	while (ncap < 2 * (p->nops + 1))
		ncap *= 2;
	if (!(h = calloc(ncap, sizeof(*h))))
		return GW_ENOMEM;
	mask = ncap - 1;
	for (i = 0; i < p->nops; i++) {
		size_t j = pend_hash_of(p->arena.ptr + p->ops[i].koff, p->ops[i].klen) & mask;
		while (h[j])
			j = (j + 1) & mask;
		h[j] = (uint32_t)(i + 1);
	}
	free(p->hash);
	p->hash = h;
	p->hcap = ncap;
	return 0;
}

/* The op with the same key text in net mode, or NULL. */
static struct pend_op *pend_lookup(struct pend *p, const char *k, size_t klen, size_t *slot_out)
{
	size_t mask = p->hcap - 1, i = pend_hash_of(k, klen) & mask;

	for (; p->hash[i]; i = (i + 1) & mask) {
		struct pend_op *o = &p->ops[p->hash[i] - 1];
		if (o->klen == klen && !memcmp(p->arena.ptr + o->koff, k, klen))
			return o;
	}
	*slot_out = i;
	return NULL;
}

/* Keeps the seen set's hash at most half full. */
static int seen_fit(struct pend *p)
{
	size_t ncap, i, mask;
	uint32_t *h;

	if (p->shash && 2 * (p->nsents + 1) <= p->shcap)
		return 0;
	ncap = p->shcap ? 2 * p->shcap : 64;
	while (ncap < 2 * (p->nsents + 1))
		ncap *= 2;
	if (!(h = calloc(ncap, sizeof(*h))))
		return GW_ENOMEM;
	mask = ncap - 1;
	for (i = 0; i < p->nsents; i++) {
		size_t j = pend_hash_of(p->seen.ptr + p->sents[i].off, p->sents[i].vlen) & mask;
		while (h[j])
			j = (j + 1) & mask;
		h[j] = (uint32_t)(i + 1);
	}
	free(p->shash);
	p->shash = h;
	p->shcap = ncap;
	return 0;
}

/* The seen entry of a value text, or NULL (and the free slot). */
static struct seen_ent *seen_lookup(struct pend *p, const char *v, size_t vlen, size_t *slot_out)
{
	size_t mask = p->shcap - 1, i = pend_hash_of(v, vlen) & mask;

	for (; p->shash[i]; i = (i + 1) & mask) {
		struct seen_ent *e = &p->sents[p->shash[i] - 1];
		if (e->vlen == vlen && !memcmp(p->seen.ptr + e->off, v, vlen))
			return e;
	}
	*slot_out = i;
	return NULL;
}

/* The text of unique key u's value in img into v ("u:v1,v2"); false when
 * a column is NULL (NULLs never collide in a unique key). */
static int unique_text(bool *out, struct buf *v, const struct rtable *t, size_t u,
		       const struct bl_value *img, const struct bl_table *map)
{
	size_t c;

	*out = false;
	buf_reset(v);
	if (buf_printf(v, "%zu:", u) < 0)
		return GW_ENOMEM;
	for (c = t->uoff[u]; c < t->uoff[u + 1]; c++) {
		const struct bl_value *x = &img[t->ucols[c]];
		if (x->kind == BL_NULL)
			return 0;
		if ((c > t->uoff[u] && buf_putc(v, ',') < 0) ||
		    binlog_value_sql(v, x, &map->cols[t->ucols[c]]) < 0)
			return GW_ENOMEM;
	}
	*out = true;
	return 0;
}

/*
 * Segment mode: before a change of the row with key text k (images img
 * and, for an update, its before image other) joins the table's pending
 * changes, a value of a unique key that a change of another row of the
 * segment had (before or after) ends the segment: the pending changes are
 * sent first. Within a segment every unique value belongs to one row, so
 * the rows' changes commute (see struct pend).
 */
static int seg_admit(struct repl *r, struct rtable *t, const struct bl_value *img,
		     const struct bl_value *other, const struct bl_table *map, struct gw_err *err)
{
	struct pend *p = &t->pend;
	struct buf *k = &r->kscratch, *v = &r->vscratch;
	const struct bl_value *imgs[2] = {img, other};
	size_t u, m, slot = 0, before;
	bool has, clash = false;
	int rc;

	buf_reset(k);
	if (key_text(k, t, img, map) < 0 || seen_fit(p) < 0)
		goto oom;
	for (m = 0; m < 2 && imgs[m] && !clash; m++)
		for (u = 0; u < t->nuniq && !clash; u++) {
			const struct seen_ent *e;
			if (unique_text(&has, v, t, u, imgs[m], map) < 0)
				goto oom;
			if (has && (e = seen_lookup(p, v->ptr, v->len, &slot)) &&
			    (e->klen != k->len ||
			     memcmp(p->seen.ptr + e->off + e->vlen, k->ptr, k->len)))
				clash = true;
		}
	if (clash && (rc = pend_flush(r, t, err)) < 0)
		return rc;
	before = p->seen.len;
	for (m = 0; m < 2 && imgs[m]; m++)
		for (u = 0; u < t->nuniq; u++) {
			struct seen_ent *e;
			if (unique_text(&has, v, t, u, imgs[m], map) < 0 || seen_fit(p) < 0)
				goto oom;
			if (!has || seen_lookup(p, v->ptr, v->len, &slot))
				continue;
			if (p->nsents == p->scap) {
				size_t ncap = p->scap ? 2 * p->scap : 64;
				struct seen_ent *n = realloc(p->sents, ncap * sizeof(*n));
				if (!n)
					goto oom;
				p->sents = n;
				p->scap = ncap;
			}
			e = &p->sents[p->nsents];
			e->off = p->seen.len;
			e->vlen = v->len;
			e->klen = k->len;
			if (buf_add(&p->seen, v->ptr, v->len) < 0 ||
			    buf_add(&p->seen, k->ptr, k->len) < 0)
				goto oom;
			p->nsents++;
			p->shash[slot] = (uint32_t)p->nsents;
		}
	r->pend_bytes += p->seen.len - before;
	return 0;
oom:
	return err_set(err, GW_ENOMEM, "out of memory");
}

/* Sends the ops [from, to) of one kind as statements of at most
 * STMT_BYTES. */
static int pend_send(struct repl *r, struct rtable *t, bool del, size_t from, size_t to,
		     struct gw_err *err)
{
	struct pend *p = &t->pend;
	struct buf *q = &r->sql;
	size_t i, n = 0;
	int rc;

	buf_reset(q);
	for (i = from; i <= to; i++) {
		const struct pend_op *o = i < to ? &p->ops[i] : NULL;
		if (o && o->del != del)
			continue;
		if (n && (!o || q->len >= STMT_BYTES)) {
			if (del ? t->nkey == 1 && buf_putc(q, ')') < 0 : upsert_tail(q, t) < 0)
				goto oom;
			if (dst_apply(r, q->ptr, q->len)) {
				rc = conn_error(err, r->dst, "applying changes");
				err_prefix(err, "%s.%s", t->dest_db, t->dest_table);
				return rc;
			}
			buf_reset(q);
			n = 0;
		}
		if (!o)
			break;
		if (n == 0) {
			if (del) {
				if (buf_puts(q, "DELETE FROM ") < 0 || dest_name(q, t) < 0 ||
				    buf_puts(q, " WHERE ") < 0)
					goto oom;
				if (t->nkey == 1 &&
				    (conn_quote_ident(q, t->dest_names[t->key[0]]) < 0 ||
				     buf_puts(q, " IN (") < 0))
					goto oom;
			} else if (upsert_head(q, t) < 0) {
				goto oom;
			}
		} else if (buf_puts(q, del && t->nkey != 1 ? " OR " : ",") < 0) {
			goto oom;
		}
		if ((del ? buf_add(q, p->arena.ptr + o->koff, o->klen)
			 : buf_add(q, p->arena.ptr + o->voff, o->vlen)) < 0)
			goto oom;
		n++;
	}
	return 0;
oom:
	return err_set(err, GW_ENOMEM, "out of memory");
}

static int pend_flush(struct repl *r, struct rtable *t, struct gw_err *err)
{
	struct pend *p = &t->pend;
	size_t a, b;
	int rc = 0;

	if (!p->nops)
		return 0;
	r->pend_bytes -=
	    p->arena.len + p->seen.len < r->pend_bytes ? p->arena.len + p->seen.len : r->pend_bytes;
	if (t->net || t->seg) {
		if ((rc = pend_send(r, t, true, 0, p->nops, err)) == 0)
			rc = pend_send(r, t, false, 0, p->nops, err);
	} else {
		for (a = 0; a < p->nops && rc == 0; a = b) {
			for (b = a + 1; b < p->nops && p->ops[b].del == p->ops[a].del; b++)
				;
			rc = pend_send(r, t, p->ops[a].del, a, b, err);
		}
	}
	pend_clear(p);
	return rc;
}

static int pend_flush_all(struct repl *r, struct gw_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < r->ntables; i++)
		if ((rc = pend_flush(r, &r->tables[i], err)) < 0) {
			/* the transaction is lost: so is the rest of it */
			pend_drop_all(r);
			return rc;
		}
	return 0;
}

static void pend_drop_all(struct repl *r)
{
	size_t i;

	for (i = 0; i < r->ntables; i++)
		pend_clear(&r->tables[i].pend);
	r->pend_bytes = 0;
}

/* Queues a delete (img is the key's image) or an upsert of img; other is
 * the before image of an update that keeps its key, else NULL. */
static int pend_add(struct repl *r, struct rtable *t, bool del, const struct bl_value *img,
		    const struct bl_value *other, const struct bl_table *map, struct gw_err *err)
{
	struct pend *p = &t->pend;
	struct pend_op *o = NULL;
	bool merged = t->net || t->seg;
	size_t koff, voff, slot = 0;
	int rc;

	if (t->seg && (rc = seg_admit(r, t, img, other, map, err)) < 0)
		return rc;
	koff = p->arena.len;
	if (merged && pend_hash_fit(p) < 0)
		goto oom;
	if (key_text(&p->arena, t, img, map) < 0)
		goto oom;
	voff = p->arena.len;
	if (!del && upsert_row(&p->arena, t, img, map) < 0)
		goto oom;
	if (merged && (o = pend_lookup(p, p->arena.ptr + koff, voff - koff, &slot))) {
		/* A later change of the key is its whole effect. */
		o->koff = koff;
	} else {
		if (p->nops == p->cap) {
			size_t ncap = p->cap ? 2 * p->cap : 256;
			struct pend_op *n = realloc(p->ops, ncap * sizeof(*n));
			if (!n)
				goto oom;
			p->ops = n;
			p->cap = ncap;
		}
		o = &p->ops[p->nops++];
		o->koff = koff;
		if (merged)
			p->hash[slot] = (uint32_t)p->nops;
	}
	o->klen = voff - koff;
	o->voff = voff;
	o->vlen = p->arena.len - voff;
	o->del = del;
	r->pend_bytes += p->arena.len - koff;
	if (r->pend_bytes >= PEND_BYTES)
		return pend_flush_all(r, err);
	if (p->nops >= PEND_OPS)
		return pend_flush(r, t, err);
	return 0;
oom:
	return err_set(err, GW_ENOMEM, "out of memory");
}

static int apply_rows(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	const struct bl_table *map = e->table;
	struct rtable *t;
	size_t i;
	int rc;

	if (!map || !(t = rtable_find(r, map->db, map->table, true)))
		return 0; /* not selected */
	if (!t->loaded && (rc = rtable_load(r, t, err)) < 0)
		return rc;
	if (map->ncols != t->ncols)
		return err_set(err, GW_EFATAL,
			       "table %s.%s: the binlog has %zu columns, the source's schema %zu: "
			       "the table changed without a DDL the stream showed",
			       t->db, t->table, map->ncols, t->ncols);
	if ((rc = txn_begin(r, err)) < 0)
		return rc;
	for (i = 0; i < e->nrows; i++) {
		const struct bl_row *row = &e->rows[i];
		bool pass = true;

		const struct bl_value *other = NULL;

		if (e->kind == BK_DELETE_ROWS) {
			if ((rc = pend_add(r, t, true, row->before, NULL, map, err)) < 0)
				return rc;
			continue;
		}
		if (e->kind == BK_UPDATE_ROWS && row->before) {
			for (size_t c = 0; c < t->ncols; c++)
				if (!row->after_present[c])
					return err_set(err, GW_EFATAL,
						       "table %s.%s: partial row images "
						       "(binlog_row_image is not FULL)",
						       t->db, t->table);
			if (!key_changed(t, row))
				other = row->before;
			else if ((rc = pend_add(r, t, true, row->before, NULL, map, err)) < 0)
				return rc;
		}
		if ((rc = filter_passes(&pass, r, t, row->after, map, err)) < 0)
			return rc;
		/* Out of the filter: not (or no longer) on the destination. */
		if ((rc = pend_add(r, t, !pass, row->after, other, map, err)) < 0)
			return rc;
	}
	r->txn_rows += e->nrows;
	r->events_in_group += e->nrows;
	return 0;
}

/* --- DDL ------------------------------------------------------------- */

static const char *skip_space_comments(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '/' && p[1] == '*' && p[2] != '!') {
			const char *e = strstr(p + 2, "*/");
			if (!e)
				return p + strlen(p);
			p = e + 2;
		} else if ((p[0] == '-' && p[1] == '-') || p[0] == '#') {
			while (*p && *p != '\n')
				p++;
		} else {
			return p;
		}
	}
}

static bool word_is(const char **pp, const char *w)
{
	const char *p = skip_space_comments(*pp);
	size_t n = strlen(w);

	if (strncasecmp(p, w, n) || isalnum((unsigned char)p[n]) || p[n] == '_')
		return false;
	*pp = p + n;
	return true;
}

/* Reads an identifier (`quoted` or bare) into out. */
static bool read_ident(const char **pp, char *out, size_t outsz)
{
	const char *p = skip_space_comments(*pp);
	size_t n = 0;

	if (*p == '`') {
		p++;
		while (*p && n + 1 < outsz) {
			if (*p == '`') {
				if (p[1] == '`')
					p++;
				else
					break;
			}
			out[n++] = *p++;
		}
		if (*p != '`')
			return false;
		p++;
	} else {
		while ((isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
			(unsigned char)*p >= 0x80) &&
		       n + 1 < outsz)
			out[n++] = *p++;
	}
	out[n] = '\0';
	*pp = p;
	return n > 0;
}

/* The object a DDL statement names: (db, table) with db "" when unqualified. */
static bool ddl_target(const char *sql, char *db, char *table, size_t sz, bool *is_db_ddl,
		       const char **name_start, const char **name_end)
{
	const char *p = sql;

	*is_db_ddl = false;
	*name_start = *name_end = NULL;
	db[0] = table[0] = '\0';
	if (word_is(&p, "CREATE") || word_is(&p, "ALTER") || word_is(&p, "DROP") ||
	    word_is(&p, "RENAME") || word_is(&p, "TRUNCATE")) {
		(void)(word_is(&p, "OR") && word_is(&p, "REPLACE"));
		(void)word_is(&p, "TEMPORARY");
		(void)word_is(&p, "ONLINE");
		(void)word_is(&p, "IGNORE");
		if (word_is(&p, "DATABASE") || word_is(&p, "SCHEMA")) {
			*is_db_ddl = true;
			(void)(word_is(&p, "IF") && (word_is(&p, "NOT") || 1) &&
			       word_is(&p, "EXISTS"));
			return read_ident(&p, db, sz);
		}
		/* ALGORITHM=... DEFINER=... SQL SECURITY ... before VIEW */
		while (!word_is(&p, "TABLE") && !word_is(&p, "VIEW") && !word_is(&p, "INDEX") &&
		       *p) {
			if (word_is(&p, "UNIQUE") || word_is(&p, "FULLTEXT") ||
			    word_is(&p, "SPATIAL"))
				continue;
			if (word_is(&p, "TRIGGER") || word_is(&p, "PROCEDURE") ||
			    word_is(&p, "FUNCTION") || word_is(&p, "EVENT") ||
			    word_is(&p, "USER") || word_is(&p, "ROLE") || word_is(&p, "SEQUENCE"))
				return false;
			p++;
		}
		if (!*p)
			return false;
		{
			/* INDEX name ON table */
			const char *q = p;
			char idx[256];
			if (read_ident(&q, idx, sizeof(idx)) && word_is(&q, "ON"))
				p = q;
		}
		(void)(word_is(&p, "IF") && (word_is(&p, "NOT") || 1) && word_is(&p, "EXISTS"));
		*name_start = skip_space_comments(p);
		if (!read_ident(&p, table, sz))
			return false;
		if (*p == '.') {
			p++;
			(void)snprintf(db, sz, "%s", table);
			if (!read_ident(&p, table, sz))
				return false;
		}
		*name_end = p;
		return true;
	}
	return false;
}

static bool ddl_errno_done(unsigned e, bool renames)
{
	/* Already applied before a crash: the statement's effect is there. A
	 * missing table is that only for a rename (elsewhere, e.g. a view over
	 * a table the destination lacks, it is a DDL that did not apply). */
	return e == ER_TABLE_EXISTS_ERROR || e == ER_BAD_TABLE_ERROR || e == ER_DUP_FIELDNAME ||
	       e == ER_DUP_KEYNAME || e == ER_CANT_DROP_FIELD_OR_KEY || e == ER_DB_CREATE_EXISTS ||
	       e == ER_UNKNOWN_VIEW || (renames && e == ER_NO_SUCH_TABLE);
}

/* Copies sql [p, end) with every `db`.x whose db is a selected database
 * renamed on the destination written with the destination's name. Strings
 * and comments are copied as they are. NEEDSWORK: a table alias equal to
 * the name of a renamed database (`app.col` meaning alias app) would be
 * mapped too. */
static int ddl_map_databases(struct buf *out, const struct spec *s, const char *p, const char *end)
{
	while (p < end) {
		const char *st = p;

		if (*p == '\'' || *p == '"') {
			char qc = *p++;
			while (p < end && *p != qc) {
				if (*p == '\\' && p + 1 < end)
					p++;
				p++;
			}
			if (p < end)
				p++;
		} else if (p + 1 < end && p[0] == '/' && p[1] == '*' &&
			   (p + 2 >= end || p[2] != '!')) {
			const char *e = strstr(p + 2, "*/");
			p = e && e + 2 <= end ? e + 2 : end;
		} else if (*p == '#' || (p + 1 < end && p[0] == '-' && p[1] == '-')) {
			while (p < end && *p != '\n')
				p++;
		} else if (*p == '`' || isalpha((unsigned char)*p) || *p == '_' || *p == '$' ||
			   (unsigned char)*p >= 0x80) {
			const struct object_sel *o;
			char id[256];

			if (!read_ident(&p, id, sizeof(id)) || p > end) {
				p = st + 1;
			} else if (p < end && *p == '.' && (o = spec_find_database(s, id)) &&
				   o->rename_to) {
				if (conn_quote_ident(out, o->rename_to) < 0)
					return GW_ENOMEM;
				continue;
			}
		} else {
			p++;
		}
		if (buf_add(out, st, (size_t)(p - st)) < 0)
			return GW_ENOMEM;
	}
	return 0;
}

/* Whether an ALTER TABLE renames the table itself (not a column or key). */
static bool alter_renames_table(const char *sql)
{
	const char *p;

	for (p = sql; *p; p++) {
		const char *q = p;
		if ((p == sql || !isalnum((unsigned char)p[-1])) && word_is(&q, "RENAME") &&
		    !word_is(&q, "COLUMN") && !word_is(&q, "INDEX") && !word_is(&q, "KEY"))
			return true;
	}
	return false;
}

/* The new name of RENAME TABLE a TO b (its first pair). */
static bool rename_new_name(const char *name_end, const char *cur_db, char *db, char *table,
			    size_t sz)
{
	const char *p = name_end;

	if (!word_is(&p, "TO") || !read_ident(&p, table, sz))
		return false;
	(void)snprintf(db, sz, "%s", cur_db);
	if (*p == '.') {
		p++;
		(void)snprintf(db, sz, "%s", table);
		if (!read_ident(&p, table, sz))
			return false;
	}
	return true;
}

/*
 * DDL of the source on the destination, in stream order. Safe, and
 * applied: DDL on tables of a whole selected database (names mapped), and
 * on tables listed in the spec whose columns are all copied under their own
 * names (the table's name mapped). Unsafe, and the task stops with the
 * reason (the position stays before the statement): ALTER/RENAME/CREATE
 * INDEX on a table with a column selection or column renames (the
 * destination's columns are not the source's), a RENAME of a listed table
 * (the new name is not what the spec maps) or of an unselected table to a
 * selected name (its rows were never copied), DROP or ALTER of a selected
 * database. DROP and TRUNCATE are safe on every selected table.
 */
static int apply_query(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	char db[256], table[256], sql_db[256], ndb[256], ntable[256];
	const char *p = e->sql, *ns, *ne;
	const struct object_sel *o;
	const struct table_sel *tsel = NULL;
	struct buf q = BUF_INIT, stmt = BUF_INIT;
	bool is_db, is_rename, is_alter, keeps_columns;
	size_t i;
	int rc;

	if (!e->sql || !e->sql_len)
		return 0;
	if (word_is(&p, "BEGIN") || word_is(&p, "COMMIT") || word_is(&p, "XA") ||
	    word_is(&p, "SAVEPOINT") || word_is(&p, "ROLLBACK"))
		return 0;
	if (!ddl_target(e->sql, db, table, sizeof(db), &is_db, &ns, &ne))
		return 0;
	(void)snprintf(sql_db, sizeof(sql_db), "%s", db[0] ? db : e->db ? e->db : "");
	if (!(o = spec_find_database(r->s, sql_db)))
		return 0; /* not a selected database */
	if (is_db) {
		p = e->sql;
		if (word_is(&p, "DROP"))
			return err_set(err, GW_EFATAL,
				       "the source dropped database %s: refusing to drop it on the "
				       "destination (stop the migration and decide)",
				       sql_db);
		if (word_is(&p, "CREATE"))
			return 0; /* it exists on the destination already */
		return err_set(err, GW_EFATAL,
			       "DDL on database %s cannot be applied safely: %.200s", sql_db,
			       e->sql);
	}
	p = e->sql;
	is_rename = word_is(&p, "RENAME");
	p = e->sql;
	is_alter = word_is(&p, "ALTER");
	if (!spec_table_selected(r->s, sql_db, table, &tsel)) {
		if (is_rename && rename_new_name(ne, sql_db, ndb, ntable, sizeof(ndb)) &&
		    spec_table_selected(r->s, ndb, ntable, NULL))
			return err_set(
			    err, GW_EFATAL,
			    "RENAME of %s.%s to the selected name %s.%s cannot be "
			    "applied safely: the destination never had its rows (%.200s)",
			    sql_db, table, ndb, ntable, e->sql);
		return 0;
	}
	if (!spec_whole_database(o) && (is_rename || (is_alter && alter_renames_table(e->sql))))
		return err_set(err, GW_EFATAL,
			       "RENAME of %s.%s cannot be applied safely: the table is listed in "
			       "the spec, which maps its name, not the new one (%.200s)",
			       sql_db, table, e->sql);
	p = e->sql;
	keeps_columns = word_is(&p, "DROP") || word_is(&p, "TRUNCATE");
	if (tsel && (tsel->ncolumns || tsel->nrenames) && !keeps_columns)
		return err_set(err, GW_EFATAL,
			       "DDL on %s.%s cannot be applied safely: the spec selects or renames "
			       "its columns, so the destination's columns are not the source's "
			       "(%.200s)",
			       sql_db, table, e->sql);
	/* The statement with the destination's names. */
	if (ddl_map_databases(&stmt, r->s, e->sql, ns) < 0 ||
	    conn_quote_ident(&stmt, spec_dest_database(o)) < 0 || buf_putc(&stmt, '.') < 0 ||
	    conn_quote_ident(&stmt, spec_dest_table(tsel, table)) < 0 ||
	    ddl_map_databases(&stmt, r->s, ne, e->sql + e->sql_len) < 0 ||
	    conn_quote_ident(&q, spec_dest_database(o)) < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	/* DDL commits implicitly: close the group first. */
	if ((rc = txn_commit(r, err)) < 0 ||
	    (rc = conn_execf(r->dst, err, "USE %s", buf_cstr(&q))) < 0)
		goto out;
	if (mysql_real_query(r->dst, stmt.ptr, stmt.len)) {
		unsigned en = mysql_errno(r->dst);
		if (!ddl_errno_done(en, is_rename || (is_alter && alter_renames_table(e->sql)))) {
			rc = conn_error(err, r->dst, "applying DDL");
			err_prefix(err, "%s.%s", sql_db, table);
			goto out;
		}
		log_warn(r->s->name, "DDL on %s.%s already applied (%s)", sql_db, table,
			 mysql_error(r->dst));
	}
	log_info(r->s->name, "applied DDL on %s.%s: %.200s", sql_db, table, buf_cstr(&stmt));
	/* Column layouts may have changed (a RENAME moves two names): reload
	 * the database's tables when next needed. */
	for (i = 0; i < r->ntables; i++)
		if (!strcmp(r->tables[i].db, sql_db))
			rtable_unload(&r->tables[i]);
	/* The position after the DDL, in a transaction of its own. */
	if ((rc = txn_begin(r, err)) < 0)
		goto out;
	rc = txn_commit(r, err);
out:
	buf_release(&q);
	buf_release(&stmt);
	return rc;
}

/* --- the stream ------------------------------------------------------ */

static int start_position(struct repl *r, struct gw_err *err)
{
	struct binlog_pos pos;
	struct buf q = BUF_INIT;
	char text[4400];
	bool found;
	int rc;

	if ((rc = meta_position_get(&pos, &found, r->dst, r->metadb, r->s->name, err)) < 0)
		return rc;
	if (!found) {
		/* An incremental-only task: from now. */
		if ((rc = stream_source_position(&pos, r->src, err)) < 0)
			return rc;
		if (meta_position_sql(&q, r->dst, r->metadb, r->s->name, &pos) < 0) {
			buf_release(&q);
			return err_set(err, GW_ENOMEM, "out of memory");
		}
		rc = conn_exec(r->dst, buf_cstr(&q), err);
		buf_release(&q);
		if (rc < 0)
			return rc;
	}
	if (pos.halted[0])
		return err_set(err, GW_EFATAL, "stopped for good at this position: %s", pos.halted);
	if ((rc = position_load(r, &pos, err)) < 0)
		return rc;
	meta_position_format(text, sizeof(text), &pos);
	progress_set_position(r->io->progress, text);
	return 0;
}

/* A set as text for a message, cut to fit. */
static void set_text(char *out, size_t outsz, const struct gtid_set *s)
{
	struct buf b = BUF_INIT;

	(void)snprintf(out, outsz, "%s", gtid_set_format(&b, s) == 0 ? buf_cstr(&b) : "?");
	if (b.len >= outsz && outsz > 4)
		memcpy(out + outsz - 4, "...", 4);
	buf_release(&b);
}

/*
 * Before a MySQL source streams: is it the server, or a server with the
 * history, the position belongs to? A GTID set resumes on any server that
 * has every transaction of it and has purged none after it (a switch-over
 * to a replica that was in sync: the stream goes on by GTID set). A file
 * position belongs to one server: another server_uuid at the address (with
 * gtid_mode OFF nothing says where the old host's position is on the new
 * one) cannot go on.
 */
static int check_source(struct repl *r, struct gw_err *err)
{
	struct gtid_set exec = GTID_SET_INIT, purged = GTID_SET_INIT;
	struct buf v = BUF_INIT;
	char uuid[64], text[400];
	bool found;
	int rc;

	if (r->src_mariadb)
		return 0;
	if ((rc = stream_source_uuid(uuid, r->src, err)) < 0)
		return rc;
	if (r->kind == POS_FILE) {
		if (r->source_uuid[0] && strcmp(uuid, r->source_uuid))
			rc = err_set(
			    err, GW_EFATAL,
			    "the source's server_uuid is %s, the recorded position %s:%llu is "
			    "of %s: another server answers (a switch-over?) and without "
			    "GTIDs (gtid_mode OFF) a file position cannot be carried over to "
			    "it: a new full migration is needed",
			    uuid, r->file, (unsigned long long)r->pos, r->source_uuid);
		goto out;
	}
	if ((rc = conn_query_value(&v, &found, r->src, "SELECT @@GLOBAL.gtid_mode", err)) < 0)
		goto out;
	if (strcasecmp(buf_cstr(&v), "ON")) {
		rc = err_set(
		    err, GW_EFATAL,
		    "the source's gtid_mode is %s, no longer ON: the recorded GTID set cannot "
		    "be streamed from (set gtid_mode back to ON, or start a new full "
		    "migration)",
		    buf_cstr(&v));
		goto out;
	}
	if ((rc = conn_query_value(&v, &found, r->src, "SELECT @@GLOBAL.gtid_executed", err)) < 0 ||
	    (rc = gtid_set_parse(&exec, buf_cstr(&v), err)) < 0 ||
	    (rc = conn_query_value(&v, &found, r->src, "SELECT @@GLOBAL.gtid_purged", err)) < 0 ||
	    (rc = gtid_set_parse(&purged, buf_cstr(&v), err)) < 0) {
		err_prefix(err, "reading the source's GTID history");
		goto out;
	}
	if (!gtid_set_contains(&exec, &r->mset)) {
		if (gtid_set_subtract(&r->mset, &exec) < 0) /* fails the task: r->mset is done */
			text[0] = '\0';
		else
			set_text(text, sizeof(text), &r->mset);
		rc = err_set(err, GW_EFATAL,
			     "the source (server_uuid %s) lacks transactions this migration has "
			     "applied (%s): it does not carry the history of the server the "
			     "migration started from; a new full migration is needed",
			     uuid, text);
		goto out;
	}
	if (!gtid_set_contains(&r->mset, &purged)) {
		if (gtid_set_subtract(&purged, &r->mset) < 0)
			text[0] = '\0';
		else
			set_text(text, sizeof(text), &purged);
		rc = err_set(err, GW_EFATAL,
			     "the recorded GTID set is no longer in the source's binlogs: the "
			     "source (server_uuid %s) has purged transactions not applied yet "
			     "(%s); a new full migration is needed",
			     uuid, text);
		goto out;
	}
	if (r->source_uuid[0] && strcmp(uuid, r->source_uuid))
		log_info(r->s->name,
			 "the source's server_uuid changed from %s to %s (a switch-over): it has "
			 "every transaction applied, resuming by GTID set",
			 r->source_uuid, uuid);
	(void)snprintf(r->source_uuid, sizeof(r->source_uuid), "%s", uuid);
out:
	gtid_set_release(&exec);
	gtid_set_release(&purged);
	buf_release(&v);
	return rc;
}

/* --- XA transactions ------------------------------------------------- */

/*
 * An XA transaction is logged as two groups: its changes, ending with XA
 * PREPARE (MySQL: a QUERY "XA START ..." first; MariaDB 10.5+: a GTID
 * marked prepared), and later, maybe much later and after a restart of
 * either side, XA COMMIT or XA ROLLBACK as a group of its own. Applied at
 * the prepare, a rollback could not be undone; kept in memory, they would
 * be unbounded and lost with the process. So the statements that apply
 * them (dst_apply) go into godwit_meta.xa_pending, in the destination
 * transaction that records the prepare group's position, and the XA
 * COMMIT runs them, deletes them and records its own position in one
 * transaction: each XA transaction is applied once, at its commit. A row
 * of seq 0 marks every prepare seen; an XA COMMIT without one was prepared
 * before the migration's start position, its changes neither copied (they
 * were not committed) nor streamed.
 */

/* The canonical text of an XID as an XA statement names it ("XA COMMIT
 * 'g','b',3", or X'..' as the server logs it): X'gtrid',X'bqual',format,
 * as binlog_xid_text() gives it. -1 when p is not an XID. */
static int xid_from_sql(struct buf *out, const char *p)
{
	static const char hex[] = "0123456789abcdef";
	unsigned long fmt = 1;
	int part;

	buf_reset(out);
	for (part = 0; part < 2; part++) {
		size_t n = 0;
		while (*p == ' ')
			p++;
		if (part && *p != ',')
			break;
		if (part)
			p++;
		while (*p == ' ')
			p++;
		if (buf_puts(out, part ? ",X'" : "X'") < 0)
			return -1;
		if ((*p == 'X' || *p == 'x') && p[1] == '\'') {
			for (p += 2; isxdigit((unsigned char)*p); p++, n++)
				if (buf_putc(out, (char)tolower((unsigned char)*p)) < 0)
					return -1;
			if (*p++ != '\'' || n % 2 || n > 128)
				return -1;
		} else if (*p == '\'' || *p == '"') {
			char q = *p++;
			for (; *p && (*p != q || p[1] == q); p++, n++) {
				if (*p == q || (*p == '\\' && p[1]))
					p++;
				if (buf_putc(out, hex[(unsigned char)*p >> 4]) < 0 ||
				    buf_putc(out, hex[(unsigned char)*p & 15]) < 0)
					return -1;
			}
			if (*p++ != q || n > 64)
				return -1;
		} else {
			return -1;
		}
		if (buf_putc(out, '\'') < 0)
			return -1;
	}
	if (part == 1 && buf_puts(out, ",X''") < 0)
		return -1;
	while (*p == ' ')
		p++;
	if (*p == ',') {
		char *end;
		fmt = strtoul(p + 1, &end, 10);
		if (end == p + 1)
			return -1;
	}
	return buf_printf(out, ",%lu", fmt) < 0 ? -1 : 0;
}

/* An XA transaction's prepare group starts: what is pending belongs to
 * earlier transactions and is sent; what follows is kept. */
static int xa_begin(struct repl *r, const struct buf *xid, struct gw_err *err)
{
	int rc;

	if ((rc = txn_begin(r, err)) < 0 || (rc = pend_flush_all(r, err)) < 0)
		return rc;
	buf_reset(&r->xa_xid);
	if (buf_add(&r->xa_xid, xid->ptr, xid->len) < 0)
		return err_set(err, GW_ENOMEM, "out of memory");
	r->xa_capture = true;
	r->xa_seq = 1;
	return 0;
}

/* Runs (commit) or drops the kept statements of xid, inside the open
 * destination transaction; *found_out whether its prepare was seen. */
static int xa_finish(struct repl *r, const struct buf *xid, bool commit, bool *found_out,
		     struct gw_err *err)
{
	struct buf q = BUF_INIT, key = BUF_INIT, v = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long long seq, last = 0, n = 0;
	bool found;
	int rc;

	*found_out = false;
	if ((rc = txn_begin(r, err)) < 0 || (rc = pend_flush_all(r, err)) < 0)
		return rc;
	if (buf_puts(&key, " WHERE task = ") < 0 ||
	    conn_quote_string(&key, r->dst, r->s->name, strlen(r->s->name)) < 0 ||
	    buf_puts(&key, " AND xid = ") < 0 ||
	    conn_quote_string(&key, r->dst, xid->ptr, xid->len) < 0 ||
	    buf_puts(&q, "SELECT COUNT(*), MAX(seq) FROM ") < 0 ||
	    conn_quote_ident(&q, r->metadb) < 0 || buf_puts(&q, ".xa_pending") < 0 ||
	    buf_add(&q, key.ptr, key.len) < 0)
		goto oom;
	if (mysql_real_query(r->dst, q.ptr, q.len) || !(res = mysql_store_result(r->dst))) {
		rc = conn_error(err, r->dst, "reading xa_pending");
		goto out;
	}
	if ((row = mysql_fetch_row(res)) && row[0]) {
		n = strtoull(row[0], NULL, 10);
		last = row[1] ? strtoull(row[1], NULL, 10) : 0;
	}
	mysql_free_result(res);
	*found_out = n > 0;
	/* one statement at a time: a big transaction stays on the destination */
	for (seq = 1; commit && seq <= last; seq++) {
		buf_reset(&q);
		if (buf_puts(&q, "SELECT stmt FROM ") < 0 || conn_quote_ident(&q, r->metadb) < 0 ||
		    buf_puts(&q, ".xa_pending") < 0 || buf_add(&q, key.ptr, key.len) < 0 ||
		    buf_printf(&q, " AND seq = %llu", seq) < 0)
			goto oom;
		if ((rc = conn_query_value(&v, &found, r->dst, buf_cstr(&q), err)) < 0)
			goto out;
		if (found && mysql_real_query(r->dst, v.ptr, v.len)) {
			rc = conn_error(err, r->dst, "applying an XA transaction's changes");
			goto out;
		}
	}
	buf_reset(&q);
	if (buf_puts(&q, "DELETE FROM ") < 0 || conn_quote_ident(&q, r->metadb) < 0 ||
	    buf_puts(&q, ".xa_pending") < 0 || buf_add(&q, key.ptr, key.len) < 0)
		goto oom;
	rc = dst_exec(r, &q, err);
	goto out;
oom:
	rc = err_set(err, GW_ENOMEM, "out of memory");
out:
	buf_release(&q);
	buf_release(&key);
	buf_release(&v);
	return rc;
}

/* XA_PREPARE: the kept changes wait for the commit (a marker says the
 * prepare was seen); one phase (XA COMMIT ... ONE PHASE), they are
 * applied now, with those kept already. */
static int xa_prepared(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	struct buf xid = BUF_INIT;
	bool found;
	int rc;

	if (!r->xa_capture)
		return 0; /* nothing of it was read: its XA START came first */
	if (binlog_xid_text(&xid, e) < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (strcmp(buf_cstr(&xid), buf_cstr(&r->xa_xid)))
		log_warn(r->s->name, "XA PREPARE %s follows XA START %s", buf_cstr(&xid),
			 buf_cstr(&r->xa_xid));
	if (e->xa_one_phase) {
		r->xa_capture = false;
		rc = xa_finish(r, &r->xa_xid, true, &found, err);
		goto out;
	}
	if ((rc = txn_begin(r, err)) < 0 || (rc = pend_flush_all(r, err)) < 0)
		goto out;
	if (xa_store(r, 0, "", 0)) {
		rc = conn_error(err, r->dst, "recording a prepared XA transaction");
		goto out;
	}
	r->xa_capture = false;
	log_info(r->s->name, "XA transaction %s prepared on the source: applied at its commit",
		 buf_cstr(&r->xa_xid));
out:
	buf_release(&xid);
	return rc;
}

/* XA COMMIT / XA ROLLBACK of a prepared transaction (its own group). */
static int xa_complete(struct repl *r, const char *sql, bool commit, struct gw_err *err)
{
	struct buf xid = BUF_INIT;
	bool found;
	int rc;

	if (xid_from_sql(&xid, sql) < 0) {
		rc = err_set(err, GW_EFATAL, "cannot read the XID of '%.200s'", sql);
		goto out;
	}
	if ((rc = xa_finish(r, &xid, commit, &found, err)) < 0)
		goto out;
	if (commit && !found)
		rc = err_set(err, GW_EFATAL,
			     "XA COMMIT %s: the transaction was prepared before this migration's "
			     "start position, so its changes were neither copied nor streamed; a "
			     "new full migration is needed",
			     buf_cstr(&xid));
out:
	buf_release(&xid);
	return rc;
}

/* Whether a QUERY event ends its transaction's group (BEGIN, SAVEPOINT and
 * XA START/END are inside one; COMMIT, DDL, XA COMMIT end one). */
static bool query_ends_group(const char *sql)
{
	const char *p = sql;

	if (word_is(&p, "BEGIN") || word_is(&p, "SAVEPOINT"))
		return false;
	p = sql;
	if (word_is(&p, "XA"))
		return !(word_is(&p, "START") || word_is(&p, "BEGIN") || word_is(&p, "END"));
	p = sql;
	if ((word_is(&p, "ROLLBACK") && word_is(&p, "TO")) ||
	    (word_is(&p, "RELEASE") && word_is(&p, "SAVEPOINT")))
		return false;
	p = sql;
	return !(word_is(&p, "START") && word_is(&p, "TRANSACTION"));
}

/* A QUERY event of the stream: XA statements, DDL (apply_query), and the
 * end of a group. */
static int stream_query(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	const char *p = e->sql ? e->sql : "";
	struct buf xid = BUF_INIT;
	int rc = 0;

	if (word_is(&p, "XA")) {
		if (word_is(&p, "START") || word_is(&p, "BEGIN")) {
			if (xid_from_sql(&xid, p) < 0)
				rc = err_set(err, GW_EFATAL, "cannot read the XID of '%.200s'",
					     e->sql);
			else
				rc = xa_begin(r, &xid, err);
		} else if (word_is(&p, "COMMIT")) {
			rc = xa_complete(r, p, true, err);
		} else if (word_is(&p, "ROLLBACK")) {
			rc = xa_complete(r, p, false, err);
		}
		buf_release(&xid);
	} else {
		rc = apply_query(r, e, err);
	}
	if (rc == 0 && r->have_pending && e->sql && query_ends_group(e->sql) &&
	    (rc = txn_begin(r, err)) == 0 && (rc = gtid_done(r, err)) == 0)
		r->txns_in_group++;
	return rc;
}

static void update_delay(struct repl *r, bool idle)
{
	int64_t now = util_now_ms() / 1000;

	if (idle && !r->in_txn) {
		atomic_store(&r->io->progress->applying_unix, 0);
		atomic_store(&r->io->progress->delay_seconds, 0);
		atomic_store(&r->io->progress->caught_up, 1);
	} else if (r->last_event_ts) {
		int64_t d = now - r->last_event_ts;
		atomic_store(&r->io->progress->delay_seconds, d > 0 ? d : 0);
		atomic_store(&r->io->progress->caught_up, 0);
	}
}

/* The gated stop: once not delayed, optionally freeze, then drain. */
static int stop_step(struct repl *r, bool idle, bool *done, struct gw_err *err)
{
	const struct spec *s = r->s;
	struct binlog_pos fin;
	int64_t delay = atomic_load(&r->io->progress->delay_seconds);
	int rc;

	*done = false;
	if (!r->stopping) {
		if (s->stop_force) {
			*done = true;
			return 0;
		}
		if (!(idle || (delay >= 0 && delay * 1000 <= s->stop_max_delay_ms)))
			return 0; /* still delayed: the stop waits */
		if (s->stop_freeze_source) {
			if (s->source.is_rds)
				return err_set(
				    err, GW_EFATAL,
				    "stop.freezeSource is not possible on an rds source: "
				    "stop the writers yourself, then stop without freeze");
			/* read_only waits for every table lock held on the source;
			 * bounded, the wait is a retry (Retrying, with the reason)
			 * that a pause or a forced stop can interrupt, instead of a
			 * statement that may freeze the source long after. */
			if ((rc =
				 conn_exec(r->src, "SET SESSION lock_wait_timeout = " FREEZE_WAIT_S,
					   err)) < 0 ||
			    (rc = conn_exec(r->src, "SET GLOBAL read_only = ON", err)) < 0) {
				err_prefix(err, "freezing the source");
				return rc;
			}
			log_info(s->name, "source set read_only for the final drain");
		}
		if ((rc = stream_source_position(&fin, r->src, err)) < 0)
			return rc;
		r->final_mpos.n = 0;
		gtid_set_clear(&r->final_mset);
		if (r->kind == POS_MYSQL_GTID && fin.kind != POS_MYSQL_GTID)
			return err_set(err, GW_EFATAL,
				       "the source's gtid_mode is no longer ON: its final position "
				       "cannot be compared with the GTID set applied");
		if ((r->kind == POS_MYSQL_GTID &&
		     (rc = gtid_set_parse(&r->final_mset, fin.gtid, err)) < 0) ||
		    (r->kind == POS_MARIADB &&
		     (rc = gtid_pos_parse(&r->final_mpos, fin.gtid, err)) < 0)) {
			err_prefix(err, "the source's final position");
			return rc;
		}
		(void)snprintf(r->final_file, sizeof(r->final_file), "%s", fin.file);
		r->final_pos = fin.pos;
		r->stopping = true;
		log_info(s->name, "stopping: draining to the source's final position %s",
			 r->kind != POS_FILE && fin.gtid[0] ? fin.gtid : fin.file);
	}
	if (reached_final(r) && !r->in_txn)
		*done = true;
	return 0;
}

/* Where the stream starts: the applied position. */
static void stream_from_here(struct stream_from *f, const struct repl *r)
{
	memset(f, 0, sizeof(*f));
	f->kind = r->kind;
	f->file = r->file;
	f->pos = r->pos;
	f->mariadb = &r->mpos;
	f->mysql = &r->mset;
}

/* The position as a message names it. */
static void position_text(char *out, size_t outsz, const struct repl *r)
{
	struct binlog_pos p;
	struct gw_err ignore = GW_ERR_INIT;

	if (position_now(&p, r, &ignore) < 0)
		(void)snprintf(out, outsz, "%s:%llu", r->file, (unsigned long long)r->pos);
	else
		meta_position_format(out, outsz, &p);
	if (strlen(out) + 1 >= outsz && outsz > 4)
		memcpy(out + outsz - 4, "...", 4);
}

/* The source refused to stream from the position (errno 1236). */
static int position_gone(struct repl *r, struct gw_err *err)
{
	char pos[300], why[sizeof(err->msg)];

	(void)snprintf(why, sizeof(why), "%s", err->msg);
	position_text(pos, sizeof(pos), r);
	return err_set(err, GW_EFATAL,
		       "position %s is no longer in the source's binlogs: a new full migration "
		       "is needed (%s)",
		       pos, why);
}

/* INCIDENT: the source's binlog misses changes (LOST_EVENTS: a statement
 * that failed half-way on a non-transactional table, a binlog write that
 * failed). A replica stops there; so does the migration, before it. */
static int incident(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	struct binlog_pos pos;
	struct buf q = BUF_INIT;
	int rc = txn_close(r, err);

	if (rc < 0)
		return rc;
	(void)snprintf(err->msg, sizeof(err->msg),
		       "the source's binlog has an incident at %s:%llu (%s: %.*s): changes are "
		       "missing from it, the destination cannot be kept equal; a new full "
		       "migration is needed",
		       r->file, (unsigned long long)r->pos,
		       e->incident == 1 ? "LOST_EVENTS" : "incident", (int)e->sql_len, e->sql);
	/* Kept with the position: a stream resumed by GTID set would not be
	 * sent the incident again (it is in no transaction), and would go on
	 * past the changes it says are missing. */
	if ((rc = position_now(&pos, r, err)) < 0)
		return rc;
	(void)snprintf(pos.halted, sizeof(pos.halted), "%s", err->msg);
	if (meta_position_sql(&q, r->dst, r->metadb, r->s->name, &pos) < 0)
		rc = err_set(err, GW_ENOMEM, "out of memory");
	else if ((rc = conn_exec(r->dst, buf_cstr(&q), err)) == 0)
		rc = err_set(err, GW_EFATAL, "%s", pos.halted);
	buf_release(&q);
	return rc;
}

/* One decoded event (of the stream or of a transaction payload). */
static int stream_event(struct repl *r, const struct binlog_event *e, bool *idle,
			struct gw_err *err)
{
	struct buf xid = BUF_INIT;
	int rc = 0;

	if (e->timestamp && e->kind != BK_HEARTBEAT && e->kind != BK_FORMAT_DESCRIPTION &&
	    e->kind != BK_ROTATE && e->kind != BK_GTID_LIST) {
		r->last_event_ts = e->timestamp;
		atomic_store(&r->io->progress->applying_unix, e->timestamp);
	}
	switch (e->kind) {
	case BK_ROTATE:
		(void)snprintf(r->file, sizeof(r->file), "%s", e->rotate_file);
		r->pos = e->rotate_pos;
		break;
	case BK_GTID:
		memset(&r->pending, 0, sizeof(r->pending));
		r->pending.mysql = e->gtid_mysql || e->gtid_anonymous;
		r->pending.anonymous = e->gtid_anonymous;
		memcpy(r->pending.uuid, e->gtid_uuid, sizeof(r->pending.uuid));
		memcpy(r->pending.tag, e->gtid_tag, sizeof(r->pending.tag));
		r->pending.domain = e->gtid_domain;
		r->pending.server = e->server_id;
		r->pending.seq = e->gtid_seq;
		r->have_pending = true;
		/* MariaDB marks an XA transaction's prepare group in its GTID */
		if (e->gtid_xa == BL_XA_PREPARED) {
			if (binlog_xid_text(&xid, e) < 0)
				rc = err_set(err, GW_ENOMEM, "out of memory");
			else
				rc = xa_begin(r, &xid, err);
		}
		break;
	case BK_TABLE_MAP: {
		/* Described before its rows are decoded. */
		struct rtable *t;
		if (e->table && (t = rtable_find(r, e->table->db, e->table->table, true)) &&
		    !t->loaded)
			rc = rtable_load(r, t, err);
		break;
	}
	case BK_WRITE_ROWS:
	case BK_UPDATE_ROWS:
	case BK_DELETE_ROWS: rc = apply_rows(r, e, err); break;
	case BK_QUERY: rc = stream_query(r, e, err); break;
	case BK_XA_PREPARE:
		if ((rc = xa_prepared(r, e, err)) == 0 && (rc = txn_begin(r, err)) == 0 &&
		    (rc = gtid_done(r, err)) == 0)
			r->txns_in_group++;
		break;
	case BK_XID:
		if ((rc = txn_begin(r, err)) == 0 && (rc = gtid_done(r, err)) == 0)
			r->txns_in_group++;
		break;
	case BK_INCIDENT: rc = incident(r, e, err); break;
	case BK_HEARTBEAT: *idle = true; break;
	default: break;
	}
	if (rc == 0 && e->next_pos && e->kind != BK_HEARTBEAT && e->kind != BK_ROTATE)
		r->pos = e->next_pos;
	buf_release(&xid);
	return rc;
}

static int stream(struct repl *r, struct gw_err *err)
{
	struct stream *st = NULL;
	struct stream_from from;
	char text[300];
	unsigned en = 0;
	int rc;

	/* Nothing pending survives a stream that ended in an error. */
	pend_drop_all(r);
	if ((rc = check_source(r, err)) < 0)
		return rc;
	stream_from_here(&from, r);
	if ((rc = stream_open(&st, r->s, &from, r->dec, &en, err)) < 0)
		return en == 1236 ? position_gone(r, err) : rc;
	position_text(text, sizeof(text), r);
	log_info(r->s->name, "incremental: streaming from %s%s", text,
		 r->kind == POS_MYSQL_GTID ? " (GTID set)" : "");
	for (;;) {
		struct binlog_event e;
		const uint8_t *ev;
		size_t len;
		bool idle = false, done = false, have, in_payload;

		if (*r->io->cancel) {
			rc = txn_close(r, err);
			if (rc == 0)
				rc = err_set(err, GW_ECANCEL, "cancelled");
			break;
		}
		if ((rc = stream_next(st, &ev, &len, &en, err)) < 0) {
			struct gw_err ignore = GW_ERR_INIT;
			(void)txn_close(r, &ignore);
			if (en == 1236)
				rc = position_gone(r, err);
			break;
		}
		if ((rc = binlog_decode(r->dec, ev, len, &e, err)) < 0) {
			err_prefix(err, "decoding the source's binlog");
			break;
		}
		/* a TRANSACTION_PAYLOAD's events follow it, one by one */
		in_payload = false;
		have = true;
		while (have && rc == 0) {
			if ((rc = stream_event(r, &e, &idle, err)) < 0)
				break;
			in_payload = in_payload || e.kind == BK_PAYLOAD;
			if (in_payload)
				rc = binlog_decode_inner(r->dec, &e, &have, err);
			else
				have = false;
		}
		if (rc < 0)
			break;
		/* Commit the group at a transaction boundary when it is big,
		 * old, or the stream is idle. */
		if (r->in_txn && !r->have_pending &&
		    (idle || r->txn_rows >= GROUP_ROWS ||
		     util_now_mono_ms() - r->txn_started_ms >= GROUP_MS || r->stopping) &&
		    (rc = txn_commit(r, err)) < 0)
			break;
		update_delay(r, idle);
		if (*r->io->stop_requested) {
			if ((rc = stop_step(r, idle, &done, err)) < 0)
				break;
			if (done) {
				rc = txn_commit(r, err);
				break;
			}
		}
	}
	stream_close(st);
	return rc;
}

int engine_incremental(struct action_io *io)
{
	struct repl r;
	struct conn_guard guard;
	bool guarded = false;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.io = io;
	r.s = io->spec;
	r.metadb = meta_database_of(io->spec);
	if (!(r.dec = binlog_decoder_new()))
		return err_set(&io->err, GW_ENOMEM, "out of memory");
	if ((rc = conn_open(&r.src, &io->spec->source, "source", CONN_DEFAULT, io->task,
			    &io->err)) < 0 ||
	    (rc = conn_open(&r.dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task,
			    &io->err)) < 0)
		goto out;
	{
		unsigned long ver;
		conn_server_version(r.src, &ver, &r.src_mariadb);
	}
	/* A pause or a forced stop does not wait for a lock on the destination. */
	conn_guard_start(&guard, r.dst, io->cancel);
	guarded = true;
	/* Applied changes are rows only: the destination's FKs do not
	 * cascade them again, and checks do not refuse an order the source
	 * already accepted. */
	if ((rc = conn_exec(r.dst, "SET SESSION foreign_key_checks = 0", &io->err)) < 0 ||
	    (rc = meta_ensure(r.dst, r.metadb, &io->err)) < 0 ||
	    (rc = start_position(&r, &io->err)) < 0)
		goto out;
	rc = stream(&r, &io->err);
	if (rc == 0)
		log_info(io->task, "incremental migration stopped");
out:
	if (guarded && conn_guard_stop(&guard) && rc < 0 && rc != GW_ECANCEL)
		rc = err_set(&io->err, GW_ECANCEL,
			     "cancelled while a change waited on the destination (rolled back)");
	if (r.in_txn)
		(void)mysql_query(r.dst, "ROLLBACK");
	for (i = 0; i < r.ntables; i++) {
		rtable_unload(&r.tables[i]);
		pend_release(&r.tables[i].pend);
		free(r.tables[i].db);
		free(r.tables[i].table);
		free(r.tables[i].dest_db);
		free(r.tables[i].dest_table);
	}
	free(r.tables);
	gtid_pos_release(&r.mpos);
	gtid_pos_release(&r.final_mpos);
	gtid_set_release(&r.mset);
	gtid_set_release(&r.final_mset);
	buf_release(&r.xa_xid);
	buf_release(&r.sql);
	buf_release(&r.kscratch);
	buf_release(&r.vscratch);
	binlog_decoder_free(r.dec);
	if (r.src)
		mysql_close(r.src);
	if (r.dst)
		mysql_close(r.dst);
	return rc;
}
