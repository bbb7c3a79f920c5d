# Hostile servers for the security tests (tests/lib/rogue_mysqld.py), and
# the cross-check client, PyMySQL (Debian's python3-pymysql), which does
# leak to them what godwit must not.
#
#   rogue_start NAME [rogue_mysqld.py options]   sets NAME_PORT; NAME's bytes
#                                    from clients (and what it decrypts) go to
#                                    $GW_TMP/NAME.dump, its events to
#                                    $GW_TMP/NAME.log; its RSA key pair is in
#                                    $GW_TMP/NAME-rsa
#   rogue_events NAME EVENT          how many EVENT lines NAME logged
#   rogue_reset NAME                 empties NAME's dump and log
#   pymysql_try PORT [python kwargs of pymysql.connect] [-- SQL]
#                                    connects (and runs SQL); never fails

PY_SYSTEM=/usr/bin/python3 # Debian's, which has python3-pymysql

rogue_start() {
	local name=$1
	shift
	rm -f "$GW_TMP/$name.port"
	python3 "$GW_ROOT/tests/lib/rogue_mysqld.py" --port-file "$GW_TMP/$name.port" \
		--dump "$GW_TMP/$name.dump" --log "$GW_TMP/$name.log" --rsa-dir "$GW_TMP/$name-rsa" "$@" \
		>>"$GW_TMP/$name.out" 2>&1 &
	disown $!
	wait_for "rogue server $name listening" 10 test -s "$GW_TMP/$name.port"
	printf -v "${name}_PORT" '%s' "$(cat "$GW_TMP/$name.port")"
}

rogue_events() {
	grep -c "\"event\": \"$2\"" "$GW_TMP/$1.log" || true
}

rogue_reset() {
	: >"$GW_TMP/$1.dump"
	: >"$GW_TMP/$1.log"
}

pymysql_try() {
	local port=$1 kwargs=${2:-} sql=${3:-}
	"$PY_SYSTEM" - "$port" "$kwargs" "$sql" <<'PY' || true
import sys, pymysql
port, kwargs, sql = int(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    c = eval("pymysql.connect(host='127.0.0.1', port=port, connect_timeout=10, " + kwargs + ")")
    if sql:
        c.cursor().execute(sql)
    print("pymysql: connected")
except Exception as e:
    print("pymysql:", type(e).__name__, e)
PY
}
