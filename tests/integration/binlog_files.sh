#!/usr/bin/env bash
# `godwit binlog` on the binlogs real MySQL 5.5-9.6 servers wrote
# (shared/datasets/mysql-binlogs), checked against the values their
# transcripts, READMEs and the generating repositories' assertions give, against
# MariaDB's own mariadb-binlog for the 5.x files, and on bad input.
. "$(dirname "$0")/../lib/harness.sh"

DS=${GW_SHARED:-$GW_ROOT/../shared}/datasets
[ -d "$DS/mysql-binlogs" ] || DS=/work/shared/datasets
BL=$DS/mysql-binlogs
[ -d "$BL" ] || fail "data set $BL missing"

# Every file decodes completely.
for f in "$BL"/*.binlog "$BL"/*.binlog.gz; do
	out=$GW_TMP/$(basename "$f").jsonl
	"$GODWIT" binlog "$f" >"$out" 2>"$GW_TMP/err" || fail "$(basename "$f"): $(cat "$GW_TMP/err")"
	[ -s "$out" ] || fail "$(basename "$f"): no events"
	! grep -q '"type":"unknown"' "$out" || fail "$(basename "$f"): unknown event types"
done
echo "ok: every file decodes"

# Structured checks on the JSON lines.
python3 - "$GW_TMP" "$DS" <<'PY'
import json, os, re, sys, collections
tmp, ds = sys.argv[1], sys.argv[2]

def events(name):
    with open(os.path.join(tmp, name + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(l) for l in f]

def rows(evs, typ, table=None):
    out = []
    for e in evs:
        if e["type"] == typ and (table is None or e["table"] == table):
            out.extend(e["rows"])
    return out

def check(cond, msg):
    if not cond:
        print("FAIL: " + msg, file=sys.stderr)
        sys.exit(1)

# 5.5 sakila load: per-table row counts equal the sakila data set's.
evs = events("mysql-5.5.27-sakila-load.binlog.gz")
check(sum(1 for e in evs if e["type"] == "write_rows") == 1374, "5.5: 1374 write_rows events")
got = collections.Counter()
for e in evs:
    if e["type"] == "write_rows":
        got[e["table"]] += len(e["rows"])
want = collections.Counter()
sql = open(os.path.join(ds, "sakila", "sakila-data.sql"), encoding="utf-8", errors="replace").read()
for m in re.finditer(r"INSERT INTO `?(\w+)`? VALUES", sql):
    i, depth, n, q = m.end(), 0, 0, None
    while i < len(sql):
        c = sql[i]
        if q:
            if c == "\\":
                i += 1
            elif c == q:
                q = None
        elif c in "'\"":
            q = c
        elif c == "(":
            if depth == 0:
                n += 1
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == ";" and depth == 0:
            break
        i += 1
    want[m.group(1)] += n
# film_text is filled by a trigger on film: its rows are in the binlog
want["film_text"] = want["film"]
check(len(want) == 16, "sakila data set: 16 tables, got %d" % len(want))
check(got == want, "5.5 sakila per-table rows: %s vs data set %s" % (dict(got), dict(want)))
actor = rows(evs, "write_rows", "actor")
check(actor[0] == [1, "PENELOPE", "GUINESS", "2006-02-15 03:34:33"], "5.5 actor row 1: %r" % actor[0])
pay = rows(evs, "write_rows", "payment")
check(all(re.fullmatch(r"\d+\.\d\d", r[4]) for r in pay), "5.5 payment.amount DECIMAL(5,2)")
print("ok: 5.5 sakila per-table counts", sum(got.values()), "rows")

# 8.0.31 DECIMAL/DATE transcript.
evs = events("mysql-8.0.31-decimal-date.binlog")
w = rows(evs, "write_rows")
check(w[0] == [1234567890111, 1235111, 13711, 888878711, "99.911", "76.11", "888.1", "109.1",
               "code", "Y", "1990-08-01", "1990-06-01", "1990-01-01", "test@test.com", "test",
               "com"], "8.0.31 first insert: %r" % w[0])
check(w[1][:8] == [12345678909876, 12356789, 13789, 888878787, "99.998", "76.77", "888.7", "109.7"],
      "8.0.31 second insert: %r" % w[1])
check(any(r[15].startswith("使用箭头标记") for r in w), "8.0.31 utf8 comment")
check(rows(evs, "update_rows") and rows(evs, "delete_rows"), "8.0.31 update and delete rows")
print("ok: 8.0.31 decimal/date transcript values")

# 8.2.0 integer widths transcript.
evs = events("mysql-8.2.0-int-widths.binlog")
check(rows(evs, "write_rows") == [[1, 11, 111, 1111, 11111, 1]], "8.2.0 insert")
check(rows(evs, "update_rows") == [{"before": [1, 11, 111, 1111, 11111, 1],
                                     "after": [1, 22, 222, 1111, 11111, 1]}], "8.2.0 update")
check(rows(evs, "delete_rows") == [[1, 22, 222, 1111, 11111, 1]], "8.2.0 delete")
print("ok: 8.2.0 integer widths")

# Negative TIME2.
check(rows(events("mysql-8.0.40-negative-time2.binlog"), "write_rows") == [["-507:48:27"]],
      "negative TIME2")
print("ok: -507:48:27")

# 9.6 GTID_TAGGED and the tagged PREVIOUS_GTIDS set.
evs = events("mysql-9.6.0-gtid-tagged.binlog")
sid = "55778904-0299-11f1-b1b8-4ef0c4956feb"
check([e["gtid_set"] for e in evs if e["type"] == "previous_gtids"] == [sid + ":1-13:mytag:1-2"],
      "9.6 previous gtids")
check([e["gtid"] for e in evs if e["type"] == "gtid"] == [sid + ":mytag:3"], "9.6 tagged gtid")
check(rows(evs, "write_rows") == [[3, 100, "250.00"]], "9.6 row")
print("ok: 9.6 GTID_TAGGED")

# 5.7.40 GTIDs.
evs = events("mysql-5.7.40-gtid-utf8mb4.binlog")
check(evs[1]["gtid_set"] == "58cf6502-63db-11ed-8079-0242ac110002:1-52", "5.7.40 previous gtids")
check([e["gtid"] for e in evs if e["type"] == "gtid"][0] == "58cf6502-63db-11ed-8079-0242ac110002:53",
      "5.7.40 first gtid")
print("ok: 5.7 GTIDs")

# Transaction payloads: inner events printed as if uncompressed.
evs = events("mysql-8.0.28-payload-update.binlog")
inner = [e["type"] for e in evs if e.get("in_payload")]
check(inner == ["query", "table_map", "update_rows", "xid"], "8.0.28 payload: %r" % inner)
u = rows(evs, "update_rows")[0]
check(u["before"][:3] == [1, "Once Upon a Time in the West", 1968] and u["before"] != u["after"],
      "8.0.28 update row")
evs = events("mysql-8.0.32-payload-insert.binlog")
check([e["type"] for e in evs if e.get("in_payload")] == ["query", "table_map", "write_rows", "xid"],
      "8.0.32 payload")
check(rows(evs, "write_rows") == [[1]], "8.0.32 row")
evs = events("mysql-8.0.31-gtid-payload-json.binlog")
check(any(e["type"] == "rows_query" and e.get("in_payload") for e in evs), "8.0.31 rows_query")
u = rows(evs, "update_rows")[0]
check(u["before"][9] == {"c": 1} and u["after"][10] == "product_3_value", "8.0.31 JSON row %r" % u)
print("ok: transaction payloads")

# Binary JSON with opaque values (the generating crate's assertions).
docs = [r[0] for r in rows(events("mysql-9.0.1-json-opaque.binlog"), "write_rows")]
check(docs == [{"a": "base64:type15:VQ=="}, {"b": "2012-03-18"},
               {"c": "2012-03-18 11:30:45.000000"}, {"c": "87:31:46.654321"}, {"d": 123.456},
               {"e": 9.0}, {"e": [0, 1, True, False]}, {"e": None}], "JSON opaque: %r" % docs)
print("ok: binary JSON opaque values")

# MINIMAL row image and metadata.
evs = events("mysql-8.0.40-minimal-metadata.binlog")
w = [e for e in evs if e["type"] == "write_rows"][0]
check(w["after_columns"] == [0, 2, 4] and w["rows"][0][4] == 3230202323, "minimal image %r" % w)
tm = [e for e in evs if e["type"] == "table_map"][0]
check(tm["columns"][2]["charset"] == 255, "minimal: column charset")
print("ok: minimal row image")
PY

# MariaDB's mariadb-binlog decodes the 5.x files too: same rows per table.
count_ours() {
	python3 -c '
import json, sys, collections
c = collections.Counter()
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["type"].endswith("_rows"):
        c[e["type"].split("_")[0] + " " + e["database"] + "." + e["table"]] += len(e["rows"])
for k in sorted(c): print(k, c[k])' "$1"
}
count_theirs() {
	mariadb-binlog --no-defaults -v --base64-output=decode-rows "$1" 2>/dev/null |
		sed -n 's/^### \(INSERT INTO\|UPDATE\|DELETE FROM\) `\([^`]*\)`\.`\([^`]*\)`.*/\1 \2.\3/p' |
		sed 's/^INSERT INTO/write/; s/^UPDATE/update/; s/^DELETE FROM/delete/' | sort | uniq -c |
		awk '{print $2, $3, $1}'
}
for f in mysql-5.5.27-sakila-load.binlog.gz mysql-5.7.21-crc32.binlog mysql-5.7.20-no-checksum.binlog \
	mysql-5.7.40-gtid-utf8mb4.binlog; do
	src=$BL/$f
	if [ "${f%.gz}" != "$f" ]; then
		gunzip -c "$src" >"$GW_TMP/plain.binlog"
		src=$GW_TMP/plain.binlog
	fi
	ours=$(count_ours "$GW_TMP/$f.jsonl")
	theirs=$(count_theirs "$src")
	[ -n "$theirs" ] || fail "$f: mariadb-binlog decoded no rows"
	assert_eq "$theirs" "$ours" "$f: rows per table, mariadb-binlog vs godwit"
	mariadb-binlog --no-defaults -v --base64-output=decode-rows "$src" >"$GW_TMP/v.txt" 2>/dev/null
	python3 "$GW_ROOT/tests/lib/binlog_vs_mariadb.py" "$GW_TMP/$f.jsonl" "$GW_TMP/v.txt" ||
		fail "$f: values differ from mariadb-binlog's"
