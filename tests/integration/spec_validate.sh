# `godwit validate PATH...` (files, directories walked for *.yaml and *.yml,
# FILE: ok or FILE:LINE:COL errors, exit 0/1/2) and the command line of
# PRODUCT.md section 3: --help, COMMAND --help, --version, and one-line
# errors with exit 2 for unknown commands and flags.
. "$(dirname "$0")/../lib/harness.sh"

# run CMD...: sets OUT, ERR and RC.
run() {
	RC=0
	"$@" >"$GW_TMP/out" 2>"$GW_TMP/err" || RC=$?
	OUT=$(cat "$GW_TMP/out")
	ERR=$(cat "$GW_TMP/err")
}

lines() { [ -z "$1" ] && echo 0 || printf '%s\n' "$1" | wc -l; }

good_spec() { # NAME
	cat <<EOF
apiVersion: godwit/v1
kind: Migration
metadata: {name: $1}
spec:
  source: {host: 127.0.0.1, user: u, password: {fromEnv: P}}
  destination: {host: 127.0.0.1, port: 3307, user: u}
  migrationTypes: [schema, full]
  objects: [{database: shop, renameTo: "shop_$1"}]
EOF
}

# --- the samples ---
cd "$GW_ROOT"
run "$GODWIT" validate samples/
assert_eq 0 "$RC" "validate samples/: $ERR"
assert_eq "" "$ERR" "validate samples/ writes no error"
for f in samples/*.yaml; do
	assert_contains "$OUT" "$f: ok" "each sample is reported"
done
assert_eq "$(ls samples/*.yaml samples/*.yml 2>/dev/null | wc -l)" "$(lines "$OUT")" "one line per sample"
cd "$GW_TMP"

# The README's "A spec in brief" is a valid spec.
sed -n '/^## A spec in brief/,/^## /p' "$GW_ROOT/README.md" | sed -n '/^```yaml/,/^```/p' |
	sed '1d;$d' >"$GW_TMP/readme.yaml"
grep -q '^kind: Migration' "$GW_TMP/readme.yaml" || fail "no spec found in the README"
run "$GODWIT" validate "$GW_TMP/readme.yaml"
assert_eq 0 "$RC" "the README's spec: $ERR"

# --- files and directories ---
mkdir -p tree/sub/deeper tree/.git tree/empty
good_spec one >tree/a.yaml
good_spec two >tree/sub/b.yml
good_spec three >tree/sub/c.yaml
echo "not: [a spec" >tree/notes.txt       # not *.yaml: ignored
echo "not: [a spec" >tree/.hidden.yaml    # dot entries are skipped
echo "not: [a spec" >tree/.git/config.yaml
{ good_spec Bad-Name; printf '  retryWindow: 5w\n  paralelism: 2\n'; } >tree/sub/deeper/bad.yaml
ln -s /nonexistent/x.yaml tree/sub/dangling.yaml
ln -s /nonexistent tree/sub/dangling-other # not a spec name: ignored

run "$GODWIT" validate tree
assert_eq 1 "$RC" "a tree with a bad spec exits 1"
assert_eq "tree/a.yaml: ok
tree/sub/b.yml: ok
tree/sub/c.yaml: ok" "$OUT" "valid specs, sorted, depth first"
assert_eq "tree/sub/dangling.yaml: No such file or directory
tree/sub/deeper/bad.yaml:3:18: name 'Bad-Name' must be lowercase letters, digits and '-', starting and ending with a letter or digit
tree/sub/deeper/bad.yaml:9:16: retryWindow must be a duration like 500ms, 30s, 5m, 12h or 1d (got '5w')
tree/sub/deeper/bad.yaml:10:3: unknown key 'paralelism' (did you mean 'parallelism'?)" "$ERR" \
	"every error of every file, FILE:LINE:COL"

run "$GODWIT" validate tree/a.yaml tree/sub/b.yml
assert_eq 0 "$RC" "two good files"
assert_eq "tree/a.yaml: ok
tree/sub/b.yml: ok" "$OUT" "files are reported in the order given"

# A file named explicitly is read whatever its name.
good_spec four >spec.txt
run "$GODWIT" validate spec.txt
assert_eq "0 spec.txt: ok" "$RC $OUT" "an explicit file of any name"

run "$GODWIT" validate nonexistent.yaml tree/a.yaml
assert_eq 1 "$RC" "a missing path exits 1"
assert_eq "nonexistent.yaml: No such file or directory" "$ERR" "a missing path is named"
assert_eq "tree/a.yaml: ok" "$OUT" "the other paths are still checked"

run "$GODWIT" validate tree/empty
assert_eq 1 "$RC" "a directory without specs exits 1"
assert_eq "tree/empty: no spec files (*.yaml, *.yml)" "$ERR" "an empty directory is named"

: >empty.yaml
run "$GODWIT" validate empty.yaml
assert_eq "1" "$RC" "an empty file is invalid"
assert_eq "empty.yaml:1:1: empty spec: expected apiVersion, kind, metadata and spec" "$ERR" "empty file"

run "$GODWIT" validate tree/sub tree/sub/b.yml "$GW_TMP/tree/sub/../sub/b.yml"
assert_eq 1 "$RC" "tree/sub still has its dangling link"
assert_eq "tree/sub/b.yml: ok
tree/sub/c.yaml: ok" "$OUT" "a file named twice is checked once"
assert_not_contains "$ERR" "also used by" "a file named twice is not a name clash"

good_spec one >same-name.yaml
run "$GODWIT" validate tree/a.yaml same-name.yaml
assert_eq 1 "$RC" "two specs with one name"
assert_eq "same-name.yaml: metadata.name 'one' is also used by tree/a.yaml" "$ERR" "name clash"

# Unreadable: only an ordinary user can be refused a read.
good_spec five >unreadable.yaml
chmod 000 unreadable.yaml
if [ "$(id -u)" -ne 0 ]; then
	run "$GODWIT" validate unreadable.yaml
	assert_eq "1" "$RC" "an unreadable file exits 1"
	assert_eq "unreadable.yaml:1:1: cannot read: Permission denied" "$ERR" "unreadable file"
elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
	chmod 755 "$GW_TMP"
	RC=0
	ERR=$(cd "$GW_TMP" && runuser -u nobody -- "$GODWIT" validate unreadable.yaml 2>&1 >/dev/null) || RC=$?
	assert_eq "1" "$RC" "an unreadable file exits 1"
	assert_eq "unreadable.yaml:1:1: cannot read: Permission denied" "$ERR" "unreadable file"
else
	echo "# skipped: no unprivileged user to test an unreadable file with"
fi

# --- usage errors: one line, exit 2 ---
run "$GODWIT" validate
assert_eq "2 1" "$RC $(lines "$ERR")" "validate without PATH"
assert_contains "$ERR" "no PATH given" "validate without PATH"

run "$GODWIT" frobnicate
assert_eq "2" "$RC" "unknown command exits 2"
assert_eq "godwit: unknown command 'frobnicate' (see godwit --help)" "$ERR" "unknown command"
assert_eq "" "$OUT" "unknown command prints nothing else"

run "$GODWIT" --frobnicate
assert_eq "2 godwit: unknown flag --frobnicate (see godwit --help)" "$RC $ERR" "unknown top flag"

run "$GODWIT"
assert_eq "2" "$RC" "no command exits 2"

# The commands of PRODUCT.md section 3 and the flags it gives each.
declare -A FLAGS=(
	[validate]=""
	[plan]="--state-dir"
	[precheck]=""
	[controller]="--dir --git --branch --path --interval --state-dir --once --notify-url"
	[status]="--state-dir --json"
	[verify]="--state-dir"
	[binlog]=""
)

run "$GODWIT" --help
assert_eq 0 "$RC" "--help exits 0"
for cmd in validate plan precheck controller status verify binlog; do
	n=$(printf '%s\n' "$OUT" | grep -cE "^  $cmd +[a-z]")
	assert_eq 1 "$n" "--help has one line for $cmd"
done
assert_contains "$OUT" "--version" "--help mentions --version"
run "$GODWIT" -h
assert_eq 0 "$RC" "-h exits 0"

run "$GODWIT" --version
assert_eq 0 "$RC" "--version exits 0"
[[ "$OUT" =~ ^godwit\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version prints 'godwit X.Y.Z', got [$OUT]"

for cmd in "${!FLAGS[@]}"; do
	run "$GODWIT" "$cmd" --help
	assert_eq 0 "$RC" "$cmd --help exits 0"
	assert_contains "$OUT" "Usage: godwit $cmd" "$cmd --help has its usage"
	help=$OUT
	for flag in ${FLAGS[$cmd]}; do
		# explained on a line of its own, not only in the usage line
		printf '%s\n' "$help" | grep -qE "^  +$flag( |$)" ||
			fail "$cmd --help explains $flag: $help"
	done
	# every flag the help explains is one the command takes
	for flag in $(printf '%s\n' "$help" | sed -n 's/^  *\(--[a-z-]*\).*/\1/p'); do
		run timeout 20 "$GODWIT" "$cmd" "$flag" x "$GW_TMP/nonexistent"
		assert_not_contains "$ERR" "unknown flag" "$cmd takes the $flag its help explains"
	done
	for bad in --frobnicate -x --frobnicate=1; do
		run "$GODWIT" "$cmd" "$bad" "$GW_TMP/tree/a.yaml"
		assert_eq 2 "$RC" "$cmd $bad exits 2"
		assert_eq 1 "$(lines "$ERR")" "$cmd $bad: one line"
		assert_contains "$ERR" "unknown flag ${bad%=1}" "$cmd $bad names the flag"
		assert_eq "" "$OUT" "$cmd $bad does nothing"
	done
done

# After --, a name that looks like a flag is a name.
cp tree/a.yaml -- -x.yaml
run "$GODWIT" validate -- -x.yaml --help
assert_eq 1 "$RC" "validate -- NAMES"
assert_eq "-x.yaml: ok" "$OUT" "-- ends the flags"
assert_eq "--help: No such file or directory" "$ERR" "--help after -- is a name"
echo "ok"
