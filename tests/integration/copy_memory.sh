# Memory is bounded by chunk x workers, not by the table: copying 15x more
# wide rows (1.5 KiB each: 18 MB against 270 MB) takes the same peak RSS
# within a small margin, and stays under 100 MiB.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
for db in small large; do
	mdb_q src "CREATE DATABASE $db; CREATE TABLE $db.w (id INT PRIMARY KEY, a VARCHAR(1000), b BLOB, KEY (a(20)))"
done
mdb_q src "USE small; INSERT INTO small.w SELECT seq, REPEAT(CHAR(65 + seq % 26), 1000), REPEAT(UNHEX('00FF'), 250) FROM seq_1_to_12000;
	USE large; INSERT INTO large.w SELECT seq, REPEAT(CHAR(65 + seq % 26), 1000), REPEAT(UNHEX('00FF'), 250) FROM seq_1_to_180000;
	ANALYZE TABLE large.w" >/dev/null
rss() { # DB: peak RSS in KiB of the full copy of DB
	copy_spec "$GW_TMP/$1.yaml" "mem-$1" "schema, full" "    - database: $1" "  parallelism: 2"
	"$GODWIT" _action "$GW_TMP/$1.yaml" schema >"$GW_TMP/$1.schema" 2>&1 || { cat "$GW_TMP/$1.schema"; fail "schema $1"; }
	/usr/bin/time -f %M -o "$GW_TMP/$1.rss" "$GODWIT" _action "$GW_TMP/$1.yaml" full >"$GW_TMP/$1.out" 2>&1 ||
		{ cat "$GW_TMP/$1.out"; fail "copy $1"; }
	cat "$GW_TMP/$1.rss"
}
small=$(rss small)
large=$(rss large)
assert_eq "180000" "$(mdb_q dst 'SELECT COUNT(*) FROM large.w')" "rows copied"
echo "peak RSS: $small KiB for 12000 rows, $large KiB for 180000 rows"
# 15x the data (270 MB more): at most 4 MiB more memory.
[ "$large" -le $((small + 4096)) ] || fail "RSS grows with the table: $small KiB -> $large KiB"
[ "$large" -le $((100 * 1024)) ] || fail "RSS above 100 MiB: $large KiB"
echo ok
