# A `where` used as an attack (docs/security.md). 1. The issue's filter,
# which reads mysql.user through a subquery inside EXTRACTVALUE so that
# the server's error carries password hashes into the status: refused when
# the spec is read (FILE:LINE:COL), before any server is asked. 2. A filter
# without a subquery whose failure the server describes with the row's own
# values (an overflow in the incremental filter, which evaluates binlog
# rows as literals: "BIGINT value is out of range in '... + octet_length(
# 'INCSECRET-500')'"), and one failing in the full copy: the status and the
# log say the error number and SQLSTATE, never the server's message.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, n BIGINT, secret VARCHAR(40));
	INSERT INTO shop.t VALUES (1, 1, 'TOPSECRET-one'), (2, 2, 'TOPSECRET-two'), (3, 100, 'TOPSECRET-three')"
HASH=$(mdb_q dst "SELECT authentication_string FROM mysql.user WHERE User = 'godwit' LIMIT 1")
[ -n "$HASH" ] || fail "no hash to look for"
# nothing_of STATE_DIR WORD...: no file of the state directory, nor the
# controller's log, holds any WORD
nothing_of() {
	local dir=$1 w
	shift
	for w in "$@"; do
		! grep -rqF -- "$w" "$dir" "$GW_TMP"/controller-*.log ||
			fail "'$w' is in $(grep -rlF -- "$w" "$dir" "$GW_TMP"/controller-*.log | head -3)"
	done
}

# --- 1. the subquery: refused when the spec is read ------------------------------
mkdir -p "$GW_TMP/sub"
copy_spec "$GW_TMP/sub/sub.yaml" sub "schema, full" '    - database: shop
      tables:
        - name: t
          where: "1=1 AND EXTRACTVALUE(1, CONCAT(0x7e,(SELECT CONCAT(User,0x3a,authentication_string) FROM mysql.user LIMIT 1)))"'
line=$(grep -n 'where:' "$GW_TMP/sub/sub.yaml" | cut -d: -f1)
set +e
out=$("$GODWIT" validate "$GW_TMP/sub/sub.yaml" 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "the subquery filter validates: $out"
assert_contains "$out" "sub.yaml:$line:56: where has SELECT: a filter is one expression (no subquery, no statement)" \
	"refused at the SELECT, with its line and column"
set +e
timeout 120 "$GODWIT" controller --dir "$GW_TMP/sub" --state-dir "$GW_TMP/s1" --once >"$GW_TMP/controller-sub.log" 2>&1
set -e
assert_eq "Invalid" "$(cat "$GW_TMP/s1/tasks/sub/phase")" "the migration is Invalid"
assert_contains "$(cat "$GW_TMP/s1/tasks/sub/message")" "where has SELECT" "its message says why"
assert_eq "" "$(mdb_q dst "SHOW DATABASES LIKE 'shop'")" "nothing ran"
nothing_of "$GW_TMP/s1" "$HASH"

# --- 2. the server's message withheld ------------------------------------------------
# full copy: the row n = 100 overflows (the server names the columns here)
mkdir -p "$GW_TMP/full"
copy_spec "$GW_TMP/full/full.yaml" full "schema, full" '    - database: shop
      tables:
        - name: t
          where: "n + 9223372036854775800 > 0"' "  retryWindow: 1s"
"$GODWIT" validate "$GW_TMP/full/full.yaml" >/dev/null || fail "a filter over the table's columns validates"
ctl_start C1 --dir "$GW_TMP/full" --state-dir "$GW_TMP/s2"
wait_for "the copy's failure in the status" 120 \
	grep -q "reading rows: server error 1690 (SQLSTATE 22003); the server's message is not shown" "$GW_TMP/s2/tasks/full/message"
kill "$C1"
wait "$C1" 2>/dev/null || true
nothing_of "$GW_TMP/s2" "out of range"

# incremental: the copied rows pass without reaching the overflow (id <
# 100); a row written later overflows in the filter, which the server
# describes with that row's values
mkdir -p "$GW_TMP/inc"
mdb_q dst "DROP DATABASE IF EXISTS shop"
copy_spec "$GW_TMP/inc/inc.yaml" inc "schema, full, incremental" '    - database: shop
      tables:
        - name: t
          where: "id < 100 OR n + LENGTH(secret) > 0"' "  retryWindow: 1s"
ctl_start C2 --dir "$GW_TMP/inc" --state-dir "$GW_TMP/s3"
wait_for "the incremental migration" 120 phase_is "$GW_TMP/s3" inc Incremental
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "the rows copied"
mdb_q src "INSERT INTO shop.t VALUES (500, 9223372036854775807, 'INCSECRET-500')"
wait_for "the incremental filter's failure in the status" 120 \
	grep -q "evaluating the filter: server error 1690 (SQLSTATE 22003)" "$GW_TMP/s3/tasks/inc/message"
kill "$C2"
wait "$C2" 2>/dev/null || true
nothing_of "$GW_TMP/s3" INCSECRET
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "the row was not applied"
# the server's message does quote the row (else this test proves nothing)
assert_contains "$(mdb_q dst "SELECT 1 FROM (SELECT 500 AS id, 9223372036854775807 AS n, 'INCSECRET-500' AS secret) AS godwit_row WHERE (id < 100 OR n + LENGTH(secret) > 0)" 2>&1 || true)" \
	"INCSECRET-500" "the server's message quotes the row"
