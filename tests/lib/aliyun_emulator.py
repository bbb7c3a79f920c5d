#!/usr/bin/env python3
"""A loopback stand-in for the Alibaba Cloud OpenAPI endpoints godwit calls
(STS 2015-04-01, RDS 2014-08-15), checking what the real service checks.

    aliyun_emulator.py CONFIG.json --port-file FILE [--log FILE.jsonl] [--parent-pid PID]

Every call, whatever product it belongs to, comes to http://127.0.0.1:PORT/
(godwit's GODWIT_ALIYUN_ENDPOINT). What is checked, with the documented
error code and HTTP status:
  - the common parameters present (MissingParameter 400), SignatureMethod
    HMAC-SHA1 and SignatureVersion 1.0 (InvalidParameter 400), Format JSON
    or XML
  - Action known (InvalidAction.NotFound 404) and Version that of its
    product (InvalidVersion 400)
  - Timestamp as yyyy-MM-ddTHH:mm:ssZ (InvalidTimeStamp.Format 400) within
    15 minutes (InvalidTimeStamp.Expired 400)
  - SignatureNonce never seen before (SignatureNonceUsed 400)
  - AccessKeyId known (InvalidAccessKeyId.NotFound 404); for STS keys a
    SecurityToken present (MissingSecurityToken 400), equal to the one
    issued (InvalidSecurityToken.Mismatch 400) and not expired
    (InvalidSecurityToken.Expired 400)
  - the signature recomputed with the key's secret (SignatureDoesNotMatch
    400, whose message echoes the string to sign as the real one does)
  - the parameters each action requires (MissingParameter 400)
  - AssumeRole: the role exists in the account named by the ARN
    (EntityNotExist.Role 404), trusts the caller's account (NoPermission
    403), RoleSessionName 2-64 of [A-Za-z0-9.@_-] (InvalidParameter 400),
    DurationSeconds 900-3600
  - RDS: the instance belongs to the caller's account (for assumed
    credentials the role's) and region, else InvalidDBInstanceId.NotFound
    404; a key may be denied actions (NoPermission 403)
  - ModifySecurityIps: group name [a-z][a-z0-9_]{1,31}
    (InvalidDBInstanceIPArrayName.Format 400), entries IPv4 addresses or
    CIDRs (InvalidSecurityIps.Format 400), ModifyMode Cover (replace; an
    empty list is refused), Append, Delete (an emptied group disappears,
    the default group falls back to 127.0.0.1).

CONFIG:
  {"accounts": {"ACCT": {"keys": {"KEYID": {"secret": "...", "deny": [ACTION...]}},
                         "roles": {"NAME": {"trust": ["ACCT", ...]}}}},
   "instances": {"rm-x": {"account": "ACCT", "region": "cn-hangzhou",
                          "host": "127.0.0.1", "port": 3306, "engine": "MariaDB",
                          "engineVersion": "10.11", "storageGB": 20, "diskUsed": 1048576,
                          "groups": {"default": "127.0.0.1"}}},
   "stsDurationMax": 3600}

Requests may come through it as an HTTP proxy (an absolute URL in the
request line); the call log then says "proxied": true.

Test-only endpoints, no signature:
  GET  /_emulator/state    {"instances": {id: {"groups": {...}}}, "calls": {action: n}}
  POST /_emulator/inject   {"action": A, "code": C, "status": S, "count": N}: the next
                           N valid calls of A fail with that code and status
  POST /_emulator/expire   every STS credential issued so far expires now
"""
import argparse
import base64
import calendar
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRODUCTS = {
    "sts": ("2015-04-01", {"AssumeRole": ["RoleArn", "RoleSessionName"], "GetCallerIdentity": []}),
    "rds": ("2014-08-15", {
        "DescribeDBInstanceNetInfo": ["DBInstanceId"],
        "DescribeDBInstanceAttribute": ["DBInstanceId"],
        "DescribeResourceUsage": ["DBInstanceId"],
        "DescribeDBInstanceIPArrayList": ["DBInstanceId"],
        "ModifySecurityIps": ["DBInstanceId", "SecurityIps"],
    }),
}
COMMON = ["Format", "Version", "AccessKeyId", "SignatureMethod", "Timestamp",
          "SignatureVersion", "SignatureNonce", "Signature", "Action"]
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SESSION_RE = re.compile(r"^[A-Za-z0-9.@_-]{2,64}$")
GROUP_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
ARN_RE = re.compile(r"^acs:ram::(\d+):role/(.+)$")
SKEW = 15 * 60


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def encode(s):
    return urllib.parse.quote(s, safe="-_.~")


