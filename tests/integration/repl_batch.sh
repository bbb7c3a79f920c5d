# The applier's batching keeps the source's effect: a backlog of many small
# transactions, applied as few grouped statements, where the order of the
# changes matters:
#   n: primary key only (changes merged by key): key shifts, delete then
#      insert of one key, insert-update-delete in one transaction;
#   u: a second unique key (changes merged in segments without a repeated
#      unique value): a code moved from one row to another, a row deleted
#      and its code reused, a row changed and later given the code another
#      row gave up, two rows swapping codes, NULL codes;
#   s: a case-insensitive, pad-space string key (merged by the key's
#      bytes, which the destination compares by collation): 'a' deleted and
#      'A' inserted, 'B' written then 'b' deleted, 'd' -> 'D' -> 'd',
#      'F' inserted, deleted, 'f' inserted, 'e' -> 'e ';
#   f: renamed, a column subset with a renamed column, and a `where`: rows
#      moving into and out of the filter, a key changed inside it.
# Then the same data on both sides, and far fewer statements than rows.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; USE app;
	CREATE TABLE n (id INT PRIMARY KEY, v INT, KEY (v));
	CREATE TABLE u (id INT PRIMARY KEY, code INT, v INT, UNIQUE KEY (code));
	CREATE TABLE s (name VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT);
	INSERT INTO n SELECT seq, seq FROM seq_1_to_100;
	INSERT INTO u SELECT seq, seq, 0 FROM seq_1_to_100;
	INSERT INTO s VALUES ('a', 1), ('c', 3), ('d', 4), ('e', 5);
	CREATE DATABASE fdb; CREATE TABLE fdb.f (id INT PRIMARY KEY, cat INT, secret VARCHAR(10), v INT);
	INSERT INTO fdb.f SELECT seq, seq % 2, 'x', seq FROM seq_1_to_20"
copy_spec "$GW_TMP/m.yaml" batch "schema, full, incremental" '    - database: app
      renameTo: app2
    - database: fdb
      tables:
        - name: f
          renameTo: f2
          columns: [id, cat, v]
          renameColumns: {v: val}
          where: "cat = 1"'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done

