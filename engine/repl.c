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
 * soon as the stream goes quiet; longer while the destination is busy:
 * group_ends) for speed; inside it the changes of each table are sent as
 * multi-row statements (engine/batch.h says when changes are merged by key
 * and when their order is kept, and that keys go in order). The groups
 * are applied by engine/apply.c's connections, committed in source order,
 * two at a time, while this one reads and renders the next (apply.h has
 * the argument); what needs the destination in stream order (DDL, XA, an
 * incident, a group too big to hold) waits until they committed and is
 * applied here, on this connection (repl_sync).
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
#include "engine/apply.h"
#include "engine/batch.h"
#include "engine/conn.h"
#include "engine/ddl.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/stream.h"
#include "engine/table.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/sqllex.h"
#include "lib/util.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define GROUP_ROWS 5000
#define GROUP_MS 200
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
	/* Groups in flight side by side (apply.h): whether the table's
	 * changes are independent by key (an integer key, no other unique
	 * key, no FULLTEXT or SPATIAL index: then a group runs after the ones
	 * before it only the changes of keys they changed), and which groups
	 * changed it (a bit per slot of struct repl's keys). */
	bool by_key;
	unsigned touched;
	/* foreign keys on the destination (fk_load): fk_ordered, the table is
	 * in a set of tables linked by foreign keys one of which cascades;
	 * fk_cascades, it is the parent of such a key */
	bool fk_ordered, fk_cascades;
	/* a keyless table's copy snapshot ("": none): the changes up to
	 * there are in the copy */
	char snap_file[512];
	uint64_t snap_pos;
};

/* A table of the destination's foreign keys (fk_load): its set of linked
 * tables is the one of root (union-find), cascading when a foreign key of
 * the set cascades. */
struct fknode {
	char *db, *table; /* db is the key "db\0table" (keylen bytes) */
	size_t keylen;
	size_t root;
	bool parent; /* referenced by a cascading foreign key */
	bool cascading;
};

/* Where the copy of a table without a key read its snapshot. */
struct snapshot {
	char *db;
	char *table;
	char file[512];
	uint64_t pos;
};

/* The keys (table number and key text) of tables with by_key changes that
 * a group changed. */
