# Two controllers on the same spec directory, started together: each
# migration is driven by exactly one (GET_LOCK on the destination). The
# other runs no action and writes no status until the first is killed -9
# in the middle of a copy; then it takes over (a new lock holder) and
# finishes the copy. SIGTERM ends a controller within seconds.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);
	INSERT INTO shop.t SELECT seq, seq FROM shop.seq_1_to_30000"
mkdir -p "$GW_TMP/specs"
write_spec "$GW_TMP/specs/a.yaml" lock-a "schema, full, incremental" "  parallelism: 1
  throttle: {rowsPerSecond: 3000}"

ctl_start A --dir "$GW_TMP/specs" --state-dir "$GW_TMP/sA"
ctl_start B --dir "$GW_TMP/specs" --state-dir "$GW_TMP/sB"
acquired() { grep -q "lock godwit:lock-a acquired" "$GW_TMP/controller-$1.log"; }
one_acquired() { acquired A || acquired B; }
wait_for "one controller drives lock-a" 60 one_acquired
if acquired A; then W=A L=B wpid=$A lpid=$B; else W=B L=A wpid=$B lpid=$A; fi
echo "# $W drives, $L waits"
wait_for "$L sees the lock taken" 60 grep -q "another controller holds lock godwit:lock-a" "$GW_TMP/controller-$L.log"
copying() { grep -Eq '^full [1-9][0-9]*' "$GW_TMP/s$W/tasks/lock-a/progress" 2>/dev/null; }
wait_for "$W copies" 60 copying
grep -q 'type: Locked' "$GW_TMP/s$W/tasks/lock-a/status.yaml" || fail "Locked condition"
acquired "$L" && fail "both controllers acquired the lock"
[ ! -e "$GW_TMP/s$L/tasks/lock-a" ] || fail "$L wrote a status for a migration it does not drive"
[ ! -s "$GW_TMP/s$L/audit.jsonl" ] || fail "$L ran actions while $W drives: $(cat "$GW_TMP/s$L/audit.jsonl")"
h1=$(mdb_q dst "SELECT IS_USED_LOCK('godwit:lock-a')")
[ -n "$h1" ] && [ "$h1" != NULL ] || fail "the lock is held on the destination"
assert_eq 1 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.processlist WHERE id = $h1")" "the holder is a live session"

# The driver dies without a word: the other takes over, only after that.
killed_at=$(date -u +%s)
kill -9 "$wpid"
wait "$wpid" 2>/dev/null || true
[ "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" -lt 30000 ] || fail "the copy was over before the kill (test too fast)"
wait_for "$L takes over lock-a" 60 acquired "$L"
h2=$(mdb_q dst "SELECT IS_USED_LOCK('godwit:lock-a')")
[ "$h2" != NULL ] && [ "$h2" != "$h1" ] || fail "a new holder after the takeover ($h1 -> $h2)"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.processlist WHERE id = $h1")" "the dead holder's session is gone"
wait_for "$L finishes the copy" 120 phase_is "$GW_TMP/s$L" lock-a Incremental
assert_eq 30000 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "every row copied once"
python3 - "$GW_TMP/s$W/audit.jsonl" "$GW_TMP/s$L/audit.jsonl" "$killed_at" <<'PY' || fail "the two controllers' actions do not interleave"
import calendar, json, sys, time
def t(d): return calendar.timegm(time.strptime(d["time"], "%Y-%m-%dT%H:%M:%SZ"))
w = [json.loads(l) for l in open(sys.argv[1])]
l = [json.loads(l) for l in open(sys.argv[2])]
k = int(sys.argv[3])
assert w and l, (w, l)
assert all(t(d) <= k for d in w), w
assert all(t(d) >= k for d in l), (k, l)
assert any(d["action"] == "full" and d["event"] == "start" for d in w), w
assert any(d["action"] == "full" and d["event"] == "end" and d["result"] == "ok" for d in l), l
PY

# SIGTERM: the survivor exits within seconds and releases the lock.
start=$(date +%s)
kill -TERM "$lpid"
wait "$lpid" || fail "$L exited with $? on SIGTERM"
[ $(($(date +%s) - start)) -le 15 ] || fail "SIGTERM took more than 15 s"
released() { dst_is "SELECT IS_USED_LOCK('godwit:lock-a') IS NULL" 1; }
wait_for "the lock is released" 10 released
echo "ok"
