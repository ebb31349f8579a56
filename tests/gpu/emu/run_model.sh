#!/bin/sh
# run_model.sh PROGRAM VARIANT DIR [ARG...]: make tests/engine/tinymodel.py's
# model VARIANT in DIR, then run PROGRAM DIR ARG... and exit with its status.
set -eu
program=$1 variant=$2 dir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"
python3 "$here/../../engine/tinymodel.py" --variant "$variant" --out "$dir" >/dev/null
exec "$program" "$dir" "$@"
