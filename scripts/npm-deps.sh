#!/usr/bin/env bash
# Installs the npm packages exactly as package-lock.json pins them, unless node_modules already
# matches the lock (npm writes node_modules/.package-lock.json on every install).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]; then
  echo "npm packages up to date"
else
  npm ci --no-audit --no-fund
fi
