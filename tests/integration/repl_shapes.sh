# The shape matrix: every table shape through the precheck, the full copy
# (killed once and resumed) and the incremental migration, with writes on
# the source all along. What the precheck passes ends identical to the
# source; what it refuses is refused, with the reason, by the copy too.
#   pk     an INT primary key
#   cpk    a composite primary key (VARCHAR, INT), keys changed
#   uq     only a UNIQUE key on a NOT NULL column: it addresses the rows
#   nuq    only a UNIQUE key on a NULL-able column: no key, rows by image
#   nokey  no key at all: duplicate rows, NULLs, a FLOAT
#   spk    a CHAR(36) UUID primary key
#   sub    a column list without the primary key column: refused
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE sh; USE sh;
	CREATE TABLE pk (id INT PRIMARY KEY, v INT, s VARCHAR(40));
	CREATE TABLE cpk (a VARCHAR(10), b INT, v INT, PRIMARY KEY (a, b));
	CREATE TABLE uq (code VARCHAR(20) NOT NULL, v INT, UNIQUE KEY (code));
	CREATE TABLE nuq (id INT NULL, v INT, UNIQUE KEY (id));
	CREATE TABLE nokey (a INT, b VARCHAR(40), f FLOAT);
	CREATE TABLE spk (id CHAR(36) PRIMARY KEY, v INT);
	CREATE TABLE sub (id INT PRIMARY KEY, v INT, w INT);
	INSERT INTO pk SELECT seq, seq, 's' FROM seq_1_to_3000;
	INSERT INTO cpk SELECT CONCAT('g', seq % 7), seq, seq FROM seq_1_to_3000;
	INSERT INTO uq SELECT CONCAT('c', seq), seq FROM seq_1_to_3000;
	INSERT INTO nuq SELECT IF(seq % 5 = 0, NULL, seq), seq FROM seq_1_to_3000;
	INSERT INTO nokey SELECT seq % 500, CONCAT('r', seq % 500), (seq % 500) / 7 FROM seq_1_to_20000;
	INSERT INTO nokey VALUES (NULL, NULL, NULL), (NULL, NULL, NULL);
	INSERT INTO spk SELECT UUID(), seq FROM seq_1_to_3000;
	INSERT INTO sub SELECT seq, seq, seq FROM seq_1_to_10"
tables="pk cpk uq nuq nokey spk"
list() {
	local t
	for t in $tables; do printf '        - name: %s\n' "$t"; done
}
copy_spec "$GW_TMP/all.yaml" shapes-all "schema, full, incremental" "    - database: sh
      tables:
$(list)
        - name: sub
          columns: [v, w]"
copy_spec "$GW_TMP/m.yaml" shapes "schema, full, incremental" "    - database: sh
      tables:
$(list)" "  parallelism: 2
  throttle: {rowsPerSecond: 8000}"

# --- the precheck's verdict, table by table
rc=0
out=$("$GODWIT" precheck "$GW_TMP/all.yaml" 2>&1) || rc=$?
assert_eq 1 "$rc" "precheck with the column list that leaves the key out: $out"
grep -Eq "^primary-keys +fail +the column list of sh.sub leaves out primary key column id" <<<"$out" ||
	fail "sub refused with the reason: $out"
for t in nuq nokey; do
	grep -Eq "^primary-keys +warn +table sh.$t has no primary key, nor a unique key on NOT NULL columns" <<<"$out" ||
		fail "$t warned: $out"
done
for t in pk cpk uq spk; do
	assert_not_contains "$out" "sh.$t " "$t passes"
