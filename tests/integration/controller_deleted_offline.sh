#!/usr/bin/env bash
# Specs deleted while no controller ran: the next controller compares what
# is declared with what exists (the migrations of its state directory, and
# with --git those recorded in the destinations' godwit_meta) and carries
# each deletion out as if it had seen it live: the whitelist entries
# removed, Stopped with "spec deleted", one audit line (with --git the
# deleting commit and its author), the data kept, the other migrations
# undisturbed, and nothing done twice by a later run.
#  1. --dir, --once: one deleted migration with rds whitelist entries (the
#     cloud emulator) and one plain, whose lock a session of the previous
#     run still holds for a moment; a migration another spec source
#     recorded on the destination is left alone.
#  2. --dir, long-running: a deletion between two controllers.
#  3. --git, --once: the deleting commit and author; a migration whose
#     state directory entry was lost is found in godwit_meta and
#     attributed through the branch's history; one of them had rds
#     whitelist entries (a cross-account source through a RAM role): they
#     are taken back from what its destination recorded (instance, region,
#     account, role, cidrs), with the assumed role.
#  4. --git, long-running.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/cloud.sh"

mdb_start src
mdb_start dst
ctl_require engine
for db in sa sb sc sd se; do
	mdb_q src "CREATE DATABASE $db; CREATE TABLE $db.t (id INT PRIMARY KEY); INSERT INTO $db.t VALUES (1), (2)"
done

# spec FILE NAME DB TYPES [EXTRA]
spec() {
	write_spec "$1" "$2" "$4" "${5:-}"
	sed -i "s/- database: shop/- database: $3/" "$1"
}
deletes() { # STATE_DIR NAME: the audit's delete lines of NAME
	audit_count "$1" "$2" delete end
}
stopped_deleted() { # STATE_DIR NAME
	phase_is "$1" "$2" Stopped && grep -q "^spec deleted" "$1/tasks/$2/message"
}

# --- 1. --dir, --once -------------------------------------------------
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAItest ALIBABA_CLOUD_ACCESS_KEY_SECRET=test-secret-x
cat >"$GW_TMP/cloud.json" <<JSON
{"accounts": {"1": {"keys": {"LTAItest": {"secret": "test-secret-x"}}},
              "2": {"roles": {"godwit-x": {"trust": ["1"]}}}},
 "instances": {"rm-dst": {"account": "1", "region": "cn-hangzhou", "host": "127.0.0.1",
               "port": $dst_PORT, "engine": "MariaDB", "engineVersion": "10.11",
               "storageGB": 20, "diskUsed": 1048576, "groups": {"default": "127.0.0.1"}},
               "rm-src": {"account": "2", "region": "cn-hangzhou", "host": "127.0.0.1",
               "port": $src_PORT, "engine": "MariaDB", "engineVersion": "10.11",
               "storageGB": 20, "diskUsed": 1048576, "groups": {"default": "127.0.0.1"}}}}
JSON
emu_start "$GW_TMP/cloud.json"
D=$GW_TMP/dir
S=$GW_TMP/state1
mkdir -p "$D"
spec "$D/the-keeper.yaml" keep sa "schema, full"
spec "$D/plain.yaml" plain sb "schema, full, incremental"
spec "$D/wl.yaml" wl sc "schema, full, incremental" "  whitelist: {cidrs: [\"198.51.100.7\"]}"
# wl's destination is the rds instance rm-dst (the same server, found
# through the emulator)
spec_rds "$D/wl.yaml" destination '{region: cn-hangzhou, instanceId: rm-dst}'
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-1a.log" 2>&1 ||
	fail "first --once run"
for n in keep plain wl; do
	phase_is "$S" $n Completed || phase_is "$S" $n Incremental || fail "$n converged: $(cat "$S/tasks/$n/phase")"
done
group_is() { [ "$(emu_state 's["instances"]["rm-dst"]["groups"].get("godwit")')" = "$1" ]; }
group_is 198.51.100.7 || fail "wl added its whitelist entry"
# a migration of another spec source on the same destination (a row of
# godwit_meta no spec here names, and no state)
mdb_q dst "INSERT INTO godwit_meta.task_stage (task, stage, immutable_hash) VALUES ('theirs', 3, 'x')"

