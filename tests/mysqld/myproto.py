"""The MySQL client/server protocol, server side: packets (with the
compressed protocol and TLS underneath), OK/ERR/EOF, text and binary
result sets. Follows dev.mysql.com "MySQL Source Code Documentation:
Client/Server Protocol" and sql/protocol_classic.cc.
"""

import socket
import struct
import zlib

# capability flags (include/mysql_com.h)
CLIENT_LONG_PASSWORD = 1
CLIENT_FOUND_ROWS = 1 << 1
CLIENT_LONG_FLAG = 1 << 2
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_NO_SCHEMA = 1 << 4
CLIENT_COMPRESS = 1 << 5
CLIENT_ODBC = 1 << 6
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_IGNORE_SPACE = 1 << 8
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_INTERACTIVE = 1 << 10
CLIENT_SSL = 1 << 11
CLIENT_IGNORE_SIGPIPE = 1 << 12
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_RESERVED = 1 << 14
CLIENT_SECURE_CONNECTION = 1 << 15  # CLIENT_RESERVED2
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PS_MULTI_RESULTS = 1 << 18
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS = 1 << 22
CLIENT_SESSION_TRACK = 1 << 23
CLIENT_DEPRECATE_EOF = 1 << 24
CLIENT_OPTIONAL_RESULTSET_METADATA = 1 << 25
CLIENT_ZSTD_COMPRESSION_ALGORITHM = 1 << 26
CLIENT_QUERY_ATTRIBUTES = 1 << 27
CLIENT_MULTI_FACTOR_AUTHENTICATION = 1 << 28
CLIENT_SSL_VERIFY_SERVER_CERT = 1 << 30
CLIENT_REMEMBER_OPTIONS = 1 << 31

# server status
SERVER_STATUS_IN_TRANS = 1
SERVER_STATUS_AUTOCOMMIT = 2
SERVER_MORE_RESULTS_EXISTS = 8

# column types
T_DECIMAL, T_TINY, T_SHORT, T_LONG, T_FLOAT, T_DOUBLE, T_NULL = 0, 1, 2, 3, 4, 5, 6
T_TIMESTAMP, T_LONGLONG, T_INT24, T_DATE, T_TIME, T_DATETIME = 7, 8, 9, 10, 11, 12
T_VAR_STRING, T_STRING, T_BLOB = 253, 254, 252

# column flags
NOT_NULL_FLAG = 1
BINARY_FLAG = 128
UNSIGNED_FLAG = 32
NUM_FLAG = 32768

MAX_PACKET = 0xFFFFFF
MYSQL_ERRMSG_SIZE = 512


class ProtocolError(Exception):
    pass


class ClientGone(Exception):
    pass


