# The controller following a git branch: every action names the commit and
# author of the spec it came from; a spec deleted in a commit is attributed
# to that commit; plan reads the same files.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require git
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"
R=$GW_TMP/repo
S=$GW_TMP/state
git init -q -b main "$R"
mkdir -p "$R/migrations"
write_spec "$R/migrations/a.yaml" git-a "schema, full"
git -C "$R" add -A
GIT_AUTHOR_NAME="Ada Author" GIT_AUTHOR_EMAIL=ada@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
	git -C "$R" commit -qm "add git-a"
c1=$(git -C "$R" rev-parse HEAD)
echo "# not a spec" >"$R/README.md"
GIT_AUTHOR_NAME="Bob Other" GIT_AUTHOR_EMAIL=bob@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
	git -C "$R" add -A
GIT_AUTHOR_NAME="Bob Other" GIT_AUTHOR_EMAIL=bob@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
	git -C "$R" commit -qm "readme"

ctl_start C --git "file://$R" --branch main --path migrations --interval 1s --state-dir "$S"
wait_for "git-a acted on" 60 test -s "$S/audit.jsonl"
python3 - "$S/audit.jsonl" "$c1" <<'PY' || fail "audit lines name the commit and author that last changed the spec"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines
for d in lines:
    r = d["revision"]
    assert r["commit"] == sys.argv[2], r
    assert r["author"].startswith("Ada Author"), r
PY
grep -q "lastAppliedRevision: \"$(git -C "$R" rev-parse HEAD)\"\|lastAppliedRevision: \"$c1\"" "$S/tasks/git-a/status.yaml" ||
	fail "lastAppliedRevision is a commit"

write_spec "$R/migrations/keep.yaml" git-keep "schema"
git -C "$R" rm -q migrations/a.yaml
git -C "$R" add -A
GIT_AUTHOR_NAME="Carol Remover" GIT_AUTHOR_EMAIL=carol@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
	git -C "$R" commit -qm "remove git-a"
c3=$(git -C "$R" rev-parse HEAD)
wait_for "the deletion is seen" 60 grep -q "spec deleted" "$S/tasks/git-a/message"
grep -q "lastAttemptedRevision: \"$c3\"" "$S/tasks/git-a/status.yaml" || fail "the deletion is attributed to its commit"
kill -TERM "$C"
wait "$C" || fail "controller exit status $?"

# --once on git: waits for the first fetch, then acts and exits.
set +e
timeout 120 "$GODWIT" controller --git "file://$R" --path migrations --once --state-dir "$GW_TMP/once" \
	>"$GW_TMP/controller-once.log" 2>&1
rc=$?
set -e
case $rc in 0 | 1) ;; *) fail "--once on git: exit $rc" ;; esac
test -f "$GW_TMP/once/tasks/git-keep/phase" || fail "--once on git acted on the specs of the fetched commit"
set +e
timeout 60 "$GODWIT" controller --git "file://$GW_TMP/nosuch" --once --state-dir "$GW_TMP/once2" 2>"$GW_TMP/err"
rc=$?
set -e
assert_eq 2 "$rc" "--once with a repository that cannot be fetched"
assert_contains "$(cat "$GW_TMP/err")" "nosuch" "the error names the repository"
echo ok
