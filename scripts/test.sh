#!/usr/bin/env bash
# Build assay and run every test under ctest. With CI=true (as .ci/run sets
# it) the whole suite runs a second time under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test
jobs=$(nproc)
if [ -x tests/setup.sh ]; then
  tests/setup.sh
fi

cmake -S . -B build -DASSAY_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${CI:-}" = "true" ] || [ "${ASSAY_TEST_SANITIZE:-}" = "1" ]; then
  cmake -S . -B build-asan -DASSAY_WERROR=ON -DASSAY_SANITIZE=ON -DASSAY_CUDA=OFF \
        -DCMAKE_BUILD_TYPE=Debug
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE no-sanitize
fi
