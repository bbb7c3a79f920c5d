#!/usr/bin/env bash
# A cross-account migration between two "RDS instances" of two Alibaba Cloud
# accounts: two local MariaDB servers registered in the cloud emulator. The
# controller holds the destination account's key and reaches the source
# through a RAM role the source account trusts. Asserted:
#  - the migration completes (schema + full) with endpoints, engine and
#    storage read through the API, one throttled and one 5xx call retried;
#  - the whitelist group "godwit" is written on both instances (source with
#    the assumed role's credentials) and removed at Completed, other groups
#    untouched, both steps in audit.jsonl; applying it again changes nothing;
#  - a wrong role name fails precheck with "role does not exist", an
#    untrusting role with "no permissions", each with the trust policy; a
#    full destination fails the storage item;
#  - deleting a running spec removes its entries (and only those), across
#    an expiry of the assumed credentials; a stopped one removes the rest;
#  - the key secret and the STS credentials appear in no file of the state
#    dir and in no controller log.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/controller.sh"
. "$(dirname "$0")/../lib/cloud.sh"

mdb_start src
mdb_start dst
ctl_require engine
mdb_q src "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20));
	INSERT INTO shop.t VALUES (1, 'a'), (2, 'b'), (3, 'c')"

SRC_ACCT=1000000000000001
CTL_ACCT=2000000000000002
SECRET='Kx7-secret-never-logged-Qz9'
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIcontroller
export ALIBABA_CLOUD_ACCESS_KEY_SECRET=$SECRET
unset ALIBABA_CLOUD_SECURITY_TOKEN

cat >"$GW_TMP/cloud.json" <<JSON
{"accounts": {
   "$CTL_ACCT": {"keys": {"LTAIcontroller": {"secret": "$SECRET"}}},
   "$SRC_ACCT": {"roles": {"godwit-cross-account": {"trust": ["$CTL_ACCT"]},
                           "untrusting": {"trust": ["3000000000000003"]}}}},
 "instances": {
   "rm-src": {"account": "$SRC_ACCT", "region": "cn-hangzhou", "host": "127.0.0.1",
              "port": $src_PORT, "engine": "MariaDB", "engineVersion": "10.11",
              "storageGB": 20, "diskUsed": 1048576,
              "groups": {"default": "127.0.0.1", "ops": "192.0.2.1"}},
   "rm-dst": {"account": "$CTL_ACCT", "region": "cn-hangzhou", "host": "127.0.0.1",
              "port": $dst_PORT, "engine": "MariaDB", "engineVersion": "10.11",
              "storageGB": 20, "diskUsed": 2097152,
              "groups": {"default": "127.0.0.1", "ops": "192.0.2.2"}},
   "rm-full": {"account": "$CTL_ACCT", "region": "cn-hangzhou", "host": "127.0.0.1",
               "port": $dst_PORT, "storageGB": 1, "diskUsed": 1073741824}}}
JSON
emu_start "$GW_TMP/cloud.json"

# rds_spec FILE NAME ROLE DST_INSTANCE TYPES; $CIDRS, $OBJ_EXTRA (lines under
# the object), $SPEC_EXTRA (lines under spec:) change the rest
rds_spec() {
	cat >"$1.tmp" <<YAML
apiVersion: godwit/v1
kind: Migration
metadata:
  name: $2
spec:
  source:
    rds: {region: cn-hangzhou, instanceId: rm-src, accountId: "$SRC_ACCT", roleName: $3}
    user: godwit
    password: {fromEnv: GW_PASSWORD}
    tls: {mode: disabled}
  destination:
    rds: {region: cn-hangzhou, instanceId: $4}
    user: godwit
    password: {fromEnv: GW_PASSWORD}
    tls: {mode: disabled}
  migrationTypes: [$5]
  objects:
    - database: shop
${OBJ_EXTRA:-}
  whitelist:
    cidrs: [${CIDRS:-"203.0.113.0/28", "198.51.100.7"}]
${SPEC_EXTRA:-}
YAML
	mv "$1.tmp" "$1"
}

