# The lock fences the data: a controller whose lock was taken from it
# commits nothing more. While a migration streams, its lock session is
# killed on the destination and another session takes the lock at once
# (as a second controller would); rows written on the source after that
# must not arrive while the other session holds the lock, even in the
# second before the controller's lock keeper notices the loss, because
# every data transaction checks the holder just before its COMMIT. Once
# the lock is free again the controller takes it back and the rows arrive,
# once each.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT);
	INSERT INTO shop.t SELECT seq, seq FROM shop.seq_1_to_1000"
mkdir -p "$GW_TMP/specs"
write_spec "$GW_TMP/specs/f.yaml" fence "schema, full, incremental"
ctl_start C --dir "$GW_TMP/specs" --state-dir "$GW_TMP/s"
wait_for "streaming" 120 phase_is "$GW_TMP/s" fence Incremental
mdb_q src "INSERT INTO shop.t VALUES (5000, 1)"
wait_for "a change streamed" 60 dst_is "SELECT COUNT(*) FROM shop.t WHERE id = 5000" 1

holder=$(mdb_q dst "SELECT IS_USED_LOCK('godwit:fence')")
[ -n "$holder" ] && [ "$holder" != NULL ] || fail "the controller holds the lock"
# The thief: kills the holder and takes the lock in the same breath, then
# keeps it (a long SLEEP) until it is killed in its turn.
mdb dst -e "KILL $holder; SELECT GET_LOCK('godwit:fence', 10); SELECT SLEEP(600)" >/dev/null 2>&1 &
thief=$!
thief_id() { mdb_q dst "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(600)%'"; }
taken() { local t; t=$(thief_id) && [ -n "$t" ] && [ "$(mdb_q dst "SELECT IS_USED_LOCK('godwit:fence')")" = "$t" ]; }
wait_for "the lock taken by another session" 30 taken
# Rows written from now on belong to the other session's tenure.
for i in $(seq 1 40); do
	mdb_q src "INSERT INTO shop.t VALUES ($((900000 + i)), $i)"
done
wait_for "the controller notices the loss" 30 grep -q "lost the lock on the destination" \
	"$GW_TMP/controller-C.log"
mdb_q src "INSERT INTO shop.t VALUES (900041, 41)"
assert_eq 0 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t WHERE id > 900000')" \
	"rows applied by a controller that no longer held the lock"

# The lock free again: the controller takes it back and applies them.
mdb_q dst "KILL $(thief_id)"
wait "$thief" 2>/dev/null || true
wait_for "the rows arrive after the lock is taken back" 120 \
	dst_is "SELECT COUNT(*), SUM(v) FROM shop.t WHERE id > 900000" "41	861"
echo ok
