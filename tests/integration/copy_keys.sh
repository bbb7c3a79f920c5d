# Chunk keys: a case-insensitive VARCHAR key ('a' < 'B' < 'c' by the
# collation, not by bytes) with trailing spaces, a composite key, a table
# without a primary key walked by its unique NOT NULL key (not by a
# NULL-able unique key, whose NULL rows pagination would skip), and a big
# integer-keyed table cut into key ranges shared by the workers, whose
# secondary index is built after its copy, and big tables keyed by a UUID
# string and by a composite string key, cut into ranges by sampled keys.
# Every table ends identical.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE k; USE k;
CREATE TABLE ci (s VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT) DEFAULT CHARSET=utf8mb4;
INSERT INTO ci SELECT CONCAT(IF(seq % 2, 'k', 'K'), LPAD(seq, 5, '0'), IF(seq % 3 = 0, '  ', '')), seq FROM seq_1_to_4000;
INSERT INTO ci VALUES ('a', -1), ('B', -2), ('c ', -3), ('é', -4), ('Z', -5), ('_', -6);
CREATE TABLE comp (a VARCHAR(10) COLLATE utf8mb4_bin, b INT, c DATETIME(6), v VARCHAR(20), PRIMARY KEY (a, b, c));
INSERT INTO comp SELECT CONCAT('g', seq % 7), seq % 50, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, seq FROM seq_1_to_6000;
CREATE TABLE uk (id INT NULL, code VARCHAR(20) NOT NULL, v INT, UNIQUE KEY (id), UNIQUE KEY (code));
INSERT INTO uk SELECT IF(seq % 4 = 0, NULL, seq), CONCAT('c', seq), seq FROM seq_1_to_5000;
CREATE TABLE big (id BIGINT UNSIGNED PRIMARY KEY, k INT NOT NULL, pad CHAR(30) NOT NULL, KEY k_idx (k));
INSERT INTO big SELECT seq * 3, seq % 1000, 'p' FROM seq_1_to_150000;
CREATE TABLE uu (id CHAR(36) PRIMARY KEY, n INT) DEFAULT CHARSET=utf8mb4;
INSERT INTO uu SELECT UUID(), seq FROM seq_1_to_120000;
CREATE TABLE cs (g VARCHAR(10) COLLATE utf8mb4_general_ci, n INT, v INT, PRIMARY KEY (g, n)) DEFAULT CHARSET=utf8mb4;
INSERT INTO cs SELECT CONCAT(IF(seq % 2, 'k', 'K'), seq % 10, IF(seq % 3, '', ' ')), seq, seq FROM seq_1_to_120000;
ANALYZE TABLE big, uu, cs;" >/dev/null

copy_spec "$GW_TMP/m.yaml" keys "schema, full" '    - database: k' "  parallelism: 2"
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" $a >"$GW_TMP/out.$a" 2>&1 || { cat "$GW_TMP/out.$a"; fail "$a"; }
done

for t in ci comp uk big uu cs; do
	q=$(hexsel src k $t "$(mdb_q src "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='k' AND TABLE_NAME='$t'")")
	assert_eq "$(mdb_q src "SELECT COUNT(*) FROM k.$t")" "$(mdb_q dst "SELECT COUNT(*) FROM k.$t")" "rows of $t"
	assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "table $t identical"
done
# Trailing spaces and case kept byte for byte.
assert_eq "1" "$(mdb_q dst "SELECT COUNT(*) FROM k.ci WHERE BINARY s = 'K00006  '")" "trailing spaces kept"
assert_eq "1250" "$(mdb_q dst 'SELECT COUNT(*) FROM k.uk WHERE id IS NULL')" "rows with a NULL unique key copied"
# uk was walked by code (its last key is a code), big in several ranges.
assert_contains "$(mdb_q dst "SELECT HEX(last_key) FROM godwit_meta.copy_state WHERE task='keys' AND tbl='uk'")" \
	"$(mdb_q dst "SELECT HEX('c')")" "uk walked by its NOT NULL unique key"
parts=$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.copy_state WHERE task='keys' AND tbl='big' AND done=1")
[ "$parts" -ge 2 ] || fail "the big table was copied in one part ($parts)"
assert_eq "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.copy_state WHERE task='keys' AND tbl='big'")" "$parts" "every part done"
# Its parts cover the key space without overlap: the rows copied add up.
assert_eq "150000" "$(mdb_q dst "SELECT SUM(rows_copied) FROM godwit_meta.copy_state WHERE task='keys' AND tbl='big'")" "parts add up"
# Big tables keyed by a UUID string and by a composite, case-insensitive
# string key are cut into ranges too (sampled boundaries), which cover
# the table without a gap or an overlap.
for t in uu cs; do
	parts=$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.copy_state WHERE task='keys' AND tbl='$t' AND done=1")
	[ "$parts" -ge 2 ] || fail "$t was copied in one part ($parts)"
	assert_eq "120000" "$(mdb_q dst "SELECT SUM(rows_copied) FROM godwit_meta.copy_state WHERE task='keys' AND tbl='$t'")" "parts of $t add up"
done
# The deferred secondary index is back, as on the source.
assert_eq "$(mdb_q src 'SHOW CREATE TABLE k.big' | cut -f2)" "$(mdb_q dst 'SHOW CREATE TABLE k.big' | cut -f2)" "big's definition with its index"
assert_eq "1" "$(mdb_q dst "SELECT done FROM godwit_meta.copy_table WHERE task='keys' AND tbl='big'")" "table done"
out=$("$GODWIT" verify "$GW_TMP/m.yaml") || fail "verify: $out"
assert_contains "$out" "equal: true" "verify agrees"
echo ok
