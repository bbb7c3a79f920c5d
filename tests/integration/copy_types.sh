# The full copy moves every column type bit-exactly, with composite and
# varchar keys, a keyless table, column subsets, renames and filters; the
# hand-off position is recorded before the copy.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
DDL="CREATE TABLE t (
  id INT PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(30,10), f FLOAT, d DOUBLE, b BIT(13), e ENUM('a','b','c'), s SET('x','y','z'), y YEAR,
  dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(2) NULL,
  c CHAR(5), vc VARCHAR(100), l1 VARCHAR(20) CHARACTER SET latin1, tx TEXT,
  bn BINARY(4), vb VARBINARY(10), bl BLOB, j JSON, g GEOMETRY
) DEFAULT CHARSET=utf8mb4"
for s in src dst; do mdb_q $s "SET SESSION sql_mode=''; CREATE DATABASE db1; USE db1; $DDL;
	CREATE TABLE ck (a VARCHAR(20) COLLATE utf8mb4_general_ci, b INT, v INT, PRIMARY KEY (a, b));
	CREATE TABLE nokey (a INT, b VARCHAR(10));"; done
mdb_q dst "CREATE DATABASE db2; CREATE TABLE db2.orders2 (id INT PRIMARY KEY, amount DECIMAL(10,2), note VARCHAR(20))"
mdb_q src "CREATE DATABASE db3; USE db3; CREATE TABLE db3.orders (id INT PRIMARY KEY, total DECIMAL(10,2), note VARCHAR(20), secret VARCHAR(20));
	INSERT INTO db3.orders SELECT seq, seq * 1.5, CONCAT('n', seq), 'hidden' FROM seq_1_to_500"
