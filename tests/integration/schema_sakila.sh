# The whole sakila database (views, triggers, routines, FKs, fulltext
# indexes) migrated: schema, full copy, then foreign keys and, at
# cutover, triggers; every object equal on both sides. A second run of each
# stage changes nothing. Then a renamed database/table/column selection.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb src <"$GW_SHARED/datasets/sakila/sakila-schema.sql"
mdb src <"$GW_SHARED/datasets/sakila/sakila-data.sql"
copy_spec "$GW_TMP/m.yaml" sakila "schema, full, incremental" '    - database: sakila'

act() { "$GODWIT" _action "$GW_TMP/m.yaml" "$1" >"$GW_TMP/$1.out" 2>&1 || { cat "$GW_TMP/$1.out"; fail "$1"; }; }
act schema
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='sakila'")" "no trigger before cutover"
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='sakila'")" "no FK before the copy"
act full
act schema-after-full
act schema-cutover

# information_schema compared, object by object.
cmp_is() { # what query
	local a b
	a=$(mdb_q src "$2")
	b=$(mdb_q dst "$2")
	[ -n "$a" ] || fail "$1: nothing on the source"
	[ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -20; fail "$1 differ"; }
}
cmp_is columns "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT,'-'), EXTRA, IFNULL(COLLATION_NAME,'-'), IFNULL(GENERATION_EXPRESSION,'-'), COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='sakila' ORDER BY 1, 3"
cmp_is indexes "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE, IFNULL(SUB_PART,'-'), IFNULL(COLLATION,'-'), NULLABLE, INDEX_COMMENT FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='sakila' ORDER BY 1, 2, 3"
cmp_is views "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, IS_UPDATABLE, DEFINER, SECURITY_TYPE, ALGORITHM, CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.VIEWS WHERE TABLE_SCHEMA='sakila' ORDER BY 1"
cmp_is routines "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, DEFINER, ROUTINE_COMMENT FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='sakila' ORDER BY 1"
cmp_is parameters "SELECT SPECIFIC_NAME, ORDINAL_POSITION, IFNULL(PARAMETER_MODE,'-'), IFNULL(PARAMETER_NAME,'-'), DTD_IDENTIFIER FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA='sakila' ORDER BY 1, 2"
cmp_is triggers "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_ORDER, ACTION_STATEMENT, ACTION_TIMING, SQL_MODE, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='sakila' ORDER BY 1"
cmp_is fks "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE, MATCH_OPTION FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='sakila' ORDER BY 1"
cmp_is fk_columns "SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, IFNULL(REFERENCED_TABLE_SCHEMA,'-'), IFNULL(REFERENCED_TABLE_NAME,'-'), IFNULL(REFERENCED_COLUMN_NAME,'-') FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA='sakila' ORDER BY 1, 2, 4"
cmp_is constraints "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA='sakila' ORDER BY 1, 2"
cmp_is tables "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='sakila' ORDER BY 1"
# every object of each kind is there (sakila's counts), not just the same
for kind in "VIEWS TABLE_SCHEMA 7" "TRIGGERS TRIGGER_SCHEMA 6" "ROUTINES ROUTINE_SCHEMA 6" \
	"REFERENTIAL_CONSTRAINTS CONSTRAINT_SCHEMA 22"; do
	set -- $kind
	assert_eq "$3" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.$1 WHERE $2='sakila'")" "$1 on the destination"
done
# (address.location and its SPATIAL key are behind /*!50705 */, which
# MariaDB skips: schema_rename.sh has a SPATIAL index)
assert_eq "FULLTEXT" "$(mdb_q dst "SELECT GROUP_CONCAT(DISTINCT INDEX_TYPE ORDER BY INDEX_TYPE SEPARATOR ' ') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='sakila' AND INDEX_TYPE <> 'BTREE'")" "FULLTEXT index"
for t in actor address film film_text payment rental; do
	assert_eq "$(mdb_q src "CHECKSUM TABLE sakila.$t" | cut -f2)" "$(mdb_q dst "CHECKSUM TABLE sakila.$t" | cut -f2)" "data of $t"
done
# Every stage again: nothing changes, nothing fails.
before=$(mdb_q dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='sakila'")
act schema
act schema-after-full
act schema-cutover
assert_eq "$before" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='sakila'")" "idempotent"

# Renames and a column selection: database, table and column renamed.
copy_spec "$GW_TMP/r.yaml" renamed "schema, full" '    - database: sakila
      renameTo: shop
      tables:
        - name: actor
          renameTo: performer
          columns: [actor_id, first_name, last_name]
          renameColumns: {last_name: family_name}'
"$GODWIT" _action "$GW_TMP/r.yaml" schema >"$GW_TMP/r.out" 2>&1 || { cat "$GW_TMP/r.out"; fail "renamed schema"; }
"$GODWIT" _action "$GW_TMP/r.yaml" full >>"$GW_TMP/r.out" 2>&1 || { cat "$GW_TMP/r.out"; fail "renamed full"; }
assert_eq "actor_id,first_name,family_name" \
	"$(mdb_q dst "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='performer'")" \
	"renamed table has the selected, renamed columns"
assert_eq "$(mdb_q src 'SELECT COUNT(*), SUM(CRC32(last_name)) FROM sakila.actor')" \
	"$(mdb_q dst 'SELECT COUNT(*), SUM(CRC32(family_name)) FROM shop.performer')" "renamed data"
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='shop'")" "table selections get tables only"
echo ok