done
echo "ok: 5.x rows per table and every value equal mariadb-binlog's"

# A .gz file decodes like the plain one.
gzip -c "$BL/mysql-5.7.21-crc32.binlog" >"$GW_TMP/c.binlog.gz"
"$GODWIT" binlog "$GW_TMP/c.binlog.gz" | sed 's/"file":"[^"]*",//' >"$GW_TMP/gz.out"
sed 's/"file":"[^"]*",//' "$GW_TMP/mysql-5.7.21-crc32.binlog.jsonl" >"$GW_TMP/plain.out"
cmp -s "$GW_TMP/gz.out" "$GW_TMP/plain.out" || fail "gzip file decodes differently"
echo "ok: gzip"

# PARTIAL_UPDATE_ROWS (JSON diffs) from MariaDB's test data (MySQL 8.0.40).
MDEV=/usr/share/mysql/mysql-test/std_data/mdev35643_mysql_80_binlog.000001
[ -f "$MDEV" ] || "$GW_ROOT/scripts/install-deps" >/dev/null 2>&1 || true
if [ -f "$MDEV" ]; then
	"$GODWIT" binlog "$MDEV" >"$GW_TMP/mdev.jsonl" || fail "mdev35643 binlog"
	python3 - "$GW_TMP/mdev.jsonl" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
