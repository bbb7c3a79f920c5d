#!/usr/bin/env python3
"""Prints the DDL of the tables a binlog file's rows belong to, for a
MariaDB that answers catalog queries in the double's place:

    layouts.py FILE...

A table the file creates itself (a CREATE TABLE in a QUERY event) gets
that statement; any other gets one built from its TABLE_MAP: the column
types with their lengths, precision and fractional seconds, signedness,
character sets and names when the file has the optional metadata of 8.0
(else signed columns named c1, c2, ... in utf8mb4, which is what the
fixtures hold). Transaction payloads are not opened (no zstd in the
standard library).
"""

import re
import struct
import sys

import binlogs as B
from myproto import read_lenenc as lenenc

TYPES = {1: "TINYINT", 2: "SMALLINT", 9: "MEDIUMINT", 3: "INT", 8: "BIGINT",
         4: "FLOAT", 5: "DOUBLE", 13: "YEAR", 10: "DATE", 245: "JSON",
         255: "GEOMETRY", 7: "TIMESTAMP NULL DEFAULT NULL", 12: "DATETIME", 11: "TIME"}
INTS = (1, 2, 9, 3, 8)
BINARY = 63
CHARSETS = {8: "latin1", 33: "utf8", 45: "utf8mb4", 46: "utf8mb4", 83: "utf8", 224: "utf8mb4",
            255: "utf8mb4", 63: "binary", 192: "utf8", 28: "gbk", 24: "gb2312", 11: "ascii"}


