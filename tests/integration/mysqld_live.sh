#!/usr/bin/env bash
# The MySQL double (tests/mysqld) as a live primary, checked with clients
# no one here wrote: @vlasky/zongji streams (its own dump packets, GTID-set
# encoding and event parser) and PyMySQL carries raw dumps (as
# python-mysql-replication uses it). Asserted: GTID-set skipping (whole
# transactions, a heartbeat after a skipped stretch), a position honoured,
# heartbeats (v1 and v2) at the period asked when idle, held-back
# transactions released to a client streaming, MySQL's 1236 errors
# (checksum refusal, purged GTIDs, a replica with more GTIDs, a purged
# file), a dump cut in the middle of a transaction, a restart, a switch-over
# to another server with the same GTID history, a second dump of the same
# server id ending the first, a non-blocking dump's EOF.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"

myd_clients
PY=$MYD_PYTHON
NM=$MYD_NODE
ZJ=$GW_ROOT/tests/mysqld/clients/zongji_stream.mjs
PD=$GW_ROOT/tests/mysqld/clients/pymysql_dump.py
BL=$GW_SHARED/datasets/mysql-binlogs
U=3e11fa47-71ca-11e1-9e33-c80aa9429562

# 20 MySQL 8.0 transactions on sysbench tables, their layouts in a MariaDB
G=$GW_TMP/gen
"$PY" "$GW_ROOT/tests/mysqld/genbinlog.py" --out "$G.binlog" --tables 2 --rows 50 \
	--transactions 20 --uuid "$U" --initial "$G.init"
"$GODWIT" binlog "$G.binlog" >"$G.json" || fail "godwit binlog of the generated file"
mdb_start layouts
mdb layouts <"$G.init/schema.sql"

# pos KIND N: the start (gtid) or end (xid) of the Nth transaction, as
# `godwit binlog` reads the file (not the double's index)
pos() {
	"$PY" -c 'import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
k = sys.argv[2]
xs = [e for e in evs if e["type"] == ("gtid" if k == "gtid" else "xid")]
print(xs[int(sys.argv[3]) - 1]["pos" if k == "gtid" else "next_pos"])' "$G.json" "$1" "$2"
}
# zongji OPTIONS-JSON-TAIL: streams with zongji (a JSON object without braces
# completing host, user, modules)
zongji() {
	local port=$1 extra=$2
	# a non-blocking dump's end closes the connection, which zongji
	# reports as an error: it reads on to the end position given
	printf '{"modules":"%s","port":%s,"user":"godwit","password":"%s","keepOnError":true,%s}' \
		"$NM" "$port" "$GW_PASSWORD" "$extra"
}
gtids_of() {
	"$PY" -c 'import json, sys
print(" ".join(e["gtid"].rsplit(":", 1)[1] for e in map(json.loads, open(sys.argv[1])) if e["type"] == "gtid"))' "$1"
}
pydump() {
	local port=$1 extra=$2
	"$PY" "$PD" "$(printf '{"port":%s,"user":"godwit","password":"%s",%s}' "$port" "$GW_PASSWORD" "$extra")"
}
count() { grep -c "$2" "$1" || true; }
# at_least N CMD...: CMD prints a number >= N (for wait_for)
at_least() {
	local v
	v=$("${@:2}")
	[ "$v" -ge "$1" ]
}

