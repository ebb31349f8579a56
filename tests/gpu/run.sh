#!/bin/sh
# Run the GPU tests and benchmarks of an already built tree on a machine
# with an NVIDIA GPU; builds nothing. See tests/gpu/README.md.
#
#   tests/gpu/run.sh BUILD_DIR [--quick] [--part checks|bench] [--fixtures DIR]
#
# BUILD_DIR: a CUDA build folder, or the smaller folder tests/gpu/pack.sh
# makes of one for a machine that builds nothing (its lib/ goes on
# LD_LIBRARY_PATH).
#
# --fixtures DIR: first make the transformers fixtures into DIR
# (make_fixtures.py; needs PyTorch, transformers and tokenizers) and check
# the CPU engine against them (step 4 then reads DIR). On a lent GPU machine
# give a folder under $OUT, then copy it to tests/fixtures/models/ here and
# commit it.
#
# --quick (for a short lease of a GPU machine, about 5 minutes): steps 1
# (with the sampling check) and 3 on the tiny models, the metric kernels, vs_transformers.py on the
# Qwen2.5-0.5B shape, then bench/engine/bench_gpu.py (the GPU engine
# against its ceiling and transformers, Llama-3.2-1B shape) and
# bench/engine/bench_suite.py (1,000 cases of 128 tokens through assay
# eval); no random real-size models for step 2, no CPU benchmark.
#
# --part checks: only the correctness steps (1 to 4); --part bench: only
# the comparisons with transformers and the benchmarks (5 and after). A
# device call is limited to 10 minutes, so a short lease runs the quick
# pass as two calls, one per part.
#
# 1. gpu_test_kernels --bench: each CUDA kernel against its CPU reference
#    (float32 1e-5, bfloat16 1e-2), then timed.
#    gpu_test_sample --bench: sampling on the device (temperature, top-k,
#    top-p) against the CPU sampler, draw by draw, then timed at 256 rows
#    of a 128256-token vocabulary.
# 2. gpu_test_forward: whole tiny models (tests/engine/tinymodel.py, and the
#    transformers fixtures) decoded on the GPU next to the CPU reference.
# 3. gpu_test_batch: continuous batching (eng_gpu_batch_step) on the tiny
#    models against the CPU reference per sequence, with CUDA graphs and
#    without (bit-identical), sequences sampling on the device, the batch
#    (batch.h) sampling on the GPU against the CPU, then decode tokens/s at
#    batch 1, 8 and 64 with graphs on and off.
# 4. The transformers fixtures (tests/fixtures/models/*/expected.json, made
#    by make_fixtures.py) through the CPU reference engine.
# 5. vs_transformers.py: real-shaped random models (Qwen2.5-0.5B, and in the
#    full run Llama-3.2-1B and TinyLlama) in float32 and bfloat16, the GPU
#    engine's argmax at every position and last logits against transformers
#    and against the CPU reference.
# Every program runs under a time limit (limited(), below), so one that
# hangs costs its limit, not the lease: it is reported as TIMED OUT and
# the run goes on.
# Exit status: 0 when everything that ran passed.
set -u
build=${1:?usage: tests/gpu/run.sh BUILD_DIR [--quick] [--part checks|bench] [--fixtures DIR]}
quick=0
checks=1
benches=1
src=$(cd "$(dirname "$0")/../.." && pwd)
fixtures="$src/tests/fixtures/models"
status=0
shift
[ -d "$build/lib" ] && export LD_LIBRARY_PATH="$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --part) case "${2:-}" in
        checks) benches=0 ;;
        bench) checks=0 ;;
        *) echo "run.sh: --part takes checks or bench" >&2; exit 2 ;;
      esac; shift ;;
    --fixtures) fixtures=${2:?--fixtures needs a folder}; shift
      echo "== transformers fixtures into $fixtures (make_fixtures.py)"
      limited 300 python3 "$src/tests/gpu/make_fixtures.py" --out "$fixtures" || status=1 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# limited SECONDS COMMAND...: COMMAND's status, or 124 after SECONDS
# (reported) when it has not finished by then.
limited() {
  secs=$1
  shift
  timeout "$secs" "$@"
  rc=$?
  [ $rc -eq 124 ] && echo "TIMED OUT after ${secs}s: $*"
  return $rc
}

# Run TEST MODEL_DIR 32 on each tests/engine/tinymodel.py variant, made in
# folder TMP; a result other than 0 or 77 (skipped) sets status.
on_tiny_models() {
  for v in llama-gqa llama-gqa-bf16 qwen2 qwen2-window mistral-f16 bench-small; do
    python3 "$src/tests/engine/tinymodel.py" --variant "$v" --out "$2/$v"
    limited 120 "$1" "$2/$v" 32
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1
  done
}

gpu=0
command -v nvidia-smi >/dev/null 2>&1 &&
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader && gpu=1

