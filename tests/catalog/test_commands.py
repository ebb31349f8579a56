"""Every catalog command on the happy path, checked with git and sqlite3."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assaytest import check, main  # noqa: E402
from catalogtest import PROMPT, add_prompt, versions, write_cases  # noqa: E402


def init_creates_repo_and_db(env):
    r = env.ok("catalog", "init", "--json").json()
    check(r["result"] == "initialized the catalog", r)
    check(env.git("log", "--oneline").count("\n") == 1, "one initial commit")
    check(env.git("symbolic-ref", "HEAD").strip() == "refs/heads/main")
    check(os.path.exists(os.path.join(env.data, "assay.db")))
    r = env.ok("catalog", "init", "--json").json()
    check(r["result"] == "the catalog already exists" and r["current"], r)
    st = env.ok("catalog", "status", "--json").json()
    check(st["head"] == env.git("rev-parse", "HEAD").strip() and st["current"], st)
    check(st["prompts"] == 0 and st["versions"] == 0)
    env.ok("catalog", "status")


def first_use_creates_catalog(env):
    r = env.ok("prompt", "list", "--json")
    check(r.json() == [], r.out)
    check(env.git("rev-parse", "HEAD").strip() != "")


def database_made_first_gets_a_catalog(env):
    env.ok("db", "migrate")
    check(not os.path.exists(os.path.join(env.data, "catalog")))
    check(add_prompt(env)["version"] == 1)
    check(env.git("log", "--format=%s").splitlines() == ["prompt summarize: add", "catalog: initialize"])


def prompt_add_versions_and_identical(env):
    v1 = add_prompt(env)
    check(v1["version"] == 1 and v1["changed"] and v1["ref"] == "summarize@v1", v1)
    head = env.git("rev-parse", "HEAD").strip()
    check(v1["commit"] == head)
    check(json.loads(env.git("show", "HEAD:prompts/summarize.json"))["task"] == "summarization")
    again = add_prompt(env)
    check(not again["changed"] and again["version"] == 1, again)
    check(env.git("rev-parse", "HEAD").strip() == head, "identical file: no commit")
    r = env.ok("prompt", "add", "summarize", "--file", env.path("in/summarize.json"))
    check("nothing committed" in r.out, r.out)
    doc = dict(PROMPT, description="v2")
    path = env.write_json("v2.json", doc)
    r = env.ok("prompt", "add", "summarize", "--file", path, "-m", "Shorter summaries",
               "--author", "Ann Lee <ann@example.org>")
    check("summarize@v2" in r.out, r.out)
    log = env.git("log", "-1", "--format=%an|%ae|%s")
    check(log.strip() == "Ann Lee|ann@example.org|Shorter summaries", log)
    check(versions(env, 0, "summarize") == [(1, v1["commit"]), (2, env.git("rev-parse", "HEAD").strip())])
    check(env.git("status", "--porcelain") == "", "work tree follows the branch")


def prompt_list_show_log(env):
    add_prompt(env)
    other = {"template": "Q: {{q}}", "tags": ["qa"], "task": "qa"}
    add_prompt(env, "team/qa", other)
    lst = env.ok("prompt", "list", "--json").json()
    check([p["name"] for p in lst] == ["summarize", "team/qa"], lst)
    check(env.ok("prompt", "list", "--tag", "qa", "--json").json()[0]["name"] == "team/qa")
    check(env.ok("prompt", "list", "--tag", "none", "--json").json() == [])
    check("team/qa" in env.ok("prompt", "list").out)
    show = env.ok("prompt", "show", "team/qa", "--json").json()
    check(show["content"] == other and show["version"] == 1, show)
    check("Q: {{q}}" in env.ok("prompt", "show", "team/qa@v1").out)
    add_prompt(env, "team/qa", dict(other, template="Question: {{q}}"))
    log = env.ok("prompt", "log", "team/qa", "--json").json()
    check([e["version"] for e in log] == [1, 2], log)
    gitlog = env.git("log", "--format=%H", "--", "prompts/team/qa.json").split()
    check([e["commit"] for e in log] == gitlog[::-1], (log, gitlog))
    human = env.ok("prompt", "log", "team/qa").out.splitlines()
    check(human[0].startswith("v2") and human[1].startswith("v1"), human)


def prompt_refs_labels_diff(env):
    c1 = add_prompt(env)["commit"]
    c2 = add_prompt(env, doc=dict(PROMPT, description="two"))["commit"]
    r = env.ok("prompt", "label", "summarize", "v1", "production", "--json").json()
    check(r["version"] == 1 and r["commit"] == c1, r)
    refs = env.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/labels/")
    check(refs.strip() == "refs/labels/prompts/summarize@production " + c1, refs)
    con = env.db()
    check(con.execute("SELECT label, commit_id FROM cat_labels").fetchall() == [("production", c1)])
    check(env.ok("prompt", "show", "summarize@production", "--json").json()["version"] == 1)
    check(env.ok("prompt", "show", "summarize@" + c2[:7], "--json").json()["version"] == 2)
    check(env.ok("prompt", "show", "summarize@" + c1, "--json").json()["version"] == 1)
    # The label moves.
    env.ok("prompt", "label", "summarize", "summarize@v2", "production")
    check(env.git("rev-parse", "refs/labels/prompts/summarize@production").strip() == c2)
    check(con.execute("SELECT commit_id FROM cat_labels").fetchall() == [(c2,)])
    lst = env.ok("prompt", "list", "--json").json()
    check(lst[0]["labels"] == {"production": {"version": 2, "commit": c2}}, lst)
    d = env.ok("prompt", "diff", "summarize", "v1", "v2").out
    check(d.startswith("diff --git a/prompts/summarize.json") and '+{"name": "summarize", "description": "two"' in d, d)
    check(env.ok("prompt", "diff", "summarize", "summarize@v1", "production", "--json").json()["diff"] == d)
    check(env.ok("prompt", "diff", "summarize", "v2", "production").out == "")
    env.ok("prompt", "unlabel", "summarize", "production")
    check(env.git("for-each-ref", "refs/labels/") == "")
    check(con.execute("SELECT count(*) FROM cat_labels").fetchone()[0] == 0)


def prompt_rm_keeps_versions(env):
    add_prompt(env)
    env.ok("prompt", "label", "summarize", "v1", "production")
    r = env.ok("prompt", "rm", "summarize", "-m", "Retire summarize", "--json").json()
    check(r["commit"] == env.git("rev-parse", "HEAD").strip())
    check(env.git("log", "-1", "--format=%s").strip() == "Retire summarize")
    check("prompts/summarize.json" not in env.git("ls-tree", "-r", "--name-only", "HEAD"))
    env.fails("prompt", "show", "summarize", contains="removed")
    check(env.ok("prompt", "show", "summarize@v1", "--json").json()["version"] == 1)
    check(env.ok("prompt", "show", "summarize@production", "--json").json()["version"] == 1)
    check(env.ok("prompt", "list", "--json").json() == [])
    check(env.ok("prompt", "list", "--all", "--json").json()[0]["removed"])
    log = env.ok("prompt", "log", "summarize", "--json").json()
    check(len(log) == 2 and log[1].get("removed"), log)
    # Adding it back continues the numbering.
    check(add_prompt(env)["version"] == 2)


def prompt_render(env):
    add_prompt(env)
    out = env.ok("prompt", "render", "summarize", "--vars", '{"n": 20, "text": "Rain."}', "--json").json()
    check(out["messages"] == [{"role": "system", "content": "You write 20-word summaries."},
                              {"role": "user", "content": "Article: Rain."}], out)
    human = env.ok("prompt", "render", "summarize@v1", "--vars", '{"n": 20, "text": "Rain."}').out
    check("[system]\nYou write 20-word summaries.\n" in human and "[user]\nArticle: Rain." in human, human)
    add_prompt(env, "plain", {"template": "{{{a}}} \\{{b}} {{a}}"})
    vf = env.write_json("vars.json", {"a": "x"})
    check(env.ok("prompt", "render", "plain", "--vars-file", vf).out == "{x} {{b}} x\n")
    env.fails("prompt", "render", "summarize", "--vars", '{"n": 1}', contains="'text'")


def dataset_commands(env):
    path = write_cases(env, "news.jsonl", 25)
    r = env.ok("dataset", "add", "news", "--file", path, "--json").json()
    check(r["version"] == 1 and r["cases"] == 25, r)
    with open(path) as f:
        check(env.git("show", "HEAD:datasets/news.jsonl") == f.read())
    check(not env.ok("dataset", "add", "news", "--file", path, "--json").json()["changed"])
    show = env.ok("dataset", "show", "news", "--limit", "3", "--json").json()
    check([c["id"] for c in show["items"]] == ["c0", "c1", "c2"], show)
    check(show["items"][0] == {"id": "c0", "vars": {"text": "article 0", "n": 5}, "tags": [],
                               "expected": "summary 0"}, show["items"][0])
    check(len(env.ok("dataset", "show", "news", "--json").json()["items"]) == 10)
    human = env.ok("dataset", "show", "news", "--limit", "2").out.splitlines()
    check(len(human) == 4 and json.loads(human[2])["id"] == "c0", human)
    path2 = write_cases(env, "news2.jsonl", 26)
    env.ok("dataset", "add", "news", "--file", path2, "-m", "one more case")
    lst = env.ok("dataset", "list", "--json").json()
    check(lst[0]["name"] == "news" and lst[0]["version"] == 2 and lst[0]["cases"] == 26, lst)
    d = env.ok("dataset", "diff", "news", "v1", "v2").out
    check('+{"id": "c25"' in d, d)
    env.ok("dataset", "label", "news", "v1", "frozen")
    check(env.git("rev-parse", "refs/labels/datasets/news@frozen").strip() ==
          env.ok("dataset", "show", "news@v1", "--json").json()["commit"])
    check(len(env.ok("dataset", "log", "news", "--json").json()) == 2)
    env.ok("dataset", "rm", "news", "-m", "gone")
    env.fails("dataset", "show", "news", contains="removed")
    check(env.ok("dataset", "show", "news@frozen", "--json").json()["cases"] == 25)


def suite_commands(env):
    add_prompt(env)
    env.ok("prompt", "label", "summarize", "v1", "production")
    env.ok("dataset", "add", "news", "--file", write_cases(env, "n.jsonl", 3))
    suite = {"name": "news-summary", "prompt": "summarize@production", "dataset": "news@v1",
             "metrics": ["rougeL", {"name": "rouge1", "stem": True}], "primary_metric": "rougeL",
             "models": ["model-a", "model-b"], "thresholds": {"rougeL": 0.4},
             "judge": {"model": "judge-m", "mode": "single"},
             "ranking": {"policy": "priority:cost,quality,speed"}}
    path = env.write_json("suite.json", suite)
    r = env.ok("suite", "add", "news-summary", "--file", path, "--json").json()
    check(r["version"] == 1 and r["path"] == "suites/news-summary.json", r)
    check(env.ok("suite", "show", "news-summary", "--json").json()["content"] == suite)
    check(env.ok("suite", "list", "--json").json()[0]["name"] == "news-summary")
    suite["models"] = ["model-a"]
    env.ok("suite", "add", "news-summary", "--file", env.write_json("s2.json", suite))
    check("-" in env.ok("suite", "diff", "news-summary", "v1", "v2").out)
    check(len(env.ok("suite", "log", "news-summary", "--json").json()) == 2)
    env.ok("suite", "rm", "news-summary")
    check(env.ok("suite", "list", "--json").json() == [])


def help_texts(env):
    for cmd in ("catalog", "prompt", "dataset", "suite"):
        r = env.ok(cmd, "--help", data=False)
        check(r.out.startswith("usage: assay " + cmd), r.out)
    env.fails("prompt", code=2)
    env.fails("prompt", "frob", code=2, contains="frob")
    env.fails("prompt", "list", "--limit", "3", code=2)
    env.fails("prompt", "add", "x", code=2)


main([init_creates_repo_and_db, first_use_creates_catalog, database_made_first_gets_a_catalog, prompt_add_versions_and_identical,
      prompt_list_show_log, prompt_refs_labels_diff, prompt_rm_keeps_versions, prompt_render,
      dataset_commands, suite_commands, help_texts])
