#!/usr/bin/env python3
"""Compares `godwit binlog` JSON lines (argv[1]) with `mariadb-binlog -v
--base64-output=decode-rows` output (argv[2]): every row image, value by value,
read by the column types of our table maps. Exit 1 on any difference."""
import base64, calendar, json, re, sys, time
ours_file, theirs_file = sys.argv[1], sys.argv[2]
# theirs: list of (kind, table, [values...]) per image
imgs = []
cur = None
for raw in open(theirs_file, 'rb').read().split(b'\n'):
    if not raw.startswith(b'###'):
        continue
    m = re.match(rb'^### (INSERT INTO|UPDATE|DELETE FROM) `([^`]*)`\.`([^`]*)`$', raw)
    if m:
        cur = None
        kind = m.group(1).decode()
        continue
    if raw in (b'### SET', b'### WHERE'):
        cur = []
        imgs.append(cur)
        continue
    m = re.match(rb'^###   @(\d+)=(.*)$', raw, re.S)
    if m:
        cur.append(m.group(2))
def unq(b):
    # mariadb-binlog quoting: '...' with bytes below 0x20 as \xNN, the rest raw
    assert b[:1] == b"'" and b[-1:] == b"'", b[:40]
    s = b[1:-1]
    return re.sub(rb'\\x([01][0-9a-f])', lambda m: bytes([int(m.group(1), 16)]), s)
maps = {}
ours = []
for l in open(ours_file, encoding='utf-8'):
    e = json.loads(l)
    if e['type'] == 'table_map':
        maps[(e['database'], e['table'])] = e['columns']
    if e['type'] in ('write_rows', 'update_rows', 'delete_rows'):
        cols = maps[(e['database'], e['table'])]
        for r in e['rows']:
            if e['type'] == 'update_rows':
                ours.append((cols, r['before'])); ours.append((cols, r['after']))
            else:
                ours.append((cols, r))
assert len(ours) == len(imgs), (len(ours), len(imgs))
bad = 0
for (cols, vals), th in zip(ours, imgs):
    assert len(vals) == len(th), (vals, th)
    for c, v, t in zip(cols, vals, th):
        ty = c['type']
        if t == b'NULL':
            ok = v is None
        elif t.startswith(b"b'") and isinstance(v, int):
            ok = int(t[2:-1], 2) == v
        elif ty in ('tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'year') or (ty in ('enum', 'set') and isinstance(v, int)):
            ok = int(t.split(b' ')[0]) == v or (b'(' in t and int(t.split(b'(')[1].rstrip(b')')) == v)
        elif ty == 'bit':
            ok = int(t[2:-1], 2) == v
        elif ty in ('float', 'double'):
            ok = abs(float(t) - v) <= 1e-6 * max(1, abs(v))
        elif ty == 'decimal':
            ok = t.decode() == v
        elif ty == 'timestamp':
            ok = int(t.split(b'.')[0]) == calendar.timegm(time.strptime(v[:19], '%Y-%m-%d %H:%M:%S'))
        elif ty == 'date':
            ok = unq(t).decode().replace(':', '-') == v
        elif ty in ('datetime', 'time'):
            ok = unq(t).decode() == v
        else:
            b = base64.b64decode(v['base64']) if isinstance(v, dict) else v.encode('utf-8')
            ok = unq(t) == b
        if not ok:
            bad += 1
            if bad < 10:
                print('MISMATCH', ty, repr(v)[:80], t[:80])
print(len(imgs), 'images compared,', bad, 'mismatches')
sys.exit(1 if bad else 0)
