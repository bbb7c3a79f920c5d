"""Binlog files as a MySQL primary holds them.

A BinlogFile is the bytes of one file (as a real server wrote them, or
assembled here from such events), an index of its events and of its
transactions, and the end a dump may read up to (the primary's
binlog_end_pos; less than the file's length while transactions are held
back). The index keeps arrays, not objects per event: a synthetic backlog
of a million events stays a few MiB.

Events are never re-encoded except where a real server would write them
itself: a ROTATE or STOP at the end of a file it closes, the FORMAT
DESCRIPTION and PREVIOUS_GTIDS of a file it opens, and, when a file is
re-assembled (a switch-over to a server with its own files), the
end_log_pos and checksum of each event.
"""

import array
import bisect
import gzip
import struct
import time
import zlib

from gtidset import GtidSet, uuid_text, ser_uint_decode

MAGIC = b"\xfebin"
HDR = 19

# event types (binlog_event.h)
QUERY = 2
STOP = 3
ROTATE = 4
FORMAT_DESCRIPTION = 15
XID = 16
TABLE_MAP = 19
WRITE_ROWS_V1, UPDATE_ROWS_V1, DELETE_ROWS_V1 = 23, 24, 25
INCIDENT = 26
HEARTBEAT = 27
ROWS_QUERY = 29
WRITE_ROWS, UPDATE_ROWS, DELETE_ROWS = 30, 31, 32
GTID = 33
ANONYMOUS_GTID = 34
PREVIOUS_GTIDS = 35
XA_PREPARE = 38
PARTIAL_UPDATE_ROWS = 39
TRANSACTION_PAYLOAD = 40
HEARTBEAT_V2 = 41
GTID_TAGGED = 42

LOG_EVENT_BINLOG_IN_USE_F = 0x1
LOG_EVENT_ARTIFICIAL_F = 0x20

TYPE_NAMES = {
    1: "Start_v3", 2: "Query", 3: "Stop", 4: "Rotate", 5: "Intvar", 7: "Slave",
    13: "RAND", 14: "User var", 15: "Format_desc", 16: "Xid", 17: "Begin_load_query",
    18: "Execute_load_query", 19: "Table_map", 23: "Write_rows_v1", 24: "Update_rows_v1",
    25: "Delete_rows_v1", 26: "Incident", 27: "Heartbeat", 28: "Ignorable", 29: "Rows_query",
    30: "Write_rows", 31: "Update_rows", 32: "Delete_rows", 33: "Gtid", 34: "Anonymous_Gtid",
    35: "Previous_gtids", 36: "Transaction_context", 37: "View_change", 38: "XA_prepare",
    39: "Update_rows_partial", 40: "Transaction_payload", 41: "Heartbeat_v2", 42: "Gtid_tagged",
}