def table_map(body):
    p = 8  # table id (6) and flags (2)
    dbl = body[p]
    db = body[p + 1:p + 1 + dbl].decode()
    p += dbl + 2
    tl = body[p]
    tbl = body[p + 1:p + 1 + tl].decode()
    p += tl + 2
    n, p = lenenc(body, p)
    types = list(body[p:p + n])
    p += n
    ml, p = lenenc(body, p)
    meta = body[p:p + ml]
    p += ml
    nulls = body[p:p + (n + 7) // 8]
    p += (n + 7) // 8
    metas = []
    m = 0
    for t in types:
        if t in (4, 5, 252, 245, 255, 17, 18, 19):
            metas.append(meta[m])
            m += 1
        elif t in (15, 16):
            metas.append(struct.unpack_from("<H", meta, m)[0])
            m += 2
        elif t in (246, 254, 247, 248, 0):
            metas.append((meta[m] << 8) | meta[m + 1])
            m += 2
        else:
            metas.append(0)
    opt = {}
    while p < len(body):
        typ = body[p]
        ln, p = lenenc(body, p + 1)
        opt[typ] = body[p:p + ln]
        p += ln
    return db, tbl, types, metas, nulls, opt


def opt_signedness(opt, types):
    v = opt.get(1)
    if v is None:
        return None
    out = {}
    k = 0
    for i, t in enumerate(types):
        if t in INTS + (246, 4, 5):
            out[i] = bool(v[k // 8] & (0x80 >> (k % 8)))
            k += 1
    return out


def opt_charsets(opt, types):
    """Column index -> collation id for the character columns."""
    chars = [i for i, t in enumerate(types) if t in (15, 254, 252, 253)]
    out = {}
    if 3 in opt:
        v = opt[3]
        p = 0
        for i in chars:
            cs, p = lenenc(v, p)
            out[i] = cs
    elif 2 in opt:
        v = opt[2]
        default, p = lenenc(v, 0)
        for i in chars:
            out[i] = default
        while p < len(v):
            ix, p = lenenc(v, p)
            cs, p = lenenc(v, p)
            if ix < len(chars):
                out[chars[ix]] = cs
    return out


def opt_names(opt):
    v = opt.get(4)
    if v is None:
        return None
    names = []
    p = 0
    while p < len(v):
        n, p = lenenc(v, p)
        names.append(v[p:p + n].decode())
        p += n
    return names


def column_sql(t, meta, unsigned, cs):
    u = " UNSIGNED" if unsigned else ""
    if t in INTS:
        return TYPES[t] + u
    if t in TYPES:
        return TYPES[t]
    if t == 246:
        return "DECIMAL(%d,%d)%s" % (meta >> 8, meta & 0xFF, u)
    if t in (17, 18, 19):
        base = {17: "TIMESTAMP", 18: "DATETIME", 19: "TIME"}[t]
        s = base + ("(%d)" % meta if meta else "")
        return s + (" NULL DEFAULT NULL" if t == 17 else "")
    if t == 16:
        return "BIT(%d)" % ((meta >> 8) * 8 + (meta & 0xFF))
    csname = CHARSETS.get(cs, "utf8mb4") if cs is not None else "utf8mb4"
    width = {"utf8mb4": 4, "utf8": 3, "gbk": 2, "gb2312": 2}.get(csname, 1)
    if t == 15:
        if csname == "binary":
            return "VARBINARY(%d)" % meta
        return "VARCHAR(%d) CHARACTER SET %s" % (max(1, meta // width), csname)
    if t == 254:
        real = meta >> 8
        if real in (247, 248):
            # the labels are not in a MINIMAL table map: numbered ones
            return ("ENUM" if real == 247 else "SET") + "(%s)" % ",".join(
                "'%d'" % i for i in range(1, 65 if real == 248 else 256))
        length = (((meta >> 4) & 0x300) ^ 0x300) + (meta & 0xFF)
        if csname == "binary":
            return "BINARY(%d)" % length
        return "CHAR(%d) CHARACTER SET %s" % (max(1, length // width), csname)
    if t == 252:
        kind = {1: "TINY", 2: "", 3: "MEDIUM", 4: "LONG"}.get(meta, "LONG")
        if cs == BINARY:
            return kind + "BLOB"
        return kind + "TEXT CHARACTER SET " + csname
    return "LONGBLOB"


def layouts(paths):
    creates = {}  # (db, table) -> statement
    databases = {}  # db -> CREATE DATABASE
    maps = {}
    order = []
    for path in paths:
        f = B.load(path, "x")
        d = f.data
        ck = 4 if f.checksum else 0
        # the server's default character set: what a table created without
        # one got there
        default_cs = "latin1" if f.server_version < "8" else "utf8mb4"
        for off in f.ev_off:
            typ, length = f.event_at(off)
            if typ == B.QUERY:
                q = B.query_text(d, off, length - ck)
                db = B.query_db(d, off)
                md = re.match(r"^\s*create\s+(?:database|schema)\s+(?:if\s+not\s+exists\s+)?`?(\w+)`?(.*)$",
                              q, re.I | re.S)
                if md:
                    databases[md.group(1)] = "CREATE DATABASE IF NOT EXISTS `%s`%s;" % (
                        md.group(1), md.group(2))
                m = re.match(r"^\s*create\s+table\s+(?:if\s+not\s+exists\s+)?"
                             r"(?:`?(\w+)`?\.)?`?(\w+)`?", q, re.I)
                if m:
                    key = (m.group(1) or db, m.group(2))
                    creates[key] = (key[0], q)
                    databases.setdefault(key[0], "CREATE DATABASE IF NOT EXISTS `%s` "
                                         "DEFAULT CHARACTER SET %s;" % (key[0], default_cs))
                    if key not in order:
                        order.append(key)
            elif typ == B.TABLE_MAP:
                tm = table_map(bytes(d[off + B.HDR:off + length - ck]))
                key = (tm[0], tm[1])
                if key not in maps:
                    maps[key] = tm
                if key not in order:
                    order.append(key)
    out = []
    dbs = []
    for db, _ in order:
        if db not in dbs:
            dbs.append(db)
    for db in dbs:
        out.append(databases.get(db, "CREATE DATABASE IF NOT EXISTS `%s`;" % db))
    for key in order:
        db, tbl = key
        if key in creates:
            out.append("USE `%s`;" % creates[key][0])
            out.append(re.sub(r"^\s*create\s+table\s+(?!if\s+not)", "CREATE TABLE IF NOT EXISTS ",
                              creates[key][1], flags=re.I) + ";")
            continue
        if key not in maps:
            continue
        _, _, types, metas, nulls, opt = maps[key]
        sign = opt_signedness(opt, types) or {}
        css = opt_charsets(opt, types)
        names = opt_names(opt) or ["c%d" % (i + 1) for i in range(len(types))]
        cols = []
        for i, t in enumerate(types):
            null = "" if nulls[i // 8] & (1 << (i % 8)) else " NOT NULL"
            sql = column_sql(t, metas[i], sign.get(i, False), css.get(i))
            if "NULL DEFAULT NULL" in sql:
                null = ""
            cols.append("`%s` %s%s" % (names[i], sql, null))
        out.append("CREATE TABLE IF NOT EXISTS `%s`.`%s` (%s);" % (db, tbl, ", ".join(cols)))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(layouts(sys.argv[1:]))
