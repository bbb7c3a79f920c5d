# Hostile object names on the source (the SQL injection into the
# destination's DDL of docs/security.md). 1. The attack: a CHECK constraint
# whose name holds a newline, which turned SHOW CREATE TABLE into CREATE
# TABLE ... SELECT FROM the destination's mysql.user; the table must arrive
# as the source has it, with the source's rows only. 2. Databases, tables,
# columns, keys, constraints, foreign keys, views, triggers, routines and
# events named with newlines, backticks, quotes, '#', '--' and '/*' come
# through intact (information_schema compared on both sides), also renamed,
# and with a column subset and renames.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
act() { # SPEC ACTION...: runs each, output in $GW_TMP/ACTION.out
	local spec=$1 a
	shift
	for a in "$@"; do
		"$GODWIT" _action "$spec" "$a" >"$GW_TMP/$a.out" 2>&1 || {
			cat "$GW_TMP/$a.out"
			fail "$a of $spec"
		}
	done
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# --- 1. the attack ------------------------------------------------------------
mdb src <<'SQL'
CREATE DATABASE inj;
CREATE TABLE inj.t (id INT PRIMARY KEY, u VARCHAR(512), CONSTRAINT `x
KEY k (id)) COMMENT='` CHECK (id > 0)) COMMENT=' SELECT ROW_NUMBER() OVER () + 1000 AS id, CONCAT(User,0x40,Host,0x3a,authentication_string) AS u FROM mysql.user # FOREIGN KEY ';
INSERT INTO inj.t VALUES (1, 'one'), (2, 'two');
SQL
copy_spec "$GW_TMP/inj.yaml" inj "schema, full" '    - database: inj'
act "$GW_TMP/inj.yaml" schema full schema-after-full
table_is() { # SERVER: the table as information_schema describes it, and its rows
	mdb_q "$1" "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='inj' ORDER BY ORDINAL_POSITION;
		SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA='inj' ORDER BY 1;
		SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='inj';
		SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='inj';
		SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='inj' ORDER BY 1;
		SELECT * FROM inj.t ORDER BY id"
}
assert_eq "$(table_is src)" "$(table_is dst)" "the table arrives as the source has it: columns, constraints, comment, indexes, rows"
assert_eq "1 one
2 two" "$(mdb_q dst 'SELECT id, u FROM inj.t ORDER BY id' | tr '\t' ' ')" "only the source's rows (nothing of the destination's mysql.user)"
assert_eq "x
KEY k (id)) COMMENT='" "$(mdb_q dst "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='inj'")" "the constraint's name is one name"

# --- 2. hostile names -------------------------------------------------------------
H='h`o"s'"'"'t#--/*
x'
H2='r`e
n#'"'"'--'
mdb src --comments <<'SQL'
CREATE DATABASE `h``o"s't#--/*
x`;
USE `h``o"s't#--/*
x`;
CREATE TABLE `t``1
-- "q' #x /*` (
  `id` INT PRIMARY KEY,
  `c``1
-- x` INT NOT NULL DEFAULT 0,
  `c'2 #` VARCHAR(20),
  `c"3 /*` INT AS (`c``1
-- x` + 1) VIRTUAL,
  KEY `k
KEY z (id)) COMMENT='` (`c'2 #`),
  CONSTRAINT `ck
' OR 1 #` CHECK (`c``1
-- x` >= 0)
) COMMENT='c#--/* `x`';
CREATE TABLE `p``2
#` (
  `id` INT PRIMARY KEY,
  `ref` INT,
  `x` VARCHAR(40),
  KEY `r` (`ref`),
  CONSTRAINT `fk
-- '` FOREIGN KEY (`ref`) REFERENCES `t``1
-- "q' #x /*` (`id`)
);
INSERT INTO `t``1
-- "q' #x /*` (`id`, `c``1
-- x`, `c'2 #`) VALUES (1, 10, 'a#b'), (2, 20, 'c--d'), (3, 30, NULL);
INSERT INTO `p``2
#` VALUES (1, 1, 'one'), (2, 3, 'two');
CREATE VIEW `v``
#` AS SELECT `id` AS `a``b
c`, 'lit `h``o"s''t#--/*
x`.t' AS `s` FROM `t``1
-- "q' #x /*`;
DELIMITER //
CREATE TRIGGER `tr``
--` BEFORE INSERT ON `p``2
#` FOR EACH ROW SET NEW.`x` = CONCAT(NEW.`x`, ' #-- /*')//
CREATE PROCEDURE `p``'
/*`(OUT n INT)
BEGIN
  -- a comment with `h``o"s't#--/*
  SELECT COUNT(*) INTO n FROM `h``o"s't#--/*
