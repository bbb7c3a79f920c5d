# `godwit plan --git-range BASE..HEAD`: what merging a pull request does,
# from a real git repository with a branch: a cutover with its stop
# settings and irreversible steps, a new migration and its steps, a
# deletion (a stop, data kept), a pause, a settings change; invalid specs
# (without echoing an inline password), a conflict with a spec already on
# the base branch, a name used twice: exit 1; a SpecImmutable change: a
# warning without --state-dir, an error once the state directory says data
# moved; markdown and JSON, byte-identical run to run; a range that cannot
# be read: exit 2. Connects to nothing (the ports are closed). The sample
# workflow is valid YAML and runs this command.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

src_PORT=1
dst_PORT=2
R=$GW_TMP/repo
git init -q -b main "$R"
g() { git -C "$R" -c user.name=Ada -c user.email=ada@example.com "$@"; }
mkdir -p "$R/migrations" "$R/docs"
write_spec "$R/migrations/shop.yaml" shop "schema, full, incremental"
write_spec "$R/migrations/old.yaml" old "schema, full" "      renameTo: old_b"
write_spec "$R/migrations/keep.yaml" keep "full" "      renameTo: keep_b"
write_spec "$R/migrations/idle.yaml" idle "schema" "      renameTo: idle_b"
echo "not a spec" >"$R/docs/README.md"
g add -A
g commit -qm base

plan() { (cd "$R" && "$GODWIT" plan "$@"); }
run() {
	set +e
	OUT=$(plan "$@" 2>"$GW_TMP/err")
	RC=$?
	set -e
	ERR=$(cat "$GW_TMP/err")
}

# --- a clean pull request --------------------------------------------
g checkout -qb cutover
write_spec "$R/migrations/shop.yaml" shop "schema, full, incremental" "  state: stopped
  stop: {maxDelay: 5s, freezeSource: true}"
g rm -q migrations/old.yaml
write_spec "$R/migrations/orders.yaml" orders "schema, full" "      renameTo: orders_b"
write_spec "$R/migrations/keep.yaml" keep "full" "      renameTo: keep_b
  parallelism: 8"
write_spec "$R/migrations/idle.yaml" idle "schema" "      renameTo: idle_b
  state: paused"
g add -A
g commit -qm "cut shop over, drop old, add orders"
# a change on main after the branch point, outside the range
g checkout -q main
echo "more" >>"$R/docs/README.md"
g commit -qam "docs"
g checkout -q cutover

run --git-range main..cutover --path migrations
echo "$OUT"
assert_eq 0 "$RC" "a clean plan exits 0 ($ERR)"
assert_contains "$OUT" "<!-- godwit-plan -->" "the marker the CI comment is found by"
assert_contains "$OUT" "5 spec changes, 2 irreversible steps, no errors." "the summary"
assert_contains "$OUT" "| shop | \`shop.yaml\` | changed | CUTOVER (irreversible) |" "the cutover row"
sec=$(echo "$OUT" | sed -n '/^### `shop`/,/^### /p')
assert_contains "$sec" "\`state\`: running -> **stopped** (cutover: stop.maxDelay 5s, freezeSource true, force false)" "stop settings"
assert_contains "$(echo "$sec" | grep '| 1 | incremental |')" "SOURCE read_only" "freezeSource said"
assert_contains "$(echo "$sec" | grep '| 1 | incremental |')" "**IRREVERSIBLE**" "the freeze is marked"
assert_contains "$(echo "$sec" | grep '| 2 | schema-cutover |')" "**IRREVERSIBLE**" "the cutover is marked"
sec=$(echo "$OUT" | sed -n '/^### `orders`/,/^### /p')
assert_contains "$sec" "new migration: schema,full from 127.0.0.1:1 to 127.0.0.1:2: shop as orders_b" "what the new one moves"
assert_contains "$sec" "| 1 | precheck |" "its first step"
assert_contains "$sec" "| 3 | full |" "its copy"
sec=$(echo "$OUT" | sed -n '/^### `old`/,/^### /p')
assert_contains "$sec" "stops at once" "a deletion stops"
assert_contains "$sec" "data is kept" "and keeps data"
sec=$(echo "$OUT" | sed -n '/^### `keep`/,/^### /p')
assert_contains "$sec" "\`parallelism\`: 4 -> 8" "a setting change"
assert_contains "$sec" "the precheck runs again" "what a setting change does"
assert_contains "$(echo "$OUT" | sed -n '/^### `idle`/,/^### /p')" "pause: the running action checkpoints" "a pause"
assert_not_contains "$OUT" "README" "only specs"
assert_not_contains "$OUT" "$GW_PASSWORD" "no secret"
# deterministic, and the same from a two-dot or three-dot range
plan --git-range main..cutover --path migrations >"$GW_TMP/p2" || true
assert_eq "$OUT" "$(cat "$GW_TMP/p2")" "the plan is the same run to run"
run --git-range main...cutover --path migrations --format json
assert_eq 0 "$RC" "json: exit 0 ($ERR)"
echo "$OUT" | python3 -c '
import json, sys
p = json.load(sys.stdin)
assert p["errors"] == 0 and p["irreversible"] == 2, p
ch = {c["name"]: c for c in p["changes"]}
assert sorted(ch) == ["idle", "keep", "old", "orders", "shop"], sorted(ch)
s = ch["shop"]
assert s["change"] == "changed" and s["stateBefore"] == "running" and s["stateAfter"] == "stopped", s
assert [(x["action"], x["irreversible"]) for x in s["steps"]] == [("incremental", True), ("schema-cutover", True)], s["steps"]
assert ch["old"]["change"] == "deleted" and ch["orders"]["change"] == "added", ch
assert ch["orders"]["steps"][0]["action"] == "precheck", ch["orders"]
' || fail "the JSON plan"

