#!/usr/bin/env python3
"""engine_local_provider: write the tiny Llama (tinymodel.py) with its
byte-level tokenizer, compute the reference greedy output after "Hello"
(at most 8 tokens) in Python, and run the C test of the local provider
against it: test_local_provider MODEL_DIR EXPECTED_HEX EXPECTED_COUNT."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tinymodel  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tiny")
        cfg, stored = tinymodel.write_model("llama-gqa", out)
        ids = tinymodel.greedy(cfg, stored, list(b"Hello"), 8)
        text = bytes(t for t in ids if t not in (2, 3)).decode("utf-8", "replace").encode()
        r = subprocess.run([sys.argv[1], out, text.hex(), str(len(ids))])
        return r.returncode


if __name__ == "__main__":
    sys.exit(main())
