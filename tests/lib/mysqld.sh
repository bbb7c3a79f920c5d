# The MySQL-speaking primary (tests/mysqld/mysqld.py), for the tests.
# Sourced after tests/lib/harness.sh; torn down with everything else by
# gw_cleanup. tests/mysqld/README.md says what it does and does not do.
#
#   myd_start NAME [options...]     starts a double; sets NAME_PORT, NAME_DIR,
#                                   NAME_CA (its CA certificate, with --tls)
#                                   and NAME_LOG (its log). Options:
#     --version V                   MySQL version emulated (default: the one
#                                   that wrote the last file, else 8.0.40;
#                                   5.7.x, 8.4.x, 9.x change the answers)
#     --version-comment TEXT        @@version_comment (RDS: Source distribution)
#     --binlog FILE[:NAME]          a file written by a real MySQL (.gz too),
#                                   repeated in order; NAME defaults from the
#                                   files' own ROTATE events, else binlog.000001
#                                   (mysql-bin.000001 for 5.7)
#     --hold-after-txn N            the last file is still being written and
#                                   shows its first N transactions only (a
#                                   ROTATE or STOP that closed it is left out);
#                                   without it, a closed last file is followed
#                                   by a new empty one
#     --gtid on|off                 gtid_mode (default: from the files)
#     --gtid-purged SET             (default: the first file's PREVIOUS_GTIDS)
#     --server-id N --server-uuid U (default: the files' server id, the UUID of
#                                   their GTIDs)
#     --auth caching_sha2_password|mysql_native_password
#                                   the account's plugin (default: the
#                                   version's default plugin)
#     --default-auth PLUGIN         the server's default plugin (handshake)
#     --prime-cache                 caching_sha2_password's cache starts full
#                                   (default: empty, as after a restart)
#     --tls                         offers TLS (CA and certificates made at start)
#     --grants 'PRIV, PRIV'         what SHOW GRANTS lists for the account
#                                   (and what the double checks)
#     --dynamic-grants 'PRIV,PRIV'  8.0 dynamic privileges, a second GRANT line
#     --account NAME:PW:PLUGIN[:GRANTS]  one more account
#     --var NAME=VALUE              a global variable's value
#     --charset N                   the handshake's collation id (8.0: 255)
#     --forward MARIADB_NAME        statements the double does not answer go to
#                                   that harness server (it holds the tables)
#   The account is godwit with $GW_PASSWORD, so spec_endpoint NAME works.
#
#   myd_ctl NAME COMMAND [ARGS]     acts on the running double; prints its reply
#                                   ("ok ..."), fails on "error: ...":
#     release N|all                 shows N more held-back transactions
#     drop-mid-txn [N]              the next N dumps that start a transaction
#                                   are cut before its last event
#     drop [--rst]                  drops every connection now
#     restart [SECS] / crash [SECS] as a restart of mysqld (port kept): every
#                                   connection dropped, the sha2 cache emptied,
#                                   the current file closed (STOP; nothing
#                                   after a crash) and a new one opened
#     set-uuid UUID                 @@server_uuid changes
#     switchover [UUID|-] [FIRST_FILE] [SERVER_ID]
#                                   another server with the same transactions
#                                   in files of its own (names and offsets
#                                   differ); connections dropped, cache empty
#     rotate                        FLUSH BINARY LOGS
#     purge-to NAME / purge         PURGE BINARY LOGS TO NAME / rotate and purge
#                                   all before the new file (gtid_purged grows)
#     cache empty|prime|show        caching_sha2_password's cache
#     set-var NAME VALUE            a global variable's value
#     gtid-mode ON|OFF              gtid_mode changes
#     status                        JSON: files, held, gtid_executed, gtid_purged,
#                                   server_uuid, connections, dumps, counters
#   myd_status NAME [PYEXPR]        status, or PYEXPR of it (s is the dict),
#                                   e.g. myd_status src 's["dumps"]'
#   myd_q NAME 'SQL'                runs SQL on the double with the mariadb
#                                   client as godwit (tab-separated, no header)
#   myd_stop NAME / myd_kill NAME   SIGTERM / SIGKILL
#   myd_clients                     the cross-checking clients: sets MYD_PYTHON (a
#                                   python3 with PyMySQL and cryptography) and
#                                   MYD_NODE (node_modules with @vlasky/zongji,
#                                   mysql2, mysql); SKIP without npm, fails on
#                                   anything else missing
#   myd_npm PKG@VERSION...          installs npm packages once per machine (a
#                                   cache under TMPDIR keyed by the list) and
#                                   prints the node_modules directory; fails
#                                   without node and npm

