/*
 * The binlog decoder: bytes of one event (from a file, or from the network
 * after the leading OK byte) to a decoded struct binlog_event, for MariaDB
 * 10.x and MySQL 5.5-9.x. Row images are decoded here from the TABLE_MAP
 * metadata, not by the connector.
 *
 * Ownership: everything an event points to is owned by the decoder and
 * stays valid until the next call of binlog_decode() or
 * binlog_decode_inner() on the same decoder. Table maps stay valid until
 * the next STOP/ROTATE-to-new-file or a newer map for the same table id.
 */
#ifndef GODWIT_BINLOG_H
#define GODWIT_BINLOG_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <stdint.h>

/* Event type codes, as in the binlog. */
enum {
	BINLOG_QUERY_EVENT = 2,
	BINLOG_STOP_EVENT = 3,
	BINLOG_ROTATE_EVENT = 4,
	BINLOG_FORMAT_DESCRIPTION_EVENT = 15,
	BINLOG_XID_EVENT = 16,
	BINLOG_EXECUTE_LOAD_QUERY_EVENT = 18,
	BINLOG_TABLE_MAP_EVENT = 19,
	BINLOG_WRITE_ROWS_EVENT_V1 = 23,
	BINLOG_UPDATE_ROWS_EVENT_V1 = 24,
	BINLOG_DELETE_ROWS_EVENT_V1 = 25,
	BINLOG_INCIDENT_EVENT = 26,
	BINLOG_HEARTBEAT_EVENT = 27,
	BINLOG_ROWS_QUERY_EVENT = 29,
	BINLOG_WRITE_ROWS_EVENT = 30,
	BINLOG_UPDATE_ROWS_EVENT = 31,
	BINLOG_DELETE_ROWS_EVENT = 32,
	BINLOG_GTID_EVENT = 33,
	BINLOG_ANONYMOUS_GTID_EVENT = 34,
	BINLOG_PREVIOUS_GTIDS_EVENT = 35,
	BINLOG_XA_PREPARE_LOG_EVENT = 38,
	BINLOG_PARTIAL_UPDATE_ROWS_EVENT = 39,
	BINLOG_TRANSACTION_PAYLOAD_EVENT = 40,
	BINLOG_HEARTBEAT_LOG_EVENT_V2 = 41,
	BINLOG_GTID_TAGGED_LOG_EVENT = 42,
	BINLOG_MARIA_ANNOTATE_ROWS_EVENT = 160,
	BINLOG_MARIA_BINLOG_CHECKPOINT_EVENT = 161,
	BINLOG_MARIA_GTID_EVENT = 162,
	BINLOG_MARIA_GTID_LIST_EVENT = 163,
	BINLOG_MARIA_START_ENCRYPTION_EVENT = 164,
	BINLOG_MARIA_QUERY_COMPRESSED_EVENT = 165,
	/* MariaDB's compressed rows events: 166-168 have the v1 layout
	 * (what MariaDB writes with log_bin_compress), 169-171 the v2 one.
	 * The three *_COMPRESSED_V1 names below are kept for compatibility
	 * but are the v2 codes (MariaDB's *_ROWS_COMPRESSED_EVENT). */
	BINLOG_MARIA_WRITE_ROWS_COMPRESSED_EVENT_V1 = 166,
	BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_EVENT_V1 = 167,
	BINLOG_MARIA_DELETE_ROWS_COMPRESSED_EVENT_V1 = 168,
	BINLOG_MARIA_WRITE_ROWS_COMPRESSED_V1 = 169,
	BINLOG_MARIA_UPDATE_ROWS_COMPRESSED_V1 = 170,
	BINLOG_MARIA_DELETE_ROWS_COMPRESSED_V1 = 171,
};

/* Bits of a QUERY event's sql_mode that change how its text reads (the
 * same in MySQL and MariaDB). */
#define BINLOG_SQL_MODE_ANSI_QUOTES (1ULL << 2)
#define BINLOG_SQL_MODE_NO_BACKSLASH_ESCAPES (1ULL << 20)

/* What a decoded event is, independent of version and compression. */
enum binlog_kind {
	BK_OTHER = 0,
	BK_FORMAT_DESCRIPTION,
	BK_ROTATE,
	BK_QUERY, /* DDL, BEGIN, COMMIT (statement), ...; also
		     EXECUTE_LOAD_QUERY (a statement-format LOAD DATA) */
	BK_XID,	  /* transaction commit */
	BK_TABLE_MAP,
	BK_WRITE_ROWS,
	BK_UPDATE_ROWS, /* also PARTIAL_UPDATE_ROWS, with full after images
			   rebuilt where the before image allows */
	BK_DELETE_ROWS,
	BK_GTID,      /* MySQL GTID / GTID_TAGGED, MariaDB GTID */
	BK_GTID_LIST, /* MySQL PREVIOUS_GTIDS, MariaDB GTID_LIST */
	BK_HEARTBEAT,
	BK_ROWS_QUERY, /* MySQL ROWS_QUERY, MariaDB ANNOTATE_ROWS */
	BK_PAYLOAD,    /* MySQL TRANSACTION_PAYLOAD: the inner events follow
			  through binlog_decode_inner() */
	BK_STOP,
	BK_XA_PREPARE,
	BK_INCIDENT, /* the source's binlog misses changes: a replica stops */
};

