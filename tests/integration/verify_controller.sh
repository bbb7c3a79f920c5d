# spec.verify: true through the controller: after the full copy the
# controller verifies and records the result in status.yaml. A clean copy
# completes with "equal: true"; a destination that changed a row on its
# own fails with the key named. While the copy runs, status.yaml shows
# per-table progress (rows, bytes, rows/s, ETA), and a migration without
# incremental warns that writes during the copy may be missed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; USE shop; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_6000;
	CREATE TABLE u (k VARCHAR(10) PRIMARY KEY, n INT); INSERT INTO u SELECT CONCAT('k', seq), seq FROM seq_1_to_300;
	CREATE DATABASE other; USE other; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO t SELECT seq, 'x' FROM seq_1_to_100"
# other2.t changes every row behind godwit's back (a trigger of the
# destination's own): verify must find it.
mdb_q dst "CREATE DATABASE other2; CREATE TABLE other2.t (id INT PRIMARY KEY, v VARCHAR(20));
	CREATE TRIGGER other2.up BEFORE INSERT ON other2.t FOR EACH ROW SET NEW.v = IF(NEW.id = 42, 'changed', NEW.v)"
S=$GW_TMP/state
mkdir -p "$GW_TMP/specs"
copy_spec "$GW_TMP/specs/good.yaml" good "schema, full" '    - database: shop' '  verify: true
  parallelism: 2
  throttle: {rowsPerSecond: 1500}'
copy_spec "$GW_TMP/specs/bad.yaml" bad "schema, full" '    - database: other
      renameTo: other2' '  verify: true'

ctl_start C --dir "$GW_TMP/specs" --state-dir "$S"
# While the throttled copy runs: per-table progress.
wait_for "per-table progress" 60 grep -q 'state: copying' "$S/tasks/good/status.yaml"
st=$(cat "$S/tasks/good/status.yaml")
assert_contains "$st" "name: \"shop.t\"" "the table is listed"
assert_contains "$st" "rowsPerSecond:" "rows/s"
assert_contains "$st" "bytesDone:" "bytes"
python3 -c 'import sys, yaml; d = yaml.safe_load(sys.stdin); t = d["progress"]["tables"]; assert {"rowsDone", "rowsTotal", "percent", "bytesDone", "rowsPerSecond", "state"} <= set(t[0]), t' <<<"$st" ||
	fail "status.yaml with per-table progress is not valid YAML: $st"
assert_contains "$st" "warning: \"no incremental migration: writes to the source during the full copy may be missed\"" "warning without incremental"
wait_for "good completes" 120 phase_is "$S" good Completed
wait_for "bad fails" 120 phase_is "$S" bad Failed
kill "$C"
wait "$C" 2>/dev/null || true

st=$(cat "$S/tasks/good/status.yaml")
assert_contains "$st" "verify:
  tables: 2
  equal: true" "verify result recorded"
assert_eq "6000" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "rows copied"
st=$(cat "$S/tasks/bad/status.yaml")
assert_contains "$st" "equal: false" "difference recorded"
assert_contains "$st" 'key: "42", row: differs' "the changed row is named"
assert_not_contains "$st" 'key: "41"' "only that row"
assert_contains "$(cat "$S/tasks/bad/message")" "verify" "the message says verify failed"
echo ok
