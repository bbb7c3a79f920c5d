/*
 * Test helper: decodes binlog files with the engine's decoder and prints
 * SQL that replays the row events of one table onto another table, with
 * binlog_value_sql() literals. Usage: binlog_replay DB TABLE TARGET FILE...
 * (run the output on a session with character set binary).
 */
#include "lib/common.h"
#include "binlog/binlog.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int image(struct buf *sql, const struct bl_table *t, const struct bl_value *vals)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if ((i && buf_putc(sql, ',') < 0) ||
		    binlog_value_sql(sql, &vals[i], &t->cols[i]) < 0)
			return -1;
	return 0;
}

static int emit(const struct binlog_event *ev, const char *db, const char *table,
		const char *target)
{
	struct buf sql = BUF_INIT;
	size_t r;
	int rc = 0;

	if (ev->kind != BK_WRITE_ROWS && ev->kind != BK_UPDATE_ROWS && ev->kind != BK_DELETE_ROWS)
		return 0;
	if (strcmp(ev->table->db, db) != 0 || strcmp(ev->table->table, table) != 0)
		return 0;
	for (r = 0; r < ev->nrows && rc == 0; r++) {
		const struct bl_row *row = &ev->rows[r];

		buf_reset(&sql);
		if (row->before) {
			rc |= buf_printf(&sql, "DELETE FROM %s WHERE %s = ", target,
					 ev->table->cols[0].name ? ev->table->cols[0].name : "id");
			rc |= binlog_value_sql(&sql, &row->before[0], &ev->table->cols[0]);
			rc |= buf_puts(&sql, ";\n");
		}
		if (row->after) {
			rc |= buf_printf(&sql, "INSERT INTO %s VALUES (", target);
			rc |= image(&sql, ev->table, row->after);
			rc |= buf_puts(&sql, ");\n");
		}
		if (rc == 0 && fwrite(sql.ptr, 1, sql.len, stdout) != sql.len)
			rc = -1;
	}
	buf_release(&sql);
	return rc;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 5) {
		fprintf(stderr, "usage: binlog_replay DB TABLE TARGET FILE...\n");
		return 2;
	}
	for (i = 4; i < argc; i++) {
		struct binlog_decoder *d = binlog_decoder_new();
		struct binlog_event ev;
		struct gw_err err = GW_ERR_INIT;
		gzFile f = gzopen(argv[i], "rb");
		uint8_t h[19], *b = NULL;
		bool have = false;

		if (!d || !f || gzread(f, h, 4) != 4)
			return 1;
		while (gzread(f, h, 19) == 19) {
			size_t size = (size_t)h[9] | (size_t)h[10] << 8 | (size_t)h[11] << 16 |
				      (size_t)h[12] << 24;

			b = realloc(b, size);
			if (!b || size < 19)
				return 1;
			memcpy(b, h, 19);
			if (gzread(f, b + 19, (unsigned)(size - 19)) != (int)(size - 19))
				return 1;
			if (binlog_decode(d, b, size, &ev, &err) < 0) {
				fprintf(stderr, "%s: %s\n", argv[i], err.msg);
				return 1;
			}
			if (emit(&ev, argv[1], argv[2], argv[3]) < 0)
				return 1;
			while (ev.kind == BK_PAYLOAD || have) {
				if (binlog_decode_inner(d, &ev, &have, &err) < 0)
					return 1;
				if (!have)
					break;
				if (emit(&ev, argv[1], argv[2], argv[3]) < 0)
					return 1;
			}
		}
		free(b);
		b = NULL;
		gzclose(f);
		binlog_decoder_free(d);
	}
	return 0;
}
