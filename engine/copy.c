/*
 * The full data migration: every selected row from the source to the
 * destination, in chunks walked by key, resumable at chunk granularity.
 * docs/copy.md has the design; in short:
 *
 * Hand-off to the incremental migration. Before the first row is read, the
 * source's binlog position is recorded in godwit_meta.binlog_position (once:
 * a resumed copy keeps the first). The incremental migration replays from
 * there, so every change made while the copy ran is replayed after it. The
 * replay is idempotent (writes are upserts with the full after image,
 * updates and deletes go by key), so whatever the copy read, older or newer
 * than a given change, the replay of the changes after the position leaves
 * each row as the source has it (Ghostferry's TLA+ model, Vitess's
 * VReplication copy phase). Reading the position needs neither FLUSH
 * TABLES WITH READ LOCK nor RELOAD: a position older than some rows read
 * is what the argument allows.
 *
 * Parts and chunks. A table is split into parts that workers take from one
 * queue, biggest table first, so one big table is copied by every worker
 * instead of one: a single integer key is cut into ranges between its
 * MIN and MAX, any other key (strings, composite) at keys sampled on the
 * source; within a range rows are walked by keyset pagination by the whole
 * key tuple (WHERE (a, b) > (?, ?) ORDER BY a, b LIMIT n). A part is copied
 * in chunks whose row count adapts to the time a chunk takes and to its
 * bytes (engine/plan.c has the arithmetic).
 *
 * Checkpoints. godwit_meta.copy_state has one row per part with its range
 * and the last key copied; it is written in the same destination
 * transaction as the chunk's rows, so after a crash at any point the copy
 * resumes from the last committed chunk: nothing is copied twice and
 * nothing is skipped. godwit_meta.copy_table has one row per table: its
 * parts, its deferred indexes, done. A table without a usable key cannot
 * be resumed by key: its copy restarts from an empty destination table.
 *
 * Writing. Each chunk is one LOAD DATA LOCAL INFILE fed from the source's
 * result as it streams in (mysql_set_local_infile_handler: no file, no
 * copy of the chunk in memory), so the source reads while the destination
 * writes. Where the destination refuses LOCAL INFILE, multi-row INSERTs of
 * bounded size. Secondary (non-unique) indexes of a table that is empty
 * when its copy starts are dropped first and built once its last part is
 * copied: building an index once is much cheaper than maintaining it row
 * by row. Their definitions are kept in copy_table, so a crash in between
 * only delays them.
 *
 * Memory: per worker one row of the source's result (encoded once more
 * for the feed), the client library's packet buffers, or one INSERT
 * statement of at most STMT_MAX_BYTES, whatever the table or chunk size.
 */
#include "lib/common.h"
#include "engine/conn.h"
#include "engine/ddl.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/plan.h"
#include "engine/stream.h"
#include "engine/table.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define STMT_MAX_BYTES (4u << 20)

struct copy_run;

/* A table being copied. */
struct tstate {
	struct table *t;
	struct progress_table *pt; /* may be NULL */
	size_t parts_left;	   /* guarded by run->mu */
	char *indexes;		   /* deferred index definitions, one a line */
	bool int_key;		   /* one integer key column: cut by arithmetic */
};

/* A unit of work: a key range of a table, (lo, hi]; NULL is unbounded. */
struct part {
	struct tstate *ts;
	int no;
	char **lo, **hi; /* nkey literals each: the range (lo, hi], NULL unbounded */
	char **last;	 /* nkey literals of the last key copied, or NULL */
	uint64_t rows;
	bool done;
};

struct copy_run {
	struct action_io *io;
	const struct spec *s;
	const char *metadb;
	struct table *tables;
	size_t ntables;
	struct tstate *ts;
	struct part *parts;
	size_t nparts;
	bool use_load; /* the destination takes LOAD DATA LOCAL INFILE */
	pthread_mutex_t mu;
	size_t next;
	_Atomic int failed; /* set once, under mu; read by every worker */
	struct gw_err err;
	/* throttle: a one-second window */
	int64_t win_start;
	uint64_t win_rows;
	uint64_t win_bytes;
};

/* The source's binlog file and position ("" when it has no binlog).
 * SHOW MASTER STATUS needs REPLICATION CLIENT (or BINLOG MONITOR), which
 * the incremental migration needs anyway; not RELOAD. */
static int source_file_pos(char *file, size_t filesz, uint64_t *pos, MYSQL *src, struct gw_err *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	file[0] = '\0';
	*pos = 0;
	if (mysql_query(src, "SHOW MASTER STATUS") &&
	    (mysql_errno(src) != ER_PARSE_ERROR || mysql_query(src, "SHOW BINARY LOG STATUS")))
		/* (MySQL 8.4 knows only the second) */
		return conn_error(err, src, "reading the source's binlog position");
	if (!(res = mysql_store_result(src)))
		return conn_error(err, src, "reading the source's binlog position");
	if ((row = mysql_fetch_row(res)) && row[0]) {
		(void)snprintf(file, filesz, "%s", row[0]);
		*pos = row[1] ? strtoull(row[1], NULL, 10) : 0;
	}
	mysql_free_result(res);
	return 0;
}

/* Records where the incremental migration will replay from, once: the
 * source's position in its own form (engine/stream.h). */
static int record_handoff(MYSQL *src, MYSQL *dst, const struct copy_run *run, struct gw_err *err)
{
	struct binlog_pos pos;
	struct buf sql = BUF_INIT;
	bool found;
	int r;

	if ((r = meta_position_get(&pos, &found, dst, run->metadb, run->s->name, err)) < 0 || found)
		return r;
	if ((r = stream_source_position(&pos, src, err)) < 0) {
		if (run->s->migration_types & MT_INCREMENTAL) {
			err_prefix(err, "incremental migration needs the source's binlog position");
			return r;
		}
		err_clear(err);
		return 0; /* nothing will replay */
	}
	pos.source_ts = util_now_ms() / 1000;
	if (meta_position_sql(&sql, dst, run->metadb, run->s->name, &pos) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_exec(dst, buf_cstr(&sql), err)) == 0) {
		char text[4400];
		meta_position_format(text, sizeof(text), &pos);
		log_info(run->s->name, "full copy: incremental will replay from %s", text);
		progress_set_position(run->io->progress, text);
	}
out:
	buf_release(&sql);
	return r;
}

