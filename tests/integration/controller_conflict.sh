#!/usr/bin/env bash
# Two specs that write the same destination objects: the later declared
# one is refused (condition Conflict naming the other), writes nothing on
# the destination, and goes on once the conflict is gone; `godwit
# validate` reports it; --once exits 1 while it lasts.
#  - --dir: declared order is the file name; a newcomer with an earlier
#    name does not displace a migration whose data already moved.
#  - --git: declared order is when the file came to the branch, not the
#    file name, nor the last edit.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE a; CREATE TABLE a.t (id INT PRIMARY KEY, who CHAR(1)); INSERT INTO a.t VALUES (1, 'a'), (2, 'a')"
mdb_q src "CREATE DATABASE b; CREATE TABLE b.t (id INT PRIMARY KEY, who CHAR(1)); INSERT INTO b.t VALUES (1, 'b'), (3, 'b')"

# tenant FILE NAME DB TARGET [TYPES]: database DB into database TARGET
tenant() {
	write_spec "$1" "$2" "${5:-schema, full, incremental}" "      renameTo: $4"
	sed -i "s/- database: shop/- database: $3/" "$1"
}
cond() { # STATE_DIR NAME TYPE: "status reason" of a condition
	sed -n "/- type: $3\$/,/lastTransitionTime/p" "$1/tasks/$2/status.yaml" |
		sed -n 's/^    status: "\(.*\)"/\1/p; s/^    reason: "\?\([A-Za-z]*\)"\?/\1/p' | paste -sd' '
}
conflicted() { [ "$(cond "$1" "$2" Conflict)" = "True Conflict" ]; }

D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
tenant "$D/a.yaml" tenant-a a prod
tenant "$D/b.yaml" tenant-b b prod

# validate: the later file is refused, naming the other and the object
set +e
out=$("$GODWIT" validate "$D" 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "validate exits 1 on a conflict"
assert_contains "$out" "$D/a.yaml: ok" "the first spec is fine"
assert_contains "$out" "$D/b.yaml: conflicts with $D/a.yaml (declared first): tenant-a and tenant-b both write the whole database prod on 127.0.0.1:$dst_PORT" "the conflict named"
"$GODWIT" validate "$D/a.yaml" >/dev/null || fail "a alone validates"

set +e
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-once.log" 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "--once exits 1 while a conflict lasts"
phase_is "$S" tenant-a Incremental || fail "tenant-a runs: $(cat "$S/tasks/tenant-a/phase")"
conflicted "$S" tenant-b || fail "tenant-b: Conflict: $(cond "$S" tenant-b Conflict)"
assert_eq "False None" "$(cond "$S" tenant-a Conflict)" "tenant-a has no conflict"
m=$(cat "$S/tasks/tenant-b/message")
assert_contains "$m" "conflict with tenant-a (a.yaml, declared first)" "the message names the other"
assert_contains "$m" "both write the whole database prod" "and the object"
assert_eq "Pending" "$(cat "$S/tasks/tenant-b/phase")" "tenant-b did not start"
assert_eq "1 a,2 a" "$(mdb_q dst 'SELECT id, who FROM prod.t ORDER BY id' | tr '\t\n' ' ,' | sed 's/,$//')" "only tenant-a's rows"
assert_eq 0 "$(grep -c '"task":"tenant-b"' "$S/audit.jsonl" || true)" "tenant-b did nothing"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.task_stage WHERE task = 'tenant-b'")" "tenant-b recorded nothing"
"$GODWIT" status --state-dir "$S" | grep '^tenant-b ' | grep -q "refused: conflict with tenant-a" ||
	fail "godwit status shows the refusal"

# long-running: a newcomer named earlier does not displace tenant-a,
# whose data moved; fixing tenant-b lets it go on
ctl_start C --dir "$D" --state-dir "$S"
wait_for "tenant-a streams" 30 phase_is "$S" tenant-a Incremental
tenant "$D/0-first.yaml" first b prod "schema, full"
# until the destinations were read both wait (Conflict too): then the
# newcomer is refused, naming the one that moved data
refused_by_a() { conflicted "$S" first && grep -q "conflict with tenant-a" "$S/tasks/first/message"; }
wait_for "the newcomer is refused, naming the one that moved data" 30 refused_by_a
phase_is "$S" tenant-a Incremental || fail "tenant-a goes on"
rm "$D/0-first.yaml"
tenant "$D/b.yaml" tenant-b b prod_b
wait_for "tenant-b goes on once the conflict is gone" 60 phase_is "$S" tenant-b Incremental
assert_eq "False None" "$(cond "$S" tenant-b Conflict)" "the condition cleared"
assert_eq "1 b,3 b" "$(mdb_q dst 'SELECT id, who FROM prod_b.t ORDER BY id' | tr '\t\n' ' ,' | sed 's/,$//')" "tenant-b's rows, in its own database"
assert_eq "1 a,2 a" "$(mdb_q dst 'SELECT id, who FROM prod.t ORDER BY id' | tr '\t\n' ' ,' | sed 's/,$//')" "tenant-a's rows untouched"
kill -TERM "$C"
wait "$C" || true

# --git: z.yaml came first, y.yaml later (then z was edited): y is refused
ORIGIN=$GW_TMP/origin.git
W=$GW_TMP/work
S=$GW_TMP/state-git
git init -q --bare -b main "$ORIGIN"
git init -q -b main "$W"
git -C "$W" remote add origin "file://$ORIGIN"
commit() { # DATE MESSAGE
	git -C "$W" add -A
	GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" GIT_AUTHOR_NAME=ada GIT_AUTHOR_EMAIL=a@example.com \
		GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com git -C "$W" commit -qm "$2"
}
tenant "$W/z.yaml" tenant-z a gitprod "schema, full"
commit "2026-01-01T10:00:00Z" "tenant-z"
tenant "$W/y.yaml" tenant-y b gitprod "schema, full"
commit "2026-01-02T10:00:00Z" "tenant-y"
tenant "$W/z.yaml" tenant-z a gitprod "schema, full"
echo "  retryWindow: 2h" >>"$W/z.yaml"
commit "2026-01-03T10:00:00Z" "tenant-z: edited"
git -C "$W" push -q origin main
set +e
timeout 120 "$GODWIT" controller --git "file://$ORIGIN" --state-dir "$S" --once >"$GW_TMP/controller-git.log" 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "--git --once exits 1 on the conflict"
phase_is "$S" tenant-z Completed || fail "tenant-z (declared first) completes: $(cat "$S/tasks/tenant-z/phase")"
conflicted "$S" tenant-y || fail "tenant-y (declared later, earlier file name) is refused"
assert_eq "1 a,2 a" "$(mdb_q dst 'SELECT id, who FROM gitprod.t ORDER BY id' | tr '\t\n' ' ,' | sed 's/,$//')" "only tenant-z's rows"
echo ok
