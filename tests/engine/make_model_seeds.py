#!/usr/bin/env python3
"""Seed inputs for fuzz_model.c: micro random models (hidden 8, one layer)
of each tinymodel.py variant in the target's layout (2-byte lengths before
config.json, the index and the first shard): one model.safetensors each,
and the Llama one also as an index with two shards.

    make_model_seeds.py OUT_DIR
"""
import json
import os
import struct
import sys
import tempfile

import tinymodel

MICRO = dict(hidden=8, inter=16, layers=1, heads=2, kv=1, head_dim=4, vocab=16)


def u16(b):
    return struct.pack("<H", len(b)) + b


def safetensors(tensors, dtype):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.safetensors")
        tinymodel.write_safetensors(path, tensors, dtype)
        with open(path, "rb") as f:
            return f.read()


def seed(variant, sharded=False):
    tinymodel.shape_of = lambda v: dict(MICRO)
    cfg = tinymodel.config_for(variant)
    cfg["max_position_embeddings"] = 16
    dtype = tinymodel.VARIANTS[variant][1]
    tensors = tinymodel.make_weights(variant, 7)
    config = u16(json.dumps(cfg, separators=(",", ":")).encode())
    if not sharded:
        return config + u16(b"") + safetensors(tensors, dtype)
    half = len(tensors) // 2
    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    index = {"metadata": {}, "weight_map": {name: files[i >= half]
                                            for i, (name, _, _) in enumerate(tensors)}}
    return (config + u16(json.dumps(index).encode()) + u16(safetensors(tensors[:half], dtype)) +
            safetensors(tensors[half:], dtype))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for variant in ("llama-gqa", "llama-gqa-bf16", "qwen2", "qwen2-window", "mistral-f16"):
        with open(os.path.join(out, variant), "wb") as f:
            f.write(seed(variant))
    with open(os.path.join(out, "llama-gqa-shards"), "wb") as f:
        f.write(seed("llama-gqa", sharded=True))


if __name__ == "__main__":
    main()
