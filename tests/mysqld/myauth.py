"""Connection phase: the v10 handshake, TLS, and the authentication
plugins mysql_native_password and caching_sha2_password, as
sql/auth/sql_authentication.cc and sql/auth/sha2_password.cc do them.

caching_sha2_password: the server's cache holds SHA256(SHA256(password))
per account once a full authentication succeeded (empty after a restart).
A client whose scramble matches a cached entry gets fast_auth_success
(0x01 0x03); otherwise perform_full_authentication (0x01 0x04), then either
the password in clear over TLS, or, without TLS, the password XORed with
the nonce and RSA-OAEP encrypted with the server's public key, which the
client may ask for with 0x02. A clear password without TLS does not have
the cipher's length and is refused, as MySQL refuses it.
"""

import base64
import hashlib
import os
import random
import struct
import subprocess

import myproto as P

FAST_AUTH_SUCCESS = b"\x03"
PERFORM_FULL_AUTH = b"\x04"
REQUEST_PUBLIC_KEY = b"\x02"

ER_ACCESS_DENIED_ERROR = 1045
ER_HANDSHAKE_ERROR = 1043
ER_NOT_SUPPORTED_AUTH_MODE = 1251


class AuthFailed(Exception):
    def __init__(self, code, state, msg):
        super().__init__(msg)
        self.code, self.state, self.msg = code, state, msg


def scramble20():
    """20 bytes of 1..127 without '$', as generate_user_salt() makes them."""
    r = random.SystemRandom()
    out = bytearray()
    while len(out) < 20:
        c = r.randrange(1, 128)
        if c != 0x24:
            out.append(c)
    return bytes(out)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def native_check(scramble, resp, password):
    if not password:
        return len(resp) == 0
    if len(resp) != 20:
        return False
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    return xor(resp, hashlib.sha1(scramble + h2).digest()) == h1


def sha2_stage2(password):
    return hashlib.sha256(hashlib.sha256(password.encode()).digest()).digest()


def sha2_fast_check(scramble, resp, stage2):
    """resp = SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce)."""
    if len(resp) != 32:
        return False
    h1 = xor(resp, hashlib.sha256(stage2 + scramble).digest())
    return hashlib.sha256(h1).digest() == stage2


# -- RSA (keys made by openssl; decryption here, with the stdlib) -------------

def _der_ints(der):
    """The INTEGERs of a DER SEQUENCE (an RSAPrivateKey)."""
    def length(b, i):
        n = b[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7F
        return int.from_bytes(b[i + 1:i + 1 + k], "big"), i + 1 + k
    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    _, i = length(der, 1)
    out = []
    while i < len(der):
        tag = der[i]
        n, i = length(der, i + 1)
        if tag == 0x02:
            out.append(int.from_bytes(der[i:i + n], "big"))
        i += n
    return out


def _mgf1(seed, n):
    out = b""
    c = 0
    while len(out) < n:
        out += hashlib.sha1(seed + c.to_bytes(4, "big")).digest()
        c += 1
    return out[:n]


class RsaKey:
    def __init__(self, dirpath, bits=2048):
        priv = os.path.join(dirpath, "private_key.pem")
        pub = os.path.join(dirpath, "public_key.pem")
        if not os.path.exists(priv):
            subprocess.run(["openssl", "genrsa", "-traditional", "-out", priv, str(bits)],
                           check=True, capture_output=True)
            subprocess.run(["openssl", "rsa", "-in", priv, "-pubout", "-out", pub],
                           check=True, capture_output=True)
        with open(priv) as f:
            body = "".join(l for l in f if not l.startswith("-----"))
        ints = _der_ints(base64.b64decode(body))
        _, self.n, self.e, self.d = ints[:4]
        self.k = (self.n.bit_length() + 7) // 8
        with open(pub, "rb") as f:
            self.pem = f.read()

    def decrypt_oaep(self, c):
        """RSAES-OAEP with SHA-1 and MGF1-SHA-1 (RSA_PKCS1_OAEP_PADDING)."""
        if len(c) != self.k:
            raise ValueError("cipher length")
        m = pow(int.from_bytes(c, "big"), self.d, self.n)
        em = m.to_bytes(self.k, "big")
        hl = 20
        if em[0] != 0:
            raise ValueError("decryption error")
        mseed, mdb = em[1:1 + hl], em[1 + hl:]
        seed = xor(mseed, _mgf1(mdb, hl))
        db = xor(mdb, _mgf1(seed, self.k - hl - 1))
        if db[:hl] != hashlib.sha1(b"").digest():
            raise ValueError("decryption error")
        i = hl
        while i < len(db) and db[i] == 0:
            i += 1
        if i >= len(db) or db[i] != 1:
            raise ValueError("decryption error")
        return db[i + 1:]


# -- TLS ------------------------------------------------------------------------

def make_certs(dirpath, version):
    """A CA and a server certificate, as MySQL's auto-generated ones
    (names included), with 127.0.0.1 and localhost as subject names."""
    ca_key = os.path.join(dirpath, "ca-key.pem")
    ca = os.path.join(dirpath, "ca.pem")
    key = os.path.join(dirpath, "server-key.pem")
    cert = os.path.join(dirpath, "server-cert.pem")
    if os.path.exists(cert):
        return ca, cert, key
    ver = version.split("-")[0]
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
        "-keyout", ca_key, "-out", ca,
        "-subj", "/CN=MySQL_Server_%s_Auto_Generated_CA_Certificate" % ver)
    csr = os.path.join(dirpath, "server.csr")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=MySQL_Server_%s_Auto_Generated_Server_Certificate" % ver)
    ext = os.path.join(dirpath, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "3650", "-out", cert, "-extfile", ext)
    return ca, cert, key


