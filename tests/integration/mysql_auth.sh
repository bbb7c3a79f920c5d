# caching_sha2_password (MySQL 8's default) from a source without TLS, as
# ApsaraDB RDS for MySQL 8.0 runs by default: the double's cache primed (a
# scramble) and empty (after a restart: full authentication). The password
# never travels in clear, and RSA uses only a key the spec trusts:
#   no key given, cache primed: connects by the scramble; precheck warns
#     that the next restart or failover will stop it, and says the fix
#     (source-auth, and destination-auth for a MySQL 8 destination);
#   no key given, cache empty: refused with that fix, and the double, which
#     asked for the full authentication, got nothing to decrypt;
#   tls.serverPublicKey FILE: full authentication encrypts with that key
#     (the server is never asked for its key), the migration runs on it;
#     without it, after a restart, the stream waits (retryable) until the
#     account has logged in again;
#     another key is refused by the server (and named); an unreadable file
#     stops before connecting;
#   tls.getServerPublicKey: the server's key, and precheck warns;
#   TLS: the password inside TLS;
#   a mysql_native_password account on the same MySQL 8 server, whose
#     greeting proposes caching_sha2_password: connects without a key.
# PyMySQL cross-checks the double: with the server's key it does a full
# authentication by RSA without asking for the key; without one it fetches
# the server's key and sends the password with it (what godwit refuses).
# The double counts what happened (auth_fast, auth_full_asked,
# auth_full_abandoned, auth_full_rsa, auth_rsa_decrypted,
# auth_rsa_undecryptable, auth_key_requests, auth_full_tls,
# auth_refused_clear).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"
. "$(dirname "$0")/../lib/precheck.sh"

mdb_start layouts
mdb_start dst
mdb_q layouts "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY)"
myd_start src --version 8.0.40 --auth caching_sha2_password --tls \
	--account "nat:$GW_PASSWORD:mysql_native_password" \
	--binlog "$GW_SHARED/datasets/mysql-binlogs/mysql-8.0.31-gtid-payload-json.binlog" --forward layouts
counter() { myd_status src "s['counters'].get('$1', 0)"; }
counters() { # counters NAME...: their values, space-separated
	local c out=
	for c in "$@"; do out="$out${out:+ }$(counter "$c")"; done
	echo "$out"
}
spec() { # spec NAME TLS-YAML
	copy_spec "$GW_TMP/$1.yaml" "$1" "schema, full, incremental" '    - database: shop'
	sed -i "0,\\|tls: {mode: disabled}|s|tls: {mode: disabled}|tls: $2|" "$GW_TMP/$1.yaml"
}

# no key, cache primed: the scramble; precheck warns of the next restart
spec nokey "{mode: disabled}"
myd_ctl src cache prime >/dev/null
only_pass "$GW_TMP/nokey.yaml" source-connect
expect "$GW_TMP/nokey.yaml" source-auth warn "took the fast path" "after a restart or failover of the source the cache is cold" \
	"fix: tls.serverPublicKey: FILE" "IDENTIFIED WITH mysql_native_password"
[ "$(counter auth_fast)" -ge 2 ] || fail "no fast authentication"
assert_eq "0 0" "$(counters auth_full_asked auth_key_requests)" "a primed cache asks for no full authentication"
# the same for a MySQL 8 destination
spec todouble "{mode: disabled}"
sed -i "s/port: $dst_PORT/port: $src_PORT/" "$GW_TMP/todouble.yaml"
expect "$GW_TMP/todouble.yaml" destination-auth warn "took the fast path" \
	"after a restart or failover of the destination the cache is cold"

# no key, cache empty (a restart): refused, saying why and how to fix it;
# the double asked for the full authentication and got nothing
myd_ctl src cache empty >/dev/null
expect "$GW_TMP/nokey.yaml" source-connect fail "source 127.0.0.1:$src_PORT (user godwit)" \
	"full caching_sha2_password authentication" "cold after a restart or failover" \
	"nothing but the scramble was sent" "tls.serverPublicKey: FILE" "IDENTIFIED WITH mysql_native_password"
