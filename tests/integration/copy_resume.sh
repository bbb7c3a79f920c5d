# kill -9 during the full copy, then a restart: the destination ends up
# identical to the source, with no row missing and none doubled.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
for s in src dst; do
	mdb_q $s "CREATE DATABASE big; CREATE TABLE big.a (id BIGINT PRIMARY KEY, k INT, pad VARCHAR(120));
		CREATE TABLE big.b (g VARCHAR(10), n INT, pad CHAR(60), PRIMARY KEY (g, n))"
done
mdb_q src "USE big; INSERT INTO a SELECT seq, seq % 1000, REPEAT('x', 100) FROM seq_1_to_150000;
	INSERT INTO b SELECT CONCAT('g', seq % 13), seq, 'p' FROM seq_1_to_60000"
copy_spec "$GW_TMP/m.yaml" resume "schema, full" '    - database: big' "  parallelism: 2"

kills=0
for attempt in 1 2 3; do
	"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out.$attempt" 2>&1 &
	pid=$!
	# Kill once some rows have arrived, wherever the copy is.
	want=$((attempt * 30000))
	wait_for "rows arriving" 60 sh -c "[ \$(mariadb --no-defaults -uroot -S '$dst_SOCK' -N -e 'SELECT (SELECT COUNT(*) FROM big.a) + (SELECT COUNT(*) FROM big.b)' 2>/dev/null || echo 0) -ge $want ] || ! kill -0 $pid"
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "$pid" 2>/dev/null || true
done
[ "$kills" -ge 1 ] || fail "the copy was never killed mid-way"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/out.final" 2>&1 || { cat "$GW_TMP/out.final"; fail "final run"; }
assert_eq "150000" "$(mdb_q dst 'SELECT COUNT(*) FROM big.a')" "rows of a"
assert_eq "60000" "$(mdb_q dst 'SELECT COUNT(*) FROM big.b')" "rows of b"
for t in a b; do
	assert_eq "$(mdb_q src "CHECKSUM TABLE big.$t" | cut -f2)" "$(mdb_q dst "CHECKSUM TABLE big.$t" | cut -f2)" "checksum of $t"
done
echo "killed $kills times"
