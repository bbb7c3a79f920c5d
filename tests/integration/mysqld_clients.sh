#!/usr/bin/env bash
# The MySQL double (tests/mysqld) against clients used with real MySQL
# servers: PyMySQL (python3-pymysql), mysql2 and mysqljs/mysql (npm), and
# MariaDB's mariadb and mariadb-binlog. They authenticate with
# caching_sha2_password (fast path from a primed cache; full authentication
# with the server's RSA key, or in clear over TLS) and with
# mysql_native_password (also after an AuthSwitchRequest); a clear password
# without TLS is refused; the queries a client of a MySQL source sends get
# MySQL 5.7's, 8.0's and 8.4's answers; the events of COM_BINLOG_DUMP are
# the files' bytes.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"

myd_clients
PY=$MYD_PYTHON
NM=$MYD_NODE
BL=$GW_SHARED/datasets/mysql-binlogs
NQ=$GW_ROOT/tests/mysqld/clients/node_query.cjs

mdb_start layouts
"$PY" "$GW_ROOT/tests/mysqld/layouts.py" "$BL/mysql-8.0.31-gtid-payload-json.binlog" | mdb layouts
mdb layouts -e "CREATE DATABASE IF NOT EXISTS a; CREATE TABLE IF NOT EXISTS a.test_table_3 (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT IGNORE INTO a.test_table_3 VALUES (1, 'one'), (2, 'two')"

# 8.0: a GTID file, TLS offered, an extra account with the native plugin.
myd_start m80 --version 8.0.40 --binlog "$BL/mysql-8.0.31-gtid-payload-json.binlog" --tls \
	--account "nat:nat-pw:mysql_native_password" --forward layouts
# 5.7 and 8.4
myd_start m57 --binlog "$BL/mysql-5.7.40-gtid-utf8mb4.binlog"
myd_start m84 --version 8.4.3 --binlog "$BL/mysql-9.6.0-gtid-tagged.binlog"

counter() {
	myd_status "$1" "s['counters'].get('$2', 0)"
}

# -- authentication ---------------------------------------------------------
"$PY" - "$m80_PORT" "$GW_PASSWORD" "$m80_CA" <<'PY' || fail "PyMySQL authentication"
import sys, pymysql
port, pw, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def conn(**kw):
    return pymysql.connect(host="127.0.0.1", port=port, user=kw.pop("user", "godwit"),
                           password=kw.pop("password", pw), **kw)
c = conn()  # cold cache, no TLS: the RSA key exchange
cur = c.cursor()
cur.execute("SELECT CURRENT_USER(), USER()")
assert cur.fetchone() == ("godwit@%", "godwit@127.0.0.1")
c.close()
try:
    conn(password="wrong")
    raise SystemExit("a wrong password was accepted")
except pymysql.err.OperationalError as e:
    assert e.args == (1045, "Access denied for user 'godwit'@'127.0.0.1' (using password: YES)"), e.args
try:
    conn(user="nobody")
    raise SystemExit("an unknown user was accepted")
except pymysql.err.OperationalError as e:
    assert e.args[0] == 1045 and "'nobody'@'127.0.0.1'" in e.args[1], e.args
conn().close()  # the cache holds the account now: the fast path
c = conn(ssl={"ca": ca})  # TLS, server certificate verified with the double's CA
cur = c.cursor()
cur.execute("SHOW STATUS LIKE 'x'") if False else None
c.close()
c = conn(user="nat", password="nat-pw")  # AuthSwitchRequest to mysql_native_password
c.close()
print("ok: PyMySQL")
PY
assert_eq 3 "$(counter m80 auth_key_requests)" "PyMySQL asked for the RSA key (first, wrong password, unknown user)"
assert_eq 1 "$(counter m80 auth_full_rsa)" "one full authentication with RSA"
assert_eq 2 "$(counter m80 auth_fast)" "then the fast path (plain and TLS)"
myd_ctl m80 cache empty >/dev/null
"$PY" -c "import pymysql; pymysql.connect(host='127.0.0.1', port=$m80_PORT, user='godwit', password='$GW_PASSWORD', ssl={'ca': '$m80_CA'}).close()" ||
	fail "full authentication over TLS"
assert_eq 1 "$(counter m80 auth_full_tls)" "full authentication in clear over TLS after the cache was emptied"

