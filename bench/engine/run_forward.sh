#!/bin/sh
# Make the tiny models with tests/engine/tinymodel.py and print the CPU
# forward table of bench/README.md.  Usage: bench/engine/run_forward.sh BUILD_DIR
set -eu
build=${1:?usage: run_forward.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| model | weights | params | threads | prefill tok/s | decode tok/s |"
echo "|---|---|---|---|---|---|"
for v in llama-gqa llama-gqa-bf16 qwen2 mistral-f16 bench-small; do
  python3 "$src/tests/engine/tinymodel.py" --variant "$v" --out "$tmp/$v"
  for t in 1 2; do
    (cd "$tmp" && "$build/bench/engine/engine_bench_forward" "$v" "$t" 60 60)
  done
done
