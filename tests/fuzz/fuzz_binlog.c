/*
 * Fuzz target for the binlog decoder, row images above all: the input is a
 * sequence of events (each with its 19-byte header; the size field is
 * clamped to what is left) decoded after a fixed MySQL 8.0 format
 * description without checksums, so table maps, rows events, payloads and
 * the JSON output all see arbitrary bytes. The same bytes, as an encoded
 * GTID set and as GTID text, go through binlog/gtid.c: what it accepts
 * must come back the same through its canonical forms.
 */
#include "lib/common.h"
#include "binlog/binlog.h"
#include "binlog/gtid.h"
#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fde(uint8_t *b)
{
	uint8_t post[41] = {0};
	size_t n = 19, t;

	post[BINLOG_QUERY_EVENT - 1] = 13;
	post[BINLOG_ROTATE_EVENT - 1] = 8;
	post[BINLOG_TABLE_MAP_EVENT - 1] = 8;
	for (t = BINLOG_WRITE_ROWS_EVENT_V1; t <= BINLOG_DELETE_ROWS_EVENT_V1; t++)
		post[t - 1] = 8;
	for (t = BINLOG_WRITE_ROWS_EVENT; t <= BINLOG_DELETE_ROWS_EVENT; t++)
		post[t - 1] = 10;
	post[BINLOG_PARTIAL_UPDATE_ROWS_EVENT - 1] = 10;

	memset(b, 0, 128);
	b[4] = BINLOG_FORMAT_DESCRIPTION_EVENT;
	b[n++] = 4;
	b[n++] = 0;
	memcpy(b + n, "8.0.40", 6);
	n += 50 + 4;
	b[n++] = 19;
	memcpy(b + n, post, sizeof(post));
	n += sizeof(post);
	b[n++] = 0; /* checksum alg: none */
	n += 4;
	b[9] = (uint8_t)n;
	return n;
}

/* Every value of a rows event through binlog_value_sql() too. */
static void values_sql(struct buf *out, const struct binlog_event *ev)
{
	size_t r, i;

	if (ev->kind != BK_WRITE_ROWS && ev->kind != BK_UPDATE_ROWS && ev->kind != BK_DELETE_ROWS)
		return;
	for (r = 0; r < ev->nrows; r++) {
		for (i = 0; i < ev->table->ncols; i++) {
			if (ev->rows[r].before &&
			    binlog_value_sql(out, &ev->rows[r].before[i], &ev->table->cols[i]) < 0)
				abort();
			if (ev->rows[r].after &&
			    binlog_value_sql(out, &ev->rows[r].after[i], &ev->table->cols[i]) < 0)
				abort();
		}
		buf_reset(out);
	}
}

/* Encoded and text GTID sets, MariaDB positions: round trips. */
static void gtids(const uint8_t *data, size_t size)
{
	struct gtid_set a = GTID_SET_INIT, b = GTID_SET_INIT;
	struct gtid_pos p = GTID_POS_INIT, q = GTID_POS_INIT;
	struct gw_err err = GW_ERR_INIT;
	struct buf t = BUF_INIT, e = BUF_INIT;
	char *text = malloc(size + 1);

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = 0;
	if (gtid_set_decode(&a, data, size, NULL, &err) == 0) {
		if (gtid_set_encode(&e, &a) < 0 ||
		    gtid_set_decode(&b, (const uint8_t *)e.ptr, e.len, NULL, &err) < 0 ||
		    !gtid_set_equal(&a, &b))
			abort();
	}
	if (gtid_set_parse(&a, text, &err) == 0) {
		if (gtid_set_format(&t, &a) < 0 || gtid_set_parse(&b, buf_cstr(&t), &err) < 0 ||
		    !gtid_set_equal(&a, &b) || !gtid_set_contains(&a, &b))
			abort();
		if (gtid_set_subtract(&b, &a) < 0 || !gtid_set_is_empty(&b))
			abort();
	}
	if (gtid_pos_parse(&p, text, &err) == 0) {
		buf_reset(&t);
		if (gtid_pos_format(&t, &p) < 0 || gtid_pos_parse(&q, buf_cstr(&t), &err) < 0 ||
		    !gtid_pos_reached(&p, &q) || !gtid_pos_reached(&q, &p))
			abort();
	}
	gtid_set_release(&a);
	gtid_set_release(&b);
	gtid_pos_release(&p);
	gtid_pos_release(&q);
	buf_release(&t);
	buf_release(&e);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binlog_decoder *d = binlog_decoder_new();
	struct binlog_event ev;
	struct gw_err err = GW_ERR_INIT;
	struct buf out = BUF_INIT;
	uint8_t f[128], *copy = NULL;
	size_t off = 0;

	gtids(data, size);
	if (!d)
		return 0;
	if (binlog_decode(d, f, fde(f), &ev, &err) < 0)
		abort();
	while (size - off >= 19) {
		size_t n = (size_t)data[off + 9] | (size_t)data[off + 10] << 8;
		bool have = false;

		if (n < 19 || n > size - off)
			n = size - off;
		copy = malloc(n);
		if (!copy)
			break;
		memcpy(copy, data + off, n);
		copy[9] = (uint8_t)n, copy[10] = (uint8_t)(n >> 8);
		copy[11] = (uint8_t)(n >> 16), copy[12] = (uint8_t)(n >> 24);
		off += n;
		if (binlog_decode(d, copy, n, &ev, &err) == 0) {
			buf_reset(&out);
			if (binlog_event_json(&out, &ev, "fuzz", off) < 0)
				abort();
			values_sql(&out, &ev);
			while (ev.kind == BK_PAYLOAD || have) {
				have = false;
				if (binlog_decode_inner(d, &ev, &have, &err) < 0 || !have)
					break;
				buf_reset(&out);
				if (binlog_event_json(&out, &ev, "fuzz", off) < 0)
					abort();
				values_sql(&out, &ev);
			}
		}
		free(copy);
		copy = NULL;
	}
	buf_release(&out);
	binlog_decoder_free(d);
	return 0;
}