MYD_SERVER=$GW_ROOT/tests/mysqld/mysqld.py

myd_start() {
	local name=$1
	shift
	local dir="$GW_TMP/myd-$name" args=() pid
	while [ $# -gt 0 ]; do
		case "$1" in
		--forward)
			local fp="${2}_PORT"
			[ -n "${!fp:-}" ] || fail "myd_start $name: no server $2 to forward to"
			args+=(--forward "127.0.0.1:${!fp}")
			shift 2
			;;
		*)
			args+=("$1")
			shift
			;;
		esac
	done
	mkdir -p "$dir"
	rm -f "$dir/port"
	python3 "$MYD_SERVER" --dir "$dir" --port-file "$dir/port" --parent-pid $$ \
		--password "$GW_PASSWORD" "${args[@]+"${args[@]}"}" >>"$dir/stderr" 2>&1 &
	pid=$!
	disown "$pid"
	echo "$pid" >"$dir/launcher.pid"
	local deadline=$(($(date +%s) + 60))
	until [ -s "$dir/port" ]; do
		if ! gw_alive "$pid" || [ "$(date +%s)" -gt "$deadline" ]; then
			cat "$dir/stderr" >&2
			fail "the MySQL double $name did not start"
		fi
		sleep 0.05
	done
	printf -v "${name}_PORT" '%s' "$(cat "$dir/port")"
	printf -v "${name}_DIR" '%s' "$dir"
	printf -v "${name}_CA" '%s' "$dir/ca.pem"
	printf -v "${name}_LOG" '%s' "$dir/mysqld.log"
}

myd_ctl() {
	local name=$1 dir
	shift
	dir="$GW_TMP/myd-$name"
	python3 "$MYD_SERVER" ctl "$dir/ctl.sock" "$@"
}

myd_status() {
	local name=$1 expr=${2:-}
	if [ -z "$expr" ]; then
		myd_ctl "$name" status
		return
	fi
	myd_ctl "$name" status | python3 -c 'import json, sys
s = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$expr"
}

myd_q() {
	local port="${1}_PORT" tls=--skip-ssl
	# Connector/C counts a connection on which TLS was asked for as secure
	# even when the server offers none, and then sends the password of a
	# full caching_sha2_password authentication in clear (which MySQL, and
	# the double, refuse): TLS only when the double offers it.
	[ -f "$GW_TMP/myd-$1/ca.pem" ] && tls=--ssl
	mariadb --no-defaults -h127.0.0.1 -P"${!port}" -ugodwit -p"$GW_PASSWORD" $tls \
		--batch --raw -N -e "$2"
}

myd_stop() {
	local dir="$GW_TMP/myd-$1" pid
	pid=$(cat "$dir/mysqld.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while gw_alive "$pid"; do sleep 0.05; done
}

myd_kill() {
	local dir="$GW_TMP/myd-$1" pid
	pid=$(cat "$dir/mysqld.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null || true
	while gw_alive "$pid"; do sleep 0.05; done
}

myd_npm() {
	command -v node >/dev/null && command -v npm >/dev/null || return 1
	local key root dir
	key=$(echo "$*" | sha256sum | cut -c1-16)
	root="${TMPDIR:-/tmp}/godwit-npm-$(id -u)"
	dir=$root/$key
	mkdir -p "$root"
	(
		flock 9
		if [ ! -f "$dir/.ready" ]; then
			rm -rf "$dir"
			mkdir -p "$dir"
			(cd "$dir" && timeout 300 npm install --no-audit --no-fund --no-save --silent "$@" \
				>"$dir/npm.log" 2>&1) || { cat "$dir/npm.log" >&2; exit 1; }
			touch "$dir/.ready"
		fi
	) 9>"$root/$key.lock" || return 1
	echo "$dir/node_modules"
}

myd_clients() {
	local p
	MYD_PYTHON=
	for p in python3 /usr/bin/python3; do
		"$p" -c 'import pymysql, cryptography' 2>/dev/null && MYD_PYTHON=$p && break
	done
	[ -n "$MYD_PYTHON" ] || fail "python3-pymysql and python3-cryptography are needed (scripts/install-deps)"
	if ! MYD_NODE=$(myd_npm @vlasky/zongji@0.9.0 mysql@2.18.1); then
		command -v npm >/dev/null || { echo "SKIP: npm not available"; exit 0; }
		fail "npm install of the cross-checking clients"
	fi
}
