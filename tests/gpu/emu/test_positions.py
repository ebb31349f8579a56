"""gpu_positions (the program vs_transformers.py runs on a device) on the
CUDA emulator: for tiny models of tests/engine/tinymodel.py, 40 random ids
in one teacher-forced step on the batched GPU path and on the CPU
reference must give the same argmax at every position and last-position
logits within 1e-4 of the largest.

    test_positions.py GPU_POSITIONS WORK_DIR
"""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "..", "..", "engine", "tinymodel.py")


def positions(prog, model, ids_file, device):
    p = subprocess.run([prog, model, ids_file, device], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("gpu_positions %s %s: exit %d: %s" % (model, device, p.returncode,
                                                       p.stderr.strip()))
    d = json.loads(p.stdout)
    return d["argmax"], d["last_logits"]


def main():
    prog, work = sys.argv[1], sys.argv[2]
    ok = True
    for variant in ("llama-gqa", "qwen2", "mistral-f16"):
        model = os.path.join(work, variant)
        subprocess.run([sys.executable, TINY, "--variant", variant, "--out", model], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(model, "config.json")) as f:
            vocab = json.load(f)["vocab_size"]
        rng = random.Random(7)
        ids_file = os.path.join(work, variant + ".ids.json")
        with open(ids_file, "w") as f:
            json.dump([rng.randrange(vocab) for _ in range(40)], f)
        cpu_arg, cpu_last = positions(prog, model, ids_file, "cpu")
        gpu_arg, gpu_last = positions(prog, model, ids_file, "gpu")
        scale = max(abs(x) for x in cpu_last) or 1.0
        rel = max(abs(a - b) for a, b in zip(gpu_last, cpu_last)) / scale
        good = gpu_arg == cpu_arg and len(gpu_last) == len(cpu_last) == vocab and rel <= 1e-4
        print("| %-12s | argmax %d/%d | last logits max rel %.2e | %s |" %
              (variant, sum(a == b for a, b in zip(gpu_arg, cpu_arg)), len(cpu_arg), rel,
               "ok" if good else "FAIL"))
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
