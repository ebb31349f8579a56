#!/usr/bin/env python3
"""Make the transformers fixtures of the local engine (run where PyTorch,
transformers and tokenizers are installed; a GPU is not needed, only used
when present for speed):

    pip install torch transformers tokenizers safetensors
    python3 tests/gpu/make_fixtures.py [--out tests/fixtures/models]

It writes, for each tiny random-weight model (Llama with GQA and llama3 rope
scaling, Qwen2 with q/k/v bias and tied embeddings, Mistral with a sliding
window), one folder per storage dtype (float32 and bfloat16):

    NAME/config.json, generation_config.json, model.safetensors   (save_pretrained)
    NAME/tokenizer.json, tokenizer_config.json                   (a byte-level BPE
                                                                  trained here with
                                                                  `tokenizers`)
    NAME/expected.json   {"cases": [{"prompt", "logits", "greedy"}], "loglik": {...},
                          "transformers": version, "torch": version}

The logits are those of the last prompt position computed by transformers in
float32 on the stored weights (for the bfloat16 folders: the bfloat16 weights
upcast to float32, which is what assay's reference engine computes);
"greedy" is model.generate(do_sample=False, max_new_tokens=32) stopped on the
EOS ids; "bf16_greedy" (bfloat16 folders) is the same in bfloat16 arithmetic,
for the GPU engine's top-1 agreement. tests/engine/CMakeLists.txt runs
build/tests/engine/engine_check_reference on every folder that has an
expected.json (logits within 1e-4 relative, greedy tokens exactly).

Every folder is a few hundred KB; commit them with this script's output
unchanged. The seed is fixed, so a re-run gives the same files for the same
library versions.
"""
import argparse
import json
import os
import sys

PROMPTS = ["Hello, world", "The quick brown fox", "def f(x):\n    return x * 2", "12 + 30 = 42"]
LOGLIK = ("The capital of France is", " Paris")
GREEDY_TOKENS = 32
CORPUS = [
    "The quick brown fox jumps over the lazy dog.", "Hello, world! Hello again, world.",
    "def f(x):\n    return x * 2\n", "for i in range(10):\n    print(i)\n",
    "12 + 30 = 42; 7 * 6 = 42; 100 - 58 = 42.", "The capital of France is Paris.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16.", "  spaces   and\ttabs\n\nnewlines ",
    "Ünïcödé àccents, 日本語のテキスト, عربى, emoji 🙂🚀.",
] * 20

MODELS = {
    "llama-gqa": ("llama", dict(num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                rope_theta=10000.0, tie_word_embeddings=False,
                                rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                              "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                              "original_max_position_embeddings": 32})),
    "qwen2-bias": ("qwen2", dict(num_attention_heads=4, num_key_value_heads=2,
                                 rope_theta=1000000.0, tie_word_embeddings=True,
                                 use_sliding_window=False)),
    "mistral-swa": ("mistral", dict(num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                    rope_theta=10000.0, tie_word_embeddings=False,
                                    sliding_window=6)),
}


def train_tokenizer(out_dir):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=384, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    from tokenizers.processors import TemplateProcessing
    tok.post_processor = TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                            special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>")
    fast.save_pretrained(out_dir)
    return fast


def config_kwargs(extra, transformers):
    """MODELS' settings for this transformers: from version 5 on, rope_theta
    and rope_scaling go into one rope_parameters object."""
    if int(transformers.__version__.split(".")[0]) < 5:
        return extra
    e = dict(extra)
    params = dict(e.pop("rope_scaling", None) or {"rope_type": "default"})
    params["rope_theta"] = e.pop("rope_theta")
    e["rope_parameters"] = params
    return e


def randomize(model, torch, seed):
    """Weights with useful spread (the default 0.02 init makes near-ties)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + (torch.rand(p.shape, generator=g) - 0.5) * 0.6)
            elif name.endswith(".bias"):
                p.copy_((torch.rand(p.shape, generator=g) - 0.5))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)


def expected(model, tok, torch, eos_ids, bf16_model=None):
    cases = []
    for text in PROMPTS:
        ids = tok(text)["input_ids"]
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = model(x).logits[0, -1].float().tolist()
            out = model.generate(x, do_sample=False, max_new_tokens=GREEDY_TOKENS,
                                 eos_token_id=eos_ids, pad_token_id=eos_ids[0])
        case = {"text": text, "prompt": ids, "logits": logits, "greedy": out[0, len(ids):].tolist()}
        if bf16_model is not None:
            with torch.no_grad():
                out = bf16_model.generate(x, do_sample=False, max_new_tokens=GREEDY_TOKENS,
                                          eos_token_id=eos_ids, pad_token_id=eos_ids[0])
            case["bf16_greedy"] = out[0, len(ids):].tolist()
        cases.append(case)
    ctx = tok(LOGLIK[0])["input_ids"]
    cont = tok(LOGLIK[1], add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.tensor([ctx + cont])).logits[0].double(), -1)
    total, greedy = 0.0, True
    for i, t in enumerate(cont):
        row = lp[len(ctx) - 1 + i]
        total += float(row[t])
        greedy = greedy and int(row.argmax()) == t
    return {"cases": cases, "loglik": {"context": ctx, "continuation": cont, "logprob": total,
                                       "greedy": greedy}}


def main():
    ap = argparse.ArgumentParser(description="make the engine's transformers fixtures")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "fixtures", "models"))
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    import shutil
    import tempfile

    import torch
    import transformers
    from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                              Qwen2Config, Qwen2ForCausalLM)

    torch.manual_seed(args.seed)
    tmp = tempfile.mkdtemp()
    tok = train_tokenizer(tmp)
    vocab = len(tok)
    kinds = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM),
             "mistral": (MistralConfig, MistralForCausalLM)}
    for k, (name, (kind, extra)) in enumerate(sorted(MODELS.items())):
        cfg_cls, model_cls = kinds[kind]
        cfg = cfg_cls(vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      max_position_embeddings=128, rms_norm_eps=1e-5, bos_token_id=1,
                      eos_token_id=2, attn_implementation="eager",
                      **config_kwargs(extra, transformers))
        model = model_cls(cfg).float().eval()
        randomize(model, torch, args.seed + k)
        model.generation_config.eos_token_id = [2]
        for dtype in ("float32", "bfloat16"):
            d = os.path.join(args.out, "%s-%s" % (name, "f32" if dtype == "float32" else "bf16"))
            os.makedirs(d, exist_ok=True)
            if dtype == "float32":
                model.save_pretrained(d)
                exp = expected(model, tok, torch, [2])
            else:
                bf = model_cls(cfg).eval()
                bf.load_state_dict(model.state_dict())
                bf = bf.to(torch.bfloat16)
                bf.generation_config.eos_token_id = [2]
                bf.save_pretrained(d)
                up = model_cls(cfg).eval()
                up.load_state_dict({k2: v.to(torch.bfloat16).float() for k2, v in model.state_dict().items()})
                exp = expected(up, tok, torch, [2], bf16_model=bf)
            for f in os.listdir(tmp):
                shutil.copy(os.path.join(tmp, f), d)
            exp["transformers"] = transformers.__version__
            exp["torch"] = torch.__version__
            with open(os.path.join(d, "expected.json"), "w") as f:
                json.dump(exp, f)
            print("wrote", d)
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
