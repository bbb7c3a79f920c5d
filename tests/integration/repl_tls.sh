# TLS with certificates from CAs made here. The source and the destination
# run with a server certificate of "ca" (for the name db.test and the address
# 127.0.0.1); a third server has one of another CA ("rogue").
#  - required and verify-ca (with the right CA) work for the SQL connections
#    and for the binlog stream: the migration account is REQUIRE SSL on both
#    servers, and the source shows its Binlog Dump thread encrypted;
#  - verify-ca against the server of the other CA is refused, saying why;
#  - verify-identity with a name the certificate does not carry is refused;
#    with the right CA and the address in the certificate it works;
#  - disabled connects in clear to a TLS server (an account without REQUIRE
#    SSL), and the server sees no TLS on that connection;
#  - preferred uses TLS when offered and falls back to clear on a server
#    without it, which required refuses.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/copy.sh"

command -v openssl >/dev/null || fail "openssl is needed (scripts/install-deps)"
C=$GW_TMP/certs
mkdir -p "$C"
mkca() { # mkca NAME
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=godwit test $1" \
		-keyout "$C/$1-key.pem" -out "$C/$1.pem" 2>/dev/null
}
mkcert() { # mkcert CA NAME SAN
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$C/$2-key.pem" -out "$C/$2.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$C/$2.ext"
	openssl x509 -req -in "$C/$2.csr" -CA "$C/$1.pem" -CAkey "$C/$1-key.pem" -CAcreateserial \
		-days 2 -extfile "$C/$2.ext" -out "$C/$2.pem" 2>/dev/null
}
mkca ca
mkca rogue
mkcert ca server "DNS:db.test,IP:127.0.0.1"
mkcert rogue imposter "DNS:db.test,IP:127.0.0.1"
mkcert ca othername "DNS:elsewhere.test"
tls_opts() { echo "--ssl-ca=$C/ca.pem --ssl-cert=$C/$1.pem --ssl-key=$C/$1-key.pem"; }

# shellcheck disable=SC2046
mdb_start src $(tls_opts server) --performance-schema=ON
# shellcheck disable=SC2046
mdb_start dst $(tls_opts server)
# shellcheck disable=SC2046
mdb_start rogue $(tls_opts imposter)
# shellcheck disable=SC2046
mdb_start named $(tls_opts othername)
mdb_start plain # no certificate: no TLS
for s in src dst rogue named; do
	assert_eq "YES" "$(mdb_q "$s" "SELECT @@have_ssl")" "server $s has TLS"
	mdb_q "$s" "CREATE USER tls@'%' IDENTIFIED BY '$GW_PASSWORD' REQUIRE SSL; GRANT ALL ON *.* TO tls@'%'"
done
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO shop.t VALUES (1, 'a')"

spec() { # spec FILE NAME SRC_SERVER SRC_TLS DST_TLS [USER]: endpoints with their own tls lines
	local sp="${3}_PORT" dp="dst_PORT"
	cat >"$1" <<EOF
apiVersion: godwit/v1
kind: Migration
metadata:
  name: $2
spec:
  source:
    host: 127.0.0.1
    port: ${!sp}
    user: ${6:-tls}
    password: {fromEnv: GW_PASSWORD}
    tls: $4
  destination:
    host: 127.0.0.1
    port: ${!dp}
    user: tls
    password: {fromEnv: GW_PASSWORD}
    tls: $5
  migrationTypes: [schema, full, incremental]
  objects:
    - database: shop
EOF
}
act() { "$GODWIT" _action "$1" "$2" >"$GW_TMP/$3.out" 2>&1; }

# required on both sides, through the whole migration and the stream.
spec "$GW_TMP/req.yaml" req src "{mode: required}" "{mode: required}"
act "$GW_TMP/req.yaml" schema req-schema || { cat "$GW_TMP/req-schema.out"; fail "schema over TLS"; }
act "$GW_TMP/req.yaml" full req-full || { cat "$GW_TMP/req-full.out"; fail "full copy over TLS"; }
export GODWIT_STOP_FILE=$GW_TMP/stop
"$GODWIT" _action "$GW_TMP/req.yaml" incremental >"$GW_TMP/inc.out" 2>&1 &
INC=$!
mdb_q src "INSERT INTO shop.t VALUES (2, 'over tls')"
dump_tls() { # the TLS version of the source's Binlog Dump thread
	mdb_q src "SELECT s.VARIABLE_VALUE FROM performance_schema.threads t
		JOIN performance_schema.status_by_thread s ON s.THREAD_ID = t.THREAD_ID
		WHERE t.PROCESSLIST_COMMAND = 'Binlog Dump' AND t.PROCESSLIST_USER = 'tls' AND s.VARIABLE_NAME = 'Ssl_version'"
}
arrived() { [ "$(mdb_q dst "SELECT v FROM shop.t WHERE id = 2" 2>/dev/null)" = "over tls" ]; }
wait_for "a change arrives over the TLS stream" 30 arrived
v=$(dump_tls)
assert_contains "$v" "TLS" "the source's binlog dump thread is encrypted"
touch "$GODWIT_STOP_FILE"
wait "$INC" || { cat "$GW_TMP/inc.out"; fail "incremental over TLS"; }

