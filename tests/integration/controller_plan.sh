# `godwit plan`: deterministic text for a pull request, --json, where each
# migration stands from the state directory, irreversible steps marked,
# SpecImmutable shown; read-only and connecting to nothing.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

# No servers: plan must not connect anywhere (these ports are closed).
src_PORT=1
dst_PORT=2
D=$GW_TMP/specs
S=$GW_TMP/state
mkdir -p "$D"
write_spec "$D/b.yaml" plan-b "schema, full, incremental" "  state: stopped
  stop: {maxDelay: 5s, freezeSource: true}"
write_spec "$D/a.yaml" plan-a "full" "  throttle: {rowsPerSecond: 100, bytesPerSecond: 50MiB}"
"$GODWIT" validate "$D" >/dev/null 2>&1 || { echo "SKIP: the spec loader is not there yet"; exit 0; }

p1=$("$GODWIT" plan "$D" --state-dir "$S")
p2=$("$GODWIT" plan "$D/" --state-dir "$S")
p3=$("$GODWIT" plan "$D/b.yaml" "$D/a.yaml" --state-dir "$S")
assert_eq "$p1" "$p2" "plan is stable"
echo "$p1"
[ "$(echo "$p1" | grep -c '^migration ')" = 2 ] || fail "two migrations"
[ "$(echo "$p1" | grep '^migration ' | head -1 | cut -d' ' -f2)" = plan-a ] || fail "files in sorted order"
assert_contains "$p3" "migration plan-b" "files in the order given"
assert_contains "$p1" "throttle 100 rows/s, 50MiB/s" "throttle shown"
assert_contains "$p1" "now:             new (nothing done yet), stage none" "new migration"
# plan-b asks for stopped before anything moved: nothing to do
assert_contains "$(echo "$p1" | sed -n '/migration plan-b/,$p')" "next:            nothing" "stopped before any data moved"
[ ! -e "$S" ] || fail "plan wrote into the state directory"
case "$p1" in *"$GW_PASSWORD"*) fail "a secret in the plan" ;; esac

# Byte-identical whatever order the directory lists its files in (on
# tmpfs readdir follows creation order; ext4 lists by name hash).
E=$GW_TMP/order
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	E=$(mktemp -d /dev/shm/godwit-plan.XXXXXX)
	trap 'rc=$?; rm -rf "$E"; (exit $rc); ctl_cleanup && gw_cleanup || gw_cleanup' EXIT
fi
for order in "a b c" "c b a" "b c a"; do
	rm -rf "$E"/*.yaml
	mkdir -p "$E"
	for f in $order; do
		case $f in
		a) cp "$D/a.yaml" "$E/a.yaml" ;;
		b) cp "$D/b.yaml" "$E/b.yaml" ;;
		c) write_spec "$E/c.yaml" plan-c "schema" ;;
		esac
	done
	echo "# listed: $(ls -U "$E" | tr '\n' ' ')"
	"$GODWIT" plan "$E" --state-dir "$S" >"$GW_TMP/plan.$(echo "$order" | tr -d ' ')"
	"$GODWIT" plan "$E" --state-dir "$S" --json >"$GW_TMP/plan.$(echo "$order" | tr -d ' ').json"
done
cmp "$GW_TMP/plan.abc" "$GW_TMP/plan.cba" || fail "plan text depends on the directory order"
cmp "$GW_TMP/plan.abc" "$GW_TMP/plan.bca" || fail "plan text depends on the directory order"
cmp "$GW_TMP/plan.abc.json" "$GW_TMP/plan.cba.json" || fail "plan --json depends on the directory order"
assert_eq "plan-a plan-b plan-c" "$(grep '^migration ' "$GW_TMP/plan.cba" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')" "sorted by file"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$GW_TMP/plan.abc.json" || fail "--json is JSON"

hash=$("$GODWIT" plan "$D/b.yaml" --state-dir "$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["migrations"][0]["specHash"])')
[ ${#hash} = 64 ] || fail "spec hash in --json"

# Where plan-b stands: full copy done, precheck passed for this spec.
mkdir -p "$S/tasks/plan-b"
echo MigratingFull >"$S/tasks/plan-b/phase"
printf 'phase: MigratingFull\nstage: full_done\n' >"$S/tasks/plan-b/status.yaml"
printf 'phase=MigratingFull\nprecheck_hash=%s\nwhitelist_hash=%s\n' "$hash" "$hash" >"$S/tasks/plan-b/record"
pb=$("$GODWIT" plan "$D/b.yaml" --state-dir "$S")
echo "$pb"
assert_contains "$pb" "now:             MigratingFull, stage full_done" "where it stands"
assert_contains "$pb" "1. schema-after-full" "first the foreign keys"
assert_contains "$pb" "2. incremental" "then the gated stop"
assert_contains "$(echo "$pb" | grep '2. incremental')" "SOURCE read_only" "freezeSource said"
assert_contains "$(echo "$pb" | grep '2. incremental')" "[IRREVERSIBLE]" "the freeze is marked"
assert_contains "$(echo "$pb" | grep '3. schema-cutover')" "[IRREVERSIBLE]" "cutover is marked"
"$GODWIT" plan "$D/b.yaml" --state-dir "$S" --json | python3 -c '
import json, sys
m = json.load(sys.stdin)["migrations"][0]
acts = [(a["action"], a["irreversible"]) for a in m["actions"]]
assert acts == [("schema-after-full", False), ("incremental", True), ("schema-cutover", True)], acts
assert m["stage"] == "full_done" and m["phase"] == "MigratingFull", m
' || fail "plan --json of a migration under way"

# The controller kept the spec it acted on; the file now changes objects.
cp "$D/b.yaml" "$S/tasks/plan-b/spec.yaml"
write_spec "$D/b.yaml" plan-b "schema, full, incremental" "    - database: other"
pi=$("$GODWIT" plan "$D/b.yaml" --state-dir "$S")
assert_contains "$pi" "refused:         SpecImmutable" "immutable change refused"
assert_contains "$pi" "next:            nothing" "nothing planned for a refused spec"

printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata: {name: broken}\nspec: {sorce: 1}\n' >"$D/c.yaml"
set +e
out=$("$GODWIT" plan "$D" --state-dir "$S" 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "an invalid spec makes plan exit 1"
assert_contains "$out" "c.yaml: invalid spec" "the invalid file is named"
assert_contains "$out" "c.yaml:4:" "with the line"
echo ok
