// Connects with the npm client named (mysql2, or mysql: mysqljs/mysql) and
// runs statements; prints one JSON object per statement: {rows, fields}
// or {error: {code, errno, message}}, first {connect: ...} or the error.
// argv[2]: JSON {modules, lib, host, port, user, password, ssl_ca,
// queries: [SQL], execute: [[SQL, [params]]]} (execute: mysql2 only).
const o = JSON.parse(process.argv[2]);
const lib = require(o.modules + '/' + o.lib);
const cfg = { host: o.host || '127.0.0.1', port: o.port, user: o.user, password: o.password,
  dateStrings: true, supportBigNumbers: true, bigNumberStrings: true };
if (o.ssl_ca) cfg.ssl = { ca: require('fs').readFileSync(o.ssl_ca) };
const c = lib.createConnection(cfg);
const out = (x) => process.stdout.write(JSON.stringify(x) + '\n');
const err = (e) => ({ error: { code: e.code, errno: e.errno, message: e.sqlMessage || e.message } });

function run(list, i, done) {
  if (i >= list.length) return done();
  const [kind, sql, params] = list[i];
  const cb = (e, rows, fields) => {
    if (e) out(err(e));
    else out({ rows: Array.isArray(rows) ? rows.map((r) => (Array.isArray(r) ? r : Object.values(r))) : rows,
      fields: fields ? fields.map((f) => f.name) : null });
    run(list, i + 1, done);
  };
  if (kind === 'execute') c.execute(sql, params, cb);
  else c.query(sql, cb);
}

c.connect((e) => {
  if (e) {
    out(err(e));
    process.exit(0);
  }
  out({ connect: true });
  const list = (o.queries || []).map((q) => ['query', q]).concat((o.execute || []).map((x) => ['execute', x[0], x[1]]));
  run(list, 0, () => c.end(() => process.exit(0)));
});