enum { BL_XA_PREPARED = 1, BL_XA_COMPLETED = 2 };

/* A column value decoded from a row image. */
enum bl_kind {
	BL_NULL = 0,
	BL_INT,	     /* i: signed integers, YEAR */
	BL_UINT,     /* u: unsigned integers, BIT (as the number) */
	BL_DOUBLE,   /* d: FLOAT, DOUBLE */
	BL_DECIMAL,  /* s: exact digits, e.g. "-12.3400" */
	BL_TEMPORAL, /* s: "2024-02-29 13:04:05.250000", "-507:48:27", "2024-02-29" */
	BL_TEXT,     /* s/len: bytes in the column's charset (charset set) */
	BL_BINARY,   /* s/len: BINARY/VARBINARY/BLOB/GEOMETRY bytes, exact */
	BL_JSON,     /* s/len: the document as JSON text (binary JSON decoded) */
	BL_ENUM,     /* u: 1-based index; s: the label when known */
	BL_SET,	     /* u: bitmask; s: the labels joined by ',' when known */
};

struct bl_value {
	enum bl_kind kind;
	int64_t i;
	uint64_t u;
	double d;
	const char *s; /* owned by the decoder */
	size_t len;
	uint16_t charset; /* collation id for BL_TEXT, 0 if unknown */
};

struct bl_column {
	uint8_t type;  /* MYSQL_TYPE_* as in the table map (real type) */
	uint16_t meta; /* type metadata from the table map: 1-byte metadata as is
			  (FLOAT/DOUBLE pack length, BLOB/JSON/GEOMETRY length
			  bytes, TIME2/DATETIME2/TIMESTAMP2 fsp); VARCHAR max
			  length and BIT (bytes << 8 | bits) little-endian;
			  STRING/ENUM/SET (real type << 8 | length) and
			  NEWDECIMAL (precision << 8 | scale) big-endian */
	bool nullable;
	bool is_unsigned; /* from optional metadata; false when unknown */
	bool signedness_known;
	uint16_t charset; /* 0 when unknown */
	bool is_pk;	  /* from optional metadata */
	char *name;	  /* NULL when the map has no column names
			     (binlog_row_metadata=MINIMAL) */
	char **labels;	  /* ENUM/SET labels, NULL when unknown */
	size_t nlabels;
};

struct bl_table {
	uint64_t id;
	char *db;
	char *table;
	size_t ncols;
	struct bl_column *cols;
	bool has_names;	   /* every column has a name */
	bool names_logged; /* the names came with the map (binlog_row_metadata=FULL) */
};

/* One row change. `before` and `after` have table->ncols entries; a
 * column absent from the image (partial row images) has present[i] false
 * and kind BL_NULL. */
struct bl_row {
	struct bl_value *before; /* NULL for write rows */
	struct bl_value *after;	 /* NULL for delete rows */
	bool *before_present;
	bool *after_present;
};

struct binlog_event {
	/* the common header */
	uint32_t timestamp;
	uint8_t type_code;
	uint32_t server_id;
	uint32_t size;
	uint64_t next_pos; /* log_pos: position after this event; 0 inside payloads */
	uint16_t flags;
	enum binlog_kind kind;

