#!/usr/bin/env bash
# A spec deleted while its destination cannot be reached: stopping it
# waits for the destination like any lost connection (Retrying within
# retryWindow), then takes the whitelist entries back and records the stop
# once the destination is back. Only past retryWindow is it given up
# ("could not be reached", the entries left and said so).
#  1. long-running, an rds destination with whitelist entries (the cloud
#     emulator): Retrying while the server is down, nothing removed, no
#     delete line; the server back, Stopped, the entries removed, one
#     delete line, the data kept.
#  2. --once: the run waits for the destination rather than exit.
#  3. retryWindow 3s: given up, Stopped, the entries named as not removed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/cloud.sh"

mdb_start src
mdb_start dst
mdb_start other
ctl_require engine
for db in sa sb sc sk; do
	mdb_q src "CREATE DATABASE $db; CREATE TABLE $db.t (id INT PRIMARY KEY); INSERT INTO $db.t VALUES (1), (2)"
done

export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAItest ALIBABA_CLOUD_ACCESS_KEY_SECRET=test-secret-x
cat >"$GW_TMP/cloud.json" <<JSON
{"accounts": {"1": {"keys": {"LTAItest": {"secret": "test-secret-x"}}}},
 "instances": {"rm-dst": {"account": "1", "region": "cn-hangzhou", "host": "127.0.0.1",
               "port": $dst_PORT, "engine": "MariaDB", "engineVersion": "10.11",
               "storageGB": 20, "diskUsed": 1048576, "groups": {"default": "127.0.0.1"}}}}
JSON
emu_start "$GW_TMP/cloud.json"

# spec FILE NAME DB CIDR [EXTRA]: to rds rm-dst, whitelisting CIDR
spec() {
	write_spec "$1" "$2" "schema, full, incremental" "      renameTo: $3
  whitelist: {cidrs: [\"$4\"]}${5:+
$5}"
	sed -i "s/- database: shop/- database: $3/" "$1"
	spec_rds "$1" destination '{region: cn-hangzhou, instanceId: rm-dst}'
}
group() { emu_state 's["instances"]["rm-dst"]["groups"].get("godwit")'; }
deletes() { audit_count "$1" "$2" delete end; }
msg_has() { grep -q "$3" "$1/tasks/$2/message" 2>/dev/null; }
retrying_deleted() { phase_is "$1" "$2" Retrying && msg_has "$1" "$2" "^spec deleted: stopping once"; }
stopped() { phase_is "$1" "$2" Stopped && msg_has "$1" "$2" "$3"; }

# --- 1. long-running -------------------------------------------------
D=$GW_TMP/dir
S=$GW_TMP/state
mkdir -p "$D"
# a spec that stays (a source listing none is not taken for deletions),
# to another destination
write_spec "$D/k.yaml" k "schema, full"
sed -i "s/- database: shop/- database: sk/; s/port: $dst_PORT/port: $other_PORT/" "$D/k.yaml"
spec "$D/a.yaml" a sa 198.51.100.1
ctl_start A --dir "$D" --state-dir "$S"
wait_for "a streams" 60 phase_is "$S" a Incremental
wait_for "k completes" 60 phase_is "$S" k Completed
assert_eq 2 "$(mdb_q other 'SELECT COUNT(*) FROM sk.t')" "k copied to the other server"
assert_eq 198.51.100.1 "$(group)" "a's whitelist entry added"
mdb_stop dst
rm "$D/a.yaml"
wait_for "a waits for its destination to stop" 60 retrying_deleted "$S" a
assert_eq 198.51.100.1 "$(group)" "nothing removed while the destination is down"
assert_eq 0 "$(deletes "$S" a)" "no delete line yet"
assert_eq 0 "$(audit_count "$S" a whitelist-remove start)" "no removal started"
mdb_launch dst
wait_for "a stopped once the destination is back" 60 stopped "$S" a "^spec deleted: stopped; destination data kept"
assert_eq null "$(group)" "a's whitelist entry removed"
assert_eq 127.0.0.1 "$(emu_state 's["instances"]["rm-dst"]["groups"]["default"]')" "other group untouched"
assert_eq 1 "$(deletes "$S" a)" "a: one delete line"
assert_eq 1 "$(audit_count "$S" a whitelist-remove end)" "the removal audited"
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM sa.t')" "a's data kept"
kill -TERM "$A"
wait "$A" || true

# --- 2. --once ---------------------------------------------------------
spec "$D/b.yaml" b sb 198.51.100.2
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-2a.log" 2>&1 ||
	fail "--once run creating b"
phase_is "$S" b Incremental || fail "b streams: $(cat "$S/tasks/b/phase")"
mdb_stop dst
rm "$D/b.yaml"
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-2b.log" 2>&1 &
once=$!
wait_for "b waits for its destination (--once)" 60 retrying_deleted "$S" b
gw_alive "$once" || fail "--once exited while b could not be stopped"
mdb_launch dst
wait "$once" || fail "--once after the destination came back: exit $?"
stopped "$S" b "^spec deleted: stopped; destination data kept" || fail "b: $(cat "$S/tasks/b/message")"
assert_eq null "$(group)" "b's whitelist entry removed"
assert_eq 1 "$(deletes "$S" b)" "b: one delete line"

# --- 3. past retryWindow -----------------------------------------------
spec "$D/c.yaml" c sc 198.51.100.3 "  retryWindow: 3s"
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-3a.log" 2>&1 ||
	fail "--once run creating c"
mdb_stop dst
rm "$D/c.yaml"
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-3b.log" 2>&1 ||
	fail "--once giving c up"
stopped "$S" c "could not be reached (whitelist entries not removed)" || fail "c: $(cat "$S/tasks/c/message")"
grep -q "phase .* -> Retrying: spec deleted: stopping once" "$GW_TMP/controller-3b.log" ||
	fail "c retried before it was given up"
assert_eq 198.51.100.3 "$(group)" "c's entry stays, as said"
assert_eq 1 "$(deletes "$S" c)" "c: one delete line"
echo ok
