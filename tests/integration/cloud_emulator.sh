#!/usr/bin/env bash
# The cloud emulator refuses what the real service refuses (requests signed
# here independently, in Python), and godwit's errors against it: NoPermission
# on RDS, an instance of another account, a bad signature (whose message
# echoes the string to sign: godwit must not repeat the token), missing
# credentials; the proxy variables. A destination server holds the record
# of the entries added (godwit_meta.whitelist), written before they are.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/cloud.sh"

mdb_start dst
cat >"$GW_TMP/cloud.json" <<JSON
{"accounts": {"111": {"keys": {"AK1": {"secret": "s1"},
                               "AKRO": {"secret": "s2", "deny": ["ModifySecurityIps"]}},
                      "roles": {"r": {"trust": ["111"]}}},
              "222": {"keys": {"AK2": {"secret": "s3"}},
                      "roles": {"ro": {"trust": ["111"], "deny": ["ModifySecurityIps"]}}}},
 "instances": {"rm-a": {"account": "111", "region": "cn-hangzhou", "host": "127.0.0.1", "port": $dst_PORT},
               "rm-b": {"account": "222", "region": "cn-hangzhou", "host": "127.0.0.1", "port": $dst_PORT}}}
JSON
emu_start "$GW_TMP/cloud.json"