# where the migrations stand: shop streams, with the spec of main
S=$GW_TMP/state
mkdir -p "$S/tasks/shop"
hash=$(plan --git-range main..cutover --path migrations --format json | python3 -c 'import json,sys; print([c for c in json.load(sys.stdin)["changes"] if c["name"]=="shop"][0]["specHash"])')
echo Incremental >"$S/tasks/shop/phase"
printf 'phase: Incremental\nstage: post_full_done\n' >"$S/tasks/shop/status.yaml"
printf 'phase=Incremental\nprecheck_hash=%s\nwhitelist_hash=%s\n' "$hash" "$hash" >"$S/tasks/shop/record"
run --git-range main..cutover --path migrations --state-dir "$S"
assert_contains "$(echo "$OUT" | sed -n '/^### `shop`/,/^### /p')" "now: Incremental, stage post_full_done" "where it stands"

# --- a pull request with errors --------------------------------------
g checkout -q -b broken main
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: bad}\nspec:\n  source: {host: h, user: u, password: hunter2-inline}\n' >"$R/migrations/bad.yaml"
write_spec "$R/migrations/clash.yaml" clash "schema, full" "      renameTo: keep_b"
write_spec "$R/migrations/twice.yaml" idle "schema" "      renameTo: other_b"
g add -A
g commit -qm "broken"
run --git-range main..broken --path migrations
echo "$OUT"
assert_eq 1 "$RC" "a plan with errors exits 1 ($ERR)"
assert_contains "$OUT" "**3 errors**" "three errors"
assert_contains "$OUT" "### ERROR \`bad.yaml\` (invalid)" "the invalid file"
assert_contains "$OUT" "bad.yaml:5:" "with its line"
assert_not_contains "$OUT" "hunter2" "an inline password is not echoed"
assert_contains "$OUT" "Conflict: clash and keep both write" "the conflict with a spec on main"
assert_contains "$OUT" "merged, clash is refused" "the new one is refused"
assert_contains "$OUT" "metadata.name 'idle' is used by idle.yaml and twice.yaml: the controller acts on idle.yaml and refuses twice.yaml" "a name used twice"
assert_not_contains "$(echo "$OUT" | grep '^| keep ')" "keep" "the spec already there is not in the plan"

# --- SpecImmutable -----------------------------------------------------
g checkout -q -b retarget main
write_spec "$R/migrations/shop.yaml" shop "schema, full, incremental" "    - database: more"
g commit -qam "shop: one more database"
run --git-range main..retarget --path migrations
assert_eq 0 "$RC" "without the state: a warning only"
assert_contains "$OUT" "\`objects\`: shop -> shop; more" "what changes"
assert_contains "$OUT" "warning: if data has moved" "the warning"
run --git-range main..retarget --path migrations --state-dir "$S"
assert_eq 1 "$RC" "data moved: refused"
assert_contains "$OUT" "**ERROR**: SpecImmutable: data has moved (stage post_full_done)" "the refusal"
mkdir -p "$GW_TMP/fresh"
run --git-range main..retarget --path migrations --state-dir "$GW_TMP/fresh"
assert_eq 0 "$RC" "nothing moved: applies"
assert_contains "$OUT" "no data has moved yet" "it applies"

# --- nothing, and bad ranges ------------------------------------------
run --git-range main..main --path migrations
assert_eq 0 "$RC" "an empty range"
assert_contains "$OUT" "No spec changes" "an empty range says so"
run --git-range main..nosuch
assert_eq 2 "$RC" "an unknown ref"
assert_contains "$ERR" "nosuch" "the ref is named"
run --git-range main
assert_eq 2 "$RC" "not a range"
run --git-range main..cutover --format yaml
assert_eq 2 "$RC" "an unknown format"
set +e
(cd "$GW_TMP" && "$GODWIT" plan --git-range a..b) >/dev/null 2>&1
rc=$?
set -e
assert_eq 2 "$rc" "outside a repository"

# --- the sample workflow -------------------------------------------------
W=$GW_ROOT/samples/.github/workflows/godwit-plan.yml
python3 - "$W" <<'PY' || fail "the sample workflow"
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
steps = w["jobs"]["plan"]["steps"]
run = "\n".join(s.get("run", "") for s in steps)
assert "godwit plan --git-range" in run and "--format markdown" in run, run
assert w["permissions"]["pull-requests"] == "write", w["permissions"]
assert "pull_request_target" not in w[True], w[True]
assert any(s.get("if") == "steps.plan.outputs.exit == '1'" for s in steps), steps
PY
echo ok
