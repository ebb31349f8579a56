#!/bin/sh
# run_model.sh VARIANT DIR COMMAND [ARG...]: make tests/engine/tinymodel.py's
# model VARIANT in DIR, then run COMMAND ARG... with every ARG that is
# @MODEL@ replaced by DIR, and exit with its status.
set -eu
variant=$1 dir=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"
python3 "$here/../../engine/tinymodel.py" --variant "$variant" --out "$dir" >/dev/null
for a do
  shift
  [ "$a" = @MODEL@ ] && a=$dir
  set -- "$@" "$a"
done
exec "$@"
