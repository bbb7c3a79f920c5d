# Two controllers on the same spec directory: each migration is driven by
# exactly one (GET_LOCK on the destination); when it dies, the other takes
# over. SIGTERM ends a controller within seconds.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);
	INSERT INTO shop.t VALUES (1, 1), (2, 2)"
mkdir -p "$GW_TMP/specs"
write_spec "$GW_TMP/specs/a.yaml" lock-a "schema, full, incremental"

ctl_start A --dir "$GW_TMP/specs" --state-dir "$GW_TMP/s1"
wait_for "controller A drives lock-a" 60 grep -q "lock godwit:lock-a acquired" "$GW_TMP/controller-A.log"
wait_for "A writes the status of lock-a" 30 test -f "$GW_TMP/s1/tasks/lock-a/status.yaml"
grep -q 'type: Locked' "$GW_TMP/s1/tasks/lock-a/status.yaml" || fail "Locked condition"

ctl_start B --dir "$GW_TMP/specs" --state-dir "$GW_TMP/s2"
wait_for "controller B sees the lock taken" 60 \
	grep -q "another controller holds lock godwit:lock-a" "$GW_TMP/controller-B.log"
[ ! -e "$GW_TMP/s2/tasks/lock-a" ] || fail "B wrote a status for a migration it does not drive"
[ ! -s "$GW_TMP/s2/audit.jsonl" ] || fail "B ran actions while A drives: $(cat "$GW_TMP/s2/audit.jsonl")"
assert_eq "1" "$(mdb_q dst "SELECT IS_USED_LOCK('godwit:lock-a') IS NOT NULL")" "the lock is held on the destination"

# A dies without a word: B takes over.
kill -9 "$A"
wait "$A" 2>/dev/null || true
wait_for "B takes over lock-a" 60 grep -q "lock godwit:lock-a acquired" "$GW_TMP/controller-B.log"
wait_for "B writes the status of lock-a" 30 test -f "$GW_TMP/s2/tasks/lock-a/phase"
wait_for "B runs actions" 30 test -s "$GW_TMP/s2/audit.jsonl"

# SIGTERM: B exits within seconds and releases the lock.
start=$(date +%s)
kill -TERM "$B"
wait "$B" || fail "B exited with $? on SIGTERM"
[ $(($(date +%s) - start)) -le 15 ] || fail "SIGTERM took more than 15 s"
wait_for "the lock is released" 10 \
	test "$(mdb_q dst "SELECT IS_USED_LOCK('godwit:lock-a') IS NULL")" = 1
echo "ok"
