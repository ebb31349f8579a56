#!/usr/bin/env python3
"""Seed inputs for fuzz_model.c: micro random models (hidden 8, one layer)
of each tinymodel.py variant, as a 2-byte config length, config.json and
model.safetensors in one file.

    make_model_seeds.py OUT_DIR
"""
import json
import os
import struct
import sys
import tempfile

import tinymodel

MICRO = dict(hidden=8, inter=16, layers=1, heads=2, kv=1, head_dim=4, vocab=16)


def seed(variant):
    tinymodel.shape_of = lambda v: dict(MICRO)
    cfg = tinymodel.config_for(variant)
    cfg["max_position_embeddings"] = 16
    dtype = tinymodel.VARIANTS[variant][1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.safetensors")
        tinymodel.write_safetensors(path, tinymodel.make_weights(variant, 7), dtype)
        with open(path, "rb") as f:
            weights = f.read()
    text = json.dumps(cfg, separators=(",", ":")).encode()
    return struct.pack("<H", len(text)) + text + weights


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for variant in ("llama-gqa", "llama-gqa-bf16", "qwen2", "qwen2-window", "mistral-f16"):
        with open(os.path.join(out, variant), "wb") as f:
            f.write(seed(variant))


if __name__ == "__main__":
    main()
