# Schema migration with renames, column subsets, generated columns,
# partitions, FULLTEXT and SPATIAL indexes, AUTO_INCREMENT counters,
# definers, events, objects that cannot follow a database rename, and
# idempotence (pre-created, half-done and killed runs converge).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb src <<'SQL'
CREATE USER 'ghost'@'%';
CREATE USER 'keeper'@'%';
GRANT ALL ON shop.* TO 'ghost'@'%', 'keeper'@'%';
CREATE DATABASE shop;
USE shop;
CREATE TABLE orders (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT NOT NULL,
  total DECIMAL(10,2) NOT NULL DEFAULT 0.00,
  note TEXT,
  total_x2 DECIMAL(11,2) AS (total * 2) STORED,
  note_len INT AS (CHAR_LENGTH(note)) VIRTUAL,
  KEY (customer_id),
  KEY k_total (total, customer_id),
  FULLTEXT KEY ft_note (note)
) ENGINE=InnoDB AUTO_INCREMENT=1000 DEFAULT CHARSET=utf8mb4 COMMENT='orders of the shop';
INSERT INTO orders (customer_id, total, note) VALUES (1, 10.50, 'first order'), (2, 3.25, 'second');
CREATE TABLE places (
  id INT PRIMARY KEY,
  pt POINT NOT NULL,
  SPATIAL KEY sp_pt (pt)
) ENGINE=InnoDB;
INSERT INTO places VALUES (1, ST_GeomFromText('POINT(1 2)'));
CREATE TABLE log (
  id INT NOT NULL,
  at DATE NOT NULL,
  msg VARCHAR(100),
  PRIMARY KEY (id, at)
) ENGINE=InnoDB PARTITION BY RANGE (YEAR(at)) (
  PARTITION p2023 VALUES LESS THAN (2024),
  PARTITION p2024 VALUES LESS THAN (2025),
  PARTITION pmax VALUES LESS THAN MAXVALUE);
INSERT INTO log VALUES (1, '2023-05-01', 'a'), (2, '2024-06-01', 'b');
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50));
CREATE DEFINER='keeper'@'%' SQL SECURITY DEFINER VIEW v_big AS
  SELECT id, total FROM shop.orders WHERE total > 5;
-- a view read by a view whose name sorts first: created in dependency order
CREATE DEFINER='ghost'@'%' SQL SECURITY DEFINER VIEW a_big_ids AS SELECT id FROM v_big;
DELIMITER //
CREATE DEFINER='ghost'@'%' PROCEDURE p_count(OUT n INT)
  READS SQL DATA
BEGIN
  SELECT COUNT(*) INTO n FROM `shop`.`orders`;
END//
CREATE DEFINER='keeper'@'%' FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC
  RETURN x * 2//
CREATE PROCEDURE p_unquoted()
BEGIN
  SELECT COUNT(*) FROM shop.orders;
END//
CREATE TRIGGER t_audit AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id))//
CREATE TRIGGER t_dynamic BEFORE UPDATE ON orders FOR EACH ROW
  SET NEW.note = CONCAT(NEW.note, ' (shop)')//
DELIMITER ;
CREATE EVENT e_tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO `shop`.`audit` (what) VALUES ('tick');
CREATE EVENT e_off ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit;
SQL
mdb_q src "SET GLOBAL event_scheduler = OFF"
mdb_q dst "CREATE USER 'keeper'@'%'; GRANT ALL ON \`shop%\`.* TO 'keeper'@'%'; SET GLOBAL event_scheduler = ON"

act() { # SPEC ACTION: runs it, output in $GW_TMP/ACTION.out
	"$GODWIT" _action "$1" "$2" >"$GW_TMP/$2.out" 2>&1 || { cat "$GW_TMP/$2.out"; fail "$2 of $1"; }
}
is() { mdb_q "$1" "$2"; }

# --- a table selection: renamed database, table and column, a subset ----
copy_spec "$GW_TMP/sub.yaml" sub "schema, full" '    - database: shop
      renameTo: store
      tables:
        - name: orders
          renameTo: orders_2024
          columns: [id, customer_id, total, total_x2]
          renameColumns: {total: amount, customer_id: buyer}'
