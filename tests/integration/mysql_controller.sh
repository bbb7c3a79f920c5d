# `godwit controller` drives a migration whose source is the MySQL double
# (MySQL 5.7.40, gtid_mode ON, serving a real MySQL binlog as a live
# primary; its catalog and table data come from a MariaDB that holds the
# tables, as the double forwards what it does not answer itself) from
# Pending through precheck, schema, full copy and Incremental; transactions
# released on the source while it streams arrive; with `state: stopped` the
# cutover reads the final position from the double (SHOW MASTER STATUS and
# its Executed_Gtid_Set), drains to it and the task is Stopped.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

U=58cf6502-63db-11ed-8079-0242ac110002
mdb_start layouts
mdb_start dst
# What the source holds when the copy starts (the double forwards the
# copy's SELECTs here): a.emoji with one row, a.b without a key (excluded).
mdb_q layouts "CREATE DATABASE a DEFAULT CHARSET utf8mb4; CREATE TABLE a.b (id INT);
	CREATE TABLE a.emoji (id INT NOT NULL PRIMARY KEY,
	  value VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL) DEFAULT CHARSET utf8mb4;
	INSERT INTO a.emoji VALUES (1, 'copied 😀')"
myd_start src --version 5.7.40 --binlog "$GW_SHARED/datasets/mysql-binlogs/mysql-5.7.40-gtid-utf8mb4.binlog" \
	--hold-after-txn 3 --forward layouts
S=$GW_TMP/state
D=$GW_TMP/specs
mkdir -p "$D"
spec() { # spec STATE
	copy_spec "$D/m.yaml.tmp" my "schema, full, incremental" '    - database: a
      excludeTables: [b]' "  state: $1"
	mv "$D/m.yaml.tmp" "$D/m.yaml"
}
spec running
ctl_start C --dir "$D" --state-dir "$S"
wait_for "Incremental" 120 phase_is "$S" my Incremental
assert_eq "1	copied 😀" "$(mdb_q dst "SELECT id, value FROM a.emoji")" "the full copy"
assert_eq "mysql-gtid $U:1-55" "$(mdb_q dst "SELECT CONCAT_WS(' ', kind, gtid) FROM godwit_meta.binlog_position
	WHERE task = 'my'")" "the hand-off position: the source's executed GTID set"
grep -q "^binlog-format *pass\|binlog-format" "$S/tasks/my/precheck.yaml" || fail "no precheck report"
assert_contains "$(cat "$S/tasks/my/precheck.yaml")" "gtid-mode" "the MySQL precheck items ran"

# transactions the source commits while the migration streams
myd_ctl src release all >/dev/null
wait_for "the stream caught up" 60 dst_is "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'my'" "$U:1-62"
assert_eq "1	copied 😀
2	" "$(mdb_q dst "SELECT id, value FROM a.emoji ORDER BY id")" "the streamed row"
status_at() { [ "$(cat "$S/tasks/my/position" 2>/dev/null)" = "$U:1-62" ]; }
wait_for "the status file's position" 30 status_at

# the gated stop: the final position from the double
spec stopped
wait_for "Stopped" 60 phase_is "$S" my Stopped
assert_contains "$(cat "$GW_TMP/controller-C.log")" "stopping: draining to the source's final position $U:1-62" \
	"the final position read from the source"
assert_eq "$U:1-62" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'my'")" "drained"
kill "$C"
wait "$C" 2>/dev/null || true
cat "$S/tasks/my/precheck.yaml" > /tmp/my1/precheck.yaml
echo ok
