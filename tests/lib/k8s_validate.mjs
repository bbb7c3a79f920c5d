// Validates Kubernetes manifests offline against the API's schemas as
// the npm package kubernetes-models carries them: each document through
// its model's validate() (types, required fields, formats), then every
// key checked against the fields its type declares (the package's .d.ts
// of each API type), so that a misspelt field is an error as it is for
// `kubectl apply --validate=strict`.
//   node tests/lib/k8s_validate.mjs NODE_MODULES FILE...
// Prints "FILE: KIND NAME ok" per document, or "FILE: KIND NAME: problem";
// exits 1 on any problem.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [nm, ...files] = process.argv.slice(2);
const yaml = (await import(pathToFileURL(path.join(nm, "js-yaml/index.js")))).default;
let bad = 0;

// The interface a .d.ts file exports: its fields and their types, and the
// file each imported type name comes from.
const cache = new Map();
function readDts(file) {
	if (cache.has(file)) return cache.get(file);
	const src = fs.readFileSync(file, "utf8");
	const imports = new Map();
	for (const m of src.matchAll(/import \{([^}]*)\} from "([^"]+)"/g))
		for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean))
			imports.set(name, m[2]);
	const m = src.match(/export interface \w+(?: extends [\w, ]+)? \{([\s\S]*?)\n\}/);
	let fields = null;
	if (m) {
		fields = new Map();
		const body = m[1].replace(/\/\*[\s\S]*?\*\//g, "");
		for (const f of body.matchAll(/"([^"]+)"\??: ([^;]+);/g)) fields.set(f[1], f[2].trim());
		if (/extends TypeMeta/.test(m[0])) {
			fields.set("apiVersion", "string");
			fields.set("kind", "string");
		}
	}
	const r = { fields, imports, dir: path.dirname(file) };
	cache.set(file, r);
	return r;
}

// The .d.ts of a type name seen in file's declarations, or null.
function resolve(d, type) {
	const spec = d.imports.get(type);
	if (!spec) return null;
	let p = spec.startsWith(".") ? path.join(d.dir, spec) : path.join(nm, spec);
	p = p.replace(/\.js$/, "");
	return fs.existsSync(p + ".d.ts") ? p + ".d.ts" : null;
}

function check(value, type, d, where, problems) {
	type = type.replace(/^\((.*)\)$/, "$1");
	let m;
	if ((m = type.match(/^Array<(.+)>$/))) {
		if (Array.isArray(value)) value.forEach((v, i) => check(v, m[1], d, `${where}[${i}]`, problems));
		return;
	}
	if (!/^I\w+$/.test(type) || value === null || typeof value !== "object" || Array.isArray(value)) return;
	const file = resolve(d, type);
	if (!file) return; // a type alias (IntOrString, Quantity...): validate() saw it
	const sub = readDts(file);
	if (!sub.fields) return;
	for (const [k, v] of Object.entries(value)) {
		if (!sub.fields.has(k)) problems.push(`${where}.${k}: unknown field`);
		else check(v, sub.fields.get(k), sub, `${where}.${k}`, problems);
	}
}

for (const file of files) {
	const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((x) => x);
	for (const doc of docs) {
		const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : ["", doc.apiVersion];
		const dir = path.join(nm, "kubernetes-models", group, version);
		const name = `${doc.kind} ${doc.metadata?.name ?? "?"}`;
		const problems = [];
		if (!fs.existsSync(path.join(dir, `${doc.kind}.js`))) {
			console.log(`${file}: ${name}: no schema for ${doc.apiVersion} ${doc.kind}`);
			bad = 1;
			continue;
		}
		const mod = await import(pathToFileURL(path.join(dir, `${doc.kind}.js`)));
		try {
			new mod[doc.kind](doc).validate();
		} catch (e) {
			problems.push(e.message);
		}
		const top = readDts(path.join(dir, `${doc.kind}.d.ts`));
		for (const [k, v] of Object.entries(doc)) {
			if (!top.fields.has(k)) problems.push(`${k}: unknown field`);
			else check(v, top.fields.get(k), top, k, problems);
		}
		if (problems.length) {
			bad = 1;
			for (const p of problems) console.log(`${file}: ${name}: ${p}`);
		} else {
			console.log(`${file}: ${name} ok`);
		}
	}
}
process.exit(bad);