act "$GW_TMP/sub.yaml" schema
report=$(cat "$GW_TMP/schema.out")
assert_eq "binlog_position task_stage whitelist" "$(is dst "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY 1 SEPARATOR ' ') FROM information_schema.TABLES WHERE TABLE_SCHEMA='godwit_meta'")" "the schema action creates the meta database"
assert_eq "id,buyer,amount,total_x2" \
	"$(is dst "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='store' AND TABLE_NAME='orders_2024'")" \
	"mapped names, selected columns only, in order"
assert_eq "\`amount\` * 2" \
	"$(is dst "SELECT GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='store' AND TABLE_NAME='orders_2024' AND COLUMN_NAME='total_x2'")" \
	"generated column follows the rename"
assert_eq "buyer:buyer k_total:amount,buyer PRIMARY:id" \
	"$(is dst "SELECT GROUP_CONCAT(CONCAT(INDEX_NAME, ':', c) ORDER BY INDEX_NAME SEPARATOR ' ') FROM (SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='store' AND TABLE_NAME='orders_2024' GROUP BY INDEX_NAME) x")" \
	"indexes on selected columns kept under the new names (one named after its column renamed with it); the FULLTEXT on note dropped"
assert_contains "$report" "left out with unselected column note: FULLTEXT KEY \`ft_note\`" "dropped index reported"
assert_not_contains "$report" "\`note_len\`" "an unselected generated column is left out as asked, not reported"
assert_eq "1002" "$(is src "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='orders'")" "source counter"
assert_eq "1002" "$(is dst "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='store' AND TABLE_NAME='orders_2024'")" "AUTO_INCREMENT counter"
assert_eq "orders of the shop" "$(is dst "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='store' AND TABLE_NAME='orders_2024'")" "table options"
assert_eq "orders_2024" "$(is dst "SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA='store'")" "table selections get tables only"
# again: the existing table (an index named after a renamed column
# included) is recognised as the one the migration creates
act "$GW_TMP/sub.yaml" schema
assert_contains "$(cat "$GW_TMP/schema.out")" "created: 0" "second run creates nothing"
act "$GW_TMP/sub.yaml" full
assert_eq "$(is src 'SELECT id, customer_id, total, total_x2 FROM shop.orders ORDER BY id')" \
	"$(is dst 'SELECT id, buyer, amount, total_x2 FROM store.orders_2024 ORDER BY id')" "data under the mapped names"

# --- the whole database, renamed --------------------------------------------
copy_spec "$GW_TMP/whole.yaml" whole "schema, full, incremental" '    - database: shop
      renameTo: shop2'
act "$GW_TMP/whole.yaml" schema
report=$(cat "$GW_TMP/schema.out")

# cmp_is WHAT SQL: the same rows for shop on the source and DB on the
# destination (the SQL uses @db for the schema name).
cmp_is() {
	local db=$1 what=$2 sql=$3 a b
	a=$(is src "SET @db = 'shop'; $sql")
	b=$(is dst "SET @db = '$db'; $sql")
	[ -n "$a" ] || fail "$what: nothing on the source"
	[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -20; fail "$what differ in $db"; }
}
cmp_tables() { # DB
	cmp_is "$1" columns "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, '-'), EXTRA, IFNULL(COLLATION_NAME, '-'), IFNULL(GENERATION_EXPRESSION, '-') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = @db ORDER BY 1, 3"
	cmp_is "$1" indexes "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE, IFNULL(SUB_PART, '-') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = @db ORDER BY 1, 2, 3"
	cmp_is "$1" partitions "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = @db AND PARTITION_NAME IS NOT NULL ORDER BY 1, PARTITION_ORDINAL_POSITION"
	cmp_is "$1" tables "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, IFNULL(AUTO_INCREMENT, '-'), CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = @db ORDER BY 1"
}
cmp_tables shop2
assert_eq "FULLTEXT SPATIAL" "$(is dst "SELECT GROUP_CONCAT(DISTINCT INDEX_TYPE ORDER BY INDEX_TYPE SEPARATOR ' ') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='shop2' AND INDEX_TYPE <> 'BTREE'")" "FULLTEXT and SPATIAL indexes"
assert_eq "3" "$(is dst "SELECT COUNT(*) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA='shop2' AND TABLE_NAME='log'")" "partitions"

