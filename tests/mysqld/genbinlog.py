#!/usr/bin/env python3
"""Writes a binlog file as MySQL 8.0.40 writes one, for sysbench-shaped
tables, to serve a big backlog from the double (bench/incremental's MySQL
case, tests of a long stream):

    genbinlog.py --out FILE [--tables 4] [--rows 10000] [--transactions 1000]
                 [--uuid U] [--first-gno 1] [--previous-gtids SET] [--anonymous]
                 [--db sbtest] [--seed 1] [--initial DIR] [--final DIR] [--sql DIR]

Events: FORMAT_DESCRIPTION (8.0.40's post-header lengths, CRC32),
PREVIOUS_GTIDS, then per transaction GTID (or ANONYMOUS_GTID) with its
logical clock, commit timestamp, transaction length and server version,
QUERY BEGIN with 8.0's status variables, and sysbench's oltp_write_only
statements: UPDATE of k, UPDATE of c, DELETE and INSERT of one id, each a
TABLE_MAP (MINIMAL metadata: signedness, default charset) and a
ROWS_V2 event (FULL image), then XID. Every event carries end_log_pos and a
CRC32.

sbtestN: id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL,
pad CHAR(60) NOT NULL, utf8mb4. --initial DIR writes DIR/sbtestN.tsv (the
rows before the first transaction, for LOAD DATA) and DIR/schema.sql;
--final DIR the rows after the last one. --sql DIR writes the same
transactions as SQL statements, DIR/sbtestN.sql (a table's in order; each
transaction changes one table), which replayed on a server holding the rows
before log the same row changes (bench/incremental's MariaDB primary).
"""

import argparse
import os
import random
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from myproto import lenenc_int as lenenc  # noqa: E402

HDR = 19
FDE_POST = bytes([0, 13, 0, 8, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 98, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2,
                  0, 0, 0, 10, 10, 10, 42, 42, 0, 18, 52, 0, 10, 40, 0])
SERVER_VERSION = 80040
COLLATION = 255  # utf8mb4_0900_ai_ci


class Writer:
    def __init__(self, f, server_id):
        self.f = f
        self.pos = 4
        self.server_id = server_id
        f.write(b"\xfebin")

    def event(self, typ, body, ts, flags=0):
        length = HDR + len(body) + 4
        ev = struct.pack("<IBIIIH", ts, typ, self.server_id, length, self.pos + length, flags) + body
        ev += struct.pack("<I", zlib.crc32(ev) & 0xFFFFFFFF)
        self.pos += length
        return ev


def fde(w, ts):
    body = struct.pack("<H", 4) + b"8.0.40".ljust(50, b"\0") + struct.pack("<I", ts) + bytes([HDR])
    body += FDE_POST + b"\x01"
    return w.event(15, body, ts)


def encode_set(text):
    sids = []
    for part in [p for p in text.replace("\n", "").split(",") if p.strip()]:
        el = part.strip().split(":")
        u = bytes.fromhex(el[0].replace("-", ""))
        ivs = []
        for iv in el[1:]:
            a, _, b = iv.partition("-")
            ivs.append((int(a), int(b or a) + 1))
        sids.append((u, ivs))
    out = struct.pack("<Q", len(sids))
    for u, ivs in sorted(sids):
        out += u + struct.pack("<Q", len(ivs)) + b"".join(struct.pack("<qq", s, e) for s, e in ivs)
    return out


def status_vars(db):
    sv = b"\x00" + struct.pack("<I", 0)  # Q_FLAGS2_CODE
    sv += b"\x01" + struct.pack("<Q", 0x45a00020)  # Q_SQL_MODE_CODE (8.0's default)
    sv += b"\x06\x03std"  # Q_CATALOG_NZ_CODE
    sv += b"\x04" + struct.pack("<HHH", COLLATION, COLLATION, COLLATION)  # Q_CHARSET_CODE
    sv += b"\x12" + struct.pack("<H", COLLATION)  # Q_DEFAULT_COLLATION_FOR_UTF8MB4
    return sv