x`.`t``1
-- "q' #x /*` WHERE `c``1
-- x` >= 10;
END//
CREATE FUNCTION `f"``
#`(a INT) RETURNS INT DETERMINISTIC RETURN a + 1//
DELIMITER ;
CREATE EVENT `e``
'` ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM `p``2
#` WHERE 1 = 0;
SQL
mdb_q src "SET GLOBAL event_scheduler = OFF"
mdb_q dst "SET GLOBAL event_scheduler = OFF"

# cmp DB_ON_DST WHAT SQL: the same rows for the hostile database on the
# source and DB_ON_DST on the destination (SQL reads the name from @db).
cmp() {
	local a b
	a=$(mdb_q src "SET @db = CONVERT(X'$(hex "$H")' USING utf8mb4); $3")
	b=$(mdb_q dst "SET @db = CONVERT(X'$(hex "$1")' USING utf8mb4); $3")
	[ -n "$a" ] || fail "$2: nothing on the source"
	[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -20; fail "$2 differ"; }
}
cmp_structure() { # DB_ON_DST: tables, columns, keys, constraints, data
	cmp "$1" tables "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = @db ORDER BY 1"
	cmp "$1" columns "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, '-'), EXTRA, IFNULL(GENERATION_EXPRESSION, '-') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = @db ORDER BY 1, 3"
	cmp "$1" indexes "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = @db ORDER BY 1, 2, 3"
	cmp "$1" constraints "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = @db ORDER BY 1, 2"
	cmp "$1" checks "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = @db ORDER BY 1, 2"
	cmp "$1" "foreign keys" "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA = @db FROM information_schema.KEY_COLUMN_USAGE k WHERE k.TABLE_SCHEMA = @db AND k.REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1, 2"
}

