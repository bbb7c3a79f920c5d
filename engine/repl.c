/*
 * The incremental migration: the source's binlog, read as a replica reads
 * it, applied to the destination until the task is stopped.
 *
 * Position. godwit_meta.binlog_position holds the source position the
 * destination has applied up to (the full copy records the first one before
 * it reads a row). It is advanced in the same destination transaction as
 * the rows it covers, so after a crash the stream resumes exactly there:
 * nothing lost, nothing applied twice (and if anything were, applying is
 * idempotent). MariaDB GTIDs (a domain-server-seq per domain) are the
 * position when the source has them; file:pos otherwise.
 *
 * Apply. Rows of selected tables are written by key: a written row is an
 * upsert of the full image, an updated row an upsert of the after image
 * (a changed key deletes the old key first), a deleted row a delete by key.
 * Consecutive source transactions are grouped into one destination
 * transaction (up to GROUP_ROWS row changes or GROUP_MS, and committed as
 * soon as the stream goes quiet) for speed; inside it the changes of each
 * table are sent as multi-row statements (engine/batch.h says when changes
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
#include "engine/batch.h"
#include "engine/conn.h"
#include "engine/ddl.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/table.h"
#include "lib/log.h"
#include "lib/sqllex.h"
#include "lib/util.h"

#include <mariadb_rpl.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define GROUP_ROWS 5000
#define GROUP_MS 200
/* The source sends a heartbeat after this long without events: it is how
 * the applier learns that the stream has nothing more for now, and commits
 * the group it holds (without it the last group would wait for the next
 * event). */
#define HEARTBEAT_NS "100000000"
#define FREEZE_WAIT_S "10"

/* A selected table as the applier knows it. */
struct rtable {
	char *db;
	char *table;
	char *dest_db;
	char *dest_table;
	const struct table_sel *tsel;
	struct table model;	 /* the layout at the position being applied */
	const char **dest_names; /* of the columns written, else NULL (model's) */
	bool loaded;
	struct batch_shape shape; /* its mode and statement parts (batch.h) */
	/* segment mode: the other unique keys, as column indexes: key u is
	 * ucols[uoff[u] .. uoff[u + 1]) */
	size_t *ucols, *uoff;
	size_t nuniq;
	struct batch batch; /* the changes not sent yet */
	/* a keyless table's copy snapshot ("": none): the changes up to
	 * there are in the copy */
	char snap_file[512];
	uint64_t snap_pos;
};

/* Where the copy of a table without a key read its snapshot. */
struct snapshot {
	char *db;
	char *table;
	char file[512];
	uint64_t pos;
};

/* MariaDB GTID state: the last seq per domain. */
struct gtid_dom {
	uint32_t domain;
	uint32_t server;
	uint64_t seq;
};

struct repl {
	struct action_io *io;
	const struct spec *s;
	const char *metadb;
	MYSQL *src; /* SQL connection to the source */
	MYSQL *dst;
	struct binlog_decoder *dec;
	struct rtable *tables;
	size_t ntables;
	/* positions */
	struct gtid_dom *doms;
	size_t ndoms;
	struct gtid_dom pending; /* GTID of the transaction being read */
	bool have_pending;
	char file[256];
	uint64_t pos;
	/* the destination transaction */
	bool in_txn;
	size_t txn_rows;
	int64_t txn_started_ms;
	int64_t last_event_ts;
	uint64_t events_in_group;
	uint64_t txns_in_group;
	size_t pend_bytes; /* pending SQL text of all tables */
	struct buf kscratch, vscratch, uscratch;
	struct batch_text *uniq; /* a change's unique values (segment mode) */
	size_t *uniq_offs;	 /* (their offsets in uscratch) */
	size_t uniq_cap;
	struct gw_err *send_err; /* where send_stmt() reports */
	bool dst_mariadb;
	/* keyless tables' copy snapshots: changes up to them are copied */
	struct snapshot *snaps;
	size_t nsnaps;
	/* the gated stop */
	bool stopping;
	struct gtid_dom *final_doms;
	size_t nfinal;
	char final_file[256];
	uint64_t final_pos;
	struct buf sql;
};

/* --- GTID state ------------------------------------------------------ */

static int gtid_parse(struct gtid_dom **out, size_t *nout, const char *s)
{
	struct gtid_dom *d = NULL;
	size_t n = 0;
	const char *p = s;

	*out = NULL;
	*nout = 0;
	while (p && *p) {
		unsigned long dom, srv;
		unsigned long long seq;
		char *end;
		struct gtid_dom *nd;

		while (*p == ',' || *p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		dom = strtoul(p, &end, 10);
		if (*end != '-')
			goto bad;
		srv = strtoul(end + 1, &end, 10);
		if (*end != '-')
			goto bad;
		seq = strtoull(end + 1, &end, 10);
		if (!(nd = realloc(d, (n + 1) * sizeof(*d))))
			goto bad;
		d = nd;
		d[n].domain = (uint32_t)dom;
		d[n].server = (uint32_t)srv;
		d[n].seq = seq;
		n++;
		p = end;
	}
	*out = d;
	*nout = n;
	return 0;
bad:
	free(d);
	return -1;
}

static int gtid_format(struct buf *b, const struct gtid_dom *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf_printf(b, "%s%u-%u-%llu", i ? "," : "", d[i].domain, d[i].server,
			       (unsigned long long)d[i].seq) < 0)
			return GW_ENOMEM;
	return 0;
}

static int gtid_set(struct repl *r, const struct gtid_dom *g)
{
	size_t i;
	struct gtid_dom *nd;

	for (i = 0; i < r->ndoms; i++)
		if (r->doms[i].domain == g->domain) {
			r->doms[i] = *g;
			return 0;
		}
	if (!(nd = realloc(r->doms, (r->ndoms + 1) * sizeof(*nd))))
		return GW_ENOMEM;
	r->doms = nd;
	r->doms[r->ndoms++] = *g;
	return 0;
}

/* Whether the applied state has reached the final one. */
static bool reached_final(const struct repl *r)
{
	size_t i, j;

	if (r->nfinal) {
		for (i = 0; i < r->nfinal; i++) {
			bool ok = false;
			for (j = 0; j < r->ndoms; j++)
				if (r->doms[j].domain == r->final_doms[i].domain &&
				    r->doms[j].seq >= r->final_doms[i].seq)
					ok = true;
			if (!ok)
				return false;
		}
		return true;
	}
	if (r->final_file[0]) {
		int c = strcmp(r->file, r->final_file);
		return c > 0 || (c == 0 && r->pos >= r->final_pos);
	}
	return true;
}

