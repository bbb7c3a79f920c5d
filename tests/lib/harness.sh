# Integration test harness: sourced by every tests/integration/*.sh.
#
# Starts real throwaway MariaDB servers (binlog on, ROW format) on free
# loopback ports under a temp dir, and always tears them down: on exit, on
# failure, on SIGINT/SIGTERM. Works as root and as an ordinary user.
#
#   mdb_start NAME [mariadbd options...]   start server NAME; sets NAME_PORT,
#                                          NAME_SOCK, NAME_DIR
#   mdb_stop NAME / mdb_kill NAME          clean shutdown / kill -9
#   mdb_restart NAME                       start again with the same options
#   mdb NAME [mariadb client args]         run the client as root (SQL on stdin
#                                          or -e '...'); raw, tab-separated
#   mdb_q NAME 'SQL'                       one query, output without headers
#   wait_for DESC TIMEOUT_S CMD...         poll CMD every 0.1 s until it succeeds
#   fail MSG / assert_eq WANT GOT MSG / assert_contains HAYSTACK NEEDLE MSG
#
# Every server has a user godwit@'%' (password in $GW_PASSWORD) with all
# privileges, and root via the socket. GW_TMP is the test's scratch dir.
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
GW_SHARE=/usr/share/mariadb

gw_cleanup() {
	local rc=$? name pidf pid
	trap - EXIT INT TERM
	for name in "${GW_SERVERS[@]+"${GW_SERVERS[@]}"}"; do
		pidf="$GW_TMP/$name/mariadbd.pid"
		if [ -f "$pidf" ]; then
			pid=$(cat "$pidf" 2>/dev/null || true)
			[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
		fi
	done
	# Anything else the test started in the background.
	jobs -p | xargs -r kill -9 2>/dev/null || true
	wait 2>/dev/null || true
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
			local sock="$tpl.tmp/s.sock"
			"$MARIADBD" --no-defaults --user="$(id -un)" --datadir="$tpl.tmp/data" \
				--socket="$sock" --skip-networking --pid-file="$tpl.tmp/pid" \
				--log-error="$tpl.tmp/err.log" &
			local i
			for i in $(seq 1 300); do
				mariadb --no-defaults -uroot -S "$sock" -e 'select 1' >/dev/null 2>&1 && break
				sleep 0.1
			done
			mariadb --no-defaults -uroot -S "$sock" <<SQL
CREATE USER 'godwit'@'%' IDENTIFIED BY '$GW_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'godwit'@'%' WITH GRANT OPTION;
CREATE USER 'godwit'@'localhost' IDENTIFIED BY '$GW_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'godwit'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
			mariadb-admin --no-defaults -uroot -S "$sock" shutdown
			wait
			rm -f "$tpl.tmp/data"/*-bin.* "$tpl.tmp/data"/*.index
			mv "$tpl.tmp" "$tpl"
			touch "$tpl/.ready"
		fi
	) 9>"$lock"
	echo "$tpl/data"
}

declare -A GW_OPTS

# mdb_start NAME [options]: a fresh server.
mdb_start() {
	local name=$1
	shift
	local dir="$GW_TMP/$name" tpl
	tpl=$(gw_template)
	mkdir -p "$dir/tmp"
	cp -a "$tpl" "$dir/data"
	local port
	port=$(free_port)
	GW_SERVERS+=("$name")
	GW_OPTS[$name]="--server-id=$GW_SERVER_ID --port=$port $*"
	GW_SERVER_ID=$((GW_SERVER_ID + 1))
	printf -v "${name}_PORT" '%s' "$port"
	printf -v "${name}_SOCK" '%s' "$dir/mysqld.sock"
	printf -v "${name}_DIR" '%s' "$dir"
	mdb_launch "$name"
}

mdb_launch() {
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
	disown "$pid" # killed through its pid file; no job-control noise
	local sock="$dir/mysqld.sock" i
	for i in $(seq 1 300); do
		if mariadb --no-defaults -uroot -S "$sock" -e 'select 1' >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir/error.log" >&2
			fail "server $name did not start"
		fi
		sleep 0.1
	done
	cat "$dir/error.log" >&2
	fail "server $name did not start in 30s"
}

mdb_stop() {
	local dir="$GW_TMP/$1" pid
	pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || true)
	mariadb-admin --no-defaults -uroot -S "$dir/mysqld.sock" shutdown >/dev/null 2>&1 || true
	if [ -n "$pid" ]; then
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
}

mdb_kill() {
	local dir="$GW_TMP/$1" pid
	pid=$(cat "$dir/mariadbd.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	if [ -n "$pid" ]; then
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
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
