"""Real-shaped random-weight models on the GPU engine against transformers on
the same weights (issue 8), for a machine with a GPU, PyTorch and
transformers:

    python3 tests/gpu/vs_transformers.py BUILD_DIR [--presets qwen2.5-0.5b ...]
        [--dtypes f32 bf16] [--tokens 64] [--no-cpu]

For each preset and dtype, engine_make_random_model writes the model
folder; 64 random token ids go through it in one teacher-forced pass on
assay's batched GPU step (gpu_positions), on assay's CPU reference (unless
--no-cpu) and on transformers (eager attention, TF32 off, the same dtype).
The table gives, for assay's GPU against transformers and against the CPU
reference: the share of positions whose next-token argmax agrees, and the
largest difference of the last position's logits relative to their
largest magnitude. Passes when float32 agrees at every position within
1e-4, and bfloat16 at >= 99% of positions. Exit 1 on a failure.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile


def assay_positions(build, model, ids_file, device):
    p = subprocess.run([os.path.join(build, "tests", "gpu", "gpu_positions"), model, ids_file, device],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("gpu_positions %s: %s" % (device, p.stderr.strip()))
    d = json.loads(p.stdout)
    return d["argmax"], d["last_logits"]


def hf_positions(model, ids, dtype):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    version = tuple(int(x) for x in transformers.__version__.split(".")[:2])
    key = "dtype" if version >= (4, 56) else "torch_dtype"
    td = torch.float32 if dtype == "f32" else torch.bfloat16
    m = AutoModelForCausalLM.from_pretrained(model, attn_implementation="eager", **{key: td})
    m = m.cuda().eval()
    with torch.no_grad():
        logits = m(torch.tensor([ids]).cuda()).logits[0].float()
    out = logits.argmax(-1).tolist(), logits[-1].tolist()
    del m
    torch.cuda.empty_cache()
    return out


def compare(a, b):
    """(share of equal argmax, max |last logits diff| / max |last logit|)."""
    agree = sum(1 for x, y in zip(a[0], b[0]) if x == y) / len(a[0])
    scale = max(abs(v) for v in b[1]) or 1.0
    diff = max(abs(x - y) for x, y in zip(a[1], b[1])) / scale
    return agree, diff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--presets", nargs="+", default=["qwen2.5-0.5b"])
    ap.add_argument("--dtypes", nargs="+", default=["f32", "bf16"])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--no-cpu", action="store_true")
    args = ap.parse_args()
    make = os.path.join(args.build, "bench", "engine", "engine_make_random_model")
    failed = False
    print("| model | weights | vs | top-1 agreement | last logits max diff (relative) | verdict |")
    print("|---|---|---|---:|---:|---|")
    for preset in args.presets:
        for dtype in args.dtypes:
            with tempfile.TemporaryDirectory() as tmp:
                model = os.path.join(tmp, "model")
                subprocess.run([make, preset, model, dtype], check=True, capture_output=True)
                with open(os.path.join(model, "config.json")) as f:
                    vocab = json.load(f)["vocab_size"]
                rng = random.Random(7)
                ids = [rng.randrange(3, vocab) for _ in range(args.tokens)]
                ids_file = os.path.join(tmp, "ids.json")
                with open(ids_file, "w") as f:
                    json.dump(ids, f)
                try:
                    gpu = assay_positions(args.build, model, ids_file, "gpu")
                    refs = [("transformers", hf_positions(model, ids, dtype))]
                    if not args.no_cpu:
                        refs.append(("assay CPU", assay_positions(args.build, model, ids_file, "cpu")))
                except Exception as e:  # noqa: BLE001 (report the row, go on)
                    print("| %s | %s | - | - | - | FAILED: %s |" % (preset, dtype, e))
                    failed = True
                    continue
                for name, ref in refs:
                    agree, diff = compare(gpu, ref)
                    ok = agree == 1.0 and diff <= 1e-4 if dtype == "f32" else agree >= 0.99
                    failed |= not ok
                    print("| %s | %s | %s | %.1f%% | %.2e | %s |" % (
                        preset, dtype, name, 100 * agree, diff, "ok" if ok else "FAILED"))
                sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
