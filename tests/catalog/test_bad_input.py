"""Bad input: each gets a one-line error naming the input, exit status 1,
and leaves the repository, the labels, the work tree and the index exactly
as they were."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assaytest import check, main  # noqa: E402
from catalogtest import PROMPT, add_prompt, snapshot, write_cases  # noqa: E402


def refused(env, args, contains):
    """Run assay with args, expect a one-line error containing 'contains'
    and no change at all."""
    before = snapshot(env)
    env.fails(*args, contains=contains)
    after = snapshot(env)
    check(before == after, "catalog changed by: assay %s" % " ".join(args))


def seeded(env):
    add_prompt(env)
    env.ok("prompt", "label", "summarize", "v1", "production")
    env.ok("dataset", "add", "news", "--file", write_cases(env, "n.jsonl", 5))


def bad_names_and_labels(env):
    seeded(env)
    p = env.path("in/summarize.json")
    for name in ("Summarize", "../x", "a/../b", "a..b", "_x", "a//b", "a/", "x y", "a" * 129,
                 "caf\u00e9", ".hidden", "x.lock"):
        refused(env, ["prompt", "add", name, "--file", p], "invalid name")
    for label in ("Prod", "a" * 37, "a/b", "v2", "x..y", "sp ace", ""):
        refused(env, ["prompt", "label", "summarize", "v1", label], "invalid label")
    refused(env, ["prompt", "show", "summarize@Bad!"], "summarize@Bad!")


def malformed_json_reports_line_and_column(env):
    seeded(env)
    bad = env.write("bad.json", '{\n  "template": "x",\n  "tags": [1,\n}\n')
    refused(env, ["prompt", "add", "summarize", "--file", bad], "line 4 column 1")
    bad = env.write("bad2.json", '{"template": "x", "template": "y"}')
    refused(env, ["prompt", "add", "summarize", "--file", bad], "duplicate")
    refused(env, ["prompt", "render", "summarize", "--vars", '{"n": '], "--vars: line 1")


def schema_errors_name_the_field(env):
    seeded(env)
    cases = [
        ({"template": "{{a}}", "variables": ["a", "b"]}, "declares 'b'"),
        ({"template": "{{a", "tags": []}, "not closed"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"template": "x", "tempalte": "y"}, "unknown field 'tempalte'"),
        ({"name": "other", "template": "x"}, "field 'name' is 'other'"),
    ]
    for doc, needle in cases:
        p = env.write_json("doc.json", doc)
        refused(env, ["prompt", "add", "summarize", "--file", p], needle)


def invalid_utf8_and_size_limits(env):
    seeded(env)
    p = env.path("latin1.json")
    with open(p, "wb") as f:
        f.write(b'{"template": "caf\xe9 {{x}}"}')
    refused(env, ["prompt", "add", "summarize", "--file", p], "UTF-8")
    big = env.write("big.json", json.dumps({"template": "x" * (1 << 20)}))
    refused(env, ["prompt", "add", "summarize", "--file", big], "big.json")
    with open(p, "wb") as f:
        f.write(b'{"id": 1, "vars": {"t": "ok"}}\n{"id": 2, "vars": {"t": "\xc3\x28"}}\n')
    refused(env, ["dataset", "add", "news", "--file", p], "line 2: invalid UTF-8")
    long_line = env.path("long.jsonl")
    with open(long_line, "w") as f:
        f.write('{"id": 1}\n{"id": 2, "vars": {"t": "%s"}}\n' % ("y" * (1 << 20)))
    refused(env, ["dataset", "add", "news", "--file", long_line], "line 2: longer than")
    refused(env, ["prompt", "add", "summarize", "--file", env.path("missing.json")], "missing.json")
    refused(env, ["dataset", "add", "news", "--file", env.path("missing.jsonl")], "missing.jsonl")
    refused(env, ["dataset", "add", "news", "--file", env.root], "not a regular file")


def bad_dataset_lines_commit_nothing(env):
    seeded(env)
    good = [json.dumps({"id": "c%d" % i, "vars": {"x": i}}) for i in range(1000)]
    cases = [
        (1000, '{"id": "z", "vars": []}', "line 1001: field 'vars'"),
        (500, '{"vars": {}}', "line 501: field 'id'"),
        (3, '{"id": "c1", "vars": {}}', "line 4: field 'id': 'c1' is used"),
        (7, '{"id": "q", "expected": 3}', "line 8: field 'expected'"),
        (2, '{"id": "q", "tags": "x"}', "line 3: field 'tags'"),
        (9, '{"id": "q", ', "line 10 column"),
        (0, 'not json', "line 1 column"),
    ]
    for at, line, needle in cases:
        lines = good[:at] + [line] + good[at:]
        p = env.write("bad.jsonl", "\n".join(lines) + "\n")
        refused(env, ["dataset", "add", "news", "--file", p], needle)
    refused(env, ["dataset", "add", "empty", "--file", env.write("e.jsonl", "\n\n")],
            "at least one case")


def unknown_and_ambiguous_refs(env):
    seeded(env)
    refused(env, ["prompt", "show", "nope"], "prompt 'nope': not found")
    refused(env, ["prompt", "show", "summarize@v9"], "summarize@v9: no such version")
    refused(env, ["prompt", "show", "summarize@staging"], "summarize@staging: no such label")
    refused(env, ["prompt", "show", "summarize@deadbeef"], "no label or commit 'deadbeef'")
    refused(env, ["prompt", "diff", "summarize", "v1", "v7"], "summarize@v7")
    refused(env, ["prompt", "log", "nope"], "'nope': not found")
    refused(env, ["dataset", "show", "summarize"], "dataset 'summarize': not found")
    refused(env, ["prompt", "label", "nope", "v1", "prod"], "'nope': not found")
    refused(env, ["prompt", "unlabel", "summarize", "staging"], "no label 'staging'")
    refused(env, ["prompt", "rm", "nope"], "'nope': not found")
    # Many commits until two share a four-digit prefix: that prefix is ambiguous.
    work = os.path.join(env.data, "catalog")
    stream = []
    for i in range(1500):
        stream.append("commit refs/heads/main\ncommitter T <t@x> %d +0000\ndata 4\nc%03d\n%s\n"
                      % (1700000000 + i, i % 1000, "from refs/heads/main^0" if i == 0 else ""))
    subprocess.run(["git", "fast-import", "--quiet"], input="".join(stream), text=True,
                   cwd=work, check=True)
    ids = env.git("rev-list", "--first-parent", "HEAD").split()
    seen, prefix = {}, None
    for c in ids:
        if c[:4] in seen:
            prefix = c[:4]
            break
        seen[c[:4]] = c
    check(prefix is not None, "no shared prefix among %d commits" % len(ids))
    env.ok("prompt", "list")   # indexes the new commits
    refused(env, ["prompt", "show", "summarize@" + prefix], "is ambiguous")
    one = ids[0]
    check(env.ok("prompt", "show", "summarize@" + one[:12], "--json").json()["version"] == 1)


def label_on_removed_prompt(env):
    seeded(env)
    env.ok("prompt", "rm", "summarize", "-m", "retire")
    refused(env, ["prompt", "label", "summarize", "v1", "staging"], "removed")
    refused(env, ["prompt", "label", "summarize", "production", "staging"], "removed")
    refused(env, ["prompt", "rm", "summarize"], "removed")
    refused(env, ["prompt", "render", "summarize", "--vars", "{}"], "removed")


def bad_suites_and_vars(env):
    seeded(env)
    suite = {"prompt": "summarize@production", "dataset": "news@v1", "metrics": ["rougeL"]}
    for change, needle in (({"prompt": "nope"}, "field 'prompt'"),
                           ({"dataset": "news@v4"}, "news@v4"),
                           ({"dataset": "news@gold"}, "no such label"),
                           ({"metrics": []}, "metrics"),
                           ({"thresholds": {"bleu": 1}}, "thresholds.bleu"),
                           ({"judge": {"mode": "single"}}, "judge.model")):
        p = env.write_json("s.json", dict(suite, **change))
        refused(env, ["suite", "add", "s", "--file", p], needle)
    refused(env, ["prompt", "render", "summarize", "--vars", '{"n": 3}'], "variable 'text' is missing")
    refused(env, ["prompt", "render", "summarize", "--vars", '[1]'], "JSON object")
    refused(env, ["prompt", "add", "summarize", "--file", env.path("in/summarize.json"),
                  "--author", "nobody"], "author 'nobody'")
    refused(env, ["prompt", "rm", "summarize", "-m", ""], "commit message")


def missing_or_corrupt_repo_and_db(env):
    seeded(env)
    db = os.path.join(env.data, "assay.db")
    repo = os.path.join(env.data, "catalog")
    # Missing database next to the repository.
    shutil.move(db, db + ".bak")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    env.fails("prompt", "list", contains="assay.db: database missing")
    check(not os.path.exists(db), "nothing created")
    # catalog init rebuilds it with the same numbering.
    env.ok("catalog", "init")
    check(env.ok("prompt", "show", "summarize@production", "--json").json()["version"] == 1)
    # Missing repository while the index names commits.
    shutil.move(repo, repo + ".bak")
    env.fails("prompt", "list", contains="catalog repository missing")
    env.fails("catalog", "init", contains="catalog repository missing")
    check(not os.path.exists(repo), "nothing created")
    shutil.move(repo + ".bak", repo)
    # Corrupt repository.
    head = os.path.join(repo, ".git", "HEAD")
    with open(head) as f:
        saved = f.read()
    with open(head, "w") as f:
        f.write("garbage\n")
    env.fails("prompt", "list", contains=repo)
    with open(head, "w") as f:
        f.write(saved)
    # Corrupt database.
    env.ok("prompt", "list")
    os.remove(db)
    with open(db, "w") as f:
        f.write("this is not sqlite " * 200)
    env.fails("prompt", "list", contains="assay.db")
    with open(db) as f:
        check(f.read().startswith("this is not sqlite"), "db left as it was")


def stale_lock_of_a_killed_writer(env):
    """A branch lock left by a killed git or assay refuses the commit with
    one line naming the lock, changes nothing, and the commit goes through
    once the lock is gone."""
    seeded(env)
    lock = os.path.join(env.data, "catalog", ".git", "refs", "heads",
                        env.git("symbolic-ref", "--short", "HEAD").strip() + ".lock")
    with open(lock, "w"):
        pass
    doc = dict(PROMPT, description="changed")
    path = env.write_json("in/changed.json", doc)
    before = snapshot(env)
    env.fails("prompt", "add", "summarize", "--file", path, contains=".lock file")
    after = snapshot(env)
    # the commit's objects are written before the branch is locked: unreachable,
    # like those of a git commit that loses the same race
    check(before[:4] == after[:4], "catalog changed by a refused commit")
    os.remove(lock)
    check(env.ok("prompt", "add", "summarize", "--file", path, "--json").json()["version"] == 2)


main([bad_names_and_labels, malformed_json_reports_line_and_column, schema_errors_name_the_field,
      invalid_utf8_and_size_limits, bad_dataset_lines_commit_nothing, unknown_and_ambiguous_refs,
      label_on_removed_prompt, bad_suites_and_vars, missing_or_corrupt_repo_and_db,
      stale_lock_of_a_killed_writer])
