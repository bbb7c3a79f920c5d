"""COM_BINLOG_DUMP and COM_BINLOG_DUMP_GTID: mysql-server's
Binlog_sender (sql/rpl_binlog_sender.cc), step by step.

For each file: an artificial ROTATE (timestamp 0, LOG_EVENT_ARTIFICIAL_F,
log_pos 0) naming the file and the start position, the file's FORMAT
DESCRIPTION (in-use flag cleared; when the dump starts past it, log_pos and
the created time zeroed and the checksum recomputed), then the events from
the start position, byte for byte, each in a packet of its own after a
0x00. With a GTID set, whole transactions whose GTID the set holds are
skipped; a HEARTBEAT carrying the position follows a skipped stretch (and
comes during a long one once the heartbeat period has passed). At the end
of the file being written: a heartbeat each period while nothing comes, or,
for a non-blocking dump (flag BINLOG_DUMP_NON_BLOCK or server id 0), the
end of the result (EOF). Errors are ERR 1236 with the sender's own text
and, once a file was opened, the range it read ("; the first event ...").
"""

import struct
import time

import binlogs as B
import myproto as P
from gtidset import GtidSet

BINLOG_DUMP_NON_BLOCK = 1
USE_HEARTBEAT_EVENT_V2 = 2

ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236


class Fatal(Exception):
    pass


class DumpStop(Exception):
    """The connection is to be dropped (a fault injected by the test)."""


def checksum_alg_of(value):
    """find_type(value, binlog_checksum_typelib) - 1: NONE 0, CRC32 1,
    anything else undefined."""
    if value is None:
        return None
    v = value.decode() if isinstance(value, bytes) else str(value)
    return {"NONE": 0, "CRC32": 1}.get(v.strip().upper())


