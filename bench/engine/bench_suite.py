"""The local provider end to end: `assay eval` of a suite of N cases on a
model folder (tokenize, continuous batching, decode, score, store), one
row per concurrency (the sequences decoded at once), printing generated
tokens per second over the run's busy time and the whole command's wall
time.

usage: bench_suite.py ASSAY_BIN MODEL_DIR [--cases N] [--new-tokens N]
                      [--device cpu|gpu] [--threads N] [--concurrency C ...]
                      [--context N]

--context bounds each sequence's positions (default 512: the prompts here
are short); every slot holds a KV cache of that many positions (bfloat16 on
the GPU for bfloat16 models, else float32), so concurrency x context must
fit the device.

Every case asks for --new-tokens tokens (the table reports the completion
tokens actually generated: a stop id may end a case early). A model folder
without tokenizer.json (the random-weight models of tinymodel.py's
bench-small or engine_make_random_model) is used through a folder of links
to its files plus the byte-level tokenizer of tests/engine/tinymodel.py.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p


def with_tokenizer(model, root):
    """'model' itself, or a folder of links to its files plus a byte-level
    tokenizer.json when it has none."""
    if os.path.exists(os.path.join(model, "tokenizer.json")):
        return model
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "tests", "engine"))
    import tinymodel  # noqa: E402
    out = os.path.join(root, "model")
    os.makedirs(out)
    for name in os.listdir(model):
        os.symlink(os.path.join(os.path.abspath(model), name), os.path.join(out, name))
    tinymodel.write_tokenizer(out)
    return out


def scenario(args, concurrency):
    root = tempfile.mkdtemp(prefix="assay-bench-suite-")
    try:
        a = [args.assay, "--data", os.path.join(root, "data")]
        with open(os.path.join(root, "p.json"), "w") as f:
            json.dump({"name": "b", "task": "generation", "template": "Case {{id}}: {{text}}",
                       "params": {"max_tokens": args.new_tokens}}, f)
        with open(os.path.join(root, "d.jsonl"), "w") as f:
            for i in range(args.cases):
                f.write(json.dumps({"id": "c%d" % i, "vars": {"id": i, "text": "words " * (i % 7 + 3)},
                                    "expected": "x"}) + "\n")
        with open(os.path.join(root, "s.json"), "w") as f:
            json.dump({"name": "b", "prompt": "b", "dataset": "b", "metrics": ["exact_match"],
                       "models": ["m"]}, f)
        run(a + ["prompt", "add", "b", "--file", os.path.join(root, "p.json")])
        run(a + ["dataset", "add", "b", "--file", os.path.join(root, "d.jsonl")])
        run(a + ["suite", "add", "b", "--file", os.path.join(root, "s.json")])
        model = with_tokenizer(args.model, root)
        with open(os.path.join(model, "config.json")) as f:
            context = min(args.context, json.load(f).get("max_position_embeddings", args.context))
        run(a + ["model", "add", "m", "--provider", "local", "--path", model, "--device",
                 args.device, "--threads", str(args.threads), "--concurrency", str(concurrency),
                 "--context", str(context),
                 "--max-new-tokens", str(args.new_tokens), "--price-hour", "2"])
        t0 = time.monotonic()
        p = run(a + ["eval", "b", "--no-cache", "--json"])
        wall = time.monotonic() - t0
        s = json.loads(p.stdout)[0]
        if s["items_ok"] != args.cases:
            sys.exit("eval answered %d of %d cases" % (s["items_ok"], args.cases))
        return wall, s
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("assay")
    ap.add_argument("model")
    ap.add_argument("--cases", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--context", type=int, default=512)
    args = ap.parse_args()
    print("| model | device | cases | concurrency | completion tokens | run busy s | tokens/s "
          "| process wall s | cost $ |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in args.concurrency:
        wall, s = scenario(args, c)
        ct, busy = s["tokens"]["completion"], s["busy_s"]
        print("| %s | %s | %d | %d | %d | %.2f | %.0f | %.2f | %.6f |" % (
            os.path.basename(os.path.normpath(args.model)), args.device, args.cases, c, ct, busy,
            ct / busy if busy > 0 else 0, wall, s["cost_usd"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
