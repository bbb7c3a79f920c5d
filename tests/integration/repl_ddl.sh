# DDL in the middle of the stream, with a renamed database (app -> app2, whole)
# and tables listed with renames (shop -> shop2: orders renamed, people with a
# column selection and renamed column):
#  1. a backlog written while no stream runs, with binlog_row_metadata=MINIMAL
#     (row events carry no column names: the layout at each position comes
#     from the schema history, i.e. the destination's table with every earlier
#     DDL applied): CREATE / ALTER (add a column in the middle, drop, modify,
#     add and drop an index) / RENAME / TRUNCATE / DROP TABLE, CREATE / DROP
#     VIEW, rows before and after each ALTER;
#  2. the same kinds of statements live, with binlog_row_metadata=FULL;
#  3. DDL that cannot be applied safely stops the task with the reason, also
#     after a restart (never skipped): an ALTER dropping a selected column of
#     a table with a column selection; a backlog across a column rename of
#     such a table (FULL metadata); a RENAME of a listed table to a name the
#     spec does not select; a view the destination refuses; and through the
#     controller, phase Failed with the reason.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src --binlog-row-metadata=MINIMAL
mdb_start dst
mdb_q src "CREATE DATABASE app; USE app;
	CREATE TABLE keep (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO keep VALUES (1, 'k');
	CREATE TABLE trunc (id INT PRIMARY KEY); INSERT INTO trunc VALUES (1), (2);
	CREATE TABLE dropme (id INT PRIMARY KEY); INSERT INTO dropme VALUES (1);
	CREATE VIEW oldv AS SELECT id FROM keep;
	CREATE DATABASE shop; USE shop;
	CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2), c VARCHAR(10)); INSERT INTO orders VALUES (1, 9.5, 'x');
	CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20), email VARCHAR(40), secret VARCHAR(20));
	INSERT INTO people VALUES (1, 'ann', 'ann@x', 's1');
	CREATE TABLE items (id INT PRIMARY KEY, sku VARCHAR(10)); INSERT INTO items VALUES (1, 'i1')"
OBJ='    - database: app
      renameTo: app2
    - database: shop
      renameTo: shop2
      tables:
        - name: orders
          renameTo: orders_b
        - name: people
          columns: [id, name, email]
          renameColumns: {email: mail}
        - name: items'
copy_spec "$GW_TMP/m.yaml" ddl "schema, full, incremental" "$OBJ"
"$GODWIT" _action "$GW_TMP/m.yaml" schema >"$GW_TMP/schema.out" 2>&1 || { cat "$GW_TMP/schema.out"; fail schema; }
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full.out" 2>&1 || { cat "$GW_TMP/full.out"; fail full; }