if [ $checks -eq 1 ]; then
echo "== CUDA kernels against the CPU reference"
if [ -x "$build/tests/gpu/gpu_test_kernels" ]; then
  limited 180 "$build/tests/gpu/gpu_test_kernels" --bench
  rc=$?
  [ $rc -eq 77 ] && gpu=0
  [ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1
else
  echo "not built: configure with CUDA (nvcc on PATH) and build target gpu_test_kernels"
  status=1
fi

echo "== sampling on the GPU against the CPU sampler, then timed"
if [ -x "$build/tests/gpu/gpu_test_sample" ]; then
  limited 120 "$build/tests/gpu/gpu_test_sample" --bench
  rc=$?
  [ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1
else
  echo "not built: configure with CUDA (nvcc on PATH) and build target gpu_test_sample"
  status=1
fi

echo "== metric kernels (ROUGE-L LCS, cosine) against the CPU library, then timed"
limited 120 "$build/tests/gpu/gpu_test_metrics" 100000; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1

echo "== whole models on the GPU against the CPU reference"
if [ $quick -eq 1 ]; then
  echo "skipped (--quick)"
elif [ -x "$build/tests/gpu/gpu_test_forward" ]; then
  tmp=$(mktemp -d)
  on_tiny_models "$build/tests/gpu/gpu_test_forward" "$tmp"
  for exp in "$fixtures"/*/expected.json; do
    [ -f "$exp" ] || continue
    limited 120 "$build/tests/gpu/gpu_test_forward" "$(dirname "$exp")" 32 || status=1
  done
  # Real shapes with random bf16 weights (a few GB of temporary files).
  if [ -x "$build/bench/engine/engine_make_random_model" ]; then
    for p in qwen2.5-0.5b llama-3.2-1b; do
      "$build/bench/engine/engine_make_random_model" "$p" "$tmp/$p" bf16 >/dev/null &&
        { limited 300 "$build/tests/gpu/gpu_test_forward" "$tmp/$p" 8; rc=$?;
          [ $rc -eq 0 ] || [ $rc -eq 77 ] || status=1; }
      rm -rf "${tmp:?}/$p"
    done
  fi
  rm -rf "$tmp"
fi

echo "== continuous batching on the GPU against the CPU reference, then tokens/s"
if [ -x "$build/tests/gpu/gpu_test_batch" ]; then
  tmp=$(mktemp -d)
  on_tiny_models "$build/tests/gpu/gpu_test_batch" "$tmp"
  rm -rf "$tmp"
else
  echo "not built: configure with CUDA (nvcc on PATH) and build target gpu_test_batch"
  status=1
fi

echo "== transformers fixtures through the CPU reference engine"
found=0
for exp in "$fixtures"/*/expected.json; do
  [ -f "$exp" ] || continue
  found=1
  dir=$(dirname "$exp")
  if out=$(limited 120 "$build/tests/engine/engine_check_reference" "$dir" "$exp" 2>&1); then
    echo "| $(basename "$dir") | matches transformers |"
  else
    echo "| $(basename "$dir") | MISMATCH |"
    printf '%s\n' "$out" | tail -20
    status=1
  fi
done
[ $found -eq 1 ] || echo "no fixtures yet: run tests/gpu/make_fixtures.py (needs PyTorch)"
fi
[ $benches -eq 1 ] || exit $status

echo "== real shapes, random weights: the GPU engine against transformers (vs_transformers.py)"
if [ $gpu -eq 0 ]; then
  echo "skipped: no usable GPU"
elif [ $quick -eq 1 ]; then
  limited 300 python3 "$src/tests/gpu/vs_transformers.py" "$build" --presets qwen2.5-0.5b ||
    status=1
else
  limited 1200 python3 "$src/tests/gpu/vs_transformers.py" "$build" \
    --presets qwen2.5-0.5b llama-3.2-1b tinyllama-1.1b || status=1
fi

# A suite of 1,000 cases x 128 new tokens through `assay eval` on the
# local provider (tokenize, batch, decode, score, store), Llama-3.2-1B shape.
suite() {
  echo "== 1,000 cases through assay eval on the GPU (bench/engine/bench_suite.py)"
  [ $gpu -eq 1 ] || { echo "skipped: no usable GPU"; return; }
  tmp=$(mktemp -d)
  if "$build/bench/engine/engine_make_random_model" llama-3.2-1b "$tmp/llama" bf16 >/dev/null; then
    limited 300 python3 "$src/bench/engine/bench_suite.py" "$build/assay" "$tmp/llama" --device gpu \
      --cases 1000 --new-tokens 128 --concurrency 256 || status=1
  else
    status=1
  fi
  rm -rf "$tmp"
}

if [ $quick -eq 1 ]; then
  echo "== the GPU engine against its ceiling and transformers (bench/engine/bench_gpu.py)"
  if [ $gpu -eq 1 ]; then
    limited 300 python3 "$src/bench/engine/bench_gpu.py" "$build" --presets llama-3.2-1b ||
      status=1
  else
    echo "skipped: no usable GPU"
  fi
  suite
  exit $status
fi
suite

echo "== CPU reference forward (bench/engine)"
if [ -x "$build/bench/engine/engine_bench_forward" ]; then
  "$src/bench/engine/run_forward.sh" "$build"
fi
exit $status