# -- the handshake --------------------------------------------------------------

def handshake_packet(version, conn_id, scramble, caps, charset, plugin):
    p = bytearray(b"\x0a")
    p += version.encode() + b"\0"
    p += struct.pack("<I", conn_id)
    p += scramble[:8] + b"\0"
    p += struct.pack("<H", caps & 0xFFFF)
    p += bytes([charset])
    p += struct.pack("<H", P.SERVER_STATUS_AUTOCOMMIT)
    p += struct.pack("<H", (caps >> 16) & 0xFFFF)
    p += bytes([21])
    p += b"\0" * 10
    p += scramble[8:] + b"\0"
    p += plugin.encode() + b"\0"
    return bytes(p)


class ClientHello:
    def __init__(self):
        self.caps = 0
        self.max_packet = 0
        self.charset = 0
        self.user = ""
        self.auth = b""
        self.db = None
        self.plugin = None
        self.attrs = {}


def parse_response(pkt, hello):
    if len(pkt) < 32:
        raise AuthFailed(ER_HANDSHAKE_ERROR, "08S01", "Bad handshake")
    caps, maxp, cs = struct.unpack_from("<IIB", pkt, 0)
    hello.caps, hello.max_packet, hello.charset = caps, maxp, cs
    if len(pkt) == 32:
        return False  # an SSLRequest
    if not caps & P.CLIENT_PROTOCOL_41:
        raise AuthFailed(ER_NOT_SUPPORTED_AUTH_MODE, "08004",
                         "Client does not support authentication protocol requested by "
                         "server; consider upgrading MySQL client")
    off = 32
    user, off = P.read_nul(pkt, off)
    hello.user = user.decode("utf-8", "replace")
    if caps & P.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
        n, off = P.read_lenenc(pkt, off)
        hello.auth = bytes(pkt[off:off + n])
        off += n
    elif caps & P.CLIENT_SECURE_CONNECTION:
        n = pkt[off]
        hello.auth = bytes(pkt[off + 1:off + 1 + n])
        off += 1 + n
    else:
        a, off = P.read_nul(pkt, off)
        hello.auth = a
    if caps & P.CLIENT_CONNECT_WITH_DB and off < len(pkt):
        db, off = P.read_nul(pkt, off)
        hello.db = db.decode("utf-8", "replace") or None
    if caps & P.CLIENT_PLUGIN_AUTH and off < len(pkt):
        pl, off = P.read_nul(pkt, off)
        hello.plugin = pl.decode()
    if caps & P.CLIENT_CONNECT_ATTRS and off < len(pkt):
        total, off = P.read_lenenc(pkt, off)
        end = off + total
        while off < end:
            k, off = P.read_lenenc(pkt, off)
            key = bytes(pkt[off:off + k]).decode("utf-8", "replace")
            off += k
            v, off = P.read_lenenc(pkt, off)
            hello.attrs[key] = bytes(pkt[off:off + v]).decode("utf-8", "replace")
            off += v
    return True