static int position_now(struct binlog_pos *out, const struct repl *r)
{
	struct buf g = BUF_INIT;

	memset(out, 0, sizeof(*out));
	if (gtid_format(&g, r->doms, r->ndoms) < 0) {
		buf_release(&g);
		return GW_ENOMEM;
	}
	(void)snprintf(out->gtid, sizeof(out->gtid), "%s", buf_cstr(&g));
	(void)snprintf(out->file, sizeof(out->file), "%s", r->file);
	out->pos = r->pos;
	out->source_ts = r->last_event_ts;
	buf_release(&g);
	return 0;
}

/* Reads the source's current position (for a start without one, and for
 * the final position of a gated stop). */
static int source_position(struct binlog_pos *out, MYSQL *src, struct gw_err *err)
{
	struct buf v = BUF_INIT;
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool found;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = conn_query_value(&v, &found, src, "SELECT @@GLOBAL.gtid_binlog_pos", err)) < 0) {
		buf_release(&v);
		return rc;
	}
	(void)snprintf(out->gtid, sizeof(out->gtid), "%s", buf_cstr(&v));
	buf_release(&v);
	if (mysql_query(src, "SHOW MASTER STATUS") || !(res = mysql_store_result(src)))
		return conn_error(err, src, "SHOW MASTER STATUS on the source");
	if ((row = mysql_fetch_row(res)) && row[0]) {
		(void)snprintf(out->file, sizeof(out->file), "%s", row[0]);
		out->pos = row[1] ? strtoull(row[1], NULL, 10) : 4;
	}
	mysql_free_result(res);
	if (!out->file[0])
		return err_set(err, GW_EFATAL, "the source has no binlog (log_bin is off)");
	return 0;
}

/* --- tables ---------------------------------------------------------- */

static int rtable_shape(struct rtable *t);

static void rtable_unload(struct rtable *t)
{
	table_release(&t->model);
	free(t->dest_names);
	free(t->ucols);
	free(t->uoff);
	t->dest_names = NULL;
	t->ucols = t->uoff = NULL;
	t->nuniq = 0;
	t->loaded = false;
	batch_shape_release(&t->shape);
}

/* The table db.table as the applier knows it (*out), added when first
 * seen; *out NULL when the spec does not select it. */
static int rtable_find(struct rtable **out, struct repl *r, const char *db, const char *table,
		       struct gw_err *err)
{
	const struct table_sel *tsel = NULL;
	const struct object_sel *o;
	struct rtable *t;
	size_t i;

	*out = NULL;
	for (i = 0; i < r->ntables; i++)
		if (!strcmp(r->tables[i].db, db) && !strcmp(r->tables[i].table, table)) {
			*out = &r->tables[i];
			return 0;
		}
	if (!spec_table_selected(r->s, db, table, &tsel))
		return 0;
	o = spec_find_database(r->s, db);
	if (!(t = realloc(r->tables, (r->ntables + 1) * sizeof(*t))))
		return err_set(err, GW_ENOMEM, "out of memory");
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
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	for (i = 0; i < r->nsnaps; i++)
		if (!strcmp(r->snaps[i].db, db) && !strcmp(r->snaps[i].table, table)) {
			memcpy(t->snap_file, r->snaps[i].file, sizeof(t->snap_file));
			t->snap_pos = r->snaps[i].pos;
		}
	r->ntables++;
	*out = t;
	return 0;
}

/* The column of the applier's layout that column `name` of the other
 * side's table is (the other side names columns as the destination does),
 * or -1. */
static int other_col(const struct rtable *t, const char *name)
{
	size_t i;

	for (i = 0; name && i < t->model.ncols; i++)
		if (t->model.cols[i].dest_name && !strcasecmp(t->model.cols[i].dest_name, name))
			return (int)i;
	return -1;
}

/*
 * The unique keys other than the row-addressing key, of the destination's
 * table and of the source's (one that only one side has still orders the
 * changes: a key added on either side later, outside the stream, is then
 * covered too), as column indexes into ucols/uoff. *all_int false when one
 * has a column that is not an integer (whose text is not the value's
 * identity) or not among the table's columns.
 */
static int rtable_unique_keys(bool *all_int, struct rtable *t, const struct table *other)
{
	const struct table *side[2] = {&t->model, other};
	size_t s, i, k, nparts = 0, nc = 0;

	*all_int = true;
	for (s = 0; s < 2; s++)
		for (i = 0; side[s] && i < side[s]->nindexes; i++)
			nparts += side[s]->indexes[i].nparts;
	if (!(t->ucols = calloc(nparts + 1, sizeof(*t->ucols))) ||
	    !(t->uoff = calloc(nparts + 2, sizeof(*t->uoff))))
		return GW_ENOMEM;
	for (s = 0; s < 2; s++) {
		const struct table *m = side[s];
		for (i = 0; m && i < m->nindexes; i++) {
			const struct table_index *x = &m->indexes[i];
			if (x->kind == TABLE_INDEX_PLAIN ||
			    (t->model.key_index && !strcmp(x->name, t->model.key_index->name)))
				continue;
			t->uoff[t->nuniq++] = nc;
			for (k = 0; k < x->nparts; k++) {
				int c = x->parts[k].col < 0 ? -1
					: s == 0	    ? x->parts[k].col
						 : other_col(t, m->cols[x->parts[k].col].name);
				if (c < 0 || !t->model.cols[c].integer)
					*all_int = false;
				else
					t->ucols[nc++] = (size_t)c;
			}
		}
	}
	t->uoff[t->nuniq] = nc;
	return 0;
}

/*
 * The layout of a table (table.h's model) at the binlog position being
 * applied. The destination's table has had every DDL up to that position
 * applied (DDL is replicated in stream order, its position committed after
 * it), so for tables copied whole its columns are the source's columns at
 * this position: that is the schema history, kept where the data is.
 * Tables with a column selection or column renames refuse DDL that changes
 * columns, so the source's current columns are theirs. NEEDSWORK: without
 * binlog_row_metadata=FULL, rows of such a table logged before an ALTER of
 * it (a backlog) are decoded with the layout after it; with FULL the
 * decoder refuses the mismatch. The other side's table is read for its
 * unique keys.
 */
