# What the controller keeps and logs is the operator's only
# (docs/security.md, "The operator's machine"):
#  - the state directory is 0700 and every file in it 0600 (audit lines
#    carry authors' e-mails, status messages server errors), also when it
#    existed as 0755 before; --state-group-read makes them 0750 and 0640;
#  - a failing notify URL is logged as scheme://host:port only: its path,
#    query and user part (where webhook secrets live) are not.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"
mkdir -p "$GW_TMP/specs"
write_spec "$GW_TMP/specs/m.yaml" m "schema, full"
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: bad}\nspec: {sorce: 1}\n' >"$GW_TMP/specs/bad.yaml"

S=$GW_TMP/state
mkdir -m 0755 "$S" # as an older version left it
PORT=$(free_port)  # nothing listens: every notification fails
HOOK="http://hookuser:hookpw-P3Q@127.0.0.1:$PORT/hooks/secret-path-Z8X?token=qtoken-J5K"
timeout 120 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$S" --once --notify-url "$HOOK" \
	>"$GW_TMP/ctl.log" 2>&1 || true
assert_eq Completed "$(cat "$S/tasks/m/phase")" "the migration ran"
[ -s "$S/audit.jsonl" ] || fail "the audit log was written"
assert_eq 700 "$(stat -c %a "$S")" "the state directory is private"
loose=$(find "$S" \( -type d ! -perm 700 \) -o \( -type f ! -perm 600 \) | head -5)
[ -z "$loose" ] || fail "not private: $(for f in $loose; do stat -c '%a %n' "$f"; done)"

grep -q "notify: POST http://127.0.0.1:$PORT: " "$GW_TMP/ctl.log" || fail "the failing notify URL is named by scheme://host:port: $(grep notify "$GW_TMP/ctl.log" | head -3)"
! grep -q "secret-path-Z8X\|qtoken-J5K\|hookpw-P3Q\|hookuser" "$GW_TMP/ctl.log" "$S"/*.* "$S"/tasks/*/* ||
	fail "the notify URL's secret parts were logged or stored"

# shared with a group, on request
S2=$GW_TMP/state2
timeout 120 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$S2" --once --state-group-read \
	>"$GW_TMP/ctl2.log" 2>&1 || true
assert_eq 750 "$(stat -c %a "$S2")" "--state-group-read: the directory"
loose=$(find "$S2" \( -type d ! -perm 750 \) -o \( -type f ! -perm 640 \) | head -5)
[ -z "$loose" ] || fail "--state-group-read: $(for f in $loose; do stat -c '%a %n' "$f"; done)"
echo ok
