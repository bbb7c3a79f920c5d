#!/usr/bin/env bash
# `godwit binlog` on the binlogs of a live MariaDB server: a table of every
# column type gets inserts (edge values and generated rows), updates,
# deletes and a multi-statement transaction; replaying the decoded row
# events by primary key must give exactly what SELECT returns. Twice: with
# binlog_row_metadata=FULL, and with MINIMAL plus compressed binlog events
# (log_bin_compress), and with NO_LOG (MariaDB's default), where names,
# signedness and labels are unknown.
. "$(dirname "$0")/../lib/harness.sh"

# A replayer built on the decoder and binlog_value_sql(): SQL that redoes the
# row events of one table on another.
REPLAY=$GW_TMP/binlog_replay
cc -std=c11 -D_GNU_SOURCE -I"$GW_ROOT" -o "$REPLAY" "$GW_ROOT/tests/lib/binlog_replay.c" \
	"$GW_ROOT/build/libgodwit.a" -lzstd -lz -lm || fail "building the replayer"

run_case() { # NAME MODE [server options...]
	local name=$1 mode=$2
	shift 2
	mdb_start "$name" "$@"
	mdb "$name" <<'SQL'
CREATE DATABASE d;
USE d;
CREATE TABLE d.t (
  id INT UNSIGNED PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
  mi MEDIUMINT, mu MEDIUMINT UNSIGNED, ii INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(20,6), dz DECIMAL(65,30), d0 DECIMAL(5,0),
  bt BIT(13), yr YEAR,
  da DATE, tm TIME, t3 TIME(3), dt DATETIME, d6 DATETIME(6), ts TIMESTAMP(4) NULL,
  c10 CHAR(10) CHARSET utf8mb4, vl VARCHAR(20) CHARSET latin1, vu VARCHAR(1000) CHARSET utf8mb4,
  bn BINARY(4), vb VARBINARY(300), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB,
  tx TEXT CHARSET utf8mb4, lt LONGTEXT,
  en ENUM('a','b','c d'), st SET('x','y','z'), js JSON, g GEOMETRY,
  f FLOAT, db DOUBLE
) ENGINE=InnoDB;
SET time_zone = '+00:00';
INSERT INTO d.t VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  -12345678901234.123456, -12345678901234567890123456789012345.123456789012345678901234567890, 99999,
  b'1111111111111', 1901,
  '1000-01-01', '-838:59:59', '-507:48:27.125', '9999-12-31 23:59:59', '2024-02-29 13:04:05.250000',
  '1970-01-01 00:00:01.0001',
  'héllo✓', 'café x', REPEAT('ü', 900),
  0x0a, 0x00ff00, 0x00, REPEAT(0x01, 300), REPEAT('x', 70000),
  'tab\there\nnewline "quoted" \\ back', REPEAT('long ', 1000),
  'c d', 'x,z', '{"a": [1, 2.5, "s"], "b": null}', ST_GeomFromText('POINT(1 2)'),
  1.5, -2.25e-300),
 (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  0, 0, -99999, b'0', 2155, '9999-12-31', '838:59:59', '00:00:00.001', '1000-01-01 00:00:00',
  '1000-01-01 00:00:00.000001', '2038-01-19 03:14:07.9999', '', '', '', 0x00000000, '', '', '', '',
  '', '', 'a', '', '[]', ST_GeomFromText('LINESTRING(0 0,1 1,2 2)'), 0, 0),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO d.t (id, ti, tu, si, su, mi, mu, ii, iu, bi, bu, de, dz, d0, bt, yr, da, tm, t3, dt, d6,
  ts, c10, vl, vu, bn, vb, tb, bl, mb, tx, lt, en, st, js, g, f, db)