# 2a. the whole database, same name
copy_spec "$GW_TMP/same.yaml" same "schema, full" '    - database: "h`o\"s'"'"'t#--/*\nx"'
act "$GW_TMP/same.yaml" schema full schema-after-full
assert_not_contains "$(cat "$GW_TMP/schema.out")" "skipped:" "nothing skipped"
cmp_structure "$H"
cmp "$H" views "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = @db ORDER BY 1"
cmp "$H" routines "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = @db ORDER BY 1"
cmp "$H" triggers "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = @db ORDER BY 1"
cmp "$H" events "SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = @db ORDER BY 1"
T1_ROWS="SELECT id, HEX(\`c\`\`1
-- x\`), HEX(\`c'2 #\`), \`c\"3 /*\` FROM \`t\`\`1
-- \"q' #x /*\` ORDER BY id"
assert_eq "$(mdb src -N -D "$H" -e "$T1_ROWS")" "$(mdb dst -N -D "$H" -e "$T1_ROWS")" "rows under hostile names"
assert_eq "$(mdb src -N -D "$H" -e 'SELECT * FROM `p``2
#` ORDER BY id')" "$(mdb dst -N -D "$H" -e 'SELECT * FROM `p``2
#` ORDER BY id')" "rows of the table with the foreign key"
assert_eq "3" "$(mdb dst -N -D "$H" -e 'CALL `p``'"'"'
/*`(@n); SELECT @n')" "the procedure runs on the destination"
assert_eq "8" "$(mdb dst -N -D "$H" -e 'SELECT `f"``
#`(7)')" "the function runs on the destination"
mdb dst -D "$H" -e 'INSERT INTO `p``2
#` VALUES (3, 1, '"'x'"')'
assert_eq "x #-- /*" "$(mdb dst -N -D "$H" -e 'SELECT x FROM `p``2
#` WHERE id = 3')" "the trigger fires on the destination"

# 2b. the whole database, renamed to another hostile name: definitions name
# the new database wherever they named the old one as a name; the literal
# that spells the old name stays as it is
copy_spec "$GW_TMP/ren.yaml" ren "schema, full" '    - database: "h`o\"s'"'"'t#--/*\nx"
      renameTo: "r`e\nn#'"'"'--"'
act "$GW_TMP/ren.yaml" schema full schema-after-full
assert_not_contains "$(cat "$GW_TMP/schema.out")" "skipped:" "nothing skipped"
cmp_structure "$H2"
QH=$(hex "\`$(printf '%s' "$H" | sed 's/`/``/g')\`.")
QH2=$(hex "\`$(printf '%s' "$H2" | sed 's/`/``/g')\`.")
mapped() { # the source's definitions with `H`. written `H2`.
	echo "REPLACE($1, CONVERT(X'$QH' USING utf8mb4), CONVERT(X'$QH2' USING utf8mb4))"
}
cmp "$H2" "renamed views" "SELECT TABLE_NAME, IF(@db = CONVERT(X'$(hex "$H")' USING utf8mb4), $(mapped VIEW_DEFINITION), VIEW_DEFINITION) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = @db ORDER BY 1"
cmp "$H2" "renamed routines" "SELECT ROUTINE_NAME, IF(@db = CONVERT(X'$(hex "$H")' USING utf8mb4), $(mapped ROUTINE_DEFINITION), ROUTINE_DEFINITION) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = @db ORDER BY 1"
assert_contains "$(mdb_q dst "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = CONVERT(X'$(hex "$H2")' USING utf8mb4)")" \
	"'lit \`h\`\`o\"s\\'t#--/*\\nx\`.t'" "the literal naming the old database is left alone"
assert_contains "$(mdb_q dst "SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = CONVERT(X'$(hex "$H2")' USING utf8mb4) AND ROUTINE_TYPE = 'PROCEDURE'")" \
	"-- a comment with \`h\`\`o\"s't#--/*" "the comment is left alone"
assert_eq "3" "$(mdb dst -N -D "$H2" -e 'CALL `p``'"'"'
/*`(@n); SELECT @n')" "the renamed procedure reads the renamed database"

# 2c. a table selection: renamed, some columns, a column renamed
copy_spec "$GW_TMP/sub.yaml" sub "schema, full" '    - database: "h`o\"s'"'"'t#--/*\nx"
      renameTo: "s`u\nb"
      tables:
        - name: "t`1\n-- \"q'"'"' #x /*"
          renameTo: "n`e\nw #"
          columns: [id, "c'"'"'2 #", "c`1\n-- x"]
          renameColumns: {"c'"'"'2 #": "r`2\n/*"}'
act "$GW_TMP/sub.yaml" schema full
SUB='s`u
b'
NEW='n`e
w #'
assert_eq "id
c\`1
-- x
r\`2
/*" "$(mdb_q dst "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = CONVERT(X'$(hex "$SUB")' USING utf8mb4) AND TABLE_NAME = CONVERT(X'$(hex "$NEW")' USING utf8mb4) ORDER BY ORDINAL_POSITION")" \
	"the selected columns under their names, the generated column on them left out"
assert_eq "k
KEY z (id)) COMMENT='	r\`2
/*" "$(mdb_q dst "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = CONVERT(X'$(hex "$SUB")' USING utf8mb4) AND INDEX_NAME <> 'PRIMARY'")" \
	"the key follows its renamed column, its own name intact"
assert_eq "ck
' OR 1 #	\`c\`\`1
-- x\` >= 0" "$(mdb_q dst "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = CONVERT(X'$(hex "$SUB")' USING utf8mb4)")" \
	"the check constraint intact"
assert_eq "$(mdb src -N -D "$H" -e 'SELECT id, HEX(`c``1
-- x`), HEX(`c'"'"'2 #`) FROM `t``1
-- "q'"'"' #x /*` ORDER BY id')" \
	"$(mdb dst -N -D "$SUB" -e 'SELECT id, HEX(`c``1
-- x`), HEX(`r``2
/*`) FROM `n``e
w #` ORDER BY id')" "the selected columns' rows"
