# The harness itself: two servers with binlog in ROW format, a restart and a
# kill, and the godwit binary answering.
. "$(dirname "$0")/../lib/harness.sh"

mdb_start src
mdb_start dst
assert_eq "ROW" "$(mdb_q src 'SELECT @@binlog_format')" "binlog format"
assert_eq "1" "$(mdb_q src 'SELECT @@log_bin')" "binlog on"
[ "$(mdb_q src 'SELECT @@server_id')" != "$(mdb_q dst 'SELECT @@server_id')" ] ||
	fail "server ids must differ"
mdb_q src "CREATE DATABASE t; CREATE TABLE t.a (id INT PRIMARY KEY); INSERT INTO t.a VALUES (1)"
mdb_restart src
assert_eq "1" "$(mdb_q src 'SELECT COUNT(*) FROM t.a')" "data survives a restart"
mdb_kill dst
mdb_launch dst
assert_eq "0" "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name='t'")" "servers are separate"
mariadb --no-defaults -h127.0.0.1 -P"$src_PORT" -ugodwit -p"$GW_PASSWORD" -N -e 'select 1' >/dev/null ||
	fail "godwit user over TCP"
"$GODWIT" --version | grep -q '^godwit ' || fail "binary answers --version"

# A port taken between free_port and the server's start: another port.
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$GW_TMP/taken" &
wait_for "a port taken" 30 test -s "$GW_TMP/taken"
taken=$(cat "$GW_TMP/taken")
free_port() { # the taken port first, then free ones
	if [ ! -e "$GW_TMP/gave-taken" ]; then
		touch "$GW_TMP/gave-taken"
		echo "$taken"
	else
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	fi
}
mdb_start busy 2>"$GW_TMP/busy.err"
[ -e "$GW_TMP/gave-taken" ] || fail "the taken port was offered"
[ "$busy_PORT" != "$taken" ] || fail "the server runs on the taken port"
assert_contains "$(cat "$GW_TMP/busy.err")" "was taken meanwhile" "the retry is said"
assert_eq "1" "$(mdb_q busy 'SELECT 1')" "the server on another port answers"
