# The git source against a real remote (a bare repository pushed to with
# the git CLI): commits by different authors, the revision of each spec
# (file, sha256, last commit that changed it, author, time) in status.yaml
# and audit.jsonl, SIGHUP fetching at once (the interval is 10 minutes),
# a force-pushed branch, a deleted spec attributed to the deleting commit,
# --path (a spec outside the folder is not read), and a commit that
# leaves no spec at all (refused: nothing is stopped).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require git
for db in ga gb; do
	mdb_q src "CREATE DATABASE $db; CREATE TABLE $db.t (id INT PRIMARY KEY); INSERT INTO $db.t VALUES (1)"
done
ORIGIN=$GW_TMP/origin.git
W=$GW_TMP/work
S=$GW_TMP/state
git init -q --bare -b main "$ORIGIN"
git init -q -b main "$W"
git -C "$W" remote add origin "file://$ORIGIN"
mkdir -p "$W/migrations"

spec() {
	write_spec "$W/$1.w" "$2" "schema" "${4:-}"
	sed -i "s/- database: shop/- database: $3/" "$W/$1.w"
	mv "$W/$1.w" "$W/$1"
}
# commit AUTHOR MESSAGE: commits everything as AUTHOR, prints the commit
commit() {
	git -C "$W" add -A
	GIT_AUTHOR_NAME="$1" GIT_AUTHOR_EMAIL="$(echo "$1" | tr 'A-Z ' 'a-z.')@example.com" \
		GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
		git -C "$W" commit -qm "$2"
	git -C "$W" rev-parse HEAD
}
# field NAME KEY: a key of specRevision in the status of NAME
field() {
	sed -n '/^specRevision:/,/^[a-zA-Z]/p' "$S/tasks/$1/status.yaml" 2>/dev/null |
		sed -n "s/^  $2: //p" | tr -d '"'
}
rev_commit_is() { [ "$(field "$1" commit)" = "$2" ]; }

spec migrations/a.yaml git-a ga
spec outside.yaml git-outside ga
c1=$(commit "Ada Lovelace" "add git-a")
spec migrations/b.yaml git-b gb
c2=$(commit "Bob Builder" "add git-b")
spec migrations/a.yaml git-a ga "  retryWindow: 3h"
c3=$(commit "Carol Editor" "git-a: retry longer")
git -C "$W" push -q origin main

ctl_start C --git "file://$ORIGIN" --branch main --path migrations --interval 10m --state-dir "$S"
wait_for "git-a Completed" 90 phase_is "$S" git-a Completed
wait_for "git-b Completed" 90 phase_is "$S" git-b Completed

# each spec names the last commit that changed it, its author and time
assert_eq "$c3" "$(field git-a commit)" "git-a: the last commit that changed a.yaml"
assert_contains "$(field git-a author)" "Carol Editor <carol.editor@example.com>" "git-a: its author"
assert_eq "$(git -C "$W" show "$c3:migrations/a.yaml" | sha256sum | cut -d' ' -f1)" "$(field git-a sha256)" "git-a: sha256"
assert_eq "a.yaml" "$(field git-a file)" "git-a: file relative to --path"
assert_eq "$(TZ=UTC git -C "$W" log -1 --format=%ad --date=format-local:%Y-%m-%dT%H:%M:%SZ "$c3")" \
	"$(field git-a time)" "git-a: commit time"
assert_eq "$c2" "$(field git-b commit)" "git-b: not the newest commit, the one that changed b.yaml"
assert_contains "$(field git-b author)" "Bob Builder" "git-b: its author"
grep -q "lastAppliedRevision: \"$c2\"" "$S/tasks/git-b/status.yaml" || fail "lastAppliedRevision: the commit of the spec acted on"
[ ! -e "$S/tasks/git-outside" ] || fail "--path: a spec outside the folder was read"
python3 - "$S/audit.jsonl" "$c2" "$c3" <<'PY' || fail "audit lines name the commit and author of their spec"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
want = {"git-a": (sys.argv[3], "Carol Editor"), "git-b": (sys.argv[2], "Bob Builder")}
assert {d["task"] for d in lines} == set(want), lines
for d in lines:
    r = d["revision"]
    assert (r["commit"], r["author"].split(" <")[0]) == want[d["task"]], d
    assert len(r["sha256"]) == 64 and r["commitTime"].endswith("Z"), d
PY

# SIGHUP fetches now: the interval (10 minutes) cannot explain the reaction
spec migrations/b.yaml git-b gb "  retryWindow: 5h"
c4=$(commit "Dave Hup" "git-b: retry longer")
git -C "$W" push -q origin main
kill -HUP "$C"
wait_for "SIGHUP fetched git-b's new commit" 15 rev_commit_is git-b "$c4"
assert_contains "$(field git-b author)" "Dave Hup" "git-b: the new author"

# force push: history rewritten from c2, c3 and c4 gone from the branch
git -C "$W" reset -q --hard "$c2"
spec migrations/a.yaml git-a ga "  retryWindow: 7h"
c5=$(commit "Eve Rewriter" "git-a: rewritten")
git -C "$W" push -q -f origin main
kill -HUP "$C"
wait_for "the rewritten tip is followed" 15 rev_commit_is git-a "$c5"
assert_contains "$(field git-a author)" "Eve Rewriter" "git-a after the force push"
wait_for "git-b is attributed to the commit still in history" 15 rev_commit_is git-b "$c2"
assert_contains "$(field git-b author)" "Bob Builder" "git-b after the force push"
grep -q "lastAppliedRevision: \"$c5\"" "$S/tasks/git-a/status.yaml" || fail "git-a: lastAppliedRevision after the force push"

# a deleted spec: stopped, attributed to the commit that deleted it
git -C "$W" rm -q migrations/b.yaml
c6=$(commit "Frank Remover" "remove git-b")
git -C "$W" push -q origin main
kill -HUP "$C"
wait_for "git-b stopped by its deletion" 20 phase_is "$S" git-b Stopped
assert_contains "$(cat "$S/tasks/git-b/message")" "spec deleted" "the deletion is said"
grep -q "lastAttemptedRevision: \"$c6\"" "$S/tasks/git-b/status.yaml" || fail "status: the deletion's commit"
python3 - "$S/audit.jsonl" "$c6" <<'PY' || fail "the audit names the deleting commit and its author"
import json, sys
dels = [d for d in map(json.loads, open(sys.argv[1])) if d["action"] == "delete"]
assert len(dels) == 1, dels
r = dels[0]["revision"]
assert dels[0]["task"] == "git-b" and r["commit"] == sys.argv[2], dels
assert r["author"].startswith("Frank Remover") and r["file"] == "b.yaml", dels
PY
assert_eq 1 "$(mdb_q dst "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'gb'")" "the destination keeps git-b's table"
phase_is "$S" git-a Completed || fail "git-a disturbed"

# a commit that leaves no spec at all under --path is not believed
git -C "$W" rm -q migrations/a.yaml
c7=$(commit "Mallory Emptier" "remove everything")
git -C "$W" push -q origin main
kill -HUP "$C"
wait_for "the empty commit is refused" 20 grep -q "lists no spec at all" "$GW_TMP/controller-C.log"
phase_is "$S" git-a Completed || fail "git-a stopped by a commit that lists nothing"
! grep -q '"task":"git-a","action":"delete"' "$S/audit.jsonl" || fail "git-a deleted by an empty commit"

kill -TERM "$C"
wait "$C" || fail "controller exit status $?"
echo ok