# mysql2 (the client zongji uses): full with RSA after a restart, fast, TLS;
# mysqljs/mysql has no caching_sha2_password: it gets the AuthSwitchRequest
# and gives up; with the native account it logs in.
myd_ctl m80 restart >/dev/null
assert_eq "" "$(myd_status m80 's["cache"]' | tr -d '[]')" "the cache is empty after a restart"
before=$(counter m80 auth_full_rsa)
for i in 1 2; do
	node "$NQ" "{\"modules\":\"$NM\",\"lib\":\"mysql2\",\"port\":$m80_PORT,\"user\":\"godwit\",\"password\":\"$GW_PASSWORD\",\"queries\":[\"SELECT @@version\"]}" >"$GW_TMP/m2.$i"
	assert_contains "$(cat "$GW_TMP/m2.$i")" '{"rows":[["8.0.40"]],"fields":["@@version"]}' "mysql2 query $i"
done
assert_eq $((before + 1)) "$(counter m80 auth_full_rsa)" "mysql2: one full authentication (RSA) after the restart"
node "$NQ" "{\"modules\":\"$NM\",\"lib\":\"mysql2\",\"port\":$m80_PORT,\"user\":\"godwit\",\"password\":\"$GW_PASSWORD\",\"ssl_ca\":\"$m80_CA\",\"queries\":[\"SELECT 1\"]}" >"$GW_TMP/m2.tls"
assert_contains "$(cat "$GW_TMP/m2.tls")" '"rows":[["1"]]' "mysql2 over TLS"
node "$NQ" "{\"modules\":\"$NM\",\"lib\":\"mysql\",\"port\":$m80_PORT,\"user\":\"godwit\",\"password\":\"$GW_PASSWORD\",\"queries\":[\"SELECT 1\"]}" >"$GW_TMP/mjs.sha2"
assert_contains "$(cat "$GW_TMP/mjs.sha2")" '"code":"UNSUPPORTED_AUTH_METHOD","message":"MySQL is requesting the caching_sha2_password authentication method' \
	"mysqljs cannot follow the switch to caching_sha2_password"
node "$NQ" "{\"modules\":\"$NM\",\"lib\":\"mysql\",\"port\":$m80_PORT,\"user\":\"nat\",\"password\":\"nat-pw\",\"queries\":[\"SELECT @@GLOBAL.gtid_mode, @@GLOBAL.server_id\"]}" >"$GW_TMP/mjs.nat"
assert_contains "$(cat "$GW_TMP/mjs.nat")" '{"rows":[["ON","1"]]' "mysqljs with mysql_native_password"
node "$NQ" "{\"modules\":\"$NM\",\"lib\":\"mysql\",\"port\":$m57_PORT,\"user\":\"godwit\",\"password\":\"$GW_PASSWORD\",\"queries\":[\"SELECT @@version\"]}" >"$GW_TMP/mjs.57"
assert_contains "$(cat "$GW_TMP/mjs.57")" '{"rows":[["5.7.40-log"]]' "mysqljs on 5.7 (mysql_native_password by default)"

# A client that sends the password in clear on a connection without TLS is
# refused: MariaDB's Connector/C does so when TLS was asked for and the
# server offers none (it then counts the connection as secure).
myd_ctl m57 set-var default_authentication_plugin caching_sha2_password >/dev/null
myd_start m80plain --version 8.0.40
rc=0
mariadb --no-defaults -h127.0.0.1 -P"$m80plain_PORT" -ugodwit -p"$GW_PASSWORD" --ssl -e 'SELECT 1' \
	>"$GW_TMP/clear.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a password sent in clear without TLS was accepted"
assert_contains "$(cat "$GW_TMP/clear.out")" "ERROR 1045 (28000): Access denied for user 'godwit'@'127.0.0.1' (using password: YES)" \
	"the clear password refused"
assert_eq 1 "$(counter m80plain auth_refused_clear)" "refused as a clear password"
assert_eq 1 "$(myd_q m80plain 'SELECT 1')" "the same client with RSA (--skip-ssl) gets in"
echo "ok: authentication"

# -- answers ----------------------------------------------------------------
"$PY" - "$m80_PORT" "$m57_PORT" "$m84_PORT" "$GW_PASSWORD" <<'PY' || fail "answers"
import sys, pymysql
p80, p57, p84, pw = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def conn(port):
    return pymysql.connect(host="127.0.0.1", port=port, user="godwit", password=pw)
def one(c, sql):
    cur = c.cursor()
    cur.execute(sql)
    return cur.fetchall(), [d[0] for d in cur.description] if cur.description else None
def err(c, sql):
    try:
        one(c, sql)
    except pymysql.err.MySQLError as e:
        return e.args
    raise SystemExit("no error for " + sql)

