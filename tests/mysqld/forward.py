"""Statements the double does not answer itself go to a real MariaDB that
holds the tables' layouts (and data, when a test copies from the double):
one MariaDB session per client session, opened at the first such
statement, its responses relayed packet by packet. The session is opened
with the client's result-format capabilities (CLIENT_DEPRECATE_EOF,
CLIENT_SESSION_TRACK, ...) so that the packets need no rewriting; what
MySQL 8.0 adds (CLIENT_OPTIONAL_RESULTSET_METADATA, CLIENT_QUERY_ATTRIBUTES)
is added or stripped here.
"""

import hashlib
import socket
import struct

import myproto as P

COM_QUERY = 0x03
COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17

PASS_CAPS = (P.CLIENT_DEPRECATE_EOF | P.CLIENT_MULTI_STATEMENTS | P.CLIENT_SESSION_TRACK |
             P.CLIENT_FOUND_ROWS | P.CLIENT_IGNORE_SPACE | P.CLIENT_LOCAL_FILES |
             P.CLIENT_MULTI_RESULTS | P.CLIENT_PS_MULTI_RESULTS)


class BackendError(Exception):
    pass


def native_scramble(password, scramble):
    if not password:
        return b""
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(scramble + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


class Backend:
    def __init__(self, host, port, user, password):
        self.addr = (host, port)
        self.user = user
        self.password = password
        self.io = None
        self.caps = 0
        self.params = {}  # statement id -> number of parameters

    def connect(self, client_caps, charset, db):
        try:
            sock = socket.create_connection(self.addr, timeout=30)
        except OSError as e:
            raise BackendError("cannot reach the MariaDB at %s:%d: %s" % (self.addr + (e,)))
        sock.settimeout(None)
        P.tcp_nodelay(sock)
        io = P.PacketIO(sock)
        hs = io.read_packet()
        if hs[0] == 0xFF:
            raise BackendError("MariaDB refused the connection: %r" % hs[9:])
        off = 1
        _, off = P.read_nul(hs, off)
        off += 4
        scramble = bytes(hs[off:off + 8])
        off += 9
        scaps = struct.unpack_from("<H", hs, off)[0]
        off += 2 + 1 + 2
        scaps |= struct.unpack_from("<H", hs, off)[0] << 16
        off += 2
        alen = hs[off]
        off += 1 + 10
        scramble += bytes(hs[off:off + max(13, alen - 8) - 1])
        caps = (P.CLIENT_PROTOCOL_41 | P.CLIENT_SECURE_CONNECTION | P.CLIENT_LONG_PASSWORD |
                P.CLIENT_LONG_FLAG | P.CLIENT_TRANSACTIONS | P.CLIENT_PLUGIN_AUTH |
                P.CLIENT_MULTI_RESULTS | P.CLIENT_PS_MULTI_RESULTS)
        caps |= client_caps & PASS_CAPS
        if db:
            caps |= P.CLIENT_CONNECT_WITH_DB
        caps &= scaps | P.CLIENT_LONG_PASSWORD
        self.caps = caps
        if charset in (255, 0) or charset > 247:
            charset = 45  # utf8mb4: MariaDB 10.11 has no utf8mb4_0900_ai_ci
        auth = native_scramble(self.password, scramble[:20])
        p = struct.pack("<IIB", caps, 1 << 24, charset) + b"\0" * 23
        p += self.user.encode() + b"\0" + bytes([len(auth)]) + auth
        if db:
            p += db.encode() + b"\0"
        p += b"mysql_native_password\0"
        io.seq = 1
        io.write_packet(p)
        io.flush()
        r = io.read_packet()
        if r[0] == 0xFE:  # auth switch
            plugin, o = P.read_nul(r, 1)
            if plugin != b"mysql_native_password":
                raise BackendError("MariaDB asks for %s" % plugin.decode())
            io.write_packet(native_scramble(self.password, bytes(r[o:o + 20])))
            io.flush()
            r = io.read_packet()
        if r[0] == 0xFF:
            raise BackendError("MariaDB refused %s: %s" % (self.user, r[9:].decode("utf-8", "replace")))
        self.io = io

    def close(self):
        if self.io:
            try:
                self.io.sock.close()
            except OSError:
                pass
            self.io = None

    # -- relaying ----------------------------------------------------------------------
    def _read(self):
        try:
            return self.io.read_packet()
        except P.ClientGone as e:
            self.close()
            raise BackendError("lost the MariaDB session: %s" % e) from None

    def command(self, payload, sess, kind):
        """Sends a command and relays its response to the client's session.
        kind: 'query' (result sets), 'prepare', 'fieldlist', 'one', 'none'."""
        io = self.io
        io.reset_seq()
        io.write_packet(payload)
        try:
            io.flush()
        except P.ClientGone as e:
            self.close()
            raise BackendError("lost the MariaDB session: %s" % e) from None
        if kind == "none":
            return
        out = sess.io
        if kind == "one":
            out.write_packet(self._read())
            out.flush()
            return
        if kind == "fieldlist":
            while True:
                p = self._read()
                out.write_packet(p)
                if p[0] in (0xFE, 0xFF) and len(p) < 0xFFFFFF:
                    break
            out.flush()
            return
        if kind == "prepare":
            self._relay_prepare(sess, payload)
            return
        self._relay_results(sess)

    def _relay_prepare(self, sess, payload):
        out = sess.io
        p = self._read()
        if p[0] != 0x00:
            out.write_packet(p)
            out.flush()
            return
        stmt, ncols, nparams = struct.unpack_from("<IHH", p, 1)
        self.params[stmt] = nparams
        if sess.has(P.CLIENT_OPTIONAL_RESULTSET_METADATA):
            p = bytes(p[:12]) + b"\x01"
        out.write_packet(p)
        eof = not self.caps & P.CLIENT_DEPRECATE_EOF
        for n in (nparams, ncols):
            for _ in range(n):
                out.write_packet(self._read())
            if n and eof:
                out.write_packet(self._read())
        out.flush()

    def _relay_results(self, sess):
        out = sess.io
        eof = not self.caps & P.CLIENT_DEPRECATE_EOF
        while True:
            p = self._read()
            first = p[0]
            if first == 0xFF:
                out.write_packet(p)
                break
            if first == 0x00:
                out.write_packet(p)
                if not self._more(p, ok=True):
                    break
                continue
            if first == 0xFB:  # LOCAL INFILE: the client sends the file
                out.write_packet(p)
                out.flush()
                while True:
                    d = sess.io.read_packet()
                    self.io.write_packet(d)
                    if not d:
                        break
                self.io.flush()
                r = self._read()
                out.write_packet(r)
                if r[0] == 0x00 and self._more(r, ok=True):
                    continue
                break
            ncols, _ = P.read_lenenc(p, 0)
            out.write_packet(sess.column_count(ncols))
            for _ in range(ncols):
                out.write_packet(self._read())
            if eof:
                out.write_packet(self._read())
            while True:
                r = self._read()
                out.write_packet(r)
                if r[0] == 0xFF:
                    break
                if r[0] == 0xFE and len(r) < 0xFFFFFF:
                    break
                if out.pending() > 256 * 1024:
                    out.flush()
            if r[0] == 0xFF or not self._more(r, ok=not eof):
                break
        out.flush()

    @staticmethod
    def _more(p, ok):
        if ok:
            off = 1
            _, off = P.read_lenenc(p, off)
            _, off = P.read_lenenc(p, off)
            status = struct.unpack_from("<H", p, off)[0]
        else:
            status = struct.unpack_from("<H", p, 3)[0] if len(p) >= 5 else 0
        return bool(status & P.SERVER_MORE_RESULTS_EXISTS)

    def strip_execute_attributes(self, payload, client_caps):
        """COM_STMT_EXECUTE under CLIENT_QUERY_ATTRIBUTES carries a
        parameter count and parameter names MariaDB does not expect."""
        if not client_caps & P.CLIENT_QUERY_ATTRIBUTES:
            return payload
        stmt, flags = struct.unpack_from("<IB", payload, 1)
        nparams = self.params.get(stmt, 0)
        if not (nparams > 0 or flags & 0x08):  # PARAMETER_COUNT_AVAILABLE
            return payload
        off = 10
        count, o2 = P.read_lenenc(payload, off)
        if count != nparams:
            raise BackendError("query attributes on a prepared statement are not relayed")
        head = bytes(payload[:off])
        rest = payload[o2:]
        if count == 0:
            return head
        nb = (count + 7) // 8
        out = bytearray(head) + rest[:nb + 1]
        o = nb + 1
        if rest[nb] == 1:  # new_params_bind_flag: types, each with a name
            for _ in range(count):
                out += rest[o:o + 2]
                o += 2
                ln, o = P.read_lenenc(rest, o)
                o += ln
        out += rest[o:]
        return bytes(out)
