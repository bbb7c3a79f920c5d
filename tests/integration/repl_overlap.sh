# Two groups in flight on the applier's two destination connections
# (engine/apply.h), where the destination locks more than the changes'
# keys: a trigger on the destination counts every write of app.t in one
# row (so every statement on app.t, whatever its keys, takes that row's
# lock). The first group writes a big table, then app.t; the next group's
# changes of app.t (other keys) run beside it, take the counter's lock
# first, and wait for the first group's commit, which waits for the lock:
# the next group must give its work up (roll back) and apply it again
# after the first commits. In the end every change was applied once (the
# counter and per-row counts equal the source's writes), the tables equal
# the source's and the position is the source's.
# Then a deadlock the server breaks between two groups in flight, and a
# destination logging statements (one connection applies there).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE app; CREATE TABLE app.big (id INT PRIMARY KEY, a INT, b INT, c INT, v VARCHAR(12),
	  KEY (a), KEY (b), KEY (c), KEY (v));
	CREATE TABLE app.t (id INT PRIMARY KEY, v INT); CREATE TABLE app.u (id INT PRIMARY KEY, v INT)"
copy_spec "$GW_TMP/m.yaml" ov "schema, full, incremental" '    - database: app'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/m.yaml" "$a" >"$GW_TMP/$a.out" 2>&1 || { cat "$GW_TMP/$a.out"; fail "$a"; }
done
mdb dst <<'SQL'
CREATE DATABASE probe;
CREATE TABLE probe.cnt (name VARCHAR(10) PRIMARY KEY, n INT NOT NULL);
INSERT INTO probe.cnt VALUES ('t', 0);
CREATE TABLE probe.seen (id INT PRIMARY KEY, ins INT NOT NULL DEFAULT 0, upd INT NOT NULL DEFAULT 0);
DELIMITER //
CREATE TRIGGER app.t_ins AFTER INSERT ON app.t FOR EACH ROW BEGIN
  UPDATE probe.cnt SET n = n + 1 WHERE name = 't';
  INSERT INTO probe.seen (id, ins) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE ins = ins + 1;
END //
CREATE TRIGGER app.t_upd AFTER UPDATE ON app.t FOR EACH ROW BEGIN
  UPDATE probe.cnt SET n = n + 1 WHERE name = 't';
  INSERT INTO probe.seen (id, upd) VALUES (NEW.id, 1) ON DUPLICATE KEY UPDATE upd = upd + 1;
END //
DELIMITER ;
SQL

# The backlog: one transaction of 60,000 rows of app.big (four secondary
# indexes: slow to apply) and 100 of app.t (keys 1-100), then 600
# transactions of app.t alone (keys 101-700).
mdb_q src "BEGIN; INSERT INTO app.big SELECT seq, RAND() * 1e9, RAND() * 1e9, RAND() * 1e9, LEFT(MD5(seq), 12)
	  FROM app.seq_1_to_60000;
	INSERT INTO app.t SELECT seq, 0 FROM app.seq_1_to_100; COMMIT"
for i in $(seq 101 700); do echo "INSERT INTO app.t VALUES ($i, 0);"; done | mdb src app
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")

export GODWIT_STOP_FILE=$GW_TMP/stop
GODWIT_LOG_LEVEL=debug "$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
inc=$!
pos() { mdb_q dst "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'ov'"; }
at_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(pos)" = "$want" ]; }
wait_for "the backlog applied" 120 at_end
assert_eq "$want" "$(pos)" "position at the end ($(tail -3 "$GW_TMP/inc.out"))"
touch "$GODWIT_STOP_FILE"
wait "$inc" || { tail -20 "$GW_TMP/inc.out"; fail "incremental did not stop cleanly"; }
assert_contains "$(cat "$GW_TMP/inc.out")" "gives its changes up" \
	"the later group yielded to the earlier one (two groups in flight, conflicting on the destination)"
for t in big t; do
	assert_eq "$(mdb_q src "CHECKSUM TABLE app.$t" | cut -f2)" "$(mdb_q dst "CHECKSUM TABLE app.$t" | cut -f2)" \
		"table $t equal"
done
assert_eq 700 "$(mdb_q dst "SELECT n FROM probe.cnt")" "every write of app.t applied once (the counter)"
assert_eq "700 700 0" "$(mdb_q dst "SELECT COUNT(*), SUM(ins), SUM(upd) FROM probe.seen" | tr '\t' ' ')" \
	"each row of app.t inserted once, never updated"

# A deadlock the destination's server breaks. Its triggers lock rows in
# opposite orders: an insert into app.t locks the counters x, then gate,
# then y; one into app.u locks y, then x. A session of the test holds
# gate. The first group (app.t) takes x and waits for gate; the next
# group (app.u, other rows: it runs beside the first) takes y and waits
# for x. Once both wait, gate is released: the first group asks for y,
# and the server rolls one of the two back (ER_LOCK_DEADLOCK). That group
# applies again: every write once in the end.
mdb dst <<'SQL'
DROP TRIGGER app.t_ins;
DROP TRIGGER app.t_upd;
INSERT INTO probe.cnt VALUES ('x', 0), ('y', 0), ('gate', 0);
DELIMITER //
CREATE TRIGGER app.t_xy AFTER INSERT ON app.t FOR EACH ROW BEGIN
  UPDATE probe.cnt SET n = n + 1 WHERE name = 'x';
  UPDATE probe.cnt SET n = n + 1 WHERE name = 'gate';
  UPDATE probe.cnt SET n = n + 1 WHERE name = 'y';
