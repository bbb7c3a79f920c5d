#!/usr/bin/env bash
# The forge emulator (tests/lib/forge_emulator.py) against GitHub's own
# client, @octokit/rest from the npm registry, pointed at it: what the
# client sends for a valid commit status is accepted and read back in the
# shape the client expects (list and combined status); a bad state, a
# wrong token, an unknown repository and an unknown commit are refused
# with the status codes GitHub uses. This checks the stand-in, so that the
# commit status tests of godwit check something true.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/forge.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	fail "node and npm are missing (scripts/install-deps installs them)"
fi
NPM_DIR=$GW_TMP/npm
mkdir -p "$NPM_DIR"
(cd "$NPM_DIR" && timeout 300 npm install --no-audit --no-fund --no-save --silent \
	@octokit/rest@22 >"$GW_TMP/npm.log" 2>&1) ||
	{ cat "$GW_TMP/npm.log" >&2; fail "npm install @octokit/rest"; }

R=$GW_TMP/repo
git init -q -b main "$R"
git -C "$R" -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m one
sha=$(git -C "$R" rev-parse HEAD)
forge_start F --token s3cret-token --repo "acme/specs=$R"

cat >"$NPM_DIR/run.mjs" <<'JS'
import { Octokit } from "@octokit/rest";
const [baseUrl, sha] = process.argv.slice(2);
const ok = new Octokit({ baseUrl, auth: "s3cret-token", userAgent: "octokit-check" });
const out = {};
async function code(p) {
  try { const r = await p; return r.status; } catch (e) { return e.status ?? String(e); }
}
const created = await ok.rest.repos.createCommitStatus({ owner: "acme", repo: "specs", sha,
  state: "success", context: "godwit/shop", description: "Completed: done",
  target_url: "https://ops.example.com/godwit/shop" });
out.create = created.status;
out.created = created.data;
out.pending = await code(ok.rest.repos.createCommitStatus({ owner: "acme", repo: "specs", sha,
  state: "pending", context: "godwit/orders" }));
out.badState = await code(ok.rest.repos.createCommitStatus({ owner: "acme", repo: "specs", sha,
  state: "done", context: "godwit/shop" }));
out.longDescription = await code(ok.rest.repos.createCommitStatus({ owner: "acme", repo: "specs", sha,
  state: "success", description: "x".repeat(141) }));
out.unknownSha = await code(ok.rest.repos.createCommitStatus({ owner: "acme", repo: "specs",
  sha: "0".repeat(40), state: "success" }));
out.unknownRepo = await code(ok.rest.repos.createCommitStatus({ owner: "acme", repo: "nope", sha,
  state: "success" }));
const bad = new Octokit({ baseUrl, auth: "wrong-token", userAgent: "octokit-check" });
out.wrongToken = await code(bad.rest.repos.createCommitStatus({ owner: "acme", repo: "specs", sha,
  state: "success" }));
const list = await ok.rest.repos.listCommitStatusesForRef({ owner: "acme", repo: "specs", ref: "main" });
out.list = list.data.map((s) => [s.context, s.state]);
const comb = await ok.rest.repos.getCombinedStatusForRef({ owner: "acme", repo: "specs", ref: sha });
out.combined = comb.data.state;
console.log(JSON.stringify(out));
JS
(cd "$NPM_DIR" && node run.mjs "$F" "$sha") >"$GW_TMP/octokit.json" || fail "the octokit script failed"
cat "$GW_TMP/octokit.json"
python3 - "$GW_TMP/octokit.json" <<'PY' || fail "the emulator disagrees with octokit"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["create"] == 201, o
c = o["created"]
assert c["state"] == "success" and c["context"] == "godwit/shop", c
assert c["target_url"] == "https://ops.example.com/godwit/shop" and c["description"] == "Completed: done", c
assert o["pending"] == 201, o
assert o["badState"] == 422, o
assert o["longDescription"] == 422, o
assert o["unknownSha"] == 422, o
assert o["unknownRepo"] == 404, o
assert o["wrongToken"] == 401, o
assert o["list"] == [["godwit/orders", "pending"], ["godwit/shop", "success"]], o["list"]
assert o["combined"] == "pending", o
PY
# what octokit sent is what the emulator checked: token scheme, JSON
forge_get "$F" /_emu/requests | python3 -c '
import json, sys
reqs = json.load(sys.stdin)
posts = [r for r in reqs if r["method"] == "POST"]
assert posts and all(r["credential"] for r in posts), posts
assert all(r["content_type"].startswith("application/json") for r in posts), posts
assert sum(1 for r in posts if r["status"] == 201) == 2, posts
' || fail "the requests octokit made"
echo "ok: @octokit/rest $(node -p "require('$NPM_DIR/node_modules/@octokit/rest/package.json').version") and the emulator agree"
