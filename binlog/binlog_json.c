/*
 * A decoded event as one JSON object (PRODUCT.md section 3, `binlog`).
 */
#include "lib/common.h"
#include "binlog/binlog_int.h"
#include "lib/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int bl_put_double(struct buf *out, double d);

static const char *type_name(uint8_t t)
{
	switch (t) {
	case MT_DECIMAL: return "decimal_old";
	case MT_TINY: return "tinyint";
	case MT_SHORT: return "smallint";
	case MT_LONG: return "int";
	case MT_FLOAT: return "float";
	case MT_DOUBLE: return "double";
	case MT_NULL: return "null";
	case MT_TIMESTAMP:
	case MT_TIMESTAMP2: return "timestamp";
	case MT_LONGLONG: return "bigint";
	case MT_INT24: return "mediumint";
	case MT_DATE:
	case MT_NEWDATE: return "date";
	case MT_TIME:
	case MT_TIME2: return "time";
	case MT_DATETIME:
	case MT_DATETIME2: return "datetime";
	case MT_YEAR: return "year";
	case MT_VARCHAR:
	case MT_VAR_STRING: return "varchar";
	case MT_BIT: return "bit";
	case MT_VECTOR: return "vector";
	case MT_JSON: return "json";
	case MT_NEWDECIMAL: return "decimal";
	case MT_ENUM: return "enum";
	case MT_SET: return "set";
	case MT_TINY_BLOB:
	case MT_MEDIUM_BLOB:
	case MT_LONG_BLOB:
	case MT_BLOB: return "blob";
	case MT_STRING: return "char";
	case MT_GEOMETRY: return "geometry";
	default: return "unknown";
	}
}

/* FLOAT columns: the shortest text that reads back as the same float. */
static int put_float(struct buf *out, double d)
{
	char t[40];
	int prec;
	float f = (float)d;

	if (!isfinite(d))
		return buf_puts(out, "null");
	for (prec = 6; prec <= 9; prec++) {
		snprintf(t, sizeof(t), "%.*g", prec, d);
		if (strtof(t, NULL) == f)
			break;
	}
	return buf_puts(out, t);
}

static int put_value(struct buf *out, const struct bl_value *v, const struct bl_column *c)
{
	switch (v->kind) {
	case BL_NULL: return buf_puts(out, "null");
	case BL_INT: return buf_printf(out, "%lld", (long long)v->i);
	case BL_UINT: return buf_printf(out, "%llu", (unsigned long long)v->u);
	case BL_DOUBLE:
		return c->type == MT_FLOAT ? put_float(out, v->d) : bl_put_double(out, v->d);
	case BL_DECIMAL:
	case BL_TEMPORAL:
	case BL_TEXT: return json_strn(out, v->s, v->len);
	case BL_BINARY: return json_base64(out, v->s, v->len);
	case BL_JSON: return buf_add(out, v->s, v->len);
	case BL_ENUM:
	case BL_SET:
		if (v->s)
			return json_strn(out, v->s, v->len);
		return buf_printf(out, "%llu", (unsigned long long)v->u);
	}
	return buf_puts(out, "null");
}

static int put_image(struct buf *out, const struct bl_table *t, const struct bl_value *vals,
		     const bool *present)
{
	size_t i;

	if (buf_putc(out, '[') < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncols; i++) {
		if (i && buf_putc(out, ',') < 0)
			return GW_ENOMEM;
		if (!present[i]) {
			if (buf_puts(out, "null") < 0)
				return GW_ENOMEM;
			continue;
		}
		if (put_value(out, &vals[i], &t->cols[i]) < 0)
			return GW_ENOMEM;
	}
	return buf_putc(out, ']');
}

static bool image_partial(const struct bl_table *t, const bool *present)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (!present[i])
			return true;
	return false;
}

static int put_present(struct buf *out, const char *key, const struct bl_table *t,
		       const bool *present)
{
	size_t i, k = 0;

	if (buf_printf(out, ",\"%s\":[", key) < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncols; i++)
		if (present[i] && buf_printf(out, "%s%zu", k++ ? "," : "", i) < 0)
			return GW_ENOMEM;
	return buf_putc(out, ']');
}

