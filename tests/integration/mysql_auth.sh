# caching_sha2_password (MySQL 8's default) from a source without TLS, as
# after a restart of MySQL: the double's cache empty (full authentication)
# and primed (a scramble). The password never travels in clear, and the
# server's RSA key is used only as the spec says:
#   no key given: refused before anything is sent (a man in the middle
#     would hand over its own key), with the fix;
#   tls.serverPublicKey FILE: full authentication encrypts with that key
#     (the server is never asked for its key); a primed cache needs none;
#     another key is refused by the server; an unreadable file stops
#     before connecting (the connector would otherwise ask the server);
#   tls.getServerPublicKey: the server's key, and precheck warns;
#   TLS: the password inside TLS.
# The double counts what happened (auth_fast, auth_full_rsa,
# auth_key_requests, auth_full_tls, auth_refused_clear).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mysqld.sh"
. "$(dirname "$0")/../lib/copy.sh"
. "$(dirname "$0")/../lib/precheck.sh"

mdb_start layouts
mdb_start dst
mdb_q layouts "CREATE DATABASE shop; CREATE TABLE shop.c (id INT PRIMARY KEY)"
myd_start src --version 8.0.40 --auth caching_sha2_password --tls \
	--binlog "$GW_SHARED/datasets/mysql-binlogs/mysql-8.0.31-gtid-payload-json.binlog" --forward layouts
counter() { myd_status src "s['counters'].get('$1', 0)"; }
spec() { # spec NAME TLS-YAML
	copy_spec "$GW_TMP/$1.yaml" "$1" "schema, full, incremental" '    - database: shop'
	sed -i "0,\\|tls: {mode: disabled}|s|tls: {mode: disabled}|tls: $2|" "$GW_TMP/$1.yaml"
}

# no key: refused, cold cache or primed
spec nokey "{mode: disabled}"
for cache in empty prime; do
	myd_ctl src cache "$cache" >/dev/null
	expect "$GW_TMP/nokey.yaml" source-connect fail "caching_sha2_password" "tls.serverPublicKey"
done
assert_eq "0 0 0 0" "$(counter auth_key_requests) $(counter auth_full_rsa) $(counter auth_fast) $(counter auth_refused_clear)" \
	"nothing sent for a refused method"

# the operator's copy of the key: RSA with it when the cache is cold
spec key "{mode: disabled, serverPublicKey: $src_DIR/public_key.pem}"
myd_ctl src cache empty >/dev/null
only_pass "$GW_TMP/key.yaml" source-connect
expect "$GW_TMP/key.yaml" source-auth pass "encrypt the password with the key of tls.serverPublicKey"
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

# another key: the server cannot decrypt, access denied
openssl genrsa -out "$GW_TMP/other.key" 2048 2>/dev/null
openssl rsa -in "$GW_TMP/other.key" -pubout -out "$GW_TMP/other.pem" 2>/dev/null
spec otherkey "{mode: disabled, serverPublicKey: $GW_TMP/other.pem}"
myd_ctl src cache empty >/dev/null
expect "$GW_TMP/otherkey.yaml" source-connect fail "Access denied for user 'godwit'"
# a key file that cannot be read: stop before connecting
spec nofile "{mode: disabled, serverPublicKey: $GW_TMP/missing.pem}"
conns=$(counter auth_full_rsa)
expect "$GW_TMP/nofile.yaml" source-connect fail "tls.serverPublicKey $GW_TMP/missing.pem: not a readable PEM public key"
echo "not a key" >"$GW_TMP/bad.pem"
spec badfile "{mode: disabled, serverPublicKey: $GW_TMP/bad.pem}"
expect "$GW_TMP/badfile.yaml" source-connect fail "tls.serverPublicKey $GW_TMP/bad.pem: not a readable PEM public key"
assert_eq "0 $conns" "$(counter auth_key_requests) $(counter auth_full_rsa)" "no key asked, nothing sent"

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
echo ok
