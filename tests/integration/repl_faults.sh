# Faults while streaming, through the controller: the destination server
# restarted and the source server restarted mid-stream, and the source
# hung (SIGSTOP): phase Retrying while down, then the stream resumes from
# the committed position and every change arrives once; a task with a short retryWindow whose source stays
# down ends Failed with the reason while a second task on the same servers
# waits and resumes; a position purged from the source's binlogs while the
# task was paused ends Failed saying a new full migration is needed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
	INSERT INTO shop.t SELECT seq, CONCAT('row ', seq), 0 FROM shop.seq_1_to_500;
	CREATE DATABASE side; CREATE TABLE side.s (id INT PRIMARY KEY, v INT); INSERT INTO side.s VALUES (1, 1)"
S=$GW_TMP/state
D=$GW_TMP/specs
mkdir -p "$D"
write_spec "$D/f.yaml" faults "schema, full, incremental"
# A second task on another database with a short retryWindow.
side_spec() { # side_spec EXTRA
	copy_spec "$D/side.yaml.tmp" side "schema, full, incremental" '    - database: side' "  retryWindow: 5s
$1"
	mv "$D/side.yaml.tmp" "$D/side.yaml"
}
side_spec ""
ctl_start C --dir "$D" --state-dir "$S"
wait_for "faults streaming" 90 phase_is "$S" faults Incremental
wait_for "side streaming" 90 phase_is "$S" side Incremental

# Instruments on the destination only: a replayed insert would be an
# update of an existing row there (the upsert), so the update trigger
# counts replays of changes the source never updated.
mdb_q dst "CREATE DATABASE probe; CREATE TABLE probe.seen (id INT PRIMARY KEY, ins INT NOT NULL DEFAULT 0, upd INT NOT NULL DEFAULT 0);
	CREATE TRIGGER shop.t_ins AFTER INSERT ON shop.t FOR EACH ROW
	  INSERT INTO probe.seen (id, ins) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE ins = ins + 1;
	CREATE TRIGGER shop.t_upd AFTER UPDATE ON shop.t FOR EACH ROW
	  INSERT INTO probe.seen (id, upd) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE upd = upd + 1"

writer() { # writer FROM TO: one transaction per row, new ids only
	local i
	for i in $(seq "$1" "$2"); do
		mdb_q src "INSERT INTO shop.t VALUES ($i, 'new $i', $i)" 2>/dev/null || return 1
	done
}
sum='SELECT COUNT(*), SUM(CRC32(CONCAT_WS(0x1f, id, v, n))) FROM shop.t'
equal() { [ "$(mdb_q src "$sum")" = "$(mdb_q dst "$sum" 2>/dev/null)" ]; }
applied_above() { [ "$(mdb_q dst "SELECT COUNT(*) FROM shop.t WHERE id > $1" 2>/dev/null || echo 0)" -gt 0 ]; }

# 1. The source goes away in the middle of a backlog.
writer 2001 2200 &
W=$!
wait_for "the stream is in the middle of the backlog" 30 applied_above 2000
down_at=$(date +%s)
mdb_stop src
wait "$W" 2>/dev/null || true # the writer dies with the server
wait_for "Retrying while the source is down" 60 phase_is "$S" faults Retrying
wait_for "the message names the lost stream" 10 grep -q '^incremental: ' "$S/tasks/faults/message"

# 2. The source stays down: the short retryWindow gives up with the reason,
# the other task keeps retrying.
wait_for "side Failed after its retryWindow" 60 phase_is "$S" side Failed
[ $(($(date +%s) - down_at)) -ge 5 ] || fail "side gave up before its retryWindow of 5s"
# (the phase and message files are each replaced atomically, one after
# the other)
wait_for "the reason in the message" 10 grep -q retryWindow "$S/tasks/side/message"
msg=$(cat "$S/tasks/side/message")
assert_contains "$msg" "retryWindow" "the message says why it gave up"
assert_contains "$msg" "Can't connect" "the message gives the connection error"
assert_eq "Retrying" "$(cat "$S/tasks/faults/phase")" "the task with the default window still retries"

mdb_launch src
writer 2201 2300
wait_for "streaming again after the source came back" 120 phase_is "$S" faults Incremental
wait_for "the whole backlog arrives" 60 equal
assert_eq "Failed" "$(cat "$S/tasks/side/phase")" "a Failed task stays Failed until its spec changes"

# 3. The destination goes away while the source is written to.
writer 3001 3100 &
W=$!
wait_for "some rows applied" 30 applied_above 3000
mdb_stop dst
wait_for "Retrying while the destination is down" 60 phase_is "$S" faults Retrying
wait "$W"
mdb_launch dst
wait_for "streaming again after the destination came back" 120 phase_is "$S" faults Incremental
wait_for "every change made while the destination was down arrives" 60 equal
wait_for "the message no longer shows the old error" 10 grep -qx "incremental: running" "$S/tasks/faults/message"

# 4. A source that hangs without closing the connection (SIGSTOP): its
# heartbeats stop, the stream gives up on it and retries until it is back.
pid=$(cat "$src_DIR/mariadbd.pid")
kill -STOP "$pid"
wait_for "Retrying while the source hangs" 60 phase_is "$S" faults Retrying
kill -CONT "$pid"
writer 2301 2320
wait_for "streaming again after the source woke up" 120 phase_is "$S" faults Incremental
wait_for "the changes after the hang arrive" 60 equal

# Every row the source inserted once was inserted once on the destination,
# never replayed over itself, and nothing was lost.
n=$(mdb_q src 'SELECT COUNT(*) FROM shop.t WHERE id > 2000')
[ "$n" -gt 200 ] || fail "too few rows written ($n)"
assert_eq "$n $n 0" "$(mdb_q dst 'SELECT COUNT(*), SUM(ins), SUM(upd) FROM probe.seen' | tr '\t' ' ')" \
	"each change applied exactly once across the restarts and the hang"
assert_eq "$(mdb_q src 'SELECT @@GLOBAL.gtid_binlog_pos')" \
	"$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'faults'")" \
	"the committed position is the source's"

# 5. Paused, the source purges the binlogs past the task's position:
# resuming cannot go on, and says what to do.
write_spec "$D/f.yaml" faults "schema, full, incremental" "  state: paused"
wait_for "Paused" 30 phase_is "$S" faults Paused
mdb_q src "INSERT INTO shop.t VALUES (9001, 'while paused', 0); FLUSH BINARY LOGS;
	INSERT INTO shop.t VALUES (9002, 'while paused', 0); FLUSH BINARY LOGS"
last=$(mdb_q src "SHOW BINARY LOGS" | tail -1 | cut -f1)
# (a dump thread still reading an old file keeps it until it notices
# that its replica left)
purged() { mdb_q src "PURGE BINARY LOGS TO '$last'" && [ "$(mdb_q src 'SHOW BINARY LOGS' | head -1 | cut -f1)" = "$last" ]; }
wait_for "the binlogs up to $last purged" 30 purged
write_spec "$D/f.yaml" faults "schema, full, incremental"
wait_for "Failed on the purged position" 60 phase_is "$S" faults Failed
wait_for "the reason in the message" 10 grep -q "binlogs" "$S/tasks/faults/message"
msg=$(cat "$S/tasks/faults/message")
assert_contains "$msg" "no longer in the source's binlogs" "the message says the position is gone"
assert_contains "$msg" "new full migration" "the message says what to do"
grep -q '"task":"faults","action":"incremental","event":"end","result":"' "$S/audit.jsonl" ||
	fail "the failed incremental is in the audit log"
assert_eq "0" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t WHERE id > 9000')" "nothing applied past the gap"

kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
