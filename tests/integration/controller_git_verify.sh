# --verify-commits: the controller acts only on a tip commit whose
# signature verifies against the operator's keys, with keys made here and
# commits signed by git itself, once with SSH keys (an allowed-signers
# file) and once with OpenPGP keys (an armoured keyring):
#   a signed commit is applied; an unsigned one is refused (nothing new
#   applied, Verified False naming the commit, an audit line with its
#   author); one signed by an unknown key that claims a trusted committer
#   is refused; a later signed commit is applied again (with what the
#   refused commits carried); the branch moved back to an older signed
#   commit is refused; a restart under a refused tip keeps the commit last
#   verified (a deletion in the refused commit deletes nothing).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"

for tool in ssh-keygen gpg gpgv; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps installs it)"
done
mdb_start src
mdb_start dst
ctl_require git
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); INSERT INTO shop.t VALUES (1)"

K=$GW_TMP/keys
mkdir -p "$K"
chmod 700 "$K"
# SSH: alice is trusted (namespace git only), mallory is not.
ssh-keygen -q -t ed25519 -N '' -C alice -f "$K/alice"
ssh-keygen -q -t ed25519 -N '' -C mallory -f "$K/mallory"
printf 'alice@example.com namespaces="git" %s\n' "$(cut -d' ' -f1,2 "$K/alice.pub")" >"$K/allowed_signers"
# OpenPGP: both keys in the signers' home; the keyring holds alice's only.
export GNUPGHOME=$K/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "Alice <alice@example.com>" ed25519 sign never 2>/dev/null
gpg --batch --quiet --passphrase '' --quick-gen-key "Mallory <mallory@example.com>" ed25519 sign never 2>/dev/null
gpg --armor --export alice@example.com >"$K/keyring.asc"
gpg --export alice@example.com >"$K/keyring.gpg"
alice_fpr=$(gpg --with-colons --fingerprint alice@example.com | awk -F: '/^fpr/ {print $10; exit}')

# commit_as KIND WHO MSG: commits everything in $R, signed by WHO
# (trusted, untrusted) or not (unsigned). The author and committer are
# whatever the caller exported.
commit_as() {
	local kind=$1 who=$2 msg=$3 sign=()
	case "$kind:$who" in
	ssh:trusted) sign=(-c gpg.format=ssh -c "user.signingkey=$K/alice.pub" commit -S) ;;
	ssh:untrusted) sign=(-c gpg.format=ssh -c "user.signingkey=$K/mallory.pub" commit -S) ;;
	pgp:trusted) sign=(-c gpg.format=openpgp -c user.signingkey=alice@example.com commit -S) ;;
	pgp:untrusted) sign=(-c gpg.format=openpgp -c user.signingkey=mallory@example.com commit -S) ;;
	*:unsigned) sign=(commit --no-gpg-sign) ;;
	esac
	git -C "$R" add -A
	git -C "$R" "${sign[@]}" -q --allow-empty -m "$msg"
	git -C "$R" rev-parse HEAD
}
as_alice() { export GIT_AUTHOR_NAME="Alice" GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com; }

# verdict KEY: a value of STATE_DIR/source.yaml's verified block.
verdict() { sed -n "s/^  $1: \"\\(.*\\)\"\$/\\1/p" "$S/source.yaml" 2>/dev/null; }
judged() { [ "$(verdict commit)" = "$1" ] && [ "$(verdict reason)" = "$2" ]; }
# the audit line of the verdict on COMMIT (python prints it as JSON)
audit_of() {
	python3 - "$S/audit.jsonl" "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["action"] == "verify-commit" and d["revision"]["commit"] == sys.argv[2]:
        print(json.dumps(d))
PY
}

