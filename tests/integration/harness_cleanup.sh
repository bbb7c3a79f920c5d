# The harness leaves nothing behind: small child tests that start servers
# and then fail, or are interrupted (SIGTERM to the script, SIGINT to its
# process group as Ctrl-C sends it, a signal while a server is still
# starting), must leave no mariadbd, no background job and no GW_TMP of
# theirs. As root and as an ordinary user.
. "$(dirname "$0")/../lib/harness.sh"

HARNESS="$GW_ROOT/tests/lib/harness.sh"
KIDS="$GW_TMP/kids"
mkdir -p "$KIDS"
chmod 755 "$GW_TMP" "$KIDS"

# A child writes, one per line: its GW_TMP, then the pids to outlive it not.
child() { # NAME BODY
	{
		echo ". '$HARNESS'"
		echo 'echo "$GW_TMP" >"$GW_INFO"'
		echo "$2"
	} >"$KIDS/$1.sh"
	chmod 644 "$KIDS/$1.sh"
}

child fail '
mdb_start a
mdb_start b
sleep 600 &
cat "$GW_TMP/a/mariadbd.pid" "$GW_TMP/b/mariadbd.pid" >>"$GW_INFO"
echo $! >>"$GW_INFO"
fail "deliberately"'

child errexit '
mdb_start a
( sleep 600 ) &
cat "$GW_TMP/a/mariadbd.pid" >>"$GW_INFO"
echo $! >>"$GW_INFO"
mdb_q a "SELECT * FROM no_such_db.t"
echo "not reached" >>"$GW_INFO"'

# Started in a subshell: the script itself never saw the server.
child subshell '
( mdb_start a; cat "$GW_TMP/a/mariadbd.pid" >>"$GW_INFO" )
false'

# Waiting (polling) when the script alone gets SIGTERM, as from kill PID.
child term '
mdb_start a
cat "$GW_TMP/a/mariadbd.pid" >>"$GW_INFO"
echo ready >"$GW_INFO.ready"
wait_for "nothing" 600 false'

# In a long foreground command when the group gets SIGINT (Ctrl-C).
child int '
mdb_start a
mdb_start b
cat "$GW_TMP/a/mariadbd.pid" "$GW_TMP/b/mariadbd.pid" >>"$GW_INFO"
echo ready >"$GW_INFO.ready"
sleep 600'

# Interrupted while the server starts, before it wrote its pid file.
child starting '
echo ready >"$GW_INFO.ready"
mdb_start a
sleep 600'

# Ctrl-C while the first server of a TMPDIR builds the shared datadir
# template: its server is killed and the half-made template removed.
child template '
echo ready >"$GW_INFO.ready"
mdb_start a
sleep 600'

# check_gone NAME INFO: nothing of the child in INFO survives.
check_gone() {
	local name=$1 info=$2 tmp pid
	tmp=$(head -1 "$info")
	case "$tmp" in */godwit-test.*) ;; *) fail "$name: no GW_TMP reported ($tmp)" ;; esac
	[ ! -e "$tmp" ] || fail "$name: $tmp is left behind"
	for pid in $(tail -n +2 "$info"); do
		[ "$pid" = "not" ] && fail "$name: went on after a failing command"
		! gw_alive "$pid" || fail "$name: process $pid survived: $(tr '\0' ' ' </proc/$pid/cmdline)"
	done
	# the pattern in a file: grep's own command line must not match
	pid=$(grep -alsF -f <(echo "$tmp/") /proc/[0-9]*/cmdline | head -1 || true)
	[ -z "$pid" ] || fail "$name: a process of $tmp survived: $(tr '\0' ' ' <"$pid")"
}

# script_pid PID USER: the bash running the child script (under runuser,
# its child), signalled alone as `kill PID` does.
script_pid() {
	if [ -n "$2" ]; then
		ps -o pid= --ppid "$1" | head -1 | tr -d ' '
	else
		echo "$1"
	fi
}

