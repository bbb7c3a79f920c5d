/*
 * The source's binlog as a replica sees it (stream.h): its position, and
 * the replication commands sent on a Connector/C connection.
 *
 * Commands (MySQL's and MariaDB's client/server protocol):
 *   COM_REGISTER_SLAVE (0x15): server id 4, host, user and password as a
 *       length byte and the text (all empty here), port 2, rank 4, source
 *       id 4.
 *   COM_BINLOG_DUMP (0x12): position 4, flags 2, server id 4, file name
 *       (to the end). MariaDB's GTID dump is this with an empty name after
 *       SET @slave_connect_state.
 *   COM_BINLOG_DUMP_GTID (0x1e, MySQL): flags 2 (4: BINLOG_THROUGH_GTID),
 *       server id 4, name length 4 and name (empty), position 8, then the
 *       GTID set's length 4 and its encoding (gtid_set_encode).
 *   Flag 2 asks a MySQL 8.0.26+ source for HEARTBEAT_LOG_EVENT_V2, whose
 *   position does not wrap at 4 GiB, as MySQL's own replica does; the same
 *   bit means BINLOG_SEND_ANNOTATE_ROWS_EVENT to MariaDB, so it is never
 *   sent there.
 * Every event then comes as a packet: 0x00 and the event; an error packet
 * ends the stream, an EOF packet too (the source shut down).
 */
#include "lib/common.h"
#include "engine/stream.h"
#include "engine/conn.h"
#include "lib/log.h"
#include "lib/util.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define CMD_BINLOG_DUMP 0x12
#define CMD_REGISTER_SLAVE 0x15
#define CMD_BINLOG_DUMP_GTID 0x1e
#define DUMP_HEARTBEAT_V2 2
#define DUMP_THROUGH_GTID 4

struct stream {
	MYSQL *m;
};

uint32_t stream_server_id(const char *task)
{
	char h[65];

	util_sha256_hex(h, task, strlen(task));
	return (uint32_t)(strtoul((char[9]){h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 0},
				  NULL, 16) %
			  1000000000u) +
	       1000000000u;
}

/* A uuid of the task's own (a version 4 layout over a hash of its name),
 * for @replica_uuid. */
