# A table without a key inside XA transactions on a real MariaDB source:
# its rows are changed by their whole before image, each statement finding
# exactly one row. The statements of a prepared transaction wait in
# godwit_meta.repl_xa for its XA COMMIT and keep that guarantee when they
# run there: of two identical rows one is changed, and a before image the
# destination no longer holds (the tables differ) stops the task with the
# reason, at the XA COMMIT, with nothing of the transaction applied.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; CREATE TABLE app.k (a INT, b VARCHAR(20));
	INSERT INTO app.k VALUES (1, 'one'), (1, 'one'), (2, 'two'), (3, 'three');
	CREATE TABLE app.mark (id INT PRIMARY KEY)"
copy_spec "$GW_TMP/m.yaml" xak "schema, full, incremental" '    - database: app'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done

export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
INC=$!
mark() {
	mdb_q src "INSERT INTO app.mark VALUES ($1)"
	wait_for "mark $1 applied" 60 marked "$1"
}
marked() { [ "$(mdb_q dst "SELECT COUNT(*) FROM app.mark WHERE id = $1")" = 1 ]; }
rows() { mdb_q "$1" "SELECT IFNULL(GROUP_CONCAT(CONCAT(a, ':', b) ORDER BY a, b), '') FROM app.k"; }

# one of two identical rows updated, one deleted, inside a prepared XA
# transaction: nothing before the commit, then exactly the source's rows
mdb_q src "XA START 'k1'; UPDATE app.k SET b = 'uno' WHERE a = 1 LIMIT 1; DELETE FROM app.k WHERE a = 2;
	XA END 'k1'; XA PREPARE 'k1'"
mark 1
assert_eq "1:one,1:one,2:two,3:three" "$(rows dst)" "nothing applied before XA COMMIT"
assert_eq 2 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.repl_xa WHERE task = 'xak' AND one_row = 1")" \
	"the kept UPDATE and DELETE must each find one row"
mdb_q src "XA COMMIT 'k1'"
mark 2
assert_eq "1:one,1:uno,3:three" "$(rows src)" "(the source)"
assert_eq "$(rows src)" "$(rows dst)" "XA COMMIT applied one row of each change"

# the destination loses the row a prepared transaction updates: at the XA
# COMMIT the UPDATE finds no row, and the task stops
mdb_q src "XA START 'k2'; UPDATE app.k SET b = 'drei' WHERE a = 3; INSERT INTO app.k VALUES (4, 'four');
	XA END 'k2'; XA PREPARE 'k2'"
mark 3
mdb_q dst "DELETE FROM app.k WHERE a = 3"
before=$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'xak'")
mdb_q src "XA COMMIT 'k2'"
ended() { ! kill -0 "$INC" 2>/dev/null; }
wait_for "the task stops at the XA COMMIT" 60 ended
wait "$INC" && fail "an XA COMMIT whose before image matches no destination row was applied"
out=$(cat "$GW_TMP/inc.out")
assert_contains "$out" "result: fatal" "the task stops as failed"
assert_contains "$out" "XA COMMIT X'6b32',X'',1: the destination has no row equal to the source's before image (the tables differ)" \
	"the reason names the transaction and the mismatch"
assert_eq "" "$(mdb_q dst "SELECT IFNULL(GROUP_CONCAT(a), '') FROM app.k WHERE a = 4")" \
	"nothing of the transaction applied"
assert_eq "$before" "$(mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'xak'")" \
	"the position stays before the XA COMMIT"
assert_eq 2 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.repl_xa WHERE task = 'xak' AND xid = 'X''6b32'',X'''',1' AND seq > 0")" \
	"the transaction's statements are still kept"
echo ok