def query_begin(w, ts, db, thread_id):
    sv = status_vars(db)
    body = struct.pack("<IIBHH", thread_id, 0, len(db), 0, len(sv)) + sv + db.encode() + b"\0" + b"BEGIN"
    return w.event(2, body, ts, flags=0x0008)


def char_meta(nbytes):
    # MYSQL_TYPE_STRING: real type and length, the length's high bits
    # folded into the first byte
    return bytes([0xFE ^ ((nbytes & 0x300) >> 4), nbytes & 0xFF])


_MAPS = {}


def table_map(w, ts, table_id, db, table):
    body = _MAPS.get(table_id)
    if body is None:
        _MAPS[table_id] = body = table_map_body(table_id, db, table)
    return w.event(19, body, ts)


def table_map_body(table_id, db, table):
    body = table_id.to_bytes(6, "little") + struct.pack("<H", 1)
    body += bytes([len(db)]) + db.encode() + b"\0" + bytes([len(table)]) + table.encode() + b"\0"
    body += lenenc(4) + bytes([3, 3, 254, 254])
    meta = char_meta(480) + char_meta(240)
    body += lenenc(len(meta)) + meta + b"\x00"
    # optional metadata, binlog_row_metadata=MINIMAL: SIGNEDNESS, DEFAULT_CHARSET
    body += b"\x01" + lenenc(1) + b"\x00"
    body += b"\x02" + lenenc(len(lenenc(COLLATION))) + lenenc(COLLATION)
    return body


def image(row):
    id_, k, c, pad = row
    cb, pb = c.encode(), pad.encode()
    return (b"\x00" + struct.pack("<ii", id_, k) + struct.pack("<H", len(cb)) + cb +
            bytes([len(pb)]) + pb)


def rows_event(w, ts, typ, table_id, images, end=True):
    ncols = 4
    body = table_id.to_bytes(6, "little") + struct.pack("<H", 1 if end else 0)
    body += struct.pack("<H", 2)  # extra data: none but its own length
    body += lenenc(ncols) + b"\x0f"
    if typ == 31:
        body += b"\x0f"
    body += b"".join(images)
    return w.event(typ, body, ts)


def gtid_event(w, ts, uuid_b, gno, anonymous, seq, tx_len):
    body = b"\x00" + (b"\0" * 16 if anonymous else uuid_b) + struct.pack("<q", 0 if anonymous else gno)
    body += b"\x02" + struct.pack("<qq", seq - 1, seq)
    body += (ts * 1000000).to_bytes(7, "little")
    body += lenenc(tx_len) + struct.pack("<I", SERVER_VERSION)
    return w.event(34 if anonymous else 33, body, ts)


