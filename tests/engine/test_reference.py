#!/usr/bin/env python3
"""engine_reference: for each tiny model variant, write the model and the
pure-Python reference outputs (tinymodel.py) into a temporary folder and run
the C checker on them (logits 1e-4 relative, greedy tokens exactly,
continuation log-likelihood). This checks the C engine against an
independent implementation of the same equations; the comparison with
transformers itself is done by tests/gpu/make_fixtures.py on a machine with
PyTorch (see tests/gpu/README.md)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinymodel  # noqa: E402

VARIANTS = ["llama-gqa", "llama-gqa-bf16", "qwen2", "qwen2-bf16", "qwen2-window", "mistral-f16"]


def main():
    checker = sys.argv[1]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in VARIANTS:
            out = os.path.join(tmp, v)
            cfg, stored = tinymodel.write_model(v, out)
            exp = os.path.join(tmp, v + ".json")
            with open(exp, "w") as f:
                json.dump(tinymodel.expected(cfg, stored), f)
            # One thread with the weights as stored (memory-mapped); three
            # threads with the weights converted to float32 at load (exact
            # for F16/BF16, so the same outputs are expected).
            for threads, keep in (("1", "auto"), ("3", "float32")):
                r = subprocess.run([checker, out, exp, threads, keep], capture_output=True, text=True)
                sys.stdout.write(r.stdout)
                sys.stderr.write(r.stderr)
                if r.returncode != 0:
                    failed.append("%s (threads %s, %s)" % (v, threads, keep))
    if failed:
        print("FAILED: " + ", ".join(failed))
        return 1
    print("all %d variants match the reference" % len(VARIANTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