c = conn(p80)
sid = "76f3e7be-6720-11ed-9cad-0242ac110002"
rows, names = one(c, "SELECT @@GLOBAL.server_id, @@GLOBAL.gtid_mode, @@GLOBAL.enforce_gtid_consistency, "
                     "@@GLOBAL.gtid_executed, @@GLOBAL.gtid_purged, @@GLOBAL.binlog_checksum, "
                     "@@GLOBAL.log_bin, @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_image, "
                     "@@GLOBAL.binlog_row_metadata, @@GLOBAL.binlog_expire_logs_seconds, "
                     "@@GLOBAL.expire_logs_days, @@GLOBAL.lower_case_table_names, @@version_comment")
assert names[0] == "@@GLOBAL.server_id" and names[-1] == "@@version_comment", names
assert rows[0] == (1, "ON", "ON", sid + ":1-13", sid + ":1-10", "CRC32", 1, "ROW", "FULL",
                   "MINIMAL", 2592000, 0, 0, "MySQL Community Server - GPL"), rows
assert one(c, "SELECT @@server_uuid")[0][0][0] == sid  # the UUID of the file's GTIDs
assert one(c, "SELECT IF(@@GLOBAL.gtid_mode = 'ON', @@GLOBAL.gtid_executed, '')")[0] == ((sid + ":1-13",),)
assert one(c, "SELECT GTID_SUBSET(@@GLOBAL.gtid_purged, '%s:1-12'), GTID_SUBSET(@@GLOBAL.gtid_purged, '%s:2-12')" % (sid, sid))[0] == ((1, 0),)
assert err(c, "SELECT @@GLOBAL.gtid_binlog_pos") == (1193, "Unknown system variable 'gtid_binlog_pos'")
assert err(c, "SELECT GTID_SUBSET('nonsense', '')") == (1772, "Malformed GTID set specification 'nonsense'.")
rows, names = one(c, "SHOW MASTER STATUS")
assert names == ["File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB", "Executed_Gtid_Set"], names
# the restart above closed the file with a STOP and opened binlog.000002
assert rows == (("binlog.000002", 197, "", "", sid + ":1-13"),), rows
assert err(c, "SHOW BINARY LOG STATUS")[0] == 1064  # 8.2+
rows, names = one(c, "SHOW BINARY LOGS")
assert names == ["Log_name", "File_size", "Encrypted"], names
assert rows == (("binlog.000001", 1283 + 23, "No"), ("binlog.000002", 197, "No")), rows
rows, _ = one(c, "SHOW GRANTS")
assert "REPLICATION SLAVE, REPLICATION CLIENT" in rows[0][0] and rows[0][0].endswith(" ON *.* TO `godwit`@`%`"), rows
one(c, "SET @source_binlog_checksum = @@global.binlog_checksum, @source_heartbeat_period = 5000000000")
assert one(c, "SELECT @source_binlog_checksum, @source_heartbeat_period")[0] == (("CRC32", 5000000000),)
one(c, "SET @@SESSION.no_such_variable_here = 1")  # succeeds, as the double's brief says
one(c, "SET NAMES utf8mb4")
# forwarded to the MariaDB holding the tables
assert one(c, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'a'")[0] == ((2,),)
assert one(c, "SELECT v FROM a.test_table_3 ORDER BY id")[0] == (("one",), ("two",))
rows, _ = one(c, "SHOW CREATE TABLE a.test_table_3")
assert "CREATE TABLE `test_table_3`" in rows[0][1], rows
c.close()

c = conn(p57)
s57 = "58cf6502-63db-11ed-8079-0242ac110002"
assert one(c, "SELECT @@version, @@GLOBAL.expire_logs_days, @@GLOBAL.gtid_executed")[0] == (("5.7.40-log", 0, s57 + ":1-62"),)
assert err(c, "SELECT @@GLOBAL.binlog_expire_logs_seconds") == (1193, "Unknown system variable 'binlog_expire_logs_seconds'")
assert err(c, "SELECT @@GLOBAL.binlog_row_metadata")[0] == 1193
rows, names = one(c, "SHOW MASTER LOGS")
assert names == ["Log_name", "File_size"] and rows == (("mysql-bin.000001", 2454),), (names, rows)
rows, _ = one(c, "SHOW GRANTS")
assert rows[0][0].endswith(" ON *.* TO 'godwit'@'%'"), rows
assert err(c, "SELECT * FROM a.b")[0] == 1235  # no MariaDB behind this one: a loud refusal
c.close()

c = conn(p84)
s96 = "55778904-0299-11f1-b1b8-4ef0c4956feb"
assert err(c, "SHOW MASTER STATUS")[0] == 1064  # gone in 8.4
rows, _ = one(c, "SHOW BINARY LOG STATUS")
assert rows[0][4] == s96 + ":1-13:mytag:1-3", rows
assert err(c, "SELECT @@GLOBAL.expire_logs_days")[0] == 1193
assert one(c, "SELECT GTID_SUBSET('%s:mytag:3', @@GLOBAL.gtid_executed)" % s96)[0] == ((1,),)
c.close()
print("ok: answers")
PY

# Several UUIDs: sorted, ",\n" between them, as gtid_executed prints them.
myd_start multi --binlog "$BL/mysql-5.7.40-gtid-utf8mb4.binlog" \
	--gtid-purged "ffffffff-0000-0000-0000-000000000001:1-3,00000000-0000-0000-0000-00000000000a:7"
got=$("$PY" -c "import pymysql; c=pymysql.connect(host='127.0.0.1', port=$multi_PORT, user='godwit', password='$GW_PASSWORD'); cur=c.cursor(); cur.execute('SELECT @@GLOBAL.gtid_executed'); print(repr(cur.fetchone()[0]))")
assert_eq "'00000000-0000-0000-0000-00000000000a:7,\\n58cf6502-63db-11ed-8079-0242ac110002:1-62,\\nffffffff-0000-0000-0000-000000000001:1-3'" \
	"$got" "gtid_executed of several UUIDs"

# Privileges: what SHOW GRANTS lists is what the double checks;
# COM_REGISTER_SLAVE (through PyMySQL) shows in SHOW REPLICAS.
myd_start weak --version 8.0.40 --grants "SELECT, RELOAD"
"$PY" - "$weak_PORT" "$m80_PORT" "$GW_PASSWORD" <<'PY' || fail "privileges, COM_REGISTER_SLAVE"
import struct, sys, pymysql
weak, p80, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = pymysql.connect(host="127.0.0.1", port=weak, user="godwit", password=pw)
cur = c.cursor()
for sql in ("SHOW MASTER STATUS", "SHOW BINARY LOGS"):
    try:
        cur.execute(sql)
        raise SystemExit("no privilege check on " + sql)
    except pymysql.err.MySQLError as e:
        assert e.args == (1227, "Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation"), e.args
def register(conn, sid):
    host, user = b"replica-host", b"repl"
    payload = struct.pack("<I", sid) + bytes([len(host)]) + host + bytes([len(user)]) + user + b"\0" + struct.pack("<HII", 3307, 0, 0)
    conn._execute_command(0x15, payload)
    return conn._read_packet()
try:
    register(c, 42)
    raise SystemExit("COM_REGISTER_SLAVE without REPLICATION SLAVE")
except pymysql.err.MySQLError as e:
    assert e.args == (1227, "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation"), e.args
r = pymysql.connect(host="127.0.0.1", port=p80, user="godwit", password=pw)
assert register(r, 42).is_ok_packet()
o = pymysql.connect(host="127.0.0.1", port=p80, user="godwit", password=pw)
cur = o.cursor()
cur.execute("SHOW REPLICAS")
assert [d[0] for d in cur.description] == ["Server_id", "Host", "Port", "Source_id", "Replica_UUID"], cur.description
assert cur.fetchall() == ((42, "replica-host", 3307, 1, ""),), "SHOW REPLICAS"
r.close()
print("ok: privileges and COM_REGISTER_SLAVE")
PY

# mysql2 sends query attributes (CLIENT_QUERY_ATTRIBUTES) and prepares
# statements (zongji asks for the columns so): both reach the MariaDB.
node "$NQ" "{\"modules\":\"$NM\",\"lib\":\"mysql2\",\"port\":$m80_PORT,\"user\":\"godwit\",\"password\":\"$GW_PASSWORD\",\"queries\":[\"SELECT v FROM a.test_table_3 WHERE id = 2\"],\"execute\":[[\"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION\",[\"a\",\"test_table_3\"]],[\"SELECT v FROM a.test_table_3 WHERE id = ?\",[1]]]}" >"$GW_TMP/m2.fw"
assert_eq '{"connect":true}
{"rows":[["two"]],"fields":["v"]}
{"rows":[["id"],["v"]],"fields":["COLUMN_NAME"]}
{"rows":[["one"]],"fields":["v"]}' "$(cat "$GW_TMP/m2.fw")" "mysql2 queries and prepared statements forwarded"
# the compressed protocol (zlib), through TLS too
assert_eq "8.0.40	xy" "$(mariadb --no-defaults -h127.0.0.1 -P"$m80_PORT" -ugodwit -p"$GW_PASSWORD" --ssl \
	--compress --batch -N -e "SELECT @@version, CONCAT('x', 'y')")" "a compressed session"
assert_contains "$(cat "$m80_LOG")" " tls compressed" "the double saw it compressed"
echo "ok: answers to PyMySQL, mysql2, mysqljs"

# -- the files' bytes ---------------------------------------------------------
# mariadb-binlog --raw writes what a dump sends into files: for the 5.7
# files (the versions it accepts) they are the originals.
mkdir -p "$GW_TMP/raw"
n=0
for f in mysql-5.7.21-crc32.binlog mysql-5.7.20-no-checksum.binlog; do
	n=$((n + 1))
	myd_start "raw$n" --binlog "$BL/$f" --auth mysql_native_password
	port="raw${n}_PORT"
	first=$(myd_status "raw$n" 's["files"][0]["name"]')
	(cd "$GW_TMP/raw" && mariadb-binlog --no-defaults --read-from-remote-server --raw -h127.0.0.1 \
		-P"${!port}" -ugodwit -p"$GW_PASSWORD" "$first") || fail "mariadb-binlog --raw on $f"
	cmp "$GW_TMP/raw/$first" "$BL/$f" || fail "$f: mariadb-binlog --raw got other bytes"
	rm -f "$GW_TMP/raw"/*
done
echo "ok: mariadb-binlog --raw copies the 5.7 files exactly"

# PyMySQL as the transport (as python-mysql-replication uses it), every
# file: from the start, and from the middle.
i=0
for f in "$BL"/*.binlog; do
	i=$((i + 1))
	myd_start "b$i" --binlog "$f"
	port="b${i}_PORT"
	first=$(myd_status "b$i" 's["files"][0]["name"]')
	"$PY" - "$f" "$first" "${!port}" "$GW_PASSWORD" "$GW_ROOT/tests/mysqld/clients/pymysql_dump.py" "$PY" <<'PY' || fail "$(basename "$f"): dumped bytes"
import json, struct, subprocess, sys, zlib
path, first, port, pw, tool, py = sys.argv[1:7]
data = open(path, "rb").read()
evs, off = [], 4
while off + 19 <= len(data):
    ln = struct.unpack_from("<I", data, off + 9)[0]
    evs.append((off, data[off:off + ln]))
    off += ln
ck = data[evs[0][0] + evs[0][1].__len__() - 5] == 1 if b"5.5." not in evs[0][1][:80] else False
def dump(pos):
    o = {"port": int(port), "user": "godwit", "password": pw, "file": first, "pos": pos,
         "flags": 1, "checksum": "CRC32", "hex": True}
    out = subprocess.run([py, tool, json.dumps(o)], capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines()]
got = dump(4)
assert got[0]["type"] == 4 and got[0]["ts"] == 0 and got[0]["log_pos"] == 0 and got[0]["flags"] == 0x20, got[0]
rot = bytes.fromhex(got[0]["hex"])
assert rot[19:27] == struct.pack("<Q", 4) and rot[27:-4] == first.encode(), rot
assert struct.unpack("<I", rot[-4:])[0] == zlib.crc32(rot[:-4]) & 0xFFFFFFFF, "artificial rotate checksum"
body = [bytes.fromhex(e["hex"]) for e in got[1:] if "hex" in e]
# the format description goes without LOG_EVENT_BINLOG_IN_USE_F (a file
# still being written has it), its checksum still valid
fde = bytearray(evs[0][1])
fde[17] &= 0xFE
evs[0] = (4, bytes(fde))
if ck:
    assert struct.unpack("<I", fde[-4:])[0] == zlib.crc32(bytes(fde[:-4])) & 0xFFFFFFFF
for k, (o, ev) in enumerate(evs):
    assert body[k] == ev, "event %d at %d differs" % (k, o)
# from a transaction in the middle: FDE with log_pos 0 and no created time,
# its checksum recomputed; then the file from there on
mid = evs[len(evs) // 2][0]
got = dump(mid)
fde = bytes.fromhex(got[1]["hex"])
assert got[1]["type"] == 15 and got[1]["log_pos"] == 0 and fde[19 + 52:19 + 56] == b"\0\0\0\0", got[1]
if ck:
    assert struct.unpack("<I", fde[-4:])[0] == zlib.crc32(fde[:-4]) & 0xFFFFFFFF, "FDE checksum"
rest = [bytes.fromhex(e["hex"]) for e in got[2:] if "hex" in e]
want = [ev for o, ev in evs if o >= mid]
assert rest[:len(want)] == want, "events from %d" % mid
print("ok: %s: %d events byte for byte, and from %d" % (path.rsplit("/", 1)[1], len(evs), mid))
PY
	myd_stop "b$i"
done
echo "ok: the dumped events are the files' bytes"
