# XA transactions from a MySQL source: MySQL logs an XA transaction as a
# group "XA START ... XA END, XA_PREPARE" and, later, a group "XA COMMIT"
# or "XA ROLLBACK". No MySQL binlog of the shared data sets has one, so
# tests/lib/mysql_binlog.py writes one as MySQL 8.0.40 does (with
# tests/mysqld/genbinlog.py's event writer) and the MySQL double serves it
# as a live primary. A prepared transaction is not applied before its XA
# COMMIT, even when the applier is killed in between; a rolled-back one
# never; a one-phase one at once; each exactly once (triggers count).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

U=3e11fa47-71ca-11e1-9e33-c80aa9429562
python3 "$GW_ROOT/tests/lib/mysql_binlog.py" --kind xa --out "$GW_TMP/xa.binlog" --uuid "$U"
python3 "$GW_ROOT/tests/mysqld/genbinlog.py" --out "$GW_TMP/schema.binlog" --tables 1 --rows 0 \
	--transactions 0 --initial "$GW_TMP/init"
mdb_start layouts
mdb_start dst
mdb layouts <"$GW_TMP/init/schema.sql"
mdb dst <"$GW_TMP/init/schema.sql"
mdb_q dst "CREATE DATABASE probe; CREATE TABLE probe.seen (id INT PRIMARY KEY, ins INT NOT NULL DEFAULT 0,
	  upd INT NOT NULL DEFAULT 0);
	CREATE TRIGGER sbtest.t_ins AFTER INSERT ON sbtest.sbtest1 FOR EACH ROW
	  INSERT INTO probe.seen (id, ins) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE ins = ins + 1;
	CREATE TRIGGER sbtest.t_upd AFTER UPDATE ON sbtest.sbtest1 FOR EACH ROW
	  INSERT INTO probe.seen (id, upd) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE upd = upd + 1"
myd_start src --version 8.0.40 --binlog "$GW_TMP/xa.binlog" --hold-after-txn 0 --forward layouts
copy_spec "$GW_TMP/x.yaml" x incremental '    - database: sbtest'
server_key "$GW_TMP/x.yaml" "$src_DIR"
run() {
	"$GODWIT" _action "$GW_TMP/x.yaml" incremental >>"$GW_TMP/x.out" 2>&1 &
	INC=$!
}
at() { [ "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'x'")" = "$1" ]; }
ids() { mdb_q dst "SELECT IFNULL(GROUP_CONCAT(CONCAT(id, ':', k) ORDER BY id), '') FROM sbtest.sbtest1"; }
kept() { mdb_q dst "SELECT COUNT(*) FROM godwit_meta.repl_xa WHERE task = 'x' AND seq = 0"; }

run
wait_for "streaming" 60 grep -q "incremental: streaming" "$GW_TMP/x.out"
# 1: x1 prepared; 2: a plain insert; 3: x2 prepared
myd_ctl src release 3 >/dev/null
wait_for "GTIDs 1-3" 60 at "$U:1-3"
assert_eq "2:20" "$(ids)" "prepared XA transactions wait for their commit"
assert_eq 2 "$(kept)" "both prepares recorded"
# killed between the prepares and their ends
kill -9 "$INC"
wait "$INC" 2>/dev/null || true
run
# 4: XA COMMIT x1; 5: XA ROLLBACK x2; 6: x3 one phase (insert 4, update 2)
myd_ctl src release 3 >/dev/null
wait_for "GTIDs 1-6" 60 at "$U:1-6"
assert_eq "1:10,2:21,4:40" "$(ids)" "x1 committed, x2 rolled back, x3 in one phase"
assert_eq 0 "$(kept)" "nothing kept once they ended"
# 7: x4 prepared, 8: committed
myd_ctl src release all >/dev/null
wait_for "GTIDs 1-8" 60 at "$U:1-8"
assert_eq "1:10,2:21,4:40,5:50" "$(ids)" "x4 committed"
assert_eq "1 1 0
2 1 1
4 1 0
5 1 0" "$(mdb_q dst "SELECT CONCAT_WS(' ', id, ins, upd) FROM probe.seen ORDER BY id")" "each applied once"
kill -9 "$INC"
wait "$INC" 2>/dev/null || true
echo ok