export GODWIT_STOP_FILE=$GW_TMP/stop
run_inc() {
	rm -f "$GODWIT_STOP_FILE"
	"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
	INC=$!
}
stop_inc() {
	touch "$GODWIT_STOP_FILE"
	wait "$INC" || { cat "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
}
fp() { fingerprint "$1" "$(hexsel "$1" "$2" "$3" id)"; }
cols() { mdb_q "$1" "SELECT GROUP_CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE ORDER BY ORDINAL_POSITION)
	FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$2' AND TABLE_NAME = '$3'"; }
idx() { mdb_q "$1" "SELECT GROUP_CONCAT(DISTINCT INDEX_NAME ORDER BY INDEX_NAME)
	FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '$2' AND TABLE_NAME = '$3'"; }
same_table() { # same_table SRC_DB SRC_TABLE DST_DB DST_TABLE
	[ "$(cols src "$1" "$2")" = "$(cols dst "$3" "$4")" ] && [ "$(idx src "$1" "$2")" = "$(idx dst "$3" "$4")" ] &&
		[ "$(fp src "$1" "$2")" = "$(fp dst "$3" "$4")" ]
}
people_ok() {
	[ "$(mdb_q src 'SELECT id, name, email FROM shop.people ORDER BY id')" = \
		"$(mdb_q dst 'SELECT id, name, mail FROM shop2.people ORDER BY id' 2>/dev/null)" ]
}

# 1. A backlog with MINIMAL metadata: rows around every ALTER.
assert_eq "MINIMAL" "$(mdb_q src 'SELECT @@GLOBAL.binlog_row_metadata')" "source logs no column names"
mdb_q src "USE app;
	CREATE TABLE n (id INT PRIMARY KEY, a INT, z VARCHAR(10)); INSERT INTO n VALUES (1, 10, 'z1');
	ALTER TABLE n ADD COLUMN b VARCHAR(10) DEFAULT 'dflt' AFTER id; INSERT INTO n VALUES (2, 'bee', 20, 'z2');
	UPDATE n SET a = 11 WHERE id = 1;
	ALTER TABLE app.n DROP COLUMN a; INSERT INTO n VALUES (3, 'three', 'z3');
	ALTER TABLE n MODIFY b VARCHAR(30), ADD INDEX ib (b), ADD INDEX iz (z); INSERT INTO n VALUES (4, REPEAT('w', 30), 'z4');
	ALTER TABLE n DROP INDEX iz; DELETE FROM n WHERE id = 3;
	RENAME TABLE app.n TO app.n2; INSERT INTO n2 VALUES (5, 'after rename', 'z5');
	CREATE VIEW v AS SELECT id, b FROM app.n2; DROP VIEW oldv;
	TRUNCATE TABLE trunc; INSERT INTO trunc VALUES (7);
	DROP TABLE dropme;
	USE shop;
	INSERT INTO orders VALUES (2, 1.25, 'y');
	ALTER TABLE orders ADD COLUMN note VARCHAR(20) FIRST; INSERT INTO orders VALUES ('n3', 3, 3.75, 'z');
	ALTER TABLE shop.orders ADD INDEX ic (total), DROP COLUMN c; INSERT INTO orders VALUES ('n4', 4, 4.00);
	UPDATE orders SET note = 'upd' WHERE id = 1;
	INSERT INTO people VALUES (2, 'bob', 'bob@x', 's2'); UPDATE people SET email = 'ann@y' WHERE id = 1;
	TRUNCATE TABLE items; INSERT INTO items VALUES (9, 'i9')"
run_inc
backlog_done() {
	same_table app n2 app2 n2 && same_table app trunc app2 trunc && same_table app keep app2 keep &&
		same_table shop orders shop2 orders_b && same_table shop items shop2 items && people_ok
}
wait_for "the backlog with its DDL applied" 90 backlog_done
stop_inc
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app2' AND TABLE_NAME IN ('n', 'dropme', 'oldv')")" \
	"renamed, dropped table and dropped view gone"
assert_eq "2 bee
4 wwwwwwwwwwwwwwwwwwwwwwwwwwwwww
5 after rename" "$(mdb_q dst 'SELECT id, b FROM app2.v WHERE id > 1 ORDER BY id' | tr '\t' ' ')" "view created on the renamed database"
assert_eq "1 dflt z1" "$(mdb_q dst 'SELECT id, b, z FROM app2.n2 WHERE id = 1' | tr '\t' ' ')" "a row written before the ALTER"
assert_eq "upd" "$(mdb_q dst 'SELECT note FROM shop2.orders_b WHERE id = 1')" "update after the ALTER on the renamed table"
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop2' AND TABLE_NAME = 'people' AND COLUMN_NAME = 'secret'")" \
	"the unselected column stays out"

# 2. Live, with FULL metadata.
mdb_q src "SET GLOBAL binlog_row_metadata = FULL"
run_inc
mdb_q src "USE app; INSERT INTO n2 VALUES (6, 'six', 'z6');
	ALTER TABLE n2 ADD COLUMN c DATETIME(3) NULL AFTER b; INSERT INTO n2 VALUES (7, 'seven', '2024-02-29 01:02:03.456', 'z7');
	CREATE TABLE fresh (id INT PRIMARY KEY, j JSON); INSERT INTO fresh VALUES (1, '{\"a\": 1}');
	ALTER TABLE fresh ADD COLUMN k INT AFTER id; INSERT INTO fresh VALUES (2, 5, '[]');
	USE shop; ALTER TABLE orders DROP INDEX ic, ADD COLUMN qty INT NOT NULL DEFAULT 1; INSERT INTO orders VALUES ('n5', 5, 5.5, 3)"
live_done() {
	same_table app n2 app2 n2 && same_table app fresh app2 fresh && same_table shop orders shop2 orders_b
}
wait_for "live DDL applied" 60 live_done

# 3. A selected column dropped from a table with a column selection: the
# destination cannot follow; the task stops with the reason, the position
# stays before the statement and nothing after it is applied.
before=$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'ddl'")
mdb_q src "ALTER TABLE shop.people DROP COLUMN email; INSERT INTO shop.orders VALUES ('late', 6, 6, 1)"
wait "$INC" && fail "incremental went on past an unsafe DDL"
out=$(cat "$GW_TMP/inc.out")
assert_contains "$out" "result: fatal" "the task stops as failed"
assert_contains "$out" "DDL on shop.people cannot be applied safely" "the reason names the table"
assert_contains "$out" "ALTER TABLE shop.people DROP COLUMN email" "the reason quotes the statement"
assert_eq "0" "$(mdb_q dst 'SELECT COUNT(*) FROM shop2.orders_b WHERE id = 6')" "nothing applied after the unsafe DDL"
assert_contains "$(mdb_q dst 'SHOW CREATE TABLE shop2.people')" "mail" "the destination table untouched"
[ "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'ddl'")" != "" ] || fail "position kept"
run_inc # again: the same statement stops it again, never skipped
wait "$INC" && fail "a restart skipped the unsafe DDL"
assert_contains "$(cat "$GW_TMP/inc.out")" "cannot be applied safely" "stopped again at the same statement"

# A backlog with FULL metadata on a table with a column selection, whose
# layout comes from the source's current schema: rows logged before an
# ALTER that renamed a column do not match it, and are refused rather
# than applied with the column left out.
copy_spec "$GW_TMP/l.yaml" late "incremental" '    - database: shop
      tables:
        - name: people
          columns: [id, name]'
"$GODWIT" _action "$GW_TMP/l.yaml" incremental >"$GW_TMP/late.out" 2>&1 &
L=$!
wait_for "late streaming" 30 grep -q "streaming" "$GW_TMP/late.out"
touch "$GODWIT_STOP_FILE"
wait "$L" || { cat "$GW_TMP/late.out"; fail "late did not stop"; }
rm -f "$GODWIT_STOP_FILE"
mdb_q src "INSERT INTO shop.people VALUES (3, 'cy', 's3'); ALTER TABLE shop.people CHANGE name fullname VARCHAR(20)"
"$GODWIT" _action "$GW_TMP/l.yaml" incremental >"$GW_TMP/late.out" 2>&1 && fail "rows of another layout applied"
assert_contains "$(cat "$GW_TMP/late.out")" "column 2 is name in the binlog but fullname in the schema" "the reason names the column"

# A listed table renamed to a name the spec does not select (a second,
# incremental-only task from now on).
copy_spec "$GW_TMP/r.yaml" ren "incremental" '    - database: shop
      tables:
        - name: items'
"$GODWIT" _action "$GW_TMP/r.yaml" incremental >"$GW_TMP/ren.out" 2>&1 &
R=$!
wait_for "ren streaming" 30 grep -q "streaming" "$GW_TMP/ren.out"
mdb_q src "RENAME TABLE shop.items TO shop.items_old"
wait "$R" && fail "incremental went on past a RENAME out of the selection"
out=$(cat "$GW_TMP/ren.out")
assert_contains "$out" "RENAME of shop.items cannot be applied safely" "the reason names the table"

# A DDL the destination refuses (a view over a table of a database the
# spec does not select) stops the task; it is not taken for a replay.
copy_spec "$GW_TMP/v.yaml" vw "incremental" '    - database: app
      renameTo: app2'
"$GODWIT" _action "$GW_TMP/v.yaml" incremental >"$GW_TMP/vw.out" 2>&1 &
V=$!
wait_for "vw streaming" 30 grep -q "streaming" "$GW_TMP/vw.out"
mdb_q src "CREATE DATABASE other; CREATE TABLE other.t (id INT PRIMARY KEY); CREATE VIEW app.vx AS SELECT id FROM other.t"
wait "$V" && fail "a DDL that failed on the destination was skipped"
out=$(cat "$GW_TMP/vw.out")
assert_contains "$out" "app.vx: applying DDL" "the reason names the object"
assert_contains "$out" "doesn't exist" "the reason gives the destination's error"

# Through the controller, an unsafe DDL is phase Failed with the reason.
mdb_q src "CREATE TABLE shop.cs (id INT PRIMARY KEY, a INT, b INT)"
mkdir -p "$GW_TMP/specs"
copy_spec "$GW_TMP/specs/c.yaml" ctl "incremental" '    - database: shop
      tables:
        - name: cs
          columns: [id, a]'
ctl_start CT --dir "$GW_TMP/specs" --state-dir "$GW_TMP/state"
wait_for "ctl streaming" 60 phase_is "$GW_TMP/state" ctl Incremental
mdb_q src "ALTER TABLE shop.cs DROP COLUMN a"
wait_for "ctl Failed" 60 phase_is "$GW_TMP/state" ctl Failed
# (the phase and message files are each replaced atomically, one after
# the other)
wait_for "the message gives the reason" 10 grep -q "DDL on shop.cs cannot be applied safely" "$GW_TMP/state/tasks/ctl/message"
kill -TERM "$CT"
wait "$CT" || fail "controller exit status $?"
echo ok