def string_to_sign(method, params):
    q = "&".join(encode(k) + "=" + encode(v) for k, v in
                 sorted((k, v) for k, v in params.items() if k != "Signature"))
    return method + "&" + encode("/") + "&" + encode(q)


class Emulator:
    def __init__(self, cfg, log_path):
        self.lock = threading.Lock()
        self.cfg = cfg
        self.log_path = log_path
        self.nonces = set()
        self.sts = {}  # key id -> {secret, token, expires, account, role}
        self.inject = []
        self.calls = {}
        self.keys = {}
        for acct, a in cfg.get("accounts", {}).items():
            for kid, k in a.get("keys", {}).items():
                self.keys[kid] = dict(k, account=acct)

    def log(self, entry):
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def authenticate(self, method, p):
        for k in COMMON:
            if k not in p:
                raise ApiError(400, "MissingParameter",
                               'The input parameter "%s" that is mandatory for processing this request is not supplied.' % k)
        if p["SignatureMethod"] != "HMAC-SHA1":
            raise ApiError(400, "InvalidParameter", "Specified parameter SignatureMethod is not valid.")
        if p["SignatureVersion"] != "1.0":
            raise ApiError(400, "InvalidParameter", "Specified parameter SignatureVersion is not valid.")
        if p["Format"] not in ("JSON", "XML"):
            raise ApiError(400, "InvalidParameter", "Specified parameter Format is not valid.")
        product = next((n for n, (_, acts) in PRODUCTS.items() if p["Action"] in acts), None)
        if not product:
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if p["Version"] != PRODUCTS[product][0]:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        ts = p["Timestamp"]
        if not TS_RE.match(ts):
            raise ApiError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        t = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
        if abs(time.time() - t) > SKEW:
            raise ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        kid = p["AccessKeyId"]
        with self.lock:
            key = self.keys.get(kid) or self.sts.get(kid)
        if not key:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if "token" in key:
            if "SecurityToken" not in p:
                raise ApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
            if not hmac.compare_digest(p["SecurityToken"], key["token"]):
                raise ApiError(400, "InvalidSecurityToken.Mismatch", "Specified SecurityToken mismatch with the AccessKey.")
            if time.time() > key["expires"]:
                raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        sts = string_to_sign(method, p)
        want = base64.b64encode(hmac.new((key["secret"] + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(want, p["Signature"]):
            raise ApiError(400, "SignatureDoesNotMatch",
                           "Specified signature is not matched with our calculation. server string to sign is:" + sts)
        with self.lock:
            if p["SignatureNonce"] in self.nonces:
                raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self.nonces.add(p["SignatureNonce"])
        for k in PRODUCTS[product][1][p["Action"]]:
            if not p.get(k):
                raise ApiError(400, "MissingParameter",
                               'The input parameter "%s" that is mandatory for processing this request is not supplied.' % k)
        if p["Action"] in key.get("deny", []):
            raise ApiError(403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.")
        with self.lock:
            for i, inj in enumerate(self.inject):
                if inj["action"] == p["Action"]:
                    inj["count"] -= 1
                    if inj["count"] <= 0:
                        del self.inject[i]
                    raise ApiError(inj["status"], inj["code"], inj.get("message", "Injected failure."))
        return key

    # --- STS ---
    def AssumeRole(self, key, p):
        m = ARN_RE.match(p["RoleArn"])
        if not m:
            raise ApiError(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
        acct, name = m.group(1), m.group(2)
        roles = {r.lower(): v for r, v in self.cfg.get("accounts", {}).get(acct, {}).get("roles", {}).items()}
        role = roles.get(name.lower())
        if role is None:
            raise ApiError(404, "EntityNotExist.Role", "The role not exists: %s." % p["RoleArn"])
        if key["account"] not in role.get("trust", []):
            raise ApiError(403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.")
        if not SESSION_RE.match(p["RoleSessionName"]):
            raise ApiError(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
        dur = int(p.get("DurationSeconds", "3600"))
        if dur < 900 or dur > self.cfg.get("stsDurationMax", 3600):
            raise ApiError(400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr.")
        kid = "STS." + secrets.token_hex(10)
        cred = {"secret": secrets.token_urlsafe(30), "token": "CAIS" + secrets.token_urlsafe(120),
                "expires": time.time() + dur, "account": acct, "role": name,
                "deny": role.get("deny", [])}
        with self.lock:
            self.sts[kid] = cred
        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cred["expires"]))
        return {"Credentials": {"AccessKeyId": kid, "AccessKeySecret": cred["secret"],
                                "SecurityToken": cred["token"], "Expiration": exp},
                "AssumedRoleUser": {"Arn": "acs:ram::%s:role/%s/%s" % (acct, name, p["RoleSessionName"]),
                                    "AssumedRoleId": "3" + secrets.token_hex(8) + ":" + p["RoleSessionName"]}}

    def GetCallerIdentity(self, key, p):
        return {"AccountId": key["account"], "Arn": "acs:ram::%s:user/godwit" % key["account"],
                "UserId": "2" + key["account"][-8:], "IdentityType": "RAMUser"}

    # --- RDS ---
    def instance(self, key, p):
        inst = self.cfg.get("instances", {}).get(p["DBInstanceId"])
        if not inst or inst["account"] != key["account"] or \
                ("RegionId" in p and p["RegionId"] != inst.get("region", p["RegionId"])):
            raise ApiError(404, "InvalidDBInstanceId.NotFound", "Specified instance does not exist or not support.")
        return inst

    def DescribeDBInstanceNetInfo(self, key, p):
        inst = self.instance(key, p)
        return {"InstanceNetworkType": "VPC", "DBInstanceNetInfos": {"DBInstanceNetInfo": [
            {"ConnectionString": "10.255.255.1", "IPAddress": "10.255.255.1", "IPType": "Private",
             "Port": "1", "ConnectionStringType": "Normal", "VPCId": "vpc-x"},
            {"ConnectionString": inst["host"], "IPAddress": inst["host"], "IPType": "Public",
             "Port": str(inst["port"]), "ConnectionStringType": "Normal"}]}}

    def DescribeDBInstanceAttribute(self, key, p):
        inst = self.instance(key, p)
        return {"Items": {"DBInstanceAttribute": [{
            "DBInstanceId": p["DBInstanceId"], "RegionId": inst.get("region"),
            "Engine": inst.get("engine", "MySQL"), "EngineVersion": inst.get("engineVersion", "8.0"),
            "DBInstanceStorage": inst.get("storageGB", 20), "DBInstanceStatus": "Running",
            "ConnectionString": inst["host"], "Port": str(inst["port"])}]}}

    def DescribeResourceUsage(self, key, p):
        inst = self.instance(key, p)
        used = inst.get("diskUsed", 0)
        return {"DBInstanceId": p["DBInstanceId"], "Engine": inst.get("engine", "MySQL"),
                "DiskUsed": used, "DataSize": used, "LogSize": 0, "BackupSize": 0}

    def DescribeDBInstanceIPArrayList(self, key, p):
        inst = self.instance(key, p)
        with self.lock:
            groups = dict(inst.setdefault("groups", {"default": "127.0.0.1"}))
        return {"Items": {"DBInstanceIPArray": [
            {"DBInstanceIPArrayName": n, "SecurityIPList": v, "DBInstanceIPArrayAttribute": "",
             "SecurityIPType": "IPv4", "WhitelistNetworkType": "MIX"} for n, v in sorted(groups.items())]}}

    def ModifySecurityIps(self, key, p):
        inst = self.instance(key, p)
        name = p.get("DBInstanceIPArrayName", "default")
        if not GROUP_RE.match(name):
            raise ApiError(400, "InvalidDBInstanceIPArrayName.Format", "Specified DBInstanceIPArrayName is not valid.")
        mode = p.get("ModifyMode", "Cover")
        if mode not in ("Cover", "Append", "Delete"):
            raise ApiError(400, "InvalidParameter", "Specified parameter ModifyMode is not valid.")
        ips = [x.strip() for x in p["SecurityIps"].split(",")]
        for ip in ips:
            try:
                if "/" in ip:
                    ipaddress.IPv4Network(ip, strict=False)
                else:
                    ipaddress.IPv4Address(ip)
            except ValueError:
                raise ApiError(400, "InvalidSecurityIps.Format", "Specified security IP list is not valid.")
        if len(ips) > 1000:
            raise ApiError(400, "InvalidSecurityIPList.Duplicate", "Specified security IP list is too long.")
        with self.lock:
            groups = inst.setdefault("groups", {"default": "127.0.0.1"})
            cur = [x for x in groups.get(name, "").split(",") if x]
            if mode == "Cover":
                new = list(dict.fromkeys(ips))
            elif mode == "Append":
                new = cur + [x for x in dict.fromkeys(ips) if x not in cur]
            else:
                new = [x for x in cur if x not in ips]
            if new:
                groups[name] = ",".join(new)
            elif name == "default":
                groups[name] = "127.0.0.1"
            else:
                groups.pop(name, None)
        return {"TaskId": 0}

    def handle(self, method, params):
        key = self.authenticate(method, params)
        action = params["Action"]
        with self.lock:
            self.calls[action] = self.calls.get(action, 0) + 1
        return key, getattr(self, action)(key, params)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def params(self, raw):
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=False)
        p = {}
        for k, v in pairs:
            if k in p:
                raise ApiError(400, "InvalidParameter", "Duplicate parameter %s." % k)
            p[k] = v
        return p

    def api(self, method, raw):
        emu = self.server.emu
        rid = str(uuid.uuid4()).upper()
        p = {}
        try:
            p = self.params(raw)
            key, body = emu.handle(method, p)
            body["RequestId"] = rid
            issued = body.get("Credentials", {}).get("AccessKeySecret")
            emu.log({"action": p.get("Action"), "status": 200, "account": key["account"],
                     "params": p, "method": method, "raw": raw, "issuedSecret": issued,
                     "proxied": self.path.startswith("http")})
            self.reply(200, body)
        except ApiError as e:
            emu.log({"action": p.get("Action"), "status": e.status, "code": e.code,
                     "params": p, "method": method, "raw": raw,
                     "proxied": self.path.startswith("http")})
            self.reply(e.status, {"RequestId": rid, "HostId": self.headers.get("Host", ""),
                                  "Code": e.code, "Message": e.message,
                                  "Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.code})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_emulator/state":
            emu = self.server.emu
            with emu.lock:
                st = {"instances": {i: {"groups": dict(v.get("groups", {}))}
                                    for i, v in emu.cfg.get("instances", {}).items()},
                      "calls": dict(emu.calls)}
            return self.reply(200, st)
        if url.path != "/":
            return self.reply(404, {"Code": "InvalidAction.NotFound", "Message": "no such path"})
        self.api("GET", url.query)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode() if n else ""
        if url.path == "/_emulator/expire":
            with self.server.emu.lock:
                for c in self.server.emu.sts.values():
                    c["expires"] = time.time() - 1
            return self.reply(200, {"ok": True})
        if url.path == "/_emulator/inject":
            with self.server.emu.lock:
                self.server.emu.inject.append(json.loads(body))
            return self.reply(200, {"ok": True})
        self.api("POST", body or url.query)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.emu = Emulator(cfg, a.log)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    if a.parent_pid:
        def watch():
            while True:
                try:
                    os.kill(a.parent_pid, 0)
                except ProcessLookupError:
                    os._exit(0)
                time.sleep(0.5)
        threading.Thread(target=watch, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
