#!/usr/bin/env bash
# The MySQL double (tests/mysqld) cross-checked by a client used against
# real MySQL servers: @vlasky/zongji (npm) streams each binlog file real
# MySQL 5.7, 8.0, 8.2 and 9.x servers wrote from the double, by file and
# position, and asks the double for the tables' columns (forwarded to a
# MariaDB holding their layouts). The rows zongji reads must be the values
# the fixtures' transcripts give and the rows `godwit binlog` decodes from
# the same files; the events it reads are the file's, in order, after the
# artificial rotate. zongji decodes no compressed transaction payloads: for
# those files the stream's event sequence is checked, not the rows.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"

myd_clients
NM=$MYD_NODE
BL=$GW_SHARED/datasets/mysql-binlogs
[ -d "$BL" ] || fail "data set $BL missing"
ZJ=$GW_ROOT/tests/mysqld/clients/zongji_stream.mjs

mdb_start layouts

# zongji_read NAME FILE OUT: streams the double NAME from FILE:4 to the end
# SHOW MASTER STATUS (or SHOW BINARY LOGS on 8.4+) gives.
zongji_read() {
	local name=$1 first=$2 out=$3 port end ef ep
	port="${name}_PORT"
	end=$(myd_q "$name" 'SHOW BINARY LOGS' | tail -1)
	ef=$(echo "$end" | cut -f1)
	ep=$(echo "$end" | cut -f2)
	node "$ZJ" "$(printf '{"modules":"%s","port":%s,"user":"godwit","password":"%s","filename":"%s","endFile":"%s","endPos":%s,"maxMs":30000,"keepOnError":true}' \
		"$NM" "${!port}" "$GW_PASSWORD" "$first" "$ef" "$ep")" >"$out" ||
		fail "zongji on $name: $(tail -3 "$out")"
	! grep -q '"type":"timeout"' "$out" || fail "zongji on $name did not reach $ef:$ep: $(tail -3 "$out")"
}

i=0
for f in mysql-5.7.20-no-checksum.binlog mysql-5.7.21-crc32.binlog mysql-5.7.40-gtid-utf8mb4.binlog \
	mysql-8.0.31-decimal-date.binlog mysql-8.0.40-minimal-metadata.binlog \
	mysql-8.0.40-negative-time2.binlog mysql-8.2.0-int-widths.binlog mysql-9.0.1-json-opaque.binlog \
	mysql-9.6.0-gtid-tagged.binlog mysql-8.0.28-payload-update.binlog \
	mysql-8.0.32-payload-insert.binlog mysql-8.0.31-gtid-payload-json.binlog; do
	i=$((i + 1))
	# the file's tables, alone in the MariaDB (two files have a.b)
	for db in $(python3 "$GW_ROOT/tests/mysqld/layouts.py" "$BL/$f" | sed -n 's/^CREATE DATABASE IF NOT EXISTS `\([^`]*\)`.*/\1/p'); do
		mdb layouts -e "DROP DATABASE IF EXISTS \`$db\`"
	done
	python3 "$GW_ROOT/tests/mysqld/layouts.py" "$BL/$f" | mdb layouts || fail "$f: layouts"
	myd_start "f$i" --binlog "$BL/$f" --forward layouts
	first=$(myd_status "f$i" 's["files"][0]["name"]')
	zongji_read "f$i" "$first" "$GW_TMP/$f.zongji"
	"$GODWIT" binlog "$BL/$f" >"$GW_TMP/$f.godwit" || fail "godwit binlog $f"
	python3 - "$BL/$f" "$GW_TMP/$f.zongji" "$GW_TMP/$f.godwit" "$first" <<'PY' || fail "$f: zongji and the file disagree"
import base64, decimal, json, struct, sys
path, zpath, gpath, first = sys.argv[1:5]
data = open(path, "rb").read()
z = [json.loads(l) for l in open(zpath)]
g = [json.loads(l) for l in open(gpath)]
errs = [e for e in z if e["type"] == "error"]
payload = b"\x28" in bytes(data[i + 4] for i in [])  # placeholder, set below
# the file's events, by walking it
events = []
off = 4
while off + 19 <= len(data):
    ln = struct.unpack_from("<I", data, off + 9)[0]
    events.append((data[off + 4], off + ln))
    off += ln
has_payload = any(t == 40 for t, _ in events)
if errs and not (has_payload and all("TRANSACTION_PAYLOAD" in e["message"] for e in errs)):
    sys.exit("zongji errors: %r" % errs)
# 1. the stream starts with the artificial rotate to the first file
assert z[0]["type"] == "rotate" and z[0]["file"] == first and z[0]["position"] == 4 \
    and z[0]["pos"] == 0 and z[0]["timestamp"] == 0, z[0]
# 2. then the file's events in order, each ending where the file says
names = {2: "query", 4: "rotate", 15: "format", 16: "xid", 19: "tablemap", 33: "gtid",
         34: "anonymousgtid", 35: "previousgtids", 29: "rowsquery", 40: "transactionpayload",
         30: "writerows", 31: "updaterows", 32: "deleterows", 42: "gtid"}  # zongji has no class for STOP: unknown
