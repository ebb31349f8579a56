#!/usr/bin/env python3
"""Tiny random-weight Llama / Qwen2 / Mistral checkpoints and an independent
pure-Python forward pass for them (standard library only).

This is the CPU engine's stand-in for transformers on machines without
PyTorch: it writes a Hugging Face-shaped model folder (config.json,
generation_config.json, model.safetensors or shards with
model.safetensors.index.json) in F32, F16 or BF16, and computes in double
precision, straight from the HF modeling code's equations, the logits of
fixed prompts, 32 greedy tokens and a continuation log-likelihood. The
comparison against transformers itself is tests/gpu/make_fixtures.py, to be
run on a machine with PyTorch.

    tinymodel.py --variant llama-gqa --out DIR [--expected FILE]
"""
import argparse
import json
import math
import os
import random
import struct
import sys

# name: (architecture, storage dtype, extra config, shards, tied)
VARIANTS = {
    # Llama 3 style: GQA 4/2, llama3 rope scaling, separate LM head, 2 shards.
    "llama-gqa": ("LlamaForCausalLM", "F32", {
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        "rope_theta": 10000.0}, 2, False),
    "llama-gqa-bf16": ("LlamaForCausalLM", "BF16", {
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        "rope_theta": 10000.0}, 1, False),
    # Qwen2: q/k/v bias, tied embeddings, rope_theta 1e6.
    "qwen2": ("Qwen2ForCausalLM", "F32", {"rope_theta": 1000000.0, "use_sliding_window": False,
                                          "sliding_window": 4096}, 1, True),
    "qwen2-bf16": ("Qwen2ForCausalLM", "BF16", {"rope_theta": 1000000.0,
                                                "use_sliding_window": False}, 1, True),
    # Qwen2 with a sliding window of 5 on the layers from max_window_layers (1) on.
    "qwen2-window": ("Qwen2ForCausalLM", "F32", {"rope_theta": 1000000.0, "use_sliding_window": True,
                                                 "sliding_window": 5, "max_window_layers": 1}, 1,
                     True),
    # Mistral: sliding window of 6 positions (shorter than the prompts), F16.
    "mistral-f16": ("MistralForCausalLM", "F16", {"sliding_window": 6, "rope_theta": 10000.0}, 1,
                    False),
    # A larger shape for the benchmark only (no expected outputs).
    "bench-small": ("LlamaForCausalLM", "BF16", {"rope_theta": 500000.0}, 1, True),
}

PROMPTS = [[1, 72, 101, 108, 108, 111, 44, 32, 119, 111],
           [1, 200, 3, 17, 17, 17, 250, 9]]
CONTINUATION = ([1, 84, 104, 101], [32, 99, 97, 116])
GREEDY_TOKENS = 32


def shape_of(variant):
    if variant == "bench-small":
        return dict(hidden=256, inter=688, layers=4, heads=8, kv=2, head_dim=32, vocab=4096)
    return dict(hidden=64, inter=96, layers=2, heads=4, kv=2, head_dim=16, vocab=256)


def config_for(variant):
    arch, dtype, extra, _, tied = VARIANTS[variant]
    s = shape_of(variant)
    cfg = {
        "architectures": [arch],
        "model_type": {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2",
                       "MistralForCausalLM": "mistral"}[arch],
        "hidden_size": s["hidden"], "intermediate_size": s["inter"],
        "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
        "num_key_value_heads": s["kv"], "head_dim": s["head_dim"], "vocab_size": s["vocab"],
        "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "hidden_act": "silu",
        "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[dtype],
    }
    cfg.update(extra)
    return cfg


# --- storage rounding ---------------------------------------------------

def to_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def to_bf16_bits(x):
    b = f32_bits(x)
    b += 0x7FFF + ((b >> 16) & 1)
    return (b >> 16) & 0xFFFF


def bf16_value(bits):
    return struct.unpack("<f", struct.pack("<I", bits << 16))[0]