SELECT seq + 100, seq % 256 - 128, seq % 256, seq * 97 % 65536 - 32768, seq * 97 % 65536,
  seq * 7919 - 4000000, seq * 7919, seq * 104729 - 2000000000, seq * 104729 * 41,
  seq * 1000000007 * (1 - 2 * (seq % 2)), seq * 18446744073709551 % 18446744073709551615,
  seq * 1.000001 - 50, seq / 7, seq * 3 - 600, seq * 41 % 8192, 1901 + seq % 255,
  '2000-01-01' + INTERVAL seq DAY, SEC_TO_TIME(seq * 3607 - 400000),
  SEC_TO_TIME(seq * 3.001 - 200), '2020-06-15 12:00:00' + INTERVAL seq HOUR,
  '2020-06-15 12:00:00.000001' + INTERVAL seq * 1001 MICROSECOND,
  '2001-01-01 00:00:00.0001' + INTERVAL seq * 123 SECOND,
  CONCAT('c', seq), CONCAT('l', seq), REPEAT(CHAR(0x41 + seq % 26), seq),
  UNHEX(LPAD(HEX(seq), 8, '0')), UNHEX(REPEAT(LPAD(HEX(seq % 256), 2, '0'), seq % 40)), CHAR(seq % 256),
  REPEAT(UNHEX('00FF'), seq), REPEAT('m', seq * 10), CONCAT('text ', seq, ' ✓'),
  REPEAT('L', seq), ELT(1 + seq % 3, 'a', 'b', 'c d'), MAKE_SET(seq % 8, 'x', 'y', 'z'),
  JSON_OBJECT('n', seq, 'a', JSON_ARRAY(seq, 'v')), ST_GeomFromText(CONCAT('POINT(', seq, ' 1)')),
  seq / 4, seq / 3
FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_200) q;
UPDATE d.t SET ti = ti + 1, vu = CONCAT(vu, '!'), d6 = d6 + INTERVAL 1 SECOND WHERE id % 3 = 0 AND id > 100;
UPDATE d.t SET tu = 7, en = 'b', st = 'y', js = '{"upd": true}', bn = 0x01 WHERE id IN (1, 2, 3);
DELETE FROM d.t WHERE id % 5 = 0 AND id > 100;
BEGIN;
INSERT INTO d.t (id, ti, vu) VALUES (1000, 1, 'in trx'), (1001, 2, 'in trx 2');
UPDATE d.t SET ti = 99 WHERE id = 1000;
DELETE FROM d.t WHERE id = 1001;
COMMIT;
FLUSH BINARY LOGS;
SQL
	local files=() f
	while read -r f _; do
		files+=("$GW_TMP/$name/data/$f")
	done < <(mdb_q "$name" "SHOW BINARY LOGS")
	"$GODWIT" binlog "${files[@]}" >"$GW_TMP/$name.jsonl" 2>"$GW_TMP/$name.err" ||
		fail "$name: godwit binlog: $(cat "$GW_TMP/$name.err")"
	# What the server holds, column by column, in a form both sides reach:
	# numbers as text, strings as hex of their bytes, ENUM/SET as label and
	# number, temporal as text in UTC.
	mdb_q "$name" "SET time_zone='+00:00'; SELECT id, ti, tu, si, su, mi, mu, ii, iu, bi, bu,
	  de, dz, d0, bt + 0, yr, da, tm, t3, dt, d6, ts, HEX(c10), HEX(vl), HEX(vu), HEX(bn), HEX(vb),
	  HEX(tb), HEX(bl), HEX(mb), HEX(tx), HEX(lt), en, en + 0, st, st + 0, HEX(js), HEX(g), f, db
	  FROM d.t ORDER BY id" >"$GW_TMP/$name.select"
	python3 - "$GW_TMP/$name.jsonl" "$GW_TMP/$name.select" "$mode" <<'PY'
import base64, json, sys
events = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
mode = sys.argv[3]
ROWS = ("write_rows", "update_rows", "delete_rows")
rows_t = [e for e in events if e["type"] in ROWS and e["table"] == "t"]
assert rows_t, "no row events for d.t"
if mode == "minimal":  # run with log_bin_compress
    assert all(e.get("compressed") for e in rows_t), "log_bin_compress: rows events not compressed"
    assert any(e["type"] == "query" and e.get("compressed") for e in events), "no compressed query"
maps = [e for e in events if e["type"] == "table_map" and e["table"] == "t"]
names = [c["name"] for c in maps[0]["columns"]]
if mode == "full":
    assert names[:3] == ["id", "ti", "tu"] and maps[0]["columns"][0]["primary_key"], names
    assert maps[0]["columns"][2]["unsigned"] is True and maps[0]["columns"][1]["unsigned"] is False
else:
    assert names == [None] * 38, names

UNSIGNED_BITS = {2: 8, 4: 16, 6: 24, 8: 32, 10: 64}
LATIN1 = {23}
state = {}

def key(row):
    return row[0] if row[0] >= 0 else row[0] + 2**32

for e in rows_t:
    for r in e["rows"]:
        if e["type"] == "write_rows":
            assert key(r) not in state, "insert of an existing id %r" % r[0]
            state[key(r)] = r
        elif e["type"] == "update_rows":
            assert state.get(key(r["before"])) == r["before"], "before image differs: %r" % r["before"][:3]
            del state[key(r["before"])]
            state[key(r["after"])] = r["after"]
        else:
            assert state.get(key(r)) == r, "delete image differs: %r" % r[:3]
            del state[key(r)]

