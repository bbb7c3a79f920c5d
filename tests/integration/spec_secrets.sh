# Secrets: fromEnv and fromFile (trailing newline stripped) are read at the
# moment of use and work against real servers; a missing variable or file
# is named; the password never appears in what validate, plan, precheck,
# controller (at debug level), status and verify print, nor in the state
# dir, nor in godwit's tables on the destination, also when it is wrong.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO shop.t VALUES (1, 'a'), (2, 'b')"

OUT=$GW_TMP/out # everything godwit printed, for the final check
S=$GW_TMP/state
SPECS=$GW_TMP/specs
mkdir -p "$SPECS"
# The source's password from a file (with a newline, as editors write it),
# the destination's from the environment under another name.
printf '%s\n' "$GW_PASSWORD" >"$GW_TMP/src-pw"
export DST_PW=$GW_PASSWORD
write_spec "$SPECS/m.yaml" m "schema, full"
sed -i "0,/fromEnv: GW_PASSWORD/s||fromFile: $GW_TMP/src-pw|; s/fromEnv: GW_PASSWORD/fromEnv: DST_PW/" "$SPECS/m.yaml"
grep -q "fromFile: $GW_TMP/src-pw" "$SPECS/m.yaml" || fail "spec has fromFile"
grep -q "fromEnv: DST_PW" "$SPECS/m.yaml" || fail "spec has fromEnv"

# godwit ARGS...: runs it, everything it prints kept in $OUT; sets RC.
godwit() {
	RC=0
	timeout 300 "$GODWIT" "$@" >>"$OUT" 2>&1 || RC=$?
}

godwit validate "$SPECS/m.yaml"
assert_eq 0 "$RC" "validate"
godwit plan "$SPECS/m.yaml" --state-dir "$S"
assert_eq 0 "$RC" "plan"
godwit plan "$SPECS/m.yaml" --state-dir "$S" --json
godwit precheck "$SPECS/m.yaml"
assert_eq 0 "$RC" "precheck connects with both secrets: $(tail -20 "$OUT")"
godwit controller --dir "$SPECS" --state-dir "$S" --once --log-level debug
assert_eq 0 "$RC" "controller --once: $(tail -20 "$OUT")"
assert_eq "Completed" "$(cat "$S/tasks/m/phase")" "the migration completes"
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "rows copied with the resolved secrets"
godwit status --state-dir "$S"
godwit status m --state-dir "$S"
godwit status --state-dir "$S" --json
godwit verify "$SPECS/m.yaml" --state-dir "$S"
assert_eq 0 "$RC" "verify"

# Read at the moment of use: a rotated file is seen by the next command.
printf 'rotated-pw\n' >"$GW_TMP/src-pw"
godwit precheck "$SPECS/m.yaml"
assert_eq 1 "$RC" "precheck with a changed password file fails"
mdb_q src "CREATE USER 'rot'@'%' IDENTIFIED BY 'rotated-pw'; GRANT ALL ON *.* TO 'rot'@'%'"
sed "0,/user: godwit/s//user: rot/" "$SPECS/m.yaml" >"$GW_TMP/rot.yaml"
godwit precheck "$GW_TMP/rot.yaml"
assert_eq 0 "$RC" "precheck reads the file again: $(tail -5 "$OUT")"
printf '%s\n' "$GW_PASSWORD" >"$GW_TMP/src-pw"

# Wrong, missing: the error names what is missing, never a value.
: >"$GW_TMP/err"
DST_PW="wrong-XYZZY-pw" timeout 120 "$GODWIT" precheck "$SPECS/m.yaml" >"$GW_TMP/err" 2>&1 || true
cat "$GW_TMP/err" >>"$OUT"
assert_contains "$(cat "$GW_TMP/err")" "Access denied" "a wrong password is refused"
assert_not_contains "$(cat "$GW_TMP/err")" "XYZZY" "a wrong password is not printed"
RC=0
env -u DST_PW timeout 120 "$GODWIT" precheck "$SPECS/m.yaml" >"$GW_TMP/err" 2>&1 || RC=$?
cat "$GW_TMP/err" >>"$OUT"
assert_eq 1 "$RC" "precheck without the variable"
assert_contains "$(cat "$GW_TMP/err")" "environment variable DST_PW is not set" "the variable is named"
mv "$GW_TMP/src-pw" "$GW_TMP/src-pw.away"
RC=0
timeout 120 "$GODWIT" precheck "$SPECS/m.yaml" >"$GW_TMP/err" 2>&1 || RC=$?
cat "$GW_TMP/err" >>"$OUT"
assert_eq 1 "$RC" "precheck without the file"
assert_contains "$(cat "$GW_TMP/err")" "password file $GW_TMP/src-pw: No such file or directory" \
	"the file is named"
mv "$GW_TMP/src-pw.away" "$GW_TMP/src-pw"

# A controller with the wrong password: access denied is permanent, so
# --once ends with Failed (exit 1) at once, not after retryWindow; nothing
# written anywhere holds the password it tried.
mkdir "$GW_TMP/wrong"
write_spec "$GW_TMP/wrong/w.yaml" w "schema, full"
sed -i 's/fromEnv: GW_PASSWORD/fromEnv: WRONG_PW/' "$GW_TMP/wrong/w.yaml"
RC=0
WRONG_PW="wrong-XYZZY-pw" timeout 120 "$GODWIT" controller --dir "$GW_TMP/wrong" --state-dir "$S" \
	--once --log-level debug >>"$OUT" 2>&1 || RC=$?
assert_eq 1 "$RC" "--once with a refused password"
assert_eq Failed "$(cat "$S/tasks/w/phase")" "access denied is Failed"
assert_contains "$(cat "$S/tasks/w/message")" "Access denied" "the refusal is the message"
godwit status w --state-dir "$S"
godwit status --state-dir "$S" --json

# Nothing anywhere holds either password.
for pw in "$GW_PASSWORD" XYZZY rotated-pw; do
	if grep -F -- "$pw" "$OUT" | grep -v "IDENTIFIED BY" | grep -q .; then
		fail "'$pw' printed: $(grep -F -- "$pw" "$OUT" | head -3)"
	fi
	if grep -rlF -- "$pw" "$S"; then
		fail "'$pw' in the state dir: $(grep -rlF -- "$pw" "$S")"
	fi
	dump=$(mariadb-dump --no-defaults -uroot -S "$dst_SOCK" --skip-comments godwit_meta 2>&1)
	assert_not_contains "$dump" "$pw" "godwit_meta on the destination"
done
[ -s "$S/audit.jsonl" ] || fail "the state dir was written (audit.jsonl)"
echo ok
