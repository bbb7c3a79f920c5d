#!/usr/bin/env bash
# A git server that stops answering in the middle of a fetch holds up
# nothing but the specs: the server (git http-backend behind a loopback
# smart-HTTP server written for the tests, tests/lib/git_http.py) sends the
# status line and headers of the pack and then hangs. While it hangs:
#  - a running migration's phase changes are acted on (its source goes
#    away: Retrying; it comes back: Incremental, the rows written meanwhile
#    applied), and its status files keep moving;
#  - /healthz stays 200 past the 60 s after which a loop that did not turn
#    is reported dead, /readyz stays 200, and the log says once that the
#    server does not answer;
#  - the spec of the hanging fetch is not applied (the specs of the last
#    fetch are);
#  - a `--once` controller whose first fetch hangs exits 2 with the reason.
# Released, the fetch ends and its spec is applied (paused). A second hang,
# then SIGTERM: the controller ends within a few seconds without waiting
# for the fetch.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1), (2)"

R=$GW_TMP/root
W=$GW_TMP/work
S=$GW_TMP/state
git init -q --bare -b main "$R/specs.git"
git init -q -b main "$W"
commit() {
	git -C "$W" add -A
	GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.com GIT_COMMITTER_NAME=ci \
		GIT_COMMITTER_EMAIL=ci@example.com git -C "$W" commit -qm "$1"
	git -C "$W" push -q "$R/specs.git" main
}
write_spec "$W/shop.yaml" shop "schema, full, incremental"
commit "shop"

# The server: while $GW_TMP/stall exists, a fetch's pack gets its status
# line and headers, then nothing until the file is gone.
PORT=$(free_port)
STALL=$GW_TMP/stall
python3 "$GW_ROOT/tests/lib/git_http.py" "$PORT" "$R" --stall "$STALL" --events "$GW_TMP/http-events.log" \
	>"$GW_TMP/http.log" 2>&1 &
wait_for "git http server listening" 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()"
URL=http://127.0.0.1:$PORT/specs.git
git ls-remote "$URL" >/dev/null || fail "test setup: the server serves git"
stalled() { [ "$(grep -c '^stalled$' "$GW_TMP/http-events.log" 2>/dev/null)" -ge "$1" ]; }
hanging() { [ "$(grep -c '^stalled$' "$GW_TMP/http-events.log")" -gt "$(grep -c '^released$' "$GW_TMP/http-events.log" || true)" ]; }

hport=$(free_port)
ctl_start C --git "$URL" --state-dir "$S" --interval 1s --listen "$hport" --id stall-1
hurl=http://127.0.0.1:$hport
code() { curl -s -o /dev/null -w '%{http_code}' "$hurl/$1"; }
wait_for "shop streams" 90 phase_is "$S" shop Incremental

# --- the first hang: a new commit (pause) whose pack never comes --------
touch "$STALL"
hang_start=$(date +%s)
write_spec "$W/shop.yaml" shop "schema, full, incremental" "  state: paused"
commit "pause shop"
wait_for "the fetch of the pause commit hangs" 30 stalled 1
# a --once controller whose first fetch hangs gives up with the reason
set +e
timeout 150 "$GODWIT" controller --git "$URL" --state-dir "$GW_TMP/state-once" --once \
	>"$GW_TMP/once.log" 2>&1 &
ONCE=$!
set -e
wait_for "the --once controller's fetch hangs too" 30 stalled 2

# the migration's own events are acted on: its source goes away...
mdb_stop src
wait_for "shop retries while its source is down" 60 phase_is "$S" shop Retrying
grep -q "Retrying" "$S/tasks/shop/status.yaml" || fail "status.yaml follows"
# ...and comes back with rows written meanwhile
mdb_launch src
mdb_q src "INSERT INTO shop.t VALUES (3), (4)"
wait_for "shop streams again" 90 phase_is "$S" shop Incremental
wait_for "the rows written meanwhile applied" 30 dst_is "SELECT COUNT(*) FROM shop.t" 4
assert_contains "$(cat "$S/tasks/shop/progress")" "events applied" "the progress file moves"
hanging || fail "the fetch still hangs"
assert_eq 0 "$(audit_count "$S" shop incremental cancelled)" "the spec of the hanging fetch is not applied"
phase_is "$S" shop Incremental || fail "not paused: the pause commit never arrived"

# past the time after which a loop that did not turn is reported dead
wait_for "the log says the server does not answer" 90 grep -q "no answer from the server for" "$GW_TMP/controller-C.log"
[ $(($(date +%s) - hang_start)) -ge 60 ] || fail "the stall was reported before 60 s"
assert_eq 1 "$(grep -c "no answer from the server for" "$GW_TMP/controller-C.log")" "said once"
hanging || fail "the fetch still hangs past 60 s"
assert_eq 200 "$(code healthz)" "/healthz while the fetch hangs"
assert_eq 200 "$(code readyz)" "/readyz while the fetch hangs"
set +e
wait "$ONCE"
rc=$?
set -e
assert_eq 2 "$rc" "--once whose first fetch hangs"
assert_contains "$(cat "$GW_TMP/once.log")" "no answer from the server for" "--once says why"
mdb_q src "INSERT INTO shop.t VALUES (5)"
wait_for "still applying after 60 s" 30 dst_is "SELECT COUNT(*) FROM shop.t" 5

# released: the fetch ends, the pause is applied
rm -f "$STALL"
wait_for "the pause commit is applied" 30 phase_is "$S" shop Paused
grep -q "the server answers again" "$GW_TMP/controller-C.log" || fail "the log says the server answers again"

# --- the second hang, then SIGTERM ---------------------------------------
touch "$STALL"
write_spec "$W/shop.yaml" shop "schema, full, incremental"
commit "resume shop"
wait_for "the fetch of the resume commit hangs" 30 stalled 3
t0=$(date +%s%N)
kill -TERM "$C"
exited() { ! gw_alive "$C"; }
wait_for "the controller exits on SIGTERM" 10 exited
wait "$C" 2>/dev/null || fail "exit status after SIGTERM: $?"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# SIGTERM to exit: $ms ms"
[ "$ms" -lt 6000 ] || fail "SIGTERM took $ms ms"
hanging || fail "the fetch was still hanging when the controller ended"
grep -q "does not end: not waiting for it" "$GW_TMP/controller-C.log" || fail "the log says it did not wait"
phase_is "$S" shop Paused || fail "the phase file kept"
rm -f "$STALL"
echo ok
