# Helpers for the controller's integration tests (sourced after harness.sh).
#
#   write_spec FILE NAME TYPES [EXTRA_YAML]   a spec from server src to dst,
#                                             database shop, migrationTypes TYPES
#   ctl_start VAR ARGS...                     starts `godwit controller ARGS` in
#                                             the background; VAR gets its pid,
#                                             the log is $GW_TMP/controller-VAR.log
#   phase_is STATE_DIR NAME PHASE             true when the phase file says so
#   audit_count STATE_DIR NAME ACTION EVENT   audit lines of that kind
#   dst_is SQL WANT                           the query on dst returns WANT

write_spec() {
	local file=$1 name=$2 types=$3 extra=${4:-}
	{
		printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: %s\nspec:\n' "$name"
		printf '  source:\n'
		spec_endpoint src | sed 's/^/  /'
		printf '  destination:\n'
		spec_endpoint dst | sed 's/^/  /'
		printf '  migrationTypes: [%s]\n' "$types"
		printf '  objects:\n    - database: shop\n'
		[ -n "$extra" ] && printf '%s\n' "$extra"
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

ctl_start() {
	local var=$1
	shift
	"$GODWIT" controller "$@" >>"$GW_TMP/controller-$var.log" 2>&1 &
	printf -v "$var" '%s' "$!"
}

phase_is() {
	[ "$(cat "$1/tasks/$2/phase" 2>/dev/null)" = "$3" ]
}

# dst_is SQL WANT: the query on server dst returns WANT (for wait_for).
dst_is() {
	[ "$(mdb_q dst "$1" 2>/dev/null)" = "$2" ]
}

audit_count() {
	local n
	n=$(grep -c "\"task\":\"$2\",\"action\":\"$3\",\"event\":\"$4\"" "$1/audit.jsonl" 2>/dev/null || true)
	echo "${n:-0}"
}

# Prints the tail of the controller log when the test fails, then the
# harness cleanup (which reads the exit status from $?).
ctl_cleanup() {
	local rc=$?
	local f
	if [ "$rc" -ne 0 ]; then
		for f in "$GW_TMP"/controller-*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (tail) ---" >&2
			tail -60 "$f" >&2
		done
	fi
	return "$rc"
}
trap 'ctl_cleanup && gw_cleanup || gw_cleanup' EXIT

# ctl_require [engine|git]: skips the test (exit 0 after "SKIP: ...") while a
# part it needs is not on main yet: the spec loader, the directory source,
# with "engine" the engine's actions, with "git" the git source. Call after
# mdb_start src and dst.
ctl_require() {
	local out
	[ -z "${CTL_NO_SKIP:-}" ] || return 0 # a test binary with stand-ins
	mkdir -p "$GW_TMP/req" "$GW_TMP/req-empty"
	write_spec "$GW_TMP/req/x.yaml" req-x "schema, full"
	if ! "$GODWIT" validate "$GW_TMP/req/x.yaml" >/dev/null 2>&1; then
		echo "SKIP: the spec loader is not there yet"
		exit 0
	fi
	if [ "${1:-}" = git ]; then
		out=$("$GODWIT" controller --git "file://$GW_TMP/req-none" --state-dir "$GW_TMP/req-state" --once 2>&1 || true)
	else
		out=$("$GODWIT" controller --dir "$GW_TMP/req-empty" --state-dir "$GW_TMP/req-state" --once 2>&1 || true)
	fi
	case "$out" in *"not built into this binary"*)
		echo "SKIP: the spec source is not there yet"
		exit 0
		;;
	esac
	if [ "${1:-}" = engine ]; then
		out=$("$GODWIT" _action "$GW_TMP/req/x.yaml" precheck 2>&1 || true)
		case "$out" in *"not implemented"*)
			echo "SKIP: the engine actions are not there yet"
			exit 0
			;;
		esac
	fi
	rm -rf "$GW_TMP/req" "$GW_TMP/req-empty" "$GW_TMP/req-state"
}
