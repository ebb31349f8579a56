"""The GPU engine next to its ceiling and next to transformers, in one table
(issue 8's speed targets), for a machine with an NVIDIA GPU:

    python3 bench/engine/bench_gpu.py BUILD_DIR [--presets llama-3.2-1b ...]
        [--bandwidth-tbs 3.0] [--new-tokens 128] [--no-transformers]

For each preset, engine_make_random_model writes a random-weight bfloat16
model with the real shapes (config.json carries model_type, so transformers
loads the same folder). Then, for assay (engine_bench_batch, continuous
batching on the GPU) and for transformers (generate, greedy, bfloat16,
min_new_tokens = max_new_tokens so every sequence decodes the same count):

  decode at batch 1, 64 and 256: generated tokens per second, 16-token
  prompts, --new-tokens new tokens each (batch 1: 4 sequences; batch B:
  2 x B sequences through B slots, so admission as others finish is part
  of the figure);
  prefill: 8 prompts of 1024 tokens and one new token each, prompt tokens
  per second;
  agreement: 64 sequences of 32 new tokens at batch 64 against the same
  at batch 1 (the share whose greedy ids are identical).

The batch-1 ceiling is the memory bandwidth over the bytes of weights read
per token (the whole safetensors file: every weight is read once per
step). Prints a markdown table; nothing here is a pass/fail test.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


def assay_row(build, model, seqs, prompt, new, slots, against_batch1=False):
    """engine_bench_batch's last GPU row for 'slots' slots (after a batch-1
    baseline when against_batch1): (generated tok/s, all tok/s, note). The
    first setting is always the baseline, so the CPU reference never runs."""
    cmd = [os.path.join(build, "bench", "engine", "engine_bench_batch"), "--first-is-baseline",
           model, "16", str(seqs), str(prompt), str(new)]
    cmd += (["1", "gpu"] if against_batch1 else []) + [str(slots), "gpu"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, None, "failed: " + (p.stderr.strip().splitlines() or ["?"])[-1]
    last = [l for l in p.stdout.splitlines() if "(GPU)" in l][-1]
    gen = float(re.search(r"\| ([0-9.]+) tok/s", last).group(1))
    allt = float(re.search(r"\| ([0-9.]+) all tok/s", last).group(1))
    note = last.rsplit("|", 1)[1].strip()
    return gen, allt, note


def hf_load(model):
    import torch
    from transformers import AutoModelForCausalLM

    import transformers

    # 'dtype' from 4.56 on; before, only 'torch_dtype' (an unknown keyword
    # would be taken as a config attribute and the model load in float32)
    version = tuple(int(x) for x in transformers.__version__.split(".")[:2])
    key = "dtype" if version >= (4, 56) else "torch_dtype"
    m = AutoModelForCausalLM.from_pretrained(model, **{key: torch.bfloat16}).cuda().eval()
    if m.dtype != torch.bfloat16:
        raise RuntimeError("transformers loaded the model as %s" % m.dtype)
    return torch, m


def hf_decode(torch, m, vocab, batch, prompt, new):
    g = torch.Generator().manual_seed(batch)
    ids = torch.randint(3, vocab, (batch, prompt), generator=g).cuda()
    kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
    m.generate(ids[:, :8], max_new_tokens=4, min_new_tokens=4, do_sample=False, pad_token_id=0)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    m.generate(ids, **kw)
    torch.cuda.synchronize()
    return batch * new / (time.perf_counter() - t0)


def hf_prefill(torch, m, vocab, batch, prompt):
    ids = torch.randint(3, vocab, (batch, prompt)).cuda()
    with torch.no_grad():
        m(ids[:, :64])
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        m(ids)
        torch.cuda.synchronize()
    return batch * prompt / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--presets", nargs="+", default=["llama-3.2-1b"])
    ap.add_argument("--bandwidth-tbs", type=float, default=3.0)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--no-transformers", action="store_true")
    args = ap.parse_args()
    make = os.path.join(args.build, "bench", "engine", "engine_make_random_model")
    print("| model | figure | assay | transformers | ceiling | assay / ceiling | note |")
    print("|---|---|---:|---:|---:|---:|---|")
    for preset in args.presets:
        with tempfile.TemporaryDirectory() as tmp:
            model = os.path.join(tmp, preset)
            subprocess.run([make, preset, model, "bf16"], check=True, capture_output=True)
            wbytes = os.path.getsize(os.path.join(model, "model.safetensors"))
            ceiling = args.bandwidth_tbs * 1e12 / wbytes
            hf = None
            if not args.no_transformers:
                try:
                    hf = hf_load(model)
                except Exception as e:  # noqa: BLE001 (report and go on without it)
                    print("| %s | transformers | - | - | - | - | not loaded: %s |" % (preset, e))
            vocab = hf[1].config.vocab_size if hf else 0
            new = args.new_tokens
            for batch in (1, 64, 256):
                seqs = 4 if batch == 1 else 2 * batch
                gen, _, note = assay_row(args.build, model, seqs, 16, new, batch)
                ref = hf_decode(hf[0], hf[1], vocab, batch, 16, new) if hf else None
                ceil = ceiling * batch if batch == 1 else None
                print("| %s | decode tok/s, batch %d | %s | %s | %s | %s | %s |" % (
                    preset, batch, "%.0f" % gen if gen else "-", "%.0f" % ref if ref else "-",
                    "%.0f" % ceil if ceil else "-",
                    "%.0f%%" % (100 * gen / ceil) if gen and ceil else "-", note))
            _, allt, note = assay_row(args.build, model, 8, 1024, 1, 8)
            ref = hf_prefill(hf[0], hf[1], vocab, 8, 1024) if hf else None
            print("| %s | prefill tok/s (8 x 1024) | %s | %s | - | - | %s |" % (
                preset, "%.0f" % allt if allt else "-", "%.0f" % ref if ref else "-", note))
            _, _, note = assay_row(args.build, model, 64, 16, 32, 64, against_batch1=True)
            print("| %s | greedy ids, batch 64 vs batch 1 | - | - | - | - | %s |" % (preset, note))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