S=$GW_TMP/state
mkdir -p "$GW_TMP/specs"
rds_spec "$GW_TMP/specs/x.yaml" shop-to-b godwit-cross-account rm-dst "schema, full"
emu_inject DescribeDBInstanceNetInfo Throttling.User 400
emu_inject ModifySecurityIps ServiceUnavailable 503

set +e
timeout 300 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$S" --once --log-level debug \
	>"$GW_TMP/controller-once.log" 2>&1
rc=$?
set -e
assert_eq 0 "$rc" "--once exits 0"
assert_eq "Completed" "$(cat "$S/tasks/shop-to-b/phase")" "the cross-account migration completes"
assert_eq "3" "$(mdb_q dst 'SELECT COUNT(*) FROM shop.t')" "rows copied"
grep -A3 "id: storage" "$S/tasks/shop-to-b/precheck.yaml" | grep -q "result: pass" || fail "storage precheck passed"
# the precheck put the cidrs into both whitelists before connecting (an rds
# instance lets nothing else in), and said so
for role in source destination; do
	grep -A3 "id: whitelist" "$S/tasks/shop-to-b/precheck.yaml" | grep -A1 "result: pass" |
		grep -q "$role rm-" || fail "whitelist item of the $role"
done
assert_contains "$(cat "$S/tasks/shop-to-b/precheck.yaml")" "the destination has room" \
	"storage measured through the API"

# retries: the injected failures happened and were followed by success
assert_eq 1 "$(emu_calls DescribeDBInstanceNetInfo 400)" "one throttled call"
assert_eq 1 "$(emu_calls ModifySecurityIps 503)" "one 5xx call"
[ "$(emu_calls ModifySecurityIps 200)" -ge 4 ] || fail "ModifySecurityIps retried and went on"

# the whitelist: added on both with the right credentials, then removed
assert_eq "null" "$(emu_state 's["instances"]["rm-src"]["groups"].get("godwit")')" "source group removed"
assert_eq "null" "$(emu_state 's["instances"]["rm-dst"]["groups"].get("godwit")')" "destination group removed"
assert_eq "192.0.2.1" "$(emu_state 's["instances"]["rm-src"]["groups"]["ops"]')" "other group untouched"
assert_eq "127.0.0.1" "$(emu_state 's["instances"]["rm-dst"]["groups"]["default"]')" "default group untouched"
python3 - "$EMU_LOG" "$SRC_ACCT" "$CTL_ACCT" <<'PY' || fail "the whitelist calls"
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
mod = [d for d in log if d["action"] == "ModifySecurityIps" and d["status"] == 200]
for inst, acct in (("rm-src", sys.argv[2]), ("rm-dst", sys.argv[3])):
    m = [d for d in mod if d["params"]["DBInstanceId"] == inst]
    assert len(m) == 2, (inst, m)
    add, rm = m[0]["params"], m[1]["params"]
    assert add["DBInstanceIPArrayName"] == "godwit" and rm["DBInstanceIPArrayName"] == "godwit"
    assert add["ModifyMode"] in ("Cover", "Append") and set(add["SecurityIps"].split(",")) == {"203.0.113.0/28", "198.51.100.7"}, add
    assert rm["ModifyMode"] == "Delete", rm
    assert all(d["account"] == acct for d in m), m
# the source was reached through the role, with a token; the destination with the key
src = [d for d in log if d["status"] == 200 and d["params"].get("DBInstanceId") == "rm-src"]
assert src and all(d["params"]["AccessKeyId"].startswith("STS.") and d["params"].get("SecurityToken") for d in src)
ar = [d for d in log if d["action"] == "AssumeRole" and d["status"] == 200]
assert ar and ar[0]["params"]["RoleSessionName"] == "godwit-shop-to-b", ar
assert ar[0]["params"]["RoleArn"] == "acs:ram::%s:role/godwit-cross-account" % sys.argv[2]
# credentials cached: one AssumeRole for the whole run
assert len(ar) == 1, len(ar)
for d in log:
    if d["status"] == 200 and d["action"] == "DescribeResourceUsage":
        assert d["params"]["DBInstanceId"] == "rm-dst"
        break
