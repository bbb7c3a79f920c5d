/*
 * The full data migration: every selected row from the source to the
 * destination, in chunks walked by key, resumable at chunk granularity.
 *
 * Hand-off to the incremental migration. Before the first row is read, the
 * source's binlog position is recorded in godwit_meta.binlog_position (once:
 * a resumed copy keeps the first). The incremental migration replays from
 * there, so every change made while the copy ran is replayed after it. The
 * replay is idempotent (writes are upserts with the full after image,
 * updates and deletes go by key), so whatever the copy read, older or newer
 * than a given change, the replay of the changes after the position leaves
 * each row as the source has it: a row the copy read before a change is
 * overwritten by the change; a row it read after the change gets the same
 * image again; a row deleted after the copy read it is deleted by the
 * replay; a row inserted after the copy passed its key is inserted by it.
 * This is the argument of Ghostferry's TLA+ model and of Vitess's
 * VReplication copy phase, without their interleaving: here the replay
 * starts when the copy is done, which the argument allows.
 *
 * Checkpoints. godwit_meta.copy_state keeps, per table, the last key
 * copied; it is written in the same destination transaction as the chunk's
 * rows, so after a crash at any point the copy resumes from the last
 * committed chunk: nothing is copied twice and nothing is skipped. A table
 * without a usable key cannot be resumed by key: its copy restarts from an
 * empty destination table.
 *
 * Memory: one chunk per worker (LIMIT-bounded, and bounded in bytes by the
 * adaptive chunk size), whatever the table size.
 */
#include "lib/common.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/meta.h"
#include "engine/tableinfo.h"
#include "lib/log.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define CHUNK_MIN 100
#define CHUNK_MAX 20000
#define CHUNK_FIRST 500
#define CHUNK_TARGET_MS 400
#define STMT_MAX_BYTES (4u << 20)

struct copy_run {
	struct action_io *io;
	const struct spec *s;
	const char *metadb;
	struct table_info *tables;
	size_t ntables;
	pthread_mutex_t mu;
	size_t next;
	int failed;
	struct gw_err err;
	/* throttle: a one-second window */
	int64_t win_start;
	uint64_t win_rows;
	uint64_t win_bytes;
};

static const char *metadb_of(const struct spec *s)
{
	return s->destination.meta_database ? s->destination.meta_database : META_DEFAULT_DB;
}

