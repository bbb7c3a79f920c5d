/*
 * Data verification: source and destination compared chunk by chunk, each
 * server computing a checksum of the chunk itself, so only numbers cross
 * the network. A chunk is a key range walked on the source; the same range
 * is summed on the destination (its names: renames applied; the source
 * side applies the row filter). A chunk that differs is checked again
 * after a short pause (a change may be in flight through the incremental
 * migration), and only then drilled into, row by row, to name the keys
 * that differ. A table without a key is one chunk, and its rows are a
 * multiset: equal when every distinct row appears as many times on both
 * sides; a difference names the rows whose counts differ.
 *
 * The row encoding: CONCAT_WS of every copied column with an ISNULL marker
 * and its length (so NULL and '' differ, and no value can shift into the
 * next), CRC32'd; a chunk's checksum is
 * COUNT, BIT_XOR and SUM of the row CRCs (SUM keeps duplicate rows of
 * keyless tables from cancelling out).
 */
#include "lib/common.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "engine/table.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define VERIFY_CHUNK 2000
#define RECHECK_MS 1000
#define MAX_KEYS_LISTED 20

/* CRC32(CONCAT_WS('#', ISNULL(c1), LENGTH(c1), c1, ...)) over source or
 * destination names: the marker and the length make the encoding
 * unambiguous (NULL against '', 'a#' 'b' against 'a' '#b'). */
static const char *side_name(const struct table_col *c, enum table_side side)
{
	return side == TABLE_DEST ? c->dest_name : c->name;
}

static int row_crc(struct buf *b, const struct table *t, enum table_side side)
{
	size_t i;

	if (buf_puts(b, "CRC32(CONCAT_WS('#'") < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncopied; i++) {
		const struct table_col *c = &t->cols[t->copied[i]];
		const char *n = side_name(c, side);
		if (buf_puts(b, ", ISNULL(") < 0 || conn_quote_ident(b, n) < 0 ||
		    buf_puts(b, "), LENGTH(") < 0 || table_select_col(b, c, n) < 0 ||
		    buf_puts(b, "), ") < 0 || table_select_col(b, c, n) < 0)
			return GW_ENOMEM;
	}
	return buf_puts(b, "))");
}

/* The key expression "key > lo AND NOT key > hi" with names of one side. */
static int range_where(struct buf *b, const struct table *t, enum table_side side, char *const *lo,
		       char *const *hi)
{
	if (lo && table_key_after(b, t, side, lo) < 0)
		return GW_ENOMEM;
	if (hi && ((lo && buf_puts(b, " AND ") < 0) || buf_puts(b, "NOT ") < 0 ||
		   table_key_after(b, t, side, hi) < 0))
		return GW_ENOMEM;
	return 0;
}

struct sums {
	char count[32];
	char xor [32];
	char sum[48];
};

