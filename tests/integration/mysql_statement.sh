# What a MySQL session that changed its sql_mode or binlog_format writes,
# from the MySQL double: tests/lib/mysql_binlog.py --kind statement writes
# the events as MySQL 8.0.40 does (no shared binlog holds them; the file
# reads as intended with mariadb-binlog). A DDL under
# ANSI_QUOTES,NO_BACKSLASH_ESCAPES (the QUERY event's Q_SQL_MODE_CODE) is
# read and applied as that session wrote it; a statement-format INSERT into
# a database not migrated is ignored; a statement-format UPDATE of a
# selected table stops the task with the reason, its position before it;
# so does a statement-format LOAD DATA (BEGIN_LOAD_QUERY and
# EXECUTE_LOAD_QUERY), for a task started after the UPDATE.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

U=3e11fa47-71ca-11e1-9e33-c80aa9429562
python3 "$GW_ROOT/tests/lib/mysql_binlog.py" --kind statement --out "$GW_TMP/st.binlog" --uuid "$U"
python3 "$GW_ROOT/tests/mysqld/genbinlog.py" --out "$GW_TMP/schema.binlog" --tables 1 --rows 0 \
	--transactions 0 --initial "$GW_TMP/init"
# (into a file: grep -q ending the pipe early fails it under pipefail; the
# LOAD DATA's file in GW_TMP, not /tmp)
mariadb-binlog --local-load="$GW_TMP" "$GW_TMP/st.binlog" >"$GW_TMP/st.sql" 2>/dev/null ||
	fail "mariadb-binlog cannot read the file"
grep -q "^LOAD DATA  LOCAL INFILE '.*' INTO TABLE \`sbtest1\`" "$GW_TMP/st.sql" ||
	fail "mariadb-binlog does not read the LOAD DATA as written"
mdb_start layouts
mdb_start dst
mdb layouts <"$GW_TMP/init/schema.sql"
mdb dst <"$GW_TMP/init/schema.sql"
myd_start src --version 8.0.40 --binlog "$GW_TMP/st.binlog" --hold-after-txn 0 --forward layouts
copy_spec "$GW_TMP/s.yaml" st incremental '    - database: sbtest'
server_key "$GW_TMP/s.yaml" "$src_DIR"
"$GODWIT" _action "$GW_TMP/s.yaml" incremental >"$GW_TMP/s.out" 2>&1 &
INC=$!
wait_for "streaming" 60 grep -q "incremental: streaming" "$GW_TMP/s.out"
at() { [ "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = '$1'")" = "$2" ]; }

# 1 rows; 2 the ANSI_QUOTES DDL; 3 a statement on another database; 4 rows
myd_ctl src release 4 >/dev/null
wait_for "GTIDs 1-4" 60 at st "$U:1-4"
assert_eq "1 2" "$(mdb_q dst 'SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR " ") FROM sbtest.sbtest1')" "the rows"
assert_eq "id int(11),v varchar(10)" "$(mdb_q dst "SELECT GROUP_CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE ORDER BY ORDINAL_POSITION)
	FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'sbtest' AND TABLE_NAME = 'q\"t'")" \
	"the table its \"quoted\" names name"
assert_eq "'a\\\\b'" "$(mdb_q dst "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'sbtest'
	AND TABLE_NAME = 'q\"t' AND COLUMN_NAME = 'v'")" "a backslash kept as NO_BACKSLASH_ESCAPES reads it"

# 5 UPDATE by statement on sbtest1
myd_ctl src release 1 >/dev/null
ended() { ! kill -0 "$INC" 2>/dev/null; }
wait_for "the task stops" 60 ended
wait "$INC" && fail "a statement-format UPDATE of a selected table was skipped"
out=$(cat "$GW_TMP/s.out")
assert_contains "$out" "a statement-based UPDATE on sbtest.sbtest1 cannot be applied: the rows it changed are not in the binlog" \
	"the reason names the statement and the table"
assert_contains "$out" "set binlog_format=ROW on the source" "and the fix"
assert_eq "$U:1-4" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'st'")" \
	"the position stays before it"

# 6 LOAD DATA by statement, for a task that starts after 5
copy_spec "$GW_TMP/l.yaml" ld incremental '    - database: sbtest'
server_key "$GW_TMP/l.yaml" "$src_DIR"
"$GODWIT" _action "$GW_TMP/l.yaml" incremental >"$GW_TMP/l.out" 2>&1 &
L=$!
wait_for "ld streaming" 60 grep -q "incremental: streaming from $U:1-5" "$GW_TMP/l.out"
myd_ctl src release all >/dev/null
wait "$L" && fail "a statement-format LOAD DATA into a selected table was skipped"
assert_contains "$(cat "$GW_TMP/l.out")" "a statement-based LOAD DATA on sbtest.sbtest1 cannot be applied" \
	"the reason names LOAD DATA and the table"
echo ok
