#!/bin/bash
# Run the libFuzzer binaries of a fuzzing build for a while each, starting
# from a copy of each target's committed corpus (the one ctest replays).
#
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DASSAY_FUZZ=ON -DASSAY_CUDA=OFF
#   cmake --build build-fuzz -j"$(nproc)"
#   scripts/fuzz.sh build-fuzz [SECONDS] [TARGET ...]
#
# SECONDS per target (default 60); TARGETs are ctest names such as
# engine_fuzz_safetensors (default: all). Targets run nproc at a time. Work
# goes to BUILD/fuzz-work/TARGET/ (grown corpus, log, crash files); the
# committed corpora are never written. Exit status 1 when any target found
# a crash, a leak or a timeout; its log and reproducer are named on stderr.
set -u

die() { echo "fuzz.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET ...]"
build=$(cd "$1" 2>/dev/null && pwd) || die "$1: no such build directory"
shift
secs=60
if [ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
[ "$secs" -gt 0 ] || die "SECONDS must be positive"

# name<TAB>binary<TAB>corpus for every fuzz target ctest knows.
list=$(find "$build" -name CTestTestfile.cmake -exec sed -n \
       's/^add_test(\[=\[\([a-z]*_fuzz_[a-z_]*\)\]=\] "\([^"]*\)" "\([^"]*\)")$/\1\t\2\t\3/p' {} + |
       sort)
[ -n "$list" ] || die "$build: no fuzz targets"

if [ $# -gt 0 ]; then
    chosen=
    for t in "$@"; do
        line=$(printf '%s\n' "$list" | awk -F'\t' -v t="$t" '$1 == t')
        [ -n "$line" ] || die "$t: not a fuzz target of $build"
        chosen+="$line"$'\n'
    done
    list=$chosen
fi

while IFS=$'\t' read -r name bin corpus; do
    [ -n "$name" ] || continue
    [ -x "${bin}_fuzz" ] || die "${bin}_fuzz: not built (configure with CC=clang CXX=clang++ -DASSAY_FUZZ=ON, then build)"
done <<<"$list"

run_one() {
    local name=$1 bin=$2 corpus=$3 work="$build/fuzz-work/$1"
    mkdir -p "$work/corpus" "$work/crashes"
    cp -n "$corpus"/* "$work/corpus/" 2>/dev/null
    (cd "$work" && "${bin}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$work/crashes/" corpus >log 2>&1; echo $? >rc)
}

mkdir -p "$build/fuzz-work"
jobs_max=$(nproc)
while IFS=$'\t' read -r name bin corpus; do
    [ -n "$name" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n
    done
    run_one "$name" "$bin" "$corpus" &
done <<<"$list"
wait

status=0
printf '%-40s %10s %8s %s\n' target runs corpus result
while IFS=$'\t' read -r name bin corpus; do
    [ -n "$name" ] || continue
    work="$build/fuzz-work/$name"
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log")
    result=ok
    if [ "$(cat "$work/rc")" != 0 ]; then
        result="FAILED: $work/log $(ls "$work"/crashes/* 2>/dev/null | head -1)"
        status=1
    fi
    printf '%-40s %10s %8s %s\n' "$name" "${runs:-0}" "$(ls "$work/corpus" | wc -l)" "$result"
done <<<"$list"
exit $status
