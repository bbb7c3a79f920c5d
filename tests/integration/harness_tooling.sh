# The build's own tooling: scripts/install-deps (nothing to do when all is
# there; apt-get as root, sudo otherwise, a clear message with neither),
# format drift failing `make format-check`, the loader's fuzz seeds
# committed, and .ci/run being the README's test command. apt-get, sudo and
# dpkg-query are stand-ins on PATH that record their calls: nothing is
# installed.
. "$(dirname "$0")/../lib/harness.sh"

FAKE=$GW_TMP/bin
mkdir -p "$FAKE"
chmod 755 "$GW_TMP" "$FAKE"
CALLS=$GW_TMP/calls
: >"$CALLS"
chmod 666 "$CALLS"
REAL_DPKG=$(command -v dpkg-query)

# Only what install-deps runs is on PATH, so a real sudo cannot be used.
for tool in bash grep id env cat; do
	ln -s "$(command -v $tool)" "$FAKE/$tool"
done
cat >"$FAKE/dpkg-query" <<EOF
#!$(command -v bash)
# Reports the packages in \$FAKE_MISSING as not installed.
for p in \$FAKE_MISSING; do
	[ "\${!#}" = "\$p" ] && { echo -n "unknown ok not-installed"; exit 0; }
done
exec $REAL_DPKG "\$@"
EOF
for tool in apt-get sudo; do
	cat >"$FAKE/$tool" <<EOF
