#!/usr/bin/env bash
# Install the Debian 12 packages assay needs, only those that are missing.
#   scripts/install-deps.sh          what building and running assay needs
#   scripts/install-deps.sh --test   also what the test suite needs
set -euo pipefail

pkgs=(build-essential cmake pkg-config git libsqlite3-dev libgit2-dev libjansson-dev
      libcurl4-openssl-dev libcivetweb-dev libssl-dev)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(python3 sqlite3 libxml2-utils chromium)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js may come from another source than Debian (its own npm included);
# only a machine without node and npm gets Debian's.
if [ "${1:-}" = "--test" ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
