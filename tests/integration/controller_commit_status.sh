# --commit-status: each migration's status on the commit that last
# changed its spec, posted to a forge emulator (tests/lib/forge_emulator.py,
# checked against @octokit/rest by forge_emulator_octokit.sh) that checks
# the path, the token and the JSON as GitHub does:
#   pending then success at Completed, with the target URL; failure on the
#   commit of an invalid spec; a hanging forge does not hold up the
#   migrations; 502s are retried; a redirect is not followed (the other
#   host receives nothing, so no token); a refused token is said, never
#   shown; the Gitea and GitLab APIs; URLs that would expose the token are
#   refused at start.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/forge.sh"

mdb_start src
mdb_start dst
ctl_require git
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"

R=$GW_TMP/repo
S=$GW_TMP/state
TOKEN=forge-token-$RANDOM$RANDOM-secret
git init -q -b main "$R"
mkdir -p "$R/m"
commit() {
	git -C "$R" add -A
	git -C "$R" -c user.name=Ada -c user.email=ada@example.com commit -q -m "$1"
	git -C "$R" rev-parse HEAD
}
write_spec "$R/m/a.yaml" a schema "      renameTo: shop_a"
c1=$(commit "add a")
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: b}\nspec: {sorce: 1}\n' >"$R/m/b.yaml"
c2=$(commit "add b, invalid")

forge_start F --token "$TOKEN" --repo "acme/specs=$R" --project "42=$R"
forge_start G --token "$TOKEN" --repo "acme/specs=$R"

# last_status SHA CONTEXT [FIELD]: the newest accepted status (a field of it)
last_status() {
	forge_get "$F" /_emu/statuses | python3 -c '
import json, sys
d = json.load(sys.stdin).get(sys.argv[1], [])
d = [s for s in d if s.get("context", s.get("name")) == sys.argv[2]]
print(d[-1].get(sys.argv[3], "") if d else "")' "$1" "$2" "${3:-state}"
}
status_is() { [ "$(last_status "$1" "$2" "${4:-state}")" = "$3" ]; }

export GODWIT_FORGE_TOKEN=$TOKEN
ctl_start C --git "file://$R" --branch main --path m --interval 1s --state-dir "$S" \
	--commit-status "$F/repos/acme/specs" --status-url-base https://ops.example.com/godwit/
wait_for "success on the commit of a" 60 status_is "$c1" godwit/a success
wait_for "failure on the commit of b" 30 status_is "$c2" godwit/b failure
forge_get "$F" /_emu/statuses | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = [s for s in d[sys.argv[1]] if s["context"] == "godwit/a"]
assert a[0]["state"] == "pending", a
assert a[-1]["state"] == "success" and a[-1]["description"].startswith("Completed"), a[-1]
assert all(s["target_url"] == "https://ops.example.com/godwit/a" for s in a), a
b = [s for s in d[sys.argv[2]] if s["context"] == "godwit/b"]
assert b[-1]["description"].startswith("Invalid: "), b
assert "b.yaml:4:" in b[-1]["description"] and len(b[-1]["description"]) <= 140, b
assert not [s for s in d.get(sys.argv[2], []) if s["context"] == "godwit/a"], "a did not change in c2"
' "$c1" "$c2" || fail "the statuses of a and b"
forge_get "$F" /_emu/requests | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    assert r["credential"] and r["token_ok"], r
    assert r["user_agent"].startswith("godwit/"), r
    assert r["path"].startswith("/repos/acme/specs/statuses/"), r
' || fail "every request carried the token, to the path of the API"

# A forge that hangs holds up no migration.
forge_ctl "$F" /_emu/delay '{"seconds": 8}'
write_spec "$R/m/c.yaml" c schema "      renameTo: shop_c"
c3=$(commit "add c")
wait_for "c completes while the forge hangs" 30 phase_is "$S" c Completed
[ -z "$(last_status "$c3" godwit/c)" ] || fail "a status of c was accepted before the hang ended: not a test of blocking"
forge_ctl "$F" /_emu/delay '{"seconds": 0}'
wait_for "c's statuses arrive after the hang" 60 status_is "$c3" godwit/c success

