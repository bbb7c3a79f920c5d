#!/usr/bin/env python3
"""Writes binlog files with events the shared MySQL binlogs do not hold,
as MySQL 8.0.40 writes them, with the event writer of
tests/mysqld/genbinlog.py (table sbtest.sbtest1), for the MySQL double to
serve:

    mysql_binlog.py --kind xa|incident --out FILE [--uuid U]

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


def query(w, ts, sql):
    sv = G.status_vars(DB)
    body = struct.pack("<IIBHH", 11, 0, len(DB), 0, len(sv)) + sv + DB.encode() + b"\0" + sql.encode()
    return w.event(2, body, ts, flags=0x0008)


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
    ap.add_argument("--kind", choices=["xa", "incident"], default="xa")
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
        if a.kind == "incident":
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
