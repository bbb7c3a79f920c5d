#!/usr/bin/env python3
"""Writes binlog files with events the shared MySQL binlogs do not hold,
as MySQL 8.0.40 writes them, with the event writer of
tests/mysqld/genbinlog.py (table sbtest.sbtest1), for the MySQL double to
serve:

    mysql_binlog.py --kind xa|incident|statement --out FILE [--uuid U]

--kind xa: XA transactions. MySQL logs one as two groups, each with its
own GTID: QUERY "XA START xid", TABLE_MAP and rows events, QUERY "XA END
xid" and an XA_PREPARE event; later QUERY "XA COMMIT xid" or "XA ROLLBACK
xid". One phase (XA COMMIT ... ONE PHASE) is the first group alone, its
XA_PREPARE marked one phase. GTIDs 1-8:

  1  XA START 'x1' (insert id 1) ... XA PREPARE
  2  a plain transaction: insert id 2
  3  XA START 'x2','b',7 (insert id 3) ... XA PREPARE
  4  XA COMMIT 'x1'
  5  XA ROLLBACK 'x2','b',7
  6  XA START 'x3' (insert id 4, update id 2) ... XA PREPARE one phase
  7  XA START 'x4' (insert id 5) ... XA PREPARE
  8  XA COMMIT 'x4'

leaving ids 1, 2 (updated), 4, 5.

--kind incident: GTID 1 inserts id 1, then an INCIDENT event (LOST_EVENTS,
"error writing to the binary log"; MySQL writes it outside any
transaction, without a GTID), then GTID 2 inserts id 2.

--kind statement: what a session with another sql_mode or binlog_format
writes (the QUERY event's Q_SQL_MODE_CODE carries the session's mode):

  1  rows: insert id 1
  2  DDL under ANSI_QUOTES,NO_BACKSLASH_ESCAPES:
     CREATE TABLE "q""t" ("id" INT PRIMARY KEY, "v" VARCHAR(10) DEFAULT 'a\b')
  3  statement-format INSERT INTO other.t (a database not migrated)
  4  rows: insert id 2
  5  statement-format UPDATE sbtest1 SET k = k + 1 WHERE id = 1
  6  statement-format LOAD DATA into sbtest1: BEGIN_LOAD_QUERY (the file's
     bytes) and EXECUTE_LOAD_QUERY (the statement)
"""

import argparse
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mysqld"))
import genbinlog as G  # noqa: E402

DB = "sbtest"
TABLE_ID = 100


MODE_ANSI_QUOTES = 1 << 2
MODE_NO_BACKSLASH_ESCAPES = 1 << 20


def status_vars(mode):
    sv = G.status_vars(DB)
    if mode is None:
        return sv
    # Q_FLAGS2_CODE (5 bytes), then Q_SQL_MODE_CODE: its 8 bytes replaced
    assert sv[5] == 1
    return sv[:6] + struct.pack("<Q", mode) + sv[14:]


def query(w, ts, sql, mode=None):
    sv = status_vars(mode)
    body = struct.pack("<IIBHH", 11, 0, len(DB), 0, len(sv)) + sv + DB.encode() + b"\0" + sql.encode()
    return w.event(2, body, ts, flags=0x0008)


def load_query(w, ts, data, sql):
    """BEGIN_LOAD_QUERY (file id, the file's bytes) and EXECUTE_LOAD_QUERY:
    the QUERY post header, file id, where "LOCAL INFILE 'name' INTO" is in
    the text (as sql_load.cc writes it: a replica puts its own file there),
    duplicates handling (0: error), then as QUERY."""
    begin = w.event(17, struct.pack("<I", 1) + data, ts)
    sv = status_vars(None)
    start = sql.index("LOCAL INFILE")
    end = sql.index(" INTO", start) + len(" INTO")
    body = (struct.pack("<IIBHH", 11, 0, len(DB), 0, len(sv)) + struct.pack("<IIIB", 1, start, end, 0) +
            sv + DB.encode() + b"\0" + sql.encode())
    return [begin, w.event(18, body, ts, flags=0x0008)]


def xid_sql(gtrid, bqual, fmt):
    return "X'%s',X'%s',%d" % (gtrid.hex(), bqual.hex(), fmt)


def xa_prepare(w, ts, gtrid, bqual, fmt, one_phase):
    body = bytes([1 if one_phase else 0]) + struct.pack("<iII", fmt, len(gtrid), len(bqual))
    return w.event(38, body + gtrid + bqual, ts)