item() { # item OUTFILE ID: "result cause" of a precheck item
	awk -v id="$2" '$0 ~ "id: "id"$" {f=1; next} f && /result:/ {r=$2} f && /cause:/ {sub(/^ *cause: /, ""); print r, $0; exit}' "$1"
}
connects() { # connects NAME FILE: both connections pass the precheck, over TLS
	act "$2" precheck "$1" || { cat "$GW_TMP/$1.out"; fail "$1: precheck did not run"; }
	assert_contains "$(item "$GW_TMP/$1.out" source-connect)" "pass" "$1: source connects"
	assert_contains "$(item "$GW_TMP/$1.out" source-connect)" ", TLS)" "$1: source over TLS"
	assert_contains "$(item "$GW_TMP/$1.out" destination-connect)" ", TLS)" "$1: destination over TLS"
}

# verify-ca: the right CA passes, whatever name the certificate has; the
# server of another CA is refused, by the precheck and by the stream.
spec "$GW_TMP/vca.yaml" vca src "{mode: verify-ca, ca: $C/ca.pem}" "{mode: verify-ca, ca: $C/ca.pem}"
connects vca "$GW_TMP/vca.yaml"
spec "$GW_TMP/nca.yaml" nca named "{mode: verify-ca, ca: $C/ca.pem}" "{mode: verify-ca, ca: $C/ca.pem}"
connects nca "$GW_TMP/nca.yaml"
spec "$GW_TMP/rog.yaml" rog rogue "{mode: verify-ca, ca: $C/ca.pem}" "{mode: verify-ca, ca: $C/ca.pem}"
act "$GW_TMP/rog.yaml" precheck rog-pre || true
r=$(item "$GW_TMP/rog-pre.out" source-connect)
assert_contains "$r" "fail" "verify-ca refuses a server of another CA"
assert_contains "$r" "tls.mode verify-ca: the server's certificate must be signed by the CA of $C/ca.pem" "the reason says what was checked"
act "$GW_TMP/rog.yaml" incremental rog && fail "the stream accepted a server of another CA"
assert_contains "$(cat "$GW_TMP/rog.out")" "result: fatal" "refused for good, not retried"
assert_contains "$(cat "$GW_TMP/rog.out")" "certificate" "the stream says why"
assert_eq "0" "$(mdb_q rogue "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'tls'")" "nothing connected to the imposter"

# verify-identity: the certificate must name the host (127.0.0.1 here).
spec "$GW_TMP/vid.yaml" vid src "{mode: verify-identity, ca: $C/ca.pem}" "{mode: verify-identity, ca: $C/ca.pem}"
connects vid "$GW_TMP/vid.yaml"
spec "$GW_TMP/nid.yaml" nid named "{mode: verify-identity, ca: $C/ca.pem}" "{mode: verify-identity, ca: $C/ca.pem}"
act "$GW_TMP/nid.yaml" precheck nid || true
r=$(item "$GW_TMP/nid.out" source-connect)
assert_contains "$r" "fail" "verify-identity refuses a certificate for another name"
assert_contains "$r" "name the host it is reached by" "the reason says what was checked"

# disabled: in clear, even to a TLS server (an account that requires TLS
# is then refused by the server, which proves no TLS was spoken).
spec "$GW_TMP/off.yaml" off src "{mode: disabled}" "{mode: required}" godwit
act "$GW_TMP/off.yaml" precheck off || { cat "$GW_TMP/off.out"; fail "disabled: precheck did not run"; }
r=$(item "$GW_TMP/off.out" source-connect)
assert_contains "$r" "pass" "disabled connects to a TLS server"
assert_not_contains "$r" "TLS" "disabled speaks no TLS"
spec "$GW_TMP/off2.yaml" off2 src "{mode: disabled}" "{mode: required}"
act "$GW_TMP/off2.yaml" precheck off2 || true
assert_contains "$(item "$GW_TMP/off2.out" source-connect)" "Access denied" "a REQUIRE SSL account refused in clear"

# preferred: TLS when the server has it, in clear when it has not;
# required refuses a server without TLS.
spec "$GW_TMP/pref.yaml" pref src "{mode: preferred}" "{mode: preferred}"
connects pref "$GW_TMP/pref.yaml"
spec "$GW_TMP/pln.yaml" pln plain "{mode: preferred}" "{mode: required}" godwit
act "$GW_TMP/pln.yaml" precheck pln || true
r=$(item "$GW_TMP/pln.out" source-connect)
assert_contains "$r" "pass" "preferred connects to a server without TLS"
assert_not_contains "$r" "TLS" "in clear"
spec "$GW_TMP/plr.yaml" plr plain "{mode: required}" "{mode: required}" godwit
act "$GW_TMP/plr.yaml" precheck plr || true
r=$(item "$GW_TMP/plr.out" source-connect)
assert_contains "$r" "fail" "required refuses a server without TLS"
assert_contains "$r" "SSL" "the reason says TLS is missing"
echo ok