asked=$(counter auth_full_asked)
[ "$asked" -ge 1 ] || fail "the double did not ask for a full authentication"
assert_eq "$asked" "$(counter auth_full_abandoned)" "every full authentication left unanswered"
assert_eq "0 0 0 0 0" "$(counters auth_rsa_decrypted auth_rsa_undecryptable auth_key_requests auth_refused_clear auth_full_rsa)" \
	"nothing encrypted, no key asked, nothing in clear"
assert_not_contains "$(cat "$src_LOG")" "$GW_PASSWORD" "the password in the double's log"

# the operator's copy of the key: RSA with it when the cache is cold
spec key "{mode: disabled, serverPublicKey: $src_DIR/public_key.pem}"
myd_ctl src cache empty >/dev/null
only_pass "$GW_TMP/key.yaml" source-connect
expect "$GW_TMP/key.yaml" source-auth pass "encrypted with the key of tls.serverPublicKey ($src_DIR/public_key.pem)"
[ "$(counter auth_full_rsa)" -ge 1 ] || fail "no full authentication with RSA"
assert_eq 0 "$(counter auth_key_requests)" "the server was never asked for its key"
myd_ctl src cache prime >/dev/null
fast=$(counter auth_fast)
only_pass "$GW_TMP/key.yaml" source-connect
[ "$(counter auth_fast)" -gt "$fast" ] || fail "a primed cache did not give the fast path"
# and the migration itself runs on it: the hand-off and the stream
myd_ctl src cache empty >/dev/null
mdb_q dst "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY)"
export GODWIT_STOP_FILE=$GW_TMP/stop
touch "$GODWIT_STOP_FILE"
"$GODWIT" _action "$GW_TMP/key.yaml" incremental >"$GW_TMP/inc.out" 2>&1 ||
	{ cat "$GW_TMP/inc.out"; fail "incremental with the key file"; }
assert_eq 0 "$(counter auth_key_requests)" "the stream never asked the server for its key"
# the same migration without the key, after a restart of the source: the
# stream cannot log in and waits (retryable), and goes on once the account
# has logged in again (here with the key; over TLS would do as well)
sed "s|, serverPublicKey: $src_DIR/public_key.pem||" "$GW_TMP/key.yaml" >"$GW_TMP/key-nokey.yaml"
myd_ctl src restart >/dev/null
"$GODWIT" _action "$GW_TMP/key-nokey.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &&
	fail "incremental without the key on a cold cache: $(cat "$GW_TMP/inc.out")"
assert_contains "$(cat "$GW_TMP/inc.out")" "result: retryable" "a cold cache waits for a retry"
assert_contains "$(cat "$GW_TMP/inc.out")" "cold after a restart or failover" "and says why"
only_pass "$GW_TMP/key.yaml" source-connect
"$GODWIT" _action "$GW_TMP/key-nokey.yaml" incremental >"$GW_TMP/inc.out" 2>&1 ||
	{ cat "$GW_TMP/inc.out"; fail "incremental without the key on a warm cache"; }

# another key: the server cannot decrypt, access denied, and the file named
openssl genrsa -out "$GW_TMP/other.key" 2048 2>/dev/null
openssl rsa -in "$GW_TMP/other.key" -pubout -out "$GW_TMP/other.pem" 2>/dev/null
spec otherkey "{mode: disabled, serverPublicKey: $GW_TMP/other.pem}"
myd_ctl src cache empty >/dev/null
expect "$GW_TMP/otherkey.yaml" source-connect fail "Access denied for user 'godwit'" \
	"if the password is right, that file is not this server's key"