def sb_string(rnd, groups):
    digits = "%0*d" % (11 * groups, rnd.getrandbits(37 * groups) % (10 ** (11 * groups)))
    return "-".join(digits[i:i + 11] for i in range(0, 11 * groups, 11))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--tables", type=int, default=4)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--transactions", type=int, default=1000)
    ap.add_argument("--uuid", default="3e11fa47-71ca-11e1-9e33-c80aa9429562")
    ap.add_argument("--first-gno", type=int, default=1)
    ap.add_argument("--previous-gtids", default="")
    ap.add_argument("--anonymous", action="store_true")
    ap.add_argument("--db", default="sbtest")
    ap.add_argument("--server-id", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--initial")
    ap.add_argument("--final")
    ap.add_argument("--sql")
    a = ap.parse_args()

    rnd = random.Random(a.seed)
    tables = []
    for t in range(a.tables):
        rows = {}
        for i in range(1, a.rows + 1):
            rows[i] = (i, rnd.randrange(1, a.rows + 1), sb_string(rnd, 10), sb_string(rnd, 5))
        tables.append(rows)
    if a.initial:
        dump(a.initial, a.db, tables, schema=True)
    uuid_b = bytes.fromhex(a.uuid.replace("-", ""))
    sql = None
    if a.sql:
        os.makedirs(a.sql, exist_ok=True)
        sql = [open(os.path.join(a.sql, "sbtest%d.sql" % (t + 1)), "w") for t in range(a.tables)]
    ts = int(time.time()) - a.transactions // 1000 - 60
    with open(a.out + ".tmp", "wb") as f:
        w = Writer(f, a.server_id)
        f.write(fde(w, ts))
        prev = encode_set(a.previous_gtids)
        f.write(w.event(35, prev, ts, flags=0x80))
        out = bytearray()
        for n in range(a.transactions):
            t = rnd.randrange(a.tables)
            rows = tables[t]
            table = "sbtest%d" % (t + 1)
            tid = 100 + t
            evts = []
            start = w.pos
            ts_n = ts + n // 1000
            # the GTID event is written last, once the transaction's length
            # is known; reserve its place
            # (its transaction length takes 3 bytes: 251 to 65535)
            gl = HDR + 1 + 16 + 8 + 1 + 16 + 7 + 3 + 4 + 4
            w.pos += gl
            evts.append(query_begin(w, ts_n, a.db, 10 + n % 8))
            ids = list(rows)
            uid = kid = ids[rnd.randrange(len(ids))]
            before = rows[uid]
            after = (before[0], before[1] + 1, before[2], before[3])
            rows[uid] = after
            evts.append(table_map(w, ts_n, tid, a.db, table))
            evts.append(rows_event(w, ts_n, 31, tid, [image(before) + image(after)]))
            uid = cid = ids[rnd.randrange(len(ids))]
            before = rows[uid]
            after = (before[0], before[1], sb_string(rnd, 10), before[3])
            rows[uid] = after
            cval = after[2]
            evts.append(table_map(w, ts_n, tid, a.db, table))
            evts.append(rows_event(w, ts_n, 31, tid, [image(before) + image(after)]))
            did = ids[rnd.randrange(len(ids))]
            gone = rows.pop(did)
            evts.append(table_map(w, ts_n, tid, a.db, table))
            evts.append(rows_event(w, ts_n, 32, tid, [image(gone)]))
            new = (did, rnd.randrange(1, a.rows + 1), sb_string(rnd, 10), sb_string(rnd, 5))
            rows[did] = new
            evts.append(table_map(w, ts_n, tid, a.db, table))
            evts.append(rows_event(w, ts_n, 30, tid, [image(new)]))
            evts.append(w.event(16, struct.pack("<Q", 1000 + n), ts_n))
            if sql:
                sql[t].write("BEGIN;\nUPDATE %s SET k = k + 1 WHERE id = %d;\n"
                             "UPDATE %s SET c = '%s' WHERE id = %d;\nDELETE FROM %s WHERE id = %d;\n"
                             "INSERT INTO %s (id, k, c, pad) VALUES (%d, %d, '%s', '%s');\nCOMMIT;\n"
                             % (table, kid, table, cval, cid, table, did, table, *new))
            end = w.pos
            w.pos = start
            g = gtid_event(w, ts_n, uuid_b, a.first_gno + n, a.anonymous, n + 1, end - start)
            assert len(g) == gl
            w.pos = end
            out += g
            for e in evts:
                out += e
            if len(out) > 1 << 20:
                f.write(out)
                out = bytearray()
        f.write(out)
    for f in sql or []:
        f.close()
    os.replace(a.out + ".tmp", a.out)
    if a.final:
        dump(a.final, a.db, tables, schema=False)


def dump(d, db, tables, schema):
    os.makedirs(d, exist_ok=True)
    if schema:
        with open(os.path.join(d, "schema.sql"), "w") as f:
            f.write("CREATE DATABASE IF NOT EXISTS `%s` DEFAULT CHARACTER SET utf8mb4;\n" % db)
            for t in range(len(tables)):
                f.write("CREATE TABLE IF NOT EXISTS `%s`.`sbtest%d` (id INT NOT NULL, "
                        "k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', "
                        "pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_%d (k)) "
                        "DEFAULT CHARSET=utf8mb4;\n" % (db, t + 1, t + 1))
    for t, rows in enumerate(tables):
        with open(os.path.join(d, "sbtest%d.tsv" % (t + 1)), "w") as f:
            for i in sorted(rows):
                f.write("%d\t%d\t%s\t%s\n" % rows[i])


if __name__ == "__main__":
    main()
