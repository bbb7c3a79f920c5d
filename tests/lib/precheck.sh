# Helpers for the precheck tests (sourced after harness.sh).
#
#   run_precheck SPEC                 OUT and RC of `godwit precheck SPEC`
#   expect SPEC ID RESULT WORDS...    item ID has RESULT, its cause and fix
#                                     hold every one of WORDS
#   only_pass SPEC ID                 item ID passes, and only passes

# run_precheck SPEC: OUT and RC of `godwit precheck` (stdout and stderr).
run_precheck() {
	RC=0
	OUT=$("$GODWIT" precheck "$1" 2>&1) || RC=$?
}

# expect SPEC ID RESULT WORDS...: item ID has RESULT, and its cause and fix
# (the line and the "fix:" line under it) hold every one of WORDS; the exit
# status is 1 exactly when some item fails.
expect() {
	local spec=$1 id=$2 res=$3 w block ok=
	shift 3
	run_precheck "$spec"
	if grep -Eq '^[a-z-]+ +fail ' <<<"$OUT"; then
		[ "$RC" = 1 ] || fail "$id: exit $RC with a failed item: $OUT"
	else
		[ "$RC" = 0 ] || fail "$id: exit $RC without a failed item: $OUT"
	fi
	# every line of this item, each with its fix line appended
	while IFS= read -r block; do
		ok=1
		for w in "$@"; do
			case "$block" in *"$w"*) ;; *) ok= ;; esac
		done
		[ -n "$ok" ] && return 0
	done < <(echo "$OUT" | awk -v id="$id" -v res="$res" '
		$1 == id && $2 == res { if (b != "") print b; b = $0; next }
		b != "" && /^ +fix: / { b = b " " $0; print b; b = ""; next }
		{ if (b != "") print b; b = "" }
		END { if (b != "") print b }')
	fail "item $id should be $res with [$*]:
$OUT"
}

# only_pass SPEC ID: item ID passes, no line of it fails or warns.
only_pass() {
	run_precheck "$1"
	grep -Eq "^$2 +pass " <<<"$OUT" || fail "item $2 should pass: $OUT"
	if grep -Eq "^$2 +(fail|warn) " <<<"$OUT"; then fail "item $2 should only pass: $OUT"; fi
}