def lenenc_int(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lenenc_str(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return lenenc_int(len(b)) + b


def read_lenenc(b, off):
    c = b[off]
    if c < 251:
        return c, off + 1
    if c == 0xFB:
        return None, off + 1
    if c == 0xFC:
        return struct.unpack_from("<H", b, off + 1)[0], off + 3
    if c == 0xFD:
        return int.from_bytes(b[off + 1:off + 4], "little"), off + 4
    return struct.unpack_from("<Q", b, off + 1)[0], off + 9


def read_nul(b, off):
    e = b.index(b"\0", off)
    return bytes(b[off:e]), e + 1


class PacketIO:
    """Packets over a socket; compression (zlib) once switched on."""

    def __init__(self, sock):
        self.sock = sock
        self.seq = 0
        self.cseq = 0
        self.compress = False
        self.inbuf = bytearray()
        self.rawbuf = bytearray()
        self.out = bytearray()
        # until TLS may start, read no byte past the packet: the client's
        # TLS handshake follows its SSLRequest without waiting
        self.exact = False

    def reset_seq(self):
        self.seq = 0
        self.cseq = 0

    # -- reading -------------------------------------------------------------
    def _recv(self, n):
        try:
            b = self.sock.recv(n if self.exact else max(n, 65536))
        except (ConnectionError, OSError) as e:
            raise ClientGone(str(e)) from None
        if not b:
            raise ClientGone("connection closed")
        return b

    def _fill_raw(self, n):
        while len(self.rawbuf) < n:
            self.rawbuf += self._recv(n - len(self.rawbuf))

    def _fill(self, n):
        while len(self.inbuf) < n:
            if not self.compress:
                self.inbuf += self._recv(n - len(self.inbuf))
                continue
            self._fill_raw(7)
            clen = int.from_bytes(self.rawbuf[0:3], "little")
            self.cseq = (self.rawbuf[3] + 1) & 0xFF
            ulen = int.from_bytes(self.rawbuf[4:7], "little")
            self._fill_raw(7 + clen)
            payload = bytes(self.rawbuf[7:7 + clen])
            del self.rawbuf[:7 + clen]
            self.inbuf += zlib.decompress(payload) if ulen else payload

    def read_packet(self):
        """One logical packet's payload (joined when over 16 MiB)."""
        payload = bytearray()
        while True:
            self._fill(4)
            ln = int.from_bytes(self.inbuf[0:3], "little")
            seq = self.inbuf[3]
            if seq != self.seq:
                raise ProtocolError("Got packets out of order")
            self.seq = (seq + 1) & 0xFF
            self._fill(4 + ln)
            payload += self.inbuf[4:4 + ln]
            del self.inbuf[:4 + ln]
            if ln < MAX_PACKET:
                return bytes(payload)

    # -- writing -------------------------------------------------------------
    def write_packet(self, payload, *more):
        """Queues one logical packet (payload, then the parts in more)."""
        n = len(payload) + sum(len(m) for m in more)
        if n < MAX_PACKET:
            self.out += struct.pack("<I", n | (self.seq << 24))
            self.out += payload
            for m in more:
                self.out += m
            self.seq = (self.seq + 1) & 0xFF
            return
        data = bytes(payload) + b"".join(bytes(m) for m in more)
        off = 0
        while True:
            chunk = data[off:off + MAX_PACKET]
            self.out += struct.pack("<I", len(chunk) | (self.seq << 24))
            self.out += chunk
            self.seq = (self.seq + 1) & 0xFF
            off += len(chunk)
            if len(chunk) < MAX_PACKET:
                break

    def flush(self):
        if not self.out:
            return
        data = self.out
        self.out = bytearray()
        if self.compress:
            chunks = bytearray()
            off = 0
            while off < len(data):
                piece = bytes(data[off:off + MAX_PACKET])
                off += len(piece)
                z = zlib.compress(piece) if len(piece) >= 50 else None
                if z is not None and len(z) < len(piece):
                    chunks += len(z).to_bytes(3, "little") + bytes([self.cseq])
                    chunks += len(piece).to_bytes(3, "little") + z
                else:
                    chunks += len(piece).to_bytes(3, "little") + bytes([self.cseq])
                    chunks += b"\0\0\0" + piece
                self.cseq = (self.cseq + 1) & 0xFF
            data = chunks
        try:
            self.sock.sendall(data)
        except (ConnectionError, OSError) as e:
            raise ClientGone(str(e)) from None

    def pending(self):
        return len(self.out)


class Session:
    """What the packets of one connection depend on."""

    def __init__(self, io):
        self.io = io
        self.caps = 0
        self.status = SERVER_STATUS_AUTOCOMMIT
        self.charset = 255

    def has(self, cap):
        return bool(self.caps & cap)

    # -- simple packets --------------------------------------------------------
    def ok(self, affected=0, insert_id=0, warnings=0, info=b"", header=b"\x00"):
        p = bytearray(header)
        p += lenenc_int(affected) + lenenc_int(insert_id)
        if self.has(CLIENT_PROTOCOL_41):
            p += struct.pack("<HH", self.status, warnings)
        elif self.has(CLIENT_TRANSACTIONS):
            p += struct.pack("<H", self.status)
        if info:
            p += lenenc_str(info) if self.has(CLIENT_SESSION_TRACK) else info
        return bytes(p)

    def eof(self, warnings=0):
        if self.has(CLIENT_PROTOCOL_41):
            return b"\xfe" + struct.pack("<HH", warnings, self.status)
        return b"\xfe"

    def end_of_rows(self):
        """The packet closing a result set (or a dump): EOF, or the OK
        with the EOF header under CLIENT_DEPRECATE_EOF."""
        if self.has(CLIENT_DEPRECATE_EOF):
            return self.ok(header=b"\xfe")
        return self.eof()

    def err(self, code, state, msg):
        m = msg.encode("utf-8") if isinstance(msg, str) else msg
        m = m[:MYSQL_ERRMSG_SIZE - 1]
        if self.has(CLIENT_PROTOCOL_41):
            return b"\xff" + struct.pack("<H", code) + b"#" + state.encode() + m
        return b"\xff" + struct.pack("<H", code) + m

    def send_ok(self, **kw):
        self.io.write_packet(self.ok(**kw))
        self.io.flush()

    def send_err(self, code, state, msg):
        self.io.write_packet(self.err(code, state, msg))
        self.io.flush()

    # -- result sets -------------------------------------------------------------
    def column_count(self, n):
        p = lenenc_int(n)
        if self.has(CLIENT_OPTIONAL_RESULTSET_METADATA):
            p += b"\x01"  # RESULTSET_METADATA_FULL
        return p

    def send_resultset(self, cols, rows, binary=False):
        io = self.io
        io.write_packet(self.column_count(len(cols)))
        for c in cols:
            io.write_packet(c.encode(self.charset_of(c)))
        if not self.has(CLIENT_DEPRECATE_EOF):
            io.write_packet(self.eof())
        for r in rows:
            io.write_packet(binary_row(cols, r) if binary else text_row(r))
        io.write_packet(self.end_of_rows())
        io.flush()

    def charset_of(self, col):
        if col.type in (T_VAR_STRING, T_STRING, T_BLOB) and not col.binary:
            return self.result_charset
        return 63

    result_charset = 255


class Column:
    def __init__(self, name, typ=T_VAR_STRING, length=None, flags=0, decimals=0,
                 table="", org_table="", db="", org_name="", binary=False):
        self.name = name
        self.type = typ
        self.flags = flags
        self.decimals = decimals
        self.table = table
        self.org_table = org_table
        self.db = db
        self.org_name = org_name
        self.binary = binary
        if length is None:
            length = 21 if typ == T_LONGLONG else 1024
        self.length = length
        if typ == T_LONGLONG:
            self.flags |= BINARY_FLAG | NUM_FLAG

    def encode(self, charset):
        p = bytearray()
        p += lenenc_str(b"def") + lenenc_str(self.db) + lenenc_str(self.table)
        p += lenenc_str(self.org_table) + lenenc_str(self.name) + lenenc_str(self.org_name)
        length = self.length
        if charset in (255, 45, 224, 46) and self.type in (T_VAR_STRING, T_STRING):
            length *= 4
        elif charset == 33 and self.type in (T_VAR_STRING, T_STRING):
            length *= 3
        p += b"\x0c" + struct.pack("<HIBHB", charset, min(length, 0xFFFFFFFF), self.type,
                                   self.flags, self.decimals) + b"\0\0"
        return bytes(p)


def text_row(r):
    p = bytearray()
    for v in r:
        if v is None:
            p += b"\xfb"
        elif isinstance(v, bytes):
            p += lenenc_str(v)
        else:
            p += lenenc_str(str(v))
    return bytes(p)


def binary_row(cols, r):
    n = len(cols)
    nulls = bytearray((n + 7 + 2) // 8)
    vals = bytearray()
    for i, (c, v) in enumerate(zip(cols, r)):
        if v is None:
            nulls[(i + 2) // 8] |= 1 << ((i + 2) % 8)
        elif c.type == T_LONGLONG:
            vals += struct.pack("<q" if not c.flags & UNSIGNED_FLAG else "<Q", int(v))
        else:
            vals += lenenc_str(v if isinstance(v, bytes) else str(v))
    return b"\x00" + bytes(nulls) + bytes(vals)


def tcp_nodelay(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
