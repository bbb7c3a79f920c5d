# Two controllers on the same spec directory, started together: each
# migration is driven by exactly one (GET_LOCK on the destination). The
# other runs no action and writes no status. The driver's lock session is
# killed on the server while another session waits for the lock: the
# driver stops its copy, and one of the two takes the lock over later.
# Then the driver is killed -9 in the middle of the copy; the other takes
# over (a new lock holder) and finishes it. The actions of the two never
# overlap in time. SIGTERM ends a controller within seconds.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);
	INSERT INTO shop.t SELECT seq, seq FROM shop.seq_1_to_45000"
mkdir -p "$GW_TMP/specs"
write_spec "$GW_TMP/specs/a.yaml" lock-a "schema, full, incremental" "  parallelism: 1
  throttle: {rowsPerSecond: 3000}"

ctl_start A --dir "$GW_TMP/specs" --state-dir "$GW_TMP/sA"
ctl_start B --dir "$GW_TMP/specs" --state-dir "$GW_TMP/sB"
acquired() { grep -q "lock godwit:lock-a acquired" "$GW_TMP/controller-$1.log"; }
acquisitions() { cat "$GW_TMP"/controller-[AB].log | grep -c "lock godwit:lock-a acquired" || true; }
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

# The driver's lock session is killed while a third session waits for the
# lock (as a person's GET_LOCK would): that session gets it and holds it 4 s.
# The driver stops its copy; then one of the two takes the lock over.
(mdb dst -e "SELECT GET_LOCK('godwit:lock-a', 60); SELECT SLEEP(4); SELECT RELEASE_LOCK('godwit:lock-a')" >/dev/null) &
waiting() { [ "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.processlist WHERE state = 'User lock'")" -ge 1 ]; }
wait_for "a third session waits for the lock" 15 waiting
mdb_q dst "KILL $h1"
wait_for "$W sees its lock lost" 15 grep -q "lost the lock" "$GW_TMP/controller-$W.log"
cancelled() { grep -q '"action":"full","event":"end","result":"cancelled"' "$GW_TMP/s$W/audit.jsonl"; }
wait_for "$W cancels its copy" 15 cancelled
again() { [ "$(acquisitions)" -ge 2 ]; }
wait_for "lock-a driven again" 60 again
[ "$(acquisitions)" = 2 ] || fail "the lock acquired $(acquisitions) times"
if [ "$(grep -c "lock godwit:lock-a acquired" "$GW_TMP/controller-$W.log")" != 2 ]; then
	t=$W W=$L L=$t t=$wpid wpid=$lpid lpid=$t
fi
grep -q "lock godwit:lock-a taken over; acting in" "$GW_TMP/controller-$W.log" ||
	fail "the takeover waits for the previous holder"
echo "# after the lost lock, $W drives"
wait_for "$W copies again" 60 copying
h1=$(mdb_q dst "SELECT IS_USED_LOCK('godwit:lock-a')")

# The driver dies without a word: the other takes over, only after that.
killed_at=$(date -u +%s)
kill -9 "$wpid"
wait "$wpid" 2>/dev/null || true
[ "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" -lt 45000 ] || fail "the copy was over before the kill (test too fast)"
took_over() { [ "$(grep -c "lock godwit:lock-a acquired" "$GW_TMP/controller-$L.log")" -ge 1 ] && [ "$(acquisitions)" -ge 3 ]; }
wait_for "$L takes over lock-a" 60 took_over
grep -q "lock godwit:lock-a taken over; acting in" "$GW_TMP/controller-$L.log" || fail "the takeover waits for the previous holder"
h2=$(mdb_q dst "SELECT IS_USED_LOCK('godwit:lock-a')")
[ "$h2" != NULL ] && [ "$h2" != "$h1" ] || fail "a new holder after the takeover ($h1 -> $h2)"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.processlist WHERE id = $h1")" "the dead holder's session is gone"
wait_for "$L finishes the copy" 120 phase_is "$GW_TMP/s$L" lock-a Incremental
assert_eq 45000 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "every row copied once"
python3 - "$GW_TMP/s$W/audit.jsonl" "$GW_TMP/s$L/audit.jsonl" "$killed_at" <<'PY' || fail "the two controllers' actions overlap"
import calendar, json, sys, time
def t(d): return calendar.timegm(time.strptime(d["time"], "%Y-%m-%dT%H:%M:%SZ"))
killed = int(sys.argv[3])
# each controller's actions as [start, end] intervals (the killed one's
# last open action ends at the kill; the survivor's stream goes on)
spans = []
for who, path in (("killed", sys.argv[1]), ("survivor", sys.argv[2])):
    open_at = None
    for d in map(json.loads, open(path)):
        if d["event"] == "start":
            open_at = t(d)
        elif open_at is not None:
            spans.append((open_at, t(d), who, d["action"]))
            open_at = None
    if open_at is not None:  # the killed one's last, the survivor's stream
        spans.append((open_at, killed if who == "killed" else 1 << 40, who, "(open)"))
for a in spans:
    for b in spans:
        # one-second timestamps: an end and a start in the same second touch
        if a[2] != b[2] and a[0] < b[1] and b[0] < a[1]:
            raise SystemExit("overlap: %s %s" % (a, b))
assert any(s[3] == "full" for s in spans if s[2] == "survivor"), spans
print("# %d action spans, none overlapping" % len(spans))
PY

# SIGTERM: the survivor exits within seconds and releases the lock.
start=$(date +%s)
kill -TERM "$lpid"
wait "$lpid" || fail "$L exited with $? on SIGTERM"
[ $(($(date +%s) - start)) -le 15 ] || fail "SIGTERM took more than 15 s"
released() { dst_is "SELECT IS_USED_LOCK('godwit:lock-a') IS NULL" 1; }
wait_for "the lock is released" 10 released
echo "ok"