	/* BK_QUERY */
	const char *db;
	const char *sql;
	size_t sql_len;
	/* the session's sql_mode (BINLOG_SQL_MODE_*), when the event has it */
	bool has_sql_mode;
	uint64_t sql_mode;
	/* BK_XID */
	uint64_t xid;
	/* BK_ROTATE */
	const char *rotate_file;
	uint64_t rotate_pos;
	/* BK_GTID: "0-1-42" (MariaDB) or "uuid:42" / "uuid:tag:42" (MySQL) */
	char gtid[128];
	uint32_t gtid_domain; /* MariaDB */
	uint64_t gtid_seq;
	bool gtid_standalone; /* MariaDB: a DDL or non-transactional event group */
	/* MySQL GTID / GTID_TAGGED: the uuid and the tag ("" when untagged);
	 * ANONYMOUS_GTID (a source with gtid_mode OFF) has gtid_anonymous */
	bool gtid_mysql;
	bool gtid_anonymous;
	uint8_t gtid_uuid[16];
	char gtid_tag[33];
	/* MariaDB GTID of an XA transaction's group (XID in xa_*):
	 * BL_XA_PREPARED (its XA PREPARE) or BL_XA_COMPLETED (XA COMMIT or
	 * XA ROLLBACK); 0 otherwise */
	uint8_t gtid_xa;
	/* BK_GTID_LIST: the set, formatted as a GTID set string */
	const char *gtid_set;
	/* BK_TABLE_MAP and row events */
	const struct bl_table *table;
	/* row events */
	size_t nrows;
	const struct bl_row *rows;
	/* BK_ROWS_QUERY: the statement (sql/sql_len) */
	/* BK_FORMAT_DESCRIPTION */
	const char *server_version;
	uint8_t checksum_alg; /* 0 none, 1 CRC32 */
	/* BK_HEARTBEAT: the source's current file and position, when sent
	 * (rotate_file, rotate_pos) */
	/* BK_INCIDENT: the incident number (1: LOST_EVENTS) and its message
	 * (sql/sql_len) */
	uint16_t incident;
	/* BK_XA_PREPARE: the XID of the prepared transaction */
	uint32_t xa_format_id;
	const char *xa_data; /* gtrid bytes then bqual bytes */
	size_t xa_gtrid_len, xa_bqual_len;
	bool xa_one_phase;
};

struct binlog_decoder;

/* A new decoder (caller frees with binlog_decoder_free); NULL on OOM. */
struct binlog_decoder *binlog_decoder_new(void);
void binlog_decoder_free(struct binlog_decoder *d);
/*
 * Decodes one whole event (header included). Checksums are verified when
 * the format description says CRC32 (the connector's stream verifies them
 * too). A malformed event is GW_EFATAL with the offset and the reason.
 */
int binlog_decode(struct binlog_decoder *d, const uint8_t *ev, size_t len, struct binlog_event *out,
		  struct gw_err *err);
/* After BK_PAYLOAD: the next inner event into out; *have_out false when
 * the payload is exhausted. */
int binlog_decode_inner(struct binlog_decoder *d, struct binlog_event *out, bool *have_out,
			struct gw_err *err);
/*
 * Supplies what a MINIMAL table map lacks (names, signedness, labels) from
 * the applier's schema history, for the table id of the latest map of
 * db.table. Columns are in table order; NULL arrays mean unknown. A
 * description (also binlog_decoder_describe_temporal()'s) carries over to
 * later maps of db.table with the same column types and metadata; after
 * DDL on the table, describe it again.
 */
int binlog_decoder_describe_table(struct binlog_decoder *d, const char *db, const char *table,
				  char *const *names, const bool *is_unsigned, size_t ncols,
				  struct gw_err *err);

/*
 * MariaDB tables whose TIME/DATETIME/TIMESTAMP columns have fractional
 * seconds in the pre-10.1 format (created with mysql56_temporal_format=OFF)
 * have a size the table map does not carry: gives the fractional digits of
 * each column (0 for the others, from information_schema.COLUMNS
 * DATETIME_PRECISION) for the latest map of db.table; those columns then
 * get meta = fsp. Without it such rows fail to decode.
 */
int binlog_decoder_describe_temporal(struct binlog_decoder *d, const char *db, const char *table,
				     const uint8_t *fsp, size_t ncols, struct gw_err *err);

/*
 * Overrides the checksum algorithm the format description announces, for
 * streams whose server strips checksums (a replica that did not set
 * @master_binlog_checksum): 0 none, 1 CRC32, -1 follow the format
 * description again (the default).
 */
void binlog_decoder_set_checksum(struct binlog_decoder *d, int alg);

/*
 * Appends a decoded value as an SQL literal for a connection with
 * character set binary and time_zone '+00:00' (what conn_open() sets): NULL,
 * numbers, exact DECIMAL digits, quoted temporal strings, X'..' for text
 * and binary (the bytes land unchanged whatever the column's charset),
 * JSON as CONVERT(X'..' USING utf8mb4) (MySQL JSON columns refuse binary
 * strings), ENUM/SET by label when known, else by number.
 */
int binlog_value_sql(struct buf *out, const struct bl_value *v,
		     const struct bl_column *col) WARN_UNUSED;

/* Appends the XID of a BK_XA_PREPARE event or of a MariaDB XA GTID as
 * XA RECOVER ... FORMAT='SQL' shows it: X'gtrid',X'bqual',format_id (hex in
 * lower case). */
int binlog_xid_text(struct buf *out, const struct binlog_event *ev) WARN_UNUSED;

/* Appends the event as one JSON object (PRODUCT.md section 3, `binlog`). */
int binlog_event_json(struct buf *out, const struct binlog_event *ev, const char *file,
		      uint64_t pos) WARN_UNUSED;

#endif
