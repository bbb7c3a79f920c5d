"""A git smart-HTTP server for the tests: `git http-backend` behind a
loopback HTTP/1.1 server.

    git_http.py PORT ROOT [--token TOKEN --auth-log FILE]
                          [--stall FILE --events FILE]

--token: every request must carry "x-access-token:TOKEN" as HTTP basic
credentials (as GitHub takes a token), else 401 with a Basic challenge;
each request's credential is logged to --auth-log as ok, none or bad.
--stall: while FILE exists, a POST to git-upload-pack (the pack itself,
after the refs were advertised) gets its status line and headers, then
nothing until FILE is gone: a server hanging in the middle of a fetch;
"stalled" and "released" are appended to --events.
"""
import argparse
import base64
import http.server
import os
import subprocess
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("root")
ap.add_argument("--token")
ap.add_argument("--auth-log")
ap.add_argument("--stall")
ap.add_argument("--events")
args = ap.parse_args()
want = ("Basic " + base64.b64encode(("x-access-token:" + args.token).encode()).decode()
        if args.token else None)


def note(path, what):
    with open(path, "a") as f:
        f.write(what + "\n")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.git()

    def do_POST(self):
        self.git()

    def git(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if not size:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(n)
        if want:
            got = self.headers.get("Authorization")
            if args.auth_log:
                note(args.auth_log, "ok" if got == want else "none" if got is None else "bad")
            if got != want:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=args.root, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
                   GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
        if want:
            env["REMOTE_USER"] = "x-access-token"
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True).stdout
        head, _, content = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.flush()
        if (args.stall and self.command == "POST" and path.endswith("/git-upload-pack")
                and os.path.exists(args.stall)):
            note(args.events, "stalled")
            while os.path.exists(args.stall):
                time.sleep(0.1)
            note(args.events, "released")
        self.wfile.write(content)


http.server.ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
