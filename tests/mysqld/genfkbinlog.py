#!/usr/bin/env python3
"""Writes a binlog file as MySQL 8.0.40 writes one for tables linked by
foreign keys whose cascades InnoDB performs below the binlog:

    genfkbinlog.py --out FILE [--db fk] [--uuid U] [--first-gno 101]
                   [--initial DIR] [--final DIR]

    p  id INT PRIMARY KEY, v INT
    c  id INT PRIMARY KEY, p INT, v INT: ON DELETE CASCADE ON UPDATE CASCADE to p
    n  id INT PRIMARY KEY, p INT: ON DELETE SET NULL to p (ON UPDATE NO ACTION)

The events are genbinlog.py's (FORMAT_DESCRIPTION, PREVIOUS_GTIDS, per
transaction GTID, QUERY BEGIN, TABLE_MAPs and ROWS_V2 events per
statement, XID; end_log_pos and CRC32 everywhere). As MySQL logs a
statement on p: a TABLE_MAP of every table the statement write-locked, p
and the children its foreign keys' actions may change (prelocked: a
DELETE locks c and n, an UPDATE c only, n's ON UPDATE NO ACTION reading
it), then p's rows event only; the children's rows the cascade changed
are not logged. A statement on c or n maps its own table (the parent is
read-locked for the check). Only integer columns: the optional metadata
of binlog_row_metadata=MINIMAL is the SIGNEDNESS field alone, as MySQL
writes it for a table without character columns.

--initial DIR writes DIR/schema.sql: the database, the tables with their
foreign keys and the rows before the first transaction. --final DIR
writes DIR/p.tsv, c.tsv, n.tsv: the rows after the last one, the
cascades done (sorted by id; NULL as \\N).
"""

import argparse
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genbinlog import HDR, Writer, encode_set, fde, gtid_event, query_begin  # noqa: E402
from myproto import lenenc_int as lenenc  # noqa: E402

# name: (table id, columns, nullable columns)
TABLES = {"p": (90, ("id", "v"), (False, True)),
          "c": (91, ("id", "p", "v"), (False, True, True)),
          "n": (92, ("id", "p"), (False, True))}
WRITE, UPDATE, DELETE = 30, 31, 32