class Authenticator:
    """Runs the connection phase for one client.

    server: the Server (version, accounts, cache, RSA key, TLS context).
    Returns the ClientHello of the authenticated client, or raises
    AuthFailed (the caller sends the ERR) / myproto.ClientGone.
    """

    def __init__(self, server, sess, conn_id, peer_host):
        self.srv = server
        self.sess = sess
        self.io = sess.io
        self.conn_id = conn_id
        self.host = peer_host
        self.secure = False

    def run(self):
        srv = self.srv
        io = self.io
        scramble = scramble20()
        caps = srv.capabilities()
        default_plugin = srv.default_auth_plugin
        io.write_packet(handshake_packet(srv.version_string(), self.conn_id, scramble, caps,
                                         srv.handshake_charset, default_plugin))
        io.flush()
        hello = ClientHello()
        io.exact = True
        pkt = io.read_packet()
        io.exact = False
        if not parse_response(pkt, hello):
            if not srv.tls_context or not caps & P.CLIENT_SSL:
                raise AuthFailed(ER_HANDSHAKE_ERROR, "08S01", "Bad handshake")
            try:
                io.sock = srv.tls_context.wrap_socket(io.sock, server_side=True)
            except (OSError, ValueError) as e:
                raise P.ClientGone("TLS handshake: %s" % e) from None
            self.secure = True
            pkt = io.read_packet()
            if not parse_response(pkt, hello):
                raise AuthFailed(ER_HANDSHAKE_ERROR, "08S01", "Bad handshake")
        self.sess.caps = hello.caps & caps
        if not hello.caps & P.CLIENT_PLUGIN_AUTH:
            hello.plugin = "mysql_native_password"
        account = srv.account(hello.user)
        # an unknown user runs the default plugin and fails at its end
        plugin = account["plugin"] if account else default_plugin
        data = hello.auth
        nonce = scramble
        if hello.plugin != plugin:
            # AuthSwitchRequest; caching_sha2_password makes a nonce of its own
            if plugin == "caching_sha2_password" and plugin != default_plugin:
                nonce = scramble20()
            io.write_packet(b"\xfe" + plugin.encode() + b"\0" + nonce + b"\0")
            io.flush()
            data = io.read_packet()
        password_used = bool(data) and data != b"\0"
        ok = False
        if plugin == "mysql_native_password":
            ok = account is not None and native_check(nonce, data, account["password"])
        elif plugin == "caching_sha2_password":
            ok = self.caching_sha2(account, nonce, data)
        if not ok:
            raise AuthFailed(ER_ACCESS_DENIED_ERROR, "28000",
                             "Access denied for user '%s'@'%s' (using password: %s)" %
                             (hello.user, self.host, "YES" if password_used else "NO"))
        return hello

    def caching_sha2(self, account, nonce, data):
        io = self.io
        srv = self.srv
        if not data or data == b"\0":
            return account is not None and account["password"] == ""
        if len(data) != 32:
            return False
        key = account and "%s@%%" % account["name"]
        stage2 = srv.sha2_cache.get(key) if key else None
        if stage2 is not None and sha2_fast_check(nonce, data, stage2):
            io.write_packet(b"\x01" + FAST_AUTH_SUCCESS)
            srv.count("auth_fast")
            return True
        io.write_packet(b"\x01" + PERFORM_FULL_AUTH)
        io.flush()
        srv.count("auth_full_asked")
        try:
            pkt = io.read_packet()
        except P.ClientGone:
            # the client left rather than answer: nothing of the password
            srv.count("auth_full_abandoned")
            raise
        if not pkt:
            raise AuthFailed(ER_HANDSHAKE_ERROR, "08S01", "Bad handshake")
        if self.secure:
            password = pkt[:-1] if pkt.endswith(b"\0") else pkt
        else:
            rsa = srv.rsa
            if pkt == REQUEST_PUBLIC_KEY:
                io.write_packet(b"\x01" + rsa.pem)
                io.flush()
                srv.count("auth_key_requests")
                pkt = io.read_packet()
            if len(pkt) != rsa.k:
                srv.count("auth_refused_clear")
                return False
            try:
                plain = rsa.decrypt_oaep(pkt)
            except ValueError:
                # encrypted with another key: the server learns nothing
                srv.count("auth_rsa_undecryptable")
                return False
            srv.count("auth_rsa_decrypted")
            plain = bytes(c ^ nonce[i % len(nonce)] for i, c in enumerate(plain))
            password = plain.split(b"\0", 1)[0]
            if not password:
                return False
        if account is None or password.decode("utf-8", "replace") != account["password"]:
            return False
        srv.sha2_cache[key] = sha2_stage2(account["password"])
        srv.count("auth_full_tls" if self.secure else "auth_full_rsa")
        return True
