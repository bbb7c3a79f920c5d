# A big table does not wait behind small ones, nor is it left to one
# worker: with parallelism 2, both workers take parts of the biggest table
# first. Made visible with a read lock held on the destination table: both
# workers are seen waiting to load into it at once; released, the copy
# completes identical.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE p; USE p; CREATE TABLE huge (id INT PRIMARY KEY, v CHAR(20));
	INSERT INTO huge SELECT seq, 'v' FROM seq_1_to_150000;
	CREATE TABLE s1 (id INT PRIMARY KEY); INSERT INTO s1 SELECT seq FROM seq_1_to_100;
	CREATE TABLE s2 (id INT PRIMARY KEY); INSERT INTO s2 SELECT seq FROM seq_1_to_100;
	ANALYZE TABLE huge" >/dev/null
copy_spec "$GW_TMP/m.yaml" par "schema, full" '    - database: p' "  parallelism: 2"
"$GODWIT" _action "$GW_TMP/m.yaml" schema >"$GW_TMP/out.schema" 2>&1 || { cat "$GW_TMP/out.schema"; fail schema; }

mdb dst -e "LOCK TABLES p.huge READ; SELECT SLEEP(600)" >/dev/null 2>&1 &
wait_for "the lock is held" 30 sh -c "[ \"\$(mariadb --no-defaults -uroot -S '$dst_SOCK' -N -e \"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(600)'\")\" = 1 ]"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out.full" 2>&1 &
copy=$!
loading() {
	mdb_q dst "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%\`huge\`%'"
}
wait_for "both workers loading into the big table" 60 sh -c "[ \"\$(mariadb --no-defaults -uroot -S '$dst_SOCK' -N -e \"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%\\\`huge\\\`%'\")\" = 2 ]"
assert_eq "2" "$(loading)" "two workers on one table"
mdb_q dst "KILL $(mdb_q dst "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(600)'")"
wait "$copy" || { cat "$GW_TMP/out.full"; fail "full copy"; }
q="SELECT * FROM p.huge ORDER BY id"
assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "huge identical"
assert_eq "100" "$(mdb_q dst 'SELECT COUNT(*) FROM p.s2')" "small tables copied"
echo ok
