# A binlog event larger than a protocol packet (16 MiB): a row of 24 MiB
# and one of exactly 16 MiB - 1 byte of payload around the packet boundary
# arrive whole through the stream (the server sends the event as several
# packets, joined on reading) and are applied with their bytes.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src --max-allowed-packet=256M
mdb_start dst --max-allowed-packet=256M
mdb_q src "CREATE DATABASE big; CREATE TABLE big.t (id INT PRIMARY KEY, b LONGBLOB)"
copy_spec "$GW_TMP/m.yaml" big "schema, full, incremental" '    - database: big'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
wait_for "streaming" 60 grep -q "incremental: streaming" "$GW_TMP/inc.out"
# the rows event of id 1 is 24 MiB; of id 2 just under one packet's payload
mdb_q src "INSERT INTO big.t VALUES (1, REPEAT(UNHEX('00FF61E9'), 6 * 1024 * 1024));
	INSERT INTO big.t VALUES (2, REPEAT('x', 16 * 1024 * 1024 - 120)); INSERT INTO big.t VALUES (3, 'small')"
size=$(mdb_q src "SHOW BINLOG EVENTS" | awk -F'\t' '$3 == "Write_rows_v1" {print $5 - $2}' | sort -n | tail -1)
[ "$size" -gt $((16 * 1024 * 1024)) ] || fail "no event above 16 MiB in the source's binlog (largest $size)"
arrived() { [ "$(mdb_q dst "SELECT COUNT(*) FROM big.t")" = 3 ]; }
wait_for "the rows applied" 120 arrived
for id in 1 2 3; do
	assert_eq "$(mdb_q src "SELECT LENGTH(b), SHA2(b, 256) FROM big.t WHERE id = $id")" \
		"$(mdb_q dst "SELECT LENGTH(b), SHA2(b, 256) FROM big.t WHERE id = $id")" "row $id"
done
touch "$GODWIT_STOP_FILE"
wait "$inc" || { tail -20 "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
echo ok
