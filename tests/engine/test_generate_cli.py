#!/usr/bin/env python3
"""assay generate on a tiny Llama written by tinymodel.py (byte-level
tokenizer: one id per byte): greedy ids equal to the pure-Python reference,
exact token counts, repeatable seeded sampling, and one-line errors for bad
input (missing files, truncated weights, prompts over the context)."""
import json
import os
import shutil
import sys

from assaytest import check, main

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinymodel  # noqa: E402


def model(env, variant="llama-gqa"):
    out = env.path(variant)
    cfg, stored = tinymodel.write_model(variant, out)
    return out, cfg, stored


def test_greedy_matches_reference(env):
    d, cfg, stored = model(env)
    ref = tinymodel.greedy(cfg, stored, list(b"Hello"), 8)
    r = env.ok("generate", "--model", d, "--prompt", "Hello", "--greedy", "--max-new-tokens", 8,
               "--json", "--threads", 2).json()
    check(r["ids"] == ref, "ids %r, reference %r" % (r["ids"], ref))
    check(r["prompt_tokens"] == 5, r)
    check(r["completion_tokens"] == len(ref), r)
    check(r["finish_reason"] == ("stop" if ref[-1] in (2, 3) else "length"), r)
    check(r["device"] == "cpu" and r["ttft_ms"] > 0 and r["total_ms"] >= r["ttft_ms"], r)
    want = bytes(t for t in ref if t not in (2, 3)).decode("utf-8", "replace")
    check(r["text"] == want, "text %r, reference %r" % (r["text"], want))


def test_qwen2_and_mistral_match_reference(env):
    for v in ("qwen2", "mistral-f16"):
        d, cfg, stored = model(env, v)
        ref = tinymodel.greedy(cfg, stored, list(b"a cat sat on"), 6)
        r = env.ok("generate", "--model", d, "--prompt", "a cat sat on", "--greedy",
                   "--max-new-tokens", 6, "--json").json()
        check(r["ids"] == ref, "%s: ids %r, reference %r" % (v, r["ids"], ref))


def test_continuation_loglik_matches_reference(env):
    d, cfg, stored = model(env)
    ref = tinymodel.Reference(cfg, stored)
    ctx, cont = list(b"The"), list(b" cat")
    for t in ctx[:-1]:
        ref.step(t, want_logits=False)
    logits, want = ref.step(ctx[-1]), 0.0
    for i, t in enumerate(cont):
        want += tinymodel.logsoftmax(logits, t)
        if i + 1 < len(cont):
            logits = ref.step(t)
    # Trailing whitespace of the context moves to the continuation.
    r = env.ok("generate", "--model", d, "--prompt", "The ", "--continuation", "cat", "--json").json()
    check(r["continuation_tokens"] == 4, r)
    check(abs(r["logprob"] - want) <= 1e-4 * abs(want), "logprob %r, reference %r" % (r["logprob"], want))
    env.fails("generate", "--model", d, "--prompt", "x", "--continuation", "", contains="empty")


def test_batched_loglik_equals_one_at_a_time(env):
    d, _, _ = model(env)
    pairs = [("The", " cat"), ("Question: 2 + 2 =", " 4"), ("Question: 2 + 2 =", " five"),
             ("A", " long continuation of many bytes, more than a prefill chunk of thirty-two"),
             ("x", "y"), ("The ", "cat")]
    env.write("ll.jsonl", "".join(json.dumps({"context": c, "continuation": t}) + "\n\n"
                                  for c, t in pairs))
    for batch in ("1", "3", "16"):
        r = env.ok("generate", "--model", d, "--loglik", env.path("ll.jsonl"), "--batch", batch,
                   "--threads", "1")
        got = r.jsonl()
        check(len(got) == len(pairs), r)
        for (c, t), g in zip(pairs, got):
            one = env.ok("generate", "--model", d, "--prompt", c, "--continuation", t, "--json",
                         "--threads", "1").json()
            check(g == one, (batch, c, t, g, one))
    # A bad line is named and nothing is printed.
    env.write("bad.jsonl", json.dumps({"context": "a", "continuation": "b"}) + "\n{\"context\": 1}\n")
    r = env.fails("generate", "--model", d, "--loglik", env.path("bad.jsonl"), contains="line 2")
    check(r.out == "", r)
    env.write("empty.jsonl", json.dumps({"context": "a", "continuation": "b"}) + "\n" +
              json.dumps({"context": "a", "continuation": ""}) + "\n")
    r = env.fails("generate", "--model", d, "--loglik", env.path("empty.jsonl"), contains="line 2")
    check(r.out == "" and "empty" in r.err, r)
    env.fails("generate", "--model", d, "--loglik", env.path("nowhere.jsonl"), contains="nowhere")
    env.fails("generate", "--model", d, "--loglik", env.path("ll.jsonl"), "--prompt", "x", code=2)