def row(i, k):
    return (i, k, "c-%d" % i, "pad-%d" % i)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kind", choices=["xa", "incident", "statement"], default="xa")
    ap.add_argument("--uuid", default="3e11fa47-71ca-11e1-9e33-c80aa9429562")
    a = ap.parse_args()
    uuid_b = bytes.fromhex(a.uuid.replace("-", ""))
    ts = int(time.time()) - 60
    gno = 0

    def txn(out, build):
        nonlocal gno
        gno += 1
        start = w.pos
        # the GTID event comes first but holds the transaction's length:
        # the events are built once to learn it, then at their place
        base = G.HDR + 1 + 16 + 8 + 1 + 16 + 7 + 4 + 4
        w.pos += base
        build()
        body = w.pos - start - base
        gl = base + (1 if base + 1 + body < 251 else 3)
        w.pos = start + gl
        evts = build()
        end = w.pos
        w.pos = start
        g = G.gtid_event(w, ts, uuid_b, gno, False, gno, end - start)
        assert len(g) == gl
        w.pos = end
        out += g
        for e in evts:
            out += e

    def xa_part(gtrid, bqual, fmt, rows, one_phase=False):
        x = xid_sql(gtrid, bqual, fmt)
        evts = [query(w, ts, "XA START " + x)]
        for typ, imgs in rows:
            evts.append(G.table_map(w, ts, TABLE_ID, DB, "sbtest1"))
            evts.append(G.rows_event(w, ts, typ, TABLE_ID, imgs))
        evts.append(query(w, ts, "XA END " + x))
        evts.append(xa_prepare(w, ts, gtrid, bqual, fmt, one_phase))
        return evts

    def plain(rows):
        evts = [G.query_begin(w, ts, DB, 11)]
        for typ, imgs in rows:
            evts.append(G.table_map(w, ts, TABLE_ID, DB, "sbtest1"))
            evts.append(G.rows_event(w, ts, typ, TABLE_ID, imgs))
        evts.append(w.event(16, struct.pack("<Q", 7000 + gno), ts))
        return evts

    ins = lambda r: (30, [G.image(r)])  # noqa: E731
    with open(a.out + ".tmp", "wb") as f:
        w = G.Writer(f, 1)
        f.write(G.fde(w, ts))
        f.write(w.event(35, G.encode_set(""), ts, flags=0x80))
        out = bytearray()
        if a.kind == "statement":
            xid = lambda: w.event(16, struct.pack("<Q", 7000 + gno), ts)  # noqa: E731
            stmt = lambda *evts: lambda: [G.query_begin(w, ts, DB, 11)] + [  # noqa: E731
                e() for e in evts] + [xid()]
            txn(out, lambda: plain([ins(row(1, 10))]))
            txn(out, lambda: [query(w, ts, 'CREATE TABLE "q""t" ("id" INT PRIMARY KEY, '
                                    '"v" VARCHAR(10) DEFAULT \'a\\b\')',
                                    0x45a00020 | MODE_ANSI_QUOTES | MODE_NO_BACKSLASH_ESCAPES)])
            txn(out, stmt(lambda: query(w, ts, "INSERT INTO other.t VALUES (1)")))
            txn(out, lambda: plain([ins(row(2, 20))]))
            txn(out, stmt(lambda: query(w, ts, "UPDATE sbtest1 SET k = k + 1 WHERE id = 1")))
            txn(out, lambda: [G.query_begin(w, ts, DB, 11)] + load_query(
                w, ts, b"3\t30\tc-3\tpad-3\n",
                "LOAD DATA LOCAL INFILE '/tmp/x.tsv' INTO TABLE `sbtest1`") + [xid()])
        elif a.kind == "incident":
            txn(out, lambda: plain([ins(row(1, 10))]))
            msg = b"error writing to the binary log"
            out += w.event(26, struct.pack("<H", 1) + bytes([len(msg)]) + msg, ts)
            txn(out, lambda: plain([ins(row(2, 20))]))
        else:
            commit = lambda x: lambda: [query(w, ts, x)]  # noqa: E731
            txn(out, lambda: xa_part(b"x1", b"", 1, [ins(row(1, 10))]))
            txn(out, lambda: plain([ins(row(2, 20))]))
            txn(out, lambda: xa_part(b"x2", b"b", 7, [ins(row(3, 30))]))
            txn(out, commit("XA COMMIT " + xid_sql(b"x1", b"", 1)))
            txn(out, commit("XA ROLLBACK " + xid_sql(b"x2", b"b", 7)))
            txn(out, lambda: xa_part(b"x3", b"", 1, [
                ins(row(4, 40)), (31, [G.image(row(2, 20)) + G.image(row(2, 21))])], one_phase=True))
            txn(out, lambda: xa_part(b"x4", b"", 1, [ins(row(5, 50))]))
            txn(out, commit("XA COMMIT " + xid_sql(b"x4", b"", 1)))
        f.write(out)
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