w = [r for e in evs if e["type"] == "write_rows" and e.get("in_payload") for r in e["rows"]]
assert len(w) == 100 and w[0] == [1000, 0, "--0--" + "/" * 100 + "--"], w[:1]
u = [e for e in evs if e["type"] == "update_rows"]
assert len(u) == 1 and u[0]["partial_json"], u
r = u[0]["rows"][0]
assert r["before"][1] == {"a": "hulu", "b": "[zyzzy]" * 100, "c": "bulu"}, r["before"]
assert r["after"][1] == {"a": "hulu", "b": "oOo" * 50, "c": "bulu"}, r["after"]
PY
	echo "ok: PARTIAL_UPDATE_ROWS after image rebuilt"
else
	echo "SKIP: mariadb-test-data not installable here; PARTIAL_UPDATE_ROWS file check skipped"
fi

# Bad input: one clear line naming the file and offset, exit 1, no crash.
f=$BL/mysql-5.7.21-crc32.binlog
head -c 1000 "$f" >"$GW_TMP/trunc.binlog"
rc=0
"$GODWIT" binlog "$GW_TMP/trunc.binlog" >/dev/null 2>"$GW_TMP/err" || rc=$?
assert_eq 1 "$rc" "truncated file exit code"
assert_contains "$(cat "$GW_TMP/err")" "trunc.binlog: offset 944: event truncated (56 of 89 bytes)" "truncated file message"
cp "$f" "$GW_TMP/flip.binlog"
chmod u+w "$GW_TMP/flip.binlog"
printf '\x55' | dd of="$GW_TMP/flip.binlog" bs=1 seek=400 conv=notrunc 2>/dev/null
rc=0
"$GODWIT" binlog "$GW_TMP/flip.binlog" >/dev/null 2>"$GW_TMP/err" || rc=$?
assert_eq 1 "$rc" "corrupt file exit code"
assert_contains "$(cat "$GW_TMP/err")" "flip.binlog: offset 384: write_rows event: checksum mismatch" \
	"corrupt file message"