class Sender:
    def __init__(self, server, conn, start_file, start_pos, exclude, flags, slave_id):
        self.srv = server
        self.prim = server.primary
        self.conn = conn
        self.sess = conn.sess
        self.io = conn.sess.io
        self.start_file = start_file
        self.start_pos = start_pos
        self.exclude = exclude
        self.gtid_proto = exclude is not None
        self.flags = flags
        self.slave_id = slave_id
        self.check_prev_gtids = exclude is not None
        self.clear_fd_created = exclude is None
        self.last_file = None
        self.last_pos = 0
        self.file = None
        self.read_pos = 0
        self.words = server.words
        self.killed = False
        self.duplicate = False
        self.slave_alg = None
        self.event_alg = None
        self.hb_period = 0
        self.last_sent = time.monotonic()

    # -- helpers -------------------------------------------------------------------
    def fatal(self, msg):
        raise Fatal(msg)

    def on_killed(self):
        if self.duplicate:
            self.fatal("A %s with the same server_uuid/server_id as this %s has connected to "
                       "the %s" % (self.words.replica, self.words.replica, self.words.source))
        raise P.ClientGone("killed")

    def event_checksum_on(self):
        return self.event_alg == 1

    def send_event(self, ev):
        self.io.write_packet(b"\x00", ev)
        self.last_sent = time.monotonic()
        if self.io.pending() > 256 * 1024:
            self.io.flush()

    def crc(self, ev):
        ev = bytearray(ev)
        struct.pack_into("<I", ev, len(ev) - 4, B.crc32(bytes(ev[:-4])))
        return bytes(ev)

    # -- run -------------------------------------------------------------------------
    def run(self):
        try:
            self.init()
            name, pos = self.start_name, self.start_pos
            while True:
                f = self.prim.file(name)
                if f is None:
                    self.fatal("could not find next log")
                self.fake_rotate(name, pos)
                self.file = f
                self.read_pos = 0
                if self.send_binlog(pos):
                    break
                self.last_file = "./" + name
                nxt = self.prim.next_file(name)
                if nxt is None:
                    self.fatal("could not find next log")
                name, pos = nxt, 4
        except Fatal as e:
            msg = str(e)
            if self.file is not None:
                msg = ("%s; the first event '%s' at %d, the last event read from '%s' at %d, "
                       "the last byte read from '%s' at %d." %
                       (msg, self.start_file, self.start_pos, self.last_file or "./" + self.file.name,
                        self.last_pos, "./" + self.file.name, self.read_pos))
            self.srv.log("dump of connection %d ends: %s" % (self.conn.id, msg))
            self.io.write_packet(self.sess.err(ER_MASTER_FATAL_ERROR_READING_BINLOG, "HY000", msg))
            self.io.flush()
            return
        self.io.write_packet(self.sess.end_of_rows())
        self.io.flush()

    def user_var(self, *names):
        for n in names:
            if n in self.conn.user_vars:
                return self.conn.user_vars[n]
        return None

    def init(self):
        srv, prim = self.srv, self.prim
        w = self.words
        hb = self.user_var("source_heartbeat_period", "master_heartbeat_period")
        try:
            self.hb_period = int(hb or 0) / 1e9
        except (TypeError, ValueError):
            self.hb_period = 0
        if prim.server_id == 0:
            self.fatal("Misconfigured %s - %s server_id is 0" % (w.source, w.source))
        with prim.lock:
            if self.gtid_proto and prim.gtid_mode != "ON":
                self.fatal("The replication sender thread cannot start in AUTO_POSITION mode: "
                           "this server has GTID_MODE = %s instead of ON." % prim.gtid_mode)
            self.check_start_file()
        srv.log("Start binlog_dump to connection %d replica_server(%d), pos(%s, %d)" %
                (self.conn.id, self.slave_id, self.start_file, self.start_pos))
        self.slave_alg = checksum_alg_of(self.user_var("source_binlog_checksum",
                                                       "master_binlog_checksum"))
        self.event_alg = self.slave_alg
        self.wait_new = not (self.slave_id == 0 or self.flags & BINLOG_DUMP_NON_BLOCK)

    def check_start_file(self):
        prim = self.prim
        w = self.words
        name = None
        if self.start_file:
            name = self.start_file.rsplit("/", 1)[-1]
        elif self.gtid_proto:
            executed = prim.executed()
            if not self.exclude.is_subset_for_uuid(executed, prim.uuid_bytes()):
                self.fatal(w.more_gtids)
            purged = prim.purged
            if not purged.is_subset(self.exclude):
                self.fatal(w.purged(self.exclude, purged.subtract(self.exclude)))
            found = None
            for f in reversed(prim.files):
                prev = f.prev_gtids if f.prev_gtids is not None else GtidSet()
                if prev.is_subset(self.exclude):
                    found = f
                    break
            if found is None:
                self.fatal(w.purged_plain)
            name = found.name
            self.check_prev_gtids = False
            first = found.first_gtid()
            self.clear_fd_created = bool(first) and self.exclude.contains(*first)
        else:
            name = prim.files[0].name if prim.files else None
        f = prim.file(name) if name else None
        if f is None:
            self.fatal("Could not find first log file name in binary log index file")
        if self.start_pos < 4:
            self.fatal("Client requested %s to start replication from position < 4" % w.source)
        if self.start_pos > prim.end_of(f):
            self.fatal("Client requested %s to start replication from position > file size" %
                       w.source)
        self.start_name = f.name

    def fake_rotate(self, name, pos):
        ck = self.event_checksum_on()
        ev = B.make_rotate(name, pos, self.prim.server_id, 0, ck, ts=0,
                           flags=B.LOG_EVENT_ARTIFICIAL_F)
        self.send_event(ev)

    def send_binlog(self, start_pos):
        """1: the dump ends here; 0: go on with the next file."""
        f = self.file
        self.send_fde(f, start_pos)
        if start_pos == 4:
            start_pos = f.fde_off + f.fde_len
        if self.check_prev_gtids:
            off = f.fde_off + f.fde_len
            if off >= self.prim.end_of(f) or f.data[off + 4] != B.PREVIOUS_GTIDS:
                return 0
        self.read_pos = start_pos
        while True:
            end = self.end_pos()
            if end is None:
                return 1
            self.send_events(end)
            if end == 0:
                return 0

    def send_fde(self, f, start_pos):
        off = f.fde_off
        ev = bytearray(f.data[off:off + f.fde_len])
        self.read_pos = off + f.fde_len
        self.last_file, self.last_pos = "./" + f.name, self.read_pos
        alg, _ = B.fde_checksum(f.data, off, f.fde_len)
        self.event_alg = alg if alg is not None else None
        if self.slave_alg is None and self.event_checksum_on():
            self.srv.log("Source is configured to log replication events with checksum, but "
                         "will not send such events to replicas that cannot process them")
            self.fatal("%s can not handle replication events with the checksum that %s is "
                       "configured to log" % (self.words.Replica, self.words.source))
        struct.pack_into("<H", ev, 17, struct.unpack_from("<H", ev, 17)[0] & ~B.LOG_EVENT_BINLOG_IN_USE_F)
        updated = False
        if self.gtid_proto:
            if self.clear_fd_created:
                struct.pack_into("<I", ev, B.HDR + 52, 0)
                updated = True
        elif start_pos > 4:
            struct.pack_into("<I", ev, 13, 0)
            struct.pack_into("<I", ev, B.HDR + 52, 0)
            updated = True
        if self.event_checksum_on() and updated:
            ev = self.crc(ev)
        self.send_event(bytes(ev))

    def end_pos(self):
        """The end to read to: 0 for a closed file (to its end), a
        position in the file being written, None when the dump ends."""
        prim = self.prim
        while True:
            if self.killed:
                self.on_killed()
            with prim.lock:
                f = prim.current(self.file)
                if f is not self.file:
                    self.file = f  # closed meanwhile: same bytes, and more
                if not prim.is_active(f):
                    return 0
                end = f.visible_end
                if self.read_pos < end:
                    return end
            self.io.flush()
            if not self.wait_new:
                return None
            self.wait(self.read_pos)

    def wait(self, pos):
        prim = self.prim
        gen = prim.generation
        while True:
            with prim.cond:
                if self.killed:
                    self.on_killed()
                if prim.generation != gen:
                    return
                timeout = self.hb_period if self.hb_period > 0 else None
                fired = prim.cond.wait(timeout)
                if self.killed:
                    self.on_killed()
                if prim.generation != gen:
                    return
            if not fired and self.hb_period > 0:
                self.send_heartbeat(pos)
                self.io.flush()

    def send_heartbeat(self, log_pos):
        f = self.file
        ck = self.event_checksum_on()
        name = f.name.encode()
        if self.flags & USE_HEARTBEAT_EVENT_V2 and self.srv.v >= (8, 0, 26):
            body = (P.lenenc_int(1) + P.lenenc_int(len(name)) + name +
                    P.lenenc_int(2) + P.lenenc_int(len(P.lenenc_int(log_pos))) +
                    P.lenenc_int(log_pos) + P.lenenc_int(0))
            typ = B.HEARTBEAT_V2
        else:
            body = name
            typ = B.HEARTBEAT
        length = B.HDR + len(body) + (4 if ck else 0)
        ev = B.header(0, typ, self.prim.server_id, length, log_pos & 0xFFFFFFFF, 0) + body
        self.send_event(B.with_checksum(ev, ck))
        self.srv.count("heartbeats")
        if typ == B.HEARTBEAT_V2:
            self.srv.count("heartbeats_v2")

    def check_event_type(self, typ, pos):
        prim = self.prim
        fname = "./" + self.file.name
        if typ == B.ANONYMOUS_GTID:
            if self.gtid_proto:
                self.fatal("Cannot replicate anonymous transaction when AUTO_POSITION = 1, at "
                           "file %s, position %d." % (fname, pos))
            if prim.gtid_mode == "ON":
                self.fatal("Cannot replicate anonymous transaction when @@GLOBAL.GTID_MODE = ON, "
                           "at file %s, position %d." % (fname, pos))
        elif typ in (B.GTID, B.GTID_TAGGED) and prim.gtid_mode == "OFF":
            self.fatal("Cannot replicate GTID-transaction when @@GLOBAL.GTID_MODE = OFF, at "
                       "file %s, position %d." % (fname, pos))

    def needs_checks(self, f):
        mode = self.prim.gtid_mode
        return bool(((self.gtid_proto or mode == "ON") and f.anonymous_events) or
                    (mode == "OFF" and f.gtid_events))

    def send_events(self, end):
        f = self.file
        if (self.prim.drop_armed or self.needs_checks(f)
                or f.event_index(self.read_pos) is None):
            return self.send_each(end)
        if self.exclude is not None:
            # the transactions the set holds are skipped one by one; what
            # follows the last of them goes out as slices
            limit = end if end else len(f.data)
            b = self.exclude_boundary(f, limit)
            if b > self.read_pos:
                self.send_each(b)
                if self.read_pos >= limit:
                    return
        return self.send_span(end)

    def exclude_boundary(self, f, limit):
        """The end of the last transaction before limit whose GTID the
        set holds, or the read position when there is none."""
        first = f.txn_index_at(self.read_pos)
        i = f.txn_index_at(limit) - 1
        if i < f.txn_count() and i >= 0 and f.tx_end[i] > limit:
            i -= 1
        while i >= first:
            g = f.gtid_of(i)
            if g is not None and self.exclude.contains(*g):
                return f.tx_end[i]
            i -= 1
        return self.read_pos

    def send_span(self, end):
        """The plain case: events sent as slices of the file, framed in a
        loop that does nothing else."""
        f = self.file
        offs = f.ev_off
        limit = end if end else len(f.data)
        i = f.event_index(self.read_pos)
        if i is None:
            return self.send_each(end)
        mv = memoryview(f.data)
        io = self.io
        out = io.out
        pack = struct.Struct("<I").pack
        seq = io.seq
        n = len(offs)
        pos = self.read_pos
        while i < n:
            nxt = offs[i + 1] if i + 1 < n else f.length_parsed
            if nxt > limit:
                break
            ln = nxt - pos + 1
            if ln >= 0xFFFFFF:
                io.seq = seq
                io.write_packet(b"\x00", mv[pos:nxt])
                seq = io.seq
            else:
                out += pack(ln | (seq << 24))
                out += b"\x00"
                out += mv[pos:nxt]
                seq = (seq + 1) & 0xFF
            pos = nxt
            i += 1
            if len(out) > 262144:
                io.seq = seq
                self.read_pos = pos
                if self.killed:
                    self.on_killed()
                io.flush()
                out = io.out
        io.seq = seq
        self.read_pos = pos
        self.last_file, self.last_pos = "./" + f.name, pos
        if pos < limit:
            return self.send_each(end)  # a torn tail: the careful loop reports it
        self.last_sent = time.monotonic()
        io.flush()

    def send_each(self, end):
        f = self.file
        data = f.data
        limit = end if end else len(data)
        pos = self.read_pos
        exclude = self.exclude
        in_exclude = False
        exclude_end = 0
        prim = self.prim
        io = self.io
        unpack = struct.unpack_from
        drop_at = None
        check = f.anonymous_events or f.gtid_events
        while pos < limit:
            if self.killed:
                self.on_killed()
            if limit - pos < B.HDR:
                self.read_pos = pos
                self.fatal("binlog truncated in the middle of event; consider out of disk "
                           "space on %s" % self.words.source)
            (length,) = unpack("<I", data, pos + 9)
            if length < B.HDR:
                self.read_pos = pos
                self.fatal("bogus data in log event")
            if pos + length > limit:
                self.read_pos = pos
                self.fatal("binlog truncated in the middle of event; consider out of disk "
                           "space on %s" % self.words.source)
            typ = data[pos + 4]
            if check:
                self.check_event_type(typ, pos)
            nxt = pos + length
            self.last_file, self.last_pos = "./" + f.name, nxt
            if exclude is not None:
                if typ == B.GTID or typ == B.GTID_TAGGED:
                    ub, tag, gno = B.parse_gtid_event(data, pos, length - (4 if f.checksum else 0))
                    in_exclude = exclude.contains(ub, tag, gno)
                elif typ == B.ROTATE:
                    in_exclude = False
                if in_exclude:
                    if self.hb_period > 0 and time.monotonic() - self.last_sent >= self.hb_period:
                        self.send_heartbeat(nxt)
                        exclude_end = 0
                    else:
                        exclude_end = nxt
                    pos = nxt
                    self.read_pos = pos
                    continue
                if exclude_end:
                    self.send_heartbeat(exclude_end)
                    exclude_end = 0
            if prim.drop_armed and drop_at is None:
                drop_at = prim.drop_point(f, pos)
            if drop_at is not None and pos == drop_at:
                io.flush()
                prim.drop_fired()
                self.srv.log("connection %d: dropped in the middle of a transaction at %s:%d" %
                             (self.conn.id, f.name, pos))
                raise DumpStop()
            io.write_packet(b"\x00", data[pos:nxt])
            if io.pending() > 256 * 1024:
                io.flush()
            pos = nxt
            self.read_pos = pos
        self.last_sent = time.monotonic()
        if in_exclude:
            self.send_heartbeat(pos)
        io.flush()