#!$(command -v bash)
echo "$tool \$(id -un) DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-} \$*" >>$CALLS
[ "$tool" = sudo ] && exec "\$@"
exit 0
EOF
done
chmod 755 "$FAKE"/*

deps() { # [USER] [PATH]: runs install-deps; sets OUT, RC
	local user=${1:-} path=${2:-$FAKE}
	local -a as=()
	[ -n "$user" ] && as=(runuser -u "$user" --)
	RC=0
	OUT=$("${as[@]+"${as[@]}"}" env -i PATH="$path" FAKE_MISSING="${FAKE_MISSING:-}" \
		"$(command -v bash)" "$GW_ROOT/scripts/install-deps" 2>&1) || RC=$?
}

# Everything present (the machine running this test has it all).
FAKE_MISSING="" deps
assert_eq "0" "$RC" "install-deps with everything present: $OUT"
assert_eq "" "$OUT" "install-deps with everything present says nothing"
assert_eq "" "$(cat "$CALLS")" "install-deps with everything present runs no apt-get"

# As root: apt-get itself.
FAKE_MISSING="sysbench bc" deps
assert_eq "0" "$RC" "install-deps as root: $OUT"
assert_eq "installing: sysbench bc" "$OUT" "install-deps names what it installs"
if [ "$(id -u)" -eq 0 ]; then
	assert_eq "apt-get root DEBIAN_FRONTEND=noninteractive update -qq
apt-get root DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends sysbench bc" \
		"$(cat "$CALLS")" "root runs apt-get directly"
fi
: >"$CALLS"

if [ "$(id -u)" -eq 0 ] && runuser -u nobody -- true 2>/dev/null; then
	user=nobody
elif [ "$(id -u)" -ne 0 ]; then
	user="" # already an ordinary user
else
	user=SKIP
fi
if [ "$user" != SKIP ]; then
	who=${user:-$(id -un)}
	# An ordinary user with sudo: sudo apt-get, the variable passed on.
	FAKE_MISSING="sysbench" deps "$user"
	assert_eq "0" "$RC" "install-deps as $who with sudo: $OUT"
	assert_eq "sudo $who DEBIAN_FRONTEND= env DEBIAN_FRONTEND=noninteractive apt-get update -qq
apt-get $who DEBIAN_FRONTEND=noninteractive update -qq
sudo $who DEBIAN_FRONTEND= env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sysbench
apt-get $who DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends sysbench" \
		"$(cat "$CALLS")" "an ordinary user goes through sudo"
	: >"$CALLS"
	# ... and without sudo: what to do, and a failure.
	mkdir -p "$GW_TMP/nosudo"
	cp -a "$FAKE"/. "$GW_TMP/nosudo/"
	rm "$GW_TMP/nosudo/sudo"
	chmod 755 "$GW_TMP/nosudo"
	FAKE_MISSING="sysbench" deps "$user" "$GW_TMP/nosudo"
	assert_eq "1" "$RC" "install-deps as $who without sudo fails"
	assert_contains "$OUT" "not root, and sudo is not installed" "the cause is said"
	assert_contains "$OUT" "apt-get install sysbench" "the fix is said"
	assert_eq "" "$(cat "$CALLS")" "nothing run without sudo"
else
	echo "# skipped as an ordinary user: runuser or the user nobody is missing"
fi

# Not Debian at all.
mkdir -p "$GW_TMP/nodpkg"
for tool in bash grep id env cat; do ln -s "$(command -v $tool)" "$GW_TMP/nodpkg/$tool"; done
deps "" "$GW_TMP/nodpkg"
assert_eq "1" "$RC" "install-deps without dpkg-query fails"
assert_contains "$OUT" "dpkg-query not found" "without dpkg-query: said"

# make format-check fails on drift, make format repairs it (on a copy).
command -v clang-format >/dev/null || fail "clang-format is missing (make deps installs it)"
mkdir "$GW_TMP/tree"
(cd "$GW_ROOT" && git ls-files -z -- Makefile .clang-format lib spec tests/unit tests/fuzz \
	reconcile engine cloud controller | xargs -0 cp --parents -t "$GW_TMP/tree")
make -s -C "$GW_TMP/tree" format-check >"$GW_TMP/fc.log" 2>&1 ||
	fail "format-check on the committed tree: $(cat "$GW_TMP/fc.log")"
sed -i 's/^int util_parse_int64(int64_t \*out, const char \*s, int64_t min, int64_t max)$/int   util_parse_int64( int64_t *out,const char *s,int64_t min,int64_t max )/' \
	"$GW_TMP/tree/lib/util.c"
grep -q '^int   util_parse_int64( ' "$GW_TMP/tree/lib/util.c" || fail "drift not introduced"
RC=0
make -s -C "$GW_TMP/tree" format-check >"$GW_TMP/fc.log" 2>&1 || RC=$?
[ "$RC" -ne 0 ] || fail "format-check passes with drift"
assert_contains "$(cat "$GW_TMP/fc.log")" "format drift: run 'make format'" "format-check says the fix"
make -s -C "$GW_TMP/tree" format >/dev/null 2>&1 || fail "make format"
make -s -C "$GW_TMP/tree" format-check >"$GW_TMP/fc.log" 2>&1 ||
	fail "format-check after make format: $(cat "$GW_TMP/fc.log")"

# The loader's fuzz target has a committed seed corpus, and the runner
# feeds it.
seeds=$(cd "$GW_ROOT" && git ls-files tests/fuzz/corpus/spec | wc -l)
[ "$seeds" -ge 3 ] || fail "tests/fuzz/corpus/spec: $seeds committed seeds"
# valid and invalid specs among them, so the fuzzer starts from both
ok=0
bad=0
for f in "$GW_ROOT"/tests/fuzz/corpus/spec/*; do
	if "$GODWIT" validate "$f" >/dev/null 2>&1; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
done
[ "$ok" -ge 1 ] && [ "$bad" -ge 1 ] || fail "fuzz seeds: $ok valid, $bad invalid"
grep -q 'tests/fuzz/corpus/' "$GW_ROOT/tests/run" || fail "tests/run feeds the corpus"

# CI runs exactly the README's test command.
assert_eq "make test" "$(grep -v '^#' "$GW_ROOT/.ci/run" | grep -vE '^(set |cd )' | grep .)" ".ci/run"
grep -q '^make test ' "$GW_ROOT/README.md" || fail "README gives make test"
# The README's code layout names only what is in the tree: each bullet's
# folder, and each file it names in that folder (or at the top).
python3 - "$GW_ROOT" <<'PY' || fail "README code layout is out of date"
import glob, os, re, sys
root = sys.argv[1]
text = open(os.path.join(root, "README.md")).read()
section = text.split("## Code layout", 1)[1].split("\n## ", 1)[0]
bad = []
for bullet in re.split(r"\n- ", section)[1:]:
    names = re.findall(r"`([^`]+)`", bullet)
    folder = names[0]
    if not os.path.isdir(os.path.join(root, folder)):
        bad.append(folder)
        continue
    for n in names[1:]:
        if not re.fullmatch(r"[\w./*-]+\.(c|h|md)|[\w.-]+/[\w./-]*", n):
            continue  # a name of something else: `struct spec`, `make test`
        if not (glob.glob(os.path.join(root, folder, n)) or glob.glob(os.path.join(root, n))):
            bad.append(folder + n)
if bad:
    print("not in the tree:", " ".join(bad))
    sys.exit(1)
PY
echo ok