head -c 3000 /dev/urandom >"$GW_TMP/garbage.binlog"
rc=0
"$GODWIT" binlog "$GW_TMP/garbage.binlog" >/dev/null 2>"$GW_TMP/err" || rc=$?
assert_eq 1 "$rc" "garbage exit code"
assert_contains "$(cat "$GW_TMP/err")" "garbage.binlog: offset 0: not a binlog file" "garbage message"
head -c 300000 "$BL/mysql-5.5.27-sakila-load.binlog.gz" >"$GW_TMP/cut.binlog.gz"
rc=0
"$GODWIT" binlog "$GW_TMP/cut.binlog.gz" >/dev/null 2>"$GW_TMP/err" || rc=$?
assert_eq 1 "$rc" "cut gzip exit code"
assert_contains "$(cat "$GW_TMP/err")" "cut.binlog.gz: offset" "cut gzip message"
# Every prefix of a small file: exit 0 or 1 with a message, never a crash.
f=$BL/mysql-8.0.31-gtid-payload-json.binlog
size=$(stat -c %s "$f")
for n in $(seq 0 7 "$size"); do
	head -c "$n" "$f" >"$GW_TMP/p.binlog"
	rc=0
	"$GODWIT" binlog "$GW_TMP/p.binlog" >/dev/null 2>"$GW_TMP/err" || rc=$?
	[ "$rc" -le 1 ] || fail "prefix $n: exit $rc"
	[ "$rc" -eq 0 ] || grep -q "p.binlog: offset" "$GW_TMP/err" || fail "prefix $n: $(cat "$GW_TMP/err")"
done
# Several files: each decoded, the bad one reported, exit 1.
rc=0
"$GODWIT" binlog "$BL/mysql-8.2.0-int-widths.binlog" "$GW_TMP/garbage.binlog" \
	"$BL/mysql-8.0.40-negative-time2.binlog" >"$GW_TMP/multi" 2>"$GW_TMP/err" || rc=$?
assert_eq 1 "$rc" "several files, one bad"
assert_contains "$(cat "$GW_TMP/multi")" '"rows":[["-507:48:27"]]' "file after the bad one decoded"
echo "ok: bad input"
