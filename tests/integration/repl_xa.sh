# XA transactions on a real MariaDB source (10.5+ logs XA PREPARE and XA
# COMMIT as groups of their own): a prepared transaction is not applied
# until its XA COMMIT, a rolled-back one never, a one-phase one at once;
# the applier killed with SIGKILL between a prepare and its commit, and at
# random points while XA and plain transactions interleave, still applies
# each committed XA transaction exactly once (triggers on the destination
# count every insert and every update of a row). An XA COMMIT whose prepare
# came before the migration's start position stops the task: its changes
# were neither copied nor streamed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20));
	CREATE TABLE app.mark (id INT PRIMARY KEY)"
copy_spec "$GW_TMP/m.yaml" xa "schema, full, incremental" '    - database: app'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done
mdb_q dst "CREATE DATABASE probe; CREATE TABLE probe.seen (id INT PRIMARY KEY, ins INT NOT NULL DEFAULT 0, upd INT NOT NULL DEFAULT 0);
	CREATE TRIGGER app.t_ins AFTER INSERT ON app.t FOR EACH ROW
	  INSERT INTO probe.seen (id, ins) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE ins = ins + 1;
	CREATE TRIGGER app.t_upd AFTER UPDATE ON app.t FOR EACH ROW
	  INSERT INTO probe.seen (id, upd) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE upd = upd + 1"

export GODWIT_STOP_FILE=$GW_TMP/stop
run_inc() {
	"$GODWIT" _action "$GW_TMP/m.yaml" incremental >>"$GW_TMP/inc.out" 2>&1 &
	INC=$!
}
# mark N: a plain transaction after what came before; once the destination
# has it, the applier has read everything before it.
mark() {
	mdb_q src "INSERT INTO app.mark VALUES ($1)"
	wait_for "mark $1 applied" 60 marked "$1"
}
marked() { [ "$(mdb_q dst "SELECT COUNT(*) FROM app.mark WHERE id = $1")" = 1 ]; }
dst_has() { [ "$(mdb_q dst "SELECT COUNT(*) FROM app.t WHERE id = $1")" = 1 ]; }

run_inc
# prepared: not applied; committed: applied
mdb_q src "XA START 'a1'; INSERT INTO app.t VALUES (1, 'xa'); XA END 'a1'; XA PREPARE 'a1'"
mark 1
dst_has 1 && fail "a prepared XA transaction was applied before its commit"
assert_eq 1 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.repl_xa WHERE task = 'xa' AND seq = 0")" \
	"the prepare is recorded"
mdb_q src "XA COMMIT 'a1'"
mark 2
dst_has 1 || fail "XA COMMIT did not apply the transaction"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.repl_xa WHERE task = 'xa'")" \
	"nothing kept after the commit"

# rolled back: never applied; one phase: at once; bqual and format id
mdb_q src "XA START 'b1','q',7; INSERT INTO app.t VALUES (2, 'rolled back'); XA END 'b1','q',7;
	XA PREPARE 'b1','q',7"
mark 3
mdb_q src "XA ROLLBACK 'b1','q',7"
mdb_q src "XA START 'c1'; INSERT INTO app.t VALUES (3, 'one phase'); XA END 'c1'; XA COMMIT 'c1' ONE PHASE"
mark 4
dst_has 2 && fail "a rolled-back XA transaction was applied"
dst_has 3 || fail "XA COMMIT ONE PHASE not applied"

# killed between the prepare and the commit: the commit, read by a new
# applier, applies what the old one kept
mdb_q src "XA START 'd1'; INSERT INTO app.t VALUES (4, 'across a kill'), (5, 'across a kill'); XA END 'd1';
	XA PREPARE 'd1'"
mark 5
kill -9 "$INC"
wait "$INC" 2>/dev/null || true
mdb_q src "XA COMMIT 'd1'"
run_inc
mark 6
dst_has 4 && dst_has 5 || fail "XA COMMIT after a restart of the applier did not apply"

# XA and plain transactions interleaved, XA transactions left prepared
# across kills, the applier killed at random points
for round in 1 2 3 4; do
	(
		for i in $(seq 1 15); do
			id=$((round * 1000 + i))
			mdb_q src "XA START 'r$id'; INSERT INTO app.t VALUES ($id, 'x'); UPDATE app.t SET v = 'y' WHERE id = $id;
				XA END 'r$id'; XA PREPARE 'r$id'"
			mdb_q src "INSERT INTO app.t VALUES ($((id + 500)), 'plain')"
			if [ $((i % 5)) = 0 ]; then
				mdb_q src "XA ROLLBACK 'r$id'"
			else
				mdb_q src "XA COMMIT 'r$id'"
			fi
		done
	) &
	w=$!
	sleep 0.$((RANDOM % 9 + 1)) # a random point in the stream, not a synchronisation
	kill -9 "$INC" 2>/dev/null || true
	wait "$INC" 2>/dev/null || true
	wait "$w"
	run_inc
done
mark 7
want=$(mdb_q src "SELECT GROUP_CONCAT(id ORDER BY id) FROM app.t")
assert_eq "$want" "$(mdb_q dst "SELECT GROUP_CONCAT(id ORDER BY id) FROM app.t")" "same rows"
assert_eq "$(mdb_q src "SELECT GROUP_CONCAT(v ORDER BY id) FROM app.t")" \
	"$(mdb_q dst "SELECT GROUP_CONCAT(v ORDER BY id) FROM app.t")" "same values"
assert_eq "$(mdb_q dst "SELECT COUNT(*) FROM app.t")" "$(mdb_q dst "SELECT COUNT(*) FROM probe.seen")" \
	"every row counted"
assert_eq "" "$(mdb_q dst "SELECT IFNULL(GROUP_CONCAT(id), '') FROM probe.seen WHERE ins <> 1 OR upd > 1")" \
	"every row inserted once (an XA row updated once, by its own UPDATE)"
assert_eq "" "$(mdb_q dst "SELECT IFNULL(GROUP_CONCAT(id), '') FROM app.t WHERE id > 1000 AND id % 1000 IN (5, 10, 15)")" \
	"rolled-back XA transactions absent"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.repl_xa WHERE task = 'xa'")" \
	"nothing kept once every XA transaction ended"
touch "$GODWIT_STOP_FILE"
wait "$INC" || { tail -20 "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
rm -f "$GODWIT_STOP_FILE"

# prepared before an incremental-only migration starts, committed after:
# stop, with the reason
mdb_q src "CREATE DATABASE late; CREATE TABLE late.t (id INT PRIMARY KEY)"
mdb_q dst "CREATE DATABASE late; CREATE TABLE late.t (id INT PRIMARY KEY)"
mdb_q src "XA START 'e1'; INSERT INTO late.t VALUES (1); XA END 'e1'; XA PREPARE 'e1'"
copy_spec "$GW_TMP/l.yaml" late "incremental" '    - database: late'
"$GODWIT" _action "$GW_TMP/l.yaml" incremental >"$GW_TMP/late.out" 2>&1 &
late=$!
wait_for "late streaming" 60 grep -q "incremental: streaming" "$GW_TMP/late.out"
mdb_q src "XA COMMIT 'e1'"
late_ended() { ! kill -0 "$late" 2>/dev/null; }
wait_for "late stops" 60 late_ended
wait "$late" && fail "the task went on past an XA COMMIT it cannot apply"
assert_contains "$(cat "$GW_TMP/late.out")" "XA COMMIT X'6531',X'',1: the transaction was prepared before this migration's start position" \
	"the reason names the transaction"
assert_contains "$(cat "$GW_TMP/late.out")" "a new full migration is needed" "and the fix"
echo ok
