# An INCIDENT event in a MySQL source's binlog (LOST_EVENTS: the binlog
# misses changes the source made): the transactions before it are
# applied, then the migration stops (fatal, naming the incident and its
# message, a new full migration the fix), and stops there again when
# started again (the stop is kept with the position: MySQL, asked by GTID
# set, would not send the incident again), precheck failing with it: the
# transaction after it is never applied past the gap.
# The file is written by tests/lib/mysql_binlog.py as MySQL 8.0.40 writes
# one, and served by the MySQL double.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

U=3e11fa47-71ca-11e1-9e33-c80aa9429562
python3 "$GW_ROOT/tests/lib/mysql_binlog.py" --kind incident --out "$GW_TMP/i.binlog" --uuid "$U"
python3 "$GW_ROOT/tests/mysqld/genbinlog.py" --out "$GW_TMP/schema.binlog" --tables 1 --rows 0 \
	--transactions 0 --initial "$GW_TMP/init"
mdb_start layouts
mdb_start dst
mdb layouts <"$GW_TMP/init/schema.sql"
mdb dst <"$GW_TMP/init/schema.sql"
myd_start src --version 8.0.40 --binlog "$GW_TMP/i.binlog" --hold-after-txn 0 --forward layouts
copy_spec "$GW_TMP/i.yaml" inc incremental '    - database: sbtest'
server_key "$GW_TMP/i.yaml" "$src_DIR"
"$GODWIT" _action "$GW_TMP/i.yaml" incremental >"$GW_TMP/i.out" 2>&1 &
inc=$!
wait_for "streaming" 60 grep -q "incremental: streaming" "$GW_TMP/i.out"
myd_ctl src release all >/dev/null
ended() { ! kill -0 "$inc" 2>/dev/null; }
wait_for "the stop at the incident" 60 ended
wait "$inc" && fail "the migration went on past an incident"
msg=$(grep "godwit _action incremental" "$GW_TMP/i.out")
assert_contains "$msg" "fatal: the source's binlog has an incident at binlog.000001:466 (LOST_EVENTS: error writing to the binary log)" \
	"the incident named, with its position and message"
assert_contains "$msg" "a new full migration is needed" "the fix"
assert_eq "1" "$(mdb_q dst "SELECT GROUP_CONCAT(id) FROM sbtest.sbtest1")" "what came before applied, nothing after"
assert_eq "$U:1" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'inc'")" \
	"the position stays before the incident"
# started again (by GTID set MySQL would not send the incident again, it
# is in no transaction: the stop is kept with the position), and precheck
# says so
timeout 60 "$GODWIT" _action "$GW_TMP/i.yaml" incremental >"$GW_TMP/i2.out" 2>&1 &&
	fail "a second run went past the incident"
assert_contains "$(cat "$GW_TMP/i2.out")" "stopped for good at this position: the source's binlog has an incident" \
	"stops again"
assert_eq "1" "$(mdb_q dst "SELECT GROUP_CONCAT(id) FROM sbtest.sbtest1")" "still nothing after it"
out=$("$GODWIT" precheck "$GW_TMP/i.yaml" 2>&1) && fail "precheck passes a halted migration"
assert_contains "$out" "the incremental migration stopped for good at $U:1" "precheck names the stop"
echo ok
