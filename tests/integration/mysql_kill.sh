# A long stream from a MySQL source, killed: the MySQL double serves a
# binlog of 20,000 sysbench write-only transactions with GTIDs
# (tests/mysqld/genbinlog.py writes it as MySQL 8.0.40 does, with the
# tables' rows before and after), released while godwit streams, a fifth at a time; the
# applier is killed with SIGKILL at random points of the stream, each run
# resuming from the GTID set it committed with the rows. In the end every
# table equals the rows the file leaves (each UPDATE of k, DELETE and
# INSERT applied as the source applied it) and the stored set is the
# source's whole executed set.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"

U=3e11fa47-71ca-11e1-9e33-c80aa9429562
G=$GW_TMP/gen
python3 "$GW_ROOT/tests/mysqld/genbinlog.py" --out "$G.binlog" --tables 4 --rows 2000 \
	--transactions 20000 --uuid "$U" --previous-gtids "$U:1-100" --first-gno 101 \
	--initial "$G.init" --final "$G.final"
mdb_start layouts
mdb_start dst
mdb layouts <"$G.init/schema.sql"
mdb dst <"$G.init/schema.sql"
for t in 1 2 3 4; do
	mdb_q dst "LOAD DATA LOCAL INFILE '$G.init/sbtest$t.tsv' INTO TABLE sbtest.sbtest$t" --local-infile=1
done
myd_start src --version 8.0.40 --binlog "$G.binlog" --hold-after-txn 0 --forward layouts
want="$U:1-20100"
copy_spec "$GW_TMP/k.yaml" k incremental '    - database: sbtest'
server_key "$GW_TMP/k.yaml" "$src_DIR"
pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'k'"; }
last() { local p; p=$(pos); p=${p##*-}; echo "${p:-100}"; }
run() {
	"$GODWIT" _action "$GW_TMP/k.yaml" incremental >>"$GW_TMP/k.out" 2>&1 &
	INC=$!
}
run
wait_for "streaming" 60 grep -q "incremental: streaming" "$GW_TMP/k.out"
# the source commits its transactions while godwit streams, a fifth of
# them per round: a round's kill lands before the end of the stream
points=$(last)
kills=0
for round in 1 2 3 4 5; do
	from=$(last)
	myd_ctl src release 4000 >/dev/null
	moved() { [ "$(last)" -gt "$from" ] || ! kill -0 "$INC" 2>/dev/null; }
	wait_for "progress in round $round" 120 moved
	sleep 0.$((RANDOM % 3))$((RANDOM % 10)) # a random point of the stream, not a synchronisation
	kill -9 "$INC" 2>/dev/null || true
	wait "$INC" 2>/dev/null || true
	points="$points -> $(last)"
	[ "$(pos)" = "$want" ] && break
	kills=$((kills + 1))
	run
done
myd_ctl src release all >/dev/null
echo "# committed GTIDs at each SIGKILL: $points of ${want##*-}"
[ "$kills" -ge 3 ] || fail "only $kills kills before the end of the stream: not exercised"
at_end() { [ "$(pos)" = "$want" ]; }
kill -0 "$INC" 2>/dev/null || run
wait_for "the whole stream applied" 120 at_end
kill -9 "$INC" 2>/dev/null || true
wait "$INC" 2>/dev/null || true
assert_contains "$(cat "$src_LOG")" "COM_BINLOG_DUMP_GTID" "resumed by GTID set"
for t in 1 2 3 4; do
	assert_eq "$(sha256sum <"$G.final/sbtest$t.tsv" | cut -d' ' -f1)" \
		"$(mdb_q dst "SELECT id, k, c, pad FROM sbtest.sbtest$t ORDER BY id" | sha256sum | cut -d' ' -f1)" \
		"sbtest$t equals the rows the binlog leaves"
done
echo ok
