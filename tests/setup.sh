#!/usr/bin/env bash
# Test set-up that needs the network registries (npm): each module's
# tests/MODULE/setup.sh fetches what its tests need into tests/.cache/
# (never committed). Run by scripts/test.sh before ctest.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p .cache
for s in */setup.sh; do
  [ -f "$s" ] || continue
  bash "$s"
done