/* Brings state tables of an earlier version up to this one's columns. */
static int upgrade_state_tables(MYSQL *dst, const char *metadb, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	bool snap = false, wide = false;
	int r = GW_ENOMEM;

	if (buf_puts(&q, "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS"
			 " WHERE TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(&q, dst, metadb, strlen(metadb)) < 0 ||
	    buf_puts(&q, " AND ((TABLE_NAME = 'copy_table' AND COLUMN_NAME = 'snap_file')"
			 " OR (TABLE_NAME = 'copy_state' AND COLUMN_NAME = 'lo'))") < 0)
		goto oom;
	if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the copy state's columns", err)) < 0)
		goto out;
	while ((row = mysql_fetch_row(res))) {
		if (!strcmp(row[1], "snap_file"))
			snap = true;
		else if (row[2] && !strcasecmp(row[2], "mediumblob"))
			wide = true;
	}
	buf_reset(&q);
	/* (snapshot positions of tables without a key; range bounds that are
	 * key tuples of any type) */
	if (!snap && (buf_puts(&q, "ALTER TABLE ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
		      buf_puts(&q, ".copy_table ADD COLUMN snap_file VARBINARY(512) NULL,"
				   " ADD COLUMN snap_pos BIGINT UNSIGNED NULL") < 0))
		goto oom;
	if (q.len && (r = conn_exec(dst, buf_cstr(&q), err)) < 0)
		goto out;
	buf_reset(&q);
	if (!wide && (buf_puts(&q, "ALTER TABLE ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
		      buf_puts(&q, ".copy_state MODIFY lo MEDIUMBLOB, MODIFY hi MEDIUMBLOB") < 0))
		goto oom;
	r = q.len ? conn_exec(dst, buf_cstr(&q), err) : 0;
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

static int ensure_state_tables(MYSQL *dst, const char *metadb, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	int r = GW_ENOMEM;

	if (buf_puts(&q, "CREATE TABLE IF NOT EXISTS ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".copy_table ("
			 " task VARCHAR(63) NOT NULL, db VARCHAR(64) NOT NULL,"
			 " tbl VARCHAR(64) NOT NULL, parts INT NOT NULL,"
			 " indexes MEDIUMBLOB, rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,"
			 " done TINYINT NOT NULL DEFAULT 0,"
			 " snap_file VARBINARY(512) NULL, snap_pos BIGINT UNSIGNED NULL,"
			 " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
			 " PRIMARY KEY (task, db, tbl)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") < 0)
		goto oom;
	if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0)
		goto out;
	buf_reset(&q);
	if (buf_puts(&q, "CREATE TABLE IF NOT EXISTS ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".copy_state ("
			 " task VARCHAR(63) NOT NULL, db VARCHAR(64) NOT NULL,"
			 " tbl VARCHAR(64) NOT NULL, part INT NOT NULL,"
			 " lo MEDIUMBLOB, hi MEDIUMBLOB, last_key MEDIUMBLOB,"
			 " rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,"
			 " done TINYINT NOT NULL DEFAULT 0,"
			 " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
			 " PRIMARY KEY (task, db, tbl, part)) ENGINE=InnoDB"
			 " DEFAULT CHARSET=utf8mb4") < 0)
		goto oom;
	if ((r = conn_exec(dst, buf_cstr(&q), err)) == 0)
		r = upgrade_state_tables(dst, metadb, err);
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	buf_release(&q);
	return r;
}

static int state_where(struct buf *q, MYSQL *dst, const struct copy_run *run, const struct table *t)
{
	if (buf_puts(q, " WHERE task = ") < 0 ||
	    conn_quote_string(q, dst, run->s->name, strlen(run->s->name)) < 0 ||
	    buf_puts(q, " AND db = ") < 0 || conn_quote_string(q, dst, t->db, strlen(t->db)) < 0 ||
	    buf_puts(q, " AND tbl = ") < 0 ||
	    conn_quote_string(q, dst, t->table, strlen(t->table)) < 0)
		return GW_ENOMEM;
	return 0;
}

/* The checkpoint statement of a part. */
static int checkpoint_sql(struct buf *q, MYSQL *dst, const struct copy_run *run,
			  const struct part *p)
{
	const struct table *t = p->ts->t;
	char *key = NULL;
	int r = GW_ENOMEM;

	if (p->last && plan_key_join(&key, p->last, t->nkey) < 0)
		goto out;
	if (buf_puts(q, "UPDATE ") < 0 || conn_quote_ident(q, run->metadb) < 0 ||
	    buf_puts(q, ".copy_state SET last_key = ") < 0 ||
	    (key ? conn_quote_string(q, NULL, key, strlen(key)) : buf_puts(q, "NULL")) < 0 ||
	    buf_printf(q, ", rows_copied = %llu, done = %d, updated_at = CURRENT_TIMESTAMP(6)",
		       (unsigned long long)p->rows, p->done ? 1 : 0) < 0 ||
	    state_where(q, dst, run, t) < 0 || buf_printf(q, " AND part = %d", p->no) < 0)
		goto out;
	r = 0;
out:
	free(key);
	return r;
}

static void throttle(struct copy_run *run, uint64_t rows, uint64_t bytes)
{
	const struct spec *s = run->s;
	int64_t wait = 0, now;

	if (!s->throttle_rows && !s->throttle_bytes)
		return;
	pthread_mutex_lock(&run->mu);
	now = util_now_mono_ms();
	if (now - run->win_start >= 1000) {
		run->win_start = now;
		run->win_rows = run->win_bytes = 0;
	}
	run->win_rows += rows;
	run->win_bytes += bytes;
	if ((s->throttle_rows && run->win_rows >= s->throttle_rows) ||
	    (s->throttle_bytes && run->win_bytes >= s->throttle_bytes))
		wait = run->win_start + 1000 - now;
	pthread_mutex_unlock(&run->mu);
	if (wait > 0)
		util_sleep_ms(wait, run->io->cancel);
}

/* --- the feed: rows of the source's result, encoded for the destination */

struct feed {
	const struct table *t;
	MYSQL *src;
	MYSQL_RES *res;
	bool load;	/* LOAD DATA text, else INSERT tuples */
	uint64_t limit; /* rows this chunk may take */
	uint64_t n;	/* rows taken this chunk */
	uint64_t bytes; /* encoded bytes this chunk */
	bool eof;	/* the result is exhausted */
	bool failed;	/* reading or encoding failed: msg says why */
	struct buf row; /* the encoded rows not yet handed over */
	size_t off;
	struct buf *key; /* nkey raw values of the last row taken */
	char msg[512];
};

/* LOAD DATA's default escaping: \\ \t \n and \0; NULL is \N. */
static int load_field(struct buf *b, const char *v, size_t len)
{
	size_t i;

	if (!v)
		return buf_add(b, "\\N", 2);
	if (buf_grow(b, 2 * len + 1) < 0)
		return GW_ENOMEM;
	for (i = 0; i < len; i++) {
		char c = v[i];
		switch (c) {
		case '\\':
			b->ptr[b->len++] = '\\';
			b->ptr[b->len++] = '\\';
			break;
		case '\t':
			b->ptr[b->len++] = '\\';
			b->ptr[b->len++] = 't';
			break;
		case '\n':
			b->ptr[b->len++] = '\\';
			b->ptr[b->len++] = 'n';
			break;
		case '\0':
			b->ptr[b->len++] = '\\';
			b->ptr[b->len++] = '0';
			break;
		default: b->ptr[b->len++] = c;
		}
	}
	b->ptr[b->len] = '\0';
	return 0;
}

/* Where the key's k-th column is in a chunk's SELECT: among the copied
 * columns, or after them (a generated key column, read but not written). */
static size_t key_field(const struct table *t, size_t k)
{
	size_t i, extra = 0;

	if (table_key_col(t, k)->pos >= 0)
		return (size_t)table_key_col(t, k)->pos;
	for (i = 0; i < k; i++)
		if (table_key_col(t, i)->pos < 0)
			extra++;
	return t->ncopied + extra;
}

/* Takes the next row into f->row; 1 taken, 0 none (chunk full, end of the
 * result, or failure: f->failed). */
static int feed_next(struct feed *f)
{
	const struct table *t = f->t;
	MYSQL_ROW row;
	unsigned long *len;
	size_t before = f->row.len, i;

	if (f->failed || f->eof || f->n >= f->limit)
		return 0;
	if (!(row = mysql_fetch_row(f->res))) {
		if (mysql_errno(f->src)) {
			struct gw_err e = GW_ERR_INIT;
			/* (a filtered query's message may quote rows) */
			(void)(t->tsel && t->tsel->where ? conn_error_filtered
							 : conn_error)(&e, f->src, "reading rows");
			(void)snprintf(f->msg, sizeof(f->msg), "%s", e.msg);
			f->failed = true;
		}
		f->eof = true;
		return 0;
	}
	len = mysql_fetch_lengths(f->res);
	for (i = 0; i < t->ncopied; i++) {
		int e;
		if (f->load)
			e = (i && buf_putc(&f->row, '\t') < 0) ||
			    load_field(&f->row, row[i], len[i]) < 0;
		else
			e = buf_putc(&f->row, i ? ',' : '(') < 0 ||
			    table_literal(&f->row, &t->cols[t->copied[i]], row[i], len[i]) < 0;
		if (e)
			goto oom;
	}
	if (buf_putc(&f->row, f->load ? '\n' : ')') < 0)
		goto oom;
	for (i = 0; i < t->nkey; i++) {
		size_t pos = key_field(t, i);
		buf_reset(&f->key[i]);
		if (buf_add(&f->key[i], row[pos] ? row[pos] : "", len[pos]) < 0)
			goto oom;
	}
	f->bytes += f->row.len - before;
	f->n++;
	return 1;
oom:
	(void)snprintf(f->msg, sizeof(f->msg), "out of memory encoding a row");
	f->failed = true;
	return 0;
}

static int infile_init(void **ptr, const char *filename, void *userdata)
{
	(void)filename;
	*ptr = userdata; /* NULL outside a chunk: the read fails */
	return userdata ? 0 : 1;
}

static int infile_read(void *ptr, char *buf, unsigned int buf_len)
{
	struct feed *f = ptr;
	unsigned int n = 0;

	if (!f)
		return -1;
	while (n < buf_len) {
		size_t have = f->row.len - f->off, take;
		if (!have) {
			buf_reset(&f->row);
			f->off = 0;
			if (feed_next(f) <= 0)
				break;
			continue;
		}
		take = have < buf_len - n ? have : buf_len - n;
		memcpy(buf + n, f->row.ptr + f->off, take);
		f->off += take;
		n += (unsigned int)take;
	}
	return f->failed ? -1 : (int)n;
}

static void infile_end(void *ptr)
{
	(void)ptr;
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
	const struct feed *f = ptr;

	(void)snprintf(msg, len, "%s", f && f->msg[0] ? f->msg : "no chunk is being loaded");
	return CR_UNKNOWN_ERROR;
}

/* LOAD DATA LOCAL INFILE ... (columns) SET ... for table t. */
static int load_sql(struct buf *q, const struct table *t)
{
	size_t i;
	bool set = false;

	if (buf_puts(q, "LOAD DATA LOCAL INFILE 'godwit-chunk' REPLACE INTO TABLE ") < 0 ||
	    table_name(q, t, TABLE_DEST) < 0 ||
	    buf_puts(q, " CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
			" LINES TERMINATED BY '\\n' (") < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncopied; i++) {
		const struct table_col *c = &t->cols[t->copied[i]];
		if (i && buf_puts(q, ", ") < 0)
			return GW_ENOMEM;
		/* JSON refuses binary strings (MySQL): through a variable. */
		if (c->is_json ? buf_printf(q, "@v%zu", i) < 0
			       : conn_quote_ident(q, c->dest_name) < 0)
			return GW_ENOMEM;
	}
	if (buf_putc(q, ')') < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncopied; i++) {
		const struct table_col *c = &t->cols[t->copied[i]];
		if (!c->is_json)
			continue;
		if (buf_puts(q, set ? ", " : " SET ") < 0 ||
		    conn_quote_ident(q, c->dest_name) < 0 ||
		    buf_printf(q, " = CONVERT(@v%zu USING %s)", i,
			       c->text ? c->charset : "utf8mb4") < 0)
			return GW_ENOMEM;
		set = true;
	}
	return 0;
}

/* INSERT INTO t (...) VALUES */
static int insert_head(struct buf *q, const struct table *t)
{
	if (buf_puts(q, "INSERT INTO ") < 0 || table_name(q, t, TABLE_DEST) < 0 ||
	    buf_puts(q, " (") < 0 || table_column_list(q, t, TABLE_DEST) < 0 ||
	    buf_puts(q, ") VALUES ") < 0)
		return GW_ENOMEM;
	return 0;
}

/* ON DUPLICATE KEY UPDATE c = VALUES(c), ...: a row already there (a table
 * that had rows before its copy) takes the source's image. */
static int insert_tail(struct buf *q, const struct table *t)
{
	size_t i;

	if (buf_puts(q, " ON DUPLICATE KEY UPDATE ") < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncopied; i++) {
		const char *n = t->cols[t->copied[i]].dest_name;
		if ((i && buf_puts(q, ", ") < 0) || conn_quote_ident(q, n) < 0 ||
		    buf_puts(q, " = VALUES(") < 0 || conn_quote_ident(q, n) < 0 ||
		    buf_putc(q, ')') < 0)
			return GW_ENOMEM;
	}
	return 0;
}

/* A warning after LOAD DATA LOCAL means a value was changed on the way in
 * (LOCAL turns strict errors into warnings): refuse it. */
static int check_warnings(MYSQL *dst, const struct table *t, struct gw_err *err)
{
	struct buf w = BUF_INIT;
	int r;

	if (!mysql_warning_count(dst))
		return 0;
	if (mysql_query(dst, "SHOW WARNINGS LIMIT 1") == 0) {
		MYSQL_RES *res = mysql_store_result(dst);
		MYSQL_ROW row;
		if (res && (row = mysql_fetch_row(res)) && row[2] &&
		    buf_printf(&w, "%s (code %s)", row[2], row[1] ? row[1] : "?") < 0)
			buf_reset(&w);
		if (res)
			mysql_free_result(res);
	}
	r = err_set(err, GW_EFATAL,
		    "table %s.%s: the destination did not store a value as read: %s", t->dest_db,
		    t->dest_table, w.len ? buf_cstr(&w) : "a warning");
	buf_release(&w);
	return r;
}

/*
 * Writes the feed's current chunk (f->limit rows at most) into the open
 * destination transaction. The first row is already in f->row.
 */
static int write_chunk(MYSQL *dst, struct feed *f, struct gw_err *err)
{
	const struct table *t = f->t;
	struct buf q = BUF_INIT;
	int r = 0;

	if (f->load) {
		if (load_sql(&q, t) < 0)
			goto oom;
		mysql_set_local_infile_handler(dst, infile_init, infile_read, infile_end,
					       infile_error, f);
		if (mysql_real_query(dst, q.ptr, q.len)) {
			if (f->failed)
				r = err_set(err, GW_ERETRY, "%s", f->msg);
			else
				r = conn_error(err, dst, "writing rows");
		} else if (f->failed) {
			r = err_set(err, GW_ERETRY, "%s", f->msg);
		} else {
			r = check_warnings(dst, t, err);
		}
		conn_infile_refuse(dst);
		goto out;
	}
	/* INSERT statements of at most STMT_MAX_BYTES. */
	for (;;) {
		bool more;
		if (insert_head(&q, t) < 0 || buf_add(&q, f->row.ptr, f->row.len) < 0)
			goto oom;
		buf_reset(&f->row);
		while ((more = feed_next(f) > 0) && q.len + f->row.len < STMT_MAX_BYTES) {
			if (buf_putc(&q, ',') < 0 || buf_add(&q, f->row.ptr, f->row.len) < 0)
				goto oom;
			buf_reset(&f->row);
		}
		if (f->failed) {
			r = err_set(err, GW_ERETRY, "%s", f->msg);
			goto out;
		}
		if (insert_tail(&q, t) < 0)
			goto oom;
		if (mysql_real_query(dst, q.ptr, q.len)) {
			r = conn_error(err, dst, "writing rows");
			goto out;
		}
		buf_reset(&q);
		if (!more)
			break;
	}
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	buf_release(&q);
	return r;
}

/* SELECT cols FROM t WHERE (filter) AND key > after AND NOT key > hi
 * ORDER BY key LIMIT n */
static int select_sql(struct buf *q, const struct part *p, char *const *after, size_t limit)
{
	const struct table *t = p->ts->t;
	const char *where = t->tsel ? t->tsel->where : NULL;
	const char *sep = " WHERE ";
	size_t k;

	if (buf_puts(q, "SELECT ") < 0 || table_select_list(q, t) < 0)
		return GW_ENOMEM;
	for (k = 0; k < t->nkey; k++)
		if (table_key_col(t, k)->pos < 0 &&
		    (buf_puts(q, ", ") < 0 || conn_quote_ident(q, table_key_col(t, k)->name) < 0))
			return GW_ENOMEM;
	if (buf_puts(q, " FROM ") < 0 || table_name(q, t, TABLE_SOURCE) < 0)
		return GW_ENOMEM;
	if (where) {
		if (buf_printf(q, "%s(%s)", sep, where) < 0)
			return GW_ENOMEM;
		sep = " AND ";
	}
	if (after) {
		if (buf_puts(q, sep) < 0 || table_key_after(q, t, TABLE_SOURCE, after) < 0)
			return GW_ENOMEM;
		sep = " AND ";
	}
	if (p->hi && (buf_puts(q, sep) < 0 || buf_puts(q, "NOT ") < 0 ||
		      table_key_after(q, t, TABLE_SOURCE, p->hi) < 0))
		return GW_ENOMEM;
	if (t->nkey && (buf_puts(q, " ORDER BY ") < 0 || table_key_list(q, t, TABLE_SOURCE) < 0 ||
			buf_printf(q, " LIMIT %zu", limit) < 0))
		return GW_ENOMEM;
	return 0;
}

/* The literals of the last key the feed took. */
static int feed_last_key(char ***out, const struct feed *f)
{
	const struct table *t = f->t;
	char **k = calloc(t->nkey, sizeof(*k));
	size_t i;

	*out = NULL;
	if (!k)
		return GW_ENOMEM;
	for (i = 0; i < t->nkey; i++) {
		struct buf lit = BUF_INIT;
		if (table_literal(&lit, table_key_col(t, i), f->key[i].ptr ? f->key[i].ptr : "",
				  f->key[i].len) < 0) {
			buf_release(&lit);
			util_strv_free(k, t->nkey);
			return GW_ENOMEM;
		}
		k[i] = buf_detach(&lit, NULL);
	}
	*out = k;
	return 0;
}

static int commit_part_state(MYSQL *dst, struct copy_run *run, struct part *p, struct gw_err *err)
{
	struct buf cq = BUF_INIT;
	int r;

	if (checkpoint_sql(&cq, dst, run, p) < 0)
		r = err_set(err, GW_ENOMEM, "out of memory");
	else
		r = conn_exec(dst, buf_cstr(&cq), err);
	buf_release(&cq);
	return r;
}

/*
 * The source's binlog position of a consistent snapshot opened on src:
 * MariaDB gives it with the snapshot (binlog_snapshot_file/position, no
 * lock); elsewhere the table is locked for reading on a connection of its
 * own (lock_wait_timeout bounds the wait for its writers) while the
 * snapshot opens and the position is read: every change of the table
 * committed before is in the snapshot and before the position, every one
 * after is after it.
 */
static int snapshot_position(char *file, size_t filesz, uint64_t *pos, struct copy_run *run,
			     MYSQL *src, const struct table *t, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	MYSQL *lk = NULL;
	unsigned long ver;
	bool mariadb;
	int r;

	file[0] = '\0';
	*pos = 0;
	conn_server_version(src, &ver, &mariadb);
	if (mariadb) {
		if ((r = conn_exec(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err)) < 0 ||
		    (r = conn_query(&res, src, "SHOW STATUS LIKE 'binlog_snapshot_%'",
				    "reading the snapshot's binlog position", err)) < 0)
			goto out;
		while ((row = mysql_fetch_row(res)))
			if (row[0] && row[1] && !strcasecmp(row[0], "Binlog_snapshot_file"))
				(void)snprintf(file, filesz, "%s", row[1]);
			else if (row[0] && row[1] &&
				 !strcasecmp(row[0], "Binlog_snapshot_position"))
				*pos = strtoull(row[1], NULL, 10);
		goto out;
	}
	if (buf_puts(&q, "LOCK TABLES ") < 0 || table_name(&q, t, TABLE_SOURCE) < 0 ||
	    buf_puts(&q, " READ") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_open(&lk, &run->s->source, "source", CONN_DEFAULT, run->s->name, err)) < 0 ||
	    (r = conn_exec(lk, "SET SESSION lock_wait_timeout = 10", err)) < 0 ||
	    (r = conn_exec(lk, buf_cstr(&q), err)) < 0 ||
	    (r = conn_exec(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err)) < 0 ||
	    (r = source_file_pos(file, filesz, pos, src, err)) < 0)
		goto out;
	r = conn_exec(lk, "UNLOCK TABLES", err);
out:
	if (r < 0)
		err_prefix(err, "table %s.%s: a consistent snapshot", t->db, t->table);
	if (lk)
		mysql_close(lk);
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

/*
 * A table without a key cannot be resumed by key, nor its changes applied
 * idempotently (a replayed insert would double a row). It is copied in
 * one pass from an empty table (rows an earlier, interrupted pass wrote are
 * deleted first, in the same transaction as its checkpoint). With an
 * incremental migration to follow, the pass reads a consistent snapshot
 * whose binlog position goes into copy_table.snap_file/snap_pos: the
 * incremental migration applies this table's changes from there on only.
 */
static int keyless_start(struct copy_run *run, MYSQL *src, MYSQL *dst, struct part *p,
			 struct gw_err *err)
{
	struct tstate *ts = p->ts;
	const struct table *t = ts->t;
	struct buf q = BUF_INIT;
	char file[512] = "";
	uint64_t pos = 0;
	int r;

	if ((run->s->migration_types & MT_INCREMENTAL) &&
	    (r = snapshot_position(file, sizeof(file), &pos, run, src, t, err)) < 0)
		goto out;
	if ((r = conn_exec(dst, "START TRANSACTION", err)) < 0)
		goto out;
	if (p->rows) {
		log_info(run->s->name,
			 "full copy: %s.%s has no key: copying it again from the start (%llu rows "
			 "of an interrupted copy deleted)",
			 t->db, t->table, (unsigned long long)p->rows);
		if (buf_puts(&q, "DELETE FROM ") < 0 || table_name(&q, t, TABLE_DEST) < 0)
			goto oom;
		if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0)
			goto fail;
		buf_reset(&q);
	}
	if (buf_puts(&q, "UPDATE ") < 0 || conn_quote_ident(&q, run->metadb) < 0 ||
	    buf_puts(&q, ".copy_table SET snap_file = ") < 0 ||
	    (file[0] ? conn_quote_string(&q, dst, file, strlen(file)) : buf_puts(&q, "NULL")) < 0 ||
	    buf_printf(&q, ", snap_pos = %llu", (unsigned long long)pos) < 0 ||
	    state_where(&q, dst, run, t) < 0)
		goto oom;
	if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0)
		goto fail;
	buf_reset(&q);
	if (ts->pt)
		atomic_fetch_sub(&ts->pt->rows_done, p->rows);
	atomic_fetch_sub(&run->io->progress->rows_done, p->rows);
	p->rows = 0;
	if (checkpoint_sql(&q, dst, run, p) < 0)
		goto oom;
	if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0)
		goto fail;
	if ((r = meta_commit(dst, run->s->name, run->io->lock_holder, err)) < 0)
		goto out;
	if (file[0])
		log_info(run->s->name,
			 "full copy: %s.%s has no key: copied from a snapshot at %s:%llu, from "
			 "which the incremental migration applies its changes",
			 t->db, t->table, file, (unsigned long long)pos);
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
fail:
	(void)mysql_query(dst, "ROLLBACK");
out:
	buf_release(&q);
	return r;
}

/*
 * Copies one part, chunk by chunk. A keyed part runs one SELECT per chunk
 * (keyset pagination from the checkpoint); a keyless table runs one SELECT
 * whose rows are cut into chunks, and starts again from an empty table
 * after a crash.
 */
static int copy_part(struct copy_run *run, MYSQL *src, MYSQL *dst, struct part *p,
		     struct gw_err *err)
{
	struct action_io *io = run->io;
	struct tstate *ts = p->ts;
	const struct table *t = ts->t;
	struct feed f;
	struct buf sel = BUF_INIT, cq = BUF_INIT;
	size_t chunk, i;
	bool snapshot = false;
	int r = 0;

	/* The first chunk by the table's average row length (wide rows, few
	 * rows), the next ones by what the previous one took. */
	chunk = plan_chunk_first(t->avg_row_len);
	memset(&f, 0, sizeof(f));
	f.t = t;
	f.src = src;
	f.load = run->use_load;
	if (t->nkey && !(f.key = calloc(t->nkey, sizeof(*f.key))))
		goto oom;
	if (t->nkey == 0) {
		if ((r = keyless_start(run, src, dst, p, err)) < 0)
			goto out;
		snapshot = true;
		if (select_sql(&sel, p, NULL, 0) < 0)
			goto oom;
		if (mysql_real_query(src, sel.ptr, sel.len) || !(f.res = mysql_use_result(src))) {
			r = (t->tsel && t->tsel->where ? conn_error_filtered
						       : conn_error)(err, src, "reading rows");
			goto out;
		}
	}
	for (;;) {
		int64_t t0 = util_now_mono_ms();
		uint64_t n;

		if (*io->cancel || atomic_load(&run->failed)) {
			/* (another worker's failure is the one reported) */
			r = err_set(err, GW_ECANCEL, "cancelled");
			goto out;
		}
		if (t->nkey) {
			buf_reset(&sel);
			if (select_sql(&sel, p, p->last ? p->last : p->lo, chunk) < 0)
				goto oom;
			if (mysql_real_query(src, sel.ptr, sel.len) ||
			    !(f.res = mysql_use_result(src))) {
				r = (t->tsel && t->tsel->where ? conn_error_filtered : conn_error)(
				    err, src, "reading rows");
				goto out;
			}
			f.eof = false;
		}
		f.limit = chunk;
		f.n = 0;
		f.bytes = 0;
		buf_reset(&f.row);
		f.off = 0;
		if (feed_next(&f) <= 0) {
			if (f.failed) {
				r = err_set(err, GW_ERETRY, "%s", f.msg);
				goto out;
			}
			break; /* no more rows */
		}
		if ((r = conn_exec(dst, "START TRANSACTION", err)) < 0)
			goto out;
		if ((r = write_chunk(dst, &f, err)) < 0) {
			(void)mysql_query(dst, "ROLLBACK");
			err_prefix(err, "table %s.%s", t->dest_db, t->dest_table);
			goto out;
		}
		n = f.n;
		p->rows += n;
		if (t->nkey) {
			char **last;
			if (feed_last_key(&last, &f) < 0) {
				(void)mysql_query(dst, "ROLLBACK");
				goto oom;
			}
			util_strv_free(p->last, t->nkey);
			p->last = last;
		}
		buf_reset(&cq);
		if (checkpoint_sql(&cq, dst, run, p) < 0) {
			(void)mysql_query(dst, "ROLLBACK");
			goto oom;
		}
		if ((r = conn_exec(dst, buf_cstr(&cq), err)) < 0)
			(void)mysql_query(dst, "ROLLBACK");
		if (r < 0 || (r = meta_commit(dst, run->s->name, io->lock_holder, err)) < 0) {
			err_prefix(err, "table %s.%s", t->dest_db, t->dest_table);
			goto out;
		}
		atomic_fetch_add(&io->progress->rows_done, n);
		atomic_fetch_add(&io->progress->bytes_done, f.bytes);
		if (ts->pt) {
			atomic_fetch_add(&ts->pt->rows_done, n);
			atomic_fetch_add(&ts->pt->bytes_done, f.bytes);
		}
		throttle(run, n, f.bytes);
		if (t->nkey) {
			/* Read the rest of a result the LIMIT ended (none: LIMIT). */
			mysql_free_result(f.res);
			f.res = NULL;
			if (n < chunk)
				break; /* a short chunk is the last one */
		} else if (f.eof) {
			break;
		}
		chunk = plan_chunk_next(chunk, util_now_mono_ms() - t0, f.bytes);
	}
	p->done = true;
	if ((r = commit_part_state(dst, run, p, err)) < 0)
		goto out;
	r = 0;
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "table %s.%s: out of memory", t->db, t->table);
out:
	if (f.res)
		mysql_free_result(f.res);
	if (snapshot)
		(void)mysql_query(src, "COMMIT"); /* the snapshot's end */
	for (i = 0; f.key && i < t->nkey; i++)
		buf_release(&f.key[i]);
	free(f.key);
	buf_release(&f.row);
	buf_release(&sel);
	buf_release(&cq);
	return r;
}

/* --- deferred secondary indexes ---------------------------------------- */

/* The destination table's non-unique index definitions, one a line (a
 * line break inside a name or string is not one: engine/ddl.h reads them
 * back on tokens). */
static int read_indexes(struct buf *out, MYSQL *dst, const struct table *t, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	struct ddl_defs defs = {NULL, 0, 0};
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *len;
	size_t i;
	int r;

	buf_reset(out);
	if (buf_puts(&q, "SHOW CREATE TABLE ") < 0 || table_name(&q, t, TABLE_DEST) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the destination table", err)) < 0)
		goto out;
	if (!(row = mysql_fetch_row(res)) || !row[1] || !(len = mysql_fetch_lengths(res)))
		goto out;
	if ((r = ddl_table_defs(&defs, row[1], len[1], err)) < 0) {
		err_prefix(err, "destination table %s.%s", t->dest_db, t->dest_table);
		goto out;
	}
	/* An index a foreign key uses cannot be dropped: keep them all. */
	for (i = 0; i < defs.n; i++)
		if (defs.v[i].kind == DDL_DEF_FOREIGN)
			goto out;
	for (i = 0; i < defs.n; i++) {
		const struct ddl_def *d = &defs.v[i];
		if (d->kind != DDL_DEF_INDEX && d->kind != DDL_DEF_FULLTEXT &&
		    d->kind != DDL_DEF_SPATIAL)
			continue;
		if (buf_add(out, row[1] + d->off, d->len) < 0 || buf_putc(out, '\n') < 0) {
			r = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	ddl_defs_release(&defs);
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

/* Whether index `name` exists on the destination table. */
static int index_exists(bool *out, MYSQL *dst, const struct table *t, const char *name,
			struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	int r;

	*out = false;
	if (buf_puts(&q, "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ") < 0 ||
	    conn_quote_string(&q, dst, t->dest_db, strlen(t->dest_db)) < 0 ||
	    buf_puts(&q, " AND TABLE_NAME = ") < 0 ||
	    conn_quote_string(&q, dst, t->dest_table, strlen(t->dest_table)) < 0 ||
	    buf_puts(&q, " AND INDEX_NAME = ") < 0 ||
	    conn_quote_string(&q, dst, name, strlen(name)) < 0 || buf_puts(&q, " LIMIT 1") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the destination's indexes", err)) < 0)
		goto out;
	*out = mysql_num_rows(res) > 0;
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

enum index_change {
	INDEXES_DROP, /* the deferred indexes still there */
	INDEXES_ADD,  /* those missing */
};

/* One ALTER TABLE that drops or adds the deferred indexes: one pass over
 * the table for all. */
static int alter_indexes_once(MYSQL *dst, const struct tstate *ts, enum index_change change,
			      struct gw_err *err)
{
	const struct table *t = ts->t;
	bool add = change == INDEXES_ADD;
	struct buf q = BUF_INIT;
	struct ddl_defs defs = {NULL, 0, 0};
	size_t head, i;
	int64_t t0;
	int r = 0;

	if ((r = ddl_defs_split(&defs, ts->indexes, strlen(ts->indexes), err)) < 0) {
		err_prefix(err, "the deferred indexes of %s.%s", t->dest_db, t->dest_table);
		return r;
	}
	if (buf_puts(&q, "ALTER TABLE ") < 0 || table_name(&q, t, TABLE_DEST) < 0)
		goto oom;
	head = q.len;
	for (i = 0; i < defs.n; i++) {
		const struct ddl_def *d = &defs.v[i];
		bool exists;
		if (!d->name)
			continue;
		if ((r = index_exists(&exists, dst, t, d->name, err)) < 0)
			goto out;
		if (exists == add)
			continue;
		if (buf_puts(&q, q.len == head ? " " : ", ") < 0)
			goto oom;
		if (add ? (buf_puts(&q, "ADD ") < 0 ||
			   buf_add(&q, ts->indexes + d->off, d->len) < 0)
			: (buf_puts(&q, "DROP KEY ") < 0 || conn_quote_ident(&q, d->name) < 0))
			goto oom;
	}
	if (q.len == head)
		goto out;
	t0 = util_now_mono_ms();
	if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0)
		err_prefix(err, "%s the indexes of %s.%s", add ? "building" : "deferring",
			   t->dest_db, t->dest_table);
	else if (add)
		log_info(NULL, "full copy: indexes of %s.%s built in %lld ms", t->dest_db,
			 t->dest_table, (long long)(util_now_mono_ms() - t0));
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	buf_release(&q);
	ddl_defs_release(&defs);
	return r;
}

/*
 * The deferred indexes dropped or added. An ALTER of an earlier run that
 * was killed goes on on the server (it notices the lost client only once
 * done): ours waits for its table lock, then finds the index it added or
 * dropped meanwhile; then the indexes are looked at again.
 */
static int alter_indexes(MYSQL *dst, const struct tstate *ts, enum index_change change,
			 struct gw_err *err)
{
	int r = 0, attempt;

	if (!ts->indexes || !ts->indexes[0])
		return 0;
	for (attempt = 0; attempt < 3; attempt++) {
		unsigned e;
		if ((r = alter_indexes_once(dst, ts, change, err)) == 0)
			break;
		e = mysql_errno(dst);
		if (e != ER_DUP_KEYNAME && e != ER_CANT_DROP_FIELD_OR_KEY)
			break;
	}
	return r;
}

/* Every part of the table is copied: indexes built, the table done. */
static int finish_table(struct copy_run *run, MYSQL *dst, struct tstate *ts, struct gw_err *err)
{
	const struct table *t = ts->t;
	struct buf q = BUF_INIT;
	uint64_t rows = 0;
	size_t i;
	int r;

	for (i = 0; i < run->nparts; i++)
		if (run->parts[i].ts == ts)
			rows += run->parts[i].rows;
	if ((r = alter_indexes(dst, ts, INDEXES_ADD, err)) < 0)
		goto out;
	if (buf_puts(&q, "UPDATE ") < 0 || conn_quote_ident(&q, run->metadb) < 0 ||
	    buf_printf(&q, ".copy_table SET done = 1, rows_copied = %llu",
		       (unsigned long long)rows) < 0 ||
	    state_where(&q, dst, run, t) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0)
		goto out;
	atomic_fetch_add(&run->io->progress->tables_done, 1);
	if (ts->pt)
		atomic_store(&ts->pt->finished_mono_ms, util_now_mono_ms());
	log_info(run->s->name, "full copy: %s.%s done, %llu rows", t->db, t->table,
		 (unsigned long long)rows);
out:
	buf_release(&q);
	return r;
}

/* --- planning: the parts of every table --------------------------------- */

/* The cut points of an integer key: between its MIN and MAX, by
 * arithmetic (plan_int_cuts). */
static int cuts_int(char ***cuts_out, size_t *nparts_out, MYSQL *src, const struct table *t,
		    size_t want, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r;

	*cuts_out = NULL;
	*nparts_out = 1;
	if (buf_puts(&q, "SELECT MIN(") < 0 ||
	    conn_quote_ident(&q, table_key_col(t, 0)->name) < 0 || buf_puts(&q, "), MAX(") < 0 ||
	    conn_quote_ident(&q, table_key_col(t, 0)->name) < 0 || buf_puts(&q, ") FROM ") < 0 ||
	    table_name(&q, t, TABLE_SOURCE) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_query(&res, src, buf_cstr(&q), "reading the key range", err)) < 0)
		goto out;
	if ((row = mysql_fetch_row(res)) && row[0] && row[1] &&
	    plan_int_cuts(cuts_out, nparts_out, row[0], row[1], want) < 0)
		r = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

/*
 * The cut points of any other key (strings, composite, dates): sampled on
 * the source, every step-th key in the key's order, by the whole key tuple
 * and with the column's collation (SELECT key ... WHERE key > previous
 * ORDER BY key LIMIT step - 1, 1). The server walks the key's index to
 * each point, and only the points cross the network. Each cut is the
 * tuple's literals (plan_key_join); fewer parts when the table has fewer
 * rows than estimated.
 */
static int cuts_sampled(char ***cuts_out, size_t *nparts_out, MYSQL *src, const struct table *t,
			size_t want, struct gw_err *err)
{
	uint64_t step = plan_sample_step(t->est_rows, want);
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	char **cuts = NULL, **prev = NULL, **lits = NULL;
	size_t n = 0, k;
	int r = 0;

	*cuts_out = NULL;
	*nparts_out = 1;
	if (!(cuts = calloc(want, sizeof(*cuts))))
		goto oom;
	while (n + 1 < want) {
		buf_reset(&q);
		if (buf_puts(&q, "SELECT ") < 0 || table_key_list(&q, t, TABLE_SOURCE) < 0 ||
		    buf_puts(&q, " FROM ") < 0 || table_name(&q, t, TABLE_SOURCE) < 0 ||
		    (prev && (buf_puts(&q, " WHERE ") < 0 ||
			      table_key_after(&q, t, TABLE_SOURCE, prev) < 0)) ||
		    buf_puts(&q, " ORDER BY ") < 0 || table_key_list(&q, t, TABLE_SOURCE) < 0 ||
		    buf_printf(&q, " LIMIT %llu, 1", (unsigned long long)(step - 1)) < 0)
			goto oom;
		if ((r = conn_query(&res, src, buf_cstr(&q), "sampling the key", err)) < 0)
			goto out;
		if (!(row = mysql_fetch_row(res)))
			break; /* fewer rows than estimated */
		if (!(lits = calloc(t->nkey, sizeof(*lits))))
			goto oom;
		for (k = 0; k < t->nkey; k++) {
			struct buf lit = BUF_INIT;
			unsigned long *len = mysql_fetch_lengths(res);
			if (table_literal(&lit, table_key_col(t, k), row[k], len[k]) < 0) {
				buf_release(&lit);
				goto oom;
			}
			lits[k] = buf_detach(&lit, NULL);
		}
		mysql_free_result(res);
		res = NULL;
		if (plan_key_join(&cuts[n], lits, t->nkey) < 0)
			goto oom;
		n++;
		util_strv_free(prev, t->nkey);
		prev = lits;
		lits = NULL;
	}
	*cuts_out = cuts;
	*nparts_out = n + 1;
	cuts = NULL;
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (res)
		mysql_free_result(res);
	util_strv_free(cuts, n);
	util_strv_free(prev, t->nkey);
	util_strv_free(lits, t->nkey);
	buf_release(&q);
	return r;
}

/* Whether the destination table has any row. */
static int dest_empty(bool *out, MYSQL *dst, const struct table *t, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	int r;

	*out = false;
	if (buf_puts(&q, "SELECT 1 FROM ") < 0 || table_name(&q, t, TABLE_DEST) < 0 ||
	    buf_puts(&q, " LIMIT 1") < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the destination table", err)) < 0)
		goto out;
	*out = mysql_num_rows(res) == 0;
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

/* Writes a new plan for ts: its copy_table row and its parts, in one
 * transaction. */
static int plan_new(struct copy_run *run, MYSQL *src, MYSQL *dst, struct tstate *ts,
		    struct gw_err *err)
{
	const struct table *t = ts->t;
	size_t workers = run->s->parallelism > 0 ? (size_t)run->s->parallelism : 1;
	size_t want, nparts = 1, i;
	char **cuts = NULL;
	struct buf idx = BUF_INIT, q = BUF_INIT, parts = BUF_INIT;
	bool empty = false;
	int r;

	/* A big table is cut into ranges that workers share, whatever its
	 * key: by arithmetic for an integer, by sampled keys otherwise. */
	want = t->nkey ? plan_parts(t->est_rows, workers) : 1;
	if (want > 1 && (r = ts->int_key ? cuts_int(&cuts, &nparts, src, t, want, err)
					 : cuts_sampled(&cuts, &nparts, src, t, want, err)) < 0)
		goto out;
	if ((r = dest_empty(&empty, dst, t, err)) < 0)
		goto out;
	/* Indexes are deferred only on a table that is still empty: rows a
	 * person put there before are not ours to make slower to find. */
	if (empty && t->nkey && (r = read_indexes(&idx, dst, t, err)) < 0)
		goto out;
	if (buf_puts(&q, "INSERT INTO ") < 0 || conn_quote_ident(&q, run->metadb) < 0 ||
	    buf_puts(&q, ".copy_table (task, db, tbl, parts, indexes) VALUES (") < 0 ||
	    conn_quote_string(&q, dst, run->s->name, strlen(run->s->name)) < 0 ||
	    buf_puts(&q, ", ") < 0 || conn_quote_string(&q, dst, t->db, strlen(t->db)) < 0 ||
	    buf_puts(&q, ", ") < 0 || conn_quote_string(&q, dst, t->table, strlen(t->table)) < 0 ||
	    buf_printf(&q, ", %zu, ", nparts) < 0 ||
	    conn_quote_string(&q, NULL, idx.ptr ? idx.ptr : "", idx.len) < 0 ||
	    buf_putc(&q, ')') < 0)
		goto oom;
	if (buf_puts(&parts, "INSERT INTO ") < 0 || conn_quote_ident(&parts, run->metadb) < 0 ||
	    buf_puts(&parts, ".copy_state (task, db, tbl, part, lo, hi) VALUES ") < 0)
		goto oom;
	for (i = 0; i < nparts; i++) {
		const char *lo = i ? cuts[i - 1] : NULL, *hi = i + 1 < nparts ? cuts[i] : NULL;
		if (buf_puts(&parts, i ? ", (" : "(") < 0 ||
		    conn_quote_string(&parts, dst, run->s->name, strlen(run->s->name)) < 0 ||
		    buf_puts(&parts, ", ") < 0 ||
		    conn_quote_string(&parts, dst, t->db, strlen(t->db)) < 0 ||
		    buf_puts(&parts, ", ") < 0 ||
		    conn_quote_string(&parts, dst, t->table, strlen(t->table)) < 0 ||
		    buf_printf(&parts, ", %zu, ", i) < 0 ||
		    (lo ? conn_quote_string(&parts, dst, lo, strlen(lo))
			: buf_puts(&parts, "NULL")) < 0 ||
		    buf_puts(&parts, ", ") < 0 ||
		    (hi ? conn_quote_string(&parts, dst, hi, strlen(hi))
			: buf_puts(&parts, "NULL")) < 0 ||
		    buf_putc(&parts, ')') < 0)
			goto oom;
	}
	if ((r = conn_exec(dst, "START TRANSACTION", err)) < 0)
		goto out;
	if ((r = conn_exec(dst, buf_cstr(&q), err)) < 0 ||
	    (r = conn_exec(dst, buf_cstr(&parts), err)) < 0)
		(void)mysql_query(dst, "ROLLBACK");
	if (r < 0 || (r = meta_commit(dst, run->s->name, run->io->lock_holder, err)) < 0) {
		err_prefix(err, "planning the copy of %s.%s", t->db, t->table);
		goto out;
	}
	if (nparts > 1)
		log_info(run->s->name, "full copy: %s.%s in %zu parts", t->db, t->table, nparts);
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	util_strv_free(cuts, nparts > 0 ? nparts - 1 : 0);
	buf_release(&idx);
	buf_release(&q);
	buf_release(&parts);
	return r;
}

/* Loads the plan of every table (making it the first time) into run->parts;
 * tables already copied are counted as such. */
static int plan(struct copy_run *run, MYSQL *src, MYSQL *dst, struct gw_err *err)
{
	struct action_io *io = run->io;
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *len;
	size_t i;
	int r = 0;

	for (i = 0; i < run->ntables; i++) {
		struct tstate *ts = &run->ts[i];
		const struct table *t = ts->t;
		bool found = false, done = false;
		size_t first = run->nparts;

		ts->int_key = t->nkey == 1 && table_key_col(t, 0)->integer;
		for (int attempt = 0; attempt < 2 && !found; attempt++) {
			buf_reset(&q);
			if (buf_puts(&q, "SELECT indexes, done, rows_copied FROM ") < 0 ||
			    conn_quote_ident(&q, run->metadb) < 0 ||
			    buf_puts(&q, ".copy_table") < 0 || state_where(&q, dst, run, t) < 0)
				goto oom;
			if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the copy checkpoint",
					    err)) < 0)
				goto out;
			if ((row = mysql_fetch_row(res))) {
				found = true;
				done = row[1][0] == '1';
				if (row[0] && !(ts->indexes = strdup(row[0])))
					goto oom;
				if (done) {
					uint64_t n = strtoull(row[2], NULL, 10);
					atomic_fetch_add(&io->progress->rows_done, n);
					atomic_fetch_add(&io->progress->tables_done, 1);
					if (ts->pt) {
						atomic_store(&ts->pt->rows_done, n);
						atomic_store(&ts->pt->finished_mono_ms,
							     util_now_mono_ms());
					}
				}
			}
			mysql_free_result(res);
			res = NULL;
			if (!found && (r = plan_new(run, src, dst, ts, err)) < 0)
				goto out;
		}
		if (done)
			continue;
		buf_reset(&q);
		if (buf_puts(&q, "SELECT part, lo, hi, last_key, rows_copied, done FROM ") < 0 ||
		    conn_quote_ident(&q, run->metadb) < 0 || buf_puts(&q, ".copy_state") < 0 ||
		    state_where(&q, dst, run, t) < 0 || buf_puts(&q, " ORDER BY part") < 0)
			goto oom;
		if ((r = conn_query(&res, dst, buf_cstr(&q), "reading the copy checkpoint", err)) <
		    0)
			goto out;
		while ((row = mysql_fetch_row(res))) {
			struct part *p;
			len = mysql_fetch_lengths(res);
			if (!(p = realloc(run->parts, (run->nparts + 1) * sizeof(*p))))
				goto oom;
			run->parts = p;
			p = &run->parts[run->nparts++];
			memset(p, 0, sizeof(*p));
			p->ts = ts;
			p->no = (int)strtol(row[0], NULL, 10);
			p->rows = strtoull(row[4], NULL, 10);
			p->done = row[5][0] == '1';
			if ((row[1] && t->nkey &&
			     plan_key_split(&p->lo, row[1], len[1], t->nkey) < 0) ||
			    (row[2] && t->nkey &&
			     plan_key_split(&p->hi, row[2], len[2], t->nkey) < 0))
				goto oom;
			if (row[3] && len[3] && t->nkey &&
			    plan_key_split(&p->last, row[3], len[3], t->nkey) < 0)
				goto oom;
			atomic_fetch_add(&io->progress->rows_done, p->rows);
			if (ts->pt)
				atomic_fetch_add(&ts->pt->rows_done, p->rows);
			if (!p->done)
				ts->parts_left++;
		}
		mysql_free_result(res);
		res = NULL;
		if (run->nparts == first) {
			r = err_set(err, GW_EFATAL,
				    "table %s.%s: the copy checkpoint has no parts: delete its "
				    "rows from %s.copy_table to copy it again",
				    t->db, t->table, run->metadb);
			goto out;
		}
		if (ts->parts_left == 0) {
			/* A crash after the last chunk, before the indexes. */
			if ((r = finish_table(run, dst, ts, err)) < 0)
				goto out;
			continue;
		}
		if ((r = alter_indexes(dst, ts, INDEXES_DROP, err)) < 0)
			goto out;
	}
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

/* --- workers ------------------------------------------------------------ */

static void *worker(void *arg)
{
	struct copy_run *run = arg;
	struct gw_err err = GW_ERR_INIT;
	MYSQL *src = NULL, *dst = NULL;
	int r;

	if ((r = conn_open(&src, &run->s->source, "source", CONN_DEFAULT, run->s->name, &err)) <
		0 ||
	    (r = conn_open(&dst, &run->s->destination, "destination",
			   run->use_load ? CONN_LOCAL_INFILE : CONN_DEFAULT, run->s->name, &err)) <
		0)
		goto out;
	/* Rows only: FKs are created after the copy, triggers at cutover;
	 * every row comes from a table whose keys already hold them unique. */
	if ((r = conn_exec(dst, "SET SESSION foreign_key_checks = 0, unique_checks = 0", &err)) < 0)
		goto out;
	for (;;) {
		struct part *p = NULL;
		pthread_mutex_lock(&run->mu);
		while (!run->failed && run->next < run->nparts && !p) {
			p = &run->parts[run->next++];
			if (p->done)
				p = NULL;
		}
		pthread_mutex_unlock(&run->mu);
		if (!p)
			break;
		if (p->ts->pt)
			(void)atomic_compare_exchange_strong(&p->ts->pt->started_mono_ms,
							     &(int64_t){0}, util_now_mono_ms());
		progress_set_detail(run->io->progress, "copying %s.%s", p->ts->t->db,
				    p->ts->t->table);
		if ((r = copy_part(run, src, dst, p, &err)) < 0)
			break;
		pthread_mutex_lock(&run->mu);
		bool last = --p->ts->parts_left == 0;
		pthread_mutex_unlock(&run->mu);
		if (last && (r = finish_table(run, dst, p->ts, &err)) < 0)
			break;
	}
out:
	if (r < 0) {
		pthread_mutex_lock(&run->mu);
		if (!run->failed) {
			run->failed = r;
			run->err = err;
		}
		pthread_mutex_unlock(&run->mu);
	}
	if (src)
		mysql_close(src);
	if (dst)
		mysql_close(dst);
	return NULL;
}

/* What the precheck refuses, refused again: the copy of a table that
 * cannot be addressed on the destination, or has nothing to copy. */
static int check_tables(const struct copy_run *run, struct gw_err *err)
{
	size_t i;

	for (i = 0; i < run->ntables; i++) {
		const struct table *t = &run->tables[i];
		if (!t->ncopied)
			return err_set(err, GW_EFATAL, "table %s.%s: no column to copy", t->db,
				       t->table);
		if (t->key_unselected)
			return err_set(err, GW_EFATAL,
				       "table %s.%s: the column list leaves out key column %s",
				       t->db, t->table, t->key_unselected);
	}
	return 0;
}

/* Whether the destination takes LOAD DATA LOCAL INFILE (local_infile). */
static int probe_load(bool *out, MYSQL *dst, struct gw_err *err)
{
	struct buf v = BUF_INIT;
	bool found;
	int r;

	*out = false;
	if ((r = conn_query_value(&v, &found, dst, "SELECT @@GLOBAL.local_infile", err)) < 0)
		return r;
	*out = found && (!strcmp(buf_cstr(&v), "1") || !strcasecmp(buf_cstr(&v), "ON"));
	buf_release(&v);
	return 0;
}

int engine_full(struct action_io *io)
{
	struct copy_run run;
	MYSQL *src = NULL, *dst = NULL;
	pthread_t *threads = NULL;
	struct progress_table *pt;
	size_t i, nworkers = 0;
	uint64_t total = 0;
	int r;

	memset(&run, 0, sizeof(run));
	run.io = io;
	run.s = io->spec;
	run.metadb = meta_database_of(io->spec);
	pthread_mutex_init(&run.mu, NULL);
	if (!(io->spec->migration_types & MT_INCREMENTAL))
		(void)snprintf(io->warning, sizeof(io->warning), "%s",
			       WARN_FULL_WITHOUT_INCREMENTAL);
	if ((r = conn_open(&src, &io->spec->source, "source", CONN_DEFAULT, io->task, &io->err)) <
		0 ||
	    (r = conn_open(&dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task,
			   &io->err)) < 0)
		goto out;
	if ((r = meta_ensure(dst, run.metadb, &io->err)) < 0 ||
	    (r = ensure_state_tables(dst, run.metadb, &io->err)) < 0)
		goto out;
	/* Before the first row is read. */
	if ((r = record_handoff(src, dst, &run, &io->err)) < 0)
		goto out;
	if ((r = table_list(&run.tables, &run.ntables, src, io->spec, TABLE_MISSING_FAILS,
			    &io->err)) < 0 ||
	    (r = check_tables(&run, &io->err)) < 0)
		goto out;
	if ((r = probe_load(&run.use_load, dst, &io->err)) < 0)
		goto out;
	if (!run.use_load)
		log_info(io->task, "full copy: the destination has local_infile off: writing "
				   "with INSERT (slower)");
	if (run.ntables && !(run.ts = calloc(run.ntables, sizeof(*run.ts)))) {
		r = err_set(&io->err, GW_ENOMEM, "out of memory");
		goto out;
	}
	atomic_store(&io->progress->rows_done, 0);
	atomic_store(&io->progress->bytes_done, 0);
	atomic_store(&io->progress->tables_done, 0);
	pt = progress_tables_set(io->progress, run.ntables);
	for (i = 0; i < run.ntables; i++) {
		run.ts[i].t = &run.tables[i];
		total += run.tables[i].est_rows;
		if (pt) {
			run.ts[i].pt = &pt[i];
			(void)snprintf(pt[i].name, sizeof(pt[i].name), "%s.%s", run.tables[i].db,
				       run.tables[i].table);
			atomic_store(&pt[i].rows_total, run.tables[i].est_rows);
		}
	}
	atomic_store(&io->progress->rows_total, total);
	atomic_store(&io->progress->tables_total, run.ntables);
	if ((r = plan(&run, src, dst, &io->err)) < 0)
		goto out;
	nworkers = io->spec->parallelism > 0 ? (size_t)io->spec->parallelism : 1;
	if (nworkers > run.nparts)
		nworkers = run.nparts;
	if (nworkers && !(threads = calloc(nworkers, sizeof(*threads)))) {
		r = err_set(&io->err, GW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&threads[i], NULL, worker, &run) != 0) {
			nworkers = i;
			pthread_mutex_lock(&run.mu);
			run.failed = GW_ERETRY;
			err_set(&run.err, GW_ERETRY, "full copy: cannot start a worker thread");
			pthread_mutex_unlock(&run.mu);
			break;
		}
	for (i = 0; i < nworkers; i++)
		pthread_join(threads[i], NULL);
	if (run.failed) {
		r = run.failed;
		io->err = run.err;
		goto out;
	}
	/* The estimate was an estimate: the total is what was copied. */
	atomic_store(&io->progress->rows_total, atomic_load(&io->progress->rows_done));
	for (i = 0; pt && i < run.ntables; i++)
		atomic_store(&pt[i].rows_total, atomic_load(&pt[i].rows_done));
	progress_set_detail(io->progress, "full copy done: %llu rows in %zu tables",
			    (unsigned long long)atomic_load(&io->progress->rows_done), run.ntables);
	r = 0;
out:
	free(threads);
	for (i = 0; i < run.nparts; i++) {
		util_strv_free(run.parts[i].lo, run.parts[i].ts->t->nkey);
		util_strv_free(run.parts[i].hi, run.parts[i].ts->t->nkey);
		util_strv_free(run.parts[i].last, run.parts[i].ts->t->nkey);
	}
	free(run.parts);
	for (i = 0; run.ts && i < run.ntables; i++)
		free(run.ts[i].indexes);
	free(run.ts);
	table_list_free(run.tables, run.ntables);
	if (src)
		mysql_close(src);
	if (dst)
		mysql_close(dst);
	pthread_mutex_destroy(&run.mu);
	return r;
}
