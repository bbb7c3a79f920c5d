# kill -9 at random moments of the full copy, several times, then a
# restart: the destination ends up identical to the source, with no row
# missing and none doubled: an integer key cut into ranges, a composite
# string key cut into ranges by sampled keys, and a table without a key
# (copied again from empty).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE big; USE big;
	CREATE TABLE a (id BIGINT PRIMARY KEY, k INT, pad VARCHAR(120), KEY (k));
	CREATE TABLE b (g VARCHAR(10), n INT, pad CHAR(60), PRIMARY KEY (g, n));
	CREATE TABLE c (x INT, y VARCHAR(20));
	INSERT INTO a SELECT seq, seq % 1000, REPEAT('x', 100) FROM seq_1_to_150000;
	INSERT INTO b SELECT CONCAT('g', seq % 13), seq, 'p' FROM seq_1_to_120000;
	INSERT INTO c SELECT seq % 5000, CONCAT('r', seq % 5000) FROM seq_1_to_40000;
	ANALYZE TABLE a, b" >/dev/null
copy_spec "$GW_TMP/m.yaml" resume "schema, full" '    - database: big' "  parallelism: 2"
"$GODWIT" _action "$GW_TMP/m.yaml" schema >"$GW_TMP/out.schema" 2>&1 || { cat "$GW_TMP/out.schema"; fail schema; }

copied() {
	mariadb --no-defaults -uroot -S "$dst_SOCK" -N -e 'SELECT (SELECT COUNT(*) FROM big.a) + (SELECT COUNT(*) FROM big.b) + (SELECT COUNT(*) FROM big.c)' 2>/dev/null || echo 0
}
kills=0
for attempt in 1 2 3 4; do
	"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out.$attempt" 2>&1 &
	pid=$!
	# Kill at a random moment once some more rows have arrived.
	want=$(($(copied) + 5000 + RANDOM % 40000))
	wait_for "rows arriving" 120 sh -c "[ \$(mariadb --no-defaults -uroot -S '$dst_SOCK' -N -e 'SELECT (SELECT COUNT(*) FROM big.a) + (SELECT COUNT(*) FROM big.b) + (SELECT COUNT(*) FROM big.c)' 2>/dev/null || echo 0) -ge $want ] || ! kill -0 $pid"
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null || true
done
[ "$kills" -ge 2 ] || fail "the copy was killed mid-way only $kills times"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out.final" 2>&1 || { cat "$GW_TMP/out.final"; fail "final run"; }
assert_eq "150000" "$(mdb_q dst 'SELECT COUNT(*) FROM big.a')" "rows of a"
assert_eq "120000" "$(mdb_q dst 'SELECT COUNT(*) FROM big.b')" "rows of b"
assert_eq "40000" "$(mdb_q dst 'SELECT COUNT(*) FROM big.c')" "rows of the keyless c (none doubled)"
for t in a b c; do
	q="SELECT * FROM big.$t ORDER BY 1, 2, 3"
	[ $t = c ] && q="SELECT * FROM big.c ORDER BY 1, 2"
	assert_eq "$(fingerprint src "$q")" "$(fingerprint dst "$q")" "table $t identical"
done
assert_eq "$(mdb_q src 'SHOW CREATE TABLE big.a' | cut -f2)" "$(mdb_q dst 'SHOW CREATE TABLE big.a' | cut -f2)" "a's index rebuilt"
[ "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.copy_state WHERE task = 'resume' AND tbl = 'b'")" -ge 2 ] ||
	fail "b was not cut into ranges"
echo "killed $kills times"
