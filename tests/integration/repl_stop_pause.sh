# Pause, resume and the ways to stop an incremental migration, through the
# controller on a spec directory. Three migrations from one source:
#   gate  pause/resume, then a gated stop (stop.maxDelay) that waits while a
#         lock held on the destination keeps it delayed; the cutover
#         (triggers created, events enabled) when it stops;
#   frc   stop.force while its apply is stuck on that lock: stops at once;
#   frz   stop.freezeSource: the freeze waits (retrying, with the reason)
#         while a session holds a table lock on the source, then the source
#         is read_only and the recorded final position is the source's.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20));
	CREATE TABLE shop.log (id INT AUTO_INCREMENT PRIMARY KEY, t_id INT);
	INSERT INTO shop.t VALUES (1, 'a'), (2, 'b');
	CREATE TRIGGER shop.t_ai AFTER INSERT ON shop.t FOR EACH ROW INSERT INTO shop.log (t_id) VALUES (NEW.id);
	CREATE EVENT shop.nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM shop.log WHERE id < 0;
	CREATE DATABASE frc; CREATE TABLE frc.t (id INT PRIMARY KEY); INSERT INTO frc.t VALUES (1);
	CREATE DATABASE frz; CREATE TABLE frz.t (id INT PRIMARY KEY); INSERT INTO frz.t VALUES (1)"
