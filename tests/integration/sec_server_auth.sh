# A hostile server or a man in the middle does not get godwit's credentials
# (docs/security.md, "The servers" and "The network"):
#  - tls.mode required, verify-ca and verify-identity against a server that
#    offers no TLS: refused before the handshake response, so neither the
#    user name nor the password scramble reaches it; the same through a
#    proxy that strips TLS from a real MariaDB's greeting;
#  - a server that switches the client to mysql_clear_password or dialog on
#    a connection without TLS (tls.mode preferred falling back to clear,
#    and disabled) never gets a byte of the answer;
#  - one that switches it to caching_sha2_password, asks for the full
#    authentication (as MySQL does with a cold cache) and serves its own
#    RSA public key, or to sha256_password, decrypts nothing with its
#    private key: without a key in the spec godwit sends only the scramble
#    (or the key request) and stops; with tls.serverPublicKey (the real
#    server's key) the rogue gets a cipher it cannot read; only
#    tls.getServerPublicKey, which trusts the server, hands it the password;
#  - preferred still connects, in clear, to a real server without TLS.
# PyMySQL, asked for TLS, sends its handshake response to the same server
# and the password itself after the switch (in clear, or encrypted with
# the rogue's own key): the rogue performs the attack.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/rogue.sh"

PW=rogue-pw-Q7Z3X9
export PW
spec() { # spec FILE PORT TLS
	cat >"$1" <<EOF
apiVersion: godwit/v1
kind: Migration
metadata: {name: rogue}
spec:
  source: {host: 127.0.0.1, port: $2, user: victim, password: {fromEnv: PW}, tls: $3}
  destination: {host: 127.0.0.1, port: $2, user: victim, password: {fromEnv: PW}, tls: $3}
  migrationTypes: [schema, full]
  objects: [{database: shop}]
EOF
}
precheck() { # precheck FILE: the precheck's output
	timeout 120 "$GODWIT" precheck "$1" 2>&1 || true
}

# 1. No TLS offered; tls.mode required and stronger.
rogue_start plain
C=$GW_TMP/certs
mkdir -p "$C"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=godwit test ca" \
	-keyout "$C/ca-key.pem" -out "$C/ca.pem" 2>/dev/null
for mode in required "{mode: verify-ca, ca: $C/ca.pem}" "{mode: verify-identity, ca: $C/ca.pem}"; do
	[ "$mode" = required ] && mode="{mode: required}"
	rogue_reset plain
	spec "$GW_TMP/s.yaml" "$plain_PORT" "$mode"
	out=$(precheck "$GW_TMP/s.yaml")
	assert_contains "$out" "the server offers no TLS (nothing was sent to it)" "$mode: refused, saying why"
	[ "$(rogue_events plain greeting)" -ge 2 ] || fail "$mode: godwit did not even connect"
	assert_eq 0 "$(rogue_events plain handshake_response)" "$mode: no handshake response reached the server"
	[ -s "$GW_TMP/plain.dump" ] && fail "$mode: godwit sent bytes to a server without TLS: $(od -c "$GW_TMP/plain.dump" | head -3)"
done
rogue_reset plain
out=$(pymysql_try "$plain_PORT" "user='victim', password='$PW', ssl={'ca': '$C/ca.pem'}")
assert_eq 1 "$(rogue_events plain handshake_response)" "cross-check: PyMySQL asked for TLS and went on in clear ($out)"
grep -q victim "$GW_TMP/plain.dump" || fail "cross-check: PyMySQL sent the user name in clear"

# 2. The server asks for a method that hands it the password.
for plugin in mysql_clear_password dialog; do
	rogue_start "sw_$plugin" --auth-switch "$plugin"
	port="sw_${plugin}_PORT"
	for mode in "{mode: preferred}" "{mode: disabled}"; do
		rogue_reset "sw_$plugin"
		spec "$GW_TMP/s.yaml" "${!port}" "$mode"
		out=$(precheck "$GW_TMP/s.yaml")
		assert_contains "$out" "would hand it the password" "$plugin, $mode: refused, saying why"
		[ "$(rogue_events "sw_$plugin" auth_switch)" -ge 1 ] || fail "$plugin, $mode: the switch was not asked for"
		assert_eq 0 "$(rogue_events "sw_$plugin" auth_switch_response)" "$plugin, $mode: nothing answered the switch"
		grep -q "$PW" "$GW_TMP/sw_$plugin.dump" && fail "$plugin, $mode: the password reached the server"
	done
done
rogue_reset sw_mysql_clear_password
out=$(pymysql_try "$sw_mysql_clear_password_PORT" "user='victim', password='$PW'")
grep -q "$PW" "$GW_TMP/sw_mysql_clear_password.dump" ||
	fail "cross-check: PyMySQL should have sent the password in clear ($out)"