def store(values, dtype):
    """(bytes, the values as the file holds them)."""
    if dtype == "F32":
        data = struct.pack("<%df" % len(values), *values)
        return data, list(struct.unpack("<%df" % len(values), data))
    if dtype == "F16":
        data = struct.pack("<%de" % len(values), *values)
        return data, list(struct.unpack("<%de" % len(values), data))
    bits = [to_bf16_bits(v) for v in values]
    return struct.pack("<%dH" % len(bits), *bits), [bf16_value(b) for b in bits]


# --- weights ------------------------------------------------------------

def make_weights(variant, seed):
    """Ordered list of (name, shape, values as floats before rounding)."""
    cfg = config_for(variant)
    rng = random.Random(seed)
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd, nh, nkv = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    qkv_bias = cfg["architectures"][0] == "Qwen2ForCausalLM"
    out = []

    def mat(name, rows, cols, scale=None):
        a = scale if scale is not None else 1.0 / math.sqrt(cols)
        out.append((name, [rows, cols], [rng.uniform(-a, a) for _ in range(rows * cols)]))

    def vec(name, n, center, spread):
        out.append((name, [n], [center + rng.uniform(-spread, spread) for _ in range(n)]))

    mat("model.embed_tokens.weight", V, H, 1.0)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        vec(p + "input_layernorm.weight", H, 1.0, 0.3)
        mat(p + "self_attn.q_proj.weight", nh * hd, H, 2.0 / math.sqrt(H))
        mat(p + "self_attn.k_proj.weight", nkv * hd, H, 2.0 / math.sqrt(H))
        mat(p + "self_attn.v_proj.weight", nkv * hd, H)
        if qkv_bias:
            vec(p + "self_attn.q_proj.bias", nh * hd, 0.0, 0.5)
            vec(p + "self_attn.k_proj.bias", nkv * hd, 0.0, 0.5)
            vec(p + "self_attn.v_proj.bias", nkv * hd, 0.0, 0.5)
        mat(p + "self_attn.o_proj.weight", H, nh * hd)
        vec(p + "post_attention_layernorm.weight", H, 1.0, 0.3)
        mat(p + "mlp.gate_proj.weight", I, H)
        mat(p + "mlp.up_proj.weight", I, H)
        mat(p + "mlp.down_proj.weight", H, I)
    vec("model.norm.weight", H, 1.0, 0.3)
    if not cfg["tie_word_embeddings"]:
        mat("lm_head.weight", V, H)
    return out