def to_bytes(v, col):
    if isinstance(v, dict):
        return base64.b64decode(v["base64"])
    return v.encode("latin-1" if col in LATIN1 else "utf-8")

def canon(v, col):
    """Our value for column col as the SELECT above prints it."""
    if v is None:
        return None
    if col in UNSIGNED_BITS:
        return str(v % 2 ** UNSIGNED_BITS[col])
    if col in (32, 33):  # ENUM, SET
        return str(v)
    if 22 <= col <= 35:
        return to_bytes(v, col).hex().upper()
    if isinstance(v, float):
        return v
    return str(v)

lines = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
assert len(lines) == len(state), "server has %d rows, the binlog replays to %d" % (len(lines), len(state))
for line in lines:
    sel = [None if x in ("\\N", "NULL") else x for x in line.split("\t")]
    ours = state.get(int(sel[0]))
    assert ours is not None, "id %s not in the replayed binlog" % sel[0]
    # ENUM/SET: label with full metadata, number without
    en, en_n, st, st_n = sel[32:36]
    want = sel[:32] + [en if mode == "full" else en_n, st if mode == "full" else st_n] + sel[36:]
    for col in range(38):
        w, o = want[col], ours[col]
        if col in (36, 37):  # FLOAT, DOUBLE
            if w is None or o is None:
                assert w is o is None or (w is None and o is None), (sel[0], col, w, o)
                continue
            tol = 1e-6 * max(1.0, abs(float(w))) if col == 36 else 0
            assert abs(float(w) - o) <= tol, "id %s col %d: server %s, binlog %r" % (sel[0], col, w, o)
            continue
        c = canon(o, col)
        if col == 25 and mode == "nolog" and c is not None:
            # BINARY(4): the server strips the zero bytes it pads with; without
            # charset metadata the decoder cannot know to put them back (an
            # insert pads them again)
            c = c.ljust(8, "0")
        assert c == w, "id %s col %d (%s): server %r, binlog %r" % (sel[0], col, names[col], w, c)
print("ok: %d rows replayed from %d row events equal the server's" % (len(lines), len(rows_t)))
PY
	# MariaDB's own decoder agrees on the row count of every event.
	local theirs ours
	theirs=$(for f in "${files[@]}"; do
		mariadb-binlog --no-defaults -v --base64-output=decode-rows "$f"
	done | grep -c '^### \(INSERT INTO\|UPDATE\|DELETE FROM\) `d`.`t`')
	ours=$(python3 -c '
import json, sys
print(sum(len(e["rows"]) for e in map(json.loads, open(sys.argv[1]))
          if e["type"] in ("write_rows", "update_rows", "delete_rows") and e["table"] == "t"))' \
		"$GW_TMP/$name.jsonl")
	assert_eq "$theirs" "$ours" "$name: rows of d.t, mariadb-binlog vs godwit"
	echo "ok: $name ($mode metadata): $ours rows, same count as mariadb-binlog"
	# Replayed as SQL literals onto an empty copy: the same table, to the
	# byte. (NO_LOG lacks signedness: the applier gives it from the schema.)
	[ "$mode" != nolog ] || return 0
	mdb_q "$name" "CREATE TABLE d.t2 LIKE d.t"
	"$REPLAY" d t d.t2 "${files[@]}" >"$GW_TMP/$name.sql" || fail "$name: replayer failed"
	{ echo "SET NAMES binary; SET time_zone = '+00:00'; SET sql_mode = 'STRICT_ALL_TABLES';"
	  cat "$GW_TMP/$name.sql"; } | mdb "$name" || fail "$name: replaying the binlog failed"
	local a b
	a=$(mdb_q "$name" "CHECKSUM TABLE d.t" | cut -f2)
	b=$(mdb_q "$name" "CHECKSUM TABLE d.t2" | cut -f2)
	assert_eq "$a" "$b" "$name: d.t and the replayed d.t2 differ"
	assert_eq "$(mdb_q "$name" "SELECT COUNT(*) FROM d.t")" "$(mdb_q "$name" "SELECT COUNT(*) FROM d.t2")" \
		"$name: row counts"
	echo "ok: $name: binlog replayed with binlog_value_sql() equals the table (checksum $a)"
}

run_case full full --binlog-row-metadata=FULL
run_case minimal minimal --binlog-row-metadata=MINIMAL --log-bin-compress=ON --log-bin-compress-min-len=10
run_case nolog nolog --binlog-row-metadata=NO_LOG