def crc32(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def with_checksum(ev, checksum):
    """ev: the event without checksum bytes and with its final length in
    the header; appends the CRC32 when the file has them."""
    return ev + struct.pack("<I", crc32(ev)) if checksum else ev


def header(ts, typ, server_id, length, log_pos, flags):
    return struct.pack("<IBIIIH", ts, typ, server_id, length, log_pos, flags)


class BinlogError(Exception):
    pass


def fde_checksum(data, off, length):
    """Checksum algorithm of a FORMAT_DESCRIPTION event: 1 (CRC32), 0
    (off), or None for servers before 5.6.1 that have none."""
    body = data[off + HDR:off + length]
    ver = bytes(body[2:52]).split(b"\0")[0].decode("latin1")
    parts = []
    for x in ver.split("-")[0].split("."):
        digits = "".join(c for c in x if c.isdigit())
        parts.append(int(digits or 0))
    while len(parts) < 3:
        parts.append(0)
    if tuple(parts[:3]) < (5, 6, 1):
        return None, ver
    return data[off + length - 5], ver


class BinlogFile:
    """One binlog file. data is bytes (or an mmap); offsets are arrays."""

    def __init__(self, name, data, source=""):
        self.name = name
        self.data = data
        self.source = source
        self.closed = False  # a ROTATE or STOP ends it, or a later file exists
        self.ev_off = array.array("Q")
        # transactions: [start, end) offsets, the GTID as (tsid index, gno)
        self.tx_start = array.array("Q")
        self.tx_end = array.array("Q")
        self.tx_tsid = array.array("i")  # -1 anonymous / none
        self.tx_gno = array.array("q")
        self.tsids = []  # (uuid bytes, tag)
        self.prev_gtids = None  # GtidSet, or None when the file has none
        self.checksum = False
        self.server_version = ""
        self.fde_off = 4
        self.fde_len = 0
        self.header_end = 4  # after FDE and PREVIOUS_GTIDS
        self.end_event = None  # ROTATE/STOP type ending the file, if any
        self.rotate_to = None  # the next file named by the final ROTATE
        self.gtid_events = False
        self.anonymous_events = False
        self._index()
        self.visible_end = len(self.data)

    # -- parsing -------------------------------------------------------------
    def _index(self):
        d = self.data
        n = len(d)
        if n < 4 or bytes(d[:4]) != MAGIC:
            raise BinlogError("%s: not a binlog file (no magic number)" % self.source)
        off = 4
        tsid_ix = {}
        in_tx = False
        tx_begin = 0
        tx_tsid = -1
        tx_gno = 0
        tx_has_begin = False
        unpack = struct.unpack_from
        ck = 0
        while off + HDR <= n:
            (length,) = unpack("<I", d, off + 9)
            typ = d[off + 4]
            if length < HDR or off + length > n:
                break  # a torn last event: a real server truncates it at recovery
            self.ev_off.append(off)
            end = off + length
            if typ == FORMAT_DESCRIPTION:
                alg, ver = fde_checksum(d, off, length)
                self.checksum = alg == 1
                ck = 4 if self.checksum else 0
                self.server_version = ver
                self.fde_off, self.fde_len = off, length
                self.header_end = end
            elif typ == PREVIOUS_GTIDS:
                self.prev_gtids, _ = GtidSet.decode(bytes(d[off + HDR:end - ck]))
                self.header_end = end
            elif typ in (GTID, ANONYMOUS_GTID, GTID_TAGGED):
                if in_tx:  # a group without its commit: a new one starts
                    self._tx(tx_begin, off, tx_tsid, tx_gno)
                in_tx, tx_begin, tx_has_begin = True, off, False
                tx_tsid, tx_gno = -1, 0
                if typ == ANONYMOUS_GTID:
                    self.anonymous_events = True
                else:
                    self.gtid_events = True
                    ub, tag, gno = parse_gtid_event(d, off, length - ck)
                    key = (ub, tag)
                    if key not in tsid_ix:
                        tsid_ix[key] = len(self.tsids)
                        self.tsids.append(key)
                    tx_tsid, tx_gno = tsid_ix[key], gno
            elif typ == QUERY:
                q = query_text(d, off, length - ck)
                qu = q.lstrip()[:10].upper()
                if qu.startswith("BEGIN") or qu.startswith("XA START"):
                    if not in_tx:
                        in_tx, tx_begin, tx_tsid, tx_gno = True, off, -1, 0
                    tx_has_begin = True
                elif (qu.startswith("COMMIT") or qu.startswith("ROLLBACK")
                      or qu.startswith("XA COMMIT") or qu.startswith("XA ROLLBA")
                      or not tx_has_begin):
                    # a commit, or DDL (a statement of a 5.5 file): a group of its own
                    self._tx(tx_begin if in_tx else off, end, tx_tsid, tx_gno)
                    in_tx = tx_has_begin = False
                    tx_tsid = -1
            elif typ in (XID, XA_PREPARE, TRANSACTION_PAYLOAD):
                self._tx(tx_begin if in_tx else off, end, tx_tsid, tx_gno)
                in_tx = tx_has_begin = False
                tx_tsid = -1
            elif typ in (ROTATE, STOP):
                self.end_event = typ
                self.closed = True
                if typ == ROTATE:
                    self.rotate_to = bytes(d[off + HDR + 8:end - ck]).decode("latin1")
            elif typ == INCIDENT and not in_tx:
                self._tx(off, end, -1, 0)
                tx_has_begin = False
            off = end
        if in_tx:
            # a group cut at the end of the file (a crash); not servable
            pass
        self.length_parsed = off
        if self.fde_len == 0:
            raise BinlogError("%s: no format description event" % self.source)

    def _tx(self, start, end, tsid, gno):
        self.tx_start.append(start)
        self.tx_end.append(end)
        self.tx_tsid.append(tsid)
        self.tx_gno.append(gno)

    # -- facts -----------------------------------------------------------------
    def size(self):
        return len(self.data)

    def txn_count(self):
        return len(self.tx_end)

    def gtid_of(self, i):
        t = self.tx_tsid[i]
        if t < 0:
            return None
        ub, tag = self.tsids[t]
        return ub, tag, self.tx_gno[i]

    def gtids_upto(self, end):
        """The GTIDs of the transactions that end at or before end."""
        g = GtidSet()
        for i in range(len(self.tx_end)):
            if self.tx_end[i] > end:
                break
            x = self.gtid_of(i)
            if x:
                g.add(*x)
        return g

    def first_gtid(self):
        for i in range(len(self.tx_end)):
            x = self.gtid_of(i)
            if x:
                return x
        return None

    def txn_index_at(self, pos):
        """Index of the first transaction that ends after pos."""
        lo, hi = 0, len(self.tx_end)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.tx_end[mid] <= pos:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def units_after(self, pos):
        """[start, end) spans of what follows pos up to the file's end,
        transaction by transaction (events outside a transaction, such as
        an INCIDENT, are spans of their own)."""
        spans = []
        i = self.txn_index_at(pos)
        cur = pos
        while i < len(self.tx_end):
            s, e = self.tx_start[i], self.tx_end[i]
            if s > cur:
                spans.append((cur, s))
            spans.append((max(s, cur), e))
            cur = e
            i += 1
        return spans

    def event_index(self, off):
        """Index of the event starting at off, or None."""
        i = bisect.bisect_left(self.ev_off, off)
        return i if i < len(self.ev_off) and self.ev_off[i] == off else None

    def event_at(self, off):
        d = self.data
        (length,) = struct.unpack_from("<I", d, off + 9)
        return d[off + 4], length

    def fde_bytes(self):
        return bytes(self.data[self.fde_off:self.fde_off + self.fde_len])

    def server_id(self):
        return struct.unpack_from("<I", self.data, self.fde_off + 5)[0]


def parse_gtid_event(d, off, length_wo_ck):
    typ = d[off + 4]
    b = off + HDR
    if typ == GTID:
        ub = bytes(d[b + 1:b + 17])
        (gno,) = struct.unpack_from("<q", d, b + 17)
        return ub, "", gno
    # GTID_TAGGED: mysql::serialization message
    body = bytes(d[b:off + length_wo_ck])
    p = 0
    _, p = ser_uint_decode(body, p)  # format version
    msglen, p = ser_uint_decode(body, p)
    _, p = ser_uint_decode(body, p)  # last non-ignorable field
    end = min(msglen, len(body))
    ub, tag, gno = None, "", None
    last = -1
    while p < end:
        field, p = ser_uint_decode(body, p)
        if field < last:
            raise BinlogError("GTID_TAGGED: fields out of order")
        last = field
        if field == 0:
            _, p = ser_uint_decode(body, p)
        elif field == 1:
            u = bytearray()
            for _ in range(16):
                v, p = ser_uint_decode(body, p)
                u.append(v)
            ub = bytes(u)
        elif field == 2:
            v, p = ser_uint_decode(body, p)
            gno = -(v >> 1) - 1 if v & 1 else v >> 1
        elif field == 3:
            tl, p = ser_uint_decode(body, p)
            tag = body[p:p + tl].decode()
            p += tl
        else:
            break
    if ub is None or gno is None:
        raise BinlogError("GTID_TAGGED without uuid or gno")
    return ub, tag, gno


def query_text(d, off, length_wo_ck):
    b = off + HDR
    dblen = d[b + 8]
    (stlen,) = struct.unpack_from("<H", d, b + 11)
    q0 = b + 13 + stlen + dblen + 1
    return bytes(d[q0:off + length_wo_ck]).decode("utf-8", "replace")


def query_db(d, off):
    b = off + HDR
    dblen = d[b + 8]
    (stlen,) = struct.unpack_from("<H", d, b + 11)
    s = b + 13 + stlen
    return bytes(d[s:s + dblen]).decode("utf-8", "replace")


def peek_version(path):
    """The server version in a file's FORMAT_DESCRIPTION, reading only it."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4 + HDR + 2 + 50)
    if len(head) < 4 + HDR + 52 or head[:4] != MAGIC:
        return ""
    return head[4 + HDR + 2:].split(b"\0")[0].decode("latin1")


def load(path, name):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            data = f.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    return BinlogFile(name, data, source=path)


# -- events a server writes itself -------------------------------------------

def make_rotate(next_name, pos, server_id, log_pos, checksum, ts=None, flags=0):
    body = struct.pack("<Q", pos) + next_name.encode()
    length = HDR + len(body) + (4 if checksum else 0)
    ev = header(int(time.time()) if ts is None else ts, ROTATE, server_id, length, log_pos,
                flags) + body
    return with_checksum(ev, checksum)


def make_stop(server_id, start, checksum):
    length = HDR + (4 if checksum else 0)
    return with_checksum(header(int(time.time()), STOP, server_id, length, start + length, 0),
                         checksum)


def make_previous_gtids(gset, server_id, start, checksum):
    body = gset.encode()
    length = HDR + len(body) + (4 if checksum else 0)
    return with_checksum(
        header(int(time.time()), PREVIOUS_GTIDS, server_id, length, start + length, 0) + body,
        checksum)


def make_fde_from(template, server_id, created, checksum, in_use=True):
    """A FORMAT_DESCRIPTION for a new file, from another file's (same
    server version, post-header lengths and checksum algorithm)."""
    ev = bytearray(template[:-4] if checksum else template)
    now = int(time.time())
    struct.pack_into("<I", ev, 0, now)
    struct.pack_into("<I", ev, 5, server_id)
    length = len(ev) + (4 if checksum else 0)
    struct.pack_into("<I", ev, 9, length)
    struct.pack_into("<I", ev, 13, 4 + length)
    flags = struct.unpack_from("<H", ev, 17)[0] & ~LOG_EVENT_BINLOG_IN_USE_F
    struct.pack_into("<H", ev, 17, flags)
    struct.pack_into("<I", ev, HDR + 52, created)
    # the checksum is the one of the event without the in-use flag, so that
    # clearing the flag when the file is closed leaves it valid
    out = bytearray(with_checksum(bytes(ev), checksum))
    if in_use:
        struct.pack_into("<H", out, 17, flags | LOG_EVENT_BINLOG_IN_USE_F)
    return bytes(out)


def relocate(data, spans, start, checksum):
    """The events of spans copied to start at offset start: each
    end_log_pos rewritten, each checksum recomputed. Returns bytes."""
    out = bytearray()
    pos = start
    for s, e in spans:
        off = s
        while off < e:
            (length,) = struct.unpack_from("<I", data, off + 9)
            ev = bytearray(data[off:off + length])
            struct.pack_into("<I", ev, 13, pos + length)
            if checksum:
                struct.pack_into("<I", ev, length - 4, crc32(bytes(ev[:length - 4])))
            out += ev
            pos += length
            off += length
    return bytes(out)


def describe(f, off, length):
    """(Event_type, Info) as SHOW BINLOG EVENTS prints them."""
    d = f.data
    typ = d[off + 4]
    ck = 4 if f.checksum and typ != FORMAT_DESCRIPTION else 0
    if typ == FORMAT_DESCRIPTION:
        ck = 4 if f.checksum else 0
    name = TYPE_NAMES.get(typ, "Unknown")
    b = off + HDR
    info = ""
    try:
        if typ == FORMAT_DESCRIPTION:
            (bv,) = struct.unpack_from("<H", d, b)
            ver = bytes(d[b + 2:b + 52]).split(b"\0")[0].decode()
            info = "Server ver: %s, Binlog ver: %d" % (ver, bv)
        elif typ == PREVIOUS_GTIDS:
            info = GtidSet.decode(bytes(d[b:off + length - ck]))[0].to_text(",\n")
        elif typ in (GTID, GTID_TAGGED):
            ub, tag, gno = parse_gtid_event(d, off, length - ck)
            info = "SET @@SESSION.GTID_NEXT= '%s%s:%d'" % (uuid_text(ub),
                                                          ":" + tag if tag else "", gno)
        elif typ == ANONYMOUS_GTID:
            info = "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'"
        elif typ == QUERY:
            q = query_text(d, off, length - ck)
            db = query_db(d, off)
            info = q if (q == "BEGIN" or not db) else "use `%s`; %s" % (db, q)
        elif typ == XID:
            (xid,) = struct.unpack_from("<Q", d, b)
            info = "COMMIT /* xid=%d */" % xid
        elif typ == ROTATE:
            (pos,) = struct.unpack_from("<Q", d, b)
            info = "%s;pos=%d" % (bytes(d[b + 8:off + length - ck]).decode(), pos)
        elif typ == TABLE_MAP:
            tid = int.from_bytes(d[b:b + 6], "little")
            p = b + 8
            dbl = d[p]
            dbn = bytes(d[p + 1:p + 1 + dbl]).decode()
            p += dbl + 2
            tl = d[p]
            tn = bytes(d[p + 1:p + 1 + tl]).decode()
            info = "table_id: %d (%s.%s)" % (tid, dbn, tn)
        elif typ in (WRITE_ROWS, UPDATE_ROWS, DELETE_ROWS, PARTIAL_UPDATE_ROWS,
                     WRITE_ROWS_V1, UPDATE_ROWS_V1, DELETE_ROWS_V1):
            tid = int.from_bytes(d[b:b + 6], "little")
            (fl,) = struct.unpack_from("<H", d, b + 6)
            info = "table_id: %d%s" % (tid, " flags: STMT_END_F" if fl & 1 else "")
    except (struct.error, IndexError, UnicodeDecodeError, ValueError):
        info = ""
    return name, info
