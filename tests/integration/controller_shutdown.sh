#!/usr/bin/env bash
# SIGTERM ends the controller within seconds even while the scan of the
# destinations (which reads godwit_meta.task_stage on every destination in
# use) waits on a server: here behind a table lock another session holds,
# as a busy or hung server would keep it waiting. The migration's stream
# stops at a checkpoint, the state files stay; a controller started again
# streams on.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/shop.yaml" shop "schema, full, incremental"
ctl_start C --dir "$D" --state-dir "$S"
wait_for "shop streams" 60 phase_is "$S" shop Incremental

# another session holds a write lock on the table the scan reads
mkfifo "$GW_TMP/lock.in"
mdb dst -n <"$GW_TMP/lock.in" >"$GW_TMP/lock.out" 2>&1 &
LK=$!
exec 7>"$GW_TMP/lock.in"
echo "LOCK TABLES godwit_meta.task_stage WRITE; SELECT 'locked';" >&7
wait_for "the table locked" 10 grep -q locked "$GW_TMP/lock.out"
# a rescan asks for a scan of the destinations, which waits on the lock
kill -HUP "$C"
scan_waits() {
	[ "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT task FROM %task_stage%' AND STATE LIKE '%lock%'")" -ge 1 ]
}
wait_for "the scan waits on the lock" 30 scan_waits
mdb_q src "INSERT INTO shop.t VALUES (2)"
wait_for "the stream goes on meanwhile" 30 dst_is "SELECT COUNT(*) FROM shop.t" 2

t0=$(date +%s%N)
kill -TERM "$C"
exited() { ! gw_alive "$C"; }
wait_for "the controller exits on SIGTERM" 15 exited
set +e
wait "$C"
rc=$?
set -e
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# SIGTERM to exit: $ms ms"
assert_eq 0 "$rc" "exit status after SIGTERM"
[ "$ms" -lt 8000 ] || fail "SIGTERM took $ms ms"
scan_waits || fail "the scan was still waiting when the controller ended"
grep -q "the scan of the destinations does not end: not waiting for it" "$GW_TMP/controller-C.log" ||
	fail "the log says it did not wait"
phase_is "$S" shop Incremental || fail "the phase file kept"

# the lock goes; a new controller streams on from the checkpoint
echo "UNLOCK TABLES;" >&7
exec 7>&-
wait "$LK" || true
ctl_start C2 --dir "$D" --state-dir "$S"
mdb_q src "INSERT INTO shop.t VALUES (3)"
wait_for "streams again" 60 dst_is "SELECT COUNT(*) FROM shop.t" 3
kill -TERM "$C2"
wait "$C2" || true
echo ok
