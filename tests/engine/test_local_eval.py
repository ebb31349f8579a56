#!/usr/bin/env python3
"""A suite run on the local provider end to end: `assay model add --provider
local --path DIR`, `assay eval`, then the run's items carry the outputs the
Python reference predicts, exact token counts (the tiny model's tokenizer
has one id per byte), times to first token, and a cost priced from each
case's share of the engine's compute time with --price-hour: the three
cases are decoded together (--concurrency 3), so their shares add up to no
more than the run's wall time.

ASSAY_TEST_DEVICE=gpu runs the same on the GPU path (tests/gpu/emu runs it
with assay built on the CUDA emulator); the engine must then not fall back
to the CPU."""
import json
import os
import sys

from assaytest import check, main

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinymodel  # noqa: E402

DEVICE = os.environ.get("ASSAY_TEST_DEVICE", "cpu")


def check_device(r):
    check("running on the CPU" not in r.err, ("the engine fell back to the CPU", r.err))


def test_suite_runs_on_local_model(env):
    d = env.path("tiny")
    cfg, stored = tinymodel.write_model("llama-gqa", d)
    env.write_json("p.json", {"name": "cont", "task": "generation",
                              "template": "{{text}}", "params": {"max_tokens": 6}})
    texts = {"a": "Hello", "b": "The cat", "c": "12 + 30 ="}
    env.write("d.jsonl", "".join(json.dumps({"id": k, "vars": {"text": v}, "expected": "x"}) + "\n"
                                 for k, v in texts.items()))
    env.write_json("s.json", {"name": "cont", "prompt": "cont", "dataset": "cont",
                              "metrics": ["exact_match"], "primary_metric": "exact_match",
                              "models": ["tiny"]})
    env.ok("prompt", "add", "cont", "--file", env.path("p.json"))
    env.ok("dataset", "add", "cont", "--file", env.path("d.jsonl"))
    env.ok("suite", "add", "cont", "--file", env.path("s.json"))
    env.fails("model", "add", "bad", "--provider", "local", "--path", env.path("nowhere"),
              contains="config.json")
    env.ok("model", "add", "tiny", "--provider", "local", "--path", d, "--device", DEVICE,
           "--max-new-tokens", "32", "--threads", "1", "--price-hour", "3.6",
           "--concurrency", "3")
    r = env.ok("eval", "cont")
    check("complete" in r.out, r)
    check_device(r)
    check("per token ms" in env.ok("runs", "show", "1").out, "runs show prints the per-token time")
    run = env.ok("runs", "show", "1", "--items", "--json").json()
    check(run["items_done"] == 3 and run["items_failed"] == 0, run)
    total = 0.0
    for item in run["items"]:
        prompt = list(texts[item["case_id"]].encode())
        ids = tinymodel.greedy(cfg, stored, prompt, 6)
        want = bytes(t for t in ids if t not in (2, 3)).decode("utf-8", "replace")
        check(item["output"] == want, (item["case_id"], item["output"], want))
        check(item["prompt_tokens"] == len(prompt), item)
        check(item["completion_tokens"] == len(ids), item)
        check(item["usage_estimated"] == 0, item)
        check(item["ttft_ms"] > 0 and item["latency_ms"] >= item["ttft_ms"], item)
        if len(ids) > 1:
            tpot = (item["latency_ms"] - item["ttft_ms"]) / (len(ids) - 1)
            check(abs(item["per_token_ms"] - tpot) <= 1e-9 * tpot, item)
        else:
            check(item["per_token_ms"] is None, item)
        total += item["cost_usd"]
    check(abs(run["cost_usd"] - total) <= 1e-9 * total, (run["cost_usd"], total))
    # Each case's share of the compute time, priced at $3.60 per hour.
    with env.db() as db:
        rows = db.execute("SELECT case_id, busy_ms, latency_ms FROM items").fetchall()
    check(len(rows) == 3, rows)
    for case_id, busy, latency in rows:
        cost = [i["cost_usd"] for i in run["items"] if i["case_id"] == case_id][0]
        check(0 < busy <= latency, (case_id, busy, latency))
        check(abs(cost - busy / 3.6e6 * 3.6) <= 1e-9 * cost, (case_id, cost, busy))
    # A step's time is split among the cases in it, so the shares add up to
    # at most the run's wall time (not to one case's latency: a loaded
    # machine admits the cases at different times).
    with env.db() as db:
        run_busy = db.execute("SELECT busy_ms FROM runs").fetchone()[0]
    check(sum(r[1] for r in rows) <= run_busy, (rows, run_busy))
    check(run["tokens"]["estimated_items"] == 0, run["tokens"])
    tpots = sorted(i["per_token_ms"] for i in run["items"] if i["per_token_ms"] is not None)
    check(run["per_token_ms"]["p50"] is not None and tpots[0] <= run["per_token_ms"]["p50"] <= tpots[-1],
          run["per_token_ms"])


def test_chat_prompt_runs_through_the_template(env):
    d = env.path("tiny")
    cfg, stored = tinymodel.write_model("llama-gqa", d)
    tinymodel.write_chat_config(d)
    env.write_json("p.json", {"name": "chat", "task": "generation",
                              "messages": [{"role": "system", "content": "Be short."},
                                           {"role": "user", "content": "{{text}}"}],
                              "params": {"max_tokens": 5}})
    env.write("d.jsonl", json.dumps({"id": "a", "vars": {"text": "Hello"}, "expected": "x"}) + "\n")
    env.write_json("s.json", {"name": "chat", "prompt": "chat", "dataset": "chat",
                              "metrics": ["exact_match"], "primary_metric": "exact_match",
                              "models": ["tiny"]})
    env.ok("prompt", "add", "chat", "--file", env.path("p.json"))
    env.ok("dataset", "add", "chat", "--file", env.path("d.jsonl"))
    env.ok("suite", "add", "chat", "--file", env.path("s.json"))
    env.ok("model", "add", "tiny", "--provider", "local", "--path", d, "--device", DEVICE)
    check_device(env.ok("eval", "chat"))
    item = env.ok("runs", "show", "1", "--items", "--json").json()["items"][0]
    text = tinymodel.zephyr([{"role": "system", "content": "Be short."},
                             {"role": "user", "content": "Hello"}]).encode()
    ids = tinymodel.greedy(cfg, stored, list(text), 5)
    check(item["prompt_tokens"] == len(text), (item, text))
    check(item["completion_tokens"] == len(ids), (item, ids))
    want = bytes(t for t in ids if t not in (2, 3)).decode("utf-8", "replace")
    check(item["output"] == want, (item["output"], want))


if __name__ == "__main__":
    main([test_suite_runs_on_local_model, test_chat_prompt_runs_through_the_template])
