"""Concurrent writers and a 100,000-case dataset."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assaytest import ASSAY, check, main  # noqa: E402
from catalogtest import versions, write_cases  # noqa: E402


def two_writers_both_succeed(env):
    env.ok("catalog", "init")
    n = 12
    files = {}
    for who in ("a", "b"):
        for i in range(n):
            files[who, i] = env.write_json("%s%d.json" % (who, i), {"template": "%s%d {{x}}" % (who, i)})
    procs = []
    for who in ("a", "b"):
        script = " && ".join("%s --data %s prompt add p%s --file %s >/dev/null"
                             % (ASSAY, env.data, who, files[who, i]) for i in range(n))
        procs.append(subprocess.Popen(["sh", "-c", script], stderr=subprocess.PIPE, text=True))
    # A reader at the same time.
    reader = subprocess.Popen(["sh", "-c", " && ".join(["%s --data %s prompt list >/dev/null"
                                                        % (ASSAY, env.data)] * n)],
                              stderr=subprocess.PIPE, text=True)
    for p in procs + [reader]:
        err = p.communicate(timeout=300)[1]
        check(p.returncode == 0, err)
    check(len(env.git("rev-list", "HEAD").split()) == 2 * n + 1, "every commit landed")
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=os.path.join(env.data, "catalog"),
                          capture_output=True, text=True)
    check(fsck.returncode == 0, fsck.stderr)
    con = env.db()
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    con.close()
    for who in ("a", "b"):
        v = versions(env, 0, "p" + who)
        check([x[0] for x in v] == list(range(1, n + 1)), v)
        show = env.ok("prompt", "show", "p%s@v%d" % (who, n), "--json").json()
        check(show["content"]["template"] == "%s%d {{x}}" % (who, n - 1), show)
    check(env.git("status", "--porcelain") == "")
    before = env.db().execute("SELECT * FROM cat_changes ORDER BY id").fetchall()
    env.ok("catalog", "reindex")
    check(env.db().execute("SELECT * FROM cat_changes ORDER BY id").fetchall() == before)


def hundred_thousand_cases(env):
    path = write_cases(env, "big.jsonl", 100000)
    t0 = time.time()
    r = env.ok("dataset", "add", "big", "--file", path, "--json").json()
    took = time.time() - t0
    print("     100,000-case import: %.2f s (%.1f MB)" % (took, os.path.getsize(path) / 1e6))
    check(r["cases"] == 100000, r)
    check(took < 15, "import took %.1f s" % took)
    with open(path) as f:
        first = f.readline()
    shown = env.ok("dataset", "show", "big", "--limit", "1", "--json").json()["items"][0]
    check(shown["id"] == json.loads(first)["id"])
    blob = env.git("rev-parse", "HEAD:datasets/big.jsonl").strip()
    check(blob == r["blob"], (blob, r["blob"]))
    # A bad last line rejects the whole file.
    with open(path, "a") as f:
        f.write('{"id": "c5", "vars": {}}\n')
    env.fails("dataset", "add", "big", "--file", path, contains="line 100001: field 'id'")
    check(env.ok("dataset", "list", "--json").json()[0]["version"] == 1)


main([two_writers_both_succeed, hundred_thousand_cases])
