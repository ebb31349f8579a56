"""A full disk: the catalog lives on a small tmpfs; a dataset larger than
the free space is refused before anything is committed (no cut file in the
work tree, no index entry, the branch where it was), and goes in once
there is room. Needs a tmpfs mount (root with CAP_SYS_ADMIN): elsewhere the
test reports itself skipped (exit 77)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assaytest import check, main  # noqa: E402
from catalogtest import snapshot  # noqa: E402

SKIP = 77


def mount_tmpfs(size):
    point = tempfile.mkdtemp(prefix="assay-full-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", point],
                       capture_output=True)
    if p.returncode != 0:
        os.rmdir(point)
        return None
    return point


def refused_then_accepted(env):
    with open(env.path("big.jsonl"), "w") as f:
        for i in range(20000):
            f.write(json.dumps({"id": "c%d" % i, "vars": {"x": "word " * 30}, "expected": "y"}) + "\n")
    env.data = os.path.join(env.small, "data")
    env.ok("catalog", "init")
    env.ok("prompt", "add", "p", "--file", env.write_json("p.json", {"template": "say {{x}}"}))
    before = snapshot(env)
    r = env.fails("dataset", "add", "big", "--file", env.path("big.jsonl"),
                  contains="not enough free space")
    check("nothing committed" in r.err, r.err)
    after = snapshot(env)
    check(before[:4] == after[:4], "the catalog changed")
    check(not os.path.exists(os.path.join(env.data, "catalog", "datasets")), "a file was written")
    check("no datasets" in env.ok("dataset", "list").out)
    subprocess.run(["mount", "-o", "remount,size=64m", env.small], check=True)
    v = env.ok("dataset", "add", "big", "--file", env.path("big.jsonl"), "--json").json()
    check(v["version"] == 1 and v["cases"] == 20000, v)
    check(env.git("status", "--porcelain") == "", "work tree in step with the branch")


def run(env):
    env.small = mount_tmpfs("2m")
    if env.small is None:
        print("skipped: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        sys.exit(SKIP)
    try:
        refused_then_accepted(env)
    finally:
        subprocess.run(["umount", env.small])
        os.rmdir(env.small)


main([run])
