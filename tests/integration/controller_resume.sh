# SIGTERM in the middle of a full copy: the controller exits within
# seconds, the copy checkpointed; the next run resumes it and the data is
# exact. An immutable edit made while no controller ran is refused after
# the restart (SpecImmutable), and the task goes on with the spec it had.
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
write_spec "$D/r.yaml" resume "schema, full" "  parallelism: 1
  throttle: {rowsPerSecond: 6000}"

ctl_start C --dir "$D" --state-dir "$S"
copying() { grep -Eq '^full [1-9][0-9]*/' "$S/tasks/resume/progress" 2>/dev/null; }
wait_for "the copy is under way" 60 copying
wait_for "status.yaml shows rows per second" 10 grep -q 'rowsPerSecond:' "$S/tasks/resume/status.yaml"
start=$(date +%s)
kill -TERM "$C"
wait "$C" || fail "controller exit status $? on SIGTERM"
[ $(($(date +%s) - start)) -le 10 ] || fail "SIGTERM took more than 10 s during a copy"
grep -q '"action":"full","event":"end","result":"cancelled"' "$S/audit.jsonl" || fail "the cancelled copy is in the audit log"
[ "$(mdb_q dst 'SELECT COUNT(*) FROM shop.big')" -lt 60000 ] || fail "the copy was not interrupted (test too fast)"

timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >>"$GW_TMP/controller-C2.log" 2>&1 ||
	fail "the second run did not finish cleanly"
assert_eq "Completed" "$(cat "$S/tasks/resume/phase")" "completed after the restart"
assert_eq "60000" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.big')" "no row lost or duplicated"
sum='SELECT SUM(CRC32(CONCAT(id, v))) FROM shop.big'
assert_eq "$(mdb_q src "$sum")" "$(mdb_q dst "$sum")" "same data"
assert_eq 1 "$(audit_count "$S" resume precheck start)" "precheck is not repeated for the same spec"

# While no controller runs: objects changed (immutable after data moved).
write_spec "$D/r.yaml" resume "schema, full" "    - database: other
  parallelism: 1"
timeout 60 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >>"$GW_TMP/controller-C3.log" 2>&1 ||
	fail "the third run"
grep -A1 'type: SpecImmutable' "$S/tasks/resume/status.yaml" | grep -q '"True"' || fail "SpecImmutable after a restart"
assert_eq "Completed" "$(cat "$S/tasks/resume/phase")" "the task keeps its spec"
echo ok
