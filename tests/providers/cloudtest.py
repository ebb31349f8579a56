"""Helpers of the cloud-provider integration tests: a catalog with one
prompt, dataset and suite, the fake credentials, and reading a run's items
back from SQLite."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_anthropic import API_KEY  # noqa: E402
from fake_aws import ACCESS_KEY, SECRET_KEY  # noqa: E402

CASES = [("c1", "the quick brown fox"), ("c2", "one two three"), ("c3", "alpha beta gamma delta")]


def expected(q, prefix="echo:"):
    return prefix + " " + " ".join(q.split()[-3:])


def aws_env(**extra):
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "",
           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "", "AWS_ENDPOINT_URL_SAGEMAKER": "",
           "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "", "AWS_ENDPOINT_URL_S3": "",
           "ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": ""}
    env.update(extra)
    return env


def catalog(env, models, prefix="echo:", judge=None, cases=CASES):
    """A prompt whose template is just the question, a dataset whose
    expected answers are what the fake models say, and a suite."""
    env.ok("catalog", "init")
    env.write_json("p.json", {"name": "qa", "task": "qa", "template": "{{q}}",
                              "params": {"max_tokens": 32, "temperature": 0}})
    env.write("d.jsonl", "".join(json.dumps({"id": cid, "vars": {"q": q},
                                             "expected": expected(q, prefix)}) + "\n"
                                 for cid, q in cases))
    suite = {"name": "qa-suite", "prompt": "qa", "dataset": "qa",
             "metrics": ["exact_match"], "primary_metric": "exact_match", "models": models}
    if judge:
        suite["judge"] = judge
    env.write_json("s.json", suite)
    env.ok("prompt", "add", "qa", "--file", env.path("p.json"))
    env.ok("dataset", "add", "qa", "--file", env.path("d.jsonl"))
    env.ok("suite", "add", "qa-suite", "--file", env.path("s.json"))


def items(env, model):
    """The items of the latest run of 'model', by case id."""
    con = env.db()
    con.row_factory = lambda c, r: {d[0]: r[i] for i, d in enumerate(c.description)}
    run = con.execute("SELECT id FROM runs WHERE model = ? ORDER BY id DESC LIMIT 1",
                      (model,)).fetchone()
    rows = con.execute("SELECT * FROM items WHERE run_id = ? ORDER BY case_id",
                       (run["id"],)).fetchall() if run else []
    con.close()
    return {r["case_id"]: r for r in rows}


def attempts(env, case_id):
    con = env.db()
    rows = con.execute("SELECT http_status, error FROM attempts WHERE case_id = ? ORDER BY id",
                       (case_id,)).fetchall()
    con.close()
    return rows