# Views: rewritten to the new database; a missing definer becomes the
# migration account with SQL SECURITY INVOKER, an existing one is kept.
assert_eq "a_big_ids	godwit@%	INVOKER	select \`v_big\`.\`id\` AS \`id\` from \`shop2\`.\`v_big\`
v_big	keeper@%	DEFINER	select \`shop2\`.\`orders\`.\`id\` AS \`id\`,\`shop2\`.\`orders\`.\`total\` AS \`total\` from \`shop2\`.\`orders\` where \`shop2\`.\`orders\`.\`total\` > 5" \
	"$(is dst "SELECT TABLE_NAME, DEFINER, SECURITY_TYPE, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA='shop2' ORDER BY 1")" \
	"views in the new database, definers kept or replaced"
# Routines: the same; references are renamed quoted or not.
assert_eq "f_double	FUNCTION	keeper@%	DEFINER
p_count	PROCEDURE	godwit@%	INVOKER
p_unquoted	PROCEDURE	root@localhost	DEFINER" \
	"$(is dst "SELECT ROUTINE_NAME, ROUTINE_TYPE, DEFINER, SECURITY_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='shop2' ORDER BY 1")" \
	"routines, definers kept or replaced with SQL SECURITY INVOKER"
assert_contains "$(is dst "SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='shop2' AND ROUTINE_NAME='p_count'")" \
	"FROM \`shop2\`.\`orders\`" "qualified reference rewritten"
assert_contains "$(is dst "SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='shop2' AND ROUTINE_NAME='p_unquoted'")" \
	"FROM \`shop2\`.orders" "unquoted reference rewritten"
assert_contains "$report" "{object: \"view shop2.a_big_ids\", definer: \"ghost@%\", now: \"the migration account, SQL SECURITY INVOKER\"}" "replaced definer in the report"
assert_contains "$report" "{object: \"PROCEDURE shop2.p_count\", definer: \"ghost@%\"" "replaced routine definer in the report"
assert_contains "$report" "warning: definer replaced by the migration account for view shop2.a_big_ids, PROCEDURE shop2.p_count: see the schema report" "skipped objects and replaced definers make the warning kept in the status"
assert_eq 1 "$(grep -c 'object: "view shop2.a_big_ids", definer' "$GW_TMP/schema.out")" "a replaced definer reported once (the view waited a pass for the one it reads)"
# Events: created disabled; no trigger before the cutover.
assert_eq "e_off	DISABLED	root@localhost
e_tick	DISABLED	root@localhost" "$(is dst "SELECT EVENT_NAME, STATUS, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA='shop2' ORDER BY 1")" "events created disabled, definer kept"
assert_eq "0" "$(is dst "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='shop2'")" "no trigger before the cutover"

act "$GW_TMP/whole.yaml" full
assert_eq "0" "$(is dst 'SELECT COUNT(*) FROM shop2.audit')" "no trigger or event fired on migrated rows"
act "$GW_TMP/whole.yaml" schema-after-full
assert_eq "0" "$(is dst "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='shop2'")" "incremental: triggers wait for the cutover"
act "$GW_TMP/whole.yaml" schema-cutover
report=$(cat "$GW_TMP/schema-cutover.out")
assert_eq "t_audit" "$(is dst "SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='shop2'")" "triggers at the cutover"
assert_contains "$report" "{object: \"TRIGGER shop2.t_dynamic\", reason: \"its body names database shop" "trigger naming the old database in a string skipped"
assert_eq "e_off	DISABLED	root@localhost
e_tick	ENABLED	root@localhost" "$(is dst "SELECT EVENT_NAME, STATUS, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA='shop2' ORDER BY 1")" "events enabled at the cutover as on the source, definer kept"
# count_gt N SERVER SQL: polled by wait_for (the query runs each time)
count_gt() { [ "$(is "$2" "$3")" -gt "$1" ]; }
wait_for "the enabled event runs on the destination" 60 \
	count_gt 0 dst "SELECT COUNT(*) FROM shop2.audit WHERE what = 'tick'"
mdb_q dst "SET GLOBAL event_scheduler = OFF"

# --- idempotence ----------------------------------------------------------
# Every stage again: nothing changes, nothing fails.
before=$(is dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='shop2'")
act "$GW_TMP/whole.yaml" schema
act "$GW_TMP/whole.yaml" schema-after-full
act "$GW_TMP/whole.yaml" schema-cutover
assert_eq "$before" "$(is dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='shop2'")" "second run"

# What a crash leaves: some objects there, a routine created but not yet
# altered to SQL SECURITY INVOKER, an event created enabled. The next run
# completes and repairs them.
copy_spec "$GW_TMP/crash.yaml" crash "schema, full, incremental" '    - database: shop
      renameTo: shop3'
mdb dst <<'SQL'
CREATE DATABASE shop3;
USE shop3;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50));
DELIMITER //
CREATE DEFINER='godwit'@'%' PROCEDURE p_count(OUT n INT)
  READS SQL DATA
BEGIN
  SELECT COUNT(*) INTO n FROM `shop3`.`orders`;
END//
DELIMITER ;
CREATE EVENT e_tick ON SCHEDULE EVERY 1 SECOND ENABLE DO INSERT INTO `shop3`.`audit` (what) VALUES ('tick');
SQL
act "$GW_TMP/crash.yaml" schema
cmp_tables shop3
assert_eq "p_count	INVOKER" "$(is dst "SELECT ROUTINE_NAME, SECURITY_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='shop3' AND ROUTINE_NAME='p_count'")" "half-done routine repaired"
assert_eq "e_off	DISABLED
e_tick	DISABLED" "$(is dst "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA='shop3' ORDER BY 1")" "half-done event disabled"
assert_eq "2" "$(is dst "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='shop3'")" "views completed"

# A table of another definition in the way: a clear error, nothing else
# touched; dropped, the run converges.
copy_spec "$GW_TMP/other.yaml" other "schema, full" '    - database: shop
      renameTo: shop4'
mdb_q dst "CREATE DATABASE shop4; CREATE TABLE shop4.places (id INT PRIMARY KEY);
	CREATE VIEW shop4.v_big AS SELECT 1 AS id"
rc=0
"$GODWIT" _action "$GW_TMP/other.yaml" schema >"$GW_TMP/other.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "schema fails on a table of another definition"
assert_contains "$(cat "$GW_TMP/other.out")" "destination table shop4.places already exists with another definition (column \`pt\` is missing on the destination): drop it" "error names the table and the difference"
mdb_q dst "DROP TABLE shop4.places"
rc=0
"$GODWIT" _action "$GW_TMP/other.yaml" schema >"$GW_TMP/other.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "schema fails on a view of another definition"
assert_contains "$(cat "$GW_TMP/other.out")" "VIEW shop4.v_big already exists on the destination with another definition" "error names the view"
mdb_q dst "DROP VIEW shop4.v_big"
act "$GW_TMP/other.yaml" schema
cmp_tables shop4

# Killed half-way: the next run converges to the same objects.
copy_spec "$GW_TMP/kill.yaml" kill "schema, full" '    - database: shop
      renameTo: shop5'
"$GODWIT" _action "$GW_TMP/kill.yaml" schema >"$GW_TMP/kill.out" 2>&1 &
pid=$!
wait_for "the first object of shop5" 60 \
	count_gt 0 dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='shop5'"
{
	kill -9 "$pid" || true
	wait "$pid" || true
} 2>/dev/null
act "$GW_TMP/kill.yaml" schema
cmp_tables shop5
assert_eq "$(is dst "SELECT GROUP_CONCAT(ROUTINE_NAME, DEFINER, SECURITY_TYPE ORDER BY 1) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='shop2'")" \
	"$(is dst "SELECT GROUP_CONCAT(ROUTINE_NAME, DEFINER, SECURITY_TYPE ORDER BY 1) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='shop5'")" "routines after a kill"
assert_eq "2" "$(is dst "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='shop5'")" "views after a kill"
# A full-only migration: triggers and events come at the end of the copy.
act "$GW_TMP/kill.yaml" full
act "$GW_TMP/kill.yaml" schema-after-full
assert_eq "t_audit" "$(is dst "SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='shop5'")" "full only: triggers after the copy"
assert_eq "e_off	DISABLED
e_tick	ENABLED" "$(is dst "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA='shop5' ORDER BY 1")" "full only: events enabled after the copy"
assert_eq "$(is src 'SELECT COUNT(*) FROM shop.audit')" "$(is dst 'SELECT COUNT(*) FROM shop5.audit')" "no trigger fired on copied rows"
echo ok
