# Hostile specs cannot turn the controller against its operator
# (docs/security.md, "Spec authors"):
#  - 200,000 nested '[' are refused in milliseconds, FILE:LINE:COL, and
#    SIGTERM ends a controller that is reading them;
#  - fromFile naming a FIFO: refused at once (not a regular file), and
#    controller --once exits;
#  - fromEnv ALIBABA_CLOUD_ACCESS_KEY_SECRET / GODWIT_GIT_TOKEN and fromFile
#    of /proc/self/environ, the git ssh key or the state directory: refused,
#    naming the key, never the value, and nothing reaches the spec's server
#    (a rogue one that would get the password in clear from PyMySQL);
#  - --secret-env-prefix and --secret-dir confine fromEnv and fromFile;
#  - a spec that is a symlink out of the spec directory is not read (no key
#    of the file it points to is echoed); with --follow-symlinks it is, and
#    only name-like keys are echoed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/rogue.sh"

S=$GW_TMP/state
rogue_start rogue --auth-switch mysql_clear_password

spec() { # spec FILE NAME PASSWORD_YAML
	cat >"$1" <<EOF
apiVersion: godwit/v1
kind: Migration
metadata: {name: $2}
spec:
  source: {host: 127.0.0.1, port: $rogue_PORT, user: u, password: $3, tls: {mode: preferred}}
  destination: {host: 127.0.0.1, port: $rogue_PORT, user: u, password: $3}
  migrationTypes: [schema, full]
  objects: [{database: shop, renameTo: "shop_$2"}]
EOF
}
message() { cat "$S/tasks/$1/message" 2>/dev/null; }

# 1. Deep nesting: refused fast; SIGTERM while reading works.
mkdir -p "$GW_TMP/deep"
python3 -c "print('[' * 200000)" >"$GW_TMP/deep/deep.yaml"
start=$(date +%s%N)
out=$("$GODWIT" validate "$GW_TMP/deep/deep.yaml" 2>&1 || true)
ms=$((($(date +%s%N) - start) / 1000000))
assert_contains "$out" "deep.yaml:1:65: nested deeper than 64 levels" "FILE:LINE:COL of the refusal"
[ "$ms" -lt 5000 ] || fail "refusing took ${ms} ms"
# (the spec is read on the controller's loop: the old parser held it, and
# with it SIGTERM, for minutes)
ctl_start DEEP --dir "$GW_TMP/deep" --state-dir "$GW_TMP/deep-state"
wait_for "the controller refuses the spec" 10 grep -q "nested deeper than 64 levels" \
	"$GW_TMP/deep-state/tasks/deep/message"
kill -TERM "$DEEP"
gone() { ! gw_alive "$1"; }
wait_for "SIGTERM ends the controller" 10 gone "$DEEP"
ctl_start DEEP2 --dir "$GW_TMP/deep" --state-dir "$GW_TMP/deep-state2"
wait_for "the controller started" 10 grep -qE "controller .*started" "$GW_TMP/controller-DEEP2.log"
kill -TERM "$DEEP2"
wait_for "SIGTERM ends the controller as it reads the spec" 10 gone "$DEEP2"

# 2. A FIFO as a password file: --once ends.
mkdir -p "$GW_TMP/fifo"
mkfifo "$GW_TMP/pw.fifo"
spec "$GW_TMP/fifo/f.yaml" f "{fromFile: $GW_TMP/pw.fifo}"
rc=0
timeout 60 "$GODWIT" controller --dir "$GW_TMP/fifo" --state-dir "$S" --once >"$GW_TMP/fifo.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "--once with a FIFO as password file exited $rc: $(tail -5 "$GW_TMP/fifo.log")"
assert_contains "$(message f)" "password file $GW_TMP/pw.fifo: not a regular file" "the file is named"

# 3. The controller's own secrets, to a server of the spec author's.
SECRET=alibaba-secret-V8W2
GITTOKEN=git-token-R4T6
mkdir -p "$GW_TMP/keys"
printf 'ssh-key-K9J3\n' >"$GW_TMP/keys/id_git"
own() { # own NAME PASSWORD_YAML WANT: refused, naming the key, nothing sent
	rm -rf "$GW_TMP/own"
	mkdir -p "$GW_TMP/own"
	spec "$GW_TMP/own/o.yaml" "$1" "$2"
	rogue_reset rogue
	ALIBABA_CLOUD_ACCESS_KEY_ID=AKID ALIBABA_CLOUD_ACCESS_KEY_SECRET=$SECRET GODWIT_GIT_TOKEN=$GITTOKEN \
		GODWIT_GIT_SSH_KEY=$GW_TMP/keys/id_git timeout 60 "$GODWIT" controller --dir "$GW_TMP/own" \
		--state-dir "$S" --once >"$GW_TMP/own.log" 2>&1 || true
	assert_contains "$(message "$1")" "$3" "$1: refused, naming the key"
	assert_eq 0 "$(rogue_events rogue greeting)" "$1: nothing was sent to the spec's server"
	for v in "$SECRET" "$GITTOKEN" K9J3; do
		! grep -rqa -- "$v" "$GW_TMP/own.log" "$S" "$GW_TMP/rogue.dump" || fail "$1: '$v' leaked"
	done
}
own ali "{fromEnv: ALIBABA_CLOUD_ACCESS_KEY_SECRET}" \
	"fromEnv ALIBABA_CLOUD_ACCESS_KEY_SECRET: a variable of the controller's own"
