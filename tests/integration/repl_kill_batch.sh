# Exactly-once with batching: a backlog of sysbench write transactions
# (updates, a delete and a reinsert of the same id, in one transaction) on
# tables merged by key and on one whose second unique key keeps the order,
# applied in large grouped transactions while the applier is killed with
# SIGKILL at several points. Each run resumes from the committed position;
# in the end the destination equals the source and holds its position.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE sbtest"
sb() {
	sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$src_PORT" \
		--mysql-user=godwit --mysql-password="$GW_PASSWORD" --tables=2 --table-size=5000 "$@"
}
sb prepare >/dev/null
mdb_q src "USE sbtest; CREATE TABLE u (id INT PRIMARY KEY, code INT, UNIQUE KEY (code));
	INSERT INTO u SELECT seq, seq FROM seq_1_to_200"
copy_spec "$GW_TMP/m.yaml" kb "schema, full, incremental" '    - database: sbtest'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done
sb --threads=2 --events=20000 --time=0 run >/dev/null
# codes handed from row to row: the order of these matters
for i in $(seq 1 150); do
	echo "UPDATE u SET code = code + 1000 WHERE id = $i; UPDATE u SET code = $i WHERE id = $((i + 1));"
done | mdb src sbtest 2>/dev/null || true
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")

pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'kb'"; }
seqno() { local p; p=$(pos); echo "${p##*-}"; }
points=$(seqno)
kills=0
for round in 1 2 3 4; do
	"$GODWIT" _action "$GW_TMP/m.yaml" incremental >>"$GW_TMP/inc.out" 2>&1 &
	inc=$!
	# killed once it has committed something beyond where it started
	from=$(seqno)
	moved() { [ "$(seqno)" -gt "$from" ] || ! kill -0 "$inc" 2>/dev/null; }
	wait_for "progress in round $round" 120 moved
	kill -9 "$inc" 2>/dev/null || true
	wait "$inc" 2>/dev/null || true
	points="$points -> $(seqno)"
	[ "$(pos)" = "$want" ] && break
	kills=$((kills + 1))
done
echo "# committed positions at each SIGKILL: $points of ${want##*-}"
[ "$kills" -ge 2 ] || fail "only $kills kills before the end of the backlog: not exercised"
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >>"$GW_TMP/inc.out" 2>&1 &
inc=$!
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(pos)" = "$want" ]; }
wait_for "the backlog applied" 300 at_end
assert_eq "$want" "$(pos)" "position at the end ($(tail -3 "$GW_TMP/inc.out"))"
touch "$GODWIT_STOP_FILE"
wait "$inc" || { tail -20 "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
for t in sbtest1 sbtest2 u; do
	assert_eq "$(mdb_q src "CHECKSUM TABLE sbtest.$t" | cut -f2)" \
		"$(mdb_q dst "CHECKSUM TABLE sbtest.$t" | cut -f2)" "table $t equal"
done
echo ok