# -- GTID-set skipping, a position honoured ------------------------------------
myd_start live --binlog "$G.binlog" --forward layouts
node "$ZJ" "$(zongji "$live_PORT" "\"gtidSet\":\"$U:1-7\",\"nonBlock\":true,\"endFile\":\"binlog.000001\",\"endPos\":$(pos xid 20),\"maxMs\":20000")" >"$GW_TMP/skip.zj"
assert_eq "8 9 10 11 12 13 14 15 16 17 18 19 20" "$(gtids_of "$GW_TMP/skip.zj")" "zongji by GTID set U:1-7"
node "$ZJ" "$(zongji "$live_PORT" "\"gtidSet\":\"$U:1-3:6-9\",\"nonBlock\":true,\"endFile\":\"binlog.000001\",\"endPos\":$(pos xid 20),\"maxMs\":20000")" >"$GW_TMP/hole.zj"
assert_eq "4 5 10 11 12 13 14 15 16 17 18 19 20" "$(gtids_of "$GW_TMP/hole.zj")" "zongji by a set with a hole"
# the rows of the transactions sent are the file's (godwit reads them)
"$PY" - "$GW_TMP/hole.zj" "$G.json" <<'PY' || fail "rows after skipping"
import json, sys
z = [json.loads(l) for l in open(sys.argv[1])]
g = [json.loads(l) for l in open(sys.argv[2])]
gt = [e["gtid"].rsplit(":", 1)[1] for e in g if e["type"] == "gtid"]
want, cur = [], None
for e in g:
    if e["type"] == "gtid":
        cur = e["gtid"].rsplit(":", 1)[1]
    elif e["type"].endswith("_rows") and cur in "4 5 10 11 12 13 14 15 16 17 18 19 20".split():
        want.append([[int(x) if isinstance(x, int) else x for x in r] if isinstance(r, list) else r for r in e["rows"]])
got = [e["rows"] for e in z if e["type"].endswith("rows")]
def norm(rows):
    return [r if isinstance(r, list) else [r["before"], r["after"]] for r in rows]