rm "$D/plain.yaml" "$D/wl.yaml"
# The sessions of a controller that just ended hold its locks until the
# server sees their connections close: one still holding plain's lock when
# this run takes it (after the 2 s that confirm a deletion) must not make
# the run take plain for another controller's and pass its deletion over.
mdb_q dst "SELECT GET_LOCK('godwit:plain', 0), SLEEP(4)" >/dev/null &
holder=$!
lock_used() { [ "$(mdb_q dst "SELECT IS_USED_LOCK('godwit:plain') IS NOT NULL")" = 1 ]; }
wait_for "plain's lock held by a lingering session" 10 lock_used
set +e
timeout 120 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-1b.log" 2>&1
rc=$?
set -e
wait "$holder"
assert_eq 0 "$rc" "--once after the deletions"
for n in plain wl; do
	stopped_deleted "$S" $n || fail "$n: $(cat "$S/tasks/$n/phase") $(cat "$S/tasks/$n/message")"
	assert_eq 1 "$(deletes "$S" $n)" "$n: one delete line"
done
group_is null || fail "wl's whitelist entry removed: $(emu_state 's["instances"]["rm-dst"]["groups"]')"
assert_eq 127.0.0.1 "$(emu_state 's["instances"]["rm-dst"]["groups"]["default"]')" "other group untouched"
assert_eq 1 "$(audit_count "$S" wl whitelist-remove end)" "the removal audited"
python3 - "$S/audit.jsonl" <<'PY' || fail "the delete line names the file"
import json, sys
d = [x for x in map(json.loads, open(sys.argv[1])) if x["action"] == "delete" and x["task"] == "plain"]
assert d[0]["revision"]["file"] == "plain.yaml" and d[0]["revision"]["author"] is None, d
PY
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM sb.t')" "plain's data kept"
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM sc.t')" "wl's data kept"
phase_is "$S" keep Completed || fail "keep disturbed"
assert_eq 1 "$(audit_count "$S" keep full start)" "keep copied once"
[ ! -e "$S/tasks/theirs" ] || fail "another source's migration was taken up with --dir"
assert_eq 0 "$(deletes "$S" theirs)" "no delete line for another source's migration"
grep -q "migration theirs is recorded on the destination" "$GW_TMP/controller-1b.log" || fail "theirs is said"
# a third run finds nothing more to do
timeout 60 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-1c.log" 2>&1 ||
	fail "third --once run"
for n in plain wl; do assert_eq 1 "$(deletes "$S" $n)" "$n: still one delete line"; done
# a spec saved broken while no controller ran is that migration, Invalid:
# not a deletion of it
cp "$D/the-keeper.yaml" "$GW_TMP/keep.yaml"
printf 'apiVersion: godwit/v1\nkind: Migration\nmetadata:\n  name: keep\nspec:\n  sorce: {}\n' >"$D/the-keeper.yaml"
set +e
timeout 60 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-1d.log" 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "--once with a broken spec"
phase_is "$S" keep Invalid || fail "keep is Invalid: $(cat "$S/tasks/keep/phase")"
assert_eq 0 "$(deletes "$S" keep)" "a broken spec is not a deleted one"
cp "$GW_TMP/keep.yaml" "$D/the-keeper.yaml"
timeout 60 "$GODWIT" controller --dir "$D" --state-dir "$S" --once >"$GW_TMP/controller-1e.log" 2>&1 ||
	fail "--once with keep fixed"
phase_is "$S" keep Completed || fail "keep is back"
assert_eq 1 "$(audit_count "$S" keep full start)" "keep still copied once"
mdb_q dst "DELETE FROM godwit_meta.task_stage WHERE task = 'theirs'"