static int put_rows(struct buf *out, const struct binlog_event *ev)
{
	const struct bl_table *t = ev->table;
	size_t r;

	if (buf_puts(out, ",\"database\":") < 0 || json_str(out, t->db) < 0 ||
	    buf_puts(out, ",\"table\":") < 0 || json_str(out, t->table) < 0)
		return GW_ENOMEM;
	/* images without every column (binlog_row_image MINIMAL/NOBLOB): the
	 * indexes of the columns that are there; the others print as null */
	if (ev->nrows > 0) {
		const struct bl_row *row = &ev->rows[0];

		if (row->before && image_partial(t, row->before_present) &&
		    put_present(out, "before_columns", t, row->before_present) < 0)
			return GW_ENOMEM;
		if (row->after && image_partial(t, row->after_present) &&
		    put_present(out, "after_columns", t, row->after_present) < 0)
			return GW_ENOMEM;
	}
	if (buf_puts(out, ",\"rows\":[") < 0)
		return GW_ENOMEM;
	for (r = 0; r < ev->nrows; r++) {
		const struct bl_row *row = &ev->rows[r];
		int rc;

		if (r && buf_putc(out, ',') < 0)
			return GW_ENOMEM;
		if (ev->kind == BK_UPDATE_ROWS) {
			rc = buf_puts(out, "{\"before\":") < 0 ||
				     put_image(out, t, row->before, row->before_present) < 0 ||
				     buf_puts(out, ",\"after\":") < 0 ||
				     put_image(out, t, row->after, row->after_present) < 0 ||
				     buf_putc(out, '}') < 0
				 ? GW_ENOMEM
				 : 0;
		} else if (ev->kind == BK_WRITE_ROWS) {
			rc = put_image(out, t, row->after, row->after_present);
		} else {
			rc = put_image(out, t, row->before, row->before_present);
		}
		if (rc < 0)
			return GW_ENOMEM;
	}
	return buf_putc(out, ']');
}

static int put_table_map(struct buf *out, const struct bl_table *t)
{
	size_t i;

	if (buf_printf(out, ",\"table_id\":%llu,\"database\":", (unsigned long long)t->id) < 0 ||
	    json_str(out, t->db) < 0 || buf_puts(out, ",\"table\":") < 0 ||
	    json_str(out, t->table) < 0 || buf_puts(out, ",\"columns\":[") < 0)
		return GW_ENOMEM;
	for (i = 0; i < t->ncols; i++) {
		const struct bl_column *c = &t->cols[i];

		if (buf_printf(out, "%s{\"name\":", i ? "," : "") < 0 ||
		    (c->name ? json_str(out, c->name) : buf_puts(out, "null")) < 0 ||
		    buf_printf(out, ",\"type\":\"%s\",\"nullable\":%s", type_name(c->type),
			       c->nullable ? "true" : "false") < 0)
			return GW_ENOMEM;
		if (c->signedness_known &&
		    buf_printf(out, ",\"unsigned\":%s", c->is_unsigned ? "true" : "false") < 0)
			return GW_ENOMEM;
		if (c->charset && buf_printf(out, ",\"charset\":%u", c->charset) < 0)
			return GW_ENOMEM;
		if (c->is_pk && buf_puts(out, ",\"primary_key\":true") < 0)
			return GW_ENOMEM;
		if (buf_putc(out, '}') < 0)
			return GW_ENOMEM;
	}
	return buf_putc(out, ']');
}

int binlog_xid_text(struct buf *out, const struct binlog_event *ev)
{
	size_t i;

	if (buf_puts(out, "X'") < 0)
		return GW_ENOMEM;
	for (i = 0; i < ev->xa_gtrid_len + ev->xa_bqual_len; i++) {
		if (i == ev->xa_gtrid_len && buf_puts(out, "',X'") < 0)
			return GW_ENOMEM;
		if (buf_printf(out, "%02x", (unsigned char)ev->xa_data[i]) < 0)
			return GW_ENOMEM;
	}
	if (ev->xa_bqual_len == 0 && buf_puts(out, "',X'") < 0)
		return GW_ENOMEM;
	return buf_printf(out, "',%u", ev->xa_format_id);
}

static int put_xid(struct buf *out, const struct binlog_event *ev)
{
	if (buf_puts(out, ",\"xid\":\"") < 0 || binlog_xid_text(out, ev) < 0)
		return GW_ENOMEM;
	if (ev->kind != BK_XA_PREPARE)
		return buf_putc(out, '"');
	return buf_printf(out, "\",\"one_phase\":%s", ev->xa_one_phase ? "true" : "false");
}

