# One source transaction far bigger than the applier's memory: 300,000
# rows inserted, then all of them updated, each in a single transaction
# (~90 MB of binlog). It arrives whole, in one destination transaction
# each (the position is never between its rows), with the applier's peak
# RSS bounded (under 48 MB; the binlog is ~80 MB). Stopped in the middle
# of one, nothing of it is committed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"
command -v /usr/bin/time >/dev/null || fail "needs /usr/bin/time (scripts/install-deps)"

N=300000
mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(100), n BIGINT)"
copy_spec "$GW_TMP/m.yaml" big "schema, full, incremental" '    - database: app'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done
mdb_q src "USE app; INSERT INTO t SELECT seq, REPEAT('x', 80), seq FROM seq_1_to_$N; UPDATE t SET n = n + 1"
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")
size=$(du -cb "$src_DIR"/data/src-bin.0* | tail -1 | cut -f1)

export GODWIT_STOP_FILE=$GW_TMP/stop
# Stopped (SIGTERM) in the middle of the insert: nothing of it is
# committed; the next run applies it from its start.
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc0.out" 2>&1 &
inc=$!
midway() { [ "$(mdb_q dst "SELECT COALESCE(MAX(trx_rows_modified), 0) FROM information_schema.INNODB_TRX")" -gt 1000 ]; }
wait_for "the applier inside the big transaction" 300 midway
kill -TERM "$inc"
wait "$inc" || true
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM app.t")" "rows of a transaction read in part after SIGTERM"

/usr/bin/time -f "%M" -o "$GW_TMP/rss" "$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'big'"; }
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(pos)" = "$want" ]; }
# While the insert is being applied, no position between its rows is
# committed: the destination has all of it or none of it.
during() { # the destination's count is 0 or N whenever it is read
	local c
	c=$(mdb_q dst "SELECT COUNT(*) FROM app.t")
	[ "$c" = 0 ] || [ "$c" = "$N" ] || fail "a part of the transaction is visible: $c rows"
	at_end
}
wait_for "both transactions applied" 600 during
assert_eq "$want" "$(pos)" "position after both transactions ($(tail -3 "$GW_TMP/inc.out"))"
touch "$GODWIT_STOP_FILE"
wait "$inc" || { cat "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
assert_eq "$(mdb_q src 'CHECKSUM TABLE app.t')" "$(mdb_q dst 'CHECKSUM TABLE app.t')" "checksums"
rss=$(cat "$GW_TMP/rss")
echo "# binlog $((size >> 20)) MiB, applier peak RSS $((rss >> 10)) MiB"
[ "$size" -gt $((60 << 20)) ] || fail "the transactions are smaller than intended: $size bytes"
[ "$rss" -lt $((48 << 10)) ] || fail "peak RSS $rss kB: memory grows with the transaction"
echo ok