own gtok "{fromEnv: GODWIT_GIT_TOKEN}" "fromEnv GODWIT_GIT_TOKEN: a variable of the controller's own"
own env "{fromFile: /proc/self/environ}" "password file /proc/self/environ: a file of the kernel's"
own key "{fromFile: $GW_TMP/keys/id_git}" "password file $GW_TMP/keys/id_git: a file of the controller's own"
ln -s "$GW_TMP/keys/id_git" "$GW_TMP/keylink"
own kln "{fromFile: $GW_TMP/keylink}" "password file $GW_TMP/keylink: a file of the controller's own"
mkdir -p "$S"
printf 'state-file\n' >"$S/somefile"
own st "{fromFile: $S/somefile}" "password file $S/somefile: a file of the controller's own"
# the cross-check: PyMySQL, given the secret as a password, hands it over
rogue_reset rogue
pymysql_try "$rogue_PORT" "user='u', password='$SECRET'" >/dev/null
grep -q "$SECRET" "$GW_TMP/rogue.dump" || fail "cross-check: the rogue server gets a password in clear"

# 4. The operator confines fromEnv and fromFile.
mkdir -p "$GW_TMP/conf" "$GW_TMP/secrets"
printf 'pw\n' >"$GW_TMP/secrets/ok"
printf 'pw\n' >"$GW_TMP/elsewhere"
spec "$GW_TMP/conf/a.yaml" a "{fromEnv: OTHER_PW}"
spec "$GW_TMP/conf/b.yaml" b "{fromFile: $GW_TMP/elsewhere}"
spec "$GW_TMP/conf/c.yaml" c "{fromEnv: TEAM_PW}"
spec "$GW_TMP/conf/d.yaml" d "{fromFile: $GW_TMP/secrets/ok}"
OTHER_PW=x TEAM_PW=x timeout 60 "$GODWIT" controller --dir "$GW_TMP/conf" --state-dir "$S" --once \
	--secret-env-prefix TEAM_ --secret-dir "$GW_TMP/secrets" >"$GW_TMP/conf.log" 2>&1 || true
assert_contains "$(message a)" "fromEnv OTHER_PW: the controller hands out only variables named TEAM_*" "prefix"
assert_contains "$(message b)" "password file $GW_TMP/elsewhere: outside the secret directories" "secret dirs"
assert_contains "$(message c)" "would hand it the password" "TEAM_PW was handed out (and refused in clear)"
assert_contains "$(message d)" "would hand it the password" "a file in the secret dirs was read"
out=$(timeout 10 "$GODWIT" controller --dir "$GW_TMP/conf" --secret-dir "$GW_TMP/nonexistent" 2>&1 || true)
assert_contains "$out" "--secret-dir: $GW_TMP/nonexistent: No such file or directory" "a bad --secret-dir"

# 5. Symlinks out of the spec directory.
mkdir -p "$GW_TMP/links" "$GW_TMP/outside"
printf 'db_password_M4RK: hunter2\n"root:$6$salt$H4SHV4LUE:19000:0:99999:7:::": x\n' >"$GW_TMP/outside/conf"
ln -s "$GW_TMP/outside/conf" "$GW_TMP/links/stolen.yaml"
timeout 60 "$GODWIT" controller --dir "$GW_TMP/links" --state-dir "$GW_TMP/ls" --once >"$GW_TMP/links.log" 2>&1 || true
assert_contains "$(cat "$GW_TMP/links.log")" "stolen.yaml: a symlink out of the spec directory: not read" "said, not read"
! grep -rqa "M4RK\|hunter2\|H4SHV4LUE" "$GW_TMP/links.log" "$GW_TMP/ls" || fail "the file's content was echoed"
timeout 60 "$GODWIT" controller --dir "$GW_TMP/links" --state-dir "$GW_TMP/ls2" --once --follow-symlinks \
	>"$GW_TMP/links2.log" 2>&1 || true
assert_eq Invalid "$(cat "$GW_TMP/ls2/tasks/stolen/phase" 2>/dev/null || cat "$GW_TMP"/ls2/tasks/*/phase)" "read with --follow-symlinks"
assert_contains "$(cat "$GW_TMP/links2.log")" "unknown key 'db_password_M4RK'" "a name-like key is named"
! grep -rqa "hunter2\|H4SHV4LUE" "$GW_TMP/links2.log" "$GW_TMP/ls2" || fail "more than a key name was echoed"
echo ok