# 2b. The server asks for a full caching_sha2_password authentication, or
# for sha256_password, and serves its own RSA key: it must decrypt nothing.
for plugin in caching_sha2_password sha256_password; do
	r="sw_$plugin"
	rogue_start "$r" --auth-switch "$plugin"
	port="${r}_PORT"
	for mode in "{mode: preferred}" "{mode: disabled}"; do
		rogue_reset "$r"
		spec "$GW_TMP/s.yaml" "${!port}" "$mode"
		out=$(precheck "$GW_TMP/s.yaml")
		if [ "$plugin" = caching_sha2_password ]; then
			assert_contains "$out" "nothing but the scramble was sent" "$plugin, $mode: refused, saying why"
			[ "$(rogue_events "$r" full_auth_asked)" -ge 1 ] || fail "$plugin, $mode: no full authentication asked"
			assert_eq 0 "$(rogue_events "$r" key_request)" "$plugin, $mode: the rogue's key was not asked for"
		else
			assert_contains "$out" "the account uses sha256_password" "$plugin, $mode: refused, saying why"
		fi
		[ "$(rogue_events "$r" closed_at_full_auth)" -ge 1 ] || fail "$plugin, $mode: godwit did not stop there"
		assert_eq "0 0" "$(rogue_events "$r" rsa_decrypted) $(rogue_events "$r" rsa_undecryptable)" \
			"$plugin, $mode: nothing encrypted reached the rogue"
		grep -q "$PW" "$GW_TMP/$r.dump" && fail "$plugin, $mode: the password reached the server"
	done
	# the operator's copy of the real server's key: the rogue holds no
	# private key for it
	openssl genrsa -out "$GW_TMP/real.key" 2048 2>/dev/null
	openssl rsa -in "$GW_TMP/real.key" -pubout -out "$GW_TMP/real.pem" 2>/dev/null
	rogue_reset "$r"
	spec "$GW_TMP/s.yaml" "${!port}" "{mode: disabled, serverPublicKey: $GW_TMP/real.pem}"
	out=$(precheck "$GW_TMP/s.yaml")
	[ "$(rogue_events "$r" rsa_undecryptable)" -ge 1 ] || fail "$plugin, key file: no cipher sent ($out)"
	assert_eq "0 0" "$(rogue_events "$r" rsa_decrypted) $(rogue_events "$r" key_request)" \
		"$plugin, key file: the rogue's key neither asked for nor used"
	grep -q "$PW" "$GW_TMP/$r.dump" && fail "$plugin, key file: the password reached the server"
	# tls.getServerPublicKey trusts the server: this one reads the password
	# (docs/security.md says so)
	rogue_reset "$r"
	spec "$GW_TMP/s.yaml" "${!port}" "{mode: disabled, getServerPublicKey: true}"
	out=$(precheck "$GW_TMP/s.yaml")
	[ "$(rogue_events "$r" rsa_decrypted)" -ge 1 ] || fail "$plugin, getServerPublicKey: the rogue's key was not used ($out)"
	grep -q "$PW" "$GW_TMP/$r.dump" || fail "$plugin, getServerPublicKey: the rogue should have read the password"
	# PyMySQL, no TLS and no key: fetches the rogue's key and sends the
	# password with it
	rogue_reset "$r"
	out=$(pymysql_try "${!port}" "user='victim', password='$PW'")
	grep -q "$PW" "$GW_TMP/$r.dump" ||
		fail "cross-check: PyMySQL should have sent the password to the rogue's key ($out)"
done

# 3. A man in the middle strips TLS from a real server's greeting.
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$C/srv-key.pem" \
	-out "$C/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$C/srv.ext"
openssl x509 -req -in "$C/srv.csr" -CA "$C/ca.pem" -CAkey "$C/ca-key.pem" -CAcreateserial \
	-days 2 -extfile "$C/srv.ext" -out "$C/srv.pem" 2>/dev/null
mdb_start db --ssl-ca="$C/ca.pem" --ssl-cert="$C/srv.pem" --ssl-key="$C/srv-key.pem"
mdb_q db "CREATE USER victim@'%' IDENTIFIED BY '$PW'; GRANT ALL ON *.* TO victim@'%'; CREATE DATABASE shop"
rogue_start mitm --upstream "127.0.0.1:$db_PORT" --strip-tls
spec "$GW_TMP/s.yaml" "$db_PORT" "{mode: verify-identity, ca: $C/ca.pem}"
out=$(precheck "$GW_TMP/s.yaml")
assert_contains "$out" "source-connect           pass" "verify-identity works without the man in the middle: $out"
for mode in "{mode: required}" "{mode: verify-ca, ca: $C/ca.pem}" "{mode: verify-identity, ca: $C/ca.pem}"; do
	rogue_reset mitm
	spec "$GW_TMP/s.yaml" "$mitm_PORT" "$mode"
	out=$(precheck "$GW_TMP/s.yaml")
	assert_contains "$out" "the server offers no TLS (nothing was sent to it)" "$mode through the stripping proxy: refused"
	[ "$(rogue_events mitm stripped_tls)" -ge 2 ] || fail "$mode: the proxy did not strip TLS"
	assert_eq 0 "$(rogue_events mitm handshake_response)" "$mode: no handshake response through the proxy"
done
# preferred: in clear, the documented cost of not asking for TLS; the
# connection is made with a method that sends only a scramble.
rogue_reset mitm
spec "$GW_TMP/s.yaml" "$mitm_PORT" "{mode: preferred}"
out=$(precheck "$GW_TMP/s.yaml")
assert_contains "$out" "source-connect           pass" "preferred goes on in clear through the proxy: $out"
grep -q "$PW" "$GW_TMP/mitm.dump" && fail "the password itself crossed the proxy"
rogue_reset mitm
out=$(pymysql_try "$mitm_PORT" "user='victim', password='$PW', ssl={'ca': '$C/ca.pem'}")
assert_eq 1 "$(rogue_events mitm handshake_response)" "cross-check: PyMySQL asked for TLS, its handshake response crossed the proxy in clear ($out)"
echo ok
