# Foreign keys that cascade: InnoDB performs ON DELETE / ON UPDATE CASCADE,
# SET NULL below the binlog, which logs only the parent's change. The
# destination must perform them as the source did:
#   p   the parent
#   c   ON DELETE CASCADE ON UPDATE CASCADE to p
#   n   ON DELETE SET NULL ON UPDATE CASCADE to p
#   g   ON DELETE CASCADE to c (a grandchild of p, through c's cascade)
#   r   RESTRICT to p (its rows go first on the source)
# Parent keys deleted and changed while the incremental migration runs, in
# transactions of their own and in transactions that also insert, change and
# delete child rows (deleted parent keys inserted again, children added to
# them), in groups applied beside others (unrelated writes to a table u).
# Also the changes of the backlog that a copy read after (the parent's row
# already gone, or at its new key, its children not cascaded). Every table
# ends identical to the source.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE fk; USE fk;
	CREATE TABLE p (id INT PRIMARY KEY, v INT);
	CREATE TABLE c (id INT PRIMARY KEY, p INT, v INT,
		FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
	CREATE TABLE n (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE);
	CREATE TABLE g (id INT PRIMARY KEY, c INT, FOREIGN KEY (c) REFERENCES c (id) ON DELETE CASCADE);
	CREATE TABLE r (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES p (id));
	CREATE TABLE u (id INT PRIMARY KEY, v INT);
	INSERT INTO p SELECT seq, seq FROM seq_1_to_200;
	INSERT INTO c SELECT seq, (seq % 200) + 1, seq FROM seq_1_to_600;
	INSERT INTO n SELECT seq, (seq % 200) + 1 FROM seq_1_to_400;
	INSERT INTO g SELECT seq, (seq % 600) + 1 FROM seq_1_to_1200;
	INSERT INTO r SELECT seq, seq + 180 FROM seq_1_to_20;
	INSERT INTO u SELECT seq, seq FROM seq_1_to_100"
copy_spec "$GW_TMP/m.yaml" fkc "schema, full, incremental" "    - database: fk"
"$GODWIT" _action "$GW_TMP/m.yaml" schema >"$GW_TMP/schema.out" 2>&1 || { cat "$GW_TMP/schema.out"; fail schema; }
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full.out" 2>&1 || { cat "$GW_TMP/full.out"; fail full; }
"$GODWIT" _action "$GW_TMP/m.yaml" schema-after-full >"$GW_TMP/fks.out" 2>&1 || { cat "$GW_TMP/fks.out"; fail schema-after-full; }
assert_eq 4 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'fk'")" "foreign keys on the destination"

# Changes after the copy's position that the copy of p read already (a copy
# reads each table at its own moment): p's row 170 deleted and 171's key
# changed on the destination too, without their cascades, which the stream
# must still perform on the children the copy read before.
mdb_q src "DELETE FROM fk.p WHERE id = 170; UPDATE fk.p SET id = 4171 WHERE id = 171"
mdb_q dst "SET foreign_key_checks = 0; DELETE FROM fk.p WHERE id = 170; UPDATE fk.p SET id = 4171 WHERE id = 171"
assert_eq 0 "$(mdb_q src "SELECT COUNT(*) FROM fk.c WHERE p IN (170, 171)")" "source's children cascaded"
[ "$(mdb_q dst "SELECT COUNT(*) FROM fk.c WHERE p IN (170, 171)")" -gt 0 ] || fail "no child row left to cascade"

# Other foreign keys on the destination (outside the migration): the
# stream reads them all, and must find fk's among 80 more tables.
{
	echo "CREATE DATABASE fkpad; USE fkpad;"
	for i in $(seq 1 40); do
		echo "CREATE TABLE a$i (id INT PRIMARY KEY);"
		echo "CREATE TABLE b$i (id INT PRIMARY KEY, a INT, FOREIGN KEY (a) REFERENCES a$i (id) ON DELETE CASCADE);"
	done
} | mdb dst

export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
started() { mdb_q dst "SELECT COUNT(*) FROM godwit_meta.binlog_position WHERE task = 'fkc'" | grep -q 1; }
wait_for "the stream started" 30 started

{
	# transactions of their own
	echo "DELETE FROM p WHERE id = 1;"
	echo "UPDATE p SET id = 1001 WHERE id = 2;"
	echo "DELETE FROM p WHERE id IN (3, 4, 5);"
	echo "UPDATE p SET id = id + 2000 WHERE id BETWEEN 6 AND 10;"
	# a RESTRICT child's rows first, then its parent
	echo "BEGIN; DELETE FROM r WHERE p = 181; DELETE FROM p WHERE id = 181; COMMIT;"
	# mixed: children changed before and after their parent's change
	for i in $(seq 12 3 150); do
		echo "BEGIN;
			UPDATE u SET v = v + 1 WHERE id = $((i % 100 + 1));
			INSERT INTO c VALUES ($((i + 5000)), $i, 1);
			INSERT INTO g VALUES ($((i + 5000)), $((i + 5000)));
			UPDATE c SET v = v + 7 WHERE p = $((i + 1));
			DELETE FROM p WHERE id = $i;
			INSERT INTO p VALUES ($i, -1);
			INSERT INTO c VALUES ($((i + 6000)), $i, 2);
			INSERT INTO n VALUES ($((i + 6000)), $i);
			UPDATE p SET id = $((i + 3000)) WHERE id = $((i + 1));
			DELETE FROM g WHERE c = $((i + 6000 - 3));
			INSERT INTO g VALUES ($((i + 6000)), $((i + 6000)));
			DELETE FROM p WHERE id = $((i + 2));
			UPDATE n SET p = $((i + 3000)) WHERE id = $((i + 7000 - 3));
			INSERT INTO n VALUES ($((i + 7000)), $((i + 3000)));
			COMMIT;"
		echo "UPDATE u SET v = v + 1 WHERE id = $((i % 100 + 1));"
	done
	# a deleted key inserted again: its old children must not come back
	echo "BEGIN; DELETE FROM p WHERE id = 160; INSERT INTO p VALUES (160, 0); COMMIT;"
	echo "BEGIN; UPDATE p SET id = 9999 WHERE id = 161; UPDATE p SET id = 161 WHERE id = 9999; DELETE FROM p WHERE id = 161; COMMIT;"
} | mdb src fk || fail "source writes"

want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'fkc'")" = "$want" ]; }
wait_for "caught up" 120 at_end
kill -0 "$inc" 2>/dev/null || { cat "$GW_TMP/inc.out"; fail "the incremental migration ended"; }
touch "$GODWIT_STOP_FILE"
wait "$inc" || { cat "$GW_TMP/inc.out"; fail "incremental migration"; }

[ "$(mdb_q src "SELECT COUNT(*) FROM fk.n WHERE p IS NULL")" -gt 0 ] || fail "no SET NULL happened on the source"
for t in p c n g r u; do
	assert_eq "$(mdb_q src "SELECT COUNT(*) FROM fk.$t")" "$(mdb_q dst "SELECT COUNT(*) FROM fk.$t")" "rows of $t"
	assert_eq "$(mdb_q src "CHECKSUM TABLE fk.$t" | cut -f2)" "$(mdb_q dst "CHECKSUM TABLE fk.$t" | cut -f2)" "table $t identical"
done
echo ok
