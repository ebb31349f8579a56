#!/usr/bin/env python3
"""Writes the bench/web catalog files into DIR: a QA-style prompt, a
dataset of N cases built from the demo's short-answer cases, a suite, and
replay output files for M models whose answers keep a different share of
the reference words (so their quality differs), with latencies and token
counts. Usage: seed.py DIR N M"""
import json
import os
import random
import sys

out, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "..", "..", "demo", "datasets", "qa.jsonl")
base = [json.loads(l) for l in open(src, encoding="utf-8") if l.strip()]
os.makedirs(out, exist_ok=True)
rng = random.Random(1)
with open(os.path.join(out, "bench.jsonl"), "w") as f:
    for i in range(n):
        c = base[i % len(base)]
        f.write(json.dumps({"id": "c%06d" % i, "vars": c["vars"], "expected": c["expected"]}) + "\n")
json.dump({"name": "bench", "task": "qa",
           "template": "Passage: {{context}}\nQuestion: {{question}}\nAnswer:"},
          open(os.path.join(out, "prompt.json"), "w"))
json.dump({"name": "bench", "prompt": "bench", "dataset": "bench",
           "metrics": ["token_f1", "exact_match"], "primary_metric": "token_f1",
           "models": ["m%02d" % k for k in range(m)]},
          open(os.path.join(out, "suite.json"), "w"))
for k in range(m):
    keep = 0.3 + 0.7 * k / max(1, m - 1)
    with open(os.path.join(out, "m%02d.jsonl" % k), "w") as f:
        for i in range(n):
            words = base[i % len(base)]["expected"].split()
            ans = " ".join(w for w in words if rng.random() < keep) or "unknown"
            f.write(json.dumps({"id": "c%06d" % i, "output": ans,
                                "latency_ms": 50 + 30 * k + rng.random() * 40,
                                "prompt_tokens": 60, "completion_tokens": len(ans.split()) + 1}) + "\n")
