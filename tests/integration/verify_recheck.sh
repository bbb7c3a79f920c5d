# verify re-checks a differing chunk before reporting it: a change still in
# flight (here: the destination catches up between the first check and the
# re-check) raises no alarm, and one that stays is reported. The moments
# are pinned with table locks seen in the process lists, not with sleeps.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
for s in src dst; do
	mdb_q $s "CREATE DATABASE v; USE v; CREATE TABLE a (id INT PRIMARY KEY, s VARCHAR(20)); INSERT INTO a SELECT seq, 'x' FROM seq_1_to_100"
done
mdb_q src "UPDATE v.a SET s = 'new' WHERE id = 42"
copy_spec "$GW_TMP/m.yaml" rc "full" '    - database: v'

hold() { # SERVER: holds a write lock on v.a until released
	mdb "$1" -e "LOCK TABLES v.a WRITE; SELECT SLEEP(600)" >/dev/null 2>&1 &
	wait_for "lock on $1" 30 sh -c "[ \"\$(mariadb --no-defaults -uroot -S \"\$1\" -N -e \"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(600)'\")\" = 1 ]" sh "$(sock "$1")"
}
release() { # SERVER
	mdb_q "$1" "KILL $(mdb_q "$1" "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(600)'")"
}
sock() { local v="${1}_SOCK"; echo "${!v}"; }
waiting() { # SERVER: a checksum waits for the lock
	[ "$(mariadb --no-defaults -uroot -S "$1" -N -e "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT COUNT(*), IFNULL(BIT_XOR%' AND STATE LIKE '%lock%'")" = 1 ]
}
export -f waiting

hold dst
"$GODWIT" verify "$GW_TMP/m.yaml" >"$GW_TMP/out1" 2>&1 &
v=$!
wait_for "first check waits on the destination" 60 bash -c "waiting '$dst_SOCK'"
hold src
release dst # the first check sees 'x' on the destination: a difference
wait_for "the re-check waits on the source" 60 bash -c "waiting '$src_SOCK'"
mdb_q dst "UPDATE v.a SET s = 'new' WHERE id = 42" # caught up meanwhile
release src
wait "$v" || { cat "$GW_TMP/out1"; fail "a difference resolved before the re-check was reported"; }
assert_contains "$(cat "$GW_TMP/out1")" "equal: true" "equal after the re-check"

# A difference that stays is reported after the re-check.
mdb_q dst "UPDATE v.a SET s = 'old' WHERE id = 42"
set +e
out=$("$GODWIT" verify "$GW_TMP/m.yaml")
rc=$?
set -e
assert_eq 1 "$rc" "lasting difference"
assert_contains "$out" 'key: "42", row: differs' "reported with its key"
echo ok