else:
    raise AssertionError("no DescribeResourceUsage")
PY
assert_eq 1 "$(audit_count "$S" shop-to-b whitelist-add end)" "whitelist-add in the audit log"
assert_eq 1 "$(audit_count "$S" shop-to-b whitelist-remove end)" "whitelist-remove in the audit log"
grep '"action":"whitelist-remove","event":"end"' "$S/audit.jsonl" | grep -q '"result":"ok"' ||
	fail "whitelist-remove audited as ok"

# idempotent: a second add or remove writes nothing
before=$(emu_calls ModifySecurityIps 200)
"$GODWIT" _action "$GW_TMP/specs/x.yaml" whitelist-add >"$GW_TMP/wl1.out" 2>&1 || fail "whitelist-add: $(cat "$GW_TMP/wl1.out")"
assert_eq $((before + 2)) "$(emu_calls ModifySecurityIps 200)" "one write per instance"
"$GODWIT" _action "$GW_TMP/specs/x.yaml" whitelist-add >"$GW_TMP/wl2.out" 2>&1 || fail "whitelist-add again"
assert_eq $((before + 2)) "$(emu_calls ModifySecurityIps 200)" "a second add writes nothing"
emu_state 's["instances"]["rm-dst"]["groups"]["godwit"]' | grep -q "203.0.113.0/28" || fail "group holds the cidr"
"$GODWIT" _action "$GW_TMP/specs/x.yaml" whitelist-remove >"$GW_TMP/wl3.out" 2>&1 || fail "whitelist-remove"
"$GODWIT" _action "$GW_TMP/specs/x.yaml" whitelist-remove >"$GW_TMP/wl4.out" 2>&1 || fail "whitelist-remove again"
assert_eq $((before + 4)) "$(emu_calls ModifySecurityIps 200)" "a second remove writes nothing"
assert_eq "null" "$(emu_state 's["instances"]["rm-dst"]["groups"].get("godwit")')" "removed again"

# precheck failures, explained
rm -f "$GW_TMP/specs/x.yaml"
rds_spec "$GW_TMP/specs/norole.yaml" norole no-such-role rm-dst "schema, full"
OBJ_EXTRA="      renameTo: shop_u" \
	rds_spec "$GW_TMP/specs/untrusted.yaml" untrusted untrusting rm-dst "schema, full"
rds_spec "$GW_TMP/specs/full.yaml" full godwit-cross-account rm-full "schema, full"
set +e
timeout 300 "$GODWIT" controller --dir "$GW_TMP/specs" --state-dir "$GW_TMP/state2" --once --log-level debug \
	>"$GW_TMP/controller-fail.log" 2>&1
rc=$?
set -e
assert_eq 1 "$rc" "--once exits 1 with failed prechecks"
for t in norole untrusted full; do
	assert_eq "PrecheckFailed" "$(cat "$GW_TMP/state2/tasks/$t/phase")" "$t fails precheck"
done
p=$(cat "$GW_TMP/state2/tasks/norole/precheck.yaml")
assert_contains "$p" "role does not exist" "wrong role name"
assert_contains "$p" "acs:ram::$SRC_ACCT:role/no-such-role" "names the role"
assert_contains "$p" "acs:ram::$CTL_ACCT:root" "the trust policy names the controller's account"
p=$(cat "$GW_TMP/state2/tasks/untrusted/precheck.yaml")
assert_contains "$p" "no permissions" "untrusting role"
assert_contains "$p" "sts:AssumeRole" "the fix is the trust policy"
p=$(cat "$GW_TMP/state2/tasks/full/precheck.yaml")
assert_contains "$p" "the destination has 0 MiB free" "storage from DescribeResourceUsage"
assert_eq 0 "$(grep -c '"action":"whitelist-add"' "$GW_TMP/state2/audit.jsonl" || true)" \
	"no whitelist step after a failed precheck"

