# Helpers for the commit status tests (sourced after harness.sh).
#
#   forge_start VAR ARGS...   starts tests/lib/forge_emulator.py ARGS on a
#                             free loopback port; VAR gets its base URL
#                             (http://127.0.0.1:PORT)
#   forge_get URL PATH        GET of a test-only endpoint (/_emu/...)
#   forge_ctl URL PATH JSON   POST to a test-only endpoint

forge_start() {
	local var=$1 pf
	shift
	pf=$(mktemp "$GW_TMP/forge-port.XXXXXX")
	rm -f "$pf"
	python3 "$GW_ROOT/tests/lib/forge_emulator.py" --port-file "$pf" --parent-pid $$ "$@" \
		>>"$GW_TMP/forge.err" 2>&1 &
	disown $!
	wait_for "the forge emulator to listen" 60 test -s "$pf"
	printf -v "$var" 'http://127.0.0.1:%s' "$(cat "$pf")"
	# a proxy of the machine must not stand between the tests and it
	export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
	export NO_PROXY=$no_proxy
}

forge_get() {
	curl -fsS "$1$2"
}

forge_ctl() {
	curl -fsS -X POST --data "$3" "$1$2" >/dev/null
}