def bits(flags):
    out = bytearray((len(flags) + 7) // 8)
    for i, f in enumerate(flags):
        if f:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def table_map(w, ts, db, name):
    tid, cols, nullable = TABLES[name]
    body = tid.to_bytes(6, "little") + struct.pack("<H", 1)
    body += bytes([len(db)]) + db.encode() + b"\0" + bytes([len(name)]) + name.encode() + b"\0"
    body += lenenc(len(cols)) + bytes([3] * len(cols))  # MYSQL_TYPE_LONG: no metadata
    body += lenenc(0) + bits(nullable)
    # SIGNEDNESS: one bit per numeric column, most significant first; all signed
    body += b"\x01" + lenenc((len(cols) + 7) // 8) + bytes((len(cols) + 7) // 8)
    return w.event(19, body, ts)


def image(row):
    return bits([v is None for v in row]) + b"".join(struct.pack("<i", v) for v in row if v is not None)


def rows_event(w, ts, typ, name, images):
    tid, cols, _ = TABLES[name]
    body = tid.to_bytes(6, "little") + struct.pack("<H", 1)  # STMT_END_F
    body += struct.pack("<H", 2)  # extra data: none but its own length
    present = bits([True] * len(cols))
    body += lenenc(len(cols)) + present + (present if typ == UPDATE else b"")
    body += b"".join(images)
    return w.event(typ, body, ts)


class Source:
    """The tables' rows, changed as InnoDB changes them."""

    def __init__(self):
        self.t = {"p": {}, "c": {}, "n": {}}
        for i in range(1, 11):
            self.t["p"][i] = (i, i * 10)
        for i in range(1, 21):
            self.t["c"][i] = (i, (i - 1) % 10 + 1, i)
        for i in range(1, 6):
            self.t["n"][i] = (i, 2 * i)

    def insert(self, name, rows):
        for r in rows:
            assert r[0] not in self.t[name]
            if name != "p" and r[1] is not None:
                assert r[1] in self.t["p"], "no parent %r" % (r,)
            self.t[name][r[0]] = r
        return [], [(WRITE, name, [image(r) for r in rows])]

    def delete(self, name, ids):
        imgs = []
        for i in ids:
            imgs.append(image(self.t[name].pop(i)))
            if name == "p":
                for k in [k for k, r in self.t["c"].items() if r[1] == i]:
                    del self.t["c"][k]
                for k, r in list(self.t["n"].items()):
                    if r[1] == i:
                        self.t["n"][k] = (r[0], None)
        return (["c", "n"] if name == "p" else []), [(DELETE, name, imgs)]

    def update(self, name, changes):
        imgs = []
        for i, after in changes:
            before = self.t[name].pop(i)
            assert after[0] not in self.t[name]
            self.t[name][after[0]] = after
            imgs.append(image(before) + image(after))
            if name == "p" and after[0] != i:
                assert not [r for r in self.t["n"].values() if r[1] == i], "n refuses it"
                for k, r in list(self.t["c"].items()):
                    if r[1] == i:
                        self.t["c"][k] = (r[0], after[0], r[2])
        return (["c"] if name == "p" else []), [(UPDATE, name, imgs)]


def transactions(s):
    p, c = s.t["p"], s.t["c"]
    yield [s.insert("p", [(11, 110), (12, 120)]),
           s.insert("c", [(21, 11, 21), (22, 11, 22), (23, 12, 23)]),
           s.insert("n", [(6, 12)])]
    yield [s.delete("p", [1])]
    yield [s.update("p", [(3, (1003, p[3][1]))])]
    yield [s.delete("p", [2])]  # n 1 set to NULL
    yield [s.delete("p", [5, 12])]  # two rows: n 6 set to NULL
    # a deleted key inserted again: its old children stay deleted
    yield [s.delete("p", [7]), s.insert("p", [(7, 77)]), s.insert("c", [(24, 7, 24)])]
    # children changed before and after their parent's changes
    yield [s.update("c", [(k, (k, 9, c[k][2] + 100)) for k in (9, 19)]),
           s.update("p", [(9, (2009, p[9][1]))]),
           s.insert("c", [(25, 2009, 25)]),
           s.update("p", [(11, (1011, p[11][1] + 1))]),
           s.delete("p", [4])]
    yield [s.update("p", [(k, (k + 500, p[k][1])) for k in (1003, 2009)])]
    yield [s.delete("c", [10]), s.delete("p", [10])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--db", default="fk")
    ap.add_argument("--uuid", default="8a94f357-aab4-11df-86ab-c80aa9429562")
    ap.add_argument("--first-gno", type=int, default=101)
    ap.add_argument("--server-id", type=int, default=1)
    ap.add_argument("--initial")
    ap.add_argument("--final")
    a = ap.parse_args()

    s = Source()
    if a.initial:
        os.makedirs(a.initial, exist_ok=True)
        with open(os.path.join(a.initial, "schema.sql"), "w") as f:
            f.write("CREATE DATABASE IF NOT EXISTS `%s`;\nUSE `%s`;\n" % (a.db, a.db))
            f.write("CREATE TABLE p (id INT PRIMARY KEY, v INT);\n"
                    "CREATE TABLE c (id INT PRIMARY KEY, p INT, v INT, FOREIGN KEY (p) REFERENCES p (id)"
                    " ON DELETE CASCADE ON UPDATE CASCADE);\n"
                    "CREATE TABLE n (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES p (id)"
                    " ON DELETE SET NULL);\n")
            for name in ("p", "c", "n"):
                f.write("INSERT INTO %s VALUES %s;\n" % (name, ", ".join(
                    "(%s)" % ", ".join(str(v) for v in r) for _, r in sorted(s.t[name].items()))))
    uuid_b = bytes.fromhex(a.uuid.replace("-", ""))
    ts = int(time.time()) - 60
    with open(a.out + ".tmp", "wb") as f:
        w = Writer(f, a.server_id)
        f.write(fde(w, ts))
        prev = "%s:1-%d" % (a.uuid, a.first_gno - 1) if a.first_gno > 1 else ""
        f.write(w.event(35, encode_set(prev), ts, flags=0x80))
        for n, txn in enumerate(transactions(s)):
            # the GTID event goes first but is written once the
            # transaction's length (its own included) is known
            start = w.pos
            for tl_bytes in (1, 3, 4):
                gl = HDR + 1 + 16 + 8 + 1 + 16 + 7 + tl_bytes + 4 + 4
                w.pos = start + gl
                evts = [query_begin(w, ts, a.db, 10)]
                for maps, rows in txn:
                    for typ, name, imgs in rows:
                        for m in [name] + maps:
                            evts.append(table_map(w, ts, a.db, m))
                        evts.append(rows_event(w, ts, typ, name, imgs))
                evts.append(w.event(16, struct.pack("<Q", 500 + n), ts))
                end = w.pos
                if len(lenenc(end - start)) == tl_bytes:
                    break
            w.pos = start
            g = gtid_event(w, ts, uuid_b, a.first_gno + n, False, n + 1, end - start)
            assert len(g) == gl and w.pos == start + gl
            w.pos = end
            f.write(g + b"".join(evts))
    os.replace(a.out + ".tmp", a.out)
    if a.final:
        os.makedirs(a.final, exist_ok=True)
        for name in ("p", "c", "n"):
            with open(os.path.join(a.final, name + ".tsv"), "w") as f:
                for _, r in sorted(s.t[name].items()):
                    f.write("\t".join("\\N" if v is None else str(v) for v in r) + "\n")


if __name__ == "__main__":
    main()
