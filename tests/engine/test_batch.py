#!/usr/bin/env python3
"""engine_batch: for tiny models of each architecture (grouped-query
attention, q/k/v bias, a sliding window), continuous batching must give
every sequence exactly the ids it gets alone (check_batch.c)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinymodel  # noqa: E402

VARIANTS = ["llama-gqa", "qwen2-window", "mistral-f16"]


def main():
    checker = sys.argv[1]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in VARIANTS:
            out = os.path.join(tmp, v)
            tinymodel.write_model(v, out)
            r = subprocess.run([checker, out], capture_output=True, text=True)
            sys.stdout.write(r.stdout)
            sys.stderr.write(r.stderr)
            if r.returncode != 0:
                failed.append(v)
    if failed:
        print("FAILED: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
