"""Helpers shared by the catalog integration tests."""
import json

PROMPT = {
    "name": "summarize",
    "description": "Summarize a news article",
    "task": "summarization",
    "messages": [
        {"role": "system", "content": "You write {{n}}-word summaries."},
        {"role": "user", "content": "Article: {{text}}"},
    ],
    "params": {"temperature": 0, "max_tokens": 64},
    "variables": ["n", "text"],
    "tags": ["news"],
}


def add_prompt(env, name="summarize", doc=None, *extra):
    doc = dict(PROMPT if doc is None else doc)
    if "name" in doc:
        doc["name"] = name
    path = env.write_json("in/%s.json" % name.replace("/", "_"), doc)
    return env.ok("prompt", "add", name, "--file", path, "--json", *extra).json()


def write_cases(env, fname, n, start=0):
    path = env.path(fname)
    with open(path, "w") as f:
        for i in range(start, start + n):
            f.write(json.dumps({"id": "c%d" % i, "vars": {"text": "article %d" % i, "n": 5},
                                "expected": "summary %d" % i}) + "\n")
    return path


def snapshot(env):
    """Everything that must stay the same when a command fails."""
    con = env.db()
    rows = {}
    for t in ("cat_state", "cat_commits", "cat_items", "cat_changes", "cat_labels"):
        rows[t] = con.execute("SELECT * FROM %s ORDER BY 1, 2" % t).fetchall()
    con.close()
    objects = env.git("count-objects", "-v")
    return (env.git("rev-parse", "HEAD"), env.git("for-each-ref"),
            env.git("status", "--porcelain"), rows, objects)


def versions(env, kind, name):
    con = env.db()
    rows = con.execute("SELECT c.version, m.commit_id FROM cat_changes c JOIN cat_commits m "
                       "ON m.seq = c.seq WHERE c.kind = ? AND c.name = ? ORDER BY c.seq",
                       (kind, name)).fetchall()
    con.close()
    return rows
