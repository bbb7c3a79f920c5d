#!/usr/bin/env python3
"""A MySQL-speaking primary for godwit's tests (README.md beside it).

    mysqld.py --dir DIR [--port N] [--port-file F] [--version 8.0.40]
              [--binlog FILE[:NAME]]... [options]      serve
    mysqld.py ctl SOCKET COMMAND [ARGS...]              control a running one

It speaks the client/server protocol (handshake v10, TLS,
caching_sha2_password and mysql_native_password), answers what a client
of a MySQL source asks as MySQL 5.7/8.0/8.4 answer it, and serves binlog
files written by real MySQL servers, byte for byte, to COM_BINLOG_DUMP and
COM_BINLOG_DUMP_GTID. The rest of the statements go to a MariaDB that holds
the tables (--forward). A control socket lets a test act on it as on a
live primary: release held-back transactions, drop a dump in the middle of
a transaction, restart, switch over, purge.
"""

import argparse
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid as uuidmod

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import answers as A  # noqa: E402
import binlogs as B  # noqa: E402
import forward as F  # noqa: E402
import myauth  # noqa: E402
import myproto as P  # noqa: E402
import sender as S  # noqa: E402
from gtidset import GtidSet, GtidError, uuid_bytes  # noqa: E402

COM_SLEEP, COM_QUIT, COM_INIT_DB, COM_QUERY, COM_FIELD_LIST = 0, 1, 2, 3, 4
COM_STATISTICS, COM_PROCESS_INFO, COM_PROCESS_KILL = 9, 10, 12
COM_PING, COM_CHANGE_USER = 14, 17
COM_BINLOG_DUMP, COM_REGISTER_SLAVE = 0x12, 0x15
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA = 0x16, 0x17, 0x18
COM_STMT_CLOSE, COM_STMT_RESET, COM_SET_OPTION, COM_STMT_FETCH = 0x19, 0x1A, 0x1B, 0x1C
COM_RESET_CONNECTION = 0x1F
COM_BINLOG_DUMP_GTID = 0x1E


class Words:
    """The wording of the version emulated (8.0.26 renamed master/slave)."""

    def __init__(self, v):
        new = v >= (8, 0, 26)
        self.source = "source" if new else "master"
        self.Replica = "Replica" if new else "Slave"
        self.replica = "replica" if new else "slave"
        self.v = v
        if new:
            self.more_gtids = (
                "Replica has more GTIDs than the source has, using the source's SERVER_UUID. "
                "This may indicate that the end of the binary log was truncated or that the "
                "last binary log file was lost, e.g., after a power or disk failure when "
                "sync_binlog != 1. The source may or may not have rolled back transactions "
                "that were already replicated to the replica. Suggest to replicate any "
                "transactions that source has rolled back from replica to source, and/or "
                "commit empty transactions on source to account for transactions that have "
                "been committed on source but are not included in GTID_EXECUTED.")
            self.purged_plain = (
                "The replica is connecting using CHANGE REPLICATION SOURCE TO "
                "SOURCE_AUTO_POSITION = 1, but the source has purged binary logs containing "
                "GTIDs that the replica requires. To find the missing transactions, see the "
                "source's error log or the manual for GTID_SUBTRACT.")
        else:
            self.more_gtids = (
                "Slave has more GTIDs than the master has, using the master's SERVER_UUID. "
                "This may indicate that the end of the binary log was truncated or that the "
                "last binary log file was lost, e.g., after a power or disk failure when "
                "sync_binlog != 1. The master may or may not have rolled back transactions "
                "that were already replicated to the slave. Suggest to replicate any "
                "transactions that master has rolled back from slave to master, and/or commit "
                "empty transactions on master to account for transactions that have been "
                "committed on master but are not included in GTID_EXECUTED.")
            self.purged_plain = (
                "The slave is connecting using CHANGE MASTER TO MASTER_AUTO_POSITION = 1, but "
                "the master has purged binary logs containing GTIDs that the slave requires.")

    def purged(self, sent, missing):
        if self.v < (8, 0, 0) and self.v < (5, 7, 23):
            return self.purged_plain
        return ("Cannot replicate because the %s purged required binary logs. Replicate the "
                "missing transactions from elsewhere, or provision a new %s from backup. "
                "Consider increasing the %s's binary log expiration period. The GTID set sent "
                "by the %s is '%s', and the missing transactions are '%s'" %
                (self.source, self.replica, self.source, self.replica, sent.to_text(),
                 missing.to_text()))


def next_name(name, step=1):
    m = re.match(r"^(.*\.)(\d+)$", name)
    if not m:
        return name + ".000001"
    n = int(m.group(2)) + step
    return "%s%0*d" % (m.group(1), len(m.group(2)), max(n, 1))


