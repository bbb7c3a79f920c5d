// Streams from a server with @vlasky/zongji and prints what it read, one
// JSON object per event: the double's cross-check (tests/integration/
// mysqld_*.sh). argv[2]: JSON options: modules (the node_modules dir),
// host, port, user, password, serverId, filename, position, gtidSet,
// nonBlock, heartbeatNs (set on zongji's binlog connection before the
// dump), events (zongji event names), and when to stop: endFile+endPos
// (an event ending there), count (events), idleMs, maxMs.
const o = JSON.parse(process.argv[2]);
const { default: ZongJi } = await import(o.modules + '/@vlasky/zongji/index.js');

const z = new ZongJi({
  host: o.host || '127.0.0.1', port: o.port, user: o.user, password: o.password,
  dateStrings: true, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true,
});
let file = null;
let n = 0;
let done = false;
let idle = null;
const t0 = Date.now();

function norm(v) {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { base64: v.toString('base64') };
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object') {
    const r = {};
    for (const k of Object.keys(v)) r[k] = norm(v[k]);
    return r;
  }
  return v;
}

function image(row, cols) {
  return cols.map((c) => (c in row ? norm(row[c]) : '__absent__'));
}

function finish(code) {
  if (done) return;
  done = true;
  z.stop();
  setTimeout(() => process.exit(code || 0), 50);
}

process.stdout.on('error', () => process.exit(0));

function emit(rec) {
  process.stdout.write(JSON.stringify(rec) + '\n');
  n++;
  if (o.count && n >= o.count) finish();
  if (o.idleMs) {
    clearTimeout(idle);
    idle = setTimeout(() => finish(), o.idleMs);
  }
}

z.on('binlog', (ev) => {
  const type = ev.getTypeName().toLowerCase();
  const rec = { type, file, pos: ev.nextPosition, ms: Date.now() - t0 };
  if (type === 'rotate') {
    // a rotate read from a file belongs to it; an artificial one (log_pos
    // 0) to the file it announces
    rec.next = ev.binlogName;
    if (!ev.nextPosition) rec.file = ev.binlogName;
    file = ev.binlogName;
    rec.position = Number(ev.position);
    rec.timestamp = ev.timestamp;
  } else if (type === 'gtid' || type === 'anonymousgtid') {
    rec.gtid = ev.gtid;
  } else if (type === 'previousgtids') {
    rec.gtidSet = ev.gtidSet;
  } else if (type === 'query') {
    rec.query = ev.query;
  } else if (type === 'xid') {
    rec.xid = String(ev.xid);
  } else if (type === 'heartbeat') {
    rec.binlogName = ev.binlogName;
  } else if (type === 'tablemap') {
    rec.table = ev.schemaName + '.' + ev.tableName;
  } else if (type === 'writerows' || type === 'deleterows' || type === 'updaterows') {
    const tm = ev.tableMap[ev.tableId];
    const cols = tm.columns.map((c) => c.name);
    rec.table = tm.parentSchema + '.' + tm.tableName;
    rec.rows = ev.rows.map((r) => (type === 'updaterows'
      ? { before: image(r.before, cols), after: image(r.after, cols) } : image(r, cols)));
  }
  emit(rec);
  if (o.endFile && file === o.endFile && ev.nextPosition >= o.endPos && type !== 'rotate') finish();
});
z.on('error', (err) => {
  process.stdout.write(JSON.stringify({ type: 'error', code: err.errno || err.code || null,
    message: String(err.sqlMessage || err.message) }) + '\n');
  if (!o.keepOnError) finish(0);
});
z.on('ready', () => {
  if (o.heartbeatNs) z.connection.query('SET @master_heartbeat_period = ' + o.heartbeatNs);
});
if (o.maxMs) setTimeout(() => { emit({ type: 'timeout' }); finish(0); }, o.maxMs);
const start = { serverId: o.serverId || 1001, includeEvents: o.events, nonBlock: !!o.nonBlock };
if (o.gtidSet !== undefined) start.gtidSet = o.gtidSet;
else { start.filename = o.filename; start.position = o.position || 4; }
z.start(start);
