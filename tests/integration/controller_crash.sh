# A controller killed with SIGKILL, during the copy and while streaming:
# the next one takes the lock, resumes where the destination says it was,
# and nothing is lost or applied twice.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.big (id INT PRIMARY KEY, v VARCHAR(100));
	INSERT INTO shop.big SELECT seq, REPEAT(CHAR(65 + seq % 26), 50) FROM shop.seq_1_to_60000"
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/k.yaml" crash "schema, full, incremental" "  parallelism: 1
  throttle: {rowsPerSecond: 6000}"
sum='SELECT COUNT(*), SUM(CRC32(CONCAT(id, v))) FROM shop.big'

ctl_start A --dir "$D" --state-dir "$S"
copying() { grep -Eq '^full [1-9][0-9]*' "$S/tasks/crash/progress" 2>/dev/null; }
wait_for "the copy is under way" 60 copying
kill -9 "$A"
wait "$A" 2>/dev/null || true
[ "$(mdb_q dst 'SELECT COUNT(*) FROM shop.big')" -lt 60000 ] || fail "the copy was not interrupted (test too fast)"

ctl_start B --dir "$D" --state-dir "$S"
wait_for "B takes the lock of the dead controller" 30 grep -q "lock godwit:crash acquired" "$GW_TMP/controller-B.log"
wait_for "Incremental after the resumed copy" 120 phase_is "$S" crash Incremental
mdb_q src "INSERT INTO shop.big VALUES (60001, 'x'); UPDATE shop.big SET v = 'changed' WHERE id <= 100"
wait_for "changes arrive" 30 dst_is "$sum" "$(mdb_q src "$sum")"

# killed while streaming, with changes before and after
mdb_q src "INSERT INTO shop.big VALUES (60002, 'y'); DELETE FROM shop.big WHERE id BETWEEN 200 AND 299"
kill -9 "$B"
wait "$B" 2>/dev/null || true
mdb_q src "INSERT INTO shop.big VALUES (60003, 'z'); UPDATE shop.big SET v = CONCAT(v, '!') WHERE id BETWEEN 300 AND 310"
ctl_start C --dir "$D" --state-dir "$S"
wait_for "every change exactly once after the crash" 60 dst_is "$sum" "$(mdb_q src "$sum")"
assert_eq 1 "$(audit_count "$S" crash full end)" "one copy completed in all"

# SIGTERM while streaming under a steady flow of writes: out within
# seconds, the stream checkpointed; the next run applies the rest once.
(for i in $(seq 70001 70300); do mdb_q src "INSERT INTO shop.big VALUES ($i, 'w')"; done) &
writer=$!
streamed() { [ "$(mdb_q dst 'SELECT COUNT(*) FROM shop.big WHERE id > 70000')" -gt 20 ]; }
wait_for "the stream follows the writes" 30 streamed
start=$(date +%s)
kill -TERM "$C"
wait "$C" || fail "controller exit status $? on SIGTERM while streaming"
[ $(($(date +%s) - start)) -le 10 ] || fail "SIGTERM took more than 10 s while streaming"
grep -q '"action":"incremental","event":"end","result":"cancelled"' "$S/audit.jsonl" ||
	fail "the stream's end is in the audit log"
wait "$writer"
ctl_start E --dir "$D" --state-dir "$S"
wait_for "every write after SIGTERM arrives once" 60 dst_is "$sum" "$(mdb_q src "$sum")"
kill -TERM "$E"
wait "$E" || fail "controller exit status $?"
echo ok
