# DDL in the stream, read by the applier on the lexer's tokens (engine/ddl.h),
# with database app renamed app2: the issue's view (a literal that spells
# `app`.t, a quoted and an unquoted reference) keeps its literal and reads
# the renamed database; tables, columns and constraints named with
# newlines, backticks, quotes and comment markers are created, altered and
# filled under their own names.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; USE app;
	CREATE TABLE t (id INT PRIMARY KEY, x VARCHAR(20)); INSERT INTO t VALUES (1, 'a');
	CREATE TABLE u (id INT PRIMARY KEY, y VARCHAR(20)); INSERT INTO u VALUES (1, 'b')"
copy_spec "$GW_TMP/m.yaml" hddl "schema, full, incremental" '    - database: app
      renameTo: app2'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" $a >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail $a; }
done
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
INC=$!

mdb src --comments <<'SQL'
USE app;
CREATE VIEW v AS SELECT '`app`.t is old' AS c, x, y FROM `app`.t JOIN app.u ON t.id = u.id;
CREATE TABLE `h``1
-- "q' #x /*` (`id` INT PRIMARY KEY, `c``1
#` INT, CONSTRAINT `ck
' OR 1 #` CHECK (`c``1
#` >= 0)) COMMENT 'app.t /* x */';
INSERT INTO `h``1
-- "q' #x /*` VALUES (1, 10), (2, 20);
ALTER TABLE /* app.t */ `app`.`h``1
-- "q' #x /*` ADD COLUMN `n
-- '` VARCHAR(10) DEFAULT 'app.u';
INSERT INTO `h``1
-- "q' #x /*` VALUES (3, 30, 'z');
CREATE TABLE app.last (id INT PRIMARY KEY);
SQL
has_last() { [ -n "$(mdb_q dst "SHOW TABLES IN app2 LIKE 'last'")" ]; }
wait_for "the last DDL applied" 120 has_last
touch "$GODWIT_STOP_FILE"
wait "$INC" || { cat "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }

assert_eq "\`app\`.t is old	a	b" "$(mdb_q dst 'SELECT * FROM app2.v')" "the view keeps its literal and reads the renamed database"
assert_contains "$(mdb_q dst "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'app2'")" \
	"from (\`app2\`.\`t\` join \`app2\`.\`u\`" "both references renamed"
H='h`1
-- "q'"'"' #x /*'
desc() { # SERVER DB: the hostile table's columns, constraints, comment and rows
	mdb_q "$1" "SELECT COLUMN_NAME, COLUMN_TYPE, IFNULL(COLUMN_DEFAULT, '-') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$2' AND TABLE_NAME LIKE 'h%' ORDER BY ORDINAL_POSITION;
		SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '$2';
		SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$2' AND TABLE_NAME LIKE 'h%'"
	mdb "$1" -N -D "$2" -e 'SELECT * FROM `h``1
-- "q'"'"' #x /*` ORDER BY id'
}
assert_eq "$(desc src app)" "$(desc dst app2)" "the table with hostile names: created, altered and filled as on the source"
assert_contains "$(desc dst app2)" "$H" "under its own name"
