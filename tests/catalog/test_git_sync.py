"""Plain-git edits, reindexing, and pull/push with a bare repository on disk."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Under LeakSanitizer: a known libgit2 1.5 leak in remote URL rewriting.
os.environ["LSAN_OPTIONS"] = "print_suppressions=0:suppressions=%s" % os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
from assaytest import check, main  # noqa: E402
from catalogtest import PROMPT, add_prompt, versions  # noqa: E402


def git(cwd, *args):
    p = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))


def index_rows(env):
    con = env.db()
    rows = con.execute("SELECT kind, name, version, seq, blob_id, cases FROM cat_changes "
                       "ORDER BY id").fetchall()
    labels = con.execute("SELECT * FROM cat_labels ORDER BY 1, 2, 3").fetchall()
    con.close()
    return rows, labels


def worktree_commits_are_picked_up(env):
    add_prompt(env)
    work = os.path.join(env.data, "catalog")
    write(os.path.join(work, "prompts", "summarize.json"), dict(PROMPT, description="by git"))
    write(os.path.join(work, "prompts", "team", "qa.json"), {"template": "Q: {{q}}"})
    write(os.path.join(work, "datasets", "d.jsonl"), '{"id": 1}\n{"id": 2}\n')
    write(os.path.join(work, "notes.txt"), "not an item")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "edit by hand")
    st = env.ok("catalog", "status", "--json").json()
    check(not st["current"] and st["head"] != st["indexed"], st)
    lst = env.ok("prompt", "list", "--json").json()
    check([(p["name"], p["version"]) for p in lst] == [("summarize", 2), ("team/qa", 1)], lst)
    check(env.ok("catalog", "status", "--json").json()["current"])
    check(env.ok("dataset", "show", "d", "--json").json()["cases"] == 2)
    # A label made with plain git is mirrored.
    c1 = versions(env, 0, "summarize")[0][1]
    git(work, "update-ref", "refs/labels/prompts/summarize@production", c1)
    check(env.ok("prompt", "show", "summarize@production", "--json").json()["version"] == 1)
    # A removal and a re-add by git.
    git(work, "rm", "-q", "prompts/team/qa.json")
    git(work, "commit", "-qm", "drop qa")
    write(os.path.join(work, "prompts", "team", "qa.json"), {"template": "Question: {{q}}"})
    git(work, "add", "-A")
    git(work, "commit", "-qm", "qa again")
    log = env.ok("prompt", "log", "team/qa", "--json").json()
    check([e["version"] for e in log] == [1, 0, 2], log)
    # Broken files committed with git are indexed; using them names the problem.
    write(os.path.join(work, "datasets", "broken.jsonl"), '{"id": 1}\n{"id": 2, "vars": 7}\n')
    write(os.path.join(work, "prompts", "broken.json"), '{"template": "{{x"')
    git(work, "add", "-A")
    git(work, "commit", "-qm", "broken files")
    env.fails("dataset", "show", "broken", contains="dataset broken@v1: line 2: field 'vars'")
    env.fails("prompt", "render", "broken", "--vars", "{}", contains="prompt broken@v1")
    check(env.ok("prompt", "show", "broken", "--json").json()["text"] == '{"template": "{{x"')


def reindex_keeps_numbering(env):
    work = os.path.join(env.data, "catalog")
    env.ok("catalog", "init")
    for i in range(6):
        add_prompt(env, "p%d" % (i % 2), {"template": "v%d {{x}}" % i})
        if i == 2:
            write(os.path.join(work, "prompts", "p1.json"), {"template": "git {{x}}"})
            git(work, "commit", "-qam", "git edit")
    env.ok("prompt", "label", "p0", "v2", "production")
    # A merge: the side branch's commits are not versions; the merge is.
    git(work, "checkout", "-qb", "side")
    write(os.path.join(work, "prompts", "p0.json"), {"template": "side {{x}}"})
    git(work, "commit", "-qam", "side edit")
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    env.ok("prompt", "list")
    before = index_rows(env)
    log_before = env.ok("prompt", "log", "p0", "--json").json()
    env.ok("catalog", "reindex")
    check(index_rows(env) == before, "reindex changed the numbering")
    check(env.ok("prompt", "log", "p0", "--json").json() == log_before)
    merge = git(work, "rev-parse", "HEAD").strip()
    check(log_before[-1]["commit"] == merge and log_before[-1]["version"] == 4, log_before)
    # Versions = commits that changed the file along first-parent history.
    fp = git(work, "log", "--first-parent", "--format=%H", "--", "prompts/p0.json").split()
    check([e["commit"] for e in log_before] == fp[::-1], (log_before, fp))
    # Deleting the database and rebuilding gives the same numbers too.
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(env.data, "assay.db" + suffix)
        if os.path.exists(p):
            os.remove(p)
    env.ok("catalog", "init")
    check(index_rows(env) == before)


def rewritten_history_rebuilds(env):
    work = os.path.join(env.data, "catalog")
    add_prompt(env, "a", {"template": "1 {{x}}"})
    add_prompt(env, "a", {"template": "2 {{x}}"})
    git(work, "reset", "-q", "--hard", "HEAD~1")
    lst = env.ok("prompt", "list", "--json").json()
    check(lst[0]["version"] == 1, lst)
    check(add_prompt(env, "a", {"template": "3 {{x}}"})["version"] == 2)


def clone_edit_push_back(env):
    add_prompt(env)
    clone = env.path("clone")
    git(env.root, "clone", "-q", os.path.join(env.data, "catalog"), clone)
    git(clone, "config", "user.email", "b@x")
    git(clone, "config", "user.name", "B")
    write(os.path.join(clone, "prompts", "summarize.json"), dict(PROMPT, description="pushed"))
    git(clone, "commit", "-qam", "edit in a clone")
    git(clone, "push", "-q", "origin", "main")
    show = env.ok("prompt", "show", "summarize", "--json").json()
    check(show["version"] == 2 and show["content"]["description"] == "pushed", show)
    check(env.git("status", "--porcelain") == "")


def pull_push_with_bare_remote(env):
    remote = env.path("remote.git")
    git(env.root, "init", "-q", "--bare", "-b", "main", remote)
    add_prompt(env)
    env.ok("prompt", "label", "summarize", "v1", "production")
    r = env.ok("catalog", "push", remote)
    check("pushed" in r.out, r.out)
    check(git(remote, "rev-parse", "main").strip() == env.git("rev-parse", "HEAD").strip())
    check("refs/labels/prompts/summarize@production" in git(remote, "for-each-ref"))
    # A second data directory adopts the remote in place of its empty catalog.
    other = ["--data", env.path("data2")]
    env.ok(*other, "catalog", "init", data=False)
    env.ok(*other, "catalog", "pull", remote, data=False)
    show = env.ok(*other, "prompt", "show", "summarize@production", "--json", data=False).json()
    check(show["version"] == 1, show)
    # Its change travels back through the remote (named remote this time).
    git(os.path.join(env.path("data2"), "catalog"), "remote", "add", "origin", remote)
    p = env.write_json("v2.json", dict(PROMPT, description="from data2"))
    env.ok(*other, "prompt", "add", "summarize", "--file", p, data=False)
    env.ok(*other, "catalog", "push", data=False)
    r = env.ok("catalog", "pull", remote)
    check("updated" in r.out, r.out)
    check(env.ok("prompt", "show", "summarize", "--json").json()["version"] == 2)
    check(env.ok("catalog", "pull", remote).out.startswith("already up to date"))
    # Diverge: the remote moves, and so does this catalog.
    p = env.write_json("v3.json", dict(PROMPT, description="remote side"))
    env.ok(*other, "prompt", "add", "summarize", "--file", p, data=False)
    env.ok(*other, "catalog", "push", data=False)
    add_prompt(env, doc=dict(PROMPT, description="local side"))
    remote_head = git(remote, "rev-parse", "main").strip()
    local_head = env.git("rev-parse", "HEAD").strip()
    env.fails("catalog", "push", remote, contains="non-fast-forward")
    check(git(remote, "rev-parse", "main").strip() == remote_head, "remote unchanged")
    env.fails("catalog", "pull", remote, contains="diverged")
    check(env.git("rev-parse", "HEAD").strip() == local_head, "local unchanged")
    env.fails("catalog", "pull", "nosuchremote", contains="nosuchremote")


main([worktree_commits_are_picked_up, reindex_keeps_numbering, rewritten_history_rebuilds,
      clone_edit_push_back, pull_push_with_bare_remote])
