# What a monitoring system reads: metrics.prom while copying and while
# streaming (phase, rows copied and total, events applied, delay, retries,
# last success), and --notify-url: one JSON POST per phase change, in
# order, retried after a timeout and a 500, sent by a thread of its own
# (the migration moves on while the receiver holds the first POST).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);
	INSERT INTO shop.t SELECT seq, seq FROM shop.seq_1_to_20000; ANALYZE TABLE shop.t" >/dev/null
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/n.yaml" notified "schema, full, incremental" "  parallelism: 1
  throttle: {rowsPerSecond: 4000}"

# The receiver: the 1st POST is held without an answer (past the
# controller's 5 s timeout) while it watches the phase file; the 2nd gets
# a 500; the others are recorded (hook.jsonl) and get 204.
hook_PORT=$(free_port)
python3 - "$hook_PORT" "$GW_TMP" "$S/tasks/notified/phase" >"$GW_TMP/hook.log" 2>&1 <<'PY' &
import http.server, json, sys, threading, time
port, tmp, phase_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
n = [0]
def phase():
    try:
        return open(phase_file).read().strip()
    except OSError:
        return ""
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            n[0] += 1
            k = n[0]
        with open(tmp + "/attempts.jsonl", "a") as f:
            f.write(json.dumps({"n": k, "body": json.loads(body)}) + "\n")
        if k == 1:
            held, end = phase(), time.time() + 4.5
            while time.time() < end and phase() in ("", "Pending", "Prechecking"):
                time.sleep(0.05)
            with open(tmp + "/held.txt", "w") as f:
                f.write("%s -> %s\n" % (held, phase()))
            time.sleep(10)  # no answer: the client gives up first
            return
        if k == 2:
            self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers()
            return
        with open(tmp + "/hook.jsonl", "ab") as f:
            f.write(body + b"\n")
        self.send_response(204); self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
wait_for "hook listening" 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $hook_PORT)).close()"

ctl_start C --dir "$D" --state-dir "$S" --notify-url "http://127.0.0.1:$hook_PORT/hook"
M=$S/metrics.prom
metric() { sed -n "s/^$1{migration=\"notified\"} //p" "$M" 2>/dev/null; }
copying() { [ "$(metric godwit_rows_copied)" -gt 0 ] 2>/dev/null && [ "$(metric godwit_rows_copied)" -lt 20000 ]; }
wait_for "metrics.prom shows the copy under way" 60 copying
grep -q 'godwit_phase{migration="notified",phase="MigratingFull"} 1' "$M" || fail "phase MigratingFull in metrics: $(cat "$M")"
[ "$(metric godwit_rows_total)" -ge 15000 ] || fail "rows total estimated: $(metric godwit_rows_total)"
grep -q '^# TYPE godwit_retries_total counter' "$M" || fail "retries is a counter"
# the progress file moves at least every 2 s while copying
python3 - "$S/tasks/notified" <<'PY' || fail "progress updates while copying"
import os, sys, time
d = sys.argv[1]
def read(f):
    try:
        return open(os.path.join(d, f)).read().strip()
    except OSError:
        return ""
last, since, gaps, n = read("progress"), time.time(), [], 0
while read("phase") == "MigratingFull" and read("progress").startswith("full"):
    p = read("progress")
    if p != last:
        gaps.append(time.time() - since)
        last, since, n = p, time.time(), n + 1
    time.sleep(0.05)
print("# progress changed %d times, largest gap %.1f s" % (n, max(gaps or [0])))
assert n >= 2, n
assert max(gaps) <= 2.5, gaps
PY

wait_for "Incremental" 90 phase_is "$S" notified Incremental
mdb_q src "INSERT INTO shop.t SELECT seq, seq FROM shop.seq_20001_to_20010"
applied() { [ "$(metric godwit_events_applied)" -ge 10 ] 2>/dev/null; }
wait_for "events applied in metrics.prom" 30 applied
grep -q 'godwit_phase{migration="notified",phase="Incremental"} 1' "$M" || fail "phase Incremental in metrics"
grep -q 'godwit_phase{migration="notified",phase="MigratingFull"} 0' "$M" || fail "only one phase is 1"
caught_up() { [ "$(metric godwit_delay_seconds)" = 0 ]; }
wait_for "delay 0 once caught up" 30 caught_up
assert_eq 0 "$(metric godwit_retries_total)" "no retries"
last=$(metric godwit_last_success_timestamp_seconds)
[ "$last" -ge $(($(date +%s) - 300)) ] && [ "$last" -le $(($(date +%s) + 1)) ] || fail "last success time: $last"
assert_eq 20000 "$(metric godwit_rows_copied)" "rows copied kept once the copy ended"

# Notifications: every phase change up to Incremental, in order, each once
incremental_posted() { grep -q '"phase":"Incremental"' "$GW_TMP/hook.jsonl" 2>/dev/null; }
wait_for "the phase changes are delivered" 60 incremental_posted
python3 - "$GW_TMP" "$C" <<'PY' || fail "notifications"
import json, sys
tmp = sys.argv[1]
got = [json.loads(l) for l in open(tmp + "/hook.jsonl")]
chain = [d["from"] for d in got] + [got[-1]["phase"]]
assert got[0]["from"] == "Pending" and got[0]["phase"] == "Prechecking", got
for a, b in zip(got, got[1:]):
    assert b["from"] == a["phase"], (a, b)
for p in ("MigratingSchema", "MigratingFull", "Incremental"):
    assert p in chain, (p, chain)
for d in got:
    assert d["migration"] == "notified" and len(d["specHash"]) == 64, d
    assert d["revision"]["file"] == "n.yaml" and d["time"].endswith("Z"), d
att = [json.loads(l) for l in open(tmp + "/attempts.jsonl")]
assert att[0]["body"] == att[1]["body"] == att[2]["body"] == got[0], att[:3]
PY
# the loop went on while the first POST was held
held=$(cat "$GW_TMP/held.txt")
echo "# while the first POST was held: $held"
case "$held" in *"-> Prechecking" | *"-> Pending" | *"-> ") fail "the phase did not move while a POST was held: $held" ;; esac
grep -q "notify: POST .*timed out\|notify: POST .*Timeout" "$GW_TMP/controller-C.log" || fail "the timeout is logged"
grep -q "notify: POST .*HTTP 500" "$GW_TMP/controller-C.log" || fail "the 500 is logged"
! grep -q "$GW_PASSWORD" "$GW_TMP/hook.jsonl" "$M" || fail "a password in a notification or metric"

kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
