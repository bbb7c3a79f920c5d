# The hand-off position is read before the first row, by an account
# without RELOAD (no FLUSH TABLES WITH READ LOCK: the source never stops
# for the copy), and a resumed copy keeps the first position.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE h; USE h; CREATE TABLE h.t (id INT PRIMARY KEY, v INT);
	INSERT INTO h.t SELECT seq, seq FROM seq_1_to_20000;
	CREATE USER lim@'%' IDENTIFIED BY '$GW_PASSWORD';
	GRANT SELECT, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO lim@'%'"
assert_eq "0" "$(mdb_q src "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = \"'lim'@'%'\" AND PRIVILEGE_TYPE = 'RELOAD'")" "lim has no RELOAD"
mdb_q dst "CREATE DATABASE h; CREATE TABLE h.t (id INT PRIMARY KEY, v INT)"
copy_spec "$GW_TMP/m.yaml" hand "full, incremental" '    - database: h'
# The source account is lim (the first endpoint in the file).
sed -i '0,/user: godwit/s//user: lim/' "$GW_TMP/m.yaml"
grep -q 'user: lim' "$GW_TMP/m.yaml" || fail "spec with lim"
before=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")
mdb_q src "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out" 2>&1 || { cat "$GW_TMP/out"; fail "full copy as lim"; }
mdb_q src "SET GLOBAL general_log = 0"
assert_eq "20000" "$(mdb_q dst 'SELECT COUNT(*) FROM h.t')" "rows copied"
assert_eq "$before" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task='hand'")" "position recorded"
assert_eq "0" "$(mdb_q src "SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE '%FLUSH%' OR argument LIKE '%LOCK TABLE%'")" "no FLUSH or LOCK on the source"
# Read before the first row: the position query comes before any SELECT of h.t.
order=$(mdb_q src "SELECT MIN(IF(argument LIKE '%gtid_binlog_pos%', event_time, NULL)) <= MIN(IF(argument LIKE '%FROM \`h\`.\`t\`%', event_time, NULL))
	AND (SELECT MIN(thread_id) FROM mysql.general_log WHERE argument LIKE '%gtid_binlog_pos%') IS NOT NULL FROM mysql.general_log")
assert_eq "1" "$order" "position read before the rows"
assert_eq "1" "$(mdb_q dst "SELECT (SELECT updated_at FROM godwit_meta.binlog_position WHERE task='hand') <= (SELECT MIN(updated_at) FROM godwit_meta.copy_state WHERE task='hand')")" "position committed before the first chunk"
# A second run (as after a crash) keeps the first position.
mdb_q src "INSERT INTO h.t VALUES (20001, 1)"
mdb_q dst "UPDATE godwit_meta.copy_table SET done = 0 WHERE task = 'hand'"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out2" 2>&1 || { cat "$GW_TMP/out2"; fail "second run"; }
assert_eq "$before" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task='hand'")" "position kept"
echo ok
