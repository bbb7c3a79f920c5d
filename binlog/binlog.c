/*
 * The binlog decoder: the common header, checksums, the format description,
 * and every event but the row images (binlog_rows.c). Table maps are kept
 * by table id, oldest first, at most BL_MAX_TABLES of them.
 */
#include "lib/common.h"
#include "binlog/binlog_int.h"
#include "binlog/gtid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/banned.h"

#define HEADER_LEN 19
/* A decompressed transaction payload larger than this is refused: MySQL
 * caps a transaction's event at max_allowed_packet (1 GiB at most). */
#define MAX_PAYLOAD ((size_t)1 << 30)

/* ---- the arena ---- */

struct bl_chunk {
	struct bl_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *bl_arena_alloc(struct bl_arena *a, size_t n)
{
	struct bl_chunk *c = a->head;
	size_t al = sizeof(max_align_t);
	void *p;

	n = (n + al - 1) / al * al;
	if (n == 0)
		n = al;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
		a->total += cap;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *bl_arena_strndup(struct bl_arena *a, const void *s, size_t n)
{
	char *p = bl_arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* Keeps the newest chunk when it is of the common size, frees the rest. */
void bl_arena_reset(struct bl_arena *a)
{
	struct bl_chunk *c = a->head, *next;

	if (!c)
		return;
	next = c->next;
	c->next = NULL;
	c->used = 0;
	if (c->cap > 65536) {
		free(c);
		a->head = NULL;
		a->total = 0;
	} else {
		a->total = c->cap;
	}
	while (next) {
		c = next->next;
		free(next);
		next = c;
	}
}

void bl_arena_release(struct bl_arena *a)
{
	bl_arena_reset(a);
	free(a->head);
	a->head = NULL;
	a->total = 0;
}

/* ---- table maps ---- */

static void table_free(struct bl_table *t)
{
	size_t i, j;

	if (!t)
		return;
	for (i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		for (j = 0; j < t->cols[i].nlabels; j++)
			free(t->cols[i].labels[j]);
		free(t->cols[i].labels);
	}
	free(t->cols);
	free(t->db);
	free(t->table);
	free(t);
}

static void tables_clear(struct binlog_decoder *d)
{
	size_t i;

	for (i = 0; i < d->ntables; i++)
		table_free(d->tables[i]);
	d->ntables = 0;
}

struct bl_table *bl_find_table(struct binlog_decoder *d, uint64_t id)
{
	size_t i = d->ntables;

	while (i-- > 0)
		if (d->tables[i]->id == id)
			return d->tables[i];
	return NULL;
}

static int tables_put(struct binlog_decoder *d, struct bl_table *t)
{
	size_t i;

	for (i = 0; i < d->ntables; i++) {
		if (d->tables[i]->id == t->id) {
			table_free(d->tables[i]);
			memmove(d->tables + i, d->tables + i + 1,
				(d->ntables - i - 1) * sizeof(*d->tables));
			d->ntables--;
			break;
		}
	}
	if (d->ntables == BL_MAX_TABLES) {
		table_free(d->tables[0]);
		memmove(d->tables, d->tables + 1, (d->ntables - 1) * sizeof(*d->tables));
		d->ntables--;
	}
	if (d->ntables == d->cap_tables) {
		size_t ncap = d->cap_tables ? d->cap_tables * 2 : 16;
		struct bl_table **n = realloc(d->tables, ncap * sizeof(*n));

		if (!n)
			return -1;
		d->tables = n;
		d->cap_tables = ncap;
	}
	d->tables[d->ntables++] = t;
	return 0;
}

/* ---- the decoder ---- */

struct binlog_decoder *binlog_decoder_new(void)
{
	struct binlog_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	buf_init(&d->scratch, 0);
	d->checksum_forced = -1;
	return d;
}

void binlog_decoder_set_checksum(struct binlog_decoder *d, int alg)
{
	d->checksum_forced = alg == 0 || alg == 1 ? alg : -1;
}

void binlog_decoder_free(struct binlog_decoder *d)
{
	if (!d)
		return;
	tables_clear(d);
	free(d->tables);
	bl_arena_release(&d->arena);
	free(d->ev);
	free(d->payload);
	free(d->rows);
	buf_release(&d->scratch);
	gtid_set_release(&d->gtids);
	free(d);
}

size_t bl_post_header_len(const struct binlog_decoder *d, uint8_t type, size_t def)
{
	if (type >= 1 && (size_t)type <= d->npost && d->post_header[type - 1] != 0)
		return d->post_header[type - 1];
	return def;
}

const char *bl_type_name(uint8_t t)
{
	switch (t) {
	case 1: return "start_v3";
	case BINLOG_QUERY_EVENT:
	case BINLOG_MARIA_QUERY_COMPRESSED_EVENT: return "query";
	case BINLOG_STOP_EVENT: return "stop";
	case BINLOG_ROTATE_EVENT: return "rotate";
	case 5: return "intvar";
	case 6: return "load";
	case 7: return "slave";
	case 8: return "create_file";
	case 9: return "append_block";
	case 10: return "exec_load";
	case 11: return "delete_file";
	case 12: return "new_load";
	case 13: return "rand";
	case 14: return "user_var";
	case BINLOG_FORMAT_DESCRIPTION_EVENT: return "format_description";
	case BINLOG_XID_EVENT: return "xid";
	case 17: return "begin_load_query";
	case 18: return "execute_load_query";
	case BINLOG_TABLE_MAP_EVENT: return "table_map";
	case BINLOG_WRITE_ROWS_EVENT_V1:
	case BINLOG_WRITE_ROWS_EVENT:
	case BINLOG_MARIA_WRITE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_WRITE_ROWS_COMPRESSED_V1: return "write_rows";
	case BINLOG_UPDATE_ROWS_EVENT_V1:
	case BINLOG_UPDATE_ROWS_EVENT:
	case BINLOG_PARTIAL_UPDATE_ROWS_EVENT:
	case BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_V1: return "update_rows";
	case BINLOG_DELETE_ROWS_EVENT_V1:
	case BINLOG_DELETE_ROWS_EVENT:
	case BINLOG_MARIA_DELETE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_DELETE_ROWS_COMPRESSED_V1: return "delete_rows";
	case 26: return "incident";
	case BINLOG_HEARTBEAT_EVENT:
	case BINLOG_HEARTBEAT_LOG_EVENT_V2: return "heartbeat";
	case 28: return "ignorable";
	case BINLOG_ROWS_QUERY_EVENT: return "rows_query";
	case BINLOG_GTID_EVENT:
	case BINLOG_GTID_TAGGED_LOG_EVENT:
	case BINLOG_MARIA_GTID_EVENT: return "gtid";
	case BINLOG_ANONYMOUS_GTID_EVENT: return "anonymous_gtid";
	case BINLOG_PREVIOUS_GTIDS_EVENT: return "previous_gtids";
	case 36: return "transaction_context";
	case 37: return "view_change";
	case BINLOG_XA_PREPARE_LOG_EVENT: return "xa_prepare";
	case BINLOG_TRANSACTION_PAYLOAD_EVENT: return "transaction_payload";
	case BINLOG_MARIA_ANNOTATE_ROWS_EVENT: return "annotate_rows";
	case BINLOG_MARIA_BINLOG_CHECKPOINT_EVENT: return "binlog_checkpoint";
	case BINLOG_MARIA_GTID_LIST_EVENT: return "gtid_list";
	case BINLOG_MARIA_START_ENCRYPTION_EVENT: return "start_encryption";
	default: return "unknown";
	}
}

int bl_maria_uncompress(struct bl_arena *a, const uint8_t *p, size_t len, const uint8_t **out,
			size_t *out_len, struct gw_err *err)
{
	unsigned lenlen, alg;
	uint64_t ulen;
	uLongf dlen;
	uint8_t *dst;

	if (len < 1 || (p[0] & 0x80) == 0)
		return err_set(err, GW_EFATAL, "not in MariaDB's compressed format");
	lenlen = p[0] & 0x07;
	alg = (p[0] & 0x70) >> 4;
	if (alg != 0)
		return err_set(err, GW_EFATAL, "unknown compression algorithm %u", alg);
	if (lenlen < 1 || lenlen > 4 || len < 1 + (size_t)lenlen)
		return err_set(err, GW_EFATAL, "bad compressed length header");
	ulen = bl_be(p + 1, lenlen);
	if (ulen > MAX_PAYLOAD)
		return err_set(err, GW_EFATAL, "uncompressed length %llu too large",
			       (unsigned long long)ulen);
	dst = bl_arena_alloc(a, (size_t)ulen + 1);
	if (!dst)
		return err_set(err, GW_ENOMEM, "out of memory uncompressing an event");
	dlen = (uLongf)ulen;
	if (uncompress(dst, &dlen, p + 1 + lenlen, (uLong)(len - 1 - lenlen)) != Z_OK ||
	    dlen != ulen)
		return err_set(err, GW_EFATAL, "zlib data corrupt");
	*out = dst;
	*out_len = (size_t)dlen;
	return 0;
}

/* ---- events ---- */

static int decode_fde(struct binlog_decoder *d, const uint8_t *ev, size_t size,
		      struct binlog_event *out, struct gw_err *err)
{
	const uint8_t *b = ev + HEADER_LEN;
	size_t blen = size - HEADER_LEN, n, hl;
	unsigned maj = 0, min = 0, pat = 0;
	bool has_alg;
	char ver[51];

	if (blen < 2 + 50 + 4 + 1)
		return err_set(err, GW_EFATAL, "format description truncated");
	d->binlog_version = (uint16_t)bl_le(b, 2);
	if (d->binlog_version != 4)
		return err_set(err, GW_EFATAL, "binlog version %u is not supported (only v4)",
			       d->binlog_version);
	memcpy(ver, b + 2, 50);
	ver[50] = 0;
	snprintf(d->server_version, sizeof(d->server_version), "%s", ver);
	d->mariadb = strstr(ver, "MariaDB") != NULL;
	/* a longer common header (a server that adds fields) is read as the
	 * v4 one, its extra bytes skipped, as mariadb-binlog does */
	hl = b[56];
	if (hl < HEADER_LEN)
		return err_set(err, GW_EFATAL, "common header length %zu is shorter than v4's", hl);
	d->header_len = (uint8_t)hl;
	if (sscanf(ver, "%u.%u.%u", &maj, &min, &pat) < 2)
		maj = min = pat = 0;
	/* a checksum algorithm byte exists from MySQL 5.6.1 and MariaDB 5.3 */
	has_alg = d->mariadb ? (maj > 5 || (maj == 5 && min >= 3))
			     : (maj > 5 || (maj == 5 && (min > 6 || (min == 6 && pat >= 1))));
	n = blen - 57;
	if (has_alg) {
		if (n < 5)
			return err_set(err, GW_EFATAL, "format description truncated");
		n -= 5;
		d->checksum_alg = b[57 + n];
		if (d->checksum_alg == 0xff)
			d->checksum_alg = 0;
		if (d->checksum_alg > 1)
			return err_set(err, GW_EFATAL, "unknown checksum algorithm %u",
				       d->checksum_alg);
		if ((d->checksum_forced >= 0 ? d->checksum_forced : d->checksum_alg) == 1) {
			uint32_t want = (uint32_t)bl_le(ev + size - 4, 4);
			uint32_t got = (uint32_t)crc32(0L, ev, (uInt)(size - 4));

			/* the server sets LOG_EVENT_BINLOG_IN_USE_F in the
			 * written header while the file is open; the checksum
			 * was computed without it */
			if (want != got && (ev[17] & 1)) {
				uint8_t f0 = (uint8_t)(ev[17] & ~1u);

				got = (uint32_t)crc32(0L, ev, 17);
				got = (uint32_t)crc32(got, &f0, 1);
				got = (uint32_t)crc32(got, ev + 18, (uInt)(size - 4 - 18));
			}
			if (want != got)
				return err_set(err, GW_EFATAL,
					       "checksum mismatch in the format description "
					       "(stored %08x, computed %08x)",
					       want, got);
		}
	} else {
		d->checksum_alg = 0;
	}
	if (n > sizeof(d->post_header))
		n = sizeof(d->post_header);
	memcpy(d->post_header, b + 57, n);
	d->npost = n;
	d->have_fde = true;
	out->kind = BK_FORMAT_DESCRIPTION;
	out->server_version = d->server_version;
	out->checksum_alg = d->checksum_alg;
	return 0;
}

/*
 * The session's sql_mode among a QUERY event's status variables
 * (Q_SQL_MODE_CODE, 1: 8 bytes), into *mode_out; false when it is not
 * there. Each variable is a code and a value whose size the code gives;
 * the walk stops at a code it does not know (MySQL and MariaDB write
 * Q_FLAGS2_CODE and Q_SQL_MODE_CODE first).
 */
static bool query_sql_mode(uint64_t *mode_out, const uint8_t *p, size_t len)
{
	struct bl_rd r = {p, len, 0};
	uint64_t n;

	while (rd_left(&r) > 0) {
		uint8_t code = r.p[r.off++];
		size_t fixed = 0;

		switch (code) {
		case 0: fixed = 4; break; /* Q_FLAGS2_CODE */
		case 1: /* Q_SQL_MODE_CODE */ return rd_uint(&r, 8, mode_out) == 0;
		case 3: fixed = 4; break;  /* Q_AUTO_INCREMENT */
		case 4: fixed = 6; break;  /* Q_CHARSET_CODE */
		case 7: fixed = 2; break;  /* Q_LC_TIME_NAMES_CODE */
		case 8: fixed = 2; break;  /* Q_CHARSET_DATABASE_CODE */
		case 9: fixed = 8; break;  /* Q_TABLE_MAP_FOR_UPDATE_CODE */
		case 10: fixed = 4; break; /* Q_MASTER_DATA_WRITTEN_CODE */
		case 2:			   /* Q_CATALOG_CODE: length, name, NUL */
			if (rd_uint(&r, 1, &n) < 0)
				return false;
			fixed = (size_t)n + 1;
			break;
		case 5: /* Q_TIME_ZONE_CODE */
		case 6: /* Q_CATALOG_NZ_CODE */
			if (rd_uint(&r, 1, &n) < 0)
				return false;
			fixed = (size_t)n;
			break;
		default: return false;
		}
		if (rd_left(&r) < fixed)
			return false;
		r.off += fixed;
	}
	return false;
}

static int decode_query(struct binlog_decoder *d, const uint8_t *b, size_t len, uint8_t type,
			struct binlog_event *out, struct gw_err *err)
{
	size_t phl = type == BINLOG_EXECUTE_LOAD_QUERY_EVENT
			 ? bl_post_header_len(d, BINLOG_EXECUTE_LOAD_QUERY_EVENT, 26)
			 : bl_post_header_len(d, BINLOG_QUERY_EVENT, 13);
	struct bl_rd r = {b, len, 0};
	size_t dblen, svlen;
	const uint8_t *db, *sql = NULL;
	size_t sql_len;

	if (phl < 13 || len < phl)
		return err_set(err, GW_EFATAL, "QUERY post-header truncated");
	dblen = b[8];
	svlen = (size_t)bl_le(b + 11, 2);
	r.off = phl;
	if (rd_left(&r) < svlen)
		return err_set(err, GW_EFATAL, "QUERY status variables truncated");
	out->has_sql_mode = query_sql_mode(&out->sql_mode, r.p + r.off, svlen);
	r.off += svlen;
	if (rd_bytes(&r, dblen, &db) < 0 || rd_left(&r) < 1)
		return err_set(err, GW_EFATAL, "QUERY database name truncated");
	r.off++; /* the NUL after the name */
	sql_len = rd_left(&r);
	sql = r.p + r.off;
	if (type == BINLOG_MARIA_QUERY_COMPRESSED_EVENT) {
		if (bl_maria_uncompress(&d->arena, sql, sql_len, &sql, &sql_len, err) < 0) {
			err_prefix(err, "compressed QUERY");
			return -1;
		}
	}
	out->kind = BK_QUERY;
	out->db = bl_arena_strndup(&d->arena, db, dblen);
	out->sql = bl_arena_strndup(&d->arena, sql, sql_len);
	out->sql_len = sql_len;
	if (!out->db || !out->sql)
		return err_set(err, GW_ENOMEM, "out of memory");
	return 0;
}

/* The columns of the signedness bitmap: MariaDB counts YEAR too (a TINYINT
 * field there), MySQL does not. */
static bool is_numeric(uint8_t t, bool mariadb)
{
	return (mariadb && t == MT_YEAR) || t == MT_TINY || t == MT_SHORT || t == MT_INT24 ||
	       t == MT_LONG || t == MT_LONGLONG || t == MT_NEWDECIMAL || t == MT_FLOAT ||
	       t == MT_DOUBLE || t == MT_DECIMAL;
}

static bool is_character(uint8_t t)
{
	return t == MT_STRING || t == MT_VAR_STRING || t == MT_VARCHAR || t == MT_BLOB ||
	       t == MT_TINY_BLOB || t == MT_MEDIUM_BLOB || t == MT_LONG_BLOB;
}

/* Reads a list of lenenc strings into a malloc'd array. */
static int read_labels(struct bl_rd *r, struct bl_column *c)
{
	uint64_t n, i, l;
	const uint8_t *p;

	if (rd_lenenc(r, &n) < 0 || n > rd_left(r))
		return -1;
	for (i = 0; i < c->nlabels; i++) /* a repeated field replaces */
		free(c->labels[i]);
	free(c->labels);
	c->nlabels = 0;
	c->labels = calloc(n ? n : 1, sizeof(char *));
	if (!c->labels)
		return -1;
	c->nlabels = (size_t)n;
	for (i = 0; i < n; i++) {
		if (rd_lenenc(r, &l) < 0 || rd_bytes(r, (size_t)l, &p) < 0)
			return -1;
		c->labels[i] = strndup((const char *)p, (size_t)l);
		if (!c->labels[i])
			return -1;
	}
	return 0;
}

/* Optional metadata (binlog_row_metadata): type, lenenc length, value. */
static int table_optional_meta(struct bl_table *t, struct bl_rd *r, bool mariadb,
			       struct gw_err *err)
{
	while (rd_left(r) > 0) {
		uint64_t mtype, mlen, v, idx;
		const uint8_t *p;
		struct bl_rd f;
		size_t i, k;

		mtype = r->p[r->off++];
		if (rd_lenenc(r, &mlen) < 0 || rd_bytes(r, (size_t)mlen, &p) < 0)
			return err_set(err, GW_EFATAL, "table map optional metadata truncated");
		f.p = p;
		f.len = (size_t)mlen;
		f.off = 0;
		switch (mtype) {
		case 1: /* SIGNEDNESS: one bit per numeric column, MSB first */
			for (i = 0, k = 0; i < t->ncols; i++) {
				if (!is_numeric(t->cols[i].type, mariadb))
					continue;
				if (k / 8 < f.len) {
					t->cols[i].is_unsigned = (f.p[k / 8] >> (7 - k % 8)) & 1;
					t->cols[i].signedness_known = true;
				}
				k++;
			}
			break;
		case 2: /* DEFAULT_CHARSET: default, then (index, charset) */
		case 10: /* ENUM_AND_SET_DEFAULT_CHARSET */ {
			uint64_t def;
			bool enumset = mtype == 10;

			if (rd_lenenc(&f, &def) < 0)
				goto bad;
			for (i = 0; i < t->ncols; i++) {
				uint8_t ty = t->cols[i].type;

				if (enumset ? (ty == MT_ENUM || ty == MT_SET) : is_character(ty))
					t->cols[i].charset = (uint16_t)def;
			}
			while (rd_left(&f) > 0) {
				if (rd_lenenc(&f, &idx) < 0 || rd_lenenc(&f, &v) < 0)
					goto bad;
				for (i = 0, k = 0; i < t->ncols; i++) {
					uint8_t ty = t->cols[i].type;

					if (!(enumset ? (ty == MT_ENUM || ty == MT_SET)
						      : is_character(ty)))
						continue;
					if (k++ == idx)
						t->cols[i].charset = (uint16_t)v;
				}
			}
			break;
		}
		case 3:	 /* COLUMN_CHARSET */
		case 11: /* ENUM_AND_SET_COLUMN_CHARSET */
			for (i = 0; i < t->ncols; i++) {
				uint8_t ty = t->cols[i].type;

				if (!(mtype == 11 ? (ty == MT_ENUM || ty == MT_SET)
						  : is_character(ty)))
					continue;
				if (rd_lenenc(&f, &v) < 0)
					goto bad;
				t->cols[i].charset = (uint16_t)v;
			}
			break;
		case 4: /* COLUMN_NAME */
			for (i = 0; i < t->ncols; i++) {
				if (rd_lenenc(&f, &v) < 0 || rd_bytes(&f, (size_t)v, &p) < 0)
					goto bad;
				free(t->cols[i].name);
				t->cols[i].name = strndup((const char *)p, (size_t)v);
				if (!t->cols[i].name)
					return err_set(err, GW_ENOMEM, "out of memory");
			}
			t->has_names = t->ncols > 0;
			t->names_logged = t->has_names;
			break;
		case 5: /* SET_STR_VALUE */
		case 6: /* ENUM_STR_VALUE */
			for (i = 0; i < t->ncols; i++) {
				if (t->cols[i].type != (mtype == 5 ? MT_SET : MT_ENUM))
					continue;
				if (read_labels(&f, &t->cols[i]) < 0)
					goto bad;
			}
			break;
		case 8: /* SIMPLE_PRIMARY_KEY */
			while (rd_left(&f) > 0) {
				if (rd_lenenc(&f, &idx) < 0)
					goto bad;
				if (idx < t->ncols)
					t->cols[idx].is_pk = true;
			}
			break;
		case 9: /* PRIMARY_KEY_WITH_PREFIX */
			while (rd_left(&f) > 0) {
				if (rd_lenenc(&f, &idx) < 0 || rd_lenenc(&f, &v) < 0)
					goto bad;
				if (idx < t->ncols)
					t->cols[idx].is_pk = true;
			}
			break;
		default: /* 7 GEOMETRY_TYPE, 12 COLUMN_VISIBILITY, newer: not needed */ break;
		}
		continue;
	bad:
		return err_set(err, GW_EFATAL, "table map optional metadata %llu malformed",
			       (unsigned long long)mtype);
	}
	return 0;
}

static bool old_temporal(uint8_t ty)
{
	return ty == MT_TIME || ty == MT_DATETIME || ty == MT_TIMESTAMP;
}

/* What binlog_decoder_describe_*() added to the previous map of the same
 * table carries over to a new map with the same column types (every
 * transaction maps its tables again). */
static int carry_description(struct binlog_decoder *d, struct bl_table *t)
{
	struct bl_table *o = NULL;
	size_t i = d->ntables;

	while (i-- > 0) {
		if (strcmp(d->tables[i]->db, t->db) == 0 &&
		    strcmp(d->tables[i]->table, t->table) == 0) {
			o = d->tables[i];
			break;
		}
	}
	if (!o || o->ncols != t->ncols)
		return 0;
	for (i = 0; i < t->ncols; i++) {
		const struct bl_column *a = &o->cols[i], *b = &t->cols[i];

		if (a->type != b->type || (a->meta != b->meta && !old_temporal(b->type)))
			return 0;
	}
	for (i = 0; i < t->ncols; i++) {
		const struct bl_column *a = &o->cols[i];
		struct bl_column *b = &t->cols[i];

		if (!b->name && a->name && !(b->name = strdup(a->name)))
			return -1;
		if (!b->signedness_known && a->signedness_known) {
			b->is_unsigned = a->is_unsigned;
			b->signedness_known = true;
		}
		if (old_temporal(b->type) && b->meta == 0)
			b->meta = a->meta;
	}
	t->has_names = t->ncols > 0;
	for (i = 0; i < t->ncols; i++)
		if (!t->cols[i].name)
			t->has_names = false;
	return 0;
}

static int decode_table_map(struct binlog_decoder *d, const uint8_t *b, size_t len,
			    struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {b, len, 0}, m;
	size_t phl = bl_post_header_len(d, BINLOG_TABLE_MAP_EVENT, 8), i;
	uint64_t id, flags, dblen, tlen, ncols, mlen;
	const uint8_t *db, *tbl, *types, *meta, *nulls;
	struct bl_table *t = NULL;
	bool no_meta;
	int rc = GW_EFATAL;

	if (rd_uint(&r, phl == 6 ? 4 : 6, &id) < 0 || rd_uint(&r, 2, &flags) < 0)
		return err_set(err, GW_EFATAL, "TABLE_MAP post-header truncated");
	if (phl > 8 && rd_left(&r) >= phl - 8)
		r.off += phl - 8;
	if (rd_uint(&r, 1, &dblen) < 0 || rd_bytes(&r, dblen + 1, &db) < 0 ||
	    rd_uint(&r, 1, &tlen) < 0 || rd_bytes(&r, tlen + 1, &tbl) < 0 ||
	    rd_lenenc(&r, &ncols) < 0 || ncols > 4096 || rd_bytes(&r, ncols, &types) < 0)
		return err_set(err, GW_EFATAL, "TABLE_MAP truncated");
	/* MySQL 5.1 before column metadata wrote neither it nor the null
	 * bitmap: the map ends after the types (mariadb-binlog reads it so) */
	no_meta = rd_left(&r) == 0;
	if (no_meta) {
		mlen = 0;
		meta = nulls = NULL;
	} else if (rd_lenenc(&r, &mlen) < 0 || rd_bytes(&r, mlen, &meta) < 0 ||
		   rd_bytes(&r, (ncols + 7) / 8, &nulls) < 0) {
		return err_set(err, GW_EFATAL, "TABLE_MAP truncated");
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto oom;
	t->id = id;
	t->db = strndup((const char *)db, dblen);
	t->table = strndup((const char *)tbl, tlen);
	t->ncols = (size_t)ncols;
	t->cols = calloc(ncols ? ncols : 1, sizeof(*t->cols));
	if (!t->db || !t->table || !t->cols)
		goto oom;
	m.p = meta;
	m.len = (size_t)mlen;
	m.off = 0;
	for (i = 0; i < ncols; i++) {
		struct bl_column *c = &t->cols[i];
		uint64_t v = 0;
		int ok = 0;

		c->type = types[i];
		c->nullable = nulls ? (nulls[i / 8] >> (i % 8)) & 1 : true;
		switch (no_meta ? MT_NULL : c->type) {
		case MT_FLOAT:
		case MT_DOUBLE:
		case MT_BLOB:
		case MT_TINY_BLOB:
		case MT_MEDIUM_BLOB:
		case MT_LONG_BLOB:
		case MT_GEOMETRY:
		case MT_JSON:
		case MT_VECTOR:
		case MT_TIME2:
		case MT_DATETIME2:
		case MT_TIMESTAMP2: ok = rd_uint(&m, 1, &v); break;
		case MT_VARCHAR:
		case MT_VAR_STRING:
		case MT_BIT: ok = rd_uint(&m, 2, &v); break;
		case MT_NEWDECIMAL:
		case MT_STRING:
		case MT_ENUM:
		case MT_SET:
		case MT_DECIMAL:
			if (rd_left(&m) < 2)
				ok = -1;
			else {
				v = bl_be(m.p + m.off, 2);
				m.off += 2;
			}
			break;
		default: break;
		}
		if (ok < 0) {
			err_set(err, GW_EFATAL, "TABLE_MAP metadata of column %zu truncated",
				i + 1);
			goto fail;
		}
		c->meta = (uint16_t)v;
		if (c->type == MT_STRING && (v >> 8) >= MT_ENUM && (v >> 8) <= MT_SET)
			c->type = (uint8_t)(v >> 8);
		else if (c->type == MT_STRING && (v >> 8) != 0 && ((v >> 8) & 0x30) != 0x30)
			c->type = MT_STRING;
	}
	if (table_optional_meta(t, &r, d->mariadb, err) < 0)
		goto fail;
	if (carry_description(d, t) < 0)
		goto oom;
	if (tables_put(d, t) < 0)
		goto oom;
	out->kind = BK_TABLE_MAP;
	out->table = t;
	return 0;
oom:
	rc = err_set(err, GW_ENOMEM, "out of memory reading a table map");
fail:
	if (t) {
		err_prefix(err, "table %s.%s", t->db ? t->db : "?", t->table ? t->table : "?");
		table_free(t);
	}
	return rc == GW_ENOMEM ? rc : GW_EFATAL;
}

/*
 * MariaDB GTID: seq 8, domain 4, flags2 1; with FL_GROUP_COMMIT_ID (2) a
 * commit id of 8; with FL_PREPARED_XA (64) or FL_COMPLETED_XA (128) the
 * XID: format 4, gtrid length 1, bqual length 1, then the two (at most 64
 * bytes each, as XA allows: MariaDB's own reader trusted the lengths).
 */
static int decode_maria_gtid(struct binlog_decoder *d, const uint8_t *b, size_t len,
			     struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {b, len, 0};
	uint64_t seq, dom, flags2, v, gl, bl;
	const uint8_t *data;

	if (rd_uint(&r, 8, &seq) < 0 || rd_uint(&r, 4, &dom) < 0 || rd_uint(&r, 1, &flags2) < 0)
		return err_set(err, GW_EFATAL, "GTID truncated");
	out->kind = BK_GTID;
	out->gtid_seq = seq;
	out->gtid_domain = (uint32_t)dom;
	out->gtid_standalone = flags2 & 1;
	snprintf(out->gtid, sizeof(out->gtid), "%u-%u-%llu", out->gtid_domain, out->server_id,
		 (unsigned long long)out->gtid_seq);
	if ((flags2 & 2) && rd_uint(&r, 8, &v) < 0)
		return err_set(err, GW_EFATAL, "GTID commit id truncated");
	if (!(flags2 & (64 | 128)))
		return 0;
	if (rd_uint(&r, 4, &v) < 0 || rd_uint(&r, 1, &gl) < 0 || rd_uint(&r, 1, &bl) < 0)
		return err_set(err, GW_EFATAL, "GTID of an XA transaction: XID truncated");
	if (gl < 1 || gl > 64 || bl > 64)
		return err_set(err, GW_EFATAL,
			       "GTID of an XA transaction: XID lengths %llu and %llu (gtrid 1-64 "
			       "and bqual 0-64 bytes)",
			       (unsigned long long)gl, (unsigned long long)bl);
	if (rd_bytes(&r, (size_t)(gl + bl), &data) < 0)
		return err_set(err, GW_EFATAL, "GTID of an XA transaction: XID data truncated");
	out->gtid_xa = (flags2 & 64) ? BL_XA_PREPARED : BL_XA_COMPLETED;
	out->xa_format_id = (uint32_t)v;
	out->xa_gtrid_len = (size_t)gl;
	out->xa_bqual_len = (size_t)bl;
	out->xa_data = bl_arena_strndup(&d->arena, data, (size_t)(gl + bl));
	return out->xa_data ? 0 : err_set(err, GW_ENOMEM, "out of memory");
}

/* MySQL GTID set (PREVIOUS_GTIDS): the binary form gtid.h decodes. */
static int decode_gtid_set(struct binlog_decoder *d, const uint8_t *b, size_t len,
			   struct binlog_event *out, struct gw_err *err)
{
	struct buf *o = &d->scratch;

	buf_reset(o);
	if (gtid_set_decode(&d->gtids, b, len, NULL, err) < 0) {
		err_prefix(err, "PREVIOUS_GTIDS");
		return err->code;
	}
	if (gtid_set_format(o, &d->gtids) < 0)
		return err_set(err, GW_ENOMEM, "out of memory");
	out->kind = BK_GTID_LIST;
	out->gtid_set = bl_arena_strndup(&d->arena, buf_cstr(o), o->len);
	return out->gtid_set ? 0 : err_set(err, GW_ENOMEM, "out of memory");
}

static int decode_maria_gtid_list(struct binlog_decoder *d, const uint8_t *b, size_t len,
				  struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {b, len, 0};
	uint64_t n, i, dom, sid, seq;
	struct buf *o = &d->scratch;

	buf_reset(o);
	if (rd_uint(&r, 4, &n) < 0)
		return err_set(err, GW_EFATAL, "GTID_LIST truncated");
	n &= 0x0fffffff;
	for (i = 0; i < n; i++) {
		if (rd_uint(&r, 4, &dom) < 0 || rd_uint(&r, 4, &sid) < 0 ||
		    rd_uint(&r, 8, &seq) < 0)
			return err_set(err, GW_EFATAL, "GTID_LIST truncated");
		if (buf_printf(o, "%s%llu-%llu-%llu", i ? "," : "", (unsigned long long)dom,
			       (unsigned long long)sid, (unsigned long long)seq) < 0)
			return err_set(err, GW_ENOMEM, "out of memory");
	}
	out->kind = BK_GTID_LIST;
	out->gtid_set = bl_arena_strndup(&d->arena, buf_cstr(o), o->len);
	return out->gtid_set ? 0 : err_set(err, GW_ENOMEM, "out of memory");
}

/* mysql::serialization (GTID_TAGGED): a varint whose first
 * byte's trailing one bits count the extra bytes. */
int bl_ser_uint(struct bl_rd *r, uint64_t *out)
{
	uint8_t first;
	unsigned extra = 0, i;
	uint64_t v;

	if (rd_left(r) < 1)
		return -1;
	first = r->p[r->off];
	while (extra < 8 && ((first >> extra) & 1))
		extra++;
	if (rd_left(r) < 1 + (size_t)extra)
		return -1;
	if (extra == 8) {
		v = bl_le(r->p + r->off + 1, 8);
	} else {
		v = (uint64_t)first >> (extra + 1);
		for (i = 0; i < extra; i++)
			v |= (uint64_t)r->p[r->off + 1 + i] << (8 * i + 7 - extra);
	}
	r->off += 1 + extra;
	*out = v;
	return 0;
}

static int ser_int(struct bl_rd *r, int64_t *out)
{
	uint64_t u;

	if (bl_ser_uint(r, &u) < 0)
		return -1;
	*out = (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
	return 0;
}

static int decode_gtid_tagged(struct binlog_decoder *d, const uint8_t *b, size_t len,
			      struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {b, len, 0};
	uint64_t msglen, field, last = 0, v;
	const uint8_t *uuid = NULL;
	const uint8_t *tag = NULL;
	size_t taglen = 0, i;
	int64_t gno = 0;
	bool have_gno = false;
	char us[40];

	/* format version, message size, last non-ignorable field id */
	if (bl_ser_uint(&r, &v) < 0 || bl_ser_uint(&r, &msglen) < 0 || bl_ser_uint(&r, &v) < 0)
		return err_set(err, GW_EFATAL, "GTID_TAGGED truncated");
	if (msglen < r.off)
		goto bad;
	if (msglen < len)
		r.len = (size_t)msglen;
	while (rd_left(&r) > 0) {
		if (bl_ser_uint(&r, &field) < 0)
			goto bad;
		if (field < last && last)
			goto bad;
		last = field;
		switch (field) {
		case 0: /* flags */
			if (bl_ser_uint(&r, &v) < 0)
				goto bad;
			break;
		case 1: { /* uuid: 16 fixed bytes */
			uint8_t *ub = bl_arena_alloc(&d->arena, 16);

			if (!ub)
				return err_set(err, GW_ENOMEM, "out of memory");
			for (i = 0; i < 16; i++) {
				if (bl_ser_uint(&r, &v) < 0)
					goto bad;
				ub[i] = (uint8_t)v;
			}
			uuid = ub;
			break;
		}
		case 2: /* gno */
			if (ser_int(&r, &gno) < 0)
				goto bad;
			have_gno = true;
			break;
		case 3: /* tag */
			if (bl_ser_uint(&r, &v) < 0 || rd_bytes(&r, (size_t)v, &tag) < 0)
				goto bad;
			taglen = (size_t)v;
			break;
		default:
			/* the rest (commit timestamps, lengths, versions) is
			 * not needed: stop here */
			r.off = r.len;
			break;
		}
	}
	if (!uuid || !have_gno || gno < 1 || taglen > 32)
		goto bad;
	for (i = 0; i < taglen; i++) {
		if (!isalnum(tag[i]) && tag[i] != '_')
			goto bad;
		out->gtid_tag[i] = (char)tolower(tag[i]);
	}
	out->gtid_tag[taglen] = 0;
	gtid_uuid_format(us, uuid);
	memcpy(out->gtid_uuid, uuid, 16);
	out->gtid_mysql = true;
	out->kind = BK_GTID;
	out->gtid_seq = (uint64_t)gno;
	if (taglen)
		snprintf(out->gtid, sizeof(out->gtid), "%s:%s:%lld", us, out->gtid_tag,
			 (long long)gno);
	else
		snprintf(out->gtid, sizeof(out->gtid), "%s:%lld", us, (long long)gno);
	return 0;
bad:
	return err_set(err, GW_EFATAL, "GTID_TAGGED malformed at byte %zu", r.off);
}

/*
 * HEARTBEAT_LOG_EVENT_V2 (MySQL 8.0.26 on, sent to a replica whose dump
 * asks for it with USE_HEARTBEAT_EVENT_V2): fields of type, length and
 * value, each a length-encoded integer as in the client protocol, up to a
 * type 0 that ends them. Type 1 is the file name (length bytes), type 2
 * the position (a length-encoded integer filling its length), any other is
 * skipped by its length. The position is what the 4-byte log_pos of the
 * header cannot hold past 4 GiB; without one the header's is taken.
 */
static int decode_heartbeat_v2(struct binlog_decoder *d, const uint8_t *b, size_t len,
			       struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {b, len, 0};
	uint64_t type, flen;
	const uint8_t *v;

	out->rotate_pos = out->next_pos;
	while (rd_left(&r) > 0) {
		if (rd_lenenc(&r, &type) < 0)
			goto bad;
		if (type == 0)
			return 0;
		if (rd_lenenc(&r, &flen) < 0 || flen > rd_left(&r) ||
		    rd_bytes(&r, (size_t)flen, &v) < 0)
			goto bad;
		if (type == 1) {
			out->rotate_file = bl_arena_strndup(&d->arena, v, (size_t)flen);
			if (!out->rotate_file)
				return err_set(err, GW_ENOMEM, "out of memory");
		} else if (type == 2) {
			struct bl_rd f = {v, (size_t)flen, 0};

			if (rd_lenenc(&f, &out->rotate_pos) < 0 || rd_left(&f) > 0)
				goto bad;
		}
	}
	return 0;
bad:
	return err_set(err, GW_EFATAL, "HEARTBEAT_V2 malformed at byte %zu", r.off);
}

static int payload_reserve(struct binlog_decoder *d, size_t n, struct gw_err *err)
{
	uint8_t *p;

	if (n <= d->payload_cap)
		return 0;
	p = realloc(d->payload, n);
	if (!p)
		return err_set(err, GW_ENOMEM, "out of memory for a transaction payload");
	d->payload = p;
	d->payload_cap = n;
	return 0;
}

/* Streams the zstd frame into the payload buffer, which grows only as
 * output really comes, so a lying size field costs no memory. */
static int payload_unzstd(struct binlog_decoder *d, const uint8_t *src, size_t n, size_t usize,
			  struct gw_err *err)
{
	ZSTD_DStream *z = ZSTD_createDStream();
	ZSTD_inBuffer in = {src, n, 0};
	ZSTD_outBuffer out = {NULL, 0, 0};
	size_t r = 1;
	int rc = 0;

	if (!z)
		return err_set(err, GW_ENOMEM, "out of memory for zstd");
	if (ZSTD_isError(ZSTD_initDStream(z))) {
		rc = err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD: zstd init failed");
		goto out;
	}
	while (r != 0) {
		if (out.pos == out.size) {
			size_t want = out.size ? out.size * 2 : 65536;

			if (out.size >= usize) {
				/* all there: the frame may still have its epilogue */
				uint8_t one;
				ZSTD_outBuffer o1 = {&one, 1, 0};

				r = ZSTD_decompressStream(z, &o1, &in);
				if (!ZSTD_isError(r) && o1.pos == 0 && r != 0 && in.pos < in.size)
					continue;
				if (ZSTD_isError(r) || o1.pos > 0 || r != 0) {
					rc = err_set(err, GW_EFATAL,
						     "TRANSACTION_PAYLOAD: zstd data do not hold "
						     "the %zu bytes its header says",
						     usize);
					goto out;
				}
				break;
			}
			if (want > usize)
				want = usize;
			if (payload_reserve(d, want, err) < 0) {
				rc = GW_ENOMEM;
				goto out;
			}
			out.dst = d->payload;
			out.size = want;
		}
		r = ZSTD_decompressStream(z, &out, &in);
		if (ZSTD_isError(r)) {
			rc = err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD: zstd: %s",
				     ZSTD_getErrorName(r));
			goto out;
		}
		if (r != 0 && in.pos == in.size && out.pos < out.size) {
			rc = err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD: zstd data truncated");
			goto out;
		}
	}
	if (out.pos != usize)
		rc = err_set(err, GW_EFATAL,
			     "TRANSACTION_PAYLOAD: %zu bytes uncompressed, header says %zu",
			     out.pos, usize);
out:
	ZSTD_freeDStream(z);
	return rc;
}

static int decode_payload(struct binlog_decoder *d, const uint8_t *b, size_t len,
			  struct binlog_event *out, struct gw_err *err)
{
	struct bl_rd r = {b, len, 0};
	uint64_t type, flen, v, size = 0, ctype = 0, usize = 0;
	const uint8_t *data;
	size_t n;

	for (;;) {
		if (rd_lenenc(&r, &type) < 0)
			return err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD header truncated");
		if (type == 0)
			break;
		if (rd_lenenc(&r, &flen) < 0 || rd_left(&r) < flen)
			return err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD header truncated");
		{
			struct bl_rd f = {r.p + r.off, (size_t)flen, 0};

			if (rd_lenenc(&f, &v) < 0)
				return err_set(err, GW_EFATAL,
					       "TRANSACTION_PAYLOAD field malformed");
		}
		r.off += flen;
		if (type == 1)
			size = v;
		else if (type == 2)
			ctype = v;
		else if (type == 3)
			usize = v;
	}
	data = r.p + r.off;
	n = rd_left(&r);
	if (size && size < n)
		n = (size_t)size;
	if (ctype == 255) { /* NONE */
		usize = n;
	} else if (ctype != 0) {
		return err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD compression %llu unknown",
			       (unsigned long long)ctype);
	} else if (usize == 0) {
		unsigned long long fs = ZSTD_getFrameContentSize(data, n);

		if (fs == ZSTD_CONTENTSIZE_ERROR || fs == ZSTD_CONTENTSIZE_UNKNOWN)
			return err_set(err, GW_EFATAL,
				       "TRANSACTION_PAYLOAD: uncompressed size unknown");
		usize = fs;
	}
	if (usize > MAX_PAYLOAD)
		return err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD of %llu bytes is too large",
			       (unsigned long long)usize);
	if (ctype == 255) {
		if (payload_reserve(d, n, err) < 0)
			return GW_ENOMEM;
		if (n)
			memcpy(d->payload, data, n);
	} else if (payload_unzstd(d, data, n, (size_t)usize, err) < 0) {
		return err->code;
	}
	d->payload_len = (size_t)usize;
	d->payload_off = 0;
	d->in_payload = true;
	out->kind = BK_PAYLOAD;
	return 0;
}

/* Decodes the event at ev (len bytes, already in decoder-owned memory);
 * inner events of payloads have no checksum. */
static int decode_event(struct binlog_decoder *d, const uint8_t *ev, size_t len, bool inner,
			struct binlog_event *out, struct gw_err *err)
{
	const uint8_t *b;
	size_t blen;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (len < HEADER_LEN)
		return err_set(err, GW_EFATAL, "event of %zu bytes is shorter than its header",
			       len);
	out->timestamp = (uint32_t)bl_le(ev, 4);
	out->type_code = ev[4];
	out->server_id = (uint32_t)bl_le(ev + 5, 4);
	out->size = (uint32_t)bl_le(ev + 9, 4);
	out->next_pos = inner ? 0 : bl_le(ev + 13, 4);
	out->flags = (uint16_t)bl_le(ev + 17, 2);
	if (out->size != len)
		return err_set(err, GW_EFATAL, "event size %u in the header, %zu bytes given",
			       out->size, len);
	if (out->type_code == BINLOG_FORMAT_DESCRIPTION_EVENT)
		return decode_fde(d, ev, len, out, err);
	if (out->type_code == 1)
		return err_set(err, GW_EFATAL,
			       "a START_EVENT_V3: binlog versions 1-3 (MySQL before 5.0) are "
			       "not supported");
	if (d->header_len > HEADER_LEN && len < d->header_len)
		return err_set(err, GW_EFATAL,
			       "event of %zu bytes is shorter than the %u-byte header the format "
			       "description declares",
			       len, d->header_len);
	b = ev + (d->header_len > HEADER_LEN ? d->header_len : HEADER_LEN);
	blen = len - (size_t)(b - ev);
	if (!inner && (d->checksum_forced >= 0 ? d->checksum_forced : d->checksum_alg) == 1) {
		uint32_t want, got;

		if (blen < 4)
			return err_set(err, GW_EFATAL, "event too short for its checksum");
		want = (uint32_t)bl_le(ev + len - 4, 4);
		got = (uint32_t)crc32(0L, ev, (uInt)(len - 4));
		if (want != got)
			return err_set(err, GW_EFATAL,
				       "checksum mismatch (stored %08x, computed %08x)", want, got);
		blen -= 4;
	}
	switch (out->type_code) {
	case BINLOG_QUERY_EVENT:
	case BINLOG_EXECUTE_LOAD_QUERY_EVENT:
	case BINLOG_MARIA_QUERY_COMPRESSED_EVENT:
		return decode_query(d, b, blen, out->type_code, out, err);
	case BINLOG_STOP_EVENT:
		out->kind = BK_STOP;
		tables_clear(d);
		return 0;
	case BINLOG_ROTATE_EVENT: {
		size_t phl = bl_post_header_len(d, BINLOG_ROTATE_EVENT, 8);

		if (blen < phl || phl < 8)
			return err_set(err, GW_EFATAL, "ROTATE truncated");
		out->kind = BK_ROTATE;
		out->rotate_pos = bl_le(b, 8);
		out->rotate_file = bl_arena_strndup(&d->arena, b + phl, blen - phl);
		if (!out->rotate_file)
			return err_set(err, GW_ENOMEM, "out of memory");
		/* a real rotate (not the fake one a stream starts with)
		 * ends the file: its table ids mean nothing after it */
		if (out->timestamp != 0 && !inner)
			tables_clear(d);
		return 0;
	}
	case BINLOG_INCIDENT_EVENT: {
		/* the incident's number, then a message of at most 255 bytes
		 * (a length byte and the text) */
		size_t phl = bl_post_header_len(d, BINLOG_INCIDENT_EVENT, 2), ml;

		if (phl < 2 || blen < phl)
			return err_set(err, GW_EFATAL, "INCIDENT truncated");
		out->kind = BK_INCIDENT;
		out->incident = (uint16_t)bl_le(b, 2);
		ml = blen > phl ? b[phl] : 0;
		if (blen > phl && blen - phl - 1 < ml)
			return err_set(err, GW_EFATAL, "INCIDENT message truncated");
		out->sql = bl_arena_strndup(&d->arena, ml ? b + phl + 1 : (const uint8_t *)"", ml);
		out->sql_len = ml;
		return out->sql ? 0 : err_set(err, GW_ENOMEM, "out of memory");
	}
	case BINLOG_XID_EVENT:
		if (blen < 8)
			return err_set(err, GW_EFATAL, "XID truncated");
		out->kind = BK_XID;
		out->xid = bl_le(b, 8);
		return 0;
	case BINLOG_TABLE_MAP_EVENT: return decode_table_map(d, b, blen, out, err);
	case BINLOG_WRITE_ROWS_EVENT_V1:
	case BINLOG_UPDATE_ROWS_EVENT_V1:
	case BINLOG_DELETE_ROWS_EVENT_V1:
	case BINLOG_WRITE_ROWS_EVENT:
	case BINLOG_UPDATE_ROWS_EVENT:
	case BINLOG_DELETE_ROWS_EVENT:
	case BINLOG_PARTIAL_UPDATE_ROWS_EVENT:
	case BINLOG_MARIA_WRITE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_DELETE_ROWS_COMPRESSED_EVENT_V1:
	case BINLOG_MARIA_WRITE_ROWS_COMPRESSED_V1:
	case BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_V1:
	case BINLOG_MARIA_DELETE_ROWS_COMPRESSED_V1:
		return bl_decode_rows(d, b, blen, out->type_code, out, err);
	case BINLOG_HEARTBEAT_EVENT:
		out->kind = BK_HEARTBEAT;
		out->rotate_pos = out->next_pos;
		out->rotate_file = bl_arena_strndup(&d->arena, b, blen);
		return out->rotate_file ? 0 : err_set(err, GW_ENOMEM, "out of memory");
	case BINLOG_HEARTBEAT_LOG_EVENT_V2:
		out->kind = BK_HEARTBEAT;
		return decode_heartbeat_v2(d, b, blen, out, err);
	case BINLOG_ROWS_QUERY_EVENT:
		if (blen < 1)
			return err_set(err, GW_EFATAL, "ROWS_QUERY truncated");
		out->kind = BK_ROWS_QUERY;
		out->sql = bl_arena_strndup(&d->arena, b + 1, blen - 1);
		out->sql_len = blen - 1;
		return out->sql ? 0 : err_set(err, GW_ENOMEM, "out of memory");
	case BINLOG_MARIA_ANNOTATE_ROWS_EVENT:
		out->kind = BK_ROWS_QUERY;
		out->sql = bl_arena_strndup(&d->arena, b, blen);
		out->sql_len = blen;
		return out->sql ? 0 : err_set(err, GW_ENOMEM, "out of memory");
	case BINLOG_GTID_EVENT:
	case BINLOG_ANONYMOUS_GTID_EVENT: {
		char us[GTID_UUID_TEXT];

		if (blen < 25)
			return err_set(err, GW_EFATAL, "GTID truncated");
		out->kind = BK_GTID;
		out->gtid_seq = bl_le(b + 17, 8);
		if (out->type_code == BINLOG_GTID_EVENT) {
			if (out->gtid_seq < 1 || out->gtid_seq >= (uint64_t)INT64_MAX)
				return err_set(err, GW_EFATAL, "GTID number %llu out of range",
					       (unsigned long long)out->gtid_seq);
			memcpy(out->gtid_uuid, b + 1, 16);
			out->gtid_mysql = true;
			gtid_uuid_format(us, b + 1);
			snprintf(out->gtid, sizeof(out->gtid), "%s:%llu", us,
				 (unsigned long long)out->gtid_seq);
		} else {
			out->gtid_anonymous = true;
		}
		return 0;
	}
	case BINLOG_GTID_TAGGED_LOG_EVENT: return decode_gtid_tagged(d, b, blen, out, err);
	case BINLOG_PREVIOUS_GTIDS_EVENT: return decode_gtid_set(d, b, blen, out, err);
	case BINLOG_MARIA_GTID_EVENT: return decode_maria_gtid(d, b, blen, out, err);
	case BINLOG_MARIA_GTID_LIST_EVENT: return decode_maria_gtid_list(d, b, blen, out, err);
	case BINLOG_MARIA_BINLOG_CHECKPOINT_EVENT:
		if (blen >= 4 && (v = bl_le(b, 4)) <= blen - 4) {
			out->rotate_file = bl_arena_strndup(&d->arena, b + 4, (size_t)v);
			if (!out->rotate_file)
				return err_set(err, GW_ENOMEM, "out of memory");
		}
		return 0;
	case BINLOG_MARIA_START_ENCRYPTION_EVENT:
		return err_set(err, GW_EFATAL,
			       "the binlog is encrypted (encrypt_binlog=ON): cannot decode it");
	case BINLOG_TRANSACTION_PAYLOAD_EVENT:
		if (inner)
			return err_set(err, GW_EFATAL, "TRANSACTION_PAYLOAD nested in a payload");
		return decode_payload(d, b, blen, out, err);
	case BINLOG_XA_PREPARE_LOG_EVENT: {
		uint64_t gl, bq;

		if (blen < 13)
			return err_set(err, GW_EFATAL, "XA_PREPARE truncated");
		gl = bl_le(b + 5, 4);
		bq = bl_le(b + 9, 4);
		if (gl > 64 || bq > 64 || blen < 13 + gl + bq)
			return err_set(err, GW_EFATAL, "XA_PREPARE malformed");
		out->kind = BK_XA_PREPARE;
		out->xa_one_phase = b[0] != 0;
		out->xa_format_id = (uint32_t)bl_le(b + 1, 4);
		out->xa_gtrid_len = (size_t)gl;
		out->xa_bqual_len = (size_t)bq;
		out->xa_data = bl_arena_strndup(&d->arena, b + 13, (size_t)(gl + bq));
		return out->xa_data ? 0 : err_set(err, GW_ENOMEM, "out of memory");
	}
	default: out->kind = BK_OTHER; return 0;
	}
}

int binlog_decode(struct binlog_decoder *d, const uint8_t *ev, size_t len, struct binlog_event *out,
		  struct gw_err *err)
{
	bl_arena_reset(&d->arena);
	d->in_payload = false;
	if (len > d->ev_cap) {
		uint8_t *p = realloc(d->ev, len);

		if (!p)
			return err_set(err, GW_ENOMEM, "out of memory for an event of %zu bytes",
				       len);
		d->ev = p;
		d->ev_cap = len;
	}
	if (len)
		memcpy(d->ev, ev, len);
	if (decode_event(d, d->ev, len, false, out, err) < 0) {
		if (err->code == 0)
			err->code = GW_EFATAL;
		if (len >= 5)
			err_prefix(err, "%s event", bl_type_name(ev[4]));
		return err->code;
	}
	return 0;
}

int binlog_decode_inner(struct binlog_decoder *d, struct binlog_event *out, bool *have_out,
			struct gw_err *err)
{
	size_t left, size;
	const uint8_t *ev;

