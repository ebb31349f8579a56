#!/usr/bin/env bash
# npm dependencies of the browser tests, installed into tests/.cache/web
# (never committed). playwright-core drives the system chromium
# (/usr/bin/chromium, from apt); it never downloads a browser.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../.cache/web"
mkdir -p "$dest"
cp "$here/package.json" "$dest/package.json"
if [ ! -d "$dest/node_modules/playwright-core" ]; then
  (cd "$dest" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error)
fi
