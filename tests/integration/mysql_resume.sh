# Faults of a MySQL source, through the MySQL double serving real MySQL
# binlogs as a live primary (transactions released while godwit streams):
#
# By GTID set (5.7.40, gtid_mode ON): the applier killed with SIGKILL
# resumes from the stored set (COM_BINLOG_DUMP_GTID with it); a restart of
# the source; a connection dropped before a transaction's last event
# (nothing of it applied, then all of it once); a switch-over to a server
# with the same history under another server_uuid and other file names
# (resumed by set); heartbeats keep an idle stream, a hung source is
# lost; a source that purged transactions not applied yet, and
# one that lacks transactions applied: Failed, a new full migration.
#
# By file position (8.0.40 without GTIDs): SIGKILL between transactions,
# every row counted once by triggers on the destination; a dropped
# connection mid-transaction; another server_uuid at the address: Failed
# (a file position cannot move to another server).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

B=$GW_SHARED/datasets/mysql-binlogs
MDEV=/usr/share/mysql/mysql-test/std_data/mdev35643_mysql_80_binlog.000001
U=58cf6502-63db-11ed-8079-0242ac110002
mdb_start layouts
mdb_start dst
# Row counters on the destination: a replayed insert would be an update
# there (the upsert), counted by the update trigger.
counters() { # counters DB TABLE KEY
	mdb_q dst "CREATE TABLE IF NOT EXISTS probe.seen (t VARCHAR(20), id INT, ins INT NOT NULL DEFAULT 0,
		upd INT NOT NULL DEFAULT 0, PRIMARY KEY (t, id));
	CREATE TRIGGER $1.$2_ins AFTER INSERT ON $1.$2 FOR EACH ROW
	  INSERT INTO probe.seen (t, id, ins) VALUES ('$2', NEW.$3, 1) ON DUPLICATE KEY UPDATE ins = ins + 1;
	CREATE TRIGGER $1.$2_upd AFTER UPDATE ON $1.$2 FOR EACH ROW
	  INSERT INTO probe.seen (t, id, upd) VALUES ('$2', NEW.$3, 1) ON DUPLICATE KEY UPDATE upd = upd + 1"
}
mdb_q dst "CREATE DATABASE probe"
pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = '$1'"; }
run() { # run NAME: one incremental run in the background (INC its pid)
	"$GODWIT" _action "$GW_TMP/$1.yaml" incremental >>"$GW_TMP/$1.out" 2>&1 &
	INC=$!
}
ended() { ! kill -0 "$INC" 2>/dev/null; }
ends_with() { # ends_with RESULT: the run ended with result RESULT
	wait_for "the run ends" 60 ended
	wait "$INC" 2>/dev/null || true
	assert_eq "result: $1" "$(tail -1 "$GW_TMP/$RUN.out")" "$RUN: how the run ended"
}
at() { [ "$(pos "$RUN")" = "$1" ]; }
last_error() { grep "godwit _action incremental" "$GW_TMP/$RUN.out" | tail -1; }

# --- by GTID set ---------------------------------------------------------
RUN=g
mdb_q layouts "CREATE DATABASE a DEFAULT CHARSET utf8mb4; CREATE TABLE a.b (id INT)"
mdb_q dst "CREATE DATABASE a DEFAULT CHARSET utf8mb4; CREATE TABLE a.b (id INT);
	CREATE TABLE a.emoji (id INT PRIMARY KEY, value VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL)"
counters a emoji id
myd_start src --version 5.7.40 --binlog "$B/mysql-5.7.40-gtid-utf8mb4.binlog" --hold-after-txn 0 --forward layouts
copy_spec "$GW_TMP/g.yaml" g incremental '    - database: a
      excludeTables: [b]'
run g
wait_for "g streaming" 60 grep -q "incremental: streaming" "$GW_TMP/g.out"
myd_ctl src release 3 >/dev/null
wait_for "GTIDs 53-55 applied" 60 at "$U:1-55"
kill -9 "$INC"
wait "$INC" 2>/dev/null || true
myd_ctl src release 2 >/dev/null
run g
wait_for "GTIDs 56-57 applied after SIGKILL" 60 at "$U:1-57"
assert_contains "$(cat "$src_LOG")" "COM_BINLOG_DUMP_GTID server_id $(grep -o 'registered replica server_id [0-9]*' "$src_LOG" | head -1 | cut -d' ' -f4) file '' pos 4 flags 4 set '$U:1-55'" \
	"resumed by the stored GTID set"

# a restart of the source: the stream is lost (retry), then resumes
myd_ctl src restart >/dev/null
ends_with retryable
up() { myd_q src "SELECT 1"; }
wait_for "the source back" 60 up
run g
streams() { [ "$(grep -c 'incremental: streaming' "$GW_TMP/g.out")" -ge 3 ]; }
wait_for "g streaming again" 60 streams

# the connection dropped before the emoji transaction's last event: its
# row must not be on the destination, then arrive once
myd_ctl src release 4 >/dev/null
wait_for "GTIDs 58-61 applied" 60 at "$U:1-61"
myd_ctl src drop-mid-txn 1 >/dev/null
myd_ctl src release 1 >/dev/null
ends_with retryable
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM a.emoji")" "nothing of a transaction cut before its end"
assert_eq "$U:1-61" "$(pos g)" "the position stays before it"

# a switch-over: another server_uuid, other file names and offsets, the
# same history; the stream resumes by GTID set and the row arrives once
old_files=$(myd_status src '" ".join(f["name"] + ":" + str(f["size"]) for f in s["files"])')
myd_ctl src switchover 11111111-2222-4333-8444-555555555555 - 7 >/dev/null
new_files=$(myd_status src '" ".join(f["name"] + ":" + str(f["size"]) for f in s["files"])')
[ "$old_files" != "$new_files" ] || fail "the switch-over changed no file ($new_files)"
run g
wait_for "the emoji transaction applied after the switch-over" 60 at "$U:1-62"
assert_contains "$(cat "$GW_TMP/g.out")" "the source's server_uuid changed from $U to 11111111-2222-4333-8444-555555555555 (a switch-over)" \
	"the switch-over is seen"