# The backlog, written while no applier runs, so that it arrives grouped.
{
	for i in $(seq 1 300); do
		echo "INSERT INTO n VALUES ($((1000 + i)), $i);"
		echo "UPDATE n SET v = v + 1 WHERE id = $((i % 100 + 1));"
	done
	echo "UPDATE n SET id = id + 1 ORDER BY id DESC;"       # 2->3 after 1->2 ... in one statement
	echo "START TRANSACTION; DELETE FROM n WHERE id = 50; INSERT INTO n VALUES (50, -50); COMMIT;"
	echo "START TRANSACTION; INSERT INTO n VALUES (7777, 1); UPDATE n SET v = 2 WHERE id = 7777;
		DELETE FROM n WHERE id = 7777; COMMIT;"
	echo "DELETE FROM n WHERE id = 1001; INSERT INTO n VALUES (1001, 9);"
	for i in $(seq 1 50); do
		# code i moves to a new row; the old row takes a code of its own
		echo "UPDATE u SET code = code + 1000 WHERE id = $i;"
		echo "INSERT INTO u VALUES ($((500 + i)), $i, $i);"
	done
	echo "DELETE FROM u WHERE id = 60; INSERT INTO u VALUES (600, 60, 1);"
	echo "UPDATE u SET code = -code WHERE id BETWEEN 70 AND 80;"
	echo "UPDATE u SET code = -code WHERE id BETWEEN 70 AND 80;"
	# 91 is changed first, then takes the code 90 gives up: merged by
	# key, 91's upsert would come before 90's and collide
	echo "UPDATE u SET v = v + 1 WHERE id = 91;"
	echo "UPDATE u SET code = 1090 WHERE id = 90;"
	echo "UPDATE u SET code = 90 WHERE id = 91;"
	# two rows swap codes through NULL; NULLs in several rows; a code
	# reused by a new row after its holder's delete
	echo "UPDATE u SET code = NULL WHERE id = 95; UPDATE u SET code = 95 WHERE id = 96;"
	echo "UPDATE u SET code = 96 WHERE id = 95;"
	echo "UPDATE u SET code = NULL WHERE id BETWEEN 97 AND 99;"
	echo "DELETE FROM u WHERE id = 100; INSERT INTO u VALUES (700, 100, 0);"
	echo "DELETE FROM s WHERE name = 'a'; INSERT INTO s VALUES ('A', 2);"
	echo "INSERT INTO s VALUES ('B', 5); DELETE FROM s WHERE name = 'b';"
	echo "UPDATE s SET name = 'C' WHERE name = 'c';"
	echo "UPDATE s SET name = 'D' WHERE name = 'd'; UPDATE s SET name = 'd', v = 44 WHERE name = 'D';"
	echo "INSERT INTO s VALUES ('F', 6); DELETE FROM s WHERE name = 'f'; INSERT INTO s VALUES ('f', 66);"
	echo "UPDATE s SET name = 'e ' WHERE name = 'e';"
	echo "UPDATE fdb.f SET cat = 1 - cat WHERE id <= 6;"        # in and out
	echo "UPDATE fdb.f SET id = id + 100 WHERE id IN (7, 8);"   # a key changed, in and out of the filter
	echo "UPDATE fdb.f SET v = -v, secret = 'y' WHERE id > 10;"
	echo "INSERT INTO fdb.f VALUES (50, 1, 'z', 50), (51, 0, 'z', 51);"
	echo "START TRANSACTION; UPDATE fdb.f SET cat = 0 WHERE id = 50; UPDATE fdb.f SET cat = 1 WHERE id = 50; COMMIT;"
	echo "DELETE FROM fdb.f WHERE id IN (11, 12);"
	echo "UPDATE fdb.f SET cat = 1 WHERE id = 51; UPDATE fdb.f SET cat = 0 WHERE id = 13;"
} | mdb src app
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")

stmts() { mdb_q dst "SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS
	WHERE VARIABLE_NAME IN ('COM_INSERT', 'COM_DELETE', 'COM_UPDATE', 'COM_REPLACE')"; }
before=$(stmts)
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'batch'"; }
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(pos)" = "$want" ]; }
wait_for "the backlog applied" 120 at_end
assert_eq "$want" "$(pos)" "position after the backlog ($(tail -3 "$GW_TMP/inc.out"))"
touch "$GODWIT_STOP_FILE"
wait "$inc" || { cat "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
sent=$(($(stmts) - before))

fp() { fingerprint "$1" "SELECT * FROM $2 ORDER BY 1"; }
for t in n u; do
	assert_eq "$(fp src "app.$t")" "$(fp dst "app2.$t")" "table $t equal"
done
sq="SELECT HEX(name), v FROM %s.s ORDER BY HEX(name)" # the keys' exact bytes
# shellcheck disable=SC2059
assert_eq "$(mdb_q src "$(printf "$sq" app)")" "$(mdb_q dst "$(printf "$sq" app2)")" "table s equal"
assert_eq "$(fingerprint src "SELECT id, cat, v FROM fdb.f WHERE cat = 1 ORDER BY id")" \
	"$(fingerprint dst "SELECT id, cat, val FROM fdb.f2 ORDER BY id")" "filtered table equal to its filter"
assert_eq "A" "$(mdb_q dst "SELECT name FROM app2.s WHERE name = 'a'" | LC_ALL=C tr -d '\n')" \
	"the key's letter case as the source left it"
assert_eq "" "$(mdb_q dst "SELECT name FROM app2.s WHERE name = 'b'")" "'B' deleted as 'b'"
# ~1000 row changes in ~760 source transactions: a row at a time would be
# as many statements.
[ "$sent" -lt 100 ] || fail "backlog applied as $sent statements: not batched"
echo ok