assert [norm(r) for r in got] == [norm(w) for w in want], "rows differ"
print("ok: the rows of the transactions sent")
PY
# PyMySQL as transport: whole transactions skipped, a HEARTBEAT carrying the
# end of the skipped stretch before the next event sent, and one at the end
pydump "$live_PORT" "\"checksum\":\"CRC32\",\"gtid_set\":\"$U:1-4:6-20\",\"flags\":1" >"$GW_TMP/hb.py"
got=$("$PY" -c 'import json, sys
print(" ".join("%d@%d" % (e["type"], e["log_pos"]) for e in map(json.loads, open(sys.argv[1])) if "type" in e))' "$GW_TMP/hb.py")
want=$("$PY" -c 'import json, sys
codes = {"gtid": 33, "query": 2, "table_map": 19, "update_rows": 31, "delete_rows": 32,
         "write_rows": 30, "xid": 16}
evs = [json.loads(l) for l in open(sys.argv[1])]
starts = [i for i, e in enumerate(evs) if e["type"] == "gtid"]
xids = [e for e in evs if e["type"] == "xid"]
t5 = evs[starts[4]:starts[5]]
out = ["4@0", "15@126", "35@157", "27@%d" % xids[3]["next_pos"]]
out += ["%d@%d" % (codes[e["type"]], e["next_pos"]) for e in t5]
out.append("27@%d" % xids[19]["next_pos"])
print(" ".join(out))' "$G.json")
assert_eq "$want" "$got" "GTID dump: rotate, FDE, PREVIOUS_GTIDS, heartbeat, transaction 5, heartbeat at the end"
assert_contains "$(tail -1 "$GW_TMP/hb.py")" '"eof": true' "non-blocking dump ends with EOF"
# by position: from transaction 11 on, the FDE's log_pos zeroed
node "$ZJ" "$(zongji "$live_PORT" "\"filename\":\"binlog.000001\",\"position\":$(pos gtid 11),\"nonBlock\":true,\"endFile\":\"binlog.000001\",\"endPos\":$(pos xid 20),\"maxMs\":20000")" >"$GW_TMP/pos.zj"
assert_eq "11 12 13 14 15 16 17 18 19 20" "$(gtids_of "$GW_TMP/pos.zj")" "zongji from a position"
assert_contains "$(head -2 "$GW_TMP/pos.zj" | tr -d '\n')" "\"type\":\"rotate\",\"file\":\"binlog.000001\",\"pos\":0" "artificial rotate first"
assert_contains "$(sed -n 2p "$GW_TMP/pos.zj")" '"type":"format","file":"binlog.000001","pos":0' "FDE with log_pos 0 past the start"
# a replica with GTIDs of the source's UUID it does not have
pydump "$live_PORT" "\"checksum\":\"CRC32\",\"gtid_set\":\"$U:1-25\",\"flags\":1" >"$GW_TMP/more.py"
assert_contains "$(cat "$GW_TMP/more.py")" '"error": 1236, "message": "Replica has more GTIDs than the source has, using the source'"'"'s SERVER_UUID.' "more GTIDs than the source"
echo "ok: GTID-set skipping and positions"

# -- checksums ------------------------------------------------------------------
pydump "$live_PORT" "\"file\":\"binlog.000001\",\"pos\":4,\"flags\":1" >"$GW_TMP/ck.py"
assert_eq '{"error": 1236, "message": "Replica can not handle replication events with the checksum that source is configured to log; the first event '"'"'binlog.000001'"'"' at 4, the last event read from '"'"'./binlog.000001'"'"' at 126, the last byte read from '"'"'./binlog.000001'"'"' at 126."}' \
	"$(grep error "$GW_TMP/ck.py")" "a CRC32 file to a client that did not announce checksums"
myd_start m57 --binlog "$BL/mysql-5.7.21-crc32.binlog"
pydump "$m57_PORT" "\"file\":\"mysql-bin.000001\",\"pos\":4,\"flags\":1" >"$GW_TMP/ck57.py"
assert_contains "$(cat "$GW_TMP/ck57.py")" '"message": "Slave can not handle replication events with the checksum that master is configured to log; the first event' "5.7's words"
myd_start nock --binlog "$BL/mysql-5.7.20-no-checksum.binlog"
pydump "$nock_PORT" "\"file\":\"mysql-bin.000001\",\"pos\":4,\"flags\":1" >"$GW_TMP/nock.py"
assert_eq 195 "$(count "$GW_TMP/nock.py" '"type"')" \
	"a file without checksums needs no announcement (rotate, its 191 events, then the next file's rotate, FDE, PREVIOUS_GTIDS)"
echo "ok: checksum negotiation"

# -- held back, released, heartbeats ----------------------------------------------
myd_start held --binlog "$G.binlog" --forward layouts --hold-after-txn 3
node "$ZJ" "$(zongji "$held_PORT" "\"filename\":\"binlog.000001\",\"position\":4,\"heartbeatNs\":300000000,\"maxMs\":60000")" >"$GW_TMP/held.zj" &
wait_for "zongji to read the 3 transactions shown" 30 grep -q "\"type\":\"xid\",\"file\":\"binlog.000001\",\"pos\":$(pos xid 3)," "$GW_TMP/held.zj"
wait_for "3 heartbeats while nothing comes" 30 at_least 3 count "$GW_TMP/held.zj" heartbeat
"$PY" - "$GW_TMP/held.zj" <<'PY' || fail "heartbeats"
import json, sys
hb = [e for e in map(json.loads, open(sys.argv[1])) if e["type"] == "heartbeat"]
assert all(h["binlogName"] == "binlog.000001" for h in hb), hb
gaps = [b["ms"] - a["ms"] for a, b in zip(hb, hb[1:])]
assert all(250 <= g <= 3000 for g in gaps), "heartbeat gaps %r (period 300 ms)" % gaps
print("ok: heartbeats every", gaps)
PY
assert_eq "1 2 3" "$(gtids_of "$GW_TMP/held.zj")" "only the transactions shown"
myd_ctl held release 2 >/dev/null
wait_for "zongji to get the 2 released transactions" 30 grep -q "\"type\":\"xid\",\"file\":\"binlog.000001\",\"pos\":$(pos xid 5)," "$GW_TMP/held.zj"
assert_eq "1 2 3 4 5" "$(gtids_of "$GW_TMP/held.zj")" "released while streaming"
assert_eq "binlog.000001	$(pos xid 5)" "$(myd_q held 'SHOW MASTER STATUS' | cut -f1,2)" "SHOW MASTER STATUS follows"
# HEARTBEAT_LOG_EVENT_V2 when the dump asks for it (flag 2): its TLV body
pydump "$held_PORT" "\"checksum\":\"CRC32\",\"heartbeat_ns\":200000000,\"file\":\"binlog.000001\",\"pos\":$(pos xid 5),\"flags\":2,\"server_id\":1002,\"max_events\":4,\"hex\":true" >"$GW_TMP/hb2.py"
"$PY" - "$GW_TMP/hb2.py" "$(pos xid 5)" <<'PY' || fail "heartbeat v2"
import json, sys, zlib, struct
evs = [json.loads(l) for l in open(sys.argv[1])]
hb = [e for e in evs if e.get("type") == 41]
assert len(hb) == 2, evs
b = bytes.fromhex(hb[0]["hex"])
assert struct.unpack("<I", b[-4:])[0] == zlib.crc32(b[:-4]) & 0xFFFFFFFF
body = b[19:-4]
name = b"binlog.000001"
pos = int(sys.argv[2])
lp = bytes([pos]) if pos < 251 else b"\xfc" + struct.pack("<H", pos)
assert body == b"\x01" + bytes([len(name)]) + name + b"\x02" + bytes([len(lp)]) + lp + b"\x00", body
print("ok: heartbeat v2")
PY
echo "ok: held back, released, heartbeats"