# two incremental migrations between the same instances, with their own
# cidrs and one they share (the controller's address is in every spec):
# deleting one removes its own entries only, not the shared one (the
# credentials expiring meanwhile), stopping the other removes the rest
rm -f "$GW_TMP/specs/"*.yaml
mdb_q dst "DROP DATABASE shop"
S3=$GW_TMP/state3
rds_spec "$GW_TMP/specs/inc.yaml" inc godwit-cross-account rm-dst "schema, full, incremental"
OBJ_EXTRA="      renameTo: shop2" CIDRS='"192.0.2.77", "198.51.100.7"' \
	rds_spec "$GW_TMP/specs/inc2.yaml" inc2 godwit-cross-account rm-dst "schema, full, incremental"
ctl_start CTL --dir "$GW_TMP/specs" --state-dir "$S3" --log-level debug
wait_for "inc is Incremental" 240 phase_is "$S3" inc Incremental
wait_for "inc2 is Incremental" 240 phase_is "$S3" inc2 Incremental
group_is() { # INSTANCE CIDRS (sorted, comma-separated, or null)
	[ "$(emu_state "s[\"instances\"][\"$1\"][\"groups\"].get(\"godwit\")" | tr , '\n' | sort | paste -sd,)" = "$2" ]
}
for i in rm-src rm-dst; do
	g=$(emu_state "s[\"instances\"][\"$i\"][\"groups\"][\"godwit\"]")
	assert_eq "192.0.2.77,198.51.100.7,203.0.113.0/28" "$(echo "$g" | tr , '\n' | sort | paste -sd,)" \
		"$i: both migrations' entries"
done
ar_before=$(emu_calls AssumeRole 200)
curl -fsS -X POST "$EMU_URL/_emulator/expire" >/dev/null
rm -f "$GW_TMP/specs/inc.yaml"
wait_for "inc's entries removed from the source" 120 group_is rm-src 192.0.2.77,198.51.100.7
wait_for "inc's entries removed from the destination" 60 group_is rm-dst 192.0.2.77,198.51.100.7
grep -q "198.51.100.7 stays in the whitelist group godwit: migration inc2 recorded it too" \
	"$GW_TMP/controller-CTL.log" || fail "the shared entry kept, and said why"
removed() { [ "$(audit_count "$S3" "$1" whitelist-remove end)" = 1 ]; }
wait_for "the removal audited" 60 removed inc
[ "$(emu_calls AssumeRole 200)" -gt "$ar_before" ] || fail "the expired credentials were renewed"
SPEC_EXTRA="  state: stopped" OBJ_EXTRA="      renameTo: shop2" CIDRS='"192.0.2.77", "198.51.100.7"' \
	rds_spec "$GW_TMP/specs/inc2.yaml" inc2 godwit-cross-account rm-dst "schema, full, incremental"
wait_for "inc2 is Stopped" 180 phase_is "$S3" inc2 Stopped
group_is rm-src null || fail "the source group is gone once inc2 stopped"
group_is rm-dst null || fail "the destination group is gone once inc2 stopped"
removed inc2 || fail "inc2's removal audited"
assert_eq "192.0.2.1" "$(emu_state 's["instances"]["rm-src"]["groups"]["ops"]')" "other group untouched"
[ "$(emu_calls ModifySecurityIps 400)" -eq 0 ] || fail "no ModifySecurityIps refused"
kill -TERM "$CTL"
wait "$CTL" || true

# no secret anywhere: the key's secret, and the STS secrets and tokens issued
python3 - "$EMU_LOG" >"$GW_TMP/secrets" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["params"].get("SecurityToken"):
        print(d["params"]["SecurityToken"])
    if d.get("issuedSecret"):
        print(d["issuedSecret"])
PY
[ "$(wc -l <"$GW_TMP/secrets")" -ge 4 ] || fail "STS tokens and secrets seen"
echo "$SECRET" >>"$GW_TMP/secrets"
for d in "$S" "$GW_TMP/state2" "$S3"; do
	! grep -r -F -q -f "$GW_TMP/secrets" "$d" || fail "a secret in $d"
done
for f in "$GW_TMP"/controller-*.log "$GW_TMP"/wl*.out; do
	! grep -F -q -f "$GW_TMP/secrets" "$f" || fail "a secret in $f"
done
echo "ok"
