# The whole life of a migration through the real controller on a spec
# directory: schema, full, incremental; a change on the source arrives; an
# immutable edit is refused while the task goes on; pause and resume; the
# gated stop; deleting the spec keeps the data.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO shop.t VALUES (1, 'a'), (2, 'b'), (3, 'c')"
S=$GW_TMP/state
D=$GW_TMP/specs
mkdir -p "$D"
write_spec "$D/m.yaml" e2e "schema, full, incremental"
ctl_start C --dir "$D" --state-dir "$S"

wait_for "phase Incremental" 90 phase_is "$S" e2e Incremental
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "full copy"
wait_for "position recorded" 30 test -s "$S/tasks/e2e/position"
mdb_q src "INSERT INTO shop.t VALUES (4, 'd')"
wait_for "a source change arrives" 30 dst_is 'SELECT v FROM shop.t WHERE id = 4' d
wait_for "delay_seconds" 30 test -s "$S/tasks/e2e/delay_seconds"

# An immutable change is refused; the running task goes on.
cp "$D/m.yaml" "$GW_TMP/m.orig"
write_spec "$D/m.yaml.new" e2e "schema, full, incremental" "    - database: other"
mv "$D/m.yaml.new" "$D/m.yaml"
wait_for "SpecImmutable" 30 grep -A1 -q 'type: SpecImmutable' "$S/tasks/e2e/status.yaml"
grep -A1 'type: SpecImmutable' "$S/tasks/e2e/status.yaml" | grep -q '"True"' ||
	wait_for "SpecImmutable True" 30 sh -c "grep -A1 'type: SpecImmutable' '$S/tasks/e2e/status.yaml' | grep -q True"
mdb_q src "INSERT INTO shop.t VALUES (5, 'e')"
wait_for "changes still arrive under SpecImmutable" 30 dst_is 'SELECT COUNT(*) FROM shop.t' 5
assert_eq "Incremental" "$(cat "$S/tasks/e2e/phase")" "the task goes on"
cp "$GW_TMP/m.orig" "$D/m.yaml.new" && mv "$D/m.yaml.new" "$D/m.yaml"
wait_for "SpecImmutable cleared" 30 sh -c "grep -A1 'type: SpecImmutable' '$S/tasks/e2e/status.yaml' | grep -q False"

# Pause: no more changes arrive; resume: they do.
write_spec "$D/m.yaml" e2e "schema, full, incremental" "  state: paused"
wait_for "Paused" 30 phase_is "$S" e2e Paused
stream_ended() { [ "$(audit_count "$S" e2e incremental end)" -ge 1 ]; }
wait_for "the stream checkpointed and ended" 30 stream_ended
grep -q '"action":"incremental","event":"end","result":"cancelled"' "$S/audit.jsonl" || fail "paused: the stream was cancelled"
pos=$(cat "$S/tasks/e2e/position")
mdb_q src "INSERT INTO shop.t VALUES (6, 'f')"
sleep 2 # a negative check: the stream would apply it within milliseconds
assert_eq 5 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "nothing applied while paused"
assert_eq "$pos" "$(cat "$S/tasks/e2e/position")" "the position is kept while paused"
write_spec "$D/m.yaml" e2e "schema, full, incremental"
wait_for "Incremental again" 60 phase_is "$S" e2e Incremental
wait_for "the change made while paused arrives" 30 dst_is 'SELECT COUNT(*) FROM shop.t' 6

# The gated stop.
write_spec "$D/m.yaml" e2e "schema, full, incremental" "  state: stopped
  stop: {maxDelay: 5s}"
wait_for "Stopped" 60 phase_is "$S" e2e Stopped
mdb_q src "INSERT INTO shop.t VALUES (7, 'g')"
sleep 2
assert_eq "6" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "nothing applied after the stop"
grep -q '"action":"schema-cutover","event":"end","result":"ok"' "$S/audit.jsonl" || fail "cutover in the audit log"

# Deleting the spec never drops data.
rm "$D/m.yaml"
write_spec "$D/other.yaml" keep "schema" # the source never lists nothing at all
wait_for "deletion recorded" 30 grep -q "spec deleted" "$S/tasks/e2e/message"
assert_eq "6" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "data kept after deletion"
kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
