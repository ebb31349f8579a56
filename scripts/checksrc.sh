#!/usr/bin/env bash
# Ban the C calls STYLE.md bans and SQL built with printf. Prints each
# offending line; exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.."
dirs=$(ls -d common store metrics catalog evaluator web cli 2>/dev/null)
bad=0
if grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(' \
     --include='*.c' --include='*.h' --include='*.cu' $dirs; then
  bad=1
fi
# printf-family calls whose format string starts like SQL.
if grep -rnE 'printf\s*\([^"]*"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\b' \
     --include='*.c' $dirs; then
  bad=1
fi
exit $bad
