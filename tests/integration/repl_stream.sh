# The incremental migration on real servers: writes of many types and
# multi-statement transactions during and after the full copy arrive; a
# DDL mid-stream with a renamed database; kill -9 of the applier several
# times with writes going on; the gated stop with the source frozen.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
DDL="CREATE TABLE t (id INT PRIMARY KEY, n BIGINT UNSIGNED, d DECIMAL(20,6), s VARCHAR(50) CHARACTER SET utf8mb4,
  l VARCHAR(20) CHARACTER SET latin1, b VARBINARY(16), bn BINARY(4), dt DATETIME(6), tm TIME(2), j JSON,
  e ENUM('x','y','z'), st SET('p','q'), bt BIT(9), f DOUBLE, y YEAR, g GEOMETRY NULL)"
mdb_q src "CREATE DATABASE app; USE app; $DDL; CREATE TABLE k (a VARCHAR(10), b INT, v INT, PRIMARY KEY (a, b))"
mdb_q dst "CREATE DATABASE app2; USE app2; $DDL; CREATE TABLE k (a VARCHAR(10), b INT, v INT, PRIMARY KEY (a, b))"
mdb_q src "USE app; INSERT INTO t (id, n, s) SELECT seq, seq, CONCAT('r', seq) FROM seq_1_to_2000"
copy_spec "$GW_TMP/m.yaml" inc "schema, full, incremental" '    - database: app
      renameTo: app2' "  stop: {maxDelay: 0s, freezeSource: true}"

writer() { # writer FROM TO: a mix of statements, some in multi-statement transactions
	local i
	for i in $(seq "$1" "$2"); do
		mdb_q src "USE app;
		INSERT INTO t (id, n, d, s, l, b, bn, dt, tm, j, e, st, bt, f, y, g) VALUES ($((i + 10000)), 18446744073709551615 - $i, -$i.123456, 'héllo $i 😀', _latin1 0xe9, 0x00ff$i,
		  0x61, '2024-02-29 13:04:05.25', '-12:00:01.5', '{\"k\": [$i, \"v\"]}', 'y', 'p,q', b'101010101', 1.5e-7, 2024,
		  ST_GeomFromText('POINT($i 1)'));
		START TRANSACTION; UPDATE t SET s = CONCAT('upd', $i), n = NULL WHERE id = $i;
		  DELETE FROM t WHERE id = $((i + 1000)); INSERT INTO k VALUES ('k$((i % 7))', $i, $i)
		  ON DUPLICATE KEY UPDATE v = v + 1; COMMIT;
		UPDATE k SET b = b + 100000 WHERE a = 'k3' AND b = $i;"
	done
}

writer 1 20 # before the copy: in the data
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full.out" 2>&1 || { cat "$GW_TMP/full.out"; fail "full copy"; }
writer 21 60 # after the hand-off position: must be replayed

export GODWIT_STOP_FILE=$GW_TMP/stop
run_inc() {
	"$GODWIT" _action "$GW_TMP/m.yaml" incremental >>"$GW_TMP/inc.out" 2>&1 &
	INC=$!
}
run_inc
# kill -9 at several points while writes go on
for round in 1 2 3; do
	writer $((100 * round)) $((100 * round + 15)) &
	w=$!
	wait_for "some events applied" 60 sh -c "grep -q 'incremental: streaming' '$GW_TMP/inc.out'"
	sleep 0.$((RANDOM % 9 + 1)) # a random point in the stream, not a synchronisation
	kill -9 "$INC" 2>/dev/null || true
	wait "$INC" 2>/dev/null || true
	wait "$w"
	run_inc
done

# DDL mid-stream on the renamed database, then rows in the new layout.
mdb_q src "USE app; ALTER TABLE t ADD COLUMN extra INT DEFAULT 7; INSERT INTO t (id, n, extra) VALUES (99999, 1, 42);
	CREATE TABLE newt (id INT PRIMARY KEY, v VARCHAR(5)); INSERT INTO newt VALUES (1, 'a')"
writer 500 510

fp() { fingerprint "$1" "$(hexsel "$1" "$2" "$3" "$4")"; }
same() {
	[ "$(fp src app t id)" = "$(fp dst app2 t id)" ] && [ "$(fp src app k 'a, b')" = "$(fp dst app2 k 'a, b')" ] &&
		[ "$(mdb_q dst 'SELECT COUNT(*) FROM app2.newt' 2>/dev/null)" = 1 ]
}
wait_for "destination equal to the source" 120 same
assert_eq "42" "$(mdb_q dst 'SELECT extra FROM app2.t WHERE id = 99999')" "column added by DDL"

# The gated stop: freeze, drain, exit 0.
touch "$GODWIT_STOP_FILE"
wait "$INC" || { tail -20 "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
assert_eq "1" "$(mdb_q src 'SELECT @@GLOBAL.read_only')" "source frozen"
assert_eq "$(mdb_q src 'SELECT @@GLOBAL.gtid_binlog_pos')" \
	"$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task='inc'")" "drained to the final position"
same || fail "equal after the stop"
echo ok
