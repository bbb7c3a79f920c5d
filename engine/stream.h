/*
 * The source's binlog as a replica sees it: where the source is now
 * (stream_source_position, for the copy's hand-off, an incremental-only
 * start and the cutover's final position) and the stream of its events
 * from a position (stream_open, stream_next), for MariaDB and MySQL.
 *
 * The dump is asked for here, not by Connector/C's MARIADB_RPL: that one
 * sends only COM_BINLOG_DUMP (no MySQL GTID dump) and parses every event
 * itself, refusing the ones it does not know (TRANSACTION_PAYLOAD,
 * PARTIAL_UPDATE_ROWS, GTID_TAGGED, HEARTBEAT_V2, INCIDENT). The connection,
 * TLS and authentication stay Connector/C's (conn_open); this module sends
 * the replication commands on it and reads the packets, which Connector/C
 * reassembles when an event is larger than 16 MiB. The bytes go to the
 * project's decoder (binlog/).
 *
 * The stream is asked with checksums announced (@source_binlog_checksum,
 * @master_binlog_checksum before MySQL 8.0.26), a heartbeat every
 * STREAM_HEARTBEAT_MS (@source_heartbeat_period / @master_heartbeat_period)
 * and the task's own server id, registered with COM_REGISTER_SLAVE and a
 * replica uuid of its own (MySQL ends an older dump of the same id or uuid:
 * two streams of one task cannot both run). A source that sends nothing,
 * not even a heartbeat, for CONN_STREAM_TIMEOUT_S counts as lost.
 */
#ifndef GODWIT_STREAM_H
#define GODWIT_STREAM_H

#include "lib/common.h"
#include "binlog/binlog.h"
#include "binlog/gtid.h"
#include "engine/meta.h"
#include "lib/err.h"
#include "spec/spec.h"

#include <mysql.h>

/* The source sends a heartbeat after this long without events: it is how
 * the applier learns that the stream has nothing more for now and commits
 * the group it holds (else the last group would wait for the next event). */
#define STREAM_HEARTBEAT_MS 100

/*
 * Reads the source's current position: SHOW BINARY LOG STATUS (MySQL 8.2+)
 * or SHOW MASTER STATUS for the file and offset, and in the same row
 * MySQL's executed GTID set, kept when gtid_mode is ON (kind
 * POS_MYSQL_GTID; otherwise POS_FILE), or MariaDB's gtid_binlog_pos (kind
 * POS_MARIADB); MySQL's server_uuid with it. GW_EFATAL when the source has
 * no binlog.
 */
int stream_source_position(struct binlog_pos *out, MYSQL *src, struct gw_err *err);

/* The source's server_uuid (MySQL; "" on MariaDB, which has none). */
int stream_source_uuid(char out[64], MYSQL *src, struct gw_err *err);

/* Where a stream starts. */
struct stream_from {
	enum binlog_pos_kind kind;
	const char *file; /* POS_FILE, and POS_MARIADB without GTIDs yet */
	uint64_t pos;
	const struct gtid_pos *mariadb; /* POS_MARIADB: GTID dump when not empty */
	const struct gtid_set *mysql;	/* POS_MYSQL_GTID: COM_BINLOG_DUMP_GTID */
};

struct stream;

/*
 * Opens a replica connection to the spec's source and asks for the binlog
 * from *from; dec learns whether events carry checksums. GW_EFATAL when
 * the source refuses the position (errno 1236: *errno_out says so) or the
 * account lacks the privileges; GW_ERETRY when the connection fails.
 */
int stream_open(struct stream **out, const struct spec *s, const struct stream_from *from,
		struct binlog_decoder *dec, unsigned *errno_out, struct gw_err *err);
/*
 * The next event's bytes (header to checksum), valid until the next call.
 * GW_ERETRY when the connection is lost or silent (no event or heartbeat
 * for CONN_STREAM_TIMEOUT_S) or the source ends the stream; the server's
 * error otherwise, its number in *errno_out (1236: the source cannot send
 * from the position asked).
 */
int stream_next(struct stream *st, const uint8_t **ev_out, size_t *len_out, unsigned *errno_out,
		struct gw_err *err);
void stream_close(struct stream *st);

/* The server id the task's streams use: from its name, above 10^9, out of
 * the way of real replicas. */
uint32_t stream_server_id(const char *task);

#endif