mine = [e for e in z[1:] if e.get("file") == first]
want = [(names.get(t, "unknown"), end) for t, end in events]
got = [(e["type"], e["pos"]) for e in mine][:len(want)]
if got != want:
    for a, b in zip(got, want):
        if a != b:
            sys.exit("event sequence differs at %r vs the file's %r" % (a, b))
    sys.exit("event count: zongji %d, file %d" % (len(got), len(want)))
# 3. the rows: zongji's against godwit's, event by event
def num(v):
    return decimal.Decimal(str(v))

def same(a, b):
    if a == b:
        return True
    if a == "__absent__":
        return b is None
    if isinstance(a, dict) and "base64" in a and len(a) == 1:
        raw = base64.b64decode(a["base64"])
        try:
            return raw.decode("utf-8") == b
        except UnicodeDecodeError:
            return isinstance(b, str) and b.endswith(a["base64"])
    if isinstance(a, bool) or isinstance(b, bool):
        return int(a) == int(b)
    if isinstance(a, (int, float, str)) and isinstance(b, (int, float, str)):
        try:
            x, y = num(a), num(b)
            if isinstance(a, float) or isinstance(b, float):
                return abs(x - y) <= abs(y) * decimal.Decimal("1e-6")
            return x == y
        except decimal.InvalidOperation:
            return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return False

zrows = [(e["type"][:-4], e["table"], e["rows"]) for e in z if e["type"].endswith("rows")]
grows = [(e["type"].split("_")[0], e["database"] + "." + e["table"], e["rows"]) for e in g
         if e["type"].endswith("_rows") and not e.get("in_payload")]
if len(zrows) != len(grows):
    sys.exit("row events: zongji %d, godwit %d" % (len(zrows), len(grows)))
n = 0
for (zk, zt, zr), (gk, gt, gr) in zip(zrows, grows):
    assert zk == gk and zt == gt, (zk, zt, gk, gt)
    for a, b in zip(zr, gr):
        if zk == "update":
            ok = same(a["before"], b["before"]) and same(a["after"], b["after"])
        else:
            ok = same(a, b)
        if not ok:
            sys.exit("%s %s: zongji %r, godwit %r" % (zk, zt, a, b))
        n += 1
    assert len(zr) == len(gr), (zt, len(zr), len(gr))
print("ok: %s: %d events in order, %d rows equal godwit's" % (path.rsplit("/", 1)[1], len(want), n))
PY
	myd_stop "f$i"
done

# The values the transcripts and READMEs give, as zongji read them.
python3 - "$GW_TMP" <<'PY' || fail "zongji read other values than the transcripts give"
import json, os, sys
tmp = sys.argv[1]

def rows(name, kind, table=None):
    out = []
    for l in open(os.path.join(tmp, name + ".zongji")):
        e = json.loads(l)
        if e["type"] == kind and (table is None or e["table"] == table):
            out.extend(e["rows"])
    return out

w = rows("mysql-8.2.0-int-widths.binlog", "writerows")
assert w == [[1, 11, 111, 1111, 11111, 1]], w
u = rows("mysql-8.2.0-int-widths.binlog", "updaterows")
assert u == [{"before": [1, 11, 111, 1111, 11111, 1], "after": [1, 22, 222, 1111, 11111, 1]}], u
assert rows("mysql-8.2.0-int-widths.binlog", "deleterows") == [[1, 22, 222, 1111, 11111, 1]]
w = rows("mysql-8.0.31-decimal-date.binlog", "writerows", "test.LINEITEM")
assert [int(x) for x in w[0][:4]] == [1234567890111, 1235111, 13711, 888878711], w[0]
assert [str(x) for x in w[0][4:8]] == ["99.911", "76.11", "888.1", "109.1"], w[0]
assert w[0][10:13] == ["1990-08-01", "1990-06-01", "1990-01-01"], w[0]
assert any(r[15].startswith("使用箭头标记") for r in w), "the utf8 comment"
assert rows("mysql-8.0.40-negative-time2.binlog", "writerows") == [["-507:48:27"]]
assert rows("mysql-5.7.40-gtid-utf8mb4.binlog", "writerows", "a.emoji") == [[2, ""]]
assert rows("mysql-5.7.40-gtid-utf8mb4.binlog", "deleterows", "a.b")
w = rows("mysql-9.6.0-gtid-tagged.binlog", "writerows")
assert w == [[3, 100, "250.00"]], w
acc = rows("mysql-5.7.20-no-checksum.binlog", "writerows", "account_db.account")
assert acc[0][:2] == ["42b0a771-9345-4b19-b503-d51b5fff30ef", "2018-10-30 18:02:09"], acc[0]
print("ok: transcript values")
PY
echo "ok: zongji read from the double what the files hold"