static void replica_uuid(char out[GTID_UUID_TEXT], const char *task)
{
	char h[65];
	uint8_t u[16];
	size_t i;

	util_sha256_hex(h, task, strlen(task));
	for (i = 0; i < 16; i++)
		u[i] = (uint8_t)strtoul((char[3]){h[2 * i], h[2 * i + 1], 0}, NULL, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	gtid_uuid_format(out, u);
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int stream_source_uuid(char out[64], MYSQL *src, struct gw_err *err)
{
	struct buf v = BUF_INIT;
	unsigned long ver;
	bool mariadb, found;
	int rc = 0;

	out[0] = '\0';
	conn_server_version(src, &ver, &mariadb);
	if (!mariadb &&
	    (rc = conn_query_value(&v, &found, src, "SELECT @@GLOBAL.server_uuid", err)) == 0)
		(void)snprintf(out, 64, "%s", buf_cstr(&v));
	buf_release(&v);
	return rc;
}

/* SHOW BINARY LOG STATUS is MySQL 8.2's name, the only one from 8.4;
 * SHOW MASTER STATUS before (and on MariaDB). A server whose version
 * misleads gets the other on a syntax error. */
static int show_status(MYSQL_RES **out, MYSQL *src, bool mariadb, unsigned long ver,
		       struct gw_err *err)
{
	const char *first =
	    !mariadb && ver >= 80200 ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS";
	const char *second =
	    !mariadb && ver >= 80200 ? "SHOW MASTER STATUS" : "SHOW BINARY LOG STATUS";

	*out = NULL;
	if (mysql_query(src, first) &&
	    (mysql_errno(src) != ER_PARSE_ERROR || mysql_query(src, second)))
		return conn_error(err, src, "reading the source's binlog position");
	if (!(*out = mysql_store_result(src)))
		return conn_error(err, src, "reading the source's binlog position");
	return 0;
}

int stream_source_position(struct binlog_pos *out, MYSQL *src, struct gw_err *err)
{
	struct buf v = BUF_INIT, g = BUF_INIT;
	struct gtid_set set = GTID_SET_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long ver;
	bool mariadb, found, gtid_on = false;
	int rc;

	memset(out, 0, sizeof(*out));
	conn_server_version(src, &ver, &mariadb);
	if (!mariadb) {
		if ((rc = conn_query_value(&v, &found, src, "SELECT @@GLOBAL.gtid_mode", err)) < 0)
			goto out;
		gtid_on = !strcasecmp(buf_cstr(&v), "ON");
		if ((rc = stream_source_uuid(out->source_uuid, src, err)) < 0)
			goto out;
	} else if ((rc = conn_query_value(&v, &found, src, "SELECT @@GLOBAL.gtid_binlog_pos",
					  err)) < 0) {
		goto out;
	} else if (v.len >= sizeof(out->gtid)) {
		rc =
		    err_set(err, GW_EFATAL, "the source's gtid_binlog_pos is longer than %zu bytes",
			    sizeof(out->gtid) - 1);
		goto out;
	} else {
		(void)snprintf(out->gtid, sizeof(out->gtid), "%s", buf_cstr(&v));
	}
	if ((rc = show_status(&res, src, mariadb, ver, err)) < 0)
		goto out;
	if ((row = mysql_fetch_row(res)) && row[0]) {
		(void)snprintf(out->file, sizeof(out->file), "%s", row[0]);
		out->pos = row[1] ? strtoull(row[1], NULL, 10) : 4;
		/* File, Position, Binlog_Do_DB, Binlog_Ignore_DB,
		 * Executed_Gtid_Set: the set of the same instant as the file
		 * position */
		if (!mariadb && gtid_on && mysql_num_fields(res) >= 5) {
			if ((rc = gtid_set_parse(&set, row[4] ? row[4] : "", err)) < 0) {
				err_prefix(err, "the source's Executed_Gtid_Set");
				goto out;
			}
			if (gtid_set_format(&g, &set) < 0) {
				rc = err_set(err, GW_ENOMEM, "out of memory");
				goto out;
			}
			if (g.len >= sizeof(out->gtid)) {
				rc = err_set(err, GW_EFATAL,
					     "the source's executed GTID set is longer than %zu "
					     "bytes",
					     sizeof(out->gtid) - 1);
				goto out;
			}
			(void)snprintf(out->gtid, sizeof(out->gtid), "%s", buf_cstr(&g));
		}
	}
	if (!out->file[0]) {
		rc = err_set(err, GW_EFATAL, "the source has no binlog (log_bin is off)");
		goto out;
	}
	if (!mariadb && gtid_on && mysql_num_fields(res) < 5) {
		rc = err_set(err, GW_EFATAL,
			     "the source's binlog status has no Executed_Gtid_Set although "
			     "gtid_mode is ON");
		goto out;
	}
	out->kind = mariadb ? POS_MARIADB : gtid_on ? POS_MYSQL_GTID : POS_FILE;
out:
	if (res)
		mysql_free_result(res);
	gtid_set_release(&set);
	buf_release(&v);
	buf_release(&g);
	return rc;
}

static int send_command(MYSQL *m, unsigned cmd, const uint8_t *arg, size_t len, bool read_ok)
{
	return m->methods->db_command(m, (enum enum_server_command)cmd, (const char *)arg, len,
				      read_ok ? 0 : 1, NULL)
		   ? -1
		   : 0;
}

static int session_setup(MYSQL *m, const struct spec *s, bool mariadb,
			 const struct stream_from *from, struct gw_err *err)
{
	struct buf q = BUF_INIT, g = BUF_INIT;
	char uuid[GTID_UUID_TEXT];
	int rc;

	/* both names of each variable: the source reads the one it knows */
	if (buf_printf(&q,
		       "SET @master_binlog_checksum = @@global.binlog_checksum,"
		       " @source_binlog_checksum = @@global.binlog_checksum,"
		       " @master_heartbeat_period = %llu, @source_heartbeat_period = %llu",
		       (unsigned long long)STREAM_HEARTBEAT_MS * 1000000ULL,
		       (unsigned long long)STREAM_HEARTBEAT_MS * 1000000ULL) < 0)
		goto oom;
	if (mariadb) {
		/* 4: MARIA_SLAVE_CAPABILITY_GTID, GTID events and GTID dumps */
		if (buf_puts(&q, ", @mariadb_slave_capability = 4") < 0)
			goto oom;
		if (from->kind == POS_MARIADB && from->mariadb && from->mariadb->n &&
		    (gtid_pos_format(&g, from->mariadb) < 0 ||
		     buf_puts(&q, ", @slave_connect_state = ") < 0 ||
		     conn_quote_string(&q, m, g.ptr, g.len) < 0 ||
		     buf_puts(&q,
			      ", @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0") <
			 0))
			goto oom;
	} else {
		replica_uuid(uuid, s->name);
		if (buf_printf(&q, ", @slave_uuid = '%s', @replica_uuid = '%s'", uuid, uuid) < 0)
			goto oom;
	}
	rc = conn_exec(m, buf_cstr(&q), err);
	goto out;
oom:
	rc = err_set(err, GW_ENOMEM, "out of memory");
out:
	buf_release(&q);
	buf_release(&g);
	return rc;
}

/* The error of a refused command: 1236 (the position) and privileges are
 * fatal, the connection's own errors retryable. */
static int command_error(MYSQL *m, const char *what, unsigned *errno_out, struct gw_err *err)
{
	unsigned en = mysql_errno(m);

	*errno_out = en;
	if (en == 1236)
		return err_set(err, GW_EFATAL, "%s: %s (errno %u)", what, mysql_error(m), en);
	return conn_error(err, m, what);
}

int stream_open(struct stream **out, const struct spec *s, const struct stream_from *from,
		struct binlog_decoder *dec, unsigned *errno_out, struct gw_err *err)
{
	struct stream *st = NULL;
	struct buf cmd = BUF_INIT, set = BUF_INIT, v = BUF_INIT;
	uint32_t sid = stream_server_id(s->name);
	unsigned flags;
	unsigned long ver;
	bool mariadb, found;
	uint8_t hdr[18];
	MYSQL *m = NULL;
	int rc;

	*out = NULL;
	*errno_out = 0;
	if ((rc = conn_open(&m, &s->source, "source (binlog)", CONN_NO_SESSION | CONN_STREAM,
			    s->name, err)) < 0)
		return rc;
	conn_server_version(m, &ver, &mariadb);
	flags = !mariadb && ver >= 80026 ? DUMP_HEARTBEAT_V2 : 0;
	if ((rc = session_setup(m, s, mariadb, from, err)) < 0)
		goto fail;
	/* The stream's first event (a rotate) comes before the format
	 * description that announces checksums: tell the decoder now. */
	if ((rc = conn_query_value(&v, &found, m, "SELECT @@GLOBAL.binlog_checksum", err)) < 0)
		goto fail;
	binlog_decoder_set_checksum(dec, strcasecmp(buf_cstr(&v), "CRC32") ? 0 : 1);

	/* COM_REGISTER_SLAVE: the id shows in SHOW REPLICAS / SHOW SLAVE HOSTS */
	put_le(hdr, sid, 4);
	hdr[4] = hdr[5] = hdr[6] = 0; /* host, user, password: empty */
	put_le(hdr + 7, 0, 2);	      /* port */
	put_le(hdr + 9, 0, 4);	      /* rank */
	put_le(hdr + 13, 0, 4);	      /* source id */
	if (send_command(m, CMD_REGISTER_SLAVE, hdr, 17, true) < 0) {
		rc = command_error(m, "registering with the source as a replica", errno_out, err);
		goto fail;
	}

	if (from->kind == POS_MYSQL_GTID) {
		if (!from->mysql || gtid_set_encode(&set, from->mysql) < 0)
			goto oom;
		put_le(hdr, DUMP_THROUGH_GTID | flags, 2);
		put_le(hdr + 2, sid, 4);
		put_le(hdr + 6, 0, 4);	/* no file name */
		put_le(hdr + 10, 4, 8); /* position */
		if (buf_add(&cmd, hdr, 18) < 0)
			goto oom;
		put_le(hdr, set.len, 4);
		if (buf_add(&cmd, hdr, 4) < 0 || buf_add(&cmd, set.ptr, set.len) < 0)
			goto oom;
		if (send_command(m, CMD_BINLOG_DUMP_GTID, (const uint8_t *)cmd.ptr, cmd.len,
				 false) < 0) {
			rc = command_error(m, "asking for the binlog by GTID set", errno_out, err);
			goto fail;
		}
	} else {
		bool by_gtid = from->kind == POS_MARIADB && from->mariadb && from->mariadb->n;
		const char *file = by_gtid || !from->file ? "" : from->file;
		if (!by_gtid && !file[0]) {
			rc = err_set(err, GW_EFATAL, "no binlog position to stream from");
			goto fail;
		}
		put_le(hdr, by_gtid ? 4 : from->pos, 4);
		put_le(hdr + 4, flags, 2); /* blocking */
		put_le(hdr + 6, sid, 4);
		if (buf_add(&cmd, hdr, 10) < 0 || buf_puts(&cmd, file) < 0)
			goto oom;
		if (send_command(m, CMD_BINLOG_DUMP, (const uint8_t *)cmd.ptr, cmd.len, false) <
		    0) {
			rc = command_error(m, "asking for the binlog", errno_out, err);
			goto fail;
		}
	}
	if (!(st = calloc(1, sizeof(*st))))
		goto oom;
	st->m = m;
	*out = st;
	rc = 0;
	goto out;
oom:
	rc = err_set(err, GW_ENOMEM, "out of memory");
fail:
	mysql_close(m);
out:
	buf_release(&cmd);
	buf_release(&set);
	buf_release(&v);
	return rc;
}

int stream_next(struct stream *st, const uint8_t **ev_out, size_t *len_out, unsigned *errno_out,
		struct gw_err *err)
{
	unsigned long n = mysql_net_read_packet(st->m);
	const uint8_t *p;

	*ev_out = NULL;
	*len_out = 0;
	*errno_out = 0;
	if (n == packet_error)
		return command_error(st->m, "binlog stream from the source", errno_out, err);
	p = st->m->net.read_pos;
	if (n < 9 && p[0] == 0xfe)
		return err_set(err, GW_ERETRY, "the source ended the binlog stream");
	if (n < 1 || p[0] != 0)
		return err_set(err, GW_EFATAL,
			       "binlog stream from the source: a packet starting with %02x, not "
			       "an event",
			       n ? p[0] : 0);
	*ev_out = p + 1;
	*len_out = n - 1;
	return 0;
}

void stream_close(struct stream *st)
{
	if (!st)
		return;
	mysql_close(st->m);
	free(st);
}