# -- a dump cut in the middle of a transaction ------------------------------------------
myd_ctl held drop-mid-txn >/dev/null
myd_ctl held release 1 >/dev/null
wait_for "zongji to lose its connection" 30 grep -q '"type":"error"' "$GW_TMP/held.zj"
"$PY" - "$GW_TMP/held.zj" <<'PY' || fail "the cut"
import json, sys
evs = [e for e in map(json.loads, open(sys.argv[1])) if e["type"] != "heartbeat"]
i = max(k for k, e in enumerate(evs) if e["type"] == "gtid")
tail = [e["type"] for e in evs[i:]]
assert evs[i]["gtid"].endswith(":6"), evs[i]
# all of it but its XID: the commit never came
assert tail == ["gtid", "query", "tablemap", "updaterows", "tablemap", "updaterows", "tablemap",
                "deleterows", "tablemap", "writerows", "error"], tail
print("ok: transaction 6 without its end:", tail)
PY
node "$ZJ" "$(zongji "$held_PORT" "\"gtidSet\":\"$U:1-5\",\"nonBlock\":true,\"endFile\":\"binlog.000001\",\"endPos\":$(pos xid 6),\"maxMs\":20000")" >"$GW_TMP/after.zj"
assert_eq "6" "$(gtids_of "$GW_TMP/after.zj")" "the next dump gets transaction 6 whole"
assert_eq 1 "$(count "$GW_TMP/after.zj" '"type":"xid"')" "with its XID"
echo "ok: drop in the middle of a transaction"

# -- a second dump of the same server id ends the first -----------------------------
pydump "$held_PORT" "\"checksum\":\"CRC32\",\"file\":\"binlog.000001\",\"pos\":4,\"server_id\":77,\"seconds\":30" >"$GW_TMP/dup1.py" &
wait_for "the first dump to stream" 30 at_least 1 myd_status held 's["dumps"]'
pydump "$held_PORT" "\"checksum\":\"CRC32\",\"file\":\"binlog.000001\",\"pos\":4,\"server_id\":77,\"max_events\":3" >"$GW_TMP/dup2.py"
wait_for "the first dump to end" 30 grep -q error "$GW_TMP/dup1.py"
assert_contains "$(cat "$GW_TMP/dup1.py")" '"error": 1236, "message": "A replica with the same server_uuid/server_id as this replica has connected to the source; the first event' \
	"the first dump of server id 77 ended"
echo "ok: same server id"

