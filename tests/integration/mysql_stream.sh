# The incremental migration from a MySQL source: the MySQL double
# (tests/mysqld) serves binlog files written by real MySQL servers, byte
# for byte, as a primary streaming them (the file held back, then released
# while godwit streams), and godwit applies them to a real MariaDB. Each
# fixture's rows must arrive with the values its transcript or its test
# gives; the position is kept in the source's form (a MySQL GTID set, with
# tags on 9.x, or file:pos when the file has no GTIDs) and the gated stop
# drains to the final position the double reports.
#
#   5.7.40 GTIDs, DDL in the stream, a utf8mb4 table      COM_BINLOG_DUMP_GTID
#   8.0.31 DECIMAL/DATE with composite key (transcript)  COM_BINLOG_DUMP
#   8.0.40 TRANSACTION_PAYLOAD of 100 rows, PARTIAL_UPDATE_ROWS of JSON, a
#          statement-format INSERT (the task stops there)
#   8.0.31 GTIDs, TRANSACTION_PAYLOAD, JSON/ENUM/SET/BINARY/TIMESTAMP
#   9.6.0 a tagged GTID (uuid:mytag:3)
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

B=$GW_SHARED/datasets/mysql-binlogs
MDEV=/usr/share/mysql/mysql-test/std_data/mdev35643_mysql_80_binlog.000001
[ -f "$MDEV" ] || fail "$MDEV missing: install mariadb-test-data (scripts/install-deps does)"
mdb_start layouts
mdb_start dst
export GODWIT_STOP_FILE=$GW_TMP/stop

# fixture NAME VERSION FILE DB 'DDL on both MariaDBs' [excludeTables]:
# streams FILE from a double of VERSION into dst, from its start to its end.
fixture() {
	local name=$1 version=$2 file=$3 db=$4 ddl=$5 exclude=${6:-} objects inc want
	mdb_q layouts "CREATE DATABASE \`$db\` DEFAULT CHARSET utf8mb4; USE \`$db\`; $ddl"
	mdb_q dst "CREATE DATABASE \`$db\` DEFAULT CHARSET utf8mb4; USE \`$db\`; $ddl"
	myd_start "$name" --version "$version" --binlog "$file" --hold-after-txn 0 --forward layouts
	objects="    - database: $db"
	[ -z "$exclude" ] || objects="$objects
      excludeTables: [$exclude]"
	# the databases of MySQL 8 default to utf8mb4, as the schema migration
	# would have made them; the spec's source is the double
	src_PORT=$(eval echo "\$${name}_PORT")
	copy_spec "$GW_TMP/$name.yaml" "$name" incremental "$objects"
	# the version's default account (caching_sha2_password from 8.0), a
	# cold cache, no TLS: the server's RSA key given as a file
	server_key "$GW_TMP/$name.yaml" "$(eval echo "\$${name}_DIR")"
	rm -f "$GODWIT_STOP_FILE"
	"$GODWIT" _action "$GW_TMP/$name.yaml" incremental >"$GW_TMP/$name.out" 2>&1 &
	inc=$!
	wait_for "$name streaming" 60 grep -q "incremental: streaming" "$GW_TMP/$name.out"
	# idle while the file is held back: heartbeats, HEARTBEAT_LOG_EVENT_V2
	# from 8.0.26 on (godwit asks for them as MySQL's replica does), the
	# old ones before
	case $version in
	5.* | 8.0.? | 8.0.1? | 8.0.2[0-5])
		wait_for "$name heartbeats" 30 heartbeats "$name" heartbeats
		assert_eq 0 "$(myd_status "$name" 's["counters"].get("heartbeats_v2", 0)')" \
			"$name: no HEARTBEAT_LOG_EVENT_V2 before 8.0.26"
		;;
	*) wait_for "$name heartbeats (v2)" 30 heartbeats "$name" heartbeats_v2 ;;
	esac
	myd_ctl "$name" release all >/dev/null
	# the gated stop reads the final position from the double and drains
	touch "$GODWIT_STOP_FILE"
	wait "$inc" || { cat "$GW_TMP/$name.out"; tail -30 "$(eval echo "\$${name}_LOG")"; fail "$name: incremental failed"; }
	assert_contains "$(cat "$GW_TMP/$name.out")" "draining to the source's final position" "$name: gated stop"
	myd_stop "$name"
}
# heartbeats NAME COUNTER: the double sent three or more
heartbeats() { [ "$(myd_status "$1" "s['counters'].get('$2', 0)")" -ge 3 ]; }
pos() { mdb_q dst "SELECT CONCAT_WS(' ', kind, gtid, file, pos) FROM godwit_meta.binlog_position WHERE task = '$1'"; }

