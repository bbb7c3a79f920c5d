# Foreign keys that cascade, from a MySQL source: InnoDB performs ON
# DELETE / ON UPDATE CASCADE and SET NULL below the binlog, and MySQL 8.0
# logs a statement on the parent as a TABLE_MAP of every table it
# write-locked (the parent and the children the cascade may change) and
# the parent's rows event alone. tests/mysqld/genfkbinlog.py writes such a
# file as MySQL 8.0.40 does (GTIDs, CRC32), the MySQL double serves it,
# released while godwit streams, and the destination (a MariaDB holding the
# tables with their foreign keys and the rows before) must end with the rows
# the source had, the cascades performed there:
#   p  the parent
#   c  ON DELETE CASCADE ON UPDATE CASCADE to p
#   n  ON DELETE SET NULL to p
# Parents deleted (one, two in a rows event), parent keys changed (one,
# two), a deleted key inserted again with a new child, children changed
# before and after their parent's change in one transaction, a child
# deleted before its parent.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

U=8a94f357-aab4-11df-86ab-c80aa9429562
F=$GW_TMP/fk.binlog
python3 "$GW_ROOT/tests/mysqld/genfkbinlog.py" --out "$F" --uuid "$U" --first-gno 101 \
	--initial "$GW_TMP/init" --final "$GW_TMP/final" || fail "genfkbinlog.py"

# MariaDB's own reader decodes the file: 9 transactions, the children's
# TABLE_MAPs without their rows (c's rows only where a statement changed
# c itself: 5 inserted, 2 updated, 1 deleted; n's: 1 inserted).
mariadb-binlog --no-defaults -v --base64-output=decode-rows "$F" >"$GW_TMP/fk.txt" 2>"$GW_TMP/fk.err" ||
	{ cat "$GW_TMP/fk.err"; fail "mariadb-binlog cannot read the file"; }
assert_eq 9 "$(grep -c '	Xid = ' "$GW_TMP/fk.txt")" "mariadb-binlog: transactions"
assert_eq 15 "$(grep -c 'Table_map: `fk`.`c` mapped to number 91' "$GW_TMP/fk.txt")" "mariadb-binlog: c's TABLE_MAPs"
assert_eq 7 "$(grep -c 'Table_map: `fk`.`n` mapped to number 92' "$GW_TMP/fk.txt")" "mariadb-binlog: n's TABLE_MAPs"
assert_eq "5 2 1 1 0 0" "$(for s in 'INSERT INTO `fk`.`c`' 'UPDATE `fk`.`c`' 'DELETE FROM `fk`.`c`' \
	'INSERT INTO `fk`.`n`' 'UPDATE `fk`.`n`' 'DELETE FROM `fk`.`n`'; do
	grep -c "^### $s\$" "$GW_TMP/fk.txt"
done | tr '\n' ' ' | sed 's/ $//')" "mariadb-binlog: rows of the children"
assert_eq 7 "$(grep -c '^### DELETE FROM `fk`.`p`$' "$GW_TMP/fk.txt")" "mariadb-binlog: parents deleted"

mdb_start layouts
mdb_start dst
# the double answers the schema from layouts (no foreign keys needed
# there); the destination holds the tables, their foreign keys, the rows
mdb layouts <"$GW_TMP/init/schema.sql" || fail "layouts schema"
mdb dst <"$GW_TMP/init/schema.sql" || fail "destination schema"
assert_eq 2 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'fk'")" \
	"foreign keys on the destination"

myd_start src --version 8.0.40 --binlog "$F" --hold-after-txn 0 --forward layouts
copy_spec "$GW_TMP/m.yaml" myfk incremental '    - database: fk'
server_key "$GW_TMP/m.yaml" "$src_DIR"
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
wait_for "streaming" 60 grep -q "incremental: streaming" "$GW_TMP/inc.out"
myd_ctl src release all >/dev/null
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'myfk'")" = "$U:1-109" ]; }
wait_for "GTIDs 101-109 applied" 60 at_end
kill -0 "$inc" 2>/dev/null || { cat "$GW_TMP/inc.out"; fail "the incremental migration ended"; }
touch "$GODWIT_STOP_FILE"
wait "$inc" || { cat "$GW_TMP/inc.out"; tail -30 "$src_LOG"; fail "incremental migration"; }
assert_contains "$(cat "$src_LOG")" "COM_BINLOG_DUMP" "streamed from the double"

# The rows after, cascades done (genfkbinlog.py's --final, checked by
# hand here for what the cascades alone decide).
rows() { mdb_q dst "SELECT * FROM fk.$1 ORDER BY id"; }
for t in p c n; do
	assert_eq "$(cat "$GW_TMP/final/$t.tsv")" "$(rows "$t" | sed 's/\tNULL/\t\\N/g')" "fk.$t after the stream"
done
assert_eq "6 7 8 1011 1503 2509" "$(mdb_q dst "SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ' ') FROM fk.p")" "parents"
assert_eq "3:1503 6:6 8:8 9:2509 13:1503 16:6 18:8 19:2509 21:1011 22:1011 24:7 25:2509" \
	"$(mdb_q dst "SELECT GROUP_CONCAT(id, ':', p ORDER BY id SEPARATOR ' ') FROM fk.c")" \
	"c: children of deleted parents gone, of changed keys moved"
assert_eq "1 2 5 6" "$(mdb_q dst "SELECT GROUP_CONCAT(id ORDER BY id SEPARATOR ' ') FROM fk.n WHERE p IS NULL")" \
	"n: children of deleted parents set to NULL"
echo ok
