# godwit verify: equal after a clean copy (exit 0), also for a key whose
# destination collation orders differently; a row changed, one deleted and
# one added behind godwit's back on the destination are each found and
# named (exit 1); renames, subsets and filters are honoured.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE v; USE v; CREATE TABLE a (id INT PRIMARY KEY, s VARCHAR(20), n INT NULL);
	INSERT INTO a SELECT seq, CONCAT('s', seq), IF(seq % 10 = 0, NULL, seq) FROM seq_1_to_9000;
	CREATE TABLE o (k VARCHAR(10), m INT, amount DECIMAL(8,2), secret INT, PRIMARY KEY (k, m));
	INSERT INTO o SELECT CONCAT('k', seq % 5), seq, seq / 4, 7 FROM seq_1_to_3000;
	CREATE TABLE c (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT) DEFAULT CHARSET=utf8mb4;
	INSERT INTO c SELECT CONCAT(IF(seq % 2, 'a', 'B'), seq), seq FROM seq_1_to_5000"
mdb_q dst "CREATE DATABASE v2; USE v2; CREATE TABLE a (id INT PRIMARY KEY, s VARCHAR(20), n INT NULL);
	CREATE TABLE o2 (k VARCHAR(10), m INT, total DECIMAL(8,2), PRIMARY KEY (k, m));
	CREATE TABLE c (k VARCHAR(20) COLLATE utf8mb4_bin PRIMARY KEY, n INT) DEFAULT CHARSET=utf8mb4"
copy_spec "$GW_TMP/m.yaml" ver "schema, full" '    - database: v
      renameTo: v2
      tables:
        - name: a
        - name: c
        - name: o
          renameTo: o2
          columns: [k, m, amount]
          renameColumns: {amount: total}
          where: "m > 100"'
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out" 2>&1 || { cat "$GW_TMP/out"; fail "copy"; }
out=$("$GODWIT" verify "$GW_TMP/m.yaml" --state-dir "$GW_TMP/state") || fail "verify on a clean copy: $out"
assert_contains "$out" "equal: true" "clean copy is equal"
# c's key sorts differently on the destination (utf8mb4_bin: 'B' < 'a'):
# chunks are cut by the source's collation on both sides, so no false alarm.
assert_not_contains "$out" "v.c" "a key collated differently on the destination is no difference"
[ -s "$GW_TMP/state/tasks/ver/verify.yaml" ] || fail "verify.yaml written"

mdb_q dst "UPDATE v2.a SET s = 'changed' WHERE id = 4321; DELETE FROM v2.a WHERE id = 77;
	INSERT INTO v2.a VALUES (99999, 'extra', 1); UPDATE v2.a SET n = NULL WHERE id = 5;
	UPDATE v2.o2 SET total = total + 1 WHERE k = 'k3' AND m = 2003"
set +e
out=$("$GODWIT" verify "$GW_TMP/m.yaml")
rc=$?
set -e
assert_eq "1" "$rc" "verify exit code when data differs"
assert_contains "$out" "equal: false" "difference found"
assert_contains "$out" 'key: "4321", row: differs' "changed row named"
assert_contains "$out" 'key: "77", row: missing on the destination' "deleted row named"
assert_contains "$out" 'key: "99999", row: only on the destination' "extra row named"
assert_contains "$out" 'key: "5", row: differs' "NULL vs value"
assert_contains "$out" 'key: "k3, 2003", row: differs' "renamed, subset table"
assert_not_contains "$out" "table: v.o
    differences:
      - {key: \"k0" "filtered rows are not reported"
echo ok