	*have_out = false;
	if (!d->in_payload || d->payload_off >= d->payload_len) {
		d->in_payload = false;
		return 0;
	}
	bl_arena_reset(&d->arena);
	left = d->payload_len - d->payload_off;
	ev = d->payload + d->payload_off;
	if (left < HEADER_LEN || (size = (size_t)bl_le(ev + 9, 4)) < HEADER_LEN || size > left) {
		d->in_payload = false;
		return err_set(err, GW_EFATAL,
			       "transaction payload: inner event at byte %zu truncated",
			       d->payload_off);
	}
	d->payload_off += size;
	if (decode_event(d, ev, size, true, out, err) < 0) {
		if (err->code == 0)
			err->code = GW_EFATAL;
		err_prefix(err, "transaction payload: %s event at byte %zu", bl_type_name(ev[4]),
			   d->payload_off - size);
		d->in_payload = false;
		return err->code;
	}
	*have_out = true;
	return 0;
}

static struct bl_table *latest_map(struct binlog_decoder *d, const char *db, const char *table)
{
	size_t i = d->ntables;

	while (i-- > 0)
		if (strcmp(d->tables[i]->db, db) == 0 && strcmp(d->tables[i]->table, table) == 0)
			return d->tables[i];
	return NULL;
}

int binlog_decoder_describe_temporal(struct binlog_decoder *d, const char *db, const char *table,
				     const uint8_t *fsp, size_t ncols, struct gw_err *err)
{
	struct bl_table *t = latest_map(d, db, table);
	size_t i;

	if (!t)
		return err_set(err, GW_ENOTFOUND, "%s.%s: no table map seen", db, table);
	if (t->ncols != ncols)
		return err_set(err, GW_EFATAL,
			       "%s.%s: the binlog's table map has %zu columns, the schema %zu", db,
			       table, t->ncols, ncols);
	for (i = 0; i < ncols; i++) {
		uint8_t ty = t->cols[i].type;

		if (fsp[i] > 6)
			return err_set(err, GW_EFATAL, "%s.%s column %zu: %u fractional digits", db,
				       table, i + 1, fsp[i]);
		if (ty == MT_TIME || ty == MT_DATETIME || ty == MT_TIMESTAMP)
			t->cols[i].meta = fsp[i];
	}
	return 0;
}

int binlog_decoder_describe_table(struct binlog_decoder *d, const char *db, const char *table,
				  char *const *names, const bool *is_unsigned, size_t ncols,
				  struct gw_err *err)
{
	struct bl_table *t = latest_map(d, db, table);
	size_t i;