assert_eq "2	" "$(mdb_q dst "SELECT id, value FROM a.emoji")" "the row"
assert_eq "emoji 2 1 0" "$(mdb_q dst "SELECT CONCAT_WS(' ', t, id, ins, upd) FROM probe.seen")" "applied once"
assert_eq "11111111-2222-4333-8444-555555555555" \
	"$(mdb_q dst "SELECT source_uuid FROM godwit_meta.binlog_position WHERE task = 'g'")" "the new server recorded"

# an idle source sends heartbeats: the stream outlives the 10 s a silent
# one is given (the idle time is what is tested, not a synchronisation)
sleep 12
kill -0 "$INC" 2>/dev/null || { cat "$GW_TMP/g.out"; fail "an idle stream was dropped"; }
# a source that hangs (SIGSTOP) sends nothing: lost, retried
kill -STOP "$(cat "$GW_TMP/myd-src/mysqld.pid")"
ends_with retryable
kill -CONT "$(cat "$GW_TMP/myd-src/mysqld.pid")"
assert_contains "$(last_error)" "binlog stream from the source" "the silent source is named"

# gtid_mode turned OFF on the source: a set cannot be streamed from
myd_ctl src gtid-mode OFF >/dev/null
run g
ends_with fatal
assert_contains "$(last_error)" "the source's gtid_mode is OFF, no longer ON" "gtid_mode OFF named"
myd_ctl src gtid-mode ON >/dev/null

# a set the source has purged: the stored set lacks 60-62, the source
# purged everything up to 62
mdb_q dst "UPDATE godwit_meta.binlog_position SET gtid = '$U:1-59' WHERE task = 'g'"
myd_ctl src purge >/dev/null
run g
ends_with fatal
assert_contains "$(last_error)" "has purged transactions not applied yet ($U:60-62); a new full migration is needed" \
	"a purged set fails with the reason"
# a source that lacks what was applied: not this migration's history
mdb_q dst "UPDATE godwit_meta.binlog_position SET gtid = '$U:1-62,99999999-2222-4333-8444-555555555555:1-3' WHERE task = 'g'"
run g
ends_with fatal
assert_contains "$(last_error)" "lacks transactions this migration has applied (99999999-2222-4333-8444-555555555555:1-3)" \
	"a source without the history fails with the reason"
assert_contains "$(last_error)" "a new full migration is needed" "and the fix"
myd_stop src

# --- by file position ----------------------------------------------------
RUN=f
mdb_q layouts "CREATE DATABASE test DEFAULT CHARSET utf8mb4"
mdb_q dst "CREATE DATABASE test DEFAULT CHARSET utf8mb4;
	CREATE TABLE test.t1 (a INT PRIMARY KEY, b INT, c VARCHAR(1024)) CHARACTER SET latin1"
counters test t1 a
myd_start src --version 8.0.40 --binlog "$MDEV" --hold-after-txn 0 --forward layouts
total=$(myd_status src 's["held"]')
# (t2 gets a row by a statement-format INSERT, which stops a task that
# selects it: mysql_stream.sh)
copy_spec "$GW_TMP/f.yaml" f incremental '    - database: test
      excludeTables: [t2]'
server_key "$GW_TMP/f.yaml" "$src_DIR"
run f
wait_for "f streaming" 60 grep -q "incremental: streaming" "$GW_TMP/f.out"
# one transaction at a time, a SIGKILL after each of the first four
for i in 1 2 3 4; do
	before=$(pos f)
	myd_ctl src release 1 >/dev/null
	moved() { [ "$(mdb_q dst "SELECT CONCAT(file, ':', pos) FROM godwit_meta.binlog_position WHERE task = 'f'")" = \
		"$(myd_status src 's["files"][-1]["name"] + ":" + str(s["files"][-1]["end"])')" ]; }
	wait_for "transaction $i applied" 60 moved
	kill -9 "$INC"
	wait "$INC" 2>/dev/null || true
	run f
done
# the 100-row compressed transaction cut before its end, then whole
myd_ctl src drop-mid-txn 1 >/dev/null
myd_ctl src release 1 >/dev/null
ends_with retryable
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM test.t1 WHERE a >= 1000")" "nothing of the cut transaction"
run f
myd_ctl src release all >/dev/null
done_all() { [ "$(mdb_q dst "SELECT COUNT(*) FROM test.t1")" = 105 ]; }
wait_for "every row of t1" 60 done_all
assert_eq "105 105 0" "$(mdb_q dst "SELECT CONCAT_WS(' ', COUNT(*), SUM(ins), SUM(upd)) FROM probe.seen WHERE t = 't1'")" \
	"every row inserted once ($total transactions, 4 SIGKILLs, a dropped connection)"
kill -9 "$INC"
wait "$INC" 2>/dev/null || true
assert_eq "file" "$(mdb_q dst "SELECT kind FROM godwit_meta.binlog_position WHERE task = 'f'")" "a file position"
# without GTIDs another server_uuid at the address cannot be followed
myd_ctl src set-uuid 11111111-2222-4333-8444-555555555555 >/dev/null
run f
ends_with fatal
assert_contains "$(last_error)" "the source's server_uuid is 11111111-2222-4333-8444-555555555555" "the new server named"
assert_contains "$(last_error)" "without GTIDs (gtid_mode OFF) a file position cannot be carried over to it: a new full migration is needed" \
	"Failed with the reason"
echo ok
