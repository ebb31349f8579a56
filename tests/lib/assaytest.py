"""Shared helpers for assay's integration tests.

Each test runs the real binary ($ASSAY_BIN) against a fresh data directory in
a temporary folder and checks the results with independent tools (the git and
sqlite3 command lines, Python's sqlite3 module, HTTP clients).
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback

ASSAY = os.environ.get("ASSAY_BIN", "build/assay")
SOURCE_DIR = os.environ.get("ASSAY_SOURCE_DIR", os.getcwd())


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def jsonl(self):
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.code, self.out[-2000:], self.err[-2000:])


class Env:
    """A temporary working folder with its own assay data directory."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="assay-it-")
        self.data = os.path.join(self.root, "data")

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def write_json(self, name, obj):
        return self.write(name, json.dumps(obj))

    def run(self, *args, stdin=None, env=None, timeout=300, data=True, cwd=None):
        cmd = [ASSAY]
        if data:
            cmd += ["--data", self.data]
        cmd += [str(a) for a in args]
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                              env=full_env, timeout=timeout, cwd=cwd or self.root)
        return Result(proc)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        if r.code != 0:
            raise AssertionError("assay %s failed: %r" % (" ".join(map(str, args)), r))
        return r

    def fails(self, *args, code=1, contains=None, **kw):
        r = self.run(*args, **kw)
        if r.code != code:
            raise AssertionError("assay %s: expected exit %d: %r" % (" ".join(map(str, args)), code, r))
        lines = [l for l in r.err.splitlines() if l.strip()]
        if len(lines) != 1:
            raise AssertionError("expected a one-line error, got %r" % r.err)
        if contains and contains not in r.err:
            raise AssertionError("error %r lacks %r" % (r.err, contains))
        return r

    def db(self):
        return sqlite3.connect(os.path.join(self.data, "assay.db"))

    def git(self, *args, cwd=None):
        proc = subprocess.run(["git"] + list(args), capture_output=True, text=True,
                              cwd=cwd or os.path.join(self.data, "catalog"))
        if proc.returncode != 0:
            raise AssertionError("git %s failed: %s" % (" ".join(args), proc.stderr))
        return proc.stdout

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def main(tests):
    """Run each test function with a fresh Env; print a summary line."""
    passed = failed = 0
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        env = Env()
        try:
            t(env)
            passed += 1
            print("ok   %s" % t.__name__, flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
        finally:
            env.close()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