done
# the copy refuses what the precheck refuses, for the same reason
rc=0
out=$("$GODWIT" _action "$GW_TMP/all.yaml" full 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "the copy of sub ran"
assert_contains "$out" "table sh.sub: the column list leaves out key column id" "the copy's reason"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sh'")" "nothing copied"
out=$("$GODWIT" precheck "$GW_TMP/m.yaml" 2>&1) || fail "precheck of the passing shapes: $out"

# --- writes on every table while everything runs: keys changed, rows
# deleted and re-inserted, duplicates made and removed one at a time
writer() {
	local i r r2
	for ((i = 0; ; i++)); do
		[ -f "$GW_TMP/stop-writer" ] && break
		r=$((RANDOM % 4000 + 1))
		r2=$((RANDOM % 4000 + 1))
		cat <<SQL
INSERT INTO pk VALUES ($r, $r, 'n') ON DUPLICATE KEY UPDATE v = v + 1, s = CONCAT(s, 'u');
DELETE FROM pk WHERE id = $r2;
INSERT IGNORE INTO cpk VALUES (CONCAT('g', $r % 7), $r, $i);
UPDATE IGNORE cpk SET b = b + 10000 WHERE a = CONCAT('g', $r2 % 7) AND b = $r2;
UPDATE cpk SET v = v + 1 WHERE a = CONCAT('g', $r % 7) AND b = $r;
INSERT IGNORE INTO uq VALUES (CONCAT('c', $r), $i);
UPDATE IGNORE uq SET code = CONCAT('c', $r2) WHERE code = CONCAT('c', $r);
DELETE FROM uq WHERE code = CONCAT('c', $((r2 / 2)));
INSERT IGNORE INTO nuq VALUES (IF($r % 3 = 0, NULL, $r), $i);
UPDATE nuq SET v = v + 1 WHERE id IS NULL LIMIT 1;
DELETE FROM nuq WHERE id IS NULL LIMIT 1;
UPDATE IGNORE nuq SET id = $r2 WHERE id = $r;
INSERT INTO nokey VALUES ($r % 500, CONCAT('r', $r % 500), ($r % 500) / 7);
INSERT INTO nokey SELECT a, b, f FROM nokey WHERE a = $r2 % 500 LIMIT 1;
DELETE FROM nokey WHERE a = $r2 % 500 LIMIT 1;
UPDATE nokey SET b = CONCAT(b, 'y'), f = f * 2 WHERE a = $r % 500 LIMIT 1;
INSERT INTO nokey VALUES (NULL, NULL, NULL);
DELETE FROM nokey WHERE a IS NULL LIMIT 1;
INSERT INTO spk VALUES (UUID(), $i);
UPDATE spk SET v = v + 1 WHERE id > '$(printf %x $((r % 16)))' ORDER BY id LIMIT 1;
DELETE FROM spk WHERE id > '$(printf %x $((r2 % 16)))' ORDER BY id LIMIT 1;
SQL
	done
}
"$GODWIT" _action "$GW_TMP/m.yaml" schema >"$GW_TMP/schema.out" 2>&1 || { cat "$GW_TMP/schema.out"; fail schema; }
writer | mdb src --force sh >"$GW_TMP/writer.out" 2>&1 &
writer_pid=$!
source_seq() { mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos" | awk -F- '{print $3}'; }
seq0=$(source_seq)
source_past() { [ "$(source_seq)" -gt "$1" ]; }
wait_for "writes going" 30 source_past $((seq0 + 200))

# the full copy, killed once the keyless table is partly copied, then again
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full1.out" 2>&1 &
full=$!
nokey_rows() { mdb_q dst 'SELECT COUNT(*) FROM sh.nokey' 2>/dev/null || echo 0; }
nokey_copying() { [ "$(nokey_rows)" -ge 2000 ] || ! kill -0 "$full"; }
wait_for "the keyless table being copied" 60 nokey_copying
kill -9 "$full" 2>/dev/null || fail "the copy ended before it could be killed: $(cat "$GW_TMP/full1.out")"
wait "$full" 2>/dev/null || true
[ "$(nokey_rows)" -lt 20002 ] || fail "the keyless table was copied whole before the kill"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full2.out" 2>&1 || { cat "$GW_TMP/full2.out"; fail "full copy"; }
assert_contains "$(cat "$GW_TMP/full2.out")" "full copy: sh.nokey has no key: copying it again from the start" "the restart said in the log"
assert_contains "$(cat "$GW_TMP/full2.out")" "sh.nokey has no key: copied from a snapshot at" "the snapshot said in the log"
for t in nuq nokey; do
	[ -n "$(mdb_q dst "SELECT snap_file FROM godwit_meta.copy_table WHERE task = 'shapes' AND tbl = '$t'")" ] ||
		fail "no snapshot position recorded for $t"
done

# the incremental migration, while the writes go on
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
applied_seq() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'shapes'" | awk -F- '{print $3}'; }
start=$(applied_seq)
applying() { [ "$(applied_seq)" -gt $((start + 500)) ] || ! kill -0 "$inc"; }
wait_for "changes applied while the writes go on" 60 applying
kill -0 "$inc" 2>/dev/null || { cat "$GW_TMP/inc.out"; fail "the incremental migration ended"; }
touch "$GW_TMP/stop-writer"
wait "$writer_pid" || true
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'shapes'")" = "$want" ]; }
wait_for "caught up" 120 at_end
touch "$GODWIT_STOP_FILE"
wait "$inc" || { cat "$GW_TMP/inc.out"; fail "incremental migration"; }
[ "$(source_seq)" -gt $((seq0 + 3000)) ] || fail "too few writes to mean anything ($seq0 .. $(source_seq))"

# --- identical: every table, duplicates counted (ordered by every column)
for t in $tables; do
	cols=$(mdb_q src "SELECT GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`') ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'sh' AND TABLE_NAME = '$t'")
	q=$(hexsel src sh "$t" "$cols")
	assert_eq "$(mdb_q src "SELECT COUNT(*) FROM sh.$t")" "$(mdb_q dst "SELECT COUNT(*) FROM sh.$t")" "rows of $t"
	assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "table $t identical"
done
[ "$(mdb_q src "SELECT COUNT(*) - COUNT(DISTINCT a, b, f) FROM sh.nokey")" -gt 0 ] || fail "no duplicate rows left to compare"
out=$("$GODWIT" verify "$GW_TMP/m.yaml") || fail "verify: $out"
assert_contains "$out" "equal: true" "verify agrees"
# and verify sees a duplicate row gone missing on the destination
mdb_q dst "DELETE FROM sh.nokey WHERE a = 7 LIMIT 1"
rc=0
out=$("$GODWIT" verify "$GW_TMP/m.yaml") || rc=$?
assert_eq 1 "$rc" "verify after a duplicate was deleted on the destination"
assert_contains "$out" "table: sh.nokey" "the keyless table named"
assert_contains "$out" ", destination: " "counts of the row on both sides"
echo ok
