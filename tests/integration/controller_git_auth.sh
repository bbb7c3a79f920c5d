# The git source over HTTP with a token: a real git smart-HTTP server
# (git http-backend behind a loopback server that demands
# "x-access-token:TOKEN" as HTTP basic credentials, as GitHub does). The
# right token fetches; a missing one and a wrong one are clear errors that
# name the URL and the variable, ask the server a bounded number of times,
# and never print the token; a token in the URL is used, and appears in no
# log, state file or process list. (ssh needs an ssh server; its credential
# choice and known_hosts check are unit-tested in test_source.c.)
. "$(dirname "$0")/../lib/harness.sh"

"$GODWIT" controller --help >/dev/null 2>&1 || fail "no godwit binary"
R=$GW_TMP/root
mkdir -p "$R"
git init -q --bare -b main "$R/specs.git"
git init -q -b main "$GW_TMP/w"
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: over-http\nspec:\n  sorce: {}\n' >"$GW_TMP/w/a.yaml"
git -C "$GW_TMP/w" add -A
GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com \
	git -C "$GW_TMP/w" commit -qm "a spec"
git -C "$GW_TMP/w" push -q "$R/specs.git" main

TOKEN=s3cr3t-t0ken-$$
PORT=$(free_port)
python3 "$GW_ROOT/tests/lib/git_http.py" "$PORT" "$R" --token "$TOKEN" --auth-log "$GW_TMP/auth.log" \
	>"$GW_TMP/http.log" 2>&1 &
wait_for "git http server listening" 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()"
URL=http://127.0.0.1:$PORT/specs.git
GIT_TERMINAL_PROMPT=0 git -c http.extraHeader="Authorization: Basic $(printf 'x-access-token:%s' "$TOKEN" | base64 -w0)" \
	ls-remote "$URL" >/dev/null || fail "test setup: the server serves git"

# once: the exit code and the output of `controller --once` on URL
once() {
	set +e
	timeout 60 "$GODWIT" controller --git "$URL" --once --state-dir "$GW_TMP/$1" >"$GW_TMP/$1.log" 2>&1
	echo $?
	set -e
}

# the right token: fetched, the spec read (an invalid one: --once exits 1)
: >"$GW_TMP/auth.log"
assert_eq 1 "$(GODWIT_GIT_TOKEN=$TOKEN once good)" "--once with the right token"
assert_eq Invalid "$(cat "$GW_TMP/good/tasks/a/phase")" "the spec read over http"
grep -q '^ok$' "$GW_TMP/auth.log" || fail "the token was sent"

# no token: exit 2, the message says what to set
: >"$GW_TMP/auth.log"
assert_eq 2 "$(GODWIT_GIT_TOKEN='' once none)" "--once without a token"
assert_contains "$(cat "$GW_TMP/none.log")" "$URL" "the URL is named"
assert_contains "$(cat "$GW_TMP/none.log")" "put a token in GODWIT_GIT_TOKEN" "the variable is named"
[ ! -e "$GW_TMP/none/tasks" ] || fail "nothing read without a token"

# a wrong token: refused, said so, a bounded number of tries, never printed
: >"$GW_TMP/auth.log"
assert_eq 2 "$(GODWIT_GIT_TOKEN=wrong-$TOKEN once bad)" "--once with a wrong token"
assert_contains "$(cat "$GW_TMP/bad.log")" "refused the token in GODWIT_GIT_TOKEN" "the refusal is said"
tries=$(grep -c bad "$GW_TMP/auth.log" || true)
[ "$tries" -ge 1 ] && [ "$tries" -le 4 ] || fail "the wrong token was sent $tries times"
! grep -rq "$TOKEN" "$GW_TMP/bad.log" "$GW_TMP/good" "$GW_TMP/good.log" "$GW_TMP/bad" ||
	fail "the token appears in the output or the state"

# the token in the URL (docs/security.md): used, said to be better in
# GODWIT_GIT_TOKEN, and found nowhere: not in the log, not in the state
# directory (the git cache's config included), not in the process list
: >"$GW_TMP/auth.log"
URL=http://x-access-token:$TOKEN@127.0.0.1:$PORT/specs.git
GODWIT_GIT_TOKEN='' "$GODWIT" controller --git "$URL" --state-dir "$GW_TMP/inurl" --log-level debug \
	>"$GW_TMP/inurl.log" 2>&1 &
CTL=$!
wait_for "the spec read with the URL's token" 30 test -f "$GW_TMP/inurl/tasks/a/phase"
grep -q '^ok$' "$GW_TMP/auth.log" || fail "the URL's token was sent"
! grep -qa "$TOKEN" "/proc/$CTL/cmdline" || fail "the token stays in the process list"
kill -TERM "$CTL"
wait "$CTL" || true
assert_contains "$(cat "$GW_TMP/inurl.log")" "the URL carries a credential" "the log says to prefer GODWIT_GIT_TOKEN"
assert_contains "$(cat "$GW_TMP/inurl.log")" "http://127.0.0.1:$PORT/specs.git" "the URL is named without it"
ls "$GW_TMP"/inurl/git/*/config >/dev/null || fail "the git cache is in the state directory"
! grep -rqa "$TOKEN" "$GW_TMP/inurl.log" "$GW_TMP/inurl" || fail "the URL's token in the log or the state: $(grep -rla "$TOKEN" "$GW_TMP/inurl.log" "$GW_TMP/inurl")"
echo ok