S=$GW_TMP/state
D=$GW_TMP/specs
mkdir -p "$D"
spec() { # spec NAME DATABASE [EXTRA]: written atomically, as an editor would
	copy_spec "$D/$1.yaml.tmp" "$1" "schema, full, incremental" "    - database: $2" "${3:-}"
	mv "$D/$1.yaml.tmp" "$D/$1.yaml"
}
spec gate shop
spec frc frc
spec frz frz
ctl_start C --dir "$D" --state-dir "$S"
for t in gate frc frz; do wait_for "$t streaming" 120 phase_is "$S" $t Incremental; done
st() { cat "$S/tasks/gate/$1"; }
cond() { # cond TASK TYPE: "status reason" of a condition in status.yaml
	awk -v t="$2" '$0 ~ "type: "t"$" {f=1; next} f && /status:/ {gsub(/"/, "", $2); s=$2}
		f && /reason:/ {gsub(/"/, "", $2); print s, $2; exit}' "$S/tasks/$1/status.yaml"
}

# Idle: heartbeats tell an idle stream from a stuck one.
mdb_q src "INSERT INTO shop.t VALUES (3, 'c')"
wait_for "a change arrives" 30 dst_is 'SELECT COUNT(*) FROM shop.t' 3
wait_for "delay 0 when idle" 30 sh -c "[ \"\$(cat '$S/tasks/gate/delay_seconds')\" = 0 ]"
wait_for "NotDelayed in the status" 30 sh -c "grep -A2 'type: NotDelayed' '$S/tasks/gate/status.yaml' | grep -q '\"True\"'"
assert_eq "True CaughtUp" "$(cond gate NotDelayed)" "not delayed when idle"
grep -q '^delaySeconds: 0$' "$S/tasks/gate/status.yaml" || fail "delaySeconds 0 in status.yaml"

# Paused: nothing is read, the position stays where it was.
spec gate shop "  state: paused"
wait_for "Paused" 30 phase_is "$S" gate Paused
pos=$(st position)
meta="SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'gate'"
mpos=$(mdb_q dst "$meta")
mdb_q src "INSERT INTO shop.t VALUES (4, 'while paused')"
sleep 3 # a window in which a running stream would have applied it
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "nothing applied while paused"
assert_eq "$pos" "$(st position)" "position file unchanged while paused"
assert_eq "$mpos" "$(mdb_q dst "$meta")" "committed position unchanged while paused"
assert_eq "False NotStreaming" "$(cond gate NotDelayed)" "a paused task is not said to be caught up"
spec gate shop
wait_for "streaming again" 60 phase_is "$S" gate Incremental
wait_for "the change made while paused arrives" 30 dst_is 'SELECT v FROM shop.t WHERE id = 4' 'while paused'
[ "$(st position)" != "$pos" ] || wait_for "position moves on" 30 sh -c "[ \"\$(cat '$S/tasks/gate/position')\" != '$pos' ]"

# A session on the destination holds a write lock on two tables: their
# changes wait, and the delay grows.
mkfifo "$GW_TMP/lock.in"
mdb dst -n <"$GW_TMP/lock.in" >"$GW_TMP/lock.out" 2>&1 &
LK=$!
exec 7>"$GW_TMP/lock.in"
echo "LOCK TABLES shop.t WRITE, frc.t WRITE; SELECT 'locked';" >&7
wait_for "the lock is held" 30 grep -q locked "$GW_TMP/lock.out"
mdb_q src "INSERT INTO shop.t VALUES (5, 'delayed'); INSERT INTO frc.t VALUES (2)"
wait_for "gate delayed by more than 2s" 30 sh -c "[ \"\$(cat '$S/tasks/gate/delay_seconds')\" -gt 3 ]"
wait_for "frc delayed" 30 sh -c "[ \"\$(cat '$S/tasks/frc/delay_seconds')\" -gt 3 ]"
assert_eq "False Delayed" "$(cond gate NotDelayed)" "delayed in the status"

# A gated stop waits while delayed; a forced one does not.
spec gate shop "  state: stopped
  stop: {maxDelay: 2s}"
spec frc frc "  state: stopped
  stop: {force: true}"
wait_for "frc stopped at once, lock or not" 30 phase_is "$S" frc Stopped
wait_for "gate Stopping" 30 phase_is "$S" gate Stopping
for i in 1 2 3; do # while the lock is held, the gate stays shut
	sleep 1
	assert_eq "Stopping" "$(st phase)" "no stop while delayed (${i}s)"
	[ "$(st delay_seconds)" -gt 2 ] || fail "delay_seconds $(st delay_seconds) should exceed maxDelay"
done
echo "UNLOCK TABLES;" >&7
exec 7>&-
wait "$LK"
wait_for "gate Stopped once caught up" 60 phase_is "$S" gate Stopped
assert_eq "delayed" "$(mdb_q dst 'SELECT v FROM shop.t WHERE id = 5')" "the delayed change applied before the stop"
assert_eq "1" "$(mdb_q dst 'SELECT COUNT(*) FROM frc.t')" "the forced stop applied nothing more"
assert_eq "$(mdb_q dst "$meta")" "$(st position)" "the position file is the committed position"

# The cutover: the source's triggers now exist on the destination and its
# events are enabled; the audit log and the status say so.
assert_eq "t_ai" "$(mdb_q dst "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop'")" "trigger created at the cutover"
assert_eq "ENABLED" "$(mdb_q dst "SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop'")" "event enabled at the cutover"
grep -q '"task":"gate","action":"schema-cutover","event":"end","result":"ok"' "$S/audit.jsonl" || fail "cutover in the audit log"
wait_for "the status message reports the cutover" 10 grep -q "cutover done" "$S/tasks/gate/message"
# After the stop, nothing moves any more.
mdb_q src "INSERT INTO shop.t VALUES (6, 'after stop')"
sleep 2
assert_eq "0" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t WHERE id = 6')" "nothing applied after the stop"

# The frozen stop: read_only on the source, then drained to its position.
# A session on the source holds a table lock, which read_only waits for:
# the freeze is retried (with the reason) until the lock goes.
mdb_q src "INSERT INTO frz.t VALUES (2), (3)"
mkfifo "$GW_TMP/slock.in"
mdb src -n <"$GW_TMP/slock.in" >"$GW_TMP/slock.out" 2>&1 &
SL=$!
exec 8>"$GW_TMP/slock.in"
echo "LOCK TABLES shop.log WRITE; SELECT 'locked';" >&8
wait_for "the source lock is held" 30 grep -q locked "$GW_TMP/slock.out"
spec frz frz "  state: stopped
  stop: {freezeSource: true}"
wait_for "the freeze waits for the lock, and says so" 60 grep -q "freezing the source.*Lock wait timeout" "$S/tasks/frz/message"
assert_eq "0" "$(mdb_q src 'SELECT @@GLOBAL.read_only')" "not frozen while the lock is held"
echo "UNLOCK TABLES;" >&8
exec 8>&-
wait "$SL"
wait_for "frz Stopped" 60 phase_is "$S" frz Stopped
assert_eq "1" "$(mdb_q src 'SELECT @@GLOBAL.read_only')" "source frozen"
assert_eq "$(mdb_q src 'SELECT @@GLOBAL.gtid_binlog_pos')" \
	"$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'frz'")" "final position is the source's"
assert_eq "$(mdb_q src 'SELECT @@GLOBAL.gtid_binlog_pos')" "$(cat "$S/tasks/frz/position")" "final position reported"
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM frz.t')" "drained to the final position"
kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
