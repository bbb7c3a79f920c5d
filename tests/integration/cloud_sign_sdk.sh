#!/usr/bin/env bash
# godwit's OpenAPI signature against Alibaba's official Node.js SDK core
# (@alicloud/pop-core, installed from the npm registry into the test's
# scratch dir): the SDK sends requests with awkward parameter values (spaces,
# '*', '~', '/', unicode, an emoji, an empty value), long-term and STS
# credentials, to the cloud emulator; every URL it sent is re-signed by
# godwit's own code (tests/lib/cloud_sign.c) and must carry the same
# Signature. The emulator must accept the SDK's requests (its own check
# agrees) and refuse the one signed with a wrong secret.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/cloud.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "SKIP: npm not available"
	exit 0
fi

NPM_DIR=$GW_TMP/npm
mkdir -p "$NPM_DIR"
(cd "$NPM_DIR" && timeout 300 npm install --no-audit --no-fund --no-save --silent \
	@alicloud/pop-core@1 >"$GW_TMP/npm.log" 2>&1) ||
	{ cat "$GW_TMP/npm.log" >&2; fail "npm install @alicloud/pop-core"; }
cloud_sign_build

cat >"$GW_TMP/cloud.json" <<'JSON'
{"accounts": {"1111": {"keys": {"LTAIsdktest": {"secret": "sdk/se+cret=~*"}},
                       "roles": {"r1": {"trust": ["1111"]}}}},
 "instances": {"rm-sdk": {"account": "1111", "region": "cn-hangzhou", "host": "127.0.0.1",
                          "port": 3306, "storageGB": 10, "diskUsed": 1024}}}
JSON
emu_start "$GW_TMP/cloud.json"

cat >"$NPM_DIR/run.js" <<'JS'
const RPCClient = require('@alicloud/pop-core').RPCClient;
const [endpoint, ak, sk] = process.argv.slice(2);
const out = [];
async function call(client, secret, action, params) {
  try {
    const [json, entry] = await client.request(action, params, {timeout: 20000});
    out.push({action, url: entry.url, secret, ok: true});
    return json;
  } catch (e) {
    if (!e.url) throw e;
    out.push({action, url: e.url, secret, ok: false, code: e.code});
    return null;
  }
}
(async () => {
  const rds = new RPCClient({accessKeyId: ak, accessKeySecret: sk, endpoint, apiVersion: '2014-08-15'}, true);
  await call(rds, sk, 'DescribeDBInstanceAttribute', {RegionId: 'cn-hangzhou', DBInstanceId: 'rm-sdk'});
  await call(rds, sk, 'DescribeDBInstanceAttribute', {RegionId: 'cn-hangzhou', DBInstanceId: 'rm-sdk',
    ClientToken: 'a b*c~d', Note: "Grüße 日本 !'()", Emoji: '😀~*', Path: '/a/b?c=d&e', Empty: ''});
  await call(rds, sk, 'ModifySecurityIps', {DBInstanceId: 'rm-sdk', DBInstanceIPArrayName: 'godwit',
    SecurityIps: '10.0.0.1/32,192.168.0.0/24', ModifyMode: 'Append'});
  const sts = new RPCClient({accessKeyId: ak, accessKeySecret: sk, endpoint, apiVersion: '2015-04-01'}, true);
  const r = await call(sts, sk, 'AssumeRole', {RoleArn: 'acs:ram::1111:role/r1', RoleSessionName: 'godwit-sdk'});
  if (r) {
    const c = r.Credentials;
    const tmp = new RPCClient({accessKeyId: c.AccessKeyId, accessKeySecret: c.AccessKeySecret,
      securityToken: c.SecurityToken, endpoint, apiVersion: '2014-08-15'}, true);
    await call(tmp, c.AccessKeySecret, 'DescribeResourceUsage', {DBInstanceId: 'rm-sdk', Extra: 'x y+z'});
  }
  const wrong = new RPCClient({accessKeyId: ak, accessKeySecret: 'not-the-secret', endpoint, apiVersion: '2014-08-15'}, true);
  await call(wrong, 'not-the-secret', 'DescribeResourceUsage', {DBInstanceId: 'rm-sdk'});
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
JS
(cd "$NPM_DIR" && node run.js "$EMU_URL" LTAIsdktest 'sdk/se+cret=~*') >"$GW_TMP/sdk.json" ||
	fail "the SDK script failed"

python3 - "$GW_TMP/sdk.json" "$CLOUD_SIGN" <<'PY' || fail "godwit's signatures differ from the SDK's"
import json, subprocess, sys, urllib.parse
calls = json.load(open(sys.argv[1]))
want_ok = {"DescribeDBInstanceAttribute": 2, "ModifySecurityIps": 1, "AssumeRole": 1, "DescribeResourceUsage": 1}
seen = {}
for c in calls:
    q = urllib.parse.urlsplit(c["url"]).query
    pairs = urllib.parse.parse_qsl(q, keep_blank_values=True)
    sig = [v for k, v in pairs if k == "Signature"]
    assert len(sig) == 1, c["url"]
    args = [c["secret"]]
    for k, v in pairs:
        if k != "Signature":
            args += [k, v]
    mine = subprocess.run([sys.argv[2]] + args, capture_output=True, text=True, check=True).stdout.split("\n")[0]
    assert mine == sig[0], (c["action"], mine, sig[0])
    if c["secret"] == "not-the-secret":
        assert not c["ok"] and c["code"] == "SignatureDoesNotMatch", c
    else:
        assert c["ok"], c
        seen[c["action"]] = seen.get(c["action"], 0) + 1
    print("same signature:", c["action"], sig[0])
assert seen == want_ok, seen
# the awkward values did reach the signature
q = [c for c in calls if "Note=" in c["url"]][0]["url"]
assert "%F0%9F%98%80~%2A" in q and "a%20b%2Ac~d" in q and "Empty=&" in q, q
PY
assert_eq "10.0.0.1/32,192.168.0.0/24" "$(emu_state 's["instances"]["rm-sdk"]["groups"]["godwit"]')" \
	"the SDK's ModifySecurityIps took effect"
echo "ok: pop-core $(node -p "require('$NPM_DIR/node_modules/@alicloud/pop-core/package.json').version") and godwit sign alike"
