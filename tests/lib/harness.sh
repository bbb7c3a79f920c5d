# Integration test harness: sourced by every tests/integration/*.sh.
#
# Starts real throwaway MariaDB servers (binlog on, ROW format) on free
# loopback ports under a temp dir, and always tears them down: on exit, on
# failure, on SIGINT/SIGTERM. Works as root and as an ordinary user.
#
#   mdb_start NAME [mariadbd options...]   start server NAME; sets NAME_PORT,
#                                          NAME_SOCK, NAME_DIR (a port taken
#                                          meanwhile is replaced by another)
#   mdb_stop NAME / mdb_kill NAME          clean shutdown / kill -9
#   mdb_restart NAME                       start again with the same options
#   mdb NAME [mariadb client args]         run the client as root (SQL on stdin
#                                          or -e '...'); raw, tab-separated
#   mdb_q NAME 'SQL'                       one query, output without headers
#   wait_for DESC TIMEOUT_S CMD...         poll CMD every 0.1 s until it succeeds
#   fail MSG / assert_eq WANT GOT MSG / assert_contains HAYSTACK NEEDLE MSG
#
# Every server has a user godwit@'%' (password in $GW_PASSWORD) with all
# privileges, and root via the socket (for an ordinary user, root over the
# socket takes no password). GW_TMP is the test's scratch dir; everything
# running from it, and every process the script started, is killed at exit.
# GODWIT is the binary under test (bin/godwit unless $GODWIT_BIN is set).
# GW_SHARED is ../shared (datasets/sakila, datasets/mysql-binlogs).

set -euo pipefail

GW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GODWIT=${GODWIT_BIN:-$GW_ROOT/bin/godwit}
# The shared data sets (sakila, MySQL binlogs) live beside the repository.
GW_SHARED=${GW_SHARED:-$(cd "$GW_ROOT/../shared" 2>/dev/null && pwd || echo /work/shared)}
GW_PASSWORD=godwit-test-pw
export GW_PASSWORD
GW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/godwit-test.XXXXXX")
GW_SERVERS=()
GW_SERVER_ID=1

MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
# The server account of the OS user: root has it through the socket; for an
# ordinary user mariadb-install-db makes one of the user's name.
GW_DBA=$([ "$(id -u)" -eq 0 ] && echo root || id -un)
GW_SHARE=/usr/share/mariadb

# gw_descendants PID: every process below PID, children first.
gw_descendants() {
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$child"
		gw_descendants "$child"
	done
}

# gw_alive PID: running (a zombie is dead: only its parent has to reap it).
gw_alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Kills every server and process of this test, however it ends: servers by
# their pid files (also those started in a subshell), the ones still
# starting by their launcher's pid, everything the script started, and last
# anything still running from GW_TMP. Then waits until they are gone, so
# that none writes into GW_TMP after it is removed.
gw_cleanup() {
	local rc=$? f pid pids=() deadline
	trap - EXIT INT TERM
	for f in "$GW_TMP"/*/mariadbd.pid "$GW_TMP"/*/launcher.pid; do
		[ -f "$f" ] && pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] && pids+=("$pid")
	done
	pids+=($(gw_descendants $$))
	# the pattern in a file: grep's own command line must not match
	for f in $(grep -alsF -f <(echo "$GW_TMP/") /proc/[0-9]*/cmdline); do
		pid=${f#/proc/}
		pids+=("${pid%/cmdline}")
	done
	for pid in "${pids[@]+"${pids[@]}"}"; do
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] || kill -9 "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	deadline=$(($(date +%s) + 30))
	for pid in "${pids[@]+"${pids[@]}"}"; do
		while gw_alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do
			sleep 0.05
		done
	done
	if [ "$rc" -ne 0 ] && [ -n "${GW_KEEP_TMP:-}" ]; then
		echo "# kept $GW_TMP" >&2
	else
		rm -rf "$GW_TMP"
	fi
	exit "$rc"
}
trap gw_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

