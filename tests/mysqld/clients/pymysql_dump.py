#!/usr/bin/python3
"""A binlog dump over PyMySQL (python3-pymysql), the way
python-mysql-replication streams from MySQL: PyMySQL connects and
authenticates, its _execute_command() sends COM_BINLOG_DUMP(_GTID) and its
_read_packet() reads the events. Prints one JSON object per packet:
{"type": T, "len": N, "log_pos": P, "flags": F, "hex": ...} for an event,
{"eof": true}, {"error": CODE, "message": M}, or {"gone": "..."} when the
connection ends without either.

    pymysql_dump.py JSON
      host port user password [ssl_ca] [checksum: NONE|CRC32|""(unset)]
      [heartbeat_ns] [set: [SQL...]] file pos flags server_id [gtid_set]
      [max_events] [seconds: stop reading after] [hex: include the bytes]
"""

import binascii
import json
import struct
import sys
import time

import pymysql

COM_BINLOG_DUMP = 0x12
COM_BINLOG_DUMP_GTID = 0x1E


def encode_gtid_set(text):
    """Gtid_set::encode() of an untagged set, written here from MySQL's
    documentation of COM_BINLOG_DUMP_GTID (not the double's code)."""
    sids = []
    for part in [p.strip() for p in text.replace("\n", "").split(",") if p.strip()]:
        elems = part.split(":")
        uuid = binascii.unhexlify(elems[0].replace("-", ""))
        ivs = []
        for iv in elems[1:]:
            a, _, b = iv.partition("-")
            ivs.append((int(a), int(b or a) + 1))
        sids.append((uuid, sorted(ivs)))
    sids.sort()
    out = struct.pack("<Q", len(sids))
    for uuid, ivs in sids:
        out += uuid + struct.pack("<Q", len(ivs))
        for s, e in ivs:
            out += struct.pack("<qq", s, e)
    return out


def main():
    o = json.loads(sys.argv[1])
    kw = dict(host=o.get("host", "127.0.0.1"), port=o["port"], user=o["user"],
              password=o["password"], read_timeout=o.get("read_timeout", 30))
    if o.get("ssl_ca"):
        kw["ssl"] = {"ca": o["ssl_ca"]}
    conn = pymysql.connect(**kw)
    cur = conn.cursor()
    if o.get("checksum"):
        cur.execute("SET @source_binlog_checksum = %s, @master_binlog_checksum = %s",
                    (o["checksum"], o["checksum"]))
    if o.get("heartbeat_ns"):
        cur.execute("SET @source_heartbeat_period = %d, @master_heartbeat_period = %d" %
                    (o["heartbeat_ns"], o["heartbeat_ns"]))
    for sql in o.get("set", []):
        cur.execute(sql)
    name = o.get("file", "").encode()
    if o.get("gtid_set") is not None:
        data = encode_gtid_set(o["gtid_set"])
        payload = (struct.pack("<HII", o.get("flags", 0), o.get("server_id", 1001), len(name)) +
                   name + struct.pack("<QI", o.get("pos", 4), len(data)) + data)
        cmd = COM_BINLOG_DUMP_GTID
    else:
        payload = struct.pack("<IHI", o.get("pos", 4), o.get("flags", 0),
                              o.get("server_id", 1001)) + name
        cmd = COM_BINLOG_DUMP
    conn._execute_command(cmd, payload)
    n = 0
    t0 = time.monotonic()
    limit = o.get("max_events")
    until = o.get("seconds")
    while limit is None or n < limit:
        if until is not None and time.monotonic() - t0 > until:
            break
        try:
            pkt = conn._read_packet()
        except pymysql.err.OperationalError as e:
            code = e.args[0]
            if code in (2013, 2006):
                print(json.dumps({"gone": str(e.args[1])}), flush=True)
            else:
                print(json.dumps({"error": code, "message": e.args[1]}), flush=True)
            return 0
        except pymysql.err.MySQLError as e:
            print(json.dumps({"error": e.args[0], "message": e.args[1]}), flush=True)
            return 0
        raw = pkt.get_all_data()
        if pkt.is_eof_packet():
            print(json.dumps({"eof": True}), flush=True)
            return 0
        ev = raw[1:]
        ts, typ, sid, ln, log_pos, flags = struct.unpack_from("<IBIIIH", ev, 0)
        rec = {"type": typ, "len": ln, "log_pos": log_pos, "flags": flags, "ts": ts,
               "server_id": sid, "t": round(time.monotonic() - t0, 3)}
        if o.get("hex"):
            rec["hex"] = ev.hex()
        print(json.dumps(rec), flush=True)
        n += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
