# `godwit status` reads the state directory only: the table (with a
# progress bar), --json, one migration's conditions, precheck and audit.
. "$(dirname "$0")/../lib/harness.sh"

S=$GW_TMP/state
mkdir -p "$S/tasks/copying" "$S/tasks/streaming"
now=$(date +%s)
t() { printf '%s\n' "$2" >"$S/tasks/$1/$3"; }
t copying MigratingFull phase
t copying "full 1234567/2000000 rows 61.7%" progress
t copying "full: running" message
cat >"$S/tasks/copying/status.yaml" <<YAML
apiVersion: godwit/v1
kind: MigrationStatus
name: "copying"
phase: MigratingFull
createdAt: "x"
createdUnix: $((now - 7200))
controller: "ctl-7"
conditions:
  - type: Ready
    status: "False"
    reason: "MigratingFull"
    message: "full: running"
    lastTransitionTime: "2026-11-24T01:00:00Z"
  - type: SpecImmutable
    status: "True"
    reason: "SpecImmutable"
    message: "source, destination, objects and \"migrationTypes\" cannot change"
    lastTransitionTime: "2026-11-24T01:30:00Z"
progress:
  summary: "full 1234567/2000000 rows 61.7%"
YAML
printf 'task: copying\ntime: "2026-11-24T01:00:00Z"\npassed: 5\nwarned: 1\nfailed: 0\nitems:\n  - id: binlog_format\n    result: pass\n    cause: "binlog_format is ROW"\n    fix: ""\n  - id: storage\n    result: warn\n    cause: "about 7 MiB"\n    fix: "make room"\n' >"$S/tasks/copying/precheck.yaml"
for fk in a b c d; do
	printf '  - id: foreign-keys\n    result: warn\n    cause: "fk_%s cascades"\n    fix: ""\n' "$fk" >>"$S/tasks/copying/precheck.yaml"
done
t streaming Incremental phase
t streaming "incremental 42 events applied" progress
t streaming 3 delay_seconds
t streaming "0-1-99" position
t streaming "incremental: running" message
printf 'createdUnix: %s\n' "$((now - 90))" >"$S/tasks/streaming/status.yaml"
for i in $(seq 1 12); do
	printf '{"time":"2026-11-24T01:%02d:00Z","task":"copying","action":"full","event":"start","result":"started","revision":{"file":"c.yaml","sha256":"ab","commit":"0123456789abcdef0123","author":"Ada <ada@example.com>"}}\n' "$i" >>"$S/audit.jsonl"
done
printf '{"time":"2026-11-24T01:59:00Z","task":"streaming","action":"incremental","event":"end","result":"retry","error":"connection lost","revision":{"file":"s.yaml","sha256":"cd","commit":"","author":null}}\n' >>"$S/audit.jsonl"

out=$("$GODWIT" status --state-dir "$S")
echo "$out"
assert_eq "NAME PHASE PROGRESS DELAY AGE CONTROLLER MESSAGE" "$(echo "$out" | head -1 | tr -s ' ')" "header"
assert_contains "$(echo "$out" | grep '^copying ')" " ctl-7 " "the controller driving it"
assert_contains "$(echo "$out" | grep '^streaming ')" " - " "none named: -"
assert_contains "$(echo "$out" | grep '^copying ')" "[######----] full 1234567/2000000 rows 61.7%" "bar"
assert_contains "$(echo "$out" | grep '^copying ')" " 2h " "age"
assert_contains "$(echo "$out" | grep '^streaming ')" " 3 " "delay"
echo "$out" | grep '^streaming ' | grep -Eq ' 9[0-9]s ' || fail "age in seconds"
[ "$(echo "$out" | sed -n 2p | cut -d' ' -f1)" = copying ] || fail "rows sorted by name"

"$GODWIT" status --state-dir "$S" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [x["name"] for x in d] == ["copying", "streaming"], d
assert d[1]["delaySeconds"] == 3 and d[0]["delaySeconds"] is None, d
' || fail "status --json"

one=$("$GODWIT" status copying --state-dir "$S")
echo "$one"
assert_contains "$one" "Phase:     MigratingFull" "phase"
assert_contains "$one" "SpecImmutable          True   SpecImmutable" "conditions table"
assert_contains "$one" 'objects and "migrationTypes" cannot change' "condition message unescaped"
assert_contains "$one" "5 passed, 1 warned, 0 failed at 2026-11-24T01:00:00Z" "precheck counts"
assert_contains "$one" "warn  storage                  about 7 MiB" "the items that did not pass"
assert_contains "$one" "fix: make room" "with their fix"
assert_not_contains "$one" "binlog_format is ROW" "passed items left to precheck.yaml"
assert_contains "$one" "warn  foreign-keys             4 alike, e.g. fk_a cascades (all in precheck.yaml)" \
	"alike items are one line with a count"
assert_not_contains "$one" "fk_b cascades" "not every alike item"
assert_contains "$one" "Driven by: ctl-7" "the controller driving it"
assert_eq 10 "$(echo "$one" | grep -c '  full  *start')" "the last 10 audit entries of the task"
assert_not_contains "$one" "connection lost" "other tasks' audit entries left out"
assert_contains "$one" "0123456789ab Ada <ada@example.com>" "commit and author"
"$GODWIT" status streaming --state-dir "$S" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["position"] == "0-1-99" and d["audit"][0]["error"] == "connection lost", d
' || fail "status NAME --json"

set +e
"$GODWIT" status nosuch --state-dir "$S" 2>"$GW_TMP/err"
rc=$?
set -e
assert_eq 1 "$rc" "unknown migration"
assert_contains "$(cat "$GW_TMP/err")" "no migration named 'nosuch'" "error names it"
set +e
"$GODWIT" status --bogus 2>/dev/null
rc=$?
set -e
assert_eq 2 "$rc" "unknown flag"
echo ok
