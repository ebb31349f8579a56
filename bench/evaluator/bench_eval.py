"""Evaluator benchmark: `assay eval` against bench_fakeserver (a C epoll
server standing for a model server), printing one table:

  zero latency, 1,000 and 10,000 cases: cases/s and peak memory (flat in
  the dataset size: the run streams cases and writes items as they come);
  "process wall" is the whole `assay eval` (opening the catalog, checking
  every case, the run, the summary with bootstrap intervals), "run busy"
  the run itself (first request to last answer written), which cases/s
  uses;
  100 ms latency, 2,000 cases at concurrency 64: wall time against the
  ideal 2000 x 0.1 s / 64 = 3.125 s.

usage: bench_eval.py ASSAY_BIN FAKESERVER_BIN
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p


def scenario(assay, fake, n, latency_ms, concurrency):
    root = tempfile.mkdtemp(prefix="assay-bench-")
    data = os.path.join(root, "data")
    srv = subprocess.Popen([fake, "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline())
        a = [assay, "--data", data]
        with open(os.path.join(root, "p.json"), "w") as f:
            json.dump({"name": "b", "task": "classification", "labels": ["positive", "negative"],
                       "messages": [{"role": "system", "content": "Answer positive or negative."},
                                    {"role": "user", "content": "Review {{id}}: {{text}}"}]}, f)
        with open(os.path.join(root, "d.jsonl"), "w") as f:
            for i in range(n):
                f.write(json.dumps({"id": "c%d" % i, "vars": {"id": i, "text": "a fine film, number %d" % i},
                                    "expected": "positive" if i % 2 else "negative"}) + "\n")
        with open(os.path.join(root, "s.json"), "w") as f:
            json.dump({"name": "b", "prompt": "b", "dataset": "b", "metrics": ["accuracy", "f1"],
                       "models": ["m"]}, f)
        run(a + ["prompt", "add", "b", "--file", os.path.join(root, "p.json")])
        run(a + ["dataset", "add", "b", "--file", os.path.join(root, "d.jsonl")])
        run(a + ["suite", "add", "b", "--file", os.path.join(root, "s.json")])
        run(a + ["model", "add", "m", "--provider", "openai", "--base-url",
                 "http://127.0.0.1:%d/v1" % port, "--concurrency", str(concurrency),
                 "--max-retries", "0", "--timeout-s", "60", "--price-in", "0.15", "--price-out", "0.6"])
        t0 = time.monotonic()
        p = subprocess.Popen(a + ["eval", "b", "--no-cache", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        out = p.stdout.read()
        if status != 0:
            sys.exit("eval failed: %s %s" % (out, p.stderr.read()))
        s = json.loads(out)[0]
        if s["items_ok"] != n:
            sys.exit("eval answered %d of %d cases" % (s["items_ok"], n))
        return wall, usage.ru_maxrss / 1024.0, s
    finally:
        srv.kill()
        srv.wait()
        shutil.rmtree(root, ignore_errors=True)


def main():
    assay, fake = sys.argv[1], sys.argv[2]
    rows = [(1000, 0, 64), (10000, 0, 64), (2000, 100, 64)]
    print("| cases | latency | concurrency | process wall s | run busy s | cases/s | peak RSS MB "
          "| ideal s | busy/ideal | wall/ideal |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, lat, conc in rows:
        wall, rss, s = scenario(assay, fake, n, lat, conc)
        ideal = n * lat / 1000.0 / conc
        busy = s["busy_s"]
        print("| %d | %d ms | %d | %.2f | %.2f | %.0f | %.1f | %s | %s | %s |" % (
            n, lat, conc, wall, busy, n / busy, rss, "%.3f" % ideal if ideal else "-",
            "%.3f" % (busy / ideal) if ideal else "-", "%.3f" % (wall / ideal) if ideal else "-"),
            flush=True)


if __name__ == "__main__":
    main()