def test_chat_template_prompt(env):
    d, cfg, stored = model(env)
    tinymodel.write_chat_config(d)
    text = tinymodel.zephyr([{"role": "user", "content": "Hi"}])
    ref = tinymodel.greedy(cfg, stored, list(text.encode()), 6)
    r = env.ok("generate", "--model", d, "--prompt", "Hi", "--chat", "--greedy",
               "--max-new-tokens", 6, "--json").json()
    check(r["prompt_tokens"] == len(text.encode()), (r, text))
    check(r["ids"] == ref, "ids %r, reference %r" % (r["ids"], ref))


def test_seeded_sampling_repeats(env):
    d, _, _ = model(env)
    args = ["generate", "--model", d, "--prompt", "Hi", "--max-new-tokens", 12, "--json",
            "--temperature", "0.9", "--top-p", "0.95", "--top-k", "50"]
    a = env.ok(*(args + ["--seed", "7"])).json()
    b = env.ok(*(args + ["--seed", "7"])).json()
    check(a["ids"] == b["ids"], "same seed, different output")


def test_gpu_request(env):
    """--device gpu: with a usable GPU (tests/gpu/emu runs this file with
    assay on the CUDA emulator) the GPU generates the reference's greedy
    ids; without one the CPU does, with a note."""
    d, cfg, stored = model(env)
    ref = tinymodel.greedy(cfg, stored, list(b"Hi"), 6)
    r = env.ok("generate", "--model", d, "--prompt", "Hi", "--greedy", "--max-new-tokens", 6,
               "--device", "gpu", "--json")
    if r.json()["device"] == "gpu":
        check("running on the CPU" not in r.err, r)
    else:
        check("running on the CPU" in r.err, r)
        check(r.json()["device"] == "cpu", r)
    check(r.json()["ids"] == ref, (r.json()["ids"], ref))


def test_bad_input_is_one_line_error(env):
    d, _, _ = model(env)
    env.fails("generate", "--prompt", "x", code=2)
    env.fails("generate", "--model", d, "--prompt", "x", "--device", "tpu", code=2)
    env.fails("generate", "--model", env.path("nowhere"), "--prompt", "x", contains="config.json")
    env.fails("generate", "--model", d, "--prompt", "x" * 200, "--greedy",
              contains="the prompt has 200 tokens")
    env.fails("generate", "--model", d, "--prompt", "x", "--chat", contains="chat")
    # A shard cut short: the header now claims bytes past the end.
    shard = os.path.join(d, "model-00002-of-00002.safetensors")
    with open(shard, "rb") as f:
        data = f.read()
    with open(shard, "wb") as f:
        f.write(data[:-100])
    env.fails("generate", "--model", d, "--prompt", "x", contains="outside")
    # An architecture the engine does not run.
    d2, _, _ = model(env, "qwen2")
    cfg = os.path.join(d2, "config.json")
    with open(cfg) as f:
        text = f.read().replace("Qwen2ForCausalLM", "GPTNeoXForCausalLM")
    with open(cfg, "w") as f:
        f.write(text)
    env.fails("generate", "--model", d2, "--prompt", "x", contains="GPTNeoXForCausalLM")
    shutil.rmtree(d2)


if __name__ == "__main__":
    main([test_greedy_matches_reference, test_qwen2_and_mistral_match_reference,
          test_continuation_loglik_matches_reference, test_batched_loglik_equals_one_at_a_time,
          test_chat_template_prompt,
          test_seeded_sampling_repeats, test_gpu_request,
          test_bad_input_is_one_line_error])
