#!/usr/bin/env python3
"""A loopback stand-in for a forge's commit status API, checking what the
real one checks.

    forge_emulator.py --port-file FILE --token TOKEN
                      [--repo OWNER/NAME=GITDIR]... [--project ID=GITDIR]...
                      [--parent-pid PID]

APIs (the commits of each repository are those of GITDIR, read with git):
  GitHub   POST /repos/{owner}/{repo}/statuses/{sha}
           GET  /repos/{owner}/{repo}/commits/{ref}/statuses   newest first
           GET  /repos/{owner}/{repo}/commits/{ref}/status     combined
  Gitea    the same under /api/v1 (Gitea and Forgejo copy GitHub's API)
  GitLab   POST /api/v4/projects/{id}/statuses/{sha}
           GET  /api/v4/projects/{id}/repository/commits/{sha}/statuses

What is checked, with the status and message the real services answer:
  GitHub/Gitea:
  - a User-Agent header (GitHub: 403 "Request forbidden by administrative
    rules. Please make sure your request has a User-Agent header")
  - Authorization "token T" or "Bearer T" with the configured token:
    absent 401 "Requires authentication", another 401 "Bad credentials"
  - the repository known (404 "Not Found")
  - a JSON object body (400 "Problems parsing JSON")
  - state one of error, failure, pending, success (Gitea also warning),
    else 422 "Validation Failed" with errors[{resource: Status, field:
    state, code: custom, message: "state is not included in the list"}]
  - context, description, target_url strings when present (422); the
    description at most 140 characters on GitHub (422 "description is too
    long (maximum is 140 characters)")
  - target_url an http(s) URL when present (422, field target_url)
  - the sha a commit of the repository (422 "No commit found for SHA: X")
  - answer 201 with the status object (id, url, state, description,
    target_url, context, created_at, updated_at, creator)
  GitLab:
  - PRIVATE-TOKEN or "Authorization: Bearer": 401 "401 Unauthorized"
  - the project known (404 "404 Project Not Found"), the sha a commit
    (404 "404 Commit Not Found")
  - state one of pending, running, success, failed, canceled (400
    {"error": "state does not have a valid value"}); name defaults to
    "default"
  - the same state again for the same sha and name: 400 "Cannot
    transition status via :run from :running" (what GitLab answers)

Test-only endpoints, no token:
  GET  /_emu/requests   every request: method, path, whether it carried a
                        credential header and whether it was the token,
                        the status answered, the body
  GET  /_emu/statuses   {sha: [status, ...]} accepted, oldest first
  POST /_emu/fail       {"count": N, "status": S}: the next N status
                        posts answer S (before any check)
  POST /_emu/delay      {"seconds": S}: status posts wait S s first
  POST /_emu/redirect   {"location": URL}: every API request answers 307
                        to URL + path
"""
import argparse
import json
import os
import re
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GITHUB_STATES = {"error", "failure", "pending", "success"}
GITEA_STATES = GITHUB_STATES | {"warning"}
GITLAB_STATES = {"pending", "running", "success", "failed", "canceled"}
DOC = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Emu:
    def __init__(self, token, repos, projects):
        self.token = token
        self.repos = repos
        self.projects = projects
        self.lock = threading.Lock()
        self.requests = []
        self.statuses = {}
        self.next_id = 1
        self.fail = []
        self.delay = 0.0
        self.redirect = None

    def is_commit(self, gitdir, sha):
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            return False
        r = subprocess.run(["git", "-C", gitdir, "cat-file", "-e", sha + "^{commit}"],
                           capture_output=True)
        return r.returncode == 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    @property
    def emu(self):
        return self.server.emu

    def send(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.answered = code

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, raw):
        auth = self.headers.get("Authorization")
        pt = self.headers.get("PRIVATE-TOKEN")
        cred = None
        if auth:
            parts = auth.split(" ", 1)
            cred = parts[1] if len(parts) == 2 and parts[0].lower() in ("token", "bearer") else auth
        elif pt:
            cred = pt
        with self.emu.lock:
            self.emu.requests.append({
                "method": self.command, "path": self.path,
                "credential": cred is not None, "token_ok": cred == self.emu.token,
                "user_agent": self.headers.get("User-Agent"),
                "content_type": self.headers.get("Content-Type"),
                "status": self.answered, "body": raw.decode("utf-8", "replace")})
        return cred

    def do_GET(self):
        self.handle_any(b"")

    def do_POST(self):
        self.handle_any(self.body())

    def handle_any(self, raw):
        self.answered = None
        if self.path.startswith("/_emu/"):
            return self.control(raw)
        try:
            self.api(raw)
        finally:
            self.record(raw)

    def control(self, raw):
        e = self.emu
        if self.path == "/_emu/requests":
            with e.lock:
                return self.send(200, e.requests)
        if self.path == "/_emu/statuses":
            with e.lock:
                return self.send(200, e.statuses)
        d = json.loads(raw or b"{}")
        with e.lock:
            if self.path == "/_emu/fail":
                e.fail = [d.get("status", 500)] * d.get("count", 1)
            elif self.path == "/_emu/delay":
                e.delay = float(d["seconds"])
            elif self.path == "/_emu/redirect":
                e.redirect = d["location"]
            else:
                return self.send(404, {"message": "no such control"})
        self.send(200, {})

    def api(self, raw):
        e = self.emu
        if e.redirect:
            self.send_response(307)
            self.send_header("Location", e.redirect + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.answered = 307
            return
        path = self.path.split("?", 1)[0]
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/(statuses|repository/commits)/([^/]+)(/statuses)?", path)
        if m:
            return self.gitlab(m.group(1), m.group(3), m.group(2) == "statuses", raw)
        m = re.fullmatch(r"(/api/v1)?/repos/([^/]+)/([^/]+)/(statuses|commits)/([^/]+)(/statuses|/status)?", path)
        if m:
            flavor = "gitea" if m.group(1) else "github"
            return self.github(flavor, m.group(2) + "/" + m.group(3), m.group(4), m.group(5),
                               m.group(6), raw)
        self.send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def maybe_fail(self):
        e = self.emu
        with e.lock:
            fail = e.fail.pop(0) if e.fail else None
            delay = e.delay
        if delay:
            time.sleep(delay)
        if fail:
            self.send(fail, {"message": "Server Error"})
            return True
        return False

    def github(self, flavor, repo, kind, sha, sub, raw):
        e = self.emu
        if self.command == "POST" and kind == "statuses" and self.maybe_fail():
            return
        if not self.headers.get("User-Agent"):
            return self.send(403, {"message": "Request forbidden by administrative rules. "
                                   "Please make sure your request has a User-Agent header"})
        auth = self.headers.get("Authorization")
        if not auth:
            return self.send(401, {"message": "Requires authentication", "documentation_url": DOC,
                                   "status": "401"})
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() not in ("token", "bearer") or cred != e.token:
            return self.send(401, {"message": "Bad credentials",
                                   "documentation_url": "https://docs.github.com/rest", "status": "401"})
        gitdir = e.repos.get(repo)
        if not gitdir:
            return self.send(404, {"message": "Not Found", "documentation_url": DOC, "status": "404"})
        if self.command == "GET":
            return self.github_read(repo, gitdir, kind, sha, sub)
        if kind != "statuses" or sub:
            return self.send(404, {"message": "Not Found"})
        try:
            d = json.loads(raw)
            if not isinstance(d, dict):
                raise ValueError
        except ValueError:
            return self.send(400, {"message": "Problems parsing JSON", "documentation_url": DOC,
                                   "status": "400"})

        def invalid(field, message):
            self.send(422, {"message": "Validation Failed",
                            "errors": [{"resource": "Status", "code": "custom", "field": field,
                                        "message": message}],
                            "documentation_url": DOC, "status": "422"})

        states = GITEA_STATES if flavor == "gitea" else GITHUB_STATES
        if d.get("state") not in states:
            return invalid("state", "state is not included in the list")
        for k in ("context", "description", "target_url"):
            if k in d and d[k] is not None and not isinstance(d[k], str):
                return invalid(k, "%s is not a string" % k)
        if flavor == "github" and len(d.get("description") or "") > 140:
            return invalid("description", "description is too long (maximum is 140 characters)")
        tu = d.get("target_url")
        if tu and not re.match(r"https?://[^\s/]+", tu):
            return invalid("target_url", "target_url is not a valid URL")
        if not e.is_commit(gitdir, sha):
            return self.send(422, {"message": "No commit found for SHA: " + sha,
                                   "documentation_url": DOC, "status": "422"})
        with e.lock:
            sid = e.next_id
            e.next_id += 1
            base = "http://%s:%d" % self.server.server_address[:2]
            st = {"url": "%s/repos/%s/statuses/%s" % (base, repo, sha),
                  "avatar_url": None, "id": sid, "node_id": "SC_%d" % sid,
                  "state": d["state"], "description": d.get("description"),
                  "target_url": d.get("target_url"), "context": d.get("context") or "default",
                  "created_at": now(), "updated_at": now(),
                  "creator": {"login": "godwit-bot", "id": 1, "type": "User"},
                  "_sha": sha, "_flavor": flavor, "_repo": repo}
            e.statuses.setdefault(sha, []).append(st)
        out = {k: v for k, v in st.items() if not k.startswith("_")}
        self.send(201, out, {"Location": out["url"]})

    def github_read(self, repo, gitdir, kind, ref, sub):
        e = self.emu
        if kind != "commits" or not sub:
            return self.send(404, {"message": "Not Found"})
        sha = subprocess.run(["git", "-C", gitdir, "rev-parse", "--verify", "-q", ref + "^{commit}"],
                             capture_output=True, text=True).stdout.strip()
        if not sha:
            return self.send(422, {"message": "No commit found for SHA: " + ref})
        with e.lock:
            mine = [{k: v for k, v in s.items() if not k.startswith("_")}
                    for s in reversed(e.statuses.get(sha, [])) if s["_repo"] == repo]
        if sub == "/statuses":
            return self.send(200, mine)
        latest = {}
        for s in mine:
            latest.setdefault(s["context"], s)
        vals = [s["state"] for s in latest.values()]
        state = ("failure" if any(v in ("failure", "error") for v in vals)
                 else "pending" if not vals or "pending" in vals else "success")
        self.send(200, {"state": state, "statuses": list(latest.values()), "sha": sha,
                        "total_count": len(latest),
                        "repository": {"full_name": repo}, "commit_url": "", "url": ""})

    def gitlab(self, pid, sha, post, raw):
        e = self.emu
        if self.command == "POST" and self.maybe_fail():
            return
        cred = self.headers.get("PRIVATE-TOKEN")
        auth = self.headers.get("Authorization") or ""
        if not cred and auth.lower().startswith("bearer "):
            cred = auth[7:]
        if cred != e.token:
            return self.send(401, {"message": "401 Unauthorized"})
        gitdir = e.projects.get(pid)
        if not gitdir:
            return self.send(404, {"message": "404 Project Not Found"})
        if not e.is_commit(gitdir, sha):
            return self.send(404, {"message": "404 Commit Not Found"})
        if self.command == "GET":
            with e.lock:
                return self.send(200, [s for s in e.statuses.get(sha, []) if s.get("_project") == pid])
        try:
            d = json.loads(raw)
            if not isinstance(d, dict):
                raise ValueError
        except ValueError:
            return self.send(400, {"error": "The request body is not valid JSON"})
        if d.get("state") not in GITLAB_STATES:
            return self.send(400, {"error": "state does not have a valid value"})
        name = d.get("name") or d.get("context") or "default"
        with e.lock:
            prev = [s for s in e.statuses.get(sha, []) if s.get("_project") == pid and s["name"] == name]
            if prev and prev[-1]["status"] == d["state"]:
                verb = {"running": "run", "success": "succeed", "failed": "drop",
                        "canceled": "cancel", "pending": "enqueue"}[d["state"]]
                return self.send(400, {"message": "Cannot transition status via :%s from :%s" %
                                       (verb, d["state"])})
            sid = e.next_id
            e.next_id += 1
            st = {"id": sid, "sha": sha, "ref": None, "status": d["state"], "name": name,
                  "target_url": d.get("target_url"), "description": d.get("description"),
                  "created_at": now(), "started_at": None, "finished_at": None,
                  "allow_failure": False, "coverage": None,
                  "author": {"username": "godwit-bot"}, "_project": pid}
            e.statuses.setdefault(sha, []).append(st)
        self.send(201, {k: v for k, v in st.items() if not k.startswith("_")})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--repo", action="append", default=[], help="OWNER/NAME=GITDIR")
    ap.add_argument("--project", action="append", default=[], help="ID=GITDIR")
    ap.add_argument("--parent-pid", type=int)
    a = ap.parse_args()
    repos = dict(r.split("=", 1) for r in a.repo)
    projects = dict(p.split("=", 1) for p in a.project)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.emu = Emu(a.token, repos, projects)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    if a.parent_pid:
        def watch():
            while True:
                try:
                    os.kill(a.parent_pid, 0)
                except ProcessLookupError:
                    os._exit(0)
                time.sleep(0.5)
        threading.Thread(target=watch, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
