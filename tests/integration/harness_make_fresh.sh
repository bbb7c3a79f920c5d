#!/usr/bin/env bash
# `make demo` on a fresh machine succeeds the first time: the Makefile is
# run (on a copy of the tree) with a PATH on which mariadb_config and
# pkg-config appear only once `make deps` ran. scripts/install-deps is a
# stand-in that "installs" them (links them into that PATH) and
# scripts/demo one that runs the binary built: nothing is installed and
# no server started. `make all` without them says to run `make deps`.
. "$(dirname "$0")/../lib/harness.sh"

FAKE=$GW_TMP/bin
HIDDEN="mariadb_config mysql_config pkg-config pkgconf x86_64-linux-gnu-pkg-config"
mkdir -p "$FAKE"
for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
	[ -d "$d" ] || continue
	for f in "$d"/*; do
		n=${f##*/}
		case " $HIDDEN " in *" $n "*) continue ;; esac
		[ -x "$f" ] && [ ! -e "$FAKE/$n" ] && ln -s "$f" "$FAKE/$n"
	done
done
for t in mariadb_config pkg-config; do
	command -v "$t" >/dev/null || fail "$t is missing here (make deps installs it)"
done

T=$GW_TMP/tree
mkdir "$T"
(cd "$GW_ROOT" && git ls-files -z | xargs -0 cp --parents -t "$T")
[ -f "$T/Makefile" ] && [ -d "$T/controller" ] || fail "the tree was not copied"
cat >"$T/scripts/install-deps" <<EOF
#!$(command -v bash)
# stand-in: "installs" the tools by putting them on PATH
echo "install-deps ran" >>"$GW_TMP/calls"
ln -sf "$(command -v mariadb_config)" "$FAKE/mariadb_config"
ln -sf "$(command -v pkg-config)" "$FAKE/pkg-config"
EOF
cat >"$T/scripts/demo" <<EOF
#!$(command -v bash)
echo "demo ran: \$(bin/godwit --version)" >>"$GW_TMP/calls"
EOF
chmod 755 "$T/scripts/install-deps" "$T/scripts/demo"

run_make() { # ARGS...: make in the copy with only FAKE on PATH; sets OUT, RC
	RC=0
	OUT=$(env -i PATH="$FAKE" HOME="$GW_TMP" MAKEFLAGS=-j2 make -C "$T" "$@" 2>&1) || RC=$?
}
! env -i PATH="$FAKE" bash -c 'command -v mariadb_config' >/dev/null ||
	fail "mariadb_config is on the fresh PATH before make deps"

# without the libraries: the build says what to do
run_make -n all
assert_contains "$OUT" "mariadb_config not found: run 'make deps' first" "make all on a fresh machine"

# make demo: installs, builds, runs, the first time
run_make demo
[ "$RC" = 0 ] || fail "make demo on a fresh machine failed: $(echo "$OUT" | tail -20)"
assert_eq "install-deps ran
demo ran: $("$GODWIT" --version)" "$(cat "$GW_TMP/calls")" "deps, then the build, then the demo"
[ -x "$T/bin/godwit" ] || fail "no binary built"
env -i PATH="$FAKE" bash -c 'command -v mariadb_config' >/dev/null || fail "the stand-in installed nothing"
echo ok