static int rtable_load(struct repl *r, struct rtable *t, struct gw_err *err)
{
	bool from_dest = !t->tsel || (!t->tsel->ncolumns && !t->tsel->nrenames);
	MYSQL *m = from_dest ? r->dst : r->src, *om = from_dest ? r->src : r->dst;
	const char *db = from_dest ? t->dest_db : t->db;
	const char *table = from_dest ? t->dest_table : t->table;
	struct table other;
	char **names = NULL;
	bool *is_unsigned = NULL, all_int = true, unique_other;
	size_t n, i;
	int rc;

	memset(&other, 0, sizeof(other));
	rtable_unload(t);
	if ((rc = table_load(&t->model, m, db, table, from_dest ? NULL : t->tsel, t->dest_db,
			     t->dest_table, err)) < 0) {
		if (rc == GW_ENOTFOUND)
			rc = err_set(err, GW_EFATAL, "table %s.%s: not found on the %s (%s.%s)",
				     t->db, t->table, from_dest ? "destination" : "source", db,
				     table);
		goto out;
	}
	/* (a table the other side lacks has no unique key there) */
	rc = table_load(&other, om, from_dest ? t->db : t->dest_db,
			from_dest ? t->table : t->dest_table, NULL, NULL, NULL, err);
	if (rc < 0 && rc != GW_ENOTFOUND)
		goto out;
	n = t->model.ncols;
	if (!(t->dest_names = calloc(n ? n : 1, sizeof(*t->dest_names))) ||
	    !(names = calloc(n ? n : 1, sizeof(*names))) ||
	    !(is_unsigned = calloc(n ? n : 1, sizeof(*is_unsigned))))
		goto oom;
	for (i = 0; i < n; i++) {
		const struct table_col *c = &t->model.cols[i];
		names[i] = c->name;
		is_unsigned[i] = c->is_unsigned;
		t->dest_names[i] = c->pos >= 0 ? c->dest_name : NULL;
	}
	if (t->model.key_unselected) {
		rc = err_set(err, GW_EFATAL, "table %s.%s: key column %s is not selected", t->db,
			     t->table, t->model.key_unselected);
		goto out;
	}
	if (rtable_unique_keys(&all_int, t, rc == GW_ENOTFOUND ? NULL : &other) < 0)
		goto oom;
	unique_other = t->nuniq > 0;
	/* Another unique key on either side makes the order of changes to
	 * distinct keys matter; without a key rows are found by their image. */
	t->shape.mode = BATCH_NET;
	if (t->model.nkey == 0) {
		t->shape.mode = BATCH_ROWS;
	} else if (unique_other) {
		for (i = 0; i < t->model.nkey; i++)
			if (!table_key_col(&t->model, i)->integer)
				all_int = false;
		t->shape.mode = all_int ? BATCH_SEGMENT : BATCH_ORDERED;
	}
	if (rtable_shape(t) < 0)
		goto oom;
	if ((rc = binlog_decoder_describe_table(r->dec, t->db, t->table, (char **)names,
						is_unsigned, n, err)) < 0)
		goto out;
	t->loaded = true;
	rc = 0;
	goto out;
oom:
	rc = err_set(err, GW_ENOMEM, "out of memory");
out:
	table_release(&other);
	free(names);
	free(is_unsigned);
	return rc;
}

/* The snapshots the full copy took of tables without a key (none for an
 * incremental-only migration, or before any was taken). */
static int load_snapshots(struct repl *r, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int rc;

	if (buf_puts(&q, "SELECT db, tbl, snap_file, snap_pos FROM ") < 0 ||
	    conn_quote_ident(&q, r->metadb) < 0 ||
	    buf_puts(&q, ".copy_table WHERE snap_file IS NOT NULL AND task = ") < 0 ||
	    conn_quote_string(&q, r->dst, r->s->name, strlen(r->s->name)) < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = conn_query(&res, r->dst, buf_cstr(&q), "reading the copy's snapshots", err)) <
	    0) {
		unsigned e = mysql_errno(r->dst);
		/* no copy_table (incremental only), or one from before snapshots */
		if (e == ER_NO_SUCH_TABLE || e == ER_BAD_FIELD_ERROR) {
			err_clear(err);
			rc = 0;
		}
		goto out;
	}
	while ((row = mysql_fetch_row(res))) {
		struct snapshot *sn = realloc(r->snaps, (r->nsnaps + 1) * sizeof(*sn));
		if (!sn) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		r->snaps = sn;
		sn = &sn[r->nsnaps];
		memset(sn, 0, sizeof(*sn));
		if (!(sn->db = strdup(row[0])) || !(sn->table = strdup(row[1]))) {
			free(sn->db);
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		(void)snprintf(sn->file, sizeof(sn->file), "%s", row[2]);
		sn->pos = row[3] ? strtoull(row[3], NULL, 10) : 0;
		r->nsnaps++;
	}
	rc = 0;
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return rc;
}

/* Whether the event being applied (at r->file, r->pos: where it starts) is
 * before t's copy snapshot, so in the copy already. A snapshot's position
 * is between two transactions, so a transaction is wholly before or after
 * it. NEEDSWORK: file:pos of the source that was copied; after a
 * failover between the copy and the catch-up, another server's names. */
static bool in_snapshot(const struct repl *r, const struct rtable *t)
{
	int c;

	if (!t->snap_file[0])
		return false;
	c = strcmp(r->file, t->snap_file);
	return c < 0 || (c == 0 && r->pos < t->snap_pos);
}

/* --- applying -------------------------------------------------------- */

static int flush_all(struct repl *r, struct gw_err *err);
static void drop_all(struct repl *r);