struct keyset {
	struct buf text; /* entry i: text[ents[i].off ..], 4 bytes of table number, then the key */
	struct keyent {
		size_t off, len;
	} * ents;
	size_t n, cap;
	struct hash_index idx;
	struct buf probe;
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
	 * godwit_meta.repl_xa until its XA COMMIT (see xa_*) */
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
	struct buf kscratch, vscratch, uscratch;
	struct batch_text *uniq; /* a change's unique values (segment mode) */
	size_t *uniq_offs;	 /* (their offsets in uscratch) */
	size_t uniq_cap;
	struct gw_err *send_err; /* where send_stmt() reports */
	/* the destination's side (apply.h): async says that the open group is
	 * built for it, part where send_stmt() puts a statement; the keys of
	 * the group being built and of the one handed over last */
	struct applier *ap;
	bool async;
	bool sync_group; /* the open or next group is applied here (repl_sync) */
	enum apply_part part;
	const struct rtable *sending; /* whose statements send_stmt() gets */
	size_t last_group;	      /* the size of the last group (group_ends) */
	/* the keys of the group being built (slot) and of the groups handed
	 * over before it that may still be uncommitted when it starts (the
	 * other slots of the applier's connections) */
	struct keyset keys[APPLY_CONNS];
	unsigned slot;
	bool dst_mariadb;
	/* the destination's foreign keys, and the table of the open group's
	 * last change in a cascading set (index + 1; 0: none) */
	struct fknode *fk;
	size_t nfk, fkcap;
	struct hash_index fk_index; /* fk by "db\0table" */
	size_t fk_last;
	/* keyless tables' copy snapshots: changes up to them are copied */
	struct snapshot *snaps;
	size_t nsnaps;
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

/* --- foreign keys ---------------------------------------------------- */

/*
 * InnoDB performs a foreign key's cascade (ON DELETE / ON UPDATE CASCADE,
 * SET NULL, SET DEFAULT) below the binlog: the source logs the parent's
 * change only, not the child rows the cascade changed. The destination
 * performs it, as a replica does: a change of the parent of a cascading
 * key that may cascade (a DELETE, an UPDATE) runs with foreign key checks
 * on, its cascade then changing the destination's child rows as the
 * source's did. That is right when the tables linked to it by foreign keys
 * are, when it runs, as the source's were when it ran there:
 * - the changes of a set of tables linked by foreign keys one of which
 *   cascades (fk_ordered) reach the destination in source order: a change
 *   of another table of the set first sends the pending changes of the
 *   one changed before (fk_order), and a parent's cascading change is a
 *   statement of its own, after its table's pending changes (fk_change);
 * - a group with such changes runs alone, after every earlier group
 *   committed and before any later one starts (repl_sync).
 * Tables outside such sets have no foreign key to those tables, so their
 * changes commute with the set's. Every other statement runs with checks
 * off (an order the source accepted needs no check, and a child row of a
 * copy read before its parent's row is not refused).
 * The foreign keys are the destination's (its cascades are the ones that
 * run), read at the start and after each DDL.
 */

static void fk_release(struct repl *r)
{
	size_t i;

	for (i = 0; i < r->nfk; i++)
		free(r->fk[i].db);
	free(r->fk);
	r->fk = NULL;
	r->nfk = r->fkcap = 0;
	hash_index_release(&r->fk_index);
}

static void fk_key_of(const void *ctx, uint32_t entry, const char **s, size_t *len)
{
	const struct repl *r = ctx;

	*s = r->fk[entry].db;
	*len = r->fk[entry].keylen;
}

/* The key of db.table in key (db, a NUL, table); 0 or GW_ENOMEM. */
static int fk_key(struct buf *key, const char *db, const char *table)
{
	buf_reset(key);
	if (buf_puts(key, db) < 0 || buf_putc(key, 0) < 0 || buf_puts(key, table) < 0)
		return GW_ENOMEM;
	return 0;
}

/* The node of db.table; SIZE_MAX when there is none. */
static size_t fk_find(const struct repl *r, const char *db, const char *table)
{
	struct buf key = BUF_INIT;
	uint32_t *slot;
	size_t i = SIZE_MAX;

	if (r->nfk && fk_key(&key, db, table) == 0) {
		slot = hash_index_find(&r->fk_index, key.ptr, key.len, fk_key_of, r);
		if (*slot)
			i = *slot - 1;
	}
	buf_release(&key);
	return i;
}

static size_t fk_root(const struct repl *r, size_t i)
{
	while (r->fk[i].root != i)
		i = r->fk[i].root;
	return i;
}

/* The node of db.table, added when new; SIZE_MAX when out of memory. */
static size_t fk_node(struct repl *r, const char *db, const char *table)
{
	struct buf key = BUF_INIT;
	struct fknode *n;
	uint32_t *slot;
	size_t i = SIZE_MAX;

	if (fk_key(&key, db, table) < 0 || hash_index_fit(&r->fk_index, r->nfk, fk_key_of, r) < 0)
		goto out;
	slot = hash_index_find(&r->fk_index, key.ptr, key.len, fk_key_of, r);
	if (*slot) {
		i = *slot - 1;
		goto out;
	}
	if (r->nfk == r->fkcap) {
		size_t cap = r->fkcap ? 2 * r->fkcap : 16;

		if (!(n = realloc(r->fk, cap * sizeof(*n))))
			goto out;
		r->fk = n;
		r->fkcap = cap;
	}
	n = &r->fk[r->nfk];
	memset(n, 0, sizeof(*n));
	n->root = r->nfk;
	n->keylen = key.len;
	if (!(n->db = buf_detach(&key, NULL)))
		goto out;
	n->table = n->db + strlen(db) + 1;
	*slot = (uint32_t)(r->nfk + 1);
	i = r->nfk++;
out:
	buf_release(&key);
	return i;
}

static bool fk_rule_cascades(const char *rule)
{
	return rule && strcmp(rule, "RESTRICT") && strcmp(rule, "NO ACTION");
}

/* t's flags from the foreign keys read last. */
static void fk_flags(const struct repl *r, struct rtable *t)
{
	size_t i = fk_find(r, t->dest_db, t->dest_table);

	t->fk_ordered = t->fk_cascades = false;
	if (i != SIZE_MAX) {
		t->fk_ordered = r->fk[fk_root(r, i)].cascading;
		t->fk_cascades = r->fk[i].parent;
	}
}

/* Reads the destination's foreign keys (all its databases: a key may
 * link tables of two), and the flags of the tables known. */
static int fk_load(struct repl *r, struct gw_err *err)
{
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t i, a, b;
	int rc;

	fk_release(r);
	if ((rc = conn_query(&res, r->dst,
			     "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA,"
			     " REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE"
			     " FROM information_schema.REFERENTIAL_CONSTRAINTS"
			     " WHERE CONSTRAINT_SCHEMA NOT IN"
			     " ('mysql', 'information_schema', 'performance_schema', 'sys')",
			     "reading the destination's foreign keys", err)) < 0)
		return rc;
	while ((row = mysql_fetch_row(res))) {
		if (!row[0] || !row[1] || !row[2] || !row[3])
			continue;
		if ((a = fk_node(r, row[0], row[1])) == SIZE_MAX ||
		    (b = fk_node(r, row[2], row[3])) == SIZE_MAX) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		a = fk_root(r, a);
		if (fk_rule_cascades(row[4]) || fk_rule_cascades(row[5])) {
			r->fk[b].parent = true;
			r->fk[a].cascading = true;
		}
		b = fk_root(r, b);
		if (a != b) {
			r->fk[b].cascading |= r->fk[a].cascading;
			r->fk[a].root = b;
		}
	}
	for (i = 0; i < r->ntables; i++)
		fk_flags(r, &r->tables[i]);
out:
	mysql_free_result(res);
	return rc;
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
	fk_flags(r, t);
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

/* Whether an index is a B-tree (or hash) one, not FULLTEXT or SPATIAL. */
static bool index_plain_btree(const struct table_index *x)
{
	return !x->type || !strcasecmp(x->type, "BTREE") || !strcasecmp(x->type, "HASH");
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
	t->shape.int_key = t->model.nkey == 1 && table_key_col(&t->model, 0)->integer;
	t->by_key = t->shape.mode == BATCH_NET;
	for (i = 0; i < t->model.nkey; i++)
		if (!table_key_col(&t->model, i)->integer)
			t->by_key = false;
	/* FULLTEXT keeps a unique document id index of its own; SPATIAL
	 * indexes lock by predicate */
	for (i = 0; i < t->model.nindexes; i++)
		if (!index_plain_btree(&t->model.indexes[i]))
			t->by_key = false;
	for (i = 0; rc != GW_ENOTFOUND && i < other.nindexes; i++)
		if (!index_plain_btree(&other.indexes[i]))
			t->by_key = false;
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
/*
 * Snapshots the recorded position has passed filter nothing more: they are
 * cleared in copy_table, for good. A snapshot's file and offset are the
 * copy's server's, as is the recorded position until the stream goes on
 * from it (check_source() refuses another server while one is pending):
 * after a switch-over, the new server's file names say nothing about them.
 */
static int prune_snapshots(struct repl *r, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	size_t i = 0;
	int rc = 0;

	while (i < r->nsnaps && rc == 0) {
		struct snapshot *sn = &r->snaps[i];
		int c = strcmp(r->file, sn->file);
		if (!r->file[0] || c < 0 || (c == 0 && r->pos < sn->pos)) {
			i++;
			continue;
		}
		buf_reset(&q);
		if (buf_puts(&q, "UPDATE ") < 0 || conn_quote_ident(&q, r->metadb) < 0 ||
		    buf_puts(&q,
			     ".copy_table SET snap_file = NULL, snap_pos = NULL WHERE task = ") <
			0 ||
		    conn_quote_string(&q, r->dst, r->s->name, strlen(r->s->name)) < 0 ||
		    buf_puts(&q, " AND db = ") < 0 ||
		    conn_quote_string(&q, r->dst, sn->db, strlen(sn->db)) < 0 ||
		    buf_puts(&q, " AND tbl = ") < 0 ||
		    conn_quote_string(&q, r->dst, sn->table, strlen(sn->table)) < 0) {
			rc = err_set(err, GW_ENOMEM, "out of memory");
			break;
		}
		if ((rc = conn_exec(r->dst, buf_cstr(&q), err)) < 0)
			break;
		free(sn->db);
		free(sn->table);
		memmove(sn, sn + 1, (r->nsnaps - i - 1) * sizeof(*sn));
		r->nsnaps--;
	}
	buf_release(&q);
	return rc;
}

static bool in_snapshot(const struct repl *r, const struct rtable *t)
{
	int c;

	if (!t->snap_file[0])
		return false;
	c = strcmp(r->file, t->snap_file);
	return c < 0 || (c == 0 && r->pos < t->snap_pos);
}

/* --- what a group changed -------------------------------------------- */

static void keyset_entry(const void *ctx, uint32_t i, const char **s, size_t *len)
{
	const struct keyset *ks = ctx;

	*s = ks->text.ptr + ks->ents[i].off;
	*len = ks->ents[i].len;
}

/* The probe for table number tno's key: 4 bytes of tno, then the key. */
static int keyset_probe(struct keyset *ks, uint32_t tno, const char *key, size_t len)
{
	buf_reset(&ks->probe);
	return buf_add(&ks->probe, &tno, 4) < 0 || buf_add(&ks->probe, key, len) < 0 ? GW_ENOMEM
										     : 0;
}

static int keyset_add(struct keyset *ks, uint32_t tno, const char *key, size_t len)
{
	uint32_t *slot;

	if (keyset_probe(ks, tno, key, len) < 0 ||
	    hash_index_fit(&ks->idx, ks->n, keyset_entry, ks) < 0)
		return GW_ENOMEM;
	slot = hash_index_find(&ks->idx, ks->probe.ptr, ks->probe.len, keyset_entry, ks);
	if (*slot)
		return 0;
	if (ks->n == ks->cap) {
		size_t ncap = ks->cap ? 2 * ks->cap : 1024;
		struct keyent *n = realloc(ks->ents, ncap * sizeof(*n));
		if (!n)
			return GW_ENOMEM;
		ks->ents = n;
		ks->cap = ncap;
	}
	ks->ents[ks->n].off = ks->text.len;
	ks->ents[ks->n].len = ks->probe.len;
	if (buf_add(&ks->text, ks->probe.ptr, ks->probe.len) < 0)
		return GW_ENOMEM;
	*slot = (uint32_t)++ks->n;
	return 0;
}

/* Whether the set has the key; an allocation failure says yes (the
 * change then waits, which is always right). */
static bool keyset_has(struct keyset *ks, uint32_t tno, const char *key, size_t len)
{
	if (!ks->n)
		return false;
	if (keyset_probe(ks, tno, key, len) < 0)
		return true;
	return *hash_index_find(&ks->idx, ks->probe.ptr, ks->probe.len, keyset_entry, ks) != 0;
}

static void keyset_clear(struct keyset *ks)
{
	if (ks->cap > 65536 || ks->text.cap > ((size_t)1 << 20)) {
		buf_release(&ks->text);
		free(ks->ents);
		ks->ents = NULL;
		ks->cap = 0;
		hash_index_release(&ks->idx);
	} else {
		buf_reset(&ks->text);
		hash_index_clear(&ks->idx);
	}
	ks->n = 0;
}

static void keyset_release(struct keyset *ks)
{
	keyset_clear(ks);
	buf_release(&ks->text);
	buf_release(&ks->probe);
	free(ks->ents);
	hash_index_release(&ks->idx);
}

/* Whether groups run beside each other (apply.h): the open group is
 * handed over, and more than one connection applies. */
static bool overlapping(const struct repl *r)
{
	return r->async && applier_conns(r->ap) > 1;
}

/* Whether groups handed over before the one being built changed t. */
static bool touched_before(const struct repl *r, const struct rtable *t)
{
	return (t->touched & ~(1u << r->slot)) != 0;
}

/* Where a change of t goes (apply.h): after the previous group's commit
 * when a group that may still be uncommitted changed the same key, or,
 * for a table whose changes are not independent by key, the table. key
 * NULL: the table's part. */
static enum apply_part change_part(struct repl *r, const struct rtable *t, const char *key,
				   size_t len)
{
	unsigned i;

	if (!overlapping(r) || !touched_before(r, t))
		return APPLY_FREE;
	if (!t->by_key || !key)
		return APPLY_AFTER;
	for (i = 0; i < applier_conns(r->ap); i++)
		if (i != r->slot && keyset_has(&r->keys[i], (uint32_t)(t - r->tables), key, len))
			return APPLY_AFTER;
	return APPLY_FREE;
}

/* A group was handed over. The next one takes the slot of the group
 * handed over applier_conns() groups ago, on its own connection: that one
 * has committed before the next starts. */
static void keys_next(struct repl *r)
{
	size_t i;

	r->slot = (r->slot + 1) % applier_conns(r->ap);
	keyset_clear(&r->keys[r->slot]);
	for (i = 0; i < r->ntables; i++)
		r->tables[i].touched &= ~(1u << r->slot);
}

/* Nothing is in flight: no change waits for another group. */
static void keys_forget(struct repl *r)
{
	size_t i;

	for (i = 0; i < APPLY_CONNS; i++)
		keyset_clear(&r->keys[i]);
	for (i = 0; i < r->ntables; i++)
		r->tables[i].touched = 0;
}

/* --- applying -------------------------------------------------------- */

static int flush_all(struct repl *r, struct gw_err *err);
static void drop_all(struct repl *r);
static int repl_sync(struct repl *r, struct gw_err *err);

static int dst_exec(struct repl *r, const struct buf *q, struct gw_err *err)
{
	if (mysql_real_query(r->dst, q->ptr, q->len))
		return conn_error(err, r->dst, "applying a change");
	return 0;
}

/* The statements of an XA transaction's prepare group wait in
 * godwit_meta.repl_xa for its XA COMMIT (see the XA section); one_row
 * marks a statement that must change exactly one row there too (a keyless
 * table's before image). */
static int xa_store(struct repl *r, unsigned seq, const char *sql, size_t len, bool one_row)
{
	struct buf q = BUF_INIT;
	int rc = 1;

	if (buf_puts(&q, "INSERT INTO ") == 0 && conn_quote_ident(&q, r->metadb) == 0 &&
	    buf_puts(&q, ".repl_xa (task, xid, seq, stmt, one_row) VALUES (") == 0 &&
	    conn_quote_string(&q, r->dst, r->s->name, strlen(r->s->name)) == 0 &&
	    buf_putc(&q, ',') == 0 &&
	    conn_quote_string(&q, r->dst, r->xa_xid.ptr, r->xa_xid.len) == 0 &&
	    buf_printf(&q, ",%u,", seq) == 0 && conn_quote_string(&q, r->dst, sql, len) == 0 &&
	    buf_printf(&q, ",%d)", one_row) == 0)
		rc = mysql_real_query(r->dst, q.ptr, q.len);
	buf_release(&q);
	return rc;
}

/* The applier's own table in the meta database (meta.h): the statements
 * of XA transactions prepared on the source and not committed there yet,
 * run at their XA COMMIT; seq 0 marks a prepare seen. A table made before
 * one_row existed gets it. */
static int xa_ensure(struct repl *r, struct gw_err *err)
{
	struct buf db = BUF_INIT, q = BUF_INIT, v = BUF_INIT;
	bool found;
	int rc;

	if (conn_quote_ident(&db, r->metadb) < 0 ||
	    buf_puts(&q, "SELECT COUNT(*) FROM "
			 "information_schema.COLUMNS WHERE "
			 "TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(&q, r->dst, r->metadb, strlen(r->metadb)) < 0 ||
	    buf_puts(&q, " AND TABLE_NAME = 'repl_xa' AND COLUMN_NAME = 'one_row'") < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = conn_execf(r->dst, err,
			     "CREATE TABLE IF NOT EXISTS %s.repl_xa ("
			     " task VARCHAR(63) NOT NULL,"
			     " xid VARCHAR(300) NOT NULL,"
			     " seq INT UNSIGNED NOT NULL,"
			     " stmt LONGBLOB NOT NULL,"
			     " one_row TINYINT NOT NULL DEFAULT 0,"
			     " PRIMARY KEY (task, xid, seq)"
			     ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
			     buf_cstr(&db))) < 0 ||
	    (rc = conn_query_value(&v, &found, r->dst, buf_cstr(&q), err)) < 0)
		goto out;
	if (!strcmp(buf_cstr(&v), "0"))
		rc = conn_execf(
		    r->dst, err,
		    "ALTER TABLE %s.repl_xa ADD COLUMN one_row TINYINT NOT NULL DEFAULT 0",
		    buf_cstr(&db));
out:
	buf_release(&db);
	buf_release(&q);
	buf_release(&v);
	return rc;
}

/* Runs a statement that applies changes, or keeps it for the XA COMMIT
 * while an XA transaction's prepare group is read (one_row: it must
 * change exactly one row). Non-zero on failure, as mysql_real_query(). */
static int dst_apply(struct repl *r, const char *sql, size_t len, bool one_row)
{
	if (r->xa_capture)
		return xa_store(r, r->xa_seq++, sql, len, one_row);
	return mysql_real_query(r->dst, sql, len);
}

static int txn_begin(struct repl *r, struct gw_err *err)
{
	int rc;

	if (r->in_txn)
		return 0;
	/* built for the applier's connections, else applied here */
	r->async = r->ap && !r->sync_group;
	if (!r->async && (rc = conn_exec(r->dst, "START TRANSACTION", err)) < 0)
		return rc;
	r->in_txn = true;
	r->fk_last = 0;
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
	if ((rc = flush_all(r, err)) < 0 ||
	    (r->async && applier_pending_bytes(r->ap) > APPLY_GROUP_BYTES &&
	     (rc = repl_sync(r, err)) < 0)) {
		drop_all(r);
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return rc;
	}
	if ((rc = position_now(&pos, r, err)) < 0 ||
	    (meta_position_sql(&q, r->dst, r->metadb, r->s->name, &pos) < 0 &&
	     (rc = err_set(err, GW_ENOMEM, "out of memory")) < 0)) {
		buf_release(&q);
		drop_all(r);
		(void)mysql_query(r->dst, "ROLLBACK");
		r->in_txn = false;
		return rc;
	}
	if (r->async) {
		/* the applier commits it, in order, and reports the progress */
		meta_position_format(text, sizeof(text), &pos);
		rc = applier_seal(r->ap, &q, text, r->events_in_group, r->txns_in_group,
				  r->last_event_ts, err);
		buf_release(&q);
		r->in_txn = false;
		r->async = false;
		keys_next(r);
		return rc;
	}
	rc = dst_exec(r, &q, err);
	buf_release(&q);
	if (rc < 0)
		(void)mysql_query(r->dst, "ROLLBACK");
	else
		rc = meta_commit(r->dst, r->s->name, r->io->lock_holder, err);
	r->in_txn = false;
	r->sync_group = false;
	if (rc < 0)
		return rc;
	atomic_fetch_add(&r->io->progress->events_applied, r->events_in_group);
	atomic_fetch_add(&r->io->progress->txns_applied, r->txns_in_group);
	atomic_store(&r->io->progress->last_event_unix, r->last_event_ts);
	meta_position_format(text, sizeof(text), &pos);
	progress_set_position(r->io->progress, text);
	return 0;
}

/* applier_take()'s callback: a statement of the group, applied here. */
static int apply_taken(void *ctx, const char *what, const char *sql, size_t len, bool expect_one)
{
	struct repl *r = ctx;

	return apply_stmt(r->dst, what, sql, len, expect_one, r->send_err);
}

/*
 * The destination as one connection: every group handed over committed,
 * and the open group, if built for the applier, applied here from now on
 * (its statements so far first). Before what reads or changes the
 * destination in the stream's order (DDL, XA, an incident), and for a
 * group too big to hand over.
 */
static int repl_sync(struct repl *r, struct gw_err *err)
{
	int rc;

	if (!r->ap)
		return 0;
	if ((rc = applier_drain(r->ap, err)) < 0)
		return rc;
	keys_forget(r);
	r->sync_group = true;
	if (!r->in_txn || !r->async)
		return 0;
	r->async = false;
	if ((rc = conn_exec(r->dst, "START TRANSACTION", err)) < 0)
		return rc;
	r->send_err = err;
	return applier_take(r->ap, apply_taken, r);
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
	r->xa_capture = false;
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

	if (r->async && !r->xa_capture) {
		char what[300];
		(void)snprintf(what, sizeof(what), "%s.%s", r->sending->dest_db,
			       r->sending->dest_table);
		if (applier_add(r->ap, r->part, what, sql->ptr, sql->len,
				expect == BATCH_EXPECT_ONE) < 0)
			return err_set(r->send_err, GW_ENOMEM, "out of memory");
		return 0;
	}
	if (dst_apply(r, sql->ptr, sql->len, expect == BATCH_EXPECT_ONE))
		return conn_error(r->send_err, r->dst, "applying changes");
	if (r->xa_capture)
		return 0; /* checked when it runs, at the XA COMMIT */
	n = mysql_affected_rows(r->dst);
	if (expect == BATCH_EXPECT_ONE && n != 1)
		return err_set(r->send_err, GW_EFATAL,
			       "the destination has no row equal to the source's before image "
			       "(the tables differ): %.300s",
			       buf_cstr(sql));
	return 0;
}

/* batch_pick_fn: the changes of the part r->part. */
static bool pick_part(void *ctx, const char *key, size_t len)
{
	struct repl *r = ctx;

	return change_part(r, r->sending, key, len) == r->part;
}

static int flush_table(struct repl *r, struct rtable *t, struct gw_err *err)
{
	size_t bytes = batch_bytes(&t->batch), i;
	int rc = 0;

	r->send_err = err;
	r->sending = t;
	r->pend_bytes -= bytes < r->pend_bytes ? bytes : r->pend_bytes;
	if (overlapping(r) && t->by_key) {
		/* the next group waits for these keys only */
		for (i = 0; i < batch_count(&t->batch) && rc == 0; i++) {
			const char *k;
			size_t kl;
			batch_key(&t->batch, i, &k, &kl);
			rc = keyset_add(&r->keys[r->slot], (uint32_t)(t - r->tables), k, kl);
		}
		if (rc < 0) {
			batch_clear(&t->batch);
			return err_set(err, GW_ENOMEM, "out of memory");
		}
	}
	if (overlapping(r) && t->by_key && touched_before(r, t)) {
		/* the keys the previous group changed wait for its commit */
		r->part = APPLY_FREE;
		rc = batch_send(&t->batch, &t->shape, &r->sql, pick_part, r, send_stmt, r);
		r->part = APPLY_AFTER;
		if (rc == 0)
			rc = batch_send(&t->batch, &t->shape, &r->sql, pick_part, r, send_stmt, r);
		batch_clear(&t->batch);
	} else {
		r->part = change_part(r, t, NULL, 0);
		rc = batch_flush(&t->batch, &t->shape, &r->sql, send_stmt, r);
	}
	if (rc < 0) {
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
	r->fk_last = 0;
	if (r->ap)
		applier_discard(r->ap);
}

/* Before a change of t, in a cascading set of tables (see the foreign
 * keys' section): the group is applied here, after the earlier ones
 * committed, and the pending changes of the set's table changed before
 * are sent first. */
static int fk_order(struct repl *r, struct rtable *t, struct gw_err *err)
{
	size_t me = (size_t)(t - r->tables) + 1;
	int rc;

	if (r->async && (rc = repl_sync(r, err)) < 0)
		return rc;
	if (r->fk_last && r->fk_last != me &&
	    (rc = flush_table(r, &r->tables[r->fk_last - 1], err)) < 0) {
		drop_all(r);
		return rc;
	}
	r->fk_last = me;
	return 0;
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

	if (t->fk_ordered && (rc = fk_order(r, t, err)) < 0)
		return rc;
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
	r->sending = t;
	if (overlapping(r))
		t->touched |= 1u << r->slot;
	/* (a segment mode table sends its pending changes as a whole) */
	r->part = change_part(r, t, NULL, 0);
	if ((rc = batch_add(&t->batch, &t->shape, &c, &r->sql, send_stmt, r)) < 0) {
		if (rc == GW_ENOMEM)
			goto oom;
		err_prefix(err, "%s.%s", t->dest_db, t->dest_table);
		return rc;
	}
	if (batch_bytes(&t->batch) > before)
		r->pend_bytes += batch_bytes(&t->batch) - before;
	if (r->pend_bytes >= PEND_BYTES)
		rc = flush_all(r, err);
	else if (batch_count(&t->batch) >= PEND_OPS)
		rc = flush_table(r, t, err);
	/* a big group is applied here, once the others committed */
	if (rc == 0 && r->async && applier_pending_bytes(r->ap) > APPLY_GROUP_BYTES)
		rc = repl_sync(r, err);
	return rc;
oom:
	return err_set(err, GW_ENOMEM, "out of memory");
}

/* One statement of fk_change(); an error names t. */
static int fk_exec(struct repl *r, const struct rtable *t, const struct buf *q, struct gw_err *err)
{
	int rc;

	if (!dst_apply(r, q->ptr, q->len, false))
		return 0;
	rc = conn_error(err, r->dst, "applying a change that cascades");
	err_prefix(err, "%s.%s", t->dest_db, t->dest_table);
	return rc;
}

/*
 * A change of the parent of a cascading foreign key that may cascade: the
 * delete of the row whose key is `before`'s, or (after not NULL) its
 * update to after, as a statement of its own run with foreign key checks
 * on, in its place among the set's changes (see the foreign keys'
 * section), after an INSERT IGNORE of the before image. An update is then
 * also written as an upsert of the after image: a row the destination
 * does not hold yet (a copy read after a later change) is written as the
 * other changes are, by key.
 */
static int fk_change(struct repl *r, struct rtable *t, const struct bl_row *row,
		     const struct bl_value *after, const struct bl_table *map, struct gw_err *err)
{
	const struct bl_value *before = row->before;
	static const char on[] = "SET SESSION foreign_key_checks = 1";
	static const char off[] = "SET SESSION foreign_key_checks = 0";
	struct buf *q = &r->kscratch;
	bool one = t->model.nkey == 1 && before[t->model.key[0]].kind != BL_NULL;
	bool was = true;
	int rc;

	if ((rc = fk_order(r, t, err)) < 0 || (rc = flush_table(r, t, err)) < 0 ||
	    (rc = filter_passes(&was, r, t, before, map, err)) < 0)
		return rc;
	/* The row as it was, should the destination not hold it (a copy read
	 * after its change): the destination's child rows of a copy read
	 * before then still cascade. Where it holds the key, nothing. A row
	 * of the new key of an update (the same copy) is written again by
	 * the upsert after it. On a destination as the source was, neither
	 * changes a row. */
	buf_reset(q);
	if (after && key_changed(t, row) &&
	    (buf_add(q, t->shape.delete.ptr, t->shape.delete.len) < 0 ||
	     (one && buf_add(q, t->shape.key_in.ptr, t->shape.key_in.len) < 0) ||
	     key_text(q, t, after, map) < 0 || (one && buf_putc(q, ')') < 0)))
		goto oom;
	if (q->len && (rc = fk_exec(r, t, q, err)) < 0)
		return rc;
	buf_reset(q);
	if (was && (buf_puts(q, "INSERT IGNORE") < 0 ||
		    buf_add(q, t->shape.insert.ptr + 6, t->shape.insert.len - 6) < 0 ||
		    values_text(q, t, before, map) < 0))
		goto oom;
	if (was && (rc = fk_exec(r, t, q, err)) < 0)
		return rc;
	buf_reset(q);
	if (after ? (buf_add(q, t->shape.update.ptr, t->shape.update.len) < 0 ||
		     set_text(q, t, after, map) < 0 || buf_puts(q, " WHERE ") < 0)
		  : buf_add(q, t->shape.delete.ptr, t->shape.delete.len) < 0)
		goto oom;
	if ((one && buf_add(q, t->shape.key_in.ptr, t->shape.key_in.len) < 0) ||
	    key_text(q, t, before, map) < 0 || (one && buf_putc(q, ')') < 0))
		goto oom;
	if (dst_apply(r, on, sizeof(on) - 1, false))
		return conn_error(err, r->dst, "turning foreign key checks on");
	if ((rc = fk_exec(r, t, q, err)) < 0) {
		(void)dst_apply(r, off, sizeof(off) - 1, false);
		return rc;
	}
	if (dst_apply(r, off, sizeof(off) - 1, false))
		return conn_error(err, r->dst, "turning foreign key checks off");
	if (after)
		return change_add(r, t, BATCH_UPSERT, after, after, before, map, err);
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
			if ((rc = t->fk_cascades ? fk_change(r, t, row, NULL, map, err)
						 : change_add(r, t, BATCH_DELETE, row->before, NULL,
							      NULL, map, err)) < 0)
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
			if (t->fk_cascades) {
				/* (out of the filter: deleted, cascading as a delete) */
				if ((rc = filter_passes(&pass, r, t, row->after, map, err)) < 0 ||
				    (rc = fk_change(r, t, row, pass ? row->after : NULL, map,
						    err)) < 0)
					return rc;
				continue;
			}
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

/* Runs a DDL statement of the plan on the destination, lexed as its
 * source session wrote it: ANSI_QUOTES and NO_BACKSLASH_ESCAPES join the
 * applier's sql_mode for it when the session had them (flags). A
 * statement whose effect is there already (applied before a crash) is
 * logged, not an error. */
static int ddl_run(struct repl *r, const struct ddl_plan *plan, unsigned flags, struct gw_err *err)
{
	struct buf q = BUF_INIT, mode = BUF_INIT;
	bool found;
	int rc = 0, rc2;

	if (flags &&
	    ((rc = conn_query_value(&mode, &found, r->dst, "SELECT @@SESSION.sql_mode", err)) < 0 ||
	     (rc = conn_execf(r->dst, err, "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode%s%s)",
			      flags & SQLLEX_ANSI_QUOTES ? ", ',ANSI_QUOTES'" : "",
			      flags & SQLLEX_NO_BACKSLASH_ESCAPES ? ", ',NO_BACKSLASH_ESCAPES'"
								  : "")) < 0))
		goto out;
	if (mysql_real_query(r->dst, plan->sql.ptr, plan->sql.len)) {
		unsigned en = mysql_errno(r->dst);
		if (!ddl_errno_done(en, plan->renames)) {
			rc = conn_error(err, r->dst, "applying DDL");
			err_prefix(err, "%s", buf_cstr(&plan->what));
		} else {
			log_warn(r->s->name, "DDL on %s already applied (%s)",
				 buf_cstr(&plan->what), mysql_error(r->dst));
		}
	}
	if (flags) {
		struct gw_err err2 = GW_ERR_INIT;

		if (buf_puts(&q, "SET SESSION sql_mode = ") < 0 ||
		    conn_quote_string(&q, r->dst, mode.ptr ? mode.ptr : "", mode.len) < 0)
			rc2 = err_set(&err2, GW_ENOMEM, "out of memory");
		else
			rc2 = conn_exec(r->dst, buf_cstr(&q), &err2);
		if (rc2 < 0 && rc == 0) {
			*err = err2;
			rc = rc2;
		}
	}
out:
	buf_release(&q);
	buf_release(&mode);
	return rc;
}

/*
 * A QUERY event's statement on the destination, in stream order: DDL of
 * selected objects applied with the database and table renames, the rest
 * of a list of tables left out; DDL that cannot be applied safely, and
 * statement-format DML on a selected table (its rows are not in the
 * binlog), stop the task with the reason (the position stays before the
 * statement). ddl_plan (engine/ddl.h) says which is which.
 */
static int apply_query(struct repl *r, const struct binlog_event *e, unsigned flags,
		       struct gw_err *err)
{
	struct buf q = BUF_INIT;
	struct ddl_stmt d;
	struct ddl_plan plan;
	const char *sdb = e->db ? e->db : "";
	size_t i, k;
	int rc;

	if (!e->sql || !e->sql_len)
		return 0;
	if ((rc = ddl_parse(&d, e->sql, e->sql_len, flags)) <= 0)
		return rc < 0 ? err_set(err, GW_ENOMEM, "out of memory") : 0;
	if ((rc = ddl_plan(&plan, &d, e->sql, e->sql_len, flags, sdb, r->s)) < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (plan.action == DDL_REFUSE)
		rc = err_set(err, GW_EFATAL, "%s", buf_cstr(&plan.reason));
	if (plan.action != DDL_APPLY)
		goto out;
	/* DDL commits implicitly: close the group first. */
	if (conn_quote_ident(&q, buf_cstr(&plan.use_db)) < 0) {
		rc = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = txn_commit(r, err)) < 0 ||
	    (rc = conn_execf(r->dst, err, "USE %s", buf_cstr(&q))) < 0 ||
	    (rc = ddl_run(r, &plan, flags, err)) < 0 || (rc = fk_load(r, err)) < 0)
		goto out;
	log_info(r->s->name, "applied DDL on %s: %.200s", buf_cstr(&plan.what),
		 buf_cstr(&plan.sql));
	/* Column layouts may have changed (a RENAME moves two names): reload
	 * the tables of the databases it names when next needed. */
	for (i = 0; i < d.ntables; i++) {
		const char *db = d.tables[i].db[0] ? d.tables[i].db : sdb;
		const char *ndb = d.tables[i].new_db[0] ? d.tables[i].new_db : sdb;
		for (k = 0; k < r->ntables; k++)
			if (!strcmp(r->tables[k].db, db) || !strcmp(r->tables[k].db, ndb))
				rtable_unload(&r->tables[k]);
	}
	/* The position after the DDL (its GTID done: DDL ends its group), in
	 * a transaction of its own: a restart does not run it again. */
	if ((rc = txn_begin(r, err)) < 0)
		goto out;
	if (e->next_pos)
		r->pos = e->next_pos;
	if (r->have_pending) {
		if ((rc = gtid_done(r, err)) < 0)
			goto out;
		r->txns_in_group++;
	}
	rc = txn_commit(r, err);
out:
	ddl_plan_release(&plan);
	ddl_stmt_release(&d);
	buf_release(&q);
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
static void gtid_set_text(char *out, size_t outsz, const struct gtid_set *s)
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
			gtid_set_text(text, sizeof(text), &r->mset);
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
			gtid_set_text(text, sizeof(text), &purged);
		rc = err_set(err, GW_EFATAL,
			     "the recorded GTID set is no longer in the source's binlogs: the "
			     "source (server_uuid %s) has purged transactions not applied yet "
			     "(%s); a new full migration is needed",
			     uuid, text);
		goto out;
	}
	if (r->source_uuid[0] && strcmp(uuid, r->source_uuid) && r->nsnaps) {
		rc = err_set(
		    err, GW_EFATAL,
		    "the source's server_uuid changed from %s to %s (a switch-over) before "
		    "the stream passed the copy snapshot of %s.%s (a table without a key) at "
		    "%s:%llu of the old server: the changes of that table cannot be placed "
		    "on the new one; a new full migration is needed",
		    r->source_uuid, uuid, r->snaps[0].db, r->snaps[0].table, r->snaps[0].file,
		    (unsigned long long)r->snaps[0].pos);
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
 * them (dst_apply) go into godwit_meta.repl_xa, in the destination
 * transaction that records the prepare group's position, and the XA
 * COMMIT runs them, deletes them and records its own position in one
 * transaction: each XA transaction is applied once, at its commit. A row
 * of seq 0 marks every prepare seen; an XA COMMIT without one was prepared
 * before the migration's start position, its changes neither copied (they
 * were not committed) nor streamed.
 */

/* An XA transaction's prepare group starts: what is pending belongs to
 * earlier transactions and is sent; what follows is kept. */
static int xa_begin(struct repl *r, const struct buf *xid, struct gw_err *err)
{
	int rc;

	if ((rc = txn_begin(r, err)) < 0 || (rc = flush_all(r, err)) < 0)
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
	if ((rc = txn_begin(r, err)) < 0 || (rc = flush_all(r, err)) < 0)
		return rc;
	if (buf_puts(&key, " WHERE task = ") < 0 ||
	    conn_quote_string(&key, r->dst, r->s->name, strlen(r->s->name)) < 0 ||
	    buf_puts(&key, " AND xid = ") < 0 ||
	    conn_quote_string(&key, r->dst, xid->ptr, xid->len) < 0 ||
	    buf_puts(&q, "SELECT COUNT(*), MAX(seq) FROM ") < 0 ||
	    conn_quote_ident(&q, r->metadb) < 0 || buf_puts(&q, ".repl_xa") < 0 ||
	    buf_add(&q, key.ptr, key.len) < 0)
		goto oom;
	if (mysql_real_query(r->dst, q.ptr, q.len) || !(res = mysql_store_result(r->dst))) {
		rc = conn_error(err, r->dst, "reading the kept XA statements");
		goto out;
	}
	if ((row = mysql_fetch_row(res)) && row[0]) {
		n = strtoull(row[0], NULL, 10);
		last = row[1] ? strtoull(row[1], NULL, 10) : 0;
	}
	mysql_free_result(res);
	*found_out = n > 0;
	/* one statement at a time: a big transaction stays on the destination;
	 * a keyless table's change must find its row now as it would have
	 * when read (send_stmt) */
	for (seq = 1; commit && seq <= last; seq++) {
		bool one_row;
		buf_reset(&q);
		buf_reset(&v);
		if (buf_puts(&q, "SELECT one_row, stmt FROM ") < 0 ||
		    conn_quote_ident(&q, r->metadb) < 0 || buf_puts(&q, ".repl_xa") < 0 ||
		    buf_add(&q, key.ptr, key.len) < 0 || buf_printf(&q, " AND seq = %llu", seq) < 0)
			goto oom;
		if (mysql_real_query(r->dst, q.ptr, q.len) || !(res = mysql_store_result(r->dst))) {
			rc = conn_error(err, r->dst, "reading the kept XA statements");
			goto out;
		}
		found = (row = mysql_fetch_row(res)) && row[0] && row[1];
		one_row = found && strcmp(row[0], "0");
		if (found && buf_add(&v, row[1], mysql_fetch_lengths(res)[1]) < 0) {
			mysql_free_result(res);
			goto oom;
		}
		mysql_free_result(res);
		res = NULL;
		if (!found)
			continue;
		if (mysql_real_query(r->dst, v.ptr, v.len)) {
			rc = conn_error(err, r->dst, "applying an XA transaction's changes");
			goto out;
		}
		if (one_row && mysql_affected_rows(r->dst) != 1) {
			rc = err_set(
			    err, GW_EFATAL,
			    "XA COMMIT %s: the destination has no row equal to the source's "
			    "before image (the tables differ): %.300s",
			    buf_cstr(xid), buf_cstr(&v));
			goto out;
		}
	}
	buf_reset(&q);
	if (buf_puts(&q, "DELETE FROM ") < 0 || conn_quote_ident(&q, r->metadb) < 0 ||
	    buf_puts(&q, ".repl_xa") < 0 || buf_add(&q, key.ptr, key.len) < 0)
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
	if ((rc = txn_begin(r, err)) < 0 || (rc = flush_all(r, err)) < 0)
		goto out;
	if (xa_store(r, 0, "", 0, false)) {
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
static int xa_complete(struct repl *r, const struct buf *xid, bool commit, struct gw_err *err)
{
	bool found;
	int rc;

	if ((rc = xa_finish(r, xid, commit, &found, err)) < 0)
		return rc;
	if (commit && !found)
		rc = err_set(err, GW_EFATAL,
			     "XA COMMIT %s: the transaction was prepared before this migration's "
			     "start position, so its changes were neither copied nor streamed; a "
			     "new full migration is needed",
			     buf_cstr(xid));
	return rc;
}

/* A QUERY event of the stream: XA statements, DDL (apply_query), and the
 * end of a group. */
static int stream_query(struct repl *r, const struct binlog_event *e, struct gw_err *err)
{
	const char *sql = e->sql ? e->sql : "";
	size_t len = e->sql ? e->sql_len : 0;
	/* the statement reads as its session's sql_mode made it */
	unsigned flags = e->has_sql_mode ? ddl_mode_bits_flags(e->sql_mode) : 0;
	struct buf xid = BUF_INIT;
	enum ddl_xa verb;
	int rc = ddl_xa(&verb, &xid, sql, len, flags);

	if (rc == GW_ENOMEM)
		rc = err_set(err, GW_ENOMEM, "out of memory");
	else if (rc < 0)
		rc = err_set(err, GW_EFATAL, "cannot read the XID of '%.200s'", sql);
	else if (verb == DDL_XA_START)
		rc = xa_begin(r, &xid, err);
	else if (verb == DDL_XA_COMMIT || verb == DDL_XA_ROLLBACK)
		rc = xa_complete(r, &xid, verb == DDL_XA_COMMIT, err);
	else if (verb == DDL_XA_NONE)
		rc = apply_query(r, e, flags, err);
	buf_release(&xid);
	if (rc == 0 && r->have_pending && e->sql && ddl_ends_group(sql, len, flags) &&
	    (rc = txn_begin(r, err)) == 0 && (rc = gtid_done(r, err)) == 0)
		r->txns_in_group++;
	return rc;
}

static void update_delay(struct repl *r, bool idle)
{
	int64_t now = util_now_ms() / 1000;

	if (idle && !r->in_txn && (!r->ap || applier_idle(r->ap))) {
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

/* Whether the event needs the destination as one connection
 * (repl_sync): all but row changes and their transactions' bounds. */
static bool needs_sync(const struct binlog_event *e)
{
	switch (e->kind) {
	case BK_QUERY: return !(e->sql_len == 5 && !strncasecmp(e->sql, "BEGIN", 5));
	case BK_GTID: return e->gtid_xa == BL_XA_PREPARED;
	case BK_XA_PREPARE:
	case BK_INCIDENT: return true;
	default: return false;
	}
}

/* One decoded event (of the stream or of a transaction payload). */
static int stream_event(struct repl *r, const struct binlog_event *e, bool *idle,
			struct gw_err *err)
{
	struct buf xid = BUF_INIT;
	int rc = 0;

	if (r->ap && needs_sync(e) && (rc = repl_sync(r, err)) < 0)
		return rc;
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
		struct rtable *t = NULL;
		if (e->table &&
		    (rc = rtable_find(&t, r, e->table->db, e->table->table, err)) == 0 && t &&
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

/*
 * Whether the open group ends at this transaction boundary: when the
 * stream is idle or stopping, and when it is big or old (GROUP_ROWS,
 * GROUP_MS). A group for the applier's connections grows instead, up to
 * APPLY_GROUP_BYTES, while no connection is free, and while groups are in
 * flight until it is as big as the last one handed over (connections
 * then take turns with groups of one size, instead of a small one
 * waiting for a big one's commit): nothing would apply it sooner, and the
 * more changes of a key it holds, the fewer rows the destination writes
 * (batch.h), the more changes each page it reads serves.
 */
static bool group_ends(struct repl *r, bool idle)
{
	bool due = r->txn_rows >= GROUP_ROWS || util_now_mono_ms() - r->txn_started_ms >= GROUP_MS;
	size_t size;
	bool ends;

	if (idle || r->stopping)
		return true;
	if (!r->async)
		return due;
	size = r->pend_bytes + applier_pending_bytes(r->ap);
	ends = size >= APPLY_GROUP_BYTES ||
	       (due && applier_ready(r->ap) && (size >= r->last_group || applier_idle(r->ap)));
	if (ends)
		r->last_group = size;
	return ends;
}

static int stream(struct repl *r, struct gw_err *err)
{
	struct stream *st = NULL;
	struct stream_from from;
	char text[300];
	unsigned en = 0;
	int rc;

	/* Nothing pending survives a stream that ended in an error. */
	drop_all(r);
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
		if (r->in_txn && !r->have_pending && group_ends(r, idle) &&
		    (rc = txn_commit(r, err)) < 0)
			break;
		/* a failure of a group handed over, seen while the stream is quiet */
		if (idle && r->ap && (rc = applier_check(r->ap, err)) < 0)
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
	/* what was handed over commits (or failed) before the stream ends */
	if (r->ap) {
		struct gw_err ignore = GW_ERR_INIT;
		int drc = applier_drain(r->ap, rc < 0 ? &ignore : err);
		if (rc == 0)
			rc = drc;
	}
	return rc;
}

int engine_incremental(struct action_io *io)
{
	struct repl r;
	struct conn_guard guard;
	bool guarded = false, fired;
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
	/* Checks do not refuse an order the source already accepted; the
	 * changes that cascade turn them on (fk_change). */
	if ((rc = conn_exec(r.dst, "SET SESSION foreign_key_checks = 0", &io->err)) < 0 ||
	    (rc = meta_ensure(r.dst, r.metadb, &io->err)) < 0 ||
	    (rc = xa_ensure(&r, &io->err)) < 0 || (rc = load_snapshots(&r, &io->err)) < 0 ||
	    (rc = start_position(&r, &io->err)) < 0 || (rc = prune_snapshots(&r, &io->err)) < 0 ||
	    (rc = fk_load(&r, &io->err)) < 0)
		goto out;
	{
		unsigned long ver;
		conn_server_version(r.dst, &ver, &r.dst_mariadb);
	}
	if ((rc = applier_start(&r.ap, io, APPLY_CONNS, &io->err)) < 0)
		goto out;
	rc = stream(&r, &io->err);
	if (rc == 0)
		log_info(io->task, "incremental migration stopped");
out:
	fired = guarded && conn_guard_stop(&guard);
	if (applier_free(r.ap)) /* (its connections have guards of their own) */
		fired = true;
	if (fired && rc < 0 && rc != GW_ECANCEL)
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
	fk_release(&r);
	gtid_pos_release(&r.mpos);
	gtid_pos_release(&r.final_mpos);
	gtid_set_release(&r.mset);
	gtid_set_release(&r.final_mset);
	buf_release(&r.xa_xid);
	for (i = 0; i < r.nsnaps; i++) {
		free(r.snaps[i].db);
		free(r.snaps[i].table);
	}
	free(r.snaps);
	buf_release(&r.sql);
	buf_release(&r.kscratch);
	buf_release(&r.vscratch);
	buf_release(&r.uscratch);
	for (i = 0; i < APPLY_CONNS; i++)
		keyset_release(&r.keys[i]);
	free(r.uniq);
	free(r.uniq_offs);
	binlog_decoder_free(r.dec);
	if (r.src)
		mysql_close(r.src);
	if (r.dst)
		mysql_close(r.dst);
	return rc;
}
