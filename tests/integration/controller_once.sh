# `controller --once` with a full-only migration and an invalid spec beside
# it: the valid one completes, the invalid one is Invalid and does not
# disturb it, the exit code says so; status, plan and the audit log agree.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO shop.t VALUES (1, 'a'), (2, 'b'), (3, 'c')"
S=$GW_TMP/state
mkdir -p "$GW_TMP/specs"
write_spec "$GW_TMP/specs/good.yaml" good "schema, full"
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: bad\nspec:\n  sorce: {}\n' \
	>"$GW_TMP/specs/bad.yaml"

# plan: read-only, deterministic, irreversible steps marked
p1=$("$GODWIT" plan "$GW_TMP/specs/good.yaml" --state-dir "$S") || fail "plan good: $p1"
p2=$("$GODWIT" plan "$GW_TMP/specs/good.yaml" --state-dir "$S")
assert_eq "$p1" "$p2" "plan output is stable"
assert_contains "$p1" "1. precheck" "plan starts with the precheck"
assert_contains "$p1" "full" "plan copies"
assert_contains "$p1" "spec hash:" "plan shows the spec hash"
[ ! -e "$S" ] || fail "plan wrote into the state dir"
{ "$GODWIT" plan "$GW_TMP/specs" --state-dir "$S" --json || true; } | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["migrations"]) == 2' ||
	fail "plan --json"
set +e
"$GODWIT" plan "$GW_TMP/specs" --state-dir "$S" >/dev/null 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "plan exits 1 with an invalid spec"

set +e
timeout 120 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$S" --once >"$GW_TMP/controller-once.log" 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "--once exits 1 when a spec is Invalid"
assert_eq "Completed" "$(cat "$S/tasks/good/phase")" "the valid migration completes"
assert_eq "Invalid" "$(cat "$S/tasks/bad/phase")" "the invalid spec is Invalid"
assert_contains "$(cat "$S/tasks/bad/message")" "bad.yaml" "the message names the file"
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "rows copied"

# status files and audit
grep -q 'observedGeneration: "' "$S/tasks/good/status.yaml" || fail "observedGeneration"
grep -q 'lastAppliedRevision: "' "$S/tasks/good/status.yaml" || fail "lastAppliedRevision"
assert_eq 1 "$(audit_count "$S" good full start)" "one full start in the audit log"
assert_eq 1 "$(audit_count "$S" good full end)" "one full end in the audit log"
python3 - "$S/audit.jsonl" <<'PY' || fail "audit.jsonl is not one JSON object per line"
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["revision"]["file"] == "good.yaml" and len(d["revision"]["sha256"]) == 64, d
PY
grep -q 'godwit_phase{migration="good",phase="Completed"} 1' "$S/metrics.prom" || fail "metrics"

table=$("$GODWIT" status --state-dir "$S")
assert_contains "$table" "NAME" "status header"
assert_contains "$(echo "$table" | grep '^good ')" "Completed" "status row of good"
assert_contains "$(echo "$table" | grep '^bad ')" "Invalid" "status row of bad"
one=$("$GODWIT" status good --state-dir "$S")
assert_contains "$one" "Conditions:" "status NAME shows conditions"
assert_contains "$one" "Recent actions:" "status NAME shows the audit"
"$GODWIT" status --state-dir "$S" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert {x["name"] for x in d} == {"good","bad"}' ||
	fail "status --json"
"$GODWIT" status good --state-dir "$S" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["phase"] == "Completed" and d["conditions"]' ||
	fail "status NAME --json"

# the invalid spec fixed away: a second run is steady at once and exits 0;
# nothing is copied twice
rm "$GW_TMP/specs/bad.yaml"
timeout 60 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$S" --once >>"$GW_TMP/controller-once.log" 2>&1 ||
	fail "second --once run"
assert_eq 1 "$(audit_count "$S" good full start)" "no second copy"
p3=$("$GODWIT" plan "$GW_TMP/specs/good.yaml" --state-dir "$S")
assert_contains "$p3" "next:            nothing" "plan of a completed migration"
echo ok
