# A value the destination would not store as read (a column narrower than
# the source's) stops the copy with the reason, and nothing of the chunk is
# kept: through LOAD DATA LOCAL (REPLACE keeps strict errors errors, and a
# warning would stop the copy too) and through INSERT alike. Never a
# silently truncated row.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_start dst2 --local-infile=0
mdb_q src "CREATE DATABASE r; USE r; CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20));
	INSERT INTO t SELECT seq, IF(seq = 700, 'much too long', 'ok') FROM seq_1_to_900"
for s in dst dst2; do
	mdb_q $s "CREATE DATABASE r; CREATE TABLE r.t (id INT PRIMARY KEY, s VARCHAR(5))"
	port=${s}_PORT
	dst_PORT=${!port} copy_spec "$GW_TMP/$s.yaml" "refuse-$s" "full" '    - database: r'
	set +e
	"$GODWIT" _action "$GW_TMP/$s.yaml" full >"$GW_TMP/$s.out" 2>&1
	rc=$?
	set -e
	[ "$rc" -ne 0 ] || { cat "$GW_TMP/$s.out"; fail "$s: the copy went on with a truncated value"; }
	assert_contains "$(cat "$GW_TMP/$s.out")" "r.t" "$s: the table is named"
	grep -qi "too long\|truncated" "$GW_TMP/$s.out" || fail "$s: no reason in $(cat "$GW_TMP/$s.out")"
	assert_eq "0" "$(mdb_q $s "SELECT COUNT(*) FROM r.t WHERE s <> 'ok'")" "$s: no truncated row kept"
done
echo ok