def write_safetensors(path, tensors, dtype):
    """tensors: [(name, shape, values)] -> file; returns {name: stored values}."""
    header, blobs, stored, off = {}, [], {}, 0
    for name, shape, values in tensors:
        data, kept = store(values, dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        stored[name] = kept
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return stored


def byte_level_chars():
    """GPT-2's byte -> printable character map (ByteLevel pre-tokenizer)."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def write_tokenizer(out):
    """A byte-level tokenizer.json whose id of each byte is the byte itself
    (vocab 256, no merges), so prompts map to ids without a trained vocab."""
    chars = byte_level_chars()
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {chars[b]: b for b in range(256)}, "merges": []},
    }
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)


# TinyLlama-Chat's chat_template (Zephyr style), for chat tests.
ZEPHYR_TEMPLATE = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
    "{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n"
    "{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n"
    "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")


def write_chat_config(out):
    """tokenizer_config.json with the Zephyr template; with the byte-level
    tokenizer its markers are plain bytes."""
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"chat_template": ZEPHYR_TEMPLATE, "eos_token": "</s>", "bos_token": "<s>"}, f)


def zephyr(messages):
    """What the template renders, with the generation prompt."""
    return "".join("<|%s|>\n%s</s>\n" % (m["role"], m["content"]) for m in messages) + "<|assistant|>\n"


def write_model(variant, out, seed=1234):
    """Write the model folder; returns (config, {name: stored values})."""
    cfg = config_for(variant)
    dtype, shards = VARIANTS[variant][1], VARIANTS[variant][3]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2, 3]}, f)
    if cfg["vocab_size"] == 256:
        write_tokenizer(out)
    tensors = make_weights(variant, seed)
    stored = {}
    if shards == 1:
        stored = write_safetensors(os.path.join(out, "model.safetensors"), tensors, dtype)
    else:
        weight_map, per = {}, (len(tensors) + shards - 1) // shards
        for k in range(shards):
            fname = "model-%05d-of-%05d.safetensors" % (k + 1, shards)
            part = tensors[k * per:(k + 1) * per]
            stored.update(write_safetensors(os.path.join(out, fname), part, dtype))
            for name, _, _ in part:
                weight_map[name] = fname
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    return cfg, stored


# --- the reference forward pass (HF modeling_llama / qwen2 / mistral) ----

class Reference:
    def __init__(self, cfg, w):
        self.c, self.w = cfg, w
        self.H, self.hd = cfg["hidden_size"], cfg["head_dim"]
        self.nh, self.nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.eps = cfg["rms_norm_eps"]
        self.window = cfg.get("sliding_window") if (
            cfg["architectures"][0] == "MistralForCausalLM" or cfg.get("use_sliding_window")) else None
        self.inv_freq = self.rope_inv_freq()
        self.lm = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
        self.reset()

    def rope_inv_freq(self):
        base, d = self.c["rope_theta"], self.hd
        inv = [1.0 / base ** (2 * i / d) for i in range(d // 2)]
        rs = self.c.get("rope_scaling")
        if rs and rs.get("rope_type", rs.get("type")) == "llama3":
            factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
            orig = rs["original_max_position_embeddings"]
            out = []
            for f in inv:
                wavelen = 2 * math.pi / f
                if wavelen < orig / high:
                    out.append(f)
                elif wavelen > orig / low:
                    out.append(f / factor)
                else:
                    s = (orig / wavelen - low) / (high - low)
                    out.append((1 - s) * f / factor + s * f)
            inv = out
        return inv

    def reset(self):
        L = self.c["num_hidden_layers"]
        self.k = [[] for _ in range(L)]
        self.v = [[] for _ in range(L)]

    @staticmethod
    def linear(x, W, rows, bias=None):
        cols = len(x)
        out = []
        for r in range(rows):
            row = W[r * cols:(r + 1) * cols]
            out.append(math.fsum(a * b for a, b in zip(row, x)) + (bias[r] if bias else 0.0))
        return out

    def rmsnorm(self, x, w):
        ms = math.fsum(v * v for v in x) / len(x)
        s = 1.0 / math.sqrt(ms + self.eps)
        return [v * s * g for v, g in zip(x, w)]

    def rotate(self, heads, n, pos):
        """rotate_half rope: out = x*cos + cat(-x2, x1)*sin per head."""
        out, half = [], self.hd // 2
        cos = [math.cos(pos * f) for f in self.inv_freq] * 2
        sin = [math.sin(pos * f) for f in self.inv_freq] * 2
        for h in range(n):
            x = heads[h * self.hd:(h + 1) * self.hd]
            rot = [-v for v in x[half:]] + x[:half]
            out += [x[i] * cos[i] + rot[i] * sin[i] for i in range(self.hd)]
        return out

    def step(self, token, want_logits=True):
        w, c = self.w, self.c
        H, hd, nh, nkv = self.H, self.hd, self.nh, self.nkv
        x = w["model.embed_tokens.weight"][token * H:(token + 1) * H]
        pos = len(self.k[0])
        for l in range(c["num_hidden_layers"]):
            p = "model.layers.%d." % l
            h = self.rmsnorm(x, w[p + "input_layernorm.weight"])
            q = self.linear(h, w[p + "self_attn.q_proj.weight"], nh * hd, w.get(p + "self_attn.q_proj.bias"))
            k = self.linear(h, w[p + "self_attn.k_proj.weight"], nkv * hd, w.get(p + "self_attn.k_proj.bias"))
            v = self.linear(h, w[p + "self_attn.v_proj.weight"], nkv * hd, w.get(p + "self_attn.v_proj.bias"))
            q, k = self.rotate(q, nh, pos), self.rotate(k, nkv, pos)
            self.k[l].append(k)
            self.v[l].append(v)
            windowed = self.window and l >= c.get("max_window_layers", 0) \
                if c["architectures"][0] == "Qwen2ForCausalLM" else self.window
            first = 0 if not windowed else max(0, pos + 1 - self.window)
            att = []
            for hq in range(nh):
                g = hq // (nh // nkv)     # repeat_kv: query head hq uses kv head hq // groups
                qh = q[hq * hd:(hq + 1) * hd]
                scores = []
                for t in range(first, pos + 1):
                    kt = self.k[l][t][g * hd:(g + 1) * hd]
                    scores.append(math.fsum(a * b for a, b in zip(qh, kt)) / math.sqrt(hd))
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                z = math.fsum(e)
                for i in range(hd):
                    att.append(math.fsum(e[j] / z * self.v[l][first + j][g * hd + i]
                                         for j in range(len(e))))
            o = self.linear(att, w[p + "self_attn.o_proj.weight"], H)
            x = [a + b for a, b in zip(x, o)]
            h = self.rmsnorm(x, w[p + "post_attention_layernorm.weight"])
            I = c["intermediate_size"]
            gate = self.linear(h, w[p + "mlp.gate_proj.weight"], I)
            up = self.linear(h, w[p + "mlp.up_proj.weight"], I)
            act = [g_ / (1.0 + math.exp(-g_)) * u for g_, u in zip(gate, up)]
            d = self.linear(act, w[p + "mlp.down_proj.weight"], H)
            x = [a + b for a, b in zip(x, d)]
        if not want_logits:
            return None
        h = self.rmsnorm(x, w["model.norm.weight"])
        return self.linear(h, self.lm, c["vocab_size"])


def argmax_margin(logits):
    order = sorted(range(len(logits)), key=lambda i: -logits[i])
    return order[0], logits[order[0]] - logits[order[1]]


def logsoftmax(logits, i):
    m = max(logits)
    return logits[i] - m - math.log(math.fsum(math.exp(v - m) for v in logits))


def greedy(cfg, stored, prompt, n):
    """Greedy ids after 'prompt', stopping after an EOS id (2 or 3)."""
    ref = Reference(cfg, stored)
    for t in prompt[:-1]:
        ref.step(t, want_logits=False)
    logits, out = ref.step(prompt[-1]), []
    while len(out) < n:
        tok = argmax_margin(logits)[0]
        out.append(tok)
        if tok in (2, 3) or len(out) == n:
            break
        logits = ref.step(tok)
    return out


def expected(cfg, stored, greedy_tokens=GREEDY_TOKENS):
    ref = Reference(cfg, stored)
    eos = {2, 3}
    cases = []
    for prompt in PROMPTS:
        ref.reset()
        for t in prompt[:-1]:
            ref.step(t, want_logits=False)
        logits = ref.step(prompt[-1])
        first_logits, greedy, margin = logits, [], float("inf")
        while len(greedy) < greedy_tokens:
            tok, m = argmax_margin(logits)
            margin = min(margin, m)
            greedy.append(tok)
            if tok in eos:
                break
            logits = ref.step(tok)
        cases.append({"prompt": prompt, "logits": first_logits, "greedy": greedy,
                      "min_top2_margin": margin})
    ctx, cont = CONTINUATION
    ref.reset()
    lp, is_greedy = 0.0, True
    for t in ctx[:-1]:
        ref.step(t, want_logits=False)
    logits = ref.step(ctx[-1])
    for i, t in enumerate(cont):
        lp += logsoftmax(logits, t)
        is_greedy = is_greedy and argmax_margin(logits)[0] == t
        if i + 1 < len(cont):
            logits = ref.step(t)
    return {"cases": cases, "loglik": {"context": ctx, "continuation": cont, "logprob": lp,
                                       "greedy": is_greedy}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--expected", help="also write the reference outputs (JSON) here")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--greedy-for", metavar="IDS",
                    help="print the greedy continuation of these comma-separated ids as JSON")
    ap.add_argument("--max-new-tokens", type=int, default=GREEDY_TOKENS)
    args = ap.parse_args()
    cfg, stored = write_model(args.variant, args.out, args.seed)
    if args.expected:
        with open(args.expected, "w") as f:
            json.dump(expected(cfg, stored), f)
    if args.greedy_for:
        print(json.dumps(greedy(cfg, stored, [int(x) for x in args.greedy_for.split(",")],
                                args.max_new_tokens)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
