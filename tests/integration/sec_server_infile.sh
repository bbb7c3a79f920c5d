# A hostile server cannot read the controller's files through LOAD DATA
# LOCAL INFILE (docs/security.md, "The servers"): godwit answers a file
# request only with the rows of a LOAD DATA it issued itself.
#  - a rogue server asks for a file in reply to the session set-up of
#    every connection: refused, nothing of the file arrives;
#  - a man in the middle in front of a real destination (TLS stripped,
#    tls.mode preferred, the default) asks for it in reply to the first
#    statement of the copy's LOAD DATA connections: refused, the copy
#    fails, and nothing of the file arrives; without the proxy the same
#    copy works, through LOAD DATA.
# PyMySQL with local_infile on sends the file to both: the attack is real.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/rogue.sh"

SECRET=$GW_TMP/controller-secret
printf 'ssh-private-key-MARKER-5K2J\n' >"$SECRET"
MARK=MARKER-5K2J

# 1. The rogue asks in reply to the first statement of every connection.
rogue_start rogue --infile "$SECRET" --infile-on "time_zone|SELECT"
cat >"$GW_TMP/r.yaml" <<EOF
apiVersion: godwit/v1
kind: Migration
metadata: {name: r}
spec:
  source: {host: 127.0.0.1, port: $rogue_PORT, user: u, password: {fromEnv: GW_PASSWORD}, tls: {mode: disabled}}
  destination: {host: 127.0.0.1, port: $rogue_PORT, user: u, password: {fromEnv: GW_PASSWORD}}
  migrationTypes: [schema, full]
  objects: [{database: shop}]
EOF
out=$(timeout 120 "$GODWIT" precheck "$GW_TMP/r.yaml" 2>&1 || true)
[ "$(rogue_events rogue infile_request)" -ge 2 ] || fail "the rogue did not ask for the file: $out"
grep -q "$MARK" "$GW_TMP/rogue.dump" && fail "the file reached the rogue server"
echo "$out" | grep -qiE "local infile forbidden|asked for a local file" || fail "the refusal is named: $out"
rogue_reset rogue
out=$(pymysql_try "$rogue_PORT" "user='u', password='x', local_infile=True" "SELECT 1")
grep -q "$MARK" "$GW_TMP/rogue.dump" || fail "cross-check: PyMySQL should have sent the file ($out)"

# 2. A man in the middle on the copy's LOAD DATA connections.
mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO shop.t VALUES (1, 'a'), (2, 'b')"
rogue_start mitm --upstream "127.0.0.1:$dst_PORT" --strip-tls --infile "$SECRET" \
	--infile-on "foreign_key_checks"
spec() { # spec FILE DST_PORT
	cat >"$1" <<EOF
apiVersion: godwit/v1
kind: Migration
metadata: {name: m}
spec:
  source:
$(spec_endpoint src)
  destination: {host: 127.0.0.1, port: $2, user: godwit, password: {fromEnv: GW_PASSWORD}}
  migrationTypes: [schema, full]
  objects: [{database: shop}]
  parallelism: 2
EOF
}
spec "$GW_TMP/m.yaml" "$dst_PORT"
"$GODWIT" _action "$GW_TMP/m.yaml" schema >"$GW_TMP/schema.out" 2>&1 || { cat "$GW_TMP/schema.out"; fail "schema"; }
spec "$GW_TMP/m.yaml" "$mitm_PORT"
rc=0
timeout 120 "$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full.out" 2>&1 || rc=$?
[ "$(rogue_events mitm infile_request)" -ge 1 ] || fail "the proxy did not ask for the file: $(cat "$GW_TMP/full.out")"
grep -q "$MARK" "$GW_TMP/mitm.dump" && fail "the file crossed the proxy"
[ "$rc" -ne 0 ] || fail "the copy went on after a file request it did not make"
assert_contains "$(cat "$GW_TMP/full.out")" "asked for a local file outside a LOAD DATA of godwit's" "the copy says why"
# Without the man in the middle: the copy works, with LOAD DATA.
spec "$GW_TMP/m.yaml" "$dst_PORT"
"$GODWIT" _action "$GW_TMP/m.yaml" full >"$GW_TMP/full.out" 2>&1 || { cat "$GW_TMP/full.out"; fail "full copy"; }
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "rows copied"
assert_contains "$(mdb_q dst "SHOW GLOBAL STATUS LIKE 'Com_load'")" "Com_load	" "LOAD DATA counted"
[ "$(mdb_q dst "SHOW GLOBAL STATUS LIKE 'Com_load'" | cut -f2)" -ge 1 ] || fail "the copy used LOAD DATA"
rogue_reset mitm
out=$(pymysql_try "$mitm_PORT" "user='godwit', password='$GW_PASSWORD', local_infile=True" \
	"SET SESSION foreign_key_checks = 0")
grep -q "$MARK" "$GW_TMP/mitm.dump" || fail "cross-check: PyMySQL should have sent the file through the proxy ($out)"
echo ok
