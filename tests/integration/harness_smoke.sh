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