# 502s are retried.
forge_ctl "$F" /_emu/fail '{"count": 2, "status": 502}'
write_spec "$R/m/a.yaml" a schema "      renameTo: shop_a
  parallelism: 2"
c4=$(commit "a: parallelism 2")
wait_for "success on the new commit of a, after two 502s" 60 status_is "$c4" godwit/a success
[ "$(forge_get "$F" /_emu/requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"] == 502))')" = 2 ] ||
	fail "the 502s were answered"

# A redirect is not followed: the token never goes to another host.
forge_ctl "$F" /_emu/redirect "{\"location\": \"$G\"}"
write_spec "$R/m/b.yaml" b schema "      renameTo: shop_b"
c5=$(commit "b: fixed")
wait_for "the redirect is reported" 60 grep -q "a redirect, not followed" "$GW_TMP/controller-C.log"
[ "$(forge_get "$G" /_emu/requests)" = "[]" ] || fail "a request reached the host the forge redirected to"
kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
forge_ctl "$F" /_emu/redirect '{"location": ""}'

# A refused token is said, not shown.
set +e
GODWIT_FORGE_TOKEN=wrong-$TOKEN timeout 120 "$GODWIT" controller --git "file://$R" --branch main --path m --once \
	--state-dir "$GW_TMP/state-wrong" --commit-status "$F/repos/acme/specs" >"$GW_TMP/wrong.log" 2>&1
set -e
assert_contains "$(cat "$GW_TMP/wrong.log")" "HTTP 401: the forge refused the token in GODWIT_FORGE_TOKEN" "a refused token"

# Gitea's path (/api/v1) and GitLab's API.
set +e
timeout 120 "$GODWIT" controller --git "file://$R" --branch main --path m --once --state-dir "$GW_TMP/state-gitea" \
	--commit-status "$F/api/v1/repos/acme/specs" >"$GW_TMP/gitea.log" 2>&1
timeout 120 "$GODWIT" controller --git "file://$R" --branch main --path m --once --state-dir "$GW_TMP/state-gitlab" \
	--commit-status "$F/api/v4/projects/42" >"$GW_TMP/gitlab.log" 2>&1
set -e
forge_get "$F" /_emu/statuses | python3 -c '
import json, sys
d = json.load(sys.stdin)
gitea = [s for s in d[sys.argv[1]] if s.get("_flavor") == "gitea" and s["context"] == "godwit/c"]
assert gitea and gitea[-1]["state"] == "success", gitea
lab = [s for s in d[sys.argv[1]] if s.get("_project") == "42" and s["name"] == "godwit/c"]
assert lab and lab[-1]["status"] == "success", lab
' "$c3" || fail "Gitea and GitLab statuses"

# The token appears in no log and no state file.
for f in "$GW_TMP"/controller-C.log "$GW_TMP"/*.log; do
	assert_not_contains "$(cat "$f")" "$TOKEN" "the token in $(basename "$f")"
done
! grep -rqF "$TOKEN" "$S" "$GW_TMP"/state-* || fail "the token in a state file"

# URLs that would expose the token are refused at start.
for url in "http://forge.example.com/repos/a/b" "https://user:pw@forge.example.com/repos/a/b" \
	"https://forge.example.com/a/b"; do
	set +e
	out=$("$GODWIT" controller --git "file://$R" --once --state-dir "$GW_TMP/state-x" --commit-status "$url" 2>&1)
	rc=$?
	set -e
	assert_eq 2 "$rc" "--commit-status $url"
	assert_contains "$out" "--commit-status" "the flag is named"
done
set +e
out=$(GODWIT_FORGE_TOKEN= "$GODWIT" controller --git "file://$R" --once --state-dir "$GW_TMP/state-x" \
	--commit-status "$F/repos/acme/specs" 2>&1)
set -e
assert_contains "$out" "GODWIT_FORGE_TOKEN" "no token"
echo ok