static int dst_exec(struct repl *r, const struct buf *q, struct gw_err *err)
{
	if (mysql_real_query(r->dst, q->ptr, q->len))
		return conn_error(err, r->dst, "applying a change");
	return 0;
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
	if ((rc = flush_all(r, err)) < 0) {
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return rc;
	}
	if (position_now(&pos, r) < 0 ||
	    meta_position_sql(&q, r->dst, r->metadb, r->s->name, &pos) < 0) {
		buf_release(&q);
		drop_all(r);
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	rc = dst_exec(r, &q, err);
	buf_release(&q);
	if (rc < 0)
		(void)mysql_query(r->dst, "ROLLBACK");
	else
		rc = meta_commit(r->dst, r->s->name, r->io->lock_holder, err);
	r->in_txn = false;
	if (rc < 0)
		return rc;
	atomic_fetch_add(&r->io->progress->events_applied, r->events_in_group);
	atomic_fetch_add(&r->io->progress->txns_applied, r->txns_in_group);
	atomic_store(&r->io->progress->last_event_unix, r->last_event_ts);
	meta_position_format(text, sizeof(text), &pos);
	progress_set_position(r->io->progress, text);
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
	for (c = 0; c < t->model.ncols; c++)
		if ((c && buf_puts(&q, ", ") < 0) ||
		    binlog_value_sql(&q, &img[c], &map->cols[c]) < 0 || buf_puts(&q, " AS ") < 0 ||
		    conn_quote_ident(&q, t->model.cols[c].name) < 0)
			goto oom;
	if (buf_printf(&q, ") AS godwit_row WHERE (%s)", t->tsel->where) < 0)
		goto oom;
	rc = conn_query_value(&v, &found, r->dst, buf_cstr(&q), err);
	if (rc == 0)
		*out = found;
	else if (mysql_errno(r->dst))
		/* the server's message may quote the row */
		rc = conn_error_filtered(err, r->dst, "evaluating the filter");
	if (rc < 0)
		err_prefix(err, "%s.%s", t->db, t->table);
	buf_release(&q);
	buf_release(&v);
	return rc;
oom:
	buf_release(&q);
	buf_release(&v);
	return err_set(err, GW_ENOMEM, "out of memory");
}

/* The statement parts of t's layout (struct batch_shape). */
static int rtable_shape(struct rtable *t)
{
	struct batch_shape *sh = &t->shape;
	struct buf name = BUF_INIT;
	size_t c;
	bool first = true;
	int rc = GW_ENOMEM;

	if (table_name(&name, &t->model, TABLE_DEST) < 0 ||
	    buf_puts(&sh->insert, "INSERT INTO ") < 0 ||
	    buf_add(&sh->insert, name.ptr, name.len) < 0 || buf_puts(&sh->insert, " (") < 0 ||
	    buf_puts(&sh->upsert, " ON DUPLICATE KEY UPDATE ") < 0)
		goto out;
	for (c = 0; c < t->model.ncols; c++) {
		const char *n = t->dest_names[c];
		if (!n)
			continue;
		if ((!first &&
		     (buf_puts(&sh->insert, ", ") < 0 || buf_puts(&sh->upsert, ", ") < 0)) ||
		    conn_quote_ident(&sh->insert, n) < 0 || conn_quote_ident(&sh->upsert, n) < 0 ||
		    buf_puts(&sh->upsert, " = VALUES(") < 0 ||
		    conn_quote_ident(&sh->upsert, n) < 0 || buf_putc(&sh->upsert, ')') < 0)
			goto out;
		first = false;
	}
	if (buf_puts(&sh->insert, ") VALUES ") < 0 || buf_puts(&sh->delete, "DELETE FROM ") < 0 ||
	    buf_add(&sh->delete, name.ptr, name.len) < 0 || buf_puts(&sh->delete, " WHERE ") < 0 ||
	    buf_puts(&sh->update, "UPDATE ") < 0 || buf_add(&sh->update, name.ptr, name.len) < 0 ||
	    buf_puts(&sh->update, " SET ") < 0)
		goto out;
	if (t->model.nkey == 1 &&
	    (conn_quote_ident(&sh->key_in, table_key_col(&t->model, 0)->dest_name) < 0 ||
	     buf_puts(&sh->key_in, " IN (") < 0))
		goto out;
	rc = 0;
out:
	buf_release(&name);
	return rc;
}

/* "(v1,v2,...)" of the written columns of an image. */
static int values_text(struct buf *q, const struct rtable *t, const struct bl_value *img,
		       const struct bl_table *map)
{
	size_t c;
	bool first = true;

	if (buf_putc(q, '(') < 0)
		return GW_ENOMEM;
	for (c = 0; c < t->model.ncols; c++) {
		if (!t->dest_names[c])
			continue;
		if ((!first && buf_putc(q, ',') < 0) ||
		    binlog_value_sql(q, &img[c], &map->cols[c]) < 0)
			return GW_ENOMEM;
		first = false;
	}
	return buf_putc(q, ')');
}

/*
 * Ends the group when the stream ends: what was applied up to the last
 * whole source transaction is committed; a source transaction read only in
 * part is not (the group is rolled back, and read again from the committed
 * position next time), so no half transaction is ever visible.
 */
static int txn_close(struct repl *r, struct gw_err *err)
{
	if (r->in_txn && r->have_pending) {
		drop_all(r);
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

	if (t->model.nkey == 1 && img[t->model.key[0]].kind != BL_NULL)
		return binlog_value_sql(q, &img[t->model.key[0]], &map->cols[t->model.key[0]]);
	if (buf_putc(q, '(') < 0)
		return GW_ENOMEM;
	for (k = 0; k < t->model.nkey; k++) {
		size_t c = t->model.key[k];
		const struct bl_value *v = &img[c];
		if ((k && buf_puts(q, " AND ") < 0) ||
		    conn_quote_ident(q, t->model.cols[c].dest_name) < 0)
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

	for (k = 0; k < t->model.nkey; k++) {
		const struct bl_value *a = &row->before[t->model.key[k]],
				      *b = &row->after[t->model.key[k]];
		if (a->kind != b->kind || a->i != b->i || a->u != b->u ||
		    memcmp(&a->d, &b->d, sizeof(a->d)) || a->len != b->len ||
		    (a->len && memcmp(a->s, b->s, a->len)))
			return true;
	}
	return false;
}

/* The text of unique key u's value in img appended to v ("u:v1,v2");
 * false when a column is NULL (NULLs never collide in a unique key). */
static int unique_text(bool *out, struct buf *v, const struct rtable *t, size_t u,
		       const struct bl_value *img, const struct bl_table *map)
{
	size_t c, start = v->len;

	*out = false;
	if (buf_printf(v, "%zu:", u) < 0)
		return GW_ENOMEM;
	for (c = t->uoff[u]; c < t->uoff[u + 1]; c++) {
		const struct bl_value *x = &img[t->ucols[c]];
		if (x->kind == BL_NULL) {
			buf_truncate(v, start);
			return 0;
		}
		if ((c > t->uoff[u] && buf_putc(v, ',') < 0) ||
		    binlog_value_sql(v, x, &map->cols[t->ucols[c]]) < 0)
			return GW_ENOMEM;
	}
	*out = true;
	return 0;
}

/* A value as compared with the stored one: a FLOAT's binlog value is the
 * float itself, written with the digits that make the same double (the
 * server compares a FLOAT column as a double; fewer digits name another
 * double); a JSON document on MySQL as JSON (a string is not equal to any
 * JSON value there; MariaDB's JSON is text). */
static int match_value(struct buf *q, const struct repl *r, const struct table_col *col,
		       const struct bl_value *v, const struct bl_column *bc)
{
	if (v->kind == BL_DOUBLE && !strcmp(col->data_type, "float"))
		return buf_printf(q, "%.17g", v->d);
	if (col->is_json && v->kind != BL_NULL && !r->dst_mariadb)
		return buf_puts(q, "CAST(") < 0 || binlog_value_sql(q, v, bc) < 0 ||
			       buf_puts(q, " AS JSON)") < 0
			   ? GW_ENOMEM
			   : 0;
	return binlog_value_sql(q, v, bc);
}

/* A keyless table's row as a condition: every written column <=> its
 * value in img (NULL-safe: a NULL matches a NULL). */
static int row_condition(struct buf *q, const struct repl *r, const struct rtable *t,
			 const struct bl_value *img, const struct bl_table *map)
{
	size_t c;
	bool first = true;

	for (c = 0; c < t->model.ncols; c++) {
		if (!t->dest_names[c])
			continue;
		if ((!first && buf_puts(q, " AND ") < 0) ||
		    conn_quote_ident(q, t->dest_names[c]) < 0 || buf_puts(q, " <=> ") < 0 ||
		    match_value(q, r, &t->model.cols[c], &img[c], &map->cols[c]) < 0)
			return GW_ENOMEM;
		first = false;
	}
	return 0;
}

/* "`a` = 1, `b` = 2": the written columns of an image, for UPDATE. */
static int set_text(struct buf *q, const struct rtable *t, const struct bl_value *img,
		    const struct bl_table *map)
{
	size_t c;
	bool first = true;

	for (c = 0; c < t->model.ncols; c++) {
		if (!t->dest_names[c])
			continue;
		if ((!first && buf_puts(q, ", ") < 0) ||
		    conn_quote_ident(q, t->dest_names[c]) < 0 || buf_puts(q, " = ") < 0 ||
		    binlog_value_sql(q, &img[c], &map->cols[c]) < 0)
			return GW_ENOMEM;
		first = false;
	}
	return 0;
}

/*
 * Memory: the pending text of all tables together stays under PEND_BYTES
 * (then every table is flushed, inside the open transaction), so a source
 * transaction of any size streams through.
 */
#define PEND_BYTES ((size_t)8 << 20)
#define PEND_OPS 20000 /* per table */

/* batch_send_fn: one statement of the batcher on the destination. */
static int send_stmt(void *ctx, const struct buf *sql, enum batch_expect expect)
{
	struct repl *r = ctx;
	my_ulonglong n;

	if (mysql_real_query(r->dst, sql->ptr, sql->len))
		return conn_error(r->send_err, r->dst, "applying changes");
	n = mysql_affected_rows(r->dst);
	if (expect == BATCH_EXPECT_ONE && n != 1)
		return err_set(r->send_err, GW_EFATAL,
			       "the destination has no row equal to the source's before image "
			       "(the tables differ): %.300s",
			       buf_cstr(sql));
	return 0;
}

static int flush_table(struct repl *r, struct rtable *t, struct gw_err *err)
{
	size_t bytes = batch_bytes(&t->batch);
	int rc;

	r->send_err = err;
	r->pend_bytes -= bytes < r->pend_bytes ? bytes : r->pend_bytes;
	if ((rc = batch_flush(&t->batch, &t->shape, &r->sql, send_stmt, r)) < 0) {
		if (rc == GW_ENOMEM)
			err_set(err, GW_ENOMEM, "out of memory");
		err_prefix(err, "%s.%s", t->dest_db, t->dest_table);
	}
	return rc;
}

static int flush_all(struct repl *r, struct gw_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < r->ntables; i++)
		if ((rc = flush_table(r, &r->tables[i], err)) < 0) {
			/* the transaction is lost: so is the rest of it */
			drop_all(r);
			return rc;
		}
	return 0;
}

static void drop_all(struct repl *r)
{
	size_t i;

	for (i = 0; i < r->ntables; i++)
		batch_clear(&r->tables[i].batch);
	r->pend_bytes = 0;
}

/* Queues a change of kind `kind`: key from the image `key` (the image
 * itself for a keyed delete), values from `values`; `other` is the before
 * image of an update that keeps its key (its unique values count too). */
static int change_add(struct repl *r, struct rtable *t, enum batch_kind kind,
		      const struct bl_value *key, const struct bl_value *values,
		      const struct bl_value *other, const struct bl_table *map, struct gw_err *err)
{
	struct buf *k = &r->kscratch, *v = &r->vscratch, *u = &r->uscratch;
	struct batch_change c;
	size_t before = batch_bytes(&t->batch), n = 0, i, m;
	int rc;

	buf_reset(k);
	buf_reset(v);
	buf_reset(u);
	memset(&c, 0, sizeof(c));
	c.kind = kind;
	if (t->shape.mode == BATCH_ROWS) {
		if ((key && row_condition(k, r, t, key, map) < 0) ||
		    (values && (kind == BATCH_UPDATE ? set_text(v, t, values, map)
						     : values_text(v, t, values, map)) < 0))
			goto oom;
	} else if (key_text(k, t, key, map) < 0 || (values && values_text(v, t, values, map) < 0)) {
		goto oom;
	}
	if (t->shape.mode == BATCH_SEGMENT) {
		const struct bl_value *imgs[2] = {key, other};
		if (r->uniq_cap < 2 * t->nuniq) {
			struct batch_text *nu = realloc(r->uniq, 2 * t->nuniq * sizeof(*nu));
			size_t *no = nu ? realloc(r->uniq_offs, 2 * t->nuniq * sizeof(*no)) : NULL;
			if (nu)
				r->uniq = nu;
			if (!no)
				goto oom;
			r->uniq_offs = no;
			r->uniq_cap = 2 * t->nuniq;
		}
		for (m = 0; m < 2 && imgs[m]; m++)
			for (i = 0; i < t->nuniq; i++) {
				bool has;
				size_t start = u->len;
				if (unique_text(&has, u, t, i, imgs[m], map) < 0)
					goto oom;
				if (has) {
					r->uniq_offs[n] = start;
					r->uniq[n++].len = u->len - start;
				}
			}
		/* (u moved while it grew: pointers only now) */
		for (i = 0; i < n; i++)
			r->uniq[i].s = u->ptr + r->uniq_offs[i];
		c.uniq = r->uniq;
		c.nuniq = n;
	}
	c.key.s = k->ptr;
	c.key.len = k->len;
	c.values.s = v->ptr;
	c.values.len = v->len;
	r->send_err = err;
	if ((rc = batch_add(&t->batch, &t->shape, &c, &r->sql, send_stmt, r)) < 0) {
		if (rc == GW_ENOMEM)
			goto oom;
		err_prefix(err, "%s.%s", t->dest_db, t->dest_table);
		return rc;
	}
	if (batch_bytes(&t->batch) > before)
		r->pend_bytes += batch_bytes(&t->batch) - before;
	if (r->pend_bytes >= PEND_BYTES)
		return flush_all(r, err);
	if (batch_count(&t->batch) >= PEND_OPS)
		return flush_table(r, t, err);
	return 0;
oom:
	return err_set(err, GW_ENOMEM, "out of memory");
}

/* Whether every column of an image is there (binlog_row_image=FULL). */
static bool image_full(const struct rtable *t, const bool *present)
{
	size_t c;

	for (c = 0; present && c < t->model.ncols; c++)
		if (!present[c])
			return false;
	return true;
}

/*
 * A change of a table without a key, by the rows' whole images. With a
 * filter, an image that does not pass is not on the destination: an
 * update into the filter inserts, out of it deletes, outside it does
 * nothing; the same for the images of inserts and deletes.
 */
static int apply_row_keyless(struct repl *r, struct rtable *t, enum binlog_kind kind,
			     const struct bl_row *row, const struct bl_table *map,
			     struct gw_err *err)
{
	bool was = false, is = false;
	int rc;

	if ((row->before && !image_full(t, row->before_present)) ||
	    (row->after && !image_full(t, row->after_present)))
		return err_set(err, GW_EFATAL,
			       "table %s.%s: partial row images (binlog_row_image is not FULL): "
			       "a table without a key needs the whole row",
			       t->db, t->table);
	if (kind != BK_WRITE_ROWS && row->before &&
	    (rc = filter_passes(&was, r, t, row->before, map, err)) < 0)
		return rc;
	if (kind != BK_DELETE_ROWS && row->after &&
	    (rc = filter_passes(&is, r, t, row->after, map, err)) < 0)
		return rc;
	if (was && is)
		return change_add(r, t, BATCH_UPDATE, row->before, row->after, NULL, map, err);
	if (was)
		return change_add(r, t, BATCH_DELETE, row->before, NULL, NULL, map, err);
	if (is)
		return change_add(r, t, BATCH_INSERT, NULL, row->after, NULL, map, err);
	return 0;
}

static int apply_rows(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	const struct bl_table *map = e->table;
	struct rtable *t;
	size_t i;
	int rc;

	if (!map)
		return 0;
	if ((rc = rtable_find(&t, r, map->db, map->table, err)) < 0 || !t)
		return rc; /* (!t: not selected) */
	if (!t->loaded && (rc = rtable_load(r, t, err)) < 0)
		return rc;
	if (map->ncols != t->model.ncols)
		return err_set(err, GW_EFATAL,
			       "table %s.%s: the binlog has %zu columns, the source's schema %zu: "
			       "the table changed without a DDL the stream showed",
			       t->db, t->table, map->ncols, t->model.ncols);
	if (in_snapshot(r, t))
		return 0;
	if ((rc = txn_begin(r, err)) < 0)
		return rc;
	for (i = 0; i < e->nrows && t->shape.mode == BATCH_ROWS; i++)
		if ((rc = apply_row_keyless(r, t, e->kind, &e->rows[i], map, err)) < 0)
			return rc;
	for (i = 0; i < e->nrows && t->shape.mode != BATCH_ROWS; i++) {
		const struct bl_row *row = &e->rows[i];
		const struct bl_value *other = NULL;
		bool pass = true;

		if (e->kind == BK_DELETE_ROWS) {
			if ((rc = change_add(r, t, BATCH_DELETE, row->before, NULL, NULL, map,
					     err)) < 0)
				return rc;
			continue;
		}
		if (e->kind == BK_UPDATE_ROWS && row->before) {
			for (size_t c = 0; c < t->model.ncols; c++)
				if (!row->after_present[c])
					return err_set(err, GW_EFATAL,
						       "table %s.%s: partial row images "
						       "(binlog_row_image is not FULL)",
						       t->db, t->table);
			if (!key_changed(t, row))
				other = row->before;
			else if ((rc = change_add(r, t, BATCH_DELETE, row->before, NULL, NULL, map,
						  err)) < 0)
				return rc;
		}
		if ((rc = filter_passes(&pass, r, t, row->after, map, err)) < 0)
			return rc;
		/* Out of the filter: not (or no longer) on the destination. */
		if ((rc = change_add(r, t, pass ? BATCH_UPSERT : BATCH_DELETE, row->after,
				     pass ? row->after : NULL, other, map, err)) < 0)
			return rc;
	}
	r->txn_rows += e->nrows;
	r->events_in_group += e->nrows;
	return 0;
}

/* --- DDL ------------------------------------------------------------- */

static bool ddl_errno_done(unsigned e, bool renames)
{
	/* Already applied before a crash: the statement's effect is there. A
	 * missing table is that only for a rename (elsewhere, e.g. a view over
	 * a table the destination lacks, it is a DDL that did not apply). */
	return e == ER_TABLE_EXISTS_ERROR || e == ER_BAD_TABLE_ERROR || e == ER_DUP_FIELDNAME ||
	       e == ER_DUP_KEYNAME || e == ER_CANT_DROP_FIELD_OR_KEY || e == ER_DB_CREATE_EXISTS ||
	       e == ER_UNKNOWN_VIEW || (renames && e == ER_NO_SUCH_TABLE);
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
	char sql_db[DDL_NAME_MAX + 1], ndb[DDL_NAME_MAX + 1];
	const struct object_sel *o;
	const struct table_sel *tsel = NULL;
	struct buf q = BUF_INIT, stmt = BUF_INIT;
	struct ddl_stmt d;
	const char *table = d.table;
	size_t i;
	int rc;

	/* NEEDSWORK: the statement is lexed (and applied) without the
	 * ANSI_QUOTES or NO_BACKSLASH_ESCAPES its session may have had (the
	 * Query event's sql_mode). */
	if (!e->sql || !e->sql_len || !ddl_parse(&d, e->sql, e->sql_len, SQLLEX_DEFAULT))
		return 0;
	(void)snprintf(sql_db, sizeof(sql_db), "%s", d.db[0] ? d.db : e->db ? e->db : "");
	if (!(o = spec_find_database(r->s, sql_db)))
		return 0; /* not a selected database */
	if (d.on_database) {
		if (d.verb == DDL_DROP)
			return err_set(err, GW_EFATAL,
				       "the source dropped database %s: refusing to drop it on the "
				       "destination (stop the migration and decide)",
				       sql_db);
		if (d.verb == DDL_CREATE)
			return 0; /* it exists on the destination already */
		return err_set(err, GW_EFATAL,
			       "DDL on database %s cannot be applied safely: %.200s", sql_db,
			       e->sql);
	}
	if (!spec_table_selected(r->s, sql_db, table, &tsel)) {
		(void)snprintf(ndb, sizeof(ndb), "%s", d.new_db[0] ? d.new_db : sql_db);
		if (d.renames_table && d.has_new_name &&
		    spec_table_selected(r->s, ndb, d.new_table, NULL))
			return err_set(
			    err, GW_EFATAL,
			    "RENAME of %s.%s to the selected name %s.%s cannot be "
			    "applied safely: the destination never had its rows (%.200s)",
			    sql_db, table, ndb, d.new_table, e->sql);
		return 0;
	}
	if (!spec_whole_database(o) && d.renames_table)
		return err_set(err, GW_EFATAL,
			       "RENAME of %s.%s cannot be applied safely: the table is listed in "
			       "the spec, which maps its name, not the new one (%.200s)",
			       sql_db, table, e->sql);
	if (tsel && (tsel->ncolumns || tsel->nrenames) && d.verb != DDL_DROP &&
	    d.verb != DDL_TRUNCATE)
		return err_set(err, GW_EFATAL,
			       "DDL on %s.%s cannot be applied safely: the spec selects or renames "
			       "its columns, so the destination's columns are not the source's "
			       "(%.200s)",
			       sql_db, table, e->sql);
	/* The statement with the destination's names. */
	if (ddl_map_databases(&stmt, e->sql, d.name_start, SQLLEX_DEFAULT, r->s) < 0 ||
	    conn_quote_ident(&stmt, spec_dest_database(o)) < 0 || buf_putc(&stmt, '.') < 0 ||
	    conn_quote_ident(&stmt, spec_dest_table(tsel, table)) < 0 ||
	    ddl_map_databases(&stmt, e->sql + d.name_end, e->sql_len - d.name_end, SQLLEX_DEFAULT,
			      r->s) < 0 ||
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
		if (!ddl_errno_done(en, d.renames_table)) {
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
	bool found;
	int rc;

	if ((rc = meta_position_get(&pos, &found, r->dst, r->metadb, r->s->name, err)) < 0)
		return rc;
	if (!found) {
		/* An incremental-only task: from now. */
		if ((rc = source_position(&pos, r->src, err)) < 0)
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
	if (gtid_parse(&r->doms, &r->ndoms, pos.gtid) < 0)
		return err_set(err, GW_EFATAL, "recorded position '%s' is not a MariaDB GTID list",
			       pos.gtid);
	(void)snprintf(r->file, sizeof(r->file), "%s", pos.file);
	r->pos = pos.pos;
	r->last_event_ts = pos.source_ts;
	{
		char text[4400];
		meta_position_format(text, sizeof(text), &pos);
		progress_set_position(r->io->progress, text);
	}
	return 0;
}

static int open_stream(MARIADB_RPL **out, MYSQL **conn_out, struct repl *r, struct gw_err *err)
{
	MYSQL *m = NULL;
	MARIADB_RPL *rpl = NULL;
	struct buf q = BUF_INIT, g = BUF_INIT;
	unsigned int sid;
	char h[65];
	int rc;

	*out = NULL;
	*conn_out = NULL;
	if ((rc = conn_open(&m, &r->s->source, "source (binlog)", CONN_NO_SESSION | CONN_STREAM,
			    r->s->name, err)) < 0)
		return rc;
	if ((rc = conn_exec(m,
			    "SET @mariadb_slave_capability = 4, "
			    "@master_binlog_checksum = @@global.binlog_checksum, "
			    "@master_heartbeat_period = " HEARTBEAT_NS,
			    err)) < 0)
		goto fail;
	if (r->ndoms) {
		if (gtid_format(&g, r->doms, r->ndoms) < 0 ||
		    buf_puts(&q, "SET @slave_connect_state = ") < 0 ||
		    conn_quote_string(&q, m, g.ptr, g.len) < 0 ||
		    buf_puts(&q,
			     ", @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0") <
			0) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto fail;
		}
		if ((rc = conn_exec(m, buf_cstr(&q), err)) < 0)
			goto fail;
	}
	{
		/* The stream's first event (a rotate) comes before the format
		 * description that announces checksums: tell the decoder now. */
		struct buf v = BUF_INIT;
		bool found;
		if ((rc = conn_query_value(&v, &found, m, "SELECT @@GLOBAL.binlog_checksum", err)) <
		    0) {
			buf_release(&v);
			goto fail;
		}
		binlog_decoder_set_checksum(r->dec, strcasecmp(buf_cstr(&v), "CRC32") ? 0 : 1);
		buf_release(&v);
	}
	if (!(rpl = mariadb_rpl_init(m))) {
		rc = err_set(err, GW_ENOMEM, "binlog stream: out of memory");
		goto fail;
	}
	/* A server id of the task's own, out of the way of real replicas. */
	util_sha256_hex(h, r->s->name, strlen(r->s->name));
	sid = (unsigned int)(strtoul((char[9]){h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 0},
				     NULL, 16) %
			     1000000000u) +
	      1000000000u;
	if (mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, sid) ||
	    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS, 0)) {
		rc = err_set(err, GW_EFATAL, "binlog stream: cannot set options");
		goto fail;
	}
	if (r->ndoms) {
		if (mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, "", (size_t)0) ||
		    mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, (unsigned long)4)) {
			rc = err_set(err, GW_EFATAL, "binlog stream: cannot set the start");
			goto fail;
		}
	} else if (mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, r->file, strlen(r->file)) ||
		   mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, (unsigned long)r->pos)) {
		rc = err_set(err, GW_EFATAL, "binlog stream: cannot set the start");
		goto fail;
	}
	if (mariadb_rpl_open(rpl)) {
		unsigned en = mysql_errno(m) ? mysql_errno(m) : mariadb_rpl_errno(rpl);
		const char *msg = mysql_errno(m) ? mysql_error(m) : mariadb_rpl_error(rpl);
		rc = en == 1236 ? GW_EFATAL : GW_ERETRY;
		err_set(err, rc, "binlog stream from the source: %s (errno %u)", msg, en);
		goto fail;
	}
	*out = rpl;
	*conn_out = m;
	buf_release(&q);
	buf_release(&g);
	return 0;