static int chunk_sums(struct sums *out, MYSQL *m, const struct table *t, enum table_side side,
		      char *const *lo, char *const *hi, struct gw_err *err)
{
	const char *filter = side == TABLE_SOURCE && t->tsel ? t->tsel->where : NULL;
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int r = GW_ENOMEM;

	memset(out, 0, sizeof(*out));
	if (buf_puts(&q,
		     "SELECT COUNT(*), IFNULL(BIT_XOR(c), 0), IFNULL(SUM(c), 0) FROM (SELECT ") <
		0 ||
	    row_crc(&q, t, side) < 0 || buf_puts(&q, " AS c FROM ") < 0 ||
	    table_name(&q, t, side) < 0)
		goto oom;
	if (filter || lo || hi) {
		if (buf_puts(&q, " WHERE ") < 0)
			goto oom;
		if (filter && buf_printf(&q, "(%s)%s", filter, lo || hi ? " AND " : "") < 0)
			goto oom;
		if ((lo || hi) && range_where(&q, t, side, lo, hi) < 0)
			goto oom;
	}
	if (buf_puts(&q, ") x") < 0)
		goto oom;
	if ((r = conn_query(&res, m, buf_cstr(&q),
			    side == TABLE_DEST ? "checksum on the destination"
					       : "checksum on the source",
			    err)) < 0)
		goto out;
	if ((row = mysql_fetch_row(res))) {
		(void)snprintf(out->count, sizeof(out->count), "%s", row[0] ? row[0] : "0");
		(void)snprintf(out->xor, sizeof(out->xor), "%s", row[1] ? row[1] : "0");
		(void)snprintf(out->sum, sizeof(out->sum), "%s", row[2] ? row[2] : "0");
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

static bool sums_equal(const struct sums *a, const struct sums *b)
{
	return !strcmp(a->count, b->count) && !strcmp(a->xor, b->xor) && !strcmp(a->sum, b->sum);
}

/* The upper key of the next chunk after lo (NULL: no more rows). */
static int next_boundary(char ***hi_out, MYSQL *src, const struct table *t, char *const *lo,
			 struct gw_err *err)
{
	const char *filter = t->tsel ? t->tsel->where : NULL;
	struct buf q = BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *len;
	size_t k;
	int r = GW_ENOMEM;

	*hi_out = NULL;
	if (buf_puts(&q, "SELECT ") < 0 || table_key_list(&q, t, TABLE_SOURCE) < 0 ||
	    buf_puts(&q, " FROM ") < 0 || table_name(&q, t, TABLE_SOURCE) < 0)
		goto oom;
	if (filter || lo) {
		if (buf_puts(&q, " WHERE ") < 0 ||
		    (filter && buf_printf(&q, "(%s)%s", filter, lo ? " AND " : "") < 0) ||
		    (lo && table_key_after(&q, t, TABLE_SOURCE, lo) < 0))
			goto oom;
	}
	if (buf_puts(&q, " ORDER BY ") < 0 || table_key_list(&q, t, TABLE_SOURCE) < 0 ||
	    buf_printf(&q, " LIMIT %d, 1", VERIFY_CHUNK - 1) < 0)
		goto oom;
	if ((r = conn_query(&res, src, buf_cstr(&q), "walking the source's keys", err)) < 0)
		goto out;
	if ((row = mysql_fetch_row(res))) {
		char **hi = calloc(t->nkey, sizeof(*hi));
		len = mysql_fetch_lengths(res);
		if (!hi)
			goto oom;
		for (k = 0; k < t->nkey; k++) {
			struct buf lit = BUF_INIT;
			if (table_literal(&lit, table_key_col(t, k), row[k], len[k]) < 0) {
				buf_release(&lit);
				util_strv_free(hi, t->nkey);
				goto oom;
			}
			hi[k] = buf_detach(&lit, NULL);
		}
		*hi_out = hi;
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

static int report_key(struct buf *report, const char *key, const char *what)
{
	if (buf_puts(report, "      - {key: ") < 0 || yaml_str(report, key) < 0 ||
	    buf_printf(report, ", row: %s}\n", what) < 0)
		return GW_ENOMEM;
	return 0;
}

/* Row-level comparison of one range: appends the keys that differ. */
static int drill(struct buf *report, size_t *listed, MYSQL *src, MYSQL *dst, const struct table *t,
		 char *const *lo, char *const *hi, struct gw_err *err)
{
	struct buf qs = BUF_INIT, qd = BUF_INIT;
	MYSQL_RES *rs = NULL, *rd = NULL;
	MYSQL_ROW a = NULL, b = NULL;
	const char *filter = t->tsel ? t->tsel->where : NULL;
	size_t k;
	int r = GW_ENOMEM;

	for (int i = 0; i < 2; i++) {
		enum table_side side = i ? TABLE_DEST : TABLE_SOURCE;
		struct buf *q = i ? &qd : &qs;
		if (buf_puts(q, "SELECT CONCAT_WS(', '") < 0)
			goto oom;
		for (k = 0; k < t->nkey; k++)
			if (buf_puts(q, ", ") < 0 ||
			    conn_quote_ident(q, side_name(table_key_col(t, k), side)) < 0)
				goto oom;
		if (buf_puts(q, "), ") < 0 || row_crc(q, t, side) < 0 ||
		    buf_puts(q, " FROM ") < 0 || table_name(q, t, side) < 0 ||
		    buf_puts(q, " WHERE 1") < 0)
			goto oom;
		if (side == TABLE_SOURCE && filter && buf_printf(q, " AND (%s)", filter) < 0)
			goto oom;
		if ((lo || hi) && (buf_puts(q, " AND ") < 0 || range_where(q, t, side, lo, hi) < 0))
			goto oom;
		if (buf_puts(q, " ORDER BY ") < 0 || table_key_list(q, t, side) < 0)
			goto oom;
	}
	if ((r = conn_query(&rs, src, buf_cstr(&qs), "reading source rows", err)) < 0 ||
	    (r = conn_query(&rd, dst, buf_cstr(&qd), "reading destination rows", err)) < 0)
		goto out;
	/* A range holds at most VERIFY_CHUNK source rows: compare by key. */
	{
		my_ulonglong ns = mysql_num_rows(rs), nd = mysql_num_rows(rd), i, j;
		bool *seen = calloc(nd ? nd : 1, sizeof(*seen));
		if (!seen)
			goto oom;
		for (i = 0; i < ns && *listed < MAX_KEYS_LISTED; i++) {
			const char *what = "missing on the destination";
			mysql_data_seek(rs, i);
			a = mysql_fetch_row(rs);
			for (j = 0; j < nd; j++) {
				if (seen[j])
					continue;
				mysql_data_seek(rd, j);
				b = mysql_fetch_row(rd);
				if (!strcmp(a[0], b[0])) {
					seen[j] = true;
					what = strcmp(a[1], b[1]) ? "differs" : NULL;
					break;
				}
			}
			if (what) {
				if (report_key(report, a[0], what) < 0) {
					free(seen);
					goto oom;
				}
				(*listed)++;
			}
		}
		for (j = 0; j < nd && *listed < MAX_KEYS_LISTED; j++) {
			if (seen[j])
				continue;
			mysql_data_seek(rd, j);
			b = mysql_fetch_row(rd);
			if (report_key(report, b[0], "only on the destination") < 0) {
				free(seen);
				goto oom;
			}
			(*listed)++;
		}
		free(seen);
	}
	r = 0;
	goto out;
oom:
	r = err_set(err, GW_ENOMEM, "out of memory");
out:
	if (rs)
		mysql_free_result(rs);
	if (rd)
		mysql_free_result(rd);
	buf_release(&qs);
	buf_release(&qd);
	return r;
}

/* SELECT crc, COUNT(*), a sample of the row's text FROM t GROUP BY crc
 * ORDER BY crc: the multiset of a keyless table's rows, streamed. */
static int multiset_sql(struct buf *q, const struct table *t, enum table_side side)
{
	const char *filter = side == TABLE_SOURCE && t->tsel ? t->tsel->where : NULL;
	size_t i;

	if (buf_puts(q, "SELECT c, COUNT(*), MIN(v) FROM (SELECT ") < 0 ||
	    row_crc(q, t, side) < 0 || buf_puts(q, " AS c, LEFT(CONCAT_WS(', '") < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncopied; i++)
		if (buf_puts(q, ", ") < 0 ||
		    conn_quote_ident(q, side_name(&t->cols[t->copied[i]], side)) < 0)
			return GW_ENOMEM;
	if (buf_puts(q, "), 200) AS v FROM ") < 0 || table_name(q, t, side) < 0 ||
	    (filter && buf_printf(q, " WHERE (%s)", filter) < 0) ||
	    buf_puts(q, ") x GROUP BY c ORDER BY c") < 0)
		return GW_ENOMEM;
	return 0;
}

/*
 * A keyless table compared as multisets: both sides' rows grouped by
 * their checksum, in checksum order, merged as they stream in (memory
 * bounded by a row, whatever the table). Appends the rows whose counts
 * differ.
 */
static int drill_multiset(struct buf *report, size_t *listed, MYSQL *src, MYSQL *dst,
			  const struct table *t, struct gw_err *err)
{
	struct buf qs = BUF_INIT, qd = BUF_INIT;
	MYSQL_RES *rs = NULL, *rd = NULL;
	MYSQL_ROW a, b;
	int r;

	if (multiset_sql(&qs, t, TABLE_SOURCE) < 0 || multiset_sql(&qd, t, TABLE_DEST) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (mysql_real_query(src, qs.ptr, qs.len) || !(rs = mysql_use_result(src))) {
		r = conn_error(err, src, "reading source rows");
		goto out;
	}
	if (mysql_real_query(dst, qd.ptr, qd.len) || !(rd = mysql_use_result(dst))) {
		r = conn_error(err, dst, "reading destination rows");
		goto out;
	}
	a = mysql_fetch_row(rs);
	b = mysql_fetch_row(rd);
	while ((a || b) && *listed < MAX_KEYS_LISTED) {
		unsigned long long ca = a ? strtoull(a[0], NULL, 10) : 0;
		unsigned long long cb = b ? strtoull(b[0], NULL, 10) : 0;
		const char *ns = "0", *nd = "0", *v;
		bool take_a = a && (!b || ca <= cb), take_b = b && (!a || cb <= ca);
		if (take_a)
			ns = a[1];
		if (take_b)
			nd = b[1];
		v = take_a ? a[2] : b[2];
		if (strcmp(ns, nd)) {
			if (buf_puts(report, "      - {row: ") < 0 ||
			    yaml_str(report, v ? v : "") < 0 ||
			    buf_printf(report, ", source: %s, destination: %s}\n", ns, nd) < 0) {
				r = err_set(err, GW_ENOMEM, "out of memory");
				goto out;
			}
			(*listed)++;
		}
		if (take_a)
			a = mysql_fetch_row(rs);
		if (take_b)
			b = mysql_fetch_row(rd);
	}
	r = 0;
	if (mysql_errno(src))
		r = conn_error(err, src, "reading source rows");
	else if (mysql_errno(dst))
		r = conn_error(err, dst, "reading destination rows");
out:
	/* (freeing a result that was not read to its end reads the rest) */
	if (rs)
		mysql_free_result(rs);
	if (rd)
		mysql_free_result(rd);
	buf_release(&qs);
	buf_release(&qd);
	return r;
}

/* Compares one range, re-checking once after a pause. *equal_out. */
static int compare_range(bool *equal_out, uint64_t *rows_out, MYSQL *src, MYSQL *dst,
			 const struct table *t, char *const *lo, char *const *hi,
			 volatile int *cancel, struct gw_err *err)
{
	struct sums a, b;
	int r, attempt;

	*equal_out = false;
	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt)
			util_sleep_ms(RECHECK_MS, cancel);
		if ((r = chunk_sums(&a, src, t, TABLE_SOURCE, lo, hi, err)) < 0 ||
		    (r = chunk_sums(&b, dst, t, TABLE_DEST, lo, hi, err)) < 0)
			return r;
		*rows_out = strtoull(a.count, NULL, 10);
		if (sums_equal(&a, &b)) {
			*equal_out = true;
			return 0;
		}
	}
	return 0;
}

static int verify_table(struct buf *report, bool *equal_out, MYSQL *src, MYSQL *dst,
			const struct table *t, struct progress *prog, volatile int *cancel,
			struct gw_err *err)
{
	uint64_t rows = 0;
	char **lo = NULL, **hi = NULL;
	size_t listed = 0;
	uint64_t chunks = 0;
	bool eq, header = false;
	int r = 0;

	*equal_out = true;
	for (;;) {
		if (*cancel)
			return err_set(err, GW_ECANCEL, "cancelled");
		if (t->nkey && (r = next_boundary(&hi, src, t, lo, err)) < 0)
			break;
		/* The last range is open above, so rows only the destination
		 * has past the source's last key are found too. */
		if ((r = compare_range(&eq, &rows, src, dst, t, t->nkey ? lo : NULL, hi, cancel,
				       err)) < 0)
			break;
		atomic_fetch_add(&prog->rows_done, rows);
		chunks++;
		if (!eq) {
			*equal_out = false;
			if (!header) {
				if (buf_printf(report, "  - table: %s.%s\n    differences:\n",
					       t->db, t->table) < 0) {
					r = err_set(err, GW_ENOMEM, "out of memory");
					break;
				}
				header = true;
			}
			r = t->nkey ? drill(report, &listed, src, dst, t, lo, hi, err)
				    : drill_multiset(report, &listed, src, dst, t, err);
			if (r < 0)
				break;
		}
		if (!hi)
			break;
		util_strv_free(lo, t->nkey);
		lo = hi;
		hi = NULL;
	}
	util_strv_free(lo, t->nkey);
	util_strv_free(hi, t->nkey);
	log_info(NULL, "verify: %s.%s: %llu chunks, %s%s", t->db, t->table,
		 (unsigned long long)chunks, *equal_out ? "equal" : "DIFFERENT",
		 t->nkey ? "" : " (no key: compared as multisets)");
	return r;
}

int engine_verify(struct action_io *io)
{
	struct table *tables = NULL;
	size_t n = 0, i, ndiff = 0;
	MYSQL *src = NULL, *dst = NULL;
	struct buf diffs = BUF_INIT;
	int r;

	if ((r = conn_open(&src, &io->spec->source, "source", CONN_DEFAULT, io->task, &io->err)) <
		0 ||
	    (r = conn_open(&dst, &io->spec->destination, "destination", CONN_DEFAULT, io->task,
			   &io->err)) < 0)
		goto out;
	if ((r = table_list(&tables, &n, src, io->spec, TABLE_MISSING_FAILS, &io->err)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if (tables[i].key_unselected) {
			r = err_set(&io->err, GW_EFATAL,
				    "table %s.%s: the column list leaves out key column %s",
				    tables[i].db, tables[i].table, tables[i].key_unselected);
			goto out;
		}
	{
		uint64_t total = 0;
		for (i = 0; i < n; i++)
			total += tables[i].est_rows;
		atomic_store(&io->progress->rows_total, total);
		atomic_store(&io->progress->tables_total, n);
	}
	for (i = 0; i < n; i++) {
		bool eq;
		progress_set_detail(io->progress, "verifying %s.%s", tables[i].db, tables[i].table);
		if ((r = verify_table(&diffs, &eq, src, dst, &tables[i], io->progress, io->cancel,
				      &io->err)) < 0) {
			err_prefix(&io->err, "verify %s.%s", tables[i].db, tables[i].table);
			goto out;
		}
		if (!eq)
			ndiff++;
		atomic_fetch_add(&io->progress->tables_done, 1);
	}
	if (buf_printf(&io->report, "verify:\n  tables: %zu\n  equal: %s\n", n,
		       ndiff ? "false" : "true") < 0 ||
	    (ndiff && (buf_puts(&io->report, "  differing:\n") < 0 ||
		       buf_add(&io->report, diffs.ptr, diffs.len) < 0))) {
		r = err_set(&io->err, GW_ENOMEM, "out of memory");
		goto out;
	}
	r = ndiff ? err_set(&io->err, GW_EFATAL, "verify: %zu of %zu tables differ", ndiff, n) : 0;
out:
	table_list_free(tables, n);
	buf_release(&diffs);
	if (src)
		mysql_close(src);
	if (dst)
		mysql_close(dst);
	return r;
}
