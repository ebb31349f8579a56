#!/bin/sh
# Gather what tests/gpu/run.sh runs from a CUDA build into a small folder
# that can travel to a GPU machine on which nothing is built (a whole build
# folder, objects included, is several times larger):
#
#   tests/gpu/pack.sh BUILD_DIR OUT_DIR
#
# OUT_DIR gets the programs at their places in the build tree (assay,
# tests/gpu/*, tests/engine/engine_check_reference, bench/engine/*), so
# `tests/gpu/run.sh OUT_DIR` works as with the build folder, and in
# OUT_DIR/lib the shared libraries assay links that a machine with CUDA
# and PyTorch usually lacks (libgit2, civetweb and what they need); run.sh
# puts OUT_DIR/lib on LD_LIBRARY_PATH. Prints the folder's size.
set -eu
build=${1:?usage: tests/gpu/pack.sh BUILD_DIR OUT_DIR}
out=${2:?usage: tests/gpu/pack.sh BUILD_DIR OUT_DIR}

[ -x "$build/tests/gpu/gpu_test_kernels" ] || {
  echo "pack.sh: $build has no tests/gpu/gpu_test_kernels: configure with CUDA and build" >&2
  exit 1
}
rm -rf "$out"
mkdir -p "$out/tests/gpu" "$out/tests/engine" "$out/bench/engine" "$out/lib"

# Executable regular files of a build folder, not its CMake leftovers.
copy_programs() {
  for f in "$1"/*; do
    [ -f "$f" ] && [ -x "$f" ] && cp "$f" "$2/"
  done
  return 0
}
copy_programs "$build/tests/gpu" "$out/tests/gpu"
copy_programs "$build/bench/engine" "$out/bench/engine"
cp "$build/tests/engine/engine_check_reference" "$out/tests/engine/"
cp "$build/assay" "$out/"

# The libraries assay resolves here whose names match the packages a CUDA
# and PyTorch machine does not carry.
ldd "$build/assay" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
  grep -E '/lib(git2|civetweb|mbed(tls|x509|crypto)|http_parser|ssh2)\.so' |
  while read -r lib; do cp -L "$lib" "$out/lib/"; done

du -sh "$out"
