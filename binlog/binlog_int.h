/*
 * Internals shared by the binlog decoder's files (binlog.c: events and
 * table maps; binlog_rows.c: row images; binlog_jsonb.c: MySQL binary JSON;
 * binlog_json.c: the JSON output). Not for use outside binlog/binlog*.c.
 */
#ifndef GODWIT_BINLOG_INT_H
#define GODWIT_BINLOG_INT_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "binlog/binlog.h"
#include "binlog/gtid.h"

/* MYSQL_TYPE_* codes as they appear in table maps. */
enum {
	MT_DECIMAL = 0,
	MT_TINY = 1,
	MT_SHORT = 2,
	MT_LONG = 3,
	MT_FLOAT = 4,
	MT_DOUBLE = 5,
	MT_NULL = 6,
	MT_TIMESTAMP = 7,
	MT_LONGLONG = 8,
	MT_INT24 = 9,
	MT_DATE = 10,
	MT_TIME = 11,
	MT_DATETIME = 12,
	MT_YEAR = 13,
	MT_NEWDATE = 14,
	MT_VARCHAR = 15,
	MT_BIT = 16,
	MT_TIMESTAMP2 = 17,
	MT_DATETIME2 = 18,
	MT_TIME2 = 19,
	MT_TYPED_ARRAY = 20,
	MT_VECTOR = 242,
	MT_JSON = 245,
	MT_NEWDECIMAL = 246,
	MT_ENUM = 247,
	MT_SET = 248,
	MT_TINY_BLOB = 249,
	MT_MEDIUM_BLOB = 250,
	MT_LONG_BLOB = 251,
	MT_BLOB = 252,
	MT_VAR_STRING = 253,
	MT_STRING = 254,
	MT_GEOMETRY = 255,
};

/* A bump allocator for what one event points to; reset per event. */
struct bl_chunk;
struct bl_arena {
	struct bl_chunk *head;
	size_t total;
};

void *bl_arena_alloc(struct bl_arena *a, size_t n);
char *bl_arena_strndup(struct bl_arena *a, const void *s, size_t n);
void bl_arena_reset(struct bl_arena *a);
void bl_arena_release(struct bl_arena *a);

/* A bounds-checked little-endian reader over one event's bytes. */
struct bl_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline size_t rd_left(const struct bl_rd *r)
{
	return r->len - r->off;
}

uint64_t bl_le(const uint8_t *p, size_t n);
uint64_t bl_be(const uint8_t *p, size_t n);
/* Reads n bytes LE into *out; -1 when short. */
int rd_uint(struct bl_rd *r, size_t n, uint64_t *out);
/* Length-encoded integer of the client protocol; -1 when short or 0xfb/0xff. */
int rd_lenenc(struct bl_rd *r, uint64_t *out);
/* Points *out at the next n bytes; -1 when short. */
int rd_bytes(struct bl_rd *r, size_t n, const uint8_t **out);
/* A number of mysql::serialization (GTID_TAGGED, tagged GTID
 * sets): the first byte's trailing one bits count the bytes that follow;
 * -1 when short. */
int bl_ser_uint(struct bl_rd *r, uint64_t *out);

/* Decodes one column value of type/meta at r into v (strings in the
 * arena). The column tells charset and signedness. Returns 0, or -1 with
 * a reason in err. */
int bl_decode_value(struct bl_arena *a, struct bl_rd *r, const struct bl_column *col,
		    struct bl_value *v, struct gw_err *err);
/* Size in bytes of the binary NEWDECIMAL of precision/scale, or 0 when
 * precision/scale are invalid. */
size_t bl_decimal_size(unsigned precision, unsigned scale);
/* Formats a binary NEWDECIMAL; -1 when the bytes are malformed. */
int bl_decimal_format(struct buf *out, const uint8_t *p, size_t len, unsigned precision,
		      unsigned scale);
/* MySQL binary JSON to JSON text. -1 with a reason in err when malformed. */
int bl_jsonb_to_text(struct buf *out, const uint8_t *p, size_t len, struct gw_err *err);

/* Partial JSON update (PARTIAL_UPDATE_ROWS): applies the diff list at
 * p/len to the before document (JSON text) into out. -1 with a reason. */
int bl_json_apply_diffs(struct buf *out, const char *before, size_t before_len, const uint8_t *p,
			size_t len, struct gw_err *err);

/* The name of an event type in the JSON output ("write_rows", ...). */
const char *bl_type_name(uint8_t type_code);

#define BL_MAX_TABLES 4096
/* The most memory the decoded rows of one event may take. */
#define BL_MAX_ROWS_MEMORY ((size_t)256 << 20)

struct binlog_decoder {
	bool have_fde;
	uint8_t checksum_alg; /* what the format description says */
	int checksum_forced;  /* binlog_decoder_set_checksum(), -1 if not */
	uint16_t binlog_version;
	uint8_t header_len; /* the common header's, from the format description */
	bool mariadb;
	char server_version[64];
	uint8_t post_header[256]; /* by type code - 1 */
	size_t npost;

	struct bl_table **tables; /* oldest first */
	size_t ntables, cap_tables;

	struct bl_arena arena; /* what the current event points to */
	uint8_t *ev;	       /* private copy of the current event */
	size_t ev_cap;

	uint8_t *payload; /* decompressed TRANSACTION_PAYLOAD */
	size_t payload_len, payload_off, payload_cap;
	bool in_payload;

	struct bl_row *rows;
	size_t cap_rows;
	struct buf scratch;
	struct gtid_set gtids; /* PREVIOUS_GTIDS being formatted */
};

/* The post-header length of an event type from the format description
 * (def when unknown). */
size_t bl_post_header_len(const struct binlog_decoder *d, uint8_t type, size_t def);
/* Decodes the body of a rows event (after the common header, without the
 * checksum) into out. */
int bl_decode_rows(struct binlog_decoder *d, const uint8_t *body, size_t len, uint8_t type,
		   struct binlog_event *out, struct gw_err *err);
/* The latest map for a table id, or NULL. */
struct bl_table *bl_find_table(struct binlog_decoder *d, uint64_t id);
/* Whether s/n is valid UTF-8. */
bool bl_utf8_valid(const uint8_t *s, size_t n);
/* zlib-uncompresses MariaDB's compressed event format (header byte, big
 * endian length, zlib stream) into the arena. */
int bl_maria_uncompress(struct bl_arena *a, const uint8_t *p, size_t len, const uint8_t **out,
			size_t *out_len, struct gw_err *err);

#endif