# 5.7.40, gtid_mode ON: GTIDs 53-62 after PREVIOUS_GTIDS 1-52; a.b has no
# key (excluded), DDL creates and drops tables, a.emoji gets (2, '').
fixture g57 5.7.40 "$B/mysql-5.7.40-gtid-utf8mb4.binlog" a "CREATE TABLE b (id INT)" b
assert_eq "2	" "$(mdb_q dst "SELECT id, value FROM a.emoji")" "5.7.40: the emoji table's row"
assert_eq "b emoji" "$(mdb_q dst "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME SEPARATOR ' ')
	FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'a'")" "5.7.40: tables created and dropped by DDL"
assert_eq "mysql-gtid 58cf6502-63db-11ed-8079-0242ac110002:1-62 mysql-bin.000001 2454" "$(pos g57)" \
	"5.7.40: the executed GTID set"
assert_contains "$(cat "$g57_LOG")" "COM_BINLOG_DUMP_GTID" "5.7.40: streamed by GTID set"
mdb_q dst "DROP DATABASE a"
mdb_q layouts "DROP DATABASE a"

# 8.0.31 without GTIDs: the transcript's LINEITEM statements (6 rows
# inserted, 1 updated, 2 deleted). Its CREATE TABLE comes in the stream.
fixture d80 8.0.31 "$B/mysql-8.0.31-decimal-date.binlog" test "SELECT 1"
assert_eq "1234567890111 99.911 76.11 888.1 109.1 code 1990-08-01 test@test.com com
12345678909876 99.998 76.77 888.7 109.7 code 1990-08-01 test@test.com com
12345678909877 88.880 76.88 888.1 109.8 update L_RETURNFLAG  1990-08-01 test@test.com com
12345678909878 99.999 76.99 888.5 109.9 code 1990-08-01 test@test.com 使用箭头标记 -> 不是 SQL 语句的一部分，它仅仅表示一个新行，如果一条 SQL 语句太长，我们可以通过回车键来创建一个新行来编写 SQL 语句，SQL 语句的命令结束符为分号 ;。" \
	"$(mdb_q dst "SELECT CONCAT_WS(' ', L_ORDERKEY, L_QUANTITY, L_EXTENDEDPRICE, L_DISCOUNT, L_TAX, L_RETURNFLAG,
		L_SHIPDATE, L_SHIPINSTRUCT, L_COMMENT) FROM test.LINEITEM ORDER BY L_ORDERKEY")" \
	"8.0.31: LINEITEM as the transcript leaves it"
assert_eq "1990-06-01 1990-01-01 13711 888878711" "$(mdb_q dst "SELECT CONCAT_WS(' ', L_COMMITDATE, L_RECEIPTDATE, L_SUPPKEY,
	L_LINENUMBER) FROM test.LINEITEM WHERE L_ORDERKEY = 1234567890111")" "8.0.31: dates and keys"
assert_contains "$(pos d80)" "file  binlog.000001 " "8.0.31: a file position (no GTIDs)"
assert_contains "$(cat "$d80_LOG")" "COM_BINLOG_DUMP server_id" "8.0.31: streamed by file and offset"
mdb_q dst "DROP DATABASE test"
mdb_q layouts "DROP DATABASE test"

# 8.0.40 (MariaDB's rpl_from_mysql80.test): t1 gets 105 rows, 100 of them
# in one TRANSACTION_PAYLOAD (c is '--N--' then 100 '/': the test's "\\/"
# reached the server as \/, an escaped /); t2 gets its row by a
# statement-format INSERT (the server logged the statement, not the row),
# which stops the task: the row is not in the binlog.
mdb_q layouts "CREATE DATABASE test DEFAULT CHARSET utf8mb4"
mdb_q dst "CREATE DATABASE test DEFAULT CHARSET utf8mb4"
myd_start m80 --version 8.0.40 --binlog "$MDEV" --hold-after-txn 0 --forward layouts
src_PORT=$m80_PORT
copy_spec "$GW_TMP/m80.yaml" m80 incremental '    - database: test'
server_key "$GW_TMP/m80.yaml" "$m80_DIR"
rm -f "$GODWIT_STOP_FILE"
"$GODWIT" _action "$GW_TMP/m80.yaml" incremental >"$GW_TMP/m80.out" 2>&1 &
inc=$!
wait_for "m80 streaming" 60 grep -q "incremental: streaming" "$GW_TMP/m80.out"
wait_for "m80 heartbeats (v2)" 30 heartbeats m80 heartbeats_v2
myd_ctl m80 release all >/dev/null
wait "$inc" && fail "8.0.40: the statement-format INSERT was skipped"
assert_contains "$(cat "$GW_TMP/m80.out")" "a statement-based INSERT on test.t2 cannot be applied: the rows it changed are not in the binlog" \
	"8.0.40: stopped at the statement, naming the table"