class Primary:
    """The binlog files and the GTID state; every change under lock and
    announced through cond (the dumps wait on it)."""

    def __init__(self, srv, files, args):
        self.srv = srv
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.files = files
        self.generation = 0
        self.drop_armed = 0
        self._exec = None
        self._exec_gen = -1
        gtid_files = any(f.gtid_events for f in files)
        anon_files = any(f.anonymous_events for f in files)
        if args.gtid:
            self.gtid_mode = "ON" if args.gtid == "on" else "OFF"
        else:
            self.gtid_mode = "ON" if gtid_files and not anon_files else "OFF"
        self.enforce_gtid = "ON" if self.gtid_mode == "ON" else "OFF"
        self.server_id = args.server_id if args.server_id is not None else (files[-1].server_id() or 1)
        self.server_uuid = args.server_uuid or self._default_uuid()
        first = files[0]
        self.purged = GtidSet(args.gtid_purged) if args.gtid_purged is not None else \
            (first.prev_gtids.copy() if first.prev_gtids is not None else GtidSet())

    def _default_uuid(self):
        for f in reversed(self.files):
            for i in range(f.txn_count() - 1, -1, -1):
                g = f.gtid_of(i)
                if g:
                    return str(uuidmod.UUID(bytes=g[0]))
        return str(uuidmod.uuid5(uuidmod.NAMESPACE_URL, "godwit-mysqld:" + self.files[0].name +
                                 ":" + str(self.files[0].size())))

    def uuid_bytes(self):
        return uuid_bytes(self.server_uuid)

    def base_name(self):
        return self.files[-1].name.rsplit(".", 1)[0]

    def checksum_name(self):
        return "CRC32" if self.files[-1].checksum else "NONE"

    # -- lookups (under lock) ---------------------------------------------------------
    def file(self, name):
        for f in self.files:
            if f.name == name:
                return f
        return None

    def current(self, f):
        return self.file(f.name) or f

    def is_active(self, f):
        return self.files and f is self.files[-1] and not f.closed

    def end_of(self, f):
        return f.visible_end if self.is_active(f) else len(f.data)

    def next_file(self, name):
        with self.lock:
            for i, f in enumerate(self.files):
                if f.name == name:
                    return self.files[i + 1].name if i + 1 < len(self.files) else None
            return self.files[0].name if self.files else None

    def executed(self):
        with self.lock:
            if self._exec is not None and self._exec_gen == self.generation:
                return self._exec
            g = self.purged.copy()
            for f in self.files:
                if f.prev_gtids is not None:
                    g.add_set(f.prev_gtids)
                g.add_set(f.gtids_upto(self.end_of(f)))
            self._exec, self._exec_gen = g, self.generation
            return g

    def changed(self):
        self.generation += 1
        self.cond.notify_all()

    # -- a live primary ------------------------------------------------------------------
    def release(self, n):
        with self.lock:
            a = self.files[-1]
            if a.closed:
                raise ValueError("no file is being written")
            if n == "all":
                a.visible_end = len(a.data)
            else:
                i = a.txn_index_at(a.visible_end)
                if i >= a.txn_count():
                    raise ValueError("nothing is held back")
                j = min(i + int(n), a.txn_count()) - 1
                a.visible_end = a.tx_end[j]
            self.changed()
            return a.visible_end

    def held(self):
        a = self.files[-1]
        if a.closed:
            return 0
        return a.txn_count() - a.txn_index_at(a.visible_end)

    def rotate(self, kind=B.ROTATE, created=0, server_id=None):
        """Closes the file being written at what it has shown (ROTATE, STOP,
        or nothing after a crash) and opens the next one; what was held
        back moves to the new file."""
        with self.lock:
            a = self.files[-1]
            sid = self.server_id if server_id is None else server_id
            vis = a.visible_end
            held = a.units_after(vis)
            new_name = next_name(a.name)
            if kind == B.ROTATE:
                tail = B.make_rotate(new_name, 4, sid, vis + B.HDR + 8 + len(new_name) +
                                     (4 if a.checksum else 0), a.checksum)
            elif kind == B.STOP:
                tail = B.make_stop(sid, vis, a.checksum)
            else:
                tail = b""
            closed = B.BinlogFile(a.name, bytes(a.data[:vis]) + tail, a.source)
            closed.closed = True
            closed.visible_end = len(closed.data)
            self.files[-1] = closed
            exec_now = self.executed_upto_visible()
            self.files.append(self._new_file(new_name, a, exec_now, held, created, sid))
            self.changed()
            return new_name

    def executed_upto_visible(self):
        g = self.purged.copy()
        for f in self.files:
            if f.prev_gtids is not None:
                g.add_set(f.prev_gtids)
            g.add_set(f.gtids_upto(self.end_of(f) if not f.closed else len(f.data)))
        return g

    def _new_file(self, name, like, prev, spans, created, sid, src=None):
        head = B.make_fde_from(like.fde_bytes(), sid, created, like.checksum)
        if like.prev_gtids is not None:
            head += B.make_previous_gtids(prev, sid, 4 + len(head), like.checksum)
        body = B.relocate(src.data if src is not None else like.data, spans, 4 + len(head),
                          like.checksum)
        f = B.BinlogFile(name, B.MAGIC + head + body, "assembled")
        f.visible_end = f.header_end
        return f

    def purge_to(self, name):
        with self.lock:
            idx = None
            for i, f in enumerate(self.files):
                if f.name == name:
                    idx = i
            if idx is None:
                raise A.SqlError(1373, "HY000", "Target log not found in binlog index")
            del self.files[:idx]
            first = self.files[0]
            if first.prev_gtids is not None:
                self.purged = first.prev_gtids.copy()
            self.changed()

    def purge_all(self):
        with self.lock:
            name = self.rotate()
            self.purge_to(name)
            return name

    def switchover(self, new_uuid, first_name, server_id):
        """Another server takes over with the same transactions in files of
        its own: names and offsets differ, the GTIDs do not."""
        with self.lock:
            shown = 0
            spans = []  # (file, span, shown)
            for f in self.files:
                end = self.end_of(f)
                for s, e in f.units_after(f.header_end):
                    spans.append((f, (s, e), e <= end))
                    if e <= end:
                        shown += 1
            like = self.files[-1]
            k = max(1, shown // 2) if shown > 1 else shown
            first = spans[:k]
            rest = spans[k:]
            prev = self.purged.copy()
            name1 = first_name or next_name(like.name.rsplit(".", 1)[0] + ".000000")
            files = []
            f1 = self._assemble(name1, like, prev, first, 0, server_id)
            if rest or not first:
                tail = B.make_rotate(next_name(name1), 4, server_id,
                                     len(f1.data) + B.HDR + 8 + len(next_name(name1)) +
                                     (4 if like.checksum else 0), like.checksum)
                f1 = B.BinlogFile(name1, bytes(f1.data) + tail, "assembled")
                f1.closed = True
                files.append(f1)
                prev2 = prev.copy().add_set(f1.gtids_upto(len(f1.data)))
                f2 = self._assemble(next_name(name1), like, prev2, rest, 0, server_id)
                f2.visible_end = f2.header_end
                for (_, (s, e), sh) in rest:
                    if sh:
                        f2.visible_end += e - s
                files.append(f2)
            else:
                f1.visible_end = len(f1.data)
                files.append(f1)
            self.files = files
            self.server_uuid = new_uuid
            self.server_id = server_id
            self.changed()
            return [f.name for f in files]

    def _assemble(self, name, like, prev, spans, created, sid):
        head = B.make_fde_from(like.fde_bytes(), sid, created, like.checksum)
        if like.prev_gtids is not None:
            head += B.make_previous_gtids(prev, sid, 4 + len(head), like.checksum)
        body = bytearray()
        pos = 4 + len(head)
        for f, (s, e), _ in spans:
            part = B.relocate(f.data, [(s, e)], pos, like.checksum)
            body += part
            pos += len(part)
        f = B.BinlogFile(name, B.MAGIC + head + bytes(body), "assembled")
        f.visible_end = len(f.data)
        return f

    # -- faults ----------------------------------------------------------------------------
    def drop_point(self, f, pos):
        """Where to cut a dump that starts sending the transaction at pos:
        its last event (so that it is never complete); None if pos does not
        start a transaction of more than one event."""
        with self.lock:
            if not self.drop_armed:
                return None
            i = f.txn_index_at(pos)
            if i >= f.txn_count() or f.tx_start[i] != pos:
                return None
            off, last = pos, None
            while off < f.tx_end[i]:
                last = off
                off += struct.unpack_from("<I", f.data, off + 9)[0]
            return last if last != pos else None

    def drop_fired(self):
        with self.lock:
            self.drop_armed = max(0, self.drop_armed - 1)


class Conn:
    def __init__(self, srv, sock, addr, cid):
        self.srv = srv
        self.sock = sock
        self.id = cid
        self.peer_host = addr[0]
        self.peer_port = addr[1]
        self.since = time.time()
        self.sess = P.Session(P.PacketIO(sock))
        self.user = ""
        self.db = None
        self.user_vars = {}
        self.session_vars = {}
        self.backend = None
        self.sender = None
        self.command = "Sleep"
        self.replica = None
        self.stmts = {}
        self.next_stmt = 1

    # -- answers' view of the session ----------------------------------------------------
    def sysvar(self, text):
        m = re.match(r"^@@(?:(global|session|local)\.)?`?([^`]+)`?$", text, re.I)
        scope = (m.group(1) or "").upper()
        name = m.group(2).lower()
        kv = self.var_value(name, scope or None, strict=True)
        return A.select_value(*kv)

    def var_value(self, name, scope, strict=False):
        srv = self.srv
        known = name in srv.var_overrides or A.exists(name, srv.v)
        if not known:
            if strict:
                raise A.SqlError(1193, "HY000", "Unknown system variable '%s'" % name)
            return None
        vscope = A.VARIABLES[name][0] if name in A.VARIABLES else "b"
        if scope == "GLOBAL" and vscope == "s":
            raise A.SqlError(1238, "HY000", "Variable '%s' is a SESSION variable" % name)
        if scope in ("SESSION", "LOCAL") and vscope == "g":
            raise A.SqlError(1238, "HY000", "Variable '%s' is a GLOBAL variable" % name)
        if scope != "GLOBAL" and name in self.session_vars:
            kind = A.VARIABLES[name][1] if name in A.VARIABLES else "str"
            return kind, self.session_vars[name]
        return A.global_value(srv, name)

    def need_privilege(self, *privs):
        acc = self.srv.account(self.user) or {}
        have = acc.get("grants", "") + "," + acc.get("dynamic", "")
        have = {p.strip().upper() for p in have.split(",")}
        if "ALL PRIVILEGES" in have or any(p in have for p in privs):
            return
        raise A.SqlError(1227, "42000", "Access denied; you need (at least one of) the %s "
                         "privilege(s) for this operation" % ", ".join(privs))

    # -- the connection ---------------------------------------------------------------------
    def run(self):
        srv = self.srv
        io = self.sess.io
        try:
            auth = myauth.Authenticator(srv, self.sess, self.id, self.peer_host)
            try:
                hello = auth.run()
            except myauth.AuthFailed as e:
                srv.log("connection %d: %s" % (self.id, e.msg))
                srv.count("auth_denied")
                io.write_packet(self.sess.err(e.code, e.state, e.msg))
                io.flush()
                return
            self.user = hello.user
            self.tls = auth.secure
            self.sess.charset = hello.charset
            self.sess.result_charset = 255 if srv.v >= (8, 0, 0) else 33
            if hello.db:
                self.db = hello.db
            self.sess.send_ok()
            if self.sess.has(P.CLIENT_COMPRESS):
                io.compress = True
            srv.log("connection %d: %s@%s%s%s" % (self.id, self.user, self.peer_host,
                                                   " tls" if auth.secure else "",
                                                   " compressed" if io.compress else ""))
            while True:
                io.reset_seq()
                pkt = io.read_packet()
                if not pkt:
                    continue
                if not self.dispatch(pkt):
                    return
        except P.ClientGone as e:
            srv.log("connection %d: gone (%s)" % (self.id, e))
        except S.DumpStop:
            pass
        except P.ProtocolError as e:
            srv.log("connection %d: %s" % (self.id, e))
        except Exception:
            srv.log("connection %d failed:\n%s" % (self.id, traceback.format_exc()))
        finally:
            self.close()

    def close(self):
        srv = self.srv
        srv.forget(self)
        if self.backend:
            self.backend.close()
        for s in (self.sess.io.sock, self.sock):  # the TLS socket, if any, owns the fd
            try:
                s.close()
            except OSError:
                pass

    def kill(self, rst=False):
        if self.sender:
            self.sender.killed = True
        s = self.sess.io.sock
        try:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def dispatch(self, pkt):
        cmd = pkt[0]
        sess = self.sess
        srv = self.srv
        try:
            if cmd == COM_QUIT:
                return False
            if cmd == COM_PING:
                sess.send_ok()
            elif cmd == COM_QUERY:
                self.query(pkt)
            elif cmd == COM_INIT_DB:
                db = pkt[1:].decode("utf-8", "replace")
                if srv.forward:
                    self.relay(pkt, "one")
                else:
                    sess.send_ok()
                self.db = db
            elif cmd in (COM_BINLOG_DUMP, COM_BINLOG_DUMP_GTID):
                self.binlog_dump(pkt, gtid=cmd == COM_BINLOG_DUMP_GTID)
                # as com_binlog_dump(): "fake COM_QUIT -- if we get here, the
                # thread needs to terminate"
                return False
            elif cmd == COM_REGISTER_SLAVE:
                self.register_replica(pkt)
            elif cmd in (COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE, COM_STMT_RESET,
                         COM_STMT_SEND_LONG_DATA, COM_STMT_FETCH, COM_FIELD_LIST):
                self.statement(pkt)
            elif cmd == COM_SET_OPTION:
                if srv.forward:
                    self.relay(pkt, "one")
                else:
                    sess.io.write_packet(sess.eof())
                    sess.io.flush()
            elif cmd == COM_RESET_CONNECTION:
                self.user_vars.clear()
                self.session_vars.clear()
                if self.backend:
                    self.relay(pkt, "one")
                else:
                    sess.send_ok()
            elif cmd == COM_STATISTICS:
                sess.io.write_packet(b"Uptime: %d  Threads: %d  Questions: %d  Slow queries: 0  "
                                     b"Opens: 0  Flush tables: 3  Open tables: 0  Queries per "
                                     b"second avg: 0.000" % (int(time.time() - srv.started),
                                                             len(srv.conns), srv.questions))
                sess.io.flush()
            elif cmd == COM_PROCESS_KILL:
                (victim,) = struct.unpack_from("<I", pkt, 1)
                self.kill_other(victim)
                sess.send_ok()
            elif cmd == COM_CHANGE_USER:
                sess.send_err(1105, "HY000", "COM_CHANGE_USER is not supported by this server")
            else:
                sess.send_err(1047, "08S01", "Unknown command")
        except A.SqlError as e:
            sess.send_err(e.code, e.state, e.msg)
        except F.BackendError as e:
            srv.log("connection %d: %s" % (self.id, e))
            sess.send_err(2013 if "lost" in str(e) else 1105, "HY000", str(e))
        return True

    # -- COM_QUERY -------------------------------------------------------------------------
    def query(self, pkt):
        srv = self.srv
        srv.questions += 1
        body = pkt[1:]
        if self.sess.has(P.CLIENT_QUERY_ATTRIBUTES):
            nparams, off = P.read_lenenc(body, 0)
            _, off = P.read_lenenc(body, off)
            if nparams:
                nb = (nparams + 7) // 8
                off += nb
                bind = body[off]
                off += 1
                types = []
                if bind:
                    for _ in range(nparams):
                        types.append(body[off])
                        off += 2
                        ln, off = P.read_lenenc(body, off)
                        off += ln
                off = skip_binary_values(body, off, types)
            body = body[off:]
        sql = body.decode("utf-8", "replace")
        srv.log("connection %d: query: %s" % (self.id, sql[:300].replace("\n", " ")))
        stmts = A.split_top(sql, ";") if self.sess.has(P.CLIENT_MULTI_STATEMENTS) else [sql]
        stmts = [s for s in stmts if s.strip()] or [sql]
        for i, one in enumerate(stmts):
            more = i + 1 < len(stmts)
            if not self.one_statement(one, more):
                return

    def one_statement(self, sql, more):
        srv = self.srv
        sess = self.sess
        if more:
            sess.status |= P.SERVER_MORE_RESULTS_EXISTS
        try:
            r = A.answer(self, sql)
            if r is A.NOT_MINE:
                if srv.forward:
                    payload = b"\x03" + sql.encode("utf-8")
                    self.relay(payload, "query")
                    return True
                if A.ACKNOWLEDGED.match(sql.strip()):
                    r = A.OK()
                else:
                    raise A.not_supported(sql.strip())
            if isinstance(r, A.Result) and r.cols is not None:
                sess.send_resultset(r.cols, r.rows)
            else:
                if re.match(r"^\s*SET\b", sql, re.I) and srv.forward:
                    self.replay_set(sql)
                sess.send_ok(affected=r.affected)
            return True
        except A.SqlError as e:
            sess.status &= ~P.SERVER_MORE_RESULTS_EXISTS
            sess.send_err(e.code, e.state, e.msg)
            return False
        finally:
            sess.status &= ~P.SERVER_MORE_RESULTS_EXISTS

    def replay_set(self, sql):
        """A session SET goes to the MariaDB session too (opened or later),
        so that what it reads there follows the client's settings; its
        complaints about MySQL-only names are not the client's concern."""
        if re.match(r"^\s*SET\s+@(?!@)", sql) and not re.search(r",\s*@@", sql):
            return
        self.pending_sets = getattr(self, "pending_sets", [])
        self.pending_sets.append(sql)
        if self.backend and self.backend.io:
            self.flush_sets()

    def flush_sets(self):
        for s in getattr(self, "pending_sets", []):
            b = self.backend
            b.io.reset_seq()
            b.io.write_packet(b"\x03" + s.encode())
            b.io.flush()
            drain(b)
        self.pending_sets = []

    # -- forwarding ----------------------------------------------------------------------
    def ensure_backend(self):
        if self.backend and self.backend.io:
            return self.backend
        fw = self.srv.forward
        b = F.Backend(fw["host"], fw["port"], fw["user"], fw["password"])
        b.connect(self.sess.caps, self.sess.charset, self.db)
        self.backend = b
        self.flush_sets()
        return b

    def relay(self, payload, kind):
        if not self.srv.forward:
            raise A.not_supported("this statement without a server holding the tables")
        b = self.ensure_backend()
        b.command(payload, self.sess, kind)

    def statement(self, pkt):
        cmd = pkt[0]
        if not self.srv.forward:
            if cmd in (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA):
                return
            raise A.SqlError(1295, "HY000", "This command is not supported in the prepared "
                             "statement protocol yet")
        if cmd == COM_STMT_PREPARE:
            self.relay(pkt, "prepare")
        elif cmd == COM_STMT_EXECUTE:
            b = self.ensure_backend()
            self.relay(b.strip_execute_attributes(pkt, self.sess.caps), "query")
        elif cmd in (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA):
            if self.backend:
                self.relay(pkt, "none")
        elif cmd == COM_FIELD_LIST:
            self.relay(pkt, "fieldlist")
        else:
            self.relay(pkt, "one" if cmd == COM_STMT_RESET else "query")

    def kill_other(self, victim, query_only=False):
        other = self.srv.conns.get(victim)
        if other is None:
            raise A.SqlError(1094, "HY000", "Unknown thread id: %d" % victim)
        if query_only and other.sender is None:
            return
        # KILL QUERY ends a dump, and a dump's end ends its connection
        other.kill()

    def state(self):
        if self.sender is not None:
            return ("Source has sent all binlog to replica; waiting for more updates"
                    if self.srv.v >= (8, 0, 26) else
                    "Master has sent all binlog to slave; waiting for more updates")
        return "starting" if self.command == "Query" else ""


    # -- replication -------------------------------------------------------------------------
    def register_replica(self, pkt):
        self.need_privilege("REPLICATION SLAVE")
        off = 1
        (sid,) = struct.unpack_from("<I", pkt, off)
        off += 4
        vals = []
        for _ in range(3):
            n = pkt[off]
            vals.append(pkt[off + 1:off + 1 + n].decode("utf-8", "replace"))
            off += 1 + n
        port, rank, source_id = struct.unpack_from("<HII", pkt, off)
        self.replica = {"server_id": sid, "host": vals[0], "user": vals[1], "port": port,
                        "source_id": source_id or self.srv.primary.server_id,
                        "uuid": self.user_vars.get("replica_uuid") or self.user_vars.get("slave_uuid") or ""}
        self.srv.log("connection %d: registered replica server_id %d" % (self.id, sid))
        self.sess.send_ok()

    def binlog_dump(self, pkt, gtid):
        srv = self.srv
        self.need_privilege("REPLICATION SLAVE")
        if gtid:
            flags, sid, nlen = struct.unpack_from("<HII", pkt, 1)
            off = 11
            name = pkt[off:off + nlen].split(b"\0")[0].decode("utf-8", "replace")
            off += nlen
            (pos,) = struct.unpack_from("<Q", pkt, off)
            off += 8
            (dlen,) = struct.unpack_from("<I", pkt, off)
            off += 4
            try:
                exclude, _ = GtidSet.decode(pkt[off:off + dlen])
            except GtidError:
                raise A.SqlError(1236, "HY000", "Malformed GTID_set encoding.")
        else:
            pos, flags, sid = struct.unpack_from("<IHI", pkt, 1)
            # a C string to the server: a client's terminating NUL ends it
            name = pkt[11:].split(b"\0")[0].decode("utf-8", "replace")
            exclude = None
        srv.log("connection %d: %s server_id %d file '%s' pos %d flags %d%s" %
                (self.id, "COM_BINLOG_DUMP_GTID" if gtid else "COM_BINLOG_DUMP", sid, name,
                 pos, flags, " set '%s'" % exclude if exclude is not None else ""))
        self.command = "Binlog Dump GTID" if gtid else "Binlog Dump"
        self.slave_id = sid
        srv.kill_zombie_dumps(self)
        s = S.Sender(srv, self, name, pos, exclude, flags, sid)
        self.sender = s
        srv.count("dumps")
        try:
            s.run()
        finally:
            self.sender = None
            self.command = "Sleep"


def drain(b):
    """Reads and drops the response to a statement sent to the backend."""
    r = b.io.read_packet()
    if r[0] in (0x00, 0xFF):
        return
    ncols, _ = P.read_lenenc(r, 0)
    eof = not b.caps & P.CLIENT_DEPRECATE_EOF
    for _ in range(ncols + (1 if eof else 0)):
        b.io.read_packet()
    while True:
        r = b.io.read_packet()
        if r[0] in (0xFE, 0xFF) and len(r) < 0xFFFFFF:
            return


def skip_binary_values(b, off, types):
    fixed = {1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 8: 8, 9: 4, 13: 2}
    for t in types:
        if t in fixed:
            off += fixed[t]
        elif t == 6:
            pass
        elif t in (7, 10, 11, 12):
            off += 1 + b[off]
        else:
            n, off = P.read_lenenc(b, off)
            off += n or 0
    return off


class Server:
    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        os.makedirs(self.dir, exist_ok=True)
        self.logf = open(os.path.join(self.dir, "mysqld.log"), "a", buffering=1)
        self.version = args.version
        self.v = A.V(args.version)
        self.words = Words(self.v)
        self.port = args.port
        self.conns = {}
        self.conn_lock = threading.Lock()
        self.next_id = 8
        self.questions = 0
        self.started = time.time()
        self.counters = {}
        self.sha2_cache = {}
        self.var_overrides = {}
        for kv in args.var or []:
            k, _, val = kv.partition("=")
            self.var_overrides[k.strip().lower()] = int(val) if re.match(r"^-?\d+$", val) else val
        if args.version_comment:
            self.var_overrides["version_comment"] = args.version_comment
        self.default_auth_plugin = args.default_auth or (
            "mysql_native_password" if self.v < (8, 0, 0) else "caching_sha2_password")
        auth = args.auth or self.default_auth_plugin
        grants = args.grants or ("SELECT, RELOAD, PROCESS, SHOW DATABASES, REPLICATION SLAVE, "
                                 "REPLICATION CLIENT, SHOW VIEW, EVENT, TRIGGER")
        self.accounts = {args.user: {"name": args.user, "password": args.password,
                                     "plugin": auth, "grants": grants,
                                     "dynamic": args.dynamic_grants or ""}}
        for spec in args.account or []:
            # NAME:PASSWORD:PLUGIN[:GRANTS]
            parts = spec.split(":", 3)
            self.accounts[parts[0]] = {"name": parts[0], "password": parts[1],
                                       "plugin": parts[2] if len(parts) > 2 and parts[2] else auth,
                                       "grants": parts[3] if len(parts) > 3 else grants,
                                       "dynamic": ""}
        self.rsa = myauth.RsaKey(self.dir)
        self.tls_context = None
        if args.tls:
            ca, cert, key = myauth.make_certs(self.dir, self.version)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.tls_context = ctx
        self.forward = None
        if args.forward:
            host, port = args.forward.rsplit(":", 1)
            self.forward = {"host": host, "port": int(port), "user": args.forward_user,
                            "password": os.environ.get(args.forward_password_env, "")}
        self.primary = Primary(self, self.load_files(args), args)
        if args.prime_cache:
            self.prime_cache()
        self.listener = None
        self.running = True

    def load_files(self, args):
        specs = args.binlog or []
        files = []
        base = "mysql-bin" if self.v < (8, 0, 0) else "binlog"
        for i, spec in enumerate(specs):
            path, name = spec, None
            m = re.match(r"^(.*):([A-Za-z0-9_.-]+\.\d+)$", spec)
            if m and not os.path.exists(spec):
                path, name = m.group(1), m.group(2)
            f = B.load(path, name or "?")
            if name is None:
                if files and files[-1].rotate_to:
                    name = files[-1].rotate_to
                elif f.rotate_to:
                    name = next_name(f.rotate_to, -1)
                elif files:
                    name = next_name(files[-1].name)
                else:
                    name = base + ".000001"
            f.name = name
            if files:
                files[-1].closed = True
            files.append(f)
        if not files:
            files.append(self.empty_file(base + ".000001", args))
            return files
        last = files[-1]
        if last.end_event and args.hold_after_txn is None:
            # the server went on writing a file of its own after this one
            nxt = last.rotate_to or next_name(last.name)
            prev = GtidSet()
            for f in files:
                if f.prev_gtids is not None:
                    prev.add_set(f.prev_gtids)
                prev.add_set(f.gtids_upto(len(f.data)))
            head = B.make_fde_from(last.fde_bytes(), last.server_id(), int(time.time()),
                                   last.checksum)
            if last.prev_gtids is not None:
                head += B.make_previous_gtids(prev, last.server_id(), 4 + len(head), last.checksum)
            nf = B.BinlogFile(nxt, B.MAGIC + head, "assembled")
            last.closed = True
            files.append(nf)
        elif last.end_event:
            # held back: the file as it was while being written, without
            # the ROTATE or STOP that closed it
            cut = last.ev_off[-1]
            nf = B.BinlogFile(last.name, bytes(last.data[:cut]), last.source)
            files[-1] = nf
        a = files[-1]
        if args.hold_after_txn is not None:
            n = args.hold_after_txn
            a.visible_end = a.tx_end[n - 1] if 0 < n <= a.txn_count() else \
                (a.header_end if n == 0 else len(a.data))
        return files

    def empty_file(self, name, args):
        """A file of a fresh 8.0 server with binlog_checksum=CRC32."""
        ver = self.version.encode()[:50]
        post = bytes([0, 13, 0, 8, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 98, 0, 4, 26, 8, 0, 0, 0, 8, 8,
                      8, 2, 0, 0, 0, 10, 10, 10, 42, 42, 0, 18, 52, 0, 10, 40, 0])
        body = struct.pack("<H", 4) + ver.ljust(50, b"\0") + struct.pack("<I", 0) + bytes([19]) + \
            post + b"\x01"
        length = B.HDR + len(body) + 4
        fde = B.with_checksum(B.header(int(time.time()), B.FORMAT_DESCRIPTION, args.server_id or 1,
                                       length, 4 + length, 0) + body, True)
        prev = B.make_previous_gtids(GtidSet(args.gtid_purged or ""), args.server_id or 1,
                                     4 + len(fde), True)
        return B.BinlogFile(name, B.MAGIC + fde + prev, "empty")

    # -- accounts ---------------------------------------------------------------------------
    def account(self, user):
        return self.accounts.get(user)

    def prime_cache(self):
        for acc in self.accounts.values():
            if acc["plugin"] == "caching_sha2_password" and acc["password"]:
                self.sha2_cache["%s@%%" % acc["name"]] = myauth.sha2_stage2(acc["password"])

    def capabilities(self):
        caps = (P.CLIENT_LONG_PASSWORD | P.CLIENT_FOUND_ROWS | P.CLIENT_LONG_FLAG |
                P.CLIENT_CONNECT_WITH_DB | P.CLIENT_NO_SCHEMA | P.CLIENT_COMPRESS | P.CLIENT_ODBC |
                P.CLIENT_LOCAL_FILES | P.CLIENT_IGNORE_SPACE | P.CLIENT_PROTOCOL_41 |
                P.CLIENT_INTERACTIVE | P.CLIENT_IGNORE_SIGPIPE | P.CLIENT_TRANSACTIONS |
                P.CLIENT_RESERVED | P.CLIENT_SECURE_CONNECTION | P.CLIENT_MULTI_STATEMENTS |
                P.CLIENT_MULTI_RESULTS | P.CLIENT_PS_MULTI_RESULTS | P.CLIENT_PLUGIN_AUTH |
                P.CLIENT_CONNECT_ATTRS | P.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |
                P.CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS | P.CLIENT_SESSION_TRACK |
                P.CLIENT_DEPRECATE_EOF | P.CLIENT_REMEMBER_OPTIONS)
        v = self.v
        if v >= (8, 0, 3):
            caps |= P.CLIENT_OPTIONAL_RESULTSET_METADATA
        if v >= (8, 0, 23):
            caps |= P.CLIENT_QUERY_ATTRIBUTES
        if v >= (8, 0, 27):
            caps |= P.CLIENT_MULTI_FACTOR_AUTHENTICATION
        if self.tls_context:
            caps |= P.CLIENT_SSL | P.CLIENT_SSL_VERIFY_SERVER_CERT
        return caps

    def version_string(self):
        if "version" in self.var_overrides:
            return str(self.var_overrides["version"])
        if self.v < (8, 0, 0) and not self.version.endswith("-log"):
            return self.version + "-log"
        return self.version

    @property
    def handshake_charset(self):
        return self.args.charset or (8 if self.v < (8, 0, 0) else 255)

    # -- bookkeeping ---------------------------------------------------------------------
    def log(self, msg):
        self.logf.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))

    def count(self, key):
        self.counters[key] = self.counters.get(key, 0) + 1

    def forget(self, conn):
        with self.conn_lock:
            self.conns.pop(conn.id, None)

    def connections(self):
        with self.conn_lock:
            return sorted(self.conns.values(), key=lambda c: c.id)

    def registered_replicas(self):
        with self.conn_lock:
            return [c.replica for c in self.conns.values() if c.replica]

    def kill_zombie_dumps(self, new):
        """kill_zombie_dump_threads(): a new dump takes over from one of the
        same replica UUID, or, without one, the same non-zero server id."""
        uuid = new.user_vars.get("replica_uuid") or new.user_vars.get("slave_uuid") or ""
        if not uuid and new.slave_id == 0:
            return
        with self.conn_lock:
            others = list(self.conns.values())
        for c in others:
            if c is new or c.sender is None:
                continue
            cu = c.user_vars.get("replica_uuid") or c.user_vars.get("slave_uuid") or ""
            if (uuid and cu == uuid) or (not uuid and not cu and c.slave_id == new.slave_id):
                self.log("connection %d: a dump of the same replica (%s) replaces the one of "
                         "connection %d" % (new.id, uuid or new.slave_id, c.id))
                c.sender.duplicate = True
                c.sender.killed = True
                with self.primary.cond:
                    self.primary.cond.notify_all()

    # -- serving ----------------------------------------------------------------------------
    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.args.bind, self.port))
        s.listen(128)
        # accept() wakes up now and then: a restart swaps the listener
        s.settimeout(0.2)
        self.port = s.getsockname()[1]
        self.listener = s

    def accept_loop(self):
        while self.running:
            s = self.listener
            if s is None:
                time.sleep(0.02)
                continue
            try:
                sock, addr = s.accept()
            except socket.timeout:
                continue
            except OSError:
                if not self.running:
                    return
                time.sleep(0.05)
                continue
            if s is not self.listener:
                sock.close()
                continue
            sock.settimeout(None)
            P.tcp_nodelay(sock)
            with self.conn_lock:
                cid = self.next_id
                self.next_id += 1
                c = Conn(self, sock, addr, cid)
                self.conns[cid] = c
            threading.Thread(target=c.run, daemon=True).start()

    def drop_connections(self, rst=False):
        with self.conn_lock:
            conns = list(self.conns.values())
        for c in conns:
            c.kill(rst)
        with self.primary.cond:
            self.primary.cond.notify_all()
        return len(conns)

    def restart(self, down, crash=False):
        """As a restart of mysqld: connections gone, the sha2 cache empty,
        the file being written closed (STOP, or nothing after a crash) and a
        new one opened, the port the same."""
        old = self.listener
        self.listener = None
        try:
            old.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            old.close()
        except OSError:
            pass
        self.drop_connections(rst=crash)
        self.primary.rotate(kind=None if crash else B.STOP, created=int(time.time()))
        self.sha2_cache.clear()
        time.sleep(down)
        for _ in range(100):
            try:
                self.listen()
                break
            except OSError:
                time.sleep(0.1)
        self.log("restarted%s" % (" after a crash" if crash else ""))

    def status(self):
        prim = self.primary
        with prim.lock:
            files = [{"name": f.name, "size": len(f.data), "end": prim.end_of(f),
                      "closed": not prim.is_active(f), "transactions": f.txn_count()}
                     for f in prim.files]
            st = {"port": self.port, "version": self.version_string(), "files": files,
                  "held": prim.held(), "gtid_mode": prim.gtid_mode,
                  "gtid_executed": prim.executed().to_text(","),
                  "gtid_purged": prim.purged.to_text(","), "server_uuid": prim.server_uuid,
                  "server_id": prim.server_id, "drop_armed": prim.drop_armed}
        with self.conn_lock:
            st["connections"] = [{"id": c.id, "user": c.user, "command": c.command,
                                  "replica_server_id": getattr(c, "slave_id", None)}
                                 for c in self.conns.values()]
        st["dumps"] = sum(1 for c in st["connections"] if c["command"].startswith("Binlog"))
        st["counters"] = dict(self.counters)
        st["cache"] = sorted(self.sha2_cache)
        return st

    # -- control --------------------------------------------------------------------------
    def control(self, line):
        words = line.split()
        if not words:
            return "error: empty command"
        cmd, args = words[0], words[1:]
        prim = self.primary
        try:
            if cmd == "status":
                return json.dumps(self.status())
            if cmd == "release":
                end = prim.release(args[0] if args else "1")
                return "ok %d" % end
            if cmd == "drop-mid-txn":
                with prim.lock:
                    prim.drop_armed += int(args[0]) if args else 1
                return "ok"
            if cmd == "drop":
                return "ok %d" % self.drop_connections(rst="--rst" in args)
            if cmd in ("restart", "crash"):
                down = float(args[0]) if args else 0.0
                self.restart(down, crash=cmd == "crash")
                return "ok %d" % self.port
            if cmd == "set-uuid":
                uuid_bytes(args[0])
                with prim.lock:
                    prim.server_uuid = args[0].lower()
                    prim.changed()
                return "ok"
            if cmd == "switchover":
                new_uuid = args[0] if args and args[0] != "-" else str(uuidmod.uuid4())
                first = args[1] if len(args) > 1 else None
                sid = int(args[2]) if len(args) > 2 else prim.server_id + 1
                uuid_bytes(new_uuid)
                self.drop_connections()
                names = prim.switchover(new_uuid.lower(), first, sid)
                self.sha2_cache.clear()
                return "ok %s" % " ".join(names)
            if cmd == "rotate":
                return "ok %s" % prim.rotate()
            if cmd == "purge-to":
                prim.purge_to(args[0])
                return "ok"
            if cmd == "purge":
                return "ok %s" % prim.purge_all()
            if cmd == "cache":
                if args and args[0] == "empty":
                    self.sha2_cache.clear()
                elif args and args[0] == "prime":
                    self.prime_cache()
                return "ok %s" % " ".join(sorted(self.sha2_cache))
            if cmd == "set-var":
                val = " ".join(args[1:])
                self.var_overrides[args[0].lower()] = int(val) if re.match(r"^-?\d+$", val) else val
                return "ok"
            if cmd == "gtid-mode":
                with prim.lock:
                    prim.gtid_mode = args[0].upper()
                    prim.enforce_gtid = "ON" if prim.gtid_mode == "ON" else "OFF"
                    prim.changed()
                return "ok"
            return "error: unknown command %s" % cmd
        except (ValueError, IndexError, GtidError, A.SqlError) as e:
            return "error: %s" % (getattr(e, "msg", None) or e)

    def control_loop(self, path):
        try:
            os.unlink(path)
        except OSError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        while self.running:
            c, _ = s.accept()
            threading.Thread(target=self._control_one, args=(c,), daemon=True).start()

    def _control_one(self, c):
        with c:
            data = b""
            while not data.endswith(b"\n"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = data.decode().strip()
            self.log("control: %s" % line)
            try:
                reply = self.control(line)
            except Exception:
                reply = "error: %s" % traceback.format_exc().replace("\n", " | ")
            c.sendall(reply.encode() + b"\n")


def ctl_main(argv):
    if len(argv) < 2:
        print("usage: mysqld.py ctl SOCKET COMMAND [ARGS...]", file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(argv[0])
    s.sendall((" ".join(argv[1:]) + "\n").encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    reply = data.decode().strip()
    print(reply)
    return 1 if reply.startswith("error") else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ctl":
        return ctl_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description="A MySQL-speaking primary for tests")
    ap.add_argument("--dir", required=True, help="state: log, keys, certificates, ctl socket")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port-file")
    ap.add_argument("--parent-pid", type=int)
    ap.add_argument("--version", help="the MySQL version emulated (default: the one that "
                    "wrote the last file, else 8.0.40)")
    ap.add_argument("--version-comment")
    ap.add_argument("--binlog", action="append", help="FILE[:NAME], in order")
    ap.add_argument("--hold-after-txn", type=int,
                    help="show only the first N transactions of the last file")
    ap.add_argument("--gtid", choices=["on", "off"])
    ap.add_argument("--gtid-purged")
    ap.add_argument("--server-id", type=int)
    ap.add_argument("--server-uuid")
    ap.add_argument("--user", default="godwit")
    ap.add_argument("--password", default=os.environ.get("GW_PASSWORD", ""))
    ap.add_argument("--auth", choices=["caching_sha2_password", "mysql_native_password"])
    ap.add_argument("--default-auth", choices=["caching_sha2_password", "mysql_native_password"])
    ap.add_argument("--account", action="append", help="NAME:PASSWORD:PLUGIN[:GRANTS]")
    ap.add_argument("--grants", help="the account's global privileges, as SHOW GRANTS lists them")
    ap.add_argument("--dynamic-grants", help="8.0 dynamic privileges (a second GRANT line)")
    ap.add_argument("--prime-cache", action="store_true",
                    help="caching_sha2_password's cache holds the accounts from the start")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--charset", type=int)
    ap.add_argument("--var", action="append", help="NAME=VALUE of a global variable")
    ap.add_argument("--forward", help="HOST:PORT of a MariaDB holding the tables")
    ap.add_argument("--forward-user", default="godwit")
    ap.add_argument("--forward-password-env", default="GW_PASSWORD")
    args = ap.parse_args()
    if not args.version:
        args.version = "8.0.40"
        if args.binlog:
            spec = args.binlog[-1]
            m = re.match(r"^(.*):([A-Za-z0-9_.-]+\.\d+)$", spec)
            path = m.group(1) if m and not os.path.exists(spec) else spec
            ver = B.peek_version(path).split("-")[0]
            if re.match(r"^\d+\.\d+\.\d+$", ver) and A.V(ver) >= (5, 6, 0):
                args.version = ver

    import faulthandler
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks for a test's post-mortem
    srv = Server(args)
    srv.listen()
    threading.Thread(target=srv.control_loop, args=(os.path.join(args.dir, "ctl.sock"),),
                     daemon=True).start()
    threading.Thread(target=srv.accept_loop, daemon=True).start()
    with open(os.path.join(args.dir, "mysqld.pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.port)
        os.replace(tmp, args.port_file)
    srv.log("listening on %s:%d as MySQL %s" % (args.bind, srv.port, srv.version_string()))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.5):
        if args.parent_pid and not os.path.exists("/proc/%d" % args.parent_pid):
            break
    srv.running = False
    return 0


if __name__ == "__main__":
    sys.exit(main())