mdb_q src "CREATE TABLE db1.tmp_scratch (id INT PRIMARY KEY); INSERT INTO db1.tmp_scratch VALUES (1)"
mdb_q src "SET SESSION sql_mode=''; USE db1;
INSERT INTO t VALUES
 (1, -128, 255, -32768, 16777215, -9223372036854775808, 18446744073709551615,
  '-12345678901234567890.0123456789', 3.14159, 2.718281828459045, b'1010101010101', 'b', 'x,z', 1901,
  '0000-00-00', '-838:59:59.999', '2024-02-29 13:04:05.250000', '2038-01-19 03:14:07.99',
  'ab', 'héllo wörld 😀', _latin1 0xe9e8, REPEAT('long text ', 200),
  0x0102, 0x00ff00, 0xdeadbeef00, '{\"a\": [1, 2.5, \"x\"], \"b\": null}', ST_GeomFromText('POINT(1 2)')),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'0', 'a', '', 0, '2024-01-01', '00:00:00', '1000-01-01 00:00:00', NULL,
  '', '', '', '', '', '', '', '[]', ST_GeomFromText('LINESTRING(0 0, 1 1)')),
 (4, 127, 1, 1, 1, 9223372036854775807, 1, '0.0000000001', -1.5e-30, -1.7976931348623157e308, b'1111111111111', 'c', 'x,y,z', 2155,
  '9999-12-31', '838:59:59.000', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00', 'a  b', 'tab\there\nnewline\\ back', _latin1 0x00ff,
  CONCAT('nul', CHAR(0), 'byte'), 0x00000000, 0x5c0a09, 0x00, '\"str\"', ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'));
INSERT INTO t (id, f, d) VALUES (5, 1/3, 1/3), (6, 16777217, -0.0), (7, 44.571428571, 1e-320);
INSERT INTO ck SELECT CONCAT(CHAR(65 + seq % 26), seq DIV 26), seq % 7, seq FROM seq_1_to_3000;
INSERT INTO ck VALUES ('a', 1, -1), ('A ', 2, -2), ('b', 1, -3);
INSERT INTO nokey SELECT seq, CONCAT('r', seq) FROM seq_1_to_1000;
INSERT INTO nokey VALUES (1, 'r1'), (NULL, NULL);"

copy_spec "$GW_TMP/m.yaml" types "schema, full, incremental" '    - database: db1
      excludeTables: [tmp_*]
    - database: db3
      renameTo: db2
      tables:
        - name: orders
          renameTo: orders2
          columns: [id, total, note]
          renameColumns: {total: amount}
          where: "id % 2 = 0"' "  parallelism: 3"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out" 2>&1 || { cat "$GW_TMP/out"; fail "full copy"; }
assert_contains "$(cat "$GW_TMP/out")" "result: ok" "full copy result"

for tbl in t ck; do
	q=$(hexsel src db1 $tbl "1")
	q=$(hexsel src db1 $tbl "$(mdb_q src "SELECT GROUP_CONCAT(COLUMN_NAME) FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA='db1' AND TABLE_NAME='$tbl' AND CONSTRAINT_NAME='PRIMARY'")")
	assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "table $tbl identical"
done
# HEX() of a FLOAT is of an integer: the floats as the doubles they are
# (the text protocol writes a FLOAT with 6 digits: 16777216 as 16777200)
fq="SELECT id, CONCAT(f * 1E0), CONCAT(d * 1E0) FROM db1.t ORDER BY id"
assert_eq "$(mdb_q src "$fq")" "$(mdb_q dst "$fq")" "floats bit-exact"
assert_eq "16777216" "$(mdb_q dst "SELECT f * 1E0 FROM db1.t WHERE id = 6")" "a FLOAT's every digit"
q=$(hexsel src db1 nokey "a, b")
assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "keyless table identical (duplicates kept)"
assert_eq "3003" "$(mdb_q dst 'SELECT COUNT(*) FROM db1.ck')" "composite varchar key: every row"
assert_eq "250" "$(mdb_q dst 'SELECT COUNT(*) FROM db2.orders2')" "filter applied"
assert_eq "$(mdb_q src 'SELECT SUM(total) FROM db3.orders WHERE id % 2 = 0')" \
	"$(mdb_q dst 'SELECT SUM(amount) FROM db2.orders2')" "renamed column copied"
assert_eq "0" "$(mdb_q dst 'SELECT COUNT(*) FROM db2.orders2 WHERE note IS NULL')" "subset column copied"
mdb_q src "CREATE TABLE db1.tmp_x (id INT PRIMARY KEY)"

assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='db1' AND TABLE_NAME LIKE 'tmp%'")" "excluded tables not created"
# The hand-off position was recorded, and the source's binlog had it.
pos=$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task='types'")
[ -n "$pos" ] || fail "hand-off position recorded"
assert_eq "1" "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.copy_state WHERE task='types' AND tbl='t' AND done=1")" "checkpoint done"
# A second run copies nothing again and changes nothing.
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out2" 2>&1 || { cat "$GW_TMP/out2"; fail "second run"; }
q=$(hexsel src db1 nokey "a, b")
assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "second run changes nothing"
assert_eq "$pos" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task='types'")" "position kept"

# A destination that refuses LOAD DATA LOCAL INFILE gets INSERTs: the same bytes.
mdb_start dst2 --local-infile=0
mdb_q dst2 "SET SESSION sql_mode=''; CREATE DATABASE db1; USE db1; $DDL;
	CREATE TABLE ck (a VARCHAR(20) COLLATE utf8mb4_general_ci, b INT, v INT, PRIMARY KEY (a, b));
	CREATE TABLE nokey (a INT, b VARCHAR(10));"
dst_PORT=$dst2_PORT copy_spec "$GW_TMP/m2.yaml" types2 "schema, full" '    - database: db1
      excludeTables: [tmp_*]' "  parallelism: 2"
"$GODWIT" _action "$GW_TMP/m2.yaml" full >"$GW_TMP/out3" 2>&1 || { cat "$GW_TMP/out3"; fail "copy with INSERTs"; }
assert_eq "0" "$(mdb_q dst2 'SELECT @@GLOBAL.local_infile')" "dst2 refuses LOCAL INFILE"
for tbl in t ck nokey; do
	q=$(hexsel src db1 $tbl "1, 2")
	assert_eq "$(fingerprint src "$q")" "$(fingerprint dst2 "$q")" "table $tbl identical through INSERTs"
done
assert_eq "$(mdb_q src "$fq")" "$(mdb_q dst2 "$fq")" "floats bit-exact through INSERTs"
echo ok