assert_eq() {
	[ "$1" == "$2" ] || fail "$3: expected [$1], got [$2]"
}

assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "$3: [$2] not found in: $1" ;;
	esac
}

assert_not_contains() {
	case "$1" in
	*"$2"*) fail "$3: [$2] found in: $1" ;;
	*) ;;
	esac
}

# wait_for DESC TIMEOUT_S CMD...: polls CMD until it succeeds.
wait_for() {
	local desc=$1 timeout=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) / 1000000 + timeout * 1000))
	until "$@" >/dev/null 2>&1; do
		if [ $(($(date +%s%N) / 1000000)) -gt "$deadline" ]; then
			fail "timed out after ${timeout}s waiting for: $desc"
		fi
		sleep 0.1
	done
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A datadir made once per machine and copied for every server: saves the
# install and the first start of each server.
gw_template() {
	local tpl="${TMPDIR:-/tmp}/godwit-mariadb-template-$(id -u)"
	local lock="$tpl.lock"
	(
		flock 9
		if [ ! -f "$tpl/.ready" ]; then
			rm -rf "$tpl" "$tpl.tmp"
			mkdir -p "$tpl.tmp"
			mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$tpl.tmp/data" \
				--auth-root-authentication-method=socket --skip-test-db \
				>"$tpl.tmp/install.log" 2>&1 || { cat "$tpl.tmp/install.log" >&2; exit 1; }
			local sock="$tpl.tmp/s.sock" tpid i
			"$MARIADBD" --no-defaults --user="$(id -un)" --datadir="$tpl.tmp/data" \
				--socket="$sock" --skip-networking --pid-file="$tpl.tmp/pid" \
				--log-error="$tpl.tmp/err.log" &
			tpid=$!
			# A subshell does not run the test's traps, and errexit is off
			# in a command substitution: every step is checked here.
			trap 'kill -9 $tpid 2>/dev/null; rm -rf "$tpl.tmp"' EXIT
			trap 'exit 130' INT
			trap 'exit 143' TERM
			for i in $(seq 1 600); do
				mariadb --no-defaults -u"$GW_DBA" -S "$sock" -e 'select 1' >/dev/null 2>&1 && break
				gw_alive "$tpid" || break
				sleep 0.1
			done
			# An ordinary user reaches root through the socket with no
			# password (the socket's directory is the user's own); root is
			# what the tests' mariadb -uroot use.
			mariadb --no-defaults -u"$GW_DBA" -S "$sock" <<SQL || { cat "$tpl.tmp/err.log" >&2; exit 1; }
CREATE USER 'godwit'@'%' IDENTIFIED BY '$GW_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'godwit'@'%' WITH GRANT OPTION;
CREATE USER 'godwit'@'localhost' IDENTIFIED BY '$GW_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'godwit'@'localhost' WITH GRANT OPTION;
$([ "$GW_DBA" = root ] || echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');")
FLUSH PRIVILEGES;
SQL
			mariadb-admin --no-defaults -u"$GW_DBA" -S "$sock" shutdown || exit 1
			for i in $(seq 1 600); do
				gw_alive "$tpid" || break
				sleep 0.1
			done
			gw_alive "$tpid" && exit 1
			wait "$tpid" || true
			rm -f "$tpl.tmp/data"/*-bin.* "$tpl.tmp/data"/*.index
			trap - EXIT
			mv "$tpl.tmp" "$tpl"
			touch "$tpl/.ready"
		fi
	) 9>"$lock"
	echo "$tpl/data"
}

declare -A GW_OPTS

# mdb_start NAME [options]: a fresh server. The port is free when chosen,
# but the machine is shared: a server that finds it taken meanwhile gets
# another one.
mdb_start() {
	local name=$1
	shift
	local dir="$GW_TMP/$name" tpl port attempt
	tpl=$(gw_template)
	GW_SERVERS+=("$name")
	printf -v "${name}_SOCK" '%s' "$dir/mysqld.sock"
	printf -v "${name}_DIR" '%s' "$dir"
	for attempt in 1 2 3 4 5; do
		rm -rf "$dir"
		mkdir -p "$dir/tmp"
		cp -a "$tpl" "$dir/data"
		port=$(free_port)
		GW_OPTS[$name]="--server-id=$GW_SERVER_ID --port=$port $*"
		printf -v "${name}_PORT" '%s' "$port"
		if mdb_launch_try "$name"; then
			GW_SERVER_ID=$((GW_SERVER_ID + 1))
			return 0
		fi
		grep -qE "Address already in use|Bind on TCP/IP port" "$dir/error.log" 2>/dev/null || break
		echo "# port $port of $name was taken meanwhile: another one" >&2
	done
	cat "$dir/error.log" >&2
	fail "server $name did not start"
}

# mdb_launch NAME: starts server NAME (again) with its options.
mdb_launch() {
	mdb_launch_try "$1" || { cat "$GW_TMP/$1/error.log" >&2; fail "server $1 did not start"; }
}

# mdb_launch_try NAME: 0 once the server answers; 1 when it exits or does
# not answer within 60 s (then it is killed).
mdb_launch_try() {
	local name=$1 dir="$GW_TMP/$1"
	# shellcheck disable=SC2086
	"$MARIADBD" --no-defaults --user="$(id -un)" --datadir="$dir/data" \
		--socket="$dir/mysqld.sock" --pid-file="$dir/mariadbd.pid" \
		--bind-address=127.0.0.1 --skip-name-resolve \
		--log-error="$dir/error.log" --log-bin="$dir/data/${name}-bin" --tmpdir="$dir/tmp" \
		--binlog-format=ROW --binlog-row-image=FULL \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
		--innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
		--local-infile=1 --max-connections=200 \
		${GW_OPTS[$name]} >/dev/null 2>&1 &
	local pid=$!
	# Until mariadbd writes its pid file, this is how cleanup finds it.
	echo "$pid" >"$dir/launcher.pid"
	disown "$pid" # killed through its pid file; no job-control noise
	local sock="$dir/mysqld.sock" i
	for i in $(seq 1 600); do
		if mariadb --no-defaults -uroot -S "$sock" -e 'select 1' >/dev/null 2>&1; then
			return 0
		fi
		gw_alive "$pid" || return 1
		sleep 0.1
	done
	echo "# server $name did not answer in 60 s" >&2
	kill -9 "$pid" 2>/dev/null || true
	return 1
}

mdb_stop() {
	local dir="$GW_TMP/$1" pid
	pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || true)
	mariadb-admin --no-defaults -uroot -S "$dir/mysqld.sock" shutdown >/dev/null 2>&1 || true
	if [ -n "$pid" ]; then
		while gw_alive "$pid"; do sleep 0.1; done
	fi
}

mdb_kill() {
	local dir="$GW_TMP/$1" pid
	pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	if [ -n "$pid" ]; then
		while gw_alive "$pid"; do sleep 0.1; done
	fi
	rm -f "$dir/mariadbd.pid"
}

mdb_restart() {
	mdb_stop "$1"
	mdb_launch "$1"
}

mdb() {
	local name=$1
	shift
	local sock="${name}_SOCK"
	mariadb --no-defaults --default-character-set=utf8mb4 -uroot -S "${!sock}" --batch --raw "$@"
}

mdb_q() {
	mdb "$1" -N -e "$2"
}

# spec_endpoint NAME: the YAML lines of an endpoint for server NAME.
spec_endpoint() {
	local port="${1}_PORT"
	printf '    host: 127.0.0.1\n    port: %s\n    user: godwit\n    password: {fromEnv: GW_PASSWORD}\n    tls: {mode: disabled}\n' "${!port}"
}
