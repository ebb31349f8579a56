"""Helpers for the web tests: start `assay serve` on 127.0.0.1 with a free
port, read the admin token it prints, and talk HTTP with http.client."""
import http.client
import json
import os
import re
import signal
import subprocess
import time

from assaytest import ASSAY


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:600])


class Server:
    """A running `assay serve`; stop() sends SIGTERM and waits."""

    def __init__(self, data, demo=False, extra=None):
        args = [ASSAY, "--data", data, "serve", "--port", "0"]
        if demo:
            args.append("--demo")
        args += extra or []
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.token = None
        self.lines = []
        deadline = time.time() + 240
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("assay serve exited: %s" % self.proc.stderr.read())
            self.lines.append(line)
            m = re.search(r"admin token .*: (as_[0-9a-f]+)", line)
            if m:
                self.token = m.group(1)
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
            if time.time() > deadline:
                raise AssertionError("assay serve did not start")

    def request(self, method, path, body=None, token=None, cookie=None, csrf=None,
                headers=None, raw=None, content_type="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            h["Content-Type"] = content_type
        if token:
            h["Authorization"] = "Bearer " + token
        if cookie:
            h["Cookie"] = cookie
        if csrf:
            h["X-CSRF-Token"] = csrf
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        out = Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
        conn.close()
        return out

    def api(self, method, path, body=None, **kw):
        return self.request(method, "/api/v1" + path, body, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("assay serve did not stop on signal %d" % sig)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def add_user(srv, name, role):
    r = srv.api("POST", "/users", {"name": name, "role": role}, token=srv.token)
    if r.status != 201:
        raise AssertionError("add user %s: %r" % (name, r))
    return r.json()["token"]


def wait_runs(srv, token, ids, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = True
        for i in ids:
            s = srv.api("GET", "/runs/%d" % i, token=token).json()
            if s.get("in_progress") or s["status"] == "running":
                done = False
        if done:
            return
        time.sleep(0.2)
    raise AssertionError("runs %r did not finish" % (ids,))


def write_replay(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def demo_cases(name):
    src = os.environ.get("ASSAY_SOURCE_DIR", ".")
    with open(os.path.join(src, "demo", "datasets", name + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]