fail:
	if (rpl)
		mariadb_rpl_close(rpl);
	mysql_close(m);
	buf_release(&q);
	buf_release(&g);
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
		if ((rc = source_position(&fin, r->src, err)) < 0)
			return rc;
		free(r->final_doms);
		r->final_doms = NULL;
		r->nfinal = 0;
		if (gtid_parse(&r->final_doms, &r->nfinal, fin.gtid) < 0)
			r->nfinal = 0;
		(void)snprintf(r->final_file, sizeof(r->final_file), "%s", fin.file);
		r->final_pos = fin.pos;
		r->stopping = true;
		log_info(s->name, "stopping: draining to the source's final position %s",
			 fin.gtid[0] ? fin.gtid : fin.file);
	}
	if (reached_final(r) && !r->in_txn)
		*done = true;
	return 0;
}

static size_t raw_offset(const MARIADB_RPL_EVENT *ev)
{
	/* The packet's leading OK byte, when the buffer has it. */
	if (ev->raw_data_size == (size_t)ev->event_length + 1 && ev->raw_data[0] == 0)
		return 1;
	return 0;
}

static int stream(struct repl *r, struct gw_err *err)
{
	MARIADB_RPL *rpl = NULL;
	MARIADB_RPL_EVENT *ev = NULL;
	MYSQL *m = NULL;
	int rc;

	/* Nothing pending survives a stream that ended in an error. */
	drop_all(r);
	if ((rc = open_stream(&rpl, &m, r, err)) < 0)
		return rc;
	log_info(r->s->name, "incremental: streaming from %s",
		 r->ndoms ? "the recorded GTID position" : r->file);
	for (;;) {
		struct binlog_event e;
		bool idle = false, done = false, have;
		size_t off;

		if (*r->io->cancel) {
			rc = txn_close(r, err);
			if (rc == 0)
				rc = err_set(err, GW_ECANCEL, "cancelled");
			break;
		}
		if (!(ev = mariadb_rpl_fetch(rpl, ev))) {
			unsigned en = mysql_errno(m) ? mysql_errno(m) : mariadb_rpl_errno(rpl);
			const char *msg = mysql_errno(m) ? mysql_error(m) : mariadb_rpl_error(rpl);
			(void)txn_close(r, err);
			if (en == 1236)
				rc = err_set(
				    err, GW_EFATAL,
				    "position %s is no longer in the source's binlogs: a new "
				    "full migration is needed (%s)",
				    r->ndoms ? "(GTID)" : r->file, msg);
			else
				rc = err_set(err, GW_ERETRY,
					     "binlog stream from the source: %s (errno %u)", msg,
					     en);
			break;
		}
		off = raw_offset(ev);
		if ((rc = binlog_decode(r->dec, ev->raw_data + off, ev->raw_data_size - off, &e,
					err)) < 0) {
			err_prefix(err, "decoding the source's binlog");
			break;
		}
		have = true;
		while (have && rc == 0) {
			if (e.timestamp && e.kind != BK_HEARTBEAT &&
			    e.kind != BK_FORMAT_DESCRIPTION && e.kind != BK_ROTATE &&
			    e.kind != BK_GTID_LIST) {
				r->last_event_ts = e.timestamp;
				atomic_store(&r->io->progress->applying_unix, e.timestamp);
			}
			switch (e.kind) {
			case BK_ROTATE:
				(void)snprintf(r->file, sizeof(r->file), "%s", e.rotate_file);
				r->pos = e.rotate_pos;
				break;
			case BK_GTID:
				r->pending.domain = e.gtid_domain;
				r->pending.seq = e.gtid_seq;
				r->pending.server = e.server_id;
				r->have_pending = true;
				break;
			case BK_TABLE_MAP: {
				/* Described before its rows are decoded. */
				struct rtable *t = NULL;
				if (e.table &&
				    (rc = rtable_find(&t, r, e.table->db, e.table->table, err)) ==
					0 &&
				    t && !t->loaded)
					rc = rtable_load(r, t, err);
				break;
			}
			case BK_WRITE_ROWS:
			case BK_UPDATE_ROWS:
			case BK_DELETE_ROWS: rc = apply_rows(r, &e, err); break;
			case BK_QUERY:
				rc = apply_query(r, &e, err);
				if (rc == 0 && r->have_pending && e.sql &&
				    strncasecmp(e.sql, "BEGIN", 5)) {
					/* A statement group (DDL) ends here. */
					if ((rc = txn_begin(r, err)) == 0) {
						rc = gtid_set(r, &r->pending);
						r->have_pending = false;
						r->txns_in_group++;
					}
				}
				break;
			case BK_XID:
				if ((rc = txn_begin(r, err)) < 0)
					break;
				if (r->have_pending) {
					rc = gtid_set(r, &r->pending);
					r->have_pending = false;
				}
				r->txns_in_group++;
				break;
			case BK_HEARTBEAT: idle = true; break;
			default: break;
			}
			if (rc < 0)
				break;
			if (e.next_pos && e.kind != BK_HEARTBEAT && e.kind != BK_ROTATE)
				r->pos = e.next_pos;
			if (e.kind == BK_PAYLOAD)
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
	if (ev)
		mariadb_free_rpl_event(ev);
	mariadb_rpl_close(rpl);
	mysql_close(m);
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
	/* A pause or a forced stop does not wait for a lock on the destination. */
	conn_guard_start(&guard, r.dst, io->cancel);
	guarded = true;
	/* Applied changes are rows only: the destination's FKs do not
	 * cascade them again, and checks do not refuse an order the source
	 * already accepted. */
	if ((rc = conn_exec(r.dst, "SET SESSION foreign_key_checks = 0", &io->err)) < 0 ||
	    (rc = meta_ensure(r.dst, r.metadb, &io->err)) < 0 ||
	    (rc = load_snapshots(&r, &io->err)) < 0 || (rc = start_position(&r, &io->err)) < 0)
		goto out;
	{
		unsigned long ver;
		conn_server_version(r.dst, &ver, &r.dst_mariadb);
	}
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
		batch_release(&r.tables[i].batch);
		free(r.tables[i].db);
		free(r.tables[i].table);
		free(r.tables[i].dest_db);
		free(r.tables[i].dest_table);
	}
	free(r.tables);
	for (i = 0; i < r.nsnaps; i++) {
		free(r.snaps[i].db);
		free(r.snaps[i].table);
	}
	free(r.snaps);
	free(r.doms);
	free(r.final_doms);
	buf_release(&r.sql);
	buf_release(&r.kscratch);
	buf_release(&r.vscratch);
	buf_release(&r.uscratch);
	free(r.uniq);
	free(r.uniq_offs);
	binlog_decoder_free(r.dec);
	if (r.src)
		mysql_close(r.src);
	if (r.dst)
		mysql_close(r.dst);
	return rc;
}
