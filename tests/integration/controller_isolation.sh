# One migration's hung server, unreachable server or invalid spec never
# delays another; every phase change is POSTed to --notify-url; SIGTERM
# ends the controller within seconds even with a connection hanging.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"

# A server that accepts connections and never says a word.
hung_PORT=$(free_port)
python3 - "$hung_PORT" >"$GW_TMP/hung.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
# A receiver of notifications: one body per line.
hook_PORT=$(free_port)
python3 - "$hook_PORT" "$GW_TMP/hook.jsonl" >"$GW_TMP/hook.log" 2>&1 <<'PY' &
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
wait_for "hung server listening" 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $hung_PORT)).close()"
wait_for "hook listening" 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $hook_PORT)).close()"

D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/good.yaml" good "schema, full"
write_spec "$D/hung.yaml" hung "schema, full"
sed -i "/destination:/,/migrationTypes/ s/port: $dst_PORT/port: $hung_PORT/" "$D/hung.yaml"
down_PORT=$(free_port)
write_spec "$D/down.yaml" down "schema, full" "  retryWindow: 3s"
sed -i "/destination:/,/migrationTypes/ s/port: $dst_PORT/port: $down_PORT/" "$D/down.yaml"
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: broken\n' >"$D/broken.yaml"
grep -q "port: $hung_PORT" "$D/hung.yaml" || fail "test setup: hung spec"

ctl_start C --dir "$D" --state-dir "$S" --notify-url "http://127.0.0.1:$hook_PORT/hook"
steady() { case "$(cat "$S/tasks/good/phase" 2>/dev/null)" in Completed | PrecheckFailed | Failed) return 0 ;; esac; return 1; }
wait_for "good reaches a steady phase beside a hung server" 60 steady
wait_for "broken is Invalid" 10 phase_is "$S" broken Invalid
case "$(cat "$S/tasks/hung/phase" 2>/dev/null || echo none)" in
Completed | PrecheckFailed) fail "the hung migration cannot have finished" ;;
esac
wait_for "down fails after its retryWindow" 60 phase_is "$S" down Failed
assert_contains "$(cat "$S/tasks/down/message")" "retryWindow" "down says why"
wait_for "hung is Retrying once the connect times out" 60 phase_is "$S" hung Retrying

wait_for "phase changes are POSTed" 20 grep -q '"migration":"good"' "$GW_TMP/hook.jsonl"
python3 - "$GW_TMP/hook.jsonl" <<'PY' || fail "notification bodies"
import json, sys
seen = [json.loads(l) for l in open(sys.argv[1])]
good = [d for d in seen if d["migration"] == "good"]
assert good and all({"from", "phase", "time", "specHash"} <= set(d) for d in good), seen
assert any(d["migration"] == "down" and d["phase"] == "Failed" for d in seen), seen
PY

# A receiver that never answers does not hold up the work or the exit.
mkdir -p "$GW_TMP/specs2"
cp "$D/good.yaml" "$GW_TMP/specs2/"
start=$(date +%s)
set +e
timeout 60 "$GODWIT" controller --dir "$GW_TMP/specs2" --state-dir "$GW_TMP/state2" --once \
	--notify-url "http://127.0.0.1:$hung_PORT/hook" >"$GW_TMP/controller-N.log" 2>&1
rc=$?
set -e
case $rc in 0 | 1) ;; *) fail "--once with a hung notify receiver: exit $rc" ;; esac
[ $(($(date +%s) - start)) -le 25 ] || fail "a hung notify receiver delayed --once"

start=$(date +%s)
kill -TERM "$C"
wait "$C" || fail "controller exit status $? on SIGTERM"
[ $(($(date +%s) - start)) -le 25 ] || fail "SIGTERM took more than 25 s with a hung server"
echo ok