python3 - "$EMU_URL" <<'PY' || fail "the emulator's checks"
import base64, hashlib, hmac, json, sys, time, urllib.error, urllib.parse, urllib.request, uuid
URL = sys.argv[1]
def enc(s): return urllib.parse.quote(s, safe="-_.~")
def call(action, params, ak="AK1", sk="s1", version="2014-08-15", ts=None, nonce=None, drop=(), sign_secret=None):
    p = {"AccessKeyId": ak, "Action": action, "Format": "JSON", "SignatureMethod": "HMAC-SHA1",
         "SignatureNonce": nonce or str(uuid.uuid4()), "SignatureVersion": "1.0",
         "Timestamp": ts or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Version": version}
    p.update(params)
    for k in drop: p.pop(k, None)
    q = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(p.items()))
    sts = "GET&%2F&" + enc(q)
    p["Signature"] = base64.b64encode(hmac.new(((sign_secret or sk) + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    try:
        with urllib.request.urlopen(URL + "/?" + urllib.parse.urlencode(p, quote_via=urllib.parse.quote), timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
def expect(status, code, res):
    assert res[0] == status and res[1].get("Code") == code, (status, code, res)
rds = {"DBInstanceId": "rm-a", "RegionId": "cn-hangzhou"}
assert call("DescribeDBInstanceAttribute", rds)[0] == 200
expect(400, "InvalidTimeStamp.Format", call("DescribeDBInstanceAttribute", rds, ts="2024-01-01 00:00:00"))
expect(400, "InvalidTimeStamp.Format", call("DescribeDBInstanceAttribute", rds, ts="2024-01-01T00:00:00+08:00"))
expect(400, "InvalidTimeStamp.Expired", call("DescribeDBInstanceAttribute", rds,
       ts=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))))
n = str(uuid.uuid4())
assert call("DescribeDBInstanceAttribute", rds, nonce=n)[0] == 200
expect(400, "SignatureNonceUsed", call("DescribeDBInstanceAttribute", rds, nonce=n))
expect(400, "InvalidVersion", call("DescribeDBInstanceAttribute", rds, version="2015-04-01"))
expect(400, "InvalidVersion", call("AssumeRole", {"RoleArn": "acs:ram::111:role/r", "RoleSessionName": "ab"}))
expect(404, "InvalidAction.NotFound", call("DeleteDBInstance", rds))
expect(400, "MissingParameter", call("DescribeDBInstanceAttribute", {"RegionId": "cn-hangzhou"}))
expect(400, "MissingParameter", call("DescribeDBInstanceAttribute", rds, drop=["SignatureNonce"]))
expect(400, "SignatureDoesNotMatch", call("DescribeDBInstanceAttribute", rds, sign_secret="wrong"))
expect(404, "InvalidAccessKeyId.NotFound", call("DescribeDBInstanceAttribute", rds, ak="nope"))
expect(404, "InvalidDBInstanceId.NotFound", call("DescribeDBInstanceAttribute", {"DBInstanceId": "rm-b"}))
expect(404, "InvalidDBInstanceId.NotFound", call("DescribeDBInstanceAttribute", {"DBInstanceId": "rm-a", "RegionId": "cn-beijing"}))
expect(403, "NoPermission", call("ModifySecurityIps", dict(rds, SecurityIps="1.2.3.4"), ak="AKRO", sk="s2"))
# STS: roles, trust, session names, tokens
sts = dict(version="2015-04-01")
expect(404, "EntityNotExist.Role", call("AssumeRole", {"RoleArn": "acs:ram::111:role/none", "RoleSessionName": "ab"}, **sts))
expect(403, "NoPermission", call("AssumeRole", {"RoleArn": "acs:ram::111:role/r", "RoleSessionName": "ab"}, ak="AK2", sk="s3", **sts))
expect(400, "InvalidParameter.RoleSessionName", call("AssumeRole", {"RoleArn": "acs:ram::111:role/r", "RoleSessionName": "a b"}, **sts))
st, r = call("AssumeRole", {"RoleArn": "acs:ram::111:role/r", "RoleSessionName": "godwit-x"}, **sts)
assert st == 200, r
c = r["Credentials"]
t = dict(ak=c["AccessKeyId"], sk=c["AccessKeySecret"])
expect(400, "MissingSecurityToken", call("DescribeDBInstanceAttribute", rds, **t))
expect(400, "InvalidSecurityToken.Mismatch", call("DescribeDBInstanceAttribute", dict(rds, SecurityToken="x"), **t))
assert call("DescribeDBInstanceAttribute", dict(rds, SecurityToken=c["SecurityToken"]), **t)[0] == 200
# whitelist groups and ModifyMode
def groups():
    return json.load(urllib.request.urlopen(URL + "/_emulator/state"))["instances"]["rm-a"]["groups"]
def mod(mode, ips, name="g1"):
    return call("ModifySecurityIps", dict(rds, SecurityIps=ips, DBInstanceIPArrayName=name, ModifyMode=mode))
assert mod("Cover", "10.0.0.1,10.0.0.0/24")[0] == 200 and groups()["g1"] == "10.0.0.1,10.0.0.0/24"
assert mod("Append", "10.0.0.1,10.1.0.1")[0] == 200 and groups()["g1"] == "10.0.0.1,10.0.0.0/24,10.1.0.1"
assert mod("Delete", "10.0.0.1")[0] == 200 and groups()["g1"] == "10.0.0.0/24,10.1.0.1"
assert mod("Delete", "10.0.0.0/24,10.1.0.1")[0] == 200 and "g1" not in groups()
assert mod("Delete", "127.0.0.1", name="default")[0] == 200 and groups()["default"] == "127.0.0.1"
expect(400, "InvalidSecurityIps.Format", mod("Cover", "10.0.0.300"))
expect(400, "MissingParameter", mod("Cover", ""))
expect(400, "InvalidDBInstanceIPArrayName.Format", mod("Cover", "10.0.0.1", name="Bad-Name"))
expect(400, "InvalidParameter", mod("Replace", "10.0.0.1"))
assert groups() == {"default": "127.0.0.1"}, groups()
print("emulator checks ok")
PY

# godwit's errors against it
spec() { # FILE INSTANCE
	cat >"$1" <<YAML
apiVersion: godwit/v1
kind: Migration
metadata: {name: wl}
spec:
  source: {rds: {region: cn-hangzhou, instanceId: $2}, user: u, password: {fromEnv: GW_PASSWORD}}
  destination: {host: 127.0.0.1, port: $dst_PORT, user: godwit, password: {fromEnv: GW_PASSWORD},
                tls: {mode: disabled}}
  migrationTypes: [schema, full]
  objects: [{database: shop}]
  whitelist: {cidrs: ["203.0.113.0/28"]}
YAML
}
spec "$GW_TMP/a.yaml" rm-a
spec "$GW_TMP/b.yaml" rm-b
wl_raw() { # ENV...: runs whitelist-add on $f, prints its output
	env "$@" "$GODWIT" _action "$GW_TMP/$f" whitelist-add 2>&1 || true
}
# a sanitizer build (GODWIT_BIN) reports into the output: none expected
wl() {
	local out
	out=$(wl_raw "$@")
	case "$out" in *"Sanitizer"* | *"runtime error"*) fail "sanitizer: $out" ;; esac
	printf '%s\n' "$out"
}
f=a.yaml
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AKRO ALIBABA_CLOUD_ACCESS_KEY_SECRET=s2)
assert_contains "$out" "no permissions" "NoPermission on ModifySecurityIps"
assert_contains "$out" "rds:ModifySecurityIps" "the fix names the permission"
out=$(wl -u ALIBABA_CLOUD_ACCESS_KEY_ID -u ALIBABA_CLOUD_ACCESS_KEY_SECRET)
assert_contains "$out" "ALIBABA_CLOUD_ACCESS_KEY_ID is not set" "missing credentials named"
TOKEN=tok-must-not-appear-123456
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong-secret-xyz ALIBABA_CLOUD_SECURITY_TOKEN=$TOKEN)
assert_contains "$out" "SignatureDoesNotMatch" "a bad signature is reported"
assert_contains "$out" "check ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET" "with what to check"
assert_not_contains "$out" "$TOKEN" "the token is not repeated"
assert_not_contains "$out" "wrong-secret-xyz" "the secret is not repeated"
assert_not_contains "$out" "string to sign" "the echoed string to sign is cut"
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=s1)
assert_contains "$out" "result: ok" "whitelist-add with the right key"
assert_eq "203.0.113.0/28" "$(emu_state 's["instances"]["rm-a"]["groups"]["godwit"]')" "group written"
assert_eq "$(printf 'wl\tsource\tcn-hangzhou\trm-a\t\t\t203.0.113.0/28')" \
	"$(mdb_q dst 'SELECT task, role, region, instance_id, account_id, role_name, cidr FROM godwit_meta.whitelist')" \
	"the entry recorded on the destination"
