#!/usr/bin/env bash
# Two controllers sharing one state directory (replicas on a shared
# volume), each with --max-migrations 1:
#  1. each migration's files are written by one controller only: the one
#     driving it, or for a converged one the one that drove it (the other,
#     which has no room, does not write "waiting" over it); the record
#     names its writer; a spec edit seen by both is recorded by the driver;
#  2. metrics.prom holds both controllers' migrations, each once, the
#     samples each serves on /metrics;
#  3. the driver of a streaming migration is killed: the survivor (no
#     room) says it waits, with no delay (the dead driver's is not today's)
#     and the last applied position; the dead one's metrics go from
#     metrics.prom; once the survivor has room it takes the migration up
#     with what its driver learnt (the precheck is not run again), and the
#     stream goes on;
#  4. a third controller with an id in use on the directory is refused.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
spec() { # N TYPES [EXTRA]: migration mN from database dN
	write_spec "$D/m$1.yaml" "m$1" "$2" "${3:-}"
	sed -i "s/- database: shop/- database: d$1/" "$D/m$1.yaml"
}
for i in 1 2 3; do
	mdb_q src "CREATE DATABASE d$i; CREATE TABLE d$i.t (id INT PRIMARY KEY); INSERT INTO d$i.t VALUES (1)"
done
PY=/usr/bin/python3
reported_by() { sed -n 's/^reportedBy: "\(.*\)"$/\1/p' "$S/tasks/$1/status.yaml" 2>/dev/null; }
driver() { sed -n 's/^controller: "\(.*\)"$/\1/p' "$S/tasks/$1/status.yaml" 2>/dev/null; }
record_by() { sed -n 's/^controller=//p' "$S/tasks/$1/record" 2>/dev/null; }

# one controller each: m2 converges (and its lock goes), m1 streams
spec 1 "schema, full, incremental"
spec 2 "schema, full"
p1=$(free_port)
p2=$(free_port)
ctl_start ra --dir "$D" --state-dir "$S" --max-migrations 1 --id ra --listen "$p1"
ctl_start rb --dir "$D" --state-dir "$S" --max-migrations 1 --id rb --listen "$p2"
wait_for "m2 completes" 60 phase_is "$S" m2 Completed
wait_for "m1 streams" 60 phase_is "$S" m1 Incremental
d1=$(driver m1)
d2=$(reported_by m2)
case "$d1:$d2" in ra:rb | rb:ra) ;; *) fail "one controller each: m1 by [$d1], m2 by [$d2]" ;; esac
other() { [ "$1" = ra ] && echo rb || echo ra; }
wait_for "$d2 lets m2's lock go" 30 grep -q "letting its lock go" "$GW_TMP/controller-$d2.log"

# --- 1. one writer per migration ----------------------------------------
# for 4 s, with a spec edit of m1 both controllers see, rows streaming:
# m2 stays Completed as its driver left it, each file names its writer
spec 1 "schema, full, incremental" "  parallelism: 2"
mdb_q src "INSERT INTO d1.t VALUES (2)"
end=$(($(date +%s) + 4))
while [ "$(date +%s)" -lt "$end" ]; do
	phase_is "$S" m2 Completed || fail "m2's phase overwritten: $(cat "$S/tasks/m2/phase")"
	[ "$(reported_by m2)" = "$d2" ] || fail "m2's status written by $(reported_by m2), not $d2"
	[ "$(reported_by m1)" = "$d1" ] || fail "m1's status written by $(reported_by m1), not $d1"
	[ "$(record_by m1)" = "$d1" ] || fail "m1's record written by $(record_by m1), not $d1"
	m=$(cat "$S/metrics.prom")
	assert_contains "$m" 'godwit_phase{migration="m1",phase="Pending"}' "metrics.prom: m1"
	assert_contains "$m" 'godwit_phase{migration="m2",phase="Completed"} 1' "metrics.prom: m2"
	sleep 0.1
done
wait_for "m1's edit recorded" 30 grep -q "^rev_sha256=$(sha256sum "$D/m1.yaml" | cut -d' ' -f1)" "$S/tasks/m1/record"
[ "$(record_by m1)" = "$d1" ] || fail "the edit recorded by the driver"
grep -q "waiting for a controller with room" "$S/tasks/m2/status.yaml" && fail "m2 said to wait"

# --- 2. metrics.prom: both controllers' samples, each once --------------
wait_for "m1 streams after its edit" 60 phase_is "$S" m1 Incremental
wait_for "m1's row applied" 30 dst_is "SELECT COUNT(*) FROM d1.t" 2
sleep 1 # a counter that moved is merged within a tick
port_of() { [ "$1" = ra ] && echo "$p1" || echo "$p2"; }
curl -fsS "http://127.0.0.1:$(port_of "$d1")/metrics" >"$GW_TMP/m-d1"
curl -fsS "http://127.0.0.1:$(port_of "$d2")/metrics" >"$GW_TMP/m-d2"
$PY - "$S/metrics.prom" "$GW_TMP/m-d1" "$GW_TMP/m-d2" <<'PYX' || fail "metrics.prom against /metrics"
import sys
from prometheus_client.parser import text_string_to_metric_families
def samples(path, only_godwit=True):
    out = []
    for f in text_string_to_metric_families(open(path).read()):
        for s in f.samples:
            if s.name.startswith("godwit_") and s.name != "godwit_controller_info":
                out.append((s.name, tuple(sorted(s.labels.items())), s.value))
    return out