[ "$(counter auth_rsa_undecryptable)" -ge 1 ] || fail "the double decrypted with another key"
# a key file that cannot be read: stop before connecting
spec nofile "{mode: disabled, serverPublicKey: $GW_TMP/missing.pem}"
conns=$(grep -c "connection" "$src_LOG" || true)
expect "$GW_TMP/nofile.yaml" source-connect fail "tls.serverPublicKey $GW_TMP/missing.pem: not a readable PEM RSA public key"
echo "not a key" >"$GW_TMP/bad.pem"
spec badfile "{mode: disabled, serverPublicKey: $GW_TMP/bad.pem}"
expect "$GW_TMP/badfile.yaml" source-connect fail "tls.serverPublicKey $GW_TMP/bad.pem: not a readable PEM RSA public key"
openssl ecparam -name prime256v1 -genkey -noout -out "$GW_TMP/ec.key" 2>/dev/null
openssl ec -in "$GW_TMP/ec.key" -pubout -out "$GW_TMP/ec.pem" 2>/dev/null
spec ecfile "{mode: disabled, serverPublicKey: $GW_TMP/ec.pem}"
expect "$GW_TMP/ecfile.yaml" source-connect fail "tls.serverPublicKey $GW_TMP/ec.pem: not a readable PEM RSA public key"
assert_eq 0 "$(counter auth_key_requests)" "no key asked"

# the server's own key, allowed by the spec: works, and precheck warns
spec getkey "{mode: disabled, getServerPublicKey: true}"
myd_ctl src cache empty >/dev/null
only_pass "$GW_TMP/getkey.yaml" source-connect
[ "$(counter auth_key_requests)" -ge 1 ] || fail "the server's key was not asked for"
expect "$GW_TMP/getkey.yaml" source-auth warn "a man in the middle could send its own" "fix: give the server's key as a file"

# TLS: the password inside TLS, whatever the cache
spec tls "{mode: verify-ca, ca: $src_CA}"
myd_ctl src cache empty >/dev/null
only_pass "$GW_TMP/tls.yaml" source-connect
expect "$GW_TMP/tls.yaml" source-auth pass "over TLS"
[ "$(counter auth_full_tls)" -ge 1 ] || fail "no full authentication over TLS"
assert_eq 0 "$(counter auth_refused_clear)" "never a password in clear without TLS"

# a mysql_native_password account on the MySQL 8 double, without TLS and
# without a key: the greeting proposes caching_sha2_password, the server
# switches to the account's method
spec native "{mode: disabled}"
sed -i '0,/user: godwit/s/user: godwit/user: nat/' "$GW_TMP/native.yaml"
myd_ctl src cache empty >/dev/null
asked=$(counter auth_full_asked)
only_pass "$GW_TMP/native.yaml" source-connect
expect "$GW_TMP/native.yaml" source-auth pass "authenticates by a scramble (mysql_native_password)"
assert_eq "$asked" "$(counter auth_full_asked)" "no full authentication for a native account"
grep -q "connection [0-9]*: nat@" "$src_LOG" || fail "the native account did not log in"

# PyMySQL against the same double: with the server's key, full
# authentication by RSA and no key asked for; without, it asks the server
pymy() { # pymy KWARGS: PyMySQL's outcome
	/usr/bin/python3 - "$src_PORT" "$GW_PASSWORD" "$1" <<'PY' || true
import sys, pymysql
port, pw, kwargs = int(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    c = eval("pymysql.connect(host='127.0.0.1', port=port, user='godwit', password=pw, " + kwargs + ")")
    c.close()
    print("connected")
except Exception as e:
    print(type(e).__name__, e)
PY
}
myd_ctl src cache empty >/dev/null
read -r rsa keyreq <<<"$(counters auth_full_rsa auth_key_requests)"
assert_eq connected "$(pymy "server_public_key=open('$src_DIR/public_key.pem', 'rb').read()")" "PyMySQL with the key"
assert_eq "$((rsa + 1)) $keyreq" "$(counters auth_full_rsa auth_key_requests)" "PyMySQL: RSA with the given key, no key asked"
myd_ctl src cache empty >/dev/null
assert_eq connected "$(pymy "")" "PyMySQL without a key"
assert_eq "$((rsa + 2)) $((keyreq + 1))" "$(counters auth_full_rsa auth_key_requests)" \
	"PyMySQL fetched the server's key and sent the password with it"
echo ok