END //
CREATE TRIGGER app.u_yx AFTER INSERT ON app.u FOR EACH ROW BEGIN
  UPDATE probe.cnt SET n = n + 1 WHERE name = 'y';
  UPDATE probe.cnt SET n = n + 1 WHERE name = 'x';
END //
DELIMITER ;
SQL
mkfifo "$GW_TMP/gate.in"
mdb dst -n <"$GW_TMP/gate.in" >"$GW_TMP/gate.out" 2>&1 &
gate=$!
exec 7>"$GW_TMP/gate.in"
echo "BEGIN; SELECT n FROM probe.cnt WHERE name = 'gate' FOR UPDATE; SELECT 'locked';" >&7
wait_for "the test holds gate" 30 grep -q locked "$GW_TMP/gate.out"
waiting() { [ "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")" = "$1" ]; }

mdb_q src "INSERT INTO app.t SELECT seq, 0 FROM app.seq_1001_to_1100"
rm -f "$GODWIT_STOP_FILE"
"$GODWIT" _action "$GW_TMP/m.yaml" incremental >"$GW_TMP/inc2.out" 2>&1 7>&- &
inc=$!
wait_for "the first group waits for gate" 60 waiting 1
for i in $(seq 2001 2020); do echo "INSERT INTO app.u VALUES ($i, 0);"; done | mdb src app
wait_for "the next group waits for x, held by the first" 60 waiting 2
echo "COMMIT;" >&7
exec 7>&-
wait "$gate"
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")
wait_for "the second backlog applied" 120 at_end
assert_eq "$want" "$(pos)" "position at the end ($(tail -3 "$GW_TMP/inc2.out"))"
touch "$GODWIT_STOP_FILE"
wait "$inc" || { tail -20 "$GW_TMP/inc2.out"; fail "incremental did not stop cleanly"; }
assert_contains "$(cat "$GW_TMP/inc2.out")" "rolled back by a deadlock" \
	"a group rolled back by the server's deadlock detection applied again"
assert_eq 1 "$(mdb_q dst "SHOW ENGINE INNODB STATUS\G" | grep -c 'LATEST DETECTED DEADLOCK')" \
	"the server saw a deadlock"
for t in big t u; do
	assert_eq "$(mdb_q src "CHECKSUM TABLE app.$t" | cut -f2)" "$(mdb_q dst "CHECKSUM TABLE app.$t" | cut -f2)" \
		"table $t equal after the deadlock"
done
assert_eq "100 120 120" "$(mdb_q dst "SELECT GROUP_CONCAT(n ORDER BY name SEPARATOR ' ') FROM probe.cnt WHERE name IN ('gate', 'x', 'y')")" \
	"every write of app.t and app.u applied once (the counters)"

mdb_start stmt --binlog-format=STATEMENT
dst_PORT=$stmt_PORT
copy_spec "$GW_TMP/s.yaml" st "schema, full, incremental" '    - database: app'
for a in schema full; do
	"$GODWIT" _action "$GW_TMP/s.yaml" "$a" >"$GW_TMP/s-$a.out" 2>&1 || { cat "$GW_TMP/s-$a.out"; fail "$a"; }
done
mdb_q src "UPDATE app.big SET a = a + 1 WHERE id <= 20000; DELETE FROM app.t WHERE id > 650"
want=$(mdb_q src "SELECT @@GLOBAL.gtid_binlog_pos")
rm -f "$GODWIT_STOP_FILE"
"$GODWIT" _action "$GW_TMP/s.yaml" incremental >"$GW_TMP/s-inc.out" 2>&1 &
inc=$!
spos() { mdb_q stmt "SELECT gtid FROM godwit_meta.binlog_position WHERE task = 'st'"; }
s_end() { ! kill -0 "$inc" 2>/dev/null || [ "$(spos)" = "$want" ]; }
wait_for "the changes applied (binlog_format=STATEMENT)" 120 s_end
assert_eq "$want" "$(spos)" "position at the end ($(tail -3 "$GW_TMP/s-inc.out"))"
touch "$GODWIT_STOP_FILE"
wait "$inc" || { tail -20 "$GW_TMP/s-inc.out"; fail "incremental did not stop cleanly"; }
assert_contains "$(cat "$GW_TMP/s-inc.out")" "binlog_format=STATEMENT): one connection applies" \
	"one connection for a destination that logs statements"
for t in big t; do
	assert_eq "$(mdb_q src "CHECKSUM TABLE app.$t" | cut -f2)" "$(mdb_q stmt "CHECKSUM TABLE app.$t" | cut -f2)" \
		"table $t equal on the statement-logging destination"
done
echo ok
