#!/usr/bin/env bash
# deploy/: the Kubernetes manifests are valid against the API's schemas
# (kubernetes-models from the npm registry, checked offline by
# tests/lib/k8s_validate.mjs, strict about unknown fields; a misspelt field
# fails it) and lint clean (yamllint); they run >= 2 replicas following a
# git branch with --listen, --max-migrations and --id, probes on /healthz
# and /readyz of that port, database passwords from a Secret mounted as
# files, a Service a ServiceMonitor can select. The Dockerfile is
# multi-stage on Debian 12, runs as a non-root user, and installs the
# package of every library the binary links. (Docker itself cannot run
# here: the image is not built by the tests.)
. "$(dirname "$0")/../lib/harness.sh"

K=$GW_ROOT/deploy/kubernetes
command -v yamllint >/dev/null || fail "yamllint is missing (make deps installs it)"
yamllint -c "$GW_ROOT/deploy/.yamllint" -s "$K" || fail "yamllint deploy/kubernetes"

NPM=${GODWIT_NPM_CACHE:-$GW_ROOT/build/npm-k8s}
if [ ! -f "$NPM/node_modules/kubernetes-models/package.json" ]; then
	mkdir -p "$NPM"
	(cd "$NPM" && timeout 300 npm install --no-audit --no-fund --no-save --silent \
		kubernetes-models@5.1.0 js-yaml@4 >"$GW_TMP/npm.log" 2>&1) ||
		{ cat "$GW_TMP/npm.log" >&2; fail "npm install kubernetes-models"; }
fi
NM=$NPM/node_modules
node "$GW_ROOT/tests/lib/k8s_validate.mjs" "$NM" "$K"/*.yaml >"$GW_TMP/v.out" ||
	fail "the manifests are not valid: $(grep -v ' ok$' "$GW_TMP/v.out")"
cat "$GW_TMP/v.out"
for kind in "Deployment godwit" "Service godwit-metrics" "Secret godwit-db-passwords" "PodDisruptionBudget godwit"; do
	grep -q ": $kind ok$" "$GW_TMP/v.out" || fail "$kind checked"
done
# the checker catches what it is there for
sed 's/^  replicas: 3/  replica: 3/' "$K/deployment.yaml" >"$GW_TMP/typo.yaml"
! node "$GW_ROOT/tests/lib/k8s_validate.mjs" "$NM" "$GW_TMP/typo.yaml" >"$GW_TMP/typo.out" ||
	fail "a misspelt field passes"
assert_contains "$(cat "$GW_TMP/typo.out")" "spec.replica: unknown field" "the misspelt field named"
sed 's/^  replicas: 3/  replicas: three/' "$K/deployment.yaml" >"$GW_TMP/type.yaml"
! node "$GW_ROOT/tests/lib/k8s_validate.mjs" "$NM" "$GW_TMP/type.yaml" >/dev/null || fail "a wrong type passes"

# what the manifests must say
NODE_PATH=$NM node - "$K" <<'JS' || fail "the manifests"
const fs = require("fs"), yaml = require("js-yaml"), dir = process.argv[2];
const docs = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))
	.flatMap((f) => yaml.loadAll(fs.readFileSync(`${dir}/${f}`, "utf8")).filter(Boolean));
const one = (k) => docs.find((d) => d.kind === k);
const dep = one("Deployment"), svc = one("Service"), pod = dep.spec.template.spec;
const assert = (c, m) => { if (!c) { console.error("FAIL:", m); process.exit(1); } };
assert(dep.spec.replicas >= 2, "two or more replicas");
const c = pod.containers[0], args = c.args.join(" ");
for (const a of ["controller", "--git https://", "--max-migrations", "--id $(POD_NAME)", "--listen 0.0.0.0:9090", "--state-dir"])
	assert(args.includes(a), "args: " + a);
const port = c.ports.find((p) => p.containerPort === 9090);
assert(port, "the --listen port is declared");
assert(c.livenessProbe.httpGet.path === "/healthz" && c.livenessProbe.httpGet.port === port.name, "liveness on /healthz");
assert(c.readinessProbe.httpGet.path === "/readyz" && c.readinessProbe.httpGet.port === port.name, "readiness on /readyz");
const vol = pod.volumes.find((v) => v.secret && v.secret.secretName === "godwit-db-passwords");
assert(vol, "the passwords' Secret is a volume");
const mnt = c.volumeMounts.find((m) => m.name === vol.name);
assert(mnt && mnt.readOnly && mnt.mountPath === "/run/secrets/godwit", "mounted read-only as files (fromFile)");
assert(!c.env.some((e) => /password/i.test(e.name)), "no password in the environment");
assert(pod.securityContext.runAsNonRoot && c.securityContext.allowPrivilegeEscalation === false, "non-root");
for (const [k, v] of Object.entries(svc.spec.selector))
	assert(dep.spec.template.metadata.labels[k] === v, "the Service selects the pods: " + k);
assert(svc.metadata.labels["app.kubernetes.io/name"] === "godwit", "the Service has labels to select it by");
assert(svc.spec.ports.some((p) => p.name === "http-metrics" && p.targetPort === port.name), "a named metrics port");
JS

# the Dockerfile
D=$GW_ROOT/deploy/Dockerfile
assert_eq 2 "$(grep -c '^FROM ' "$D")" "two stages"
grep -q '^FROM debian:12 AS build$' "$D" || fail "built on Debian 12"
grep -q '^FROM debian:12-slim$' "$D" || fail "shipped on Debian 12"
user=$(sed -n 's/^USER \([0-9]*\).*/\1/p' "$D")
[ -n "$user" ] && [ "$user" -ne 0 ] || fail "a numeric non-root USER"
grep -q '^COPY --from=build /src/bin/godwit /usr/local/bin/godwit$' "$D" || fail "only the binary from the build"
runtime=$(sed -n '/^FROM debian:12-slim/,$p' "$D" | tr '\\\n' '  ')
for lib in $(readelf -d "$GODWIT" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
	pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1)
	[ -n "$pkg" ] || fail "no package for $lib"
	[ "$pkg" = libc6 ] && continue
	assert_contains "$runtime" " $pkg " "the runtime stage installs $pkg ($lib)"
done
for p in $(sed -n '/^FROM debian:12 AS build/,/^FROM/p' "$D" | grep -o 'lib[a-z0-9.-]*-dev'); do
	grep -q "$p" "$GW_ROOT/scripts/install-deps" || fail "$p is built with but not in install-deps"
done
echo ok