merged = samples(sys.argv[1])
keys = [(n, l) for n, l, v in merged]
assert len(keys) == len(set(keys)), "a sample twice in metrics.prom"
m1 = samples(sys.argv[2])
m2 = samples(sys.argv[3])
assert {dict(l)["migration"] for n, l, v in m1} == {"m1"}, m1
assert {dict(l)["migration"] for n, l, v in m2} == {"m2"}, m2
moving = ("godwit_delay_seconds", "godwit_last_success_timestamp_seconds")
want = {(n, l, v) for n, l, v in m1 + m2 if n not in moving}
got = {(n, l, v) for n, l, v in merged if n not in moving}
assert want == got, (want ^ got)
PYX

# --- 3. the driver of m1 dies; the survivor has no room -------------------
spec 3 "schema, full, incremental"
wait_for "m3 streams, driven by $d2" 60 sh -c "[ \"\$(sed -n 's/^controller: \"\\(.*\\)\"\$/\\1/p' '$S/tasks/m3/status.yaml')\" = $d2 ] && [ \"\$(cat '$S/tasks/m3/phase')\" = Incremental ]"
wait_for "m1 caught up" 30 sh -c "[ \"\$(cat '$S/tasks/m1/delay_seconds' 2>/dev/null)\" = 0 ]"
pos=$(cat "$S/tasks/m1/position")
[ -n "$pos" ] || fail "m1 has a position"
pid_of() { [ "$1" = ra ] && echo "$ra" || echo "$rb"; }
prechecks=$(audit_count "$S" m1 precheck end)
passed=$(sed -n 's/^precheck_hash=//p' "$S/tasks/m1/record")
[ -n "$passed" ] || fail "m1's record says the precheck passed"
kill -9 "$(pid_of "$d1")"
wait "$(pid_of "$d1")" 2>/dev/null || true
waiting() {
	grep -q "waiting for a controller with room" "$S/tasks/m1/message" && [ "$(reported_by m1)" = "$d2" ]
}
wait_for "$d2 says m1 waits" 60 waiting
[ ! -e "$S/tasks/m1/delay_seconds" ] || fail "the dead driver's delay is still shown: $(cat "$S/tasks/m1/delay_seconds")"
assert_eq "$pos" "$(cat "$S/tasks/m1/position")" "the last applied position kept"
table=$("$GODWIT" status --state-dir "$S")
echo "$table"
row=$(echo "$table" | grep "^m1 ")
assert_eq "-" "$(echo "$row" | awk '{print $4}')" "no delay in the table"
assert_contains "$row" "waiting for a controller with room" "the table says it waits"
one=$("$GODWIT" status m1 --state-dir "$S")
echo "$one"
assert_contains "$one" "Delay:     - (not streaming now)" "detail: no delay"
assert_contains "$one" "Position:  $pos (the last applied, at " "detail: the last position and when"
"$GODWIT" status --state-dir "$S" --json | $PY -c '
import json, sys
d = {x["name"]: x for x in json.load(sys.stdin)}
assert d["m1"]["delaySeconds"] is None, d["m1"]
assert "waiting for a controller with room" in d["m1"]["message"], d["m1"]
' || fail "status --json"
# the dead controller's part leaves metrics.prom; m1 is there once, waiting
gone() { [ ! -e "$S/controllers/$d1.prom" ] && ! grep -q 'godwit_phase{migration="m1",phase="Incremental"} 1' "$S/metrics.prom"; }
wait_for "the dead controller's metrics removed" 30 gone
assert_eq 1 "$(grep -c 'godwit_phase{migration="m1",phase="Pending"}' "$S/metrics.prom")" "m1 once in metrics.prom"

# room: m3 stops; the survivor takes m1 up with the record its driver left
spec 3 "schema, full, incremental" "  state: stopped
  stop: {maxDelay: 0s}"
wait_for "m3 stops" 60 phase_is "$S" m3 Stopped
wait_for "$d2 drives m1" 60 sh -c "[ \"\$(sed -n 's/^controller: \"\\(.*\\)\"\$/\\1/p' '$S/tasks/m1/status.yaml')\" = $d2 ]"
wait_for "m1 streams again" 60 phase_is "$S" m1 Incremental
mdb_q src "INSERT INTO d1.t VALUES (3)"
wait_for "m1 applies changes again" 30 dst_is "SELECT COUNT(*) FROM d1.t" 3
wait_for "m1's record now $d2's" 30 sh -c "grep -q '^controller=$d2\$' '$S/tasks/m1/record'"
assert_eq "$prechecks" "$(audit_count "$S" m1 precheck end)" "the precheck passed under $d1 is not run again"
assert_eq "$passed" "$(sed -n 's/^precheck_hash=//p' "$S/tasks/m1/record")" "what $d1 learnt is in $d2's record"

# --- 4. an id in use is refused ------------------------------------------
set +e
out=$(timeout 30 "$GODWIT" controller --dir "$D" --state-dir "$S" --id "$d2" --once 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "a second controller with the id $d2"
assert_contains "$out" "another controller with the id '$d2' runs on the state directory" "the reason"
kill -TERM "$(pid_of "$d2")"
wait "$(pid_of "$d2")" || true
[ ! -e "$S/controllers/$d2.lock" ] || fail "a controller that ends takes its lock file away"
echo ok