scenario() {
	local kind=$1 keys=$2 signer=$3 c1 c2 c3 c4 c5 a b st out
	R=$GW_TMP/repo-$kind
	S=$GW_TMP/state-$kind
	a=$kind-a
	b=$kind-b
	git init -q -b main "$R"
	mkdir -p "$R/m"
	as_alice
	write_spec "$R/m/a.yaml" "$a" schema "      renameTo: ${kind}_a"
	c1=$(commit_as "$kind" trusted "add $a")

	ctl_start "C_$kind" --git "file://$R" --branch main --path m --interval 1s --state-dir "$S" \
		--verify-commits "$keys"
	local pid_var="C_$kind"
	wait_for "$kind: the signed commit is applied" 60 phase_is "$S" "$a" Completed
	judged "$c1" Signed || fail "$kind: source.yaml: $(cat "$S/source.yaml")"
	assert_eq "$signer" "$(verdict signer)" "$kind: the signer comes from the key file"
	grep -q 'type: Verified' -A2 "$S/tasks/$a/status.yaml" || fail "$kind: no Verified condition"
	st=$(grep -A4 'type: Verified' "$S/tasks/$a/status.yaml")
	assert_contains "$st" 'status: "True"' "$kind: Verified True"
	assert_contains "$st" "${c1:0:12} signed by $signer" "$kind: the condition names commit and signer"
	audit_of "$c1" | grep -q '"result": "ok"' || fail "$kind: no audit line for the verified commit"

	# Unsigned, by someone else: nothing new is applied.
	write_spec "$R/m/b.yaml" "$b" schema "      renameTo: ${kind}_b"
	c2=$(GIT_AUTHOR_NAME=Mallory GIT_AUTHOR_EMAIL=mallory@example.com commit_as "$kind" unsigned "add $b, unsigned")
	wait_for "$kind: the unsigned commit is judged" 30 judged "$c2" Unsigned
	assert_eq "$c1" "$(verdict appliedRevision)" "$kind: still the specs of the verified commit"
	[ ! -e "$S/tasks/$b" ] || fail "$kind: a spec of the unsigned commit was acted on"
	wait_for "$kind: Verified False on the migration" 10 grep -q "${c2:0:12} by Mallory <mallory@example.com> refused: the commit is not signed" "$S/tasks/$a/status.yaml"
	st=$(grep -A4 'type: Verified' "$S/tasks/$a/status.yaml")
	assert_contains "$st" 'status: "False"' "$kind: Verified False"
	assert_contains "$st" 'reason: "Unsigned"' "$kind: the reason"
	assert_contains "$st" "acting on the specs of ${c1:0:12}" "$kind: the condition says what is applied"
	audit_of "$c2" | python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
assert d["result"] == "refused" and d["reason"] == "Unsigned", d
assert d["revision"]["author"] == "Mallory <mallory@example.com>", d
assert d["signer"] is None, d
' || fail "$kind: the audit line of the refusal"
	out=$("$GODWIT" status --state-dir "$S")
	assert_contains "$out" "NOT VERIFIED: commit ${c2:0:12}" "$kind: godwit status says it"
	out=$("$GODWIT" status "$a" --state-dir "$S")
	assert_contains "$out" "Verified" "$kind: godwit status NAME lists the condition"

	# Signed by a key not in the file, claiming to be Alice (author and
	# committer): refused all the same.
	c3=$(commit_as "$kind" untrusted "looks like alice")
	wait_for "$kind: the unknown key is judged" 30 judged "$c3" UnknownKey
	[ ! -e "$S/tasks/$b" ] || fail "$kind: a spec signed by an unknown key was acted on"
	assert_eq "" "$(verdict signer)" "$kind: no signer for an unknown key"
	assert_not_contains "$(verdict message)" "signed by" "$kind: the committer's claim is not taken"
	audit_of "$c3" | grep -q '"reason": "UnknownKey"' || fail "$kind: audit line of the unknown key"

	# A later signed commit: applied again, with what the refused ones carried.
	c4=$(commit_as "$kind" trusted "reviewed")
	wait_for "$kind: the next signed commit is applied" 30 judged "$c4" Signed
	wait_for "$kind: $b runs now" 60 phase_is "$S" "$b" Completed
	assert_eq "$c4" "$(verdict appliedRevision)" "$kind: applied"
	grep -A4 'type: Verified' "$S/tasks/$b/status.yaml" | grep -q 'status: "True"' || fail "$kind: Verified True again"

	# The branch moved back to an older signed commit: refused.
	git -C "$R" update-ref refs/heads/main "$c1"
	wait_for "$kind: the rollback is judged" 30 judged "$c1" NotDescendant
	assert_eq "$c4" "$(verdict appliedRevision)" "$kind: the rollback applies nothing"
	assert_contains "$(verdict message)" "does not descend from $c4" "$kind: the rollback is explained"
	git -C "$R" update-ref refs/heads/main "$c4"
	wait_for "$kind: back on the verified commit" 30 judged "$c4" Signed

	# A restart under a refused tip (which deletes a spec): the commit last
	# verified is kept, nothing is deleted.
	kill -TERM "${!pid_var}"
	wait "${!pid_var}" || fail "$kind: controller exit status $?"
	git -C "$R" rm -q m/a.yaml
	c5=$(commit_as "$kind" unsigned "delete $a, unsigned")
	ctl_start "D_$kind" --git "file://$R" --branch main --path m --interval 1s --state-dir "$S" \
		--verify-commits "$keys"
	pid_var="D_$kind"
	wait_for "$kind: the refused tip is judged after a restart" 30 judged "$c5" Unsigned
	assert_eq "$c4" "$(verdict appliedRevision)" "$kind: the verified commit survives a restart"
	wait_for "$kind: the migrations are there again" 30 grep -q "${c5:0:12}" "$S/tasks/$a/status.yaml"
	# three seconds after the deletion would have been confirmed
	sleep 3
	phase_is "$S" "$a" Completed || fail "$kind: $a was touched by the refused deletion ($(cat "$S/tasks/$a/phase"))"
	assert_not_contains "$(cat "$S/tasks/$a/message")" "spec deleted" "$kind: nothing deleted"
	kill -TERM "${!pid_var}"
	wait "${!pid_var}" || fail "$kind: controller exit status $?"

	# Neither a private key nor the keyring's secret parts reach a file
	# the controller wrote or its log.
	for f in "$K/alice" "$K/mallory"; do
		sed -n 2p "$f" >"$GW_TMP/needle"
		! grep -rqF -f "$GW_TMP/needle" "$S" "$GW_TMP"/controller-*.log || fail "$kind: a private key leaked"
	done
	echo "ok: $kind"
}