# plain http carries the signature and the token in clear: refused but
# to a loopback address, before a byte is sent (the emulator, as the
# proxy, sees nothing)
calls=$(wc -l <"$EMU_LOG")
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=s1 no_proxy= NO_PROXY= \
	ALIBABA_CLOUD_SECURITY_TOKEN=$TOKEN GODWIT_ALIYUN_ENDPOINT=http://rds.aliyun.invalid http_proxy="$EMU_URL")
assert_contains "$out" "GODWIT_ALIYUN_ENDPOINT must be an https URL" "http to another host refused"
assert_eq "$calls" "$(wc -l <"$EMU_LOG")" "nothing was sent over plain http"
# the proxy variables are honoured: the emulator doubles as the proxy
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=s1 no_proxy= NO_PROXY= \
	GODWIT_ALIYUN_ENDPOINT=http://127.0.0.2:9 http_proxy="$EMU_URL")
assert_contains "$out" "result: ok" "whitelist-add through the proxy"
python3 - "$EMU_LOG" <<'PY' || fail "the last call came through the proxy"
import json, sys
last = [json.loads(l) for l in open(sys.argv[1])][-1]
assert last["action"] == "DescribeDBInstanceIPArrayList" and last["proxied"], last
PY
f=b.yaml
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=s1)
assert_contains "$out" "InvalidDBInstanceId.NotFound" "another account's instance is not visible"
assert_contains "$out" "rds.accountId and rds.roleName" "the fix says how to reach it"

# the destination refuses after the source took the entries: taken back
cat >"$GW_TMP/two.yaml" <<'YAML'
apiVersion: godwit/v1
kind: Migration
metadata: {name: two}
spec:
  source: {rds: {region: cn-hangzhou, instanceId: rm-a}, user: u, password: {fromEnv: GW_PASSWORD}}
  destination: {rds: {region: cn-hangzhou, instanceId: rm-b, accountId: "222", roleName: ro},
                user: godwit, password: {fromEnv: GW_PASSWORD}, tls: {mode: disabled}}
  migrationTypes: [schema, full]
  objects: [{database: shop}]
  whitelist: {cidrs: ["198.51.100.9"]}
YAML
f=two.yaml
out=$(wl ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=s1)
assert_contains "$out" "whitelist of the destination: no permissions" "the destination refused"
assert_eq "203.0.113.0/28" "$(emu_state 's["instances"]["rm-a"]["groups"]["godwit"]')" \
	"the source's group is back to what it was"
# taken back: nothing of two's left recorded
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.whitelist WHERE task = 'two'")" \
	"two's record forgotten with the entries taken back"
# removed: taken back from both, and the record forgotten
ALIBABA_CLOUD_ACCESS_KEY_ID=AK1 ALIBABA_CLOUD_ACCESS_KEY_SECRET=s1 "$GODWIT" _action "$GW_TMP/a.yaml" whitelist-remove >"$GW_TMP/rm.out" 2>&1 || fail "whitelist-remove: $(cat "$GW_TMP/rm.out")"
assert_eq null "$(emu_state 's["instances"]["rm-a"]["groups"].get("godwit")')" "the entry removed"
assert_eq 0 "$(mdb_q dst "SELECT COUNT(*) FROM godwit_meta.whitelist WHERE task = 'wl'")" "its record forgotten"
echo ok
