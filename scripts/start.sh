#!/usr/bin/env bash
# On a fresh machine: installs what mccs needs (Debian packages, npm packages), builds it and starts
# it on its embedded defaults: SQLite under ./data, in-process queue, Janus as a child process.
# It prints the URLs of the customer widget, the agent app and the admin page. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/npm-deps.sh
npm run build
exec node dist/main.js