# --- 2. --dir, long-running -------------------------------------------
S=$GW_TMP/state2
D=$GW_TMP/dir2
mkdir -p "$D"
spec "$D/one.yaml" one sd "schema, full, incremental" "      renameTo: sd2"
spec "$D/two.yaml" two se "schema, full, incremental" "      renameTo: se2"
ctl_start A --dir "$D" --state-dir "$S"
wait_for "one streams" 60 phase_is "$S" one Incremental
wait_for "two streams" 60 phase_is "$S" two Incremental
kill -TERM "$A"
wait "$A" || true
rm "$D/two.yaml"
ctl_start B --dir "$D" --state-dir "$S"
wait_for "two stopped by its deletion" 30 stopped_deleted "$S" two
assert_eq 1 "$(deletes "$S" two)" "two: one delete line"
wait_for "one streams again" 30 phase_is "$S" one Incremental
mdb_q src "INSERT INTO sd.t VALUES (3)"
wait_for "one still applies changes" 30 dst_is "SELECT COUNT(*) FROM sd2.t" 3
assert_eq 0 "$(deletes "$S" one)" "one is not deleted"
kill -TERM "$B"
wait "$B" || true

# --- 3. --git, --once -------------------------------------------------
mdb_q dst "DROP DATABASE godwit_meta"
ORIGIN=$GW_TMP/origin.git
W=$GW_TMP/work
S=$GW_TMP/state3
git init -q --bare -b main "$ORIGIN"
git init -q -b main "$W"
git -C "$W" remote add origin "file://$ORIGIN"
mkdir -p "$W/m"
commit() { # AUTHOR MESSAGE: prints the commit
	git -C "$W" add -A
	GIT_AUTHOR_NAME="$1" GIT_AUTHOR_EMAIL="$(echo "$1" | tr 'A-Z ' 'a-z.')@example.com" \
		GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com git -C "$W" commit -qm "$2"
	git -C "$W" rev-parse HEAD
}
spec "$W/m/ga.yaml" ga sa "schema, full, incremental" "      renameTo: ga"
spec "$W/m/gb.yaml" gb sb "schema, full, incremental" "      renameTo: gb"
spec "$W/m/gc.yaml" gc sc "schema, full, incremental" "      renameTo: gc"
# gw: both endpoints rds, the source in another account (a RAM role)
spec "$W/m/gw.yaml" gw se "schema, full, incremental" "      renameTo: gw
  whitelist: {cidrs: [\"192.0.2.55\"]}"
spec_rds "$W/m/gw.yaml" source '{region: cn-hangzhou, instanceId: rm-src, accountId: "2", roleName: godwit-x}'
spec_rds "$W/m/gw.yaml" destination '{region: cn-hangzhou, instanceId: rm-dst}'
commit "Ada Lovelace" "four migrations" >/dev/null
git -C "$W" push -q origin main
timeout 120 "$GODWIT" controller --git "file://$ORIGIN" --path m --state-dir "$S" --once \
	>"$GW_TMP/controller-3a.log" 2>&1 || fail "first --git --once run"
for n in ga gb gc gw; do phase_is "$S" $n Incremental || fail "$n streams"; done
for i in rm-src rm-dst; do
	assert_eq 192.0.2.55 "$(emu_state "s[\"instances\"][\"$i\"][\"groups\"].get(\"godwit\")")" "gw's entry on $i"
done
assert_eq "$(printf 'destination\tcn-hangzhou\trm-dst\t\t\t192.0.2.55\nsource\tcn-hangzhou\trm-src\t2\tgodwit-x\t192.0.2.55')" \
	"$(mdb_q dst "SELECT role, region, instance_id, account_id, role_name, cidr FROM godwit_meta.whitelist WHERE task = 'gw' ORDER BY role")" \
	"gw's entries recorded on its destination, with the role to assume"
git -C "$W" rm -q m/gb.yaml m/gc.yaml m/gw.yaml
cdel=$(commit "Frank Remover" "remove gb, gc and gw")
echo "# unrelated" >"$W/README"
commit "Someone Else" "a later commit" >/dev/null
git -C "$W" push -q origin main
rm -rf "$S/tasks/gc" "$S/tasks/gw" # their state is lost: only godwit_meta knows them
mod_before=$(emu_calls ModifySecurityIps 200)
timeout 120 "$GODWIT" controller --git "file://$ORIGIN" --path m --state-dir "$S" --once \
	>"$GW_TMP/controller-3b.log" 2>&1 || fail "--git --once after the deletion"
for n in gb gc gw; do
	stopped_deleted "$S" $n || fail "$n: $(cat "$S/tasks/$n/phase" 2>/dev/null)"
	assert_eq 1 "$(deletes "$S" $n)" "$n: one delete line"
done
python3 - "$S/audit.jsonl" "$cdel" <<'PY' || fail "the delete lines name the deleting commit and its author"
import json, sys
dels = {d["task"]: d["revision"] for d in map(json.loads, open(sys.argv[1])) if d["action"] == "delete"}
assert set(dels) == {"gb", "gc", "gw"}, dels
for n, r in dels.items():
    assert r["commit"] == sys.argv[2], (n, r)
    assert r["author"] == "Frank Remover <frank.remover@example.com>", (n, r)
    assert r["file"] == n + ".yaml" and r["commitTime"].endswith("Z"), (n, r)
PY
grep -q 'lastAttemptedRevision: "'"$cdel"'"' "$S/tasks/gc/status.yaml" || fail "gc's status names the commit"
# gw's entries taken back from both instances, the source's through the role
for i in rm-src rm-dst; do
	assert_eq null "$(emu_state "s[\"instances\"][\"$i\"][\"groups\"].get(\"godwit\")")" "gw's entry removed from $i"
	assert_eq 127.0.0.1 "$(emu_state "s[\"instances\"][\"$i\"][\"groups\"][\"default\"]")" "$i: other group untouched"
done
python3 - "$EMU_LOG" "$mod_before" <<'PY' || fail "the removal calls"
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
mod = [d for d in log if d["action"] == "ModifySecurityIps" and d["status"] == 200][int(sys.argv[2]):]
by = {d["params"]["DBInstanceId"]: d for d in mod}
assert len(mod) == 2 and set(by) == {"rm-src", "rm-dst"}, mod
for d in mod:
    assert d["params"]["ModifyMode"] == "Delete" and d["params"]["SecurityIps"] == "192.0.2.55", d
assert by["rm-src"]["account"] == "2" and by["rm-src"]["params"]["AccessKeyId"].startswith("STS."), by["rm-src"]
assert by["rm-dst"]["account"] == "1", by["rm-dst"]
PY
assert_eq 1 "$(audit_count "$S" gw whitelist-remove end)" "gw's removal audited"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.whitelist WHERE task = 'gw'")" "gw's record forgotten"
grep -q "its recorded whitelist entries are taken back" "$GW_TMP/controller-3b.log" || fail "the log says so"
phase_is "$S" ga Incremental || fail "ga disturbed"
assert_eq 2 "$(mdb_q dst 'SELECT COUNT(*) FROM gc.t')" "gc's data kept"
timeout 60 "$GODWIT" controller --git "file://$ORIGIN" --path m --state-dir "$S" --once \
	>"$GW_TMP/controller-3c.log" 2>&1 || fail "a third --git --once run"
for n in gb gc gw; do assert_eq 1 "$(deletes "$S" $n)" "$n: still one delete line"; done

# --- 4. --git, long-running -------------------------------------------
git -C "$W" rm -q m/ga.yaml
mkdir -p "$W/m" # git rm took the emptied folder
spec "$W/m/gd.yaml" gd sd "schema, full" "      renameTo: gd"
cdel=$(commit "Grace Deleter" "ga goes, gd comes")
git -C "$W" push -q origin main
ctl_start G --git "file://$ORIGIN" --path m --state-dir "$S" --interval 10m
wait_for "ga stopped by its deletion" 30 stopped_deleted "$S" ga
wait_for "gd completes" 60 phase_is "$S" gd Completed
python3 - "$S/audit.jsonl" "$cdel" <<'PY' || fail "ga's delete line"
import json, sys
d = [x for x in map(json.loads, open(sys.argv[1])) if x["action"] == "delete" and x["task"] == "ga"]
assert len(d) == 1 and d[0]["revision"]["commit"] == sys.argv[2], d
assert d[0]["revision"]["author"].startswith("Grace Deleter"), d
PY
kill -TERM "$G"
wait "$G" || true
echo ok