# -- restart ------------------------------------------------------------------------
node "$ZJ" "$(zongji "$held_PORT" "\"gtidSet\":\"$U:1-6\",\"maxMs\":60000")" >"$GW_TMP/rs.zj" &
wait_for "a dump to stream" 30 at_least 1 myd_status held 's["dumps"]'
# FLUSH BINARY LOGS while it streams: the file's ROTATE, then the next file
myd_ctl held rotate >/dev/null
wait_for "zongji to follow the rotation" 30 grep -q '"type":"previousgtids","file":"binlog.000002"' "$GW_TMP/rs.zj"
assert_contains "$(cat "$GW_TMP/rs.zj")" "{\"type\":\"rotate\",\"file\":\"binlog.000001\",\"pos\":$(($(pos xid 6) + 44))," "the ROTATE ending binlog.000001"
full=$(myd_status held 's["counters"].get("auth_full_rsa", 0)')
myd_ctl held restart >/dev/null
wait_for "zongji to see the restart" 30 grep -q '"type":"error"' "$GW_TMP/rs.zj"
assert_eq "binlog.000001 binlog.000002 binlog.000003" "$(myd_q held 'SHOW BINARY LOGS' | cut -f1 | tr '\n' ' ' | sed 's/ $//')" "a new file after the restart"
assert_eq "$((197 + 23))" "$(myd_q held 'SHOW BINARY LOGS' | sed -n 2p | cut -f2)" "the file being written closed with a STOP event"
assert_eq "$((full + 1))" "$(myd_status held 's["counters"].get("auth_full_rsa", 0)')" "the cache was empty: a full authentication"
myd_ctl held release 2 >/dev/null
node "$ZJ" "$(zongji "$held_PORT" "\"gtidSet\":\"$U:1-6\",\"nonBlock\":true,\"endFile\":\"binlog.000003\",\"endPos\":$(myd_q held 'SHOW MASTER STATUS' | cut -f2),\"maxMs\":20000")" >"$GW_TMP/rs2.zj"
assert_eq "7 8" "$(gtids_of "$GW_TMP/rs2.zj")" "after the restart, by GTID set, the transactions released since (in the new file)"
echo "ok: restart"

# -- purge ----------------------------------------------------------------------------
myd_ctl held release all >/dev/null
myd_ctl held purge >/dev/null
assert_eq "$U:1-20" "$(myd_q held 'SELECT @@GLOBAL.gtid_purged')" "gtid_purged after the purge"
assert_eq 1 "$(myd_q held 'SHOW BINARY LOGS' | wc -l)" "older files gone"
node "$ZJ" "$(zongji "$held_PORT" "\"gtidSet\":\"$U:1-10\",\"nonBlock\":true,\"maxMs\":20000,\"keepOnError\":false")" >"$GW_TMP/purged.zj"
assert_contains "$(cat "$GW_TMP/purged.zj")" "Cannot replicate because the source purged required binary logs. Replicate the missing transactions from elsewhere, or provision a new replica from backup. Consider increasing the source's binary log expiration period. The GTID set sent by the replica is '$U:1-10', and the missing transactions are '$U:11-20'" \
	"zongji told the GTIDs are purged"
pydump "$held_PORT" "\"checksum\":\"CRC32\",\"file\":\"binlog.000001\",\"pos\":4,\"flags\":1" >"$GW_TMP/purgedf.py"
assert_contains "$(cat "$GW_TMP/purgedf.py")" '"error": 1236, "message": "Could not find first log file name in binary log index file"' "a purged file"
echo "ok: purge"

# -- switch-over: same GTIDs, other files ---------------------------------------------
myd_start ha --binlog "$G.binlog" --forward layouts
before=$(myd_q ha 'SELECT @@GLOBAL.gtid_executed')
myd_ctl ha switchover 5ab8e3c2-0e2a-11ef-8f2d-0242ac120003 mysql-bin.000101 >/dev/null
assert_eq 5ab8e3c2-0e2a-11ef-8f2d-0242ac120003 "$(myd_q ha 'SELECT @@server_uuid')" "the new server's UUID"
assert_eq "$before" "$(myd_q ha 'SELECT @@GLOBAL.gtid_executed')" "the same GTID history"
assert_eq "mysql-bin.000101 mysql-bin.000102" "$(myd_q ha 'SHOW BINARY LOGS' | cut -f1 | tr '\n' ' ' | sed 's/ $//')" "its own files"
node "$ZJ" "$(zongji "$ha_PORT" "\"gtidSet\":\"$U:1-12\",\"nonBlock\":true,\"endFile\":\"mysql-bin.000102\",\"endPos\":$(myd_q ha 'SHOW MASTER STATUS' | cut -f2),\"maxMs\":20000")" >"$GW_TMP/ha.zj"
assert_eq "13 14 15 16 17 18 19 20" "$(gtids_of "$GW_TMP/ha.zj")" "resumed by GTID set on the new server"
"$PY" - "$GW_TMP/ha.zj" "$GW_TMP/skip.zj" <<'PY' || fail "rows after the switch-over"
import json, sys
def rows(p, after):
    out, cur = [], None
    for e in map(json.loads, open(p)):
        if e["type"] == "gtid":
            cur = int(e["gtid"].rsplit(":", 1)[1])
        elif e["type"].endswith("rows") and cur and cur > after:
            out.append(e["rows"])
    return out