# run_child NAME HOW [USER]: HOW is fail, term, int or starting.
run_child() {
	local name=$1 how=$2 user=${3:-} info="$KIDS/$1.${3:-self}.info" rc=0 pid tmp=""
	local -a as=()
	: >"$info"
	rm -f "$info.ready"
	if [ -n "$user" ]; then
		chown "$user" "$info"
		chmod 777 "$KIDS"
		as=(runuser -u "$user" --)
	fi
	# Its own process group, as a test run from a terminal or tests/run,
	# and SIGINT not ignored as it is for a background job of a script.
	GW_INFO=$info python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' "${as[@]+"${as[@]}"}" env TMPDIR="$CHILD_TMPDIR" \
		bash "$KIDS/$name.sh" >"$info.log" 2>&1 &
	pid=$!
	case $how in
	fail) ;;
	term | int)
		wait_for "$name ready" 300 test -s "$info.ready"
		if [ "$how" = term ]; then
			kill -TERM "$(script_pid "$pid" "$user")"
		else
			kill -INT -- "-$pid"
		fi
		;;
	template)
		wait_for "$name ready" 300 test -s "$info.ready"
		wait_for "$name template server" 300 test -e "$CHILD_TMPDIR/godwit-mariadb-template-$(id -u).tmp/err.log"
		kill -INT -- "-$pid"
		;;
	starting)
		wait_for "$name ready" 300 test -s "$info.ready"
		tmp=$(head -1 "$info")
		wait_for "$name server launched" 300 test -e "$tmp/a/launcher.pid"
		kill -TERM "$(script_pid "$pid" "$user")"
		;;
	esac
	wait "$pid" || rc=$?
	case $how in
	fail) [ "$rc" -ne 0 ] || fail "$name: exit $rc, expected a failure" ;;
	term) assert_eq 143 "$rc" "$name: exit status after SIGTERM" ;;
	int) assert_eq 130 "$rc" "$name: exit status after SIGINT" ;;
	starting) [ "$rc" -ne 0 ] || fail "$name: exit 0 after SIGTERM" ;;
	template) assert_eq 130 "$rc" "$name: exit status after SIGINT" ;;
	esac
	check_gone "$name${user:+ as $user}" "$info"
	echo "# $name${user:+ as $user}: exit $rc, nothing left"
}

CHILD_TMPDIR=${TMPDIR:-/tmp}
run_child fail fail
run_child errexit fail
run_child subshell fail
run_child term term
run_child int int
run_child starting starting
CHILD_TMPDIR="$GW_TMP/tmp-fresh"
mkdir -p "$CHILD_TMPDIR"
run_child template template
tpl="$CHILD_TMPDIR/godwit-mariadb-template-$(id -u)"
[ ! -e "$tpl.tmp" ] || fail "template: the half-made template $tpl.tmp is left"
[ ! -e "$tpl/.ready" ] || fail "template: finished although interrupted"
pid=$(grep -alsF -f <(echo "$tpl") /proc/[0-9]*/cmdline | head -1 || true)
[ -z "$pid" ] || fail "template: its server survived: $(tr '\0' ' ' <"$pid")"

# As an ordinary user, with a TMPDIR of its own.
user=""
if [ "$(id -u)" -ne 0 ]; then
	echo "# already running as $(id -un): the runs above were unprivileged"
elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
	user=nobody
else
	echo "# skipped as an ordinary user: runuser or the user nobody is missing"
fi
if [ -n "$user" ]; then
	CHILD_TMPDIR="$GW_TMP/tmp-$user"
	mkdir -p "$CHILD_TMPDIR"
	chown "$user" "$CHILD_TMPDIR"
	runuser -u "$user" -- test -r "$HARNESS" || fail "$user cannot read $HARNESS"
	run_child fail fail "$user"
	run_child term term "$user"
	run_child int int "$user"
	# and the harness's own smoke test (start, restart, kill, login) as it
	runuser -u "$user" -- env TMPDIR="$CHILD_TMPDIR" \
		bash "$GW_ROOT/tests/integration/harness_smoke.sh" >"$KIDS/smoke.log" 2>&1 ||
		fail "harness_smoke as $user: $(tail -5 "$KIDS/smoke.log")"
	echo "# harness_smoke as $user: ok"
fi
echo "ok"