/* Records where the incremental migration will replay from, once. */
static int record_handoff(MYSQL *src, MYSQL *dst, const struct copy_run *run, struct gw_err *err)
{
	struct binlog_pos pos;
	struct buf v = BUF_INIT, sql = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long ver;
	bool found, mariadb;
	int r;

	if ((r = meta_position_get(&pos, &found, dst, run->metadb, run->s->name, err)) < 0 || found)
		return r;
	memset(&pos, 0, sizeof(pos));
	conn_server_version(src, &ver, &mariadb);
	if (mariadb)
		r = conn_query_value(&v, &found, src, "SELECT @@GLOBAL.gtid_binlog_pos", err);
	else
		r = conn_query_value(
		    &v, &found, src,
		    "SELECT IF(@@GLOBAL.gtid_mode = 'ON', @@GLOBAL.gtid_executed, '')", err);
	if (r < 0)
		goto out;
	(void)snprintf(pos.gtid, sizeof(pos.gtid), "%s", buf_cstr(&v));
	if (mysql_query(src, "SHOW MASTER STATUS")) {
		r = conn_error(err, src, "reading the source's binlog position");
		goto out;
	}
	if ((res = mysql_store_result(src)) && (row = mysql_fetch_row(res)) && row[0]) {
		(void)snprintf(pos.file, sizeof(pos.file), "%s", row[0]);
		pos.pos = row[1] ? strtoull(row[1], NULL, 10) : 0;
	}
	if (!pos.file[0] && !pos.gtid[0]) {
		if (run->s->migration_types & MT_INCREMENTAL) {
			r = err_set(err, GW_EFATAL,
				    "the source has no binlog (log_bin is off): incremental "
				    "migration needs it");
			goto out;
		}
		r = 0; /* nothing to replay from, and nothing will replay */
		goto out;
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
	if (res)
		mysql_free_result(res);
	buf_release(&v);
	buf_release(&sql);
	return r;
}

static int ensure_state_table(MYSQL *dst, const char *metadb, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	int r;

	if (buf_puts(&q, "CREATE TABLE IF NOT EXISTS ") < 0 || conn_quote_ident(&q, metadb) < 0 ||
	    buf_puts(&q, ".copy_state ("
			 " task VARCHAR(63) NOT NULL, db VARCHAR(64) NOT NULL,"
			 " tbl VARCHAR(64) NOT NULL, last_key MEDIUMBLOB,"
			 " rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,"
			 " done TINYINT NOT NULL DEFAULT 0,"
			 " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
			 " PRIMARY KEY (task, db, tbl)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") < 0)
		r = err_set(err, GW_ENOMEM, "out of memory");
	else
		r = conn_exec(dst, buf_cstr(&q), err);
	buf_release(&q);
	return r;
}

struct checkpoint {
	bool found;
	bool done;
	uint64_t rows;
	char **last; /* nkey literals, or NULL */
};

static void checkpoint_release(struct checkpoint *c, size_t nkey)
{
	size_t i;

	if (c->last)
		for (i = 0; i < nkey; i++)
			free(c->last[i]);
	free(c->last);
	memset(c, 0, sizeof(*c));
}

static int state_where(struct buf *q, MYSQL *dst, const struct copy_run *run,
		       const struct table_info *t)
{
	if (buf_puts(q, " WHERE task = ") < 0 ||
	    conn_quote_string(q, dst, run->s->name, strlen(run->s->name)) < 0 ||
	    buf_puts(q, " AND db = ") < 0 || conn_quote_string(q, dst, t->db, strlen(t->db)) < 0 ||
	    buf_puts(q, " AND tbl = ") < 0 ||
	    conn_quote_string(q, dst, t->table, strlen(t->table)) < 0)
		return GW_ENOMEM;
	return 0;
}

static int checkpoint_load(struct checkpoint *out, MYSQL *dst, const struct copy_run *run,
			   const struct table_info *t, struct gw_err *err)
{
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *len;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (buf_puts(&q, "SELECT last_key, rows_copied, done FROM ") < 0 ||
	    conn_quote_ident(&q, run->metadb) < 0 || buf_puts(&q, ".copy_state") < 0 ||
	    state_where(&q, dst, run, t) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (mysql_real_query(dst, q.ptr, q.len) || !(res = mysql_store_result(dst))) {
		r = conn_error(err, dst, "reading the copy checkpoint");
		goto out;
	}
	if ((row = mysql_fetch_row(res))) {
		len = mysql_fetch_lengths(res);
		out->found = true;
		out->rows = strtoull(row[1], NULL, 10);
		out->done = row[2][0] == '1';
		if (row[0] && len[0] && t->nkey) {
			/* The literals, one per line (literals hold no newline). */
			const char *p = row[0], *end = row[0] + len[0];
			size_t i;
			if (!(out->last = calloc(t->nkey, sizeof(*out->last)))) {
				r = err_set(err, GW_ENOMEM, "out of memory");
				goto out;
			}
			for (i = 0; i < t->nkey; i++) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
				if (!(out->last[i] = strndup(p, n))) {
					r = err_set(err, GW_ENOMEM, "out of memory");
					goto out;
				}
				p = nl ? nl + 1 : end;
			}
		}
	}
out:
	if (res)
		mysql_free_result(res);
	buf_release(&q);
	return r;
}

/* The checkpoint statement: REPLACE INTO copy_state ... */
static int checkpoint_sql(struct buf *q, MYSQL *dst, const struct copy_run *run,
			  const struct table_info *t, char *const *last, uint64_t rows, bool done)
{
	struct buf key = BUF_INIT;
	size_t i;
	int r = GW_ENOMEM;

	for (i = 0; last && i < t->nkey; i++)
		if ((i && buf_putc(&key, '\n') < 0) || buf_puts(&key, last[i]) < 0)
			goto out;
	if (buf_puts(q, "REPLACE INTO ") < 0 || conn_quote_ident(q, run->metadb) < 0 ||
	    buf_puts(q, ".copy_state (task, db, tbl, last_key, rows_copied, done) VALUES (") < 0 ||
	    conn_quote_string(q, dst, run->s->name, strlen(run->s->name)) < 0 ||
	    buf_puts(q, ", ") < 0 || conn_quote_string(q, dst, t->db, strlen(t->db)) < 0 ||
	    buf_puts(q, ", ") < 0 || conn_quote_string(q, dst, t->table, strlen(t->table)) < 0 ||
	    buf_puts(q, ", ") < 0 || conn_quote_string(q, NULL, buf_cstr(&key), key.len) < 0 ||
	    buf_printf(q, ", %llu, %d)", (unsigned long long)rows, done ? 1 : 0) < 0)
		goto out;
	r = 0;
out:
	buf_release(&key);
	return r;
}

/* Runs the statements as one transaction. */
static int commit_chunk(MYSQL *dst, const struct buf *insert, const struct buf *ckpt,
			struct gw_err *err)
{
	int r;

	if ((r = conn_exec(dst, "START TRANSACTION", err)) < 0)
		return r;
	if (insert && insert->len && mysql_real_query(dst, insert->ptr, insert->len)) {
		r = conn_error(err, dst, "writing rows");
		goto rollback;
	}
	if ((r = conn_exec(dst, buf_cstr(ckpt), err)) < 0)
		goto rollback;
	return conn_exec(dst, "COMMIT", err);
rollback:
	(void)mysql_query(dst, "ROLLBACK");
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

/* INSERT ... VALUES (...) ON DUPLICATE KEY UPDATE c = VALUES(c), ... */
static int insert_head(struct buf *q, const struct table_info *t)
{
	if (buf_puts(q, "INSERT INTO ") < 0 || tableinfo_name(q, t, true) < 0 ||
	    buf_puts(q, " (") < 0 || tableinfo_column_list(q, t, true) < 0 ||
	    buf_puts(q, ") VALUES ") < 0)
		return GW_ENOMEM;
	return 0;
}

static int insert_tail(struct buf *q, const struct table_info *t)
{
	size_t i;

	if (buf_puts(q, " ON DUPLICATE KEY UPDATE ") < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncols; i++)
		if ((i && buf_puts(q, ", ") < 0) || conn_quote_ident(q, t->cols[i].dest_name) < 0 ||
		    buf_puts(q, " = VALUES(") < 0 ||
		    conn_quote_ident(q, t->cols[i].dest_name) < 0 || buf_putc(q, ')') < 0)
			return GW_ENOMEM;
	return 0;
}

/*
 * A table without a usable key streams in one read; batches are committed
 * as they fill. A crash restarts the table from empty (copy_table deletes
 * what an earlier attempt wrote), so no row is doubled.
 */
static int copy_keyless(struct copy_run *run, MYSQL *src, MYSQL *dst, struct table_info *t,
			uint64_t *rows, struct gw_err *err)
{
	struct action_io *io = run->io;
	struct buf sel = BUF_INIT, ins = BUF_INIT, cq = BUF_INIT;
	const char *where = t->tsel ? t->tsel->where : NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t n = 0, i;
	int r = 0;

	if (buf_puts(&sel, "SELECT ") < 0 || tableinfo_column_list(&sel, t, false) < 0 ||
	    buf_puts(&sel, " FROM ") < 0 || tableinfo_name(&sel, t, false) < 0 ||
	    (where && buf_printf(&sel, " WHERE (%s)", where) < 0))
		goto oom;
	if (mysql_real_query(src, sel.ptr, sel.len) || !(res = mysql_use_result(src))) {
		r = conn_error(err, src, "reading rows");
		goto out;
	}
	for (;;) {
		unsigned long *len;
		size_t before = ins.len;

		row = mysql_fetch_row(res);
		if (row) {
			len = mysql_fetch_lengths(res);
			if ((ins.len == 0 && insert_head(&ins, t) < 0) ||
			    (n && buf_putc(&ins, ',') < 0) || buf_putc(&ins, '(') < 0)
				goto oom;
			for (i = 0; i < t->ncols; i++)
				if ((i && buf_putc(&ins, ',') < 0) ||
				    tableinfo_literal(&ins, &t->cols[i], row[i], len[i]) < 0)
					goto oom;
			if (buf_putc(&ins, ')') < 0)
				goto oom;
			n++;
			atomic_fetch_add(&io->progress->bytes_done, ins.len - before);
		} else if (mysql_errno(src)) {
			r = conn_error(err, src, "reading rows");
			goto out;
		}
		if (row && ins.len < STMT_MAX_BYTES)
			continue;
		if (n) {
			if (insert_tail(&ins, t) < 0)
				goto oom;
			*rows += n;
			buf_reset(&cq);
			if (checkpoint_sql(&cq, dst, run, t, NULL, *rows, false) < 0)
				goto oom;
			if ((r = commit_chunk(dst, &ins, &cq, err)) < 0)
				goto out;
			atomic_fetch_add(&io->progress->rows_done, n);
			throttle(run, n, ins.len);
		}
		buf_reset(&ins);
		n = 0;
		if (!row)
			break;
		if (*io->cancel) {
			r = err_set(err, GW_ECANCEL, "cancelled");
			goto out;
		}
	}
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "table %s.%s: out of memory", t->db, t->table);
out:
	if (res)
		mysql_free_result(res);
	buf_release(&sel);
	buf_release(&ins);
	buf_release(&cq);
	return r;
}

static int copy_table(struct copy_run *run, MYSQL *src, MYSQL *dst, struct table_info *t,
		      struct gw_err *err)
{
	struct action_io *io = run->io;
	struct checkpoint ck;
	struct buf sel = BUF_INIT, ins = BUF_INIT, cq = BUF_INIT;
	char **last = NULL;
	MYSQL_RES *res = NULL;
	size_t chunk = CHUNK_FIRST, i;
	uint64_t rows = 0;
	const char *where = t->tsel ? t->tsel->where : NULL;
	int r;

	if ((r = checkpoint_load(&ck, dst, run, t, err)) < 0)
		return r;
	if (ck.done) {
		atomic_fetch_add(&io->progress->rows_done, ck.rows);
		atomic_fetch_add(&io->progress->tables_done, 1);
		checkpoint_release(&ck, t->nkey);
		return 0;
	}
	progress_set_detail(io->progress, "copying %s.%s", t->db, t->table);
	log_info(run->s->name, "full copy: %s.%s -> %s.%s%s", t->db, t->table, t->dest_db,
		 t->dest_table, ck.found ? " (resuming)" : "");
	rows = ck.rows;
	atomic_fetch_add(&io->progress->rows_done, rows);
	last = ck.last;
	ck.last = NULL;
	if (t->nkey == 0 && ck.found) {
		/* No key to resume by: start this table again from empty. */
		if ((r = conn_execf(dst, err, "DELETE FROM `%s`.`%s`", t->dest_db, t->dest_table)) <
		    0)
			goto out;
		atomic_fetch_sub(&io->progress->rows_done, rows);
		rows = 0;
	}
	if (t->nkey == 0) {
		/* Mark the attempt first, so that a crash is seen as one. */
		if (checkpoint_sql(&cq, dst, run, t, NULL, 0, false) < 0)
			goto oom;
		if ((r = commit_chunk(dst, NULL, &cq, err)) < 0 ||
		    (r = copy_keyless(run, src, dst, t, &rows, err)) < 0)
			goto out;
	}
	for (; t->nkey;) {
		MYSQL_ROW row;
		unsigned long *len;
		size_t n = 0, ncols = t->ncols;
		int64_t t0 = util_now_mono_ms(), dt;

		if (*io->cancel) {
			r = err_set(err, GW_ECANCEL, "cancelled");
			goto out;
		}
		buf_reset(&sel);
		buf_reset(&ins);
		buf_reset(&cq);
		if (buf_puts(&sel, "SELECT ") < 0 || tableinfo_column_list(&sel, t, false) < 0 ||
		    buf_puts(&sel, " FROM ") < 0 || tableinfo_name(&sel, t, false) < 0)
			goto oom;
		if (where || last) {
			if (buf_puts(&sel, " WHERE ") < 0)
				goto oom;
			if (where && buf_printf(&sel, "(%s)%s", where, last ? " AND " : "") < 0)
				goto oom;
			if (last && tableinfo_key_after(&sel, t, last) < 0)
				goto oom;
		}
		if (t->nkey) {
			if (buf_puts(&sel, " ORDER BY ") < 0 || tableinfo_key_list(&sel, t) < 0 ||
			    buf_printf(&sel, " LIMIT %zu", chunk) < 0)
				goto oom;
		}
		if (mysql_real_query(src, sel.ptr, sel.len)) {
			r = conn_error(err, src, "reading rows");
			goto out;
		}
		/* LIMIT bounds the result. */
		res = mysql_store_result(src);
		if (!res) {
			r = conn_error(err, src, "reading rows");
			goto out;
		}
		for (;;) {
			uint64_t bytes_before = ins.len;
			if (!(row = mysql_fetch_row(res)))
				break;
			len = mysql_fetch_lengths(res);
			if (ins.len == 0 && insert_head(&ins, t) < 0)
				goto oom_res;
			if (n && buf_putc(&ins, ',') < 0)
				goto oom_res;
			if (buf_putc(&ins, '(') < 0)
				goto oom_res;
			for (i = 0; i < ncols; i++)
				if ((i && buf_putc(&ins, ',') < 0) ||
				    tableinfo_literal(&ins, &t->cols[i], row[i], len[i]) < 0)
					goto oom_res;
			if (buf_putc(&ins, ')') < 0)
				goto oom_res;
			n++;
			atomic_fetch_add(&io->progress->bytes_done, ins.len - bytes_before);
			{
				if (n == mysql_num_rows(res)) {
					/* the last row: remember its key */
					char **nl = calloc(t->nkey, sizeof(*nl));
					size_t k;
					if (!nl)
						goto oom_res;
					for (k = 0; k < t->nkey; k++) {
						struct buf lit = BUF_INIT;
						const struct col_info *c = &t->cols[t->key[k]];
						if (tableinfo_literal(&lit, c, row[t->key[k]],
								      len[t->key[k]]) < 0) {
							buf_release(&lit);
							goto oom_res;
						}
						nl[k] = buf_detach(&lit, NULL);
					}
					if (last)
						for (k = 0; k < t->nkey; k++)
							free(last[k]);
					free(last);
					last = nl;
				}
			}
		}
		mysql_free_result(res);
		if (n == 0)
			break;
		if (n && insert_tail(&ins, t) < 0)
			goto oom;
		rows += n;
		if (checkpoint_sql(&cq, dst, run, t, last, rows, false) < 0)
			goto oom;
		if ((r = commit_chunk(dst, &ins, &cq, err)) < 0) {
			err_prefix(err, "table %s.%s", t->dest_db, t->dest_table);
			goto out;
		}
		atomic_fetch_add(&io->progress->rows_done, n);
		throttle(run, n, ins.len);
		/* Adapt the chunk to ~CHUNK_TARGET_MS and STMT_MAX_BYTES. */
		dt = util_now_mono_ms() - t0;
		if (n == chunk) {
			size_t by_time = dt > 0 ? chunk * CHUNK_TARGET_MS / (size_t)dt : chunk * 2;
			size_t by_bytes = ins.len ? chunk * STMT_MAX_BYTES / ins.len : CHUNK_MAX;
			size_t want = by_time < by_bytes ? by_time : by_bytes;
			if (want > chunk * 2)
				want = chunk * 2;
			chunk = want < CHUNK_MIN ? CHUNK_MIN : want > CHUNK_MAX ? CHUNK_MAX : want;
		} else {
			break; /* a short chunk is the last one */
		}
	}
	buf_reset(&cq);
	if (checkpoint_sql(&cq, dst, run, t, last, rows, true) < 0)
		goto oom;
	if ((r = commit_chunk(dst, NULL, &cq, err)) < 0)
		goto out;
	atomic_fetch_add(&io->progress->tables_done, 1);
	log_info(run->s->name, "full copy: %s.%s done, %llu rows", t->db, t->table,
		 (unsigned long long)rows);
	r = 0;
	goto out;
oom_res:
	mysql_free_result(res);
oom:
	r = err_set(err, GW_ENOMEM, "table %s.%s: out of memory", t->db, t->table);
out:
	if (last)
		for (i = 0; i < t->nkey; i++)
			free(last[i]);
	free(last);
	checkpoint_release(&ck, t->nkey);
	buf_release(&sel);
	buf_release(&ins);
	buf_release(&cq);
	return r;
}

static void *worker(void *arg)
{
	struct copy_run *run = arg;
	struct gw_err err = GW_ERR_INIT;
	MYSQL *src = NULL, *dst = NULL;
	int r;

	if ((r = conn_open(&src, &run->s->source, "source", CONN_DEFAULT, run->s->name, &err)) <
		0 ||
	    (r = conn_open(&dst, &run->s->destination, "destination", CONN_DEFAULT, run->s->name,
			   &err)) < 0)
		goto out;
	/* Rows only: FKs are created after the copy, triggers at cutover. */
	if ((r = conn_exec(dst, "SET SESSION foreign_key_checks = 0, unique_checks = 0", &err)) < 0)
		goto out;
	if ((r = conn_exec(src, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", &err)) <
	    0)
		goto out;
	for (;;) {
		struct table_info *t = NULL;
		pthread_mutex_lock(&run->mu);
		if (!run->failed && run->next < run->ntables)
			t = &run->tables[run->next++];
		pthread_mutex_unlock(&run->mu);
		if (!t)
			break;
		if ((r = copy_table(run, src, dst, t, &err)) < 0)
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

int engine_full(struct action_io *io)
{
	struct copy_run run;
	MYSQL *src = NULL, *dst = NULL;
	pthread_t *threads = NULL;
	size_t i, nworkers = 0;
	uint64_t total = 0;
	int r;

	memset(&run, 0, sizeof(run));
	run.io = io;
	run.s = io->spec;
	run.metadb = metadb_of(io->spec);
	pthread_mutex_init(&run.mu, NULL);
	if (!(io->spec->migration_types & MT_INCREMENTAL))
		(void)snprintf(io->warning, sizeof(io->warning),
			       "no incremental migration: writes to the source during the full "
			       "copy may be missed");
	if ((r = conn_open(&src, &io->spec->source, "source", CONN_DEFAULT, io->task, &io->err)) <
		0 ||
	    (r = conn_open(&dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task,
			   &io->err)) < 0)
		goto out;
	if ((r = meta_ensure(dst, run.metadb, &io->err)) < 0 ||
	    (r = ensure_state_table(dst, run.metadb, &io->err)) < 0)
		goto out;
	/* Before the first row is read. */
	if ((r = record_handoff(src, dst, &run, &io->err)) < 0)
		goto out;
	if ((r = tableinfo_list(&run.tables, &run.ntables, src, io->spec, &io->err)) < 0)
		goto out;
	for (i = 0; i < run.ntables; i++)
		total += run.tables[i].est_rows;
	atomic_store(&io->progress->rows_total, total);
	atomic_store(&io->progress->tables_total, run.ntables);
	atomic_store(&io->progress->rows_done, 0);
	atomic_store(&io->progress->tables_done, 0);
	nworkers = io->spec->parallelism > 0 ? (size_t)io->spec->parallelism : 1;
	if (nworkers > run.ntables)
		nworkers = run.ntables;
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
	progress_set_detail(io->progress, "full copy done: %llu rows in %zu tables",
			    (unsigned long long)atomic_load(&io->progress->rows_done), run.ntables);
	r = 0;
out:
	free(threads);
	tableinfo_free_list(run.tables, run.ntables);
	if (src)
		mysql_close(src);
	if (dst)
		mysql_close(dst);
	pthread_mutex_destroy(&run.mu);
	return r;
}
