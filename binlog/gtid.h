/*
 * Positions in a source's binlog, for both flavours, as pure code (no
 * server needed):
 *
 * - MySQL GTID sets (struct gtid_set): "uuid:1-5:7-9,uuid2:3", with the
 *   tagged GTIDs of MySQL 8.3+ ("uuid:1-5:tag:1-3"). Parsed from what
 *   @@GLOBAL.gtid_executed shows (upper or lower case, newlines), formatted
 *   canonically (uuids and tags sorted, lower case, ranges merged, ","
 *   between uuids), combined (add, union, subtract, contains), and encoded
 *   as COM_BINLOG_DUMP_GTID and PREVIOUS_GTIDS carry them.
 * - MariaDB GTID positions (struct gtid_pos): one domain-server-seq per
 *   replication domain, "0-1-42,1-2-7", as @@GLOBAL.gtid_binlog_pos shows.
 * - file:pos needs no type of its own (struct binlog_pos in engine/meta.h
 *   keeps it).
 *
 * Sets and positions are values: *_INIT, then *_release() frees them.
 * Functions that allocate return 0 or GW_ENOMEM and leave the value valid
 * (unchanged or complete) on failure.
 */
#ifndef GODWIT_GTID_H
#define GODWIT_GTID_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <stdint.h>

#define GTID_TAG_MAX 32	  /* characters of a MySQL GTID tag */
#define GTID_UUID_TEXT 37 /* "3e11fa47-71ca-11e1-9e33-c80aa9429562" and NUL */

/* Which kind of position a stored text is. */
enum gtid_flavour {
	GTID_NONE = 0, /* empty */
	GTID_MARIADB,  /* "0-1-42,..." */
	GTID_MYSQL,    /* "uuid:1-5,..." */
};

/* --- MySQL GTID sets ------------------------------------------------- */

struct gtid_range {
	uint64_t lo, hi; /* inclusive, 1 <= lo <= hi < 2^63 */
};

/* The transactions of one uuid (and tag). */
struct gtid_sid {
	uint8_t uuid[16];
	char tag[GTID_TAG_MAX + 1]; /* "" when untagged; lower case */
	struct gtid_range *r;	    /* sorted, disjoint and not adjacent */
	size_t n, cap;
};

/* A MySQL GTID set: sids sorted by (uuid, tag), none empty. */
struct gtid_set {
	struct gtid_sid *s;
	size_t n, cap;
};

#define GTID_SET_INIT      \
	{                  \
		NULL, 0, 0 \
	}

void gtid_set_release(struct gtid_set *s);
/* Empties s, keeping nothing. */
void gtid_set_clear(struct gtid_set *s);
bool gtid_set_is_empty(const struct gtid_set *s);
/* Parses a GTID set text (empty text: the empty set) into *out, which is
 * cleared first. GW_EFATAL with the offending byte in err for bad text. */
int gtid_set_parse(struct gtid_set *out, const char *text, struct gw_err *err);
/* Appends the canonical text ("" for the empty set). */
int gtid_set_format(struct buf *out, const struct gtid_set *s) WARN_UNUSED;
/* Adds the transactions lo..hi (inclusive) of uuid (tag "" or NULL for
 * none; the caller gives it in lower case). */
int gtid_set_add(struct gtid_set *s, const uint8_t uuid[16], const char *tag, uint64_t lo,
		 uint64_t hi) WARN_UNUSED;
/* s = s ∪ o; s = s \ o. */
int gtid_set_union(struct gtid_set *s, const struct gtid_set *o) WARN_UNUSED;
int gtid_set_subtract(struct gtid_set *s, const struct gtid_set *o) WARN_UNUSED;
/* *out = a copy of s (out is cleared first). */
int gtid_set_copy(struct gtid_set *out, const struct gtid_set *s) WARN_UNUSED;
/* Whether every transaction of sub is in s. */
bool gtid_set_contains(const struct gtid_set *s, const struct gtid_set *sub);
/* Whether transaction uuid[:tag]:gno is in s. */
bool gtid_set_has(const struct gtid_set *s, const uint8_t uuid[16], const char *tag, uint64_t gno);
/* Whether s and o are the same set. */
bool gtid_set_equal(const struct gtid_set *s, const struct gtid_set *o);
/*
 * Appends the binary form MySQL sends in COM_BINLOG_DUMP_GTID and writes in
 * PREVIOUS_GTIDS: 8-byte count, then per sid its uuid, 8-byte number of
 * ranges and [start, end) pairs of 8 bytes, little endian. A set with tags
 * uses the tagged format of MySQL 8.3+ (format byte 1, each sid's tag as
 * a serialized length and its bytes); one without, the classic one that
 * every MySQL 5.6+ reads.
 */
int gtid_set_encode(struct buf *out, const struct gtid_set *s) WARN_UNUSED;
/* Decodes that binary form (either format) from p/len into *out (cleared
 * first); *used (may be NULL) gets the bytes read. GW_EFATAL when
 * malformed. */
int gtid_set_decode(struct gtid_set *out, const uint8_t *p, size_t len, size_t *used,
		    struct gw_err *err);

/* "3e11fa47-71ca-11e1-9e33-c80aa9429562" (36 characters, or 32 without
 * dashes, either case) to 16 bytes; -1 when not a uuid. */
int gtid_uuid_parse(uint8_t out[16], const char *s, size_t len);
void gtid_uuid_format(char out[GTID_UUID_TEXT], const uint8_t u[16]);

/* --- MariaDB GTID positions ------------------------------------------ */

struct gtid_dom {
	uint32_t domain;
	uint32_t server;
	uint64_t seq;
};

/* One entry per domain, sorted by domain. */
struct gtid_pos {
	struct gtid_dom *d;
	size_t n, cap;
};

#define GTID_POS_INIT      \
	{                  \
		NULL, 0, 0 \
	}

void gtid_pos_release(struct gtid_pos *p);
/*
 * Parses "0-1-42,1-2-7" (also the bracketed "[0-1-42]" of a Gtid_list
 * event, and spaces or newlines) into *out, cleared first. A domain listed
 * more than once (a Gtid_list holds one entry per domain and server) keeps
 * its highest seq: the last transaction of the domain.
 */
int gtid_pos_parse(struct gtid_pos *out, const char *text, struct gw_err *err);
int gtid_pos_format(struct buf *out, const struct gtid_pos *p) WARN_UNUSED;
/* Sets the domain's entry (the GTID of a transaction just applied). */
int gtid_pos_set(struct gtid_pos *p, uint32_t domain, uint32_t server, uint64_t seq) WARN_UNUSED;
/* The entry of a domain, or NULL. */
const struct gtid_dom *gtid_pos_find(const struct gtid_pos *p, uint32_t domain);
/* Whether have is at or past want in every domain of want. */
bool gtid_pos_reached(const struct gtid_pos *have, const struct gtid_pos *want);
int gtid_pos_copy(struct gtid_pos *out, const struct gtid_pos *p) WARN_UNUSED;

/* Which flavour a position text is: a ':' makes it MySQL, digits and '-'
 * MariaDB, nothing GTID_NONE. */
enum gtid_flavour gtid_text_flavour(const char *text);

#endif
