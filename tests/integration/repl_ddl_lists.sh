# Statements of the binlog that name several tables, or that are written
# under another sql_mode or binlog_format, on a real MariaDB source (app
# renamed app2, whole but tmp_*; shop with items renamed items_b listed;
# other not selected, with tables of the same names on the destination
# that must stay untouched):
#  1. DROP TABLE and DROP TABLE IF EXISTS lists mixing selected and
#     unselected tables, RENAME TABLE lists (a swap through a third name,
#     pairs outside the selection): every selected table handled under its
#     destination name, the others left out;
#  2. a session with ANSI_QUOTES creating, filling and renaming tables
#     with "quoted" names, and one with NO_BACKSLASH_ESCAPES giving a
#     default with a backslash: read and applied as that session wrote
#     them (the QUERY event's sql_mode);
#  3. statement-format DML (SET SESSION binlog_format=STATEMENT): ignored
#     on unselected tables; on a selected table (MariaDB's SET STATEMENT
#     ... FOR UPDATE) the task stops naming the table and the fix, its
#     position before the statement, again after a restart;
#  4. a RENAME that moves a table out of the selection stops the task.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; USE app;
	CREATE TABLE d1 (id INT PRIMARY KEY); CREATE TABLE d2 (id INT PRIMARY KEY); CREATE TABLE d3 (id INT PRIMARY KEY);
	CREATE TABLE sa (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO sa VALUES (1, 'a');
	CREATE TABLE sb (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO sb VALUES (2, 'b');
	CREATE TABLE r1 (id INT PRIMARY KEY); INSERT INTO r1 VALUES (7);
	CREATE TABLE keep (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO keep VALUES (1, 'k');
	CREATE TABLE tmp_x (id INT);
	CREATE DATABASE shop; USE shop;
	CREATE TABLE items (id INT PRIMARY KEY); CREATE TABLE unlisted (id INT PRIMARY KEY);
	CREATE DATABASE other; USE other;
	CREATE TABLE d1 (id INT PRIMARY KEY); CREATE TABLE o1 (id INT PRIMARY KEY); CREATE TABLE o2 (id INT PRIMARY KEY);
	CREATE TABLE s (id INT PRIMARY KEY)"
OBJ='    - database: app
      renameTo: app2
      excludeTables: [tmp_*]
    - database: shop
      tables:
        - name: items
          renameTo: items_b'
copy_spec "$GW_TMP/m.yaml" lists "schema, full, incremental" "$OBJ"
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done
# the destination's own tables of the unselected names: never touched
mdb_q dst "CREATE DATABASE other; USE other; CREATE TABLE d1 (id INT PRIMARY KEY); CREATE TABLE o1 (id INT PRIMARY KEY);
	CREATE TABLE o2 (id INT PRIMARY KEY); CREATE TABLE s (id INT PRIMARY KEY); INSERT INTO s VALUES (42);
	CREATE TABLE shop.unlisted (id INT PRIMARY KEY)"

export GODWIT_STOP_FILE=$GW_TMP/stop
run_inc() {
	rm -f "$GODWIT_STOP_FILE"
	"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
	INC=$!
}
tabs() { mdb_q dst "SELECT IFNULL(GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME SEPARATOR ' '), '')
	FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$1'"; }
pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'lists'"; }
mark() {
	mdb_q src "INSERT INTO app.keep VALUES ($1, 'mark')"
	wait_for "mark $1 applied" 60 marked "$1"
}
marked() { [ "$(mdb_q dst "SELECT COUNT(*) FROM app2.keep WHERE id = $1")" = 1 ]; }

run_inc
# 1. lists
mdb_q src "USE app; DROP TABLE d1, other.o1, app.d2;
	DROP TABLE IF EXISTS other.nothere, app.d3, other.d1;
	DROP TABLE shop.items, shop.unlisted;
	RENAME TABLE r1 TO r2, other.o2 TO other.o3;
	RENAME TABLE sa TO sw, sb TO sa, sw TO sb;
	INSERT INTO r2 VALUES (8); INSERT INTO sa VALUES (3, 'c')"
mark 2
assert_eq "keep r2 sa sb" "$(tabs app2)" "the selected tables of each list dropped and renamed"
assert_eq "d1 o1 o2 s" "$(tabs other)" "the unselected ones untouched on the destination"
assert_eq "unlisted" "$(tabs shop)" "a listed table dropped under its destination name, the unlisted one left"
assert_eq "7 8" "$(mdb_q dst 'SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR " ") FROM app2.r2')" "renamed with its rows"
assert_eq "2:b 3:c" "$(mdb_q dst "SELECT GROUP_CONCAT(id, ':', v ORDER BY id SEPARATOR ' ') FROM app2.sa")" "swapped: sb is sa"
assert_eq "1:a" "$(mdb_q dst "SELECT GROUP_CONCAT(id, ':', v ORDER BY id SEPARATOR ' ') FROM app2.sb")" "swapped: sa is sb"
assert_contains "$(cat "$GW_TMP/inc.out")" "applied DDL on app.d1, app.d2: DROP TABLE \`app2\`.\`d1\`, \`app2\`.\`d2\`" \
	"the statement applied names the selected tables only"

# 2. the session's sql_mode
mdb_q src "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES'); USE app;
	CREATE TABLE \"q t\" (\"id\" INT PRIMARY KEY, \"v\" VARCHAR(20) DEFAULT 'it''s \"x\"');
	INSERT INTO \"q t\" (\"id\") VALUES (1);
	RENAME TABLE \"q t\" TO \"q\"\"u\", \"other\".\"s\" TO \"other\".\"s2\";
	ALTER TABLE app.\"q\"\"u\" ADD COLUMN \"w\" INT DEFAULT 5;
	INSERT INTO \"q\"\"u\" (\"id\", \"v\") VALUES (2, 'two')"
mdb_q src "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');
	CREATE TABLE app.nb (id INT PRIMARY KEY, v VARCHAR(10) DEFAULT 'a\\b'); INSERT INTO app.nb (id) VALUES (1)"
mark 3
assert_eq "1 it's \"x\" 5
2 two 5" "$(mdb_q dst 'SELECT id, v, w FROM app2.`q"u` ORDER BY id' | tr '\t' ' ')" \
	"ANSI_QUOTES: created, renamed, altered and filled under its quoted names"
assert_eq "d1 o1 o2 s" "$(tabs other)" "an unselected pair of the rename left out"
assert_eq '1 a\b' "$(mdb_q dst 'SELECT id, HEX(v) = HEX(CONCAT("a", CHAR(92), "b")) FROM app2.nb' | tr '\t' ' ' | sed 's/ 1$/ a\\b/')" \
	"NO_BACKSLASH_ESCAPES: the default keeps its backslash"
assert_eq "$(mdb_q src "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'nb' AND COLUMN_NAME = 'v'")" \
	"$(mdb_q dst "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app2' AND TABLE_NAME = 'nb' AND COLUMN_NAME = 'v'")" \
	"the same default on both"

# 3. statement-format DML: unselected tables ignored, a selected one stops
mdb_q src "SET SESSION binlog_format = STATEMENT; INSERT INTO other.o3 VALUES (1); INSERT INTO app.tmp_x VALUES (1);
	USE other; UPDATE o3 SET id = 2"
mark 4
before=$(pos)
mdb_q src "SET SESSION binlog_format = STATEMENT; USE app;
	SET STATEMENT max_statement_time = 60 FOR UPDATE keep SET v = 'by statement' WHERE id = 1;
	INSERT INTO app.keep VALUES (5, 'after')"
ended() { ! kill -0 "$INC" 2>/dev/null; }
wait_for "the task stops at the statement" 60 ended
wait "$INC" && fail "a statement-format UPDATE of a selected table was skipped"
out=$(cat "$GW_TMP/inc.out")
assert_contains "$out" "result: fatal" "the task stops as failed"
assert_contains "$out" "a statement-based UPDATE on app.keep cannot be applied: the rows it changed are not in the binlog" \
	"the reason names the statement and the table"
assert_contains "$out" "set binlog_format=ROW on the source" "and the fix"
assert_contains "$out" "SET STATEMENT max_statement_time = 60 FOR UPDATE keep SET v = 'by statement' WHERE id = 1" \
	"and quotes the statement"
assert_eq "$before" "$(pos)" "the position stays before the statement"
assert_eq "k" "$(mdb_q dst 'SELECT v FROM app2.keep WHERE id = 1')" "nothing of it applied"
assert_eq 0 "$(mdb_q dst 'SELECT COUNT(*) FROM app2.keep WHERE id = 5')" "nor after it"
run_inc
wait "$INC" && fail "a restart skipped the statement"
assert_contains "$(cat "$GW_TMP/inc.out")" "a statement-based UPDATE on app.keep" "stopped again at the same statement"

# 4. a rename out of the selection (a task from now on)
copy_spec "$GW_TMP/r.yaml" ren "incremental" "$OBJ"
"$GODWIT" _action "$GW_TMP/r.yaml" incremental >"$GW_TMP/ren.out" 2>&1 &
R=$!
wait_for "ren streaming" 30 grep -q "streaming" "$GW_TMP/ren.out"
mdb_q src "RENAME TABLE other.s2 TO other.s9, app.sb TO app.tmp_sb"
wait "$R" && fail "a RENAME out of the selection was applied"
assert_contains "$(cat "$GW_TMP/ren.out")" "RENAME of app.sb to app.tmp_sb cannot be applied safely: the new name is not selected" \
	"the reason names the table and its new name"
assert_eq "keep nb q\"u r2 sa sb" "$(tabs app2)" "the destination keeps the table under its old name"
echo ok