	if (!t)
		return err_set(err, GW_ENOTFOUND, "%s.%s: no table map seen", db, table);
	if (t->ncols != ncols)
		return err_set(err, GW_EFATAL,
			       "%s.%s: the binlog's table map has %zu columns, the schema %zu", db,
			       table, t->ncols, ncols);
	for (i = 0; i < ncols; i++) {
		/* The binlog's names (binlog_row_metadata=FULL) are the truth at
		 * this position: a schema that disagrees is another layout. */
		if (t->names_logged && names && names[i] && t->cols[i].name &&
		    strcasecmp(names[i], t->cols[i].name))
			return err_set(err, GW_EFATAL,
				       "%s.%s: column %zu is %s in the binlog but %s in the schema "
				       "used to apply it (the table changed later in the binlog)",
				       db, table, i + 1, t->cols[i].name, names[i]);
		if (names && names[i] && !t->cols[i].name) {
			t->cols[i].name = strdup(names[i]);
			if (!t->cols[i].name)
				return err_set(err, GW_ENOMEM, "out of memory");
		}
		if (is_unsigned && !t->cols[i].signedness_known &&
		    is_numeric(t->cols[i].type, d->mariadb)) {
			t->cols[i].is_unsigned = is_unsigned[i];
			t->cols[i].signedness_known = true;
		}
	}
	t->has_names = true;
	for (i = 0; i < ncols; i++)
		if (!t->cols[i].name)
			t->has_names = false;
	return 0;
}