scenario ssh "$K/allowed_signers" "alice@example.com"
scenario pgp "$K/keyring.asc" "Alice <alice@example.com>"
grep -q "\"key\":\"$alice_fpr\"" "$GW_TMP/state-pgp/audit.jsonl" || fail "the OpenPGP key's fingerprint is in the audit line"

# --once with no verified commit at all (a new state directory, an
# unsigned tip): exit 2 with the reason, nothing acted on.
RP=$GW_TMP/repo-pgp
S=$GW_TMP/state-none
set +e
"$GODWIT" controller --git "file://$RP" --branch main --path m --once --state-dir "$S" \
	--verify-commits "$K/keyring.gpg" >"$GW_TMP/none.log" 2>&1
rc=$?
set -e
assert_eq 2 "$rc" "--once with no verified commit at all"
assert_contains "$(cat "$GW_TMP/none.log")" "is not signed" "the reason is given"
[ ! -e "$S/tasks" ] || fail "nothing acted on without a verified commit"
# A binary keyring (gpg --export) is an OpenPGP keyring too.
git -C "$RP" update-ref refs/heads/main HEAD~1
S=$GW_TMP/state-bin
set +e
"$GODWIT" controller --git "file://$RP" --branch main --path m --once --state-dir "$S" \
	--verify-commits "$K/keyring.gpg" >"$GW_TMP/bin.log" 2>&1
rc=$?
set -e
assert_eq 0 "$rc" "--once on a signed tip with a binary keyring"
judged "$(git -C "$RP" rev-parse HEAD)" Signed || fail "binary keyring: $(cat "$GW_TMP/bin.log")"
# An allowed-signers file does not verify an OpenPGP signature.
S=$GW_TMP/state-kind
set +e
"$GODWIT" controller --git "file://$RP" --branch main --path m --once --state-dir "$S" \
	--verify-commits "$K/allowed_signers" >"$GW_TMP/kind.log" 2>&1
rc=$?
set -e
assert_eq 2 "$rc" "an OpenPGP signature against an allowed-signers file"
judged "$(git -C "$RP" rev-parse HEAD)" WrongKind || fail "WrongKind: $(cat "$S/source.yaml")"

set +e
"$GODWIT" controller --dir "$GW_TMP" --verify-commits "$K/allowed_signers" --once 2>"$GW_TMP/err"
rc=$?
set -e
assert_eq 2 "$rc" "--verify-commits without --git"
echo ok