int binlog_event_json(struct buf *out, const struct binlog_event *ev, const char *file,
		      uint64_t pos)
{
	int rc = 0;

	if (buf_printf(out, "{\"type\":\"%s\"", bl_type_name(ev->type_code)) < 0)
		return GW_ENOMEM;
	if (ev->kind == BK_OTHER && strcmp(bl_type_name(ev->type_code), "unknown") == 0 &&
	    buf_printf(out, ",\"type_code\":%u", ev->type_code) < 0)
		return GW_ENOMEM;
	if (file && (buf_puts(out, ",\"file\":") < 0 || json_str(out, file) < 0))
		return GW_ENOMEM;
	if (buf_printf(out, ",\"pos\":%llu", (unsigned long long)pos) < 0)
		return GW_ENOMEM;
	if (ev->next_pos &&
	    buf_printf(out, ",\"next_pos\":%llu", (unsigned long long)ev->next_pos) < 0)
		return GW_ENOMEM;
	if (buf_printf(out, ",\"timestamp\":%u,\"server_id\":%u", ev->timestamp, ev->server_id) < 0)
		return GW_ENOMEM;
	if (ev->type_code >= BINLOG_MARIA_QUERY_COMPRESSED_EVENT &&
	    ev->type_code <= BINLOG_MARIA_DELETE_ROWS_COMPRESSED_V1 &&
	    buf_puts(out, ",\"compressed\":true") < 0)
		return GW_ENOMEM;
	switch (ev->kind) {
	case BK_FORMAT_DESCRIPTION:
		rc = buf_puts(out, ",\"server_version\":") < 0 ||
			     json_str(out, ev->server_version) < 0 ||
			     buf_printf(out, ",\"checksum\":\"%s\"",
					ev->checksum_alg == 1 ? "crc32" : "none") < 0
			 ? GW_ENOMEM
			 : 0;
		break;
	case BK_ROTATE:
		rc = buf_puts(out, ",\"next_file\":") < 0 || json_str(out, ev->rotate_file) < 0 ||
			     buf_printf(out, ",\"next_file_pos\":%llu",
					(unsigned long long)ev->rotate_pos) < 0
			 ? GW_ENOMEM
			 : 0;
		break;
	case BK_QUERY:
		rc = buf_puts(out, ",\"database\":") < 0 || json_str(out, ev->db) < 0 ||
			     buf_puts(out, ",\"sql\":") < 0 ||
			     json_strn(out, ev->sql, ev->sql_len) < 0
			 ? GW_ENOMEM
			 : 0;
		break;
	case BK_ROWS_QUERY:
		rc = buf_puts(out, ",\"sql\":") < 0 || json_strn(out, ev->sql, ev->sql_len) < 0
			 ? GW_ENOMEM
			 : 0;
		break;
	case BK_XID: rc = buf_printf(out, ",\"xid\":%llu", (unsigned long long)ev->xid); break;
	case BK_GTID:
		if (ev->gtid[0])
			rc = buf_puts(out, ",\"gtid\":") < 0 || json_str(out, ev->gtid) < 0
				 ? GW_ENOMEM
				 : 0;
		if (rc == 0 && ev->type_code == BINLOG_MARIA_GTID_EVENT)
			rc = buf_printf(out, ",\"domain_id\":%u,\"seq_no\":%llu,\"standalone\":%s",
					ev->gtid_domain, (unsigned long long)ev->gtid_seq,
					ev->gtid_standalone ? "true" : "false");
		if (rc == 0 && ev->gtid_xa)
			rc = buf_printf(out, ",\"xa\":\"%s\"",
					ev->gtid_xa == BL_XA_PREPARED ? "prepare" : "complete") < 0
				 ? GW_ENOMEM
				 : put_xid(out, ev);
		break;
	case BK_INCIDENT:
		rc = buf_printf(out, ",\"incident\":%u,\"incident_name\":\"%s\",\"message\":",
				ev->incident,
				ev->incident == 1   ? "LOST_EVENTS"
				: ev->incident == 0 ? "NONE"
						    : "unknown") < 0 ||
			     json_strn(out, ev->sql, ev->sql_len) < 0
			 ? GW_ENOMEM
			 : 0;
		break;
	case BK_GTID_LIST:
		rc = buf_puts(out, ",\"gtid_set\":") < 0 || json_str(out, ev->gtid_set) < 0
			 ? GW_ENOMEM
			 : 0;
		break;
	case BK_TABLE_MAP: rc = put_table_map(out, ev->table); break;
	case BK_WRITE_ROWS:
	case BK_UPDATE_ROWS:
	case BK_DELETE_ROWS:
		if (ev->type_code == BINLOG_PARTIAL_UPDATE_ROWS_EVENT &&
		    buf_puts(out, ",\"partial_json\":true") < 0)
			return GW_ENOMEM;
		rc = put_rows(out, ev);
		break;
	case BK_XA_PREPARE: rc = put_xid(out, ev); break;
	case BK_HEARTBEAT:
		if (ev->rotate_pos &&
		    buf_printf(out, ",\"log_pos\":%llu", (unsigned long long)ev->rotate_pos) < 0)
			return GW_ENOMEM;
		/* fall through */
	case BK_OTHER:
		if (ev->rotate_file)
			rc = buf_puts(out, ",\"log_file\":") < 0 ||
				     json_str(out, ev->rotate_file) < 0
				 ? GW_ENOMEM
				 : 0;
		break;
	default: break;
	}
	if (rc < 0)
		return GW_ENOMEM;
	return buf_putc(out, '}');
}