assert rows(sys.argv[1], 12) == rows(sys.argv[2], 12), "rows differ from the old server's"
print("ok: the same rows from the new server")
PY
pydump "$ha_PORT" "\"checksum\":\"CRC32\",\"file\":\"mysql-bin.000102\",\"pos\":$(pos gtid 13),\"flags\":1" >"$GW_TMP/hapos.py"
! grep -q '"type": 33' "$GW_TMP/hapos.py" || [ "$(grep -c '"type": 33' "$GW_TMP/hapos.py")" != 8 ] ||
	fail "the old server's position found the same transactions on the new one"
echo "ok: switch-over"

# -- tagged GTIDs (MySQL 8.4+): zongji's tagged set encoding, GTID_TAGGED skipped -----
S=55778904-0299-11f1-b1b8-4ef0c4956feb
"$PY" "$GW_ROOT/tests/mysqld/layouts.py" "$BL/mysql-9.6.0-gtid-tagged.binlog" | mdb layouts
myd_start tag --binlog "$BL/mysql-9.6.0-gtid-tagged.binlog" --forward layouts
node "$ZJ" "$(zongji "$tag_PORT" "\"gtidSet\":\"$S:1-13:mytag:1-2\",\"nonBlock\":true,\"endFile\":\"binlog.000005\",\"endPos\":245,\"maxMs\":20000")" >"$GW_TMP/tag1.zj"
assert_eq "$S:mytag:3" "$("$PY" -c 'import json, sys
print(" ".join(e["gtid"] for e in map(json.loads, open(sys.argv[1])) if e["type"] == "gtid"))' "$GW_TMP/tag1.zj")" "the tagged transaction the set lacks"
assert_contains "$(cat "$GW_TMP/tag1.zj")" '"writerows","file":"binlog.000004","pos":510,' "its row"
node "$ZJ" "$(zongji "$tag_PORT" "\"gtidSet\":\"$S:1-13:mytag:1-3\",\"nonBlock\":true,\"endFile\":\"binlog.000005\",\"endPos\":245,\"maxMs\":20000")" >"$GW_TMP/tag2.zj"
assert_eq '"binlog.000005"' "$(head -1 "$GW_TMP/tag2.zj" | "$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["file"]))')" \
	"a set with every GTID starts at the newest file"
assert_eq 0 "$(count "$GW_TMP/tag2.zj" '"type":"gtid"')" "nothing to send"
node "$ZJ" "$(zongji "$tag_PORT" "\"gtidSet\":\"$S:1-13\",\"nonBlock\":true,\"maxMs\":20000,\"keepOnError\":false")" >"$GW_TMP/tag3.zj"
assert_contains "$(cat "$GW_TMP/tag3.zj")" "and the missing transactions are '$S:mytag:1-2'" "purged tagged GTIDs"
echo "ok: tagged GTIDs"

# -- set-uuid: the source's own UUID decides "more GTIDs" -------------------------------
myd_ctl live set-uuid 00000000-1111-2222-3333-444444444444 >/dev/null
pydump "$live_PORT" "\"checksum\":\"CRC32\",\"gtid_set\":\"$U:1-25\",\"flags\":1" >"$GW_TMP/more2.py"
assert_eq 0 "$(count "$GW_TMP/more2.py" '"type": 33')" "with another server UUID, U:1-25 is no longer refused: all skipped"
assert_contains "$(tail -1 "$GW_TMP/more2.py")" '"eof": true' "and the dump ends"
echo "ok: the double behaves as a live MySQL primary"
