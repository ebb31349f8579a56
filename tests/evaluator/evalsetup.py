"""Shared set-up for the evaluator's integration tests: a catalog with a
classification prompt, a summarization prompt, their datasets and suites."""
import json

from fakeserver import FakeServer


def make_catalog(env, n=20, suite_extra=None, models=("m1",), sum_n=6):
    env.write_json("p_sent.json", {
        "name": "sent", "task": "classification",
        "messages": [{"role": "system", "content": "Answer positive or negative."},
                     {"role": "user", "content": "case {{id}}: {{text}}"}],
        "labels": ["positive", "negative"], "params": {"temperature": 0}})
    lines = []
    for i in range(n):
        lines.append(json.dumps({"id": "c%d" % i, "vars": {"id": "c%d" % i, "text": "review %d" % i},
                                 "expected": "positive" if i % 2 == 0 else "negative"}))
    env.write("d_sent.jsonl", "\n".join(lines) + "\n")
    suite = {"name": "sent", "prompt": "sent", "dataset": "sent",
             "metrics": ["accuracy", "f1", "exact_match"], "primary_metric": "accuracy",
             "models": list(models)}
    suite.update(suite_extra or {})
    env.write_json("s_sent.json", suite)
    env.ok("prompt", "add", "sent", "--file", env.path("p_sent.json"))
    env.ok("dataset", "add", "sent", "--file", env.path("d_sent.jsonl"))
    env.ok("suite", "add", "sent", "--file", env.path("s_sent.json"))
    # a summarization suite with ROUGE and a template prompt
    env.write_json("p_sum.json", {"name": "summ", "task": "summarization",
                                  "template": "case {{id}}: summarize: {{article}}"})
    lines = []
    for i in range(sum_n):
        lines.append(json.dumps({"id": "s%d" % i, "vars": {"id": "s%d" % i,
                                 "article": "The cat sat on the mat. It was warm. Then it left."},
                                 "expected": "the cat sat on the mat"}))
    env.write("d_sum.jsonl", "\n".join(lines) + "\n")
    env.write_json("s_sum.json", {"name": "summ", "prompt": "summ", "dataset": "summ",
                                  "metrics": ["rougeL", "token_f1"], "primary_metric": "rougeL",
                                  "models": list(models)})
    env.ok("prompt", "add", "summ", "--file", env.path("p_sum.json"))
    env.ok("dataset", "add", "summ", "--file", env.path("d_sum.jsonl"))
    env.ok("suite", "add", "summ", "--file", env.path("s_sum.json"))


def add_model(env, name, srv, *extra):
    env.ok("model", "add", name, "--provider", "openai", "--base-url", srv.base_url,
           "--model-id", name, *extra)


def server(script=None):
    return FakeServer(script or {}).start()