assert_eq "file  master-bin.000001 2821" "$(pos m80)" "8.0.40: the position before the statement"
assert_eq "105" "$(mdb_q dst "SELECT COUNT(*) FROM test.t1")" "8.0.40: rows of t1"
assert_eq "0	hulu
0	bulu
0	skip
0	after compressed" "$(mdb_q dst "SELECT b, c FROM test.t1 WHERE a IN (2, 3, 4, 5) ORDER BY a")" "8.0.40: t1 values"
assert_eq "100" "$(mdb_q dst "SELECT COUNT(*) FROM test.t1 WHERE a BETWEEN 1000 AND 1099 AND b = a - 1000
	AND c = CONCAT('--', b, '--', REPEAT('/', 100), '--')")" "8.0.40: the 100 rows of the compressed transaction"
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM test.t2")" "8.0.40: nothing of the statement"
myd_stop m80
# t2's JSON changed by PARTIAL_UPDATE_ROWS, for a migration that starts
# after the INSERT (its 8 transactions shown) with the row the INSERT made
mdb_q dst "INSERT INTO test.t2 VALUES (1, CONCAT('{\"a\": \"hulu\", \"b\": \"', REPEAT('[zyzzy]', 100), '\", \"c\": \"bulu\"}'))"
myd_start p80 --version 8.0.40 --binlog "$MDEV" --hold-after-txn 8 --forward layouts
src_PORT=$p80_PORT
copy_spec "$GW_TMP/p80.yaml" p80 incremental '    - database: test'
server_key "$GW_TMP/p80.yaml" "$p80_DIR"
rm -f "$GODWIT_STOP_FILE"
"$GODWIT" _action "$GW_TMP/p80.yaml" incremental >"$GW_TMP/p80.out" 2>&1 &
inc=$!
wait_for "p80 streaming" 60 grep -q "incremental: streaming from master-bin.000001:3190" "$GW_TMP/p80.out"
myd_ctl p80 release all >/dev/null
touch "$GODWIT_STOP_FILE"
wait "$inc" || { cat "$GW_TMP/p80.out"; fail "p80: incremental failed"; }
assert_eq "hulu $(printf 'oOo%.0s' $(seq 50)) bulu" "$(mdb_q dst "SELECT CONCAT_WS(' ', JSON_VALUE(b, '\$.a'),
	JSON_VALUE(b, '\$.b'), JSON_VALUE(b, '\$.c')) FROM test.t2 WHERE a = 1")" "8.0.40: t2 after the partial JSON update"
myd_stop p80
mdb_q dst "DROP DATABASE test"
mdb_q layouts "DROP DATABASE test"

# 8.0.31 with GTIDs and compressed transactions: a.test_table_3's row
# 55555 updated (enum, set, a varchar) and 6666 inserted.
T3="CREATE TABLE test_table_3 (product_id INT PRIMARY KEY, product_item VARCHAR(64) NOT NULL, d1 DATE,
	i1 INT, t1 TEXT, ts1 TIMESTAMP NULL, enum_field ENUM('small', 'medium', 'x', 'large'),
	set_field SET('a', 'b', 'c', 'd'), bin_field BINARY(3), json_field JSON,
	product_item_2 VARCHAR(64) NOT NULL, d2 DATE NOT NULL, d3 DATE, i2 INT, t2 TEXT, ts2 TIMESTAMP NULL,
	d4 DATE, i3 INT, t3 TEXT, ts3 TIMESTAMP NULL); CREATE TABLE b (id INT)"
fixture j80 8.0.31 "$B/mysql-8.0.31-gtid-payload-json.binlog" a "$T3" b
assert_eq "6666 large d 623300 1 product_item_2_value 2022-11-20 13:53:32
55555 large c 623300 1 product_3_value 2022-11-20 13:40:30" \
	"$(mdb_q dst "SELECT CONCAT_WS(' ', product_id, enum_field, set_field, HEX(bin_field), JSON_VALUE(json_field, '\$.c'),
	product_item_2, ts1)
	FROM a.test_table_3 ORDER BY product_id")" "8.0.31: test_table_3 as the ROWS_QUERY statements leave it"
assert_eq "mysql-gtid 76f3e7be-6720-11ed-9cad-0242ac110002:1-13" "$(pos j80 | cut -d' ' -f1-2)" "8.0.31: the GTID set"

# 9.6.0: a tagged GTID
fixture t96 9.6.0 "$B/mysql-9.6.0-gtid-tagged.binlog" test \
	"CREATE TABLE orders (id INT PRIMARY KEY, qty INT, amount DECIMAL(10, 2))"
assert_eq "3	100	250.00" "$(mdb_q dst "SELECT * FROM test.orders")" "9.6.0: the row"
assert_eq "mysql-gtid 55778904-0299-11f1-b1b8-4ef0c4956feb:1-13:mytag:1-3" "$(pos t96 | cut -d' ' -f1-2)" \
	"9.6.0: the tagged GTID joins the set"
# the position is read with the statement of each version (SHOW MASTER
# STATUS is gone in 8.4)
assert_contains "$(cat "$t96_LOG")" "query: SHOW BINARY LOG STATUS" "9.6.0: SHOW BINARY LOG STATUS"
assert_not_contains "$(cat "$t96_LOG")" "SHOW MASTER STATUS" "9.6.0: not the old name"
assert_contains "$(cat "$g57_LOG")" "query: SHOW MASTER STATUS" "5.7.40: SHOW MASTER STATUS"
echo ok
